//! Reports an admin reads at a glance: findings computed from the data, charts of the pools,
//! appliances and only the worst containers, coinciding lines told apart, readiness in % of
//! time, limits and steps drawn, shared scales, readable text, and sizes that stay bounded
//! for a large run.

use std::fs;
use std::time::Duration;

use scenarios::{EntityKind, EntityRecord, Point, RunOutcome, Series, StepRecord};

use crate::fixture;

fn constant_series(kind: EntityKind, entity: &str, counter: &str, unit: &str, v: i64) -> Series {
    Series {
        kind,
        entity: entity.into(),
        counter: counter.into(),
        instance: String::new(),
        unit: unit.into(),
        points: (1..=fixture::POINTS)
            .map(|i| Point {
                offset_s: i * 20,
                value: v,
            })
            .collect(),
    }
}

fn set_series(o: &mut RunOutcome, entity: &str, counter: &str, value: impl Fn(u64) -> i64) {
    let s = o
        .series
        .iter_mut()
        .find(|s| s.entity == entity && s.counter == counter && s.instance.is_empty())
        .expect("series");
    s.points = (1..=fixture::POINTS)
        .map(|i| Point {
            offset_s: i * 20,
            value: value(i),
        })
        .collect();
}

#[test]
fn the_findings_are_computed_from_the_data() {
    let mut o = fixture::outcome();
    let f = reports::findings(&o);
    // cpu-limited: usage 492 of 1750 MHz on average (28 %), ready 14 080 ms of 20 s (70 %),
    // max-limited 13 080 ms of it (93 %); balloon up to 300 MB, swap up to 30 MB.
    assert_eq!(
        f[0],
        "Under the 500 MHz CPU and 500 MB memory limits of VCH limited, the container \
         cpu-limited got 28 % of its CPU demand (492 of 1750 MHz on average); it was ready but \
         not running 70 % of the time, 93 % of it max-limited. Its memory was ballooned up to \
         300 MB and swapped up to 30 MB, and it waited for memory 1.3 % of the time (memory \
         latency).",
        "{f:#?}"
    );
    assert!(
        f[1].starts_with("On VCH unlimited (no limits), the container cpu-unlimited got 100 %"),
        "{f:#?}"
    );
    assert!(f[1].contains("Its memory was neither ballooned nor swapped."));
    assert!(
        f.iter()
            .any(|s| s.starts_with("1 of 2 steps failed: #2 (pool"))
    );
    assert_eq!(
        f.last().map(String::as_str),
        Some("1 of 2 expectations failed: balloon<&\">.")
    );

    // Other numbers, other words: all ready time max-limited, half the demand served.
    set_series(&mut o, "cpu-limited", "cpu.maxlimited.summation", |_| {
        10_000
    });
    set_series(&mut o, "cpu-limited", "cpu.ready.summation", |_| 10_000);
    set_series(&mut o, "cpu-limited", "cpu.demand.average", |_| 1_000);
    set_series(&mut o, "cpu-limited", "cpu.usagemhz.average", |_| 500);
    o.vchs[0].cpu_limit_mhz = Some(800);
    let f = reports::findings(&o);
    assert!(
        f[0].starts_with(
            "Under the 800 MHz CPU and 500 MB memory limits of VCH limited, the container \
             cpu-limited got 50 % of its CPU demand (500 of 1000 MHz on average); it was ready \
             but not running 50 % of the time, all of it max-limited"
        ),
        "{f:#?}"
    );
    // The report opens with them.
    let charts = reports::render_charts(&o).expect("charts");
    let html = reports::report_html(&o, &charts);
    let findings = html.find("id=\"findings\"").expect("findings");
    assert!(findings < html.find("<h2>Expectations</h2>").expect("expectations"));
    assert!(html.contains("got 50 % of its CPU demand"));
}

