//! `POST /containers/create`: the body decoded and checked as dockerd does (see [`decode`])
//! plus VIC's own checks, then the containerVM created through the port layer.
//!
//! Atomic from the user's view: the name is reserved and the create counted as in flight
//! before any SOAP call, the handler runs in its own task (see `api::detached`) so a client
//! that hangs up cannot stop it halfway, and every error after the reservation destroys
//! whatever containerVM was made and frees the name. So each containerVM in the VCH pool is
//! a listed, removable container, and a name is either taken by one or free.

use super::api::{Result, json_response};
use super::decode;
use super::images::no_such_image;
use super::quota;
use super::sizing;
use super::state::{ApiError, Container, Engine, Store, reserve};
use super::volumes;
use crate::firewall::{PortMapping, check_bindings, check_ports};
use crate::images::DEFAULT_PATH;
use crate::portlayer::{self, Attachment, ContainerSpec, signal_number};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The create body fields the endpoint reads (API 1.25 names), decoded after
/// [`decode::create_body`] checked every field's type.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CreateBody {
    pub hostname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub exposed_ports: Option<BTreeMap<String, Json>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub image: String,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: String,
    pub volumes: Option<BTreeMap<String, Json>>,
    pub host_config: HostConfigBody,
    pub networking_config: NetworkingBody,
}

/// `HostConfig` fields the endpoint reads or checks.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HostConfigBody {
    pub memory: i64,
    pub memory_swap: i64,
    pub memory_swappiness: Option<i64>,
    pub nano_cpus: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub cpu_count: i64,
    pub blkio_weight: u16,
    pub oom_score_adj: i64,
    pub shm_size: i64,
    pub binds: Vec<String>,
    pub network_mode: String,
    pub port_bindings: BTreeMap<String, Vec<PortBindingBody>>,
    pub restart_policy: RestartPolicyBody,
    pub auto_remove: bool,
}

/// One `PortBindings` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PortBindingBody {
    pub host_ip: String,
    pub host_port: String,
}

/// `HostConfig.RestartPolicy`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RestartPolicyBody {
    pub name: String,
    pub maximum_retry_count: i64,
}

/// `NetworkingConfig`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkingBody {
    pub endpoints_config: BTreeMap<String, Json>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// dockerd's `CheckForJSON`: a body needs `Content-Type: application/json`.
pub fn check_json_content_type(headers: &HeaderMap, body: &[u8]) -> Result<()> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if ct.is_empty() && body.is_empty() {
        return Ok(());
    }
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(bad(format!(
        "Content-Type specified ({ct}) must be 'application/json'"
    )))
}

/// Decodes and type-checks a create body (400 with Go's decoder message).
pub fn parse_body(bytes: &[u8]) -> Result<(CreateBody, Json)> {
    let v = decode::create_body(bytes).map_err(bad)?;
    let body: CreateBody = serde_json::from_value(v.clone()).map_err(|e| bad(e.to_string()))?;
    Ok((body, v))
}

/// docker's `parsers.ParseUintList` syntax: `0-3,5`.
fn valid_uint_list(s: &str) -> bool {
    let int = |t: &str| t.parse::<i64>().ok();
    s.split(',').all(|r| match r.split_once('-') {
        None => int(r).is_some(),
        Some((a, b)) => matches!((int(a), int(b)), (Some(lo), Some(hi)) if lo <= hi),
    })
}

/// Go's `strconv.Atoi` check on a port number as `nat.ParsePort` does it (16 bits).
fn valid_port(s: &str) -> bool {
    s.is_empty() || s.parse::<u16>().is_ok()
}

/// `nat.NewPort` on a host port: empty, a port, or a range `lo-hi`.
fn valid_host_port(s: &str) -> bool {
    let port = s.rsplit_once('/').map_or(s, |(p, _)| p);
    match port.split_once('-') {
        None => valid_port(port),
        Some((a, b)) => {
            matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(lo), Ok(hi)) if lo <= hi)
        }
    }
}

