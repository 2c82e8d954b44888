//! Running one step: a docker command against a VCH endpoint (over its TLS mode, as the
//! docker CLI would), a pool allocation change (`UpdateConfig`), a power operation or a host
//! state change over SOAP (a host failure, which vSphere has no method for, goes to the
//! testbed's emulator in-process); the clusters' HA and DRS settings before a run; and the
//! progress bar.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vcsim::inventory::SharesSpec;
use vcsim::vmodl::{DataObject, MoRef, Value};
use vic::vsphere::Client;

use crate::docker::Docker;
use crate::outcome::StepRecord;
use crate::schema::{
    Action, ClusterServices, DrsMode, EntityKind, HostChange, HostTarget, PoolChange, PowerChange,
    Step,
};
use crate::testbed::VchHandle;

/// Runs steps, keeping one Docker client per VCH.
pub struct StepRunner<'h> {
    handles: &'h BTreeMap<String, VchHandle>,
    docker: BTreeMap<String, Docker>,
    emulator: Option<vcsim::Vcsim>,
    /// Clients of DCHs, by (`[[vch]]` name, container name).
    dch: BTreeMap<(String, String), Docker>,
    /// Drives the clock while a DCH build spends its CPU.
    pacer: Option<super::devflow::Pacer>,
    /// The scenario file's directory (build contexts are read beside it).
    base_dir: Option<std::path::PathBuf>,
}

impl<'h> StepRunner<'h> {
    /// A runner for the VCHs in `handles` (by `[[vch]]` name).
    pub fn new(handles: &'h BTreeMap<String, VchHandle>) -> StepRunner<'h> {
        StepRunner {
            handles,
            docker: BTreeMap::new(),
            emulator: None,
            dch: BTreeMap::new(),
            pacer: None,
            base_dir: None,
        }
    }

    /// With what a DCH step needs: the pacer of the clock and the scenario's directory.
    pub fn with_devflow(
        mut self,
        pacer: super::devflow::Pacer,
        base_dir: Option<std::path::PathBuf>,
    ) -> StepRunner<'h> {
        self.pacer = Some(pacer);
        self.base_dir = base_dir;
        self
    }

    /// The Docker client a step's line goes to: the VCH's endpoint, or a DCH of it.
    async fn endpoint(&mut self, d: &crate::schema::DockerCommand) -> Result<&Docker, String> {
        let Some(h) = self.handles.get(&d.vch) else {
            return Err(format!("VCH {:?} was not created", d.vch));
        };
        if !self.docker.contains_key(&d.vch) {
            let c = Docker::from_args(&h.docker_args)?;
            self.docker.insert(d.vch.clone(), c);
        }
        let Some(container) = &d.dch else {
            return self
                .docker
                .get(&d.vch)
                .ok_or_else(|| format!("VCH {:?} has no client", d.vch));
        };
        let key = (d.vch.clone(), container.clone());
        if !self.dch.contains_key(&key) {
            let vch = self
                .docker
                .get(&d.vch)
                .ok_or_else(|| format!("VCH {:?} has no client", d.vch))?;
            let c = super::devflow::dch_client(vch, h.address, container).await?;
            self.dch.insert(key.clone(), c);
        }
        self.dch
            .get(&key)
            .ok_or_else(|| format!("no DCH client for {container:?}"))
    }

