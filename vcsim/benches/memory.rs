//! Emulator memory per VM at estate scale: resident memory after building one cluster of
//! 32 VMs per host at 1 024, 4 096 and 10 016 VMs, and again after one and two virtual
//! hours of 20 s intervals (the realtime hour full, its rollups started). Each size runs in a
//! child process of its own, so one size's heap does not hide another's. Not a criterion
//! bench: it reports bytes (VmRSS from /proc), not time, and the hour's wall time as a
//! by-product.
//!
//! Issue 17's goal is ≤ 10 KB per VM steady state including one hour of realtime samples.
//! Measured at rev 7e9a856 (2 cores, release): after 1 h, 65 MiB at 1 024 VMs and 546 MiB at
//! 10 016 (≈ 55 KB per VM). Session 11 (realtime samples as rows in one buffer per entity;
//! equal data objects shared between VMs; a row's unchanged values a bit each): built 30.2 /
//! 24.5 / 23.4 KB per VM and after 1 h 40.1 / 33.9 / 32.8 KB per VM at 1 024 / 4 096 /
//! 10 016 VMs (43 / 138 / 323 MiB): ≈ 3.8 KB of realtime rows (11.6 KB before the bitmap),
//! 4.2 KB of rollups, ≈ 11 KB of property trees a VM does not share (its
//! quick stats, summary.config, disk and NIC), the rest maps, the model and the allocator.
//! Before the columnar store the hour alone took 189 KB per VM (236 MiB at 1 024 VMs).
//!
//! `cargo bench -p vcsim --bench memory` (all sizes) or `… --bench memory -- 4096`.

use std::process::Command;
use vcsim::{Config, Emulator, ModelCounts};

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn one(vms: u32) {
    let hosts = vms.div_ceil(32);
    let vms = hosts * 32;
    let before = rss_bytes();
    let t = std::time::Instant::now();
    let config = Config {
        counts: ModelCounts {
            datacenters: 1,
            clusters: 1,
            hosts_per_cluster: hosts,
            vms_per_host: 32,
            standalone_hosts: 0,
        },
        ..Config::default()
    };
    let mut emu = Emulator::new(config).expect("inventory");
    let built = rss_bytes();
    let build_s = t.elapsed().as_secs_f64();
    let per_vm = |b: u64| b.saturating_sub(before) as f64 / f64::from(vms) / 1024.0;
    let t = std::time::Instant::now();
    emu.advance(3_600_000);
    let hour_s = t.elapsed().as_secs_f64();
    let one_hour = rss_bytes();
    emu.advance(3_600_000);
    let two_hours = rss_bytes();
    let vm = emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "VirtualMachine")
        .map(|o| o.moref.clone())
        .expect("a VM");
    println!(
        "{vms:>6} VMs: built {:.1} KB/VM ({build_s:.2} s); after 1 h {:.1} KB/VM ({:.0} MiB, hour in {hour_s:.2} s); after 2 h {:.1} KB/VM; one VM: {} series, realtime {} B, rollups {} B",
        per_vm(built),
        per_vm(one_hour),
        one_hour as f64 / 1_048_576.0,
        per_vm(two_hours),
        emu.perf.series_ids(&vm).len(),
        emu.perf.realtime_heap_bytes(&vm),
        emu.perf.history_heap_bytes(&vm),
    );
}

fn main() {
    // Cargo passes `--bench`; a number picks one size.
    let sizes: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    match sizes.as_slice() {
        [n] => one(*n),
        _ => {
            let exe = std::env::current_exe().expect("own path");
            for n in [1_024u32, 4_096, 10_016] {
                let status = Command::new(&exe).arg(n.to_string()).status();
                if !status.is_ok_and(|s| s.success()) {
                    eprintln!("the {n}-VM run failed");
                    std::process::exit(1);
                }
            }
        }
    }
}
