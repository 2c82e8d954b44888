//! VM lifecycle across the inventory, the contention model, the guest agents and events:
//! create, power on/off, suspend, reset, reconfigure, rename, destroy (unregistering,
//! registering and templates are in `vm_register`).

use super::Emulator;
use crate::events::EventArgs;
use crate::guest::GuestEvent;
use crate::inventory::{
    VmDescription, allocation_info, default_devices, shares_info, virtual_machine,
    vm_quick_stats_idle,
};
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use scheduler_model::{Allocation, ModelError, Shares, VmSpec};

/// Most unregistered VM descriptions kept for RegisterVM_Task (oldest dropped first).
pub const UNREGISTERED_MAX: usize = 1024;

/// Where a new VM goes.
#[derive(Clone, Debug)]
pub struct VmPlacement {
    /// The VM folder it is listed in.
    pub folder: MoRef,
    /// Its resource pool.
    pub pool: MoRef,
    /// Its host (chosen from the pool's compute resource when absent).
    pub host: Option<MoRef>,
}

/// What a new VM is.
#[derive(Clone, Debug, Default)]
pub struct VmCreate {
    /// Display name.
    pub name: String,
    /// vCPUs.
    pub num_cpu: i32,
    /// Memory in MB.
    pub memory_mb: i32,
    /// Guest id.
    pub guest_id: Option<String>,
    /// Devices; `None` gives the default set (controllers, disk, NIC).
    pub devices: Option<Vec<Value>>,
    /// extraConfig entries (OptionValue data objects).
    pub extra_config: Vec<Value>,
    /// `cpuAllocation` as sent.
    pub cpu_allocation: Option<Value>,
    /// `memoryAllocation` as sent.
    pub memory_allocation: Option<Value>,
    /// Annotation.
    pub annotation: Option<String>,
    /// `files.vmPathName` as sent (`[LocalDS_0]` or a full path).
    pub vmx_path: Option<String>,
}

impl VmCreate {
    /// What `create_vm` takes to make VM `name` again from a `VirtualMachineConfigInfo`
    /// (`config`): its CPUs and memory (clamped to `i32`), guest, `devices` (as the caller
    /// prepared them: None keeps the config's), extraConfig, allocations, annotation and
    /// `.vmx` path. Shared by RegisterVM_Task's memory of unregistered VMs and clones.
    pub fn from_config(
        name: &str,
        config: &Value,
        devices: Option<Vec<Value>>,
        vmx_path: String,
    ) -> VmCreate {
        let hw = config.field("hardware");
        let int = |f: &str, d: i64| {
            hw.and_then(|h| h.field(f))
                .and_then(Value::as_i64)
                .unwrap_or(d)
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        };
        VmCreate {
            name: name.to_owned(),
            num_cpu: int("numCPU", 1),
            memory_mb: int("memoryMB", 32),
            guest_id: config
                .field("guestId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            devices: devices.or_else(|| {
                hw.and_then(|h| h.field("device"))
                    .map(|d| d.items().to_vec())
            }),
            extra_config: config
                .field("extraConfig")
                .map(|e| e.items().to_vec())
                .unwrap_or_default(),
            cpu_allocation: config.field("cpuAllocation").cloned(),
            memory_allocation: config.field("memoryAllocation").cloned(),
            annotation: config
                .field("annotation")
                .and_then(Value::as_str)
                .map(str::to_owned),
            vmx_path: Some(vmx_path),
        }
    }
}

/// Reads a `ResourceAllocationInfo` into the model's allocation (MHz or MB).
pub fn allocation_from(v: Option<&Value>, for_pool: bool) -> Allocation {
    let mut a = if for_pool {
        Allocation::pool_default()
    } else {
        Allocation::vm_default()
    };
    let Some(v) = v else { return a };
    if let Some(r) = v.field("reservation").and_then(Value::as_i64) {
        a.reservation = r.max(0) as u64;
    }
    if let Some(l) = v.field("limit").and_then(Value::as_i64) {
        a.limit = (l >= 0).then_some(l as u64);
    }
    if let Some(e) = v.field("expandableReservation").and_then(Value::as_bool) {
        a.expandable_reservation = e;
    }
    if let Some(s) = v.field("shares") {
        a.shares = match s.field("level").and_then(Value::as_str) {
            Some("low") => Shares::Low,
            Some("high") => Shares::High,
            Some("custom") => Shares::Custom(
                s.field("shares")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    .max(0) as u32,
            ),
            _ => Shares::Normal,
        };
    }
    a
}

