//! What runs inside a VM: per-vCPU CPU demand and guest memory (in use, active, touch rate),
//! evaluated once per step.
//!
//! All numbers here are our assumptions [A] unless stated; MODEL.md lists them.

use crate::error::ModelError;
use crate::profile::Profile;
use crate::rng::SimRng;
use rand::distr::Distribution as _;
use statrs::distribution as sd;

/// Guest OS memory in use by a small Linux guest (containerVM kernel, VCH appliance base) [A].
pub const GUEST_BASE_MB: f64 = 64.0;
/// Part of [`GUEST_BASE_MB`] the guest keeps touching [A].
pub const GUEST_BASE_ACTIVE_MB: f64 = 16.0;
/// Background CPU demand of an otherwise idle vCPU, as a fraction of the core (timer ticks,
/// daemons) [A]; the research note's blog check uses ≈1 % (≈18 MHz at 1.8 GHz).
pub const IDLE_VCPU_FRACTION: f64 = 0.01;
/// CPU demand of one `stress --io` / `--hdd` worker, as a fraction of a core: they mostly wait for
/// IO [A].
pub const IO_WORKER_FRACTION: f64 = 0.05;
/// Rate at which one `stress --vm` worker re-touches its buffer when nothing is swapped, MB/s.
/// Calibrated so the seed's 512 MB stress under a 500 MB pool limit waits ≈40 % (MODEL.md §6) [A].
pub const DEFAULT_STRESS_TOUCH_MB_PER_S: u32 = 256;
/// Seconds over which ESXi samples activeness (`Mem.SamplePeriod` = 60 s, [V] S41); a workload
/// that merely keeps `active_mb` active touches it at least once per period [A].
pub const SAMPLE_PERIOD_S: f64 = 60.0;

/// A seeded distribution, sampled through `statrs` on the VM's own [`SimRng`] stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    /// Always this value.
    Fixed(f64),
    /// Uniform on `[low, high]`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal (clamped to the valid range after sampling).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (> 0).
        std_dev: f64,
    },
    /// Log-normal with the given parameters of the underlying normal.
    LogNormal {
        /// μ of ln X.
        location: f64,
        /// σ of ln X (> 0).
        scale: f64,
    },
    /// Exponential with the given rate (> 0).
    Exponential {
        /// λ.
        rate: f64,
    },
    /// Gamma with shape and rate (> 0).
    Gamma {
        /// k.
        shape: f64,
        /// β.
        rate: f64,
    },
}

/// One replayed interval of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceSample {
    /// Total CPU demand of the VM over the interval, spread evenly over its vCPUs.
    pub cpu_mhz: u32,
    /// Active (and in-use) guest memory.
    pub active_mb: u64,
}

/// A steady or time-varying guest with separate allocated and active memory, and optional
/// seeded jitter (MODEL.md §6.1–6.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Varying {
    /// CPU demand of every vCPU at the profile's peak (level 1), MHz.
    pub mhz_per_vcpu: u32,
    /// Memory the guest allocated and touched once, on top of the guest OS, MB: it stays in use
    /// (consumed on the host unless reclaimed) whatever the profile does.
    pub mem_mb: u64,
    /// Working set re-touched every sampling period at the profile's peak, MB (≤ `mem_mb`).
    pub active_mb: u64,
    /// How CPU demand and the active working set vary over time.
    pub profile: Profile,
    /// Relative jitter in `[0, 1]`: each interval multiplies CPU and active memory by
    /// independent factors uniform on `[1 − jitter, 1 + jitter]`, drawn on the VM's own stream.
    pub jitter: f64,
}

