//! A cluster's vSphere HA and DRS configuration (`configurationEx.dasConfig`, `dasVmConfig`,
//! `drsConfig`, `drsVmConfig`, mirrored in the older `configuration`): reading it, and
//! `ReconfigureComputeResource_Task` / `ReconfigureCluster_Task` / `CreateClusterEx`
//! changing it.
//!
//! Requests are read into typed settings, checked (enum values, percentages, VMs of the
//! cluster) and written back whole, so what a client reads is always complete and
//! schema-valid. `modify = true` changes only what the spec sets; `modify = false` makes the
//! configuration match the spec, unset parts taking vCenter's defaults (HA and DRS off).
//! Other parts of a spec (rules, groups, DPM, vSAN, orchestration) are accepted and not kept.

use super::Emulator;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::BTreeMap;

/// Most per-VM entries a cluster keeps (and a request may carry) for HA and for DRS.
pub const VM_OVERRIDES_MAX: usize = 10_000;
/// vSphere's largest configurable failover level.
pub const FAILOVER_LEVEL_MAX: i64 = 31;

const DRS_BEHAVIORS: &[&str] = &["manual", "partiallyAutomated", "fullyAutomated"];
const VM_MONITORING: &[&str] = &[
    "vmMonitoringDisabled",
    "vmMonitoringOnly",
    "vmAndAppMonitoring",
];
const RESTART_PRIORITIES: &[&str] = &[
    "disabled",
    "lowest",
    "low",
    "medium",
    "high",
    "highest",
    "clusterRestartPriority",
];
const ISOLATION_RESPONSES: &[&str] = &["none", "powerOff", "shutdown", "clusterIsolationResponse"];

/// `ClusterDrsConfigInfo`, as the emulator keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrsSettings {
    /// `enabled`.
    pub enabled: bool,
    /// `defaultVmBehavior` (a `DrsBehavior`).
    pub behavior: String,
    /// `enableVmBehaviorOverrides`.
    pub vm_overrides: bool,
    /// `vmotionRate` (1–5).
    pub vmotion_rate: i32,
}

impl Default for DrsSettings {
    /// vCenter's defaults for a cluster whose DRS was never turned on.
    fn default() -> DrsSettings {
        DrsSettings {
            enabled: false,
            behavior: "fullyAutomated".into(),
            vm_overrides: true,
            vmotion_rate: 3,
        }
    }
}

/// vSphere HA admission control (`ClusterDasAdmissionControlPolicy` subtypes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HaPolicy {
    /// `ClusterFailoverLevelAdmissionControlPolicy`: host failures tolerated, by slots
    /// (`slotPolicy` fixed slot size in MHz / MB when given).
    FailoverLevel {
        /// `failoverLevel`.
        level: i32,
        /// `ClusterFixedSizeSlotPolicy` (CPU MHz, memory MB).
        fixed_slot: Option<(i32, i32)>,
    },
    /// `ClusterFailoverResourcesAdmissionControlPolicy`: a percentage of the cluster's CPU
    /// and memory kept for failover.
    Resources {
        /// `cpuFailoverResourcesPercent`.
        cpu_percent: i32,
        /// `memoryFailoverResourcesPercent`.
        mem_percent: i32,
        /// `failoverLevel` (host failures the percentages are computed for).
        level: Option<i32>,
        /// `autoComputePercentages`.
        auto: bool,
    },
    /// `ClusterFailoverHostAdmissionControlPolicy`: dedicated failover hosts.
    FailoverHosts {
        /// `failoverHosts`.
        hosts: Vec<MoRef>,
        /// `failoverLevel`.
        level: Option<i32>,
    },
}

/// `ClusterDasConfigInfo`, as the emulator keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaSettings {
    /// `enabled`.
    pub enabled: bool,
    /// `hostMonitoring` is `enabled`: HA restarts the VMs of failed hosts.
    pub host_monitoring: bool,
    /// `vmMonitoring`.
    pub vm_monitoring: String,
    /// `failoverLevel` (the older setting, used when no policy is given).
    pub failover_level: i32,
    /// `admissionControlEnabled`.
    pub admission_enabled: bool,
    /// `admissionControlPolicy`.
    pub policy: Option<HaPolicy>,
    /// `defaultVmSettings.restartPriority`.
    pub restart_priority: String,
    /// `defaultVmSettings.isolationResponse`.
    pub isolation_response: String,
}

