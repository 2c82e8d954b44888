//! Host availability: hosts in maintenance mode, disconnected from vCenter, or down (failed,
//! shut down, rebooting), and what that does to the capacity of their root pool; moving VMs
//! between the hosts of a root (vMotion, HA restarts); the validity of a root's reservations.
//! The rules and their sources are in `MODEL.md` §10.
//!
//! A host's state decides two capacities of its root pool:
//! - **admission** (the root's reservation and limit, against which every reservation in the
//!   tree is admitted): only [`HostState::Available`] hosts count;
//! - **the divvy** (`PoolRec::hosts`, which the step divides among the tree): available and
//!   disconnected hosts, since a disconnected host still runs its VMs on its own CPUs and
//!   memory; hosts in maintenance mode run nothing and failed hosts are gone.
//!
//! Powered-on VMs on a disconnected host do not count toward their pools' reservation used
//! while the host is disconnected (vCenter no longer manages them, as for a VM failing over
//! [V] S68); their charges come back when the host does.

use std::collections::BTreeSet;

use crate::admission::Ledger;
use crate::error::{AdmissionError, AdmissionKind, ModelError, Resource};
use crate::ids::{Entity, HostId, PoolId, VmId};
use crate::memory::overhead_mb;
use crate::world::World;

/// What a host can do for the root pool (cluster) it belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HostState {
    /// Connected and running: capacity for admission and for the divvy; accepts VMs.
    #[default]
    Available,
    /// In maintenance mode: runs no powered-on VM and gives no capacity.
    Maintenance,
    /// Running but not managed (vCenter lost it): its VMs keep running on its own capacity,
    /// which leaves admission; accepts no new VM.
    Disconnected,
    /// Down (crashed, powered off, rebooting): its VMs were powered off; no capacity.
    Failed,
}

impl HostState {
    /// Whether the host's capacity counts for admission control and it may take VMs.
    pub fn admits(self) -> bool {
        self == HostState::Available
    }

    /// Whether the host runs VMs (its capacity is in the divvy).
    pub fn runs_vms(self) -> bool {
        matches!(self, HostState::Available | HostState::Disconnected)
    }

    /// `available`, `maintenance`, `disconnected` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Available => "available",
            HostState::Maintenance => "in maintenance mode",
            HostState::Disconnected => "disconnected",
            HostState::Failed => "down",
        }
    }
}

/// The validity of a root pool's tree, as vCenter colours a DRS cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Validity {
    /// Every reservation can be satisfied (green).
    Valid,
    /// The tree is consistent, but the root's current capacity is below what its children
    /// reserve — e.g. after a host failure (yellow) [V] S67.
    Overcommitted,
    /// Some pool's children reserve more than a fixed reservation or a limit allows (red)
    /// [V] S68.
    Invalid,
}

/// A root pool's reservations against its current (admission) capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RootReservations {
    /// What the root's children reserve, CPU (MHz).
    pub cpu_used_mhz: u64,
    /// What the root's children reserve, memory (MB).
    pub mem_used_mb: u64,
    /// Reservable CPU of the root's available hosts (MHz).
    pub cpu_capacity_mhz: u64,
    /// Reservable memory of the root's available hosts (MB).
    pub mem_capacity_mb: u64,
}

/// A host that is not [`HostState::Available`], with the charges taken off its VMs' pools
/// while it is disconnected: (VM, CPU MHz, memory MB).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Unavailable {
    pub state: HostState,
    pub uncharged: Vec<(VmId, u64, u64)>,
}

fn unavailable_host(name: &str, state: HostState) -> ModelError {
    ModelError::InvalidSpec(format!(
        "host {name:?} is {} and cannot take virtual machines",
        state.as_str()
    ))
}

impl World {
    /// A host's state.
    pub fn host_state(&self, host: HostId) -> Result<HostState, ModelError> {
        self.hosts
            .get(host.idx())
            .ok_or(ModelError::UnknownHost(host))?;
        Ok(self
            .unavailable
            .get(&host.0)
            .map_or(HostState::Available, |u| u.state))
    }

