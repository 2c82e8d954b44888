//! The findings paragraph at the top of the report: what happened, in plain words, computed
//! from the run's numbers — per VCH, how much of their CPU demand its containers got, how
//! long they were ready but not running and how much of that the limit caused, and whether
//! memory was ballooned or swapped; then failed steps and expectations.

use scenarios::{RunOutcome, VchRecord};

use crate::names::fmt_fixed;
use crate::top::{self, ContainerRow};

/// Ready time above this share of the sample interval (%) counts as "ready a lot" (VMware's
/// usual rule of thumb for %RDY per vCPU).
pub const READY_PCT_NOTABLE: f64 = 5.0;

/// A percentage for a sentence: whole numbers from 10 up, one decimal below.
fn pct(v: f64) -> String {
    if v.abs() >= 10.0 {
        fmt_fixed(v, 0)
    } else {
        fmt_fixed(v, 1)
    }
}

fn mb(v: f64) -> String {
    fmt_fixed(v, 0)
}

/// `Under the 500 MHz CPU and 500 MB memory limits of VCH limited`, `On VCH web (no limits)`.
fn vch_opening(v: &VchRecord) -> String {
    let cpu = v.cpu_limit_mhz.filter(|n| *n > 0);
    let mem = v.mem_limit_mb.filter(|n| *n > 0);
    match (cpu, mem) {
        (Some(c), Some(m)) => format!(
            "Under the {c} MHz CPU and {m} MB memory limits of VCH {}",
            v.name
        ),
        (Some(c), None) => format!("Under the {c} MHz CPU limit of VCH {}", v.name),
        (None, Some(m)) => format!("Under the {m} MB memory limit of VCH {}", v.name),
        (None, None) => format!("On VCH {} (no limits)", v.name),
    }
}

