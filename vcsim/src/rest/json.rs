//! The wire shapes shared by every vAPI endpoint: the request as the handlers see it
//! ([`Req`]), the vAPI standard errors ([`VapiError`]) and the two answer forms.
//!
//! vCenter serves each vAPI operation twice. The older `/rest/...` form wraps results as
//! `{"value": …}`, names the operation in `~action=` and reports errors as
//! `{"type": "com.vmware.vapi.std.errors.<kind>", "value": {"messages": […]}}`. The newer
//! `/api/...` form answers bare JSON, names the operation in `action=` and reports errors as
//! `{"error_type": "<KIND>", "messages": […]}`.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Which of vCenter's two REST surfaces a request came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `/rest/...`: `{"value": …}` results, `~action=`.
    Rest,
    /// `/api/...`: bare results, `action=`.
    Api,
}

/// The vAPI standard error kinds this emulator reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The named resource does not exist (404).
    NotFound,
    /// A resource with that identity already exists (400).
    AlreadyExists,
    /// A parameter is malformed or out of range (400).
    InvalidArgument,
    /// No valid credentials or session (401).
    Unauthenticated,
    /// The operation does not fit the resource's state (400).
    NotAllowedInCurrentState,
    /// An emulator bound is reached (the vAPI kind for a full server; 400 as vCenter maps it).
    UnableToAllocateResource,
    /// No operation answers this path and method (404).
    OperationNotFound,
    /// The resource is not of the kind the operation needs (400).
    InvalidElementType,
}

impl ErrorKind {
    /// The snake-case name (`not_found`), as the `/rest` type suffix.
    pub fn snake(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::NotAllowedInCurrentState => "not_allowed_in_current_state",
            ErrorKind::UnableToAllocateResource => "unable_to_allocate_resource",
            ErrorKind::OperationNotFound => "operation_not_found",
            ErrorKind::InvalidElementType => "invalid_element_type",
        }
    }

    /// The HTTP status vCenter answers with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::NotFound | ErrorKind::OperationNotFound => StatusCode::NOT_FOUND,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::AlreadyExists
            | ErrorKind::InvalidArgument
            | ErrorKind::NotAllowedInCurrentState
            | ErrorKind::UnableToAllocateResource
            | ErrorKind::InvalidElementType => StatusCode::BAD_REQUEST,
        }
    }
}

/// A vAPI standard error with its one message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.snake())]
pub struct VapiError {
    /// The kind.
    pub kind: ErrorKind,
    /// The default message.
    pub message: String,
}

impl VapiError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> VapiError {
        VapiError {
            kind,
            message: message.into(),
        }
    }

    /// `not_found`.
    pub fn not_found(message: impl Into<String>) -> VapiError {
        VapiError::new(ErrorKind::NotFound, message)
    }

    /// `invalid_argument`.
    pub fn invalid(message: impl Into<String>) -> VapiError {
        VapiError::new(ErrorKind::InvalidArgument, message)
    }

    /// `already_exists`.
    pub fn exists(message: impl Into<String>) -> VapiError {
        VapiError::new(ErrorKind::AlreadyExists, message)
    }

    /// `unable_to_allocate_resource` for a full emulator collection.
    pub fn full(what: &str, cap: usize) -> VapiError {
        VapiError::new(
            ErrorKind::UnableToAllocateResource,
            format!("the emulator keeps at most {cap} {what}"),
        )
    }

    /// The error as a response in `form`.
    pub fn into_response(self, form: Form) -> Response {
        let message = json!({
            "args": [],
            "default_message": self.message,
            "id": format!("com.vmware.vapi.std.errors.{}", self.kind.snake()),
        });
        let body = match form {
            Form::Rest => json!({
                "type": format!("com.vmware.vapi.std.errors.{}", self.kind.snake()),
                "value": { "messages": [message] },
            }),
            Form::Api => json!({
                "error_type": self.kind.snake().to_ascii_uppercase(),
                "messages": [message],
            }),
        };
        json_response(self.kind.status(), &body)
    }
}

/// What a handler answers.
#[derive(Debug)]
pub enum Reply {
    /// A result (200).
    Value(Value),
    /// A created resource's identifier (200 on `/rest`, 201 on `/api`).
    Created(Value),
    /// No result (200 with no body on `/rest`, 204 on `/api`).
    Empty,
    /// Raw bytes (file downloads).
    Bytes(Vec<u8>),
}

