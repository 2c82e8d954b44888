//! The vCenter inventory resources vcsim lacks (govmomi #1890): `/api/vcenter/{vm, host,
//! cluster, datacenter, datastore, network, resource-pool, folder}` lists with vCenter's
//! summary fields and filters, `/api/vcenter/vm/{vm}`, and `/api/about` with
//! `/api/appliance/system/version`. The `/rest/vcenter/...` forms answer the same.
//!
//! Everything is read from the SOAP inventory at call time, so the two APIs never disagree.
//! A list that matches more entries than vCenter's limit for that kind answers
//! `unable_to_allocate_resource`, as vCenter's list operations are documented to (the vSphere
//! Automation API reference: 4 000 VMs; 2 500 hosts or datastores; 1 000 of the others);
//! the walk stops there, so a list costs at most its limit.

use super::json::{Reply, Req, VapiError};
use crate::emulator::Emulator;
use crate::inventory::ManagedObject;
use crate::vmodl::{MoRef, Value};
use axum::http::Method;
use serde_json::{Value as Json, json};

/// Most VMs one list answers (vCenter's `vcenter.VM.list` limit).
pub const MAX_VMS: usize = 4000;

/// Most hosts or datastores one list answers.
pub const MAX_HOSTS_OR_DATASTORES: usize = 2500;

/// Most clusters, datacenters, networks, resource pools or folders one list answers.
pub const MAX_LIST: usize = 1000;

/// A nested property of `o`, `path` separated by dots.
fn prop<'a>(o: &'a ManagedObject, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = o.get(parts.next()?)?;
    for p in parts {
        v = v.field(p)?;
    }
    Some(v)
}

fn prop_str<'a>(o: &'a ManagedObject, path: &str) -> Option<&'a str> {
    match prop(o, path)? {
        Value::Enum(_, v) => Some(v.as_ref()),
        v => v.as_str(),
    }
}

fn prop_i64(o: &ManagedObject, path: &str) -> Option<i64> {
    prop(o, path)?.as_i64()
}

/// Whether `o` lies under `ancestor` in the inventory tree (bounded walk).
fn under(emu: &Emulator, o: &ManagedObject, ancestor: &str) -> bool {
    let mut cur = Some(o);
    for _ in 0..64 {
        let Some(c) = cur else { return false };
        if c.moref.value == ancestor {
            return true;
        }
        cur = c.parent().and_then(|p| emu.inv.lookup(p));
    }
    false
}

fn vm_power(o: &ManagedObject) -> &'static str {
    match prop_str(o, "runtime.powerState") {
        Some("poweredOn") => "POWERED_ON",
        Some("suspended") => "SUSPENDED",
        _ => "POWERED_OFF",
    }
}

/// The host of a VM, and that host's cluster (its parent, when a cluster).
fn vm_host(emu: &Emulator, o: &ManagedObject) -> (Option<String>, Option<String>) {
    let host = prop(o, "runtime.host").and_then(Value::as_moref);
    let cluster = host
        .and_then(|h| emu.inv.lookup(h))
        .and_then(|h| h.parent())
        .filter(|p| p.ty == "ClusterComputeResource")
        .map(|p| p.value.clone());
    (host.map(|h| h.value.clone()), cluster)
}

/// The datacenter an object belongs to.
fn datacenter_of(emu: &Emulator, o: &ManagedObject) -> Option<String> {
    let mut cur = Some(o);
    for _ in 0..64 {
        let c = cur?;
        if c.moref.ty == "Datacenter" {
            return Some(c.moref.value.clone());
        }
        cur = c.parent().and_then(|p| emu.inv.lookup(p));
    }
    None
}

/// Filters every list shares: ids (`<kind>s`), `names`, `datacenters`, `folders`.
struct Common {
    ids: Vec<String>,
    names: Vec<String>,
    datacenters: Vec<String>,
    folders: Vec<String>,
}

