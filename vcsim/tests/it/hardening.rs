//! Issue 10 (hardening) at the SOAP level: unguessable and bounded sessions, per-request
//! bounds refused whole before the lock, bounded event summaries, entity names as vSphere
//! stores them, and a writer that never emits XML a strict client cannot read.

use crate::support::{Sim, envelope, fault, find, named, ok, prop, returnval, task, vim};
use axum::http::StatusCode;
use vcsim::Config;
use vcsim::vmodl::Value;

const LOGIN: &str = r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>"#;
const CURRENT_SESSION: &str = r#"<RetrieveProperties xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet><objectSet><obj type="SessionManager">SessionManager</obj></objectSet></specSet></RetrieveProperties>"#;

fn cookie_key(set_cookie: &str) -> String {
    set_cookie
        .split('"')
        .nth(1)
        .expect("quoted cookie value")
        .to_owned()
}

/// Whether an authenticated call with this key is accepted.
async fn authenticated(sim: &Sim, key: &str) -> bool {
    let probe = Sim {
        vc: sim.vc.clone(),
        cookie: Some(key.to_owned()),
    };
    let r = probe.call(CURRENT_SESSION).await;
    match r.status {
        StatusCode::OK => true,
        _ => {
            assert!(r.body.contains("NotAuthenticated"), "{}", r.body);
            false
        }
    }
}

#[tokio::test]
async fn fresh_servers_with_one_seed_hand_out_unrelated_session_keys() {
    let a = Sim::with_config(Config::default());
    let b = Sim::with_config(Config::default());
    let key_a = cookie_key(&a.call(LOGIN).await.set_cookie.expect("cookie"));
    let key_b = cookie_key(&b.call(LOGIN).await.set_cookie.expect("cookie"));
    assert_ne!(key_a, key_b, "session keys must not follow the seed");
    // A key from one server (or a guess shaped like one) is no key on the other.
    assert!(!authenticated(&b, &key_a).await);
    assert!(authenticated(&b, &key_b).await);
    // Ids that reach reports still follow the seed.
    let uuid = |s: &Sim| {
        let vm = named(s, "VirtualMachine", "DC0_C0_RP0_VM0");
        prop(s, "VirtualMachine", &vm, &["config", "uuid"])
    };
    assert_eq!(uuid(&a), uuid(&b));
}

#[tokio::test]
async fn abandoned_sessions_never_lock_out_a_new_client() {
    let sim = Sim::new();
    let max = vcsim::session::SESSIONS_MAX;
    let mut first = None;
    for _ in 0..max {
        let r = sim.call(LOGIN).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        first.get_or_insert_with(|| cookie_key(&r.set_cookie.expect("cookie")));
    }
    let first = first.expect("a first session");
    assert_eq!(sim.vc.with(|e| e.sessions.len()), max);
    // At the bound, an honest newcomer still gets in: the least recently active session ends.
    let r = sim.call(LOGIN).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let newest = cookie_key(&r.set_cookie.expect("cookie"));
    assert_eq!(sim.vc.with(|e| e.sessions.len()), max);
    assert!(authenticated(&sim, &newest).await);
    assert!(
        !authenticated(&sim, &first).await,
        "the oldest idle session was ended"
    );
    let logged_out = sim.vc.with(|e| {
        e.events
            .iter()
            .filter(|ev| ev.ty == "UserLogoutSessionEvent")
            .count()
    });
    assert_eq!(logged_out, 1, "eviction is a logout, with its event");
}

#[tokio::test]
async fn idle_sessions_end_after_the_idle_timeout() {
    let sim = Sim::with_config(Config {
        session_idle_timeout_s: 2,
        ..Config::default()
    });
    let idle = cookie_key(&sim.call(LOGIN).await.set_cookie.expect("cookie"));
    let busy = cookie_key(&sim.call(LOGIN).await.set_cookie.expect("cookie"));
    // `busy` calls every 300 ms for 3 s; `idle` makes no call. The timeout of 2 s leaves
    // `busy` 1.7 s of slack between calls on a loaded machine.
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(authenticated(&sim, &busy).await);
    }
    assert!(!authenticated(&sim, &idle).await, "idle past the timeout");
    assert!(authenticated(&sim, &busy).await);
    assert!(sim.vc.with(|e| e.sessions.by_cookie(&idle).is_none()));
}

fn extra_config_spec(keys: impl Iterator<Item = (String, String)>) -> String {
    let mut s = String::new();
    for (k, v) in keys {
        s.push_str(&format!(
            r#"<extraConfig><key>{k}</key><value xsi:type="xsd:string">{v}</value></extraConfig>"#
        ));
    }
    s
}

