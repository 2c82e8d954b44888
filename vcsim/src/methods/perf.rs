//! PerformanceManager methods: QueryPerfCounter, QueryPerfCounterByLevel,
//! QueryAvailablePerfMetric, QueryPerfProviderSummary and QueryPerf.
//!
//! Each handler reads its WSDL parameters from the method element, resolves entities in the
//! inventory and hands the rest to pure functions over the catalogue and the
//! [`PerfStore`], which the tests drive without an emulator.
//!
//! The contention model produces one realtime sample per 20 s step; the store keeps the last
//! hour of them, as an ESXi host does, and rolls them up into vCenter's historical intervals
//! (300, 1 800, 7 200 and 86 400 s, kept 1 day, 1 week, 1 month and 1 year). A query names
//! its resolution with `intervalId`: 20 for realtime, a historical interval's sampling period
//! for its rollups; any other value is `InvalidArgument`. Without `intervalId` an entity's
//! statistics come "in their originally sampled interval" (`PerfQuerySpec`): realtime for
//! VMs, hosts and resource pools, the 300 s interval for clusters, datastores and the other
//! entities vCenter aggregates itself. Entities with no data at a resolution are left out
//! of the answer, as vCenter does.

use crate::clock::REALTIME_INTERVAL_S;
use crate::emulator::Emulator;
use crate::perf::{PerfStore, Resolution, Samples, Window, catalogue};
use crate::soap::Element;
use crate::soap::decode;
use crate::vmodl::{DataObject, Fault, MoRef, Value, format_datetime, parse_datetime};

/// The realtime interval as the API writes it (`PerfSampleInfo.interval`, `intervalId`,
/// `PerfProviderSummary.refreshRate`).
const REALTIME_INTERVAL_ID: i32 = REALTIME_INTERVAL_S as i32;

/// Result format of a query (`PerfFormat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// `PerfEntityMetric` with `PerfMetricIntSeries`.
    #[default]
    Normal,
    /// `PerfEntityMetricCSV` with `PerfMetricSeriesCSV`.
    Csv,
}

/// A decoded `PerfQuerySpec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuerySpec {
    /// The entity whose statistics are asked for.
    pub entity: MoRef,
    /// `startTime` (exclusive), epoch ms.
    pub start_ms: Option<i64>,
    /// `endTime` (inclusive), epoch ms.
    pub end_ms: Option<i64>,
    /// `maxSample`; values ≤ 0 are treated as unset.
    pub max_sample: Option<usize>,
    /// `metricId` as `(counterId, instance)`; empty means every metric of the entity.
    pub metric_ids: Vec<(i32, String)>,
    /// `intervalId` in seconds.
    pub interval_id: Option<i32>,
    /// `format`.
    pub format: Format,
}

/// `QueryPerfCounter(counterId[])`: the `PerfCounterInfo` of each known id, in request
/// order. Unknown ids are skipped, as vCenter returns only the counters it knows.
pub fn query_perf_counter(_emu: &Emulator, args: &Element) -> Result<Value, Fault> {
    let ids = args
        .children_named("counterId")
        .map(|c| parse_int(&c.text, "counterId"))
        .collect::<Result<Vec<i32>, Fault>>()?;
    Ok(counters_by_id(&ids))
}

/// The `PerfCounterInfo` array for `ids`, unknown ids skipped.
pub fn counters_by_id(ids: &[i32]) -> Value {
    let infos = ids
        .iter()
        .filter_map(|&id| catalogue::by_key(id))
        .map(catalogue::counter_info)
        .collect();
    Value::array("PerfCounterInfo", infos)
}

/// `QueryPerfCounterByLevel(level)`: every counter whose level is at most `level` (1–4).
pub fn query_perf_counter_by_level(_emu: &Emulator, args: &Element) -> Result<Value, Fault> {
    let level = args
        .child("level")
        .ok_or_else(|| Fault::invalid_argument("level"))
        .and_then(|c| parse_int(&c.text, "level"))?;
    counters_by_level(level)
}

