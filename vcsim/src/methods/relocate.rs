//! `RelocateVM_Task` and `MigrateVM_Task`: a VM moves to another resource pool, host,
//! datastore or folder.
//!
//! The contention model moves the VM first, as DRS's own migrations do (`World::migrate_vm`
//! and `World::move_vm` within a cluster, which check the target host's state and that the
//! VM's reservations fit there); a move to another cluster or standalone host re-admits the
//! VM under the target's root pool. Then the inventory follows: the hosts', pools' and
//! datastores' `vm` lists, `runtime.host`, `resourcePool`, the VM's `datastore` and its file
//! paths. vCenter's events close the move: `VmMigratedEvent` (MigrateVM_Task) or
//! `VmRelocatedEvent` (RelocateVM_Task), each after its `VmBeing…Event`.

use super::clone::{name_of, named_arg, post_vm_event};
use super::{Args, CallContext, run_task, user_of};
use crate::emulator::Emulator;
use crate::guest::GuestEvent;
use crate::soap::Call;
use crate::vmodl::{Fault, MoRef, Value};

/// Where a VM should go; `None` keeps (or derives) that part of its placement.
#[derive(Clone, Debug, Default)]
pub(crate) struct Target {
    pub pool: Option<MoRef>,
    pub host: Option<MoRef>,
    pub datastore: Option<MoRef>,
    pub folder: Option<MoRef>,
}

/// Which method asked: the two post different events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Relocate,
    Migrate,
}

fn checked(emu: &Emulator, r: &Option<MoRef>, ty: &str, field: &str) -> Result<(), Fault> {
    if let Some(r) = r {
        let obj = emu.inv.get(r)?;
        if !crate::vmodl::is_a(&obj.moref.ty, ty) {
            return Err(Fault::invalid_argument(field));
        }
    }
    Ok(())
}

fn root_pool(emu: &Emulator, owner: &MoRef) -> Option<MoRef> {
    emu.inv
        .prop(owner, "resourcePool")
        .and_then(Value::as_moref)
        .cloned()
}

fn invalid_host_state(host: &MoRef, why: &str) -> Fault {
    Fault::new(
        "InvalidHostState",
        format!("The operation is not allowed in the current state of the host: {why}"),
    )
    .with("host", Value::moref(host))
}

/// The host a VM moving into `owner` goes to: fewest VMs among the hosts that take VMs,
/// then inventory order (as initial placement of idle hosts).
fn pick_host(emu: &Emulator, owner: &MoRef) -> Result<MoRef, Fault> {
    emu.inv
        .refs(owner, "host")
        .into_iter()
        .filter(|h| emu.host_accepts_vms(h))
        .min_by_key(|h| emu.inv.prop(h, "vm").map_or(0, |v| v.items().len()))
        .ok_or_else(|| Fault::invalid_state("the compute resource has no host that takes VMs"))
}

/// Points everything under `v` from datastore `old` to `new`: strings starting with
/// `old_prefix` (`[old]`, file paths) get `new_prefix`, and MoRefs to `old` (disk backings'
/// `datastore`) become `new`.
fn retarget(
    v: &mut Value,
    (old_prefix, new_prefix): (&str, &str),
    (old, new): (&MoRef, &MoRef),
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Str(s) | Value::Text(s) => {
            if let Some(rest) = s.strip_prefix(old_prefix) {
                *s = format!("{new_prefix}{rest}");
            }
        }
        Value::MoRef(m) if m == old => *m = new.clone(),
        Value::Data(d) => {
            for (_, f) in &mut std::sync::Arc::make_mut(d).fields {
                retarget(f, (old_prefix, new_prefix), (old, new), depth + 1);
            }
        }
        Value::Array(a) => {
            for i in &mut a.items {
                retarget(i, (old_prefix, new_prefix), (old, new), depth + 1);
            }
        }
        Value::Any(b) => retarget(b, (old_prefix, new_prefix), (old, new), depth + 1),
        _ => {}
    }
}

fn set_host_prop(emu: &mut Emulator, vm: &MoRef, host: &MoRef) -> Result<(), Fault> {
    emu.inv.update(vm, |o| {
        for holder in ["runtime", "summary"] {
            let Some(d) = o.props.get_mut(holder).and_then(Value::as_data_mut) else {
                continue;
            };
            let rt = if holder == "runtime" {
                Some(d)
            } else {
                d.get_mut("runtime").and_then(Value::as_data_mut)
            };
            if let Some(rt) = rt {
                rt.set("host", Value::moref(host));
            }
        }
    })
}

