//! govmomi vcsim's model with vcsim's counting ([`VcsimModel`], the `vicbed vcsim` flags),
//! beside [`super::build::default_model`] (the `vicbed serve` counting).
//!
//! The facts (govmomi `simulator/model.go`): per datacenter, an optional folder `F<n>`,
//! storage pods `<dc>_POD<n>`, datastores `LocalDS_<n>` mounted on every host of the
//! datacenter, `DVS0` with `<dc>_DVPG<n>` (the first one backs each model VM's NIC) and
//! `<dc>_NSXPG<n>`, opaque networks `<dc>_NSX<n>`, standalone hosts `<dc>_H<n>`, clusters
//! `<dc>_C<n>` of hosts `<dc>_C<n>_H<m>` with child pools `<dc>_C<n>_RP<m>` (m ≥ 1). VMs are
//! counted per resource pool: `-vm` VMs in each standalone host's pool (`<dc>_H<n>_VM<i>`)
//! and in each cluster's root pool (`<dc>_C<n>_RP0_VM<i>`); child pools start empty. Each
//! model VM has an IDE controller with a CD-ROM, a paravirtual SCSI controller with a disk,
//! and one NIC.

use super::build::{
    DEFAULT_HOST, Dc, add_compute, add_datacenter_folders, add_datastore, add_dvs, add_vm_network,
};
use super::vm_ops::{VmCreate, VmPlacement};
use super::{BuildError, Emulator};
use crate::config::{Flavor, VcsimModel};
use crate::inventory::{
    DatacenterFolders, HostHardware, datastore_host_mount, default_devices, dv_portgroup, folder,
    network,
};
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Most entities of one kind the model may ask for in one place (per datacenter, cluster or
/// pool): the flags are user input and the inventory lives in memory.
pub const MAX_PER_KIND: u32 = 10_000;

/// Most VMs a model may build in total (vcsim's `-vm` multiplies with every pool).
pub const MAX_MODEL_VMS: u64 = 100_000;

/// Refuses counts this emulator cannot build, with the flag to change.
pub fn check(m: &VcsimModel, esx: bool) -> Result<(), String> {
    let flags = [
        ("-dc", m.datacenter),
        ("-cluster", m.cluster),
        ("-host", m.cluster_host),
        ("-standalone-host", m.host),
        ("-vm", m.machine),
        ("-pool", m.pool),
        ("-app", m.app),
        ("-pod", m.pod),
        ("-ds", m.datastore),
        ("-pg", m.portgroup),
        ("-pg-nsx", m.portgroup_nsx),
        ("-nsx", m.opaque_network),
        ("-folder", m.folder),
    ];
    for (flag, n) in flags {
        if n > MAX_PER_KIND {
            return Err(format!("{flag} {n}: at most {MAX_PER_KIND}"));
        }
    }
    let dcs = if esx { 1 } else { u64::from(m.datacenter) };
    let hosts_per_dc = if esx {
        1
    } else {
        u64::from(m.host) + u64::from(m.cluster) * u64::from(m.cluster_host)
    };
    if dcs * hosts_per_dc > 0 && m.datastore == 0 {
        return Err("-ds 0: the model's hosts and VMs need a datastore (use -ds 1 or more)".into());
    }
    if !esx && m.cluster > 0 && m.cluster_host == 0 && m.machine > 0 {
        return Err("-host 0 with -vm > 0: a cluster without hosts cannot run VMs".into());
    }
    let pools = if esx {
        1
    } else {
        dcs * (u64::from(m.host) + u64::from(m.cluster))
    };
    let vms = pools * u64::from(m.machine);
    if vms > MAX_MODEL_VMS {
        return Err(format!(
            "the model would have {vms} VMs (-vm is per resource pool): at most {MAX_MODEL_VMS}"
        ));
    }
    Ok(())
}

/// Builds vcsim's model with `m`'s counts.
pub(super) fn build(emu: &mut Emulator, m: &VcsimModel) -> Result<(), BuildError> {
    let esx = emu.flavor == Flavor::HostAgent;
    check(m, esx).map_err(BuildError::Model)?;
    if esx {
        return build_esx(emu, m);
    }
    let root = emu.refs.root_folder.clone();
    let mut nfolder = 0u32;
    for d in 0..m.datacenter {
        let dc_name = format!("DC{d}");
        // As vcsim: the last `folder` datacenters go in a folder of their own.
        let in_folder = nfolder < m.folder && d >= m.datacenter.saturating_sub(m.folder);
        let fname = format!("F{nfolder}");
        let parent = if in_folder {
            add_folder(emu, &root, &fname, "group-d")?
        } else {
            root.clone()
        };
        let (dc, top) = add_datacenter_folders(emu, &dc_name, &parent)?;
        for p in 0..m.pod {
            add_storage_pod(emu, &top.datastore, &format!("{dc_name}_POD{p}"))?;
        }
        let folders = if in_folder {
            nfolder += 1;
            DatacenterFolders {
                vm: add_folder(emu, &top.vm, &fname, "group-v")?,
                host: add_folder(emu, &top.host, &fname, "group-h")?,
                datastore: add_folder(emu, &top.datastore, &fname, "group-s")?,
                network: add_folder(emu, &top.network, &fname, "group-n")?,
            }
        } else {
            top
        };
        build_datacenter(emu, m, &dc, &dc_name, folders)?;
    }
    Ok(())
}

/// One datacenter's datastores, networks, hosts, pools and VMs, in `folders`.
fn build_datacenter(
    emu: &mut Emulator,
    m: &VcsimModel,
    dc: &MoRef,
    dc_name: &str,
    folders: DatacenterFolders,
) -> Result<(), BuildError> {
    let datastores = add_datastores(emu, dc, &folders, m.datastore)?;
    let vm_net = add_vm_network(emu, dc, &folders)?;
    let mut networks = vec![vm_net];
    let mut vm_backing = None;
    if m.portgroup > 0 || m.portgroup_nsx > 0 {
        let (sw, _) = add_dvs(emu, dc, &folders.network, "DVS0")?;
        for n in 0..m.portgroup {
            let pg = add_portgroup(emu, dc, &folders, &sw, &format!("{dc_name}_DVPG{n}"))?;
            if n == 0 {
                vm_backing = Some(pg.clone());
            }
            networks.push(pg);
        }
        for n in 0..m.portgroup_nsx {
            let pg = add_portgroup(emu, dc, &folders, &sw, &format!("{dc_name}_NSXPG{n}"))?;
            let ls = emu.idgen.uuid();
            emu.inv.update(&pg, |o| {
                if let Some(c) = o.props.get_mut("config").and_then(Value::as_data_mut) {
                    c.set("backingType", Value::str("nsx"));
                    c.set("logicalSwitchUuid", Value::str(ls.clone()));
                }
            })?;
            networks.push(pg);
        }
    }
    for n in 0..m.opaque_network {
        add_opaque_network(emu, dc, &folders, &format!("{dc_name}_NSX{n}"))?;
    }
    let Some(first_ds) = datastores.first().cloned() else {
        // `check` allows no datastore only when the datacenter has no host.
        return Ok(());
    };
    let vm_net = vm_backing.unwrap_or_else(|| networks[0].clone());
    let dc_ctx = Dc {
        folders,
        datastore: first_ds,
        networks,
    };
    let mut all_hosts = Vec::new();
    for s in 0..m.host {
        let name = format!("{dc_name}_H{s}");
        let (_, pool, hosts) =
            add_compute(emu, &dc_ctx, &name, false, &[(name.clone(), DEFAULT_HOST)])?;
        for v in 0..m.machine {
            add_vm(
                emu,
                &dc_ctx,
                &pool,
                &hosts[0],
                &vm_net,
                format!("{name}_VM{v}"),
            )?;
        }
        all_hosts.extend(hosts);
    }
    for c in 0..m.cluster {
        let cname = format!("{dc_name}_C{c}");
        let specs: Vec<(String, HostHardware)> = (0..m.cluster_host)
            .map(|h| (format!("{cname}_H{h}"), DEFAULT_HOST))
            .collect();
        let (_, root_pool, hosts) = add_compute(emu, &dc_ctx, &cname, true, &specs)?;
        for v in 0..m.machine {
            // vcsim lets DRS pick a random host; round robin keeps runs reproducible.
            let host = hosts[v as usize % hosts.len()].clone();
            add_vm(
                emu,
                &dc_ctx,
                &root_pool,
                &host,
                &vm_net,
                format!("{cname}_RP0_VM{v}"),
            )?;
        }
        for p in 1..=m.pool {
            emu.create_pool(&root_pool, &format!("{cname}_RP{p}"), None, None)?;
        }
        // vcsim's `-app`: vApps `<cluster>_APP<n>` in the root pool, `-vm` VMs in each.
        for a in 0..m.app {
            let app_name = format!("{cname}_APP{a}");
            let app = crate::methods::vapp::app::new_vapp(
                emu,
                &root_pool,
                &dc_ctx.folders.vm,
                crate::methods::vapp::app::VAppSpec {
                    name: &app_name,
                    cpu_allocation: None,
                    memory_allocation: None,
                    products: Vec::new(),
                    annotation: "",
                },
            )?;
            for v in 0..m.machine {
                let host = hosts[v as usize % hosts.len()].clone();
                let vm = add_vm(
                    emu,
                    &dc_ctx,
                    &app,
                    &host,
                    &vm_net,
                    format!("{app_name}_VM{v}"),
                )?;
                crate::methods::vapp::app::adopt(emu, &app, &vm)?;
            }
        }
        all_hosts.extend(hosts);
    }
    mount_all(emu, &datastores[1..], &all_hosts)?;
    Ok(())
}

/// vcsim's ESXi model: `ha-datacenter` with `LocalDS_<n>` and `VM Network`, the host
/// `localhost.localdomain` and its VMs `ha-host_VM<i>`.
fn build_esx(emu: &mut Emulator, m: &VcsimModel) -> Result<(), BuildError> {
    let root = emu.refs.root_folder.clone();
    let (dc, folders) = add_datacenter_folders(emu, "ha-datacenter", &root)?;
    let datastores = add_datastores(emu, &dc, &folders, m.datastore)?;
    let vm_net = add_vm_network(emu, &dc, &folders)?;
    let Some(first_ds) = datastores.first().cloned() else {
        return Err(BuildError::Model(
            "-ds 0: the host needs a datastore".into(),
        ));
    };
    let dc_ctx = Dc {
        folders,
        datastore: first_ds,
        networks: vec![vm_net.clone()],
    };
    let name = "localhost.localdomain";
    let (_, pool, hosts) = add_compute(emu, &dc_ctx, name, false, &[(name.into(), DEFAULT_HOST)])?;
    for v in 0..m.machine {
        add_vm(
            emu,
            &dc_ctx,
            &pool,
            &hosts[0],
            &vm_net,
            format!("ha-host_VM{v}"),
        )?;
    }
    mount_all(emu, &datastores[1..], &hosts)
}

/// A folder `name` in `parent`, holding what its parent holds.
fn add_folder(
    emu: &mut Emulator,
    parent: &MoRef,
    name: &str,
    prefix: &str,
) -> Result<MoRef, Fault> {
    let child_types: Vec<String> = emu
        .inv
        .prop(parent, "childType")
        .map(Value::items)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let types: Vec<&str> = child_types.iter().map(String::as_str).collect();
    let f = MoRef::new("Folder", emu.inv.alloc(prefix));
    emu.inv
        .insert(folder(f.clone(), name, Some(parent), &types));
    emu.inv.push_ref(parent, "childEntity", &f)?;
    Ok(f)
}

/// An empty storage pod (datastore cluster) in datastore folder `parent`.
fn add_storage_pod(emu: &mut Emulator, parent: &MoRef, name: &str) -> Result<MoRef, Fault> {
    let pod = MoRef::new("StoragePod", emu.inv.alloc("group-p"));
    let summary = DataObject::new("StoragePodSummary")
        .with("name", Value::str(name))
        .with("capacity", Value::Long(0))
        .with("freeSpace", Value::Long(0))
        .into_value();
    emu.inv
        .insert(folder(pod.clone(), name, Some(parent), &["Datastore"]).with("summary", summary));
    emu.inv.push_ref(parent, "childEntity", &pod)?;
    Ok(pod)
}

/// `count` datastores `LocalDS_0..` of datacenter `dc` (each datacenter numbers its own, as
/// vcsim does), each with its browser (ESXi: one shared browser).
fn add_datastores(
    emu: &mut Emulator,
    dc: &MoRef,
    folders: &DatacenterFolders,
    count: u32,
) -> Result<Vec<MoRef>, Fault> {
    (0..count as usize)
        .map(|n| add_datastore(emu, dc, folders, &format!("LocalDS_{n}"), n))
        .collect()
}

/// Mounts `datastores` on every host in `hosts` (and adds them to the hosts' compute
/// resources); the first datastore was mounted as each host joined.
fn mount_all(emu: &mut Emulator, datastores: &[MoRef], hosts: &[MoRef]) -> Result<(), BuildError> {
    for ds in datastores {
        let name = emu.inv.get(ds)?.name().to_owned();
        for h in hosts {
            emu.inv.push_ref(h, "datastore", ds)?;
            if let Some(cr) = emu.inv.lookup(h).and_then(|o| o.parent().cloned()) {
                emu.inv.push_ref(&cr, "datastore", ds)?;
            }
            let mount = datastore_host_mount(h, &format!("/vmfs/volumes/{name}"));
            emu.inv.update(ds, |o| {
                if let Some(items) = o.props.get_mut("host").and_then(Value::items_mut) {
                    items.push(mount.clone());
                }
            })?;
        }
    }
    Ok(())
}

/// A distributed port group `name` on switch `sw`.
fn add_portgroup(
    emu: &mut Emulator,
    dc: &MoRef,
    folders: &DatacenterFolders,
    sw: &MoRef,
    name: &str,
) -> Result<MoRef, Fault> {
    let pg = MoRef::new("DistributedVirtualPortgroup", emu.inv.alloc("dvportgroup-"));
    emu.inv
        .insert(dv_portgroup(pg.clone(), name, &folders.network, sw, false));
    emu.inv.push_ref(&folders.network, "childEntity", &pg)?;
    emu.inv.push_ref(dc, "network", &pg)?;
    emu.inv.push_ref(sw, "portgroup", &pg)?;
    Ok(pg)
}

/// An NSX opaque network (`nsx.LogicalSwitch` with a random id, as vcsim's).
fn add_opaque_network(
    emu: &mut Emulator,
    dc: &MoRef,
    folders: &DatacenterFolders,
    name: &str,
) -> Result<MoRef, Fault> {
    let net = MoRef::new("OpaqueNetwork", emu.inv.alloc("network-o"));
    let summary = DataObject::new("OpaqueNetworkSummary")
        .with("network", Value::moref(&net))
        .with("name", Value::str(name))
        .with("accessible", Value::Bool(true))
        .with("ipPoolName", Value::str(""))
        .with("opaqueNetworkId", Value::str(emu.idgen.uuid()))
        .with("opaqueNetworkType", Value::str("nsx.LogicalSwitch"))
        .into_value();
    emu.inv
        .insert(network(net.clone(), name, &folders.network).with("summary", summary));
    emu.inv.push_ref(&folders.network, "childEntity", &net)?;
    emu.inv.push_ref(dc, "network", &net)?;
    Ok(net)
}

/// vcsim's default CD-ROM: on IDE 0:0 with the ATAPI backing govmomi's `CreateCdrom` gives.
fn cdrom() -> Value {
    DataObject::new("VirtualCdrom")
        .with("key", Value::Int(3000))
        .with(
            "deviceInfo",
            DataObject::new("Description")
                .with("label", Value::str("CD/DVD drive 1"))
                .with("summary", Value::str("Remote ATAPI"))
                .into_value(),
        )
        .with(
            "backing",
            DataObject::new("VirtualCdromAtapiBackingInfo")
                .with("deviceName", Value::str("cdrom-200-0"))
                .with("useAutoDetect", Value::Bool(false))
                .into_value(),
        )
        .with(
            "connectable",
            DataObject::new("VirtualDeviceConnectInfo")
                .with("startConnected", Value::Bool(true))
                .with("allowGuestControl", Value::Bool(true))
                .with("connected", Value::Bool(false))
                .with("status", Value::str("untried"))
                .into_value(),
        )
        .with("controllerKey", Value::Int(200))
        .with("unitNumber", Value::Int(0))
        .into_value()
}

/// A model VM (1 vCPU, 1 GB, idle) on `host` in `pool`, its NIC on `net`, powered on with
/// `-autostart`.
fn add_vm(
    emu: &mut Emulator,
    dc: &Dc,
    pool: &MoRef,
    host: &MoRef,
    net: &MoRef,
    name: String,
) -> Result<MoRef, BuildError> {
    let ds_name = emu.inv.get(&dc.datastore)?.name().to_owned();
    let net_name = emu.inv.get(net)?.name().to_owned();
    let vm_dir = format!("[{ds_name}] {name}/");
    let mac = emu.idgen.mac();
    let mut devices = default_devices(&vm_dir, &dc.datastore, net, &net_name, &mac);
    for d in devices.iter_mut() {
        if d.xsi_type() == "VirtualIDEController"
            && let Some(c) = d.as_data_mut()
        {
            c.set("device", Value::array("int", vec![Value::Int(3000)]));
        }
    }
    devices.insert(1, cdrom());
    let what = name.clone();
    let vm = emu.create_vm(
        "vpxuser",
        VmCreate {
            name,
            num_cpu: 1,
            memory_mb: 1024,
            devices: Some(devices),
            ..VmCreate::default()
        },
        VmPlacement {
            folder: dc.folders.vm.clone(),
            pool: pool.clone(),
            host: Some(host.clone()),
        },
    )?;
    if emu.config.autostart {
        emu.power_on_vm("vpxuser", &vm)
            .map_err(|f| BuildError::Model(format!("vm {what:?} cannot power on: {f}")))?;
    }
    Ok(vm)
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Flavor, VcsimModel};
    use crate::emulator::Emulator;

    fn names(emu: &Emulator, ty: &str) -> Vec<String> {
        let mut v: Vec<String> = emu
            .inv
            .iter()
            .filter(|o| o.moref.ty == ty)
            .map(|o| o.name().to_owned())
            .collect();
        v.sort();
        v
    }

    fn build(m: VcsimModel, flavor: Flavor) -> Emulator {
        Emulator::new(Config {
            flavor,
            vcsim_model: Some(m),
            ..Config::default()
        })
        .expect("the model builds")
    }

    #[test]
    fn default_vpx_model_has_vcsims_inventory() {
        let emu = build(VcsimModel::vpx(), Flavor::VirtualCenter);
        assert_eq!(names(&emu, "Datacenter"), ["DC0"]);
        assert_eq!(
            names(&emu, "VirtualMachine"),
            [
                "DC0_C0_RP0_VM0",
                "DC0_C0_RP0_VM1",
                "DC0_H0_VM0",
                "DC0_H0_VM1"
            ]
        );
        assert_eq!(
            names(&emu, "HostSystem"),
            ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2", "DC0_H0"]
        );
        assert_eq!(names(&emu, "Datastore"), ["LocalDS_0"]);
        assert_eq!(names(&emu, "DistributedVirtualPortgroup").len(), 2);
        let vm = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "VirtualMachine")
            .expect("a VM");
        let devices = vm
            .props
            .get("config")
            .and_then(|c| c.field("hardware"))
            .and_then(|h| h.field("device"))
            .map(|d| d.items())
            .expect("devices");
        assert!(devices.iter().any(|d| d.xsi_type() == "VirtualCdrom"));
    }

    #[test]
    fn counts_multiply_as_vcsims() {
        let m = VcsimModel {
            datacenter: 2,
            cluster: 2,
            cluster_host: 2,
            machine: 3,
            pool: 1,
            datastore: 2,
            pod: 1,
            opaque_network: 1,
            folder: 1,
            ..VcsimModel::vpx()
        };
        let emu = build(m, Flavor::VirtualCenter);
        // 2 DCs × (1 standalone + 2 clusters) pools × 3 VMs.
        assert_eq!(names(&emu, "VirtualMachine").len(), 18);
        assert_eq!(names(&emu, "HostSystem").len(), 2 * (1 + 2 * 2));
        assert_eq!(
            names(&emu, "Datastore"),
            ["LocalDS_0", "LocalDS_0", "LocalDS_1", "LocalDS_1"]
        );
        assert!(names(&emu, "ResourcePool").contains(&"DC1_C1_RP1".to_owned()));
        assert_eq!(names(&emu, "StoragePod"), ["DC0_POD0", "DC1_POD0"]);
        assert_eq!(names(&emu, "OpaqueNetwork"), ["DC0_NSX0", "DC1_NSX0"]);
        // DC1 in F0, with an F0 sub-folder in each of its four folders.
        assert_eq!(
            names(&emu, "Folder").iter().filter(|n| *n == "F0").count(),
            5
        );
        let host = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "HostSystem")
            .expect("a host");
        assert_eq!(emu.inv.refs(&host.moref, "datastore").len(), 2);
    }

    #[test]
    fn model_objects_match_the_schema() {
        use crate::vmodl::{check_field, field, managed_type};
        let m = VcsimModel {
            datacenter: 2,
            pool: 1,
            pod: 1,
            opaque_network: 1,
            portgroup_nsx: 1,
            folder: 1,
            datastore: 2,
            ..VcsimModel::vpx()
        };
        for (m, flavor) in [
            (m, Flavor::VirtualCenter),
            (VcsimModel::esx(), Flavor::HostAgent),
        ] {
            let emu = build(m, flavor);
            let mut problems = Vec::new();
            for obj in emu.inv.iter() {
                let ty = obj.moref.ty.as_ref();
                if managed_type(ty).is_none() {
                    problems.push(format!("{}: unknown managed type", obj.moref));
                    continue;
                }
                for (name, v) in &obj.props {
                    match field(ty, name) {
                        None => problems.push(format!("{}: no property `{name}`", obj.moref)),
                        Some(f) => problems.extend(
                            check_field(f, v)
                                .into_iter()
                                .map(|p| format!("{}.{name}: {p}", obj.moref)),
                        ),
                    }
                }
            }
            assert!(problems.is_empty(), "{}", problems.join("\n"));
        }
    }

    #[test]
    fn no_datacenter_leaves_an_empty_root() {
        let m = VcsimModel {
            datacenter: 0,
            ..VcsimModel::vpx()
        };
        let emu = build(m, Flavor::VirtualCenter);
        assert!(names(&emu, "Datacenter").is_empty());
        assert!(emu.inv.refs(emu.root_folder(), "childEntity").is_empty());
    }

    #[test]
    fn esx_model_names_vms_after_ha_host() {
        let emu = build(VcsimModel::esx(), Flavor::HostAgent);
        assert_eq!(
            names(&emu, "VirtualMachine"),
            ["ha-host_VM0", "ha-host_VM1"]
        );
    }

    #[test]
    fn apps_hold_vms_per_pool_as_vcsim() {
        let emu = build(
            VcsimModel {
                app: 2,
                ..VcsimModel::vpx()
            },
            Flavor::VirtualCenter,
        );
        assert_eq!(names(&emu, "VirtualApp"), ["DC0_C0_APP0", "DC0_C0_APP1"]);
        let vms = names(&emu, "VirtualMachine");
        for want in ["DC0_C0_APP0_VM0", "DC0_C0_APP0_VM1", "DC0_C0_APP1_VM1"] {
            assert!(vms.contains(&want.to_owned()), "{vms:?}");
        }
        // 2 VMs in each of: the cluster pool, the standalone host's pool, two vApps.
        assert_eq!(vms.len(), 8);
    }

    #[test]
    fn unsupported_counts_are_refused() {
        let m = VcsimModel {
            datastore: 0,
            ..VcsimModel::vpx()
        };
        assert!(super::check(&m, false).unwrap_err().contains("-ds 0"));
        let m = VcsimModel {
            machine: 10_000,
            host: 10_000,
            ..VcsimModel::vpx()
        };
        assert!(super::check(&m, false).is_err());
    }
}
