//! The scenario runner: a [`Testbed`] built from the scenario's inventory, its VCHs created
//! with `vic-machine create`, the steps run at their virtual times (docker commands over each
//! VCH's TLS mode, vSphere-level changes over SOAP), the clock advanced in 20 s samples, and
//! the metrics read back with `QueryPerf` — at least every 30 virtual minutes and before every
//! step, so nothing falls out of the 1-hour realtime window or disappears with a removed VM.
//! Samples are spooled to a temporary file as they are read ([`crate::points`]), so the run's
//! memory does not grow with its simulated duration.
//!
//! Nothing here reads the wall clock or the OS's randomness for anything that reaches the
//! [`RunOutcome`]; the progress bar is the only wall-clock consumer.

mod devflow;
pub mod perf;
mod steps;

pub use steps::configure_clusters;

use std::collections::{BTreeMap, BTreeSet};

use vcsim::vmodl::MoRef;
use vic::vsphere::Client;

use crate::evaluate;
use crate::outcome::{ContainerRun, EntityRecord, RunOutcome, Series, StepRecord, VchRecord};
use crate::schema::{EntityKind, Scenario, flag_value};
use crate::testbed::{Testbed, TestbedConfig, TestbedError, VchHandle};

pub use perf::{HOST_COUNTERS, POOL_COUNTERS, VM_COUNTERS};

/// Longest stretch of virtual time between two metric reads (the realtime window is 1 h).
pub const MAX_READ_GAP_S: u64 = 1800;

/// Why a run could not complete (as opposed to expectations failing, which is an outcome).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The testbed failed (including `vic-machine create`).
    #[error(transparent)]
    Testbed(#[from] TestbedError),
    /// A SOAP call failed.
    #[error("vSphere: {0}")]
    Vsphere(#[from] vic::vsphere::Error),
    /// The emulator answered something unexpected.
    #[error("unexpected answer from the emulator: {0}")]
    Protocol(String),
    /// The samples could not be spooled to (or read back from) a temporary file.
    #[error("sample spool: {0}")]
    Spool(std::io::Error),
    /// A VCH could not be created. (No longer returned: a failed create is a failed
    /// verdict of the outcome, [`crate::evaluate::TESTBED_VCH`].)
    #[error("VCH {vch}: {source}")]
    Vch {
        /// The `[[vch]]` name.
        vch: String,
        /// Why.
        source: TestbedError,
    },
}

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Show a progress bar on stderr (when it is a terminal and the run lasts over 1 s).
    pub progress: bool,
    /// The scenario file's directory: `docker build` contexts are read beside it.
    pub base_dir: Option<std::path::PathBuf>,
}

/// What the runner tracks between reads.
struct State {
    client: Client,
    perf_manager: MoRef,
    catalogue: perf::Catalogue,
    /// MoRef value → the latest record of it.
    entities: BTreeMap<String, EntityRecord>,
    /// (MoRef value, counter, instance) → the series' samples so far.
    samples: perf::Samples,
    /// Extra (kind, counter, instance) pairs the expectations ask for.
    wanted: BTreeSet<(u8, String, String)>,
    last_read_ms: i64,
    start_ms: i64,
}

/// Runs `scenario` (whose file text hashes to `scenario_hash`) and evaluates its
/// expectations.
pub async fn run(
    scenario: &Scenario,
    scenario_hash: &str,
    options: &RunOptions,
) -> Result<RunOutcome, RunError> {
    let mut meta = scenario.meta.clone();
    if let Some(seed) = options.seed {
        meta.seed = seed;
    }
    let start_ms = meta.start.unix_seconds * 1000;
    let mut testbed = Testbed::start(TestbedConfig {
        inventory: Some(scenario.inventory.clone()),
        seed: meta.seed,
        start_ms,
    })
    .await?;
    for r in &scenario.registries {
        testbed.start_registry(r).await?;
    }
    let result = drive(scenario, &testbed, start_ms, options).await;
    testbed.shutdown().await;
    let (vchs, entities, series, steps, vch_failures, runs) = result?;
    let mut verdicts = evaluate::verdicts(&scenario.expectations, &entities, &series);
    verdicts.extend(evaluate::step_verdicts(&scenario.steps, &steps));
    verdicts.extend(evaluate::step_check_verdicts(&scenario.steps, &steps));
    verdicts.extend(evaluate::testbed_verdicts(
        &vch_failures,
        &scenario.steps,
        &steps,
    ));
    Ok(RunOutcome {
        meta,
        scenario_hash: scenario_hash.to_owned(),
        vicbed_version: env!("CARGO_PKG_VERSION").to_owned(),
        vchs,
        entities,
        series,
        steps,
        verdicts,
        runs,
    })
}

