//! The link between a containerVM's process and the VCH endpoint: what VIC carries over the
//! containerVM's serial ports — the attach link to the appliance's vSPC (stdin, stdout,
//! stderr of the primary session) and the log port whose bytes become `output.log` in the
//! container's datastore folder (vic.md §7.3 steps 3–4).
//!
//! In the testbed both ends run in one process, so the link is an in-memory [`Channel`] per
//! container, found through a [`Hub`] the tether and the appliance share
//! ([`crate::install_agents`]). The tether ([`crate::tether`]) opens a run at power-on,
//! appends the process's output stamped with virtual time, installs a stdin sink for an
//! interactive session and closes the run with the exit status; the endpoint's attach, logs
//! and events read it. A channel outlives its runs (as `output.log` does) and goes when the
//! container is removed.
//!
//! Bounded: a channel keeps at most [`MAX_LOG_BYTES`] of output (oldest entries dropped, as a
//! rotated log), and exit notices go through a bounded broadcast that drops for laggards.

use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, watch};

/// Output kept per container (the newest bytes win).
pub const MAX_LOG_BYTES: usize = 1 << 20;
/// Exit notices buffered for a slow listener before the oldest are dropped.
const EXIT_BACKLOG: usize = 1024;

/// Which stream an entry was written to (the stdcopy stream numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// 1.
    Stdout = 1,
    /// 2.
    Stderr = 2,
}

/// One write of the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the channel's history (increasing, never reused).
    pub seq: u64,
    /// Where it went.
    pub stream: Stream,
    /// Virtual time of the write, ms since the epoch.
    pub at_ms: i64,
    /// The bytes.
    pub bytes: Bytes,
}

/// What an attached client sends the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Bytes for stdin.
    Bytes(Vec<u8>),
    /// stdin closed.
    Eof,
}

/// A process's stdin, installed by the tether while an interactive session runs.
pub type InputSink = Arc<dyn Fn(Input) + Send + Sync>;

/// A run of a container's process that ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The container id.
    pub id: String,
    /// The run that ended (1 for the first start).
    pub run: u64,
    /// The exit status when the process ended by itself; None when its VM was powered off
    /// under it (stop, kill, a vSphere power-off).
    pub code: Option<i32>,
    /// When, virtual ms since the epoch.
    pub at_ms: i64,
}

/// Where a channel's runs stand, read together with its entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunState {
    /// Runs begun so far (0: never started).
    pub run: u64,
    /// Whether the latest run is still going.
    pub running: bool,
    /// The latest run that ended: (run, exit code if it exited by itself).
    pub last_exit: Option<(u64, Option<i32>)>,
    /// The container was removed: nothing more will come.
    pub closed: bool,
}

#[derive(Default)]
struct State {
    entries: VecDeque<Entry>,
    next_seq: u64,
    bytes: usize,
    runs: RunState,
    input: Option<InputSink>,
}

/// One container's link.
pub struct Channel {
    id: String,
    state: Mutex<State>,
    /// Bumped on every change, so readers wait without polling.
    changed: watch::Sender<u64>,
    exits: broadcast::Sender<Exit>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel").field("id", &self.id).finish()
    }
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A new run begins (the VM powered on and the process launched); returns its number.
    pub fn begin_run(&self) -> u64 {
        let run = {
            let mut s = self.lock();
            s.runs.run += 1;
            s.runs.running = true;
            s.input = None;
            s.runs.run
        };
        self.bump();
        run
    }

    /// Appends output of the current run. Empty writes are dropped.
    pub fn write(&self, stream: Stream, at_ms: i64, bytes: impl Into<Bytes>) {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return;
        }
        {
            let mut s = self.lock();
            let seq = s.next_seq;
            s.next_seq += 1;
            s.bytes += bytes.len();
            s.entries.push_back(Entry {
                seq,
                stream,
                at_ms,
                bytes,
            });
            while s.bytes > MAX_LOG_BYTES {
                match s.entries.pop_front() {
                    Some(e) => s.bytes -= e.bytes.len(),
                    None => break,
                }
            }
        }
        self.bump();
    }

    /// Installs the process's stdin (an interactive session).
    pub fn set_input(&self, sink: InputSink) {
        self.lock().input = Some(sink);
        self.bump();
    }

    /// Whether the current run reads stdin.
    pub fn accepts_input(&self) -> bool {
        let s = self.lock();
        s.runs.running && s.input.is_some()
    }

    /// Sends `input` to the process; false when nothing reads it (not running, no stdin).
    /// The sink runs outside the channel's lock: it writes output back into this channel.
    pub fn send_input(&self, input: Input) -> bool {
        let sink = {
            let s = self.lock();
            if !s.runs.running {
                return false;
            }
            s.input.clone()
        };
        match sink {
            Some(f) => {
                f(input);
                true
            }
            None => false,
        }
    }

    /// The current run ended at `at_ms`: by itself with `code`, or (None) its VM powered off.
    /// A second end of the same run is ignored.
    pub fn end_run(&self, code: Option<i32>, at_ms: i64) {
        let exit = {
            let mut s = self.lock();
            if !s.runs.running {
                return;
            }
            s.runs.running = false;
            s.runs.last_exit = Some((s.runs.run, code));
            s.input = None;
            Exit {
                id: self.id.clone(),
                run: s.runs.run,
                code,
                at_ms,
            }
        };
        self.bump();
        // No listener (no endpoint running) is fine: the state above is what attach reads.
        let _ = self.exits.send(exit);
    }

    /// Where the runs stand.
    pub fn runs(&self) -> RunState {
        self.lock().runs.clone()
    }

    /// The sequence number the next write will get.
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// Entries from `from_seq` on (those still kept) and the run state, read together.
    pub fn read_from(&self, from_seq: u64) -> (Vec<Entry>, RunState) {
        let s = self.lock();
        let skip = s.entries.partition_point(|e| e.seq < from_seq);
        (
            s.entries.iter().skip(skip).cloned().collect(),
            s.runs.clone(),
        )
    }

    /// Every kept entry (for `docker logs`).
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// A receiver that changes whenever the channel does.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn close(&self) {
        {
            let mut s = self.lock();
            s.runs.closed = true;
            s.runs.running = false;
            s.input = None;
        }
        self.bump();
    }
}

