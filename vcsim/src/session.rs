//! Login sessions: each has a public key and a secret cookie.
//!
//! The key (`UserSession.key`) is what vCenter shows in `SessionManager.sessionList`, in
//! `currentSession`, in events and in session-scoped object ids, and what `SessionIsActive`
//! and `TerminateSession` take; anyone who may read the session list sees it. The
//! `vmware_soap_session` cookie is a separate secret, known only to the client that logged
//! in, and is the only thing that authenticates a request: it is turned into the key at the
//! HTTP boundary ([`Sessions::by_cookie`]), so a key presented as a cookie names no session.
//!
//! Keys and cookies both come from the OS CSPRNG ([`crate::secret`]). Sessions are bounded: one idle longer
//! than the idle timeout ends (wall clock, as vCenter's session timeout: virtual time may run
//! a simulated day in seconds while a client's session must live), and a Login at the bound
//! ends the least recently active session rather than refusing the newcomer.

use crate::vmodl::{DataObject, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How many sessions may exist at once; a Login beyond it ends the least recently active one.
pub const SESSIONS_MAX: usize = 10_000;

/// vCenter's default session idle timeout (30 minutes).
pub const DEFAULT_IDLE_TIMEOUT_S: u64 = 30 * 60;

/// How often, at most, all sessions are swept for idleness (a caller's own session is
/// checked on every call).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One login session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The public session key (`UserSession.key`).
    pub key: String,
    /// The secret `vmware_soap_session` cookie value; never shown to any client but the
    /// one that logged in.
    pub cookie: String,
    /// The user name.
    pub user: String,
    /// Login time (virtual clock).
    pub login_ms: i64,
    /// Last call (virtual clock).
    pub last_active_ms: i64,
    /// Last call (wall clock), for the idle timeout.
    pub last_active_at: Instant,
    /// The client's User-Agent.
    pub user_agent: String,
    /// The client's address.
    pub ip_address: String,
    /// Calls made.
    pub call_count: i64,
}

impl Session {
    /// The session as a `UserSession` data object.
    pub fn to_value(&self) -> Value {
        DataObject::new("UserSession")
            .with("key", Value::str(self.key.clone()))
            .with("userName", Value::str(self.user.clone()))
            .with("fullName", Value::str(self.user.clone()))
            .with("loginTime", Value::DateTime(self.login_ms))
            .with("lastActiveTime", Value::DateTime(self.last_active_ms))
            .with("locale", Value::str("en"))
            .with("messageLocale", Value::str("en"))
            .with("extensionSession", Value::Bool(false))
            .with("ipAddress", Value::str(self.ip_address.clone()))
            .with("userAgent", Value::str(self.user_agent.clone()))
            .with("callCount", Value::Long(self.call_count))
            .into_value()
    }
}

/// All sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    by_key: BTreeMap<String, Session>,
    /// Cookie → key; holds exactly the sessions of `by_key`.
    key_of_cookie: BTreeMap<String, String>,
    last_sweep: Option<Instant>,
}

impl Sessions {
    /// The key of the session a `vmware_soap_session` cookie authenticates.
    pub fn key_of_cookie(&self, cookie: &str) -> Option<&str> {
        self.key_of_cookie.get(cookie).map(String::as_str)
    }

    /// The session a `vmware_soap_session` cookie authenticates.
    pub fn by_cookie(&self, cookie: &str) -> Option<&Session> {
        self.by_key.get(self.key_of_cookie.get(cookie)?)
    }

    /// A session by its public key.
    pub fn get(&self, key: &str) -> Option<&Session> {
        self.by_key.get(key)
    }

