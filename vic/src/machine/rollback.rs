//! What a `create` has changed so far, and taking it back when a later step fails.
//!
//! VIC cleans up after a failed `CreateVCH` (the empty pool, the ESX bridge and the folder,
//! vic.md §6.1 step 5.14) but not after a failed or timed-out `CheckServiceReady`, which
//! leaves a powered-on appliance, its folder and its pool; and its certificates survive every
//! failure (§4.2). Here every failure after the first change — a SOAP error, an appliance
//! that cannot start, `--timeout` expiring in any phase — removes everything this run made,
//! newest first, and nothing it did not make.
//!
//! Each creating call is recorded as [`Step::Requested`] *before* it is sent. If the deadline
//! drops the call mid-flight, the object may exist without its reference ever reaching us;
//! rollback then finds it by name under the parent it was created in. That is safe because
//! create checked beforehand that no object of that name was there.

use std::time::Duration;

use vcsim::vmodl::{MoRef, Value};

use super::Ui;
use crate::tls::WrittenFiles;
use crate::vsphere::{Client, Entity};

/// How long rollback may talk to vSphere, after whatever ended the create (often the
/// deadline itself, so it cannot share it).
pub const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the closing `Logout` may take when there was nothing to remove: a target that
/// stopped answering must not stretch a failed create far past its `--timeout`.
pub const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// A creating call's progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Step {
    /// Not sent.
    #[default]
    Not,
    /// Sent (or about to be) under this parent; the outcome is unknown.
    Requested(MoRef),
    /// Created.
    Done(MoRef),
}

impl Step {
    /// Whether anything may have been created.
    fn pending(&self) -> bool {
        *self != Step::Not
    }
}

/// What this create has made so far.
#[derive(Default)]
pub struct Made {
    /// The VCH name (the pool, folder and VM all carry it).
    pub name: String,
    /// The session, once logged in.
    pub client: Option<Client>,
    /// The certificate files written.
    pub certs: WrittenFiles,
    /// The VCH resource pool (parent: the compute resource's pool).
    pub pool: Step,
    /// The ESX bridge: the host network system and the vSwitch/port-group name.
    pub esx_bridge: Option<(MoRef, String)>,
    /// The VC folder (parent: the datacenter's VM folder).
    pub folder: Step,
    /// The appliance VM (parent: the folder it is created in).
    pub vm: Step,
    /// The `CreateVM_Task`, once known: its result is the VM.
    pub vm_task: Option<MoRef>,
    /// The authorization manager `Destroy_Task` was disabled through (VC).
    pub disabled: Option<MoRef>,
}

impl Made {
    /// Nothing made yet for the VCH `name`.
    pub fn new(name: &str) -> Made {
        Made {
            name: name.to_owned(),
            ..Made::default()
        }
    }

    /// Whether anything needs taking back.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && !self.in_vsphere()
    }

    /// Whether anything may have been made in vSphere.
    fn in_vsphere(&self) -> bool {
        self.pool.pending()
            || self.esx_bridge.is_some()
            || self.folder.pending()
            || self.vm.pending()
    }
}

/// The child of `parent` named `name` of managed type `ty`, if there is one.
async fn child_named(c: &Client, parent: &MoRef, name: &str, ty: &str) -> Option<MoRef> {
    let parent = Entity {
        moref: parent.clone(),
        name: String::new(),
        path: String::new(),
    };
    c.finder()
        .child(&parent, name, Some(ty))
        .await
        .ok()
        .flatten()
        .map(|e| e.moref)
}

/// The object a step made: its reference, or the child found by name.
async fn resolve(c: &Client, step: &Step, name: &str, ty: &str) -> Option<MoRef> {
    match step {
        Step::Not => None,
        Step::Done(m) => Some(m.clone()),
        Step::Requested(parent) => child_named(c, parent, name, ty).await,
    }
}

