//! Historical statistics: vCenter's four default intervals and the rollup of realtime
//! samples into them.
//!
//! vCenter rolls the hosts' 20 s realtime samples up into "Past day" samples of 300 s, those
//! into "Past week" samples of 1 800 s, those into "Past month" samples of 7 200 s and those
//! into "Past year" samples of 86 400 s, keeping each for the interval's length (1 day,
//! 1 week, 30 days, 365 days): 288, 336, 360 and 365 samples (vSphere Monitoring and
//! Performance, "Data Collection Intervals"; `PerfInterval` of a real vCenter as captured in
//! govmomi's `simulator/vpx`). Each coarser interval is computed from the one before it, as
//! vCenter's rollup jobs do, by the counter's `PerfSummaryType`:
//!
//! | rollup | value of a historical sample |
//! |---|---|
//! | `average` | mean of the finer samples, rounded to nearest (halves away from zero) |
//! | `summation` | sum of the finer samples (a 300 s `cpu.ready.summation`: ms of 15 × 20 s) |
//! | `latest` | the last finer sample |
//! | `maximum` / `minimum` | the largest / smallest finer sample |
//! | `none` | not rolled up: no history |
//!
//! A sample covers `(end − period, end]` and is stamped with `end`, a multiple of its period
//! since the epoch (so 300 s samples fall on :00, :05, …; daily ones on 00:00 UTC). It is
//! produced as soon as its last finer sample (the one ending at `end`) arrives; a bucket that
//! never gets it (the entity stopped producing) is closed by [`History::close_due`] once its
//! period is over, from whatever samples it got.
//!
//! Statistics levels: a historical interval keeps a counter only when the counter's level
//! (`PerfCounterInfo.level` for the aggregate instance `""`, `perDeviceLevel` for a device
//! instance such as a vCPU) is at most the interval's level. All four default intervals are at
//! level 1, so `cpu.ready.summation` (level 1, per-device level 3) keeps its aggregate but not
//! its per-vCPU series, and `cpu.demand.average` (level 2) keeps nothing.
//!
//! # Memory per series
//!
//! A series archived in all four intervals holds one [`Ring`] per interval: a ring of `i64`
//! values without timestamps (the newest sample's end time and the fixed period give every
//! slot's time) that grows as samples arrive, by doubling, and stops exactly at the
//! retention: at most 288 + 336 + 360 + 365 = 1 349 values, 10 792 bytes, plus 336 bytes of
//! fixed state (four pending buckets and ring headers, 72 bytes each, and the box). A day of
//! history (288 + 48 + 12 + 1 values) measures 3 344 bytes per series, rings' spare capacity
//! included. Realtime samples are extra: 180 `(end_ms, value)` pairs, 2 880 bytes.
//!
//! At vCenter's default level 1 only the aggregates of level-1 counters are archived: 9
//! series per VM of the contention model (`cpu.usage`, `cpu.usagemhz`, `cpu.ready`,
//! `mem.usage`, `mem.consumed`, `mem.overhead`, `mem.vmmemctl`, `mem.swapinRate`,
//! `mem.swapoutRate`), 8 per host and per cluster, 6 per resource pool, 3 per datastore: a
//! day of the default inventory (8 VMs) is 127 series, 425 KB; a year would be about 1.4 MB.
//!
//! # Cost
//!
//! The store rolls an entity's realtime rows up in batches, when a recorded row closes a
//! 300 s period (and before `close_due`), so a series' history is touched once per period
//! rather than once per sample; what it holds reads the same as feeding each sample at once
//! (tested in `history_tests`). Measured when it fed each sample: recording 40 series per
//! entity of which 9 are archived took 20 / 48 / 66 ns per sample for 16 / 200 / 700
//! entities, against 15 / 39 / 48 ns without rollups.

use super::column::Column;

/// The value vCenter reports where a series has no sample at a time the others have; also
/// what fills a ring slot for which no sample was produced.
pub const MISSING_VALUE: i64 = -1;

/// One of vCenter's historical intervals (`PerfInterval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoricalInterval {
    /// `PerfInterval.key`.
    pub key: i32,
    /// `PerfInterval.samplingPeriod`, s: what `PerfQuerySpec.intervalId` names.
    pub sampling_period_s: i32,
    /// `PerfInterval.name`.
    pub name: &'static str,
    /// `PerfInterval.length`, s: how long samples are kept.
    pub length_s: i32,
    /// `PerfInterval.level`: counters above this level are not archived.
    pub level: i32,
}

