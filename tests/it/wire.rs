//! The HTTP/SOAP transport with raw requests: methods, chunked bodies, size bound, malformed
//! and hostile input, concurrency. (pyvmomi-level fault checks are in tests/interop/faults.py.)

use crate::support::{Response, Server, connect, read_response, roundtrip, soap_request, xml_text};
use std::io::Write;
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

/// The request body bound of `vicbed serve`: anything larger gets HTTP 413.
const BODY_LIMIT_BYTES: u64 = vcsim::server::MAX_SOAP_BODY_BYTES as u64;

const RETRIEVE_SERVICE_CONTENT: &str = "<RetrieveServiceContent xmlns=\"urn:vim25\">\
     <_this versionId=\"8.0.3.0\" type=\"ServiceInstance\">ServiceInstance</_this>\
     </RetrieveServiceContent>";

fn get(addr: SocketAddr, path: &str) -> Response {
    roundtrip(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn assert_service_content(res: &Response) {
    let text = res.text();
    assert_eq!(res.status, 200, "RetrieveServiceContent: {text}");
    assert!(
        res.headers
            .get("content-type")
            .is_some_and(|c| c.starts_with("text/xml")),
        "content-type {:?}",
        res.headers.get("content-type")
    );
    assert!(text.contains("RetrieveServiceContentResponse"), "{text}");
    assert!(
        text.contains(">group-d1<"),
        "no root folder group-d1 in {text}"
    );
    assert_eq!(xml_text(&text, "apiType"), Some("VirtualCenter"), "{text}");
    assert_eq!(xml_text(&text, "apiVersion"), Some("8.0.3.0"), "{text}");
}

fn assert_fault(res: &Response, detail: &str) {
    let text = res.text();
    assert_eq!(
        res.status, 500,
        "want a SOAP fault, got {}: {text}",
        res.status
    );
    assert!(
        text.contains("Fault>") && text.contains("faultstring"),
        "not a SOAP fault: {text}"
    );
    assert!(
        text.contains(detail),
        "the fault should carry {detail}: {text}"
    );
}

#[test]
fn methods_other_than_post_are_405() {
    let server = Server::start(&[]);
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let res = roundtrip(
            server.addr,
            format!("{method} /sdk HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(res.status, 405, "{method} /sdk: {}", res.text());
    }
    assert_eq!(get(server.addr, "/no/such/path").status, 404);
    server.stop();
}

#[test]
fn vim_service_versions() {
    let server = Server::start(&[]);
    let res = get(server.addr, "/sdk/vimServiceVersions.xml");
    let text = res.text();
    assert_eq!(res.status, 200, "{text}");
    assert!(text.contains("<namespaces version=\"1.0\">"), "{text}");
    assert!(text.contains("<name>urn:vim25</name>"), "{text}");
    assert_eq!(xml_text(&text, "version"), Some("8.0.3.0"), "{text}");
    let prior = xml_text(&text, "priorVersions").unwrap_or_default();
    for v in ["8.0.2.0", "7.0.3.0", "6.7.3", "6.5"] {
        assert!(
            prior.contains(&format!("<version>{v}</version>")),
            "priorVersions lack {v}: {text}"
        );
    }
    server.stop();
}

#[test]
fn pyvmomi_style_request() {
    let server = Server::start(&[]);
    // pyvmomi sends an empty Cookie header and versionId attributes on every parameter.
    let res = roundtrip(
        server.addr,
        &soap_request(server.addr, RETRIEVE_SERVICE_CONTENT, "Cookie: \r\n"),
    );
    assert_service_content(&res);
    server.stop();
}

/// govc's shape: unprefixed envelope, its own prefix for xsi, chunked body, no Content-Length.
#[test]
fn govc_style_chunked_request() {
    let server = Server::start(&[]);
    let envelope = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"><Body>\
        <RetrieveServiceContent xmlns=\"urn:vim25\" \
        xmlns:XMLSchema-instance=\"http://www.w3.org/2001/XMLSchema-instance\">\
        <_this type=\"ServiceInstance\">ServiceInstance</_this></RetrieveServiceContent>\
        </Body></Envelope>";
    let mut req = format!(
        "POST /sdk HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n\
         SOAPAction: urn:vim25/7.0\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr
    )
    .into_bytes();
    for piece in envelope.as_bytes().chunks(37) {
        req.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        req.extend_from_slice(piece);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_service_content(&roundtrip(server.addr, &req));
    server.stop();
}

#[test]
fn soap_level_bad_input() {
    let server = Server::start(&[]);
    let addr = server.addr;
    let raw = |body: &str| {
        format!(
            "POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    assert_fault(
        &roundtrip(addr, &raw("<soapenv:Envelope><unclosed")),
        "faultcode",
    );
    assert_fault(&roundtrip(addr, &raw("")), "faultcode");
    assert_fault(&roundtrip(addr, &raw("<foo/>")), "faultcode");
    assert_fault(
        &roundtrip(
            addr,
            &soap_request(
                addr,
                "<NoSuchMethod xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></NoSuchMethod>",
                "",
            ),
        ),
        "MethodNotFoundFault",
    );
    assert_fault(
        &roundtrip(
            addr,
            &soap_request(
                addr,
                "<CreateContainerView xmlns=\"urn:vim25\"><_this type=\"ViewManager\">ViewManager</_this>\
                 <container type=\"Folder\">group-d1</container><type>VirtualMachine</type>\
                 <recursive>true</recursive></CreateContainerView>",
                "",
            ),
        ),
        "NotAuthenticatedFault",
    );
    assert_fault(
        &roundtrip(
            addr,
            &soap_request(
                addr,
                "<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this>\
                 <userName>user</userName><password>wrong</password></Login>",
                "",
            ),
        ),
        "InvalidLoginFault",
    );
    // Still serving.
    assert_service_content(&roundtrip(
        addr,
        &soap_request(addr, RETRIEVE_SERVICE_CONTENT, ""),
    ));
    server.stop();
}

/// Sends a body of `len` bytes (Content-Length or chunked) while reading the response on
/// another thread, so an early answer is seen even if the server stops reading.
fn send_large_body(addr: SocketAddr, len: u64, chunked: bool) -> Response {
    let mut stream = connect(addr);
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .expect("write timeout");
    let mut reader = stream.try_clone().expect("clone stream");
    let answer = thread::spawn(move || read_response(&mut reader));
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {len}")
    };
    let head = format!(
        "POST /sdk HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\n{framing}\r\nConnection: close\r\n\r\n"
    );
    let block = vec![b' '; 256 << 10];
    let mut sent = 0u64;
    let mut ok = stream.write_all(head.as_bytes()).is_ok();
    while ok && sent < len {
        let n = block
            .len()
            .min(usize::try_from(len - sent).unwrap_or(usize::MAX));
        ok = if chunked {
            stream.write_all(format!("{n:x}\r\n").as_bytes()).is_ok()
                && stream.write_all(&block[..n]).is_ok()
                && stream.write_all(b"\r\n").is_ok()
        } else {
            stream.write_all(&block[..n]).is_ok()
        };
        sent += n as u64;
    }
    if ok && chunked {
        let _ = stream.write_all(b"0\r\n\r\n");
    }
    answer
        .join()
        .expect("reader thread")
        .unwrap_or_else(|e| panic!("no response to a {len}-byte body (sent {sent}): {e}"))
}

#[test]
fn oversized_bodies_are_413() {
    let server = Server::start(&[]);
    let res = send_large_body(server.addr, BODY_LIMIT_BYTES + 1, false);
    assert_eq!(
        res.status,
        413,
        "Content-Length over the bound: {}",
        res.text()
    );
    let res = send_large_body(server.addr, BODY_LIMIT_BYTES + (1 << 20), true);
    assert_eq!(
        res.status,
        413,
        "chunked body over the bound: {}",
        res.text()
    );
    // A large but acceptable body is parsed (and faults as an unknown method, not 413).
    let filler = " ".repeat(4 << 20);
    let body = format!(
        "<NoSuchMethod xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this>{filler}</NoSuchMethod>"
    );
    assert_fault(
        &roundtrip(server.addr, &soap_request(server.addr, &body, "")),
        "MethodNotFound",
    );
    assert_service_content(&roundtrip(
        server.addr,
        &soap_request(server.addr, RETRIEVE_SERVICE_CONTENT, ""),
    ));
    server.stop();
}

#[test]
fn hostile_http_does_not_hurt() {
    let server = Server::start(&[]);
    let addr = server.addr;
    // Not HTTP at all: a 400 or a closed connection, either is fine.
    let mut s = connect(addr);
    s.write_all(b"THIS IS NOT HTTP\r\n\r\n").expect("write");
    if let Ok(res) = read_response(&mut s) {
        assert!(
            (400..500).contains(&res.status),
            "garbage request got {}",
            res.status
        );
    }
    // A header flood.
    let mut s = connect(addr);
    let mut flood = b"POST /sdk HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..4000 {
        flood.extend_from_slice(format!("X-Flood-{i}: {}\r\n", "y".repeat(100)).as_bytes());
    }
    flood.extend_from_slice(b"\r\n");
    let _ = s.write_all(&flood);
    if let Ok(res) = read_response(&mut s) {
        assert!(
            (400..500).contains(&res.status),
            "header flood got {}",
            res.status
        );
    }
    // Truncated requests, closed mid-way.
    for partial in [
        &b"POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Le"[..],
        b"POST /sdk HTTP/1.1\r\nContent-Length: 500\r\n\r\n<a>",
    ] {
        let mut s = connect(addr);
        s.write_all(partial).expect("write");
        drop(s);
    }
    // A lying Content-Length shorter than the body, then a bad chunk size.
    let _ = roundtrip_lenient(addr, b"POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n<soapenv:Envelope/>");
    let _ = roundtrip_lenient(
        addr,
        b"POST /sdk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    );
    // Still serving (a hung server fails the socket read timeout of `connect`).
    assert_service_content(&roundtrip(
        addr,
        &soap_request(addr, RETRIEVE_SERVICE_CONTENT, ""),
    ));
    server.stop();
}

fn roundtrip_lenient(addr: SocketAddr, request: &[u8]) -> Option<Response> {
    let mut s = connect(addr);
    s.write_all(request).ok()?;
    read_response(&mut s).ok()
}

/// A client that sends half a request and stalls must not delay anyone else.
#[test]
fn slow_client_does_not_block_others() {
    let server = Server::start(&[]);
    let mut slow = connect(server.addr);
    slow.write_all(
        b"POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n<soapenv:Envelope",
    )
    .expect("write");
    // A request stuck behind the slow client (which never finishes) fails the socket read
    // timeout of `connect`.
    for _ in 0..5 {
        assert_service_content(&roundtrip(
            server.addr,
            &soap_request(server.addr, RETRIEVE_SERVICE_CONTENT, ""),
        ));
    }
    drop(slow);
    server.stop();
}

#[test]
fn concurrent_raw_clients() {
    let server = Server::start(&[]);
    let addr = server.addr;
    thread::scope(|scope| {
        let workers: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(move || {
                    for _ in 0..25 {
                        let res =
                            roundtrip(addr, &soap_request(addr, RETRIEVE_SERVICE_CONTENT, ""));
                        assert_eq!(res.status, 200, "{}", res.text());
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker");
        }
    });
    server.stop();
}
