//! Building the initial inventory: govmomi vcsim's default model (names `DC0`, `DC0_C0`,
//! `DC0_C0_H0`, `DC0_C0_RP0_VM0`, `DC0_H0`, `LocalDS_0`, `VM Network`, `DVS0`,
//! `DC0_DVPG0`), or the hosts, clusters, pools and VMs of an inventory file.

use super::vm_ops::{VmCreate, VmPlacement};
use super::{BuildError, Emulator};
use crate::config::{Flavor, ModelCounts};
use crate::guest::{WORKLOAD_KEY, WorkloadAgent};
use crate::inventory::{
    DatacenterFolders, HostHardware, HostManagers, InventorySpec, ManagedObject,
    PoolSpec as PoolToml, SharesSpec, compute_resource, compute_summary, datacenter, datastore,
    datastore_host_mount, dv_portgroup, dvs, folder, host_system, network, option_value,
};
use crate::inventory::{VmSpec as VmToml, allocation_info, shares_info};
use crate::vmodl::{Fault, MoRef, Value};
use scheduler_model::HostSpec;

/// The default host: 8 cores at 2.2 GHz, 64 GB (a typical two-socket lab host of the VIC 1.2
/// era; the scenario files declare their own).
pub const DEFAULT_HOST: HostHardware = HostHardware {
    cores: 8,
    mhz_per_core: 2200,
    hyperthreading: false,
    memory_mb: 65_536,
};

/// Datastore capacity of the model's local datastore: 1 TiB.
const DATASTORE_BYTES: i64 = 1 << 40;

/// A datacenter with its shared datastore and networks.
pub(crate) struct Dc {
    pub(crate) folders: DatacenterFolders,
    pub(crate) datastore: MoRef,
    pub(crate) networks: Vec<MoRef>,
}

/// A datacenter and its four folders (no datastore or network yet) in folder `parent`.
pub(crate) fn add_datacenter_folders(
    emu: &mut Emulator,
    name: &str,
    parent: &MoRef,
) -> Result<(MoRef, DatacenterFolders), Fault> {
    let esx = emu.flavor == Flavor::HostAgent;
    let (dc_v, vm_v, host_v, ds_v, net_v) = if esx {
        (
            "ha-datacenter".into(),
            "ha-folder-vm".into(),
            "ha-folder-host".into(),
            "ha-folder-datastore".into(),
            "ha-folder-network".into(),
        )
    } else {
        (
            emu.inv.alloc("datacenter-"),
            emu.inv.alloc("group-v"),
            emu.inv.alloc("group-h"),
            emu.inv.alloc("group-s"),
            emu.inv.alloc("group-n"),
        )
    };
    let dc = MoRef::new("Datacenter", dc_v);
    let folders = DatacenterFolders {
        vm: MoRef::new("Folder", vm_v),
        host: MoRef::new("Folder", host_v),
        datastore: MoRef::new("Folder", ds_v),
        network: MoRef::new("Folder", net_v),
    };
    emu.inv
        .insert(datacenter(dc.clone(), name, parent, &folders));
    emu.inv.push_ref(parent, "childEntity", &dc)?;
    emu.inv.insert(folder(
        folders.vm.clone(),
        "vm",
        Some(&dc),
        &["Folder", "VirtualMachine", "VirtualApp"],
    ));
    emu.inv.insert(folder(
        folders.host.clone(),
        "host",
        Some(&dc),
        &["Folder", "ComputeResource"],
    ));
    emu.inv.insert(folder(
        folders.datastore.clone(),
        "datastore",
        Some(&dc),
        &["Folder", "Datastore", "StoragePod"],
    ));
    emu.inv.insert(folder(
        folders.network.clone(),
        "network",
        Some(&dc),
        &["Folder", "Network", "DistributedVirtualSwitch"],
    ));
    Ok((dc, folders))
}

