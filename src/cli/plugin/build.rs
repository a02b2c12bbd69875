//! `opsmith plugin build [DIR]`: one command for Rust, Python and JavaScript
//! plugin projects. It detects the language, sets up a Python or JavaScript
//! project's pinned tool chain inside the project when it is missing (as
//! `uv run` does), runs the tool chain with the right WIT world and writes
//! `NAME.wasm` in the project folder.

use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use super::scaffold::{Lang, python_module};

/// The tool versions the scaffolds pin and this command was tested with.
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";
pub const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js@0.23.0";

/// What kind of project `dir` is.
pub fn detect(dir: &Path) -> anyhow::Result<Lang> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(Lang::Rust);
    }
    if dir.join("package.json").is_file() {
        return Ok(Lang::Javascript);
    }
    let has_python = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .any(|e| e.path().extension().is_some_and(|x| x == "py"));
    if has_python {
        return Ok(Lang::Python);
    }
    bail!(
        "{} is not a plugin project: expected Cargo.toml (Rust), package.json (JavaScript) or a .py module (Python)",
        dir.display()
    )
}

/// The project's name: the package name of Cargo.toml or package.json, else
/// its folder's name.
fn project_name(dir: &Path, lang: Lang) -> anyhow::Result<String> {
    let name = match lang {
        Lang::Rust => {
            #[derive(serde::Deserialize)]
            struct Manifest {
                package: Option<Named>,
            }
            manifest::<Manifest>(dir, "Cargo.toml", |text| Ok(toml::from_str(text)?))?
                .package
                .map(|package| package.name)
        }
        Lang::Javascript => {
            manifest::<Named>(dir, "package.json", |text| Ok(serde_json::from_str(text)?))
                .map(|package| Some(package.name))?
        }
        Lang::Python => None,
    };
    match name {
        Some(n) if !n.is_empty() => Ok(n),
        _ => dir
            .canonicalize()?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("the project folder has no name"),
    }
}

/// A manifest's `name`.
#[derive(serde::Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

/// Project file `file` of `dir`, read and parsed.
fn manifest<T>(
    dir: &Path,
    file: &str,
    parse: impl FnOnce(&str) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("{} is not a valid {file}", path.display()))
}

/// The Python module to componentize: the one named after the folder, else
/// the only module that is not a test.
fn python_entry(dir: &Path, name: &str) -> anyhow::Result<String> {
    let wanted = python_module(name);
    if dir.join(format!("{wanted}.py")).is_file() {
        return Ok(wanted);
    }
    let mut modules: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter_map(|f| f.strip_suffix(".py").map(str::to_owned))
        .filter(|m| !m.starts_with("test_") && m != "conftest")
        .collect();
    modules.sort();
    match modules.as_slice() {
        [only] => Ok(only.clone()),
        [] => bail!("{} has no Python module", dir.display()),
        many => bail!(
            "{} has several modules ({}): name the plugin's module {wanted}.py",
            dir.display(),
            many.join(", ")
        ),
    }
}

/// Runs a build tool. Its stdout goes to stderr: opsmith's stdout is the
/// component's sha256 and catalog entry, for a script to read.
fn run(cmd: &mut Command, tool: &str, install: &str) -> anyhow::Result<()> {
    let status = match cmd.stdout(Stdio::from(std::io::stderr())).status() {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("`{tool}` is not installed: {install}")
        }
        Err(e) => return Err(e).with_context(|| format!("cannot run `{tool}`")),
    };
    if !status.success() {
        bail!("`{tool}` failed ({status}); its output is above");
    }
    Ok(())
}

/// Runs a set-up step quietly: its output is shown only when it fails.
fn quiet(cmd: &mut Command, shown: &str, install: &str) -> anyhow::Result<()> {
    let out = match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "`{}` is not installed: {install}",
                cmd.get_program().display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot run `{shown}`")),
    };
    if !out.status.success() {
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        bail!(
            "`{shown}` failed ({}); its output:\n{}",
            out.status,
            output.trim_end()
        );
    }
    Ok(())
}

