//! Plugins in Python (componentize-py) and JavaScript (componentize-js):
//! scaffold, build, inspect and render from an empty folder; the examples
//! through a catalog; hostile plugins and determinism. The pinned tool
//! chains are installed once under target/polyglot, when
//! `OPSMITH_TEST_POLYGLOT=1` asks for it (see `support::polyglot`); the
//! tests of `plugin build`'s own set-up install them into each project.

use std::path::{Path, PathBuf};

use crate::support::{
    SiteCopy, link_tools, mask, opsmith, polyglot, root, sha256_hex, stderr, stdout,
};

/// `plugin new NAME --lang LANG` then `plugin build`, in `copy`'s folder.
fn scaffold_and_build(copy: &SiteCopy, name: &str, lang: &str) -> PathBuf {
    let new = copy.run(&["plugin", "new", name, "--lang", lang]);
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    link_tools(&copy.path(name));
    let built = copy.run(&["plugin", "build", name]);
    assert_eq!(built.status.code(), Some(0), "{}", stderr(&built));
    // A linked tool chain is a ready one: nothing is set up.
    assert!(
        !stderr(&built).contains("installing "),
        "{}",
        stderr(&built)
    );
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

/// `plugin build`'s stderr, stable: the component's size (which follows
/// the tool chain's version) and hashes masked.
fn build_log(out: &std::process::Output) -> String {
    let log = mask(&stderr(out), &[]);
    let mut masked = String::new();
    for line in log.lines() {
        match line
            .strip_suffix(" bytes)")
            .and_then(|l| l.rsplit_once(" ("))
        {
            Some((before, size)) if size.bytes().all(|b| b.is_ascii_digit()) => {
                masked.push_str(&format!("{before} ([N] bytes)\n"));
            }
            _ => masked.push_str(&format!("{line}\n")),
        }
    }
    masked
}

/// `plugin new p --lang LANG` and `plugin build p`, nothing else: the build
/// sets up the tool chain from PyPI or npm in the project. The plugin then
/// renders through the catalog, and a second build sets up nothing. Returns
/// the first and the second build's stderr.
fn in_two_commands(lang: &str, tools: &str) -> (String, String) {
    let copy = SiteCopy::new();
    let new = copy.run(&["plugin", "new", "p", "--lang", lang]);
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    let built = copy.run(&["plugin", "build", "p"]);
    assert_eq!(built.status.code(), Some(0), "{}", stderr(&built));
    assert!(copy.path("p").join(tools).is_dir(), "no {tools}");
    let wasm = copy.path("p/p.wasm");
    assert!(
        stdout(&built).starts_with(&format!(
            "built {} (",
            wasm.canonicalize().expect("p.wasm").display()
        )) && stdout(&built).contains(&format!("sha256: {}", sha256_hex(&wasm))),
        "{}",
        stdout(&built)
    );
    add_component(&copy, "p", &wasm, "{}");
    let stream = render_stream(&copy);
    assert!(stream.contains("name: p-summary"), "{stream}");
    let again = copy.run(&["plugin", "build", "p"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    (build_log(&built), build_log(&again))
}

#[test]
fn python_plugin_in_two_commands() {
    if !polyglot("python_plugin_in_two_commands") {
        return;
    }
    let (first, again) = in_two_commands("python", ".venv");
    insta::assert_snapshot!(first, @"
    creating p/.venv (python3 -m venv)
    installing componentize-py==0.25.1 into p/.venv (pip install -r requirements.txt)
    Component built successfully
    ");
    insta::assert_snapshot!(again, @"Component built successfully");
}

#[test]
fn javascript_plugin_in_two_commands() {
    if !polyglot("javascript_plugin_in_two_commands") {
        return;
    }
    let (first, again) = in_two_commands("javascript", "node_modules");
    insta::assert_snapshot!(first, @"
    installing @bytecodealliance/componentize-js@0.23.0 into p/node_modules (npm ci)
    wrote p.wasm ([N] bytes)
    sha256: [HASH]
    ");
    insta::assert_snapshot!(again, @"
    wrote p.wasm ([N] bytes)
    sha256: [HASH]
    ");
}

/// Where the failed tool's own output starts in `log`.
fn tool_output(log: &str) -> usize {
    log.find("its output:\n").expect("the tool's output") + "its output:".len()
}

/// A set-up that fails leaves nothing a next build could take for a ready
/// tool chain, and the next build tries again.
#[test]
fn a_failed_python_set_up_leaves_no_venv() {
    if !polyglot("a_failed_python_set_up_leaves_no_venv") {
        return;
    }
    let copy = SiteCopy::new();
    let new = copy.run(&["plugin", "new", "p", "--lang", "python"]);
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    std::fs::write(
        copy.path("p/requirements.txt"),
        "opsmith-no-such-package-xyz==1.0\n",
    )
    .expect("requirements.txt");
    for _ in 0..2 {
        let built = copy.run(&["plugin", "build", "p"]);
        assert_eq!(built.status.code(), Some(2), "{}", stderr(&built));
        let log = stderr(&built);
        // What follows is pip's own report.
        let (ours, pip) = log.split_at(tool_output(&log));
        // The same both times: the second run sets up afresh.
        insta::allow_duplicates! {
            insta::assert_snapshot!(ours, @"
            creating p/.venv (python3 -m venv)
            installing requirements.txt into p/.venv (pip install -r requirements.txt)
            error: `pip install -r requirements.txt` failed (exit status: 1); its output:
            ");
        }
        assert!(pip.contains("opsmith-no-such-package-xyz==1.0"), "{pip}");
        assert!(
            !copy.path("p/.venv").exists(),
            "a failed set-up left p/.venv"
        );
        assert!(!copy.path("p/p.wasm").exists());
    }
}

#[test]
fn a_failed_npm_install_leaves_no_node_modules() {
    if !polyglot("a_failed_npm_install_leaves_no_node_modules") {
        return;
    }
    let copy = SiteCopy::new();
    let new = copy.run(&["plugin", "new", "p", "--lang", "javascript"]);
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    // Without a lockfile `plugin build` runs `npm install`.
    std::fs::remove_file(copy.path("p/package-lock.json")).expect("package-lock.json");
    let manifest = std::fs::read_to_string(copy.path("p/package.json")).expect("package.json");
    std::fs::write(
        copy.path("p/package.json"),
        manifest.replace(
            "\"devDependencies\": {",
            "\"devDependencies\": {\n    \"opsmith-no-such-package-xyz\": \"1.0.0\",",
        ),
    )
    .expect("package.json");
    let built = copy.run(&["plugin", "build", "p"]);
    assert_eq!(built.status.code(), Some(2), "{}", stderr(&built));
    let log = stderr(&built);
    let (ours, npm) = log.split_at(tool_output(&log));
    insta::assert_snapshot!(ours, @"
    installing @bytecodealliance/componentize-js@0.23.0 into p/node_modules (npm install: no package-lock.json)
    error: `npm install` failed (exit status: 1); its output:
    ");
    assert!(npm.contains("opsmith-no-such-package-xyz"), "{npm}");
    assert!(
        !copy.path("p/node_modules").exists(),
        "a failed set-up left p/node_modules"
    );
}

/// `plugin build` of a new LANG scaffold with nothing on PATH: its stderr.
fn build_without_tools(lang: &str, tools: &str) -> String {
    let copy = SiteCopy::new();
    let new = copy.run(&["plugin", "new", "p", "--lang", lang]);
    assert_eq!(new.status.code(), Some(0), "{}", stderr(&new));
    let empty = copy.path("empty-path");
    std::fs::create_dir(&empty).expect("mkdir");
    let built = opsmith()
        .current_dir(copy.dir.path())
        .env("PATH", &empty)
        .args(["plugin", "build", "p"])
        .output()
        .expect("run opsmith");
    assert_eq!(built.status.code(), Some(2), "{}", stderr(&built));
    assert!(!copy.path("p").join(tools).exists(), "{tools} left");
    stderr(&built)
}

// Without python3 or npm, the set-up says what to install. These need
// neither tool nor network, so they always run.

#[test]
fn a_python_set_up_without_python3_says_what_to_install() {
    insta::assert_snapshot!(build_without_tools("python", ".venv"), @"
    creating p/.venv (python3 -m venv)
    error: `python3` is not installed: install Python 3.10 or newer with its venv module (on Debian and Ubuntu: the python3-venv package)
    ");
}

#[test]
fn a_javascript_set_up_without_npm_says_what_to_install() {
    insta::assert_snapshot!(build_without_tools("javascript", "node_modules"), @"
    installing @bytecodealliance/componentize-js@0.23.0 into p/node_modules (npm ci)
    error: `npm` is not installed: install Node.js 20.6 or newer, with npm
    ");
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
    // The reference site's templates render chrony's MachineConfigs too.
    copy.edit(
        "catalog.yaml",
        "files: [templates/*.j2]",
        "files: [templates/default-deny.yaml.j2]",
    );
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
    add_component(&copy, "example-slo", &wasm, "{}");
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
