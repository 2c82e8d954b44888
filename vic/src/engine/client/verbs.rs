//! The docker CLI's commands one by one: each verb's flags (as the CLI declares them), its
//! argument count and the refusals this client makes (`Unsupported`, `NeedsAttach`), into a
//! [`CliCommand`]. `cli` picks the verb (and the `container`/`image`/`volume` management
//! forms); `run_args` and `volume` parse the larger ones.

use super::cli::{CliCommand, InspectKind, NO_TEMPLATES};
use super::error::CliError;
use super::flags::{self, Flag, Parsed};
use super::run_args::{exec_args, run_args};

/// Docker commands that exist but that this client (or the VCH endpoint) does not run.
const OTHER_DOCKER_COMMANDS: &[&str] = &[
    "attach", "builder", "buildx", "commit", "compose", "config", "context", "cp", "diff",
    "events", "export", "history", "import", "load", "manifest", "network", "node", "pause",
    "plugin", "port", "rmi", "save", "search", "secret", "service", "stack", "stats", "swarm",
    "top", "trust", "unpause", "update",
];

pub(super) fn unknown(what: &str) -> CliError {
    let verb = what.split_whitespace().last().unwrap_or(what);
    if OTHER_DOCKER_COMMANDS.contains(&verb) {
        CliError::Unsupported {
            what: what.to_owned(),
            why: "only run, create, start, stop, kill, restart, rm, rename, pull, ps, \
                  inspect, logs, wait, exec, volume, build, push, tag, images, login, logout, \
                  info and version are implemented"
                .into(),
        }
    } else {
        CliError::UnknownCommand(what.to_owned())
    }
}

