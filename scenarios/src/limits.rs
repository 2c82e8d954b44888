//! What one scenario may ask for. A run holds the emulator, every VCH and containerVM, and
//! writes every sample to `metrics.csv`; these bounds keep a valid scenario finishing in
//! minutes on a laptop, in memory that does not grow with the simulated duration (see the
//! runner's sample spool). A file over a bound is refused at validation with the bound in the
//! message, like every other problem.
//!
//! The runner's cost is linear in containers × simulated time: samples are read back every
//! 30 virtual minutes and before steps that may remove an entity (`docker rm`, `stop`, …),
//! not before every step, and in batches of 50 entities per `QueryPerf`; the emulator steps
//! every entity once per 20 s interval. Measured on the release build, one core
//! (`cargo bench --bench scenario -- scale`, the runner without the report: containers
//! started over the first 10 minutes, one simulated hour):
//!
//! | containers × duration | runner time | per container-hour | peak RSS |
//! |---|---|---|---|
//! | 100 × 1 h | 0.79 s | 7.9 ms | 124 MB |
//! | 1 000 × 1 h | 8.12 s | 8.1 ms | 391 MB |
//! | 5 000 × 12 min (1 000 container-hours) | 35.0 s | 35 ms (not yet linear) | 1.8 GB |
//!
//! Memory grows with containers (the emulator keeps each VM's last hour of samples, as ESXi
//! does), not with duration: samples go to a temporary file as they are read (about 37 KB
//! per container-hour). At the bounds — 1 000 containers for 7 days — a run takes about
//! 25 minutes and spools about 6 GB; 1 000 containers for a day about 3½ minutes.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use vcsim::inventory::InventorySpec;

use crate::duration::format_duration;
use crate::errors::Collector;
use crate::schema::{RawStep, RawVch};

/// Longest simulated duration: one week (30 240 samples of 20 s per series).
pub const MAX_DURATION_S: u64 = 7 * 24 * 3600;
/// Most `[[step]]` entries in one file.
pub const MAX_STEPS: usize = 2000;
/// Most `docker run` steps (each creates a containerVM that is sampled for the whole run).
/// 1 000 containers for one simulated hour take about 8 s of runner time on one core.
pub const MAX_CONTAINERS: usize = 1000;
/// Most `[[vch]]` entries (each is a `vic-machine create` with its own certificates).
pub const MAX_VCHS: usize = 20;
/// Most hosts in `[inventory]` (`count` included).
pub const MAX_INVENTORY_HOSTS: u64 = 100;
/// Most VMs in `[inventory]` (`count` included); each is sampled like a containerVM.
pub const MAX_INVENTORY_VMS: u64 = 500;
/// Most `[[expect]]` entries.
pub const MAX_EXPECTATIONS: usize = 1000;
/// Largest scenario file: room for every other bound, refused before parsing anything.
pub const MAX_FILE_BYTES: usize = 4 << 20;

/// The file size bound, reported at 1:1. `true` when within.
pub(crate) fn file_size(c: &mut Collector<'_>, text: &str) -> bool {
    if text.len() <= MAX_FILE_BYTES {
        return true;
    }
    c.at(
        &(0..0),
        format!(
            "the file is {} bytes; a scenario file may be at most {MAX_FILE_BYTES} bytes (4 MiB)",
            text.len()
        ),
    );
    false
}

/// The duration bound, reported at the duration's span. `true` when within.
pub(crate) fn duration(c: &mut Collector<'_>, span: &Range<usize>, d: Duration) -> bool {
    if d.as_secs() <= MAX_DURATION_S {
        return true;
    }
    c.at(
        span,
        format!(
            "[scenario]: duration {} is longer than the limit of {} (7 days: 30240 samples of 20s per series)",
            format_duration(d),
            format_duration(Duration::from_secs(MAX_DURATION_S))
        ),
    );
    false
}

