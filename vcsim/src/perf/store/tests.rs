//! The sample store's tests: recording paths against each other, reads, retention.

use super::*;
use std::collections::BTreeSet;

const T0_MS: i64 = 1_506_931_200_000;
const STEP_MS: i64 = REALTIME_INTERVAL_S * 1000;

fn vm() -> MoRef {
    MoRef::new("VirtualMachine", "vm-1")
}

/// A store with `n` steps of cpu.usage.average (2) "" and cpu.ready.summation (12) for
/// "", "0" and "1"; values encode the step so ordering is visible.
fn filled(n: i64) -> PerfStore {
    let mut s = PerfStore::default();
    for i in 1..=n {
        let t = T0_MS + i * STEP_MS;
        s.record(&vm(), t, 2, "", 100 + i);
        s.record(&vm(), t, 12, "", 200 + i);
        s.record(&vm(), t, 12, "0", 300 + i);
        s.record(&vm(), t, 12, "1", 400 + i);
    }
    s
}

fn all_ids() -> Vec<(i32, String)> {
    vec![(2, String::new()), (12, "*".to_owned())]
}

#[test]
fn retention_is_bounded() {
    let s = filled(RETENTION_SAMPLES as i64 + 25);
    let samples = s.samples(&vm(), 2, "");
    assert_eq!(samples.len(), RETENTION_SAMPLES);
    // The oldest were dropped, the newest kept, oldest first.
    assert_eq!(samples[0], (T0_MS + 26 * STEP_MS, 126));
    assert_eq!(s.latest(&vm(), 2, ""), Some((T0_MS + 205 * STEP_MS, 305)));
    assert_eq!(RETENTION_MS, 3_600_000);
}

#[test]
fn recording_a_batch_is_recording_each_sample() {
    let one_by_one = filled(RETENTION_SAMPLES as i64 + 3);
    let mut batched = PerfStore::default();
    for i in 1..=RETENTION_SAMPLES as i64 + 3 {
        let t = T0_MS + i * STEP_MS;
        batched.record_all(
            &vm(),
            t,
            [
                (2, "", 100 + i),
                (12, "", 200 + i),
                (12, "0", 300 + i),
                (12, "1", 400 + i),
            ],
        );
    }
    // A repeated time replaces, a late one is put in order, within one batch too.
    let late = T0_MS + 2 * STEP_MS + STEP_MS / 2;
    batched.record_all(&vm(), late, [(2, "", 7), (2, "", 8)]);
    let mut expected = one_by_one;
    expected.record(&vm(), late, 2, "", 8);
    for (key, instance) in expected.series_ids(&vm()) {
        assert_eq!(
            batched.samples(&vm(), key, &instance),
            expected.samples(&vm(), key, &instance),
            "{key} {instance:?}"
        );
    }
    assert_eq!(batched.series_ids(&vm()), expected.series_ids(&vm()));
    // An object of another type under the same reference starts afresh.
    batched.record_all(&MoRef::new("HostSystem", "vm-1"), late, [(2, "", 1)]);
    assert_eq!(
        batched.series_ids(&MoRef::new("HostSystem", "vm-1")),
        vec![(2, String::new())]
    );
}

