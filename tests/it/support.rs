//! What the tests share: running the binary on a copy of the reference site.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command running the opsmith binary, with a cache shared by the tests
/// (so plugins compile once per test run) and no CI environment.
pub fn opsmith() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsmith"));
    cmd.env("OPSMITH_CACHE_DIR", shared_cache())
        .env_remove("GITHUB_ACTIONS");
    cmd
}

fn shared_cache() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = root().join("target").join("test-cache");
        // Private, as opsmith requires of a cache it uses (under umask 002
        // a plain create_dir_all would make it group-writable).
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .expect("create the test cache");
        dir
    })
}

/// A copy of the reference site in a temporary folder.
pub struct SiteCopy {
    pub dir: tempfile::TempDir,
}

impl SiteCopy {
    pub fn new() -> SiteCopy {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_site(&dir.path().join("site"));
        SiteCopy { dir }
    }

    pub fn site(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.site().join(file)).expect("read site file")
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.site().join(file), text).expect("write site file");
    }

    /// Replaces the first `from` with `to` in a site file; panics when `from` is absent.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let text = self.read(file);
        assert!(text.contains(from), "{file} has no `{from}`");
        self.write(file, &text.replacen(from, to, 1));
    }

    /// `run`'s transcript ([`transcript`]), with the copy's folder shown
    /// as `[TMP]`.
    pub fn transcript(&self, out: &Output) -> String {
        mask(&transcript(out), &[(self.dir.path(), "TMP")])
    }

    /// Runs opsmith in the copy's folder (so paths in messages read `site/...`).
    pub fn run(&self, args: &[&str]) -> Output {
        opsmith()
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .expect("run opsmith")
    }
}

/// Copies the reference site (its two documents and its templates) to `to`.
pub fn copy_site(to: &Path) {
    let from = root().join("site");
    for entry in walkdir::WalkDir::new(&from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let relative = entry.path().strip_prefix(&from).expect("below the site");
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy site");
        }
    }
}

