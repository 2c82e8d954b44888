//! What a run produced, as plain data: the entities it saw, every metric series it read
//! back with `QueryPerf`, what each step did, and the verdicts. `reports` renders this; it
//! holds nothing that depends on the wall clock or the OS (same seed ⇒ equal outcomes).

use crate::points::Points;
use crate::schema::{EntityKind, Metadata, Stat};

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (the emulator's own calendar code).
pub use vcsim::vmodl::format_rfc3339_seconds as rfc3339;

/// The result of one scenario run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    /// The scenario's metadata (with the seed actually used).
    pub meta: Metadata,
    /// [`crate::scenario_hash`] of the scenario file.
    pub scenario_hash: String,
    /// vicbed's version (`CARGO_PKG_VERSION`).
    pub vicbed_version: String,
    /// The VCHs, in file order.
    pub vchs: Vec<VchRecord>,
    /// Every entity metrics were read for, ordered by (kind, name).
    pub entities: Vec<EntityRecord>,
    /// Every series, ordered by (entity kind, entity name, counter, instance).
    pub series: Vec<Series>,
    /// What each step did, in execution order.
    pub steps: Vec<StepRecord>,
    /// One verdict per expectation, in file order.
    pub verdicts: Vec<Verdict>,
    /// Every container the VCHs still had at the end, by VCH then name ([`crate::runs`]).
    pub runs: Vec<ContainerRun>,
}

impl RunOutcome {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }

    /// The series of `entity` (by kind and name) for `counter`'s aggregate instance (a scan:
    /// code that looks up every container builds a [`SeriesIndex`] once instead).
    pub fn series_of(&self, kind: EntityKind, entity: &str, counter: &str) -> Option<&Series> {
        self.series.iter().find(|s| {
            s.kind == kind && s.entity == entity && s.counter == counter && s.instance.is_empty()
        })
    }
}

/// Series by (kind, entity, counter, instance), built once: reports and verdicts look one up
/// per container and counter, and a scan each time made them quadratic in containers.
pub struct SeriesIndex<'a> {
    by_key: std::collections::HashMap<(EntityKind, &'a str, &'a str, &'a str), &'a Series>,
}

impl<'a> SeriesIndex<'a> {
    /// Indexes `series` (the first of duplicates wins, as a scan would find it).
    pub fn new(series: &'a [Series]) -> SeriesIndex<'a> {
        let mut by_key = std::collections::HashMap::with_capacity(series.len());
        for s in series {
            by_key
                .entry((
                    s.kind,
                    s.entity.as_str(),
                    s.counter.as_str(),
                    s.instance.as_str(),
                ))
                .or_insert(s);
        }
        SeriesIndex { by_key }
    }

    /// The series of (`kind`, `entity`, `counter`, `instance`).
    pub fn get(
        &self,
        kind: EntityKind,
        entity: &str,
        counter: &str,
        instance: &str,
    ) -> Option<&'a Series> {
        self.by_key.get(&(kind, entity, counter, instance)).copied()
    }
}

/// A VCH the run created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VchRecord {
    /// The `[[vch]]` name.
    pub name: String,
    /// The vSphere name (`--name`).
    pub vsphere_name: String,
    /// Its resource pool's CPU limit in MHz (`None`: unlimited).
    pub cpu_limit_mhz: Option<i64>,
    /// Its resource pool's memory limit in MB (`None`: unlimited).
    pub mem_limit_mb: Option<i64>,
    /// TLS mode: `mutual`, `server-only` or `plain`.
    pub tls_mode: String,
}

/// An entity whose metrics were read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityRecord {
    /// What it is (containerVMs are [`EntityKind::Container`], named by container name).
    pub kind: EntityKind,
    /// Name: the container name for containers, else the vSphere name.
    pub name: String,
    /// vSphere display name (for containers: per the name convention).
    pub vsphere_name: String,
    /// MoRef value (`vm-42`, `resgroup-7`).
    pub moref: String,
    /// The `[[vch]]` it belongs to (its pool, appliance or containers), if any.
    pub vch: Option<String>,
}

