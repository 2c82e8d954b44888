//! VMs leaving and joining the inventory without being destroyed or created: unregister
//! (remembering the VM's description by its `.vmx` path), RegisterVM_Task, and the
//! template flag (MarkAsTemplate / MarkAsVirtualMachine).

use super::Emulator;
use super::vm_ops::{UNREGISTERED_MAX, VmCreate, VmPlacement, model_fault, vmx_key};
use crate::vmodl::{Fault, MoRef, Value};

impl Emulator {
    /// Removes a VM from the inventory without deleting its files.
    pub fn unregister_vm(&mut self, user: &str, vm: &MoRef) -> Result<(), Fault> {
        let state = self.power_state(vm)?;
        if state == "poweredOn" {
            return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
        }
        self.post_vm_event("VmRemovedEvent", user, vm, "unregistered");
        self.remember_unregistered(vm)?;
        self.unlink_vm(vm)?;
        crate::methods::vslm::vm_removed(self, vm, false);
        Ok(())
    }

    /// Keeps what RegisterVM_Task needs to bring an unregistered VM back, by `.vmx` path.
    fn remember_unregistered(&mut self, vm: &MoRef) -> Result<(), Fault> {
        let obj = self.inv.get(vm)?;
        let config = obj.get("config").cloned().unwrap_or(Value::Bool(false));
        let path = config
            .field("files")
            .and_then(|f| f.field("vmPathName"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let Some(key) = vmx_key(&path) else {
            return Ok(());
        };
        let spec = VmCreate::from_config(obj.name(), &config, None, path);
        let template = self.is_template(vm);
        self.unregistered_seq += 1;
        self.unregistered
            .insert(key, (self.unregistered_seq, spec, template));
        while self.unregistered.len() > UNREGISTERED_MAX {
            let oldest = self
                .unregistered
                .iter()
                .min_by_key(|(_, (seq, _, _))| *seq)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.unregistered.remove(&k);
                }
                None => break,
            }
        }
        Ok(())
    }

    /// What RegisterVM_Task can register from `path`: an unregistered VM's description, or
    /// a `.vmx` file stored on a datastore (its `displayName`, `numvcpus`, `memsize` and
    /// `guestOS` keys are read). `FileNotFound` otherwise.
    pub fn registrable(&self, path: &str) -> Result<(VmCreate, bool), Fault> {
        let key = vmx_key(path).ok_or_else(|| Fault::file_not_found(path))?;
        if let Some((_, spec, template)) = self.unregistered.get(&key) {
            return Ok((spec.clone(), *template));
        }
        let text = self
            .files
            .get(&key)
            .ok_or_else(|| Fault::file_not_found(path))?;
        let text = String::from_utf8_lossy(text);
        let mut spec = VmCreate {
            num_cpu: 1,
            memory_mb: 32,
            vmx_path: Some(key.clone()),
            ..VmCreate::default()
        };
        for line in text.lines().take(10_000) {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim() {
                "displayName" => spec.name = v.to_owned(),
                "numvcpus" => spec.num_cpu = v.parse().unwrap_or(1),
                "memsize" => spec.memory_mb = v.parse().unwrap_or(32),
                "guestOS" => spec.guest_id = Some(v.to_owned()),
                _ => {}
            }
        }
        if spec.name.is_empty() {
            spec.name = key
                .rsplit('/')
                .next()
                .unwrap_or("vm")
                .trim_end_matches(".vmx")
                .to_owned();
        }
        Ok((spec, false))
    }

