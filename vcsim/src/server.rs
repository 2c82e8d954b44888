//! The HTTP(S) front: `/sdk` (SOAP), `/sdk/vimServiceVersions.xml`, datastore `/folder`
//! access, `/about` and `/debug/vars` (as govmomi's vcsim has them, see [`front`]). Servers
//! take an already-bound listener and a shutdown future.
//!
//! [`Vcsim`] is the shareable handle: the emulator behind one lock (never held across an
//! await), plus a change signal that wakes `WaitForUpdates` callers.

use crate::emulator::Emulator;
use crate::methods::{self, CallContext, Outcome};
use crate::session::cookie_session_key;
use crate::soap;
use crate::vmodl::{Fault, Value};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub mod front;
mod nfc;
pub mod pace;
pub use front::{Delay, Front, SoapTrace};

/// Largest SOAP request body accepted; larger ones get 413 (vCenter's own limit is in this
/// range, and no vim25 call needs more).
pub const MAX_SOAP_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Largest datastore file accepted over `/folder`.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Most files kept on the emulated datastores.
pub const MAX_FILES: usize = 100_000;
/// Most bytes kept on the emulated datastores, all files together.
pub const MAX_TOTAL_FILE_BYTES: usize = 1 << 30;

struct Shared {
    emu: Mutex<Emulator>,
    changed: watch::Sender<u64>,
    /// Tracing and delays (`vicbed vcsim`), set at most once.
    front: OnceLock<Front>,
    /// SOAP requests received (for `/debug/vars`).
    soap_requests: AtomicU64,
    /// False while [`Vcsim::spawn_prefill`]'s thread holds the emulator: the clock's driver
    /// waits for it without blocking its thread (on a one-thread runtime, blocking on the
    /// lock would hold up the listener and the export line too).
    prefilled: watch::Sender<bool>,
}

/// A shareable handle to a running emulator.
#[derive(Clone)]
pub struct Vcsim {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Vcsim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vcsim")
    }
}

impl Vcsim {
    /// Wraps an emulator.
    pub fn new(emu: Emulator) -> Vcsim {
        let (changed, _) = watch::channel(0);
        Vcsim {
            shared: Arc::new(Shared {
                emu: Mutex::new(emu),
                changed,
                front: OnceLock::new(),
                soap_requests: AtomicU64::new(0),
                prefilled: watch::channel(true).0,
            }),
        }
    }

    /// Sets the SOAP trace and delays; false (and nothing changes) when already set.
    pub fn set_front(&self, front: Front) -> bool {
        self.shared.front.set(front).is_ok()
    }

    fn lock(&self) -> MutexGuard<'_, Emulator> {
        // A panic while holding the lock is a bug; the state is still the best we have.
        self.shared.emu.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the emulator, then wakes property-collector waiters.
    pub fn with<R>(&self, f: impl FnOnce(&mut Emulator) -> R) -> R {
        let r = {
            let mut emu = self.lock();
            let r = f(&mut emu);
            // Event history collectors' latestPage follows every change, as vCenter's does.
            methods::refresh_event_collectors(&mut emu);
            r
        };
        self.notify();
        r
    }

    /// Advances virtual time by `delta_ms` (stepping the model each 20 s).
    pub fn advance(&self, delta_ms: i64) -> usize {
        self.with(|e| e.advance(delta_ms))
    }

