//! Demand profiles over virtual time: the fraction of a workload's peak CPU demand and active
//! memory it asks for at a given moment (MODEL.md §6.2).
//!
//! A profile answers the *mean* level over an interval, not a point sample: a burst of 30 s seen
//! through 20 s steps, or a step that falls inside an interval, then gives the demand a real
//! guest would have averaged over that interval (what `*.average` counters report).

use crate::error::ModelError;

/// Seconds in a day: the period of [`Profile::Daily`].
pub const DAY_S: u32 = 86_400;
/// Most steps one [`Profile::Steps`] may have (each interval walks them).
pub const MAX_PROFILE_STEPS: usize = 64;

/// One change of level in a [`Profile::Steps`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProfileStep {
    /// Seconds since the workload started (power-on or the last workload change).
    pub at_s: u32,
    /// Fraction of the peak from then on, in `[0, 1]`.
    pub level: f64,
}

/// How a workload's demand varies with time, as a fraction of its peak in `[0, 1]`.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Profile {
    /// Always the peak.
    #[default]
    Constant,
    /// A sine over the day of the virtual clock: the peak at `peak_s` (seconds after midnight),
    /// `low` twelve hours away from it.
    Daily {
        /// Time of day of the maximum, seconds after midnight (`< DAY_S`).
        peak_s: u32,
        /// Fraction of the peak at the trough, in `[0, 1]`.
        low: f64,
        /// Time of day (seconds after midnight) at which the workload started: the model only
        /// knows seconds since then, so whoever sets the workload anchors it to the clock.
        start_s_of_day: u32,
    },
    /// On/off bursts, starting with an `on` phase when the workload starts.
    Burst {
        /// Length of each busy phase (level 1).
        on_s: u32,
        /// Length of each quiet phase (level `low`).
        off_s: u32,
        /// Fraction of the peak while off, in `[0, 1]`.
        low: f64,
    },
    /// A level that changes at given times since the workload started; `low` before the first.
    Steps {
        /// Fraction of the peak before the first step, in `[0, 1]`.
        low: f64,
        /// Changes of level, strictly increasing in time (at most [`MAX_PROFILE_STEPS`]).
        steps: Vec<ProfileStep>,
    },
}

fn fraction_ok(x: f64) -> bool {
    x.is_finite() && (0.0..=1.0).contains(&x)
}

impl Profile {
    /// Checks the parameters (fractions in `[0, 1]`, positive burst period, ordered steps).
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::InvalidSpec(format!("workload profile: {m}")));
        match self {
            Profile::Constant => Ok(()),
            Profile::Daily {
                peak_s,
                low,
                start_s_of_day,
            } => {
                if *peak_s >= DAY_S || *start_s_of_day >= DAY_S {
                    return bad(format!(
                        "daily peak and start must be times of day (< {DAY_S} s)"
                    ));
                }
                if !fraction_ok(*low) {
                    return bad(format!("daily low {low} is not a fraction in [0, 1]"));
                }
                Ok(())
            }
            Profile::Burst { on_s, off_s, low } => {
                if *on_s == 0 || *off_s == 0 {
                    return bad("burst on and off must be positive".into());
                }
                if !fraction_ok(*low) {
                    return bad(format!("burst low {low} is not a fraction in [0, 1]"));
                }
                Ok(())
            }
            Profile::Steps { low, steps } => {
                if !fraction_ok(*low) {
                    return bad(format!("steps low {low} is not a fraction in [0, 1]"));
                }
                if steps.is_empty() || steps.len() > MAX_PROFILE_STEPS {
                    return bad(format!("steps needs 1 to {MAX_PROFILE_STEPS} steps"));
                }
                if steps.windows(2).any(|w| w[0].at_s >= w[1].at_s) {
                    return bad("step times must increase strictly".into());
                }
                if let Some(s) = steps.iter().find(|s| !fraction_ok(s.level)) {
                    return bad(format!(
                        "step level {} is not a fraction in [0, 1]",
                        s.level
                    ));
                }
                Ok(())
            }
        }
    }

    /// The lowest level this profile can produce (its bounds are `[floor, ceiling]`).
    pub fn floor(&self) -> f64 {
        match self {
            Profile::Constant => 1.0,
            Profile::Daily { low, .. } | Profile::Burst { low, .. } => *low,
            Profile::Steps { low, steps } => steps.iter().map(|s| s.level).fold(*low, f64::min),
        }
    }

    /// The highest level this profile can produce.
    pub fn ceiling(&self) -> f64 {
        match self {
            Profile::Constant | Profile::Daily { .. } | Profile::Burst { .. } => 1.0,
            Profile::Steps { low, steps } => steps.iter().map(|s| s.level).fold(*low, f64::max),
        }
    }

    /// The mean level over `[start_s, start_s + len_s)` seconds since the workload started;
    /// within `[floor, ceiling]`. `len_s == 0` gives the level at `start_s`.
    pub fn mean_level(&self, start_s: u64, len_s: u32) -> f64 {
        let x = match self {
            Profile::Constant => 1.0,
            Profile::Daily {
                peak_s,
                low,
                start_s_of_day,
            } => daily_mean(*peak_s, *low, *start_s_of_day, start_s, len_s),
            Profile::Burst { on_s, off_s, low } => burst_mean(*on_s, *off_s, *low, start_s, len_s),
            Profile::Steps { low, steps } => steps_mean(*low, steps, start_s, len_s),
        };
        // Guard against rounding pushing a mean a hair outside the profile's bounds.
        x.clamp(self.floor(), self.ceiling())
    }
}

