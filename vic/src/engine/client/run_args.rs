//! `docker run` / `docker create` options into [`RunArgs`]: the flag table, docker's value
//! syntaxes (sizes, CPUs, `-p` specs, restart policies) and the CLI's refusals, including
//! `run` without `-d` (attach is not implemented by the VCH endpoint).

use super::cli::{RestartPolicy, RunArgs, invalid};
use super::error::CliError;
use super::flags::{self, Flag};
use super::units;
use crate::firewall::{ContainerPort, PortMapping};

const NO_VOLUMES: &str = "the VCH endpoint has no volume store";
const NO_ATTACH: &str = "the VCH endpoint does not implement attach";

/// `docker run`'s flags (`docker create` has all but `-d`).
const RUN_FLAGS: &[Flag] = &[
    Flag::bool("detach", Some('d')),
    Flag::value("name", None),
    Flag::value("memory", Some('m')),
    Flag::value("cpuset-cpus", None),
    Flag::value("cpus", None),
    Flag::value("network", None).or("net"),
    Flag::value("network-alias", None).or("net-alias"),
    Flag::value("publish", Some('p')),
    Flag::bool("publish-all", Some('P')),
    Flag::value("expose", None),
    Flag::value("env", Some('e')),
    Flag::value("label", Some('l')),
    Flag::bool("rm", None),
    Flag::bool("interactive", Some('i')),
    Flag::bool("tty", Some('t')),
    Flag::value("restart", None),
    Flag::value("entrypoint", None),
    Flag::value("workdir", Some('w')),
    Flag::value("hostname", Some('h')),
    Flag::unsupported("attach", Some('a'), NO_ATTACH),
    Flag::unsupported("volume", Some('v'), NO_VOLUMES),
    Flag::unsupported("volumes-from", None, NO_VOLUMES),
    Flag::unsupported("mount", None, NO_VOLUMES),
    Flag::unsupported("env-file", None, "give the variables with -e"),
    Flag::unsupported("user", Some('u'), "not modelled by the testbed"),
    Flag::unsupported("privileged", None, "not modelled by the testbed"),
    Flag::unsupported("cpu-shares", Some('c'), "not modelled by the testbed"),
    Flag::unsupported("memory-swap", None, "not modelled by the testbed"),
    Flag::unsupported("link", None, "not modelled by the testbed"),
    Flag::unsupported("ip", None, "not modelled by the testbed"),
    Flag::unsupported("pull", None, "a missing image is always pulled"),
    Flag::unsupported("platform", None, "not modelled by the testbed"),
];

/// `NAME[:MAX]` as the CLI's `ParseRestartPolicy` (the name is checked by the daemon).
fn restart_policy(text: &str) -> Result<Option<RestartPolicy>, CliError> {
    if text.is_empty() {
        return Ok(None);
    }
    let (name, count) = text.split_once(':').unwrap_or((text, ""));
    if name.is_empty() {
        return Err(CliError::Rejected(
            "invalid restart policy format: no policy provided before colon".into(),
        ));
    }
    let maximum_retry_count = if count.is_empty() {
        0
    } else {
        count.parse().map_err(|_| {
            CliError::Rejected(
                "invalid restart policy format: maximum retry count must be an integer".into(),
            )
        })?
    };
    Ok(Some(RestartPolicy {
        name: name.to_owned(),
        maximum_retry_count,
    }))
}

/// `-p` as the CLI's `nat.ParsePortSpec` checks it: a container range may only be mapped to
/// a host range of the same length.
fn publish(spec: &str) -> Result<PortMapping, CliError> {
    let flag = "-p, --publish";
    let m: PortMapping = spec
        .parse()
        .map_err(|e| invalid(flag, spec, format!("{e}")))?;
    if let Some(h) = m.host_port {
        let (c, hl) = (m.container_port, h.end - h.start);
        if c.is_range() && hl != c.end - c.start {
            return Err(invalid(
                flag,
                spec,
                format!("invalid ranges specified for container and host Ports: {c} and {h}"),
            ));
        }
    }
    Ok(m)
}

