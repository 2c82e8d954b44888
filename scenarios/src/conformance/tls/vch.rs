//! A VCH the TLS suite created (vic-machine's output and cert path, read back), the argument
//! and file helpers the cases share, and the observations several cases make of a VCH.

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{PLAIN_TO_TLS, Run, probe};
use crate::testbed::VchHandle;

/// A VCH the suite created.
pub(super) struct Vch {
    pub(super) name: String,
    pub(super) ip: IpAddr,
    pub(super) dir: PathBuf,
    /// vic-machine's lines without the `INFO[0000] ` prefix.
    pub(super) lines: Vec<String>,
    /// The `Connect to docker:` options.
    pub(super) docker_args: Vec<String>,
    /// When create started.
    pub(super) created: OffsetDateTime,
}

/// A created VCH, or why there is none (the observed text of every case on it).
pub(super) type Deployed = Result<Vch, String>;

impl Vch {
    pub(super) fn from_handle(h: VchHandle, created: OffsetDateTime) -> Vch {
        Vch {
            lines: h.output.iter().map(|l| strip_log(l).to_owned()).collect(),
            name: h.name,
            ip: h.address,
            dir: h.cert_dir,
            docker_args: h.docker_args,
            created,
        }
    }

    /// The line after `header`.
    pub(super) fn after(&self, header: &str) -> String {
        self.lines
            .iter()
            .position(|l| l == header)
            .and_then(|i| self.lines.get(i + 1))
            .cloned()
            .unwrap_or_else(|| format!("no line after {header:?}"))
    }

    pub(super) fn has_line(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    /// The first line starting with `prefix`, or ``no `<prefix>` line``.
    pub(super) fn line_starting(&self, prefix: &str) -> String {
        self.lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| format!("no `{}` line", prefix.trim_end()))
    }

    /// The `Generating …` lines.
    pub(super) fn generating(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.starts_with("Generating "))
            .map(String::as_str)
            .collect()
    }

    /// `warning` when printed, else `no "<warning>" warning`.
    pub(super) fn warning(&self, warning: &str) -> String {
        if self.has_line(warning) {
            warning.to_owned()
        } else {
            format!("no {warning:?} warning")
        }
    }

    /// The `Docker environment variables:` line as variables.
    pub(super) fn env(&self) -> Vec<(String, String)> {
        self.after("Docker environment variables:")
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
            .collect()
    }

    pub(super) fn docker_host(&self) -> String {
        self.env()
            .into_iter()
            .find(|(k, _)| k == "DOCKER_HOST")
            .map_or_else(|| "no DOCKER_HOST".to_owned(), |(k, v)| format!("{k}={v}"))
    }

    pub(super) fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    pub(super) fn read(&self, name: &str) -> Result<String, String> {
        fs::read_to_string(self.dir.join(name))
            .map_err(|e| format!("cannot read {}: {e}", self.file(name)))
    }
}

/// The VCH, or (a copy of) why there is none.
pub(super) fn deployed(vch: &Deployed) -> Result<&Vch, String> {
    vch.as_ref().map_err(Clone::clone)
}

/// `f` of the VCH, or why there is none.
pub(super) fn observe(vch: &Deployed, f: impl FnOnce(&Vch) -> String) -> String {
    deployed(vch).map_or_else(|e| e, f)
}

