//! The containerVM tether as a vcsim guest agent (vic.md §7.3 step 6, §3.3).
//!
//! It claims VMs whose extraConfig carries the container keys (`guestinfo.vice./common/id`
//! and a `version/*` key, whose presence marks a containerVM, vic.md §6.4). At power-on it
//! does what VIC's tether does after the bootstrap: reads the primary session (`cmd/Path`,
//! `cmd/Args~`, `tty`, `openstdin`), configures each endpoint (the static address the port
//! layer bound, or one "from DHCP"), writes the `assigned` keys, builds the firewall rule set
//! for the endpoint's trust level, launches the process (here: plans it with
//! [`crate::workload::plan`]) and writes `sessions|<id>.started = true` (or the error text)
//! and `detail.starttime`. When the planned process ends by itself (a stress `--timeout`, a
//! shell without stdin), it writes `status` and `detail.stoptime` and the VM powers off, as a
//! containerVM does when its process exits.
//!
//! Logs: the engine derives `docker logs` from the same plan (image + command + the state the
//! tether wrote), so the tether writes no log keys. VIC's real path is `output.log` on the
//! datastore; a guestinfo log key would be a testbed invention visible to every SOAP client,
//! and deriving lines from the plan is deterministic and needs nothing new on the wire.
//!
//! A dynamic endpoint (a container network with neither gateway nor range) gets an address
//! "from DHCP": deterministically `10.<net>.<vm>` style, derived from the network name and
//! the VM's MoRef, in 10.0.0.0/8 (the emulator runs no DHCP server).

use crate::firewall::{self, Endpoint, IpRange, PortMapping, RuleSet, ScopeKind, TrustLevel};
use crate::guestinfo::{self, Keys, container as ck};
use crate::workload;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use vcsim::guest::{GuestAgent, GuestEffects, GuestEvent, GuestHandle, GuestView, WORKLOAD_KEY};
use vcsim::vmodl::MoRef;

/// The error text when the session has no program (VIC's personality rejects this earlier
/// with `No command specified`; the tether's own check is a launch error).
pub const NO_PROGRAM: &str = "exec: no command";

/// What the tether keeps per running containerVM.
#[derive(Clone, Debug)]
struct Session {
    id: String,
    start_ms: i64,
    exits_after_s: Option<u64>,
    exit_code: i32,
    exited: bool,
    rules: Option<RuleSet>,
}

/// The containerVM tether: one agent serves every containerVM of the emulator.
#[derive(Debug, Default)]
pub struct TetherAgent {
    /// Running sessions by VM MoRef value; entries go on power-off, so this is bounded by the
    /// powered-on containerVMs.
    sessions: Mutex<BTreeMap<String, Session>>,
}

/// Whether `vm` is a containerVM (the container id key and a version key).
pub fn is_container(vm: &GuestView) -> bool {
    vm.extra(ck::ID).is_some_and(|id| !id.is_empty())
        && vm
            .extra_config
            .iter()
            .any(|(k, _)| k.starts_with("guestinfo.vice./version/"))
}

/// The deterministic "DHCP" address of a dynamic endpoint.
fn dhcp_address(vm: &MoRef, net: &str) -> (IpAddr, u8) {
    let n: u32 = vm
        .value
        .rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let h = net
        .bytes()
        .fold(0u8, |acc, b| acc.wrapping_mul(31).wrapping_add(b));
    let host = n % 65_000 + 2;
    (
        IpAddr::V4(Ipv4Addr::new(10, h, (host / 256) as u8, (host % 256) as u8)),
        8,
    )
}

/// One endpoint as configured: the firewall endpoint and the address.
struct Configured {
    name: String,
    ip: IpAddr,
    prefix: u8,
    endpoint: Endpoint,
}