/// vSphere's share count for a level (VM CPU per vCPU, VM memory per MB, or pool values).
pub fn shares_value(
    a: &Allocation,
    cpu: bool,
    for_pool: bool,
    vcpus: u32,
    memory_mb: u64,
) -> Value {
    let (level, count) = match a.shares {
        Shares::Low => ("low", 0),
        Shares::Normal => ("normal", 0),
        Shares::High => ("high", 0),
        Shares::Custom(n) => ("custom", n as u64),
    };
    let count = match (a.shares, cpu, for_pool) {
        (Shares::Custom(_), _, _) => count,
        (s, true, true) => s.cpu_pool(),
        (s, true, false) => s.cpu_vm(vcpus),
        (s, false, true) => s.mem_pool(),
        (s, false, false) => s.mem_vm(memory_mb),
    };
    shares_info(level, count.min(i32::MAX as u64) as i32)
}

/// The allocation as a `ResourceAllocationInfo` value.
pub fn allocation_value(
    a: &Allocation,
    cpu: bool,
    for_pool: bool,
    vcpus: u32,
    memory_mb: u64,
) -> Value {
    allocation_info(
        a.reservation as i64,
        a.limit.map(|l| l as i64).unwrap_or(-1),
        shares_value(a, cpu, for_pool, vcpus, memory_mb),
        for_pool && a.expandable_reservation,
    )
}

/// Maps a model refusal onto the vSphere fault a client would see.
pub fn model_fault(e: ModelError) -> Fault {
    match e {
        ModelError::Admission(a) => Fault::insufficient_resources(a.reason),
        ModelError::InvalidSpec(s) => Fault::invalid_argument(&s),
        // The model refuses vCPU and memory changes of a running VM (no hot-add), as
        // vSphere does with InvalidPowerState.
        ModelError::InvalidPowerState { .. } => Fault::invalid_power_state(None, "poweredOn"),
        other => Fault::invalid_state(other.to_string()),
    }
}

/// What vCenter fills in for devices a client adds without: disk file names in the VM's
/// folder (`[ds] vm/vm.vmdk`, `vm_1.vmdk`, …) with their datastore, and generated MACs.
fn fill_device_defaults(
    devices: &mut [Value],
    vm_dir: &str,
    vm_name: &str,
    datastore: &MoRef,
    idgen: &mut crate::ids::IdGen,
) {
    let mut disks = 0;
    for dev in devices.iter_mut() {
        let is_disk = dev.xsi_type() == "VirtualDisk" || dev.field("capacityInKB").is_some();
        let is_nic = dev.field("macAddress").is_some() || dev.field("addressType").is_some();
        let Some(d) = dev.as_data_mut() else { continue };
        if is_disk {
            if let Some(b) = d.get_mut("backing").and_then(Value::as_data_mut) {
                let name = b
                    .get("fileName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                if name.is_empty() || name.ends_with(']') {
                    let file = if disks == 0 {
                        format!("{vm_name}.vmdk")
                    } else {
                        format!("{vm_name}_{disks}.vmdk")
                    };
                    b.set("fileName", Value::str(format!("{vm_dir}{file}")));
                }
                if b.get("datastore").is_none() {
                    b.set("datastore", Value::moref(datastore));
                }
            }
            disks += 1;
        }
        if is_nic
            && d.get("macAddress")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            d.set("macAddress", Value::str(idgen.mac()));
            d.set("addressType", Value::str("generated"));
        }
    }
}

