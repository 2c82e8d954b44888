//! The guest seam: what runs *inside* a VM.
//!
//! The emulator calls a [`GuestAgent`] when a VM powers on or off, is reconfigured, and on
//! every realtime interval. An agent reads the VM's extraConfig (guestinfo) and answers with
//! [`GuestEffects`]: keys it writes back, the guest IP, a workload for the contention model, or
//! that its process exited and the VM powers off. Agents that need time (the VCH appliance
//! starting its Docker endpoint) post effects later through a [`GuestHandle`]. vcsim ships
//! the [`DefaultAgent`]; the `vic` crate provides the VCH appliance and containerVM tether.

use crate::vmodl::MoRef;
use scheduler_model::{DAY_S, MAX_PROFILE_STEPS, Profile, ProfileStep, Trace, Varying, Workload};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What the emulator tells an agent about its VM.
#[derive(Clone, Debug)]
pub struct GuestView {
    /// The VM.
    pub vm: MoRef,
    /// Its display name.
    pub name: String,
    /// vCPUs.
    pub num_cpu: u32,
    /// Memory in MB.
    pub memory_mb: u64,
    /// `config.extraConfig` as key/value text, in the VM's order.
    pub extra_config: Vec<(String, String)>,
    /// Virtual time now, in milliseconds since the epoch.
    pub now_ms: i64,
    /// At a [`GuestEvent::Tick`]: the VM's CPU usage (`cpu.usagemhz`, as in
    /// `summary.quickStats.overallCpuUsage`) over the latest interval the model ran, the one
    /// that ended at the previous tick (a tick comes before the model runs its own interval).
    /// 0 at other events. An agent adding up work skips its first tick after power-on: that
    /// figure predates the VM's run.
    pub cpu_usage_mhz: u32,
}

impl GuestView {
    /// An extraConfig value.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra_config
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why an agent is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestEvent {
    /// The VM powered on.
    PowerOn,
    /// The VM powered off (or was reset, before the following power-on).
    PowerOff,
    /// Its configuration changed while powered on.
    Reconfigure,
    /// A realtime interval passed while powered on. The view's `extra_config` is empty (it
    /// is not copied for every VM every interval); read it at power-on or reconfigure.
    Tick,
}

/// What a guest did in response to an event.
#[derive(Clone, Debug, Default)]
pub struct GuestEffects {
    /// extraConfig keys written by the guest (guestinfo write-back).
    pub extra_config: Vec<(String, String)>,
    /// The guest's primary IP address.
    pub ip_address: Option<String>,
    /// The guest's host name.
    pub host_name: Option<String>,
    /// The workload the guest now runs.
    pub workload: Option<Workload>,
    /// Whether VMware Tools are running in the guest.
    pub tools_running: Option<bool>,
    /// The guest's main process exited: the VM powers off.
    pub power_off: bool,
}

impl GuestEffects {
    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.extra_config.is_empty()
            && self.ip_address.is_none()
            && self.host_name.is_none()
            && self.workload.is_none()
            && self.tools_running.is_none()
            && !self.power_off
    }
}

/// Software inside a VM.
pub trait GuestAgent: Send + Sync {
    /// Whether this agent is what runs inside `vm` (decided from its extraConfig).
    fn claims(&self, vm: &GuestView) -> bool;
    /// Reacts to an event. `handle` posts effects later, from any task.
    fn on_event(&self, event: GuestEvent, vm: &GuestView, handle: &GuestHandle) -> GuestEffects;
}

/// Effects waiting to be applied, shared between agents and the emulator.
#[derive(Clone, Default)]
pub struct GuestHandle {
    pending: Arc<Mutex<Vec<(MoRef, GuestEffects)>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for GuestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuestHandle")
    }
}

impl GuestHandle {
    /// Posts effects for `vm`; the emulator applies them at its next request or tick.
    pub fn post(&self, vm: MoRef, effects: GuestEffects) {
        if let Ok(mut p) = self.pending.lock() {
            p.push((vm, effects));
        }
        self.notify.notify_one();
    }

