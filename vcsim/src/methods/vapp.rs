//! vApps and OVF import: `CreateVApp`, the `OvfManager` (`CreateImportSpec`, `ParseDescriptor`,
//! `ValidateHost`, `CreateDescriptor`), `ImportVApp` with its `HttpNfcLease` and the upload and
//! download of disks through `/nfc/...`, and `ExportVm`.
//!
//! Core functions: [`dispatch`] (tried before `MethodNotFound`) and [`method_names`]. The
//! sub-modules: [`ovf`] reads descriptors, [`descriptor`] writes an exported VM's, [`lease`]
//! keeps the leases and moves the bytes (the HTTP side is `server::nfc`), [`app`] holds the
//! vApp entity's methods.
//!
//! The flow govc's `import.ovf` drives: `CreateImportSpec` (descriptor → import spec and file
//! items) → `ResourcePool.ImportVApp` (the VM is created, a lease answers with one upload URL
//! per disk, `importKey` = the file item's `deviceId`) → `POST` of each disk → `Complete`.

pub(crate) mod app;
mod deploy;
mod descriptor;
mod lease;
mod ovf;

pub use app::destroy_vapp;
pub(crate) use deploy::{
    OvfDeploy, TemplatePlacement, deploy_ovf, deploy_template, parse_ovf, vm_export, vm_template,
};
pub use lease::{
    LEASE_FILES_MAX, LEASE_TIMEOUT_S, NFC_LEASES_MAX, NFC_UPLOAD_MAX_BYTES, NfcLeases, Transfer,
    download, upload,
};
pub use ovf::{OVF_DESCRIPTOR_MAX_BYTES, OVF_ITEMS_MAX, OVF_REFS_MAX};

use super::{Args, CallContext, Outcome};
use crate::emulator::Emulator;
use crate::soap::{Call, decode};
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// The operations this module serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    ParseDescriptor,
    ValidateHost,
    CreateImportSpec,
    CreateDescriptor,
    ImportVApp,
    ExportVm,
    CreateVApp,
    CreateChildVm,
    PowerOnVApp,
    PowerOffVApp,
    LeaseProgress,
    LeaseComplete,
    LeaseAbort,
    LeaseManifest,
}

const OVF: &[&str] = &["OvfManager"];
const POOLS: &[&str] = &["ResourcePool", "VirtualApp"];
const LEASE: &[&str] = &["HttpNfcLease"];

/// Each method name, its operation and the managed object types that have it.
const OPS: &[(&str, Op, &[&str])] = &[
    ("ParseDescriptor", Op::ParseDescriptor, OVF),
    ("ValidateHost", Op::ValidateHost, OVF),
    ("CreateImportSpec", Op::CreateImportSpec, OVF),
    ("CreateDescriptor", Op::CreateDescriptor, OVF),
    ("ImportVApp", Op::ImportVApp, POOLS),
    ("ExportVm", Op::ExportVm, &["VirtualMachine"]),
    ("CreateVApp", Op::CreateVApp, POOLS),
    ("CreateChildVM_Task", Op::CreateChildVm, &["VirtualApp"]),
    ("PowerOnVApp_Task", Op::PowerOnVApp, &["VirtualApp"]),
    ("PowerOffVApp_Task", Op::PowerOffVApp, &["VirtualApp"]),
    ("HttpNfcLeaseProgress", Op::LeaseProgress, LEASE),
    ("HttpNfcLeaseComplete", Op::LeaseComplete, LEASE),
    ("HttpNfcLeaseAbort", Op::LeaseAbort, LEASE),
    ("HttpNfcLeaseGetManifest", Op::LeaseManifest, LEASE),
];

/// Handles a call this module serves; `None` when `call` is not one of its methods.
pub(crate) fn dispatch(emu: &mut Emulator, ctx: &mut CallContext, call: &Call) -> Option<Outcome> {
    let (_, op, receivers) = OPS.iter().find(|(name, _, _)| *name == call.method)?;
    Some(Outcome::Done(
        super::vslm::checked(emu, ctx, call, receivers).and_then(|()| {
            let args = Args::new(&call.args);
            run(emu, ctx, call, &args, *op)
        }),
    ))
}

/// Every method name this module serves (for the server's method list, `/about`).
pub fn method_names() -> impl Iterator<Item = &'static str> {
    OPS.iter().map(|(name, _, _)| *name)
}