/// What runs inside a VM.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Workload {
    /// Guest OS only: 1 % of each vCPU, 64 MB in use.
    #[default]
    Idle,
    /// Steady demand.
    Constant {
        /// Demand of every vCPU (capped at the core's MHz).
        mhz_per_vcpu: u32,
        /// Active memory on top of the guest OS.
        active_mb: u64,
    },
    /// `progrium/stress` (`stress --cpu N --io N --vm N --vm-bytes B --hdd N --timeout T`).
    Stress {
        /// `--cpu`: workers spinning on `sqrt()`, one busy vCPU each.
        cpu_workers: u32,
        /// `--io`: workers calling `sync()`, a little CPU each.
        io_workers: u32,
        /// `--hdd`: workers writing files, a little CPU each.
        hdd_workers: u32,
        /// `--vm`: workers that malloc, touch and free `vm_bytes_mb` in a loop; one busy vCPU each.
        vm_workers: u32,
        /// `--vm-bytes` per vm worker.
        vm_bytes_mb: u64,
        /// Access pattern: how fast one vm worker re-touches its buffer when nothing is swapped.
        vm_touch_mb_per_s: u32,
        /// `--timeout`: after this many seconds since start the workers exit and the guest idles.
        duration_s: Option<u32>,
    },
    /// Per-step random demand on the VM's own seeded stream.
    Stochastic {
        /// Demand of each vCPU, drawn independently per vCPU and step, clamped to `[0, core MHz]`.
        mhz_per_vcpu: Dist,
        /// Active memory on top of the guest OS, drawn per step, clamped to `[0, configured]`.
        active_mb: Dist,
    },
    /// Allocated vs active memory, a demand profile over time and jitter (boxed: rare, and it
    /// would otherwise grow every VM's state).
    Varying(Box<Varying>),
    /// Replay of recorded per-interval samples: each step's demand is the time-weighted mean of
    /// the samples its interval overlaps.
    Trace {
        /// Length of each sample's interval.
        interval_s: u32,
        /// The samples, in time order.
        samples: Vec<TraceSample>,
        /// Start over after the last sample (otherwise idle).
        repeat: bool,
    },
}

impl Workload {
    /// `stress --cpu cpu_workers --timeout duration_s`.
    pub fn stress_cpu(cpu_workers: u32, duration_s: Option<u32>) -> Workload {
        Workload::Stress {
            cpu_workers,
            io_workers: 0,
            hdd_workers: 0,
            vm_workers: 0,
            vm_bytes_mb: 0,
            vm_touch_mb_per_s: DEFAULT_STRESS_TOUCH_MB_PER_S,
            duration_s,
        }
    }

    /// Replays a parsed trace.
    pub fn trace(trace: crate::trace::Trace, repeat: bool) -> Workload {
        Workload::Trace {
            interval_s: trace.interval_s,
            samples: trace.samples,
            repeat,
        }
    }

    /// Anchors a daily profile to the clock: the workload starts at `start_s_of_day` seconds
    /// after midnight (reduced modulo a day). Other workloads are returned unchanged.
    pub fn starting_at_time_of_day(mut self, start_s_of_day: u64) -> Workload {
        if let Workload::Varying(v) = &mut self
            && let Profile::Daily {
                start_s_of_day: s, ..
            } = &mut v.profile
        {
            *s = (start_s_of_day % u64::from(crate::profile::DAY_S)) as u32;
        }
        self
    }

    /// `stress --vm vm_workers --vm-bytes vm_bytes_mb --timeout duration_s`.
    pub fn stress_vm(vm_workers: u32, vm_bytes_mb: u64, duration_s: Option<u32>) -> Workload {
        Workload::Stress {
            cpu_workers: 0,
            io_workers: 0,
            hdd_workers: 0,
            vm_workers,
            vm_bytes_mb,
            vm_touch_mb_per_s: DEFAULT_STRESS_TOUCH_MB_PER_S,
            duration_s,
        }
    }
}

/// A `Dist` compiled into a statrs distribution (validated once, at `set_workload`).
#[derive(Clone, Debug)]
enum Sampler {
    Fixed(f64),
    Uniform(sd::Uniform),
    Normal(sd::Normal),
    LogNormal(sd::LogNormal),
    Exponential(sd::Exp),
    Gamma(sd::Gamma),
}