    /// Takes everything posted so far.
    pub fn drain(&self) -> Vec<(MoRef, GuestEffects)> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Resolves when something is posted.
    pub async fn posted(&self) {
        self.notify.notified().await;
    }
}

/// The extraConfig key the default agent reads its workload from.
pub const WORKLOAD_KEY: &str = "guestinfo.vicbed.workload";

/// The agent of every VM nobody else claims: a guest that idles, or runs the workload named in
/// `guestinfo.vicbed.workload` (see [`parse_workload`]), with VMware Tools running. Without
/// traces: an inventory that declares some uses a [`WorkloadAgent`] instead.
#[derive(Debug, Default)]
pub struct DefaultAgent;

/// Every key of the workload syntax, for error messages.
const WORKLOAD_KEYS: &str =
    "cpu, mem, active, profile, peak, low, on, off, at, jitter, trace, repeat";

/// A workload text that cannot be used: the key at fault and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("key `{key}`: {problem}")]
pub struct WorkloadKeyError {
    /// The key (or the malformed item) at fault.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

fn key_err<T>(key: &str, problem: impl Into<String>) -> Result<T, WorkloadKeyError> {
    Err(WorkloadKeyError {
        key: key.to_owned(),
        problem: problem.into(),
    })
}

/// A parsed workload text: a model workload, or a trace named by file (loaded elsewhere).
#[derive(Clone, Debug, PartialEq)]
pub enum WorkloadDecl {
    /// Ready for the model (a daily profile still to be anchored to the clock).
    Model(Workload),
    /// `trace=<file>[,repeat=yes]`.
    Trace {
        /// The file as written (relative to the inventory file that names it).
        file: String,
        /// Start over after the last sample.
        repeat: bool,
    },
}

/// Traces loaded from files beside an inventory, by the name the workload text gives them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceLibrary {
    traces: BTreeMap<String, Arc<Trace>>,
}

impl TraceLibrary {
    /// Adds (or replaces) the trace named `name`.
    pub fn insert(&mut self, name: impl Into<String>, trace: Trace) {
        self.traces.insert(name.into(), Arc::new(trace));
    }

    /// The trace named `name`.
    pub fn get(&self, name: &str) -> Option<&Trace> {
        self.traces.get(name).map(|t| &**t)
    }

    /// Whether no trace is loaded.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// How many traces are loaded.
    pub fn len(&self) -> usize {
        self.traces.len()
    }
}

impl WorkloadDecl {
    /// The trace file this workload replays, if any.
    pub fn trace_file(&self) -> Option<&str> {
        match self {
            WorkloadDecl::Trace { file, .. } => Some(file),
            WorkloadDecl::Model(_) => None,
        }
    }

    /// The model workload: a trace looked up in `traces`; a daily profile anchored to the time
    /// of day of `now_ms` (virtual ms since the epoch, UTC), or to midnight without it.
    pub fn resolve(
        self,
        now_ms: Option<i64>,
        traces: &TraceLibrary,
    ) -> Result<Workload, WorkloadKeyError> {
        match self {
            WorkloadDecl::Model(w) => Ok(match now_ms {
                Some(ms) => {
                    let day_s = ms.div_euclid(1000).rem_euclid(i64::from(DAY_S));
                    w.starting_at_time_of_day(day_s as u64)
                }
                None => w,
            }),
            WorkloadDecl::Trace { file, repeat } => match traces.get(&file) {
                Some(t) => Ok(Workload::trace(t.clone(), repeat)),
                None => key_err(
                    "trace",
                    format!(
                        "{file:?} is not loaded (traces come from files named in the inventory file, beside it)"
                    ),
                ),
            },
        }
    }
}

/// `20%` → 0.2, within 0–100 %.
fn percent(key: &str, v: &str) -> Result<f64, WorkloadKeyError> {
    let Some(n) = v.strip_suffix('%') else {
        return key_err(key, format!("{v:?} is not a percentage such as 20%"));
    };
    match n.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=100.0).contains(&x) => Ok(x / 100.0),
        _ => key_err(
            key,
            format!("{v:?} is not a percentage between 0% and 100%"),
        ),
    }
}

