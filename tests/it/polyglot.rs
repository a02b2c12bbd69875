//! Plugins in Python (componentize-py) and JavaScript (componentize-js):
//! scaffold, build, inspect and render from an empty folder; the examples
//! through a catalog; hostile plugins and determinism. The pinned tool
//! chains are installed once under target/polyglot, when
//! `OPSMITH_TEST_POLYGLOT=1` asks for it (see `support::polyglot`).

use std::path::{Path, PathBuf};

use crate::support::{SiteCopy, link_tools, opsmith, polyglot, root, sha256_hex, stderr, stdout};

/// `plugin new NAME --lang LANG` then `plugin build`, in `copy`'s folder.
fn scaffold_and_build(copy: &SiteCopy, name: &str, lang: &str) -> PathBuf {
    let new = copy.run(&["plugin", "new", name, "--lang", lang]);
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    link_tools(&copy.path(name));
    let built = copy.run(&["plugin", "build", name]);
    assert_eq!(built.status.code(), Some(0), "{}", stderr(&built));
    let wasm = copy.path(&format!("{name}/{name}.wasm"));
    assert!(
        stdout(&built).contains(&format!("sha256: {}", sha256_hex(&wasm))),
        "{}",
        stdout(&built)
    );
    wasm
}

/// Adds a component using `wasm` (copied into the site) to the catalog.
fn add_component(copy: &SiteCopy, name: &str, wasm: &Path, config: &str) {
    let file = format!("{name}.wasm");
    std::fs::copy(wasm, copy.site().join(&file)).expect("copy plugin");
    let catalog = copy.read("catalog.yaml");
    copy.write(
        "catalog.yaml",
        &format!("{catalog}    - name: {name}\n      plugin: {{ path: {file}, sha256: {} }}\n      config: {config}\n", sha256_hex(wasm)),
    );
}

fn render_stream(copy: &SiteCopy) -> String {
    let out = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

fn new_build_inspect_render(lang: &str) {
    let copy = SiteCopy::new();
    let wasm = scaffold_and_build(&copy, "p", lang);
    let inspected = copy.run(&["plugin", "inspect", "p/p.wasm"]);
    assert_eq!(inspected.status.code(), Some(0), "{}", stderr(&inspected));
    assert!(
        stdout(&inspected).contains("plugin:      p 0.1.0"),
        "{}",
        stdout(&inspected)
    );
    add_component(&copy, "p", &wasm, "{}");
    let stream = render_stream(&copy);
    assert!(
        stream.contains("kind: ConfigMap") && stream.contains("infra/p/"),
        "{stream}"
    );
}

#[test]
fn python_plugin_from_an_empty_folder() {
    if !polyglot("python_plugin_from_an_empty_folder") {
        return;
    }
    new_build_inspect_render("python");
}

#[test]
fn javascript_plugin_from_an_empty_folder() {
    if !polyglot("javascript_plugin_from_an_empty_folder") {
        return;
    }
    new_build_inspect_render("javascript");
}

#[test]
fn rust_plugin_through_plugin_build() {
    let copy = SiteCopy::new();
    let new = opsmith()
        .current_dir(copy.dir.path())
        .env("OPSMITH_PLUGIN_SDK_PATH", crate::plugin_cmd::packaged_sdk())
        .args(["plugin", "new", "r"])
        .output()
        .expect("run");
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    let built = opsmith()
        .current_dir(copy.dir.path())
        .env("CARGO_TARGET_DIR", root().join("target/scaffold"))
        .args(["plugin", "build", "r"])
        .output()
        .expect("run");
    assert_eq!(built.status.code(), Some(0), "{}", stderr(&built));
    add_component(&copy, "r", &copy.path("r/r.wasm"), "{}");
    assert!(render_stream(&copy).contains("name: r-summary"));
}

/// Builds an example project (copied out of the repository, tools linked).
fn build_example(relative: &str) -> PathBuf {
    let copy = tempfile::tempdir().expect("tempdir").keep();
    let source = root().join(relative);
    let project = copy.join(source.file_name().expect("name"));
    std::fs::create_dir_all(&project).expect("mkdir");
    for entry in std::fs::read_dir(&source).expect("example folder") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, project.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    // The examples name the repository's WIT folder; give the copy its own.
    std::fs::create_dir_all(project.join("wit")).expect("mkdir wit");
    std::fs::copy(
        root().join("plugins/wit/plugin.wit"),
        project.join("wit/plugin.wit"),
    )
    .expect("copy wit");
    if project.join("package.json").is_file() {
        let manifest = std::fs::read_to_string(project.join("package.json")).expect("package.json");
        let local = manifest
            .replace("\"wit\": \"../../../wit\"", "\"wit\": \"wit\"")
            .replace("\"wit\": \"../../wit\"", "\"wit\": \"wit\"");
        std::fs::write(project.join("package.json"), local).expect("package.json");
    }
    link_tools(&project);
    let out = opsmith()
        .arg("plugin")
        .arg("build")
        .arg(&project)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "building {relative}: {}",
        stderr(&out)
    );
    std::fs::read_dir(&project)
        .expect("project")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .expect("a component")
}

