//! The nested cargo build of the built-in plugins for wasm32-wasip2.
//!
//! The plugins build in a small workspace of their own that this assembles
//! from build/plugin-workspace/: a link to each plugin crate's manifest
//! (named `manifest.toml`, because cargo leaves any folder holding a
//! `Cargo.toml` out of a package) and sources, the SDK and the WIT contract
//! it builds from, and the workspace's `Cargo.lock`. Packaging follows the
//! links, so the package `cargo install opsmith` unpacks carries the same
//! files, and its build takes the same path as one in the repository: the
//! same sources, lock file and profile, under the same remapped root, give
//! the same plugin bytes.
//!
//! In the repository, the assembled workspace and the nested build's target
//! folder sit in the target folder, at fixed paths, so that the nested build
//! is incremental across debug, release and clippy builds; in a package,
//! they are in OUT_DIR.

use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{PLUGINS, TARGET};

/// Where the plugins' workspace is laid out in the repository and the package.
const BUNDLE: &str = "build/plugin-workspace";
/// A crate's manifest in the bundle; `Cargo.toml` in the assembled workspace.
const MANIFEST: &str = "manifest.toml";

pub fn build(root: &Path) -> PathBuf {
    ensure_target();
    // Only a packaged crate has the manifest as its author wrote it beside the normalised one.
    let packaged = root.join("Cargo.toml.orig").is_file();
    let base = if packaged {
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
    } else {
        env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"))
    };
    let workspace = base.join("plugin-workspace");
    let target_dir = base.join("plugins");
    assemble(root, packaged, &workspace);
    if !packaged {
        check_lock(root, &workspace, &base.join("plugin-workspace-lock"));
    }

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let home = env::var("CARGO_HOME")
        .ok()
        .or_else(|| env::var("HOME").ok().map(|h| format!("{h}/.cargo")));
    let mut flags = vec![format!(
        "--remap-path-prefix={}=/opsmith",
        workspace.display()
    )];
    if let Some(home) = home {
        flags.push(format!("--remap-path-prefix={home}=/cargo"));
    }
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
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
        panic!(
            "building the built-in plugins for {TARGET} in {} failed (see the cargo output above)",
            workspace.display()
        );
    }
    target_dir.join(TARGET).join("plugin")
}

/// Lays out the plugins' workspace in `workspace`: the bundle's files (links
/// followed, manifests renamed) and a root manifest made of this crate's
/// `[workspace.package]`, `[workspace.lints.*]` and `[profile.plugin]`. Files that are unchanged
/// are left alone, so the nested build stays incremental; files no longer
/// in the bundle are removed.
fn assemble(root: &Path, packaged: bool, workspace: &Path) {
    let bundle = root.join(BUNDLE);
    println!("cargo:rerun-if-changed={}", bundle.display());
    // opsmith's YAML reader, which builtin:templates reads its output with,
    // sits beside plugins/ as in the repository.
    let mut members = vec!["\"yaml\"".to_owned()];
    for name in std::iter::once("sdk").chain(PLUGINS.iter().copied()) {
        let folder = bundle.join("plugins").join(name);
        if !folder.join(MANIFEST).is_file() || !folder.join("src").is_dir() {
            let links = format!("{BUNDLE}/plugins/{name}");
            panic!(
                "{} lacks the links to the plugin crate `{name}` (see plugins/README.md); in the repository, make them with\n    \
                 mkdir -p {links} && ln -s ../../../../plugins/{name}/Cargo.toml {links}/{MANIFEST} && ln -s ../../../../plugins/{name}/src {links}/src",
                folder.display()
            );
        }
        members.push(format!("\"plugins/{name}\""));
    }

    let mut written = BTreeSet::new();
    copy_tree(&bundle, &bundle, workspace, &mut written);

    // cargo package writes the manifest as the author wrote it to Cargo.toml.orig.
    let manifest_path = root.join(if packaged {
        "Cargo.toml.orig"
    } else {
        "Cargo.toml"
    });
    let manifest = fs::read_to_string(&manifest_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest_path.display()));
    let mut text = format!(
        "# Assembled by opsmith's build/plugins.rs from {BUNDLE}/ and opsmith's Cargo.toml.\n\
         [workspace]\nmembers = [{}]\nresolver = \"3\"\n",
        members.join(", ")
    );
    for header in [
        "[workspace.package]",
        "[workspace.lints.clippy]",
        "[workspace.lints.rust]",
        "[profile.plugin]",
    ] {
        let body = section(&manifest, header).unwrap_or_else(|| {
            panic!(
                "{} has no {header} section, which the built-in plugins build with",
                manifest_path.display()
            )
        });
        text.push_str(&format!("\n{header}\n{body}"));
    }
    write_if_changed(&workspace.join("Cargo.toml"), text.as_bytes());
    written.insert(workspace.join("Cargo.toml"));
    prune(workspace, &written);
}