/// The key under which a `.vmx` path is known: the normalised `[ds] dir/file.vmx`.
pub fn vmx_key(path: &str) -> Option<String> {
    let (ds, rel) = crate::methods::parse_datastore_path(path)?;
    if rel.is_empty() {
        return None;
    }
    Some(crate::methods::datastore_key(&ds, &rel))
}

impl Emulator {
    /// The datacenter containing `r`.
    pub fn datacenter_of(&self, r: &MoRef) -> Option<MoRef> {
        let mut cur = Some(r.clone());
        for _ in 0..64 {
            let c = cur?;
            if c.ty == "Datacenter" {
                return Some(c);
            }
            cur = self.inv.lookup(&c).and_then(|o| o.parent().cloned());
        }
        None
    }

    fn named(&self, r: &MoRef) -> (MoRef, String) {
        (
            r.clone(),
            self.inv
                .lookup(r)
                .map(|o| o.name().to_owned())
                .unwrap_or_default(),
        )
    }

    /// Event arguments for a VM (datacenter, compute resource, host, VM).
    pub fn vm_event_args(&self, vm: &MoRef) -> EventArgs {
        let host = self
            .inv
            .prop(vm, "runtime")
            .and_then(|r| r.field("host"))
            .and_then(Value::as_moref)
            .cloned();
        let cr = host
            .as_ref()
            .and_then(|h| self.inv.lookup(h))
            .and_then(|o| o.parent().cloned());
        EventArgs {
            datacenter: self.datacenter_of(vm).map(|d| self.named(&d)),
            compute_resource: cr.map(|c| self.named(&c)),
            host: host.map(|h| self.named(&h)),
            vm: Some(self.named(vm)),
        }
    }

    pub(super) fn post_vm_event(&mut self, ty: &'static str, user: &str, vm: &MoRef, verb: &str) {
        let args = self.vm_event_args(vm);
        let name = args.vm.as_ref().map(|(_, n)| n.clone()).unwrap_or_default();
        let host = args
            .host
            .as_ref()
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let msg = format!("{name} on {host} {verb}");
        let extra = vec![("template", Value::Bool(false))];
        self.events
            .post(ty, self.clock.now_ms(), user, &args, msg, extra);
    }

    /// The compute resource owning a pool.
    pub fn owner_of_pool(&self, pool: &MoRef) -> Option<MoRef> {
        self.inv
            .prop(pool, "owner")
            .and_then(Value::as_moref)
            .cloned()
    }

    pub(super) fn pick_host(&self, pool: &MoRef) -> Result<MoRef, Fault> {
        let owner = self
            .owner_of_pool(pool)
            .ok_or_else(|| Fault::invalid_argument("pool"))?;
        // DRS clusters: the host DRS's initial placement ranks first (`drs_place.rs`).
        if owner.ty == "ClusterComputeResource"
            && let Some(h) = self.drs_rank_hosts(&owner, None).into_iter().next()
        {
            return Ok(h);
        }
        let hosts = self.inv.refs(&owner, "host");
        // Fewest VMs first, then inventory order: deterministic and spreads load like DRS's
        // initial placement would for idle hosts. Hosts in (or entering) maintenance mode,
        // disconnected or down take no new VM.
        hosts
            .iter()
            .filter(|h| self.host_accepts_vms(h))
            // Count without copying each host's VM list: this runs for every create.
            .min_by_key(|h| self.inv.prop(h, "vm").map_or(0, |v| v.items().len()))
            .cloned()
            .ok_or_else(|| Fault::invalid_state("the compute resource has no host"))
    }

