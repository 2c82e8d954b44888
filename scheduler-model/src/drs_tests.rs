use super::*;
use crate::alloc::Allocation;
use crate::spec::HostSpec;
use crate::workload::Workload;

fn host(i: u32) -> DrsHost {
    DrsHost {
        id: HostId(i),
        cpu_capacity_mhz: 10_000,
        mem_capacity_mb: 10_000,
        admits: true,
        cpu_unreserved_mhz: 10_000,
        mem_unreserved_mb: 10_000,
        logical_cpus: 8,
    }
}

fn vm(i: u32, host: u32, cpu: f64) -> DrsVm {
    DrsVm {
        id: VmId(i),
        host: HostId(host),
        cpu_mhz: cpu,
        mem_mb: 100.0,
        cpu_reservation_mhz: 0,
        mem_reservation_mb: 0,
        vcpus: 1,
        powered_on: true,
        movable: true,
    }
}

/// Three hosts, nine 1 000 MHz VMs all on the first.
fn loaded() -> DrsCluster {
    DrsCluster {
        hosts: (0..3).map(host).collect(),
        vms: (0..9).map(|i| vm(i, 0, 1000.0)).collect(),
    }
}

fn apply(c: &mut DrsCluster, moves: &[DrsMove]) {
    for m in moves {
        let v = c.vms.iter_mut().find(|v| v.id == m.vm).unwrap();
        assert_eq!(v.host, m.from);
        v.host = m.to;
    }
}

#[test]
fn imbalance_is_the_deviation_of_normalized_entitlements() {
    // CPU loads 0.9, 0, 0: σ = 0.9 × √2 / 3.
    let c = loaded();
    let want = 0.9 * 2f64.sqrt() / 3.0;
    assert!((imbalance(&c) - want).abs() < 1e-9, "{}", imbalance(&c));
    // Powered-off VMs and hosts that take no VMs do not count.
    let mut c2 = c.clone();
    c2.vms[0].powered_on = false;
    c2.hosts[2].admits = false;
    let want2 = (0.8f64 / 2.0).abs();
    assert!((imbalance(&c2) - want2).abs() < 1e-9, "{}", imbalance(&c2));
    let even = DrsCluster {
        hosts: (0..3).map(host).collect(),
        vms: (0..9).map(|i| vm(i, i % 3, 1000.0)).collect(),
    };
    assert!(imbalance(&even) < 1e-9);
}

#[test]
fn thresholds_follow_the_kb_priority_formula() {
    // vmotionRate 3 (the default) on 4 hosts: moves rated ≥ 3, i.e. imbalance > 0.2 / 2.
    assert_eq!(target_imbalance(3, 4), Some(0.1));
    assert_eq!(target_imbalance(1, 4), Some(0.0));
    assert_eq!(target_imbalance(5, 4), None);
    assert_eq!(move_rating(0.1, 4), 2);
    assert_eq!(move_rating(0.1001, 4), 3);
    assert_eq!(move_rating(5.0, 4), 4);
    assert_eq!(move_rating(0.0, 4), 1);
    assert_eq!(migration_level(3), 3);
    assert_eq!(migration_level(1), 5);
    assert_eq!(migration_level(5), 1);
}

#[test]
fn greedy_balancing_spreads_the_load_and_stops_at_the_target() {
    let mut c = loaded();
    let b = balance(&c, &DrsRules::default(), 3);
    assert!(b.imbalance_before > 0.4);
    // Target 0.2 / √3 ≈ 0.115: loads 0.4 / 0.3 / 0.2 (σ ≈ 0.082) are enough.
    assert_eq!(b.moves.len(), 5, "{:?}", b.moves);
    assert!(b.imbalance_after <= b.target.unwrap());
    // Each move lowers the imbalance; the first ones are rated highest.
    for m in &b.moves {
        assert!(m.imbalance_after < m.imbalance_before);
        assert!(!m.mandatory);
        assert!((1..=4).contains(&m.rating));
    }
    assert!(b.moves[0].rating > b.moves[4].rating);
    apply(&mut c, &b.moves);
    assert!((imbalance(&c) - b.imbalance_after).abs() < 1e-9);
    let per_host: Vec<usize> = (0..3)
        .map(|h| c.vms.iter().filter(|v| v.host == HostId(h)).count())
        .collect();
    assert_eq!(per_host, vec![4, 3, 2]);
    assert!(balance(&c, &DrsRules::default(), 3).moves.is_empty());
    // The most aggressive threshold evens it out; then nothing is left to gain.
    let b = balance(&c, &DrsRules::default(), 1);
    assert_eq!(b.moves.len(), 1);
    apply(&mut c, &b.moves);
    assert!(imbalance(&c) < 1e-9);
    assert!(balance(&c, &DrsRules::default(), 1).moves.is_empty());
}

