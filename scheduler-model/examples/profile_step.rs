//! Profiling driver: builds the bench's world (benches/step.rs, copied) and runs a few steps,
//! so `valgrind --tool=callgrind` sees the step without criterion's machinery.
//!
//! `cargo build --release --example profile_step -p scheduler-model`, then
//! `valgrind --tool=callgrind target/release/examples/profile_step 10000 5`.
//! Prints a checksum of the samples so results can be compared across changes.

use scheduler_model::*;

fn build(vms: u32, hosts: u32) -> World {
    let mut w = World::new(42);
    let mut rng = SimRng::new(7);
    let clusters = (hosts / 20).max(1);
    let per_cluster = hosts / clusters;
    let mut leaves = Vec::new();
    for c in 0..clusters {
        let hs: Vec<HostId> = (0..per_cluster)
            .map(|i| {
                w.add_host(HostSpec {
                    name: format!("esx-{c}-{i}"),
                    cores: 16,
                    mhz_per_core: 2600,
                    hyperthreading: true,
                    memory_mb: 256 * 1024,
                })
            })
            .collect();
        let root = w.add_root_pool(&format!("cluster-{c}"), &hs).unwrap();
        for d in 0..4 {
            let dept = w
                .add_pool(
                    root,
                    PoolSpec {
                        name: format!("dept-{c}-{d}"),
                        cpu: Allocation::pool_default(),
                        memory: Allocation::pool_default(),
                    },
                )
                .unwrap();
            for v in 0..5 {
                let limited = v % 3 == 0;
                let alloc = |l| {
                    if limited {
                        Allocation::pool_limited(l)
                    } else {
                        Allocation {
                            shares: Shares::High,
                            ..Allocation::pool_default()
                        }
                    }
                };
                let p = w
                    .add_pool(
                        dept,
                        PoolSpec {
                            name: format!("vch-{c}-{d}-{v}"),
                            cpu: alloc(8_000),
                            memory: alloc(16_384),
                        },
                    )
                    .unwrap();
                leaves.push((p, hs.clone()));
            }
        }
    }
    for i in 0..vms {
        let (pool, hs) = &leaves[i as usize % leaves.len()];
        let host = hs[(i as usize / leaves.len()) % hs.len()];
        let vcpus = [1, 2, 2, 4][rng.below(4) as usize];
        let memory_mb = [2048, 4096, 8192, 16384][rng.below(4) as usize];
        let vm = w
            .add_vm(
                *pool,
                host,
                VmSpec {
                    name: format!("vm-{i}"),
                    vcpus,
                    memory_mb,
                    cpu: Allocation::vm_default(),
                    memory: Allocation::vm_default(),
                },
            )
            .unwrap();
        w.power_on(vm).unwrap();
        let workload = match rng.below(20) {
            0..=5 => Workload::Idle,
            6..=11 => Workload::Constant {
                mhz_per_vcpu: 200 + rng.below(1200) as u32,
                active_mb: rng.below(memory_mb / 2),
            },
            12..=15 => Workload::Stochastic {
                mhz_per_vcpu: Dist::Gamma {
                    shape: 2.0,
                    rate: 0.004,
                },
                active_mb: Dist::Uniform {
                    low: 0.0,
                    high: memory_mb as f64 / 2.0,
                },
            },
            16..=18 => Workload::stress_cpu(1 + rng.below(u64::from(vcpus)) as u32, None),
            _ => Workload::stress_vm(1, 512 + rng.below(2048), None),
        };
        w.set_workload(vm, workload).unwrap();
    }
    w.step(20); // build the plan outside the measurement
    w
}

fn main() {
    let mut args = std::env::args().skip(1);
    let vms: u32 = args.next().map_or(10_000, |a| a.parse().expect("vms"));
    let steps: u32 = args.next().map_or(5, |a| a.parse().expect("steps"));
    let mut w = build(vms, vms / 20);
    let (t0, c0) = (std::time::Instant::now(), cpu_ns());
    run_steps(&mut w, steps);
    let (dt, dc) = (t0.elapsed(), (cpu_ns() - c0) as f64 * 1e-9);
    // Checksum over every sample (hashing order is the samples' fixed order).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for s in w.samples().iter() {
        h = (h ^ s.value as u64).wrapping_mul(0x100_0000_01b3);
    }
    // PROFILE_DUMP=path writes every sample (one a line) to compare runs with a tolerance.
    if let Ok(path) = std::env::var("PROFILE_DUMP") {
        use std::fmt::Write as _;
        let mut out = String::new();
        for s in w.samples().iter() {
            let _ = writeln!(
                out,
                "{:?} {:?} {:?} {}",
                s.entity, s.counter, s.instance, s.value
            );
        }
        std::fs::write(path, out).expect("write dump");
    }
    println!(
        "{vms} VMs, {steps} steps: wall {:.3} ms/step; on-CPU {:.3} ms/step = {:.2} M VM-steps/s; \
         checksum {h:016x}",
        dt.as_secs_f64() * 1e3 / f64::from(steps),
        dc * 1e3 / f64::from(steps),
        f64::from(vms) * f64::from(steps) / dc / 1e6
    );
}

/// The measured steps, kept out of line so callgrind can collect just them:
/// `--toggle-collect='profile_step::run_steps'`.
#[inline(never)]
fn run_steps(w: &mut World, steps: u32) {
    for _ in 0..steps {
        w.step(20);
    }
}

/// This thread's on-CPU time in ns (Linux schedstat; 0 elsewhere): on a shared machine wall
/// time includes time spent descheduled.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
