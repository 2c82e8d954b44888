//! Running a [`CliCommand`] against the endpoint as the docker CLI does, and the typed
//! queries.
//!
//! What the CLI does per command, mirrored here: `run -d`/`create` create the container and,
//! when the daemon answers `No such image`, print `Unable to find image '…' locally`, pull
//! (`POST /images/create?fromImage=…&tag=…`, progress on stderr) and create again; `run -d`
//! prints the id, then starts; `run` in the foreground and `exec` attach (the `attach`
//! module). `start`/`stop`/`kill`/`restart`/`rm` print each container as
//! given; `wait` each exit code; `rename` nothing; `ps` the table (or ids with `-q`);
//! `inspect` the JSON array; `logs` the demultiplexed streams. The image workflow
//! (`build`, `login`, `push`, …) runs in `image_verbs`.
//!
//! Failures: a daemon refusal is printed as `Error response from daemon: <message>` (a
//! pull-stream error without the prefix, as the CLI prints it); `run` prefixes `docker: `,
//! adds the `--help` hint and exits 125, the others (`create` included, as docker 28 does)
//! exit 1. Transport failures (cannot connect, TLS, timeouts) end
//! [`DockerClient::execute`] with `Err`; [`DockerClient::execute_cli`] renders those the
//! same way.

use super::body::create_body;
use super::cli::{CliCommand, InspectKind, RunArgs};
use super::error::ClientError;
use super::http::Response;
use super::image_verbs::REGISTRY_AUTH;
use super::render;
use super::types::{CliOutput, ContainerDetails, ContainerSummary};
use super::{API_PREFIX, DockerClient};
use crate::images::Reference;
use serde_json::Value as Json;
use std::time::Duration;

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
pub(super) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `e` is a transport failure rather than an answer.
fn is_transport(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Connect { .. }
            | ClientError::Tls { .. }
            | ClientError::TlsConfig(_)
            | ClientError::Http { .. }
            | ClientError::Timeout { .. }
            | ClientError::Usage(_)
    )
}

/// The daemon's message in an error answer: the JSON `message`, else the text.
pub(super) fn daemon_error(r: &Response) -> ClientError {
    let message = serde_json::from_slice::<Json>(&r.body)
        .ok()
        .and_then(|v| v.get("message").and_then(Json::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&r.body).trim().to_owned());
    let message = if message.is_empty() {
        format!("HTTP status {}", r.status)
    } else {
        message
    };
    ClientError::Daemon {
        status: r.status,
        message,
    }
}

/// An image reference with its tag, as the CLI shows it (`progrium/stress:latest`).
fn tagged(image: &str) -> String {
    Reference::parse(image).map_or_else(|| image.to_owned(), |r| r.canonical())
}

/// The fully qualified name `docker pull` prints last (`docker.io/library/nginx:latest`).
pub(super) fn qualified(image: &str) -> String {
    match Reference::parse(image) {
        Some(r) if r.registry.is_none() => {
            let library = if r.repository.contains('/') {
                ""
            } else {
                "library/"
            };
            format!("docker.io/{library}{}:{}", r.repository, r.tag)
        }
        Some(r) => r.canonical(),
        None => image.to_owned(),
    }
}

/// Whether the reference names a tag (or digest) itself.
pub(super) fn has_tag(image: &str) -> bool {
    image.contains('@')
        || image
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
}

impl CliOutput {
    /// Records a failure as the CLI prints it for `command`.
    fn fail(&mut self, command: &str, e: ClientError) {
        if command == "run" {
            self.stderr.push_str(&format!(
                "docker: {e}\n\nRun 'docker {command} --help' for more information\n"
            ));
            self.exit_code = 125;
        } else {
            self.stderr.push_str(&format!("{e}\n"));
            self.exit_code = 1;
        }
        if self.error.is_none() {
            self.error = Some(e);
        }
    }
}

