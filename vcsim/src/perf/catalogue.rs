//! vCenter's performance counter catalogue (`PerformanceManager.perfCounter`), its historical
//! intervals and its `PerformanceDescription`.
//!
//! The counters come from `data/perf_counters.tsv`, a capture of a real vCenter's 560
//! `PerfCounterInfo` (key, group, name, rollup, unit, stats type, level, per-device level and
//! the English labels). Clients look counters up by key or by the dotted full name
//! `group.name.rollup` (`cpu.ready.summation`), so both indexes are built once, on first use.
//! Counter keys are vCenter's; scripts written against a real vCenter hard-code some of them
//! (2 = `cpu.usage.average`, 12 = `cpu.ready.summation`).

use crate::vmodl::{DataObject, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The bundled catalogue: a header line, then one tab-separated row per counter.
const COUNTERS_TSV: &str = include_str!("../../data/perf_counters.tsv");

/// Number of tab-separated columns in a catalogue row.
const COLUMNS: usize = 12;

/// One performance counter as vCenter describes it in `PerfCounterInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterDef {
    /// The counter id (`PerfCounterInfo.key`, `PerfMetricId.counterId`).
    pub key: i32,
    /// Group key (`cpu`, `mem`, …): `groupInfo.key`.
    pub group: &'static str,
    /// Counter name within the group (`ready`, `capacity.usage`): `nameInfo.key`.
    pub name: &'static str,
    /// `PerfSummaryType` value (`average`, `summation`, `latest`, …).
    pub rollup: &'static str,
    /// Unit key (`percent`, `millisecond`, `kiloBytes`, …): `unitInfo.key`.
    pub unit: &'static str,
    /// `PerfStatsType` value (`absolute`, `delta`, `rate`).
    pub stats_type: &'static str,
    /// Collection level (1–4) at which vCenter archives the aggregate.
    pub level: i32,
    /// Collection level (1–4) at which vCenter archives per-instance values.
    pub per_device_level: i32,
    /// `nameInfo.label` (`Ready`).
    pub label: &'static str,
    /// `nameInfo.summary`, the one-sentence definition.
    pub summary: &'static str,
    /// `groupInfo.label` (`CPU`); vCenter repeats it as the group's summary.
    pub group_label: &'static str,
    /// `unitInfo.label` (`ms`, `%`, `KB`).
    pub unit_label: &'static str,
}

impl CounterDef {
    /// The dotted full name clients use: `group.name.rollup` (`cpu.ready.summation`).
    pub fn full_name(&self) -> String {
        format!("{}.{}.{}", self.group, self.name, self.rollup)
    }
}

/// The parsed catalogue with its indexes.
struct Catalogue {
    defs: Vec<CounterDef>,
    by_key: HashMap<i32, usize>,
    by_name: HashMap<String, i32>,
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let (defs, _rejected) = parse(COUNTERS_TSV);
        let mut by_key = HashMap::with_capacity(defs.len());
        let mut by_name = HashMap::with_capacity(defs.len());
        for (i, d) in defs.iter().enumerate() {
            // The first row wins on a duplicate; the unit test proves the bundled data has
            // none, so this only matters for a hand-edited file.
            by_key.entry(d.key).or_insert(i);
            by_name.entry(d.full_name()).or_insert(d.key);
        }
        Catalogue {
            defs,
            by_key,
            by_name,
        }
    })
}

/// Parses catalogue text into counters, returning them with the number of rows that were
/// rejected as malformed. Never panics: a bad row is skipped rather than taking the server
/// down (the unit test keeps the bundled file at zero rejects).
fn parse(text: &'static str) -> (Vec<CounterDef>, usize) {
    let mut defs = Vec::new();
    let mut rejected = 0;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with("key\t") {
            continue;
        }
        match parse_row(line) {
            Some(d) => defs.push(d),
            None => rejected += 1,
        }
    }
    (defs, rejected)
}

fn parse_row(line: &'static str) -> Option<CounterDef> {
    let f: Vec<&'static str> = line.split('\t').collect();
    if f.len() != COLUMNS || f[1].is_empty() || f[2].is_empty() || f[3].is_empty() {
        return None;
    }
    Some(CounterDef {
        key: f[0].trim().parse().ok()?,
        group: f[1],
        name: f[2],
        rollup: f[3],
        unit: f[4],
        stats_type: f[5],
        level: f[6].trim().parse().ok()?,
        per_device_level: f[7].trim().parse().ok()?,
        label: f[8],
        summary: f[9],
        group_label: f[10],
        unit_label: f[11],
    })
}