fn run(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    op: Op,
) -> Result<Option<Value>, Fault> {
    match op {
        Op::ParseDescriptor => parse_descriptor(args),
        Op::ValidateHost => validate_host(emu, args),
        Op::CreateImportSpec => create_import_spec(emu, args),
        Op::CreateDescriptor => create_descriptor(emu, args),
        Op::ImportVApp => lease::import_vapp(emu, ctx, call, args),
        Op::ExportVm => lease::export_vm(emu, ctx, call),
        Op::CreateVApp => app::create_vapp(emu, call, args),
        Op::CreateChildVm => app::create_child_vm_task(emu, ctx, call, args),
        Op::PowerOnVApp => app::power_on_task(emu, ctx, call),
        Op::PowerOffVApp => app::power_off_task(emu, ctx, call, args),
        Op::LeaseProgress => lease::progress(emu, call, args),
        Op::LeaseComplete => lease::complete(emu, call),
        Op::LeaseAbort => lease::abort(emu, call, args),
        Op::LeaseManifest => lease::manifest(emu, call),
    }
}

/// The `ovfDescriptor` parameter, parsed.
fn descriptor(args: &Args<'_>) -> Result<ovf::Envelope, Fault> {
    let text = args.text("ovfDescriptor")?;
    ovf::Envelope::parse(text).map_err(|e| e.fault())
}

/// A reference parameter that must name an object of type `ty` (or a subtype).
fn typed_arg(emu: &Emulator, args: &Args<'_>, name: &str, ty: &str) -> Result<MoRef, Fault> {
    let r = args.moref(name)?;
    if !crate::vmodl::is_a(&r.ty, ty) {
        return Err(Fault::invalid_argument(name));
    }
    emu.inv.get(&r)?;
    Ok(r)
}

/// `ParseDescriptor(ovfDescriptor, pdp)`.
fn parse_descriptor(args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let env = descriptor(args)?;
    let mut r = DataObject::new("OvfParseDescriptorResult");
    if !env.eulas.is_empty() {
        r = r.with("eula", Value::strings(env.eulas.clone()));
    }
    if !env.networks.is_empty() {
        let nets = env
            .networks
            .iter()
            .map(|(n, d)| {
                DataObject::new("OvfNetworkInfo")
                    .with("name", Value::str(n.clone()))
                    .with("description", Value::str(d.clone()))
                    .into_value()
            })
            .collect();
        r = r.with("network", Value::array("OvfNetworkInfo", nets));
    }
    if let Some([name, vendor, version, full]) = &env.product {
        r = r.with(
            "productInfo",
            DataObject::new("VAppProductInfo")
                .with("key", Value::Int(0))
                .with("name", Value::str(name.clone()))
                .with("vendor", Value::str(vendor.clone()))
                .with("version", Value::str(version.clone()))
                .with("fullVersion", Value::str(full.clone()))
                .into_value(),
        );
    }
    r = r
        .with("annotation", Value::str(env.annotation.clone()))
        .with("approximateDownloadSize", Value::Long(env.download_bytes()))
        .with(
            "approximateFlatDeploymentSize",
            Value::Long(env.flat_bytes()),
        )
        .with(
            "approximateSparseDeploymentSize",
            Value::Long(env.sparse_bytes()),
        )
        .with("defaultEntityName", Value::str(env.name.clone()))
        .with("virtualApp", Value::Bool(env.virtual_app));
    if !env.deployment_options.is_empty() {
        let opts = env
            .deployment_options
            .iter()
            .map(|o| {
                DataObject::new("OvfDeploymentOption")
                    .with("key", Value::str(o.id.clone()))
                    .with("label", Value::str(o.label.clone()))
                    .with("description", Value::str(o.description.clone()))
                    .into_value()
            })
            .collect();
        r = r.with(
            "deploymentOption",
            Value::array("OvfDeploymentOption", opts),
        );
    }
    r = r.with("defaultDeploymentOption", Value::str(env.default_option()));
    Ok(Some(r.into_value()))
}