fn extra_config_len(sim: &Sim, vm: &str) -> usize {
    prop(sim, "VirtualMachine", vm, &["config", "extraConfig"]).map_or(0, |v| v.items().len())
}

#[tokio::test]
async fn extra_config_beyond_the_bounds_is_refused_whole() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", "DC0_C0_RP0_VM0");
    let this = format!(r#"<_this type="VirtualMachine">{vm}</_this>"#);
    let reconfig = |spec: String| vim("ReconfigVM_Task", &format!("{this}<spec>{spec}</spec>"));
    let before = extra_config_len(&sim, &vm);
    let max = vcsim::methods::EXTRA_CONFIG_MAX;

    // One over the per-request bound, and the 100 000-key request of the report: refused
    // with InvalidArgument before any task exists.
    let tasks_before = sim
        .vc
        .with(|e| e.inv.iter().filter(|o| o.moref.ty == "Task").count());
    for n in [max + 1, 100_000] {
        let spec = extra_config_spec((0..n).map(|i| (format!("guestinfo.k{i}"), "v".into())));
        let r = sim.call(&reconfig(spec)).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            r.body.contains(r#"xsi:type="InvalidArgument""#),
            "{}",
            &r.body[..400]
        );
        assert!(r.body.contains("spec.extraConfig"), "{}", &r.body[..400]);
    }
    let tasks_after = sim
        .vc
        .with(|e| e.inv.iter().filter(|o| o.moref.ty == "Task").count());
    assert_eq!(
        tasks_before, tasks_after,
        "refused before a task was created"
    );
    assert_eq!(extra_config_len(&sim, &vm), before);

    // Over the byte bound: refused too.
    let big = "x".repeat(vcsim::methods::EXTRA_CONFIG_MAX_BYTES / 2 + 1);
    let spec = extra_config_spec((0..2).map(|i| (format!("guestinfo.big{i}"), big.clone())));
    fault(&sim, &reconfig(spec), "InvalidArgument").await;

    // Up to the bound in one request: stored, every key.
    let room = max - before;
    let spec = extra_config_spec((0..room).map(|i| (format!("guestinfo.k{i}"), "v".into())));
    assert_eq!(task(&sim, &reconfig(spec)).await.0, "success");
    assert_eq!(extra_config_len(&sim, &vm), max);

    // A request that would take the VM past it fails as a task, and changes nothing; one that
    // replaces and removes keys within it succeeds.
    let spec = extra_config_spec(
        std::iter::once(("guestinfo.k0".to_owned(), "changed".to_owned()))
            .chain((0..10).map(|i| (format!("guestinfo.new{i}"), "v".into()))),
    );
    let (state, fault_ty) = task(&sim, &reconfig(spec)).await;
    assert_eq!(
        (state.as_str(), fault_ty.as_deref()),
        ("error", Some("InvalidArgument"))
    );
    assert_eq!(extra_config_len(&sim, &vm), max);
    let value_of = |key: &str| {
        prop(&sim, "VirtualMachine", &vm, &["config", "extraConfig"]).and_then(|ec| {
            ec.items()
                .iter()
                .find(|ov| ov.field("key").and_then(Value::as_str) == Some(key))
                .and_then(|ov| ov.field("value"))
                .map(|v| match v {
                    Value::Any(inner) => inner.as_str().unwrap_or_default().to_owned(),
                    other => other.as_str().unwrap_or_default().to_owned(),
                })
        })
    };
    assert_eq!(value_of("guestinfo.k0").as_deref(), Some("v"));
    assert_eq!(value_of("guestinfo.new0"), None);
    let spec = extra_config_spec(
        [
            ("guestinfo.k0", "changed"),
            ("guestinfo.k1", ""),
            ("guestinfo.added", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    assert_eq!(task(&sim, &reconfig(spec)).await.0, "success");
    assert_eq!(value_of("guestinfo.k0").as_deref(), Some("changed"));
    assert_eq!(value_of("guestinfo.k1"), None);
    assert_eq!(value_of("guestinfo.added").as_deref(), Some("1"));
    assert_eq!(extra_config_len(&sim, &vm), max);
}

#[tokio::test]
async fn reconfigure_events_keep_a_bounded_summary_of_the_spec() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", "DC0_C0_RP0_VM0");
    let this = format!(r#"<_this type="VirtualMachine">{vm}</_this>"#);
    let value = "v".repeat(100);
    let spec = extra_config_spec((0..4000).map(|i| (format!("guestinfo.k{i}"), value.clone())));
    let body = vim("ReconfigVM_Task", &format!("{this}<spec>{spec}</spec>"));
    assert_eq!(task(&sim, &body).await.0, "success");
    let kept = sim.vc.with(|e| {
        let ev = e
            .events
            .iter()
            .rev()
            .find(|ev| ev.ty == "VmReconfiguredEvent")
            .expect("a VmReconfiguredEvent")
            .value
            .clone();
        let spec = ev.field("configSpec").expect("configSpec").clone();
        spec.as_data()
            .expect("data")
            .fields
            .iter()
            .filter(|(n, _)| n == "extraConfig")
            .count()
    });
    assert_eq!(kept, vcsim::events::SUMMARY_ITEMS_MAX);
}

fn create_folder(parent: &str, name: &str) -> String {
    vim(
        "CreateFolder",
        &format!(r#"<_this type="Folder">{parent}</_this><name>{name}</name>"#),
    )
}

#[tokio::test]
async fn names_are_escaped_as_vsphere_does_and_control_characters_refused() {
    let sim = Sim::logged_in().await;
    let vm_folder = sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "Folder" && o.name() == "vm")
            .expect("vm folder")
            .moref
            .value
            .clone()
    });
    let f = returnval(&sim, &create_folder(&vm_folder, "a/b\\c 100%")).await;
    assert_eq!(
        prop(&sim, "Folder", &f, &["name"]).and_then(|v| v.as_str().map(str::to_owned)),
        Some("a%2fb%5cc 100%25".to_owned())
    );
    let folders = || {
        sim.vc
            .with(|e| e.inv.iter().filter(|o| o.moref.ty == "Folder").count())
    };
    let before = folders();
    // A raw control character and one written as a character reference: neither is stored.
    for name in ["bad\u{1}name", "bad&#x1;name", "esc\u{1b}[31m"] {
        let r = sim.call(&create_folder(&vm_folder, name)).await;
        assert_eq!(
            r.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{name:?}: {}",
            r.body
        );
        assert!(
            r.body.contains(r#"xsi:type="InvalidName""#)
                || r.body.contains(r#"xsi:type="InvalidRequest""#),
            "{name:?}: {}",
            r.body
        );
        vcsim::vmodl::xml::parse_document(&r.body).expect("the fault itself is well-formed");
    }
    assert_eq!(folders(), before);
    // Rename and CreateVM go through the same rule.
    let vm = named(&sim, "VirtualMachine", "DC0_C0_RP0_VM0");
    let rename = vim(
        "Rename_Task",
        &format!(r#"<_this type="VirtualMachine">{vm}</_this><newName>x&#x7;</newName>"#),
    );
    let (state, ty) = task(&sim, &rename).await;
    assert_eq!(
        (state.as_str(), ty.as_deref()),
        ("error", Some("InvalidName"))
    );
    assert_eq!(
        prop(&sim, "VirtualMachine", &vm, &["name"]).and_then(|v| v.as_str().map(str::to_owned)),
        Some("DC0_C0_RP0_VM0".to_owned())
    );
}

#[tokio::test]
async fn the_writer_never_emits_what_xml_cannot_carry() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", "DC0_C0_RP0_VM0");
    let this = format!(r#"<_this type="VirtualMachine">{vm}</_this>"#);
    // An annotation is free text: stored as sent, but written back well-formed.
    let body = vim(
        "ReconfigVM_Task",
        &format!("{this}<spec><annotation>note\u{1}\u{8}end</annotation></spec>"),
    );
    assert_eq!(task(&sim, &body).await.0, "success");
    {
        let listing = ok(
            &sim,
            &format!(
                r#"<RetrieveProperties xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>config.annotation</pathSet></propSet><objectSet><obj type="VirtualMachine">{vm}</obj></objectSet></specSet></RetrieveProperties>"#
            ),
        )
        .await;
        vcsim::vmodl::xml::parse_document(&listing).expect("well-formed");
        assert!(listing.contains("note\u{FFFD}\u{FFFD}end"), "{listing}");
    }
    // The whole inventory, written as one response, parses.
    let dc = find(&sim, "Datacenter");
    let all = sim
        .request(
            "POST",
            "/sdk",
            envelope(&format!(
                r#"<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><all>true</all></propSet><objectSet><obj type="Datacenter">{dc}</obj><selectSet xsi:type="TraversalSpec"><name>d</name><type>Datacenter</type><path>vmFolder</path><selectSet><name>f</name></selectSet></selectSet><selectSet xsi:type="TraversalSpec"><name>f</name><type>Folder</type><path>childEntity</path><selectSet><name>f</name></selectSet></selectSet></objectSet></specSet><options/></RetrievePropertiesEx>"#
            )),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    vcsim::vmodl::xml::parse_document(&all.body).expect("well-formed");
}