impl Common {
    fn read(req: &Req<'_>, ids: &str) -> Common {
        Common {
            ids: req.list_param(ids),
            names: req.list_param("names"),
            datacenters: req.list_param("datacenters"),
            folders: req.list_param("folders"),
        }
    }

    fn keeps(&self, emu: &Emulator, o: &ManagedObject) -> bool {
        (self.ids.is_empty() || self.ids.contains(&o.moref.value))
            && (self.names.is_empty() || self.names.iter().any(|n| n == o.name()))
            && (self.datacenters.is_empty()
                || datacenter_of(emu, o).is_some_and(|d| self.datacenters.contains(&d)))
            && (self.folders.is_empty()
                || o.parent().is_some_and(|p| self.folders.contains(&p.value)))
    }
}

fn objects<'a>(emu: &'a Emulator, types: &'a [&'a str]) -> impl Iterator<Item = &'a ManagedObject> {
    emu.inv
        .iter()
        .filter(move |o| types.contains(&o.moref.ty.as_ref()))
}

/// The entries of `v`, or `unable_to_allocate_resource` when more than `limit` match.
fn list(v: impl Iterator<Item = Json>, limit: usize, what: &str) -> Result<Reply, VapiError> {
    let entries: Vec<Json> = v.take(limit.saturating_add(1)).collect();
    if entries.len() > limit {
        return Err(VapiError::new(
            super::json::ErrorKind::UnableToAllocateResource,
            format!(
                "More than {limit} {what} match the filter: narrow it (names, folders, datacenters, …)."
            ),
        ));
    }
    Ok(Reply::Value(Json::Array(entries)))
}

