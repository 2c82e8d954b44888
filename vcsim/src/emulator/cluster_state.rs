//! What a cluster shows of its hosts' states: `summary` (effective hosts, CPU and memory,
//! HA's current failover level and admission-control info, vMotions) and `overallStatus`,
//! with vCenter's status events.
//!
//! Status, our reading of the vSphere Resource Management guide ("DRS cluster validity",
//! S61/S67/S68) and the Troubleshooting guide ("cluster is red because failover capacity is
//! violated"):
//! - **red** when the resource-pool tree is invalid (a pool's children reserve more than its
//!   fixed reservation or its limit) or, with vSphere HA and admission control on, the
//!   cluster no longer has the failover capacity its policy asks for;
//! - **yellow** (overcommitted) when the tree is consistent but the cluster's current
//!   capacity (available hosts only) is below what the root's children reserve — typically
//!   after a host failure;
//! - **green** otherwise.
//!
//! The colours apply to every cluster, with or without DRS [A: vCenter shows them for DRS
//! clusters, the only ones with resource pools there].

use super::Emulator;
use super::host_ops::hardware_of;
use super::host_state::ClusterStatus;
use crate::events::EventArgs;
use crate::inventory::{HostHardware, compute_summary};
use crate::vmodl::{DataObject, MoRef, Value};
use scheduler_model::Validity;

impl Emulator {
    /// A cluster event (datacenter and compute resource).
    pub(super) fn cluster_event(
        &mut self,
        ty: &'static str,
        user: &str,
        cluster: &MoRef,
        msg: String,
        extra: Vec<(&'static str, Value)>,
    ) {
        let name = |e: &Emulator, r: &MoRef| {
            (
                r.clone(),
                e.inv
                    .lookup(r)
                    .map(|o| o.name().to_owned())
                    .unwrap_or_default(),
            )
        };
        let args = EventArgs {
            datacenter: self.datacenter_of(cluster).map(|d| name(self, &d)),
            compute_resource: Some(name(self, cluster)),
            host: None,
            vm: None,
        };
        self.events
            .post(ty, self.clock.now_ms(), user, &args, msg, extra);
    }

    /// The name of the datacenter holding `r`.
    pub(super) fn cluster_dc_name(&self, r: &MoRef) -> String {
        self.dc_name(r)
    }

    /// The validity of the cluster's resource-pool tree in the model (valid when the
    /// cluster has no model twin yet).
    fn cluster_validity(&self, cluster: &MoRef) -> Validity {
        self.inv
            .prop(cluster, "resourcePool")
            .and_then(Value::as_moref)
            .and_then(|p| self.ids.pools.get(&p.value))
            .and_then(|id| self.world.root_validity(*id).ok())
            .unwrap_or(Validity::Valid)
    }

    /// Recomputes a cluster's `summary` and `overallStatus` from its hosts, its model tree
    /// and its HA settings, posting vCenter's events when the status changes. Writes only
    /// what changed (property collectors see no spurious updates).
    pub fn refresh_cluster(&mut self, cluster: &MoRef) {
        if cluster.ty != "ClusterComputeResource" || !self.inv.contains(cluster) {
            return;
        }
        let hosts = self.inv.refs(cluster, "host");
        let all: Vec<HostHardware> = hosts.iter().map(|h| hardware_of(self, h)).collect();
        let effective: Vec<HostHardware> = hosts
            .iter()
            .zip(&all)
            .filter(|(h, _)| self.host_is_effective(h))
            .map(|(_, hw)| hw.clone())
            .collect();
        let totals = compute_summary(&all, true);
        let eff = compute_summary(&effective, true);
        let settings = self.cluster_settings(cluster);
        let failover = self.cluster_failover(cluster);
        let validity = self.cluster_validity(cluster);
        let failover_ok = !settings.ha.admission_enabled || failover.as_ref().is_none_or(|f| f.ok);
        let overcommitted = validity == Validity::Overcommitted;
        let overall: &'static str = if validity == Validity::Invalid || !failover_ok {
            "red"
        } else if overcommitted {
            "yellow"
        } else {
            "green"
        };
        let vmotions = self
            .host_states
            .vmotions
            .get(&cluster.value)
            .copied()
            .unwrap_or(0);
        let mut summary = DataObject::new("ClusterComputeResourceSummary");
        for (name, v) in totals
            .as_data()
            .map(|d| d.fields.clone())
            .unwrap_or_default()
        {
            let v = match name.as_ref() {
                "effectiveCpu" | "effectiveMemory" | "numEffectiveHosts" => {
                    eff.field(&name).cloned().unwrap_or(v)
                }
                "overallStatus" => Value::enumv("ManagedEntityStatus", overall),
                "currentFailoverLevel" => {
                    Value::Int(failover.as_ref().map_or(0, |f| f.current_level))
                }
                "numVmotions" => Value::Int(vmotions),
                _ => v,
            };
            let after_level = name == "currentFailoverLevel";
            summary.fields.push((name, v));
            if after_level && let Some(info) = failover.as_ref().and_then(|f| f.info.clone()) {
                summary.fields.push(("admissionControlInfo".into(), info));
            }
        }
        let summary = summary.into_value();
        let status = Value::enumv("ManagedEntityStatus", overall);
        let changed = self.inv.prop(cluster, "summary") != Some(&summary)
            || self.inv.prop(cluster, "overallStatus") != Some(&status);
        if changed {
            let _ = self.inv.update_leaf(cluster, |o| {
                o.props.insert("summary".into(), summary);
                o.props.insert("overallStatus".into(), status);
            });
        }
        let now = ClusterStatus {
            overall,
            overcommitted,
            failover_ok,
        };
        let before = self
            .host_states
            .status
            .insert(cluster.value.clone(), now)
            .unwrap_or(ClusterStatus {
                overall: "green",
                overcommitted: false,
                failover_ok: true,
            });
        self.post_status_events(cluster, before, now);
    }

    fn post_status_events(&mut self, cluster: &MoRef, before: ClusterStatus, now: ClusterStatus) {
        if before == now {
            return;
        }
        let name = self
            .inv
            .lookup(cluster)
            .map(|o| o.name().to_owned())
            .unwrap_or_default();
        let dc = self.cluster_dc_name(cluster);
        if now.overcommitted && !before.overcommitted {
            self.cluster_event(
                "ClusterOvercommittedEvent",
                "",
                cluster,
                format!("Insufficient capacity in cluster {name} to satisfy resource configuration in {dc}"),
                Vec::new(),
            );
        }
        if !now.failover_ok && before.failover_ok {
            self.cluster_event(
                "InsufficientFailoverResourcesEvent",
                "",
                cluster,
                format!("Insufficient resources to satisfy vSphere HA failover level on cluster {name} in {dc}"),
                Vec::new(),
            );
        }
        if now.failover_ok && !before.failover_ok {
            self.cluster_event(
                "FailoverLevelRestored",
                "",
                cluster,
                format!("Sufficient resources are available to satisfy vSphere HA failover level in cluster {name} in {dc}"),
                Vec::new(),
            );
        }
        if now.overall != before.overall {
            self.cluster_event(
                "ClusterStatusChangedEvent",
                "",
                cluster,
                format!(
                    "Configuration status on cluster {name} changed from {} to {} in {dc}",
                    before.overall, now.overall
                ),
                vec![
                    ("oldStatus", Value::str(before.overall)),
                    ("newStatus", Value::str(now.overall)),
                ],
            );
        }
    }
}
