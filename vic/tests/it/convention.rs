//! Container name convention (vic.md §2): a conformance table of display names and
//! create-time validation messages.

use vic::convention::{ConventionError, FALLBACK_WARNING, NameConvention};

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// How a case's convention is applied: through vic-machine's validation, or as the port layer
/// sees a stored value (no validation).
enum Via {
    Create,
    PortLayer,
}

struct Case {
    what: &'static str,
    template: String,
    via: Via,
    name: String,
    want: Result<String, &'static str>,
}

fn case(what: &'static str, template: &str, name: &str, want: &str) -> Case {
    Case {
        what,
        template: template.into(),
        via: Via::Create,
        name: name.into(),
        want: Ok(want.into()),
    }
}

fn rejected(what: &'static str, template: String, message: &'static str) -> Case {
    Case {
        what,
        template,
        via: Via::Create,
        name: String::new(),
        want: Err(message),
    }
}

const NO_TOKEN: &str = "Container name convention must include {id} or {name} token";
const TOO_LONG: &str = "Container name convetion exceeds maximum length (68, discounting tokens)";

fn cases() -> Vec<Case> {
    let n = |k: usize| "n".repeat(k);
    let s = |k: usize| "s".repeat(k);
    vec![
        case(
            "default (empty flag)",
            "",
            "happy_name",
            "happy_name-0123456789ab",
        ),
        case(
            "explicit default",
            "{name}-{id}",
            "happy_name",
            "happy_name-0123456789ab",
        ),
        case(
            "{id} is the 12-char short id",
            "{id}",
            "web",
            "0123456789ab",
        ),
        case("{name} only", "{name}", "web", "web"),
        case(
            "static prefix with {id}",
            "prod-{id}",
            "web",
            "prod-0123456789ab",
        ),
        case("tokens reversed", "{id}_{name}", "web", "0123456789ab_web"),
        case(
            "only the first {id} is replaced",
            "{id}-{name}-{id}",
            "happy_name",
            "0123456789ab-happy_name-{id}",
        ),
        case(
            "only the first {name} is replaced",
            "{name}.{name}",
            "web",
            "web.{name}",
        ),
        case("{vm} is not a token", "{vm}-{name}", "web", "{vm}-web"),
        case(
            "80 cap: id kept, name cut",
            "{name}-{id}",
            &n(100),
            &format!("{}-0123456789ab", n(67)),
        ),
        case(
            "name exactly filling 80",
            "{name}-{id}",
            &n(67),
            &format!("{}-0123456789ab", n(67)),
        ),
        case(
            "static text shrinks the capacity",
            &format!("{}-{{name}}-{{id}}", s(50)),
            &n(40),
            &format!("{}-{}-0123456789ab", s(50), n(16)),
        ),
        case("{name} only gets all 80", "{name}", &n(100), &n(80)),
        Case {
            what: "token-less template at runtime: every container the same",
            template: "static".into(),
            via: Via::PortLayer,
            name: "web".into(),
            want: Ok("static".into()),
        },
        Case {
            what: "overflowing template falls back to {name}-{id}",
            template: format!("{}{{name}}{{id}}", s(80)),
            via: Via::PortLayer,
            name: "web".into(),
            want: Ok("web-0123456789ab".into()),
        },
        Case {
            what: "capacity below 12 cuts the id",
            template: format!("{}{{id}}", s(70)),
            via: Via::PortLayer,
            name: "web".into(),
            want: Ok(format!("{}0123456789", s(70))),
        },
        rejected("no token", "static".into(), NO_TOKEN),
        rejected("72 bytes with {id}", format!("{}{{id}}", s(68)), TOO_LONG),
        rejected(
            "72 bytes with {name}: 4 is discounted, not 6",
            format!("{}{{name}}", s(66)),
            TOO_LONG,
        ),
        case(
            "71 bytes passes",
            &format!("{}{{id}}", s(67)),
            "web",
            &format!("{}0123456789ab", s(67)),
        ),
    ]
}

#[test]
fn conformance_table() {
    let cases = cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for c in &cases {
        let got = match c.via {
            Via::Create => NameConvention::parse(&c.template).map_err(|e| e.to_string()),
            Via::PortLayer => Ok(NameConvention::unchecked(&c.template)),
        }
        .map(|cnc| cnc.display_name(&c.name, ID));
        let want = c.want.clone().map_err(str::to_owned);
        if let Ok(name) = &got {
            assert!(name.len() <= 80, "{}: {} bytes", c.what, name.len());
        }
        if got != want {
            failures.push(format!("{}: want {want:?}, got {got:?}", c.what));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rename_reapplies_the_convention() {
    let with_name = NameConvention::parse("{name}-{id}").expect("valid");
    assert_eq!(with_name.display_name("old", ID), "old-0123456789ab");
    assert_eq!(with_name.display_name("new", ID), "new-0123456789ab");
    let id_only = NameConvention::parse("c-{id}").expect("valid");
    assert_eq!(
        id_only.display_name("old", ID),
        id_only.display_name("new", ID)
    );
}

#[test]
fn overflow_is_visible_for_the_log_line() {
    let cnc = NameConvention::unchecked(&"s".repeat(80));
    assert!(cnc.overflows());
    assert_eq!(
        FALLBACK_WARNING,
        "Falling back to default name convention as custom convention overflows name capacity"
    );
    assert!(!NameConvention::default().overflows());
}

#[test]
fn validation_collects_every_issue() {
    assert_eq!(
        NameConvention::validate(&"x".repeat(80)),
        vec![ConventionError::MissingToken, ConventionError::TooLong]
    );
}
