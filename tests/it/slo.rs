//! builtin:slo on copies of the reference site: a broken SLO fails the
//! render with exit 2 at its catalog line, and nothing is written.

use crate::support::{SiteCopy, stderr};

/// Renders `copy` and expects exit 2 and nothing written; the transcript.
fn refused(copy: &SiteCopy) -> String {
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!copy.path("out").exists(), "nothing is written");
    copy.transcript(&out)
}

/// The reference site with its kube-apiserver SLO replaced by `slo`.
fn with_slo(slo: &str) -> SiteCopy {
    let copy = SiteCopy::new();
    copy.edit(
        "catalog.yaml",
        "              - { preset: kube-apiserver, objective: 99.9 }\n",
        slo,
    );
    copy
}

#[test]
fn an_objective_of_100_fails_at_its_line() {
    let copy = with_slo("              - { preset: kube-apiserver, objective: 100 }\n");
    insta::assert_snapshot!("objective_100", refused(&copy));
}

#[test]
fn a_query_without_its_window_fails_at_its_line() {
    let copy = with_slo(
        "              - name: requests
                objective: 99.9
                sli:
                  raw:
                    errorRatioQuery: sum(rate(apiserver_request_total{code=~\"5..\"}[5m]))
",
    );
    insta::assert_snapshot!("query_without_window", refused(&copy));
}

#[test]
fn a_query_that_is_not_promql_fails_at_its_line() {
    let copy = with_slo(
        "              - name: requests
                objective: 99.9
                sli:
                  events:
                    errorQuery: sum(rate(apiserver_request_total{code=~\"5..\"}[{{.window}}])
                    totalQuery: sum(rate(apiserver_request_total[{{.window}}]))
",
    );
    insta::assert_snapshot!("query_not_promql", refused(&copy));
}
