//! Sweeps: one scenario run at many settings of its `[vars]`, each point an ordinary run
//! (what `vicbed run --set NAME=VALUE …` would do, with the scenario's seed: common random
//! numbers across points), and the answer to a planner's question.
//!
//! Core types: [`Axis`] (what varies), [`SweepPlan`] (axes, goal, search, shard),
//! [`PointResult`] (one run's verdicts), [`SweepResult`] (every point and the answers) and
//! [`Bisect`] (the `--minimize`/`--maximize` search). Points run on `jobs` threads, each with
//! its own runtime and testbed; results are ordered by point index, so nothing in the output
//! depends on scheduling, and shards merge into exactly what one process would have written.

mod axis;
mod search;

pub use axis::{Axis, GridPoint, MAX_POINTS, Shard, grid};
pub use search::{Bisect, Boundary, Direction};

use crate::outcome::{RunOutcome, Verdict};
use crate::schema::Scenario;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The command line is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A point's scenario text is invalid at those values (exit 2).
    #[error("at {values}: {problems}")]
    Scenario {
        /// The point's values, `a=1, b=2`.
        values: String,
        /// The problems, as `vicbed run` prints them.
        problems: String,
    },
}

/// Which expectations decide whether a point passes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// Expectation ids; empty means all of them.
    pub ids: Vec<String>,
}

impl Goal {
    /// Whether verdict `id` counts.
    pub fn counts(&self, id: &str) -> bool {
        self.ids.is_empty() || self.ids.iter().any(|g| g == id)
    }

    /// `all expectations`, or `expectations a, b`.
    pub fn describe(&self) -> String {
        if self.ids.is_empty() {
            "all expectations".into()
        } else {
            format!("expectation(s) {}", self.ids.join(", "))
        }
    }
}

/// `--minimize NAME` or `--maximize NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    /// The axis searched.
    pub name: String,
    /// Which end.
    pub direction: Direction,
}

/// Everything a sweep does.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    /// The varied variables.
    pub axes: Vec<Axis>,
    /// Which expectations must hold.
    pub goal: Goal,
    /// A search over one axis instead of the whole grid.
    pub search: Option<Search>,
    /// Only every N-th point (grid sweeps).
    pub shard: Option<Shard>,
    /// Threads running points at once.
    pub jobs: usize,
}

/// One expectation's verdict at a point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointVerdict {
    /// The expectation's id.
    pub id: String,
    /// Whether it held.
    pub passed: bool,
    /// The deciding observed value (the worst one among the matched entities), if any.
    pub observed: Option<f64>,
    /// The entity that observed it.
    pub entity: Option<String>,
    /// The expectation as the run prints it.
    pub statement: String,
}

/// One point: its values and what the run concluded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Grid index (or, in a search, the searched value's index within the context's row).
    pub index: usize,
    /// `(name, value)` per axis.
    pub values: Vec<(String, String)>,
    /// Whether every goal expectation held and the testbed did all it was asked.
    pub passed: bool,
    /// When the testbed could not do what the scenario asked (a failed step), why.
    pub error: Option<String>,
    /// The verdicts of the goal's expectations, in the scenario's order.
    pub verdicts: Vec<PointVerdict>,
}

/// The answer of a search, for one setting of the other axes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The other axes' values this answer holds for (empty with one axis).
    pub context: Vec<(String, String)>,
    /// The wanted value, when some value passes.
    pub value: Option<String>,
    /// The sentence printed, with the evidence.
    pub sentence: String,
    /// Whether the visited points were monotone (when not, the sentence says so).
    pub monotone: bool,
}

/// A whole sweep's result: what `sweep.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file's hash.
    pub scenario_hash: String,
    /// The seed every point ran with.
    pub seed: u64,
    /// vicbed's version.
    pub vicbed_version: String,
    /// The axes, as given.
    pub axes: Vec<(String, Vec<String>)>,
    /// The goal.
    pub goal: Goal,
    /// `minimize NAME` / `maximize NAME`, or none for a grid.
    pub search: Option<String>,
    /// `I/N` for a shard's partial result; none for a whole sweep (or a merge).
    pub shard: Option<String>,
    /// Points in index order.
    pub points: Vec<PointResult>,
    /// Answers of a search, in context order.
    pub answers: Vec<Answer>,
}

