//! The hijacked attach stream at the wire level: the 101 upgrade, stdcopy frames, stdin held
//! until the process reads it, the detach keys, the refusals (no upgrade, unknown container,
//! bad detach keys), and the event stream a foreground `docker run` reads its exit code
//! from.

use crate::engine::{Vch, get, post, post_json, start_vch};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens an attach connection and reads the response head; returns the stream and the head.
async fn attach(vch: &Vch, id: &str, query: &str, upgrade: bool) -> (TcpStream, String) {
    let mut s = TcpStream::connect(vch.addr).await.unwrap();
    let up = if upgrade {
        "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    } else {
        ""
    };
    s.write_all(
        format!(
            "POST /v1.25/containers/{id}/attach?{query} HTTP/1.1\r\nHost: {}\r\n{up}Content-Length: 0\r\n\r\n",
            vch.addr
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut b))
            .await
            .expect("the head in time")
            .unwrap();
        assert!(n == 1, "closed after {}", String::from_utf8_lossy(&head));
        head.push(b[0]);
    }
    (s, String::from_utf8_lossy(&head).into_owned())
}

/// Reads until the server closes.
async fn read_all(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("the stream ends")
        .unwrap();
    out
}

/// Splits stdcopy frames into (stream, payload).
fn frames(mut b: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    while b.len() >= 8 {
        let len = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        out.push((b[0], String::from_utf8_lossy(&b[8..8 + len]).into_owned()));
        b = &b[8 + len..];
    }
    assert!(b.is_empty(), "a partial frame: {b:?}");
    out
}

