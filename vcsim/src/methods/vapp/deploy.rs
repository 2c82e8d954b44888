//! The vSphere side of the vAPI content library's deployments: an OVF package deployed
//! into a VM ([`deploy_ovf`], what `vcenter/ovf/library-item?action=deploy` does), a VM
//! exported as an OVF package ([`vm_export`], `…?action=create`), and VM templates kept in
//! a library ([`vm_template`], [`deploy_template`]).
//!
//! An OVF deployment goes the way `ImportVApp` does, without the lease: the descriptor
//! becomes an import spec ([`super::ovf::import_spec`], networks resolved as
//! `CreateImportSpec` does), the spec a VM (`folder::vm_create_from_spec` +
//! `Emulator::create_vm`), and the package's disk files are copied into the VM's disks at
//! once. Templates are clones (`clone::clone_vm`), as vCenter makes them. A deployment
//! that fails leaves no VM behind.

use super::super::clone::{CloneRequest, clone_vm};
use super::super::datastore::touch_file;
use super::super::folder::vm_create_from_spec;
use super::{lease, ovf, resolve_network};
use crate::emulator::{Emulator, VmPlacement};
use crate::vmodl::{Fault, MoRef, Value};

/// An OVF deployment: the descriptor and where its VM goes.
pub(crate) struct OvfDeploy<'a> {
    /// The `.ovf` text.
    pub descriptor: &'a str,
    /// The VM's name (else the descriptor's entity name).
    pub name: Option<&'a str>,
    /// The VM's annotation (else the descriptor's).
    pub annotation: Option<&'a str>,
    /// The resource pool (or vApp) it runs in.
    pub pool: MoRef,
    pub host: Option<MoRef>,
    /// Its VM folder (else the pool's datacenter's VM folder).
    pub folder: Option<MoRef>,
    /// Its datastore (else the first of the pool's compute resource).
    pub datastore: Option<MoRef>,
    /// OVF network name → network.
    pub networks: &'a [(String, MoRef)],
    pub thin: bool,
}

/// `r` when it exists and is a `ty` (or a subtype), else `InvalidArgument(property)`.
fn typed(emu: &Emulator, r: &MoRef, ty: &str, property: &str) -> Result<MoRef, Fault> {
    let o = emu.inv.get(r)?;
    if !crate::vmodl::is_a(&o.moref.ty, ty) {
        return Err(Fault::invalid_argument(property));
    }
    Ok(o.moref.clone())
}

/// The VM folder of the datacenter `r` is in.
fn vm_folder_of(emu: &Emulator, r: &MoRef) -> Option<MoRef> {
    let dc = emu.datacenter_of(r)?;
    emu.inv
        .prop(&dc, "vmFolder")
        .and_then(Value::as_moref)
        .cloned()
}