/// How a file of the project is named on stderr: under the folder the user
/// gave (`p/.venv`), or alone when that is the current one.
fn shown_in(dir: &Path, file: &str) -> String {
    let dir: PathBuf = dir
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    dir.join(file).display().to_string()
}

/// Whether anything is at `path`, a broken symbolic link included.
fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// Removes what a failed set-up left at `path` (a symbolic link, not what
/// it points to), so that no next run takes it for a ready tool chain. The
/// set-up's own error is the one to report: a removal that fails is a warning.
fn remove(path: &Path, shown: &str) {
    let removed = match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => return,
    };
    if let Err(e) = removed {
        crate::diagnostics::warn(&format!(
            "cannot remove the incomplete {shown} ({e}): remove it by hand"
        ));
    }
}

/// The project's componentize-py, in its `.venv`. A missing `.venv` is
/// created from requirements.txt (or with the pinned componentize-py when
/// there is none); a `.venv` without componentize-py gets it installed. A
/// `.venv` this run created and could not complete is removed.
fn python_tool(dir: &Path, given: &Path) -> anyhow::Result<PathBuf> {
    let venv = dir.join(".venv");
    let tool = venv.join("bin/componentize-py");
    // A symbolic link to a prepared environment counts: `is_file` follows it.
    if tool.is_file() {
        return Ok(tool);
    }
    let shown = shown_in(given, ".venv");
    let created = !exists(&venv);
    let set_up = || -> anyhow::Result<()> {
        if created {
            crate::diagnostics::note(&format!("creating {shown} (python3 -m venv)"));
            quiet(
                Command::new("python3")
                    .current_dir(dir)
                    .args(["-m", "venv", ".venv"]),
                "python3 -m venv .venv",
                "install Python 3.10 or newer with its venv module \
                 (on Debian and Ubuntu: the python3-venv package)",
            )?;
        } else if !venv.join("bin/python").is_file() {
            bail!(
                "{shown} has no componentize-py and no bin/python: remove it, and \
                 `opsmith plugin build` creates a new one"
            );
        }
        let requirements = dir.join("requirements.txt");
        let (what, args) = if requirements.is_file() {
            let text = std::fs::read_to_string(&requirements)
                .with_context(|| format!("cannot read {}", requirements.display()))?;
            let pin = text
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("componentize-py"))
                .unwrap_or("requirements.txt")
                .to_owned();
            (pin, vec!["-r", "requirements.txt"])
        } else {
            (COMPONENTIZE_PY.to_owned(), vec![COMPONENTIZE_PY])
        };
        let pip = format!("pip install {}", args.join(" "));
        crate::diagnostics::note(&format!("installing {what} into {shown} ({pip})"));
        quiet(
            Command::new(venv.join("bin/python"))
                .current_dir(dir)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(&args),
            &pip,
            "remove the project's .venv, and `opsmith plugin build` creates a new one",
        )?;
        if !tool.is_file() {
            bail!(
                "requirements.txt does not install componentize-py: add `{COMPONENTIZE_PY}` to it"
            );
        }
        Ok(())
    };
    set_up().inspect_err(|_| {
        if created {
            remove(&venv, &shown);
        }
    })?;
    Ok(tool)
}

