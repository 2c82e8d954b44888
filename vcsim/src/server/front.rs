//! What `vicbed vcsim` adds to the HTTP front, as govmomi's vcsim has it: the SOAP trace
//! (`-trace`, `-trace-file`: each request and response body on a line of its own, `Request:
//! …` / `Response: …`, with secrets redacted, see [`redact_secrets`]), response delays (`-delay`, `-method-delay`, `-delay-jitter`), and
//! the bodies of `/about` (the methods and managed object types served) and `/debug/vars`
//! (Go's expvar shape: `cmdline`, `memstats`, and our own counters).

use crate::emulator::Emulator;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Most bytes a SOAP trace writes (requests and responses together); past it one line says
/// the trace stopped, so a long run cannot fill the disk.
pub const MAX_TRACE_BYTES: u64 = 256 * 1024 * 1024;

/// Longest delay one call may be given, in milliseconds (a larger value is a typo).
pub const MAX_DELAY_MS: u64 = 10 * 60 * 1000;

/// Most entries `-method-delay` may name.
pub const MAX_METHOD_DELAYS: usize = 1024;

/// What the front adds to plain serving; set once with [`super::Vcsim::set_front`].
#[derive(Debug, Default)]
pub struct Front {
    /// Where SOAP bodies are traced, if anywhere.
    pub trace: Option<SoapTrace>,
    /// Delays before answering SOAP calls.
    pub delay: Delay,
}

struct TraceState {
    out: Box<dyn Write + Send>,
    written_bytes: u64,
    stopped: bool,
}

/// A bounded SOAP trace in vcsim's format.
pub struct SoapTrace {
    state: Mutex<TraceState>,
}

impl std::fmt::Debug for SoapTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoapTrace")
    }
}

impl SoapTrace {
    /// Traces to `out` (a file, or stderr as vcsim does without `-trace-file`).
    pub fn new(out: Box<dyn Write + Send>) -> SoapTrace {
        SoapTrace {
            state: Mutex::new(TraceState {
                out,
                written_bytes: 0,
                stopped: false,
            }),
        }
    }

    /// Writes `Request: <body>`, its secrets redacted.
    pub fn request(&self, body: &[u8]) {
        self.line("Request: ", &redact_secrets(body));
    }

    /// Writes `Response: <body>`, its secrets redacted.
    pub fn response(&self, body: &[u8]) {
        self.line("Response: ", &redact_secrets(body));
    }

    fn line(&self, label: &str, body: &[u8]) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.stopped {
            return;
        }
        let len = (label.len() + body.len() + 1) as u64;
        if s.written_bytes + len > MAX_TRACE_BYTES {
            s.stopped = true;
            let _ = writeln!(
                s.out,
                "Trace stopped: it reached {MAX_TRACE_BYTES} bytes (vicbed's bound)"
            );
            let _ = s.out.flush();
            return;
        }
        s.written_bytes += len;
        // A trace that cannot be written must not fail the call it traces.
        let _ = s
            .out
            .write_all(label.as_bytes())
            .and_then(|_| s.out.write_all(body))
            .and_then(|_| s.out.write_all(b"\n"))
            .and_then(|_| s.out.flush());
    }
}

/// What stands in a trace for a secret element's content.
pub const REDACTED: &str = "(redacted)";

/// Whether an element with local name `name` holds a secret a trace must not show: every
/// password (`password`, `domainAdminPassword`, guest `NamePasswordAuthentication`…), a
/// `CloneSession` ticket, and the WS-Security header (LoginByToken's bearer assertion, a
/// credential until it expires). vcsim's trace shows them all; a trace file is often kept
/// as a CI artifact, so this one does not.
fn is_secret_element(name: &[u8]) -> bool {
    name.to_ascii_lowercase().ends_with(b"password")
        || name == b"cloneTicket"
        || name == b"Security"
}

