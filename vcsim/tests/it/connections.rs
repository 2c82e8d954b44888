//! Connection bounds of `vcsim::http::serve_with_limits` over real loopback sockets: idle
//! keep-alive connections and stalled requests are closed, requests in flight are not, and
//! connections beyond the bound get a clear 503.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vcsim::http::Limits;
use vcsim::{Config, Emulator, Vcsim};

/// Generous guard on every read: a server that never closes fails the test here instead of
/// hanging it (not a timing assertion: the bounds under test are 1 s).
const READ_GUARD: Duration = Duration::from_secs(30);

struct Running {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn start(limits: Limits) -> Running {
    let vc = Vcsim::new(Emulator::new(Config::default()).expect("inventory"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = vc
            .serve_with_limits(listener, None, limits, async {
                let _ = rx.await;
            })
            .await;
    });
    Running {
        addr,
        stop: Some(tx),
    }
}

fn short() -> Limits {
    Limits {
        max_connections: 4,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        ..Limits::default()
    }
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let r = tokio::time::timeout(READ_GUARD, s.read_to_end(&mut out)).await;
    assert!(r.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&out).into_owned()
}

fn soap(body: &str) -> String {
    let env = crate::support::envelope(body);
    format!(
        "POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{env}",
        env.len()
    )
}

const SERVICE_CONTENT: &str = r#"<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_stalled_connections_are_closed() {
    let srv = start(short()).await;
    // Connected, never sent a byte.
    let mut silent = TcpStream::connect(srv.addr).await.expect("connect");
    // Half the request line and headers, then nothing.
    let mut half_head = TcpStream::connect(srv.addr).await.expect("connect");
    half_head
        .write_all(b"POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Le")
        .await
        .expect("write");
    // Headers promising 1000 bytes of body, then 10.
    let mut half_body = TcpStream::connect(srv.addr).await.expect("connect");
    half_body
        .write_all(b"POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<soapenv:")
        .await
        .expect("write");
    // One whole request answered, then idle on keep-alive.
    let mut kept_alive = TcpStream::connect(srv.addr).await.expect("connect");
    kept_alive
        .write_all(soap(SERVICE_CONTENT).as_bytes())
        .await
        .expect("write");

    assert_eq!(read_to_close(&mut silent).await, "");
    assert_eq!(read_to_close(&mut half_head).await, "");
    let body_reply = read_to_close(&mut half_body).await;
    assert!(
        body_reply.is_empty() || body_reply.starts_with("HTTP/1.1 4"),
        "a stalled body gets a 4xx or a close: {body_reply}"
    );
    let answered = read_to_close(&mut kept_alive).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(answered.contains("RetrieveServiceContentResponse"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_outlives_the_idle_timeout() {
    let srv = start(short()).await;
    let mut s = TcpStream::connect(srv.addr).await.expect("connect");
    // Log in, then a WaitForUpdatesEx long poll of 3 s (three idle timeouts) on the same
    // connection: it must be answered, not cut.
    let login = r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>"#;
    s.write_all(soap(login).as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 64 * 1024];
    let n = tokio::time::timeout(READ_GUARD, s.read(&mut buf))
        .await
        .expect("login answered")
        .expect("read");
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split('"').nth(1))
        .unwrap_or_else(|| panic!("a session cookie in {head}"))
        .to_owned();
    let wait = r#"<WaitForUpdatesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><version></version><options><maxWaitSeconds>3</maxWaitSeconds></options></WaitForUpdatesEx>"#;
    let env = crate::support::envelope(wait);
    let req = format!(
        "POST /sdk HTTP/1.1\r\nHost: x\r\nCookie: vmware_soap_session=\"{cookie}\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{env}",
        env.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let reply = read_to_close(&mut s).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("WaitForUpdatesExResponse"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_bound_get_503() {
    let srv = start(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let a = TcpStream::connect(srv.addr).await.expect("connect");
    let b = TcpStream::connect(srv.addr).await.expect("connect");
    // Let the server accept both before the third arrives.
    let mut probe = TcpStream::connect(srv.addr).await.expect("connect");
    probe
        .write_all(b"GET /about HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let reply = read_to_close(&mut probe).await;
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(reply.contains("connection limit"), "{reply}");
    // A slot freed is a slot reused.
    drop(a);
    drop(b);
    let mut again = None;
    for _ in 0..50 {
        let mut s = TcpStream::connect(srv.addr).await.expect("connect");
        s.write_all(b"GET /about HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let r = read_to_close(&mut s).await;
        if r.starts_with("HTTP/1.1 200") {
            again = Some(r);
            break;
        }
        // The server may not have seen the close yet.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "freed slots are reused");
}
