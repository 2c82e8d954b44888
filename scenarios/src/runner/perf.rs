//! Reading metrics back as a monitoring tool does: the counter catalogue from
//! `PerformanceManager.perfCounter`, the entities from a container view, then `QueryPerf`
//! with one `PerfQuerySpec` per entity for the samples since the last read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use vcsim::vmodl::{DataObject, MoRef, Value};
use vic::vsphere::{Client, ObjectContent};

use super::RunError;
use crate::outcome::Point;
use crate::points::{Collecting, Points, Spool};
use crate::schema::{Action, DockerVerb, EntityKind, Step};

/// Counters read for VMs and containerVMs: the vCenter chart set of the reports.
pub const VM_COUNTERS: &[&str] = &[
    "cpu.demand.average",
    "cpu.entitlement.latest",
    "cpu.usagemhz.average",
    "cpu.ready.summation",
    "cpu.maxlimited.summation",
    "cpu.costop.summation",
    "mem.granted.average",
    "mem.consumed.average",
    "mem.active.average",
    "mem.vmmemctl.average",
    "mem.swapped.average",
    "mem.compressed.average",
    "mem.latency.average",
];

/// Counters read for resource pools.
pub const POOL_COUNTERS: &[&str] = &[
    "cpu.demand.average",
    "cpu.entitlement.latest",
    "cpu.usagemhz.average",
    "mem.granted.average",
    "mem.consumed.average",
    "mem.active.average",
    "mem.vmmemctl.average",
    "mem.swapped.average",
];

/// Counters read for hosts.
pub const HOST_COUNTERS: &[&str] = &[
    "cpu.demand.average",
    "cpu.usagemhz.average",
    "mem.granted.average",
    "mem.consumed.average",
    "mem.vmmemctl.average",
    "mem.swapped.average",
];

/// The counter catalogue: dotted name → (key, unit).
pub struct Catalogue {
    by_name: BTreeMap<String, (i32, String)>,
    by_key: BTreeMap<i32, String>,
}

impl Catalogue {
    /// Reads `perfCounter` from the PerformanceManager.
    pub async fn read(client: &Client, perf_manager: &MoRef) -> Result<Catalogue, RunError> {
        let counters = client
            .get_property(perf_manager, "perfCounter")
            .await?
            .ok_or_else(|| RunError::Protocol("PerformanceManager has no perfCounter".into()))?;
        let mut by_name = BTreeMap::new();
        let mut by_key = BTreeMap::new();
        for c in vic::vsphere::perf::counter_infos(&counters) {
            // A counter without a unit could not be shown or bounded.
            let Some(unit) = c.unit else { continue };
            by_key.insert(c.key, c.dotted.clone());
            by_name.insert(c.dotted, (c.key, unit));
        }
        Ok(Catalogue { by_name, by_key })
    }

    /// The key and unit of a dotted counter name.
    pub fn get(&self, dotted: &str) -> Option<(i32, &str)> {
        self.by_name.get(dotted).map(|(k, u)| (*k, u.as_str()))
    }

    /// Whether the catalogue has `dotted`.
    pub fn contains(&self, dotted: &str) -> bool {
        self.by_name.contains_key(dotted)
    }
}

/// An entity as discovered over SOAP.
#[derive(Clone, Debug)]
pub struct Found {
    /// Kind (containerVMs are recognised by VIC's container id key).
    pub kind: EntityKind,
    /// Name (container name for containers).
    pub name: String,
    /// vSphere name.
    pub vsphere_name: String,
    /// The object.
    pub moref: MoRef,
    /// The resource pool a VM is in.
    pub pool: Option<String>,
}

/// The extraConfig paths discovery reads: a containerVM's id and docker name only. Asking
/// for these keys (`config.extraConfig["key"].value`) rather than the whole extraConfig keeps
/// a discovery's answer to a few hundred bytes per VM whatever guestinfo VIC wrote.
fn container_paths() -> [String; 2] {
    [
        vic::guestinfo::container::ID,
        vic::guestinfo::container::NAME,
    ]
    .map(|key| format!("config.extraConfig[\"{key}\"].value"))
}