/// A recording by layout leaves the store as a recording by name does: the realtime
/// rows and every rollup, across period boundaries, a late recording and recordings
/// that lack some of the entity's series (which the layout path hands to the named one).
#[test]
fn recording_by_layout_is_recording_by_name() {
    let keys = vec![
        (2, String::new()),
        (12, String::new()),
        (12, "0".to_owned()),
        (12, "1".to_owned()),
    ];
    let mut by_name = PerfStore::default();
    let mut by_layout = PerfStore::default();
    let layout = by_layout.row_layout(&keys).expect("distinct keys");
    assert_eq!(layout.len(), 4);
    assert!(
        by_layout
            .row_layout(&[keys[0].clone(), keys[0].clone()])
            .is_none()
    );
    let mut hint = PerfHint::default();
    let n = 3 * RETENTION_SAMPLES as i64;
    for i in 1..=n {
        let t = T0_MS + i * STEP_MS;
        let values = [100 + i % 7, 200 + i * (i % 3), 7, -i];
        // The vCPU series drop out for a while: the layout no longer fits the entity.
        let take = if (200..230).contains(&i) { 2 } else { 4 };
        by_name.record_all(
            &vm(),
            t,
            keys.iter()
                .zip(&values)
                .take(take)
                .map(|((k, inst), v)| (*k, inst.as_str(), *v)),
        );
        if take == 4 {
            by_layout.record_row_hinted(&mut hint, &vm(), t, &layout, &values);
        } else {
            let partial = by_layout.row_layout(&keys[..take]).expect("distinct");
            by_layout.record_row_hinted(&mut hint, &vm(), t, &partial, &values[..take]);
        }
    }
    // A late recording goes the named way.
    let late = T0_MS + (n - 3) * STEP_MS;
    by_name.record_all(
        &vm(),
        late,
        [(2, "", 5), (12, "", 6), (12, "0", 7), (12, "1", 8)],
    );
    by_layout.record_row_hinted(&mut hint, &vm(), late, &layout, &[5, 6, 7, 8]);
    by_name.close_due(T0_MS + (n + 15) * STEP_MS);
    by_layout.close_due(T0_MS + (n + 15) * STEP_MS);
    assert_eq!(by_layout.series_ids(&vm()), by_name.series_ids(&vm()));
    let window = Window::default();
    let rolled = by_name.query_at(Resolution::Historical(0), &vm(), &keys[..1], &window);
    assert!(rolled.end_ms.len() > 10, "{rolled:?}");
    for resolution in [Resolution::Realtime, Resolution::Historical(0)] {
        for (key, instance) in by_name.series_ids(&vm()) {
            let ids = [(key, instance.clone())];
            assert_eq!(
                by_layout.query_at(resolution, &vm(), &ids, &window),
                by_name.query_at(resolution, &vm(), &ids, &window),
                "{resolution:?} {key} {instance:?}"
            );
        }
    }
}

/// Every read of `vm()` in `a` equals the same read in `b`: realtime and historical
/// queries (whole, windowed, newest few), each series' samples and latest sample.
fn reads_agree(a: &PerfStore, b: &PerfStore, now_ms: i64) {
    assert_eq!(a.series_ids(&vm()), b.series_ids(&vm()));
    let ids = b.series_ids(&vm());
    let windows = [
        Window::default(),
        Window {
            max_samples: Some(3),
            ..Window::default()
        },
        Window {
            after_ms: Some(now_ms - 7 * STEP_MS),
            until_ms: Some(now_ms - STEP_MS),
            max_samples: None,
        },
    ];
    for resolution in [
        Resolution::Realtime,
        Resolution::Historical(0),
        Resolution::Historical(1),
        Resolution::Historical(2),
        Resolution::Historical(3),
    ] {
        for window in &windows {
            assert_eq!(
                a.query_at(resolution, &vm(), &ids, window),
                b.query_at(resolution, &vm(), &ids, window),
                "{resolution:?} {window:?} at {now_ms}"
            );
            assert_eq!(
                a.series_ids_at(resolution, &vm(), window),
                b.series_ids_at(resolution, &vm(), window)
            );
        }
    }
    for (key, instance) in &ids {
        assert_eq!(
            a.samples(&vm(), *key, instance),
            b.samples(&vm(), *key, instance)
        );
        assert_eq!(
            a.latest(&vm(), *key, instance),
            b.latest(&vm(), *key, instance)
        );
    }
}

