//! Samples, counters and read accessors through the public API.

use crate::common::*;
use scheduler_model::*;

#[test]
fn samples_cover_hosts_pools_vms_and_vcpu_instances() {
    let mut s = seed(true, Workload::stress_cpu(1, Some(300)));
    assert!(s.world.samples().is_empty());
    let samples = s.world.step(20);
    assert_eq!(samples.interval_s(), 20);
    assert_eq!(samples.iter().count(), samples.len());
    let vm: Vec<Sample> = samples.entity(Entity::Vm(s.container)).collect();
    assert!(vm.iter().all(|x| x.entity == Entity::Vm(s.container)));
    let ready: Vec<&Sample> = vm
        .iter()
        .filter(|x| x.counter == Counter::CpuReadySummation)
        .collect();
    assert_eq!(ready.len(), 3, "aggregate + 2 vCPUs");
    assert_eq!(ready[0].instance, None);
    assert_eq!(ready[0].value, ready[1].value + ready[2].value);
    assert!(
        ready[1].value > 10_000 && ready[2].value < 100,
        "busy vCPU 0, idle vCPU 1"
    );
    // every VM counter is present once for the aggregate
    let aggregates = vm.iter().filter(|x| x.instance.is_none()).count();
    let vm_counters = Counter::ALL
        .iter()
        .filter(|c| c.applies_to(Applies::VM))
        .count();
    assert_eq!(aggregates, vm_counters);
    // pool and host
    let pool_usage = samples
        .value(Entity::Pool(s.vch), Counter::CpuUsagemhzAverage, None)
        .unwrap();
    assert_eq!(pool_usage, 500);
    assert!(
        samples
            .value(Entity::Pool(s.vch), Counter::CpuReadySummation, None)
            .is_none()
    );
    let hosts: Vec<Sample> = samples
        .iter()
        .filter(|x| matches!(x.entity, Entity::Host(_)))
        .collect();
    assert!(
        hosts
            .iter()
            .any(|x| x.counter == Counter::MemStateLatest && x.value == 0)
    );
}

#[test]
fn quick_stats_and_usage_accessors() {
    let mut s = seed(true, Workload::stress_vm(1, 512, None));
    for _ in 0..5 {
        s.world.step(20);
    }
    let q = s.world.vm_quick_stats(s.container).unwrap();
    assert!(q.balloon_mb > 0 && q.swapped_mb > 0 && q.compressed_kb > 0);
    assert!(q.overall_cpu_usage_mhz < 500);
    assert_eq!(q.uptime_s, 100);
    let p = s.world.pool_usage(s.vch).unwrap();
    assert!(p.memory_usage_mb > 0 && p.cpu_usage_mhz <= 500);
    assert_eq!(p.cpu.max_usage, 500);
    let (_, host) = s.world.vm_placement(s.container).unwrap();
    let h = s.world.host_usage(host).unwrap();
    assert_eq!(h.cpu_capacity_mhz, 4 * 1800);
    assert!(h.memory_usage_mb > 0);
}

#[test]
fn power_off_and_zero_interval() {
    let mut s = seed(false, Workload::Idle);
    s.world.step(20);
    let before: Vec<Sample> = s.world.samples().iter().collect();
    assert_eq!(s.world.step(0).iter().collect::<Vec<_>>(), before);
    s.world.power_off(s.container).unwrap();
    let samples = s.world.step(20);
    assert!(!samples.has(Entity::Vm(s.container)));
    assert_eq!(samples.entity(Entity::Vm(s.container)).count(), 0);
    assert_eq!(
        s.world.vm_quick_stats(s.container).unwrap(),
        VmQuickStats::default()
    );
    // powering on again starts from clean memory state and a restarted workload
    s.world.power_on(s.container).unwrap();
    s.world
        .set_workload(s.container, Workload::stress_cpu(2, None))
        .unwrap();
    let samples = s.world.step(20);
    let usage = samples
        .value(Entity::Vm(s.container), Counter::CpuUsagemhzAverage, None)
        .unwrap();
    assert_eq!(usage, 3600);
}

#[test]
fn counter_metadata_matches_vsphere() {
    let ready = Counter::CpuReadySummation.info();
    assert_eq!(
        (
            ready.unit.name(),
            ready.rollup.name(),
            ready.stats_type.name(),
            ready.level
        ),
        ("millisecond", "summation", "delta", 1)
    );
    let balloon = Counter::MemVmmemctlAverage.info();
    assert_eq!((balloon.unit.name(), balloon.level), ("kiloBytes", 1));
    assert_eq!(Counter::MemLatencyAverage.info().unit.name(), "percent");
    assert_eq!(counter_infos().count(), Counter::ALL.len());
    assert_eq!(
        Counter::from_name("cpu.costop.summation"),
        Some(Counter::CpuCostopSummation)
    );
}