/// What a drive produced; the fifth item lists the VCHs that could not be created
/// (`[[vch]]` name, why), the last the containers' runs.
type Driven = (
    Vec<VchRecord>,
    Vec<EntityRecord>,
    Vec<Series>,
    Vec<StepRecord>,
    Vec<(String, String)>,
    Vec<ContainerRun>,
);

async fn drive(
    scenario: &Scenario,
    testbed: &Testbed,
    start_ms: i64,
    options: &RunOptions,
) -> Result<Driven, RunError> {
    let duration_s = scenario.meta.duration.as_secs();
    let progress = steps::Progress::new(options.progress, duration_s);

    // The clusters' HA and DRS first: vic-machine reads DRS to decide on the VCH's pool.
    if !scenario.cluster_services.is_empty() {
        let client = testbed.client().await?;
        steps::configure_clusters(&client, &scenario.cluster_services)
            .await
            .map_err(RunError::Protocol)?;
    }

    // VCHs first, in file order, at the start instant. One that cannot be created fails
    // the run (a verdict), but the run goes on, so the report shows what did happen.
    let mut handles: BTreeMap<String, VchHandle> = BTreeMap::new();
    let mut vchs = Vec::new();
    let mut vch_failures = Vec::new();
    for v in &scenario.vchs {
        progress.message(&format!("vic-machine create {}", v.vsphere_name()));
        let mut args = v.args.clone();
        for name in &v.registry_ca {
            if let Some(ca) = testbed.registry_ca_path(name) {
                args.push(format!("--registry-ca={}", ca.display()));
            }
        }
        match testbed.create_vch(&args).await {
            Ok(handle) => {
                vchs.push(vch_record(v, &handle));
                handles.insert(v.name.clone(), handle);
            }
            Err(e) => vch_failures.push((v.name.clone(), e.to_string())),
        }
    }

    let client = testbed.client().await?;
    let perf_manager = client
        .service_content()
        .raw
        .field("perfManager")
        .and_then(|v| v.as_moref())
        .cloned()
        .ok_or_else(|| RunError::Protocol("ServiceContent has no perfManager".into()))?;
    let catalogue = perf::Catalogue::read(&client, &perf_manager).await?;
    let wanted = scenario
        .expectations
        .iter()
        .map(|e| {
            (
                kind_rank(e.entity.kind),
                e.counter.clone(),
                e.instance.clone(),
            )
        })
        .collect();
    let mut state = State {
        client,
        perf_manager,
        catalogue,
        entities: BTreeMap::new(),
        samples: perf::Samples::new(start_ms)?,
        wanted,
        last_read_ms: testbed.now_ms(),
        start_ms,
    };

    let mut order: Vec<&crate::schema::Step> = scenario.steps.iter().collect();
    order.sort_by_key(|s| (s.at, s.index));
    let mut records = Vec::new();
    let pacer = devflow::Pacer {
        vc: testbed.vcsim().clone(),
        tether: testbed.agents().tether.clone(),
        end_ms: start_ms.saturating_add(i64::try_from(duration_s).unwrap_or(i64::MAX / 2) * 1000),
    };
    let mut runner = steps::StepRunner::new(&handles)
        .with_emulator(testbed.vcsim().clone())
        .with_devflow(pacer, options.base_dir.clone());
    for step in order {
        advance_to(
            testbed,
            &mut state,
            step.at.as_secs().min(duration_s),
            &progress,
            &handles,
            scenario,
        )
        .await?;
        // When it really runs: a DCH build before it may have moved the clock past `at`.
        let at_s = u64::try_from((testbed.now_ms() - start_ms) / 1000).unwrap_or(0);
        // What exists now is read before the step can remove it.
        if perf::read_before(step) {
            read_metrics(&mut state, testbed, &handles, scenario).await?;
        }
        progress.message(&steps::describe(step));
        let record = runner.run(step, &state.client, at_s).await;
        records.push(record);
    }
    advance_to(
        testbed, &mut state, duration_s, &progress, &handles, scenario,
    )
    .await?;
    read_metrics(&mut state, testbed, &handles, scenario).await?;
    // One inspect per container: read for small runs, or when an expectation asks for run
    // times (a 1 000-container sweep point does not pay a second each for a table).
    let containers = state
        .entities
        .values()
        .filter(|e| e.kind == EntityKind::Container)
        .count();
    let asked = scenario
        .expectations
        .iter()
        .any(|e| e.counter == crate::runs::RUN_TIME_COUNTER);
    let runs = if asked || containers <= crate::runs::AUTO_MAX_CONTAINERS {
        progress.message("reading the containers' run times");
        runner.container_runs(start_ms).await
    } else {
        Vec::new()
    };
    runner.close();
    progress.finish();
    let (entities, mut series) = state.finish()?;
    series.extend(crate::runs::series(&runs, &entities));
    series.sort_by(|a, b| {
        (kind_rank(a.kind), &a.entity, &a.counter, &a.instance).cmp(&(
            kind_rank(b.kind),
            &b.entity,
            &b.counter,
            &b.instance,
        ))
    });
    Ok((vchs, entities, series, records, vch_failures, runs))
}

