//! proptest invariants over random inventories (issue 3 item 5), and what raising a CPU limit
//! guarantees (MODEL.md §4).

use proptest::prelude::*;
use scheduler_model::params::{BALLOON_MAX_FRACTION, HT_GAIN};
use scheduler_model::*;

#[derive(Clone, Debug)]
struct HostP {
    cores: u32,
    mhz: u32,
    ht: bool,
    memory_mb: u64,
}

#[derive(Clone, Debug)]
struct PoolP {
    parent: usize, // index into pools built so far (0 = root)
    cpu: Allocation,
    mem: Allocation,
}

#[derive(Clone, Debug)]
struct VmP {
    pool: usize,
    host: usize,
    vcpus: u32,
    memory_mb: u64,
    cpu: Allocation,
    mem: Allocation,
    workload: Workload,
}

#[derive(Clone, Debug)]
struct Scenario {
    seed: u64,
    hosts: Vec<HostP>,
    pools: Vec<PoolP>,
    vms: Vec<VmP>,
}

fn shares() -> impl Strategy<Value = Shares> {
    prop_oneof![
        Just(Shares::Low),
        Just(Shares::Normal),
        Just(Shares::High),
        (0u32..20_000).prop_map(Shares::Custom),
    ]
}

fn alloc(max: u64, pool: bool) -> impl Strategy<Value = Allocation> {
    (
        shares(),
        prop_oneof![3 => Just(0u64), 1 => 0..max / 4],
        prop_oneof![2 => Just(None), 1 => (1..max).prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(move |(shares, r, limit, exp)| Allocation {
            shares,
            reservation: limit.map_or(r, |l| r.min(l)),
            limit,
            expandable_reservation: pool && exp,
        })
}

fn workload() -> impl Strategy<Value = Workload> {
    prop_oneof![
        Just(Workload::Idle),
        (0u32..3000, 0u64..4096).prop_map(|(m, a)| Workload::Constant {
            mhz_per_vcpu: m,
            active_mb: a
        }),
        (0u32..4, 0u32..2, 0u64..2048, prop::option::of(0u32..120)).prop_map(|(c, v, b, d)| {
            Workload::Stress {
                cpu_workers: c,
                io_workers: 1,
                hdd_workers: 0,
                vm_workers: v,
                vm_bytes_mb: b,
                vm_touch_mb_per_s: DEFAULT_STRESS_TOUCH_MB_PER_S,
                duration_s: d,
            }
        }),
        (100.0f64..2000.0, 10.0f64..500.0).prop_map(|(mean, sd)| Workload::Stochastic {
            mhz_per_vcpu: Dist::Normal { mean, std_dev: sd },
            active_mb: Dist::Exponential { rate: 0.01 },
        }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let hosts = prop::collection::vec(
        (1u32..8, 1000u32..3000, any::<bool>(), 2048u64..32_768).prop_map(
            |(cores, mhz, ht, memory_mb)| HostP {
                cores,
                mhz,
                ht,
                memory_mb,
            },
        ),
        1..4,
    );
    let pools = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            alloc(8000, true),
            alloc(8192, true),
        ),
        0..5,
    );
    let vms = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            1u32..5,
            256u64..8192,
            alloc(4000, false),
            alloc(4096, false),
            workload(),
        ),
        1..10,
    );
    (any::<u64>(), hosts, pools, vms).prop_map(|(seed, hosts, pools, vms)| {
        let pools: Vec<PoolP> = pools
            .into_iter()
            .enumerate()
            .map(|(i, (parent, cpu, mem))| PoolP {
                parent: parent.index(i + 1),
                cpu,
                mem,
            })
            .collect();
        let n_pools = pools.len() + 1;
        let n_hosts = hosts.len();
        let vms = vms
            .into_iter()
            .map(|(pool, host, vcpus, memory_mb, cpu, mut mem, workload)| {
                mem.reservation = mem.reservation.min(memory_mb);
                VmP {
                    pool: pool.index(n_pools),
                    host: host.index(n_hosts),
                    vcpus,
                    memory_mb,
                    cpu,
                    mem,
                    workload,
                }
            })
            .collect();
        Scenario {
            seed,
            hosts,
            pools,
            vms,
        }
    })
}

