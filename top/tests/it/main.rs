//! `vicbed top`'s integration tests: the [`top::reader::Reader`] against the emulator served
//! in-process over real HTTP — rows and percentages from `QueryPerf`, powered-off VMs left
//! out, and the reconnect cycle when the server goes away and comes back on the same port.
//! (The terminal itself is tested in the root package's `tests/it/top.rs`, in tmux.)

use std::time::Duration;
use top::reader::{Link, Reader, Snapshot};
use top::table::{Column, Row};
use top::{Settings, TopArgs};

/// One host of 2 200 MHz cores; a 1-vCPU VM demanding a whole core in a pool limited to
/// 500 MHz runs 500/2200 of the time and is ready (max-limited) the rest: %RDY ≈ 77.3.
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

/// The emulator on `port` (0: any), on a runtime of its own: dropping it ends the listener
/// and every open connection at once, as a killed server does.
struct Sim {
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn serve(port: u16) -> Sim {
    let config = vcsim::Config {
        inventory: Some(vcsim::InventorySpec::parse(INVENTORY).expect("inventory")),
        username: "user".into(),
        password: "pass".into(),
        ..vcsim::Config::default()
    };
    let emu = vcsim::Emulator::new(config).expect("inventory builds");
    let vc = vcsim::Vcsim::new(emu);
    // Three realtime samples.
    vc.advance(60_000);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let _ = vc.serve(listener, None, std::future::pending()).await;
    });
    Sim {
        port,
        runtime: Some(runtime),
    }
}

fn settings(port: u16) -> Settings {
    TopArgs {
        url: format!("http://user:pass@127.0.0.1:{port}/sdk"),
        user: None,
        password: None,
        insecure: false,
        thumbprint: None,
        delay: "1".into(),
        iterations: None,
        batch: false,
    }
    .settings()
    .expect("settings")
}

fn row<'a>(s: &'a Snapshot, name: &str) -> &'a Row {
    s.rows
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name}: {s:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_running_vms_and_survives_a_restart() {
    let sim = serve(0);
    let port = sim.port;
    let mut reader = Reader::start(settings(port)).await.expect("connects");
    let s = reader.refresh().await;
    assert_eq!(s.link, Link::Connected);
    assert_eq!((s.rows.len(), s.vms_total), (2, 3), "{s:#?}");
    assert!(s.missing_counters.is_empty() || !s.missing_counters.contains(&"cpu.ready.summation"));
    let stress = row(&s, "stress");
    let rdy = stress.rdy_pct.expect("%RDY");
    assert!((rdy - (1.0 - 500.0 / 2200.0) * 100.0).abs() < 1.0, "{rdy}");
    assert_eq!(stress.nvcpu, Some(1));
    assert_eq!(Column::MemSz.cell(stress), "1024");
    assert!(row(&s, "idle").rdy_pct.is_some_and(|r| r < 5.0));

    // The server goes away: the reader says so, keeps the rows as stale, and never fails.
    drop(sim);
    let mut lost = reader.refresh().await;
    for _ in 0..20 {
        if matches!(lost.link, Link::Reconnecting { .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        lost = reader.refresh().await;
    }
    let Link::Reconnecting { attempt, reason } = &lost.link else {
        panic!("expected reconnecting: {lost:#?}");
    };
    assert!(*attempt >= 1 && !reason.is_empty());
    assert!(lost.stale);
    assert_eq!(lost.rows.len(), 2);
    let again = reader.refresh().await;
    assert!(
        matches!(again.link, Link::Reconnecting { attempt, .. } if attempt >= 2),
        "{again:#?}"
    );

    // It comes back on the same port: reconnected, rows fresh.
    let _sim = serve(port);
    let back = reader.refresh().await;
    assert_eq!(back.link, Link::Reconnected, "{back:#?}");
    assert_eq!(
        (back.reconnects, back.stale, back.rows.len()),
        (1, false, 2)
    );
    let next = reader.refresh().await;
    assert_eq!(next.link, Link::Connected);
    reader.logout().await;
}

#[tokio::test]
async fn a_server_that_is_not_there_fails_the_start() {
    // A port that was free a moment ago.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let err = Reader::start(settings(port))
        .await
        .err()
        .expect("no server");
    assert!(
        err.to_string()
            .starts_with("cannot connect to http://127.0.0.1:"),
        "{err}"
    );
}
