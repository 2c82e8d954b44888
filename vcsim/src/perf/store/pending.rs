//! Repeats of an entity's newest row, recorded without touching the entity.
//!
//! A steady VM's samples repeat interval after interval, and the emulator records such an
//! interval as a repeat of the VM's newest row ([`PerfStore::record_repeat_hinted`]).
//! Writing that row at once reads the entity's series, its newest row and its buffer's end,
//! and rolling it up each 300 s reads every archived series' history: a dozen cold cache
//! lines per VM per interval at 10 000 VMs, most of what was left of an interval. Here a
//! repeat is a count in [`Fast`], one small record per slot in a dense table that an
//! interval walks in order.
//!
//! The repeats are written ([`PerfStore::write_pending`]) before anything else writes to
//! the entity, when a sweep finds the entity stopped, or at once at a period's close while
//! written rows await their roll-up. A steady entity's repeats are never written as rows:
//! once an hour of them has gathered its written rows lie outside the realtime window, and
//! at a period's close they are cut to the newest (`PerfStore::roll_pending`); the repeats
//! due are rolled up into history as runs then, and again whenever [`MAX_UNROLLED`] more
//! have gathered. Until then reads see them as rows (see [`Pending`]): a realtime read
//! appends the newest hour of them to the decoded rows, and a historical read rolls those
//! due (up to the last period close) into a copy of each history it reads. What any query
//! returns is the same as if each repeat had been written when recorded
//! (`recording_a_repeat_is_recording_the_row`).

use super::{
    EntitySeries, NO_SAMPLE, PerfHint, PerfStore, RETENTION_SAMPLES, ROLLUP_PERIOD_MS, RowLayout,
    Rows, closes_period,
};
use crate::vmodl::MoRef;

/// Repeats left pending but not rolled up into history at most (a day of 20 s intervals):
/// past it the due ones are rolled up at the next period's close, so that a historical read
/// rolls up at most a day of them into its copies. A run rolls up whole buckets at a time,
/// so a day costs a read about what an hour does.
pub(super) const MAX_UNROLLED: u32 = 4320;

/// An entity's reference value and type in two words, worked out once by a caller that
/// records the entity often ([`PerfStore::record_repeat_hinted`] tells whether a slot is
/// the entity's from these alone, without reading either string).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntityKey {
    /// The value packed ([`pack_value`]); 0 when it does not fit.
    value: u128,
    /// A hash of the type ([`type_tag`]).
    ty: u32,
}

impl EntityKey {
    /// `entity`'s key.
    pub fn of(entity: &MoRef) -> EntityKey {
        EntityKey {
            value: pack_value(&entity.value),
            ty: type_tag(&entity.ty),
        }
    }
}

/// Per slot, beside [`PerfStore::slots`]: who holds it, how its newest row was recorded,
/// and the repeats of that row not yet written.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Fast {
    /// The entity's key; its value is 0 when it does not pack, and then repeats are
    /// written at once.
    key: EntityKey,
    /// The address of the layout the newest row was recorded by; 0 when it was not.
    layout: usize,
    /// The newest row's time, pending repeats included.
    newest_ms: i64,
    /// Whether the newest row has a value for every series (see [`Fast::closed_at`]).
    complete: bool,
    /// Whether every written row has been rolled up: only then may repeats stay pending
    /// past a period's close (reads roll them up, see [`Pending::rolled_up`]).
    rows_fed: bool,
    /// What is pending.
    pending: Pending,
}

/// Repeats of an entity's newest written row not yet written, each `step_ms` (at most a
/// rollup period) after the one before: rows for a read, [`Pending::NONE`] when everything
/// is written. The first `fed` of them are rolled up into history already (only when every
/// written row is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Pending {
    pub(super) count: u32,
    pub(super) step_ms: u32,
    pub(super) fed: u32,
}