struct Built {
    world: World,
    hosts: Vec<HostId>,
    pools: Vec<Option<PoolId>>, // index 0 = root
    vms: Vec<Option<VmId>>,
}

fn build(sc: &Scenario) -> Built {
    let mut world = World::new(sc.seed);
    let hosts: Vec<HostId> = sc
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            world.add_host(HostSpec {
                name: format!("h{i}"),
                cores: h.cores,
                mhz_per_core: h.mhz,
                hyperthreading: h.ht,
                memory_mb: h.memory_mb,
            })
        })
        .collect();
    let root = world.add_root_pool("cluster", &hosts).unwrap();
    let mut pools = vec![Some(root)];
    for (i, p) in sc.pools.iter().enumerate() {
        let id = pools[p.parent].and_then(|parent| {
            world
                .add_pool(
                    parent,
                    PoolSpec {
                        name: format!("p{i}"),
                        cpu: p.cpu,
                        memory: p.mem,
                    },
                )
                .ok() // admission may refuse: then the pool (and what would go in it) is absent
        });
        pools.push(id);
    }
    let mut vms = Vec::new();
    for (i, v) in sc.vms.iter().enumerate() {
        let id = pools[v.pool].and_then(|pool| {
            let vm = world
                .add_vm(
                    pool,
                    hosts[v.host],
                    VmSpec {
                        name: format!("vm{i}"),
                        vcpus: v.vcpus,
                        memory_mb: v.memory_mb,
                        cpu: v.cpu,
                        memory: v.mem,
                    },
                )
                .unwrap();
            world.set_workload(vm, v.workload.clone()).unwrap();
            world.power_on(vm).ok().map(|()| vm)
        });
        vms.push(id);
    }
    Built {
        world,
        hosts,
        pools,
        vms,
    }
}

fn val(s: &Samples, e: Entity, c: Counter) -> i64 {
    s.value(e, c, None)
        .unwrap_or_else(|| panic!("{e:?} has no {}", c.name()))
}

