//! Turning expectations into verdicts over the series a run read back (pure).
//!
//! Each expectation looks at every entity its pattern matches; the statistic is taken over
//! that entity's samples in the window `[from, to]` (offsets of the samples' interval ends),
//! and the bounds must hold for each matched entity. With `relative_to`, the statistic is
//! first divided by the referenced expectation's value (the mean over its matched entities),
//! which must come earlier in the file.
//!
//! Values are compared in the counter's display unit ([`crate::units`]): percent counters
//! in %, memory in MB; observed values and bounds in verdicts are in that unit.
//!
//! Besides the expectations, the testbed itself is judged: a VCH that could not be created
//! and a step without `expect` that failed each become a failed verdict (see [`RunStatus`]).

use std::collections::BTreeMap;

use crate::outcome::{EntityRecord, RunOutcome, Series, StepRecord, Verdict};
use crate::schema::{EntityKind, Expectation, Stat, Step, StepExpect};
use crate::units::DisplayUnit;

/// [`Verdict::counter`] of a VCH's `vic-machine create` that failed.
pub const TESTBED_VCH: &str = "testbed.vch";
/// [`Verdict::counter`] of a step without `expect` that failed.
pub const TESTBED_STEP: &str = "testbed.step";

/// How a run went, as `vicbed run` exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Every expectation held and the testbed did everything asked (exit 0).
    Passed,
    /// An expectation, or a step's `expect`, failed (exit 1).
    Failed,
    /// The testbed could not do what the scenario asked: a VCH was not created, or a step
    /// without `expect` failed (exit 3). It wins over [`RunStatus::Failed`]: the other
    /// verdicts were taken on a run that is not the one the scenario describes.
    TestbedFailed,
}

impl RunStatus {
    /// The status of `outcome`.
    pub fn of(outcome: &RunOutcome) -> RunStatus {
        let failed = |v: &&Verdict| !v.passed;
        if outcome
            .verdicts
            .iter()
            .filter(failed)
            .any(|v| v.counter == TESTBED_VCH || v.counter == TESTBED_STEP)
        {
            RunStatus::TestbedFailed
        } else if outcome.verdicts.iter().any(|v| !v.passed) {
            RunStatus::Failed
        } else {
            RunStatus::Passed
        }
    }

    /// `vicbed run`'s exit code: 0, 1 or 3 (2 is a bad scenario, before any run).
    pub fn exit_code(self) -> u8 {
        match self {
            RunStatus::Passed => 0,
            RunStatus::Failed => 1,
            RunStatus::TestbedFailed => 3,
        }
    }
}

/// `stat` over `values` (`None` when empty). P95 is the nearest-rank percentile.
pub fn statistic(stat: Stat, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match stat {
        Stat::Avg => values.iter().sum::<f64>() / values.len() as f64,
        Stat::Sum => values.iter().sum(),
        Stat::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Stat::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Stat::Last => *values.last()?,
        Stat::P95 => {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            let rank = (0.95 * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        }
    })
}

/// One verdict per expectation, in order.
pub fn verdicts(
    expectations: &[Expectation],
    entities: &[EntityRecord],
    series: &[Series],
) -> Vec<Verdict> {
    let mut reference: BTreeMap<&str, Option<f64>> = BTreeMap::new();
    let mut out = Vec::with_capacity(expectations.len());
    let series = crate::outcome::SeriesIndex::new(series);
    for e in expectations {
        let (verdict, own) = one(e, entities, &series, &reference);
        reference.insert(e.id.as_str(), own);
        out.push(verdict);
    }
    out
}

