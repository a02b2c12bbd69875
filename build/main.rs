//! Builds the built-in plugins (plugins/<name>/) for wasm32-wasip2 and
//! embeds them, so `cargo build` gives one self-contained binary. (The
//! schemas are compiled by the opsmith-schemas crate, in schemas/.)
//!
//! The plugins are built by a nested cargo with its own target folder
//! (target/plugins), paths remapped so that their bytes, and so their
//! sha256, do not depend on where the checkout or cargo's home is.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a build script talks to cargo on stdout and to the user on stderr"
)]

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

mod plugins;
mod precompile;

/// Built-in plugin name and its crate folder under plugins/.
pub const PLUGINS: &[&str] = &[
    "namespaces",
    "metal3",
    "install-config",
    "argocd",
    "github-app",
    "tekton",
    "prow",
    "templates",
    "backstage",
    "slo",
    "clusterinstance",
];
pub const TARGET: &str = "wasm32-wasip2";

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
        None => plugins::build(&root),
    };

    // Precompiled for the target unless told not to, or the target is one
    // Cranelift cannot compile for: then the plugins compile at first use.
    println!("cargo:rerun-if-env-changed=OPSMITH_NO_PRECOMPILE");
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let precompiler = if env::var_os("OPSMITH_NO_PRECOMPILE").is_some() {
        None
    } else {
        precompile::engine(&target)
            .map_err(|why| {
                println!(
                    "cargo:warning=the built-in plugins are not precompiled for {target} ({why}); they will be compiled at first use"
                )
            })
            .ok()
    };

    // The digests are computed here so that a run does not hash megabytes of embedded wasm.
    let mut table = String::from("pub static BUILTINS: &[Builtin] = &[\n");
    for name in PLUGINS {
        let file = format!("opsmith_plugin_{}.wasm", name.replace('-', "_"));
        let source = built.join(&file);
        let wasm = std::fs::read(&source)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
        let dest = out.join(format!("{file}.zst"));
        let wasm_zstd = precompile::compress(&wasm)
            .unwrap_or_else(|e| panic!("cannot compress {}: {e}", source.display()));
        std::fs::write(&dest, wasm_zstd)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
        let native = out.join(format!("{file}.{target}.cwasm.zst"));
        let compiled = precompiler.as_ref().map(|engine| {
            precompile::component(engine, &wasm)
                .unwrap_or_else(|why| panic!("cannot precompile the built-in plugin {name}: {why}"))
        });
        let native_len = compiled.as_ref().map_or(0, Vec::len);
        let compressed = match &compiled {
            Some(code) => precompile::compress(code)
                .unwrap_or_else(|e| panic!("cannot compress the native code of {name}: {e}")),
            None => Vec::new(),
        };
        std::fs::write(&native, compressed)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", native.display()));
        writeln!(
            table,
            "    Builtin {{ name: {name:?}, wasm_zstd: include_bytes!({:?}), wasm_len: {}, sha256: {:?}, native_zstd: include_bytes!({:?}), native_len: {native_len}, source_sha256: {:?} }},",
            dest.display().to_string(),
            wasm.len(),
            hex(&Sha256::digest(&wasm)),
            native.display().to_string(),
            source_digest(&root, name),
        )
        .expect("write to string");
    }
    table.push_str("];\n");
    std::fs::write(out.join("builtin_plugins.rs"), table).expect("write builtin_plugins.rs");
}

/// The digest of what built-in plugin `name` is built from: its crate's
/// sources, the SDK's and the WIT interface, each file by its path under
/// plugins/. Unlike the component's sha256 it does not depend on the compiler,
/// so every build of one tree records the same provenance. (The manifests are
/// left out: `cargo package` rewrites them; the dependencies' versions are
/// opsmith's Cargo.lock, which opsmith's version pins.)
fn source_digest(root: &Path, name: &str) -> String {
    // Links to plugins/, which the packaged crate carries as files.
    let plugins = root.join("build/plugin-workspace/plugins");
    let mut files = Vec::new();
    let mut dirs = vec![
        format!("{name}/src"),
        "sdk/src".to_owned(),
        "wit".to_owned(),
    ];
    // A crate of opsmith's own beside plugins/ that the plugin depends on.
    let manifest = std::fs::read_to_string(plugins.join(name).join("manifest.toml"))
        .unwrap_or_else(|e| panic!("cannot read {name}'s manifest: {e}"));
    if manifest.contains("path = \"../../yaml\"") {
        dirs.push("../yaml/src".to_owned());
    }
    for dir in dirs {
        collect_files(&plugins.join(dir), &mut files);
    }
    let mut named: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&plugins).expect("under plugins/");
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            (name, path)
        })
        .collect();
    named.sort();
    let mut hasher = Sha256::new();
    for (name, path) in named {
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hex(&hasher.finalize())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("read a folder entry").path();
        if path.is_dir() {
            collect_files(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        write!(text, "{byte:02x}").expect("write to string");
        text
    })
}
