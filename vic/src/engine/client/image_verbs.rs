//! The image workflow the docker CLI runs against a Docker Container Host: [`ImageCommand`]
//! (parsed from `docker build|login|logout|push|tag|images` and the `docker image …`
//! forms) and its execution.
//!
//! - `build`: the context directory (relative to this process's current directory, or
//!   absolute) read into a tar (`crate::image_content::layer_tar`), `POST /build` with
//!   `Content-Type: application/x-tar`, the JSON-lines answer printed as the CLI prints it
//!   (after its `Sending build context to Docker daemon  2.048kB` line). The DCH's
//!   `vicbed-build-virtual-ms` header lands in [`CliOutput::virtual_ms`].
//! - `login`: `POST /auth`; on success the [`DockerClient`] remembers the credentials for
//!   that registry host, and `logout` forgets them. `push` always sends `X-Registry-Auth`
//!   (the login for the reference's registry, else `e30=`, i.e. `{}`, as the CLI does);
//!   `pull` and the pull of `run`/`create` send it when there is a login.
//! - `push`, `tag`, `images` (the table, `-q`, or `--format` with `{{.Repository}}`,
//!   `{{.Tag}}` and `{{.ID}}` only).
//! - The build context (`context`): the directory's regular files less `.dockerignore`'s
//!   exclusions; more than [`MAX_CONTEXT_BYTES`] of content is refused before anything
//!   is sent.

mod context;

use super::DockerClient;
use super::cli::CliCommand;
use super::error::{CliError, ClientError};
use super::exec::{enc, has_tag, qualified};
use super::flags::{self, Flag};
use super::render;
use super::types::{CliOutput, ImageSummary};
use super::verbs::{invalid, unknown};
use crate::dch::BUILD_VIRTUAL_MS_HEADER;
use crate::images::Reference;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// Largest build context sent, in bytes of file content.
pub const MAX_CONTEXT_BYTES: u64 = 64 * 1024 * 1024;
/// The header registry credentials travel in.
pub(super) const REGISTRY_AUTH: &str = "X-Registry-Auth";
/// `{}` in base64: what the CLI sends without a login.
const NO_AUTH: &str = "e30=";
/// Docker Hub's address as the CLI names it in `login` and `logout`.
const INDEX_SERVER: &str = "https://index.docker.io/v1/";
/// The key of Docker Hub's login.
const HUB: &str = "docker.io";
/// The fields `images --format` fills.
const IMAGE_FIELDS: [&str; 3] = [".Repository", ".Tag", ".ID"];
/// Why a flag is refused.
const NOT_MODELLED: &str = "not modelled by the testbed";
/// Why an `images --format` is refused.
const IMAGE_FORMATS: &str = "Go templates are not implemented; images --format fills only {{.Repository}}, {{.Tag}} and {{.ID}}";

/// An image workflow command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageCommand {
    /// `docker build [-t TAG]… [-f DOCKERFILE] [--build-arg K=V]… [--label K=V]… [-q]
    /// [--no-cache] PATH`.
    Build(BuildArgs),
    /// `docker login -u USER -p PASSWORD [SERVER]`.
    Login {
        /// The registry (`registry.corp.local`, `https://…/v2/`); None is Docker Hub.
        server: Option<String>,
        /// `-u/--username`.
        username: String,
        /// `-p/--password`.
        password: String,
    },
    /// `docker logout [SERVER]`: forgets the login (client side only).
    Logout {
        /// The registry; None is Docker Hub.
        server: Option<String>,
    },
    /// `docker push [-a] [-q] NAME[:TAG]`.
    Push {
        /// The reference as given.
        image: String,
        /// `-a/--all-tags`: every tag of the repository.
        all_tags: bool,
        /// `-q/--quiet`: print only the reference.
        quiet: bool,
    },
    /// `docker tag SOURCE TARGET`.
    Tag {
        /// The image (reference or id).
        source: String,
        /// The new reference.
        target: String,
    },
    /// `docker images [-a] [-q] [--no-trunc] [--format F] [REPOSITORY[:TAG]]`.
    Images {
        /// `-a/--all`.
        all: bool,
        /// `-q/--quiet`: ids only (one a row, as the CLI).
        quiet: bool,
        /// `--no-trunc`: whole ids.
        no_trunc: bool,
        /// `--format` (fields `.Repository`, `.Tag`, `.ID`).
        format: Option<String>,
        /// The `REPOSITORY[:TAG]` argument (the `reference` filter).
        reference: Option<String>,
    },
}

