//! The emulator's per-interval cost at estate scale: one cluster of 50 hosts with fully
//! automated DRS and 1 000, 5 000 or 10 000 powered-on VMs (20, 100, 200 per host), each
//! 20 s interval running the whole path — the contention model's step, the realtime samples
//! and their historical rollups (300 s … 86 400 s), quick stats and pools' runtime, DRS's
//! balancing pass when the clock crosses a 5-minute mark, and the hosts' HA bookkeeping.
//! Criterion's throughput is VM-steps per second (VMs × intervals). An iteration is 15
//! intervals (5 virtual minutes), so each includes one DRS pass.
//!
//! Target (issue 12): ≥ 5 M VM-steps/s with DRS and rollups at 10 000 VMs. Measured on this
//! shared 2-core machine at 1 000 / 5 000 / 10 000 VMs:
//! - session 9's start: 50.0 K, 44.7 K, 40.7 K VM-steps/s (≈ 25 µs per VM-step);
//! - after its first cut (no per-interval map of vectors, no MoRef clones, series found by
//!   recording order, quick stats left in place when equal, no tick for the default agent):
//!   104.7 K, 100.6 K, 94.3 K;
//! - after the columnar perf store (one delta-varint timeline per entity and one column per
//!   series, shared series layouts), one tree search per recorded entity and per inventory
//!   update, and leaf updates that copy no name: 224.8 K, 129.3 K, 124.9 K (≈ 8 µs per
//!   VM-step at 10 000).
//!
//! - session 11: an entity's realtime samples as rows in one buffer, rolled up into history in
//!   batches when a period closes, entities found by a hint; quick stats that skip the rewrite
//!   when their inputs repeat; a VM's vCPU time splits computed once per interval; equal
//!   data objects shared between VMs; a row's unchanged values a bit each: 480.2 K, 458.9 K,
//!   393.0 K (≈ 2.5 µs per VM-step at 10 000, 3.1× session 10's).
//!
//! - session 12: the bench starts from steady state (every entity holds its realtime hour, as a
//!   server starts), so the intervals measured drop old rows rather than grow buffers:
//!   482.5 K, 444.2 K, 401.1 K (374–408 K at 10 000 over three runs; ccd258b measured the same
//!   way, alternated: 490.7 K, 454.6 K, 398–425 K: no change). Two tries that profiles
//!   suggested gave nothing measurable and were dropped: checking the caller's hint against a
//!   reference value held inline (the string compare was 4 % of the interval in `perf`), and
//!   decoding only archived series when rows are rolled up.
//!
//! - session 13: each entity's values written by the model in one pass (`write_values`) and
//!   named once per shape (kind and vCPU count); an entity whose series are its shape's takes
//!   them as its row with no per-series lookup (`PerfStore::record_row_hinted`); rounding
//!   without libm's call; rows encoded by index into a zeroed tail; ticks walk only the VMs
//!   of non-default agents: 842.8 K, 775.5 K, 623.5 K (604–643 K at 10 000; this session's
//!   first run of 254e8ea: 421–434 K). Then rows encoded in a scratch buffer and a VM's vCPU
//!   sums computed once, alternated with the build before: 831 K, 712 K, 647–649 K (against
//!   814 K, 693 K, 545–589 K).
//!
//! Still 7.7× short. What is left at 10 000 VMs (perf, share of the interval): rolling rows
//! up at 300 s boundaries ≈ 20 % (decoding the period's rows, feeding each archived series),
//! the model's values ≈ 16 %, quick stats ≈ 14 % (the object's tree search, a cache miss a
//! level, and its stamp), encoding rows ≈ 12 %, the model's step ≈ 3 %. Cost per VM-step
//! grows with the estate (1.19, 1.29, 1.60 µs at 1 000, 5 000, 10 000 VMs): the work is
//! memory-bound, a VM's rows, histories and property tree each a cold line. Reaching 5 M
//! with samples kept as vCenter keeps them would take a layout built for it: one interval's
//! raw model outputs kept as columns (derived per series only when read or rolled up), and
//! quick stats kept as typed data outside the generic property trees.
//!
//! `cargo bench -p vcsim --bench estate`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vcsim::config::ModelCounts;
use vcsim::vmodl::{DataObject, Value};
use vcsim::{Config, Emulator};

const INTERVALS_PER_ITER: u64 = 15;

fn estate(vms_per_host: u32) -> Emulator {
    let config = Config {
        counts: ModelCounts {
            datacenters: 1,
            clusters: 1,
            hosts_per_cluster: 50,
            vms_per_host,
            standalone_hosts: 0,
        },
        ..Config::default()
    };
    let mut emu = Emulator::new(config).expect("inventory");
    let cluster = emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "ClusterComputeResource")
        .map(|o| o.moref.clone())
        .expect("a cluster");
    let spec = DataObject::new("ClusterConfigSpecEx")
        .with(
            "drsConfig",
            DataObject::new("ClusterDrsConfigInfo")
                .with("enabled", Value::Bool(true))
                .with(
                    "defaultVmBehavior",
                    Value::enumv("DrsBehavior", "fullyAutomated"),
                )
                .into_value(),
        )
        .into_value();
    emu.reconfigure_cluster("bench", &cluster, &spec, true)
        .expect("DRS on");
    // Steady state, as a server starts (`vicbed vcsim` with its hour, `serve` with a day):
    // every entity already holds its realtime hour, so the intervals measured drop old rows
    // and roll up as a long-running server does, rather than growing buffers that a fresh
    // emulator fills in its first hour.
    emu.prefill_history(3600);
    // Warm: the plan built.
    emu.advance(20_000 * INTERVALS_PER_ITER as i64);
    emu
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("estate");
    g.sample_size(10);
    for vms_per_host in [20u32, 100, 200] {
        let vms = u64::from(vms_per_host) * 50;
        let mut emu = estate(vms_per_host);
        g.throughput(Throughput::Elements(vms * INTERVALS_PER_ITER));
        g.bench_function(BenchmarkId::new("interval/vms", vms), |b| {
            b.iter(|| emu.advance(20_000 * INTERVALS_PER_ITER as i64))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
