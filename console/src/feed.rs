//! The console's samples: the counters it reads over `QueryPerf`, their display units, and
//! the rolling window every page starts from ([`Window`], bounded to one realtime hour).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use scenarios::runner::perf::AnsweredSeries;
use serde::Serialize;

use crate::model::{CounterView, Counters};

/// The realtime sample interval (ESXi's 20 s).
pub const INTERVAL_MS: i64 = 20_000;

/// Samples kept: one realtime hour, as ESXi keeps (180 × 20 s).
pub const WINDOW_SAMPLES: usize = 180;

/// How a raw counter value becomes the value the page draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conversion {
    /// MHz and other values shown as read.
    Same,
    /// KB → MB.
    KbToMb,
    /// A summation in ms over the interval → % of the interval (esxtop's %RDY: summed over
    /// vCPUs, so a 2-vCPU VM can show up to 200 %).
    MsToPercentOfInterval,
    /// vSphere's percent unit is hundredths of a percent.
    HundredthsToPercent,
}

struct Counter {
    view: CounterView,
    conversion: Conversion,
}

const fn counter(
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    conversion: Conversion,
) -> Counter {
    Counter {
        view: CounterView { name, label, unit },
        conversion,
    }
}

/// Read for VCH pools: the vCenter advanced chart's CPU and memory sets.
const POOL: &[Counter] = &[
    counter("cpu.demand.average", "CPU demand", "MHz", Conversion::Same),
    counter(
        "cpu.entitlement.latest",
        "CPU entitlement",
        "MHz",
        Conversion::Same,
    ),
    counter("cpu.usagemhz.average", "CPU usage", "MHz", Conversion::Same),
    counter("mem.granted.average", "Granted", "MB", Conversion::KbToMb),
    counter("mem.consumed.average", "Consumed", "MB", Conversion::KbToMb),
    counter("mem.active.average", "Active", "MB", Conversion::KbToMb),
    counter("mem.vmmemctl.average", "Balloon", "MB", Conversion::KbToMb),
    counter("mem.swapped.average", "Swapped", "MB", Conversion::KbToMb),
];

/// Read for VMs in VCH pools.
const VM: &[Counter] = &[
    counter("cpu.demand.average", "CPU demand", "MHz", Conversion::Same),
    counter(
        "cpu.entitlement.latest",
        "CPU entitlement",
        "MHz",
        Conversion::Same,
    ),
    counter("cpu.usagemhz.average", "CPU usage", "MHz", Conversion::Same),
    counter(
        "cpu.ready.summation",
        "CPU ready",
        "%",
        Conversion::MsToPercentOfInterval,
    ),
    counter(
        "cpu.maxlimited.summation",
        "Max limited",
        "%",
        Conversion::MsToPercentOfInterval,
    ),
    counter(
        "cpu.costop.summation",
        "Co-stop",
        "%",
        Conversion::MsToPercentOfInterval,
    ),
    counter("mem.granted.average", "Granted", "MB", Conversion::KbToMb),
    counter("mem.consumed.average", "Consumed", "MB", Conversion::KbToMb),
    counter("mem.active.average", "Active", "MB", Conversion::KbToMb),
    counter("mem.vmmemctl.average", "Balloon", "MB", Conversion::KbToMb),
    counter("mem.swapped.average", "Swapped", "MB", Conversion::KbToMb),
    counter(
        "mem.latency.average",
        "Latency",
        "%",
        Conversion::HundredthsToPercent,
    ),
];

/// The counter sets, as the state shows them.
pub fn counters() -> Counters {
    Counters {
        pool: POOL.iter().map(|c| c.view.clone()).collect(),
        vm: VM.iter().map(|c| c.view.clone()).collect(),
    }
}

/// Counter names to read for a pool (`true`) or a VM.
pub fn names(pool: bool) -> impl Iterator<Item = &'static str> {
    (if pool { POOL } else { VM }).iter().map(|c| c.view.name)
}

/// A counter's label, for counters the console reads.
pub fn label(name: &str) -> Option<&'static str> {
    POOL.iter()
        .chain(VM)
        .find(|c| c.view.name == name)
        .map(|c| c.view.label)
}

fn conversion(name: &str) -> Option<Conversion> {
    POOL.iter()
        .chain(VM)
        .find(|c| c.view.name == name)
        .map(|c| c.conversion)
}

