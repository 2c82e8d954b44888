//! One step of the model (contention-model.md §7): workloads → memory targets and reclamation
//! → CPU entitlement and usage (with the no-limit counterfactual) → aggregates.
//! Everything runs over the flattened [`Plan`]; nothing is allocated once buffers have grown.
//!
//! Roots share nothing (each host belongs to one root), so the whole step runs root by root over
//! the root's contiguous node and slot blocks: a cluster's few hundred VMs stay in L1/L2 through
//! every phase instead of each phase streaming all VMs through memory (the 100k-VM case was
//! cache-bound), and the no-limit counterfactual is decided per root.

use crate::cpu::{costop_for_busy, host_capacity_mhz, is_busy, water_level};
use crate::divvy::{Claim, Level, Scratch, solve, solve_with_sums};
use crate::memory::{
    ACTIVE_DECAY_S, IDLE_TAX_K, MemStepIn, host_state, min_free_mb, overhead_mb, vmkernel_mb,
};
use crate::plan::{NONE, Plan, RootPlan};
use crate::samples::{HostOut, MemAgg, PoolOut, Samples, VmOut};
use crate::workload::WorkloadState;
use crate::world::{HostRec, World};

/// Per-step scratch arrays (per node, per VM, per host), reused across steps.
#[derive(Clone, Debug, Default)]
pub(crate) struct Work {
    /// Σ children's caps / floors per node, from the last bottom-up pass (the top-down divvy
    /// reuses them as Σ hi / Σ lo).
    acc: Vec<f64>,
    acc_lo: Vec<f64>,
    cap: Vec<f64>,
    /// Caps without limits, for the full counterfactual pass.
    cap0: Vec<f64>,
    lo: Vec<f64>,
    alloc: Vec<f64>,
    alloc0: Vec<f64>,
    /// Idle-tax knee per node: VMs' active memory, +∞ for pools (set at rebuild).
    knee: Vec<f64>,
    /// Last step's level per node, per pass (memory, CPU, CPU without limits): Newton warm starts.
    hint_mem: Vec<f64>,
    hint_cpu: Vec<f64>,
    hint_cpu0: Vec<f64>,
    /// CPU capacity per root (indexed like `plan.roots`).
    root_cap: Vec<f64>,
    vm_active: Vec<f64>,
    vm_touch: Vec<f64>,
    host_busy: Vec<f64>,
    host_usage: Vec<f64>,
    host_demand: Vec<f64>,
    host_mem: Vec<MemAgg>,
    host_cpu: Vec<f64>,
    node_cpu_usage: Vec<f64>,
    node_cpu_demand: Vec<f64>,
    node_mem: Vec<MemAgg>,
}

/// Resizes `v` to `n` copies of `x` (keeps capacity).
fn reset<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

/// Bottom-up over one root's pools: caps `U` and floors for every node (VM caps are already in
/// `cap`). A pool's cap is min(limit, Σ children's caps), the root's min(capacity, Σ) (§7.1
/// step 2). A floor is the reservation the node can use, R' = min(R, U); a pool's floor also
/// covers what its children reserve, min(max(R, Σ children's floors), U), since admission let
/// them borrow it ([V] S61). Leaves Σ children's caps and floors in `acc` / `acc_lo` for the
/// top-down pass. Returns whether some pool's limit is below its children's caps (binds).
///
/// Pools are visited in reverse breadth-first order, each pulling its children's (contiguous)
/// values: child pools are done by then, VM children get their floor here.
#[allow(clippy::too_many_arguments)]
fn bottom_up(
    plan: &Plan,
    root: &RootPlan,
    res: &[f64],
    lim: Option<&[f64]>,
    root_cap: f64,
    cap: &mut [f64],
    lo: &mut [f64],
    acc: &mut [f64],
    acc_lo: &mut [f64],
) -> bool {
    let mut bound = false;
    for &k in plan.pool_nodes[root.pool_range()].iter().rev() {
        let k = k as usize;
        for c in plan.vm_children(k) {
            lo[c] = res[c].min(cap[c]);
        }
        let ch = plan.children(k);
        let sum_cap: f64 = cap[ch.clone()].iter().sum();
        let sum_lo: f64 = lo[ch].iter().sum();
        acc[k] = sum_cap;
        acc_lo[k] = sum_lo;
        if plan.parent[k] == NONE {
            cap[k] = root_cap.min(sum_cap);
            lo[k] = 0.0;
        } else {
            let l = lim.map_or(f64::INFINITY, |l| l[k]);
            bound |= l < sum_cap;
            cap[k] = l.min(sum_cap);
            lo[k] = res[k].max(sum_lo).min(cap[k]);
        }
    }
    bound
}

