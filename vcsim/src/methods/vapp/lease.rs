//! `HttpNfcLease`: the lease `ImportVApp` and `ExportVm` hand out, its methods
//! (`HttpNfcLeaseProgress`, `…Complete`, `…Abort`, `…GetManifest`) and the byte transfers the
//! `/nfc/<ticket>/<file>` route performs ([`upload`], [`download`]).
//!
//! A lease is a managed object in the inventory (its `state`, `info`, `error`,
//! `initializeProgress`, `transferProgress` are read through the PropertyCollector, as
//! govmomi's `nfc.Lease.Wait` does) plus an entry in [`NfcLeases`] keyed by the ticket in its
//! URLs. The ticket comes from the OS CSPRNG: as on vCenter and vcsim, the URL itself
//! authorizes the transfer (clients send no session with it). Leases end on complete, abort
//! or timeout (`leaseTimeout` seconds of virtual time without progress); an import that does
//! not complete leaves nothing behind: its VM and uploaded files are removed.

use super::super::datastore::{datastore_key, parse_datastore_path, touch_file};
use super::super::user_of;
use super::super::{Args, CallContext};
use crate::emulator::{Emulator, VmPlacement};
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::BTreeMap;

/// Most leases open at once (each holds a VM and an upload slot; CI imports one at a time).
pub const NFC_LEASES_MAX: usize = 64;
/// Largest single upload through `/nfc` (one disk), in bytes; larger bodies get 413.
pub const NFC_UPLOAD_MAX_BYTES: usize = 64 * 1024 * 1024;
/// vCenter's default lease timeout, in seconds: a lease not renewed by progress within it
/// times out.
pub const LEASE_TIMEOUT_S: i32 = 300;
/// Most files one lease transfers (the devices of one VM).
pub const LEASE_FILES_MAX: usize = 64;

/// One file of a lease.
#[derive(Clone, Debug)]
struct LeaseFile {
    /// The `Emulator::files` key the bytes go to or come from.
    key: String,
    /// Written by this lease's import (removed again when the import does not complete).
    uploaded: bool,
    /// The device key (`/vm-42/disk:0`) for the manifest.
    device_key: String,
    disk: bool,
    capacity_kb: i64,
}

/// One open lease.
#[derive(Clone, Debug)]
struct Lease {
    moref: MoRef,
    import: bool,
    /// The VM an import created (removed if the import does not complete).
    created: Option<MoRef>,
    /// Files by the name in their URL.
    files: BTreeMap<String, LeaseFile>,
    renewed_ms: i64,
    user: String,
}

/// The open leases, by URL ticket.
#[derive(Debug, Default)]
pub struct NfcLeases {
    leases: BTreeMap<String, Lease>,
}

impl NfcLeases {
    /// How many leases are open.
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// Whether no lease is open.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    fn ticket_of(&self, lease: &MoRef) -> Option<String> {
        self.leases
            .iter()
            .find(|(_, l)| &l.moref == lease)
            .map(|(t, _)| t.clone())
    }
}

/// What a `/nfc` transfer answers, mapped to an HTTP status by the route.
#[derive(Debug, PartialEq, Eq)]
pub enum Transfer {
    /// Stored.
    Stored {
        /// Whether the file is new.
        created: bool,
    },
    /// The bytes of a download.
    Bytes(Vec<u8>),
    /// No open lease with this ticket, or no such file in it.
    NotFound,
    /// The datastores' capacity would be exceeded.
    Full,
    /// An export lease's files cannot be written, nor an import's read.
    WrongDirection,
}

/// Times out leases not renewed within their timeout, as vCenter does: state `error` with
/// a `Timedout` fault, and an import's VM and files removed.
pub(crate) fn expire(emu: &mut Emulator) {
    let now = emu.clock.now_ms();
    let late: Vec<String> = emu
        .nfc
        .leases
        .iter()
        .filter(|(_, l)| now - l.renewed_ms > i64::from(LEASE_TIMEOUT_S) * 1000)
        .map(|(t, _)| t.clone())
        .collect();
    for t in late {
        let fault = Fault::new(
            "Timedout",
            "The operation timed out: the NFC lease expired.",
        );
        end(emu, &t, Some(fault));
    }
}

