//! The client: connecting (TLS policy, `RetrieveServiceContent`), the session cookie, Login
//! and Logout, and the generic [`Client::call`] every helper is built on.

use super::decode::unwrap_any;
use super::endpoint::{Endpoint, Scheme};
use super::envelope::{self, Answer};
use super::http::Transport;
use super::thumbprint::normalize_thumbprint;
use super::verify::{Policy, client_config, server_name};
use super::{Error, Finder};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vcsim::vmodl::{Array, MoRef, Value};

/// The API version sent in `SOAPAction` by default: VIC pins govmomi to `6.0`
/// (`pkg/vsphere/session/session.go`), which every vCenter and ESXi since 6.0 serves.
pub const DEFAULT_API_VERSION: &str = "6.0";
/// Default limit for one request (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default limit for [`Client::wait_for_task`].
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default limit on a response body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vmware_soap_session";

/// How to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The expected SHA-1 thumbprint of the server certificate (`AB:CD:…`; case and
    /// separators are not significant). When set, it must match and replaces chain and
    /// host-name verification. Ignored for `http://`.
    pub thumbprint: Option<String>,
    /// Accept any server certificate (VIC's `--force` without `--thumbprint`).
    pub insecure: bool,
    /// The `User-Agent` header (VIC sends `vic-machine/<version>`).
    pub user_agent: String,
    /// Limit for each request.
    pub timeout: Duration,
    /// Limit for [`Client::wait_for_task`].
    pub wait_timeout: Duration,
    /// The API version in `SOAPAction: "urn:vim25/<version>"`.
    pub api_version: String,
    /// Largest response body accepted.
    pub max_body_bytes: usize,
    /// Extra trusted root certificates (DER), besides the system's, for the default policy.
    pub root_certificates: Vec<Vec<u8>>,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions {
            thumbprint: None,
            insecure: false,
            user_agent: format!("vicbed-vic/{}", env!("CARGO_PKG_VERSION")),
            timeout: DEFAULT_TIMEOUT,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            api_version: DEFAULT_API_VERSION.to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            root_certificates: Vec::new(),
        }
    }
}

/// `ServiceContent.about`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct About {
    /// `VMware vCenter Server`, `VMware ESXi`.
    pub name: String,
    /// The full product name with version and build.
    pub full_name: String,
    /// The product version (`8.0.3`).
    pub version: String,
    /// The build number.
    pub build: String,
    /// `VirtualCenter` or `HostAgent`.
    pub api_type: String,
    /// The newest API version the server speaks (`8.0.3.0`).
    pub api_version: String,
    /// vCenter's instance UUID (empty on ESXi).
    pub instance_uuid: String,
}

/// The managers of `ServiceContent` this client uses, plus the whole value.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceContent {
    /// The root folder.
    pub root_folder: MoRef,
    /// The default property collector.
    pub property_collector: MoRef,
    /// The view manager.
    pub view_manager: Option<MoRef>,
    /// The session manager.
    pub session_manager: Option<MoRef>,
    /// The search index.
    pub search_index: Option<MoRef>,
    /// The file manager.
    pub file_manager: Option<MoRef>,
    /// The product.
    pub about: About,
    /// The whole `ServiceContent` as received.
    pub raw: Value,
}

