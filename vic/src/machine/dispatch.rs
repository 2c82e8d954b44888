//! The dispatcher's `CreateVCH` (vic.md §6.1 step 5): the pool, the ESX bridge, the VC
//! folder, `CreateVM_Task` with the encoded VCH configuration, `DisableMethods`, the two
//! reconfigures and the power-on. Every creating call is recorded in [`Made`] before it is
//! sent, for [`super::rollback`].

use vcsim::vmodl::{DataObject, MoRef, Value};

use super::create::{Plan, Session};
use super::opts::Shares;
use super::params::{Alloc, CreateConfig};
use super::rollback::{Made, Step};
use super::vchconfig::{
    FIRST_PCI_SLOT, InventoryPaths, RoleNetwork, StoredContainerNetwork, VIC_VERSION, VchConfig,
    full_version,
};
use super::{Failure, Ui};
use crate::guestinfo::vch;
use crate::vsphere::{Client, Entity, Kind, option_value};

/// The deployed appliance.
pub struct Deployed {
    /// The appliance VM.
    pub vm: MoRef,
}

fn ov(key: &str, value: &str) -> Value {
    DataObject::new("OptionValue")
        .with("key", Value::str(key))
        .with("value", Value::any(Value::str(value)))
        .into_value()
}

fn extra_config(keys: crate::guestinfo::Keys) -> Value {
    Value::array(
        "OptionValue",
        keys.into_pairs().iter().map(|(k, v)| ov(k, v)).collect(),
    )
}

fn allocation(a: &Alloc) -> Value {
    let shares = match a.shares.unwrap_or(Shares::Normal) {
        Shares::Custom(n) => DataObject::new("SharesInfo")
            .with("shares", Value::Int(n))
            .with("level", Value::enumv("SharesLevel", "custom")),
        s => DataObject::new("SharesInfo")
            .with("shares", Value::Int(0))
            .with("level", Value::enumv("SharesLevel", s.level())),
    };
    DataObject::new("ResourceAllocationInfo")
        .with("reservation", Value::Long(a.reservation.unwrap_or(0)))
        .with("expandableReservation", Value::Bool(true))
        .with("limit", Value::Long(a.limit_value()))
        .with("shares", shares.into_value())
        .into_value()
}

fn device_add(device: Value) -> Value {
    DataObject::new("VirtualDeviceConfigSpec")
        .with(
            "operation",
            Value::enumv("VirtualDeviceConfigSpecOperation", "add"),
        )
        .with("device", device)
        .into_value()
}

async fn nic(c: &Client, net: &Entity, key: i32, slot: u32) -> Value {
    let mut backing = DataObject::new("VirtualEthernetCardNetworkBackingInfo")
        .with("deviceName", Value::str(net.name.clone()))
        .with("network", Value::moref(&net.moref))
        .into_value();
    if net.moref.ty == "DistributedVirtualPortgroup" {
        let props = c
            .retrieve_properties(
                std::slice::from_ref(&net.moref),
                "DistributedVirtualPortgroup",
                &["key", "config.distributedVirtualSwitch"],
            )
            .await
            .ok()
            .and_then(|mut v| v.pop());
        let pg_key = props
            .as_ref()
            .and_then(|p| p.text("key"))
            .map(str::to_owned);
        let dvs = props
            .as_ref()
            .and_then(|p| p.get("config.distributedVirtualSwitch"))
            .and_then(Value::as_moref)
            .cloned();
        let uuid = match &dvs {
            Some(d) => c
                .get_property(d, "uuid")
                .await
                .ok()
                .flatten()
                .and_then(|v| v.as_str().map(str::to_owned)),
            None => None,
        };
        if let (Some(pg_key), Some(uuid)) = (pg_key, uuid) {
            backing = DataObject::new("VirtualEthernetCardDistributedVirtualPortBackingInfo")
                .with(
                    "port",
                    DataObject::new("DistributedVirtualSwitchPortConnection")
                        .with("switchUuid", Value::str(uuid))
                        .with("portgroupKey", Value::str(pg_key))
                        .into_value(),
                )
                .into_value();
        }
    }
    DataObject::new("VirtualVmxnet3")
        .with("key", Value::Int(key))
        .with("backing", backing)
        .with(
            "connectable",
            DataObject::new("VirtualDeviceConnectInfo")
                .with("startConnected", Value::Bool(true))
                .with("allowGuestControl", Value::Bool(true))
                .with("connected", Value::Bool(true))
                .into_value(),
        )
        .with(
            "slotInfo",
            DataObject::new("VirtualDevicePciBusSlotInfo")
                .with("pciSlotNumber", Value::Int(slot as i32))
                .into_value(),
        )
        .with("addressType", Value::str("generated"))
        .into_value()
}

