//! The bit-identical guard for step optimisations (issue 17): deterministic worlds are stepped
//! and every sample (entity, counter, instance, value) is hashed with FNV-1a 64, together with
//! the quick stats and pool / host usage vcsim reads. The expected hashes were recorded from the
//! model before the step was restructured; a change that is meant to move outputs must say so
//! and re-record them, any other change must leave them as they are.
//!
//! FNV-1a is implemented here rather than taken from std (`DefaultHasher` is not stable across
//! Rust versions).

#[path = "../../benches/world.rs"]
#[allow(dead_code)]
mod bench_world;

use scheduler_model::drs::{DrsRules, balance};
use scheduler_model::*;

/// FNV-1a 64 over the bytes fed to it.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn u64(&mut self, x: u64) {
        self.bytes(&x.to_le_bytes());
    }
}

/// Counters the checksum must see non-zero somewhere for it to guard the contention paths.
const MUST_SEE: [Counter; 8] = [
    Counter::CpuReadySummation,
    Counter::CpuMaxlimitedSummation,
    Counter::CpuCostopSummation,
    Counter::CpuSwapwaitSummation,
    Counter::MemVmmemctlAverage,
    Counter::MemSwappedAverage,
    Counter::MemCompressedAverage,
    Counter::MemLatencyAverage,
];

/// Hashes one step's samples (in their fixed order) and the read-side summaries; records in
/// `seen` which counters were non-zero for some VM.
fn hash_step(
    h: &mut Fnv,
    seen: &mut [bool; MUST_SEE.len()],
    w: &World,
    n_hosts: u32,
    n_pools: u32,
    n_vms: u32,
) {
    let s = w.samples();
    h.u64(s.time_s());
    h.u64(u64::from(s.interval_s()));
    h.u64(s.len() as u64);
    for x in s.iter() {
        let (kind, id) = match x.entity {
            Entity::Host(i) => (0u8, i.0),
            Entity::Pool(i) => (1, i.0),
            Entity::Vm(i) => (2, i.0),
        };
        h.bytes(&[kind]);
        h.bytes(&id.to_le_bytes());
        h.bytes(&[x.counter as u8]);
        match x.instance {
            None => h.bytes(&[0]),
            Some(j) => {
                h.bytes(&[1]);
                h.bytes(&j.to_le_bytes());
            }
        }
        h.u64(x.value as u64);
        if let (Entity::Vm(_), Some(i)) = (x.entity, MUST_SEE.iter().position(|&c| c == x.counter))
        {
            seen[i] |= x.value != 0;
        }
    }
    // The summaries are integers: their Debug text is a stable encoding.
    for i in 0..n_vms {
        if let Ok(q) = w.vm_quick_stats(VmId(i)) {
            h.bytes(format!("{q:?}").as_bytes());
        }
    }
    for i in 0..n_pools {
        if let Ok(u) = w.pool_usage(PoolId(i)) {
            h.bytes(format!("{u:?}").as_bytes());
        }
    }
    for i in 0..n_hosts {
        if let Ok(u) = w.host_usage(HostId(i)) {
            h.bytes(format!("{u:?}").as_bytes());
        }
    }
}

/// The bench's estate (pools, limits, mixed workloads), small enough for a debug build.
#[test]
fn bench_world_samples_are_unchanged() {
    let (vms, hosts) = (1_000u32, 60u32);
    let mut w = bench_world::build(vms, hosts);
    let n_pools = 3 * (1 + 4 + 20);
    let (mut h, mut seen) = (Fnv::new(), [false; MUST_SEE.len()]);
    hash_step(&mut h, &mut seen, &w, hosts, n_pools, vms);
    for _ in 0..12 {
        w.step(20);
        hash_step(&mut h, &mut seen, &w, hosts, n_pools, vms);
    }
    assert_eq!(h.0, 0x3fd3_479e_5658_6e15, "bench world hash {:#018x}", h.0);
}

