//! Facts about the vim25 managed-object type hierarchy, used where the API matches on a base
//! type (`PropertySpec.type = ManagedEntity`, `CreateContainerView(type=[ComputeResource])`).

/// The direct base type of a managed object type, as the vim25 WSDL declares it.
pub fn managed_base(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "Folder"
        | "Datacenter"
        | "ComputeResource"
        | "HostSystem"
        | "ResourcePool"
        | "VirtualMachine"
        | "Datastore"
        | "Network"
        | "DistributedVirtualSwitch" => "ManagedEntity",
        "ClusterComputeResource" => "ComputeResource",
        "VirtualApp" => "ResourcePool",
        "StoragePod" => "Folder",
        "DistributedVirtualPortgroup" | "OpaqueNetwork" => "Network",
        "VmwareDistributedVirtualSwitch" => "DistributedVirtualSwitch",
        "ContainerView" | "ListView" | "InventoryView" => "ManagedObjectView",
        "ManagedObjectView" => "View",
        "EventHistoryCollector" | "TaskHistoryCollector" => "HistoryCollector",
        _ => return None,
    })
}

/// True when `ty` is `base` or derives from it.
pub fn is_a(ty: &str, base: &str) -> bool {
    let mut cur = Some(ty);
    // The hierarchy is at most four deep; the bound guards against a cycle in the table.
    for _ in 0..8 {
        match cur {
            Some(t) if t == base => return true,
            Some(t) => cur = managed_base(t),
            None => return false,
        }
    }
    false
}

/// Managed object types this emulator knows (used to reject unknown types in views).
pub const MANAGED_TYPES: &[&str] = &[
    "ManagedEntity",
    "Folder",
    "Datacenter",
    "ComputeResource",
    "ClusterComputeResource",
    "HostSystem",
    "ResourcePool",
    "VirtualApp",
    "VirtualMachine",
    "Datastore",
    "StoragePod",
    "Network",
    "DistributedVirtualPortgroup",
    "OpaqueNetwork",
    "DistributedVirtualSwitch",
    "VmwareDistributedVirtualSwitch",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_is_a_compute_resource_and_managed_entity() {
        assert!(is_a("ClusterComputeResource", "ComputeResource"));
        assert!(is_a("ClusterComputeResource", "ManagedEntity"));
        assert!(!is_a("HostSystem", "ComputeResource"));
        assert!(is_a("VirtualMachine", "VirtualMachine"));
    }
}
