//! vim25 methods: the typed [`Method`] enum at the SOAP edge, the session allow-list, and
//! dispatch to one file per managed-object family. Each handler turns a decoded request into
//! emulator changes and a typed result; unknown methods answer `MethodNotFound`.

mod args;
mod authorization;
mod clone;
mod conform;
mod custom_fields;
mod customization;
mod datastore;
mod drs;
mod environment_browser;
mod events;
mod folder;
mod guest_ops;
mod history;
mod host;
pub mod host_storage;
mod ip_pool;
mod license;
mod limits;
mod method;
mod network;
mod options;
mod perf;
mod permissions;
mod property_collector;
mod relocate;
mod resource_pool;
mod search_index;
mod service;
mod session;
mod snapshot;
mod storage_pod;
mod task_history;
mod upgrade;
pub mod vapp;
mod view;
mod virtual_disk;
mod vm;
pub mod vslm;

pub use args::Args;
pub use authorization::DISABLED_PRUNE_AT;
pub use customization::CustomizationState;
pub use datastore::{datastore_key, parse_datastore_path};
pub(crate) use datastore::{invalid_datastore, touch_file};
pub use events::{EventCollectorState, refresh_event_collectors};
pub use guest_ops::{GuestProcess, GuestProcessTable};
pub use ip_pool::IpPoolState;
pub use license::{EVALUATION_KEY, seed_license_manager};
pub use limits::{DEVICE_CHANGES_MAX, EXTRA_CONFIG_MAX, EXTRA_CONFIG_MAX_BYTES, over_limit};
pub use method::{Method, served_method_names};
use method::{allowed_without_session, receives};
pub use network::seed_network_info;
pub use permissions::{PermissionEntry, seed_permissions};
pub use property_collector::poll as poll_wait;
pub use session::SESSION_TIMEOUT_KEY;
pub use task_history::TaskCollectorState;

use crate::emulator::Emulator;
use crate::soap::Call;
use crate::tasks::TaskStart;
use crate::vmodl::{Fault, MoRef, Value};

/// Who is calling, and what the call changed about the session.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    /// The public key of the live session the request's cookie authenticates (the cookie
    /// itself is a separate secret, see [`crate::session`]).
    pub session: Option<String>,
    /// The client's User-Agent.
    pub user_agent: String,
    /// The client's address.
    pub peer: String,
    /// Whether the request came over TLS (URLs the server hands out, such as a lease's
    /// device URLs, use the scheme the client reached it with).
    pub tls: bool,
    /// Set by Login: the cookie to send back.
    pub set_cookie: Option<String>,
}

/// What a call produced: a result now, or a wait for property-collector updates.
#[derive(Debug)]
pub enum Outcome {
    /// The result (`None` for void methods) or a fault.
    Done(Result<Option<Value>, Fault>),
    /// `WaitForUpdates(Ex)` found nothing yet: the server waits for a change (bounded by
    /// `max_wait_ms` when given) and polls again.
    Wait(WaitRequest),
}

/// A pending `WaitForUpdates(Ex)`.
#[derive(Clone, Debug)]
pub struct WaitRequest {
    /// The collector waited on.
    pub collector: MoRef,
    /// The caller's session.
    pub session: String,
    /// Maximum wait (None: until a change, as legacy WaitForUpdates).
    pub max_wait_ms: Option<u64>,
    /// `maxObjectUpdates`.
    pub max_objects: Option<usize>,
    /// Whether the legacy method (which never returns an empty set) was called.
    pub legacy: bool,
}

/// The user of the calling session (`""` when none).
pub fn user_of(emu: &Emulator, ctx: &CallContext) -> String {
    ctx.session
        .as_deref()
        .and_then(|k| emu.sessions.get(k))
        .map(|s| s.user.clone())
        .unwrap_or_default()
}

/// How many recent tasks an entity lists.
pub const RECENT_TASKS_PER_ENTITY: usize = 10;

