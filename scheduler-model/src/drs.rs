//! vSphere DRS: initial placement and load balancing by normalized entitlement, with VM-VM
//! and VM-Host rules. Plain data in, plain data out; [`World::drs_cluster`] takes the
//! snapshot from the model. The algorithm, its sources and its assumptions are in `MODEL.md`
//! §11.
//!
//! Per host h and resource r (CPU MHz, memory MB), the normalized entitlement is
//! N_h = Σ entitlements of h's VMs / capacity of h; the cluster's imbalance is the standard
//! deviation of N_h over the hosts that take VMs (Gulati et al. 2012), the larger of the
//! CPU and memory deviations [A]. Balancing greedily applies the single move that lowers the
//! imbalance most until it is at or below the target the migration threshold allows.

use std::collections::BTreeMap;

use crate::ids::{HostId, PoolId, VmId};
use crate::memory::overhead_mb;
use crate::spec::VmSpec;
use crate::world::World;

/// The smallest imbalance reduction a load-balancing move must bring [A]: tiny, since one
/// small VM among thousands moves the standard deviation very little.
pub const MIN_GOODNESS: f64 = 1e-6;
/// How many of the most (least) loaded hosts per resource a move may come from (go to) [A].
pub const EXTREME_HOSTS: usize = 3;
/// Most moves one balancing pass makes, whatever the cluster's size [A].
pub const MAX_MOVES_PER_PASS: usize = 64;
/// Recommendation rating of a move that fixes a rule violation (a priority-1, "mandatory"
/// recommendation: five stars).
pub const MANDATORY_RATING: u8 = 5;

/// A host as DRS sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct DrsHost {
    /// The model's host.
    pub id: HostId,
    /// Reservable CPU (MHz).
    pub cpu_capacity_mhz: u64,
    /// Reservable memory (MB).
    pub mem_capacity_mb: u64,
    /// Whether it takes VMs (connected, not in maintenance mode, up).
    pub admits: bool,
    /// CPU left for reservations of powered-on VMs (MHz).
    pub cpu_unreserved_mhz: u64,
    /// Memory left for reservations of powered-on VMs (MB).
    pub mem_unreserved_mb: u64,
    /// Logical CPUs (a VM cannot have more vCPUs).
    pub logical_cpus: u32,
}

/// A VM as DRS sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct DrsVm {
    /// The model's VM.
    pub id: VmId,
    /// Where it is.
    pub host: HostId,
    /// CPU entitlement (MHz).
    pub cpu_mhz: f64,
    /// Memory entitlement (MB).
    pub mem_mb: f64,
    /// CPU reservation (MHz).
    pub cpu_reservation_mhz: u64,
    /// Memory reservation (MB).
    pub mem_reservation_mb: u64,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Powered on (only these are balanced and count for the imbalance).
    pub powered_on: bool,
    /// Whether DRS may move it (false: DRS disabled for it, or its host is unmanaged).
    pub movable: bool,
}

/// A cluster: its hosts (in inventory order) and VMs (in id order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrsCluster {
    /// Hosts.
    pub hosts: Vec<DrsHost>,
    /// VMs.
    pub vms: Vec<DrsVm>,
}

/// A VM-Host rule: the VMs must (or should) run on one of `hosts` (`affine`), or on none of
/// them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmHostRule {
    /// The VM group.
    pub vms: Vec<VmId>,
    /// The host group.
    pub hosts: Vec<HostId>,
    /// Run on the group (true) or off it (false).
    pub affine: bool,
}

/// The enabled rules of a cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrsRules {
    /// VM-VM affinity: each list runs on one host.
    pub together: Vec<Vec<VmId>>,
    /// VM-VM anti-affinity: no two VMs of a list on one host.
    pub apart: Vec<Vec<VmId>>,
    /// VM-Host rules (mandatory "must" and preferential "should" alike: DRS does not
    /// violate either to balance load).
    pub vm_host: Vec<VmHostRule>,
}