/// `body` with the content of every secret element ([`is_secret_element`]) replaced by
/// [`REDACTED`], and the ticket an `AcquireCloneTicket` response carries as well. A plain
/// byte scan, not a parse: a trace shows malformed bodies too, and redacts in them what it
/// recognises (an unclosed secret element is redacted to the end).
pub fn redact_secrets(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let clone_ticket_reply = contains(body, b"AcquireCloneTicketResponse");
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(lt) = find(&body[at..], b"<").map(|i| at + i) {
        at = lt + 1;
        let name_end = body[at..]
            .iter()
            // Stopping at `<` too keeps the scan linear on `<a<a<a…`.
            .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/' | b'<'))
            .map_or(body.len(), |i| at + i);
        let qname = &body[at..name_end];
        let local = qname.rsplit(|b| *b == b':').next().unwrap_or(qname);
        let secret = is_secret_element(local) || (clone_ticket_reply && local == b"returnval");
        if !secret {
            continue;
        }
        let Some(gt) = find(&body[name_end..], b">").map(|i| name_end + i) else {
            break;
        };
        if body[gt - 1] == b'/' {
            continue; // an empty element holds nothing
        }
        let content_start = gt + 1;
        let mut close = Vec::with_capacity(qname.len() + 2);
        close.extend_from_slice(b"</");
        close.extend_from_slice(qname);
        let content_end =
            find(&body[content_start..], &close).map_or(body.len(), |i| content_start + i);
        let o = out.get_or_insert_with(|| Vec::with_capacity(body.len()));
        o.extend_from_slice(&body[copied..content_start]);
        o.extend_from_slice(REDACTED.as_bytes());
        copied = content_end;
        at = content_end;
    }
    match out {
        None => std::borrow::Cow::Borrowed(body),
        Some(mut o) => {
            o.extend_from_slice(&body[copied..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// Delays before answering a SOAP call (vcsim's `DelayConfig`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delay {
    /// Every call, in milliseconds (`-delay`).
    pub all_ms: u64,
    /// Added for the named methods, in milliseconds (`-method-delay`).
    pub per_method_ms: BTreeMap<String, u64>,
    /// Coefficient of variation of a normal jitter around the delay (`-delay-jitter`).
    pub jitter: f64,
}

impl Delay {
    /// The delay for one call of `method` (zero when none is set).
    pub fn for_method(&self, method: &str) -> Duration {
        let base = self.all_ms + self.per_method_ms.get(method).copied().unwrap_or(0);
        if base == 0 {
            return Duration::ZERO;
        }
        let mut ms = base as f64;
        if self.jitter > 0.0 {
            ms += standard_normal() * self.jitter * base as f64;
        }
        Duration::from_millis(ms.clamp(0.0, MAX_DELAY_MS as f64) as u64)
    }
}

/// Parses `-method-delay`: `method1:delay1,method2:delay2` (milliseconds).
pub fn parse_method_delay(text: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut out = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((method, ms)) = item.split_once(':') else {
            return Err(format!("{item:?}: expected METHOD:MILLISECONDS"));
        };
        let ms: u64 = ms
            .trim()
            .parse()
            .map_err(|_| format!("{item:?}: the delay must be a whole number of milliseconds"))?;
        if ms > MAX_DELAY_MS {
            return Err(format!("{item:?}: at most {MAX_DELAY_MS} ms"));
        }
        out.insert(method.trim().to_owned(), ms);
        if out.len() > MAX_METHOD_DELAYS {
            return Err(format!("at most {MAX_METHOD_DELAYS} methods"));
        }
    }
    Ok(out)
}

/// A standard normal draw (Box–Muller over the OS random source; jitter needs no seed).
fn standard_normal() -> f64 {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.0;
    }
    let (a, b) = bytes.split_at(8);
    let unit = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        // 53 random bits in (0, 1].
        ((u64::from_le_bytes(w) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    };
    let (u1, u2) = (unit(a), unit(b));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `/about`, in vcsim's shape: `{"Methods": [...], "Types": [...]}`, sorted, the methods
/// this server dispatches and the managed object types in its inventory.
pub fn about_json(emu: &Emulator) -> serde_json::Value {
    let methods = crate::methods::served_method_names();
    let mut types: Vec<&str> = emu.inv.iter().map(|o| &*o.moref.ty).collect();
    types.sort_unstable();
    types.dedup();
    serde_json::json!({ "Methods": methods, "Types": types })
}

/// vcsim's `Model.Count()` names for the entity types it counts.
const MODEL_COUNTS: [(&str, &str); 11] = [
    ("Datacenter", "Datacenter"),
    ("DistributedVirtualPortgroup", "Portgroup"),
    ("ClusterComputeResource", "Cluster"),
    ("Datastore", "Datastore"),
    ("HostSystem", "Host"),
    ("VirtualMachine", "Machine"),
    ("ResourcePool", "Pool"),
    ("VirtualApp", "App"),
    ("Folder", "Folder"),
    ("StoragePod", "Pod"),
    ("OpaqueNetwork", "OpaqueNetwork"),
];

/// Counters the front keeps beside the emulator.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrontCounters {
    /// SOAP requests received.
    pub soap_requests: u64,
}

/// `/debug/vars` in Go's expvar shape: `cmdline` (this process's arguments), `memstats`
/// (only what Linux tells honestly: `Sys`, the resident set in bytes), and `vcsim`: the
/// inventory counted as vcsim's `Model.Count()` does, the live sessions, the managed
/// objects and the SOAP requests served.
pub fn debug_vars_json(emu: &Emulator, counters: FrontCounters) -> serde_json::Value {
    let cmdline = redact_cmdline(std::env::args_os().map(|a| a.to_string_lossy().into_owned()));
    let mut model = serde_json::Map::new();
    for (_, name) in MODEL_COUNTS {
        model.insert(name.to_owned(), 0.into());
    }
    let mut entities = 0u64;
    for o in emu.inv.iter() {
        if let Some((_, name)) = MODEL_COUNTS.iter().find(|(ty, _)| *ty == o.moref.ty)
            && let Some(n) = model.get_mut(*name)
        {
            *n = (n.as_u64().unwrap_or(0) + 1).into();
        }
        if o.props.contains_key("name") && o.props.contains_key("overallStatus") {
            entities += 1;
        }
    }
    let mut memstats = serde_json::Map::new();
    if let Some(rss) = resident_bytes() {
        memstats.insert("Sys".into(), rss.into());
    }
    serde_json::json!({
        "cmdline": cmdline,
        "memstats": memstats,
        "vcsim": {
            "model": model,
            "entities": entities,
            "objects": emu.inv.len(),
            "sessions": emu.sessions.len(),
            "requests": counters.soap_requests,
        },
    })
}

/// The command line with the value of every password flag (`-password P`, `--password=P`)
/// replaced by [`REDACTED`]: `/debug/vars` answers anyone who reaches the port (vcsim's
/// expvar shows the password as given).
fn redact_cmdline(args: impl Iterator<Item = String>) -> Vec<String> {
    let is_password_flag = |a: &str| {
        let name = a.trim_start_matches('-');
        a.starts_with('-') && name.to_ascii_lowercase().ends_with("password")
    };
    let mut out = Vec::new();
    let mut value_next = false;
    for a in args {
        if value_next {
            value_next = false;
            out.push(REDACTED.to_owned());
        } else if let Some((flag, _)) = a.split_once('=')
            && is_password_flag(flag)
        {
            out.push(format!("{flag}={REDACTED}"));
        } else {
            value_next = is_password_flag(&a);
            out.push(a);
        }
    }
    out
}

/// This process's resident set size, from `/proc/self/status` (None off Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn trace_writes_vcsims_lines() {
        let sink = Sink::default();
        let t = SoapTrace::new(Box::new(sink.clone()));
        t.request(b"<a/>");
        t.response(b"<b/>");
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "Request: <a/>\nResponse: <b/>\n");
    }

    #[test]
    fn trace_redacts_passwords_tickets_and_tokens() {
        let sink = Sink::default();
        let t = SoapTrace::new(Box::new(sink.clone()));
        t.request(b"<Login xmlns=\"urn:vim25\"><userName>u</userName><password>hunter2</password></Login>");
        t.request(b"<v:x><v:domainAdminPassword><v:value>pw2</v:value></v:domainAdminPassword><password/><auth><password xsi:type=\"xsd:string\">pw3</password></auth></v:x>");
        t.request(b"<CloneSession><cloneTicket>cst-VCT-1</cloneTicket></CloneSession>");
        t.request(b"<E><H><wsse:Security xmlns:wsse=\"x\"><saml2:Assertion ID=\"_tok\"/></wsse:Security></H></E>");
        t.response(b"<AcquireCloneTicketResponse><returnval>cst-VCT-2</returnval></AcquireCloneTicketResponse>");
        t.request(b"<Login><password>unclosed");
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        for secret in ["hunter2", "pw2", "pw3", "cst-VCT", "_tok", "unclosed"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("<userName>u</userName><password>(redacted)</password></Login>"),
            "{text}"
        );
        assert!(text.contains("<password/>"), "{text}");
        assert!(
            text.contains("<wsse:Security xmlns:wsse=\"x\">(redacted)</wsse:Security>"),
            "{text}"
        );
        // Bodies without secrets pass unchanged.
        assert!(matches!(
            redact_secrets(b"<a><userName>p</userName>"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(&*redact_secrets(b"<"), b"<");
        assert_eq!(&*redact_secrets(b"<password"), b"<password");
    }

    #[test]
    fn method_delay_parses_and_refuses_bad_items() {
        let d = parse_method_delay("RetrieveServiceContent:10, Login:5").unwrap();
        assert_eq!(d.get("Login"), Some(&5));
        assert!(parse_method_delay("Login").is_err());
        assert!(parse_method_delay("Login:x").is_err());
        assert!(parse_method_delay("Login:99999999999").is_err());
        let delay = Delay {
            all_ms: 1,
            per_method_ms: d,
            jitter: 0.0,
        };
        assert_eq!(delay.for_method("Login"), Duration::from_millis(6));
        assert_eq!(delay.for_method("Logout"), Duration::from_millis(1));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let delay = Delay {
            all_ms: 100,
            per_method_ms: BTreeMap::new(),
            jitter: 0.5,
        };
        for _ in 0..100 {
            assert!(delay.for_method("X") <= Duration::from_millis(MAX_DELAY_MS));
        }
    }

    #[test]
    fn debug_vars_hide_passwords_given_on_the_command_line() {
        let args = [
            "vcsim",
            "-password",
            "p1",
            "--password=p2",
            "-username",
            "u",
            "-dc",
            "2",
            "--password",
        ];
        assert_eq!(
            redact_cmdline(args.iter().map(|a| a.to_string())),
            [
                "vcsim",
                "-password",
                REDACTED,
                "--password=(redacted)",
                "-username",
                "u",
                "-dc",
                "2",
                "--password",
            ]
        );
    }

    #[test]
    fn debug_vars_count_the_model() {
        let emu = Emulator::new(crate::Config::default()).unwrap();
        let v = debug_vars_json(&emu, FrontCounters { soap_requests: 3 });
        assert_eq!(v["vcsim"]["model"]["Datacenter"], 1);
        assert_eq!(v["vcsim"]["requests"], 3);
        assert!(v["cmdline"].as_array().is_some_and(|a| !a.is_empty()));
        let about = about_json(&emu);
        assert!(
            about["Methods"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == "RetrieveServiceContent")
        );
        assert!(
            about["Types"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "Folder")
        );
    }
}