/// A raw counter value in the page's unit; `None` for counters the console does not read.
pub fn display(name: &str, raw: i64) -> Option<f64> {
    let raw = raw as f64;
    Some(match conversion(name)? {
        Conversion::Same => raw,
        Conversion::KbToMb => raw / 1024.0,
        Conversion::MsToPercentOfInterval => raw / INTERVAL_MS as f64 * 100.0,
        Conversion::HundredthsToPercent => raw / 100.0,
    })
}

/// A value the page draws back in the counter's raw `QueryPerf` unit (the inverse of
/// [`display`]).
pub fn raw(name: &str, shown: f64) -> Option<f64> {
    Some(match conversion(name)? {
        Conversion::Same => shown,
        Conversion::KbToMb => shown * 1024.0,
        Conversion::MsToPercentOfInterval => shown / 100.0 * INTERVAL_MS as f64,
        Conversion::HundredthsToPercent => shown * 100.0,
    })
}

/// Every entity's values at one sample instant, in display units.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// The sample's timestamp (virtual, the end of its 20 s interval).
    pub ts_ms: i64,
    /// MoRef value → counter → value.
    pub entities: BTreeMap<String, BTreeMap<&'static str, f64>>,
    /// Wall time (Unix ms) when the console saw the clock pass this sample: what the
    /// update latency (virtual sample → browser) is measured from. Not deterministic, and
    /// never part of a report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen_unix_ms: Option<i64>,
}

/// Groups `QueryPerf` series (aggregate instances only) into samples by timestamp, oldest
/// first.
pub fn assemble(series: Vec<AnsweredSeries>) -> Vec<Sample> {
    let mut by_ts: BTreeMap<i64, Sample> = BTreeMap::new();
    for ((entity, counter, instance), points) in series {
        if !instance.is_empty() {
            continue;
        }
        let Some(name) = POOL
            .iter()
            .chain(VM)
            .find(|c| c.view.name == counter)
            .map(|c| c.view.name)
        else {
            continue;
        };
        for (ts_ms, raw) in points {
            let Some(value) = raw.and_then(|r| display(name, r)) else {
                continue;
            };
            by_ts
                .entry(ts_ms)
                .or_insert_with(|| Sample {
                    ts_ms,
                    entities: BTreeMap::new(),
                    seen_unix_ms: None,
                })
                .entities
                .entry(entity.clone())
                .or_default()
                .insert(name, value);
        }
    }
    by_ts.into_values().collect()
}

/// The newest [`WINDOW_SAMPLES`] samples.
#[derive(Debug, Default)]
pub struct Window {
    samples: VecDeque<Arc<Sample>>,
}

impl Window {
    /// Appends `sample` when it is newer than the newest kept (a repeat is dropped); the
    /// oldest falls out past the bound. True when it was kept.
    pub fn push(&mut self, sample: Arc<Sample>) -> bool {
        if self.samples.back().is_some_and(|s| s.ts_ms >= sample.ts_ms) {
            return false;
        }
        if self.samples.len() == WINDOW_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
        true
    }

    /// Adds the entities of `samples` to the kept samples of the same instants (those not
    /// kept are ignored; values already there stay): how a VM the console learns of late
    /// gets the samples it had before. Returns how many kept samples changed.
    pub fn merge(&mut self, samples: Vec<Sample>) -> usize {
        let mut changed = 0;
        for incoming in samples {
            let Ok(i) = self
                .samples
                .binary_search_by_key(&incoming.ts_ms, |s| s.ts_ms)
            else {
                continue;
            };
            let kept = &self.samples[i];
            if incoming
                .entities
                .keys()
                .all(|e| kept.entities.contains_key(e))
            {
                continue;
            }
            let mut merged = Sample::clone(kept);
            for (entity, values) in incoming.entities {
                merged.entities.entry(entity).or_insert(values);
            }
            self.samples[i] = Arc::new(merged);
            changed += 1;
        }
        changed
    }

    /// The oldest sample's timestamp.
    pub fn first_ts_ms(&self) -> Option<i64> {
        self.samples.front().map(|s| s.ts_ms)
    }

    /// Oldest first.
    pub fn samples(&self) -> impl Iterator<Item = &Arc<Sample>> {
        self.samples.iter()
    }

