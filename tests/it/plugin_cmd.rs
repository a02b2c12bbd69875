//! `opsmith plugin new | inspect | list`, a scaffolded plugin used by a
//! catalog from outside this repository, and the packages `cargo package`
//! makes of opsmith and its SDK.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{
    SiteCopy, mask, opsmith, root, sha256_hex, stderr, stdout, test_plugin, transcript,
};

/// What points a scaffold at a local SDK instead of crates.io.
const SDK_PATH_VAR: &str = "OPSMITH_PLUGIN_SDK_PATH";

/// `cargo package` run in the repository (a target folder of its own: it
/// builds nothing, and the test run holds the shared one's lock).
fn cargo_package(args: &[&str], target: &Path) -> std::process::Output {
    let out = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["package", "--allow-dirty", "--target-dir"])
        .arg(target)
        .args(args)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run cargo package");
    assert!(
        out.status.success(),
        "cargo package {args:?} failed: {}",
        stderr(&out)
    );
    out
}

/// The SDK as `cargo package` packs it for crates.io, unpacked (once per
/// test run): scaffolds built against it show that the published SDK builds.
pub fn packaged_sdk() -> PathBuf {
    static SDK: OnceLock<PathBuf> = OnceLock::new();
    SDK.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        cargo_package(
            &["--no-verify", "-p", "opsmith-plugin-sdk"],
            &dir.join("target"),
        );
        let packages = dir.join("target/package");
        let file = std::fs::read_dir(&packages)
            .expect("cargo package's folder")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "crate"))
            .expect("a .crate file");
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&file)
            .arg("-C")
            .arg(&dir)
            .status()
            .expect("run tar");
        assert!(status.success(), "unpacking {}", file.display());
        dir.join(file.file_stem().expect("name"))
    })
    .clone()
}

