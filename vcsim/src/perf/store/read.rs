//! The read side of the [`PerfStore`]: the query types ([`Window`], [`Samples`], [`Series`])
//! and how a query decodes an entity's rows ([`Decoded`], from a [`DecodeFrom`]), adds the
//! repeats not yet written (the newest hour of them for realtime; those due rolled up into a
//! copy of each history read, see `pending`), and lines the asked-for series up on one
//! timeline.

use super::{
    EntitySeries, HISTORICAL_INTERVALS, History, MISSING_VALUE, NO_SAMPLE, Pending, PerfStore,
    RETENTION_MS, RETENTION_SAMPLES, Resolution, SeriesData, SeriesKey, pending,
};
use crate::vmodl::MoRef;
use std::collections::BTreeSet;

impl SeriesData {
    /// The samples at `resolution`, oldest first, gaps skipped; realtime samples are read
    /// from `decoded`, column `column`.
    fn points<'a>(
        &'a self,
        resolution: Resolution,
        decoded: &'a Decoded,
        column: usize,
    ) -> Box<dyn Iterator<Item = (i64, i64)> + 'a> {
        match resolution {
            Resolution::Realtime => Box::new(
                decoded
                    .end_ms
                    .iter()
                    .copied()
                    .zip(decoded.column(column).iter().copied())
                    .skip(decoded.skip)
                    .filter(|(_, v)| *v != NO_SAMPLE),
            ),
            Resolution::Historical(i) => {
                let period_ms = HISTORICAL_INTERVALS[i].period_ms();
                let Some(h) = self.history.as_deref() else {
                    return Box::new(std::iter::empty());
                };
                // Repeats not yet written roll up into a copy, as writing them would.
                let value = decoded.rolled.as_ref().and_then(|r| {
                    let v = *r.values.get(column + 1)?;
                    (v != NO_SAMPLE).then_some((r, v))
                });
                match value {
                    Some((r, v)) => {
                        let mut h = h.clone();
                        h.feed_run(r.first_ms, r.step_ms, r.count, v);
                        let samples: Vec<(i64, i64)> = h
                            .ring(i)
                            .map(|ring| ring.samples(period_ms).collect())
                            .unwrap_or_default();
                        Box::new(samples.into_iter())
                    }
                    None => match h.ring(i) {
                        Some(ring) => Box::new(ring.samples(period_ms)),
                        None => Box::new(std::iter::empty()),
                    },
                }
            }
        }
    }

    /// Whether the series is archived by historical interval `i`.
    fn archived_at(&self, i: usize) -> bool {
        self.history.as_ref().is_some_and(|h| h.depth() > i)
    }
}

/// Some of an entity's realtime columns, decoded for reading: every slot's time, how many of
/// the oldest lie before the realtime window, and the asked-for series' values (by series
/// index; [`NO_SAMPLE`] where a series did not report).
#[derive(Default)]
struct Decoded {
    end_ms: Vec<i64>,
    skip: usize,
    /// The row `end_ms[0]` is (rows before it were not decoded).
    first_row: usize,
    /// By series index; empty for series not asked for.
    columns: Vec<Vec<i64>>,
    /// For a historical read: repeats of the newest row not yet written but due to be
    /// rolled up (see `pending`), which the read rolls up into copies of the histories.
    rolled: Option<RolledRun>,
}

/// Repeats of an entity's newest row (`values`, time first) at `first_ms`, `first_ms +
/// step_ms`, …: `count` of them.
#[derive(Debug)]
struct RolledRun {
    first_ms: i64,
    step_ms: i64,
    count: usize,
    values: Vec<i64>,
}

impl Decoded {
    fn column(&self, i: usize) -> &[i64] {
        self.columns.get(i).map_or(&[], Vec::as_slice)
    }
}

/// Where a decode of an entity's rows starts: at the first row, at the newest keyframe at
/// or before a time (a window's `after_ms`: rows at or before it are not in the window), or
/// at the newest keyframe that leaves at least this many of the newest retained rows.
#[derive(Clone, Copy, Debug)]
enum DecodeFrom {
    Start,
    After(i64),
    NewestRows(usize),
}

