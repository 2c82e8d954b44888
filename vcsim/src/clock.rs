//! Virtual time. Scenarios and tests advance it explicitly; `vicbed serve` drives it from the
//! wall clock times a speed factor. The contention model is stepped only by this clock, once
//! per 20 s realtime interval, so a run's samples never depend on how fast the machine is.

/// The realtime performance interval of ESXi and vCenter, in seconds.
pub const REALTIME_INTERVAL_S: i64 = 20;

/// The default start of virtual time: 2017-10-02T08:00:00Z, the week of the seed posts.
pub const DEFAULT_START_MS: i64 = 1_506_931_200_000;

/// A virtual clock with the time of the last model step.
#[derive(Clone, Debug)]
pub struct Clock {
    now_ms: i64,
    last_step_ms: i64,
    start_ms: i64,
}

impl Clock {
    /// A clock starting at `start_ms` (milliseconds since the epoch), aligned down to the
    /// realtime interval so sample timestamps fall on 20 s boundaries as in vCenter.
    pub fn new(start_ms: i64) -> Clock {
        let aligned = start_ms - start_ms.rem_euclid(REALTIME_INTERVAL_S * 1000);
        Clock {
            now_ms: aligned,
            last_step_ms: aligned,
            start_ms: aligned,
        }
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// When the clock started.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Moves time to the end of the next realtime interval when it lies at or before
    /// `target_ms` and returns it, or moves to `target_ms` and returns `None`. Stepping the
    /// model interval by interval this way, each step (and each guest) sees its own time.
    pub fn step_towards(&mut self, target_ms: i64) -> Option<i64> {
        let next = self.last_step_ms + REALTIME_INTERVAL_S * 1000;
        if next <= target_ms {
            self.last_step_ms = next;
            self.now_ms = self.now_ms.max(next);
            Some(next)
        } else {
            self.now_ms = self.now_ms.max(target_ms);
            None
        }
    }

    /// Moves time forward by `delta_ms` (negative values are ignored: time never runs back)
    /// and returns the end times of the realtime intervals completed by the move.
    pub fn advance(&mut self, delta_ms: i64) -> Vec<i64> {
        self.now_ms += delta_ms.max(0);
        let mut due = Vec::new();
        let interval_ms = REALTIME_INTERVAL_S * 1000;
        while self.last_step_ms + interval_ms <= self.now_ms {
            self.last_step_ms += interval_ms;
            due.push(self.last_step_ms);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_towards_a_target_visits_each_boundary() {
        let mut c = Clock::new(DEFAULT_START_MS);
        let target = c.now_ms() + 45_000;
        assert_eq!(c.step_towards(target), Some(DEFAULT_START_MS + 20_000));
        assert_eq!(c.now_ms(), DEFAULT_START_MS + 20_000);
        assert_eq!(c.step_towards(target), Some(DEFAULT_START_MS + 40_000));
        assert_eq!(c.step_towards(target), None);
        assert_eq!(c.now_ms(), target);
    }

    #[test]
    fn steps_fall_on_interval_boundaries() {
        let mut c = Clock::new(DEFAULT_START_MS + 5_000);
        assert_eq!(c.now_ms() % 20_000, 0);
        assert!(c.advance(19_999).is_empty());
        let due = c.advance(41_000);
        assert_eq!(due.len(), 3);
        assert_eq!(due[0] - c.start_ms(), 20_000);
        assert!(c.advance(-5).is_empty());
    }
}
