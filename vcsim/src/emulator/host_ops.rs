//! Inventory management: CreateDatacenter, CreateClusterEx, AddStandaloneHost / AddHost,
//! MoveIntoFolder, Destroy of empty datacenters and clusters, CreateDVS, and host
//! maintenance mode with DRS evacuation.
//!
//! Maintenance mode: in a DRS cluster whose automation level is fully automated the host's
//! VMs migrate away first; otherwise the task waits for them to go (see
//! [`Emulator::enter_maintenance`]). VMs on a host in (or entering) maintenance mode cannot
//! be powered on, placement skips such hosts, and the host's capacity leaves its cluster in
//! the model.

use super::Emulator;
use super::build::{
    DEFAULT_HOST, add_compute, add_datacenter_folders, add_dvs, add_host, dc_for_hosts,
};
use super::host_state::EnterWait;
use crate::config::Flavor;
use crate::inventory::{HostHardware, compute_summary};
use crate::vmodl::{DataObject, Fault, MoRef, Value, is_a};

/// Most datacenters the inventory may hold.
pub const DATACENTERS_MAX: usize = 256;
/// Most compute resources (clusters and standalone hosts).
pub const COMPUTE_MAX: usize = 1024;
/// Most hosts.
pub const HOSTS_MAX: usize = 1024;

/// The names a VM-moved event's message mentions.
pub(super) struct MovedNames {
    /// The VM.
    pub vm: String,
    /// The host it is on now.
    pub to: String,
    /// The host it left.
    pub from: String,
    /// Its cluster.
    pub cluster: String,
}

fn count(emu: &Emulator, base: &str) -> usize {
    emu.inv.iter().filter(|o| is_a(&o.moref.ty, base)).count()
}

fn check_name(name: &str, field: &str) -> Result<String, Fault> {
    crate::inventory::entity_name(name, field)
}

/// `folder` must accept children of type `ty` (its `childType`), else `NotSupported`.
fn accepts(emu: &Emulator, folder: &MoRef, ty: &str) -> Result<(), Fault> {
    let obj = emu.inv.get(folder)?;
    let ok = obj
        .get("childType")
        .map(|v| {
            v.items()
                .iter()
                .filter_map(Value::as_str)
                .any(|t| is_a(ty, t))
        })
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(Fault::not_supported(format!(
            "The folder {} cannot hold objects of type {ty}",
            obj.name()
        )))
    }
}

fn no_duplicate(emu: &Emulator, parent: &MoRef, name: &str) -> Result<(), Fault> {
    match emu.inv.child_named(parent, name) {
        Some(existing) => Err(Fault::duplicate_name(name, &existing)),
        None => Ok(()),
    }
}

fn vcenter_only(emu: &Emulator, what: &str) -> Result<(), Fault> {
    if emu.flavor == Flavor::HostAgent {
        return Err(Fault::not_supported(format!(
            "{what} is not supported on ESXi"
        )));
    }
    Ok(())
}

