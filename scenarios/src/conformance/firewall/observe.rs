//! What the firewall suite observes before any verdict: per level, the create attempts with
//! `-p 80` and `-p 8443:443` and the rule sets applied for the static and dynamic endpoints;
//! the bad bindings; a bridge container's rules. From the real path (vic-machine, the Docker
//! endpoint, the tether) or from the model.

use std::net::{IpAddr, Ipv4Addr};

use vic::engine::client::ClientError;
use vic::firewall::{
    Endpoint, IpRange, PortMapping, RuleSet, TrustLevel, check_bindings, check_ports,
};

use super::matrix::{
    BadBinding, DIRECT, EXPOSED, HOST, LEVELS, Level, Needs, On, addresses, bad_bindings, ip_range,
};
use crate::conformance::bed::Bed;
use crate::docker::refusal;

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
    /// One per [`bad_bindings`], with the mode that answered it.
    pub(super) bad: Vec<(Result<(), String>, &'static str)>,
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
            let attempt = |needs: Needs| match needs.spec() {
                Some(spec) => model_create(&net, level.trust, &spec),
                None => Ok(()),
            };
            let (direct, mapped) = (attempt(Needs::Direct), attempt(Needs::Mapped));
            let mut bindings = Vec::new();
            for (ok, needs) in [(&direct, Needs::Direct), (&mapped, Needs::Mapped)] {
                if let (Ok(()), Some(spec)) = (ok, needs.spec()) {
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
        .map(|b| (model_bad(b), "model"))
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

/// The model's check of a bad binding (on the published network).
fn model_bad(b: &BadBinding) -> Result<(), String> {
    model_create("fw-published", Some(TrustLevel::Published), b.spec)
}

/// `docker create --name NAME --net NET -p SPEC… --expose 6379 -P nginx`; EXPOSE and `-P`
/// ride along (VIC ignores both).
fn create_words(name: &str, net: &str, specs: &[String]) -> Vec<String> {
    let mut words: Vec<String> = ["create", "--name", name, "--net", net]
        .map(str::to_owned)
        .to_vec();
    for spec in specs {
        words.extend(["-p".to_owned(), spec.clone()]);
    }
    words.extend([
        "--expose".into(),
        EXPOSED.to_string(),
        "-P".into(),
        "nginx".into(),
    ]);
    words
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
    docker.run(&["pull", "nginx:latest"]).await?;

    // Runs a container and reads the rules its tether applied.
    let run = |name: String, net: String, specs: Vec<String>| async move {
        let out = docker.run(&create_words(&name, &net, &specs)).await?;
        let id = out
            .container_id
            .ok_or_else(|| format!("create {name} printed no id"))?;
        docker.run(&["start", id.as_str()]).await?;
        let (vm, _) = bed.vm_of(&id).await?;
        bed.rules_of(&vm)
            .ok_or_else(|| format!("the tether applied no rules in {vm} ({name})"))
    };
    // A create whose refusal is observed: `Ok(Err(_))` when the CLI or the daemon refused.
    let attempt = |name: String, net: String, specs: Vec<String>| async move {
        docker
            .try_run(&create_words(&name, &net, &specs))
            .await
            .map(|r| r.map(drop))
    };

    let mut levels = Vec::new();
    for level in &LEVELS {
        let net = level.static_net();
        let tried = |needs: Needs, port: u16| {
            let specs = needs.spec().into_iter().collect();
            attempt(format!("{net}-p{port}"), net.clone(), specs)
        };
        let direct = tried(Needs::Direct, DIRECT).await?.map_err(|e| refusal(&e));
        let mapped = tried(Needs::Mapped, HOST).await?.map_err(|e| refusal(&e));
        // The level's container: with every binding the endpoint accepted.
        let accepted = [(&direct, Needs::Direct), (&mapped, Needs::Mapped)]
            .into_iter()
            .filter(|(r, _)| r.is_ok())
            .filter_map(|(_, needs)| needs.spec())
            .collect();
        let rules = run(format!("{net}-c"), net.clone(), accepted).await;
        let dnet = level.dynamic_net();
        let dynamic = run(format!("{dnet}-c"), dnet, Vec::new()).await;
        levels.push(LevelObs {
            direct,
            mapped,
            rules,
            dynamic,
        });
    }
    let mut bad = Vec::new();
    for (n, b) in bad_bindings().iter().enumerate() {
        let specs = vec![b.spec.to_owned()];
        bad.push(
            match attempt(format!("fw-bad-{n}"), "fw-published".into(), specs).await? {
                // The docker CLI refuses the line itself (`-p 8000:80-81`): the endpoint
                // never sees it, so the check it would run answers.
                Err(ClientError::Usage(_)) => (model_bad(b), "model"),
                r => (r.map_err(|e| refusal(&e)), "engine"),
            },
        );
    }
    let bridge = run("fw-bridge-c".into(), "bridge".into(), Vec::new()).await;
    Ok(Observed {
        rules_mode: "tether",
        create_mode: "engine",
        levels,
        bad,
        bridge,
    })
}