/// `got 22 % of its CPU demand (400 of 1818 MHz on average); it was ready but not running
/// 79 % of the time, all of it max-limited`.
fn cpu_clause(r: &ContainerRow) -> Option<String> {
    let mut parts = Vec::new();
    if let (Some(got), Some(u), Some(d)) = (r.got_pct, r.usage_mhz, r.demand_mhz) {
        parts.push(format!(
            "got {} % of its CPU demand ({} of {} MHz on average)",
            pct(got),
            fmt_fixed(u, 0),
            fmt_fixed(d, 0)
        ));
    }
    if let Some(rdy) = r.rdy_pct {
        let mut s = format!("it was ready but not running {} % of the time", pct(rdy));
        if let Some(ml) = r.mlmtd_pct.filter(|_| rdy >= 0.5) {
            let share = (ml / rdy).clamp(0.0, 1.0);
            s.push_str(&if share >= 0.995 {
                ", all of it max-limited (held back by the limit)".to_owned()
            } else if share <= 0.005 {
                ", none of it max-limited (waiting for physical CPUs)".to_owned()
            } else {
                format!(", {} % of it max-limited", pct(share * 100.0))
            });
        }
        parts.push(s);
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What the containers of one VCH went through, in one or two sentences.
fn vch_finding(v: &VchRecord, rows: &[&ContainerRow]) -> String {
    let opening = vch_opening(v);
    let n = rows.len();
    let mut out = String::new();
    // rows are worst first (esxtop order).
    let busy = rows
        .iter()
        .filter(|r| r.rdy_pct.is_some_and(|p| p > READY_PCT_NOTABLE))
        .count();
    match rows.first() {
        Some(worst) if n == 1 => {
            let cpu = cpu_clause(worst).unwrap_or_else(|| "had no CPU samples".to_owned());
            out.push_str(&format!("{opening}, the container {} {cpu}.", worst.name));
        }
        Some(worst) if busy > 0 => {
            let cpu = cpu_clause(worst).unwrap_or_default();
            let who = match (busy, n) {
                (2, 2) => "both its containers were".to_owned(),
                (b, n) if b == n => format!("all {n} of its containers were"),
                (1, n) => format!("1 of its {n} containers was"),
                (b, n) => format!("{b} of its {n} containers were"),
            };
            out.push_str(&format!(
                "{opening}, {who} ready but not running more than {} % of the time; the worst, \
                 {}, {cpu}.",
                crate::names::fmt_num(READY_PCT_NOTABLE),
                worst.name
            ));
        }
        Some(_) => {
            let demand: f64 = rows.iter().filter_map(|r| r.demand_mhz).sum();
            let usage: f64 = rows.iter().filter_map(|r| r.usage_mhz).sum();
            let most = rows.iter().filter_map(|r| r.rdy_pct).fold(0.0f64, f64::max);
            let got = if demand > 0.0 {
                format!(
                    " got {} % of their CPU demand and",
                    pct((usage / demand * 100.0).min(100.0))
                )
            } else {
                String::new()
            };
            out.push_str(&format!(
                "{opening}, its {n} containers{got} were ready but not running at most {} % of \
                 the time.",
                pct(most)
            ));
        }
        None => {
            out.push_str(&format!("{opening}, no container ran."));
            return out;
        }
    }
    let squeezed: Vec<&&ContainerRow> = rows
        .iter()
        .filter(|r| r.balloon_mb.unwrap_or(0.0) > 0.0 || r.swap_mb.unwrap_or(0.0) > 0.0)
        .collect();
    let worst_mem = squeezed.iter().max_by(|a, b| {
        let k = |r: &ContainerRow| {
            (
                r.swap_mb.unwrap_or(0.0),
                r.balloon_mb.unwrap_or(0.0),
                r.latency_pct.unwrap_or(0.0),
            )
        };
        let (ka, kb) = (k(a), k(b));
        ka.0.total_cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(b.name.cmp(&a.name))
    });
    match worst_mem {
        None => out.push_str(if n == 1 {
            " Its memory was neither ballooned nor swapped."
        } else {
            " No container's memory was ballooned or swapped."
        }),
        Some(r) => {
            let who = if n == 1 {
                "Its memory".to_owned()
            } else if squeezed.len() == 1 {
                format!("Only {}'s memory", r.name)
            } else {
                format!(
                    "{} of its {n} containers had memory ballooned or swapped; {}'s",
                    squeezed.len(),
                    r.name
                )
            };
            let mut s = format!(
                " {who} was ballooned up to {} MB and swapped up to {} MB",
                mb(r.balloon_mb.unwrap_or(0.0)),
                mb(r.swap_mb.unwrap_or(0.0))
            );
            if let Some(lat) = r.latency_pct.filter(|l| *l > 0.0) {
                s.push_str(&format!(
                    ", and it waited for memory {} % of the time (memory latency)",
                    pct(lat)
                ));
            }
            s.push('.');
            out.push_str(&s);
        }
    }
    out
}

/// The findings, one paragraph each: a finding per VCH (file order), then containers of no
/// known VCH, failed steps and the expectations' result.
pub fn findings(o: &RunOutcome) -> Vec<String> {
    let ranked = top::ranked(o);
    let mut out = Vec::new();
    for v in &o.vchs {
        let rows: Vec<&ContainerRow> = ranked
            .iter()
            .filter(|r| r.vch.as_deref() == Some(v.name.as_str()))
            .collect();
        out.push(vch_finding(v, &rows));
    }
    let orphans = ranked
        .iter()
        .filter(|r| {
            !r.vch
                .as_ref()
                .is_some_and(|n| o.vchs.iter().any(|v| &v.name == n))
        })
        .count();
    if orphans > 0 {
        out.push(format!(
            "{orphans} container(s) belong to no VCH of this scenario; see the table below."
        ));
    }
    if let Some(f) = crate::runs::finding(o) {
        out.push(f);
    }
    let failed: Vec<&scenarios::StepRecord> = o.steps.iter().filter(|s| !s.ok).collect();
    if !failed.is_empty() {
        let listed: Vec<String> = failed
            .iter()
            .take(3)
            .map(|s| format!("#{} ({})", s.index, s.command))
            .collect();
        let more = if failed.len() > 3 {
            format!(" and {} more", failed.len() - 3)
        } else {
            String::new()
        };
        out.push(format!(
            "{} of {} steps failed: {}{more}.",
            failed.len(),
            o.steps.len(),
            listed.join(", ")
        ));
    }
    let bad: Vec<&str> = o
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.id.as_str())
        .collect();
    out.push(match (o.verdicts.len(), bad.len()) {
        (0, _) => "The scenario states no expectations.".to_owned(),
        (n, 0) => format!("All {n} expectations held."),
        (n, k) => format!("{k} of {n} expectations failed: {}.", bad.join(", ")),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_read_naturally() {
        assert_eq!(pct(78.78), "79");
        assert_eq!(pct(4.04), "4.0");
        assert_eq!(pct(0.0), "0.0");
    }
}
