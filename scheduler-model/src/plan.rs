//! The flattened resource tree the step walks, rebuilt only when topology or settings change.
//!
//! Nodes (pools and powered-on VMs) are laid out in breadth-first order from each root, so the
//! children of every node are contiguous: the top-down divvy walks the arrays forward and the
//! bottom-up cap/floor pass walks them backward, both without recursion or allocation.
//! Per-node settings are struct-of-arrays.
//!
//! Each root's subtree is one contiguous block of nodes (and of slots): roots share nothing (a
//! host belongs to one root), so a step runs root by root over small, cache-resident ranges,
//! and per-root shortcuts (e.g. skipping the no-limit counterfactual) apply independently.

/// Sentinel for "no index".
pub(crate) const NONE: u32 = u32::MAX;

/// One root pool (cluster or standalone host) and the node and slot blocks of its subtree.
#[derive(Clone, Debug, Default)]
pub(crate) struct RootPlan {
    /// Host indices that give it capacity.
    pub hosts: Vec<u32>,
    /// Its subtree's nodes, `nodes.0..nodes.1`; the root itself is `nodes.0`.
    pub nodes: (u32, u32),
    /// Its VMs' slots, `slots.0..slots.1`.
    pub slots: (u32, u32),
    /// Its pools' entries in `Plan::pool_nodes`, `pools.0..pools.1` (the root first).
    pub pools: (u32, u32),
}

impl RootPlan {
    /// Node indices of the subtree.
    #[inline]
    pub fn node_range(&self) -> core::ops::Range<usize> {
        self.nodes.0 as usize..self.nodes.1 as usize
    }

    /// Slots of the subtree's VMs.
    #[inline]
    pub fn slot_range(&self) -> core::ops::Range<usize> {
        self.slots.0 as usize..self.slots.1 as usize
    }

    /// Range of `Plan::pool_nodes` holding the subtree's pools.
    #[inline]
    pub fn pool_range(&self) -> core::ops::Range<usize> {
        self.pools.0 as usize..self.pools.1 as usize
    }
}

/// The flattened tree.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    /// Pool index of each node, or `NONE` for a VM node.
    pub node_pool: Vec<u32>,
    /// Slot (dense index of a powered-on VM, in tree order) of each node, `NONE` for a pool.
    pub node_slot: Vec<u32>,
    /// Parent node, `NONE` for roots (the only test for "is a root").
    pub parent: Vec<u32>,
    /// First child node (children are contiguous).
    pub first_child: Vec<u32>,
    /// Number of children.
    pub n_children: Vec<u32>,
    /// Number of children that are pools: they come first, then the VM children.
    pub n_child_pools: Vec<u32>,
    /// Pool nodes in breadth-first order (the tree passes only visit pools and read their
    /// children: VMs are leaves).
    pub pool_nodes: Vec<u32>,
    /// CPU shares, reservation (MHz), limit (MHz, +∞ if none) per node.
    pub cpu_shares: Vec<f64>,
    /// See `cpu_shares`.
    pub cpu_res: Vec<f64>,
    /// See `cpu_shares`.
    pub cpu_lim: Vec<f64>,
    /// Memory shares, reservation (MB), limit (MB, +∞ if none) per node.
    pub mem_shares: Vec<f64>,
    /// See `mem_shares`.
    pub mem_res: Vec<f64>,
    /// See `mem_shares`.
    pub mem_lim: Vec<f64>,
    /// Roots.
    pub roots: Vec<RootPlan>,
    /// VM node indices of powered-on VMs, grouped by host; `host_vm_start[h]..host_vm_start[h+1]`.
    pub host_vm_nodes: Vec<u32>,
    /// Offsets into `host_vm_nodes`, one more than there are hosts.
    pub host_vm_start: Vec<u32>,
    /// Node of each slot (VM nodes in tree order).
    pub slot_node: Vec<u32>,
    /// Host index of each slot.
    pub slot_host: Vec<u32>,
    /// Memory the divvy may hand out per root (indexed like `roots`): Σ hosts' installed −
    /// VMkernel − minFree − VM overheads.
    pub root_mem_mb: Vec<f64>,
    /// Same, per host.
    pub host_mem_mb: Vec<f64>,
    /// Total vCPUs of powered-on VMs.
    pub total_vcpus: usize,
}

impl Plan {
    /// Clears everything while keeping capacity.
    pub fn clear(&mut self) {
        self.node_pool.clear();
        self.node_slot.clear();
        self.parent.clear();
        self.first_child.clear();
        self.n_children.clear();
        self.n_child_pools.clear();
        self.pool_nodes.clear();
        self.cpu_shares.clear();
        self.cpu_res.clear();
        self.cpu_lim.clear();
        self.mem_shares.clear();
        self.mem_res.clear();
        self.mem_lim.clear();
        self.roots.clear();
        self.host_vm_nodes.clear();
        self.host_vm_start.clear();
        self.slot_node.clear();
        self.slot_host.clear();
        self.root_mem_mb.clear();
        self.host_mem_mb.clear();
        self.total_vcpus = 0;
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Children of `node` as a node-index range.
    #[inline]
    pub fn children(&self, node: usize) -> core::ops::Range<usize> {
        let s = self.first_child[node] as usize;
        s..s + self.n_children[node] as usize
    }

    /// The VM children of `node` (the tail of its children).
    #[inline]
    pub fn vm_children(&self, node: usize) -> core::ops::Range<usize> {
        let s = self.first_child[node] as usize;
        s + self.n_child_pools[node] as usize..s + self.n_children[node] as usize
    }
}
