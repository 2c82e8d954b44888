//! The [`Method`] table: every vim25 method the emulator serves by WSDL name, the managed
//! object type each is defined on (so a call on the wrong receiver is `MethodNotFound`, as
//! vCenter answers), and the methods callable before login.

use super::{host_storage, vapp, vslm};
use crate::soap::Call;

macro_rules! methods {
    ($($variant:ident = $wsdl:literal),* $(,)?) => {
        /// Every vim25 method the emulator implements, by WSDL name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Method { $(#[doc = $wsdl] $variant),* }

        impl Method {
            /// The method for a WSDL name.
            pub fn from_wsdl(name: &str) -> Option<Method> {
                match name { $($wsdl => Some(Method::$variant),)* _ => None }
            }

            /// The WSDL name.
            pub fn wsdl(self) -> &'static str {
                match self { $(Method::$variant => $wsdl),* }
            }

            /// All implemented methods.
            pub const ALL: &'static [Method] = &[$(Method::$variant),*];
        }
    };
}

methods! {
    RetrieveServiceContent = "RetrieveServiceContent",
    CurrentTime = "CurrentTime",
    Fetch = "Fetch",
    Login = "Login",
    Logout = "Logout",
    SessionIsActive = "SessionIsActive",
    TerminateSession = "TerminateSession",
    RetrieveProperties = "RetrieveProperties",
    RetrievePropertiesEx = "RetrievePropertiesEx",
    ContinueRetrievePropertiesEx = "ContinueRetrievePropertiesEx",
    CancelRetrievePropertiesEx = "CancelRetrievePropertiesEx",
    CreateFilter = "CreateFilter",
    DestroyPropertyFilter = "DestroyPropertyFilter",
    CreatePropertyCollector = "CreatePropertyCollector",
    DestroyPropertyCollector = "DestroyPropertyCollector",
    WaitForUpdates = "WaitForUpdates",
    WaitForUpdatesEx = "WaitForUpdatesEx",
    CheckForUpdates = "CheckForUpdates",
    CancelWaitForUpdates = "CancelWaitForUpdates",
    CreateContainerView = "CreateContainerView",
    CreateListView = "CreateListView",
    ModifyListView = "ModifyListView",
    ResetListView = "ResetListView",
    DestroyView = "DestroyView",
    CreateFolder = "CreateFolder",
    CreateVmTask = "CreateVM_Task",
    RenameTask = "Rename_Task",
    DestroyTask = "Destroy_Task",
    PowerOnMultiVmTask = "PowerOnMultiVM_Task",
    PowerOnVmTask = "PowerOnVM_Task",
    PowerOffVmTask = "PowerOffVM_Task",
    ResetVmTask = "ResetVM_Task",
    SuspendVmTask = "SuspendVM_Task",
    ShutdownGuest = "ShutdownGuest",
    RebootGuest = "RebootGuest",
    ReconfigVmTask = "ReconfigVM_Task",
    UnregisterVm = "UnregisterVM",
    CreateResourcePool = "CreateResourcePool",
    UpdateConfig = "UpdateConfig",
    DestroyChildren = "DestroyChildren",
    AddVirtualSwitch = "AddVirtualSwitch",
    RemoveVirtualSwitch = "RemoveVirtualSwitch",
    AddPortGroup = "AddPortGroup",
    RemovePortGroup = "RemovePortGroup",
    AddDvPortgroupTask = "AddDVPortgroup_Task",
    SearchDatastoreTask = "SearchDatastore_Task",
    SearchDatastoreSubFoldersTask = "SearchDatastoreSubFolders_Task",
    MakeDirectory = "MakeDirectory",
    DeleteDatastoreFileTask = "DeleteDatastoreFile_Task",
    FindByInventoryPath = "FindByInventoryPath",
    FindChild = "FindChild",
    FindByUuid = "FindByUuid",
    FindAllByUuid = "FindAllByUuid",
    FindByIp = "FindByIp",
    FindByDnsName = "FindByDnsName",
    QueryEvents = "QueryEvents",
    CreateCollectorForEvents = "CreateCollectorForEvents",
    ReadNextEvents = "ReadNextEvents",
    ReadPreviousEvents = "ReadPreviousEvents",
    RewindCollector = "RewindCollector",
    ResetCollector = "ResetCollector",
    SetCollectorPageSize = "SetCollectorPageSize",
    DestroyCollector = "DestroyCollector",
    QueryPerfCounter = "QueryPerfCounter",
    QueryPerfCounterByLevel = "QueryPerfCounterByLevel",
    QueryAvailablePerfMetric = "QueryAvailablePerfMetric",
    QueryPerfProviderSummary = "QueryPerfProviderSummary",
    QueryPerf = "QueryPerf",
    QueryOptions = "QueryOptions",
    UpdateOptions = "UpdateOptions",
    DisableMethods = "DisableMethods",
    EnableMethods = "EnableMethods",
    HasPrivilegeOnEntities = "HasPrivilegeOnEntities",
    StartProgramInGuest = "StartProgramInGuest",
    ListProcessesInGuest = "ListProcessesInGuest",
    TerminateProcessInGuest = "TerminateProcessInGuest",
    RegisterVmTask = "RegisterVM_Task",
    QueryConfigOption = "QueryConfigOption",
    QueryConfigOptionEx = "QueryConfigOptionEx",
    QueryConfigOptionDescriptor = "QueryConfigOptionDescriptor",
    QueryConfigTarget = "QueryConfigTarget",
    MarkAsTemplate = "MarkAsTemplate",
    MarkAsVirtualMachine = "MarkAsVirtualMachine",
    CreateDatacenter = "CreateDatacenter",
    CreateClusterEx = "CreateClusterEx",
    AddStandaloneHostTask = "AddStandaloneHost_Task",
    AddHostTask = "AddHost_Task",
    MoveIntoFolderTask = "MoveIntoFolder_Task",
    EnterMaintenanceModeTask = "EnterMaintenanceMode_Task",
    ExitMaintenanceModeTask = "ExitMaintenanceMode_Task",
    DisconnectHostTask = "DisconnectHost_Task",
    ReconnectHostTask = "ReconnectHost_Task",
    ShutdownHostTask = "ShutdownHost_Task",
    RebootHostTask = "RebootHost_Task",
    ReconfigureComputeResourceTask = "ReconfigureComputeResource_Task",
    ReconfigureClusterTask = "ReconfigureCluster_Task",
    CreateCollectorForTasks = "CreateCollectorForTasks",
    ReadNextTasks = "ReadNextTasks",
    ReadPreviousTasks = "ReadPreviousTasks",
    CopyDatastoreFileTask = "CopyDatastoreFile_Task",
    MoveDatastoreFileTask = "MoveDatastoreFile_Task",
    CreateVirtualDiskTask = "CreateVirtualDisk_Task",
    DeleteVirtualDiskTask = "DeleteVirtualDisk_Task",
    QueryVirtualDiskUuid = "QueryVirtualDiskUuid",
    QueryNetworkHint = "QueryNetworkHint",
    UpdateNetworkConfig = "UpdateNetworkConfig",
    ReconfigureDvsTask = "ReconfigureDvs_Task",
    FetchDvPorts = "FetchDVPorts",
    ReconfigureDvPortgroupTask = "ReconfigureDVPortgroup_Task",
    CreateDvsTask = "CreateDVS_Task",
    RetrieveAllPermissions = "RetrieveAllPermissions",
    RetrieveEntityPermissions = "RetrieveEntityPermissions",
    RetrieveRolePermissions = "RetrieveRolePermissions",
    SetEntityPermissions = "SetEntityPermissions",
    RemoveEntityPermission = "RemoveEntityPermission",
    AddAuthorizationRole = "AddAuthorizationRole",
    RemoveAuthorizationRole = "RemoveAuthorizationRole",
    RetrieveUserGroups = "RetrieveUserGroups",
    AddCustomFieldDef = "AddCustomFieldDef",
    RemoveCustomFieldDef = "RemoveCustomFieldDef",
    RenameCustomFieldDef = "RenameCustomFieldDef",
    SetField = "SetField",
    SetCustomValue = "setCustomValue",
    AcquireCloneTicket = "AcquireCloneTicket",
    CloneSession = "CloneSession",
    PlaceVm = "PlaceVm",
    CreateSnapshotTask = "CreateSnapshot_Task",
    RevertToSnapshotTask = "RevertToSnapshot_Task",
    RevertToCurrentSnapshotTask = "RevertToCurrentSnapshot_Task",
    RemoveSnapshotTask = "RemoveSnapshot_Task",
    RemoveAllSnapshotsTask = "RemoveAllSnapshots_Task",
    RenameSnapshot = "RenameSnapshot",
    CloneVmTask = "CloneVM_Task",
    RelocateVmTask = "RelocateVM_Task",
    MigrateVmTask = "MigrateVM_Task",
    UpdateAuthorizationRole = "UpdateAuthorizationRole",
    AddLicense = "AddLicense",
    RemoveLicense = "RemoveLicense",
    UpdateLicense = "UpdateLicense",
    UpdateLicenseLabel = "UpdateLicenseLabel",
    DecodeLicense = "DecodeLicense",
    QueryAssignedLicenses = "QueryAssignedLicenses",
    UpdateAssignedLicense = "UpdateAssignedLicense",
    RemoveAssignedLicense = "RemoveAssignedLicense",
    CopyVirtualDiskTask = "CopyVirtualDisk_Task",
    CreateStoragePod = "CreateStoragePod",
    LoginByToken = "LoginByToken",
    CreateCustomizationSpec = "CreateCustomizationSpec",
    DoesCustomizationSpecExist = "DoesCustomizationSpecExist",
    GetCustomizationSpec = "GetCustomizationSpec",
    OverwriteCustomizationSpec = "OverwriteCustomizationSpec",
    DeleteCustomizationSpec = "DeleteCustomizationSpec",
    DuplicateCustomizationSpec = "DuplicateCustomizationSpec",
    RenameCustomizationSpec = "RenameCustomizationSpec",
    CustomizeVmTask = "CustomizeVM_Task",
    CreateIpPool = "CreateIpPool",
    QueryIpPools = "QueryIpPools",
    UpdateIpPool = "UpdateIpPool",
    DestroyIpPool = "DestroyIpPool",
    AllocateIpv4Address = "AllocateIpv4Address",
    AllocateIpv6Address = "AllocateIpv6Address",
    QueryIpAllocations = "QueryIPAllocations",
    ReleaseIpAllocation = "ReleaseIpAllocation",
    PostEvent = "PostEvent",
    UpgradeVmTask = "UpgradeVM_Task",
    SetVirtualDiskUuid = "SetVirtualDiskUuid",
    MoveVirtualDiskTask = "MoveVirtualDisk_Task",
}

