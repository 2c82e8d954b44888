//! One step of the model (contention-model.md §7): workloads → memory targets and reclamation
//! → CPU entitlement and usage (with the no-limit counterfactual) → aggregates.
//! Everything runs over the flattened [`Plan`]; nothing is allocated once buffers have grown.

use crate::cpu::{costop_factor, host_capacity_mhz, water_level};
use crate::divvy::{Claim, Level, Scratch, solve};
use crate::memory::{
    ACTIVE_DECAY_S, IDLE_TAX_K, MemStepIn, host_state, min_free_mb, overhead_mb, vmkernel_mb,
};
use crate::plan::{NONE, Plan, RootPlan};
use crate::samples::{HostOut, MemAgg, PoolOut, Samples, VmOut};
use crate::world::World;

/// Per-step scratch arrays (per node, per VM, per host), reused across steps.
#[derive(Clone, Debug, Default)]
pub(crate) struct Work {
    acc: Vec<f64>,
    acc_lo: Vec<f64>,
    cap: Vec<f64>,
    lo: Vec<f64>,
    alloc: Vec<f64>,
    alloc0: Vec<f64>,
    knee: Vec<f64>,
    /// Last step's level per node, per pass (memory, CPU, CPU without limits): Newton warm starts.
    hint_mem: Vec<f64>,
    hint_cpu: Vec<f64>,
    hint_cpu0: Vec<f64>,
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

/// Bottom-up: caps `U` and floors for every node (VM caps are already in `cap`). A pool's cap is
/// min(limit, Σ children's caps), a root's min(capacity, Σ) (§7.1 step 2). A floor is the
/// reservation the node can use, R' = min(R, U); a pool's floor also covers what its children
/// reserve, min(max(R, Σ children's floors), U), since admission let them borrow it ([V] S61).
#[allow(clippy::too_many_arguments)]
fn bottom_up(
    plan: &Plan,
    res: &[f64],
    lim: Option<&[f64]>,
    root_cap: &[f64],
    cap: &mut [f64],
    lo: &mut [f64],
    acc: &mut [f64],
    acc_lo: &mut [f64],
) {
    acc.fill(0.0);
    acc_lo.fill(0.0);
    let n_roots = plan.roots.len();
    for k in (0..plan.len()).rev() {
        let pool = plan.node_slot[k] == NONE;
        if pool {
            cap[k] = if k < n_roots {
                root_cap[k].min(acc[k])
            } else {
                lim.map_or(acc[k], |l| l[k].min(acc[k]))
            };
        }
        lo[k] = if k < n_roots {
            0.0
        } else if pool {
            res[k].max(acc_lo[k]).min(cap[k])
        } else {
            res[k].min(cap[k])
        };
        let p = plan.parent[k];
        if p != NONE {
            acc[p as usize] += cap[k];
            acc_lo[p as usize] += lo[k];
        }
    }
}

/// Top-down: each node's allocation is water-filled among its children (§7.1 step 3).
#[allow(clippy::too_many_arguments)]
fn top_down(
    plan: &Plan,
    shares: &[f64],
    knee: Option<&[f64]>,
    tax_k: f64,
    cap: &[f64],
    lo: &[f64],
    alloc: &mut [f64],
    hint: &mut [f64],
    scratch: &mut Scratch,
) {
    let n_roots = plan.roots.len();
    alloc[..n_roots].copy_from_slice(&cap[..n_roots]);
    let claim = |c: usize| Claim {
        shares: shares[c],
        lo: lo[c],
        hi: cap[c],
        knee: knee.map_or(f64::INFINITY, |kn| kn[c]),
    };
    for k in 0..plan.len() {
        let ch = plan.children(k);
        if ch.is_empty() {
            continue;
        }
        let level = solve(alloc[k], ch.clone().map(claim), tax_k, hint[k], scratch);
        if let Level::Nu(nu) = level {
            hint[k] = nu;
        }
        for c in ch {
            alloc[c] = level.alloc(&claim(c), tax_k);
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
        };
        for (i, p) in self.pools.iter().enumerate() {
            if let Some(p) = p
                && p.parent.is_none()
            {
                plan.roots.push(RootPlan {
                    hosts: p.hosts.iter().map(|h| h.0).collect(),
                });
                push(plan, i as u32, NONE, NONE);
            }
        }
        // Breadth-first: children of each node are appended contiguously. VM nodes get their
        // slot (and VM id, through `node_pool`) here.
        let mut vm_of_node: Vec<u32> = Vec::new();
        let mut k = 0;
        while k < plan.len() {
            let pool = plan.node_pool[k];
            plan.first_child[k] = plan.len() as u32;
            if plan.node_slot[k] == NONE
                && let Some(Some(p)) = self.pools.get(pool as usize)
            {
                for &c in &p.child_pools {
                    push(plan, c, NONE, k as u32);
                }
                for &v in &p.vms {
                    if self.vms[v as usize].as_ref().is_some_and(|r| r.powered_on) {
                        let slot = plan.slot_node.len() as u32;
                        plan.slot_node.push(plan.len() as u32);
                        vm_of_node.push(v);
                        push(plan, NONE, slot, k as u32);
                    }
                }
            }
            plan.n_children[k] = plan.len() as u32 - plan.first_child[k];
            k += 1;
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
                if k >= n_roots && cpu.limit.is_some() {
                    plan.has_cpu_limit = true;
                }
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
            plan.has_cpu_limit |= sp.cpu.limit.is_some();
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
            &mut w.lo,
            &mut w.alloc,
            &mut w.alloc0,
            &mut w.knee,
            &mut w.hint_mem,
            &mut w.hint_cpu,
            &mut w.hint_cpu0,
            &mut w.node_cpu_usage,
            &mut w.node_cpu_demand,
        ] {
            reset(v, n, 0.0);
        }
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
        let active_decay = (-t / ACTIVE_DECAY_S).exp();
        let plan = &self.plan;
        let w = &mut self.work;
        let s = &mut self.samples;
        let scratch = &mut self.scratch;
        let n_slots = plan.slot_node.len();

        // 1. Workloads: raw per-vCPU demand and guest memory; memory want per VM.
        for (slot, wl) in self.slot_workloads.iter_mut().enumerate() {
            let k = plan.slot_node[slot] as usize;
            let o = &s.vms[slot];
            let off = o.vcpu_off as usize;
            let d = &mut s.vcpu_demand[off..off + o.n_vcpu as usize];
            let md = wl.eval(interval_s, o.mhz, o.memory_mb, d);
            let m = &mut s.mem[slot];
            m.set_guest(md.guest_mb, o.memory_mb);
            w.vm_active[slot] = md.active_mb;
            w.vm_touch[slot] = md.touch_mb_per_s;
            // W = min(content, limit, configured) (§7.2 step 1); the idle tax knee is `active`.
            w.cap[k] = m.content().min(plan.mem_lim[k]).min(o.memory_mb);
            w.knee[k] = md.active_mb;
        }

        // 2. Memory: hierarchical targets with the idle tax, then reclamation per VM.
        w.root_cap.copy_from_slice(&plan.root_mem_mb);
        for k in 0..plan.len() {
            if plan.node_slot[k] == NONE {
                w.knee[k] = f64::INFINITY; // pools pay no idle tax [A]
            }
        }
        bottom_up(
            plan,
            &plan.mem_res,
            Some(&plan.mem_lim),
            &w.root_cap,
            &mut w.cap,
            &mut w.lo,
            &mut w.acc,
            &mut w.acc_lo,
        );
        top_down(
            plan,
            &plan.mem_shares,
            Some(&w.knee),
            IDLE_TAX_K,
            &w.cap,
            &w.lo,
            &mut w.alloc,
            &mut w.hint_mem,
            scratch,
        );
        for root in &plan.roots {
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
        }
        // Then, in the same pass, the CPU side's runnable demand (memory stalls removed).
        w.host_busy.fill(0.0);
        for slot in 0..n_slots {
            let k = plan.slot_node[slot] as usize;
            let m = &mut s.mem[slot];
            let o = &mut s.vms[slot];
            m.step(&MemStepIn {
                memory_mb: o.memory_mb,
                reservation_mb: plan.mem_res[k],
                target_mb: w.alloc[k],
                active_mb: w.vm_active[slot],
                touch_mb_per_s: w.vm_touch[slot],
                interval_s: t,
                active_decay,
            });
            let off = o.vcpu_off as usize;
            let d = &mut s.vcpu_demand[off..off + o.n_vcpu as usize];
            let stall = m.stall;
            let mut total = 0.0;
            if stall > 0.0 {
                for x in d.iter_mut() {
                    *x /= 1.0 + stall;
                }
            }
            for x in d.iter() {
                total += *x;
            }
            o.demand = total;
            o.costop_k = costop_factor(d, o.mhz);
            w.cap[k] = plan.cpu_lim[k].min(total);
            w.alloc0[k] = total; // the cap without limits, used by the counterfactual
            w.host_busy[plan.slot_host[slot] as usize] += total / o.mhz;
        }

        // 3. CPU: capacity, entitlement (with the no-limit counterfactual), usage.
        for (h, rec) in self.hosts.iter().enumerate() {
            let sp = &rec.spec;
            w.host_cpu[h] = host_capacity_mhz(
                f64::from(sp.cores),
                f64::from(sp.mhz_per_core),
                sp.hyperthreading,
                w.host_busy[h],
            );
        }
        for (r, root) in plan.roots.iter().enumerate() {
            w.root_cap[r] = root.hosts.iter().map(|&h| w.host_cpu[h as usize]).sum();
        }
        if plan.has_cpu_limit {
            // Counterfactual without any limit (§7.1 step 5): VM caps are demand only.
            for &k in &plan.slot_node {
                let k = k as usize;
                std::mem::swap(&mut w.cap[k], &mut w.alloc0[k]);
            }
            let mut cap0 = std::mem::take(&mut w.cap);
            bottom_up(
                plan,
                &plan.cpu_res,
                None,
                &w.root_cap,
                &mut cap0,
                &mut w.lo,
                &mut w.acc,
                &mut w.acc_lo,
            );
            top_down(
                plan,
                &plan.cpu_shares,
                None,
                1.0,
                &cap0,
                &w.lo,
                &mut w.alloc,
                &mut w.hint_cpu0,
                scratch,
            );
            for root in &plan.roots {
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
            }
            // Restore the limited VM caps; keep the counterfactual allocations in `alloc0`.
            for &k in &plan.slot_node {
                let k = k as usize;
                let limited = w.alloc0[k];
                w.alloc0[k] = w.alloc[k];
                cap0[k] = limited;
            }
            w.cap = cap0;
        }
        bottom_up(
            plan,
            &plan.cpu_res,
            Some(&plan.cpu_lim),
            &w.root_cap,
            &mut w.cap,
            &mut w.lo,
            &mut w.acc,
            &mut w.acc_lo,
        );
        top_down(
            plan,
            &plan.cpu_shares,
            None,
            1.0,
            &w.cap,
            &w.lo,
            &mut w.alloc,
            &mut w.hint_cpu,
            scratch,
        );
        for root in &plan.roots {
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
        }
        w.host_usage.fill(0.0);
        w.host_demand.fill(0.0);
        w.host_mem.fill(MemAgg::default());
        for slot in 0..n_slots {
            let k = plan.slot_node[slot] as usize;
            let o = &mut s.vms[slot];
            let off = o.vcpu_off as usize;
            let d = &s.vcpu_demand[off..off + o.n_vcpu as usize];
            // Work-conserving: usage = entitlement, which never exceeds demand (§7.1 step 4).
            o.usage = w.alloc[k].min(o.demand);
            o.mu = water_level(d, o.usage);
            o.mu0 = if plan.has_cpu_limit {
                water_level(d, w.alloc0[k].min(o.demand))
            } else {
                o.mu
            };
            let h = plan.slot_host[slot] as usize;
            let m = &s.mem[slot];
            w.host_usage[h] += o.usage;
            w.host_demand[h] += o.demand;
            w.host_mem[h].add_vm(m);
            let parent = plan.parent[k] as usize;
            w.node_cpu_usage[parent] += o.usage;
            w.node_cpu_demand[parent] += o.demand;
            w.node_mem[parent].add_vm(m);
        }

        // 4. Aggregates: pools (bottom-up over the tree) and hosts.
        let n_roots = plan.roots.len();
        // VMs were added to their parents above; pools roll up here.
        for k in (0..plan.len()).rev() {
            if plan.node_slot[k] != NONE {
                continue;
            }
            let parent = plan.parent[k] as usize; // NONE only for roots (not used then)
            let o = &mut s.pools[plan.node_pool[k] as usize];
            o.cpu_usage = w.node_cpu_usage[k];
            o.cpu_demand = w.node_cpu_demand[k];
            o.cpu_entitlement = if k < n_roots {
                w.root_cap[k]
            } else {
                plan.cpu_res[k].max(w.alloc[k])
            };
            o.mem = w.node_mem[k];
            if k >= n_roots {
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
