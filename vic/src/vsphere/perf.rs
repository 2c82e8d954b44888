//! Reading `PerformanceManager` answers as any monitoring client does: the counter
//! catalogue (`perfCounter`: key, dotted name, unit) and a `QueryPerf` answer's entity
//! metrics, in either `PerfFormat` — `normal` (`PerfEntityMetric`, one element per sample)
//! or `csv` (`PerfEntityMetricCSV`, one text per series). The runner, the live console and
//! `vicbed top` share these decoders.

use vcsim::vmodl::{MoRef, Value};

use super::property::list as items;

/// One counter of `perfCounter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterInfo {
    /// The counter id `PerfMetricId.counterId` names.
    pub key: i32,
    /// `group.name.rollup` (`cpu.ready.summation`).
    pub dotted: String,
    /// `unitInfo.key` (`millisecond`, `kiloBytes`, …), when given.
    pub unit: Option<String>,
}

/// The counters of a `perfCounter` value; entries lacking a key, group, name or rollup are
/// left out.
pub fn counter_infos(counters: &Value) -> Vec<CounterInfo> {
    let mut out = Vec::new();
    for c in counters.items() {
        let text = |a: &str, b: &str| c.field(a).and_then(|v| v.field(b)).and_then(Value::as_str);
        let key = c
            .field("key")
            .and_then(Value::as_i64)
            .and_then(|k| i32::try_from(k).ok());
        if let (Some(key), Some(g), Some(n), Some(r)) = (
            key,
            text("groupInfo", "key"),
            text("nameInfo", "key"),
            c.field("rollupType").and_then(Value::as_str),
        ) {
            out.push(CounterInfo {
                key,
                dotted: format!("{g}.{n}.{r}"),
                unit: text("unitInfo", "key").map(str::to_owned),
            });
        }
    }
    out
}

/// One sample instant of an entity metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleInfo {
    /// The interval, seconds.
    pub interval_s: Option<u32>,
    /// The sample's timestamp, ms since the epoch.
    pub time_ms: Option<i64>,
}

/// One series of an entity metric.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricSeries {
    /// `PerfMetricId.counterId`.
    pub counter_id: i32,
    /// `PerfMetricId.instance` (`""`: the aggregate).
    pub instance: String,
    /// One value per sample (`None` where the server had none).
    pub values: Vec<Option<i64>>,
}

/// A `PerfEntityMetric` or `PerfEntityMetricCSV`, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityMetric {
    /// The entity.
    pub entity: MoRef,
    /// The sample instants, oldest first.
    pub samples: Vec<SampleInfo>,
    /// The series; values line up with `samples`.
    pub series: Vec<MetricSeries>,
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::Any(inner) => text(inner),
        other => other.as_str(),
    }
}

/// Decodes one entity metric of a `QueryPerf` answer; `None` when it names no entity.
pub fn entity_metric(r: &Value) -> Option<EntityMetric> {
    let entity = r.field("entity").and_then(Value::as_moref)?.clone();
    let samples = match r.field("sampleInfoCSV").and_then(text) {
        // `interval,timestamp,interval,timestamp,…`
        Some(csv) => {
            let parts: Vec<&str> = csv.split(',').map(str::trim).collect();
            parts
                .chunks_exact(2)
                .map(|p| SampleInfo {
                    interval_s: p[0].parse().ok(),
                    time_ms: vcsim::vmodl::parse_datetime(p[1]),
                })
                .collect()
        }
        None => items(r, "sampleInfo")
            .iter()
            .map(|s| SampleInfo {
                interval_s: s
                    .field("interval")
                    .and_then(Value::as_i64)
                    .and_then(|i| u32::try_from(i).ok()),
                time_ms: match s.field("timestamp") {
                    Some(Value::DateTime(ms)) => Some(*ms),
                    Some(other) => text(other).and_then(vcsim::vmodl::parse_datetime),
                    None => None,
                },
            })
            .collect(),
    };
    let mut series = Vec::new();
    for s in items(r, "value") {
        let id = s.field("id");
        let Some(counter_id) = id
            .and_then(|i| i.field("counterId"))
            .and_then(Value::as_i64)
            .and_then(|k| i32::try_from(k).ok())
        else {
            continue;
        };
        let instance = id
            .and_then(|i| i.field("instance"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let values = match s.field("value") {
            Some(v) if s.xsi_type() == "PerfMetricSeriesCSV" || text(v).is_some() => text(v)
                .filter(|t| !t.is_empty())
                .map(|t| t.split(',').map(|x| x.trim().parse().ok()).collect())
                .unwrap_or_default(),
            _ => items(s, "value").iter().map(|v| v.as_i64()).collect(),
        };
        series.push(MetricSeries {
            counter_id,
            instance,
            values,
        });
    }
    Some(EntityMetric {
        entity,
        samples,
        series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcsim::vmodl::DataObject;

    fn id(key: i32, instance: &str) -> Value {
        DataObject::new("PerfMetricId")
            .with("counterId", Value::Int(key))
            .with("instance", Value::str(instance))
            .into_value()
    }

    #[test]
    fn both_formats_decode_to_the_same_samples() {
        let vm = MoRef::new("VirtualMachine", "vm-7");
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
                            .with("value", Value::str("640,"))
                            .into_value(),
                    ],
                ),
            )
            .into_value();
        let info = |t: i64| {
            DataObject::new("PerfSampleInfo")
                .with("timestamp", Value::DateTime(t))
                .with("interval", Value::Int(20))
                .into_value()
        };
        let t0 = vcsim::vmodl::parse_datetime("2017-10-02T08:00:20Z").expect("time");
        let normal = DataObject::new("PerfEntityMetric")
            .with("entity", Value::moref(&vm))
            .with(
                "sampleInfo",
                Value::array("PerfSampleInfo", vec![info(t0), info(t0 + 20_000)]),
            )
            .with(
                "value",
                Value::array(
                    "PerfMetricIntSeries",
                    vec![
                        DataObject::new("PerfMetricIntSeries")
                            .with("id", id(6, ""))
                            .with("value", Value::array("long", vec![Value::Long(640)]))
                            .into_value(),
                    ],
                ),
            )
            .into_value();
        let a = entity_metric(&csv).expect("csv");
        let b = entity_metric(&normal).expect("normal");
        assert_eq!(a.entity, vm);
        assert_eq!(a.samples, b.samples);
        assert_eq!(a.samples[1].time_ms, Some(t0 + 20_000));
        assert_eq!(a.samples[0].interval_s, Some(20));
        assert_eq!(a.series[0].values, vec![Some(640), None]);
        assert_eq!(b.series[0].values, vec![Some(640)]);
        assert_eq!(a.series[0].counter_id, 6);
        assert!(entity_metric(&DataObject::new("PerfEntityMetric").into_value()).is_none());
    }
}
