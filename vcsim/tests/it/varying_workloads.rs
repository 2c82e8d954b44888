//! Workloads that vary, end to end: an inventory file with a daily profile and two traces
//! beside it (a vCenter chart export and an esxtop batch cut), VM shares/reservations/limits,
//! and what QueryPerf's `cpu.usagemhz.average` then reports.

use crate::support::{Sim, named, ok, prop, vim};
use scheduler_model::parse_timestamp;
use std::path::{Path, PathBuf};
use vcsim::inventory::InventorySpec;
use vcsim::vmodl::Value;
use vcsim::{Config, Emulator};

/// A fresh directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "vicbed-varying-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("traces")).unwrap();
        TempDir(p)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// vCenter chart export: 20 s samples; the third CPU cell is missing (holds 900 MHz).
const WEB_CSV: &str = "\"Time\",\"Usage in MHz\",\"Active (KB)\"\n\
2017-10-02T08:00:00Z,400,102400\n\
2017-10-02T08:00:20Z,900,102400\n\
2017-10-02T08:00:40Z,,204800\n\
2017-10-02T08:01:00Z,2000,204800\n\
2017-10-02T08:01:20Z,1200,102400\n\
2017-10-02T08:01:40Z,1800,102400\n";

/// esxtop batch cut: 5 s samples, MM/DD/YYYY timestamps, everything quoted.
const BATCH_CSV: &str = "\"(PDH-CSV 4.0) (UTC)(0)\",\"\\\\esx\\Group Cpu(42:batch)\\Demand MHz\",\"\\\\esx\\Group Memory(42:batch)\\Touched MBytes\"\n\
\"10/02/2017 08:00:00\",\"100\",\"10\"\n\
\"10/02/2017 08:00:05\",\"200\",\"10\"\n\
\"10/02/2017 08:00:10\",\"300\",\"10\"\n\
\"10/02/2017 08:00:15\",\"400\",\"10\"\n\
\"10/02/2017 08:00:20\",\"1000\",\"20\"\n\
\"10/02/2017 08:00:25\",\"1000\",\"20\"\n\
\"10/02/2017 08:00:30\",\"2000\",\"20\"\n\
\"10/02/2017 08:00:35\",\"2000\",\"20\"\n";

const INVENTORY: &str = r#"
[[cluster]]
name = "C"
hosts = [{ name = "esx", cores = 8, mhz = 2600, memory_mb = 65536 }]
vms = [
  { name = "daily", vcpus = 1, memory_mb = 2048, workload = "cpu=1000,mem=1024,active=25%,profile=daily,peak=14:00,low=20%" },
  { name = "web", vcpus = 2, memory_mb = 2048, workload = "trace=web.csv", cpu_limit_mhz = 1500, cpu_shares = "high", cpu_reservation_mhz = 500, mem_reservation_mb = 512, mem_shares = 20000 },
  { name = "batch", vcpus = 1, memory_mb = 1024, workload = "trace=traces/batch.csv,repeat=yes" },
]
"#;

fn sim_for(dir: &TempDir) -> Sim {
    dir.write("web.csv", WEB_CSV);
    dir.write("traces/batch.csv", BATCH_CSV);
    let path = dir.write("inventory.toml", INVENTORY);
    let spec = InventorySpec::load(&path).unwrap();
    assert_eq!(spec.traces.len(), 2);
    Sim::with_config(Config {
        inventory: Some(spec),
        ..Config::default()
    })
}

/// `cpu.usagemhz.average` (counter 6) of a VM: (interval start in seconds since 08:00, MHz).
async fn usage(sim: &Sim, vm: &str) -> Vec<(i64, i64)> {
    let body = ok(
        sim,
        &vim(
            "QueryPerf",
            &format!(
                r#"<_this type="PerformanceManager">PerfMgr</_this><querySpec><entity type="VirtualMachine">{vm}</entity><metricId><counterId>6</counterId><instance></instance></metricId><intervalId>20</intervalId><format>csv</format></querySpec>"#
            ),
        ),
    )
    .await;
    let info = crate::support::first(&body, "sampleInfoCSV").expect(&body);
    let start = parse_timestamp("2017-10-02T08:00:00Z").unwrap();
    let times: Vec<i64> = info
        .split(',')
        .skip(1)
        .step_by(2)
        .map(|t| (parse_timestamp(t).unwrap() - start) / 1000 - 20)
        .collect();
    let series = body.split("</id><value>").nth(1).expect(&body);
    let values: Vec<i64> = series[..series.find("</value>").unwrap()]
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(times.len(), values.len());
    times.into_iter().zip(values).collect()
}

