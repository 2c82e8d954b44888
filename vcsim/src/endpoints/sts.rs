//! A minimal WS-Trust 1.4 security token service (vCenter's SSO STS) at `/sts/STSService`
//! and `/sts/STSService/vsphere.local` (the URL the lookup service advertises).
//!
//! `Issue` (`RequestSecurityToken` with `RequestType …/Issue`) takes the user's name and
//! password from the `wsse:UsernameToken` of the request's `wsse:Security` header (checked
//! as a vim25 Login checks them) and answers a SAML 2.0 bearer assertion for
//! `user@vsphere.local` with vCenter's shape: an `ID`, an `IssueInstant` and `Conditions`
//! on the wall clock (tokens are handed to other systems, which judge them by real time),
//! the requested lifetime capped at vCenter's default maximum for bearer tokens.
//! `Renew` (`…/Renew` with a `RenewTarget`) answers a fresh assertion for a live token
//! that was issued renewable.
//!
//! The assertion is not signed. What makes it worth anything is its `ID`, drawn from the
//! OS CSPRNG and kept with the user and the expiry in a bounded server-side registry
//! ([`StsTokens`]): vim25 `LoginByToken` looks the presented assertion's `ID` up there, so a
//! made-up or altered token names no user. Holder-of-key tokens (whose proof is an XML
//! signature this emulator does not verify) and `ActAs` delegation are refused with
//! `wst:InvalidRequest` rather than issued unchecked.

use super::xml;
use crate::emulator::Emulator;
use crate::server::Vcsim;
use crate::soap::{Element, SOAPENV_NS, escape_attr, escape_text, parse_document};
use crate::vmodl::{format_datetime, parse_datetime};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method as HttpMethod, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::collections::BTreeMap;

/// The path govmomi's `sts.NewClient` falls back to without a lookup service.
pub const STS_PATH: &str = "/sts/STSService";
/// The SSO domain of issued names (vCenter's default).
pub const SSO_DOMAIN: &str = "vsphere.local";

/// Most live tokens kept; at the bound, the one expiring first is forgotten (it then no
/// longer logs in), so a client issuing in a loop cannot grow the registry.
pub const TOKENS_MAX: usize = 4096;
/// vCenter's default maximum bearer token lifetime (SSO token policy: 300 s); also the
/// lifetime of a request that names none.
pub const MAX_BEARER_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// Largest request accepted: a token request carries credentials or one assertion.
pub const MAX_STS_BODY_BYTES: usize = 256 * 1024;
/// How many times a renewable token may be renewed (vCenter's `RenewRestriction Count`).
const RENEW_COUNT: u32 = 10;

const WST_NS: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const BEARER: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// A token this STS issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    /// The user name as it logged in (what a session made from the token shows).
    pub user: String,
    /// Validity start, wall-clock epoch milliseconds.
    pub not_before_ms: i64,
    /// Validity end (exclusive), wall-clock epoch milliseconds.
    pub expires_ms: i64,
    /// Renewals left (0: not renewable).
    pub renewals_left: u32,
}

/// The registry of issued assertion IDs.
#[derive(Debug, Default)]
pub struct StsTokens {
    by_id: BTreeMap<String, IssuedToken>,
}

impl StsTokens {
    /// The user of the live token with assertion `id` at `now_ms` (wall clock).
    pub fn user_of(&self, id: &str, now_ms: i64) -> Option<&str> {
        self.by_id
            .get(id)
            .filter(|t| t.not_before_ms <= now_ms && now_ms < t.expires_ms)
            .map(|t| t.user.as_str())
    }

    /// How many tokens are kept.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Keeps a new token: expired ones are dropped first, and at the bound the one
    /// expiring first.
    fn insert(&mut self, id: String, token: IssuedToken, now_ms: i64) {
        self.by_id.retain(|_, t| t.expires_ms > now_ms);
        while self.by_id.len() >= TOKENS_MAX {
            let first = self
                .by_id
                .iter()
                .min_by_key(|(k, t)| (t.expires_ms, k.as_str()))
                .map(|(k, _)| k.clone());
            match first {
                Some(k) => self.by_id.remove(&k),
                None => break,
            };
        }
        self.by_id.insert(id, token);
    }
}

/// A WS-Trust fault: `code` is a `wsse:` or `wst:` QName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsFault {
    /// `wsse:FailedAuthentication`, `wst:InvalidRequest`, …
    pub code: &'static str,
    /// The fault string.
    pub msg: String,
}

fn failed_authentication() -> StsFault {
    StsFault {
        code: "wsse:FailedAuthentication",
        msg: "Authentication failed: the user name or password is incorrect".into(),
    }
}

fn invalid_request(msg: impl Into<String>) -> StsFault {
    StsFault {
        code: "wst:InvalidRequest",
        msg: msg.into(),
    }
}

/// The STS routes, merged into the side services' router.
pub fn routes() -> Router<Vcsim> {
    Router::new()
        .route(STS_PATH, any(handler))
        .route("/sts/STSService/vsphere.local", any(handler))
        .route_layer(DefaultBodyLimit::max(MAX_STS_BODY_BYTES))
}

