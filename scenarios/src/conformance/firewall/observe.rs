//! What the firewall suite observes before any verdict: per level, the create attempts with
//! `-p 80` and `-p 8443:443` and the rule sets applied for the static and dynamic endpoints;
//! the bad bindings; a bridge container's rules. From the real path (vic-machine, the Docker
//! endpoint, the tether) or from the model.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::json;
use vic::firewall::{
    Endpoint, IpRange, PortMapping, RuleSet, TrustLevel, check_bindings, check_ports,
};

use super::matrix::{
    DIRECT, EXPOSED, HOST, LEVELS, Level, MAPPED, Needs, On, addresses, bad_bindings, ip_range,
};
use crate::conformance::bed::Bed;

/// What the real path (or the model) gave for one level.
pub(super) struct LevelObs {
    /// `docker create -p 80` alone.
    pub(super) direct: Result<(), String>,
    /// `docker create -p 8443:443` alone.
    pub(super) mapped: Result<(), String>,
    /// The rules applied for the static endpoint.
    pub(super) rules: Result<RuleSet, String>,
    /// The rules applied for the dynamic endpoint.
    pub(super) dynamic: Result<RuleSet, String>,
}

/// Everything observed before the verdicts.
pub(super) struct Observed {
    /// `tether` or `model`.
    pub(super) rules_mode: &'static str,
    /// `engine` or `model`.
    pub(super) create_mode: &'static str,
    pub(super) levels: Vec<LevelObs>,
    /// One per [`bad_bindings`].
    pub(super) bad: Vec<Result<(), String>>,
    /// The rules of a container on the bridge network.
    pub(super) bridge: Result<RuleSet, String>,
}

/// The endpoint the tether configures for level `i` (static: `fw-<level>`; dynamic:
/// `fwd-<level>`), for the model.
pub(super) fn model_endpoint(
    i: usize,
    level: &Level,
    on: On,
    bindings: Vec<PortMapping>,
) -> Endpoint {
    let a = addresses(i);
    let mut ep = match on {
        On::Static => Endpoint::container_network(&level.static_net(), "eth0", level.trust),
        On::Dynamic => Endpoint::container_network(&level.dynamic_net(), "eth0", level.trust),
    };
    if on == On::Static {
        ep.ip = Some(IpAddr::V4(a.container));
        ep.pools = IpRange::cidr(IpAddr::V4(a.container), 28)
            .into_iter()
            .collect();
        ep.published = bindings;
        ep.exposed_only = format!("{EXPOSED}/tcp").parse().into_iter().collect();
    }
    ep
}

pub(super) fn mapping(spec: &str) -> Result<PortMapping, String> {
    spec.parse::<PortMapping>().map_err(|e| e.to_string())
}

/// The model's create check of `-p spec` on `net` at `trust`.
pub(super) fn model_create(net: &str, trust: Option<TrustLevel>, spec: &str) -> Result<(), String> {
    let p = mapping(spec)?;
    check_bindings(std::slice::from_ref(&p), None).map_err(|e| e.to_string())?;
    check_ports(net, trust, &[p]).map_err(|e| e.to_string())
}

/// Observations without the emulator.
pub(super) fn observe_model() -> Observed {
    let levels = LEVELS
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let net = level.static_net();
            let direct = model_create(&net, level.trust, &DIRECT.to_string());
            let mapped = model_create(&net, level.trust, &format!("{HOST}:{MAPPED}"));
            let mut bindings = Vec::new();
            for (ok, spec) in [
                (&direct, DIRECT.to_string()),
                (&mapped, format!("{HOST}:{MAPPED}")),
            ] {
                if ok.is_ok() {
                    bindings.extend(mapping(&spec));
                }
            }
            LevelObs {
                direct,
                mapped,
                rules: vic::firewall::rules(&model_endpoint(i, level, On::Static, bindings))
                    .map_err(|e| e.to_string()),
                dynamic: vic::firewall::rules(&model_endpoint(i, level, On::Dynamic, Vec::new()))
                    .map_err(|e| e.to_string()),
            }
        })
        .collect();
    let bad = bad_bindings()
        .iter()
        .map(|b| model_create("fw-published", Some(TrustLevel::Published), b.spec))
        .collect();
    let bridge = IpRange::cidr(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)), 16)
        .ok_or_else(|| "bridge range".to_owned())
        .and_then(|pool| {
            vic::firewall::rules(&Endpoint::bridge(
                "eth0",
                Some(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 2))),
                vec![pool],
            ))
            .map_err(|e| e.to_string())
        });
    Observed {
        rules_mode: "model",
        create_mode: "model",
        levels,
        bad,
        bridge,
    }
}