/// The `PerfCounterInfo` array of counters with `level ≤ level`; a level outside 1–4 is an
/// `InvalidArgument`, the collection levels vCenter defines being 1 to 4.
pub fn counters_by_level(level: i32) -> Result<Value, Fault> {
    if !(1..=4).contains(&level) {
        return Err(Fault::invalid_argument("level"));
    }
    let infos = catalogue::all()
        .iter()
        .filter(|c| c.level <= level)
        .map(catalogue::counter_info)
        .collect();
    Ok(Value::array("PerfCounterInfo", infos))
}

/// `QueryAvailablePerfMetric(entity, beginTime?, endTime?, intervalId?)`: the `PerfMetricId`
/// of every series the store holds for the entity at that interval within its retention (we
/// list what we produce): realtime (20) lists the last hour's series with their device
/// instances; a historical interval lists what it archives (at level 1, aggregates only);
/// no intervalId means the entity's original interval (realtime for VMs, hosts and pools,
/// 300 s for the others); an interval that does not exist gives an empty list. An unknown
/// entity is `ManagedObjectNotFound`.
pub fn query_available_perf_metric(emu: &Emulator, args: &Element) -> Result<Value, Fault> {
    let entity = required_moref(args, "entity")?;
    let entity = emu.inv.get(&entity)?.moref.clone();
    let begin_ms = optional_time(args, "beginTime")?;
    let end_ms = optional_time(args, "endTime")?;
    let interval_id = optional_int(args, "intervalId")?;
    Ok(available_metrics(
        &emu.perf,
        &entity,
        begin_ms,
        end_ms,
        interval_id,
        emu.clock.now_ms(),
    ))
}

/// The `PerfMetricId` array for [`query_available_perf_metric`], given a resolved entity.
/// `beginTime` is taken as inclusive here: it names the start of a period, not a sample to
/// skip as `PerfQuerySpec.startTime` does.
pub fn available_metrics(
    store: &PerfStore,
    entity: &MoRef,
    begin_ms: Option<i64>,
    end_ms: Option<i64>,
    interval_id: Option<i32>,
    now_ms: i64,
) -> Value {
    let resolution = match interval_id {
        None => original_resolution(entity),
        Some(id) => match Resolution::from_interval_id(id) {
            Some(r) => r,
            None => return Value::array("PerfMetricId", Vec::new()),
        },
    };
    let window = Window {
        after_ms: begin_ms.map(|b| b.saturating_sub(1)),
        until_ms: end_ms,
        max_samples: None,
    }
    .within(now_ms, resolution.retention_ms());
    let ids = store
        .series_ids_at(resolution, entity, &window)
        .into_iter()
        .map(|(key, instance)| metric_id(key, &instance))
        .collect();
    Value::array("PerfMetricId", ids)
}

/// `QueryPerfProviderSummary(entity)`: VMs, hosts and resource pools (vApps included) are
/// realtime providers refreshed every 20 s; other managed entities (clusters, datacenters,
/// datastores, folders) only have historical summaries, with refreshRate -1. An unknown
/// entity is `ManagedObjectNotFound`; an object that is no managed entity at all (a
/// manager) is no performance provider, hence `InvalidArgument`.
pub fn query_perf_provider_summary(emu: &Emulator, args: &Element) -> Result<Value, Fault> {
    let entity = required_moref(args, "entity")?;
    let entity = emu.inv.get(&entity)?.moref.clone();
    provider_summary(&entity)
}

