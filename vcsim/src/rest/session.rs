//! vAPI sessions: `POST /rest/com/vmware/cis/session` (and `/api/session`) with HTTP Basic
//! credentials makes a session whose id the client then sends as `vmware-api-session-id`.
//!
//! Ids come from the OS CSPRNG ([`crate::secret`]), as SOAP session keys do. Sessions are
//! bounded ([`MAX_VAPI_SESSIONS`]; at the bound the least recently used one ends, as a SOAP
//! Login does) and end after the server's idle timeout on the wall clock
//! ([`crate::Config::session_idle_timeout_s`]), like vCenter's.

use super::json::{ErrorKind, Form, Reply, Req, VapiError};
use crate::emulator::Emulator;
use axum::http::Method;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Most vAPI sessions at once; a login beyond it ends the least recently used one.
pub const MAX_VAPI_SESSIONS: usize = 1024;

/// One vAPI session.
#[derive(Clone, Debug)]
pub struct VapiSession {
    /// The user name.
    pub user: String,
    /// Creation (virtual clock, ms).
    pub created_ms: i64,
    /// Last call (virtual clock, ms).
    pub last_ms: i64,
    /// Last call (wall clock), for the idle timeout.
    pub last_at: Instant,
}

/// All vAPI sessions by id.
#[derive(Debug, Default)]
pub struct VapiSessions {
    by_id: BTreeMap<String, VapiSession>,
}

impl VapiSessions {
    /// How many sessions exist.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// A session by id.
    pub fn get(&self, id: &str) -> Option<&VapiSession> {
        self.by_id.get(id)
    }

    /// Adds a session for `user`, ending the least recently used one at the bound.
    pub fn create(&mut self, user: &str, now_ms: i64, now: Instant) -> Result<String, VapiError> {
        let id = crate::secret::session_key()
            .map_err(|e| VapiError::new(ErrorKind::UnableToAllocateResource, e.to_string()))?;
        if self.by_id.len() >= MAX_VAPI_SESSIONS
            && let Some(oldest) = self
                .by_id
                .iter()
                .min_by_key(|(k, s)| (s.last_at, k.as_str()))
                .map(|(k, _)| k.clone())
        {
            self.by_id.remove(&oldest);
        }
        self.by_id.insert(
            id.clone(),
            VapiSession {
                user: user.to_owned(),
                created_ms: now_ms,
                last_ms: now_ms,
                last_at: now,
            },
        );
        Ok(id)
    }

    /// Ends a session.
    pub fn remove(&mut self, id: &str) -> Option<VapiSession> {
        self.by_id.remove(id)
    }

    /// Ends every session idle for longer than `timeout` at `now`.
    pub fn expire(&mut self, timeout: Duration, now: Instant) {
        self.by_id
            .retain(|_, s| now.saturating_duration_since(s.last_at) <= timeout);
    }

    /// Marks a call on session `id`; its user when the session exists.
    pub fn touch(&mut self, id: &str, now_ms: i64, now: Instant) -> Option<String> {
        let s = self.by_id.get_mut(id)?;
        s.last_ms = now_ms;
        s.last_at = now;
        Some(s.user.clone())
    }
}

/// How a request identifies its caller.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// HTTP Basic user and password.
    pub basic: Option<(String, String)>,
    /// The `vmware-api-session-id` header, or the cookie of that name.
    pub session_id: Option<String>,
    /// The `vmware_soap_session` cookie of a SOAP login.
    pub soap_key: Option<String>,
}

/// Who is calling, once authenticated.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user name.
    pub user: String,
    /// The vAPI session, when the call came with one (not for SOAP-cookie callers).
    pub session_id: Option<String>,
}

/// The user of a valid SOAP session cookie, if it is not idle past the server's timeout.
fn soap_user(emu: &Emulator, cookie: &str, now: Instant) -> Option<String> {
    let s = emu.sessions.by_cookie(cookie)?;
    let timeout_s = emu.config.session_idle_timeout_s;
    let idle = now.saturating_duration_since(s.last_active_at);
    (timeout_s == 0 || idle <= Duration::from_secs(timeout_s)).then(|| s.user.clone())
}

/// Ends idle vAPI sessions, then identifies the caller: a session id decides when one is
/// sent (an unknown one is refused even beside a SOAP cookie, so a logged-out client stays
/// logged out); otherwise a valid SOAP session cookie is accepted, as vCenter accepts it on
/// its REST endpoints for clients that logged in over SOAP.
pub fn authenticate(emu: &mut Emulator, creds: &Credentials) -> Result<Caller, VapiError> {
    let now = Instant::now();
    let timeout_s = emu.config.session_idle_timeout_s;
    if timeout_s > 0 {
        emu.vapi
            .sessions
            .expire(Duration::from_secs(timeout_s), now);
    }
    let now_ms = emu.clock.now_ms();
    if let Some(id) = &creds.session_id {
        return match emu.vapi.sessions.touch(id, now_ms, now) {
            Some(user) => Ok(Caller {
                user,
                session_id: Some(id.clone()),
            }),
            None => Err(unauthenticated()),
        };
    }
    if let Some(user) = creds
        .soap_key
        .as_deref()
        .and_then(|k| soap_user(emu, k, now))
    {
        return Ok(Caller {
            user,
            session_id: None,
        });
    }
    Err(unauthenticated())
}

