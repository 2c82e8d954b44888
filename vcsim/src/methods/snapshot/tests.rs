//! Unit tests of the snapshot tree, revert, removal and disk chains.
use super::*;
use crate::config::Config;

fn vm(emu: &Emulator) -> MoRef {
    emu.inv
        .iter()
        .find(|o| o.moref.ty == "VirtualMachine")
        .unwrap()
        .moref
        .clone()
}

fn disk_files(emu: &Emulator, r: &MoRef) -> Vec<String> {
    let mut config = emu.inv.prop(r, "config").unwrap().clone();
    let mut out = Vec::new();
    for_each_disk_backing(&mut config, |b| {
        out.push(
            b.get("fileName")
                .and_then(Value::as_str)
                .unwrap()
                .to_owned(),
        )
    });
    out
}

#[test]
fn delta_names() {
    assert_eq!(delta_name("[ds] a/a.vmdk", 1), "[ds] a/a-000001.vmdk");
    assert_eq!(
        delta_name("[ds] a/a-000001.vmdk", 2),
        "[ds] a/a-000002.vmdk"
    );
    assert_eq!(
        delta_name("[ds] a-b/a-b.vmdk", 3),
        "[ds] a-b/a-b-000003.vmdk"
    );
    assert_eq!(delta_number("x-000012.vmdk"), Some(12));
    assert_eq!(delta_number("x-12.vmdk"), None);
}

#[test]
fn tree_grows_under_current_and_reverts() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    if emu.power_state(&vm).unwrap() != "poweredOff" {
        emu.power_off_vm("", &vm).unwrap();
    }
    let base = disk_files(&emu, &vm);
    let s1 = create_snapshot(&mut emu, &vm, "one", "first", false, false).unwrap();
    let s2 = create_snapshot(&mut emu, &vm, "two", "", false, false).unwrap();
    let tree = Tree::read(&emu, &vm);
    assert_eq!(tree.current.as_ref(), Some(&s2));
    assert_eq!(tree.roots.len(), 1);
    assert_eq!(tree.roots[0].children[0].snapshot, s2);
    assert_eq!(tree.roots[0].id, 1);
    assert_eq!(tree.roots[0].children[0].id, 2);
    assert_eq!(emu.inv.refs(&s1, "childSnapshot"), vec![s2.clone()]);
    assert_eq!(emu.inv.refs(&vm, "rootSnapshot"), vec![s1.clone()]);
    let files = disk_files(&emu, &vm);
    assert!(files[0].ends_with("-000002.vmdk"), "{files:?}");

    // The VM changes, then goes back to the first snapshot's hardware.
    let spec = DataObject::new("VirtualMachineConfigSpec")
        .with("numCPUs", Value::Int(4))
        .into_value();
    emu.reconfigure_vm("", &vm, &spec).unwrap();
    revert(&mut emu, "", &s1, false).unwrap();
    let cpus = emu
        .inv
        .prop(&vm, "config")
        .and_then(|c| c.field("hardware"))
        .and_then(|h| h.field("numCPU"))
        .and_then(Value::as_i64);
    assert_ne!(cpus, Some(4));
    assert_eq!(Tree::read(&emu, &vm).current, Some(s1.clone()));
    assert!(disk_files(&emu, &vm)[0].ends_with("-000003.vmdk"));

    remove_all(&mut emu, &vm).unwrap();
    assert!(emu.inv.prop(&vm, "snapshot").is_none());
    assert!(!emu.inv.contains(&s1) && !emu.inv.contains(&s2));
    assert_eq!(disk_files(&emu, &vm), base);
}

#[test]
fn removing_keeps_or_drops_children() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    let s1 = create_snapshot(&mut emu, &vm, "a", "", false, false).unwrap();
    let s2 = create_snapshot(&mut emu, &vm, "b", "", false, false).unwrap();
    let s3 = create_snapshot(&mut emu, &vm, "c", "", false, false).unwrap();
    remove(&mut emu, &s2, false).unwrap();
    let tree = Tree::read(&emu, &vm);
    assert_eq!(tree.roots[0].children[0].snapshot, s3, "c moved up under a");
    assert_eq!(tree.current, Some(s3.clone()));
    remove(&mut emu, &s1, true).unwrap();
    assert!(emu.inv.prop(&vm, "snapshot").is_none());
    assert!(!emu.inv.contains(&s3));
}

#[test]
fn removing_the_current_snapshot_makes_its_parent_current() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    let s1 = create_snapshot(&mut emu, &vm, "a", "", false, false).unwrap();
    let s2 = create_snapshot(&mut emu, &vm, "b", "", false, false).unwrap();
    remove(&mut emu, &s2, false).unwrap();
    assert_eq!(Tree::read(&emu, &vm).current, Some(s1));
}

#[test]
fn chains_are_bounded() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    for i in 0..SNAPSHOT_CHAIN_MAX {
        create_snapshot(&mut emu, &vm, &format!("s{i}"), "", false, false).unwrap();
    }
    let f = create_snapshot(&mut emu, &vm, "deep", "", false, false).unwrap_err();
    assert_eq!(f.ty, "TooManySnapshotLevels");
}