impl ImageCommand {
    /// The command's name (`build`, `images`, …).
    pub fn name(&self) -> &'static str {
        match self {
            ImageCommand::Build(_) => "build",
            ImageCommand::Login { .. } => "login",
            ImageCommand::Logout { .. } => "logout",
            ImageCommand::Push { .. } => "push",
            ImageCommand::Tag { .. } => "tag",
            ImageCommand::Images { .. } => "images",
        }
    }
}

/// The options of `docker build`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildArgs {
    /// `-t/--tag`, repeatable, each a valid reference.
    pub tags: Vec<String>,
    /// `-f/--file`: the Dockerfile, relative to the current directory (`PATH/Dockerfile`
    /// when absent).
    pub dockerfile: Option<String>,
    /// `--build-arg`, in order (`K` alone is sent without a value, not looked up in this
    /// process's environment).
    pub build_args: Vec<(String, Option<String>)>,
    /// `--label`, in order (`K` alone has an empty value).
    pub labels: Vec<(String, String)>,
    /// `-q/--quiet`: print only the image id.
    pub quiet: bool,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--rm` (default true): remove intermediate containers.
    pub remove: bool,
    /// The context directory as given.
    pub path: String,
}

/// One remembered login.
#[derive(Clone)]
pub(super) struct Login {
    username: String,
    password: String,
}

/// The logins of one client, by registry host ([`HUB`] for Docker Hub).
pub(super) type Logins = Mutex<BTreeMap<String, Login>>;

/// Checks the positional argument count as the CLI words it.
fn arity(
    display: &str,
    args: Vec<String>,
    min: usize,
    max: usize,
) -> Result<Vec<String>, CliError> {
    if (min..=max).contains(&args.len()) {
        return Ok(args);
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let requirement = if min == max {
        format!("requires {min} argument{}", plural(min))
    } else if min == 0 {
        format!("requires at most {max} argument{}", plural(max))
    } else {
        format!("requires at least {min} argument{}", plural(min))
    };
    Err(CliError::Arguments {
        command: display.to_owned(),
        requirement,
    })
}

/// Parses the words after `verb` (`build`, `login`, `logout`, `push`, `tag`, `images`);
/// `display` names the command in messages (`image ls`).
pub(super) fn parse(verb: &str, display: &str, argv: &[String]) -> Result<CliCommand, CliError> {
    let scan = |spec: &[Flag]| flags::scan(display, spec, argv, true);
    let command = match verb {
        "build" => ImageCommand::Build(build_args(display, argv)?),
        "login" => {
            let p = scan(&[
                Flag::value("username", Some('u')),
                Flag::value("password", Some('p')),
                Flag::unsupported("password-stdin", None, "this client sends no stdin: use -p"),
            ])?;
            let (username, password) = match (p.last("username"), p.last("password")) {
                (Some(u), Some(pw)) if !u.is_empty() && !pw.is_empty() => {
                    (u.to_owned(), pw.to_owned())
                }
                _ => {
                    return Err(CliError::Unsupported {
                        what: "login without -u and -p".into(),
                        why: "this client reads no stdin to prompt with: pass -u USER -p PASSWORD"
                            .into(),
                    });
                }
            };
            let server = arity(display, p.args, 0, 1)?.pop();
            ImageCommand::Login {
                server,
                username,
                password,
            }
        }
        "logout" => {
            let p = scan(&[])?;
            ImageCommand::Logout {
                server: arity(display, p.args, 0, 1)?.pop(),
            }
        }
        "push" => {
            let p = scan(&[
                Flag::bool("all-tags", Some('a')),
                Flag::bool("quiet", Some('q')),
                Flag::unsupported("disable-content-trust", None, NOT_MODELLED),
                Flag::unsupported("platform", None, NOT_MODELLED),
            ])?;
            let (all_tags, quiet) = (p.bool("all-tags"), p.bool("quiet"));
            ImageCommand::Push {
                image: arity(display, p.args, 1, 1)?.pop().unwrap_or_default(),
                all_tags,
                quiet,
            }
        }
        "tag" => {
            let p = scan(&[])?;
            let mut args = arity(display, p.args, 2, 2)?.into_iter();
            ImageCommand::Tag {
                source: args.next().unwrap_or_default(),
                target: args.next().unwrap_or_default(),
            }
        }
        "images" => {
            let p = scan(&[
                Flag::bool("all", Some('a')),
                Flag::bool("quiet", Some('q')),
                Flag::bool("no-trunc", None),
                Flag::value("format", None),
                Flag::unsupported("filter", Some('f'), "name the REPOSITORY[:TAG] instead"),
                Flag::unsupported("digests", None, "digests are not listed"),
                Flag::unsupported("tree", None, NOT_MODELLED),
            ])?;
            let format = p.last("format").map(str::to_owned);
            if let Some(f) = &format {
                let known = |field: &str| IMAGE_FIELDS.contains(&field).then(String::new);
                if f.trim_start().starts_with("table") || render::fill_template(f, known).is_err() {
                    return Err(CliError::Unsupported {
                        what: "images --format".into(),
                        why: IMAGE_FORMATS.into(),
                    });
                }
            }
            ImageCommand::Images {
                all: p.bool("all"),
                quiet: p.bool("quiet"),
                no_trunc: p.bool("no-trunc"),
                format,
                reference: arity(display, p.args, 0, 1)?.pop(),
            }
        }
        other => return Err(unknown(other)),
    };
    Ok(CliCommand::Image(command))
}

/// `K=V` pairs of a repeatable flag; `K` alone gives `None`.
fn pairs(values: Vec<String>) -> impl Iterator<Item = (String, Option<String>)> {
    values.into_iter().map(|v| match v.split_once('=') {
        Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
        None => (v, None),
    })
}

fn build_args(display: &str, argv: &[String]) -> Result<BuildArgs, CliError> {
    let p = flags::scan(
        display,
        &[
            Flag::value("tag", Some('t')),
            Flag::value("file", Some('f')),
            Flag::value("build-arg", None),
            Flag::value("label", None),
            Flag::bool("quiet", Some('q')),
            Flag::bool("no-cache", None),
            Flag::bool("rm", None),
            Flag::unsupported(
                "pull",
                None,
                "bases come from the DCH's images or the testbed's catalogue",
            ),
            Flag::unsupported("target", None, NOT_MODELLED),
            Flag::unsupported("network", None, NOT_MODELLED),
            Flag::unsupported("compress", None, "the context is sent uncompressed"),
            Flag::unsupported("platform", None, NOT_MODELLED),
        ],
        argv,
        true,
    )?;
    for t in p.all("tag") {
        if Reference::parse(&t).is_none() {
            return Err(invalid("-t, --tag", &t, "invalid reference format"));
        }
    }
    let path = arity(display, p.args.clone(), 1, 1)?
        .pop()
        .unwrap_or_default();
    let remote = ["http://", "https://", "git://", "git@", "github.com/"];
    if path == "-" || remote.iter().any(|r| path.starts_with(r)) {
        return Err(CliError::Unsupported {
            what: format!("build {path}"),
            why: "the context must be a local directory".into(),
        });
    }
    Ok(BuildArgs {
        tags: p.all("tag"),
        dockerfile: p.last("file").filter(|f| !f.is_empty()).map(str::to_owned),
        build_args: pairs(p.all("build-arg")).collect(),
        labels: pairs(p.all("label"))
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect(),
        quiet: p.bool("quiet"),
        no_cache: p.bool("no-cache"),
        remove: p.last("rm").is_none_or(|v| v == "true"),
        path,
    })
}

/// The key a registry's login is kept under: the host (and port) of a server address
/// (`https://registry.corp.local/v2/` → `registry.corp.local`), Docker Hub's names as one.
fn registry_key(server: &str) -> String {
    let s = server
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = s.split('/').next().unwrap_or_default().to_ascii_lowercase();
    match host.as_str() {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => HUB.to_owned(),
        _ => host,
    }
}

