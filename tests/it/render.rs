//! Rendering the reference site end to end: golden files, determinism, the
//! compile cache, atomic writes and pruning, the YAML stream.

use std::collections::BTreeSet;

use crate::support::{SiteCopy, load_log, opsmith, root, snapshot, stderr, stdout};

fn render_to(copy: &SiteCopy, out: &str, extra: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut args = vec!["render", "--site", "site", "--out", out];
    args.extend_from_slice(extra);
    let result = copy.run(&args);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    snapshot(&copy.path(out))
}

/// The reference site's tree is tests/golden/reference-site, provenance
/// included: it records the built-in plugins by their sources' digest, which
/// every build of one tree shares. Each file is an insta binary snapshot:
/// its bytes, unchanged, in `<dir>/<name>.snap.<ext>` (for
/// `<dir>/<name>.<ext>` of the tree), beside insta's `<dir>/<name>.snap`.
/// After an intended change (a plugin's source too):
/// `INSTA_UPDATE=always cargo test --test it golden` (which also removes the
/// files of objects no longer rendered) or `cargo insta test --review`, then
/// review the diff.
#[test]
fn golden_reference_site() {
    let copy = SiteCopy::new();
    let actual = render_to(&copy, "out", &[]);
    assert_golden(&root().join("tests/golden/reference-site"), &actual);
}

/// Compares rendered files (path relative to the output, bytes) with the
/// golden files under `golden`, one insta binary snapshot each, and fails
/// after comparing all of them, naming those that differ and the golden
/// files no rendered file stands for (which `INSTA_UPDATE=always` removes).
pub fn assert_golden(golden: &std::path::Path, actual: &[(String, Vec<u8>)]) {
    let mut differ = Vec::new();
    for (path, bytes) in actual {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        assert!(name.contains('.'), "{path}: insta needs an extension");
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(golden.join(dir));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        // Every file is compared (and a changed one written as a pending
        // `.snap.new`) before the test fails.
        let compared = settings.bind(|| {
            std::panic::catch_unwind(|| insta::assert_binary_snapshot!(name, bytes.clone()))
        });
        if compared.is_err() {
            differ.push(path.as_str());
        }
    }
    let mut stale = stale_golden_files(golden, actual);
    if std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always") {
        for file in stale.drain(..) {
            std::fs::remove_file(golden.join(file)).expect("remove a stale golden file");
        }
    }
    assert!(
        differ.is_empty() && stale.is_empty(),
        "these differ from their golden files: {differ:#?}\n\
         golden files of objects no longer rendered (INSTA_UPDATE=always removes them): {stale:#?}"
    );
}

/// Files under `golden` (relative) that no rendered file is the snapshot
/// of; insta's pending `.snap.new` files aside.
fn stale_golden_files(golden: &std::path::Path, actual: &[(String, Vec<u8>)]) -> Vec<String> {
    // `dir/name` of each rendered `dir/name.ext`, as insta names its files.
    let stems: BTreeSet<&str> = actual
        .iter()
        .map(|(path, _)| {
            let file_at = path.rfind('/').map_or(0, |i| i + 1);
            path[file_at..]
                .find('.')
                .map_or(path.as_str(), |dot| &path[..file_at + dot])
        })
        .collect();
    snapshot(golden)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| !path.contains(".snap.new"))
        .filter(|path| {
            let stem = path
                .split_once(".snap")
                .map_or(path.as_str(), |(stem, _)| stem);
            !stems.contains(stem)
        })
        .collect()
}

/// Properties the cluster needs of the tree, over its files' text: the
/// golden files pin the whole tree; these must hold after any re-bless.
fn count_kind(files: &[(String, Vec<u8>)], kind: &str) -> usize {
    let needle = format!("\nkind: {kind}\n");
    files
        .iter()
        .filter(|(_, b)| String::from_utf8_lossy(b).contains(&needle))
        .count()
}

