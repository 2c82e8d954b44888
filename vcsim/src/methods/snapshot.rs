//! VirtualMachine snapshots: CreateSnapshot_Task, RevertToSnapshot_Task,
//! RevertToCurrentSnapshot_Task, RemoveSnapshot_Task, RemoveAllSnapshots_Task and
//! RenameSnapshot.
//!
//! All state lives in the inventory, as vCenter exposes it: each snapshot is a
//! `VirtualMachineSnapshot` managed object (`vm`, `config` — the VM's configuration when it
//! was taken — and `childSnapshot`), and the VM carries the tree in `snapshot`
//! (`VirtualMachineSnapshotInfo`) and its roots in `rootSnapshot`. As on ESXi, taking a
//! snapshot moves each virtual disk of the VM onto a new delta disk (`vm-000001.vmdk`) whose
//! `parent` backing is the disk the snapshot keeps; reverting starts a new delta off the
//! snapshot's disks, and removing every snapshot consolidates the VM back onto its base disks.
//!
//! vim25 has no snapshot event types: vCenter reports snapshot operations through their
//! tasks only, so none are posted here.

mod consolidate;
mod layout;

use super::{Args, CallContext, run_task, user_of};
use crate::emulator::Emulator;
use crate::inventory::ManagedObject;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Longest snapshot chain (root to leaf). VMware supports at most 32 snapshots in a chain
/// (KB 1025279, "Best practices for using VMware snapshots in the vSphere environment");
/// a deeper one fails with `TooManySnapshotLevels`.
pub const SNAPSHOT_CHAIN_MAX: usize = 32;

/// Most snapshots one VM's tree holds: each keeps a copy of the VM's configuration, so the
/// tree's width is bounded too (a chain alone is bounded by [`SNAPSHOT_CHAIN_MAX`]).
pub const SNAPSHOTS_PER_VM_MAX: usize = 128;

/// Longest snapshot name and description, in characters (vCenter's UI limit for names is
/// 80; descriptions are bounded here so one call cannot bloat every snapshot read).
const NAME_MAX_CHARS: usize = 80;
const DESCRIPTION_MAX_CHARS: usize = 4096;

/// One node of a VM's snapshot tree (`VirtualMachineSnapshotTree`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub snapshot: MoRef,
    pub name: String,
    pub description: String,
    pub id: i32,
    pub create_ms: i64,
    pub state: String,
    pub quiesced: bool,
    pub children: Vec<Node>,
}

/// A VM's snapshot tree and its current snapshot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tree {
    pub current: Option<MoRef>,
    pub roots: Vec<Node>,
}

