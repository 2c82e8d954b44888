//! vic-machine for the TLS suite: `create` (one that must work and one that must fail),
//! `delete`, `ls`, and the clean-up of every VCH the suite made.

use std::net::Ipv4Addr;
use std::path::Path;

use time::OffsetDateTime;

use super::vch::{Vch, listing, s, strip_log};
use super::{BRIDGE, COMPUTE, Run};
use crate::testbed::TestbedError;

/// `--name NAME --compute-resource … --bridge-network …`.
fn create_args(name: &str) -> Vec<String> {
    s(&[
        "--name",
        name,
        "--compute-resource",
        COMPUTE,
        "--bridge-network",
        BRIDGE,
    ])
}

impl Run<'_> {
    /// `vic-machine create` on a static client address with the cert path `dir`.
    pub(super) async fn create(
        &mut self,
        name: &str,
        ip: Option<Ipv4Addr>,
        dir: &Path,
        extra: &[String],
    ) -> Result<Vch, String> {
        let mut args = create_args(name);
        if let Some(ip) = ip {
            args.push("--client-network-ip".into());
            args.push(format!("{ip}/8"));
        }
        args.push("--tls-cert-path".into());
        args.push(dir.display().to_string());
        args.extend_from_slice(extra);
        let created = OffsetDateTime::now_utc();
        match self.tb.create_vch(&args).await {
            Ok(h) => {
                self.made.push(name.to_owned());
                Ok(Vch::from_handle(h, created))
            }
            Err(TestbedError::Machine { message, .. }) => {
                Err(format!("vic-machine create {name} failed: {message}"))
            }
            Err(e) => Err(format!("vic-machine create {name} failed: {e}")),
        }
    }

    pub(super) async fn delete(&mut self, name: &str) -> Result<(), String> {
        let (_, r) = self
            .tb
            .vic_machine(
                "delete",
                &s(&["--name", name, "--compute-resource", COMPUTE]),
            )
            .await;
        self.made.retain(|n| n != name);
        r.map_err(|f| format!("vic-machine delete {name} failed: {}", f.message))
    }

    pub(super) async fn cleanup(&mut self) {
        for name in std::mem::take(&mut self.made) {
            if let Err(e) = self.delete(&name).await {
                self.r.notes.push(e);
            }
        }
    }

    /// Whether `vic-machine ls` lists `name`.
    async fn listed(&self, name: &str) -> String {
        let (lines, r) = self
            .tb
            .vic_machine("ls", &s(&["--compute-resource", COMPUTE]))
            .await;
        if let Err(f) = r {
            return format!("ls failed: {}", f.message);
        }
        let found = lines
            .iter()
            .any(|l| strip_log(l).split_whitespace().nth(2) == Some(name));
        if found { "yes" } else { "no" }.to_owned()
    }

    /// A create that must fail: `failed: <message>; VCH listed: <yes|no>; cert path: <…>`,
    /// with the message passed through `shape`.
    pub(super) async fn failing_create(
        &mut self,
        name: &str,
        dir: &Path,
        extra: &[String],
        shape: impl Fn(&str) -> String,
    ) -> (String, Vec<String>) {
        let mut args = create_args(name);
        args.push("--tls-cert-path".into());
        args.push(dir.display().to_string());
        args.extend_from_slice(extra);
        let (lines, r) = self.tb.vic_machine("create", &args).await;
        let lines: Vec<String> = lines.iter().map(|l| strip_log(l).to_owned()).collect();
        let head = match r {
            Ok(()) => {
                self.made.push(name.to_owned());
                "succeeded".to_owned()
            }
            Err(f) => format!("failed: {}", shape(&f.message)),
        };
        let listed = self.listed(name).await;
        let path = if dir.exists() {
            match listing(dir) {
                Ok(l) if l.is_empty() => "empty".to_owned(),
                Ok(l) => l.join(" "),
                Err(e) => e,
            }
        } else {
            "absent".to_owned()
        };
        (
            format!("{head}; VCH listed: {listed}; cert path: {path}"),
            lines,
        )
    }
}
