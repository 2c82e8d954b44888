//! Read-side summaries for filling vSphere runtime properties (quick stats, pool and host usage).

/// The fields of vSphere's `VirtualMachineQuickStats` the model knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmQuickStats {
    /// `overallCpuUsage`.
    pub overall_cpu_usage_mhz: u64,
    /// `overallCpuDemand`.
    pub overall_cpu_demand_mhz: u64,
    /// `guestMemoryUsage` (active).
    pub guest_memory_usage_mb: u64,
    /// `hostMemoryUsage` (consumed + overhead).
    pub host_memory_usage_mb: u64,
    /// `balloonedMemory`.
    pub balloon_mb: u64,
    /// `swappedMemory`.
    pub swapped_mb: u64,
    /// `compressedMemory` (KB).
    pub compressed_kb: u64,
    /// `consumedOverheadMemory`.
    pub consumed_overhead_mb: u64,
    /// `grantedMemory`.
    pub granted_mb: u64,
    /// `privateMemory`.
    pub private_memory_mb: u64,
    /// `sharedMemory`.
    pub shared_memory_mb: u64,
    /// `staticCpuEntitlement`: min(limit, vCPUs × core MHz).
    pub static_cpu_entitlement_mhz: u64,
    /// `staticMemoryEntitlement`: min(limit, configured) + overhead.
    pub static_memory_entitlement_mb: u64,
    /// `distributedCpuEntitlement`.
    pub distributed_cpu_entitlement_mhz: u64,
    /// `distributedMemoryEntitlement`.
    pub distributed_memory_entitlement_mb: u64,
    /// `uptimeSeconds`.
    pub uptime_s: u64,
}

/// vSphere's `ResourcePoolResourceUsage` for one resource (MHz or MB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceUsage {
    /// `reservationUsed`: Σ children's reservations (pools count max(reservation, used)).
    pub reservation_used: u64,
    /// `reservationUsedForVm`: the part from powered-on child VMs.
    pub reservation_used_for_vm: u64,
    /// `unreservedForPool`.
    pub unreserved_for_pool: u64,
    /// `unreservedForVm`.
    pub unreserved_for_vm: u64,
    /// `overallUsage`.
    pub overall_usage: u64,
    /// `maxUsage`: the limit, or the root's capacity when unlimited.
    pub max_usage: u64,
}

/// A pool's usage (last step) and reservation state (now).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolUsage {
    /// Σ CPU usage of the VMs below.
    pub cpu_usage_mhz: u64,
    /// Σ CPU demand of the VMs below.
    pub cpu_demand_mhz: u64,
    /// The pool's CPU entitlement.
    pub cpu_entitlement_mhz: u64,
    /// Host memory used by the VMs below (consumed + overhead).
    pub memory_usage_mb: u64,
    /// Σ active guest memory below.
    pub guest_memory_active_mb: u64,
    /// CPU runtime info.
    pub cpu: ResourceUsage,
    /// Memory runtime info.
    pub memory: ResourceUsage,
}

/// A host's usage (last step) and capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostUsage {
    /// `overallCpuUsage`.
    pub cpu_usage_mhz: u64,
    /// Σ CPU demand of its VMs.
    pub cpu_demand_mhz: u64,
    /// Cores × MHz.
    pub cpu_capacity_mhz: u64,
    /// `overallMemoryUsage`: VMs' consumed + overhead + VMkernel.
    pub memory_usage_mb: u64,
    /// Installed memory.
    pub memory_mb: u64,
    /// `mem.state`: 0 high, 1 clear, 2 soft, 3 hard, 4 low.
    pub memory_state: u8,
    /// Σ CPU reservations of powered-on VMs.
    pub cpu_reserved_mhz: u64,
    /// Σ memory reservations of powered-on VMs.
    pub memory_reserved_mb: u64,
}
