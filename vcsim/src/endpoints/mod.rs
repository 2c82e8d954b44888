//! The side SOAP services a vCenter answers beside `/sdk`: the lookup service
//! (`/lookupservice/sdk`), storage policies (`/pbm` and `/pbm/sdk`) and vSAN health
//! (`/vsanHealth`), and the SSO security token service (`/sts/STSService`, see [`sts`]).
//!
//! Each service has its own namespace (`urn:lookup`, `urn:pbm`, `urn:vsan`) and types that
//! are not in the vim25 schema: requests are read with the shared XML parser, answers are
//! written with the shared value writer inside an envelope of the service's namespace, and
//! faults (vim25 fault types such as `MethodNotFound`, or the service's own) carry their
//! detail element in that namespace too. An unknown method is a `MethodNotFound` fault,
//! never a 404.
//!
//! Sessions: as on vCenter, the storage-policy and vSAN services accept the vim25 login's
//! `vmware_soap_session` cookie (govmomi's service clients copy it, and also send it as the
//! `<vcSessionCookie>` SOAP header, which is accepted too); without one they answer
//! `NotAuthenticated`. The lookup service answers anonymously, as a Platform Services
//! Controller does (clients query it before they log in).
//!
//! Core function: [`routes`] (merged into the server's router).

mod lookup;
pub mod pbm;
pub mod sts;
mod vsan;

use crate::emulator::Emulator;
use crate::http::ConnInfo;
use crate::server::Vcsim;
use crate::session::cookie_session_key;
use crate::soap::{Element, SOAPENV_NS, parse_document};
use crate::vmodl::{Fault, MoRef, Value};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use std::time::{Duration, Instant};

/// Largest request body the side services accept: their calls carry a few ids or a
/// policy spec, far below this (larger bodies get 413 before they are read whole).
pub const MAX_SIDE_BODY_BYTES: usize = 1024 * 1024;

/// State the side services keep between calls (inside the emulator, so it lives as long
/// as the server and is reached under the emulator's lock).
#[derive(Debug, Default)]
pub struct SideState {
    /// Storage policies.
    pub pbm: pbm::PbmStore,
    /// Tokens the security token service issued.
    pub sts: sts::StsTokens,
}

/// Which side service a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The SSO lookup service.
    Lookup,
    /// Storage policy based management.
    Pbm,
    /// vSAN health and performance.
    Vsan,
}

impl Service {
    /// The XML namespace of the service's messages.
    pub fn namespace(self) -> &'static str {
        match self {
            Service::Lookup => "urn:lookup",
            Service::Pbm => "urn:pbm",
            Service::Vsan => "urn:vsan",
        }
    }

    fn needs_session(self) -> bool {
        !matches!(self, Service::Lookup)
    }
}

/// A side-service call as it arrived.
#[derive(Clone, Debug)]
pub struct SideCall {
    /// The method name (`PbmQueryProfile`).
    pub method: String,
    /// The `_this` object.
    pub this: MoRef,
    /// The method element; arguments are its children.
    pub args: Element,
    /// The session key from a `<vcSessionCookie>` SOAP header, if any.
    pub header_cookie: Option<String>,
}

/// What a handler needs besides the call: who calls and where the server is.
#[derive(Clone, Debug)]
pub struct SideContext {
    /// The caller's user name, when the call carries a live session.
    pub user: Option<String>,
    /// The server's base URL as the client reached it (`https://host:port`).
    pub base_url: String,
}