/// Top-down over one root's pools: each pool's allocation is water-filled among its children
/// (§7.1 step 3), with Σ caps / floors taken from the bottom-up pass.
#[allow(clippy::too_many_arguments)]
fn top_down(
    plan: &Plan,
    root: &RootPlan,
    shares: &[f64],
    knee: Option<&[f64]>,
    tax_k: f64,
    cap: &[f64],
    lo: &[f64],
    acc: &[f64],
    acc_lo: &[f64],
    alloc: &mut [f64],
    hint: &mut [f64],
    scratch: &mut Scratch,
) {
    let r = root.nodes.0 as usize;
    alloc[r] = cap[r];
    let claim = |c: usize| Claim {
        shares: shares[c],
        lo: lo[c],
        hi: cap[c],
        knee: knee.map_or(f64::INFINITY, |kn| kn[c]),
    };
    for &k in &plan.pool_nodes[root.pool_range()] {
        let k = k as usize;
        let ch = plan.children(k);
        if ch.is_empty() {
            continue;
        }
        let level = solve_with_sums(
            alloc[k],
            acc_lo[k],
            acc[k],
            ch.clone().map(claim),
            tax_k,
            hint[k],
            scratch,
        );
        match level {
            // The common case (an under-committed parent): a straight copy.
            Level::AllCaps => alloc[ch.clone()].copy_from_slice(&cap[ch]),
            _ => {
                if let Level::Nu(nu) = level {
                    hint[k] = nu;
                }
                for c in ch {
                    alloc[c] = level.alloc(&claim(c), tax_k);
                }
            }
        }
    }
}

/// In a multi-host root, a host whose VMs were entitled to more than it has re-divides its own
/// capacity among them, each capped at its cluster-level entitlement [A] (DRS would migrate).
#[allow(clippy::too_many_arguments)]
fn squeeze_hosts(
    plan: &Plan,
    root: &RootPlan,
    host_cap: &[f64],
    shares: &[f64],
    res: &[f64],
    knee: Option<&[f64]>,
    tax_k: f64,
    alloc: &mut [f64],
    scratch: &mut Scratch,
) {
    if root.hosts.len() < 2 {
        return;
    }
    for &h in &root.hosts {
        let h = h as usize;
        let nodes =
            &plan.host_vm_nodes[plan.host_vm_start[h] as usize..plan.host_vm_start[h + 1] as usize];
        let sum: f64 = nodes.iter().map(|&k| alloc[k as usize]).sum();
        if sum <= host_cap[h] {
            continue;
        }
        let claim = |k: usize, alloc: &[f64]| Claim {
            shares: shares[k],
            lo: res[k].min(alloc[k]),
            hi: alloc[k],
            knee: knee.map_or(f64::INFINITY, |kn| kn[k]),
        };
        let level = solve(
            host_cap[h],
            nodes.iter().map(|&k| claim(k as usize, alloc)),
            tax_k,
            0.0,
            scratch,
        );
        for &k in nodes {
            let c = claim(k as usize, alloc);
            alloc[k as usize] = level.alloc(&c, tax_k);
        }
    }
}

