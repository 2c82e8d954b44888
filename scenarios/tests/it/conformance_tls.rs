//! The TLS conformance suite (issue 6, vic.md §4) passes in full on the testbed, with the real
//! docker CLI: at least 20 cases, unique ids, and every client role observed with the CLI.

use std::collections::BTreeSet;

use scenarios::conformance::{Suite, SuiteContext, render_table, run_suite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_suite_passes() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let result = run_suite(Suite::Tls, &SuiteContext::default()).await;
    let table = render_table(&result);
    println!("{table}");
    assert!(
        result.cases.len() >= 20,
        "{} TLS cases, fewer than 20\n{table}",
        result.cases.len()
    );
    let ids: BTreeSet<&str> = result.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), result.cases.len(), "duplicate case ids\n{table}");
    assert!(result.passed(), "{table}");
    for mode in ["docker-cli", "vic-machine", "engine", "client"] {
        assert!(
            result.cases.iter().any(|c| c.mode == mode),
            "no {mode} case\n{table}"
        );
    }
}