impl Sampler {
    fn new(dist: Dist) -> Result<Sampler, ModelError> {
        let bad = |e: &dyn core::fmt::Display| {
            ModelError::InvalidSpec(format!("workload distribution {dist:?}: {e}"))
        };
        Ok(match dist {
            Dist::Fixed(v) if v.is_finite() => Sampler::Fixed(v),
            Dist::Fixed(_) => return Err(bad(&"value must be finite")),
            Dist::Uniform { low, high } => {
                Sampler::Uniform(sd::Uniform::new(low, high).map_err(|e| bad(&e))?)
            }
            Dist::Normal { mean, std_dev } => {
                Sampler::Normal(sd::Normal::new(mean, std_dev).map_err(|e| bad(&e))?)
            }
            Dist::LogNormal { location, scale } => {
                Sampler::LogNormal(sd::LogNormal::new(location, scale).map_err(|e| bad(&e))?)
            }
            Dist::Exponential { rate } => {
                Sampler::Exponential(sd::Exp::new(rate).map_err(|e| bad(&e))?)
            }
            Dist::Gamma { shape, rate } => {
                Sampler::Gamma(sd::Gamma::new(shape, rate).map_err(|e| bad(&e))?)
            }
        })
    }

    fn sample(&self, rng: &mut SimRng) -> f64 {
        let x = match self {
            Sampler::Fixed(v) => *v,
            Sampler::Uniform(d) => d.sample(rng),
            Sampler::Normal(d) => d.sample(rng),
            Sampler::LogNormal(d) => d.sample(rng),
            Sampler::Exponential(d) => d.sample(rng),
            Sampler::Gamma(d) => d.sample(rng),
        };
        if x.is_finite() { x } else { 0.0 }
    }
}

/// Memory side of one step's workload evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct MemDemand {
    /// Guest memory in use (content the guest needs), MB, ≤ configured.
    pub guest_mb: f64,
    /// Actively touched guest memory, MB, ≤ `guest_mb`.
    pub active_mb: f64,
    /// Rate at which the active set is touched when nothing is swapped, MB/s.
    pub touch_mb_per_s: f64,
}

/// A VM's workload plus its running state (elapsed time, random stream).
#[derive(Clone, Debug)]
pub(crate) struct WorkloadState {
    pub workload: Workload,
    pub elapsed_s: u64,
    rng: SimRng,
    /// Boxed: only `Stochastic` has samplers, and inline they would double the size of every
    /// VM's state, which a step streams through for all VMs (the 100k-VM case is cache-bound).
    samplers: Option<Box<(Sampler, Sampler)>>,
}

impl Default for WorkloadState {
    fn default() -> Self {
        WorkloadState {
            workload: Workload::Idle,
            elapsed_s: 0,
            rng: SimRng::new(0),
            samplers: None,
        }
    }
}

impl WorkloadState {
    pub fn new(workload: Workload, rng: SimRng) -> Result<WorkloadState, ModelError> {
        let samplers = match &workload {
            Workload::Stochastic {
                mhz_per_vcpu,
                active_mb,
            } => Some(Box::new((
                Sampler::new(*mhz_per_vcpu)?,
                Sampler::new(*active_mb)?,
            ))),
            Workload::Trace {
                interval_s,
                samples,
                ..
            } => {
                if *interval_s == 0 || samples.is_empty() {
                    return Err(ModelError::InvalidSpec(
                        "trace workload needs interval_s > 0 and at least one sample".into(),
                    ));
                }
                None
            }
            Workload::Varying(v) => {
                v.profile.validate()?;
                if !(v.jitter.is_finite() && (0.0..=1.0).contains(&v.jitter)) {
                    return Err(ModelError::InvalidSpec(format!(
                        "workload jitter {} is not a fraction in [0, 1]",
                        v.jitter
                    )));
                }
                if v.active_mb > v.mem_mb {
                    return Err(ModelError::InvalidSpec(format!(
                        "workload active memory {} MB exceeds its allocated {} MB",
                        v.active_mb, v.mem_mb
                    )));
                }
                None
            }
            _ => None,
        };
        Ok(WorkloadState {
            workload,
            elapsed_s: 0,
            rng,
            samplers,
        })
    }