#[test]
fn reference_site_has_what_the_cluster_needs() {
    let copy = SiteCopy::new();
    let files = render_to(&copy, "out", &[]);
    assert_eq!(count_kind(&files, "BareMetalHost"), 8);
    let bmc_secrets = files
        .iter()
        .filter(|(p, _)| p.contains("externalsecret-") && p.ends_with("-bmc-secret.yaml"))
        .count();
    assert_eq!(bmc_secrets, 8);
    // The root's and one per component with an Application.
    assert_eq!(count_kind(&files, "AppProject"), 7);
    assert!(
        count_kind(&files, "Application") >= 4,
        "root app and one per component"
    );
    let (_, install_config) = files
        .iter()
        .find(|(p, _)| p == "infra/day0/install-config/install-config.yaml")
        .expect("install-config.yaml in the day-0 folder");
    let text = String::from_utf8_lossy(install_config);
    assert_eq!(text.matches("bootMACAddress:").count(), 8, "{text}");
    assert!(
        text.contains("replicas: 3") && text.contains("replicas: 5"),
        "{text}"
    );
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("\nkind: Secret\n"),
            "{path}: opsmith never renders Secrets"
        );
        if path.ends_with(".yaml")
            && !path.contains("day0/")
            && !path.ends_with("opsmith-provenance.yaml")
        {
            assert!(
                text.contains("app.kubernetes.io/managed-by: opsmith"),
                "{path} lacks the managed-by label"
            );
        }
    }
}

#[test]
fn output_is_byte_identical_across_runs_and_thread_counts() {
    let copy = SiteCopy::new();
    let one = render_to(&copy, "one", &["--jobs", "1"]);
    let eight = render_to(&copy, "eight", &["--jobs", "8"]);
    let again = render_to(&copy, "eight", &["--jobs", "8"]);
    assert_eq!(one, eight);
    assert_eq!(eight, again);
}

#[test]
fn stream_on_stdout_holds_every_object() {
    let copy = SiteCopy::new();
    let files = render_to(&copy, "out", &[]);
    let out = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Each YAML file of the tree, in the tree's order, under a comment
    // naming its path; the provenance record is no object.
    let expected: String = files
        .iter()
        .filter(|(p, _)| p.ends_with(".yaml") && !p.ends_with("opsmith-provenance.yaml"))
        .map(|(path, bytes)| format!("---\n# Source: {path}\n{}", String::from_utf8_lossy(bytes)))
        .collect();
    assert_eq!(stdout(&out), expected);
}