/// The verdict and the expectation's own (undivided) mean value, for `relative_to` users.
fn one(
    e: &Expectation,
    entities: &[EntityRecord],
    series: &crate::outcome::SeriesIndex<'_>,
    reference: &BTreeMap<&str, Option<f64>>,
) -> (Verdict, Option<f64>) {
    let mut verdict = Verdict {
        id: e.id.clone(),
        step: None,
        statement: statement(e),
        stat: e.stat,
        counter: e.counter.clone(),
        min: e.min,
        max: e.max,
        observed: Vec::new(),
        passed: false,
        reason: String::new(),
    };
    let matched: Vec<&EntityRecord> = entities.iter().filter(|r| matches(e, r)).collect();
    if matched.is_empty() {
        verdict.reason = format!(
            "no {} matches {:?}",
            e.entity.kind.as_str(),
            e.entity.pattern
        );
        return (verdict, None);
    }
    let from_s = e.from.map_or(0, |d| d.as_secs());
    let to_s = e.to.map_or(u64::MAX, |d| d.as_secs());
    let mut raw = Vec::new();
    let mut missing = Vec::new();
    for r in &matched {
        let mut values: Vec<f64> = Vec::new();
        let found = series.get(r.kind, &r.name, &e.counter, &e.instance);
        if let Some(s) = found {
            // One series at a time, streamed from the run's spool.
            let read = s.points.try_for_each(|p| {
                if p.offset_s >= from_s && p.offset_s <= to_s {
                    values.push(e.unit.from_raw(p.value as f64));
                }
            });
            if let Err(err) = read {
                verdict.observed = raw;
                verdict.reason = format!("the samples of {} cannot be read back: {err}", r.name);
                return (verdict, None);
            }
        }
        match statistic(e.stat, &values) {
            Some(v) => raw.push((r.name.clone(), v)),
            None => missing.push(r.name.clone()),
        }
    }
    let own = (!raw.is_empty()).then(|| raw.iter().map(|(_, v)| v).sum::<f64>() / raw.len() as f64);
    if !missing.is_empty() {
        verdict.observed = raw;
        verdict.reason = format!("no samples of {} for {}", e.counter, missing.join(", "));
        return (verdict, own);
    }
    let divisor = match &e.relative_to {
        None => 1.0,
        Some(id) => match reference.get(id.as_str()).copied().flatten() {
            Some(d) if d != 0.0 => d,
            Some(_) => {
                verdict.observed = raw;
                verdict.reason = format!("{id} is 0, so the ratio is undefined");
                return (verdict, own);
            }
            None => {
                verdict.observed = raw;
                verdict.reason = format!("{id} has no value to divide by");
                return (verdict, own);
            }
        },
    };
    verdict.observed = raw.into_iter().map(|(n, v)| (n, v / divisor)).collect();
    let bad: Vec<String> = verdict
        .observed
        .iter()
        .filter(|(_, v)| e.min.is_some_and(|m| *v < m) || e.max.is_some_and(|m| *v > m))
        .map(|(n, v)| format!("{n}: {}", bound_unit(e).format(*v)))
        .collect();
    verdict.passed = bad.is_empty();
    if !verdict.passed {
        verdict.reason = format!("out of bounds: {}", bad.join(", "));
    }
    (verdict, own)
}

/// The unit bounds and observed values of `e` are written in: the counter's, or plain
/// ratios with `relative_to`.
fn bound_unit(e: &Expectation) -> DisplayUnit {
    if e.relative_to.is_some() {
        DisplayUnit::PLAIN
    } else {
        e.unit
    }
}

/// Each step with its record, if it ran: repetitions of one step share its index, and their
/// records come in repetition order (the runner keeps file order among equal times).
fn paired<'a>(
    steps: &'a [Step],
    records: &'a [StepRecord],
) -> Vec<(&'a Step, Option<&'a StepRecord>)> {
    let mut by_index: BTreeMap<usize, Vec<&StepRecord>> = BTreeMap::new();
    for r in records {
        by_index.entry(r.index).or_default().push(r);
    }
    let mut ordered: Vec<&Step> = steps.iter().collect();
    ordered.sort_by_key(|s| (s.index, s.repetition));
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    ordered
        .into_iter()
        .map(|s| {
            let k = taken.entry(s.index).or_default();
            let record = by_index.get(&s.index).and_then(|v| v.get(*k)).copied();
            *k += 1;
            (s, record)
        })
        .collect()
}

/// `step-N`, or `step-N.k` for repetition k.
fn step_id(s: &Step) -> String {
    match s.repetition {
        Some(k) => format!("step-{}.{k}", s.index),
        None => format!("step-{}", s.index),
    }
}

/// One verdict per step that states an expected outcome, in file order: `records` are what
/// the steps did.
pub fn step_verdicts(steps: &[Step], records: &[StepRecord]) -> Vec<Verdict> {
    paired(steps, records)
        .into_iter()
        .filter_map(|(s, record)| {
            let expect = s.expect.as_ref()?;
            let (want, passed, reason) = match (expect, record) {
                (_, None) => (String::new(), false, "the step did not run".to_owned()),
                (StepExpect::Succeeds, Some(r)) => (
                    "succeeds".to_owned(),
                    r.ok,
                    if r.ok {
                        String::new()
                    } else {
                        format!("it failed: {}", r.result)
                    },
                ),
                (StepExpect::Fails(text), Some(r)) => {
                    let want = match text {
                        Some(t) => format!("fails with {t:?}"),
                        None => "fails".to_owned(),
                    };
                    let reason = if r.ok {
                        format!("it succeeded: {}", r.result)
                    } else if let Some(t) = text.as_ref().filter(|t| !r.result.contains(t.as_str()))
                    {
                        format!("it failed otherwise: {} (wanted {t:?})", r.result)
                    } else {
                        String::new()
                    };
                    (want, reason.is_empty(), reason)
                }
            };
            let command = record.map_or_else(String::new, |r| r.command.clone());
            Some(Verdict {
                id: step_id(s),
                step: Some(s.index),
                statement: format!("step {} ({command}) {want}", s.index),
                stat: Stat::Last,
                counter: "step.outcome".into(),
                min: None,
                max: None,
                observed: Vec::new(),
                passed,
                reason,
            })
        })
        .collect()
}

