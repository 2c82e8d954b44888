//! The `POST /containers/create` body the docker CLI sends for `docker run` / `docker
//! create` (API 1.25 field names), built from [`RunArgs`].

use super::cli::RunArgs;
use serde_json::{Map, Value as Json, json};

/// The create body for `args`; `run` says whether it is `docker run` (detached: nothing
/// attached; in the foreground: stdout and stderr attached) or `docker create` (stdout and
/// stderr attached, stdin with `-i`, as the CLI records them).
pub fn create_body(args: &RunArgs, run: bool) -> Json {
    let mut exposed = Map::new();
    let mut bindings: Map<String, Json> = Map::new();
    for p in &args.publish {
        let proto = p.transport.as_str();
        let c = p.container_port;
        let ip = p.host_ip.map(|i| i.to_string()).unwrap_or_default();
        for (i, port) in (c.start..=c.end).enumerate() {
            let key = format!("{port}/{proto}");
            exposed.insert(key.clone(), json!({}));
            // A container range maps port by port onto a host range of the same length; a
            // single container port takes the host range whole (the daemon picks one).
            let host = match p.host_port {
                None => String::new(),
                Some(h) if c.is_range() => (u32::from(h.start) + i as u32).to_string(),
                Some(h) => h.to_string(),
            };
            let entry = bindings.entry(key).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!({"HostIp": ip, "HostPort": host}));
            }
        }
    }
    for e in &args.expose {
        for port in e.port.start..=e.port.end {
            exposed.insert(format!("{port}/{}", e.transport.as_str()), json!({}));
        }
    }
    let labels: Map<String, Json> = args
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), Json::from(v.clone())))
        .collect();
    let entrypoint = match args.entrypoint.as_deref() {
        None => Json::Null,
        Some(e) => json!([e]),
    };
    // `-v /path` is an anonymous volume (`Config.Volumes`); anything with a source
    // (`name:/path[:mode]`) is a bind (`HostConfig.Binds`), as the CLI splits them.
    let (binds, anonymous): (Vec<&String>, Vec<&String>) =
        args.volumes.iter().partition(|v| v.contains(':'));
    let volumes: Map<String, Json> = anonymous
        .into_iter()
        .map(|v| (v.clone(), json!({})))
        .collect();
    let network = args.network.clone().unwrap_or_else(|| "default".into());
    let mut host_config = json!({
        "NetworkMode": network,
        "PortBindings": bindings,
        "PublishAllPorts": args.publish_all,
        "AutoRemove": args.auto_remove,
        "Binds": if binds.is_empty() { Json::Null } else { json!(binds) },
        "Memory": args.memory_bytes.unwrap_or(0),
        "CpusetCpus": args.cpuset_cpus.clone().unwrap_or_default(),
        "NanoCpus": args.nano_cpus.unwrap_or(0),
        "RestartPolicy": match &args.restart {
            Some(r) => json!({"Name": r.name, "MaximumRetryCount": r.maximum_retry_count}),
            None => json!({"Name": "", "MaximumRetryCount": 0}),
        },
    });
    if let Some(o) = host_config.as_object_mut()
        && args.cpuset_cpus.is_none()
    {
        o.remove("CpusetCpus");
    }
    let mut endpoints = Map::new();
    if !args.network_aliases.is_empty() {
        endpoints.insert(
            network.clone(),
            json!({ "Aliases": args.network_aliases.clone() }),
        );
    }
    let attach_out = !run || !args.detach;
    json!({
        "Hostname": args.hostname.clone().unwrap_or_default(),
        "Domainname": "",
        "User": "",
        "AttachStdin": attach_out && args.interactive,
        "AttachStdout": attach_out,
        "AttachStderr": attach_out,
        "ExposedPorts": exposed,
        "Tty": args.tty,
        "OpenStdin": args.interactive,
        "StdinOnce": attach_out && args.interactive,
        "Env": args.env.clone(),
        "Cmd": if args.cmd.is_empty() { Json::Null } else { json!(args.cmd.clone()) },
        "Image": args.image,
        "Volumes": volumes,
        "WorkingDir": args.workdir.clone().unwrap_or_default(),
        "Entrypoint": entrypoint,
        "OnBuild": null,
        "Labels": labels,
        "HostConfig": host_config,
        "NetworkingConfig": {"EndpointsConfig": endpoints},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::client::cli::{CliCommand, parse_command};

    fn body(line: &str) -> Json {
        let argv: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        match parse_command(&argv).unwrap() {
            CliCommand::Run(a) => create_body(&a, true),
            CliCommand::Create(a) => create_body(&a, false),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn seed_command_body() {
        let b = body("run -d -m 4g --cpuset-cpus 2 progrium/stress --cpu 1 --timeout 300s");
        assert_eq!(b["Image"], "progrium/stress");
        assert_eq!(b["Cmd"], json!(["--cpu", "1", "--timeout", "300s"]));
        assert_eq!(b["HostConfig"]["Memory"], 4_294_967_296_i64);
        assert_eq!(b["HostConfig"]["CpusetCpus"], "2");
        assert_eq!(b["HostConfig"]["NetworkMode"], "default");
        assert_eq!(b["AttachStdout"], false);
        assert_eq!(b["Entrypoint"], Json::Null);
        let b = body("create busybox");
        assert_eq!(b["AttachStdout"], true);
        assert_eq!(b["Cmd"], Json::Null);
        assert!(b["HostConfig"].get("CpusetCpus").is_none());
        let b = body("run busybox echo hi");
        assert_eq!(
            (b["AttachStdout"].clone(), b["AttachStderr"].clone()),
            (json!(true), json!(true))
        );
    }

    #[test]
    fn ports_expand_like_the_cli() {
        let b = body("run -d -p 8000-8001:80-81 -p 53/udp -p 0.0.0.0:9000-9010:90 --expose 7 x");
        let pb = &b["HostConfig"]["PortBindings"];
        assert_eq!(pb["80/tcp"], json!([{"HostIp": "", "HostPort": "8000"}]));
        assert_eq!(pb["81/tcp"], json!([{"HostIp": "", "HostPort": "8001"}]));
        assert_eq!(pb["53/udp"], json!([{"HostIp": "", "HostPort": ""}]));
        assert_eq!(
            pb["90/tcp"],
            json!([{"HostIp": "0.0.0.0", "HostPort": "9000-9010"}])
        );
        let ex = b["ExposedPorts"].as_object().unwrap();
        let mut keys: Vec<&String> = ex.keys().collect();
        keys.sort();
        assert_eq!(keys, ["53/udp", "7/tcp", "80/tcp", "81/tcp", "90/tcp"]);
    }

    #[test]
    fn networks_labels_and_more() {
        let b = body(
            "run -d --net routable --net-alias web -l a=b -e X=1 --rm --restart no -w /w -h h --entrypoint sh -it x",
        );
        assert_eq!(b["HostConfig"]["NetworkMode"], "routable");
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"]["routable"]["Aliases"],
            json!(["web"])
        );
        assert_eq!(b["Labels"], json!({"a": "b"}));
        assert_eq!(b["Env"], json!(["X=1"]));
        assert_eq!(b["HostConfig"]["AutoRemove"], true);
        assert_eq!(b["HostConfig"]["RestartPolicy"]["Name"], "no");
        assert_eq!(b["WorkingDir"], "/w");
        assert_eq!(b["Hostname"], "h");
        assert_eq!(b["Entrypoint"], json!(["sh"]));
        assert_eq!(
            (b["Tty"].clone(), b["OpenStdin"].clone()),
            (json!(true), json!(true))
        );
        assert_eq!(b["AttachStdin"], false);
    }

    #[test]
    fn volumes_split_into_binds_and_anonymous_ones() {
        let b = body("run -d -v data:/data -v /scratch -v logs:/logs:ro busybox true");
        assert_eq!(
            b["HostConfig"]["Binds"],
            json!(["data:/data", "logs:/logs:ro"])
        );
        assert_eq!(b["Volumes"], json!({"/scratch": {}}));
        let b = body("run -d busybox true");
        assert_eq!(b["HostConfig"]["Binds"], Json::Null);
        assert_eq!(b["Volumes"], json!({}));
    }
}
