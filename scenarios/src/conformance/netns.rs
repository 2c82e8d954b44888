//! Real packets: a containerVM's rule set loaded with `iptables-restore` into a Linux network
//! namespace of the suite's own and probed with TCP, UDP and ICMP from its neighbours.
//!
//! One *lab* per rule set, three namespaces named `vicbed-fw-<pid>-<n>-{c,w,b}`:
//!
//! - `c`, the containerVM: `eth0` on the container network (the interface name VIC's rules
//!   use), `eth1` towards `b`, forwarding on; the rules are loaded here;
//! - `w`, the world on the container network: `w0` with the gateway, a peer address inside
//!   `--container-network-ip-range` and an outside address in the same subnet;
//! - `b`, a host beyond the containerVM (only reachable by forwarding through it).
//!
//! The veth pairs are created directly inside the namespaces, so nothing appears in the
//! host's namespace; dropping the [`Lab`] kills its helper processes and deletes the
//! namespaces (which deletes the veths), also when a probe failed. Helpers and probes are
//! small python3 programs run with `ip netns exec` (no `unsafe` `setns` here); every probe
//! has a timeout and every child a deadline after which it is killed.

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A probe's own timeout (seconds, given to python).
const PROBE_TIMEOUT_S: f64 = 1.0;
/// How long a helper may take to bind its sockets.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline of a probe process beyond its own timeout.
const PROBE_GRACE: Duration = Duration::from_secs(8);
/// Deadline of an `ip`/`iptables-restore` command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Namespace name prefix (with the pid after it, so stale labs can be recognised).
const PREFIX: &str = "vicbed-fw-";

/// The programs a lab needs.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    ip: PathBuf,
    iptables_restore: PathBuf,
    iptables_save: Option<PathBuf>,
    python: PathBuf,
}

/// Whether labs can run here: root, `ip`, `iptables-restore` and `python3`, and namespaces
/// can actually be created (a container without CAP_SYS_ADMIN cannot). `Err` says why not.
pub(crate) fn tools() -> Result<Tools, String> {
    if !is_root() {
        return Err("not running as root".into());
    }
    let find = |name: &str| find_program(name).ok_or_else(|| format!("{name} not found"));
    let tools = Tools {
        ip: find("ip")?,
        iptables_restore: find("iptables-restore")?,
        iptables_save: find_program("iptables-save"),
        python: find("python3")?,
    };
    sweep_stale(&tools);
    let probe = format!("{PREFIX}{}-probe{}", std::process::id(), next_serial());
    run(&tools.ip, &["netns", "add", &probe], None)
        .map_err(|e| format!("cannot create network namespaces: {e}"))?;
    let _ = run(&tools.ip, &["netns", "del", &probe], None);
    Ok(tools)
}

/// Root, from `/proc/self/status` (no libc here).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

/// `name` on `PATH`, or in the sbin directories root's `PATH` usually has.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn next_serial() -> u64 {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// Deletes labs left behind by vicbed processes that no longer exist.
fn sweep_stale(tools: &Tools) {
    let Ok(list) = run(&tools.ip, &["netns", "list"], None) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run(&tools.ip, &["netns", "del", name], None);
        }
    }
}

/// Runs a command to completion within [`COMMAND_TIMEOUT`]; its stdout, or why it failed.
fn run(program: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = format!("{} {}", program.display(), args.join(" "));
    let mut child = cmd.spawn().map_err(|e| format!("{shown}: {e}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| format!("{shown}: writing stdin: {e}"))?;
    }
    let out = wait_output(child, COMMAND_TIMEOUT).map_err(|e| format!("{shown}: {e}"))?;
    if !out.0 {
        return Err(format!("{shown}: {}", out.2.trim()));
    }
    Ok(out.1)
}

/// Waits for `child` until `limit` (then kills it): (success, stdout, stderr).
fn wait_output(mut child: Child, limit: Duration) -> Result<(bool, String, String), String> {
    let mut readers = Vec::new();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ] {
        readers.push(std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = pipe {
                let _ = std::io::Read::read_to_string(&mut p, &mut s);
            }
            s
        }));
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let mut texts = readers.into_iter().map(|r| r.join().unwrap_or_default());
    let stdout = texts.next().unwrap_or_default();
    let stderr = texts.next().unwrap_or_default();
    match status {
        Some(s) => Ok((s.success(), stdout, stderr)),
        None => Err(format!("no exit within {limit:?}")),
    }
}

/// The addresses of one lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addresses {
    /// The containerVM's address on `eth0`.
    pub container: Ipv4Addr,
    /// The container network's prefix length.
    pub prefix: u8,
    /// The gateway (in `w`), also the "DHCP server".
    pub gateway: Ipv4Addr,
    /// A peer inside the ip-range (in `w`).
    pub peer: Ipv4Addr,
    /// A host outside the ip-range, same subnet (in `w`).
    pub outside: Ipv4Addr,
    /// The containerVM's address towards `b` (a /24).
    pub inner: Ipv4Addr,
    /// The host beyond (in `b`).
    pub beyond: Ipv4Addr,
}

