//! The VM's `layoutEx` (`VirtualMachineFileLayoutEx`) as its snapshots shape it: the files of
//! the VM (`.vmx`, `.vmsd`), of every disk chain (descriptor and extent per link), of each
//! snapshot (`.vmsn`, and `.vmem` for a memory snapshot), the current disk chains and each
//! snapshot's disk chains. govc's `snapshot.tree -s` adds up snapshot sizes from it.

use super::{SNAPSHOT_CHAIN_MAX, Tree};
use crate::emulator::Emulator;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Size reported for a delta disk's extent (a fresh snapshot's redo log), in bytes.
const DELTA_EXTENT_BYTES: i64 = 16 * 1024 * 1024;
/// Size reported for a descriptor, `.vmx`, `.vmsd` or `.vmsn` file, in bytes.
const SMALL_FILE_BYTES: i64 = 4096;

/// Files by name, with their keys in insertion order.
#[derive(Default)]
struct Files {
    names: Vec<(String, &'static str, i64)>,
}

impl Files {
    fn key(&mut self, name: &str, ty: &'static str, size: i64) -> i32 {
        if let Some(i) = self.names.iter().position(|(n, _, _)| n == name) {
            return i as i32;
        }
        self.names.push((name.to_owned(), ty, size));
        (self.names.len() - 1) as i32
    }

    fn value(&self) -> Value {
        Value::array(
            "VirtualMachineFileLayoutExFileInfo",
            self.names
                .iter()
                .enumerate()
                .map(|(k, (name, ty, size))| {
                    DataObject::new("VirtualMachineFileLayoutExFileInfo")
                        .with("key", Value::Int(k as i32))
                        .with("name", Value::str(name.clone()))
                        .with("type", Value::str(*ty))
                        .with("size", Value::Long(*size))
                        .with("uniqueSize", Value::Long(*size))
                        .with("accessible", Value::Bool(true))
                        .into_value()
                })
                .collect(),
        )
    }
}

/// The disk layouts of a configuration: per disk, its chain base first.
fn disk_layouts(config: &Value, files: &mut Files) -> Vec<Value> {
    let devices = config
        .field("hardware")
        .and_then(|h| h.field("device"))
        .map(|d| d.items().to_vec())
        .unwrap_or_default();
    let mut out = Vec::new();
    for dev in devices.iter().filter(|d| super::is_disk(d)) {
        let Some(key) = dev.field("key").and_then(Value::as_i64) else {
            continue;
        };
        let capacity = dev
            .field("capacityInKB")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .saturating_mul(1024);
        let mut chain = Vec::new();
        let mut cur = dev.field("backing");
        for _ in 0..=SNAPSHOT_CHAIN_MAX * 2 {
            let Some(b) = cur else { break };
            if let Some(name) = b.field("fileName").and_then(Value::as_str) {
                chain.push(name.to_owned());
            }
            cur = b.field("parent");
        }
        chain.reverse();
        let units: Vec<Value> = chain
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let stem = name.strip_suffix(".vmdk").unwrap_or(name);
                let (extent, size) = if i == 0 {
                    (format!("{stem}-flat.vmdk"), capacity)
                } else {
                    (format!("{stem}-delta.vmdk"), DELTA_EXTENT_BYTES)
                };
                let d = files.key(name, "diskDescriptor", SMALL_FILE_BYTES);
                let e = files.key(&extent, "diskExtent", size);
                DataObject::new("VirtualMachineFileLayoutExDiskUnit")
                    .with(
                        "fileKey",
                        Value::array("int", vec![Value::Int(d), Value::Int(e)]),
                    )
                    .into_value()
            })
            .collect();
        out.push(
            DataObject::new("VirtualMachineFileLayoutExDiskLayout")
                .with("key", Value::Int(key.clamp(0, i64::from(i32::MAX)) as i32))
                .with(
                    "chain",
                    Value::array("VirtualMachineFileLayoutExDiskUnit", units),
                )
                .into_value(),
        );
    }
    out
}

/// Rewrites the VM's `layoutEx` for its configuration and snapshot tree.
pub(super) fn write(emu: &mut Emulator, vm: &MoRef, tree: &Tree) -> Result<(), Fault> {
    let Some(config) = emu.inv.prop(vm, "config").cloned() else {
        return Ok(());
    };
    let vmx = config
        .field("files")
        .and_then(|f| f.field("vmPathName"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let stem = vmx.strip_suffix(".vmx").unwrap_or(&vmx).to_owned();
    let mut files = Files::default();
    files.key(&vmx, "config", SMALL_FILE_BYTES);
    if !tree.roots.is_empty() {
        files.key(&format!("{stem}.vmsd"), "snapshotList", SMALL_FILE_BYTES);
    }
    let disks = disk_layouts(&config, &mut files);
    let mut snapshots = Vec::new();
    for n in tree.all() {
        let data = files.key(
            &format!("{stem}-Snapshot{}.vmsn", n.id),
            "snapshotData",
            SMALL_FILE_BYTES,
        );
        let memory = if n.state == "poweredOn" {
            let mb = config
                .field("hardware")
                .and_then(|h| h.field("memoryMB"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            files.key(
                &format!("{stem}-Snapshot{}.vmem", n.id),
                "snapshotMemory",
                mb.saturating_mul(1024 * 1024),
            )
        } else {
            -1
        };
        let snap_disks = emu
            .inv
            .prop(&n.snapshot, "config")
            .map(|c| disk_layouts(c, &mut files))
            .unwrap_or_default();
        snapshots.push(
            DataObject::new("VirtualMachineFileLayoutExSnapshotLayout")
                .with("key", Value::moref(&n.snapshot))
                .with("dataKey", Value::Int(data))
                .with("memoryKey", Value::Int(memory))
                .with(
                    "disk",
                    Value::array("VirtualMachineFileLayoutExDiskLayout", snap_disks),
                )
                .into_value(),
        );
    }
    let mut layout = DataObject::new("VirtualMachineFileLayoutEx")
        .with("file", files.value())
        .with(
            "disk",
            Value::array("VirtualMachineFileLayoutExDiskLayout", disks),
        );
    if !snapshots.is_empty() {
        layout = layout.with(
            "snapshot",
            Value::array("VirtualMachineFileLayoutExSnapshotLayout", snapshots),
        );
    }
    let layout = layout
        .with("timestamp", Value::DateTime(emu.clock.now_ms()))
        .into_value();
    emu.inv.set(vm, "layoutEx", layout)
}