/// Dispatches `vcenter/<rest>`.
pub fn handle(emu: &mut Emulator, req: &Req<'_>, rest: &[&str]) -> Result<Reply, VapiError> {
    if req.method != Method::GET {
        return Err(super::no_operation(req));
    }
    match rest {
        ["vm"] => vms(emu, req),
        ["vm", id] => vm_info(emu, id),
        ["host"] => hosts(emu, req),
        ["cluster"] => {
            let f = Common::read(req, "clusters");
            let v = objects(emu, &["ClusterComputeResource"])
                .filter(|o| f.keeps(emu, o))
                .map(|o| {
                    json!({
                        "cluster": o.moref.value,
                        "name": o.name(),
                        "ha_enabled": prop(o, "configurationEx.dasConfig.enabled")
                            .and_then(Value::as_bool).unwrap_or(false),
                        "drs_enabled": prop(o, "configurationEx.drsConfig.enabled")
                            .and_then(Value::as_bool).unwrap_or(false),
                    })
                });
            list(v, MAX_LIST, "clusters")
        }
        ["datacenter"] => {
            let f = Common::read(req, "datacenters");
            let v = objects(emu, &["Datacenter"])
                .filter(|o| f.keeps(emu, o))
                .map(|o| json!({"datacenter": o.moref.value, "name": o.name()}));
            list(v, MAX_LIST, "datacenters")
        }
        ["datastore"] => {
            let f = Common::read(req, "datastores");
            let types = req.list_param("types");
            let v = objects(emu, &["Datastore"])
                .filter(|o| f.keeps(emu, o))
                .filter(|o| {
                    types.is_empty()
                        || types
                            .iter()
                            .any(|t| Some(t.as_str()) == prop_str(o, "summary.type"))
                })
                .map(|o| {
                    json!({
                        "datastore": o.moref.value,
                        "name": o.name(),
                        "type": prop_str(o, "summary.type").unwrap_or("VMFS"),
                        "free_space": prop_i64(o, "summary.freeSpace").unwrap_or(0),
                        "capacity": prop_i64(o, "summary.capacity").unwrap_or(0),
                    })
                });
            list(v, MAX_HOSTS_OR_DATASTORES, "datastores")
        }
        ["network"] => {
            let f = Common::read(req, "networks");
            let types = req.list_param("types");
            let v = objects(
                emu,
                &["Network", "DistributedVirtualPortgroup", "OpaqueNetwork"],
            )
            .filter(|o| f.keeps(emu, o))
            .map(|o| {
                let ty = match o.moref.ty.as_ref() {
                    "DistributedVirtualPortgroup" => "DISTRIBUTED_PORTGROUP",
                    "OpaqueNetwork" => "OPAQUE_NETWORK",
                    _ => "STANDARD_PORTGROUP",
                };
                json!({"network": o.moref.value, "name": o.name(), "type": ty})
            })
            .filter(|v| types.is_empty() || types.iter().any(|t| v["type"] == t.as_str()));
            list(v, MAX_LIST, "networks")
        }
        ["resource-pool"] => {
            let f = Common::read(req, "resource_pools");
            let parents = req.list_param("parent_resource_pools");
            let hosts = req.list_param("hosts");
            let clusters = req.list_param("clusters");
            let v = objects(emu, &["ResourcePool", "VirtualApp"])
                .filter(|o| f.keeps(emu, o))
                .filter(|o| {
                    parents.is_empty() || o.parent().is_some_and(|p| parents.contains(&p.value))
                })
                .filter(|o| clusters.is_empty() || clusters.iter().any(|c| under(emu, o, c)))
                .filter(|o| {
                    hosts.is_empty() || owner_hosts(emu, o).iter().any(|h| hosts.contains(h))
                })
                .map(|o| json!({"resource_pool": o.moref.value, "name": o.name()}));
            list(v, MAX_LIST, "resource pools")
        }
        ["folder"] => {
            let f = Common::read(req, "folders");
            let types = req.list_param("type");
            let parents = req.list_param("parent_folders");
            let v = objects(emu, &["Folder"])
                .filter(|o| o.parent().is_some())
                .filter(|o| {
                    (f.ids.is_empty() || f.ids.contains(&o.moref.value))
                        && (f.names.is_empty() || f.names.iter().any(|n| n == o.name()))
                        && (f.datacenters.is_empty()
                            || datacenter_of(emu, o).is_some_and(|d| f.datacenters.contains(&d)))
                        && (parents.is_empty()
                            || o.parent().is_some_and(|p| parents.contains(&p.value)))
                })
                .filter_map(|o| {
                    let ty = folder_type(o)?;
                    (types.is_empty() || types.iter().any(|t| t == ty))
                        .then(|| json!({"folder": o.moref.value, "name": o.name(), "type": ty}))
                });
            list(v, MAX_LIST, "folders")
        }
        _ => Err(super::no_operation(req)),
    }
}

/// A folder's vAPI type from its `childType`.
fn folder_type(o: &ManagedObject) -> Option<&'static str> {
    let kinds: Vec<&str> = o
        .get("childType")
        .map(|v| v.items().iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if kinds.contains(&"VirtualMachine") {
        Some("VIRTUAL_MACHINE")
    } else if kinds.contains(&"Datacenter") {
        Some("DATACENTER")
    } else if kinds.contains(&"ComputeResource") {
        Some("HOST")
    } else if kinds.contains(&"Datastore") {
        Some("DATASTORE")
    } else if kinds.contains(&"Network") {
        Some("NETWORK")
    } else {
        None
    }
}

/// The hosts of the compute resource that owns a pool.
fn owner_hosts(emu: &Emulator, o: &ManagedObject) -> Vec<String> {
    prop(o, "owner")
        .and_then(Value::as_moref)
        .map(|c| {
            emu.inv
                .refs(c, "host")
                .into_iter()
                .map(|h| h.value)
                .collect()
        })
        .unwrap_or_default()
}

