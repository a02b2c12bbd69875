//! Builds the built-in plugins (plugins/<name>/) for wasm32-wasip2 and
//! embeds them, so `cargo build` gives one self-contained binary; and
//! converts the upstream schemas (schemas/upstream/) into one small JSON
//! Schema per kind, so a run does not parse megabytes of them.
//!
//! The plugins are built by a nested cargo with its own target folder
//! (target/plugins), paths remapped so that their bytes, and so their
//! sha256, do not depend on where the checkout or cargo's home is.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

// The conversion the runtime used to do on every run (see src/collect/upstream.rs).
#[path = "src/collect/upstream_convert.rs"]
mod upstream_convert;

/// Built-in plugin name and its crate folder under plugins/.
const PLUGINS: &[&str] = &[
    "namespaces",
    "metal3",
    "install-config",
    "argocd",
    "github-app",
    "tekton",
    "prow",
];
const TARGET: &str = "wasm32-wasip2";

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    upstream_schemas(&root, &out);
    for path in ["plugins", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=OPSMITH_PLUGIN_DIR");

    // A folder of prebuilt plugins (e.g. from an earlier build step) skips the nested build.
    let built = match env::var_os("OPSMITH_PLUGIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => build_plugins(&root),
    };

    // The digests are computed here so that a run does not hash megabytes of embedded wasm.
    let mut table = String::from(
        "/// Built-in plugins: name, component bytes and their sha256 (lowercase hex).\n\
         pub static BUILTINS: &[(&str, &[u8], &str)] = &[\n",
    );
    for name in PLUGINS {
        let file = format!("opsmith_plugin_{}.wasm", name.replace('-', "_"));
        let source = built.join(&file);
        let dest = out.join(&file);
        let wasm = std::fs::read(&source)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
        std::fs::write(&dest, &wasm)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
        writeln!(
            table,
            "    ({name:?}, include_bytes!({:?}), {:?}),",
            dest.display().to_string(),
            hex(&Sha256::digest(&wasm)),
        )
        .expect("write to string");
    }
    table.push_str("];\n");
    std::fs::write(out.join("builtin_plugins.rs"), table).expect("write builtin_plugins.rs");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        write!(text, "{byte:02x}").expect("write to string");
        text
    })
}

fn build_plugins(root: &Path) -> PathBuf {
    ensure_target();
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("plugins");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let home = env::var("CARGO_HOME")
        .ok()
        .or_else(|| env::var("HOME").ok().map(|h| format!("{h}/.cargo")));
    let mut flags = vec![format!("--remap-path-prefix={}=/opsmith", root.display())];
    if let Some(home) = home {
        flags.push(format!("--remap-path-prefix={home}=/cargo"));
    }
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "--locked",
            "--profile",
            "plugin",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(&target_dir);
    for name in PLUGINS {
        cmd.args(["-p", &format!("opsmith-plugin-{name}")]);
    }
    // The outer build's compiler wrapper (clippy) and flags are for the host, not the plugins.
    for var in [
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));
    let status = cmd.status().expect("run cargo to build the plugins");
    if !status.success() {
        panic!("building the built-in plugins for {TARGET} failed (see the cargo output above)");
    }
    target_dir.join(TARGET).join("plugin")
}

/// rustup does not install the targets rust-toolchain.toml lists when the
/// toolchain is already present; do it here so a plain `cargo build` works.
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let installed =
        sysroot.is_some_and(|s| Path::new(&s).join("lib/rustlib").join(TARGET).exists());
    if installed {
        return;
    }
    println!(
        "cargo:warning=installing the {TARGET} target with rustup (needed to build the built-in plugins)"
    );
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed: install it and build again"
        );
    }
}

/// Per kind in `upstream_convert::KINDS`, its converted schema as compact JSON in
/// OUT_DIR/upstream/kinds/, and `upstream_kinds.rs`, the table src/collect/upstream.rs
/// embeds them with. The sources themselves also go to OUT_DIR/upstream/ as JSON, listed in
/// `upstream_sources.rs`, for the tests that check the conversion against them; the binary
/// does not embed them.
fn upstream_schemas(root: &Path, out: &Path) {
    let source_dir = root.join("schemas/upstream");
    // A directory is scanned recursively. The conversion code is compiled into this script,
    // so a change to it reruns the script anyway; listing it says so.
    for path in ["schemas/upstream", "src/collect/upstream_convert.rs"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    let upstream = out.join("upstream");
    let documents: Vec<serde_json::Value> = upstream_convert::SOURCES
        .iter()
        .map(|source| {
            let path = source_dir.join(source.path);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let (document, json) = match source.format {
                upstream_convert::Format::OpenApi => {
                    let document: serde_json::Value = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
                    (document, text)
                }
                upstream_convert::Format::Crd => {
                    let document: serde_json::Value = serde_saphyr::from_str(&text)
                        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
                    let json = document.to_string();
                    (document, json)
                }
            };
            write(&upstream.join(format!("{}.json", source.path)), &json);
            document
        })
        .collect();
    let mut texts = String::from("[\n");
    for source in &upstream_convert::SOURCES {
        let path = upstream.join(format!("{}.json", source.path));
        writeln!(texts, "    include_str!({:?}),", path.display().to_string())
            .expect("write to string");
    }
    texts.push_str("]\n");
    write(&out.join("upstream_sources.rs"), &texts);

    let mut table = String::from(
        "// Generated by build.rs from src/collect/upstream_convert.rs.\n\
         static KINDS: [Kind; ",
    );
    writeln!(table, "{}] = [", upstream_convert::KINDS.len()).expect("write to string");
    for entry in &upstream_convert::KINDS {
        let schema = upstream_convert::convert_kind(entry, &documents).unwrap_or_else(|e| {
            panic!(
                "cannot convert the upstream schema of {} {}: {e}",
                entry.api_version, entry.kind
            )
        });
        let dest = upstream.join("kinds").join(format!(
            "{}.{}.json",
            entry.api_version.replace('/', "_"),
            entry.kind
        ));
        write(&dest, &schema.to_string());
        writeln!(
            table,
            "    Kind {{ api_version: {:?}, kind: {:?}, source: {:?}, defaults: {}, schema: include_str!({:?}) }},",
            entry.api_version,
            entry.kind,
            upstream_convert::SOURCES[entry.source].path,
            upstream_convert::declares_defaults(&schema),
            dest.display().to_string(),
        )
        .expect("write to string");
    }
    table.push_str("];\n");
    write(&out.join("upstream_kinds.rs"), &table);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a file in OUT_DIR has a parent"))
        .unwrap_or_else(|e| panic!("create the folder of {}: {e}", path.display()));
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
