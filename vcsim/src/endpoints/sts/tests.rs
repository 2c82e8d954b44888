use super::*;
use crate::Config;

const NOW: i64 = 1_800_000_000_000;

fn emu() -> Emulator {
    Emulator::new(Config::default()).expect("default inventory")
}

/// A request as govmomi's `sts.Client.Issue` writes it for a bearer token.
fn issue_request(user: &str, password: &str, lifetime_ms: i64, renewable: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header xmlns="http://schemas.xmlsoap.org/soap/envelope/"><wsse:Security xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}"><wsu:Timestamp xmlns:wsu="{WSU_NS}" wsu:Id="_t"><wsu:Created>x</wsu:Created><wsu:Expires>y</wsu:Expires></wsu:Timestamp><wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body xmlns="http://schemas.xmlsoap.org/soap/envelope/"><RequestSecurityToken xmlns="{WST_NS}"><TokenType>{SAML_NS}</TokenType><RequestType>{WST_NS}/Issue</RequestType><Lifetime><Created xmlns="{WSU_NS}">{}</Created><Expires xmlns="{WSU_NS}">{}</Expires></Lifetime><Renewing Allow="{renewable}" OK="false"></Renewing><KeyType>{BEARER}</KeyType><SignatureAlgorithm>{RSA_SHA256}</SignatureAlgorithm></RequestSecurityToken></Body></Envelope>"#,
        format_datetime(NOW),
        format_datetime(NOW + lifetime_ms),
    )
}

fn renew_request(assertion: &str) -> String {
    format!(
        r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><RequestSecurityToken xmlns="{WST_NS}"><TokenType>{SAML_NS}</TokenType><RequestType>{WST_NS}/Renew</RequestType><RenewTarget>{assertion}</RenewTarget></RequestSecurityToken></Body></Envelope>"#
    )
}

/// The assertion inside a response, and its ID.
fn assertion_of(response: &str) -> (String, String) {
    let start = response.find("<saml2:Assertion").expect("an assertion");
    let end = response.find("</saml2:Assertion>").expect("its end") + "</saml2:Assertion>".len();
    let a = response[start..end].to_owned();
    let root = parse_document(&a).expect("the assertion stands alone as XML");
    let id = root.attr("ID").expect("an ID").to_owned();
    (a, id)
}

#[test]
fn issue_checks_credentials_and_registers_the_assertion() {
    let mut e = emu();
    let r = answer(&mut e, &issue_request("user", "pass", 60_000, false), NOW).unwrap();
    assert!(r.contains("RequestSecurityTokenResponseCollection"), "{r}");
    let (a, id) = assertion_of(&r);
    assert!(id.starts_with('_') && id.len() > 30, "{id}");
    assert!(a.contains(">user@vsphere.local</saml2:NameID>"), "{a}");
    assert!(a.contains(&format!(
        r#"NotOnOrAfter="{}""#,
        format_datetime(NOW + 60_000)
    )));
    assert_eq!(e.side.sts.user_of(&id, NOW), Some("user"));
    assert_eq!(e.side.sts.user_of(&id, NOW + 60_000), None, "expired");
    assert_eq!(e.side.sts.user_of("_made-up", NOW), None);

    let bad = answer(&mut e, &issue_request("user", "wrong", 60_000, false), NOW).unwrap_err();
    assert_eq!(bad.code, "wsse:FailedAuthentication");
    assert_eq!(e.side.sts.len(), 1);
}

#[test]
fn lifetimes_are_capped_at_the_bearer_maximum() {
    let mut e = emu();
    let r = answer(
        &mut e,
        &issue_request("user", "pass", 86_400_000, false),
        NOW,
    )
    .unwrap();
    let (_, id) = assertion_of(&r);
    assert_eq!(
        e.side.sts.user_of(&id, NOW + MAX_BEARER_LIFETIME_MS - 1),
        Some("user")
    );
    assert_eq!(e.side.sts.user_of(&id, NOW + MAX_BEARER_LIFETIME_MS), None);
}

#[test]
fn renew_needs_a_live_renewable_token() {
    let mut e = emu();
    let plain = answer(&mut e, &issue_request("user", "pass", 60_000, false), NOW).unwrap();
    let (plain, _) = assertion_of(&plain);
    let f = answer(&mut e, &renew_request(&plain), NOW).unwrap_err();
    assert_eq!(f.code, "wst:InvalidSecurityToken");

    let r = answer(&mut e, &issue_request("user", "pass", 60_000, true), NOW).unwrap();
    let (a, old) = assertion_of(&r);
    let renewed = answer(&mut e, &renew_request(&a), NOW + 30_000).unwrap();
    assert!(
        !renewed.contains("Collection"),
        "Renew answers a bare response"
    );
    let (_, new) = assertion_of(&renewed);
    assert_ne!(new, old);
    assert_eq!(e.side.sts.user_of(&new, NOW + 80_000), Some("user"));
    let late = answer(&mut e, &renew_request(&a), NOW + 61_000).unwrap_err();
    assert_eq!(late.code, "wst:InvalidSecurityToken");
}

#[test]
fn holder_of_key_and_garbage_are_refused() {
    let mut e = emu();
    let hok = issue_request("user", "pass", 60_000, false).replace(
        BEARER,
        "http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey",
    );
    assert_eq!(
        answer(&mut e, &hok, NOW).unwrap_err().code,
        "wst:InvalidRequest"
    );
    assert_eq!(
        answer(&mut e, "<a", NOW).unwrap_err().code,
        "wst:InvalidRequest"
    );
    assert!(e.side.sts.is_empty());
}

#[test]
fn the_registry_is_bounded() {
    let mut t = StsTokens::default();
    for i in 0..TOKENS_MAX + 5 {
        let token = IssuedToken {
            user: "u".into(),
            not_before_ms: NOW,
            expires_ms: NOW + 1000 + i as i64,
            renewals_left: 0,
        };
        t.insert(format!("_{i}"), token, NOW);
    }
    assert_eq!(t.len(), TOKENS_MAX);
    assert_eq!(t.user_of("_0", NOW), None, "the first to expire went first");
    assert_eq!(t.user_of(&format!("_{}", TOKENS_MAX + 4), NOW), Some("u"));
}
