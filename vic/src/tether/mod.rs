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
//! Output and stdin: the process's output goes to the container's [`crate::interaction`]
//! channel (VIC's log serial port and `output.log`), which the endpoint's attach and logs
//! read, and an interactive shell reads the channel's stdin (VIC's vSPC attach link); what
//! the process is and how it runs is in [`session`]. No guestinfo log keys: they would be a
//! testbed invention visible to every SOAP client.
//!
//! Network services: when the launched program is a server the testbed emulates (nginx,
//! [`crate::guestnet::recognise`]), the tether registers its service for the container's
//! addresses, with the firewall rule set, in its [`Services`] registry (which the VCH
//! endpoints' port forwards reach) and listens on the container's loopback addresses on
//! routable container networks; the registration goes when the process ends or the VM
//! powers off.
//!
//! A dynamic endpoint (a container network with neither gateway nor range) gets an address
//! "from DHCP": deterministically `10.<net>.<vm>` style, derived from the network name and
//! the VM's MoRef, in 10.0.0.0/8 (the emulator runs no DHCP server).

mod exec;
mod session;

use crate::firewall::{self, Endpoint, IpRange, PortMapping, RuleSet, ScopeKind, TrustLevel};
use crate::guestinfo::{self, Keys, container as ck};
use crate::guestnet::{self, EndpointAddr, Registration, Services};
use crate::interaction::Hub;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use vcsim::guest::{GuestAgent, GuestEffects, GuestEvent, GuestHandle, GuestView, WORKLOAD_KEY};
use vcsim::vmodl::MoRef;

/// The error text when the session has no program (VIC's personality rejects this earlier
/// with `No command specified`; the tether's own check is a launch error).
pub const NO_PROGRAM: &str = "exec: no command";

/// What the tether keeps per running containerVM.
struct Session {
    /// The primary process.
    primary: session::Proc,
    rules: Option<RuleSet>,
    /// The latest virtual time the tether saw (an interactive shell stamps output with it).
    clock: Arc<AtomicI64>,
    /// Exec sessions launched in this run (`docker exec`), bounded by the endpoint's limit
    /// on execs per container.
    execs: Vec<session::Proc>,
    /// What a process sees (an exec sees what the primary process does).
    context: crate::process::Context,
    /// Work its service asks for (a DCH's builds), paid at each tick.
    meter: Option<Arc<crate::workload::meter::WorkMeter>>,
    /// The primary process's own workload (what the VM runs when no such work is queued).
    own_workload: scheduler_model::Workload,
}

/// The containerVM tether: one agent serves every containerVM of the emulator.
#[derive(Default)]
pub struct TetherAgent {
    /// Running sessions by VM MoRef value; entries go on power-off, so this is bounded by the
    /// powered-on containerVMs.
    sessions: Mutex<BTreeMap<String, Session>>,
    /// The containers' attach and log links.
    hub: Arc<Hub>,
    /// The network services the containers' processes run.
    services: Arc<Services>,
}

impl std::fmt::Debug for TetherAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TetherAgent").finish_non_exhaustive()
    }
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

/// What the process sees: its environment (`cmd/Env`), host name, working directory, the
/// files the tether writes into every containerVM (`/etc/hostname`, `/etc/hosts`, as VIC's
/// tether does) and the clock.
fn process_context(
    keys: &Keys,
    id: &str,
    hostname: String,
    endpoints: &[Configured],
    now_ms: i64,
) -> crate::process::Context {
    let env = keys
        .get_strings(&ck::session_key(id, "cmd/Env"))
        .ok()
        .flatten()
        .unwrap_or_default()
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (kv.to_owned(), String::new()),
        })
        .collect();
    let mut hosts =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    if let Some(c) = endpoints.first() {
        hosts.push_str(&format!("{}\t{hostname}\n", c.ip));
    }
    let mut files = BTreeMap::new();
    files.insert(
        "/etc/hostname".to_owned(),
        format!("{hostname}\n").into_bytes(),
    );
    files.insert("/etc/hosts".to_owned(), hosts.into_bytes());
    crate::process::Context {
        env,
        workdir: keys
            .get(&ck::session_key(id, "cmd/Dir"))
            .unwrap_or("/")
            .to_owned(),
        hostname,
        files,
        start_unix_s: now_ms.div_euclid(1000),
    }
}