impl Run<'_> {
    /// `ok: <name>` when `docker ARGS` succeeds, or `refused: <refusal>` when it fails so.
    pub(super) async fn cli(
        &self,
        vch: &Deployed,
        refusal: Option<&str>,
        args: impl FnOnce(&Vch) -> Result<Vec<String>, String>,
    ) -> String {
        match deployed(vch).and_then(args) {
            Err(e) => e,
            Ok(a) => match refusal {
                None => self.docker.works(&a, &[]).await,
                Some(fragment) => self.docker.refused(&a, &[], fragment).await,
            },
        }
    }

    pub(super) async fn cli_works(
        &self,
        vch: &Deployed,
        args: impl FnOnce(&Vch) -> Result<Vec<String>, String>,
    ) -> String {
        self.cli(vch, None, args).await
    }

    pub(super) async fn cli_refused(
        &self,
        vch: &Deployed,
        fragment: &str,
        args: impl FnOnce(&Vch) -> Result<Vec<String>, String>,
    ) -> String {
        self.cli(vch, Some(fragment), args).await
    }

    /// The docker command vic-machine printed, run with `info`.
    pub(super) async fn printed_command_works(&self, vch: &Deployed) -> String {
        self.cli_works(vch, |v| Ok(with_info(v.docker_args.clone())))
            .await
    }

    /// Plain HTTP to the TLS port 2376.
    pub(super) async fn plain_http_refused(&self, vch: &Deployed) -> String {
        self.cli_refused(vch, PLAIN_TO_TLS, |v| Ok(with_info(host(v.ip, 2376))))
            .await
    }

    /// The case that the VCH's DOCKER_HOST is on port `open`, which is open, and `closed` is
    /// closed.
    pub(super) async fn port_case(
        &mut self,
        (id, description): (&str, &str),
        vch: &Deployed,
        ip: Ipv4Addr,
        (open, closed): (u16, u16),
    ) {
        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => format!(
                "{}; {open} {}; {closed} {}",
                v.docker_host(),
                probe::port_state(v.ip, open).await,
                probe::port_state(v.ip, closed).await
            ),
        };
        self.case(
            id,
            description,
            format!("DOCKER_HOST={ip}:{open}; {open} open; {closed} closed"),
            observed,
            "vic-machine+engine",
        );
    }
}

/// A captured line without vic-machine's `INFO[0001] ` prefix.
pub(super) fn strip_log(line: &str) -> &str {
    let rest = match line.split_once("] ") {
        Some((head, rest)) if head.len() <= 12 && head.contains('[') => rest,
        _ => line,
    };
    rest.trim()
}

pub(super) fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

pub(super) fn host(ip: IpAddr, port: u16) -> Vec<String> {
    vec!["-H".into(), format!("{ip}:{port}")]
}

/// `args` followed by `info --format {{.Name}}`.
pub(super) fn with_info(mut args: Vec<String>) -> Vec<String> {
    args.extend(s(&["info", "--format", "{{.Name}}"]));
    args
}

/// `-H ip:2376 --tlsverify --tlscacert=CA [--tlscert=C --tlskey=K] info --format {{.Name}}`.
pub(super) fn verify_args(ip: IpAddr, ca: &str, client: Option<(&str, &str)>) -> Vec<String> {
    let mut a = host(ip, 2376);
    a.push("--tlsverify".into());
    a.push(format!("--tlscacert={ca}"));
    if let Some((c, k)) = client {
        a.push(format!("--tlscert={c}"));
        a.push(format!("--tlskey={k}"));
    }
    with_info(a)
}

#[cfg(unix)]
pub(super) fn mode_of(p: &Path) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    match fs::metadata(p) {
        Ok(m) => format!("{:04o}", m.permissions().mode() & 0o777),
        Err(e) => format!("unreadable ({e})"),
    }
}

#[cfg(not(unix))]
pub(super) fn mode_of(p: &Path) -> String {
    if p.exists() { "exists" } else { "missing" }.to_owned()
}

/// `dir <mode>, <name> <mode>, …` for `dir` and the files `names` in it.
pub(super) fn modes_line<I>(dir: &Path, names: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut parts = vec![format!("dir {}", mode_of(dir))];
    parts.extend(names.into_iter().map(|n| {
        let n = n.as_ref();
        format!("{n} {}", mode_of(&dir.join(n)))
    }));
    parts.join(", ")
}

/// Sorted file names of `dir`.
pub(super) fn listing(dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// File name → bytes.
pub(super) fn snapshot(dir: &Path, names: &[&str]) -> BTreeMap<String, Option<Vec<u8>>> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), fs::read(dir.join(n)).ok()))
        .collect()
}

pub(super) fn write(path: &Path, text: &str) -> Result<String, String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.display().to_string())
}
