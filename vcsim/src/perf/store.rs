//! The sample store: what the contention model measured, per entity, counter and instance —
//! the last hour of realtime samples and the historical rollups of them.
//!
//! ESXi keeps realtime statistics for one hour: 180 samples of 20 s ([`RETENTION_SAMPLES`]);
//! vCenter forwards realtime queries to the host rather than storing them. A sample's time is
//! `end_ms`, the END of the 20 s interval on the virtual clock: vCenter stamps a realtime
//! sample with the time its interval closed (a sample stamped 08:00:20 covers
//! 08:00:00–08:00:20).
//!
//! Storage is by rows: an entity's series are recorded together, so the entity keeps one
//! byte buffer of [`Rows`], a row per sample time holding the time and every series' value
//! ([`NO_SAMPLE`] where a series did not report), delta-varint encoded against the row
//! before, a value that held still costing a bit. A VM's 43 series for an hour take about
//! 3.8 KB this way, where rings of
//! `(end_ms, value)` pairs took 180 KB; an interval's recording is one append to one
//! allocation, where a column per series cost a cache miss per sample at estate scale. The
//! newest [`RETENTION_SAMPLES`] rows are the realtime window; older rows are dropped at
//! least [`DROP_BATCH`] at a time, so the move is not paid every interval. Entities live in
//! slots, and a caller that records one entity every interval keeps a [`PerfHint`] to it.
//! A row that repeats the newest one (a steady VM) can be recorded as a count in a dense
//! table instead ([`PerfStore::record_repeat_hinted`], see `pending`), written later as
//! rows; reads add such repeats as if written.
//!
//! Queries follow the `PerfQuerySpec` rules: `startTime` exclusive, `endTime` inclusive,
//! `maxSample` keeps the most recent samples, results oldest first. All series of a query
//! share one timeline (the union of their sample times), as `PerfEntityMetric.sampleInfo` is
//! shared by every series in it; a series without a sample at one of those times reports
//! [`MISSING_VALUE`] there, as vCenter does.
//!
//! Each series whose counter a historical interval archives also carries a [`History`]
//! (see [`super::rollup`]): every realtime sample recorded is rolled up into it, in batches
//! when a recorded row closes a 300 s period (see [`EntitySeries::feed_history`]), which
//! reads the same as feeding each sample as it arrives. Entities vCenter computes itself (clusters, datastores) have history only:
//! [`PerfStore::record_history_only`] feeds the rollups without keeping realtime samples.
//! Queries name their resolution with [`Resolution`].

use super::column::NO_SAMPLE;
use super::rollup::{HISTORICAL_INTERVALS, History, Rollup, archived_depth};
use super::rows::Rows;
use crate::clock::REALTIME_INTERVAL_S;
use crate::vmodl::MoRef;
use std::collections::{BTreeMap, BTreeSet};

/// Realtime samples kept per series: 180 × 20 s = the hour ESXi keeps.
pub const RETENTION_SAMPLES: usize = 180;

/// Timeline slots beyond the realtime window kept before the oldest are dropped together.
pub const DROP_BATCH: usize = 20;

/// The realtime retention as a duration, in milliseconds (3 600 000).
pub const RETENTION_MS: i64 = RETENTION_SAMPLES as i64 * REALTIME_INTERVAL_S * 1000;

pub use super::rollup::MISSING_VALUE;

use super::series_map::{Layouts, SeriesKey, SeriesMap};
pub use pending::EntityKey;
use pending::Pending;

mod pending;

/// Which samples a query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The 20 s realtime samples of the last hour.
    Realtime,
    /// A historical interval: an index into [`HISTORICAL_INTERVALS`].
    Historical(usize),
}

impl Resolution {
    /// The resolution whose sampling period is `interval_id` s (20 or a historical one).
    pub fn from_interval_id(interval_id: i32) -> Option<Resolution> {
        if i64::from(interval_id) == REALTIME_INTERVAL_S {
            return Some(Resolution::Realtime);
        }
        super::rollup::interval_index(interval_id).map(Resolution::Historical)
    }

    /// The sampling period in seconds (`PerfSampleInfo.interval`).
    pub fn interval_s(self) -> i32 {
        match self {
            Resolution::Realtime => REALTIME_INTERVAL_S as i32,
            Resolution::Historical(i) => HISTORICAL_INTERVALS[i].sampling_period_s,
        }
    }

