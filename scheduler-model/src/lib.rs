//! `scheduler_model`: a pure, deterministic model of how ESXi shares CPU and memory, producing
//! the performance counters vCenter would report (`cpu.ready.summation`, `mem.vmmemctl.average`,
//! …) every 20 s realtime interval.
//!
//! Core types:
//! - [`World`] holds the inventory — hosts ([`HostSpec`]), root and child resource pools
//!   ([`PoolSpec`]), VMs ([`VmSpec`]) with their [`Workload`] — applies admission control on
//!   reservations ([`AdmissionError`]), and advances time with [`World::step`].
//! - [`Allocation`] / [`Shares`]: vSphere's shares, reservation, limit and expandable reservation.
//! - [`Samples`] is the last step's output: [`Sample`]s of a [`Counter`] for an [`Entity`]
//!   (host, pool, VM, and per-vCPU instances), scaled as the vSphere API reports them.
//!   [`CounterInfo`] gives each counter's unit, rollup, stats type and level.
//! - [`VmQuickStats`], [`PoolUsage`], [`HostUsage`] fill vSphere runtime properties.
//! - [`SimRng`] is the only randomness: a named portable generator behind a small API.
//!
//! One step (see `MODEL.md` for every equation and its source): workloads give per-vCPU demand
//! and guest memory; memory targets are water-filled down the pool tree with the idle-memory tax,
//! and each VM balloons, compresses, swaps and faults towards its target; CPU entitlement is
//! water-filled with shares, reservations (unused reservation is lent) and limits, usage split
//! per vCPU, and ready split into contention and max-limited using a no-limit counterfactual.
//!
//! No IO, no clock, no threads, no global state: same seed and same calls ⇒ identical samples.

mod admission;
mod alloc;
mod counters;
mod cpu;
mod divvy;
pub mod drs;
mod error;
mod hosts;
mod ids;
mod memory;
mod plan;
mod profile;
mod repeats;
mod rng;
mod samples;
mod spec;
mod stats;
mod step;
mod trace;
mod vm_res;
mod workload;
mod world;

pub use alloc::{Allocation, Shares};
pub use counters::{Applies, Counter, CounterInfo, Rollup, StatsType, Unit, counter_infos};
pub use cpu::VcpuTimes;
pub use error::{AdmissionError, AdmissionKind, ModelError, Resource};
pub use hosts::{HostState, RootReservations, Validity};
pub use ids::{Entity, HostId, PoolId, VmId};
pub use profile::{DAY_S, MAX_PROFILE_STEPS, Profile, ProfileStep};
pub use repeats::RepeatMemo;
pub use rng::SimRng;
pub use samples::{EntitySamples, Sample, Samples};
pub use spec::{HostSpec, MAX_VCPUS, PoolSpec, VmSpec};
pub use stats::{HostUsage, PoolUsage, ResourceUsage, VmQuickStats};
pub use trace::{
    MAX_TRACE_BYTES, MAX_TRACE_INTERVAL_S, MAX_TRACE_ROWS, Trace, TraceError, parse_timestamp,
    parse_trace_csv,
};
pub use workload::{DEFAULT_STRESS_TOUCH_MB_PER_S, Dist, TraceSample, Varying, Workload};
pub use world::World;

/// Model constants, exposed for documentation and calibration tests.
pub mod params {
    pub use crate::cpu::{BUSY_VCPU_FRACTION, COSTOP_KAPPA, DISPATCH_READY_FRACTION, HT_GAIN};
    pub use crate::memory::{
        ACTIVE_DECAY_S, BALLOON_MAX_FRACTION, BALLOON_RATE_MB_PER_S, COMPRESSIBLE_FRACTION,
        COMPRESSION_CACHE_FRACTION, COMPRESSION_RATIO, DECOMPRESS_S_PER_MB, IDLE_TAX, IDLE_TAX_K,
        SHARED_FRACTION, SWAPIN_S_PER_MB,
    };
    pub use crate::workload::{
        GUEST_BASE_ACTIVE_MB, GUEST_BASE_MB, IDLE_VCPU_FRACTION, IO_WORKER_FRACTION,
        SAMPLE_PERIOD_S,
    };
}