/// Builds the scenario for one point's values (the caller applies them as `--set` would,
/// e.g. with [`Scenario::parse_with`]) and its hash.
pub type Loader<'a> = dyn Fn(&[(String, String)]) -> Result<(Scenario, String), String> + Sync + 'a;

/// Runs one point's scenario (with its hash) to its outcome.
pub type Runner<'a> = dyn Fn(&Scenario, &str) -> Result<RunOutcome, String> + Sync + 'a;

/// Runs `plan` over points built by `load` and run by `run`; `progress` is told of each point
/// as it finishes (from the runner threads).
pub fn sweep(
    plan: &SweepPlan,
    load: &Loader<'_>,
    run: &Runner<'_>,
    progress: &(dyn Fn(&PointResult) + Sync),
) -> Result<(Vec<PointResult>, Vec<Answer>), SweepError> {
    if let Some(s) = &plan.search {
        if plan.shard.is_some() {
            return Err(SweepError::Usage(
                "--shard splits a grid; a --minimize/--maximize search runs in one process".into(),
            ));
        }
        if !plan.axes.iter().any(|a| a.name == s.name) {
            return Err(SweepError::Usage(format!(
                "--{} {}: not one of the --vary names",
                if s.direction == Direction::Minimize {
                    "minimize"
                } else {
                    "maximize"
                },
                s.name
            )));
        }
        return search_all(plan, s, load, run, progress);
    }
    let points: Vec<GridPoint> = grid(&plan.axes)?
        .into_iter()
        .filter(|p| plan.shard.is_none_or(|s| s.owns(p.index)))
        .collect();
    let results = run_points(&points, plan, load, run, progress)?;
    Ok((results, Vec::new()))
}

