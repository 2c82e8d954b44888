//! Container operations stay whole when the Docker client hangs up mid-request (a killed
//! `docker run`): the endpoint's SOAP traffic goes through a proxy that holds vSphere's answer
//! to one chosen call, the test closes the client's connection while that call is in flight,
//! then lets the answer through. Afterwards every containerVM in the VCH pool must be listed
//! by `GET /containers/json?all=1`, removable, and its name taken by that listed container;
//! nothing listed may lack its VM.

use super::engine::{Vch, http_raw, second_endpoint, start_vch, vms_in_pool};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};

/// Holds the answer to the first SOAP request that contains the armed text until released.
struct Gate {
    trigger: Mutex<Option<&'static str>>,
    hit: Notify,
    release: Semaphore,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            trigger: Mutex::new(None),
            hit: Notify::new(),
            release: Semaphore::new(0),
        }
    }

    fn arm(&self, trigger: &'static str) {
        *self.trigger.lock().unwrap() = Some(trigger);
    }

    /// Whether `seen` holds the armed text; disarms when it does.
    fn matches(&self, seen: &[u8]) -> bool {
        let mut t = self.trigger.lock().unwrap();
        let Some(text) = *t else { return false };
        if seen.windows(text.len()).any(|w| w == text.as_bytes()) {
            *t = None;
            return true;
        }
        false
    }
}

/// A TCP proxy to `upstream` driven by `gate`.
async fn holding_proxy(upstream: SocketAddr, gate: Arc<Gate>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(upstream).await else {
                continue;
            };
            let gate = gate.clone();
            tokio::spawn(pump_pair(client, server, gate));
        }
    });
    addr
}

async fn pump_pair(client: TcpStream, server: TcpStream, gate: Arc<Gate>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let held = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let held_up = held.clone();
    let gate_up = gate.clone();
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut seen: Vec<u8> = Vec::new();
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            seen.extend_from_slice(&buf[..n]);
            // The marker is set before the request goes on, so its answer is always held.
            if gate_up.matches(&seen) {
                held_up.store(true, std::sync::atomic::Ordering::SeqCst);
                gate_up.hit.notify_one();
            }
            let keep = seen.len().saturating_sub(64);
            seen.drain(..keep);
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if held.swap(false, std::sync::atomic::Ordering::SeqCst)
            && let Ok(permit) = gate.release.acquire().await
        {
            permit.forget();
        }
        if cw.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = cw.shutdown().await;
    up.abort();
}

/// A second endpoint for `vch`'s pool whose SOAP traffic goes through a holding proxy:
/// (its address, the gate).
async fn endpoint_behind_gate(vch: &Vch, name: &str, n: u8) -> (SocketAddr, Arc<Gate>) {
    let url = vch.client.endpoint().url();
    let hostport = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let upstream: SocketAddr = hostport.parse().unwrap();
    let gate = Arc::new(Gate::new());
    let proxy = holding_proxy(upstream, gate.clone()).await;
    let addr = second_endpoint(vch, name, n, format!("http://{proxy}/sdk")).await;
    (addr, gate)
}

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value, String) {
    let (status, _, raw) = http_raw(addr, method, path, &addr.to_string(), body).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        text,
    )
}