/// `90s`, `5m`, `1h30m`, `2d` or plain seconds → seconds.
fn duration(key: &str, v: &str) -> Result<u32, WorkloadKeyError> {
    let bad = || {
        key_err(
            key,
            format!("{v:?} is not a duration such as 90s, 5m, 1h30m or 2d"),
        )
    };
    if let Ok(s) = v.parse::<u32>() {
        return Ok(s);
    }
    let (mut total, mut digits) = (0u64, String::new());
    for c in v.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return bad(),
        };
        let Ok(n) = digits.parse::<u64>() else {
            return bad();
        };
        digits.clear();
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !digits.is_empty() || v.is_empty() {
        return bad();
    }
    u32::try_from(total).or_else(|_| key_err(key, format!("{v:?} is too long")))
}

/// `HH:MM[:SS]` → seconds after midnight.
fn time_of_day(key: &str, v: &str) -> Result<u32, WorkloadKeyError> {
    let parts: Vec<&str> = v.split(':').collect();
    let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    match nums.as_deref() {
        Some([h, m]) if *h < 24 && *m < 60 => Ok(h * 3600 + m * 60),
        Some([h, m, s]) if *h < 24 && *m < 60 && *s < 60 => Ok(h * 3600 + m * 60 + s),
        _ => key_err(
            key,
            format!("{v:?} is not a time of day such as 14:00 or 09:30:00"),
        ),
    }
}

