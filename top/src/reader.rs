//! SOAP → rows: the [`Reader`] keeps a session to a vSphere endpoint (ours or a real
//! vCenter/ESXi) and turns each refresh into a [`Snapshot`]: the powered-on VMs with their
//! latest realtime sample of [`crate::table::COUNTERS`], read with `QueryPerf`
//! (`intervalId` 20, `maxSample` 1, `csv` format, [`QUERY_BATCH`] VMs per call).
//!
//! The VM list (a container view of `VirtualMachine`: name, power state, vCPUs, memory) is
//! read again every [`VM_LIST_EVERY`] refreshes and after every reconnect. Powered-off VMs
//! are omitted, as esxtop shows only running worlds.
//!
//! A lost server never ends the reader: a connection error (or `NotAuthenticated` that the
//! client's own re-login could not fix) drops the session, and each later refresh tries to
//! connect, log in and read the counter catalogue again, reporting
//! [`Link::Reconnecting`] with the attempt number and reason until it works, then
//! [`Link::Reconnected`] for one refresh. The last rows stay on screen meanwhile, marked
//! stale.

use crate::args::Settings;
use crate::table::{COUNTERS, Row, VmSample};
use std::collections::BTreeMap;
use vcsim::vmodl::{DataObject, MoRef, Value};
use vic::vsphere::{Client, Error};

/// VMs per `QueryPerf` call (the scenario runner's batch too: answers stay small).
pub const QUERY_BATCH: usize = 50;
/// The VM list is read again every this many refreshes.
pub const VM_LIST_EVERY: u64 = 5;

/// Why `top` could not start.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    /// The first connection or login failed (exit 3).
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL (no credentials).
        url: String,
        /// The client's error.
        reason: String,
    },
    /// The terminal could not be used (exit 1).
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// The connection's state for the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Reading normally.
    Connected,
    /// Connected again after a loss, this refresh.
    Reconnected,
    /// The server is unreachable or refused the session: retrying each refresh.
    Reconnecting {
        /// 1 for the first try after the loss.
        attempt: u32,
        /// The last error.
        reason: String,
    },
}

/// What one refresh read.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// 1 for the first refresh.
    pub refresh: u64,
    /// The URL (no credentials).
    pub url: String,
    /// `about.fullName` of the server.
    pub server: String,
    /// The connection state.
    pub link: Link,
    /// Successful reconnects since the start.
    pub reconnects: u32,
    /// The newest sample's time (server clock, ms since the epoch).
    pub sample_ms: Option<i64>,
    /// All VMs in the inventory (powered off included).
    pub vms_total: usize,
    /// The powered-on VMs, unsorted.
    pub rows: Vec<Row>,
    /// True when `rows` are from an earlier refresh (the server is unreachable).
    pub stale: bool,
    /// A non-fatal problem of this refresh (a fault of one call).
    pub warning: Option<String>,
    /// Counters of [`COUNTERS`] the server does not have (their columns show `-`).
    pub missing_counters: Vec<&'static str>,
}

/// The counter catalogue, for [`COUNTERS`] only: name → key and back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalogue {
    by_name: BTreeMap<&'static str, i32>,
    by_key: BTreeMap<i32, &'static str>,
}

impl Catalogue {
    /// Picks [`COUNTERS`] out of `PerformanceManager.perfCounter`.
    pub fn from_perf_counters(counters: &Value) -> Catalogue {
        let mut cat = Catalogue::default();
        for c in vic::vsphere::perf::counter_infos(counters) {
            if let Some(name) = COUNTERS.iter().copied().find(|n| *n == c.dotted) {
                cat.by_name.insert(name, c.key);
                cat.by_key.insert(c.key, name);
            }
        }
        cat
    }

    /// The counters of [`COUNTERS`] this server lacks.
    pub fn missing(&self) -> Vec<&'static str> {
        COUNTERS
            .iter()
            .copied()
            .filter(|c| !self.by_name.contains_key(c))
            .collect()
    }

    /// `PerfMetricId`s of every known counter, instance `""` (the VM aggregate).
    fn metric_ids(&self) -> Vec<Value> {
        self.by_name
            .values()
            .map(|key| {
                DataObject::new("PerfMetricId")
                    .with("counterId", Value::Int(*key))
                    .with("instance", Value::str(""))
                    .into_value()
            })
            .collect()
    }
}

/// A VM from the container view.
#[derive(Clone, Debug, PartialEq)]
struct VmInfo {
    moref: MoRef,
    name: String,
    powered_on: bool,
    vcpus: Option<u32>,
    memory_mb: Option<u64>,
}

struct Session {
    client: Client,
    perf_manager: MoRef,
    catalogue: Catalogue,
    vms: Vec<VmInfo>,
    listed_at: u64,
}

