//! Statistics over a series' raw values: average, minimum, maximum, 95th percentile
//! (nearest rank) and last. Every function returns `None` for an empty slice.

use scenarios::Point;

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
    /// The statistics of `values` (in time order).
    pub fn of(values: &[i64]) -> Summary {
        Summary {
            avg: avg(values),
            min: min(values),
            max: max(values),
            p95: p95(values),
            last: last(values),
            count: values.len(),
        }
    }

    /// The statistics of a series' points.
    pub fn of_points(points: &[Point]) -> Summary {
        let values: Vec<i64> = points.iter().map(|p| p.value).collect();
        Summary::of(&values)
    }
}

/// Arithmetic mean (summed as `i128`, so no overflow).
pub fn avg(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
    Some(sum as f64 / values.len() as f64)
}

/// Smallest value.
pub fn min(values: &[i64]) -> Option<i64> {
    values.iter().copied().min()
}

/// Largest value.
pub fn max(values: &[i64]) -> Option<i64> {
    values.iter().copied().max()
}

/// 95th percentile by the nearest-rank method: the value at rank ⌈0.95·n⌉ (1-based) of the
/// sorted values.
pub fn p95(values: &[i64]) -> Option<i64> {
    percentile_nearest_rank(values, 95)
}

/// `pct`th percentile (0–100) by the nearest-rank method; the 0th is the minimum.
pub fn percentile_nearest_rank(values: &[i64], pct: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    // ⌈pct·n/100⌉ in integers.
    let rank = (u128::from(pct.min(100)) * n as u128).div_ceil(100) as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

/// The last value.
pub fn last(values: &[i64]) -> Option<i64> {
    values.last().copied()
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
        let v = [5, 1, 4, 2, 3];
        assert_eq!(avg(&v), Some(3.0));
        assert_eq!(min(&v), Some(1));
        assert_eq!(max(&v), Some(5));
        assert_eq!(last(&v), Some(3));
        assert_eq!(Summary::of(&v).count, 5);
    }

    #[test]
    fn avg_does_not_overflow() {
        assert_eq!(avg(&[i64::MAX, i64::MAX]), Some(i64::MAX as f64));
    }

    #[test]
    fn p95_nearest_rank() {
        // n = 20: rank ⌈19⌉ = 19 → the 19th smallest.
        let v: Vec<i64> = (1..=20).rev().collect();
        assert_eq!(p95(&v), Some(19));
        // n = 15: rank ⌈14.25⌉ = 15 → the largest.
        let v: Vec<i64> = (1..=15).collect();
        assert_eq!(p95(&v), Some(15));
        // n = 100: rank 95.
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(p95(&v), Some(95));
        assert_eq!(p95(&[7]), Some(7));
        assert_eq!(percentile_nearest_rank(&v, 0), Some(1));
        assert_eq!(percentile_nearest_rank(&v, 50), Some(50));
        assert_eq!(percentile_nearest_rank(&v, 100), Some(100));
    }
}