/// The dispatcher's `CreateVCH` (vic.md §6.1 step 5).
pub async fn dispatch(
    s: &Session,
    cfg: &CreateConfig,
    plan: &Plan,
    made: &mut Made,
    ui: &mut Ui,
) -> Result<Deployed, Failure> {
    let c = &s.client;
    let f = &plan.finder;
    // 1. checkExistence.
    if let Some(vm) = f
        .find(Kind::VirtualMachine, &cfg.name)
        .await
        .ok()
        .and_then(|mut v| v.pop())
    {
        {
            let ec = c.get_property(&vm.moref, "config.extraConfig").await?;
            let is_vch = ec
                .as_ref()
                .and_then(|ec| option_value(ec, vch::ID))
                .is_some();
            return Err(Failure::new(if is_vch {
                format!(
                    "A VCH with the name {:?} already exists. Please choose a different name before attempting another install",
                    cfg.name
                )
            } else {
                format!(
                    "Found virtual machine {:?}, but it is not a VCH. Please choose a different virtual app.",
                    cfg.name
                )
            }));
        }
    }
    // 2. The pool.
    let pool = if plan.drs {
        let parent = &plan.parent_pool;
        match f.child(parent, &cfg.name, Some("ResourcePool")).await? {
            Some(existing) => {
                ui.info(format!(
                    "Using existing resource pool {} (not resized)",
                    existing.path
                ));
                existing
            }
            None => {
                ui.info(format!("Creating Resource Pool {:?}", cfg.name));
                let spec = DataObject::new("ResourceConfigSpec")
                    .with("cpuAllocation", allocation(&cfg.cpu))
                    .with("memoryAllocation", allocation(&cfg.memory))
                    .into_value();
                made.pool = Step::Requested(parent.moref.clone());
                let created = c
                    .call(
                        "CreateResourcePool",
                        &parent.moref,
                        &[("name", Value::str(cfg.name.clone())), ("spec", spec)],
                    )
                    .await;
                let pool = match created {
                    Ok(v) => v.and_then(|v| v.as_moref().cloned()),
                    Err(e) => {
                        made.pool = Step::Not;
                        return Err(e.into());
                    }
                }
                .ok_or_else(|| Failure::new("CreateResourcePool returned no pool"))?;
                made.pool = Step::Done(pool.clone());
                Entity {
                    moref: pool,
                    name: cfg.name.clone(),
                    path: format!("{}/{}", parent.path, cfg.name),
                }
            }
        }
    } else {
        plan.parent_pool.clone()
    };
    // 3. The ESX bridge.
    let bridge = match &plan.bridge {
        Some(b) => b.clone(),
        None => {
            let host = plan
                .host
                .clone()
                .ok_or_else(|| Failure::new("no host to create the bridge network on"))?;
            let ns = c
                .get_property(&host, "configManager.networkSystem")
                .await?
                .and_then(|v| v.as_moref().cloned())
                .ok_or_else(|| Failure::new("the host has no network system"))?;
            ui.info(format!("Creating VirtualSwitch {:?}", cfg.bridge_network));
            made.esx_bridge = Some((ns.clone(), cfg.bridge_network.clone()));
            let added = c
                .call(
                    "AddVirtualSwitch",
                    &ns,
                    &[
                        ("vswitchName", Value::str(cfg.bridge_network.clone())),
                        (
                            "spec",
                            DataObject::new("HostVirtualSwitchSpec")
                                .with("numPorts", Value::Int(1024))
                                .into_value(),
                        ),
                    ],
                )
                .await;
            if let Err(e) = added {
                made.esx_bridge = None;
                return Err(e.into());
            }
            ui.info(format!("Creating Portgroup {:?}", cfg.bridge_network));
            c.call(
                "AddPortGroup",
                &ns,
                &[(
                    "portgrp",
                    DataObject::new("HostPortGroupSpec")
                        .with("name", Value::str(cfg.bridge_network.clone()))
                        .with("vlanId", Value::Int(1))
                        .with("vswitchName", Value::str(cfg.bridge_network.clone()))
                        .with("policy", DataObject::new("HostNetworkPolicy").into_value())
                        .into_value(),
                )],
            )
            .await?;
            f.network(Some(&cfg.bridge_network)).await?
        }
    };
    // 4. The VC folder.
    let folder = if plan.vc {
        made.folder = Step::Requested(plan.dc.vm_folder.clone());
        let created = c
            .call(
                "CreateFolder",
                &plan.dc.vm_folder,
                &[("name", Value::str(cfg.name.clone()))],
            )
            .await;
        match created {
            Ok(v) => {
                let m = v
                    .and_then(|v| v.as_moref().cloned())
                    .ok_or_else(|| Failure::new("CreateFolder returned no folder"))?;
                made.folder = Step::Done(m.clone());
                m
            }
            Err(e) => {
                made.folder = Step::Not;
                if e.is_fault("DuplicateName") {
                    return Err(Failure::new(format!(
                        "The specified VCH name ({}) is already in use",
                        cfg.name
                    )));
                }
                return Err(e.into());
            }
        }
    } else {
        plan.dc.vm_folder.clone()
    };
    // The appliance's configuration.
    let mut networks: Vec<RoleNetwork> = Vec::new();
    let mut nics: Vec<(Entity, u32)> = Vec::new();
    for (role, net) in [
        (vch::ROLE_PUBLIC, &plan.public),
        (vch::ROLE_CLIENT, &plan.client),
        (vch::ROLE_MANAGEMENT, &plan.management),
        (vch::ROLE_BRIDGE, &bridge),
    ] {
        // One NIC per distinct port group; roles sharing one share the NIC.
        let slot = match nics.iter().find(|(e, _)| e.moref == net.moref) {
            Some((_, slot)) => {
                if let Some(other) = networks.iter().find(|n| n.moref == net.moref) {
                    ui.info(format!(
                        "Network role {role:?} is sharing NIC with {:?}",
                        other.role
                    ));
                }
                *slot
            }
            None => {
                let slot = FIRST_PCI_SLOT + 32 * nics.len() as u32;
                nics.push((net.clone(), slot));
                slot
            }
        };
        networks.push(RoleNetwork {
            role: role.to_owned(),
            name: net.name.clone(),
            moref: net.moref.clone(),
            slot,
        });
    }
    let (ds_name, mut ds_path) = cfg
        .image_store
        .clone()
        .unwrap_or_else(|| (plan.datastore.name.clone(), String::new()));
    if ds_path.is_empty() {
        ds_path = cfg.name.clone();
    }
    let tls_m = &cfg.tls;
    let mut vcfg = VchConfig {
        name: cfg.name.clone(),
        id: vch::ID_CREATING.to_owned(),
        target_url: cfg.target.sdk_url.clone(),
        username: cfg.target.user.clone(),
        password: cfg.target.password.clone(),
        thumbprint: s.thumbprint.clone(),
        server_cert_pem: tls_m.server_chain_pem.clone(),
        server_key_pem: tls_m.server_key_pem.clone(),
        ca_pem: tls_m.certificate_authorities_pem(),
        client_ip: cfg.client_ip,
        networks,
        bridge_range: cfg.bridge_range,
        bridge_width: cfg.bridge_width,
        container_networks: plan
            .container_networks
            .iter()
            .map(|(spec, e)| StoredContainerNetwork {
                alias: spec.alias.clone(),
                portgroup_name: spec.portgroup.clone(),
                portgroup: e.moref.clone(),
                gateway: spec.gateway,
                ip_range: spec.ip_range,
                dns: spec.dns.clone(),
                trust: spec.trust,
            })
            .collect(),
        name_convention: cfg.name_convention.clone().filter(|s| !s.is_empty()),
        pool: pool.moref.clone(),
        vm_folder: folder.clone(),
        datacenter: plan.dc.entity.moref.clone(),
        paths: InventoryPaths {
            datacenter: plan.dc.entity.path.clone(),
            compute: plan.compute.path.clone(),
            pool: pool.path.clone(),
            datastore: plan.datastore.path.clone(),
        },
        image_store: (ds_name.clone(), ds_path),
        // A store named without a datastore goes on the image store's (VIC: the default).
        volume_stores: cfg
            .volume_stores
            .iter()
            .map(|v| crate::engine::VolumeStore {
                datastore: if v.datastore.is_empty() {
                    ds_name.clone()
                } else {
                    v.datastore.clone()
                },
                ..v.clone()
            })
            .collect(),
        containers: cfg.containers,
        storage_quota_bytes: cfg.storage_quota_bytes,
        registries: plan.registries.clone(),
        debug: cfg.debug,
        version: full_version(),
        create_bridge_network: made.esx_bridge.is_some(),
        create_options: cfg.recorded_options.clone(),
    };
    // 5. CreateVM_Task.
    let mut devices = vec![
        device_add(
            DataObject::new("VirtualIDEController")
                .with("key", Value::Int(-100))
                .with("busNumber", Value::Int(0))
                .into_value(),
        ),
        device_add(
            DataObject::new("ParaVirtualSCSIController")
                .with("key", Value::Int(-101))
                .with("busNumber", Value::Int(0))
                .with("sharedBus", Value::enumv("VirtualSCSISharing", "noSharing"))
                .into_value(),
        ),
    ];
    for (i, (net, slot)) in nics.iter().enumerate() {
        devices.push(device_add(nic(c, net, -200 - i as i32, *slot).await));
    }
    let spec = DataObject::new("VirtualMachineConfigSpec")
        .with("name", Value::str(cfg.name.clone()))
        .with("guestId", Value::str("otherGuest64"))
        .with(
            "alternateGuestName",
            Value::str(format!(
                "Photon - VCH {VIC_VERSION}, {}, {}",
                super::vchconfig::BUILD_NUMBER,
                super::vchconfig::GIT_COMMIT
            )),
        )
        .with(
            "files",
            DataObject::new("VirtualMachineFileInfo")
                .with("vmPathName", Value::str(format!("[{ds_name}]")))
                .into_value(),
        )
        .with("numCPUs", Value::Int(cfg.endpoint_cpu))
        .with("memoryMB", Value::Long(cfg.endpoint_memory))
        .with(
            "deviceChange",
            Value::array("VirtualDeviceConfigSpec", devices),
        )
        .with("extraConfig", extra_config(vcfg.to_keys()))
        .into_value();
    ui.info("Creating appliance on target");
    made.vm = Step::Requested(folder.clone());
    let created = match c
        .call(
            "CreateVM_Task",
            &folder,
            &[("config", spec), ("pool", Value::moref(&pool.moref))],
        )
        .await
    {
        Ok(task) => {
            let task = task
                .and_then(|v| v.as_moref().cloned())
                .ok_or_else(|| Failure::new("CreateVM_Task returned no task"))?;
            made.vm_task = Some(task.clone());
            c.wait_for_task(&task).await
        }
        Err(e) => Err(e),
    };
    let vm = match created {
        Ok(v) => v.and_then(|v| v.as_moref().cloned()),
        Err(e) => {
            made.vm = Step::Not;
            return Err(e.into());
        }
    }
    .ok_or_else(|| Failure::new("CreateVM_Task returned no VM"))?;
    made.vm = Step::Done(vm.clone());
    // 6. The volume stores' folders.
    super::create::create_volume_stores(c, &plan.dc.entity.moref, &vcfg.volume_stores).await?;
    // 7. DisableMethods on VC, and the VM's folder name.
    if plan.vc
        && let Some(am) = c
            .service_content()
            .raw
            .field("authorizationManager")
            .and_then(Value::as_moref)
            .cloned()
    {
        {
            made.disabled = Some(am.clone());
            c.call(
                "DisableMethods",
                &am,
                &[
                    ("entity", Value::morefs([&vm])),
                    (
                        "method",
                        Value::array(
                            "DisabledMethodRequest",
                            vec![
                                DataObject::new("DisabledMethodRequest")
                                    .with("method", Value::str("Destroy_Task"))
                                    .with("reasonId", Value::str("Managed by VIC Engine"))
                                    .into_value(),
                            ],
                        ),
                    ),
                    ("sourceId", Value::str("VIC")),
                ],
            )
            .await?;
        }
    }
    let vmx = c
        .get_property(&vm, "config.files.vmPathName")
        .await?
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let vm_dir = vmx
        .split_once("] ")
        .map(|(_, p)| p.rsplit_once('/').map_or("", |(d, _)| d).to_owned())
        .unwrap_or_else(|| cfg.name.clone());
    // 8. ReconfigVM_Task #1: the serial port.
    let serial = DataObject::new("VirtualSerialPort")
        .with("key", Value::Int(-300))
        .with(
            "backing",
            DataObject::new("VirtualSerialPortFileBackingInfo")
                .with(
                    "fileName",
                    Value::str(format!("[{ds_name}] {vm_dir}/tether.debug")),
                )
                .into_value(),
        )
        .with("yieldOnPoll", Value::Bool(true))
        .into_value();
    c.run_task(
        "ReconfigVM_Task",
        &vm,
        &[(
            "spec",
            DataObject::new("VirtualMachineConfigSpec")
                .with(
                    "deviceChange",
                    Value::array("VirtualDeviceConfigSpec", vec![device_add(serial)]),
                )
                .into_value(),
        )],
    )
    .await?;
    // 9. ReconfigVM_Task #2: the CD-ROM with the appliance ISO (not uploaded: the testbed
    // has no ISOs) and the full ExtraConfig with the real moref.
    let ide_key = c
        .get_property(&vm, "config.hardware.device")
        .await?
        .and_then(|devs| {
            devs.items()
                .iter()
                .find(|d| d.xsi_type() == "VirtualIDEController")
                .and_then(|d| d.field("key"))
                .and_then(Value::as_i64)
        })
        .unwrap_or(200);
    let cdrom = DataObject::new("VirtualCdrom")
        .with("key", Value::Int(-400))
        .with("controllerKey", Value::Int(ide_key as i32))
        .with("unitNumber", Value::Int(0))
        .with(
            "backing",
            DataObject::new("VirtualCdromIsoBackingInfo")
                .with(
                    "fileName",
                    Value::str(format!("[{ds_name}] {vm_dir}/{VIC_VERSION}-appliance.iso")),
                )
                .into_value(),
        )
        .with(
            "connectable",
            DataObject::new("VirtualDeviceConnectInfo")
                .with("startConnected", Value::Bool(true))
                .with("allowGuestControl", Value::Bool(true))
                .with("connected", Value::Bool(true))
                .into_value(),
        )
        .into_value();
    vcfg.id = vm.to_string();
    c.run_task(
        "ReconfigVM_Task",
        &vm,
        &[(
            "spec",
            DataObject::new("VirtualMachineConfigSpec")
                .with(
                    "deviceChange",
                    Value::array("VirtualDeviceConfigSpec", vec![device_add(cdrom)]),
                )
                .with("extraConfig", extra_config(vcfg.to_keys()))
                .into_value(),
        )],
    )
    .await?;
    // 10. The ISO upload is skipped (no ISOs in the testbed).
    // 13. Power on.
    ui.info("Powering on the appliance");
    if plan.vc {
        let result = c
            .run_task(
                "PowerOnMultiVM_Task",
                &plan.dc.entity.moref,
                &[
                    ("vm", Value::morefs([&vm])),
                    (
                        "option",
                        Value::array(
                            "OptionValue",
                            vec![ov("OverrideAutomationLevel", "fullyAutomated")],
                        ),
                    ),
                ],
            )
            .await?;
        if let Some(na) = result
            .as_ref()
            .and_then(|r| r.field("notAttempted"))
            .and_then(|n| n.items().first().or(Some(n)))
        {
            let msg = na
                .field("fault")
                .and_then(|f| f.field("localizedMessage"))
                .and_then(Value::as_str)
                .unwrap_or("not attempted");
            return Err(Failure::new(format!("power on failed: {msg}")));
        }
    } else {
        c.run_task("PowerOnVM_Task", &vm, &[]).await?;
    }
    Ok(Deployed { vm })
}
