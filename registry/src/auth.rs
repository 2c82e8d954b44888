//! Who may do what, Harbor's way. Anonymous clients may pull from public projects; every
//! configured user may pull, push and delete everywhere (with no users configured,
//! authentication is off). Clients authenticate with HTTP Basic on any request, or with a
//! bearer token from `GET /service/token` (Docker's token auth): tokens are 32 random bytes
//! from the OS CSPRNG, held server-side with their granted scopes and expiry, at most
//! `max_tokens` of them.

use crate::config::{Project, User};
use crate::storage::lock;
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every action, as a grant.
pub const ALL_ACTIONS: &str = "*";

/// One access scope: `repository:library/hello:pull,push` or `registry:catalog:*`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Scope {
    /// `repository` or `registry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository name, or `catalog`.
    pub name: String,
    /// `pull`, `push`, `delete`, `*`.
    pub actions: Vec<String>,
}

impl Scope {
    /// Parses `type:name:actions` (the name may hold a port-less registry path, no colons).
    pub fn parse(text: &str) -> Option<Scope> {
        let (kind, rest) = text.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let actions = actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        Some(Scope {
            kind: kind.to_owned(),
            name: name.to_owned(),
            actions,
        })
    }

    /// Whether this grant covers `action` on repository `name`.
    pub fn allows(&self, kind: &str, name: &str, action: &str) -> bool {
        self.kind == kind
            && self.name == name
            && self.actions.iter().any(|a| a == action || a == ALL_ACTIONS)
    }
}

/// Who a request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// No credentials.
    Anonymous,
    /// A configured user, by name.
    User(String),
}

/// The actions `who` may take on a repository whose project is `project` (`None`: no such
/// project; users still get everything there so the registry can answer `NAME_UNKNOWN`).
pub fn allowed_actions(
    auth_enabled: bool,
    who: &Identity,
    project: Option<&Project>,
) -> &'static [&'static str] {
    const EVERYTHING: &[&str] = &["pull", "push", "delete", ALL_ACTIONS];
    match (auth_enabled, who, project) {
        (false, _, _) | (true, Identity::User(_), _) => EVERYTHING,
        (true, Identity::Anonymous, Some(p)) if p.public => &["pull"],
        (true, Identity::Anonymous, _) => &[],
    }
}

/// A token's grant.
#[derive(Clone, Debug)]
pub struct Grant {
    /// Who it was issued to.
    pub who: Identity,
    /// What it allows.
    pub scopes: Vec<Scope>,
    /// When it stops being accepted.
    pub expires_at: Instant,
}

/// What an `Authorization` header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// None given.
    None,
    /// `Basic` user and password.
    Basic(String, String),
    /// `Bearer` token.
    Bearer(String),
    /// A header that could not be read.
    Malformed,
}

impl Credentials {
    /// Reads an `Authorization` header value.
    pub fn parse(header: Option<&str>) -> Credentials {
        let Some(h) = header else {
            return Credentials::None;
        };
        let (scheme, value) = h.trim().split_once(' ').unwrap_or((h, ""));
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !value.is_empty() {
            return Credentials::Bearer(value.to_owned());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if let Some((u, p)) = decoded.as_deref().and_then(|s| s.split_once(':')) {
                return Credentials::Basic(u.to_owned(), p.to_owned());
            }
        }
        Credentials::Malformed
    }
}

/// Users and the token table.
pub(crate) struct Auth {
    users: HashMap<String, String>,
    tokens: Mutex<HashMap<String, Grant>>,
    max_tokens: usize,
    token_ttl: Duration,
}

impl Auth {
    pub(crate) fn new(users: &[User], max_tokens: usize, token_ttl: Duration) -> Auth {
        Auth {
            users: users
                .iter()
                .map(|u| (u.name.clone(), u.password.clone()))
                .collect(),
            tokens: Mutex::new(HashMap::new()),
            max_tokens,
            token_ttl,
        }
    }

    /// Whether any user is configured (else everything is open).
    pub(crate) fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks a user's password (in time independent of where the strings differ).
    pub(crate) fn check_password(&self, user: &str, password: &str) -> bool {
        let Some(expected) = self.users.get(user) else {
            return false;
        };
        let (a, b) = (expected.as_bytes(), password.as_bytes());
        let mut diff = a.len() ^ b.len();
        for i in 0..a.len().max(b.len()) {
            diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
        }
        diff == 0
    }

