//! Docker's event stream (`GET /events`, vic.md §7.2: VIC supports it): container events
//! published by the endpoint's own operations (`create`, `start`, `attach`, `kill`, `die`,
//! `stop`, `rename`, `destroy`) and by processes that end by themselves (`die` with the
//! exit code, from the containerVM's [`crate::interaction`] link), image `pull`/`tag`/
//! `delete` events.
//!
//! The docker CLI at API 1.25 learns a foreground run's exit status from this stream (a
//! `die` event's `exitCode`; with `--rm`, it waits for `destroy`), so a lost event is a hung
//! `docker run`. Events carry the virtual clock's time (the containers' own times are on it).
//!
//! That stream has a race of its own: the CLI subscribes while it starts the container, on
//! another connection, and a process that ends at once (`docker run busybox false`) can die
//! before the subscription arrives; dockerd gets away with it because a real start takes
//! longer. So a subscription without `since` whose filter names exactly one container
//! replays that container's events published after its latest `attach` (the CLI attaches
//! before it subscribes) within the last [`REPLAY_WINDOW`] of wall time — a new
//! subscriber never sees a previous run's end.
//!
//! Bounded: the [`EventBus`] keeps the last [`RECENT_EVENTS`] for `since`, a subscriber that
//! falls [`BACKLOG`] events behind loses the oldest, and a stream stays open at most
//! [`super::api::MAX_WAIT`].

use super::api::{MAX_WAIT, Result, time_param};
use super::state::ApiError;
use super::view::parse_filters;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

/// Events kept for `since` replays.
pub const RECENT_EVENTS: usize = 256;
/// Events a slow subscriber may fall behind before it loses the oldest.
pub const BACKLOG: usize = 1024;
/// How far back (wall time) a one-container subscription's replay reaches.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(10);

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `container`, `image` or `network`.
    pub kind: &'static str,
    /// `die`, `start`, …
    pub action: String,
    /// Container id or image reference.
    pub id: String,
    /// The image (containers) or empty.
    pub from: String,
    /// `Actor.Attributes`.
    pub attributes: BTreeMap<String, String>,
    /// Virtual time, ms since the epoch.
    pub at_ms: i64,
}

impl Event {
    /// A container event with its name and image attributes.
    pub fn container(action: &str, id: &str, name: &str, image: &str, at_ms: i64) -> Event {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_owned(), name.to_owned());
        attributes.insert("image".to_owned(), image.to_owned());
        Event {
            kind: "container",
            action: action.to_owned(),
            id: id.to_owned(),
            from: image.to_owned(),
            attributes,
            at_ms,
        }
    }

    /// An image event.
    pub fn image(action: &str, reference: &str, at_ms: i64) -> Event {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_owned(), reference.to_owned());
        Event {
            kind: "image",
            action: action.to_owned(),
            id: reference.to_owned(),
            from: String::new(),
            attributes,
            at_ms,
        }
    }

    /// With one more attribute.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Event {
        self.attributes.insert(key.to_owned(), value.into());
        self
    }

    /// The API 1.25 JSON form (with the pre-1.22 `status`/`id`/`from` fields the CLI still
    /// reads).
    pub fn to_json(&self) -> Json {
        let secs = self.at_ms.div_euclid(1000);
        let mut v = json!({
            "Type": self.kind,
            "Action": self.action,
            "Actor": { "ID": self.id, "Attributes": self.attributes },
            "time": secs,
            "timeNano": i128::from(self.at_ms) * 1_000_000,
        });
        if self.kind == "container" || self.kind == "image" {
            v["status"] = json!(self.action);
            v["id"] = json!(self.id);
            if !self.from.is_empty() {
                v["from"] = json!(self.from);
            }
        }
        v
    }
}

/// A kept event with the wall time it was published.
pub type Kept = (Instant, Arc<Event>);

/// The endpoint's events: a broadcast plus the most recent ones.
#[derive(Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    /// With the wall time each was published.
    recent: Mutex<VecDeque<Kept>>,
}

