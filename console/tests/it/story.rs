//! The seed experiment told live: the story's verdicts follow what the containers do.

use serde_json::Value;

use crate::support::Live;

fn verdict(state: &Value, id: &str) -> String {
    state["story"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["id"] == id))
        .map(|x| x["verdict"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_story_is_seen_step_by_step() {
    let live = Live::start(8).await;
    live.post("/api/docker/limited", r#"{"action":"1"}"#)
        .await
        .ok200();
    live.post("/api/docker/unlimited", r#"{"action":"3"}"#)
        .await
        .ok200();
    live.step(4).await;
    let state = live.state().await;
    assert_eq!(verdict(&state, "step-1"), "seen", "{}", state["story"]);
    assert_eq!(verdict(&state, "step-2"), "waiting");
    assert_eq!(
        verdict(&state, "relief-limited"),
        "waiting",
        "the limit is still 500"
    );
    // Raising the limit relieves the limited container within a few samples.
    live.post("/api/pools/limited", r#"{"cpu":{"limit":-1}}"#)
        .await
        .ok200();
    live.step(4).await;
    let state = live.state().await;
    assert_eq!(
        verdict(&state, "relief-limited"),
        "seen",
        "{}",
        state["story"]
    );
    // The memory stresses, once the CPU ones ended (300 s), as in the seed: balloon and
    // latency under the 500 MB limit.
    live.step(8).await;
    live.wait_for("the CPU stresses' end", |state, _| {
        ["cpu-limited", "cpu-unlimited"]
            .iter()
            .all(|name| crate::support::vm(state, name).is_some_and(|v| v["power"] == "poweredOff"))
    })
    .await;
    live.post("/api/docker/limited", r#"{"action":"2"}"#)
        .await
        .ok200();
    live.post("/api/docker/unlimited", r#"{"action":"4"}"#)
        .await
        .ok200();
    live.step(6).await;
    let state = live.state().await;
    assert_eq!(verdict(&state, "step-2"), "seen", "{}", state["story"]);
    live.stop().await;
}
