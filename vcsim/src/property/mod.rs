//! The PropertyCollector's state and logic: filter specs, traversal, views, paging tokens,
//! filters and the updates `WaitForUpdates(Ex)` reports.
//!
//! Core types: [`Collectors`] (all collector-side state), [`FilterSpec`] (a decoded
//! PropertyFilterSpec), [`Filter`] (a created PropertyFilter and what it last reported).

pub mod collect;
mod filter;
pub mod spec;

pub use filter::{Filter, poll_updates};
pub use spec::FilterSpec;

use crate::inventory::{Inventory, children};
use crate::vmodl::{MoRef, Value, is_a};
use std::collections::{BTreeMap, VecDeque};

/// Bound on outstanding RetrievePropertiesEx continuation tokens.
pub const TOKENS_MAX: usize = 1024;
/// Bound on filters and views per session.
pub const PER_SESSION_MAX: usize = 4096;

/// What a view shows.
#[derive(Clone, Debug)]
pub enum ViewKind {
    /// A ContainerView: objects of `types` below `container`.
    Container {
        /// The container entity.
        container: MoRef,
        /// Types (base types allowed); empty means all.
        types: Vec<String>,
        /// Whether to descend beyond direct children.
        recursive: bool,
    },
    /// A ListView: an explicit list.
    List(Vec<MoRef>),
}

/// A view with its owner session.
#[derive(Clone, Debug)]
pub struct View {
    /// The owning session key.
    pub session: String,
    /// What it shows.
    pub kind: ViewKind,
}

/// An extra PropertyCollector created by `CreatePropertyCollector`.
#[derive(Clone, Debug, Default)]
pub struct CollectorState {
    /// The owning session ("" for the default collector, which every session shares).
    pub session: String,
    /// The version string of the last UpdateSet reported.
    pub version: u64,
    /// Set by CancelWaitForUpdates; the waiting call answers RequestCanceled.
    pub cancel_requested: bool,
}

/// Everything collector-side.
#[derive(Debug, Default)]
pub struct Collectors {
    /// Views by MoRef value.
    pub views: BTreeMap<String, View>,
    /// Filters by MoRef value.
    pub filters: BTreeMap<String, Filter>,
    /// Collectors by MoRef value (per session: the default collector's state is kept per
    /// session under `<default>/<session>`).
    pub collectors: BTreeMap<String, CollectorState>,
    /// Continuation pages by token.
    pub tokens: BTreeMap<String, (String, usize, VecDeque<Value>)>,
    token_order: VecDeque<String>,
    next_token: u64,
}

impl Collectors {
    /// The objects a view currently shows (`None` when `view` is not a view).
    pub fn view_members(&self, inv: &Inventory, view: &MoRef) -> Option<Vec<MoRef>> {
        let v = self.views.get(&view.value)?;
        Some(match &v.kind {
            ViewKind::List(items) => items.iter().filter(|m| inv.contains(m)).cloned().collect(),
            ViewKind::Container {
                container,
                types,
                recursive,
            } => {
                let mut out = Vec::new();
                // A VM is reachable twice (its folder and its resource pool); it is listed once.
                let mut seen = std::collections::BTreeSet::new();
                let mut queue: VecDeque<MoRef> = children(inv, container).into();
                // Each object is expanded once (`seen`), so the walk ends on any inventory.
                while let Some(m) = queue.pop_front() {
                    if !seen.insert(m.value.clone()) {
                        continue;
                    }
                    if types.is_empty() || types.iter().any(|t| is_a(&m.ty, t)) {
                        out.push(m.clone());
                    }
                    if *recursive {
                        queue.extend(children(inv, &m));
                    }
                }
                out
            }
        })
    }

    /// Filters of a collector visible to a session.
    pub fn filters_of(&self, collector: &MoRef, session: Option<&str>) -> Vec<MoRef> {
        self.filters
            .iter()
            .filter(|(_, f)| f.collector == *collector && Some(f.session.as_str()) == session)
            .map(|(k, _)| MoRef::new("PropertyFilter", k.clone()))
            .collect()
    }

    /// The per-session state of a collector.
    pub fn state_mut(&mut self, collector: &MoRef, session: &str) -> &mut CollectorState {
        let key = format!("{}/{}", collector.value, session);
        self.collectors
            .entry(key)
            .or_insert_with(|| CollectorState {
                session: session.to_owned(),
                ..CollectorState::default()
            })
    }

    /// Stores pages of results for ContinueRetrievePropertiesEx and returns the token.
    pub fn store_pages(
        &mut self,
        session: &str,
        page_size: usize,
        rest: VecDeque<Value>,
    ) -> String {
        self.next_token += 1;
        let token = format!("{}", self.next_token);
        self.tokens
            .insert(token.clone(), (session.to_owned(), page_size, rest));
        self.token_order.push_back(token.clone());
        while self.token_order.len() > TOKENS_MAX {
            if let Some(old) = self.token_order.pop_front() {
                self.tokens.remove(&old);
            }
        }
        token
    }

    /// Drops everything a session owned (on Logout or TerminateSession).
    pub fn drop_session(&mut self, session: &str) -> Vec<MoRef> {
        let mut gone = Vec::new();
        self.views.retain(|k, v| {
            let keep = v.session != session;
            if !keep {
                gone.push(MoRef::new(
                    if matches!(v.kind, ViewKind::List(_)) {
                        "ListView"
                    } else {
                        "ContainerView"
                    },
                    k.clone(),
                ));
            }
            keep
        });
        self.filters.retain(|k, f| {
            let keep = f.session != session;
            if !keep {
                gone.push(MoRef::new("PropertyFilter", k.clone()));
            }
            keep
        });
        self.collectors.retain(|_, c| c.session != session);
        self.tokens.retain(|_, (s, _, _)| s != session);
        gone
    }

    /// How many filters and views a session owns.
    pub fn owned_by(&self, session: &str) -> usize {
        self.views.values().filter(|v| v.session == session).count()
            + self
                .filters
                .values()
                .filter(|f| f.session == session)
                .count()
    }
}