/// One verdict per `expect_output` and per `expect_duration_min|max` of a step, in file
/// order: its output must contain the text; the virtual time its work took (a DCH build)
/// must lie within the bounds.
pub fn step_check_verdicts(steps: &[Step], records: &[StepRecord]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for (s, record) in paired(steps, records) {
        let c = &s.checks;
        let command = record.map_or_else(String::new, |r| r.command.clone());
        if let Some(text) = &c.output {
            let (passed, reason) = match record {
                None => (false, "the step did not run".to_owned()),
                Some(r) if !r.ok => (false, format!("it failed: {}", r.result)),
                Some(r)
                    if !r.result.contains(text.as_str()) && !r.output.contains(text.as_str()) =>
                {
                    (false, format!("its output was {:?}", r.result))
                }
                Some(_) => (true, String::new()),
            };
            out.push(Verdict {
                id: format!("{}-output", step_id(s)),
                step: Some(s.index),
                statement: format!("step {} ({command}) prints {text:?}", s.index),
                stat: Stat::Last,
                counter: "step.output".into(),
                min: None,
                max: None,
                observed: Vec::new(),
                passed,
                reason,
            });
        }
        if c.duration_min.is_none() && c.duration_max.is_none() {
            continue;
        }
        let min_s = c.duration_min.map(|d| d.as_secs_f64());
        let max_s = c.duration_max.map(|d| d.as_secs_f64());
        let took_s = record
            .and_then(|r| r.virtual_ms)
            .map(|ms| ms as f64 / 1000.0);
        let (passed, reason) = match (record, took_s) {
            (None, _) => (false, "the step did not run".to_owned()),
            (Some(r), _) if !r.ok => (false, format!("it failed: {}", r.result)),
            (Some(_), None) => (
                false,
                "the testbed measured no virtual duration for it (only a DCH build has one)"
                    .to_owned(),
            ),
            (Some(_), Some(t)) => {
                let low = min_s.is_some_and(|m| t < m);
                let high = max_s.is_some_and(|m| t > m);
                if low || high {
                    (false, format!("out of bounds: {t:.1} s"))
                } else {
                    (true, String::new())
                }
            }
        };
        let bounds = match (min_s, max_s) {
            (Some(a), Some(b)) => format!("between {a} s and {b} s"),
            (Some(a), None) => format!("at least {a} s"),
            (None, Some(b)) => format!("at most {b} s"),
            (None, None) => String::new(),
        };
        out.push(Verdict {
            id: format!("{}-duration", step_id(s)),
            step: Some(s.index),
            statement: format!(
                "step {} ({command}) takes {bounds} of virtual time",
                s.index
            ),
            stat: Stat::Last,
            counter: "step.virtual_duration".into(),
            min: min_s,
            max: max_s,
            observed: took_s
                .map(|t| vec![(command.clone(), t)])
                .unwrap_or_default(),
            passed,
            reason,
        });
    }
    out
}

/// Failed verdicts for what the testbed could not do: each VCH that was not created
/// (`vch_failures`: `[[vch]]` name and why), and each step without `expect` that failed,
/// in file order. Steps that did what they were asked add nothing.
pub fn testbed_verdicts(
    vch_failures: &[(String, String)],
    steps: &[Step],
    records: &[StepRecord],
) -> Vec<Verdict> {
    let failed =
        |id: String, step: Option<usize>, statement: String, counter: &str, reason: String| {
            Verdict {
                id,
                step,
                statement,
                stat: Stat::Last,
                counter: counter.into(),
                min: None,
                max: None,
                observed: Vec::new(),
                passed: false,
                reason,
            }
        };
    let mut out: Vec<Verdict> = vch_failures
        .iter()
        .map(|(name, why)| {
            failed(
                format!("vch-{name}"),
                None,
                format!("vic-machine create of vch {name} succeeds"),
                TESTBED_VCH,
                why.clone(),
            )
        })
        .collect();
    for (s, record) in paired(steps, records) {
        if s.expect.is_some() {
            continue;
        }
        if let Some(r) = record.filter(|r| !r.ok) {
            out.push(failed(
                step_id(s),
                Some(s.index),
                format!("step {} ({}) succeeds", s.index, r.command),
                TESTBED_STEP,
                format!("it failed: {}", r.result),
            ));
        }
    }
    out
}

