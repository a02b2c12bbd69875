//! Every CI output of `opsmith check`, whole: the terminal lines, the GitHub
//! annotations, the step summary, the PR comment and the JUnit report, for a
//! site whose tree is identical to the committed one, one that changes it,
//! one with invalid input and one whose plugin fails.

use crate::git::checkout_with_committed_tree;
use crate::support::{SiteCopy, opsmith};

/// What one `opsmith check` run printed and wrote, as one text.
fn check_outputs(copy: &SiteCopy) -> String {
    let summary = copy.path("summary.md");
    let junit = copy.path("junit.xml");
    let comment = copy.path("comment.md");
    let out = opsmith()
        .current_dir(copy.dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["check", "--site", "site", "--git-ref", "main", "--junit"])
        .arg(&junit)
        .arg("--comment")
        .arg(&comment)
        .output()
        .expect("run opsmith check");
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();
    format!(
        "exit status: {:?}\n--- stdout\n{}--- stderr\n{}--- step summary\n{}--- comment\n{}--- junit\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        read(&summary),
        read(&comment),
        read(&junit),
    )
}

#[test]
fn identical_tree() {
    let copy = checkout_with_committed_tree();
    insta::assert_snapshot!(check_outputs(&copy));
}

#[test]
fn changed_tree() {
    let copy = checkout_with_committed_tree();
    copy.edit(
        "inventory.yaml",
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    insta::assert_snapshot!(check_outputs(&copy));
}

#[test]
fn invalid_input() {
    let copy = checkout_with_committed_tree();
    copy.edit("inventory.yaml", "  hosts:", "  hostz:");
    insta::assert_snapshot!(check_outputs(&copy));
}

#[test]
fn failing_plugin() {
    let copy = checkout_with_committed_tree();
    copy.edit(
        "catalog.yaml",
        "plugin: builtin:metal3",
        "plugin: builtin:metal3\n      limits: { fuel: 1000 }",
    );
    insta::assert_snapshot!(check_outputs(&copy));
}

#[test]
fn objects_the_catalog_does_not_allow() {
    let copy = checkout_with_committed_tree();
    copy.edit(
        "catalog.yaml",
        "plugin: builtin:metal3",
        "plugin: builtin:metal3\n      allow: [{ apiVersion: v1, kind: ConfigMap }]",
    );
    insta::assert_snapshot!(check_outputs(&copy));
}