/// The server address the CLI sends and prints for a key (Docker Hub's index URL).
fn server_address(key: &str) -> &str {
    if key == HUB { INDEX_SERVER } else { key }
}

/// The query of `POST /build`.
fn build_query(a: &BuildArgs, dockerfile: Option<&str>) -> String {
    let mut q: Vec<String> = a.tags.iter().map(|t| format!("t={}", enc(t))).collect();
    if let Some(d) = dockerfile {
        q.push(format!("dockerfile={}", enc(d)));
    }
    if !a.build_args.is_empty() {
        let map: Map<String, Json> = a
            .build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().map_or(Json::Null, Json::String)))
            .collect();
        q.push(format!("buildargs={}", enc(&Json::Object(map).to_string())));
    }
    if !a.labels.is_empty() {
        let map: Map<String, Json> = a
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect();
        q.push(format!("labels={}", enc(&Json::Object(map).to_string())));
    }
    if a.quiet {
        q.push("q=1".into());
    }
    if a.no_cache {
        q.push("nocache=1".into());
    }
    q.push(format!("rm={}", u8::from(a.remove)));
    q.join("&")
}

/// A progress stream's text on stdout; the error it ended with, if any, as the failure.
fn print_stream(body: &[u8], out: &mut CliOutput) -> Result<(), ClientError> {
    let (text, error) = render::pull_progress(body);
    out.stdout.push_str(&text);
    error.map_or(Ok(()), |e| Err(ClientError::Stream(e)))
}

