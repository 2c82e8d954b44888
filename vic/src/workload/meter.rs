//! CPU work a service inside a containerVM asks for on demand — a DCH's `docker build`
//! steps — done at the rate the contention model grants that VM: [`WorkMeter`].
//!
//! The service [`WorkMeter::submit`]s an amount of work (MHz·s) and awaits its end, a
//! virtual time. While work is queued the meter is busy and the tether gives the VM the
//! busy workload ([`BUSY_WORKLOAD`]); at each tick the tether reports the VM's
//! `cpu.usagemhz` over the interval the model just ran ([`WorkMeter::tick`]), which pays the
//! queued jobs in order. A job's end is interpolated within the interval that finished it,
//! as a work-bound `stress-ng` run's is (`tether::session`), so the same work under a
//! tighter VCH limit ends later in virtual time, and the wall clock never enters.
//!
//! Our assumption (MODEL.md §6): a build step keeps one vCPU of its containerVM busy (apt,
//! tdnf and the Docker commit are mostly single-threaded).

use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The VM's workload while work is queued: one busy vCPU, as one `stress --cpu 1` worker
/// is in the model.
pub const BUSY_WORKLOAD: scheduler_model::Workload = scheduler_model::Workload::Stress {
    cpu_workers: 1,
    io_workers: 0,
    hdd_workers: 0,
    vm_workers: 0,
    vm_bytes_mb: 0,
    vm_touch_mb_per_s: 0,
    duration_s: None,
};

/// Most jobs queued at once (a DCH builds one context per connection; 64 connections).
pub const MAX_JOBS: usize = 256;

/// The model's sample interval (the tether ticks at its end).
const INTERVAL_MS: i64 = vcsim::clock::REALTIME_INTERVAL_S * 1000;

struct Job {
    left_mhz_s: f64,
    /// When it was submitted: work before then is not its own.
    from_ms: i64,
    done: Option<oneshot::Sender<i64>>,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// The latest tick's time (the virtual "now" a submission starts at).
    now_ms: i64,
    /// Whether the tether last set the busy workload.
    busy_set: bool,
}

/// Work queued on one containerVM.
#[derive(Default)]
pub struct WorkMeter {
    state: Mutex<State>,
}

impl std::fmt::Debug for WorkMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkMeter")
            .field("jobs", &self.lock().jobs.len())
            .finish()
    }
}

/// What a tick changes for the tether.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Work is queued: give the VM [`BUSY_WORKLOAD`].
    Busy,
    /// The queue emptied: give the VM its own workload back.
    Idle,
}

impl WorkMeter {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `mhz_s` of work starting now (the latest tick, or `at_ms` if later); the
    /// receiver yields the virtual time it ended. `None` when [`MAX_JOBS`] are queued.
    /// No work ends at once, at that time.
    pub fn submit(&self, mhz_s: u64, at_ms: i64) -> Option<oneshot::Receiver<i64>> {
        let (tx, rx) = oneshot::channel();
        let mut s = self.lock();
        let from_ms = s.now_ms.max(at_ms);
        if mhz_s == 0 {
            let _ = tx.send(from_ms);
            return Some(rx);
        }
        if s.jobs.len() >= MAX_JOBS {
            return None;
        }
        s.jobs.push_back(Job {
            left_mhz_s: mhz_s as f64,
            from_ms,
            done: Some(tx),
        });
        Some(rx)
    }

    /// [`WorkMeter::submit`] at the latest tick: that start time, and the end's receiver.
    pub fn submit_now(&self, mhz_s: u64) -> Option<(i64, oneshot::Receiver<i64>)> {
        let started_ms = self.lock().now_ms;
        Some((started_ms, self.submit(mhz_s, started_ms)?))
    }

    /// Sets the meter's clock to `now_ms` (the containerVM's power-on), so that work queued
    /// before its first tick starts then and not at the epoch.
    pub fn start_at(&self, now_ms: i64) {
        let mut s = self.lock();
        s.now_ms = s.now_ms.max(now_ms);
    }

    /// Whether work someone still waits for is queued.
    pub fn busy(&self) -> bool {
        self.lock()
            .jobs
            .iter()
            .any(|j| j.done.as_ref().is_some_and(|d| !d.is_closed()))
    }

