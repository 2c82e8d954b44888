//! Profiling driver: builds the bench's world (benches/world.rs) and runs a few steps,
//! so `valgrind --tool=callgrind` sees the step without criterion's machinery.
//!
//! `cargo build --release --example profile_step -p scheduler-model`, then
//! `valgrind --tool=callgrind target/release/examples/profile_step 10000 5`.
//! Prints a checksum of the samples so results can be compared across changes.

#[path = "../benches/world.rs"]
mod world;

use scheduler_model::*;
use world::build;

fn main() {
    let mut args = std::env::args().skip(1);
    let vms: u32 = args.next().map_or(10_000, |a| a.parse().expect("vms"));
    let steps: u32 = args.next().map_or(5, |a| a.parse().expect("steps"));
    let mut w = build(vms, vms / 20);
    let (t0, c0) = (std::time::Instant::now(), cpu_ns());
    run_steps(&mut w, steps);
    let (dt, dc) = (t0.elapsed(), (cpu_ns() - c0) as f64 * 1e-9);
    // Checksum over every sample (hashing order is the samples' fixed order).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for s in w.samples().iter() {
        h = (h ^ s.value as u64).wrapping_mul(0x100_0000_01b3);
    }
    // PROFILE_DUMP=path writes every sample (one a line) to compare runs with a tolerance.
    if let Ok(path) = std::env::var("PROFILE_DUMP") {
        use std::fmt::Write as _;
        let mut out = String::new();
        for s in w.samples().iter() {
            let _ = writeln!(
                out,
                "{:?} {:?} {:?} {}",
                s.entity, s.counter, s.instance, s.value
            );
        }
        std::fs::write(path, out).expect("write dump");
    }
    println!(
        "{vms} VMs, {steps} steps: wall {:.3} ms/step; on-CPU {:.3} ms/step = {:.2} M VM-steps/s; \
         checksum {h:016x}",
        dt.as_secs_f64() * 1e3 / f64::from(steps),
        dc * 1e3 / f64::from(steps),
        f64::from(vms) * f64::from(steps) / dc / 1e6
    );
}

/// The measured steps, kept out of line so callgrind can collect just them:
/// `--toggle-collect='profile_step::run_steps'`.
#[inline(never)]
fn run_steps(w: &mut World, steps: u32) {
    for _ in 0..steps {
        w.step(20);
    }
}

/// This thread's on-CPU time in ns (Linux schedstat; 0 elsewhere): on a shared machine wall
/// time includes time spent descheduled.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
