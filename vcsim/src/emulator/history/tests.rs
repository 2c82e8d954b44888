//! Clusters' and datastores' history, and the prefilled past of a fresh emulator.

use super::*;
use crate::config::Config;
use crate::perf::{HISTORICAL_INTERVALS, Resolution, Window};

const PAST_DAY: Resolution = Resolution::Historical(0);
const DAY_S: i64 = 86_400;

fn emulator() -> Emulator {
    Emulator::new(Config::default()).expect("default inventory builds")
}

fn first(emu: &Emulator, ty: &str) -> MoRef {
    emu.inv
        .iter()
        .find(|o| o.moref.ty.as_ref() == ty)
        .unwrap_or_else(|| panic!("a {ty}"))
        .moref
        .clone()
}

fn cluster_hosts(emu: &Emulator, cluster: &MoRef) -> Vec<MoRef> {
    emu.inv.refs(cluster, "host")
}

fn key(name: &str) -> i32 {
    key_of(name).unwrap_or_else(|| panic!("{name}"))
}

/// Advances one realtime interval at a time, computing history after each as step.rs does.
fn advance(emu: &mut Emulator, seconds: i64) {
    for _ in 0..seconds / REALTIME_INTERVAL_S {
        emu.advance(REALTIME_INTERVAL_S * 1000);
        let now_ms = emu.clock.now_ms();
        emu.record_history(now_ms);
    }
}

fn past_day(emu: &Emulator, entity: &MoRef, counter: &str) -> Vec<(i64, i64)> {
    emu.perf.samples_at(PAST_DAY, entity, key(counter), "")
}

#[test]
fn every_counter_computed_here_is_catalogued() {
    let k = keys();
    for key in [
        k.cpu_usage,
        k.cpu_usagemhz,
        k.cpu_totalmhz,
        k.mem_usage,
        k.mem_consumed,
        k.mem_overhead,
        k.mem_vmmemctl,
        k.mem_totalmb,
        k.disk_capacity,
        k.disk_used,
        k.disk_provisioned,
    ] {
        let def = crate::perf::catalogue::by_key(key).expect("catalogued");
        // Level 1 aggregates: every default interval archives them.
        assert_eq!(def.level, 1, "{}", def.full_name());
    }
    assert_eq!(k.cpu_totalmhz, 278);
    assert_eq!(k.disk_used, 281);
}

#[test]
fn a_cluster_sums_its_hosts() {
    let mut emu = emulator();
    advance(&mut emu, 600);
    let cluster = first(&emu, "ClusterComputeResource");
    let hosts = cluster_hosts(&emu, &cluster);
    assert_eq!(hosts.len(), 3);
    // No realtime for the cluster: QueryPerf with intervalId 20 has nothing.
    assert!(
        emu.perf
            .samples(&cluster, key("cpu.usagemhz.average"), "")
            .is_empty()
    );
    let got = past_day(&emu, &cluster, "cpu.usagemhz.average");
    assert_eq!(got.len(), 2);
    for (i, &(t, cluster_mhz)) in got.iter().enumerate() {
        assert_eq!(t, emu.clock.start_ms() + (i as i64 + 1) * 300_000);
        let host_sum: i64 = hosts
            .iter()
            .map(|h| past_day(&emu, h, "cpu.usagemhz.average")[i].1)
            .sum();
        // Σ of rounded host means vs the rounded mean of Σ: at most half a MHz per host.
        assert!(
            (cluster_mhz - host_sum).abs() <= hosts.len() as i64,
            "{cluster_mhz} vs {host_sum}"
        );
    }
    let total = past_day(&emu, &cluster, "cpu.totalmhz.average");
    let capacity: i64 = hosts
        .iter()
        .map(|h| {
            let id = emu.ids.hosts[&h.value];
            let spec = emu.world.host_spec(id).unwrap();
            i64::from(spec.cores) * i64::from(spec.mhz_per_core)
        })
        .sum();
    assert_eq!(total[0].1, capacity);
    let usage = past_day(&emu, &cluster, "cpu.usage.average");
    assert_eq!(usage[0].1, percent_100(got[0].1, capacity));
    let consumed = past_day(&emu, &cluster, "mem.consumed.average");
    let host_consumed: i64 = hosts
        .iter()
        .map(|h| past_day(&emu, h, "mem.consumed.average")[0].1)
        .sum();
    assert!((consumed[0].1 - host_consumed).abs() <= hosts.len() as i64);
    let ids = emu.perf.select_at(PAST_DAY, &cluster, &[]);
    assert_eq!(ids.len(), 8, "{ids:?}");
}

