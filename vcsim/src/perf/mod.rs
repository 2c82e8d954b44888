//! PerformanceManager data: vCenter's counter catalogue, the realtime sample store and the
//! historical rollups.
//!
//! [`catalogue`] is the static side (the 560 `PerfCounterInfo` of a real vCenter, its four
//! historical intervals and the `PerformanceDescription`). [`PerfStore`] is the dynamic side:
//! the 20 s samples the contention model produces, kept per entity, counter and instance for
//! the hour ESXi keeps realtime data ([`RETENTION_SAMPLES`]), and their rollups into vCenter's
//! historical intervals ([`rollup`]: 300 s for a day, 1 800 s for a week, 7 200 s for a
//! month, 86 400 s for a year). The SOAP handlers in `methods::perf` read both; nothing here
//! knows XML.

pub mod catalogue;
mod column;
pub mod rollup;
mod rows;
mod series_map;
mod store;

#[cfg(test)]
mod history_tests;

pub use rollup::{HISTORICAL_INTERVALS, HistoricalInterval};
pub use store::{
    EntityKey, MISSING_VALUE, PerfHint, PerfStore, RETENTION_MS, RETENTION_SAMPLES, Resolution,
    RowLayout, Samples, Series, Window,
};
