//! Rendering the reference site end to end: golden files, determinism, the
//! compile cache, atomic writes and pruning, the YAML stream.

use std::collections::BTreeSet;

use crate::support::{SiteCopy, opsmith, root, snapshot, stderr, stdout};

fn render_to(copy: &SiteCopy, out: &str, extra: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut args = vec!["render", "--site", "site", "--out", out];
    args.extend_from_slice(extra);
    let result = copy.run(&args);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    snapshot(&copy.path(out))
}

/// The reference site's tree is tests/golden/reference-site, provenance
/// included: it records the built-in plugins by their sources' digest, which
/// every build of one tree shares. After an intended change (a plugin's
/// source too): `OPSMITH_BLESS=1 cargo test --test it golden`.
#[test]
fn golden_reference_site() {
    let copy = SiteCopy::new();
    let actual = render_to(&copy, "out", &[]);
    let golden = root().join("tests/golden/reference-site");
    if std::env::var_os("OPSMITH_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&golden);
        for (path, bytes) in &actual {
            let dest = golden.join(path);
            std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
            std::fs::write(dest, bytes).expect("write golden");
        }
        return;
    }
    let expected = snapshot(&golden);
    let names =
        |files: &[(String, Vec<u8>)]| files.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&actual),
        names(&expected),
        "file list differs; OPSMITH_BLESS=1 re-blesses an intended change"
    );
    for ((path, bytes), (_, want)) in actual.iter().zip(&expected) {
        assert_eq!(
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(want),
            "{path} differs from the golden file"
        );
    }
}

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
    assert_eq!(count_kind(&files, "AppProject"), 5);
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
    let stream = stdout(&out);
    let objects: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(p, _)| p.ends_with(".yaml") && !p.ends_with("opsmith-provenance.yaml"))
        .collect();
    assert_eq!(
        stream.matches("\n---\n").count() + usize::from(stream.starts_with("---\n")),
        objects.len()
    );
    for (path, bytes) in objects {
        assert!(
            stream.contains(&*String::from_utf8_lossy(bytes)),
            "{path} missing from the stream"
        );
    }
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
    let log = stderr(&out);
    let catalog = copy.read("catalog.yaml");
    let builtins: BTreeSet<&str> = catalog
        .lines()
        .filter_map(|line| line.split_once("plugin: builtin:"))
        .map(|(_, name)| name.split_whitespace().next().unwrap_or_default())
        .collect();
    assert!(builtins.len() >= 6, "{builtins:?}");
    for name in builtins {
        assert!(
            log.contains(&format!(
                "plugin builtin:{name}: loaded as compiled by opsmith's build"
            )),
            "{name}: {log}"
        );
    }
    assert!(!log.contains(": compiled in"), "{log}");
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
        stderr(&out)
    };
    let cold = run();
    assert!(cold.contains(": compiled in"), "{cold}");
    let warm = run();
    assert!(!warm.contains(": compiled in"), "{warm}");
    assert!(warm.contains("builtin:metal3: loaded from cache"), "{warm}");
    // An entry with one byte changed (its digest no longer matches) is
    // recompiled, not trusted.
    for entry in std::fs::read_dir(&cache).expect("cache dir") {
        let path = entry.expect("entry").path();
        let mut bytes = std::fs::read(&path).expect("read entry");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(&path, bytes).expect("corrupt");
    }
    let repaired = run();
    assert!(
        repaired.contains("builtin:metal3: compiled in"),
        "{repaired}"
    );
    // So is one that is not a compiled plugin at all.
    for entry in std::fs::read_dir(&cache).expect("cache dir") {
        let path = entry.expect("entry").path();
        std::fs::write(&path, b"not a compiled plugin").expect("corrupt");
    }
    let repaired = run();
    assert!(
        repaired.contains("builtin:metal3: compiled in"),
        "{repaired}"
    );
}

#[test]
fn removed_hosts_are_pruned_and_foreign_files_kept() {
    let copy = SiteCopy::new();
    render_to(&copy, "out", &[]);
    let foreign = copy.path("out/infra/README.md");
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
    assert!(
        stderr(&result).contains("opsmith did not write it"),
        "{}",
        stderr(&result)
    );
    assert!(
        stderr(&result).contains("out/infra/"),
        "{}",
        stderr(&result)
    );
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