/// One real-traffic check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The containerVM sends a UDP datagram to `dst:port` in `w` (one way; `w` logs it).
    UdpOut { dst: Ipv4Addr, port: u16 },
    /// The containerVM connects to `dst:port` in `w` and reads the greeting (the reply path).
    TcpOut { dst: Ipv4Addr, port: u16 },
    /// `w` connects from `src` to the containerVM's `port` and reads the greeting (the port
    /// the listener is on, so a REDIRECT shows).
    TcpIn { src: Ipv4Addr, port: u16 },
    /// `w` pings the containerVM from `src` (ICMP echo over a raw socket).
    IcmpIn { src: Ipv4Addr },
    /// A DHCP-style exchange: the containerVM sends from udp/68 to the gateway's udp/67,
    /// which answers from 67 to 68.
    Dhcp,
    /// Inside the containerVM, a TCP connection to `127.0.0.1:port`.
    Loopback { port: u16 },
    /// `w` sends a UDP datagram from `src` to `b`'s `port`, routed through the containerVM.
    Forward { src: Ipv4Addr, port: u16 },
}

/// What a probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The traffic got through.
    Allow,
    /// Got through, to another port (a REDIRECT).
    Redirected(u16),
    /// Dropped (timeout, or `EPERM` from a local OUTPUT drop).
    Deny,
    /// Anything else (a refused connection means no listener: a lab problem).
    Other(String),
}

impl Seen {
    /// The suite's wording: `allow`, `allow (redirected to N)`, `deny`, or the oddity.
    pub fn text(&self) -> String {
        match self {
            Seen::Allow => "allow".into(),
            Seen::Redirected(p) => format!("allow (redirected to {p})"),
            Seen::Deny => "deny".into(),
            Seen::Other(s) => s.clone(),
        }
    }
}

/// What a lab run produced.
#[derive(Debug, Clone)]
pub(crate) struct LabRun {
    /// One result per probe, in order.
    pub seen: Vec<Seen>,
    /// `iptables-save` in the containerVM namespace after the load (empty without the tool).
    pub saved: String,
}

/// Namespaces and helper processes, removed on drop.
struct Lab<'t> {
    tools: &'t Tools,
    c: String,
    w: String,
    b: String,
    created: Vec<String>,
    helpers: Vec<Child>,
}

impl Drop for Lab<'_> {
    fn drop(&mut self) {
        for h in &mut self.helpers {
            let _ = h.kill();
            let _ = h.wait();
        }
        for ns in self.created.iter().rev() {
            let _ = run(&self.tools.ip, &["netns", "del", ns], None);
        }
    }
}