/// Whether `e` looks at `r`: containers by container name; VMs (containerVMs included) by
/// vSphere display name, which is how a name convention is checked; pools and hosts by name.
pub fn matches(e: &Expectation, r: &EntityRecord) -> bool {
    if e.entity.kind == EntityKind::Vm && r.kind == EntityKind::Container {
        return crate::schema::glob_match(&e.entity.pattern, &r.vsphere_name);
    }
    e.entity.matches(r.kind, &r.name)
}

/// `avg cpu.ready.summation of container cpu-limited ≥ 12000` (with `÷ limited-entitlement`
/// for relative expectations, and the window when one is given).
pub fn statement(e: &Expectation) -> String {
    let mut s = format!(
        "{} {}{} of {} {}",
        e.stat.as_str(),
        e.counter,
        if e.instance.is_empty() {
            String::new()
        } else {
            format!("[{}]", e.instance)
        },
        e.entity.kind.as_str(),
        e.entity.pattern
    );
    if let Some(r) = &e.relative_to {
        s.push_str(&format!(" ÷ {r}"));
    }
    let u = bound_unit(e);
    match (e.min, e.max) {
        (Some(a), Some(b)) => s.push_str(&format!(" in [{}, {}]", u.format(a), u.format(b))),
        (Some(a), None) => s.push_str(&format!(" ≥ {}", u.format(a))),
        (None, Some(b)) => s.push_str(&format!(" ≤ {}", u.format(b))),
        (None, None) => {}
    }
    if e.from.is_some() || e.to.is_some() {
        s.push_str(&format!(
            " between {}s and {}",
            e.from.map_or(0, |d| d.as_secs()),
            e.to.map_or("the end".to_owned(), |d| format!("{}s", d.as_secs()))
        ));
    }
    s
}

