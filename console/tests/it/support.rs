//! A served demo and an HTTP client for it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use vicbed_console::{Demo, DemoConfig, SEED_SCENARIO};

/// A demo served on `127.0.0.1:0`.
pub struct Live {
    pub demo: Option<Demo>,
    pub base: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Live {
    /// The seed scenario, paused at its start.
    pub async fn start(max_browsers: usize) -> Live {
        let scenario = scenarios::Scenario::parse_with(
            "over-the-limits.toml",
            SEED_SCENARIO,
            &BTreeMap::new(),
        )
        .expect("the seed parses")
        .0;
        let demo = Demo::start(DemoConfig {
            scenario,
            seed: None,
            speed: 1.0,
            max_browsers,
        })
        .await
        .expect("the demo starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let router = vicbed_console::api::router(demo.shared());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = vcsim::http::serve(listener, router, None, async {
                let _ = stopped.await;
            })
            .await;
        });
        let live = Live {
            demo: Some(demo),
            base,
            http: reqwest::Client::new(),
            stop: Some(stop),
            server: Some(server),
        };
        live.post("/api/clock", r#"{"action":"pause"}"#)
            .await
            .ok200();
        live
    }

    pub async fn get(&self, path: &str) -> Answer {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        Answer::of(r).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Answer {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("POST");
        Answer::of(r).await
    }

    pub async fn state(&self) -> Value {
        self.get("/api/state").await.ok200()
    }

    /// Steps the paused clock by one sample, `n` times, and waits until the window holds
    /// the newest sample.
    pub async fn step(&self, n: usize) {
        for _ in 0..n {
            let before = self.state().await["clock"]["now_ms"].as_i64().expect("now");
            self.post("/api/clock", r#"{"action":"step"}"#)
                .await
                .ok200();
            let due = before + 20_000 - before.rem_euclid(20_000);
            self.wait_for("the stepped sample", |_, window| {
                window["samples"]
                    .as_array()
                    .and_then(|s| s.last())
                    .and_then(|s| s["ts_ms"].as_i64())
                    .is_some_and(|ts| ts >= due)
            })
            .await;
        }
    }

    /// Waits until the pause of [`Live::start`] stands in the published clock. The driver
    /// applies the running time owed before the pause on its next take, which may come after
    /// the pause was answered; a step forces such a take, and once the clock shows the step
    /// nothing more is owed, so the clock stands from then on.
    pub async fn settle_pause(&self) {
        let before = self.state().await["clock"]["now_ms"].as_i64().expect("now");
        self.post("/api/clock", r#"{"action":"step"}"#)
            .await
            .ok200();
        self.wait_for("the settling step", |state, _| {
            state["clock"]["now_ms"]
                .as_i64()
                .is_some_and(|now| now >= before + 20_000)
        })
        .await;
    }

    /// Polls state and window until `ok` holds (at most 20 wall seconds).
    pub async fn wait_for(
        &self,
        what: &str,
        ok: impl Fn(&Value, &Value) -> bool,
    ) -> (Value, Value) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self.state().await;
            let window = self.get("/api/window").await.ok200();
            if ok(&state, &window) {
                return (state, window);
            }
            assert!(Instant::now() < deadline, "waited 20 s for {what}: {state}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        if let Some(d) = self.demo.take() {
            d.shutdown().await;
        }
    }
}

/// An HTTP answer: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    async fn of(r: reqwest::Response) -> Answer {
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = r.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            content_type,
            text,
        }
    }

    pub fn ok200(self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text);
        self.body
    }

    /// A refusal: its status and message.
    pub fn refused(self) -> (u16, String) {
        assert!(
            (400..500).contains(&self.status),
            "{} {}",
            self.status,
            self.text
        );
        let message = self.body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {}", self.text))
            .to_owned();
        (self.status, message)
    }
}

/// A VM of the state by container name.
pub fn vm<'a>(state: &'a Value, name: &str) -> Option<&'a Value> {
    state["vms"].as_array()?.iter().find(|v| v["name"] == name)
}

/// The newest value of `counter` for `moref` in the window.
pub fn latest(window: &Value, moref: &str, counter: &str) -> Option<f64> {
    window["samples"]
        .as_array()?
        .iter()
        .rev()
        .find_map(|s| s["entities"][moref][counter].as_f64())
}