    /// How long samples of this resolution are kept, in ms.
    pub fn retention_ms(self) -> i64 {
        match self {
            Resolution::Realtime => RETENTION_MS,
            Resolution::Historical(i) => HISTORICAL_INTERVALS[i].length_ms(),
        }
    }
}

/// One series: its history, if a historical interval archives it. Its realtime values are a
/// column of its entity's [`Rows`].
#[derive(Debug, Default)]
struct SeriesData {
    /// The rollups, for counters some historical interval archives.
    history: Option<Box<History>>,
}

impl SeriesData {
    /// A new series of counter `key`, instance `instance`, with history when a historical
    /// interval archives it: the counter's level (its per-device level for a device
    /// instance) is within the interval's, and its rollup type is not `none`.
    fn new(key: i32, instance: &str) -> SeriesData {
        let history = super::catalogue::by_key(key).and_then(|def| {
            let level = if instance.is_empty() {
                def.level
            } else {
                def.per_device_level
            };
            let rollup = Rollup::from_summary_type(def.rollup)?;
            History::new(rollup, archived_depth(level)).map(Box::new)
        });
        SeriesData { history }
    }

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

/// All series of one entity.
#[derive(Debug)]
struct EntitySeries {
    /// The entity, with its type, as last recorded.
    entity: MoRef,
    /// The realtime slots, oldest first (at most [`RETENTION_SAMPLES`] + [`DROP_BATCH`] +
    /// a 300 s period): value 0 of a row is the slot's end time, value `1 + i` series `i`'s.
    rows: Rows,
    series: SeriesMap<SeriesData>,
}

/// Sets series `i`'s value in `row` (its column `i + 1`, the row grown with gaps as needed),
/// returning what the row held there ([`NO_SAMPLE`] if nothing).
fn set_column(row: &mut Vec<i64>, i: usize, value: i64) -> i64 {
    let column = i + 1;
    if row.len() <= column {
        row.resize(column + 1, NO_SAMPLE);
    }
    std::mem::replace(&mut row[column], value)
}

/// The sampling period of the finest historical interval, whose boundaries decide when
/// realtime rows are rolled up (see [`EntitySeries::feed_history`]).
const ROLLUP_PERIOD_MS: i64 = HISTORICAL_INTERVALS[0].period_ms();

/// Whether `end_ms` closes a rollup period.
fn on_boundary(end_ms: i64) -> bool {
    end_ms.rem_euclid(ROLLUP_PERIOD_MS) == 0
}

/// Whether a row at `end_ms`, after a newest row at `previous_ms` (if any), closes a 300 s
/// period: it ends on a boundary, or it is the first of a new period after a row that did
/// not.
fn closes_period(previous_ms: Option<i64>, end_ms: i64) -> bool {
    on_boundary(end_ms)
        || previous_ms.is_some_and(|p| {
            !on_boundary(p) && p.div_euclid(ROLLUP_PERIOD_MS) != end_ms.div_euclid(ROLLUP_PERIOD_MS)
        })
}

impl EntitySeries {
    fn new(entity: &MoRef) -> EntitySeries {
        EntitySeries {
            entity: entity.clone(),
            rows: Rows::default(),
            series: SeriesMap::default(),
        }
    }

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

    /// Rolls the rows not yet rolled up into their series' history, oldest first.
    ///
    /// Rows are fed in batches, not as recorded, so an interval touches one buffer per
    /// entity rather than a history per series. What clients see is the same: a history
    /// changes only when a period closes, and the store feeds whenever a recorded row
    /// closes one (it ends on a boundary, or it is the first of a new period after a row
    /// that did not), before it changes a row already recorded, before `close_due`, and
    /// before rows are dropped (only fed rows are).
    fn feed_history(&mut self) {
        if self.rows.fed() == self.rows.len() {
            return;
        }
        self.feed_unfed();
        self.rows.mark_fed();
    }

    /// Feeds the rows not yet rolled up to their series' history, leaving them counted as
    /// not fed (see [`EntitySeries::feed_history`]).
    fn feed_unfed(&mut self) {
        if self.rows.fed() == self.rows.len() {
            return;
        }
        // Decoded first, then fed a series at a time: each history takes its run of values
        // while it is in cache, and each series is looked up once a batch, not once a row.
        let width = self.series.len() + 1;
        UNFED.with_borrow_mut(|table| {
            table.clear();
            self.rows.for_each_unfed(|row| {
                let at = table.len();
                table.resize(at + width, NO_SAMPLE);
                let n = row.len().min(width);
                table[at..at + n].copy_from_slice(&row[..n]);
            });
            for i in 0..width - 1 {
                let Some(h) = self.series.value_mut(i).and_then(|d| d.history.as_mut()) else {
                    continue;
                };
                for row in table.chunks_exact(width) {
                    let v = row[i + 1];
                    if v != NO_SAMPLE {
                        h.feed(row[0], v);
                    }
                }
            }
        });
    }