/// One counter of one entity over time.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Entity kind.
    pub kind: EntityKind,
    /// Entity name (as in [`EntityRecord::name`]).
    pub entity: String,
    /// Dotted counter name (`cpu.ready.summation`).
    pub counter: String,
    /// Instance (`""` is the aggregate; vCPU instances are `"0"`, `"1"`, …).
    pub instance: String,
    /// vSphere unit key (`megaHertz`, `millisecond`, `percent`, `kiloBytes`).
    pub unit: String,
    /// Samples in time order (spooled to disk by a run; see [`crate::points`]).
    pub points: Points,
}

/// How long a container ran, as `docker inspect` tells it at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerRun {
    /// The `[[vch]]` it ran under.
    pub vch: String,
    /// The container name.
    pub name: String,
    /// Image and command (`progrium/stress --cpu 1`).
    pub command: String,
    /// When it started, seconds from the scenario start (None: never started).
    pub started_s: Option<u64>,
    /// When it ended, seconds from the start (None: still running, or never started).
    pub finished_s: Option<u64>,
    /// Seconds from start to end (None unless it ended).
    pub run_s: Option<u64>,
    /// Its exit status (None unless it ended).
    pub exit_code: Option<i64>,
}

/// One sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// Seconds from the scenario start to the end of the sample's interval.
    pub offset_s: u64,
    /// The raw value as `QueryPerf` returned it (percent × 100, KB, ms, MHz).
    pub value: i64,
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    /// 1-based position of the step in the file.
    pub index: usize,
    /// When it ran, seconds from the start.
    pub at_s: u64,
    /// The command as written (`docker run …` on `limited`, `pool vch-limited cpu_limit_mhz=…`).
    pub command: String,
    /// What came back: a container id, a JSON-free summary, or the error message.
    pub result: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// The virtual time its work took, when the testbed measured it (a DCH build's CPU
    /// under the contention model), in ms.
    pub virtual_ms: Option<i64>,
    /// Everything it printed when `result` keeps only a summary (a build's progress), at
    /// most its last [`MAX_STEP_OUTPUT_BYTES`]; what `expect_output` is matched against.
    pub output: String,
}

/// The most of a step's full output a [`StepRecord`] keeps.
pub const MAX_STEP_OUTPUT_BYTES: usize = 64 * 1024;

/// The verdict on one expectation: a metric `[[expect]]`, or a step's `expect`/`expect_error`
/// (then [`Verdict::step`] is set, and `stat`, `counter`, the bounds and `observed` are
/// `last`, `step.outcome`, none and empty).
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The expectation's id (`step-N` for a step's).
    pub id: String,
    /// The step's 1-based index, for a step expectation.
    pub step: Option<usize>,
    /// Human-readable statement, e.g. `avg cpu.ready.summation of container cpu-limited ≥ 12000`.
    pub statement: String,
    /// The statistic.
    pub stat: Stat,
    /// The counter.
    pub counter: String,
    /// Lower bound.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
    /// Observed value per matched entity (after dividing by `relative_to`'s value).
    pub observed: Vec<(String, f64)>,
    /// Whether the bounds held for every matched entity (and at least one matched).
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub reason: String,
}

