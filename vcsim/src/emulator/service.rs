//! The service's singletons: ServiceInstance and its managers, with the MoRef values vCenter
//! (`propertyCollector`, `PerfMgr`, …) or ESXi (`ha-property-collector`, `ha-perfmgr`, …) use.

use crate::config::{Config, Flavor};
use crate::inventory::{Inventory, ManagedObject, folder};
use crate::perf::catalogue;
use crate::vmodl::{DataObject, MoRef, Value};

/// References to the singletons, as ServiceContent lists them.
#[derive(Clone, Debug)]
pub struct ServiceRefs {
    /// `ServiceInstance`
    pub service_instance: MoRef,
    /// The root folder.
    pub root_folder: MoRef,
    /// The default property collector.
    pub property_collector: MoRef,
    /// ViewManager.
    pub view_manager: MoRef,
    /// OptionManager (`setting`).
    pub setting: MoRef,
    /// SessionManager.
    pub session_manager: MoRef,
    /// AuthorizationManager.
    pub authorization_manager: MoRef,
    /// PerformanceManager.
    pub perf_manager: MoRef,
    /// EventManager.
    pub event_manager: MoRef,
    /// TaskManager.
    pub task_manager: MoRef,
    /// SearchIndex.
    pub search_index: MoRef,
    /// FileManager.
    pub file_manager: MoRef,
    /// CustomFieldsManager.
    pub custom_fields_manager: MoRef,
    /// GuestOperationsManager.
    pub guest_operations_manager: MoRef,
    /// GuestProcessManager.
    pub guest_process_manager: MoRef,
    /// GuestFileManager.
    pub guest_file_manager: MoRef,
    /// GuestAuthManager.
    pub guest_auth_manager: MoRef,
    /// UserDirectory.
    pub user_directory: MoRef,
    /// LicenseManager.
    pub license_manager: MoRef,
    /// VirtualDiskManager.
    pub virtual_disk_manager: MoRef,
    /// The first-class disk manager: `VcenterVStorageObjectManager` on vCenter,
    /// `HostVStorageObjectManager` on ESXi.
    pub vstorage_object_manager: MoRef,
    /// CustomizationSpecManager (vCenter only, as vCenter's and vcsim's service contents).
    pub customization_spec_manager: Option<MoRef>,
    /// IpPoolManager (vCenter only).
    pub ip_pool_manager: Option<MoRef>,
    /// OvfManager (OVF descriptors and import specs; methods in `methods::vapp`).
    pub ovf_manager: MoRef,
    /// StorageResourceManager (Storage DRS; vCenter only, methods in `methods::host_storage`).
    pub storage_resource_manager: Option<MoRef>,
}

fn names(flavor: Flavor) -> [&'static str; 20] {
    match flavor {
        Flavor::VirtualCenter => [
            "ServiceInstance",
            "group-d1",
            "propertyCollector",
            "ViewManager",
            "VpxSettings",
            "SessionManager",
            "AuthorizationManager",
            "PerfMgr",
            "EventManager",
            "TaskManager",
            "SearchIndex",
            "FileManager",
            "CustomFieldsManager",
            "guestOperationsManager",
            "guestOperationsProcessManager",
            "guestOperationsFileManager",
            "guestOperationsAuthManager",
            "UserDirectory",
            "LicenseManager",
            "VirtualDiskManager",
        ],
        Flavor::HostAgent => [
            "ServiceInstance",
            "ha-folder-root",
            "ha-property-collector",
            "ViewManager",
            "HostAgentSettings",
            "ha-sessionmgr",
            "ha-authmgr",
            "ha-perfmgr",
            "ha-eventmgr",
            "ha-taskmgr",
            "ha-searchindex",
            "ha-nfc-file-manager",
            "ha-customfieldsmgr",
            "ha-guest-operations-manager",
            "ha-guest-operations-process-manager",
            "ha-guest-operations-file-manager",
            "ha-guest-operations-auth-manager",
            "ha-user-directory",
            "ha-license-manager",
            "ha-vdiskmanager",
        ],
    }
}

/// The `about` block.
pub fn about(config: &Config, instance_uuid: &str) -> Value {
    let v = &config.product_version;
    let (name, full, os, line, api_type, lic_name, build) = match config.flavor {
        Flavor::VirtualCenter => (
            "VMware vCenter Server",
            format!("VMware vCenter Server {v} build-24022515"),
            "linux-x64",
            "vpx",
            "VirtualCenter",
            "VMware VirtualCenter Server",
            "24022515",
        ),
        Flavor::HostAgent => (
            "VMware ESXi",
            format!("VMware ESXi {v} build-24022510"),
            "vmnix-x86",
            "embeddedEsx",
            "HostAgent",
            "VMware ESX Server",
            "24022510",
        ),
    };
    let major_minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
    DataObject::new("AboutInfo")
        .with("name", Value::str(name))
        .with("fullName", Value::str(full))
        .with("vendor", Value::str("VMware, Inc."))
        .with("version", Value::str(v.clone()))
        .with("build", Value::str(build))
        .with("localeVersion", Value::str("INTL"))
        .with("localeBuild", Value::str("000"))
        .with("osType", Value::str(os))
        .with("productLineId", Value::str(line))
        .with("apiType", Value::str(api_type))
        .with("apiVersion", Value::str(config.api_version.clone()))
        .with("instanceUuid", Value::str(instance_uuid))
        .with("licenseProductName", Value::str(lic_name))
        .with("licenseProductVersion", Value::str(major_minor))
        .into_value()
}

