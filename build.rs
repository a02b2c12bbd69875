//! Builds the built-in plugins (plugins/<name>/) for wasm32-wasip2 and
//! embeds them, so `cargo build` gives one self-contained binary. (The
//! schemas are compiled by the opsmith-schemas crate, in schemas/.)
//!
//! The plugins are built by a nested cargo with its own target folder
//! (target/plugins), paths remapped so that their bytes, and so their
//! sha256, do not depend on where the checkout or cargo's home is.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

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
    // Cargo.toml: the plugins' build profile.
    for path in ["plugins", "Cargo.lock", "Cargo.toml"] {
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
