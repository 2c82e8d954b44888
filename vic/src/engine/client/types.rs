//! Typed views of the endpoint's answers for programmatic callers (scenario checks,
//! conformance suites): what `docker ps` and `docker images` list and the parts of
//! `docker inspect` they look at. Read leniently: a missing field is empty or zero, never an error.

use serde_json::Value as Json;

/// What the CLI prints for one command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CliOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error (pull progress, `Unable to find image …`, error messages).
    pub stderr: String,
    /// The exit code: 0, 1, or 125 for a failed `run` (as the docker CLI).
    pub exit_code: i32,
    /// The new container's id (`run`, `create`).
    pub container_id: Option<String>,
    /// The (first) failure behind a non-zero exit code.
    pub error: Option<super::ClientError>,
    /// `build`: the build's duration in the emulator's virtual time, in ms, as the DCH
    /// reports it (header `vicbed-build-virtual-ms`); None when it does not (a DCH no
    /// tether paces) and for every other command.
    pub virtual_ms: Option<i64>,
}

/// One published or exposed port as `docker ps` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSummary {
    /// The host IP, when published.
    pub ip: Option<String>,
    /// The container port.
    pub private_port: u16,
    /// The host port, when published.
    pub public_port: Option<u16>,
    /// `tcp`, `udp` (or `*` for an open container network).
    pub protocol: String,
}

impl PortSummary {
    /// The `PORTS` column's form: `0.0.0.0:8080->80/tcp` or `80/tcp`.
    pub fn display(&self) -> String {
        match (&self.ip, self.public_port) {
            (Some(ip), Some(public)) => {
                format!("{ip}:{public}->{}/{}", self.private_port, self.protocol)
            }
            _ => format!("{}/{}", self.private_port, self.protocol),
        }
    }
}

/// One container as `GET /containers/json` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSummary {
    /// The full id.
    pub id: String,
    /// Names without the leading `/`.
    pub names: Vec<String>,
    /// The image as given at create.
    pub image: String,
    /// The command line.
    pub command: String,
    /// Creation time, Unix seconds (the endpoint's clock).
    pub created_s: i64,
    /// `created`, `running`, `exited`, `dead`.
    pub state: String,
    /// `Up 5 minutes`, `Exited (0) 2 seconds ago`.
    pub status: String,
    /// Published and exposed ports.
    pub ports: Vec<PortSummary>,
}

/// The parts of `GET /containers/{id}/json` callers check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerDetails {
    /// The full id.
    pub id: String,
    /// The name without the leading `/`.
    pub name: String,
    /// The image as given at create (`Config.Image`).
    pub image: String,
    /// `State.Status`.
    pub status: String,
    /// `State.Running`.
    pub running: bool,
    /// `State.ExitCode`.
    pub exit_code: i64,
    /// `HostConfig.Memory` in bytes.
    pub memory_bytes: i64,
    /// `HostConfig.CpusetCpus`.
    pub cpuset_cpus: String,
    /// `HostConfig.CpuCount`: the containerVM's vCPUs, as the endpoint reports them.
    pub cpu_count: i64,
    /// `HostConfig.NetworkMode`.
    pub network_mode: String,
    /// `NetworkSettings.IPAddress` (empty when not running).
    pub ip_address: String,
    /// `Config.Tty`.
    pub tty: bool,
    /// `State.StartedAt` (RFC 3339; Docker's zero time when it never started).
    pub started_at: String,
    /// `State.FinishedAt` (RFC 3339; Docker's zero time while it has not ended).
    pub finished_at: String,
    /// `Config.Cmd` joined by spaces (what the container runs after its entrypoint).
    pub command: String,
}

/// One image as `GET /images/json` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    /// The full id (`sha256:…`).
    pub id: String,
    /// Its references (`busybox:latest`); empty for a dangling image.
    pub repo_tags: Vec<String>,
    /// Creation time, Unix seconds.
    pub created_s: i64,
    /// Size in bytes.
    pub size_bytes: i64,
}

