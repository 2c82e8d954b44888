//! Quick stats fed from one interval's model samples: a VM's and a host's
//! `summary.quickStats` (pools' `runtime` is `pool_runtime`'s). Split from `step` so the
//! interval loop can write them with only the inventory borrowed, while it walks the
//! model's samples.

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

/// Writes the quick stats `samples` (one entity's, one interval) feed into `entity`'s
/// summary. Pools are not written here (their runtime needs the whole pool tree).
pub(super) fn refresh(inv: &mut Inventory, entity: &MoRef, samples: &[CounterSample]) {
    // Aggregate values by counter (a counter's discriminant is its index in
    // `Counter::ALL`): one pass, where looking each field's counter up by name was a
    // string comparison per sample per field.
    let mut totals = [None; Counter::ALL.len()];
    for (c, i, v) in samples {
        if i.is_none() {
            totals[*c as usize] = Some(*v);
        }
    }
    let total = |c: Counter| totals[c as usize];
    match entity.ty.as_ref() {
        "VirtualMachine" => {
            let _ = inv.update_leaf(entity, |o| {
                let Some(qs) = quick_stats_mut(o) else {
                    return;
                };
                for (c, f, div) in VM_QUICK {
                    if let Some(v) = total(*c) {
                        set_if_changed(qs, f, Value::Int(clamp_i32(v / div)));
                    }
                }
                if let Some(c) = total(Counter::MemCompressedAverage) {
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
            let cpu = total(Counter::CpuUsagemhzAverage).unwrap_or(0);
            let mem_mb = total(Counter::MemConsumedAverage).unwrap_or(0) / 1024;
            let _ = inv.update_leaf(entity, |o| {
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
