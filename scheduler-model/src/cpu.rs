//! CPU: host capacity, the per-vCPU split of a VM's usage, and the per-vCPU time accounting
//! (run / ready / max-limited / co-stop / wait / idle / swap-wait). contention-model.md §2, §7.1.

/// Extra throughput of a hyper-threaded core when more vCPUs are busy than there are cores
/// (HT adds 10–30 %, [V] S34; we take 25 %) [A].
pub const HT_GAIN: f64 = 0.25;
/// Baseline dispatch latency: ready time per unit of run time even without contention [A]
/// (ε of §7.1 step 6, 0.1–0.5 %).
pub const DISPATCH_READY_FRACTION: f64 = 0.002;
/// Share of contention-ready time a VM with several busy vCPUs spends co-stopped instead:
/// κ·(b − 1)/b for b busy vCPUs (relaxed co-scheduling, [V] S31–S33; κ is ours) [A].
pub const COSTOP_KAPPA: f64 = 0.25;
/// A vCPU counts as busy for co-scheduling above this fraction of a core [A]; idle vCPUs do not
/// accumulate skew [V] S32.
pub const BUSY_VCPU_FRACTION: f64 = 0.1;

/// CPU capacity of one host (MHz) given the demand on it in vCPU-equivalents `busy_vcpus`.
/// Without HT, cores × MHz. With HT, a core whose both threads are busy delivers more in total:
/// capacity grows with busy vCPUs beyond the cores up to (1 + `HT_GAIN`) × cores [A after S34].
#[inline]
pub fn host_capacity_mhz(cores: f64, mhz: f64, hyperthreading: bool, busy_vcpus: f64) -> f64 {
    if hyperthreading {
        mhz * busy_vcpus.clamp(cores, cores * (1.0 + HT_GAIN))
    } else {
        mhz * cores
    }
}

/// The common per-vCPU level μ with `Σ min(d_j, μ) = usage` (equal water level within the VM,
/// §7.1 step 4 [A]); `+∞` when usage covers all demand.
pub fn water_level(demand: &[f64], usage: f64) -> f64 {
    let total: f64 = demand.iter().sum();
    if usage >= total * (1.0 - 1e-12) {
        return f64::INFINITY;
    }
    let n = demand.len();
    if n == 1 {
        return usage;
    }
    let mut mu = usage / n as f64;
    // Each pass fixes the vCPUs whose demand is under the level; the level only rises, so at
    // most n passes.
    for _ in 0..n {
        let (mut below_sum, mut below_n) = (0.0, 0usize);
        for &d in demand {
            if d < mu {
                below_sum += d;
                below_n += 1;
            }
        }
        if below_n >= n {
            break;
        }
        let next = (usage - below_sum) / (n - below_n) as f64;
        if next <= mu {
            break;
        }
        mu = next;
    }
    mu
}

/// Co-stop factor κ·(b − 1)/b for a VM whose vCPUs have demands `demand` on `mhz` cores.
#[cfg(test)]
pub fn costop_factor(demand: &[f64], mhz: f64) -> f64 {
    costop_for_busy(demand.iter().filter(|&&d| is_busy(d, mhz)).count())
}

/// Whether a vCPU with demand `d` on an `mhz` core counts as busy for co-scheduling.
#[inline]
pub fn is_busy(d: f64, mhz: f64) -> bool {
    d > BUSY_VCPU_FRACTION * mhz
}

/// Co-stop factor κ·(b − 1)/b for a VM with `b` busy vCPUs.
#[inline]
pub fn costop_for_busy(b: usize) -> f64 {
    // Branch-free (b is random per VM): b ≤ 1 gives κ·0/1 = 0.
    let b = b.max(1) as f64;
    COSTOP_KAPPA * (b - 1.0) / b
}

/// One vCPU's interval, in whole milliseconds; `run + ready + costop + wait = interval`
/// exactly, `maxlimited ≤ ready`, `swapwait + idle = wait` ([V] S19 identity).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuTimes {
    /// Scheduled time (cpu.run; cpu.used is the same here [A]).
    pub run_ms: i64,
    /// Ready, including max-limited.
    pub ready_ms: i64,
    /// Ready because of a limit (⊂ ready).
    pub maxlimited_ms: i64,
    /// Co-stopped.
    pub costop_ms: i64,
    /// Waiting (not runnable): idle + swap wait.
    pub wait_ms: i64,
    /// Idle.
    pub idle_ms: i64,
    /// Waiting for swap-in / decompression.
    pub swapwait_ms: i64,
}

/// Inputs to [`vcpu_times`] for one vCPU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VcpuIn {
    /// Runnable demand (MHz), already reduced by memory stalls.
    pub demand: f64,
    /// VM water level μ (with limits).
    pub mu: f64,
    /// Water level without any limit (counterfactual).
    pub mu0: f64,
    /// Co-stop factor of the VM.
    pub costop_k: f64,
    /// Memory stall per unit of run, ℓ/(1 − ℓ).
    pub stall: f64,
    /// Core MHz.
    pub mhz: f64,
    /// Interval in ms.
    pub interval_ms: i64,
}

