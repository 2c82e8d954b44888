//! What a sweep varies: `--vary NAME=LIST` or `--vary NAME=A..B/STEP`, the grid of points
//! they span (last axis fastest, so the order never depends on scheduling), and `--shard I/N`.

use super::SweepError;

/// Most points one sweep may have (each is a whole run).
pub const MAX_POINTS: usize = 10_000;

/// One varied variable and its values, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// The `[vars]` name.
    pub name: String,
    /// Its values, as they are substituted into the scenario text.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `NAME=V1,V2,…` or `NAME=A..B/STEP` (inclusive; integers or decimals).
    pub fn parse(spec: &str) -> Result<Axis, SweepError> {
        let bad = |why: &str| SweepError::Usage(format!("--vary {spec:?}: {why}"));
        let (name, rest) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=LIST or NAME=A..B/STEP"))?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("the name must be letters, digits and _"));
        }
        let values = match rest.split_once("..") {
            Some((a, b)) => {
                let (b, step) = b
                    .split_once('/')
                    .ok_or_else(|| bad("a range needs a step: A..B/STEP"))?;
                range(a.trim(), b.trim(), step.trim()).map_err(|w| bad(&w))?
            }
            None => rest
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect(),
        };
        if values.is_empty() {
            return Err(bad("no values"));
        }
        if values.len() > MAX_POINTS {
            return Err(bad(&format!("more than {MAX_POINTS} values")));
        }
        Ok(Axis {
            name: name.to_owned(),
            values,
        })
    }
}

/// `a..b/step` as text values: integers stay integers; decimals keep the step's precision.
fn range(a: &str, b: &str, step: &str) -> Result<Vec<String>, String> {
    let num = |s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{s:?} is not a number"))
    };
    let (lo, hi, st) = (num(a)?, num(b)?, num(step)?);
    if st <= 0.0 {
        return Err("the step must be positive".into());
    }
    if hi < lo {
        return Err("the range must go up (A ≤ B)".into());
    }
    let count = ((hi - lo) / st + 1e-9).floor() as usize + 1;
    if count > MAX_POINTS {
        return Err(format!("{count} values; at most {MAX_POINTS}"));
    }
    let decimals = [a, b, step]
        .iter()
        .map(|s| s.split_once('.').map_or(0, |(_, f)| f.len()))
        .max()
        .unwrap_or(0);
    Ok((0..count)
        .map(|k| {
            let v = lo + st * k as f64;
            format!("{v:.decimals$}")
        })
        .collect())
}

/// One point of the grid: its index and a value per axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridPoint {
    /// Position in the grid (row-major, last axis fastest).
    pub index: usize,
    /// `(name, value)` per axis, in axis order.
    pub values: Vec<(String, String)>,
}

/// Every point of the axes' product, in index order.
pub fn grid(axes: &[Axis]) -> Result<Vec<GridPoint>, SweepError> {
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .filter(|n| *n <= MAX_POINTS)
        .ok_or_else(|| SweepError::Usage(format!("the grid has more than {MAX_POINTS} points")))?;
    Ok((0..total)
        .map(|index| {
            let mut rest = index;
            let mut values = vec![(String::new(), String::new()); axes.len()];
            for (slot, axis) in values.iter_mut().zip(axes).rev() {
                let n = axis.values.len();
                *slot = (axis.name.clone(), axis.values[rest % n].clone());
                rest /= n;
            }
            GridPoint { index, values }
        })
        .collect())
}

/// `--shard I/N`: this process runs the points whose index is I modulo N (I from 0, as a
/// Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N`.
    pub fn parse(spec: &str) -> Result<Shard, SweepError> {
        let bad = || SweepError::Usage(format!("--shard {spec:?}: expected I/N with 0 ≤ I < N"));
        let (i, n) = spec.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard runs point `index`.
    pub fn owns(&self, index: usize) -> bool {
        index % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        let a = Axis::parse("cpu_limit=4000..5000/250").unwrap();
        assert_eq!(a.values, ["4000", "4250", "4500", "4750", "5000"]);
        let a = Axis::parse("ratio=0.5..1.0/0.25").unwrap();
        assert_eq!(a.values, ["0.50", "0.75", "1.00"]);
        let a = Axis::parse("image = busybox, alpine").unwrap();
        assert_eq!(a.name, "image");
        assert_eq!(a.values, ["busybox", "alpine"]);
        for bad in [
            "x",
            "=1",
            "x=",
            "x=1..2",
            "x=2..1/1",
            "x=1..2/0",
            "a-b=1",
            "x=1..100000/1",
        ] {
            assert!(Axis::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grid_is_row_major_and_shards_partition_it() {
        let axes = [
            Axis::parse("a=1,2").unwrap(),
            Axis::parse("b=x,y,z").unwrap(),
        ];
        let g = grid(&axes).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(
            g[1].values,
            [("a".into(), "1".into()), ("b".into(), "y".into())]
        );
        assert_eq!(g[3].values[0].1, "2");
        let shards: Vec<Shard> = (0..4)
            .map(|i| Shard::parse(&format!("{i}/4")).unwrap())
            .collect();
        for p in &g {
            assert_eq!(shards.iter().filter(|s| s.owns(p.index)).count(), 1);
        }
        assert!(Shard::parse("4/4").is_err() && Shard::parse("0/0").is_err());
    }
}
