//! A small async vSphere SOAP client, usable against a real vCenter or ESXi and against the
//! built-in emulator (`vcsim`): what VIC's control path needs from govmomi.
//!
//! - [`Client::connect`] reads the `ServiceContent` and keeps the `vmware_soap_session`
//!   cookie; [`Client::login`], [`Client::logout`].
//! - [`Client::call`]: any vim25 method, arguments and results as [`vcsim::vmodl::Value`]s
//!   written and read with the shared vmodl codec; SOAP faults become [`Error::Fault`].
//! - The property collector: [`Client::retrieve_properties`], [`Client::get_property`],
//!   [`Client::view_contents`], and waits ([`Client::wait_for_property`],
//!   [`Client::wait_for_task`]) through a private collector and the legacy
//!   `WaitForUpdates` loop, as VIC does.
//! - [`Client::datastore_files`]: a datastore folder's entries.
//! - [`Finder`]: inventory paths, defaults and child lookups, as govmomi's Finder.
//! - TLS: normal verification, a pinned SHA-1 thumbprint ([`ConnectOptions::thumbprint`]),
//!   or none ([`ConnectOptions::insecure`]); [`fetch_thumbprint`] probes a server's
//!   certificate as `vic-machine` does before connecting.
//!
//! Everything is bounded: each request by a timeout and a body-size limit, each wait by a
//! deadline and a round count. Nothing the server sends can make the client panic.

mod client;
mod datastore;
mod decode;
mod endpoint;
mod envelope;
mod error;
mod finder;
mod http;
pub mod perf;
mod property;
mod task;
mod thumbprint;
mod verify;

pub(crate) use verify::pinned_verifier;

pub use client::{
    About, Client, ConnectOptions, DEFAULT_API_VERSION, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT, SESSION_COOKIE, ServiceContent,
};
pub use decode::typed as decode_typed;
pub use endpoint::{Endpoint, Scheme};
pub use envelope::localized_fault;
pub use error::{Error, Fault};
pub use finder::{Datacenter, Entity, Finder, Kind, glob};
pub use property::{
    MAX_UPDATE_ROUNDS, ObjectContent, filter_spec, list, object_spec, option_value, property_spec,
    selection_spec, traversal_spec,
};
pub use thumbprint::{
    CertificateProbe, PROBE_TIMEOUT, fetch_thumbprint, normalize_thumbprint, probe_certificate,
    thumbprint_of,
};