/// Installs the project's node_modules when componentize-js is missing:
/// `npm ci` from package-lock.json, or `npm install` without one. What a
/// failed install leaves is removed (`npm ci` replaces node_modules anyway).
fn javascript_tools(dir: &Path, given: &Path) -> anyhow::Result<()> {
    let modules = dir.join("node_modules");
    // A symbolic link to a prepared node_modules counts: `is_dir` follows it.
    if modules.join("@bytecodealliance/componentize-js").is_dir() {
        return Ok(());
    }
    let shown = shown_in(given, "node_modules");
    let existed = exists(&modules);
    let locked = dir.join("package-lock.json").is_file();
    let (npm, how) = if locked {
        ("ci", "npm ci".to_owned())
    } else {
        ("install", "npm install: no package-lock.json".to_owned())
    };
    let manifest: serde_json::Value =
        manifest(dir, "package.json", |text| Ok(serde_json::from_str(text)?))?;
    let pin = ["devDependencies", "dependencies"]
        .iter()
        .find_map(|deps| manifest[deps]["@bytecodealliance/componentize-js"].as_str())
        .map_or_else(
            || "package.json's dependencies".to_owned(),
            |version| format!("@bytecodealliance/componentize-js@{version}"),
        );
    crate::diagnostics::note(&format!("installing {pin} into {shown} ({how})"));
    let installed = quiet(
        Command::new("npm")
            .current_dir(dir)
            .args([npm, "--no-audit", "--no-fund"]),
        &format!("npm {npm}"),
        "install Node.js 20.6 or newer, with npm",
    )
    .and_then(|()| {
        if modules.join("@bytecodealliance/componentize-js").is_dir() {
            Ok(())
        } else {
            bail!(
                "package.json does not install @bytecodealliance/componentize-js: \
                 add it to its devDependencies (the scaffold pins {COMPONENTIZE_JS})"
            )
        }
    });
    installed.inspect_err(|_| {
        if !existed || locked {
            remove(&modules, &shown);
        }
    })
}

/// Builds the project in `dir` (setting up its tool chain first when it is
/// a Python or JavaScript one that lacks it) and returns the component's path.
pub fn build(given: &Path) -> anyhow::Result<PathBuf> {
    // Absolute, since the tools run in the project folder.
    let dir = &given
        .canonicalize()
        .with_context(|| format!("there is no folder {}", given.display()))?;
    let lang = detect(dir)?;
    let mut name = project_name(dir, lang)?;
    let module = if lang == Lang::Python {
        let module = python_entry(dir, &name)?;
        if module != python_module(&name) {
            name = module.clone();
        }
        module
    } else {
        String::new()
    };
    let out = dir.join(format!("{name}.wasm"));
    match lang {
        Lang::Rust => {
            run(
                Command::new("cargo").current_dir(dir).args([
                    "build",
                    "--release",
                    "--target",
                    "wasm32-wasip2",
                ]),
                "cargo",
                "install Rust with rustup, then `rustup target add wasm32-wasip2`",
            )?;
            let target = crate::env::var("CARGO_TARGET_DIR")
                .map_or_else(|| dir.join("target"), PathBuf::from);
            let built = target
                .join("wasm32-wasip2/release")
                .join(format!("{}.wasm", name.replace('-', "_")));
            std::fs::copy(&built, &out)
                .with_context(|| format!("cargo built no {}", built.display()))?;
        }
        Lang::Python => {
            if !dir.join(format!("{module}.py")).is_file() {
                bail!(
                    "{} has no {module}.py: the module must be named after the folder",
                    dir.display()
                );
            }
            let tool = python_tool(dir, given)?;
            run(
                Command::new(&tool)
                    .arg("-d")
                    .arg(dir.join("wit"))
                    .args(["-w", "renderer", "componentize", "-p"])
                    .arg(dir)
                    .arg(&module)
                    .arg("-o")
                    .arg(&out),
                "componentize-py",
                &format!(
                    "remove the project's .venv, and `opsmith plugin build` creates a new one with {COMPONENTIZE_PY}"
                ),
            )?;
        }
        Lang::Javascript => {
            javascript_tools(dir, given)?;
            run(
                Command::new("node")
                    .current_dir(dir)
                    .arg("build.mjs")
                    .arg("--out")
                    .arg(&out),
                "node",
                &format!("install Node.js 20.6 or newer; the build uses {COMPONENTIZE_JS}"),
            )?;
        }
    }
    Ok(out)
}