/// Loads `rules` (iptables-restore text) into a fresh lab with addresses `a`, starts
/// listeners (`listen`: the containerVM's TCP ports, each answering its own number) and
/// runs every probe concurrently.
pub(crate) fn run_lab(
    tools: &Tools,
    a: &Addresses,
    rules: &str,
    listen: &[u16],
    probes: &[Probe],
) -> Result<LabRun, String> {
    let base = format!("{PREFIX}{}-{}", std::process::id(), next_serial());
    let mut lab = Lab {
        tools,
        c: format!("{base}-c"),
        w: format!("{base}-w"),
        b: format!("{base}-b"),
        created: Vec::new(),
        helpers: Vec::new(),
    };
    lab.build(a)?;
    run(
        &tools.ip,
        &[
            "netns",
            "exec",
            &lab.c,
            &tools.iptables_restore.display().to_string(),
        ],
        Some(rules),
    )
    .map_err(|e| format!("iptables-restore: {e}"))?;
    let saved = match &tools.iptables_save {
        Some(save) => run(
            &tools.ip,
            &["netns", "exec", &lab.c, &save.display().to_string()],
            None,
        )?,
        None => String::new(),
    };

    // Helpers: listeners in c, loggers and servers in w and b.
    let mut c_specs: Vec<String> = listen.iter().map(|p| format!("tcp:{p}")).collect();
    let mut w_specs = vec!["udpecho:67".to_owned()];
    let mut b_specs = Vec::new();
    for p in probes {
        match *p {
            Probe::UdpOut { port, .. } => w_specs.push(format!("udplog:{port}")),
            Probe::TcpOut { port, .. } => w_specs.push(format!("tcp:{port}")),
            Probe::Forward { port, .. } => b_specs.push(format!("udplog:{port}")),
            Probe::Loopback { port } => c_specs.push(format!("tcp:{port}")),
            _ => {}
        }
    }
    for specs in [&mut c_specs, &mut w_specs, &mut b_specs] {
        specs.sort();
        specs.dedup();
    }
    let mut logs = Vec::new();
    for (ns, specs) in [(&lab.c, &c_specs), (&lab.w, &w_specs), (&lab.b, &b_specs)] {
        if specs.is_empty() {
            continue;
        }
        let (child, lines) = lab.helper(ns, specs)?;
        lab.helpers.push(child);
        logs.push((ns.clone(), lines));
    }

    // Probes, all at once.
    let mut running = Vec::new();
    for p in probes {
        let (ns, args) = probe_args(a, p);
        let ns = match ns {
            Side::C => &lab.c,
            Side::W => &lab.w,
        };
        running.push(lab.spawn_python(ns, PROBE, &args)?);
    }
    let limit = Duration::from_secs_f64(PROBE_TIMEOUT_S) + PROBE_GRACE;
    let outputs: Vec<String> = running
        .into_iter()
        .map(|child| match wait_output(child, limit) {
            Ok((_, out, err)) if out.trim().is_empty() => format!("error {}", err.trim()),
            Ok((_, out, _)) => out.trim().to_owned(),
            Err(e) => format!("error {e}"),
        })
        .collect();
    // One-way datagrams are judged from the loggers: stop them and collect their lines.
    std::thread::sleep(Duration::from_millis(100));
    for h in &mut lab.helpers {
        let _ = h.kill();
        let _ = h.wait();
    }
    lab.helpers.clear();
    let mut received: Vec<(String, String)> = Vec::new();
    for (ns, rx) in logs {
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
            received.push((ns.clone(), line));
        }
    }
    let got = |ns: &str, port: u16, from: Ipv4Addr| {
        received
            .iter()
            .any(|(n, l)| n == ns && *l == format!("udp {port} {from}"))
    };
    let seen = probes
        .iter()
        .zip(&outputs)
        .map(|(p, out)| match *p {
            Probe::UdpOut { port, .. } => match out.as_str() {
                "sent" if got(&lab.w, port, a.container) => Seen::Allow,
                "sent" | "eperm" => Seen::Deny,
                other => Seen::Other(other.to_owned()),
            },
            Probe::Forward { port, src } => match out.as_str() {
                "sent" if got(&lab.b, port, src) => Seen::Allow,
                "sent" | "eperm" => Seen::Deny,
                other => Seen::Other(other.to_owned()),
            },
            Probe::TcpIn { port, .. } => tcp_seen(out, Some(port)),
            Probe::TcpOut { .. } | Probe::Loopback { .. } | Probe::Dhcp => tcp_seen(out, None),
            Probe::IcmpIn { .. } => match out.as_str() {
                "reply" => Seen::Allow,
                "timeout" | "eperm" => Seen::Deny,
                other => Seen::Other(other.to_owned()),
            },
        })
        .collect();
    Ok(LabRun { seen, saved })
}

/// A greeting-style probe's output: `data N`, `timeout`, `eperm`, `refused`, `error …`.
fn tcp_seen(out: &str, port: Option<u16>) -> Seen {
    match out.split_once(' ').unwrap_or((out, "")) {
        ("data", greeting) => match (port, greeting.trim().parse::<u16>()) {
            (Some(want), Ok(got)) if got != want => Seen::Redirected(got),
            _ => Seen::Allow,
        },
        ("timeout" | "eperm", _) => Seen::Deny,
        ("refused", _) => Seen::Other("reached the containerVM, but no listener".into()),
        _ => Seen::Other(out.to_owned()),
    }
}

enum Side {
    C,
    W,
}

fn probe_args(a: &Addresses, p: &Probe) -> (Side, Vec<String>) {
    let t = PROBE_TIMEOUT_S.to_string();
    let s = |x: &dyn ToString| x.to_string();
    match *p {
        Probe::UdpOut { dst, port } => (Side::C, vec![s(&"udp"), s(&"-"), s(&dst), s(&port), t]),
        Probe::TcpOut { dst, port } => (Side::C, vec![s(&"tcp"), s(&"-"), s(&dst), s(&port), t]),
        Probe::Loopback { port } => (
            Side::C,
            vec![s(&"tcp"), s(&"127.0.0.1"), s(&"127.0.0.1"), s(&port), t],
        ),
        Probe::Dhcp => (Side::C, vec![s(&"dhcp"), s(&"-"), s(&a.gateway), s(&67), t]),
        Probe::TcpIn { src, port } => (
            Side::W,
            vec![s(&"tcp"), s(&src), s(&a.container), s(&port), t],
        ),
        Probe::IcmpIn { src } => (
            Side::W,
            vec![s(&"icmp"), s(&src), s(&a.container), s(&0), t],
        ),
        Probe::Forward { src, port } => {
            (Side::W, vec![s(&"udp"), s(&src), s(&a.beyond), s(&port), t])
        }
    }
}

