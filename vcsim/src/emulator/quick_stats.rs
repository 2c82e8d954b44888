//! Quick stats fed from one interval's model samples: a VM's and a host's
//! `summary.quickStats` (pools' `runtime` is `pool_runtime`'s). Split from `step` so the
//! interval loop can write them with only the inventory borrowed, while it walks the
//! model's samples. An entity whose totals repeat the last interval's (nearly every one in
//! a steady estate) is stamped as changed without its property tree being walked again
//! ([`Inventory::update_leaf_from`]); a VM whose samples repeat and whose object nothing
//! else changed is not even visited (`step::VmRepeats`).

use crate::inventory::Inventory;
use crate::vmodl::{DataObject, MoRef, Value};
use scheduler_model::Counter;

/// Quick-stat fields fed from model counters: (counter, VirtualMachineQuickStats field, divisor
/// turning the counter's unit into the field's).
const VM_QUICK: &[(Counter, &str, i64)] = &[
    (Counter::CpuUsagemhzAverage, "overallCpuUsage", 1),
    (Counter::CpuDemandAverage, "overallCpuDemand", 1),
    (
        Counter::CpuEntitlementLatest,
        "distributedCpuEntitlement",
        1,
    ),
    (Counter::MemActiveAverage, "guestMemoryUsage", 1024),
    (Counter::MemConsumedAverage, "hostMemoryUsage", 1024),
    (
        Counter::MemEntitlementAverage,
        "distributedMemoryEntitlement",
        1024,
    ),
    (Counter::MemSharedAverage, "sharedMemory", 1024),
    (Counter::MemSwappedAverage, "swappedMemory", 1024),
    (Counter::MemVmmemctlAverage, "balloonedMemory", 1024),
    (Counter::MemOverheadAverage, "consumedOverheadMemory", 1024),
];

/// One model sample: counter, vCPU instance (None: the aggregate), value.
pub(super) type CounterSample = (Counter, Option<u16>, i64);

/// One entity's aggregate values of an interval by counter (a counter's discriminant is its
/// index in `Counter::ALL`): what quick stats read, where looking each field's counter up by
/// name was a string comparison per sample per field.
pub(super) type Totals = [Option<i64>; Counter::ALL.len()];

/// The aggregate (instance-less) values of `samples`.
pub(super) fn totals(samples: impl IntoIterator<Item = CounterSample>) -> Totals {
    let mut totals = [None; Counter::ALL.len()];
    for (c, i, v) in samples {
        if i.is_none() {
            totals[c as usize] = Some(v);
        }
    }
    totals
}

/// The name [`refresh`]'s updates go by (see [`Inventory::update_leaf_from`]).
pub(super) const REFRESH: &str = "quick_stats::refresh";

/// Writes the quick stats an entity's aggregate values of one interval feed into its
/// summary. Pools are not written here (their runtime needs the whole pool tree).
pub(super) fn refresh(inv: &mut Inventory, entity: &MoRef, totals: &Totals) {
    let total = |c: Counter| totals[c as usize];
    // The fields written below depend on these totals alone (the heartbeat is constant),
    // so the inventory skips the write when an entity's totals repeat (nearly all of a
    // steady estate's, interval after interval), still stamping and logging it as changed.
    match entity.ty.as_ref() {
        "VirtualMachine" => {
            let mut inputs = [None; VM_QUICK.len() + 1];
            for ((c, _, _), slot) in VM_QUICK.iter().zip(&mut inputs) {
                *slot = total(*c);
            }
            inputs[VM_QUICK.len()] = total(Counter::MemCompressedAverage);
            let _ = inv.update_leaf_from(entity, REFRESH, &inputs, |o| {
                let Some(qs) = quick_stats_mut(o) else {
                    return;
                };
                for ((_, f, div), v) in VM_QUICK.iter().zip(&inputs) {
                    if let Some(v) = v {
                        set_if_changed(qs, f, Value::Int(clamp_i32(v / div)));
                    }
                }
                if let Some(c) = inputs[VM_QUICK.len()] {
                    set_if_changed(qs, "compressedMemory", Value::Long(c));
                }
                set_if_changed(
                    qs,
                    "guestHeartbeatStatus",
                    Value::enumv("ManagedEntityStatus", "green"),
                );
            });
        }
        "HostSystem" => {
            let inputs = [
                total(Counter::CpuUsagemhzAverage),
                total(Counter::MemConsumedAverage),
            ];
            let cpu = inputs[0].unwrap_or(0);
            let mem_mb = inputs[1].unwrap_or(0) / 1024;
            let _ = inv.update_leaf_from(entity, REFRESH, &inputs, |o| {
                if let Some(qs) = quick_stats_mut(o) {
                    set_if_changed(qs, "overallCpuUsage", Value::Int(clamp_i32(cpu)));
                    set_if_changed(qs, "overallMemoryUsage", Value::Int(clamp_i32(mem_mb)));
                }
            });
        }
        // Pools: every field of their runtime, after the loop (`refresh_pool_runtimes`).
        _ => {}
    }
}

fn quick_stats_mut(o: &mut crate::inventory::ManagedObject) -> Option<&mut DataObject> {
    o.props
        .get_mut("summary")
        .and_then(Value::as_data_mut)
        .and_then(|s| s.get_mut("quickStats"))
        .and_then(Value::as_data_mut)
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(0, i64::from(i32::MAX)) as i32
}