/// Repeating the newest row leaves the store as recording its values again does, even
/// while repeats are pending (not yet written, or cut and rolled up after an hour and a
/// day of them): every read, and once written the rows in the realtime window and every
/// rollup, across period boundaries and keyframes. A repeat is
/// refused when the newest row is not the layout's recording at the time given (another
/// writer touched it, the layout changed, or the time is off).
#[test]
fn recording_a_repeat_is_recording_the_row() {
    let keys = vec![
        (2, String::new()),
        (12, String::new()),
        (12, "0".to_owned()),
    ];
    let mut by_row = PerfStore::default();
    let mut by_repeat = PerfStore::default();
    // Layouts belong to their store.
    let layouts = |s: &mut PerfStore| {
        let whole = s.row_layout(&keys).expect("distinct keys");
        (whole, s.row_layout(&keys[..2]).expect("distinct keys"))
    };
    let (row_layout, row_partial) = layouts(&mut by_row);
    let (layout, partial) = layouts(&mut by_repeat);
    let (mut hint_row, mut hint_repeat) = (PerfHint::default(), PerfHint::default());
    // Long enough for the steady run to be rolled up twice while pending.
    let n = 2 * i64::from(pending::MAX_UNROLLED) + 3 * RETENTION_SAMPLES as i64;
    let mut repeated = 0;
    let mut refused = Vec::new();
    for i in 1..=n {
        let t = T0_MS + i * STEP_MS;
        // Runs of equal values, changing every 11 intervals, then one steady run of two
        // days and more (repeats pending past many period closes, past an hour, when the
        // written rows are cut, and past two roll-ups of a day).
        let k = i.min(250) / 11 + i64::from(i > 250);
        let values = [100 + k % 7, 200 + k * (k % 3), -k];
        let take = if (200..205).contains(&i) { 2 } else { 3 };
        let (lay, row_lay) = if take == 3 {
            (&layout, &row_layout)
        } else {
            (&partial, &row_partial)
        };
        by_row.record_row_hinted(&mut hint_row, &vm(), t, row_lay, &values[..take]);
        let previous = t - STEP_MS;
        let same = i > 1
            && (i - 1).min(250) / 11 + i64::from(i - 1 > 250) == k
            && !(200..=205).contains(&i);
        if i == 206 {
            assert!(same, "a repeat right after the layout is back");
        }
        if same
            && by_repeat.record_repeat_hinted(
                &mut hint_repeat,
                &vm(),
                EntityKey::of(&vm()),
                previous,
                t,
                lay,
            )
        {
            repeated += 1;
        } else {
            if same {
                refused.push(i);
            }
            by_repeat.record_row_hinted(&mut hint_repeat, &vm(), t, lay, &values[..take]);
        }
        if (i < 600 && (i % 7 == 0 || i % 15 == 14)) || i % 37 == 0 {
            reads_agree(&by_repeat, &by_row, t);
        }
        if i == 300 {
            // Another writer at the newest time: the next repeat must not copy its row.
            for s in [&mut by_row, &mut by_repeat] {
                s.record(&vm(), t, 12, "0", 999);
            }
        }
    }
    assert!(repeated > 2 * pending::MAX_UNROLLED as usize, "{repeated}");
    // The steady run's written rows were cut to the newest, and its repeats rolled up.
    let (e, p) = by_repeat.held(&vm()).expect("recorded");
    assert_eq!(e.rows.len(), 1);
    assert!(p.fed > pending::MAX_UNROLLED, "{p:?}");
    assert!(by_row.entity(&vm()).expect("recorded").rows.len() >= RETENTION_SAMPLES);
    // Pending at the end (the last recording is mid-period), then written by a sweep.
    let t = T0_MS + (n + 4) * STEP_MS;
    for i in n + 1..=n + 4 {
        let k = 250 / 11 + 1;
        let v = [100 + k % 7, 200 + k * (k % 3), -k];
        let t = T0_MS + i * STEP_MS;
        by_row.record_row_hinted(&mut hint_row, &vm(), t, &row_layout, &v);
        assert!(by_repeat.record_repeat_hinted(
            &mut hint_repeat,
            &vm(),
            EntityKey::of(&vm()),
            t - STEP_MS,
            t,
            &layout
        ));
    }
    let pending = |s: &PerfStore| s.held(&vm()).map(|(_, p)| p.count);
    // Every repeat since the first close after the other writer's row is pending (that
    // row, unrolled, had the repeats before the close written).
    let left = i64::from(pending(&by_repeat).unwrap_or(0));
    assert!((n + 4 - 301 - 15..n + 4 - 301).contains(&left), "{left}");
    reads_agree(&by_repeat, &by_row, t);
    by_row.close_due(t + STEP_MS);
    by_repeat.close_due(t + STEP_MS);
    assert_eq!(pending(&by_repeat), Some(0));
    let n = n + 4;
    // Refused: after the first recording (by name: it made the series), and after the
    // other writer. The partial recordings were never followed by a repeat.
    assert_eq!(refused, [2, 301]);
    // The rows in the realtime window are the same, and what is held stays bounded
    // (old rows may be dropped at other times).
    let rows = |s: &PerfStore| {
        let e = s.entity(&vm()).expect("recorded");
        assert!(e.rows.len() <= RETENTION_SAMPLES + 2 * DROP_BATCH + 16);
        let all = e.rows.to_rows();
        all[all.len() - RETENTION_SAMPLES..].to_vec()
    };
    assert_eq!(rows(&by_repeat), rows(&by_row));
    // Wrong times or another layout are refused and record nothing.
    let t = T0_MS + (n + 1) * STEP_MS;
    let mut refused = |previous_ms: i64, end_ms: i64, layout: &RowLayout| {
        let key = EntityKey::of(&vm());
        !by_repeat.record_repeat_hinted(&mut hint_repeat, &vm(), key, previous_ms, end_ms, layout)
    };
    assert!(refused(t - 2 * STEP_MS, t, &layout));
    assert!(refused(t - STEP_MS, t - STEP_MS, &layout));
    assert!(refused(t - STEP_MS, t, &partial));
    by_row.close_due(T0_MS + (n + 15) * STEP_MS);
    by_repeat.close_due(T0_MS + (n + 15) * STEP_MS);
    let window = Window::default();
    for resolution in [
        Resolution::Realtime,
        Resolution::Historical(0),
        Resolution::Historical(1),
    ] {
        for (key, instance) in by_row.series_ids(&vm()) {
            let ids = [(key, instance.clone())];
            assert_eq!(
                by_repeat.query_at(resolution, &vm(), &ids, &window),
                by_row.query_at(resolution, &vm(), &ids, &window),
                "{resolution:?} {key} {instance:?}"
            );
        }
    }
    let rolled = by_row.query_at(Resolution::Historical(0), &vm(), &keys[..1], &window);
    assert!(rolled.end_ms.len() > 10, "{rolled:?}");
}