fn mask_bytes(prefix: u8) -> String {
    guestinfo::encode_mask(prefix, true)
}

impl TetherAgent {
    /// A tether with no sessions.
    pub fn new() -> TetherAgent {
        TetherAgent::default()
    }

    /// The containers' attach and log links (what the VCH endpoints read).
    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    /// The containers' network services (what the VCH endpoints' port forwards reach).
    pub fn services(&self) -> Arc<Services> {
        self.services.clone()
    }

    /// Whether any containerVM's service has CPU work queued (a DCH build waiting for the
    /// virtual clock): a caller that drives the clock itself (the scenario runner) advances
    /// it while this holds.
    pub fn work_pending(&self) -> bool {
        self.lock()
            .values()
            .any(|s| s.meter.as_ref().is_some_and(|m| m.busy()))
    }

    /// The firewall rule set the tether applied in `vm` (while it runs).
    pub fn rules_of(&self, vm: &MoRef) -> Option<RuleSet> {
        self.lock().get(&vm.value).and_then(|s| s.rules.clone())
    }

    /// The container id running in `vm`, if any.
    pub fn container_of(&self, vm: &MoRef) -> Option<String> {
        self.lock().get(&vm.value).map(|s| s.primary.id.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn power_on(&self, vm: &GuestView, handle: &GuestHandle) -> GuestEffects {
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
        // Read as VIC's tether reads it: an argument holding `|` arrives split (vic#3510).
        let mut argv: Vec<String> = keys
            .get_strings_as_vic_reads(&ck::session_key(&id, "cmd/Args"))
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
        let channel = self.hub.channel(&id);
        channel.begin_run();
        let clock = Arc::new(AtomicI64::new(vm.now_ms));
        let hostname = keys.get(ck::HOSTNAME).unwrap_or("").to_owned();
        let context = process_context(&keys, &id, hostname, &endpoints, vm.now_ms);
        let mut launched = session::launch(
            session::LaunchSpec {
                id: &id,
                kind: session::Kind::Primary,
                vm: &vm.vm,
                argv: &argv,
                tty: flag("tty"),
                open_stdin: flag("openstdin"),
                declared: keys.get(WORKLOAD_KEY),
                context: context.clone(),
                now_ms: vm.now_ms,
                clock: clock.clone(),
            },
            &channel,
            handle,
        );
        fx.workload = Some(launched.workload.clone());
        fx.extra_config
            .push((started_key.clone(), guestinfo::STARTED_OK.into()));
        fx.extra_config.push((
            ck::session_state_key(&id, "detail.starttime"),
            now_s.to_string(),
        ));
        let mut primary = session::Proc::new(
            &id,
            session::Kind::Primary,
            vm.now_ms,
            &mut launched,
            channel,
        );
        let own_workload = launched.workload.clone();
        let mut meter = None;
        if let Some(exit) = primary.ended_at_launch() {
            session::merge(&mut fx, exit);
        } else if let Some(server) = launched.program.as_deref().and_then(|argv| {
            // What a service may report of its machine (a DCH's `docker info`).
            let host = crate::dch::Host {
                hostname: context.hostname.clone(),
                ncpu: vm.num_cpu,
                mem_total_bytes: vm.memory_mb.saturating_mul(1024 * 1024),
            };
            guestnet::recognise(argv, &host, self.services.registries())
        }) {
            meter = server.meter.clone();
            if let Some(m) = &meter {
                m.start_at(vm.now_ms);
            }
            self.register_service(&id, server, &endpoints, &rules, &primary.channel, vm.now_ms);
        }
        self.lock().insert(
            vm.vm.value.clone(),
            Session {
                primary,
                rules: Some(rules),
                clock,
                execs: Vec::new(),
                context,
                meter,
                own_workload,
            },
        );
        fx
    }

    fn tick(&self, vm: &GuestView) -> GuestEffects {
        let mut sessions = self.lock();
        let Some(s) = sessions.get_mut(&vm.vm.value) else {
            return GuestEffects::default();
        };
        s.clock.store(vm.now_ms, Ordering::Relaxed);
        let mut fx = GuestEffects::default();
        for p in &mut s.execs {
            if let Some(exit) = p.tick(vm.now_ms, vm.cpu_usage_mhz) {
                session::merge(&mut fx, exit);
            }
        }
        if let Some(meter) = &s.meter {
            use crate::workload::meter::{BUSY_WORKLOAD, Change};
            match meter.tick(vm.now_ms, vm.cpu_usage_mhz) {
                Some(Change::Busy) => fx.workload = Some(BUSY_WORKLOAD),
                Some(Change::Idle) => fx.workload = Some(s.own_workload.clone()),
                None => {}
            }
        }
        if let Some(exit) = s.primary.tick(vm.now_ms, vm.cpu_usage_mhz) {
            session::merge(&mut fx, exit);
            // Its servers stop with it.
            self.services.unregister(&s.primary.id);
        }
        fx
    }

    /// Registers `server` for container `id` on its endpoints; what cannot listen is
    /// written to the container's log as nginx writes a failed `bind()`.
    fn register_service(
        &self,
        id: &str,
        server: guestnet::Recognised,
        endpoints: &[Configured],
        rules: &RuleSet,
        channel: &crate::interaction::Channel,
        now_ms: i64,
    ) {
        let name = server.service.name();
        let endpoints = endpoints
            .iter()
            .map(|c| EndpointAddr {
                network: c.name.clone(),
                iface: c.endpoint.iface.clone(),
                ip: c.ip,
                prefix: c.prefix,
                // On the bridge, `-p` is the VCH's (its forwards), not the containerVM's.
                redirects: if c.endpoint.scope == ScopeKind::External {
                    c.endpoint
                        .published
                        .iter()
                        .filter_map(|p| {
                            p.redirect_from().map(|h| (h.start, p.container_port.start))
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect();
        let problems = self.services.register(Registration {
            owner: id.to_owned(),
            server,
            endpoints,
            rules: Some(rules.clone()),
        });
        for p in problems {
            tracing::warn!(container = %id, service = name, problem = %p, "a container service cannot listen");
            channel.write(
                crate::interaction::Stream::Stderr,
                now_ms,
                format!("{name}: [emerg] {p}\n").into_bytes(),
            );
        }
    }
}

impl GuestAgent for TetherAgent {
    fn claims(&self, vm: &GuestView) -> bool {
        is_container(vm)
    }

    fn on_event(&self, event: GuestEvent, vm: &GuestView, handle: &GuestHandle) -> GuestEffects {
        match event {
            GuestEvent::PowerOn => self.power_on(vm, handle),
            GuestEvent::Tick => self.tick(vm),
            GuestEvent::PowerOff => {
                // The VM went off under a process that had not ended (stop, kill, a vSphere
                // power-off): its run ends without a status of its own.
                let ended = self.lock().remove(&vm.vm.value);
                if let Some(s) = ended {
                    self.services.unregister(&s.primary.id);
                    for p in s.execs.iter().chain(std::iter::once(&s.primary)) {
                        p.power_off(vm.now_ms);
                    }
                }
                GuestEffects {
                    tools_running: Some(false),
                    ..GuestEffects::default()
                }
            }
            // VIC's tether re-reads its config on `reload`: new exec sessions start.
            GuestEvent::Reconfigure => self.launch_execs(vm, handle),
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
            cpu_usage_mhz: 0,
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
    fn a_work_bound_job_ends_when_the_vm_has_done_its_work() {
        let t = TetherAgent::new();
        let h = GuestHandle::default();
        // 1 worker × 1000 bogo ops × 30 MHz·s = 30 000 MHz·s; powered on at 1 005 s, between
        // the ticks at 1 000 s and 1 020 s.
        let argv = ["stress-ng", "--cpu", "1", "--cpu-ops", "1000"];
        let v = view(container("abc", &argv), 1_005_000);
        let fx = t.on_event(GuestEvent::PowerOn, &v, &h);
        assert!(matches!(
            fx.workload,
            Some(Workload::Stress { cpu_workers: 1, .. })
        ));
        let tick = |now_ms: i64, mhz: u32| {
            let mut tv = view(Vec::new(), now_ms);
            tv.cpu_usage_mhz = mhz;
            t.on_event(GuestEvent::Tick, &tv, &h)
        };
        // The first tick's usage predates the run: not counted, however large.
        assert!(tick(1_020_000, 1_000_000).is_empty());
        // (1 005, 1 020]: 15 s at 500 MHz = 7 500 MHz·s; 22 500 left.
        assert!(tick(1_040_000, 500).is_empty());
        // (1 020, 1 040]: 20 s at 900 MHz = 18 000; 4 500 left.
        assert!(tick(1_060_000, 900).is_empty());
        // (1 040, 1 060] at 900 MHz: the last 4 500 take 5 s, so it ended at 1 045 s.
        let done = tick(1_080_000, 900);
        assert!(done.power_off);
        assert_eq!(
            get(&done, &ck::session_state_key("abc", "status")),
            Some("0")
        );
        assert_eq!(
            get(&done, &ck::session_state_key("abc", "detail.stoptime")),
            Some("1045")
        );
        let channel = t.hub().channel("abc");
        let out: String = channel
            .entries()
            .iter()
            .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
            .collect();
        assert!(
            out.ends_with("stress-ng: info:  [1] successful run completed in 40.00s\n"),
            "{out}"
        );
        // A timeout before the work is done wins.
        let t = TetherAgent::new();
        let argv = ["stress-ng", "-c", "1", "--cpu-ops", "1000", "-t", "30s"];
        t.on_event(GuestEvent::PowerOn, &view(container("abc", &argv), 0), &h);
        let tick = |now_ms: i64, mhz: u32| {
            let mut tv = view(Vec::new(), now_ms);
            tv.cpu_usage_mhz = mhz;
            t.on_event(GuestEvent::Tick, &tv, &h)
        };
        assert!(tick(20_000, 0).is_empty());
        // 2 000 MHz·s done by 20 s: the 30 s timeout, due within (20, 40], comes first.
        let done = tick(40_000, 100);
        assert_eq!(
            get(&done, &ck::session_state_key("abc", "detail.stoptime")),
            Some("30")
        );
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
    fn a_server_registers_its_service_until_it_ends() {
        let t = TetherAgent::new();
        let h = GuestHandle::default();
        let services = t.services();
        let bridge_ip: IpAddr = "172.16.0.2".parse().unwrap();
        let v = view(container("abc", &["nginx", "-g", "daemon off;"]), 0);
        t.on_event(GuestEvent::PowerOn, &v, &h);
        assert_eq!(
            services.lookup(bridge_ip, 80).map(|s| s.name()),
            Some("nginx")
        );
        assert!(matches!(
            services.admit_forwarded("abc", 80),
            guestnet::Admission::Serve(_)
        ));
        t.on_event(GuestEvent::PowerOff, &v, &h);
        assert!(services.is_empty());
        // Through a shell's `exec`, too; a command that is no server registers nothing.
        let v = view(
            container("abc", &["sh", "-c", "exec nginx -g 'daemon off;'"]),
            0,
        );
        t.on_event(GuestEvent::PowerOn, &v, &h);
        assert!(services.lookup(bridge_ip, 80).is_some());
        t.on_event(GuestEvent::PowerOff, &v, &h);
        let v = view(container("abc", &["sleep", "100"]), 0);
        t.on_event(GuestEvent::PowerOn, &v, &h);
        assert!(services.is_empty());
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