    /// Evaluates the interval `[elapsed, elapsed + interval_s)`: writes each vCPU's demand (MHz)
    /// into `vcpu_mhz` and returns the memory side; then advances the elapsed time.
    pub fn eval(
        &mut self,
        interval_s: u32,
        core_mhz: f64,
        memory_mb: f64,
        vcpu_mhz: &mut [f64],
    ) -> MemDemand {
        let idle = IDLE_VCPU_FRACTION * core_mhz;
        let base_mb = GUEST_BASE_MB.min(memory_mb);
        let base_active = GUEST_BASE_ACTIVE_MB.min(base_mb);
        let mut mem = MemDemand {
            guest_mb: base_mb,
            active_mb: base_active,
            touch_mb_per_s: base_active / SAMPLE_PERIOD_S,
        };
        // Each arm writes every vCPU exactly once: vCPU counts vary per VM, so every extra pass
        // over them costs a mispredicted loop exit.
        let n = vcpu_mhz.len();
        match &self.workload {
            Workload::Idle => vcpu_mhz.fill(idle),
            Workload::Constant {
                mhz_per_vcpu,
                active_mb,
            } => {
                vcpu_mhz.fill(f64::from(*mhz_per_vcpu).min(core_mhz));
                add_active(
                    &mut mem,
                    *active_mb as f64,
                    memory_mb,
                    SAMPLE_PERIOD_S.recip(),
                );
            }
            Workload::Stress {
                cpu_workers,
                io_workers,
                hdd_workers,
                vm_workers,
                vm_bytes_mb,
                vm_touch_mb_per_s,
                duration_s,
            } => {
                // Fraction of this interval before --timeout fires.
                let run = match duration_s {
                    None => 1.0,
                    Some(d) => {
                        let left = (u64::from(*d)).saturating_sub(self.elapsed_s);
                        (left as f64 / f64::from(interval_s)).min(1.0)
                    }
                };
                if run <= 0.0 {
                    vcpu_mhz.fill(idle);
                } else {
                    // Busy workers occupy distinct vCPUs first (the guest spreads runnable
                    // threads); surplus workers time-share and add nothing.
                    let busy = (*cpu_workers as usize).saturating_add(*vm_workers as usize);
                    let light = (*io_workers as usize).saturating_add(*hdd_workers as usize);
                    for (j, d) in vcpu_mhz.iter_mut().enumerate() {
                        let target = if j < busy {
                            core_mhz
                        } else {
                            // light workers land round-robin on the remaining vCPUs
                            let rest = n.saturating_sub(busy).max(1);
                            let here = light / rest + usize::from(j - busy < light % rest);
                            (idle + here as f64 * IO_WORKER_FRACTION * core_mhz).min(core_mhz)
                        };
                        *d = idle + (target - idle) * run;
                    }
                    let bytes = f64::from(*vm_workers) * *vm_bytes_mb as f64;
                    let touch = f64::from(*vm_workers) * f64::from(*vm_touch_mb_per_s) * run;
                    add_active(&mut mem, bytes, memory_mb, 0.0);
                    mem.touch_mb_per_s += touch;
                }
            }
            Workload::Stochastic { .. } => {
                if let Some((cpu, act)) = self.samplers.as_deref() {
                    for d in vcpu_mhz.iter_mut() {
                        *d = cpu.sample(&mut self.rng).clamp(0.0, core_mhz);
                    }
                    let a = act.sample(&mut self.rng).max(0.0);
                    add_active(&mut mem, a, memory_mb, SAMPLE_PERIOD_S.recip());
                } else {
                    vcpu_mhz.fill(idle);
                }
            }
            Workload::Varying(v) => {
                let level = v.profile.mean_level(self.elapsed_s, interval_s);
                let (cpu_f, mem_f) = if v.jitter > 0.0 {
                    // Two draws every interval whatever the values, so the stream's position
                    // depends only on the number of intervals.
                    let a = 2.0 * self.rng.unit_f64() - 1.0;
                    let b = 2.0 * self.rng.unit_f64() - 1.0;
                    (1.0 + v.jitter * a, 1.0 + v.jitter * b)
                } else {
                    (1.0, 1.0)
                };
                // The guest OS keeps its idle floor under any profile.
                let mhz = (f64::from(v.mhz_per_vcpu) * level * cpu_f).max(idle);
                vcpu_mhz.fill(mhz.min(core_mhz));
                let mem_mb = v.mem_mb as f64;
                let active = (v.active_mb as f64 * level * mem_f).clamp(0.0, mem_mb);
                add_allocated(&mut mem, mem_mb, active, memory_mb);
            }
            Workload::Trace {
                interval_s: trace_s,
                samples,
                repeat,
            } => {
                let (cpu, active) =
                    trace_window(samples, *trace_s, *repeat, self.elapsed_s, interval_s);
                // Uncovered time (past the end of a trace that does not repeat) idles.
                let n = n.max(1) as f64;
                let per = cpu.covered_mhz / n + idle * (1.0 - cpu.covered);
                vcpu_mhz.fill(per.min(core_mhz));
                add_active(&mut mem, active, memory_mb, SAMPLE_PERIOD_S.recip());
            }
        }
        self.elapsed_s = self.elapsed_s.saturating_add(u64::from(interval_s));
        mem
    }
}