/// Deploys `d` as `user`; `file_key` maps a package file's `href` to its key in
/// `Emulator::files`. Returns the new VM.
pub(crate) fn deploy_ovf(
    emu: &mut Emulator,
    user: &str,
    d: &OvfDeploy<'_>,
    file_key: &dyn Fn(&str) -> String,
) -> Result<MoRef, Fault> {
    let env = ovf::Envelope::parse(d.descriptor).map_err(|e| e.fault())?;
    if env.virtual_app {
        return Err(Fault::not_supported(
            "deploying a VirtualSystemCollection is not supported by the emulator; only a VirtualSystem is",
        ));
    }
    let pool = typed(emu, &d.pool, "ResourcePool", "target.resource_pool_id")?;
    let datastore = match &d.datastore {
        Some(ds) => typed(emu, ds, "Datastore", "deployment_spec.default_datastore_id")?,
        None => emu
            .owner_of_pool(&pool)
            .and_then(|o| emu.inv.refs(&o, "datastore").into_iter().next())
            .ok_or_else(|| Fault::invalid_argument("deployment_spec.default_datastore_id"))?,
    };
    let folder = match &d.folder {
        Some(f) => typed(emu, f, "Folder", "target.folder_id")?,
        None => {
            vm_folder_of(emu, &pool).ok_or_else(|| Fault::invalid_argument("target.folder_id"))?
        }
    };
    let host = match &d.host {
        Some(h) => Some(typed(emu, h, "HostSystem", "target.host_id")?),
        None => None,
    };
    let raw_name = d.name.filter(|n| !n.is_empty()).unwrap_or(&env.name);
    let entity = crate::inventory::entity_name(raw_name, "deployment_spec.name")?;
    let ds_name = emu.inv.get(&datastore)?.name().to_owned();
    let network_for = |n: &str| resolve_network(emu, &pool, d.networks, n);
    let r = ovf::import_spec(
        &env,
        &ovf::ImportTarget {
            entity_name: &entity,
            ds_name: &ds_name,
            datastore: &datastore,
            pool: &pool,
            deployment_option: "",
            network_for: &network_for,
            thin: d.thin,
            property_mapping: &[],
        },
    );
    if !r.errors.is_empty() {
        return Err(Fault::not_supported(format!(
            "the OVF descriptor asks for {} device(s) the emulator cannot build",
            r.errors.len()
        )));
    }
    let config = r
        .spec
        .field("configSpec")
        .ok_or_else(|| Fault::invalid_argument("ovfDescriptor"))?;
    let mut create = vm_create_from_spec(config)?;
    if let Some(a) = d.annotation.filter(|a| !a.is_empty()) {
        create.annotation = Some(a.to_owned());
    }
    // Every copy must fit before the VM is made, so a full datastore fails cleanly.
    let copies: Vec<(String, String)> = r
        .file_items
        .iter()
        .filter(|f| f.field("cimType").and_then(Value::as_i64) == Some(17))
        .filter_map(|f| {
            Some((
                f.field("deviceId")?.as_str()?.to_owned(),
                file_key(f.field("path")?.as_str()?),
            ))
        })
        .collect();
    let incoming: usize = copies
        .iter()
        .filter_map(|(_, k)| emu.files.get(k).map(Vec::len))
        .sum();
    let stored: usize = emu.files.values().map(Vec::len).sum();
    if stored.saturating_add(incoming) > crate::server::MAX_TOTAL_FILE_BYTES
        || emu.files.len() + copies.len() > crate::server::MAX_FILES
    {
        return Err(Fault::insufficient_resources(
            "the emulated datastores are full: the package's disks do not fit",
        ));
    }
    let vm = emu.create_vm(
        user,
        create,
        VmPlacement {
            folder,
            pool: pool.clone(),
            host,
        },
    )?;
    let finish = |emu: &mut Emulator| -> Result<(), Fault> {
        if let Some(v) = config
            .field("version")
            .and_then(Value::as_str)
            .filter(|v| lease::valid_version(v))
        {
            let v = v.to_owned();
            emu.inv.update(&vm, |o| {
                if let Some(c) = o.props.get_mut("config").and_then(Value::as_data_mut) {
                    c.set("version", Value::str(v));
                }
            })?;
        }
        if pool.ty == "VirtualApp" {
            super::app::adopt(emu, &pool, &vm)?;
        }
        for (kind, n, _, key, _) in lease::backed_devices(emu, &vm) {
            let id = ovf::device_id(&entity, &kind, n);
            let Some((_, src)) = copies.iter().find(|(d, _)| *d == id) else {
                continue;
            };
            if let Some(bytes) = emu.files.get(src).cloned() {
                emu.files.insert(key.clone(), bytes);
                touch_file(emu, &key);
            }
        }
        Ok(())
    };
    if let Err(e) = finish(emu) {
        let _ = emu.destroy_vm(user, &vm);
        return Err(e);
    }
    Ok(vm)
}

/// `text` read as an OVF descriptor (for summaries such as the vAPI's `filter`).
pub(crate) fn parse_ovf(text: &str) -> Result<ovf::Envelope, ovf::OvfError> {
    ovf::Envelope::parse(text)
}

/// An exported VM: its descriptor and its disk files as `(name, bytes)`.
pub(crate) struct VmExport {
    pub descriptor: String,
    pub disks: Vec<(String, Vec<u8>)>,
}

/// VM `vm` as an OVF package named `name`: the descriptor `CreateDescriptor` writes, naming
/// disk files `<name>-<n>.vmdk` holding the bytes of the VM's disks.
pub(crate) fn vm_export(emu: &Emulator, vm: &MoRef, name: &str) -> Result<VmExport, Fault> {
    typed(emu, vm, "VirtualMachine", "source.id")?;
    let mut files = Vec::new();
    let mut disks = Vec::new();
    for (kind, n, _, key, _) in lease::backed_devices(emu, vm) {
        if kind != "disk" {
            continue;
        }
        let bytes = emu.files.get(&key).cloned().unwrap_or_default();
        let file = format!("{name}-{n}.vmdk");
        files.push((
            format!("/{}/VirtualLsiLogicController0:{n}", vm.value),
            file.clone(),
            bytes.len() as i64,
        ));
        disks.push((file, bytes));
    }
    let descriptor = super::vm_descriptor(emu, vm, Some(name), &files)?;
    Ok(VmExport { descriptor, disks })
}

/// Where a template, or a VM deployed from one, goes (vAPI `placement`).
#[derive(Clone, Debug, Default)]
pub(crate) struct TemplatePlacement {
    pub folder: Option<MoRef>,
    pub pool: Option<MoRef>,
    pub host: Option<MoRef>,
    pub cluster: Option<MoRef>,
    pub datastore: Option<MoRef>,
}

impl TemplatePlacement {
    /// The resource pool named, else the cluster's or the host's compute resource's root pool.
    fn pool(&self, emu: &Emulator) -> Result<Option<MoRef>, Fault> {
        if let Some(p) = &self.pool {
            return typed(emu, p, "ResourcePool", "placement.resource_pool").map(Some);
        }
        let owner = match (&self.cluster, &self.host) {
            (Some(c), _) => Some(typed(
                emu,
                c,
                "ClusterComputeResource",
                "placement.cluster",
            )?),
            (None, Some(h)) => {
                let h = typed(emu, h, "HostSystem", "placement.host")?;
                emu.inv.get(&h)?.parent().cloned()
            }
            (None, None) => None,
        };
        Ok(owner.and_then(|o| {
            emu.inv
                .prop(&o, "resourcePool")
                .and_then(Value::as_moref)
                .cloned()
        }))
    }