/// `InvalidDatastore` for the first of `datastores` that `host` does not mount (a host
/// that lists no datastores is not checked).
fn check_mounted(emu: &Emulator, host: &MoRef, datastores: &[MoRef]) -> Result<(), Fault> {
    let mounted = emu.inv.refs(host, "datastore");
    match datastores.iter().find(|d| !mounted.contains(d)) {
        Some(d) if !mounted.is_empty() => Err(Fault::new(
            "InvalidDatastore",
            format!(
                "The datastore '{}' is not accessible from host '{}'",
                name_of(emu, d),
                name_of(emu, host)
            ),
        )
        .with("datastore", Value::moref(d))
        .with("name", Value::str(name_of(emu, d)))),
        _ => Ok(()),
    }
}

/// Moves the model twin of `vm` to `pool` on `host`.
fn move_in_model(
    emu: &mut Emulator,
    vm: &MoRef,
    pool: &MoRef,
    host: &MoRef,
    same_root: bool,
) -> Result<(), Fault> {
    let model = |e: scheduler_model::ModelError| Fault::invalid_state(e.to_string());
    let id = *emu
        .ids
        .vms
        .get(&vm.value)
        .ok_or_else(|| Fault::not_found(vm))?;
    let host_id = *emu
        .ids
        .hosts
        .get(&host.value)
        .ok_or_else(|| Fault::invalid_argument("host"))?;
    let pool_id = *emu
        .ids
        .pools
        .get(&pool.value)
        .ok_or_else(|| Fault::invalid_argument("pool"))?;
    if same_root {
        let (_, old_host) = emu.world.vm_placement(id).map_err(model)?;
        emu.world.migrate_vm(id, host_id).map_err(admission)?;
        if let Err(e) = emu.world.move_vm(id, pool_id) {
            // Undo the host move, so a failed relocation leaves the model where the
            // inventory still says the VM is.
            let _ = emu.world.migrate_vm(id, old_host);
            return Err(admission(e));
        }
        return Ok(());
    }
    // Another root pool: the VM is admitted there like a new one (a running VM must fit
    // the target's reservations), then leaves its old place.
    let spec = emu.world.vm_spec(id).map_err(model)?.clone();
    let on = emu.world.is_powered_on(id).map_err(model)?;
    let new_id = emu
        .world
        .add_vm(pool_id, host_id, spec)
        .map_err(admission)?;
    if on {
        if let Err(e) = emu.world.power_on(new_id) {
            let _ = emu.world.remove_vm(new_id);
            return Err(admission(e));
        }
        emu.world.power_off(id).map_err(model)?;
    }
    emu.world.remove_vm(id).map_err(model)?;
    emu.ids.vms.insert(vm.value.clone(), new_id);
    Ok(())
}

fn admission(e: scheduler_model::ModelError) -> Fault {
    match e {
        scheduler_model::ModelError::Admission(a) => Fault::insufficient_resources(a.reason),
        other => Fault::invalid_state(other.to_string()),
    }
}