fn vms(emu: &Emulator, req: &Req<'_>) -> Result<Reply, VapiError> {
    let f = Common::read(req, "vms");
    let power: Vec<String> = req.list_param("power_states");
    let hosts = req.list_param("hosts");
    let clusters = req.list_param("clusters");
    let pools = req.list_param("resource_pools");
    let v = objects(emu, &["VirtualMachine"])
        .filter(|o| prop(o, "config.template").and_then(Value::as_bool) != Some(true))
        .filter(|o| f.keeps(emu, o))
        .filter(|o| power.is_empty() || power.iter().any(|p| p == vm_power(o)))
        .filter(|o| {
            if hosts.is_empty() && clusters.is_empty() {
                return true;
            }
            let (h, c) = vm_host(emu, o);
            (hosts.is_empty() || h.is_some_and(|h| hosts.contains(&h)))
                && (clusters.is_empty() || c.is_some_and(|c| clusters.contains(&c)))
        })
        .filter(|o| {
            pools.is_empty()
                || prop(o, "resourcePool")
                    .and_then(Value::as_moref)
                    .is_some_and(|p| pools.contains(&p.value))
        })
        .map(|o| {
            json!({
                "vm": o.moref.value,
                "name": o.name(),
                "power_state": vm_power(o),
                "cpu_count": prop_i64(o, "config.hardware.numCPU").unwrap_or(1),
                "memory_size_MiB": prop_i64(o, "config.hardware.memoryMB").unwrap_or(0),
            })
        });
    list(v, MAX_VMS, "virtual machines")
}

