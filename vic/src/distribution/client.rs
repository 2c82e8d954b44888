//! The [`Client`]: one HTTP/1.1 exchange per connection to the registry's address
//! (`Connection: close`), bounded by the connect and exchange limits, with the
//! authentication `auth` describes: a `401` teaches the scheme, the request is sent once
//! more with credentials or a token, and later requests carry them from the start.

use super::Transport;
use super::auth::{self, Scheme, TokenCache};
use super::error::{DistributionError, Failure, RequestSite, go_op, refusal};
use super::{CONNECT_TIMEOUT, Credentials, DEFAULT_MAX_LAYER_BYTES, EXCHANGE_TIMEOUT, Endpoint};
use crate::http1::{self, Conn, ReadRules, Response, TlsTarget};
use bytes::Bytes;
use rustls::RootCertStore;
use rustls::pki_types::ServerName;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// The `User-Agent` sent.
const USER_AGENT: &str = "vicbed-distribution (vic::distribution)";
/// Largest token service answer read.
const MAX_TOKEN_ANSWER_BYTES: usize = 64 * 1024;
/// Largest answer read where no body is expected (errors, `/v2/`).
pub(super) const MAX_SMALL_BODY_BYTES: usize = 1 << 20;

/// A client of one registry, with optional credentials. Cheap to share (`&self` methods;
/// the token cache is behind a mutex held only between awaits).
pub struct Client {
    endpoint: Endpoint,
    credentials: Option<Credentials>,
    /// The TLS target (built once), or why it could not be made; `None` for plain HTTP.
    tls: Option<Result<TlsTarget, String>>,
    auth: Mutex<AuthState>,
    /// The largest layer a pull reads ([`DEFAULT_MAX_LAYER_BYTES`] unless set).
    pub max_layer_bytes: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.endpoint.host)
            .field("addr", &self.endpoint.addr)
            .field("tls", &self.tls.is_some())
            .field("credentials", &self.credentials)
            .field("max_layer_bytes", &self.max_layer_bytes)
            .finish()
    }
}

/// What the client learnt of the registry's authentication, and its tokens.
#[derive(Debug, Default)]
struct AuthState {
    scheme: Scheme,
    tokens: TokenCache,
}

/// One request to the registry.
pub(super) struct Request {
    /// `GET`, `HEAD`, `POST`, `PUT`.
    pub method: &'static str,
    /// Path and query.
    pub target: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for none).
    pub body: Bytes,
    /// Largest answer body read.
    pub max_body_bytes: usize,
    /// What the answer's body is, for a too-large one (`manifest`, `layer sha256:…`).
    pub what: String,
}

impl Request {
    /// A `method target` request without a body, reading at most
    /// [`MAX_SMALL_BODY_BYTES`].
    pub fn new(method: &'static str, target: String) -> Request {
        Request {
            method,
            target,
            headers: Vec::new(),
            body: Bytes::new(),
            max_body_bytes: MAX_SMALL_BODY_BYTES,
            what: "response body".into(),
        }
    }
}

