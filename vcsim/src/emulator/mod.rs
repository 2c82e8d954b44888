//! The emulator's whole state and the operations that keep the inventory, the contention
//! model, the guest agents and the perf store in step.
//!
//! [`Emulator`] is plain, synchronous state: the SOAP methods and the server lock it, tests and
//! scenarios drive it directly. Each managed entity that consumes resources (host, pool, VM)
//! has a twin in the [`scheduler_model::World`]; the maps in [`ModelIds`] join them.

mod build;
mod cluster_config;
mod cluster_state;
mod drs;
mod drs_place;
mod drs_rules_spec;
mod guests;
mod ha;
mod history;
mod host_ops;
mod host_schedule;
mod host_state;
mod network_ops;
mod pool_ops;
mod pool_runtime;
mod quick_stats;
mod reconfigure;
mod service;
mod step;
mod vcsim_model;
mod vm_ops;
mod vm_register;

pub use cluster_config::{ClusterSettings, DrsSettings, HaPolicy, HaSettings};
pub use ha::{FailoverCapacity, HA_DETECTION_MS};
pub use history::PREFILL_MAX_S;
pub use host_ops::EnterOutcome;
pub use host_schedule::{HOST_SCHEDULE_MAX, HostAction, ScheduledHostEvent};
pub use host_state::{HostStates, REBOOT_MS};
pub use service::ServiceRefs;
pub use vm_ops::{UNREGISTERED_MAX, VmCreate, VmPlacement};

use crate::clock::Clock;
use crate::config::{Config, Flavor};
use crate::events::EventLog;
use crate::guest::{DefaultAgent, GuestAgent, GuestHandle};
use crate::ids::IdGen;
use crate::inventory::Inventory;
use crate::perf::PerfStore;
use crate::property::Collectors;
use crate::session::Sessions;
use crate::tasks::TaskLog;
use crate::vmodl::MoRef;
use scheduler_model::{HostId, PoolId, VmId, World};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Joins inventory objects to their twins in the contention model.
#[derive(Debug, Default)]
pub struct ModelIds {
    /// Hosts by MoRef value.
    pub hosts: IdMap<HostId>,
    /// Resource pools (root pools included) by MoRef value.
    pub pools: IdMap<PoolId>,
    /// VMs by MoRef value.
    pub vms: IdMap<VmId>,
}

/// Model ids by MoRef value, read as a map; changed only through [`IdMap::insert`] and
/// [`IdMap::remove`], which count the changes, so that what is built from the map (the
/// interval's table of references by id) is rebuilt only when it changed.
#[derive(Debug)]
pub struct IdMap<T> {
    map: BTreeMap<String, T>,
    changes: u64,
}

impl<T> Default for IdMap<T> {
    fn default() -> IdMap<T> {
        IdMap {
            map: BTreeMap::new(),
            changes: 0,
        }
    }
}

impl<T> std::ops::Deref for IdMap<T> {
    type Target = BTreeMap<String, T>;
    fn deref(&self) -> &BTreeMap<String, T> {
        &self.map
    }
}

impl<'a, T> IntoIterator for &'a IdMap<T> {
    type Item = (&'a String, &'a T);
    type IntoIter = std::collections::btree_map::Iter<'a, String, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<T> IdMap<T> {
    /// Maps `value` to `id`, returning the id it had.
    pub fn insert(&mut self, value: String, id: T) -> Option<T> {
        self.changes += 1;
        self.map.insert(value, id)
    }

    /// Unmaps `value`, returning its id.
    pub fn remove(&mut self, value: &str) -> Option<T> {
        self.changes += 1;
        self.map.remove(value)
    }

    /// How many changes the map has had.
    pub fn changes(&self) -> u64 {
        self.changes
    }
}

impl ModelIds {
    /// The MoRef value of a model VM.
    pub fn vm_ref(&self, id: VmId) -> Option<&str> {
        self.vms
            .iter()
            .find(|(_, v)| **v == id)
            .map(|(k, _)| k.as_str())
    }
}