/// Moves `vm` to `target`. Faults: `InvalidArgument` for targets of the wrong type or a
/// host outside the pool's compute resource, `InvalidHostState` for a host that takes no
/// VMs (maintenance, disconnected), `InvalidDatastore` for a datastore the host does not
/// mount, `InsufficientResourcesFault` when a running VM's reservations do not fit.
pub(crate) fn relocate(
    emu: &mut Emulator,
    user: &str,
    vm: &MoRef,
    target: &Target,
    kind: Kind,
) -> Result<(), Fault> {
    // Moving VMs between hosts, pools and datastores is vCenter's: hostd answers
    // NotSupported.
    if emu.flavor == crate::config::Flavor::HostAgent {
        return Err(Fault::not_supported(super::clone::HOSTD_NOT_SUPPORTED));
    }
    let (pool_field, host_field) = match kind {
        Kind::Relocate => ("spec.pool", "spec.host"),
        Kind::Migrate => ("pool", "host"),
    };
    checked(emu, &target.pool, "ResourcePool", pool_field)?;
    checked(emu, &target.host, "HostSystem", host_field)?;
    checked(emu, &target.datastore, "Datastore", "spec.datastore")?;
    checked(emu, &target.folder, "Folder", "spec.folder")?;
    let template = emu.is_template(vm);
    let cur_host = emu
        .host_of(vm)
        .ok_or_else(|| Fault::invalid_state("the virtual machine has no host"))?;
    let cur_pool = emu
        .inv
        .prop(vm, "resourcePool")
        .and_then(Value::as_moref)
        .cloned();
    let cur_owner = emu.inv.get(&cur_host)?.parent().cloned();
    // Templates have no pool: only their host (and datastore) move.
    let want_pool = if template { None } else { target.pool.clone() };
    let (host, owner) = match (&target.host, &want_pool) {
        (Some(h), p) => {
            let owner = emu.inv.get(h)?.parent().cloned();
            if let Some(p) = p
                && emu.owner_of_pool(p) != owner
            {
                return Err(Fault::invalid_argument(host_field));
            }
            (h.clone(), owner)
        }
        (None, Some(p)) => {
            let owner = emu.owner_of_pool(p);
            let hosts = owner
                .as_ref()
                .map(|o| emu.inv.refs(o, "host"))
                .unwrap_or_default();
            let h = if hosts.contains(&cur_host) {
                cur_host.clone()
            } else {
                pick_host(
                    emu,
                    owner
                        .as_ref()
                        .ok_or_else(|| Fault::invalid_argument(pool_field))?,
                )?
            };
            (h, owner)
        }
        (None, None) => (cur_host.clone(), cur_owner.clone()),
    };
    let owner = owner.ok_or_else(|| Fault::invalid_argument(host_field))?;
    if host != cur_host && !emu.host_accepts_vms(&host) {
        return Err(invalid_host_state(
            &host,
            "it is disconnected, down or in maintenance mode",
        ));
    }
    let same_owner = cur_owner.as_ref() == Some(&owner);
    // The model's pool: the one asked for, else the current one within the same compute
    // resource, else the target's root pool (also for a template's model twin).
    let model_pool = match (&want_pool, same_owner, &cur_pool) {
        (Some(p), _, _) => p.clone(),
        (None, true, Some(p)) => p.clone(),
        _ => root_pool(emu, &owner).ok_or_else(|| Fault::invalid_argument(pool_field))?,
    };
    let new_pool = (!template).then(|| model_pool.clone());
    let cur_ds = emu.inv.refs(vm, "datastore");
    let datastores: Vec<MoRef> = match &target.datastore {
        Some(d) => vec![d.clone()],
        None => cur_ds.clone(),
    };
    check_mounted(emu, &host, &datastores)?;

    // "Being" event on the source placement.
    let dest_host_arg = named_arg(emu, "HostEventArgument", "host", &host);
    let vm_name = name_of(emu, vm);
    let (being, done) = match kind {
        Kind::Relocate => ("VmBeingRelocatedEvent", "VmRelocatedEvent"),
        Kind::Migrate => ("VmBeingMigratedEvent", "VmMigratedEvent"),
    };
    let src_host_name = name_of(emu, &cur_host);
    let dst_host_name = name_of(emu, &host);
    post_vm_event(
        emu,
        being,
        user,
        vm,
        format!("{vm_name} is being moved from {src_host_name} to {dst_host_name}"),
        vec![("destHost", dest_host_arg)],
    );

    // The folder move checks all it needs before it changes anything; it goes first so a
    // folder the VM cannot enter fails the task before the VM moves, and it is undone
    // when the model refuses the move.
    let old_folder = emu.inv.get(vm)?.parent().cloned();
    let folder_moved = match &target.folder {
        Some(f) if old_folder.as_ref() != Some(f) => {
            emu.move_into_folder(f, std::slice::from_ref(vm))?;
            true
        }
        _ => false,
    };
    // One compute resource, one model root pool.
    let same_root = same_owner;
    if let Err(e) = move_in_model(emu, vm, &model_pool, &host, same_root) {
        if folder_moved && let Some(old) = &old_folder {
            let _ = emu.move_into_folder(old, std::slice::from_ref(vm));
        }
        return Err(e);
    }
    if host != cur_host {
        let _ = emu.inv.pull_ref(&cur_host, "vm", vm);
        emu.inv.push_ref(&host, "vm", vm)?;
        set_host_prop(emu, vm, &host)?;
    }
    if let Some(p) = &new_pool
        && cur_pool.as_ref() != Some(p)
    {
        if let Some(old) = &cur_pool {
            let _ = emu.inv.pull_ref(old, "vm", vm);
        }
        emu.inv.push_ref(p, "vm", vm)?;
        emu.inv.set(vm, "resourcePool", Value::moref(p))?;
    }
    if let Some(ds) = &target.datastore
        && cur_ds != [ds.clone()]
    {
        for old in &cur_ds {
            let _ = emu.inv.pull_ref(old, "vm", vm);
        }
        emu.inv.push_ref(ds, "vm", vm)?;
        emu.inv.set(vm, "datastore", Value::morefs([ds]))?;
        if let Some(old) = cur_ds.first() {
            let (old_prefix, new_prefix) = (
                format!("[{}]", name_of(emu, old)),
                format!("[{}]", name_of(emu, ds)),
            );
            let (old_ref, new_ref) = (old.clone(), ds.clone());
            let rewrite = |o: &mut crate::inventory::ManagedObject| {
                for p in ["config", "summary"] {
                    if let Some(v) = o.props.get_mut(p) {
                        retarget(v, (&old_prefix, &new_prefix), (&old_ref, &new_ref), 0);
                    }
                }
            };
            emu.inv.update(vm, rewrite)?;
            // The snapshots' disks move with the VM: a later revert must not put the VM
            // back on the datastore it left.
            let snapshots = super::snapshot::snapshots_of(emu, vm);
            for s in &snapshots {
                emu.inv.update(s, rewrite)?;
            }
            if !snapshots.is_empty() {
                super::snapshot::Tree::read(emu, vm).write(emu, vm)?;
            }
        }
    }
    if !same_owner && let Some(browser) = emu.inv.prop(&owner, "environmentBrowser").cloned() {
        emu.inv.set(vm, "environmentBrowser", browser)?;
    }
    if !same_root && emu.power_state(vm)? == "poweredOn" {
        // The re-admitted twin gets its guest's workload again.
        emu.notify_guest(vm, GuestEvent::Reconfigure)?;
    }

    let mut extra = vec![(
        "sourceHost",
        named_arg(emu, "HostEventArgument", "host", &cur_host),
    )];
    if let Some(d) = cur_ds.first() {
        extra.push((
            "sourceDatastore",
            named_arg(emu, "DatastoreEventArgument", "datastore", d),
        ));
    }
    let message = match kind {
        Kind::Relocate => format!(
            "Completed the relocation of the virtual machine {vm_name} from {src_host_name} to {dst_host_name}"
        ),
        Kind::Migrate => format!(
            "Migration of virtual machine {vm_name} from {src_host_name} to {dst_host_name} completed"
        ),
    };
    post_vm_event(emu, done, user, vm, message, extra);
    Ok(())
}

