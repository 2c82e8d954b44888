//! What a container's process does to the contention model: the tether maps the image and
//! command line to a [`scheduler_model::Workload`], a lifetime and the log lines the process
//! would print.
//!
//! `progrium/stress` is parsed as stress 1.0.4 parses its options (`--cpu/-c`, `--io/-i`,
//! `--vm/-m`, `--vm-bytes`, `--hdd/-d`, `--timeout/-t` with s/m/h/d/y suffixes); `stress-ng`
//! adds work-bound CPU jobs (`--cpu N --cpu-ops OPS`, [`stress_ng`]); nginx and
//! the Docker container host are light, always-on services; `sleep N` idles N seconds; a
//! shell without a terminal exits at once, as it does under Docker.

pub mod meter;
pub mod stress_ng;

use scheduler_model::Workload;

/// How a container process behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessPlan {
    /// What it demands while it runs.
    pub workload: Workload,
    /// Seconds after start when it exits (None: runs until stopped).
    pub exits_after_s: Option<u64>,
    /// Exit code when it exits by itself.
    pub exit_code: i32,
    /// Lines printed at start.
    pub start_log: Vec<String>,
    /// Lines printed when it exits by itself.
    pub exit_log: Vec<String>,
    /// Work-bound: it ends once the containerVM has done this much CPU work (MHz·s), as
    /// stress-ng's `--cpu-ops` ends after so many bogo operations (see [`stress_ng`]).
    pub cpu_work_mhz_s: Option<u64>,
    /// A line printed when a work-bound run ends, followed by its run time (`63.20s`).
    pub completion_log: Option<String>,
}

impl ProcessPlan {
    /// Runs `workload` until stopped, printing nothing.
    fn runs(workload: Workload) -> ProcessPlan {
        ProcessPlan {
            workload,
            exits_after_s: None,
            exit_code: 0,
            start_log: Vec::new(),
            exit_log: Vec::new(),
            cpu_work_mhz_s: None,
            completion_log: None,
        }
    }

    fn service(mhz_per_vcpu: u32, active_mb: u64) -> ProcessPlan {
        ProcessPlan::runs(Workload::Constant {
            mhz_per_vcpu,
            active_mb,
        })
    }

    fn exits(after_s: u64, code: i32, log: Vec<String>) -> ProcessPlan {
        ProcessPlan {
            exits_after_s: Some(after_s),
            exit_code: code,
            exit_log: log,
            ..ProcessPlan::runs(Workload::Idle)
        }
    }
}

/// Parses a size as stress does: a number with an optional B/K/M/G suffix (powers of 1024);
/// returns megabytes (rounded up).
pub(crate) fn stress_size_mb(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, mult): (&str, u64) = match t.chars().last()? {
        'b' | 'B' => (&t[..t.len() - 1], 1),
        'k' | 'K' => (&t[..t.len() - 1], 1 << 10),
        'm' | 'M' => (&t[..t.len() - 1], 1 << 20),
        'g' | 'G' => (&t[..t.len() - 1], 1 << 30),
        c if c.is_ascii_digit() => (t, 1),
        _ => return None,
    };
    let bytes = num.parse::<u64>().ok()?.checked_mul(mult)?;
    Some(bytes.div_ceil(1 << 20))
}

/// Parses a duration as stress does: a number with an optional s/m/h/d/y suffix.
pub(crate) fn stress_seconds(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, mult): (&str, u64) = match t.chars().last()? {
        's' => (&t[..t.len() - 1], 1),
        'm' => (&t[..t.len() - 1], 60),
        'h' => (&t[..t.len() - 1], 3600),
        'd' => (&t[..t.len() - 1], 86_400),
        'y' => (&t[..t.len() - 1], 31_536_000),
        c if c.is_ascii_digit() => (t, 1),
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// Plans `stress ARGS…` (argv without the program name).
pub fn stress_plan(args: &[String]) -> ProcessPlan {
    let fail = |msg: String| ProcessPlan::exits(0, 1, vec![format!("stress: FAIL: [1] {msg}")]);
    let (mut cpu, mut io, mut vm, mut hdd) = (0u32, 0u32, 0u32, 0u32);
    let mut vm_bytes_mb = 256u64;
    let mut timeout_s: Option<u64> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        let count = |v: Option<String>| v.and_then(|v| v.parse::<u32>().ok());
        match flag {
            "-v" | "--verbose" | "-q" | "--quiet" | "--vm-keep" | "-n" | "--dry-run" => {}
            "-c" | "--cpu" => match count(value()) {
                Some(n) => cpu = n,
                None => return fail("invalid number of cpu hogs".into()),
            },
            "-i" | "--io" => match count(value()) {
                Some(n) => io = n,
                None => return fail("invalid number of io hogs".into()),
            },
            "-m" | "--vm" => match count(value()) {
                Some(n) => vm = n,
                None => return fail("invalid number of vm hogs".into()),
            },
            "-d" | "--hdd" => match count(value()) {
                Some(n) => hdd = n,
                None => return fail("invalid number of hdd hogs".into()),
            },
            "--vm-bytes" => match value().as_deref().and_then(stress_size_mb) {
                Some(mb) => vm_bytes_mb = mb,
                None => return fail("invalid vm-bytes".into()),
            },
            "-t" | "--timeout" => match value().as_deref().and_then(stress_seconds) {
                Some(s) => timeout_s = Some(s),
                None => return fail("invalid timeout".into()),
            },
            "--backoff" | "--vm-stride" | "--vm-hang" | "--hdd-bytes" => {
                let _ = value();
            }
            other => return fail(format!("unrecognized option '{other}'")),
        }
    }
    if cpu + io + vm + hdd == 0 {
        // stress with no hogs prints its usage and exits 1.
        return ProcessPlan::exits(
            0,
            1,
            vec!["`stress' imposes certain types of compute stress on your system".into()],
        );
    }
    let workload = Workload::Stress {
        cpu_workers: cpu,
        io_workers: io,
        hdd_workers: hdd,
        vm_workers: vm,
        vm_bytes_mb,
        vm_touch_mb_per_s: scheduler_model::DEFAULT_STRESS_TOUCH_MB_PER_S,
        duration_s: timeout_s.map(|s| s.min(u64::from(u32::MAX)) as u32),
    };
    ProcessPlan {
        exits_after_s: timeout_s,
        start_log: vec![format!(
            "stress: info: [1] dispatching hogs: {cpu} cpu, {io} io, {vm} vm, {hdd} hdd"
        )],
        exit_log: timeout_s
            .map(|s| {
                vec![format!(
                    "stress: info: [1] successful run completed in {s}s"
                )]
            })
            .unwrap_or_default(),
        ..ProcessPlan::runs(workload)
    }
}

