//! Conformance suites: VIC behaviour checked case by case against vic.md (issue 6).
//!
//! `vicbed conformance [--suite convention|firewall|tls|all]` runs one or more [`Suite`]s with
//! [`run_suite`]; each gives a [`SuiteResult`] of [`CaseResult`]s (id, description, expected,
//! observed, the mode that produced the observation, verdict). [`render_table`] prints one
//! suite as a table; `reports::conformance` renders the same values as JUnit and as a report
//! section.
//!
//! A case's *observed* value always comes from running something, never from restating the
//! expectation. The [`CaseResult::mode`] says what ran:
//!
//! - `model`: the `vic` crate's pure functions (`vic::convention`, `vic::firewall::rules` and
//!   `evaluate`) — the same code the guest agents run, without the emulator around it;
//! - `tether`: the rule set the containerVM tether built after `vic-machine create` and
//!   `docker run` on the in-process emulator (read from the [`vic::tether::TetherAgent`]),
//!   judged by `vic::firewall::evaluate`;
//! - `engine`: the VCH's Docker endpoint answering a create, rename or inspect;
//! - `vic-machine`: `vic-machine create`'s own output;
//! - `soap`: a value read back from the emulator over SOAP (a containerVM's display name);
//! - `netns`: the rules loaded with `iptables-restore` into Linux network namespaces of the
//!   suite's own and probed with real TCP/UDP/ICMP packets (root, iproute2, iptables and
//!   python3 needed; otherwise the firewall cases run without it and the suite notes why);
//! - `docker-cli`: the real docker CLI against a VCH endpoint (TLS suite);
//! - `client`: vicbed's own Docker client (`vic::engine::client`) following vic-machine's
//!   printed connection hint.
//!
//! Modes are joined with `+` when several ran (`tether+netns`: the tether's rules were both
//! evaluated and loaded into namespaces; the case passes only when both agree with the
//! expectation).
//!
//! Suites: [`Suite::Convention`] (vic.md §2), [`Suite::Firewall`] (vic.md §3) and
//! [`Suite::Tls`] (vic.md §4).

mod bed;
mod convention;
mod firewall;
mod netns;
mod tls;

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

/// One conformance suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    /// The containerVM name convention (vic.md §2).
    Convention,
    /// Container-network firewall trust levels (vic.md §3).
    Firewall,
    /// TLS modes and certificates (vic.md §4).
    Tls,
}

impl Suite {
    /// Every suite, in the order `--suite all` runs them.
    pub const ALL: [Suite; 3] = [Suite::Convention, Suite::Firewall, Suite::Tls];

    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Convention => "convention",
            Suite::Firewall => "firewall",
            Suite::Tls => "tls",
        }
    }

    /// Parses one suite name (case-insensitive); `None` for anything else, `all` included.
    pub fn parse(name: &str) -> Option<Suite> {
        Suite::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Parses a `--suite` value: one suite name or `all`.
    pub fn parse_selection(value: &str) -> Result<Vec<Suite>, String> {
        if value.trim().eq_ignore_ascii_case("all") {
            return Ok(Suite::ALL.to_vec());
        }
        Suite::parse(value).map(|s| vec![s]).ok_or_else(|| {
            format!(
                "unknown conformance suite {value:?} (expected convention, firewall, tls or all)"
            )
        })
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Suite {
    type Err = String;

    fn from_str(s: &str) -> Result<Suite, String> {
        Suite::parse(s).ok_or_else(|| format!("unknown conformance suite {s:?}"))
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// Stable identifier, unique within the suite (`fw-closed-inbound-published-c`).
    pub id: String,
    /// What the case checks, in a sentence.
    pub description: String,
    /// What VIC does, per vic.md.
    pub expected: String,
    /// What the run produced.
    pub observed: String,
    /// What produced the observation (`model`, `tether+netns`, `engine`, …; see the module
    /// documentation).
    pub mode: String,
    /// Whether the observation matches the expectation.
    pub passed: bool,
}

impl CaseResult {
    /// A case that passes exactly when `observed == expected`.
    pub fn check(
        id: impl Into<String>,
        description: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
        mode: impl Into<String>,
    ) -> CaseResult {
        let expected = expected.into();
        let observed = observed.into();
        CaseResult {
            passed: expected == observed,
            id: id.into(),
            description: description.into(),
            expected,
            observed,
            mode: mode.into(),
        }
    }

    /// `"PASS"` or `"FAIL"`.
    pub fn verdict(&self) -> &'static str {
        if self.passed { "PASS" } else { "FAIL" }
    }
}

/// A text produced alongside a suite's cases (for instance the iptables-restore rendering of
/// each trust level's rules), for a report or `--out DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// A file-name-safe name (`firewall-published.rules`).
    pub name: String,
    /// The text.
    pub content: String,
}

/// The result of one suite.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SuiteResult {
    /// The suite's name ([`Suite::as_str`]).
    pub name: String,
    /// The cases, in a stable order.
    pub cases: Vec<CaseResult>,
    /// Remarks about the run: which modes could not run here and why.
    pub notes: Vec<String>,
    /// Texts produced by the run (rendered rule sets).
    pub artifacts: Vec<Artifact>,
}

