//! [`Hub`]: the fan-out from the poller to every open page (Server-Sent Events).
//!
//! Events are serialized once and shared; each page's stream reads a bounded broadcast
//! channel, so a slow page costs one queue of [`QUEUE_EVENTS`] shared events, never the
//! poller's time: when it falls that far behind it skips ahead and is told to `resync`
//! (re-read the window). At most `max_browsers` streams are open at once; the next is
//! refused (503) rather than queued.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::response::sse::Event;
use futures_util::Stream;
use tokio::sync::broadcast;

use crate::feed::Sample;
use crate::model::{ClockView, StateView};

/// Events queued per page before it must resync (a few wall seconds of 600× samples).
pub const QUEUE_EVENTS: usize = 256;

/// An event as sent: its name and its JSON text.
#[derive(Debug)]
pub struct HubEvent {
    /// `sample`, `clock`, `state`, `notice` or `resync`.
    pub name: &'static str,
    /// JSON.
    pub data: String,
}

/// The same notice is sent again only after this long: a read that keeps failing (the
/// poller tries up to 20 times a second) tells the pages once, not 20 times a second.
pub const NOTICE_REPEAT_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// The broadcast side.
#[derive(Debug)]
pub struct Hub {
    tx: broadcast::Sender<Arc<HubEvent>>,
    open: Arc<AtomicUsize>,
    last_notice: std::sync::Mutex<Option<(String, std::time::Instant)>>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub::new()
    }
}

impl Hub {
    /// No pages yet.
    pub fn new() -> Hub {
        Hub {
            tx: broadcast::channel(QUEUE_EVENTS).0,
            open: Arc::new(AtomicUsize::new(0)),
            last_notice: std::sync::Mutex::new(None),
        }
    }

    fn send<T: serde::Serialize>(&self, name: &'static str, v: &T) {
        let Ok(data) = serde_json::to_string(v) else {
            return;
        };
        // No receiver is not an error: nobody watches.
        let _ = self.tx.send(Arc::new(HubEvent { name, data }));
    }

    /// A new sample.
    pub fn sample(&self, s: &Sample) {
        self.send("sample", s);
    }

    /// The clock moved or its knobs changed.
    pub fn clock(&self, c: &ClockView) {
        self.send("clock", c);
    }

    /// The state changed.
    pub fn state(&self, s: &StateView) {
        self.send("state", s);
    }

    /// Kept samples changed (a late VM's history joined them): pages re-read the window.
    pub fn resync(&self) {
        self.send("resync", &serde_json::json!({}));
    }

    /// A message every page shows (a failed read, say).
    pub fn notice(&self, message: &str) {
        {
            let mut last = self.last_notice.lock().unwrap_or_else(|p| p.into_inner());
            let now = std::time::Instant::now();
            if let Some((m, at)) = last.as_ref()
                && m == message
                && now.duration_since(*at) < NOTICE_REPEAT_AFTER
            {
                return;
            }
            *last = Some((message.to_owned(), now));
        }
        self.send("notice", &serde_json::json!({ "message": message }));
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A page's stream, starting with `first` (the state); `None` when `max` are open.
    pub fn subscribe(
        &self,
        max: usize,
        first: HubEvent,
    ) -> Option<impl Stream<Item = Result<Event, Infallible>> + use<>> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            return None;
        }
        let guard = Slot(self.open.clone());
        let rx = self.tx.subscribe();
        let first = Some(Arc::new(first));
        Some(futures_util::stream::unfold(
            (rx, first, guard),
            |(mut rx, mut first, guard)| async move {
                if let Some(e) = first.take() {
                    return Some((Ok(to_sse(&e)), (rx, None, guard)));
                }
                match rx.recv().await {
                    Ok(e) => Some((Ok(to_sse(&e)), (rx, None, guard))),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let e = Event::default().event("resync").data("{}");
                        Some((Ok(e), (rx, None, guard)))
                    }
                    Err(broadcast::error::RecvError::Closed) => None,
                }
            },
        ))
    }
}

fn to_sse(e: &HubEvent) -> Event {
    Event::default().event(e.name).data(e.data.as_str())
}

/// One open stream; the count drops when the page goes.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn first() -> HubEvent {
        HubEvent {
            name: "state",
            data: "{}".into(),
        }
    }

    #[tokio::test]
    async fn streams_are_counted_and_capped() {
        let hub = Hub::new();
        let a = hub.subscribe(2, first()).expect("first");
        let b = hub.subscribe(2, first()).expect("second");
        assert!(hub.subscribe(2, first()).is_none());
        assert_eq!(hub.open_streams(), 2);
        drop(a);
        assert_eq!(hub.open_streams(), 1);
        let c = hub.subscribe(2, first());
        assert!(c.is_some());
        drop((b, c));
        assert_eq!(hub.open_streams(), 0);
    }

    #[tokio::test]
    async fn a_repeated_notice_is_sent_once() {
        let hub = Hub::new();
        let mut s = Box::pin(hub.subscribe(1, first()).expect("open"));
        assert!(s.next().await.is_some());
        for _ in 0..10 {
            hub.notice("reading the counters failed");
        }
        hub.notice("another");
        let one = s.next().await.expect("event").expect("infallible");
        let two = s.next().await.expect("event").expect("infallible");
        assert!(format!("{one:?}").contains("counters failed"), "{one:?}");
        assert!(format!("{two:?}").contains("another"), "{two:?}");
    }

    #[tokio::test]
    async fn a_lagging_page_is_told_to_resync() {
        let hub = Hub::new();
        let mut s = Box::pin(hub.subscribe(1, first()).expect("open"));
        assert!(s.next().await.is_some(), "the state comes first");
        for i in 0..(QUEUE_EVENTS + 5) {
            hub.notice(&format!("x{i}"));
        }
        // The first event after the overflow is the resync; then the stream goes on.
        let e = s.next().await.expect("event").expect("infallible");
        assert!(format!("{e:?}").contains("resync"), "{e:?}");
        hub.notice("after");
        assert!(s.next().await.is_some());
    }
}