impl ImageSummary {
    /// Reads one entry of the list.
    pub(super) fn from_json(v: &Json) -> ImageSummary {
        ImageSummary {
            id: text(v, "/Id"),
            repo_tags: v
                .get("RepoTags")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .filter(|t| *t != "<none>:<none>")
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            created_s: int(v, "/Created"),
            size_bytes: int(v, "/Size"),
        }
    }
}

fn text(v: &Json, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned()
}

fn int(v: &Json, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Json::as_i64).unwrap_or(0)
}

impl ContainerSummary {
    /// Reads one entry of the list.
    pub(super) fn from_json(v: &Json) -> ContainerSummary {
        let names = v
            .get("Names")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(|n| n.trim_start_matches('/').to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let ports = v
            .get("Ports")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| PortSummary {
                        ip: p
                            .get("IP")
                            .and_then(Json::as_str)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                        private_port: u16::try_from(int(p, "/PrivatePort")).unwrap_or(0),
                        public_port: u16::try_from(int(p, "/PublicPort"))
                            .ok()
                            .filter(|p| *p != 0),
                        protocol: text(p, "/Type"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ContainerSummary {
            id: text(v, "/Id"),
            names,
            image: text(v, "/Image"),
            command: text(v, "/Command"),
            created_s: int(v, "/Created"),
            state: text(v, "/State"),
            status: text(v, "/Status"),
            ports,
        }
    }
}

impl ContainerDetails {
    /// Reads an inspect answer.
    pub(super) fn from_json(v: &Json) -> ContainerDetails {
        ContainerDetails {
            id: text(v, "/Id"),
            name: text(v, "/Name").trim_start_matches('/').to_owned(),
            image: text(v, "/Config/Image"),
            status: text(v, "/State/Status"),
            running: v
                .pointer("/State/Running")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            exit_code: int(v, "/State/ExitCode"),
            memory_bytes: int(v, "/HostConfig/Memory"),
            cpuset_cpus: text(v, "/HostConfig/CpusetCpus"),
            cpu_count: int(v, "/HostConfig/CpuCount"),
            network_mode: text(v, "/HostConfig/NetworkMode"),
            ip_address: text(v, "/NetworkSettings/IPAddress"),
            tty: v
                .pointer("/Config/Tty")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            started_at: text(v, "/State/StartedAt"),
            finished_at: text(v, "/State/FinishedAt"),
            command: v
                .pointer("/Config/Cmd")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_reads() {
        let s = ContainerSummary::from_json(&json!({
            "Id": "abc", "Names": ["/web"], "Image": "nginx", "Command": "nginx -g",
            "Created": 5, "State": "running", "Status": "Up 1 second",
            "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                      {"PrivatePort": 53, "Type": "udp"}]
        }));
        assert_eq!(s.names, ["web"]);
        assert_eq!(s.ports[0].display(), "0.0.0.0:8080->80/tcp");
        assert_eq!(s.ports[1].display(), "53/udp");
        let s = ContainerSummary::from_json(&json!("garbage"));
        assert_eq!((s.id.as_str(), s.names.len()), ("", 0));
        let d = ContainerDetails::from_json(&json!({
            "Id": "abc", "Name": "/web", "State": {"Status": "exited", "Running": false, "ExitCode": 143,
                "StartedAt": "2017-10-02T08:00:00Z", "FinishedAt": "2017-10-02T08:01:40Z"},
            "HostConfig": {"Memory": 4294967296_i64, "CpusetCpus": "2", "CpuCount": 2},
            "Config": {"Image": "nginx", "Tty": true, "Cmd": ["nginx", "-g"]}
        }));
        assert_eq!(
            (
                d.started_at.as_str(),
                d.finished_at.as_str(),
                d.command.as_str()
            ),
            ("2017-10-02T08:00:00Z", "2017-10-02T08:01:40Z", "nginx -g")
        );
        assert_eq!(d.name, "web");
        assert_eq!(
            (d.exit_code, d.memory_bytes, d.cpu_count),
            (143, 4294967296, 2)
        );
        assert!(d.tty && !d.running);
    }
}