impl Default for HaSettings {
    /// vCenter's defaults (HA off; once on: host monitoring on, admission control on for
    /// one host failure, restart priority medium).
    fn default() -> HaSettings {
        HaSettings {
            enabled: false,
            host_monitoring: true,
            vm_monitoring: "vmMonitoringDisabled".into(),
            failover_level: 1,
            admission_enabled: true,
            policy: None,
            restart_priority: "medium".into(),
            isolation_response: "none".into(),
        }
    }
}

/// A DRS per-VM override (`ClusterDrsVmConfigInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrsVmOverride {
    /// `enabled` (false: DRS leaves the VM alone).
    pub enabled: Option<bool>,
    /// `behavior`.
    pub behavior: Option<String>,
}

/// A cluster's HA and DRS settings with their per-VM overrides (keys: VM MoRef values).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterSettings {
    /// HA.
    pub ha: HaSettings,
    /// DRS.
    pub drs: DrsSettings,
    /// Per-VM HA restart priority.
    pub ha_vms: BTreeMap<String, String>,
    /// Per-VM DRS overrides.
    pub drs_vms: BTreeMap<String, DrsVmOverride>,
}

fn bad(field: &str) -> Fault {
    Fault::invalid_argument(field)
}

fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.field(name).and_then(Value::as_str).map(str::trim)
}

fn flag(v: &Value, name: &str, field: &str) -> Result<Option<bool>, Fault> {
    match v.field(name) {
        None => Ok(None),
        Some(x) => x.as_bool().map(Some).ok_or_else(|| bad(field)),
    }
}

fn int(v: &Value, name: &str, field: &str, range: (i64, i64)) -> Result<Option<i32>, Fault> {
    match v.field(name) {
        None => Ok(None),
        Some(x) => match x.as_i64() {
            Some(n) if (range.0..=range.1).contains(&n) => Ok(Some(n as i32)),
            _ => Err(bad(field)),
        },
    }
}

fn one_of(v: &Value, name: &str, field: &str, allowed: &[&str]) -> Result<Option<String>, Fault> {
    match text(v, name) {
        None => Ok(None),
        Some(t) if allowed.contains(&t) => Ok(Some(t.to_owned())),
        Some(_) => Err(bad(field)),
    }
}

