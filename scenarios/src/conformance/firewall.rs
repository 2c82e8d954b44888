//! The firewall suite (vic.md §3): every trust level × traffic kind, the create-time
//! rejections with VIC's messages, the rule sets' iptables-restore rendering, and the
//! `--container-network-firewall` flag's own errors.
//!
//! Where the observations come from:
//!
//! 1. **Rule sets** (mode `tether`): one VCH from `vic-machine create` on the in-process
//!    emulator with a container network per level — `fw-<level>` with a gateway and an
//!    ip-range (so the endpoint is static and peers have pools), and `fwd-<level>` without
//!    either (a dynamic, "DHCP" endpoint) — then `docker create` + `start` on each through the
//!    VCH's Docker endpoint, and the rule set the containerVM's tether applied. Without the
//!    testbed (or when it fails) the rule sets are built with `vic::firewall::rules`, the
//!    function the tether calls, from the endpoint the tether would configure (mode `model`).
//! 2. **Create-time rejections** (mode `engine`): `docker create -p 80` and `-p 8443:443`
//!    alone on each level, and a few bad bindings, answered by the Docker endpoint; in model
//!    mode `vic::firewall::check_bindings`/`check_ports`, which the endpoint calls.
//! 3. **Verdicts**: each traffic kind is one or more flows judged by `vic::firewall::evaluate`
//!    on the level's rule set, and — when the machine allows it — real packets in network
//!    namespaces with the same rule set loaded (mode `+netns`, see [`super::netns`]).
//!
//! Expectations are vic.md §3.4's matrix, written out in `matrix` independently of the `vic`
//! crate (the rejection messages are typed in from vic.md §3.2). Submodules: `matrix` (levels,
//! kinds, expectations, flows, probes), `observe` (real path and model), `labs` (namespace
//! runs), `shape` (reading a loaded filter table).

mod labs;
mod matrix;
mod observe;
mod shape;

use std::net::{IpAddr, Ipv4Addr};

use vic::firewall::{Direction, Flow, FlowProto, RuleSet, evaluate};

use self::labs::{LabLevel, run_labs, static_probes};
use self::matrix::{
    KINDS, LEVELS, Level, Needs, On, UNPUBLISHED, bad_bindings, expected_text, flows,
};
use self::observe::{Observed, observe_model, observe_real};
use self::shape::{expected_shape, shape};
use super::netns::{self, Seen};
use super::{Artifact, CaseResult, NetnsPolicy, Suite, SuiteContext, SuiteResult};

/// Runs the suite.
pub(super) async fn run(ctx: &SuiteContext) -> SuiteResult {
    let mut result = SuiteResult::new(Suite::Firewall);
    let observed = if ctx.testbed {
        match observe_real().await {
            Ok(o) => o,
            Err(e) => {
                result.cases.push(CaseResult::check(
                    "fw-testbed",
                    "vic-machine create with a container network per level, and docker run on each",
                    "ok",
                    format!("error: {e}"),
                    "vic-machine+engine",
                ));
                result.notes.push(format!(
                    "the real path failed ({e}); the rule sets come from the model"
                ));
                observe_model()
            }
        }
    } else {
        result
            .notes
            .push("testbed disabled: rule sets and create-time checks come from the model".into());
        observe_model()
    };
    let labs = match ctx.netns {
        NetnsPolicy::Off => {
            result
                .notes
                .push("network namespaces disabled: no real packets".into());
            None
        }
        NetnsPolicy::Auto => match netns::tools() {
            Err(why) => {
                result.notes.push(format!(
                    "network namespaces unavailable ({why}): verdicts come from the evaluator only"
                ));
                None
            }
            Ok(tools) => Some(run_labs(tools, &observed).await),
        },
    };
    matrix_cases(&mut result, &observed, labs.as_deref());
    render_cases(&mut result, &observed, labs.as_deref());
    extra_cases(&mut result, &observed).await;
    result
}