impl SuiteResult {
    /// An empty result for `suite`.
    pub fn new(suite: Suite) -> SuiteResult {
        SuiteResult {
            name: suite.as_str().to_owned(),
            ..SuiteResult::default()
        }
    }

    /// Whether the suite has cases and every one of them passed.
    pub fn passed(&self) -> bool {
        !self.cases.is_empty() && self.cases.iter().all(|c| c.passed)
    }

    /// The number of passing cases.
    pub fn passed_count(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    /// The failing cases.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.passed)
    }

    /// A one-line summary: `firewall: 98/98 passed`.
    pub fn summary(&self) -> String {
        format!(
            "{}: {}/{} passed",
            self.name,
            self.passed_count(),
            self.cases.len()
        )
    }
}

/// Whether the firewall suite may use Linux network namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetnsPolicy {
    /// Use them when the machine allows it (root, `ip`, `iptables-restore`, `python3`).
    #[default]
    Auto,
    /// Never: model and tether modes only.
    Off,
}

/// How suites run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteContext {
    /// Network namespaces for the firewall suite.
    pub netns: NetnsPolicy,
    /// Stand up the in-process emulator with `vic-machine create` and the Docker endpoint
    /// for the cases that need the real path; when `false` those cases run on the model
    /// alone (mode `model`) and the suite notes it.
    pub testbed: bool,
}

impl Default for SuiteContext {
    fn default() -> SuiteContext {
        SuiteContext {
            netns: NetnsPolicy::Auto,
            testbed: true,
        }
    }
}

/// Whether the firewall suite can use network namespaces on this machine (root, `ip`,
/// `iptables-restore` and `python3` present, and a namespace can be created); `Err` says
/// why not. [`run_suite`] checks this itself; callers may use it to say what will run.
pub fn netns_support() -> Result<(), String> {
    netns::tools().map(|_| ())
}

/// Runs one suite.
pub async fn run_suite(suite: Suite, ctx: &SuiteContext) -> SuiteResult {
    match suite {
        Suite::Convention => convention::run(ctx).await,
        Suite::Firewall => firewall::run(ctx).await,
        Suite::Tls => tls::run(ctx).await,
    }
}

/// Widest expected/observed cell in [`render_table`]; longer values are cut with `…` (the
/// failure list under the table and JUnit carry them in full).
const CELL_MAX: usize = 60;

/// One suite as a text table: case, expected, observed, mode, verdict; then every failure
/// in full and the summary line.
pub fn render_table(result: &SuiteResult) -> String {
    let headers = ["case", "expected", "observed", "mode", "verdict"];
    let rows: Vec<[String; 5]> = result
        .cases
        .iter()
        .map(|c| {
            [
                c.id.clone(),
                cut(&c.expected, CELL_MAX),
                cut(&c.observed, CELL_MAX),
                c.mode.clone(),
                c.verdict().to_owned(),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!("== conformance: {} ==\n", result.name);
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            if i + 1 < cells.len() {
                s.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        s.push('\n');
        s
    };
    out.push_str(&line(&headers.map(str::to_owned)));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &rows {
        out.push_str(&line(row));
    }
    for note in &result.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for c in result.failures() {
        let _ = writeln!(
            out,
            "FAIL {} ({}): {}\n  expected: {}\n  observed: {}",
            c.id, c.mode, c.description, c.expected, c.observed
        );
    }
    let _ = writeln!(out, "{}", result.summary());
    out
}

fn cut(s: &str, max: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= max {
        return s;
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_round_trip() {
        for s in Suite::ALL {
            assert_eq!(Suite::parse(s.as_str()), Some(s));
        }
        assert_eq!(Suite::parse("FireWall"), Some(Suite::Firewall));
        assert_eq!(Suite::parse_selection("all"), Ok(Suite::ALL.to_vec()));
        assert!(Suite::parse_selection("dns").is_err());
    }

    #[test]
    fn check_compares_expected_and_observed() {
        assert!(CaseResult::check("a", "d", "allow", "allow", "model").passed);
        assert!(!CaseResult::check("a", "d", "allow", "deny", "model").passed);
    }

    #[test]
    fn empty_suite_does_not_pass() {
        assert!(!SuiteResult::new(Suite::Firewall).passed());
    }

    #[test]
    fn table_and_junit_show_failures() {
        let mut r = SuiteResult::new(Suite::Firewall);
        r.cases
            .push(CaseResult::check("ok", "fine", "allow", "allow", "model"));
        r.cases.push(CaseResult::check(
            "bad",
            "a <broken> & case",
            "deny",
            "allow",
            "netns",
        ));
        let table = render_table(&r);
        assert!(table.contains("FAIL bad (netns)"), "{table}");
        assert!(table.ends_with("firewall: 1/2 passed\n"), "{table}");
    }

    #[test]
    fn long_cells_are_cut() {
        let long = "x".repeat(100);
        assert_eq!(cut(&long, 10).chars().count(), 10);
        assert!(cut(&long, 10).ends_with('…'));
        assert_eq!(cut("a\nb", 10), "a b");
    }
}
