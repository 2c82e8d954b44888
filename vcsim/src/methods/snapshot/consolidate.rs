//! Disk consolidation when snapshots are removed one at a time.
//!
//! Each snapshot keeps the disk file that was the top of each chain when it was taken; the
//! VM writes to a delta below it. Removing a snapshot makes its file an ordinary link: if
//! exactly one delta grows from it (in the VM's chains, its remaining snapshots' and other
//! VMs' linked clones), ESXi merges that child into it, so the child's file disappears and
//! whatever pointed at the child points at the merged file. A file with several children
//! (the tree branches there, or a linked clone uses it) stays as it is.

use super::{SNAPSHOT_CHAIN_MAX, for_each_disk_backing};
use crate::emulator::Emulator;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::BTreeSet;

/// The files of each disk chain in `config`, base first.
fn chains(config: &Value) -> Vec<Vec<String>> {
    let mut config = config.clone();
    let mut out = Vec::new();
    for_each_disk_backing(&mut config, |b| {
        let mut chain = Vec::new();
        let mut cur: Option<&DataObject> = Some(b);
        for _ in 0..=SNAPSHOT_CHAIN_MAX * 2 {
            let Some(c) = cur else { break };
            if let Some(f) = c.get("fileName").and_then(Value::as_str) {
                chain.push(f.to_owned());
            }
            cur = c.get("parent").and_then(Value::as_data);
        }
        chain.reverse();
        out.push(chain);
    });
    out
}

/// The top file of each disk chain in `config`.
pub(super) fn tops(config: &Value) -> Vec<String> {
    chains(config)
        .into_iter()
        .filter_map(|c| c.last().cloned())
        .collect()
}

/// Takes the link named `child` out of a backing chain: the link above it (or the top)
/// now has `child`'s parent below it, i.e. the child's data merged into its parent.
fn drop_link(b: &mut DataObject, child: &str, depth: usize) {
    if depth > SNAPSHOT_CHAIN_MAX * 2 {
        return;
    }
    if b.get("fileName").and_then(Value::as_str) == Some(child) {
        if let Some(parent) = b.get("parent").and_then(Value::as_data).cloned() {
            *b = parent;
        }
        return;
    }
    if let Some(p) = b.get_mut("parent").and_then(Value::as_data_mut) {
        drop_link(p, child, depth + 1);
    }
}

/// Merges, for each file in `freed` (the tops of removed snapshots), its only child into
/// it, in the VM's configuration and its remaining snapshots' configurations.
pub(super) fn merge_freed(
    emu: &mut Emulator,
    vm: &MoRef,
    snapshots: &[MoRef],
    freed: &[String],
) -> Result<(), Fault> {
    let mut holders: Vec<MoRef> = vec![vm.clone()];
    holders.extend(snapshots.iter().cloned());
    let kept_tops: BTreeSet<String> = snapshots
        .iter()
        .filter_map(|s| emu.inv.prop(s, "config"))
        .flat_map(tops)
        .collect();
    // Linked clones and other VMs that use one of the freed files keep it as it is.
    let elsewhere: BTreeSet<String> = emu
        .inv
        .iter()
        .filter(|o| o.moref.ty == "VirtualMachine" && o.moref != *vm)
        .filter_map(|o| o.get("config"))
        .flat_map(chains)
        .flatten()
        .filter(|f| freed.contains(f))
        .collect();
    for file in freed {
        if kept_tops.contains(file) || elsewhere.contains(file) {
            continue;
        }
        let mut children: BTreeSet<String> = BTreeSet::new();
        for h in &holders {
            if let Some(c) = emu.inv.prop(h, "config") {
                for chain in chains(c) {
                    for pair in chain.windows(2) {
                        if pair[0] == *file {
                            children.insert(pair[1].clone());
                        }
                    }
                }
            }
        }
        if children.len() != 1 {
            continue;
        }
        let Some(child) = children.into_iter().next() else {
            continue;
        };
        for h in &holders {
            emu.inv.update(h, |o| {
                if let Some(c) = o.props.get_mut("config") {
                    for_each_disk_backing(c, |b| drop_link(b, &child, 0));
                }
            })?;
        }
    }
    Ok(())
}
