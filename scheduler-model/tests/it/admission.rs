//! Admission control on reservations and inventory errors.

use scheduler_model::*;

fn host(w: &mut World) -> (HostId, PoolId) {
    let h = w.add_host(HostSpec {
        name: "esx".into(),
        cores: 4,
        mhz_per_core: 2000,
        hyperthreading: false,
        memory_mb: 16_384,
    });
    let root = w.add_root_pool("esx", &[h]).unwrap();
    (h, root)
}

fn pool(cpu_res: u64, expandable: bool, limit: Option<u64>) -> PoolSpec {
    PoolSpec {
        name: "p".into(),
        cpu: Allocation {
            reservation: cpu_res,
            limit,
            expandable_reservation: expandable,
            ..Allocation::pool_default()
        },
        memory: Allocation::pool_default(),
    }
}

fn vm(vcpus: u32, cpu_res: u64, mem_res: u64) -> VmSpec {
    VmSpec {
        name: "vm".into(),
        vcpus,
        memory_mb: 4096,
        cpu: Allocation {
            reservation: cpu_res,
            ..Allocation::vm_default()
        },
        memory: Allocation {
            reservation: mem_res,
            ..Allocation::vm_default()
        },
    }
}

fn admission(e: ModelError) -> AdmissionError {
    match e {
        ModelError::Admission(a) => a,
        other => panic!("expected an admission error, got {other:?}"),
    }
}

#[test]
fn fixed_pool_admits_up_to_its_reservation() {
    let mut w = World::new(1);
    let (h, root) = host(&mut w);
    let p = w.add_pool(root, pool(1000, false, None)).unwrap();
    let a = w.add_vm(p, h, vm(1, 800, 0)).unwrap();
    let b = w.add_vm(p, h, vm(1, 800, 0)).unwrap();
    w.power_on(a).unwrap();
    let e = admission(w.power_on(b).unwrap_err());
    assert_eq!(e.kind, AdmissionKind::InsufficientResources);
    assert_eq!(e.resource, Resource::Cpu);
    assert_eq!((e.requested, e.available), (800, 200));
    assert!(
        e.reason.contains("insufficient CPU resources"),
        "{}",
        e.reason
    );
    assert!(!w.is_powered_on(b).unwrap());
    w.power_off(a).unwrap();
    w.power_on(b).unwrap();
}

#[test]
fn expandable_pool_borrows_from_ancestors_up_to_the_root() {
    let mut w = World::new(1);
    let (h, root) = host(&mut w);
    let p = w.add_pool(root, pool(0, true, None)).unwrap();
    let a = w.add_vm(p, h, vm(1, 6000, 0)).unwrap();
    w.power_on(a).unwrap();
    assert_eq!(w.pool_usage(root).unwrap().cpu.reservation_used, 6000);
    let b = w.add_vm(p, h, vm(1, 3000, 0)).unwrap();
    let e = admission(w.power_on(b).unwrap_err());
    assert_eq!(e.available, 2000);
    // a fixed pool with no reservation cannot take any
    let q = w.add_pool(root, pool(0, false, None)).unwrap();
    let c = w.add_vm(q, h, vm(1, 1, 0)).unwrap();
    assert!(w.power_on(c).is_err());
}

#[test]
fn reservations_respect_pool_limits_and_vcpus_the_host() {
    let mut w = World::new(1);
    let (h, root) = host(&mut w);
    let p = w.add_pool(root, pool(0, true, Some(500))).unwrap();
    let a = w.add_vm(p, h, vm(1, 600, 0)).unwrap();
    assert_eq!(
        admission(w.power_on(a).unwrap_err()).kind,
        AdmissionKind::LimitExceeded
    );
    let big = w.add_vm(p, h, vm(8, 0, 0)).unwrap();
    let e = admission(w.power_on(big).unwrap_err());
    assert_eq!(e.kind, AdmissionKind::NotEnoughCpus);
    assert_eq!(e.at, Entity::Host(h));
    // The seed: a 4 GB VM without reservations powers on in a 500 MHz / 500 MB pool, no warning.
    let c = w.add_vm(p, h, vm(2, 0, 0)).unwrap();
    w.power_on(c).unwrap();
}