/// Every host, resource pool and VM below the root folder.
pub async fn discover(client: &Client) -> Result<Vec<Found>, RunError> {
    let root = client.service_content().root_folder.clone();
    let mut found = Vec::new();
    for oc in client
        .view_contents(&root, &["HostSystem"], true, &["name"])
        .await?
    {
        found.push(simple(EntityKind::Host, &oc));
    }
    for oc in client
        .view_contents(&root, &["ResourcePool"], true, &["name"])
        .await?
    {
        found.push(simple(EntityKind::Pool, &oc));
    }
    let [id_path, name_path] = container_paths();
    for oc in client
        .view_contents(
            &root,
            &["VirtualMachine"],
            true,
            &["name", "resourcePool", &id_path, &name_path],
        )
        .await?
    {
        let vsphere_name = oc.text("name").unwrap_or_default().to_owned();
        let text_of = |path: &str| oc.get(path).and_then(any_text).map(str::to_owned);
        let container = text_of(&id_path)
            .filter(|id| !id.is_empty())
            .and_then(|_| text_of(&name_path));
        let (kind, name) = match container {
            Some(n) => (EntityKind::Container, n),
            None => (EntityKind::Vm, vsphere_name.clone()),
        };
        found.push(Found {
            kind,
            name,
            vsphere_name,
            moref: oc.obj.clone(),
            pool: oc
                .get("resourcePool")
                .and_then(Value::as_moref)
                .map(|m| m.value.clone()),
        });
    }
    Ok(found)
}

/// The text of an `xsd:anyType` value (an `OptionValue.value`), however deeply wrapped.
fn any_text(v: &Value) -> Option<&str> {
    match v {
        Value::Any(inner) => any_text(inner),
        other => other.as_str(),
    }
}

fn simple(kind: EntityKind, oc: &ObjectContent) -> Found {
    let name = oc.text("name").unwrap_or_default().to_owned();
    Found {
        kind,
        vsphere_name: name.clone(),
        name,
        moref: oc.obj.clone(),
        pool: None,
    }
}

/// Whether the samples must be read right before `step`: only when the step may make an
/// entity disappear (its samples go with it). Steps that only add or leave things alone —
/// `docker run` above all, one per container — need no read: what they create has no sample
/// yet, and the regular reads (every [`super::MAX_READ_GAP_S`] and at the end) collect it.
/// Reading before every step made a run's cost grow with steps × entities, that is with the
/// square of the containers of a ramp.
pub fn read_before(step: &Step) -> bool {
    match &step.action {
        // A DCH's commands touch no VM of the VCH's (a build moves the clock itself, and
        // the runner reads before moving it).
        Action::Docker(d) if d.dch.is_some() => true,
        Action::Docker(d) => !matches!(
            d.verb,
            DockerVerb::Run
                | DockerVerb::Start
                | DockerVerb::Rename
                | DockerVerb::Pull
                | DockerVerb::Ps
                | DockerVerb::Inspect
                | DockerVerb::Logs
                | DockerVerb::Create
                | DockerVerb::Exec
                | DockerVerb::Volume
                | DockerVerb::Tag
                | DockerVerb::Images
                | DockerVerb::Login
        ),
        Action::Pool(_) => false,
        // Powering a containerVM off ends its container, which a future `--rm` may remove.
        Action::Power(_) => true,
        // A host change moves or stops VMs; it removes none.
        Action::Host(_) => false,
        Action::Http(_) => false,
    }
}

/// A series' key as read: (entity MoRef value, counter, instance).
pub type SeriesKey = (String, String, String);

/// The samples read so far, per series, spooled to disk (see [`crate::points`]) so memory
/// does not grow with the simulated duration.
pub struct Samples {
    spool: Arc<Spool>,
    start_ms: i64,
    series: BTreeMap<SeriesKey, Collecting>,
}