impl ServiceContent {
    fn from_value(v: Value) -> Result<ServiceContent, Error> {
        let moref = |name: &str| v.field(name).and_then(Value::as_moref).cloned();
        let text = |a: Option<&Value>, name: &str| {
            a.and_then(|a| a.field(name))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let about = v.field("about");
        let missing = |what: &str| Error::Protocol(format!("ServiceContent has no {what}"));
        Ok(ServiceContent {
            root_folder: moref("rootFolder").ok_or_else(|| missing("rootFolder"))?,
            property_collector: moref("propertyCollector")
                .ok_or_else(|| missing("propertyCollector"))?,
            view_manager: moref("viewManager"),
            session_manager: moref("sessionManager"),
            search_index: moref("searchIndex"),
            file_manager: moref("fileManager"),
            about: About {
                name: text(about, "name"),
                full_name: text(about, "fullName"),
                version: text(about, "version"),
                build: text(about, "build"),
                api_type: text(about, "apiType"),
                api_version: text(about, "apiVersion"),
                instance_uuid: text(about, "instanceUuid"),
            },
            raw: v,
        })
    }
}

/// The wire: transport, options and the session cookie.
struct Wire {
    endpoint: Endpoint,
    transport: Transport,
    opts: ConnectOptions,
    cookie: Mutex<Option<String>>,
}

impl Wire {
    async fn invoke(
        &self,
        method: &str,
        this: &MoRef,
        args: &[(&str, Value)],
        returns: Option<&str>,
        timeout: Duration,
    ) -> Result<Vec<Value>, Error> {
        let body = envelope::request(method, this, args)?;
        let action = format!("\"urn:vim25/{}\"", self.opts.api_version);
        let cookie = self
            .cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .map(|c| format!("{SESSION_COOKIE}={c}"));
        let mut headers = vec![
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", action.as_str()),
            ("User-Agent", self.opts.user_agent.as_str()),
            ("Accept", "text/xml, multipart/related"),
        ];
        if let Some(c) = &cookie {
            headers.push(("Cookie", c.as_str()));
        }
        let resp = self
            .transport
            .post(&headers, body.as_bytes(), timeout, method)
            .await?;
        for value in resp.header_values("set-cookie") {
            if let Some(c) = session_cookie_of(value) {
                *self.cookie.lock().unwrap_or_else(|p| p.into_inner()) = Some(c);
            }
        }
        let http_error = |status: u16, body: &[u8]| Error::Http {
            status,
            url: self.endpoint.url(),
            excerpt: excerpt(body),
        };
        if resp.status != 200 && resp.status != 500 {
            return Err(http_error(resp.status, &resp.body));
        }
        let text = std::str::from_utf8(&resp.body)
            .map_err(|_| Error::Protocol("the answer is not UTF-8".into()))?;
        match (envelope::read_answer(text, returns), resp.status) {
            (Ok(Answer::Returns(v)), 200) => Ok(v),
            (Ok(Answer::Fault(f)), _) => Err(Error::Fault(f)),
            (Ok(Answer::Returns(_)), status) | (Err(_), status @ 500) => {
                Err(http_error(status, &resp.body))
            }
            (Err(e), _) => Err(e),
        }
    }
}

/// The value of `vmware_soap_session` in a `Set-Cookie` header, quotes kept.
fn session_cookie_of(header: &str) -> Option<String> {
    let pair = header.split(';').next()?;
    let (name, value) = pair.split_once('=')?;
    let value = value.trim();
    (name.trim() == SESSION_COOKIE && !value.is_empty() && value.len() <= 4096)
        .then(|| value.to_owned())
}

/// The start of a body, printable, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

struct Inner {
    wire: Wire,
    content: ServiceContent,
    /// The credentials of the last successful [`Client::login`], to log in again when the
    /// server has ended the session (idle timeout, eviction), as VIC's session keepalive
    /// handler does. Dropped by [`Client::logout`].
    credentials: Mutex<Option<(String, String)>>,
}

/// A connection to a vCenter or ESXi SDK endpoint. Cheap to clone; clones share the session
/// and the connection pool, and calls may run concurrently.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.wire.endpoint.url())
            .field("api_type", &self.inner.content.about.api_type)
            .finish()
    }
}

