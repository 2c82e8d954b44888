//! Repeats change nothing a client can read: an emulator that repeats steady VMs' rows and
//! quick stats (`VmRepeats`) and one that derives and records every VM's values each
//! interval hold the same samples, history and quick stats, through workload changes, a
//! power cycle and a foreign write to a VM's quick stats.

use super::*;
use crate::config::{Config, ModelCounts};
use crate::perf::{Resolution, Window};
use crate::vmodl::Value;
use scheduler_model::Workload;

fn estate() -> Emulator {
    let config = Config {
        counts: ModelCounts {
            datacenters: 1,
            clusters: 1,
            hosts_per_cluster: 2,
            vms_per_host: 4,
            standalone_hosts: 0,
        },
        ..Config::default()
    };
    let mut emu = Emulator::new(config).expect("inventory");
    emu.prefill_history(600);
    emu
}

fn vms(emu: &Emulator) -> Vec<MoRef> {
    emu.ids
        .vms
        .keys()
        .map(|v| MoRef::new("VirtualMachine", v.clone()))
        .collect()
}

fn quick_stats(emu: &Emulator, vm: &MoRef) -> Option<Value> {
    emu.inv
        .get(vm)
        .ok()?
        .get("summary")?
        .field("quickStats")
        .cloned()
}

/// Every read of every entity agrees between `a` and `b`.
fn agree(a: &Emulator, b: &Emulator, when: &str) {
    let entities: Vec<MoRef> = b.perf.entities().cloned().collect();
    assert_eq!(a.perf.entities().count(), entities.len(), "{when}");
    for e in &entities {
        let ids = b.perf.series_ids(e);
        assert_eq!(a.perf.series_ids(e), ids, "{when} {e:?}");
        let newest = Window {
            max_samples: Some(4),
            ..Window::default()
        };
        for resolution in [
            Resolution::Realtime,
            Resolution::Historical(0),
            Resolution::Historical(1),
            Resolution::Historical(2),
        ] {
            for window in [Window::default(), newest] {
                assert_eq!(
                    a.perf.query_at(resolution, e, &ids, &window),
                    b.perf.query_at(resolution, e, &ids, &window),
                    "{when} {e:?} {resolution:?}"
                );
            }
        }
        for (key, instance) in &ids {
            assert_eq!(
                a.perf.latest(e, *key, instance),
                b.perf.latest(e, *key, instance),
                "{when} {e:?} {key}"
            );
        }
    }
    for vm in vms(b) {
        assert_eq!(quick_stats(a, &vm), quick_stats(b, &vm), "{when} {vm:?}");
    }
}

#[test]
fn repeats_read_as_recording_every_value() {
    let mut a = estate();
    let mut b = estate();
    b.vm_repeats.off = true;
    let vms = vms(&a);
    let (busy, cycled, overwritten) = (&vms[0], &vms[1], &vms[2]);
    // Then steady for more than an hour: the steady VMs' written rows are cut.
    for i in 1..=300 {
        for emu in [&mut a, &mut b] {
            match i {
                20 => {
                    let id = emu.ids.vms[&busy.value];
                    let w = Workload::Constant {
                        mhz_per_vcpu: 900,
                        active_mb: 300,
                    };
                    emu.world.set_workload(id, w).expect("a model VM");
                }
                33 => emu.power_off_vm("test", cycled).expect("on"),
                47 => emu.power_on_vm("test", cycled).expect("off"),
                61 => {
                    // Another writer sets a quick stat wrong: the next interval puts it right.
                    emu.inv
                        .update_leaf(overwritten, |o| {
                            if let Some(q) = o
                                .props
                                .get_mut("summary")
                                .and_then(Value::as_data_mut)
                                .and_then(|s| s.get_mut("quickStats"))
                                .and_then(Value::as_data_mut)
                            {
                                q.set("overallCpuUsage", Value::Int(-1));
                            }
                        })
                        .expect("a VM");
                }
                _ => {}
            }
            emu.advance(20_000);
        }
        if (i <= 100 && i % 3 == 0) || (59..=63).contains(&i) || i % 25 == 0 {
            agree(&a, &b, &format!("interval {i}"));
        }
    }
    // A steady VM's realtime hour is one row and a count, not 180 rows.
    let steady = &vms[3];
    assert!(
        a.perf.realtime_heap_bytes(steady) * 4 < b.perf.realtime_heap_bytes(steady),
        "{} against {}",
        a.perf.realtime_heap_bytes(steady),
        b.perf.realtime_heap_bytes(steady)
    );
    // The repeats were taken: `a` stamped far fewer changes than `b`.
    assert!(
        a.inv.version() + 100 * 4 < b.inv.version(),
        "{} against {}",
        a.inv.version(),
        b.inv.version()
    );
}