/// The evaluator's answer for a kind, in the suite's wording.
fn evaluated(rules: &RuleSet, kind: &str, i: usize) -> String {
    let flows = flows(kind, i);
    if flows.is_empty() {
        return format!("no flows for {kind}");
    }
    let verdicts: Vec<_> = flows.iter().map(|f| evaluate(rules, f)).collect();
    if verdicts.iter().all(|v| v.allowed()) {
        match verdicts.iter().find_map(|v| v.redirected_to) {
            Some(port) => format!("allow (redirected to {port})"),
            None => "allow".into(),
        }
    } else {
        "deny".into()
    }
}

/// The matrix: every level × kind.
fn matrix_cases(result: &mut SuiteResult, observed: &Observed, labs: Option<&[LabLevel]>) {
    for (i, level) in LEVELS.iter().enumerate() {
        let Some(obs) = observed.levels.get(i) else {
            continue;
        };
        let probes = static_probes(i, obs);
        let lab = labs.and_then(|l| l.get(i));
        for kind in &KINDS {
            let want = kind.want[i];
            let id = format!("fw-{}-{}", level.key, kind.id);
            let description = format!("{} on {}", kind.description, level_label(level));
            let expected = expected_text(want, level, kind.needs);
            let attempt = match kind.needs {
                Needs::Nothing => None,
                Needs::Direct => Some(&obs.direct),
                Needs::Mapped => Some(&obs.mapped),
            };
            if let Some(Err(msg)) = attempt {
                result.cases.push(CaseResult::check(
                    id,
                    description,
                    expected,
                    format!("rejected: {msg}"),
                    observed.create_mode,
                ));
                continue;
            }
            let rules = match kind.on {
                On::Static => &obs.rules,
                On::Dynamic => &obs.dynamic,
            };
            let model = match rules {
                Ok(r) => evaluated(r, kind.id, i),
                Err(e) => format!("error: {e}"),
            };
            // The lab run for this kind, if one ran.
            let real = lab.and_then(|(s, d)| match kind.on {
                On::Static => s.as_ref().map(|run| {
                    run.as_ref().map(|run| {
                        probes
                            .iter()
                            .position(|(k, _)| *k == kind.id)
                            .and_then(|p| run.seen.get(p).cloned())
                    })
                }),
                On::Dynamic => d
                    .as_ref()
                    .map(|run| run.as_ref().map(|run| run.seen.first().cloned())),
            });
            let mut mode = observed.rules_mode.to_owned();
            let observed_text = match real {
                None | Some(Ok(None)) => model,
                Some(Ok(Some(seen))) => {
                    mode.push_str("+netns");
                    combine(&model, &seen)
                }
                Some(Err(e)) => {
                    mode.push_str("+netns");
                    format!("{model}; netns error: {e}")
                }
            };
            result.cases.push(CaseResult::check(
                id,
                description,
                expected,
                observed_text,
                mode,
            ));
        }
    }
}

/// One observation from the evaluator and the packets: the common answer, or both when they
/// disagree (which fails the case).
fn combine(model: &str, seen: &Seen) -> String {
    let real = seen.text();
    if real == model {
        real
    } else {
        format!("evaluator: {model}; packets: {real}")
    }
}

fn level_label(level: &Level) -> String {
    match level.flag {
        Some(f) => format!("{} (--cnf {}:{f})", level.static_net(), level.static_net()),
        None => format!("{} (no --cnf: unspecified)", level.static_net()),
    }
}

/// One case per level: the rule set rendered as iptables-restore text (and, with
/// namespaces, as `iptables-save` prints it after `iptables-restore` loaded it).
fn render_cases(result: &mut SuiteResult, observed: &Observed, labs: Option<&[LabLevel]>) {
    for (i, level) in LEVELS.iter().enumerate() {
        let Some(obs) = observed.levels.get(i) else {
            continue;
        };
        let id = format!("fw-{}-rules", level.key);
        let description = format!(
            "the rules applied on {} rendered as iptables-restore text",
            level.static_net()
        );
        let mut mode = observed.rules_mode.to_owned();
        let observed_text = match &obs.rules {
            Err(e) => format!("error: {e}"),
            Ok(rules) => {
                let text = rules.to_iptables_restore();
                result.artifacts.push(Artifact {
                    name: format!("firewall-{}.rules", level.key),
                    content: text.clone(),
                });
                let rendered = shape(&text);
                match labs.and_then(|l| l.get(i)).and_then(|(s, _)| s.as_ref()) {
                    Some(Ok(run)) if !run.saved.is_empty() => {
                        mode.push_str("+netns");
                        let loaded = shape(&run.saved);
                        if loaded == rendered {
                            loaded
                        } else {
                            format!("rendered: {rendered}; loaded: {loaded}")
                        }
                    }
                    Some(Err(e)) => {
                        mode.push_str("+netns");
                        format!("{rendered}; netns error: {e}")
                    }
                    _ => rendered,
                }
            }
        };
        result.cases.push(CaseResult::check(
            id,
            description,
            expected_shape(level),
            observed_text,
            mode,
        ));
    }
}