/// Creates ServiceInstance, the root folder and the managers.
pub fn create_singletons(inv: &mut Inventory, config: &Config, now_ms: i64) -> ServiceRefs {
    let n = names(config.flavor);
    let r = |i: usize, ty: &'static str| MoRef::new(ty, n[i]);
    let refs = ServiceRefs {
        service_instance: r(0, "ServiceInstance"),
        root_folder: r(1, "Folder"),
        property_collector: r(2, "PropertyCollector"),
        view_manager: r(3, "ViewManager"),
        setting: r(4, "OptionManager"),
        session_manager: r(5, "SessionManager"),
        authorization_manager: r(6, "AuthorizationManager"),
        perf_manager: r(7, "PerformanceManager"),
        event_manager: r(8, "EventManager"),
        task_manager: r(9, "TaskManager"),
        search_index: r(10, "SearchIndex"),
        file_manager: r(11, "FileManager"),
        custom_fields_manager: r(12, "CustomFieldsManager"),
        guest_operations_manager: r(13, "GuestOperationsManager"),
        guest_process_manager: r(14, "GuestProcessManager"),
        guest_file_manager: r(15, "GuestFileManager"),
        guest_auth_manager: r(16, "GuestAuthManager"),
        user_directory: r(17, "UserDirectory"),
        license_manager: r(18, "LicenseManager"),
        virtual_disk_manager: r(19, "VirtualDiskManager"),
        customization_spec_manager: (config.flavor == Flavor::VirtualCenter)
            .then(|| MoRef::new("CustomizationSpecManager", "CustomizationSpecManager")),
        ip_pool_manager: (config.flavor == Flavor::VirtualCenter)
            .then(|| MoRef::new("IpPoolManager", "IpPoolManager")),
        vstorage_object_manager: match config.flavor {
            Flavor::VirtualCenter => {
                MoRef::new("VcenterVStorageObjectManager", "VStorageObjectManager")
            }
            Flavor::HostAgent => {
                MoRef::new("HostVStorageObjectManager", "ha-vstorage-object-manager")
            }
        },
        storage_resource_manager: (config.flavor == Flavor::VirtualCenter)
            .then(|| MoRef::new("StorageResourceManager", "StorageResourceManager")),
        ovf_manager: match config.flavor {
            Flavor::VirtualCenter => MoRef::new("OvfManager", "OvfManager"),
            Flavor::HostAgent => MoRef::new("OvfManager", "ha-ovf-manager"),
        },
    };
    // Ids of the root folder and the managers are fixed names; counted ids start after them.
    inv.alloc("");
    let instance_uuid = {
        let mut g = crate::ids::IdGen::new(config.seed ^ 0x5EED_0F5E_C0DE);
        g.uuid()
    };
    let content = service_content(&refs, about(config, &instance_uuid));
    inv.insert(
        ManagedObject::new(refs.service_instance.clone())
            .with("content", content)
            .with("serverClock", Value::DateTime(now_ms))
            .with(
                "capability",
                DataObject::new("Capability")
                    .with("provisioningSupported", Value::Bool(true))
                    .with(
                        "multiHostSupported",
                        Value::Bool(config.flavor == Flavor::VirtualCenter),
                    )
                    .with("userShellAccessSupported", Value::Bool(false))
                    .into_value(),
            ),
    );
    inv.insert(folder(
        refs.root_folder.clone(),
        "Datacenters",
        None,
        &["Folder", "Datacenter"],
    ));
    let plain = |m: &MoRef| ManagedObject::new(m.clone());
    inv.insert(plain(&refs.property_collector).with("filter", Value::morefs([])));
    inv.insert(plain(&refs.view_manager).with("viewList", Value::morefs([])));
    inv.insert(plain(&refs.setting).with(
        "setting",
        Value::array("OptionValue", default_settings(config)),
    ));
    inv.insert(
        plain(&refs.session_manager)
            .with("sessionList", Value::array("UserSession", vec![]))
            .with("defaultLocale", Value::str("en"))
            .with("supportedLocaleList", Value::strings(["en"]))
            .with("messageLocaleList", Value::strings(["en"])),
    );
    inv.insert(
        plain(&refs.authorization_manager)
            .with("roleList", Value::array("AuthorizationRole", vec![]))
            .with(
                "privilegeList",
                Value::array("AuthorizationPrivilege", vec![]),
            )
            .with(
                "description",
                DataObject::new("AuthorizationDescription")
                    .with("privilege", Value::array("ElementDescription", vec![]))
                    .with("privilegeGroup", Value::array("ElementDescription", vec![]))
                    .into_value(),
            ),
    );
    inv.insert(
        plain(&refs.perf_manager)
            .with(
                "perfCounter",
                Value::array("PerfCounterInfo", catalogue::counter_infos()),
            )
            .with(
                "historicalInterval",
                Value::array("PerfInterval", catalogue::historical_intervals()),
            )
            .with("description", catalogue::description()),
    );
    inv.insert(
        plain(&refs.event_manager)
            .with("maxCollector", Value::Int(32))
            .with(
                "description",
                DataObject::new("EventDescription")
                    .with("category", Value::array("ElementDescription", vec![]))
                    .with(
                        "eventInfo",
                        Value::array("EventDescriptionEventDetail", vec![]),
                    )
                    .into_value(),
            ),
    );
    inv.insert(
        plain(&refs.task_manager)
            .with("maxCollector", Value::Int(32))
            .with("recentTask", Value::morefs([]))
            .with(
                "description",
                DataObject::new("TaskDescription")
                    .with("methodInfo", Value::array("ElementDescription", vec![]))
                    .with("state", Value::array("ElementDescription", vec![]))
                    .with("reason", Value::array("TypeDescription", vec![]))
                    .into_value(),
            ),
    );
    for m in [
        &refs.search_index,
        &refs.file_manager,
        &refs.user_directory,
        &refs.guest_process_manager,
        &refs.guest_file_manager,
        &refs.guest_auth_manager,
        &refs.virtual_disk_manager,
        &refs.vstorage_object_manager,
        &refs.ovf_manager,
    ] {
        inv.insert(plain(m));
    }
    if let Some(m) = &refs.customization_spec_manager {
        inv.insert(plain(m).with("info", Value::array("CustomizationSpecInfo", vec![])));
    }
    if let Some(m) = &refs.ip_pool_manager {
        inv.insert(plain(m));
    }
    if let Some(m) = &refs.storage_resource_manager {
        inv.insert(plain(m));
    }
    inv.insert(
        plain(&refs.custom_fields_manager).with("field", Value::array("CustomFieldDef", vec![])),
    );
    inv.insert(
        plain(&refs.guest_operations_manager)
            .with("processManager", Value::moref(&refs.guest_process_manager))
            .with("fileManager", Value::moref(&refs.guest_file_manager))
            .with("authManager", Value::moref(&refs.guest_auth_manager)),
    );
    inv.insert(
        plain(&refs.license_manager)
            .with(
                "source",
                DataObject::new("EvaluationLicenseSource").into_value(),
            )
            .with("sourceAvailable", Value::Bool(true))
            .with(
                "licenses",
                Value::array("LicenseManagerLicenseInfo", vec![]),
            ),
    );
    crate::methods::seed_license_manager(inv, &refs.license_manager, config.flavor);
    refs
}

