//! `vicbed top`: an esxtop-style terminal view of any vSphere endpoint — the built-in
//! emulator or a real vCenter/ESXi — read over SOAP with `QueryPerf`.
//!
//! One row per powered-on VM with esxtop's `%USED %RUN %WAIT %RDY %CSTP %MLMTD` (CPU view,
//! `c`) or `MEMSZ GRANT MCTLSZ SWCUR ZIP CACHEUSD` (memory view, `m`), sorted by `%RDY` at
//! the start, refreshed every `-d` seconds; it survives server restarts (reconnecting, and
//! saying so in the header). `docs/top.md` is the user's guide.
//!
//! The parts, from pure to impure:
//! - [`table`]: the model — [`table::VmSample`] (a VM's latest sample as read),
//!   [`table::Row`] (display units), [`table::View`], [`table::Column`] (with the column ↔
//!   counter mapping and its sources), [`table::SortKey`].
//! - [`keys`]: esxtop's keys as a state machine — [`keys::Screen`], [`keys::Key`],
//!   [`keys::Action`].
//! - [`reader`]: SOAP → [`reader::Snapshot`]s — [`reader::Reader`] with its reconnect
//!   logic ([`reader::Link`]) and the counter [`reader::Catalogue`].
//! - [`ui`]: drawing one frame with ratatui.
//! - [`run`]: the event loop (crossterm), batch CSV mode, exit statuses.
//! - [`TopArgs`]: the command line (clap), checked into [`Settings`].

mod args;
pub mod keys;
pub mod reader;
pub mod run;
pub mod table;
pub mod ui;

pub use args::{REQUEST_TIMEOUT, Settings, TopArgs};
pub use run::{EXIT_CONNECT, EXIT_ERROR, EXIT_OK, EXIT_USAGE, run};