/// The count bounds on `[[vch]]`, `[[step]]` (all, and `docker run`) and `[[expect]]`, each
/// reported once at the first entry over it.
pub(crate) fn entries(
    c: &mut Collector<'_>,
    vchs: &[Option<RawVch>],
    steps: &[(Range<usize>, Option<RawStep>)],
    expects: &[Range<usize>],
) {
    if let Some(v) = vchs.get(MAX_VCHS) {
        let span = v.as_ref().map_or(0..0, |v| v.name.span());
        c.at(
            &span,
            format!(
                "vch {}: a scenario may create at most {MAX_VCHS} VCHs",
                MAX_VCHS + 1
            ),
        );
    }
    if let Some((span, _)) = steps.get(MAX_STEPS) {
        c.at(
            span,
            format!(
                "step {}: a scenario may have at most {MAX_STEPS} steps",
                MAX_STEPS + 1
            ),
        );
    }
    let runs = steps.iter().enumerate().filter(|(_, (_, s))| {
        s.as_ref()
            .and_then(|s| s.docker.as_ref())
            .is_some_and(is_docker_run)
    });
    if let Some((i, (span, _))) = runs.clone().nth(MAX_CONTAINERS) {
        c.at(
            span,
            format!(
                "step {}: a scenario may start at most {MAX_CONTAINERS} containers (`docker run` steps); this is run number {}",
                i + 1,
                MAX_CONTAINERS + 1
            ),
        );
    }
    if let Some(span) = expects.get(MAX_EXPECTATIONS) {
        c.at(
            span,
            format!(
                "expect {}: a scenario may have at most {MAX_EXPECTATIONS} expectations",
                MAX_EXPECTATIONS + 1
            ),
        );
    }
}

/// The inventory bounds (hosts and VMs, `count` included), reported at `[inventory]`.
pub(crate) fn inventory(c: &mut Collector<'_>, span: &Range<usize>, inv: &InventorySpec) {
    let hosts: u64 = inv
        .clusters
        .iter()
        .flat_map(|cl| &cl.hosts)
        .chain(&inv.standalone_hosts)
        .map(|h| u64::from(h.count))
        .sum();
    let vms: u64 = inv
        .clusters
        .iter()
        .flat_map(|cl| &cl.vms)
        .chain(&inv.standalone_vms)
        .map(|v| u64::from(v.count))
        .sum();
    if hosts > MAX_INVENTORY_HOSTS {
        c.at(
            span,
            format!("inventory: {hosts} hosts; a scenario may have at most {MAX_INVENTORY_HOSTS}"),
        );
    }
    if vms > MAX_INVENTORY_VMS {
        c.at(
            span,
            format!("inventory: {vms} VMs; a scenario may have at most {MAX_INVENTORY_VMS}"),
        );
    }
}

/// Whether a step's docker line is a `run` (`docker` itself optional), as the runner will
/// see it; a line that does not split is reported by the step checks.
fn is_docker_run(line: &Spanned<String>) -> bool {
    let Ok(words) = vic::engine::client::split_words(line.get_ref()) else {
        return false;
    };
    let mut words = words.iter().map(String::as_str);
    match words.next() {
        Some("docker") => words.next() == Some("run"),
        first => first == Some("run"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_is_the_longest_duration() {
        let text = "x";
        let mut c = Collector::new(text);
        assert!(duration(
            &mut c,
            &(0..1),
            Duration::from_secs(MAX_DURATION_S)
        ));
        assert!(c.is_empty());
        assert!(!duration(
            &mut c,
            &(0..1),
            Duration::from_secs(MAX_DURATION_S + 20)
        ));
        let e = c.finish("f.toml").to_string();
        assert_eq!(
            e,
            "f.toml:1:1: [scenario]: duration 168h20s is longer than the limit of 168h (7 days: 30240 samples of 20s per series)"
        );
    }

    #[test]
    fn docker_run_lines() {
        let s = |t: &str| Spanned::new(0..1, t.to_owned());
        assert!(is_docker_run(&s("run -d busybox")));
        assert!(is_docker_run(&s("docker run -d busybox")));
        assert!(!is_docker_run(&s("ps")));
        assert!(!is_docker_run(&s("rm run")));
        assert!(!is_docker_run(&s("run 'unclosed")));
    }
}