    fn notify(&self) {
        self.shared.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Drives virtual time from the wall clock at `speed` × real time, and applies effects
    /// guests post, until the returned task is aborted. `vicbed serve` uses this; scenarios
    /// and tests advance the clock explicitly. Any positive speed runs (`vicbed serve` takes
    /// speeds above [`pace::MAX_SPEED`]); one that is not a positive number stands still.
    pub fn spawn_clock(&self, speed: f64) -> tokio::task::JoinHandle<()> {
        // Nothing reads these controls' time but the driver, which publishes it after its
        // first advance: the emulator is not locked here (a prefill may hold it).
        self.spawn_paced_clock(pace::ClockControl::fixed(speed, 0))
    }

    /// Gives the emulator `past_s` seconds of history ([`Emulator::prefill_history`]) on a
    /// thread of its own, holding the emulator all the while: every request and clock tick
    /// waits until the past is complete, so none sees it half-built, while the caller goes
    /// on to bind, make its certificate and announce its URL. Returns once the thread holds
    /// the emulator; the handle yields the number of model steps.
    pub fn spawn_prefill(&self, past_s: i64) -> std::thread::JoinHandle<usize> {
        let me = self.clone();
        let (held_tx, held_rx) = std::sync::mpsc::sync_channel::<()>(1);
        self.shared.prefilled.send_replace(false);
        let handle = std::thread::spawn(move || {
            // Marks the prefill done however the thread ends: a panic must not leave the
            // clock waiting for it forever.
            struct Done(Vcsim);
            impl Drop for Done {
                fn drop(&mut self) {
                    self.0.shared.prefilled.send_replace(true);
                    self.0.notify();
                }
            }
            let done = Done(me);
            let mut emu = done.0.lock();
            let _ = held_tx.send(());
            emu.prefill_history(past_s)
        });
        // The sender is dropped when the thread ends, so this returns even if it fails.
        let _ = held_rx.recv();
        handle
    }

    /// As [`Vcsim::spawn_clock`], with speed, pause and steps from `control` (the live
    /// console's knobs); the task publishes virtual time after every advance. The wall
    /// time before the task starts is not run.
    pub fn spawn_paced_clock(
        &self,
        control: Arc<pace::ClockControl>,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        control.start();
        tokio::spawn(async move {
            // Taken here, not before spawning, once a prefill has let go of the emulator.
            let _ = me.shared.prefilled.subscribe().wait_for(|done| *done).await;
            let handle = me.lock().guest_handle.clone();
            let tick = Duration::from_millis(50);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(tick) => {}
                    _ = handle.posted() => {}
                    _ = control.changed() => {}
                }
                // The controls account each stretch of wall time at the pace then in force
                // (see `pace`): never negative, bounded by the catch-up cap and one hour of
                // steps.
                let delta_ms = control.take();
                let now_ms = me.with(|e| {
                    e.advance(delta_ms);
                    e.clock.now_ms()
                });
                control.publish(now_ms);
            }
        })
    }

    /// The HTTP router (exposed for in-process tests).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/sdk", any(sdk))
            .route("/sdk/vimService", any(sdk))
            .route("/sdk/vimServiceVersions.xml", get(service_versions))
            .route("/folder/{*path}", any(folder))
            .route("/about", get(about))
            .route("/debug/vars", get(debug_vars))
            .merge(crate::rest::routes())
            .merge(crate::endpoints::routes())
            .merge(nfc::routes())
            .layer(DefaultBodyLimit::max(MAX_SOAP_BODY_BYTES))
            .with_state(self.clone())
    }

    /// Serves HTTP, or HTTPS with `tls`, on `listener` until `shutdown` resolves.
    pub async fn serve(
        &self,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        crate::http::serve(listener, self.router(), tls, shutdown).await
    }

    /// [`Vcsim::serve`] with explicit connection bounds.
    pub async fn serve_with_limits(
        &self,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        limits: crate::http::Limits,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        crate::http::serve_with_limits(listener, self.router(), tls, limits, shutdown).await
    }
}

fn xml_response(status: StatusCode, body: String, cookie: Option<String>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

fn fault_response(f: &Fault) -> Response {
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, soap::fault(f), None)
}

