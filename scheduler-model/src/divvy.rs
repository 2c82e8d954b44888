//! The water-fill ("divvy") that splits one parent's allocation among its children.
//!
//! Each child `c` has shares `S`, a floor `lo` (its reservation, capped by what it can use), a
//! cap `hi` (limit and demand) and optionally an idle-tax knee `a` (its active memory). With a
//! common level `ν` (allocation per share) the child receives
//!
//! ```text
//!   f_c(ν) = clamp(g_c(ν), lo, hi),   g_c(ν) = S·ν                  if S·ν ≤ a
//!                                             a + (S·ν − a)/k        otherwise
//! ```
//!
//! and `ν` is chosen so that `Σ f_c(ν) = total` (contention-model.md §7.1 step 3, §7.2 step 2).
//! `k = 1/(1 − τ)` is the idle-memory-tax cost of idle pages (Waldspurger, OSDI 2002, [D] S39);
//! for CPU and for pools the knee is `+∞` and `g` is plain `S·ν` ([V] S26: siblings share
//! "according to their relative share values, bounded by the reservation and limit").
//!
//! The solution is exact: `F(ν) = Σ f_c(ν)` is piecewise linear and non-decreasing, so the
//! breakpoints are sorted once and swept. No allocation: the caller owns the scratch buffer.

/// One child's claim.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Claim {
    /// Share count (≥ 0).
    pub shares: f64,
    /// Floor: reservation that the child can use.
    pub lo: f64,
    /// Cap: min(limit, what it can use). `hi ≥ lo`.
    pub hi: f64,
    /// Idle-tax knee (active amount); `+∞` for no tax.
    pub knee: f64,
}

/// Slope-change events of `F`, reused across calls.
#[derive(Clone, Default, Debug)]
pub(crate) struct Scratch {
    events: Vec<(f64, f64)>,
}

/// `g⁻¹(y)`: the level at which an untaxed-then-taxed child reaches `y`.
#[inline]
fn level_for(y: f64, c: &Claim, k: f64) -> f64 {
    if y <= c.knee {
        y / c.shares
    } else {
        (c.knee + (y - c.knee) * k) / c.shares
    }
}

/// `f_c(ν)`.
#[inline]
pub(crate) fn value_at(nu: f64, c: &Claim, k: f64) -> f64 {
    let s = c.shares * nu;
    let g = if s <= c.knee {
        s
    } else {
        c.knee + (s - c.knee) / k
    };
    g.max(c.lo).min(c.hi)
}

/// Result of a divvy: how to evaluate each child's allocation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Level {
    /// Total covers every cap: each child gets `hi`.
    AllCaps,
    /// Total does not cover the floors: each child gets `lo · ratio` ([A]: "yellow" scaling).
    ScaledFloors(f64),
    /// Each child gets `f_c(ν)`.
    Nu(f64),
}

impl Level {
    /// The allocation of child `c` at this level.
    #[inline]
    pub fn alloc(self, c: &Claim, k: f64) -> f64 {
        match self {
            Level::AllCaps => c.hi,
            Level::ScaledFloors(r) => c.lo * r,
            Level::Nu(nu) => value_at(nu, c, k),
        }
    }
}

/// Solves for the level at which the children's allocations sum to `total`.
/// `claims` yields each child's claim. `hint` (> 0) is a starting level, e.g. last step's: the
/// result does not depend on it beyond rounding, but it saves Newton passes.
pub(crate) fn solve<I>(total: f64, claims: I, k: f64, hint: f64, scratch: &mut Scratch) -> Level
where
    I: Iterator<Item = Claim> + Clone,
{
    let (mut sum_lo, mut sum_hi) = (0.0, 0.0);
    for c in claims.clone() {
        sum_lo += c.lo;
        sum_hi += c.hi;
    }
    solve_with_sums(total, sum_lo, sum_hi, claims, k, hint, scratch)
}