/// The emulator's state.
pub struct Emulator {
    /// Managed objects and properties.
    pub inv: Inventory,
    /// The contention model.
    pub world: World,
    /// Inventory ↔ model.
    pub ids: ModelIds,
    /// vCenter or ESXi.
    pub flavor: Flavor,
    /// References to the service's singletons.
    pub refs: ServiceRefs,
    /// Virtual time.
    pub clock: Clock,
    /// Login sessions.
    pub sessions: Sessions,
    /// Property collectors, filters, views and paging tokens.
    pub collectors: Collectors,
    /// Tasks and recentTask lists.
    pub tasks: TaskLog,
    /// Events.
    pub events: EventLog,
    /// Performance samples.
    pub perf: PerfStore,
    /// Where `perf` keeps each model entity, remembered across intervals.
    perf_hints: step::PerfHints,
    /// Which VMs' samples repeat the last interval's (see `step::VmRepeats`).
    vm_repeats: step::VmRepeats,
    /// The model's entities' MoRefs by id (see `step::EntityRefs`).
    entity_refs: step::EntityRefs,
    /// How each shape of the model's samples is named (see `step::RowShapes`).
    row_shapes: step::RowShapes,
    /// Deterministic identifiers.
    pub idgen: IdGen,
    /// Guest agents, consulted in order; the default agent is always last.
    agents: Vec<Arc<dyn GuestAgent>>,
    /// Agent chosen for each powered-on VM.
    running: BTreeMap<String, Arc<dyn GuestAgent>>,
    /// The VMs of `running` whose agent is not the default one: those a tick reaches.
    ticking: std::collections::BTreeSet<String>,
    /// Effects guests post asynchronously.
    pub guest_handle: GuestHandle,
    /// The configuration the emulator was built from.
    pub config: Config,
    /// Datastore file contents for `/folder` (path `[ds] dir/file` → bytes).
    pub files: BTreeMap<String, Vec<u8>>,
    /// When entries of `files` last changed (virtual clock), for `FileInfo.modification`;
    /// kept by `methods::touch_file`, pruned to the live entries as it grows.
    pub file_modified_ms: BTreeMap<String, i64>,
    /// AuthorizationManager.DisableMethods: entity → (method, source).
    pub disabled_methods: BTreeMap<String, Vec<(String, String)>>,
    /// Size of `disabled_methods` that triggers the next prune of gone entities (doubles with
    /// the live entries, so pruning stays amortized O(1) per call).
    pub disabled_prune_at: usize,
    /// Event history collectors' read positions and page sizes, by MoRef value.
    pub event_collectors: BTreeMap<String, crate::methods::EventCollectorState>,
    /// Processes started in guests through GuestOperationsManager, by VM MoRef value.
    pub guest_processes: BTreeMap<String, crate::methods::GuestProcessTable>,
    /// Descriptions of unregistered VMs by `.vmx` datastore path, for RegisterVM_Task
    /// (bounded by [`UNREGISTERED_MAX`], oldest dropped first).
    pub unregistered: BTreeMap<String, (u64, VmCreate, bool)>,
    /// Counter ordering `unregistered` entries by age.
    pub unregistered_seq: u64,
    /// Hosts in a cluster whose model root pool was fixed before they joined: they are in
    /// the inventory and the model but outside any root pool, so placement skips them.
    pub detached_hosts: std::collections::BTreeSet<String>,
    /// Task history collectors' read positions and page sizes, by MoRef value.
    pub task_collectors: BTreeMap<String, crate::methods::TaskCollectorState>,
    /// AuthorizationManager permissions.
    pub permissions: Vec<crate::methods::PermissionEntry>,
    /// SessionManager.AcquireCloneTicket tickets: ticket → (user, issued at).
    pub clone_tickets: BTreeMap<String, (String, i64)>,
    /// `World::changes()` when the pools' runtime was last refreshed.
    pub pool_runtime_synced: u64,
    /// Host failures and recoveries waiting for their virtual time (`serve --fail-host`).
    pub host_schedule: Vec<ScheduledHostEvent>,
    /// Hosts down, maintenance tasks waiting, HA restarts pending, clusters' last status.
    pub host_states: HostStates,
    /// The vAPI REST side: sessions, tagging, content libraries.
    pub vapi: crate::rest::VapiState,
    /// First-class disks (the storage object manager).
    pub fcd: crate::methods::vslm::FcdStore,
    /// Stored guest customization specs and the customizations pending per VM.
    pub customization: crate::methods::CustomizationState,
    /// IP pools per datacenter and their allocations.
    pub ip_pools: crate::methods::IpPoolState,
    /// The side SOAP services' state (storage policies).
    pub side: crate::endpoints::SideState,
    /// Open HTTP NFC leases (OVF import and export).
    pub nfc: crate::methods::vapp::NfcLeases,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("objects", &self.inv.len())
            .field("now_ms", &self.clock.now_ms())
            .finish_non_exhaustive()
    }
}