    /// Issues a token for `grant`'s scopes; returns it with its lifetime.
    pub(crate) fn issue(
        &self,
        who: Identity,
        scopes: Vec<Scope>,
        now: Instant,
    ) -> std::io::Result<(String, Duration)> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| std::io::Error::other(e.to_string()))?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let mut table = lock(&self.tokens);
        if table.len() >= self.max_tokens {
            table.retain(|_, g| g.expires_at > now);
        }
        while table.len() >= self.max_tokens.max(1) {
            let oldest = table
                .iter()
                .min_by_key(|(_, g)| g.expires_at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => table.remove(&k),
                None => break,
            };
        }
        table.insert(
            token.clone(),
            Grant {
                who,
                scopes,
                expires_at: now + self.token_ttl,
            },
        );
        Ok((token, self.token_ttl))
    }

    /// The grant of a live token.
    pub(crate) fn grant(&self, token: &str, now: Instant) -> Option<Grant> {
        let mut table = lock(&self.tokens);
        match table.get(token) {
            Some(g) if g.expires_at > now => Some(g.clone()),
            Some(_) => {
                table.remove(token);
                None
            }
            None => None,
        }
    }

    /// Tokens held now.
    #[cfg(test)]
    pub(crate) fn token_count(&self) -> usize {
        lock(&self.tokens).len()
    }
}

/// The `WWW-Authenticate` challenge for a request needing `scope` (none for `/v2/`).
pub fn challenge(realm: &str, scope: Option<&str>) -> String {
    let service = crate::config::TOKEN_SERVICE;
    match scope {
        Some(s) => format!(r#"Bearer realm="{realm}",service="{service}",scope="{s}""#),
        None => format!(r#"Bearer realm="{realm}",service="{service}""#),
    }
}

/// `issued_at` in RFC 3339 (UTC, seconds) from seconds since the epoch.
pub fn rfc3339(epoch_s: u64) -> String {
    vcsim::vmodl::format_rfc3339_seconds(i64::try_from(epoch_s).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_allow_their_actions() {
        let s = Scope::parse("repository:library/a/b:pull,push").expect("valid");
        assert_eq!(s.name, "library/a/b");
        assert!(s.allows("repository", "library/a/b", "push"));
        assert!(!s.allows("repository", "library/a/b", "delete"));
        assert!(!s.allows("repository", "library/a", "pull"));
        let all = Scope::parse("registry:catalog:*").expect("valid");
        assert!(all.allows("registry", "catalog", "anything"));
        assert_eq!(Scope::parse("repository"), None);
        assert_eq!(Scope::parse(":x:pull"), None);
    }

    #[test]
    fn harbor_policy_public_private_and_users() {
        let public = Project {
            name: "library".into(),
            public: true,
        };
        let private = Project {
            name: "secret".into(),
            public: false,
        };
        let anon = Identity::Anonymous;
        let user = Identity::User("admin".into());
        assert_eq!(allowed_actions(true, &anon, Some(&public)), &["pull"]);
        assert!(allowed_actions(true, &anon, Some(&private)).is_empty());
        assert!(allowed_actions(true, &anon, None).is_empty());
        assert!(allowed_actions(true, &user, Some(&private)).contains(&"push"));
        assert!(allowed_actions(true, &user, None).contains(&"push"));
        assert!(allowed_actions(false, &anon, Some(&private)).contains(&"push"));
    }

    #[test]
    fn credentials_parse() {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("admin:pa:ss")
        );
        assert_eq!(
            Credentials::parse(Some(&basic)),
            Credentials::Basic("admin".into(), "pa:ss".into())
        );
        assert_eq!(
            Credentials::parse(Some("Bearer abc")),
            Credentials::Bearer("abc".into())
        );
        assert_eq!(Credentials::parse(None), Credentials::None);
        assert_eq!(Credentials::parse(Some("Basic !!")), Credentials::Malformed);
        assert_eq!(Credentials::parse(Some("Digest x")), Credentials::Malformed);
    }

    #[test]
    fn tokens_are_random_bounded_and_expire() {
        let auth = Auth::new(
            &[User {
                name: "u".into(),
                password: "p".into(),
            }],
            2,
            Duration::from_secs(60),
        );
        assert!(auth.check_password("u", "p"));
        assert!(!auth.check_password("u", "pp"));
        assert!(!auth.check_password("v", "p"));
        let t0 = Instant::now();
        let (a, _) = auth.issue(Identity::Anonymous, vec![], t0).expect("a");
        let (b, _) = auth
            .issue(Identity::Anonymous, vec![], t0 + Duration::from_secs(1))
            .expect("b");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let (c, _) = auth
            .issue(Identity::Anonymous, vec![], t0 + Duration::from_secs(2))
            .expect("c");
        assert_eq!(auth.token_count(), 2);
        assert!(auth.grant(&a, t0).is_none(), "the oldest was dropped");
        assert!(auth.grant(&c, t0 + Duration::from_secs(61)).is_some());
        assert!(auth.grant(&b, t0 + Duration::from_secs(61)).is_none());
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_506_931_200), "2017-10-02T08:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