/// One recommended or applied migration.
#[derive(Clone, Debug, PartialEq)]
pub struct DrsMove {
    /// The VM.
    pub vm: VmId,
    /// From.
    pub from: HostId,
    /// To.
    pub to: HostId,
    /// `ClusterRecommendation.rating` (1–5, 5 = mandatory).
    pub rating: u8,
    /// Whether it fixes a rule violation rather than balancing load.
    pub mandatory: bool,
    /// vSphere's `RecommendationReasonCode`: `fairnessCpuAvg` / `fairnessMemAvg` (load
    /// balancing, by the resource with the larger deviation), `jointAffin`, `antiAffin`,
    /// `vmHostHardAffinity` (the rule violated).
    pub reason: &'static str,
    /// The imbalance before and after the move.
    pub imbalance_before: f64,
    /// See `imbalance_before`.
    pub imbalance_after: f64,
}

/// A balancing pass's outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrsBalance {
    /// Imbalance at the start.
    pub imbalance_before: f64,
    /// Imbalance once every move is made.
    pub imbalance_after: f64,
    /// The target ("target host load standard deviation"); `None`: the threshold makes no
    /// load-balancing moves.
    pub target: Option<f64>,
    /// The moves, in order.
    pub moves: Vec<DrsMove>,
}

/// The UI's migration threshold level (1 conservative … 5 aggressive) of the API's
/// `ClusterDrsConfigInfo.vmotionRate` (1 aggressive … 5 conservative: the API applies
/// recommendations rated at least `vmotionRate`).
pub fn migration_level(vmotion_rate: i32) -> u8 {
    (6 - vmotion_rate.clamp(1, 5)) as u8
}

/// The rating of a load-balancing move made at `imbalance` in a cluster of `hosts` hosts:
/// VMware KB 1007485 gives the priority 6 − ⌈imbalance / 0.1 × √hosts⌉; the rating is
/// 6 − priority, kept in 1–4 (5 is for mandatory moves).
pub fn move_rating(imbalance: f64, hosts: usize) -> u8 {
    let x = (imbalance / 0.1 * (hosts.max(1) as f64).sqrt()).ceil();
    x.clamp(1.0, 4.0) as u8
}

/// The target host load standard deviation: the largest imbalance whose moves rate below
/// `vmotion_rate`. `None` when `vmotion_rate` is 5 (the most conservative threshold: only
/// mandatory moves).
pub fn target_imbalance(vmotion_rate: i32, hosts: usize) -> Option<f64> {
    let rate = vmotion_rate.clamp(1, 5);
    (rate < 5).then(|| 0.1 * f64::from(rate - 1) / (hosts.max(1) as f64).sqrt())
}

/// Per-host loads of the hosts that take VMs, with running sums for O(1) move evaluation.
#[derive(Clone, Debug)]
struct Loads {
    /// Index in `DrsCluster::hosts` → slot among admitting hosts.
    slot: Vec<Option<usize>>,
    cap: Vec<[f64; 2]>,
    n: Vec<[f64; 2]>,
    s1: [f64; 2],
    s2: [f64; 2],
}

impl Loads {
    fn new(c: &DrsCluster, host_idx: &BTreeMap<HostId, usize>, with_off: bool) -> Loads {
        let mut slot = vec![None; c.hosts.len()];
        let mut cap = Vec::new();
        for (i, h) in c.hosts.iter().enumerate() {
            if h.admits {
                slot[i] = Some(cap.len());
                cap.push([
                    (h.cpu_capacity_mhz as f64).max(1.0),
                    (h.mem_capacity_mb as f64).max(1.0),
                ]);
            }
        }
        let mut n = vec![[0.0; 2]; cap.len()];
        for v in &c.vms {
            if !(v.powered_on || with_off) {
                continue;
            }
            if let Some(k) = host_idx.get(&v.host).and_then(|&i| slot[i]) {
                n[k][0] += v.cpu_mhz / cap[k][0];
                n[k][1] += v.mem_mb / cap[k][1];
            }
        }
        let mut l = Loads {
            slot,
            cap,
            n,
            s1: [0.0; 2],
            s2: [0.0; 2],
        };
        l.resum();
        l
    }