fn policy_type(v: &Value) -> String {
    v.xsi_type()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Reads an `admissionControlPolicy`.
fn read_policy(v: &Value, field: &str) -> Result<HaPolicy, Fault> {
    let level = |name: &str| int(v, name, &format!("{field}.{name}"), (0, FAILOVER_LEVEL_MAX));
    let pct = |name: &str| int(v, name, &format!("{field}.{name}"), (0, 100));
    match policy_type(v).as_str() {
        "ClusterFailoverLevelAdmissionControlPolicy" => {
            let fixed_slot = match v.field("slotPolicy") {
                None => None,
                Some(s) => {
                    let f = format!("{field}.slotPolicy");
                    let cpu = int(s, "cpu", &format!("{f}.cpu"), (1, i64::from(i32::MAX)))?;
                    let mem = int(
                        s,
                        "memory",
                        &format!("{f}.memory"),
                        (1, i64::from(i32::MAX)),
                    )?;
                    Some((cpu.ok_or_else(|| bad(&f))?, mem.ok_or_else(|| bad(&f))?))
                }
            };
            Ok(HaPolicy::FailoverLevel {
                level: level("failoverLevel")?
                    .ok_or_else(|| bad(&format!("{field}.failoverLevel")))?,
                fixed_slot,
            })
        }
        "ClusterFailoverResourcesAdmissionControlPolicy" => Ok(HaPolicy::Resources {
            cpu_percent: pct("cpuFailoverResourcesPercent")?
                .ok_or_else(|| bad(&format!("{field}.cpuFailoverResourcesPercent")))?,
            mem_percent: pct("memoryFailoverResourcesPercent")?
                .ok_or_else(|| bad(&format!("{field}.memoryFailoverResourcesPercent")))?,
            level: level("failoverLevel")?,
            auto: flag(
                v,
                "autoComputePercentages",
                &format!("{field}.autoComputePercentages"),
            )?
            .unwrap_or(false),
        }),
        "ClusterFailoverHostAdmissionControlPolicy" => Ok(HaPolicy::FailoverHosts {
            hosts: v
                .field("failoverHosts")
                .map(|h| {
                    // One host is a single field; several are repeated fields.
                    let mut out: Vec<MoRef> = h
                        .items()
                        .iter()
                        .filter_map(Value::as_moref)
                        .cloned()
                        .collect();
                    if let Some(m) = h.as_moref() {
                        out.push(m.clone());
                    }
                    out
                })
                .unwrap_or_default(),
            level: level("failoverLevel")?,
        }),
        _ => Err(bad(field)),
    }
}

/// Applies a `ClusterDasConfigInfo` from a request onto `ha`.
fn apply_das(ha: &mut HaSettings, v: &Value, field: &str) -> Result<(), Fault> {
    let f = |n: &str| format!("{field}.{n}");
    if let Some(b) = flag(v, "enabled", &f("enabled"))? {
        ha.enabled = b;
    }
    if let Some(m) = one_of(
        v,
        "hostMonitoring",
        &f("hostMonitoring"),
        &["enabled", "disabled"],
    )? {
        ha.host_monitoring = m == "enabled";
    }
    if let Some(m) = one_of(v, "vmMonitoring", &f("vmMonitoring"), VM_MONITORING)? {
        ha.vm_monitoring = m;
    }
    if let Some(n) = int(
        v,
        "failoverLevel",
        &f("failoverLevel"),
        (0, FAILOVER_LEVEL_MAX),
    )? {
        ha.failover_level = n;
    }
    if let Some(b) = flag(v, "admissionControlEnabled", &f("admissionControlEnabled"))? {
        ha.admission_enabled = b;
    }
    if let Some(p) = v.field("admissionControlPolicy") {
        ha.policy = Some(read_policy(p, &f("admissionControlPolicy"))?);
    }
    if let Some(d) = v.field("defaultVmSettings") {
        let g = |n: &str| format!("{field}.defaultVmSettings.{n}");
        if let Some(p) = one_of(
            d,
            "restartPriority",
            &g("restartPriority"),
            RESTART_PRIORITIES,
        )? {
            if p == "clusterRestartPriority" {
                return Err(bad(&g("restartPriority")));
            }
            ha.restart_priority = p;
        }
        if let Some(r) = one_of(
            d,
            "isolationResponse",
            &g("isolationResponse"),
            ISOLATION_RESPONSES,
        )? {
            ha.isolation_response = r;
        }
    }
    Ok(())
}

/// Applies a `ClusterDrsConfigInfo` from a request onto `drs`.
fn apply_drs(drs: &mut DrsSettings, v: &Value, field: &str) -> Result<(), Fault> {
    let f = |n: &str| format!("{field}.{n}");
    if let Some(b) = flag(v, "enabled", &f("enabled"))? {
        drs.enabled = b;
    }
    if let Some(b) = flag(
        v,
        "enableVmBehaviorOverrides",
        &f("enableVmBehaviorOverrides"),
    )? {
        drs.vm_overrides = b;
    }
    if let Some(b) = one_of(
        v,
        "defaultVmBehavior",
        &f("defaultVmBehavior"),
        DRS_BEHAVIORS,
    )? {
        drs.behavior = b;
    }
    if let Some(n) = int(v, "vmotionRate", &f("vmotionRate"), (1, 5))? {
        drs.vmotion_rate = n;
    }
    Ok(())
}

/// The repeated fields `name` of a data object value.
fn repeated<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    let Some(d) = v.as_data() else {
        return Vec::new();
    };
    d.fields
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, x)| match x {
            Value::Array(a) => a.items.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect()
}

