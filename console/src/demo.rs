//! [`Demo`]: a scenario's testbed on a running virtual clock, read and turned by the console.
//!
//! Start-up is the runner's: the emulator with the VIC agents ([`Testbed`]), the scenario's
//! cluster services and VCHs (`vic-machine create` over SOAP). Then, instead of stepping
//! through the scenario, the clock runs ([`vcsim::ClockControl`]) and a poller reads what a
//! monitoring client reads — each VCH pool and its VMs (`RetrieveProperties`) and their
//! counters (`QueryPerf`, realtime) — into the rolling [`Window`], publishing every new
//! sample and every state change to the pages ([`crate::hub`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use scenarios::Scenario;
use scenarios::runner::perf::{self, Catalogue};
use scenarios::schema::Action;
use scenarios::testbed::{Testbed, TestbedConfig};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use vcsim::ClockControl;
use vcsim::vmodl::{DataObject, MoRef, Value};
use vic::engine::client::{DockerClient, GlobalOptions, parse_command};
use vic::vsphere::Client;

use crate::controls::{self, ApiError, ClockAction, Control, PowerState};
use crate::feed::{self, INTERVAL_MS, Sample, WINDOW_SAMPLES, Window};
use crate::hub::Hub;
use crate::inventory::{self, VchSite};
use crate::model::{ActionView, ClockView, LimitsView, PoolConfig, StateView, VchView, VmView};
use crate::story::Story;

/// The seed experiment, the scenario `vicbed demo` shows by default.
pub const SEED_SCENARIO: &str = include_str!("../../scenarios/library/over-the-limits.toml");

/// How often the poller re-reads the inventory when nothing else wakes it (wall time):
/// changes other clients make show up within this.
pub const INVENTORY_PERIOD: Duration = Duration::from_millis(500);

/// Clock events sent to pages at most this often (wall time).
pub const CLOCK_EVENT_PERIOD: Duration = Duration::from_millis(250);

/// How long a step's answer waits for the clock driver to apply it (wall time; the driver
/// applies it on its next wake, at once, but a loaded machine may delay that wake).
pub const STEP_WAIT: Duration = Duration::from_secs(10);

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The testbed failed.
    #[error(transparent)]
    Testbed(#[from] scenarios::testbed::TestbedError),
    /// A SOAP read failed.
    #[error("vSphere: {0}")]
    Vsphere(#[from] vic::vsphere::Error),
    /// The scenario cannot be shown.
    #[error("{0}")]
    Scenario(String),
}

/// How to start.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// The scenario (its inventory, VCHs and docker steps).
    pub scenario: Scenario,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Virtual seconds per wall second at start.
    pub speed: f64,
    /// Event-stream subscribers at once.
    pub max_browsers: usize,
}

/// A docker button: the VCH it runs on and the words after `docker`.
#[derive(Clone, Debug)]
pub(crate) struct DockerAction {
    pub view: ActionView,
    pub argv: Vec<String>,
}