impl DockerClient {
    /// One request; error statuses (≥ 400) become [`ClientError::Daemon`].
    pub(super) async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        self.call_with(method, path, bytes.as_deref(), &[], timeout)
            .await
    }

    /// [`DockerClient::call`] with a raw `body` and extra `headers` (`X-Registry-Auth`,
    /// a `Content-Type` other than JSON).
    pub(super) async fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        let full = format!("{API_PREFIX}{path}");
        let r = self
            .transport
            .send(method, &full, body, headers, timeout)
            .await?;
        if r.status >= 400 {
            return Err(daemon_error(&r));
        }
        Ok(r)
    }

    pub(super) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.request_timeout_s)
    }

    pub(super) fn wait_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.wait_timeout_s)
    }

    pub(super) async fn get_json(&self, path: &str) -> Result<Json, ClientError> {
        let r = self.call("GET", path, None, self.request_timeout()).await?;
        serde_json::from_slice(&r.body).map_err(|e| ClientError::Decode {
            what: format!("GET {path}"),
            reason: e.to_string(),
        })
    }

    pub(super) async fn post(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        self.call("POST", path, None, timeout).await
    }

    /// `GET /_ping`.
    pub async fn ping(&self) -> Result<(), ClientError> {
        self.call("GET", "/_ping", None, self.request_timeout())
            .await
            .map(|_| ())
    }

    /// `GET /containers/json` (`all` includes stopped containers).
    pub async fn containers(&self, all: bool) -> Result<Vec<ContainerSummary>, ClientError> {
        self.list(all, &[]).await
    }

    async fn list(
        &self,
        all: bool,
        filters: &[(String, String)],
    ) -> Result<Vec<ContainerSummary>, ClientError> {
        let mut path = String::from("/containers/json");
        let mut query = Vec::new();
        if all {
            query.push("all=1".to_owned());
        }
        if !filters.is_empty() {
            let mut map = serde_json::Map::new();
            for (k, v) in filters {
                let entry = map
                    .entry(k.clone())
                    .or_insert_with(|| Json::Object(Default::default()));
                if let Some(o) = entry.as_object_mut() {
                    o.insert(v.clone(), Json::Bool(true));
                }
            }
            query.push(format!("filters={}", enc(&Json::Object(map).to_string())));
        }
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let v = self.get_json(&path).await?;
        let list = v.as_array().ok_or_else(|| ClientError::Decode {
            what: "GET /containers/json".into(),
            reason: "not a JSON array".into(),
        })?;
        Ok(list.iter().map(ContainerSummary::from_json).collect())
    }

    /// `GET /containers/{id}/json`, typed.
    pub async fn inspect_container(&self, id: &str) -> Result<ContainerDetails, ClientError> {
        let v = self
            .get_json(&format!("/containers/{}/json", enc(id)))
            .await?;
        Ok(ContainerDetails::from_json(&v))
    }

    /// Runs `cmd` as the docker CLI would; `Err` only for transport failures (cannot
    /// connect, TLS, timeouts, unreadable HTTP), which end the command.
    pub async fn execute(&self, cmd: &CliCommand) -> Result<CliOutput, ClientError> {
        let mut out = CliOutput::default();
        let name = cmd.name();
        let result = match cmd {
            CliCommand::Run(a) => self.run(a, true, &mut out).await,
            CliCommand::Create(a) => self.run(a, false, &mut out).await,
            CliCommand::Start { containers } => self.start(containers, &mut out).await,
            CliCommand::Stop {
                timeout_s,
                containers,
            }
            | CliCommand::Restart {
                timeout_s,
                containers,
            } => {
                let op = name;
                let q = timeout_s.map(|t| format!("?t={t}")).unwrap_or_default();
                self.each(containers, &mut out, |c| {
                    format!("/containers/{}/{op}{q}", enc(c))
                })
                .await
            }
            CliCommand::Kill { signal, containers } => {
                let q = signal
                    .as_ref()
                    .map(|s| format!("?signal={}", enc(s)))
                    .unwrap_or_default();
                self.each(containers, &mut out, |c| {
                    format!("/containers/{}/kill{q}", enc(c))
                })
                .await
            }
            CliCommand::Rm {
                force,
                volumes,
                containers,
            } => self.remove(*force, *volumes, containers, &mut out).await,
            CliCommand::Rename { old, new } => {
                let path = format!("/containers/{}/rename?name={}", enc(old), enc(new));
                match self.post(&path, self.request_timeout()).await {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        Self::record(&mut out, e)?;
                        out.stderr
                            .push_str(&format!("Error: failed to rename container named {old}\n"));
                        Ok(())
                    }
                }
            }
            CliCommand::Pull { image, quiet } => self.pull_cmd(image, *quiet, &mut out).await,
            CliCommand::Ps {
                all,
                quiet,
                no_trunc,
                filters,
            } => self.ps(*all, *quiet, *no_trunc, filters, &mut out).await,
            CliCommand::Inspect { kind, targets } => self.inspect(*kind, targets, &mut out).await,
            CliCommand::Logs {
                container,
                follow,
                timestamps,
                tail,
            } => {
                self.logs(container, *follow, *timestamps, tail.as_deref(), &mut out)
                    .await
            }
            CliCommand::Wait { containers } => self.wait(containers, &mut out).await,
            CliCommand::Exec(a) => self.exec(a, &mut out).await,
            CliCommand::Volume(v) => self.volume(v, &mut out).await,
            CliCommand::Image(c) => self.image(c, &mut out).await,
            CliCommand::Info => self.get_json("/info").await.map(|v| {
                out.stdout = render::info_text(&v);
            }),
            CliCommand::Version => self.get_json("/version").await.map(|v| {
                out.stdout = render::version_text(&v, super::API_PREFIX.trim_start_matches("/v"));
            }),
        };
        match result {
            Ok(()) => Ok(out),
            Err(e) if is_transport(&e) => Err(e),
            Err(e) => {
                out.fail(name, e);
                Ok(out)
            }
        }
    }

    /// [`DockerClient::execute`] with transport failures printed as the CLI prints them
    /// (`Cannot connect to the Docker daemon at tcp://…. Is the docker daemon running?`,
    /// exit 1, or 125 for `run`).
    pub async fn execute_cli(&self, cmd: &CliCommand) -> CliOutput {
        match self.execute(cmd).await {
            Ok(out) => out,
            Err(e) => {
                let mut out = CliOutput::default();
                out.fail(cmd.name(), e);
                out
            }
        }
    }

    /// Records `e` for a multi-container command, or passes a transport failure up.
    pub(super) fn record(out: &mut CliOutput, e: ClientError) -> Result<(), ClientError> {
        if is_transport(&e) {
            return Err(e);
        }
        out.stderr.push_str(&format!("{e}\n"));
        out.exit_code = 1;
        if out.error.is_none() {
            out.error = Some(e);
        }
        Ok(())
    }

    /// POSTs `path(c)` for each container, printing the ones that succeed.
    async fn each(
        &self,
        containers: &[String],
        out: &mut CliOutput,
        path: impl Fn(&str) -> String,
    ) -> Result<(), ClientError> {
        for c in containers {
            match self.post(&path(c), self.request_timeout()).await {
                Ok(_) => out.stdout.push_str(&format!("{c}\n")),
                Err(e) => Self::record(out, e)?,
            }
        }
        Ok(())
    }

    async fn remove(
        &self,
        force: bool,
        volumes: bool,
        containers: &[String],
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        let mut q = Vec::new();
        if force {
            q.push("force=1");
        }
        if volumes {
            q.push("v=1");
        }
        let q = if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        };
        for c in containers {
            let path = format!("/containers/{}{q}", enc(c));
            match self
                .call("DELETE", &path, None, self.request_timeout())
                .await
            {
                Ok(_) => out.stdout.push_str(&format!("{c}\n")),
                Err(e) => Self::record(out, e)?,
            }
        }
        Ok(())
    }

    async fn start(&self, containers: &[String], out: &mut CliOutput) -> Result<(), ClientError> {
        let mut failed = Vec::new();
        for c in containers {
            let path = format!("/containers/{}/start", enc(c));
            match self.post(&path, self.request_timeout()).await {
                Ok(_) => out.stdout.push_str(&format!("{c}\n")),
                Err(e) => {
                    Self::record(out, e)?;
                    failed.push(c.as_str());
                }
            }
        }
        if !failed.is_empty() {
            out.stderr.push_str(&format!(
                "Error: failed to start containers: {}\n",
                failed.join(", ")
            ));
        }
        Ok(())
    }

    async fn wait(&self, containers: &[String], out: &mut CliOutput) -> Result<(), ClientError> {
        for c in containers {
            let path = format!("/containers/{}/wait", enc(c));
            let answer = match self.post(&path, self.wait_timeout()).await {
                Ok(r) => r,
                Err(e) => {
                    Self::record(out, e)?;
                    continue;
                }
            };
            let code = serde_json::from_slice::<Json>(&answer.body)
                .ok()
                .and_then(|v| v.get("StatusCode").and_then(Json::as_i64));
            match code {
                Some(code) => out.stdout.push_str(&format!("{code}\n")),
                None => Self::record(
                    out,
                    ClientError::Decode {
                        what: format!("POST /containers/{c}/wait"),
                        reason: "no StatusCode".into(),
                    },
                )?,
            }
        }
        Ok(())
    }

    /// `POST /containers/create`; the new id.
    async fn create(&self, args: &RunArgs, body: &Json) -> Result<String, ClientError> {
        let path = match &args.name {
            Some(n) => format!("/containers/create?name={}", enc(n)),
            None => "/containers/create".to_owned(),
        };
        let r = self
            .call("POST", &path, Some(body), self.request_timeout())
            .await?;
        serde_json::from_slice::<Json>(&r.body)
            .ok()
            .and_then(|v| v.get("Id").and_then(Json::as_str).map(str::to_owned))
            .ok_or_else(|| ClientError::Decode {
                what: "POST /containers/create".into(),
                reason: "no Id in the answer".into(),
            })
    }

    /// `POST /images/create` for `image` (with the login remembered for its registry);
    /// the progress text, or the stream's error.
    async fn pull(&self, image: &str) -> Result<String, ClientError> {
        let path = match Reference::parse(image) {
            Some(r) => format!(
                "/images/create?fromImage={}&tag={}",
                enc(&r.repo_name()),
                enc(&r.tag)
            ),
            None => format!("/images/create?fromImage={}", enc(image)),
        };
        let auth = self.registry_auth(image);
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| (REGISTRY_AUTH, a.as_str())).collect();
        let r = self
            .call_with("POST", &path, None, &headers, self.wait_timeout())
            .await?;
        match render::pull_progress(&r.body) {
            (text, None) => Ok(text),
            (_, Some(e)) => Err(ClientError::Stream(e)),
        }
    }

    async fn run(&self, args: &RunArgs, run: bool, out: &mut CliOutput) -> Result<(), ClientError> {
        let foreground = run && !args.detach;
        // A foreground `--rm` is removed by this client after `wait` (see `attach`).
        let body = if foreground && args.auto_remove {
            let kept = RunArgs {
                auto_remove: false,
                ..args.clone()
            };
            create_body(&kept, run)
        } else {
            create_body(args, run)
        };
        let id = match self.create(args, &body).await {
            Err(ClientError::Daemon {
                status: 404,
                message,
            }) if message.starts_with("No such image") => {
                out.stderr.push_str(&format!(
                    "Unable to find image '{}' locally\n",
                    tagged(&args.image)
                ));
                let progress = self.pull(&args.image).await?;
                out.stderr.push_str(&progress);
                self.create(args, &body).await?
            }
            other => other?,
        };
        if foreground {
            out.container_id = Some(id.clone());
            return self.run_attached(args, &id, out).await;
        }
        // The CLI prints a detached container's id before starting it.
        out.stdout.push_str(&format!("{id}\n"));
        out.container_id = Some(id.clone());
        if run {
            self.post(
                &format!("/containers/{}/start", enc(&id)),
                self.request_timeout(),
            )
            .await?;
        }
        Ok(())
    }

    async fn pull_cmd(
        &self,
        image: &str,
        quiet: bool,
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        if !has_tag(image) && !quiet {
            out.stdout.push_str("Using default tag: latest\n");
        }
        let progress = self.pull(image).await?;
        if !quiet {
            out.stdout.push_str(&progress);
        }
        out.stdout.push_str(&format!("{}\n", qualified(image)));
        Ok(())
    }

    async fn ps(
        &self,
        all: bool,
        quiet: bool,
        no_trunc: bool,
        filters: &[(String, String)],
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        let rows = self.list(all, filters).await?;
        if quiet {
            for r in &rows {
                let id = if no_trunc {
                    r.id.clone()
                } else {
                    render::short_id(&r.id)
                };
                out.stdout.push_str(&format!("{id}\n"));
            }
            return Ok(());
        }
        out.stdout = render::ps_table(&rows, self.endpoint_now_s().await?, no_trunc);
        Ok(())
    }

    /// The endpoint's clock in Unix seconds (this machine's when /info does not say), for
    /// `CREATED` columns: the emulator's clock may run at any speed, and STATUS is
    /// computed there.
    pub(super) async fn endpoint_now_s(&self) -> Result<i64, ClientError> {
        let now_s = match self.get_json("/info").await {
            Ok(info) => info
                .get("SystemTime")
                .and_then(Json::as_str)
                .and_then(vcsim::vmodl::parse_datetime)
                .map(|ms| ms.div_euclid(1000)),
            Err(e) if is_transport(&e) => return Err(e),
            Err(_) => None,
        }
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
        Ok(now_s)
    }

    async fn inspect(
        &self,
        kind: Option<InspectKind>,
        targets: &[String],
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        let mut found = Vec::new();
        for t in targets {
            let container = if kind == Some(InspectKind::Image) {
                None
            } else {
                match self.get_json(&format!("/containers/{}/json", enc(t))).await {
                    Ok(v) => Some(Ok(v)),
                    Err(e) if e.is_daemon(404) && kind.is_none() => None,
                    Err(e) => Some(Err(e)),
                }
            };
            let answer = match container {
                Some(r) => r,
                None => self.inspect_other(kind, t).await,
            };
            match answer {
                Ok(v) => found.push(v),
                Err(e) => Self::record(out, e)?,
            }
        }
        out.stdout = format!("{}\n", render::indented(&Json::Array(found)));
        Ok(())
    }

    /// An untyped `inspect` target that is not a container: as the CLI, an image, then a
    /// network, a volume, then a plugin (the endpoint refuses plugins, and the CLI prints
    /// that refusal); `Error: No such object` when all say not found.
    async fn inspect_other(&self, kind: Option<InspectKind>, t: &str) -> Result<Json, ClientError> {
        let not_found = |r: &Result<Json, ClientError>| matches!(r, Err(e) if e.is_daemon(404));
        let image = self.get_json(&format!("/images/{}/json", enc(t))).await;
        if kind.is_some() || !not_found(&image) {
            return image;
        }
        for path in [
            format!("/networks/{}", enc(t)),
            format!("/volumes/{}", enc(t)),
            format!("/plugins/{}/json", enc(t)),
        ] {
            let r = self.get_json(&path).await;
            if !not_found(&r) {
                return r;
            }
        }
        Err(ClientError::Stream(format!("Error: No such object: {t}")))
    }

    async fn logs(
        &self,
        container: &str,
        follow: bool,
        timestamps: bool,
        tail: Option<&str>,
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        let details = self.inspect_container(container).await?;
        let mut q = vec!["stdout=1".to_owned(), "stderr=1".to_owned()];
        if follow {
            q.push("follow=1".into());
        }
        if timestamps {
            q.push("timestamps=1".into());
        }
        if let Some(t) = tail {
            q.push(format!("tail={}", enc(t)));
        }
        let path = format!("/containers/{}/logs?{}", enc(container), q.join("&"));
        let timeout = if follow {
            self.wait_timeout()
        } else {
            self.request_timeout()
        };
        let r = self.call("GET", &path, None, timeout).await?;
        let (stdout, stderr) = render::demux_logs(&r.body, details.tty);
        out.stdout.push_str(&stdout);
        out.stderr.push_str(&stderr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_and_references() {
        assert_eq!(enc("progrium/stress"), "progrium%2Fstress");
        assert_eq!(enc("a b{}\"é"), "a%20b%7B%7D%22%C3%A9");
        assert_eq!(enc("web-1_x.y~"), "web-1_x.y~");
        assert_eq!(tagged("progrium/stress"), "progrium/stress:latest");
        assert_eq!(tagged("library/nginx:1.13"), "nginx:1.13");
        assert_eq!(tagged("Bad Ref"), "Bad Ref");
        assert_eq!(qualified("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            qualified("progrium/stress"),
            "docker.io/progrium/stress:latest"
        );
        assert_eq!(
            qualified("registry.corp.local/x/nginx:p"),
            "registry.corp.local/x/nginx:p"
        );
        assert!(!has_tag("localhost:5000/nginx") && has_tag("nginx:1") && has_tag("n@sha256:0"));
    }

    #[test]
    fn clients_and_their_futures_can_move_between_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: T) {}
        let g =
            crate::engine::client::GlobalOptions::from_args(&["-H".into(), "127.0.0.1:9".into()])
                .unwrap();
        let client = DockerClient::new(&g).unwrap();
        send_sync(&client);
        send(client.execute(&CliCommand::Info));
        send(client.execute_cli(&CliCommand::Info));
        send(client.containers(true));
    }

    #[test]
    fn failures_print_as_the_cli() {
        let e = ClientError::Daemon {
            status: 409,
            message: "conflict".into(),
        };
        let mut out = CliOutput::default();
        out.fail("run", e.clone());
        assert_eq!(
            out.stderr,
            "docker: Error response from daemon: conflict\n\nRun 'docker run --help' for more information\n"
        );
        assert_eq!(out.exit_code, 125);
        assert_eq!(out.error, Some(e.clone()));
        let mut out = CliOutput::default();
        out.fail("stop", e);
        assert_eq!(out.stderr, "Error response from daemon: conflict\n");
        assert_eq!(out.exit_code, 1);
        let r = Response {
            status: 404,
            headers: Vec::new(),
            body: b"{\"message\":\"No such container: x\"}\n".to_vec(),
        };
        assert_eq!(
            daemon_error(&r).to_string(),
            "Error response from daemon: No such container: x"
        );
        let r = Response {
            status: 502,
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert_eq!(
            daemon_error(&r).to_string(),
            "Error response from daemon: HTTP status 502"
        );
    }
}