impl World {
    /// Rebuilds the flattened plan after inventory changes, carrying each VM's memory state and
    /// workload over to its new slot.
    pub(crate) fn rebuild_plan(&mut self) {
        let s = &mut self.samples;
        // Hand the slot workloads back to their records.
        for (slot, wl) in self.slot_workloads.drain(..).enumerate() {
            let id = s.vms[slot].id as usize;
            if let Some(Some(r)) = self.vms.get_mut(id) {
                r.workload = wl;
            }
        }
        let old_slot = std::mem::take(&mut s.vm_slot);
        let old_mem = std::mem::take(&mut s.mem);
        s.vms.clear();
        s.vm_slot.resize(self.vms.len(), NONE);
        s.pools.resize(self.pools.len(), PoolOut::default());
        s.hosts.resize(self.hosts.len(), HostOut::default());
        for (o, r) in s.pools.iter_mut().zip(&self.pools) {
            o.live = r.is_some();
        }
        for h in s.hosts.iter_mut() {
            h.live = true;
        }

        let plan = &mut self.plan;
        plan.clear();
        let push = |plan: &mut Plan, pool: u32, slot: u32, parent: u32| {
            plan.node_pool.push(pool);
            plan.node_slot.push(slot);
            plan.parent.push(parent);
            plan.first_child.push(0);
            plan.n_children.push(0);
            plan.n_child_pools.push(0);
        };
        // Breadth-first from each root in turn, so that each root's subtree is one block of
        // nodes and slots: children of each node are appended contiguously, pools first. VM
        // nodes get their slot (and VM id, through `vm_of_node`) here.
        let mut vm_of_node: Vec<u32> = Vec::new();
        for (i, p) in self.pools.iter().enumerate() {
            let Some(p) = p else { continue };
            if p.parent.is_some() {
                continue;
            }
            let (first, first_slot) = (plan.len(), plan.slot_node.len());
            let first_pool = plan.pool_nodes.len();
            push(plan, i as u32, NONE, NONE);
            let mut k = first;
            while k < plan.len() {
                let pool = plan.node_pool[k];
                plan.first_child[k] = plan.len() as u32;
                if plan.node_slot[k] == NONE {
                    plan.pool_nodes.push(k as u32);
                    if let Some(Some(p)) = self.pools.get(pool as usize) {
                        for &c in &p.child_pools {
                            push(plan, c, NONE, k as u32);
                        }
                        plan.n_child_pools[k] = plan.len() as u32 - plan.first_child[k];
                        for &v in &p.vms {
                            if self.vms[v as usize].as_ref().is_some_and(|r| r.powered_on) {
                                let slot = plan.slot_node.len() as u32;
                                plan.slot_node.push(plan.len() as u32);
                                vm_of_node.push(v);
                                push(plan, NONE, slot, k as u32);
                            }
                        }
                    }
                }
                plan.n_children[k] = plan.len() as u32 - plan.first_child[k];
                k += 1;
            }
            plan.roots.push(RootPlan {
                hosts: p.hosts.iter().map(|h| h.0).collect(),
                nodes: (first as u32, plan.len() as u32),
                slots: (first_slot as u32, plan.slot_node.len() as u32),
                pools: (first_pool as u32, plan.pool_nodes.len() as u32),
            });
        }
        // Per-node settings.
        let n_roots = plan.roots.len();
        let mut host_count = vec![0u32; self.hosts.len() + 1];
        for k in 0..plan.len() {
            let slot = plan.node_slot[k];
            if slot == NONE {
                let p = self.pools[plan.node_pool[k] as usize].as_ref();
                let (cpu, mem) = p.map(|p| (p.cpu, p.mem)).unwrap_or_default();
                plan.cpu_shares.push(cpu.shares.cpu_pool() as f64);
                plan.cpu_res.push(cpu.reservation as f64);
                plan.cpu_lim.push(cpu.limit_f64());
                plan.mem_shares.push(mem.shares.mem_pool() as f64);
                plan.mem_res.push(mem.reservation as f64);
                plan.mem_lim.push(mem.limit_f64());
                continue;
            }
            let v = vm_of_node[slot as usize] as usize;
            let Some(r) = self.vms[v].as_mut() else {
                continue; // unreachable: only existing VMs get slots
            };
            let sp = &r.spec;
            plan.cpu_shares.push(sp.cpu.shares.cpu_vm(sp.vcpus) as f64);
            plan.cpu_res.push(sp.cpu.reservation as f64);
            plan.cpu_lim.push(sp.cpu.limit_f64());
            plan.mem_shares
                .push(sp.memory.shares.mem_vm(sp.memory_mb) as f64);
            plan.mem_res.push(sp.memory.reservation as f64);
            plan.mem_lim.push(sp.memory.limit_f64());
            plan.slot_host.push(r.host.0);
            host_count[r.host.idx() + 1] += 1;
            s.vm_slot[v] = slot;
            s.vms.push(VmOut {
                id: v as u32,
                n_vcpu: sp.vcpus,
                vcpu_off: plan.total_vcpus as u32,
                mhz: f64::from(self.hosts[r.host.idx()].spec.mhz_per_core),
                memory_mb: sp.memory_mb as f64,
                cpu_res: sp.cpu.reservation as f64,
                ..VmOut::default()
            });
            let carried = match old_slot.get(v) {
                Some(&o) if o != NONE && !r.fresh => old_mem.get(o as usize).copied(),
                _ => None,
            };
            let mut m = carried.unwrap_or_default();
            m.overhead = overhead_mb(sp.vcpus, sp.memory_mb as f64);
            s.mem.push(m);
            plan.total_vcpus += sp.vcpus as usize;
            r.fresh = false;
            self.slot_workloads.push(std::mem::take(&mut r.workload));
        }
        // VM nodes grouped by host (counting sort keeps tree order within a host).
        for h in 0..self.hosts.len() {
            host_count[h + 1] += host_count[h];
        }
        plan.host_vm_start = host_count.clone();
        plan.host_vm_nodes.resize(plan.slot_node.len(), 0);
        let mut fill = host_count;
        for (slot, &k) in plan.slot_node.iter().enumerate() {
            let h = plan.slot_host[slot] as usize;
            plan.host_vm_nodes[fill[h] as usize] = k;
            fill[h] += 1;
        }
        // A pool's memory limit bounds its VMs' memory with their overhead (ESXi allocates a
        // VM's overhead in its resource pool); the divvy hands out guest memory, so a limited
        // pool's guest share is its limit less the overheads of the powered-on VMs below it.
        let mut below_mb = vec![0.0f64; plan.len()];
        for (slot, m) in s.mem.iter().enumerate() {
            below_mb[plan.slot_node[slot] as usize] = m.overhead;
        }
        // Nodes are breadth-first (a parent before its children): sum bottom-up.
        for k in (1..plan.len()).rev() {
            let parent = plan.parent[k];
            if parent != NONE {
                below_mb[parent as usize] += below_mb[k];
            }
        }
        for ((lim, &slot), below) in plan.mem_lim.iter_mut().zip(&plan.node_slot).zip(&below_mb) {
            if slot == NONE && lim.is_finite() {
                *lim = (*lim - below).max(0.0);
            }
        }
        // Memory the divvy may hand out: installed − VMkernel − minFree − VM overheads.
        plan.host_mem_mb = self.hosts.iter().map(|h| h.mem_divvy_mb()).collect();
        for (slot, m) in s.mem.iter().enumerate() {
            plan.host_mem_mb[plan.slot_host[slot] as usize] -= m.overhead;
        }
        for m in plan.host_mem_mb.iter_mut() {
            *m = m.max(0.0);
        }
        plan.root_mem_mb = plan
            .roots
            .iter()
            .map(|r| r.hosts.iter().map(|&h| plan.host_mem_mb[h as usize]).sum())
            .collect();
        s.vcpu_demand.clear();
        s.vcpu_demand.resize(plan.total_vcpus, 0.0);
        let (n, n_slots, n_hosts) = (plan.len(), plan.slot_node.len(), self.hosts.len());
        let w = &mut self.work;
        for v in [
            &mut w.acc,
            &mut w.acc_lo,
            &mut w.cap,
            &mut w.cap0,
            &mut w.lo,
            &mut w.alloc,
            &mut w.alloc0,
            &mut w.hint_mem,
            &mut w.hint_cpu,
            &mut w.hint_cpu0,
            &mut w.node_cpu_usage,
            &mut w.node_cpu_demand,
        ] {
            reset(v, n, 0.0);
        }
        // Pools pay no idle tax [A]; VM knees are written every step.
        reset(&mut w.knee, n, f64::INFINITY);
        reset(&mut w.node_mem, n, MemAgg::default());
        reset(&mut w.vm_active, n_slots, 0.0);
        reset(&mut w.vm_touch, n_slots, 0.0);
        for v in [
            &mut w.host_busy,
            &mut w.host_cpu,
            &mut w.host_usage,
            &mut w.host_demand,
        ] {
            reset(v, n_hosts, 0.0);
        }
        reset(&mut w.host_mem, n_hosts, MemAgg::default());
        reset(&mut w.root_cap, n_roots, 0.0);
        self.plan_dirty = false;
    }