impl Session {
    async fn open(s: &Settings) -> Result<Session, Error> {
        let client = Client::connect(&s.url, s.connect.clone()).await?;
        client.login(&s.user, &s.password).await?;
        let perf_manager = client
            .service_content()
            .raw
            .field("perfManager")
            .and_then(Value::as_moref)
            .cloned()
            .ok_or_else(|| Error::Protocol("the server has no PerformanceManager".into()))?;
        let counters = client
            .get_property(&perf_manager, "perfCounter")
            .await?
            .unwrap_or(Value::Array(vcsim::vmodl::Array {
                item: "PerfCounterInfo".into(),
                items: Vec::new(),
            }));
        let catalogue = Catalogue::from_perf_counters(&counters);
        let mut session = Session {
            client,
            perf_manager,
            catalogue,
            vms: Vec::new(),
            listed_at: 0,
        };
        session.list_vms(0).await?;
        Ok(session)
    }

    async fn list_vms(&mut self, refresh: u64) -> Result<(), Error> {
        let root = self.client.service_content().root_folder.clone();
        let found = self
            .client
            .view_contents(
                &root,
                &["VirtualMachine"],
                true,
                &[
                    "name",
                    "runtime.powerState",
                    "config.hardware.numCPU",
                    "config.hardware.memoryMB",
                ],
            )
            .await?;
        self.vms = found
            .into_iter()
            .map(|oc| VmInfo {
                name: oc.text("name").unwrap_or(&oc.obj.value).to_owned(),
                powered_on: oc.text("runtime.powerState") == Some("poweredOn"),
                vcpus: oc
                    .get("config.hardware.numCPU")
                    .and_then(Value::as_i64)
                    .and_then(|n| u32::try_from(n).ok()),
                memory_mb: oc
                    .get("config.hardware.memoryMB")
                    .and_then(Value::as_i64)
                    .and_then(|n| u64::try_from(n).ok()),
                moref: oc.obj,
            })
            .collect();
        self.listed_at = refresh;
        Ok(())
    }

    /// The latest sample of every powered-on VM.
    async fn read(&self) -> Result<(Vec<VmSample>, Option<i64>), Error> {
        let running: Vec<&VmInfo> = self.vms.iter().filter(|v| v.powered_on).collect();
        let ids = self.catalogue.metric_ids();
        let mut samples: BTreeMap<String, VmSample> = running
            .iter()
            .map(|v| {
                let s = VmSample {
                    id: v.moref.value.clone(),
                    name: v.name.clone(),
                    vcpus: v.vcpus,
                    memory_mb: v.memory_mb,
                    interval_s: None,
                    values: BTreeMap::new(),
                };
                (v.moref.value.clone(), s)
            })
            .collect();
        let mut newest: Option<i64> = None;
        if !ids.is_empty() {
            for batch in running.chunks(QUERY_BATCH) {
                let specs = batch
                    .iter()
                    .map(|v| {
                        DataObject::new("PerfQuerySpec")
                            .with("entity", Value::moref(&v.moref))
                            .with("maxSample", Value::Int(1))
                            .with("metricId", Value::array("PerfMetricId", ids.clone()))
                            .with("intervalId", Value::Int(20))
                            .with("format", Value::str("csv"))
                            .into_value()
                    })
                    .collect();
                let results = self
                    .client
                    .call_list(
                        "QueryPerf",
                        &self.perf_manager,
                        &[("querySpec", Value::array("PerfQuerySpec", specs))],
                    )
                    .await?;
                for r in &results {
                    if let Some((id, latest)) = parse_entity_metric(r, &self.catalogue)
                        && let Some(s) = samples.get_mut(&id)
                    {
                        s.interval_s = latest.interval_s;
                        s.values = latest.values;
                        newest = newest.max(latest.time_ms);
                    }
                }
            }
        }
        Ok((samples.into_values().collect(), newest))
    }
}

/// The last sample of one `PerfEntityMetricCSV` (or `PerfEntityMetric`).
#[derive(Clone, Debug, Default, PartialEq)]
struct Latest {
    interval_s: Option<u32>,
    time_ms: Option<i64>,
    values: BTreeMap<String, i64>,
}

/// The entity's MoRef value and its last sample; `None` when the answer names no entity.
fn parse_entity_metric(r: &Value, cat: &Catalogue) -> Option<(String, Latest)> {
    let m = vic::vsphere::perf::entity_metric(r)?;
    let last = m.samples.last();
    let mut latest = Latest {
        interval_s: last.and_then(|s| s.interval_s),
        time_ms: last.and_then(|s| s.time_ms),
        values: BTreeMap::new(),
    };
    for series in m.series {
        // The VM's aggregate only; vCPU instances are not rows of their own here.
        let Some(name) = cat.by_key.get(&series.counter_id) else {
            continue;
        };
        if !series.instance.is_empty() {
            continue;
        }
        if let Some(Some(v)) = series.values.last() {
            latest.values.insert((*name).to_owned(), *v);
        }
    }
    Some((m.entity.value, latest))
}

