//! The personality's container and image cache, kept in the engine's memory and rebuilt from
//! the containerVMs' guestinfo when the endpoint starts (as VIC's personality syncs its
//! cache from the port layer). Pulled images that no container uses are not persisted (VIC
//! keeps them in a KV store on the datastore); a restarted endpoint pulls them again.

use super::EngineConfig;
use super::util;
use crate::firewall::PortMapping;
use crate::guestinfo::{self, container as ck};
use crate::images::{ImageConfig, Reference};
use crate::portlayer::{Attachment, Binding, PortLayer, Power, VmState};
use axum::http::StatusCode;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use vcsim::vmodl::MoRef;

/// An API error: status and `{"message": …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 404 `No such container: <id>`.
    pub fn no_such_container(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("No such container: {id}"))
    }

    /// 500.
    pub fn server(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<crate::portlayer::PortLayerError> for ApiError {
    fn from(e: crate::portlayer::PortLayerError) -> ApiError {
        use crate::portlayer::PortLayerError as E;
        match e {
            E::Launch(_) | E::PowerOn(_) | E::AddressesExhausted(_) | E::Invalid(_) => {
                ApiError::server(e.to_string())
            }
            E::NoSuchNetwork(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            E::Vsphere(_) => ApiError::server(format!("Server error from portlayer: {e}")),
        }
    }
}

/// A container as the personality knows it.
#[derive(Clone, Debug)]
pub struct Container {
    /// 64-hex id.
    pub id: String,
    /// Docker name (no `/`).
    pub name: String,
    /// Its VM.
    pub vm: MoRef,
    /// Image as the user named it.
    pub image_ref: String,
    /// The image.
    pub image: ImageConfig,
    /// Entrypoint and Cmd after merging with the image.
    pub entrypoint: Vec<String>,
    /// Cmd after merging.
    pub cmd: Vec<String>,
    /// Entrypoint + Cmd.
    pub argv: Vec<String>,
    /// Environment.
    pub env: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// Attach flags and StdinOnce, as created.
    pub attach: (bool, bool, bool, bool),
    /// Host name.
    pub hostname: String,
    /// `-u`.
    pub user: String,
    /// Exposed ports (`80/tcp`).
    pub exposed: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Network.
    pub network: Attachment,
    /// `-p` bindings as requested.
    pub ports: Vec<PortMapping>,
    /// Bridge mappings active on the VCH endpoint while the container runs (host port
    /// resolved).
    pub mapped: Vec<PortMapping>,
    /// vCPUs.
    pub num_cpus: u32,
    /// Memory MB.
    pub memory_mb: u64,
    /// `--cpuset-cpus` as given.
    pub cpuset: String,
    /// The stop signal.
    pub stop_signal: String,
    /// Created, ms (virtual clock).
    pub created_ms: i64,
    /// Set when the endpoint stopped or killed the container: (exit code, at ms). A VM powered
    /// off this way has no `status` key (the tether did not see its process exit).
    pub killed: Option<(i32, i64)>,
    /// Address bound at the last start.
    pub binding: Option<Binding>,
    /// HostConfig as created (for inspect).
    pub host_config: serde_json::Value,
}

/// The engine's state behind one lock (never held across an await).
#[derive(Debug, Default)]
pub struct Store {
    /// Containers by id.
    pub containers: BTreeMap<String, Container>,
    /// Names (also those reserved by creates in flight) → id.
    pub names: BTreeMap<String, String>,
    /// Pulled and tagged images by canonical reference.
    pub images: BTreeMap<String, ImageConfig>,
    /// The id counter.
    pub counter: u64,
    /// Bridge host ports mapped on the endpoint: (port, proto) → container id.
    pub host_ports: BTreeMap<(u16, &'static str), String>,
    /// Containers with an operation in flight: id → the operation (`start`, `stop`, …).
    pub busy: BTreeMap<String, &'static str>,
    /// Ids of creates in flight (their names are reserved in `names`; they count against the
    /// container limit).
    pub creating: BTreeSet<String>,
    /// Processes that ended while their container's start was still answering: their `die`
    /// is published after the `start` event (see `lifecycle`).
    pub deferred_exits: BTreeMap<String, crate::interaction::Exit>,
    /// `docker exec` records by exec id.
    pub execs: BTreeMap<String, super::exec::ExecRecord>,
    /// Exec ids handed out.
    pub exec_counter: u64,
    /// Unnamed volumes named.
    pub volume_counter: u64,
}

/// The engine: configuration, port layer, cache.
pub struct Engine {
    /// Configuration.
    pub config: Arc<EngineConfig>,
    /// The port layer.
    pub pl: PortLayer,
    /// The cache.
    pub store: Mutex<Store>,
    /// The address actually listened on.
    pub local: SocketAddr,
    /// Docker events (`GET /events`).
    pub events: super::events::EventBus,
    /// Bridge port forwards of running containers (`-p`), by container id.
    pub forwards: crate::guestnet::Forwards,
}

/// Marks a container busy until dropped.
pub struct Busy<'a> {
    engine: &'a Engine,
    id: String,
    released: bool,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if !self.released {
            self.engine.lock().busy.remove(&self.id);
        }
    }
}

impl Busy<'_> {
    /// Ends the mark and runs `f` on the store under the same lock (so nothing can slip in
    /// between the two).
    pub fn release_with<R>(mut self, f: impl FnOnce(&mut Store) -> R) -> R {
        self.released = true;
        let mut store = self.engine.lock();
        store.busy.remove(&self.id);
        f(&mut store)
    }
}

