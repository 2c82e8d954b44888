//! A synthetic run: two VCHs (limited, unlimited), one container and one pool each, 15
//! samples per series, two steps (one failed), two verdicts (one failed, with characters
//! that need escaping).

use std::time::Duration;

use scenarios::{
    ContainerRun, EntityKind, EntityRecord, Metadata, Point, RunOutcome, Series, StartTime, Stat,
    StepRecord, VchRecord, Verdict,
};

pub const POINTS: u64 = 15;

fn series(
    kind: EntityKind,
    entity: &str,
    counter: &str,
    unit: &str,
    f: impl Fn(u64) -> i64,
) -> Series {
    series_instance(kind, entity, counter, "", unit, f)
}

fn series_instance(
    kind: EntityKind,
    entity: &str,
    counter: &str,
    instance: &str,
    unit: &str,
    f: impl Fn(u64) -> i64,
) -> Series {
    Series {
        kind,
        entity: entity.into(),
        counter: counter.into(),
        instance: instance.into(),
        unit: unit.into(),
        points: (1..=POINTS)
            .map(|i| Point {
                offset_s: i * 20,
                value: f(i),
            })
            .collect(),
    }
}

fn container_series(name: &str, limited: bool) -> Vec<Series> {
    use EntityKind::Container as C;
    let (usage, ready, balloon_mb, latency) = if limited {
        (500, 14_000, 300, 250)
    } else {
        (1_790, 200, 0, 0)
    };
    let granted_kb = if limited { 500 * 1024 } else { 4096 * 1024 };
    vec![
        series(C, name, "cpu.demand.average", "megaHertz", |i| {
            1_700 + (i as i64 % 3) * 50
        }),
        series(C, name, "cpu.entitlement.latest", "megaHertz", move |_| {
            usage
        }),
        series(
            C,
            name,
            "cpu.maxlimited.summation",
            "millisecond",
            move |i| {
                if limited {
                    ready - 1_000 + i as i64 * 10
                } else {
                    0
                }
            },
        ),
        series(C, name, "cpu.ready.summation", "millisecond", move |i| {
            ready + i as i64 * 10
        }),
        series_instance(
            C,
            name,
            "cpu.ready.summation",
            "0",
            "millisecond",
            move |_| ready,
        ),
        series(C, name, "cpu.usagemhz.average", "megaHertz", move |i| {
            usage - i as i64
        }),
        series(C, name, "mem.active.average", "kiloBytes", move |_| {
            granted_kb / 2
        }),
        series(C, name, "mem.consumed.average", "kiloBytes", move |_| {
            granted_kb - 1024
        }),
        series(C, name, "mem.granted.average", "kiloBytes", move |_| {
            granted_kb
        }),
        series(C, name, "mem.latency.average", "percent", move |i| {
            latency * i as i64 / POINTS as i64
        }),
        series(C, name, "mem.swapped.average", "kiloBytes", move |i| {
            if limited { i as i64 * 2_048 } else { 0 }
        }),
        series(C, name, "mem.vmmemctl.average", "kiloBytes", move |i| {
            balloon_mb * 1024 * i as i64 / POINTS as i64
        }),
    ]
}

fn pool_series(name: &str, limited: bool) -> Vec<Series> {
    use EntityKind::Pool as P;
    let usage = if limited { 500 } else { 1_790 };
    vec![
        series(P, name, "cpu.entitlement.latest", "megaHertz", move |_| {
            usage
        }),
        series(P, name, "cpu.usagemhz.average", "megaHertz", move |_| {
            usage - 10
        }),
        series(P, name, "mem.consumed.average", "kiloBytes", |_| 600 * 1024),
        series(P, name, "mem.vmmemctl.average", "kiloBytes", move |i| {
            if limited { i as i64 * 10_240 } else { 0 }
        }),
    ]
}

fn entity(kind: EntityKind, name: &str, moref: &str, vch: &str) -> EntityRecord {
    EntityRecord {
        kind,
        name: name.into(),
        vsphere_name: if kind == EntityKind::Container {
            format!("{name}-0123456789ab")
        } else {
            name.into()
        },
        moref: moref.into(),
        vch: Some(vch.into()),
    }
}

