//! The store's historical side: which series get history, how recording feeds it, and
//! queries at a historical resolution.

use super::catalogue::key_of;
use super::rollup::HISTORICAL_INTERVALS;
use super::*;
use crate::vmodl::MoRef;

/// 2017-10-02T08:00:00Z, a 300 s boundary.
const T0_MS: i64 = 1_506_931_200_000;
const STEP_MS: i64 = 20_000;
const PAST_DAY: Resolution = Resolution::Historical(0);

fn vm() -> MoRef {
    MoRef::new("VirtualMachine", "vm-1")
}

fn key(name: &str) -> i32 {
    key_of(name).unwrap_or_else(|| panic!("{name} is catalogued"))
}

/// `steps` realtime intervals of a VM: cpu.usagemhz.average "" = step, cpu.ready.summation
/// "" = 10 × step and per-vCPU "0", cpu.demand.average "" (level 2) = 1.
fn recorded(steps: i64) -> PerfStore {
    let mut s = PerfStore::default();
    let (usage, ready, demand) = (
        key("cpu.usagemhz.average"),
        key("cpu.ready.summation"),
        key("cpu.demand.average"),
    );
    for i in 1..=steps {
        s.record_all(
            &vm(),
            T0_MS + i * STEP_MS,
            [
                (usage, "", i),
                (ready, "", 10 * i),
                (ready, "0", 10 * i),
                (demand, "", 1),
            ],
        );
    }
    s
}

#[test]
fn only_level_1_aggregates_get_history() {
    let s = recorded(15);
    let (usage, ready, demand) = (
        key("cpu.usagemhz.average"),
        key("cpu.ready.summation"),
        key("cpu.demand.average"),
    );
    let ids = s.select_at(PAST_DAY, &vm(), &[]);
    assert_eq!(ids, [(usage, String::new()), (ready, String::new())]);
    // "*" expands to what the interval has: the aggregate, not the vCPU (per-device level 3).
    assert_eq!(
        s.select_at(
            PAST_DAY,
            &vm(),
            &[(ready, "*".into()), (demand, String::new())]
        ),
        [(ready, String::new())]
    );
    // The realtime side is unchanged: all four series.
    assert_eq!(s.select(&vm(), &[]).len(), 4);
    assert!(
        s.samples_at(PAST_DAY, &vm(), ready, "0").is_empty(),
        "vCPU instances are not archived at level 1"
    );
}

#[test]
fn a_past_day_sample_is_the_rollup_of_its_fifteen_realtime_samples() {
    let s = recorded(16);
    let (usage, ready) = (key("cpu.usagemhz.average"), key("cpu.ready.summation"));
    let ids = s.select_at(PAST_DAY, &vm(), &[]);
    let q = s.query_at(PAST_DAY, &vm(), &ids, &Window::default());
    // One complete 300 s period (the 16th sample opens the next, still pending).
    assert_eq!(q.end_ms, [T0_MS + 300_000]);
    let realtime = s.samples(&vm(), usage, "");
    let window: Vec<i64> = realtime
        .iter()
        .filter(|(t, _)| *t > T0_MS && *t <= T0_MS + 300_000)
        .map(|s| s.1)
        .collect();
    assert_eq!(window.len(), 15);
    assert_eq!(q.series[0].counter_id, usage);
    assert_eq!(q.series[0].values, [window.iter().sum::<i64>() / 15]);
    assert_eq!(q.series[1].counter_id, ready);
    assert_eq!(q.series[1].values, [10 * (1..=15).sum::<i64>()]);
    // The sample is stamped at the period's end.
    assert_eq!(
        s.samples_at(PAST_DAY, &vm(), usage, ""),
        [(T0_MS + 300_000, 8)]
    );
}

#[test]
fn history_only_entities_have_no_realtime_samples() {
    let mut s = PerfStore::default();
    let cluster = MoRef::new("ClusterComputeResource", "domain-c7");
    let usage = key("cpu.usagemhz.average");
    for i in 1..=30 {
        s.record_history_only(&cluster, T0_MS + i * STEP_MS, [(usage, "", 100)]);
    }
    assert!(s.samples(&cluster, usage, "").is_empty());
    assert!(
        s.query(&cluster, &s.select(&cluster, &[]), &Window::default())
            .is_empty()
    );
    assert!(s.series_ids_in(&cluster, &Window::default()).is_empty());
    assert_eq!(
        s.series_ids_at(PAST_DAY, &cluster, &Window::default()),
        [(usage, String::new())]
    );
    let q = s.query_at(
        PAST_DAY,
        &cluster,
        &s.select_at(PAST_DAY, &cluster, &[]),
        &Window::default(),
    );
    assert_eq!(q.end_ms, [T0_MS + 300_000, T0_MS + 600_000]);
    assert_eq!(q.series[0].values, [100, 100]);
}

#[test]
fn stopped_entities_get_their_last_period_when_it_is_over() {
    // 20 samples: one full period and five of the next, then nothing (powered off).
    let s0 = recorded(20);
    let usage = key("cpu.usagemhz.average");
    assert_eq!(s0.samples_at(PAST_DAY, &vm(), usage, "").len(), 1);
    let mut s = s0;
    s.close_due(T0_MS + 599_999);
    assert_eq!(s.samples_at(PAST_DAY, &vm(), usage, "").len(), 1);
    s.close_due(T0_MS + 600_000);
    assert_eq!(
        s.samples_at(PAST_DAY, &vm(), usage, ""),
        [(T0_MS + 300_000, 8), (T0_MS + 600_000, 18)]
    );
}