/// `n` containers on VCH `limited`, container `cN` ready `N × 100` ms per sample.
fn many_containers(n: usize) -> RunOutcome {
    let mut o = fixture::outcome();
    o.entities.retain(|e| e.kind != EntityKind::Container);
    o.series.retain(|s| s.kind != EntityKind::Container);
    for i in 1..=n {
        let name = format!("c{i:03}");
        o.entities.push(EntityRecord {
            kind: EntityKind::Container,
            name: name.clone(),
            vsphere_name: name.clone(),
            moref: format!("vm-{}", 100 + i),
            vch: Some("limited".into()),
        });
        let c = EntityKind::Container;
        o.series.push(constant_series(
            c,
            &name,
            "cpu.ready.summation",
            "millisecond",
            i as i64 * 100,
        ));
        o.series.push(constant_series(
            c,
            &name,
            "cpu.usagemhz.average",
            "megaHertz",
            100,
        ));
        o.series.push(constant_series(
            c,
            &name,
            "mem.granted.average",
            "kiloBytes",
            1024 * 1024,
        ));
    }
    o
}

#[test]
fn only_the_worst_containers_get_charts_and_the_table_is_top_n_in_esxtop_order() {
    let o = many_containers(40);
    let specs = reports::chart_specs(&o);
    let containers: Vec<&str> = specs
        .iter()
        .filter(|s| s.entity_kind == EntityKind::Container)
        .map(|s| s.entity.as_str())
        .collect();
    let mut charted: Vec<&str> = containers.clone();
    charted.dedup();
    assert_eq!(charted.len(), reports::top::TOP_CHARTS);
    // The most ready: c040 … c033, in entity order in the grid.
    let want: Vec<String> = (33..=40).map(|i| format!("c{i:03}")).collect();
    assert_eq!(charted, want);
    // Pools keep theirs: 4 pool charts + 2 per charted container.
    assert_eq!(specs.len(), 4 + 2 * reports::top::TOP_CHARTS);

    let charts = reports::render_charts(&o).expect("charts");
    let html = reports::report_html(&o, &charts);
    assert!(html.contains("The 20 of 40 containers with the most ready time"));
    let top = &html[html.find("Top containers").expect("table")..];
    let first = top.find("<td>c040</td>").expect("worst first");
    let second = top.find("<td>c039</td>").expect("then");
    assert!(first < second);
    assert!(!top.contains("<td>c020</td>"), "only the top 20 rows");
    assert!(top.contains("<td>c021</td>"));
    // %RDY of c040: 4000 ms of 20 s.
    assert!(top.contains("<td class=\"num\">20.0</td>"));
}

#[test]
fn coinciding_lines_stay_visible_and_the_legend_says_so() {
    let o = fixture::outcome();
    let specs = reports::chart_specs(&o);
    let cpu = specs
        .iter()
        .find(|s| s.stem == "cpu-limited-cpu")
        .expect("chart");
    // Usage (500 − i MHz) lies on entitlement (500 MHz) within 1 % of the axis.
    let usage = cpu
        .left
        .lines
        .iter()
        .find(|l| l.label == "Usage")
        .expect("usage");
    assert_eq!(usage.same_as, Some(("Entitlement".to_owned(), 100)));
    assert_eq!(usage.stroke, reports::charts::Stroke::Dotted);
    let entitlement = &cpu.left.lines[1];
    assert!(entitlement.width > usage.width, "drawn wider underneath");
    let svg = reports::chart_svg(cpu).expect("svg");
    assert!(svg.contains("Usage (MHz), same as Entitlement"), "{svg}");
    // Demand differs: no note.
    assert!(svg.contains("Demand (MHz)<") || svg.contains("Demand (MHz)\n"));
    assert!(!svg.contains("Demand (MHz), same as"));
}

