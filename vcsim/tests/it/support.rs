//! Drives the emulator's HTTP router in-process with raw SOAP envelopes.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vcsim::http::ConnInfo;
use vcsim::vmodl::{MoRef, Value};
use vcsim::{Config, Emulator, Vcsim};

pub struct Sim {
    pub vc: Vcsim,
    pub cookie: Option<String>,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub set_cookie: Option<String>,
}

pub fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Sim {
        Sim {
            vc: Vcsim::new(Emulator::new(config).expect("default inventory builds")),
            cookie: None,
        }
    }

    pub async fn request(&self, method: &str, path: &str, body: String) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "text/xml");
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("vmware_soap_session={c}"));
        }
        let router = self.vc.router().layer(axum::Extension(ConnInfo {
            peer: "127.0.0.1:50000".parse().unwrap(),
            tls: false,
            client_cert: None,
        }));
        let resp = router
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let set_cookie = resp
            .headers()
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            set_cookie,
        }
    }

    pub async fn call(&self, body: &str) -> Reply {
        self.request("POST", "/sdk", envelope(body)).await
    }

    pub async fn login(&mut self) {
        let r = self
            .call(r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>pass</password></Login>"#)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let c = r.set_cookie.expect("Login sets the session cookie");
        let key = c.split('"').nth(1).expect("quoted cookie value").to_owned();
        self.cookie = Some(key);
    }
}

/// The text of the first `<tag>` element in `xml`.
pub fn first<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}");
    let start = xml.find(&open)?;
    let gt = start + xml[start..].find('>')?;
    let end = gt + xml[gt..].find(&format!("</{tag}>"))?;
    Some(&xml[gt + 1..end])
}

/// The MoRef value of the first object of type `ty`.
pub fn find(sim: &Sim, ty: &str) -> String {
    sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == ty)
            .unwrap_or_else(|| panic!("a {ty}"))
            .moref
            .value
            .clone()
    })
}

/// Calls and asserts HTTP 200, returning the body.
pub async fn ok(sim: &Sim, body: &str) -> String {
    let r = sim.call(body).await;
    assert_eq!(r.status, StatusCode::OK, "{body}\n{}", r.body);
    r.body
}

impl Sim {
    /// A new emulator with a logged-in session.
    pub async fn logged_in() -> Sim {
        let mut sim = Sim::new();
        sim.login().await;
        sim
    }
}

/// The body of a vim25 call: `<{method} xmlns="urn:vim25">{args}</{method}>`.
pub fn vim(method: &str, args: &str) -> String {
    format!(r#"<{method} xmlns="urn:vim25">{args}</{method}>"#)
}

/// The MoRef value of the object of type `ty` named `name`.
pub fn named(sim: &Sim, ty: &str, name: &str) -> String {
    sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == ty && o.name() == name)
            .unwrap_or_else(|| panic!("a {ty} named {name}"))
            .moref
            .value
            .clone()
    })
}

/// Calls and asserts HTTP 200, returning the text of the first `<returnval>`.
pub async fn returnval(sim: &Sim, body: &str) -> String {
    let b = ok(sim, body).await;
    first(&b, "returnval").expect(&b).to_owned()
}

/// Calls and asserts an HTTP 500 carrying a fault of type `ty`.
pub async fn fault(sim: &Sim, body: &str, ty: &str) {
    let r = sim.call(body).await;
    assert_eq!(
        r.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{body}\n{}",
        r.body
    );
    assert!(
        r.body.contains(&format!("xsi:type=\"{ty}\"")),
        "want {ty}: {}",
        r.body
    );
}

/// Runs a task call; (state, result MoRef value or fault type).
pub async fn task(sim: &Sim, body: &str) -> (String, Option<String>) {
    let t = returnval(sim, body).await;
    sim.vc.with(|e| {
        let info = e.inv.prop(&MoRef::new("Task", t), "info").unwrap().clone();
        let state = info
            .field("state")
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        let res = info
            .field("result")
            .and_then(|r| {
                r.as_moref()
                    .map(|m| m.value.clone())
                    .or(r.as_str().map(str::to_owned))
            })
            .or_else(|| {
                info.field("error")
                    .and_then(|e| e.field("fault"))
                    .map(|f| f.xsi_type().into_owned())
            });
        assert!(info.field("startTime").is_some() && info.field("completeTime").is_some());
        (state, res)
    })
}

/// The value at `path` (a property, then fields) of the object `ty:v`.
pub fn prop(sim: &Sim, ty: &str, v: &str, path: &[&str]) -> Option<Value> {
    sim.vc.with(|e| {
        let mut cur = e.inv.prop(&MoRef::new(ty.to_owned(), v), path[0])?.clone();
        for p in &path[1..] {
            cur = cur.field(p)?.clone();
        }
        Some(cur)
    })
}

/// The MoRef value held at `path` of the object `ty:v`.
pub fn prop_ref(sim: &Sim, ty: &str, v: &str, path: &[&str]) -> String {
    prop(sim, ty, v, path)
        .unwrap()
        .as_moref()
        .unwrap()
        .value
        .clone()
}
