//! Comparing two runs by their `summary.json`: the overall result, each expectation's verdict
//! and observed values, failed steps, and the key numbers of every entity (%RDY, %MLMTD, CPU
//! demand and usage, largest balloon and swap, memory latency). `vicbed diff` prints
//! [`Comparison::table`] and exits 0 when nothing differs, 1 when something does.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::names::fmt_num;

/// Why a file cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// Not JSON, or not the shape of a vicbed `summary.json`.
    #[error("not a vicbed summary.json: {0}")]
    NotASummary(#[from] serde_json::Error),
}

/// The parts of a `summary.json` a comparison reads.
#[derive(Clone, Debug, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// The scenario file's hash.
    pub scenario_hash: String,
    /// Seconds per sample.
    pub sample_interval_s: u64,
    /// Whether every expectation held.
    pub passed: bool,
    entities: Vec<Entity>,
    verdicts: Vec<VerdictDoc>,
    #[serde(default)]
    steps: Vec<StepDoc>,
}

#[derive(Clone, Debug, Deserialize)]
struct Entity {
    kind: String,
    name: String,
    #[serde(default)]
    stats: BTreeMap<String, Stats>,
}

#[derive(Clone, Debug, Deserialize)]
struct Stats {
    avg: Option<f64>,
    max: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
struct VerdictDoc {
    id: String,
    passed: bool,
    #[serde(default)]
    observed: Vec<Observed>,
}

#[derive(Clone, Debug, Deserialize)]
struct Observed {
    entity: String,
    value: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
struct StepDoc {
    index: usize,
    ok: bool,
}

/// Parses a `summary.json`'s text.
pub fn parse_summary(text: &str) -> Result<Summary, DiffError> {
    Ok(serde_json::from_str(text)?)
}

/// One compared value.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffRow {
    /// `result`, `verdict`, `observed`, `steps` or `key`.
    pub section: &'static str,
    /// What is compared (`limited-ready · cpu-limited`, `container web1 · %RDY`).
    pub item: String,
    /// Run A's value (`–`: absent).
    pub a: String,
    /// Run B's value.
    pub b: String,
    /// Whether they differ (beyond the tolerance, for numbers).
    pub differs: bool,
}

/// Two runs compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// `scenario seed hash` of A and of B, for the heading.
    pub a_label: String,
    /// Same for B.
    pub b_label: String,
    /// Every compared value, in order: result, verdicts, steps, key numbers.
    pub rows: Vec<DiffRow>,
    /// The tolerance used, % of the larger magnitude.
    pub tolerance_pct: f64,
}

impl Comparison {
    /// Whether any compared value differs.
    pub fn differs(&self) -> bool {
        self.rows.iter().any(|r| r.differs)
    }

    /// The comparison as a text table: every row when `all`, else only those that differ;
    /// then a closing line counting them.
    pub fn table(&self, all: bool) -> String {
        let shown: Vec<&DiffRow> = self.rows.iter().filter(|r| all || r.differs).collect();
        let width = |f: &dyn Fn(&DiffRow) -> usize, head: usize| {
            shown.iter().map(|r| f(r)).fold(head, usize::max)
        };
        let chars = |s: &str| s.chars().count();
        let wi = width(&|r| chars(&r.item), 4);
        let wa = width(&|r| chars(&r.a), 1);
        let wb = width(&|r| chars(&r.b), 1);
        let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(chars(s))));
        let mut out = format!("A: {}\nB: {}\n", self.a_label, self.b_label);
        if !shown.is_empty() {
            out.push_str(&format!(
                "{} {} {} B\n",
                pad("section", 8),
                pad("item", wi),
                pad("A", wa),
            ));
            for r in &shown {
                out.push_str(&format!(
                    "{} {} {} {} {}\n",
                    pad(r.section, 8),
                    pad(&r.item, wi),
                    pad(&r.a, wa),
                    pad(&r.b, wb),
                    if r.differs { "≠" } else { "=" }
                ));
            }
        }
        let n = self.rows.iter().filter(|r| r.differs).count();
        let tol = if self.tolerance_pct > 0.0 {
            format!(
                " (numbers within {} % count as equal)",
                fmt_num(self.tolerance_pct)
            )
        } else {
            String::new()
        };
        out.push_str(&if n == 0 {
            format!(
                "equal: all {} compared values are the same{tol}\n",
                self.rows.len()
            )
        } else {
            format!(
                "different: {n} of {} compared values differ{tol}\n",
                self.rows.len()
            )
        });
        out
    }
}

fn pass_fail(p: Option<bool>) -> String {
    match p {
        Some(true) => "PASS".to_owned(),
        Some(false) => "FAIL".to_owned(),
        None => "–".to_owned(),
    }
}

fn number(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_else(|| "–".to_owned())
}

/// Whether two numbers differ by more than `tolerance_pct` % of the larger magnitude
/// (missing on one side: they differ; missing on both: they do not).
fn numbers_differ(a: Option<f64>, b: Option<f64>, tolerance_pct: f64) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => {
            if x.is_nan() || y.is_nan() {
                return x.is_nan() != y.is_nan();
            }
            // Compared as printed, so a row never shows two equal texts as different.
            (x - y).abs() > tolerance_pct / 100.0 * x.abs().max(y.abs()) && fmt_num(x) != fmt_num(y)
        }
        (None, None) => false,
        _ => true,
    }
}