/// Removes what a failed create made, newest first, then logs out. vSphere gets
/// [`ROLLBACK_TIMEOUT`]; the certificate files are removed whatever happens there.
pub async fn rollback(made: &mut Made, ui: &mut Ui) {
    if let Some(c) = made.client.clone().filter(|_| !made.in_vsphere()) {
        let _ = tokio::time::timeout(LOGOUT_TIMEOUT, c.logout()).await;
    } else if let Some(c) = made.client.clone() {
        let soap = async {
            remove_objects(&c, made, ui).await;
            let _ = c.logout().await;
        };
        if tokio::time::timeout(ROLLBACK_TIMEOUT, soap).await.is_err() {
            let mut left = Vec::new();
            for (what, step) in [
                ("appliance VM", &made.vm),
                ("folder", &made.folder),
                ("resource pool", &made.pool),
            ] {
                if step.pending() {
                    left.push(format!("{what} {:?}", made.name));
                }
            }
            if let Some((_, name)) = &made.esx_bridge {
                left.push(format!("bridge network {name:?}"));
            }
            ui.warn(format!(
                "Cleanup did not finish within {}s; remove by hand what is left of: {}",
                ROLLBACK_TIMEOUT.as_secs(),
                left.join(", ")
            ));
        }
    }
    if !made.certs.is_empty() {
        let failed = made.certs.remove();
        if failed.is_empty() {
            ui.info("Removed the certificates generated by this create");
        }
        for (path, e) in failed {
            ui.warn(format!("Failed to remove {}: {e}", path.display()));
        }
        made.certs = WrittenFiles::default();
    }
}

/// The vSphere half of [`rollback`]; each step is marked undone as it completes, so a
/// rollback cut short by its time limit reports only what is really left.
async fn remove_objects(c: &Client, made: &mut Made, ui: &mut Ui) {
    let name = made.name.clone();
    // The appliance: from its task when the reference never arrived, else by name.
    let mut vm = resolve(c, &made.vm, &name, "VirtualMachine").await;
    if vm.is_none()
        && made.vm.pending()
        && let Some(task) = &made.vm_task
    {
        vm = c
            .wait_for_task_within(task, ROLLBACK_TIMEOUT)
            .await
            .ok()
            .flatten()
            .and_then(|v| v.as_moref().cloned());
    }
    if let Some(vm) = &vm {
        ui.info(format!("Cleaning up appliance {vm}"));
        let _ = c.run_task("PowerOffVM_Task", vm, &[]).await;
        if let Some(am) = &made.disabled {
            let _ = c
                .call(
                    "EnableMethods",
                    am,
                    &[
                        ("entity", Value::morefs([vm])),
                        ("method", Value::strings(["Destroy_Task"])),
                        ("sourceId", Value::str("VIC")),
                    ],
                )
                .await;
        }
        match c.run_task("Destroy_Task", vm, &[]).await {
            Ok(_) => made.vm = Step::Not,
            Err(e) => ui.warn(format!("Failed to remove appliance {vm}: {e}")),
        }
    } else {
        made.vm = Step::Not;
    }
    if let Some(folder) = resolve(c, &made.folder, &name, "Folder").await {
        ui.info("Cleaning up the VCH folder");
        match c.run_task("Destroy_Task", &folder, &[]).await {
            Ok(_) => made.folder = Step::Not,
            Err(e) => ui.warn(format!("Failed to remove folder {folder}: {e}")),
        }
    } else {
        made.folder = Step::Not;
    }
    if let Some((ns, bridge)) = made.esx_bridge.take() {
        ui.info(format!("Cleaning up the bridge network {bridge:?}"));
        let _ = c
            .call(
                "RemovePortGroup",
                &ns,
                &[("pgName", Value::str(bridge.clone()))],
            )
            .await;
        let _ = c
            .call(
                "RemoveVirtualSwitch",
                &ns,
                &[("vswitchName", Value::str(bridge))],
            )
            .await;
    }
    if let Some(pool) = resolve(c, &made.pool, &name, "ResourcePool").await {
        ui.info("Cleaning up the resource pool");
        match c.run_task("Destroy_Task", &pool, &[]).await {
            Ok(_) => made.pool = Step::Not,
            Err(e) => ui.warn(format!("Failed to remove resource pool {pool}: {e}")),
        }
    } else {
        made.pool = Step::Not;
    }
}