/// Advances the clock to `target_s` after the start, reading metrics at least every
/// [`MAX_READ_GAP_S`].
async fn advance_to(
    testbed: &Testbed,
    state: &mut State,
    target_s: u64,
    progress: &steps::Progress,
    handles: &BTreeMap<String, VchHandle>,
    scenario: &Scenario,
) -> Result<(), RunError> {
    let target_ms = state.start_ms + i64::try_from(target_s).unwrap_or(i64::MAX / 2) * 1000;
    loop {
        let now = testbed.now_ms();
        if now >= target_ms {
            return Ok(());
        }
        let gap_ms = i64::try_from(MAX_READ_GAP_S * 1000).unwrap_or(i64::MAX);
        let next = target_ms.min(now + gap_ms);
        testbed.advance_ms(next - now);
        progress.set_position(u64::try_from((next - state.start_ms) / 1000).unwrap_or(0));
        // Give the endpoints' tasks a turn: guests may have posted effects (a stress run
        // exiting) that their engines react to.
        tokio::task::yield_now().await;
        if next < target_ms {
            read_metrics(state, testbed, handles, scenario).await?;
        }
    }
}

/// Discovers what exists now, then reads its samples since the last read.
async fn read_metrics(
    state: &mut State,
    testbed: &Testbed,
    handles: &BTreeMap<String, VchHandle>,
    scenario: &Scenario,
) -> Result<(), RunError> {
    let present = refresh_entities(state, handles, scenario).await?;
    query_metrics(state, testbed, &present).await
}

/// Re-discovers entities (containers come and go, and may be renamed); returns the MoRef
/// values present now. Records of vanished entities are kept for their earlier samples.
async fn refresh_entities(
    state: &mut State,
    handles: &BTreeMap<String, VchHandle>,
    scenario: &Scenario,
) -> Result<BTreeSet<String>, RunError> {
    let found = perf::discover(&state.client).await?;
    // VCH membership: the pool named like the VCH, the appliance, VMs in that pool.
    let by_vsphere: BTreeMap<&str, &str> = scenario
        .vchs
        .iter()
        .filter(|v| handles.contains_key(&v.name))
        .map(|v| (v.vsphere_name(), v.name.as_str()))
        .collect();
    let pool_vch: BTreeMap<String, String> = found
        .iter()
        .filter(|f| f.kind == EntityKind::Pool)
        .filter_map(|f| {
            by_vsphere
                .get(f.vsphere_name.as_str())
                .map(|v| (f.moref.value.clone(), (*v).to_owned()))
        })
        .collect();
    let mut present = BTreeSet::new();
    for f in found {
        present.insert(f.moref.value.clone());
        let vch = match f.kind {
            EntityKind::Pool => pool_vch.get(&f.moref.value).cloned(),
            _ => f
                .pool
                .as_ref()
                .and_then(|p| pool_vch.get(p))
                .cloned()
                .or_else(|| {
                    by_vsphere
                        .get(f.vsphere_name.as_str())
                        .map(|v| (*v).to_owned())
                }),
        };
        state.entities.insert(
            f.moref.value.clone(),
            EntityRecord {
                kind: f.kind,
                name: f.name,
                vsphere_name: f.vsphere_name,
                moref: f.moref.value,
                vch,
            },
        );
    }
    Ok(present)
}