/// All counters in catalogue (key) order.
pub fn all() -> &'static [CounterDef] {
    &catalogue().defs
}

/// The counter with id `key`.
pub fn by_key(key: i32) -> Option<&'static CounterDef> {
    let c = catalogue();
    c.by_key.get(&key).map(|&i| &c.defs[i])
}

/// The id of the counter named `group.name.rollup` (`cpu.ready.summation` → 12). Names may
/// themselves contain dots (`cpu.capacity.usage.average`); the full string is matched.
pub fn key_of(full_name: &str) -> Option<i32> {
    catalogue().by_name.get(full_name).copied()
}

/// The long summary vCenter gives each unit in `unitInfo.summary` (the label is in the
/// catalogue). Captured from a vCenter's `perfCounter` (govmomi `simulator/vpx`).
fn unit_summary(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "percent" => "Percentage",
        "kiloBytes" => "Kilobyte",
        "kiloBytesPerSecond" => "Kilobytes per second",
        "megaBytes" => "Megabyte",
        "teraBytes" => "Terabyte",
        "megaHertz" => "Megahertz",
        "millisecond" => "Millisecond",
        "microsecond" => "Microsecond",
        "second" => "Second",
        "number" => "Number",
        "watt" => "Watt",
        "joule" => "Joule",
        "celsius" => "Temperature in degrees Celsius",
        _ => return None,
    })
}

/// An `ElementDescription { label, summary, key }` (Description's fields come first, as the
/// WSDL sequence inherits them).
fn element_description(label: &str, summary: &str, key: &str) -> Value {
    DataObject::new("ElementDescription")
        .with("label", Value::str(label))
        .with("summary", Value::str(summary))
        .with("key", Value::str(key))
        .into_value()
}

/// One counter as a `PerfCounterInfo` data object.
pub fn counter_info(c: &CounterDef) -> Value {
    let unit_summary = unit_summary(c.unit).unwrap_or(c.unit_label);
    DataObject::new("PerfCounterInfo")
        .with("key", Value::Int(c.key))
        .with("nameInfo", element_description(c.label, c.summary, c.name))
        .with(
            "groupInfo",
            element_description(c.group_label, c.group_label, c.group),
        )
        .with(
            "unitInfo",
            element_description(c.unit_label, unit_summary, c.unit),
        )
        .with("rollupType", Value::enumv("PerfSummaryType", c.rollup))
        .with("statsType", Value::enumv("PerfStatsType", c.stats_type))
        .with("level", Value::Int(c.level))
        .with("perDeviceLevel", Value::Int(c.per_device_level))
        .into_value()
}

/// The whole catalogue as `PerfCounterInfo` values (`PerformanceManager.perfCounter`).
pub fn counter_infos() -> Vec<Value> {
    all().iter().map(counter_info).collect()
}

/// vCenter's four default historical intervals as `PerfInterval` values
/// (`PerformanceManager.historicalInterval`), from [`super::rollup::HISTORICAL_INTERVALS`]: the
/// same table decides what the store rolls up and keeps.
pub fn historical_intervals() -> Vec<Value> {
    super::rollup::HISTORICAL_INTERVALS
        .iter()
        .map(|i| {
            DataObject::new("PerfInterval")
                .with("key", Value::Int(i.key))
                .with("samplingPeriod", Value::Int(i.sampling_period_s))
                .with("name", Value::str(i.name))
                .with("length", Value::Int(i.length_s))
                .with("level", Value::Int(i.level))
                .with("enabled", Value::Bool(true))
                .into_value()
        })
        .collect()
}

/// `PerfSummaryType` values with a label and summary (`description.counterType`).
const SUMMARY_TYPES: [(&str, &str, &str); 6] = [
    (
        "average",
        "Average",
        "Average of the values collected over the summarization period",
    ),
    (
        "maximum",
        "Maximum",
        "Maximum value of the counter over the summarization period",
    ),
    (
        "minimum",
        "Minimum",
        "Minimum value of the counter over the summarization period",
    ),
    (
        "latest",
        "Latest",
        "Most recent value of the counter over the summarization period",
    ),
    (
        "summation",
        "Summation",
        "Sum of the values of the counter over the summarization period",
    ),
    ("none", "None", "The counter is never rolled up"),
];