/// Why an emulator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The model refused the inventory (e.g. reservations that do not fit).
    #[error("inventory rejected by the resource model: {0}")]
    Model(String),
    /// A fault while building the inventory.
    #[error("inventory could not be built: {0}")]
    Fault(#[from] crate::vmodl::Fault),
}

impl Emulator {
    /// Builds an emulator and its initial inventory.
    pub fn new(config: Config) -> Result<Emulator, BuildError> {
        let mut inv = Inventory::new(1);
        let clock = Clock::new(config.start_ms);
        let refs = service::create_singletons(&mut inv, &config, clock.now_ms());
        let mut emu = Emulator {
            inv,
            world: World::new(config.seed),
            ids: ModelIds::default(),
            flavor: config.flavor,
            refs,
            clock,
            sessions: Sessions::default(),
            collectors: Collectors::default(),
            tasks: TaskLog::default(),
            events: EventLog::default(),
            perf: PerfStore::default(),
            perf_hints: step::PerfHints::default(),
            vm_repeats: step::VmRepeats::default(),
            entity_refs: step::EntityRefs::default(),
            row_shapes: step::RowShapes::default(),
            idgen: IdGen::new(config.seed),
            agents: vec![Arc::new(DefaultAgent)],
            running: BTreeMap::new(),
            ticking: std::collections::BTreeSet::new(),
            guest_handle: GuestHandle::default(),
            config: config.clone(),
            files: BTreeMap::new(),
            file_modified_ms: BTreeMap::new(),
            disabled_methods: BTreeMap::new(),
            disabled_prune_at: crate::methods::DISABLED_PRUNE_AT,
            event_collectors: BTreeMap::new(),
            guest_processes: BTreeMap::new(),
            unregistered: BTreeMap::new(),
            unregistered_seq: 0,
            detached_hosts: Default::default(),
            task_collectors: BTreeMap::new(),
            permissions: Vec::new(),
            clone_tickets: BTreeMap::new(),
            pool_runtime_synced: u64::MAX,
            host_schedule: Vec::new(),
            host_states: HostStates::default(),
            vapi: Default::default(),
            fcd: Default::default(),
            customization: Default::default(),
            ip_pools: Default::default(),
            side: Default::default(),
            nfc: Default::default(),
        };
        crate::methods::seed_permissions(&mut emu);
        // An estate's VMs are built alike: their equal data objects are held once.
        emu.inv.start_interning();
        match &config.inventory {
            Some(spec) => build::from_spec(&mut emu, spec)?,
            None => match &config.vcsim_model {
                Some(m) => {
                    vcsim_model::build(&mut emu, m)?;
                    crate::methods::seed_vcsim_defaults(&mut emu);
                }
                None => build::default_model(&mut emu, &config.counts)?,
            },
        }
        emu.inv.stop_interning();
        Ok(emu)
    }

    /// Adds a guest agent, consulted before those added earlier (the default agent stays
    /// last).
    pub fn add_agent(&mut self, agent: Arc<dyn GuestAgent>) {
        self.agents.insert(0, agent);
    }

    /// The root folder.
    pub fn root_folder(&self) -> &MoRef {
        &self.refs.root_folder
    }
}
