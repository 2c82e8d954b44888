//! Routing, version negotiation and the wire answers of the DCH engine.

use super::*;
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn dch() -> Dch {
    Dch::new(
        Host {
            hostname: "c0ffee123456".to_owned(),
            ncpu: 4,
            mem_total_bytes: 4096 * 1024 * 1024,
        },
        Catalogue::builtin(),
    )
}

fn get(d: &Dch, path: &str) -> Answer {
    let (path, query) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    d.route(&Method::GET, path, query)
}

fn json_of(a: &Answer) -> Json {
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body))
}

#[test]
fn versions_split_and_negotiate() {
    assert_eq!(split_version("/v1.26/version"), (Some("1.26"), "/version"));
    assert_eq!(split_version("/v1.12/_ping"), (Some("1.12"), "/_ping"));
    assert_eq!(split_version("/version"), (None, "/version"));
    assert_eq!(split_version("/volumes"), (None, "/volumes"));
    assert!(check_version("1.26").is_ok());
    assert!(check_version("1.12").is_ok());
    assert!(check_version("1.9").is_err(), "1.9 < 1.12 numerically");
    let too_new = check_version("1.40").unwrap_err();
    assert_eq!(too_new.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(&too_new)["message"],
        "client version 1.40 is too new. Maximum supported API version is 1.26"
    );
    let d = dch();
    assert_eq!(get(&d, "/v1.40/version").status, StatusCode::BAD_REQUEST);
    let old = get(&d, "/v1.11/info");
    assert!(old.body.contains("is too old"), "{}", old.body);
}

#[test]
fn ping_version_and_info() {
    let d = dch();
    for path in ["/_ping", "/v1.24/_ping"] {
        let a = get(&d, path);
        assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "OK"));
        let r = a.into_response(false, true);
        let h = r.headers();
        assert_eq!(h["api-version"], "1.26");
        assert_eq!(h["docker-experimental"], "false");
        assert_eq!(h["ostype"], "linux");
    }
    let head = d.route(&Method::HEAD, "/_ping", None);
    assert_eq!(head.status, StatusCode::OK);
    let v = json_of(&get(&d, "/v1.26/version"));
    assert_eq!(v["Version"], "1.13.1");
    assert_eq!(v["ApiVersion"], "1.26");
    assert_eq!(v["MinAPIVersion"], "1.12");
    assert_eq!(v["GoVersion"], "go1.7.5");
    assert_eq!(
        (v["Os"].as_str(), v["Arch"].as_str()),
        (Some("linux"), Some("amd64"))
    );
    assert!(v["KernelVersion"].as_str().unwrap().starts_with("4.9."));
    assert_eq!(json_of(&get(&d, "/version")), v);

    let i = json_of(&get(&d, "/info"));
    assert_eq!(i["Name"], "c0ffee123456");
    assert_eq!(i["ServerVersion"], "1.13.1");
    assert_eq!(i["Driver"], "overlay2");
    assert_eq!(i["OperatingSystem"], "VMware Photon OS/Linux");
    assert_eq!(i["NCPU"], 4);
    assert_eq!(i["MemTotal"], 4096u64 * 1024 * 1024);
    assert_eq!(
        (i["Containers"].as_u64(), i["Images"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(i["ID"].as_str().unwrap().split(':').count(), 12);
    assert_eq!(json_of(&get(&d, "/info"))["ID"], i["ID"], "stable id");
}

#[test]
fn image_routes_through_the_router() {
    let d = dch();
    let pull = d.route(
        &Method::POST,
        "/v1.26/images/create",
        Some("fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest"),
    );
    assert_eq!(pull.status, StatusCode::OK, "{}", pull.body);
    assert_eq!(pull.content_type, "application/json");
    for line in pull.body.lines() {
        let _: Json = serde_json::from_str(line).expect("one JSON object a line");
    }
    let tag = d.route(
        &Method::POST,
        "/v1.26/images/busybox/tag",
        Some("repo=registry.corp.local%2Fjustait%2Fbusybox&tag=1"),
    );
    assert_eq!(tag.status, StatusCode::CREATED, "{}", tag.body);
    let inspect = get(
        &d,
        "/v1.26/images/registry.corp.local/justait/busybox:1/json",
    );
    assert_eq!(inspect.status, StatusCode::OK, "{}", inspect.body);
    let list = json_of(&get(&d, "/v1.26/images/json"));
    assert_eq!(list[0]["Id"], json_of(&inspect)["Id"]);
    assert_eq!(list[0]["RepoTags"].as_array().map(Vec::len), Some(2));
    assert_eq!(json_of(&get(&d, "/info"))["Images"], 1);
    let rmi = d.route(&Method::DELETE, "/v1.26/images/busybox", Some("force=0"));
    assert_eq!(rmi.status, StatusCode::OK, "{}", rmi.body);
    assert_eq!(get(&d, "/containers/json").body, "[]");

    // Another DCH has its own images.
    assert_eq!(get(&dch(), "/images/json").body, "[]");
}

#[test]
fn the_rest_is_not_implemented_yet() {
    let d = dch();
    for (m, path, what) in [
        (Method::POST, "/networks/create", "POST /networks/create"),
        (
            Method::POST,
            "/containers/create",
            "POST /containers/create",
        ),
        (Method::GET, "/networks", "GET /networks"),
    ] {
        let a = d.route(&m, path, None);
        assert_eq!(a.status, StatusCode::NOT_IMPLEMENTED, "{path}");
        let msg = json_of(&a)["message"].as_str().unwrap().to_owned();
        assert!(
            msg.contains(what) && msg.contains("not implemented yet"),
            "{msg}"
        );
    }
}

#[test]
fn queries_decode() {
    let q = parse_query(Some("a=x%2Fy&b=c+d&c=%zz&d&=e"));
    assert_eq!(q["a"], "x/y");
    assert_eq!(q["b"], "c d");
    assert_eq!(q["c"], "%zz");
    assert_eq!(q["d"], "");
    assert_eq!(percent_decode("%4"), "%4");
    assert_eq!(percent_decode("%e2%82%ac"), "€");
}

#[tokio::test]
async fn serves_http_with_a_request_body() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let d = Arc::new(dch());
    tokio::spawn(async move {
        let (conn, _) = l.accept().await.unwrap();
        d.serve_io(conn, None).await;
    });
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /v1.26/networks/create HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("HTTP/1.1 501 Not Implemented\r\n"), "{out}");
    assert!(out.contains("server: Docker/1.13.1 (linux)\r\n"), "{out}");
    assert!(
        out.contains("POST /networks/create is not implemented yet"),
        "{out}"
    );
}