    /// Drops the slots older than the window once [`DROP_BATCH`] of them have gathered (to
    /// a keyframe of the rows: a few more may stay for a while).
    fn drop_old_slots(&mut self) {
        let n = self.rows.len();
        if n < RETENTION_SAMPLES + DROP_BATCH {
            return;
        }
        self.rows.drop_front(n - RETENTION_SAMPLES);
        if self.rows.len() >= RETENTION_SAMPLES + 2 * DROP_BATCH + 16 {
            // No fed keyframe to cut at (rows that never crossed a rollup boundary): roll
            // them up and re-encode the newest window.
            self.feed_history();
            let rows = self.rows.to_rows();
            self.rows = Rows::from_rows(&rows[rows.len() - RETENTION_SAMPLES..]);
        }
    }

    /// The index of series `(key, instance)` for the `position`-th sample of a recording,
    /// made if new.
    fn series_index(
        &mut self,
        layouts: &mut Layouts,
        position: usize,
        key: i32,
        instance: &str,
    ) -> usize {
        self.series
            .for_recording(layouts, position, key, instance, || {
                SeriesData::new(key, instance)
            })
            .0
    }

    /// The history of series `i`, if it is archived.
    fn history_mut(&mut self, i: usize) -> Option<&mut History> {
        self.series.value_mut(i)?.history.as_deref_mut()
    }

    /// Records one interval's samples in a new newest row.
    fn record_new_row<'a>(
        &mut self,
        layouts: &mut Layouts,
        row: &mut Vec<i64>,
        end_ms: i64,
        samples: impl IntoIterator<Item = (i32, &'a str, i64)>,
    ) {
        row.clear();
        row.push(end_ms);
        for (position, (key, instance, value)) in samples.into_iter().enumerate() {
            let i = self.series_index(layouts, position, key, instance);
            let first = set_column(row, i, value);
            if first != NO_SAMPLE {
                // The same series twice in one batch: its history takes the first value, as
                // it would have been fed at once (after the older rows, in time order), and
                // the row keeps the last.
                self.feed_history();
                if let Some(h) = self.history_mut(i) {
                    h.feed(end_ms, first);
                }
            }
        }
        self.push_new_row(row, end_ms);
    }

    /// Appends `row` (the time, then series `i`'s value in column `i + 1`), newer than every
    /// row held, rolling rows up when it closes a 300 s period and dropping old ones.
    fn push_new_row(&mut self, row: &mut Vec<i64>, end_ms: i64) {
        let closes = closes_period(self.rows.last().first().copied(), end_ms);
        self.rows.push(row);
        self.after_push(closes);
    }

    /// What follows a new newest row: rolling rows up when it closed a period, and dropping
    /// old ones.
    fn after_push(&mut self, closes: bool) {
        if closes {
            self.feed_history();
        }
        self.drop_old_slots();
    }

