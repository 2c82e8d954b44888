//! QueryPerf and QueryAvailablePerfMetric at historical intervals.

use super::*;
use crate::soap::parse_document;

/// 2017-10-02T08:00:00Z.
const T0_MS: i64 = 1_506_931_200_000;
const STEP_MS: i64 = 20_000;
/// 40 realtime intervals: two complete 300 s periods and a pending third.
const STEPS: i64 = 40;
const NOW_MS: i64 = T0_MS + STEPS * STEP_MS;

fn vm() -> MoRef {
    MoRef::new("VirtualMachine", "vm-1")
}

fn cluster() -> MoRef {
    MoRef::new("ClusterComputeResource", "domain-c7")
}

/// vm-1 with cpu.usagemhz.average (6) "" = step number and cpu.ready.summation (12) "" and
/// "0" = 1; domain-c7 with history-only cpu.usagemhz.average = 100.
fn store() -> PerfStore {
    let mut s = PerfStore::default();
    for i in 1..=STEPS {
        let t = T0_MS + i * STEP_MS;
        s.record_all(&vm(), t, [(6, "", i), (12, "", 1), (12, "0", 1)]);
        s.record_history_only(&cluster(), t, [(6, "", 100)]);
    }
    s
}

fn resolve(m: &MoRef) -> Result<MoRef, Fault> {
    match m.value.as_str() {
        "vm-1" => Ok(vm()),
        "domain-c7" => Ok(cluster()),
        _ => Err(Fault::not_found(m)),
    }
}

fn run_at(now_ms: i64, inner: &str) -> Result<Value, Fault> {
    let doc = format!(
        r#"<querySpec xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="PerfQuerySpec">{inner}</querySpec>"#
    );
    let spec = parse_query_spec(&parse_document(&doc).unwrap())?;
    run_queries(&[spec], &store(), now_ms, resolve)
}

fn run(inner: &str) -> Result<Value, Fault> {
    run_at(NOW_MS, inner)
}

const VM: &str = r#"<entity type="VirtualMachine">vm-1</entity>"#;
const CLUSTER: &str = r#"<entity type="ClusterComputeResource">domain-c7</entity>"#;

fn infos(metric: &Value) -> Vec<(i64, i64)> {
    metric
        .field("sampleInfo")
        .unwrap()
        .items()
        .iter()
        .map(|s| {
            let t = match s.field("timestamp") {
                Some(Value::DateTime(t)) => *t,
                other => panic!("timestamp {other:?}"),
            };
            (t, s.field("interval").and_then(Value::as_i64).unwrap())
        })
        .collect()
}