/// A create attempt's outcome as case text.
fn created_text(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "created".into(),
        Err(m) => format!("rejected: {m}"),
    }
}

/// The bad bindings, the bridge, unspecified = published, and the `--cnf` flag's errors.
async fn extra_cases(result: &mut SuiteResult, observed: &Observed) {
    for (bad, (got, mode)) in bad_bindings().iter().zip(&observed.bad) {
        result.cases.push(CaseResult::check(
            format!("fw-{}", bad.id),
            bad.description,
            format!("rejected: {}", bad.message),
            created_text(got),
            *mode,
        ));
    }
    let bridge_flow = |src: &str| {
        let src: IpAddr = src.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Flow::new(
            Direction::Inbound,
            FlowProto::Tcp,
            src,
            IpAddr::V4(Ipv4Addr::new(172, 16, 0, 2)),
            UNPUBLISHED,
        )
    };
    for (id, what, src, want) in [
        (
            "fw-bridge-peer",
            "inbound tcp/5432 on the bridge network from another container on the bridge",
            "172.16.0.3",
            "allow",
        ),
        (
            "fw-bridge-outside",
            "inbound tcp/5432 on the bridge network from outside the bridge range",
            "192.168.50.7",
            "deny",
        ),
    ] {
        let got = match &observed.bridge {
            Ok(rules) => {
                if evaluate(rules, &bridge_flow(src)).allowed() {
                    "allow".to_owned()
                } else {
                    "deny".to_owned()
                }
            }
            Err(e) => format!("error: {e}"),
        };
        result
            .cases
            .push(CaseResult::check(id, what, want, got, observed.rules_mode));
    }
    let published = observed.levels.get(2).map(|l| &l.rules);
    let unspecified = observed.levels.get(3).map(|l| &l.rules);
    let same = match (published, unspecified) {
        (Some(Ok(p)), Some(Ok(u))) => {
            if p.to_iptables_restore() == u.to_iptables_restore() {
                "identical rule sets".to_owned()
            } else {
                "different rule sets".to_owned()
            }
        }
        _ => "error: a rule set is missing".to_owned(),
    };
    result.cases.push(CaseResult::check(
        "fw-unspecified-is-published",
        "a container network without --cnf gets the same rules as published (same bindings)",
        "identical rule sets",
        same,
        observed.rules_mode,
    ));
    for (id, what, value, want) in [
        (
            "fw-cnf-unknown-level",
            "vic-machine create --cnf with a level that does not exist",
            "fw-published:trusted",
            "failed: Unrecognized container trust level trusted.",
        ),
        (
            "fw-cnf-orphan",
            "vic-machine create --cnf keyed by a port group that no --cn names",
            "nosuch:open",
            "failed: Inconsistent container network configuration.",
        ),
    ] {
        result.cases.push(CaseResult::check(
            id,
            what,
            want,
            machine_failure(value).await,
            "vic-machine",
        ));
    }
}

/// `vic-machine create --cn fw-published --cnf VALUE` against an unreachable target: the
/// flag errors come from ProcessParams, before any connection.
async fn machine_failure(cnf: &str) -> String {
    let args = [
        "create",
        "--target",
        "http://user:pass@127.0.0.1:1/sdk",
        "--name",
        "vicbed-fw-flags",
        "--no-tls",
        "--container-network",
        "fw-published",
        "--container-network-firewall",
        cnf,
    ];
    match vic::machine::run_captured(&args).await {
        (_, Ok(())) => "created".into(),
        (_, Err(f)) => format!("failed: {}", f.message),
    }
}