pub fn outcome() -> RunOutcome {
    let mut series = Vec::new();
    series.extend(pool_series("vch-limited", true));
    series.extend(pool_series("vch-unlimited", false));
    series.extend(container_series("cpu-limited", true));
    series.extend(container_series("cpu-unlimited", false));
    RunOutcome {
        meta: Metadata {
            name: "over-the-limits".into(),
            description: "A container on a limited VCH <vs> one on an unlimited VCH & \"friends\""
                .into(),
            seed: 42,
            start: StartTime {
                unix_seconds: 1_506_931_200,
                rfc3339: "2017-10-02T08:00:00Z".into(),
            },
            duration: Duration::from_secs(300),
            sample_interval: Duration::from_secs(20),
        },
        scenario_hash: "0123456789abcdef".into(),
        vicbed_version: "0.1.0".into(),
        vchs: vec![
            VchRecord {
                name: "limited".into(),
                vsphere_name: "vch-limited".into(),
                cpu_limit_mhz: Some(500),
                mem_limit_mb: Some(500),
                tls_mode: "mutual".into(),
            },
            VchRecord {
                name: "unlimited".into(),
                vsphere_name: "vch-unlimited".into(),
                cpu_limit_mhz: None,
                mem_limit_mb: None,
                tls_mode: "server-only".into(),
            },
        ],
        entities: vec![
            entity(EntityKind::Pool, "vch-limited", "resgroup-7", "limited"),
            entity(EntityKind::Pool, "vch-unlimited", "resgroup-8", "unlimited"),
            entity(EntityKind::Container, "cpu-limited", "vm-42", "limited"),
            entity(EntityKind::Container, "cpu-unlimited", "vm-43", "unlimited"),
        ],
        series,
        steps: vec![
            StepRecord {
                index: 1,
                at_s: 0,
                command: "docker run -d --name cpu-limited progrium/stress --cpu 1".into(),
                result: "f00dcafe".into(),
                ok: true,
                virtual_ms: None,
                output: String::new(),
            },
            StepRecord {
                index: 2,
                at_s: 60,
                command: "pool vch-limited cpu_limit_mhz=-1".into(),
                result: "error: pool | not found".into(),
                ok: false,
                virtual_ms: None,
                output: String::new(),
            },
        ],
        verdicts: vec![
            Verdict {
                step: None,
                id: "ready".into(),
                statement: "avg cpu.ready.summation of container cpu-limited ≥ 12000".into(),
                stat: Stat::Avg,
                counter: "cpu.ready.summation".into(),
                min: Some(12_000.0),
                max: None,
                observed: vec![("cpu-limited".into(), 14_080.0)],
                passed: true,
                reason: String::new(),
            },
            Verdict {
                step: None,
                id: "balloon<&\">".into(),
                statement: "max mem.vmmemctl.average of container cpu-* ≤ 1000".into(),
                stat: Stat::Max,
                counter: "mem.vmmemctl.average".into(),
                min: None,
                max: Some(1_000.0),
                observed: vec![
                    ("cpu-limited".into(), 307_200.0),
                    ("cpu-unlimited".into(), 0.0),
                ],
                passed: false,
                reason: "cpu-limited: 307200 > 1000 <&\">".into(),
            },
        ],
        runs: vec![
            ContainerRun {
                vch: "limited".into(),
                name: "job-1".into(),
                command: "stress-ng --cpu 1 --cpu-ops 2000".into(),
                started_s: Some(0),
                finished_s: Some(240),
                run_s: Some(240),
                exit_code: Some(0),
            },
            ContainerRun {
                vch: "limited".into(),
                name: "job-2".into(),
                command: "stress-ng --cpu 1 --cpu-ops 2000".into(),
                started_s: Some(0),
                finished_s: None,
                run_s: None,
                exit_code: None,
            },
            ContainerRun {
                vch: "unlimited".into(),
                name: "job-1".into(),
                command: "stress-ng --cpu 1 --cpu-ops 2000".into(),
                started_s: Some(0),
                finished_s: Some(60),
                run_s: Some(60),
                exit_code: Some(0),
            },
        ],
    }
}
