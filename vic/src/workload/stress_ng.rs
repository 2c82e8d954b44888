//! `stress-ng` as a work-bound CPU job: `stress-ng --cpu N --cpu-ops OPS` ends after each of
//! its N workers has done OPS bogo operations, so its run time depends on the CPU it gets —
//! the job a capacity planner times under a VCH limit (library scenario `short-lived-jobs`).
//!
//! Emulated, not run: the containerVM demands N busy vCPUs (as stress's `--cpu` does) and the
//! tether adds up the CPU work the contention model grants it, interval by interval (the VM's
//! `cpu.usagemhz`); the job ends when N × OPS × [`MHZ_S_PER_CPU_OP`] MHz·s are done, at the
//! instant interpolated within the interval that completed it. `--timeout` ends it earlier if
//! it comes first. Output is stress-ng's own lines: `dispatching hogs: N cpu` at start and
//! `successful run completed in 63.20s` at the end.
//!
//! Options read: `--cpu/-c N` (N ≥ 1; stress-ng's 0 meaning "one per CPU" is refused, since
//! the plan does not know the VM's vCPUs), `--cpu-ops N`, `--timeout/-t` (s/m/h/d/y
//! suffixes), and the quiet/verbose/metrics flags, which change nothing here. Anything else
//! ends the run at once with stress-ng's `unrecognized option` message and exit status 1.

use super::{ProcessPlan, stress_seconds};
use scheduler_model::Workload;

/// CPU work of one bogo operation of stress-ng's default `cpu` stressor, in MHz·s (millions
/// of cycles). Our assumption, from stress-ng's published example output: 4 workers did
/// 3404 bogo ops in 10 s, about 85 ops/s per worker on cores of roughly 2.5–3 GHz, so about
/// 30 million cycles per op.
pub const MHZ_S_PER_CPU_OP: u64 = 30;

fn fail(message: &str) -> ProcessPlan {
    ProcessPlan::exits(0, 1, vec![format!("stress-ng: {message}")])
}

/// Plans `stress-ng ARGS…` (argv without the program name).
pub fn plan(args: &[String]) -> ProcessPlan {
    let mut cpu_workers = 0u32;
    let mut cpu_ops: Option<u64> = None;
    let mut timeout_s: Option<u64> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match flag {
            "-q" | "--quiet" | "-v" | "--verbose" | "--metrics" | "--metrics-brief" => {}
            "-c" | "--cpu" => match value().and_then(|v| v.parse::<u32>().ok()) {
                Some(n) if n >= 1 => cpu_workers = n,
                Some(_) => {
                    return fail(
                        "error: [1] vicbed emulates --cpu N with N of at least 1 (the VM's CPU count is not known here)",
                    );
                }
                None => return fail("error: [1] invalid number of cpu stressors"),
            },
            "--cpu-ops" => match value().and_then(|v| v.parse::<u64>().ok()) {
                Some(n) if n >= 1 => cpu_ops = Some(n),
                _ => return fail("error: [1] invalid value for --cpu-ops"),
            },
            "-t" | "--timeout" => match value().as_deref().and_then(stress_seconds) {
                Some(s) => timeout_s = Some(s),
                None => return fail("error: [1] invalid timeout"),
            },
            other => return fail(&format!("unrecognized option '{other}'")),
        }
    }
    if cpu_workers == 0 {
        // No stressor asked for: stress-ng says so and exits 1.
        return fail("error: [1] No stress workers invoked");
    }
    let cpu_work_mhz_s = cpu_ops.map(|ops| {
        ops.saturating_mul(u64::from(cpu_workers))
            .saturating_mul(MHZ_S_PER_CPU_OP)
    });
    let workload = Workload::Stress {
        cpu_workers,
        io_workers: 0,
        hdd_workers: 0,
        vm_workers: 0,
        vm_bytes_mb: 0,
        vm_touch_mb_per_s: scheduler_model::DEFAULT_STRESS_TOUCH_MB_PER_S,
        duration_s: timeout_s.map(|s| s.min(u64::from(u32::MAX)) as u32),
    };
    let completed = "stress-ng: info:  [1] successful run completed in";
    ProcessPlan {
        exits_after_s: timeout_s,
        start_log: vec![format!(
            "stress-ng: info:  [1] dispatching hogs: {cpu_workers} cpu"
        )],
        exit_log: timeout_s
            .map(|s| vec![format!("{completed} {s}.00s")])
            .unwrap_or_default(),
        cpu_work_mhz_s,
        completion_log: cpu_work_mhz_s.map(|_| completed.to_owned()),
        ..ProcessPlan::runs(workload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn work_bound_cpu_jobs() {
        let p = plan(&args("--cpu 2 --cpu-ops 1000 --metrics-brief"));
        assert_eq!(p.cpu_work_mhz_s, Some(2 * 1000 * MHZ_S_PER_CPU_OP));
        assert_eq!(p.exits_after_s, None);
        assert!(matches!(
            p.workload,
            Workload::Stress {
                cpu_workers: 2,
                duration_s: None,
                ..
            }
        ));
        assert_eq!(
            p.start_log,
            ["stress-ng: info:  [1] dispatching hogs: 2 cpu"]
        );
        assert_eq!(
            p.completion_log.as_deref(),
            Some("stress-ng: info:  [1] successful run completed in")
        );
        // Both bounds: whichever comes first ends it.
        let p = plan(&args("-c 1 --cpu-ops=50 -t 2m"));
        assert_eq!(
            (p.cpu_work_mhz_s, p.exits_after_s),
            (Some(50 * MHZ_S_PER_CPU_OP), Some(120))
        );
        assert_eq!(
            p.exit_log,
            ["stress-ng: info:  [1] successful run completed in 120.00s"]
        );
        // Time-bound only.
        let p = plan(&args("--cpu 1 --timeout 30s"));
        assert_eq!((p.cpu_work_mhz_s, p.exits_after_s), (None, Some(30)));
    }

    #[test]
    fn bad_arguments_fail_at_once() {
        for (bad, says) in [
            ("--cpu x", "invalid number of cpu stressors"),
            ("--cpu 0 --cpu-ops 5", "at least 1"),
            ("--cpu 1 --cpu-ops 0", "--cpu-ops"),
            ("--cpu 1 --bogus", "unrecognized option '--bogus'"),
            ("--cpu 1 -t 5Q", "invalid timeout"),
            ("", "No stress workers"),
        ] {
            let p = plan(&args(bad));
            assert_eq!((p.exits_after_s, p.exit_code), (Some(0), 1), "{bad}");
            assert!(p.exit_log[0].contains(says), "{bad}: {:?}", p.exit_log);
        }
    }
}
