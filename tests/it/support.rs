//! Test support: start `vicbed serve` as a child process, run the pyvmomi scripts against
//! it, and speak raw HTTP/1.1 to it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long `vicbed serve` may take to print its `export GOVC_URL=…` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take to exit after SIGTERM/SIGINT.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one interop script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);
/// Captured output kept per stream (the tail beyond this is dropped).
const CAPTURE_LIMIT: usize = 1 << 20;

/// The repository root (the root package's manifest directory).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A running `vicbed serve`, stopped (SIGTERM, clean exit asserted) by [`Server::stop`]
/// and killed on drop if a test panicked before that.
pub struct Server {
    child: Option<Child>,
    /// `GOVC_URL` as printed, e.g. `http://user:pass@127.0.0.1:41234/sdk`.
    pub url: String,
    /// Every `export NAME=VALUE` line printed at start-up (shell quotes removed).
    pub exports: BTreeMap<String, String>,
    /// The listening address taken from the URL.
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
    /// How many export lines were read (vcsim puts all its exports on one line).
    export_lines: usize,
}

impl Server {
    /// Starts `vicbed serve --listen 127.0.0.1:0 ARGS…` and waits for its export lines.
    pub fn start(args: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vicbed"));
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args);
        Server::spawn(cmd)
    }

    /// Starts an already prepared command (which must print the export lines).
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_BACKTRACE", "1")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stderr = capture(child.stderr.take().expect("stderr is piped"));
        let stdout = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        {
            let out = child.stdout.take().expect("stdout is piped");
            let stdout = Arc::clone(&stdout);
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    push_limited(&stdout, &line);
                    push_limited(&stdout, "\n");
                    let _ = tx.send(line);
                }
            });
        }

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut exports = BTreeMap::new();
        let mut export_lines = 0;
        let mut first = true;
        loop {
            let now = Instant::now();
            // After the URL line the rest follows at once; stop at GOVC_SIM_PID or a short lull.
            let wait = if first {
                deadline.saturating_duration_since(now)
            } else {
                Duration::from_secs(2).min(deadline.saturating_duration_since(now))
            };
            match rx.recv_timeout(wait) {
                Ok(line) => {
                    let Some(pairs) = parse_exports(&line) else {
                        fail_startup(
                            &mut child,
                            &stderr,
                            &format!("unexpected stdout line {line:?}"),
                        );
                    };
                    if first && pairs[0].0 != "GOVC_URL" {
                        fail_startup(
                            &mut child,
                            &stderr,
                            &format!("the first stdout line must export GOVC_URL, got {line:?}"),
                        );
                    }
                    first = false;
                    export_lines += 1;
                    let done = pairs.iter().any(|(name, _)| name == "GOVC_SIM_PID");
                    exports.extend(pairs);
                    if done {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if !first => break,
                Err(mpsc::RecvTimeoutError::Timeout) => fail_startup(
                    &mut child,
                    &stderr,
                    &format!("no `export GOVC_URL=` line within {STARTUP_TIMEOUT:?}"),
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) if !first => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => fail_startup(
                    &mut child,
                    &stderr,
                    "stdout closed before `export GOVC_URL=`",
                ),
            }
        }
        let url = exports["GOVC_URL"].clone();
        let addr = url_addr(&url).unwrap_or_else(|| panic!("cannot parse host:port of {url:?}"));
        Server {
            child: Some(child),
            url,
            exports,
            addr,
            stderr,
            stdout,
            export_lines,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server already stopped").id()
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sends a signal (`TERM`, `INT`, …) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("cannot run kill");
        assert!(
            status.success(),
            "kill -{name} {} failed: {status}",
            self.pid()
        );
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut().expect("server already stopped");
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() >= deadline => return None,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for the server: {e}"),
            }
        }
    }

    /// Stops the server with `signal` and asserts a clean exit (status 0) in time.
    /// Returns how long the shutdown took.
    pub fn stop_with(mut self, signal: &str) -> Duration {
        if let Some(status) = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            panic!(
                "the server died during the test ({status}); stderr:\n{}",
                self.stderr()
            );
        }
        let started = Instant::now();
        self.signal(signal);
        let status = self.wait_exit(SHUTDOWN_TIMEOUT);
        let took = started.elapsed();
        let Some(status) = status else {
            let _ = self.child.as_mut().map(Child::kill);
            panic!(
                "the server did not exit within {SHUTDOWN_TIMEOUT:?} of SIG{signal}; stderr:\n{}",
                self.stderr()
            );
        };
        self.child = None;
        assert!(
            status.success(),
            "SIG{signal} should end the server cleanly, got {status}; stderr:\n{}",
            self.stderr()
        );
        let stderr = self.stderr();
        assert!(
            !stderr.contains("panicked"),
            "the server panicked; stderr:\n{stderr}"
        );
        // The export lines are printed once; nothing else goes to stdout (logs go to stderr).
        thread::sleep(Duration::from_millis(50));
        let stdout = self.stdout.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(
            stdout.lines().count(),
            self.export_lines,
            "stdout should hold only the export lines, printed once:\n{stdout}"
        );
        took
    }

    /// [`Server::stop_with`] SIGTERM.
    pub fn stop(self) -> Duration {
        self.stop_with("TERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if thread::panicking() {
                eprintln!(
                    "--- vicbed serve stdout ---\n{}",
                    self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
                );
                eprintln!("--- vicbed serve stderr ---\n{}", self.stderr());
            }
        }
    }
}

