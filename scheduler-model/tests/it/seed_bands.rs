//! The seed experiment's observed bands (issue 3 item 5), as tests on the model.

use crate::common::*;
use scheduler_model::*;

const CPU: [Counter; 6] = [
    Counter::CpuEntitlementLatest,
    Counter::CpuDemandAverage,
    Counter::CpuReadySummation,
    Counter::CpuMaxlimitedSummation,
    Counter::CpuUsagemhzAverage,
    Counter::CpuCostopSummation,
];

fn cpu_run(limited: bool) -> Vec<Vec<i64>> {
    let mut s = seed(limited, Workload::stress_cpu(1, Some(300)));
    let rows = series(&mut s.world, s.container, &CPU, 15);
    // The appliance's modest demand is met in both cases (its shares exceed its demand).
    let app = s
        .world
        .samples()
        .value(Entity::Vm(s.appliance), Counter::CpuUsagemhzAverage, None);
    assert_eq!(app, Some(i64::from(APPLIANCE_MHZ)));
    rows
}

fn mean(xs: impl Iterator<Item = i64>) -> f64 {
    let v: Vec<i64> = xs.collect();
    v.iter().sum::<i64>() as f64 / v.len() as f64
}

#[test]
fn cpu_stress_under_vch_limit() {
    let rows = cpu_run(true);
    for r in &rows {
        eprintln!(
            "limited cpu: ent {} demand {} ready {} maxlim {} usage {} costop {}",
            r[0], r[1], r[2], r[3], r[4], r[5]
        );
    }
    for r in &rows {
        let (ent, demand, ready, maxlim) = (r[0], r[1], r[2], r[3]);
        assert!(
            ent < 500,
            "entitlement {ent} must stay below the 500 MHz limit"
        );
        assert!((1700..=1900).contains(&demand), "demand {demand} ≈ 1800");
        assert!(ready >= 12_000, "ready {ready} ms ≥ 60 % of the busy vCPU");
        assert!(
            maxlim * 10 >= ready * 9,
            "ready {ready} mostly max-limited ({maxlim})"
        );
    }
}

#[test]
fn cpu_stress_without_limits() {
    let limited = cpu_run(true);
    let free = cpu_run(false);
    for r in &free {
        eprintln!(
            "unlimited cpu: ent {} demand {} ready {} maxlim {} usage {}",
            r[0], r[1], r[2], r[3], r[4]
        );
    }
    let ratio = mean(free.iter().map(|r| r[0])) / mean(limited.iter().map(|r| r[0]));
    eprintln!("entitlement ratio {ratio:.2}");
    assert!((4.0..=6.0).contains(&ratio), "entitlement ratio {ratio}");
    for r in &free {
        assert!(r[2] < 1_000, "ready {} ms < 5 % of the 20 s sample", r[2]);
        assert_eq!(r[3], 0, "no max-limited time without limits");
    }
}

const MEM: [Counter; 6] = [
    Counter::MemLatencyAverage,
    Counter::MemVmmemctlAverage,
    Counter::MemSwappedAverage,
    Counter::MemCompressedAverage,
    Counter::MemEntitlementAverage,
    Counter::MemSwapinRateAverage,
];

fn mem_run(limited: bool) -> Vec<Vec<i64>> {
    let mut s = seed(limited, Workload::stress_vm(1, 512, Some(300)));
    series(&mut s.world, s.container, &MEM, 15)
}

#[test]
fn memory_stress_under_vch_limit() {
    let rows = mem_run(true);
    for r in &rows {
        eprintln!(
            "limited mem: latency {} balloon {} swapped {} compressed {} ent {} swapinRate {}",
            r[0], r[1], r[2], r[3], r[4], r[5]
        );
    }
    let latency = mean(rows.iter().map(|r| r[0])) / 100.0;
    eprintln!("mean mem.latency {latency:.1} %");
    assert!(
        (30.0..=50.0).contains(&latency),
        "mem.latency average {latency} %"
    );
    assert!(
        rows.iter().all(|r| r[1] > 0),
        "balloon inflates from the first sample"
    );
}

#[test]
fn memory_stress_without_limits() {
    for r in mem_run(false) {
        assert_eq!(
            (r[0], r[1], r[2], r[3]),
            (0, 0, 0, 0),
            "latency, balloon, swap, compression"
        );
    }
}