impl Default for EventBus {
    fn default() -> EventBus {
        EventBus {
            tx: broadcast::channel(BACKLOG).0,
            recent: Mutex::new(VecDeque::new()),
        }
    }
}

impl EventBus {
    /// Publishes `e` to every subscriber and keeps it for `since`.
    pub fn publish(&self, e: Event) {
        let e = Arc::new(e);
        {
            let mut r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            if r.len() == RECENT_EVENTS {
                r.pop_front();
            }
            r.push_back((Instant::now(), e.clone()));
        }
        let _ = self.tx.send(e);
    }

    /// The kept events and a receiver of what comes after them, taken together (nothing
    /// published in between is missed or seen twice).
    pub fn subscribe(&self) -> (Vec<Kept>, broadcast::Receiver<Arc<Event>>) {
        let r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        (r.iter().cloned().collect(), self.tx.subscribe())
    }
}

/// `GET /events` filters (dockerd's names): `type`, `event`, `container` (id, id prefix or
/// name), `image`, `label` (`key` or `key=value`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    kinds: Vec<String>,
    actions: Vec<String>,
    containers: Vec<String>,
    images: Vec<String>,
    labels: Vec<String>,
}

impl Filter {
    /// Parses the `filters` parameter; an unknown key is dockerd's 400.
    pub fn parse(text: &str) -> Result<Filter> {
        let mut f = Filter::default();
        for (k, v) in parse_filters(text)? {
            match k.as_str() {
                "type" => f.kinds = v,
                "event" => f.actions = v,
                "container" => f.containers = v,
                "image" => f.images = v,
                "label" => f.labels = v,
                other => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("Invalid filter '{other}'"),
                    ));
                }
            }
        }
        Ok(f)
    }

    /// Whether `e` passes.
    pub fn matches(&self, e: &Event) -> bool {
        let any = |list: &[String], pred: &dyn Fn(&str) -> bool| {
            list.is_empty() || list.iter().any(|x| pred(x))
        };
        let name = e.attributes.get("name").map(String::as_str).unwrap_or("");
        any(&self.kinds, &|k| k == e.kind)
            && any(&self.actions, &|a| a == e.action)
            && any(&self.containers, &|c| {
                e.kind == "container" && (e.id.starts_with(c) || name == c.trim_start_matches('/'))
            })
            && any(&self.images, &|i| {
                e.from == i || e.attributes.get("image").is_some_and(|x| x == i)
            })
            && any(&self.labels, &|l| match l.split_once('=') {
                Some((k, v)) => e.attributes.get(k).is_some_and(|x| x == v),
                None => e.attributes.contains_key(l),
            })
    }
}

