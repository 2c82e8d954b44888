//! The running virtual clock's controls: speed, pause, resume and single steps, shared by
//! whoever drives it (`vicbed serve`'s fixed speed, the live console's knobs) and the task
//! that turns wall time into virtual time ([`crate::Vcsim::spawn_paced_clock`]).
//!
//! The controls keep the books themselves: every change first credits the wall time since
//! the last one at the pace that was in force over it, so a speed change, a pause or a
//! resume takes effect at the instant it is made, however late the driver wakes. Paused
//! wall time is never made up, and a driver that fell far behind (a stalled process) is
//! owed at most [`MAX_CATCH_UP_MS`] or one wall second at its speed, whichever is more:
//! past that the clock slows rather than holding the emulator for one huge advance.

use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// The fastest the clock may run: 3 600 × wall time (an hour a second). The model steps
/// every 20 s of virtual time, so at this speed it steps 180 times a wall second.
pub const MAX_SPEED: f64 = 3600.0;

/// The longest single step: one virtual hour (the realtime perf window).
pub const MAX_STEP_MS: i64 = 3_600_000;

/// The most running time owed to the driver at once (one virtual hour, or one wall
/// second's worth when the speed is above 3 600×).
pub const MAX_CATCH_UP_MS: i64 = 3_600_000;

/// Why a control was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaceError {
    /// The speed is not a number in (0, MAX_SPEED].
    #[error("speed must be a number above 0 and at most {MAX_SPEED}, not {0}")]
    Speed(f64),
    /// A step of zero, negative or over MAX_STEP_MS milliseconds.
    #[error("a step must be between 1 ms and {MAX_STEP_MS} ms of virtual time, not {0} ms")]
    Step(i64),
    /// Steps not yet applied would add up to more than MAX_STEP_MS.
    #[error("{0} ms of steps are still being applied; at most {MAX_STEP_MS} ms may wait")]
    StepsPending(i64),
}

/// What the controls say now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Virtual milliseconds per wall millisecond.
    pub speed: f64,
    /// True while the clock stands still (steps still move it).
    pub paused: bool,
}

#[derive(Debug)]
struct State {
    pace: Pace,
    /// Virtual milliseconds asked for by `step` and not yet applied.
    pending_step_ms: i64,
    /// Running virtual time owed to the driver, credited up to `since`.
    owed_ms: f64,
    /// When `owed_ms` was last credited.
    since: Instant,
}

impl State {
    /// Credits the wall time since `since` at the pace in force over it.
    fn credit(&mut self, now: Instant) {
        if !self.pace.paused {
            let wall_ms = now.saturating_duration_since(self.since).as_secs_f64() * 1000.0;
            let cap = (MAX_CATCH_UP_MS as f64).max(self.pace.speed * 1000.0);
            self.owed_ms = (self.owed_ms + wall_ms * self.pace.speed).min(cap);
        }
        self.since = self.since.max(now);
    }
}

/// The shared controls; the driver task wakes on every change.
#[derive(Debug)]
pub struct ClockControl {
    state: Mutex<State>,
    changed: Notify,
    now_tx: watch::Sender<i64>,
}

impl ClockControl {
    /// Controls at `speed`, running, with the clock at `now_ms`.
    pub fn new(speed: f64, now_ms: i64) -> Result<Arc<ClockControl>, PaceError> {
        check_speed(speed)?;
        Ok(ClockControl::with_pace(
            Pace {
                speed,
                paused: false,
            },
            now_ms,
        ))
    }

    /// Controls at a fixed `speed` of any size (`vicbed serve --speed`, which takes speeds
    /// above [`MAX_SPEED`]); a speed that is not a positive number leaves the clock paused.
    pub(crate) fn fixed(speed: f64, now_ms: i64) -> Arc<ClockControl> {
        let usable = speed.is_finite() && speed > 0.0;
        ClockControl::with_pace(
            Pace {
                speed: if usable { speed } else { 1.0 },
                paused: !usable,
            },
            now_ms,
        )
    }

