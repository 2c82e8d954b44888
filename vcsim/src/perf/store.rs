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
            Resolution::Historical(i) => match self.history.as_ref().and_then(|h| h.ring(i)) {
                Some(ring) => Box::new(ring.samples(HISTORICAL_INTERVALS[i].period_ms())),
                None => Box::new(std::iter::empty()),
            },
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

impl EntitySeries {
    fn new(entity: &MoRef) -> EntitySeries {
        EntitySeries {
            entity: entity.clone(),
            rows: Rows::default(),
            series: SeriesMap::default(),
        }
    }

    /// The slots' times and the realtime values of the series in `wanted` (series indices).
    fn decode(&self, wanted: impl IntoIterator<Item = usize>) -> Decoded {
        self.decode_from(wanted, DecodeFrom::Start)
    }

    /// What a read at `resolution` needs decoded: the rows from `from` on for realtime,
    /// nothing for history (kept apart from the rows).
    fn decode_at(
        &self,
        resolution: Resolution,
        wanted: impl IntoIterator<Item = usize>,
        from: DecodeFrom,
    ) -> Decoded {
        match resolution {
            Resolution::Realtime => self.decode_from(wanted, from),
            Resolution::Historical(_) => Decoded::default(),
        }
    }

    /// [`EntitySeries::decode`] of the rows from `from` on: the rows before the keyframe
    /// it picks are left out of the result.
    fn decode_from(&self, wanted: impl IntoIterator<Item = usize>, from: DecodeFrom) -> Decoded {
        let mut keep = vec![false; self.series.len() + 1];
        keep[0] = true;
        for i in wanted {
            if let Some(t) = keep.get_mut(i + 1) {
                *t = true;
            }
        }
        let total = self.rows.len();
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
        let mut columns: Vec<Vec<i64>> = Vec::new();
        columns.resize_with(self.series.len(), Vec::new);
        let mut end_ms = Vec::with_capacity(total - row0);
        self.rows.for_each_kept_from(at, &keep, |row| {
            end_ms.push(row[0]);
            for (i, column) in columns.iter_mut().enumerate() {
                if keep[i + 1] {
                    column.push(row[i + 1]);
                }
            }
        });
        Decoded {
            end_ms,
            skip: retained_from.saturating_sub(row0),
            first_row: row0,
            columns,
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
        let series = &mut self.series;
        self.rows.for_each_unfed(|row| {
            let Some((&end_ms, values)) = row.split_first() else {
                return;
            };
            for (i, v) in values.iter().enumerate() {
                if *v == NO_SAMPLE {
                    continue;
                }
                if let Some(h) = series.value_mut(i).and_then(|d| d.history.as_mut()) {
                    h.feed(end_ms, *v);
                }
            }
        });
        self.rows.mark_fed();
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
        let previous_ms = self.rows.last().first().copied();
        let closes = on_boundary(end_ms)
            || previous_ms.is_some_and(|p| {
                !on_boundary(p)
                    && p.div_euclid(ROLLUP_PERIOD_MS) != end_ms.div_euclid(ROLLUP_PERIOD_MS)
            });
        self.rows.push(row);
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
    }

    /// Closes every historical bucket whose period ended at or before `now_ms` (see
    /// [`History::close_due`]): the samples of entities that stopped producing mid-period.
    /// Cheap enough to call at every 300 s boundary.
    pub fn close_due(&mut self, now_ms: i64) {
        for e in self.slots.iter_mut().flatten() {
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
        self.entity(entity)
            .map(|e| {
                let from = window.after_ms.map_or(DecodeFrom::Start, DecodeFrom::After);
                let decoded = e.decode_at(resolution, 0..e.series.len(), from);
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
        let Some(e) = self.entity(entity) else {
            return Vec::new();
        };
        let Some((i, _, data)) = e.series.get_indexed(&(key, instance.to_owned())) else {
            return Vec::new();
        };
        let decoded = e.decode_at(resolution, [i], DecodeFrom::Start);
        data.points(resolution, &decoded, i).collect()
    }

    /// The newest realtime `(end_ms, value)` of one series.
    pub fn latest(&self, entity: &MoRef, key: i32, instance: &str) -> Option<(i64, i64)> {
        let e = self.entity(entity)?;
        let (i, _, data) = e.series.get_indexed(&(key, instance.to_owned()))?;
        let last = e.rows.last();
        if let (Some(&t), Some(&v)) = (last.first(), last.get(i + 1))
            && v != NO_SAMPLE
        {
            // The usual case: the series reported at the newest slot.
            return Some((t, v));
        }
        let decoded = e.decode([i]);
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
        let Some(e) = self.entity(entity) else {
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
        let decoded = e.decode_at(resolution, wanted(), from);
        let mut points = points_in(&decoded);
        let mut times = timeline(&points);
        if let Some(n) = window.max_samples
            && times.len() < n
            && decoded.first_row > 0
        {
            // Gaps in the asked-for series: the newest `n` times reach further back.
            points = points_in(&e.decode_at(resolution, wanted(), whole));
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
        let &i = self.index.get(entity.value.as_str())?;
        self.slots[i as usize]
            .as_ref()
            .filter(|e| e.entity.ty == entity.ty || crate::vmodl::is_a(&e.entity.ty, &entity.ty))
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
mod tests {
    use super::*;

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
}