/// Ends the lease with ticket `t`: `error` given → state `error` (an import is rolled
/// back), else `done`. The lease object leaves the inventory with it (vcsim does the same;
/// vCenter releases it).
fn end(emu: &mut Emulator, t: &str, error: Option<Fault>) {
    let Some(lease) = emu.nfc.leases.remove(t) else {
        return;
    };
    let failed = error.is_some();
    let _ = emu.inv.update(&lease.moref, |o| {
        o.props.insert(
            "state".into(),
            Value::enumv("HttpNfcLeaseState", if failed { "error" } else { "done" }),
        );
        if let Some(f) = &error {
            o.props.insert("error".into(), f.to_data().into_value());
        }
    });
    if failed && lease.import {
        for f in lease.files.values().filter(|f| f.uploaded) {
            emu.files.remove(&f.key);
        }
        if let Some(vm) = &lease.created
            && emu.inv.contains(vm)
        {
            let _ = emu.destroy_vm(&lease.user, vm);
        }
    }
    emu.inv.remove(&lease.moref);
}

/// Makes room for one more lease (expired ones go first), or answers why there is none.
fn room(emu: &mut Emulator) -> Result<(), Fault> {
    expire(emu);
    if emu.nfc.leases.len() >= NFC_LEASES_MAX {
        return Err(Fault::insufficient_resources(format!(
            "Too many NFC leases are open (at most {NFC_LEASES_MAX}); complete or abort one first."
        )));
    }
    Ok(())
}