/// The lines of a TOML table, without comments and blank lines, up to the next header.
fn section(manifest: &str, header: &str) -> Option<String> {
    let mut lines = manifest.lines().skip_while(|l| l.trim() != header);
    lines.next()?;
    let body = lines
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    Some(body)
}

/// Copies `dir` (under `bundle`) to the same place under `workspace`, following links.
fn copy_tree(bundle: &Path, dir: &Path, workspace: &Path, written: &mut BTreeSet<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .path();
        let relative = path.strip_prefix(bundle).expect("under the bundle");
        if path.is_dir() {
            // A link: cargo does not look into links when it decides whether to rerun.
            if let Ok(real) = path.canonicalize() {
                println!("cargo:rerun-if-changed={}", real.display());
            }
            copy_tree(bundle, &path, workspace, written);
            continue;
        }
        let dest = if path.file_name().is_some_and(|n| n == MANIFEST) {
            workspace.join(relative).with_file_name("Cargo.toml")
        } else if relative == Path::new("README.md") {
            continue;
        } else {
            workspace.join(relative)
        };
        if let Ok(real) = path.canonicalize() {
            println!("cargo:rerun-if-changed={}", real.display());
        }
        let mut bytes =
            fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if path.file_name().is_some_and(|n| n == MANIFEST) {
            bytes = without_dev_dependencies(&bytes);
        }
        write_if_changed(&dest, &bytes);
        written.insert(dest);
    }
}

/// A manifest without its `[dev-dependencies]` table: this workspace only
/// builds, and a test-only crate (opsmith-yaml's generated documents) is not
/// in it.
fn without_dev_dependencies(manifest: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(manifest);
    let mut kept = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        let header = line.trim();
        if header.starts_with('[') {
            skipping = header == "[dev-dependencies]";
        }
        if !skipping {
            kept.push_str(line);
        }
    }
    kept.into_bytes()
}

fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Removes the files under `dir` that are not in `keep`.
fn prune(dir: &Path, keep: &BTreeSet<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            prune(&path, keep);
        } else if !keep.contains(&path) {
            fs::remove_file(&path)
                .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
        }
    }
}

/// In the repository: the plugins' lock file must be what cargo makes of the
/// workspace's Cargo.lock for the plugins alone (the same versions, the rest
/// pruned), so that the package builds the plugins from what the repository
/// tests.
fn check_lock(root: &Path, workspace: &Path, scratch: &Path) {
    let _ = fs::remove_dir_all(scratch);
    copy_dir(workspace, scratch);
    let root_lock = root.join("Cargo.lock");
    fs::copy(&root_lock, scratch.join("Cargo.lock"))
        .unwrap_or_else(|e| panic!("cannot copy {}: {e}", root_lock.display()));
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // Resolving writes the pruned lock file; offline first, since every version is locked.
    let resolves = |offline: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(scratch)
            .args(["metadata", "--format-version", "1"])
            .stdout(std::process::Stdio::null());
        if offline {
            cmd.arg("--offline");
        }
        cmd.status().is_ok_and(|s| s.success())
    };
    if !resolves(true) && !resolves(false) {
        panic!(
            "cannot resolve the built-in plugins' workspace ({}) with {}",
            scratch.display(),
            root_lock.display()
        );
    }
    let derived = scratch.join("Cargo.lock");
    let committed = root.join(BUNDLE).join("Cargo.lock");
    if fs::read(&derived).ok() != fs::read(&committed).ok() {
        panic!(
            "{committed} is not the built-in plugins' part of {root_lock}: the package \
             `cargo install` builds would build them with other dependencies. Update it:\n    cp {derived} {committed}",
            committed = committed.display(),
            root_lock = root_lock.display(),
            derived = derived.display(),
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
    let entries =
        fs::read_dir(from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            fs::copy(&path, &dest)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", path.display()));
        }
    }
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
