//! The conformance suites (issue 6): the firewall and convention suites pass in full, with
//! enough cases and unique ids; and the harness does fail a case whose expectation is wrong.

use std::collections::BTreeSet;

use scenarios::conformance::{
    CaseResult, NetnsPolicy, Suite, SuiteContext, SuiteResult, netns_support, render_table,
    run_suite,
};

fn assert_passes(result: &SuiteResult, min_cases: usize) {
    let table = render_table(result);
    println!("{table}");
    assert!(
        result.cases.len() >= min_cases,
        "{} has {} cases, fewer than {min_cases}\n{table}",
        result.name,
        result.cases.len()
    );
    let ids: BTreeSet<&str> = result.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), result.cases.len(), "duplicate case ids\n{table}");
    assert!(result.passed(), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firewall_suite_passes() {
    let result = run_suite(Suite::Firewall, &SuiteContext::default()).await;
    assert_passes(&result, 40);
    // Every level's matrix, and the create-time rejections, came from the real path.
    assert!(
        result.cases.iter().any(|c| c.mode.starts_with("tether")),
        "no case used the tether's rules"
    );
    assert!(result.cases.iter().any(|c| c.mode == "engine"));
    assert_eq!(result.artifacts.len(), 6);
    // Where the machine allows namespaces (CI runs as root), real packets must have run.
    match netns_support() {
        Ok(()) => assert!(
            result.cases.iter().any(|c| c.mode.ends_with("+netns")),
            "namespaces are available but no case used them: {:?}",
            result.notes
        ),
        Err(why) => println!("network namespaces unavailable here: {why}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convention_suite_passes() {
    let result = run_suite(Suite::Convention, &SuiteContext::default()).await;
    assert_passes(&result, 15);
    for mode in ["model", "vic-machine", "engine+soap"] {
        assert!(
            result.cases.iter().any(|c| c.mode == mode),
            "no {mode} case"
        );
    }
}

/// The model-only run: the same expectations, observations from `vic` alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firewall_model_only_passes() {
    let ctx = SuiteContext {
        netns: NetnsPolicy::Off,
        testbed: false,
    };
    let result = run_suite(Suite::Firewall, &ctx).await;
    assert_passes(&result, 40);
    assert!(result.cases.iter().all(|c| !c.mode.contains("netns")));
    assert!(!result.notes.is_empty());
}

/// Observations are not restated expectations: every case of a model run fails once its
/// expectation is swapped for a wrong one, and a suite with one failing case fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expectation_fails() {
    let ctx = SuiteContext {
        netns: NetnsPolicy::Off,
        testbed: false,
    };
    let mut result = run_suite(Suite::Firewall, &ctx).await;
    let wrong = |expected: &str| match expected {
        "allow" => "deny".to_owned(),
        "deny" => "allow".to_owned(),
        other => format!("not {other}"),
    };
    for c in &result.cases {
        let flipped = CaseResult::check(
            c.id.clone(),
            c.description.clone(),
            wrong(&c.expected),
            c.observed.clone(),
            c.mode.clone(),
        );
        assert!(!flipped.passed, "{} passes with a wrong expectation", c.id);
    }
    let first = &mut result.cases[0];
    *first = CaseResult::check(
        first.id.clone(),
        first.description.clone(),
        wrong(&first.expected),
        first.observed.clone(),
        first.mode.clone(),
    );
    assert!(!result.passed());
    let table = render_table(&result);
    assert!(
        table.contains(&format!("FAIL {}", result.cases[0].id)),
        "{table}"
    );
    assert_eq!(result.failures().count(), 1);
}
