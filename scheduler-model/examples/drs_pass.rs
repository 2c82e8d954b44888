//! Times one DRS balancing pass (and one placement) on 50 hosts at 1 000, 5 000 and 10 000
//! VMs: balanced (the steady state) and with a fifth of the hosts overloaded (a pass that
//! makes its full quota of moves). `cargo run --release -p scheduler-model --example drs_pass`.

use scheduler_model::drs::{DrsCluster, DrsHost, DrsRules, DrsVm, balance, place};
use scheduler_model::{HostId, VmId};
use std::time::Instant;

fn cluster(vms: u32, skewed: bool) -> DrsCluster {
    let hosts = 50u32;
    DrsCluster {
        hosts: (0..hosts)
            .map(|i| DrsHost {
                id: HostId(i),
                cpu_capacity_mhz: 64_000,
                mem_capacity_mb: 500_000,
                admits: true,
                cpu_unreserved_mhz: 64_000,
                mem_unreserved_mb: 500_000,
                logical_cpus: 64,
            })
            .collect(),
        vms: (0..vms)
            .map(|i| DrsVm {
                id: VmId(i),
                // Skewed: every VM on the first 10 hosts.
                host: HostId(if skewed { i % 10 } else { i % hosts }),
                cpu_mhz: 100.0 + f64::from(i % 13) * 20.0,
                mem_mb: 1024.0 + f64::from(i % 7) * 256.0,
                cpu_reservation_mhz: 0,
                mem_reservation_mb: 0,
                vcpus: 2,
                powered_on: true,
                movable: true,
            })
            .collect(),
    }
}

fn main() {
    let rules = DrsRules::default();
    for n in [1_000, 5_000, 10_000] {
        for skewed in [false, true] {
            let c = cluster(n, skewed);
            let reps = 5;
            let t = Instant::now();
            let mut moves = 0;
            for _ in 0..reps {
                moves = balance(&c, &rules, 3).moves.len();
            }
            let pass = t.elapsed() / reps;
            let t = Instant::now();
            let probe = c.vms[0].clone();
            for _ in 0..reps {
                std::hint::black_box(place(&c, &rules, &probe));
            }
            let placement = t.elapsed() / reps;
            println!(
                "{n:>6} VMs, 50 hosts, {}: pass {pass:?} ({moves} moves), placement {placement:?}",
                if skewed { "skewed  " } else { "balanced" }
            );
        }
    }
}