    fn resum(&mut self) {
        self.s1 = [0.0; 2];
        self.s2 = [0.0; 2];
        for n in &self.n {
            for (r, x) in n.iter().enumerate() {
                self.s1[r] += x;
                self.s2[r] += x * x;
            }
        }
    }

    fn sigma(&self, s1: [f64; 2], s2: [f64; 2]) -> [f64; 2] {
        let m = self.n.len().max(1) as f64;
        [0, 1].map(|r| (s2[r] / m - (s1[r] / m).powi(2)).max(0.0).sqrt())
    }

    /// (imbalance, Σ variances) now.
    fn now(&self) -> (f64, f64) {
        score(self.sigma(self.s1, self.s2))
    }

    /// (imbalance, Σ variances) after moving `e` (CPU, memory) from slot `a` (if any) to `b`.
    fn after(&self, e: [f64; 2], a: Option<usize>, b: usize) -> (f64, f64) {
        let (mut s1, mut s2) = (self.s1, self.s2);
        for r in 0..2 {
            if let Some(a) = a {
                let old = self.n[a][r];
                let new = old - e[r] / self.cap[a][r];
                s1[r] += new - old;
                s2[r] += new * new - old * old;
            }
            let old = self.n[b][r];
            let new = old + e[r] / self.cap[b][r];
            s1[r] += new - old;
            s2[r] += new * new - old * old;
        }
        score(self.sigma(s1, s2))
    }

    fn apply(&mut self, e: [f64; 2], a: Option<usize>, b: usize) {
        for (r, x) in e.iter().enumerate() {
            if let Some(a) = a {
                self.n[a][r] -= x / self.cap[a][r];
            }
            self.n[b][r] += x / self.cap[b][r];
        }
        // Recomputed rather than updated: no drift over many moves.
        self.resum();
    }

    /// The reason code of balancing the resource with the larger deviation.
    fn worse_resource(&self) -> &'static str {
        let s = self.sigma(self.s1, self.s2);
        if s[1] > s[0] {
            "fairnessMemAvg"
        } else {
            "fairnessCpuAvg"
        }
    }

    fn mean(&self) -> [f64; 2] {
        let m = self.n.len().max(1) as f64;
        [self.s1[0] / m, self.s1[1] / m]
    }

    /// Per slot: whether it is among the `k` most loaded hosts above the mean in some
    /// resource, and among the `k` least loaded below it (ties: lower slot first).
    fn extremes(&self, k: usize) -> (Vec<bool>, Vec<bool>) {
        let mean = self.mean();
        let mut above = vec![false; self.n.len()];
        let mut below = vec![false; self.n.len()];
        let mut order: Vec<usize> = (0..self.n.len()).collect();
        for (r, m) in mean.iter().enumerate() {
            order.sort_by(|&x, &y| self.n[y][r].total_cmp(&self.n[x][r]).then(x.cmp(&y)));
            for &h in order.iter().take(k) {
                above[h] |= self.n[h][r] > *m;
            }
            order.sort_by(|&x, &y| self.n[x][r].total_cmp(&self.n[y][r]).then(x.cmp(&y)));
            for &h in order.iter().take(k) {
                below[h] |= self.n[h][r] < *m;
            }
        }
        (above, below)
    }
}

fn score(sigma: [f64; 2]) -> (f64, f64) {
    (
        sigma[0].max(sigma[1]),
        sigma[0] * sigma[0] + sigma[1] * sigma[1],
    )
}

/// Where each VM is and what each host has left, as moves are planned.
struct State<'a> {
    c: &'a DrsCluster,
    rules: &'a DrsRules,
    host_idx: BTreeMap<HostId, usize>,
    vm_idx: BTreeMap<VmId, usize>,
    /// Current host index of each VM.
    at: Vec<usize>,
    unreserved: Vec<[u64; 2]>,
    /// Rules naming each VM: (kind 0 together / 1 apart / 2 vm-host, rule index).
    rules_of: BTreeMap<VmId, Vec<(u8, usize)>>,
}

