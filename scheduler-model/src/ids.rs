//! Typed handles for hosts, resource pools and VMs, and the `Entity` that names any of them.
//! Handles are dense indices handed out by `World`; they are never reused after removal.

/// A host (an ESXi server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub u32);

/// A resource pool (including the root pool of a cluster or standalone host).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolId(pub u32);

/// A virtual machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VmId(pub u32);

/// Anything that carries performance samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    /// A host.
    Host(HostId),
    /// A resource pool.
    Pool(PoolId),
    /// A virtual machine.
    Vm(VmId),
}

impl HostId {
    pub(crate) fn idx(self) -> usize {
        self.0 as usize
    }
}

impl PoolId {
    pub(crate) fn idx(self) -> usize {
        self.0 as usize
    }
}

impl VmId {
    pub(crate) fn idx(self) -> usize {
        self.0 as usize
    }
}