impl HistoricalInterval {
    /// The sampling period in milliseconds.
    pub const fn period_ms(&self) -> i64 {
        self.sampling_period_s as i64 * 1000
    }

    /// The retention in milliseconds.
    pub const fn length_ms(&self) -> i64 {
        self.length_s as i64 * 1000
    }

    /// Samples kept per series: length ÷ sampling period.
    pub const fn capacity(&self) -> usize {
        (self.length_s / self.sampling_period_s) as usize
    }
}

/// vCenter's default historical intervals, finest first: `PerformanceManager.historicalInterval`
/// advertises exactly these. Keys are distinct as on a real vCenter (govmomi's captured
/// template repeats key 1, a data bug we do not copy); levels are vCenter's default, 1.
pub const HISTORICAL_INTERVALS: [HistoricalInterval; 4] = [
    HistoricalInterval {
        key: 1,
        sampling_period_s: 300,
        name: "Past day",
        length_s: 86_400,
        level: 1,
    },
    HistoricalInterval {
        key: 2,
        sampling_period_s: 1_800,
        name: "Past week",
        length_s: 604_800,
        level: 1,
    },
    HistoricalInterval {
        key: 3,
        sampling_period_s: 7_200,
        name: "Past month",
        length_s: 2_592_000,
        level: 1,
    },
    HistoricalInterval {
        key: 4,
        sampling_period_s: 86_400,
        name: "Past year",
        length_s: 31_536_000,
        level: 1,
    },
];

/// Number of historical intervals.
pub const INTERVAL_COUNT: usize = HISTORICAL_INTERVALS.len();

/// The index into [`HISTORICAL_INTERVALS`] of the interval whose sampling period is
/// `interval_id` seconds.
pub fn interval_index(interval_id: i32) -> Option<usize> {
    HISTORICAL_INTERVALS
        .iter()
        .position(|i| i.sampling_period_s == interval_id)
}

/// How a counter's samples combine into a coarser one (`PerfSummaryType`, without `none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollup {
    /// Mean.
    Average,
    /// Sum.
    Summation,
    /// Last value.
    Latest,
    /// Largest value.
    Maximum,
    /// Smallest value.
    Minimum,
}

impl Rollup {
    /// The rollup of a `PerfSummaryType` name; `none` (and anything unknown) is never rolled
    /// up.
    pub fn from_summary_type(name: &str) -> Option<Rollup> {
        Some(match name {
            "average" => Rollup::Average,
            "summation" => Rollup::Summation,
            "latest" => Rollup::Latest,
            "maximum" => Rollup::Maximum,
            "minimum" => Rollup::Minimum,
            _ => return None,
        })
    }
}

/// How many of the historical intervals (a prefix, finest first) archive a counter of level
/// `level`. vCenter requires a longer interval's level to be at most a shorter one's, so the
/// intervals that keep a counter are always the first few.
pub fn archived_depth(level: i32) -> usize {
    HISTORICAL_INTERVALS
        .iter()
        .take_while(|i| level <= i.level)
        .count()
}

/// The end of the sample period (of `period_ms`) that contains the instant just before
/// `end_ms`: `end_ms` itself when it is a boundary, else the next boundary.
fn bucket_end(end_ms: i64, period_ms: i64) -> i64 {
    end_ms.saturating_add(period_ms - 1).div_euclid(period_ms) * period_ms
}

/// A sample period being accumulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bucket {
    /// The period's end (its samples' stamp).
    end_ms: i64,
    /// Finer samples taken in.
    count: u32,
    /// Sum (average, summation), last, largest or smallest value so far.
    acc: i64,
}

impl Bucket {
    fn new(end_ms: i64, value: i64) -> Bucket {
        Bucket {
            end_ms,
            count: 1,
            acc: value,
        }
    }

    /// A bucket ending at `end_ms` that has taken `value` `n` (≥ 1) times.
    fn of_run(end_ms: i64, rollup: Rollup, value: i64, n: u32) -> Bucket {
        let mut b = Bucket::new(end_ms, value);
        b.add_n(rollup, value, n.saturating_sub(1));
        b
    }

    fn add(&mut self, rollup: Rollup, value: i64) {
        self.count += 1;
        self.acc = match rollup {
            Rollup::Average | Rollup::Summation => self.acc.saturating_add(value),
            Rollup::Latest => value,
            Rollup::Maximum => self.acc.max(value),
            Rollup::Minimum => self.acc.min(value),
        };
    }