impl EntitySeries {
    /// The slots' times and the realtime values of the series in `wanted` (series indices).
    fn decode(&self, wanted: impl IntoIterator<Item = usize>, pending: Pending) -> Decoded {
        self.decode_from(wanted, DecodeFrom::Start, pending)
    }

    /// What a read at `resolution` needs decoded: the rows from `from` on for realtime,
    /// nothing for history (kept apart from the rows).
    fn decode_at(
        &self,
        resolution: Resolution,
        wanted: impl IntoIterator<Item = usize>,
        from: DecodeFrom,
        pending: Pending,
    ) -> Decoded {
        match resolution {
            Resolution::Realtime => self.decode_from(wanted, from, pending),
            Resolution::Historical(_) => {
                let newest = self.rows.last();
                let rolled = newest.first().and_then(|&newest_ms| {
                    let (first_ms, count) = pending.unrolled(newest_ms);
                    (count > 0).then(|| RolledRun {
                        first_ms,
                        step_ms: i64::from(pending.step_ms),
                        count,
                        values: newest.to_vec(),
                    })
                });
                Decoded {
                    rolled,
                    ..Decoded::default()
                }
            }
        }
    }

    /// [`EntitySeries::decode`] of the rows from `from` on: the rows before the keyframe
    /// it picks are left out of the result. `pending` repeats of the newest row follow the
    /// rows written (those before the realtime window left out).
    fn decode_from(
        &self,
        wanted: impl IntoIterator<Item = usize>,
        from: DecodeFrom,
        pending: Pending,
    ) -> Decoded {
        let mut keep = vec![false; self.series.len() + 1];
        keep[0] = true;
        for i in wanted {
            if let Some(t) = keep.get_mut(i + 1) {
                *t = true;
            }
        }
        let total = self.rows.len() + pending.count as usize;
        let retained_from = total.saturating_sub(RETENTION_SAMPLES);
        let start = match from {
            DecodeFrom::Start => None,
            DecodeFrom::After(after_ms) => self.rows.last_keyframe_where(|k| k.time_ms <= after_ms),
            DecodeFrom::NewestRows(n) => {
                let first = total.saturating_sub(n).max(retained_from);
                self.rows.last_keyframe_where(|k| k.row <= first)
            }
        };
        let (row0, at) = start.map_or((0, 0), |k| (k.row, k.at));
        let unseen = pending.before_window();
        let mut columns: Vec<Vec<i64>> = Vec::new();
        columns.resize_with(self.series.len(), Vec::new);
        let mut end_ms = Vec::with_capacity(total - row0 - unseen);
        self.rows.for_each_kept_from(at, &keep, |row| {
            end_ms.push(row[0]);
            for (i, column) in columns.iter_mut().enumerate() {
                if keep[i + 1] {
                    column.push(row[i + 1]);
                }
            }
        });
        if let Some(&newest_ms) = end_ms.last() {
            for j in unseen as i64 + 1..=i64::from(pending.count) {
                end_ms.push(newest_ms + j * i64::from(pending.step_ms));
                for column in columns.iter_mut() {
                    if let Some(&v) = column.last() {
                        column.push(v);
                    }
                }
            }
        }
        Decoded {
            end_ms,
            skip: retained_from.saturating_sub(row0) - unseen,
            first_row: row0,
            columns,
            rolled: None,
        }
    }
}

/// The time window and sample limit of a query, in `PerfQuerySpec` terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Exclusive lower bound on `end_ms` (`startTime`: "the returned samples do not include
    /// the sample at startTime").
    pub after_ms: Option<i64>,
    /// Inclusive upper bound on `end_ms` (`endTime`: "the returned samples include the sample
    /// at endTime").
    pub until_ms: Option<i64>,
    /// Keep only the most recent this many sample times (`maxSample`).
    pub max_samples: Option<usize>,
}