#[test]
fn historical_windows_and_retention() {
    // Two hours and a bit: 24 past-day samples.
    let s = recorded(2 * 180 + 3);
    let usage = key("cpu.usagemhz.average");
    let ids = [(usage, String::new())];
    let all = s.query_at(PAST_DAY, &vm(), &ids, &Window::default());
    assert_eq!(all.end_ms.len(), 24);
    assert!(all.end_ms.windows(2).all(|w| w[1] - w[0] == 300_000));
    assert!(all.end_ms.iter().all(|t| t % 300_000 == 0));
    // startTime exclusive, endTime inclusive.
    let w = Window {
        after_ms: Some(T0_MS + 300_000),
        until_ms: Some(T0_MS + 900_000),
        max_samples: None,
    };
    assert_eq!(
        s.query_at(PAST_DAY, &vm(), &ids, &w).end_ms,
        [T0_MS + 600_000, T0_MS + 900_000]
    );
    // The day's retention: a day after the last sample only the newest are left.
    let last_ms = T0_MS + 24 * 300_000;
    let day_ms = HISTORICAL_INTERVALS[0].length_ms();
    let w = Window::default().within(last_ms + day_ms - 300_000, day_ms);
    assert_eq!(s.query_at(PAST_DAY, &vm(), &ids, &w).end_ms, [last_ms]);
    // The week interval has the 30-minute samples.
    let week = s.query_at(Resolution::Historical(1), &vm(), &ids, &Window::default());
    assert_eq!(week.end_ms.len(), 4);
    assert_eq!(Resolution::Historical(1).interval_s(), 1_800);
    assert_eq!(Resolution::from_interval_id(300), Some(PAST_DAY));
    assert_eq!(Resolution::from_interval_id(20), Some(Resolution::Realtime));
    assert_eq!(Resolution::from_interval_id(60), None);
}

#[test]
fn a_day_of_history_is_a_few_kilobytes_per_series() {
    let s = recorded(4_320);
    let series = s.select_at(PAST_DAY, &vm(), &[]).len();
    assert_eq!(series, 2);
    let bytes = s.history_heap_bytes(&vm());
    // 349 values per series, delta-varint encoded (a few bytes each for these values, where
    // an i64 took 8), plus the fixed state.
    assert!(bytes >= series * 349, "{bytes}");
    assert!(bytes <= series * (4 * 349 + 600), "{bytes}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// The store rolls realtime rows up in batches; what a client reads of history after
    /// every interval is what a history fed each sample at once would show. Recordings
    /// start off a period boundary, skip series at some intervals (a boundary's included),
    /// stop for a while (a powered-off VM), repeat a series in one batch and come late, and
    /// the 300 s sweep runs at each boundary, as the emulator does.
    #[test]
    fn batched_rollups_read_as_rollups_fed_at_once(
        offset_steps in 0i64..15,
        plan in proptest::collection::vec(0u8..16, 60..400),
    ) {
        use super::rollup::{History, Rollup, archived_depth};
        let (usage, ready, consumed) = (
            key("cpu.usagemhz.average"),
            key("cpu.ready.summation"),
            key("mem.consumed.average"),
        );
        let rollups = [
            (usage, Rollup::Average),
            (ready, Rollup::Summation),
            (consumed, Rollup::Average),
        ];
        let mut reference: Vec<History> = rollups
            .iter()
            .map(|(_, r)| History::new(*r, archived_depth(1)).expect("archived"))
            .collect();
        let mut s = PerfStore::default();
        let mut hint = PerfHint::default();
        for (n, op) in plan.iter().enumerate() {
            let end_ms = T0_MS + (offset_steps + n as i64 + 1) * STEP_MS;
            let value = |k: usize| (n as i64 * 7 + k as i64 * 13) % 50 + i64::from(*op);
            // 0–1: the entity does not report (off); 2: `consumed` skipped; 3: `usage`
            // twice; 4: a late repeat of the previous interval; otherwise all three.
            if *op >= 2 {
                let mut samples: Vec<(i32, &str, i64)> = Vec::new();
                for (k, (key, _)) in rollups.iter().enumerate() {
                    if *op == 2 && *key == consumed {
                        continue;
                    }
                    samples.push((*key, "", value(k)));
                    if *op == 3 && *key == usage {
                        samples.push((*key, "", value(k) + 1));
                    }
                }
                for (key, _, v) in &samples {
                    let k = rollups.iter().position(|(r, _)| r == key).expect("known");
                    reference[k].feed(end_ms, *v);
                }
                s.record_all_hinted(&mut hint, &vm(), end_ms, samples.iter().copied());
                if *op == 4 {
                    s.record(&vm(), end_ms - STEP_MS, usage, "", 999);
                    reference[0].feed(end_ms - STEP_MS, 999);
                }
            }
            if end_ms % 300_000 == 0 {
                s.close_due(end_ms);
                for h in &mut reference {
                    h.close_due(end_ms);
                }
            }
            for (k, (key, _)) in rollups.iter().enumerate() {
                for (i, interval) in HISTORICAL_INTERVALS.iter().enumerate() {
                    let want: Vec<(i64, i64)> = reference[k]
                        .ring(i)
                        .map(|r| r.samples(interval.period_ms()).collect())
                        .unwrap_or_default();
                    let got = s.samples_at(Resolution::Historical(i), &vm(), *key, "");
                    proptest::prop_assert_eq!(got, want, "series {} interval {} after {}", key, i, n);
                }
            }
        }
    }
}
