//! The vAPI REST endpoints (`/rest/...` and `/api/...`): sessions with the SOAP login's
//! credentials, tagging, content libraries and the vCenter inventory resources.
//!
//! Core types: [`VapiState`] (the emulator's REST-side state) and [`routes`] (the axum
//! routes merged into the server's router). One handler per prefix reads the request into a
//! [`json::Req`], authenticates it ([`session::authenticate`]) and dispatches on the service
//! path, the URL path with `/rest`'s `com/vmware/` prefix and `id:` markers removed, so
//! `/rest/com/vmware/cis/tagging/tag/id:X` and `/api/cis/tagging/tag/X` reach one handler.
//! Everything runs under the emulator lock and never awaits inside it. docs/vapi.md lists
//! what is served.

pub mod inventory;
pub mod json;
pub mod library;
pub mod session;
pub mod tagging;

use crate::server::Vcsim;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::Response;
use axum::routing::any;
use json::{Form, Reply, Req, VapiError};
use session::Credentials;

/// Largest JSON request body accepted on the vAPI endpoints (vAPI specs are small).
pub const MAX_JSON_BODY_BYTES: usize = 1024 * 1024;

/// The header carrying a vAPI session id.
pub const SESSION_HEADER: &str = "vmware-api-session-id";

/// REST-side state kept in the emulator (sessions, tagging, content libraries).
#[derive(Debug, Default)]
pub struct VapiState {
    /// vAPI sessions.
    pub sessions: session::VapiSessions,
    /// Categories, tags and their attachments.
    pub tagging: tagging::Tagging,
    /// Content libraries, items and transfer sessions.
    pub library: library::Libraries,
}

/// The REST routes, merged into [`Vcsim::router`].
pub fn routes() -> Router<Vcsim> {
    Router::new()
        .route(
            "/rest/{*path}",
            any(handler).layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES)),
        )
        .route(
            "/api/{*path}",
            any(handler).layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES)),
        )
        .route(
            "/cls/data/{session}/{name}",
            any(library::transfer).layer(DefaultBodyLimit::max(library::MAX_FILE_BYTES)),
        )
}

/// Both prefixes: the form follows from which one the path starts with.
async fn handler(
    State(vc): State<Vcsim>,
    method: Method,
    uri: Uri,
    conn: Option<axum::Extension<crate::http::ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = if uri.path().starts_with("/api/") {
        Form::Api
    } else {
        Form::Rest
    };
    serve(&vc, form, method, &uri, conn, &headers, &body)
}

/// `scheme://host` as the client addressed us.
pub fn base_url(headers: &HeaderMap, tls: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .unwrap_or("localhost");
    format!("{}://{host}", if tls { "https" } else { "http" })
}

/// The caller's credentials from the request headers.
pub fn credentials(headers: &HeaderMap) -> Credentials {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest)
        })
        .and_then(json::base64_decode)
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (u, p) = s.split_once(':')?;
            Some((u.to_owned(), p.to_owned()))
        });
    let cookies: Vec<&str> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let cookie_api_id = cookies.iter().find_map(|c| {
        c.split(';').find_map(|p| {
            p.trim()
                .strip_prefix("vmware-api-session-id=")
                .map(|v| v.trim_matches('"').to_owned())
        })
    });
    let session_id = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(cookie_api_id)
        .filter(|s| !s.is_empty());
    let soap_key = cookies
        .iter()
        .find_map(|c| crate::session::cookie_session_key(c));
    Credentials {
        basic,
        session_id,
        soap_key,
    }
}