impl<'a> State<'a> {
    fn new(c: &'a DrsCluster, rules: &'a DrsRules) -> State<'a> {
        let host_idx: BTreeMap<HostId, usize> =
            c.hosts.iter().enumerate().map(|(i, h)| (h.id, i)).collect();
        let vm_idx = c.vms.iter().enumerate().map(|(i, v)| (v.id, i)).collect();
        let at = c
            .vms
            .iter()
            .map(|v| host_idx.get(&v.host).copied().unwrap_or(usize::MAX))
            .collect();
        let unreserved = c
            .hosts
            .iter()
            .map(|h| [h.cpu_unreserved_mhz, h.mem_unreserved_mb])
            .collect();
        let mut rules_of: BTreeMap<VmId, Vec<(u8, usize)>> = BTreeMap::new();
        let lists = [
            rules.together.iter().collect::<Vec<_>>(),
            rules.apart.iter().collect(),
            rules.vm_host.iter().map(|r| &r.vms).collect(),
        ];
        for (kind, list) in lists.iter().enumerate() {
            for (i, vms) in list.iter().enumerate() {
                for v in vms.iter() {
                    rules_of.entry(*v).or_default().push((kind as u8, i));
                }
            }
        }
        State {
            c,
            rules,
            host_idx,
            vm_idx,
            at,
            unreserved,
            rules_of,
        }
    }

    /// Where the other powered-on members of a VM-VM rule are (host indices).
    fn others_at(&self, members: &[VmId], vm: VmId) -> Vec<usize> {
        members
            .iter()
            .filter(|m| **m != vm)
            .filter_map(|m| self.vm_idx.get(m))
            .filter(|&&i| self.c.vms[i].powered_on)
            .map(|&i| self.at[i])
            .collect()
    }

    /// Whether VM `v` (index) may be on host `h` (index) under the rules.
    fn allowed(&self, v: usize, h: usize) -> bool {
        self.violated(v, h).is_none()
    }

    /// The reason code of the first rule VM `v` (index) would break on host `h` (index).
    fn violated(&self, v: usize, h: usize) -> Option<&'static str> {
        let vm = self.c.vms[v].id;
        let rs = self.rules_of.get(&vm)?;
        let host = self.c.hosts[h].id;
        let code = |kind: u8| match kind {
            0 => "jointAffin",
            1 => "antiAffin",
            _ => "vmHostHardAffinity",
        };
        rs.iter().find_map(|&(kind, i)| {
            let ok = match kind {
                0 => {
                    // Join the host most of the others run on (lowest index on ties).
                    let others = self.others_at(&self.rules.together[i], vm);
                    let mut count: BTreeMap<usize, usize> = BTreeMap::new();
                    for o in others {
                        *count.entry(o).or_default() += 1;
                    }
                    let best = count
                        .iter()
                        .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
                        .map(|(h, _)| *h);
                    best.is_none_or(|b| b == h)
                }
                1 => !self.others_at(&self.rules.apart[i], vm).contains(&h),
                _ => {
                    let r = &self.rules.vm_host[i];
                    r.hosts.contains(&host) == r.affine
                }
            };
            (!ok).then(|| code(kind))
        })
    }

    /// Host admission of powered-on VM `v` on host `h`.
    fn fits(&self, v: usize, h: usize) -> bool {
        let vm = &self.c.vms[v];
        let host = &self.c.hosts[h];
        host.admits
            && vm.vcpus <= host.logical_cpus
            && (!vm.powered_on
                || (vm.cpu_reservation_mhz <= self.unreserved[h][0]
                    && vm.mem_reservation_mb <= self.unreserved[h][1]))
    }

    fn apply(&mut self, v: usize, to: usize) {
        let vm = &self.c.vms[v];
        let from = self.at[v];
        if vm.powered_on {
            let res = [vm.cpu_reservation_mhz, vm.mem_reservation_mb];
            for r in 0..2 {
                if let Some(u) = self.unreserved.get_mut(from) {
                    u[r] = u[r].saturating_add(res[r]);
                }
                self.unreserved[to][r] = self.unreserved[to][r].saturating_sub(res[r]);
            }
        }
        self.at[v] = to;
    }
}

