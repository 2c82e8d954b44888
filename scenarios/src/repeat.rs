//! Repeated steps: `count = N` and `every = "D"` on a `[[step]]` make N steps, repetition k
//! at `at + (k-1)×D`, with `${i}` in the step's strings replaced by k.
//!
//! ```toml
//! [[step]]
//! at = "0s"
//! count = 20
//! every = "60s"
//! vch = "ramp"
//! docker = "run -d --name c${i} -m 1g progrium/stress --cpu 1 --timeout 3600s"
//! ```

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use crate::duration::{format_duration, parse_duration};
use crate::errors::Collector;
use crate::limits::{MAX_CONTAINERS, MAX_STEPS};
use crate::schema::{Action, DockerVerb, RawStep, Step};
use crate::vars::REPETITION;

/// One repetition of a raw step: its number (when the step has `count`), the step with
/// `${i}` replaced, and its offset from the step's `at`.
pub(crate) struct Repetition {
    pub number: Option<u32>,
    pub step: RawStep,
    pub offset: Duration,
}

fn marker() -> String {
    format!("${{{REPETITION}}}")
}

/// The step's strings that may hold `${i}`, by name.
fn strings(s: &RawStep) -> Vec<&Spanned<String>> {
    let mut out: Vec<&Spanned<String>> = Vec::new();
    out.extend(s.docker.iter());
    out.extend(s.vch.iter());
    out.extend(s.expect.iter());
    out.extend(s.expect_error.iter());
    if let Some(p) = &s.pool {
        out.push(&p.get_ref().name);
    }
    if let Some(p) = &s.power {
        out.push(&p.get_ref().vm);
        out.push(&p.get_ref().state);
    }
    out
}

fn with_number(s: &RawStep, k: u32) -> RawStep {
    let m = marker();
    let sub = |v: &Spanned<String>| Spanned::new(v.span(), v.get_ref().replace(&m, &k.to_string()));
    let mut out = s.clone();
    out.docker = s.docker.as_ref().map(sub);
    out.vch = s.vch.as_ref().map(sub);
    out.expect = s.expect.as_ref().map(sub);
    out.expect_error = s.expect_error.as_ref().map(sub);
    if let Some(p) = &mut out.pool {
        let span = p.span();
        let mut inner = p.get_ref().clone();
        inner.name = sub(&inner.name);
        *p = Spanned::new(span, inner);
    }
    if let Some(p) = &mut out.power {
        let span = p.span();
        let mut inner = p.get_ref().clone();
        inner.vm = sub(&inner.vm);
        inner.state = sub(&inner.state);
        *p = Spanned::new(span, inner);
    }
    out
}

/// The repetitions of step `n` (one, numbered `None`, without `count`); problems with
/// `count`, `every` or `${i}` are reported (the step is then taken once, so its other
/// fields are still checked). `duration` is the scenario's, when valid.
pub(crate) fn repetitions(
    c: &mut Collector<'_>,
    n: usize,
    s: RawStep,
    duration: Option<Duration>,
) -> Vec<Repetition> {
    let once = |s: RawStep| {
        vec![Repetition {
            number: None,
            step: s,
            offset: Duration::ZERO,
        }]
    };
    let Some(count) = s.count.clone() else {
        if let Some(e) = &s.every {
            c.at(
                &e.span(),
                format!("step {n}: `every` goes with `count` (how many times the step runs)"),
            );
        }
        for v in strings(&s) {
            if v.get_ref().contains(&marker()) {
                c.at(
                    &v.span(),
                    format!(
                        "step {n}: ${{{REPETITION}}} is the repetition number of a step with `count`: give the step `count`"
                    ),
                );
            }
        }
        return once(s);
    };
    let max = i64::try_from(MAX_STEPS).unwrap_or(i64::MAX);
    let total = *count.get_ref();
    if !(1..=max).contains(&total) {
        c.at(
            &count.span(),
            format!("step {n}: count {total} must be from 1 to {MAX_STEPS} (the most steps a scenario may have)"),
        );
        return once(s);
    }
    let total = u32::try_from(total).unwrap_or(1);
    let every = match &s.every {
        None => Duration::ZERO,
        Some(e) => match parse_duration(e.get_ref()) {
            Ok(d) => d,
            Err(why) => {
                c.at(&e.span(), format!("step {n}: every: {why}"));
                return once(s);
            }
        },
    };
    // The last repetition must fall within the run, like every other time bound.
    if let (Ok(at), Some(d)) = (parse_duration(s.at.get_ref()), duration) {
        let last = at + every * (total - 1);
        if at <= d && last > d {
            let span: Range<usize> = s.every.as_ref().map_or(count.span(), Spanned::span);
            c.at(
                &span,
                format!(
                    "step {n}: repetition {total} would run at {}, after the scenario's duration {}",
                    format_duration(last),
                    format_duration(d)
                ),
            );
        }
    }
    (1..=total)
        .map(|k| Repetition {
            number: Some(k),
            step: with_number(&s, k),
            offset: every * (k - 1),
        })
        .collect()
}

/// The step and container bounds of [`crate::limits`] over the steps as repeated, reported
/// at the first step that goes over (a file with more `[[step]]` entries than the bound is
/// reported by the entry count already).
pub(crate) fn totals(c: &mut Collector<'_>, steps: &[Step], spans: &[(usize, Range<usize>)]) {
    let span_of = |index: usize| {
        spans
            .iter()
            .find(|(i, _)| *i == index)
            .map_or(0..0, |(_, s)| s.clone())
    };
    if !steps.iter().any(|s| s.repetition.is_some()) {
        return;
    }
    if let Some(s) = steps.get(MAX_STEPS) {
        c.at(
            &span_of(s.index),
            format!(
                "step {}: with its repetitions the scenario has {} steps; a scenario may have at most {MAX_STEPS}",
                s.index,
                steps.len()
            ),
        );
    }
    let runs: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(&s.action, Action::Docker(d) if d.verb == DockerVerb::Run))
        .collect();
    if let Some(s) = runs.get(MAX_CONTAINERS) {
        c.at(
            &span_of(s.index),
            format!(
                "step {}: with its repetitions the scenario starts {} containers; a scenario may start at most {MAX_CONTAINERS} (`docker run` steps)",
                s.index,
                runs.len()
            ),
        );
    }
}