fn serve(
    vc: &Vcsim,
    form: Form,
    method: Method,
    uri: &Uri,
    conn: Option<axum::Extension<crate::http::ConnInfo>>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let tls = conn.as_ref().is_some_and(|c| c.tls);
    let prefix = match form {
        Form::Rest => "/rest",
        Form::Api => "/api",
    };
    let path = uri.path().strip_prefix(prefix).unwrap_or("");
    let req = Req {
        form,
        method,
        segs: path
            .split('/')
            .filter(|s| !s.is_empty())
            .take(MAX_SEGMENTS)
            .map(|s| json::percent_decode(s, false))
            .collect(),
        query: json::parse_query(uri.query().unwrap_or("")),
        body,
        base_url: base_url(headers, tls),
    };
    let creds = credentials(headers);
    let result = vc.with(|emu| dispatch(emu, &req, &creds));
    match result {
        Ok(Reply::Created(id)) if session::is_session_path(form, &service_path(&req)) => {
            let mut r = Reply::Created(id.clone()).into_response(form);
            let secure = if tls { " Secure;" } else { "" };
            let cookie = format!(
                "{SESSION_HEADER}={}; Path={prefix}; HttpOnly;{secure}",
                id.as_str().unwrap_or("")
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(reply) => reply.into_response(form),
        Err(e) => e.into_response(form),
    }
}

/// Most path segments read from one request (no vAPI path has more than a dozen).
const MAX_SEGMENTS: usize = 32;

/// The service path: `/rest`'s `com/vmware/` prefix dropped and `id:` markers removed.
pub fn service_path<'r>(req: &'r Req<'_>) -> Vec<&'r str> {
    let mut segs: Vec<&str> = req
        .segs
        .iter()
        .map(|s| s.strip_prefix("id:").unwrap_or(s))
        .collect();
    if req.form == Form::Rest && segs.starts_with(&["com", "vmware"]) {
        segs.drain(..2);
    }
    segs
}

fn dispatch(
    emu: &mut crate::emulator::Emulator,
    req: &Req<'_>,
    creds: &Credentials,
) -> Result<Reply, VapiError> {
    let svc = service_path(req);
    if session::is_login(req, &svc) {
        return session::login(emu, creds).map(|id| Reply::Created(id.into()));
    }
    let caller = session::authenticate(emu, creds)?;
    match svc.as_slice() {
        s if session::is_session_path(req.form, s) => session::handle(emu, req, &caller),
        ["cis", "tagging", rest @ ..] => tagging::handle(emu, req, rest),
        ["content", rest @ ..] => library::handle(emu, req, rest, &caller),
        ["vcenter", "ovf", "library-item", rest @ ..] => {
            library::ovf::handle(emu, req, rest, &caller)
        }
        ["vcenter", "vm-template", "library-items", rest @ ..] => {
            library::vmtx::handle(emu, req, rest, &caller)
        }
        ["vcenter", rest @ ..] => inventory::handle(emu, req, rest),
        ["about"] | ["appliance", "system", "version"] => inventory::about(emu, req),
        _ => Err(no_operation(req)),
    }
}

/// The error for a path or method no operation answers.
pub fn no_operation(req: &Req<'_>) -> VapiError {
    VapiError::new(
        json::ErrorKind::OperationNotFound,
        format!(
            "no operation {} /{}{}",
            req.method,
            req.segs.join("/"),
            req.action()
                .map(|a| format!("?action={a}"))
                .unwrap_or_default()
        ),
    )
}

/// A virtual-clock time as vAPI writes it (RFC 3339, UTC).
pub fn time(ms: i64) -> String {
    crate::vmodl::format_datetime(ms)
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::test_support::{login, send, sim};
    use serde_json::json;

    /// Golden answers in both forms: a `/rest` category and an `/api` inventory list.
    #[tokio::test]
    async fn wire_snapshots() {
        let vc = sim();
        let s = login(&vc).await;
        let s = Some(s.as_str());
        let spec = json!({"create_spec": {"name": "env", "description": "where",
            "cardinality": "SINGLE", "associable_types": ["VirtualMachine"]}});
        let a = send(
            &vc,
            "POST",
            "/rest/com/vmware/cis/tagging/category",
            s,
            None,
            Some(spec),
        )
        .await;
        let id = a.json["value"].as_str().expect("id").to_owned();
        let path = format!("/rest/com/vmware/cis/tagging/category/id:{id}");
        let a = send(&vc, "GET", &path, s, None, None).await;
        insta::assert_snapshot!("rest_category", a.text);
        let a = send(&vc, "GET", "/api/vcenter/host", s, None, None).await;
        insta::assert_snapshot!("api_vcenter_host", a.text);
        let a = send(&vc, "GET", "/api/vcenter/vm/vm-nope", s, None, None).await;
        insta::assert_snapshot!("api_not_found", a.text);
    }

    #[tokio::test]
    async fn bodies_are_bounded_and_bad_json_is_invalid_argument() {
        use super::test_support::send_raw;
        use axum::http::StatusCode;
        let vc = sim();
        let s = login(&vc).await;
        let s = Some(s.as_str());
        let big = vec![b' '; super::MAX_JSON_BODY_BYTES + 1];
        let a = send_raw(&vc, "POST", "/api/cis/tagging/category", s, None, big).await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
        let a = send_raw(
            &vc,
            "POST",
            "/api/cis/tagging/category",
            s,
            None,
            b"{".to_vec(),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert_eq!(a.json["error_type"], "INVALID_ARGUMENT");
        let a = send_raw(
            &vc,
            "GET",
            "/rest/com/vmware/nothing/here",
            s,
            None,
            Vec::new(),
        )
        .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert_eq!(
            a.json["type"],
            "com.vmware.vapi.std.errors.operation_not_found"
        );
    }
}