#[test]
fn move_and_trace_replay() {
    let mut s = seed(true, Workload::Idle);
    let trace = Workload::Trace {
        interval_s: 20,
        samples: vec![
            TraceSample {
                cpu_mhz: 300,
                active_mb: 100,
            },
            TraceSample {
                cpu_mhz: 3000,
                active_mb: 100,
            },
        ],
        repeat: false,
    };
    s.world.set_workload(s.container, trace).unwrap();
    let d: Vec<i64> = (0..3)
        .map(|_| {
            s.world
                .step(20)
                .value(Entity::Vm(s.container), Counter::CpuDemandAverage, None)
                .unwrap()
        })
        .collect();
    assert_eq!(d, vec![300, 3000, 36]);
    let root = s.world.pool_parent(s.vch).unwrap().unwrap();
    s.world.move_vm(s.container, root).unwrap();
    s.world
        .set_workload(s.container, Workload::stress_cpu(2, None))
        .unwrap();
    let u = s
        .world
        .step(20)
        .value(Entity::Vm(s.container), Counter::CpuUsagemhzAverage, None)
        .unwrap();
    assert_eq!(u, 3600, "outside the limited pool the VM runs free");
}

#[test]
fn pools_move_within_their_root_and_never_below_themselves() {
    let mut w = World::new(1);
    let h = w.add_host(HostSpec {
        name: "h".into(),
        cores: 4,
        mhz_per_core: 2000,
        hyperthreading: false,
        memory_mb: 8192,
    });
    let root = w.add_root_pool("Resources", &[h]).unwrap();
    let pool = |name: &str, res: u64| PoolSpec {
        name: name.into(),
        cpu: Allocation {
            reservation: res,
            ..Allocation::pool_default()
        },
        memory: Allocation::pool_default(),
    };
    let a = w.add_pool(root, pool("a", 0)).unwrap();
    let b = w.add_pool(root, pool("b", 0)).unwrap();
    let c = w.add_pool(a, pool("c", 1000)).unwrap();
    w.move_pool(c, b).unwrap();
    assert_eq!(w.pool_parent(c).unwrap(), Some(b));
    assert!(
        w.move_pool(b, c).is_err(),
        "a pool cannot move below its own child"
    );
    assert!(matches!(w.move_pool(root, a), Err(ModelError::RootPool(_))));
    // b now carries c's 1000 MHz: a fixed (non-expandable) 500 MHz pool cannot take it.
    let fixed = w
        .add_pool(
            root,
            PoolSpec {
                name: "fixed".into(),
                cpu: Allocation {
                    reservation: 500,
                    expandable_reservation: false,
                    ..Allocation::pool_default()
                },
                memory: Allocation::pool_default(),
            },
        )
        .unwrap();
    assert!(matches!(
        w.move_pool(c, fixed),
        Err(ModelError::Admission(_))
    ));
    assert_eq!(
        w.pool_parent(c).unwrap(),
        Some(b),
        "a refused move changes nothing"
    );
    w.remove_pool(a).unwrap();
}

/// Roots share nothing: a cluster's samples do not depend on other clusters in the world, on
/// whether they come before or after it, or on whether their limits bind (the step runs root by
/// root and decides the no-limit counterfactual per root).
#[test]
fn roots_are_independent() {
    fn cluster(w: &mut World, name: &str, limited: bool, workload: Workload) -> VmId {
        let host = w.add_host(HostSpec {
            name: format!("{name}-esx"),
            cores: 4,
            mhz_per_core: 1800,
            hyperthreading: false,
            memory_mb: 16 * 1024,
        });
        let root = w.add_root_pool(name, &[host]).unwrap();
        let alloc = |l| {
            if limited {
                Allocation::pool_limited(l)
            } else {
                Allocation::pool_default()
            }
        };
        let pool = w
            .add_pool(
                root,
                PoolSpec {
                    name: format!("{name}-vch"),
                    cpu: alloc(500),
                    memory: alloc(500),
                },
            )
            .unwrap();
        let spec = |vcpus, memory_mb| VmSpec {
            name: format!("{name}-vm"),
            vcpus,
            memory_mb,
            cpu: Allocation::vm_default(),
            memory: Allocation::vm_default(),
        };
        let mut last = None;
        for (vcpus, mb) in [(1, 2048), (2, 4096), (4, 8192)] {
            let vm = w.add_vm(pool, host, spec(vcpus, mb)).unwrap();
            w.power_on(vm).unwrap();
            w.set_workload(vm, workload.clone()).unwrap();
            last = Some(vm);
        }
        last.unwrap()
    }
    let counters = [
        Counter::CpuUsagemhzAverage,
        Counter::CpuReadySummation,
        Counter::CpuMaxlimitedSummation,
        Counter::CpuCostopSummation,
        Counter::MemEntitlementAverage,
        Counter::MemSwappedAverage,
        Counter::MemLatencyAverage,
    ];
    // Over-committed (the counterfactual needs the full pass) and not (it is the demand).
    let heavy = Workload::Stress {
        cpu_workers: 3,
        io_workers: 0,
        hdd_workers: 0,
        vm_workers: 1,
        vm_bytes_mb: 512,
        vm_touch_mb_per_s: DEFAULT_STRESS_TOUCH_MB_PER_S,
        duration_s: None,
    };
    for work in [heavy, Workload::stress_cpu(1, None)] {
        let mut alone = World::new(5);
        let vm = cluster(&mut alone, "a", true, work.clone());
        let want = series(&mut alone, vm, &counters, 6);
        assert!(want.iter().any(|s| s[2] > 0), "the limit binds: {want:?}");

        let mut mixed = World::new(5);
        cluster(&mut mixed, "before", false, work.clone());
        let vm = cluster(&mut mixed, "a", true, work.clone());
        cluster(&mut mixed, "after", true, Workload::Idle);
        assert_eq!(series(&mut mixed, vm, &counters, 6), want);
    }
}
