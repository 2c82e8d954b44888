//! What runs inside a VM: per-vCPU CPU demand and guest memory (in use, active, touch rate),
//! evaluated once per step.
//!
//! All numbers here are our assumptions [A] unless stated; MODEL.md lists them.

use crate::error::ModelError;
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
    /// Replay of recorded per-interval samples.
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
            Workload::Trace {
                interval_s: trace_s,
                samples,
                repeat,
            } => {
                let k = (self.elapsed_s / u64::from((*trace_s).max(1))) as usize;
                let s = if k < samples.len() {
                    samples.get(k)
                } else if *repeat && !samples.is_empty() {
                    samples.get(k % samples.len())
                } else {
                    None
                };
                if let Some(s) = s {
                    let per = f64::from(s.cpu_mhz) / n.max(1) as f64;
                    vcpu_mhz.fill(per.min(core_mhz));
                    add_active(
                        &mut mem,
                        s.active_mb as f64,
                        memory_mb,
                        SAMPLE_PERIOD_S.recip(),
                    );
                } else {
                    vcpu_mhz.fill(idle);
                }
            }
        }
        self.elapsed_s = self.elapsed_s.saturating_add(u64::from(interval_s));
        mem
    }
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
}
