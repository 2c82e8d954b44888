//! `docker run` / `docker create` options into [`RunArgs`]: the flag table, docker's value
//! syntaxes (sizes, CPUs, `-p` specs, restart policies) and the CLI's refusals, including
//! a foreground `run -i` (this client sends no stdin); and `docker exec` options into
//! [`ExecArgs`] (without `-i`/`-t`, for the same reason).

use super::cli::{RestartPolicy, RunArgs, invalid};
use super::error::CliError;
use super::flags::{self, Flag};
use super::units;
use crate::firewall::{ContainerPort, PortMapping};

const NO_VOLUMES: &str = "give volumes with -v (named or anonymous)";
const NO_ATTACH: &str = "this client attaches stdout and stderr, as run without -d does";
const NO_STDIN: &str = "this client sends no stdin and opens no terminal";

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
    Flag::value("volume", Some('v')),
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
    if run && !detach && p.bool("interactive") {
        return Err(CliError::NeedsAttach {
            what: "run -i without -d",
            advice: "it sends no stdin: drop -i, or add -d",
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
        volumes: p.all("volume"),
        image,
        cmd: rest.cloned().collect(),
    })
}

/// The options of `docker exec`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecArgs {
    /// `-d`: start the process and return.
    pub detach: bool,
    /// `-e/--env`, repeatable, as given.
    pub env: Vec<String>,
    /// `-u/--user`.
    pub user: Option<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--detach-keys`.
    pub detach_keys: Option<String>,
    /// The container.
    pub container: String,
    /// The command and its arguments.
    pub cmd: Vec<String>,
}

/// `docker exec`'s flags.
const EXEC_FLAGS: &[Flag] = &[
    Flag::bool("detach", Some('d')),
    Flag::value("env", Some('e')),
    Flag::value("user", Some('u')),
    Flag::bool("privileged", None),
    Flag::value("detach-keys", None),
    Flag::unsupported("interactive", Some('i'), NO_STDIN),
    Flag::unsupported("tty", Some('t'), NO_STDIN),
    Flag::unsupported(
        "workdir",
        Some('w'),
        "the endpoint speaks API 1.25, which has no exec working directory",
    ),
    Flag::unsupported("env-file", None, "give the variables with -e"),
];

pub(super) fn exec_args(display: &str, argv: &[String]) -> Result<ExecArgs, CliError> {
    let p = flags::scan(display, EXEC_FLAGS, argv, false)?;
    let mut rest = p.args.iter();
    let (Some(container), Some(_)) = (rest.next(), rest.clone().next()) else {
        return Err(CliError::Arguments {
            command: display.to_owned(),
            requirement: "requires at least 2 arguments".into(),
        });
    };
    Ok(ExecArgs {
        detach: p.bool("detach"),
        env: p.all("env"),
        user: p.last("user").map(str::to_owned),
        privileged: p.bool("privileged"),
        detach_keys: p.last("detach-keys").map(str::to_owned),
        container: container.clone(),
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
        assert!(matches!(cmd("run busybox"), Ok(CliCommand::Run(a)) if !a.detach));
        assert!(matches!(cmd("run -t busybox sh"), Ok(CliCommand::Run(a)) if a.tty));
        assert_eq!(
            err("run -it busybox sh").split(';').next(),
            Some("docker run -i without -d needs an attach this client does not make")
        );
        assert_eq!(cmd("run -i busybox").unwrap_err().exit_code(), 125);
        assert!(matches!(cmd("run -di busybox"), Ok(CliCommand::Run(a)) if a.interactive));
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
        // A host directory reaches the endpoint, which refuses it with VIC's message.
        assert!(
            matches!(cmd("run -d -v /a:/b x"), Ok(CliCommand::Run(a)) if a.volumes == ["/a:/b"])
        );
        assert!(err("run -d --volumes-from c x").contains("give volumes with -v"));
        assert!(err("run -d -a stdout x").contains("attach"));
        assert_eq!(err("create -d x"), "unknown shorthand flag: 'd' in -d");
        assert!(matches!(
            cmd("create --name c busybox"),
            Ok(CliCommand::Create(RunArgs { detach: false, .. }))
        ));
    }

    #[test]
    fn exec_options_and_refusals() {
        let a = match cmd("exec -d -e A=1 -u root --privileged web sh -c 'echo hi' -x") {
            Ok(CliCommand::Exec(a)) => a,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (a.detach, a.env.as_slice(), a.user.as_deref(), a.privileged),
            (true, &["A=1".to_owned()][..], Some("root"), true)
        );
        assert_eq!((a.container.as_str(), a.cmd.len()), ("web", 4));
        assert_eq!(
            err("exec web"),
            "'docker exec' requires at least 2 arguments"
        );
        assert_eq!(cmd("exec web").unwrap_err().exit_code(), 1);
        assert!(matches!(
            cmd("exec -it web sh"),
            Err(CliError::Unsupported { .. })
        ));
        assert!(matches!(
            cmd("exec -w / web ls"),
            Err(CliError::Unsupported { .. })
        ));
    }
}