/// Sends one request and closes the connection once the gated SOAP call is in flight, then
/// lets vSphere's answer through.
async fn hang_up_during(addr: SocketAddr, gate: &Gate, trigger: &'static str, request: &str) {
    gate.arm(trigger);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), gate.hit.notified())
        .await
        .unwrap_or_else(|_| panic!("{trigger} was never sent"));
    drop(s);
    // Time for the endpoint to see the hang-up (hyper then drops the request's future); the
    // outcome checked below does not depend on it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    gate.release.add_permits(1);
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// (name, id) of every container the endpoint lists with `all=1`.
async fn listed(addr: SocketAddr) -> Vec<(String, String)> {
    let (status, v, text) = call(addr, "GET", "/containers/json?all=1", None).await;
    assert_eq!(status, 200, "{text}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Names"][0]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('/')
                    .to_owned(),
                c["Id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits (bounded) until the containers listed and the containerVMs in the pool are the same
/// set (display name `<name>-<id12>`), then asserts they are.
async fn assert_consistent(vch: &Vch, addr: SocketAddr) -> Vec<(String, String)> {
    let mut last = (BTreeSet::new(), BTreeSet::new());
    for _ in 0..400 {
        let list = listed(addr).await;
        let shown: BTreeSet<String> = list
            .iter()
            .map(|(n, id)| format!("{n}-{}", &id[..12]))
            .collect();
        let vms: BTreeSet<String> = vms_in_pool(vch).await.into_iter().map(|v| v.0).collect();
        if shown == vms {
            return list;
        }
        last = (shown, vms);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "listed containers {:?} != containerVMs in the pool {:?}",
        last.0, last.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hanging_up_mid_create_leaves_no_orphan() {
    let vch = start_vch("vch-hangup", 6).await;
    let (addr, gate) = endpoint_behind_gate(&vch, "vch-hangup", 7).await;
    assert_eq!(
        call(addr, "POST", "/images/create?fromImage=busybox", None)
            .await
            .0,
        200
    );
    let body = r#"{"Image":"busybox","Cmd":["sleep","1000"]}"#;
    // While vSphere creates the VM, and while VIC disables Destroy_Task on it.
    for (name, trigger) in [("gone-a", "CreateVM_Task"), ("gone-b", "DisableMethods")] {
        let path = format!("/containers/create?name={name}");
        hang_up_during(addr, &gate, trigger, &request(addr, "POST", &path, body)).await;
    }
    // Killed at any moment: send and close at once, a bounded number of times.
    for i in 0..8 {
        let path = format!("/containers/create?name=gone-{i}");
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request(addr, "POST", &path, body).as_bytes())
            .await
            .unwrap();
        if i % 2 == 1 {
            tokio::time::sleep(Duration::from_millis(i * 3)).await;
        }
        drop(s);
    }
    let list = assert_consistent(&vch, addr).await;
    for (name, id) in &list {
        assert_eq!(
            call(addr, "GET", &format!("/containers/{name}/json"), None)
                .await
                .1["Id"],
            id.as_str()
        );
    }
    // Each name is taken by its listed container, or free.
    for name in ["gone-a", "gone-b"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..8).map(|i| format!("gone-{i}")))
    {
        let (status, _, text) = call(
            addr,
            "POST",
            &format!("/containers/create?name={name}"),
            Some(body),
        )
        .await;
        let taken = list.iter().any(|(n, _)| *n == name);
        assert_eq!(status, if taken { 409 } else { 201 }, "{name}: {text}");
    }
    // Every one of them is removable, and then the pool is empty.
    for (_, id) in listed(addr).await {
        let (status, _, text) = call(addr, "DELETE", &format!("/containers/{id}"), None).await;
        assert_eq!(status, 204, "{text}");
    }
    assert!(vms_in_pool(&vch).await.is_empty());
    assert!(listed(addr).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hanging_up_mid_start_or_remove_leaves_consistent_state() {
    let vch = start_vch("vch-hangup2", 8).await;
    let (addr, gate) = endpoint_behind_gate(&vch, "vch-hangup2", 9).await;
    call(addr, "POST", "/images/create?fromImage=busybox", None).await;
    let body = r#"{"Image":"busybox","Cmd":["sleep","1000"],"HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}}}"#;
    let (status, _, text) = call(addr, "POST", "/containers/create?name=web", Some(body)).await;
    assert_eq!(status, 201, "{text}");

    // A start cut off while the VM powers on still records what it set up: the container
    // runs with its port mapped.
    hang_up_during(
        addr,
        &gate,
        "PowerOnMultiVM_Task",
        &request(addr, "POST", "/containers/web/start", ""),
    )
    .await;
    let mut mapped = serde_json::Value::Null;
    for _ in 0..400 {
        let (_, v, _) = call(addr, "GET", "/containers/web/json", None).await;
        mapped = v["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"].clone();
        if v["State"]["Running"] == true && mapped == "8080" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(mapped, "8080", "the start's port mapping was recorded");
    // The port is held by `web`: another container cannot take it.
    let (status, _, text) = call(addr, "POST", "/containers/create?name=other", Some(body)).await;
    assert_eq!(status, 201, "{text}");
    let (status, v, _) = call(addr, "POST", "/containers/other/start", None).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (
            500,
            Some("Bind for 0.0.0.0:8080 failed: port is already allocated")
        )
    );
    assert_consistent(&vch, addr).await;

    // A removal cut off while vSphere destroys the VM still forgets the container.
    hang_up_during(
        addr,
        &gate,
        "Destroy_Task",
        &request(addr, "DELETE", "/containers/web?force=1", ""),
    )
    .await;
    let list = assert_consistent(&vch, addr).await;
    assert_eq!(
        list.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["other"]
    );
    // The name is free again.
    let (status, _, text) = call(addr, "POST", "/containers/create?name=web", Some(body)).await;
    assert_eq!(status, 201, "{text}");
}