/// Splits one vCPU's interval (§7.1 step 6): run = u/f; unmet demand (d − u)/f is ready, of which
/// the part a no-limit world would have run is max-limited and κ' of the rest is co-stop;
/// ε·run of dispatch latency is added to ready where time remains; swap wait is ℓ of the time the
/// vCPU wanted to run; the remainder is wait.
pub(crate) fn vcpu_times(i: VcpuIn) -> VcpuTimes {
    let tms = i.interval_ms as f64;
    let to_ms = tms / i.mhz;
    let d = i.demand.clamp(0.0, i.mhz);
    let u = d.min(i.mu);
    let u0 = d.min(i.mu0);
    let run = u * to_ms;
    let unmet = (d - u) * to_ms;
    let maxlim = (u0 - u).max(0.0) * to_ms;
    let contention = (d - u.max(u0)).max(0.0) * to_ms;
    let costop = i.costop_k * contention;
    let swapwait = (i.stall * d * to_ms).min(tms - d * to_ms).max(0.0);
    let slack = (tms - d * to_ms - swapwait).max(0.0);
    let base = (DISPATCH_READY_FRACTION * run).min(slack);
    let ready = unmet - costop + base;
    let run_ms = round_i64(run).clamp(0, i.interval_ms);
    let costop_ms = round_i64(costop).clamp(0, i.interval_ms - run_ms);
    let ready_ms = round_i64(ready).clamp(0, i.interval_ms - run_ms - costop_ms);
    let wait_ms = i.interval_ms - run_ms - costop_ms - ready_ms;
    let maxlimited_ms = round_i64(maxlim).clamp(0, ready_ms);
    let swapwait_ms = round_i64(swapwait).clamp(0, wait_ms);
    VcpuTimes {
        run_ms,
        ready_ms,
        maxlimited_ms,
        costop_ms,
        wait_ms,
        idle_ms: wait_ms - swapwait_ms,
        swapwait_ms,
    }
}

/// `x.round() as i64`, bit for bit (half away from zero; NaN 0; out-of-range values
/// saturate), without the libm call `f64::round` is on a baseline x86-64 (no `roundsd`):
/// a step's samples round some forty values per VM. `x - trunc(x)` is exact for every
/// double, so the comparison with ½ decides as `round` does.
#[inline]
pub(crate) fn round_i64(x: f64) -> i64 {
    let t = x as i64;
    let frac = x - t as f64;
    if frac >= 0.5 {
        t.saturating_add(1)
    } else if frac <= -0.5 {
        t.saturating_sub(1)
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_i64_is_rounds(bits in any::<u64>(), small in -1.0e7f64..1.0e7) {
            for x in [f64::from_bits(bits), small, small.trunc() + 0.5, small.trunc() - 0.5] {
                prop_assert_eq!(round_i64(x), x.round() as i64, "{}", x);
            }
        }
    }

    #[test]
    fn round_i64_at_the_edges() {
        for x in [
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4503599627370495.5,
            4503599627370497.0,
            9.3e18,
            -9.3e18,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -0.0,
            9223372036854775807.0,
            -9223372036854775808.0,
        ] {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
        }
    }

    #[test]
    fn water_level_splits_evenly_above_small_vcpus() {
        let d = [1800.0, 18.0];
        let mu = water_level(&d, 400.0);
        assert!((mu - 382.0).abs() < 1e-9, "{mu}");
        assert_eq!(water_level(&d, 2000.0), f64::INFINITY);
        assert_eq!(water_level(&[100.0], 50.0), 50.0);
        let mu = water_level(&[100.0, 100.0, 10.0, 500.0], 300.0);
        let sum: f64 = [100.0f64, 100.0, 10.0, 500.0]
            .iter()
            .map(|d| d.min(mu))
            .sum();
        assert!((sum - 300.0).abs() < 1e-9);
    }

    #[test]
    fn limited_busy_vcpu_is_mostly_maxlimited_ready() {
        let t = vcpu_times(VcpuIn {
            demand: 1800.0,
            mu: 382.0,
            mu0: f64::INFINITY,
            costop_k: 0.0,
            stall: 0.0,
            mhz: 1800.0,
            interval_ms: 20_000,
        });
        assert_eq!(t.run_ms + t.ready_ms + t.costop_ms + t.wait_ms, 20_000);
        assert_eq!(t.ready_ms, 15_756);
        assert_eq!(t.maxlimited_ms, 15_756);
        assert_eq!(t.wait_ms, 0);
    }

    #[test]
    fn costop_counts_busy_vcpus() {
        assert_eq!(costop_factor(&[1800.0, 18.0], 1800.0), 0.0);
        assert_eq!(costop_factor(&[1800.0, 1800.0], 1800.0), COSTOP_KAPPA * 0.5);
        assert_eq!(costop_for_busy(4), COSTOP_KAPPA * 0.75);
    }

    #[test]
    fn hyperthreading_capacity() {
        assert_eq!(host_capacity_mhz(4.0, 1000.0, false, 10.0), 4000.0);
        assert_eq!(host_capacity_mhz(4.0, 1000.0, true, 2.0), 4000.0);
        assert_eq!(host_capacity_mhz(4.0, 1000.0, true, 10.0), 5000.0);
    }
}