    /// Creates a VM (powered off) and returns its reference.
    pub fn create_vm(
        &mut self,
        user: &str,
        spec: VmCreate,
        place: VmPlacement,
    ) -> Result<MoRef, Fault> {
        let mut spec = spec;
        spec.name = crate::inventory::entity_name(&spec.name, "name")?;
        if !(1..=768).contains(&spec.num_cpu) || !(4..=24 * 1024 * 1024).contains(&spec.memory_mb) {
            return Err(Fault::invalid_argument(
                if (1..=768).contains(&spec.num_cpu) {
                    "memoryMB"
                } else {
                    "numCPUs"
                },
            ));
        }
        self.inv.get(&place.folder)?;
        self.inv.get(&place.pool)?;
        if let Some(existing) = self.inv.child_named(&place.folder, &spec.name) {
            return Err(Fault::duplicate_name(&spec.name, &existing));
        }
        let host = match &place.host {
            Some(h) => {
                self.inv.get(h)?;
                h.clone()
            }
            None => self.pick_host(&place.pool)?,
        };
        let pool_id = *self
            .ids
            .pools
            .get(&place.pool.value)
            .ok_or_else(|| Fault::invalid_argument("pool"))?;
        let host_id = *self
            .ids
            .hosts
            .get(&host.value)
            .ok_or_else(|| Fault::invalid_argument("host"))?;
        let host_datastores = self.inv.refs(&host, "datastore");
        // The datastore the `.vmx` path names (`[teststore] vm/vm.vmx`, or just `[teststore]`)
        // holds the VM, and must be one the host mounts; without a path, the host's first.
        let named = spec
            .vmx_path
            .as_deref()
            .and_then(crate::methods::parse_datastore_path)
            .map(|(name, _)| name);
        let datastore = match named {
            Some(name) => host_datastores
                .iter()
                .find(|d| self.inv.lookup(d).is_some_and(|o| o.name() == name))
                .cloned()
                .ok_or_else(|| crate::methods::invalid_datastore(&name))?,
            None => host_datastores
                .into_iter()
                .next()
                .ok_or_else(|| Fault::invalid_state("the host has no datastore"))?,
        };
        let ds_name = self.inv.get(&datastore)?.name().to_owned();
        let vmx_path = match spec.vmx_path.as_deref().map(str::trim) {
            Some(p) if p.ends_with(".vmx") => p.to_owned(),
            Some(p) if p.starts_with('[') && p.ends_with(']') => {
                format!("{p} {0}/{0}.vmx", spec.name)
            }
            _ => format!("[{ds_name}] {0}/{0}.vmx", spec.name),
        };
        let vm_dir = match vmx_path.rfind('/') {
            Some(i) => vmx_path[..=i].to_owned(),
            None => format!("[{ds_name}] {}/", spec.name),
        };
        let networks: Vec<MoRef> = self.inv.refs(&host, "network");
        let cpu_a = allocation_from(spec.cpu_allocation.as_ref(), false);
        let mem_a = allocation_from(spec.memory_allocation.as_ref(), false);
        let devices = match spec.devices {
            Some(mut d) => {
                fill_device_defaults(&mut d, &vm_dir, &spec.name, &datastore, &mut self.idgen);
                // vCenter's keys for the client's temporary ones, and the labels govc's
                // device listing dereferences.
                crate::inventory::assign_device_keys(&mut d);
                crate::inventory::fill_device_info(&mut d);
                d
            }
            None => {
                let net = networks
                    .first()
                    .cloned()
                    .ok_or_else(|| Fault::invalid_state("the host has no network"))?;
                let net_name = self.inv.get(&net)?.name().to_owned();
                let mac = self.idgen.mac();
                default_devices(&vm_dir, &datastore, &net, &net_name, &mac)
            }
        };
        let vm_networks: Vec<MoRef> = devices
            .iter()
            .filter_map(|d| {
                d.field("backing")
                    .and_then(|b| b.field("network"))
                    .and_then(Value::as_moref)
                    .cloned()
            })
            .collect();
        let d = VmDescription {
            name: spec.name.clone(),
            num_cpu: spec.num_cpu,
            memory_mb: spec.memory_mb,
            guest_id: spec.guest_id.unwrap_or_else(|| "otherGuest".into()),
            vmx_path,
            uuid: self.idgen.uuid(),
            instance_uuid: self.idgen.uuid(),
            devices,
            extra_config: spec.extra_config,
            cpu_allocation: allocation_value(
                &cpu_a,
                true,
                false,
                spec.num_cpu as u32,
                spec.memory_mb as u64,
            ),
            memory_allocation: allocation_value(
                &mem_a,
                false,
                false,
                spec.num_cpu as u32,
                spec.memory_mb as u64,
            ),
            annotation: spec.annotation,
            created_ms: self.clock.now_ms(),
        };
        let model_spec = VmSpec {
            name: d.name.clone(),
            vcpus: spec.num_cpu as u32,
            memory_mb: spec.memory_mb as u64,
            cpu: cpu_a,
            memory: mem_a,
        };
        let vm_id = self
            .world
            .add_vm(pool_id, host_id, model_spec)
            .map_err(model_fault)?;
        let value = match self.flavor {
            crate::config::Flavor::VirtualCenter => self.inv.alloc("vm-"),
            crate::config::Flavor::HostAgent => self.inv.alloc(""),
        };
        let vm = MoRef::new("VirtualMachine", value);
        let obj = virtual_machine(
            vm.clone(),
            &d,
            &place.folder,
            &place.pool,
            &host,
            &datastore,
            &vm_networks,
        );
        self.inv.insert(obj);
        self.ids.vms.insert(vm.value.clone(), vm_id);
        self.inv.push_new_ref(&place.folder, "childEntity", &vm)?;
        self.inv.push_new_ref(&place.pool, "vm", &vm)?;
        self.inv.push_new_ref(&host, "vm", &vm)?;
        self.inv.push_new_ref(&datastore, "vm", &vm)?;
        if let Some(browser) = self
            .owner_of_pool(&place.pool)
            .and_then(|o| self.inv.prop(&o, "environmentBrowser").cloned())
        {
            self.inv.set(&vm, "environmentBrowser", browser)?;
        }
        for n in &vm_networks {
            if self.inv.contains(n) {
                self.inv.push_new_ref(n, "vm", &vm)?;
            }
        }
        self.post_vm_event("VmCreatedEvent", user, &vm, "created");
        Ok(vm)
    }

