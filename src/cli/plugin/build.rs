//! `opsmith plugin build [DIR]`: one command for Rust, Python and JavaScript
//! plugin projects. It detects the language, runs the tool chain with the
//! right WIT world and writes `NAME.wasm` in the project folder.

use std::path::{Path, PathBuf};
use std::process::Command;

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

fn run(cmd: &mut Command, tool: &str, install: &str) -> anyhow::Result<()> {
    let status = match cmd.status() {
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

/// Builds the project in `dir` and returns the component's path.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    // Absolute, since the tools run in the project folder.
    let dir = &dir
        .canonicalize()
        .with_context(|| format!("there is no folder {}", dir.display()))?;
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
            let venv_tool = dir.join(".venv/bin/componentize-py");
            let tool = if venv_tool.is_file() {
                venv_tool
            } else {
                PathBuf::from("componentize-py")
            };
            if !dir.join(format!("{module}.py")).is_file() {
                bail!(
                    "{} has no {module}.py: the module must be named after the folder",
                    dir.display()
                );
            }
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
                    "`python3 -m venv .venv && .venv/bin/pip install {COMPONENTIZE_PY}` in the project folder"
                ),
            )?;
        }
        Lang::Javascript => {
            if !dir
                .join("node_modules/@bytecodealliance/componentize-js")
                .is_dir()
            {
                run(
                    Command::new("npm").current_dir(dir).args([
                        "install",
                        "--no-audit",
                        "--no-fund",
                    ]),
                    "npm",
                    "install Node.js 20.6 or newer (with npm)",
                )?;
            }
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