    /// The newest sample's timestamp.
    pub fn last_ts_ms(&self) -> Option<i64> {
        self.samples.back().map(|s| s.ts_ms)
    }

    /// The last `n` values of `counter` for `entity`, oldest first (samples without it are
    /// skipped).
    pub fn recent(&self, entity: &str, counter: &str, n: usize) -> Vec<f64> {
        let mut out: Vec<f64> = self
            .samples
            .iter()
            .rev()
            .filter_map(|s| s.entities.get(entity)?.get(counter).copied())
            .take(n)
            .collect();
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_units_follow_the_counters() {
        assert_eq!(display("cpu.ready.summation", 10_000), Some(50.0));
        assert_eq!(display("cpu.ready.summation", 30_000), Some(150.0));
        assert_eq!(display("mem.vmmemctl.average", 2048), Some(2.0));
        assert_eq!(display("mem.latency.average", 4_000), Some(40.0));
        assert_eq!(display("cpu.demand.average", 1800), Some(1800.0));
        assert_eq!(display("cpu.run.summation", 1), None);
        for (name, v) in [
            ("cpu.ready.summation", 12_345),
            ("mem.granted.average", 4096),
        ] {
            let shown = display(name, v).expect("read");
            assert_eq!(raw(name, shown), Some(v as f64));
        }
    }

    #[test]
    fn assemble_groups_by_time_and_keeps_aggregates() {
        let series = vec![
            (
                ("vm-1".into(), "cpu.ready.summation".into(), String::new()),
                vec![(20_000, Some(2_000)), (40_000, None)],
            ),
            (
                ("vm-1".into(), "cpu.ready.summation".into(), "0".into()),
                vec![(20_000, Some(1_000))],
            ),
            (
                (
                    "resgroup-1".into(),
                    "cpu.demand.average".into(),
                    String::new(),
                ),
                vec![(40_000, Some(900))],
            ),
            (
                ("vm-1".into(), "cpu.idle.summation".into(), String::new()),
                vec![(20_000, Some(5))],
            ),
        ];
        let samples = assemble(series);
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].ts_ms, 20_000);
        assert_eq!(samples[0].entities["vm-1"]["cpu.ready.summation"], 10.0);
        assert_eq!(samples[0].entities["vm-1"].len(), 1);
        assert_eq!(
            samples[1].entities["resgroup-1"]["cpu.demand.average"],
            900.0
        );
        assert!(!samples[1].entities.contains_key("vm-1"));
    }

    #[test]
    fn the_window_is_bounded_and_ordered() {
        let mut w = Window::default();
        for i in 0..(WINDOW_SAMPLES as i64 + 10) {
            let mut entities = BTreeMap::new();
            entities.insert(
                "vm-1".to_owned(),
                BTreeMap::from([("cpu.ready.summation", i as f64)]),
            );
            assert!(w.push(Arc::new(Sample {
                ts_ms: (i + 1) * INTERVAL_MS,
                entities,
                seen_unix_ms: None,
            })));
        }
        assert_eq!(w.samples().count(), WINDOW_SAMPLES);
        assert!(!w.push(Arc::new(Sample {
            ts_ms: INTERVAL_MS,
            entities: BTreeMap::new(),
            seen_unix_ms: None,
        })));
        let last = w.recent("vm-1", "cpu.ready.summation", 3);
        let n = WINDOW_SAMPLES as f64 + 9.0;
        assert_eq!(last, vec![n - 2.0, n - 1.0, n]);
        assert!(w.recent("vm-2", "cpu.ready.summation", 3).is_empty());

        // A late VM's samples join the instants kept; others are ignored.
        let first = w.first_ts_ms().expect("kept");
        let late = |ts_ms| Sample {
            ts_ms,
            entities: BTreeMap::from([(
                "vm-2".to_owned(),
                BTreeMap::from([("cpu.ready.summation", 1.0)]),
            )]),
            seen_unix_ms: None,
        };
        let merged = w.merge(vec![
            late(first - INTERVAL_MS),
            late(first),
            late(first + 1),
        ]);
        assert_eq!(merged, 1);
        assert_eq!(w.recent("vm-2", "cpu.ready.summation", 3), vec![1.0]);
        assert_eq!(w.merge(vec![late(first)]), 0, "already there");
        assert_eq!(
            w.recent("vm-1", "cpu.ready.summation", 1).len(),
            1,
            "kept values stay"
        );
    }
}