/// `RelocateVM_Task(spec, priority?)`: pool, host, datastore and folder of the spec
/// (disk locators and `diskMoveType` are accepted; all disks follow the VM's datastore).
pub fn relocate_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let spec = args
        .value("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let field = |n: &str| spec.field(n).and_then(Value::as_moref).cloned();
    let target = Target {
        pool: field("pool"),
        host: field("host"),
        datastore: field("datastore"),
        folder: field("folder"),
    };
    let vm = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        relocate(emu, &user, &vm, &target, Kind::Relocate).map(|_| None)
    })
}

/// `MigrateVM_Task(pool?, host?, priority, state?)`: `InvalidPowerState` when `state` is
/// given and the VM is not in it.
pub fn migrate_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let target = Target {
        pool: args.opt_moref("pool"),
        host: args.opt_moref("host"),
        ..Target::default()
    };
    let state = args.opt_text("state").map(str::to_owned);
    if let Some(s) = &state
        && !matches!(s.as_str(), "poweredOn" | "poweredOff" | "suspended")
    {
        return Err(Fault::invalid_argument("state"));
    }
    let vm = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        if let Some(s) = &state {
            let existing = emu.power_state(&vm)?;
            if existing != *s {
                return Err(Fault::invalid_power_state(Some(s), &existing));
            }
        }
        relocate(emu, &user, &vm, &target, Kind::Migrate).map(|_| None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn vm_in_cluster(emu: &Emulator) -> MoRef {
        emu.inv
            .iter()
            .find(|o| {
                o.moref.ty == "VirtualMachine"
                    && emu
                        .host_of(&o.moref)
                        .is_some_and(|h| emu.cluster_of_host(&h).is_some())
            })
            .unwrap()
            .moref
            .clone()
    }

    fn model_host(emu: &Emulator, vm: &MoRef) -> scheduler_model::HostId {
        let id = emu.ids.vms[&vm.value];
        emu.world.vm_placement(id).unwrap().1
    }

    #[test]
    fn migrate_within_cluster_moves_model_and_inventory() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let vm = vm_in_cluster(&emu);
        let cur = emu.host_of(&vm).unwrap();
        let cluster = emu.cluster_of_host(&cur).unwrap();
        let other = emu
            .inv
            .refs(&cluster, "host")
            .into_iter()
            .find(|h| *h != cur)
            .unwrap();
        let target = Target {
            host: Some(other.clone()),
            ..Target::default()
        };
        relocate(&mut emu, "u", &vm, &target, Kind::Migrate).unwrap();
        assert_eq!(emu.host_of(&vm), Some(other.clone()));
        assert!(emu.inv.refs(&other, "vm").contains(&vm));
        assert!(!emu.inv.refs(&cur, "vm").contains(&vm));
        assert_eq!(model_host(&emu, &vm), emu.ids.hosts[&other.value]);
        assert_eq!(emu.events.latest().unwrap().ty, "VmMigratedEvent");
    }

    #[test]
    fn relocate_to_standalone_host_readmits() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let vm = vm_in_cluster(&emu);
        let standalone = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "HostSystem" && emu.cluster_of_host(&o.moref).is_none())
            .map(|o| o.moref.clone())
            .expect("the default inventory has a standalone host");
        let target = Target {
            host: Some(standalone.clone()),
            ..Target::default()
        };
        relocate(&mut emu, "u", &vm, &target, Kind::Relocate).unwrap();
        assert_eq!(model_host(&emu, &vm), emu.ids.hosts[&standalone.value]);
        let pool = emu
            .inv
            .prop(&vm, "resourcePool")
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let owner = emu.inv.get(&standalone).unwrap().parent().cloned();
        assert_eq!(emu.owner_of_pool(&pool), owner);
        assert_eq!(emu.events.latest().unwrap().ty, "VmRelocatedEvent");
    }

    #[test]
    fn invalid_targets_fault() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let vm = vm_in_cluster(&emu);
        let ds = emu.inv.refs(&vm, "datastore")[0].clone();
        let bad = Target {
            host: Some(ds),
            ..Target::default()
        };
        let f = relocate(&mut emu, "u", &vm, &bad, Kind::Migrate).unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
    }

    /// A folder the VM cannot enter fails the relocation before anything moved: host,
    /// pool and model stay where they were.
    #[test]
    fn bad_folder_fails_before_the_vm_moves() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let vm = vm_in_cluster(&emu);
        let cur = emu.host_of(&vm).unwrap();
        let cluster = emu.cluster_of_host(&cur).unwrap();
        let other = emu
            .inv
            .refs(&cluster, "host")
            .into_iter()
            .find(|h| *h != cur)
            .unwrap();
        // A host folder takes no VMs.
        let dc = emu.datacenter_of(&vm).unwrap();
        let host_folder = emu
            .inv
            .prop(&dc, "hostFolder")
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let model_before = model_host(&emu, &vm);
        let target = Target {
            host: Some(other.clone()),
            folder: Some(host_folder),
            ..Target::default()
        };
        relocate(&mut emu, "u", &vm, &target, Kind::Relocate).unwrap_err();
        assert_eq!(emu.host_of(&vm), Some(cur.clone()));
        assert!(emu.inv.refs(&cur, "vm").contains(&vm));
        assert_eq!(model_host(&emu, &vm), model_before);
    }

    /// Snapshots move with the VM's disks: reverting after a datastore move keeps the VM on
    /// the new datastore.
    #[test]
    fn snapshots_follow_a_datastore_move() {
        // vcsim's model with two datastores, both mounted on every host.
        let config = Config {
            vcsim_model: Some(crate::config::VcsimModel {
                datastore: 2,
                ..Default::default()
            }),
            ..Config::default()
        };
        let mut emu = Emulator::new(config).unwrap();
        let vm = vm_in_cluster(&emu);
        let host = emu.host_of(&vm).unwrap();
        let cur_ds = emu.inv.refs(&vm, "datastore");
        let new_ds = emu
            .inv
            .refs(&host, "datastore")
            .into_iter()
            .find(|d| !cur_ds.contains(d))
            .expect("a second datastore on the host");
        let snap = crate::methods::snapshot::create_snapshot(&mut emu, &vm, "s", "", false, false)
            .unwrap();
        let target = Target {
            datastore: Some(new_ds.clone()),
            ..Target::default()
        };
        relocate(&mut emu, "u", &vm, &target, Kind::Relocate).unwrap();
        crate::methods::snapshot::revert(&mut emu, "u", &snap, true).unwrap();
        let prefix = format!("[{}]", name_of(&emu, &new_ds));
        let config = emu.inv.prop(&vm, "config").unwrap();
        let disk = config
            .field("hardware")
            .and_then(|h| h.field("device"))
            .and_then(|d| d.items().iter().find(|d| d.field("capacityInKB").is_some()))
            .and_then(|d| d.field("backing"))
            .unwrap();
        let file = disk.field("fileName").and_then(Value::as_str).unwrap();
        assert!(file.starts_with(&prefix), "{file}");
        assert_eq!(
            disk.field("datastore").and_then(Value::as_moref),
            Some(&new_ds)
        );
    }
}
