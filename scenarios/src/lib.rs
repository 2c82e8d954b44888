//! `scenarios`: vicbed's scenario files.
//!
//! A scenario is a TOML file describing a rollout to run deterministically against the
//! emulator: metadata and the virtual clock, an inventory, VCHs given as `vic-machine create`
//! arguments, timed steps (docker CLI commands and vSphere-level actions) and expectations
//! that become verdicts. [`parse_scenario`] turns one into a [`Scenario`] or reports every
//! problem at once, each with its line and column, as [`ScenarioErrors`].
//!
//! Core types: [`Scenario`], [`Metadata`], [`Vch`], [`Step`] with its [`Action`]
//! ([`DockerCommand`], [`PoolChange`], [`PowerChange`]), [`Expectation`] with its
//! [`EntityPattern`] and [`Stat`]; [`ScenarioErrors`] of [`Problem`]s; [`scenario_hash`].
//! Running: [`run`] (with [`RunOptions`]) drives a [`testbed::Testbed`] and returns a
//! [`RunOutcome`] (series, step records, [`Verdict`]s), or a [`RunError`].
//!
//! Parametric scenarios: a `[vars]` table and `${name}` ([`vars`]); [`Scenario::load_with`]
//! and [`Scenario::parse_with`] take overrides (`vicbed run --set`, a sweep's points) and
//! return the scenario with its hash. Bounds are in each counter's display unit ([`units`]).
//! [`RunStatus::of`] classifies an outcome for the exit code (0, 1, 3).
//!
//! Modules: [`schema`] (the types and the file format), [`duration`] (`"5m"`, `"30s"`),
//! [`errors`] (located problems), [`limits`] (what one scenario may ask for), [`evaluate`]
//! (verdicts), [`runner`] (the run), [`runs`] (containers' run times, read at the end),
//! [`testbed`] (emulator + VCHs on loopback), [`outcome`] (what a run produced),
//! [`points`] (a series' samples, spooled to disk during a run), [`conformance`] (the
//! convention, firewall and TLS suites); `devflow` parses the developer workflow's parts
//! (`[[registry]]`, `dch`, `http`, `expect_output`, `expect_duration_*`).

mod checks;
pub mod conformance;
mod devflow;
mod docker;
pub mod duration;
pub mod errors;
pub mod evaluate;
pub mod limits;
pub mod outcome;
pub mod points;
mod repeat;
pub mod runner;
pub mod runs;
pub mod schema;
pub mod sweep;
pub mod testbed;
pub mod units;
mod validate;
pub mod vars;

pub use errors::{Problem, ScenarioErrors};
pub use evaluate::RunStatus;
pub use outcome::{
    ContainerRun, EntityRecord, Point, RunOutcome, Series, StepRecord, VchRecord, Verdict,
};
pub use points::{PointStats, Points};
pub use runner::{RunError, RunOptions, run};
pub use schema::{
    Action, DockerCommand, DockerVerb, EntityKind, EntityPattern, Expectation, HttpProbe, Metadata,
    PoolChange, PowerChange, RegistrySpec, Scenario, StartTime, Stat, Step, StepChecks, StepExpect,
    Vch, parse_scenario, scenario_hash,
};
pub use units::DisplayUnit;
pub use vars::{LoadError, VarValue};