    /// A session by its public key, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Session> {
        self.by_key.get_mut(key)
    }

    /// Whether a new session needs an old one to end first.
    pub fn is_full(&self) -> bool {
        self.by_key.len() >= SESSIONS_MAX
    }

    /// How many sessions exist.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The key of the session whose last call is the oldest (O(n); only needed at the bound).
    pub fn least_recently_active(&self) -> Option<String> {
        self.by_key
            .values()
            .min_by_key(|s| (s.last_active_at, s.key.as_str()))
            .map(|s| s.key.clone())
    }

    /// Adds a session. The caller makes room first ([`Sessions::is_full`]); at the bound,
    /// or when its key or cookie is already in use (a CSPRNG collision, never expected),
    /// the session is not added and `false` is returned.
    pub fn insert(&mut self, s: Session) -> bool {
        if self.is_full()
            || self.by_key.contains_key(&s.key)
            || self.key_of_cookie.contains_key(&s.cookie)
        {
            return false;
        }
        self.key_of_cookie.insert(s.cookie.clone(), s.key.clone());
        self.by_key.insert(s.key.clone(), s);
        true
    }

    /// Removes a session by its public key.
    pub fn remove(&mut self, key: &str) -> Option<Session> {
        let s = self.by_key.remove(key)?;
        self.key_of_cookie.remove(&s.cookie);
        Some(s)
    }

    /// All sessions in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Session> {
        self.by_key.values()
    }

    /// Keys of the sessions idle for longer than `timeout` at `now`: always `own` when it is
    /// idle, and every idle one when a sweep is due (at most once per [`SWEEP_EVERY`]).
    pub fn idle_keys(&mut self, own: Option<&str>, timeout: Duration, now: Instant) -> Vec<String> {
        let idle = |s: &Session| now.saturating_duration_since(s.last_active_at) > timeout;
        let sweep_due = self
            .last_sweep
            .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY);
        if sweep_due {
            self.last_sweep = Some(now);
            return self
                .by_key
                .values()
                .filter(|s| idle(s))
                .map(|s| s.key.clone())
                .collect();
        }
        own.and_then(|k| self.by_key.get(k))
            .filter(|s| idle(s))
            .map(|s| vec![s.key.clone()])
            .unwrap_or_default()
    }
}

/// Extracts the `vmware_soap_session` cookie value from a Cookie header. Tolerant of what clients send back:
/// pyvmomi echoes the whole Set-Cookie text (`vmware_soap_session="…"; Path=/; HttpOnly`),
/// with or without quotes, possibly beside other cookies.
pub fn cookie_session_key(header: &str) -> Option<String> {
    for part in header.split(';') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("vmware_soap_session=") {
            let v = v.trim().trim_matches('"');
            if !v.is_empty() {
                return Some(v.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_forms() {
        assert_eq!(
            cookie_session_key("vmware_soap_session=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            cookie_session_key("vmware_soap_session=\"abc\"; Path=/; HttpOnly; Secure;").as_deref(),
            Some("abc")
        );
        assert_eq!(
            cookie_session_key("a=b; vmware_soap_session=x").as_deref(),
            Some("x")
        );
        assert_eq!(cookie_session_key(""), None);
        assert_eq!(cookie_session_key("vmware_soap_session=\"\""), None);
    }

    fn session(key: &str, at: Instant) -> Session {
        Session {
            key: key.into(),
            cookie: format!("cookie-{key}"),
            user: "u".into(),
            login_ms: 0,
            last_active_ms: 0,
            last_active_at: at,
            user_agent: String::new(),
            ip_address: String::new(),
            call_count: 0,
        }
    }

    #[test]
    fn cookies_authenticate_and_keys_do_not() {
        let mut s = Sessions::default();
        assert!(s.insert(session("k", Instant::now())));
        assert_eq!(s.key_of_cookie("cookie-k"), Some("k"));
        assert_eq!(s.by_cookie("cookie-k").map(|x| x.key.as_str()), Some("k"));
        assert!(s.by_cookie("k").is_none(), "a public key is no cookie");
        // A second session with the same key or cookie is refused, never merged.
        assert!(!s.insert(session("k", Instant::now())));
        assert!(s.remove("k").is_some());
        assert!(s.by_cookie("cookie-k").is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn idle_sessions_found_and_oldest_named() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        s.insert(session("b", t0));
        s.insert(session("a", t0 + Duration::from_secs(5)));
        assert_eq!(s.least_recently_active().as_deref(), Some("b"));
        let later = t0 + Duration::from_secs(12);
        // First call sweeps everything idle for more than 10 s: only "b".
        assert_eq!(s.idle_keys(None, Duration::from_secs(10), later), vec!["b"]);
        // Within the sweep interval only the caller's own session is checked.
        assert!(
            s.idle_keys(Some("a"), Duration::from_secs(10), later)
                .is_empty()
        );
        let much_later = later + Duration::from_millis(100);
        assert!(
            s.idle_keys(None, Duration::from_secs(1), much_later)
                .is_empty()
        );
        assert_eq!(
            s.idle_keys(Some("a"), Duration::from_secs(1), much_later),
            vec!["a"]
        );
    }
}