    /// The power state of a VM.
    pub fn power_state(&self, vm: &MoRef) -> Result<String, Fault> {
        let rt = self
            .inv
            .get(vm)?
            .get("runtime")
            .cloned()
            .unwrap_or(Value::Bool(false));
        Ok(rt
            .field("powerState")
            .and_then(Value::as_str)
            .unwrap_or("poweredOff")
            .to_owned())
    }

    pub(super) fn set_runtime(
        &mut self,
        vm: &MoRef,
        f: impl FnOnce(&mut DataObject),
    ) -> Result<(), Fault> {
        self.inv.update(vm, |o| runtime_and_summary(o, f))
    }

    /// [`Emulator::set_runtime`] for a change that names no other object (the power state
    /// and its times), which property filters need not re-traverse for.
    fn set_runtime_leaf(
        &mut self,
        vm: &MoRef,
        f: impl FnOnce(&mut DataObject),
    ) -> Result<(), Fault> {
        self.inv.update_leaf(vm, |o| runtime_and_summary(o, f))
    }

    pub(super) fn set_power(&mut self, vm: &MoRef, state: &str) -> Result<(), Fault> {
        let now = self.clock.now_ms();
        let on = state == "poweredOn";
        self.set_runtime_leaf(vm, |rt| {
            rt.set(
                "powerState",
                Value::enumv("VirtualMachinePowerState", state.to_owned()),
            );
            if on {
                rt.set("bootTime", Value::DateTime(now));
            } else {
                rt.remove("bootTime");
            }
            if state == "suspended" {
                rt.set("suspendTime", Value::DateTime(now));
            }
        })?;
        if !on {
            self.inv.update_leaf(vm, |o| {
                if let Some(s) = o.props.get_mut("summary").and_then(Value::as_data_mut) {
                    s.set("quickStats", vm_quick_stats_idle());
                }
            })?;
        }
        Ok(())
    }