/// Errors after which the session is not worth keeping: the server went away, timed out,
/// answered garbage, or no longer knows the session.
pub fn is_connection_error(e: &Error) -> bool {
    match e {
        Error::Fault(f) => f.is("NotAuthenticated"),
        Error::Connect { .. }
        | Error::Io { .. }
        | Error::Timeout { .. }
        | Error::Tls { .. }
        | Error::Http { .. }
        | Error::Protocol(_)
        | Error::TooLarge { .. }
        | Error::Untrusted { .. }
        | Error::ThumbprintMismatch { .. } => true,
        _ => false,
    }
}

/// The session and what the screen keeps between refreshes.
pub struct Reader {
    settings: Settings,
    session: Option<Session>,
    server: String,
    refresh: u64,
    reconnects: u32,
    /// Failed reconnect attempts since the loss (0 while connected).
    attempt: u32,
    last_rows: Vec<Row>,
    last_sample_ms: Option<i64>,
    last_vms_total: usize,
}

impl Reader {
    /// Connects and logs in (the start's only chance to fail: exit 3).
    pub async fn start(settings: Settings) -> Result<Reader, TopError> {
        let session = Session::open(&settings)
            .await
            .map_err(|e| TopError::Connect {
                url: settings.url.clone(),
                reason: e.to_string(),
            })?;
        Ok(Reader {
            server: session.client.about().full_name.clone(),
            settings,
            session: Some(session),
            refresh: 0,
            reconnects: 0,
            attempt: 0,
            last_rows: Vec::new(),
            last_sample_ms: None,
            last_vms_total: 0,
        })
    }

    /// One refresh: read, or try to reconnect.
    pub async fn refresh(&mut self) -> Snapshot {
        self.refresh += 1;
        let mut link = Link::Connected;
        if self.session.is_none() {
            match Session::open(&self.settings).await {
                Ok(s) => {
                    self.server = s.client.about().full_name.clone();
                    self.session = Some(s);
                    self.attempt = 0;
                    self.reconnects += 1;
                    link = Link::Reconnected;
                }
                Err(e) => {
                    self.attempt += 1;
                    return self.lost(e.to_string());
                }
            }
        }
        let Some(session) = self.session.as_mut() else {
            return self.lost("no session".into());
        };
        let mut warning = None;
        if self.refresh - session.listed_at >= VM_LIST_EVERY
            && let Err(e) = session.list_vms(self.refresh).await
        {
            if is_connection_error(&e) {
                return self.drop_session(e);
            }
            warning = Some(format!("reading the VM list: {e}"));
        }
        let read = match session.read().await {
            // A fault such as ManagedObjectNotFound (a VM deleted since the list was
            // read): list again and retry once.
            Err(e) if !is_connection_error(&e) => match session.list_vms(self.refresh).await {
                Ok(()) => session.read().await,
                Err(_) => Err(e),
            },
            other => other,
        };
        match read {
            Ok((samples, newest)) => {
                self.last_rows = samples.iter().map(Row::from_sample).collect();
                self.last_sample_ms = newest.or(self.last_sample_ms);
                self.last_vms_total = session.vms.len();
                self.snapshot_of_last(link, warning)
            }
            Err(e) if is_connection_error(&e) => self.drop_session(e),
            Err(e) => {
                let mut s = self.snapshot_of_last(link, Some(format!("QueryPerf: {e}")));
                s.stale = true;
                s
            }
        }
    }

