//! Inputs describing hosts, resource pools and VMs, with validation.

use crate::alloc::Allocation;
use crate::error::ModelError;

/// vSphere's maximum vCPUs per VM (vSphere 8 configuration maximums); also bounds the u16 instance.
pub const MAX_VCPUS: u32 = 768;

/// A host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    /// Display name.
    pub name: String,
    /// Physical cores.
    pub cores: u32,
    /// Nominal core frequency (no turbo).
    pub mhz_per_core: u32,
    /// Whether each core exposes two hardware threads.
    pub hyperthreading: bool,
    /// Installed memory.
    pub memory_mb: u64,
}

/// A resource pool below a root pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSpec {
    /// Display name.
    pub name: String,
    /// CPU allocation (MHz).
    pub cpu: Allocation,
    /// Memory allocation (MB).
    pub memory: Allocation,
}

/// A virtual machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmSpec {
    /// Display name.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Configured guest memory.
    pub memory_mb: u64,
    /// CPU allocation (MHz).
    pub cpu: Allocation,
    /// Memory allocation (MB).
    pub memory: Allocation,
}

fn invalid(text: String) -> ModelError {
    ModelError::InvalidSpec(text)
}

impl HostSpec {
    pub(crate) fn validate(&self) -> Result<(), ModelError> {
        if self.cores == 0 || self.mhz_per_core == 0 || self.memory_mb == 0 {
            return Err(invalid(format!(
                "host {:?}: cores, mhz_per_core and memory_mb must be positive",
                self.name
            )));
        }
        Ok(())
    }
}

impl PoolSpec {
    pub(crate) fn validate(&self) -> Result<(), ModelError> {
        self.cpu
            .check(&format!("pool {:?} cpu", self.name))
            .map_err(invalid)?;
        self.memory
            .check(&format!("pool {:?} memory", self.name))
            .map_err(invalid)
    }
}

impl VmSpec {
    pub(crate) fn validate(&self) -> Result<(), ModelError> {
        if self.vcpus == 0 || self.vcpus > MAX_VCPUS {
            return Err(invalid(format!(
                "vm {:?}: vcpus must be in 1..={MAX_VCPUS}, got {}",
                self.name, self.vcpus
            )));
        }
        if self.memory_mb == 0 {
            return Err(invalid(format!(
                "vm {:?}: memory_mb must be positive",
                self.name
            )));
        }
        if self.memory.reservation > self.memory_mb {
            return Err(invalid(format!(
                "vm {:?}: memory reservation {} MB exceeds configured memory {} MB",
                self.name, self.memory.reservation, self.memory_mb
            )));
        }
        self.cpu
            .check(&format!("vm {:?} cpu", self.name))
            .map_err(invalid)?;
        self.memory
            .check(&format!("vm {:?} memory", self.name))
            .map_err(invalid)
    }
}