/// A local datastore `LocalDS_N` (with its browser) in datacenter `dc`, numbered over the
/// whole inventory.
fn add_local_datastore(
    emu: &mut Emulator,
    dc: &MoRef,
    folders: &DatacenterFolders,
) -> Result<MoRef, Fault> {
    let ds_index = emu.inv.count_of_type("Datastore");
    add_datastore(emu, dc, folders, &format!("LocalDS_{ds_index}"), ds_index)
}

/// Datastore `name` in datacenter `dc` with its browser (ESXi: the host's one browser, and
/// the moref `datastore<esx_index + 1>`).
pub(crate) fn add_datastore(
    emu: &mut Emulator,
    dc: &MoRef,
    folders: &DatacenterFolders,
    name: &str,
    esx_index: usize,
) -> Result<MoRef, Fault> {
    let esx = emu.flavor == Flavor::HostAgent;
    let browser = if esx {
        MoRef::new("HostDatastoreBrowser", "ha-host-datastorebrowser")
    } else {
        MoRef::new("HostDatastoreBrowser", emu.inv.alloc("datastoreBrowser-"))
    };
    if emu.inv.lookup(&browser).is_none() {
        emu.inv
            .insert(ManagedObject::new(browser.clone()).with("datastore", Value::morefs([])));
    }
    let ds = MoRef::new(
        "Datastore",
        if esx {
            format!("datastore{}", esx_index + 1)
        } else {
            emu.inv.alloc("datastore-")
        },
    );
    let url = format!("ds:///vmfs/volumes/{}/", emu.idgen.uuid());
    emu.inv.insert(datastore(
        ds.clone(),
        name,
        &folders.datastore,
        &url,
        DATASTORE_BYTES,
        &browser,
    ));
    emu.inv.push_ref(&folders.datastore, "childEntity", &ds)?;
    emu.inv.push_ref(dc, "datastore", &ds)?;
    emu.inv.push_ref(&browser, "datastore", &ds)?;
    Ok(ds)
}

/// The standard-switch network `VM Network` of datacenter `dc`.
pub(crate) fn add_vm_network(
    emu: &mut Emulator,
    dc: &MoRef,
    folders: &DatacenterFolders,
) -> Result<MoRef, Fault> {
    let esx = emu.flavor == Flavor::HostAgent;
    let vm_net = MoRef::new(
        "Network",
        if esx {
            "HaNetwork-VM Network".into()
        } else {
            emu.inv.alloc("network-")
        },
    );
    emu.inv
        .insert(network(vm_net.clone(), "VM Network", &folders.network));
    emu.inv.push_ref(&folders.network, "childEntity", &vm_net)?;
    emu.inv.push_ref(dc, "network", &vm_net)?;
    Ok(vm_net)
}

/// A distributed switch `name` with its uplink port group `<name>-DVUplinks-N`, in network
/// folder `net_folder` of datacenter `dc`. Returns the switch and the uplink port group.
pub(crate) fn add_dvs(
    emu: &mut Emulator,
    dc: &MoRef,
    net_folder: &MoRef,
    name: &str,
) -> Result<(MoRef, MoRef), Fault> {
    let sw = MoRef::new("VmwareDistributedVirtualSwitch", emu.inv.alloc("dvs-"));
    let uuid = emu.idgen.uuid();
    emu.inv.insert(dvs(sw.clone(), name, net_folder, &uuid));
    emu.inv.update(&sw, |o| {
        if let Some(c) = o.props.get_mut("config").and_then(Value::as_data_mut) {
            c.set("createTime", Value::DateTime(emu.clock.now_ms()));
        }
    })?;
    emu.inv.push_ref(net_folder, "childEntity", &sw)?;
    let uplinks = MoRef::new("DistributedVirtualPortgroup", emu.inv.alloc("dvportgroup-"));
    let uplink_name = format!(
        "{name}-DVUplinks-{}",
        uplinks.value.trim_start_matches("dvportgroup-")
    );
    emu.inv.insert(dv_portgroup(
        uplinks.clone(),
        &uplink_name,
        net_folder,
        &sw,
        true,
    ));
    emu.inv.push_ref(net_folder, "childEntity", &uplinks)?;
    emu.inv.push_ref(dc, "network", &uplinks)?;
    emu.inv.push_ref(&sw, "portgroup", &uplinks)?;
    Ok((sw, uplinks))
}

