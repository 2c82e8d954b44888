//! The live console's cost, measured on the real binary as a room uses it: `vicbed demo`
//! runs as its own process and N "browsers" (Server-Sent Event readers in this process)
//! watch it.
//!
//! - **Update latency** (virtual sample → browser): for every `sample` event a reader gets,
//!   its arrival (wall, Unix ms) minus the sample's `seen_unix_ms` (when the console saw
//!   the clock pass it: after the model stepped, before `QueryPerf`), so it covers the SOAP
//!   read, serialization, fan-out and the socket. The clock's own 50 ms tick is not in it.
//! - **CPU cost**: the demo process's user + system CPU time (`/proc/PID/stat`) per wall
//!   second while the readers watch, in % of one core.
//!
//! Runs at 600× with 0, 1, 20 and 60 readers (the slope per reader), and at 1× with 20
//! readers for 70 s (three samples each). `VICBED_BENCH_QUICK=1` shortens every window to
//! 5 s (and 1× to 45 s). Run: `cargo bench --bench console_live`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct Demo {
    child: Child,
    url: String,
}

impl Demo {
    fn start(speed: f64) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vicbed"))
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--max-browsers",
                "128",
                "--speed",
            ])
            .arg(speed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("vicbed demo starts");
        let out = child.stdout.take().expect("piped");
        let mut url = String::new();
        for line in BufReader::new(out).lines() {
            let line = line.expect("stdout");
            if let Some(u) = line.strip_prefix("console: ") {
                url = u.trim_end_matches('/').to_owned();
            }
            if line == "ready" {
                break;
            }
        }
        assert!(!url.is_empty(), "the demo printed its console URL");
        Demo { child, url }
    }

    /// User + system CPU seconds so far.
    fn cpu_s(&self, ticks_per_s: f64) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("/proc/PID/stat");
        // Fields after the `(comm)`: state is field 3; utime 14, stime 15.
        let after = &stat[stat.rfind(')').expect("comm") + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        let utime: f64 = f[11].parse().expect("utime");
        let stime: f64 = f[12].parse().expect("stime");
        (utime + stime) / ticks_per_s
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Reads `sample` events until `stop`, pushing each one's latency (ms).
async fn reader(url: String, latencies: Arc<Mutex<Vec<i64>>>, stop: Instant) {
    let client = reqwest::Client::new();
    let Ok(mut r) = client.get(format!("{url}/api/events")).send().await else {
        return;
    };
    assert_eq!(r.status(), 200, "the stream opens");
    let mut buf = String::new();
    while Instant::now() < stop {
        let left = stop.saturating_duration_since(Instant::now());
        let Ok(Ok(Some(chunk))) = tokio::time::timeout(left, r.chunk()).await else {
            break;
        };
        let now = unix_ms();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !block.starts_with("event: sample") {
                continue;
            }
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            let seen = data
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|v| v["seen_unix_ms"].as_i64());
            if let Some(seen) = seen {
                latencies.lock().expect("lock").push(now - seen);
            }
        }
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn measure(rt: &tokio::runtime::Runtime, speed: f64, browsers: usize, window: Duration, tick: f64) {
    let demo = Demo::start(speed);
    let http = reqwest::Client::new();
    rt.block_on(async {
        for (vch, action) in [("limited", "1"), ("unlimited", "3")] {
            http.post(format!("{}/api/docker/{vch}", demo.url))
                .body(format!(r#"{{"action":"{action}"}}"#))
                .send()
                .await
                .expect("docker action");
        }
    });
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let warmup = Duration::from_secs(1);
    let stop = Instant::now() + warmup + window;
    let tasks: Vec<_> = (0..browsers)
        .map(|_| rt.spawn(reader(demo.url.clone(), latencies.clone(), stop)))
        .collect();
    std::thread::sleep(warmup);
    let cpu0 = demo.cpu_s(tick);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let cpu = demo.cpu_s(tick) - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    rt.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });
    let mut l = latencies.lock().expect("lock").clone();
    l.sort_unstable();
    println!(
        "console_live speed={speed:>4}x browsers={browsers:>3}: cpu {:>5.1} % of a core over {wall:.0} s; \
         latency ms p50 {} p95 {} max {} (n={})",
        cpu / wall * 100.0,
        percentile(&l, 0.5),
        percentile(&l, 0.95),
        l.last().copied().unwrap_or(-1),
        l.len()
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs nothing here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let quick = std::env::var_os("VICBED_BENCH_QUICK").is_some();
    let window = Duration::from_secs(if quick { 5 } else { 10 });
    let slow_window = Duration::from_secs(if quick { 45 } else { 70 });
    let tick: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    for browsers in [0, 1, 20, 60] {
        measure(&rt, 600.0, browsers, window, tick);
    }
    measure(&rt, 1.0, 20, slow_window, tick);
}
