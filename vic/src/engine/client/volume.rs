//! `docker volume create|ls|inspect|rm` as the docker CLI runs them against API 1.25:
//! [`VolumeCommand`] (parsed from the words after `volume`) and its execution — `POST
//! /volumes/create` (prints the name), `GET /volumes` (the `DRIVER  VOLUME NAME` table, or
//! names with `-q`), `GET /volumes/{name}` (the JSON array), `DELETE /volumes/{name}`
//! (prints each name; a refusal is the daemon's message, exit 1).

use super::DockerClient;
use super::cli::{CliCommand, invalid};
use super::error::{CliError, ClientError};
use super::exec::enc;
use super::flags::{self, Flag};
use super::render;
use super::types::CliOutput;
use serde_json::{Map, Value as Json, json};

/// A `docker volume` subcommand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumeCommand {
    /// `docker volume create [NAME] [-d DRIVER] [-o K=V]… [--label K=V]…`.
    Create {
        /// The name (`--name` or the argument); None lets the daemon name it.
        name: Option<String>,
        /// `-d/--driver` (the CLI's default is `local`).
        driver: String,
        /// `-o/--opt`, in order.
        opts: Vec<(String, String)>,
        /// `--label`, in order.
        labels: Vec<(String, String)>,
    },
    /// `docker volume ls [-q] [-f K=V]…`.
    Ls {
        /// `-q`: names only.
        quiet: bool,
        /// `-f/--filter`, in order.
        filters: Vec<(String, String)>,
    },
    /// `docker volume inspect NAME…`.
    Inspect {
        /// The volumes.
        names: Vec<String>,
    },
    /// `docker volume rm [-f] NAME…`.
    Rm {
        /// `-f/--force`.
        force: bool,
        /// The volumes.
        names: Vec<String>,
    },
}

const NO_TEMPLATES: &str = "Go templates are not implemented; read the JSON or the table";

/// `K=V` pairs of a repeatable flag (`K` alone has an empty value, as the CLI's `MapOpts`).
fn pairs(values: Vec<String>) -> Vec<(String, String)> {
    values
        .into_iter()
        .map(|v| match v.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (v, String::new()),
        })
        .collect()
}

/// Parses the words after `docker volume`.
pub(super) fn parse(argv: &[String]) -> Result<CliCommand, CliError> {
    let (sub, rest) = argv.split_first().ok_or(CliError::Arguments {
        command: "volume".into(),
        requirement: "requires a subcommand".into(),
    })?;
    let display = format!("volume {sub}");
    let scan = |spec: &[Flag]| flags::scan(&display, spec, rest, true);
    let needs_one = |args: Vec<String>| {
        if args.is_empty() {
            Err(CliError::Arguments {
                command: display.clone(),
                requirement: "requires at least 1 argument".into(),
            })
        } else {
            Ok(args)
        }
    };
    let command = match sub.as_str() {
        "create" => {
            let p = scan(&[
                Flag::value("driver", Some('d')),
                Flag::value("name", None),
                Flag::value("opt", Some('o')),
                Flag::value("label", None),
            ])?;
            if p.args.len() > 1 {
                return Err(CliError::Arguments {
                    command: display,
                    requirement: "requires at most 1 argument".into(),
                });
            }
            let flag_name = p.last("name").map(str::to_owned);
            let arg_name = p.args.first().cloned();
            if let (Some(f), Some(a)) = (&flag_name, &arg_name)
                && f != a
            {
                return Err(CliError::Rejected(format!(
                    "conflicting options: either specify --name or provide positional arg, not both ({f}, {a})"
                )));
            }
            for o in p.all("opt") {
                if !o.contains('=') {
                    return Err(invalid("-o, --opt", &o, "bad format: expected key=value"));
                }
            }
            VolumeCommand::Create {
                name: arg_name.or(flag_name),
                driver: p.last("driver").unwrap_or("local").to_owned(),
                opts: pairs(p.all("opt")),
                labels: pairs(p.all("label")),
            }
        }
        "ls" | "list" => {
            let p = scan(&[
                Flag::bool("quiet", Some('q')),
                Flag::value("filter", Some('f')),
                Flag::unsupported("format", None, NO_TEMPLATES),
            ])?;
            if !p.args.is_empty() {
                return Err(CliError::Arguments {
                    command: display,
                    requirement: "accepts no arguments".into(),
                });
            }
            let mut filters = Vec::new();
            for f in p.all("filter") {
                let (k, v) = f.split_once('=').ok_or_else(|| {
                    invalid(
                        "-f, --filter",
                        &f,
                        "bad format of filter (expected name=value)",
                    )
                })?;
                filters.push((k.trim().to_ascii_lowercase(), v.to_owned()));
            }
            VolumeCommand::Ls {
                quiet: p.bool("quiet"),
                filters,
            }
        }
        "inspect" => {
            let p = scan(&[Flag::unsupported("format", Some('f'), NO_TEMPLATES)])?;
            VolumeCommand::Inspect {
                names: needs_one(p.args)?,
            }
        }
        "rm" | "remove" => {
            let p = scan(&[Flag::bool("force", Some('f'))])?;
            let force = p.bool("force");
            VolumeCommand::Rm {
                force,
                names: needs_one(p.args)?,
            }
        }
        other => {
            return Err(CliError::Unsupported {
                what: format!("volume {other}"),
                why: "only volume create, ls, inspect and rm are implemented".into(),
            });
        }
    };
    Ok(CliCommand::Volume(command))
}