    /// Advances the model by one interval (20 s realtime normally) and returns its samples.
    /// `interval_s == 0` changes nothing and returns the previous samples.
    pub fn step(&mut self, interval_s: u32) -> &Samples {
        if interval_s == 0 {
            return &self.samples;
        }
        if self.plan_dirty {
            self.rebuild_plan();
        }
        let t = f64::from(interval_s);
        let w = &mut self.work;
        w.host_busy.fill(0.0);
        w.host_usage.fill(0.0);
        w.host_demand.fill(0.0);
        w.host_mem.fill(MemAgg::default());
        let mut st = RootStep {
            plan: &self.plan,
            hosts: &self.hosts,
            workloads: &mut self.slot_workloads,
            w,
            s: &mut self.samples,
            scratch: &mut self.scratch,
            interval_s,
            t,
            active_decay: (-t / ACTIVE_DECAY_S).exp(),
        };
        for r in 0..self.plan.roots.len() {
            st.run(r);
        }
        let (w, s) = (&self.work, &mut self.samples);
        for (h, rec) in self.hosts.iter().enumerate() {
            let sp = &rec.spec;
            let o = &mut s.hosts[h];
            let total = sp.memory_mb as f64;
            let min_free = min_free_mb(total);
            let mem = w.host_mem[h];
            o.cpu_usage = w.host_usage[h];
            o.cpu_demand = w.host_demand[h];
            o.cpu_nominal = f64::from(sp.cores) * f64::from(sp.mhz_per_core);
            o.memory_mb = total;
            o.mem_used = mem.consumed + mem.overhead + vmkernel_mb(total);
            o.min_free = min_free;
            o.state = host_state(total - o.mem_used, min_free);
            o.mem = mem;
        }
        self.time_s += u64::from(interval_s);
        s.interval_s = interval_s;
        s.time_s = self.time_s;
        &self.samples
    }
}