impl Window {
    /// Narrows the window to what a host still holds at `now_ms`: samples that ended within
    /// the last [`RETENTION_MS`]. Rings are bounded by count, not time, so an entity that
    /// stopped producing (a powered-off VM) would otherwise keep hour-old samples forever.
    pub fn within_retention(self, now_ms: i64) -> Window {
        self.within(now_ms, RETENTION_MS)
    }

    /// Narrows the window to samples that ended within the last `retention_ms` before
    /// `now_ms` (an interval's length: older samples are gone in vCenter's database).
    pub fn within(self, now_ms: i64, retention_ms: i64) -> Window {
        let oldest_after_ms = now_ms.saturating_sub(retention_ms);
        Window {
            after_ms: Some(
                self.after_ms
                    .map_or(oldest_after_ms, |a| a.max(oldest_after_ms)),
            ),
            ..self
        }
    }

    /// Whether a sample ending at `end_ms` lies in the window (ignoring `max_samples`).
    pub fn contains(&self, end_ms: i64) -> bool {
        self.after_ms.is_none_or(|a| end_ms > a) && self.until_ms.is_none_or(|u| end_ms <= u)
    }
}

/// One series of a query result, aligned with [`Samples::end_ms`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// The counter id.
    pub counter_id: i32,
    /// The instance (`""` for the aggregate).
    pub instance: String,
    /// One value per entry of [`Samples::end_ms`]; [`MISSING_VALUE`] where the series has no
    /// sample at that time.
    pub values: Vec<i64>,
}

/// A query result for one entity: a shared timeline and the series on it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Samples {
    /// Interval end times, oldest first.
    pub end_ms: Vec<i64>,
    /// The series, in the order they were asked for.
    pub series: Vec<Series>,
}

impl Samples {
    /// True when the query matched no sample.
    pub fn is_empty(&self) -> bool {
        self.end_ms.is_empty()
    }
}

impl PerfStore {
    /// Whether any series exists for `entity`.
    pub fn has_entity(&self, entity: &MoRef) -> bool {
        self.entity(entity).is_some()
    }

    /// The entities that have series, with their types.
    pub fn entities(&self) -> impl Iterator<Item = &MoRef> {
        self.index
            .values()
            .filter_map(|&i| self.slots[i as usize].as_ref().map(|e| &e.entity))
    }