fn load(v: &DrsVm) -> [f64; 2] {
    [v.cpu_mhz.max(0.0), v.mem_mb.max(0.0)]
}

/// The cluster's imbalance: the larger of the standard deviations of the CPU and memory
/// normalized entitlements of its powered-on VMs over the hosts that take VMs.
pub fn imbalance(c: &DrsCluster) -> f64 {
    let host_idx = c.hosts.iter().enumerate().map(|(i, h)| (h.id, i)).collect();
    Loads::new(c, &host_idx, false).now().0
}

/// One balancing pass at `vmotion_rate` (`ClusterDrsConfigInfo.vmotionRate`): first the
/// moves that fix rule violations (rating 5), then load-balancing moves while the
/// imbalance exceeds the target, each the single move that lowers it most (ties: lowest VM
/// id, then lowest host index), at most [`MAX_MOVES_PER_PASS`] moves in all.
pub fn balance(c: &DrsCluster, rules: &DrsRules, vmotion_rate: i32) -> DrsBalance {
    let mut st = State::new(c, rules);
    let mut loads = Loads::new(c, &st.host_idx, false);
    let hosts = loads.n.len();
    let before = loads.now().0;
    let target = target_imbalance(vmotion_rate, hosts);
    let max_moves = MAX_MOVES_PER_PASS.min((2 * hosts).max(4));
    let mut moves = Vec::new();
    let movable = |st: &State<'_>, v: usize| {
        let vm = &c.vms[v];
        vm.powered_on && vm.movable && st.at[v] < c.hosts.len() && c.hosts[st.at[v]].admits
    };
    // Mandatory moves: a VM its rules do not allow where it is goes to the allowed host
    // that leaves the lowest imbalance.
    for v in 0..c.vms.len() {
        if moves.len() >= max_moves {
            break;
        }
        if !movable(&st, v) {
            continue;
        }
        let Some(reason) = st.violated(v, st.at[v]) else {
            continue;
        };
        let from = st.at[v];
        let e = load(&c.vms[v]);
        let best = (0..c.hosts.len())
            .filter(|&h| h != from && st.fits(v, h) && st.allowed(v, h))
            .filter_map(|h| loads.slot[h].map(|k| (h, loads.after(e, loads.slot[from], k))))
            .min_by(|x, y| x.1.0.total_cmp(&y.1.0).then(x.0.cmp(&y.0)));
        if let Some((h, after)) = best {
            let now = loads.now().0;
            loads.apply(e, loads.slot[from], loads.slot[h].unwrap_or_default());
            st.apply(v, h);
            moves.push(DrsMove {
                vm: c.vms[v].id,
                from: c.hosts[from].id,
                to: c.hosts[h].id,
                rating: MANDATORY_RATING,
                mandatory: true,
                reason,
                imbalance_before: now,
                imbalance_after: after.0,
            });
        }
    }
    // Load balancing.
    let Some(target) = target else {
        return DrsBalance {
            imbalance_before: before,
            imbalance_after: loads.now().0,
            target: None,
            moves,
        };
    };
    while moves.len() < max_moves {
        let now = loads.now().0;
        if now <= target {
            break;
        }
        // Sources: the most loaded hosts in either resource; targets: the least loaded,
        // and only those on the right side of the mean [A]. This bounds a move's search to
        // O(VMs of the sources × targets), whatever the cluster's size.
        let (above, below) = loads.extremes(EXTREME_HOSTS);
        let mut best: Option<(usize, usize, (f64, f64))> = None;
        for v in 0..c.vms.len() {
            if !movable(&st, v) {
                continue;
            }
            let from = st.at[v];
            let Some(a) = loads.slot[from] else { continue };
            if !above[a] {
                continue;
            }
            let e = load(&c.vms[v]);
            if e[0] <= 0.0 && e[1] <= 0.0 {
                continue;
            }
            for h in 0..c.hosts.len() {
                let Some(b) = loads.slot[h] else { continue };
                if h == from || !below[b] {
                    continue;
                }
                let after = loads.after(e, Some(a), b);
                let better = best.is_none_or(|(_, _, s)| {
                    after.0 < s.0 - 1e-12 || (after.0 <= s.0 + 1e-12 && after.1 < s.1 - 1e-15)
                });
                // Admission and rules only for a candidate that would win.
                if better && st.fits(v, h) && st.allowed(v, h) {
                    best = Some((v, h, after));
                }
            }
        }
        let Some((v, h, after)) = best else { break };
        if now - after.0 < MIN_GOODNESS {
            break;
        }
        let from = st.at[v];
        let reason = loads.worse_resource();
        loads.apply(
            load(&c.vms[v]),
            loads.slot[from],
            loads.slot[h].unwrap_or_default(),
        );
        st.apply(v, h);
        moves.push(DrsMove {
            vm: c.vms[v].id,
            from: c.hosts[from].id,
            to: c.hosts[h].id,
            rating: move_rating(now, hosts),
            mandatory: false,
            reason,
            imbalance_before: now,
            imbalance_after: after.0,
        });
    }
    DrsBalance {
        imbalance_before: before,
        imbalance_after: loads.now().0,
        target: Some(target),
        moves,
    }
}