impl Engine {
    /// The lock.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves a container by full id, name (with or without `/`) or unique id prefix.
    pub fn resolve(&self, key: &str) -> Result<Container, ApiError> {
        let store = self.lock();
        let k = key.trim_start_matches('/');
        if let Some(c) = store.containers.get(k) {
            return Ok(c.clone());
        }
        if let Some(id) = store.names.get(k)
            && let Some(c) = store.containers.get(id)
        {
            return Ok(c.clone());
        }
        if !k.is_empty() && k.chars().all(|c| c.is_ascii_hexdigit()) {
            let mut it = store
                .containers
                .range(k.to_owned()..)
                .take_while(|(id, _)| id.starts_with(k));
            if let Some((_, c)) = it.next() {
                if it.next().is_some() {
                    return Err(ApiError::new(
                        StatusCode::NOT_FOUND,
                        format!("Multiple IDs found with provided prefix: {key}"),
                    ));
                }
                return Ok(c.clone());
            }
        }
        Err(ApiError::no_such_container(key))
    }

    /// Marks `c` busy for `op` (`start`, `stop`, …), or fails with VIC's in-progress error.
    pub fn busy(&self, c: &Container, op: &'static str) -> Result<Busy<'_>, ApiError> {
        let mut store = self.lock();
        if store.busy.contains_key(&c.id) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "{op} request is already in progress for container '{}'.",
                    c.name
                ),
            ));
        }
        store.busy.insert(c.id.clone(), op);
        Ok(Busy {
            engine: self,
            id: c.id.clone(),
            released: false,
        })
    }

    /// Updates a cached container, if it still exists.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Container)) {
        if let Some(c) = self.lock().containers.get_mut(id) {
            f(c);
        }
    }

    /// An image by reference or id prefix.
    pub fn find_image(&self, text: &str) -> Option<ImageConfig> {
        let store = self.lock();
        if let Some(r) = Reference::parse(text)
            && let Some(img) = store.images.get(&r.canonical())
        {
            return Some(img.clone());
        }
        let hex = text.strip_prefix("sha256:").unwrap_or(text);
        if hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return store
                .images
                .values()
                .find(|i| i.id.trim_start_matches("sha256:").starts_with(hex))
                .cloned();
        }
        None
    }

    /// Rebuilds the cache from the containerVMs in the VCH pool.
    pub async fn sync(&self) -> Result<(), ApiError> {
        let states = self.pl.states().await?;
        for (id, st) in states {
            if let Some(c) = container_from_vm(&self.config, &st) {
                if st.power == Power::On
                    && let Some(ip) = st.ip
                {
                    self.pl.reserve(&id, &c.network, ip);
                }
                let mut store = self.lock();
                store.names.insert(c.name.clone(), id.clone());
                if let Some(r) = Reference::parse(&c.image_ref) {
                    store
                        .images
                        .entry(r.canonical())
                        .or_insert_with(|| c.image.clone());
                }
                store.containers.insert(id, c);
            }
        }
        Ok(())
    }
}

