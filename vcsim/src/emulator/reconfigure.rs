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
        let obj = self.inv.get(vm)?.clone();
        let config = obj
            .get("config")
            .cloned()
            .ok_or_else(|| Fault::invalid_state("the VM has no configuration"))?;
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
        self.world
            .reconfigure_vm(
                id,
                VmSpec {
                    name: obj.name().to_owned(),
                    vcpus: num_cpu as u32,
                    memory_mb: memory_mb as u64,
                    cpu: cpu_a,
                    memory: mem_a,
                },
            )
            .map_err(model_fault)?;
        let cpu_value = allocation_value(&cpu_a, true, false, num_cpu as u32, memory_mb as u64);
        let mem_value = allocation_value(&mem_a, false, false, num_cpu as u32, memory_mb as u64);
        let extra: Vec<(String, Option<Value>)> = spec
            .as_data()
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
                        // vSphere removes a key whose new value is empty.
                        let value = value.filter(|v| v.as_str() != Some(""));
                        Some((key, value))
                    })
                    .collect()
            })
            .unwrap_or_default();
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
            if let Some(ec) = c.get_mut("extraConfig").and_then(Value::items_mut) {
                for (k, v) in &extra {
                    let pos = ec
                        .iter()
                        .position(|ov| ov.field("key").and_then(Value::as_str) == Some(k.as_str()));
                    match (pos, v) {
                        (Some(i), Some(v)) => ec[i] = option_value(k, v.clone()),
                        (Some(i), None) => {
                            ec.remove(i);
                        }
                        (None, Some(v)) if ec.len() < super::guests::EXTRA_CONFIG_MAX => {
                            ec.push(option_value(k, v.clone()))
                        }
                        _ => {}
                    }
                }
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
        if let Some(name) = spec.field("name").and_then(Value::as_str)
            && name != obj.name()
        {
            self.rename(vm, name)?;
        }
        let mut spec_value = spec.clone();
        if let Some(d) = spec_value.as_data_mut() {
            d.ty.get_or_insert(std::borrow::Cow::Borrowed("VirtualMachineConfigSpec"));
        }
        let args: EventArgs = self.vm_event_args(vm);
        let msg = format!(
            "Reconfigured {} on {}",
            obj.name(),
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
            _ if devices.len() < 1024 => {
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
