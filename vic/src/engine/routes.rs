//! The Docker API 1.25 routing table as VIC's vendored docker 1.13 router has it
//! (vic.md §7.1, §7.2): versioned (`/v1.25/…`) and unversioned paths, the version check, and
//! which routes VIC supports, refuses as not implemented, or refuses as swarm.

use axum::http::Method;

/// The API version the endpoint speaks.
pub const API_VERSION: &str = "1.25";
/// The oldest API version accepted.
pub const MIN_API_VERSION: &str = "1.19";
/// The `Server` header.
pub const SERVER_HEADER: &str = "Docker/1.25 (linux)";
/// Swarm's refusal (404).
pub const SWARM_MESSAGE: &str = "Docker Swarm is not yet supported";

/// VIC's refusal of an operation it does not implement (HTTP 500).
pub fn not_implemented(method: &str) -> String {
    format!("vSphere Integrated Containers does not yet implement {method}")
}

/// A parsed `/v<major>.<minor>` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    /// Parses `1.25` (docker's router accepts `[0-9.]+`; a missing minor is 0).
    pub fn parse(s: &str) -> Option<ApiVersion> {
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return None;
        }
        let mut it = s.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = match it.next() {
            Some(m) if !m.is_empty() => m.parse().ok()?,
            Some(_) => return None,
            None => 0,
        };
        Some(ApiVersion(major, minor))
    }
}