#[test]
fn datastores_are_sampled_every_30_minutes_from_their_summary() {
    let mut emu = emulator();
    advance(&mut emu, 3_600);
    let ds = first(&emu, "Datastore");
    let summary = emu.inv.prop(&ds, "summary").unwrap().clone();
    let field = |f: &str| summary.field(f).and_then(Value::as_i64).unwrap();
    let capacity = past_day(&emu, &ds, "disk.capacity.latest");
    // 08:00 start: samples at 08:30 and 09:00 only.
    let start_ms = emu.clock.start_ms();
    assert_eq!(
        capacity,
        [
            (start_ms + 1_800_000, field("capacity") / 1024),
            (start_ms + 3_600_000, field("capacity") / 1024)
        ]
    );
    let used = (field("capacity") - field("freeSpace")) / 1024;
    assert_eq!(past_day(&emu, &ds, "disk.used.latest")[0].1, used);
    assert!(past_day(&emu, &ds, "disk.provisioned.latest")[0].1 >= used);
    // The week interval has the same samples at 30-minute resolution.
    let week = emu.perf.samples_at(
        Resolution::Historical(1),
        &ds,
        key("disk.capacity.latest"),
        "",
    );
    assert_eq!(week.len(), 2);
}

#[test]
fn a_prefilled_day_ends_at_now_and_the_clock_goes_on() {
    let mut emu = emulator();
    let start_ms = emu.clock.now_ms();
    // 23 hours of 300 s steps, then the realtime hour in 20 s steps.
    assert_eq!(emu.prefill_history(DAY_S), 23 * 12 + 180);
    assert_eq!(emu.clock.now_ms(), start_ms, "the clock does not move");
    let vm = first(&emu, "VirtualMachine");
    let host = first(&emu, "HostSystem");
    let cluster = first(&emu, "ClusterComputeResource");
    let ds = first(&emu, "Datastore");
    let window = Window::default().within(start_ms, DAY_S * 1000);
    for (entity, counter, want) in [
        (&vm, "cpu.usagemhz.average", 288),
        (&host, "cpu.usagemhz.average", 288),
        (&cluster, "cpu.usagemhz.average", 288),
        (&ds, "disk.used.latest", 48),
    ] {
        let ids = [(key(counter), String::new())];
        let q = emu.perf.query_at(PAST_DAY, entity, &ids, &window);
        assert_eq!(q.end_ms.len(), want, "{entity:?}");
        assert_eq!(q.end_ms.last(), Some(&start_ms), "{entity:?}");
        assert!(q.end_ms.iter().all(|t| t % 300_000 == 0));
    }
    // Coarser intervals: 48 half hours, 12 two-hour periods, and the day that ended at
    // midnight (the run starts at 08:00).
    let usage = key("cpu.usagemhz.average");
    for (i, want) in [(1, 48), (2, 12), (3, 1)] {
        let got = emu
            .perf
            .samples_at(Resolution::Historical(i), &vm, usage, "");
        assert_eq!(got.len(), want, "{}", HISTORICAL_INTERVALS[i].name);
    }
    // Realtime: the last hour only, ending now.
    let realtime = emu.perf.samples(&vm, usage, "");
    assert_eq!(realtime.len(), 180);
    assert_eq!(realtime.last().map(|s| s.0), Some(start_ms));
    // A 300 s average is the mean of its 15 realtime samples.
    for entity in [&vm, &host] {
        for counter in ["cpu.usagemhz.average", "mem.consumed.average"] {
            let realtime = emu.perf.samples(entity, key(counter), "");
            let last = *past_day(&emu, entity, counter).last().unwrap();
            let window: Vec<i64> = realtime
                .iter()
                .filter(|(t, _)| *t > last.0 - 300_000 && *t <= last.0)
                .map(|s| s.1)
                .collect();
            assert_eq!(window.len(), 15);
            let sum: i64 = window.iter().sum();
            assert_eq!(last.1, (2 * sum + 15) / 30, "{entity:?} {counter}");
        }
    }
    // The 300 s steps of the older past agree with the rollups of the realtime hour: the
    // idle VM's usage and the host's are steady.
    for entity in [&vm, &host] {
        let day = past_day(&emu, entity, "cpu.usagemhz.average");
        let (coarse, fine) = (day[275].1, day[276].1);
        assert_eq!(day[275].0, start_ms - RETENTION_MS, "the last 300 s step");
        assert!(
            (coarse - fine).abs() <= 1,
            "{entity:?}: {coarse} then {fine}"
        );
    }
    // The clock goes on from now; the next 300 s sample follows the prefilled ones.
    advance(&mut emu, 300);
    assert_eq!(
        emu.perf.samples(&vm, usage, "").last().map(|s| s.0),
        Some(start_ms + 300_000)
    );
    let day = past_day(&emu, &vm, "cpu.usagemhz.average");
    assert_eq!(day.last().map(|s| s.0), Some(start_ms + 300_000));
    // The ring holds a day: the oldest prefilled sample made room.
    assert_eq!(day.len(), 288);
    assert_eq!(day[0].0, start_ms - DAY_S * 1000 + 600_000);
}