impl Pending {
    pub(super) const NONE: Pending = Pending {
        count: 0,
        step_ms: 0,
        fed: 0,
    };

    /// The time of repeat `j` (1 the first) after a newest written row at `newest_ms`.
    fn at(&self, newest_ms: i64, j: u32) -> i64 {
        newest_ms + i64::from(j) * i64::from(self.step_ms)
    }

    /// Whether repeat `j` (1 the first) closes a 300 s period.
    fn closes(&self, newest_ms: i64, j: u32) -> bool {
        closes_period(Some(self.at(newest_ms, j - 1)), self.at(newest_ms, j))
    }

    /// How many of the repeats, from the first, are due to be rolled up: up to the last
    /// one that closes a period (0 when none does).
    ///
    /// With a step of at most a period, a repeat closes one exactly when a period boundary
    /// lies after the repeat before it and at or before it ([`closes_period`]), so the last
    /// that closes one is the first at or after the newest boundary the repeats reach.
    pub(super) fn rolled_up(&self, newest_ms: i64) -> usize {
        let step_ms = i64::from(self.step_ms);
        if self.count == 0 || step_ms == 0 {
            return 0;
        }
        debug_assert!(step_ms <= ROLLUP_PERIOD_MS);
        let last_ms = self.at(newest_ms, self.count);
        let boundary_ms = last_ms.div_euclid(ROLLUP_PERIOD_MS) * ROLLUP_PERIOD_MS;
        if boundary_ms <= newest_ms {
            return 0;
        }
        usize::try_from((boundary_ms - newest_ms + step_ms - 1) / step_ms).unwrap_or(0)
    }

    /// The repeats due to be rolled up that are not yet: the first's time and how many.
    pub(super) fn unrolled(&self, newest_ms: i64) -> (i64, usize) {
        let rolled = self.rolled_up(newest_ms);
        let fed = (self.fed as usize).min(rolled);
        let first_ms = newest_ms + (fed as i64 + 1) * i64::from(self.step_ms);
        (first_ms, rolled - fed)
    }

    /// How many of the oldest repeats lie before the realtime window whatever is written
    /// before them ([`RETENTION_SAMPLES`] newer ones follow).
    pub(super) fn before_window(&self) -> usize {
        (self.count as usize).saturating_sub(RETENTION_SAMPLES)
    }
}

/// A reference value of up to 15 bytes in one word (its length in the top byte, so no
/// two values share a word); 0 for a longer one.
fn pack_value(value: &str) -> u128 {
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 15 {
        return 0;
    }
    let mut word = [0u8; 16];
    word[..bytes.len()].copy_from_slice(bytes);
    word[15] = bytes.len() as u8;
    u128::from_le_bytes(word)
}

