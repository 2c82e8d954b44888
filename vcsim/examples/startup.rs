//! Builds an emulator with HOSTS × VMS_PER_HOST VMs in one cluster and reports the build
//! time and the process's resident memory: `cargo run --release -p vcsim --example startup -- 32 32`.
//! A third number, PAST_S, also fills that many seconds of history (as `vicbed vcsim` fills
//! its hour) and reports the time it took.

use std::time::Instant;
use vcsim::{Config, Emulator, ModelCounts};

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (hosts, vms) = (
        args.first().copied().unwrap_or(32),
        args.get(1).copied().unwrap_or(32),
    );
    let before = rss_kb();
    let started = Instant::now();
    let config = Config {
        counts: ModelCounts {
            datacenters: 1,
            clusters: 1,
            hosts_per_cluster: hosts,
            vms_per_host: vms,
            standalone_hosts: 0,
        },
        ..Config::default()
    };
    let mut emu = Emulator::new(config).expect("inventory builds");
    let elapsed = started.elapsed();
    if let Some(&past_s) = args.get(2) {
        let prefill_started = Instant::now();
        let steps = emu.prefill_history(i64::from(past_s));
        println!(
            "prefill: {past_s} s of history in {steps} steps, {:.1} ms",
            prefill_started.elapsed().as_secs_f64() * 1000.0
        );
    }
    println!(
        "{} VMs: built in {:.1} ms; RSS {:.1} MB (process before: {:.1} MB); {} objects",
        hosts * vms,
        elapsed.as_secs_f64() * 1000.0,
        rss_kb() as f64 / 1024.0,
        before as f64 / 1024.0,
        emu.inv.len()
    );
}