/// The `HostConfig.PortBindings` of `-p 80` / `-p 8443:443`.
pub(super) fn binding_json(needs: Needs) -> serde_json::Value {
    match needs {
        Needs::Direct => json!({format!("{DIRECT}/tcp"): [{"HostPort": ""}]}),
        Needs::Mapped => json!({format!("{MAPPED}/tcp"): [{"HostPort": HOST.to_string()}]}),
        Needs::Nothing => json!({}),
    }
}

/// A `docker create` body on network `net` with `bindings`; EXPOSE 6379 and `-P` ride along
/// (VIC ignores both).
pub(super) fn create_body(net: &str, bindings: serde_json::Value) -> serde_json::Value {
    json!({
        "Image": "nginx",
        "ExposedPorts": {format!("{EXPOSED}/tcp"): {}},
        "HostConfig": {
            "NetworkMode": net,
            "PortBindings": bindings,
            "PublishAllPorts": true,
        },
    })
}

/// Observations through vic-machine, the Docker endpoint and the tether.
pub(super) async fn observe_real() -> Result<Observed, String> {
    let bed = Bed::start().await?;
    let r = observe_on(&bed).await;
    bed.shutdown().await;
    r
}

pub(super) async fn observe_on(bed: &Bed) -> Result<Observed, String> {
    let mut portgroups = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut arg = |flag: &str, value: String| {
        args.push(flag.to_owned());
        args.push(value);
    };
    for (i, level) in LEVELS.iter().enumerate() {
        let a = addresses(i);
        for net in [level.static_net(), level.dynamic_net()] {
            portgroups.push(net.clone());
            arg("--container-network", net.clone());
            if let Some(flag) = level.flag {
                arg("--container-network-firewall", format!("{net}:{flag}"));
            }
        }
        let net = level.static_net();
        arg(
            "--container-network-gateway",
            format!("{net}:{}/{}", a.gateway, a.prefix),
        );
        arg(
            "--container-network-ip-range",
            format!("{net}:{}", ip_range(i)),
        );
    }
    bed.add_portgroups(&portgroups).await?;
    let vch = bed.create_vch("vicbed-fw", &args).await?;
    let docker = &vch.docker;
    docker.pull("nginx", "latest").await?;

    // Runs a container and reads the rules its tether applied.
    let run = |name: String, body: serde_json::Value| async move {
        let id = docker
            .create(Some(&name), &body)
            .await?
            .map_err(|m| format!("create {name}: {m}"))?;
        docker.start(&id).await?;
        let (vm, _) = bed.vm_of(&id).await?;
        bed.rules_of(&vm)
            .ok_or_else(|| format!("the tether applied no rules in {vm} ({name})"))
    };
    let attempt = |name: String, body: serde_json::Value| async move {
        docker
            .create(Some(&name), &body)
            .await
            .map(|r| r.map(|_| ()))
    };

    let mut levels = Vec::new();
    for level in &LEVELS {
        let net = level.static_net();
        let direct = attempt(
            format!("{net}-p{DIRECT}"),
            create_body(&net, binding_json(Needs::Direct)),
        )
        .await?;
        let mapped = attempt(
            format!("{net}-p{HOST}"),
            create_body(&net, binding_json(Needs::Mapped)),
        )
        .await?;
        // The level's container: with every binding the endpoint accepted.
        let mut bindings = serde_json::Map::new();
        for (ok, needs) in [(&direct, Needs::Direct), (&mapped, Needs::Mapped)] {
            if let (Ok(()), serde_json::Value::Object(m)) = (ok, binding_json(needs)) {
                bindings.extend(m);
            }
        }
        let rules = run(
            format!("{net}-c"),
            create_body(&net, serde_json::Value::Object(bindings)),
        )
        .await;
        let dnet = level.dynamic_net();
        let dynamic = run(format!("{dnet}-c"), create_body(&dnet, json!({}))).await;
        levels.push(LevelObs {
            direct,
            mapped,
            rules,
            dynamic,
        });
    }
    let mut bad = Vec::new();
    for (n, b) in bad_bindings().iter().enumerate() {
        bad.push(
            attempt(
                format!("fw-bad-{n}"),
                create_body("fw-published", b.bindings.clone()),
            )
            .await?,
        );
    }
    let bridge = run("fw-bridge-c".into(), create_body("bridge", json!({}))).await;
    Ok(Observed {
        rules_mode: "tether",
        create_mode: "engine",
        levels,
        bad,
        bridge,
    })
}