fn configure_endpoints(keys: &Keys, vm: &MoRef) -> Result<Vec<Configured>, String> {
    let nets: Vec<String> = keys
        .get_map_keys(&guestinfo::ro_key("networks"))
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut out = Vec::new();
    for (i, net) in nets.iter().enumerate() {
        let is_static = keys
            .get_bool(&ck::endpoint_key(net, "static"))
            .ok()
            .flatten()
            .unwrap_or(false);
        let static_ip = keys
            .get_ip(&ck::endpoint_key(net, "ip/IP"))
            .ok()
            .flatten()
            .filter(|_| is_static);
        let prefix = keys
            .get_bytes(&ck::endpoint_key(net, "ip/Mask"))
            .ok()
            .flatten()
            .map(|m| m.iter().map(|b| b.count_ones() as u8).sum())
            .unwrap_or(16);
        let (ip, prefix) = match static_ip {
            Some(ip) => (ip, prefix),
            None => dhcp_address(vm, net),
        };
        let pools: Vec<IpRange> = keys
            .get_strings(&ck::endpoint_key(net, "network/pools"))
            .ok()
            .flatten()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        let ports: Vec<PortMapping> = keys
            .get_strings(&ck::endpoint_key(net, "ports"))
            .ok()
            .flatten()
            .unwrap_or_default()
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse()
                    .map_err(|e: firewall::FirewallError| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        let iface = format!("eth{i}");
        let kind = keys
            .get(&ck::endpoint_key(net, "network/type"))
            .unwrap_or("bridge");
        let endpoint = if kind == "bridge" {
            let mut e = Endpoint::bridge(&iface, static_ip, pools);
            e.published = ports;
            e
        } else {
            let trust = match keys
                .get_int(&ck::endpoint_key(net, "network/TrustLevel"))
                .ok()
                .flatten()
            {
                Some(1) => Some(TrustLevel::Published),
                Some(2) => Some(TrustLevel::Open),
                Some(3) => Some(TrustLevel::Closed),
                Some(4) => Some(TrustLevel::Outbound),
                Some(5) => Some(TrustLevel::Peers),
                _ => None,
            };
            let mut e = Endpoint::container_network(net, &iface, trust);
            e.scope = ScopeKind::External;
            e.ip = static_ip;
            e.pools = pools;
            e.published = ports;
            e
        };
        out.push(Configured {
            name: net.clone(),
            ip,
            prefix,
            endpoint,
        });
    }
    Ok(out)
}

fn mask_bytes(prefix: u8) -> String {
    guestinfo::encode_mask(prefix, true)
}

impl TetherAgent {
    /// A tether with no sessions.
    pub fn new() -> TetherAgent {
        TetherAgent::default()
    }

    /// The firewall rule set the tether applied in `vm` (while it runs).
    pub fn rules_of(&self, vm: &MoRef) -> Option<RuleSet> {
        self.lock().get(&vm.value).and_then(|s| s.rules.clone())
    }

    /// The container id running in `vm`, if any.
    pub fn container_of(&self, vm: &MoRef) -> Option<String> {
        self.lock().get(&vm.value).map(|s| s.id.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn power_on(&self, vm: &GuestView) -> GuestEffects {
        let keys = Keys::from_pairs(vm.extra_config.iter().cloned());
        let id = keys.get(ck::ID).unwrap_or("").to_owned();
        let now_s = vm.now_ms.div_euclid(1000);
        let mut fx = GuestEffects {
            tools_running: Some(true),
            host_name: keys.get(ck::HOSTNAME).map(str::to_owned),
            ..GuestEffects::default()
        };
        let started_key = ck::container_started_key(&id);
        let fail = |mut fx: GuestEffects, msg: String| {
            fx.extra_config.push((started_key.clone(), msg));
            fx
        };
        // The endpoints come up before the process starts.
        let endpoints = match configure_endpoints(&keys, &vm.vm) {
            Ok(e) => e,
            Err(msg) => return fail(fx, msg),
        };
        for c in &endpoints {
            fx.extra_config.push((
                ck::endpoint_assigned_key(&c.name, "IP"),
                guestinfo::encode_ip(c.ip),
            ));
            fx.extra_config.push((
                ck::endpoint_assigned_key(&c.name, "Mask"),
                mask_bytes(c.prefix),
            ));
        }
        fx.ip_address = endpoints.first().map(|c| c.ip.to_string());
        let eps: Vec<Endpoint> = endpoints.iter().map(|c| c.endpoint.clone()).collect();
        let rules = match firewall::rules_for(&eps) {
            Ok(r) => r,
            Err(e) => return fail(fx, e.to_string()),
        };
        let path = keys.get(&ck::session_key(&id, "cmd/Path")).unwrap_or("");
        if path.is_empty() {
            return fail(fx, NO_PROGRAM.into());
        }
        let mut argv: Vec<String> = keys
            .get_strings(&ck::session_key(&id, "cmd/Args"))
            .ok()
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if argv.is_empty() {
            argv.push(path.to_owned());
        }
        let flag = |f: &str| {
            keys.get_bool(&ck::session_key(&id, f))
                .ok()
                .flatten()
                .unwrap_or(false)
        };
        let plan = workload::plan(
            &argv,
            flag("tty"),
            flag("openstdin"),
            keys.get(WORKLOAD_KEY),
        );
        fx.workload = Some(plan.workload.clone());
        fx.extra_config
            .push((started_key.clone(), guestinfo::STARTED_OK.into()));
        fx.extra_config.push((
            ck::session_state_key(&id, "detail.starttime"),
            now_s.to_string(),
        ));
        let exits_now = plan.exits_after_s == Some(0);
        if exits_now {
            fx.extra_config.push((
                ck::session_state_key(&id, "status"),
                plan.exit_code.to_string(),
            ));
            fx.extra_config.push((
                ck::session_state_key(&id, "detail.stoptime"),
                now_s.to_string(),
            ));
            fx.power_off = true;
        }
        self.lock().insert(
            vm.vm.value.clone(),
            Session {
                id,
                start_ms: vm.now_ms,
                exits_after_s: plan.exits_after_s,
                exit_code: plan.exit_code,
                exited: exits_now,
                rules: Some(rules),
            },
        );
        fx
    }

    fn tick(&self, vm: &GuestView) -> GuestEffects {
        let mut sessions = self.lock();
        let Some(s) = sessions.get_mut(&vm.vm.value) else {
            return GuestEffects::default();
        };
        let Some(after_s) = s.exits_after_s else {
            return GuestEffects::default();
        };
        let due_ms = s
            .start_ms
            .saturating_add(i64::try_from(after_s.saturating_mul(1000)).unwrap_or(i64::MAX));
        // A tick comes at the end of an interval, before the model runs that interval: a
        // process due at exactly this instant ran through the whole interval, so it exits at
        // the next tick (a 300 s stress fills 15 samples of 20 s, not 14).
        if s.exited || vm.now_ms <= due_ms {
            return GuestEffects::default();
        }
        s.exited = true;
        // The process ended when it was due, not at this tick.
        let stop_s = due_ms.div_euclid(1000);
        GuestEffects {
            extra_config: vec![
                (
                    ck::session_state_key(&s.id, "status"),
                    s.exit_code.to_string(),
                ),
                (
                    ck::session_state_key(&s.id, "detail.stoptime"),
                    stop_s.to_string(),
                ),
            ],
            power_off: true,
            ..GuestEffects::default()
        }
    }
}

impl GuestAgent for TetherAgent {
    fn claims(&self, vm: &GuestView) -> bool {
        is_container(vm)
    }

    fn on_event(&self, event: GuestEvent, vm: &GuestView, _handle: &GuestHandle) -> GuestEffects {
        match event {
            GuestEvent::PowerOn => self.power_on(vm),
            GuestEvent::Tick => self.tick(vm),
            GuestEvent::PowerOff => {
                self.lock().remove(&vm.vm.value);
                GuestEffects {
                    tools_running: Some(false),
                    ..GuestEffects::default()
                }
            }
            // VIC's tether re-reads its config on `reload`; nothing the emulator models
            // changes with it.
            GuestEvent::Reconfigure => GuestEffects::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scheduler_model::Workload;

    fn view(extra: Vec<(String, String)>, now_ms: i64) -> GuestView {
        GuestView {
            vm: MoRef::new("VirtualMachine", "vm-42"),
            name: "c".into(),
            num_cpu: 2,
            memory_mb: 2048,
            extra_config: extra,
            now_ms,
        }
    }

    fn container(id: &str, argv: &[&str]) -> Vec<(String, String)> {
        Keys::new()
            .put(ck::ID, id)
            .put(ck::version_key("Version"), "1.2.1")
            .put(
                ck::session_key(id, "cmd/Path"),
                argv.first().copied().unwrap_or(""),
            )
            .strings(&ck::session_key(id, "cmd/Args"), argv)
            .map_keys(&guestinfo::ro_key("networks"), &["bridge"])
            .put(ck::endpoint_key("bridge", "network/type"), "bridge")
            .put(ck::endpoint_key("bridge", "static"), true)
            .put(
                ck::endpoint_key("bridge", "ip/IP"),
                "172.16.0.2".parse::<IpAddr>().unwrap(),
            )
            .put(
                ck::endpoint_key("bridge", "ip/Mask"),
                guestinfo::encode_mask(16, true),
            )
            .strings(
                &ck::endpoint_key("bridge", "network/pools"),
                &["172.16.0.0/16"],
            )
            .into_pairs()
    }

    fn get<'a>(fx: &'a GuestEffects, k: &str) -> Option<&'a str> {
        fx.extra_config
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn claims_only_container_vms() {
        let t = TetherAgent::new();
        assert!(t.claims(&view(container("abc", &["sleep", "1"]), 0)));
        let no_version: Vec<_> = vec![(ck::ID.to_owned(), "abc".to_owned())];
        assert!(!t.claims(&view(no_version, 0)));
        assert!(!t.claims(&view(Vec::new(), 0)));
    }

    #[test]
    fn stress_starts_then_exits_at_its_timeout() {
        let t = TetherAgent::new();
        let h = GuestHandle::default();
        let v = view(
            container(
                "abc",
                &[
                    "/usr/bin/stress",
                    "--verbose",
                    "--cpu",
                    "1",
                    "--timeout",
                    "300s",
                ],
            ),
            1_000_000,
        );
        let fx = t.on_event(GuestEvent::PowerOn, &v, &h);
        assert_eq!(get(&fx, &ck::container_started_key("abc")), Some("true"));
        assert_eq!(
            get(&fx, &ck::session_state_key("abc", "detail.starttime")),
            Some("1000")
        );
        assert_eq!(
            get(&fx, &ck::endpoint_assigned_key("bridge", "IP")),
            Some(guestinfo::encode_ip("172.16.0.2".parse().unwrap()).as_str())
        );
        assert_eq!(fx.ip_address.as_deref(), Some("172.16.0.2"));
        assert!(matches!(
            fx.workload,
            Some(Workload::Stress { cpu_workers: 1, .. })
        ));
        assert!(!fx.power_off);
        assert!(t.rules_of(&v.vm).is_some());
        let early = t.on_event(
            GuestEvent::Tick,
            &view(v.extra_config.clone(), 1_300_000),
            &h,
        );
        assert!(
            early.is_empty(),
            "busy through the interval ending at its timeout"
        );
        let due = t.on_event(
            GuestEvent::Tick,
            &view(v.extra_config.clone(), 1_320_000),
            &h,
        );
        assert!(due.power_off);
        assert_eq!(
            get(&due, &ck::session_state_key("abc", "status")),
            Some("0")
        );
        assert_eq!(
            get(&due, &ck::session_state_key("abc", "detail.stoptime")),
            Some("1300")
        );
        assert!(
            t.on_event(
                GuestEvent::Tick,
                &view(v.extra_config.clone(), 1_340_000),
                &h
            )
            .is_empty()
        );
        t.on_event(GuestEvent::PowerOff, &v, &h);
        assert!(t.rules_of(&v.vm).is_none());
    }

    #[test]
    fn a_shell_without_stdin_exits_at_once_and_a_missing_program_fails() {
        let t = TetherAgent::new();
        let h = GuestHandle::default();
        let fx = t.on_event(GuestEvent::PowerOn, &view(container("abc", &["sh"]), 0), &h);
        assert!(fx.power_off);
        assert_eq!(get(&fx, &ck::session_state_key("abc", "status")), Some("0"));
        let fx = t.on_event(GuestEvent::PowerOn, &view(container("abc", &[]), 0), &h);
        assert_eq!(
            get(&fx, &ck::container_started_key("abc")),
            Some(NO_PROGRAM)
        );
        assert!(fx.workload.is_none());
    }

    #[test]
    fn dynamic_endpoints_get_a_stable_address() {
        let a = dhcp_address(&MoRef::new("VirtualMachine", "vm-7"), "routable");
        assert_eq!(
            a,
            dhcp_address(&MoRef::new("VirtualMachine", "vm-7"), "routable")
        );
        assert_ne!(
            a,
            dhcp_address(&MoRef::new("VirtualMachine", "vm-8"), "routable")
        );
    }
}