fn vm_info(emu: &Emulator, id: &str) -> Result<Reply, VapiError> {
    let o = emu
        .inv
        .lookup(&MoRef::new("VirtualMachine", id.to_owned()))
        .ok_or_else(|| {
            VapiError::not_found(format!(
                "Virtual machine with identifier '{id}' does not exist."
            ))
        })?;
    let guest = prop_str(o, "config.guestId").unwrap_or("otherGuest");
    let devices: &[Value] = prop(o, "config.hardware.device")
        .map(Value::items)
        .unwrap_or(&[]);
    let mut disks = serde_json::Map::new();
    let mut nics = serde_json::Map::new();
    for d in devices {
        let key = d
            .field("key")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .to_string();
        let label = d
            .field("deviceInfo")
            .and_then(|i| i.field("label"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if let Some(kb) = d.field("capacityInKB").and_then(Value::as_i64) {
            disks.insert(
                key,
                json!({"label": label, "type": "SCSI",
                    "capacity": d.field("capacityInBytes").and_then(Value::as_i64).unwrap_or(kb * 1024)}),
            );
        } else if let Some(mac) = d.field("macAddress").and_then(Value::as_str) {
            nics.insert(
                key,
                json!({"label": label, "mac_address": mac, "mac_type": "ASSIGNED",
                    "state": "CONNECTED", "type": "VMXNET3",
                    "start_connected": true, "allow_guest_control": true,
                    "wake_on_lan_enabled": false}),
            );
        }
    }
    let version = prop_str(o, "config.version").unwrap_or("vmx-13");
    let hw_version = format!("VMX_{}", version.trim_start_matches("vmx-"));
    Ok(Reply::Value(json!({
        "name": o.name(),
        "power_state": vm_power(o),
        "guest_OS": guest_os(guest),
        "identity": {
            "name": o.name(),
            "bios_uuid": prop_str(o, "config.uuid").unwrap_or(""),
            "instance_uuid": prop_str(o, "config.instanceUuid").unwrap_or(""),
        },
        "cpu": {
            "count": prop_i64(o, "config.hardware.numCPU").unwrap_or(1),
            "cores_per_socket": prop_i64(o, "config.hardware.numCoresPerSocket").unwrap_or(1),
            "hot_add_enabled": false,
            "hot_remove_enabled": false,
        },
        "memory": {
            "size_MiB": prop_i64(o, "config.hardware.memoryMB").unwrap_or(0),
            "hot_add_enabled": false,
        },
        "hardware": {"version": hw_version, "upgrade_policy": "NEVER", "upgrade_status": "NONE"},
        "boot": {"type": "BIOS", "delay": 0, "retry": false, "retry_delay": 10000, "enter_setup_mode": false},
        "disks": disks,
        "nics": nics,
        "cdroms": {},
        "floppies": {},
        "parallel_ports": {},
        "serial_ports": {},
        "sata_adapters": {},
        "scsi_adapters": {},
        "instant_clone_frozen": false,
    })))
}

/// vAPI's `GuestOS` enum value of a vim25 guest id: `otherLinux64Guest` is
/// `OTHER_LINUX_64`, `winXPProGuest` `WIN_XP_PRO`, `rhel7_64Guest` `RHEL_7_64`,
/// `windows2019srv_64Guest` `WINDOWS_2019SRV_64` (a word starts at a capital after a small
/// letter or digit, at a capital before a small letter, and at a digit after a letter).
pub(crate) fn guest_os(guest_id: &str) -> String {
    let id = guest_id.replace("Guest", "");
    let chars: Vec<char> = id.chars().collect();
    let mut out = String::with_capacity(id.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let starts_word = match prev {
            Some(p) if p != '_' => {
                (c.is_ascii_uppercase()
                    && (p.is_ascii_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_ascii_uppercase()
                            && next.is_some_and(|n| n.is_ascii_lowercase()))))
                    || (c.is_ascii_digit() && p.is_ascii_alphabetic())
            }
            _ => false,
        };
        if starts_word {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn hosts(emu: &Emulator, req: &Req<'_>) -> Result<Reply, VapiError> {
    let f = Common::read(req, "hosts");
    let clusters = req.list_param("clusters");
    let states = req.list_param("connection_states");
    let v = objects(emu, &["HostSystem"])
        .filter(|o| f.keeps(emu, o))
        .filter(|o| clusters.is_empty() || o.parent().is_some_and(|p| clusters.contains(&p.value)))
        .map(|o| {
            let conn = match prop_str(o, "runtime.connectionState") {
                Some("disconnected") => "DISCONNECTED",
                Some("notResponding") => "NOT_RESPONDING",
                _ => "CONNECTED",
            };
            let power = match prop_str(o, "runtime.powerState") {
                Some("standBy") => "STANDBY",
                Some("poweredOff") => "POWERED_OFF",
                _ => "POWERED_ON",
            };
            json!({"host": o.moref.value, "name": o.name(),
                "connection_state": conn, "power_state": power})
        })
        .filter(|v| {
            states.is_empty() || states.iter().any(|s| v["connection_state"] == s.as_str())
        });
    list(v, MAX_HOSTS_OR_DATASTORES, "hosts")
}

/// `/api/about` and `/api/appliance/system/version`: the product and API versions.
pub fn about(emu: &Emulator, req: &Req<'_>) -> Result<Reply, VapiError> {
    if req.method != Method::GET {
        return Err(super::no_operation(req));
    }
    let c = &emu.config;
    let esx = matches!(c.flavor, crate::config::Flavor::HostAgent);
    let product = if esx {
        "VMware ESXi"
    } else {
        "VMware vCenter Server"
    };
    let v = match req.segs.first().map(String::as_str) {
        Some("about") => json!({
            "name": product,
            "product": product,
            "version": c.product_version,
            "api_version": c.api_version,
            "build": "vicbed",
            "vendor": "VMware, Inc.",
            "emulator": "vicbed vcsim",
        }),
        _ => json!({
            "product": product,
            "version": c.product_version,
            "build": "vicbed",
            "type": if esx { "ESXi" } else { "vCenter Server with an embedded Platform Services Controller" },
            "summary": format!("{product} {}", c.product_version),
            "releasedate": "",
            "install_time": super::time(emu.clock.start_ms()),
        }),
    };
    Ok(Reply::Value(v))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{login, send, sim};
    use axum::http::StatusCode;

    #[test]
    fn guest_ids_map_to_vapi_guest_os_names() {
        for (id, want) in [
            ("otherGuest", "OTHER"),
            ("otherGuest64", "OTHER_64"),
            ("otherLinux64Guest", "OTHER_LINUX_64"),
            ("winXPProGuest", "WIN_XP_PRO"),
            ("rhel7_64Guest", "RHEL_7_64"),
            ("windows9Server64Guest", "WINDOWS_9_SERVER_64"),
            ("windows2019srv_64Guest", "WINDOWS_2019SRV_64"),
            ("win2000ProGuest", "WIN_2000_PRO"),
            ("other3xLinux64Guest", "OTHER_3X_LINUX_64"),
            ("vmkernel65Guest", "VMKERNEL_65"),
        ] {
            assert_eq!(super::guest_os(id), want, "{id}");
        }
    }

    #[tokio::test]
    async fn lists_follow_the_inventory_and_filters() {
        let vc = sim();
        let s = login(&vc).await;
        let s = Some(s.as_str());
        let a = send(&vc, "GET", "/api/vcenter/vm", s, None, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let all = a.json.as_array().expect("list").len();
        let n = vc.with(|e| {
            e.inv
                .iter()
                .filter(|o| o.moref.ty == "VirtualMachine")
                .count()
        });
        assert_eq!(all, n);
        let first = a.json[0]["name"].as_str().expect("name").to_owned();
        let id = a.json[0]["vm"].as_str().expect("id").to_owned();
        let a = send(
            &vc,
            "GET",
            &format!("/api/vcenter/vm?names={first}"),
            s,
            None,
            None,
        )
        .await;
        assert_eq!(a.json.as_array().map(Vec::len), Some(1));
        let a = send(
            &vc,
            "GET",
            "/api/vcenter/vm?power_states=SUSPENDED",
            s,
            None,
            None,
        )
        .await;
        assert_eq!(a.json.as_array().map(Vec::len), Some(0));
        let a = send(&vc, "GET", &format!("/api/vcenter/vm/{id}"), s, None, None).await;
        assert_eq!(a.json["name"], first.as_str());
        let a = send(&vc, "GET", "/api/vcenter/vm/vm-nope", s, None, None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        let a = send(&vc, "GET", "/rest/vcenter/host", s, None, None).await;
        assert!(!a.json["value"].as_array().expect("hosts").is_empty());
        let a = send(&vc, "GET", "/api/vcenter/cluster", s, None, None).await;
        let cluster = a.json[0]["cluster"].as_str().expect("a cluster").to_owned();
        let a = send(
            &vc,
            "GET",
            &format!("/api/vcenter/host?clusters={cluster}"),
            s,
            None,
            None,
        )
        .await;
        let hosts = a.json.as_array().expect("hosts").len();
        assert!(hosts >= 1);
        let a = send(
            &vc,
            "GET",
            &format!("/api/vcenter/vm?clusters={cluster}"),
            s,
            None,
            None,
        )
        .await;
        assert!(
            a.json.as_array().expect("vms").len() < all,
            "the standalone host's VMs are out"
        );
        for path in [
            "datacenter",
            "datastore",
            "network",
            "resource-pool",
            "folder",
        ] {
            let a = send(&vc, "GET", &format!("/api/vcenter/{path}"), s, None, None).await;
            assert!(!a.json.as_array().expect(path).is_empty(), "{path}");
        }
        let a = send(&vc, "GET", "/api/about", s, None, None).await;
        assert_eq!(a.json["api_version"], "8.0.3.0");
    }

    /// A list answers every match up to its limit, and refuses (rather than cuts) beyond it.
    #[test]
    fn lists_refuse_more_matches_than_their_limit() {
        let entries = |n: usize| (0..n).map(|i| serde_json::json!({ "vm": i }));
        let Ok(super::Reply::Value(super::Json::Array(four))) =
            super::list(entries(4), 4, "virtual machines")
        else {
            panic!("four entries fit a limit of four");
        };
        assert_eq!(four.len(), 4);
        let Err(e) = super::list(entries(5), 4, "virtual machines") else {
            panic!("five entries exceed a limit of four");
        };
        assert_eq!(
            e.kind,
            super::super::json::ErrorKind::UnableToAllocateResource
        );
        assert!(
            e.message.contains("More than 4 virtual machines"),
            "{}",
            e.message
        );
    }
}