    /// [`Bucket::add`] of `value` `n` times.
    fn add_n(&mut self, rollup: Rollup, value: i64, n: u32) {
        match rollup {
            Rollup::Average | Rollup::Summation => {
                // One product where it fits: the running sum moves one way, so if its end
                // is in range every partial sum was and saturation never struck.
                let end = i128::from(self.acc) + i128::from(value) * i128::from(n);
                match i64::try_from(end) {
                    Ok(end) => {
                        self.count += n;
                        self.acc = end;
                    }
                    Err(_) => (0..n).for_each(|_| self.add(rollup, value)),
                }
            }
            _ => {
                self.count += n;
                self.acc = match rollup {
                    Rollup::Maximum => self.acc.max(value),
                    Rollup::Minimum => self.acc.min(value),
                    _ => value,
                };
            }
        }
    }

    fn value(&self, rollup: Rollup) -> i64 {
        match rollup {
            Rollup::Average => rounded_mean(self.acc, self.count),
            _ => self.acc,
        }
    }
}

/// `sum / count` rounded to the nearest integer, halves away from zero.
fn rounded_mean(sum: i64, count: u32) -> i64 {
    let (sum, n) = (i128::from(sum), i128::from(count.max(1)));
    let q = (2 * sum.abs() + n) / (2 * n);
    (if sum < 0 { -q } else { q }) as i64
}

/// The samples of one series in one interval, oldest first, without timestamps: slot `i` of
/// `len` ends at `newest_end_ms − (len − 1 − i) × period`. Periods with no sample hold
/// [`MISSING_VALUE`]. The values are a delta-varint [`Column`] (a steady series costs a byte
/// a sample, where an `i64` cost eight); slots past the retention are dropped
/// [`RING_DROP_BATCH`] at a time and never read.
#[derive(Clone, Debug, Default)]
pub struct Ring {
    newest_end_ms: i64,
    values: Column,
    /// The retention the last push kept (how many of the newest slots are held).
    capacity: usize,
}

/// Slots beyond a ring's retention gathered before the oldest are dropped together.
const RING_DROP_BATCH: usize = 16;

impl PartialEq for Ring {
    fn eq(&self, other: &Ring) -> bool {
        self.newest_end_ms == other.newest_end_ms && self.held().eq(other.held())
    }
}

impl Eq for Ring {}

impl Ring {
    /// Appends the sample ending at `end_ms` (a boundary after the newest), filling skipped
    /// periods with [`MISSING_VALUE`] and keeping at most `capacity` values. A sample at or
    /// before the newest is ignored: history is written once.
    fn push(&mut self, end_ms: i64, value: i64, period_ms: i64, capacity: usize) {
        self.capacity = capacity;
        if !self.is_empty() {
            if end_ms <= self.newest_end_ms {
                return;
            }
            let gap = (end_ms - self.newest_end_ms) / period_ms - 1;
            if gap >= capacity as i64 {
                // Everything held is older than the retention once this sample is in.
                self.values = Column::default();
            } else {
                for _ in 0..gap {
                    self.push_value(MISSING_VALUE);
                }
            }
        }
        self.newest_end_ms = end_ms;
        self.push_value(value);
    }

    /// [`Ring::push`] of `count` samples of `value`, the first ending at `first_end_ms` and
    /// each a period after the one before: the first as `push` takes it, the others
    /// appended together (a repeat of the value before costs a zero byte).
    fn push_run(
        &mut self,
        first_end_ms: i64,
        value: i64,
        count: usize,
        period_ms: i64,
        capacity: usize,
    ) {
        if count == 0 {
            return;
        }
        self.push(first_end_ms, value, period_ms, capacity);
        if count == 1 || self.newest_end_ms != first_end_ms {
            // The first was not taken (not newer than the newest): nor are the others,
            // one by one, until one is newer.
            for j in 1..count {
                self.push(
                    first_end_ms + j as i64 * period_ms,
                    value,
                    period_ms,
                    capacity,
                );
            }
            return;
        }
        // Repeats past the retention would be dropped unread: a long run appends only
        // what the ring keeps.
        self.values.push_repeats((count - 1).min(self.capacity));
        self.newest_end_ms = first_end_ms + (count as i64 - 1) * period_ms;
        let n = self.values.len();
        if n >= self.capacity + RING_DROP_BATCH {
            self.values.drop_front(n - self.capacity);
        }
    }

