//! `CheckServiceReady` (vic.md §6.1 step 6) and `ShowVCH` (§1.3).

use std::net::{IpAddr, SocketAddr};

use tokio::time::Instant;
use vcsim::vmodl::{MoRef, Value};

use super::dispatch::Deployed;
use super::params::CreateConfig;
use super::{Failure, Ui, api};
use crate::guestinfo::{STARTED_OK, vch};
use crate::tls;
use crate::vsphere::{Client, Error, option_value};

fn power_state(v: &std::collections::BTreeMap<String, Value>) -> Option<&str> {
    v.get("runtime.powerState").and_then(Value::as_str)
}

/// `CheckServiceReady` (vic.md §6.1 step 6): the client IP, the components' `started` keys,
/// then the Docker API's `/info`. Returns the client address.
///
/// Runs under create's one deadline: each wait gets the time left until `deadline`, and the
/// caller drops the whole check when it passes.
pub async fn check_ready(
    c: &Client,
    d: &Deployed,
    cfg: &CreateConfig,
    deadline: Instant,
    ui: &mut Ui,
) -> Result<IpAddr, Failure> {
    let left = || deadline.saturating_duration_since(Instant::now());
    let paths = ["config.extraConfig", "runtime.powerState"];
    ui.info("Waiting for IP information");
    let values = c
        .wait_for_properties(&d.vm, &paths, left(), |v| {
            power_state(v) == Some("poweredOff")
                || v.get("config.extraConfig")
                    .and_then(|ec| option_value(ec, vch::CLIENT_ASSIGNED_IP))
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
        })
        .await
        .map_err(|e| timeout_or(e, cfg))?;
    if power_state(&values) == Some("poweredOff") {
        return Err(Failure::new("container VM has unexpectedly powered off"));
    }
    let ip = values
        .get("config.extraConfig")
        .and_then(|ec| option_value(ec, vch::CLIENT_ASSIGNED_IP))
        .and_then(Value::as_str)
        .and_then(super::vchconfig::decode_assigned_ip)
        .ok_or_else(|| Failure::new("the appliance reported an unreadable client IP"))?;
    ui.info(format!("Obtained IP address for client interface: {ip:?}"));
    ui.info("Waiting for major appliance components to launch");
    let keys: Vec<String> = vch::COMPONENTS
        .iter()
        .map(|c| vch::session_started_key(c))
        .collect();
    let values = c
        .wait_for_properties(&d.vm, &paths, left(), |v| {
            power_state(v) == Some("poweredOff")
                || v.get("config.extraConfig").is_some_and(|ec| {
                    keys.iter().all(|k| {
                        option_value(ec, k)
                            .and_then(Value::as_str)
                            .is_some_and(|s| !s.is_empty())
                    })
                })
        })
        .await
        .map_err(|e| timeout_or(e, cfg))?;
    if power_state(&values) == Some("poweredOff") {
        return Err(Failure::new("container VM has unexpectedly powered off"));
    }
    let ec = values.get("config.extraConfig");
    for (comp, key) in vch::COMPONENTS.iter().zip(&keys) {
        let v = ec
            .and_then(|ec| option_value(ec, key))
            .and_then(Value::as_str)
            .unwrap_or("");
        if v != STARTED_OK {
            return Err(Failure::new(format!("Failed to start {comp}: {v}")));
        }
        ui.info(format!("Component {comp} started successfully"));
    }
    // VIC then runs `test-vc-api` in the guest (StartProgramInGuest); its failure only warns,
    // and the testbed's appliance has no such program, so the step is skipped.
    ui.info("Checking VCH connectivity with vSphere target");
    ui.info("Waiting for Docker API to become available");
    let port = cfg.tls.port;
    api::wait_ready(SocketAddr::new(ip, port), &cfg.tls, ui).await?;
    Ok(ip)
}

/// A wait that ran out of time is the create's deadline passing: VIC's time-limit message.
fn timeout_or(e: Error, cfg: &CreateConfig) -> Failure {
    match e {
        Error::Timeout { .. } => super::create::time_limit(cfg.timeout),
        e => Failure::new(e.to_string()),
    }
}

/// `ShowVCH` (vic.md §1.3): the connection block. `create` also writes the env file.
pub fn show_vch(
    ui: &mut Ui,
    vm: &MoRef,
    ip: IpAddr,
    m: &tls::TlsMaterial,
    bridge_range: (IpAddr, u8),
    bridge_width: u8,
    create: bool,
) -> Result<(), Failure> {
    ui.info("");
    ui.info(format!("VCH ID: {}", vm.value));
    // VIC prints `VCH Admin Portal: https://<host>:2378` here; the testbed runs no vicadmin,
    // so the line would point at nothing.
    ui.info(format!(
        "VCH Default Bridge Network Range: {}/{}",
        bridge_range.0, bridge_range.1
    ));
    ui.info(format!("VCH Default Bridge Network Width: {bridge_width}"));
    ui.info("");
    ui.info("Published ports can be reached at:");
    ui.info(ip.to_string());
    ui.info("");
    ui.info("Management traffic will use:");
    ui.info(ip.to_string());
    ui.info("");
    let connect = tls::docker_connect(m, &ip.to_string());
    for w in &connect.warnings {
        ui.warn(w);
    }
    ui.info("Docker environment variables:");
    ui.info(&connect.env);
    ui.info("");
    if create {
        match tls::write_env_file(m, &connect) {
            Ok(Some(path)) => {
                ui.info(format!("Environment saved in {}", path.display()));
                ui.info("");
            }
            Ok(None) => {}
            Err(e) => ui.warn(format!("Unable to save the environment: {e}")),
        }
    }
    ui.info("Connect to docker:");
    ui.info(&connect.command);
    Ok(())
}
