//! In-process requests against the full router, for the vAPI unit tests.

use crate::server::Vcsim;
use crate::{Config, Emulator};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// An emulator with the default model.
pub fn sim() -> Vcsim {
    Vcsim::new(Emulator::new(Config::default()).expect("default inventory builds"))
}

/// An answer: status, body text, and the body as JSON when it is JSON.
pub struct Answer {
    pub status: StatusCode,
    pub text: String,
    pub json: Value,
}

/// Sends `method path` with an optional session id, Basic credentials and JSON body.
pub async fn send(
    vc: &Vcsim,
    method: &str,
    path: &str,
    session: Option<&str>,
    basic: Option<&str>,
    body: Option<Value>,
) -> Answer {
    send_raw(
        vc,
        method,
        path,
        session,
        basic,
        body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    )
    .await
}

/// [`send`] with raw body bytes.
pub async fn send_raw(
    vc: &Vcsim,
    method: &str,
    path: &str,
    session: Option<&str>,
    basic: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8989");
    if let Some(s) = session {
        req = req.header(super::SESSION_HEADER, s);
    }
    if let Some(b) = basic {
        req = req.header(header::AUTHORIZATION, format!("Basic {b}"));
    }
    let resp = vc
        .router()
        .oneshot(req.body(Body::from(body)).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, text, json }
}

/// `user:pass` in base64.
pub const USER_PASS: &str = "dXNlcjpwYXNz";

/// Logs in over `/rest` and returns the session id.
pub async fn login(vc: &Vcsim) -> String {
    let a = send(
        vc,
        "POST",
        "/rest/com/vmware/cis/session",
        None,
        Some(USER_PASS),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json["value"].as_str().expect("session id").to_owned()
}