/// `opsmith plugin inspect`'s transcript for `wasm`, to snapshot: besides
/// [`mask`], what the tool chain that built the plugin decides is masked:
/// the file's digest and size, and the WASI versions its imports name.
fn inspected(out: &std::process::Output, wasm: &Path) -> String {
    let text = transcript(out).replace(&sha256_hex(wasm), "[SHA256 OF THE FILE]");
    mask(&text, &[(wasm, "WASM")])
        .lines()
        .map(|line| {
            if let Some(rest) = line.strip_prefix("file:        [WASM] (") {
                let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                format!("file:        [WASM] ([N]{digits}")
            } else if line.trim_start().starts_with("wasi:")
                && let Some((import, described)) = line.split_once('@')
            {
                let rest = described.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
                format!("{import}@[WASI VERSION]{rest}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The version of the SDK crate in the repository (the workspace's).
fn sdk_version(packaged: &Path) -> String {
    let manifest = std::fs::read_to_string(packaged.join("Cargo.toml")).expect("manifest");
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("a version")
        .to_owned()
}

#[test]
fn inspect_shows_world_imports_and_sandbox() {
    let wasm = test_plugin("opsmith-test-hostile");
    let out = opsmith()
        .arg("plugin")
        .arg("inspect")
        .arg(&wasm)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Any digest but the file's would show as [HASH].
    insta::assert_snapshot!(inspected(&out, &wasm));
}

#[test]
fn inspect_refuses_a_file_that_is_not_a_component() {
    let copy = SiteCopy::new();
    std::fs::write(copy.path("junk.wasm"), b"\0asm junk").expect("write");
    let out = copy.run(&["plugin", "inspect", "junk.wasm"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn list_shows_builtins_and_catalog() {
    let copy = SiteCopy::new();
    let out = copy.run(&["plugin", "list", "--site", "site"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Each built-in plugin and the component using it; the digests (of the
    // plugins' builds) masked.
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn schema_prints_inputs_and_plugin_configs() {
    // The input schemas are the files checked in beside the model.
    for name in ["site", "catalog"] {
        let out = opsmith().args(["schema", name]).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let file = root().join(format!("schemas/{name}.schema.json"));
        assert_eq!(
            stdout(&out),
            std::fs::read_to_string(&file).expect("read schema"),
            "{name}"
        );
    }
    let out = opsmith()
        .args(["schema", "plugin:metal3"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str::<serde_json::Value>(&stdout(&out)).expect("a JSON document");
    insta::assert_snapshot!("metal3_config_schema", stdout(&out));
    let out = opsmith()
        .args(["schema", "plugin:nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("unknown_plugin", transcript(&out));
}

/// The packaged SDK holds the WIT contract itself (its link in the
/// repository is followed) and names no path, so it builds from crates.io.
#[test]
fn the_packaged_sdk_builds_on_its_own() {
    let sdk = packaged_sdk();
    let wit = sdk.join("wit/plugin.wit");
    assert!(
        !wit.symlink_metadata().expect("wit/plugin.wit").is_symlink(),
        "{} is a link",
        wit.display()
    );
    assert_eq!(
        std::fs::read(&wit).expect("wit"),
        std::fs::read(root().join("plugins/wit/plugin.wit")).expect("the repository's wit"),
    );
    let manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).expect("manifest");
    let mut table = "";
    for line in manifest.lines() {
        if line.starts_with('[') {
            table = line;
        // Lines of cargo's normalised manifest, which cargo's version may
        // change: only what matters is checked.
        } else if table.contains("dependencies") {
            assert!(!line.starts_with("path ="), "{table} {line}: {manifest}");
        }
    }
    for field in ["description", "license", "repository", "readme"] {
        assert!(
            manifest.contains(&format!("\n{field} = ")),
            "{field} missing: {manifest}"
        );
    }
    assert!(sdk.join("README.md").is_file());
}

/// opsmith's package carries what its build script builds the built-in
/// plugins from: each plugin's manifest and sources, the SDK and the lock
/// file, through build/plugin-workspace/ (the crates' own folders, holding
/// a Cargo.toml, are left out of a package).
#[test]
fn the_opsmith_package_carries_the_builtin_plugin_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cargo_package(&["--list", "-p", "opsmith"], &dir.path().join("target"));
    let listed = stdout(&out);
    // Entries of cargo's list, which changes with every file of the
    // repository: only those the build script needs are checked.
    let files: Vec<&str> = listed.lines().collect();
    let builtins: Vec<String> = std::fs::read_dir(root().join("plugins"))
        .expect("plugins/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert!(builtins.len() > 2, "{builtins:?}");
    for name in &builtins {
        for file in ["manifest.toml", "src/lib.rs"] {
            let path = format!("build/plugin-workspace/plugins/{name}/{file}");
            assert!(files.contains(&path.as_str()), "{path} missing: {listed}");
        }
    }
    for path in [
        "build/plugin-workspace/Cargo.lock",
        "build/plugin-workspace/plugins/sdk/wit/plugin.wit",
        "build/plugin-workspace/plugins/wit/plugin.wit",
        "build/plugins.rs",
        "plugins/wit/plugin.wit",
    ] {
        assert!(files.contains(&path), "{path} missing: {listed}");
    }
    assert!(
        !files.iter().any(|f| f.starts_with("tests/")),
        "the tests are not for crates.io: {listed}"
    );
}

/// Without a local SDK, a scaffold depends on the SDK by version alone.
#[test]
fn scaffold_depends_on_the_sdk_by_version() {
    let copy = SiteCopy::new();
    let out = opsmith()
        .current_dir(copy.dir.path())
        .env_remove(SDK_PATH_VAR)
        .args(["plugin", "new", "by-version"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(copy.path("by-version/Cargo.toml")).expect("manifest");
    let version = sdk_version(&packaged_sdk());
    // The SDK by version alone: no path, no [patch].
    let shown = manifest.replace(
        &format!("opsmith-plugin-sdk = \"{version}\""),
        "opsmith-plugin-sdk = \"[SDK VERSION]\"",
    );
    insta::assert_snapshot!(shown);
    assert!(!copy.path("by-version/opsmith-sdk").exists());
}

/// A local SDK that is not a crate is refused before anything is written.
#[test]
fn scaffold_refuses_a_local_sdk_without_a_manifest() {
    let copy = SiteCopy::new();
    let out = opsmith()
        .current_dir(copy.dir.path())
        .env(SDK_PATH_VAR, copy.path("site"))
        .args(["plugin", "new", "demo"])
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    insta::assert_snapshot!(copy.transcript(&out));
    assert!(!copy.path("demo").exists());
}

/// The scaffold builds with the command `plugin new` prints, outside this
/// repository, against the SDK as packaged for crates.io, passes its own
/// tests, and renders through a catalog.
#[test]
fn scaffolded_plugin_builds_and_renders() {
    let copy = SiteCopy::new();
    let sdk = packaged_sdk();
    let out = opsmith()
        .current_dir(copy.dir.path())
        .env(SDK_PATH_VAR, &sdk)
        .args(["plugin", "new", "demo"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // What to run next, and a manifest that patches in the local SDK.
    let masks = [(copy.dir.path(), "TMP"), (sdk.as_path(), "SDK")];
    insta::assert_snapshot!("scaffold_new", mask(&transcript(&out), &masks));
    let manifest = std::fs::read_to_string(copy.path("demo/Cargo.toml")).expect("manifest");
    let version = sdk_version(&sdk);
    insta::assert_snapshot!(
        "scaffold_manifest",
        mask(&manifest, &masks).replace(
            &format!("opsmith-plugin-sdk = \"{version}\""),
            "opsmith-plugin-sdk = \"[SDK VERSION]\""
        )
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
    insta::assert_snapshot!("scaffold_inspected", self::inspected(&inspected, &wasm));
    std::fs::copy(&wasm, copy.site().join("demo.wasm")).expect("copy");
    let catalog = copy.read("catalog.yaml");
    copy.write(
        "catalog.yaml",
        &format!("{catalog}    - name: demo\n      plugin: {{ path: demo.wasm, sha256: {} }}\n      config: {{ namespace: tools }}\n", sha256_hex(&wasm)),
    );
    let rendered = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
    // The demo's objects; the rest of the stream is the golden tree.
    let stream = stdout(&rendered);
    let demo: Vec<&str> = stream
        .split("---\n")
        .filter(|doc| doc.starts_with("# Source: infra/demo/"))
        .collect();
    insta::assert_snapshot!("scaffold_rendered", demo.concat());
}