/// One `ArrayUpdateSpec` item: (operation, key VM) with its `info` when added or edited.
fn array_update<'a>(
    u: &'a Value,
    field: &str,
) -> Result<(&'a str, MoRef, Option<&'a Value>), Fault> {
    let op = text(u, "operation").ok_or_else(|| bad(&format!("{field}.operation")))?;
    let info = u.field("info");
    let key = match op {
        "remove" => u.field("removeKey").and_then(Value::as_moref).cloned(),
        "add" | "edit" => info
            .and_then(|i| i.field("key"))
            .and_then(Value::as_moref)
            .cloned(),
        _ => return Err(bad(&format!("{field}.operation"))),
    };
    let key = key.ok_or_else(|| bad(&format!("{field}.info.key")))?;
    Ok((op, key, info))
}

impl Emulator {
    /// The HA and DRS settings of a cluster (defaults for other compute resources).
    pub fn cluster_settings(&self, cluster: &MoRef) -> ClusterSettings {
        let mut s = ClusterSettings::default();
        let Some(cfg) = self.inv.prop(cluster, "configurationEx") else {
            return s;
        };
        if let Some(d) = cfg.field("dasConfig") {
            // What the emulator stored was checked when stored.
            let _ = apply_das(&mut s.ha, d, "dasConfig");
        }
        if let Some(d) = cfg.field("drsConfig") {
            let _ = apply_drs(&mut s.drs, d, "drsConfig");
        }
        for v in repeated(cfg, "dasVmConfig") {
            let key = v.field("key").and_then(Value::as_moref);
            let prio = v
                .field("dasSettings")
                .and_then(|d| text(d, "restartPriority"))
                .or_else(|| text(v, "restartPriority"));
            if let (Some(k), Some(p)) = (key, prio) {
                s.ha_vms.insert(k.value.clone(), p.to_owned());
            }
        }
        for v in repeated(cfg, "drsVmConfig") {
            if let Some(k) = v.field("key").and_then(Value::as_moref) {
                s.drs_vms.insert(
                    k.value.clone(),
                    DrsVmOverride {
                        enabled: v.field("enabled").and_then(Value::as_bool),
                        behavior: text(v, "behavior").map(str::to_owned),
                    },
                );
            }
        }
        s
    }

    /// Whether DRS would move `vm` by itself: DRS on, and the VM's automation level
    /// (its override when the cluster allows them, else the cluster's) fully automated.
    pub fn drs_moves(&self, cluster: &MoRef, vm: &MoRef) -> bool {
        let s = self.cluster_settings(cluster);
        if !s.drs.enabled {
            return false;
        }
        let o = s.drs_vms.get(&vm.value).filter(|_| s.drs.vm_overrides);
        if o.and_then(|o| o.enabled) == Some(false) {
            return false;
        }
        o.and_then(|o| o.behavior.as_deref())
            .unwrap_or(&s.drs.behavior)
            == "fullyAutomated"
    }