#[test]
fn the_most_conservative_threshold_makes_no_balancing_move() {
    let b = balance(&loaded(), &DrsRules::default(), 5);
    assert!(b.moves.is_empty());
    assert_eq!(b.target, None);
    // A less aggressive threshold tolerates more imbalance: fewer moves.
    let mut c = loaded();
    c.vms.truncate(3);
    let aggressive = balance(&c, &DrsRules::default(), 1).moves.len();
    let conservative = balance(&c, &DrsRules::default(), 4).moves.len();
    assert_eq!(aggressive, 2);
    assert!(conservative <= aggressive);
}

#[test]
fn balancing_respects_admission_and_unavailable_hosts() {
    let mut c = loaded();
    c.hosts[1].admits = false;
    c.hosts[2].cpu_unreserved_mhz = 1500;
    for v in &mut c.vms {
        v.cpu_reservation_mhz = 1000;
    }
    let b = balance(&c, &DrsRules::default(), 1);
    assert_eq!(
        b.moves.len(),
        1,
        "only one 1 000 MHz reservation fits host 2"
    );
    assert!(b.moves.iter().all(|m| m.to == HostId(2)));
    // Unmovable VMs stay; VMs on an unavailable host stay.
    let mut c = loaded();
    for v in &mut c.vms {
        v.movable = false;
    }
    assert!(balance(&c, &DrsRules::default(), 1).moves.is_empty());
    let mut c = loaded();
    c.hosts[0].admits = false;
    assert!(balance(&c, &DrsRules::default(), 1).moves.is_empty());
    // More vCPUs than the target's logical CPUs.
    let mut c = loaded();
    for v in &mut c.vms {
        v.vcpus = 16;
    }
    assert!(balance(&c, &DrsRules::default(), 1).moves.is_empty());
}

#[test]
fn balancing_is_deterministic_and_bounded() {
    let c = DrsCluster {
        hosts: (0..50).map(host).collect(),
        vms: (0..2000)
            .map(|i| vm(i, 0, 10.0 + f64::from(i % 7)))
            .collect(),
    };
    let a = balance(&c, &DrsRules::default(), 1);
    let b = balance(&c, &DrsRules::default(), 1);
    assert_eq!(a, b);
    assert_eq!(a.moves.len(), MAX_MOVES_PER_PASS);
    // Ties go to the lowest VM id: the first move takes one of the largest VMs (16 MHz) with
    // the lowest id, to the first empty host.
    assert_eq!(a.moves[0].vm, VmId(6));
    assert_eq!(a.moves[0].to, HostId(1));
}

#[test]
fn rules_constrain_and_violations_move_first() {
    // Anti-affinity: VMs 0 and 1 may not share a host; they do, so one moves (rating 5),
    // even at the most conservative threshold.
    let c = loaded();
    let rules = DrsRules {
        apart: vec![vec![VmId(0), VmId(1)]],
        ..DrsRules::default()
    };
    let b = balance(&c, &rules, 5);
    assert_eq!(b.moves.len(), 1);
    assert!(b.moves[0].mandatory);
    assert_eq!(b.moves[0].rating, MANDATORY_RATING);
    assert_eq!(b.moves[0].vm, VmId(0));
    // VM-Host: VMs 0–8 must stay on hosts 0 and 1: nothing lands on host 2.
    let rules = DrsRules {
        vm_host: vec![VmHostRule {
            vms: (0..9).map(VmId).collect(),
            hosts: vec![HostId(0), HostId(1)],
            affine: true,
        }],
        ..DrsRules::default()
    };
    let b = balance(&c, &rules, 1);
    assert!(!b.moves.is_empty());
    assert!(b.moves.iter().all(|m| m.to == HostId(1)));
    // Affinity: VMs 0 and 1 stay together (neither moves away alone); a member elsewhere
    // joins them.
    let mut c = loaded();
    c.vms[1].host = HostId(2);
    let rules = DrsRules {
        together: vec![vec![VmId(0), VmId(1), VmId(2)]],
        ..DrsRules::default()
    };
    let b = balance(&c, &rules, 1);
    assert_eq!(b.moves[0].vm, VmId(1));
    assert!(b.moves[0].mandatory);
    assert_eq!(b.moves[0].to, HostId(0));
    assert!(b.moves[1..].iter().all(|m| m.vm.0 > 2), "{:?}", b.moves);
}

