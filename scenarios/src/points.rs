//! A series' samples, kept so that a run's memory does not grow with its simulated duration.
//!
//! While a run reads metrics back, every series collects its samples in a small buffer that is
//! flushed, [`BLOCK_POINTS`] at a time, to one anonymous spool file (deleted by the OS when the
//! run's outcome is dropped, or the process dies). What stays in memory per series is that
//! buffer, the offsets of its blocks (8 bytes per 256 samples), its statistics and an
//! overview for charts of at most [`OVERVIEW_POINTS`] points. Readers stream the samples back
//! ([`Points::try_for_each`]) or load one series at a time ([`Points::read`]; a series holds
//! at most 30 240 samples, one week of 20 s samples).
//!
//! The statistics are exact (p95 by nearest rank over the whole series, computed once when
//! the run ends). The overview is the samples themselves when there are at most
//! [`OVERVIEW_POINTS`]; else each overview point is the mean of `k` consecutive samples
//! (the smallest `k` that fits), placed at the last one's offset — as vCenter's own charts
//! roll realtime samples up into longer intervals for longer periods.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use crate::outcome::Point;

/// Samples per spooled block.
pub const BLOCK_POINTS: usize = 256;
/// Most points of a chart line; longer series are averaged down to this.
pub const OVERVIEW_POINTS: usize = 1000;
/// Bytes of one point in the spool: offset and value, little-endian.
const POINT_BYTES: usize = 16;

/// The statistics of a series' values, exact, as `summary.json` lists them and the verdicts
/// use them (`None` for an empty series).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PointStats {
    /// Arithmetic mean.
    pub avg: Option<f64>,
    /// Smallest value.
    pub min: Option<i64>,
    /// Largest value.
    pub max: Option<i64>,
    /// 95th percentile, nearest rank.
    pub p95: Option<i64>,
    /// Sum of the values.
    pub sum: Option<f64>,
    /// The last value (time order).
    pub last: Option<i64>,
    /// How many values.
    pub count: usize,
}

impl PointStats {
    /// The statistics of `values` (in time order).
    pub fn of(values: &[i64]) -> PointStats {
        let f: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        let stat = |s| crate::evaluate::statistic(s, &f);
        use crate::schema::Stat;
        PointStats {
            avg: stat(Stat::Avg),
            min: values.iter().copied().min(),
            max: values.iter().copied().max(),
            // A value of the series, so the round trip through f64 is exact.
            p95: stat(Stat::P95).map(|v| v as i64),
            sum: stat(Stat::Sum),
            last: values.last().copied(),
            count: values.len(),
        }
    }
}

/// The spool file shared by every series of one run.
pub(crate) struct Spool {
    file: Mutex<File>,
}

impl Spool {
    /// An anonymous temporary file.
    pub(crate) fn new() -> io::Result<Arc<Spool>> {
        Ok(Arc::new(Spool {
            file: Mutex::new(tempfile::tempfile()?),
        }))
    }

    /// Appends `points`; returns the block's byte offset.
    fn append(&self, points: &[Point]) -> io::Result<u64> {
        let mut bytes = Vec::with_capacity(points.len() * POINT_BYTES);
        for p in points {
            bytes.extend_from_slice(&p.offset_s.to_le_bytes());
            bytes.extend_from_slice(&p.value.to_le_bytes());
        }
        let mut f = self
            .file
            .lock()
            .map_err(|_| io::Error::other("spool lock"))?;
        let at = f.seek(SeekFrom::End(0))?;
        f.write_all(&bytes)?;
        Ok(at)
    }

    /// Reads `n` points at byte offset `at`.
    fn read(&self, at: u64, n: usize, into: &mut Vec<Point>) -> io::Result<()> {
        let mut bytes = vec![0u8; n * POINT_BYTES];
        {
            let mut f = self
                .file
                .lock()
                .map_err(|_| io::Error::other("spool lock"))?;
            f.seek(SeekFrom::Start(at))?;
            f.read_exact(&mut bytes)?;
        }
        for c in bytes.chunks_exact(POINT_BYTES) {
            let mut o = [0u8; 8];
            let mut v = [0u8; 8];
            o.copy_from_slice(&c[..8]);
            v.copy_from_slice(&c[8..]);
            into.push(Point {
                offset_s: u64::from_le_bytes(o),
                value: i64::from_le_bytes(v),
            });
        }
        Ok(())
    }
}

/// One series' samples while the run collects them.
pub(crate) struct Collecting {
    blocks: Vec<u64>,
    buffer: Vec<Point>,
    len: usize,
    last_offset_s: Option<u64>,
}

impl Collecting {
    pub(crate) fn new() -> Collecting {
        Collecting {
            blocks: Vec::new(),
            buffer: Vec::new(),
            len: 0,
            last_offset_s: None,
        }
    }

    /// Adds a sample unless it is not after the last one (series stay strictly increasing).
    pub(crate) fn push(&mut self, spool: &Spool, p: Point) -> io::Result<()> {
        if self.last_offset_s.is_some_and(|l| p.offset_s <= l) {
            return Ok(());
        }
        self.last_offset_s = Some(p.offset_s);
        self.buffer.push(p);
        self.len += 1;
        if self.buffer.len() == BLOCK_POINTS {
            self.blocks.push(spool.append(&self.buffer)?);
            self.buffer.clear();
        }
        Ok(())
    }

