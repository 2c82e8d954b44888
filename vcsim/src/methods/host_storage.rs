//! Host storage, firewall and the search and privilege calls govc makes: datastore creation
//! and refresh, HBA/VMFS rescans, firewall rulesets, `FindAllByIp`/`FindAllByDnsName`/
//! `FindByDatastorePath`, user privilege checks, certificate login and service tickets, and
//! the StorageResourceManager's datastore-cluster calls.
//!
//! Core functions: [`dispatch`] (tried before `MethodNotFound`) and [`method_names`]. Each
//! method names the managed object types that have it; the receiver, session and existence
//! checks are the storage object manager's ([`super::vslm::checked`]). The sub-modules hold
//! one family each: [`datastores`] (HostDatastoreSystem, HostStorageSystem, datastore and VM
//! refreshes), [`firewall`], [`search`], [`privileges`] (AuthorizationManager and the
//! SessionManager calls) and [`sdrs`] (StorageResourceManager).

mod datastores;
mod firewall;
pub(crate) mod privileges;
mod sdrs;
mod search;

use super::{Args, CallContext, Outcome};
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{Fault, MoRef, Value};

/// The operations this module serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    CreateLocalDatastore,
    CreateNasDatastore,
    RemoveDatastore,
    RefreshDatastore,
    RefreshStorageInfo,
    RefreshStorageSystem,
    RescanAllHba,
    RescanVmfs,
    EnableRuleset,
    DisableRuleset,
    RefreshFirewall,
    FindAllByIp,
    FindAllByDnsName,
    FindByDatastorePath,
    FetchUserPrivilegeOnEntities,
    HasPrivilegeOnEntity,
    HasUserPrivilegeOnEntities,
    LoginExtensionByCertificate,
    AcquireGenericServiceTicket,
    RecommendDatastores,
    ConfigureStorageDrsForPod,
}

/// Each method name, its operation and the managed object type that has it.
const OPS: &[(&str, Op, &str)] = &[
    (
        "CreateLocalDatastore",
        Op::CreateLocalDatastore,
        "HostDatastoreSystem",
    ),
    (
        "CreateNasDatastore",
        Op::CreateNasDatastore,
        "HostDatastoreSystem",
    ),
    (
        "RemoveDatastore",
        Op::RemoveDatastore,
        "HostDatastoreSystem",
    ),
    ("RefreshDatastore", Op::RefreshDatastore, "Datastore"),
    (
        "RefreshStorageInfo",
        Op::RefreshStorageInfo,
        "VirtualMachine",
    ),
    (
        "RefreshStorageSystem",
        Op::RefreshStorageSystem,
        "HostStorageSystem",
    ),
    ("RescanAllHba", Op::RescanAllHba, "HostStorageSystem"),
    ("RescanVmfs", Op::RescanVmfs, "HostStorageSystem"),
    ("EnableRuleset", Op::EnableRuleset, "HostFirewallSystem"),
    ("DisableRuleset", Op::DisableRuleset, "HostFirewallSystem"),
    ("RefreshFirewall", Op::RefreshFirewall, "HostFirewallSystem"),
    ("FindAllByIp", Op::FindAllByIp, "SearchIndex"),
    ("FindAllByDnsName", Op::FindAllByDnsName, "SearchIndex"),
    (
        "FindByDatastorePath",
        Op::FindByDatastorePath,
        "SearchIndex",
    ),
    (
        "FetchUserPrivilegeOnEntities",
        Op::FetchUserPrivilegeOnEntities,
        "AuthorizationManager",
    ),
    (
        "HasPrivilegeOnEntity",
        Op::HasPrivilegeOnEntity,
        "AuthorizationManager",
    ),
    (
        "HasUserPrivilegeOnEntities",
        Op::HasUserPrivilegeOnEntities,
        "AuthorizationManager",
    ),
    (
        "LoginExtensionByCertificate",
        Op::LoginExtensionByCertificate,
        "SessionManager",
    ),
    (
        "AcquireGenericServiceTicket",
        Op::AcquireGenericServiceTicket,
        "SessionManager",
    ),
    (
        "RecommendDatastores",
        Op::RecommendDatastores,
        sdrs::SRM_TYPE,
    ),
    (
        "ConfigureStorageDrsForPod_Task",
        Op::ConfigureStorageDrsForPod,
        sdrs::SRM_TYPE,
    ),
];

/// Every method name this module serves (for the server's method list, `/about`).
pub fn method_names() -> impl Iterator<Item = &'static str> {
    OPS.iter().map(|(name, _, _)| *name)
}