/// Runs `body` as a task on `entity` and returns the task's reference. Faults the body
/// raises end up in `info.error`, as vCenter reports them.
pub fn run_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    entity: &MoRef,
    body: impl FnOnce(&mut Emulator) -> Result<Option<Value>, Fault>,
) -> Result<Option<Value>, Fault> {
    let task = start_running_task(emu, ctx, call, entity)?;
    let outcome = body(emu);
    let now = emu.clock.now_ms();
    emu.tasks.finish(&mut emu.inv, &task, now, &outcome);
    Ok(Some(Value::moref(&task)))
}

/// Starts a task on `entity` and leaves it `running`: [`run_task`]'s start, and the whole
/// of it for a task that ends at a later interval (`EnterMaintenanceMode_Task` waiting for
/// VMs to leave).
pub(crate) fn start_running_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    entity: &MoRef,
) -> Result<MoRef, Fault> {
    let name = emu.inv.get(entity)?.name().to_owned();
    let user = user_of(emu, ctx);
    let start = TaskStart {
        method: &call.method,
        on_type: &call.this.ty,
        entity: Some((entity.clone(), name)),
        user: &user,
        now_ms: emu.clock.now_ms(),
    };
    let esx = emu.flavor == crate::config::Flavor::HostAgent;
    let task = emu.tasks.start(&mut emu.inv, &start, esx);
    if crate::vmodl::is_a(&entity.ty, "ManagedEntity") {
        let _ = emu.inv.push_ref(entity, "recentTask", &task);
        // Only tasks the task log still holds, and a handful of them: vCenter lists the
        // entity's recent tasks, not its history.
        let live: Vec<MoRef> = emu
            .inv
            .refs(entity, "recentTask")
            .into_iter()
            .filter(|t| emu.inv.contains(t))
            .collect();
        let keep = live[live.len().saturating_sub(RECENT_TASKS_PER_ENTITY)..].to_vec();
        let _ = emu.inv.set(entity, "recentTask", Value::morefs(&keep));
    }
    emu.tasks.run(&mut emu.inv, &task, emu.clock.now_ms());
    Ok(task)
}

/// Rejects a request whose `xsi:type`s name no vim25 type, as vCenter does while parsing the
/// body (storing such a value would later break every strict client that reads it back).
fn check_request_types(el: &crate::soap::Element) -> Result<(), Fault> {
    // Bounded by the parsed tree, whose depth the parser limits.
    let mut stack = vec![el];
    while let Some(e) = stack.pop() {
        if let Some(ty) = e.xsi_type.as_deref() {
            // DisabledMethodRequest belongs to vCenter's internal API (govmomi has it, the
            // public WSDL and pyvmomi do not); VIC sends it with DisableMethods.
            let known = e.xsi_primitive
                || ty == "ManagedObjectReference"
                || ty == "DisabledMethodRequest"
                || crate::vmodl::data_type(ty).is_some()
                || crate::vmodl::enum_values(ty).is_some()
                || ty.strip_prefix("ArrayOf").is_some_and(|item| {
                    let lower = {
                        let mut c = item.chars();
                        c.next()
                            .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                            .unwrap_or_default()
                    };
                    item == "ManagedObjectReference"
                        || crate::vmodl::is_primitive(&lower)
                        || crate::vmodl::data_type(item).is_some()
                        || crate::vmodl::enum_values(item).is_some()
                });
            if !known {
                return Err(Fault::invalid_request(format!(
                    "Unable to resolve WSDL type name {ty} while parsing SOAP body"
                )));
            }
        }
        stack.extend(e.children.iter());
    }
    Ok(())
}

/// The checks a call needs no emulator state for: known `xsi:type`s and the per-request
/// bounds. The server runs them before taking the emulator's lock, so a hostile or oversized
/// request costs only its own thread's time.
pub fn precheck(call: &Call) -> Result<(), Fault> {
    check_request_types(&call.args)?;
    limits::check_request(call)
}