fn node_from(v: &Value, depth: usize) -> Option<Node> {
    let text = |f: &str| v.field(f).and_then(Value::as_str).unwrap_or("").to_owned();
    let children = if depth < SNAPSHOT_CHAIN_MAX {
        v.field("childSnapshotList")
            .map(|c| {
                c.items()
                    .iter()
                    .filter_map(|c| node_from(c, depth + 1))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Some(Node {
        snapshot: v.field("snapshot").and_then(Value::as_moref)?.clone(),
        name: text("name"),
        description: text("description"),
        id: v
            .field("id")
            .and_then(Value::as_i64)
            .and_then(|i| i32::try_from(i).ok())
            .unwrap_or(0),
        create_ms: match v.field("createTime") {
            Some(Value::DateTime(t)) => *t,
            _ => 0,
        },
        state: v
            .field("state")
            .and_then(Value::as_str)
            .unwrap_or("poweredOff")
            .to_owned(),
        quiesced: v
            .field("quiesced")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        children,
    })
}

fn node_value(n: &Node, vm: &MoRef) -> Value {
    let mut d = DataObject::new("VirtualMachineSnapshotTree")
        .with("snapshot", Value::moref(&n.snapshot))
        .with("vm", Value::moref(vm))
        .with("name", Value::str(n.name.clone()))
        .with("description", Value::str(n.description.clone()))
        .with("id", Value::Int(n.id))
        .with("createTime", Value::DateTime(n.create_ms))
        .with(
            "state",
            Value::enumv("VirtualMachinePowerState", n.state.clone()),
        )
        .with("quiesced", Value::Bool(n.quiesced));
    if !n.children.is_empty() {
        d = d.with(
            "childSnapshotList",
            Value::array(
                "VirtualMachineSnapshotTree",
                n.children.iter().map(|c| node_value(c, vm)).collect(),
            ),
        );
    }
    d.with("replaySupported", Value::Bool(false)).into_value()
}

impl Tree {
    /// The VM's tree as its `snapshot` property holds it.
    pub fn read(emu: &Emulator, vm: &MoRef) -> Tree {
        let Some(info) = emu.inv.prop(vm, "snapshot") else {
            return Tree::default();
        };
        Tree {
            current: info
                .field("currentSnapshot")
                .and_then(Value::as_moref)
                .cloned(),
            roots: info
                .field("rootSnapshotList")
                .map(|r| r.items().iter().filter_map(|n| node_from(n, 1)).collect())
                .unwrap_or_default(),
        }
    }

    /// Stores the tree in the VM (`snapshot`, `rootSnapshot`) and each snapshot's
    /// `childSnapshot`; an empty tree unsets both VM properties, as vCenter does.
    pub fn write(&self, emu: &mut Emulator, vm: &MoRef) -> Result<(), Fault> {
        layout::write(emu, vm, self)?;
        if self.roots.is_empty() {
            return emu.inv.update(vm, |o| {
                o.props.remove("snapshot");
                o.props.remove("rootSnapshot");
            });
        }
        let mut info = DataObject::new("VirtualMachineSnapshotInfo");
        if let Some(c) = &self.current {
            info = info.with("currentSnapshot", Value::moref(c));
        }
        let info = info.with(
            "rootSnapshotList",
            Value::array(
                "VirtualMachineSnapshotTree",
                self.roots.iter().map(|n| node_value(n, vm)).collect(),
            ),
        );
        let roots: Vec<MoRef> = self.roots.iter().map(|n| n.snapshot.clone()).collect();
        emu.inv.update(vm, |o| {
            o.props.insert("snapshot".into(), info.into_value());
            o.props.insert("rootSnapshot".into(), Value::morefs(&roots));
        })?;
        let mut stack: Vec<&Node> = self.roots.iter().collect();
        while let Some(n) = stack.pop() {
            let kids: Vec<MoRef> = n.children.iter().map(|c| c.snapshot.clone()).collect();
            if emu.inv.contains(&n.snapshot) {
                emu.inv
                    .set(&n.snapshot, "childSnapshot", Value::morefs(&kids))?;
            }
            stack.extend(n.children.iter());
        }
        Ok(())
    }

    /// Every node, depth first.
    pub fn all(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut stack: Vec<&Node> = self.roots.iter().rev().collect();
        while let Some(n) = stack.pop() {
            out.push(n);
            stack.extend(n.children.iter().rev());
        }
        out
    }

    /// The node of `snapshot`.
    pub fn find(&self, snapshot: &MoRef) -> Option<&Node> {
        self.all().into_iter().find(|n| n.snapshot == *snapshot)
    }

    fn find_mut(&mut self, snapshot: &MoRef) -> Option<&mut Node> {
        fn walk<'a>(nodes: &'a mut [Node], s: &MoRef) -> Option<&'a mut Node> {
            for n in nodes {
                if n.snapshot == *s {
                    return Some(n);
                }
                if let Some(found) = walk(&mut n.children, s) {
                    return Some(found);
                }
            }
            None
        }
        walk(&mut self.roots, snapshot)
    }

    /// The chain from a root down to `snapshot` (inclusive); empty when absent.
    pub fn path_to(&self, snapshot: &MoRef) -> Vec<MoRef> {
        fn walk(nodes: &[Node], s: &MoRef, path: &mut Vec<MoRef>) -> bool {
            for n in nodes {
                path.push(n.snapshot.clone());
                if n.snapshot == *s || walk(&n.children, s, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        let mut path = Vec::new();
        walk(&self.roots, snapshot, &mut path);
        path
    }

    /// Removes `snapshot`: with its subtree when `with_children`, else its children take
    /// its place. Returns the snapshots removed; the current snapshot, when removed, becomes
    /// the removed snapshot's parent (vCenter keeps "you are here" attached to the tree).
    pub fn remove(&mut self, snapshot: &MoRef, with_children: bool) -> Vec<MoRef> {
        let path = self.path_to(snapshot);
        let Some(parent_ref) = path.len().checked_sub(2).map(|i| path[i].clone()) else {
            if path.is_empty() {
                return Vec::new();
            }
            return self.remove_in_roots(snapshot, with_children, None);
        };
        self.remove_in_roots(snapshot, with_children, Some(parent_ref))
    }

    fn remove_in_roots(
        &mut self,
        snapshot: &MoRef,
        with_children: bool,
        parent: Option<MoRef>,
    ) -> Vec<MoRef> {
        let list = match &parent {
            Some(p) => match self.find_mut(p) {
                Some(n) => &mut n.children,
                None => return Vec::new(),
            },
            None => &mut self.roots,
        };
        let Some(i) = list.iter().position(|n| n.snapshot == *snapshot) else {
            return Vec::new();
        };
        let node = list.remove(i);
        let mut removed = vec![node.snapshot.clone()];
        if with_children {
            let sub = Tree {
                current: None,
                roots: node.children.clone(),
            };
            removed.extend(sub.all().into_iter().map(|n| n.snapshot.clone()));
        } else {
            for (k, child) in node.children.into_iter().enumerate() {
                list.insert(i + k, child);
            }
        }
        if self.current.as_ref().is_some_and(|c| removed.contains(c)) {
            self.current = parent;
        }
        removed
    }
}

fn bounded_text(v: &str, max: usize, field: &str) -> Result<String, Fault> {
    if v.chars().count() > max || v.chars().any(|c| !crate::inventory::is_xml_char(c)) {
        return Err(Fault::invalid_argument(field));
    }
    Ok(v.to_owned())
}

/// The VM a snapshot belongs to.
pub(crate) fn vm_of(emu: &Emulator, snapshot: &MoRef) -> Result<MoRef, Fault> {
    emu.inv
        .get(snapshot)?
        .get("vm")
        .and_then(Value::as_moref)
        .cloned()
        .ok_or_else(|| Fault::not_found(snapshot))
}

fn snapshot_not_found(msg: &str) -> Fault {
    Fault::not_found_plain(msg)
}

// ---- disks -------------------------------------------------------------------------

fn is_disk(dev: &Value) -> bool {
    dev.xsi_type() == "VirtualDisk" || dev.field("capacityInKB").is_some()
}

/// Applies `f` to each virtual disk's backing in a `VirtualMachineConfigInfo`.
fn for_each_disk_backing(config: &mut Value, mut f: impl FnMut(&mut DataObject)) {
    let Some(devices) = config
        .as_data_mut()
        .and_then(|c| c.get_mut("hardware"))
        .and_then(Value::as_data_mut)
        .and_then(|h| h.get_mut("device"))
        .and_then(Value::items_mut)
    else {
        return;
    };
    for dev in devices.iter_mut().filter(|d| is_disk(d)) {
        if let Some(b) = dev
            .as_data_mut()
            .and_then(|d| d.get_mut("backing"))
            .and_then(Value::as_data_mut)
        {
            f(b);
        }
    }
}

/// The delta number of a disk file name (`vm-000003.vmdk` → 3).
fn delta_number(file: &str) -> Option<u32> {
    let stem = file.strip_suffix(".vmdk")?;
    let (_, n) = stem.rsplit_once('-')?;
    (n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

/// `[ds] vm/vm.vmdk` or `[ds] vm/vm-000002.vmdk` with delta number `n` → `[ds] vm/vm-00000n.vmdk`.
fn delta_name(file: &str, n: u32) -> String {
    let stem = file.strip_suffix(".vmdk").unwrap_or(file);
    let base = match delta_number(file) {
        Some(_) => stem.rsplit_once('-').map_or(stem, |(b, _)| b),
        None => stem,
    };
    format!("{base}-{n:06}.vmdk")
}

/// The highest delta number in a config's disk chains.
fn max_delta(config: &Value) -> u32 {
    let mut config = config.clone();
    let mut max = 0;
    for_each_disk_backing(&mut config, |b| {
        let mut cur: Option<&DataObject> = Some(b);
        for _ in 0..=SNAPSHOT_CHAIN_MAX * 2 {
            let Some(c) = cur else { break };
            if let Some(n) = c
                .get("fileName")
                .and_then(Value::as_str)
                .and_then(delta_number)
            {
                max = max.max(n);
            }
            cur = c.get("parent").and_then(Value::as_data);
        }
    });
    max
}

/// The next free delta number among the VM's disks and all its snapshots' disks.
fn next_delta(emu: &Emulator, vm: &MoRef, tree: &Tree) -> u32 {
    let mut max = emu.inv.prop(vm, "config").map(max_delta).unwrap_or(0);
    for n in tree.all() {
        if let Some(c) = emu.inv.prop(&n.snapshot, "config") {
            max = max.max(max_delta(c));
        }
    }
    max + 1
}

/// Puts each disk on a new delta disk numbered `n` whose parent is the disk as it was.
fn chain_disks(config: &mut Value, n: u32) {
    for_each_disk_backing(config, |b| {
        let parent = b.clone();
        let Some(file) = b.get("fileName").and_then(Value::as_str).map(str::to_owned) else {
            return;
        };
        b.set("fileName", Value::str(delta_name(&file, n)));
        b.remove("uuid");
        b.set("parent", parent.into_value());
    });
}

/// Consolidates each disk onto its base disk (the end of its parent chain).
fn collapse_disks(config: &mut Value) {
    for_each_disk_backing(config, |b| {
        let mut base = b.clone();
        for _ in 0..=SNAPSHOT_CHAIN_MAX * 2 {
            match base.get("parent").and_then(Value::as_data) {
                Some(p) => base = p.clone(),
                None => break,
            }
        }
        *b = base;
    });
}

fn update_config(emu: &mut Emulator, vm: &MoRef, f: impl FnOnce(&mut Value)) -> Result<(), Fault> {
    emu.inv.update(vm, |o| {
        if let Some(c) = o.props.get_mut("config") {
            f(c);
        }
    })
}

// ---- operations ----------------------------------------------------------------------

/// Takes a snapshot of `vm` under its current snapshot and makes it current.
pub(crate) fn create_snapshot(
    emu: &mut Emulator,
    vm: &MoRef,
    name: &str,
    description: &str,
    memory: bool,
    quiesce: bool,
) -> Result<MoRef, Fault> {
    if emu.is_template(vm) {
        return Err(Fault::not_supported(
            "The operation is not supported on a template",
        ));
    }
    let power = emu.power_state(vm)?;
    // A snapshot without memory of a running VM is a powered-off one: reverting to it
    // leaves the VM off (vSphere "Take Snapshot": memory unchecked).
    let state = match power.as_str() {
        "poweredOn" if memory => "poweredOn",
        "suspended" => "suspended",
        _ => "poweredOff",
    };
    let mut tree = Tree::read(emu, vm);
    if tree.all().len() >= SNAPSHOTS_PER_VM_MAX {
        return Err(Fault::new(
            "SnapshotFault",
            format!("The virtual machine has the most snapshots allowed ({SNAPSHOTS_PER_VM_MAX})"),
        ));
    }
    let depth = tree.current.as_ref().map_or(0, |c| tree.path_to(c).len());
    if depth >= SNAPSHOT_CHAIN_MAX {
        return Err(Fault::new(
            "TooManySnapshotLevels",
            format!(
                "Exceeded the maximum number of permitted snapshots ({SNAPSHOT_CHAIN_MAX} in a chain)"
            ),
        ));
    }
    let config = emu
        .inv
        .prop(vm, "config")
        .cloned()
        .ok_or_else(|| Fault::invalid_state("the VM has no configuration"))?;
    let delta = next_delta(emu, vm, &tree);
    let id = tree.all().iter().map(|n| n.id).max().unwrap_or(0) + 1;
    let value = match emu.flavor {
        crate::config::Flavor::VirtualCenter => emu.inv.alloc("snapshot-"),
        crate::config::Flavor::HostAgent => format!("{}-snapshot-{id}", vm.value),
    };
    let snap = MoRef::new("VirtualMachineSnapshot", value);
    emu.inv.insert(
        ManagedObject::new(snap.clone())
            .with("config", config)
            .with("childSnapshot", Value::morefs([]))
            .with("vm", Value::moref(vm)),
    );
    let node = Node {
        snapshot: snap.clone(),
        name: name.to_owned(),
        description: description.to_owned(),
        id,
        create_ms: emu.clock.now_ms(),
        state: state.to_owned(),
        quiesced: quiesce && power == "poweredOn",
        children: Vec::new(),
    };
    let parent = tree.current.clone();
    match parent.as_ref().and_then(|c| tree.find_mut(c)) {
        Some(p) => p.children.push(node),
        None => tree.roots.push(node),
    }
    tree.current = Some(snap.clone());
    update_config(emu, vm, |c| chain_disks(c, delta))?;
    tree.write(emu, vm)?;
    Ok(snap)
}

/// Reverts the VM of `snapshot` to it: its configuration (hardware, devices, extraConfig,
/// allocations) and its power state at the time (unless `suppress_power_on`).
pub(crate) fn revert(
    emu: &mut Emulator,
    user: &str,
    snapshot: &MoRef,
    suppress_power_on: bool,
) -> Result<(), Fault> {
    let vm = vm_of(emu, snapshot)?;
    // Checked before anything changes: a template cannot power on, so reverting it to a
    // running snapshot would fail after its configuration was already replaced.
    if emu.is_template(&vm) {
        return Err(Fault::not_supported(
            "The operation is not supported on a template",
        ));
    }
    let mut tree = Tree::read(emu, &vm);
    let node = tree.find(snapshot).cloned().ok_or_else(|| {
        snapshot_not_found("The snapshot is not part of the virtual machine's tree")
    })?;
    let saved = emu
        .inv
        .prop(snapshot, "config")
        .cloned()
        .ok_or_else(|| Fault::invalid_state("the snapshot has no configuration"))?;
    if emu.power_state(&vm)? != "poweredOff" {
        emu.power_off_vm(user, &vm)?;
    }
    let current = emu
        .inv
        .prop(&vm, "config")
        .cloned()
        .ok_or_else(|| Fault::invalid_state("the VM has no configuration"))?;
    // The contention model follows vCPUs, memory and allocations through the ordinary
    // reconfiguration path, only when they differ (no spurious VmReconfiguredEvent).
    let hw = |c: &Value, f: &str| c.field("hardware").and_then(|h| h.field(f)).cloned();
    let differs = |f: &str| saved.field(f) != current.field(f);
    if hw(&saved, "numCPU") != hw(&current, "numCPU")
        || hw(&saved, "memoryMB") != hw(&current, "memoryMB")
        || differs("cpuAllocation")
        || differs("memoryAllocation")
    {
        let spec = DataObject::new("VirtualMachineConfigSpec")
            .with_opt("numCPUs", hw(&saved, "numCPU"))
            .with_opt("memoryMB", hw(&saved, "memoryMB"))
            .with_opt("cpuAllocation", saved.field("cpuAllocation").cloned())
            .with_opt("memoryAllocation", saved.field("memoryAllocation").cloned())
            .into_value();
        emu.reconfigure_vm(user, &vm, &spec)?;
    }
    let delta = next_delta(emu, &vm, &tree);
    let now = emu.clock.now_ms();
    let mut restored = saved;
    if let (Some(r), Some(cur)) = (restored.as_data_mut(), current.as_data()) {
        // Identity, placement and the template flag are the VM's, not the snapshot's.
        for f in [
            "name",
            "uuid",
            "instanceUuid",
            "template",
            "files",
            "createDate",
        ] {
            match cur.get(f) {
                Some(v) => r.set(f, v.clone()),
                None => {
                    r.remove(f);
                }
            }
        }
        r.set("modified", Value::DateTime(now));
        r.set("changeVersion", Value::str(now.to_string()));
    }
    chain_disks(&mut restored, delta);
    let annotation = restored.field("annotation").cloned();
    emu.inv.update(&vm, |o| {
        o.props.insert("config".into(), restored);
        if let Some(c) = o
            .props
            .get_mut("summary")
            .and_then(Value::as_data_mut)
            .and_then(|s| s.get_mut("config"))
            .and_then(Value::as_data_mut)
        {
            match annotation {
                Some(a) => c.set("annotation", a),
                None => {
                    c.remove("annotation");
                }
            }
        }
    })?;
    tree.current = Some(snapshot.clone());
    tree.write(emu, &vm)?;
    match node.state.as_str() {
        "poweredOn" if !suppress_power_on => emu.power_on_vm(user, &vm)?,
        "suspended" => {
            emu.power_on_vm(user, &vm)?;
            emu.suspend_vm(user, &vm)?;
        }
        _ => {}
    }
    Ok(())
}

/// Removes `snapshot` (and its subtree when `remove_children`); consolidates the VM's disks
/// when its last snapshot goes.
pub(crate) fn remove(
    emu: &mut Emulator,
    snapshot: &MoRef,
    remove_children: bool,
) -> Result<(), Fault> {
    let vm = vm_of(emu, snapshot)?;
    let mut tree = Tree::read(emu, &vm);
    let removed = tree.remove(snapshot, remove_children);
    if removed.is_empty() {
        return Err(snapshot_not_found(
            "The snapshot is not part of the virtual machine's tree",
        ));
    }
    let freed: Vec<String> = removed
        .iter()
        .filter_map(|s| emu.inv.prop(s, "config"))
        .flat_map(consolidate::tops)
        .collect();
    for s in &removed {
        emu.inv.remove(s);
    }
    if tree.roots.is_empty() {
        update_config(emu, &vm, collapse_disks)?;
    } else {
        let kept: Vec<MoRef> = tree.all().iter().map(|n| n.snapshot.clone()).collect();
        consolidate::merge_freed(emu, &vm, &kept, &freed)?;
    }
    tree.write(emu, &vm)
}

/// Removes every snapshot of `vm` and consolidates its disks.
pub(crate) fn remove_all(emu: &mut Emulator, vm: &MoRef) -> Result<(), Fault> {
    let tree = Tree::read(emu, vm);
    for n in tree.all() {
        emu.inv.remove(&n.snapshot);
    }
    if !tree.roots.is_empty() {
        update_config(emu, vm, collapse_disks)?;
    }
    Tree::default().write(emu, vm)
}

/// The snapshot objects of `vm` (taken before a call that may delete the VM).
pub fn snapshots_of(emu: &Emulator, vm: &MoRef) -> Vec<MoRef> {
    if vm.ty != "VirtualMachine" {
        return Vec::new();
    }
    Tree::read(emu, vm)
        .all()
        .into_iter()
        .map(|n| n.snapshot.clone())
        .collect()
}

/// Drops the snapshot objects of a VM that no longer exists (destroyed or unregistered).
pub fn forget_if_gone(emu: &mut Emulator, vm: &MoRef, snapshots: &[MoRef]) {
    if emu.inv.contains(vm) {
        return;
    }
    for s in snapshots {
        emu.inv.remove(s);
    }
}

// ---- SOAP handlers -------------------------------------------------------------------
// `dispatch` has checked each call's receiver (a VirtualMachine or VirtualMachineSnapshot).

/// `CreateSnapshot_Task(name, description?, memory, quiesce)` on a VM; the task's result
/// is the new snapshot.
pub fn create_snapshot_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = bounded_text(args.text("name")?, NAME_MAX_CHARS, "name")?;
    let description = bounded_text(
        args.opt_text("description").unwrap_or(""),
        DESCRIPTION_MAX_CHARS,
        "description",
    )?;
    let memory = args.opt_bool("memory")?.unwrap_or(false);
    let quiesce = args.opt_bool("quiesce")?.unwrap_or(false);
    let vm = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        create_snapshot(emu, &vm, &name, &description, memory, quiesce)
            .map(|s| Some(Value::moref(&s)))
    })
}

/// `RevertToSnapshot_Task(host?, suppressPowerOn?)` on a snapshot (the task is on its VM).
pub fn revert_to_snapshot_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    revert_task(emu, ctx, call, args, call.this.clone())
}

/// `RevertToCurrentSnapshot_Task(host?, suppressPowerOn?)` on a VM: `NotFound` when it has
/// no current snapshot.
pub fn revert_to_current_snapshot_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let current = Tree::read(emu, &call.this)
        .current
        .ok_or_else(|| snapshot_not_found("The virtual machine has no current snapshot"))?;
    revert_task(emu, ctx, call, args, current)
}

/// Both reverts: a task on the snapshot's VM.
fn revert_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    snap: MoRef,
) -> Result<Option<Value>, Fault> {
    let suppress = args.opt_bool("suppressPowerOn")?.unwrap_or(false);
    let vm = vm_of(emu, &snap)?;
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &vm, move |emu| {
        revert(emu, &user, &snap, suppress).map(|_| None)
    })
}