    fn push_value(&mut self, value: i64) {
        self.values.push(value);
        let n = self.values.len();
        if n >= self.capacity + RING_DROP_BATCH {
            self.values.drop_front(n - self.capacity);
        }
    }

    /// The held slots' values, oldest first (the newest `capacity`).
    fn held(&self) -> impl Iterator<Item = i64> + '_ {
        let skip = self.values.len().saturating_sub(self.capacity);
        self.values.iter().skip(skip)
    }

    /// Number of slots held (samples and gaps).
    pub fn len(&self) -> usize {
        self.values.len().min(self.capacity)
    }

    /// True when the ring holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the ring's values occupy on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.values.heap_bytes()
    }

    /// The `(end_ms, value)` of every sample, oldest first; gaps are skipped.
    pub fn samples(&self, period_ms: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let oldest_end_ms = self.newest_end_ms - (self.len() as i64 - 1) * period_ms;
        self.held()
            .enumerate()
            .map(move |(i, v)| (oldest_end_ms + i as i64 * period_ms, v))
            .filter(|&(_, v)| v != MISSING_VALUE)
    }
}

/// One interval's state for a series: the bucket being filled and the finished samples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Level {
    pending: Option<Bucket>,
    ring: Ring,
}

/// The historical samples of one series in every interval that archives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    rollup: Rollup,
    /// The end of the newest finer sample taken in; older or repeated ones are ignored.
    last_fed_ms: Option<i64>,
    /// Finest first; one per archiving interval (a prefix of [`HISTORICAL_INTERVALS`]).
    levels: Vec<Level>,
}

impl History {
    /// History for a counter rolled up by `rollup` and archived by the first `depth`
    /// intervals (see [`archived_depth`]); `None` when no interval keeps it.
    pub fn new(rollup: Rollup, depth: usize) -> Option<History> {
        let depth = depth.min(INTERVAL_COUNT);
        (depth > 0).then(|| History {
            rollup,
            last_fed_ms: None,
            levels: vec![Level::default(); depth],
        })
    }

    /// Takes in a realtime sample: the value of the 20 s interval ending at `end_ms`. Samples
    /// must come in time order; one at or before the newest taken in is ignored (vCenter
    /// rolls each realtime sample up once).
    pub fn feed(&mut self, end_ms: i64, value: i64) {
        if self.last_fed_ms.is_some_and(|t| end_ms <= t) {
            return;
        }
        self.last_fed_ms = Some(end_ms);
        feed_level(&mut self.levels, 0, self.rollup, end_ms, value);
    }

    /// [`History::feed`] of `count` samples of one `value`, the first ending at
    /// `first_end_ms` and each `step_ms` (> 0) after the one before: the same result, with
    /// one bucket update for the samples one bucket takes rather than one each.
    pub fn feed_run(&mut self, first_end_ms: i64, step_ms: i64, count: usize, value: i64) {
        let mut end_ms = first_end_ms;
        let mut left = count;
        // Samples at or before the newest taken in are ignored, as one by one.
        while left > 0 && (step_ms <= 0 || self.last_fed_ms.is_some_and(|t| end_ms <= t)) {
            self.feed(end_ms, value);
            end_ms = end_ms.saturating_add(step_ms);
            left -= 1;
        }
        if left == 0 {
            return;
        }
        self.last_fed_ms = Some(end_ms + (left as i64 - 1) * step_ms);
        feed_level_run(
            &mut self.levels,
            0,
            self.rollup,
            end_ms,
            step_ms,
            left,
            value,
        );
    }

    /// Closes every bucket whose period ended at or before `now_ms`, from the samples it got
    /// (an entity that stopped producing mid-period still gets that period's sample).
    pub fn close_due(&mut self, now_ms: i64) {
        for k in 0..self.levels.len() {
            if self.levels[k].pending.is_some_and(|b| b.end_ms <= now_ms) {
                close(&mut self.levels, k, self.rollup);
            }
        }
    }

    /// The finished samples of interval `index` (into [`HISTORICAL_INTERVALS`]), if this
    /// series is archived there.
    pub fn ring(&self, index: usize) -> Option<&Ring> {
        self.levels.get(index).map(|l| &l.ring)
    }