/// [`solve`] when the caller already has Σ lo and Σ hi of the claims (the tree's bottom-up pass
/// sums them anyway): saves one pass over the children, and most parents end here, at
/// `AllCaps`, without touching their children at all.
pub(crate) fn solve_with_sums<I>(
    total: f64,
    sum_lo: f64,
    sum_hi: f64,
    claims: I,
    k: f64,
    hint: f64,
    scratch: &mut Scratch,
) -> Level
where
    I: Iterator<Item = Claim> + Clone,
{
    if total >= sum_hi {
        return Level::AllCaps;
    }
    if total <= sum_lo {
        return Level::ScaledFloors(if sum_lo > 0.0 { total / sum_lo } else { 0.0 });
    }
    if let Some(nu) = newton(total, claims.clone(), k, hint) {
        return Level::Nu(nu);
    }
    sweep(total, sum_lo, claims, k, scratch)
}

/// `F(ν)` and its left and right slopes.
#[inline]
fn eval<I: Iterator<Item = Claim>>(nu: f64, claims: I, k: f64) -> (f64, f64, f64) {
    let (mut f, mut left, mut right) = (0.0, 0.0, 0.0);
    for c in claims {
        let s = c.shares * nu;
        let (g, slope_l, slope_r) = if s < c.knee {
            (s, c.shares, c.shares)
        } else if s == c.knee {
            (s, c.shares, c.shares / k)
        } else {
            (c.knee + (s - c.knee) / k, c.shares / k, c.shares / k)
        };
        if g <= c.lo {
            f += c.lo;
            if g == c.lo && g < c.hi {
                right += slope_r;
            }
        } else if g >= c.hi {
            f += c.hi;
            if g == c.hi {
                left += slope_l;
            }
        } else {
            f += g;
            left += slope_l;
            right += slope_r;
        }
    }
    (f, left, right)
}

/// Safeguarded Newton iteration on the piecewise-linear, non-decreasing `F`: a step that lands
/// in the root's linear piece is exact, so a handful of O(children) passes usually suffice and no
/// sort is needed. `None` if it has not converged after a few passes (then `sweep` decides).
fn newton<I>(total: f64, claims: I, k: f64, hint: f64) -> Option<f64>
where
    I: Iterator<Item = Claim> + Clone,
{
    const MAX_PASSES: usize = 64;
    let tol = 1e-9 * total.abs().max(1.0);
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY); // F(lo) < total < F(hi)
    let mut nu = if hint > 0.0 && hint.is_finite() {
        hint
    } else {
        let sum_shares: f64 = claims.clone().map(|c| c.shares).sum();
        if sum_shares <= 0.0 {
            return None;
        }
        total / sum_shares
    };
    for _ in 0..MAX_PASSES {
        let (f, left, right) = eval(nu, claims.clone(), k);
        if (f - total).abs() <= tol {
            return Some(nu);
        }
        let next = if f < total {
            lo = nu;
            if right > 0.0 {
                nu + (total - f) / right
            } else {
                f64::NAN
            }
        } else {
            hi = nu;
            if left > 0.0 {
                nu - (f - total) / left
            } else {
                f64::NAN
            }
        };
        nu = if next > lo && next < hi {
            next
        } else if hi.is_finite() {
            0.5 * (lo + hi)
        } else {
            2.0 * nu.max(f64::MIN_POSITIVE)
        };
    }
    None
}

