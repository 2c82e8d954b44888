//! Admission control for reservations: a reservation is admitted at a pool only if it fits the
//! pool's unreserved capacity, an expandable pool borrowing the rest from its ancestors
//! ([V] S60, S61: Reservation Used = Σ over children of max(child reservation, child reservation
//! used); Unreserved (fixed) = reservation − used; expandable adds what the parent can lend).
//! Reservations are also bounded by every pool's limit on the way up [A], and by the host.

use crate::error::{AdmissionError, AdmissionKind, Resource};
use crate::ids::{Entity, HostId, PoolId};
use crate::world::World;

/// One pool's bookkeeping for one resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ledger {
    /// The pool's own reservation.
    pub reservation: u64,
    /// The pool's limit (`None` = unlimited).
    pub limit: Option<u64>,
    /// Whether the pool may borrow from its parent.
    pub expandable: bool,
    /// Σ of the children's contributions (powered-on VMs' reservations, child pools' `charged`).
    pub used: u64,
}

impl Ledger {
    /// What this pool takes from its parent: max(reservation, used).
    pub fn charged(&self) -> u64 {
        self.reservation.max(self.used)
    }
}

fn unit(r: Resource) -> &'static str {
    match r {
        Resource::Cpu => "MHz",
        Resource::Memory => "MB",
    }
}

fn name(r: Resource) -> &'static str {
    match r {
        Resource::Cpu => "CPU",
        Resource::Memory => "memory",
    }
}

impl World {
    fn ledger(&self, pool: usize, r: Resource) -> Option<&Ledger> {
        self.pools[pool].as_ref().map(|p| match r {
            Resource::Cpu => &p.cpu_ledger,
            Resource::Memory => &p.mem_ledger,
        })
    }

    /// Unreserved capacity available to a new child reservation at `pool`.
    pub(crate) fn unreserved(&self, pool: PoolId, r: Resource) -> u64 {
        let mut avail_here = u64::MAX;
        let mut p = Some(pool.idx());
        let mut total = 0u64;
        while let Some(i) = p {
            let Some(l) = self.ledger(i, r) else { break };
            if let Some(lim) = l.limit {
                avail_here = avail_here.min(lim.saturating_sub(l.used));
            }
            total = total.saturating_add(l.reservation.saturating_sub(l.used));
            p = if l.expandable {
                self.pools[i]
                    .as_ref()
                    .and_then(|x| x.parent)
                    .map(|x| x.idx())
            } else {
                None
            };
        }
        total.min(avail_here)
    }

    /// Checks that `amount` more can be reserved below `pool` without changing anything.
    pub(crate) fn check_charge(
        &self,
        pool: PoolId,
        r: Resource,
        amount: u64,
        what: &str,
    ) -> Result<(), AdmissionError> {
        let mut p = pool.idx();
        let mut add = amount;
        loop {
            let Some(l) = self.ledger(p, r) else {
                return Ok(());
            };
            let new_used = l.used.saturating_add(add);
            if let Some(lim) = l.limit
                && new_used > lim
            {
                return Err(AdmissionError {
                    kind: AdmissionKind::LimitExceeded,
                    resource: r,
                    at: Entity::Pool(PoolId(p as u32)),
                    requested: amount,
                    available: self.unreserved(pool, r),
                    reason: format!(
                        "{what}: the {} reservation of {amount} {} would exceed the limit of {lim} {} of resource pool {:?}",
                        name(r),
                        unit(r),
                        unit(r),
                        self.pool_name(p)
                    ),
                });
            }
            let delta = l.reservation.max(new_used) - l.charged();
            if delta == 0 {
                return Ok(());
            }
            let parent = self.pools[p].as_ref().and_then(|x| x.parent);
            match parent {
                Some(q) if l.expandable => {
                    add = delta;
                    p = q.idx();
                }
                _ => {
                    let available = self.unreserved(pool, r);
                    return Err(AdmissionError {
                        kind: AdmissionKind::InsufficientResources,
                        resource: r,
                        at: Entity::Pool(PoolId(p as u32)),
                        requested: amount,
                        available,
                        reason: format!(
                            "{what}: insufficient {} resources: {amount} {} requested, {available} {} unreserved in resource pool {:?}",
                            name(r),
                            unit(r),
                            unit(r),
                            self.pool_name(pool.idx())
                        ),
                    });
                }
            }
        }
    }

    /// Adds `delta` (may be negative) to the children's total of `pool` and propagates the change
    /// of what each pool charges its parent.
    pub(crate) fn apply_charge(&mut self, pool: PoolId, r: Resource, delta: i128) {
        let mut p = pool.idx();
        let mut d = delta;
        while d != 0 {
            let Some(rec) = self.pools[p].as_mut() else {
                return;
            };
            let l = match r {
                Resource::Cpu => &mut rec.cpu_ledger,
                Resource::Memory => &mut rec.mem_ledger,
            };
            let before = l.charged();
            l.used = (i128::from(l.used) + d).clamp(0, i128::from(u64::MAX)) as u64;
            d = i128::from(l.charged()) - i128::from(before);
            match rec.parent {
                Some(q) => p = q.idx(),
                None => return,
            }
        }
    }

    /// Checks a VM reservation against its host's capacity.
    pub(crate) fn check_host(
        &self,
        host: HostId,
        r: Resource,
        amount: u64,
        what: &str,
    ) -> Result<(), AdmissionError> {
        let h = &self.hosts[host.idx()];
        let (cap, used) = match r {
            Resource::Cpu => (h.cpu_capacity_mhz(), h.res_cpu_mhz),
            Resource::Memory => (h.mem_capacity_mb(), h.res_mem_mb),
        };
        let available = cap.saturating_sub(used);
        if amount > available {
            return Err(AdmissionError {
                kind: AdmissionKind::InsufficientResources,
                resource: r,
                at: Entity::Host(host),
                requested: amount,
                available,
                reason: format!(
                    "{what}: insufficient {} resources on host {:?}: {amount} {} requested, {available} {} unreserved",
                    name(r),
                    h.spec.name,
                    unit(r),
                    unit(r)
                ),
            });
        }
        Ok(())
    }

    fn pool_name(&self, p: usize) -> &str {
        self.pools[p].as_ref().map_or("?", |x| x.name.as_str())
    }
}