/// What the poller and the API share.
pub struct Shared {
    pub(crate) scenario_name: String,
    pub(crate) start_ms: i64,
    pub(crate) client: Client,
    pub(crate) clock: Arc<ClockControl>,
    pub(crate) sites: Vec<VchSite>,
    pub(crate) dockers: BTreeMap<String, DockerClient>,
    pub(crate) actions: Vec<DockerAction>,
    pub(crate) window: Mutex<Window>,
    pub(crate) view: Mutex<(Vec<VchView>, Vec<VmView>)>,
    pub(crate) story: Mutex<Story>,
    pub(crate) hub: Hub,
    pub(crate) max_browsers: usize,
    /// Pokes the poller after a control, so every page sees its effect at once.
    pub(crate) refresh: Notify,
    /// Held over an inventory read and its store: the poller and the controls both read,
    /// and a read that started before a change must not land after the read that saw it.
    inventory_turn: tokio::sync::Mutex<()>,
    /// Held over a pool control's read–merge–`UpdateConfig`: two pages patching one pool at
    /// once must not each write back the other's old values.
    pool_turn: tokio::sync::Mutex<()>,
    perf_manager: MoRef,
    catalogue: Catalogue,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running demo. Dropping it stops the clock and the poller (and the testbed, which
/// stops itself when dropped); [`Demo::shutdown`] also waits for the testbed to stop.
pub struct Demo {
    /// `None` only inside `shutdown`.
    testbed: Option<Testbed>,
    shared: Arc<Shared>,
    clock_task: JoinHandle<()>,
    poller: JoinHandle<()>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.poller.abort();
        self.clock_task.abort();
    }
}

impl Demo {
    /// Starts the testbed, creates the scenario's VCHs and starts the clock and the poller.
    pub async fn start(config: DemoConfig) -> Result<Demo, DemoError> {
        let scenario = &config.scenario;
        let seed = config.seed.unwrap_or(scenario.meta.seed);
        let start_ms = scenario.meta.start.unix_seconds * 1000;
        let clock = ClockControl::new(config.speed, start_ms)
            .map_err(|e| DemoError::Scenario(e.to_string()))?;
        let mut testbed = Testbed::start(TestbedConfig {
            inventory: Some(scenario.inventory.clone()),
            seed,
            start_ms,
        })
        .await?;
        for r in &scenario.registries {
            testbed.start_registry(r).await?;
        }
        let client = testbed.client().await?;
        if !scenario.cluster_services.is_empty() {
            scenarios::runner::configure_clusters(&client, &scenario.cluster_services)
                .await
                .map_err(DemoError::Scenario)?;
        }
        let mut sites = Vec::new();
        let mut dockers = BTreeMap::new();
        for v in &scenario.vchs {
            let mut args = v.args.clone();
            for name in &v.registry_ca {
                if let Some(ca) = testbed.registry_ca_path(name) {
                    args.push(format!("--registry-ca={}", ca.display()));
                }
            }
            let handle = testbed.create_vch(&args).await?;
            let appliance = MoRef::new("VirtualMachine", handle.vm.clone());
            let pool = inventory::pool_of(&client, &appliance).await?;
            let global = GlobalOptions::from_args(&handle.docker_args)
                .map_err(|e| DemoError::Scenario(format!("VCH {}: docker options: {e}", v.name)))?;
            let docker = DockerClient::new(&global)
                .map_err(|e| DemoError::Scenario(format!("VCH {}: docker client: {e}", v.name)))?;
            dockers.insert(v.name.clone(), docker);
            sites.push(VchSite {
                name: v.name.clone(),
                vsphere_name: v.vsphere_name().to_owned(),
                pool,
                appliance,
                docker_args: handle.docker_args,
            });
        }
        let actions = docker_actions(scenario, &sites);
        let perf_manager = client
            .service_content()
            .raw
            .field("perfManager")
            .and_then(Value::as_moref)
            .cloned()
            .ok_or_else(|| DemoError::Scenario("ServiceContent has no perfManager".into()))?;
        let catalogue = Catalogue::read(&client, &perf_manager)
            .await
            .map_err(|e| DemoError::Scenario(e.to_string()))?;
        let view = inventory::read(&client, &sites).await?;
        let shared = Arc::new(Shared {
            scenario_name: scenario.meta.name.clone(),
            start_ms,
            client,
            clock: clock.clone(),
            sites,
            dockers,
            actions,
            window: Mutex::new(Window::default()),
            view: Mutex::new(view),
            story: Mutex::new(Story::of(scenario)),
            hub: Hub::new(),
            max_browsers: config.max_browsers,
            refresh: Notify::new(),
            inventory_turn: tokio::sync::Mutex::new(()),
            pool_turn: tokio::sync::Mutex::new(()),
            perf_manager,
            catalogue,
        });
        let clock_task = testbed.vcsim().spawn_paced_clock(clock);
        let poller = tokio::spawn(poll(shared.clone()));
        Ok(Demo {
            testbed: Some(testbed),
            shared,
            clock_task,
            poller,
        })
    }