fn check_invariants(sc: &Scenario, b: &Built) -> Result<(), TestCaseError> {
    let s = b.world.samples();
    let interval_ms = i64::from(s.interval_s()) * 1000;
    for (vp, vm) in sc.vms.iter().zip(&b.vms) {
        let Some(vm) = *vm else { continue };
        let e = Entity::Vm(vm);
        let usage = val(s, e, Counter::CpuUsagemhzAverage);
        let demand = val(s, e, Counter::CpuDemandAverage);
        let ent = val(s, e, Counter::CpuEntitlementLatest);
        // usage ≤ min(demand, limit)
        prop_assert!(usage <= demand + 1, "usage {usage} > demand {demand}");
        if let Some(l) = vp.cpu.limit {
            prop_assert!(usage <= l as i64 + 1, "usage {usage} > limit {l}");
            prop_assert!(ent <= (l as i64).max(vp.cpu.reservation as i64) + 1);
        }
        // entitlement ≥ reservation where admitted and demanded
        let r = vp.cpu.reservation as i64;
        if demand > r {
            prop_assert!(ent + 1 >= r, "entitlement {ent} < reservation {r}");
            prop_assert!(
                usage + 1 >= r,
                "usage {usage} < reservation {r} with demand {demand}"
            );
        }
        let mem_ent = val(s, e, Counter::MemEntitlementAverage) / 1024;
        let granted = val(s, e, Counter::MemGrantedAverage) / 1024;
        let rm = vp.mem.reservation as i64;
        if granted >= rm {
            prop_assert!(
                mem_ent + 1 >= rm,
                "mem entitlement {mem_ent} < reservation {rm}"
            );
        }
        // per-vCPU time identity, max-limited ⊂ ready, aggregate = Σ instances
        let mut sums = [0i64; 5];
        for j in 0..vp.vcpus as u16 {
            let t = s.vcpu_times(vm, j).unwrap();
            prop_assert_eq!(t.run_ms + t.ready_ms + t.costop_ms + t.wait_ms, interval_ms);
            prop_assert!(t.maxlimited_ms <= t.ready_ms);
            prop_assert_eq!(t.idle_ms + t.swapwait_ms, t.wait_ms);
            prop_assert!(t.run_ms >= 0 && t.ready_ms >= 0 && t.costop_ms >= 0 && t.idle_ms >= 0);
            for (k, x) in [
                t.run_ms,
                t.ready_ms,
                t.maxlimited_ms,
                t.costop_ms,
                t.wait_ms,
            ]
            .into_iter()
            .enumerate()
            {
                sums[k] += x;
            }
            prop_assert_eq!(
                s.value(e, Counter::CpuReadySummation, Some(j)),
                Some(t.ready_ms)
            );
        }
        prop_assert_eq!(sums[0], val(s, e, Counter::CpuRunSummation));
        prop_assert_eq!(sums[1], val(s, e, Counter::CpuReadySummation));
        prop_assert_eq!(sums[2], val(s, e, Counter::CpuMaxlimitedSummation));
        prop_assert_eq!(sums[3], val(s, e, Counter::CpuCostopSummation));
        prop_assert_eq!(sums[4], val(s, e, Counter::CpuWaitSummation));
        // balloon and swap bounds (KB)
        let m_kb = vp.memory_mb as f64 * 1024.0;
        let r_kb = vp.mem.reservation as f64 * 1024.0;
        let balloon = val(s, e, Counter::MemVmmemctlAverage) as f64;
        let swapped = val(s, e, Counter::MemSwappedAverage) as f64;
        prop_assert!(
            balloon <= BALLOON_MAX_FRACTION * m_kb + 1.0,
            "balloon {balloon}"
        );
        prop_assert!(
            balloon <= m_kb - r_kb + 1.0,
            "balloon {balloon} > configured − reservation"
        );
        prop_assert!(swapped <= m_kb - r_kb + 1.0, "swapped {swapped}");
        // Accounting identities (MODEL.md §5.7), KB with rounding slack.
        let consumed = val(s, e, Counter::MemConsumedAverage);
        let granted_kb = val(s, e, Counter::MemGrantedAverage);
        let compressed = val(s, e, Counter::MemCompressedAverage) as f64;
        prop_assert!(
            consumed <= granted_kb + 1,
            "consumed {consumed} > granted {granted_kb}"
        );
        prop_assert!(val(s, e, Counter::MemActiveAverage) <= granted_kb + 1);
        prop_assert!(val(s, e, Counter::MemSharedAverage) <= granted_kb + 1);
        // Guest memory: resident + compressed + swapped + ballooned ≤ configured.
        let resident = granted_kb as f64 - compressed / 2.0;
        prop_assert!(
            resident + compressed + swapped + balloon <= m_kb + 4.0,
            "resident {resident} + compressed {compressed} + swapped {swapped} + balloon {balloon} > configured {m_kb}"
        );
        if let Some(l) = vp.mem.limit {
            prop_assert!(
                granted_kb as f64 <= (l.max(vp.mem.reservation) as f64) * 1024.0 + 2.0,
                "granted {granted_kb} KB above the VM's limit {l} MB"
            );
        }
        let latency = val(s, e, Counter::MemLatencyAverage);
        prop_assert!((0..10_000).contains(&latency));
        if swapped == 0.0 && val(s, e, Counter::MemCompressedAverage) == 0 {
            prop_assert_eq!(latency, 0, "latency only from swap-in / decompression");
        }
    }
    // pools: usage ≤ min(demand, limit)
    for (pp, pool) in std::iter::once(None)
        .chain(sc.pools.iter().map(Some))
        .zip(&b.pools)
    {
        let Some(pool) = *pool else { continue };
        let e = Entity::Pool(pool);
        let usage = val(s, e, Counter::CpuUsagemhzAverage);
        prop_assert!(usage <= val(s, e, Counter::CpuDemandAverage) + 1);
        if let Some(l) = pp.and_then(|p| p.cpu.limit) {
            prop_assert!(usage <= l as i64 + 1, "pool usage {usage} > limit {l}");
        }
        let consumed = val(s, e, Counter::MemConsumedAverage);
        let granted = val(s, e, Counter::MemGrantedAverage);
        prop_assert!(
            consumed <= granted + 1,
            "pool consumed {consumed} > granted {granted}"
        );
        // A pool's memory limit bounds its VMs' host memory, overhead included.
        // (Overhead is not reclaimable: a limit below the overhead leaves just the overhead.)
        if let Some(l) = pp.and_then(|p| p.mem.limit) {
            let overhead = val(s, e, Counter::MemOverheadAverage) as f64;
            prop_assert!(
                consumed as f64 <= (l as f64 * 1024.0).max(overhead) + 16.0,
                "pool consumed {consumed} KB > limit {l} MB (overhead {overhead} KB)"
            );
        }
        prop_assert!(val(s, e, Counter::MemActiveAverage) <= granted + 1);
    }
    // Σ usage ≤ capacity, per host and for the cluster
    let mut cluster = 0;
    let mut cap_total = 0.0;
    for (hp, h) in sc.hosts.iter().zip(&b.hosts) {
        let usage = val(s, Entity::Host(*h), Counter::CpuUsagemhzAverage);
        let nominal = f64::from(hp.cores) * f64::from(hp.mhz);
        let cap = if hp.ht {
            nominal * (1.0 + HT_GAIN)
        } else {
            nominal
        };
        prop_assert!(
            usage as f64 <= cap + 1.0,
            "host usage {usage} > capacity {cap}"
        );
        cluster += usage;
        cap_total += cap;
    }
    prop_assert!(cluster as f64 <= cap_total + 1.0);
    let root = val(
        s,
        Entity::Pool(b.pools[0].unwrap()),
        Counter::CpuUsagemhzAverage,
    );
    prop_assert!((root - cluster).abs() <= sc.hosts.len() as i64 + 1);
    Ok(())
}

