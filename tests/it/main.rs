//! End-to-end tests of the `vicbed` binary: each test starts `vicbed serve` on a free
//! loopback port, drives it (pyvmomi scripts from `tests/interop/`, or raw HTTP), and stops
//! it with SIGTERM, asserting a clean exit.
//!
//! The pyvmomi tests need Python with the pinned pyvmomi: `bash scripts/test.sh` creates
//! `.venv` and exports `VICBED_PYTHON`; without pyvmomi they fail (they never skip).

mod cli;
mod conformance;
mod console;
mod diff;
mod docker_run;
mod docker_tls;
mod docker_tty;
mod docker_volumes;
mod hardening;
mod interop;
mod registry;
mod run;
mod run_interrupted;
mod support;
mod sweep;
mod tmux;
mod top;
mod vcsim_cli;
mod vic_machine;
mod vic_machine_failures;
mod wire;
