//! The console's HTTP edge: the page and its assets, the state and window reads, the event
//! stream, and the controls — each POST body parsed into a typed [`Control`] before the demo
//! applies it. Errors are `{"message": …}` with a 4xx for the caller's mistakes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::assets;
use crate::controls::{
    self, ApiError, ClockAction, Control, DockerRequest, PoolPatch, PowerRequest,
};
use crate::demo::Shared;
use crate::hub::HubEvent;

/// The largest control body (a pool patch is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The console's routes over `shared`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page(assets::INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/assets/console.js",
            get(|| async { page(assets::CONSOLE_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/console-draw.js",
            get(|| async { page(assets::CONSOLE_DRAW_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/console.css",
            get(|| async { page(assets::CONSOLE_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/state", get(state))
        .route("/api/window", get(window))
        .route("/api/events", get(events))
        .route("/api/clock", post(clock))
        .route("/api/pools/{vch}", post(pool))
        .route("/api/vms/{vm}/power", post(power))
        .route("/api/docker/{vch}", post(docker))
        .fallback(|| async { error(&ApiError::not_found("no such page or API")) })
        .method_not_allowed_fallback(|| async {
            error(&ApiError {
                status: 405,
                message: "that method is not served here (reads are GET, controls POST)".into(),
            })
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec());
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

fn error(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(status, &serde_json::json!({ "message": e.message }))
}

fn answer(r: Result<serde_json::Value, ApiError>) -> Response {
    match r {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

async fn state(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &s.state())
}

async fn window(State(s): State<Arc<Shared>>) -> Response {
    #[derive(serde::Serialize)]
    struct WindowBody<'a> {
        samples: Vec<&'a crate::feed::Sample>,
    }
    let samples = s.window();
    let body = WindowBody {
        samples: samples.iter().map(AsRef::as_ref).collect(),
    };
    json_response(StatusCode::OK, &body)
}

async fn events(State(s): State<Arc<Shared>>) -> Response {
    let first = HubEvent {
        name: "state",
        data: serde_json::to_string(&s.state()).unwrap_or_else(|_| "{}".into()),
    };
    match s.hub.subscribe(s.max_browsers, first) {
        Some(stream) => Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response(),
        None => error(&ApiError {
            status: 503,
            message: format!(
                "{} consoles are open, the most this demo serves; close one and reload",
                s.max_browsers
            ),
        }),
    }
}

/// Applies a control parsed from `body`; a client that goes away mid-request does not
/// cancel it half-way (it runs to its end on its own task).
async fn run(s: Arc<Shared>, control: Result<Control, ApiError>) -> Response {
    let control = match control {
        Ok(c) => c,
        Err(e) => return error(&e),
    };
    let task = tokio::spawn(async move { s.apply(control).await });
    match task.await {
        Ok(r) => answer(r),
        Err(_) => error(&ApiError {
            status: 500,
            message: "the control failed inside the console".into(),
        }),
    }
}

/// A body the HTTP layer refused (too large, cut off by a client that went away, too slow)
/// as the API's `{"message"}` error with the layer's status.
fn body_of(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|r| ApiError {
        status: r.status().as_u16(),
        message: format!("the request body could not be read: {}", r.body_text()),
    })
}

/// A path segment the HTTP layer refused (not UTF-8 once decoded, say).
fn segment(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(v)| v).map_err(|r| ApiError {
        status: r.status().as_u16(),
        message: format!("bad path: {}", r.body_text()),
    })
}

async fn clock(State(s): State<Arc<Shared>>, body: Result<Bytes, BytesRejection>) -> Response {
    let control = body_of(body)
        .and_then(|b| controls::parse_body::<ClockAction>(&b))
        .map(Control::Clock);
    run(s, control).await
}

async fn pool(
    State(s): State<Arc<Shared>>,
    vch: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let control = segment(vch).and_then(|vch| {
        let patch = controls::parse_body::<PoolPatch>(&body_of(body)?)?;
        Ok(Control::Pool { vch, patch })
    });
    run(s, control).await
}

async fn power(
    State(s): State<Arc<Shared>>,
    vm: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let control = segment(vm).and_then(|vm| {
        let r = controls::parse_body::<PowerRequest>(&body_of(body)?)?;
        Ok(Control::Power { vm, state: r.state })
    });
    run(s, control).await
}

async fn docker(
    State(s): State<Arc<Shared>>,
    vch: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let control = segment(vch).and_then(|vch| {
        let r = controls::parse_body::<DockerRequest>(&body_of(body)?)?;
        Ok(Control::Docker {
            vch,
            action: r.action,
        })
    });
    run(s, control).await
}
