//! A containerVM's recent performance samples, read as VIC's port layer reads them for
//! `docker stats`: the vSphere realtime (20 s) counters of the VM through `QueryPerf`, and
//! the MHz of one of its host's cores (to turn MHz into CPU time).

use super::{PortLayer, PortLayerError};
use crate::vsphere;
use vcsim::vmodl::{DataObject, MoRef, Value};

/// The counters read, by their vSphere names.
pub const COUNTERS: [&str; 4] = [
    "cpu.usagemhz.average",
    "mem.consumed.average",
    "mem.active.average",
    "mem.granted.average",
];

/// One realtime sample of a containerVM.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VmSample {
    /// The interval's end, virtual ms since the epoch.
    pub end_ms: i64,
    /// `cpu.usagemhz.average`, MHz.
    pub cpu_usage_mhz: i64,
    /// `mem.consumed.average`, KB.
    pub mem_consumed_kb: i64,
    /// `mem.active.average`, KB.
    pub mem_active_kb: i64,
    /// `mem.granted.average`, KB.
    pub mem_granted_kb: i64,
}

/// The samples and what converts them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VmMetrics {
    /// Oldest first.
    pub samples: Vec<VmSample>,
    /// The sampling period, s (20).
    pub interval_s: i64,
    /// MHz of one core of the VM's host.
    pub core_mhz: i64,
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl PortLayer {
    /// The PerformanceManager of the service content.
    fn perf_manager(&self) -> Result<MoRef, PortLayerError> {
        self.client
            .service_content()
            .raw
            .field("perfManager")
            .and_then(Value::as_moref)
            .cloned()
            .ok_or_else(|| {
                PortLayerError::Vsphere(vsphere::Error::Protocol(
                    "the service content has no perfManager".into(),
                ))
            })
    }

    /// The perf counter ids of [`COUNTERS`], read once from the PerfManager.
    async fn counter_ids(&self) -> Result<[i32; 4], PortLayerError> {
        if let Some(ids) = *self.counter_ids.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(ids);
        }
        let pm = self.perf_manager()?;
        let counters = self.client.get_property(&pm, "perfCounter").await?;
        let mut ids = [0i32; 4];
        for c in counters.as_ref().map(Value::items).unwrap_or(&[]) {
            let name = |f: &str| {
                c.field(f)
                    .and_then(|k| k.field("key"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let full = format!(
                "{}.{}.{}",
                name("groupInfo"),
                name("nameInfo"),
                c.field("rollupType").and_then(Value::as_str).unwrap_or("")
            );
            if let Some(i) = COUNTERS.iter().position(|n| *n == full) {
                ids[i] = c
                    .field("key")
                    .and_then(number)
                    .and_then(|k| i32::try_from(k).ok())
                    .unwrap_or(0);
            }
        }
        if let Some(missing) = ids.iter().position(|k| *k == 0) {
            return Err(PortLayerError::Vsphere(vsphere::Error::Protocol(format!(
                "the PerfManager has no {}",
                COUNTERS[missing]
            ))));
        }
        *self.counter_ids.lock().unwrap_or_else(|p| p.into_inner()) = Some(ids);
        Ok(ids)
    }

    /// The last `max_samples` realtime samples of `vm`.
    pub async fn vm_metrics(
        &self,
        vm: &MoRef,
        max_samples: i32,
    ) -> Result<VmMetrics, PortLayerError> {
        let ids = self.counter_ids().await?;
        let pm = self.perf_manager()?;
        let metric_ids: Vec<Value> = ids
            .iter()
            .map(|id| {
                DataObject::new("PerfMetricId")
                    .with("counterId", Value::Int(*id))
                    .with("instance", Value::str(""))
                    .into_value()
            })
            .collect();
        let spec = DataObject::new("PerfQuerySpec")
            .with("entity", Value::MoRef(vm.clone()))
            .with("maxSample", Value::Int(max_samples.max(1)))
            .with("metricId", Value::array("PerfMetricId", metric_ids))
            .with("intervalId", Value::Int(20))
            .into_value();
        let found = self
            .client
            .call_list(
                "QueryPerf",
                &pm,
                &[("querySpec", Value::array("PerfQuerySpec", vec![spec]))],
            )
            .await?;
        let mut out = VmMetrics {
            interval_s: 20,
            core_mhz: self.core_mhz(vm).await?,
            ..VmMetrics::default()
        };
        let Some(metric) = found.first() else {
            return Ok(out);
        };
        for info in metric.field("sampleInfo").map(Value::items).unwrap_or(&[]) {
            let end_ms = match info.field("timestamp") {
                Some(Value::DateTime(ms)) => *ms,
                Some(Value::Str(s)) => vcsim::vmodl::parse_datetime(s).unwrap_or(0),
                _ => 0,
            };
            out.samples.push(VmSample {
                end_ms,
                ..VmSample::default()
            });
        }
        for series in metric.field("value").map(Value::items).unwrap_or(&[]) {
            let id = series
                .field("id")
                .and_then(|i| i.field("counterId"))
                .and_then(number)
                .unwrap_or(-1);
            let Some(which) = ids.iter().position(|k| i64::from(*k) == id) else {
                continue;
            };
            let values = series.field("value").map(Value::items).unwrap_or(&[]);
            for (s, v) in out.samples.iter_mut().zip(values) {
                let v = number(v).unwrap_or(0).max(0);
                match which {
                    0 => s.cpu_usage_mhz = v,
                    1 => s.mem_consumed_kb = v,
                    2 => s.mem_active_kb = v,
                    _ => s.mem_granted_kb = v,
                }
            }
        }
        Ok(out)
    }

    /// MHz of one core of `vm`'s host (`summary.hardware.cpuMhz`).
    async fn core_mhz(&self, vm: &MoRef) -> Result<i64, PortLayerError> {
        let host = self
            .client
            .get_property(vm, "runtime.host")
            .await?
            .and_then(|h| h.as_moref().cloned());
        let Some(host) = host else {
            return Ok(0);
        };
        Ok(self
            .client
            .get_property(&host, "summary.hardware.cpuMhz")
            .await?
            .as_ref()
            .and_then(number)
            .unwrap_or(0))
    }
}