/// Settings the bench does not exercise: VM reservations, limits and custom shares, every
/// workload kind, memory and CPU overcommit, hosts without HT, odd vCPU counts; mid-run
/// inventory changes (power, migration, host states, pool updates, DRS moves) and interval
/// lengths other than 20 s.
#[test]
fn varied_world_samples_are_unchanged() {
    let mut w = World::new(0x5eed);
    let mut rng = SimRng::new(99);
    let mut hosts = Vec::new();
    let mut roots = Vec::new();
    let mut pools = Vec::new();
    // Two clusters (4 and 3 hosts) and one standalone host; small memories overcommit.
    for (c, n) in [4u32, 3, 1].into_iter().enumerate() {
        let hs: Vec<HostId> = (0..n)
            .map(|i| {
                w.add_host(HostSpec {
                    name: format!("esx-{c}-{i}"),
                    cores: [4, 8, 6][c],
                    mhz_per_core: [2000, 2400, 1800][c],
                    hyperthreading: c != 1,
                    memory_mb: [24 * 1024, 48 * 1024, 16 * 1024][c],
                })
            })
            .collect();
        let root = w.add_root_pool(&format!("root-{c}"), &hs).unwrap();
        let mut leaves = vec![root];
        for p in 0..3u32 {
            let parent = if p == 2 { leaves[1] } else { root };
            let cpu = match p {
                0 => Allocation::pool_limited(3_000 + 1_000 * c as u64),
                1 => Allocation {
                    shares: Shares::Custom(12_345),
                    reservation: 1_000,
                    ..Allocation::pool_default()
                },
                _ => Allocation {
                    shares: Shares::Low,
                    ..Allocation::pool_default()
                },
            };
            let memory = match p {
                0 => Allocation {
                    shares: Shares::High,
                    ..Allocation::pool_default()
                },
                1 => Allocation::pool_limited(6_000),
                _ => Allocation {
                    reservation: 512,
                    ..Allocation::pool_default()
                },
            };
            let id = w
                .add_pool(
                    parent,
                    PoolSpec {
                        name: format!("p-{c}-{p}"),
                        cpu,
                        memory,
                    },
                )
                .unwrap();
            leaves.push(id);
        }
        roots.push(root);
        pools.push((leaves, hs.clone()));
        hosts.extend(hs);
    }
    let dists = [
        Dist::Fixed(700.0),
        Dist::Uniform {
            low: 100.0,
            high: 2500.0,
        },
        Dist::Normal {
            mean: 900.0,
            std_dev: 400.0,
        },
        Dist::LogNormal {
            location: 6.0,
            scale: 0.8,
        },
        Dist::Exponential { rate: 0.002 },
        Dist::Gamma {
            shape: 1.5,
            rate: 0.003,
        },
    ];
    let profiles = [
        Profile::Constant,
        Profile::Daily {
            peak_s: 3_600,
            low: 0.2,
            start_s_of_day: 0,
        },
        Profile::Burst {
            on_s: 30,
            off_s: 50,
            low: 0.1,
        },
        Profile::Steps {
            low: 0.3,
            steps: vec![
                ProfileStep {
                    at_s: 40,
                    level: 1.0,
                },
                ProfileStep {
                    at_s: 130,
                    level: 0.5,
                },
            ],
        },
    ];
    let trace = Workload::Trace {
        interval_s: 15,
        samples: (0..9)
            .map(|i| TraceSample {
                cpu_mhz: 300 * i,
                active_mb: 128 * u64::from(i),
            })
            .collect(),
        repeat: false,
    };
    let mut vms = Vec::new();
    for i in 0..120u32 {
        let (leaves, hs) = &pools[i as usize % pools.len()];
        let pool = leaves[(i as usize / 3) % leaves.len()];
        let host = hs[(i as usize / 7) % hs.len()];
        let vcpus = [1, 2, 3, 4, 8, 2][rng.below(6) as usize];
        let memory_mb = [1024, 3000, 4096, 8192][rng.below(4) as usize];
        let (cpu, memory) = match i % 9 {
            0 => (
                Allocation {
                    reservation: 300,
                    ..Allocation::vm_default()
                },
                Allocation {
                    reservation: 256,
                    ..Allocation::vm_default()
                },
            ),
            1 => (
                Allocation {
                    limit: Some(500 + 100 * u64::from(i % 5)),
                    ..Allocation::vm_default()
                },
                Allocation {
                    limit: Some(memory_mb / 3),
                    ..Allocation::vm_default()
                },
            ),
            2 => (
                Allocation {
                    shares: Shares::Custom(3_000),
                    ..Allocation::vm_default()
                },
                Allocation {
                    shares: Shares::Low,
                    ..Allocation::vm_default()
                },
            ),
            3 => (
                Allocation {
                    shares: Shares::High,
                    ..Allocation::vm_default()
                },
                Allocation {
                    shares: Shares::Custom(50_000),
                    ..Allocation::vm_default()
                },
            ),
            _ => (Allocation::vm_default(), Allocation::vm_default()),
        };
        let spec = VmSpec {
            name: format!("vm-{i}"),
            vcpus,
            memory_mb,
            cpu,
            memory,
        };
        let Ok(vm) = w.add_vm(pool, host, spec) else {
            continue;
        };
        let workload = match i % 8 {
            0 => Workload::Idle,
            1 => Workload::Constant {
                mhz_per_vcpu: 400 + 50 * (i % 30),
                active_mb: memory_mb / 3,
            },
            2 => Workload::Stochastic {
                mhz_per_vcpu: dists[i as usize % dists.len()],
                active_mb: Dist::Uniform {
                    low: 0.0,
                    high: memory_mb as f64 * 0.8,
                },
            },
            3 => Workload::Stress {
                cpu_workers: 1 + i % 3,
                io_workers: i % 4,
                hdd_workers: i % 2,
                vm_workers: i % 2,
                vm_bytes_mb: 700,
                vm_touch_mb_per_s: 128,
                duration_s: Some(90 + 10 * (i % 7)),
            },
            4 => Workload::stress_vm(2, memory_mb / 2, None),
            5 => Workload::Varying(Box::new(Varying {
                mhz_per_vcpu: 1500,
                mem_mb: memory_mb / 2,
                active_mb: memory_mb / 4,
                profile: profiles[i as usize % profiles.len()].clone(),
                jitter: [0.0, 0.3][i as usize % 2],
            })),
            6 => trace.clone(),
            _ => Workload::stress_cpu(vcpus, None),
        };
        w.set_workload(vm, workload).unwrap();
        // Admission may refuse some reservations: those VMs stay off.
        if w.power_on(vm).is_ok() {
            vms.push(vm);
        }
    }
    let n_vms = 120;
    let n_pools = 12;
    let n_hosts = hosts.len() as u32;
    let (mut h, mut seen) = (Fnv::new(), [false; MUST_SEE.len()]);
    let mut drs_moves = 0;
    let intervals = [
        20u32, 20, 20, 60, 20, 5, 20, 300, 20, 20, 20, 20, 20, 20, 20, 20,
    ];
    for (step, &interval_s) in intervals.iter().enumerate() {
        match step {
            3 => {
                w.power_off(vms[5]).unwrap();
                w.migrate_vm(vms[10], hosts[1]).ok();
            }
            5 => {
                w.power_on(vms[5]).unwrap();
                w.set_host_state(hosts[6], HostState::Disconnected).unwrap();
            }
            7 => {
                let (leaves, _) = &pools[0];
                w.update_pool(
                    leaves[1],
                    Allocation::pool_limited(2_500),
                    Allocation::pool_limited(3_000),
                )
                .unwrap();
                w.move_vm(vms[0], leaves[3]).ok();
            }
            9 => {
                for &root in &roots {
                    let b = balance(&w.drs_cluster(root), &DrsRules::default(), 1);
                    drs_moves += b.moves.len();
                    for m in b.moves {
                        w.migrate_vm(m.vm, m.to).ok();
                    }
                }
            }
            11 => {
                w.set_host_state(hosts[6], HostState::Available).unwrap();
                w.set_workload(vms[1], Workload::stress_vm(1, 900, Some(40)))
                    .unwrap();
            }
            _ => {}
        }
        w.step(interval_s);
        hash_step(&mut h, &mut seen, &w, n_hosts, n_pools, n_vms);
    }
    // The scenario must keep reaching the paths it guards.
    assert_eq!(seen, [true; MUST_SEE.len()], "counters seen: {MUST_SEE:?}");
    assert!(
        drs_moves > 0 && vms.len() > 100,
        "{drs_moves} moves, {} VMs",
        vms.len()
    );
    assert_eq!(
        h.0, 0x91d7_a231_1888_950f,
        "varied world hash {:#018x}",
        h.0
    );
}