/// [`DataObject::set`] that leaves an equal value in place: most quick stats of a steady VM
/// repeat from one interval to the next, and the result is the same either way.
fn set_if_changed(qs: &mut DataObject, field: &str, v: Value) {
    match qs.get_mut(field) {
        Some(slot) if *slot == v => {}
        Some(slot) => *slot = v,
        None => qs.set(field, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{ManagedObject, vm_quick_stats_idle};

    fn vm_with(quick: Value) -> (Inventory, MoRef) {
        let mut inv = Inventory::new(1);
        let vm = MoRef::new("VirtualMachine", "vm-1");
        let summary = DataObject::new("VirtualMachineSummary")
            .with("vm", Value::moref(&vm))
            .with("quickStats", quick);
        inv.insert(ManagedObject::new(vm.clone()).with("summary", summary.into_value()));
        (inv, vm)
    }

    fn quick(inv: &Inventory, vm: &MoRef) -> DataObject {
        let summary = inv.prop(vm, "summary").expect("summary");
        summary
            .field("quickStats")
            .and_then(Value::as_data)
            .cloned()
            .expect("quick stats")
    }

    fn samples(cpu_mhz: i64, consumed_kb: i64) -> Vec<CounterSample> {
        vec![
            (Counter::CpuUsagemhzAverage, Some(0), 1),
            (Counter::CpuUsagemhzAverage, None, cpu_mhz),
            (Counter::MemConsumedAverage, None, consumed_kb),
            (Counter::MemCompressedAverage, None, 3),
        ]
    }

    #[test]
    fn totals_feed_the_fields_and_instances_do_not() {
        let (mut inv, vm) = vm_with(vm_quick_stats_idle());
        refresh(&mut inv, &vm, &totals(samples(500, 4096)));
        let q = quick(&inv, &vm);
        let field = |n: &str| q.get(n).cloned();
        assert_eq!(field("overallCpuUsage"), Some(Value::Int(500)));
        assert_eq!(field("hostMemoryUsage"), Some(Value::Int(4)));
        assert_eq!(field("compressedMemory"), Some(Value::Long(3)));
        assert_eq!(field("overallCpuDemand"), Some(Value::Int(0)));
        assert_eq!(
            field("guestHeartbeatStatus")
                .as_ref()
                .and_then(Value::as_str),
            Some("green")
        );
    }

    /// Repeated samples skip the write (see `Inventory::update_leaf_from`): the object must
    /// come out as when every write runs, which a plain leaf update before each refresh
    /// forces, with one version and one change-log entry per refresh either way.
    #[test]
    fn a_skipped_refresh_leaves_what_a_written_one_does() {
        let (mut skipping, vm) = vm_with(vm_quick_stats_idle());
        let (mut writing, _) = vm_with(vm_quick_stats_idle());
        let steps = [
            (500, 4096),
            (500, 4096),
            (700, 4096),
            (700, 4096),
            (500, 4096),
        ];
        for (i, (cpu, mem)) in steps.into_iter().enumerate() {
            if i == 3 {
                // Something else writes the quick stats in between (a power-off).
                for inv in [&mut skipping, &mut writing] {
                    inv.update_leaf(&vm, |o| {
                        let s = o.props.get_mut("summary").and_then(Value::as_data_mut);
                        s.expect("summary").set("quickStats", vm_quick_stats_idle());
                    })
                    .expect("vm");
                }
            }
            writing.update_leaf(&vm, |_| ()).expect("vm");
            let before = skipping.version();
            refresh(&mut skipping, &vm, &totals(samples(cpu, mem)));
            refresh(&mut writing, &vm, &totals(samples(cpu, mem)));
            assert_eq!(quick(&skipping, &vm), quick(&writing, &vm), "step {i}");
            assert_eq!(skipping.version(), before + 1);
            assert_eq!(skipping.changed_since(before).collect::<Vec<_>>(), ["vm-1"]);
        }
    }

    /// Quick stats built in another order and with a field missing are written all the
    /// same.
    #[test]
    fn fields_out_of_the_usual_order_are_found() {
        let mut reversed = vm_quick_stats_idle().as_data().cloned().expect("data");
        reversed.fields.reverse();
        reversed.fields.retain(|(n, _)| n != "compressedMemory");
        let (mut odd, vm) = vm_with(reversed.into_value());
        refresh(&mut odd, &vm, &totals(samples(900, 2048)));
        let q = quick(&odd, &vm);
        assert_eq!(q.get("overallCpuUsage"), Some(&Value::Int(900)));
        assert_eq!(q.get("hostMemoryUsage"), Some(&Value::Int(2)));
        // An absent field is appended, as `DataObject::set` does.
        assert_eq!(
            q.fields.last().map(|(n, _)| n.as_ref()),
            Some("compressedMemory")
        );
        let (mut usual, vm) = vm_with(vm_quick_stats_idle());
        refresh(&mut usual, &vm, &totals(samples(900, 2048)));
        assert_eq!(
            quick(&usual, &vm).get("overallCpuUsage"),
            Some(&Value::Int(900))
        );
    }

    #[test]
    fn hosts_get_cpu_and_memory() {
        let mut inv = Inventory::new(1);
        let host = MoRef::new("HostSystem", "host-1");
        let quick = DataObject::new("HostListSummaryQuickStats")
            .with("overallCpuUsage", Value::Int(0))
            .with("overallMemoryUsage", Value::Int(0));
        let summary = DataObject::new("HostListSummary").with("quickStats", quick.into());
        inv.insert(ManagedObject::new(host.clone()).with("summary", summary.into()));
        for _ in 0..2 {
            refresh(&mut inv, &host, &totals(samples(1200, 8192)));
            let q = inv
                .prop(&host, "summary")
                .and_then(|s| s.field("quickStats"));
            assert_eq!(
                q.and_then(|q| q.field("overallCpuUsage")),
                Some(&Value::Int(1200))
            );
            assert_eq!(
                q.and_then(|q| q.field("overallMemoryUsage")),
                Some(&Value::Int(8))
            );
        }
    }
}