    /// How many intervals archive this series.
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    /// Bytes on the heap: the level table and every ring's values.
    pub fn heap_bytes(&self) -> usize {
        self.levels.capacity() * std::mem::size_of::<Level>()
            + self
                .levels
                .iter()
                .map(|l| l.ring.heap_bytes())
                .sum::<usize>()
    }
}

/// Takes the sample `(end_ms, value)` of the next finer resolution into level `k`.
fn feed_level(levels: &mut [Level], k: usize, rollup: Rollup, end_ms: i64, value: i64) {
    feed_level_n(levels, k, rollup, end_ms, end_ms, value, 1);
}

/// [`feed_level`] of `count` samples of `value` into level `k`, the first ending at
/// `first_ms` and each `step_ms` (> 0) after the one before. The samples one bucket takes
/// go in at once; and a stretch of buckets the run fills whole from an empty start, each
/// ending with the same value, is closed as one: its values are appended to the ring as a
/// run and passed to level `k + 1` as a run.
fn feed_level_run(
    levels: &mut [Level],
    k: usize,
    rollup: Rollup,
    first_ms: i64,
    step_ms: i64,
    count: usize,
    value: i64,
) {
    let interval = &HISTORICAL_INTERVALS[k];
    let period_ms = interval.period_ms();
    // Samples a whole bucket takes (none when the step does not divide the period).
    let whole = if period_ms % step_ms == 0 {
        usize::try_from(period_ms / step_ms).unwrap_or(0)
    } else {
        0
    };
    let mut at_ms = first_ms;
    let mut left = count;
    while left > 0 {
        let end = bucket_end(at_ms, period_ms);
        let within = usize::try_from((end - at_ms) / step_ms + 1)
            .unwrap_or(1)
            .min(left);
        let level = &levels[k];
        let fresh = at_ms == end - period_ms + step_ms
            && level.pending.is_none_or(|b| b.end_ms < end)
            && (level.ring.is_empty() || level.ring.newest_end_ms < end);
        if whole > 0 && within == whole && fresh && u32::try_from(whole).is_ok() {
            let buckets = left / whole;
            // An older bucket still open closes first, as the first sample would close it.
            if levels[k].pending.is_some() {
                close(levels, k, rollup);
            }
            let rolled = Bucket::of_run(end, rollup, value, whole as u32).value(rollup);
            levels[k]
                .ring
                .push_run(end, rolled, buckets, period_ms, interval.capacity());
            if k + 1 < levels.len() {
                feed_level_run(levels, k + 1, rollup, end, period_ms, buckets, rolled);
            }
            at_ms += (buckets * whole) as i64 * step_ms;
            left -= buckets * whole;
            continue;
        }
        let last_ms = at_ms + (within as i64 - 1) * step_ms;
        feed_level_n(levels, k, rollup, at_ms, last_ms, value, within as u32);
        at_ms = last_ms + step_ms;
        left -= within;
    }
}

/// [`feed_level`] at level `k` of `n` samples of `value` ending at `first_ms` … `last_ms`,
/// all in one period of that level.
fn feed_level_n(
    levels: &mut [Level],
    k: usize,
    rollup: Rollup,
    first_ms: i64,
    last_ms: i64,
    value: i64,
    n: u32,
) {
    let period_ms = HISTORICAL_INTERVALS[k].period_ms();
    let end = bucket_end(first_ms, period_ms);
    debug_assert_eq!(end, bucket_end(last_ms, period_ms));
    match levels[k].pending {
        Some(ref mut b) if b.end_ms == end => b.add_n(rollup, value, n),
        Some(b) if b.end_ms > end => return,
        Some(_) => {
            close(levels, k, rollup);
            levels[k].pending = Some(Bucket::of_run(end, rollup, value, n));
        }
        None => {
            let ring = &levels[k].ring;
            if !ring.is_empty() && ring.newest_end_ms >= end {
                // That period is already archived.
                return;
            }
            levels[k].pending = Some(Bucket::of_run(end, rollup, value, n));
        }
    }
    if last_ms == end {
        // The period's last finer sample: the period is complete.
        close(levels, k, rollup);
    }
}