    /// What the API serves from.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// The testbed (its SOAP URL and thumbprint).
    pub fn testbed(&self) -> &Testbed {
        self.testbed
            .as_ref()
            .expect("the testbed is taken only by shutdown, which consumes the demo")
    }

    /// The VCHs: (scenario name, `docker -H …` command).
    pub fn vchs(&self) -> Vec<(String, String)> {
        self.shared
            .sites
            .iter()
            .map(|s| (s.name.clone(), s.docker_command()))
            .collect()
    }

    /// Stops the clock, the poller and the testbed.
    pub async fn shutdown(mut self) {
        self.poller.abort();
        self.clock_task.abort();
        if let Some(testbed) = self.testbed.take() {
            testbed.shutdown().await;
        }
    }
}

/// The scenario's docker steps as buttons, numbered as steps in the file.
fn docker_actions(scenario: &Scenario, sites: &[VchSite]) -> Vec<DockerAction> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let Action::Docker(d) = &step.action else {
            continue;
        };
        if d.dch.is_some() {
            continue;
        }
        let Some(site) = sites.iter().find(|s| s.name == d.vch) else {
            continue;
        };
        let line = d.argv.join(" ");
        out.push(DockerAction {
            view: ActionView {
                id: (i + 1).to_string(),
                vch: d.vch.clone(),
                title: match scenarios::schema::flag_value(&d.argv, &["--name"]) {
                    Some(name) => format!("{} {name} on {}", d.verb.as_str(), d.vch),
                    None => format!("{line} on {}", d.vch),
                },
                command: format!("{} {line}", site.docker_command()),
            },
            argv: d.argv.clone(),
        });
    }
    out
}

impl Shared {
    /// The clock as the page shows it.
    pub fn clock_view(&self) -> ClockView {
        let pace = self.clock.pace();
        ClockView {
            now_ms: *self.clock.now().borrow(),
            start_ms: self.start_ms,
            speed: pace.speed,
            paused: pace.paused,
            interval_s: (INTERVAL_MS / 1000) as u32,
        }
    }

    /// Everything `GET /api/state` answers.
    pub fn state(&self) -> StateView {
        let (vchs, vms) = lock(&self.view).clone();
        StateView {
            scenario: self.scenario_name.clone(),
            clock: self.clock_view(),
            vchs,
            vms,
            actions: self.actions.iter().map(|a| a.view.clone()).collect(),
            story: lock(&self.story).views(),
            counters: feed::counters(),
            limits: LimitsView {
                max_browsers: self.max_browsers,
                window_samples: WINDOW_SAMPLES,
            },
        }
    }

    /// Every retained sample, oldest first.
    pub fn window(&self) -> Vec<Arc<Sample>> {
        lock(&self.window).samples().cloned().collect()
    }

