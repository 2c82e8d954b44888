//! Login sessions keyed by the `vmware_soap_session` cookie.

use crate::vmodl::{DataObject, Value};
use std::collections::BTreeMap;

/// How many sessions may exist at once; Login beyond it is refused rather than growing
/// without bound.
pub const SESSIONS_MAX: usize = 10_000;

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

    /// Adds a session; `false` when the bound is reached.
    pub fn insert(&mut self, s: Session) -> bool {
        if self.by_key.len() >= SESSIONS_MAX {
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
}