/// Exact solution by sorting the slope-change events and sweeping them.
fn sweep<I>(total: f64, sum_lo: f64, claims: I, k: f64, scratch: &mut Scratch) -> Level
where
    I: Iterator<Item = Claim>,
{
    let ev = &mut scratch.events;
    ev.clear();
    for c in claims {
        if c.shares <= 0.0 || c.hi <= c.lo {
            continue; // constant at lo
        }
        let taxed_from_start = c.lo >= c.knee;
        let s_in = if taxed_from_start {
            c.shares / k
        } else {
            c.shares
        };
        ev.push((level_for(c.lo, &c, k), s_in));
        let mut s_out = s_in;
        if !taxed_from_start && c.knee < c.hi {
            let tax = c.shares / k;
            ev.push((c.knee / c.shares, tax - c.shares));
            s_out = tax;
        }
        ev.push((level_for(c.hi, &c, k), -s_out));
    }
    ev.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let (mut f, mut slope, mut at) = (sum_lo, 0.0, 0.0);
    for &(nu, ds) in ev.iter() {
        let f_next = f + slope * (nu - at);
        if f_next >= total && slope > 0.0 {
            return Level::Nu(at + (total - f) / slope);
        }
        f = f_next;
        at = nu;
        slope += ds;
    }
    // Only reachable through rounding: every child sits at its cap.
    Level::AllCaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(shares: f64, lo: f64, hi: f64) -> Claim {
        Claim {
            shares,
            lo,
            hi,
            knee: f64::INFINITY,
        }
    }

    fn run(total: f64, cs: &[Claim], k: f64) -> Vec<f64> {
        let mut s = Scratch::default();
        let lvl = solve(total, cs.iter().copied(), k, 0.0, &mut s);
        cs.iter().map(|c| lvl.alloc(c, k)).collect()
    }

    #[test]
    fn proportional_to_shares_when_uncapped() {
        let a = run(300.0, &[claim(1.0, 0.0, 1e9), claim(2.0, 0.0, 1e9)], 1.0);
        assert!((a[0] - 100.0).abs() < 1e-9 && (a[1] - 200.0).abs() < 1e-9);
    }

    #[test]
    fn caps_release_to_others_and_floors_hold() {
        let a = run(
            1000.0,
            &[
                claim(1.0, 0.0, 100.0),
                claim(1.0, 0.0, 1e9),
                claim(1.0, 600.0, 1e9),
            ],
            1.0,
        );
        assert!((a[0] - 100.0).abs() < 1e-9, "{a:?}");
        assert!((a[1] - 300.0).abs() < 1e-9, "{a:?}");
        assert!((a[2] - 600.0).abs() < 1e-9, "{a:?}");
    }

    #[test]
    fn everyone_capped_and_floors_scaled() {
        assert_eq!(run(1e6, &[claim(1.0, 0.0, 5.0)], 1.0), vec![5.0]);
        assert_eq!(
            run(
                50.0,
                &[claim(1.0, 100.0, 200.0), claim(1.0, 100.0, 200.0)],
                1.0
            ),
            vec![25.0, 25.0]
        );
    }

    #[test]
    fn idle_tax_takes_from_the_idle_vm() {
        // Same shares and size; one fully active, one with 10 % active: the idle one loses.
        let k = 4.0;
        let cs = [
            Claim {
                shares: 10.0,
                lo: 0.0,
                hi: 1000.0,
                knee: 1000.0,
            },
            Claim {
                shares: 10.0,
                lo: 0.0,
                hi: 1000.0,
                knee: 100.0,
            },
        ];
        let a = run(1000.0, &cs, k);
        assert!((a[0] + a[1] - 1000.0).abs() < 1e-6);
        assert!(a[0] > 2.5 * a[1], "{a:?}");
    }
}

#[cfg(test)]
mod newton_probe {
    use super::*;
    use crate::rng::SimRng;

    /// Newton agrees with the exact sweep on random claims (floors, caps, taxed knees).
    #[test]
    fn newton_matches_sweep() {
        let mut rng = SimRng::new(3);
        let mut fallbacks = 0;
        for _ in 0..3000 {
            let n = 1 + rng.below(30) as usize;
            let cs: Vec<Claim> = (0..n)
                .map(|_| {
                    let lo = if rng.ratio(1, 4) {
                        rng.below(500) as f64
                    } else {
                        0.0
                    };
                    let hi = lo + rng.below(5000) as f64;
                    let knee = if rng.ratio(1, 2) {
                        rng.below(3000) as f64
                    } else {
                        f64::INFINITY
                    };
                    Claim {
                        shares: (1 + rng.below(4000)) as f64,
                        lo,
                        hi,
                        knee,
                    }
                })
                .collect();
            let sum_lo: f64 = cs.iter().map(|c| c.lo).sum();
            let sum_hi: f64 = cs.iter().map(|c| c.hi).sum();
            let total = sum_lo + rng.unit_f64() * (sum_hi - sum_lo);
            if total <= sum_lo || total >= sum_hi {
                continue;
            }
            let mut sc = Scratch::default();
            let exact = sweep(total, sum_lo, cs.iter().copied(), 4.0, &mut sc);
            match newton(total, cs.iter().copied(), 4.0, 0.0) {
                None => fallbacks += 1,
                Some(nu) => {
                    for c in &cs {
                        let a = value_at(nu, c, 4.0);
                        let b = exact.alloc(c, 4.0);
                        assert!((a - b).abs() <= 1e-6 * total.max(1.0), "{a} vs {b}");
                    }
                }
            }
        }
        assert!(fallbacks < 30, "newton fell back {fallbacks} times");
    }
}