    /// Applies a control; the answer is the JSON the API returns.
    pub async fn apply(&self, control: Control) -> Result<serde_json::Value, ApiError> {
        let out = match control {
            Control::Clock(action) => {
                match action {
                    ClockAction::Pause {} => self.clock.pause(),
                    ClockAction::Resume {} => self.clock.resume(),
                    ClockAction::Step {} => {
                        let mut now_rx = self.clock.now();
                        let target_ms = *now_rx.borrow_and_update() + INTERVAL_MS;
                        self.clock.step(INTERVAL_MS).map_err(|e| match e {
                            vcsim::PaceError::StepsPending(_) => ApiError::conflict(e.to_string()),
                            _ => ApiError::bad_request(e.to_string()),
                        })?;
                        // The answer shows the clock after the step, as the page draws it.
                        let _ = tokio::time::timeout(
                            STEP_WAIT,
                            now_rx.wait_for(|now| *now >= target_ms),
                        )
                        .await;
                    }
                    ClockAction::Speed { speed } => self
                        .clock
                        .set_speed(controls::check_speed(speed)?)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?,
                }
                let clock = self.clock_view();
                self.hub.clock(&clock);
                json(&clock)
            }
            Control::Pool { vch, patch } => {
                let site = self
                    .sites
                    .iter()
                    .find(|s| s.name == vch)
                    .ok_or_else(|| ApiError::not_found(format!("no VCH named {vch:?}")))?;
                let _turn = self.pool_turn.lock().await;
                // The allocation as vSphere has it now, not as the page last saw it.
                let (vchs, _) = inventory::read(&self.client, &self.sites)
                    .await
                    .map_err(|e| ApiError::upstream(e.to_string()))?;
                let now = vchs
                    .iter()
                    .find(|v| v.name == vch)
                    .map(|v| v.config.clone())
                    .ok_or_else(|| ApiError::not_found(format!("no VCH named {vch:?}")))?;
                let wanted = controls::merge(&now, &patch)?;
                update_config(&self.client, &site.pool, &wanted).await?;
                self.refresh_now().await;
                let view = lock(&self.view).0.iter().find(|v| v.name == vch).cloned();
                json(&view)
            }
            Control::Power { vm, state } => {
                let known = lock(&self.view).1.iter().find(|v| v.moref == vm).cloned();
                let Some(known) = known else {
                    return Err(ApiError::not_found(format!("no VM {vm:?} in a VCH pool")));
                };
                let (method, wanted) = match state {
                    PowerState::On => ("PowerOnVM_Task", "poweredOn"),
                    PowerState::Off => ("PowerOffVM_Task", "poweredOff"),
                };
                if known.power == wanted {
                    return Err(ApiError::conflict(format!(
                        "{} is already {wanted}",
                        known.name
                    )));
                }
                let moref = MoRef::new("VirtualMachine", vm.clone());
                self.client
                    .run_task(method, &moref, &[])
                    .await
                    .map_err(|e| match e.fault() {
                        Some(_) => ApiError::conflict(e.to_string()),
                        None => ApiError::upstream(e.to_string()),
                    })?;
                self.refresh_now().await;
                let view = lock(&self.view).1.iter().find(|v| v.moref == vm).cloned();
                json(&view)
            }
            Control::Docker { vch, action } => {
                let docker = self
                    .dockers
                    .get(&vch)
                    .ok_or_else(|| ApiError::not_found(format!("no VCH named {vch:?}")))?;
                let a = self
                    .actions
                    .iter()
                    .find(|a| a.view.id == action && a.view.vch == vch)
                    .ok_or_else(|| {
                        ApiError::not_found(format!("no docker action {action:?} on {vch}"))
                    })?;
                let cmd = parse_command(&a.argv).map_err(|e| {
                    ApiError::bad_request(format!("docker {}: {e}", a.argv.join(" ")))
                })?;
                let out = docker
                    .execute(&cmd)
                    .await
                    .map_err(|e| ApiError::upstream(e.to_string()))?;
                if let Some(e) = &out.error {
                    let message = match e {
                        vic::engine::client::ClientError::Daemon { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    return Err(ApiError::conflict(message));
                }
                self.refresh_now().await;
                serde_json::json!({
                    "output": out.stdout,
                    "exit_code": out.exit_code,
                })
            }
        };
        Ok(out)
    }

    /// Re-reads the inventory at once and tells every page.
    async fn refresh_now(&self) {
        if let Err(e) = refresh_inventory(self).await {
            self.hub
                .notice(&format!("reading the inventory failed: {e}"));
        }
        self.refresh.notify_one();
    }
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// `UpdateConfig` with the pool's whole allocation, as the vSphere client sends it.
async fn update_config(client: &Client, pool: &MoRef, c: &PoolConfig) -> Result<(), ApiError> {
    let alloc = |a: &crate::model::Alloc| {
        DataObject::new("ResourceAllocationInfo")
            .with("reservation", Value::Long(a.reservation))
            .with("expandableReservation", Value::Bool(a.expandable))
            .with("limit", Value::Long(a.limit))
            .with(
                "shares",
                DataObject::new("SharesInfo")
                    .with(
                        "shares",
                        Value::Int(i32::try_from(a.shares).unwrap_or(i32::MAX)),
                    )
                    .with("level", Value::enumv("SharesLevel", a.shares_level.clone()))
                    .into_value(),
            )
            .into_value()
    };
    let spec = DataObject::new("ResourceConfigSpec")
        .with("cpuAllocation", alloc(&c.cpu))
        .with("memoryAllocation", alloc(&c.mem))
        .into_value();
    client
        .call("UpdateConfig", pool, &[("config", spec)])
        .await
        .map(|_| ())
        .map_err(|e| match e.fault() {
            // The console's own session broke: not the caller's mistake.
            Some(_) if e.is_fault("NotAuthenticated") => ApiError::upstream(e.to_string()),
            // vSphere refused the values (InvalidArgument, InsufficientResourcesFault).
            Some(_) => ApiError::bad_request(e.to_string()),
            None => ApiError::upstream(e.to_string()),
        })
}

/// Reads the inventory; publishes the state when it changed (verdicts re-read).
async fn refresh_inventory(shared: &Shared) -> Result<(), vic::vsphere::Error> {
    let _turn = shared.inventory_turn.lock().await;
    let fresh = inventory::read(&shared.client, &shared.sites).await?;
    let (changed, started) = {
        let mut view = lock(&shared.view);
        if *view != fresh {
            // VMs running now that were not before: created, or powered on, since the last
            // read — their samples up to now were not read with the others.
            let started: Vec<MoRef> = fresh
                .1
                .iter()
                .filter(|v| v.power == "poweredOn")
                .filter(|v| {
                    !view
                        .1
                        .iter()
                        .any(|o| o.moref == v.moref && o.power == "poweredOn")
                })
                .map(|v| MoRef::new("VirtualMachine", v.moref.clone()))
                .collect();
            *view = fresh;
            (true, started)
        } else {
            (false, Vec::new())
        }
    };
    if !started.is_empty()
        && let Err(e) = backfill(shared, &started).await
    {
        shared
            .hub
            .notice(&format!("reading the new VMs' counters failed: {e}"));
    }
    if changed {
        update_story(shared);
        shared.hub.state(&shared.state());
    }
    Ok(())
}

/// Reads the samples `vms` already have within the window and adds them to it; the pages
/// are told to re-read the window when any joined.
async fn backfill(shared: &Shared, vms: &[MoRef]) -> Result<(), scenarios::RunError> {
    let Some((first, last)) = ({
        let w = lock(&shared.window);
        w.first_ts_ms().zip(w.last_ts_ms())
    }) else {
        return Ok(());
    };
    let requests: Vec<(MoRef, BTreeSet<(String, String)>)> = vms
        .iter()
        .map(|vm| (vm.clone(), vm_metrics(shared)))
        .collect();
    let series = perf::query_series(
        &shared.client,
        &shared.perf_manager,
        &shared.catalogue,
        &requests,
        first - 1,
        last,
    )
    .await?;
    let merged = lock(&shared.window).merge(feed::assemble(series));
    if merged > 0 {
        shared.hub.resync();
    }
    Ok(())
}

/// The VM counters the server has.
fn vm_metrics(shared: &Shared) -> BTreeSet<(String, String)> {
    feed::names(false)
        .filter(|c| shared.catalogue.contains(c))
        .map(|c| (c.to_owned(), String::new()))
        .collect()
}

/// Re-reads the verdicts; true when any changed.
fn update_story(shared: &Shared) -> bool {
    let (vchs, vms) = lock(&shared.view).clone();
    let window = lock(&shared.window);
    lock(&shared.story).update(&window, &vchs, &vms)
}

/// Reads the samples after the newest kept, up to `now_ms`; publishes each.
async fn read_samples(
    shared: &Shared,
    now_ms: i64,
    seen_unix_ms: i64,
) -> Result<(), scenarios::RunError> {
    let newest_due = now_ms - now_ms.rem_euclid(INTERVAL_MS);
    let after_ms = {
        let w = lock(&shared.window);
        w.last_ts_ms()
            .unwrap_or(newest_due - INTERVAL_MS * WINDOW_SAMPLES as i64)
    };
    if newest_due <= after_ms {
        return Ok(());
    }
    let (vchs, vms) = lock(&shared.view).clone();
    let pool_metrics: BTreeSet<(String, String)> = feed::names(true)
        .filter(|c| shared.catalogue.contains(c))
        .map(|c| (c.to_owned(), String::new()))
        .collect();
    let vm_metrics = vm_metrics(shared);
    let mut requests: Vec<(MoRef, BTreeSet<(String, String)>)> = vchs
        .iter()
        .map(|v| {
            let pool = shared
                .sites
                .iter()
                .find(|s| s.name == v.name)
                .map(|s| s.pool.clone());
            (
                pool.unwrap_or_else(|| MoRef::new("ResourcePool", v.pool.clone())),
                pool_metrics.clone(),
            )
        })
        .collect();
    // Powered-off VMs too: one that stopped since the last read still has its last interval.
    requests.extend(vms.iter().map(|v| {
        (
            MoRef::new("VirtualMachine", v.moref.clone()),
            vm_metrics.clone(),
        )
    }));
    let series = perf::query_series(
        &shared.client,
        &shared.perf_manager,
        &shared.catalogue,
        &requests,
        after_ms,
        newest_due,
    )
    .await?;
    let samples = feed::assemble(series);
    let mut fresh = Vec::new();
    {
        let mut w = lock(&shared.window);
        for mut s in samples {
            s.seen_unix_ms = Some(seen_unix_ms);
            let s = Arc::new(s);
            if w.push(s.clone()) {
                fresh.push(s);
            }
        }
    }
    for s in &fresh {
        shared.hub.sample(s);
    }
    if !fresh.is_empty() && update_story(shared) {
        shared.hub.state(&shared.state());
    }
    Ok(())
}

/// The poller: wakes on every clock advance, on a control, and every
/// [`INVENTORY_PERIOD`]; reads samples when a 20 s boundary passed, the inventory when due.
async fn poll(shared: Arc<Shared>) {
    let mut now_rx = shared.clock.now();
    let mut last_inventory = tokio::time::Instant::now();
    let mut last_clock_event = tokio::time::Instant::now() - CLOCK_EVENT_PERIOD;
    let mut last_clock = shared.clock_view();
    loop {
        tokio::select! {
            r = now_rx.changed() => if r.is_err() { return },
            _ = shared.refresh.notified() => {}
            _ = tokio::time::sleep(INVENTORY_PERIOD) => {}
        }
        let now_ms = *now_rx.borrow_and_update();
        let seen_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        if last_inventory.elapsed() >= INVENTORY_PERIOD {
            last_inventory = tokio::time::Instant::now();
            if let Err(e) = refresh_inventory(&shared).await {
                shared
                    .hub
                    .notice(&format!("reading the inventory failed: {e}"));
            }
        }
        if let Err(e) = read_samples(&shared, now_ms, seen_unix_ms).await {
            shared
                .hub
                .notice(&format!("reading the counters failed: {e}"));
        }
        let clock = shared.clock_view();
        if clock != last_clock && last_clock_event.elapsed() >= CLOCK_EVENT_PERIOD {
            last_clock_event = tokio::time::Instant::now();
            shared.hub.clock(&clock);
            last_clock = clock;
        }
    }
}