    /// Writes a cluster's settings into `configurationEx` and `configuration`.
    pub(super) fn store_cluster_settings(
        &mut self,
        cluster: &MoRef,
        s: &ClusterSettings,
    ) -> Result<(), Fault> {
        let das = das_value(&s.ha);
        let drs = drs_value(&s.drs);
        let das_vms: Vec<Value> = s
            .ha_vms
            .iter()
            .map(|(vm, p)| {
                let simple = ["disabled", "low", "medium", "high"].contains(&p.as_str());
                DataObject::new("ClusterDasVmConfigInfo")
                    .with(
                        "key",
                        Value::moref(&MoRef::new("VirtualMachine", vm.clone())),
                    )
                    .with_opt(
                        "restartPriority",
                        simple.then(|| Value::enumv("DasVmPriority", p.clone())),
                    )
                    .with(
                        "dasSettings",
                        DataObject::new("ClusterDasVmSettings")
                            .with("restartPriority", Value::str(p.clone()))
                            .into_value(),
                    )
                    .into_value()
            })
            .collect();
        let drs_vms: Vec<Value> = s
            .drs_vms
            .iter()
            .map(|(vm, o)| {
                DataObject::new("ClusterDrsVmConfigInfo")
                    .with(
                        "key",
                        Value::moref(&MoRef::new("VirtualMachine", vm.clone())),
                    )
                    .with_opt("enabled", o.enabled.map(Value::Bool))
                    .with_opt(
                        "behavior",
                        o.behavior.clone().map(|b| Value::enumv("DrsBehavior", b)),
                    )
                    .into_value()
            })
            .collect();
        let build = |ty: &'static str, old: Option<&Value>| {
            let mut d = DataObject::new(ty).with("dasConfig", das.clone());
            if !das_vms.is_empty() {
                d = d.with(
                    "dasVmConfig",
                    Value::array("ClusterDasVmConfigInfo", das_vms.clone()),
                );
            }
            d = d.with("drsConfig", drs.clone());
            if !drs_vms.is_empty() {
                d = d.with(
                    "drsVmConfig",
                    Value::array("ClusterDrsVmConfigInfo", drs_vms.clone()),
                );
            }
            // Keep what the emulator does not manage here (rules, groups, …), in order.
            if let Some(old) = old.and_then(Value::as_data) {
                for (n, v) in &old.fields {
                    if !matches!(
                        n.as_ref(),
                        "dasConfig" | "dasVmConfig" | "drsConfig" | "drsVmConfig"
                    ) {
                        d.fields.push((n.clone(), v.clone()));
                    }
                }
            }
            d.into_value()
        };
        let ex = build(
            "ClusterConfigInfoEx",
            self.inv.prop(cluster, "configurationEx"),
        );
        let legacy = build("ClusterConfigInfo", self.inv.prop(cluster, "configuration"));
        self.inv.update(cluster, |o| {
            o.props.insert("configurationEx".into(), ex);
            o.props.insert("configuration".into(), legacy);
        })
    }

    /// `ReconfigureComputeResource_Task(spec, modify)` / `ReconfigureCluster_Task(spec,
    /// modify)` on a cluster: the HA and DRS parts of `spec` (a `ClusterConfigSpecEx` or
    /// `ClusterConfigSpec`) become the cluster's configuration, with vCenter's events.
    /// On a standalone compute resource the spec is accepted and nothing changes.
    pub fn reconfigure_cluster(
        &mut self,
        user: &str,
        cluster: &MoRef,
        spec: &Value,
        modify: bool,
    ) -> Result<(), Fault> {
        self.inv.get(cluster)?;
        if cluster.ty != "ClusterComputeResource" {
            return Ok(());
        }
        let old = self.cluster_settings(cluster);
        let s = self.settings_from_spec(cluster, &old, spec, modify)?;
        // Rules first: a bad rule refuses the whole spec before anything is stored.
        let rules_before = self.inv.prop(cluster, "configurationEx").cloned();
        self.apply_rule_specs(cluster, spec, modify)?;
        if let Err(e) = self.store_cluster_settings(cluster, &s) {
            if let Some(cx) = rules_before {
                let _ = self.inv.update(cluster, |o| {
                    o.props.insert("configurationEx".into(), cx);
                });
            }
            return Err(e);
        }
        self.post_reconfigure_events(user, cluster, &old, &s);
        self.refresh_cluster(cluster);
        Ok(())
    }

    /// Gives a cluster just created by `CreateClusterEx` the HA and DRS settings of its
    /// spec (what the spec leaves out is off).
    pub fn configure_new_cluster(&mut self, cluster: &MoRef, spec: &Value) -> Result<(), Fault> {
        let s = self.settings_from_spec(cluster, &ClusterSettings::default(), spec, false)?;
        self.store_cluster_settings(cluster, &s)?;
        self.refresh_cluster(cluster);
        Ok(())
    }

    /// The settings a spec makes of `old` (`modify`) or of the defaults.
    fn settings_from_spec(
        &self,
        cluster: &MoRef,
        old: &ClusterSettings,
        spec: &Value,
        modify: bool,
    ) -> Result<ClusterSettings, Fault> {
        let mut s = if modify {
            old.clone()
        } else {
            ClusterSettings::default()
        };
        if let Some(d) = spec.field("dasConfig") {
            apply_das(&mut s.ha, d, "spec.dasConfig")?;
        }
        if let Some(d) = spec.field("drsConfig") {
            apply_drs(&mut s.drs, d, "spec.drsConfig")?;
        }
        let cluster_vms = self.cluster_vms(cluster);
        let das_updates = repeated(spec, "dasVmConfigSpec");
        let drs_updates = repeated(spec, "drsVmConfigSpec");
        if das_updates.len() > VM_OVERRIDES_MAX || drs_updates.len() > VM_OVERRIDES_MAX {
            return Err(bad("spec"));
        }
        for u in das_updates {
            let field = "spec.dasVmConfigSpec";
            let (op, key, info) = array_update(u, field)?;
            self.check_cluster_vm(&cluster_vms, &key, field)?;
            match op {
                "remove" => {
                    s.ha_vms
                        .remove(&key.value)
                        .ok_or_else(|| bad(&format!("{field}.removeKey")))?;
                }
                _ => {
                    if (op == "add") == s.ha_vms.contains_key(&key.value) {
                        return Err(bad(&format!("{field}.info.key")));
                    }
                    let info = info.ok_or_else(|| bad(&format!("{field}.info")))?;
                    let prio = match info.field("dasSettings") {
                        Some(d) => one_of(
                            d,
                            "restartPriority",
                            &format!("{field}.info.dasSettings.restartPriority"),
                            RESTART_PRIORITIES,
                        )?,
                        None => None,
                    };
                    let prio = match prio {
                        Some(p) => Some(p),
                        None => one_of(
                            info,
                            "restartPriority",
                            &format!("{field}.info.restartPriority"),
                            &["disabled", "low", "medium", "high"],
                        )?,
                    };
                    s.ha_vms.insert(
                        key.value.clone(),
                        prio.unwrap_or_else(|| "clusterRestartPriority".into()),
                    );
                }
            }
        }
        for u in drs_updates {
            let field = "spec.drsVmConfigSpec";
            let (op, key, info) = array_update(u, field)?;
            self.check_cluster_vm(&cluster_vms, &key, field)?;
            match op {
                "remove" => {
                    s.drs_vms
                        .remove(&key.value)
                        .ok_or_else(|| bad(&format!("{field}.removeKey")))?;
                }
                _ => {
                    if (op == "add") == s.drs_vms.contains_key(&key.value) {
                        return Err(bad(&format!("{field}.info.key")));
                    }
                    let info = info.ok_or_else(|| bad(&format!("{field}.info")))?;
                    s.drs_vms.insert(
                        key.value.clone(),
                        DrsVmOverride {
                            enabled: flag(info, "enabled", &format!("{field}.info.enabled"))?,
                            behavior: one_of(
                                info,
                                "behavior",
                                &format!("{field}.info.behavior"),
                                DRS_BEHAVIORS,
                            )?,
                        },
                    );
                }
            }
        }
        if s.ha_vms.len() > VM_OVERRIDES_MAX || s.drs_vms.len() > VM_OVERRIDES_MAX {
            return Err(bad("spec"));
        }
        if let Some(HaPolicy::FailoverHosts { hosts, .. }) = &s.ha.policy {
            let members = self.inv.refs(cluster, "host");
            if hosts.iter().any(|h| !members.contains(h)) {
                return Err(bad("spec.dasConfig.admissionControlPolicy.failoverHosts"));
            }
        }
        Ok(s)
    }

    fn post_reconfigure_events(
        &mut self,
        user: &str,
        cluster: &MoRef,
        old: &ClusterSettings,
        new: &ClusterSettings,
    ) {
        let name = self
            .inv
            .lookup(cluster)
            .map(|o| o.name().to_owned())
            .unwrap_or_default();
        let dc = self.cluster_dc_name(cluster);
        self.cluster_event(
            "ClusterReconfiguredEvent",
            user,
            cluster,
            format!("Reconfigured cluster {name} in datacenter {dc}"),
            Vec::new(),
        );
        match (old.ha.enabled, new.ha.enabled) {
            (false, true) => self.cluster_event(
                "DasEnabledEvent",
                user,
                cluster,
                format!("vSphere HA enabled on cluster {name} in {dc}"),
                Vec::new(),
            ),
            (true, false) => self.cluster_event(
                "DasDisabledEvent",
                user,
                cluster,
                format!("vSphere HA disabled on cluster {name} in {dc}"),
                Vec::new(),
            ),
            _ => {}
        }
        match (old.drs.enabled, new.drs.enabled) {
            (false, true) => {
                let behavior = new.drs.behavior.clone();
                self.cluster_event(
                    "DrsEnabledEvent",
                    user,
                    cluster,
                    format!("Enabled DRS on cluster {name} with automation level {behavior}"),
                    vec![("behavior", Value::str(behavior))],
                );
            }
            (true, false) => self.cluster_event(
                "DrsDisabledEvent",
                user,
                cluster,
                format!("Disabled DRS on cluster {name}"),
                Vec::new(),
            ),
            _ => {}
        }
    }

    /// The VMs of a cluster (those on its hosts and those in its pools), as MoRef values.
    fn cluster_vms(&self, cluster: &MoRef) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for h in self.inv.refs(cluster, "host") {
            out.extend(self.inv.refs(&h, "vm").into_iter().map(|v| v.value));
        }
        out
    }

    fn check_cluster_vm(
        &self,
        members: &std::collections::BTreeSet<String>,
        vm: &MoRef,
        field: &str,
    ) -> Result<(), Fault> {
        if vm.ty != "VirtualMachine" {
            return Err(bad(&format!("{field}.info.key")));
        }
        self.inv.get(vm)?;
        if members.contains(&vm.value) {
            Ok(())
        } else {
            Err(bad(&format!("{field}.info.key")))
        }
    }
}

