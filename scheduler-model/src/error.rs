//! Errors. Invalid input never panics; it returns one of these.

use crate::ids::{Entity, HostId, PoolId, VmId};

/// Which resource an admission decision was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// CPU (MHz).
    Cpu,
    /// Memory (MB).
    Memory,
}

/// Why admission control refused a reservation; maps onto vSphere faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdmissionKind {
    /// Not enough unreserved capacity (vSphere `InsufficientResourcesFault`,
    /// `InsufficientCpuResourcesFault` / `InsufficientMemoryResourcesFault`).
    InsufficientResources,
    /// The VM has more vCPUs than the host has logical CPUs (vSphere `NotEnoughCpus`).
    NotEnoughCpus,
    /// A reservation would exceed a pool's limit, or a pool's new settings cannot hold what its
    /// children already reserved (vSphere `InvalidArgument` / `InsufficientResourcesFault`).
    LimitExceeded,
}

/// An admission-control refusal, with enough detail to build vSphere's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct AdmissionError {
    /// The refusal category.
    pub kind: AdmissionKind,
    /// The resource that did not fit.
    pub resource: Resource,
    /// Where it did not fit (a pool, or the host).
    pub at: Entity,
    /// Amount requested (MHz, MB, or vCPUs for `NotEnoughCpus`).
    pub requested: u64,
    /// Amount available there (same unit).
    pub available: u64,
    /// Human-readable text in vSphere's style.
    pub reason: String,
}

/// Every error the model returns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// No such host.
    #[error("unknown host {0:?}")]
    UnknownHost(HostId),
    /// No such pool (never existed or removed).
    #[error("unknown resource pool {0:?}")]
    UnknownPool(PoolId),
    /// No such VM (never existed or removed).
    #[error("unknown virtual machine {0:?}")]
    UnknownVm(VmId),
    /// A spec failed validation.
    #[error("invalid specification: {0}")]
    InvalidSpec(String),
    /// The host already belongs to another root pool.
    #[error("host {0:?} already belongs to a root resource pool")]
    HostInUse(HostId),
    /// The VM's host is not one of the hosts of the pool's root.
    #[error("host {host:?} is not part of the cluster of resource pool {pool:?}")]
    HostNotInCluster {
        /// The host.
        host: HostId,
        /// The pool.
        pool: PoolId,
    },
    /// The operation is not valid for a root pool.
    #[error("operation not allowed on root resource pool {0:?}")]
    RootPool(PoolId),
    /// A pool still has child pools or VMs.
    #[error("resource pool {0:?} is not empty")]
    PoolNotEmpty(PoolId),
    /// Operation not valid in the VM's current power state (vSphere `InvalidPowerState`).
    #[error("invalid power state for {vm:?}: {reason}")]
    InvalidPowerState {
        /// The VM.
        vm: VmId,
        /// What was wrong.
        reason: &'static str,
    },
    /// Admission control refused a reservation.
    #[error(transparent)]
    Admission(#[from] AdmissionError),
}
