//! vSphere DRS load balancing in the emulator: every [`DRS_PERIOD_MS`] of virtual time each
//! DRS-enabled cluster is balanced by `scheduler_model::drs` (normalized entitlement,
//! `scheduler-model/MODEL.md` §11). Moves of VMs whose automation level is fully automated
//! run at once — a system task (`RelocateVM_Task`, `Drm.ExecuteVMotionLRO`) and a
//! `DrsVmMigratedEvent` each, the model and the inventory (`runtime.host`, the hosts' `vm`)
//! following; the others become the cluster's `recommendation` (`ClusterRecommendation`
//! with a `ClusterMigrationAction`), replaced at every pass.
//!
//! VM-VM affinity / anti-affinity and VM-Host rules are read from the cluster's
//! `configurationEx.rule` and `configurationEx.group` (enabled rules only).

use super::Emulator;
use crate::tasks::TaskStart;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use scheduler_model::drs::{self, DrsBalance, DrsCluster, DrsMove, DrsRules, VmHostRule};
use scheduler_model::{HostId, PoolId, VmId};
use std::collections::{BTreeMap, BTreeSet};

/// How often DRS balances a cluster (vCenter's DRS invocation period, 5 minutes).
pub const DRS_PERIOD_MS: i64 = 300_000;

/// What one balancing pass of a cluster did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrsPass {
    /// The algorithm's outcome (every planned move, its imbalances and target).
    pub balance: DrsBalance,
    /// Moves made (fully automated VMs), with their tasks.
    pub applied: Vec<(DrsMove, MoRef)>,
    /// Moves left as recommendations.
    pub recommended: Vec<DrsMove>,
}

/// A cluster as DRS sees it, with the inventory names of its model objects.
pub(super) struct DrsView {
    pub root: PoolId,
    pub cluster: DrsCluster,
    pub rules: DrsRules,
    pub hosts: BTreeMap<HostId, MoRef>,
}

fn rule_vms(emu: &Emulator, v: &Value) -> Vec<VmId> {
    v.field("vm")
        .map(|x| {
            x.items()
                .iter()
                .filter_map(Value::as_moref)
                .filter_map(|m| emu.ids.vms.get(&m.value).copied())
                .collect()
        })
        .unwrap_or_default()
}