/// A number as every output writes it: integers without decimals, else up to 3 decimals
/// (trailing zeros dropped); `NaN`, `inf` and `-inf` spelled out; never `-0`.
pub fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Point;
    use crate::schema::EntityPattern;

    fn entity(name: &str) -> EntityRecord {
        EntityRecord {
            kind: EntityKind::Container,
            name: name.into(),
            vsphere_name: format!("{name}-0123456789ab"),
            moref: "vm-1".into(),
            vch: None,
        }
    }

    fn series(name: &str, counter: &str, values: &[i64]) -> Series {
        Series {
            kind: EntityKind::Container,
            entity: name.into(),
            counter: counter.into(),
            instance: String::new(),
            unit: "megaHertz".into(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, &value)| Point {
                    offset_s: 20 * (i as u64 + 1),
                    value,
                })
                .collect(),
        }
    }

    fn expect(
        id: &str,
        pattern: &str,
        stat: Stat,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Expectation {
        Expectation {
            id: id.into(),
            entity: EntityPattern {
                kind: EntityKind::Container,
                pattern: pattern.into(),
            },
            counter: "cpu.entitlement.latest".into(),
            instance: String::new(),
            stat,
            min,
            max,
            unit: DisplayUnit::of_vsphere_unit("megaHertz"),
            from: None,
            to: None,
            relative_to: None,
        }
    }

    #[test]
    fn statistics() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(statistic(Stat::Avg, &v), Some(4.0));
        assert_eq!(statistic(Stat::Max, &v), Some(10.0));
        assert_eq!(statistic(Stat::Min, &v), Some(1.0));
        assert_eq!(statistic(Stat::Last, &v), Some(10.0));
        assert_eq!(statistic(Stat::Sum, &v), Some(20.0));
        assert_eq!(statistic(Stat::P95, &v), Some(10.0));
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(statistic(Stat::P95, &hundred), Some(95.0));
        assert_eq!(statistic(Stat::Avg, &[]), None);
    }

    #[test]
    fn bounds_ratio_window_and_missing() {
        let entities = [entity("a"), entity("b")];
        let series = [
            series("a", "cpu.entitlement.latest", &[400, 400, 400]),
            series("b", "cpu.entitlement.latest", &[1800, 1800, 2000]),
        ];
        let mut ratio = expect("ratio", "b", Stat::Avg, Some(4.0), Some(6.0));
        ratio.relative_to = Some("base".into());
        let mut windowed = expect("late", "b", Stat::Max, None, Some(1800.0));
        windowed.to = Some(std::time::Duration::from_secs(40));
        let list = [
            expect("base", "a", Stat::Avg, None, Some(500.0)),
            ratio,
            expect("both", "*", Stat::Min, Some(1000.0), None),
            expect("none", "zzz", Stat::Avg, None, None),
            windowed,
        ];
        let v = verdicts(&list, &entities, &series);
        assert!(v[0].passed, "{:?}", v[0]);
        assert!(v[1].passed, "{:?}", v[1]);
        assert!((v[1].observed[0].1 - 1866.0 / 400.0).abs() < 0.01);
        assert!(!v[2].passed);
        assert_eq!(v[2].reason, "out of bounds: a: 400 MHz");
        assert!(!v[3].passed);
        assert_eq!(v[3].reason, "no container matches \"zzz\"");
        assert!(v[4].passed, "{:?}", v[4]);
        assert_eq!(
            v[1].statement,
            "avg cpu.entitlement.latest of container b ÷ base in [4, 6]"
        );
    }

    fn run_step(index: usize, repetition: Option<u32>, expect: Option<StepExpect>) -> Step {
        Step {
            index,
            repetition,
            at: std::time::Duration::ZERO,
            action: crate::schema::Action::Power(crate::schema::PowerChange {
                vm: "v".into(),
                on: true,
            }),
            expect,
            checks: Default::default(),
        }
    }

    fn record(index: usize, ok: bool, result: &str) -> StepRecord {
        StepRecord {
            index,
            at_s: 0,
            command: format!("cmd {index}"),
            result: result.into(),
            ok,
            virtual_ms: None,
            output: String::new(),
        }
    }

    #[test]
    fn percent_values_are_compared_in_percent() {
        let mut e = expect("pct", "a", Stat::Max, None, Some(5.0));
        e.counter = "cpu.readiness.average".into();
        e.unit = DisplayUnit::of_vsphere_unit("percent");
        let s = [series("a", "cpu.readiness.average", &[400, 540])];
        let v = verdicts(&[e], &[entity("a")], &s);
        assert!(!v[0].passed);
        assert_eq!(v[0].observed, vec![("a".to_owned(), 5.4)]);
        assert_eq!(v[0].reason, "out of bounds: a: 5.4 %");
        assert_eq!(
            v[0].statement,
            "max cpu.readiness.average of container a ≤ 5 %"
        );
    }

    #[test]
    fn the_testbed_is_judged_and_repetitions_pair_in_order() {
        let steps = [
            run_step(1, Some(1), None),
            run_step(1, Some(2), None),
            run_step(2, None, Some(StepExpect::Fails(None))),
        ];
        let records = [
            record(1, true, "ok"),
            record(2, false, "refused"),
            record(1, false, "No such container: web2"),
        ];
        let failures = [("broken".to_owned(), "bridge network not found".to_owned())];
        let t = testbed_verdicts(&failures, &steps, &records);
        let ids: Vec<&str> = t.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["vch-broken", "step-1.2"]);
        assert_eq!(t[1].reason, "it failed: No such container: web2");
        assert_eq!(t[0].counter, TESTBED_VCH);
        let judged = step_verdicts(&steps, &records);
        assert_eq!(judged.len(), 1);
        assert!(judged[0].passed, "{judged:?}");

        let mut outcome = RunOutcome {
            meta: crate::schema::Metadata {
                name: "x".into(),
                description: String::new(),
                seed: 1,
                start: crate::schema::StartTime {
                    unix_seconds: 0,
                    rfc3339: "1970-01-01T00:00:00Z".into(),
                },
                duration: std::time::Duration::from_secs(60),
                sample_interval: std::time::Duration::from_secs(20),
            },
            scenario_hash: "h".into(),
            vicbed_version: "0".into(),
            vchs: Vec::new(),
            entities: Vec::new(),
            series: Vec::new(),
            steps: Vec::new(),
            verdicts: Vec::new(),
            runs: Vec::new(),
        };
        assert_eq!(RunStatus::of(&outcome), RunStatus::Passed);
        outcome.verdicts = judged.clone();
        outcome.verdicts[0].passed = false;
        assert_eq!(RunStatus::of(&outcome).exit_code(), 1);
        outcome.verdicts.extend(t);
        assert_eq!(RunStatus::of(&outcome), RunStatus::TestbedFailed);
        assert_eq!(RunStatus::of(&outcome).exit_code(), 3);
    }

    #[test]
    fn values_for_messages() {
        assert_eq!(fmt_value(12000.0), "12000");
        assert_eq!(fmt_value(4.5), "4.5");
        assert_eq!(fmt_value(1.0 / 3.0), "0.333");
    }
}
