//! Inventory management: CreateDatacenter, CreateClusterEx, AddStandaloneHost / AddHost,
//! MoveIntoFolder, Destroy of empty datacenters and clusters, CreateDVS, and host
//! maintenance mode.
//!
//! Maintenance mode is kept simple: there is no DRS evacuation, so a host with powered-on
//! VMs refuses to enter (`InvalidState`); VMs on a host in maintenance mode cannot be
//! powered on, and placement skips such hosts.

use super::Emulator;
use super::build::{
    DEFAULT_HOST, add_compute, add_datacenter_folders, add_dvs, add_host, dc_for_hosts,
};
use crate::config::Flavor;
use crate::events::EventArgs;
use crate::inventory::{HostHardware, compute_summary};
use crate::vmodl::{Fault, MoRef, Value, is_a};

/// Most datacenters the inventory may hold.
pub const DATACENTERS_MAX: usize = 256;
/// Most compute resources (clusters and standalone hosts).
pub const COMPUTE_MAX: usize = 1024;
/// Most hosts.
pub const HOSTS_MAX: usize = 1024;

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
fn hardware_of(emu: &Emulator, h: &MoRef) -> HostHardware {
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

    fn host_event(&mut self, ty: &'static str, user: &str, host: &MoRef, msg: String) {
        let named = |e: &Emulator, r: &MoRef| {
            (
                r.clone(),
                e.inv
                    .lookup(r)
                    .map(|o| o.name().to_owned())
                    .unwrap_or_default(),
            )
        };
        let cr = self.inv.lookup(host).and_then(|o| o.parent().cloned());
        let args = EventArgs {
            datacenter: self.datacenter_of(host).map(|d| named(self, &d)),
            compute_resource: cr.map(|c| named(self, &c)),
            host: Some(named(self, host)),
            vm: None,
        };
        self.events
            .post(ty, self.clock.now_ms(), user, &args, msg, Vec::new());
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

    /// `EnterMaintenanceMode_Task`: `InvalidState` when already in maintenance mode or when
    /// powered-on VMs run on the host (no DRS evacuation in the emulator).
    pub fn enter_maintenance(&mut self, user: &str, host: &MoRef) -> Result<(), Fault> {
        let name = self.inv.get(host)?.name().to_owned();
        if self.in_maintenance(host) {
            return Err(Fault::invalid_state(format!(
                "The host {name} is already in maintenance mode"
            )));
        }
        let running = self
            .inv
            .refs(host, "vm")
            .iter()
            .filter(|vm| self.power_state(vm).is_ok_and(|s| s == "poweredOn"))
            .count();
        if running > 0 {
            return Err(Fault::invalid_state(format!(
                "The host {name} has {running} powered-on virtual machines; power them off or move them first"
            )));
        }
        self.set_maintenance(host, true)?;
        self.host_event(
            "EnteredMaintenanceModeEvent",
            user,
            host,
            format!(
                "Host {name} in {} has entered maintenance mode",
                self.dc_name(host)
            ),
        );
        Ok(())
    }

    /// `ExitMaintenanceMode_Task`: `InvalidState` when not in maintenance mode.
    pub fn exit_maintenance(&mut self, user: &str, host: &MoRef) -> Result<(), Fault> {
        let name = self.inv.get(host)?.name().to_owned();
        if !self.in_maintenance(host) {
            return Err(Fault::invalid_state(format!(
                "The host {name} is not in maintenance mode"
            )));
        }
        self.set_maintenance(host, false)?;
        self.host_event(
            "ExitMaintenanceModeEvent",
            user,
            host,
            format!(
                "Host {name} in {} has exited maintenance mode",
                self.dc_name(host)
            ),
        );
        Ok(())
    }

    fn dc_name(&self, r: &MoRef) -> String {
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

fn build_fault(e: super::BuildError) -> Fault {
    match e {
        super::BuildError::Fault(f) => f,
        super::BuildError::Model(m) => Fault::invalid_state(m),
    }
}
