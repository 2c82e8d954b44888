//! PerformanceManager data: vCenter's counter catalogue and the realtime sample store.
//!
//! [`catalogue`] is the static side (the 560 `PerfCounterInfo` of a real vCenter, its four
//! historical intervals and the `PerformanceDescription`). [`PerfStore`] is the dynamic side:
//! the 20 s samples the contention model produces, kept per entity, counter and instance for
//! the hour ESXi keeps realtime data ([`RETENTION_SAMPLES`]). The SOAP handlers in
//! `methods::perf` read both; nothing here knows XML.

pub mod catalogue;
mod store;

pub use store::{
    MISSING_VALUE, PerfStore, RETENTION_MS, RETENTION_SAMPLES, Samples, Series, Window,
};