#[test]
fn memory_snapshots_restore_power() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    if emu.power_state(&vm).unwrap() != "poweredOn" {
        emu.power_on_vm("", &vm).unwrap();
    }
    let with_memory = create_snapshot(&mut emu, &vm, "m", "", true, false).unwrap();
    let without = create_snapshot(&mut emu, &vm, "d", "", false, false).unwrap();
    revert(&mut emu, "", &without, false).unwrap();
    assert_eq!(emu.power_state(&vm).unwrap(), "poweredOff");
    revert(&mut emu, "", &with_memory, false).unwrap();
    assert_eq!(emu.power_state(&vm).unwrap(), "poweredOn");
    revert(&mut emu, "", &with_memory, true).unwrap();
    assert_eq!(emu.power_state(&vm).unwrap(), "poweredOff");
}

#[test]
fn layout_lists_snapshot_files_and_disk_chains() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    let s1 = create_snapshot(&mut emu, &vm, "a", "", false, false).unwrap();
    let layout = emu.inv.prop(&vm, "layoutEx").unwrap().clone();
    let files: Vec<(i64, String)> = layout
        .field("file")
        .unwrap()
        .items()
        .iter()
        .map(|f| {
            (
                f.field("key").and_then(Value::as_i64).unwrap(),
                f.field("name").and_then(Value::as_str).unwrap().to_owned(),
            )
        })
        .collect();
    let snaps = layout.field("snapshot").unwrap().items().to_vec();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].field("key").and_then(Value::as_moref), Some(&s1));
    let data = snaps[0].field("dataKey").and_then(Value::as_i64).unwrap();
    assert!(
        files
            .iter()
            .any(|(k, n)| *k == data && n.ends_with("-Snapshot1.vmsn"))
    );
    // The VM's disk now has two links (base and delta); the snapshot's has one.
    let chain_len = |d: &Value| d.items()[0].field("chain").unwrap().items().len();
    assert_eq!(chain_len(layout.field("disk").unwrap()), 2);
    assert_eq!(chain_len(snaps[0].field("disk").unwrap()), 1);
    remove_all(&mut emu, &vm).unwrap();
    let layout = emu.inv.prop(&vm, "layoutEx").unwrap();
    assert!(layout.field("snapshot").is_none());
}

/// The top file of the VM's (or a snapshot's) first disk chain, and the chain's length.
fn top_and_len(emu: &Emulator, r: &MoRef) -> (String, usize) {
    let config = emu.inv.prop(r, "config").unwrap().clone();
    let tops = consolidate::tops(&config);
    let mut len = 0;
    let mut c = config;
    for_each_disk_backing(&mut c, |b| {
        if len > 0 {
            return;
        }
        let mut cur: Option<&DataObject> = Some(b);
        while let Some(x) = cur {
            len += 1;
            cur = x.get("parent").and_then(Value::as_data);
        }
    });
    (tops[0].clone(), len)
}

#[test]
fn removing_a_snapshot_merges_its_only_child_delta() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    let s1 = create_snapshot(&mut emu, &vm, "a", "", false, false).unwrap();
    let s2 = create_snapshot(&mut emu, &vm, "b", "", false, false).unwrap();
    // base (s1) -> 000001 (s2) -> 000002 (VM).
    assert_eq!(top_and_len(&emu, &vm).1, 3);
    let s1_top = top_and_len(&emu, &s1).0;
    remove(&mut emu, &s1, false).unwrap();
    // 000001 merged into base: s2 now keeps base, the VM writes to 000002 on top of it.
    assert_eq!(top_and_len(&emu, &s2), (s1_top.clone(), 1));
    let (vm_top, len) = top_and_len(&emu, &vm);
    assert!(
        vm_top.ends_with("-000002.vmdk") && len == 2,
        "{vm_top} {len}"
    );
    // Removing the current snapshot merges the VM's delta into the snapshot's file.
    remove(&mut emu, &s2, false).unwrap();
    assert_eq!(top_and_len(&emu, &vm), (s1_top, 1));
}

#[test]
fn a_branching_snapshot_keeps_its_file() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    if emu.power_state(&vm).unwrap() != "poweredOff" {
        emu.power_off_vm("", &vm).unwrap();
    }
    let s1 = create_snapshot(&mut emu, &vm, "a", "", false, false).unwrap();
    let s2 = create_snapshot(&mut emu, &vm, "b", "", false, false).unwrap();
    revert(&mut emu, "", &s1, true).unwrap();
    // base now has two children: s2's delta and the VM's new one.
    let before = top_and_len(&emu, &vm);
    remove(&mut emu, &s1, false).unwrap();
    assert_eq!(top_and_len(&emu, &vm), before);
    assert_eq!(top_and_len(&emu, &s2).1, 2);
}

/// A template is not reverted: the fault comes before its configuration changes.
#[test]
fn template_revert_fails_before_changing_anything() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let vm = vm(&emu);
    if emu.power_state(&vm).unwrap() != "poweredOn" {
        emu.power_on_vm("", &vm).unwrap();
    }
    let s = create_snapshot(&mut emu, &vm, "running", "", true, false).unwrap();
    emu.power_off_vm("", &vm).unwrap();
    emu.mark_as_template(&vm).unwrap();
    let before = disk_files(&emu, &vm);
    let f = revert(&mut emu, "", &s, false).unwrap_err();
    assert_eq!(f.ty, "NotSupported");
    assert_eq!(disk_files(&emu, &vm), before);
}
