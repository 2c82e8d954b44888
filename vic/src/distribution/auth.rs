//! Registry authentication as docker does it: the `WWW-Authenticate` challenges of a `401`
//! ([`parse_challenges`]) decide the scheme — `Basic` (the credentials on every request)
//! or `Bearer` (a token from the challenge's `realm`, asked for with `service`, `scope`
//! and, when given, `account` and the credentials as Basic) — and tokens are kept per
//! scope until `expires_in` runs out ([`TokenCache`]).

use super::Credentials;
use base64::Engine as _;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One challenge: its scheme (lower case) and parameters (names lower case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Challenge {
    /// `bearer`, `basic`, …
    pub scheme: String,
    /// `realm`, `service`, `scope`, …, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The parameter `name` (lower case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a `WWW-Authenticate` value: challenges, each a scheme then `name=value` or
/// `name="quoted \" value"` parameters, separated by commas. Nothing in it is trusted:
/// unreadable parts are skipped.
pub(super) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let chars: Vec<char> = header.chars().collect();
    let mut out: Vec<Challenge> = Vec::new();
    let mut i = 0;
    let is_sep = |c: char| c.is_whitespace() || c == ',';
    let is_token = |c: char| !is_sep(c) && c != '=' && c != '"';
    while i < chars.len() {
        while i < chars.len() && is_sep(chars[i]) {
            i += 1;
        }
        let start = i;
        while i < chars.len() && is_token(chars[i]) {
            i += 1;
        }
        if start == i {
            // A stray `=` or quote: skip it.
            i += 1;
            continue;
        }
        let token: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let param_of = out.last_mut();
        match (chars.get(j), param_of) {
            (Some('='), Some(challenge)) => {
                i = j + 1;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                let value = if chars.get(i) == Some(&'"') {
                    i += 1;
                    let mut v = String::new();
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        v.push(chars[i]);
                        i += 1;
                    }
                    i += 1; // the closing quote
                    v
                } else {
                    let s = i;
                    while i < chars.len() && !is_sep(chars[i]) {
                        i += 1;
                    }
                    chars[s..i].iter().collect()
                };
                challenge.params.push((token.to_ascii_lowercase(), value));
            }
            _ => out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            }),
        }
    }
    out
}

/// The challenge to answer among all the `WWW-Authenticate` values: Bearer first (docker
/// prefers token auth), then Basic.
pub(super) fn pick<'a>(values: impl Iterator<Item = &'a str>) -> Option<Challenge> {
    let all: Vec<Challenge> = values.flat_map(parse_challenges).collect();
    let bearer = all
        .iter()
        .find(|c| c.scheme == "bearer" && c.param("realm").is_some_and(|r| !r.is_empty()));
    bearer
        .or_else(|| all.iter().find(|c| c.scheme == "basic"))
        .cloned()
}