    pub(super) fn model_vm(&self, vm: &MoRef) -> Result<scheduler_model::VmId, Fault> {
        self.ids
            .vms
            .get(&vm.value)
            .copied()
            .ok_or_else(|| Fault::not_found(vm))
    }

    /// Powers a VM on: admission control in the model, then the guest agent starts.
    pub fn power_on_vm(&mut self, user: &str, vm: &MoRef) -> Result<(), Fault> {
        let state = self.power_state(vm)?;
        if state == "poweredOn" {
            return Err(Fault::invalid_power_state(Some("poweredOn"), &state));
        }
        if self.is_template(vm) {
            return Err(Fault::not_supported(
                "The operation is not supported on a template",
            ));
        }
        self.check_power_on_host(vm)?;
        let id = self.model_vm(vm)?;
        self.world.power_on(id).map_err(model_fault)?;
        self.set_power(vm, "poweredOn")?;
        self.post_vm_event("VmPoweredOnEvent", user, vm, "is powered on");
        // A pending guest customization (CustomizeVM_Task) takes effect as the guest boots.
        crate::methods::apply_customization_at_power_on(self, vm);
        self.start_guest(vm)?;
        Ok(())
    }

    /// Powers a VM off.
    pub fn power_off_vm(&mut self, user: &str, vm: &MoRef) -> Result<(), Fault> {
        let state = self.power_state(vm)?;
        if state == "poweredOff" {
            return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
        }
        self.stop(vm, "poweredOff")?;
        self.post_vm_event("VmPoweredOffEvent", user, vm, "is powered off");
        Ok(())
    }

    fn stop(&mut self, vm: &MoRef, to_state: &str) -> Result<(), Fault> {
        self.check_vm_host_connected(vm)?;
        let id = self.model_vm(vm)?;
        if self.power_state(vm)? == "poweredOn" {
            self.world.power_off(id).map_err(model_fault)?;
            self.stop_guest(vm)?;
        }
        self.set_power(vm, to_state)
    }

    /// Suspends a powered-on VM.
    pub fn suspend_vm(&mut self, user: &str, vm: &MoRef) -> Result<(), Fault> {
        let state = self.power_state(vm)?;
        if state != "poweredOn" {
            return Err(Fault::invalid_power_state(Some("suspended"), &state));
        }
        self.stop(vm, "suspended")?;
        self.post_vm_event("VmSuspendedEvent", user, vm, "is suspended");
        Ok(())
    }

    /// Resets a powered-on VM: the guest restarts.
    pub fn reset_vm(&mut self, user: &str, vm: &MoRef) -> Result<(), Fault> {
        let state = self.power_state(vm)?;
        if state != "poweredOn" {
            return Err(Fault::invalid_power_state(Some("poweredOn"), &state));
        }
        self.post_vm_event("VmResettingEvent", user, vm, "is reset");
        self.stop(vm, "poweredOff")?;
        self.power_on_vm(user, vm)
    }

    /// `ShutdownGuest`: needs VMware Tools running in the guest; the guest powers off.
    pub fn shutdown_guest(&mut self, user: &str, vm: &MoRef) -> Result<(), Fault> {
        let state = self.power_state(vm)?;
        if state != "poweredOn" {
            return Err(Fault::invalid_power_state(None, &state));
        }
        let tools = self
            .inv
            .prop(vm, "guest")
            .and_then(|g| g.field("toolsRunningStatus"))
            .and_then(Value::as_str)
            == Some("guestToolsRunning");
        if !tools {
            return Err(Fault::new(
                "ToolsUnavailable",
                "Cannot complete operation because VMware Tools is not running in this virtual machine.",
            ));
        }
        self.stop(vm, "poweredOff")?;
        self.post_vm_event("VmGuestShutdownEvent", user, vm, "guest OS shut down");
        Ok(())
    }