async fn create(vch: &Vch, body: &str) -> String {
    let (status, v, text) = post_json(vch, "/v1.25/containers/create", body).await;
    assert_eq!(status, 201, "{text}");
    v["Id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_streams_a_run_and_its_exit() {
    let vch = start_vch("vch-attach", 12).await;
    let (status, _, text) = post(&vch, "/v1.25/images/create?fromImage=busybox&tag=latest").await;
    assert_eq!(status, 200, "{text}");
    let id = create(
        &vch,
        r#"{"Image":"busybox","Cmd":["sh","-c","echo one; echo two; exit 3"],"AttachStdout":true,"AttachStderr":true}"#,
    )
    .await;

    // Refusals first: nothing upgrades.
    let (_, head) = attach(&vch, &id, "stream=1&stdout=1", false).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let (_, head) = attach(&vch, "nosuch", "stream=1&stdout=1", true).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (_, head) = attach(&vch, &id, "stream=1&stdout=1&detachKeys=ctrl-1", true).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");

    // Attached before the start, as `docker run` does: the run's output, then the end.
    let (mut s, head) = attach(&vch, &id, "stream=1&stdout=1&stderr=1", true).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/vnd.docker.raw-stream"),
        "{head}"
    );
    let (status, _, text) = post(&vch, &format!("/v1.25/containers/{id}/start")).await;
    assert_eq!(status, 204, "{text}");
    let got = frames(&read_all(&mut s).await);
    assert!(got.iter().all(|(stream, _)| *stream == 1), "{got:?}");
    let text: String = got.into_iter().map(|(_, t)| t).collect();
    assert_eq!(text, "one\ntwo\n");
    let (status, v, _) = post(&vch, &format!("/v1.25/containers/{id}/wait")).await;
    assert_eq!((status, v["StatusCode"].as_i64()), (200, Some(3)));
    let (_, v, _) = get(&vch, &format!("/v1.25/containers/{id}/json")).await;
    assert_eq!(v["State"]["Status"], "exited");
    assert_eq!(v["State"]["ExitCode"], 3);

    // `logs=1` with `stream=0` replays and ends.
    let (mut s, head) = attach(&vch, &id, "logs=1&stdout=1", true).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let replay: String = frames(&read_all(&mut s).await)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(replay, "one\ntwo\n");

    // The event stream since the start of time: create, attach…, start, die with the code.
    let (status, _, text) = get(&vch, "/v1.25/events?since=0&until=1").await;
    assert_eq!(status, 200, "{text}");
    let mine: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["id"] == id.as_str())
        .collect();
    let actions: Vec<&str> = mine.iter().map(|e| e["Action"].as_str().unwrap()).collect();
    assert_eq!(actions[0], "create");
    let start = actions.iter().position(|a| *a == "start").unwrap();
    assert_eq!(actions[start + 1], "die", "{actions:?}");
    assert_eq!(mine[start + 1]["Actor"]["Attributes"]["exitCode"], "3");
    let (status, _, _) = get(
        &vch,
        "/v1.25/events?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D",
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interactive_shell_reads_stdin_and_detaches() {
    let vch = start_vch("vch-attach-i", 13).await;
    let (status, _, text) = post(&vch, "/v1.25/images/create?fromImage=busybox&tag=latest").await;
    assert_eq!(status, 200, "{text}");
    let id = create(
        &vch,
        r#"{"Image":"busybox","Cmd":["sh"],"OpenStdin":true,"StdinOnce":false,"AttachStdin":true,"AttachStdout":true,"AttachStderr":true}"#,
    )
    .await;
    let (mut s, head) = attach(&vch, &id, "stream=1&stdin=1&stdout=1&stderr=1", true).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // Sent before the start: held until the shell reads.
    s.write_all(b"echo early\n").await.unwrap();
    let (status, _, text) = post(&vch, &format!("/v1.25/containers/{id}/start")).await;
    assert_eq!(status, 204, "{text}");
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("output in time")
        .unwrap();
    assert_eq!(frames(&buf[..n]), vec![(1, "early\n".into())]);
    // ctrl-p ctrl-q: the attach ends, the shell keeps running.
    s.write_all(&[0x10, 0x11]).await.unwrap();
    read_all(&mut s).await;
    let (_, v, _) = get(&vch, &format!("/v1.25/containers/{id}/json")).await;
    assert_eq!(v["State"]["Running"], true, "{v}");

    // Attach again and end the shell.
    let (mut s, _) = attach(&vch, &id, "stream=1&stdin=1&stdout=1", true).await;
    s.write_all(b"echo late; exit 4\n").await.unwrap();
    assert_eq!(frames(&read_all(&mut s).await), vec![(1, "late\n".into())]);
    let (_, v, _) = post(&vch, &format!("/v1.25/containers/{id}/wait")).await;
    assert_eq!(v["StatusCode"], 4);
    let (status, _, logs) = crate::engine::http(
        &vch,
        "GET",
        &format!("/v1.25/containers/{id}/logs?stdout=1"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        logs.contains("early\n") && logs.contains("late\n"),
        "{logs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_create_start_inspect_and_refusals() {
    let vch = start_vch("vch-exec", 14).await;
    let (status, _, text) = post(&vch, "/v1.25/images/create?fromImage=busybox&tag=latest").await;
    assert_eq!(status, 200, "{text}");
    let id = create(&vch, r#"{"Image":"busybox","Cmd":["httpd","-f"]}"#).await;
    let exec_path = format!("/v1.25/containers/{id}/exec");
    // Not running yet: refused.
    let (status, v, _) = post_json(&vch, &exec_path, r#"{"Cmd":["true"]}"#).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["message"], format!("Container {id} is not running"));
    let (status, _, text) = post(&vch, &format!("/v1.25/containers/{id}/start")).await;
    assert_eq!(status, 204, "{text}");
    // Bad input: no command, a wrong type.
    let (status, v, _) = post_json(&vch, &exec_path, r#"{"Cmd":[]}"#).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (400, Some("No exec command specified"))
    );
    let (status, v, _) = post_json(&vch, &exec_path, r#"{"Cmd":["true"],"Tty":"yes"}"#).await;
    assert_eq!(status, 400, "{v}");
    let (status, v, _) = get(&vch, "/v1.25/exec/nosuch/json").await;
    assert_eq!(status, 404, "{v}");

    // A detached exec runs to its end; inspect has the code; a second start is refused.
    let (status, v, _) = post_json(&vch, &exec_path, r#"{"Cmd":["sh","-c","exit 5"]}"#).await;
    assert_eq!(status, 201, "{v}");
    let exec = v["Id"].as_str().unwrap().to_owned();
    let (status, v, _) = get(&vch, &format!("/v1.25/exec/{exec}/json")).await;
    assert_eq!((status, v["Running"].as_bool()), (200, Some(false)));
    assert!(v["ExitCode"].is_null(), "{v}");
    let start = format!("/v1.25/exec/{exec}/start");
    let (status, _, text) = post_json(&vch, &start, r#"{"Detach":true}"#).await;
    assert_eq!(status, 200, "{text}");
    let (_, v, _) = get(&vch, &format!("/v1.25/exec/{exec}/json")).await;
    assert_eq!(
        (v["Running"].as_bool(), v["ExitCode"].as_i64()),
        (Some(false), Some(5)),
        "{v}"
    );
    assert_eq!(v["ProcessConfig"]["entrypoint"], "sh");
    let (status, _, _) = post_json(&vch, &start, r#"{"Detach":true}"#).await;
    assert_eq!(status, 409);
    // Not detached and no upgrade: refused before anything runs.
    let (_, v, _) = post_json(&vch, &exec_path, r#"{"Cmd":["true"]}"#).await;
    let other = v["Id"].as_str().unwrap().to_owned();
    let (status, _, _) = post_json(&vch, &format!("/v1.25/exec/{other}/start"), "{}").await;
    assert_eq!(status, 400);
    let (_, v, _) = get(&vch, &format!("/v1.25/exec/{other}/json")).await;
    assert!(v["ExitCode"].is_null(), "never ran: {v}");
    let (status, _, _) = post(&vch, &format!("/v1.25/exec/{other}/resize?h=24&w=80")).await;
    assert_eq!(status, 200);
    // The container keeps running; removing it forgets its execs.
    let (_, v, _) = get(&vch, &format!("/v1.25/containers/{id}/json")).await;
    assert_eq!(v["State"]["Running"], true);
    let (status, _, _) = crate::engine::http(
        &vch,
        "DELETE",
        &format!("/v1.25/containers/{id}?force=1"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = get(&vch, &format!("/v1.25/exec/{exec}/json")).await;
    assert_eq!(status, 404);
}

/// The docker CLI's CPU percentage of a stats message.
fn cpu_percent(v: &serde_json::Value) -> f64 {
    let n = |x: &serde_json::Value| x.as_f64().unwrap_or(0.0);
    let cpu = n(&v["cpu_stats"]["cpu_usage"]["total_usage"])
        - n(&v["precpu_stats"]["cpu_usage"]["total_usage"]);
    let sys = n(&v["cpu_stats"]["system_cpu_usage"]) - n(&v["precpu_stats"]["system_cpu_usage"]);
    let cpus = v["cpu_stats"]["cpu_usage"]["percpu_usage"]
        .as_array()
        .map_or(1, Vec::len) as f64;
    if sys <= 0.0 {
        0.0
    } else {
        cpu / sys * cpus * 100.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_show_the_cpu_a_limited_vch_gives() {
    let vch = start_vch("vch-stats", 15).await;
    let (status, _, text) = post(
        &vch,
        "/v1.25/images/create?fromImage=progrium/stress&tag=latest",
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let id = create(
        &vch,
        r#"{"Image":"progrium/stress","Cmd":["--cpu","1","--timeout","600s"],"HostConfig":{"CpusetCpus":"1"}}"#,
    )
    .await;
    let (status, _, text) = post(&vch, &format!("/v1.25/containers/{id}/start")).await;
    assert_eq!(status, 204, "{text}");
    vch.vc.advance(120_000);
    let (status, v, text) = get(&vch, &format!("/v1.25/containers/{id}/stats?stream=0")).await;
    assert_eq!(status, 200, "{text}");
    // One busy vCPU under the VCH pool's 500 MHz limit: 500 MHz of one core of the host.
    let vm = vms_in_pool_ref(&vch, &id).await;
    let host = vch
        .client
        .get_property(&vm, "runtime.host")
        .await
        .unwrap()
        .and_then(|h| h.as_moref().cloned())
        .unwrap();
    let core_mhz = vch
        .client
        .get_property(&host, "summary.hardware.cpuMhz")
        .await
        .unwrap()
        .and_then(|v| v.as_i64())
        .unwrap() as f64;
    let want = 500.0 / core_mhz * 100.0;
    let got = cpu_percent(&v);
    assert!(
        (got - want).abs() <= want * 0.1,
        "CPU {got:.1} % against {want:.1} % (500 MHz of a {core_mhz} MHz core): {v}"
    );
    assert!(v["memory_stats"]["usage"].as_i64().unwrap() > 0, "{v}");
    assert_eq!(v["memory_stats"]["limit"].as_i64(), Some(2048 << 20), "{v}");
    // Stopped: one message of zeros.
    let (status, _, _) = post(&vch, &format!("/v1.25/containers/{id}/stop?t=1")).await;
    assert_eq!(status, 204);
    let (status, v, _) = get(&vch, &format!("/v1.25/containers/{id}/stats")).await;
    assert_eq!(status, 200);
    assert_eq!(cpu_percent(&v), 0.0);
}

/// The containerVM of container `id`.
async fn vms_in_pool_ref(vch: &Vch, id: &str) -> vcsim::vmodl::MoRef {
    let (_, v, _) = get(vch, &format!("/v1.25/containers/{id}/json")).await;
    let name = v["Name"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_owned();
    let found = vch
        .client
        .view_contents(&vch.pool, &["VirtualMachine"], true, &["name"])
        .await
        .unwrap();
    found
        .iter()
        .find(|o| {
            o.text("name")
                .is_some_and(|n| n.contains(&name) || n.contains(&id[..12]))
        })
        .map(|o| o.obj.clone())
        .expect("the containerVM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_containers_exec_sessions_are_bounded() {
    let vch = start_vch("vch-exec-bound", 16).await;
    let (status, _, text) = post(&vch, "/v1.25/images/create?fromImage=busybox&tag=latest").await;
    assert_eq!(status, 200, "{text}");
    let id = create(&vch, r#"{"Image":"busybox","Cmd":["httpd","-f"]}"#).await;
    let (status, _, _) = post(&vch, &format!("/v1.25/containers/{id}/start")).await;
    assert_eq!(status, 204);
    let max = vic::portlayer::MAX_EXECS;
    let mut last = String::new();
    for _ in 0..max + 4 {
        let (status, v, _) = post_json(
            &vch,
            &format!("/v1.25/containers/{id}/exec"),
            r#"{"Cmd":["true"]}"#,
        )
        .await;
        assert_eq!(status, 201, "{v}");
        last = v["Id"].as_str().unwrap().to_owned();
        let (status, _, text) = post_json(
            &vch,
            &format!("/v1.25/exec/{last}/start"),
            r#"{"Detach":true}"#,
        )
        .await;
        assert_eq!(status, 200, "{text}");
    }
    let vm = vms_in_pool_ref(&vch, &id).await;
    let extra = vch
        .client
        .get_property(&vm, "config.extraConfig")
        .await
        .unwrap()
        .unwrap();
    let sessions: std::collections::BTreeSet<String> = extra
        .items()
        .iter()
        .filter_map(|o| o.field("key").and_then(vcsim::vmodl::Value::as_str))
        .filter_map(|k| k.split("execs|").nth(1))
        .map(|rest| rest.chars().take(64).collect())
        .collect();
    assert_eq!(sessions.len(), max, "the newest {max} sessions' keys stay");
    assert!(sessions.contains(&last));
    // The newest still answers; the oldest record went with its keys.
    let (_, v, _) = get(&vch, &format!("/v1.25/exec/{last}/json")).await;
    assert_eq!(v["ExitCode"], 0, "{v}");
}