/// Every method name the server serves: the [`Method`] enum and the families dispatched
/// outside it (first-class disks, vApps and OVF, host storage).
pub fn served_method_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Method::ALL
        .iter()
        .map(|m| m.wsdl())
        .chain(vslm::method_names())
        .chain(vapp::method_names())
        .chain(host_storage::method_names())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The managed object type (or base type) each method is defined on, as in the WSDL.
fn receiver(m: Method) -> &'static str {
    use Method as M;
    match m {
        M::RetrieveServiceContent | M::CurrentTime => "ServiceInstance",
        M::Fetch => "ManagedObject",
        M::Login
        | M::Logout
        | M::SessionIsActive
        | M::TerminateSession
        | M::AcquireCloneTicket
        | M::CloneSession
        | M::LoginByToken => "SessionManager",
        M::PlaceVm => "ClusterComputeResource",
        M::RetrieveProperties
        | M::RetrievePropertiesEx
        | M::ContinueRetrievePropertiesEx
        | M::CancelRetrievePropertiesEx
        | M::CreateFilter
        | M::CreatePropertyCollector
        | M::DestroyPropertyCollector
        | M::WaitForUpdates
        | M::WaitForUpdatesEx
        | M::CheckForUpdates
        | M::CancelWaitForUpdates => "PropertyCollector",
        M::DestroyPropertyFilter => "PropertyFilter",
        M::CreateContainerView | M::CreateListView => "ViewManager",
        M::ModifyListView | M::ResetListView => "ListView",
        M::DestroyView => "View",
        M::CreateFolder
        | M::CreateVmTask
        | M::RegisterVmTask
        | M::CreateDatacenter
        | M::CreateClusterEx
        | M::AddStandaloneHostTask
        | M::MoveIntoFolderTask
        | M::CreateDvsTask
        | M::CreateStoragePod => "Folder",
        M::QueryConfigOption
        | M::QueryConfigOptionEx
        | M::QueryConfigOptionDescriptor
        | M::QueryConfigTarget => "EnvironmentBrowser",
        M::AddHostTask => "ClusterComputeResource",
        M::EnterMaintenanceModeTask | M::ExitMaintenanceModeTask => "HostSystem",
        M::DisconnectHostTask | M::ReconnectHostTask | M::ShutdownHostTask | M::RebootHostTask => {
            "HostSystem"
        }
        M::ReconfigureComputeResourceTask => "ComputeResource",
        M::ReconfigureClusterTask => "ClusterComputeResource",
        M::CreateCollectorForTasks => "TaskManager",
        M::ReadNextTasks | M::ReadPreviousTasks => "TaskHistoryCollector",
        M::CopyDatastoreFileTask | M::MoveDatastoreFileTask => "FileManager",
        M::CreateVirtualDiskTask
        | M::DeleteVirtualDiskTask
        | M::QueryVirtualDiskUuid
        | M::CopyVirtualDiskTask
        | M::SetVirtualDiskUuid
        | M::MoveVirtualDiskTask => "VirtualDiskManager",
        M::CreateCustomizationSpec
        | M::DoesCustomizationSpecExist
        | M::GetCustomizationSpec
        | M::OverwriteCustomizationSpec
        | M::DeleteCustomizationSpec
        | M::DuplicateCustomizationSpec
        | M::RenameCustomizationSpec => "CustomizationSpecManager",
        M::CreateIpPool
        | M::QueryIpPools
        | M::UpdateIpPool
        | M::DestroyIpPool
        | M::AllocateIpv4Address
        | M::AllocateIpv6Address
        | M::QueryIpAllocations
        | M::ReleaseIpAllocation => "IpPoolManager",
        M::PostEvent => "EventManager",
        M::QueryNetworkHint | M::UpdateNetworkConfig => "HostNetworkSystem",
        M::ReconfigureDvsTask | M::FetchDvPorts => "DistributedVirtualSwitch",
        M::ReconfigureDvPortgroupTask => "DistributedVirtualPortgroup",
        M::RetrieveAllPermissions
        | M::RetrieveEntityPermissions
        | M::RetrieveRolePermissions
        | M::SetEntityPermissions
        | M::RemoveEntityPermission
        | M::AddAuthorizationRole
        | M::RemoveAuthorizationRole
        | M::UpdateAuthorizationRole => "AuthorizationManager",
        M::RetrieveUserGroups => "UserDirectory",
        M::AddLicense
        | M::RemoveLicense
        | M::UpdateLicense
        | M::UpdateLicenseLabel
        | M::DecodeLicense => "LicenseManager",
        M::QueryAssignedLicenses | M::UpdateAssignedLicense | M::RemoveAssignedLicense => {
            "LicenseAssignmentManager"
        }
        M::AddCustomFieldDef | M::RemoveCustomFieldDef | M::RenameCustomFieldDef | M::SetField => {
            "CustomFieldsManager"
        }
        M::SetCustomValue => "ExtensibleManagedObject",
        M::RenameTask | M::DestroyTask => "ManagedEntity",
        M::PowerOnMultiVmTask => "Datacenter",
        M::PowerOnVmTask
        | M::PowerOffVmTask
        | M::ResetVmTask
        | M::SuspendVmTask
        | M::ShutdownGuest
        | M::RebootGuest
        | M::ReconfigVmTask
        | M::UnregisterVm
        | M::MarkAsTemplate
        | M::MarkAsVirtualMachine
        | M::CreateSnapshotTask
        | M::RevertToCurrentSnapshotTask
        | M::RemoveAllSnapshotsTask
        | M::CloneVmTask
        | M::RelocateVmTask
        | M::MigrateVmTask
        | M::CustomizeVmTask
        | M::UpgradeVmTask => "VirtualMachine",
        M::RevertToSnapshotTask | M::RemoveSnapshotTask | M::RenameSnapshot => {
            "VirtualMachineSnapshot"
        }
        M::CreateResourcePool | M::UpdateConfig | M::DestroyChildren => "ResourcePool",
        M::AddVirtualSwitch | M::RemoveVirtualSwitch | M::AddPortGroup | M::RemovePortGroup => {
            "HostNetworkSystem"
        }
        M::AddDvPortgroupTask => "DistributedVirtualSwitch",
        M::SearchDatastoreTask | M::SearchDatastoreSubFoldersTask => "HostDatastoreBrowser",
        M::MakeDirectory | M::DeleteDatastoreFileTask => "FileManager",
        M::FindByInventoryPath
        | M::FindChild
        | M::FindByUuid
        | M::FindAllByUuid
        | M::FindByIp
        | M::FindByDnsName => "SearchIndex",
        M::QueryEvents | M::CreateCollectorForEvents => "EventManager",
        M::ReadNextEvents | M::ReadPreviousEvents => "EventHistoryCollector",
        M::RewindCollector | M::ResetCollector | M::SetCollectorPageSize | M::DestroyCollector => {
            "HistoryCollector"
        }
        M::QueryPerfCounter
        | M::QueryPerfCounterByLevel
        | M::QueryAvailablePerfMetric
        | M::QueryPerfProviderSummary
        | M::QueryPerf => "PerformanceManager",
        M::QueryOptions | M::UpdateOptions => "OptionManager",
        M::DisableMethods | M::EnableMethods | M::HasPrivilegeOnEntities => "AuthorizationManager",
        M::StartProgramInGuest | M::ListProcessesInGuest | M::TerminateProcessInGuest => {
            "GuestProcessManager"
        }
    }
}

/// Whether `ty` has method `m` (its type or a base type defines it).
pub(super) fn receives(m: Method, ty: &str) -> bool {
    match receiver(m) {
        "ManagedObject" => true,
        "View" => matches!(ty, "ContainerView" | "ListView" | "InventoryView"),
        // ManagedEntity and the host managers derive from ExtensibleManagedObject.
        "ExtensibleManagedObject" => crate::vmodl::is_a(ty, "ManagedEntity"),
        base => crate::vmodl::is_a(ty, base),
    }
}

/// Methods callable without a session (as vCenter: the service content, the login itself,
/// and pyvmomi's `Fetch` of `ServiceInstance.content`, which it does before logging in).
pub(super) fn allowed_without_session(m: Method, call: &Call) -> bool {
    match m {
        Method::RetrieveServiceContent
        | Method::Login
        | Method::CurrentTime
        | Method::CloneSession
        | Method::LoginByToken => true,
        Method::Fetch => call.this.ty == "ServiceInstance",
        _ => false,
    }
}
