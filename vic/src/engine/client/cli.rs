//! Docker CLI command lines as typed requests: [`parse`] for a whole argv (global options,
//! then the command), [`parse_command`] for the command alone (pure and fast: scenario
//! validation calls it while reading a file), [`parse_line`] for a shell line such as
//! vic-machine's `Connect to docker:` hint.
//!
//! The commands are the ones a VCH endpoint serves: `run`, `create`, `start`, `stop`,
//! `kill`, `restart`, `rm`, `rename`, `pull`, `ps`, `inspect`, `logs`, `wait`, `exec`,
//! `volume`, `info`, `version`, and a Docker Container Host's image workflow: `build`,
//! `login`, `logout`, `push`, `tag`, `images` (module `image_verbs`); also in their
//! `docker container …` / `docker image …` forms. Flags follow the docker CLI's syntax
//! (`--f v`, `--f=v`, `-dit`, `--`); an unknown one is refused with the CLI's own message,
//! a real docker flag or command this client does not implement with a message saying so.
//! What needs stdin is refused (`run -i` without `-d`, `exec -i/-t`, `start -a/-i`): this
//! client sends none.

use super::error::CliError;
use super::global::GlobalOptions;
pub use super::run_args::ExecArgs;
pub(super) use super::verbs::invalid;
use super::verbs::{command, unknown};
use super::words::split_words;
use crate::firewall::{ContainerPort, PortMapping};

/// A parsed command line: connection options and the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliInvocation {
    /// The global options (`-H`, TLS).
    pub global: GlobalOptions,
    /// The command.
    pub command: CliCommand,
}

/// One docker command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliCommand {
    /// `docker run …`: create (pulling a missing image), then with `-d` start and print
    /// the id; without, attach, start, print the output and exit with the container.
    Run(RunArgs),
    /// `docker create …`: create (pulling a missing image), print the id.
    Create(RunArgs),
    /// `docker start C…`.
    Start {
        /// Names or ids.
        containers: Vec<String>,
    },
    /// `docker stop [-t S] C…`.
    Stop {
        /// `-t/--timeout`: seconds before the kill.
        timeout_s: Option<i64>,
        /// Names or ids.
        containers: Vec<String>,
    },
    /// `docker kill [-s SIG] C…`.
    Kill {
        /// `-s/--signal` (`KILL` when absent).
        signal: Option<String>,
        /// Names or ids.
        containers: Vec<String>,
    },
    /// `docker restart [-t S] C…`.
    Restart {
        /// `-t/--timeout`: seconds before the kill.
        timeout_s: Option<i64>,
        /// Names or ids.
        containers: Vec<String>,
    },
    /// `docker rm [-f] [-v] C…`.
    Rm {
        /// `-f`: kill a running container first.
        force: bool,
        /// `-v`: remove anonymous volumes too.
        volumes: bool,
        /// Names or ids.
        containers: Vec<String>,
    },
    /// `docker rename OLD NEW`.
    Rename {
        /// The container.
        old: String,
        /// Its new name.
        new: String,
    },
    /// `docker pull IMAGE`.
    Pull {
        /// The reference as given.
        image: String,
        /// `-q`: print only the reference.
        quiet: bool,
    },
    /// `docker ps` / `docker container ls`.
    Ps {
        /// `-a`: stopped containers too.
        all: bool,
        /// `-q`: ids only.
        quiet: bool,
        /// `--no-trunc`: full ids and commands.
        no_trunc: bool,
        /// `-f key=value`, in order.
        filters: Vec<(String, String)>,
    },
    /// `docker inspect X…`.
    Inspect {
        /// `--type` (or the `container`/`image` management form); `None` tries a
        /// container, then an image.
        kind: Option<InspectKind>,
        /// Names, ids or image references.
        targets: Vec<String>,
    },
    /// `docker logs C`.
    Logs {
        /// The container.
        container: String,
        /// `-f`: wait for the container to end.
        follow: bool,
        /// `-t`: prefix each line with its time.
        timestamps: bool,
        /// `-n/--tail`: the last N lines (`all` or a number, passed through).
        tail: Option<String>,
    },
    /// `docker wait C…`: print each exit code.
    Wait {
        /// Names or ids.
        containers: Vec<String>,
    },
    /// `docker exec …`: run a process in a running container.
    Exec(ExecArgs),
    /// `docker volume create|ls|inspect|rm …`.
    Volume(super::volume::VolumeCommand),
    /// `docker build|login|logout|push|tag|images …`: the image workflow against a Docker
    /// Container Host.
    Image(super::image_verbs::ImageCommand),
    /// `docker info`.
    Info,
    /// `docker version`.
    Version,
}

