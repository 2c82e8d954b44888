//! A container's process ending by itself: the `die` event with its exit code, and `--rm`
//! (`HostConfig.AutoRemove`) removing the container afterwards with a `destroy` event — what
//! the docker CLI at API 1.25 waits for to end a foreground `docker run` (it reads the exit
//! status from `die`, and with `--rm` waits for `destroy`).
//!
//! The endpoint learns of exits from the containerVMs' [`crate::interaction`] link. A process
//! can end while its container's `start` is still answering (`docker run busybox true`
//! powers on and exits within the same power-on): that exit is held in
//! `Store::deferred_exits` and published by `start` after its own `start` event, so the
//! stream reads `start`, `die` in that order. Exits seen while a stop, kill or removal is in
//! flight are that operation's to report; during any other (a rename) they are published
//! at once.

use super::containers;
use super::events::Event;
use super::state::{Container, Engine};
use crate::interaction::Exit;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Follows the exits of this endpoint's containers until the endpoint goes.
pub fn watch_exits(engine: &Arc<Engine>) {
    let Some(hub) = engine.config.interaction.clone() else {
        return;
    };
    let mut rx = hub.exits();
    let weak = Arc::downgrade(engine);
    tokio::spawn(async move {
        loop {
            let exit = match rx.recv().await {
                Ok(e) => e,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            };
            let Some(engine) = weak.upgrade() else {
                return;
            };
            on_exit(&engine, exit).await;
        }
    });
}

async fn on_exit(engine: &Arc<Engine>, exit: Exit) {
    let c = {
        let mut store = engine.lock();
        let Some(c) = store.containers.get(&exit.id).cloned() else {
            // Another VCH's container, or one removed already.
            return;
        };
        match store.busy.get(&exit.id).copied() {
            // `start` publishes it after its own event.
            Some("start") => {
                if exit.code.is_some() {
                    store.deferred_exits.insert(exit.id.clone(), exit);
                }
                return;
            }
            // These stop the container and report its end themselves.
            Some("stop" | "kill" | "remove") => return,
            _ => {}
        }
        c
    };
    died(engine, &c, exit.code, exit.at_ms).await;
}

/// Closes `c`'s port forwards, publishes `die` for `c` (exit code `code`, or the code its
/// stop left, or 0) and, for an `--rm` container, removes it.
pub async fn died(engine: &Arc<Engine>, c: &Container, code: Option<i32>, at_ms: i64) {
    // Nothing serves its published ports any more: the VCH stops forwarding them.
    engine.forwards.close(&c.id).await;
    let code = code.or(c.killed.map(|(k, _)| k)).unwrap_or(0);
    engine.events.publish(
        Event::container("die", &c.id, &c.name, &c.image_ref, at_ms)
            .with("exitCode", code.to_string()),
    );
    auto_remove(engine, c).await;
}

/// Removes `c` and its anonymous volumes if it was created with `--rm`
/// (`HostConfig.AutoRemove`).
pub async fn auto_remove(engine: &Arc<Engine>, c: &Container) {
    if c.host_config
        .get("AutoRemove")
        .and_then(serde_json::Value::as_bool)
        != Some(true)
    {
        return;
    }
    // dockerd removes an auto-removed container with its anonymous volumes (`rm -f -v`).
    let mut q = BTreeMap::new();
    q.insert("force".to_owned(), "1".to_owned());
    q.insert("v".to_owned(), "1".to_owned());
    if let Err(e) = containers::remove(engine, &c.id, &q).await {
        tracing::warn!(container = %c.id, error = %e.message, "removing an --rm container");
    }
}
