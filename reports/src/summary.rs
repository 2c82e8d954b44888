//! `summary.json`: the run in one pretty-printed JSON document with a fixed key order
//! (struct field order; the per-entity `stats` map is sorted by key).

use std::collections::BTreeMap;

use scenarios::RunOutcome;
use serde::Serialize;

use crate::ReportError;
use crate::stats::Summary;

#[derive(Serialize)]
struct Doc<'a> {
    scenario: &'a str,
    description: &'a str,
    seed: u64,
    scenario_hash: &'a str,
    vicbed_version: &'a str,
    start: &'a str,
    duration_s: u64,
    sample_interval_s: u64,
    passed: bool,
    vchs: Vec<Vch<'a>>,
    entities: Vec<Entity<'a>>,
    verdicts: Vec<Verdict<'a>>,
    steps: Vec<Step<'a>>,
}

#[derive(Serialize)]
struct Vch<'a> {
    name: &'a str,
    vsphere_name: &'a str,
    /// `null`: unlimited.
    cpu_limit_mhz: Option<i64>,
    /// `null`: unlimited.
    mem_limit_mb: Option<i64>,
    tls_mode: &'a str,
}

#[derive(Serialize)]
struct Entity<'a> {
    kind: &'static str,
    name: &'a str,
    vsphere_name: &'a str,
    moref: &'a str,
    vch: Option<&'a str>,
    stats: BTreeMap<String, Stats<'a>>,
}

#[derive(Serialize)]
struct Stats<'a> {
    unit: &'a str,
    avg: Option<f64>,
    min: Option<i64>,
    max: Option<i64>,
    p95: Option<i64>,
    last: Option<i64>,
    count: usize,
}

#[derive(Serialize)]
struct Verdict<'a> {
    id: &'a str,
    statement: &'a str,
    stat: &'static str,
    counter: &'a str,
    min: Option<f64>,
    max: Option<f64>,
    observed: Vec<Observed<'a>>,
    passed: bool,
    reason: &'a str,
}

#[derive(Serialize)]
struct Observed<'a> {
    entity: &'a str,
    /// Non-finite values serialize as `null`.
    value: f64,
}

#[derive(Serialize)]
struct Step<'a> {
    index: usize,
    at_s: u64,
    command: &'a str,
    result: &'a str,
    ok: bool,
}

/// The key of a series in an entity's `stats`: the counter for the aggregate instance,
/// `counter:instance` for the others.
pub fn stats_key(counter: &str, instance: &str) -> String {
    if instance.is_empty() {
        counter.to_owned()
    } else {
        format!("{counter}:{instance}")
    }
}

/// `summary.json` (pretty-printed, ending in a newline). Keys, in order: `scenario`,
/// `description`, `seed`, `scenario_hash`, `vicbed_version`, `start`, `duration_s`,
/// `sample_interval_s`, `passed`, `vchs`, `entities` (each with `stats` per counter — see
/// [`stats_key`] — holding `unit`, `avg`, `min`, `max`, `p95`, `last`, `count` of the raw
/// values), `verdicts` and `steps`.
///
/// Serializing these plain types cannot fail; should it ever, the document is
/// `{"error": "…"}` ([`crate::render`] reports the error instead).
pub fn summary_json(outcome: &RunOutcome) -> String {
    try_summary_json(outcome).unwrap_or_else(|e| {
        let mut m = serde_json::Map::new();
        m.insert("error".to_owned(), serde_json::Value::String(e.to_string()));
        format!("{:#}\n", serde_json::Value::Object(m))
    })
}

/// [`summary_json`], with a serialization failure as an error.
pub(crate) fn try_summary_json(outcome: &RunOutcome) -> Result<String, ReportError> {
    let mut s = serde_json::to_string_pretty(&doc(outcome))?;
    s.push('\n');
    Ok(s)
}

fn doc(o: &RunOutcome) -> Doc<'_> {
    Doc {
        scenario: &o.meta.name,
        description: &o.meta.description,
        seed: o.meta.seed,
        scenario_hash: &o.scenario_hash,
        vicbed_version: &o.vicbed_version,
        start: &o.meta.start.rfc3339,
        duration_s: o.meta.duration.as_secs(),
        sample_interval_s: o.meta.sample_interval.as_secs(),
        passed: o.passed(),
        vchs: o
            .vchs
            .iter()
            .map(|v| Vch {
                name: &v.name,
                vsphere_name: &v.vsphere_name,
                cpu_limit_mhz: v.cpu_limit_mhz,
                mem_limit_mb: v.mem_limit_mb,
                tls_mode: &v.tls_mode,
            })
            .collect(),
        entities: o
            .entities
            .iter()
            .map(|e| Entity {
                kind: e.kind.as_str(),
                name: &e.name,
                vsphere_name: &e.vsphere_name,
                moref: &e.moref,
                vch: e.vch.as_deref(),
                stats: o
                    .series
                    .iter()
                    .filter(|s| s.kind == e.kind && s.entity == e.name)
                    .map(|s| {
                        let sum = Summary::of_series(&s.points);
                        let stats = Stats {
                            unit: &s.unit,
                            avg: sum.avg,
                            min: sum.min,
                            max: sum.max,
                            p95: sum.p95,
                            last: sum.last,
                            count: sum.count,
                        };
                        (stats_key(&s.counter, &s.instance), stats)
                    })
                    .collect(),
            })
            .collect(),
        verdicts: o
            .verdicts
            .iter()
            .map(|v| Verdict {
                id: &v.id,
                statement: &v.statement,
                stat: v.stat.as_str(),
                counter: &v.counter,
                min: v.min,
                max: v.max,
                observed: v
                    .observed
                    .iter()
                    .map(|(entity, value)| Observed {
                        entity,
                        value: *value,
                    })
                    .collect(),
                passed: v.passed,
                reason: &v.reason,
            })
            .collect(),
        steps: o
            .steps
            .iter()
            .map(|s| Step {
                index: s.index,
                at_s: s.at_s,
                command: &s.command,
                result: &s.result,
                ok: s.ok,
            })
            .collect(),
    }
}
