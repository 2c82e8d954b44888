//! Session keys are public, cookies are secret: what `SessionManager.sessionList`,
//! `currentSession` and session-scoped object ids show can never be used to log in, while
//! `SessionIsActive` and `TerminateSession` take the public key.

use crate::support::{Sim, fault, ok, vim};
use axum::http::StatusCode;

const SM: &str = r#"<_this type="SessionManager">SessionManager</_this>"#;

fn session_props(props: &str) -> String {
    format!(
        r#"<RetrieveProperties xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>SessionManager</type>{props}</propSet><objectSet><obj type="SessionManager">SessionManager</obj></objectSet></specSet></RetrieveProperties>"#
    )
}

/// Every `<key>` text in `xml`.
fn keys(xml: &str) -> Vec<String> {
    xml.split("<key>")
        .skip(1)
        .filter_map(|s| s.split("</key>").next())
        .map(str::to_owned)
        .collect()
}

async fn current_key(sim: &Sim) -> String {
    let body = ok(sim, &session_props("<pathSet>currentSession</pathSet>")).await;
    let k = keys(&body);
    assert_eq!(k.len(), 1, "{body}");
    k[0].clone()
}

/// A client on the same server presenting `cookie`.
fn with_cookie(sim: &Sim, cookie: &str) -> Sim {
    Sim {
        vc: sim.vc.clone(),
        cookie: Some(cookie.to_owned()),
    }
}

#[tokio::test]
async fn session_list_keys_are_not_cookies() {
    let a = Sim::logged_in().await;
    let mut b = Sim {
        vc: a.vc.clone(),
        cookie: None,
    };
    b.login().await;
    let cookie_a = a.cookie.clone().expect("cookie");
    let cookie_b = b.cookie.clone().expect("cookie");
    let key_a = current_key(&a).await;
    let key_b = current_key(&b).await;
    assert_ne!(key_a, cookie_a, "the public key is not the cookie");
    assert_ne!(key_b, cookie_b);

    let list = ok(&a, &session_props("<pathSet>sessionList</pathSet>")).await;
    let listed = keys(&list);
    assert!(listed.contains(&key_a) && listed.contains(&key_b), "{list}");
    assert!(
        !list.contains(&cookie_a) && !list.contains(&cookie_b),
        "{list}"
    );

    // Someone who read the list cannot take a session over with a listed key.
    for k in &listed {
        let thief = with_cookie(&a, k);
        fault(
            &thief,
            &session_props("<pathSet>currentSession</pathSet>"),
            "NotAuthenticated",
        )
        .await;
    }

    // SessionIsActive takes the public key; a cookie names no session.
    let active = |id: &str| {
        vim(
            "SessionIsActive",
            &format!("{SM}<sessionID>{id}</sessionID><userName>user</userName>"),
        )
    };
    assert!(
        ok(&a, &active(&key_b))
            .await
            .contains("<returnval>true</returnval>")
    );
    assert!(
        ok(&a, &active(&cookie_b))
            .await
            .contains("<returnval>false</returnval>")
    );

    // Collector and view ids carry the public key, never the cookie.
    let view = ok(
        &b,
        &vim(
            "CreateContainerView",
            r#"<_this type="ViewManager">ViewManager</_this><container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive>"#,
        ),
    )
    .await;
    assert!(view.contains(&format!("session[{key_b}]")), "{view}");
    assert!(!view.contains(&cookie_b), "{view}");

    // TerminateSession takes the public key: a cookie is NotFound, one's own key is refused.
    let terminate = |id: &str| {
        vim(
            "TerminateSession",
            &format!("{SM}<sessionId>{id}</sessionId>"),
        )
    };
    fault(&a, &terminate(&cookie_b), "NotFound").await;
    fault(&a, &terminate(&key_a), "InvalidArgument").await;
    ok(&a, &terminate(&key_b)).await;
    fault(
        &b,
        &session_props("<pathSet>currentSession</pathSet>"),
        "NotAuthenticated",
    )
    .await;
    assert_eq!(current_key(&a).await, key_a);
}

#[tokio::test]
async fn a_cloned_session_gets_its_own_key_and_cookie() {
    let a = Sim::logged_in().await;
    let ticket = ok(&a, &vim("AcquireCloneTicket", SM)).await;
    let ticket = ticket
        .split("<returnval>")
        .nth(1)
        .and_then(|s| s.split("</returnval>").next())
        .expect("a ticket")
        .to_owned();
    let mut c = Sim {
        vc: a.vc.clone(),
        cookie: None,
    };
    let r = c
        .call(&vim(
            "CloneSession",
            &format!("{SM}<cloneTicket>{ticket}</cloneTicket>"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cookie = r
        .set_cookie
        .and_then(|s| s.split('"').nth(1).map(str::to_owned))
        .expect("a cookie");
    let key = keys(&r.body).pop().expect("the UserSession key");
    assert_ne!(key, cookie);
    c.cookie = Some(cookie);
    assert_eq!(current_key(&c).await, key);
    assert_ne!(key, current_key(&a).await);
}