/// The key numbers of an entity: (label, value in display units).
fn key_numbers(e: &Entity, interval_ms: f64) -> Vec<(&'static str, Option<f64>)> {
    let avg = |c: &str| e.stats.get(c).and_then(|s| s.avg);
    let max = |c: &str| e.stats.get(c).and_then(|s| s.max);
    let share = |v: Option<f64>| v.map(|v| v * 100.0 / interval_ms);
    vec![
        ("%RDY", share(avg("cpu.ready.summation"))),
        ("%MLMTD", share(avg("cpu.maxlimited.summation"))),
        ("avg CPU demand (MHz)", avg("cpu.demand.average")),
        ("avg CPU usage (MHz)", avg("cpu.usagemhz.average")),
        (
            "max balloon (MB)",
            max("mem.vmmemctl.average").map(|v| v / 1024.0),
        ),
        (
            "max swapped (MB)",
            max("mem.swapped.average").map(|v| v / 1024.0),
        ),
        (
            "avg memory latency (%)",
            avg("mem.latency.average").map(|v| v / 100.0),
        ),
    ]
}

/// Keys of `a` in order, then those only in `b`.
fn union<'x, T>(a: &'x [T], b: &'x [T], key: impl Fn(&T) -> String) -> Vec<String> {
    let mut out: Vec<String> = a.iter().map(&key).collect();
    for k in b.iter().map(&key) {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// Compares run `a` with run `b`; numbers within `tolerance_pct` % of the larger magnitude
/// count as equal.
pub fn compare(a: &Summary, b: &Summary, tolerance_pct: f64) -> Comparison {
    let label = |s: &Summary| {
        format!(
            "{} (seed {}, scenario hash {})",
            s.scenario, s.seed, s.scenario_hash
        )
    };
    let mut rows = vec![DiffRow {
        section: "result",
        item: "every expectation held".to_owned(),
        a: pass_fail(Some(a.passed)),
        b: pass_fail(Some(b.passed)),
        differs: a.passed != b.passed,
    }];
    for id in union(&a.verdicts, &b.verdicts, |v| v.id.clone()) {
        let va = a.verdicts.iter().find(|v| v.id == id);
        let vb = b.verdicts.iter().find(|v| v.id == id);
        let (pa, pb) = (va.map(|v| v.passed), vb.map(|v| v.passed));
        rows.push(DiffRow {
            section: "verdict",
            item: id.clone(),
            a: pass_fail(pa),
            b: pass_fail(pb),
            differs: pa != pb,
        });
        let empty = Vec::new();
        let (oa, ob) = (
            va.map_or(&empty, |v| &v.observed),
            vb.map_or(&empty, |v| &v.observed),
        );
        for entity in union(oa, ob, |o| o.entity.clone()) {
            let x = oa.iter().find(|o| o.entity == entity).and_then(|o| o.value);
            let y = ob.iter().find(|o| o.entity == entity).and_then(|o| o.value);
            rows.push(DiffRow {
                section: "observed",
                item: format!("{id} · {entity}"),
                a: number(x),
                b: number(y),
                differs: numbers_differ(x, y, tolerance_pct),
            });
        }
    }
    let failed = |s: &Summary| {
        let v: Vec<String> = s
            .steps
            .iter()
            .filter(|s| !s.ok)
            .map(|s| format!("#{}", s.index))
            .collect();
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(" ")
        }
    };
    let (fa, fb) = (failed(a), failed(b));
    rows.push(DiffRow {
        section: "steps",
        item: "failed steps".to_owned(),
        differs: fa != fb,
        a: fa,
        b: fb,
    });
    let ms = |s: &Summary| (s.sample_interval_s.max(1) * 1000) as f64;
    let entity_key = |e: &Entity| format!("{} {}", e.kind, e.name);
    for key in union(&a.entities, &b.entities, entity_key) {
        let ea = a.entities.iter().find(|e| entity_key(e) == key);
        let eb = b.entities.iter().find(|e| entity_key(e) == key);
        let ka = ea.map(|e| key_numbers(e, ms(a))).unwrap_or_default();
        let kb = eb.map(|e| key_numbers(e, ms(b))).unwrap_or_default();
        let labels = union(&ka, &kb, |(l, _)| (*l).to_owned());
        for l in labels {
            let x = ka.iter().find(|(k, _)| *k == l).and_then(|(_, v)| *v);
            let y = kb.iter().find(|(k, _)| *k == l).and_then(|(_, v)| *v);
            if x.is_none() && y.is_none() {
                continue;
            }
            rows.push(DiffRow {
                section: "key",
                item: format!("{key} · {l}"),
                a: number(x),
                b: number(y),
                differs: numbers_differ(x, y, tolerance_pct),
            });
        }
    }
    Comparison {
        a_label: label(a),
        b_label: label(b),
        rows,
        tolerance_pct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance() {
        assert!(!numbers_differ(Some(100.0), Some(100.0), 0.0));
        assert!(numbers_differ(Some(100.0), Some(101.0), 0.0));
        assert!(!numbers_differ(Some(100.0), Some(101.0), 1.0));
        assert!(numbers_differ(Some(1.0), None, 50.0));
        assert!(!numbers_differ(None, None, 0.0));
        // Equal as printed (three decimals) is equal.
        assert!(!numbers_differ(Some(1.00001), Some(1.00002), 0.0));
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(parse_summary("{").is_err());
        assert!(parse_summary("{\"scenario\": 1}").is_err());
        assert!(parse_summary("[]").is_err());
    }
}