impl CliCommand {
    /// The command's name (`run`, `ps`, …).
    pub fn name(&self) -> &'static str {
        match self {
            CliCommand::Run(_) => "run",
            CliCommand::Create(_) => "create",
            CliCommand::Start { .. } => "start",
            CliCommand::Stop { .. } => "stop",
            CliCommand::Kill { .. } => "kill",
            CliCommand::Restart { .. } => "restart",
            CliCommand::Rm { .. } => "rm",
            CliCommand::Rename { .. } => "rename",
            CliCommand::Pull { .. } => "pull",
            CliCommand::Ps { .. } => "ps",
            CliCommand::Inspect { .. } => "inspect",
            CliCommand::Logs { .. } => "logs",
            CliCommand::Wait { .. } => "wait",
            CliCommand::Exec(_) => "exec",
            CliCommand::Volume(_) => "volume",
            CliCommand::Image(c) => c.name(),
            CliCommand::Info => "info",
            CliCommand::Version => "version",
        }
    }
}

/// What `docker inspect --type` restricts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InspectKind {
    /// Containers only.
    Container,
    /// Images only.
    Image,
}

/// `--restart NAME[:MAX]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// `no`, `always`, `unless-stopped`, `on-failure` (checked by the daemon).
    pub name: String,
    /// The `:MAX` part (0 when absent).
    pub maximum_retry_count: i64,
}

/// The options of `docker run` / `docker create`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunArgs {
    /// `-d`.
    pub detach: bool,
    /// `--name`.
    pub name: Option<String>,
    /// `-m/--memory` in bytes.
    pub memory_bytes: Option<i64>,
    /// `--cpuset-cpus`, as given.
    pub cpuset_cpus: Option<String>,
    /// `--cpus` in nano-CPUs (`1.5` → 1500000000).
    pub nano_cpus: Option<i64>,
    /// `--network/--net`.
    pub network: Option<String>,
    /// `--network-alias/--net-alias`, repeatable.
    pub network_aliases: Vec<String>,
    /// `-p/--publish`, repeatable.
    pub publish: Vec<PortMapping>,
    /// `-P/--publish-all`.
    pub publish_all: bool,
    /// `--expose`, repeatable.
    pub expose: Vec<ContainerPort>,
    /// `-e/--env`, repeatable, as given (`K=V`; a bare `K` is passed as is, not looked up in
    /// this process's environment).
    pub env: Vec<String>,
    /// `-l/--label`, repeatable (`k=v`, or `k` with an empty value).
    pub labels: Vec<(String, String)>,
    /// `--rm`.
    pub auto_remove: bool,
    /// `-i`.
    pub interactive: bool,
    /// `-t`.
    pub tty: bool,
    /// `--restart`.
    pub restart: Option<RestartPolicy>,
    /// `--entrypoint` (`Some("")` clears the image's).
    pub entrypoint: Option<String>,
    /// `-w/--workdir`.
    pub workdir: Option<String>,
    /// `-h/--hostname`.
    pub hostname: Option<String>,
    /// `-v/--volume`, repeatable, as given (`name:/path[:mode]` or an anonymous `/path`).
    pub volumes: Vec<String>,
    /// The image reference.
    pub image: String,
    /// Everything after the image: the command and its arguments.
    pub cmd: Vec<String>,
}

pub(super) const NO_TEMPLATES: &str =
    "Go templates are not implemented; read the JSON or the table";

/// Parses a whole docker argv (without the leading `docker`): global options, then the
/// command.
pub fn parse(argv: &[String]) -> Result<CliInvocation, CliError> {
    parse_with(GlobalOptions::default(), argv)
}

/// [`parse`] with `defaults` (e.g. [`GlobalOptions::from_env_line`]) under the global flags,
/// as the CLI applies flags over its environment.
pub fn parse_with(defaults: GlobalOptions, argv: &[String]) -> Result<CliInvocation, CliError> {
    let (global, rest) = defaults.apply_args(argv)?;
    let command = parse_command(&rest)?;
    Ok(CliInvocation { global, command })
}

/// Splits a shell line (`docker -H 127.0.1.2:2376 --tlsverify --tlscacert="…" … info`; the
/// leading `docker` is optional) and [`parse`]s it.
pub fn parse_line(line: &str) -> Result<CliInvocation, CliError> {
    let mut words = split_words(line)?;
    if words.first().map(String::as_str) == Some("docker") {
        words.remove(0);
    }
    parse(&words)
}