/// dockerd's `verifyContainerSettings` checks that apply to a VCH, with dockerd's messages,
/// in dockerd's order (config, port bindings, restart policy, resources).
pub fn verify(body: &CreateBody) -> Result<()> {
    let hc = &body.host_config;
    if !body.working_dir.is_empty() && !body.working_dir.starts_with('/') {
        return Err(bad(format!(
            "the working directory '{}' is invalid, it needs to be an absolute path",
            body.working_dir
        )));
    }
    if !body.stop_signal.is_empty() && signal_number(&body.stop_signal).is_none() {
        return Err(bad(format!("Invalid signal: {}", body.stop_signal)));
    }
    for (key, bindings) in &hc.port_bindings {
        let port = key.split_once('/').map_or(key.as_str(), |(p, _)| p);
        if port.is_empty() || !valid_port(port) {
            return Err(bad(format!("invalid port specification: {port:?}")));
        }
        for b in bindings {
            if !valid_host_port(&b.host_port) {
                return Err(bad(format!(
                    "invalid port specification: {:?}",
                    b.host_port
                )));
            }
        }
    }
    let rp = &hc.restart_policy;
    match rp.name.as_str() {
        "" => {}
        "no" | "always" | "unless-stopped" if rp.maximum_retry_count != 0 => {
            return Err(bad(format!(
                "maximum retry count cannot be used with restart policy '{}'",
                rp.name
            )));
        }
        "no" | "always" | "unless-stopped" => {}
        "on-failure" if rp.maximum_retry_count < 0 => {
            return Err(bad("maximum retry count cannot be negative"));
        }
        "on-failure" => {}
        other => return Err(bad(format!("invalid restart policy '{other}'"))),
    }
    if hc.auto_remove && !matches!(rp.name.as_str(), "" | "no") {
        return Err(bad(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    verify_resources(hc)
}

fn verify_resources(hc: &HostConfigBody) -> Result<()> {
    // A positive memory below docker's 4 MB minimum is VIC's to raise to 512 MB (vic.md §5.3,
    // issue #5326); only a negative one is refused.
    if hc.memory < 0 {
        return Err(bad("Minimum memory limit allowed is 4MB"));
    }
    if sizing::memory_mb(hc.memory) > sizing::MAX_MEMORY_MB {
        return Err(bad(format!(
            "Maximum memory limit allowed is {}GB",
            sizing::MAX_MEMORY_MB / 1024
        )));
    }
    if hc.memory > 0 && hc.memory_swap > 0 && hc.memory_swap < hc.memory {
        return Err(bad(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if hc.memory == 0 && hc.memory_swap > 0 {
        return Err(bad(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if let Some(s) = hc.memory_swappiness
        && s != -1
        && !(0..=100).contains(&s)
    {
        return Err(bad(format!(
            "Invalid value: {s}, valid memory swappiness range is 0-100"
        )));
    }
    if hc.nano_cpus > 0 && hc.cpu_period > 0 {
        return Err(bad(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if hc.nano_cpus > 0 && hc.cpu_quota > 0 {
        return Err(bad(
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ));
    }
    // The CPUs "available" to a containerVM are vSphere's per-VM vCPU maximum.
    let max = i64::from(sizing::MAX_CPUS);
    if hc.nano_cpus < 0 || hc.nano_cpus > max.saturating_mul(1_000_000_000) {
        return Err(bad(format!(
            "Range of CPUs is from 0.01 to {max}.00, as there are only {max} CPUs available"
        )));
    }
    if !hc.cpuset_cpus.is_empty() && !valid_uint_list(&hc.cpuset_cpus) {
        return Err(bad(format!(
            "Invalid value {} for cpuset cpus",
            hc.cpuset_cpus
        )));
    }
    if !hc.cpuset_mems.is_empty() && !valid_uint_list(&hc.cpuset_mems) {
        return Err(bad(format!(
            "Invalid value {} for cpuset mems",
            hc.cpuset_mems
        )));
    }
    if hc.blkio_weight > 0 && !(10..=1000).contains(&hc.blkio_weight) {
        return Err(bad("Range of blkio weight is from 10 to 1000"));
    }
    if !(-1000..=1000).contains(&hc.oom_score_adj) {
        return Err(bad(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            hc.oom_score_adj
        )));
    }
    if hc.shm_size < 0 {
        return Err(bad("SHM size can not be less than 0"));
    }
    Ok(())
}

/// `HostConfig.PortBindings` as `-p` mappings.
fn port_bindings(hc: &HostConfigBody) -> Result<Vec<PortMapping>> {
    let mut out = Vec::new();
    for (cport, bindings) in &hc.port_bindings {
        let none = [PortBindingBody::default()];
        let list = if bindings.is_empty() {
            &none[..]
        } else {
            &bindings[..]
        };
        for b in list {
            let (ip, hp) = (b.host_ip.as_str(), b.host_port.as_str());
            let spec = match (ip.is_empty(), hp.is_empty()) {
                (true, true) => cport.clone(),
                (true, false) => format!("{hp}:{cport}"),
                (false, _) => format!("{ip}:{hp}:{cport}"),
            };
            let m: PortMapping = spec
                .parse()
                .map_err(|e: crate::firewall::FirewallError| bad(e.to_string()))?;
            out.push(m);
        }
    }
    Ok(out)
}

fn network_of(engine: &Engine, body: &CreateBody) -> Result<(Attachment, String)> {
    let endpoints = &body.networking_config.endpoints_config;
    if endpoints.len() > 1 {
        return Err(bad(
            "NetworkMode error: Container can be connected to one vicnetwork endpoint only",
        ));
    }
    let mode = Some(body.host_config.network_mode.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| endpoints.keys().next().cloned())
        .unwrap_or_else(|| "default".into());
    match mode.as_str() {
        "default" | "bridge" => Ok((Attachment::Bridge, mode)),
        alias => {
            if engine
                .config
                .container_networks
                .iter()
                .any(|n| n.alias == alias)
            {
                Ok((Attachment::Container(alias.to_owned()), mode))
            } else {
                Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("network {alias} not found"),
                ))
            }
        }
    }
}

/// A reserved name and in-flight create; dropped without [`Reservation::commit`], it frees
/// both (also when the task panics).
struct Reservation<'a> {
    engine: &'a Engine,
    id: String,
    name: String,
    done: bool,
}

impl Reservation<'_> {
    /// Records `c` and ends the reservation in one step under the lock.
    fn commit(mut self, c: Container) {
        let mut store = self.engine.lock();
        store.creating.remove(&self.id);
        store.containers.insert(self.id.clone(), c);
        self.done = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut store = self.engine.lock();
        store.creating.remove(&self.id);
        if store.names.get(&self.name) == Some(&self.id) {
            store.names.remove(&self.name);
        }
    }
}

/// VIC's quota checks ([`quota`]): the count alone before the image lookup, as VIC orders
/// it; count and storage (for a `memory_mb` containerVM) at the reservation. 500, as
/// dockerd maps VIC's plain errors.
fn limit_check(engine: &Engine, store: &Store, memory_mb: Option<u64>) -> Result<()> {
    let cfg = &engine.config;
    match memory_mb {
        None => quota::check_container_count(
            cfg.container_limit,
            store.containers.len(),
            store.creating.len(),
        ),
        Some(mb) => quota::admit(cfg.container_limit, cfg.storage_quota_bytes, store, mb),
    }
    .map_err(|e| ApiError::server(e.to_string()))
}

/// `POST /containers/create` (run it through `api::detached`).
pub async fn create(
    engine: &Arc<Engine>,
    q: &BTreeMap<String, String>,
    raw: &[u8],
) -> Result<Response> {
    let (body, normalized) = parse_body(raw)?;
    verify(&body)?;
    let hc = &body.host_config;
    // VIC's sizing and port checks (validateCreateConfig, vic.md §5.3, §3.2).
    let memory_mb = sizing::memory_mb(hc.memory);
    let num_cpus = sizing::cpu_count(&hc.cpuset_cpus, hc.cpu_count).map_err(bad)?;
    // `-v`: checked now (host directories refused), made after the reservation.
    let mut anonymous: Vec<String> = body
        .volumes
        .as_ref()
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default();
    volumes::plan_mounts(&hc.binds, &anonymous)?;
    let (network, network_mode) = network_of(engine, &body)?;
    let ports = port_bindings(hc)?;
    check_bindings(&ports, None).map_err(|e| ApiError::server(e.to_string()))?;
    if let Attachment::Container(alias) = &network {
        let trust = portlayer::container_network(&engine.config, alias)
            .map(|n| n.trust)
            .unwrap_or(None);
        check_ports(alias, trust, &ports).map_err(|e| ApiError::server(e.to_string()))?;
    }
    limit_check(engine, &engine.lock(), None)?;
    let image = engine
        .find_image(&body.image)
        .ok_or_else(|| no_such_image(&body.image))?;
    // The image's declared volumes become anonymous volumes in the `default` store, as VIC
    // makes them (without one, the create fails: vmware/vic#3475, #6145).
    for dest in &image.volumes {
        if !anonymous.contains(dest) {
            anonymous.push(dest.clone());
        }
    }
    let mount_plans = volumes::plan_mounts(&hc.binds, &anonymous)?;
    // Merge with the image (vic.md §7.3 step 3.1).
    let req_cmd = body.cmd.clone().filter(|c| !c.is_empty());
    let entrypoint = body
        .entrypoint
        .clone()
        .unwrap_or_else(|| image.entrypoint.clone());
    let cmd = match (req_cmd, &body.entrypoint) {
        (Some(c), _) => c,
        (None, Some(_)) => Vec::new(),
        (None, None) => image.cmd.clone(),
    };
    let argv: Vec<String> = entrypoint.iter().chain(cmd.iter()).cloned().collect();
    if argv.first().is_none_or(String::is_empty) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "No command specified"));
    }
    let mut env: Vec<String> = image.env.clone();
    for e in &body.env {
        let key = e.split('=').next().unwrap_or("");
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.to_owned());
    }
    if body.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let stop_signal = Some(body.stop_signal.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "SIGTERM".into());
    let wanted = q
        .get("name")
        .map(|n| n.trim_start_matches('/'))
        .filter(|n| !n.is_empty());
    // Nothing has been created yet; from here every exit frees the reservation.
    let reservation = {
        let mut store = engine.lock();
        limit_check(engine, &store, Some(memory_mb))?;
        let (id, name) = reserve(&mut store, &engine.config.vch_name, wanted)?;
        store.creating.insert(id.clone());
        Reservation {
            engine,
            id,
            name,
            done: false,
        }
    };
    let id = reservation.id.clone();
    let name = reservation.name.clone();
    let created_ms = engine.pl.now_ms().await?;
    let hostname = Some(body.hostname.clone())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| id[..12].to_owned());
    let working_dir = Some(body.working_dir.clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| image.working_dir.clone());
    let labels = merged_labels(&image.labels, &body.labels);
    let spec = ContainerSpec {
        id: id.clone(),
        name: name.clone(),
        num_cpus,
        memory_mb,
        path: argv[0].clone(),
        args: argv.clone(),
        env: env.clone(),
        working_dir: working_dir.clone(),
        tty: body.tty,
        attach: body.attach_stdout,
        open_stdin: body.open_stdin,
        stop_signal: stop_signal.clone(),
        hostname: hostname.clone(),
        repo: body.image.clone(),
        image_id: image.id.clone(),
        workload: image.workload.clone(),
        network: network.clone(),
        ports: ports.clone(),
        labels: labels.clone(),
        created_s: created_ms.div_euclid(1000),
    };
    // The volumes exist before the containerVM (VIC's VolumeJoin precedes the commit).
    let mounts =
        volumes::prepare_mounts(engine, &mount_plans, &name, &body.image, created_ms).await?;
    let made = match engine.pl.create(&spec).await {
        Ok(vm) => engine.pl.volume_join(&vm, &mounts).await.map(|()| vm),
        Err(e) => Err(e),
    };
    let vm = match made {
        Ok(vm) => vm,
        Err(e) => {
            // A task that failed or timed out may still have made the VM: remove any that
            // carries this container's id before the name is freed.
            engine.pl.discard(&id).await;
            return Err(e.into());
        }
    };
    let mut host_config = normalized
        .get("HostConfig")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(o) = host_config.as_object_mut() {
        o.insert("NetworkMode".into(), json!(network_mode));
    }
    let exposed = match &body.exposed_ports {
        Some(m) => m.keys().cloned().collect(),
        None => image
            .exposed_ports
            .iter()
            .map(|(p, t)| format!("{p}/{}", t.as_str()))
            .collect(),
    };
    // The image's USER and labels apply unless the request sets its own (as dockerd).
    let user = if body.user.is_empty() {
        image.user.clone()
    } else {
        body.user.clone()
    };
    let c = Container {
        id: id.clone(),
        name,
        vm,
        image_ref: body.image.clone(),
        image,
        entrypoint,
        cmd,
        argv,
        env,
        working_dir,
        tty: body.tty,
        open_stdin: body.open_stdin,
        attach: (
            body.attach_stdin,
            body.attach_stdout,
            body.attach_stderr,
            body.stdin_once,
        ),
        hostname,
        user,
        exposed,
        labels,
        network,
        ports,
        mapped: Vec::new(),
        num_cpus,
        memory_mb,
        cpuset: hc.cpuset_cpus.clone(),
        stop_signal,
        created_ms,
        killed: None,
        binding: None,
        host_config,
    };
    let event =
        super::events::Event::container("create", &c.id, &c.name, &c.image_ref, c.created_ms);
    reservation.commit(c);
    engine.events.publish(event);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "Id": id, "Warnings": null }),
    ))
}