/// [`water_level`] for a VM whose vCPU demands `d` sum to `demand` (summed in the same order):
/// most VMs get all they ask for, and then the level is +∞ without another pass.
#[inline]
fn vm_water_level(d: &[f64], demand: f64, usage: f64) -> f64 {
    if usage >= demand * (1.0 - 1e-12) {
        f64::INFINITY
    } else {
        water_level(d, usage)
    }
}

/// One step's borrowed state, run root by root (see the module docs).
struct RootStep<'a> {
    plan: &'a Plan,
    hosts: &'a [HostRec],
    workloads: &'a mut [WorkloadState],
    w: &'a mut Work,
    s: &'a mut Samples,
    scratch: &'a mut Scratch,
    interval_s: u32,
    t: f64,
    /// exp(−t / `ACTIVE_DECAY_S`).
    active_decay: f64,
}

impl RootStep<'_> {
    /// The whole step for root `r`: its nodes, slots and hosts only.
    fn run(&mut self, r: usize) {
        let plan = self.plan;
        let root = &plan.roots[r];
        let (nodes, slots) = (root.node_range(), root.slot_range());
        let (w, s, scratch) = (&mut *self.w, &mut *self.s, &mut *self.scratch);
        let t = self.t;

        // The per-VM loops walk the root's slot block with zipped row iterators (no bounds
        // checks on per-slot rows) and index node arrays through local slices (so their
        // pointers stay in registers across the stores).
        let sl = slots.clone();
        let slot_node = &plan.slot_node[sl.clone()];
        let slot_host = &plan.slot_host[sl.clone()];

        // 1. Workloads: raw per-vCPU demand and guest memory; memory want per VM.
        {
            let (cap, knee, mem_lim) = (&mut w.cap[..], &mut w.knee[..], &plan.mem_lim[..]);
            let vcpu_demand = &mut s.vcpu_demand[..];
            let rows = s.vms[sl.clone()]
                .iter()
                .zip(&mut s.mem[sl.clone()])
                .zip(&mut self.workloads[sl.clone()])
                .zip(w.vm_active[sl.clone()].iter_mut())
                .zip(w.vm_touch[sl.clone()].iter_mut())
                .zip(slot_node);
            for (((((o, m), wl), active), touch), &k) in rows {
                let k = k as usize;
                let off = o.vcpu_off as usize;
                let d = &mut vcpu_demand[off..off + o.n_vcpu as usize];
                let md = wl.eval(self.interval_s, o.mhz, o.memory_mb, d);
                m.set_guest(md.guest_mb, o.memory_mb);
                *active = md.active_mb;
                *touch = md.touch_mb_per_s;
                // W = min(content, limit, configured) (§7.2 step 1); the idle tax knee is
                // `active`.
                cap[k] = m.content().min(mem_lim[k]).min(o.memory_mb);
                knee[k] = md.active_mb;
            }
        }

        // 2. Memory: hierarchical targets with the idle tax, then reclamation per VM.
        bottom_up(
            plan,
            root,
            &plan.mem_res,
            Some(&plan.mem_lim),
            plan.root_mem_mb[r],
            &mut w.cap,
            &mut w.lo,
            &mut w.acc,
            &mut w.acc_lo,
        );
        top_down(
            plan,
            root,
            &plan.mem_shares,
            Some(&w.knee),
            IDLE_TAX_K,
            &w.cap,
            &w.lo,
            &w.acc,
            &w.acc_lo,
            &mut w.alloc,
            &mut w.hint_mem,
            scratch,
        );
        squeeze_hosts(
            plan,
            root,
            &plan.host_mem_mb,
            &plan.mem_shares,
            &plan.mem_res,
            Some(&w.knee),
            IDLE_TAX_K,
            &mut w.alloc,
            scratch,
        );
        // Then, in the same pass, the CPU side's runnable demand (memory stalls removed). A VM
        // limit binds when it is below the demand.
        let (mut limit_binds, mut demand_sum) = (false, 0.0);
        {
            let (cap, alloc, alloc0) = (&mut w.cap[..], &w.alloc[..], &mut w.alloc0[..]);
            let (mem_res, cpu_lim) = (&plan.mem_res[..], &plan.cpu_lim[..]);
            let (vcpu_demand, host_busy) = (&mut s.vcpu_demand[..], &mut w.host_busy[..]);
            let rows = s.vms[sl.clone()]
                .iter_mut()
                .zip(&mut s.mem[sl.clone()])
                .zip(&w.vm_active[sl.clone()])
                .zip(&w.vm_touch[sl.clone()])
                .zip(slot_node.iter().zip(slot_host));
            for ((((o, m), &active_mb), &touch_mb_per_s), (&k, &h)) in rows {
                let k = k as usize;
                m.step(&MemStepIn {
                    memory_mb: o.memory_mb,
                    reservation_mb: mem_res[k],
                    target_mb: alloc[k],
                    active_mb,
                    touch_mb_per_s,
                    interval_s: t,
                    active_decay: self.active_decay,
                });
                let off = o.vcpu_off as usize;
                let d = &mut vcpu_demand[off..off + o.n_vcpu as usize];
                // One pass over the vCPUs (their count varies per VM, so each extra loop costs
                // a mispredicted exit): stall-reduced demand (dividing by 1 + 0 is exact),
                // its sum, and the busy count for co-stop.
                let slow = 1.0 + m.stall;
                let (mut total, mut busy) = (0.0, 0);
                for x in d.iter_mut() {
                    *x /= slow;
                    total += *x;
                    busy += usize::from(is_busy(*x, o.mhz));
                }
                o.demand = total;
                o.costop_k = costop_for_busy(busy);
                limit_binds |= cpu_lim[k] < total;
                demand_sum += total;
                cap[k] = cpu_lim[k].min(total);
                alloc0[k] = total; // the cap without limits, used by the counterfactual
                host_busy[h as usize] += total / o.mhz;
            }
        }

        // 3. CPU: capacity, entitlement (with the no-limit counterfactual), usage.
        let mut root_cap = 0.0;
        for &h in &root.hosts {
            let h = h as usize;
            let sp = &self.hosts[h].spec;
            w.host_cpu[h] = host_capacity_mhz(
                f64::from(sp.cores),
                f64::from(sp.mhz_per_core),
                sp.hyperthreading,
                w.host_busy[h],
            );
            root_cap += w.host_cpu[h];
        }
        w.root_cap[r] = root_cap;
        limit_binds |= bottom_up(
            plan,
            root,
            &plan.cpu_res,
            Some(&plan.cpu_lim),
            root_cap,
            &mut w.cap,
            &mut w.lo,
            &mut w.acc,
            &mut w.acc_lo,
        );
        top_down(
            plan,
            root,
            &plan.cpu_shares,
            None,
            1.0,
            &w.cap,
            &w.lo,
            &w.acc,
            &w.acc_lo,
            &mut w.alloc,
            &mut w.hint_cpu,
            scratch,
        );
        squeeze_hosts(
            plan,
            root,
            &w.host_cpu,
            &plan.cpu_shares,
            &plan.cpu_res,
            None,
            1.0,
            &mut w.alloc,
            scratch,
        );
        // Counterfactual without any limit (§7.1 step 5), into `alloc0`. Three cases, all
        // giving what the full no-limit pass gives (up to float rounding):
        // * no limit binds in this root (every limit ≥ what it caps): the caps, hence the
        //   allocations, are those just computed — u⁰ = u, nothing to do;
        // * the root's capacity covers all demand: without limits every parent can give every
        //   child its whole cap, so each VM gets its demand (already in `alloc0`), less what
        //   an over-committed host takes back below;
        // * else the full pass, VM caps = demand.
        if limit_binds {
            if root_cap < demand_sum {
                for slot in slots.clone() {
                    let k = plan.slot_node[slot] as usize;
                    w.cap0[k] = w.alloc0[k];
                }
                bottom_up(
                    plan,
                    root,
                    &plan.cpu_res,
                    None,
                    root_cap,
                    &mut w.cap0,
                    &mut w.lo,
                    &mut w.acc,
                    &mut w.acc_lo,
                );
                top_down(
                    plan,
                    root,
                    &plan.cpu_shares,
                    None,
                    1.0,
                    &w.cap0,
                    &w.lo,
                    &w.acc,
                    &w.acc_lo,
                    &mut w.alloc0,
                    &mut w.hint_cpu0,
                    scratch,
                );
            }
            squeeze_hosts(
                plan,
                root,
                &w.host_cpu,
                &plan.cpu_shares,
                &plan.cpu_res,
                None,
                1.0,
                &mut w.alloc0,
                scratch,
            );
        }
        {
            let (alloc, alloc0, parent) = (&w.alloc[..], &w.alloc0[..], &plan.parent[..]);
            let (host_usage, host_demand) = (&mut w.host_usage[..], &mut w.host_demand[..]);
            let (host_mem, node_mem) = (&mut w.host_mem[..], &mut w.node_mem[..]);
            let (node_usage, node_demand) = (&mut w.node_cpu_usage[..], &mut w.node_cpu_demand[..]);
            let vcpu_demand = &s.vcpu_demand[..];
            let rows = s.vms[sl.clone()]
                .iter_mut()
                .zip(&s.mem[sl])
                .zip(slot_node.iter().zip(slot_host));
            for ((o, m), (&k, &h)) in rows {
                let k = k as usize;
                let off = o.vcpu_off as usize;
                let d = &vcpu_demand[off..off + o.n_vcpu as usize];
                // Work-conserving: usage = entitlement, which never exceeds demand (§7.1
                // step 4).
                o.usage = alloc[k].min(o.demand);
                o.mu = vm_water_level(d, o.demand, o.usage);
                o.mu0 = if limit_binds {
                    vm_water_level(d, o.demand, alloc0[k].min(o.demand))
                } else {
                    o.mu
                };
                let h = h as usize;
                host_usage[h] += o.usage;
                host_demand[h] += o.demand;
                host_mem[h].add_vm(m);
                let p = parent[k] as usize;
                node_usage[p] += o.usage;
                node_demand[p] += o.demand;
                node_mem[p].add_vm(m);
            }
        }

        // 4. Aggregates: pools, bottom-up over the subtree (VMs were added to their parents
        // above).
        for k in nodes.rev() {
            if plan.node_slot[k] != NONE {
                continue;
            }
            let parent = plan.parent[k];
            let o = &mut s.pools[plan.node_pool[k] as usize];
            o.cpu_usage = w.node_cpu_usage[k];
            o.cpu_demand = w.node_cpu_demand[k];
            o.mem = w.node_mem[k];
            if parent == NONE {
                o.cpu_entitlement = root_cap;
            } else {
                o.cpu_entitlement = plan.cpu_res[k].max(w.alloc[k]);
                let parent = parent as usize;
                w.node_cpu_usage[parent] += w.node_cpu_usage[k];
                w.node_cpu_demand[parent] += w.node_cpu_demand[k];
                let m = w.node_mem[k];
                w.node_mem[parent].add(&m);
            }
            // Reset this pool's accumulators for the next step (its children are summed).
            w.node_cpu_usage[k] = 0.0;
            w.node_cpu_demand[k] = 0.0;
            w.node_mem[k] = MemAgg::default();
        }
    }
}