/// `ValidateHost(ovfDescriptor, host, vhp)`: the sizes, and the provisioning types the
/// emulated datastores take.
fn validate_host(emu: &Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let env = descriptor(args)?;
    typed_arg(emu, args, "host", "HostSystem")?;
    Ok(Some(
        DataObject::new("OvfValidateHostResult")
            .with("downloadSize", Value::Long(env.download_bytes()))
            .with("flatDeploymentSize", Value::Long(env.flat_bytes()))
            .with("sparseDeploymentSize", Value::Long(env.sparse_bytes()))
            .with(
                "supportedDiskProvisioning",
                Value::strings(["thin", "thick", "eagerZeroedThick"]),
            )
            .into_value(),
    ))
}

/// The network an OVF network name goes to: the client's mapping, else a network of the
/// pool's compute resource with the same name, else its first network (vCenter's default
/// for an unmapped network). With the DVS uuid when it is a distributed port group.
fn resolve_network(
    emu: &Emulator,
    pool: &MoRef,
    mapping: &[(String, MoRef)],
    ovf_name: &str,
) -> Option<ovf::MappedNetwork> {
    let reachable = emu
        .owner_of_pool(pool)
        .map(|o| emu.inv.refs(&o, "network"))
        .unwrap_or_default();
    let net = mapping
        .iter()
        .find(|(n, _)| n == ovf_name)
        .map(|(_, r)| r.clone())
        .filter(|r| emu.inv.contains(r))
        .or_else(|| {
            reachable
                .iter()
                .find(|r| emu.inv.lookup(r).is_some_and(|o| o.name() == ovf_name))
                .cloned()
        })
        .or_else(|| reachable.first().cloned())?;
    let obj = emu.inv.lookup(&net)?;
    let dvs = (obj.moref.ty == "DistributedVirtualPortgroup").then(|| {
        obj.get("config")
            .and_then(|c| c.field("distributedVirtualSwitch"))
            .and_then(Value::as_moref)
            .and_then(|s| emu.inv.prop(s, "uuid"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    });
    Some((obj.moref.clone(), obj.name().to_owned(), dvs))
}

/// `CreateImportSpec(ovfDescriptor, resourcePool, datastore, cisp)`.
fn create_import_spec(emu: &Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let env = descriptor(args)?;
    let pool = typed_arg(emu, args, "resourcePool", "ResourcePool")?;
    let ds = typed_arg(emu, args, "datastore", "Datastore")?;
    let ds_name = emu.inv.get(&ds)?.name().to_owned();
    let cisp = args
        .element("cisp")
        .ok_or_else(|| Fault::invalid_argument("cisp"))?;
    let entity_name = cisp
        .child_text("entityName")
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| env.name.clone());
    let entity_name = crate::inventory::entity_name(&entity_name, "cisp.entityName")?;
    let mapping: Vec<(String, MoRef)> = cisp
        .children_named("networkMapping")
        .take(ovf::OVF_REFS_MAX)
        .filter_map(|m| {
            Some((
                m.child_text("name")?.to_owned(),
                decode::moref(m.child("network")?)?,
            ))
        })
        .collect();
    let properties: Vec<(String, String)> = cisp
        .children_named("propertyMapping")
        .take(ovf::OVF_REFS_MAX)
        .filter_map(|m| {
            Some((
                m.child_text("key")?.to_owned(),
                m.child_text("value").unwrap_or("").to_owned(),
            ))
        })
        .collect();
    let provisioning = cisp.child_text("diskProvisioning").unwrap_or("");
    let network_for = |n: &str| resolve_network(emu, &pool, &mapping, n);
    let r = ovf::import_spec(
        &env,
        &ovf::ImportTarget {
            entity_name: &entity_name,
            ds_name: &ds_name,
            datastore: &ds,
            pool: &pool,
            deployment_option: cisp.child_text("deploymentOption").unwrap_or(""),
            network_for: &network_for,
            thin: !matches!(
                provisioning,
                "thick" | "eagerZeroedThick" | "flat" | "monolithicFlat"
            ),
            property_mapping: &properties,
        },
    );
    let mut out = DataObject::new("OvfCreateImportSpecResult").with("importSpec", r.spec);
    if !r.file_items.is_empty() {
        out = out.with("fileItem", Value::array("OvfFileItem", r.file_items));
    }
    if !r.warnings.is_empty() {
        out = out.with("warning", Value::array("MethodFault", r.warnings));
    }
    if !r.errors.is_empty() {
        out = out.with("error", Value::array("MethodFault", r.errors));
    }
    Ok(Some(out.into_value()))
}

/// `CreateDescriptor(obj, cdp)`: the OVF descriptor of a VM, naming the files the client
/// downloaded (`cdp.ovfFiles`) where it lists them.
fn create_descriptor(emu: &Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let obj = args.moref("obj")?;
    emu.inv.get(&obj)?;
    if obj.ty != "VirtualMachine" {
        return Err(Fault::not_supported(format!(
            "CreateDescriptor of a {} is not supported by the emulator; only of a VirtualMachine",
            obj.ty
        )));
    }
    let cdp = args.element("cdp");
    let files: Vec<(String, String, i64)> = cdp
        .map(|c| {
            c.children_named("ovfFiles")
                .take(ovf::OVF_REFS_MAX)
                .map(|f| {
                    (
                        f.child_text("deviceId").unwrap_or("").to_owned(),
                        f.child_text("path").unwrap_or("").to_owned(),
                        f.child_text("size")
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let name = cdp
        .and_then(|c| c.child_text("name"))
        .filter(|n| !n.is_empty());
    let text = vm_descriptor(emu, &obj, name, &files)?;
    Ok(Some(
        DataObject::new("OvfCreateDescriptorResult")
            .with("ovfDescriptor", Value::str(text))
            .with("includeImageFiles", Value::Bool(false))
            .into_value(),
    ))
}

/// The OVF descriptor of VM `obj` named `name` (else the VM's name), its disks naming the
/// `(deviceId, path, size)` files listed (else `disk-<n>.vmdk`): `CreateDescriptor`'s text,
/// also what the vAPI writes into an OVF library item made from a VM.
pub(crate) fn vm_descriptor(
    emu: &Emulator,
    obj: &MoRef,
    name: Option<&str>,
    files: &[(String, String, i64)],
) -> Result<String, Fault> {
    let o = emu.inv.get(obj)?;
    let config = o.get("config");
    let hw = config.and_then(|c| c.field("hardware"));
    let devices = hw
        .and_then(|h| h.field("device"))
        .map(Value::items)
        .unwrap_or_default();
    let mut disks = Vec::new();
    let mut nics = Vec::new();
    for d in devices {
        if d.xsi_type() == "VirtualDisk" {
            let n = disks.len();
            let key = format!("/{}/VirtualLsiLogicController0:{n}", obj.value);
            let listed = files
                .iter()
                .find(|(id, _, _)| *id == key)
                .or_else(|| files.get(n));
            let (path, size) = match listed {
                Some((_, p, s)) if !p.is_empty() => (p.clone(), *s),
                _ => (format!("disk-{n}.vmdk"), 0),
            };
            let cap = d.field("capacityInKB").and_then(Value::as_i64).unwrap_or(0);
            disks.push(descriptor::ExportDisk {
                path,
                size,
                capacity_bytes: cap.saturating_mul(1024),
            });
        } else if d.field("macAddress").is_some() || d.field("addressType").is_some() {
            let b = d.field("backing");
            let name = b
                .and_then(|b| b.field("network"))
                .and_then(Value::as_moref)
                .and_then(|n| emu.inv.lookup(n))
                .map(|n| n.name().to_owned())
                .or_else(|| {
                    b.and_then(|b| b.field("deviceName"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "VM Network".to_owned());
            nics.push(name);
        }
    }
    let name = name.unwrap_or(o.name());
    Ok(descriptor::descriptor_for_vm(&descriptor::ExportVm {
        name,
        annotation: config
            .and_then(|c| c.field("annotation"))
            .and_then(Value::as_str)
            .unwrap_or(""),
        guest_id: config
            .and_then(|c| c.field("guestId"))
            .and_then(Value::as_str)
            .unwrap_or("otherGuest"),
        version: config
            .and_then(|c| c.field("version"))
            .and_then(Value::as_str)
            .unwrap_or("vmx-13"),
        num_cpu: hw
            .and_then(|h| h.field("numCPU"))
            .and_then(Value::as_i64)
            .unwrap_or(1),
        memory_mb: hw
            .and_then(|h| h.field("memoryMB"))
            .and_then(Value::as_i64)
            .unwrap_or(32),
        disks: &disks,
        nics: &nics,
    }))
}