/// The minimum as a version.
pub const MIN: ApiVersion = ApiVersion(1, 19);
/// The maximum (the version spoken) as a version.
pub const MAX: ApiVersion = ApiVersion(1, 25);

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET|HEAD /_ping`
    Ping,
    /// `GET /version`
    Version,
    /// `GET /info`
    Info,
    /// `POST /images/create` (pull)
    ImagesCreate,
    /// `GET /images/json`
    ImagesList,
    /// `GET /images/{name}/json`
    ImageInspect(String),
    /// `POST /images/{name}/tag`
    ImageTag(String),
    /// `DELETE /images/{name}`
    ImageDelete(String),
    /// `POST /containers/create`
    ContainerCreate,
    /// `GET /containers/json`
    ContainerList,
    /// `GET /containers/{id}/json`
    ContainerInspect(String),
    /// `POST /containers/{id}/start`
    ContainerStart(String),
    /// `POST /containers/{id}/stop`
    ContainerStop(String),
    /// `POST /containers/{id}/kill`
    ContainerKill(String),
    /// `POST /containers/{id}/restart`
    ContainerRestart(String),
    /// `POST /containers/{id}/wait`
    ContainerWait(String),
    /// `POST /containers/{id}/attach` (hijacked)
    ContainerAttach(String),
    /// `GET /containers/{id}/stats`
    ContainerStats(String),
    /// `POST /containers/{id}/resize` (the TTY size)
    ContainerResize(String),
    /// `POST /containers/{id}/exec`
    ExecCreate(String),
    /// `POST /exec/{id}/start` (hijacked unless detached)
    ExecStart(String),
    /// `GET /exec/{id}/json`
    ExecInspect(String),
    /// `POST /exec/{id}/resize`
    ExecResize(String),
    /// `GET /containers/{id}/logs`
    ContainerLogs(String),
    /// `POST /containers/{id}/rename`
    ContainerRename(String),
    /// `DELETE /containers/{id}`
    ContainerDelete(String),
    /// `GET /volumes`
    VolumeList,
    /// `POST /volumes/create`
    VolumeCreate,
    /// `GET /volumes/{name}`
    VolumeInspect(String),
    /// `DELETE /volumes/{name}`
    VolumeDelete(String),
    /// `GET /networks`
    NetworkList,
    /// `GET /networks/{id}`
    NetworkInspect(String),
    /// `GET /events` (a stream)
    Events,
    /// A route VIC refuses with [`not_implemented`]; the docker backend method's name.
    NotImplemented(&'static str),
    /// A swarm route: 404 [`SWARM_MESSAGE`].
    Swarm,
    /// No such route: docker's 404 `page not found`.
    NotFound,
}

/// Splits an optional `/v<version>` prefix off `path`: (version text, rest). A `/v…` segment
/// that is not a version is left in place (and routes nowhere).
pub fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let (ver, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if ApiVersion::parse(ver).is_some() {
            return (Some(ver), tail);
        }
    }
    (None, path)
}

/// The error for a client version outside [`MIN_API_VERSION`, `API_VERSION`], if `ver` is
/// one (400), in the words of the docker 1.13 router VIC vendors (VIC's troubleshooting page
/// quotes "client is newer than server (client API version: x.xx, server API version:
/// 1.25)"; research/vic.md §7.1 for the minimum). A client that negotiates (the docker CLI, docker-py with
/// `version="auto"`) pings `/_ping` unversioned and then uses 1.25; one that insists on a
/// newer version gets this refusal rather than answers in a format it does not expect.
pub fn version_error(ver: &str) -> Option<String> {
    let v = ApiVersion::parse(ver)?;
    if v < MIN {
        Some(format!(
            "client version {ver} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        ))
    } else if v > MAX {
        Some(format!(
            "client is newer than server (client API version: {ver}, server API version: {API_VERSION})"
        ))
    } else {
        None
    }
}

/// Routes an unversioned path.
pub fn route(method: &Method, path: &str) -> Route {
    let path = path.trim_end_matches('/');
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = method.as_str();
    let get = m == "GET" || m == "HEAD";
    let post = m == "POST";
    let delete = m == "DELETE";
    use Route::*;
    match segs.as_slice() {
        ["_ping"] if get => Ping,
        ["version"] if get => Version,
        ["info"] if get => Info,
        ["events"] if get => Events,
        ["auth"] if post => NotImplemented("AuthenticateToRegistry"),
        ["system", "df"] if get => NotImplemented("SystemDiskUsage"),
        ["build"] if post => NotImplemented("BuildFromContext"),
        ["commit"] if post => NotImplemented("Commit"),
        [first, ..] if matches!(*first, "swarm" | "services" | "nodes" | "tasks" | "secrets") => {
            Swarm
        }
        ["plugins", ..] => NotImplemented("plugins"),
        ["images", "create"] if post => ImagesCreate,
        ["images", "json"] if get => ImagesList,
        ["images", "search"] if get => NotImplemented("SearchRegistryForImages"),
        ["images", "load"] if post => NotImplemented("LoadImage"),
        ["images", "get"] if get => NotImplemented("ExportImage"),
        ["images", "prune"] if post => NotImplemented("ImagesPrune"),
        ["images", name @ .., last] if !name.is_empty() => {
            let name = name.join("/");
            match (*last, m) {
                ("json", "GET" | "HEAD") => ImageInspect(name),
                ("tag", "POST") => ImageTag(name),
                ("push", "POST") => NotImplemented("PushImage"),
                ("history", "GET" | "HEAD") => NotImplemented("ImageHistory"),
                ("get", "GET" | "HEAD") => NotImplemented("ExportImage"),
                (_, "DELETE") => ImageDelete(format!("{name}/{last}")),
                _ => NotFound,
            }
        }
        ["images", name] if delete => ImageDelete((*name).to_owned()),
        ["containers", "create"] if post => ContainerCreate,
        ["containers", "json"] if get => ContainerList,
        ["containers", "prune"] if post => NotImplemented("ContainersPrune"),
        ["containers", id] if delete => ContainerDelete((*id).to_owned()),
        ["containers", id, "checkpoints", ..] => {
            let _ = id;
            NotImplemented("checkpointing")
        }
        ["containers", id, op] => {
            let id = (*id).to_owned();
            match (*op, m) {
                ("json", "GET" | "HEAD") => ContainerInspect(id),
                ("start", "POST") => ContainerStart(id),
                ("stop", "POST") => ContainerStop(id),
                ("kill", "POST") => ContainerKill(id),
                ("restart", "POST") => ContainerRestart(id),
                ("wait", "POST") => ContainerWait(id),
                ("logs", "GET" | "HEAD") => ContainerLogs(id),
                ("rename", "POST") => ContainerRename(id),
                ("pause", "POST") => NotImplemented("ContainerPause"),
                ("unpause", "POST") => NotImplemented("ContainerUnpause"),
                ("update", "POST") => NotImplemented("ContainerUpdate"),
                ("top", "GET") => NotImplemented("ContainerTop"),
                ("copy", "POST") => NotImplemented("ContainerCopy"),
                ("export", "GET") => NotImplemented("ContainerExport"),
                ("attach", "POST") => ContainerAttach(id),
                // Supported by VIC, not by this endpoint (yet): refused with the same message.
                ("stats", "GET") => ContainerStats(id),
                ("exec", "POST") => ExecCreate(id),
                ("changes", "GET") => NotImplemented("ContainerChanges"),
                ("resize", "POST") => ContainerResize(id),
                ("archive", "GET") => NotImplemented("ContainerArchivePath"),
                ("archive", "HEAD") => NotImplemented("ContainerStatPath"),
                ("archive", "PUT") => NotImplemented("ContainerExtractToDir"),
                _ => NotFound,
            }
        }
        ["containers", _id, "attach", "ws"] if get => NotImplemented("ContainerAttach"),
        ["exec", id, "start"] if post => ExecStart((*id).to_owned()),
        ["exec", id, "resize"] if post => ExecResize((*id).to_owned()),
        ["exec", id, "json"] if get => ExecInspect((*id).to_owned()),
        ["volumes"] if get => VolumeList,
        ["volumes", "create"] if post => VolumeCreate,
        ["volumes", "prune"] if post => NotImplemented("VolumesPrune"),
        ["volumes", name] if get => VolumeInspect((*name).to_owned()),
        ["volumes", name] if delete => VolumeDelete((*name).to_owned()),
        ["networks"] if get => NetworkList,
        ["networks", "create"] if post => NotImplemented("CreateNetwork"),
        ["networks", "prune"] if post => NotImplemented("NetworksPrune"),
        ["networks", id] if get => NetworkInspect((*id).to_owned()),
        ["networks", _id] if delete => NotImplemented("DeleteNetwork"),
        ["networks", _id, "connect"] if post => NotImplemented("ConnectContainerToNetwork"),
        ["networks", _id, "disconnect"] if post => NotImplemented("DisconnectContainerFromNetwork"),
        _ => NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_split_and_check() {
        assert_eq!(split_version("/v1.25/info"), (Some("1.25"), "/info"));
        assert_eq!(split_version("/info"), (None, "/info"));
        assert_eq!(
            split_version("/v1.41/containers/json"),
            (Some("1.41"), "/containers/json")
        );
        assert_eq!(split_version("/vx/info"), (None, "/vx/info"));
        assert_eq!(split_version("/volumes"), (None, "/volumes"));
        assert_eq!(version_error("1.25"), None);
        assert_eq!(version_error("1.19"), None);
        assert_eq!(
            version_error("9.99").as_deref(),
            Some(
                "client is newer than server (client API version: 9.99, server API version: 1.25)"
            )
        );
        assert!(version_error("1.26").is_some());
        assert_eq!(
            version_error("1.18").as_deref(),
            Some(
                "client version 1.18 is too old. Minimum supported API version is 1.19, please upgrade your client to a newer version"
            )
        );
        assert!(version_error("1").is_some());
        assert!(ApiVersion::parse("1.").is_none());
    }

    #[test]
    fn routes() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(route(&Method::HEAD, "/_ping"), Route::Ping);
        assert_eq!(
            route(&get, "/containers/abc/json"),
            Route::ContainerInspect("abc".into())
        );
        assert_eq!(
            route(&get, "/images/progrium/stress/json"),
            Route::ImageInspect("progrium/stress".into())
        );
        assert_eq!(
            route(
                &post,
                "/images/registry.corp.local/justait/nginx:patched/tag"
            ),
            Route::ImageTag("registry.corp.local/justait/nginx:patched".into())
        );
        assert_eq!(
            route(&Method::DELETE, "/images/busybox"),
            Route::ImageDelete("busybox".into())
        );
        assert_eq!(
            route(&post, "/build"),
            Route::NotImplemented("BuildFromContext")
        );
        assert_eq!(
            route(&post, "/images/x/push"),
            Route::NotImplemented("PushImage")
        );
        assert_eq!(
            route(&post, "/containers/a/pause"),
            Route::NotImplemented("ContainerPause")
        );
        assert_eq!(route(&get, "/events"), Route::Events);
        assert_eq!(route(&get, "/volumes"), Route::VolumeList);
        assert_eq!(route(&post, "/volumes/create"), Route::VolumeCreate);
        assert_eq!(
            route(&get, "/volumes/v1"),
            Route::VolumeInspect("v1".into())
        );
        assert_eq!(
            route(&Method::DELETE, "/volumes/v1"),
            Route::VolumeDelete("v1".into())
        );
        assert_eq!(
            route(&post, "/volumes/prune"),
            Route::NotImplemented("VolumesPrune")
        );
        assert_eq!(
            route(&post, "/containers/a/attach"),
            Route::ContainerAttach("a".into())
        );
        assert_eq!(
            route(&post, "/containers/a/exec"),
            Route::ExecCreate("a".into())
        );
        assert_eq!(route(&post, "/exec/e/start"), Route::ExecStart("e".into()));
        assert_eq!(route(&get, "/exec/e/json"), Route::ExecInspect("e".into()));
        assert_eq!(
            route(&get, "/containers/a/stats"),
            Route::ContainerStats("a".into())
        );
        assert_eq!(
            route(&get, "/containers/a/top"),
            Route::NotImplemented("ContainerTop")
        );
        assert_eq!(route(&get, "/swarm"), Route::Swarm);
        assert_eq!(route(&post, "/services/create"), Route::Swarm);
        assert_eq!(route(&get, "/nodes"), Route::Swarm);
        assert_eq!(route(&get, "/nothing/here"), Route::NotFound);
        assert_eq!(route(&Method::PUT, "/containers/a/start"), Route::NotFound);
        assert_eq!(route(&get, "/containers/json/"), Route::ContainerList);
        assert_eq!(
            not_implemented("ContainerPause"),
            "vSphere Integrated Containers does not yet implement ContainerPause"
        );
    }
}