async fn query_metrics(
    state: &mut State,
    testbed: &Testbed,
    present: &BTreeSet<String>,
) -> Result<(), RunError> {
    let now = testbed.now_ms();
    if now <= state.last_read_ms {
        return Ok(());
    }
    let requests: Vec<(MoRef, BTreeSet<(String, String)>)> = state
        .entities
        .values()
        .filter(|e| present.contains(&e.moref))
        .map(|e| {
            let base: &[&str] = match e.kind {
                EntityKind::Vm | EntityKind::Container => VM_COUNTERS,
                EntityKind::Pool => POOL_COUNTERS,
                EntityKind::Host => HOST_COUNTERS,
            };
            let mut metrics: BTreeSet<(String, String)> = base
                .iter()
                .filter(|c| state.catalogue.contains(c))
                .map(|c| ((*c).to_owned(), String::new()))
                .collect();
            let rank = kind_rank(e.kind);
            metrics.extend(
                state
                    .wanted
                    .iter()
                    .filter(|(k, c, _)| *k == rank && state.catalogue.contains(c))
                    .map(|(_, c, i)| (c.clone(), i.clone())),
            );
            (MoRef::new(vm_type(e.kind), e.moref.clone()), metrics)
        })
        .collect();
    // An entity that vanished since discovery would fault the whole query; discovery runs
    // right before each read, at the same virtual instant.
    perf::query(
        &state.client,
        &state.perf_manager,
        &state.catalogue,
        &requests,
        state.last_read_ms,
        now,
        &mut state.samples,
    )
    .await?;
    state.last_read_ms = now;
    Ok(())
}

impl State {
    /// The entity records and series, ordered for output, with names made unique per kind.
    fn finish(self) -> Result<(Vec<EntityRecord>, Vec<Series>), RunError> {
        let mut count: BTreeMap<(u8, String), usize> = BTreeMap::new();
        for e in self.entities.values() {
            *count
                .entry((kind_rank(e.kind), e.name.clone()))
                .or_default() += 1;
        }
        let mut entities: Vec<EntityRecord> = self
            .entities
            .values()
            .cloned()
            .map(|mut e| {
                if count[&(kind_rank(e.kind), e.name.clone())] > 1 {
                    e.name = format!("{} ({})", e.name, e.moref);
                }
                e
            })
            .collect();
        entities.sort_by(|a, b| {
            (kind_rank(a.kind), &a.name, &a.moref).cmp(&(kind_rank(b.kind), &b.name, &b.moref))
        });
        let by_moref: BTreeMap<&str, &EntityRecord> =
            entities.iter().map(|e| (e.moref.as_str(), e)).collect();
        let mut series: Vec<Series> = self
            .samples
            .finish()?
            .into_iter()
            .filter_map(|((moref, counter, instance), points)| {
                let e = by_moref.get(moref.as_str())?;
                let unit = self.catalogue.get(&counter).map(|(_, u)| u.to_owned())?;
                Some(Series {
                    kind: e.kind,
                    entity: e.name.clone(),
                    counter,
                    instance,
                    unit,
                    points,
                })
            })
            .collect();
        series.sort_by(|a, b| {
            (kind_rank(a.kind), &a.entity, &a.counter, &a.instance).cmp(&(
                kind_rank(b.kind),
                &b.entity,
                &b.counter,
                &b.instance,
            ))
        });
        Ok((entities, series))
    }
}

/// Output order of kinds: containers, VMs, pools, hosts.
pub fn kind_rank(kind: EntityKind) -> u8 {
    match kind {
        EntityKind::Container => 0,
        EntityKind::Vm => 1,
        EntityKind::Pool => 2,
        EntityKind::Host => 3,
    }
}

fn vm_type(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Vm | EntityKind::Container => "VirtualMachine",
        EntityKind::Pool => "ResourcePool",
        EntityKind::Host => "HostSystem",
    }
}

fn vch_record(v: &crate::schema::Vch, handle: &VchHandle) -> VchRecord {
    let limit = |flags: &[&str]| {
        flag_value(&v.args, flags)
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n > 0)
    };
    let tls_mode = if handle.docker_args.iter().any(|a| a == "--tlsverify") {
        "mutual"
    } else if handle.docker_args.iter().any(|a| a == "--tls") {
        "server-only"
    } else {
        "plain"
    };
    VchRecord {
        name: v.name.clone(),
        vsphere_name: handle.name.clone(),
        cpu_limit_mhz: limit(&["--cpu", "--cpu-limit"]),
        mem_limit_mb: limit(&["--memory", "--memory-limit"]),
        tls_mode: tls_mode.to_owned(),
    }
}
