//! The realistic world the step bench measures and `examples/profile_step.rs` profiles:
//! 25 clusters of 20 hosts per 10 000 VMs; per cluster 4 department pools, each with 5
//! VCH-like pools (every third limited), VMs spread over the cluster's hosts with mixed
//! workloads. Shared by `#[path]` so the bench and the profiler measure the same thing.

use scheduler_model::*;

/// Builds the world and runs one step so the plan is built outside any measurement.
pub fn build(vms: u32, hosts: u32) -> World {
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