#[test]
fn ready_is_a_share_of_time_limits_and_steps_are_drawn_and_rows_share_scales() {
    let mut o = fixture::outcome();
    o.steps.push(StepRecord {
        index: 3,
        at_s: 120,
        command: "pool vch-limited cpu_limit_mhz=800 cpu_reservation_mhz=200".into(),
        result: "ok".into(),
        ok: true,
        virtual_ms: None,
        output: String::new(),
    });
    // The limited VCH's appliance.
    o.entities.push(EntityRecord {
        kind: EntityKind::Vm,
        name: "vch-limited".into(),
        vsphere_name: "vch-limited".into(),
        moref: "vm-9".into(),
        vch: Some("limited".into()),
    });
    o.series.push(constant_series(
        EntityKind::Vm,
        "vch-limited",
        "cpu.usagemhz.average",
        "megaHertz",
        99,
    ));
    let specs = reports::chart_specs(&o);
    let pool = specs
        .iter()
        .find(|s| s.stem == "pool-vch-limited-cpu")
        .expect("pool");
    let limits: Vec<&reports::Line> = pool
        .left
        .lines
        .iter()
        .filter(|l| l.label == "Limit")
        .collect();
    assert_eq!(limits.len(), 2, "500 MHz until 02:00, then 800 MHz");
    assert_eq!(limits[0].points, vec![(0, 500.0), (120, 500.0)]);
    assert_eq!(limits[1].points, vec![(120, 800.0), (300, 800.0)]);
    assert!(limits[0].in_legend && !limits[1].in_legend);
    let reservation: Vec<&reports::Line> = pool
        .left
        .lines
        .iter()
        .filter(|l| l.label == "Reservation")
        .collect();
    assert_eq!(reservation[0].points, vec![(120, 200.0), (300, 200.0)]);
    assert!(pool.left.range.1 >= 800.0, "the limit is inside the axis");
    let svg = reports::chart_svg(pool).expect("svg");
    assert!(svg.contains("Limit (MHz)") && svg.contains("Reservation (MHz)"));
    // Steps on the time axis: the pool's own step 3 (and the failed step 2 naming it).
    let at: Vec<(u64, &str)> = pool
        .markers
        .iter()
        .map(|m| (m.at_s, m.label.as_str()))
        .collect();
    assert_eq!(at, [(60, "2"), (120, "3")]);
    assert!(svg.contains("Step (number in Steps)"));

    // The appliance has its own charts, in its own grid row.
    let appliance = specs
        .iter()
        .find(|s| s.stem == "vch-vch-limited-cpu")
        .expect("appliance chart");
    assert_eq!(appliance.grid.role, reports::charts::Role::Appliance);
    let charts = reports::render_charts(&o).expect("charts");
    let html = reports::report_html(&o, &charts);
    assert!(html.contains("VCH appliance · CPU"));

    // Ready on a % of time axis.
    let cpu = specs
        .iter()
        .find(|s| s.stem == "cpu-limited-cpu")
        .expect("cpu");
    let right = cpu.right.as_ref().expect("right axis");
    assert_eq!(right.unit, "%");
    assert_eq!(right.desc, "% of time (dashed)");
    // Side by side, one scale: 500 MB granted (limited) and 4096 MB (unlimited).
    let mem = |stem: &str| specs.iter().find(|s| s.stem == stem).expect(stem);
    let (a, b) = (mem("cpu-limited-mem"), mem("cpu-unlimited-mem"));
    assert_eq!(a.grid.position, b.grid.position);
    assert_eq!(a.left.range, b.left.range);
    assert!(a.left.range.1 >= 4096.0);
    assert_eq!(
        a.right.as_ref().map(|r| r.range),
        b.right.as_ref().map(|r| r.range)
    );
}