    /// Records samples at a slot already recorded or older than the newest (rare: the
    /// rows are rebuilt). Rows are rolled up first; the samples themselves are fed as
    /// they come, where history ignores them if their time was already taken in.
    fn record_old_row<'a>(
        &mut self,
        layouts: &mut Layouts,
        end_ms: i64,
        samples: impl IntoIterator<Item = (i32, &'a str, i64)>,
    ) {
        self.feed_history();
        let mut rows = self.rows.to_rows();
        let at = match rows.binary_search_by_key(&end_ms, |r| r.first().copied().unwrap_or(0)) {
            Ok(i) => i,
            Err(i) => {
                rows.insert(i, vec![end_ms]);
                i
            }
        };
        for (position, (key, instance, value)) in samples.into_iter().enumerate() {
            let i = self.series_index(layouts, position, key, instance);
            set_column(&mut rows[at], i, value);
            if let Some(h) = self.history_mut(i) {
                h.feed(end_ms, value);
            }
        }
        self.rows = Rows::from_rows(&rows);
        self.drop_old_slots();
    }
}

thread_local! {
    /// The rows [`EntitySeries::feed_history`] is feeding, decoded (a 300 s period's worth,
    /// a few kilobytes; grown to the largest batch met and kept).
    static UNFED: std::cell::RefCell<Vec<i64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Realtime performance samples of every entity that produces them.
#[derive(Debug, Default)]
pub struct PerfStore {
    /// The entities, each in a slot; a forgotten entity's slot is taken by the next new one.
    slots: Vec<Option<EntitySeries>>,
    free: Vec<u32>,
    /// Slot by MoRef value (`vm-42`), which is unique across types in one inventory.
    index: BTreeMap<String, u32>,
    /// The series layouts the entities share.
    layouts: Layouts,
    /// The row being assembled by a recording (reused).
    row: Vec<i64>,
    /// By slot: who holds it, how its newest row was recorded, its repeats not yet written
    /// (see `pending`).
    fast: Vec<pending::Fast>,
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

/// Where a [`PerfStore`] keeps an entity, remembered by a caller that records the same entity
/// every interval: finding it again is then one comparison instead of a search by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerfHint(Option<u32>);

/// The series of a recording, named once: `(counter id, instance)` in the order a caller
/// gives their values to [`PerfStore::record_row_hinted`]. Made by [`PerfStore::row_layout`];
/// an entity whose series are exactly these takes a recording's values as its row as they
/// come, with no per-series lookup.
#[derive(Clone, Debug)]
pub struct RowLayout(std::sync::Arc<super::series_map::Layout>);

impl RowLayout {
    /// Number of series (values per recording).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the layout names no series.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}

impl PerfStore {
    /// Records the value of counter `key`, instance `instance`, for the 20 s interval of
    /// `entity` that ended at `end_ms`. Recording the same time again replaces the value;
    /// a late sample is put in time order. Only the newest [`RETENTION_SAMPLES`] are kept.
    pub fn record(&mut self, entity: &MoRef, end_ms: i64, key: i32, instance: &str, value: i64) {
        self.record_all(entity, end_ms, [(key, instance, value)]);
    }

    /// [`PerfStore::record`] for several `(key, instance, value)` of one entity and interval:
    /// the entity is looked up once, and nothing is allocated for series that exist.
    /// Each sample is also rolled up into its series' history (a replaced or late sample is
    /// not: history is written once, in time order).
    pub fn record_all<'a>(
        &mut self,
        entity: &MoRef,
        end_ms: i64,
        samples: impl IntoIterator<Item = (i32, &'a str, i64)>,
    ) {
        let slot = self.slot_for(entity, None);
        self.record_inner(slot, end_ms, samples, true);
    }

    /// [`PerfStore::record_all`] with the caller's `hint` of where `entity` is kept, updated
    /// when it was wrong. The emulator records every entity's samples each interval, so
    /// this is its inner loop.
    pub fn record_all_hinted<'a>(
        &mut self,
        hint: &mut PerfHint,
        entity: &MoRef,
        end_ms: i64,
        samples: impl IntoIterator<Item = (i32, &'a str, i64)>,
    ) {
        let slot = self.slot_for(entity, Some(hint));
        self.record_inner(slot, end_ms, samples, true);
    }

    /// The layout of a recording of the series `keys`, in that order; `None` if a key
    /// repeats.
    pub fn row_layout(&mut self, keys: &[(i32, String)]) -> Option<RowLayout> {
        self.layouts.of(keys).map(RowLayout)
    }

    /// [`PerfStore::record_all_hinted`] with the series named by `layout` and their values
    /// in `values`, in its order (`values.len()` must equal `layout.len()`; extra values or
    /// series are ignored). The same result, but an entity whose series are the layout's
    /// (every recording after the first of a steady entity) takes the values as its new row
    /// directly.
    pub fn record_row_hinted(
        &mut self,
        hint: &mut PerfHint,
        entity: &MoRef,
        end_ms: i64,
        layout: &RowLayout,
        values: &[i64],
    ) {
        let slot = self.slot_for(entity, Some(hint));
        self.write_pending(slot);
        let Some(e) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let newer = e.rows.last().first().is_none_or(|&newest| end_ms > newest);
        if newer && values.len() == layout.len() && e.series.is_on(&layout.0) {
            let row = &mut self.row;
            row.clear();
            row.push(end_ms);
            row.extend_from_slice(values);
            e.push_new_row(row, end_ms);
            self.note_recorded(slot, Some(layout));
            return;
        }
        let samples = layout
            .0
            .keys()
            .iter()
            .zip(values)
            .map(|((key, instance), v)| (*key, instance.as_str(), *v));
        self.record_inner(slot, end_ms, samples, true);
    }

    /// Rolls the samples of the 20 s interval ending at `end_ms` up into `entity`'s history
    /// without keeping them as realtime samples: for entities vCenter aggregates itself
    /// (clusters, datastores), which have no realtime statistics, and for a past older than
    /// the realtime hour.
    pub fn record_history_only<'a>(
        &mut self,
        entity: &MoRef,
        end_ms: i64,
        samples: impl IntoIterator<Item = (i32, &'a str, i64)>,
    ) {
        let slot = self.slot_for(entity, None);
        self.record_inner(slot, end_ms, samples, false);
    }

    /// The slot of `entity`, made if new (or emptied if its reference now names an object
    /// of another type).
    fn slot_for(&mut self, entity: &MoRef, hint: Option<&mut PerfHint>) -> usize {
        let hinted = hint.as_ref().and_then(|h| h.0).and_then(|i| {
            let e = self.slots.get(i as usize)?.as_ref()?;
            (e.entity.value == entity.value).then_some(i as usize)
        });
        let slot = match hinted {
            Some(i) => i,
            None => {
                let i = match self.index.get(entity.value.as_str()) {
                    Some(&i) => i as usize,
                    None => {
                        let e = Some(EntitySeries::new(entity));
                        let i = match self.free.pop() {
                            Some(i) => {
                                self.slots[i as usize] = e;
                                i as usize
                            }
                            None => {
                                self.slots.push(e);
                                self.slots.len() - 1
                            }
                        };
                        self.index.insert(entity.value.to_string(), i as u32);
                        self.fast_for_new(i, entity);
                        i
                    }
                };
                if let Some(h) = hint {
                    h.0 = Some(i as u32);
                }
                i
            }
        };
        if let Some(e) = self.slots[slot].as_mut()
            && e.entity.ty != entity.ty
        {
            // A reference value reused for an object of another type: the old series
            // belonged to a different object and must not leak into the new one's.
            *e = EntitySeries::new(entity);
            self.fast_for_new(slot, entity);
        }
        slot
    }

    fn record_inner<'a>(
        &mut self,
        slot: usize,
        end_ms: i64,
        samples: impl IntoIterator<Item = (i32, &'a str, i64)>,
        realtime: bool,
    ) {
        self.write_pending(slot);
        let Some(e) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if !realtime {
            for (position, (key, instance, value)) in samples.into_iter().enumerate() {
                let i = e.series_index(&mut self.layouts, position, key, instance);
                if let Some(h) = e.history_mut(i) {
                    h.feed(end_ms, value);
                }
            }
            return;
        }
        match e.rows.last().first() {
            Some(&newest_ms) if end_ms <= newest_ms => {
                e.record_old_row(&mut self.layouts, end_ms, samples);
            }
            _ => e.record_new_row(&mut self.layouts, &mut self.row, end_ms, samples),
        }
        self.note_recorded(slot, None);
    }

    /// Closes every historical bucket whose period ended at or before `now_ms` (see
    /// [`History::close_due`]): the samples of entities that stopped producing mid-period.
    /// Cheap enough to call at every 300 s boundary.
    pub fn close_due(&mut self, now_ms: i64) {
        for slot in 0..self.slots.len() {
            // An entity that recorded every series at `now_ms` has nothing due: skipped
            // without reading its series (all but a few entities, each 300 s).
            if self.fast.get(slot).is_some_and(|f| f.closed_at(now_ms)) {
                continue;
            }
            self.write_pending(slot);
            let Some(e) = self.slots[slot].as_mut() else {
                continue;
            };
            e.feed_history();
            for data in e.series.values_mut() {
                if let Some(h) = data.history.as_mut() {
                    h.close_due(now_ms);
                }
            }
        }
    }

    /// Drops everything about `entity` (it was destroyed).
    pub fn forget(&mut self, entity: &MoRef) {
        if let Some(i) = self.index.remove(entity.value.as_str()) {
            self.slots[i as usize] = None;
            self.fast_forget(i as usize);
            self.free.push(i);
        }
    }

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

    fn entity(&self, entity: &MoRef) -> Option<&EntitySeries> {
        self.held(entity).map(|(e, _)| e)
    }

    /// [`PerfStore::entity`] with the repeats of its newest row not yet written, which reads
    /// of its rows add to them.
    fn held(&self, entity: &MoRef) -> Option<(&EntitySeries, Pending)> {
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

#[cfg(test)]
mod tests;
