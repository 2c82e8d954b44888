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
//! table instead ([`PerfStore::record_repeat_hinted`], see `pending`), written as rows only
//! when something else writes to the entity (a steady one's written rows are cut to the
//! newest once they leave the window, and its repeats rolled up as runs); reads add such
//! repeats as if written.
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
use std::collections::BTreeMap;

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
mod read;

pub use read::{Samples, Series, Window};

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
}

#[cfg(test)]
mod tests;