/// The sweep's skip of entities that recorded every series at the sweep's time leaves
/// history as a full sweep does: one entity steady, one whose newest rows lack a
/// series (its period must still close), one that stopped mid-period.
#[test]
fn a_sweep_that_skips_is_a_full_sweep() {
    let keys = [(2, String::new()), (6, String::new())];
    let entities = [
        MoRef::new("VirtualMachine", "vm-1"),
        MoRef::new("VirtualMachine", "vm-2"),
        MoRef::new("VirtualMachine", "vm-3"),
    ];
    let run = |full: bool| {
        let mut s = PerfStore::default();
        let layout = s.row_layout(&keys).expect("distinct");
        let mut hints = [
            PerfHint::default(),
            PerfHint::default(),
            PerfHint::default(),
        ];
        for i in 1..=60i64 {
            let t = T0_MS + i * STEP_MS;
            s.record_row_hinted(&mut hints[0], &entities[0], t, &layout, &[i, 2 * i]);
            if i < 50 {
                s.record_row_hinted(&mut hints[1], &entities[1], t, &layout, &[i, 7]);
            } else {
                s.record_all(&entities[1], t, [(2, "", i)]);
            }
            if i < 40 {
                s.record_row_hinted(&mut hints[2], &entities[2], t, &layout, &[3, i]);
            }
            if on_boundary(t) {
                if full {
                    s.fast
                        .iter_mut()
                        .for_each(|f| *f = pending::Fast::default());
                }
                s.close_due(t);
            }
        }
        s
    };
    let (skipping, full) = (run(false), run(true));
    for e in &entities {
        for i in 0..4 {
            let r = Resolution::Historical(i);
            let ids = full.select_at(r, e, &[]);
            assert!(i > 0 || !ids.is_empty());
            assert_eq!(
                skipping.query_at(r, e, &ids, &Window::default()),
                full.query_at(r, e, &ids, &Window::default()),
                "{e:?} {r:?}"
            );
        }
    }
}