    /// Changes a host's state and its root's capacities. Entering maintenance mode is refused
    /// while a powered-on VM runs on the host (`InvalidPowerState` naming it); failing powers
    /// off every VM running there and returns them. Leaving a state keeps VMs as they are
    /// (a recovered host's VMs stay powered off).
    pub fn set_host_state(
        &mut self,
        host: HostId,
        state: HostState,
    ) -> Result<Vec<VmId>, ModelError> {
        let old = self.host_state(host)?;
        if old == state {
            return Ok(Vec::new());
        }
        let running = self.vms_on_host(host, true);
        if state == HostState::Maintenance
            && let Some(&vm) = running.first()
        {
            return Err(ModelError::InvalidPowerState {
                vm,
                reason: "its host cannot enter maintenance mode while it runs powered-on virtual machines",
            });
        }
        // Give back what a disconnected host's VMs were not charged, before anything else
        // (a power-off releases the full charge).
        if let Some(u) = self.unavailable.get_mut(&host.0) {
            for (vm, cpu, mem) in std::mem::take(&mut u.uncharged) {
                if let Ok((pool, _)) = self.vm_placement(vm) {
                    self.apply_charge(pool, Resource::Cpu, i128::from(cpu));
                    self.apply_charge(pool, Resource::Memory, i128::from(mem));
                }
            }
        }
        let mut stopped = Vec::new();
        let mut uncharged = Vec::new();
        match state {
            HostState::Failed => {
                for vm in running {
                    self.power_off(vm)?;
                    stopped.push(vm);
                }
            }
            HostState::Disconnected => {
                for vm in running {
                    let (pool, _) = self.vm_placement(vm)?;
                    let spec = self.vm_spec(vm)?;
                    let (cpu, mem) = (spec.cpu.reservation, spec.memory.reservation);
                    self.apply_charge(pool, Resource::Cpu, -i128::from(cpu));
                    self.apply_charge(pool, Resource::Memory, -i128::from(mem));
                    uncharged.push((vm, cpu, mem));
                }
            }
            HostState::Available | HostState::Maintenance => {}
        }
        if state == HostState::Available {
            self.unavailable.remove(&host.0);
        } else {
            self.unavailable
                .insert(host.0, Unavailable { state, uncharged });
        }
        if let Some(root) = self.hosts[host.idx()].root {
            self.refresh_root_capacity(root);
        }
        self.plan_dirty = true;
        // Reservations and capacities moved: mirrors of them (a pool's runtime) refresh.
        self.changes += 1;
        Ok(stopped)
    }

    /// Recomputes a root's divvy hosts and admission capacity from its hosts' states.
    fn refresh_root_capacity(&mut self, root: PoolId) {
        let mut running = Vec::new();
        let (mut cpu, mut mem) = (0u64, 0u64);
        for (i, h) in self.hosts.iter().enumerate() {
            if h.root != Some(root) {
                continue;
            }
            let state = self
                .unavailable
                .get(&(i as u32))
                .map_or(HostState::Available, |u| u.state);
            if state.runs_vms() {
                running.push(HostId(i as u32));
            }
            if state.admits() {
                cpu = cpu.saturating_add(h.cpu_capacity_mhz());
                mem = mem.saturating_add(h.mem_capacity_mb());
            }
        }
        let Some(Some(rec)) = self.pools.get_mut(root.idx()) else {
            return;
        };
        rec.hosts = running;
        let fix = |a: &mut crate::alloc::Allocation, l: &mut Ledger, cap: u64| {
            a.reservation = cap;
            a.limit = Some(cap);
            l.reservation = cap;
            l.limit = Some(cap);
        };
        fix(&mut rec.cpu, &mut rec.cpu_ledger, cpu);
        fix(&mut rec.mem, &mut rec.mem_ledger, mem);
    }

    /// Reservable capacity of a host: (CPU MHz, memory MB), whatever its state.
    pub fn host_capacity(&self, host: HostId) -> Result<(u64, u64), ModelError> {
        let h = self
            .hosts
            .get(host.idx())
            .ok_or(ModelError::UnknownHost(host))?;
        Ok((h.cpu_capacity_mhz(), h.mem_capacity_mb()))
    }

    /// What a host has left for reservations of VMs: capacity minus the reservations of its
    /// powered-on VMs, (CPU MHz, memory MB).
    pub fn host_unreserved(&self, host: HostId) -> Result<(u64, u64), ModelError> {
        let h = self
            .hosts
            .get(host.idx())
            .ok_or(ModelError::UnknownHost(host))?;
        Ok((
            h.cpu_capacity_mhz().saturating_sub(h.res_cpu_mhz),
            h.mem_capacity_mb().saturating_sub(h.res_mem_mb),
        ))
    }

