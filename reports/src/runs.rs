//! Container run times ([`scenarios::ContainerRun`]): per VCH, how long the containers that
//! ended took (count, mean, median, longest) and how that compares with the fastest VCH —
//! the answer to "how much longer does a job take under this limit" — and the runs one by
//! one (bounded: the first [`RUNS_SHOWN`]).

use std::collections::BTreeMap;

use scenarios::{ContainerRun, RunOutcome};

use crate::clock::offset_label;
use crate::names::fmt_fixed;
use crate::tables::{Row, Table, limits_line};

/// Most runs listed one by one.
pub(crate) const RUNS_SHOWN: usize = 50;

/// One VCH's ended runs.
struct VchRuns {
    ended: Vec<u64>,
    running: usize,
    failed: usize,
}

impl VchRuns {
    fn mean_s(&self) -> Option<f64> {
        (!self.ended.is_empty())
            .then(|| self.ended.iter().sum::<u64>() as f64 / self.ended.len() as f64)
    }

    fn median_s(&self) -> Option<f64> {
        let mut v = self.ended.clone();
        v.sort_unstable();
        let n = v.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2] as f64),
            _ => Some((v[n / 2 - 1] + v[n / 2]) as f64 / 2.0),
        }
    }
}

fn by_vch(o: &RunOutcome) -> BTreeMap<&str, VchRuns> {
    let mut m: BTreeMap<&str, VchRuns> = BTreeMap::new();
    for r in &o.runs {
        let e = m.entry(r.vch.as_str()).or_insert(VchRuns {
            ended: Vec::new(),
            running: 0,
            failed: 0,
        });
        match r.run_s {
            Some(s) => e.ended.push(s),
            // Created but never started: neither ended nor running.
            None if r.started_s.is_some() => e.running += 1,
            None => {}
        }
        if r.exit_code.is_some_and(|c| c != 0) {
            e.failed += 1;
        }
    }
    m
}

/// Seconds as `65 s` (one decimal when not whole), `–` for none.
fn duration(v: Option<f64>) -> String {
    v.map_or_else(
        || "–".to_owned(),
        |s| format!("{} s", fmt_fixed(s, if s.fract() == 0.0 { 0 } else { 1 })),
    )
}

/// The fastest VCH's mean run time (among VCHs with an ended run).
fn fastest_mean(all: &BTreeMap<&str, VchRuns>) -> Option<f64> {
    all.values()
        .filter_map(VchRuns::mean_s)
        .filter(|m| *m > 0.0)
        .reduce(f64::min)
}

/// Per VCH, in the outcome's VCH order: limits, runs ended/running/failed, mean, median and
/// longest run time, and the mean against the fastest VCH's.
pub(crate) fn by_vch_table(o: &RunOutcome) -> Table {
    let all = by_vch(o);
    let fastest = fastest_mean(&all);
    let rows = o
        .vchs
        .iter()
        .filter_map(|v| {
            let r = all.get(v.name.as_str())?;
            let mean = r.mean_s();
            let ratio = match (mean, fastest) {
                (Some(m), Some(f)) => format!("{}×", fmt_fixed(m / f, 2)),
                _ => "–".to_owned(),
            };
            Some(Row {
                cells: vec![
                    v.name.clone(),
                    limits_line(v),
                    r.ended.len().to_string(),
                    r.running.to_string(),
                    r.failed.to_string(),
                    duration(mean),
                    duration(r.median_s()),
                    duration(r.ended.iter().max().map(|m| *m as f64)),
                    ratio,
                ],
                bad: r.failed > 0,
            })
        })
        .collect();
    Table {
        header: vec![
            "VCH",
            "Limits",
            "Ended",
            "Still running",
            "Failed",
            "Mean run",
            "Median run",
            "Longest run",
            "Mean vs fastest VCH",
        ],
        rows,
    }
}

/// The runs one by one (the first [`RUNS_SHOWN`]).
pub(crate) fn runs_table(o: &RunOutcome) -> Table {
    let rows = o
        .runs
        .iter()
        .take(RUNS_SHOWN)
        .map(|r: &ContainerRun| Row {
            cells: vec![
                r.vch.clone(),
                r.name.clone(),
                r.command.clone(),
                r.started_s.map_or_else(|| "–".to_owned(), offset_label),
                r.finished_s.map_or_else(|| "–".to_owned(), offset_label),
                duration(r.run_s.map(|s| s as f64)),
                r.exit_code.map_or_else(
                    || {
                        if r.started_s.is_some() {
                            "running"
                        } else {
                            "created"
                        }
                        .to_owned()
                    },
                    |c| c.to_string(),
                ),
            ],
            bad: r.exit_code.is_some_and(|c| c != 0),
        })
        .collect();
    Table {
        header: vec![
            "VCH",
            "Container",
            "Command",
            "Started",
            "Ended",
            "Run time",
            "Exit",
        ],
        rows,
    }
}

/// `Showing the first 50 of 120 container runs.` when the list is cut.
pub(crate) fn runs_note(o: &RunOutcome) -> Option<String> {
    (o.runs.len() > RUNS_SHOWN).then(|| {
        format!(
            "Showing the first {RUNS_SHOWN} of {} container runs.",
            o.runs.len()
        )
    })
}

/// A finding comparing VCHs' mean run times, when at least two VCHs had runs that ended:
/// `Containers that ran to their end took 5.20× as long on VCH limited as on VCH unlimited
/// (mean 312 s against 60 s).`
pub(crate) fn finding(o: &RunOutcome) -> Option<String> {
    let all = by_vch(o);
    let means: Vec<(&str, f64)> = o
        .vchs
        .iter()
        .filter_map(|v| Some((v.name.as_str(), all.get(v.name.as_str())?.mean_s()?)))
        .collect();
    if means.len() < 2 {
        return None;
    }
    let (fast, fast_mean) = means
        .iter()
        .copied()
        .filter(|(_, m)| *m > 0.0)
        .reduce(|a, b| if b.1 < a.1 { b } else { a })?;
    let (slow, slow_mean) = means
        .iter()
        .copied()
        .reduce(|a, b| if b.1 > a.1 { b } else { a })?;
    if slow == fast {
        return None;
    }
    Some(format!(
        "Containers that ran to their end took {}× as long on VCH {slow} as on VCH {fast} (mean {} against {}).",
        fmt_fixed(slow_mean / fast_mean, 2),
        duration(Some(slow_mean)),
        duration(Some(fast_mean)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_means() {
        let r = VchRuns {
            ended: vec![30, 10, 20, 40],
            running: 0,
            failed: 0,
        };
        assert_eq!((r.mean_s(), r.median_s()), (Some(25.0), Some(25.0)));
        let r = VchRuns {
            ended: vec![],
            running: 2,
            failed: 0,
        };
        assert_eq!((r.mean_s(), r.median_s()), (None, None));
        assert_eq!(duration(Some(25.5)), "25.5 s");
        assert_eq!(duration(Some(25.0)), "25 s");
    }
}