#[test]
fn rerecording_replaces_and_late_samples_sort() {
    let mut s = PerfStore::default();
    s.record(&vm(), T0_MS + 2 * STEP_MS, 2, "", 2);
    s.record(&vm(), T0_MS + 2 * STEP_MS, 2, "", 22);
    s.record(&vm(), T0_MS + STEP_MS, 2, "", 1);
    s.record(&vm(), T0_MS + 3 * STEP_MS, 2, "", 3);
    let got: Vec<i64> = s.samples(&vm(), 2, "").iter().map(|x| x.1).collect();
    assert_eq!(got, [1, 22, 3]);
}

#[test]
fn forget_and_ids() {
    let mut s = filled(2);
    assert_eq!(
        s.series_ids(&vm()),
        vec![
            (2, String::new()),
            (12, String::new()),
            (12, "0".to_owned()),
            (12, "1".to_owned())
        ]
    );
    // Type must match (or be a base type) for a lookup.
    assert!(s.series_ids(&MoRef::new("HostSystem", "vm-1")).is_empty());
    assert!(s.has_entity(&MoRef::new("ManagedEntity", "vm-1")));
    s.forget(&vm());
    assert!(s.series_ids(&vm()).is_empty());
    assert_eq!(s.entities().count(), 0);
}

#[test]
fn select_expands_star_and_keeps_request_order() {
    let s = filled(1);
    let got = s.select(
        &vm(),
        &[
            (12, "1".to_owned()),
            (12, "*".to_owned()),
            (2, String::new()),
            (99, String::new()),
            (2, "7".to_owned()),
        ],
    );
    assert_eq!(
        got,
        vec![
            (12, "1".to_owned()),
            (12, String::new()),
            (12, "0".to_owned()),
            (2, String::new())
        ]
    );
    assert_eq!(s.select(&vm(), &[]).len(), 4);
    assert!(
        s.select(&MoRef::new("VirtualMachine", "vm-9"), &[])
            .is_empty()
    );
}

