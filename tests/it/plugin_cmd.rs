//! `opsmith plugin new | inspect | list`, and a scaffolded plugin used by a
//! catalog from outside this repository.

use crate::support::{SiteCopy, opsmith, root, sha256_hex, stderr, stdout, test_plugin};

#[test]
fn inspect_shows_world_imports_and_sandbox() {
    let wasm = test_plugin("opsmith-test-hostile");
    let out = opsmith()
        .arg("plugin")
        .arg("inspect")
        .arg(&wasm)
        .output()
        .expect("run");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(text.contains("plugin:      hostile 0.1.0"), "{text}");
    assert!(
        text.contains(&format!("sha256:      {}", sha256_hex(&wasm))),
        "{text}"
    );
    assert!(text.contains("exports describe, render"), "{text}");
    assert!(
        text.contains("wasi:filesystem/preopens") && text.contains("no directories are preopened"),
        "{text}"
    );
    assert!(text.contains("v1 Namespace (cluster-scoped)"), "{text}");
}

#[test]
fn inspect_refuses_a_file_that_is_not_a_component() {
    let copy = SiteCopy::new();
    std::fs::write(copy.path("junk.wasm"), b"\0asm junk").expect("write");
    let out = copy.run(&["plugin", "inspect", "junk.wasm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("junk.wasm"), "{}", stderr(&out));
}

#[test]
fn list_shows_builtins_and_catalog() {
    let copy = SiteCopy::new();
    let out = copy.run(&["plugin", "list", "--site", "site"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in [
        "builtin:metal3",
        "builtin:install-config",
        "builtin:argocd",
        "builtin:prow",
        "builtin:tekton",
        "builtin:github-app",
    ] {
        assert!(text.contains(name), "{name} missing: {text}");
    }
    assert!(text.contains("baremetal-hosts"), "{text}");
}

#[test]
fn schema_prints_inputs_and_plugin_configs() {
    for (name, needle) in [
        ("site", "\"bootMACAddress\""),
        ("catalog", "\"components\""),
        ("plugin:metal3", "\"automatedCleaningMode\""),
    ] {
        let out = opsmith().args(["schema", name]).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        serde_json::from_str::<serde_json::Value>(&text).expect("a JSON document");
        assert!(text.contains(needle), "{name}: {text}");
    }
    let out = opsmith()
        .args(["schema", "plugin:nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// The scaffold builds with the command `plugin new` prints, outside this
/// repository, passes its own tests, and renders through a catalog.
#[test]
fn scaffolded_plugin_builds_and_renders() {
    let copy = SiteCopy::new();
    let out = copy.run(&["plugin", "new", "demo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("cargo build --release --target wasm32-wasip2"),
        "{}",
        stdout(&out)
    );
    let crate_dir = copy.path("demo");
    // Shared between test runs: the scaffold's dependencies build once.
    let target = root().join("target").join("scaffold");
    for args in [
        &["test", "--quiet"][..],
        &["build", "--quiet", "--release", "--target", "wasm32-wasip2"][..],
    ] {
        let status = std::process::Command::new(env!("CARGO"))
            .current_dir(&crate_dir)
            .args(args)
            .env("CARGO_TARGET_DIR", &target)
            // Debug info for the scaffold's tests is not read and costs disk in CI.
            .env("CARGO_PROFILE_DEV_DEBUG", "false")
            .env_remove("RUSTFLAGS")
            .status()
            .expect("run cargo");
        assert!(status.success(), "cargo {args:?} in the scaffold failed");
    }
    let wasm = target.join("wasm32-wasip2/release/demo.wasm");
    let inspected = copy.run(&["plugin", "inspect", wasm.to_str().expect("utf-8 path")]);
    assert_eq!(inspected.status.code(), Some(0), "{}", stderr(&inspected));
    assert!(
        stdout(&inspected).contains("plugin:      demo 0.1.0"),
        "{}",
        stdout(&inspected)
    );
    std::fs::copy(&wasm, copy.site().join("demo.wasm")).expect("copy");
    let catalog = copy.read("catalog.yaml");
    copy.write(
        "catalog.yaml",
        &format!("{catalog}    - name: demo\n      plugin: {{ path: demo.wasm, sha256: {} }}\n      config: {{ namespace: tools }}\n", sha256_hex(&wasm)),
    );
    let rendered = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
    let stream = stdout(&rendered);
    assert!(
        stream.contains("# Source: infra/demo/tools/configmap-demo-summary.yaml"),
        "{stream}"
    );
    assert!(stream.contains("hosts: \"8\""), "{stream}");
}
