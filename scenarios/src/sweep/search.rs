//! `--minimize NAME` / `--maximize NAME`: bisection over one axis's values for the boundary
//! between failing and passing points, as a small state machine (which index to run next;
//! record its verdict), so the sweep runner owns the runs and this owns only the logic.

use std::collections::BTreeMap;

/// Which end of the axis is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The lowest value that passes (points fail below it, pass above).
    Minimize,
    /// The highest value that passes (points pass below it, fail above).
    Maximize,
}

impl Direction {
    /// `lowest` or `highest`.
    pub fn word(self) -> &'static str {
        match self {
            Direction::Minimize => "lowest",
            Direction::Maximize => "highest",
        }
    }
}

/// A bisection over `len` ordered values.
#[derive(Clone, Debug)]
pub struct Bisect {
    direction: Direction,
    len: usize,
    /// Index → passed, for every point run so far.
    visited: BTreeMap<usize, bool>,
    /// The bracket: `fail` fails, `pass` passes (either may be unknown yet).
    fail: Option<usize>,
    pass: Option<usize>,
    done: bool,
}

/// What a bisection concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// The wanted index, when some value passes.
    pub answer: Option<usize>,
    /// The failing neighbour next to the answer (the evidence), when there is one.
    pub neighbour: Option<usize>,
    /// Pairs of visited indices that contradict monotonicity (a pass on the failing side of
    /// a fail), in index order; empty when the visited points are consistent.
    pub violations: Vec<(usize, usize)>,
}

impl Bisect {
    /// A search over `len` values (`len` ≥ 1).
    pub fn new(direction: Direction, len: usize) -> Bisect {
        Bisect {
            direction,
            len,
            visited: BTreeMap::new(),
            fail: None,
            pass: None,
            done: len == 0,
        }
    }

    /// The index to run next, or `None` when the search is over.
    pub fn next(&self) -> Option<usize> {
        if self.done {
            return None;
        }
        let (first, last) = (0, self.len - 1);
        // The end that must pass for any value to pass, then the end that would make it the
        // answer at once, then the middle of the bracket.
        let (must_pass, may_pass) = match self.direction {
            Direction::Minimize => (last, first),
            Direction::Maximize => (first, last),
        };
        if !self.visited.contains_key(&must_pass) {
            return Some(must_pass);
        }
        if !self.visited.contains_key(&may_pass) {
            return Some(may_pass);
        }
        let (f, p) = (self.fail?, self.pass?);
        let (lo, hi) = (f.min(p), f.max(p));
        (hi - lo > 1).then_some(lo + (hi - lo) / 2)
    }

    /// Records the verdict of point `index`.
    pub fn record(&mut self, index: usize, passed: bool) {
        self.visited.insert(index, passed);
        let closer = |cur: Option<usize>, edge: bool| match cur {
            None => Some(index),
            Some(c) => Some(if edge { c.min(index) } else { c.max(index) }),
        };
        // Minimize: the bracket's pass moves down and its fail up; maximize the reverse.
        let min = self.direction == Direction::Minimize;
        if passed {
            self.pass = closer(self.pass, min);
        } else {
            self.fail = closer(self.fail, !min);
        }
        let (first, last) = (0, self.len - 1);
        let (must_pass, may_pass) = if min { (last, first) } else { (first, last) };
        if self.visited.get(&must_pass) == Some(&false)
            || self.visited.get(&may_pass) == Some(&true)
        {
            self.done = true;
        }
        if self.next().is_none() && self.visited.contains_key(&may_pass) {
            self.done = true;
        }
    }

    /// The outcome (meaningful once [`Bisect::next`] is `None`).
    pub fn boundary(&self) -> Boundary {
        let answer = self.pass;
        let neighbour = answer.and(self.fail);
        let mut violations = Vec::new();
        let points: Vec<(usize, bool)> = self.visited.iter().map(|(i, p)| (*i, *p)).collect();
        for (k, &(i, pi)) in points.iter().enumerate() {
            for &(j, pj) in &points[k + 1..] {
                // i < j: for minimize a pass at i then a fail at j contradicts; for
                // maximize a fail at i then a pass at j does.
                let bad = match self.direction {
                    Direction::Minimize => pi && !pj,
                    Direction::Maximize => !pi && pj,
                };
                if bad {
                    violations.push((i, j));
                }
            }
        }
        Boundary {
            answer,
            neighbour,
            violations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(direction: Direction, verdicts: &[bool]) -> (Boundary, usize) {
        let mut b = Bisect::new(direction, verdicts.len());
        let mut runs = 0;
        while let Some(i) = b.next() {
            runs += 1;
            assert!(runs <= verdicts.len(), "the search must end");
            b.record(i, verdicts[i]);
        }
        (b.boundary(), runs)
    }

    #[test]
    fn minimize_finds_the_lowest_pass_in_log_steps() {
        let v: Vec<bool> = (0..33).map(|i| i >= 21).collect();
        let (b, runs) = run(Direction::Minimize, &v);
        assert_eq!(b.answer, Some(21));
        assert_eq!(b.neighbour, Some(20));
        assert!(b.violations.is_empty());
        assert!(runs <= 2 + 6, "{runs} runs");
    }

    #[test]
    fn maximize_finds_the_highest_pass() {
        let v: Vec<bool> = (0..10).map(|i| i <= 6).collect();
        let (b, _) = run(Direction::Maximize, &v);
        assert_eq!((b.answer, b.neighbour), (Some(6), Some(7)));
    }

    #[test]
    fn ends_and_nothing() {
        assert_eq!(run(Direction::Minimize, &[true, true]).0.answer, Some(0));
        assert_eq!(run(Direction::Minimize, &[false, false]).0.answer, None);
        assert_eq!(
            run(Direction::Maximize, &[true, true, true]).0.answer,
            Some(2)
        );
        assert_eq!(run(Direction::Maximize, &[false, true]).0.answer, None);
        assert_eq!(run(Direction::Minimize, &[true]).0.answer, Some(0));
    }

    #[test]
    fn a_non_monotone_axis_is_reported() {
        // Passes at 2, fails at 5, passes again from 8: bisection visits a contradiction.
        let v = [
            false, false, true, true, true, false, false, false, true, true,
        ];
        let (b, _) = run(Direction::Minimize, &v);
        assert!(b.answer.is_some());
        let mut b2 = Bisect::new(Direction::Minimize, v.len());
        for (i, p) in v.iter().enumerate() {
            b2.record(i, *p);
        }
        assert!(!b2.boundary().violations.is_empty());
    }
}