impl DockerClient {
    fn logins(&self) -> MutexGuard<'_, BTreeMap<String, Login>> {
        self.logins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The registries this client holds a `docker login` for (`docker.io` for Docker
    /// Hub).
    pub fn logged_in(&self) -> Vec<String> {
        self.logins().keys().cloned().collect()
    }

    /// The `X-Registry-Auth` value for `image`'s registry, when logged in to it: base64url
    /// of `{"username","password","serveraddress"}`, as the CLI sends it.
    pub(super) fn registry_auth(&self, image: &str) -> Option<String> {
        use base64::Engine as _;
        let r = Reference::parse(image)?;
        let key = r
            .registry
            .as_deref()
            .map_or_else(|| HUB.to_owned(), registry_key);
        let login = self.logins().get(&key)?.clone();
        let config = json!({
            "username": login.username,
            "password": login.password,
            "serveraddress": server_address(&key),
        });
        Some(base64::engine::general_purpose::URL_SAFE.encode(config.to_string()))
    }

    /// Runs an image workflow command.
    pub(super) async fn image(
        &self,
        c: &ImageCommand,
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        match c {
            ImageCommand::Build(a) => self.build(a, out).await,
            ImageCommand::Login {
                server,
                username,
                password,
            } => self.login(server.as_deref(), username, password, out).await,
            ImageCommand::Logout { server } => {
                // As docker 28 does, logged in or not.
                let key = registry_key(server.as_deref().unwrap_or(HUB));
                let line = format!("Removing login credentials for {}\n", server_address(&key));
                self.logins().remove(&key);
                out.stdout.push_str(&line);
                Ok(())
            }
            ImageCommand::Push {
                image,
                all_tags,
                quiet,
            } => self.push(image, *all_tags, *quiet, out).await,
            ImageCommand::Tag { source, target } => {
                let r = Reference::parse(target).ok_or_else(|| {
                    ClientError::Stream(format!(
                        "Error parsing reference: {target:?} is not a valid repository/tag: invalid reference format"
                    ))
                })?;
                let path = format!(
                    "/images/{}/tag?repo={}&tag={}",
                    enc(source),
                    enc(&r.repo_name()),
                    enc(&r.tag)
                );
                self.post(&path, self.request_timeout()).await.map(|_| ())
            }
            ImageCommand::Images {
                all,
                quiet,
                no_trunc,
                format,
                reference,
            } => {
                let list = self.image_list(*all, reference.as_deref()).await?;
                let table = !*quiet && format.is_none();
                let now_s = if table {
                    self.endpoint_now_s().await?
                } else {
                    0
                };
                let text = render::images_text(&list, *quiet, format.as_deref(), *no_trunc, now_s);
                out.stdout.push_str(&text);
                Ok(())
            }
        }
    }

    /// `GET /images/json`, typed (`all`: intermediate images too).
    pub async fn images(&self, all: bool) -> Result<Vec<ImageSummary>, ClientError> {
        self.image_list(all, None).await
    }

    async fn image_list(
        &self,
        all: bool,
        reference: Option<&str>,
    ) -> Result<Vec<ImageSummary>, ClientError> {
        let mut q = Vec::new();
        if all {
            q.push("all=1".to_owned());
        }
        if let Some(r) = reference {
            let filters = json!({ "reference": { r: true } });
            q.push(format!("filters={}", enc(&filters.to_string())));
        }
        let path = if q.is_empty() {
            "/images/json".to_owned()
        } else {
            format!("/images/json?{}", q.join("&"))
        };
        let v = self.get_json(&path).await?;
        let list = v.as_array().ok_or_else(|| ClientError::Decode {
            what: "GET /images/json".into(),
            reason: "not a JSON array".into(),
        })?;
        Ok(list.iter().map(ImageSummary::from_json).collect())
    }

    async fn build(&self, a: &BuildArgs, out: &mut CliOutput) -> Result<(), ClientError> {
        let dir = PathBuf::from(&a.path);
        let dockerfile = a.dockerfile.as_ref().map(PathBuf::from);
        // Reading up to 64 MiB from disk: off the I/O threads.
        let ctx = tokio::task::spawn_blocking(move || {
            context::read_context(&dir, dockerfile.as_deref(), MAX_CONTEXT_BYTES)
        })
        .await
        .unwrap_or_else(|e| Err(format!("the context reader failed: {e}")))
        .map_err(|why| ClientError::Stream(format!("unable to prepare context: {why}")))?;
        if !a.quiet {
            out.stdout.push_str(&format!(
                "Sending build context to Docker daemon  {}\n",
                render::human_size(ctx.tar.len() as f64, 4)
            ));
        }
        let path = format!("/build?{}", build_query(a, ctx.dockerfile.as_deref()));
        let tar_type = [("Content-Type", "application/x-tar")];
        let r = self
            .call_with(
                "POST",
                &path,
                Some(&ctx.tar),
                &tar_type,
                self.wait_timeout(),
            )
            .await?;
        out.virtual_ms = r
            .header(BUILD_VIRTUAL_MS_HEADER)
            .and_then(|v| v.trim().parse().ok());
        print_stream(&r.body, out)
    }

    async fn login(
        &self,
        server: Option<&str>,
        username: &str,
        password: &str,
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        out.stderr
            .push_str("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
        let key = registry_key(server.unwrap_or(HUB));
        let body = json!({
            "username": username,
            "password": password,
            "serveraddress": server_address(&key),
        });
        let r = self
            .call("POST", "/auth", Some(&body), self.request_timeout())
            .await?;
        let status = serde_json::from_slice::<Json>(&r.body)
            .ok()
            .and_then(|v| v.get("Status").and_then(Json::as_str).map(str::to_owned))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Login Succeeded".to_owned());
        self.logins().insert(
            key,
            Login {
                username: username.to_owned(),
                password: password.to_owned(),
            },
        );
        out.stdout.push_str(&format!("{status}\n"));
        Ok(())
    }

    async fn push(
        &self,
        image: &str,
        all_tags: bool,
        quiet: bool,
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        let r = Reference::parse(image)
            .ok_or_else(|| ClientError::Stream("invalid reference format".into()))?;
        let named_tag = has_tag(image);
        if all_tags && named_tag {
            return Err(ClientError::Stream(
                "tag can't be used with --all-tags/-a".into(),
            ));
        }
        if !all_tags && !named_tag && !quiet {
            out.stdout.push_str("Using default tag: latest\n");
        }
        let repo = enc(&r.repo_name());
        let path = if all_tags {
            format!("/images/{repo}/push")
        } else {
            format!("/images/{repo}/push?tag={}", enc(&r.tag))
        };
        let auth = self
            .registry_auth(image)
            .unwrap_or_else(|| NO_AUTH.to_owned());
        let resp = self
            .call_with(
                "POST",
                &path,
                None,
                &[(REGISTRY_AUTH, &auth)],
                self.wait_timeout(),
            )
            .await?;
        if quiet {
            let mut progress = CliOutput::default();
            print_stream(&resp.body, &mut progress)?;
            out.stdout.push_str(&format!("{}\n", qualified(image)));
            return Ok(());
        }
        print_stream(&resp.body, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::client::{GlobalOptions, parse_command, split_words};

    fn cmd(s: &str) -> Result<ImageCommand, CliError> {
        match parse_command(&split_words(s).unwrap())? {
            CliCommand::Image(c) => Ok(c),
            other => panic!("{other:?}"),
        }
    }

    fn err(s: &str) -> String {
        cmd(s).unwrap_err().to_string()
    }

    #[test]
    fn build_lines() {
        let c = cmd("build -t registry.corp.local/justait/nginx:patched -t web --build-arg V=1 \
                     --build-arg HTTP_PROXY --label owner=justait --label solo -f ctx/Dockerfile.prod \
                     -q --no-cache --rm=false ctx")
        .unwrap();
        let ImageCommand::Build(a) = &c else {
            panic!("{c:?}")
        };
        assert_eq!(a.tags, ["registry.corp.local/justait/nginx:patched", "web"]);
        assert_eq!(a.dockerfile.as_deref(), Some("ctx/Dockerfile.prod"));
        assert_eq!(
            a.build_args,
            [("V".into(), Some("1".into())), ("HTTP_PROXY".into(), None)]
        );
        assert_eq!(
            a.labels,
            [
                ("owner".into(), "justait".into()),
                ("solo".into(), String::new())
            ]
        );
        assert!(a.quiet && a.no_cache && !a.remove);
        assert_eq!((a.path.as_str(), c.name()), ("ctx", "build"));
        assert_eq!(
            build_query(a, Some("ctx/Dockerfile.prod")),
            "t=registry.corp.local%2Fjustait%2Fnginx%3Apatched&t=web&dockerfile=ctx%2FDockerfile.prod\
             &buildargs=%7B%22HTTP_PROXY%22%3Anull%2C%22V%22%3A%221%22%7D\
             &labels=%7B%22owner%22%3A%22justait%22%2C%22solo%22%3A%22%22%7D&q=1&nocache=1&rm=0"
        );
        let plain = cmd("image build .").unwrap();
        let ImageCommand::Build(a) = &plain else {
            panic!("{plain:?}")
        };
        assert!(a.remove && a.tags.is_empty());
        assert_eq!(build_query(a, None), "rm=1");
        assert_eq!(err("build"), "'docker build' requires 1 argument");
        assert_eq!(err("build a b"), "'docker build' requires 1 argument");
        assert_eq!(
            err("build -t Bad/Tag ."),
            "invalid argument \"Bad/Tag\" for \"-t, --tag\" flag: invalid reference format"
        );
        assert!(matches!(cmd("build -"), Err(CliError::Unsupported { .. })));
        assert!(err("build https://github.com/x/y.git").contains("local directory"));
        assert!(err("build --pull .").contains("catalogue"));
        assert_eq!(err("build --frob ."), "unknown flag: --frob");
    }

    #[test]
    fn registry_lines() {
        assert_eq!(
            cmd("login -u dev -p pw registry.corp.local"),
            Ok(ImageCommand::Login {
                server: Some("registry.corp.local".into()),
                username: "dev".into(),
                password: "pw".into()
            })
        );
        assert!(err("login registry.corp.local").contains("pass -u USER -p PASSWORD"));
        assert!(err("login -u dev -p '' r").contains("no stdin"));
        assert!(err("login --password-stdin -u dev r").contains("no stdin"));
        assert_eq!(
            err("login -u a -p b r s"),
            "'docker login' requires at most 1 argument"
        );
        assert_eq!(cmd("logout"), Ok(ImageCommand::Logout { server: None }));
        assert_eq!(
            cmd("push -a registry.corp.local/justait/nginx"),
            Ok(ImageCommand::Push {
                image: "registry.corp.local/justait/nginx".into(),
                all_tags: true,
                quiet: false
            })
        );
        assert_eq!(err("image push"), "'docker image push' requires 1 argument");
        assert_eq!(
            cmd("image tag nginx r.local/x/nginx:1"),
            Ok(ImageCommand::Tag {
                source: "nginx".into(),
                target: "r.local/x/nginx:1".into()
            })
        );
        assert_eq!(err("tag a"), "'docker tag' requires 2 arguments");
        assert_eq!(
            registry_key("https://Registry.corp.local:443/v2/"),
            "registry.corp.local:443"
        );
        assert_eq!(registry_key("index.docker.io"), HUB);
        assert_eq!(server_address(HUB), INDEX_SERVER);
    }

    #[test]
    fn images_lines() {
        assert_eq!(
            cmd("images -q"),
            Ok(ImageCommand::Images {
                all: false,
                quiet: true,
                no_trunc: false,
                format: None,
                reference: None
            })
        );
        let c = cmd("image ls --format '{{.Repository}}:{{ .Tag }} {{.ID}}' -a nginx").unwrap();
        assert_eq!(c.name(), "images");
        assert!(matches!(
            c,
            ImageCommand::Images { all: true, format: Some(_), reference: Some(ref r), .. } if r == "nginx"
        ));
        assert!(
            err("images --format '{{.Size}}'").contains("{{.Repository}}, {{.Tag}} and {{.ID}}")
        );
        assert!(err("images --format 'table {{.ID}}'").contains("Go templates"));
        assert!(err("images -f dangling=true").contains("REPOSITORY[:TAG]"));
        assert_eq!(
            err("images a b"),
            "'docker images' requires at most 1 argument"
        );
    }

    #[test]
    fn logins_become_registry_auth_headers() {
        use base64::Engine as _;
        let g = GlobalOptions::from_args(&["-H".into(), "127.0.0.1:9".into()]).unwrap();
        let client = DockerClient::new(&g).unwrap();
        assert_eq!(
            client.registry_auth("registry.corp.local/justait/nginx:patched"),
            None
        );
        client.logins().insert(
            "registry.corp.local".into(),
            Login {
                username: "dev".into(),
                password: "s3cret".into(),
            },
        );
        let header = client
            .registry_auth("registry.corp.local/justait/nginx:patched")
            .unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(&header)
            .unwrap();
        let v: Json = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            v,
            json!({"username": "dev", "password": "s3cret", "serveraddress": "registry.corp.local"})
        );
        // What the DCH reads back from it.
        let creds = crate::image_transfer::credentials_from_header(Some(&header)).unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("dev", "s3cret")
        );
        assert_eq!(
            client.registry_auth("nginx"),
            None,
            "Docker Hub has no login"
        );
        assert_eq!(client.logged_in(), ["registry.corp.local"]);
        assert!(!format!("{client:?}").contains("s3cret"));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(NO_AUTH)
            .unwrap();
        assert_eq!(decoded, b"{}");
    }
}