/// A run as one text for a snapshot: its exit status, stdout and stderr.
pub fn transcript(out: &Output) -> String {
    format!(
        "exit status: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

/// `text` with what differs between runs and machines replaced by a
/// placeholder, so that a snapshot of it is stable: each `(path, name)`'s
/// path (also as the OS resolves it, e.g. macOS's /private/var) by `[name]`,
/// each duration (`12 ms`, `0.4 ms`) by `[N] ms`, and each hash by `[HASH]`.
pub fn mask(text: &str, paths: &[(&Path, &str)]) -> String {
    let mut text = text.to_owned();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (path, name) in paths {
        let placeholder = format!("[{name}]");
        // Not when it resolves to `/`, which every path holds.
        if let Ok(real) = path.canonicalize()
            && real.parent().is_some()
        {
            pairs.push((real.display().to_string(), placeholder.clone()));
        }
        pairs.push((path.display().to_string(), placeholder));
    }
    // Longest first, so a folder inside another is replaced by its own name.
    pairs.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    for (path, placeholder) in pairs {
        text = text.replace(&path, &placeholder);
    }
    mask_hashes(&mask_durations(&text))
}

/// Each run of 40 or more hex digits (a git commit id, a sha256) replaced by
/// `[HASH]`: they change with the plugins' builds and the commits' times.
fn mask_hashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_digit() || ('a'..='f').contains(&c) {
            run.push(c);
            continue;
        }
        if run.len() >= 40 {
            out.push_str("[HASH]");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

fn mask_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" ms") {
        let (before, after) = rest.split_at(at);
        let number = before
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
            .len();
        let boundary = after[3..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if number < before.len() && boundary {
            out.push_str(&before[..number]);
            out.push_str("[N]");
        } else {
            out.push_str(before);
        }
        out.push_str(" ms");
        rest = &after[3..];
    }
    out.push_str(rest);
    out
}

/// What a `--verbose` log says about the plugin cache and how each plugin
/// was loaded, to snapshot: the stage timings are left out (they run beside
/// each other and come in varying order), the lines sorted (plugins load in
/// parallel), and besides [`mask`] the engine digest that ends a cache
/// entry's name (it changes with wasmtime) is masked.
pub fn load_log(log: &str, paths: &[(&Path, &str)]) -> String {
    let mut lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("plugin ") || l.starts_with("warning: "))
        .collect();
    lines.sort_unstable();
    let masked = mask(&lines.join("\n"), paths);
    let mut parts = masked.split("[HASH]-");
    let mut out = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        out.push_str("[HASH]-[ENGINE]");
        out.push_str(part.trim_start_matches(|c: char| c.is_ascii_hexdigit()));
    }
    out
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dir`, relative, with its bytes.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect();
    files.sort();
    files
}

/// Builds a test plugin crate from tests/test-plugins for wasm32-wasip2
/// (once per test run) and returns its component.
pub fn test_plugin(package: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _guard = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let target_dir = root().join("target").join("plugins");
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "build",
            "--quiet",
            "--profile",
            "plugin",
            "--target",
            "wasm32-wasip2",
            "-p",
            package,
            "--target-dir",
        ])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        // The same flags build.rs uses, so shared dependencies build once.
        .env("CARGO_ENCODED_RUSTFLAGS", remap_flags())
        .status()
        .expect("run cargo");
    assert!(status.success(), "building test plugin {package} failed");
    target_dir
        .join("wasm32-wasip2/plugin")
        .join(format!("{}.wasm", package.replace('-', "_")))
}

pub fn sha256_hex(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(
        std::fs::read(path).expect("read wasm"),
    ))
}

fn remap_flags() -> String {
    // As build/plugins.rs remaps the built-in plugins' workspace, so that
    // the two builds share the dependencies' artifacts in target/plugins.
    let mut flags = vec![format!(
        "--remap-path-prefix={}=/opsmith",
        root().join("target/plugin-workspace").display()
    )];
    let home = std::env::var("CARGO_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")));
    if let Some(home) = home {
        flags.push(format!("--remap-path-prefix={home}=/cargo"));
    }
    flags.join("\u{1f}")
}

/// Whether the Python and JavaScript plugin tests run: with
/// `OPSMITH_TEST_POLYGLOT=1` (which .ci/run sets) they install the pinned
/// tool chains from PyPI and npm when missing, and must pass; without it
/// they run only if both are installed already, so that `cargo test` passes
/// with the network off. A test that does not run says so on stderr.
#[expect(clippy::print_stderr, reason = "the test harness has no skip status")]
pub fn polyglot(test: &str) -> bool {
    let asked = std::env::var("OPSMITH_TEST_POLYGLOT").is_ok_and(|v| v != "0");
    let installed = root()
        .join("target/polyglot/venv/bin/componentize-py")
        .is_file()
        && root()
            .join("target/polyglot/js/node_modules/@bytecodealliance/componentize-js")
            .is_dir();
    if !asked && !installed {
        eprintln!(
            "{test}: not run: the Python and JavaScript tool chains are not installed; \
             OPSMITH_TEST_POLYGLOT=1 installs them (PyPI, npm) and runs it"
        );
    }
    asked || installed
}

/// A Python virtual environment with the pinned componentize-py, made once
/// under target/polyglot (pip reaches PyPI).
pub fn python_tools() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = root().join("target/polyglot/venv");
        if !venv.join("bin/componentize-py").is_file() {
            let ok = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success())
                && Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "componentize-py==0.25.1"])
                    .status()
                    .is_ok_and(|s| s.success());
            assert!(
                ok,
                "installing componentize-py into {} failed",
                venv.display()
            );
        }
        venv
    })
    .clone()
}

/// node_modules with the pinned componentize-js, made once under
/// target/polyglot (npm reaches its registry).
pub fn javascript_tools() -> PathBuf {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    MODULES
        .get_or_init(|| {
            let dir = root().join("target/polyglot/js");
            let modules = dir.join("node_modules");
            if !modules.join("@bytecodealliance/componentize-js").is_dir() {
                std::fs::create_dir_all(&dir).expect("mkdir");
                std::fs::write(
                    dir.join("package.json"),
                    r#"{"private":true,"devDependencies":{"@bytecodealliance/componentize-js":"0.23.0","@bytecodealliance/preview2-shim":"0.25.0"}}"#,
                )
                .expect("package.json");
                let ok = Command::new("npm")
                    .current_dir(&dir)
                    .args(["install", "--silent", "--no-audit", "--no-fund"])
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "npm install of componentize-js failed in {}", dir.display());
            }
            modules
        })
        .clone()
}

/// Links the shared tool chain into a Python or JavaScript plugin project.
pub fn link_tools(project: &Path) {
    if project.join("package.json").is_file() {
        std::os::unix::fs::symlink(javascript_tools(), project.join("node_modules"))
            .expect("link node_modules");
    } else {
        std::os::unix::fs::symlink(python_tools(), project.join(".venv")).expect("link .venv");
    }
}

/// The files the site renders, as a commit to `clusters/infra` puts them.
pub fn rendered_files(copy: &SiteCopy) -> Vec<String> {
    let out = copy.run(&["render", "--site", "site", "--out", "rendered"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    snapshot(&copy.path("rendered/infra"))
        .into_iter()
        .map(|(p, _)| format!("clusters/infra/{p}"))
        .collect()
}
