//! Hostile plugins, built from tests/test-plugins/hostile: each attack ends
//! within its limit with exit status 2, a message naming the component, the
//! plugin and the cause, and nothing written.

use crate::support::{SiteCopy, sha256_hex, stderr, test_plugin};

/// The reference inventory with a catalog of one hostile component.
fn hostile_site(attack: &str) -> SiteCopy {
    let copy = SiteCopy::new();
    let wasm = test_plugin("opsmith-test-hostile");
    std::fs::copy(&wasm, copy.site().join("hostile.wasm")).expect("copy plugin");
    let sha = sha256_hex(&wasm);
    copy.write(
        "catalog.yaml",
        &format!(
            "apiVersion: opsmith.dev/v1alpha1\nkind: AppCatalog\nmetadata:\n  name: infra\nspec:\n  gitops:\n    repoURL: https://github.com/example/infra-manifests.git\n    targetRevision: main\n    path: clusters/infra\n  components:\n    - name: hostile\n      plugin: {{ path: hostile.wasm, sha256: {sha} }}\n      config: {{ attack: {attack} }}\n"
        ),
    );
    copy
}

/// Renders with `extra` flags and checks the failure: exit 2, the plugin
/// named, every word of `cause` in the message, no output folder.
fn assert_contained(attack: &str, extra: &[&str], cause: &[&str]) -> String {
    let copy = hostile_site(attack);
    let mut args = vec!["render", "--site", "site", "--out", "out"];
    args.extend_from_slice(extra);
    let started = std::time::Instant::now();
    let out = copy.run(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "attack `{attack}`: {err}");
    assert!(
        err.contains("component `hostile` (plugin hostile.wasm)"),
        "attack `{attack}` must name the plugin: {err}"
    );
    for word in cause {
        assert!(
            err.contains(word),
            "attack `{attack}`: expected `{word}` in: {err}"
        );
    }
    assert!(
        !copy.path("out").exists(),
        "attack `{attack}` must write nothing"
    );
    assert!(
        started.elapsed().as_secs() < 60,
        "attack `{attack}` took {:?}",
        started.elapsed()
    );
    err
}

#[test]
fn endless_loop_runs_out_of_fuel() {
    assert_contained(
        "loop",
        &["--fuel", "50000000"],
        &["ran out of fuel", "50000000"],
    );
}

#[test]
fn endless_loop_hits_the_wall_clock_backstop() {
    assert_contained(
        "loop",
        &["--fuel", "1000000000000000", "--timeout", "1"],
        &["did not finish within 1s"],
    );
}

#[test]
fn memory_bomb_hits_the_cap() {
    assert_contained("memory", &["--memory", "64"], &["more than 64 MiB"]);
}

#[test]
fn deep_recursion_overflows_the_stack() {
    assert_contained("recursion", &[], &["stack overflow"]);
}

#[test]
fn panic_is_reported_with_its_message() {
    assert_contained(
        "panic",
        &[],
        &["panicked", "hostile plugin gave up on purpose"],
    );
}

#[test]
fn output_over_the_cap_is_refused() {
    assert_contained(
        "big-output",
        &["--max-output", "1"],
        &["bytes of output", "limit is 1048576"],
    );
}

#[test]
fn output_that_is_not_json_is_refused() {
    assert_contained("not-json", &[], &["malformed output", "not JSON"]);
}

#[test]
fn objects_without_required_fields_are_refused() {
    assert_contained("not-objects", &[], &["has no `apiVersion`"]);
}

#[test]
fn undeclared_kinds_are_refused() {
    assert_contained("wrong-kind", &[], &["Secret", "not among the kinds"]);
}

#[test]
fn files_are_out_of_reach() {
    let err = assert_contained(
        "file",
        &[],
        &["could not read /etc/passwd", "site/catalog.yaml:"],
    );
    assert!(!err.contains("root:"), "{err}");
}

#[test]
fn environment_is_empty() {
    assert_contained("env", &[], &["could not read HOME"]);
}

#[test]
fn network_is_closed() {
    assert_contained("socket", &[], &["could not connect to 127.0.0.1:9"]);
}

#[test]
fn the_clock_is_fixed() {
    let copy = hostile_site("clock");
    let out = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // 2000-01-01T00:00:00Z, on every run and machine.
    assert!(
        crate::support::stdout(&out).contains("name: t946684800"),
        "{}",
        crate::support::stdout(&out)
    );
}

#[test]
fn a_plugin_that_reads_no_hosts_is_sent_none() {
    // The hostile plugin's config schema says `"x-opsmith-reads-hosts": false`;
    // the reference inventory has 8 hosts.
    let copy = hostile_site("hosts");
    let out = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = crate::support::stdout(&out);
    assert!(stdout.contains("name: hosts-0"), "{stdout}");
}

#[test]
fn a_mismatched_digest_shows_both() {
    let copy = hostile_site("calm");
    let text = copy.read("catalog.yaml");
    let pinned: String = text
        .split("sha256: ")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect();
    // Change the last hex digit, whatever it is.
    let last = if pinned.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &pinned[..63]);
    copy.write("catalog.yaml", &text.replacen(&pinned, &wrong, 1));
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("sha256 mismatch") && err.contains(&wrong) && err.contains(&pinned),
        "{err}"
    );
}

#[test]
fn a_failing_plugin_leaves_the_old_tree_untouched() {
    let copy = hostile_site("calm");
    let first = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let before = crate::support::snapshot(&copy.path("out"));
    assert!(
        before
            .iter()
            .any(|(p, _)| p.ends_with("namespace-calm.yaml")),
        "{before:?}"
    );
    copy.edit("catalog.yaml", "attack: calm", "attack: panic");
    let second = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(second.status.code(), Some(2));
    assert_eq!(crate::support::snapshot(&copy.path("out")), before);
}

#[test]
fn plugin_output_reaches_the_verbose_log_only() {
    let copy = hostile_site("chatty");
    let quiet = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains("hello from"), "{}", stderr(&quiet));
    assert!(
        !crate::support::stdout(&quiet).contains("hello from"),
        "plugin output must not mix into the YAML stream"
    );
    let verbose = copy.run(&["render", "--site", "site", "--out", "-", "--verbose"]);
    let err = stderr(&verbose);
    for line in [
        "info: hello from log",
        "hello from stdout",
        "hello from stderr",
    ] {
        assert!(
            err.contains(&format!("component `hostile`: {line}")),
            "{err}"
        );
    }
}