fn fail_startup(child: &mut Child, stderr: &Arc<Mutex<String>>, why: &str) -> ! {
    let _ = child.kill();
    let status = child
        .wait()
        .map(|s| s.to_string())
        .unwrap_or_else(|e| e.to_string());
    // Give the stderr reader a moment to drain what the process wrote before dying.
    thread::sleep(Duration::from_millis(200));
    let err = stderr.lock().map(|s| s.clone()).unwrap_or_default();
    panic!("vicbed serve did not start: {why} (exit: {status}); stderr:\n{err}");
}

/// `export NAME=VALUE` → (NAME, VALUE), with one level of shell quotes removed.
pub fn parse_export(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("export ")?;
    let (name, value) = rest.split_once('=')?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let value = match value.as_bytes() {
        [b'\'', .., b'\''] | [b'"', .., b'"'] if value.len() >= 2 => &value[1..value.len() - 1],
        _ => value,
    };
    Some((name.to_owned(), value.to_owned()))
}

/// `export A=1 B='x y'` → [(A, 1), (B, x y)]: every assignment of an export line (vcsim
/// writes `export GOVC_URL=… GOVC_SIM_PID=…` on one line); None when any part is not one.
pub fn parse_exports(line: &str) -> Option<Vec<(String, String)>> {
    let rest = line.strip_prefix("export ")?;
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in rest.chars() {
        match (quote, c) {
            (None, ' ') => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                word.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                word.push(c);
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let pairs: Option<Vec<_>> = words
        .iter()
        .map(|w| parse_export(&format!("export {w}")))
        .collect();
    pairs.filter(|p| !p.is_empty())
}

/// `scheme://user:pass@HOST:PORT/path` → HOST:PORT.
pub fn url_addr(url: &str) -> Option<SocketAddr> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    hostport.parse().ok()
}

fn capture(mut stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buf = Arc::new(Mutex::new(String::new()));
    let out = Arc::clone(&buf);
    thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => push_limited(&out, &String::from_utf8_lossy(&chunk[..n])),
            }
        }
    });
    buf
}

fn push_limited(buf: &Arc<Mutex<String>>, text: &str) {
    if let Ok(mut s) = buf.lock() {
        s.push_str(text);
        if s.len() > CAPTURE_LIMIT {
            let mut cut = s.len() - CAPTURE_LIMIT / 2;
            while !s.is_char_boundary(cut) {
                cut += 1;
            }
            s.replace_range(..cut, "[…]");
        }
    }
}

// ------------------------------------------------------------------------------------------
// Python

/// The interpreter for the interop scripts: `$VICBED_PYTHON`, else `.venv/bin/python` of the
/// repository, else `python3`. Panics (never skips) when pyVmomi cannot be imported with it.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        let python = match std::env::var_os("VICBED_PYTHON") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                let venv = repo_root().join(".venv/bin/python");
                if venv.exists() {
                    venv
                } else {
                    PathBuf::from("python3")
                }
            }
        };
        let probe = Command::new(&python)
            .args([
                "-c",
                "import pyVmomi, pyVim.connect; print(pyVmomi.__file__)",
            ])
            .stdin(Stdio::null())
            .output();
        match probe {
            Ok(out) if out.status.success() => Ok(python),
            Ok(out) => Err(format!(
                "{} cannot import pyVmomi ({}): {}",
                python.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run {}: {e}", python.display())),
        }
    });
    match found {
        Ok(p) => p,
        Err(why) => panic!(
            "the pyvmomi interop tests need Python with pyvmomi: {why}.\n\
             Run `bash scripts/test.sh` (it creates .venv with the pinned pyvmomi from \
             tests/interop/requirements.txt), or point VICBED_PYTHON at an interpreter that has it."
        ),
    }
}

/// The result of one interop script.
pub struct ScriptRun {
    /// What the script printed (its `ok …` lines).
    pub stdout: String,
    /// Its stderr (tracebacks).
    pub stderr: String,
}

/// Runs `tests/interop/<script> <server url> ARGS…` and asserts exit status 0, printing the
/// script's output (and the server's stderr) on failure.
pub fn run_script(server: &Server, script: &str, args: &[&str]) -> ScriptRun {
    run_script_url(&server.url, script, args, Some(server))
}

