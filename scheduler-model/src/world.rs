//! `World`: the inventory (hosts, pools, VMs, workloads), its mutations with admission control,
//! and read accessors. The physics of one step lives in `step.rs`.

use std::collections::BTreeSet;

use crate::admission::Ledger;
use crate::alloc::Allocation;
use crate::divvy::Scratch;
use crate::error::{AdmissionError, AdmissionKind, ModelError, Resource};
use crate::ids::{Entity, HostId, PoolId, VmId};
use crate::memory::{min_free_mb, vmkernel_mb};
use crate::plan::Plan;
use crate::rng::SimRng;
use crate::samples::Samples;
use crate::spec::{HostSpec, PoolSpec, VmSpec};
use crate::stats::{HostUsage, PoolUsage, ResourceUsage, VmQuickStats};
use crate::step::Work;
use crate::workload::{Workload, WorkloadState};

#[derive(Clone, Debug)]
pub(crate) struct HostRec {
    pub spec: HostSpec,
    pub root: Option<PoolId>,
    /// Σ CPU reservations of powered-on VMs on this host.
    pub res_cpu_mhz: u64,
    /// Σ memory reservations of powered-on VMs on this host.
    pub res_mem_mb: u64,
}

impl HostRec {
    /// Reservable CPU: cores × MHz (HT adds no reservable capacity) [A].
    pub fn cpu_capacity_mhz(&self) -> u64 {
        u64::from(self.spec.cores) * u64::from(self.spec.mhz_per_core)
    }

    /// Reservable memory: installed minus the VMkernel's share [A].
    pub fn mem_capacity_mb(&self) -> u64 {
        let m = self.spec.memory_mb as f64;
        (m - vmkernel_mb(m)).max(0.0) as u64
    }