fn add_datacenter(emu: &mut Emulator, name: &str) -> Result<Dc, Fault> {
    add_datacenter_with(emu, name, &[])
}

/// A datacenter with its datastore, `VM Network`, and (on vCenter) `DVS<n>` with
/// `<name>_DVPG0` and the `extra_port_groups`.
fn add_datacenter_with(
    emu: &mut Emulator,
    name: &str,
    extra_port_groups: &[String],
) -> Result<Dc, Fault> {
    let esx = emu.flavor == Flavor::HostAgent;
    let root = emu.refs.root_folder.clone();
    let (dc, folders) = add_datacenter_folders(emu, name, &root)?;
    let ds = add_local_datastore(emu, &dc, &folders)?;
    let vm_net = add_vm_network(emu, &dc, &folders)?;
    let mut networks = vec![vm_net];
    if !esx {
        let dc_index = emu
            .inv
            .iter()
            .filter(|o| o.moref.ty == "Datacenter")
            .count()
            - 1;
        let sw_name = format!("DVS{dc_index}");
        let (sw, _) = add_dvs(emu, &dc, &folders.network, &sw_name)?;
        let first = format!("{name}_DVPG0");
        for pg_name in std::iter::once(&first).chain(extra_port_groups) {
            let pg = MoRef::new("DistributedVirtualPortgroup", emu.inv.alloc("dvportgroup-"));
            emu.inv.insert(dv_portgroup(
                pg.clone(),
                pg_name,
                &folders.network,
                &sw,
                false,
            ));
            emu.inv.push_ref(&folders.network, "childEntity", &pg)?;
            emu.inv.push_ref(&dc, "network", &pg)?;
            emu.inv.push_ref(&sw, "portgroup", &pg)?;
            networks.push(pg);
        }
    }
    Ok(Dc {
        folders,
        datastore: ds,
        networks,
    })
}

/// An existing datacenter as hosts joining it see it: its first datastore and its VM
/// networks (standard networks and non-uplink port groups). A datacenter made empty by
/// CreateDatacenter gets a local datastore and `VM Network` for its first host.
pub(crate) fn dc_for_hosts(emu: &mut Emulator, dc: &MoRef) -> Result<Dc, Fault> {
    let one = |emu: &Emulator, n: &str| {
        emu.inv
            .prop(dc, n)
            .and_then(Value::as_moref)
            .cloned()
            .ok_or_else(|| Fault::not_found(dc))
    };
    let folders = DatacenterFolders {
        vm: one(emu, "vmFolder")?,
        host: one(emu, "hostFolder")?,
        datastore: one(emu, "datastoreFolder")?,
        network: one(emu, "networkFolder")?,
    };
    let datastore = match emu.inv.refs(dc, "datastore").into_iter().next() {
        Some(d) => d,
        None => add_local_datastore(emu, dc, &folders)?,
    };
    let mut networks: Vec<MoRef> = emu
        .inv
        .refs(dc, "network")
        .into_iter()
        .filter(|n| {
            n.ty == "Network"
                || emu
                    .inv
                    .prop(n, "config")
                    .and_then(|c| c.field("uplink"))
                    .and_then(Value::as_bool)
                    == Some(false)
        })
        .collect();
    if networks.is_empty() {
        networks.push(add_vm_network(emu, dc, &folders)?);
    }
    Ok(Dc {
        folders,
        datastore,
        networks,
    })
}

/// An EnvironmentBrowser for compute resource `cr` (named after it, so that adding it
/// shifts no other object's id).
fn add_environment_browser(emu: &mut Emulator, dc: &Dc, cr: &MoRef) -> MoRef {
    let esx = emu.flavor == Flavor::HostAgent;
    let r = MoRef::new(
        "EnvironmentBrowser",
        if esx {
            "ha-env-browser".into()
        } else {
            format!("envbrowser-{}", cr.value)
        },
    );
    let mut o = ManagedObject::new(r.clone());
    if let Some(b) = emu.inv.prop(&dc.datastore, "browser").cloned() {
        o = o.with("datastoreBrowser", b);
    }
    emu.inv.insert(o);
    r
}

