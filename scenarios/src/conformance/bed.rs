//! The real path shared by the suites: a [`Testbed`] (the in-process emulator with the VIC
//! agents; its tether tells the rules it applied to each containerVM), VCHs from
//! `vic-machine create --no-tls`, their Docker endpoints, and containerVMs found over SOAP.

use std::sync::Arc;

use vcsim::vmodl::{DataObject, MoRef, Value};
use vic::firewall::RuleSet;
use vic::tether::TetherAgent;
use vic::vsphere::{Client, option_value};

use crate::docker::Docker;
use crate::testbed::{Testbed, TestbedConfig};

/// The distributed switch of the default inventory's `DC0`.
const DVS_PATH: &str = "DC0/network/DVS0";

/// A testbed with a readable tether and a SOAP client.
pub(crate) struct Bed {
    tb: Testbed,
    tether: Arc<TetherAgent>,
    client: Client,
}

/// A VCH the suite created.
pub(crate) struct BedVch {
    /// Its Docker endpoint.
    pub docker: Docker,
}

impl Bed {
    /// Starts the emulator with the default inventory.
    pub async fn start() -> Result<Bed, String> {
        let tb = Testbed::start(TestbedConfig::default())
            .await
            .map_err(|e| format!("testbed: {e}"))?;
        let tether = tb.agents().tether.clone();
        let client = tb
            .client()
            .await
            .map_err(|e| format!("connecting to the emulator: {e}"))?;
        Ok(Bed { tb, tether, client })
    }

    /// Adds distributed port groups (what an administrator prepares for container networks)
    /// with `AddDVPortgroup_Task` on `DC0`'s switch.
    pub async fn add_portgroups(&self, names: &[String]) -> Result<(), String> {
        let dvs = self
            .client
            .find_by_inventory_path(DVS_PATH)
            .await
            .map_err(|e| format!("finding {DVS_PATH}: {e}"))?
            .ok_or_else(|| format!("{DVS_PATH} not found"))?;
        let specs = names
            .iter()
            .map(|n| {
                DataObject::new("DVPortgroupConfigSpec")
                    .with("name", Value::str(n.clone()))
                    .with("numPorts", Value::Int(32))
                    .with("type", Value::str("earlyBinding"))
                    .into_value()
            })
            .collect();
        self.client
            .run_task(
                "AddDVPortgroup_Task",
                &dvs,
                &[("spec", Value::array("DVPortgroupConfigSpec", specs))],
            )
            .await
            .map_err(|e| format!("AddDVPortgroup_Task: {e}"))?;
        Ok(())
    }

    /// `vic-machine create --name NAME --compute-resource DC0_C0 --bridge-network DC0_DVPG0
    /// --no-tls EXTRA…` and its Docker endpoint.
    pub async fn create_vch(&self, name: &str, extra: &[String]) -> Result<BedVch, String> {
        let mut args: Vec<String> = [
            "--name",
            name,
            "--compute-resource",
            "DC0_C0",
            "--bridge-network",
            "DC0_DVPG0",
            "--no-tls",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend_from_slice(extra);
        let handle = self.tb.create_vch(&args).await.map_err(|e| e.to_string())?;
        let docker = Docker::from_args(&handle.docker_args)?;
        Ok(BedVch { docker })
    }

    /// `vic-machine create ARGS…` expected to fail: the failure line and every issue logged
    /// between vic-machine's `----` rules; `Ok(None)` when it succeeded.
    pub async fn create_failing(&self, args: &[String]) -> Option<(String, Vec<String>)> {
        let (lines, result) = self.tb.vic_machine("create", args).await;
        let failure = result.err()?;
        Some((failure.message, issues(&lines)))
    }

    /// The containerVM of container `id` (by its `guestinfo.vice./common/id` key) and its
    /// display name.
    pub async fn vm_of(&self, id: &str) -> Result<(MoRef, String), String> {
        let root = self.client.service_content().root_folder.clone();
        let found = self
            .client
            .view_contents(
                &root,
                &["VirtualMachine"],
                true,
                &["name", "config.extraConfig"],
            )
            .await
            .map_err(|e| format!("listing VMs: {e}"))?;
        found
            .iter()
            .find(|o| {
                o.get("config.extraConfig")
                    .and_then(|x| option_value(x, vic::guestinfo::container::ID))
                    .and_then(Value::as_str)
                    == Some(id)
            })
            .map(|o| (o.obj.clone(), o.text("name").unwrap_or("").to_owned()))
            .ok_or_else(|| format!("no containerVM carries id {id}"))
    }

    /// A VM's display name, read over SOAP.
    pub async fn vm_name(&self, vm: &MoRef) -> Result<String, String> {
        let found = self
            .client
            .view_contents(
                &self.client.service_content().root_folder.clone(),
                &["VirtualMachine"],
                true,
                &["name"],
            )
            .await
            .map_err(|e| format!("listing VMs: {e}"))?;
        found
            .iter()
            .find(|o| &o.obj == vm)
            .and_then(|o| o.text("name"))
            .map(str::to_owned)
            .ok_or_else(|| format!("{vm} not found"))
    }

    /// The rule set the tether applied in `vm` (while it runs).
    pub fn rules_of(&self, vm: &MoRef) -> Option<RuleSet> {
        self.tether.rules_of(vm)
    }

    /// Stops the testbed.
    pub async fn shutdown(self) {
        self.tb.shutdown().await;
    }
}

/// vic-machine's captured line without the `LEVEL[secs] ` prefix.
fn strip_log(line: &str) -> &str {
    match line.split_once("] ") {
        Some((head, rest)) if head.len() <= 16 && head.contains('[') => rest.trim(),
        _ => line.trim(),
    }
}

/// The lines between the first two `----…` rules (vic-machine's list of validation issues).
fn issues(lines: &[String]) -> Vec<String> {
    let stripped: Vec<&str> = lines.iter().map(|l| strip_log(l)).collect();
    let rule = |l: &&str| l.len() >= 4 && l.chars().all(|c| c == '-');
    let Some(start) = stripped.iter().position(rule) else {
        return Vec::new();
    };
    stripped[start + 1..]
        .iter()
        .take_while(|l| !rule(l))
        .map(|l| (*l).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_are_read_between_rules() {
        let lines: Vec<String> = [
            "INFO[0000] ### Installing VCH ####",
            "ERROR[0000] --------------------",
            "ERROR[0000] Container name convention must include {id} or {name} token",
            "ERROR[0000] --------------------",
            "ERROR[0000] Create cannot continue: configuration validation failed",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            issues(&lines),
            ["Container name convention must include {id} or {name} token"]
        );
        assert!(issues(&lines[..1]).is_empty());
    }
}