/// Runs `points` on `plan.jobs` threads; results in the order of `points`.
fn run_points(
    points: &[GridPoint],
    plan: &SweepPlan,
    load: &Loader<'_>,
    run: &Runner<'_>,
    progress: &(dyn Fn(&PointResult) + Sync),
) -> Result<Vec<PointResult>, SweepError> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<PointResult, SweepError>>>> =
        points.iter().map(|_| Mutex::new(None)).collect();
    let jobs = plan.jobs.clamp(1, points.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = points.get(k) else { break };
                    let r = run_point(p, &plan.goal, load, run);
                    if let Ok(r) = &r {
                        progress(r);
                    }
                    let failed = r.is_err();
                    *slots[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    if failed {
                        // A scenario invalid at these values stops the sweep.
                        next.store(points.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut out = Vec::with_capacity(points.len());
    for slot in slots {
        match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => return Err(e),
            // Not run because an earlier point's scenario was invalid: that error is above.
            None => {}
        }
    }
    Ok(out)
}

fn values_text(values: &[(String, String)]) -> String {
    values
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One point: load, run, judge.
fn run_point(
    p: &GridPoint,
    goal: &Goal,
    load: &Loader<'_>,
    run: &Runner<'_>,
) -> Result<PointResult, SweepError> {
    let (scenario, hash) = load(&p.values).map_err(|problems| SweepError::Scenario {
        values: values_text(&p.values),
        problems,
    })?;
    let unknown: Vec<&String> = goal
        .ids
        .iter()
        .filter(|g| !scenario.expectations.iter().any(|e| &e.id == *g))
        .collect();
    if !unknown.is_empty() {
        return Err(SweepError::Usage(format!(
            "--goal names no expectation of the scenario: {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(match run(&scenario, &hash) {
        Ok(outcome) => judge(p, goal, &outcome),
        Err(e) => PointResult {
            index: p.index,
            values: p.values.clone(),
            passed: false,
            error: Some(e),
            verdicts: Vec::new(),
        },
    })
}

/// A point's result from its run's outcome.
pub fn judge(p: &GridPoint, goal: &Goal, outcome: &RunOutcome) -> PointResult {
    let verdicts: Vec<PointVerdict> = outcome
        .verdicts
        .iter()
        .filter(|v| goal.counts(&v.id))
        .map(point_verdict)
        .collect();
    let error = outcome
        .steps
        .iter()
        .find(|s| !s.ok && !outcome.verdicts.iter().any(|v| v.step == Some(s.index)))
        .map(|s| format!("step {} `{}` failed: {}", s.index, s.command, s.result));
    PointResult {
        index: p.index,
        values: p.values.clone(),
        passed: error.is_none() && verdicts.iter().all(|v| v.passed),
        error,
        verdicts,
    }
}

/// The deciding observation: for a failed verdict the one furthest outside its bounds, for a
/// passed one the one closest to them.
fn point_verdict(v: &Verdict) -> PointVerdict {
    let outside = |x: f64| {
        let below = v.min.map_or(f64::NEG_INFINITY, |m| m - x);
        let above = v.max.map_or(f64::NEG_INFINITY, |m| x - m);
        below.max(above)
    };
    let worst = v
        .observed
        .iter()
        .max_by(|a, b| outside(a.1).total_cmp(&outside(b.1)).then(b.0.cmp(&a.0)));
    PointVerdict {
        id: v.id.clone(),
        passed: v.passed,
        observed: worst.map(|w| w.1),
        entity: worst.map(|w| w.0.clone()),
        statement: v.statement.clone(),
    }
}

/// Searches `s` for every setting of the other axes (in grid order).
fn search_all(
    plan: &SweepPlan,
    s: &Search,
    load: &Loader<'_>,
    run: &Runner<'_>,
    progress: &(dyn Fn(&PointResult) + Sync),
) -> Result<(Vec<PointResult>, Vec<Answer>), SweepError> {
    let pos = plan
        .axes
        .iter()
        .position(|a| a.name == s.name)
        .unwrap_or_default();
    let searched = &plan.axes[pos];
    let others: Vec<Axis> = plan
        .axes
        .iter()
        .filter(|a| a.name != s.name)
        .cloned()
        .collect();
    let contexts = grid(&others)?;
    let mut all = Vec::new();
    let mut answers = Vec::new();
    for ctx in &contexts {
        let mut b = Bisect::new(s.direction, searched.values.len());
        let mut visited: Vec<PointResult> = Vec::new();
        while let Some(i) = b.next() {
            let mut values = ctx.values.clone();
            values.insert(pos, (s.name.clone(), searched.values[i].clone()));
            // The grid index this point would have, so search and grid rows line up.
            let index = grid_index(plan, &values);
            let point = GridPoint { index, values };
            let r = run_point(&point, &plan.goal, load, run)?;
            progress(&r);
            b.record(i, r.passed);
            visited.push(r);
        }
        let boundary = b.boundary();
        answers.push(answer(
            s,
            searched,
            &ctx.values,
            &plan.goal,
            &boundary,
            &visited,
        ));
        all.extend(visited);
    }
    all.sort_by_key(|p| p.index);
    Ok((all, answers))
}

/// The row-major index of `values` in the full grid of `plan.axes`.
fn grid_index(plan: &SweepPlan, values: &[(String, String)]) -> usize {
    plan.axes.iter().zip(values).fold(0, |acc, (axis, (_, v))| {
        acc * axis.values.len() + axis.values.iter().position(|x| x == v).unwrap_or_default()
    })
}

/// The sentence: `lowest cpu_limit where all expectations hold: 5200 (5100 fails: …)`.
fn answer(
    s: &Search,
    axis: &Axis,
    context: &[(String, String)],
    goal: &Goal,
    b: &Boundary,
    visited: &[PointResult],
) -> Answer {
    let at = |i: usize| {
        visited.iter().find(|p| {
            p.values
                .iter()
                .any(|(n, v)| n == &s.name && *v == axis.values[i])
        })
    };
    let when = if context.is_empty() {
        String::new()
    } else {
        format!(" (with {})", values_text(context))
    };
    let what = format!(
        "{} {} where {} hold{when}",
        s.direction.word(),
        s.name,
        goal.describe()
    );
    let mut sentence = match (b.answer, b.neighbour) {
        (Some(a), Some(n)) => {
            let why = at(n).map(failure_text).unwrap_or_default();
            format!(
                "{what}: {} ({} fails: {why})",
                axis.values[a], axis.values[n]
            )
        }
        (Some(a), None) => format!(
            "{what}: {} (every value {} it passes; it is the end of the range given)",
            axis.values[a],
            if s.direction == Direction::Minimize {
                "from"
            } else {
                "up to"
            }
        ),
        (None, _) => {
            let end = match s.direction {
                Direction::Minimize => axis.values.len() - 1,
                Direction::Maximize => 0,
            };
            let why = at(end).map(failure_text).unwrap_or_default();
            format!(
                "{what}: none in {}..{} ({} fails: {why})",
                axis.values[0],
                axis.values[axis.values.len() - 1],
                axis.values[end]
            )
        }
    };
    if !b.violations.is_empty() {
        let pairs: Vec<String> = b
            .violations
            .iter()
            .map(|(i, j)| format!("{} vs {}", axis.values[*i], axis.values[*j]))
            .collect();
        sentence.push_str(&format!(
            "; NOT MONOTONE on the points visited ({}): the answer may not be the boundary, run a grid",
            pairs.join(", ")
        ));
    }
    Answer {
        context: context.to_vec(),
        value: b.answer.map(|a| axis.values[a].clone()),
        sentence,
        monotone: b.violations.is_empty(),
    }
}

/// Why a point failed, in a few words: its error, or its first failed expectation with the
/// deciding observation.
pub fn failure_text(p: &PointResult) -> String {
    if let Some(e) = &p.error {
        return e.clone();
    }
    match p.verdicts.iter().find(|v| !v.passed) {
        Some(v) => match (&v.entity, v.observed) {
            (Some(e), Some(x)) => format!(
                "{} — {} = {}",
                v.statement,
                e,
                crate::evaluate::fmt_value(x)
            ),
            _ => format!("{} — no entity matched", v.statement),
        },
        None => "passed".into(),
    }
}

/// Merges shard results (each a [`SweepResult`] of one sweep) into the whole sweep's, as an
/// unsharded run would have written it; refuses results of different sweeps and overlaps.
pub fn merge(parts: Vec<SweepResult>) -> Result<SweepResult, SweepError> {
    let mut it = parts.into_iter();
    let mut merged = it
        .next()
        .ok_or_else(|| SweepError::Usage("sweep merge needs at least one directory".into()))?;
    let key = |r: &SweepResult| {
        (
            r.scenario.clone(),
            r.scenario_hash.clone(),
            r.seed,
            r.axes.clone(),
            r.goal.clone(),
            r.search.clone(),
        )
    };
    let want = key(&merged);
    for part in it {
        if key(&part) != want {
            return Err(SweepError::Usage(
                "the directories hold results of different sweeps (scenario, seed, axes or goal differ)".into(),
            ));
        }
        merged.points.extend(part.points);
    }
    merged.points.sort_by_key(|p| p.index);
    if let Some(w) = merged.points.windows(2).find(|w| w[0].index == w[1].index) {
        return Err(SweepError::Usage(format!(
            "point {} appears in two directories",
            w[0].index
        )));
    }
    merged.shard = None;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(index: usize) -> PointResult {
        PointResult {
            index,
            values: vec![("a".into(), index.to_string())],
            passed: true,
            error: None,
            verdicts: Vec::new(),
        }
    }

    fn result(points: Vec<PointResult>, shard: Option<&str>) -> SweepResult {
        SweepResult {
            scenario: "s".into(),
            scenario_hash: "h".into(),
            seed: 1,
            vicbed_version: "0".into(),
            axes: vec![("a".into(), (0..4).map(|i| i.to_string()).collect())],
            goal: Goal::default(),
            search: None,
            shard: shard.map(str::to_owned),
            points,
            answers: Vec::new(),
        }
    }

    #[test]
    fn merge_orders_points_and_refuses_overlaps_and_strangers() {
        let whole = result((0..4).map(pr).collect(), None);
        let a = result(vec![pr(0), pr(2)], Some("0/2"));
        let b = result(vec![pr(1), pr(3)], Some("1/2"));
        assert_eq!(merge(vec![b.clone(), a.clone()]).unwrap(), whole);
        assert!(merge(vec![a.clone(), a.clone()]).is_err());
        let mut other = b;
        other.seed = 2;
        assert!(merge(vec![a, other]).is_err());
    }

    #[test]
    fn grid_index_matches_the_grid() {
        let plan = SweepPlan {
            axes: vec![
                Axis::parse("a=1,2,3").unwrap(),
                Axis::parse("b=x,y").unwrap(),
            ],
            goal: Goal::default(),
            search: None,
            shard: None,
            jobs: 1,
        };
        for p in grid(&plan.axes).unwrap() {
            assert_eq!(grid_index(&plan, &p.values), p.index);
        }
    }
}