/// Adds host `host_name` to compute resource `cr` of datacenter `dc` (inventory, model,
/// datastore mount and networks).
pub(crate) fn add_host(
    emu: &mut Emulator,
    dc: &Dc,
    cr: &MoRef,
    host_name: &str,
    hw: &HostHardware,
) -> Result<MoRef, Fault> {
    let esx = emu.flavor == Flavor::HostAgent;
    let product = super::service::about(&emu.config, "");
    let h = MoRef::new(
        "HostSystem",
        if esx {
            "ha-host".into()
        } else {
            emu.inv.alloc("host-")
        },
    );
    let mut about = product;
    if let Some(d) = about.as_data_mut() {
        d.set("name", Value::str("VMware ESXi"));
        d.set("apiType", Value::str("HostAgent"));
        d.set("productLineId", Value::str("embeddedEsx"));
        d.remove("instanceUuid");
    }
    // ESXi's fixed manager ids, or vCenter's `<manager>-<host id>`.
    let manager = |ty: &'static str, esx_id: &str, vc_prefix: &str| {
        MoRef::new(
            ty,
            if esx {
                esx_id.to_owned()
            } else {
                format!("{vc_prefix}-{}", h.value)
            },
        )
    };
    let managers = HostManagers {
        network_system: manager("HostNetworkSystem", "networkSystem", "networkSystem"),
        datastore_system: manager(
            "HostDatastoreSystem",
            "ha-datastoresystem",
            "datastoreSystem",
        ),
        storage_system: manager("HostStorageSystem", "storageSystem", "storageSystem"),
        firewall_system: manager("HostFirewallSystem", "firewallSystem", "firewallSystem"),
        datastore_browser: emu
            .inv
            .prop(&dc.datastore, "browser")
            .and_then(Value::as_moref)
            .cloned()
            .unwrap_or_else(|| MoRef::new("HostDatastoreBrowser", "")),
        uuid: emu.idgen.uuid(),
        boot_time_ms: emu.clock.start_ms(),
        product: about,
    };
    emu.inv
        .insert(host_system(h.clone(), host_name, cr, hw, &managers));
    // vmk0's MAC from the host's UUID, so no other generated id moves.
    let hex: Vec<char> = managers
        .uuid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let x = |i: usize| hex.get(i).copied().unwrap_or('0');
    let mac = format!(
        "00:50:56:{}{}:{}{}:{}{}",
        x(0),
        x(1),
        x(2),
        x(3),
        x(4),
        x(5)
    );
    emu.inv.insert(crate::inventory::host_network_system(
        managers.network_system.clone(),
        &crate::inventory::host_management_ip(host_name),
        &mac,
    ));
    emu.inv.insert(crate::inventory::host_datastore_system(
        managers.datastore_system.clone(),
    ));
    emu.inv.insert(crate::inventory::host_firewall_system(
        managers.firewall_system.clone(),
    ));
    let ds_summary = emu.inv.prop(&dc.datastore, "summary");
    let ds_capacity = ds_summary
        .and_then(|s| s.field("capacity"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let ds_url = ds_summary
        .and_then(|s| s.field("url"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let ds_name = emu.inv.get(&dc.datastore)?.name().to_owned();
    emu.inv.insert(crate::inventory::host_storage_system(
        managers.storage_system.clone(),
        &ds_name,
        ds_capacity,
        &ds_url,
    ));
    let id = emu.world.add_host(HostSpec {
        name: host_name.to_owned(),
        cores: hw.cores,
        mhz_per_core: hw.mhz_per_core,
        hyperthreading: hw.hyperthreading,
        memory_mb: hw.memory_mb,
    });
    emu.ids.hosts.insert(h.value.clone(), id);
    emu.inv.push_ref(cr, "host", &h)?;
    emu.inv.push_ref(&h, "datastore", &dc.datastore)?;
    emu.inv.push_ref(cr, "datastore", &dc.datastore)?;
    emu.inv.update(&dc.datastore, |o| {
        if let Some(items) = o.props.get_mut("host").and_then(Value::items_mut) {
            items.push(datastore_host_mount(&h, "/vmfs/volumes/LocalDS"));
        }
    })?;
    for n in &dc.networks {
        emu.inv.push_ref(&h, "network", n)?;
        emu.inv.push_ref(cr, "network", n)?;
        emu.inv.push_ref(n, "host", &h)?;
    }
    Ok(h)
}

/// Adds a compute resource (a cluster when `cluster`) with its hosts and root pool, and an
/// EnvironmentBrowser. A cluster may start without hosts.
pub(crate) fn add_compute(
    emu: &mut Emulator,
    dc: &Dc,
    name: &str,
    cluster: bool,
    hosts: &[(String, HostHardware)],
) -> Result<(MoRef, MoRef, Vec<MoRef>), BuildError> {
    let esx = emu.flavor == Flavor::HostAgent;
    let cr = if cluster {
        MoRef::new("ClusterComputeResource", emu.inv.alloc("domain-c"))
    } else if esx {
        MoRef::new("ComputeResource", "ha-compute-res")
    } else {
        MoRef::new("ComputeResource", emu.inv.alloc("domain-s"))
    };
    let hws: Vec<HostHardware> = hosts.iter().map(|(_, h)| h.clone()).collect();
    let pool_placeholder = MoRef::new("ResourcePool", "");
    emu.inv.insert(compute_resource(
        cr.clone(),
        name,
        &dc.folders.host,
        &pool_placeholder,
        compute_summary(&hws, cluster),
        cluster,
    ));
    let browser = add_environment_browser(emu, dc, &cr);
    emu.inv
        .set(&cr, "environmentBrowser", Value::moref(&browser))?;
    emu.inv.push_ref(&dc.folders.host, "childEntity", &cr)?;
    let mut host_refs = Vec::new();
    for (host_name, hw) in hosts {
        host_refs.push(add_host(emu, dc, &cr, host_name, hw)?);
    }
    let pool = emu.create_root_pool(&cr, &host_refs)?;
    emu.inv.set(&cr, "resourcePool", Value::moref(&pool))?;
    Ok((cr, pool, host_refs))
}

/// A VM of the initial inventory.
struct ModelVm<'a> {
    name: String,
    vcpus: i32,
    memory_mb: i32,
    workload: Option<&'a str>,
    power_on: bool,
    /// `config.cpuAllocation` / `memoryAllocation` (absent: vSphere's VM defaults).
    cpu_allocation: Option<Value>,
    memory_allocation: Option<Value>,
}

impl ModelVm<'_> {
    /// The default model's VM: 1 vCPU, 1 GB, idle.
    fn small(name: String, power_on: bool) -> ModelVm<'static> {
        ModelVm {
            name,
            vcpus: 1,
            memory_mb: 1024,
            workload: None,
            power_on,
            cpu_allocation: None,
            memory_allocation: None,
        }
    }

    /// A VM of an inventory file, with its shares, reservations and limits.
    fn from_toml<'a>(name: String, v: &'a VmToml) -> ModelVm<'a> {
        let (cpu, mem) = vm_allocations(v);
        ModelVm {
            name,
            vcpus: v.vcpus as i32,
            memory_mb: v.memory_mb.min(i32::MAX as u64) as i32,
            workload: v.workload.as_deref(),
            power_on: v.power_on,
            cpu_allocation: Some(cpu),
            memory_allocation: Some(mem),
        }
    }
}