#[test]
fn dch_photon_is_recognised_on_its_host_ports() {
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let r = crate::guestnet::recognise(
        &words(&["dch-entrypoint.sh", "-H", "tcp://0.0.0.0:2375"]),
        &Host::default(),
        &Default::default(),
    )
    .expect("a server");
    assert_eq!(
        (r.service.name(), r.ports.as_slice()),
        ("dockerd", &[2375u16][..])
    );
    let r = recognise(
        &words(&[
            "-H=tcp://0.0.0.0:4243",
            "--host",
            "unix:///var/run/docker.sock",
        ]),
        &Host::default(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(r.ports, [4243]);
    // `--insecure-registry` is an option dockerd takes, not a reason to refuse the line
    // (how an insecure registry is reached: `image_transfer::target`).
    let r = recognise(
        &words(&[
            "-H",
            "tcp://0.0.0.0:2375",
            "--insecure-registry",
            "registry.corp.local",
        ]),
        &Host::default(),
        &Default::default(),
    )
    .expect("a server");
    assert!(
        r.meter.is_some(),
        "a DCH's builds spend its containerVM's CPU"
    );
    assert_eq!(
        recognise(&[], &Host::default(), &Default::default())
            .unwrap()
            .ports,
        [PORT]
    );
    assert!(
        recognise(
            &words(&["--version"]),
            &Host::default(),
            &Default::default()
        )
        .is_none()
    );
    assert!(
        recognise(
            &words(&["--tlsverify", "-H", "tcp://0.0.0.0:2376"]),
            &Host::default(),
            &Default::default()
        )
        .is_none()
    );
}