/// [`run_script`] against a URL, with the server (if any) for diagnostics.
pub fn run_script_url(
    url: &str,
    script: &str,
    args: &[&str],
    server: Option<&Server>,
) -> ScriptRun {
    let dir = repo_root().join("tests/interop");
    let path = dir.join(script);
    assert!(path.exists(), "no interop script {}", path.display());
    let started = Instant::now();
    let mut child = Command::new(python())
        .arg(&path)
        .arg(url)
        .args(args)
        .current_dir(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let out = capture(child.stdout.take().expect("piped"));
    let err = capture(child.stderr.take().expect("piped"));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > SCRIPT_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for {script}: {e}"),
        }
    };
    // The pipes close with the process; let the readers finish.
    let drain_deadline = Instant::now() + Duration::from_secs(5);
    while Arc::strong_count(&out) + Arc::strong_count(&err) > 2 && Instant::now() < drain_deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let run = ScriptRun {
        stdout: out.lock().map(|s| s.clone()).unwrap_or_default(),
        stderr: err.lock().map(|s| s.clone()).unwrap_or_default(),
    };
    let ok = status.is_some_and(|s| s.success());
    if !ok {
        let what = match status {
            Some(s) => format!("exited with {s}"),
            None => format!("timed out after {SCRIPT_TIMEOUT:?}"),
        };
        let server_err = server.map(Server::stderr).unwrap_or_default();
        panic!(
            "interop script {script} {what} (python: {python})\n\
             --- {script} stdout ---\n{out}\n--- {script} stderr ---\n{err}\n\
             --- vicbed serve stderr ---\n{server_err}",
            python = python().display(),
            out = run.stdout,
            err = run.stderr,
        );
    }
    run
}

// ------------------------------------------------------------------------------------------
// Raw HTTP/1.1

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connects with read/write timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .expect("write timeout");
    stream
}

/// Sends raw bytes on a fresh connection and reads one response.
pub fn roundtrip(addr: SocketAddr, request: &[u8]) -> Response {
    let mut stream = connect(addr);
    stream.write_all(request).expect("write request");
    read_response(&mut stream).unwrap_or_else(|e| panic!("reading the response: {e}"))
}

/// A SOAP 1.1 POST to /sdk with `body_xml` inside a pyvmomi-style envelope.
pub fn soap_request(addr: SocketAddr, body_xml: &str, extra_headers: &str) -> Vec<u8> {
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <soapenv:Body>{body_xml}</soapenv:Body></soapenv:Envelope>"
    );
    format!(
        "POST /sdk HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=UTF-8\r\n\
         SOAPAction: \"urn:vim25/8.0.3.0\"\r\n{extra_headers}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{envelope}",
        envelope.len()
    )
    .into_bytes()
}

/// Reads one HTTP/1.1 response (Content-Length, chunked, or until EOF).
pub fn read_response(stream: &mut impl Read) -> Result<Response, String> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| format!("status line: {e}"))?;
    if line.is_empty() {
        return Err("connection closed before a status line".into());
    }
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("header: {e}"))?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| format!("bad header {l:?}"))?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let mut body = Vec::new();
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            line.clear();
            reader
                .read_line(&mut line)
                .map_err(|e| format!("chunk size: {e}"))?;
            let size_text = line.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                // Trailers until the empty line.
                loop {
                    line.clear();
                    let n = reader
                        .read_line(&mut line)
                        .map_err(|e| format!("trailer: {e}"))?;
                    if n == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader
                .read_exact(&mut body[start..])
                .map_err(|e| format!("chunk: {e}"))?;
            line.clear();
            reader
                .read_line(&mut line)
                .map_err(|e| format!("chunk end: {e}"))?;
        }
    } else if let Some(len) = headers.get("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad content-length {len:?}"))?;
        body.resize(len, 0);
        reader
            .read_exact(&mut body)
            .map_err(|e| format!("body: {e}"))?;
    } else if status >= 200 && status != 204 && status != 304 {
        reader
            .read_to_end(&mut body)
            .map_err(|e| format!("body: {e}"))?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Extracts the text of the first `<tag>…</tag>` (no nesting, no attributes) in `xml`.
pub fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

/// Runs the `vicbed` binary with `args` and waits for it.
pub fn vicbed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vicbed"))
        .args(args)
        .output()
        .expect("vicbed runs")
}

/// A process output stream as text.
pub fn output_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A loopback address in 127.0.3.0/24 (no other test binary uses it) for a VCH's
/// `--client-network-ip`: never handed out before in this process (tests run in parallel),
/// and with both Docker ports bindable now (another run on the machine is not using it).
pub fn free_client_ip() -> String {
    static GIVEN: std::sync::Mutex<u8> = std::sync::Mutex::new(10);
    let mut next = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    while *next < 250 {
        let ip = format!("127.0.3.{next}");
        *next += 1;
        if std::net::TcpListener::bind((ip.as_str(), 2376)).is_ok()
            && std::net::TcpListener::bind((ip.as_str(), 2375)).is_ok()
        {
            return ip;
        }
    }
    panic!("no free loopback address left in 127.0.3.0/24")
}
