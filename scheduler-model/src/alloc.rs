//! Resource allocation settings (shares, reservation, limit, expandable reservation) and
//! vSphere's default share values.

/// Relative priority among siblings. Levels resolve to vSphere's defaults (see [`Shares::cpu_vm`] etc.).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Shares {
    /// Half of normal.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Twice normal.
    High,
    /// An explicit share count for the whole VM or pool.
    Custom(u32),
}

impl Shares {
    /// CPU shares of a VM: 500 / 1000 / 2000 per vCPU for low / normal / high
    /// (vSphere Resource Management, "Resource Allocation Shares"; contention-model.md S26, S27).
    pub fn cpu_vm(self, vcpus: u32) -> u64 {
        let per = match self {
            Shares::Low => 500,
            Shares::Normal => 1000,
            Shares::High => 2000,
            Shares::Custom(n) => return u64::from(n),
        };
        per * u64::from(vcpus)
    }

    /// CPU shares of a resource pool: valued as a 4-vCPU VM, 2000 / 4000 / 8000 (S26, S27).
    pub fn cpu_pool(self) -> u64 {
        match self {
            Shares::Low => 2000,
            Shares::Normal => 4000,
            Shares::High => 8000,
            Shares::Custom(n) => u64::from(n),
        }
    }

    /// Memory shares of a VM: 5 / 10 / 20 per MB of configured memory (S26).
    pub fn mem_vm(self, memory_mb: u64) -> u64 {
        let per: u64 = match self {
            Shares::Low => 5,
            Shares::Normal => 10,
            Shares::High => 20,
            Shares::Custom(n) => return u64::from(n),
        };
        per.saturating_mul(memory_mb)
    }

    /// Memory shares of a resource pool: valued as a 16 GB VM, 81 920 / 163 840 / 327 680 (S26, S27).
    pub fn mem_pool(self) -> u64 {
        match self {
            Shares::Low => 81_920,
            Shares::Normal => 163_840,
            Shares::High => 327_680,
            Shares::Custom(n) => u64::from(n),
        }
    }
}

/// One resource's allocation: MHz for CPU, MB for memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Allocation {
    /// Relative priority among siblings.
    pub shares: Shares,
    /// Guaranteed minimum (MHz or MB); drives admission control.
    pub reservation: u64,
    /// Hard ceiling (MHz or MB); `None` = unlimited (vSphere's -1).
    pub limit: Option<u64>,
    /// Whether a pool may borrow unreserved capacity from its parent at admission time.
    /// Ignored for VMs.
    pub expandable_reservation: bool,
}

impl Default for Allocation {
    /// Same as [`Allocation::vm_default`].
    fn default() -> Self {
        Allocation::vm_default()
    }
}

impl Allocation {
    /// vSphere's VM default: normal shares, no reservation, unlimited.
    pub const fn vm_default() -> Allocation {
        Allocation {
            shares: Shares::Normal,
            reservation: 0,
            limit: None,
            expandable_reservation: false,
        }
    }

    /// vSphere's resource-pool default: normal shares, no reservation, unlimited, expandable.
    pub const fn pool_default() -> Allocation {
        Allocation {
            shares: Shares::Normal,
            reservation: 0,
            limit: None,
            expandable_reservation: true,
        }
    }

    /// A pool allocation with a limit (the VCH pattern: `vic-machine --cpu 500 --memory 500`).
    pub const fn pool_limited(limit: u64) -> Allocation {
        Allocation {
            limit: Some(limit),
            ..Allocation::pool_default()
        }
    }

    /// The limit as f64, `+inf` when unlimited.
    pub(crate) fn limit_f64(&self) -> f64 {
        self.limit.map_or(f64::INFINITY, |l| l as f64)
    }

    /// `Err(text)` if the reservation exceeds the limit (vSphere rejects that configuration).
    pub(crate) fn check(&self, what: &str) -> Result<(), String> {
        match self.limit {
            Some(l) if self.reservation > l => Err(format!(
                "{what}: reservation {} exceeds limit {l}",
                self.reservation
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_defaults_match_vsphere() {
        assert_eq!(Shares::Normal.cpu_vm(2), 2000);
        assert_eq!(Shares::High.cpu_vm(1), 2000);
        assert_eq!(Shares::Low.cpu_pool(), 2000);
        assert_eq!(Shares::Normal.mem_vm(4096), 40_960);
        assert_eq!(Shares::Normal.mem_pool(), 163_840);
        assert_eq!(Shares::Custom(7).cpu_vm(4), 7);
        assert!(Allocation::pool_default().expandable_reservation);
        assert!(!Allocation::default().expandable_reservation);
        assert!(
            Allocation {
                reservation: 10,
                limit: Some(5),
                ..Allocation::vm_default()
            }
            .check("cpu")
            .is_err()
        );
    }
}