    /// The root pool a host gives capacity to, if any.
    pub fn host_root(&self, host: HostId) -> Result<Option<PoolId>, ModelError> {
        Ok(self
            .hosts
            .get(host.idx())
            .ok_or(ModelError::UnknownHost(host))?
            .root)
    }

    /// Every host of a root pool, whatever its state, in id order.
    pub fn root_hosts(&self, root: PoolId) -> Vec<HostId> {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.root == Some(root))
            .map(|(i, _)| HostId(i as u32))
            .collect()
    }

    /// The VMs placed on a host (only the powered-on ones with `powered_on`), in id order.
    pub fn vms_on_host(&self, host: HostId, powered_on: bool) -> Vec<VmId> {
        self.vms
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
            .filter(|(_, v)| v.host == host && (!powered_on || v.powered_on))
            .map(|(i, _)| VmId(i as u32))
            .collect()
    }

    /// A VM's memory overhead (MB), as the model charges it (`MODEL.md` §1).
    pub fn vm_overhead_mb(&self, vm: VmId) -> Result<u64, ModelError> {
        let s = self.vm_spec(vm)?;
        Ok(overhead_mb(s.vcpus, s.memory_mb as f64).ceil() as u64)
    }

    /// Refuses a VM on a host that does not take VMs (maintenance, disconnected, down).
    pub(crate) fn check_host_admits(&self, host: HostId) -> Result<(), ModelError> {
        let state = self.host_state(host)?;
        if state.admits() {
            Ok(())
        } else {
            Err(unavailable_host(&self.hosts[host.idx()].spec.name, state))
        }
    }

    /// A VM of `vcpus` vCPUs needs at least as many logical CPUs on `host` (power-on,
    /// migration and HA restart admission alike).
    pub(crate) fn check_logical_cpus(
        &self,
        vcpus: u32,
        host: HostId,
        what: &str,
    ) -> Result<(), ModelError> {
        let h = &self.hosts[host.idx()];
        let logical = h
            .spec
            .cores
            .saturating_mul(if h.spec.hyperthreading { 2 } else { 1 });
        if vcpus > logical {
            return Err(AdmissionError {
                kind: AdmissionKind::NotEnoughCpus,
                resource: Resource::Cpu,
                at: Entity::Host(host),
                requested: u64::from(vcpus),
                available: u64::from(logical),
                reason: format!(
                    "{what}: the number of virtual CPUs ({vcpus}) exceeds the number of logical CPUs ({logical}) of host {:?}",
                    h.spec.name
                ),
            }
            .into());
        }
        Ok(())
    }

    /// Host-level admission of a VM's vCPUs and reservations on `host` (it is not there yet).
    fn check_fits_host(&self, vm: VmId, host: HostId, what: &str) -> Result<(), ModelError> {
        let spec = self.vm_spec(vm)?;
        self.check_logical_cpus(spec.vcpus, host, what)?;
        self.check_host(host, Resource::Cpu, spec.cpu.reservation, what)?;
        self.check_host(host, Resource::Memory, spec.memory.reservation, what)?;
        Ok(())
    }

    /// Moves a VM to another host of its root (vMotion when powered on, a cold migration
    /// otherwise). The target must be available; a powered-on VM's vCPUs and reservations
    /// must fit it, and a powered-on VM cannot leave a host that is not available.
    pub fn migrate_vm(&mut self, vm: VmId, host: HostId) -> Result<(), ModelError> {
        let (pool, from) = self.vm_placement(vm)?;
        self.host_state(host)?;
        if let Some(root) = self.pools.get(pool.idx()).and_then(Option::as_ref)
            && self.hosts[host.idx()].root != Some(root.root)
        {
            return Err(ModelError::HostNotInCluster { host, pool });
        }
        if from == host {
            return Ok(());
        }
        self.check_host_admits(host)?;
        let on = self.is_powered_on(vm)?;
        if on {
            let from_state = self.host_state(from)?;
            if !matches!(from_state, HostState::Available | HostState::Maintenance) {
                return Err(ModelError::InvalidSpec(format!(
                    "virtual machine {:?} cannot migrate from host {:?}, which is {}",
                    self.vm_spec(vm)?.name,
                    self.hosts[from.idx()].spec.name,
                    from_state.as_str()
                )));
            }
            let what = format!("migrate virtual machine {:?}", self.vm_spec(vm)?.name);
            self.check_fits_host(vm, host, &what)?;
            let spec = self.vm_spec(vm)?;
            let (rc, rm) = (spec.cpu.reservation, spec.memory.reservation);
            let src = &mut self.hosts[from.idx()];
            src.res_cpu_mhz = src.res_cpu_mhz.saturating_sub(rc);
            src.res_mem_mb = src.res_mem_mb.saturating_sub(rm);
            let dst = &mut self.hosts[host.idx()];
            dst.res_cpu_mhz += rc;
            dst.res_mem_mb += rm;
        }
        if let Some(Some(r)) = self.vms.get_mut(vm.idx()) {
            r.host = host;
        }
        self.plan_dirty = true;
        // Reservations and capacities moved: mirrors of them (a pool's runtime) refresh.
        self.changes += 1;
        Ok(())
    }

    /// Powers a powered-off VM on at `host` of its root (vSphere HA's restart on an alternate
    /// host): the host must be available, and the VM goes through admission control there
    /// (host and pool tree) as any power-on. Nothing changes when it is refused.
    pub fn restart_vm_on(&mut self, vm: VmId, host: HostId) -> Result<(), ModelError> {
        let (pool, from) = self.vm_placement(vm)?;
        self.host_state(host)?;
        if self.is_powered_on(vm)? {
            return Err(ModelError::InvalidPowerState {
                vm,
                reason: "the virtual machine is already powered on",
            });
        }
        if let Some(root) = self.pools.get(pool.idx()).and_then(Option::as_ref)
            && self.hosts[host.idx()].root != Some(root.root)
        {
            return Err(ModelError::HostNotInCluster { host, pool });
        }
        self.check_host_admits(host)?;
        if let Some(Some(r)) = self.vms.get_mut(vm.idx()) {
            r.host = host;
        }
        match self.power_on(vm) {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(Some(r)) = self.vms.get_mut(vm.idx()) {
                    r.host = from;
                }
                Err(e)
            }
        }
    }

    /// A root pool's reservations against its current capacity.
    pub fn root_reservations(&self, root: PoolId) -> Result<RootReservations, ModelError> {
        let rec = self
            .pools
            .get(root.idx())
            .and_then(Option::as_ref)
            .ok_or(ModelError::UnknownPool(root))?;
        if rec.parent.is_some() {
            return Err(ModelError::InvalidSpec(format!(
                "pool {:?} is not a root pool",
                rec.name
            )));
        }
        Ok(RootReservations {
            cpu_used_mhz: rec.cpu_ledger.used,
            mem_used_mb: rec.mem_ledger.used,
            cpu_capacity_mhz: rec.cpu_ledger.reservation,
            mem_capacity_mb: rec.mem_ledger.reservation,
        })
    }

    /// The validity of a root's tree: invalid when a pool below the root holds more
    /// reservations than its fixed reservation or its limit allows, overcommitted when the
    /// root's children reserve more than its current capacity, valid otherwise.
    pub fn root_validity(&self, root: PoolId) -> Result<Validity, ModelError> {
        let totals = self.root_reservations(root)?;
        let broken = |l: &Ledger| {
            (!l.expandable && l.used > l.reservation) || l.limit.is_some_and(|lim| l.used > lim)
        };
        let invalid = self
            .pools
            .iter()
            .flatten()
            .filter(|p| p.root == root && p.parent.is_some())
            .any(|p| broken(&p.cpu_ledger) || broken(&p.mem_ledger));
        if invalid {
            return Ok(Validity::Invalid);
        }
        if totals.cpu_used_mhz > totals.cpu_capacity_mhz
            || totals.mem_used_mb > totals.mem_capacity_mb
        {
            return Ok(Validity::Overcommitted);
        }
        Ok(Validity::Valid)
    }

    /// Hosts whose state is not [`HostState::Available`], with their states (id order).
    pub fn unavailable_hosts(&self) -> Vec<(HostId, HostState)> {
        let ids: BTreeSet<u32> = self.unavailable.keys().copied().collect();
        ids.into_iter()
            .filter_map(|h| self.unavailable.get(&h).map(|u| (HostId(h), u.state)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::Allocation;
    use crate::spec::{HostSpec, PoolSpec, VmSpec};
    use crate::workload::Workload;

    fn host(name: &str) -> HostSpec {
        HostSpec {
            name: name.into(),
            cores: 4,
            mhz_per_core: 2000,
            hyperthreading: false,
            memory_mb: 16_384,
        }
    }

    fn vm(name: &str, cpu_res: u64) -> VmSpec {
        VmSpec {
            name: name.into(),
            vcpus: 1,
            memory_mb: 1024,
            cpu: Allocation {
                reservation: cpu_res,
                ..Allocation::vm_default()
            },
            memory: Allocation::vm_default(),
        }
    }

    /// Three 8 000 MHz hosts in one root.
    fn cluster() -> (World, PoolId, [HostId; 3]) {
        let mut w = World::new(7);
        let hs = [
            w.add_host(host("a")),
            w.add_host(host("b")),
            w.add_host(host("c")),
        ];
        let root = w.add_root_pool("Resources", &hs).unwrap();
        (w, root, hs)
    }

    #[test]
    fn a_failed_host_leaves_both_capacities_and_stops_its_vms() {
        let (mut w, root, [a, b, _]) = cluster();
        let v1 = w.add_vm(root, a, vm("v1", 1000)).unwrap();
        let v2 = w.add_vm(root, b, vm("v2", 1000)).unwrap();
        w.power_on(v1).unwrap();
        w.power_on(v2).unwrap();
        let before = w.root_reservations(root).unwrap();
        assert_eq!(before.cpu_capacity_mhz, 24_000);
        assert_eq!(before.cpu_used_mhz, 2000);
        assert_eq!(w.set_host_state(a, HostState::Failed).unwrap(), vec![v1]);
        assert!(!w.is_powered_on(v1).unwrap());
        assert!(w.is_powered_on(v2).unwrap());
        let after = w.root_reservations(root).unwrap();
        assert_eq!(after.cpu_capacity_mhz, 16_000);
        assert_eq!(after.cpu_used_mhz, 1000);
        assert_eq!(
            w.pools[root.idx()].as_ref().unwrap().hosts,
            vec![b, HostId(2)]
        );
        // Admission follows: 16 000 − 1 000 reservable is left.
        let big = w.add_vm(root, b, vm("big", 8000)).unwrap();
        assert!(w.power_on(big).is_err(), "8 000 MHz do not fit host b");
        assert_eq!(w.unreserved(root, Resource::Cpu), 15_000);
        // Back: capacity returns, the stopped VM stays off.
        w.set_host_state(a, HostState::Available).unwrap();
        assert_eq!(w.root_reservations(root).unwrap().cpu_capacity_mhz, 24_000);
        assert!(!w.is_powered_on(v1).unwrap());
        assert!(w.unavailable_hosts().is_empty());
    }

    #[test]
    fn maintenance_needs_an_empty_host() {
        let (mut w, root, [a, b, _]) = cluster();
        let v = w.add_vm(root, a, vm("v", 0)).unwrap();
        w.power_on(v).unwrap();
        assert!(matches!(
            w.set_host_state(a, HostState::Maintenance),
            Err(ModelError::InvalidPowerState { vm, .. }) if vm == v
        ));
        w.migrate_vm(v, b).unwrap();
        assert_eq!(w.vm_placement(v).unwrap().1, b);
        assert!(
            w.set_host_state(a, HostState::Maintenance)
                .unwrap()
                .is_empty()
        );
        assert_eq!(w.host_state(a).unwrap(), HostState::Maintenance);
        // Nothing may move onto it.
        assert!(w.migrate_vm(v, a).is_err());
        assert_eq!(w.root_reservations(root).unwrap().cpu_capacity_mhz, 16_000);
    }

    #[test]
    fn a_disconnected_host_keeps_running_its_vms_uncharged() {
        let (mut w, root, [a, b, _]) = cluster();
        let pool = w
            .add_pool(
                root,
                PoolSpec {
                    name: "p".into(),
                    cpu: Allocation::pool_default(),
                    memory: Allocation::pool_default(),
                },
            )
            .unwrap();
        let v = w.add_vm(pool, a, vm("v", 3000)).unwrap();
        w.power_on(v).unwrap();
        w.set_workload(v, Workload::stress_cpu(1, None)).unwrap();
        assert_eq!(w.root_reservations(root).unwrap().cpu_used_mhz, 3000);
        w.set_host_state(a, HostState::Disconnected).unwrap();
        assert!(w.is_powered_on(v).unwrap());
        let r = w.root_reservations(root).unwrap();
        assert_eq!((r.cpu_used_mhz, r.cpu_capacity_mhz), (0, 16_000));
        // Its VM still gets CPU from its own host.
        let s = w.step(20);
        let usage = s
            .value(
                Entity::Vm(v),
                crate::counters::Counter::CpuUsagemhzAverage,
                None,
            )
            .unwrap();
        assert!(usage > 1500, "usage {usage}");
        // It cannot be migrated away while disconnected; reconnecting charges it again.
        assert!(w.migrate_vm(v, b).is_err());
        w.set_host_state(a, HostState::Available).unwrap();
        assert_eq!(w.root_reservations(root).unwrap().cpu_used_mhz, 3000);
        // A failure while disconnected releases the charge exactly once.
        w.set_host_state(a, HostState::Disconnected).unwrap();
        w.set_host_state(a, HostState::Failed).unwrap();
        assert_eq!(w.root_reservations(root).unwrap().cpu_used_mhz, 0);
        assert_eq!(w.pool_usage(pool).unwrap().cpu.reservation_used, 0);
    }

    #[test]
    fn restarts_go_through_admission_and_change_nothing_when_refused() {
        let (mut w, root, [a, b, c]) = cluster();
        let big = w.add_vm(root, a, vm("big", 7000)).unwrap();
        let other = w.add_vm(root, b, vm("other", 7000)).unwrap();
        w.power_on(big).unwrap();
        w.power_on(other).unwrap();
        w.set_host_state(a, HostState::Failed).unwrap();
        // Host b has 1 000 MHz left: refused there, nothing moved.
        assert!(matches!(
            w.restart_vm_on(big, b),
            Err(ModelError::Admission(_))
        ));
        assert_eq!(w.vm_placement(big).unwrap().1, a);
        assert!(matches!(
            w.restart_vm_on(big, a),
            Err(ModelError::InvalidSpec(_))
        ));
        w.restart_vm_on(big, c).unwrap();
        assert!(w.is_powered_on(big).unwrap());
        assert_eq!(w.vm_placement(big).unwrap().1, c);
        assert_eq!(w.host_unreserved(c).unwrap().0, 1000);
    }

    #[test]
    fn validity_follows_capacity_and_recharges() {
        let (mut w, root, [a, b, _]) = cluster();
        let fixed = |mhz| PoolSpec {
            name: "fixed".into(),
            cpu: Allocation {
                reservation: mhz,
                expandable_reservation: false,
                ..Allocation::pool_default()
            },
            memory: Allocation::pool_default(),
        };
        let pool = w.add_pool(root, fixed(20_000)).unwrap();
        assert_eq!(w.root_validity(root).unwrap(), Validity::Valid);
        // A failure leaves 16 000 MHz for a pool that reserves 20 000: overcommitted (yellow).
        w.set_host_state(a, HostState::Failed).unwrap();
        assert_eq!(w.root_validity(root).unwrap(), Validity::Overcommitted);
        w.set_host_state(a, HostState::Available).unwrap();
        assert_eq!(w.root_validity(root).unwrap(), Validity::Valid);

        // Inside the fixed pool: a VM on a host that disconnects stops counting, another VM
        // takes its reservation, and the reconnection charges the first again: red.
        let v1 = w.add_vm(pool, b, vm("v1", 6000)).unwrap();
        w.power_on(v1).unwrap();
        w.set_host_state(b, HostState::Disconnected).unwrap();
        let v2 = w.add_vm(pool, a, vm("v2", 6000)).unwrap();
        let v3 = w.add_vm(pool, a, vm("v3", 2000)).unwrap();
        w.power_on(v2).unwrap();
        w.update_pool(pool, fixed(8000).cpu, fixed(8000).memory)
            .unwrap();
        w.power_on(v3).unwrap();
        assert_eq!(w.root_validity(root).unwrap(), Validity::Valid);
        w.set_host_state(b, HostState::Available).unwrap();
        assert_eq!(w.root_validity(root).unwrap(), Validity::Invalid);
        assert_eq!(w.pool_usage(pool).unwrap().cpu.reservation_used, 14_000);
    }
}