#[test]
fn query_is_oldest_first_with_bounds_and_max_samples() {
    let s = filled(10);
    let ids = s.select(&vm(), &all_ids());
    let all = s.query(&vm(), &ids, &Window::default());
    assert_eq!(all.end_ms.len(), 10);
    assert!(all.end_ms.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(all.series[0].values[0], 101);
    assert_eq!(all.series[0].values[9], 110);

    // startTime exclusive, endTime inclusive.
    let w = Window {
        after_ms: Some(T0_MS + 3 * STEP_MS),
        until_ms: Some(T0_MS + 6 * STEP_MS),
        max_samples: None,
    };
    let q = s.query(&vm(), &ids, &w);
    assert_eq!(
        q.end_ms,
        vec![
            T0_MS + 4 * STEP_MS,
            T0_MS + 5 * STEP_MS,
            T0_MS + 6 * STEP_MS
        ]
    );
    assert_eq!(q.series[0].values, vec![104, 105, 106]);

    // maxSample keeps the most recent, still oldest first.
    let w = Window {
        max_samples: Some(3),
        ..Window::default()
    };
    let q = s.query(&vm(), &ids, &w);
    assert_eq!(q.series[1].values, vec![208, 209, 210]);
    assert_eq!(q.series.len(), 4);

    // Empty window.
    let w = Window {
        after_ms: Some(T0_MS + 10 * STEP_MS),
        ..Window::default()
    };
    assert!(s.query(&vm(), &ids, &w).is_empty());
}

#[test]
fn query_aligns_series_on_a_shared_timeline() {
    let mut s = filled(3);
    // A series that starts late (e.g. a vCPU hot-added).
    s.record(&vm(), T0_MS + 3 * STEP_MS, 12, "2", 7);
    let ids = s.select(&vm(), &[(12, "*".to_owned())]);
    let q = s.query(&vm(), &ids, &Window::default());
    assert_eq!(q.end_ms.len(), 3);
    let late = q.series.iter().find(|x| x.instance == "2").unwrap();
    assert_eq!(late.values, vec![MISSING_VALUE, MISSING_VALUE, 7]);
    // A series with no sample in the window is left out.
    let w = Window {
        until_ms: Some(T0_MS + 2 * STEP_MS),
        ..Window::default()
    };
    let q = s.query(&vm(), &ids, &w);
    assert!(q.series.iter().all(|x| x.instance != "2"));
    assert_eq!(q.series.len(), 3);
}

#[test]
fn retention_window_hides_stale_samples() {
    let s = filled(3);
    let ids = s.select(&vm(), &[]);
    let now_ms = T0_MS + 3 * STEP_MS + RETENTION_MS;
    let w = Window::default().within_retention(now_ms);
    // Sample 3 ended exactly an hour ago: outside (the bound is exclusive).
    assert!(s.query(&vm(), &ids, &w).is_empty());
    assert!(s.series_ids_in(&vm(), &w).is_empty());
    let w = Window::default().within_retention(now_ms - 1);
    assert_eq!(s.query(&vm(), &ids, &w).end_ms, vec![T0_MS + 3 * STEP_MS]);
    assert_eq!(s.series_ids_in(&vm(), &w).len(), 4);
    // A later explicit start wins over the retention bound.
    let w = Window {
        after_ms: Some(T0_MS + 5 * STEP_MS),
        ..Window::default()
    }
    .within_retention(now_ms);
    assert_eq!(w.after_ms, Some(T0_MS + 5 * STEP_MS));
}

/// A query's result read from each series' whole samples, as the store answered before
/// it decoded from a keyframe: the union timeline in the window, cut to the newest
/// `max_samples`, each series aligned on it.
fn reference_query(s: &PerfStore, ids: &[(i32, String)], window: &Window) -> Samples {
    let points: Vec<(&SeriesKey, Vec<(i64, i64)>)> = ids
        .iter()
        .map(|id| {
            let p = s.samples(&vm(), id.0, &id.1);
            (id, p.into_iter().filter(|p| window.contains(p.0)).collect())
        })
        .collect();
    let times: BTreeSet<i64> = points
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.0))
        .collect();
    let mut end_ms: Vec<i64> = times.into_iter().collect();
    if let Some(n) = window.max_samples {
        end_ms.drain(..end_ms.len().saturating_sub(n));
    }
    let series = points
        .into_iter()
        .filter_map(|((key, instance), p)| {
            let found: Vec<Option<i64>> = end_ms
                .iter()
                .map(|t| p.iter().find(|x| x.0 == *t).map(|x| x.1))
                .collect();
            let values = found.iter().map(|v| v.unwrap_or(MISSING_VALUE)).collect();
            found.iter().any(Option::is_some).then(|| Series {
                counter_id: *key,
                instance: instance.clone(),
                values,
            })
        })
        .collect();
    if end_ms.is_empty() {
        return Samples::default();
    }
    Samples { end_ms, series }
}

proptest::proptest! {
    /// Reading from the keyframe before the asked-for rows answers what reading every row
    /// answers, whatever the gaps in the series and the window.
    #[test]
    fn windowed_queries_read_as_whole_ones(
        steps in 1i64..260,
        gaps in proptest::collection::vec(0u8..8, 260),
        after in proptest::option::of(0i64..270),
        until in proptest::option::of(0i64..270),
        max in proptest::option::of(1usize..200),
    ) {
        let mut s = PerfStore::default();
        for i in 1..=steps {
            let t = T0_MS + i * STEP_MS;
            let g = gaps[(i - 1) as usize];
            // cpu.usage reports always; the vCPU series and cpu.ready have gaps.
            s.record(&vm(), t, 2, "", 100 + i);
            if g & 1 == 0 {
                s.record(&vm(), t, 12, "", 200 + i * (i % 3));
            }
            if g & 2 == 0 {
                s.record(&vm(), t, 12, "0", 7);
            }
            if g & 6 == 6 {
                s.record(&vm(), t, 12, "1", -i);
            }
        }
        let window = Window {
            after_ms: after.map(|a| T0_MS + a * STEP_MS),
            until_ms: until.map(|u| T0_MS + u * STEP_MS),
            max_samples: max,
        };
        for ids in [
            vec![(12, "1".to_owned())],
            vec![(12, String::new()), (12, "0".to_owned())],
            vec![(2, String::new()), (12, "1".to_owned())],
        ] {
            proptest::prop_assert_eq!(
                s.query(&vm(), &ids, &window),
                reference_query(&s, &ids, &window)
            );
        }
    }
}