    /// Destroys a powered-off VM and everything that refers to it.
    pub fn destroy_vm(&mut self, user: &str, vm: &MoRef) -> Result<(), Fault> {
        let state = self.power_state(vm)?;
        if state == "poweredOn" {
            return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
        }
        self.check_enabled(vm, "Destroy_Task")?;
        self.post_vm_event("VmRemovedEvent", user, vm, "removed");
        self.unlink_vm(vm)?;
        crate::methods::vslm::vm_removed(self, vm, true);
        Ok(())
    }

    /// Takes a VM out of the inventory and the model (destroy and unregister).
    pub(super) fn unlink_vm(&mut self, vm: &MoRef) -> Result<(), Fault> {
        let obj = self.inv.get(vm)?.clone();
        let id = self.model_vm(vm)?;
        self.world.remove_vm(id).map_err(model_fault)?;
        self.ids.vms.remove(&vm.value);
        if let Some(p) = obj.parent() {
            let _ = self.inv.pull_ref(p, "childEntity", vm);
        }
        for (holder_prop, list) in [
            ("resourcePool", "vm"),
            ("datastore", "vm"),
            ("network", "vm"),
        ] {
            let holders: Vec<MoRef> = match obj.get(holder_prop) {
                Some(Value::MoRef(m)) => vec![m.clone()],
                Some(v) => v
                    .items()
                    .iter()
                    .filter_map(Value::as_moref)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            for h in holders {
                let _ = self.inv.pull_ref(&h, list, vm);
            }
        }
        if let Some(h) = obj
            .get("runtime")
            .and_then(|r| r.field("host"))
            .and_then(Value::as_moref)
        {
            let _ = self.inv.pull_ref(h, "vm", vm);
        }
        self.perf.forget(vm);
        self.disabled_methods.remove(&vm.value);
        self.inv.remove(vm);
        Ok(())
    }

    /// Fails with `MethodDisabled` when `method` was disabled on `entity`.
    pub fn check_enabled(&self, entity: &MoRef, method: &str) -> Result<(), Fault> {
        match self
            .disabled_methods
            .get(&entity.value)
            .and_then(|l| l.iter().find(|(m, _)| m == method))
        {
            Some((_, source)) => Err(Fault::method_disabled(source)),
            None => Ok(()),
        }
    }

    /// Renames an entity (DuplicateName when a sibling has the name).
    pub fn rename(&mut self, entity: &MoRef, new_name: &str) -> Result<(), Fault> {
        let new_name = &crate::inventory::entity_name(new_name, "newName")?;
        let parent = self.inv.get(entity)?.parent().cloned();
        if let Some(p) = &parent
            && let Some(other) = self.inv.child_named(p, new_name)
            && other != *entity
        {
            return Err(Fault::duplicate_name(new_name, &other));
        }
        let is_vm = entity.ty == "VirtualMachine";
        self.inv.update(entity, |o| {
            o.props.insert("name".into(), Value::str(new_name));
            if is_vm {
                for holder in ["config", "summary"] {
                    if let Some(d) = o.props.get_mut(holder).and_then(Value::as_data_mut) {
                        if holder == "config" {
                            d.set("name", Value::str(new_name));
                        } else if let Some(c) = d.get_mut("config").and_then(Value::as_data_mut) {
                            c.set("name", Value::str(new_name));
                        }
                    }
                }
            }
        })
    }

    /// Applies a guest event to a running VM's agent.
    pub(crate) fn notify_guest(&mut self, vm: &MoRef, event: GuestEvent) -> Result<(), Fault> {
        self.run_agent(vm, event)
    }
}

/// Applies `f` to a VM's `runtime` and mirrors the result into `summary.runtime`.
fn runtime_and_summary(o: &mut crate::inventory::ManagedObject, f: impl FnOnce(&mut DataObject)) {
    if let Some(rt) = o.props.get_mut("runtime").and_then(Value::as_data_mut) {
        f(rt);
    }
    let runtime = o.props.get("runtime").cloned();
    if let (Some(rt), Some(summary)) = (
        runtime,
        o.props.get_mut("summary").and_then(Value::as_data_mut),
    ) {
        summary.set("runtime", rt);
    }
}