    /// The finished series: its statistics and overview computed from one read-back.
    pub(crate) fn finish(self, spool: &Arc<Spool>) -> io::Result<Points> {
        let mut points = Points {
            len: self.len,
            last: None,
            stats: PointStats::default(),
            overview: Vec::new(),
            store: Store::Spool {
                spool: Arc::clone(spool),
                blocks: self.blocks,
                tail: self.buffer,
            },
        };
        let all = points.read()?;
        points.stats = PointStats::of(&all.iter().map(|p| p.value).collect::<Vec<_>>());
        points.overview = overview(&all);
        points.last = all.last().copied();
        Ok(points)
    }
}

/// A series' samples (see the module docs): in memory, or spooled to disk by a run.
#[derive(Clone)]
pub struct Points {
    len: usize,
    last: Option<Point>,
    stats: PointStats,
    overview: Vec<(u64, f64)>,
    store: Store,
}

#[derive(Clone)]
enum Store {
    Memory(Arc<[Point]>),
    Spool {
        spool: Arc<Spool>,
        blocks: Vec<u64>,
        tail: Vec<Point>,
    },
}

impl Points {
    /// How many samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The exact statistics of the values.
    pub fn stats(&self) -> &PointStats {
        &self.stats
    }

    /// The chart overview: `(offset, value)`, every sample when there are at most
    /// [`OVERVIEW_POINTS`], else means of consecutive samples (see the module docs).
    pub fn overview(&self) -> &[(u64, f64)] {
        &self.overview
    }

    /// The last sample.
    pub fn last(&self) -> Option<Point> {
        self.last
    }

    /// Calls `f` on every sample in time order, reading spooled blocks one at a time.
    pub fn try_for_each(&self, mut f: impl FnMut(Point)) -> io::Result<()> {
        match &self.store {
            Store::Memory(m) => m.iter().copied().for_each(f),
            Store::Spool {
                spool,
                blocks,
                tail,
            } => {
                let mut block = Vec::with_capacity(BLOCK_POINTS);
                for &at in blocks {
                    block.clear();
                    spool.read(at, BLOCK_POINTS, &mut block)?;
                    block.iter().copied().for_each(&mut f);
                }
                tail.iter().copied().for_each(f);
            }
        }
        Ok(())
    }

    /// Every sample, in time order.
    pub fn read(&self) -> io::Result<Vec<Point>> {
        let mut all = Vec::with_capacity(self.len);
        self.try_for_each(|p| all.push(p))?;
        Ok(all)
    }
}

impl FromIterator<Point> for Points {
    fn from_iter<I: IntoIterator<Item = Point>>(iter: I) -> Points {
        let all: Arc<[Point]> = iter.into_iter().collect();
        let values: Vec<i64> = all.iter().map(|p| p.value).collect();
        Points {
            len: all.len(),
            last: all.last().copied(),
            stats: PointStats::of(&values),
            overview: overview(&all),
            store: Store::Memory(all),
        }
    }
}

impl PartialEq for Points {
    /// Equal when both hold the same samples (a spool that cannot be read is unequal).
    fn eq(&self, other: &Points) -> bool {
        self.len == other.len
            && match (self.read(), other.read()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
    }
}

impl fmt::Debug for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.read() {
            Ok(all) if all.len() <= 32 => f.debug_list().entries(all).finish(),
            _ => f
                .debug_struct("Points")
                .field("len", &self.len)
                .field("stats", &self.stats)
                .finish(),
        }
    }
}

/// The chart overview of `all` (see [`Points::overview`]).
fn overview(all: &[Point]) -> Vec<(u64, f64)> {
    if all.len() <= OVERVIEW_POINTS {
        return all.iter().map(|p| (p.offset_s, p.value as f64)).collect();
    }
    let k = all.len().div_ceil(OVERVIEW_POINTS);
    all.chunks(k)
        .filter_map(|c| {
            let last = c.last()?;
            let mean = c.iter().map(|p| p.value as f64).sum::<f64>() / c.len() as f64;
            Some((last.offset_s, mean))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(offset_s: u64, value: i64) -> Point {
        Point { offset_s, value }
    }

    #[test]
    fn spooled_series_read_back_whole_and_in_order() {
        let spool = Spool::new().expect("spool");
        let mut c = Collecting::new();
        let n = 3 * BLOCK_POINTS as u64 + 7;
        for i in 1..=n {
            c.push(&spool, p(20 * i, i as i64)).expect("push");
        }
        // Out of order and repeated samples are dropped.
        c.push(&spool, p(20, 99)).expect("push");
        let points = c.finish(&spool).expect("finish");
        assert_eq!(points.len(), n as usize);
        let all = points.read().expect("read");
        assert_eq!(all.len(), n as usize);
        assert!(all.iter().enumerate().all(|(i, q)| q.value == i as i64 + 1));
        assert_eq!(points.last(), Some(p(20 * n, n as i64)));
        let memory: Points = all.into_iter().collect();
        assert_eq!(memory, points);
        assert_eq!(memory.stats(), points.stats());
        assert_eq!(points.stats().max, Some(n as i64));
        assert_eq!(points.stats().count, n as usize);
    }

    #[test]
    fn long_series_are_averaged_for_charts() {
        let short: Points = (1..=OVERVIEW_POINTS as u64).map(|i| p(20 * i, 1)).collect();
        assert_eq!(short.overview().len(), OVERVIEW_POINTS);
        // One week of 20 s samples: 30 240 → means of 31 → 976 points.
        let week: Points = (1..=30_240u64).map(|i| p(20 * i, (i % 2) as i64)).collect();
        let o = week.overview();
        assert_eq!(o.len(), 30_240usize.div_ceil(31));
        assert_eq!(o[0], (20 * 31, 16.0 / 31.0));
        assert_eq!(o.last().map(|x| x.0), Some(20 * 30_240));
        assert_eq!(week.stats().p95, Some(1));
    }
}
