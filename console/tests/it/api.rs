//! The console's API as the page (and a second vSphere client) uses it.

use std::time::{Duration, Instant};

use serde_json::Value;
use vcsim::vmodl::{DataObject, MoRef, Value as Vmodl};

use crate::support::{Live, latest, vm};

/// Reads Server-Sent Events from `/api/events`.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(live: &Live) -> Result<Events, (u16, String)> {
        let response = live
            .http
            .get(format!("{}/api/events", live.base))
            .send()
            .await
            .expect("GET /api/events");
        if response.status() != 200 {
            let status = response.status().as_u16();
            return Err((status, response.text().await.unwrap_or_default()));
        }
        Ok(Events {
            response,
            buffer: String::new(),
        })
    }

    /// The next event whose name is `name` (others are skipped), within 20 s.
    async fn next(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event: ") {
                        event = e;
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if event == name {
                    return serde_json::from_str(&data).expect("event data is JSON");
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {name} event in 20 s"))
                .expect("stream")
                .expect("stream still open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_serves_its_page_and_the_seed_state() {
    let live = Live::start(8).await;
    let page = live.get("/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(
        page.text.contains("console.js"),
        "the page loads its script"
    );
    for asset in [
        "/assets/console.js",
        "/assets/console-draw.js",
        "/assets/console.css",
    ] {
        let a = live.get(asset).await;
        assert_eq!(a.status, 200, "{asset}");
        assert!(!a.text.is_empty());
        assert!(
            !a.text.contains("https://"),
            "{asset} reaches outside: works offline"
        );
    }
    let state = live.state().await;
    assert_eq!(state["scenario"], "over-the-limits");
    let vchs = state["vchs"].as_array().expect("vchs");
    assert_eq!(vchs.len(), 2);
    assert_eq!(vchs[0]["name"], "limited");
    assert_eq!(vchs[0]["config"]["cpu"]["limit"], 500);
    assert_eq!(vchs[0]["config"]["mem"]["limit"], 500);
    assert_eq!(vchs[1]["config"]["cpu"]["limit"], -1);
    assert!(
        vchs[0]["docker_command"]
            .as_str()
            .unwrap_or_default()
            .starts_with("docker -H 127.0.1.")
    );
    assert_eq!(state["actions"].as_array().map(Vec::len), Some(4));
    assert_eq!(state["story"].as_array().map(Vec::len), Some(3));
    assert_eq!(state["clock"]["paused"], true);
    // The appliances are the pools' first VMs.
    assert!(vm(&state, "vch-limited").is_some_and(|v| v["kind"] == "appliance"));
    let missing = live.get("/api/nothing").await.refused();
    assert_eq!(missing.0, 404);
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_follow_the_clock_to_every_stream_and_the_window() {
    let live = Live::start(8).await;
    let mut a = Events::open(&live).await.expect("first page");
    let mut b = Events::open(&live).await.expect("second page");
    let first = a.next("state").await;
    assert_eq!(first["scenario"], "over-the-limits");
    b.next("state").await;
    live.step(1).await;
    let sa = a.next("sample").await;
    let sb = b.next("sample").await;
    assert_eq!(sa, sb, "every page gets the same sample");
    let pool = live.state().await["vchs"][0]["pool"]
        .as_str()
        .expect("pool")
        .to_owned();
    assert!(
        sa["entities"][&pool]["cpu.demand.average"]
            .as_f64()
            .is_some(),
        "{sa}"
    );
    let window = live.get("/api/window").await.ok200();
    let n = window["samples"].as_array().map(Vec::len).unwrap_or(0);
    live.step(2).await;
    let window = live.get("/api/window").await.ok200();
    assert_eq!(window["samples"].as_array().map(Vec::len), Some(n + 2));
    // The clock event tells the pages the speed.
    live.post("/api/clock", r#"{"action":"speed","speed":600}"#)
        .await
        .ok200();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let c = a.next("clock").await;
        if c["speed"] == 600.0 {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_pauses_steps_and_refuses_bad_speeds() {
    let live = Live::start(8).await;
    // Read before the pause stands, the clock would still take its last milliseconds.
    live.settle_pause().await;
    let t0 = live.state().await["clock"]["now_ms"].as_i64().expect("now");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        live.state().await["clock"]["now_ms"].as_i64(),
        Some(t0),
        "paused"
    );
    live.step(1).await;
    let t1 = live.state().await["clock"]["now_ms"].as_i64().expect("now");
    assert_eq!(t1 - t0, 20_000, "one step is one sample");
    for bad in [
        r#"{"action":"speed","speed":0}"#,
        r#"{"action":"speed","speed":601}"#,
        r#"{"action":"rewind"}"#,
        r#"{"action":"speed"}"#,
        "not json",
    ] {
        let (status, message) = live.post("/api/clock", bad).await.refused();
        assert_eq!(status, 400, "{bad}: {message}");
    }
    let c = live
        .post("/api/clock", r#"{"action":"resume"}"#)
        .await
        .ok200();
    assert_eq!(c["paused"], false);
    live.stop().await;
}

/// A second vSphere client, as pyvmomi or govc would be.
async fn soap(live: &Live) -> vic::vsphere::Client {
    live.demo
        .as_ref()
        .expect("running")
        .testbed()
        .client()
        .await
        .expect("login")
}

async fn cpu_limit(client: &vic::vsphere::Client, pool: &str) -> i64 {
    client
        .get_property(&MoRef::new("ResourcePool", pool), "config.cpuAllocation")
        .await
        .expect("read")
        .and_then(|a| a.field("limit").and_then(Vmodl::as_i64))
        .expect("limit")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_change_is_update_config_and_any_clients_change_shows_up() {
    let live = Live::start(8).await;
    let client = soap(&live).await;
    let pool = live.state().await["vchs"][0]["pool"]
        .as_str()
        .expect("pool")
        .to_owned();
    let v = live
        .post(
            "/api/pools/limited",
            r#"{"cpu":{"limit":8000,"shares_level":"high"}}"#,
        )
        .await
        .ok200();
    assert_eq!(v["config"]["cpu"]["limit"], 8000);
    assert_eq!(v["config"]["cpu"]["shares_level"], "high");
    assert_eq!(v["config"]["mem"]["limit"], 500, "memory untouched");
    assert_eq!(cpu_limit(&client, &pool).await, 8000, "vSphere has it");

    // Another client changes the pool: every page's next state shows it.
    let mut events = Events::open(&live).await.expect("stream");
    events.next("state").await;
    let spec = DataObject::new("ResourceConfigSpec")
        .with(
            "cpuAllocation",
            DataObject::new("ResourceAllocationInfo")
                .with("limit", Vmodl::Long(700))
                .into_value(),
        )
        .with(
            "memoryAllocation",
            DataObject::new("ResourceAllocationInfo").into_value(),
        )
        .into_value();
    client
        .call(
            "UpdateConfig",
            &MoRef::new("ResourcePool", pool.as_str()),
            &[("config", spec)],
        )
        .await
        .expect("UpdateConfig");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = events.next("state").await;
        if s["vchs"][0]["config"]["cpu"]["limit"] == 700 {
            break;
        }
        assert!(Instant::now() < deadline, "the change never showed");
    }
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_and_changes_nothing() {
    let live = Live::start(8).await;
    let client = soap(&live).await;
    let before = live.state().await;
    let pool = before["vchs"][0]["pool"].as_str().expect("pool").to_owned();
    let refusals: &[(&str, &str, u16, &str)] = &[
        (
            "/api/pools/limited",
            r#"{"cpu":{"limit":-5}}"#,
            400,
            "CPU limit must be -1",
        ),
        (
            "/api/pools/limited",
            r#"{"cpu":{"reservation":900}}"#,
            400,
            "above the limit",
        ),
        (
            "/api/pools/limited",
            r#"{"cpu":{"limit":100},"mem":{"reservation":-1}}"#,
            400,
            "memory reservation",
        ),
        (
            "/api/pools/limited",
            r#"{"cpu":{"limit":"high"}}"#,
            400,
            "malformed request",
        ),
        (
            "/api/pools/limited",
            r#"{"cpu":{"limt":5}}"#,
            400,
            "unknown field",
        ),
        ("/api/pools/limited", "{", 400, "malformed request"),
        (
            "/api/pools/nope",
            r#"{"cpu":{"limit":900}}"#,
            404,
            "no VCH named",
        ),
        (
            "/api/vms/vm-99999/power",
            r#"{"state":"off"}"#,
            404,
            "no VM",
        ),
        (
            "/api/vms/vm-1/power",
            r#"{"state":"sideways"}"#,
            400,
            "malformed request",
        ),
        (
            "/api/docker/limited",
            r#"{"action":"99"}"#,
            404,
            "no docker action",
        ),
        ("/api/docker/nope", r#"{"action":"1"}"#, 404, "no VCH named"),
    ];
    for (path, body, status, words) in refusals {
        let (s, message) = live.post(path, body).await.refused();
        assert_eq!(s, *status, "{path} {body}: {message}");
        assert!(message.contains(words), "{path} {body}: {message}");
    }
    let huge = format!(
        r#"{{"cpu":{{"limit":1}},"pad":"{}"}}"#,
        "x".repeat(64 * 1024)
    );
    let a = live.post("/api/pools/limited", &huge).await;
    assert_eq!(a.status, 413, "{}", a.text);
    // Nothing moved: the page's state and vSphere's own.
    let after = live.state().await;
    assert_eq!(before["vchs"], after["vchs"]);
    assert_eq!(before["vms"], after["vms"]);
    assert_eq!(cpu_limit(&client, &pool).await, 500);
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_buttons_run_and_containers_power_off_and_on() {
    let live = Live::start(8).await;
    let out = live
        .post("/api/docker/limited", r#"{"action":"1"}"#)
        .await
        .ok200();
    assert_eq!(out["exit_code"], 0);
    let id = out["output"].as_str().expect("id").trim().to_owned();
    assert_eq!(id.len(), 64, "docker run -d prints the id: {out}");
    // The same name again: the daemon's own refusal, as a 409.
    let (status, message) = live
        .post("/api/docker/limited", r#"{"action":"1"}"#)
        .await
        .refused();
    assert_eq!(status, 409);
    assert!(message.contains("already in use"), "{message}");

    let state = live.state().await;
    let c = vm(&state, "cpu-limited").expect("the containerVM is in the pool");
    assert_eq!(c["kind"], "container");
    assert_eq!(c["vcpus"], 2);
    assert_eq!(c["memory_mb"], 4096);
    assert_eq!(c["power"], "poweredOn");
    let moref = c["moref"].as_str().expect("moref").to_owned();
    live.step(3).await;
    let window = live.get("/api/window").await.ok200();
    let ready = latest(&window, &moref, "cpu.ready.summation").expect("ready read");
    assert!(
        ready > 50.0,
        "2 vCPUs of stress under 500 MHz: ready {ready} %"
    );

    let path = format!("/api/vms/{moref}/power");
    let v = live.post(&path, r#"{"state":"off"}"#).await.ok200();
    assert_eq!(v["power"], "poweredOff");
    let (status, _) = live.post(&path, r#"{"state":"off"}"#).await.refused();
    assert_eq!(status, 409);
    let v = live.post(&path, r#"{"state":"on"}"#).await.ok200();
    assert_eq!(v["power"], "poweredOn");
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_cap_refuses_the_next_stream_and_frees_on_close() {
    let live = Live::start(2).await;
    let a = Events::open(&live).await.expect("first");
    let _b = Events::open(&live).await.expect("second");
    let Err((status, body)) = Events::open(&live).await else {
        panic!("a third stream over the cap of 2");
    };
    assert_eq!(status, 503);
    assert!(body.contains("consoles are open"), "{body}");
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // The server notices the closed stream when it next writes to it.
        live.step(1).await;
        if Events::open(&live).await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's slot never came back"
        );
    }
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_answers_with_the_clock_it_moved() {
    let live = Live::start(8).await;
    // Let the pause settle: the driver may still run the last milliseconds before it.
    live.settle_pause().await;
    for _ in 0..3 {
        let before = live.state().await["clock"]["now_ms"].as_i64().expect("now");
        let c = live
            .post("/api/clock", r#"{"action":"step"}"#)
            .await
            .ok200();
        assert_eq!(c["paused"], true);
        assert_eq!(
            c["now_ms"].as_i64(),
            Some(before + 20_000),
            "the answer shows the stepped clock"
        );
    }
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_patching_one_pool_at_once_both_land() {
    let live = Live::start(8).await;
    let client = soap(&live).await;
    let pool = live.state().await["vchs"][0]["pool"]
        .as_str()
        .expect("pool")
        .to_owned();
    for round in 0..4 {
        let cpu = 1_000 + round * 100;
        let mem = 2_000 + round * 100;
        let cpu_body = format!(r#"{{"cpu":{{"limit":{cpu}}}}}"#);
        let mem_body = format!(r#"{{"mem":{{"limit":{mem}}}}}"#);
        let (a, b) = tokio::join!(
            live.post("/api/pools/limited", &cpu_body),
            live.post("/api/pools/limited", &mem_body)
        );
        let (a, b) = (a.ok200(), b.ok200());
        assert_eq!(a["config"]["cpu"]["limit"], cpu, "{a}");
        assert_eq!(b["config"]["mem"]["limit"], mem, "{b}");
        assert_eq!(
            cpu_limit(&client, &pool).await,
            cpu,
            "round {round}: cpu lost"
        );
        let state = live.state().await;
        assert_eq!(
            state["vchs"][0]["config"]["cpu"]["limit"], cpu,
            "round {round}"
        );
        assert_eq!(
            state["vchs"][0]["config"]["mem"]["limit"], mem,
            "round {round}"
        );
    }
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_the_http_layer_are_api_errors_too() {
    let live = Live::start(8).await;
    let huge = format!(
        r#"{{"cpu":{{"limit":1}},"pad":"{}"}}"#,
        "x".repeat(64 * 1024)
    );
    let (status, message) = live.post("/api/pools/limited", &huge).await.refused();
    assert_eq!(status, 413);
    assert!(message.contains("body"), "{message}");
    let (status, message) = live.get("/api/clock").await.refused();
    assert_eq!(status, 405);
    assert!(message.contains("POST"), "{message}");
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_allocations_are_answered_without_harm() {
    let live = Live::start(8).await;
    let max = i64::MAX;
    for body in [
        format!(r#"{{"cpu":{{"limit":{max}}},"mem":{{"limit":{max}}}}}"#),
        format!(r#"{{"cpu":{{"limit":-1,"reservation":{max}}}}}"#),
        format!(r#"{{"mem":{{"limit":-1,"reservation":{max},"expandable":false}}}}"#),
        r#"{"cpu":{"shares_level":"custom","shares":2147483647}}"#.to_owned(),
        r#"{"cpu":{"shares":4000}}"#.to_owned(),
        r#"{"cpu":{"limit":18446744073709551616}}"#.to_owned(),
    ] {
        let a = live.post("/api/pools/limited", &body).await;
        assert!(
            a.status == 200 || (400..500).contains(&a.status),
            "{body}: {} {}",
            a.status,
            a.text
        );
    }
    // The testbed still answers and still samples.
    live.step(2).await;
    live.post(
        "/api/pools/limited",
        r#"{"cpu":{"limit":500,"reservation":0},"mem":{"limit":500,"reservation":0}}"#,
    )
    .await
    .ok200();
    live.stop().await;
}

/// Sends raw bytes as one request and closes the connection without reading the answer.
async fn send_and_hang_up(live: &Live, request: &str) {
    use tokio::io::AsyncWriteExt;
    let addr = live.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    s.flush().await.expect("flush");
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_changes_all_or_nothing() {
    let live = Live::start(8).await;
    let client = soap(&live).await;
    let pool = live.state().await["vchs"][0]["pool"]
        .as_str()
        .expect("pool")
        .to_owned();
    // Cut off inside the body: nothing was parsed, nothing changes.
    send_and_hang_up(
        &live,
        "POST /api/pools/limited HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n{\"cpu\":{\"limit\":9",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cpu_limit(&client, &pool).await, 500);
    // A whole request, then gone before the answer: the HTTP layer may drop it unread, or
    // the change runs to its end on its own task — never half of it, and the page's state
    // follows vSphere's either way.
    let body = r#"{"cpu":{"limit":900,"shares_level":"high"}}"#;
    send_and_hang_up(
        &live,
        &format!(
            "POST /api/pools/limited HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The change may still be landing: vSphere is read again with the state each round, as
    // a limit read once could be overtaken by the change before the state is read.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (limit, state) = loop {
        let limit = cpu_limit(&client, &pool).await;
        let state = live.state().await;
        if state["vchs"][0]["config"]["cpu"]["limit"] == limit {
            break (limit, state);
        }
        assert!(
            Instant::now() < deadline,
            "the state never followed vSphere's limit {limit}: {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let level = &state["vchs"][0]["config"]["cpu"]["shares_level"];
    assert!(
        (limit == 500 && level == "normal") || (limit == 900 && level == "high"),
        "half a change: limit {limit}, level {level}"
    );
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_started_by_another_client_has_every_sample_since_its_start() {
    use vic::engine::client::{DockerClient, GlobalOptions, parse_command};
    let live = Live::start(8).await;
    live.step(2).await;
    // The room's docker CLI, not the console: the console learns of it on its next read.
    let state = live.state().await;
    let words: Vec<String> = state["vchs"][0]["docker_command"]
        .as_str()
        .expect("command")
        .split(' ')
        .skip(1)
        .map(str::to_owned)
        .collect();
    let docker =
        DockerClient::new(&GlobalOptions::from_args(&words).expect("options")).expect("client");
    let argv: Vec<String> = "run -d --name late -m 4g progrium/stress --cpu 1 --timeout 600s"
        .split(' ')
        .map(str::to_owned)
        .collect();
    let out = docker
        .execute(&parse_command(&argv).expect("command"))
        .await
        .expect("docker run");
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    let started_after = live.state().await["clock"]["now_ms"].as_i64().expect("now");
    live.step(3).await;
    let (state, window) = live
        .wait_for("the late container's samples", |state, window| {
            let Some(v) = vm(state, "late") else {
                return false;
            };
            let moref = v["moref"].as_str().unwrap_or_default();
            window["samples"].as_array().is_some_and(|s| {
                s.iter()
                    .filter(|x| x["ts_ms"].as_i64().is_some_and(|t| t > started_after))
                    .all(|x| x["entities"][moref]["cpu.demand.average"].is_number())
            })
        })
        .await;
    let moref = vm(&state, "late").expect("listed")["moref"]
        .as_str()
        .expect("moref")
        .to_owned();
    let with = window["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .filter(|x| x["entities"][&moref].is_object())
        .count();
    assert!(with >= 3, "the three samples since its start: {with}");
    live.stop().await;
}
