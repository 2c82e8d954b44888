//! How containers look to docker: state, `docker ps` entries and filters, inspect.

use super::api::{Result, atoi_param, ok_json, truthy};
use super::state::{ApiError, Container, Engine};
use super::util::{self, ZERO_TIME, human_duration, rfc3339_ms};
use crate::firewall::TrustLevel;
use crate::images::Reference;
use crate::portlayer::{self, Attachment, Power, VmState};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The container's state as docker reports it.
pub struct Phase {
    pub status: &'static str,
    pub running: bool,
    pub exit_code: i32,
    pub error: String,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
}

/// `c`'s docker state from its VM's (`None`: the VM is gone).
pub fn phase(c: &Container, st: Option<&VmState>) -> Phase {
    let started_ms = st.and_then(|s| s.start_s.map(|t| t * 1000).or(s.boot_ms));
    let Some(s) = st else {
        return Phase {
            status: "dead",
            running: false,
            exit_code: 0,
            error: "the container VM no longer exists".into(),
            started_ms: None,
            finished_ms: None,
        };
    };
    if s.power == Power::On {
        return Phase {
            status: "running",
            running: true,
            exit_code: 0,
            error: String::new(),
            started_ms,
            finished_ms: None,
        };
    }
    match s.started.as_deref() {
        None => Phase {
            status: "created",
            running: false,
            exit_code: 0,
            error: String::new(),
            started_ms: None,
            finished_ms: None,
        },
        Some("true") => {
            let (code, finished) = match (s.status, c.killed) {
                (Some(code), _) => (code, s.stop_s.map(|t| t * 1000)),
                (None, Some((code, at))) => (code, Some(at)),
                (None, None) => (0, s.stop_s.map(|t| t * 1000)),
            };
            Phase {
                status: "exited",
                running: false,
                exit_code: code,
                error: String::new(),
                started_ms,
                finished_ms: finished,
            }
        }
        Some(err) => Phase {
            status: "created",
            running: false,
            exit_code: 128,
            error: err.to_owned(),
            started_ms: None,
            finished_ms: None,
        },
    }
}

fn status_text(p: &Phase, now_ms: i64) -> String {
    let ago = |t: Option<i64>| human_duration((now_ms - t.unwrap_or(now_ms)) / 1000);
    match p.status {
        "running" => format!("Up {}", ago(p.started_ms)),
        "exited" => format!("Exited ({}) {} ago", p.exit_code, ago(p.finished_ms)),
        "dead" => "Dead".into(),
        _ => "Created".into(),
    }
}

/// The id docker shows for network `name`.
pub fn network_id(engine: &Engine, name: &str) -> String {
    util::object_id("network", &engine.config.vch_name, name)
}

/// The address, prefix and gateway docker shows for `c`.
fn address(
    engine: &Engine,
    c: &Container,
    st: Option<&VmState>,
    running: bool,
) -> (String, u8, String) {
    if !running {
        return (String::new(), 0, String::new());
    }
    let b = c.binding.as_ref();
    let ip = b
        .and_then(|b| b.ip)
        .or_else(|| st.and_then(|s| s.ip))
        .map(|i| i.to_string())
        .unwrap_or_default();
    let prefix = b.map(|b| b.prefix).unwrap_or(0);
    let gw = b
        .and_then(|b| b.gateway)
        .map(|g| g.to_string())
        .unwrap_or_default();
    let _ = engine;
    (ip, prefix, gw)
}

fn endpoint_json(engine: &Engine, c: &Container, ip: &str, prefix: u8, gw: &str) -> Json {
    let name = c.network.name();
    json!({ name: {
        "IPAMConfig": null,
        "Links": null,
        "Aliases": null,
        "NetworkID": network_id(engine, name),
        "EndpointID": if ip.is_empty() { String::new() } else { util::object_id("endpoint", &c.id, name) },
        "Gateway": gw,
        "IPAddress": ip,
        "IPPrefixLen": prefix,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
    }})
}