impl Lab<'_> {
    fn ip(&self, args: &[&str]) -> Result<(), String> {
        run(&self.tools.ip, args, None).map(|_| ())
    }

    /// Namespaces, veths, addresses, routes and forwarding.
    fn build(&mut self, a: &Addresses) -> Result<(), String> {
        for ns in [self.c.clone(), self.w.clone(), self.b.clone()] {
            self.ip(&["netns", "add", &ns])?;
            self.created.push(ns.clone());
            self.ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        let (c, w, b) = (self.c.clone(), self.w.clone(), self.b.clone());
        self.ip(&[
            "link", "add", "eth0", "netns", &c, "type", "veth", "peer", "name", "w0", "netns", &w,
        ])?;
        self.ip(&[
            "link", "add", "eth1", "netns", &c, "type", "veth", "peer", "name", "b0", "netns", &b,
        ])?;
        let cidr = |ip: Ipv4Addr, prefix: u8| format!("{ip}/{prefix}");
        self.ip(&[
            "-n",
            &c,
            "addr",
            "add",
            &cidr(a.container, a.prefix),
            "dev",
            "eth0",
        ])?;
        self.ip(&["-n", &c, "addr", "add", &cidr(a.inner, 24), "dev", "eth1"])?;
        for ip in [a.gateway, a.peer, a.outside] {
            self.ip(&["-n", &w, "addr", "add", &cidr(ip, a.prefix), "dev", "w0"])?;
        }
        self.ip(&["-n", &b, "addr", "add", &cidr(a.beyond, 24), "dev", "b0"])?;
        for (ns, dev) in [(&c, "eth0"), (&c, "eth1"), (&w, "w0"), (&b, "b0")] {
            self.ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        self.ip(&[
            "-n",
            &w,
            "route",
            "add",
            &format!("{}/32", a.beyond),
            "via",
            &a.container.to_string(),
        ])?;
        self.ip(&[
            "-n",
            &b,
            "route",
            "add",
            "default",
            "via",
            &a.inner.to_string(),
        ])?;
        let forward = self.spawn_python(&c, FORWARDING, &[])?;
        match wait_output(forward, COMMAND_TIMEOUT)? {
            (true, _, _) => Ok(()),
            (false, _, err) => Err(format!("enabling forwarding: {}", err.trim())),
        }
    }

    fn spawn_python(&self, ns: &str, program: &str, args: &[String]) -> Result<Child, String> {
        Command::new(&self.tools.ip)
            .args(["netns", "exec", ns])
            .arg(&self.tools.python)
            .args(["-c", program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3 in {ns}: {e}"))
    }

    /// Starts the helper in `ns` and waits until it has bound everything; its output lines
    /// (after `ready`) arrive on the receiver.
    fn helper(
        &self,
        ns: &str,
        specs: &[String],
    ) -> Result<(Child, mpsc::Receiver<String>), String> {
        let mut child = self.spawn_python(ns, HELPER, specs)?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| "helper without stdout".to_owned())?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(l) if l == "ready" => Ok((child, rx)),
            other => {
                let _ = child.kill();
                let err = wait_output(child, COMMAND_TIMEOUT)
                    .map(|o| o.2)
                    .unwrap_or_default();
                Err(format!(
                    "helper in {ns} did not start ({other:?}): {}",
                    err.trim()
                ))
            }
        }
    }
}

/// Turns forwarding on in the namespace it runs in.
const FORWARDING: &str = "open('/proc/sys/net/ipv4/ip_forward', 'w').write('1')";

/// Listeners: `tcp:P` answers every connection with `P` and closes; `udplog:P` prints
/// `udp P SRC` per datagram; `udpecho:P` prints that and answers from P. Prints `ready`
/// once everything is bound.
const HELPER: &str = include_str!("netns/helper.py");

/// One probe: `MODE SRC DST PORT TIMEOUT` (SRC `-` for any). Prints `data TEXT`, `sent`,
/// `reply`, `timeout`, `eperm`, `refused` or `error …`.
const PROBE: &str = include_str!("netns/probe.py");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_are_read() {
        assert_eq!(tcp_seen("data 80", Some(80)), Seen::Allow);
        assert_eq!(tcp_seen("data 443", Some(8443)), Seen::Redirected(443));
        assert_eq!(tcp_seen("timeout", Some(80)), Seen::Deny);
        assert_eq!(tcp_seen("eperm", None), Seen::Deny);
        assert!(matches!(tcp_seen("refused", Some(1)), Seen::Other(_)));
        assert!(matches!(tcp_seen("", Some(1)), Seen::Other(_)));
        assert_eq!(Seen::Redirected(443).text(), "allow (redirected to 443)");
    }
}