    /// `RegisterVM_Task`: adds the VM at `path` to `folder` (named `name` when given) in
    /// `pool`, or in the root pool of `host`'s compute resource; as a template when
    /// `as_template`. `AlreadyExists` when a registered VM uses that `.vmx` already.
    pub fn register_vm(
        &mut self,
        user: &str,
        path: &str,
        name: Option<&str>,
        as_template: bool,
        place: VmPlacement,
    ) -> Result<MoRef, Fault> {
        let key = vmx_key(path).ok_or_else(|| Fault::file_not_found(path))?;
        let in_use = self.inv.iter().any(|o| {
            o.moref.ty == "VirtualMachine"
                && o.get("config")
                    .and_then(|c| c.field("files"))
                    .and_then(|f| f.field("vmPathName"))
                    .and_then(Value::as_str)
                    .and_then(vmx_key)
                    .as_deref()
                    == Some(key.as_str())
        });
        if in_use {
            return Err(
                Fault::new("AlreadyExists", format!("{path} is already registered"))
                    .with("name", Value::str(path)),
            );
        }
        let (mut spec, was_template) = self.registrable(path)?;
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            spec.name = n.to_owned();
        }
        spec.vmx_path = Some(key.clone());
        let vm = self.create_vm(user, spec, place)?;
        self.unregistered.remove(&key);
        if as_template || was_template {
            self.mark_as_template(&vm)?;
        }
        self.post_vm_event("VmRegisteredEvent", user, &vm, "registered");
        Ok(vm)
    }

    /// Whether a VM is a template (`config.template`).
    pub fn is_template(&self, vm: &MoRef) -> bool {
        self.inv
            .prop(vm, "config")
            .and_then(|c| c.field("template"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The host a VM runs on (`runtime.host`).
    pub fn host_of(&self, vm: &MoRef) -> Option<MoRef> {
        self.inv
            .prop(vm, "runtime")
            .and_then(|r| r.field("host"))
            .and_then(Value::as_moref)
            .cloned()
    }

    fn set_template_flag(&mut self, vm: &MoRef, template: bool) -> Result<(), Fault> {
        self.inv.update(vm, |o| {
            if let Some(c) = o.props.get_mut("config").and_then(Value::as_data_mut) {
                c.set("template", Value::Bool(template));
            }
            if let Some(c) = o
                .props
                .get_mut("summary")
                .and_then(Value::as_data_mut)
                .and_then(|s| s.get_mut("config"))
                .and_then(Value::as_data_mut)
            {
                c.set("template", Value::Bool(template));
            }
        })
    }

    /// `MarkAsTemplate`: a powered-off VM becomes a template and leaves its resource pool
    /// (templates have no `resourcePool`). `InvalidPowerState` unless powered off,
    /// `NotSupported` when already a template.
    pub fn mark_as_template(&mut self, vm: &MoRef) -> Result<(), Fault> {
        let state = self.power_state(vm)?;
        if state != "poweredOff" {
            return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
        }
        if self.is_template(vm) {
            return Err(Fault::not_supported(
                "The virtual machine is already a template",
            ));
        }
        if let Some(pool) = self
            .inv
            .prop(vm, "resourcePool")
            .and_then(Value::as_moref)
            .cloned()
        {
            let _ = self.inv.pull_ref(&pool, "vm", vm);
        }
        self.inv.update(vm, |o| {
            o.props.remove("resourcePool");
        })?;
        self.set_template_flag(vm, true)
    }

    /// `MarkAsVirtualMachine(pool, host?)`: a template becomes a VM in `pool`, on `host`
    /// (default: its current host when in the pool's compute resource, else one chosen
    /// there). `NotSupported` when it is not a template.
    pub fn mark_as_vm(
        &mut self,
        vm: &MoRef,
        pool: &MoRef,
        host: Option<&MoRef>,
    ) -> Result<(), Fault> {
        if !self.is_template(vm) {
            return Err(Fault::not_supported(
                "The virtual machine is not a template",
            ));
        }
        self.inv.get(pool)?;
        let pool_id = *self
            .ids
            .pools
            .get(&pool.value)
            .ok_or_else(|| Fault::invalid_argument("pool"))?;
        let owner = self
            .owner_of_pool(pool)
            .ok_or_else(|| Fault::invalid_argument("pool"))?;
        let owner_hosts = self.inv.refs(&owner, "host");
        let current = self.host_of(vm);
        let host = match host {
            Some(h) => {
                self.inv.get(h)?;
                if !owner_hosts.contains(h) {
                    return Err(Fault::invalid_argument("host"));
                }
                h.clone()
            }
            None => match current.clone().filter(|h| owner_hosts.contains(h)) {
                Some(h) => h,
                None => self.pick_host(pool)?,
            },
        };
        let host_id = *self
            .ids
            .hosts
            .get(&host.value)
            .ok_or_else(|| Fault::invalid_argument("host"))?;
        let id = self.model_vm(vm)?;
        let spec = self.world.vm_spec(id).map_err(model_fault)?.clone();
        let new_id = self
            .world
            .add_vm(pool_id, host_id, spec)
            .map_err(model_fault)?;
        self.world.remove_vm(id).map_err(model_fault)?;
        self.ids.vms.insert(vm.value.clone(), new_id);
        if let Some(old) = current.filter(|h| *h != host) {
            let _ = self.inv.pull_ref(&old, "vm", vm);
        }
        self.inv.push_ref(&host, "vm", vm)?;
        self.inv.push_ref(pool, "vm", vm)?;
        self.inv.set(vm, "resourcePool", Value::moref(pool))?;
        self.set_runtime(vm, |rt| rt.set("host", Value::moref(&host)))?;
        self.set_template_flag(vm, false)
    }
}