/// Mean of `low + (1 − low)·(1 + cos ω(t − peak))/2` over the interval, exactly: the mean of
/// cos over an interval of length L centred on m is cos(ω(m − peak))·sinc(ωL/2), written
/// with the product form so that short intervals lose no precision.
fn daily_mean(peak_s: u32, low: f64, start_s_of_day: u32, start_s: u64, len_s: u32) -> f64 {
    let day = u64::from(DAY_S);
    // Time of day of the interval's start, reduced in integers so that long runs keep precision.
    let tod = (u64::from(start_s_of_day) + start_s % day) % day;
    let mid = tod as f64 + f64::from(len_s) / 2.0;
    let omega = std::f64::consts::TAU / f64::from(DAY_S);
    let half = omega * f64::from(len_s) / 2.0;
    let sinc = if half == 0.0 { 1.0 } else { half.sin() / half };
    let c = (omega * (mid - f64::from(peak_s))).cos() * sinc;
    low + (1.0 - low) * (1.0 + c) / 2.0
}

/// On-time within `[0, x)` of a burst pattern that starts on.
fn burst_on_time(on: u64, period: u64, x: u64) -> u64 {
    (x / period) * on + (x % period).min(on)
}

fn burst_mean(on_s: u32, off_s: u32, low: f64, start_s: u64, len_s: u32) -> f64 {
    let (on, period) = (u64::from(on_s), u64::from(on_s) + u64::from(off_s));
    let busy = if len_s == 0 {
        f64::from(u8::from(start_s % period < on))
    } else {
        let end = start_s.saturating_add(u64::from(len_s));
        let t = burst_on_time(on, period, end) - burst_on_time(on, period, start_s);
        t as f64 / f64::from(len_s)
    };
    low + (1.0 - low) * busy
}