/// The `PerfProviderSummary` of a resolved entity (its real type decides).
pub fn provider_summary(entity: &MoRef) -> Result<Value, Fault> {
    use crate::vmodl::is_a;
    if !is_a(entity.ty.as_ref(), "ManagedEntity") {
        return Err(Fault::invalid_argument("entity"));
    }
    let realtime = is_realtime_provider(entity);
    let refresh_rate_s = if realtime { REALTIME_INTERVAL_ID } else { -1 };
    Ok(DataObject::new("PerfProviderSummary")
        .with("entity", Value::moref(entity))
        .with("currentSupported", Value::Bool(realtime))
        .with("summarySupported", Value::Bool(true))
        .with("refreshRate", Value::Int(refresh_rate_s))
        .into_value())
}

/// Whether vCenter gets realtime statistics for the entity from its host (VMs, hosts and
/// resource pools, vApps included); the others exist only as historical rollups.
fn is_realtime_provider(entity: &MoRef) -> bool {
    ["VirtualMachine", "HostSystem", "ResourcePool"]
        .iter()
        .any(|t| crate::vmodl::is_a(entity.ty.as_ref(), t))
}

/// The resolution of a query without `intervalId`: the entity's "originally sampled
/// interval", realtime for realtime providers, else the finest historical interval.
fn original_resolution(entity: &MoRef) -> Resolution {
    if is_realtime_provider(entity) {
        Resolution::Realtime
    } else {
        Resolution::Historical(0)
    }
}

/// `QueryPerf(querySpec[])`: one `PerfEntityMetric` (or `PerfEntityMetricCSV`) per spec that
/// matched samples, in spec order. An entity that does not exist is
/// `ManagedObjectNotFound`; an `intervalId` that is neither 20 nor a historical interval, or
/// an unknown `format`, is `InvalidArgument`.
pub fn query_perf(emu: &Emulator, args: &Element) -> Result<Value, Fault> {
    let specs = args
        .children_named("querySpec")
        .map(parse_query_spec)
        .collect::<Result<Vec<_>, Fault>>()?;
    let resolve = |m: &MoRef| emu.inv.get(m).map(|o| o.moref.clone());
    run_queries(&specs, &emu.perf, emu.clock.now_ms(), resolve)
}