fn policy_value(p: &HaPolicy) -> Value {
    match p {
        HaPolicy::FailoverLevel { level, fixed_slot } => {
            DataObject::new("ClusterFailoverLevelAdmissionControlPolicy")
                .with("failoverLevel", Value::Int(*level))
                .with_opt(
                    "slotPolicy",
                    fixed_slot.map(|(cpu, mem)| {
                        DataObject::new("ClusterFixedSizeSlotPolicy")
                            .with("cpu", Value::Int(cpu))
                            .with("memory", Value::Int(mem))
                            .into_value()
                    }),
                )
                .into_value()
        }
        HaPolicy::Resources {
            cpu_percent,
            mem_percent,
            level,
            auto,
        } => DataObject::new("ClusterFailoverResourcesAdmissionControlPolicy")
            .with("cpuFailoverResourcesPercent", Value::Int(*cpu_percent))
            .with("memoryFailoverResourcesPercent", Value::Int(*mem_percent))
            .with_opt("failoverLevel", level.map(Value::Int))
            .with("autoComputePercentages", Value::Bool(*auto))
            .into_value(),
        HaPolicy::FailoverHosts { hosts, level } => {
            DataObject::new("ClusterFailoverHostAdmissionControlPolicy")
                .with_opt(
                    "failoverHosts",
                    (!hosts.is_empty()).then(|| Value::morefs(hosts.iter())),
                )
                .with_opt("failoverLevel", level.map(Value::Int))
                .into_value()
        }
    }
}