async fn sdk(
    State(vc): State<Vcsim>,
    method: HttpMethod,
    axum::Extension(conn): axum::Extension<crate::http::ConnInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let peer = conn.peer;
    vc.shared.soap_requests.fetch_add(1, Ordering::Relaxed);
    let front = vc.shared.front.get();
    let trace = front.and_then(|f| f.trace.as_ref());
    if let Some(t) = trace {
        t.request(&body);
    }
    if method != HttpMethod::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "the SDK endpoint accepts POST only\n",
        )
            .into_response();
    }
    // Parsing and the per-request bounds need no emulator state: they run before the lock
    // is taken, and a large body is parsed on the blocking pool so it holds up neither the
    // emulator nor the async workers that serve other clients.
    let call = if body.len() > BLOCKING_PARSE_BYTES {
        match tokio::task::spawn_blocking(move || read_checked_call(&body)).await {
            Ok(r) => r,
            Err(_) => Err(Fault::invalid_request("the request could not be parsed")),
        }
    } else {
        read_checked_call(&body)
    };
    let call = match call {
        Ok(c) => c,
        Err(f) => return traced(trace, fault_response(&f)).await,
    };
    if let Some(d) = front.map(|f| f.delay.for_method(&call.method))
        && !d.is_zero()
    {
        tokio::time::sleep(d).await;
    }
    let cookie_key = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(cookie_session_key);
    let mut ctx = CallContext {
        session: None,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        peer: peer.ip().to_string(),
        tls: conn.tls,
        set_cookie: None,
    };
    let outcome = vc.with(|emu| {
        // The cookie is the secret; the call runs as the session's public key.
        ctx.session = cookie_key
            .as_deref()
            .and_then(|c| emu.sessions.key_of_cookie(c))
            .map(str::to_owned);
        methods::dispatch_checked(emu, &mut ctx, &call)
    });
    let result = match outcome {
        Outcome::Done(r) => r,
        Outcome::Wait(req) => wait(&vc, req).await,
    };
    let tls = conn.tls;
    let cookie = ctx.set_cookie.map(|k| {
        let secure = if tls { " Secure;" } else { "" };
        format!("vmware_soap_session=\"{k}\"; Path=/; HttpOnly;{secure}")
    });
    let response = match result {
        Ok(v) => xml_response(
            StatusCode::OK,
            soap::response(&call.method, v.as_ref()),
            cookie,
        ),
        Err(f) => fault_response(&f),
    };
    traced(trace, response).await
}

/// Writes a SOAP response's body to the trace, if any (bodies here are whole strings).
async fn traced(trace: Option<&SoapTrace>, response: Response) -> Response {
    let Some(t) = trace else { return response };
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    t.response(&bytes);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Bodies larger than this are parsed on the blocking thread pool.
const BLOCKING_PARSE_BYTES: usize = 64 * 1024;

/// A request body as a call that passed [`methods::precheck`], or the fault to answer.
fn read_checked_call(body: &[u8]) -> Result<soap::Call, Fault> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Fault::invalid_request("the request body is not UTF-8"))?;
    let call = soap::read_call(text).map_err(|e| Fault::invalid_request(e.to_string()))?;
    methods::precheck(&call)?;
    Ok(call)
}

async fn wait(vc: &Vcsim, req: methods::WaitRequest) -> Result<Option<Value>, Fault> {
    let deadline = req
        .max_wait_ms
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    let mut rx = vc.shared.changed.subscribe();
    // Bounded: each turn either answers, or waits for a change or the deadline.
    loop {
        rx.borrow_and_update();
        // Polling only updates this waiter's own filter state: it must not wake the other
        // waiters (or itself), so the lock is taken without a change notification.
        if let Some(r) = methods::poll_wait(&mut vc.lock(), &req) {
            return r;
        }
        match deadline {
            Some(d) => {
                if tokio::time::timeout_at(d, rx.changed()).await.is_err() {
                    return Ok(None);
                }
            }
            None => {
                if rx.changed().await.is_err() {
                    return Err(Fault::request_canceled());
                }
            }
        }
    }
}