    /// Memory the divvy may hand to VMs: installed − VMkernel − minFree (keeps the host in the
    /// high state, §7.2 step 2) [A].
    pub fn mem_divvy_mb(&self) -> f64 {
        let m = self.spec.memory_mb as f64;
        (m - vmkernel_mb(m) - min_free_mb(m)).max(0.0)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct PoolRec {
    pub name: String,
    pub parent: Option<PoolId>,
    pub root: PoolId,
    /// Hosts giving capacity (root pools only).
    pub hosts: Vec<HostId>,
    pub cpu: Allocation,
    pub mem: Allocation,
    pub cpu_ledger: Ledger,
    pub mem_ledger: Ledger,
    pub child_pools: BTreeSet<u32>,
    pub vms: BTreeSet<u32>,
    /// Σ CPU reservations of the powered-on VMs in `vms`, kept up to date by every change of
    /// power state, reservation or membership so `pool_usage` need not walk `vms` (vcsim reads
    /// every pool's usage after each call). See `vm_res.rs`.
    pub vm_res_cpu_mhz: u64,
    /// Σ memory reservations of the powered-on VMs in `vms` (as `vm_res_cpu_mhz`).
    pub vm_res_mem_mb: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct VmRec {
    pub spec: VmSpec,
    pub pool: PoolId,
    pub host: HostId,
    pub powered_on: bool,
    pub powered_on_at_s: u64,
    /// The workload while the VM has no slot in the plan (else it lives in `World::slot_workloads`).
    pub workload: WorkloadState,
    pub workload_sets: u32,
    /// Powered on since the last plan rebuild: start from empty memory state.
    pub fresh: bool,
}

/// The simulated inventory and its contention state. See the crate docs.
#[derive(Clone, Debug)]
pub struct World {
    pub(crate) seed: u64,
    pub(crate) hosts: Vec<HostRec>,
    pub(crate) pools: Vec<Option<PoolRec>>,
    pub(crate) vms: Vec<Option<VmRec>>,
    pub(crate) plan: Plan,
    pub(crate) plan_dirty: bool,
    /// Counts changes of the inventory or its allocations (see [`World::changes`]).
    pub(crate) changes: u64,
    pub(crate) work: Work,
    pub(crate) scratch: Scratch,
    pub(crate) samples: Samples,
    /// Workloads of the VMs that have a slot in the plan, in slot order (hot data kept dense).
    pub(crate) slot_workloads: Vec<WorkloadState>,
    pub(crate) time_s: u64,
    /// Hosts that are not available (maintenance, disconnected, down): see `hosts.rs`.
    pub(crate) unavailable: std::collections::BTreeMap<u32, crate::hosts::Unavailable>,
}

fn ledger(a: &Allocation) -> Ledger {
    Ledger {
        reservation: a.reservation,
        limit: a.limit,
        expandable: a.expandable_reservation,
        used: 0,
    }
}

impl World {
    /// An empty world whose every random draw derives from `seed`.
    pub fn new(seed: u64) -> World {
        World {
            seed,
            hosts: Vec::new(),
            pools: Vec::new(),
            vms: Vec::new(),
            plan: Plan::default(),
            plan_dirty: true,
            changes: 0,
            work: Work::default(),
            scratch: Scratch::default(),
            samples: Samples::default(),
            slot_workloads: Vec::new(),
            time_s: 0,
            unavailable: std::collections::BTreeMap::new(),
        }
    }

    /// The seed this world was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Model time, s since creation (advanced by [`World::step`]).
    pub fn time_s(&self) -> u64 {
        self.time_s
    }

    /// Adds a host. Invalid specs are clamped to at least one core, 1 MHz and 1 MB so the
    /// signature stays infallible; use [`World::try_add_host`] to get an error instead.
    pub fn add_host(&mut self, spec: HostSpec) -> HostId {
        let mut spec = spec;
        spec.cores = spec.cores.max(1);
        spec.mhz_per_core = spec.mhz_per_core.max(1);
        spec.memory_mb = spec.memory_mb.max(1);
        self.push_host(spec)
    }

    /// Adds a host, rejecting zero cores, MHz or memory.
    pub fn try_add_host(&mut self, spec: HostSpec) -> Result<HostId, ModelError> {
        spec.validate()?;
        Ok(self.push_host(spec))
    }

    fn push_host(&mut self, spec: HostSpec) -> HostId {
        let id = HostId(self.hosts.len() as u32);
        self.hosts.push(HostRec {
            spec,
            root: None,
            res_cpu_mhz: 0,
            res_mem_mb: 0,
        });
        self.plan_dirty = true;
        self.changes += 1;
        id
    }

    fn pool_ref(&self, pool: PoolId) -> Result<&PoolRec, ModelError> {
        self.pools
            .get(pool.idx())
            .and_then(Option::as_ref)
            .ok_or(ModelError::UnknownPool(pool))
    }

    fn vm_ref(&self, vm: VmId) -> Result<&VmRec, ModelError> {
        self.vms
            .get(vm.idx())
            .and_then(Option::as_ref)
            .ok_or(ModelError::UnknownVm(vm))
    }

    fn host_ref(&self, host: HostId) -> Result<&HostRec, ModelError> {
        self.hosts
            .get(host.idx())
            .ok_or(ModelError::UnknownHost(host))
    }

    /// Adds the root resource pool of a cluster (or of a standalone host) whose capacity is
    /// `hosts`. Its reservation equals the hosts' reservable capacity and it is not expandable.
    pub fn add_root_pool(&mut self, name: &str, hosts: &[HostId]) -> Result<PoolId, ModelError> {
        if hosts.is_empty() {
            return Err(ModelError::InvalidSpec(format!(
                "root pool {name:?} needs at least one host"
            )));
        }
        let mut seen = BTreeSet::new();
        let (mut cpu, mut mem) = (0u64, 0u64);
        for &h in hosts {
            let rec = self.host_ref(h)?;
            if rec.root.is_some() || !seen.insert(h) {
                return Err(ModelError::HostInUse(h));
            }
            cpu = cpu.saturating_add(rec.cpu_capacity_mhz());
            mem = mem.saturating_add(rec.mem_capacity_mb());
        }
        let id = PoolId(self.pools.len() as u32);
        let cpu_alloc = Allocation {
            reservation: cpu,
            limit: Some(cpu),
            expandable_reservation: false,
            ..Allocation::pool_default()
        };
        let mem_alloc = Allocation {
            reservation: mem,
            limit: Some(mem),
            expandable_reservation: false,
            ..Allocation::pool_default()
        };
        for &h in hosts {
            self.hosts[h.idx()].root = Some(id);
        }
        self.pools.push(Some(PoolRec {
            name: name.to_owned(),
            parent: None,
            root: id,
            hosts: seen.into_iter().collect(),
            cpu: cpu_alloc,
            mem: mem_alloc,
            cpu_ledger: ledger(&cpu_alloc),
            mem_ledger: ledger(&mem_alloc),
            child_pools: BTreeSet::new(),
            vms: BTreeSet::new(),
            vm_res_cpu_mhz: 0,
            vm_res_mem_mb: 0,
        }));
        self.plan_dirty = true;
        self.changes += 1;
        Ok(id)
    }

    /// Adds a child pool. Its reservations must fit the parent's unreserved capacity
    /// (expandable parents borrow from their ancestors), else `ModelError::Admission`.
    pub fn add_pool(&mut self, parent: PoolId, spec: PoolSpec) -> Result<PoolId, ModelError> {
        spec.validate()?;
        let root = self.pool_ref(parent)?.root;
        let what = format!("create resource pool {:?}", spec.name);
        self.check_charge(parent, Resource::Cpu, spec.cpu.reservation, &what)?;
        self.check_charge(parent, Resource::Memory, spec.memory.reservation, &what)?;
        self.apply_charge(parent, Resource::Cpu, i128::from(spec.cpu.reservation));
        self.apply_charge(
            parent,
            Resource::Memory,
            i128::from(spec.memory.reservation),
        );
        let id = PoolId(self.pools.len() as u32);
        self.pools.push(Some(PoolRec {
            name: spec.name,
            parent: Some(parent),
            root,
            hosts: Vec::new(),
            cpu: spec.cpu,
            mem: spec.memory,
            cpu_ledger: ledger(&spec.cpu),
            mem_ledger: ledger(&spec.memory),
            child_pools: BTreeSet::new(),
            vms: BTreeSet::new(),
            vm_res_cpu_mhz: 0,
            vm_res_mem_mb: 0,
        }));
        if let Some(Some(p)) = self.pools.get_mut(parent.idx()) {
            p.child_pools.insert(id.0);
        }
        self.plan_dirty = true;
        self.changes += 1;
        Ok(id)
    }

    /// Changes a pool's allocations, re-running admission control for the new reservations
    /// (and refusing settings that cannot hold what the pool's children already reserved).
    pub fn update_pool(
        &mut self,
        pool: PoolId,
        cpu: Allocation,
        memory: Allocation,
    ) -> Result<(), ModelError> {
        let rec = self.pool_ref(pool)?;
        let Some(parent) = rec.parent else {
            return Err(ModelError::RootPool(pool));
        };
        let name = rec.name.clone();
        cpu.check(&format!("pool {name:?} cpu"))
            .map_err(ModelError::InvalidSpec)?;
        memory
            .check(&format!("pool {name:?} memory"))
            .map_err(ModelError::InvalidSpec)?;
        let what = format!("reconfigure resource pool {name:?}");
        let mut deltas = [0i128; 2];
        for (k, (r, new)) in [(Resource::Cpu, &cpu), (Resource::Memory, &memory)]
            .into_iter()
            .enumerate()
        {
            let old = match r {
                Resource::Cpu => rec.cpu_ledger,
                Resource::Memory => rec.mem_ledger,
            };
            let used = old.used;
            let fail = |kind, available: u64, text: String| {
                ModelError::Admission(AdmissionError {
                    kind,
                    resource: r,
                    at: Entity::Pool(pool),
                    requested: new.reservation,
                    available,
                    reason: format!("{what}: {text}"),
                })
            };
            if let Some(lim) = new.limit
                && used > lim
            {
                return Err(fail(
                    AdmissionKind::LimitExceeded,
                    lim,
                    format!("limit {lim} is below the {used} already reserved by its children"),
                ));
            }
            if !new.expandable_reservation && used > new.reservation {
                return Err(fail(
                    AdmissionKind::InsufficientResources,
                    new.reservation,
                    format!(
                        "a fixed reservation of {} cannot hold the {used} already reserved by its children",
                        new.reservation
                    ),
                ));
            }
            let delta =
                i128::from(new.reservation.max(used)) - i128::from(old.reservation.max(used));
            if delta > 0 {
                self.check_charge(parent, r, delta as u64, &what)?;
            }
            deltas[k] = delta;
        }
        let rec = self.pools[pool.idx()]
            .as_mut()
            .ok_or(ModelError::UnknownPool(pool))?;
        rec.cpu = cpu;
        rec.mem = memory;
        let (cu, mu) = (rec.cpu_ledger.used, rec.mem_ledger.used);
        rec.cpu_ledger = Ledger {
            used: cu,
            ..ledger(&cpu)
        };
        rec.mem_ledger = Ledger {
            used: mu,
            ..ledger(&memory)
        };
        self.apply_charge(parent, Resource::Cpu, deltas[0]);
        self.apply_charge(parent, Resource::Memory, deltas[1]);
        self.plan_dirty = true;
        self.changes += 1;
        Ok(())
    }

    /// Removes an empty pool (no child pools, no VMs), returning its reservation to its parent.
    /// Removing an empty root pool frees its hosts.
    pub fn remove_pool(&mut self, pool: PoolId) -> Result<(), ModelError> {
        let rec = self.pool_ref(pool)?;
        if !rec.child_pools.is_empty() || !rec.vms.is_empty() {
            return Err(ModelError::PoolNotEmpty(pool));
        }
        let (parent, cpu_c, mem_c) = (
            rec.parent,
            rec.cpu_ledger.charged(),
            rec.mem_ledger.charged(),
        );
        let hosts = rec.hosts.clone();
        match parent {
            Some(p) => {
                self.apply_charge(p, Resource::Cpu, -i128::from(cpu_c));
                self.apply_charge(p, Resource::Memory, -i128::from(mem_c));
                if let Some(Some(pr)) = self.pools.get_mut(p.idx()) {
                    pr.child_pools.remove(&pool.0);
                }
            }
            None => {
                for h in hosts {
                    self.hosts[h.idx()].root = None;
                }
            }
        }
        self.pools[pool.idx()] = None;
        self.plan_dirty = true;
        self.changes += 1;
        Ok(())
    }

    fn check_placement(&self, pool: PoolId, host: HostId) -> Result<(), ModelError> {
        let root = self.pool_ref(pool)?.root;
        self.host_ref(host)?;
        if self.hosts[host.idx()].root != Some(root) {
            return Err(ModelError::HostNotInCluster { host, pool });
        }
        Ok(())
    }

    /// Adds a powered-off VM in `pool` on `host` (which must belong to the pool's root).
    pub fn add_vm(&mut self, pool: PoolId, host: HostId, spec: VmSpec) -> Result<VmId, ModelError> {
        spec.validate()?;
        self.check_placement(pool, host)?;
        let id = VmId(self.vms.len() as u32);
        let workload =
            WorkloadState::new(Workload::Idle, SimRng::stream(self.seed, stream(id, 0)))?;
        self.vms.push(Some(VmRec {
            spec,
            pool,
            host,
            powered_on: false,
            powered_on_at_s: 0,
            workload,
            workload_sets: 0,
            fresh: false,
        }));
        if let Some(Some(p)) = self.pools.get_mut(pool.idx()) {
            p.vms.insert(id.0);
        }
        Ok(id)
    }

    /// Replaces a VM's spec. While powered on, vCPUs and memory size cannot change
    /// (`InvalidPowerState`) and higher reservations go through admission control.
    pub fn reconfigure_vm(&mut self, vm: VmId, spec: VmSpec) -> Result<(), ModelError> {
        spec.validate()?;
        let rec = self.vm_ref(vm)?;
        if rec.powered_on {
            if spec.vcpus != rec.spec.vcpus || spec.memory_mb != rec.spec.memory_mb {
                return Err(ModelError::InvalidPowerState {
                    vm,
                    reason: "vCPUs and memory size can only change while powered off",
                });
            }
            let what = format!("reconfigure virtual machine {:?}", spec.name);
            let dc = i128::from(spec.cpu.reservation) - i128::from(rec.spec.cpu.reservation);
            let dm = i128::from(spec.memory.reservation) - i128::from(rec.spec.memory.reservation);
            let (pool, host) = (rec.pool, rec.host);
            let (old_c, old_m) = (rec.spec.cpu.reservation, rec.spec.memory.reservation);
            if dc > 0 {
                self.check_host(host, Resource::Cpu, dc as u64, &what)?;
                self.check_charge(pool, Resource::Cpu, dc as u64, &what)?;
            }
            if dm > 0 {
                self.check_host(host, Resource::Memory, dm as u64, &what)?;
                self.check_charge(pool, Resource::Memory, dm as u64, &what)?;
            }
            self.apply_charge(pool, Resource::Cpu, dc);
            self.apply_charge(pool, Resource::Memory, dm);
            let h = &mut self.hosts[host.idx()];
            h.res_cpu_mhz = (i128::from(h.res_cpu_mhz) + dc).max(0) as u64;
            h.res_mem_mb = (i128::from(h.res_mem_mb) + dm).max(0) as u64;
            self.vm_res_sub(pool, old_c, old_m);
            self.vm_res_add(pool, spec.cpu.reservation, spec.memory.reservation);
        }
        if let Some(Some(r)) = self.vms.get_mut(vm.idx()) {
            r.spec = spec;
        }
        self.plan_dirty = true;
        self.changes += 1;
        Ok(())
    }

    /// Moves a pool (with everything below it) under another pool of the same root, as
    /// vSphere does with the children of a destroyed pool. The pool's charged reservation
    /// must fit under the new parent; a move under its own subtree is refused.
    pub fn move_pool(&mut self, pool: PoolId, new_parent: PoolId) -> Result<(), ModelError> {
        let rec = self.pool_ref(pool)?;
        let old_parent = rec.parent.ok_or(ModelError::RootPool(pool))?;
        let (root, name) = (rec.root, rec.name.clone());
        let (cpu_c, mem_c) = (rec.cpu_ledger.charged(), rec.mem_ledger.charged());
        let target = self.pool_ref(new_parent)?;
        if target.root != root {
            return Err(ModelError::InvalidSpec(format!(
                "pool {name:?} cannot move to another cluster's resource pool"
            )));
        }
        // Walk up from the target: meeting the pool itself would make a cycle. The depth is
        // bounded by the number of pools.
        let mut cur = Some(new_parent);
        for _ in 0..=self.pools.len() {
            match cur {
                Some(p) if p == pool => {
                    return Err(ModelError::InvalidSpec(format!(
                        "pool {name:?} cannot move below itself"
                    )));
                }
                Some(p) => cur = self.pool_ref(p)?.parent,
                None => break,
            }
        }
        if old_parent == new_parent {
            return Ok(());
        }
        let what = format!("move resource pool {name:?}");
        self.apply_charge(old_parent, Resource::Cpu, -i128::from(cpu_c));
        self.apply_charge(old_parent, Resource::Memory, -i128::from(mem_c));
        let fits = self
            .check_charge(new_parent, Resource::Cpu, cpu_c, &what)
            .and_then(|()| self.check_charge(new_parent, Resource::Memory, mem_c, &what));
        if let Err(e) = fits {
            self.apply_charge(old_parent, Resource::Cpu, i128::from(cpu_c));
            self.apply_charge(old_parent, Resource::Memory, i128::from(mem_c));
            return Err(e.into());
        }
        self.apply_charge(new_parent, Resource::Cpu, i128::from(cpu_c));
        self.apply_charge(new_parent, Resource::Memory, i128::from(mem_c));
        if let Some(Some(p)) = self.pools.get_mut(old_parent.idx()) {
            p.child_pools.remove(&pool.0);
        }
        if let Some(Some(p)) = self.pools.get_mut(new_parent.idx()) {
            p.child_pools.insert(pool.0);
        }
        if let Some(Some(p)) = self.pools.get_mut(pool.idx()) {
            p.parent = Some(new_parent);
        }
        self.plan_dirty = true;
        self.changes += 1;
        Ok(())
    }

    /// Moves a VM to another pool of the same root; a powered-on VM's reservations must fit there.
    pub fn move_vm(&mut self, vm: VmId, pool: PoolId) -> Result<(), ModelError> {
        let rec = self.vm_ref(vm)?;
        let (old, host, on) = (rec.pool, rec.host, rec.powered_on);
        let (rc, rm) = (rec.spec.cpu.reservation, rec.spec.memory.reservation);
        let what = format!("move virtual machine {:?}", rec.spec.name);
        self.check_placement(pool, host)?;
        if old == pool {
            return Ok(());
        }
        if on {
            self.apply_charge(old, Resource::Cpu, -i128::from(rc));
            self.apply_charge(old, Resource::Memory, -i128::from(rm));
            let fits = self
                .check_charge(pool, Resource::Cpu, rc, &what)
                .and_then(|()| self.check_charge(pool, Resource::Memory, rm, &what));
            if let Err(e) = fits {
                self.apply_charge(old, Resource::Cpu, i128::from(rc));
                self.apply_charge(old, Resource::Memory, i128::from(rm));
                return Err(e.into());
            }
            self.apply_charge(pool, Resource::Cpu, i128::from(rc));
            self.apply_charge(pool, Resource::Memory, i128::from(rm));
            self.vm_res_sub(old, rc, rm);
            self.vm_res_add(pool, rc, rm);
        }
        if let Some(Some(p)) = self.pools.get_mut(old.idx()) {
            p.vms.remove(&vm.0);
        }
        if let Some(Some(p)) = self.pools.get_mut(pool.idx()) {
            p.vms.insert(vm.0);
        }
        if let Some(Some(r)) = self.vms.get_mut(vm.idx()) {
            r.pool = pool;
        }
        self.plan_dirty = true;
        self.changes += 1;
        Ok(())
    }

    /// Removes a powered-off VM.
    pub fn remove_vm(&mut self, vm: VmId) -> Result<(), ModelError> {
        let rec = self.vm_ref(vm)?;
        if rec.powered_on {
            return Err(ModelError::InvalidPowerState {
                vm,
                reason: "a powered-on virtual machine cannot be removed",
            });
        }
        let pool = rec.pool;
        if let Some(Some(p)) = self.pools.get_mut(pool.idx()) {
            p.vms.remove(&vm.0);
        }
        self.vms[vm.idx()] = None;
        self.plan_dirty = true;
        self.changes += 1;
        Ok(())
    }

    /// Powers a VM on after admission control: vCPUs must not exceed the host's logical CPUs
    /// (`NotEnoughCpus`), and its CPU and memory reservations must fit the host and the pool tree
    /// (`InsufficientResources` / `LimitExceeded`). Its workload restarts from time 0.
    pub fn power_on(&mut self, vm: VmId) -> Result<(), ModelError> {
        let rec = self.vm_ref(vm)?;
        if rec.powered_on {
            return Err(ModelError::InvalidPowerState {
                vm,
                reason: "the virtual machine is already powered on",
            });
        }
        let (pool, host) = (rec.pool, rec.host);
        let spec = &rec.spec;
        let what = format!("power on virtual machine {:?}", spec.name);
        self.check_logical_cpus(spec.vcpus, host, &what)?;
        let (rc, rm) = (spec.cpu.reservation, spec.memory.reservation);
        self.check_host(host, Resource::Cpu, rc, &what)?;
        self.check_host(host, Resource::Memory, rm, &what)?;
        self.check_charge(pool, Resource::Cpu, rc, &what)?;
        self.check_charge(pool, Resource::Memory, rm, &what)?;
        self.apply_charge(pool, Resource::Cpu, i128::from(rc));
        self.apply_charge(pool, Resource::Memory, i128::from(rm));
        let h = &mut self.hosts[host.idx()];
        h.res_cpu_mhz += rc;
        h.res_mem_mb += rm;
        self.vm_res_add(pool, rc, rm);
        let now = self.time_s;
        if let Some(Some(r)) = self.vms.get_mut(vm.idx()) {
            r.powered_on = true;
            r.powered_on_at_s = now;
            r.fresh = true;
        }
        if let Some(wl) = self.workload_mut(vm) {
            wl.elapsed_s = 0;
        }
        self.plan_dirty = true;
        self.changes += 1;
        Ok(())
    }

    /// Powers a VM off, releasing its reservations.
    pub fn power_off(&mut self, vm: VmId) -> Result<(), ModelError> {
        let rec = self.vm_ref(vm)?;
        if !rec.powered_on {
            return Err(ModelError::InvalidPowerState {
                vm,
                reason: "the virtual machine is already powered off",
            });
        }
        let (pool, host) = (rec.pool, rec.host);
        let (rc, rm) = (rec.spec.cpu.reservation, rec.spec.memory.reservation);
        self.apply_charge(pool, Resource::Cpu, -i128::from(rc));
        self.apply_charge(pool, Resource::Memory, -i128::from(rm));
        let h = &mut self.hosts[host.idx()];
        h.res_cpu_mhz = h.res_cpu_mhz.saturating_sub(rc);
        h.res_mem_mb = h.res_mem_mb.saturating_sub(rm);
        self.vm_res_sub(pool, rc, rm);
        if let Some(Some(r)) = self.vms.get_mut(vm.idx()) {
            r.powered_on = false;
        }
        self.plan_dirty = true;
        self.changes += 1;
        Ok(())
    }

    /// Sets what runs in the VM from now on (elapsed time restarts at 0). Stochastic workloads
    /// draw from a stream derived from the world seed, the VM id and how many workloads it had.
    pub fn set_workload(&mut self, vm: VmId, workload: Workload) -> Result<(), ModelError> {
        let seed = self.seed;
        let rec = self
            .vms
            .get_mut(vm.idx())
            .and_then(Option::as_mut)
            .ok_or(ModelError::UnknownVm(vm))?;
        let sets = rec.workload_sets.wrapping_add(1);
        let state = WorkloadState::new(workload, SimRng::stream(seed, stream(vm, sets)))?;
        rec.workload_sets = sets;
        if let Some(wl) = self.workload_mut(vm) {
            *wl = state;
        }
        Ok(())
    }

    /// Where a VM's workload state currently lives: its plan slot if it has one, else its record.
    fn workload_mut(&mut self, vm: VmId) -> Option<&mut WorkloadState> {
        match self.samples.slot(vm) {
            Some(slot) => self.slot_workloads.get_mut(slot),
            None => self
                .vms
                .get_mut(vm.idx())
                .and_then(Option::as_mut)
                .map(|r| &mut r.workload),
        }
    }

    /// The samples of the last step.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// Whether the VM is powered on.
    pub fn is_powered_on(&self, vm: VmId) -> Result<bool, ModelError> {
        Ok(self.vm_ref(vm)?.powered_on)
    }

    /// The VM's spec.
    pub fn vm_spec(&self, vm: VmId) -> Result<&VmSpec, ModelError> {
        Ok(&self.vm_ref(vm)?.spec)
    }

    /// The VM's pool and host.
    pub fn vm_placement(&self, vm: VmId) -> Result<(PoolId, HostId), ModelError> {
        let r = self.vm_ref(vm)?;
        Ok((r.pool, r.host))
    }

    /// A pool's current CPU and memory allocations.
    pub fn pool_allocation(&self, pool: PoolId) -> Result<(Allocation, Allocation), ModelError> {
        let r = self.pool_ref(pool)?;
        Ok((r.cpu, r.mem))
    }

    /// A pool's parent (`None` for a root pool).
    pub fn pool_parent(&self, pool: PoolId) -> Result<Option<PoolId>, ModelError> {
        Ok(self.pool_ref(pool)?.parent)
    }

    /// The host's spec.
    pub fn host_spec(&self, host: HostId) -> Result<&HostSpec, ModelError> {
        Ok(&self.host_ref(host)?.spec)
    }

    /// What vSphere's `VirtualMachineQuickStats` shows, from the last step (zeros when the VM is
    /// powered off or not yet stepped).
    pub fn vm_quick_stats(&self, vm: VmId) -> Result<VmQuickStats, ModelError> {
        let rec = self.vm_ref(vm)?;
        let s = &self.samples;
        let Some(slot) = s.slot(vm) else {
            return Ok(VmQuickStats::default());
        };
        let o = &s.vms[slot];
        let m = &s.mem[slot];
        let mb = |x: f64| x.max(0.0).round() as u64;
        let static_cpu = rec
            .spec
            .cpu
            .limit
            .unwrap_or(u64::MAX)
            .min((f64::from(rec.spec.vcpus) * o.mhz) as u64);
        let static_mem = rec
            .spec
            .memory
            .limit
            .unwrap_or(u64::MAX)
            .min(rec.spec.memory_mb);
        Ok(VmQuickStats {
            overall_cpu_usage_mhz: mb(o.usage),
            overall_cpu_demand_mhz: mb(o.demand),
            guest_memory_usage_mb: mb(m.active_reported()),
            host_memory_usage_mb: mb(m.consumed + m.overhead),
            balloon_mb: mb(m.balloon),
            swapped_mb: mb(m.swapped),
            compressed_kb: mb(m.compressed * 1024.0),
            consumed_overhead_mb: mb(m.overhead),
            granted_mb: mb(m.granted),
            private_memory_mb: mb(m.granted - m.shared),
            shared_memory_mb: mb(m.shared),
            static_cpu_entitlement_mhz: static_cpu,
            static_memory_entitlement_mb: static_mem.saturating_add(mb(m.overhead)),
            distributed_cpu_entitlement_mhz: mb(o.cpu_res.max(o.usage)),
            distributed_memory_entitlement_mb: mb(m.target + m.overhead),
            uptime_s: self.time_s.saturating_sub(rec.powered_on_at_s),
        })
    }

    /// How many times the inventory or an allocation changed (a VM added, powered on or off,
    /// reconfigured or moved, a pool created, updated or removed, …): readers that mirror
    /// reservation state (a pool's `runtime`) refresh when it moves.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// What vSphere's `ResourcePoolRuntimeInfo` shows: usage from the last step, reservations
    /// from the current inventory.
    pub fn pool_usage(&self, pool: PoolId) -> Result<PoolUsage, ModelError> {
        let rec = self.pool_ref(pool)?;
        let o = self
            .samples
            .pools
            .get(pool.idx())
            .copied()
            .unwrap_or_default();
        // Every test that reads a pool's usage also checks the running sums (O(VMs) in debug
        // builds only).
        debug_assert_eq!(
            (rec.vm_res_cpu_mhz, rec.vm_res_mem_mb),
            self.recompute_vm_res(rec),
            "running VM reservation sums of pool {pool:?}"
        );
        let for_vm = |r: Resource| -> u64 {
            match r {
                Resource::Cpu => rec.vm_res_cpu_mhz,
                Resource::Memory => rec.vm_res_mem_mb,
            }
        };
        let usage = |r: Resource, l: &Ledger, overall: f64| {
            let unreserved = self.unreserved(pool, r);
            ResourceUsage {
                reservation_used: l.used,
                reservation_used_for_vm: for_vm(r),
                unreserved_for_pool: unreserved,
                unreserved_for_vm: unreserved,
                overall_usage: overall.max(0.0).round() as u64,
                max_usage: l.limit.unwrap_or_else(|| self.root_capacity(rec.root, r)),
            }
        };
        Ok(PoolUsage {
            cpu_usage_mhz: o.cpu_usage.max(0.0).round() as u64,
            cpu_demand_mhz: o.cpu_demand.max(0.0).round() as u64,
            cpu_entitlement_mhz: o.cpu_entitlement.max(0.0).round() as u64,
            memory_usage_mb: (o.mem.consumed + o.mem.overhead).max(0.0).round() as u64,
            guest_memory_active_mb: o.mem.active.max(0.0).round() as u64,
            cpu: usage(Resource::Cpu, &rec.cpu_ledger, o.cpu_usage),
            memory: usage(
                Resource::Memory,
                &rec.mem_ledger,
                o.mem.consumed + o.mem.overhead,
            ),
        })
    }

    fn root_capacity(&self, root: PoolId, r: Resource) -> u64 {
        self.pools[root.idx()].as_ref().map_or(0, |p| match r {
            Resource::Cpu => p.cpu.reservation,
            Resource::Memory => p.mem.reservation,
        })
    }

    /// A host's CPU and memory usage from the last step.
    pub fn host_usage(&self, host: HostId) -> Result<HostUsage, ModelError> {
        let rec = self.host_ref(host)?;
        let o = self
            .samples
            .hosts
            .get(host.idx())
            .copied()
            .unwrap_or_default();
        Ok(HostUsage {
            cpu_usage_mhz: o.cpu_usage.max(0.0).round() as u64,
            cpu_demand_mhz: o.cpu_demand.max(0.0).round() as u64,
            cpu_capacity_mhz: rec.cpu_capacity_mhz(),
            memory_usage_mb: o.mem_used.max(0.0).round() as u64,
            memory_mb: rec.spec.memory_mb,
            memory_state: o.state,
            cpu_reserved_mhz: rec.res_cpu_mhz,
            memory_reserved_mb: rec.res_mem_mb,
        })
    }
}

/// Stream id of a VM's `sets`-th workload.
fn stream(vm: VmId, sets: u32) -> u64 {
    (u64::from(vm.0) << 32) | u64::from(sets)
}
