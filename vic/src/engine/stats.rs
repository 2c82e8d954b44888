//! `GET /containers/{id}/stats` (vic.md §7.2: VIC supports it): docker's stats JSON built,
//! as VIC's personality builds it, from the containerVM's vSphere realtime counters
//! ([`crate::portlayer::PortLayer::vm_metrics`]) — so the CPU a container gets under its
//! VCH's limit is what `docker stats` shows.
//!
//! CPU: `cpu_usage.total_usage` is the CPU time of the retrieved samples (each 20 s sample's
//! `cpu.usagemhz.average` over one host core's MHz, times 20 s, in ns) and
//! `system_cpu_usage` is the sample's end time times the vCPUs (ns), so the docker CLI's
//! `(Δcpu / Δsystem) × vCPUs × 100` is the usage over one core's capacity, 100 % per busy
//! core. VIC's own `system_cpu_usage` was a constant, which made that percentage wrong
//! (vmware/vic#8640). Memory: `usage` is `mem.consumed`, `limit` the containerVM's memory.
//!
//! `stream=1` (the default) sends a line every second of wall time while the container
//! runs (new samples come every 20 s of virtual time; each line carries the previous sample
//! as `precpu_stats`, which is what the CLI computes from); `stream=0` sends one.

use super::api::{MAX_WAIT, Result, truthy};
use super::events::ChannelBody;
use super::state::{Container, Engine};
use crate::portlayer::{Power, VmMetrics, VmSample};
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Samples read per message: the realtime hour.
const SAMPLES: i32 = 180;
/// Wall time between streamed messages (dockerd's period).
const PERIOD: Duration = Duration::from_secs(1);

/// CPU time of `s`, ns (its MHz over one core's, for the whole interval).
fn cpu_ns(s: &VmSample, m: &VmMetrics) -> u128 {
    if m.core_mhz <= 0 {
        return 0;
    }
    let mhz = u128::try_from(s.cpu_usage_mhz).unwrap_or(0);
    let interval_ns = u128::try_from(m.interval_s).unwrap_or(20) * 1_000_000_000;
    mhz * interval_ns / u128::try_from(m.core_mhz).unwrap_or(1)
}

/// The `cpu_stats` of the first `upto` samples.
fn cpu_stats(m: &VmMetrics, upto: usize, vcpus: u32) -> Json {
    let total: u128 = m.samples.iter().take(upto).map(|s| cpu_ns(s, m)).sum();
    let end_ms = upto
        .checked_sub(1)
        .and_then(|i| m.samples.get(i))
        .map_or(0, |s| s.end_ms);
    let n = u128::from(vcpus.max(1));
    let system = u128::try_from(end_ms.max(0)).unwrap_or(0) * 1_000_000 * n;
    let per_cpu: Vec<u128> = (0..n).map(|_| total / n).collect();
    json!({
        "cpu_usage": {
            "total_usage": total as u64,
            "percpu_usage": per_cpu.iter().map(|v| *v as u64).collect::<Vec<u64>>(),
            "usage_in_kernelmode": 0,
            "usage_in_usermode": total as u64,
        },
        "system_cpu_usage": system as u64,
        "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 },
    })
}

fn rfc3339(ms: i64) -> String {
    super::util::rfc3339_ms(ms)
}

/// One stats message for `c` from `m`.
pub fn message(c: &Container, m: &VmMetrics) -> Json {
    let n = m.samples.len();
    let last = m.samples.last().copied().unwrap_or_default();
    let prev = n.checked_sub(2).and_then(|i| m.samples.get(i)).copied();
    let max_usage = m
        .samples
        .iter()
        .map(|s| s.mem_consumed_kb)
        .max()
        .unwrap_or(0);
    let limit = c.memory_mb.saturating_mul(1 << 20);
    json!({
        "read": rfc3339(last.end_ms),
        "preread": prev.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |p| rfc3339(p.end_ms)),
        "id": c.id,
        "name": format!("/{}", c.name),
        "num_procs": 0,
        "pids_stats": {},
        "blkio_stats": {
            "io_service_bytes_recursive": [], "io_serviced_recursive": [],
            "io_queue_recursive": [], "io_service_time_recursive": [],
            "io_wait_time_recursive": [], "io_merged_recursive": [],
            "io_time_recursive": [], "sectors_recursive": [],
        },
        "storage_stats": {},
        "cpu_stats": cpu_stats(m, n, c.num_cpus),
        "precpu_stats": cpu_stats(m, n.saturating_sub(1), c.num_cpus),
        "memory_stats": {
            "usage": last.mem_consumed_kb * 1024,
            "max_usage": max_usage * 1024,
            "limit": limit,
            "stats": {
                "active": last.mem_active_kb * 1024,
                "granted": last.mem_granted_kb * 1024,
            },
        },
        "networks": {
            "eth0": {
                "rx_bytes": 0, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
                "tx_bytes": 0, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
            },
        },
    })
}

fn line(v: &Json) -> Bytes {
    Bytes::from(format!("{v}\n"))
}

fn json_stream(body: Body) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `GET /containers/{id}/stats?stream=0|1`.
pub async fn stats(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
    let c = engine.resolve(key)?;
    let stream = q.get("stream").is_none_or(|_| truthy(q, "stream"));
    let st = engine.pl.state(&c.vm).await?;
    if st.power != Power::On {
        // A stopped container's stats: zeros, once.
        return Ok(json_stream(Body::from(line(&message(
            &c,
            &VmMetrics::default(),
        )))));
    }
    let first = engine.pl.vm_metrics(&c.vm, SAMPLES).await?;
    if !stream {
        return Ok(json_stream(Body::from(line(&message(&c, &first)))));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let weak = Arc::downgrade(engine);
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        let mut m = first;
        loop {
            if tx.send(line(&message(&c, &m))).await.is_err() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(PERIOD) => {}
                () = tx.closed() => return,
            }
            let Some(engine) = weak.upgrade() else { return };
            if tokio::time::Instant::now() > deadline {
                return;
            }
            match engine.pl.state(&c.vm).await {
                Ok(st) if st.power == Power::On => {}
                _ => return,
            }
            match engine.pl.vm_metrics(&c.vm, SAMPLES).await {
                Ok(next) => m = next,
                Err(_) => return,
            }
        }
    });
    Ok(json_stream(Body::new(ChannelBody(rx))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_follows_usage_over_core_capacity() {
        let m = VmMetrics {
            samples: vec![
                VmSample {
                    end_ms: 20_000,
                    cpu_usage_mhz: 1000,
                    ..VmSample::default()
                },
                VmSample {
                    end_ms: 40_000,
                    cpu_usage_mhz: 500,
                    ..VmSample::default()
                },
            ],
            interval_s: 20,
            core_mhz: 2000,
        };
        let now = cpu_stats(&m, 2, 2);
        let before = cpu_stats(&m, 1, 2);
        let d = |v: &Json, k: &str| v[k].as_u64().unwrap_or(0);
        let cpu_delta =
            d(&now["cpu_usage"], "total_usage") - d(&before["cpu_usage"], "total_usage");
        let sys_delta = d(&now, "system_cpu_usage") - d(&before, "system_cpu_usage");
        // The docker CLI's formula: 500 MHz of a 2000 MHz core is 25 %.
        let percent = cpu_delta as f64 / sys_delta as f64 * 2.0 * 100.0;
        assert!((percent - 25.0).abs() < 1e-9, "{percent}");
        assert_eq!(
            now["cpu_usage"]["percpu_usage"].as_array().map(Vec::len),
            Some(2)
        );
    }
}
