//! ReconfigVM_Task: applying a `VirtualMachineConfigSpec` to a VM's configuration, the model
//! and, when it runs, its guest.

use super::Emulator;
use super::vm_ops::{allocation_from, allocation_value, model_fault};
use crate::events::EventArgs;
use crate::guest::GuestEvent;
use crate::inventory::{option_value, reservation_of};
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use scheduler_model::VmSpec;

/// Merges client-sent allocation fields over the current ones.
pub(super) fn merge_alloc(current: Option<&Value>, update: &Value) -> Value {
    let mut base = current
        .cloned()
        .unwrap_or_else(|| DataObject::new("ResourceAllocationInfo").into_value());
    if let (Some(b), Some(u)) = (base.as_data_mut(), update.as_data()) {
        for (n, v) in &u.fields {
            b.set(n, v.clone());
        }
    }
    base
}

impl Emulator {
    /// Applies a config spec. Faults leave the VM unchanged.
    pub fn reconfigure_vm(&mut self, user: &str, vm: &MoRef, spec: &Value) -> Result<(), Fault> {
        // Only the parts this needs are copied: a VM may hold thousands of extraConfig
        // entries, and this runs under the emulator's lock.
        let (vm_name, config) = {
            let obj = self.inv.get(vm)?;
            let config = obj
                .get("config")
                .and_then(Value::as_data)
                .ok_or_else(|| Fault::invalid_state("the VM has no configuration"))?;
            let mut part = DataObject::new("VirtualMachineConfigInfo");
            for f in ["hardware", "cpuAllocation", "memoryAllocation"] {
                if let Some(v) = config.get(f) {
                    part = part.with(f, without_devices(v));
                }
            }
            (obj.name().to_owned(), part.into_value())
        };
        let hw = config.field("hardware");
        let mut num_cpu = hw
            .and_then(|h| h.field("numCPU"))
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let mut memory_mb = hw
            .and_then(|h| h.field("memoryMB"))
            .and_then(Value::as_i64)
            .unwrap_or(32);
        if let Some(v) = spec.field("numCPUs") {
            num_cpu = v
                .as_i64()
                .filter(|n| (1..=768).contains(n))
                .ok_or_else(|| Fault::invalid_argument("spec.numCPUs"))?;
        }
        if let Some(v) = spec.field("memoryMB") {
            memory_mb = v
                .as_i64()
                .filter(|n| (4..=24 * 1024 * 1024).contains(n))
                .ok_or_else(|| Fault::invalid_argument("spec.memoryMB"))?;
        }
        let cpu_alloc = spec
            .field("cpuAllocation")
            .map(|u| merge_alloc(config.field("cpuAllocation"), u));
        let mem_alloc = spec
            .field("memoryAllocation")
            .map(|u| merge_alloc(config.field("memoryAllocation"), u));
        let id = *self
            .ids
            .vms
            .get(&vm.value)
            .ok_or_else(|| Fault::not_found(vm))?;
        let cpu_a = allocation_from(cpu_alloc.as_ref().or(config.field("cpuAllocation")), false);
        let mem_a = allocation_from(
            mem_alloc.as_ref().or(config.field("memoryAllocation")),
            false,
        );
        let device_changes: Vec<Value> = spec
            .as_data()
            .map(|d| {
                d.fields
                    .iter()
                    .filter(|(n, _)| n == "deviceChange")
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default();
        self.check_device_count(vm, &device_changes)?;
        let new_name = match spec.field("name").and_then(Value::as_str) {
            Some(n) => {
                let n = crate::inventory::entity_name(n, "spec.name")?;
                let parent = self.inv.get(vm)?.parent().cloned();
                if let Some(p) = &parent
                    && let Some(other) = self.inv.child_named(p, &n)
                    && other != *vm
                {
                    return Err(Fault::duplicate_name(&n, &other));
                }
                Some(n)
            }
            None => None,
        };
        let extra = extra_config_changes(spec);
        // Checked before anything changes: the spec is refused whole, never stored in part.
        let extra_plan = self.plan_extra_config(vm, &extra)?;
        self.world
            .reconfigure_vm(
                id,
                VmSpec {
                    name: vm_name.clone(),
                    vcpus: num_cpu as u32,
                    memory_mb: memory_mb as u64,
                    cpu: cpu_a,
                    memory: mem_a,
                },
            )
            .map_err(model_fault)?;
        let cpu_value = allocation_value(&cpu_a, true, false, num_cpu as u32, memory_mb as u64);
        let mem_value = allocation_value(&mem_a, false, false, num_cpu as u32, memory_mb as u64);
        let annotation = spec
            .field("annotation")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let now = self.clock.now_ms();
        self.inv.update(vm, |o| {
            let Some(c) = o.props.get_mut("config").and_then(Value::as_data_mut) else {
                return;
            };
            if let Some(h) = c.get_mut("hardware").and_then(Value::as_data_mut) {
                h.set("numCPU", Value::Int(num_cpu as i32));
                h.set("memoryMB", Value::Int(memory_mb as i32));
                if let Some(devs) = h.get_mut("device").and_then(Value::items_mut) {
                    apply_device_changes(devs, &device_changes);
                }
            }
            c.set("cpuAllocation", cpu_value.clone());
            c.set("memoryAllocation", mem_value.clone());
            if let Some(a) = &annotation {
                c.set("annotation", Value::str(a.clone()));
            }
            c.set("modified", Value::DateTime(now));
            c.set("changeVersion", Value::str(now.to_string()));
            if c.get("extraConfig").is_none() && !extra.is_empty() {
                c.set("extraConfig", Value::array("OptionValue", Vec::new()));
            }
            if let Some(ec) = c.get_mut("extraConfig").and_then(Value::items_mut) {
                apply_extra_config(ec, extra, &extra_plan);
            }
            if let Some(s) = o.props.get_mut("summary").and_then(Value::as_data_mut)
                && let Some(sc) = s.get_mut("config").and_then(Value::as_data_mut)
            {
                sc.set("numCpu", Value::Int(num_cpu as i32));
                sc.set("memorySizeMB", Value::Int(memory_mb as i32));
                sc.set(
                    "cpuReservation",
                    Value::Int(reservation_of(&cpu_value) as i32),
                );
                sc.set(
                    "memoryReservation",
                    Value::Int(reservation_of(&mem_value) as i32),
                );
                if let Some(a) = &annotation {
                    sc.set("annotation", Value::str(a.clone()));
                }
            }
            if let Some(rt) = o.props.get_mut("runtime").and_then(Value::as_data_mut) {
                rt.set("maxMemoryUsage", Value::Int(memory_mb as i32));
            }
        })?;
        if let Some(name) = new_name
            && name != vm_name
        {
            self.rename(vm, &name)?;
        }
        // The event keeps a bounded summary of the spec, as vCenter's event store does, not
        // the request: a client may send megabytes of extraConfig.
        let mut spec_value = crate::events::summarize(spec);
        if let Some(d) = spec_value.as_data_mut() {
            d.ty.get_or_insert(std::borrow::Cow::Borrowed("VirtualMachineConfigSpec"));
        }
        let args: EventArgs = self.vm_event_args(vm);
        let msg = format!(
            "Reconfigured {} on {}",
            vm_name,
            args.host.as_ref().map(|h| h.1.as_str()).unwrap_or("")
        );
        self.events.post(
            "VmReconfiguredEvent",
            now,
            user,
            &args,
            msg,
            vec![("template", Value::Bool(false)), ("configSpec", spec_value)],
        );
        if self.power_state(vm)? == "poweredOn" {
            self.notify_guest(vm, GuestEvent::Reconfigure)?;
        }
        Ok(())
    }
}

/// A copy of a config part without its device list (the hardware's devices are not needed
/// to reconfigure, and may be many).
fn without_devices(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(d) = v.as_data_mut() {
        d.remove("device");
    }
    v
}

/// The extraConfig changes a spec asks for, in order: a key and its new value, or `None` to
/// remove the key (vSphere removes a key whose new value is empty).
fn extra_config_changes(spec: &Value) -> Vec<(String, Option<Value>)> {
    spec.as_data()
        .map(|d| {
            d.fields
                .iter()
                .filter(|(n, _)| n == "extraConfig")
                .filter_map(|(_, ov)| {
                    let key = ov.field("key")?.as_str()?.to_owned();
                    let value = ov.field("value").cloned().map(|v| match v {
                        Value::Any(inner) => *inner,
                        other => other,
                    });
                    let value = value.filter(|v| v.as_str() != Some(""));
                    Some((key, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Bytes an extraConfig entry stores (key and value text).
fn entry_bytes(key: &str, value: &Value) -> usize {
    key.len() + super::guests::value_text(value).len()
}

impl Emulator {
    /// `InvalidArgument` when `changes` would leave the VM with more devices than a VM may
    /// hold, checked before anything changes (adds beyond it were once dropped silently).
    fn check_device_count(&self, vm: &MoRef, changes: &[Value]) -> Result<(), Fault> {
        let current = self
            .inv
            .get(vm)?
            .get("config")
            .and_then(|c| c.field("hardware"))
            .and_then(|h| h.field("device"))
            .map_or(0, |d| d.items().len());
        let (mut adds, mut removes) = (0usize, 0usize);
        for ch in changes {
            match ch
                .field("operation")
                .and_then(Value::as_str)
                .unwrap_or("add")
            {
                "remove" => removes += 1,
                "edit" => {}
                _ => adds += 1,
            }
        }
        let after = (current + adds).saturating_sub(removes);
        if adds > 0 && after > crate::methods::DEVICE_CHANGES_MAX {
            return Err(crate::methods::over_limit(
                "spec.deviceChange",
                format!(
                    "the VM would hold {after} devices; at most {}",
                    crate::methods::DEVICE_CHANGES_MAX
                ),
            ));
        }
        Ok(())
    }
}

/// Where each change lands: for each change, the index of the existing entry it replaces or
/// removes (`None`: a new key).
type ExtraPlan = Vec<Option<usize>>;

impl Emulator {
    /// Plans `changes` against the VM's extraConfig in O(entries + changes), refusing with
    /// `InvalidArgument` a result beyond the per-VM bounds.
    fn plan_extra_config(
        &self,
        vm: &MoRef,
        changes: &[(String, Option<Value>)],
    ) -> Result<ExtraPlan, Fault> {
        use crate::methods::{EXTRA_CONFIG_MAX, EXTRA_CONFIG_MAX_BYTES};
        let empty: Vec<Value> = Vec::new();
        let current: &[Value] = self
            .inv
            .get(vm)?
            .get("config")
            .and_then(|c| c.field("extraConfig"))
            .map_or(empty.as_slice(), |ec| ec.items());
        let mut index: std::collections::HashMap<&str, (usize, usize)> = current
            .iter()
            .enumerate()
            .filter_map(|(i, ov)| {
                let k = ov.field("key")?.as_str()?;
                let bytes = ov.field("value").map_or(k.len(), |v| entry_bytes(k, v));
                Some((k, (i, bytes)))
            })
            .collect();
        let mut count = current.len();
        let mut bytes: usize = index.values().map(|(_, b)| *b).sum();
        let mut plan = Vec::with_capacity(changes.len());
        let mut added: std::collections::HashMap<&str, usize> = Default::default();
        for (k, v) in changes {
            let new_bytes = v.as_ref().map(|v| entry_bytes(k, v));
            let slot = index.get(k.as_str()).copied();
            plan.push(slot.map(|(i, _)| i));
            match (slot, new_bytes, added.get(k.as_str()).copied()) {
                (Some((i, old)), Some(b), _) => {
                    bytes = bytes - old + b;
                    index.insert(k, (i, b));
                }
                (Some((_, old)), None, _) => {
                    bytes -= old;
                    count -= 1;
                    index.remove(k.as_str());
                }
                (None, Some(b), Some(old)) => {
                    bytes = bytes - old + b;
                    added.insert(k, b);
                }
                (None, Some(b), None) => {
                    bytes += b;
                    count += 1;
                    added.insert(k, b);
                }
                (None, None, Some(old)) => {
                    bytes -= old;
                    count -= 1;
                    added.remove(k.as_str());
                }
                (None, None, None) => {}
            }
        }
        if count > EXTRA_CONFIG_MAX {
            return Err(crate::methods::over_limit(
                "spec.extraConfig",
                format!("the VM would hold {count} entries; at most {EXTRA_CONFIG_MAX}"),
            ));
        }
        if bytes > EXTRA_CONFIG_MAX_BYTES {
            return Err(crate::methods::over_limit(
                "spec.extraConfig",
                format!("the VM would hold {bytes} bytes; at most {EXTRA_CONFIG_MAX_BYTES}"),
            ));
        }
        Ok(plan)
    }
}

/// Applies planned changes in O(entries + changes): replacements in place, removals at the
/// end, new keys appended in order (a key set twice in one spec keeps its last value).
fn apply_extra_config(
    ec: &mut Vec<Value>,
    changes: Vec<(String, Option<Value>)>,
    plan: &ExtraPlan,
) {
    let mut removed = vec![false; ec.len()];
    let mut appended: Vec<(String, Option<Value>)> = Vec::new();
    let mut appended_at: std::collections::HashMap<String, usize> = Default::default();
    for ((k, v), slot) in changes.into_iter().zip(plan) {
        match (slot, v) {
            (Some(i), Some(v)) => {
                ec[*i] = option_value(&k, v);
                removed[*i] = false;
            }
            (Some(i), None) => removed[*i] = true,
            (None, v) => match appended_at.get(&k) {
                Some(&j) => appended[j].1 = v,
                None => {
                    appended_at.insert(k.clone(), appended.len());
                    appended.push((k, v));
                }
            },
        }
    }
    let mut i = 0;
    ec.retain(|_| {
        let keep = !removed[i];
        i += 1;
        keep
    });
    ec.extend(
        appended
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| option_value(&k, v))),
    );
}

/// Applies `deviceChange` entries (add, remove, edit by device key).
fn apply_device_changes(devices: &mut Vec<Value>, changes: &[Value]) {
    let mut next_key = devices
        .iter()
        .filter_map(|d| d.field("key").and_then(Value::as_i64))
        .max()
        .unwrap_or(0)
        .max(10_000)
        + 1;
    for ch in changes {
        let Some(dev) = ch.field("device") else {
            continue;
        };
        let key = dev.field("key").and_then(Value::as_i64);
        match ch
            .field("operation")
            .and_then(Value::as_str)
            .unwrap_or("add")
        {
            "remove" => devices.retain(|d| d.field("key").and_then(Value::as_i64) != key),
            "edit" => {
                if let Some(slot) = devices
                    .iter_mut()
                    .find(|d| d.field("key").and_then(Value::as_i64) == key)
                {
                    *slot = dev.clone();
                }
            }
            _ if devices.len() < crate::methods::DEVICE_CHANGES_MAX => {
                let mut d = dev.clone();
                if let Some(dd) = d.as_data_mut()
                    && key.is_none_or(|k| k < 0)
                {
                    dd.set("key", Value::Int(next_key as i32));
                    next_key += 1;
                }
                devices.push(d);
            }
            _ => {}
        }
    }
}