    fn with_pace(pace: Pace, now_ms: i64) -> Arc<ClockControl> {
        Arc::new(ClockControl {
            state: Mutex::new(State {
                pace,
                pending_step_ms: 0,
                owed_ms: 0.0,
                since: Instant::now(),
            }),
            changed: Notify::new(),
            now_tx: watch::channel(now_ms).0,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current speed and pause state.
    pub fn pace(&self) -> Pace {
        self.lock().pace
    }

    /// Sets the speed (the clock keeps its pause state).
    pub fn set_speed(&self, speed: f64) -> Result<(), PaceError> {
        self.set_speed_at(speed, Instant::now())
    }

    fn set_speed_at(&self, speed: f64, now: Instant) -> Result<(), PaceError> {
        check_speed(speed)?;
        {
            let mut st = self.lock();
            st.credit(now);
            st.pace.speed = speed;
        }
        self.changed.notify_one();
        Ok(())
    }

    /// Stops the clock; virtual time stands until `resume` (or a `step`).
    pub fn pause(&self) {
        self.set_paused_at(true, Instant::now());
    }

    /// Lets the clock run again from where it stood (the paused wall time is not made up).
    pub fn resume(&self) {
        self.set_paused_at(false, Instant::now());
    }

    fn set_paused_at(&self, paused: bool, now: Instant) {
        {
            let mut st = self.lock();
            st.credit(now);
            st.pace.paused = paused;
        }
        self.changed.notify_one();
    }

    /// Moves the clock `delta_ms` ahead at once, paused or not. Steps the driver has not
    /// applied yet add up, to at most [`MAX_STEP_MS`]; beyond that a step is refused.
    pub fn step(&self, delta_ms: i64) -> Result<(), PaceError> {
        if !(1..=MAX_STEP_MS).contains(&delta_ms) {
            return Err(PaceError::Step(delta_ms));
        }
        {
            let mut st = self.lock();
            if st.pending_step_ms + delta_ms > MAX_STEP_MS {
                return Err(PaceError::StepsPending(st.pending_step_ms));
            }
            st.pending_step_ms += delta_ms;
        }
        self.changed.notify_one();
        Ok(())
    }

    /// Virtual time as the driver last published it (after each advance).
    pub fn now(&self) -> watch::Receiver<i64> {
        self.now_tx.subscribe()
    }

    /// The driver's side, when it starts: what was owed before it ran is dropped (the
    /// controls may be made long before the driver, while a testbed starts).
    pub(crate) fn start(&self) {
        let mut st = self.lock();
        st.owed_ms = 0.0;
        st.since = Instant::now();
    }

    /// The driver's side: the whole virtual milliseconds to advance now (running time up to
    /// now at the pace in force over it, plus pending steps), taken. Never negative.
    pub(crate) fn take(&self) -> i64 {
        self.take_at(Instant::now())
    }

    fn take_at(&self, now: Instant) -> i64 {
        let mut st = self.lock();
        st.credit(now);
        let whole = st.owed_ms.floor();
        st.owed_ms -= whole;
        // `whole` is at most the catch-up cap, far inside i64.
        whole as i64 + std::mem::take(&mut st.pending_step_ms)
    }

    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }

    pub(crate) fn publish(&self, now_ms: i64) {
        self.now_tx.send_if_modified(|v| {
            let moved = *v != now_ms;
            *v = now_ms;
            moved
        });
    }
}

fn check_speed(speed: f64) -> Result<(), PaceError> {
    if speed.is_finite() && speed > 0.0 && speed <= MAX_SPEED {
        Ok(())
    } else {
        Err(PaceError::Speed(speed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn speed_and_step_are_bounded() {
        assert!(ClockControl::new(0.0, 0).is_err());
        assert!(ClockControl::new(f64::NAN, 0).is_err());
        let c = ClockControl::new(1.0, 0).expect("valid");
        assert_eq!(c.set_speed(-1.0), Err(PaceError::Speed(-1.0)));
        assert_eq!(
            c.set_speed(MAX_SPEED + 1.0),
            Err(PaceError::Speed(MAX_SPEED + 1.0))
        );
        assert_eq!(c.step(0), Err(PaceError::Step(0)));
        assert_eq!(
            c.step(MAX_STEP_MS + 1),
            Err(PaceError::Step(MAX_STEP_MS + 1))
        );
        assert_eq!(c.pace().speed, 1.0);
    }

    #[test]
    fn steps_add_up_within_an_hour_and_are_taken_once() {
        let c = ClockControl::new(600.0, 0).expect("valid");
        let t0 = Instant::now();
        // The books start at t0: wall time since `new` would otherwise count at 600×.
        c.lock().since = t0;
        c.set_paused_at(true, t0);
        c.step(20_000).expect("step");
        c.step(20_000).expect("step");
        assert!(c.pace().paused);
        assert_eq!(c.take_at(t0 + ms(500)), 40_000, "paused: the steps only");
        assert_eq!(c.take_at(t0 + ms(600)), 0);
        c.step(MAX_STEP_MS).expect("one hour");
        // A step that would not be applied is refused, not dropped.
        assert_eq!(c.step(1), Err(PaceError::StepsPending(MAX_STEP_MS)));
        assert_eq!(c.take_at(t0 + ms(700)), MAX_STEP_MS);
        c.step(1).expect("room again");
    }

    #[test]
    fn each_stretch_of_wall_time_runs_at_the_pace_then_in_force() {
        let c = ClockControl::new(1.0, 0).expect("valid");
        let t0 = Instant::now();
        c.lock().since = t0;
        // 1× for 40 ms, then 600× for 10 ms: the driver wakes only after the change.
        c.set_speed_at(600.0, t0 + ms(40)).expect("speed");
        assert_eq!(c.take_at(t0 + ms(50)), 40 + 6_000);
        // Paused at +60: the 10 ms before count at 600×, the pause's second not at all,
        // however late the driver looks.
        c.set_paused_at(true, t0 + ms(60));
        c.set_paused_at(false, t0 + ms(1_060));
        assert_eq!(
            c.take_at(t0 + ms(1_060)),
            6_000,
            "paused time is not made up"
        );
        assert_eq!(c.take_at(t0 + ms(1_070)), 6_000);
        // A stalled driver is owed one hour at most.
        assert_eq!(c.take_at(t0 + ms(3_601_070)), MAX_CATCH_UP_MS);
        // Time never runs back, whatever instant is passed.
        assert_eq!(c.take_at(t0), 0);
    }

    #[test]
    fn a_fixed_pace_takes_any_positive_speed() {
        let c = ClockControl::fixed(100_000.0, 0);
        let t0 = Instant::now();
        c.lock().since = t0;
        assert_eq!(c.take_at(t0 + ms(50)), 5_000_000);
        assert!(ClockControl::fixed(f64::NAN, 0).pace().paused);
        assert!(ClockControl::fixed(-1.0, 0).pace().paused);
    }

    #[tokio::test(start_paused = true)]
    async fn spawn_clock_runs_fast_speeds_without_panicking() {
        let emu = crate::Emulator::new(crate::Config::default()).expect("builds");
        let vc = crate::Vcsim::new(emu);
        let t0 = vc.with(|e| e.clock.now_ms());
        let clock = vc.spawn_clock(10_000.0);
        tokio::time::sleep(ms(200)).await;
        let t1 = vc.with(|e| e.clock.now_ms());
        clock.abort();
        assert!(t1 - t0 >= 1_000_000, "moved {} ms", t1 - t0);
    }
}
