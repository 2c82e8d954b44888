//! The emulator's per-interval cost at estate scale: one cluster of 50 hosts with fully
//! automated DRS and 1 000, 5 000 or 10 000 powered-on VMs (20, 100, 200 per host), each
//! 20 s interval running the whole path — the contention model's step, the realtime samples
//! and their historical rollups (300 s … 86 400 s), quick stats and pools' runtime, DRS's
//! balancing pass when the clock crosses a 5-minute mark, and the hosts' HA bookkeeping.
//! Criterion's throughput is VM-steps per second (VMs × intervals). An iteration is 15
//! intervals (5 virtual minutes), so each includes one DRS pass.
//!
//! Target (issue 12): ≥ 5 M VM-steps/s with DRS and rollups at 10 000 VMs. Measured on this
//! shared 2-core machine, the code before and after the first cut run back to back:
//! before, 50.0 K, 44.7 K, 40.7 K VM-steps/s at 1 000 / 5 000 / 10 000 VMs (≈ 25 µs per
//! VM-step); after, 104.7 K, 100.6 K, 94.3 K (≈ 10.7 µs per VM-step, slope between 1 000 and
//! 10 000 VMs). The cut: the interval no longer groups samples into a map of vectors nor
//! clones every entity's MoRef (the model already yields them grouped, in order), the store
//! finds a series by the order it was last recorded in rather than a string-keyed tree
//! search, quick stats leave equal values in place, and VMs run by the default agent (which
//! does nothing at a tick) are not read for a tick. Still far short: at 10 000 VMs the
//! `PerfStore` is half of an interval (one ring and one history per series, each its own heap
//! allocation, so each sample is a cache miss: the columnar store of the redesign), quick
//! stats a quarter (`Inventory::update` finds the VM twice by name and copies its display
//! name twice to detect a rename; then the property tree), and the model's sample
//! production a tenth (scheduler-model's `step` bench: 8.6 M VM-steps/s at 10 000 VMs; a
//! DRS pass adds 0.3 ms per 5 minutes).
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
    // Warm: the plan built, the first realtime hour's rings started.
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