#[test]
fn python_example_renders_chrony_machine_configs() {
    if !polyglot("python_example_renders_chrony_machine_configs") {
        return;
    }
    let wasm = build_example("plugins/examples/python");
    let copy = SiteCopy::new();
    add_component(&copy, "chrony", &wasm, "{}");
    let stream = render_stream(&copy);
    assert!(
        stream.contains("kind: MachineConfig") && stream.contains("name: 99-worker-chrony"),
        "{stream}"
    );
}

#[test]
fn javascript_example_renders_prometheus_rules() {
    if !polyglot("javascript_example_renders_prometheus_rules") {
        return;
    }
    let wasm = build_example("plugins/examples/javascript");
    let copy = SiteCopy::new();
    let readme = std::fs::read_to_string(root().join("plugins/examples/javascript/README.md"))
        .expect("README");
    // The example's README shows a config; the plugin's defaults must render too.
    assert!(readme.contains("PrometheusRule"));
    add_component(&copy, "slo", &wasm, "{}");
    let out = copy.run(&["render", "--site", "site", "--out", "-"]);
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// Renders the hostile component with `attack` and returns the output.
fn attack(wasm: &Path, attack: &str, extra: &[&str]) -> std::process::Output {
    let copy = SiteCopy::new();
    add_component(&copy, "hostile", wasm, &format!("{{ attack: {attack} }}"));
    let mut args = vec!["render", "--site", "site"];
    if !extra.contains(&"--out") {
        args.extend(["--out", "out"]);
    }
    args.extend_from_slice(extra);
    let out = copy.run(&args);
    if out.status.code() == Some(2) {
        assert!(
            !copy.path("out").exists(),
            "a failed render must write nothing"
        );
    }
    out
}

fn assert_fails(out: &std::process::Output, words: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("component `hostile`"), "{err}");
    for w in words {
        assert!(err.contains(w), "expected `{w}` in: {err}");
    }
}

fn hostile_python() -> PathBuf {
    static WASM: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WASM.get_or_init(|| build_example("plugins/examples/hostile/python"))
        .clone()
}

fn hostile_javascript() -> PathBuf {
    static WASM: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WASM.get_or_init(|| build_example("plugins/examples/hostile/javascript"))
        .clone()
}

#[test]
fn hostile_python_is_contained() {
    if !polyglot("hostile_python_is_contained") {
        return;
    }
    let wasm = hostile_python();
    assert_fails(&attack(&wasm, "passwd", &[]), &["/etc/passwd", "refused"]);
    assert_fails(&attack(&wasm, "socket", &[]), &["socket"]);
    assert_fails(
        &attack(&wasm, "loop", &["--fuel", "3000000000"]),
        &["ran out of fuel"],
    );
    assert_fails(&attack(&wasm, "memory", &[]), &["more than 256 MiB"]);
    // An exception that is not the WIT error names itself.
    assert_fails(
        &attack(&wasm, "raise", &[]),
        &["panicked: Python ValueError: hostile plugin gave up on purpose"],
    );
    let env = attack(&wasm, "env", &["--out", "-"]);
    assert_eq!(env.status.code(), Some(0), "{}", stderr(&env));
    assert!(
        !stdout(&env).contains("/root") && !stdout(&env).contains("/home/"),
        "{}",
        stdout(&env)
    );
}

#[test]
fn hostile_javascript_is_contained() {
    if !polyglot("hostile_javascript_is_contained") {
        return;
    }
    let wasm = hostile_javascript();
    assert_fails(&attack(&wasm, "passwd", &[]), &["trapped"]);
    assert_fails(&attack(&wasm, "socket", &[]), &["trapped"]);
    assert_fails(
        &attack(&wasm, "loop", &["--fuel", "3000000000"]),
        &["ran out of fuel"],
    );
    assert_fails(&attack(&wasm, "memory", &[]), &["more than 256 MiB"]);
    let env = attack(&wasm, "env", &["--out", "-"]);
    assert_eq!(env.status.code(), Some(0), "{}", stderr(&env));
    assert!(
        !stdout(&env).contains("/root") && !stdout(&env).contains("/home/"),
        "{}",
        stdout(&env)
    );
}

#[test]
fn python_and_javascript_are_deterministic() {
    if !polyglot("python_and_javascript_are_deterministic") {
        return;
    }
    for wasm in [hostile_python(), hostile_javascript()] {
        let first = attack(&wasm, "determinism", &["--out", "-"]);
        let second = attack(&wasm, "determinism", &["--out", "-"]);
        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        assert_eq!(
            stdout(&first),
            stdout(&second),
            "two processes must render the same bytes"
        );
        assert!(
            stdout(&first).contains("kind: ConfigMap"),
            "{}",
            stdout(&first)
        );
    }
}