/// `docker ps` port entries (vic.md §3.4 "docker ps / docker port").
fn ps_ports(engine: &Engine, c: &Container, ip: &str, running: bool) -> Vec<Json> {
    let mut out = Vec::new();
    match &c.network {
        Attachment::Bridge => {
            for m in &c.mapped {
                out.push(json!({"IP": "0.0.0.0", "PrivatePort": m.container_port.start, "PublicPort": m.host_port.map(|h| h.start).unwrap_or(0), "Type": m.transport.as_str()}));
            }
            if c.mapped.is_empty() {
                for e in &c.exposed {
                    let (p, t) = e.split_once('/').unwrap_or((e, "tcp"));
                    out.push(json!({"PrivatePort": p.parse::<u16>().unwrap_or(0), "Type": t}));
                }
            }
        }
        Attachment::Container(alias) => {
            if !running {
                return out;
            }
            let trust = portlayer::container_network(&engine.config, alias)
                .map(|n| n.trust)
                .unwrap_or(None);
            match TrustLevel::effective(trust) {
                TrustLevel::Published => {
                    for m in &c.ports {
                        let public = m.host_port.unwrap_or(m.container_port).start;
                        out.push(json!({"IP": ip, "PrivatePort": m.container_port.start, "PublicPort": public, "Type": m.transport.as_str()}));
                    }
                }
                TrustLevel::Open => {
                    out.push(json!({"IP": ip, "PrivatePort": 0, "PublicPort": 0, "Type": "*"}));
                }
                _ => {}
            }
        }
    }
    out
}

fn inspect_ports(c: &Container) -> Json {
    let mut m = serde_json::Map::new();
    for e in &c.exposed {
        m.insert(e.clone(), Json::Null);
    }
    for p in &c.mapped {
        let key = format!("{}/{}", p.container_port.start, p.transport.as_str());
        let entry = m.entry(key).or_insert_with(|| json!([]));
        if !entry.is_array() {
            *entry = json!([]);
        }
        if let Some(a) = entry.as_array_mut() {
            a.push(json!({"HostIp": "0.0.0.0", "HostPort": p.host_port.map(|h| h.start.to_string()).unwrap_or_default()}));
        }
    }
    Json::Object(m)
}

fn command_text(c: &Container) -> String {
    c.argv.join(" ")
}

fn ps_entry(engine: &Engine, c: &Container, st: Option<&VmState>, now_ms: i64) -> Json {
    let p = phase(c, st);
    let (ip, prefix, gw) = address(engine, c, st, p.running);
    json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": c.image_ref,
        "ImageID": c.image.id,
        "Command": command_text(c),
        "Created": c.created_ms.div_euclid(1000),
        "Ports": ps_ports(engine, c, &ip, p.running),
        "Labels": c.labels,
        "State": p.status,
        "Status": status_text(&p, now_ms),
        "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode").cloned().unwrap_or(json!("default"))},
        "NetworkSettings": {"Networks": endpoint_json(engine, c, &ip, prefix, &gw)},
        "Mounts": super::volumes::mounts_json(st),
    })
}

fn invalid_filter(what: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, format!("Invalid filter '{what}'"))
}

/// Docker's list filters, in the JSON map form (`{"status":{"exited":true}}`) or the older
/// list form (`{"status":["exited"]}`); anything else is a 400.
pub fn parse_filters(text: &str) -> Result<BTreeMap<String, Vec<String>>> {
    if text.is_empty() {
        return Ok(BTreeMap::new());
    }
    let bad =
        |why: String| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid filter: {why}"));
    let v: Json = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let Json::Object(m) = v else {
        return Err(bad(format!("{text} is not a JSON object")));
    };
    let mut out = BTreeMap::new();
    for (k, vals) in m {
        let list: Vec<String> = match vals {
            Json::Object(m) => {
                let mut on = Vec::new();
                for (s, b) in m {
                    match b {
                        Json::Bool(true) => on.push(s),
                        Json::Bool(false) => {}
                        _ => return Err(bad(format!("the value of {k:?}.{s:?} is not a boolean"))),
                    }
                }
                on
            }
            Json::Array(a) => a
                .into_iter()
                .map(|s| match s {
                    Json::String(s) => Ok(s),
                    other => Err(bad(format!("{other} in {k:?} is not a string"))),
                })
                .collect::<Result<_>>()?,
            other => {
                return Err(bad(format!(
                    "the value of {k:?} ({other}) is not an object or list"
                )));
            }
        };
        out.insert(k, list);
    }
    Ok(out)
}