/// Reads a side-service call out of a request body.
pub fn read_side_call(body: &str) -> Result<SideCall, Fault> {
    let root = parse_document(body).map_err(|e| Fault::invalid_request(e.to_string()))?;
    if root.name != "Envelope" || root.ns.as_deref() != Some(SOAPENV_NS) {
        return Err(Fault::invalid_request(
            "the root element is not a SOAP 1.1 Envelope",
        ));
    }
    let header_cookie = root
        .children
        .iter()
        .find(|c| c.name == "Header" && c.ns.as_deref() == Some(SOAPENV_NS))
        .and_then(|h| h.child_text("vcSessionCookie"))
        .map(|s| s.trim_matches('"').to_owned())
        .filter(|s| !s.is_empty());
    let body = root
        .children
        .into_iter()
        .find(|c| c.name == "Body" && c.ns.as_deref() == Some(SOAPENV_NS))
        .ok_or_else(|| Fault::invalid_request("the envelope has no Body"))?;
    let mut calls = body.children.into_iter();
    let args = calls
        .next()
        .ok_or_else(|| Fault::invalid_request("the Body holds no method call"))?;
    if calls.next().is_some() {
        return Err(Fault::invalid_request(
            "the Body holds more than one element",
        ));
    }
    let this = args
        .child("_this")
        .and_then(crate::soap::decode::moref)
        .ok_or_else(|| Fault::invalid_request(format!("{} has no _this", args.name)))?;
    Ok(SideCall {
        method: args.name.clone(),
        this,
        args,
        header_cookie,
    })
}

/// A result envelope in the side service's namespace `ns` (the SOAP layer writes it).
pub fn response(ns: &str, method: &str, result: Option<&Value>) -> String {
    crate::soap::response_in(ns, method, result)
}

/// A fault envelope whose `<detail>` element is in the side service's namespace.
pub fn fault(ns: &str, f: &Fault) -> String {
    crate::soap::fault_in(ns, f)
}

/// `MethodNotFound` for a method the side service does not implement on `this`.
pub fn method_not_found(call: &SideCall) -> Fault {
    Fault::method_not_found(&call.this, &call.method)
}

/// The side services' routes, merged into [`Vcsim::router`].
pub fn routes() -> Router<Vcsim> {
    Router::new()
        .route("/lookupservice/sdk", side_route(Service::Lookup))
        // govmomi's pbm client posts to `/pbm`; vCenter's own URL is `/pbm/sdk`.
        .route("/pbm", side_route(Service::Pbm))
        .route("/pbm/sdk", side_route(Service::Pbm))
        .route("/vsanHealth", side_route(Service::Vsan))
        .route_layer(DefaultBodyLimit::max(MAX_SIDE_BODY_BYTES))
        .merge(sts::routes())
}

/// The route of one side service: every method, answered by [`handle`].
fn side_route(service: Service) -> MethodRouter<Vcsim> {
    any(
        move |State(vc): State<Vcsim>,
              method: HttpMethod,
              axum::Extension(conn): axum::Extension<ConnInfo>,
              headers: HeaderMap,
              body: Bytes| async move { handle(service, &vc, &method, &conn, &headers, &body) },
    )
}

/// An XML response (the side services' answers and faults).
fn xml(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

fn handle(
    service: Service,
    vc: &Vcsim,
    method: &HttpMethod,
    conn: &ConnInfo,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let ns = service.namespace();
    if *method != HttpMethod::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "this SOAP endpoint accepts POST only\n",
        )
            .into_response();
    }
    if body.len() > MAX_SIDE_BODY_BYTES {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let call = std::str::from_utf8(body)
        .map_err(|_| Fault::invalid_request("the request body is not UTF-8"))
        .and_then(read_side_call);
    let call = match call {
        Ok(c) => c,
        Err(f) => return xml(StatusCode::INTERNAL_SERVER_ERROR, fault(ns, &f)),
    };
    let cookie_key = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(cookie_session_key);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && !h.contains(['/', ' ', '"', '<']))
        .map(str::to_owned)
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let scheme = if conn.tls { "https" } else { "http" };
    let base_url = format!("{scheme}://{host}");
    let result = vc.with(|emu| {
        if emu.flavor != crate::Flavor::VirtualCenter {
            // An ESXi host serves none of these services.
            return Err(None);
        }
        let user = [cookie_key.as_deref(), call.header_cookie.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|k| live_session_user(emu, k));
        if service.needs_session() && user.is_none() {
            return Err(Some(Fault::not_authenticated(&call.this)));
        }
        let ctx = SideContext { user, base_url };
        let r = match service {
            Service::Lookup => lookup::dispatch(emu, &ctx, &call),
            Service::Pbm => pbm::dispatch(emu, &ctx, &call),
            Service::Vsan => vsan::dispatch(emu, &ctx, &call),
        };
        r.map_err(Some)
    });
    match result {
        Ok(v) => xml(StatusCode::OK, response(ns, &call.method, v.as_ref())),
        Err(Some(f)) => xml(StatusCode::INTERNAL_SERVER_ERROR, fault(ns, &f)),
        Err(None) => (StatusCode::NOT_FOUND, "not served by an ESXi host\n").into_response(),
    }
}