/// Parses the command part of an argv (`run -d …`, `ps -a`, `container ls`). Pure: no I/O.
pub fn parse_command(argv: &[String]) -> Result<CliCommand, CliError> {
    let Some((first, rest)) = argv.split_first() else {
        return Err(CliError::NoCommand);
    };
    match first.as_str() {
        "container" => {
            let (sub, rest) = rest.split_first().ok_or(CliError::Arguments {
                command: "container".into(),
                requirement: "requires a subcommand".into(),
            })?;
            let verb = match sub.as_str() {
                "ls" | "list" => "ps",
                "remove" => "rm",
                v @ ("run" | "create" | "start" | "stop" | "kill" | "restart" | "rm" | "rename"
                | "inspect" | "logs" | "wait" | "exec") => v,
                other => return Err(unknown(&format!("container {other}"))),
            };
            let display = format!("container {sub}");
            let kind = (verb == "inspect").then_some(InspectKind::Container);
            command(verb, &display, rest, kind)
        }
        "image" => {
            let (sub, rest) = rest.split_first().ok_or(CliError::Arguments {
                command: "image".into(),
                requirement: "requires a subcommand".into(),
            })?;
            match sub.as_str() {
                "pull" => command("pull", "image pull", rest, None),
                v @ ("build" | "push" | "tag") => {
                    super::image_verbs::parse(v, &format!("image {v}"), rest)
                }
                v @ ("ls" | "list") => {
                    super::image_verbs::parse("images", &format!("image {v}"), rest)
                }
                "inspect" => command("inspect", "image inspect", rest, Some(InspectKind::Image)),
                other => Err(unknown(&format!("image {other}"))),
            }
        }
        "volume" => super::volume::parse(rest),
        v @ ("build" | "login" | "logout" | "push" | "tag" | "images") => {
            super::image_verbs::parse(v, v, rest)
        }
        "system" => match rest.split_first() {
            Some((sub, rest)) if sub == "info" => command("info", "system info", rest, None),
            _ => Err(unknown(&argv.join(" "))),
        },
        verb => command(verb, verb, rest, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn words(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    fn cmd(s: &str) -> Result<CliCommand, CliError> {
        parse_command(&words(s))
    }

    fn err(s: &str) -> String {
        cmd(s).unwrap_err().to_string()
    }

    #[test]
    fn lifecycle_commands() {
        assert_eq!(
            cmd("start a b"),
            Ok(CliCommand::Start {
                containers: vec!["a".into(), "b".into()]
            })
        );
        assert!(matches!(
            cmd("start -a a"),
            Err(CliError::NeedsAttach { .. })
        ));
        assert_eq!(
            cmd("stop -t 5 a"),
            Ok(CliCommand::Stop {
                timeout_s: Some(5),
                containers: vec!["a".into()]
            })
        );
        assert_eq!(
            cmd("stop a --time=0"),
            Ok(CliCommand::Stop {
                timeout_s: Some(0),
                containers: vec!["a".into()]
            })
        );
        assert_eq!(
            err("stop -t abc x"),
            "invalid argument \"abc\" for \"-t, --timeout\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(err("stop"), "'docker stop' requires at least 1 argument");
        assert_eq!(err("stop --foo x"), "unknown flag: --foo");
        assert_eq!(cmd("stop --foo x").unwrap_err().exit_code(), 125);
        assert!(err("stop -s HUP x").contains("no stop signal"));
        assert_eq!(
            cmd("kill -s HUP a"),
            Ok(CliCommand::Kill {
                signal: Some("HUP".into()),
                containers: vec!["a".into()]
            })
        );
        assert_eq!(
            cmd("restart a"),
            Ok(CliCommand::Restart {
                timeout_s: None,
                containers: vec!["a".into()]
            })
        );
        assert_eq!(
            cmd("rm -fv a b"),
            Ok(CliCommand::Rm {
                force: true,
                volumes: true,
                containers: vec!["a".into(), "b".into()]
            })
        );
        assert_eq!(
            cmd("container remove a -f"),
            Ok(CliCommand::Rm {
                force: true,
                volumes: false,
                containers: vec!["a".into()]
            })
        );
        assert_eq!(
            cmd("rename web web2"),
            Ok(CliCommand::Rename {
                old: "web".into(),
                new: "web2".into()
            })
        );
        assert_eq!(err("rename a"), "'docker rename' requires 2 arguments");
        assert_eq!(
            err("rename a ' '"),
            "Error: neither old nor new names may be empty"
        );
        assert_eq!(
            cmd("wait a"),
            Ok(CliCommand::Wait {
                containers: vec!["a".into()]
            })
        );
        assert_eq!(err("wait"), "'docker wait' requires at least 1 argument");
    }

    #[test]
    fn query_commands() {
        assert_eq!(
            cmd("ps -aq --filter name=web -f status=exited --no-trunc"),
            Ok(CliCommand::Ps {
                all: true,
                quiet: true,
                no_trunc: true,
                filters: vec![
                    ("name".into(), "web".into()),
                    ("status".into(), "exited".into())
                ]
            })
        );
        assert_eq!(
            cmd("container ls"),
            Ok(CliCommand::Ps {
                all: false,
                quiet: false,
                no_trunc: false,
                filters: vec![]
            })
        );
        assert_eq!(err("ps x"), "'docker ps' accepts no arguments");
        assert_eq!(
            err("container ls x"),
            "'docker container ls' accepts no arguments"
        );
        assert!(err("ps -f name").contains("bad format of filter"));
        assert!(err("ps --format '{{.ID}}'").contains("Go templates"));
        assert_eq!(
            cmd("inspect a b"),
            Ok(CliCommand::Inspect {
                kind: None,
                targets: vec!["a".into(), "b".into()]
            })
        );
        assert_eq!(
            cmd("inspect --type=image nginx"),
            Ok(CliCommand::Inspect {
                kind: Some(InspectKind::Image),
                targets: vec!["nginx".into()]
            })
        );
        assert_eq!(
            cmd("container inspect a"),
            Ok(CliCommand::Inspect {
                kind: Some(InspectKind::Container),
                targets: vec!["a".into()]
            })
        );
        assert_eq!(
            err("container inspect --type image a"),
            "unknown flag: --type"
        );
        assert!(err("inspect --type volume a").contains("not a valid value for --type"));
        assert!(err("inspect -f '{{.Id}}' a").contains("Go templates"));
        assert_eq!(
            cmd("logs -ft --tail 10 a"),
            Ok(CliCommand::Logs {
                container: "a".into(),
                follow: true,
                timestamps: true,
                tail: Some("10".into())
            })
        );
        assert_eq!(err("logs a b"), "'docker logs' requires 1 argument");
        assert_eq!(
            cmd("pull -q nginx"),
            Ok(CliCommand::Pull {
                image: "nginx".into(),
                quiet: true
            })
        );
        assert_eq!(
            cmd("image pull nginx"),
            Ok(CliCommand::Pull {
                image: "nginx".into(),
                quiet: false
            })
        );
        assert_eq!(cmd("info"), Ok(CliCommand::Info));
        assert_eq!(cmd("system info"), Ok(CliCommand::Info));
        assert_eq!(cmd("version"), Ok(CliCommand::Version));
        assert_eq!(err("info x"), "'docker info' accepts no arguments");
    }

    #[test]
    fn unknown_and_unsupported_commands() {
        assert_eq!(err("foo"), "unknown command: docker foo");
        assert_eq!(cmd("foo").unwrap_err().exit_code(), 1);
        assert!(matches!(cmd("exec a ls"), Ok(CliCommand::Exec(_))));
        assert!(matches!(
            cmd("container exec a ls"),
            Ok(CliCommand::Exec(_))
        ));
        assert!(matches!(
            cmd("network ls"),
            Err(CliError::Unsupported { .. })
        ));
        assert!(matches!(
            cmd("container attach a"),
            Err(CliError::Unsupported { .. })
        ));
        assert_eq!(
            err("container frob"),
            "unknown command: docker container frob"
        );
        assert!(matches!(cmd("container"), Err(CliError::Arguments { .. })));
        assert!(matches!(cmd(""), Err(CliError::NoCommand)));
    }

    #[test]
    fn whole_command_lines() {
        let inv = parse_line(
            "docker -H 127.0.1.2:2376 --tlsverify --tlscacert=\"/t/ca.pem\" --tlscert=\"/t/cert.pem\" --tlskey=\"/t/key.pem\" info",
        )
        .unwrap();
        assert_eq!(inv.command, CliCommand::Info);
        assert!(inv.global.tls_verify);
        assert_eq!(inv.global.tls_key, Some(PathBuf::from("/t/key.pem")));
        let inv = parse(&words("-H tcp://10.0.0.5:2375 ps -q")).unwrap();
        assert_eq!(inv.global.url().as_deref(), Some("tcp://10.0.0.5:2375"));
        assert!(matches!(inv.command, CliCommand::Ps { quiet: true, .. }));
        assert_eq!(
            parse(&words("--foo ps")).unwrap_err().to_string(),
            "unknown flag: --foo"
        );
        let env =
            GlobalOptions::from_env_line("DOCKER_HOST=1.2.3.4:2376 DOCKER_TLS_VERIFY=1").unwrap();
        let inv = parse_with(env, &words("--tls=true ps")).unwrap();
        assert!(inv.global.tls && inv.global.tls_verify);
        assert_eq!(inv.global.url().as_deref(), Some("tcp://1.2.3.4:2376"));
        assert!(parse(&[]).is_err());
    }
}
