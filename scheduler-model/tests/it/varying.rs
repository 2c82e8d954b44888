//! Workloads that vary (MODEL.md §6.1–6.4) through the public API: a daily profile over a
//! whole day, seeded jitter, allocated vs active memory under a pool limit, and a parsed trace.

use scheduler_model::*;

struct Small {
    world: World,
    pool: PoolId,
    host: HostId,
}

/// One 8-core 2 GHz host with a pool limited to `mem_limit_mb` (or unlimited).
fn small(seed: u64, mem_limit_mb: Option<u64>) -> Small {
    let mut world = World::new(seed);
    let host = world.add_host(HostSpec {
        name: "esx".into(),
        cores: 8,
        mhz_per_core: 2000,
        hyperthreading: false,
        memory_mb: 32 * 1024,
    });
    let root = world.add_root_pool("esx", &[host]).unwrap();
    let memory = match mem_limit_mb {
        Some(l) => Allocation::pool_limited(l),
        None => Allocation::pool_default(),
    };
    let pool = world
        .add_pool(
            root,
            PoolSpec {
                name: "p".into(),
                cpu: Allocation::pool_default(),
                memory,
            },
        )
        .unwrap();
    Small { world, pool, host }
}

fn vm(s: &mut Small, name: &str, vcpus: u32, memory_mb: u64, w: Workload) -> VmId {
    let id = s
        .world
        .add_vm(
            s.pool,
            s.host,
            VmSpec {
                name: name.into(),
                vcpus,
                memory_mb,
                cpu: Allocation::vm_default(),
                memory: Allocation::vm_default(),
            },
        )
        .unwrap();
    s.world.power_on(id).unwrap();
    s.world.set_workload(id, w).unwrap();
    id
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

fn usage(s: &mut Small, v: VmId, steps: usize) -> Vec<i64> {
    (0..steps)
        .map(|_| {
            s.world
                .step(20)
                .value(Entity::Vm(v), Counter::CpuUsagemhzAverage, None)
                .unwrap()
        })
        .collect()
}

#[test]
fn daily_profile_over_a_day_peaks_at_the_peak_hour() {
    let mut s = small(1, None);
    // Starts at 08:00; peak 14:00 (step 1080), trough 02:00 (step 3240).
    let w = varying(
        1500,
        0,
        0,
        Profile::Daily {
            peak_s: 14 * 3600,
            low: 0.2,
            start_s_of_day: 0,
        },
        0.0,
    )
    .starting_at_time_of_day(8 * 3600);
    let v = vm(&mut s, "web", 2, 4096, w);
    let u = usage(&mut s, v, 4320);
    // Samples are whole MHz, so the extremes are short plateaus: take their middles.
    let middle = |v: i64| {
        let first = u.iter().position(|x| *x == v).unwrap();
        let last = u.iter().rposition(|x| *x == v).unwrap();
        (first + last) / 2
    };
    let (max, min) = (*u.iter().max().unwrap(), *u.iter().min().unwrap());
    assert_eq!(max, 3000, "2 vCPUs × 1500 MHz at the peak");
    assert_eq!(min, 600, "20 % of the peak at the trough");
    assert!(
        (1075..=1085).contains(&middle(max)),
        "peak at step {}",
        middle(max)
    );
    assert!(
        (3235..=3245).contains(&middle(min)),
        "trough at step {}",
        middle(min)
    );
    assert!(u.iter().all(|x| (600..=3000).contains(x)));
}

#[test]
fn jitter_follows_the_seed() {
    let run = |seed| {
        let mut s = small(seed, None);
        let v = vm(
            &mut s,
            "web",
            1,
            2048,
            varying(1000, 512, 256, Profile::Constant, 0.1),
        );
        usage(&mut s, v, 30)
    };
    let a = run(5);
    assert_eq!(a, run(5));
    assert_ne!(a, run(6));
    assert!(a.iter().all(|x| (900..=1100).contains(x)), "{a:?}");
    assert!(a.iter().collect::<std::collections::BTreeSet<_>>().len() > 10);
}

#[test]
fn idle_allocated_memory_is_reclaimed_before_active_memory() {
    // Both VMs allocate 1024 MB; one keeps 10 % of it active, the other all of it. Under a
    // 1200 MB pool limit the idle tax takes from the idle one.
    let mut s = small(1, Some(1200));
    let idle = vm(
        &mut s,
        "idle",
        1,
        2048,
        varying(100, 1024, 102, Profile::Constant, 0.0),
    );
    let busy = vm(
        &mut s,
        "busy",
        1,
        2048,
        varying(100, 1024, 1024, Profile::Constant, 0.0),
    );
    let mut last = None;
    for _ in 0..30 {
        last = Some(s.world.step(20).clone());
    }
    let samples = last.unwrap();
    let kb = |v: VmId, c: Counter| samples.value(Entity::Vm(v), c, None).unwrap();
    let (idle_ent, busy_ent) = (
        kb(idle, Counter::MemEntitlementAverage),
        kb(busy, Counter::MemEntitlementAverage),
    );
    assert!(
        busy_ent > idle_ent + 300 * 1024,
        "busy {busy_ent} KB vs idle {idle_ent} KB"
    );
    // Without the limit, allocated pages stay consumed although only 10 % is active: active
    // is what the guest re-touches (16 MB of guest OS + 102 MB), not what it allocated.
    let mut s = small(1, None);
    let idle = vm(
        &mut s,
        "idle",
        1,
        2048,
        varying(100, 1024, 102, Profile::Constant, 0.0),
    );
    for _ in 0..5 {
        s.world.step(20);
    }
    let samples = s.world.step(20);
    let kb = |c| samples.value(Entity::Vm(idle), c, None).unwrap();
    let consumed = kb(Counter::MemConsumedAverage);
    assert!(consumed > 1050 * 1024, "{consumed} KB consumed");
    let active = kb(Counter::MemActiveAverage);
    assert!((117 * 1024..=119 * 1024).contains(&active), "{active}");
}

#[test]
fn a_parsed_trace_replays_through_the_world() {
    let trace = parse_trace_csv(
        "Time,MHz,MB\n2017-10-02T08:00:00Z,400,100\n2017-10-02T08:00:20Z,1200,200\n2017-10-02T08:00:40Z,800,\n",
    )
    .unwrap();
    let mut s = small(1, None);
    let v = vm(&mut s, "t", 2, 4096, Workload::trace(trace, true));
    assert_eq!(
        usage(&mut s, v, 7),
        vec![400, 1200, 800, 400, 1200, 800, 400]
    );
}