impl Reply {
    /// The reply as a response in `form`.
    pub fn into_response(self, form: Form) -> Response {
        match (self, form) {
            (Reply::Value(v), Form::Rest) | (Reply::Created(v), Form::Rest) => {
                json_response(StatusCode::OK, &json!({ "value": v }))
            }
            (Reply::Value(v), Form::Api) => json_response(StatusCode::OK, &v),
            (Reply::Created(v), Form::Api) => json_response(StatusCode::CREATED, &v),
            (Reply::Empty, Form::Rest) => StatusCode::OK.into_response(),
            (Reply::Empty, Form::Api) => StatusCode::NO_CONTENT.into_response(),
            (Reply::Bytes(b), _) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/octet-stream")],
                b,
            )
                .into_response(),
        }
    }
}

/// A JSON body with its content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A request as the vAPI handlers see it.
#[derive(Debug)]
pub struct Req<'a> {
    /// `/rest` or `/api`.
    pub form: Form,
    /// The HTTP method.
    pub method: Method,
    /// Path segments after the `/rest` or `/api` prefix, percent-decoded.
    pub segs: Vec<String>,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// The request body.
    pub body: &'a [u8],
    /// `scheme://host:port` as the client addressed us (for transfer URLs).
    pub base_url: String,
}

impl Req<'_> {
    /// The operation named in the query (`~action=` on `/rest`, `action=` on `/api`; either
    /// is accepted on both, as clients mix them).
    pub fn action(&self) -> Option<&str> {
        self.param("~action").or_else(|| self.param("action"))
    }

    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a list filter `name`, in all the spellings clients use:
    /// `names=a&names=b`, `names=a,b`, `filter.names=a`, `filter.names.1=a`.
    pub fn list_param(&self, name: &str) -> Vec<String> {
        let filter = format!("filter.{name}");
        let indexed = format!("filter.{name}.");
        self.query
            .iter()
            .filter(|(k, _)| {
                k == name
                    || *k == filter
                    || k.strip_prefix(&indexed)
                        .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()))
            })
            .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The body as JSON; an empty body or `null` reads as `{}`.
    pub fn json_value(&self) -> Result<Value, VapiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Null) => Ok(json!({})),
            Ok(v) => Ok(v),
            Err(e) => Err(VapiError::invalid(format!(
                "the request body is not valid JSON: {e}"
            ))),
        }
    }

    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, VapiError> {
        decode(self.json_value()?)
    }

    /// The structure a `/rest` request wraps in `wrapper` (`create_spec`, `spec`, …); an
    /// `/api` request may send it bare, as vCenter's `/api` does.
    pub fn spec<T: DeserializeOwned>(&self, wrapper: &str) -> Result<T, VapiError> {
        let mut v = self.json_value()?;
        match v.get_mut(wrapper).map(Value::take) {
            Some(inner) => decode(inner),
            None if self.form == Form::Api => decode(v),
            None => Err(VapiError::invalid(format!(
                "the request body lacks '{wrapper}'"
            ))),
        }
    }
}

/// `v` as `T`, or `invalid_argument` naming what does not fit.
pub fn decode<T: DeserializeOwned>(v: Value) -> Result<T, VapiError> {
    serde_json::from_value(v).map_err(|e| VapiError::invalid(format!("invalid request: {e}")))
}

/// `s` with `%XX` escapes (and `+` in queries) decoded; invalid escapes stay as they are.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).and_then(|c| hex(*c)),
                    b.get(i + 2).and_then(|c| hex(*c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query string as decoded pairs (at most [`MAX_QUERY_PAIRS`]).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .take(MAX_QUERY_PAIRS)
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Most query parameters read from one request.
pub const MAX_QUERY_PAIRS: usize = 256;

/// A standard base64 decoder for HTTP Basic credentials (no crate needed for 20 lines).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_percent() {
        assert_eq!(
            base64_decode("dXNlcjpwYXNz").as_deref(),
            Some(&b"user:pass"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("*"), None);
        assert_eq!(percent_decode("a%20b+c%zz%", true), "a b c%zz%");
        assert_eq!(percent_decode("id:urn%3Ax", false), "id:urn:x");
    }

    #[test]
    fn list_params_in_every_spelling() {
        let req = Req {
            form: Form::Api,
            method: Method::GET,
            segs: vec![],
            query: parse_query("names=a,b&filter.names.1=c&filter.names=d&namesx=e"),
            body: b"",
            base_url: String::new(),
        };
        assert_eq!(req.list_param("names"), ["a", "b", "c", "d"]);
    }

    #[test]
    fn error_forms() {
        let e = VapiError::not_found("no such tag");
        assert_eq!(e.kind.status(), StatusCode::NOT_FOUND);
        let r = e.clone().into_response(Form::Rest);
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