/// With an empty cache, every built-in plugin is loaded as opsmith's build
/// compiled it: nothing is compiled, nothing is written to the cache.
#[test]
fn first_run_compiles_no_builtin() {
    let copy = SiteCopy::new();
    let cache = copy.path("cache");
    let out = opsmith()
        .current_dir(copy.dir.path())
        .env("OPSMITH_CACHE_DIR", &cache)
        .args(["render", "--site", "site", "--out", "-", "--verbose"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Each built-in plugin of the catalog, none compiled.
    insta::assert_snapshot!(load_log(&stderr(&out), &[(copy.dir.path(), "TMP")]));
    let entries = std::fs::read_dir(&cache).map_or(0, |dir| dir.count());
    assert_eq!(entries, 0, "the cache was written to");
}

#[test]
fn warm_cache_does_not_compile_again() {
    let copy = SiteCopy::new();
    let cache = copy.path("cache");
    let run = || {
        let out = opsmith()
            .current_dir(copy.dir.path())
            .env("OPSMITH_CACHE_DIR", &cache)
            .env("OPSMITH_COMPILE_BUILTINS", "1")
            .args(["render", "--site", "site", "--out", "-", "--verbose"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        load_log(&stderr(&out), &[(copy.dir.path(), "TMP")])
    };
    insta::assert_snapshot!("cold_cache", run());
    insta::assert_snapshot!("warm_cache", run());
    // An entry with one byte changed (its digest no longer matches) is
    // recompiled, not trusted.
    for entry in std::fs::read_dir(&cache).expect("cache dir") {
        let path = entry.expect("entry").path();
        let mut bytes = std::fs::read(&path).expect("read entry");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(&path, bytes).expect("corrupt");
    }
    insta::assert_snapshot!("an_entry_with_a_byte_changed", run());
    // So is one that is not a compiled plugin at all.
    for entry in std::fs::read_dir(&cache).expect("cache dir") {
        let path = entry.expect("entry").path();
        std::fs::write(&path, b"not a compiled plugin").expect("corrupt");
    }
    insta::assert_snapshot!("an_entry_that_is_no_compiled_plugin", run());
}

#[test]
fn removed_hosts_are_pruned_and_foreign_files_kept() {
    let copy = SiteCopy::new();
    render_to(&copy, "out", &[]);
    let foreign = copy.path("out/infra/NOTES.md");
    std::fs::write(&foreign, "notes of a human\n").expect("write foreign file");
    // Drop the last host (a worker) from the inventory.
    let text = copy.read("inventory.yaml");
    let last = text.rfind("    - name: ").expect("a host");
    copy.write("inventory.yaml", &text[..last]);
    let files = render_to(&copy, "out", &[]);
    assert_eq!(count_kind(&files, "BareMetalHost"), 7);
    assert_eq!(
        std::fs::read_to_string(&foreign).expect("kept"),
        "notes of a human\n"
    );
}

#[test]
fn a_foreign_file_in_the_way_is_not_overwritten() {
    let copy = SiteCopy::new();
    let files = render_to(&copy, "out", &[]);
    assert!(files.iter().any(|(p, _)| p.contains("baremetalhost-")));
    // Forget that opsmith wrote it: remove the provenance record.
    std::fs::remove_file(copy.path("out/infra/opsmith-provenance.yaml")).expect("remove record");
    let before = snapshot(&copy.path("out"));
    let result = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(result.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&result));
    assert_eq!(snapshot(&copy.path("out")), before);
}

#[test]
fn invalid_input_leaves_the_old_tree_untouched() {
    let copy = SiteCopy::new();
    let before = render_to(&copy, "out", &[]);
    copy.edit("inventory.yaml", "apiVIP:", "apiVIPz:");
    let result = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(snapshot(&copy.path("out")), before);
}

/// See: #5. Disabling prow drops its objects and the GitHub App permissions
/// and events only prow needs.
#[test]
fn disabling_prow_removes_its_objects_and_permissions() {
    let copy = SiteCopy::new();
    let manifest_of = |files: &[(String, Vec<u8>)]| -> serde_json::Value {
        let (_, bytes) = files
            .iter()
            .find(|(p, _)| p == "infra/day0/github-app/github-app-manifest.json")
            .expect("the GitHub App manifest");
        serde_json::from_slice(bytes).expect("the manifest is JSON")
    };
    let with_prow = render_to(&copy, "with", &[]);
    let manifest = manifest_of(&with_prow);
    for key in [
        "name",
        "url",
        "hook_attributes",
        "public",
        "default_permissions",
        "default_events",
    ] {
        assert!(
            manifest.get(key).is_some(),
            "manifest lacks `{key}`: {manifest}"
        );
    }
    assert!(with_prow.iter().any(|(p, _)| p.starts_with("infra/prow/")));
    assert!(
        manifest["default_events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e == "issue_comment")
    );
    copy.edit(
        "catalog.yaml",
        "plugin: builtin:prow",
        "plugin: builtin:prow\n      enabled: false",
    );
    // The app's webhook then needs a URL of its own.
    copy.edit(
        "catalog.yaml",
        "org: example",
        "org: example\n        webhookURL: https://hooks.example.org/github",
    );
    let without = render_to(&copy, "without", &[]);
    assert!(
        !without.iter().any(|(p, _)| p.starts_with("infra/prow/")),
        "prow objects remain"
    );
    let manifest = manifest_of(&without);
    let events = manifest["default_events"].as_array().expect("events");
    assert!(
        !events.iter().any(|e| e == "issue_comment"),
        "prow's events remain: {manifest}"
    );
    assert!(
        manifest["default_permissions"].get("issues").is_none(),
        "prow's permissions remain: {manifest}"
    );
}
