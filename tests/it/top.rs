//! `vicbed top` as people use it: in a real terminal (tmux), against `vicbed serve` with a
//! CPU-stressed VM in a CPU-limited pool beside an idle one. The stress VM must be the
//! first row with `%RDY` at the value the inventory implies; `m` shows the memory view; a
//! server killed and started again on the same port shows "reconnecting", then
//! "reconnected" with fresh rows; `q` ends it with status 0.

use crate::support::Server;
use crate::tmux::{SCREEN_TIMEOUT, Tmux};
use std::process::Command;
use std::time::{Duration, Instant};

/// One host of 2 200 MHz cores. `stress` has 1 vCPU demanding a whole core (`cpu=2200`,
/// MHz per vCPU) in a pool limited to 500 MHz: it runs 500/2200 of each interval and is
/// ready — held back by the limit — the rest, so esxtop's %RDY (ready ms / interval ms ×
/// 100) is (1 − 500/2200) × 100 ≈ 77.3. The host has 4 cores for 2 running vCPUs, so no
/// other contention adds to it. `idle` has almost no ready time; `off` is powered off and
/// must not be listed.
const INVENTORY: &str = r#"
datacenter = "DC0"
[[cluster]]
name = "C0"
hosts = [{ name = "esx", cores = 4, mhz = 2200 }]
pools = [{ name = "limited", cpu_limit_mhz = 500 }]
vms = [
  { name = "stress", pool = "limited", vcpus = 1, memory_mb = 1024, workload = "cpu=2200" },
  { name = "idle", vcpus = 1, memory_mb = 512, workload = "idle" },
  { name = "off", vcpus = 2, power_on = false },
]
"#;

const LIMIT_MHZ: f64 = 500.0;
const CORE_MHZ: f64 = 2200.0;
/// Rounding of the per-interval ms and the model's dispatch latency stay well inside this.
const RDY_TOLERANCE: f64 = 3.0;

/// top's exit status, once the shell has written it.
fn wait_status(path: &std::path::Path, tmux: &Tmux) -> String {
    let deadline = Instant::now() + SCREEN_TIMEOUT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text.trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "top is still running:\n{}",
            tmux.screen("top")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The first data row (the line after the column header) as fields, when both are drawn.
fn first_row(screen: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = screen.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("ID ") && l.contains("NAME"))?;
    let row: Vec<String> = lines
        .get(header + 1)?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (!row.is_empty()).then_some(row)
}

/// True when the stress VM is the first row with %RDY (7th field: ID NAME NVCPU %USED %RUN
/// %WAIT %RDY) within the tolerance of the expected value.
fn stress_first(screen: &str, expected_rdy: f64) -> bool {
    first_row(screen).is_some_and(|row| {
        row.get(1).is_some_and(|n| n == "stress")
            && row
                .get(6)
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(|rdy| (rdy - expected_rdy).abs() <= RDY_TOLERANCE)
    })
}

#[test]
fn top_shows_the_stressed_vm_first_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(&inventory, INVENTORY).expect("write inventory");
    let inv = inventory.to_str().expect("utf-8 path");
    let server = Server::start(&["--speed", "60", "--inventory", inv]);
    let port = server.addr.port();
    let expected_rdy = (1.0 - LIMIT_MHZ / CORE_MHZ) * 100.0;

    let tmux = Tmux::new("top");
    // The shell writes top's exit status to a file: tmux's own `pane_dead_status` is
    // sometimes never set when the terminal closes before the process is reaped.
    let stderr = dir.path().join("top.stderr");
    let status_file = dir.path().join("top.status");
    tmux.start(
        "top",
        200,
        50,
        &format!(
            "{} top --url '{}' -d 1 2>'{}'; echo $? >'{}'",
            env!("CARGO_BIN_EXE_vicbed"),
            server.url,
            stderr.display(),
            status_file.display()
        ),
    );
    let s = tmux.wait_for("top", "the stress VM first with its %RDY", |s| {
        stress_first(s, expected_rdy)
    });
    assert!(s.contains("VMs: 2 running of 3"), "{s}");
    assert!(
        s.contains(&format!("connected to http://127.0.0.1:{port}/sdk")),
        "{s}"
    );
    assert!(!s.contains(" off "), "powered-off VMs are omitted:\n{s}");

    tmux.keys("top", &["m"]);
    let s = tmux.wait_for("top", "the memory view", |s| {
        s.contains("MEMORY view")
            && s.lines().any(|l| {
                ["MEMSZ", "MCTLSZ", "SWCUR", "ZIP", "CACHEUSD"]
                    .iter()
                    .all(|h| l.contains(h))
            })
    });
    assert!(!s.contains("%RDY"), "{s}");
    tmux.keys("top", &["c"]);
    tmux.wait_for("top", "the CPU view again", |s| s.contains("CPU view"));

    // The server stops: top stays, and says it is reconnecting.
    server.stop();
    tmux.wait_for("top", "reconnecting", |s| {
        s.contains(&format!(
            "reconnecting to http://127.0.0.1:{port}/sdk (attempt"
        ))
    });
    // A new server on the same port: reconnected, and fresh rows again.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vicbed"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--speed", "60", "--inventory", inv]);
    let again = Server::spawn(cmd);
    tmux.wait_for("top", "reconnected with fresh rows", |s| {
        s.contains("(reconnects: 1)")
            && !s.contains("[stale rows]")
            && stress_first(s, expected_rdy)
    });

    tmux.keys("top", &["q"]);
    let status = wait_status(&status_file, &tmux);
    let err = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert_eq!(
        status,
        "0",
        "top's stderr:\n{err}\nscreen:\n{}",
        tmux.screen("top")
    );
    assert!(err.is_empty(), "top's stderr:\n{err}");
    again.stop();
}