/// The host part of `host[:port]` (IPv6 in brackets: the address inside).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// The TLS target for `host` trusting `roots` only (webpki: chain and name checked).
fn tls_target(
    host: &str,
    roots: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<TlsTarget, String> {
    let name = ServerName::try_from(host_name(host).to_owned())
        .map_err(|_| format!("invalid registry host name {host:?}"))?;
    let mut store = RootCertStore::empty();
    // Unusable roots are skipped: with none left, every certificate is of an unknown
    // authority, which is what the handshake then says.
    let _ = store.add_parsable_certificates(roots.iter().cloned());
    let config = crate::tlsverify::builder()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(TlsTarget::new(Arc::new(config), name))
}

impl Client {
    /// A client of `endpoint`, authenticating with `credentials` when the registry asks.
    pub fn new(endpoint: Endpoint, credentials: Option<Credentials>) -> Client {
        let tls = match &endpoint.transport {
            Transport::Plain => None,
            Transport::Tls { roots } => Some(tls_target(&endpoint.host, roots)),
        };
        Client {
            endpoint,
            credentials,
            tls,
            auth: Mutex::new(AuthState::default()),
            max_layer_bytes: DEFAULT_MAX_LAYER_BYTES,
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `GET /v2/` with authentication: what `docker login` checks. Any answer but `200`
    /// is refused in `docker login`'s words (`login attempt to https://host/v2/ failed
    /// with status: 401 Unauthorized`).
    pub async fn ping(&self) -> Result<(), DistributionError> {
        let req = Request::new("GET", "/v2/".into());
        let resp = self.send(&req, None).await?;
        if resp.status == 200 {
            return Ok(());
        }
        let reason = hyper::StatusCode::from_u16(resp.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let text = format!(
            "login attempt to {} failed with status: {} {reason}",
            self.url("/v2/"),
            resp.status
        );
        Err(match resp.status {
            401 => DistributionError::Unauthorized { text },
            403 => DistributionError::Denied { text },
            404 => DistributionError::NotFound { text },
            status => DistributionError::Registry { status, text },
        })
    }

    fn state(&self) -> MutexGuard<'_, AuthState> {
        // A panic elsewhere while holding the lock leaves the cache usable.
        self.auth.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `http(s)://host` + `target`.
    pub(super) fn url(&self, target: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{target}", self.endpoint.host)
    }

    /// The repository name as docker shows it: `host/repository`.
    pub(super) fn familiar(&self, repository: &str) -> String {
        format!("{}/{repository}", self.endpoint.host)
    }

    fn site<'a>(&self, op: &'a str, url: &'a str, what: &'a str) -> RequestSite<'a> {
        RequestSite {
            op,
            url,
            addr: self.endpoint.addr,
            tls: self.tls.is_some(),
            what,
        }
    }

    /// One exchange on a new connection: `req` with `authorization`, the whole answer read.
    async fn exchange(
        &self,
        req: &Request,
        authorization: Option<&str>,
    ) -> Result<Response, Failure> {
        let tls = match &self.tls {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(why)) => return Err(Failure::Config(why.clone())),
        };
        let addr = self.endpoint.addr;
        let connect_ms = CONNECT_TIMEOUT.as_millis() as u64;
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            http1::connect(&addr.ip().to_string(), addr.port(), tls),
        )
        .await
        .map_err(|_| Failure::ConnectTimeout {
            after_ms: connect_ms,
        })?
        .map_err(Failure::Connect)?;
        // `Connection: close`: a TLS close without `close_notify` may end the answer.
        let mut conn = Conn::new(stream, true).await.map_err(Failure::Read)?;
        let length = req.body.len().to_string();
        let mut headers: Vec<(&str, &str)> =
            vec![("User-Agent", USER_AGENT), ("Connection", "close")];
        headers.extend(req.headers.iter().map(|(n, v)| (*n, v.as_str())));
        if let Some(a) = authorization {
            headers.push(("Authorization", a));
        }
        if matches!(req.method, "POST" | "PUT" | "PATCH") {
            headers.push(("Content-Length", &length));
        }
        let request = http1::request(
            req.method,
            &req.target,
            &self.endpoint.host,
            &headers,
            req.body.clone(),
        )
        .map_err(Failure::Read)?;
        let rules = ReadRules {
            max_body: req.max_body_bytes,
            identity_only: true,
        };
        let exchange_ms = EXCHANGE_TIMEOUT.as_millis() as u64;
        let deadline = tokio::time::Instant::now() + EXCHANGE_TIMEOUT;
        let head = tokio::time::timeout_at(deadline, conn.send_head(request))
            .await
            .map_err(|_| Failure::HeadTimeout {
                after_ms: exchange_ms,
            })?
            .map_err(Failure::Read)?;
        tokio::time::timeout_at(deadline, http1::read_body(head, rules))
            .await
            .map_err(|_| Failure::BodyTimeout {
                after_ms: exchange_ms,
            })?
            .map_err(Failure::Read)
    }

    /// Sends `req` needing `scope` (`None`: the API root), authenticating as the registry
    /// asks. Returns the answer whatever its status — a `401` only after the one retry
    /// with credentials (or when there are none to offer).
    pub(super) async fn send(
        &self,
        req: &Request,
        scope: Option<&str>,
    ) -> Result<Response, DistributionError> {
        let op = go_op(req.method);
        let url = self.url(&req.target);
        let site = self.site(&op, &url, &req.what);
        let sent = self.known_authorization(scope, &site).await?;
        let resp = self
            .exchange(req, sent.as_deref())
            .await
            .map_err(|f| f.at(&site))?;
        if resp.status != 401 {
            return Ok(resp);
        }
        let Some(challenge) = auth::pick(resp.header_values("www-authenticate")) else {
            return Ok(resp);
        };
        let retry = match challenge.scheme.as_str() {
            "bearer" => {
                let realm = challenge.param("realm").unwrap_or_default().to_owned();
                let service = challenge.param("service").map(str::to_owned);
                {
                    let mut st = self.state();
                    st.scheme = Scheme::Bearer {
                        realm: realm.clone(),
                        service: service.clone(),
                    };
                    // The token sent (if any) was refused.
                    st.tokens.drop_scope(scope.unwrap_or_default());
                }
                let token = self
                    .fetch_token(&realm, service.as_deref(), scope, &site)
                    .await?;
                Some(format!("Bearer {token}"))
            }
            _ => {
                self.state().scheme = Scheme::Basic;
                self.credentials.as_ref().map(auth::basic)
            }
        };
        match retry {
            Some(a) if Some(&a) != sent.as_ref() => {
                self.exchange(req, Some(&a)).await.map_err(|f| f.at(&site))
            }
            _ => Ok(resp),
        }
    }

    /// The `Authorization` for `scope` from what is already known: Basic credentials, or a
    /// cached token (fetched now when the scheme is Bearer and none is cached).
    async fn known_authorization(
        &self,
        scope: Option<&str>,
        site: &RequestSite<'_>,
    ) -> Result<Option<String>, DistributionError> {
        let (scheme, cached) = {
            let st = self.state();
            let cached = st.tokens.get(scope.unwrap_or_default(), Instant::now());
            (st.scheme.clone(), cached)
        };
        match scheme {
            Scheme::Unknown => Ok(None),
            Scheme::Basic => Ok(self.credentials.as_ref().map(auth::basic)),
            Scheme::Bearer { .. } if cached.is_some() => Ok(cached.map(|t| format!("Bearer {t}"))),
            Scheme::Bearer { realm, service } => {
                let token = self
                    .fetch_token(&realm, service.as_deref(), scope, site)
                    .await?;
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Fetches a token for `scope` from `realm` (on the registry's own host: the testbed has
    /// no name resolution for another) and caches it. Failures are worded as docker words
    /// them: inside the `url.Error` of the request that needed the token (`site`).
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
        site: &RequestSite<'_>,
    ) -> Result<String, DistributionError> {
        let prefixed = |cause: String| format!("{} {}: {cause}", site.op, site.url);
        let protocol = |cause: String| DistributionError::Protocol {
            text: prefixed(cause),
        };
        let (scheme, authority, path) = auth::split_url(realm)
            .ok_or_else(|| protocol(format!("invalid token realm {realm:?}")))?;
        let own_scheme = if self.tls.is_some() { "https" } else { "http" };
        if !authority.eq_ignore_ascii_case(&self.endpoint.host)
            || !scheme.eq_ignore_ascii_case(own_scheme)
        {
            return Err(protocol(format!(
                "token realm {realm} is not on the registry ({own_scheme}://{})",
                self.endpoint.host
            )));
        }
        let account = self.credentials.as_ref().map(|c| c.username.as_str());
        let query = auth::token_query(service, scope, account);
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut req = Request::new("GET", format!("{path}{sep}{query}"));
        req.max_body_bytes = MAX_TOKEN_ANSWER_BYTES;
        req.what = "token answer".into();
        let token_url = self.url(&req.target);
        let basic = self.credentials.as_ref().map(auth::basic);
        let resp = self.exchange(&req, basic.as_deref()).await.map_err(|f| {
            // Go nests the token request's own url.Error in the outer one.
            let inner = f.at(&self.site("Get", &token_url, "token answer"));
            nest(inner, site)
        })?;
        if resp.status != 200 {
            let r = refusal(&resp);
            let text = prefixed(r.text.clone());
            return Err(match r.into_error() {
                DistributionError::Unauthorized { .. } => DistributionError::Unauthorized { text },
                DistributionError::Denied { .. } => DistributionError::Denied { text },
                DistributionError::NotFound { .. } => DistributionError::NotFound { text },
                _ => DistributionError::Registry {
                    status: resp.status,
                    text,
                },
            });
        }
        let (token, lifetime) = auth::read_token(&resp.body).ok_or_else(|| {
            protocol("authorization server did not include a token in the response".into())
        })?;
        self.state().tokens.put(
            scope.unwrap_or_default(),
            token.clone(),
            lifetime,
            Instant::now(),
        );
        Ok(token)
    }
}

/// `inner` (a failed token request) inside the `url.Error` of `site`.
fn nest(inner: DistributionError, site: &RequestSite<'_>) -> DistributionError {
    let wrap = |text: String| format!("{} {}: {text}", site.op, site.url);
    match inner {
        DistributionError::Tls { text } => DistributionError::Tls { text: wrap(text) },
        DistributionError::Connect { addr, text } => DistributionError::Connect {
            addr,
            text: wrap(text),
        },
        DistributionError::Timeout { after_ms, text } => DistributionError::Timeout {
            after_ms,
            text: wrap(text),
        },
        DistributionError::TooLarge { limit_bytes, text } => DistributionError::TooLarge {
            limit_bytes,
            text: wrap(text),
        },
        other => DistributionError::Protocol {
            text: wrap(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name("registry.corp.local"), "registry.corp.local");
        assert_eq!(host_name("registry.corp.local:5000"), "registry.corp.local");
        assert_eq!(host_name("127.0.0.1:443"), "127.0.0.1");
        assert_eq!(host_name("[::1]:5000"), "::1");
        assert_eq!(host_name("::1"), "::1");
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn the_client_and_its_futures_can_cross_tasks() {
        let client = Client::new(
            Endpoint {
                host: "registry.corp.local".into(),
                addr: "127.0.0.1:1".parse().expect("addr"),
                transport: Transport::Plain,
            },
            None,
        );
        let image = crate::distribution::PushImage {
            config: Bytes::new(),
            layers: vec![],
        };
        let mut progress = |_| {};
        assert_send(&client.ping());
        assert_send(&client.pull("library/x", "latest"));
        assert_send(&client.push("library/x", "latest", &image, &mut progress));
        fn shared<T: Send + Sync>(_: &T) {}
        shared(&client);
    }

    #[test]
    fn a_bad_host_is_reported_not_panicked_on() {
        let client = Client::new(
            Endpoint {
                host: "bad host!".into(),
                addr: "127.0.0.1:1".parse().expect("addr"),
                transport: Transport::Tls { roots: vec![] },
            },
            None,
        );
        assert!(matches!(client.tls, Some(Err(_))));
        assert_eq!(client.url("/v2/"), "https://bad host!/v2/");
    }
}