fn default_settings(config: &Config) -> Vec<Value> {
    use crate::inventory::option_value;
    let mut v = vec![
        option_value(
            "config.vpxd.sso.default.admin",
            Value::str(config.username.clone()),
        ),
        option_value("event.maxAge", Value::Int(30)),
        option_value("task.maxAge", Value::Int(30)),
    ];
    if config.flavor == Flavor::VirtualCenter {
        v.push(option_value(
            "VirtualCenter.InstanceName",
            Value::str("vicbed"),
        ));
    }
    v
}

fn service_content(r: &ServiceRefs, about: Value) -> Value {
    DataObject::new("ServiceContent")
        .with("rootFolder", Value::moref(&r.root_folder))
        .with("propertyCollector", Value::moref(&r.property_collector))
        .with("viewManager", Value::moref(&r.view_manager))
        .with("about", about)
        .with("setting", Value::moref(&r.setting))
        .with("userDirectory", Value::moref(&r.user_directory))
        .with("sessionManager", Value::moref(&r.session_manager))
        .with(
            "authorizationManager",
            Value::moref(&r.authorization_manager),
        )
        .with("perfManager", Value::moref(&r.perf_manager))
        .with("eventManager", Value::moref(&r.event_manager))
        .with("taskManager", Value::moref(&r.task_manager))
        .with_opt(
            "customizationSpecManager",
            r.customization_spec_manager.as_ref().map(Value::moref),
        )
        .with(
            "customFieldsManager",
            Value::moref(&r.custom_fields_manager),
        )
        .with("licenseManager", Value::moref(&r.license_manager))
        .with("searchIndex", Value::moref(&r.search_index))
        .with("fileManager", Value::moref(&r.file_manager))
        .with("virtualDiskManager", Value::moref(&r.virtual_disk_manager))
        .with_opt(
            "ipPoolManager",
            r.ip_pool_manager.as_ref().map(Value::moref),
        )
        .with("ovfManager", Value::moref(&r.ovf_manager))
        .with_opt(
            "storageResourceManager",
            r.storage_resource_manager.as_ref().map(Value::moref),
        )
        .with(
            "guestOperationsManager",
            Value::moref(&r.guest_operations_manager),
        )
        .with(
            "vStorageObjectManager",
            Value::moref(&r.vstorage_object_manager),
        )
        .into_value()
}