/// Dispatches one call (running [`precheck`] first).
pub fn dispatch(emu: &mut Emulator, ctx: &mut CallContext, call: &Call) -> Outcome {
    if let Err(f) = precheck(call) {
        return Outcome::Done(Err(f));
    }
    dispatch_checked(emu, ctx, call)
}

/// Adds what vcsim's model starts with beyond the inventory: its two customization specs
/// and its IP pool (called once, when the emulator is built with vcsim's model).
pub fn seed_vcsim_defaults(emu: &mut Emulator) {
    customization::seed_vcsim_defaults(emu);
    ip_pool::seed_vcsim_defaults(emu);
}

/// Applies a VM's pending guest customization as it powers on.
pub fn apply_customization_at_power_on(emu: &mut Emulator, vm: &MoRef) {
    customization::apply_at_power_on(emu, vm);
}

/// Dispatches a call that already passed [`precheck`].
pub fn dispatch_checked(emu: &mut Emulator, ctx: &mut CallContext, call: &Call) -> Outcome {
    emu.apply_posted_guest_effects();
    // Pools' reservation state follows every allocation change, whoever made it (this call's
    // predecessors, a guest powering off): refreshed before the call reads and after it acts.
    emu.sync_pool_runtime();
    let outcome = dispatch_method(emu, ctx, call);
    emu.sync_pool_runtime();
    outcome
}