    /// The tick at `now_ms`, the VM having used `cpu_usage_mhz` over the interval that
    /// ended at the previous tick (as `GuestView` reports it): pays the jobs in order, ends
    /// those done, and says whether the VM's workload must change.
    pub fn tick(&self, now_ms: i64, cpu_usage_mhz: u32) -> Option<Change> {
        let mut s = self.lock();
        let interval_end_ms = s.now_ms;
        s.now_ms = now_ms;
        let mut cursor_ms = interval_end_ms - INTERVAL_MS;
        while let Some(job) = s.jobs.front_mut() {
            let begin_ms = cursor_ms.max(job.from_ms);
            if begin_ms >= interval_end_ms || cpu_usage_mhz == 0 {
                break;
            }
            let span_ms = (interval_end_ms - begin_ms) as f64;
            let can_mhz_s = f64::from(cpu_usage_mhz) * span_ms / 1000.0;
            if can_mhz_s < job.left_mhz_s {
                job.left_mhz_s -= can_mhz_s;
                break;
            }
            let needed_ms = (job.left_mhz_s / f64::from(cpu_usage_mhz) * 1000.0).ceil() as i64;
            let end_ms = (begin_ms + needed_ms).min(interval_end_ms);
            if let Some(done) = job.done.take() {
                let _ = done.send(end_ms);
            }
            s.jobs.pop_front();
            cursor_ms = end_ms;
        }
        // A job whose waiter went away (the client disconnected) is dropped, not paid for.
        s.jobs
            .retain(|j| j.done.as_ref().is_some_and(|d| !d.is_closed()));
        let busy = !s.jobs.is_empty();
        if busy == s.busy_set {
            return None;
        }
        s.busy_set = busy;
        Some(if busy { Change::Busy } else { Change::Idle })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_ends_at_the_granted_rate_interpolated() {
        let m = WorkMeter::default();
        assert_eq!(m.tick(0, 0), None);
        // 3000 MHz·s submitted at 0: busy from the next tick.
        let mut rx = m.submit(3000, 0).expect("queued");
        assert!(m.busy());
        assert_eq!(m.tick(20_000, 0), Some(Change::Busy));
        // The interval 0–20 s ran at 100 MHz: 2000 MHz·s done, 1000 left.
        assert_eq!(m.tick(40_000, 100), None);
        assert!(rx.try_recv().is_err());
        // 20–40 s at 200 MHz: the rest in 5 s.
        assert_eq!(m.tick(60_000, 200), Some(Change::Idle));
        assert_eq!(rx.try_recv(), Ok(25_000));
        assert!(!m.busy());
    }

    #[test]
    fn jobs_are_paid_in_order_and_a_tighter_grant_ends_later() {
        let end = |mhz: u32| {
            let m = WorkMeter::default();
            m.tick(0, 0);
            let mut a = m.submit(1000, 0).expect("a");
            let mut b = m.submit(1000, 0).expect("b");
            let mut t = 0;
            while b.try_recv().is_err() {
                t += 20_000;
                m.tick(t, mhz);
                assert!(t < 10_000_000, "never ends");
            }
            (a.try_recv().expect("a ended"), t)
        };
        let (a_fast, _) = end(1000);
        let (a_slow, _) = end(100);
        assert_eq!(a_fast, 1000);
        assert_eq!(a_slow, 10_000);
        // A submission after a tick starts at that tick.
        let m = WorkMeter::default();
        m.tick(40_000, 0);
        let mut rx = m.submit(100, 0).expect("queued");
        m.tick(60_000, 0);
        m.tick(80_000, 100);
        assert_eq!(rx.try_recv(), Ok(41_000));
        assert_eq!(m.submit(0, 5).map(|mut r| r.try_recv()), Some(Ok(80_000)));
    }

    #[test]
    fn abandoned_jobs_are_dropped_and_the_queue_is_bounded() {
        let m = WorkMeter::default();
        m.start_at(1_000_000);
        let (started, rx) = m.submit_now(1000).expect("queued");
        assert_eq!(started, 1_000_000, "not the epoch");
        assert!(m.busy());
        drop(rx);
        assert!(!m.busy(), "nobody waits for it");
        assert_eq!(m.tick(1_020_000, 0), None, "nothing left to do");
        assert!(!m.busy());
        let kept: Vec<_> = (0..MAX_JOBS).map(|_| m.submit(1, 0)).collect();
        assert!(kept.iter().all(Option::is_some));
        assert!(m.submit(1, 0).is_none());
    }
}