    /// With the testbed's emulator, for what has no SOAP method (a host failure).
    pub fn with_emulator(mut self, emulator: vcsim::Vcsim) -> StepRunner<'h> {
        self.emulator = Some(emulator);
        self
    }

    /// Every container each VCH still has, with its run times ([`crate::runs`]), by VCH
    /// then name. A VCH whose endpoint cannot be reached contributes none.
    pub async fn container_runs(&mut self, start_ms: i64) -> Vec<crate::outcome::ContainerRun> {
        let mut runs = Vec::new();
        for (name, h) in self.handles {
            let docker = match self.docker.entry(name.clone()) {
                Entry::Occupied(e) => &*e.into_mut(),
                Entry::Vacant(v) => match Docker::from_args(&h.docker_args) {
                    Ok(c) => &*v.insert(c),
                    Err(_) => continue,
                },
            };
            runs.extend(crate::runs::read(docker, name, start_ms).await);
        }
        runs
    }

    /// Runs `step` at `at_s`; failures are recorded, not raised (a scenario may show one).
    pub async fn run(&mut self, step: &Step, client: &Client, at_s: u64) -> StepRecord {
        let mut virtual_ms = None;
        let mut output = String::new();
        let result = match &step.action {
            Action::Docker(d) => {
                let argv = super::devflow::resolve_build_path(&d.argv, self.base_dir.as_deref());
                let pacer = self.pacer.clone();
                match self.endpoint(d).await {
                    // What the CLI prints: the container id of a `run`, a `ps` table; or
                    // the failure itself, not the pull progress before it. A DCH's build
                    // waits for the model: the clock moves while it spends its CPU.
                    Ok(e) => {
                        let ran = match &pacer {
                            Some(p) if d.dch.is_some() => p.run(e.try_run(&argv)).await,
                            _ => Ok(e.try_run(&argv).await),
                        };
                        match ran {
                            Ok(Ok(Ok(out))) => {
                                virtual_ms = out.virtual_ms;
                                let all = out.stdout.trim();
                                let short = summary(d.verb, all, out.virtual_ms);
                                if short != all {
                                    output = tail(all, crate::outcome::MAX_STEP_OUTPUT_BYTES);
                                }
                                Ok(short)
                            }
                            Ok(Ok(Err(refused))) => Err(refused.to_string()),
                            Ok(Err(unreachable)) | Err(unreachable) => Err(unreachable),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            Action::Http(probe) => {
                let d = crate::schema::DockerCommand {
                    vch: probe.vch.clone(),
                    dch: None,
                    verb: crate::schema::DockerVerb::Inspect,
                    argv: Vec::new(),
                };
                match self.endpoint(&d).await {
                    Ok(e) => super::devflow::http_probe(e, probe).await,
                    Err(e) => Err(e),
                }
            }
            Action::Pool(p) => update_pool(client, p).await,
            Action::Power(p) => power(client, p).await,
            Action::Host(h) => host(client, self.emulator.as_ref(), h).await,
        };
        let (ok, result) = match result {
            Ok(text) => (true, text),
            Err(text) => (false, text),
        };
        StepRecord {
            index: step.index,
            at_s,
            command: describe(step),
            result,
            ok,
            virtual_ms,
            output,
        }
    }

    /// Drops the Docker clients.
    pub fn close(&mut self) {
        self.docker.clear();
        self.dch.clear();
    }
}

/// Lines of a build's, push's or pull's progress the step record keeps (the last ones,
/// which say what came of it).
const PROGRESS_LINES_KEPT: usize = 3;

/// What a step record keeps of a command's output: all of it, but for the progress of a
/// build, push or pull, its last [`PROGRESS_LINES_KEPT`] lines (and a build's virtual
/// duration).
fn summary(verb: crate::schema::DockerVerb, stdout: &str, virtual_ms: Option<i64>) -> String {
    use crate::schema::DockerVerb;
    if !matches!(
        verb,
        DockerVerb::Build | DockerVerb::Push | DockerVerb::Pull
    ) {
        return stdout.to_owned();
    }
    let lines: Vec<&str> = stdout.lines().collect();
    let mut kept = lines[lines.len().saturating_sub(PROGRESS_LINES_KEPT)..].join("\n");
    if lines.len() > PROGRESS_LINES_KEPT {
        kept = format!("… {kept}");
    }
    if let Some(ms) = virtual_ms {
        kept.push_str(&format!(
            "\n(its CPU work took {:.1} s of virtual time)",
            ms as f64 / 1000.0
        ));
    }
    kept
}

/// The last `max_bytes` of `text` (cut at a character boundary).
fn tail(text: &str, max_bytes: usize) -> String {
    let mut from = text.len().saturating_sub(max_bytes);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    text[from..].to_owned()
}

/// The step as a command line: `docker run … (on limited)`, `pool vch-limited cpu_limit_mhz=800`.
pub fn describe(step: &Step) -> String {
    match &step.action {
        Action::Docker(d) => match &d.dch {
            Some(c) => format!("docker {} (on DCH {c} of {})", d.argv.join(" "), d.vch),
            None => format!("docker {} (on {})", d.argv.join(" "), d.vch),
        },
        Action::Http(h) => format!(
            "http GET {}:{}/ on network {} (on {})",
            h.container, h.port, h.network, h.vch
        ),
        Action::Pool(p) => {
            let mut s = format!("pool {}", p.name);
            let mut kv = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    s.push_str(&format!(" {k}={v}"));
                }
            };
            kv("cpu_limit_mhz", p.cpu_limit_mhz.map(|v| v.to_string()));
            kv("mem_limit_mb", p.mem_limit_mb.map(|v| v.to_string()));
            kv(
                "cpu_reservation_mhz",
                p.cpu_reservation_mhz.map(|v| v.to_string()),
            );
            kv(
                "mem_reservation_mb",
                p.mem_reservation_mb.map(|v| v.to_string()),
            );
            kv("cpu_shares", p.cpu_shares.as_ref().map(shares_text));
            kv("mem_shares", p.mem_shares.as_ref().map(shares_text));
            kv("expandable", p.expandable.map(|v| v.to_string()));
            s
        }
        Action::Power(p) => format!("power {} {}", p.vm, if p.on { "on" } else { "off" }),
        Action::Host(h) => format!("host {} {}", h.name, h.state.as_str()),
    }
}

fn shares_text(s: &SharesSpec) -> String {
    match s {
        SharesSpec::Level(l) => l.clone(),
        SharesSpec::Custom(n) => n.to_string(),
    }
}

/// The named object of `ty` (`ResourcePool`, `VirtualMachine`); for VMs a containerVM's
/// container name also matches.
async fn find(
    client: &Client,
    kind: crate::schema::EntityKind,
    name: &str,
) -> Result<MoRef, String> {
    let found = super::perf::discover(client)
        .await
        .map_err(|e| e.to_string())?;
    let matches: Vec<&super::perf::Found> = found
        .iter()
        .filter(|f| {
            let same_kind = f.kind == kind
                || (kind == crate::schema::EntityKind::Vm
                    && f.kind == crate::schema::EntityKind::Container);
            same_kind && (f.name == name || f.vsphere_name == name)
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.moref.clone()),
        [] => Err(format!("no {} named {name:?}", kind.as_str())),
        _ => Err(format!(
            "{} {} are named {name:?}",
            matches.len(),
            kind.as_str()
        )),
    }
}

async fn update_pool(client: &Client, p: &PoolChange) -> Result<String, String> {
    let pool = find(client, crate::schema::EntityKind::Pool, &p.name).await?;
    let alloc = |reservation: Option<u64>, limit: Option<i64>, shares: &Option<SharesSpec>| {
        let mut a = DataObject::new("ResourceAllocationInfo");
        if let Some(r) = reservation {
            a = a.with(
                "reservation",
                Value::Long(i64::try_from(r).unwrap_or(i64::MAX)),
            );
        }
        if let Some(e) = p.expandable {
            a = a.with("expandableReservation", Value::Bool(e));
        }
        if let Some(l) = limit {
            a = a.with("limit", Value::Long(l));
        }
        if let Some(s) = shares {
            let (count, level) = match s {
                SharesSpec::Level(l) => (0, l.as_str()),
                SharesSpec::Custom(n) => (i32::try_from(*n).unwrap_or(i32::MAX), "custom"),
            };
            a = a.with(
                "shares",
                DataObject::new("SharesInfo")
                    .with("shares", Value::Int(count))
                    .with("level", Value::enumv("SharesLevel", level.to_owned()))
                    .into_value(),
            );
        }
        a.into_value()
    };
    let spec = DataObject::new("ResourceConfigSpec")
        .with(
            "cpuAllocation",
            alloc(p.cpu_reservation_mhz, p.cpu_limit_mhz, &p.cpu_shares),
        )
        .with(
            "memoryAllocation",
            alloc(p.mem_reservation_mb, p.mem_limit_mb, &p.mem_shares),
        )
        .into_value();
    client
        .call("UpdateConfig", &pool, &[("config", spec)])
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("updated {}", pool.value))
}

