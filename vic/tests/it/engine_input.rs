//! Malformed Docker API input gets dockerd's 4xx and message, never a 500 or a silent
//! ignore, and never a containerVM: each bad request is sent with raw HTTP to a running VCH
//! endpoint, and the VCH pool is counted over SOAP around it. The docker CLI shows the same
//! messages and exits non-zero.

use super::engine::{Vch, docker_env, have_docker_cli, post, start_vch, vms_in_pool};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request with the given Content-Type (None: no header): (status, body text).
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let ct = content_type
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

const JSON: Option<&str> = Some("application/json");

/// (method, path, Content-Type, body, status, message).
type Case = (
    &'static str,
    String,
    Option<&'static str>,
    String,
    u16,
    String,
);

fn create_case(body: &str, status: u16, message: &str) -> Case {
    (
        "POST",
        "/v1.25/containers/create?name=bad".into(),
        JSON,
        body.into(),
        status,
        message.into(),
    )
}

fn cases() -> Vec<Case> {
    let field = |name: &str, ty: &str, what: &str| {
        format!(
            "json: cannot unmarshal {what} into Go struct field ContainerConfigWrapper.{name} of type {ty}"
        )
    };
    let mut v = vec![
        create_case(
            r#"{"Image":"busybox","HostConfig":{"Memory":"abc"}}"#,
            400,
            &field("HostConfig.Memory", "int64", "string"),
        ),
        create_case(
            r#"{"Image":"busybox","Cmd":{}}"#,
            400,
            "json: cannot unmarshal object into Go value of type string",
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"Memory":18446744073709551616}}"#,
            400,
            &field(
                "HostConfig.Memory",
                "int64",
                "number 18446744073709551616",
            ),
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"Memory":-1}}"#,
            400,
            "Minimum memory limit allowed is 4MB",
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"NanoCpus":-1}}"#,
            400,
            "Range of CPUs is from 0.01 to 768.00, as there are only 768 CPUs available",
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"Memory":9223372036854775807}}"#,
            400,
            "Maximum memory limit allowed is 6128GB",
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"CpusetCpus":"abc"}}"#,
            400,
            "Invalid value abc for cpuset cpus",
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"CpusetCpus":"0-3"}}"#,
            400,
            "Error parsing CPU count: strconv.Atoi: parsing \"0-3\": invalid syntax",
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"99999"}]}}}"#,
            400,
            "invalid port specification: \"99999\"",
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":8080}]}}}"#,
            400,
            &field("HostConfig.PortBindings.HostPort", "string", "number"),
        ),
        create_case(
            r#"{"Image":"busybox","Env":"A=1"}"#,
            400,
            &field("Env", "[]string", "string"),
        ),
        create_case(
            r#"{"Image":"busybox","Tty":"yes"}"#,
            400,
            &field("Tty", "bool", "string"),
        ),
        create_case(
            r#"{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}"#,
            400,
            "invalid restart policy 'sometimes'",
        ),
        create_case(
            r#"{"Image":"busybox","WorkingDir":"tmp"}"#,
            400,
            "the working directory 'tmp' is invalid, it needs to be an absolute path",
        ),
        create_case(
            r#"{"Image":"busybox","StopSignal":"SIGNOPE"}"#,
            400,
            "Invalid signal: SIGNOPE",
        ),
        create_case(
            r#"{"Image": busybox}"#,
            400,
            "invalid JSON: invalid character 'b' looking for beginning of value",
        ),
        create_case("", 400, "invalid JSON: got EOF while reading request body"),
        (
            "POST",
            "/containers/create".into(),
            Some("text/plain"),
            r#"{"Image":"busybox"}"#.into(),
            400,
            "Content-Type specified (text/plain) must be 'application/json'".into(),
        ),
        (
            "POST",
            "/containers/create?name=a".into(),
            JSON,
            r#"{"Image":"busybox"}"#.into(),
            400,
            "Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed".into(),
        ),
        // API versions outside 1.19-1.25.
        (
            "POST",
            "/v9.99/containers/create".into(),
            JSON,
            r#"{"Image":"busybox"}"#.into(),
            400,
            "client is newer than server (client API version: 9.99, server API version: 1.25)".into(),
        ),
        (
            "GET",
            "/v1.0/info".into(),
            None,
            String::new(),
            400,
            "client version 1.0 is too old. Minimum supported API version is 1.19, please upgrade your client to a newer version".into(),
        ),
    ];
    // Other routes' parameters, on the existing container `keep`.
    let plain = |method: &'static str, path: &str, status: u16, message: &str| -> Case {
        (
            method,
            path.into(),
            None,
            String::new(),
            status,
            message.into(),
        )
    };
    let atoi = "strconv.Atoi: parsing \"abc\": invalid syntax";
    v.extend([
        plain("POST", "/containers/keep/stop?t=abc", 400, atoi),
        plain("POST", "/containers/keep/restart?t=abc", 400, atoi),
        plain(
            "POST",
            "/containers/keep/kill?signal=SIGNOPE",
            400,
            "Invalid signal: SIGNOPE",
        ),
        plain(
            "GET",
            "/containers/keep/logs?stdout=1&tail=abc",
            400,
            "invalid value for tail: abc (a number of lines or \"all\")",
        ),
        plain(
            "GET",
            "/containers/keep/logs?stdout=1&since=abc",
            400,
            "invalid value for since: abc",
        ),
        plain(
            "POST",
            "/containers/keep/rename?name=keep",
            400,
            "Renaming a container with the same name as its current name",
        ),
        plain(
            "POST",
            "/containers/keep/rename?name=",
            400,
            "Neither old nor new names may be empty",
        ),
        plain("GET", "/containers/json?limit=abc", 400, atoi),
        plain(
            "GET",
            "/containers/json?filters=%7B%22status%22%3A%5B%22bogus%22%5D%7D",
            400,
            "Invalid filter 'status=bogus'",
        ),
        plain(
            "GET",
            "/containers/json?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D",
            400,
            "Invalid filter 'nope'",
        ),
        plain(
            "GET",
            "/networks?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D",
            400,
            "Invalid filter 'nope'",
        ),
        plain(
            "GET",
            "/images/json?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D",
            400,
            "Invalid filter 'dangling=maybe'",
        ),
        plain(
            "GET",
            "/events?since=abc",
            400,
            "invalid value for since: abc",
        ),
        plain(
            "POST",
            "/images/create?fromImage=",
            400,
            "invalid reference format",
        ),
    ]);
    v.push((
        "POST",
        "/containers/keep/start".into(),
        JSON,
        r#"{"Binds":["/tmp:/tmp"]}"#.into(),
        400,
        "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24".into(),
    ));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_a_4xx_and_creates_nothing() {
    let vch: Vch = start_vch("vch-input", 10).await;
    post(&vch, "/images/create?fromImage=busybox&tag=latest").await;
    let (status, text) = send(
        vch.addr,
        "POST",
        "/containers/create?name=keep",
        JSON,
        r#"{"Image":"busybox","Cmd":["sleep","1000"]}"#,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let pool_before = vms_in_pool(&vch).await.len();
    assert_eq!(pool_before, 1);
    for (method, path, ct, body, want_status, want_message) in cases() {
        let (status, text) = send(vch.addr, method, &path, ct, &body).await;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(
            (status, v["message"].as_str()),
            (want_status, Some(want_message.as_str())),
            "{method} {path} {body}: {text}"
        );
        assert_eq!(
            vms_in_pool(&vch).await.len(),
            pool_before,
            "{method} {path} {body} created a containerVM"
        );
    }
    // Good input still works: dockerd's booleans, `-n` implying all, a container list with
    // the stopped `keep`.
    let (status, text) = send(vch.addr, "GET", "/containers/json?all=yes", None, "").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("/keep"), "{text}");
    let (status, text) = send(vch.addr, "GET", "/containers/json?limit=1", None, "").await;
    assert!(status == 200 && text.contains("/keep"), "{text}");
    let (status, text) = send(vch.addr, "POST", "/containers/keep/start", JSON, "{}").await;
    assert_eq!(status, 204, "{text}");
    let (status, text) = send(
        vch.addr,
        "GET",
        "/containers/keep/logs?stdout=1&tail=all",
        None,
        "",
    )
    .await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docker_cli_shows_the_refusals() {
    // The real client is part of the test, never skipped: scripts/test.sh installs it.
    assert!(
        have_docker_cli(),
        "no docker CLI on PATH: run `bash scripts/test.sh` (it installs Debian's docker.io client) or install one"
    );
    let vch = start_vch("vch-input-cli", 11).await;
    let dir = tempfile::tempdir().unwrap();
    let a = vch.addr;
    post(&vch, "/images/create?fromImage=busybox&tag=latest").await;
    // Flags the CLI passes through unchecked reach the endpoint's checks.
    for (args, message) in [
        (
            &["run", "-d", "--cpuset-cpus", "abc", "busybox"][..],
            "Invalid value abc for cpuset cpus",
        ),
        (
            &["run", "-d", "--cpus=-1", "busybox"][..],
            "Range of CPUs is from 0.01 to 768.00, as there are only 768 CPUs available",
        ),
        (
            &["create", "--restart", "sometimes", "busybox"][..],
            "invalid restart policy 'sometimes'",
        ),
    ] {
        let (ok, out, err) = docker_env(a, dir.path(), &[], args).await;
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(
            err.contains(&format!("Error response from daemon: {message}")),
            "{args:?}: {err}"
        );
    }
    // A client that insists on a newer API version than the endpoint speaks.
    let (ok, out, err) =
        docker_env(a, dir.path(), &[("DOCKER_API_VERSION", "9.99")], &["ps"]).await;
    assert!(!ok, "{out}");
    assert!(
        err.contains(
            "client is newer than server (client API version: 9.99, server API version: 1.25)"
        ),
        "{err}"
    );
    assert!(vms_in_pool(&vch).await.is_empty(), "nothing was created");
}
