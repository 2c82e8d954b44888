//! The statistics `summary.json` lists per series: average, minimum, maximum, 95th
//! percentile (nearest rank) and last, each `None` for an empty series.

use scenarios::{Point, PointStats, Points};

/// The statistics of one series, as `summary.json` lists them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Arithmetic mean.
    pub avg: Option<f64>,
    /// Smallest value.
    pub min: Option<i64>,
    /// Largest value.
    pub max: Option<i64>,
    /// 95th percentile, nearest-rank method.
    pub p95: Option<i64>,
    /// The last value (time order).
    pub last: Option<i64>,
    /// How many values.
    pub count: usize,
}

impl Summary {
    /// The statistics of `values` (in time order), by [`scenarios::evaluate::statistic`] —
    /// the same definitions the verdicts use (P95 by nearest rank).
    pub fn of(values: &[i64]) -> Summary {
        Summary::from(&PointStats::of(values))
    }

    /// The statistics of a series' points.
    pub fn of_points(points: &[Point]) -> Summary {
        let values: Vec<i64> = points.iter().map(|p| p.value).collect();
        Summary::of(&values)
    }

    /// The statistics of a series as the run computed them (exact, over every sample).
    pub fn of_series(points: &Points) -> Summary {
        Summary::from(points.stats())
    }
}

impl From<&PointStats> for Summary {
    fn from(s: &PointStats) -> Summary {
        Summary {
            avg: s.avg,
            min: s.min,
            max: s.max,
            p95: s.p95,
            last: s.last,
            count: s.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_none() {
        let s = Summary::of(&[]);
        assert_eq!(
            s,
            Summary {
                avg: None,
                min: None,
                max: None,
                p95: None,
                last: None,
                count: 0
            }
        );
    }

    #[test]
    fn basic_statistics() {
        let s = Summary::of(&[5, 1, 4, 2, 3]);
        assert_eq!(
            (s.avg, s.min, s.max, s.last, s.count),
            (Some(3.0), Some(1), Some(5), Some(3), 5)
        );
    }

    #[test]
    fn p95_nearest_rank() {
        // n = 20: rank ⌈19⌉ = 19 → the 19th smallest.
        let v: Vec<i64> = (1..=20).rev().collect();
        assert_eq!(Summary::of(&v).p95, Some(19));
        // n = 15: rank ⌈14.25⌉ = 15 → the largest.
        let v: Vec<i64> = (1..=15).collect();
        assert_eq!(Summary::of(&v).p95, Some(15));
        assert_eq!(Summary::of(&[7]).p95, Some(7));
    }
}