/// `Basic <base64(user:password)>`.
pub(super) fn basic(c: &Credentials) -> String {
    let pair = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The scope of pulls from `repository`.
pub(super) fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// The scope of pushes to `repository` (a push reads too: blob checks).
pub(super) fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

/// Percent-encodes a query value as Go's `url.QueryEscape` does (space as `+`).
pub(super) fn query_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The token request's query, keys sorted as Go's `url.Values.Encode` sorts them.
pub(super) fn token_query(
    service: Option<&str>,
    scope: Option<&str>,
    account: Option<&str>,
) -> String {
    let pairs = [("account", account), ("scope", scope), ("service", service)];
    pairs
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
        .map(|(k, v)| format!("{k}={}", query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The shortest token lifetime assumed (docker's: a token without `expires_in`, or with
/// less, is used for a minute).
const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Tokens kept at most (one per repository and access; beyond it the expired, then all,
/// are dropped).
const MAX_CACHED_TOKENS: usize = 256;

/// A token service's answer.
#[derive(serde::Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

/// Reads a token service's answer: the token and how long it lasts; `None` without one.
pub(super) fn read_token(body: &[u8]) -> Option<(String, Duration)> {
    let a: TokenAnswer = serde_json::from_slice(body).ok()?;
    let token = if a.token.is_empty() {
        a.access_token
    } else {
        a.token
    };
    // A token goes into a header: one with control characters or spaces is refused.
    if token.is_empty() || token.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return None;
    }
    let lifetime = Duration::from_secs(a.expires_in).max(MIN_TOKEN_LIFETIME);
    Some((token, lifetime))
}

/// What the client knows of the registry's authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Scheme {
    /// Nothing yet (no `401` seen): requests go without credentials.
    #[default]
    Unknown,
    /// HTTP Basic.
    Basic,
    /// Token auth.
    Bearer {
        /// The token service URL.
        realm: String,
        /// The `service` to name.
        service: Option<String>,
    },
}

/// Bearer tokens by scope (`""` for none), with when each stops being used.
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    tokens: HashMap<String, (String, Instant)>,
}

impl TokenCache {
    /// A live token for `scope`.
    pub fn get(&self, scope: &str, now: Instant) -> Option<String> {
        self.tokens
            .get(scope)
            .filter(|(_, until)| *until > now)
            .map(|(t, _)| t.clone())
    }

    /// Keeps `token` for `scope` for `lifetime` (a few seconds less, so it is not used at
    /// the edge of its expiry).
    pub fn put(&mut self, scope: &str, token: String, lifetime: Duration, now: Instant) {
        if self.tokens.len() >= MAX_CACHED_TOKENS && !self.tokens.contains_key(scope) {
            self.tokens.retain(|_, (_, until)| *until > now);
            if self.tokens.len() >= MAX_CACHED_TOKENS {
                self.tokens.clear();
            }
        }
        let margin = Duration::from_secs(5).min(lifetime / 2);
        self.tokens
            .insert(scope.to_owned(), (token, now + lifetime - margin));
    }

    /// Forgets the token for `scope` (the registry refused it).
    pub fn drop_scope(&mut self, scope: &str) {
        self.tokens.remove(scope);
    }
}

/// Splits an absolute URL into scheme, authority and path-and-query (`/` if empty).
pub(super) fn split_url(url: &str) -> Option<(&str, &str, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let tail = match tail.strip_prefix('?') {
        Some(q) => format!("/?{q}"),
        None if tail.is_empty() => "/".to_owned(),
        None => tail.to_owned(),
    };
    Some((scheme, authority, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_as_registries_send_them() {
        let h = r#"Bearer realm="https://registry.corp.local/service/token",service="harbor-registry",scope="repository:library/x:pull,push""#;
        let c = parse_challenges(h);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(
            c[0].param("realm"),
            Some("https://registry.corp.local/service/token")
        );
        assert_eq!(c[0].param("service"), Some("harbor-registry"));
        assert_eq!(c[0].param("scope"), Some("repository:library/x:pull,push"));
    }

    #[test]
    fn several_challenges_spaces_escapes_and_bare_values() {
        let h = r#"Basic realm="Registry \"Realm\"" , BEARER Realm = https://a/t , Service=s, error="insufficient_scope""#;
        let c = parse_challenges(h);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some("Registry \"Realm\""));
        assert_eq!(c[1].scheme, "bearer");
        assert_eq!(c[1].param("realm"), Some("https://a/t"));
        assert_eq!(c[1].param("service"), Some("s"));
        assert_eq!(c[1].param("error"), Some("insufficient_scope"));
        // Bearer wins over Basic, across header values too.
        let picked = pick(["Basic realm=x", h].into_iter()).expect("one");
        assert_eq!(picked.scheme, "bearer");
        assert_eq!(
            pick(["Basic realm=\"r\""].into_iter()).map(|c| c.scheme),
            Some("basic".into())
        );
    }

    #[test]
    fn malformed_challenges_do_not_panic() {
        for h in [
            "",
            "=",
            "\"",
            "Bearer realm=\"unterminated",
            "Bearer realm=\"x\\",
            ",,,",
            "= = =",
            "Bearer ,realm=,=x",
            "Négociation a=b",
        ] {
            let _ = parse_challenges(h);
        }
        assert!(pick(["Bearer service=x"].into_iter()).is_none(), "no realm");
        assert!(pick(["Digest realm=x"].into_iter()).is_none());
    }

    #[test]
    fn basic_header_and_token_query() {
        let c = Credentials {
            username: "admin".into(),
            password: "pa:ss".into(),
        };
        assert_eq!(basic(&c), "Basic YWRtaW46cGE6c3M=");
        assert_eq!(
            token_query(
                Some("harbor-registry"),
                Some("repository:library/x:pull,push"),
                Some("admin")
            ),
            "account=admin&scope=repository%3Alibrary%2Fx%3Apull%2Cpush&service=harbor-registry"
        );
        assert_eq!(token_query(Some("s"), None, None), "service=s");
        assert_eq!(query_escape("a b&c"), "a+b%26c");
    }

    #[test]
    fn token_answers_and_cache() {
        let (t, life) = read_token(br#"{"token":"abc","expires_in":1800}"#).expect("token");
        assert_eq!((t.as_str(), life.as_secs()), ("abc", 1800));
        let (t, life) = read_token(br#"{"access_token":"xyz"}"#).expect("token");
        assert_eq!((t.as_str(), life), ("xyz", MIN_TOKEN_LIFETIME));
        assert!(read_token(br#"{"token":""}"#).is_none());
        assert!(read_token(br#"{"token":"a b"}"#).is_none());
        assert!(read_token(b"not json").is_none());

        let now = Instant::now();
        let mut cache = TokenCache::default();
        cache.put("s", "t".into(), Duration::from_secs(60), now);
        assert_eq!(cache.get("s", now), Some("t".into()));
        assert_eq!(cache.get("other", now), None);
        assert_eq!(cache.get("s", now + Duration::from_secs(56)), None);
        cache.drop_scope("s");
        assert_eq!(cache.get("s", now), None);
        for i in 0..=MAX_CACHED_TOKENS {
            cache.put(&i.to_string(), "t".into(), Duration::from_secs(60), now);
        }
        assert!(cache.tokens.len() <= MAX_CACHED_TOKENS);
    }

    #[test]
    fn urls_split() {
        assert_eq!(
            split_url("https://registry.corp.local/service/token?x=1"),
            Some((
                "https",
                "registry.corp.local",
                "/service/token?x=1".to_owned()
            ))
        );
        assert_eq!(
            split_url("http://h:5000"),
            Some(("http", "h:5000", "/".to_owned()))
        );
        assert_eq!(
            split_url("http://h?a=b"),
            Some(("http", "h", "/?a=b".to_owned()))
        );
        assert_eq!(split_url("/relative"), None);
        assert_eq!(split_url("https://user@h/"), None);
        assert_eq!(split_url("https:///x"), None);
    }
}