fn model_vm(
    emu: &mut Emulator,
    dc: &Dc,
    pool: &MoRef,
    host: &MoRef,
    vm: ModelVm<'_>,
) -> Result<MoRef, BuildError> {
    let ModelVm {
        name,
        vcpus,
        memory_mb,
        workload,
        power_on,
        cpu_allocation,
        memory_allocation,
    } = vm;
    let extra_config = workload
        .map(|w| vec![option_value(WORKLOAD_KEY, Value::str(w))])
        .unwrap_or_default();
    let what = name.clone();
    let vm = emu.create_vm(
        "vpxuser",
        VmCreate {
            name,
            num_cpu: vcpus,
            memory_mb,
            extra_config,
            cpu_allocation,
            memory_allocation,
            ..VmCreate::default()
        },
        VmPlacement {
            folder: dc.folders.vm.clone(),
            pool: pool.clone(),
            host: Some(host.clone()),
        },
    )?;
    if power_on {
        // Admission control on the VM's reservations: name the VM that does not fit.
        emu.power_on_vm("vpxuser", &vm)
            .map_err(|f| BuildError::Model(format!("vm {what:?} cannot power on: {f}")))?;
    }
    Ok(vm)
}

/// govmomi vcsim's default model with the given counts (model VMs: 1 vCPU, 1 GB, idle).
pub(super) fn default_model(emu: &mut Emulator, counts: &ModelCounts) -> Result<(), BuildError> {
    let esx = emu.flavor == Flavor::HostAgent;
    let autostart = emu.config.autostart;
    let dcs = if esx { 1 } else { counts.datacenters };
    for d in 0..dcs {
        let dc_name = if esx {
            "ha-datacenter".to_owned()
        } else {
            format!("DC{d}")
        };
        let dc = add_datacenter(emu, &dc_name)?;
        if esx {
            let (_, pool, hosts) = add_compute(
                emu,
                &dc,
                "localhost.localdomain",
                false,
                &[("localhost.localdomain".into(), DEFAULT_HOST)],
            )?;
            for v in 0..counts.vms_per_host {
                model_vm(
                    emu,
                    &dc,
                    &pool,
                    &hosts[0],
                    ModelVm::small(format!("ha-host_VM{v}"), autostart),
                )?;
            }
            continue;
        }
        for c in 0..counts.clusters {
            let cname = format!("{dc_name}_C{c}");
            let hosts: Vec<(String, HostHardware)> = (0..counts.hosts_per_cluster)
                .map(|h| (format!("{cname}_H{h}"), DEFAULT_HOST))
                .collect();
            let (_, pool, host_refs) = add_compute(emu, &dc, &cname, true, &hosts)?;
            let n = counts.vms_per_host as usize * host_refs.len();
            for v in 0..n {
                let host = host_refs[v % host_refs.len()].clone();
                model_vm(
                    emu,
                    &dc,
                    &pool,
                    &host,
                    ModelVm::small(format!("{cname}_RP0_VM{v}"), autostart),
                )?;
            }
        }
        for s in 0..counts.standalone_hosts {
            let hname = format!("{dc_name}_H{s}");
            let (_, pool, host_refs) =
                add_compute(emu, &dc, &hname, false, &[(hname.clone(), DEFAULT_HOST)])?;
            for v in 0..counts.vms_per_host {
                model_vm(
                    emu,
                    &dc,
                    &pool,
                    &host_refs[0],
                    ModelVm::small(format!("{hname}_VM{v}"), autostart),
                )?;
            }
        }
    }
    Ok(())
}