/// The hardware of an inventory host, read back from its summary.
pub(super) fn hardware_of(emu: &Emulator, h: &MoRef) -> HostHardware {
    let hw = emu.inv.prop(h, "summary").and_then(|s| s.field("hardware"));
    let int = |f: &str| {
        hw.and_then(|v| v.field(f))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let cores = int("numCpuCores").max(1) as u32;
    HostHardware {
        cores,
        mhz_per_core: int("cpuMhz").max(1) as u32,
        hyperthreading: int("numCpuThreads") as u32 > cores,
        memory_mb: (int("memorySize") / (1024 * 1024)).max(1) as u64,
    }
}

impl Emulator {
    /// Whether a host is in maintenance mode.
    pub fn in_maintenance(&self, host: &MoRef) -> bool {
        self.inv
            .prop(host, "runtime")
            .and_then(|r| r.field("inMaintenanceMode"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    fn set_maintenance(&mut self, host: &MoRef, on: bool) -> Result<(), Fault> {
        self.inv.update(host, |o| {
            if let Some(rt) = o.props.get_mut("runtime").and_then(Value::as_data_mut) {
                rt.set("inMaintenanceMode", Value::Bool(on));
            }
            if let Some(rt) = o
                .props
                .get_mut("summary")
                .and_then(Value::as_data_mut)
                .and_then(|s| s.get_mut("runtime"))
                .and_then(Value::as_data_mut)
            {
                rt.set("inMaintenanceMode", Value::Bool(on));
            }
        })
    }

    /// What still keeps a host from maintenance mode: its powered-on VMs, and with
    /// `powered_off_too` its other VMs (templates never count).
    fn blocking_vms(&self, host: &MoRef, powered_off_too: bool) -> Vec<MoRef> {
        self.inv
            .refs(host, "vm")
            .into_iter()
            .filter(|vm| !self.is_template(vm))
            .filter(|vm| powered_off_too || self.power_state(vm).is_ok_and(|s| s != "poweredOff"))
            .collect()
    }

    /// Moves `vm` to `target` of the same cluster (vMotion when powered on): the model
    /// first (`migrate_vm` checks the target and its reservations), then the inventory,
    /// with a `DrsVmMigratedEvent` naming the source host.
    pub(super) fn drs_migrate(
        &mut self,
        user: &str,
        vm: &MoRef,
        target: &MoRef,
    ) -> Result<(), Fault> {
        let source = self
            .host_of(vm)
            .ok_or_else(|| Fault::invalid_state("the virtual machine has no host"))?;
        let id = self.model_vm(vm)?;
        let host_id = *self
            .ids
            .hosts
            .get(&target.value)
            .ok_or_else(|| Fault::invalid_argument("host"))?;
        self.world
            .migrate_vm(id, host_id)
            .map_err(super::vm_ops::model_fault)?;
        let _ = self.inv.pull_ref(&source, "vm", vm);
        self.inv.push_ref(target, "vm", vm)?;
        self.set_runtime(vm, |rt| rt.set("host", Value::moref(target)))?;
        let powered_on = self.power_state(vm)? == "poweredOn";
        let dc = self.dc_name(vm);
        self.post_vm_moved_event("DrsVmMigratedEvent", user, vm, &source, |n| {
            format!(
                "DRS migrated {} from {} to {} in cluster {} in {dc}",
                n.vm, n.from, n.to, n.cluster
            )
        });
        if powered_on && let Some(c) = self.cluster_of_host(target) {
            *self.host_states.vmotions.entry(c.value).or_default() += 1;
        }
        Ok(())
    }

    /// Posts an event of a VM now on another host than `source` (a migration, an HA
    /// restart), with its `sourceHost` argument; `message` gets the names it mentions.
    pub(super) fn post_vm_moved_event(
        &mut self,
        ty: &'static str,
        user: &str,
        vm: &MoRef,
        source: &MoRef,
        message: impl FnOnce(&MovedNames) -> String,
    ) {
        let args = self.vm_event_args(vm);
        let name_of = |x: &Option<(MoRef, String)>| x.as_ref().map(|(_, n)| n.clone());
        let names = MovedNames {
            vm: name_of(&args.vm).unwrap_or_default(),
            to: name_of(&args.host).unwrap_or_default(),
            cluster: name_of(&args.compute_resource).unwrap_or_default(),
            from: self
                .inv
                .lookup(source)
                .map(|o| o.name().to_owned())
                .unwrap_or_default(),
        };
        let src = DataObject::new("HostEventArgument")
            .with("name", Value::str(names.from.clone()))
            .with("host", Value::moref(source))
            .into_value();
        self.events.post(
            ty,
            self.clock.now_ms(),
            user,
            &args,
            message(&names),
            vec![("template", Value::Bool(false)), ("sourceHost", src)],
        );
    }

    /// DRS evacuation of a host entering maintenance mode: in a DRS cluster, every VM DRS
    /// may move by itself (fully automated, for the cluster or by its override) migrates to
    /// the best other host that takes it (most unreserved capacity, as for HA restarts);
    /// powered-off VMs too with `powered_off_too`. What fits nowhere stays.
    fn drs_evacuate(&mut self, user: &str, host: &MoRef, powered_off_too: bool) {
        let Some(cluster) = self.cluster_of_host(host) else {
            return;
        };
        for vm in self.blocking_vms(host, powered_off_too) {
            if !self.drs_moves(&cluster, &vm) {
                continue;
            }
            for target in self.ranked_hosts(&cluster, Some(host)) {
                if self.drs_migrate(user, &vm, &target).is_ok() {
                    break;
                }
            }
        }
    }

    fn finish_enter(&mut self, user: &str, host: &MoRef) -> Result<(), Fault> {
        self.set_maintenance(host, true)?;
        self.sync_model_host(host)?;
        let name = self.inv.get(host)?.name().to_owned();
        let dc = self.dc_name(host);
        self.post_host_event(
            "EnteredMaintenanceModeEvent",
            user,
            host,
            format!("Host {name} in {dc} has entered maintenance mode"),
            Vec::new(),
        );
        if let Some(c) = self.cluster_of_host(host) {
            self.refresh_cluster(&c);
        }
        Ok(())
    }

    /// `EnterMaintenanceMode_Task(timeout, evacuatePoweredOffVms)`: in a DRS cluster whose
    /// automation level is fully automated, the host's VMs migrate to the other hosts first
    /// (`DrsVmMigratedEvent` each); the host enters maintenance mode once no powered-on VM
    /// (with `evacuate_powered_off`, no VM) is left. Otherwise vCenter's task waits for the
    /// VMs to go: with `timeout_s` > 0 the task stays running ([`EnterOutcome::Waiting`])
    /// and ends at a later interval — success when they are gone, `Timedout` after
    /// `timeout_s` of virtual time; with `timeout_s` ≤ 0 (vCenter: wait forever) the emulator
    /// refuses at once with `InvalidState` naming them, so no client waits on a task nothing
    /// will finish.
    pub fn enter_maintenance(
        &mut self,
        user: &str,
        host: &MoRef,
        timeout_s: i64,
        evacuate_powered_off: bool,
    ) -> Result<EnterOutcome, Fault> {
        let name = self.inv.get(host)?.name().to_owned();
        if self.in_maintenance(host) {
            return Err(Fault::invalid_state(format!(
                "The host {name} is already in maintenance mode"
            )));
        }
        if self.host_states.entering.contains_key(&host.value) {
            return Err(Fault::invalid_state(format!(
                "The host {name} is already entering maintenance mode"
            )));
        }
        if !self.host_connected(host) {
            return Err(Fault::new(
                "HostNotConnected",
                format!("The host {name} is not connected"),
            ));
        }
        self.drs_evacuate(user, host, evacuate_powered_off);
        let left = self.blocking_vms(host, evacuate_powered_off);
        if !left.is_empty() && timeout_s <= 0 {
            let running = left
                .iter()
                .filter(|vm| self.power_state(vm).is_ok_and(|s| s != "poweredOff"))
                .count();
            return Err(Fault::invalid_state(format!(
                "The host {name} has {} virtual machines ({running} powered on) that must move or power off first; DRS did not move them",
                left.len()
            )));
        }
        let dc = self.dc_name(host);
        self.post_host_event(
            "EnteringMaintenanceModeEvent",
            user,
            host,
            format!("Host {name} in {dc} has started to enter maintenance mode"),
            Vec::new(),
        );
        if left.is_empty() {
            self.finish_enter(user, host)?;
            Ok(EnterOutcome::Entered)
        } else {
            Ok(EnterOutcome::Waiting)
        }
    }

    /// Registers the running task of an [`EnterOutcome::Waiting`] request.
    pub fn wait_for_maintenance(
        &mut self,
        user: &str,
        host: &MoRef,
        task: &MoRef,
        timeout_s: i64,
        evacuate_powered_off: bool,
    ) {
        let deadline_ms = self
            .clock
            .now_ms()
            .saturating_add(timeout_s.saturating_mul(1000));
        self.host_states.entering.insert(
            host.value.clone(),
            EnterWait {
                task: task.clone(),
                deadline_ms,
                evacuate_powered_off,
                user: user.to_owned(),
            },
        );
    }

    /// Ends maintenance-mode tasks whose host is now empty (DRS tries again first) or whose
    /// timeout passed.
    pub(super) fn maintenance_on_interval(&mut self, now_ms: i64) {
        let waiting: Vec<(String, EnterWait)> = self
            .host_states
            .entering
            .iter()
            .map(|(h, w)| (h.clone(), w.clone()))
            .collect();
        for (h, w) in waiting {
            let host = MoRef::new("HostSystem", h.clone());
            self.drs_evacuate(&w.user, &host, w.evacuate_powered_off);
            let outcome = if self.blocking_vms(&host, w.evacuate_powered_off).is_empty() {
                self.host_states.entering.remove(&h);
                self.finish_enter(&w.user, &host).map(|()| None)
            } else if now_ms >= w.deadline_ms {
                self.host_states.entering.remove(&h);
                Err(Fault::new(
                    "Timedout",
                    "Operation timed out: the host still has virtual machines that did not move or power off",
                ))
            } else {
                continue;
            };
            self.tasks.finish(&mut self.inv, &w.task, now_ms, &outcome);
        }
    }

    /// `ExitMaintenanceMode_Task`: `InvalidState` when not in maintenance mode. The host's
    /// capacity returns to its cluster.
    pub fn exit_maintenance(&mut self, user: &str, host: &MoRef) -> Result<(), Fault> {
        let name = self.inv.get(host)?.name().to_owned();
        if !self.in_maintenance(host) {
            return Err(Fault::invalid_state(format!(
                "The host {name} is not in maintenance mode"
            )));
        }
        self.set_maintenance(host, false)?;
        self.sync_model_host(host)?;
        let dc = self.dc_name(host);
        self.post_host_event(
            "ExitMaintenanceModeEvent",
            user,
            host,
            format!("Host {name} in {dc} has exited maintenance mode"),
            Vec::new(),
        );
        if let Some(c) = self.cluster_of_host(host) {
            self.refresh_cluster(&c);
        }
        Ok(())
    }

    /// The name of the datacenter holding `r`.
    pub(super) fn dc_name(&self, r: &MoRef) -> String {
        self.datacenter_of(r)
            .and_then(|d| self.inv.lookup(&d).map(|o| o.name().to_owned()))
            .unwrap_or_default()
    }

    /// `CreateDatacenter(name)` in a folder that holds datacenters: an empty datacenter with
    /// its four folders.
    pub fn create_datacenter(&mut self, folder: &MoRef, name: &str) -> Result<MoRef, Fault> {
        vcenter_only(self, "CreateDatacenter")?;
        let name = &check_name(name, "name")?;
        accepts(self, folder, "Datacenter")?;
        no_duplicate(self, folder, name)?;
        if count(self, "Datacenter") >= DATACENTERS_MAX {
            return Err(Fault::invalid_state("Too many datacenters"));
        }
        Ok(add_datacenter_folders(self, name, folder)?.0)
    }

    fn host_folder_dc(&self, folder: &MoRef) -> Result<MoRef, Fault> {
        accepts(self, folder, "ComputeResource")?;
        self.datacenter_of(folder)
            .ok_or_else(|| Fault::invalid_argument("_this"))
    }

    fn check_compute_room(&self, hosts: usize) -> Result<(), Fault> {
        if count(self, "ComputeResource") >= COMPUTE_MAX
            || count(self, "HostSystem") + hosts > HOSTS_MAX
        {
            return Err(Fault::invalid_state("Too many compute resources or hosts"));
        }
        Ok(())
    }

    /// `CreateClusterEx(name, spec)` in a host folder: a cluster without hosts.
    pub fn create_cluster(&mut self, folder: &MoRef, name: &str) -> Result<MoRef, Fault> {
        vcenter_only(self, "CreateClusterEx")?;
        let name = &check_name(name, "name")?;
        let dc = self.host_folder_dc(folder)?;
        no_duplicate(self, folder, name)?;
        self.check_compute_room(0)?;
        let mut d = dc_for_hosts(self, &dc)?;
        d.folders.host = folder.clone();
        let (cr, _, _) = add_compute(self, &d, name, true, &[]).map_err(build_fault)?;
        Ok(cr)
    }

    fn check_new_host(&self, host_name: &str) -> Result<(), Fault> {
        let host_name = &check_name(host_name, "spec.hostName")?;
        if self
            .inv
            .iter()
            .any(|o| o.moref.ty == "HostSystem" && o.name() == host_name)
        {
            return Err(Fault::new(
                "AlreadyConnected",
                format!("The host {host_name} is already managed by this vCenter Server"),
            )
            .with("name", Value::str(host_name)));
        }
        self.check_compute_room(1)
    }

    /// `AddStandaloneHost_Task(spec)` in a host folder: a compute resource named after the
    /// host, holding one host with the default hardware.
    pub fn add_standalone_host(&mut self, folder: &MoRef, host_name: &str) -> Result<MoRef, Fault> {
        vcenter_only(self, "AddStandaloneHost_Task")?;
        let dc = self.host_folder_dc(folder)?;
        self.check_new_host(host_name)?;
        no_duplicate(self, folder, host_name)?;
        let mut d = dc_for_hosts(self, &dc)?;
        d.folders.host = folder.clone();
        let (cr, _, _) = add_compute(
            self,
            &d,
            host_name,
            false,
            &[(host_name.to_owned(), DEFAULT_HOST)],
        )
        .map_err(build_fault)?;
        Ok(cr)
    }

    /// `AddHost_Task(spec)` on a cluster: one more host with the default hardware. The
    /// first host of an empty cluster gives its root pool a model twin; the model fixes a
    /// root pool's hosts, so later hosts join the inventory and the cluster's totals but
    /// placement skips them (`detached_hosts`).
    pub fn add_host_to_cluster(
        &mut self,
        cluster: &MoRef,
        host_name: &str,
    ) -> Result<MoRef, Fault> {
        vcenter_only(self, "AddHost_Task")?;
        self.inv.get(cluster)?;
        self.check_new_host(host_name)?;
        let dc = self
            .datacenter_of(cluster)
            .ok_or_else(|| Fault::invalid_argument("_this"))?;
        let d = dc_for_hosts(self, &dc)?;
        let first = self.inv.refs(cluster, "host").is_empty();
        let h = add_host(self, &d, cluster, host_name, &DEFAULT_HOST)?;
        let hosts = self.inv.refs(cluster, "host");
        let hws: Vec<HostHardware> = hosts.iter().map(|h| hardware_of(self, h)).collect();
        self.inv
            .set(cluster, "summary", compute_summary(&hws, true))?;
        if first {
            self.attach_root_pool(cluster, &hosts)?;
        } else {
            self.detached_hosts.insert(h.value.clone());
        }
        self.refresh_cluster(cluster);
        Ok(h)
    }

    /// `MoveIntoFolder_Task(list)`: entities the folder's `childType` accepts, from the same
    /// datacenter; a folder never moves into itself or below itself (`InvalidFolder`).
    /// Names must stay unique in the target (`DuplicateName`). All are checked first.
    pub fn move_into_folder(&mut self, folder: &MoRef, list: &[MoRef]) -> Result<(), Fault> {
        if list.is_empty() || list.len() > 10_000 {
            return Err(Fault::invalid_argument("list"));
        }
        let target_dc = self.datacenter_of(folder);
        let mut names = std::collections::BTreeSet::new();
        for e in list {
            let obj = self.inv.get(e)?;
            let ty = obj.moref.ty.clone();
            accepts(self, folder, &ty)?;
            if self.datacenter_of(e) != target_dc {
                return Err(Fault::not_supported(
                    "Entities move only between folders of the same datacenter",
                ));
            }
            // The target may not be the entity or lie below it.
            let mut cur = Some(folder.clone());
            for _ in 0..64 {
                let Some(c) = cur else { break };
                if c == *e {
                    return Err(Fault::new(
                        "InvalidFolder",
                        "A folder cannot be moved into itself or a descendant",
                    )
                    .with("target", Value::moref(e)));
                }
                cur = self.inv.lookup(&c).and_then(|o| o.parent().cloned());
            }
            let name = obj.name().to_owned();
            if obj.parent() != Some(folder)
                && let Some(existing) = self.inv.child_named(folder, &name)
            {
                return Err(Fault::duplicate_name(&name, &existing));
            }
            if !names.insert(name.clone()) {
                return Err(Fault::duplicate_name(&name, e));
            }
        }
        for e in list {
            let old = self.inv.get(e)?.parent().cloned();
            if old.as_ref() == Some(folder) {
                continue;
            }
            if let Some(p) = old {
                self.inv.pull_ref(&p, "childEntity", e)?;
            }
            self.inv.push_ref(folder, "childEntity", e)?;
            self.inv.set(e, "parent", Value::moref(folder))?;
        }
        Ok(())
    }

    /// `Destroy_Task` of a datacenter whose folders are all empty (`ResourceInUse`
    /// otherwise).
    pub fn destroy_datacenter(&mut self, dc: &MoRef) -> Result<(), Fault> {
        let obj = self.inv.get(dc)?.clone();
        let folders: Vec<MoRef> = ["vmFolder", "hostFolder", "datastoreFolder", "networkFolder"]
            .iter()
            .filter_map(|f| obj.get(f).and_then(Value::as_moref).cloned())
            .collect();
        if folders
            .iter()
            .any(|f| !self.inv.refs(f, "childEntity").is_empty())
        {
            return Err(Fault::new(
                "ResourceInUse",
                format!("The datacenter {} is not empty", obj.name()),
            ));
        }
        for f in &folders {
            self.inv.remove(f);
        }
        if let Some(p) = obj.parent() {
            self.inv.pull_ref(p, "childEntity", dc)?;
        }
        self.inv.remove(dc);
        Ok(())
    }

    /// `Destroy_Task` of a cluster without hosts, VMs or child pools (`ResourceInUse`
    /// otherwise).
    pub fn destroy_cluster(&mut self, cr: &MoRef) -> Result<(), Fault> {
        let obj = self.inv.get(cr)?.clone();
        let pool = obj.get("resourcePool").and_then(Value::as_moref).cloned();
        let busy = !self.inv.refs(cr, "host").is_empty()
            || pool.as_ref().is_some_and(|p| {
                !self.inv.refs(p, "vm").is_empty() || !self.inv.refs(p, "resourcePool").is_empty()
            });
        if busy {
            return Err(Fault::new(
                "ResourceInUse",
                format!(
                    "The cluster {} still has hosts or virtual machines",
                    obj.name()
                ),
            ));
        }
        if let Some(p) = pool {
            if let Some(id) = self.ids.pools.remove(&p.value) {
                let _ = self.world.remove_pool(id);
            }
            self.inv.remove(&p);
        }
        if let Some(b) = obj.get("environmentBrowser").and_then(Value::as_moref) {
            self.inv.remove(b);
        }
        if let Some(p) = obj.parent() {
            self.inv.pull_ref(p, "childEntity", cr)?;
        }
        self.inv.remove(cr);
        Ok(())
    }

    /// `CreateDVS_Task` in a network folder: a VMware distributed switch with its uplink
    /// port group.
    pub fn create_dvs(&mut self, folder: &MoRef, name: &str) -> Result<MoRef, Fault> {
        vcenter_only(self, "CreateDVS_Task")?;
        let name = &check_name(name, "spec.configSpec.name")?;
        accepts(self, folder, "VmwareDistributedVirtualSwitch")?;
        let dc = self
            .datacenter_of(folder)
            .ok_or_else(|| Fault::invalid_argument("_this"))?;
        if let Some(existing) = self.inv.iter().find(|o| {
            is_a(&o.moref.ty, "DistributedVirtualSwitch")
                && o.name() == name
                && self.datacenter_of(&o.moref).as_ref() == Some(&dc)
        }) {
            return Err(Fault::duplicate_name(name, &existing.moref));
        }
        if count(self, "DistributedVirtualSwitch") >= 256 {
            return Err(Fault::invalid_state("Too many distributed switches"));
        }
        Ok(add_dvs(self, &dc, folder, name)?.0)
    }
}

/// How an `EnterMaintenanceMode_Task` request ended for now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnterOutcome {
    /// The host is in maintenance mode.
    Entered,
    /// VMs are still there: the task keeps running (see [`Emulator::wait_for_maintenance`]).
    Waiting,
}

fn build_fault(e: super::BuildError) -> Fault {
    match e {
        super::BuildError::Fault(f) => f,
        super::BuildError::Model(m) => Fault::invalid_state(m),
    }
}