fn das_value(ha: &HaSettings) -> Value {
    DataObject::new("ClusterDasConfigInfo")
        .with("enabled", Value::Bool(ha.enabled))
        .with("vmMonitoring", Value::str(ha.vm_monitoring.clone()))
        .with(
            "hostMonitoring",
            Value::str(if ha.host_monitoring {
                "enabled"
            } else {
                "disabled"
            }),
        )
        .with("failoverLevel", Value::Int(ha.failover_level))
        .with_opt(
            "admissionControlPolicy",
            ha.policy.as_ref().map(policy_value),
        )
        .with("admissionControlEnabled", Value::Bool(ha.admission_enabled))
        .with(
            "defaultVmSettings",
            DataObject::new("ClusterDasVmSettings")
                .with("restartPriority", Value::str(ha.restart_priority.clone()))
                .with(
                    "isolationResponse",
                    Value::str(ha.isolation_response.clone()),
                )
                .into_value(),
        )
        .into_value()
}

fn drs_value(drs: &DrsSettings) -> Value {
    DataObject::new("ClusterDrsConfigInfo")
        .with("enabled", Value::Bool(drs.enabled))
        .with("enableVmBehaviorOverrides", Value::Bool(drs.vm_overrides))
        .with(
            "defaultVmBehavior",
            Value::enumv("DrsBehavior", drs.behavior.clone()),
        )
        .with("vmotionRate", Value::Int(drs.vmotion_rate))
        .into_value()
}

#[cfg(test)]
#[path = "cluster_config_tests.rs"]
mod tests;