/// Plans a container's process from its full argv (entrypoint + cmd), whether it has a
/// terminal (`-t`) or open stdin (`-i`), and an image-declared workload.
pub fn plan(argv: &[String], tty: bool, open_stdin: bool, declared: Option<&str>) -> ProcessPlan {
    if let Some(w) = declared.and_then(vcsim::guest::parse_workload_key) {
        return ProcessPlan::runs(w);
    }
    let Some(program) = argv.first() else {
        return ProcessPlan::exits(0, 0, Vec::new());
    };
    let base = program.rsplit('/').next().unwrap_or(program);
    let rest = &argv[1..];
    match base {
        "stress" => stress_plan(rest),
        "stress-ng" => stress_ng::plan(rest),
        // nginx serving nothing much, and the Docker daemon of a container host: light,
        // steady services (our assumption: a few percent of a vCPU, tens of MB active).
        "nginx" => ProcessPlan::service(18, 16),
        "dch-entrypoint.sh" | "dockerd" | "docker-entrypoint.sh" | "redis-server" => {
            ProcessPlan::service(36, 64)
        }
        "sleep" => match rest.first().and_then(|s| stress_seconds(s)) {
            Some(s) => ProcessPlan::exits(s, 0, Vec::new()),
            None => ProcessPlan::exits(0, 1, vec!["sleep: invalid number".into()]),
        },
        "sh" | "bash" | "ash" | "/bin/sh" => {
            if rest.first().map(String::as_str) == Some("-c") {
                // An inline script: we do not interpret it; it runs briefly and exits.
                ProcessPlan::exits(1, 0, Vec::new())
            } else if tty || open_stdin {
                ProcessPlan::runs(Workload::Idle)
            } else {
                // A shell whose stdin is closed reads EOF and exits 0, as under Docker.
                ProcessPlan::exits(0, 0, Vec::new())
            }
        }
        "true" => ProcessPlan::exits(0, 0, Vec::new()),
        "false" => ProcessPlan::exits(0, 1, Vec::new()),
        _ => ProcessPlan::runs(Workload::Idle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_seed_stress_commands() {
        let p = plan(
            &argv("/usr/bin/stress --verbose --cpu 1 --timeout 300s"),
            false,
            false,
            None,
        );
        assert!(matches!(
            p.workload,
            Workload::Stress {
                cpu_workers: 1,
                vm_workers: 0,
                duration_s: Some(300),
                ..
            }
        ));
        assert_eq!(p.exits_after_s, Some(300));
        assert_eq!(
            p.start_log[0],
            "stress: info: [1] dispatching hogs: 1 cpu, 0 io, 0 vm, 0 hdd"
        );
        let p = plan(
            &argv("/usr/bin/stress --verbose --vm 1 --vm-bytes 512M --timeout 5m"),
            false,
            false,
            None,
        );
        assert!(matches!(
            p.workload,
            Workload::Stress {
                vm_workers: 1,
                vm_bytes_mb: 512,
                duration_s: Some(300),
                ..
            }
        ));
        let p = plan(
            &argv("stress -c 2 -m 1 --vm-bytes=1G -t 1h"),
            false,
            false,
            None,
        );
        assert!(matches!(
            p.workload,
            Workload::Stress {
                cpu_workers: 2,
                vm_workers: 1,
                vm_bytes_mb: 1024,
                duration_s: Some(3600),
                ..
            }
        ));
    }

    #[test]
    fn bad_stress_arguments_exit_with_an_error() {
        for bad in [
            "stress --cpu x",
            "stress --bogus",
            "stress --vm-bytes 5Q --vm 1",
            "stress",
        ] {
            let p = plan(&argv(bad), false, false, None);
            assert_eq!((p.exits_after_s, p.exit_code), (Some(0), 1), "{bad}");
        }
    }

    #[test]
    fn shells_sleep_and_services() {
        assert_eq!(plan(&argv("sh"), false, false, None).exits_after_s, Some(0));
        assert_eq!(plan(&argv("sh"), true, true, None).exits_after_s, None);
        assert_eq!(
            plan(&argv("sleep 30"), false, false, None).exits_after_s,
            Some(30)
        );
        assert!(matches!(
            plan(&argv("nginx -g daemon"), false, false, None).workload,
            Workload::Constant { .. }
        ));
        assert!(matches!(
            plan(&argv("anything"), false, false, Some("cpu=700")).workload,
            Workload::Constant {
                mhz_per_vcpu: 700,
                ..
            }
        ));
    }
}