#[test]
fn chart_text_is_at_least_11_px_on_a_1400_px_page() {
    let o = fixture::outcome();
    let charts = reports::render_charts(&o).expect("charts");
    let scale = f64::from(reports::MIN_CHART_PX) / f64::from(reports::charts::WIDTH);
    for c in &charts {
        for part in c.svg.split("font-size=\"").skip(1) {
            let px: f64 = part[..part.find('"').expect("quote")]
                .trim_end_matches("px")
                .parse()
                .expect("font size");
            assert!(
                px * scale >= 11.0,
                "{}: {px} px text shown at {scale}",
                c.spec.stem
            );
        }
    }
    // Two VCH columns fit a 1 400 px page at that width, and the grid never squeezes them.
    let html = reports::report_html(&o, &charts);
    let min = html
        .split("class=\"grid\" style=\"min-width:")
        .nth(1)
        .and_then(|s| s.split("px").next())
        .and_then(|s| s.parse::<u32>().ok())
        .expect("grid min-width");
    assert!(min <= 1400 - 2 * 16, "{min}");
    assert!(min >= 2 * reports::MIN_CHART_PX);
}

/// `n` containers for `samples` samples, every counter a chart or the table reads.
fn large(n: usize, samples: u64) -> RunOutcome {
    let mut o = fixture::outcome();
    o.meta.duration = Duration::from_secs(samples * 20);
    o.entities.retain(|e| e.kind != EntityKind::Container);
    o.series.retain(|s| s.kind != EntityKind::Container);
    let counters = [
        ("cpu.demand.average", "megaHertz"),
        ("cpu.entitlement.latest", "megaHertz"),
        ("cpu.usagemhz.average", "megaHertz"),
        ("cpu.ready.summation", "millisecond"),
        ("cpu.maxlimited.summation", "millisecond"),
        ("mem.granted.average", "kiloBytes"),
        ("mem.consumed.average", "kiloBytes"),
        ("mem.active.average", "kiloBytes"),
        ("mem.vmmemctl.average", "kiloBytes"),
        ("mem.swapped.average", "kiloBytes"),
        ("mem.latency.average", "percent"),
    ];
    for i in 0..n {
        let name = format!("web{i:03}");
        o.entities.push(EntityRecord {
            kind: EntityKind::Container,
            name: name.clone(),
            vsphere_name: name.clone(),
            moref: format!("vm-{}", 100 + i),
            vch: Some(if i % 2 == 0 { "limited" } else { "unlimited" }.into()),
        });
        for (k, (counter, unit)) in counters.iter().enumerate() {
            o.series.push(Series {
                kind: EntityKind::Container,
                entity: name.clone(),
                counter: (*counter).into(),
                instance: String::new(),
                unit: (*unit).into(),
                // Noisy values (an LCG), so compression has real work to do.
                points: (1..=samples)
                    .map(|t| Point {
                        offset_s: t * 20,
                        value: (((t * 6_364_136_223 + (i * 31 + k) as u64 * 1_442_695) >> 7)
                            & 0x3fff) as i64,
                    })
                    .collect(),
            });
        }
    }
    o
}

#[test]
fn a_day_of_100_containers_gives_a_small_report_and_every_sample_in_parquet() {
    // One simulated day of 20 s samples.
    let o = large(100, 4_320);
    let rows = reports::total_rows(&o);
    assert!(rows > 4_000_000, "{rows}");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("big");
    let written = reports::render(&o, &out).expect("render");
    let size = |p: &std::path::Path| fs::metadata(p).expect("meta").len();
    let html = size(&out.join("report.html"));
    let total: u64 = written.files.iter().map(|f| size(f)).sum();
    assert!(html <= 5 * 1024 * 1024, "report.html is {html} bytes");
    assert!(total <= 50 * 1024 * 1024, "the report is {total} bytes");
    assert!(
        !out.join("metrics.csv").exists(),
        "no CSV above the row limit"
    );
    let pngs = written
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .count();
    // 2 pools and the top containers, CPU and memory each.
    assert_eq!(pngs, 2 * (2 + reports::top::TOP_CHARTS));
    // Every sample is in the Parquet file.
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader =
        SerializedFileReader::new(fs::File::open(out.join("metrics.parquet")).expect("open"))
            .expect("parquet");
    assert_eq!(reader.metadata().file_metadata().num_rows() as usize, rows);
}