/// The container states docker knows (a `status` filter value must be one).
const STATES: [&str; 7] = [
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// Checks `docker ps` filters before any container is looked at: known keys, known states,
/// numeric exit codes, and `before`/`since` containers that exist (their creation times are
/// returned).
fn container_filters(
    engine: &Engine,
    f: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, i64>> {
    let mut created = BTreeMap::new();
    for (k, vals) in f {
        match k.as_str() {
            "name" | "id" | "label" | "ancestor" | "network" | "volume" => {}
            "status" => {
                if let Some(v) = vals.iter().find(|v| !STATES.contains(&v.as_str())) {
                    return Err(invalid_filter(&format!("status={v}")));
                }
            }
            "exited" => {
                if let Some(v) = vals.iter().find(|v| v.parse::<i32>().is_err()) {
                    return Err(invalid_filter(&format!("exited={v}")));
                }
            }
            "before" | "since" => {
                for v in vals {
                    let c = engine.resolve(v)?;
                    created.insert(v.clone(), c.created_ms);
                }
            }
            other => return Err(invalid_filter(other)),
        }
    }
    Ok(created)
}

fn matches_filters(
    c: &Container,
    p: &Phase,
    st: Option<&VmState>,
    f: &BTreeMap<String, Vec<String>>,
    created: &BTreeMap<String, i64>,
) -> bool {
    let before_after = |v: &String, later: bool| {
        created.get(v).is_some_and(|t| {
            if later {
                c.created_ms > *t
            } else {
                c.created_ms < *t
            }
        })
    };
    f.iter()
        .filter(|(_, vals)| !vals.is_empty())
        .all(|(k, vals)| match k.as_str() {
            "status" => vals.iter().any(|v| v == p.status),
            "exited" => {
                p.status == "exited"
                    && vals
                        .iter()
                        .any(|v| v.parse::<i32>().ok() == Some(p.exit_code))
            }
            "name" => vals
                .iter()
                .any(|v| c.name.contains(v.trim_start_matches('/'))),
            "id" => vals.iter().any(|v| c.id.starts_with(v.as_str())),
            "label" => vals.iter().any(|v| match v.split_once('=') {
                Some((lk, lv)) => c.labels.get(lk).is_some_and(|x| x == lv),
                None => c.labels.contains_key(v),
            }),
            "ancestor" => vals.iter().any(|v| {
                v == &c.image_ref
                    || Reference::parse(v)
                        .zip(Reference::parse(&c.image_ref))
                        .is_some_and(|(a, b)| a.canonical() == b.canonical())
                    || c.image
                        .id
                        .trim_start_matches("sha256:")
                        .starts_with(v.trim_start_matches("sha256:"))
            }),
            "network" => vals.iter().any(|v| v == c.network.name()),
            // A volume's name or where it is mounted, as dockerd matches it.
            "volume" => {
                let mounts = super::volumes::mounted(st);
                vals.iter()
                    .any(|v| mounts.iter().any(|(name, dest)| v == name || v == dest))
            }
            "before" => vals.iter().all(|v| before_after(v, false)),
            "since" => vals.iter().all(|v| before_after(v, true)),
            _ => false,
        })
}

/// `GET /containers/json`.
pub async fn list(engine: &Arc<Engine>, q: &BTreeMap<String, String>) -> Result<Response> {
    let filters = parse_filters(q.get("filters").map(String::as_str).unwrap_or(""))?;
    let created = container_filters(engine, &filters)?;
    // dockerd: a limit above 0 (`docker ps -n`) implies all, as does a status filter.
    let limit = atoi_param(q, "limit")?
        .filter(|l| *l > 0)
        .and_then(|l| usize::try_from(l).ok());
    let all =
        truthy(q, "all") || limit.is_some() || filters.get("status").is_some_and(|s| !s.is_empty());
    let states = engine.pl.states().await?;
    let now = engine.pl.now_ms().await?;
    let mut containers: Vec<Container> = engine.lock().containers.values().cloned().collect();
    containers.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
    let mut out = Vec::new();
    for c in &containers {
        let st = states.get(&c.id);
        let p = phase(c, st);
        if !all && !p.running {
            continue;
        }
        if !matches_filters(c, &p, st, &filters, &created) {
            continue;
        }
        out.push(ps_entry(engine, c, st, now));
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    ok_json(&Json::Array(out))
}

/// `GET /containers/{id}/json`.
pub async fn inspect(engine: &Arc<Engine>, key: &str) -> Result<Response> {
    let c = engine.resolve(key)?;
    let st = match engine.pl.state(&c.vm).await {
        Ok(s) => Some(s),
        Err(e) if e.is_gone() => None,
        Err(e) => return Err(e.into()),
    };
    let p = phase(&c, st.as_ref());
    let (ip, prefix, gw) = address(engine, &c, st.as_ref(), p.running);
    let mut hc = c.host_config.clone();
    if !hc.is_object() {
        hc = json!({});
    }
    if let Some(o) = hc.as_object_mut() {
        o.insert(
            "Memory".into(),
            json!(c.memory_mb.saturating_mul(1024 * 1024)),
        );
        o.insert("CpusetCpus".into(), json!(c.cpuset));
        // The vCPU count the containerVM got (the Windows client's field).
        o.insert("CpuCount".into(), json!(c.num_cpus));
        o.entry("RestartPolicy")
            .or_insert(json!({"Name": "no", "MaximumRetryCount": 0}));
        o.entry("LogConfig")
            .or_insert(json!({"Type": "json-file", "Config": {}}));
        o.entry("PortBindings").or_insert(json!({}));
        o.entry("Binds").or_insert(Json::Null);
    }
    let exposed: serde_json::Map<String, Json> =
        c.exposed.iter().map(|e| (e.clone(), json!({}))).collect();
    let or_null = |v: &Vec<String>| if v.is_empty() { Json::Null } else { json!(v) };
    let v = json!({
        "Id": c.id,
        "Created": rfc3339_ms(c.created_ms),
        "Path": c.argv.first().cloned().unwrap_or_default(),
        "Args": c.argv.get(1..).unwrap_or(&[]).to_vec(),
        "State": {
            "Status": p.status,
            "Running": p.running,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": false,
            "Dead": p.status == "dead",
            "Pid": if p.running { 1 } else { 0 },
            "ExitCode": p.exit_code,
            "Error": p.error,
            "StartedAt": p.started_ms.map_or_else(|| ZERO_TIME.to_owned(), rfc3339_ms),
            "FinishedAt": p.finished_ms.map_or_else(|| ZERO_TIME.to_owned(), rfc3339_ms),
        },
        "Image": c.image.id,
        "ResolvConfPath": "",
        "HostnamePath": "",
        "HostsPath": "",
        "LogPath": "",
        "Name": format!("/{}", c.name),
        "RestartCount": 0,
        "Driver": "vsphere",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": hc,
        "GraphDriver": {"Name": "vsphere", "Data": null},
        "Mounts": super::volumes::mounts_json(st.as_ref()),
        "Config": {
            "Hostname": c.hostname,
            "Domainname": "",
            "User": c.user,
            "AttachStdin": c.attach.0,
            "AttachStdout": c.attach.1,
            "AttachStderr": c.attach.2,
            "ExposedPorts": if exposed.is_empty() { Json::Null } else { Json::Object(exposed) },
            "Tty": c.tty,
            "OpenStdin": c.open_stdin,
            "StdinOnce": c.attach.3,
            "Env": c.env,
            "Cmd": or_null(&c.cmd),
            "Image": c.image_ref,
            "Volumes": null,
            "WorkingDir": c.working_dir,
            "Entrypoint": or_null(&c.entrypoint),
            "OnBuild": null,
            "Labels": c.labels,
            "StopSignal": c.stop_signal,
        },
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": "",
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": inspect_ports(&c),
            "SandboxKey": "",
            "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null,
            "EndpointID": if ip.is_empty() { String::new() } else { util::object_id("endpoint", &c.id, c.network.name()) },
            "Gateway": gw,
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": ip,
            "IPPrefixLen": prefix,
            "IPv6Gateway": "",
            "MacAddress": "",
            "Networks": endpoint_json(engine, &c, &ip, prefix, &gw),
        },
    });
    ok_json(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_in_both_forms() {
        let f = parse_filters(r#"{"status":{"exited":true,"dead":false},"name":["web"]}"#).unwrap();
        assert_eq!(f["status"], vec!["exited"]);
        assert_eq!(f["name"], vec!["web"]);
        assert!(parse_filters("{").is_err());
        for bad in [
            r#"[]"#,
            r#"{"status":"exited"}"#,
            r#"{"status":{"exited":"yes"}}"#,
            r#"{"name":[1]}"#,
        ] {
            let e = parse_filters(bad).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(e.message.starts_with("invalid filter: "), "{}", e.message);
        }
    }
}