/// Time-weighted means of a trace over one step's window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct TraceMean {
    /// Σ overlap × MHz / window: the VM's demand from the covered part of the window.
    covered_mhz: f64,
    /// Fraction of the window the trace covers.
    covered: f64,
}

/// The window `[start_s, start_s + len_s)` of a trace with `trace_s`-long samples: CPU mean
/// and active memory mean (uncovered time counts as 0 MB).
fn trace_window(
    samples: &[TraceSample],
    trace_s: u32,
    repeat: bool,
    start_s: u64,
    len_s: u32,
) -> (TraceMean, f64) {
    let trace_s = u64::from(trace_s.max(1));
    let n = samples.len() as u64;
    let sample = |k: u64| {
        if k < n {
            samples.get(k as usize)
        } else if repeat && n > 0 {
            samples.get((k % n) as usize)
        } else {
            None
        }
    };
    if len_s == 0 {
        return match sample(start_s / trace_s) {
            Some(s) => (
                TraceMean {
                    covered_mhz: f64::from(s.cpu_mhz),
                    covered: 1.0,
                },
                s.active_mb as f64,
            ),
            None => (TraceMean::default(), 0.0),
        };
    }
    let end = start_s.saturating_add(u64::from(len_s));
    let (mut t, mut out, mut mem) = (start_s, TraceMean::default(), 0.0);
    // At most len_s / trace_s + 2 pieces.
    while t < end {
        let k = t / trace_s;
        let piece_end = ((k + 1) * trace_s).min(end);
        let w = (piece_end - t) as f64;
        if let Some(s) = sample(k) {
            out.covered_mhz += w * f64::from(s.cpu_mhz);
            out.covered += w;
            mem += w * s.active_mb as f64;
        } else if !repeat {
            break; // past the end: the rest of the window is uncovered too
        }
        t = piece_end;
    }
    let len = f64::from(len_s);
    out.covered_mhz /= len;
    out.covered /= len;
    (out, mem / len)
}

/// Adds `allocated_mb` of in-use memory of which `active_mb` is active: allocated pages stay in
/// use (the guest keeps them), only the active part is re-touched, once per sampling period.
fn add_allocated(mem: &mut MemDemand, allocated_mb: f64, active_mb: f64, memory_mb: f64) {
    let room = (memory_mb - mem.guest_mb).max(0.0);
    let add = allocated_mb.clamp(0.0, room);
    let act = active_mb.clamp(0.0, add);
    mem.guest_mb += add;
    mem.active_mb += act;
    mem.touch_mb_per_s += act / SAMPLE_PERIOD_S;
}