#[test]
fn the_present_is_the_same_with_or_without_a_past() {
    let mut with = emulator();
    let mut without = emulator();
    with.prefill_history(DAY_S);
    advance(&mut with, 900);
    advance(&mut without, 900);
    let start_ms = with.clock.start_ms();
    for entity in without.perf.entities().cloned().collect::<Vec<_>>() {
        for (k, i) in without.perf.series_ids(&entity) {
            let after = |e: &Emulator| -> Vec<(i64, i64)> {
                e.perf
                    .samples(&entity, k, &i)
                    .into_iter()
                    .filter(|s| s.0 > start_ms)
                    .collect()
            };
            assert_eq!(after(&with), after(&without), "{entity:?} {k} {i:?}");
        }
    }
    assert_eq!(with.world.time_s(), without.world.time_s());
}

#[test]
fn the_past_is_deterministic_and_only_prefilled_once() {
    let mut a = emulator();
    let mut b = emulator();
    a.prefill_history(3 * 3_600);
    b.prefill_history(3 * 3_600);
    let vm = first(&a, "VirtualMachine");
    for entity in a.perf.entities().cloned().collect::<Vec<_>>() {
        for (k, i) in a.perf.series_ids(&entity) {
            assert_eq!(
                a.perf.samples_at(PAST_DAY, &entity, k, &i),
                b.perf.samples_at(PAST_DAY, &entity, k, &i)
            );
            assert_eq!(
                a.perf.samples(&entity, k, &i),
                b.perf.samples(&entity, k, &i)
            );
        }
    }
    // Again, or after the clock moved: nothing.
    assert_eq!(a.prefill_history(DAY_S), 0);
    let mut c = emulator();
    c.advance(20_000);
    assert_eq!(c.prefill_history(DAY_S), 0);
    assert!(
        c.perf
            .samples_at(PAST_DAY, &vm, key("cpu.usagemhz.average"), "")
            .is_empty()
    );
    // Nothing asked: nothing done.
    assert_eq!(emulator().prefill_history(0), 0);
    assert_eq!(emulator().prefill_history(-5), 0);
}

#[test]
fn percent_is_fixed_point_and_safe() {
    assert_eq!(percent_100(1, 3), 3_333);
    assert_eq!(percent_100(2, 3), 6_667);
    assert_eq!(percent_100(5, 0), 0);
    assert_eq!(percent_100(-5, 10), 0);
    assert_eq!(percent_100(i64::MAX, 1), i64::MAX);
}

#[test]
fn a_prefilled_week_fills_the_week_interval_within_its_retention() {
    let mut emu = emulator();
    let start_ms = emu.clock.now_ms();
    assert_eq!(emu.prefill_history(7 * DAY_S), (7 * 288 - 12) + 180);
    let vm = first(&emu, "VirtualMachine");
    let cluster = first(&emu, "ClusterComputeResource");
    let usage = key("cpu.usagemhz.average");
    for entity in [&vm, &cluster] {
        let counts: Vec<usize> = (0..4)
            .map(|i| {
                let r = Resolution::Historical(i);
                let w = Window::default().within(start_ms, r.retention_ms());
                emu.perf
                    .query_at(r, entity, &[(usage, String::new())], &w)
                    .end_ms
                    .len()
            })
            .collect();
        // A day of 300 s samples (the older ones are gone), a week of half hours, 84 two-hour
        // periods, and the 7 days that ended at midnight.
        assert_eq!(counts, [288, 336, 84, 7], "{entity:?}");
    }
    // Every ring stays within its retention.
    let bytes = emu.perf.history_heap_bytes(&vm);
    let series = emu.perf.select_at(PAST_DAY, &vm, &[]).len();
    assert!(
        bytes <= series * (1_349 * 8 + 400),
        "{bytes} for {series} series"
    );
}