/// Parses the workload syntax of `guestinfo.vicbed.workload` and of inventory files:
///
/// * `idle` (or nothing);
/// * `cpu=<MHz per vCPU>[,mem=<MB>[,active=<MB>|<P>%]]` — `mem` is allocated and touched once,
///   `active` (default: all of `mem`) is the working set re-touched every minute;
/// * then optionally `profile=constant|daily|burst|steps` with its keys —
///   `daily`: `peak=HH:MM[:SS]` (clock time of the maximum), `low=<P>%` (the trough);
///   `burst`: `on=<duration>`, `off=<duration>`, `low=<P>%` (level while off);
///   `steps`: `at=<duration>:<P>%[,<duration>:<P>%…]` (levels from those times since the
///   workload started), `low=<P>%` (before the first) — scaling CPU and active memory;
/// * and `jitter=<P>%`: each interval scales CPU and active memory by a seeded factor in
///   `[1 − P, 1 + P]`;
/// * or `trace=<file.csv>[,repeat=yes|no]`: replay a recorded trace.
///
/// Errors name the key at fault.
pub fn parse_workload(text: &str) -> Result<WorkloadDecl, WorkloadKeyError> {
    let text = text.trim();
    if text.is_empty() || text == "idle" {
        return Ok(WorkloadDecl::Model(Workload::Idle));
    }
    let mut keys: BTreeMap<&str, String> = BTreeMap::new();
    let mut last: Option<&str> = None;
    for part in text.split(',').map(str::trim) {
        match part.split_once('=') {
            Some((k, v)) => {
                let k = k.trim();
                if !WORKLOAD_KEYS.split(", ").any(|known| known == k) {
                    return key_err(k, format!("unknown key (keys: {WORKLOAD_KEYS})"));
                }
                if keys.insert(k, v.trim().to_owned()).is_some() {
                    return key_err(k, "given twice");
                }
                last = Some(k);
            }
            // `at=10m:50%,30m:100%`: the list goes on after commas.
            None if last == Some("at") && !part.is_empty() => {
                if let Some(at) = keys.get_mut("at") {
                    at.push(',');
                    at.push_str(part);
                }
            }
            None => return key_err(part, "expected key=value"),
        }
    }
    let get = |k: &str| keys.get(k).map(String::as_str);
    if let Some(file) = get("trace") {
        if let Some(k) = keys.keys().find(|k| !matches!(**k, "trace" | "repeat")) {
            return key_err(
                k,
                "does not combine with trace= (the trace gives MHz and MB itself)",
            );
        }
        if file.is_empty() {
            return key_err("trace", "needs a file name");
        }
        let repeat = match get("repeat") {
            None | Some("no" | "false") => false,
            Some("yes" | "true") => true,
            Some(v) => return key_err("repeat", format!("{v:?} is not yes or no")),
        };
        return Ok(WorkloadDecl::Trace {
            file: file.to_owned(),
            repeat,
        });
    }
    if get("repeat").is_some() {
        return key_err("repeat", "applies to trace= only");
    }
    let mhz_per_vcpu = match get("cpu") {
        None => 0,
        Some(v) => v.parse::<u32>().or_else(|_| {
            key_err(
                "cpu",
                format!("{v:?} is not a whole number of MHz per vCPU"),
            )
        })?,
    };
    let mem_mb = match get("mem") {
        None => 0,
        Some(v) => v
            .parse::<u64>()
            .or_else(|_| key_err("mem", format!("{v:?} is not a whole number of MB")))?,
    };
    let active_mb = match get("active") {
        None => mem_mb,
        Some(_) if get("mem").is_none() => {
            return key_err(
                "active",
                "needs mem= (the active set is part of the allocated memory)",
            );
        }
        Some(v) if v.ends_with('%') => (mem_mb as f64 * percent("active", v)?).round() as u64,
        Some(v) => match v.parse::<u64>() {
            Ok(a) if a <= mem_mb => a,
            Ok(a) => return key_err("active", format!("{a} MB exceeds mem={mem_mb}")),
            Err(_) => return key_err("active", format!("{v:?} is not MB or a percentage of mem")),
        },
    };
    let profile_name = get("profile").unwrap_or("constant");
    let allowed: &[&str] = match profile_name {
        "constant" => &[],
        "daily" => &["peak", "low"],
        "burst" => &["on", "off", "low"],
        "steps" => &["at", "low"],
        other => {
            return key_err(
                "profile",
                format!("{other:?} is not constant, daily, burst or steps"),
            );
        }
    };
    for k in ["peak", "low", "on", "off", "at"] {
        if get(k).is_some() && !allowed.contains(&k) {
            return key_err(k, format!("does not apply to profile={profile_name}"));
        }
    }
    let need = |k: &str| {
        get(k).ok_or_else(|| WorkloadKeyError {
            key: k.to_owned(),
            problem: format!("profile={profile_name} needs it"),
        })
    };
    let low = get("low")
        .map(|v| percent("low", v))
        .transpose()?
        .unwrap_or(0.0);
    let profile = match profile_name {
        "daily" => Profile::Daily {
            peak_s: time_of_day("peak", need("peak")?)?,
            low,
            start_s_of_day: 0,
        },
        "burst" => {
            let on_s = duration("on", need("on")?)?;
            let off_s = duration("off", need("off")?)?;
            if on_s == 0 || off_s == 0 {
                return key_err(
                    if on_s == 0 { "on" } else { "off" },
                    "must be longer than 0 s",
                );
            }
            Profile::Burst { on_s, off_s, low }
        }
        "steps" => {
            let mut steps = Vec::new();
            for item in need("at")?.split(',') {
                let Some((t, level)) = item.split_once(':') else {
                    return key_err(
                        "at",
                        format!("{item:?} is not <time>:<percent> such as 10m:50%"),
                    );
                };
                let at_s = duration("at", t.trim())?;
                if steps.last().is_some_and(|s: &ProfileStep| s.at_s >= at_s) {
                    return key_err("at", format!("{item:?}: times must increase"));
                }
                steps.push(ProfileStep {
                    at_s,
                    level: percent("at", level.trim())?,
                });
            }
            if steps.len() > MAX_PROFILE_STEPS {
                return key_err("at", format!("more than {MAX_PROFILE_STEPS} steps"));
            }
            Profile::Steps { low, steps }
        }
        _ => Profile::Constant,
    };
    let jitter = get("jitter")
        .map(|v| percent("jitter", v))
        .transpose()?
        .unwrap_or(0.0);
    if profile == Profile::Constant && jitter == 0.0 && active_mb == mem_mb {
        // The original `cpu=…,mem=…` syntax: everything allocated is active.
        return Ok(WorkloadDecl::Model(Workload::Constant {
            mhz_per_vcpu,
            active_mb: mem_mb,
        }));
    }
    Ok(WorkloadDecl::Model(Workload::Varying(Box::new(Varying {
        mhz_per_vcpu,
        mem_mb,
        active_mb,
        profile,
        jitter,
    }))))
}