/// `RemoveSnapshot_Task(removeChildren, consolidate?)` on a snapshot (the task is on its VM).
pub fn remove_snapshot_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let remove_children = args.opt_bool("removeChildren")?.unwrap_or(false);
    // `consolidate` only says when vSphere merges the delta disks; the result is the same.
    args.opt_bool("consolidate")?;
    let snap = call.this.clone();
    let vm = vm_of(emu, &snap)?;
    run_task(emu, ctx, call, &vm, move |emu| {
        remove(emu, &snap, remove_children).map(|_| None)
    })
}

/// `RemoveAllSnapshots_Task(consolidate?, spec?)` on a VM (no snapshots: success).
pub fn remove_all_snapshots_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    args.opt_bool("consolidate")?;
    let vm = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        remove_all(emu, &vm).map(|_| None)
    })
}

/// `RenameSnapshot(name?, description?)` on a snapshot.
pub fn rename_snapshot(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = args
        .opt_text("name")
        .map(|n| bounded_text(n, NAME_MAX_CHARS, "name"))
        .transpose()?;
    let description = args
        .opt_text("description")
        .map(|d| bounded_text(d, DESCRIPTION_MAX_CHARS, "description"))
        .transpose()?;
    let vm = vm_of(emu, &call.this)?;
    let mut tree = Tree::read(emu, &vm);
    let node = tree.find_mut(&call.this).ok_or_else(|| {
        snapshot_not_found("The snapshot is not part of the virtual machine's tree")
    })?;
    if let Some(n) = name {
        node.name = n;
    }
    if let Some(d) = description {
        node.description = d;
    }
    tree.write(emu, &vm)?;
    Ok(None)
}

#[cfg(test)]
mod tests;