impl Samples {
    /// No samples yet; samples at or before `start_ms` will be dropped.
    pub fn new(start_ms: i64) -> Result<Samples, RunError> {
        Ok(Samples {
            spool: Spool::new().map_err(RunError::Spool)?,
            start_ms,
            series: BTreeMap::new(),
        })
    }

    /// The series of `key` (created empty if new).
    fn series(&mut self, key: SeriesKey) -> &mut Collecting {
        self.series.entry(key).or_insert_with(Collecting::new)
    }

    /// Every series with its samples, by key.
    pub fn finish(self) -> Result<BTreeMap<SeriesKey, Points>, RunError> {
        let spool = self.spool;
        self.series
            .into_iter()
            .map(|(k, c)| Ok((k, c.finish(&spool).map_err(RunError::Spool)?)))
            .collect()
    }
}

/// Entities per `QueryPerf` call. One call for every entity made the answer — and the
/// memory holding it as text, parsed elements and values — grow with the containers; in
/// batches a read holds at most this many entities' samples at once.
pub const QUERY_BATCH_ENTITIES: usize = 50;

/// `QueryPerf` for `metrics[i]` of `entities[i]`, samples after `after_ms` up to `until_ms`,
/// appended to `into`, [`QUERY_BATCH_ENTITIES`] entities per call. The answers are asked in
/// `PerfFormat` `csv` (`PerfEntityMetricCSV`), as collectors that read many entities do: one
/// text per series instead of an element per sample, the same values.
pub async fn query(
    client: &Client,
    perf_manager: &MoRef,
    catalogue: &Catalogue,
    requests: &[(MoRef, BTreeSet<(String, String)>)],
    after_ms: i64,
    until_ms: i64,
    into: &mut Samples,
) -> Result<(), RunError> {
    let asked = with_metrics(requests);
    for batch in asked.chunks(QUERY_BATCH_ENTITIES) {
        let results =
            query_batch(client, perf_manager, catalogue, batch, after_ms, until_ms).await?;
        for r in &results {
            store_entity_metric(r, catalogue, into)?;
        }
    }
    Ok(())
}

/// As [`query`], answering the series instead of storing them (the live console keeps its
/// own rolling window).
pub async fn query_series(
    client: &Client,
    perf_manager: &MoRef,
    catalogue: &Catalogue,
    requests: &[(MoRef, BTreeSet<(String, String)>)],
    after_ms: i64,
    until_ms: i64,
) -> Result<Vec<AnsweredSeries>, RunError> {
    let mut out = Vec::new();
    let asked = with_metrics(requests);
    for batch in asked.chunks(QUERY_BATCH_ENTITIES) {
        let results =
            query_batch(client, perf_manager, catalogue, batch, after_ms, until_ms).await?;
        for r in &results {
            out.extend(entity_metric_series(r, catalogue));
        }
    }
    Ok(out)
}

/// The requests that ask for any metric: batches are cut after dropping the empty ones, so
/// a call carries [`QUERY_BATCH_ENTITIES`] entities that answer.
fn with_metrics(
    requests: &[(MoRef, BTreeSet<(String, String)>)],
) -> Vec<&(MoRef, BTreeSet<(String, String)>)> {
    requests.iter().filter(|(_, m)| !m.is_empty()).collect()
}

/// One `QueryPerf` call for `batch`.
async fn query_batch(
    client: &Client,
    perf_manager: &MoRef,
    catalogue: &Catalogue,
    batch: &[&(MoRef, BTreeSet<(String, String)>)],
    after_ms: i64,
    until_ms: i64,
) -> Result<Vec<Value>, RunError> {
    let specs: Vec<Value> = batch
        .iter()
        .map(|(entity, metrics)| {
            let ids = metrics
                .iter()
                .filter_map(|(counter, instance)| {
                    let (key, _) = catalogue.get(counter)?;
                    Some(
                        DataObject::new("PerfMetricId")
                            .with("counterId", Value::Int(key))
                            .with("instance", Value::str(instance.as_str()))
                            .into_value(),
                    )
                })
                .collect();
            DataObject::new("PerfQuerySpec")
                .with("entity", Value::moref(entity))
                .with("startTime", Value::DateTime(after_ms))
                .with("endTime", Value::DateTime(until_ms))
                .with("metricId", Value::array("PerfMetricId", ids))
                .with("intervalId", Value::Int(20))
                .with("format", Value::str("csv"))
                .into_value()
        })
        .collect();
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(client
        .call_list(
            "QueryPerf",
            perf_manager,
            &[("querySpec", Value::array("PerfQuerySpec", specs))],
        )
        .await?)
}