/// The CLI's `volume ls` table: `DRIVER` and `VOLUME NAME` columns, padded as its
/// tabwriter pads them (minimum width 20, three spaces of padding).
fn table(volumes: &[(String, String)]) -> String {
    let width = volumes
        .iter()
        .map(|(d, _)| d.chars().count() + 3)
        .chain(std::iter::once(20))
        .max()
        .unwrap_or(20);
    let mut out = format!("{:<width$}VOLUME NAME\n", "DRIVER");
    for (driver, name) in volumes {
        out.push_str(&format!("{driver:<width$}{name}\n"));
    }
    out
}

fn filters_query(filters: &[(String, String)]) -> String {
    if filters.is_empty() {
        return String::new();
    }
    let mut m: Map<String, Json> = Map::new();
    for (k, v) in filters {
        let entry = m.entry(k.clone()).or_insert_with(|| json!({}));
        if let Some(o) = entry.as_object_mut() {
            o.insert(v.clone(), Json::Bool(true));
        }
    }
    format!("?filters={}", enc(&Json::Object(m).to_string()))
}

impl DockerClient {
    /// Runs a `docker volume` subcommand.
    pub(super) async fn volume(
        &self,
        v: &VolumeCommand,
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        match v {
            VolumeCommand::Create {
                name,
                driver,
                opts,
                labels,
            } => {
                let map = |kv: &[(String, String)]| -> Map<String, Json> {
                    kv.iter()
                        .map(|(k, v)| (k.clone(), Json::from(v.clone())))
                        .collect()
                };
                let body = json!({
                    "Name": name.clone().unwrap_or_default(),
                    "Driver": driver,
                    "DriverOpts": map(opts),
                    "Labels": map(labels),
                });
                let r = self
                    .call(
                        "POST",
                        "/volumes/create",
                        Some(&body),
                        self.request_timeout(),
                    )
                    .await?;
                let made = serde_json::from_slice::<Json>(&r.body)
                    .ok()
                    .and_then(|j| j.get("Name").and_then(Json::as_str).map(str::to_owned))
                    .ok_or_else(|| ClientError::Decode {
                        what: "POST /volumes/create".into(),
                        reason: "no Name in the answer".into(),
                    })?;
                out.stdout.push_str(&format!("{made}\n"));
                Ok(())
            }
            VolumeCommand::Ls { quiet, filters } => {
                let j = self
                    .get_json(&format!("/volumes{}", filters_query(filters)))
                    .await?;
                let mut listed: Vec<(String, String)> = j
                    .get("Volumes")
                    .and_then(Json::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|v| {
                                let s = |k: &str| {
                                    v.get(k).and_then(Json::as_str).unwrap_or("").to_owned()
                                };
                                (s("Driver"), s("Name"))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                listed.sort_by(|a, b| a.1.cmp(&b.1));
                out.stdout = if *quiet {
                    listed.iter().map(|(_, n)| format!("{n}\n")).collect()
                } else {
                    table(&listed)
                };
                Ok(())
            }
            VolumeCommand::Inspect { names } => {
                let mut found = Vec::new();
                for n in names {
                    match self.get_json(&format!("/volumes/{}", enc(n))).await {
                        Ok(v) => found.push(v),
                        Err(e) => Self::record(out, e)?,
                    }
                }
                out.stdout = render::indented(&Json::Array(found));
                Ok(())
            }
            VolumeCommand::Rm { force, names } => {
                let q = if *force { "?force=1" } else { "" };
                for n in names {
                    let path = format!("/volumes/{}{q}", enc(n));
                    match self
                        .call("DELETE", &path, None, self.request_timeout())
                        .await
                    {
                        Ok(_) => out.stdout.push_str(&format!("{n}\n")),
                        Err(e) => Self::record(out, e)?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn volume(s: &str) -> VolumeCommand {
        match parse(&words(s)) {
            Ok(CliCommand::Volume(v)) => v,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn parses_the_subcommands_as_the_cli() {
        assert_eq!(
            volume("create -o Capacity=2G --label team=ci -d vsphere data"),
            VolumeCommand::Create {
                name: Some("data".into()),
                driver: "vsphere".into(),
                opts: vec![("Capacity".into(), "2G".into())],
                labels: vec![("team".into(), "ci".into())],
            }
        );
        assert_eq!(
            volume("create"),
            VolumeCommand::Create {
                name: None,
                driver: "local".into(),
                opts: vec![],
                labels: vec![],
            }
        );
        assert_eq!(
            volume("ls -q -f dangling=true"),
            VolumeCommand::Ls {
                quiet: true,
                filters: vec![("dangling".into(), "true".into())],
            }
        );
        assert_eq!(
            volume("rm -f a b"),
            VolumeCommand::Rm {
                force: true,
                names: vec!["a".into(), "b".into()],
            }
        );
        assert_eq!(
            volume("inspect a"),
            VolumeCommand::Inspect {
                names: vec!["a".into()]
            }
        );
    }

    #[test]
    fn refuses_what_the_cli_refuses() {
        for bad in [
            "",
            "create a b",
            "create --name a b",
            "create -o Capacity",
            "ls extra",
            "inspect",
            "rm",
            "prune",
            "ls --format x",
        ] {
            assert!(parse(&words(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_table_pads_as_the_cli() {
        assert_eq!(
            table(&[("vsphere".into(), "v1".into())]),
            "DRIVER              VOLUME NAME\nvsphere             v1\n"
        );
        assert_eq!(table(&[]), "DRIVER              VOLUME NAME\n");
        assert_eq!(
            filters_query(&[("name".into(), "v".into())]),
            "?filters=%7B%22name%22%3A%7B%22v%22%3Atrue%7D%7D"
        );
    }
}