/// The first difference between two outcomes of one scenario, in reading order: metadata,
/// entities, then the first differing sample (entity, counter, instance, time), then steps
/// and verdicts. `None` when they are equal.
pub fn first_difference(a: &RunOutcome, b: &RunOutcome) -> Option<String> {
    if a.meta != b.meta || a.scenario_hash != b.scenario_hash {
        return Some("the scenario metadata differ".into());
    }
    if a.entities != b.entities {
        let i = a
            .entities
            .iter()
            .zip(&b.entities)
            .position(|(x, y)| x != y)
            .unwrap_or(a.entities.len().min(b.entities.len()));
        return Some(format!(
            "entity #{i} differs: {:?} vs {:?}",
            a.entities.get(i),
            b.entities.get(i)
        ));
    }
    for (x, y) in a.series.iter().zip(&b.series) {
        let label = |s: &Series| {
            let inst = if s.instance.is_empty() {
                String::new()
            } else {
                format!("[{}]", s.instance)
            };
            format!("{} {}{}", s.entity, s.counter, inst)
        };
        if (x.kind, &x.entity, &x.counter, &x.instance)
            != (y.kind, &y.entity, &y.counter, &y.instance)
        {
            return Some(format!("series differ: {} vs {}", label(x), label(y)));
        }
        let (xs, ys) = match (x.points.read(), y.points.read()) {
            (Ok(xs), Ok(ys)) => (xs, ys),
            (Err(e), _) | (_, Err(e)) => {
                return Some(format!("{}: samples cannot be read back: {e}", label(x)));
            }
        };
        for (p, q) in xs.iter().zip(&ys) {
            if p != q {
                return Some(format!(
                    "first differing sample: {} at +{} s: {} vs {} (at +{} s)",
                    label(x),
                    p.offset_s,
                    p.value,
                    q.value,
                    q.offset_s
                ));
            }
        }
        if xs.len() != ys.len() {
            return Some(format!(
                "{}: {} samples vs {}",
                label(x),
                xs.len(),
                ys.len()
            ));
        }
    }
    if a.series.len() != b.series.len() {
        return Some(format!("{} series vs {}", a.series.len(), b.series.len()));
    }
    if a.steps != b.steps {
        let i = a
            .steps
            .iter()
            .zip(&b.steps)
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        return Some(format!(
            "step record #{i} differs: {:?} vs {:?}",
            a.steps.get(i),
            b.steps.get(i)
        ));
    }
    if a.verdicts != b.verdicts {
        return Some("the verdicts differ".into());
    }
    if a.runs != b.runs {
        let i = a
            .runs
            .iter()
            .zip(&b.runs)
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        return Some(format!(
            "container run #{i} differs: {:?} vs {:?}",
            a.runs.get(i),
            b.runs.get(i)
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::StartTime;
    use std::time::Duration;

    fn outcome(values: &[i64]) -> RunOutcome {
        RunOutcome {
            meta: Metadata {
                name: "x".into(),
                description: String::new(),
                seed: 1,
                start: StartTime {
                    unix_seconds: 0,
                    rfc3339: "1970-01-01T00:00:00Z".into(),
                },
                duration: Duration::from_secs(60),
                sample_interval: Duration::from_secs(20),
            },
            scenario_hash: "h".into(),
            vicbed_version: "0".into(),
            vchs: Vec::new(),
            entities: Vec::new(),
            series: vec![Series {
                kind: EntityKind::Container,
                entity: "c".into(),
                counter: "cpu.ready.summation".into(),
                instance: String::new(),
                unit: "millisecond".into(),
                points: values
                    .iter()
                    .enumerate()
                    .map(|(i, &value)| Point {
                        offset_s: 20 * (i as u64 + 1),
                        value,
                    })
                    .collect(),
            }],
            steps: Vec::new(),
            verdicts: Vec::new(),
            runs: Vec::new(),
        }
    }

    #[test]
    fn names_the_first_differing_sample() {
        let a = outcome(&[1, 2, 3]);
        assert_eq!(first_difference(&a, &a.clone()), None);
        assert_eq!(
            first_difference(&a, &outcome(&[1, 5, 7])).as_deref(),
            Some("first differing sample: c cpu.ready.summation at +40 s: 2 vs 5 (at +40 s)")
        );
        assert_eq!(
            first_difference(&a, &outcome(&[1, 2])).as_deref(),
            Some("c cpu.ready.summation: 3 samples vs 2")
        );
    }
}