#[tokio::test]
async fn daily_profile_and_traces_drive_query_perf() {
    let dir = TempDir::new("perf");
    let mut sim = sim_for(&dir);
    sim.login().await;
    sim.vc.advance(3_600_000);
    let (daily, web, batch) = (
        named(&sim, "VirtualMachine", "daily"),
        named(&sim, "VirtualMachine", "web"),
        named(&sim, "VirtualMachine", "batch"),
    );

    // Daily: 1000 MHz at 14:00, 20 % at 02:00; the clock starts at 08:00, half way up.
    let d = usage(&sim, &daily).await;
    assert_eq!(d.len(), 180, "one hour of realtime samples");
    for &(t, mhz) in &d {
        let tod = 8.0 * 3600.0 + t as f64 + 10.0;
        let phase = std::f64::consts::TAU * (tod - 14.0 * 3600.0) / 86_400.0;
        let want = 1000.0 * (0.2 + 0.8 * (1.0 + phase.cos()) / 2.0);
        assert!(
            (mhz as f64 - want).abs() <= 1.0,
            "t={t}s: {mhz} vs {want:.1}"
        );
    }
    assert_eq!(d[0].1, 600);
    assert!(
        d[179].1 > 700,
        "rising towards the 14:00 peak: {:?}",
        d[179]
    );

    // web.csv under its 1500 MHz limit: the trace, capped; idle (2 × 1 % of 2600) after it.
    let w = usage(&sim, &web).await;
    let first: Vec<i64> = w.iter().take(7).map(|(_, v)| *v).collect();
    assert_eq!(first, vec![400, 900, 900, 1500, 1200, 1500, 52]);
    assert!(w.iter().skip(6).all(|(_, v)| *v == 52));

    // batch.csv: four 5 s samples per 20 s interval, averaged; repeats every 40 s.
    let b = usage(&sim, &batch).await;
    assert!(
        b.iter()
            .all(|&(t, v)| v == if t % 40 == 0 { 250 } else { 1500 }),
        "{:?}",
        &b[..4]
    );
}

#[tokio::test]
async fn vm_allocations_reach_the_config_pyvmomi_reads() {
    let dir = TempDir::new("alloc");
    let sim = sim_for(&dir);
    let web = named(&sim, "VirtualMachine", "web");
    let get = |path: &[&str]| prop(&sim, "VirtualMachine", &web, path).and_then(|v| v.as_i64());
    assert_eq!(get(&["config", "cpuAllocation", "limit"]), Some(1500));
    assert_eq!(get(&["config", "cpuAllocation", "reservation"]), Some(500));
    assert_eq!(
        get(&["config", "cpuAllocation", "shares", "shares"]),
        Some(4000),
        "high = 2000 per vCPU"
    );
    assert_eq!(
        prop(
            &sim,
            "VirtualMachine",
            &web,
            &["config", "cpuAllocation", "shares", "level"]
        )
        .as_ref()
        .and_then(Value::as_str),
        Some("high")
    );
    assert_eq!(
        get(&["config", "memoryAllocation", "reservation"]),
        Some(512)
    );
    assert_eq!(get(&["config", "memoryAllocation", "limit"]), Some(-1));
    assert_eq!(
        get(&["config", "memoryAllocation", "shares", "shares"]),
        Some(20000)
    );
    let daily = named(&sim, "VirtualMachine", "daily");
    assert_eq!(
        prop(
            &sim,
            "VirtualMachine",
            &daily,
            &["config", "cpuAllocation", "limit"]
        )
        .and_then(|v| v.as_i64()),
        Some(-1)
    );
    // The reservations are admitted: the host reports them reserved.
    let host = named(&sim, "HostSystem", "esx");
    let reserved = sim.vc.with(|e| {
        let id = e.ids.hosts[&host];
        e.world.host_usage(id).unwrap()
    });
    assert_eq!(
        (reserved.cpu_reserved_mhz, reserved.memory_reserved_mb),
        (500, 512)
    );
}

#[test]
fn load_errors_are_clear() {
    let dir = TempDir::new("errors");
    // A reservation no host can admit: the VM is named.
    let path = dir.write(
        "greedy.toml",
        r#"
[[cluster]]
name = "C"
hosts = [{ name = "esx", cores = 2, mhz = 1000, memory_mb = 8192 }]
vms = [{ name = "greedy", vcpus = 1, memory_mb = 1024, cpu_reservation_mhz = 5000 }]
"#,
    );
    let spec = InventorySpec::load(&path).unwrap();
    let err = Emulator::new(Config {
        inventory: Some(spec),
        ..Config::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("vm \"greedy\" cannot power on") && err.contains("InsufficientResources"),
        "{err}"
    );
    // A trace named but never loaded (text parsed without its directory).
    let spec = InventorySpec::parse(INVENTORY).unwrap();
    let err = Emulator::new(Config {
        inventory: Some(spec),
        ..Config::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("trace \"web.csv\" was not loaded"), "{err}");
    // A missing and a malformed trace: both reported, with the line.
    dir.write("web.csv", "2017-10-02T08:00:00Z,1\nsoon,2\n");
    let path = dir.write("inventory.toml", INVENTORY);
    let err = InventorySpec::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("trace \"web.csv\"") && err.contains("line 2"),
        "{err}"
    );
    assert!(err.contains("trace \"traces/batch.csv\""), "{err}");
    assert!(Path::new(&dir.0).join("inventory.toml").exists());
}