/// [`parse_workload`] for callers without a clock or traces (the `vic` crate's images): `None`
/// for anything invalid or naming a trace; a daily profile starts at midnight.
pub fn parse_workload_key(text: &str) -> Option<Workload> {
    parse_workload(text)
        .ok()?
        .resolve(None, &TraceLibrary::default())
        .ok()
}

/// What the default guest does on each event: runs the workload of `guestinfo.vicbed.workload`
/// (idle if absent or invalid) anchored to the virtual clock, with VMware Tools running.
fn workload_effects(event: GuestEvent, vm: &GuestView, traces: &TraceLibrary) -> GuestEffects {
    match event {
        GuestEvent::PowerOn | GuestEvent::Reconfigure => GuestEffects {
            workload: Some(
                vm.extra(WORKLOAD_KEY)
                    .and_then(|t| parse_workload(t).ok())
                    .and_then(|d| d.resolve(Some(vm.now_ms), traces).ok())
                    .unwrap_or(Workload::Idle),
            ),
            tools_running: Some(true),
            ..GuestEffects::default()
        },
        GuestEvent::PowerOff => GuestEffects {
            tools_running: Some(false),
            ..GuestEffects::default()
        },
        GuestEvent::Tick => GuestEffects::default(),
    }
}

impl GuestAgent for DefaultAgent {
    fn claims(&self, _vm: &GuestView) -> bool {
        true
    }

    fn on_event(&self, event: GuestEvent, vm: &GuestView, _handle: &GuestHandle) -> GuestEffects {
        workload_effects(event, vm, &TraceLibrary::default())
    }
}

/// The default guest with an inventory's traces: claims every VM, as [`DefaultAgent`] does
/// (agents added later, such as VIC's, are still consulted first).
#[derive(Debug, Default)]
pub struct WorkloadAgent {
    traces: TraceLibrary,
}

impl WorkloadAgent {
    /// An agent that resolves `trace=` workloads in `traces`.
    pub fn new(traces: TraceLibrary) -> WorkloadAgent {
        WorkloadAgent { traces }
    }
}

impl GuestAgent for WorkloadAgent {
    fn claims(&self, _vm: &GuestView) -> bool {
        true
    }