    /// Logs out (best effort; used on quit).
    pub async fn logout(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = s.client.logout().await;
        }
    }

    fn drop_session(&mut self, e: Error) -> Snapshot {
        self.session = None;
        self.attempt = 1;
        self.lost(e.to_string())
    }

    fn lost(&self, reason: String) -> Snapshot {
        let mut s = self.snapshot_of_last(
            Link::Reconnecting {
                attempt: self.attempt.max(1),
                reason,
            },
            None,
        );
        s.stale = true;
        s
    }

    fn snapshot_of_last(&self, link: Link, warning: Option<String>) -> Snapshot {
        Snapshot {
            refresh: self.refresh,
            url: self.settings.url.clone(),
            server: self.server.clone(),
            link,
            reconnects: self.reconnects,
            sample_ms: self.last_sample_ms,
            vms_total: self.last_vms_total,
            rows: self.last_rows.clone(),
            stale: false,
            warning,
            missing_counters: self
                .session
                .as_ref()
                .map(|s| s.catalogue.missing())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{READY, USED};
    use vic::vsphere::Fault;

    fn counter_info(key: i32, group: &str, name: &str, rollup: &str) -> Value {
        let info = |k: &str| {
            DataObject::new("ElementDescription")
                .with("key", Value::str(k))
                .into_value()
        };
        DataObject::new("PerfCounterInfo")
            .with("key", Value::Int(key))
            .with("nameInfo", info(name))
            .with("groupInfo", info(group))
            .with(
                "rollupType",
                Value::enumv("PerfSummaryType", rollup.to_owned()),
            )
            .into_value()
    }

    fn catalogue() -> Catalogue {
        Catalogue::from_perf_counters(&Value::array(
            "PerfCounterInfo",
            vec![
                counter_info(12, "cpu", "ready", "summation"),
                counter_info(99, "cpu", "used", "summation"),
                counter_info(2, "cpu", "usage", "average"),
            ],
        ))
    }

    fn id(counter: i32, instance: &str) -> Value {
        DataObject::new("PerfMetricId")
            .with("counterId", Value::Int(counter))
            .with("instance", Value::str(instance))
            .into_value()
    }

    #[test]
    fn the_catalogue_keeps_our_counters_and_says_which_are_missing() {
        let c = catalogue();
        assert_eq!(c.by_name.get(READY), Some(&12));
        assert_eq!(c.by_key.get(&99), Some(&USED));
        assert!(!c.by_key.contains_key(&2));
        let missing = c.missing();
        assert!(missing.contains(&"mem.zipped.latest"));
        assert!(!missing.contains(&READY));
        assert_eq!(c.metric_ids().len(), 2);
        assert!(
            Catalogue::from_perf_counters(&Value::Int(3))
                .by_name
                .is_empty()
        );
    }

    #[test]
    fn csv_answers_give_the_last_sample_of_the_aggregate() {
        let r = DataObject::new("PerfEntityMetricCSV")
            .with(
                "entity",
                Value::moref(&MoRef::new("VirtualMachine", "vm-7")),
            )
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
                            .with("id", id(12, ""))
                            .with("value", Value::str("100,15000"))
                            .into_value(),
                        DataObject::new("PerfMetricSeriesCSV")
                            .with("id", id(12, "0"))
                            .with("value", Value::str("7,7"))
                            .into_value(),
                        DataObject::new("PerfMetricSeriesCSV")
                            .with("id", id(99, ""))
                            .with("value", Value::str(""))
                            .into_value(),
                        DataObject::new("PerfMetricSeriesCSV")
                            .with("id", id(555, ""))
                            .with("value", Value::str("1"))
                            .into_value(),
                    ],
                ),
            )
            .into_value();
        let (entity, latest) = parse_entity_metric(&r, &catalogue()).expect("entity");
        assert_eq!(entity, "vm-7");
        assert_eq!(latest.interval_s, Some(20));
        assert_eq!(
            latest.time_ms,
            vcsim::vmodl::parse_datetime("2017-10-02T08:00:40Z")
        );
        assert_eq!(latest.values.get(READY), Some(&15_000));
        assert_eq!(latest.values.len(), 1, "{:?}", latest.values);
        // No entity: nothing, no panic.
        assert!(parse_entity_metric(&Value::Int(1), &catalogue()).is_none());
    }

    #[test]
    fn normal_answers_read_the_same() {
        let r = DataObject::new("PerfEntityMetric")
            .with(
                "entity",
                Value::moref(&MoRef::new("VirtualMachine", "vm-7")),
            )
            .with(
                "sampleInfo",
                Value::array(
                    "PerfSampleInfo",
                    vec![
                        DataObject::new("PerfSampleInfo")
                            .with("timestamp", Value::DateTime(1_000))
                            .with("interval", Value::Int(20))
                            .into_value(),
                    ],
                ),
            )
            .with(
                "value",
                Value::array(
                    "PerfMetricSeries",
                    vec![
                        DataObject::new("PerfMetricIntSeries")
                            .with("id", id(12, ""))
                            .with("value", Value::array("long", vec![Value::Long(4321)]))
                            .into_value(),
                    ],
                ),
            )
            .into_value();
        let (_, latest) = parse_entity_metric(&r, &catalogue()).expect("entity");
        assert_eq!((latest.interval_s, latest.time_ms), (Some(20), Some(1_000)));
        assert_eq!(latest.values.get(READY), Some(&4321));
    }

    #[test]
    fn connection_errors_are_told_from_faults() {
        let fault = |ty: &str| {
            Error::Fault(Fault {
                code: Some("ServerFaultCode".into()),
                ty: ty.into(),
                msg: String::new(),
                fields: vec![],
            })
        };
        assert!(is_connection_error(&fault("NotAuthenticated")));
        assert!(!is_connection_error(&fault("InvalidArgument")));
        assert!(is_connection_error(&Error::Connect {
            addr: "h:1".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        }));
        assert!(!is_connection_error(&Error::NoDatacenter));
    }
}