/// The wall clock in epoch milliseconds (what token lifetimes are judged by, here and in
/// `LoginByToken`).
pub(crate) fn wall_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn handler(State(vc): State<Vcsim>, method: HttpMethod, body: Bytes) -> Response {
    if method != HttpMethod::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "this SOAP endpoint accepts POST only\n",
        )
            .into_response();
    }
    if body.len() > MAX_STS_BODY_BYTES {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let result = vc.with(|emu| {
        if emu.flavor != crate::Flavor::VirtualCenter {
            // An ESXi host has no SSO.
            return None;
        }
        let text = std::str::from_utf8(&body)
            .map_err(|_| invalid_request("the request body is not UTF-8"));
        Some(text.and_then(|t| answer(emu, t, wall_now_ms())))
    });
    match result {
        None => (StatusCode::NOT_FOUND, "not served by an ESXi host\n").into_response(),
        Some(Ok(body)) => xml(StatusCode::OK, body),
        Some(Err(f)) => xml(StatusCode::INTERNAL_SERVER_ERROR, fault_envelope(&f)),
    }
}

/// Answers one STS request body at `now_ms` (wall clock) with a response envelope.
pub fn answer(emu: &mut Emulator, body: &str, now_ms: i64) -> Result<String, StsFault> {
    let root = parse_document(body).map_err(|e| invalid_request(e.to_string()))?;
    if root.name != "Envelope" || root.ns.as_deref() != Some(SOAPENV_NS) {
        return Err(invalid_request(
            "the root element is not a SOAP 1.1 Envelope",
        ));
    }
    let part = |name: &str| {
        root.children
            .iter()
            .find(|c| c.name == name && c.ns.as_deref() == Some(SOAPENV_NS))
    };
    let security = part("Header").and_then(|h| h.children.iter().find(|c| c.name == "Security"));
    let rst = part("Body")
        .and_then(|b| b.child("RequestSecurityToken"))
        .ok_or_else(|| invalid_request("the Body holds no RequestSecurityToken"))?;
    let text = |name: &str| rst.child_text(name).map(str::trim).unwrap_or("");
    let lifetime_ms = requested_lifetime_ms(rst)?;
    match text("RequestType").rsplit('/').next().unwrap_or("") {
        "Issue" => {
            if rst.child("ActAs").is_some() {
                return Err(invalid_request("ActAs tokens are not issued by this STS"));
            }
            let key_type = text("KeyType");
            if !key_type.is_empty() && key_type != BEARER {
                return Err(invalid_request(
                    "only bearer tokens are issued by this STS (holder-of-key proofs are not verified)",
                ));
            }
            let token = security
                .and_then(|s| s.child("UsernameToken"))
                .ok_or_else(failed_authentication)?;
            let user = token.child_text("Username").unwrap_or("");
            let password = token.child_text("Password").unwrap_or("");
            if !emu.config.accepts_login(user, password) {
                return Err(failed_authentication());
            }
            let renewable = rst
                .child("Renewing")
                .and_then(|r| r.attr("Allow"))
                .is_some_and(|a| a == "true" || a == "1");
            let renewals = if renewable { RENEW_COUNT } else { 0 };
            let issued = issue(emu, user.to_owned(), lifetime_ms, renewals, now_ms)?;
            Ok(issue_response(&issued, true))
        }
        "Renew" => {
            let target = rst
                .child("RenewTarget")
                .and_then(|t| t.child("Assertion"))
                .and_then(|a| a.attr("ID"))
                .ok_or_else(|| invalid_request("RenewTarget holds no assertion"))?;
            let Some(old) = emu.side.sts.by_id.get(target).cloned() else {
                return Err(invalid_token());
            };
            if emu.side.sts.user_of(target, now_ms).is_none() || old.renewals_left == 0 {
                return Err(invalid_token());
            }
            let issued = issue(emu, old.user, lifetime_ms, old.renewals_left - 1, now_ms)?;
            Ok(issue_response(&issued, false))
        }
        other => Err(StsFault {
            code: "wst:InvalidRequest",
            msg: format!("request type {other:?} is not supported"),
        }),
    }
}

fn invalid_token() -> StsFault {
    StsFault {
        code: "wst:InvalidSecurityToken",
        msg: "The token is unknown, expired or not renewable".into(),
    }
}

/// The request's `Lifetime` (Expires − Created), capped; the cap when it names none.
fn requested_lifetime_ms(rst: &Element) -> Result<i64, StsFault> {
    let Some(l) = rst.child("Lifetime") else {
        return Ok(MAX_BEARER_LIFETIME_MS);
    };
    let at = |name: &str| l.child_text(name).and_then(parse_datetime);
    match (at("Created"), at("Expires")) {
        (Some(c), Some(e)) if e > c => Ok((e - c).min(MAX_BEARER_LIFETIME_MS)),
        _ => Err(invalid_request(
            "Lifetime needs a Created before its Expires",
        )),
    }
}

/// One issued assertion, ready to be written.
struct Issued {
    id: String,
    user: String,
    now_ms: i64,
    expires_ms: i64,
    renewals_left: u32,
}