pub(super) fn run_args(display: &str, argv: &[String], run: bool) -> Result<RunArgs, CliError> {
    let spec: Vec<Flag> = RUN_FLAGS
        .iter()
        .filter(|f| run || f.long != "detach")
        .copied()
        .collect();
    let p = flags::scan(display, &spec, argv, false)?;
    let flag = |long: &str| {
        spec.iter()
            .find(|f| f.long == long)
            .map(Flag::display)
            .unwrap_or_default()
    };
    let memory_bytes = p
        .last("memory")
        .map(|v| units::ram_in_bytes(v).map_err(|r| invalid(&flag("memory"), v, r)))
        .transpose()?;
    let nano_cpus = p
        .last("cpus")
        .map(|v| units::nano_cpus(v).map_err(|r| invalid(&flag("cpus"), v, r)))
        .transpose()?;
    let publish = p
        .all("publish")
        .iter()
        .map(|s| publish(s))
        .collect::<Result<Vec<_>, _>>()?;
    let expose = p
        .all("expose")
        .iter()
        .map(|s| {
            s.parse::<ContainerPort>()
                .map_err(|e| invalid(&flag("expose"), s, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let restart = p.last("restart").map(restart_policy).transpose()?.flatten();
    let auto_remove = p.bool("rm");
    if auto_remove && restart.as_ref().is_some_and(|r| r.name != "no") {
        return Err(CliError::Rejected(
            "conflicting options: cannot specify both --restart and --rm".into(),
        ));
    }
    let labels = p
        .all("label")
        .into_iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (l, String::new()),
        })
        .collect();
    let mut rest = p.args.iter();
    let image = rest.next().cloned().ok_or_else(|| CliError::Arguments {
        command: display.to_owned(),
        requirement: "requires at least 1 argument".into(),
    })?;
    let detach = run && p.bool("detach");
    if run && !detach {
        return Err(CliError::NeedsAttach {
            what: "run without -d",
            advice: "add -d",
        });
    }
    let text = |k: &str| p.last(k).map(str::to_owned);
    Ok(RunArgs {
        detach,
        name: text("name"),
        memory_bytes,
        cpuset_cpus: text("cpuset-cpus"),
        nano_cpus,
        network: text("network"),
        network_aliases: p.all("network-alias"),
        publish,
        publish_all: p.bool("publish-all"),
        expose,
        env: p.all("env"),
        labels,
        auto_remove,
        interactive: p.bool("interactive"),
        tty: p.bool("tty"),
        restart,
        entrypoint: text("entrypoint"),
        workdir: text("workdir"),
        hostname: text("hostname"),
        image,
        cmd: rest.cloned().collect(),
    })
}

#[cfg(test)]
mod tests {
    use crate::engine::client::cli::{CliCommand, RestartPolicy, RunArgs, parse_command};
    use crate::engine::client::error::CliError;
    use crate::engine::client::split_words;
    use crate::firewall::{PortMapping, Transport};

    fn cmd(s: &str) -> Result<CliCommand, CliError> {
        parse_command(&split_words(s).unwrap())
    }

    fn run(s: &str) -> RunArgs {
        match cmd(s) {
            Ok(CliCommand::Run(a)) => a,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn err(s: &str) -> String {
        cmd(s).unwrap_err().to_string()
    }

    #[test]
    fn the_seed_command() {
        let a = run(
            "run -d --name cpu-limited -m 4g --cpuset-cpus 2 progrium/stress --cpu 1 --timeout 300s",
        );
        assert!(a.detach);
        assert_eq!(a.name.as_deref(), Some("cpu-limited"));
        assert_eq!(a.memory_bytes, Some(4_294_967_296));
        assert_eq!(a.cpuset_cpus.as_deref(), Some("2"));
        assert_eq!(a.image, "progrium/stress");
        assert_eq!(a.cmd, ["--cpu", "1", "--timeout", "300s"]);
        assert_eq!(a.nano_cpus, None);
    }

    #[test]
    fn run_options() {
        let a = run(
            "run -dit --memory=512m --cpus=1.5 --net=routable --net-alias web --network-alias w2 \
             -p 80:80 -p 127.0.0.1::53/udp -P --expose 9000-9001 -e A=1 --env B -l tier=web -l x \
             --rm --entrypoint= -w /srv -h box --restart=no nginx",
        );
        assert!(a.detach && a.interactive && a.tty && a.publish_all && a.auto_remove);
        assert_eq!(a.memory_bytes, Some(512 << 20));
        assert_eq!(a.nano_cpus, Some(1_500_000_000));
        assert_eq!(a.network.as_deref(), Some("routable"));
        assert_eq!(a.network_aliases, ["web", "w2"]);
        assert_eq!(a.publish.len(), 2);
        assert_eq!(a.publish[0], PortMapping::mapped(Transport::Tcp, 80, 80));
        assert_eq!(a.publish[1].transport, Transport::Udp);
        assert_eq!(a.publish[1].host_port, None);
        assert_eq!(a.publish[1].host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(a.expose[0].to_string(), "9000-9001/tcp");
        assert_eq!(a.env, ["A=1", "B"]);
        assert_eq!(
            a.labels,
            [("tier".into(), "web".into()), ("x".into(), String::new())]
        );
        assert_eq!(a.entrypoint.as_deref(), Some(""));
        assert_eq!(a.workdir.as_deref(), Some("/srv"));
        assert_eq!(a.hostname.as_deref(), Some("box"));
        assert_eq!(
            a.restart,
            Some(RestartPolicy {
                name: "no".into(),
                maximum_retry_count: 0
            })
        );
        assert!(a.cmd.is_empty());
        let a = run("run -d --restart on-failure:3 busybox sleep 10 -d");
        assert_eq!(a.restart.unwrap().maximum_retry_count, 3);
        assert_eq!(
            a.cmd,
            ["sleep", "10", "-d"],
            "flags after the image are the command's"
        );
        let a = run("run -d -- busybox");
        assert_eq!(a.image, "busybox");
    }

    #[test]
    fn run_refusals() {
        assert_eq!(
            err("run busybox"),
            "docker run without -d needs attach, which the VCH endpoint does not implement; add -d"
        );
        assert_eq!(
            err("run -it busybox sh").split(';').next(),
            Some("docker run without -d needs attach, which the VCH endpoint does not implement")
        );
        assert_eq!(cmd("run busybox").unwrap_err().exit_code(), 125);
        assert_eq!(err("run -d"), "'docker run' requires at least 1 argument");
        assert_eq!(cmd("run -d").unwrap_err().exit_code(), 1);
        assert_eq!(err("run -d --foo x"), "unknown flag: --foo");
        assert_eq!(err("run -dz x"), "unknown shorthand flag: 'z' in -z");
        assert_eq!(err("run -d -m"), "flag needs an argument: 'm' in -m");
        assert_eq!(
            err("run -d -m 4q x"),
            "invalid argument \"4q\" for \"-m, --memory\" flag: invalid suffix: 'q'"
        );
        assert_eq!(
            err("run -d --cpus abc x"),
            "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"
        );
        assert!(
            err("run -d -p 80:80:80:80 x")
                .starts_with("invalid argument \"80:80:80:80\" for \"-p, --publish\" flag")
        );
        assert!(err("run -d -p 8080:80-81 x").contains("invalid ranges specified"));
        assert!(cmd("run -d -p 8000-8001:80-81 x").is_ok());
        assert!(cmd("run -d -p 8000-8010:80 x").is_ok());
        assert!(err("run -d -p 80/sctp x").contains("-p, --publish"));
        assert!(err("run -d --expose x y").contains("--expose"));
        assert_eq!(
            err("run -d --rm --restart=always x"),
            "conflicting options: cannot specify both --restart and --rm"
        );
        assert!(err("run -d --restart=:1 x").contains("no policy provided"));
        assert!(err("run -d --restart=always:x x").contains("must be an integer"));
        assert!(err("run -d -v /a:/b x").contains("no volume store"));
        assert!(err("run -d -a stdout x").contains("attach"));
        assert_eq!(err("create -d x"), "unknown shorthand flag: 'd' in -d");
        assert!(matches!(
            cmd("create --name c busybox"),
            Ok(CliCommand::Create(RunArgs { detach: false, .. }))
        ));
    }
}