/// A cache entry rebuilt from a containerVM's guestinfo.
fn container_from_vm(config: &EngineConfig, st: &VmState) -> Option<Container> {
    let k = &st.extra;
    let id = st.id.clone();
    let name = k
        .get(ck::NAME)
        .unwrap_or(&id[..12.min(id.len())])
        .to_owned();
    let strings = |key: String| -> Vec<String> {
        k.get_strings(&key)
            .ok()
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let argv = strings(ck::session_key(&id, "cmd/Args"));
    let repo = k.get(ck::REPO).unwrap_or("").to_owned();
    let image_id = k.get(ck::IMAGE_ID).unwrap_or("").to_owned();
    let image = config
        .images
        .resolve(&repo)
        .cloned()
        .unwrap_or_else(|| ImageConfig {
            repository: repo.clone(),
            tag: "latest".into(),
            id: image_id.clone(),
            entrypoint: Vec::new(),
            cmd: Vec::new(),
            env: Vec::new(),
            exposed_ports: Vec::new(),
            working_dir: String::new(),
            size_bytes: 0,
            created: String::new(),
            workload: None,
            volumes: Vec::new(),
            labels: Default::default(),
            user: String::new(),
        });
    let nets = k
        .get_map_keys(&guestinfo::ro_key("networks"))
        .unwrap_or_default();
    let net = nets.first().copied().unwrap_or("bridge");
    let network = if k.get(&ck::endpoint_key(net, "network/type")) == Some("external") {
        Attachment::Container(net.to_owned())
    } else {
        Attachment::Bridge
    };
    let ports: Vec<PortMapping> = strings(ck::endpoint_key(net, "ports"))
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let labels: BTreeMap<String, String> = k
        .iter()
        .filter_map(|(key, v)| {
            key.strip_prefix("annotations|")
                .map(|l| (l.to_owned(), v.to_owned()))
        })
        .collect();
    let flag = |f: &str| {
        k.get_bool(&ck::session_key(&id, f))
            .ok()
            .flatten()
            .unwrap_or(false)
    };
    let created_s = k.get_int(ck::CREATETIME).ok().flatten().unwrap_or_default();
    Some(Container {
        name,
        vm: st.vm.clone(),
        image_ref: repo,
        entrypoint: Vec::new(),
        cmd: argv.clone(),
        env: strings(ck::session_key(&id, "cmd/Env")),
        working_dir: k
            .get(&ck::session_key(&id, "cmd/Dir"))
            .unwrap_or("")
            .to_owned(),
        tty: flag("tty"),
        open_stdin: flag("openstdin"),
        attach: (false, true, true, false),
        hostname: k.get(ck::HOSTNAME).unwrap_or("").to_owned(),
        user: String::new(),
        exposed: Vec::new(),
        labels,
        network,
        mapped: Vec::new(),
        ports,
        num_cpus: st.num_cpu,
        memory_mb: st.memory_mb,
        cpuset: String::new(),
        stop_signal: k
            .get(&ck::session_key(&id, "stopSignal"))
            .unwrap_or("SIGTERM")
            .to_owned(),
        created_ms: created_s.saturating_mul(1000),
        killed: None,
        binding: None,
        host_config: serde_json::json!({}),
        argv,
        image,
        id,
    })
}

/// The next free container id and a name for it; the name is reserved.
pub fn reserve(
    store: &mut Store,
    vch: &str,
    wanted: Option<&str>,
) -> Result<(String, String), ApiError> {
    let mut id = util::container_id(vch, store.counter);
    // Bounded: each id is skipped only when it is in use.
    for _ in 0..1_000_000 {
        // An id with a reserved name is a known container or a create in flight (the
        // caller adds it to `creating`): two set lookups, not a scan of every name.
        if !store.containers.contains_key(&id) && !store.creating.contains(&id) {
            break;
        }
        store.counter += 1;
        id = util::container_id(vch, store.counter);
    }
    store.counter += 1;
    let name = match wanted {
        Some(n) => {
            if !util::valid_name(n) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    util::invalid_name(n),
                ));
            }
            if let Some(other) = store.names.get(n) {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    util::name_conflict(n, other),
                ));
            }
            n.to_owned()
        }
        None => (0..100)
            .map(|a| util::generated_name(&id, a))
            .find(|n| !store.names.contains_key(n))
            .ok_or_else(|| ApiError::server("could not generate a container name"))?,
    };
    store.names.insert(name.clone(), id.clone());
    Ok((id, name))
}