/// The user of the session that `vmware_soap_session` cookie `cookie` authenticates, when
/// it is live (present and not idle past the timeout).
fn live_session_user(emu: &Emulator, cookie: &str) -> Option<String> {
    let timeout_s = emu.config.session_idle_timeout_s;
    let timeout = Duration::from_secs(timeout_s);
    emu.sessions
        .by_cookie(cookie)
        // A timeout of 0 is none, as for SOAP calls.
        .filter(|s| {
            timeout_s == 0 || Instant::now().saturating_duration_since(s.last_active_at) <= timeout
        })
        .map(|s| s.user.clone())
}

/// The text of argument `name`, or `InvalidArgument` naming it.
pub fn required_text<'a>(call: &'a SideCall, name: &str) -> Result<&'a str, Fault> {
    call.args
        .child_text(name)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Fault::invalid_argument(name))
}

/// `this` must be `ty`: other receivers answer `MethodNotFound`.
pub fn expect_this(call: &SideCall, ty: &str) -> Result<(), Fault> {
    if call.this.ty == ty {
        Ok(())
    } else {
        Err(method_not_found(call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(header: &str, body: &str) -> String {
        format!(
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>{header}</soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
        )
    }

    #[test]
    fn reads_the_call_and_the_session_header() {
        let c = read_side_call(&env(
            "<vcSessionCookie>abc</vcSessionCookie>",
            r#"<PbmQueryProfile xmlns="urn:pbm"><_this type="PbmProfileProfileManager">ProfileManager</_this></PbmQueryProfile>"#,
        ))
        .unwrap();
        assert_eq!(c.method, "PbmQueryProfile");
        assert_eq!(
            c.this,
            MoRef::new("PbmProfileProfileManager", "ProfileManager")
        );
        assert_eq!(c.header_cookie.as_deref(), Some("abc"));
    }

    #[test]
    fn rejects_what_is_not_one_call() {
        assert!(read_side_call("<a/>").is_err());
        assert!(read_side_call("not xml <").is_err());
        assert!(read_side_call(&env("", "<List/>")).is_err());
        assert!(read_side_call(&env("", "")).is_err());
    }

    #[test]
    fn fault_detail_is_in_the_service_namespace() {
        let call = read_side_call(&env(
            "",
            r#"<Nope xmlns="urn:pbm"><_this type="PbmServiceInstance">ServiceInstance</_this></Nope>"#,
        ))
        .unwrap();
        let xml = fault("urn:pbm", &method_not_found(&call));
        assert!(xml.contains(r#"<MethodNotFoundFault xmlns="urn:pbm" xsi:type="MethodNotFound">"#));
        assert!(xml.contains("<method>Nope</method>"));
        assert!(parse_document(&xml).is_ok());
    }

    #[test]
    fn response_is_in_the_service_namespace() {
        let xml = response("urn:lookup", "GetSiteId", Some(&Value::str("default-site")));
        assert!(xml.contains(
            r#"<GetSiteIdResponse xmlns="urn:lookup"><returnval>default-site</returnval></GetSiteIdResponse>"#
        ));
    }
}