async fn power(client: &Client, p: &PowerChange) -> Result<String, String> {
    let vm = find(client, crate::schema::EntityKind::Vm, &p.vm).await?;
    let method = if p.on {
        "PowerOnVM_Task"
    } else {
        "PowerOffVM_Task"
    };
    client
        .run_task(method, &vm, &[])
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "{} powered {}",
        vm.value,
        if p.on { "on" } else { "off" }
    ))
}

/// A host step. `failed` and the recovery from it are the testbed's own operations (in the
/// emulator); the rest are vSphere's tasks: `maintenance` is `EnterMaintenanceMode_Task` with
/// timeout 0 (DRS evacuates the host, or the step fails while VMs run there — a task that
/// waits could not end while the run's clock stands still), `disconnected` is
/// `DisconnectHost_Task`, and `connected` undoes whichever applies: the host is brought back
/// up, reconnected (`ReconnectHost_Task`) and taken out of maintenance mode
/// (`ExitMaintenanceMode_Task`).
async fn host(
    client: &Client,
    emulator: Option<&vcsim::Vcsim>,
    h: &HostChange,
) -> Result<String, String> {
    let host = find(client, EntityKind::Host, &h.name).await?;
    let in_process = || {
        emulator.ok_or_else(|| {
            format!(
                "host {}: the testbed's emulator is not reachable in-process",
                h.name
            )
        })
    };
    let task = |method: &'static str, args: Vec<(&'static str, Value)>| {
        let host = host.clone();
        async move {
            client
                .run_task(method, &host, &args)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    match h.state {
        HostTarget::Failed => {
            in_process()?
                .with(|e| e.fail_host(&host))
                .map_err(|f| f.to_string())?;
            Ok(format!("{} ({}) failed", h.name, host.value))
        }
        HostTarget::Maintenance => {
            task(
                "EnterMaintenanceMode_Task",
                vec![("timeout", Value::Int(0))],
            )
            .await?;
            Ok(format!("{} in maintenance mode", h.name))
        }
        HostTarget::Disconnected => {
            task("DisconnectHost_Task", Vec::new()).await?;
            Ok(format!("{} disconnected", h.name))
        }
        HostTarget::Connected => {
            let mut done = Vec::new();
            if in_process()?.with(|e| e.host_down(&host)) {
                in_process()?
                    .with(|e| e.recover_host(&host))
                    .map_err(|f| f.to_string())?;
                done.push("recovered");
            }
            let runtime = client
                .get_property(&host, "runtime")
                .await
                .map_err(|e| e.to_string())?;
            let field = |name: &str| runtime.as_ref().and_then(|r| r.field(name)).cloned();
            if field("connectionState").as_ref().and_then(Value::as_str) == Some("disconnected") {
                task("ReconnectHost_Task", Vec::new()).await?;
                done.push("reconnected");
            }
            if field("inMaintenanceMode").and_then(|v| v.as_bool()) == Some(true) {
                task("ExitMaintenanceMode_Task", vec![("timeout", Value::Int(0))]).await?;
                done.push("out of maintenance mode");
            }
            if done.is_empty() {
                done.push("already connected");
            }
            Ok(format!("{} {}", h.name, done.join(", ")))
        }
    }
}

/// Sets the clusters' vSphere HA and DRS as the scenario's `[[inventory.cluster]]` says
/// (`ReconfigureComputeResource_Task`, `modify = true`): HA with host monitoring, admission
/// control on the "cluster resource percentage" policy computed for
/// `ha_host_failures_tolerated` host failures (1 by default, as vSphere's); DRS enabled
/// with the given automation level, or disabled for `off`.
pub async fn configure_clusters(
    client: &Client,
    services: &[ClusterServices],
) -> Result<(), String> {
    if services.is_empty() {
        return Ok(());
    }
    let root = client.service_content().root_folder.clone();
    let clusters = client
        .view_contents(&root, &["ClusterComputeResource"], true, &["name"])
        .await
        .map_err(|e| e.to_string())?;
    for s in services {
        let cluster = clusters
            .iter()
            .find(|oc| oc.text("name") == Some(s.cluster.as_str()))
            .map(|oc| oc.obj.clone())
            .ok_or_else(|| format!("no cluster named {:?}", s.cluster))?;
        let mut spec = DataObject::new("ClusterConfigSpecEx");
        if s.ha || s.ha_host_failures_tolerated.is_some() {
            let level = i32::try_from(s.ha_host_failures_tolerated.unwrap_or(1)).unwrap_or(1);
            let policy = DataObject::new("ClusterFailoverResourcesAdmissionControlPolicy")
                .with("cpuFailoverResourcesPercent", Value::Int(0))
                .with("memoryFailoverResourcesPercent", Value::Int(0))
                .with("failoverLevel", Value::Int(level))
                .with("autoComputePercentages", Value::Bool(true))
                .into_value();
            spec = spec.with(
                "dasConfig",
                DataObject::new("ClusterDasConfigInfo")
                    .with("enabled", Value::Bool(s.ha))
                    .with("hostMonitoring", Value::str("enabled"))
                    .with("failoverLevel", Value::Int(level))
                    .with("admissionControlPolicy", policy)
                    .with("admissionControlEnabled", Value::Bool(true))
                    .into_value(),
            );
        } else {
            spec = spec.with(
                "dasConfig",
                DataObject::new("ClusterDasConfigInfo")
                    .with("enabled", Value::Bool(false))
                    .into_value(),
            );
        }
        if let Some(mode) = s.drs {
            let mut drs = DataObject::new("ClusterDrsConfigInfo")
                .with("enabled", Value::Bool(mode != DrsMode::Off));
            if mode != DrsMode::Off {
                drs = drs.with(
                    "defaultVmBehavior",
                    Value::enumv("DrsBehavior", mode.as_str()),
                );
            }
            spec = spec.with("drsConfig", drs.into_value());
        }
        client
            .run_task(
                "ReconfigureComputeResource_Task",
                &cluster,
                &[("spec", spec.into_value()), ("modify", Value::Bool(true))],
            )
            .await
            .map_err(|e| format!("cluster {}: {e}", s.cluster))?;
    }
    Ok(())
}

/// The run's progress over virtual time, drawn on stderr once the run has lasted a second
/// (and only on a terminal: indicatif hides itself otherwise).
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Progress {
    /// A bar over `duration_s` virtual seconds, or nothing when `enabled` is false.
    pub fn new(enabled: bool, duration_s: u64) -> Progress {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(Some(duration_s), ProgressDrawTarget::hidden());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} virtual s  {elapsed} wall, ETA {eta}  {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
        }
    }

    fn show_if_slow(&self) {
        if let Some(bar) = &self.bar
            && bar.is_hidden()
            && self.started.elapsed().as_secs_f64() > 1.0
        {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Virtual seconds done.
    pub fn set_position(&self, done_s: u64) {
        self.show_if_slow();
        if let Some(bar) = &self.bar {
            bar.set_position(done_s);
        }
    }

    /// What is happening now.
    pub fn message(&self, text: &str) {
        self.show_if_slow();
        if let Some(bar) = &self.bar {
            bar.set_message(text.to_owned());
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