/// The `(kind, file name, datastore key, capacity KB)` of each file-backed device of `vm`,
/// numbered per kind (`disk`, `cdrom`), as the lease lists them.
pub(super) fn backed_devices(
    emu: &Emulator,
    vm: &MoRef,
) -> Vec<(String, usize, String, String, i64)> {
    let devices = emu
        .inv
        .prop(vm, "config")
        .and_then(|c| c.field("hardware"))
        .and_then(|h| h.field("device"))
        .map(|d| d.items().to_vec())
        .unwrap_or_default();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for d in devices.iter().take(LEASE_FILES_MAX) {
        let kind = match d.xsi_type().as_ref() {
            "VirtualDisk" => "disk",
            "VirtualCdrom" => "cdrom",
            _ => continue,
        };
        let Some(file) = d
            .field("backing")
            .and_then(|b| b.field("fileName"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let Some((ds, rel)) = parse_datastore_path(file) else {
            continue;
        };
        let name = rel.rsplit('/').next().unwrap_or(&rel).to_owned();
        let n = counts.entry(kind).or_insert(0);
        let cap = d.field("capacityInKB").and_then(Value::as_i64).unwrap_or(0);
        out.push((kind.to_owned(), *n, name, datastore_key(&ds, &rel), cap));
        *n += 1;
    }
    out
}

/// Inserts the lease object for `lease` (whose reference [`open`] allocates) and its
/// [`NfcLeases`] entry under `ticket`; returns its reference.
fn open(
    emu: &mut Emulator,
    ticket: String,
    entity: &MoRef,
    urls: Vec<Value>,
    mut lease: Lease,
) -> MoRef {
    let moref = MoRef::new("HttpNfcLease", emu.inv.alloc("nfc-lease-"));
    lease.moref = moref.clone();
    let total_kb: i64 = lease
        .files
        .values()
        .filter(|f| f.disk)
        .map(|f| f.capacity_kb.max(0))
        .fold(0, i64::saturating_add);
    let mut info = DataObject::new("HttpNfcLeaseInfo")
        .with("lease", Value::moref(&moref))
        .with("entity", Value::moref(entity));
    if !urls.is_empty() {
        info = info.with("deviceUrl", Value::array("HttpNfcLeaseDeviceUrl", urls));
    }
    let info = info
        .with("totalDiskCapacityInKB", Value::Long(total_kb))
        .with("leaseTimeout", Value::Int(LEASE_TIMEOUT_S));
    emu.inv.insert(
        crate::inventory::ManagedObject::new(moref.clone())
            .with("initializeProgress", Value::Int(100))
            .with("transferProgress", Value::Int(0))
            .with("mode", Value::str("pushOrGet"))
            .with(
                "capabilities",
                DataObject::new("HttpNfcLeaseCapabilities")
                    .with("pullModeSupported", Value::Bool(false))
                    .with("corsSupported", Value::Bool(false))
                    .into_value(),
            )
            .with("info", info.into_value())
            // The VM exists and its disks are ready by the time the call answers, so the
            // lease is `ready` at once (vCenter passes through `initializing` while it
            // creates them; govmomi's Wait accepts either).
            .with("state", Value::enumv("HttpNfcLeaseState", "ready")),
    );
    lease.renewed_ms = emu.clock.now_ms();
    emu.nfc.leases.insert(ticket, lease);
    moref
}

/// A lease to be [`open`]ed.
fn pending(
    user: String,
    import: bool,
    created: Option<MoRef>,
    files: BTreeMap<String, LeaseFile>,
) -> Lease {
    Lease {
        moref: MoRef::new("HttpNfcLease", ""),
        import,
        created,
        files,
        renewed_ms: 0,
        user,
    }
}

/// A device URL of a lease.
fn device_url(
    tls: bool,
    key: &str,
    import_key: &str,
    ticket: &str,
    name: &str,
    disk: bool,
    size: Option<i64>,
) -> Value {
    let mut d = DataObject::new("HttpNfcLeaseDeviceUrl")
        .with("key", Value::str(key))
        .with("importKey", Value::str(import_key))
        // `*` stands for the host the client connected to (govmomi's ParseURL, ovftool). A
        // vCenter always answers `https`; a plain-HTTP server hands out `http` URLs, the
        // only ones its clients can reach (govmomi keeps the scheme of the URL).
        .with(
            "url",
            Value::str(format!(
                "{}://*/nfc/{ticket}/{name}",
                if tls { "https" } else { "http" }
            )),
        )
        .with("sslThumbprint", Value::str(""))
        .with("disk", Value::Bool(disk))
        .with("targetId", Value::str(name));
    if let Some(s) = size {
        d = d.with("fileSize", Value::Long(s));
    }
    d.into_value()
}

fn new_ticket() -> Result<String, Fault> {
    crate::secret::session_key().map_err(|e| Fault::new("SystemError", e.to_string()))
}

/// `ImportVApp(spec, folder?, host?)` on a resource pool or vApp: creates the VM the
/// `VirtualMachineImportSpec` describes and answers a lease to upload its disks to.
pub(crate) fn import_vapp(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let spec = args
        .value("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let ty = spec.xsi_type();
    if ty != "VirtualMachineImportSpec" {
        // vCenter imports multi-VM vApps too; the emulator builds single VMs (as vcsim).
        return Err(Fault::not_supported(format!(
            "ImportVApp of a {ty} is not supported by the emulator; only VirtualMachineImportSpec is"
        ))
        .with("invalidProperty", Value::str("spec")));
    }
    let config = spec
        .field("configSpec")
        .ok_or_else(|| Fault::invalid_argument("spec.configSpec"))?;
    let pool = call.this.clone();
    let in_vapp = pool.ty == "VirtualApp";
    let folder = match args.opt_moref("folder") {
        Some(_) if in_vapp => return Err(Fault::invalid_argument("folder")),
        Some(f) => {
            emu.inv.get(&f)?;
            if f.ty != "Folder" {
                return Err(Fault::invalid_argument("folder"));
            }
            f
        }
        None if in_vapp => emu
            .inv
            .prop(&pool, "parentFolder")
            .and_then(Value::as_moref)
            .cloned()
            .ok_or_else(|| Fault::invalid_argument("pool"))?,
        None => {
            let dc = emu
                .datacenter_of(&pool)
                .ok_or_else(|| Fault::invalid_argument("pool"))?;
            emu.inv
                .prop(&dc, "vmFolder")
                .and_then(Value::as_moref)
                .cloned()
                .ok_or_else(|| Fault::invalid_argument("pool"))?
        }
    };
    let host = args.opt_moref("host");
    room(emu)?;
    let ticket = new_ticket()?;
    let create = super::super::folder::vm_create_from_spec(config)?;
    let user = user_of(emu, ctx);
    let vm = emu.create_vm(
        &user,
        create,
        VmPlacement {
            folder,
            pool: pool.clone(),
            host,
        },
    )?;
    if let Some(v) = config
        .field("version")
        .and_then(Value::as_str)
        .filter(|v| valid_version(v))
    {
        let v = v.to_owned();
        emu.inv.update(&vm, |o| {
            if let Some(c) = o.props.get_mut("config").and_then(Value::as_data_mut) {
                c.set("version", Value::str(v));
            }
        })?;
    }
    if in_vapp {
        super::app::adopt(emu, &pool, &vm)?;
    }
    let vm_name = emu.inv.get(&vm)?.name().to_owned();
    let mut urls = Vec::new();
    let mut files = BTreeMap::new();
    for (kind, n, name, key, cap) in backed_devices(emu, &vm) {
        let dev_key = format!("/{}/{kind}:{n}", vm.value);
        let import_key = super::ovf::device_id(&vm_name, &kind, n);
        urls.push(device_url(
            ctx.tls,
            &dev_key,
            &import_key,
            &ticket,
            &name,
            kind == "disk",
            None,
        ));
        files.insert(
            name,
            LeaseFile {
                key,
                uploaded: false,
                device_key: dev_key,
                disk: kind == "disk",
                capacity_kb: cap,
            },
        );
    }
    let lease = open(
        emu,
        ticket,
        &vm,
        urls,
        pending(user, true, Some(vm.clone()), files),
    );
    Ok(Some(Value::moref(&lease)))
}

/// Whether `v` is a hardware version the hosts run (`vmx-4` … the newest).
pub(super) fn valid_version(v: &str) -> bool {
    let newest = super::super::environment_browser::HW_VERSIONS
        .last()
        .map(|(n, _)| *n)
        .unwrap_or(4);
    v.strip_prefix("vmx-")
        .and_then(|d| d.parse::<i32>().ok())
        .is_some_and(|n| (4..=newest).contains(&n))
}

/// `ExportVm` on a powered-off VM: a lease to download its disks from.
pub(crate) fn export_vm(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    let vm = call.this.clone();
    let state = emu.power_state(&vm)?;
    if state != "poweredOff" {
        return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
    }
    room(emu)?;
    let ticket = new_ticket()?;
    let mut urls = Vec::new();
    let mut files = BTreeMap::new();
    for (kind, n, _, key, cap) in backed_devices(emu, &vm) {
        if kind != "disk" {
            continue;
        }
        let name = format!("disk-{n}.vmdk");
        let dev_key = format!("/{}/VirtualLsiLogicController0:{n}", vm.value);
        let size = emu.files.get(&key).map(|b| b.len() as i64);
        urls.push(device_url(
            ctx.tls, &dev_key, "", &ticket, &name, true, size,
        ));
        files.insert(
            name,
            LeaseFile {
                key,
                uploaded: false,
                device_key: dev_key,
                disk: true,
                capacity_kb: cap,
            },
        );
    }
    let user = user_of(emu, ctx);
    let lease = open(emu, ticket, &vm, urls, pending(user, false, None, files));
    Ok(Some(Value::moref(&lease)))
}

/// The ticket of the lease a lease method is called on (`ManagedObjectNotFound` once it
/// has ended).
fn ticket_for(emu: &mut Emulator, lease: &MoRef) -> Result<String, Fault> {
    expire(emu);
    emu.nfc
        .ticket_of(lease)
        .ok_or_else(|| Fault::not_found(lease))
}

/// `HttpNfcLeaseProgress(percent)`: records progress and renews the lease. A percentage
/// outside 0–100 is clamped, not refused: vCenter documents no fault for it, and govmomi's
/// lease updater sends garbage for files of unknown size (0/0) yet must keep renewing.
pub(crate) fn progress(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let t = ticket_for(emu, &call.this)?;
    let pct = args
        .opt_i64("percent")?
        .ok_or_else(|| Fault::invalid_argument("percent"))?
        .clamp(0, 100);
    emu.inv
        .set(&call.this, "transferProgress", Value::Int(pct as i32))?;
    let now = emu.clock.now_ms();
    if let Some(l) = emu.nfc.leases.get_mut(&t) {
        l.renewed_ms = now;
    }
    Ok(None)
}

/// `HttpNfcLeaseComplete`: the transfer is done; the imported VM stays.
pub(crate) fn complete(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    let t = ticket_for(emu, &call.this)?;
    end(emu, &t, None);
    Ok(None)
}

/// `HttpNfcLeaseAbort(fault?)`: ends the lease in error; an import is rolled back.
pub(crate) fn abort(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let t = ticket_for(emu, &call.this)?;
    let msg = args
        .element("fault")
        .and_then(|f| f.child_text("localizedMessage"))
        .filter(|m| !m.is_empty())
        .unwrap_or("The operation was canceled by the client.")
        .to_owned();
    end(emu, &t, Some(Fault::new("RequestCanceled", msg)));
    Ok(None)
}

/// `HttpNfcLeaseGetManifest`: SHA-1 and size of each file of the lease.
pub(crate) fn manifest(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    use sha1::{Digest, Sha1};
    let t = ticket_for(emu, &call.this)?;
    let Some(lease) = emu.nfc.leases.get(&t) else {
        return Err(Fault::not_found(&call.this));
    };
    let entries = lease
        .files
        .values()
        .map(|f| {
            let bytes = emu.files.get(&f.key).map(Vec::as_slice).unwrap_or_default();
            let sha1: String = Sha1::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            DataObject::new("HttpNfcLeaseManifestEntry")
                .with("key", Value::str(f.device_key.clone()))
                .with("sha1", Value::str(sha1))
                .with("size", Value::Long(bytes.len() as i64))
                .with("disk", Value::Bool(f.disk))
                .with("capacity", Value::Long(f.capacity_kb.saturating_mul(1024)))
                .with("populatedSize", Value::Long(bytes.len() as i64))
                .into_value()
        })
        .collect();
    Ok(Some(Value::array("HttpNfcLeaseManifestEntry", entries)))
}

/// A `PUT`/`POST` of `bytes` to file `name` of the lease with ticket `ticket` (bodies over
/// [`NFC_UPLOAD_MAX_BYTES`] never get here: the route answers 413).
pub fn upload(emu: &mut Emulator, ticket: &str, name: &str, bytes: Vec<u8>) -> Transfer {
    expire(emu);
    let Some(lease) = emu.nfc.leases.get(ticket) else {
        return Transfer::NotFound;
    };
    if !lease.import {
        return Transfer::WrongDirection;
    }
    let Some(file) = lease.files.get(name) else {
        return Transfer::NotFound;
    };
    let key = file.key.clone();
    let created = !emu.files.contains_key(&key);
    let stored: usize = emu
        .files
        .iter()
        .filter(|(k, _)| **k != key)
        .map(|(_, v)| v.len())
        .sum();
    if (created && emu.files.len() >= crate::server::MAX_FILES)
        || stored + bytes.len() > crate::server::MAX_TOTAL_FILE_BYTES
    {
        return Transfer::Full;
    }
    emu.files.insert(key.clone(), bytes);
    touch_file(emu, &key);
    let now = emu.clock.now_ms();
    if let Some(l) = emu.nfc.leases.get_mut(ticket) {
        l.renewed_ms = now;
        if let Some(f) = l.files.get_mut(name) {
            f.uploaded = true;
        }
    }
    Transfer::Stored { created }
}

/// A `GET` of file `name` of the lease with ticket `ticket`: the stored bytes (empty for a
/// disk never written).
pub fn download(emu: &mut Emulator, ticket: &str, name: &str) -> Transfer {
    expire(emu);
    let Some(lease) = emu.nfc.leases.get_mut(ticket) else {
        return Transfer::NotFound;
    };
    if lease.import {
        return Transfer::WrongDirection;
    }
    let Some(file) = lease.files.get(name) else {
        return Transfer::NotFound;
    };
    let key = file.key.clone();
    lease.renewed_ms = emu.clock.now_ms();
    Transfer::Bytes(emu.files.get(&key).cloned().unwrap_or_default())
}