fn dispatch_method(emu: &mut Emulator, ctx: &mut CallContext, call: &Call) -> Outcome {
    let Some(m) = Method::from_wsdl(&call.method) else {
        // Method families served outside the enum, each with its own receiver and session
        // checks (they are tried in turn; each knows only its own names).
        for family in [vslm::dispatch, vapp::dispatch, host_storage::dispatch] {
            if let Some(outcome) = family(emu, ctx, call) {
                return outcome;
            }
        }
        return Outcome::Done(Err(Fault::method_not_found(&call.this, &call.method)));
    };
    if !receives(m, &call.this.ty) {
        return Outcome::Done(Err(Fault::method_not_found(&call.this, &call.method)));
    }
    session::expire_idle_sessions(emu, ctx);
    if ctx.session.is_none() && !allowed_without_session(m, call) {
        return Outcome::Done(Err(Fault::not_authenticated(&call.this)));
    }
    if let Some(s) = ctx.session.as_deref().and_then(|k| emu.sessions.get_mut(k)) {
        s.call_count += 1;
        s.last_active_ms = emu.clock.now_ms();
        s.last_active_at = std::time::Instant::now();
    }
    if !matches!(m, Method::Fetch | Method::RetrieveServiceContent)
        && !emu.inv.contains(&call.this)
        && !emu.collectors.views.contains_key(&call.this.value)
    {
        return Outcome::Done(Err(Fault::not_found(&call.this)));
    }
    let args = Args::new(&call.args);
    use Method as M;
    let r = match m {
        M::RetrieveServiceContent => service::retrieve_service_content(emu),
        M::CurrentTime => Ok(Some(Value::DateTime(emu.clock.now_ms()))),
        M::Fetch => service::fetch(emu, ctx, call, &args),
        M::Login => session::login(emu, ctx, &args),
        M::Logout => session::logout(emu, ctx),
        M::SessionIsActive => session::session_is_active(emu, &args),
        M::TerminateSession => session::terminate_session(emu, ctx, &args),
        M::RetrieveProperties => property_collector::retrieve_properties(emu, ctx, &args),
        M::RetrievePropertiesEx => property_collector::retrieve_properties_ex(emu, ctx, &args),
        M::ContinueRetrievePropertiesEx => property_collector::continue_retrieve(emu, ctx, &args),
        M::CancelRetrievePropertiesEx => property_collector::cancel_retrieve(emu, &args),
        M::CreateFilter => property_collector::create_filter(emu, ctx, call, &args),
        M::DestroyPropertyFilter => property_collector::destroy_filter(emu, call),
        M::CreatePropertyCollector => property_collector::create_collector(emu, ctx),
        M::DestroyPropertyCollector => property_collector::destroy_collector(emu, ctx, call),
        M::WaitForUpdates | M::WaitForUpdatesEx | M::CheckForUpdates => {
            return property_collector::wait_request(emu, ctx, call, &args, m);
        }
        M::CancelWaitForUpdates => property_collector::cancel_wait(emu, ctx, call),
        M::CreateContainerView => view::create_container_view(emu, ctx, &args),
        M::CreateListView => view::create_list_view(emu, ctx, &args),
        M::ModifyListView => view::modify_list_view(emu, call, &args),
        M::ResetListView => view::reset_list_view(emu, call, &args),
        M::DestroyView => view::destroy_view(emu, call),
        M::CreateFolder => folder::create_folder(emu, call, &args),
        M::CreateVmTask => folder::create_vm_task(emu, ctx, call, &args),
        M::RenameTask => folder::rename_task(emu, ctx, call, &args),
        M::DestroyTask => {
            // A VM's snapshots go with it (its `snapshot` tree names them).
            let snaps = snapshot::snapshots_of(emu, &call.this);
            let r = folder::destroy_task(emu, ctx, call);
            snapshot::forget_if_gone(emu, &call.this, &snaps);
            r
        }
        M::PowerOnMultiVmTask => folder::power_on_multi_vm_task(emu, ctx, call, &args),
        M::PowerOnVmTask => vm::power_task(emu, ctx, call, vm::Power::On),
        M::PowerOffVmTask => vm::power_task(emu, ctx, call, vm::Power::Off),
        M::ResetVmTask => vm::power_task(emu, ctx, call, vm::Power::Reset),
        M::SuspendVmTask => vm::power_task(emu, ctx, call, vm::Power::Suspend),
        M::ShutdownGuest => vm::shutdown_guest(emu, ctx, call),
        M::RebootGuest => vm::reboot_guest(emu, ctx, call),
        M::ReconfigVmTask => vm::reconfig_task(emu, ctx, call, &args),
        M::UnregisterVm => {
            let snaps = snapshot::snapshots_of(emu, &call.this);
            let r = vm::unregister(emu, ctx, call);
            snapshot::forget_if_gone(emu, &call.this, &snaps);
            r
        }
        M::CreateResourcePool => resource_pool::create(emu, call, &args),
        M::UpdateConfig => resource_pool::update_config(emu, call, &args),
        M::DestroyChildren => resource_pool::destroy_children(emu, call),
        M::AddVirtualSwitch => network::add_virtual_switch(emu, call, &args),
        M::RemoveVirtualSwitch => network::remove_virtual_switch(emu, call, &args),
        M::AddPortGroup => network::add_port_group(emu, call, &args),
        M::RemovePortGroup => network::remove_port_group(emu, call, &args),
        M::AddDvPortgroupTask => folder::add_dv_portgroup_task(emu, ctx, call, &args),
        M::SearchDatastoreTask => datastore::search_task(emu, ctx, call, &args, false),
        M::SearchDatastoreSubFoldersTask => datastore::search_task(emu, ctx, call, &args, true),
        M::MakeDirectory => datastore::make_directory(emu, &args),
        M::DeleteDatastoreFileTask => datastore::delete_file_task(emu, ctx, call, &args),
        M::FindByInventoryPath => search_index::find_by_inventory_path(emu, &args),
        M::FindChild => search_index::find_child(emu, &args),
        M::FindByUuid => search_index::find_by_uuid(emu, &args, false),
        M::FindAllByUuid => search_index::find_by_uuid(emu, &args, true),
        M::FindByIp => search_index::find_by_ip(emu, &args),
        M::FindByDnsName => search_index::find_by_dns_name(emu, &args),
        M::QueryEvents => events::query_events(emu, &args),
        M::CreateCollectorForEvents => events::create_collector(emu, ctx, &args),
        M::ReadNextEvents => events::read_next(emu, call, &args),
        M::ReadPreviousEvents => events::read_previous(emu, call, &args),
        M::RewindCollector => events::rewind(emu, call),
        M::ResetCollector => events::reset(emu, call),
        M::SetCollectorPageSize => events::set_page_size(emu, call, &args),
        M::DestroyCollector => events::destroy(emu, call),
        M::QueryPerfCounter => perf::query_perf_counter(emu, &call.args).map(Some),
        M::QueryPerfCounterByLevel => perf::query_perf_counter_by_level(emu, &call.args).map(Some),
        M::QueryAvailablePerfMetric => perf::query_available_perf_metric(emu, &call.args).map(Some),
        M::QueryPerfProviderSummary => perf::query_perf_provider_summary(emu, &call.args).map(Some),
        M::QueryPerf => perf::query_perf(emu, &call.args).map(Some),
        M::QueryOptions => options::query_options(emu, call, &args),
        M::UpdateOptions => options::update_options(emu, call, &args),
        M::DisableMethods => authorization::disable_methods(emu, &args),
        M::EnableMethods => authorization::enable_methods(emu, &args),
        M::HasPrivilegeOnEntities => {
            host_storage::privileges::has_privilege_on_entities(emu, &args)
        }
        M::StartProgramInGuest => guest_ops::start_program(emu, &args),
        M::ListProcessesInGuest => guest_ops::list_processes(emu, &args),
        M::TerminateProcessInGuest => guest_ops::terminate_process(emu, &args),
        M::RegisterVmTask => host::register_vm_task(emu, ctx, call, &args),
        M::QueryConfigOption => environment_browser::query_config_option(emu, call, &args),
        M::QueryConfigOptionEx => environment_browser::query_config_option_ex(emu, call, &args),
        M::QueryConfigOptionDescriptor => {
            environment_browser::query_config_option_descriptor(emu, call)
        }
        M::QueryConfigTarget => environment_browser::query_config_target(emu, call, &args),
        M::MarkAsTemplate => host::mark_as_template(emu, call),
        M::MarkAsVirtualMachine => host::mark_as_virtual_machine(emu, call, &args),
        M::CreateDatacenter => host::create_datacenter(emu, call, &args),
        M::CreateClusterEx => host::create_cluster_ex(emu, call, &args),
        M::AddStandaloneHostTask => host::add_standalone_host_task(emu, ctx, call, &args),
        M::AddHostTask => host::add_host_task(emu, ctx, call, &args),
        M::MoveIntoFolderTask if call.this.ty == "StoragePod" => {
            storage_pod::move_into_pod_task(emu, ctx, call, &args)
        }
        M::MoveIntoFolderTask => {
            let r = host::move_into_folder_task(emu, ctx, call, &args);
            // Datastores may have joined or left a datastore cluster.
            storage_pod::refresh_summaries(emu);
            r
        }
        M::EnterMaintenanceModeTask => host::enter_maintenance_task(emu, ctx, call, &args),
        M::ExitMaintenanceModeTask => host::exit_maintenance_task(emu, ctx, call),
        M::DisconnectHostTask => host::disconnect_host_task(emu, ctx, call),
        M::ReconnectHostTask => host::reconnect_host_task(emu, ctx, call),
        M::ShutdownHostTask => host::power_down_host_task(emu, ctx, call, &args, false),
        M::RebootHostTask => host::power_down_host_task(emu, ctx, call, &args, true),
        M::ReconfigureComputeResourceTask | M::ReconfigureClusterTask => {
            host::reconfigure_compute_resource_task(emu, ctx, call, &args)
        }
        M::CreateCollectorForTasks => task_history::create_collector(emu, ctx, &args),
        M::ReadNextTasks => task_history::read_next(emu, call, &args),
        M::ReadPreviousTasks => task_history::read_previous(emu, call, &args),
        M::CopyDatastoreFileTask => datastore::copy_or_move_task(emu, ctx, call, &args, false),
        M::MoveDatastoreFileTask => datastore::copy_or_move_task(emu, ctx, call, &args, true),
        M::CreateVirtualDiskTask => datastore::create_virtual_disk_task(emu, ctx, call, &args),
        M::DeleteVirtualDiskTask => datastore::delete_virtual_disk_task(emu, ctx, call, &args),
        M::QueryVirtualDiskUuid => datastore::query_virtual_disk_uuid(emu, &args),
        M::QueryNetworkHint => network::query_network_hint(emu, call, &args),
        M::UpdateNetworkConfig => network::update_network_config(emu, call, &args),
        M::ReconfigureDvsTask => network::reconfigure_dvs_task(emu, ctx, call, &args),
        M::FetchDvPorts => network::fetch_dv_ports(emu, call, &args),
        M::ReconfigureDvPortgroupTask => {
            network::reconfigure_dv_portgroup_task(emu, ctx, call, &args)
        }
        M::CreateDvsTask => host::create_dvs_task(emu, ctx, call, &args),
        M::RetrieveAllPermissions => permissions::retrieve_all_permissions(emu),
        M::RetrieveEntityPermissions => permissions::retrieve_entity_permissions(emu, &args),
        M::RetrieveRolePermissions => permissions::retrieve_role_permissions(emu, &args),
        M::SetEntityPermissions => permissions::set_entity_permissions(emu, &args),
        M::RemoveEntityPermission => permissions::remove_entity_permission(emu, &args),
        M::AddAuthorizationRole => permissions::add_role(emu, &args),
        M::RemoveAuthorizationRole => permissions::remove_role(emu, &args),
        M::UpdateAuthorizationRole => permissions::update_role(emu, &args),
        M::AddLicense => license::add_license(emu, &args),
        M::RemoveLicense => license::remove_license(emu, &args),
        M::UpdateLicense => license::update_license(emu, &args),
        M::UpdateLicenseLabel => license::update_license_label(emu, &args),
        M::DecodeLicense => license::decode_license(&args),
        M::QueryAssignedLicenses => license::query_assigned_licenses(emu, &args),
        M::UpdateAssignedLicense => license::update_assigned_license(emu, &args),
        M::RemoveAssignedLicense => license::remove_assigned_license(emu, &args),
        M::CopyVirtualDiskTask => virtual_disk::copy_virtual_disk_task(emu, ctx, call, &args),
        M::CreateStoragePod => storage_pod::create_storage_pod(emu, call, &args),
        M::LoginByToken => session::login_by_token(emu, ctx, call),
        M::RetrieveUserGroups => permissions::retrieve_user_groups(emu, &args),
        M::AddCustomFieldDef => custom_fields::add_custom_field_def(emu, &args),
        M::RemoveCustomFieldDef => custom_fields::remove_custom_field_def(emu, &args),
        M::RenameCustomFieldDef => custom_fields::rename_custom_field_def(emu, &args),
        M::SetField => custom_fields::set_field(emu, &args),
        M::SetCustomValue => custom_fields::set_custom_value(emu, call, &args),
        M::AcquireCloneTicket => session::acquire_clone_ticket(emu, ctx),
        M::CloneSession => session::clone_session(emu, ctx, &args),
        M::PlaceVm => drs::place_vm(emu, call, &args),
        M::CreateSnapshotTask => snapshot::create_snapshot_task(emu, ctx, call, &args),
        M::RevertToSnapshotTask => snapshot::revert_to_snapshot_task(emu, ctx, call, &args),
        M::RevertToCurrentSnapshotTask => {
            snapshot::revert_to_current_snapshot_task(emu, ctx, call, &args)
        }
        M::RemoveSnapshotTask => snapshot::remove_snapshot_task(emu, ctx, call, &args),
        M::RemoveAllSnapshotsTask => snapshot::remove_all_snapshots_task(emu, ctx, call, &args),
        M::RenameSnapshot => snapshot::rename_snapshot(emu, call, &args),
        M::CloneVmTask => clone::clone_vm_task(emu, ctx, call, &args),
        M::RelocateVmTask => relocate::relocate_vm_task(emu, ctx, call, &args),
        M::MigrateVmTask => relocate::migrate_vm_task(emu, ctx, call, &args),
        M::CreateCustomizationSpec => customization::create(emu, call, &args),
        M::DoesCustomizationSpecExist => customization::exists(emu, &args),
        M::GetCustomizationSpec => customization::get(emu, &args),
        M::OverwriteCustomizationSpec => customization::overwrite(emu, call, &args),
        M::DeleteCustomizationSpec => customization::delete(emu, call, &args),
        M::DuplicateCustomizationSpec => customization::duplicate(emu, call, &args),
        M::RenameCustomizationSpec => customization::rename(emu, call, &args),
        M::CustomizeVmTask => customization::customize_vm_task(emu, ctx, call, &args),
        M::CreateIpPool => ip_pool::create(emu, &args),
        M::QueryIpPools => ip_pool::query(emu, &args),
        M::UpdateIpPool => ip_pool::update(emu, &args),
        M::DestroyIpPool => ip_pool::destroy(emu, &args),
        M::AllocateIpv4Address => ip_pool::allocate(emu, ctx, &args, false),
        M::AllocateIpv6Address => ip_pool::allocate(emu, ctx, &args, true),
        M::QueryIpAllocations => ip_pool::query_allocations(emu, &args),
        M::ReleaseIpAllocation => ip_pool::release(emu, ctx, &args),
        M::PostEvent => events::post_event(emu, ctx, &args),
        M::UpgradeVmTask => upgrade::upgrade_vm_task(emu, ctx, call, &args),
        M::SetVirtualDiskUuid => virtual_disk::set_virtual_disk_uuid(emu, &args),
        M::MoveVirtualDiskTask => virtual_disk::move_virtual_disk_task(emu, ctx, call, &args),
    };
    Outcome::Done(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::soap::Element;

    /// The body of a task runs while the task is `running` (with `startTime`), after it was
    /// `queued`; the recorded info ends with its start and completion times.
    #[test]
    fn run_task_walks_queued_running_success() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let vm = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "VirtualMachine")
            .unwrap()
            .moref
            .clone();
        let call = Call {
            method: "PowerOffVM_Task".into(),
            this: vm.clone(),
            args: Element {
                name: "PowerOffVM_Task".into(),
                ns: None,
                xsi_type: None,
                xsi_primitive: false,
                attrs: Vec::new(),
                children: Vec::new(),
                text: String::new(),
            },
        };
        let seen = std::cell::RefCell::new(None);
        let task = run_task(&mut emu, &CallContext::default(), &call, &vm, |emu| {
            let t = emu.tasks.recent().last().unwrap().clone();
            let info = emu.inv.prop(&t, "info").unwrap();
            *seen.borrow_mut() = Some((
                info.field("state")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                info.field("queueTime").is_some(),
                info.field("startTime").is_some(),
                info.field("completeTime").is_some(),
            ));
            emu.clock.advance(1_000);
            Ok(None)
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            seen.into_inner(),
            Some((Some("running".into()), true, true, false))
        );
        let info = emu.inv.prop(task.as_moref().unwrap(), "info").unwrap();
        assert_eq!(info.field("state").and_then(Value::as_str), Some("success"));
        let (Some(Value::DateTime(start)), Some(Value::DateTime(done))) =
            (info.field("startTime"), info.field("completeTime"))
        else {
            panic!("times: {info:?}");
        };
        assert_eq!(done - start, 1_000);
    }
}
