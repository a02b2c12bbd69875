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

/// Renders with `extra` flags and checks the failure: exit 2, no output
/// folder, within a minute. Returns the run's transcript, to snapshot: it
/// names the component, the plugin and the cause.
fn contained(attack: &str, extra: &[&str]) -> String {
    let copy = hostile_site(attack);
    let mut args = vec!["render", "--site", "site", "--out", "out"];
    args.extend_from_slice(extra);
    let started = std::time::Instant::now();
    let out = copy.run(&args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "attack `{attack}`: {}",
        stderr(&out)
    );
    assert!(
        !copy.path("out").exists(),
        "attack `{attack}` must write nothing"
    );
    assert!(
        started.elapsed().as_secs() < 60,
        "attack `{attack}` took {:?}",
        started.elapsed()
    );
    copy.transcript(&out)
}

#[test]
fn endless_loop_runs_out_of_fuel() {
    insta::assert_snapshot!(contained("loop", &["--fuel", "50000000"]));
}

#[test]
fn endless_loop_hits_the_wall_clock_backstop() {
    insta::assert_snapshot!(contained(
        "loop",
        &["--fuel", "1000000000000000", "--timeout", "1"]
    ));
}

#[test]
fn memory_bomb_hits_the_cap() {
    insta::assert_snapshot!(contained("memory", &["--memory", "64"]));
}

#[test]
fn deep_recursion_overflows_the_stack() {
    insta::assert_snapshot!(contained("recursion", &[]));
}

#[test]
fn panic_is_reported_with_its_message() {
    insta::assert_snapshot!(contained("panic", &[]));
}

#[test]
fn output_over_the_cap_is_refused() {
    insta::assert_snapshot!(contained("big-output", &["--max-output", "1"]));
}

#[test]
fn output_that_is_not_json_is_refused() {
    insta::assert_snapshot!(contained("not-json", &[]));
}

#[test]
fn objects_without_required_fields_are_refused() {
    insta::assert_snapshot!(contained("not-objects", &[]));
}

#[test]
fn undeclared_kinds_are_refused() {
    insta::assert_snapshot!(contained("wrong-kind", &[]));
}

/// The snapshot shows the plugin could not read the file, and nothing of it.
#[test]
fn files_are_out_of_reach() {
    insta::assert_snapshot!(contained("file", &[]));
}

#[test]
fn environment_is_empty() {
    insta::assert_snapshot!(contained("env", &[]));
}

#[test]
fn network_is_closed() {
    insta::assert_snapshot!(contained("socket", &[]));
}

/// The objects it emits are named after the time it reads:
/// 2000-01-01T00:00:00Z, on every run and machine.
#[test]
fn the_clock_is_fixed() {
    let copy = hostile_site("clock");
    let out = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn a_plugin_that_reads_no_hosts_is_sent_none() {
    // The hostile plugin's config schema says `"x-opsmith-reads-hosts": false`;
    // the reference inventory has 8 hosts, and it names its object after
    // how many it was sent.
    let copy = hostile_site("hosts");
    let out = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(copy.transcript(&out));
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
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // The digests change with the tool chain that built the plugin.
    let shown = copy
        .transcript(&out)
        .replace(&wrong, "[WRONG SHA256]")
        .replace(&pinned, "[ACTUAL SHA256]");
    insta::assert_snapshot!(shown);
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
    // Neither on stderr nor mixed into the YAML stream.
    insta::assert_snapshot!(copy.transcript(&quiet));
    let verbose = copy.run(&["render", "--site", "site", "--out", "-", "--verbose"]);
    assert_eq!(verbose.stdout, quiet.stdout);
    // Only the plugin's own lines: the rest of the log is stage timings,
    // which run beside each other and so come in varying order.
    let err = stderr(&verbose);
    let plugin_lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("component `hostile`: ") && !l.ends_with(" ms"))
        .collect();
    insta::assert_snapshot!("plugin_output_with_verbose", plugin_lines.join("\n"));
}