fn shares_value(s: &Option<SharesSpec>, default_level: &str) -> Value {
    match s {
        Some(SharesSpec::Custom(n)) => shares_info("custom", (*n).min(i32::MAX as u32) as i32),
        Some(SharesSpec::Level(l)) => shares_info(l, 0),
        None => shares_info(default_level, 0),
    }
}

fn pool_allocations(p: &PoolToml) -> (Value, Value) {
    let cpu = allocation_info(
        p.cpu_reservation_mhz as i64,
        p.cpu_limit_mhz.map(|l| l as i64).unwrap_or(-1),
        shares_value(&p.cpu_shares, "normal"),
        p.expandable,
    );
    let mem = allocation_info(
        p.mem_reservation_mb as i64,
        p.mem_limit_mb.map(|l| l as i64).unwrap_or(-1),
        shares_value(&p.mem_shares, "normal"),
        p.expandable,
    );
    (cpu, mem)
}

/// A VM's `cpuAllocation` and `memoryAllocation` from its inventory entry (VMs never have
/// expandable reservations).
fn vm_allocations(v: &VmToml) -> (Value, Value) {
    let cpu = allocation_info(
        v.cpu_reservation_mhz as i64,
        v.cpu_limit_mhz.map(|l| l as i64).unwrap_or(-1),
        shares_value(&v.cpu_shares, "normal"),
        false,
    );
    let mem = allocation_info(
        v.mem_reservation_mb as i64,
        v.mem_limit_mb.map(|l| l as i64).unwrap_or(-1),
        shares_value(&v.mem_shares, "normal"),
        false,
    );
    (cpu, mem)
}