/// One series of a `QueryPerf` answer: its key and its `(timestamp ms, value)` samples
/// (`None` where the server had no value).
pub type AnsweredSeries = (SeriesKey, Vec<(i64, Option<i64>)>);

/// The series of one `PerfEntityMetricCSV` (or `PerfEntityMetric`), with counters named
/// from `catalogue` (series of counters it does not know are left out).
pub fn entity_metric_series(r: &Value, catalogue: &Catalogue) -> Vec<AnsweredSeries> {
    let Some(m) = vic::vsphere::perf::entity_metric(r) else {
        return Vec::new();
    };
    let times: Vec<i64> = m
        .samples
        .iter()
        .map(|s| s.time_ms.unwrap_or(i64::MIN))
        .collect();
    m.series
        .into_iter()
        .filter_map(|series| {
            let counter = catalogue.by_key.get(&series.counter_id)?;
            Some((
                (m.entity.value.clone(), counter.clone(), series.instance),
                times.iter().copied().zip(series.values).collect(),
            ))
        })
        .collect()
}

/// Appends the samples of one `PerfEntityMetricCSV` (or `PerfEntityMetric`) to `into`.
fn store_entity_metric(
    r: &Value,
    catalogue: &Catalogue,
    into: &mut Samples,
) -> Result<(), RunError> {
    for (key, samples) in entity_metric_series(r, catalogue) {
        let start_ms = into.start_ms;
        let spool = Arc::clone(&into.spool);
        let out = into.series(key);
        for (t, v) in samples {
            // Samples up to the start belong to no interval of the run.
            if let (Some(v), true) = (v, t > start_ms) {
                let offset_s = u64::try_from((t - start_ms) / 1000).unwrap_or(0);
                // A later read never repeats a sample (startTime is exclusive), but the
                // series keeps itself strictly increasing in time regardless.
                out.push(&spool, Point { offset_s, value: v })
                    .map_err(RunError::Spool)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DockerCommand, PoolChange, PowerChange};
    use std::time::Duration;

    fn docker(words: &str) -> Step {
        let argv: Vec<String> = words.split(' ').map(str::to_owned).collect();
        Step {
            index: 1,
            repetition: None,
            at: Duration::ZERO,
            action: Action::Docker(DockerCommand {
                vch: "v".into(),
                dch: None,
                verb: DockerVerb::parse(&argv[0]).expect("verb"),
                argv,
            }),
            expect: None,
            checks: Default::default(),
        }
    }

    #[test]
    fn only_steps_that_may_remove_an_entity_are_read_before() {
        for adds in [
            "run -d busybox",
            "start c1",
            "rename c1 c2",
            "pull busybox",
            "ps",
            "inspect c1",
            "logs c1",
        ] {
            assert!(!read_before(&docker(adds)), "{adds}");
        }
        for removes in ["rm -f c1", "stop c1", "kill c1", "restart c1", "wait c1"] {
            assert!(read_before(&docker(removes)), "{removes}");
        }
        let mut pool = docker("ps");
        pool.action = Action::Pool(PoolChange {
            name: "p".into(),
            cpu_limit_mhz: Some(100),
            mem_limit_mb: None,
            cpu_reservation_mhz: None,
            mem_reservation_mb: None,
            cpu_shares: None,
            mem_shares: None,
            expandable: None,
        });
        assert!(!read_before(&pool));
        pool.action = Action::Power(PowerChange {
            vm: "web".into(),
            on: false,
        });
        assert!(read_before(&pool));
    }

    const T0_MS: i64 = 1_506_931_200_000; // 2017-10-02T08:00:00Z

    fn catalogue() -> Catalogue {
        let mut by_name = BTreeMap::new();
        let mut by_key = BTreeMap::new();
        for (key, name) in [(6, "cpu.usagemhz.average"), (12, "cpu.ready.summation")] {
            by_name.insert(name.to_owned(), (key, "x".to_owned()));
            by_key.insert(key, name.to_owned());
        }
        Catalogue { by_name, by_key }
    }

    fn id(counter: i32, instance: &str) -> Value {
        DataObject::new("PerfMetricId")
            .with("counterId", Value::Int(counter))
            .with("instance", Value::str(instance))
            .into_value()
    }

    /// The same two samples of two series (one with a missing value), as vCenter writes
    /// them in each `PerfFormat`.
    fn both_formats() -> [Value; 2] {
        let vm = MoRef::new("VirtualMachine", "vm-7");
        let times = [T0_MS + 20_000, T0_MS + 40_000];
        let values: [[i64; 2]; 2] = [[640, 1800], [-1, 15_000]];
        let normal = DataObject::new("PerfEntityMetric")
            .with("entity", Value::moref(&vm))
            .with(
                "sampleInfo",
                Value::array(
                    "PerfSampleInfo",
                    times
                        .iter()
                        .map(|&t| {
                            DataObject::new("PerfSampleInfo")
                                .with("timestamp", Value::DateTime(t))
                                .with("interval", Value::Int(20))
                                .into_value()
                        })
                        .collect(),
                ),
            )
            .with(
                "value",
                Value::array(
                    "PerfMetricSeries",
                    [(6, ""), (12, "0")]
                        .iter()
                        .zip(values)
                        .map(|((c, i), v)| {
                            DataObject::new("PerfMetricIntSeries")
                                .with("id", id(*c, i))
                                .with("value", Value::array("long", v.map(Value::Long).to_vec()))
                                .into_value()
                        })
                        .collect(),
                ),
            )
            .into_value();
        let csv = DataObject::new("PerfEntityMetricCSV")
            .with("entity", Value::moref(&vm))
            .with(
                "sampleInfoCSV",
                Value::str("20,2017-10-02T08:00:20Z,20,2017-10-02T08:00:40Z"),
            )
            .with(
                "value",
                Value::array(
                    "PerfMetricSeriesCSV",
                    vec![
                        DataObject::new("PerfMetricSeriesCSV")
                            .with("id", id(6, ""))
                            .with("value", Value::str("640,1800"))
                            .into_value(),
                        DataObject::new("PerfMetricSeriesCSV")
                            .with("id", id(12, "0"))
                            .with("value", Value::str("-1,15000"))
                            .into_value(),
                    ],
                ),
            )
            .into_value();
        [normal, csv]
    }

    #[test]
    fn csv_answers_give_the_samples_normal_answers_give() {
        let read = |metric: &Value| {
            let mut samples = Samples::new(T0_MS).expect("spool");
            store_entity_metric(metric, &catalogue(), &mut samples).expect("store");
            samples
                .finish()
                .expect("finish")
                .into_iter()
                .map(|(k, p)| (k, p.read().expect("read")))
                .collect::<Vec<_>>()
        };
        let [normal, csv] = both_formats();
        let from_normal = read(&normal);
        assert_eq!(read(&csv), from_normal);
        let p = |offset_s, value| Point { offset_s, value };
        assert_eq!(
            from_normal,
            vec![
                (
                    ("vm-7".into(), "cpu.ready.summation".into(), "0".into()),
                    vec![p(20, -1), p(40, 15_000)]
                ),
                (
                    ("vm-7".into(), "cpu.usagemhz.average".into(), String::new()),
                    vec![p(20, 640), p(40, 1800)]
                ),
            ]
        );
    }
}