/// Every container's link, shared by the tether and the endpoints of one emulator.
pub struct Hub {
    channels: Mutex<BTreeMap<String, Arc<Channel>>>,
    exits: broadcast::Sender<Exit>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            channels: Mutex::new(BTreeMap::new()),
            exits: broadcast::channel(EXIT_BACKLOG).0,
        }
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<Channel>>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The channel of container `id`, created when missing (an attach may come before the
    /// first start).
    pub fn channel(&self, id: &str) -> Arc<Channel> {
        self.lock()
            .entry(id.to_owned())
            .or_insert_with(|| {
                Arc::new(Channel {
                    id: id.to_owned(),
                    state: Mutex::new(State::default()),
                    changed: watch::channel(0).0,
                    exits: self.exits.clone(),
                })
            })
            .clone()
    }

    /// The channel of container `id`, if it has one.
    pub fn get(&self, id: &str) -> Option<Arc<Channel>> {
        self.lock().get(id).cloned()
    }

    /// Container `id` was removed: its channel closes (attached readers end) and goes.
    pub fn forget(&self, id: &str) {
        if let Some(c) = self.lock().remove(id) {
            c.close();
        }
    }

    /// Exit notices of every container from now on.
    pub fn exits(&self) -> broadcast::Receiver<Exit> {
        self.exits.subscribe()
    }

    /// How many channels exist.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no channel exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_output_and_exits() {
        let hub = Hub::new();
        let mut exits = hub.exits();
        let c = hub.channel("abc");
        assert_eq!(c.runs(), RunState::default());
        let from = c.next_seq();
        assert_eq!(c.begin_run(), 1);
        c.write(Stream::Stdout, 10, &b"hi\n"[..]);
        c.write(Stream::Stderr, 20, &b""[..]);
        c.write(Stream::Stderr, 20, &b"oops\n"[..]);
        let (entries, runs) = c.read_from(from);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].stream, Stream::Stderr);
        assert!(runs.running);
        c.end_run(Some(3), 30);
        c.end_run(Some(4), 40);
        let e = exits.try_recv().expect("an exit notice");
        assert_eq!(
            (e.id.as_str(), e.run, e.code, e.at_ms),
            ("abc", 1, Some(3), 30)
        );
        assert!(exits.try_recv().is_err(), "one notice per run");
        assert_eq!(c.runs().last_exit, Some((1, Some(3))));
        assert_eq!(c.read_from(1).0.len(), 1);
        assert!(Arc::ptr_eq(&c, &hub.channel("abc")));
        hub.forget("abc");
        assert!(c.runs().closed);
        assert!(hub.get("abc").is_none());
    }

    #[test]
    fn input_reaches_the_sink_only_while_running() {
        let hub = Hub::new();
        let c = hub.channel("x");
        let seen = Arc::new(AtomicUsize::new(0));
        assert!(!c.send_input(Input::Eof));
        c.begin_run();
        let s = seen.clone();
        let chan = c.clone();
        // The sink writes back into the channel: it must run outside the lock.
        c.set_input(Arc::new(move |i| {
            if let Input::Bytes(b) = i {
                s.fetch_add(b.len(), Ordering::SeqCst);
                chan.write(Stream::Stdout, 0, b);
            }
        }));
        assert!(c.accepts_input());
        assert!(c.send_input(Input::Bytes(b"abc".to_vec())));
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        assert_eq!(c.entries().len(), 1);
        c.end_run(None, 5);
        assert!(!c.send_input(Input::Bytes(b"z".to_vec())));
    }

    #[test]
    fn output_is_bounded() {
        let hub = Hub::new();
        let c = hub.channel("big");
        c.begin_run();
        let chunk = vec![b'x'; 64 * 1024];
        for i in 0..40 {
            c.write(Stream::Stdout, i, chunk.clone());
        }
        let kept: usize = c.entries().iter().map(|e| e.bytes.len()).sum();
        assert!(kept <= MAX_LOG_BYTES);
        assert_eq!(c.entries().last().map(|e| e.seq), Some(39));
    }
}