/// Refuses VMs whose workload names a trace that was not loaded (an inventory parsed from
/// text without [`InventorySpec::load`] or [`InventorySpec::load_traces`]).
fn check_traces_loaded(spec: &InventorySpec) -> Result<(), BuildError> {
    for (v, file) in spec.vm_traces() {
        if let Some(f) = file
            && spec.traces.get(&f).is_none()
        {
            return Err(BuildError::Model(format!(
                "vm {:?}: trace {f:?} was not loaded (InventorySpec::load reads traces beside the inventory file)",
                v.name
            )));
        }
    }
    Ok(())
}

/// The inventory an inventory file declares.
pub(super) fn from_spec(emu: &mut Emulator, spec: &InventorySpec) -> Result<(), BuildError> {
    use crate::inventory::SpecHostExpand;
    check_traces_loaded(spec)?;
    if !spec.traces.is_empty() {
        // The default guest, able to replay the inventory's traces; added before any VM
        // powers on, and behind agents added later (VIC's).
        emu.add_agent(std::sync::Arc::new(WorkloadAgent::new(spec.traces.clone())));
    }
    let dc = add_datacenter_with(emu, &spec.datacenter, &spec.port_groups)?;
    for c in &spec.clusters {
        let hosts = c.hosts.expand();
        let (_, root, host_refs) = add_compute(emu, &dc, &c.name, true, &hosts)?;
        let mut pools = vec![("Resources".to_owned(), root.clone())];
        for p in &c.pools {
            let parent = pools
                .iter()
                .find(|(n, _)| *n == p.parent)
                .map(|(_, r)| r.clone())
                .ok_or_else(|| Fault::invalid_argument("parent"))?;
            let (cpu, mem) = pool_allocations(p);
            let r = emu.create_pool(&parent, &p.name, Some(&cpu), Some(&mem))?;
            pools.push((p.name.clone(), r));
        }
        let mut next = 0usize;
        for v in &c.vms {
            let pool = pools
                .iter()
                .find(|(n, _)| *n == v.pool)
                .map(|(_, r)| r.clone())
                .ok_or_else(|| Fault::invalid_argument("pool"))?;
            for name in crate::inventory::expand_vm_names(v) {
                let host = match &v.host {
                    Some(h) => host_refs[hosts
                        .iter()
                        .position(|(n, _)| n == h)
                        .ok_or_else(|| Fault::invalid_argument("host"))?]
                    .clone(),
                    None => {
                        next += 1;
                        host_refs[(next - 1) % host_refs.len()].clone()
                    }
                };
                model_vm(emu, &dc, &pool, &host, ModelVm::from_toml(name, v))?;
            }
        }
    }
    let standalone: Vec<(String, HostHardware)> = spec.standalone_hosts.expand();
    for (name, hw) in standalone {
        let (_, pool, host_refs) = add_compute(emu, &dc, &name, false, &[(name.clone(), hw)])?;
        for v in spec
            .standalone_vms
            .iter()
            .filter(|v| v.host.as_deref() == Some(name.as_str()))
        {
            for vm_name in crate::inventory::expand_vm_names(v) {
                model_vm(
                    emu,
                    &dc,
                    &pool,
                    &host_refs[0],
                    ModelVm::from_toml(vm_name, v),
                )?;
            }
        }
    }
    Ok(())
}