/// `GET /events`: the kept events since `since` (virtual seconds), then new ones as they
/// come, until the client hangs up, `until` passes (wall clock) or [`MAX_WAIT`].
pub fn stream(bus: &EventBus, query: &BTreeMap<String, String>) -> Result<Response> {
    let filter = Filter::parse(query.get("filters").map(String::as_str).unwrap_or(""))?;
    let since_ms = time_param(query, "since")?.map(|s| (s * 1000.0) as i64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let open_for = match time_param(query, "until")? {
        Some(until) => Duration::from_secs_f64(until.min(1e12))
            .saturating_sub(now)
            .min(MAX_WAIT),
        None => MAX_WAIT,
    };
    let (recent, mut rx) = bus.subscribe();
    let (tx, body_rx) = mpsc::channel::<Bytes>(64);
    let line = |e: &Event| Bytes::from(format!("{}\n", e.to_json()));
    let replay: Vec<Bytes> = match since_ms {
        Some(since) => recent
            .iter()
            .map(|(_, e)| e)
            .filter(|e| e.at_ms >= since && filter.matches(e))
            .map(|e| line(e))
            .collect(),
        None => one_container_replay(&filter, &recent)
            .into_iter()
            .map(|e| line(&e))
            .collect(),
    };
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(open_for);
        tokio::pin!(deadline);
        for b in replay {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        loop {
            tokio::select! {
                () = &mut deadline => return,
                () = tx.closed() => return,
                got = rx.recv() => match got {
                    Ok(e) => {
                        if filter.matches(&e) && tx.send(line(&e)).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    let mut r = (StatusCode::OK, Body::new(ChannelBody(body_rx))).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// The events a subscription filtered to one container replays (see the module comment).
fn one_container_replay(filter: &Filter, recent: &[Kept]) -> Vec<Arc<Event>> {
    if filter.containers.len() != 1 {
        return Vec::new();
    }
    let mine: Vec<&Kept> = recent
        .iter()
        .filter(|(at, e)| {
            e.kind == "container" && at.elapsed() <= REPLAY_WINDOW && filter.matches(e)
        })
        .collect();
    let from = mine
        .iter()
        .rposition(|(_, e)| e.action == "attach")
        .map_or(mine.len(), |i| i + 1);
    mine[from..].iter().map(|(_, e)| e.clone()).collect()
}

/// A response body fed by a channel; it ends when the sender goes.
pub struct ChannelBody(pub mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_both_forms() {
        let e = Event::container("die", "abc", "web", "busybox", 1_506_931_200_123)
            .with("exitCode", "3");
        let v = e.to_json();
        assert_eq!(v["status"], "die");
        assert_eq!(v["Action"], "die");
        assert_eq!(v["from"], "busybox");
        assert_eq!(v["Actor"]["Attributes"]["exitCode"], "3");
        assert_eq!(v["time"], 1_506_931_200);
        assert_eq!(v["timeNano"], 1_506_931_200_123_000_000i64);
    }

    #[test]
    fn filters_select() {
        let die = Event::container("die", "abcdef", "web", "busybox", 0);
        let pull = Event::image("pull", "busybox:latest", 0);
        let f = Filter::parse(r#"{"type":{"container":true},"container":{"abc":true}}"#)
            .expect("filters");
        assert!(f.matches(&die));
        assert!(!f.matches(&pull));
        let by_name = Filter::parse(r#"{"container":["web"],"event":["die","stop"]}"#).unwrap();
        assert!(by_name.matches(&die));
        assert!(!by_name.matches(&Event::container("start", "abcdef", "web", "busybox", 0)));
        let label = Filter::parse(r#"{"label":["name=web"]}"#).unwrap();
        assert!(label.matches(&die));
        assert_eq!(
            Filter::parse(r#"{"bogus":["x"]}"#).unwrap_err().message,
            "Invalid filter 'bogus'"
        );
    }

    #[test]
    fn the_bus_keeps_a_bounded_tail() {
        let bus = EventBus::default();
        for i in 0..(RECENT_EVENTS as i64 + 10) {
            bus.publish(Event::image("pull", "x", i));
        }
        let (recent, _rx) = bus.subscribe();
        assert_eq!(recent.len(), RECENT_EVENTS);
        assert_eq!(recent[0].1.at_ms, 10);
    }

    #[test]
    fn a_one_container_subscription_replays_what_followed_the_attach() {
        let bus = EventBus::default();
        let ev = |a: &str, id: &str| Event::container(a, id, "c", "busybox", 0);
        for a in ["create", "attach", "start", "die"] {
            bus.publish(ev(a, "aaa"));
        }
        bus.publish(ev("die", "bbb"));
        bus.publish(ev("attach", "aaa"));
        bus.publish(ev("start", "aaa"));
        let (recent, _rx) = bus.subscribe();
        let one = Filter::parse(r#"{"container":{"aaa":true}}"#).unwrap();
        let got: Vec<String> = one_container_replay(&one, &recent)
            .iter()
            .map(|e| e.action.clone())
            .collect();
        // The previous run's die is before the latest attach: not replayed.
        assert_eq!(got, ["start"]);
        let all = Filter::parse("").unwrap();
        assert!(one_container_replay(&all, &recent).is_empty());
    }
}
