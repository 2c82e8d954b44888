//! DRS initial placement: the host for a VM created in a DRS cluster without one, and
//! `ClusterComputeResource.PlaceVm(placementSpec)` answering a `PlacementResult` whose
//! `ClusterRecommendation` carries a `PlacementAction` (target host and relocate spec).
//! The host is the one that leaves the cluster's imbalance lowest (`scheduler-model/MODEL.md`
//! §11); ties go to the host with the fewest VMs, then inventory order.

use super::Emulator;
use super::vm_ops::allocation_from;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use scheduler_model::drs::{self, DrsVm};
use scheduler_model::{Allocation, VmSpec};

/// Size assumed for a VM DRS places without knowing its configuration [A: the
/// `VirtualMachineConfigSpec` defaults of `CreateVM_Task` clients, 1 vCPU and 1 GB].
const DEFAULT_VCPUS: u32 = 1;
const DEFAULT_MEMORY_MB: u64 = 1024;

fn default_spec() -> VmSpec {
    VmSpec {
        name: String::new(),
        vcpus: DEFAULT_VCPUS,
        memory_mb: DEFAULT_MEMORY_MB,
        cpu: Allocation::vm_default(),
        memory: Allocation::vm_default(),
    }
}

impl Emulator {
    /// The hosts DRS would place a VM of `spec` (default size when `None`) on in `cluster`,
    /// best first; empty when DRS is off or no host takes VMs.
    pub fn drs_rank_hosts(&self, cluster: &MoRef, spec: Option<&VmSpec>) -> Vec<MoRef> {
        if !self.cluster_settings(cluster).drs.enabled {
            return Vec::new();
        }
        let Some(view) = self.drs_view(cluster) else {
            return Vec::new();
        };
        let fallback = default_spec();
        let probe = self.world.drs_new_vm(view.root, spec.unwrap_or(&fallback));
        drs::place(&view.cluster, &view.rules, &probe)
            .into_iter()
            .filter_map(|(h, _)| view.hosts.get(&h).cloned())
            .collect()
    }

    /// `PlaceVm(placementSpec)` on a cluster: the host DRS recommends for the VM
    /// `placementSpec.vm` (relocate, clone, reconfigure: its current load) or for
    /// `placementSpec.configSpec` (create), among `placementSpec.hosts` when given.
    pub fn place_vm(&self, cluster: &MoRef, spec: &Value) -> Result<Value, Fault> {
        self.inv.get(cluster)?;
        if cluster.ty != "ClusterComputeResource" {
            return Err(Fault::invalid_argument("_this"));
        }
        let members = self.inv.refs(cluster, "host");
        let only: Vec<MoRef> = spec
            .field("hosts")
            .map(|h| {
                h.items()
                    .iter()
                    .filter_map(Value::as_moref)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if only.iter().any(|h| !members.contains(h)) {
            return Err(Fault::invalid_argument("placementSpec.hosts"));
        }
        let vm = spec.field("vm").and_then(Value::as_moref).cloned();
        let kind = spec
            .field("placementType")
            .and_then(Value::as_str)
            .unwrap_or(if vm.is_some() { "relocate" } else { "create" });
        if !["create", "reconfigure", "relocate", "clone"].contains(&kind) {
            return Err(Fault::invalid_argument("placementSpec.placementType"));
        }
        let Some(view) = self.drs_view(cluster) else {
            return Err(Fault::invalid_state("the cluster has no resource pool"));
        };
        let mut c = view.cluster;
        let probe: DrsVm = match &vm {
            Some(v) => {
                self.inv.get(v)?;
                let id = self.model_vm(v)?;
                match c.vms.iter().position(|x| x.id == id) {
                    // Its own load leaves the cluster while DRS finds it a host.
                    Some(i) if kind != "clone" => c.vms.remove(i),
                    Some(i) => c.vms[i].clone(),
                    None => {
                        let s = self.world.vm_spec(id).map_err(super::vm_ops::model_fault)?;
                        self.world.drs_new_vm(view.root, s)
                    }
                }
            }
            None => {
                let cfg = spec.field("configSpec");
                let int = |f: &str| cfg.and_then(|c| c.field(f)).and_then(Value::as_i64);
                let s = VmSpec {
                    name: String::new(),
                    vcpus: int("numCPUs").map_or(DEFAULT_VCPUS, |n| n.clamp(1, 768) as u32),
                    memory_mb: int("memoryMB").map_or(DEFAULT_MEMORY_MB, |m| m.max(4) as u64),
                    cpu: allocation_from(cfg.and_then(|c| c.field("cpuAllocation")), false),
                    memory: allocation_from(cfg.and_then(|c| c.field("memoryAllocation")), false),
                };
                self.world.drs_new_vm(view.root, &s)
            }
        };
        let ranked = drs::place(&c, &view.rules, &probe);
        let best = ranked
            .iter()
            .filter_map(|(h, _)| view.hosts.get(h))
            .find(|h| only.is_empty() || only.contains(h));
        let Some(host) = best else {
            let fault = DataObject::new("ClusterDrsFaults")
                .with("reason", Value::str("xvmotionPlacement"))
                .with(
                    "faultsByVm",
                    Value::array("ClusterDrsFaultsFaultsByVm", Vec::new()),
                )
                .into_value();
            return Ok(DataObject::new("PlacementResult")
                .with("drsFault", fault)
                .into_value());
        };
        let pool = self.inv.prop(cluster, "resourcePool").cloned();
        let datastore = self.inv.refs(host, "datastore").into_iter().next();
        let relocate = DataObject::new("VirtualMachineRelocateSpec")
            .with_opt("datastore", datastore.as_ref().map(Value::moref))
            .with_opt("pool", pool)
            .with("host", Value::moref(host))
            .into_value();
        let action = DataObject::new("PlacementAction")
            .with("type", Value::str("PlacementV1"))
            .with_opt("vm", vm.as_ref().map(Value::moref))
            .with("targetHost", Value::moref(host))
            .with("relocateSpec", relocate)
            .into_value();
        let rec = DataObject::new("ClusterRecommendation")
            .with("key", Value::str("1"))
            .with("type", Value::str("V1"))
            .with("time", Value::DateTime(self.clock.now_ms()))
            .with("rating", Value::Int(i32::from(drs::MANDATORY_RATING)))
            .with("reason", Value::str("xvmotionPlacement"))
            .with("reasonText", Value::str("Virtual machine placement"))
            .with("action", Value::array("ClusterAction", vec![action]))
            .with("target", Value::moref(cluster))
            .into_value();
        Ok(DataObject::new("PlacementResult")
            .with(
                "recommendations",
                Value::array("ClusterRecommendation", vec![rec]),
            )
            .into_value())
    }
}