    /// The clone request for `name` from `source`.
    fn request(&self, emu: &Emulator, source: &MoRef, name: &str) -> Result<CloneRequest, Fault> {
        let folder = match &self.folder {
            Some(f) => typed(emu, f, "Folder", "placement.folder")?,
            None => vm_folder_of(emu, source)
                .ok_or_else(|| Fault::invalid_argument("placement.folder"))?,
        };
        let mut req = CloneRequest::new(folder, name);
        req.pool = self.pool(emu)?;
        req.host = match &self.host {
            Some(h) => Some(typed(emu, h, "HostSystem", "placement.host")?),
            None => None,
        };
        req.datastore = match &self.datastore {
            Some(d) => Some(typed(emu, d, "Datastore", "disk_storage.datastore")?),
            None => None,
        };
        Ok(req)
    }
}

/// A template named `name` cloned from VM `source` (vAPI `vm-template/library-items` create).
pub(crate) fn vm_template(
    emu: &mut Emulator,
    user: &str,
    source: &MoRef,
    name: &str,
    place: &TemplatePlacement,
) -> Result<MoRef, Fault> {
    typed(emu, source, "VirtualMachine", "source_vm")?;
    let mut req = place.request(emu, source, name)?;
    req.template = true;
    clone_vm(emu, user, source, &req)
}

/// A VM named `name` deployed from template `template` (`…?action=deploy`, `check-out`).
pub(crate) fn deploy_template(
    emu: &mut Emulator,
    user: &str,
    template: &MoRef,
    name: &str,
    place: &TemplatePlacement,
    power_on: bool,
) -> Result<MoRef, Fault> {
    typed(emu, template, "VirtualMachine", "template")?;
    let mut req = place.request(emu, template, name)?;
    req.power_on = power_on;
    clone_vm(emu, user, template, &req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn first(emu: &Emulator, ty: &str) -> MoRef {
        emu.inv
            .iter()
            .find(|o| o.moref.ty == ty)
            .map(|o| o.moref.clone())
            .expect("an object of the type")
    }

    #[test]
    fn an_exported_vm_deploys_back_with_its_disks() {
        let mut emu = Emulator::new(Config::default()).expect("model");
        let vm = first(&emu, "VirtualMachine");
        let export = vm_export(&emu, &vm, "pkg").expect("export");
        assert!(export.descriptor.contains("pkg"));
        let pool = emu
            .inv
            .prop(&vm, "resourcePool")
            .and_then(Value::as_moref)
            .cloned()
            .expect("pool");
        let files: Vec<(String, Vec<u8>)> = export
            .disks
            .iter()
            .map(|(n, _)| (format!("src/{n}"), b"disk bytes".to_vec()))
            .collect();
        for (k, b) in &files {
            emu.files.insert(k.clone(), b.clone());
        }
        let d = OvfDeploy {
            descriptor: &export.descriptor,
            name: Some("deployed"),
            annotation: None,
            pool,
            host: None,
            folder: None,
            datastore: None,
            networks: &[],
            thin: true,
        };
        let new = deploy_ovf(&mut emu, "user", &d, &|h| format!("src/{h}")).expect("deploy");
        assert_eq!(emu.inv.get(&new).expect("vm").name(), "deployed");
        let disks = lease::backed_devices(&emu, &new);
        for (kind, _, _, key, _) in &disks {
            if kind == "disk" {
                assert_eq!(
                    emu.files.get(key).map(Vec::as_slice),
                    Some(&b"disk bytes"[..])
                );
            }
        }
        // The same name again is a duplicate, and leaves nothing behind.
        let before = emu.inv.iter().count();
        assert!(deploy_ovf(&mut emu, "user", &d, &|h| format!("src/{h}")).is_err());
        assert_eq!(emu.inv.iter().count(), before);
    }

    #[test]
    fn templates_clone_and_deploy() {
        let mut emu = Emulator::new(Config::default()).expect("model");
        let vm = first(&emu, "VirtualMachine");
        let t = vm_template(&mut emu, "user", &vm, "tmpl", &TemplatePlacement::default())
            .expect("template");
        assert!(emu.is_template(&t));
        // Deploying needs a pool: a template has none.
        assert!(
            deploy_template(
                &mut emu,
                "user",
                &t,
                "x",
                &TemplatePlacement::default(),
                false
            )
            .is_err()
        );
        let place = TemplatePlacement {
            cluster: Some(first(&emu, "ClusterComputeResource")),
            ..Default::default()
        };
        let v = deploy_template(&mut emu, "user", &t, "from-tmpl", &place, false).expect("deploy");
        assert!(!emu.is_template(&v));
    }
}