impl Client {
    /// Connects to `url` (`https://host[:port]/sdk`, `http://…`; see [`Endpoint::parse`]) and
    /// reads the `ServiceContent`. Credentials in the URL are parsed but not used: call
    /// [`Client::login`].
    pub async fn connect(url: &str, opts: ConnectOptions) -> Result<Client, Error> {
        let endpoint = Endpoint::parse(url)?;
        let tls = match endpoint.scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let policy = match (&opts.thumbprint, opts.insecure) {
                    (Some(t), _) => Policy::Thumbprint(normalize_thumbprint(t).ok_or_else(|| {
                        Error::Config(format!(
                            "thumbprint {t:?} is not a SHA-1 thumbprint (20 hex pairs separated by colons)"
                        ))
                    })?),
                    (None, true) => Policy::Insecure,
                    (None, false) => Policy::webpki(&opts.root_certificates),
                };
                Some((client_config(policy)?, server_name(&endpoint.host)?))
            }
        };
        let wire = Wire {
            transport: Transport::new(endpoint.clone(), tls, opts.max_body_bytes),
            endpoint,
            opts,
            cookie: Mutex::new(None),
        };
        let this = MoRef::new("ServiceInstance", "ServiceInstance");
        let content = wire
            .invoke(
                "RetrieveServiceContent",
                &this,
                &[],
                envelope::return_type("RetrieveServiceContent"),
                wire.opts.timeout,
            )
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Protocol("RetrieveServiceContent returned nothing".into()))?;
        Ok(Client {
            inner: Arc::new(Inner {
                content: ServiceContent::from_value(content)?,
                wire,
                credentials: Mutex::new(None),
            }),
        })
    }

    /// The endpoint connected to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.wire.endpoint
    }

    /// The options connected with.
    pub fn options(&self) -> &ConnectOptions {
        &self.inner.wire.opts
    }

    /// The server's `ServiceContent`.
    pub fn service_content(&self) -> &ServiceContent {
        &self.inner.content
    }

    /// `ServiceContent.about`.
    pub fn about(&self) -> &About {
        &self.inner.content.about
    }

    /// True for vCenter, false for a standalone ESXi host.
    pub fn is_vc(&self) -> bool {
        self.inner.content.about.api_type == "VirtualCenter"
    }

    /// The session cookie's value as the server set it (quotes included, if any): send
    /// `Cookie: vmware_soap_session=<value>` to use the session from elsewhere (datastore
    /// file transfers over `/folder`).
    pub fn session_cookie(&self) -> Option<String> {
        self.inner
            .wire
            .cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn session_manager(&self) -> Result<&MoRef, Error> {
        self.inner
            .content
            .session_manager
            .as_ref()
            .ok_or_else(|| Error::Protocol("the server has no SessionManager".into()))
    }

    /// `SessionManager.Login`: returns the `UserSession`. Wrong credentials give the
    /// `InvalidLogin` fault.
    pub async fn login(&self, user: &str, password: &str) -> Result<Value, Error> {
        let session = self.login_once(user, password).await?;
        *self
            .inner
            .credentials
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((user.to_owned(), password.to_owned()));
        Ok(session)
    }

    async fn login_once(&self, user: &str, password: &str) -> Result<Value, Error> {
        let sm = self.session_manager()?.clone();
        self.inner
            .wire
            .invoke(
                "Login",
                &sm,
                &[("userName", user.into()), ("password", password.into())],
                envelope::return_type("Login"),
                self.inner.wire.opts.timeout,
            )
            .await?
            .into_iter()
            .next()
            .map(unwrap_any)
            .ok_or_else(|| Error::Protocol("Login returned no UserSession".into()))
    }

    /// `SessionManager.Logout`, then forgets the cookie.
    pub async fn logout(&self) -> Result<(), Error> {
        *self
            .inner
            .credentials
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        let sm = self.session_manager()?.clone();
        self.call("Logout", &sm, &[]).await?;
        *self
            .inner
            .wire
            .cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// Calls `method` on `this` with `args` (in WSDL order; data objects name their type).
    /// Returns `None` for a void result, the value for one `returnval`, and a
    /// [`Value::Array`] for several. An array-valued method that returns a single item gives
    /// that item: use [`Client::call_list`] when the result is an array.
    pub async fn call(
        &self,
        method: &str,
        this: &MoRef,
        args: &[(&str, Value)],
    ) -> Result<Option<Value>, Error> {
        let mut values = self.call_list(method, this, args).await?;
        Ok(match values.len() {
            0 => None,
            1 => values.pop(),
            _ => Some(Value::Array(Array {
                item: Cow::Owned(common_type(&values)),
                items: values,
            })),
        })
    }

    /// Like [`Client::call`], always as a list of `returnval`s.
    pub async fn call_list(
        &self,
        method: &str,
        this: &MoRef,
        args: &[(&str, Value)],
    ) -> Result<Vec<Value>, Error> {
        self.call_typed(
            method,
            this,
            args,
            envelope::return_type(method),
            self.inner.wire.opts.timeout,
        )
        .await
    }

    /// The most general call: `returns` names the WSDL type of `returnval` (for results this
    /// client does not know, so untyped data objects still decode by the schema), and
    /// `timeout` bounds this request.
    pub async fn call_typed(
        &self,
        method: &str,
        this: &MoRef,
        args: &[(&str, Value)],
        returns: Option<&str>,
        timeout: Duration,
    ) -> Result<Vec<Value>, Error> {
        let first = self
            .inner
            .wire
            .invoke(method, this, args, returns, timeout)
            .await;
        let values = match first {
            // The server ended the session (idle timeout, eviction at its session bound):
            // log in again with the same credentials and retry once.
            Err(Error::Fault(f)) if f.ty == "NotAuthenticated" && method != "Logout" => {
                let credentials = self
                    .inner
                    .credentials
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let Some((user, password)) = credentials else {
                    return Err(Error::Fault(f));
                };
                self.login_once(&user, &password).await?;
                self.inner
                    .wire
                    .invoke(method, this, args, returns, timeout)
                    .await?
            }
            other => other?,
        };
        Ok(values.into_iter().map(unwrap_any).collect())
    }

    /// A [`Finder`] for inventory lookups.
    pub fn finder(&self) -> Finder {
        Finder::new(self.clone())
    }
}

fn common_type(values: &[Value]) -> String {
    let first = values.first().map(|v| v.xsi_type().into_owned());
    match first {
        Some(t) if values.iter().all(|v| v.xsi_type() == t.as_str()) => {
            t.strip_prefix("xsd:").unwrap_or(&t).to_owned()
        }
        _ => "anyType".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_session_cookie_from_set_cookie() {
        assert_eq!(
            session_cookie_of(r#"vmware_soap_session="abc"; Path=/; HttpOnly; Secure;"#).as_deref(),
            Some(r#""abc""#)
        );
        assert_eq!(
            session_cookie_of("vmware_soap_session=x; HttpOnly").as_deref(),
            Some("x")
        );
        assert_eq!(session_cookie_of("other=1"), None);
        assert_eq!(session_cookie_of("vmware_soap_session=; Path=/"), None);
    }

    #[test]
    fn several_returnvals_name_their_common_type() {
        let refs = [
            MoRef::new("VirtualMachine", "vm-1"),
            MoRef::new("VirtualMachine", "vm-2"),
        ];
        let vals: Vec<Value> = refs.iter().map(Value::moref).collect();
        assert_eq!(common_type(&vals), "ManagedObjectReference");
        assert_eq!(common_type(&[Value::Int(1), Value::str("a")]), "anyType");
        assert_eq!(excerpt(b"<html>\n oops\n</html>"), "<html>  oops </html>");
    }
}