/// Decodes one `PerfQuerySpec` element.
pub fn parse_query_spec(el: &Element) -> Result<QuerySpec, Fault> {
    let entity =
        required_moref(el, "entity").map_err(|_| Fault::invalid_argument("querySpec.entity"))?;
    let metric_ids = el
        .children_named("metricId")
        .map(|m| {
            let counter = m
                .child("counterId")
                .ok_or_else(|| Fault::invalid_argument("querySpec.metricId.counterId"))
                .and_then(|c| parse_int(&c.text, "querySpec.metricId.counterId"))?;
            // The WSDL requires `instance`; a client that leaves it out means the aggregate.
            let instance = m
                .child("instance")
                .map(|i| i.text.trim().to_owned())
                .unwrap_or_default();
            Ok((counter, instance))
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    let format = match el.child_text("format") {
        None | Some("normal") => Format::Normal,
        Some("csv") => Format::Csv,
        Some(_) => return Err(Fault::invalid_argument("querySpec.format")),
    };
    Ok(QuerySpec {
        entity,
        start_ms: optional_time(el, "startTime")
            .map_err(|_| Fault::invalid_argument("querySpec.startTime"))?,
        end_ms: optional_time(el, "endTime")
            .map_err(|_| Fault::invalid_argument("querySpec.endTime"))?,
        // 0 is what a client with a zero-valued optional field sends; vCenter documents no
        // meaning for it, so ≤ 0 is read as "no limit".
        max_sample: optional_int(el, "maxSample")
            .map_err(|_| Fault::invalid_argument("querySpec.maxSample"))?
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n > 0),
        metric_ids,
        interval_id: optional_int(el, "intervalId")
            .map_err(|_| Fault::invalid_argument("querySpec.intervalId"))?,
        format,
    })
}

/// Runs decoded specs against the store. `resolve` maps a client's reference to the
/// inventory object's own (or faults with `ManagedObjectNotFound`); `now_ms` bounds the data
/// to the resolution's retention (the last hour for realtime, as a host holds it; the
/// interval's length for historical data). `maxSample` applies to realtime queries only:
/// "this property is ignored for historical statistics" (`PerfQuerySpec`).
///
/// An entity with no sample in the window is left out of the result rather than returned
/// with empty series: real vCenter answers such queries (a powered-off VM, a window with no
/// data, an interval it has no data for) with an empty `PerfEntityMetricBase[]`, e.g.
/// pyvmomi issues #293, #689 and #1002.
pub fn run_queries(
    specs: &[QuerySpec],
    store: &PerfStore,
    now_ms: i64,
    resolve: impl Fn(&MoRef) -> Result<MoRef, Fault>,
) -> Result<Value, Fault> {
    // Validate every spec before answering any, so a bad spec faults the whole call as a
    // vCenter argument check does.
    let mut resolved = Vec::with_capacity(specs.len());
    for spec in specs {
        let entity = resolve(&spec.entity)?;
        let resolution = match spec.interval_id {
            None => original_resolution(&entity),
            // An interval we do not keep is refused rather than answered from another one:
            // 20 s data under a 600 s label would mislead.
            Some(id) => Resolution::from_interval_id(id)
                .ok_or_else(|| Fault::invalid_argument("querySpec.intervalId"))?,
        };
        resolved.push((entity, resolution));
    }
    let mut out = Vec::new();
    for (spec, (entity, resolution)) in specs.iter().zip(&resolved) {
        let window = Window {
            after_ms: spec.start_ms,
            until_ms: spec.end_ms,
            max_samples: spec
                .max_sample
                .filter(|_| *resolution == Resolution::Realtime),
        }
        .within(now_ms, resolution.retention_ms());
        let ids = store.select_at(*resolution, entity, &spec.metric_ids);
        let samples = store.query_at(*resolution, entity, &ids, &window);
        if samples.is_empty() {
            continue;
        }
        let interval_s = resolution.interval_s();
        out.push(match spec.format {
            Format::Normal => entity_metric(entity, &samples, interval_s),
            Format::Csv => entity_metric_csv(entity, &samples, interval_s),
        });
    }
    Ok(Value::array("PerfEntityMetricBase", out))
}

/// `PerfEntityMetric { entity, sampleInfo[], value: PerfMetricIntSeries[] }`, oldest sample
/// first: real vCenter returns ascending timestamps (govmomi PR #4111 fixed vcsim's
/// newest-first order against a vCenter 8.0.3 trace), and clients take the last sample as
/// the newest. `interval_s` is the samples' `PerfSampleInfo.interval`.
pub fn entity_metric(entity: &MoRef, samples: &Samples, interval_s: i32) -> Value {
    let sample_info = samples
        .end_ms
        .iter()
        .map(|&t| {
            DataObject::new("PerfSampleInfo")
                .with("timestamp", Value::DateTime(t))
                .with("interval", Value::Int(interval_s))
                .into_value()
        })
        .collect();
    let series = samples
        .series
        .iter()
        .map(|s| {
            DataObject::new("PerfMetricIntSeries")
                .with("id", metric_id(s.counter_id, &s.instance))
                .with(
                    "value",
                    Value::array("long", s.values.iter().map(|&v| Value::Long(v)).collect()),
                )
                .into_value()
        })
        .collect();
    DataObject::new("PerfEntityMetric")
        .with("entity", Value::moref(entity))
        .with("sampleInfo", Value::array("PerfSampleInfo", sample_info))
        .with("value", Value::array("PerfMetricSeries", series))
        .into_value()
}

/// `PerfEntityMetricCSV { entity, sampleInfoCSV, value: PerfMetricSeriesCSV[] }`:
/// `sampleInfoCSV` alternates interval and timestamp (`20,2017-10-02T08:00:20Z,20,…`) and
/// each series' `value` is its values joined by commas, both oldest first.
pub fn entity_metric_csv(entity: &MoRef, samples: &Samples, interval_s: i32) -> Value {
    let sample_info_csv = samples
        .end_ms
        .iter()
        .map(|&t| format!("{interval_s},{}", csv_timestamp(t)))
        .collect::<Vec<_>>()
        .join(",");
    let series = samples
        .series
        .iter()
        .map(|s| {
            let csv = s
                .values
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            DataObject::new("PerfMetricSeriesCSV")
                .with("id", metric_id(s.counter_id, &s.instance))
                .with("value", Value::str(csv))
                .into_value()
        })
        .collect();
    DataObject::new("PerfEntityMetricCSV")
        .with("entity", Value::moref(entity))
        .with("sampleInfoCSV", Value::str(sample_info_csv))
        .with("value", Value::array("PerfMetricSeriesCSV", series))
        .into_value()
}

/// A timestamp as vCenter writes it inside `sampleInfoCSV`: whole seconds without a
/// fraction (`2017-10-02T08:00:20Z`); samples of every interval fall on whole seconds.
fn csv_timestamp(epoch_ms: i64) -> String {
    let full = format_datetime(epoch_ms);
    match full.strip_suffix(".000Z") {
        Some(whole_seconds) => format!("{whole_seconds}Z"),
        None => full,
    }
}

/// `PerfMetricId { counterId, instance }`.
fn metric_id(counter_id: i32, instance: &str) -> Value {
    DataObject::new("PerfMetricId")
        .with("counterId", Value::Int(counter_id))
        .with("instance", Value::str(instance))
        .into_value()
}

fn parse_int(text: &str, property: &str) -> Result<i32, Fault> {
    text.trim()
        .parse()
        .map_err(|_| Fault::invalid_argument(property))
}

fn optional_int(el: &Element, name: &str) -> Result<Option<i32>, Fault> {
    el.child(name).map(|c| parse_int(&c.text, name)).transpose()
}

fn optional_time(el: &Element, name: &str) -> Result<Option<i64>, Fault> {
    el.child(name)
        .map(|c| parse_time(&c.text).ok_or_else(|| Fault::invalid_argument(name)))
        .transpose()
}

/// `parse_datetime` for client text, refusing absurd field widths first: its arithmetic
/// overflows (a panic in debug builds) on a year or offset with a dozen digits. A year of at
/// most 6 digits and other fields of at most 9 keep every product well inside `i64`.
fn parse_time(text: &str) -> Option<i64> {
    let mut runs = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty());
    let year_ok = runs.next().is_some_and(|y| y.len() <= 6);
    if !year_ok || !runs.all(|r| r.len() <= 9) {
        return None;
    }
    parse_datetime(text)
}