/// `PerfStatsType` values with a label and summary (`description.statsType`).
const STATS_TYPES: [(&str, &str, &str); 3] = [
    (
        "absolute",
        "Absolute",
        "An actual value, level or state of the counter",
    ),
    (
        "delta",
        "Delta",
        "The change of the counter during the sampling period",
    ),
    (
        "rate",
        "Rate",
        "A value normalized over the sampling period",
    ),
];

/// `PerformanceManager.description`: a `PerformanceDescription { counterType, statsType }`.
pub fn description() -> Value {
    let describe = |rows: &[(&str, &str, &str)]| {
        rows.iter()
            .map(|&(key, label, summary)| element_description(label, summary, key))
            .collect::<Vec<_>>()
    };
    DataObject::new("PerformanceDescription")
        .with(
            "counterType",
            Value::array("ElementDescription", describe(&SUMMARY_TYPES)),
        )
        .with(
            "statsType",
            Value::array("ElementDescription", describe(&STATS_TYPES)),
        )
        .into_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalogue_parses_completely() {
        let (defs, rejected) = parse(COUNTERS_TSV);
        assert_eq!(rejected, 0);
        assert_eq!(defs.len(), 560);
        assert_eq!(all().len(), 560);
        // Keys and full names are unique, so both indexes cover every row.
        assert_eq!(catalogue().by_key.len(), 560);
        assert_eq!(catalogue().by_name.len(), 560);
        for d in all() {
            assert!((1..=4).contains(&d.level), "{}", d.full_name());
            assert!((1..=4).contains(&d.per_device_level), "{}", d.full_name());
            assert!(
                [
                    "average",
                    "maximum",
                    "minimum",
                    "latest",
                    "summation",
                    "none"
                ]
                .contains(&d.rollup)
            );
            assert!(["absolute", "delta", "rate"].contains(&d.stats_type));
            assert!(unit_summary(d.unit).is_some(), "unit {}", d.unit);
        }
    }

    #[test]
    fn well_known_counters_have_vcenter_keys() {
        assert_eq!(key_of("cpu.ready.summation"), Some(12));
        assert_eq!(key_of("cpu.usage.average"), Some(2));
        assert_eq!(key_of("cpu.usage"), None);
        assert_eq!(key_of("nonsense"), None);
        let ready = by_key(12).unwrap();
        assert_eq!(
            (ready.group, ready.name, ready.rollup),
            ("cpu", "ready", "summation")
        );
        assert_eq!((ready.unit, ready.stats_type), ("millisecond", "delta"));
        assert_eq!((ready.level, ready.per_device_level), (1, 3));
        assert!(by_key(-5).is_none());
        // A name with a dot inside.
        let k = key_of("cpu.capacity.usage.average").unwrap();
        assert_eq!(by_key(k).unwrap().name, "capacity.usage");
    }

    #[test]
    fn counter_info_uses_wsdl_fields_in_order() {
        let v = counter_info(by_key(2).unwrap());
        let d = v.as_data().unwrap();
        let names: Vec<&str> = d.fields.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(
            names,
            [
                "key",
                "nameInfo",
                "groupInfo",
                "unitInfo",
                "rollupType",
                "statsType",
                "level",
                "perDeviceLevel"
            ]
        );
        let unit = d.get("unitInfo").unwrap();
        assert_eq!(unit.field("key").and_then(Value::as_str), Some("percent"));
        assert_eq!(unit.field("label").and_then(Value::as_str), Some("%"));
        assert_eq!(
            unit.field("summary").and_then(Value::as_str),
            Some("Percentage")
        );
        assert_eq!(d.get("rollupType").unwrap().xsi_type(), "PerfSummaryType");
        assert_eq!(counter_infos().len(), 560);
    }

    #[test]
    fn historical_intervals_have_distinct_keys() {
        let ivs = historical_intervals();
        let keys: Vec<i64> = ivs
            .iter()
            .filter_map(|v| v.field("key").and_then(Value::as_i64))
            .collect();
        assert_eq!(keys, [1, 2, 3, 4]);
        let periods: Vec<i64> = ivs
            .iter()
            .filter_map(|v| v.field("samplingPeriod").and_then(Value::as_i64))
            .collect();
        assert_eq!(periods, [300, 1800, 7200, 86400]);
        let desc = description();
        assert_eq!(desc.field("counterType").unwrap().items().len(), 6);
        assert_eq!(desc.field("statsType").unwrap().items().len(), 3);
    }
}