async fn service_versions(State(vc): State<Vcsim>) -> Response {
    let api = vc.with(|e| e.config.api_version.clone());
    let prior = [
        "8.0.2.0", "8.0.1.0", "8.0.0.0", "7.0.3.0", "7.0.2.0", "7.0.1.0", "7.0.0.0", "6.7.3",
        "6.7.2", "6.7.1", "6.7", "6.5", "6.0", "5.5", "5.1", "5.0", "4.1", "4.0",
    ];
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<namespaces version=\"1.0\">\n <namespace>\n  <name>urn:vim25</name>\n",
    );
    body.push_str(&format!("  <version>{api}</version>\n  <priorVersions>\n"));
    for p in prior.iter().filter(|p| **p != api) {
        body.push_str(&format!("   <version>{p}</version>\n"));
    }
    body.push_str("  </priorVersions>\n </namespace>\n</namespaces>\n");
    xml_response(StatusCode::OK, body, None)
}

async fn about(State(vc): State<Vcsim>) -> Response {
    let body = front::about_json(&vc.lock());
    json_response(&body)
}

async fn debug_vars(State(vc): State<Vcsim>) -> Response {
    let counters = front::FrontCounters {
        soap_requests: vc.shared.soap_requests.load(Ordering::Relaxed),
    };
    let body = front::debug_vars_json(&vc.lock(), counters);
    json_response(&body)
}

fn json_response(body: &serde_json::Value) -> Response {
    let text = serde_json::to_string_pretty(body).unwrap_or_else(|_| "{}".into());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text + "\n",
    )
        .into_response()
}

async fn folder(
    State(vc): State<Vcsim>,
    method: HttpMethod,
    Path(path): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(cookie_session_key);
    let Some(ds) = q.get("dsName").cloned() else {
        return (StatusCode::BAD_REQUEST, "dsName is required\n").into_response();
    };
    vc.with(|emu| {
        if key.is_none_or(|k| emu.sessions.by_cookie(&k).is_none()) {
            return (
                StatusCode::UNAUTHORIZED,
                "no valid vmware_soap_session cookie\n",
            )
                .into_response();
        }
        if !emu
            .inv
            .iter()
            .any(|o| o.moref.ty == "Datastore" && o.name() == ds)
        {
            return (StatusCode::NOT_FOUND, "no such datastore\n").into_response();
        }
        let file = methods::datastore_key(&ds, path.trim_start_matches('/'));
        match method {
            HttpMethod::GET | HttpMethod::HEAD => match emu.files.get(&file) {
                Some(b) => (StatusCode::OK, b.clone()).into_response(),
                None => (StatusCode::NOT_FOUND, "file not found\n").into_response(),
            },
            HttpMethod::PUT | HttpMethod::POST => {
                if body.len() > MAX_FILE_BYTES {
                    return StatusCode::PAYLOAD_TOO_LARGE.into_response();
                }
                let stored: usize = emu
                    .files
                    .iter()
                    .filter(|(k, _)| **k != file)
                    .map(|(_, v)| v.len())
                    .sum();
                if (!emu.files.contains_key(&file) && emu.files.len() >= MAX_FILES)
                    || stored + body.len() > MAX_TOTAL_FILE_BYTES
                {
                    return (
                        StatusCode::INSUFFICIENT_STORAGE,
                        "the emulator's datastore capacity is reached\n",
                    )
                        .into_response();
                }
                let existed = emu.files.insert(file.clone(), body.to_vec()).is_some();
                // `datastore.ls -l` (SearchDatastore's `modification`) shows the upload's time.
                methods::touch_file(emu, &file);
                if existed {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                }
                .into_response()
            }
            HttpMethod::DELETE => match emu.files.remove(&file) {
                Some(_) => {
                    emu.file_modified_ms.remove(&file);
                    StatusCode::NO_CONTENT.into_response()
                }
                None => StatusCode::NOT_FOUND.into_response(),
            },
            _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        }
    })
}