fn required_moref(el: &Element, name: &str) -> Result<MoRef, Fault> {
    el.child(name)
        .and_then(decode::moref)
        .ok_or_else(|| Fault::invalid_argument(name))
}

#[cfg(test)]
mod history_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::parse_document;

    const T0_MS: i64 = 1_506_931_200_000; // 2017-10-02T08:00:00Z
    const STEP_MS: i64 = REALTIME_INTERVAL_S * 1000;

    fn vm() -> MoRef {
        MoRef::new("VirtualMachine", "vm-1")
    }

    /// Five steps of cpu.usage.average "" and cpu.ready.summation "", "0", "1" for vm-1.
    fn store() -> PerfStore {
        let mut s = PerfStore::default();
        for i in 1..=5 {
            let t = T0_MS + i * STEP_MS;
            s.record(&vm(), t, 2, "", 100 + i);
            s.record(&vm(), t, 12, "", 200 + i);
            s.record(&vm(), t, 12, "0", 300 + i);
            s.record(&vm(), t, 12, "1", 400 + i);
        }
        s
    }

    const NOW_MS: i64 = T0_MS + 5 * STEP_MS;

    fn resolve(m: &MoRef) -> Result<MoRef, Fault> {
        match m.value.as_str() {
            "vm-1" | "vm-2" => Ok(MoRef::new("VirtualMachine", m.value.clone())),
            _ => Err(Fault::not_found(m)),
        }
    }

    fn spec_xml(inner: &str) -> Element {
        let doc = format!(
            r#"<querySpec xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="PerfQuerySpec">{inner}</querySpec>"#
        );
        parse_document(&doc).unwrap()
    }

    fn run(inner: &str) -> Result<Value, Fault> {
        let spec = parse_query_spec(&spec_xml(inner))?;
        run_queries(&[spec], &store(), NOW_MS, resolve)
    }

    fn longs(v: &Value) -> Vec<i64> {
        v.items().iter().filter_map(Value::as_i64).collect()
    }

    fn timestamps(metric: &Value) -> Vec<i64> {
        metric
            .field("sampleInfo")
            .unwrap()
            .items()
            .iter()
            .map(|s| match s.field("timestamp") {
                Some(Value::DateTime(t)) => *t,
                other => panic!("timestamp {other:?}"),
            })
            .collect()
    }

    const ENTITY: &str = r#"<entity type="VirtualMachine">vm-1</entity>"#;

    #[test]
    fn normal_format_is_oldest_first_with_wsdl_shapes() {
        let r = run(&format!(
            "{ENTITY}<metricId><counterId>12</counterId><instance></instance></metricId><intervalId>20</intervalId>"
        ))
        .unwrap();
        assert_eq!(r.items().len(), 1);
        let m = &r.items()[0];
        assert_eq!(m.xsi_type(), "PerfEntityMetric");
        assert_eq!(m.field("entity").and_then(Value::as_moref), Some(&vm()));
        let ts = timestamps(m);
        assert_eq!(ts, (1..=5).map(|i| T0_MS + i * STEP_MS).collect::<Vec<_>>());
        let info = &m.field("sampleInfo").unwrap().items()[0];
        assert_eq!(info.field("interval"), Some(&Value::Int(20)));
        let series = m.field("value").unwrap().items();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].xsi_type(), "PerfMetricIntSeries");
        let id = series[0].field("id").unwrap();
        assert_eq!(id.field("counterId"), Some(&Value::Int(12)));
        assert_eq!(id.field("instance").and_then(Value::as_str), Some(""));
        assert_eq!(
            longs(series[0].field("value").unwrap()),
            [201, 202, 203, 204, 205]
        );
    }

    #[test]
    fn max_sample_and_time_bounds() {
        let r = run(&format!("{ENTITY}<maxSample>2</maxSample>")).unwrap();
        let m = &r.items()[0];
        assert_eq!(timestamps(m), [T0_MS + 4 * STEP_MS, T0_MS + 5 * STEP_MS]);
        // No metricId: every series of the entity.
        assert_eq!(m.field("value").unwrap().items().len(), 4);

        // startTime exclusive, endTime inclusive.
        let r = run(&format!(
            "{ENTITY}<startTime>2017-10-02T08:00:20Z</startTime><endTime>2017-10-02T08:01:00.000Z</endTime>"
        ))
        .unwrap();
        assert_eq!(
            timestamps(&r.items()[0]),
            [T0_MS + 2 * STEP_MS, T0_MS + 3 * STEP_MS]
        );

        // maxSample 0 means no limit.
        let r = run(&format!("{ENTITY}<maxSample>0</maxSample>")).unwrap();
        assert_eq!(timestamps(&r.items()[0]).len(), 5);
    }

    #[test]
    fn star_returns_every_instance_including_the_aggregate() {
        let r = run(&format!(
            "{ENTITY}<metricId><counterId>12</counterId><instance>*</instance></metricId><metricId><counterId>2</counterId><instance></instance></metricId>"
        ))
        .unwrap();
        let series = r.items()[0].field("value").unwrap().items();
        let ids: Vec<(i64, String)> = series
            .iter()
            .map(|s| {
                let id = s.field("id").unwrap();
                (
                    id.field("counterId").and_then(Value::as_i64).unwrap(),
                    id.field("instance")
                        .and_then(Value::as_str)
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect();
        assert_eq!(
            ids,
            [
                (12, String::new()),
                (12, "0".into()),
                (12, "1".into()),
                (2, String::new())
            ]
        );
        // A specific instance.
        let r = run(&format!(
            "{ENTITY}<metricId><counterId>12</counterId><instance>1</instance></metricId>"
        ))
        .unwrap();
        let series = r.items()[0].field("value").unwrap().items();
        assert_eq!(series.len(), 1);
        assert_eq!(
            longs(series[0].field("value").unwrap()),
            [401, 402, 403, 404, 405]
        );
    }

    #[test]
    fn csv_format() {
        let r = run(&format!(
            "{ENTITY}<maxSample>2</maxSample><metricId><counterId>2</counterId><instance></instance></metricId><format>csv</format>"
        ))
        .unwrap();
        let m = &r.items()[0];
        assert_eq!(m.xsi_type(), "PerfEntityMetricCSV");
        assert_eq!(
            m.field("sampleInfoCSV").and_then(Value::as_str),
            Some("20,2017-10-02T08:01:20Z,20,2017-10-02T08:01:40Z")
        );
        let series = &m.field("value").unwrap().items()[0];
        assert_eq!(series.xsi_type(), "PerfMetricSeriesCSV");
        assert_eq!(
            series.field("value").and_then(Value::as_str),
            Some("104,105")
        );
    }

    #[test]
    fn empty_and_faulting_queries() {
        // No data in the window: the entity is left out.
        let r = run(&format!(
            "{ENTITY}<startTime>2017-10-02T08:01:40Z</startTime>"
        ))
        .unwrap();
        assert!(r.items().is_empty());
        // An entity that exists but never produced samples.
        let r = run(r#"<entity type="VirtualMachine">vm-2</entity>"#).unwrap();
        assert!(r.items().is_empty());
        // Unknown metric.
        let r = run(&format!(
            "{ENTITY}<metricId><counterId>99999</counterId><instance></instance></metricId>"
        ))
        .unwrap();
        assert!(r.items().is_empty());

        let f = run(r#"<entity type="VirtualMachine">vm-404</entity>"#).unwrap_err();
        assert_eq!(f.ty, "ManagedObjectNotFound");
        let f = run(&format!("{ENTITY}<intervalId>600</intervalId>")).unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        // A historical interval exists, but five realtime samples complete no 300 s period.
        let r = run(&format!("{ENTITY}<intervalId>300</intervalId>")).unwrap();
        assert!(r.items().is_empty());
        let f = run(&format!("{ENTITY}<format>xml</format>")).unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        let f = run(&format!("{ENTITY}<startTime>yesterday</startTime>")).unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        for absurd in [
            "99999999999999999-01-01T00:00:00Z",
            "2017-10-02T08:00:00+99999999999999999:00",
        ] {
            let f = run(&format!("{ENTITY}<endTime>{absurd}</endTime>")).unwrap_err();
            assert_eq!(f.ty, "InvalidArgument");
        }
        let f = run("<maxSample>1</maxSample>").unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
    }

    #[test]
    fn samples_older_than_an_hour_are_gone() {
        let spec = parse_query_spec(&spec_xml(ENTITY)).unwrap();
        let later_ms = T0_MS + 3 * STEP_MS + crate::perf::RETENTION_MS;
        let r = run_queries(&[spec], &store(), later_ms, resolve).unwrap();
        assert_eq!(
            timestamps(&r.items()[0]),
            [T0_MS + 4 * STEP_MS, T0_MS + 5 * STEP_MS]
        );
    }

    #[test]
    fn several_specs_answer_in_order() {
        let a = parse_query_spec(&spec_xml(&format!("{ENTITY}<maxSample>1</maxSample>"))).unwrap();
        let b =
            parse_query_spec(&spec_xml(r#"<entity type="VirtualMachine">vm-2</entity>"#)).unwrap();
        let c = parse_query_spec(&spec_xml(&format!("{ENTITY}<format>csv</format>"))).unwrap();
        let r = run_queries(&[a, b, c], &store(), NOW_MS, resolve).unwrap();
        let types: Vec<String> = r
            .items()
            .iter()
            .map(|m| m.xsi_type().into_owned())
            .collect();
        assert_eq!(types, ["PerfEntityMetric", "PerfEntityMetricCSV"]);
    }

    #[test]
    fn available_metrics_list_what_the_store_holds() {
        let s = store();
        let ids = available_metrics(&s, &vm(), None, None, None, NOW_MS);
        assert_eq!(ids.items().len(), 4);
        assert_eq!(ids.items()[0].xsi_type(), "PerfMetricId");
        assert_eq!(
            available_metrics(&s, &vm(), None, None, Some(20), NOW_MS)
                .items()
                .len(),
            4
        );
        assert!(
            available_metrics(&s, &vm(), None, None, Some(300), NOW_MS)
                .items()
                .is_empty()
        );
        assert!(
            available_metrics(&s, &vm(), None, None, Some(600), NOW_MS)
                .items()
                .is_empty()
        );
        // beginTime is inclusive: the last sample still counts.
        let last_ms = T0_MS + 5 * STEP_MS;
        assert_eq!(
            available_metrics(&s, &vm(), Some(last_ms), None, None, NOW_MS)
                .items()
                .len(),
            4
        );
        assert!(
            available_metrics(&s, &vm(), Some(last_ms + 1), None, None, NOW_MS)
                .items()
                .is_empty()
        );
    }

    #[test]
    fn provider_summaries() {
        let v = provider_summary(&vm()).unwrap();
        assert_eq!(v.field("currentSupported"), Some(&Value::Bool(true)));
        assert_eq!(v.field("refreshRate"), Some(&Value::Int(20)));
        let vapp = provider_summary(&MoRef::new("VirtualApp", "resgroup-v1")).unwrap();
        assert_eq!(vapp.field("refreshRate"), Some(&Value::Int(20)));
        let c = provider_summary(&MoRef::new("ClusterComputeResource", "domain-c1")).unwrap();
        assert_eq!(c.field("currentSupported"), Some(&Value::Bool(false)));
        assert_eq!(c.field("summarySupported"), Some(&Value::Bool(true)));
        assert_eq!(c.field("refreshRate"), Some(&Value::Int(-1)));
        let names: Vec<&str> = c
            .as_data()
            .unwrap()
            .fields
            .iter()
            .map(|(n, _)| n.as_ref())
            .collect();
        assert_eq!(
            names,
            [
                "entity",
                "currentSupported",
                "summarySupported",
                "refreshRate"
            ]
        );
        assert!(provider_summary(&MoRef::new("SessionManager", "SessionManager")).is_err());
    }

    #[test]
    fn counters_by_id_and_level() {
        let v = counters_by_id(&[12, 424_242, 2]);
        let keys: Vec<i64> = v
            .items()
            .iter()
            .filter_map(|c| c.field("key")?.as_i64())
            .collect();
        assert_eq!(keys, [12, 2]);
        let l1 = counters_by_level(1).unwrap();
        assert!(
            l1.items()
                .iter()
                .all(|c| c.field("level") == Some(&Value::Int(1)))
        );
        assert!(!l1.items().is_empty());
        assert_eq!(counters_by_level(4).unwrap().items().len(), 560);
        assert!(counters_by_level(0).is_err());
        assert!(counters_by_level(5).is_err());
    }
}
