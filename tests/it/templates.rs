//! builtin:templates on copies of the reference site: its templates render
//! what the golden tree holds; a template's mistakes and a kind outside
//! `allow` fail at the file's or the catalog's line, and nothing is written;
//! a template's text alone changes the inputs digest and the tree.

use crate::support::{SiteCopy, snapshot, stderr};

/// Renders `copy` and expects exit 2 and nothing written; the transcript.
fn refused(copy: &SiteCopy) -> String {
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!copy.path("out").exists(), "nothing is written");
    copy.transcript(&out)
}

#[test]
fn an_undefined_variable_fails_at_the_template_line() {
    let copy = SiteCopy::new();
    copy.edit(
        "templates/default-deny.yaml.j2",
        "{{ namespace }}",
        "{{ namespaec }}",
    );
    insta::assert_snapshot!("undefined_variable", refused(&copy));
}

#[test]
fn a_syntax_error_fails_at_the_template_line() {
    let copy = SiteCopy::new();
    copy.edit(
        "templates/chrony.yaml.j2",
        "{% endfor %}\ndriftfile",
        "{% endfo %}\ndriftfile",
    );
    insta::assert_snapshot!("syntax_error", refused(&copy));
}

#[test]
fn a_kind_outside_allow_fails() {
    let copy = SiteCopy::new();
    copy.edit(
        "templates/default-deny.yaml.j2",
        "kind: NetworkPolicy",
        "kind: ConfigMap",
    );
    insta::assert_snapshot!("kind_outside_allow", refused(&copy));
}

#[test]
fn a_templated_object_is_checked_against_its_upstream_schema() {
    let copy = SiteCopy::new();
    copy.edit(
        "templates/default-deny.yaml.j2",
        "podSelector: {}",
        "podSelector: all",
    );
    insta::assert_snapshot!("upstream_schema", refused(&copy));
}

#[test]
fn a_templates_component_without_allow_fails_at_its_catalog_line() {
    let copy = SiteCopy::new();
    let catalog = copy.read("catalog.yaml");
    let start = catalog
        .find("      allow:                       # required")
        .expect("allow");
    let end = catalog[start..].find("      config:").expect("config") + start;
    copy.write(
        "catalog.yaml",
        &format!("{}{}", &catalog[..start], &catalog[end..]),
    );
    insta::assert_snapshot!("no_allow", refused(&copy));
}

#[test]
fn a_template_alone_changes_the_digest_and_the_tree() {
    let copy = SiteCopy::new();
    let render = |copy: &SiteCopy, out: &str| {
        let run = copy.run(&["render", "--site", "site", "--out", out]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        snapshot(&copy.path(&format!("{out}/infra")))
    };
    let before = render(&copy, "before");
    copy.edit(
        "templates/chrony.yaml.j2",
        "makestep 1.0 3",
        "makestep 0.5 3",
    );
    let after = render(&copy, "after");
    let changed: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.as_str())
        .collect();
    // The two MachineConfigs, and the provenance for its inputs digest.
    assert_eq!(
        changed,
        [
            "opsmith-provenance.yaml",
            "templates/cluster-scoped/machineconfig-99-master-chrony.yaml",
            "templates/cluster-scoped/machineconfig-99-worker-chrony.yaml",
        ]
    );
}