pub(super) fn command(
    verb: &str,
    display: &str,
    argv: &[String],
    kind: Option<InspectKind>,
) -> Result<CliCommand, CliError> {
    match verb {
        "run" => run_args(display, argv, true).map(CliCommand::Run),
        "create" => run_args(display, argv, false).map(CliCommand::Create),
        "start" => {
            let p = scan(
                display,
                &[
                    Flag::bool("attach", Some('a')),
                    Flag::bool("interactive", Some('i')),
                    Flag::unsupported("checkpoint", None, "no checkpoints"),
                ],
                argv,
            )?;
            if p.bool("attach") || p.bool("interactive") {
                return Err(CliError::NeedsAttach {
                    what: "start -a/-i",
                    advice: "start without -a and -i",
                });
            }
            Ok(CliCommand::Start {
                containers: at_least_one(display, p)?,
            })
        }
        "stop" | "restart" => {
            let timeout = Flag::value("timeout", Some('t')).or("time");
            let p = scan(
                display,
                &[
                    timeout,
                    Flag::unsupported(
                        "signal",
                        Some('s'),
                        "the endpoint speaks API 1.25, which has no stop signal",
                    ),
                ],
                argv,
            )?;
            let timeout_s = p
                .last("timeout")
                .map(|v| parse_int(&timeout, v))
                .transpose()?;
            let containers = at_least_one(display, p)?;
            Ok(if verb == "stop" {
                CliCommand::Stop {
                    timeout_s,
                    containers,
                }
            } else {
                CliCommand::Restart {
                    timeout_s,
                    containers,
                }
            })
        }
        "kill" => {
            let p = scan(display, &[Flag::value("signal", Some('s'))], argv)?;
            Ok(CliCommand::Kill {
                signal: p.last("signal").map(str::to_owned),
                containers: at_least_one(display, p)?,
            })
        }
        "rm" => {
            let p = scan(
                display,
                &[
                    Flag::bool("force", Some('f')),
                    Flag::bool("volumes", Some('v')),
                    Flag::unsupported("link", Some('l'), "not modelled by the testbed"),
                ],
                argv,
            )?;
            Ok(CliCommand::Rm {
                force: p.bool("force"),
                volumes: p.bool("volumes"),
                containers: at_least_one(display, p)?,
            })
        }
        "rename" => {
            let p = scan(display, &[], argv)?;
            let [old, new] = exactly::<2>(display, p)?;
            let (old, new) = (old.trim().to_owned(), new.trim().to_owned());
            if old.is_empty() || new.is_empty() {
                return Err(CliError::Rejected(
                    "Error: neither old nor new names may be empty".into(),
                ));
            }
            Ok(CliCommand::Rename { old, new })
        }
        "pull" => {
            let p = scan(
                display,
                &[
                    Flag::bool("quiet", Some('q')),
                    Flag::unsupported("all-tags", Some('a'), "pull one tag at a time"),
                    Flag::unsupported("platform", None, "not modelled by the testbed"),
                ],
                argv,
            )?;
            let quiet = p.bool("quiet");
            let [image] = exactly::<1>(display, p)?;
            Ok(CliCommand::Pull { image, quiet })
        }
        "ps" => {
            let p = scan(
                display,
                &[
                    Flag::bool("all", Some('a')),
                    Flag::bool("quiet", Some('q')),
                    Flag::bool("no-trunc", None),
                    Flag::value("filter", Some('f')),
                    Flag::unsupported("format", None, NO_TEMPLATES),
                    Flag::unsupported("last", Some('n'), "filter with -f instead"),
                    Flag::unsupported("latest", Some('l'), "filter with -f instead"),
                    Flag::unsupported("size", Some('s'), "sizes are not reported"),
                ],
                argv,
            )?;
            let mut filters = Vec::new();
            for f in p.all("filter") {
                let (k, v) = f.split_once('=').ok_or_else(|| CliError::InvalidValue {
                    flag: "-f, --filter".into(),
                    value: f.clone(),
                    reason: "bad format of filter (expected name=value)".into(),
                })?;
                filters.push((k.trim().to_ascii_lowercase(), v.to_owned()));
            }
            no_args(display, &p)?;
            Ok(CliCommand::Ps {
                all: p.bool("all"),
                quiet: p.bool("quiet"),
                no_trunc: p.bool("no-trunc"),
                filters,
            })
        }
        "inspect" => {
            let mut spec = vec![
                Flag::unsupported("format", Some('f'), NO_TEMPLATES),
                Flag::unsupported("size", Some('s'), "sizes are not reported"),
            ];
            if kind.is_none() {
                spec.push(Flag::value("type", None));
            }
            let p = scan(display, &spec, argv)?;
            let kind = match p.last("type") {
                None | Some("") => kind,
                Some("container") => Some(InspectKind::Container),
                Some("image") => Some(InspectKind::Image),
                Some(other) => {
                    return Err(CliError::Rejected(format!(
                        "\"{other}\" is not a valid value for --type"
                    )));
                }
            };
            Ok(CliCommand::Inspect {
                kind,
                targets: at_least_one(display, p)?,
            })
        }
        "logs" => {
            let p = scan(
                display,
                &[
                    Flag::bool("follow", Some('f')),
                    Flag::bool("timestamps", Some('t')),
                    Flag::value("tail", Some('n')),
                    Flag::unsupported("since", None, "not implemented by the endpoint"),
                    Flag::unsupported("until", None, "not implemented by the endpoint"),
                    Flag::unsupported("details", None, "not implemented by the endpoint"),
                ],
                argv,
            )?;
            let (follow, timestamps) = (p.bool("follow"), p.bool("timestamps"));
            let tail = p.last("tail").map(str::to_owned);
            let [container] = exactly::<1>(display, p)?;
            Ok(CliCommand::Logs {
                container,
                follow,
                timestamps,
                tail,
            })
        }
        "exec" => exec_args(display, argv).map(CliCommand::Exec),
        "wait" => {
            let p = scan(display, &[], argv)?;
            Ok(CliCommand::Wait {
                containers: at_least_one(display, p)?,
            })
        }
        "info" | "version" => {
            let p = scan(
                display,
                &[Flag::unsupported("format", Some('f'), NO_TEMPLATES)],
                argv,
            )?;
            no_args(display, &p)?;
            Ok(if verb == "info" {
                CliCommand::Info
            } else {
                CliCommand::Version
            })
        }
        other => Err(unknown(other)),
    }
}

fn scan(display: &str, spec: &[Flag], argv: &[String]) -> Result<Parsed, CliError> {
    flags::scan(display, spec, argv, true)
}

fn at_least_one(display: &str, p: Parsed) -> Result<Vec<String>, CliError> {
    if p.args.is_empty() {
        return Err(CliError::Arguments {
            command: display.to_owned(),
            requirement: "requires at least 1 argument".into(),
        });
    }
    Ok(p.args)
}

fn exactly<const N: usize>(display: &str, p: Parsed) -> Result<[String; N], CliError> {
    p.args.try_into().map_err(|_| CliError::Arguments {
        command: display.to_owned(),
        requirement: format!("requires {N} argument{}", if N == 1 { "" } else { "s" }),
    })
}

fn no_args(display: &str, p: &Parsed) -> Result<(), CliError> {
    if p.args.is_empty() {
        Ok(())
    } else {
        Err(CliError::Arguments {
            command: display.to_owned(),
            requirement: "accepts no arguments".into(),
        })
    }
}

pub(super) fn invalid(flag: &str, value: &str, reason: impl Into<String>) -> CliError {
    CliError::InvalidValue {
        flag: flag.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn parse_int(flag: &Flag, value: &str) -> Result<i64, CliError> {
    value.parse().map_err(|_| {
        invalid(
            &flag.display(),
            value,
            format!("strconv.ParseInt: parsing \"{value}\": invalid syntax"),
        )
    })
}