/// Finishes level `k`'s pending bucket into its ring and passes the value on to level `k+1`.
fn close(levels: &mut [Level], k: usize, rollup: Rollup) {
    let Some(b) = levels[k].pending.take() else {
        return;
    };
    let interval = &HISTORICAL_INTERVALS[k];
    let value = b.value(rollup);
    levels[k]
        .ring
        .push(b.end_ms, value, interval.period_ms(), interval.capacity());
    if k + 1 < levels.len() {
        feed_level(levels, k + 1, rollup, b.end_ms, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2017-10-02T00:00:00Z: a boundary of every interval.
    const MIDNIGHT_MS: i64 = 1_506_902_400_000;
    const STEP_MS: i64 = 20_000;

    fn samples(h: &History, index: usize) -> Vec<(i64, i64)> {
        let period_ms = HISTORICAL_INTERVALS[index].period_ms();
        h.ring(index)
            .map(|r| r.samples(period_ms).collect())
            .unwrap_or_default()
    }

    /// Feeds `values` as consecutive 20 s samples, the first ending 20 s after `start_ms`.
    fn feed_all(h: &mut History, start_ms: i64, values: impl IntoIterator<Item = i64>) {
        for (i, v) in values.into_iter().enumerate() {
            h.feed(start_ms + (i as i64 + 1) * STEP_MS, v);
        }
    }

    #[test]
    fn default_intervals_are_vcenters() {
        let periods: Vec<i32> = HISTORICAL_INTERVALS
            .iter()
            .map(|i| i.sampling_period_s)
            .collect();
        assert_eq!(periods, [300, 1_800, 7_200, 86_400]);
        let caps: Vec<usize> = HISTORICAL_INTERVALS.iter().map(|i| i.capacity()).collect();
        assert_eq!(caps, [288, 336, 360, 365]);
        // Each coarser period is a whole number of the finer one, so rollups nest.
        for w in HISTORICAL_INTERVALS.windows(2) {
            assert_eq!(w[1].sampling_period_s % w[0].sampling_period_s, 0);
            assert!(w[1].level <= w[0].level);
        }
        assert_eq!(interval_index(300), Some(0));
        assert_eq!(interval_index(86_400), Some(3));
        assert_eq!(interval_index(20), None);
        assert_eq!(interval_index(600), None);
    }

    #[test]
    fn levels_select_a_prefix_of_intervals() {
        assert_eq!(archived_depth(1), 4);
        assert_eq!(archived_depth(2), 0);
        assert_eq!(archived_depth(3), 0);
        assert!(History::new(Rollup::Average, 0).is_none());
        assert_eq!(History::new(Rollup::Average, 9).unwrap().depth(), 4);
        assert_eq!(Rollup::from_summary_type("none"), None);
        assert_eq!(
            Rollup::from_summary_type("summation"),
            Some(Rollup::Summation)
        );
    }

    #[test]
    fn a_300_s_sample_rolls_up_fifteen_realtime_samples_by_rollup_type() {
        // 15 samples 1..=15 ending at 00:00:20 … 00:05:00.
        let values: Vec<i64> = (1..=15).collect();
        let cases = [
            (Rollup::Average, 8),
            (Rollup::Summation, 120),
            (Rollup::Latest, 15),
            (Rollup::Maximum, 15),
            (Rollup::Minimum, 1),
        ];
        for (rollup, want) in cases {
            let mut h = History::new(rollup, 4).unwrap();
            feed_all(&mut h, MIDNIGHT_MS, values.iter().copied());
            assert_eq!(
                samples(&h, 0),
                [(MIDNIGHT_MS + 300_000, want)],
                "{rollup:?}"
            );
        }
        // Minimum and latest are not fooled by order.
        let mut h = History::new(Rollup::Minimum, 1).unwrap();
        feed_all(&mut h, MIDNIGHT_MS, [9, 3, 7]);
        h.close_due(MIDNIGHT_MS + 300_000);
        assert_eq!(samples(&h, 0), [(MIDNIGHT_MS + 300_000, 3)]);
    }

    #[test]
    fn averages_round_to_nearest() {
        assert_eq!(rounded_mean(5, 2), 3);
        assert_eq!(rounded_mean(4, 3), 1);
        assert_eq!(rounded_mean(5, 3), 2);
        assert_eq!(rounded_mean(-5, 2), -3);
        assert_eq!(rounded_mean(0, 0), 0);
        assert_eq!(rounded_mean(i64::MAX, 1), i64::MAX);
    }

    #[test]
    fn coarser_intervals_roll_up_the_finer_ones() {
        // Two hours of 20 s samples: value = minute of the hour (0..=59 twice).
        let n = 2 * 180;
        let values: Vec<i64> = (0..n).map(|i| (i / 3) % 60).collect();
        let mut avg = History::new(Rollup::Average, 4).unwrap();
        let mut sum = History::new(Rollup::Summation, 4).unwrap();
        let mut last = History::new(Rollup::Latest, 4).unwrap();
        let mut max = History::new(Rollup::Maximum, 4).unwrap();
        for h in [&mut avg, &mut sum, &mut last, &mut max] {
            feed_all(h, MIDNIGHT_MS, values.iter().copied());
        }
        // 24 five-minute samples, stamped at the end of each five minutes.
        let five = samples(&avg, 0);
        assert_eq!(five.len(), 24);
        assert!(
            five.iter()
                .enumerate()
                .all(|(i, s)| s.0 == MIDNIGHT_MS + (i as i64 + 1) * 300_000)
        );
        // Minutes 0..5 hold 0,0,0,1,1,1,…,4,4,4 (the sample ending at :00:20 is minute 0).
        assert_eq!(five[0].1, 2);
        assert_eq!(samples(&sum, 0)[0].1, 30);
        // 30-minute samples: mean of six 5-minute means, sum of sums, last, max.
        let thirty = samples(&avg, 1);
        assert_eq!(
            thirty.iter().map(|s| s.0).collect::<Vec<_>>(),
            [1_800_000, 3_600_000, 5_400_000, 7_200_000].map(|d| MIDNIGHT_MS + d)
        );
        let six: Vec<i64> = five[..6].iter().map(|s| s.1).collect();
        assert_eq!(thirty[0].1, rounded_mean(six.iter().sum(), 6));
        let sum30: i64 = samples(&sum, 0)[..6].iter().map(|s| s.1).sum();
        assert_eq!(samples(&sum, 1)[0].1, sum30);
        assert_eq!(
            samples(&sum, 1)[0].1,
            (0..90).map(|i: i64| (i / 3) % 60).sum::<i64>()
        );
        assert_eq!(samples(&last, 1)[0].1, 29);
        assert_eq!(samples(&max, 1)[1].1, 59);
        // The 2-hour sample closes with the sample ending at 02:00.
        assert_eq!(samples(&sum, 2), [(MIDNIGHT_MS + 7_200_000, 2 * 1_770 * 3)]);
        // The day is not over: nothing yet in the yearly interval.
        assert!(samples(&sum, 3).is_empty());
    }

    #[test]
    fn partial_buckets_close_when_their_period_is_over() {
        let mut h = History::new(Rollup::Average, 4).unwrap();
        // Starts mid-period: samples ending 00:03:20 … 00:05:00 (6 of them), then stops after
        // 00:06:00 (3 more).
        let start_ms = MIDNIGHT_MS + 180_000;
        feed_all(&mut h, start_ms, [10, 10, 10, 10, 10, 40, 7, 7, 7]);
        assert_eq!(samples(&h, 0), [(MIDNIGHT_MS + 300_000, 15)]);
        // Not due before its end.
        h.close_due(MIDNIGHT_MS + 599_999);
        assert_eq!(samples(&h, 0).len(), 1);
        h.close_due(MIDNIGHT_MS + 600_000);
        assert_eq!(samples(&h, 0)[1], (MIDNIGHT_MS + 600_000, 7));
        // Coarser levels close too once their period is over.
        h.close_due(MIDNIGHT_MS + 86_400_000);
        assert_eq!(samples(&h, 1), [(MIDNIGHT_MS + 1_800_000, 11)]);
        assert_eq!(samples(&h, 2), [(MIDNIGHT_MS + 7_200_000, 11)]);
        assert_eq!(samples(&h, 3), [(MIDNIGHT_MS + 86_400_000, 11)]);
    }

    #[test]
    fn late_or_repeated_samples_do_not_count_twice() {
        let mut h = History::new(Rollup::Summation, 1).unwrap();
        h.feed(MIDNIGHT_MS + STEP_MS, 5);
        h.feed(MIDNIGHT_MS + STEP_MS, 5);
        h.feed(MIDNIGHT_MS, 100);
        h.feed(MIDNIGHT_MS + 300_000, 1);
        h.feed(MIDNIGHT_MS + 280_000, 100);
        assert_eq!(samples(&h, 0), [(MIDNIGHT_MS + 300_000, 6)]);
    }

    #[test]
    fn gaps_are_missing_and_retention_is_bounded() {
        let mut h = History::new(Rollup::Latest, 1).unwrap();
        let period_ms = 300_000;
        // One sample every other period: the ring records the periods between as missing.
        for k in 0..3 {
            h.feed(MIDNIGHT_MS + (2 * k + 1) * period_ms, k);
        }
        let ring = h.ring(0).unwrap();
        assert_eq!(ring.len(), 5);
        assert_eq!(
            samples(&h, 0),
            [(1, 0), (3, 1), (5, 2)].map(|(p, v)| (MIDNIGHT_MS + p * period_ms, v))
        );
        // Three days of one sample per period: only the last 288 stay, newest last, and the
        // ring never holds more than that.
        let mut h = History::new(Rollup::Latest, 1).unwrap();
        let n = 3 * 288;
        for k in 1..=n {
            h.feed(MIDNIGHT_MS + k * period_ms, k);
        }
        let got = samples(&h, 0);
        assert_eq!(got.len(), 288);
        assert_eq!(got[0], (MIDNIGHT_MS + (n - 287) * period_ms, n - 287));
        assert_eq!(got[287], (MIDNIGHT_MS + n * period_ms, n));
        // Steps of 1 take a byte each: at most the retention and one drop batch of them,
        // with a quarter's growth slack.
        let held = h.ring(0).unwrap().heap_bytes();
        assert!(held <= (288 + RING_DROP_BATCH) * 5 / 4 + 32, "{held}");
        // A gap longer than the retention drops everything before it.
        h.feed(MIDNIGHT_MS + (n + 400) * period_ms, 1);
        assert_eq!(samples(&h, 0).len(), 1);
    }

    #[test]
    fn every_interval_stays_within_its_retention() {
        // 400 days of one sample per day fed straight into a yearly-deep history: every
        // ring stops at its capacity.
        let mut h = History::new(Rollup::Average, 4).unwrap();
        let day_ms = 86_400_000;
        for d in 1..=400 {
            // Two samples a day keep the 300 s ring sparse but alive.
            h.feed(MIDNIGHT_MS + d * day_ms - 300_000, d);
            h.feed(MIDNIGHT_MS + d * day_ms, d);
        }
        for (i, interval) in HISTORICAL_INTERVALS.iter().enumerate() {
            let ring = h.ring(i).unwrap();
            assert!(ring.len() <= interval.capacity(), "{}", interval.name);
            let span_ms = match ring.samples(interval.period_ms()).collect::<Vec<_>>()[..] {
                [first, .., last] => last.0 - first.0,
                _ => 0,
            };
            assert!(span_ms < interval.length_ms(), "{}", interval.name);
        }
        assert_eq!(h.ring(3).unwrap().len(), 365);
        assert!(h.heap_bytes() <= 4 * std::mem::size_of::<Level>() + 1_349 * 8);
    }

    proptest::proptest! {
        /// A run fed at once is the run fed sample by sample: every level's pending bucket
        /// and ring, after earlier samples, late ones, gaps, steps that are not 20 s, sums
        /// that saturate, and runs long enough to fill whole buckets of every level.
        #[test]
        fn a_run_is_its_samples_one_by_one(
            rollup in proptest::sample::select(vec![
                Rollup::Average,
                Rollup::Summation,
                Rollup::Latest,
                Rollup::Maximum,
                Rollup::Minimum,
            ]),
            depth in 1usize..=4,
            before in proptest::collection::vec((0i64..40, -5i64..5), 0..20),
            runs in proptest::collection::vec(
                (-3i64..200, proptest::sample::select(vec![20i64, 20, 20, 60, 300, 7]),
                 proptest::prop_oneof![0usize..40, 40usize..6000],
                 proptest::prop_oneof![-1000i64..1000, proptest::strategy::Just(i64::MAX / 3), proptest::strategy::Just(i64::MIN / 2)]),
                1..6,
            ),
        ) {
            let mut one_by_one = History::new(rollup, depth).unwrap();
            for (k, v) in &before {
                one_by_one.feed(MIDNIGHT_MS + k * STEP_MS, *v);
            }
            let mut by_run = one_by_one.clone();
            let mut at = MIDNIGHT_MS + 40 * STEP_MS;
            for (offset, step_s, count, value) in runs {
                let first = at + offset * STEP_MS;
                let step_ms = step_s * 1000;
                for j in 0..count {
                    one_by_one.feed(first + j as i64 * step_ms, value);
                }
                by_run.feed_run(first, step_ms, count, value);
                proptest::prop_assert_eq!(&by_run, &one_by_one);
                at = first + count as i64 * step_ms;
            }
        }
    }
}