/// A host for a VM not yet in the cluster (`vm.host` is ignored): the hosts that take it,
/// best first, each with the imbalance placing it there leaves. Loads count every VM,
/// powered off too (a VM created now is likely powered on soon) [A]. Best: the lowest
/// resulting imbalance, then the fewest VMs, then inventory order. Hosts whose unreserved
/// capacity fits the VM's reservations come first.
pub fn place(c: &DrsCluster, rules: &DrsRules, vm: &DrsVm) -> Vec<(HostId, f64)> {
    let mut with = c.clone();
    let mut probe = vm.clone();
    probe.powered_on = true;
    probe.host = HostId(u32::MAX);
    with.vms.push(probe);
    let st = State::new(&with, rules);
    let loads = Loads::new(c, &st.host_idx, true);
    let v = with.vms.len() - 1;
    let mut per_host = vec![0usize; c.hosts.len()];
    for &h in &st.at[..v] {
        if let Some(n) = per_host.get_mut(h) {
            *n += 1;
        }
    }
    let e = load(vm);
    let mut ranked: Vec<(bool, i64, usize, usize, f64)> = (0..c.hosts.len())
        .filter(|&h| c.hosts[h].admits && vm.vcpus <= c.hosts[h].logical_cpus)
        .filter(|&h| st.allowed(v, h))
        .filter_map(|h| {
            let k = loads.slot[h]?;
            let after = loads.after(e, None, k).0;
            // Rounded so equal hosts tie exactly, whatever the float noise.
            let key = (after * 1e9).round() as i64;
            Some((!st.fits(v, h), key, per_host[h], h, after))
        })
        .collect();
    ranked.sort_by_key(|x| (x.0, x.1, x.2, x.3));
    ranked
        .into_iter()
        .map(|(_, _, _, h, after)| (c.hosts[h].id, after))
        .collect()
}