#[test]
fn pool_updates_and_removal_are_checked() {
    let mut w = World::new(1);
    let (h, root) = host(&mut w);
    let p = w.add_pool(root, pool(1000, false, None)).unwrap();
    let a = w.add_vm(p, h, vm(1, 800, 512)).unwrap();
    w.power_on(a).unwrap();
    let cpu = |r, lim| Allocation {
        reservation: r,
        limit: lim,
        expandable_reservation: false,
        ..Allocation::pool_default()
    };
    assert!(
        w.update_pool(p, cpu(500, None), Allocation::pool_default())
            .is_err()
    );
    assert!(
        w.update_pool(p, cpu(1000, Some(700)), Allocation::pool_default())
            .is_err()
    );
    w.update_pool(p, cpu(900, None), Allocation::pool_default())
        .unwrap();
    assert!(matches!(
        w.update_pool(p, cpu(20_000, None), Allocation::pool_default()),
        Err(ModelError::Admission(_))
    ));
    assert!(matches!(
        w.update_pool(root, cpu(1, None), Allocation::pool_default()),
        Err(ModelError::RootPool(_))
    ));
    assert_eq!(w.remove_pool(p), Err(ModelError::PoolNotEmpty(p)));
    assert!(matches!(
        w.remove_vm(a),
        Err(ModelError::InvalidPowerState { .. })
    ));
    w.power_off(a).unwrap();
    w.remove_vm(a).unwrap();
    w.remove_pool(p).unwrap();
    assert_eq!(w.pool_usage(root).unwrap().cpu.reservation_used, 0);
    assert_eq!(w.power_on(a), Err(ModelError::UnknownVm(a)));
}

#[test]
fn invalid_specs_are_errors_not_panics() {
    let mut w = World::new(1);
    let (h, root) = host(&mut w);
    let bad = VmSpec {
        vcpus: 0,
        ..vm(1, 0, 0)
    };
    assert!(matches!(
        w.add_vm(root, h, bad),
        Err(ModelError::InvalidSpec(_))
    ));
    let bad = VmSpec {
        cpu: Allocation {
            reservation: 10,
            limit: Some(5),
            ..Allocation::vm_default()
        },
        ..vm(1, 0, 0)
    };
    assert!(w.add_vm(root, h, bad).is_err());
    assert!(w.add_vm(root, h, vm(1, 0, 5000)).is_err()); // reservation > configured memory
    assert!(w.add_root_pool("again", &[h]).is_err());
    assert!(w.add_root_pool("none", &[]).is_err());
    assert!(w.add_root_pool("ghost", &[HostId(9)]).is_err());
    let other = w.add_host(HostSpec {
        name: "other".into(),
        cores: 1,
        mhz_per_core: 1000,
        hyperthreading: false,
        memory_mb: 1024,
    });
    assert!(matches!(
        w.add_vm(root, other, vm(1, 0, 0)),
        Err(ModelError::HostNotInCluster { .. })
    ));
    assert!(
        w.try_add_host(HostSpec {
            name: "zero".into(),
            cores: 0,
            mhz_per_core: 1,
            hyperthreading: false,
            memory_mb: 1,
        })
        .is_err()
    );
    let bad_trace = Workload::Trace {
        interval_s: 0,
        samples: vec![],
        repeat: false,
    };
    let v = w.add_vm(root, h, vm(1, 0, 0)).unwrap();
    assert!(w.set_workload(v, bad_trace).is_err());
    w.power_on(v).unwrap();
    assert!(matches!(
        w.reconfigure_vm(v, vm(2, 0, 0)),
        Err(ModelError::InvalidPowerState { .. })
    ));
    w.reconfigure_vm(v, vm(1, 100, 0)).unwrap();
    assert_eq!(w.host_usage(h).unwrap().cpu_reserved_mhz, 100);
}
