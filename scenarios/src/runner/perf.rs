//! Reading metrics back as a monitoring tool does: the counter catalogue from
//! `PerformanceManager.perfCounter`, the entities from a container view, then `QueryPerf`
//! with one `PerfQuerySpec` per entity for the samples since the last read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use vcsim::vmodl::{DataObject, MoRef, Value};
use vic::vsphere::{Client, ObjectContent, list as items, option_value};

use super::RunError;
use crate::outcome::Point;
use crate::points::{Collecting, Points, Spool};
use crate::schema::EntityKind;

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
        for c in counters.items() {
            let key = c.field("key").and_then(Value::as_i64);
            let text = |path: [&str; 2]| {
                c.field(path[0])
                    .and_then(|v| v.field(path[1]))
                    .and_then(Value::as_str)
            };
            let group = text(["groupInfo", "key"]);
            let name = text(["nameInfo", "key"]);
            let unit = text(["unitInfo", "key"]);
            let rollup = c.field("rollupType").and_then(Value::as_str);
            if let (Some(key), Some(g), Some(n), Some(r), Some(u)) =
                (key, group, name, rollup, unit)
                && let Ok(key) = i32::try_from(key)
            {
                let dotted = format!("{g}.{n}.{r}");
                by_key.insert(key, dotted.clone());
                by_name.insert(dotted, (key, u.to_owned()));
            }
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
    for oc in client
        .view_contents(
            &root,
            &["VirtualMachine"],
            true,
            &["name", "resourcePool", "config.extraConfig"],
        )
        .await?
    {
        let vsphere_name = oc.text("name").unwrap_or_default().to_owned();
        let extra = oc.get("config.extraConfig");
        let text_of = |key: &str| {
            extra
                .and_then(|e| option_value(e, key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let container = text_of(vic::guestinfo::container::ID)
            .filter(|id| !id.is_empty())
            .and_then(|_| text_of(vic::guestinfo::container::NAME));
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

/// `QueryPerf` for `metrics[i]` of `entities[i]`, samples after `after_ms` up to `until_ms`,
/// appended to `into`.
pub async fn query(
    client: &Client,
    perf_manager: &MoRef,
    catalogue: &Catalogue,
    requests: &[(MoRef, BTreeSet<(String, String)>)],
    after_ms: i64,
    until_ms: i64,
    into: &mut Samples,
) -> Result<(), RunError> {
    let specs: Vec<Value> = requests
        .iter()
        .filter(|(_, m)| !m.is_empty())
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
                .into_value()
        })
        .collect();
    if specs.is_empty() {
        return Ok(());
    }
    let results = client
        .call_list(
            "QueryPerf",
            perf_manager,
            &[("querySpec", Value::array("PerfQuerySpec", specs))],
        )
        .await?;
    for r in &results {
        let Some(entity) = r.field("entity").and_then(Value::as_moref) else {
            continue;
        };
        let times: Vec<i64> = items(r, "sampleInfo")
            .iter()
            .map(|s| match s.field("timestamp") {
                Some(Value::DateTime(ms)) => *ms,
                _ => i64::MIN,
            })
            .collect();
        for series in items(r, "value") {
            let id = series.field("id");
            let key = id
                .and_then(|i| i.field("counterId"))
                .and_then(Value::as_i64)
                .and_then(|k| i32::try_from(k).ok());
            let Some(counter) = key.and_then(|k| catalogue.by_key.get(&k)) else {
                continue;
            };
            let instance = id
                .and_then(|i| i.field("instance"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let values = items(series, "value");
            let start_ms = into.start_ms;
            let spool = Arc::clone(&into.spool);
            let out = into.series((entity.value.clone(), counter.clone(), instance.to_owned()));
            for (t, v) in times.iter().zip(values) {
                // Samples up to the start belong to no interval of the run.
                if let (Some(v), true) = (v.as_i64(), *t > start_ms) {
                    let offset_s = u64::try_from((*t - start_ms) / 1000).unwrap_or(0);
                    // A later read never repeats a sample (startTime is exclusive), but the
                    // series keeps itself strictly increasing in time regardless.
                    out.push(&spool, Point { offset_s, value: v })
                        .map_err(RunError::Spool)?;
                }
            }
        }
    }
    Ok(())
}