/// The error for a call without valid credentials.
pub fn unauthenticated() -> VapiError {
    VapiError::new(
        ErrorKind::Unauthenticated,
        "This method requires authentication.",
    )
}

/// Whether `svc` (the service path) names the session service in `form`.
pub fn is_session_path(form: Form, svc: &[&str]) -> bool {
    match form {
        Form::Rest => svc == ["cis", "session"],
        Form::Api => svc == ["session"],
    }
}

/// Whether the request creates a session (the one call that needs no session).
pub fn is_login(req: &Req<'_>, svc: &[&str]) -> bool {
    is_session_path(req.form, svc) && req.method == Method::POST && req.action().is_none()
}

/// `POST …/session`: Basic credentials (or a valid SOAP session) make a new session.
pub fn login(emu: &mut Emulator, creds: &Credentials) -> Result<String, VapiError> {
    let now = Instant::now();
    let user = match &creds.basic {
        Some((u, p)) if emu.config.accepts_login(u, p) => u.clone(),
        Some(_) => {
            return Err(VapiError::new(
                ErrorKind::Unauthenticated,
                "Authentication required: the user name or password is incorrect.",
            ));
        }
        None => creds
            .soap_key
            .as_deref()
            .and_then(|k| soap_user(emu, k, now))
            .ok_or_else(unauthenticated)?,
    };
    let now_ms = emu.clock.now_ms();
    emu.vapi.sessions.create(&user, now_ms, now)
}

/// The other session calls: get (`GET`, or `POST ~action=get`) and delete.
pub fn handle(emu: &mut Emulator, req: &Req<'_>, caller: &Caller) -> Result<Reply, VapiError> {
    match (&req.method, req.action()) {
        (&Method::GET, None) | (&Method::POST, Some("get")) => {
            let (created, last) = match caller
                .session_id
                .as_deref()
                .and_then(|id| emu.vapi.sessions.get(id))
            {
                Some(s) => (s.created_ms, s.last_ms),
                None => (emu.clock.now_ms(), emu.clock.now_ms()),
            };
            Ok(Reply::Value(json!({
                "user": caller.user,
                "created_time": super::time(created),
                "last_accessed_time": super::time(last),
            })))
        }
        (&Method::DELETE, None) => {
            if let Some(id) = &caller.session_id {
                emu.vapi.sessions.remove(id);
            }
            Ok(Reply::Empty)
        }
        _ => Err(super::no_operation(req)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let mut s = VapiSessions::default();
        let t0 = Instant::now();
        let first = s.create("u", 0, t0).expect("random");
        for i in 1..MAX_VAPI_SESSIONS {
            s.create("u", 0, t0 + Duration::from_millis(i as u64))
                .expect("random");
        }
        assert_eq!(s.len(), MAX_VAPI_SESSIONS);
        let newest = s
            .create("u", 0, t0 + Duration::from_secs(10))
            .expect("random");
        assert_eq!(s.len(), MAX_VAPI_SESSIONS);
        assert!(s.get(&first).is_none(), "the least recently used one ended");
        s.expire(Duration::from_secs(5), t0 + Duration::from_secs(12));
        assert_eq!(s.len(), 1);
        assert_eq!(s.touch(&newest, 1, t0).as_deref(), Some("u"));
    }

    #[tokio::test]
    async fn login_get_logout_in_both_forms() {
        use super::super::test_support::{USER_PASS, login, send, sim};
        use axum::http::StatusCode;
        let vc = sim();
        let a = send(
            &vc,
            "POST",
            "/rest/com/vmware/cis/session",
            None,
            None,
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.json["type"], "com.vmware.vapi.std.errors.unauthenticated");
        // "user:wrong"
        let a = send(
            &vc,
            "POST",
            "/rest/com/vmware/cis/session",
            None,
            Some("dXNlcjp3cm9uZw=="),
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let id = login(&vc).await;
        let s = Some(id.as_str());
        let a = send(
            &vc,
            "POST",
            "/rest/com/vmware/cis/session?~action=get",
            s,
            None,
            None,
        )
        .await;
        assert_eq!(a.json["value"]["user"], "user", "{}", a.text);
        let a = send(&vc, "DELETE", "/rest/com/vmware/cis/session", s, None, None).await;
        assert_eq!(a.status, StatusCode::OK);
        let a = send(&vc, "GET", "/rest/com/vmware/cis/session", s, None, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let a = send(&vc, "POST", "/api/session", None, Some(USER_PASS), None).await;
        assert_eq!(a.status, StatusCode::CREATED);
        let id = a.json.as_str().expect("bare id").to_owned();
        let a = send(&vc, "GET", "/api/session", Some(&id), None, None).await;
        assert_eq!(a.json["user"], "user");
        let a = send(&vc, "GET", "/api/vcenter/vm", None, None, None).await;
        assert_eq!(a.json["error_type"], "UNAUTHENTICATED");
        assert_eq!(vc.with(|e| e.vapi.sessions.len()), 1);
    }
}