impl World {
    /// DRS's view of a root pool's cluster. A powered-on VM with samples is entitled to the
    /// larger of its distributed entitlement, its demand (capped by its limit) and its
    /// reservation; a VM without samples (powered off, or on since the last step) counts
    /// with its static entitlement (min(limit, vCPUs × core MHz); min(limit, configured
    /// memory) + overhead) [A]. Every VM is movable; the caller narrows that.
    pub fn drs_cluster(&self, root: PoolId) -> DrsCluster {
        let hosts: Vec<DrsHost> = self
            .root_hosts(root)
            .into_iter()
            .map(|id| {
                let h = &self.hosts[id.idx()];
                let (cpu_u, mem_u) = self.host_unreserved(id).unwrap_or((0, 0));
                DrsHost {
                    id,
                    cpu_capacity_mhz: h.cpu_capacity_mhz(),
                    mem_capacity_mb: h.mem_capacity_mb(),
                    admits: self.host_state(id).is_ok_and(|s| s.admits()),
                    cpu_unreserved_mhz: cpu_u,
                    mem_unreserved_mb: mem_u,
                    logical_cpus: h.spec.cores.saturating_mul(if h.spec.hyperthreading {
                        2
                    } else {
                        1
                    }),
                }
            })
            .collect();
        let mut vms = Vec::new();
        for (i, rec) in self.vms.iter().enumerate() {
            let Some(rec) = rec else { continue };
            if self.hosts.get(rec.host.idx()).and_then(|h| h.root) != Some(root) {
                continue;
            }
            let id = VmId(i as u32);
            let s = &rec.spec;
            let sampled = rec
                .powered_on
                .then(|| self.samples.slot(id))
                .flatten()
                .map(|k| (&self.samples.vms[k], &self.samples.mem[k]));
            let (cpu, mem) = match sampled {
                Some((o, m)) => {
                    let limit = s.cpu.limit.map_or(f64::INFINITY, |l| l as f64);
                    let cpu = o
                        .cpu_res
                        .max(o.usage)
                        .max(o.demand.min(limit))
                        .max(s.cpu.reservation as f64);
                    let mem = (m.target + m.overhead).max(s.memory.reservation as f64);
                    (cpu, mem)
                }
                None => {
                    let mhz = u64::from(self.hosts[rec.host.idx()].spec.mhz_per_core);
                    static_entitlement(s, mhz)
                }
            };
            vms.push(DrsVm {
                id,
                host: rec.host,
                cpu_mhz: cpu,
                mem_mb: mem,
                cpu_reservation_mhz: s.cpu.reservation,
                mem_reservation_mb: s.memory.reservation,
                vcpus: s.vcpus,
                powered_on: rec.powered_on,
                movable: true,
            });
        }
        DrsCluster { hosts, vms }
    }

    /// DRS's view of a VM about to be created in a root pool's cluster (its static
    /// entitlement at the hosts' mean core speed), for [`place`].
    pub fn drs_new_vm(&self, root: PoolId, spec: &VmSpec) -> DrsVm {
        let hosts = self.root_hosts(root);
        let mhz = hosts
            .iter()
            .map(|h| u64::from(self.hosts[h.idx()].spec.mhz_per_core))
            .sum::<u64>()
            / (hosts.len().max(1) as u64);
        let (cpu, mem) = static_entitlement(spec, mhz);
        DrsVm {
            id: VmId(u32::MAX),
            host: HostId(u32::MAX),
            cpu_mhz: cpu,
            mem_mb: mem,
            cpu_reservation_mhz: spec.cpu.reservation,
            mem_reservation_mb: spec.memory.reservation,
            vcpus: spec.vcpus,
            powered_on: false,
            movable: true,
        }
    }
}

fn static_entitlement(s: &VmSpec, mhz_per_core: u64) -> (f64, f64) {
    let cpu = (u64::from(s.vcpus) * mhz_per_core).min(s.cpu.limit.unwrap_or(u64::MAX));
    let mem = s.memory_mb.min(s.memory.limit.unwrap_or(u64::MAX)) as f64
        + overhead_mb(s.vcpus, s.memory_mb as f64);
    (
        (cpu as f64).max(s.cpu.reservation as f64),
        mem.max(s.memory.reservation as f64),
    )
}

#[cfg(test)]
#[path = "drs_tests.rs"]
mod tests;
