//! Login sessions keyed by the `vmware_soap_session` cookie.
//!
//! Keys come from the OS CSPRNG ([`crate::secret`]). Sessions are bounded: one idle longer
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
    /// The session key (also the cookie value).
    pub key: String,
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
    last_sweep: Option<Instant>,
}

impl Sessions {
    /// A session by key.
    pub fn get(&self, key: &str) -> Option<&Session> {
        self.by_key.get(key)
    }

    /// A session by key, mutable.
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

    /// Adds a session. The caller makes room first ([`Sessions::is_full`]); at the bound
    /// the session is not added and `false` is returned.
    pub fn insert(&mut self, s: Session) -> bool {
        if self.is_full() {
            return false;
        }
        self.by_key.insert(s.key.clone(), s);
        true
    }

    /// Removes a session.
    pub fn remove(&mut self, key: &str) -> Option<Session> {
        self.by_key.remove(key)
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

/// Extracts the session key from a Cookie header. Tolerant of what clients send back:
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
