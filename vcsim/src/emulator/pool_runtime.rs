//! `ResourcePool.runtime` (and `summary.runtime`, `summary.quickStats`) mirrored from the
//! contention model, as vCenter shows them: reservation state whenever an allocation changes
//! (a VM powered on or off, created, reconfigured or moved; a pool created, updated, moved or
//! destroyed), usage after every model step.
//!
//! Fields as the vSphere API reference defines `ResourcePoolResourceUsage` (CPU in MHz,
//! memory in bytes):
//! * `reservationUsed`: reservation held by the pool's children (VMs and pools; a pool with
//!   an expandable reservation counts what it borrowed);
//! * `reservationUsedForVm`: the part held by powered-on VMs;
//! * `unreservedForPool` / `unreservedForVm`: what a new child pool / VM could still reserve
//!   (through expandable parents);
//! * `overallUsage`: what the pool's VMs use now (memory: consumed with overhead);
//! * `maxUsage`: the pool's limit, or its root's capacity when unlimited.

use super::Emulator;
use crate::vmodl::{DataObject, MoRef, Value};
use scheduler_model::{PoolUsage, ResourceUsage};

const MB: i64 = 1024 * 1024;

fn long(v: u64) -> Value {
    Value::Long(i64::try_from(v).unwrap_or(i64::MAX))
}

fn usage(u: &ResourceUsage, scale: i64) -> Value {
    let s = |v: u64| long(v).as_i64().unwrap_or(0).saturating_mul(scale);
    DataObject::new("ResourcePoolResourceUsage")
        .with("reservationUsed", Value::Long(s(u.reservation_used)))
        .with(
            "reservationUsedForVm",
            Value::Long(s(u.reservation_used_for_vm)),
        )
        .with("unreservedForPool", Value::Long(s(u.unreserved_for_pool)))
        .with("unreservedForVm", Value::Long(s(u.unreserved_for_vm)))
        .with("overallUsage", Value::Long(s(u.overall_usage)))
        .with("maxUsage", Value::Long(s(u.max_usage)))
        .into_value()
}

/// `ResourcePoolQuickStats` fields the model knows.
fn quick_stats(u: &PoolUsage) -> Value {
    DataObject::new("ResourcePoolQuickStats")
        .with("overallCpuUsage", long(u.cpu_usage_mhz))
        .with("overallCpuDemand", long(u.cpu_demand_mhz))
        .with("guestMemoryUsage", long(u.guest_memory_active_mb))
        .with("hostMemoryUsage", long(u.memory_usage_mb))
        .with("distributedCpuEntitlement", long(u.cpu_entitlement_mhz))
        .into_value()
}

impl Emulator {
    /// Refreshes every pool's runtime if the model's inventory or allocations changed since
    /// the last refresh (cheap otherwise: one comparison).
    pub fn sync_pool_runtime(&mut self) {
        let changes = self.world.changes();
        if changes != self.pool_runtime_synced {
            self.refresh_pool_runtimes();
        }
    }

    /// Writes every pool's runtime from the model (after a step, or when allocations moved).
    pub(crate) fn refresh_pool_runtimes(&mut self) {
        self.pool_runtime_synced = self.world.changes();
        let pools: Vec<(String, scheduler_model::PoolId)> = self
            .ids
            .pools
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (value, id) in pools {
            let Ok(u) = self.world.pool_usage(id) else {
                continue;
            };
            self.set_pool_runtime(&MoRef::new("ResourcePool", value), &u);
        }
    }

    fn set_pool_runtime(&mut self, pool: &MoRef, u: &PoolUsage) {
        let cpu = usage(&u.cpu, 1);
        let memory = usage(&u.memory, MB);
        let quick = quick_stats(u);
        // Unchanged figures leave the object (and its version) alone, so property collectors
        // are not woken for nothing.
        let same = self.inv.lookup(pool).is_some_and(|o| {
            let rt = o.get("runtime");
            rt.and_then(|r| r.field("cpu")) == Some(&cpu)
                && rt.and_then(|r| r.field("memory")) == Some(&memory)
                && o.get("summary").and_then(|s| s.field("quickStats")) == Some(&quick)
        });
        if same {
            return;
        }
        let _ = self.inv.update_leaf(pool, |o| {
            if let Some(rt) = o.props.get_mut("runtime").and_then(Value::as_data_mut) {
                rt.set("cpu", cpu.clone());
                rt.set("memory", memory.clone());
            }
            if let Some(summary) = o.props.get_mut("summary").and_then(Value::as_data_mut) {
                if let Some(rt) = summary.get_mut("runtime").and_then(Value::as_data_mut) {
                    rt.set("cpu", cpu);
                    rt.set("memory", memory);
                }
                summary.set("quickStats", quick);
            }
        });
    }
}