/// A container's labels: its image's, then the request's over them (dockerd's merge).
fn merged_labels(
    image: &BTreeMap<String, String>,
    request: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = image.clone();
    labels.extend(request.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> CreateBody {
        parse_body(text.as_bytes()).unwrap().0
    }

    fn verdict(text: &str) -> std::result::Result<(), String> {
        verify(&body(text)).map_err(|e| e.message)
    }

    #[test]
    fn port_bindings_parse() {
        let hc = body(
            r#"{"HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"53/udp":[{"HostIp":"","HostPort":""}]}}}"#,
        )
        .host_config;
        let mut p = port_bindings(&hc).unwrap();
        p.sort_by_key(|m| m.container_port.start);
        assert_eq!(p[0].to_string(), "53/udp");
        assert_eq!(p[1].to_string(), "8080:80/tcp");
        let hc = body(
            r#"{"HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"1.2.3.4","HostPort":"80"}]}}}"#,
        )
        .host_config;
        let p = port_bindings(&hc).unwrap();
        assert_eq!(
            check_bindings(&p, None).unwrap_err().to_string(),
            "host IP for port bindings is only supported for 0.0.0.0 and the public interface IP address"
        );
    }

    #[test]
    fn settings_are_verified_as_dockerd_does() {
        assert_eq!(verdict(r#"{"HostConfig":{"Memory":4294967296}}"#), Ok(()));
        assert_eq!(
            verdict(r#"{"HostConfig":{"Memory":1024}}"#),
            Ok(()),
            "VIC raises it to 512 MB"
        );
        assert_eq!(
            verdict(r#"{"HostConfig":{"Memory":-1}}"#).unwrap_err(),
            "Minimum memory limit allowed is 4MB"
        );
        assert_eq!(
            verdict(r#"{"HostConfig":{"Memory":9223372036854775807}}"#).unwrap_err(),
            "Maximum memory limit allowed is 6128GB"
        );
        assert_eq!(
            verdict(r#"{"HostConfig":{"NanoCpus":-1}}"#).unwrap_err(),
            "Range of CPUs is from 0.01 to 768.00, as there are only 768 CPUs available"
        );
        assert_eq!(verdict(r#"{"HostConfig":{"NanoCpus":2000000000}}"#), Ok(()));
        assert_eq!(
            verdict(r#"{"HostConfig":{"CpusetCpus":"abc"}}"#).unwrap_err(),
            "Invalid value abc for cpuset cpus"
        );
        assert_eq!(verdict(r#"{"HostConfig":{"CpusetCpus":"0-3,5"}}"#), Ok(()));
        assert_eq!(
            verdict(r#"{"HostConfig":{"CpusetCpus":"3-1"}}"#).unwrap_err(),
            "Invalid value 3-1 for cpuset cpus"
        );
        assert_eq!(
            verdict(r#"{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"99999"}]}}}"#)
                .unwrap_err(),
            "invalid port specification: \"99999\""
        );
        assert_eq!(
            verdict(r#"{"HostConfig":{"PortBindings":{"http/tcp":[]}}}"#).unwrap_err(),
            "invalid port specification: \"http\""
        );
        assert_eq!(
            verdict(r#"{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"9000-9010"}]}}}"#),
            Ok(())
        );
        assert_eq!(
            verdict(r#"{"HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}"#).unwrap_err(),
            "invalid restart policy 'sometimes'"
        );
        assert_eq!(
            verdict(r#"{"WorkingDir":"rel"}"#).unwrap_err(),
            "the working directory 'rel' is invalid, it needs to be an absolute path"
        );
        assert_eq!(
            verdict(r#"{"StopSignal":"SIGNOPE"}"#).unwrap_err(),
            "Invalid signal: SIGNOPE"
        );
    }

    #[test]
    fn content_type_must_be_json_when_there_is_a_body() {
        let mut h = HeaderMap::new();
        assert!(check_json_content_type(&h, b"").is_ok());
        assert_eq!(
            check_json_content_type(&h, b"{}").unwrap_err().message,
            "Content-Type specified () must be 'application/json'"
        );
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(check_json_content_type(&h, b"{}").is_ok());
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(
            check_json_content_type(&h, b"{}").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