/// FNV-1a of a type name: tells the few types an inventory records apart.
fn type_tag(ty: &str) -> u32 {
    ty.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl Fast {
    /// The record of a slot just given to `entity` (nothing recorded yet).
    pub(super) fn new(entity: &MoRef) -> Fast {
        Fast {
            key: EntityKey::of(entity),
            layout: 0,
            newest_ms: i64::MIN,
            complete: false,
            rows_fed: false,
            pending: Pending::NONE,
        }
    }

    /// Whether this slot is the entity's whose key is `key`, told without reading the
    /// entity (false when its value does not pack: the caller then looks the slot up the
    /// slow way).
    fn is(&self, key: EntityKey) -> bool {
        self.key.value != 0 && self.key == key
    }

    /// What reads of this slot's rows must add to them.
    pub(super) fn pending(&self) -> Pending {
        self.pending
    }

    /// Whether every historical bucket of the entity that ends at or before `now_ms` is
    /// closed, or will be when its pending repeats roll up, so that a sweep has nothing to
    /// do: its newest row (written or a repeat) is at `now_ms` and has every series.
    /// Rolling that row up closes each series' period ending then, and every older one.
    pub(super) fn closed_at(&self, now_ms: i64) -> bool {
        self.complete && self.newest_ms == now_ms
    }
}

/// The address that names `layout` in [`Fast::layout`].
fn layout_address(layout: &RowLayout) -> usize {
    std::sync::Arc::as_ptr(&layout.0) as usize
}

impl EntitySeries {
    /// Appends the newest row again at `end_ms`, and nothing else.
    fn push_repeat_row(&mut self, end_ms: i64, scratch: &mut Vec<i64>) {
        if !self.rows.push_repeat(end_ms) {
            scratch.clear();
            scratch.extend_from_slice(self.rows.last());
            scratch[0] = end_ms;
            self.rows.push(scratch);
        }
    }

    /// Rolls the repeats in `pending` that are due and not yet rolled up into the histories
    /// of the series they have a value for, as runs of one value (after written rows not yet
    /// rolled up, as they would have been; left counted as not fed). Returns how many of
    /// the repeats are rolled up now.
    fn roll_repeats(&mut self, pending: Pending) -> usize {
        let Some(&newest_ms) = self.rows.last().first() else {
            return 0;
        };
        let (first_ms, count) = pending.unrolled(newest_ms);
        if count > 0 {
            self.feed_unfed();
            for i in 0..self.series.len() {
                let Some(&v) = self.rows.last().get(i + 1) else {
                    break;
                };
                if v == NO_SAMPLE {
                    continue;
                }
                if let Some(h) = self.history_mut(i) {
                    h.feed_run(first_ms, i64::from(pending.step_ms), count, v);
                }
            }
        }
        pending.rolled_up(newest_ms).max(pending.fed as usize)
    }

    /// Restarts the rows at repeat `j` (1 the first) of the newest row: when the rows
    /// written and the repeats before it all lie before the realtime window and are rolled
    /// up, they are cut rather than written.
    fn restart_rows_at(&mut self, pending: Pending, j: u32) {
        let Some(&newest_ms) = self.rows.last().first() else {
            return;
        };
        let mut row = self.rows.last().to_vec();
        row[0] = pending.at(newest_ms, j);
        self.rows = Rows::from_rows(&[row]);
    }

    /// Writes `pending` repeats of the newest row: what writing them one by one does (each
    /// row appended, the rows rolled up at each that closes a period), but the repeats are
    /// rolled up as runs of one value per series, not decoded back row by row, old rows are
    /// dropped only where a cut has become possible, and repeats that would be dropped
    /// before anyone could read them as rows are not written.
    fn write_repeats(&mut self, pending: Pending, scratch: &mut Vec<i64>) {
        let Some(&newest_ms) = self.rows.last().first() else {
            return;
        };
        let rolled = self.roll_repeats(pending);
        let count = pending.count as usize;
        // Repeats older than the newest hour that are rolled up are past the window once
        // the rest are written: the rows restart at the newest of them.
        let skipped = pending.before_window().min(rolled);
        if skipped > 0 {
            self.restart_rows_at(pending, skipped as u32);
        }
        // Rows that the repeats push out of the realtime window (reads already leave them
        // out) are dropped first, and the buffer keeps its room: the repeats then fill it
        // rather than grow it, and a drop after them does not shrink it for the next batch.
        let written = count - skipped;
        let held = self.rows.len() + written;
        if held >= super::RETENTION_SAMPLES + super::DROP_BATCH {
            // The newest row stays: it is what the repeats repeat.
            let max = (held - super::RETENTION_SAMPLES).min(self.rows.len() - 1);
            self.rows.drop_front_keeping(max);
        }
        // A repeat takes a header, the changed bits and the time's delta; a keyframe (the
        // first row after each close) a few bytes a value (`push` grows for more).
        let width = self.rows.last().len();
        let spanned_ms = written as i64 * i64::from(pending.step_ms);
        let keyframes = usize::try_from(spanned_ms / super::ROLLUP_PERIOD_MS).unwrap_or(0) + 2;
        self.rows.reserve(
            written * (3 + width.div_ceil(8) + 3)
                + keyframes * (10 + width.div_ceil(8) + 3 * width),
        );
        for j in skipped as u32 + 1..=pending.count {
            self.push_repeat_row(pending.at(newest_ms, j), scratch);
            // Old rows are dropped where a close makes a new cut possible (and at the end),
            // not after every row: a drop with nothing to cut still reads every row.
            if pending.closes(newest_ms, j) {
                self.rows.mark_fed();
                self.drop_old_slots();
            }
        }
        self.drop_old_slots();
    }
}

impl PerfStore {
    /// Records at `end_ms` the values `entity` recorded at `previous_ms` through `layout`
    /// ([`PerfStore::record_row_hinted`]'s direct path): how a caller whose values repeat the
    /// last interval's records them without deriving them again. `key` must be
    /// `EntityKey::of(entity)`. The store checks that the entity's newest row is that
    /// recording, untouched since; if not (or `end_ms` is not later) it records nothing and
    /// returns false, and the caller records the values.
    pub fn record_repeat_hinted(
        &mut self,
        hint: &mut PerfHint,
        entity: &MoRef,
        key: EntityKey,
        previous_ms: i64,
        end_ms: i64,
        layout: &RowLayout,
    ) -> bool {
        debug_assert_eq!(key, EntityKey::of(entity));
        let hinted = hint
            .0
            .map(|i| i as usize)
            .filter(|&i| self.fast.get(i).is_some_and(|f| f.is(key)));
        let slot = match hinted {
            Some(i) => i,
            None => self.slot_for(entity, Some(hint)),
        };
        let f = &mut self.fast[slot];
        if f.layout != layout_address(layout) || f.newest_ms != previous_ms || end_ms <= previous_ms
        {
            return false;
        }
        let Ok(step_ms) = u32::try_from(end_ms - previous_ms) else {
            return false;
        };
        let lazy = f.key.value != 0
            && i64::from(step_ms) <= ROLLUP_PERIOD_MS
            && f.pending.count < u32::MAX
            && (f.pending.count == 0 || f.pending.step_ms == step_ms);
        if !lazy {
            // Written at once, after what is pending.
            self.write_pending(slot);
            let f = &mut self.fast[slot];
            f.pending = Pending {
                count: 1,
                step_ms,
                fed: 0,
            };
            f.newest_ms = end_ms;
            self.write_pending(slot);
            return true;
        }
        f.pending.count += 1;
        f.pending.step_ms = step_ms;
        f.newest_ms = end_ms;
        if closes_period(Some(previous_ms), end_ms) {
            let p = f.pending;
            if !f.rows_fed {
                self.write_pending(slot);
            } else if p.count - p.fed >= MAX_UNROLLED || (p.fed == 0 && p.before_window() > 0) {
                self.roll_pending(slot);
            }
        }
        true
    }

    /// Rolls slot `slot`'s due repeats up into history and, once its written rows lie
    /// before the realtime window, cuts them to the newest: what a steady entity's repeats
    /// cost, once an hour after they start and then once every [`MAX_UNROLLED`] of them.
    /// Its written rows must all be rolled up.
    fn roll_pending(&mut self, slot: usize) {
        let (Some(f), Some(e)) = (self.fast.get_mut(slot), self.slots[slot].as_mut()) else {
            return;
        };
        debug_assert!(f.rows_fed);
        let rolled = e.roll_repeats(f.pending);
        f.pending.fed = u32::try_from(rolled).unwrap_or(u32::MAX);
        if f.pending.before_window() > 0 && e.rows.len() > 1 {
            e.restart_rows_at(f.pending, 0);
        }
    }

    /// Writes slot `slot`'s pending repeats to its rows.
    pub(super) fn write_pending(&mut self, slot: usize) {
        let Some(f) = self.fast.get_mut(slot) else {
            return;
        };
        let pending = std::mem::take(&mut f.pending);
        if pending.count == 0 {
            return;
        }
        let Some(e) = self.slots[slot].as_mut() else {
            return;
        };
        e.write_repeats(pending, &mut self.row);
        f.rows_fed = e.rows.fed() == e.rows.len();
    }

    /// Notes how slot `slot`'s newest row was just recorded: by `layout`, or by name.
    pub(super) fn note_recorded(&mut self, slot: usize, layout: Option<&RowLayout>) {
        let Some(f) = self.fast.get_mut(slot) else {
            return;
        };
        debug_assert_eq!(f.pending, Pending::NONE);
        let e = self.slots[slot].as_ref();
        let newest = e.map_or(&[][..], |e| e.rows.last());
        f.layout = layout.map_or(0, layout_address);
        f.newest_ms = newest.first().copied().unwrap_or(i64::MIN);
        f.complete =
            e.is_some_and(|e| newest.len() == e.series.len() + 1) && !newest.contains(&NO_SAMPLE);
        f.rows_fed = e.is_some_and(|e| e.rows.fed() == e.rows.len());
    }

    /// Gives slot `slot` to `entity` in the table (a new entity, or a reused slot).
    pub(super) fn fast_for_new(&mut self, slot: usize, entity: &MoRef) {
        if self.fast.len() <= slot {
            self.fast.resize(slot + 1, Fast::default());
        }
        self.fast[slot] = Fast::new(entity);
    }

    /// Slot `slot` is gone.
    pub(super) fn fast_forget(&mut self, slot: usize) {
        if let Some(f) = self.fast.get_mut(slot) {
            *f = Fast::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_pack_apart_and_long_ones_do_not_pack() {
        let a = pack_value("vm-12");
        assert_ne!(a, 0);
        assert_ne!(a, pack_value("vm-120"));
        assert_ne!(pack_value("vm-1"), pack_value("vm-1\0"));
        assert_eq!(pack_value("123456789012345").to_le_bytes()[15], 15);
        assert_eq!(pack_value("1234567890123456"), 0);
        assert_eq!(pack_value(""), 0);
        assert_ne!(type_tag("VirtualMachine"), type_tag("HostSystem"));
    }

    #[test]
    fn repeats_roll_up_to_the_last_period_close() {
        // Newest written row at 280 s into a period of 300 s; repeats every 20 s.
        let newest_ms = 1_506_902_400_000 + 280_000;
        let p = |count| Pending {
            count,
            step_ms: 20_000,
            fed: 0,
        };
        assert_eq!(p(0).rolled_up(newest_ms), 0);
        assert_eq!(p(1).rolled_up(newest_ms), 1, "the first closes the period");
        assert_eq!(p(15).rolled_up(newest_ms), 1);
        assert_eq!(p(16).rolled_up(newest_ms), 16);
        assert_eq!(p(40).rolled_up(newest_ms), 31);
        let fed = Pending { fed: 16, ..p(40) };
        assert_eq!(fed.unrolled(newest_ms), (newest_ms + 17 * 20_000, 15));
        assert_eq!(p(40).before_window(), 0);
        assert_eq!(p(200).before_window(), 20);
    }

    proptest::proptest! {
        /// The closed form of [`Pending::rolled_up`] is the last repeat that closes a
        /// period, found one by one.
        #[test]
        fn the_last_close_is_found_without_a_walk(
            newest_ms in -2_000_000i64..2_000_000,
            step_ms in 1u32..=300_000,
            count in 0u32..400,
        ) {
            let p = Pending { count, step_ms, fed: 0 };
            let walked = (1..=count)
                .rev()
                .find(|&j| p.closes(newest_ms, j))
                .map_or(0, |j| j as usize);
            proptest::prop_assert_eq!(p.rolled_up(newest_ms), walked);
        }
    }
}