/// Adds `mb` of active (and in-use) memory, bounded by the configured size; `touch_per_s` is the
/// fraction of it touched per second.
fn add_active(mem: &mut MemDemand, mb: f64, memory_mb: f64, touch_per_s: f64) {
    let room = (memory_mb - mem.guest_mb).max(0.0);
    let add = mb.clamp(0.0, room);
    mem.guest_mb += add;
    mem.active_mb += add;
    mem.touch_mb_per_s += add * touch_per_s;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(w: Workload, n: usize, steps: u32) -> (Vec<f64>, MemDemand) {
        let mut st = WorkloadState::new(w, SimRng::new(1)).unwrap();
        let mut v = vec![0.0; n];
        let mut m = MemDemand::default();
        for _ in 0..steps {
            m = st.eval(20, 1800.0, 4096.0, &mut v);
        }
        (v, m)
    }

    #[test]
    fn stress_one_cpu_worker_busies_one_vcpu_until_timeout() {
        let (v, _) = eval(Workload::stress_cpu(1, Some(300)), 2, 15);
        assert_eq!(v, vec![1800.0, 18.0]);
        let (v, _) = eval(Workload::stress_cpu(1, Some(300)), 2, 16);
        assert_eq!(v, vec![18.0, 18.0]);
    }

    #[test]
    fn stress_vm_worker_touches_its_bytes() {
        let (v, m) = eval(Workload::stress_vm(1, 512, None), 2, 1);
        assert_eq!(v[0], 1800.0);
        assert_eq!(m.guest_mb, 576.0);
        assert_eq!(m.active_mb, 528.0);
    }

    #[test]
    fn stochastic_is_seeded_and_validated() {
        let w = Workload::Stochastic {
            mhz_per_vcpu: Dist::Normal {
                mean: 900.0,
                std_dev: 300.0,
            },
            active_mb: Dist::Uniform {
                low: 0.0,
                high: 100.0,
            },
        };
        let a = eval(w.clone(), 4, 5);
        let b = eval(w, 4, 5);
        assert_eq!(a, b);
        assert!(a.0.iter().all(|&d| (0.0..=1800.0).contains(&d)));
        let bad = Workload::Stochastic {
            mhz_per_vcpu: Dist::Normal {
                mean: 1.0,
                std_dev: -1.0,
            },
            active_mb: Dist::Fixed(0.0),
        };
        assert!(WorkloadState::new(bad, SimRng::new(1)).is_err());
    }

    #[test]
    fn trace_replays_and_repeats() {
        let w = Workload::Trace {
            interval_s: 20,
            samples: vec![
                TraceSample {
                    cpu_mhz: 1000,
                    active_mb: 10,
                },
                TraceSample {
                    cpu_mhz: 200,
                    active_mb: 20,
                },
            ],
            repeat: true,
        };
        assert_eq!(eval(w.clone(), 2, 1).0, vec![500.0, 500.0]);
        assert_eq!(eval(w.clone(), 2, 2).0, vec![100.0, 100.0]);
        assert_eq!(eval(w, 2, 3).0, vec![500.0, 500.0]);
    }

    fn varying(mhz: u32, mem_mb: u64, active_mb: u64, profile: Profile, jitter: f64) -> Workload {
        Workload::Varying(Box::new(Varying {
            mhz_per_vcpu: mhz,
            mem_mb,
            active_mb,
            profile,
            jitter,
        }))
    }

    #[test]
    fn allocated_memory_stays_in_use_while_only_the_active_part_is_touched() {
        let w = varying(500, 1024, 205, Profile::Constant, 0.0);
        let (v, m) = eval(w, 2, 3);
        assert_eq!(v, vec![500.0, 500.0]);
        assert_eq!(m.guest_mb, 64.0 + 1024.0);
        assert_eq!(m.active_mb, 16.0 + 205.0);
        assert!((m.touch_mb_per_s - (16.0 + 205.0) / 60.0).abs() < 1e-12);
    }

    #[test]
    fn daily_profile_scales_cpu_and_active_memory_not_allocated() {
        // Started at 02:00 (the trough of a 14:00 peak): low; twelve hours later: the peak.
        let w = varying(
            1000,
            1024,
            1024,
            Profile::Daily {
                peak_s: 14 * 3600,
                low: 0.2,
                start_s_of_day: 2 * 3600,
            },
            0.0,
        );
        let mut st = WorkloadState::new(w, SimRng::new(1)).unwrap();
        let mut v = vec![0.0; 1];
        let m = st.eval(20, 1800.0, 4096.0, &mut v);
        assert!((v[0] - 200.0).abs() < 0.01, "{v:?}");
        assert_eq!(m.guest_mb, 1088.0);
        assert!((m.active_mb - (16.0 + 204.8)).abs() < 0.01);
        st.elapsed_s = 12 * 3600 - 10;
        let m = st.eval(20, 1800.0, 4096.0, &mut v);
        assert!((v[0] - 1000.0).abs() < 0.01, "{v:?}");
        assert_eq!(m.guest_mb, 1088.0);
        assert!((m.active_mb - 1040.0).abs() < 0.01);
    }

    #[test]
    fn burst_off_phase_keeps_the_idle_floor() {
        let w = varying(
            1500,
            0,
            0,
            Profile::Burst {
                on_s: 40,
                off_s: 40,
                low: 0.0,
            },
            0.0,
        );
        let mut st = WorkloadState::new(w, SimRng::new(1)).unwrap();
        let mut v = vec![0.0; 2];
        let got: Vec<f64> = (0..4)
            .map(|_| {
                st.eval(20, 1800.0, 4096.0, &mut v);
                v[0]
            })
            .collect();
        assert_eq!(got, vec![1500.0, 1500.0, 18.0, 18.0]);
    }

    #[test]
    fn jitter_is_seeded_bounded_and_varies() {
        let w = varying(1000, 512, 256, Profile::Constant, 0.1);
        let run = |seed| {
            let mut st = WorkloadState::new(w.clone(), SimRng::new(seed)).unwrap();
            let mut v = vec![0.0; 2];
            (0..50)
                .map(|_| {
                    let m = st.eval(20, 1800.0, 4096.0, &mut v);
                    (v[0], m.active_mb)
                })
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7), "same seed, same samples");
        assert_ne!(a, run(8));
        for &(cpu, active) in &a {
            assert!((900.0..=1100.0).contains(&cpu), "{cpu}");
            assert!((16.0 + 230.4..=16.0 + 281.6).contains(&active), "{active}");
        }
        let distinct: std::collections::BTreeSet<u64> =
            a.iter().map(|(c, _)| c.to_bits()).collect();
        assert!(distinct.len() > 40, "jitter should move most samples");
    }

    #[test]
    fn varying_is_validated() {
        let bad = |w| {
            WorkloadState::new(w, SimRng::new(1))
                .unwrap_err()
                .to_string()
        };
        assert!(bad(varying(1, 10, 20, Profile::Constant, 0.0)).contains("exceeds"));
        assert!(bad(varying(1, 10, 5, Profile::Constant, 1.5)).contains("jitter 1.5"));
        let steps = Profile::Steps {
            low: 0.0,
            steps: vec![],
        };
        assert!(bad(varying(1, 10, 5, steps, 0.0)).contains("steps"));
    }

    #[test]
    fn trace_steps_average_the_samples_their_interval_overlaps() {
        // 5 s samples seen through 20 s steps: each step is the mean of four samples.
        let samples = (0..8)
            .map(|k| TraceSample {
                cpu_mhz: 100 * (k + 1),
                active_mb: 10 * u64::from(k),
            })
            .collect();
        let w = Workload::Trace {
            interval_s: 5,
            samples,
            repeat: false,
        };
        let mut st = WorkloadState::new(w, SimRng::new(1)).unwrap();
        let mut v = vec![0.0; 1];
        let m = st.eval(20, 1800.0, 4096.0, &mut v);
        assert_eq!(v[0], 250.0);
        assert_eq!(m.active_mb, 16.0 + 15.0);
        st.eval(20, 1800.0, 4096.0, &mut v);
        assert_eq!(v[0], 650.0);
        // Past the end of a trace that does not repeat: idle.
        st.eval(20, 1800.0, 4096.0, &mut v);
        assert_eq!(v[0], 18.0);
        // A 60 s sample spans three steps; half a window past the end idles half the time.
        let w = Workload::Trace {
            interval_s: 30,
            samples: vec![TraceSample {
                cpu_mhz: 900,
                active_mb: 0,
            }],
            repeat: false,
        };
        let mut st = WorkloadState::new(w, SimRng::new(1)).unwrap();
        st.eval(20, 1800.0, 4096.0, &mut v);
        assert_eq!(v[0], 900.0);
        st.eval(20, 1800.0, 4096.0, &mut v);
        assert_eq!(v[0], 450.0 + 9.0);
    }

    #[test]
    fn daily_anchor_is_set_from_the_time_of_day() {
        let w = varying(
            1,
            0,
            0,
            Profile::Daily {
                peak_s: 0,
                low: 0.0,
                start_s_of_day: 0,
            },
            0.0,
        )
        .starting_at_time_of_day(86_400 * 3 + 60);
        let Workload::Varying(v) = w else {
            unreachable!()
        };
        assert!(matches!(
            v.profile,
            Profile::Daily {
                start_s_of_day: 60,
                ..
            }
        ));
    }
}
