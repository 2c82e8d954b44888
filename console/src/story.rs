//! The guided story: the scenario told as steps a trainer walks through, each with its
//! action, what to look at, and a live verdict.
//!
//! The story is built from the scenario itself, so it says what the scenario's expectations
//! say: the docker steps are grouped by their start time (one story step per group: "run
//! these"), and each expectation on a container those commands name becomes an observation
//! of its step (`cpu-limited: CPU entitlement ≤ 500 MHz`). A step is *seen* when every one of
//! its observations holds, read as the scenario's evaluation reads it: the expectation's
//! statistic, for each running VM its pattern matches, with `relative_to` dividing by the
//! mean of the referenced expectation's VMs — but over the newest [`RECENT_SAMPLES`] samples:
//! the scenario's time windows do not apply live, the room decides when to click. The
//! console reads aggregate counters only, so expectations on one instance (a vCPU), and
//! `sum`s (whose bounds are made for a whole window), are not observed. A last step
//! asks to raise each CPU-limited VCH's limit and is seen when its containers' ready falls
//! under [`LOW_READY_PERCENT`] with the limit raised.

use scenarios::evaluate::statistic;
use scenarios::schema::{Action, EntityKind, Expectation, Scenario, Stat, flag_value};

use crate::feed::{self, Window};
use crate::model::{StoryStepView, VchView, Verdict, VmView};

/// Samples averaged for a verdict (one virtual minute).
pub const RECENT_SAMPLES: usize = 3;

/// Ready (% of the interval, esxtop's %RDY) under which a raised limit counts as relief:
/// the scenario library's own bound for "low ready" (`unlimited-ready`: 1 000 ms of 20 s).
pub const LOW_READY_PERCENT: f64 = 5.0;

/// One observation: an expectation read live.
#[derive(Clone, Debug)]
struct Observation {
    expectation: Expectation,
    /// For `relative_to`: the referenced expectation.
    reference: Option<Expectation>,
}

#[derive(Clone, Debug)]
enum Check {
    /// Every observation holds.
    Observations(Vec<Observation>),
    /// The VCH's CPU limit is above `limit_mhz` (or unlimited) and its containers' ready is low.
    Relief { vch: String, limit_mhz: i64 },
}

#[derive(Clone, Debug)]
struct Step {
    view: StoryStepView,
    check: Check,
}

/// The story and its verdicts.
#[derive(Clone, Debug, Default)]
pub struct Story {
    steps: Vec<Step>,
}

/// A docker step of a story step: (VCH, command line, container name or empty).
type Command = (String, String, String);

fn container_name(argv: &[String]) -> Option<String> {
    flag_value(argv, &["--name"]).map(str::to_owned)
}

/// A value in the expectation's unit, with the page's percent beside a summation in ms
/// (the scenario bounds ready in ms per 20 s sample; the charts show % of the interval).
fn shown(e: &Expectation, v: f64) -> String {
    let text = e.unit.format(v);
    if e.unit.symbol == "ms" && e.counter.ends_with(".summation") {
        format!("{text} ({:.1} %)", v / feed::INTERVAL_MS as f64 * 100.0)
    } else {
        text
    }
}

fn describe(e: &Expectation) -> String {
    let label = feed::label(&e.counter).unwrap_or(&e.counter);
    let bound = |v: f64| {
        if e.relative_to.is_some() {
            format!("{v}× {}", e.relative_to.as_deref().unwrap_or_default())
        } else {
            shown(e, v)
        }
    };
    let range = match (e.min, e.max) {
        (Some(lo), Some(hi)) => format!("between {} and {}", bound(lo), bound(hi)),
        (Some(lo), None) => format!("≥ {}", bound(lo)),
        (None, Some(hi)) => format!("≤ {}", bound(hi)),
        (None, None) => "any".to_owned(),
    };
    format!("{}: {label} {range}", e.entity.pattern)
}