fn type_name(v: &Value) -> String {
    v.xsi_type()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Emulator {
    /// The model root pool of a cluster.
    pub(super) fn cluster_root(&self, cluster: &MoRef) -> Option<PoolId> {
        self.inv
            .prop(cluster, "resourcePool")
            .and_then(Value::as_moref)
            .and_then(|p| self.ids.pools.get(&p.value))
            .copied()
    }

    /// The enabled DRS rules of a cluster (`configurationEx.rule`, groups from
    /// `configurationEx.group`), as model ids.
    pub fn drs_rules(&self, cluster: &MoRef) -> DrsRules {
        let mut out = DrsRules::default();
        let Some(cfg) = self.inv.prop(cluster, "configurationEx") else {
            return out;
        };
        let mut vm_groups: BTreeMap<String, Vec<VmId>> = BTreeMap::new();
        let mut host_groups: BTreeMap<String, Vec<HostId>> = BTreeMap::new();
        for g in cfg.field("group").map(Value::items).unwrap_or_default() {
            let Some(name) = g.field("name").and_then(Value::as_str) else {
                continue;
            };
            match type_name(g).as_str() {
                "ClusterVmGroup" => {
                    vm_groups.insert(name.to_owned(), rule_vms(self, g));
                }
                "ClusterHostGroup" => {
                    let hosts = g
                        .field("host")
                        .map(|x| {
                            x.items()
                                .iter()
                                .filter_map(Value::as_moref)
                                .filter_map(|m| self.ids.hosts.get(&m.value).copied())
                                .collect()
                        })
                        .unwrap_or_default();
                    host_groups.insert(name.to_owned(), hosts);
                }
                _ => {}
            }
        }
        for r in cfg.field("rule").map(Value::items).unwrap_or_default() {
            if r.field("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            match type_name(r).as_str() {
                "ClusterAffinityRuleSpec" => out.together.push(rule_vms(self, r)),
                "ClusterAntiAffinityRuleSpec" => out.apart.push(rule_vms(self, r)),
                "ClusterVmHostRuleInfo" => {
                    let group = |f: &str| r.field(f).and_then(Value::as_str);
                    let Some(vms) = group("vmGroupName").and_then(|g| vm_groups.get(g)) else {
                        continue;
                    };
                    let (name, affine) = match (
                        group("affineHostGroupName"),
                        group("antiAffineHostGroupName"),
                    ) {
                        (Some(g), _) => (g, true),
                        (None, Some(g)) => (g, false),
                        (None, None) => continue,
                    };
                    out.vm_host.push(VmHostRule {
                        vms: vms.clone(),
                        hosts: host_groups.get(name).cloned().unwrap_or_default(),
                        affine,
                    });
                }
                _ => {}
            }
        }
        out
    }

    /// DRS's view of a cluster: the model's snapshot, hosts that take no VM now (entering
    /// maintenance mode, disconnected, down) marked so, VMs whose DRS override disables
    /// DRS left where they are.
    pub(super) fn drs_view(&self, cluster: &MoRef) -> Option<DrsView> {
        let root = self.cluster_root(cluster)?;
        let mut c = self.world.drs_cluster(root);
        let members: BTreeSet<HostId> = c.hosts.iter().map(|h| h.id).collect();
        let hosts: BTreeMap<HostId, MoRef> = self
            .ids
            .hosts
            .iter()
            .filter(|(_, id)| members.contains(id))
            .map(|(v, id)| (*id, MoRef::new("HostSystem", v.clone())))
            .collect();
        for h in &mut c.hosts {
            h.admits &= hosts.get(&h.id).is_some_and(|m| self.host_accepts_vms(m));
        }
        let s = self.cluster_settings(cluster);
        if s.drs.vm_overrides {
            let pinned: BTreeSet<VmId> = s
                .drs_vms
                .iter()
                .filter(|(_, o)| o.enabled == Some(false))
                .filter_map(|(vm, _)| self.ids.vms.get(vm).copied())
                .collect();
            for v in &mut c.vms {
                v.movable = !pinned.contains(&v.id);
            }
        }
        Some(DrsView {
            root,
            cluster: c,
            rules: self.drs_rules(cluster),
            hosts,
        })
    }

    /// The imbalance of a cluster now ("current host load standard deviation"); `None`
    /// for a cluster without a model twin.
    pub fn drs_imbalance(&self, cluster: &MoRef) -> Option<f64> {
        self.drs_view(cluster).map(|v| drs::imbalance(&v.cluster))
    }

    /// Runs DRS where it is due: once every [`DRS_PERIOD_MS`] of virtual time (at each
    /// multiple of the period), for each cluster with DRS enabled. Call once per realtime
    /// interval, after the model step.
    pub fn drs_on_interval(&mut self) {
        let now = self.clock.now_ms();
        let prev = now - crate::clock::REALTIME_INTERVAL_S * 1000;
        if now.div_euclid(DRS_PERIOD_MS) == prev.div_euclid(DRS_PERIOD_MS) {
            return;
        }
        let clusters: Vec<MoRef> = self.inv.of_type("ClusterComputeResource");
        for c in clusters {
            if self.cluster_settings(&c).drs.enabled {
                let _ = self.drs_balance_cluster(&c);
            }
        }
    }

    /// One DRS pass over a cluster, now: fully automated VMs move, the other moves become
    /// the cluster's `recommendation`. A cluster without DRS gets an empty pass.
    pub fn drs_balance_cluster(&mut self, cluster: &MoRef) -> Result<DrsPass, Fault> {
        self.inv.get(cluster)?;
        let settings = self.cluster_settings(cluster);
        let mut pass = DrsPass::default();
        if !settings.drs.enabled {
            return Ok(pass);
        }
        let Some(view) = self.drs_view(cluster) else {
            return Ok(pass);
        };
        pass.balance = drs::balance(&view.cluster, &view.rules, settings.drs.vmotion_rate);
        let vm_refs: BTreeMap<VmId, MoRef> = if pass.balance.moves.is_empty() {
            BTreeMap::new()
        } else {
            let wanted: BTreeSet<VmId> = pass.balance.moves.iter().map(|m| m.vm).collect();
            self.ids
                .vms
                .iter()
                .filter(|(_, id)| wanted.contains(id))
                .map(|(v, id)| (*id, MoRef::new("VirtualMachine", v.clone())))
                .collect()
        };
        let mut recs = Vec::new();
        for m in pass.balance.moves.clone() {
            let (Some(vm), Some(from), Some(to)) = (
                vm_refs.get(&m.vm),
                view.hosts.get(&m.from),
                view.hosts.get(&m.to),
            ) else {
                continue;
            };
            if self.drs_moves(cluster, vm) {
                if let Ok(task) = self.drs_vmotion(vm, to) {
                    pass.applied.push((m, task));
                }
            } else {
                recs.push(self.recommendation_value(recs.len() + 1, &m, vm, from, to));
                pass.recommended.push(m);
            }
        }
        self.inv.set(
            cluster,
            "recommendation",
            Value::array("ClusterRecommendation", recs),
        )?;
        if !pass.applied.is_empty() {
            self.refresh_cluster(cluster);
        }
        Ok(pass)
    }

    /// A DRS-initiated vMotion: a system task on the VM (vCenter's
    /// `Drm.ExecuteVMotionLRO`), the move itself with its `DrsVmMigratedEvent`.
    fn drs_vmotion(&mut self, vm: &MoRef, target: &MoRef) -> Result<MoRef, Fault> {
        let name = self.inv.get(vm)?.name().to_owned();
        let now = self.clock.now_ms();
        let start = TaskStart {
            method: "RelocateVM_Task",
            on_type: "VirtualMachine",
            entity: Some((vm.clone(), name)),
            user: "",
            now_ms: now,
        };
        let esx = self.flavor == crate::config::Flavor::HostAgent;
        let task = self.tasks.start(&mut self.inv, &start, esx);
        self.inv.update(&task, |o| {
            if let Some(info) = o.props.get_mut("info").and_then(Value::as_data_mut) {
                info.set("descriptionId", Value::str("Drm.ExecuteVMotionLRO"));
                info.set("reason", DataObject::new("TaskReasonSystem").into_value());
            }
        })?;
        self.tasks.run(&mut self.inv, &task, now);
        let outcome = self.drs_migrate("", vm, target);
        self.tasks
            .finish(&mut self.inv, &task, now, &outcome.clone().map(|()| None));
        outcome.map(|()| task)
    }

    fn recommendation_value(
        &self,
        key: usize,
        m: &DrsMove,
        vm: &MoRef,
        from: &MoRef,
        to: &MoRef,
    ) -> Value {
        let now = self.clock.now_ms();
        let text = match m.reason {
            "fairnessCpuAvg" => "Balance average CPU loads.",
            "fairnessMemAvg" => "Balance average memory loads.",
            "jointAffin" => "Keep virtual machines together.",
            "antiAffin" => "Keep virtual machines apart.",
            _ => "Satisfy a VM/Host affinity rule.",
        };
        let migration = DataObject::new("ClusterDrsMigration")
            .with("key", Value::str(key.to_string()))
            .with("time", Value::DateTime(now))
            .with("vm", Value::moref(vm))
            .with("source", Value::moref(from))
            .with("destination", Value::moref(to))
            .into_value();
        let action = DataObject::new("ClusterMigrationAction")
            .with("type", Value::str("MigrationV1"))
            .with("target", Value::moref(vm))
            .with("drsMigration", migration)
            .into_value();
        DataObject::new("ClusterRecommendation")
            .with("key", Value::str(key.to_string()))
            .with("type", Value::str("V1"))
            .with("time", Value::DateTime(now))
            .with("rating", Value::Int(i32::from(m.rating)))
            .with("reason", Value::str(m.reason))
            .with("reasonText", Value::str(text))
            .with("action", Value::array("ClusterAction", vec![action]))
            .into_value()
    }
}