    fn on_event(&self, event: GuestEvent, vm: &GuestView, _handle: &GuestHandle) -> GuestEffects {
        workload_effects(event, vm, &self.traces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_key_syntax() {
        assert!(matches!(parse_workload_key("idle"), Some(Workload::Idle)));
        assert!(parse_workload_key("cpu=500,mem=256").is_some());
        assert!(parse_workload_key("cpu=abc").is_none());
        assert!(parse_workload_key("gpu=1").is_none());
    }

    fn model(text: &str) -> Workload {
        match parse_workload(text).unwrap() {
            WorkloadDecl::Model(w) => w,
            other => panic!("{other:?}"),
        }
    }

    fn varying(text: &str) -> Varying {
        match model(text) {
            Workload::Varying(v) => *v,
            other => panic!("{other:?}"),
        }
    }

    fn error(text: &str) -> String {
        parse_workload(text).unwrap_err().to_string()
    }

    #[test]
    fn the_original_syntax_stays_constant() {
        assert_eq!(
            model("cpu=900,mem=256"),
            Workload::Constant {
                mhz_per_vcpu: 900,
                active_mb: 256
            }
        );
        assert_eq!(
            model(" mem=64 "),
            Workload::Constant {
                mhz_per_vcpu: 0,
                active_mb: 64
            }
        );
        assert_eq!(model(""), Workload::Idle);
    }

    #[test]
    fn allocated_and_active_memory() {
        let v = varying("mem=1024,active=20%");
        assert_eq!((v.mem_mb, v.active_mb, v.mhz_per_vcpu), (1024, 205, 0));
        let v = varying("cpu=100,mem=1024,active=300");
        assert_eq!((v.mem_mb, v.active_mb), (1024, 300));
        assert_eq!(v.profile, Profile::Constant);
        assert_eq!(
            error("cpu=1,mem=100,active=200"),
            "key `active`: 200 MB exceeds mem=100"
        );
        assert!(error("active=20%").starts_with("key `active`: needs mem="));
    }

    #[test]
    fn profiles_and_jitter() {
        let v = varying("cpu=1000,mem=512,profile=daily,peak=14:00,low=20%,jitter=10%");
        assert_eq!(
            v.profile,
            Profile::Daily {
                peak_s: 14 * 3600,
                low: 0.2,
                start_s_of_day: 0
            }
        );
        assert_eq!(v.jitter, 0.1);
        let v = varying("cpu=1000,profile=burst,on=5m,off=15m");
        assert_eq!(
            v.profile,
            Profile::Burst {
                on_s: 300,
                off_s: 900,
                low: 0.0
            }
        );
        let v = varying("cpu=1000,profile=steps,at=10m:50%,30m:100%,low=5%");
        assert_eq!(
            v.profile,
            Profile::Steps {
                low: 0.05,
                steps: vec![
                    ProfileStep {
                        at_s: 600,
                        level: 0.5
                    },
                    ProfileStep {
                        at_s: 1800,
                        level: 1.0
                    }
                ]
            }
        );
        assert_eq!(varying("cpu=1,profile=burst,on=1h30m,off=90").profile, {
            Profile::Burst {
                on_s: 5400,
                off_s: 90,
                low: 0.0,
            }
        });
    }

    #[test]
    fn errors_name_the_bad_key() {
        for (text, key) in [
            ("gpu=1", "gpu"),
            ("cpu=abc", "cpu"),
            ("cpu=1,cpu=2", "cpu"),
            ("cpu=1,profile=weekly", "profile"),
            ("cpu=1,profile=daily", "peak"),
            ("cpu=1,profile=daily,peak=25:00", "peak"),
            ("cpu=1,profile=daily,peak=14:00,low=120%", "low"),
            ("cpu=1,profile=daily,peak=14:00,low=20", "low"),
            ("cpu=1,profile=burst,on=5m", "off"),
            ("cpu=1,profile=burst,on=0,off=5m", "on"),
            ("cpu=1,profile=burst,on=5x,off=5m", "on"),
            ("cpu=1,profile=steps,at=10m:50%,5m:10%", "at"),
            ("cpu=1,profile=steps,at=10m", "at"),
            ("cpu=1,peak=14:00", "peak"),
            ("cpu=1,jitter=-1%", "jitter"),
            ("cpu=1,repeat=yes", "repeat"),
            ("trace=web.csv,cpu=1", "cpu"),
            ("trace=web.csv,repeat=maybe", "repeat"),
            ("cpu=1,fast", "fast"),
        ] {
            let e = parse_workload(text).unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
            assert!(e.to_string().starts_with(&format!("key `{key}`: ")));
        }
    }

    #[test]
    fn traces_resolve_from_the_library_and_daily_profiles_from_the_clock() {
        let d = parse_workload("trace=web.csv,repeat=yes").unwrap();
        assert_eq!(d.trace_file(), Some("web.csv"));
        let mut lib = TraceLibrary::default();
        assert!(
            d.clone()
                .resolve(None, &lib)
                .unwrap_err()
                .to_string()
                .contains("not loaded")
        );
        lib.insert(
            "web.csv",
            scheduler_model::parse_trace_csv("2017-10-02T08:00:00Z,5\n2017-10-02T08:00:20Z,6\n")
                .unwrap(),
        );
        assert!(matches!(
            d.resolve(None, &lib).unwrap(),
            Workload::Trace {
                interval_s: 20,
                repeat: true,
                ..
            }
        ));
        // 2017-10-02T08:00:00Z: the workload starts at 08:00.
        let w = parse_workload("cpu=1,profile=daily,peak=14:00")
            .unwrap()
            .resolve(Some(crate::clock::DEFAULT_START_MS), &lib)
            .unwrap();
        let Workload::Varying(v) = w else {
            panic!("{w:?}")
        };
        assert!(matches!(
            v.profile,
            Profile::Daily {
                start_s_of_day: 28_800,
                ..
            }
        ));
        assert!(parse_workload_key("trace=web.csv").is_none());
    }
}