#[test]
fn placement_picks_the_least_loaded_host_then_fewest_vms() {
    let mut c = loaded();
    c.vms.push(vm(9, 1, 2000.0));
    let new = vm(99, 0, 500.0);
    let ranked = place(&c, &DrsRules::default(), &new);
    assert_eq!(ranked[0].0, HostId(2));
    assert_eq!(ranked[1].0, HostId(1));
    assert_eq!(ranked[2].0, HostId(0));
    // Equal loads: fewest VMs, then inventory order.
    let c = DrsCluster {
        hosts: (0..3).map(host).collect(),
        vms: vec![vm(0, 0, 0.0), vm(1, 0, 0.0), vm(2, 2, 0.0)],
    };
    let ranked = place(&c, &DrsRules::default(), &vm(9, 0, 0.0));
    let order: Vec<HostId> = ranked.iter().map(|r| r.0).collect();
    assert_eq!(order, vec![HostId(1), HostId(2), HostId(0)]);
    // Hosts that take no VM are not offered; hosts without room for the reservation last.
    let mut c = loaded();
    c.hosts[1].admits = false;
    c.hosts[2].cpu_unreserved_mhz = 0;
    let mut big = vm(99, 0, 500.0);
    big.cpu_reservation_mhz = 1000;
    let order: Vec<HostId> = place(&c, &DrsRules::default(), &big)
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(order, vec![HostId(0), HostId(2)]);
}

fn world_host(name: &str) -> HostSpec {
    HostSpec {
        name: name.into(),
        cores: 4,
        mhz_per_core: 2000,
        hyperthreading: false,
        memory_mb: 16_384,
    }
}

#[test]
fn the_world_snapshot_uses_last_step_entitlements() {
    let mut w = World::new(3);
    let hs = [
        w.add_host(world_host("a")),
        w.add_host(world_host("b")),
        w.add_host(world_host("c")),
    ];
    let root = w.add_root_pool("Resources", &hs).unwrap();
    let spec = |n: &str| VmSpec {
        name: n.into(),
        vcpus: 1,
        memory_mb: 1024,
        cpu: Allocation::vm_default(),
        memory: Allocation::vm_default(),
    };
    let mut vms = Vec::new();
    for i in 0..4 {
        let v = w.add_vm(root, hs[0], spec(&format!("v{i}"))).unwrap();
        w.power_on(v).unwrap();
        w.set_workload(v, Workload::stress_cpu(1, None)).unwrap();
        vms.push(v);
    }
    let off = w.add_vm(root, hs[1], spec("off")).unwrap();
    // Before a step: static entitlements (1 vCPU × 2 000 MHz).
    let c = w.drs_cluster(root);
    assert_eq!(c.hosts.len(), 3);
    assert_eq!(c.vms.len(), 5);
    assert!(c.vms.iter().all(|v| v.cpu_mhz == 2000.0));
    w.step(20);
    let c = w.drs_cluster(root);
    let busy = c.vms.iter().find(|v| v.id == vms[0]).unwrap();
    assert!(busy.cpu_mhz > 1500.0, "{}", busy.cpu_mhz);
    assert!(!c.vms.iter().find(|v| v.id == off).unwrap().powered_on);
    // The whole load on one host: balancing moves VMs to the other two, and the model
    // accepts every move.
    let b = balance(&c, &DrsRules::default(), 3);
    assert!(b.moves.len() >= 2, "{b:?}");
    for m in &b.moves {
        w.migrate_vm(m.vm, m.to).unwrap();
    }
    w.step(20);
    assert!(imbalance(&w.drs_cluster(root)) < b.imbalance_before);
    let c = w.drs_cluster(root);
    assert!(c.hosts.iter().all(|h| h.admits));
    let new = w.drs_new_vm(root, &spec("n"));
    assert_eq!(new.cpu_mhz, 2000.0);
    let first = place(&c, &DrsRules::default(), &new)[0].0;
    let empty: Vec<VmId> = w.vms_on_host(first, false);
    assert!(empty.len() <= 2);
}