impl Story {
    /// The story of `scenario`.
    pub fn of(scenario: &Scenario) -> Story {
        let mut groups: Vec<(std::time::Duration, Vec<Command>)> = Vec::new();
        for step in &scenario.steps {
            let Action::Docker(d) = &step.action else {
                continue;
            };
            let entry = (
                d.vch.clone(),
                d.argv.join(" "),
                container_name(&d.argv).unwrap_or_default(),
            );
            match groups.iter_mut().find(|(at, _)| *at == step.at) {
                Some((_, v)) => v.push(entry),
                None => groups.push((step.at, vec![entry])),
            }
        }
        let by_id = |id: &str| scenario.expectations.iter().find(|e| e.id == id).cloned();
        let mut steps = Vec::new();
        for (i, (_, commands)) in groups.iter().enumerate() {
            let observations: Vec<Observation> = scenario
                .expectations
                .iter()
                .filter(|e| matches!(e.entity.kind, EntityKind::Container | EntityKind::Vm))
                .filter(|e| observable(e))
                .filter(|e| {
                    commands.iter().any(|(_, _, name)| {
                        !name.is_empty() && e.entity.matches(e.entity.kind, name)
                    })
                })
                .map(|e| Observation {
                    expectation: e.clone(),
                    reference: e.relative_to.as_deref().and_then(by_id),
                })
                .collect();
            let names: Vec<&str> = commands
                .iter()
                .map(|(_, _, n)| n.as_str())
                .filter(|n| !n.is_empty())
                .collect();
            let look_at = if observations.is_empty() {
                "the containerVMs' charts".to_owned()
            } else {
                observations
                    .iter()
                    .map(|o| describe(&o.expectation))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            steps.push(Step {
                view: StoryStepView {
                    id: format!("step-{}", i + 1),
                    title: format!("Run {}", names.join(" and ")),
                    action: commands
                        .iter()
                        .map(|(vch, line, _)| format!("on {vch}: docker {line}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    look_at,
                    verdict: Verdict::Waiting,
                    observed: None,
                },
                check: Check::Observations(observations),
            });
        }
        for v in &scenario.vchs {
            let Some(limit_mhz) =
                flag_value(&v.args, &["--cpu", "--cpu-limit"]).and_then(|l| l.parse::<i64>().ok())
            else {
                continue;
            };
            steps.push(Step {
                view: StoryStepView {
                    id: format!("relief-{}", v.name),
                    title: format!("Raise {}'s CPU limit", v.name),
                    action: format!(
                        "Set {}'s CPU limit above {limit_mhz} MHz (or unlimited) and apply: the \
                         pool's UpdateConfig, as an admin does in vCenter",
                        v.name
                    ),
                    look_at: format!(
                        "CPU ready of {}'s running containers falls under {LOW_READY_PERCENT} %",
                        v.name
                    ),
                    verdict: Verdict::Waiting,
                    observed: None,
                },
                check: Check::Relief {
                    vch: v.name.clone(),
                    limit_mhz,
                },
            });
        }
        Story { steps }
    }

    /// The steps with their verdicts.
    pub fn views(&self) -> Vec<StoryStepView> {
        self.steps.iter().map(|s| s.view.clone()).collect()
    }

    /// Re-reads every verdict from the window; true when any view changed. A step once seen
    /// stays seen (the room saw it).
    pub fn update(&mut self, window: &Window, vchs: &[VchView], vms: &[VmView]) -> bool {
        let mut changed = false;
        for step in &mut self.steps {
            if step.view.verdict == Verdict::Seen {
                continue;
            }
            let (holds, observed) = match &step.check {
                Check::Observations(obs) => observe(obs, window, vms),
                Check::Relief { vch, limit_mhz } => relief(vch, *limit_mhz, window, vchs, vms),
            };
            let verdict = if holds {
                Verdict::Seen
            } else {
                Verdict::Waiting
            };
            if verdict != step.view.verdict || observed != step.view.observed {
                step.view.verdict = verdict;
                step.view.observed = observed;
                changed = true;
            }
        }
        changed
    }
}

/// Whether the console can read `e` live (see the module's overview).
fn observable(e: &Expectation) -> bool {
    e.instance.is_empty() && e.stat != Stat::Sum
}

/// Whether `e`'s pattern names `vm` (a containerVM by its container name, or by its vSphere
/// name for `vm` patterns; the appliance by its vSphere name).
fn names(e: &Expectation, vm: &VmView) -> bool {
    let (kind, name) = if vm.kind == "container" {
        (EntityKind::Container, &vm.name)
    } else {
        (EntityKind::Vm, &vm.vsphere_name)
    };
    e.entity.matches(kind, name)
        || (e.entity.kind == EntityKind::Vm && e.entity.matches(EntityKind::Vm, &vm.vsphere_name))
}

/// `e`'s statistic over the newest samples of each running VM it names, in the
/// expectation's display unit, as (name, value); `None` while none runs or one of them has
/// fewer than [`RECENT_SAMPLES`] samples.
fn live_values(e: &Expectation, window: &Window, vms: &[VmView]) -> Option<Vec<(String, f64)>> {
    let mut out = Vec::new();
    for vm in vms.iter().filter(|v| v.power == "poweredOn" && names(e, v)) {
        let recent = window.recent(&vm.moref, &e.counter, RECENT_SAMPLES);
        if recent.len() < RECENT_SAMPLES {
            return None;
        }
        let values = recent
            .iter()
            .map(|shown| feed::raw(&e.counter, *shown).map(|raw| e.unit.from_raw(raw)))
            .collect::<Option<Vec<f64>>>()?;
        out.push((vm.name.clone(), statistic(e.stat, &values)?));
    }
    (!out.is_empty()).then_some(out)
}

fn observe(obs: &[Observation], window: &Window, vms: &[VmView]) -> (bool, Option<String>) {
    if obs.is_empty() {
        return (false, None);
    }
    let mut all = true;
    let mut seen = Vec::new();
    for o in obs {
        let e = &o.expectation;
        let Some(values) = live_values(e, window, vms) else {
            all = false;
            continue;
        };
        // With `relative_to`: the mean over the referenced expectation's VMs, as the
        // scenario's evaluation divides.
        let divisor = match &o.reference {
            None => None,
            Some(r) => match live_values(r, window, vms) {
                Some(base) => {
                    let mean = base.iter().map(|(_, v)| v).sum::<f64>() / base.len() as f64;
                    if mean == 0.0 {
                        all = false;
                        continue;
                    }
                    Some((mean, r))
                }
                None => {
                    all = false;
                    continue;
                }
            },
        };
        let label = feed::label(&e.counter).unwrap_or(&e.counter);
        for (name, value) in values {
            let (v, text) = match divisor {
                Some((d, r)) => (value / d, format!("{:.1}× {}", value / d, r.entity.pattern)),
                None => (value, shown(e, value)),
            };
            let ok = e.min.is_none_or(|lo| v >= lo) && e.max.is_none_or(|hi| v <= hi);
            all &= ok;
            seen.push(format!(
                "{name} {label} {text} {}",
                if ok { "✓" } else { "✗" }
            ));
        }
    }
    let observed = (!seen.is_empty()).then(|| seen.join("; "));
    (all, observed)
}

fn relief(
    vch: &str,
    limit_mhz: i64,
    window: &Window,
    vchs: &[VchView],
    vms: &[VmView],
) -> (bool, Option<String>) {
    let Some(view) = vchs.iter().find(|v| v.name == vch) else {
        return (false, None);
    };
    let limit = view.config.cpu.limit;
    let raised = limit == -1 || limit > limit_mhz;
    let mut readies = Vec::new();
    for vm in vms
        .iter()
        .filter(|v| v.vch == vch && v.kind == "container" && v.power == "poweredOn")
    {
        let recent = window.recent(&vm.moref, "cpu.ready.summation", RECENT_SAMPLES);
        if recent.len() == RECENT_SAMPLES {
            readies.push((
                vm.name.clone(),
                recent.iter().sum::<f64>() / recent.len() as f64,
            ));
        }
    }
    let limit_text = if limit == -1 {
        "unlimited".to_owned()
    } else {
        format!("{limit} MHz")
    };
    let observed = format!(
        "limit {limit_text}; {}",
        if readies.is_empty() {
            "no running container".to_owned()
        } else {
            readies
                .iter()
                .map(|(n, r)| format!("{n} ready {r:.1} %"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let holds =
        raised && !readies.is_empty() && readies.iter().all(|(_, r)| *r < LOW_READY_PERCENT);
    (holds, Some(observed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{INTERVAL_MS, Sample};
    use crate::model::{Alloc, PoolConfig};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    const SEED: &str = include_str!("../../scenarios/library/over-the-limits.toml");

    fn scenario() -> Scenario {
        Scenario::parse_with("over-the-limits.toml", SEED, &BTreeMap::new())
            .expect("the library scenario parses")
            .0
    }

    fn vm(moref: &str, name: &str, vch: &str) -> VmView {
        VmView {
            moref: moref.into(),
            name: name.into(),
            vsphere_name: format!("{name}-0123"),
            vch: vch.into(),
            kind: "container",
            power: "poweredOn".into(),
            vcpus: 2,
            memory_mb: 4096,
        }
    }

    fn vch(name: &str, limit: i64) -> VchView {
        let a = Alloc {
            limit,
            reservation: 0,
            shares_level: "normal".into(),
            shares: 4000,
            expandable: true,
        };
        VchView {
            name: name.into(),
            vsphere_name: format!("vch-{name}"),
            pool: "resgroup-1".into(),
            docker_command: "docker -H x".into(),
            config: PoolConfig {
                cpu: a.clone(),
                mem: a,
            },
        }
    }

    fn push(window: &mut Window, n: i64, values: &[(&str, &'static str, f64)]) {
        let mut entities: BTreeMap<String, BTreeMap<&'static str, f64>> = BTreeMap::new();
        for (e, c, v) in values {
            entities.entry((*e).to_owned()).or_default().insert(c, *v);
        }
        window.push(Arc::new(Sample {
            ts_ms: n * INTERVAL_MS,
            entities,
            seen_unix_ms: None,
        }));
    }

    #[test]
    fn the_seed_story_has_its_steps_and_observations() {
        let story = Story::of(&scenario());
        let views = story.views();
        let ids: Vec<&str> = views.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["step-1", "step-2", "relief-limited"]);
        assert_eq!(views[0].title, "Run cpu-limited and cpu-unlimited");
        assert!(
            views[0]
                .look_at
                .contains("cpu-limited: CPU entitlement ≤ 500 MHz"),
            "{}",
            views[0].look_at
        );
        assert!(
            views[1].look_at.contains("mem-limited: Balloon"),
            "{}",
            views[1].look_at
        );
        assert!(views.iter().all(|v| v.verdict == Verdict::Waiting));
    }

    #[test]
    fn verdicts_follow_the_samples() {
        let mut story = Story::of(&scenario());
        let vms = vec![
            vm("vm-1", "cpu-limited", "limited"),
            vm("vm-2", "cpu-unlimited", "unlimited"),
        ];
        let vchs = vec![vch("limited", 500), vch("unlimited", -1)];
        let mut w = Window::default();
        // Limited: entitlement 480, demand 1800, ready 75 %; unlimited: entitlement 2200,
        // ready 1 %.
        for n in 1..=3 {
            push(
                &mut w,
                n,
                &[
                    ("vm-1", "cpu.entitlement.latest", 480.0),
                    ("vm-1", "cpu.demand.average", 1800.0),
                    ("vm-1", "cpu.ready.summation", 75.0),
                    ("vm-2", "cpu.entitlement.latest", 2200.0),
                    ("vm-2", "cpu.demand.average", 1800.0),
                    ("vm-2", "cpu.ready.summation", 1.0),
                ],
            );
            let changed = story.update(&w, &vchs, &vms);
            let seen = story.views()[0].verdict == Verdict::Seen;
            assert_eq!(seen, n == 3, "sample {n}");
            assert!(changed || n == 1 || n == 2);
        }
        let first = &story.views()[0];
        assert!(
            first
                .observed
                .as_deref()
                .unwrap_or_default()
                .contains("cpu-limited CPU ready"),
            "{first:?}"
        );
        // The limit is still 500: no relief whatever the samples say.
        assert_eq!(story.views()[2].verdict, Verdict::Waiting);
        let raised = vec![vch("limited", -1), vch("unlimited", -1)];
        for n in 4..=6 {
            push(&mut w, n, &[("vm-1", "cpu.ready.summation", 0.5)]);
        }
        story.update(&w, &raised, &vms);
        let relief = &story.views()[2];
        assert_eq!(relief.verdict, Verdict::Seen, "{relief:?}");
        assert!(
            relief
                .observed
                .as_deref()
                .unwrap_or_default()
                .contains("limit unlimited")
        );
    }

    #[test]
    fn a_container_above_the_bound_keeps_its_step_waiting() {
        let mut story = Story::of(&scenario());
        let vms = vec![
            vm("vm-1", "cpu-limited", "limited"),
            vm("vm-2", "cpu-unlimited", "unlimited"),
        ];
        let mut w = Window::default();
        for n in 1..=3 {
            push(
                &mut w,
                n,
                &[
                    ("vm-1", "cpu.entitlement.latest", 900.0),
                    ("vm-1", "cpu.demand.average", 1800.0),
                    ("vm-1", "cpu.ready.summation", 75.0),
                    ("vm-2", "cpu.entitlement.latest", 2200.0),
                    ("vm-2", "cpu.demand.average", 1800.0),
                    ("vm-2", "cpu.ready.summation", 1.0),
                ],
            );
        }
        story.update(&w, &[vch("limited", 500)], &vms);
        let first = &story.views()[0];
        assert_eq!(first.verdict, Verdict::Waiting);
        assert!(first.observed.as_deref().unwrap_or_default().contains('✗'));
    }

    /// The first step with only the expectation `id` of the seed, changed by `edit`.
    fn story_with(id: &str, edit: impl FnOnce(&mut Expectation)) -> Story {
        let mut sc = scenario();
        sc.expectations.retain(|e| e.id == id);
        edit(&mut sc.expectations[0]);
        Story::of(&sc)
    }

    #[test]
    fn an_observation_takes_the_expectations_statistic() {
        // max ≤ 500 MHz: one sample at 700 breaks it though the average is 500.
        let mut story = story_with("limited-entitlement", |e| e.stat = Stat::Max);
        let vms = vec![vm("vm-1", "cpu-limited", "limited")];
        let mut w = Window::default();
        for (n, v) in [(1, 400.0), (2, 400.0), (3, 700.0)] {
            push(&mut w, n, &[("vm-1", "cpu.entitlement.latest", v)]);
        }
        story.update(&w, &[vch("limited", 500)], &vms);
        let first = &story.views()[0];
        assert_eq!(first.verdict, Verdict::Waiting, "{first:?}");
        assert!(
            first
                .observed
                .as_deref()
                .unwrap_or_default()
                .contains("700"),
            "{first:?}"
        );
    }

    #[test]
    fn a_pattern_holds_for_every_running_vm_it_names() {
        // cpu-*: the limited container is within 1 000 MHz, the unlimited one is not.
        let mut story = story_with("limited-entitlement", |e| {
            e.entity.pattern = "cpu-*".into();
            e.max = Some(1000.0);
        });
        let mut vms = vec![
            vm("vm-1", "cpu-limited", "limited"),
            vm("vm-2", "cpu-unlimited", "unlimited"),
        ];
        let mut w = Window::default();
        for n in 1..=3 {
            push(
                &mut w,
                n,
                &[
                    ("vm-1", "cpu.entitlement.latest", 480.0),
                    ("vm-2", "cpu.entitlement.latest", 2200.0),
                ],
            );
        }
        story.update(&w, &[], &vms);
        let first = &story.views()[0];
        assert_eq!(first.verdict, Verdict::Waiting, "{first:?}");
        assert!(
            first
                .observed
                .as_deref()
                .unwrap_or_default()
                .contains("cpu-unlimited"),
            "{first:?}"
        );
        // Once the unlimited container is off, the running one decides.
        vms[1].power = "poweredOff".into();
        story.update(&w, &[], &vms);
        assert_eq!(story.views()[0].verdict, Verdict::Seen);
    }

    #[test]
    fn per_instance_and_sum_expectations_are_not_observed_live() {
        let story = story_with("limited-ready", |e| e.instance = "0".into());
        assert_eq!(story.steps[0].view.look_at, "the containerVMs' charts");
        let story = story_with("limited-ready", |e| e.stat = Stat::Sum);
        assert_eq!(story.steps[0].view.look_at, "the containerVMs' charts");
    }
}