fn all_samples(w: &mut World, steps: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    for _ in 0..steps {
        out.extend(w.step(20).iter());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_every_step(sc in scenario()) {
        let mut b = build(&sc);
        for _ in 0..4 {
            b.world.step(20);
            check_invariants(&sc, &b)?;
        }
    }

    /// The recording path's form: `write_values` writes exactly the values the per-entity
    /// iterator yields, and entities of one `shape` yield the same counters and instances.
    #[test]
    fn written_values_are_the_iterators(sc in scenario()) {
        let mut b = build(&sc);
        let mut shapes = std::collections::HashMap::new();
        let mut out = Vec::new();
        for _ in 0..3 {
            let s = b.world.step(20);
            for e in s.entities() {
                s.write_values(e, &mut out);
                let want: Vec<Sample> = s.entity(e).collect();
                prop_assert_eq!(&out, &want.iter().map(|x| x.value).collect::<Vec<_>>());
                let keys: Vec<_> = want.iter().map(|x| (x.counter, x.instance)).collect();
                match s.shape(e) {
                    None => prop_assert!(want.is_empty()),
                    Some(shape) => {
                        let known = shapes.entry(shape).or_insert_with(|| keys.clone());
                        prop_assert_eq!(&*known, &keys);
                    }
                }
            }
        }
    }

    /// A VM said to repeat (`vm_repeats`) writes exactly its values of the step before, so
    /// a caller may keep those instead of deriving them again.
    #[test]
    fn repeating_vms_write_their_previous_values(sc in scenario()) {
        let mut b = build(&sc);
        let mut memo = scheduler_model::RepeatMemo::default();
        let mut previous: std::collections::HashMap<Entity, Vec<i64>> = Default::default();
        let mut out = Vec::new();
        for _ in 0..8 {
            let s = b.world.step(20);
            for e in s.entities() {
                let Entity::Vm(v) = e else { continue };
                s.write_values(e, &mut out);
                if s.vm_repeats(v, &mut memo) {
                    prop_assert_eq!(previous.get(&e), Some(&out));
                }
                previous.insert(e, out.clone());
            }
        }
    }

    #[test]
    fn same_seed_same_samples(sc in scenario()) {
        let a = all_samples(&mut build(&sc).world, 3);
        let b = all_samples(&mut build(&sc).world, 3);
        prop_assert!(!a.is_empty());
        prop_assert_eq!(a, b);
    }
}

/// Which CPU limit a monotonicity case raises: a pool's (index into `Scenario::pools`) or a
/// VM's (index into `Scenario::vms`).
#[derive(Clone, Copy, Debug)]
enum Raise {
    Pool(usize),
    Vm(usize),
}

/// `sc` with the target's CPU limit raised by `by_mhz` (an unlimited target stays unlimited),
/// and the VMs that limit covers: the VM itself, or every VM in the pool's subtree.
fn with_raised_limit(sc: &Scenario, target: Raise, by_mhz: u64) -> (Scenario, Vec<usize>) {
    let mut raised = sc.clone();
    let covered = match target {
        Raise::Pool(p) => {
            let l = &mut raised.pools[p].cpu.limit;
            *l = l.map(|x| x + by_mhz);
            // Pools only name earlier pools as parents, so one pass finds the subtree.
            let mut inside = vec![false; sc.pools.len() + 1];
            inside[p + 1] = true;
            for (i, q) in sc.pools.iter().enumerate() {
                if inside[q.parent] {
                    inside[i + 1] = true;
                }
            }
            (0..sc.vms.len())
                .filter(|&v| inside[sc.vms[v].pool])
                .collect()
        }
        Raise::Vm(v) => {
            let l = &mut raised.vms[v].cpu.limit;
            *l = l.map(|x| x + by_mhz);
            vec![v]
        }
    };
    (raised, covered)
}

/// Whether two builds admitted the same pools and powered on the same VMs. `build` drops what
/// admission refuses, and a higher limit can admit more (MODEL.md §2: RU_P + r ≤ L_P), so the
/// two worlds of a case may hold different inventories; comparing them says nothing about limits.
fn same_inventory(a: &Built, b: &Built) -> bool {
    a.pools
        .iter()
        .map(Option::is_some)
        .eq(b.pools.iter().map(Option::is_some))
        && a.vms
            .iter()
            .map(Option::is_some)
            .eq(b.vms.iter().map(Option::is_some))
}

/// Steps `before` and `after` (built from `sc` and from it with `target`'s limit raised, same
/// inventory) three times and checks, every step, what a raise guarantees: a VM's own raise
/// does not raise its ready time; a pool's raise does not lower the run time of the VMs it
/// covers, summed per host. Slack: 1 ms per vCPU (each vCPU's times are rounded to whole ms).
fn check_limit_raise(
    sc: &Scenario,
    target: Raise,
    covered: &[usize],
    before: &mut Built,
    after: &mut Built,
) -> Result<(), TestCaseError> {
    for step in 0..3 {
        before.world.step(20);
        after.world.step(20);
        let (sa, sb) = (before.world.samples(), after.world.samples());
        // (before, after) ids of the covered VMs that run, with their index in `sc.vms`.
        let running = covered
            .iter()
            .filter_map(|&v| Some((v, before.vms[v]?, after.vms[v]?)));
        match target {
            Raise::Vm(_) => {
                for (v, va, vb) in running {
                    let ra = val(sa, Entity::Vm(va), Counter::CpuReadySummation);
                    let rb = val(sb, Entity::Vm(vb), Counter::CpuReadySummation);
                    prop_assert!(
                        rb <= ra + i64::from(sc.vms[v].vcpus),
                        "step {step}: vm{v}'s own limit rose, its ready rose {ra} -> {rb} ms"
                    );
                }
            }
            Raise::Pool(p) => {
                let mut per_host = vec![(0i64, 0i64, 0i64); sc.hosts.len()];
                for (v, va, vb) in running {
                    let t = &mut per_host[sc.vms[v].host];
                    t.0 += val(sa, Entity::Vm(va), Counter::CpuRunSummation);
                    t.1 += val(sb, Entity::Vm(vb), Counter::CpuRunSummation);
                    t.2 += i64::from(sc.vms[v].vcpus);
                }
                for (h, (run_a, run_b, slack)) in per_host.into_iter().enumerate() {
                    prop_assert!(
                        run_b + slack >= run_a,
                        "step {step}: pool p{p}'s limit rose, its VMs' run on host {h} fell \
                         {run_a} -> {run_b} ms"
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    // Two thirds of the cases draw an unlimited target, whose raise changes nothing, and a case
    // takes well under a millisecond: four times proptest's default count. PROPTEST_CASES
    // still overrides it.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1024),
        ..ProptestConfig::default()
    })]

    /// What a higher CPU limit guarantees (MODEL.md §4), over random inventories:
    /// * a VM's own limit rises: that VM's ready time does not rise;
    /// * a pool's limit rises: on each host, the total run time of the VMs below the pool does
    ///   not fall.
    ///
    /// Per-VM ready under a pool's raise is not an invariant, even of an exact hierarchical
    /// scheduler: the extra allocation is divided among the pool's children by shares, so run
    /// can move between covered VMs (one gains more than another loses, whose ready rises).
    /// On a multi-host cluster the per-host squeeze (`squeeze_hosts`, MODEL.md §3) adds a
    /// second path: it re-divides an over-committed host flatly by VM shares, so the covered
    /// VMs' larger cluster entitlements compete there by their own shares, not by the tree.
    /// Both open counterexamples of the former per-VM property are of this kind (same
    /// inventory, run moved between covered VMs on one host): they are pinned as `#[test]`s
    /// below, and their seeds replay from `tests/proptest-regressions/invariants.txt`. Most
    /// other failures of the former property (6 of 7 in a 40 000-case survey) were the
    /// inventory artefact below.
    ///
    /// Cases where the raise changes what admission accepts (a pool or VM that `build` drops in
    /// one world and keeps in the other) are skipped: different inventories are not comparable.
    #[test]
    fn raising_a_limit_never_lowers_covered_run_per_host(
        sc in scenario(),
        which in any::<prop::sample::Index>(),
        raise in 1u64..4000,
        on_pool in any::<bool>(),
    ) {
        // The strategy (its arguments and their order) is kept as it was when the replayed
        // regression seeds were recorded, so those seeds regenerate the same cases.
        let target = if on_pool && !sc.pools.is_empty() {
            Raise::Pool(which.index(sc.pools.len()))
        } else {
            Raise::Vm(which.index(sc.vms.len()))
        };
        let (raised, covered) = with_raised_limit(&sc, target, raise);
        let mut a = build(&sc);
        let mut b = build(&raised);
        prop_assume!(same_inventory(&a, &b), "the raise changed what admission accepts");
        check_limit_raise(&sc, target, &covered, &mut a, &mut b)?;
    }
}

/// An allocation with no reservation (all the pinned counterexamples have none).
fn unreserved(shares: Shares, limit: Option<u64>, expandable_reservation: bool) -> Allocation {
    Allocation {
        shares,
        reservation: 0,
        limit,
        expandable_reservation,
    }
}

/// Asserts the guarantee of `raising_a_limit_never_lowers_covered_run_per_host` on one pinned
/// case, whose two worlds must hold the same inventory.
fn assert_limit_raise_holds(sc: &Scenario, target: Raise, by_mhz: u64) {
    let (raised, covered) = with_raised_limit(sc, target, by_mhz);
    let (mut a, mut b) = (build(sc), build(&raised));
    assert!(
        same_inventory(&a, &b),
        "the raise changed what admission accepts"
    );
    if let Err(e) = check_limit_raise(sc, target, &covered, &mut a, &mut b) {
        panic!("{e}");
    }
}

/// Open counterexample 1 of the former per-VM property (found 2026-12-06), as proptest shrank
/// it: raising pool p0's limit by 3 706 MHz (`which` = Index(5865861849720528446) picks pool 0
/// of 3) raised vm2's ready from 549 to 1 455 ms per sample. Host 0 is memory over-committed
/// and swaps, but its memory stalls are the same in both worlds: the raise moves run from vm2
/// (two pools further down) to vm0, and p0's run on host 0 rises from 34 632 to 60 000 ms.
#[test]
fn pinned_pool_raise_on_a_swapping_host() {
    use Shares::{Custom, High, Low, Normal};
    let stress = |cpu_workers, vm_bytes_mb, duration_s| Workload::Stress {
        cpu_workers,
        io_workers: 1,
        hdd_workers: 0,
        vm_workers: 1,
        vm_bytes_mb,
        vm_touch_mb_per_s: DEFAULT_STRESS_TOUCH_MB_PER_S,
        duration_s,
    };
    let sc = Scenario {
        seed: 0,
        hosts: vec![
            HostP {
                cores: 3,
                mhz: 1045,
                ht: false,
                memory_mb: 3910,
            },
            HostP {
                cores: 4,
                mhz: 1937,
                ht: false,
                memory_mb: 2048,
            },
        ],
        pools: vec![
            PoolP {
                parent: 0,
                cpu: unreserved(Low, Some(1887), false),
                mem: unreserved(Low, None, false),
            },
            PoolP {
                parent: 1,
                cpu: unreserved(Custom(17_593), None, false),
                mem: unreserved(Low, Some(242), false),
            },
            PoolP {
                parent: 2,
                cpu: unreserved(High, None, false),
                mem: unreserved(High, None, false),
            },
        ],
        vms: vec![
            VmP {
                pool: 1,
                host: 0,
                vcpus: 2,
                memory_mb: 2809,
                cpu: unreserved(Custom(4722), None, false),
                mem: unreserved(Custom(14_891), None, false),
                workload: Workload::Constant {
                    mhz_per_vcpu: 897,
                    active_mb: 3942,
                },
            },
            VmP {
                pool: 2,
                host: 0,
                vcpus: 1,
                memory_mb: 2101,
                cpu: unreserved(High, None, false),
                mem: unreserved(Custom(7340), None, false),
                workload: stress(1, 1379, None),
            },
            VmP {
                pool: 3,
                host: 0,
                vcpus: 3,
                memory_mb: 6442,
                cpu: unreserved(Normal, None, false),
                mem: unreserved(Normal, None, false),
                workload: stress(3, 1161, Some(106)),
            },
            VmP {
                pool: 1,
                host: 1,
                vcpus: 4,
                memory_mb: 311,
                cpu: unreserved(Normal, None, false),
                mem: unreserved(High, Some(716), false),
                workload: Workload::Idle,
            },
        ],
    };
    assert_limit_raise_holds(&sc, Raise::Pool(0), 3706);
}

/// Open counterexample 2 of the former per-VM property (found 2026-12-06), as proptest shrank
/// it: raising pool p1's limit by 808 MHz (`which` = Index(6148914691236517206) picks pool 1
/// of 3) lowered vm2's run from 59 640 to 59 616 ms and raised its ready by 16 ms per sample;
/// nothing swaps. Its sibling vm0 (in p2, below p1) gains 13 269 ms on the same host: p1's
/// run on host 1 rises from 106 356 to 119 601 ms.
#[test]
fn pinned_pool_raise_moving_run_between_covered_vms() {
    use Shares::{Custom, High, Low};
    let host = |cores, mhz, memory_mb| HostP {
        cores,
        mhz,
        ht: false,
        memory_mb,
    };
    let low = unreserved(Low, None, false);
    let vm = |pool, vcpus, cpu, workload| VmP {
        pool,
        host: 1,
        vcpus,
        memory_mb: 256,
        cpu,
        mem: low,
        workload,
    };
    let sc = Scenario {
        seed: 0,
        hosts: vec![
            host(1, 1000, 2048),
            host(6, 1218, 4313),
            host(1, 1000, 2048),
        ],
        pools: vec![
            PoolP {
                parent: 0,
                cpu: low,
                mem: low,
            },
            PoolP {
                parent: 0,
                cpu: unreserved(Low, Some(6477), true),
                mem: low,
            },
            PoolP {
                parent: 2,
                cpu: low,
                mem: low,
            },
        ],
        vms: vec![
            vm(
                3,
                3,
                unreserved(Custom(9256), None, false),
                Workload::Stochastic {
                    mhz_per_vcpu: Dist::Normal {
                        mean: 1236.2902221841803,
                        std_dev: 10.0,
                    },
                    active_mb: Dist::Exponential { rate: 0.01 },
                },
            ),
            vm(0, 2, low, Workload::Idle),
            vm(
                2,
                4,
                unreserved(High, None, false),
                Workload::Constant {
                    mhz_per_vcpu: 908,
                    active_mb: 0,
                },
            ),
        ],
    };
    assert_limit_raise_holds(&sc, Raise::Pool(1), 808);
}