fn issue(
    emu: &mut Emulator,
    user: String,
    lifetime_ms: i64,
    renewals_left: u32,
    now_ms: i64,
) -> Result<Issued, StsFault> {
    let id = crate::secret::session_key().map_err(|e| StsFault {
        code: "wst:RequestFailed",
        msg: e.to_string(),
    })?;
    // SAML IDs are xsd:ID (an NCName): it may not start with a digit.
    let id = format!("_{id}");
    let expires_ms = now_ms.saturating_add(lifetime_ms);
    emu.side.sts.insert(
        id.clone(),
        IssuedToken {
            user: user.clone(),
            not_before_ms: now_ms,
            expires_ms,
            renewals_left,
        },
        now_ms,
    );
    Ok(Issued {
        id,
        user,
        now_ms,
        expires_ms,
        renewals_left,
    })
}

/// The SAML subject's name: the user as `name@vsphere.local` unless it names a domain.
fn name_id(user: &str) -> String {
    if user.contains('@') || user.contains('\\') {
        user.to_owned()
    } else {
        format!("{user}@{SSO_DOMAIN}")
    }
}

/// The assertion as vCenter's STS writes it (less the signature): every namespace it uses
/// is declared on its root, so a client can carry it verbatim into another request.
fn assertion(t: &Issued) -> String {
    let now = format_datetime(t.now_ms);
    let expires = format_datetime(t.expires_ms);
    let mut out = String::with_capacity(1536);
    out.push_str(&format!(
        r#"<saml2:Assertion xmlns:saml2="{SAML_NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{}" IssueInstant="{now}" Version="2.0">"#,
        t.id
    ));
    out.push_str(&format!(
        r#"<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">https://localhost/websso/SAML2/Metadata/{SSO_DOMAIN}</saml2:Issuer>"#
    ));
    out.push_str(r#"<saml2:Subject><saml2:NameID Format="http://schemas.xmlsoap.org/claims/UPN">"#);
    escape_text(&mut out, &name_id(&t.user));
    out.push_str(&format!(
        r#"</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData NotOnOrAfter="{expires}"/></saml2:SubjectConfirmation></saml2:Subject>"#
    ));
    out.push_str(&format!(
        r#"<saml2:Conditions NotBefore="{now}" NotOnOrAfter="{expires}"><saml2:ProxyRestriction Count="10"/>"#
    ));
    if t.renewals_left > 0 {
        out.push_str(&format!(
            r#"<saml2:Condition xmlns:rsa="http://www.rsa.com/names/2009/12/std-ext/SAML2.0" Count="{}" xsi:type="rsa:RenewRestrictionType"/>"#,
            t.renewals_left
        ));
    }
    out.push_str(&format!(
        r#"</saml2:Conditions><saml2:AuthnStatement AuthnInstant="{now}"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement></saml2:Assertion>"#
    ));
    out
}

const HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>"#
);
const TAIL: &str = "</S:Body></S:Envelope>";

/// `RequestSecurityTokenResponseCollection` (Issue) or a bare
/// `RequestSecurityTokenResponse` (Renew), as govmomi's `sts` client reads them.
fn issue_response(t: &Issued, collection: bool) -> String {
    let mut out = String::from(HEAD);
    let rstr = format!(
        r#"<wst:RequestSecurityTokenResponse xmlns:wst="{WST_NS}"><wst:TokenType>{SAML_NS}</wst:TokenType><wst:Lifetime><wsu:Created xmlns:wsu="{WSU_NS}">{}</wsu:Created><wsu:Expires xmlns:wsu="{WSU_NS}">{}</wsu:Expires></wst:Lifetime><wst:RequestedSecurityToken>{}</wst:RequestedSecurityToken><wst:Renewing Allow="{}" OK="false"/><wst:Delegatable>false</wst:Delegatable><wst:KeyType>{BEARER}</wst:KeyType><wst:SignatureAlgorithm>{RSA_SHA256}</wst:SignatureAlgorithm></wst:RequestSecurityTokenResponse>"#,
        format_datetime(t.now_ms),
        format_datetime(t.expires_ms),
        assertion(t),
        t.renewals_left > 0,
    );
    if collection {
        out.push_str(&format!(
            r#"<wst:RequestSecurityTokenResponseCollection xmlns:wst="{WST_NS}">{rstr}</wst:RequestSecurityTokenResponseCollection>"#
        ));
    } else {
        out.push_str(&rstr);
    }
    out.push_str(TAIL);
    out
}

/// A SOAP 1.1 fault whose code is a WS-Security or WS-Trust QName.
fn fault_envelope(f: &StsFault) -> String {
    let mut out = String::from(HEAD);
    out.push_str(r#"<S:Fault><faultcode xmlns:wsse=""#);
    escape_attr(&mut out, WSSE_NS);
    out.push_str(r#"" xmlns:wst=""#);
    escape_attr(&mut out, WST_NS);
    out.push_str(r#"">"#);
    out.push_str(f.code);
    out.push_str("</faultcode><faultstring>");
    escape_text(&mut out, &f.msg);
    out.push_str("</faultstring></S:Fault>");
    out.push_str(TAIL);
    out
}

#[cfg(test)]
mod tests;