fn values(metric: &Value) -> Vec<(i64, String, Vec<i64>)> {
    metric
        .field("value")
        .unwrap()
        .items()
        .iter()
        .map(|s| {
            let id = s.field("id").unwrap();
            (
                id.field("counterId").and_then(Value::as_i64).unwrap(),
                id.field("instance")
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned(),
                s.field("value")
                    .unwrap()
                    .items()
                    .iter()
                    .filter_map(Value::as_i64)
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn a_300_s_query_answers_from_the_rollups() {
    let r = run(&format!(
        "{VM}<metricId><counterId>12</counterId><instance>*</instance></metricId><metricId><counterId>6</counterId><instance></instance></metricId><intervalId>300</intervalId>"
    ))
    .unwrap();
    let m = &r.items()[0];
    assert_eq!(infos(m), [(T0_MS + 300_000, 300), (T0_MS + 600_000, 300)]);
    // The vCPU instance is not archived at level 1; ready is summed, usage averaged.
    assert_eq!(
        values(m),
        [
            (12, String::new(), vec![15, 15]),
            (6, String::new(), vec![8, 23]),
        ]
    );
}

#[test]
fn max_sample_is_ignored_for_historical_statistics() {
    let r = run(&format!(
        "{VM}<maxSample>1</maxSample><intervalId>300</intervalId>"
    ))
    .unwrap();
    assert_eq!(infos(&r.items()[0]).len(), 2);
    // …but still applies to realtime.
    let r = run(&format!(
        "{VM}<maxSample>1</maxSample><intervalId>20</intervalId>"
    ))
    .unwrap();
    assert_eq!(infos(&r.items()[0]), [(NOW_MS, 20)]);
}

#[test]
fn historical_time_windows_and_retention() {
    // startTime exclusive, endTime inclusive.
    let r = run(&format!(
        "{VM}<intervalId>300</intervalId><startTime>2017-10-02T08:05:00Z</startTime><endTime>2017-10-02T08:10:00Z</endTime>"
    ))
    .unwrap();
    assert_eq!(infos(&r.items()[0]), [(T0_MS + 600_000, 300)]);
    // A day later the first sample has left the past-day interval, the second not yet.
    let day_ms = 86_400_000;
    let r = run_at(
        T0_MS + 300_000 + day_ms,
        &format!("{VM}<intervalId>300</intervalId>"),
    )
    .unwrap();
    assert_eq!(infos(&r.items()[0]), [(T0_MS + 600_000, 300)]);
    // The realtime hour is long gone by then.
    let r = run_at(
        T0_MS + 300_000 + day_ms,
        &format!("{VM}<intervalId>20</intervalId>"),
    )
    .unwrap();
    assert!(r.items().is_empty());
}

#[test]
fn clusters_have_history_and_no_realtime() {
    // No intervalId: the cluster's original interval, 300 s.
    let r = run(CLUSTER).unwrap();
    let m = &r.items()[0];
    assert_eq!(infos(m), [(T0_MS + 300_000, 300), (T0_MS + 600_000, 300)]);
    assert_eq!(values(m), [(6, String::new(), vec![100, 100])]);
    // Realtime: nothing, as vCenter answers for a cluster.
    let r = run(&format!("{CLUSTER}<intervalId>20</intervalId>")).unwrap();
    assert!(r.items().is_empty());
    // The week interval has no complete 30-minute period yet: no entity metric at all.
    let r = run(&format!("{CLUSTER}<intervalId>1800</intervalId>")).unwrap();
    assert!(r.items().is_empty());
    // A VM without intervalId stays realtime.
    let r = run(VM).unwrap();
    assert_eq!(infos(&r.items()[0]).len(), STEPS as usize);
}

#[test]
fn csv_carries_the_interval() {
    let r = run(&format!(
        "{CLUSTER}<intervalId>300</intervalId><format>csv</format>"
    ))
    .unwrap();
    let m = &r.items()[0];
    assert_eq!(
        m.field("sampleInfoCSV").and_then(Value::as_str),
        Some("300,2017-10-02T08:05:00Z,300,2017-10-02T08:10:00Z")
    );
}

#[test]
fn available_metrics_per_interval() {
    let s = store();
    let ids = |entity: &MoRef, interval: Option<i32>| -> Vec<(i64, String)> {
        available_metrics(&s, entity, None, None, interval, NOW_MS)
            .items()
            .iter()
            .map(|m| {
                (
                    m.field("counterId").and_then(Value::as_i64).unwrap(),
                    m.field("instance")
                        .and_then(Value::as_str)
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(ids(&vm(), Some(20)).len(), 3);
    assert_eq!(
        ids(&vm(), Some(300)),
        [(6, String::new()), (12, String::new())]
    );
    assert!(ids(&vm(), Some(1800)).is_empty());
    assert_eq!(ids(&cluster(), None), [(6, String::new())]);
    assert!(ids(&cluster(), Some(20)).is_empty());
    // beginTime after the last 300 s sample: nothing.
    let late = available_metrics(&s, &vm(), Some(T0_MS + 600_001), None, Some(300), NOW_MS);
    assert!(late.items().is_empty());
}