    /// The `(counter id, instance)` of every series held for `entity`, sorted.
    pub fn series_ids(&self, entity: &MoRef) -> Vec<(i32, String)> {
        self.entity(entity)
            .map(|e| e.series.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The realtime series of `entity` with at least one sample in `window` (its
    /// `max_samples` is ignored), sorted.
    pub fn series_ids_in(&self, entity: &MoRef, window: &Window) -> Vec<(i32, String)> {
        self.series_ids_at(Resolution::Realtime, entity, window)
    }

    /// [`PerfStore::series_ids_in`] at any resolution.
    pub fn series_ids_at(
        &self,
        resolution: Resolution,
        entity: &MoRef,
        window: &Window,
    ) -> Vec<(i32, String)> {
        self.held(entity)
            .map(|(e, pending)| {
                let from = window.after_ms.map_or(DecodeFrom::Start, DecodeFrom::After);
                let decoded = e.decode_at(resolution, 0..e.series.len(), from, pending);
                e.series
                    .iter_indexed()
                    .filter(|(i, _, data)| {
                        data.points(resolution, &decoded, *i)
                            .any(|s| window.contains(s.0))
                    })
                    .map(|(_, k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The realtime samples of one series, oldest first.
    pub fn samples(&self, entity: &MoRef, key: i32, instance: &str) -> Vec<(i64, i64)> {
        self.samples_at(Resolution::Realtime, entity, key, instance)
    }

    /// The samples of one series at `resolution`, oldest first.
    pub fn samples_at(
        &self,
        resolution: Resolution,
        entity: &MoRef,
        key: i32,
        instance: &str,
    ) -> Vec<(i64, i64)> {
        let Some((e, pending)) = self.held(entity) else {
            return Vec::new();
        };
        let Some((i, _, data)) = e.series.get_indexed(&(key, instance.to_owned())) else {
            return Vec::new();
        };
        let decoded = e.decode_at(resolution, [i], DecodeFrom::Start, pending);
        data.points(resolution, &decoded, i).collect()
    }

    /// The newest realtime `(end_ms, value)` of one series.
    pub fn latest(&self, entity: &MoRef, key: i32, instance: &str) -> Option<(i64, i64)> {
        let (e, pending) = self.held(entity)?;
        let (i, _, data) = e.series.get_indexed(&(key, instance.to_owned()))?;
        let last = e.rows.last();
        if let (Some(&t), Some(&v)) = (last.first(), last.get(i + 1))
            && v != NO_SAMPLE
        {
            // The usual case: the series reported at the newest slot (or its repeats).
            let t = t + i64::from(pending.count) * i64::from(pending.step_ms);
            return Some((t, v));
        }
        let decoded = e.decode([i], pending);
        data.points(Resolution::Realtime, &decoded, i).last()
    }

    /// Bytes the realtime samples of `entity` hold on the heap (its rows; not the map
    /// nodes), for memory accounting.
    pub fn realtime_heap_bytes(&self, entity: &MoRef) -> usize {
        self.entity(entity).map_or(0, |e| e.rows.heap_bytes())
    }

    /// Bytes the historical rollups of `entity` hold on the heap (rings and level tables;
    /// not the map nodes), for memory accounting.
    pub fn history_heap_bytes(&self, entity: &MoRef) -> usize {
        self.entity(entity).map_or(0, |e| {
            e.series
                .values()
                .filter_map(|d| d.history.as_ref())
                .map(|h| std::mem::size_of::<History>() + h.heap_bytes())
                .sum()
        })
    }

    /// Expands requested metric ids into the realtime series `entity` holds, in request
    /// order without duplicates. The instance `"*"` means every instance of the counter,
    /// aggregate `""` included (sorted, so the aggregate comes first); any other instance
    /// must match exactly. An empty request means every series of the entity. Requests for
    /// series the entity does not have are dropped, as vCenter omits them.
    pub fn select(&self, entity: &MoRef, wanted: &[(i32, String)]) -> Vec<(i32, String)> {
        self.select_at(Resolution::Realtime, entity, wanted)
    }

    /// [`PerfStore::select`] at any resolution: only series that exist there (a vCPU
    /// instance is not archived at level 1, so `"*"` finds only the aggregate in history).
    pub fn select_at(
        &self,
        resolution: Resolution,
        entity: &MoRef,
        wanted: &[(i32, String)],
    ) -> Vec<(i32, String)> {
        let Some(e) = self.entity(entity) else {
            return Vec::new();
        };
        let exists = |d: &SeriesData| match resolution {
            Resolution::Realtime => true,
            Resolution::Historical(i) => d.archived_at(i),
        };
        if wanted.is_empty() {
            return e
                .series
                .iter()
                .filter(|(_, d)| exists(d))
                .map(|(k, _)| k.clone())
                .collect();
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut take = |k: &SeriesKey| {
            if seen.insert(k.clone()) {
                out.push(k.clone());
            }
        };
        for (key, instance) in wanted {
            if instance == "*" {
                e.series
                    .range((*key, String::new())..)
                    .take_while(|((k, _), _)| k == key)
                    .filter(|(_, d)| exists(d))
                    .for_each(|(k, _)| take(k));
            } else if let Some((k, d)) = e.series.get_key_value(&(*key, instance.clone()))
                && exists(d)
            {
                take(k);
            }
        }
        out
    }

    /// The realtime samples of the given series of `entity` within `window`, on one
    /// timeline: the union of the series' sample times in the window, oldest first, cut to
    /// the newest `window.max_samples`. Series with no sample on that timeline are left out;
    /// an empty result means nothing matched.
    pub fn query(&self, entity: &MoRef, ids: &[(i32, String)], window: &Window) -> Samples {
        self.query_at(Resolution::Realtime, entity, ids, window)
    }

    /// [`PerfStore::query`] at any resolution.
    pub fn query_at(
        &self,
        resolution: Resolution,
        entity: &MoRef,
        ids: &[(i32, String)],
        window: &Window,
    ) -> Samples {
        let Some((e, pending)) = self.held(entity) else {
            return Samples::default();
        };
        // Each series' samples in the window, once: they are sorted, so both the timeline
        // and the alignment below are merges.
        let found: Vec<(usize, &SeriesKey, &SeriesData)> = ids
            .iter()
            .filter_map(|id| e.series.get_indexed(id))
            .collect();
        let wanted = || found.iter().map(|(i, _, _)| *i);
        let whole = window.after_ms.map_or(DecodeFrom::Start, DecodeFrom::After);
        let from = match (window.max_samples, window.until_ms) {
            // Only the newest rows can be asked for: decode from the keyframe before them.
            (Some(n), None) => DecodeFrom::NewestRows(n),
            _ => whole,
        };
        // Each asked-for series' samples in the window.
        let points_in = |decoded: &Decoded| -> Vec<(&SeriesKey, Vec<(i64, i64)>)> {
            found
                .iter()
                .map(|&(i, k, data)| {
                    let p = data
                        .points(resolution, decoded, i)
                        .filter(|s| window.contains(s.0))
                        .collect();
                    (k, p)
                })
                .collect()
        };
        let decoded = e.decode_at(resolution, wanted(), from, pending);
        let mut points = points_in(&decoded);
        let mut times = timeline(&points);
        if let Some(n) = window.max_samples
            && times.len() < n
            && decoded.first_row > 0
        {
            // Gaps in the asked-for series: the newest `n` times reach further back.
            points = points_in(&e.decode_at(resolution, wanted(), whole, pending));
            times = timeline(&points);
        }
        let mut end_ms: Vec<i64> = times.into_iter().collect();
        if let Some(n) = window.max_samples
            && end_ms.len() > n
        {
            end_ms.drain(..end_ms.len() - n);
        }
        let Some(&first_ms) = end_ms.first() else {
            return Samples::default();
        };
        let series = points
            .into_iter()
            .filter_map(|((key, instance), p)| {
                let mut values = Vec::with_capacity(end_ms.len());
                let mut found = false;
                let mut samples = p.iter().skip_while(|s| s.0 < first_ms).peekable();
                for &t in &end_ms {
                    while samples.next_if(|s| s.0 < t).is_some() {}
                    match samples.next_if(|s| s.0 == t) {
                        Some(&(_, v)) => {
                            found = true;
                            values.push(v);
                        }
                        None => values.push(MISSING_VALUE),
                    }
                }
                found.then(|| Series {
                    counter_id: *key,
                    instance: instance.clone(),
                    values,
                })
            })
            .collect();
        Samples { end_ms, series }
    }

    pub(super) fn entity(&self, entity: &MoRef) -> Option<&EntitySeries> {
        self.held(entity).map(|(e, _)| e)
    }

    /// [`PerfStore::entity`] with the repeats of its newest row not yet written, which reads
    /// of its rows add to them.
    pub(super) fn held(&self, entity: &MoRef) -> Option<(&EntitySeries, Pending)> {
        let &i = self.index.get(entity.value.as_str())?;
        let e = self.slots[i as usize]
            .as_ref()
            .filter(|e| e.entity.ty == entity.ty || crate::vmodl::is_a(&e.entity.ty, &entity.ty))?;
        let pending = self
            .fast
            .get(i as usize)
            .map_or(Pending::NONE, pending::Fast::pending);
        Some((e, pending))
    }
}

/// The union of the series' sample times, oldest first.
fn timeline(points: &[(&SeriesKey, Vec<(i64, i64)>)]) -> BTreeSet<i64> {
    points
        .iter()
        .flat_map(|(_, p)| p.iter().map(|s| s.0))
        .collect()
}