fn steps_mean(low: f64, steps: &[ProfileStep], start_s: u64, len_s: u32) -> f64 {
    let level_at = |t: u64| {
        steps
            .iter()
            .take_while(|s| u64::from(s.at_s) <= t)
            .last()
            .map_or(low, |s| s.level)
    };
    if len_s == 0 {
        return level_at(start_s);
    }
    let end = start_s.saturating_add(u64::from(len_s));
    let (mut t, mut sum) = (start_s, 0.0);
    let mut level = level_at(start_s);
    for s in steps.iter().filter(|s| {
        let at = u64::from(s.at_s);
        at > start_s && at < end
    }) {
        let at = u64::from(s.at_s);
        sum += level * (at - t) as f64;
        t = at;
        level = s.level;
    }
    sum += level * (end - t) as f64;
    sum / f64::from(len_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(peak_s: u32, low: f64, start: u32) -> Profile {
        Profile::Daily {
            peak_s,
            low,
            start_s_of_day: start,
        }
    }

    #[test]
    fn daily_peaks_at_the_peak_hour_and_bottoms_twelve_hours_away() {
        // Workload started at 08:00; peak 14:00 is 6 h in, the trough (02:00) 18 h in.
        let p = daily(14 * 3600, 0.2, 8 * 3600);
        assert!((p.mean_level(6 * 3600, 0) - 1.0).abs() < 1e-12);
        assert!((p.mean_level(18 * 3600, 0) - 0.2).abs() < 1e-12);
        // Half way between: the midpoint of [low, 1].
        assert!((p.mean_level(12 * 3600, 0) - 0.6).abs() < 1e-9);
        // A 20 s mean around the peak is a hair below it; periodic over days.
        let m = p.mean_level(6 * 3600 - 10, 20);
        assert!(m < 1.0 && m > 0.999_999);
        assert_eq!(
            p.mean_level(6 * 3600 - 10, 20),
            p.mean_level(6 * 3600 - 10 + 7 * 86_400, 20)
        );
    }

    #[test]
    fn burst_is_on_then_off_and_averages_partial_intervals() {
        let p = Profile::Burst {
            on_s: 300,
            off_s: 900,
            low: 0.0,
        };
        assert_eq!(p.mean_level(0, 20), 1.0);
        assert_eq!(p.mean_level(300, 20), 0.0);
        assert_eq!(p.mean_level(1200, 20), 1.0);
        // 290..310: 10 s on, 10 s off.
        assert_eq!(p.mean_level(290, 20), 0.5);
        let p = Profile::Burst {
            on_s: 30,
            off_s: 30,
            low: 0.5,
        };
        // 20..40: 10 s at 1, 10 s at 0.5.
        assert_eq!(p.mean_level(20, 20), 0.75);
    }

    #[test]
    fn steps_hold_each_level_from_its_time() {
        let p = Profile::Steps {
            low: 0.1,
            steps: vec![
                ProfileStep {
                    at_s: 600,
                    level: 0.5,
                },
                ProfileStep {
                    at_s: 1800,
                    level: 1.0,
                },
            ],
        };
        assert_eq!(p.mean_level(0, 20), 0.1);
        assert_eq!(p.mean_level(600, 20), 0.5);
        assert_eq!(p.mean_level(590, 20), 0.3);
        assert_eq!(p.mean_level(10_000, 20), 1.0);
        assert_eq!((p.floor(), p.ceiling()), (0.1, 1.0));
    }

    #[test]
    fn validation_names_the_problem() {
        let e = |p: Profile| p.validate().unwrap_err().to_string();
        assert!(e(daily(DAY_S, 0.2, 0)).contains("times of day"));
        assert!(e(daily(0, 1.5, 0)).contains("low 1.5"));
        assert!(
            e(Profile::Burst {
                on_s: 0,
                off_s: 1,
                low: 0.0
            })
            .contains("positive")
        );
        let step = |at_s| ProfileStep { at_s, level: 0.5 };
        assert!(
            e(Profile::Steps {
                low: 0.0,
                steps: vec![step(10), step(10)]
            })
            .contains("increase")
        );
        assert!(
            e(Profile::Steps {
                low: 0.0,
                steps: vec![]
            })
            .contains("1 to 64")
        );
        assert!(Profile::Constant.validate().is_ok());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn profile() -> impl Strategy<Value = Profile> {
            let frac = 0.0f64..=1.0;
            prop_oneof![
                Just(Profile::Constant),
                (0..DAY_S, frac.clone(), 0..DAY_S).prop_map(|(peak_s, low, start)| {
                    Profile::Daily {
                        peak_s,
                        low,
                        start_s_of_day: start,
                    }
                }),
                (1u32..4000, 1u32..4000, frac.clone())
                    .prop_map(|(on_s, off_s, low)| Profile::Burst { on_s, off_s, low }),
                (
                    frac.clone(),
                    proptest::collection::btree_map(0u32..100_000, frac, 1..10)
                )
                    .prop_map(|(low, m)| Profile::Steps {
                        low,
                        steps: m
                            .into_iter()
                            .map(|(at_s, level)| ProfileStep { at_s, level })
                            .collect(),
                    }),
            ]
        }

        proptest! {
            #[test]
            fn mean_level_stays_within_the_profile_bounds(
                p in profile(),
                start in 0u64..10_000_000,
                len in 0u32..4000,
            ) {
                prop_assert!(p.validate().is_ok());
                let x = p.mean_level(start, len);
                prop_assert!(x >= p.floor() && x <= p.ceiling(), "{x} for {p:?}");
                prop_assert!(p.floor() >= 0.0 && p.ceiling() <= 1.0);
                // Deterministic: the same question gives the same bits.
                prop_assert_eq!(x.to_bits(), p.mean_level(start, len).to_bits());
            }

            #[test]
            fn daily_mean_matches_a_fine_numerical_average(
                peak in 0..DAY_S, low in 0.0f64..=1.0, start in 0u64..200_000,
            ) {
                let p = Profile::Daily { peak_s: peak, low, start_s_of_day: 0 };
                let exact = p.mean_level(start, 600);
                let riemann: f64 =
                    (0..600).map(|k| p.mean_level(start + k, 1)).sum::<f64>() / 600.0;
                prop_assert!((exact - riemann).abs() < 1e-9, "{exact} vs {riemann}");
            }
        }
    }
}
