//! Resource pools across the inventory and the model: create, reconfigure, destroy, and the
//! root pool of a compute resource.

use super::Emulator;
use super::vm_ops::{allocation_from, allocation_value, model_fault};
use crate::inventory::{resource_config, resource_pool};
use crate::vmodl::{Fault, MoRef, Value};
use scheduler_model::{Allocation, PoolSpec};

impl Emulator {
    fn pool_values(&self, pool: &MoRef, cpu: &Allocation, mem: &Allocation) -> Value {
        resource_config(
            pool,
            allocation_value(cpu, true, true, 0, 0),
            allocation_value(mem, false, true, 0, 0),
        )
    }

    /// Capacity of a compute resource: (MHz, bytes).
    pub fn capacity_of(&self, owner: &MoRef) -> (i64, i64) {
        let summary = self.inv.prop(owner, "summary");
        let cpu = summary
            .and_then(|s| s.field("totalCpu"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mem = summary
            .and_then(|s| s.field("totalMemory"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        (cpu, mem)
    }

    /// The root pool's configuration for a compute resource's capacity.
    fn root_pool_config(&self, owner: &MoRef, pool: &MoRef) -> (Value, i64, i64) {
        let (cpu_mhz, mem_bytes) = self.capacity_of(owner);
        let mut cpu = Allocation::pool_default();
        cpu.reservation = cpu_mhz as u64;
        cpu.limit = Some(cpu_mhz as u64);
        cpu.expandable_reservation = false;
        let mut mem = Allocation::pool_default();
        mem.reservation = (mem_bytes / (1024 * 1024)) as u64;
        mem.limit = Some((mem_bytes / (1024 * 1024)) as u64);
        mem.expandable_reservation = false;
        (self.pool_values(pool, &cpu, &mem), cpu_mhz, mem_bytes)
    }

    /// Creates the root pool `Resources` of compute resource `owner` with `hosts`. A
    /// compute resource without hosts (a new, empty cluster) gets an inventory pool only:
    /// its model twin appears with the first host ([`Emulator::attach_root_pool`]).
    pub(super) fn create_root_pool(
        &mut self,
        owner: &MoRef,
        hosts: &[MoRef],
    ) -> Result<MoRef, Fault> {
        let value = match self.flavor {
            crate::config::Flavor::VirtualCenter => self.inv.alloc("resgroup-"),
            crate::config::Flavor::HostAgent => "ha-root-pool".to_owned(),
        };
        let pool = MoRef::new("ResourcePool", value);
        let host_ids: Vec<_> = hosts
            .iter()
            .filter_map(|h| self.ids.hosts.get(&h.value).copied())
            .collect();
        let id = if host_ids.is_empty() {
            None
        } else {
            Some(
                self.world
                    .add_root_pool("Resources", &host_ids)
                    .map_err(|e| Fault::invalid_state(e.to_string()))?,
            )
        };
        let (config, cpu_mhz, mem_bytes) = self.root_pool_config(owner, &pool);
        self.inv.insert(resource_pool(
            pool.clone(),
            "Resources",
            owner,
            owner,
            config,
            cpu_mhz,
            mem_bytes,
        ));
        if let Some(id) = id {
            self.ids.pools.insert(pool.value.clone(), id);
        }
        Ok(pool)
    }

    /// Gives an inventory root pool without a model twin (an empty cluster's) its twin over
    /// `hosts`, and refreshes its configuration to the compute resource's capacity.
    pub(super) fn attach_root_pool(&mut self, owner: &MoRef, hosts: &[MoRef]) -> Result<(), Fault> {
        let pool = self
            .inv
            .prop(owner, "resourcePool")
            .and_then(Value::as_moref)
            .cloned()
            .ok_or_else(|| Fault::invalid_state("the compute resource has no root pool"))?;
        if self.ids.pools.contains_key(&pool.value) {
            return Ok(());
        }
        let host_ids: Vec<_> = hosts
            .iter()
            .filter_map(|h| self.ids.hosts.get(&h.value).copied())
            .collect();
        let id = self
            .world
            .add_root_pool("Resources", &host_ids)
            .map_err(|e| Fault::invalid_state(e.to_string()))?;
        self.ids.pools.insert(pool.value.clone(), id);
        let (config, _, _) = self.root_pool_config(owner, &pool);
        self.inv.update(&pool, |o| {
            o.props.insert("config".into(), config.clone());
            if let Some(s) = o.props.get_mut("summary").and_then(Value::as_data_mut) {
                s.set("config", config);
            }
        })
    }

    /// `CreateResourcePool`: a child pool of `parent` with the given allocations (values as
    /// the client sent `ResourceConfigSpec.cpuAllocation` / `memoryAllocation`).
    pub fn create_pool(
        &mut self,
        parent: &MoRef,
        name: &str,
        cpu: Option<&Value>,
        mem: Option<&Value>,
    ) -> Result<MoRef, Fault> {
        let name = &crate::inventory::entity_name(name, "name")?;
        self.inv.get(parent)?;
        if let Some(existing) = self.inv.child_named(parent, name) {
            return Err(Fault::duplicate_name(name, &existing));
        }
        let parent_id = *self
            .ids
            .pools
            .get(&parent.value)
            .ok_or_else(|| Fault::invalid_argument("parent"))?;
        let cpu_a = allocation_from(cpu, true);
        let mem_a = allocation_from(mem, true);
        let id = self
            .world
            .add_pool(
                parent_id,
                PoolSpec {
                    name: name.to_owned(),
                    cpu: cpu_a,
                    memory: mem_a,
                },
            )
            .map_err(model_fault)?;
        let value = match self.flavor {
            crate::config::Flavor::VirtualCenter => self.inv.alloc("resgroup-"),
            crate::config::Flavor::HostAgent => self.inv.alloc("pool"),
        };
        let pool = MoRef::new("ResourcePool", value);
        let owner = self
            .owner_of_pool(parent)
            .ok_or_else(|| Fault::invalid_argument("parent"))?;
        let cfg = self.pool_values(&pool, &cpu_a, &mem_a);
        let cpu_max = cpu_a
            .limit
            .map(|l| l as i64)
            .unwrap_or_else(|| self.capacity_of(&owner).0);
        let mem_max = mem_a
            .limit
            .map(|l| l as i64 * 1024 * 1024)
            .unwrap_or_else(|| self.capacity_of(&owner).1);
        self.inv.insert(resource_pool(
            pool.clone(),
            name,
            parent,
            &owner,
            cfg,
            cpu_max,
            mem_max,
        ));
        self.ids.pools.insert(pool.value.clone(), id);
        self.inv.push_ref(parent, "resourcePool", &pool)?;
        Ok(pool)
    }

    /// `UpdateConfig` of a pool: new name and/or allocations.
    pub fn update_pool(
        &mut self,
        pool: &MoRef,
        name: Option<&str>,
        cpu: Option<&Value>,
        mem: Option<&Value>,
    ) -> Result<(), Fault> {
        // The name is checked before anything changes: a bad name leaves the pool as it was.
        let name = name
            .map(|n| crate::inventory::entity_name(n, "name"))
            .transpose()?;
        let current = self.inv.get(pool)?.get("config").cloned();
        let id = *self
            .ids
            .pools
            .get(&pool.value)
            .ok_or_else(|| Fault::not_found(pool))?;
        // Fields the client leaves out keep their current values.
        let merged = |update: Option<&Value>, field: &str| {
            let cur = current.as_ref().and_then(|c| c.field(field));
            match update {
                Some(u) => Some(super::reconfigure::merge_alloc(cur, u)),
                None => cur.cloned(),
            }
        };
        let cpu_a = allocation_from(merged(cpu, "cpuAllocation").as_ref(), true);
        let mem_a = allocation_from(merged(mem, "memoryAllocation").as_ref(), true);
        if cpu.is_some() || mem.is_some() {
            self.world
                .update_pool(id, cpu_a, mem_a)
                .map_err(model_fault)?;
            let cfg = self.pool_values(pool, &cpu_a, &mem_a);
            self.inv.update(pool, |o| {
                o.props.insert("config".into(), cfg.clone());
                if let Some(s) = o.props.get_mut("summary").and_then(Value::as_data_mut) {
                    s.set("config", cfg);
                }
            })?;
        }
        if let Some(n) = name {
            self.rename(pool, &n)?;
            self.inv.update(pool, |o| {
                if let Some(s) = o.props.get_mut("summary").and_then(Value::as_data_mut) {
                    s.set("name", Value::str(n.clone()));
                }
            })?;
        }
        Ok(())
    }

    /// `Destroy_Task` of a pool: its VMs and child pools move to the parent, as vSphere does.
    pub fn destroy_pool(&mut self, pool: &MoRef) -> Result<(), Fault> {
        let obj = self.inv.get(pool)?.clone();
        let parent = obj
            .parent()
            .cloned()
            .ok_or_else(|| Fault::invalid_argument("root resource pool"))?;
        if parent.ty != "ResourcePool" {
            // The root pool of a compute resource goes only with the compute resource.
            return Err(Fault::invalid_argument("parent"));
        }
        let parent_id = *self
            .ids
            .pools
            .get(&parent.value)
            .ok_or_else(|| Fault::not_found(&parent))?;
        // vSphere moves the children of a destroyed pool up into its parent: pools keep
        // their settings and VMs keep running.
        for child in self.inv.refs(pool, "resourcePool") {
            if let Some(id) = self.ids.pools.get(&child.value).copied() {
                self.world.move_pool(id, parent_id).map_err(model_fault)?;
            }
            self.inv.pull_ref(pool, "resourcePool", &child)?;
            self.inv.push_ref(&parent, "resourcePool", &child)?;
            self.inv.set(&child, "parent", Value::moref(&parent))?;
        }
        for vm in self.inv.refs(pool, "vm") {
            if let Some(id) = self.ids.vms.get(&vm.value).copied() {
                self.world.move_vm(id, parent_id).map_err(model_fault)?;
            }
            self.inv.pull_ref(pool, "vm", &vm)?;
            self.inv.push_ref(&parent, "vm", &vm)?;
            self.inv.update(&vm, |o| {
                o.props.insert("resourcePool".into(), Value::moref(&parent));
            })?;
        }
        let id = *self
            .ids
            .pools
            .get(&pool.value)
            .ok_or_else(|| Fault::not_found(pool))?;
        self.world.remove_pool(id).map_err(model_fault)?;
        self.ids.pools.remove(&pool.value);
        self.inv.pull_ref(&parent, "resourcePool", pool)?;
        self.perf.forget(pool);
        self.inv.remove(pool);
        Ok(())
    }
}
