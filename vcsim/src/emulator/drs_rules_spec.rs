//! DRS rules and groups written by `ReconfigureComputeResource_Task` / `ReconfigureCluster_Task`:
//! `ClusterConfigSpecEx.rulesSpec` (`ClusterRuleSpec`: add, edit or remove a
//! `ClusterAffinityRuleSpec`, `ClusterAntiAffinityRuleSpec` or `ClusterVmHostRuleInfo`) and
//! `groupSpec` (`ClusterGroupSpec`: a `ClusterVmGroup` or `ClusterHostGroup`), kept in
//! `configurationEx.rule` and `.group`, where DRS's placement and balancing read them
//! (`Emulator::drs_rules`). The whole spec is checked before anything changes.

use super::Emulator;
use crate::vmodl::{Fault, MoRef, Value};

/// Most rules, and most groups, a cluster keeps.
pub const RULES_MAX: usize = 1024;

fn op(spec: &Value) -> Option<&str> {
    spec.field("operation").and_then(Value::as_str)
}

fn items(v: Option<&Value>) -> Vec<Value> {
    v.map(|x| x.items().to_vec()).unwrap_or_default()
}

/// Every value of field `name`: a request repeats an array's element (`<rulesSpec>` twice),
/// a stored object holds an array.
fn all(v: &Value, name: &str) -> Vec<Value> {
    let Some(d) = v.as_data() else {
        return Vec::new();
    };
    d.fields
        .iter()
        .filter(|(n, _)| n.as_ref() == name)
        .flat_map(|(_, x)| match x {
            Value::Array(_) => x.items().to_vec(),
            Value::Any(inner) if matches!(**inner, Value::Array(_)) => inner.items().to_vec(),
            other => vec![other.clone()],
        })
        .collect()
}

/// `info` with its repeated `vm`/`host` elements gathered into one array each, as stored
/// objects hold them (and DRS reads them).
fn normalized(info: &Value) -> Value {
    let mut out = info.clone();
    let Some(d) = out.as_data_mut() else {
        return out;
    };
    for (name, item) in [
        ("vm", "ManagedObjectReference"),
        ("host", "ManagedObjectReference"),
    ] {
        let list = all(info, name);
        if list.is_empty() {
            continue;
        }
        let at = d.fields.iter().position(|(n, _)| n.as_ref() == name);
        d.fields.retain(|(n, _)| n.as_ref() != name);
        let entry = (name.into(), Value::array(item, list));
        match at {
            Some(i) => d.fields.insert(i.min(d.fields.len()), entry),
            None => d.fields.push(entry),
        }
    }
    out
}

impl Emulator {
    /// Applies a cluster spec's `rulesSpec` and `groupSpec` (a spec without them leaves the
    /// rules as they are when `modify`, and clears them otherwise, as the spec replaces the
    /// configuration).
    pub(super) fn apply_rule_specs(
        &mut self,
        cluster: &MoRef,
        spec: &Value,
        modify: bool,
    ) -> Result<(), Fault> {
        let cfg = self.inv.prop(cluster, "configurationEx");
        let (mut rules, mut groups) = if modify {
            (
                items(cfg.and_then(|c| c.field("rule"))),
                items(cfg.and_then(|c| c.field("group"))),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let cluster_hosts = self.inv.refs(cluster, "host");
        for g in all(spec, "groupSpec") {
            self.apply_group(&mut groups, &g, &cluster_hosts)?;
        }
        for r in all(spec, "rulesSpec") {
            self.apply_rule(&mut rules, &r)?;
        }
        if rules.len() > RULES_MAX || groups.len() > RULES_MAX {
            return Err(Fault::invalid_argument("spec.rulesSpec"));
        }
        self.inv.update(cluster, |o| {
            if let Some(cx) = o
                .props
                .get_mut("configurationEx")
                .and_then(Value::as_data_mut)
            {
                cx.set("rule", Value::array("ClusterRuleInfo", rules));
                cx.set("group", Value::array("ClusterGroupInfo", groups));
            }
        })
    }

    fn apply_group(
        &self,
        groups: &mut Vec<Value>,
        g: &Value,
        cluster_hosts: &[MoRef],
    ) -> Result<(), Fault> {
        let bad = || Fault::invalid_argument("spec.groupSpec");
        let name_of = |v: &Value| v.field("name").and_then(Value::as_str).map(str::to_owned);
        match op(g) {
            Some("remove") => {
                let key = g
                    .field("removeKey")
                    .and_then(Value::as_str)
                    .ok_or_else(bad)?;
                let before = groups.len();
                groups.retain(|x| name_of(x).as_deref() != Some(key));
                if groups.len() == before {
                    return Err(bad());
                }
            }
            Some(o @ ("add" | "edit")) => {
                let info = normalized(g.field("info").ok_or_else(bad)?);
                let info = &info;
                let name = name_of(info).filter(|n| !n.is_empty()).ok_or_else(bad)?;
                for m in all(info, "vm") {
                    let m = m.as_moref().ok_or_else(bad)?;
                    if m.ty != "VirtualMachine" || !self.inv.contains(m) {
                        return Err(bad());
                    }
                }
                for h in all(info, "host") {
                    if !h.as_moref().is_some_and(|h| cluster_hosts.contains(h)) {
                        return Err(bad());
                    }
                }
                let at = groups
                    .iter()
                    .position(|x| name_of(x).as_deref() == Some(&name));
                match (o, at) {
                    ("add", None) => groups.push(info.clone()),
                    ("edit", Some(i)) => groups[i] = info.clone(),
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    fn apply_rule(&self, rules: &mut Vec<Value>, r: &Value) -> Result<(), Fault> {
        let bad = || Fault::invalid_argument("spec.rulesSpec");
        let key_of = |v: &Value| v.field("key").and_then(Value::as_i64);
        match op(r) {
            Some("remove") => {
                let key = r
                    .field("removeKey")
                    .and_then(Value::as_i64)
                    .ok_or_else(bad)?;
                let before = rules.len();
                rules.retain(|x| key_of(x) != Some(key));
                if rules.len() == before {
                    return Err(bad());
                }
            }
            Some(o @ ("add" | "edit")) => {
                let mut info = normalized(r.field("info").ok_or_else(bad)?);
                for m in all(&info, "vm") {
                    let m = m.as_moref().ok_or_else(bad)?;
                    if m.ty != "VirtualMachine" || !self.inv.contains(m) {
                        return Err(bad());
                    }
                }
                match o {
                    "add" => {
                        // vCenter assigns the key of a new rule.
                        let next = rules.iter().filter_map(key_of).max().unwrap_or(0) + 1;
                        let d = info.as_data_mut().ok_or_else(bad)?;
                        d.set("key", Value::Int(i32::try_from(next).map_err(|_| bad())?));
                        if d.get("enabled").is_none() {
                            d.set("enabled", Value::Bool(true));
                        }
                        rules.push(info);
                    }
                    _ => {
                        let key = key_of(&info).ok_or_else(bad)?;
                        let i = rules
                            .iter()
                            .position(|x| key_of(x) == Some(key))
                            .ok_or_else(bad)?;
                        rules[i] = info;
                    }
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }
}
