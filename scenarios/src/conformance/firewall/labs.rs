//! The namespace labs of the firewall suite: one per level for the static endpoint's rules
//! (every probe whose binding the level accepted) and one for the dynamic endpoint's (DHCP).

use vic::firewall::RuleSet;

use super::matrix::{DIRECT, EXPOSED, KINDS, MAPPED, Needs, On, UNPUBLISHED, addresses, probe_of};
use super::observe::{LevelObs, Observed};
use crate::conformance::netns::{self, LabRun, Probe};

/// A level's static and dynamic lab runs: `None` where the rule set is missing.
pub(super) type LabLevel = (
    Option<Result<LabRun, String>>,
    Option<Result<LabRun, String>>,
);
/// Every level's labs.
pub(super) type Labs = Vec<LabLevel>;
/// Labs run concurrently.
const LABS_AT_ONCE: usize = 3;

/// The probes of the static lab of `level`, with the kinds they belong to.
pub(super) fn static_probes(i: usize, obs: &LevelObs) -> Vec<(&'static str, Probe)> {
    let a = addresses(i);
    KINDS
        .iter()
        .filter(|k| k.on == On::Static && binding_ok(obs, k.needs))
        .filter_map(|k| probe_of(k.id, &a).map(|p| (k.id, p)))
        .collect()
}

/// Whether the level accepted the binding a kind needs.
fn binding_ok(obs: &LevelObs, needs: Needs) -> bool {
    match needs {
        Needs::Nothing => true,
        Needs::Direct => obs.direct.is_ok(),
        Needs::Mapped => obs.mapped.is_ok(),
    }
}

/// Runs every lab (blocking work, off the async threads).
pub(super) async fn run_labs(tools: netns::Tools, observed: &Observed) -> Labs {
    let jobs: Vec<(Option<String>, Option<String>, Vec<Probe>)> = observed
        .levels
        .iter()
        .enumerate()
        .map(|(i, obs)| {
            let probes = static_probes(i, obs).into_iter().map(|(_, p)| p).collect();
            (
                obs.rules.as_ref().ok().map(RuleSet::to_iptables_restore),
                obs.dynamic.as_ref().ok().map(RuleSet::to_iptables_restore),
                probes,
            )
        })
        .collect();
    let n = jobs.len();
    tokio::task::spawn_blocking(move || {
        // Labs are independent (namespaces of their own): a few run at once, which mostly
        // overlaps the probes' timeouts.
        let mut labs: Labs = Vec::new();
        let jobs: Vec<_> = jobs.into_iter().enumerate().collect();
        for chunk in jobs.chunks(LABS_AT_ONCE) {
            let tools = &tools;
            let done: Vec<LabLevel> = std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|(i, (rules, dynamic, probes))| {
                        scope.spawn(move || {
                            let a = addresses(*i);
                            let listen = [DIRECT, MAPPED, UNPUBLISHED, EXPOSED];
                            let s = rules
                                .as_ref()
                                .map(|r| netns::run_lab(tools, &a, r, &listen, probes));
                            let d = dynamic
                                .as_ref()
                                .map(|r| netns::run_lab(tools, &a, r, &[], &[Probe::Dhcp]));
                            (s, d)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            let e = Err("a lab thread panicked".to_owned());
                            (Some(e.clone()), Some(e))
                        })
                    })
                    .collect()
            });
            labs.extend(done);
        }
        labs
    })
    .await
    .unwrap_or_else(|e| {
        let err = format!("the namespace runner failed: {e}");
        (0..n)
            .map(|_| (Some(Err(err.clone())), Some(Err(err.clone()))))
            .collect()
    })
}
