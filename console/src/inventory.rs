//! Reading what the console shows from vSphere over SOAP, as any vSphere client does: each
//! VCH pool's allocation and VMs (`RetrieveProperties`), then those VMs' names, power states
//! and sizes. Nothing here reaches into the emulator, so a change made by pyvmomi, govc or
//! the docker CLI shows up exactly as one made from the console.

use vcsim::vmodl::{MoRef, Value};
use vic::vsphere::{Client, Error};

use crate::model::{Alloc, PoolConfig, VchView, VmView};

/// A VCH the demo created: fixed for the demo's life.
#[derive(Clone, Debug)]
pub struct VchSite {
    /// The scenario's `[[vch]]` name.
    pub name: String,
    /// vSphere name.
    pub vsphere_name: String,
    /// Its pool.
    pub pool: MoRef,
    /// The appliance VM.
    pub appliance: MoRef,
    /// `docker -H …` global options, as vic-machine printed them.
    pub docker_args: Vec<String>,
}

impl VchSite {
    /// `docker -H … --tls…`.
    pub fn docker_command(&self) -> String {
        let mut words = vec!["docker".to_owned()];
        words.extend(self.docker_args.iter().cloned());
        words.join(" ")
    }
}

/// The pool a VM runs in (`resourcePool`).
pub async fn pool_of(client: &Client, vm: &MoRef) -> Result<MoRef, Error> {
    client
        .get_property(vm, "resourcePool")
        .await?
        .and_then(|v| v.as_moref().cloned())
        .ok_or_else(|| Error::Protocol(format!("VM {} has no resourcePool", vm.value)))
}

/// The paths read for VMs: the container keys VIC writes, and what the table shows.
fn vm_paths() -> Vec<String> {
    let mut paths: Vec<String> = [
        "name",
        "runtime.powerState",
        "config.hardware.numCPU",
        "config.hardware.memoryMB",
    ]
    .map(str::to_owned)
    .to_vec();
    paths.push(format!(
        "config.extraConfig[\"{}\"].value",
        vic::guestinfo::container::NAME
    ));
    paths.push(format!(
        "config.extraConfig[\"{}\"].value",
        vic::guestinfo::container::ID
    ));
    paths
}

fn alloc(v: Option<&Value>) -> Alloc {
    let field = |name: &str| v.and_then(|a| a.field(name));
    let shares = field("shares");
    Alloc {
        limit: field("limit").and_then(Value::as_i64).unwrap_or(-1),
        reservation: field("reservation").and_then(Value::as_i64).unwrap_or(0),
        shares_level: shares
            .and_then(|s| s.field("level"))
            .and_then(Value::as_str)
            .unwrap_or("normal")
            .to_owned(),
        shares: shares
            .and_then(|s| s.field("shares"))
            .and_then(Value::as_i64)
            .unwrap_or(0),
        expandable: field("expandableReservation")
            .and_then(|b| match b {
                Value::Bool(b) => Some(*b),
                _ => None,
            })
            .unwrap_or(true),
    }
}

/// Every VCH's view and the VMs in its pool, in VCH order then by name.
pub async fn read(
    client: &Client,
    sites: &[VchSite],
) -> Result<(Vec<VchView>, Vec<VmView>), Error> {
    let pools: Vec<MoRef> = sites.iter().map(|s| s.pool.clone()).collect();
    let found = client
        .retrieve_properties(
            &pools,
            "ResourcePool",
            &["vm", "config.cpuAllocation", "config.memoryAllocation"],
        )
        .await?;
    let mut vchs = Vec::with_capacity(sites.len());
    // (VM, VCH name) for every VM in a VCH pool.
    let mut members: Vec<(MoRef, String)> = Vec::new();
    for site in sites {
        let oc = found.iter().find(|oc| oc.obj == site.pool);
        let get = |p: &str| oc.and_then(|oc| oc.get(p));
        vchs.push(VchView {
            name: site.name.clone(),
            vsphere_name: site.vsphere_name.clone(),
            pool: site.pool.value.clone(),
            docker_command: site.docker_command(),
            config: PoolConfig {
                cpu: alloc(get("config.cpuAllocation")),
                mem: alloc(get("config.memoryAllocation")),
            },
        });
        for vm in get("vm").map(Value::items).unwrap_or_default() {
            if let Some(m) = vm.as_moref() {
                members.push((m.clone(), site.name.clone()));
            }
        }
    }
    let objects: Vec<MoRef> = members.iter().map(|(m, _)| m.clone()).collect();
    let vch_of: std::collections::BTreeMap<&str, &str> = members
        .iter()
        .map(|(m, vch)| (m.value.as_str(), vch.as_str()))
        .collect();
    let paths = vm_paths();
    let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let props = client
        .retrieve_properties(&objects, "VirtualMachine", &path_refs)
        .await?;
    let mut vms = Vec::with_capacity(props.len());
    for oc in &props {
        let Some(vch) = vch_of.get(oc.obj.value.as_str()) else {
            continue;
        };
        let text = |p: &str| oc.get(p).and_then(Value::as_str).map(str::to_owned);
        let vsphere_name = text("name").unwrap_or_else(|| oc.obj.value.clone());
        let container_name = text(&paths[4]).filter(|n| !n.is_empty());
        let is_container = text(&paths[5]).is_some_and(|id| !id.is_empty());
        vms.push(VmView {
            moref: oc.obj.value.clone(),
            name: container_name
                .map(|n| n.trim_start_matches('/').to_owned())
                .unwrap_or_else(|| vsphere_name.clone()),
            vsphere_name,
            vch: (*vch).to_owned(),
            kind: if is_container {
                "container"
            } else {
                "appliance"
            },
            power: text("runtime.powerState").unwrap_or_else(|| "poweredOff".into()),
            vcpus: oc
                .get("config.hardware.numCPU")
                .and_then(Value::as_i64)
                .unwrap_or(1),
            memory_mb: oc
                .get("config.hardware.memoryMB")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        });
    }
    let order = |v: &VmView| {
        (
            sites
                .iter()
                .position(|s| s.name == v.vch)
                .unwrap_or(usize::MAX),
            v.kind == "container",
            v.name.clone(),
        )
    };
    vms.sort_by_key(order);
    Ok((vchs, vms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcsim::vmodl::DataObject;

    #[test]
    fn an_allocation_reads_vsphere_fields_and_defaults() {
        let a = DataObject::new("ResourceAllocationInfo")
            .with("limit", Value::Long(500))
            .with("reservation", Value::Long(0))
            .with("expandableReservation", Value::Bool(false))
            .with(
                "shares",
                DataObject::new("SharesInfo")
                    .with("shares", Value::Int(4000))
                    .with("level", Value::enumv("SharesLevel", "normal".to_owned()))
                    .into_value(),
            )
            .into_value();
        assert_eq!(
            alloc(Some(&a)),
            Alloc {
                limit: 500,
                reservation: 0,
                shares_level: "normal".into(),
                shares: 4000,
                expandable: false,
            }
        );
        assert_eq!(alloc(None).limit, -1);
    }
}