/// Handles a call this module serves; `None` when `call` is not one of its methods.
pub(crate) fn dispatch(emu: &mut Emulator, ctx: &mut CallContext, call: &Call) -> Option<Outcome> {
    let (_, op, receiver) = OPS.iter().find(|(name, _, _)| *name == call.method)?;
    Some(Outcome::Done(
        checked(emu, ctx, call, *op, receiver).and_then(|()| {
            let args = Args::new(&call.args);
            run(emu, ctx, call, &args, *op)
        }),
    ))
}

/// The receiver, session and existence checks. A login needs no session (it makes one).
fn checked(
    emu: &mut Emulator,
    ctx: &mut CallContext,
    call: &Call,
    op: Op,
    receiver: &str,
) -> Result<(), Fault> {
    match op {
        Op::LoginExtensionByCertificate => {
            if call.this.ty != receiver {
                return Err(Fault::method_not_found(&call.this, &call.method));
            }
            emu.inv.get(&call.this)?;
            Ok(())
        }
        Op::RecommendDatastores | Op::ConfigureStorageDrsForPod => {
            if call.this.ty != receiver {
                return Err(Fault::method_not_found(&call.this, &call.method));
            }
            super::session::expire_idle_sessions(emu, ctx);
            if ctx.session.is_none() {
                return Err(Fault::not_authenticated(&call.this));
            }
            sdrs::check_manager(emu, &call.this)
        }
        _ => super::vslm::checked(emu, ctx, call, &[receiver]),
    }
}

fn run(
    emu: &mut Emulator,
    ctx: &mut CallContext,
    call: &Call,
    args: &Args<'_>,
    op: Op,
) -> Result<Option<Value>, Fault> {
    match op {
        Op::CreateLocalDatastore => datastores::create_local(emu, &call.this, args),
        Op::CreateNasDatastore => datastores::create_nas(emu, &call.this, args),
        Op::RemoveDatastore => datastores::remove(emu, &call.this, args),
        Op::RefreshDatastore => datastores::refresh_datastore(emu, &call.this),
        Op::RefreshStorageInfo => datastores::refresh_storage_info(emu, &call.this),
        Op::RefreshStorageSystem | Op::RescanAllHba | Op::RescanVmfs => {
            manager_host(emu, "storageSystem", &call.this).map(|_| None)
        }
        Op::EnableRuleset => firewall::set_enabled(emu, &call.this, args, true),
        Op::DisableRuleset => firewall::set_enabled(emu, &call.this, args, false),
        Op::RefreshFirewall => manager_host(emu, "firewallSystem", &call.this).map(|_| None),
        Op::FindAllByIp => search::find_all_by_ip(emu, args),
        Op::FindAllByDnsName => search::find_all_by_dns_name(emu, args),
        Op::FindByDatastorePath => search::find_by_datastore_path(emu, args),
        Op::FetchUserPrivilegeOnEntities => privileges::fetch_user_privileges(emu, args),
        Op::HasPrivilegeOnEntity => privileges::has_privilege_on_entity(emu, args),
        Op::HasUserPrivilegeOnEntities => privileges::has_user_privilege(emu, args),
        Op::LoginExtensionByCertificate => Err(privileges::no_client_certificate()),
        Op::AcquireGenericServiceTicket => privileges::generic_service_ticket(args),
        Op::RecommendDatastores => sdrs::recommend_datastores(emu, args),
        Op::ConfigureStorageDrsForPod => sdrs::configure_pod_task(emu, ctx, call, args),
    }
}

/// The host whose `configManager.<field>` is `manager`, which must be connected: vCenter
/// reaches a host's managers through the host, and answers `HostNotConnected` (its fault for
/// any call to a disconnected or powered-off host) when it cannot.
fn manager_host(emu: &Emulator, field: &str, manager: &MoRef) -> Result<MoRef, Fault> {
    let host = crate::property::collect::host_with_manager(emu, field, manager)
        .ok_or_else(|| Fault::not_found(manager))?;
    connected(emu, &host)?;
    Ok(host)
}

/// `HostNotConnected` unless `host` is connected and powered on.
fn connected(emu: &Emulator, host: &MoRef) -> Result<(), Fault> {
    if emu.host_connected(host) && !emu.host_down(host) {
        return Ok(());
    }
    let name = emu
        .inv
        .lookup(host)
        .map(|o| o.name().to_owned())
        .unwrap_or_default();
    Err(Fault::new(
        "HostNotConnected",
        format!("Unable to communicate with the remote host {name}, since it is disconnected."),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_outside_the_method_enum() {
        let names: Vec<&str> = method_names().collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for n in names {
            assert!(super::super::Method::from_wsdl(n).is_none(), "{n}");
        }
    }
}
