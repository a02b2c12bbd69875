//! The files `opsmith plugin new` writes. Rust: a plugin crate that depends
//! on opsmith-plugin-sdk from crates.io (or a local SDK: `SDK_PATH_VAR`),
//! which holds the WIT contract. Python and JavaScript: the
//! module, its test, the build set-up and `wit/plugin.wit`. Each builds from
//! any folder, outside this repository.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The SDK version a scaffold asks for: opsmith and opsmith-plugin-sdk share
/// their version (the workspace's) and are released together.
const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

// A folder holding opsmith-plugin-sdk (its Cargo.toml), e.g. plugins/sdk in
// opsmith's repository: the scaffold then builds against it instead of
// crates.io, through a `[patch.crates-io]` entry. For developing opsmith and
// its SDK together; opsmith's tests point it at the SDK as packaged.
use crate::env::PLUGIN_SDK_PATH as SDK_PATH_VAR;

/// The `[patch.crates-io]` section that points a scaffold at a local SDK.
fn sdk_patch(sdk: &Path) -> anyhow::Result<String> {
    let sdk = std::path::absolute(sdk)
        .with_context(|| format!("{SDK_PATH_VAR}: cannot resolve {}", sdk.display()))?;
    if !sdk.join("Cargo.toml").is_file() {
        bail!(
            "{SDK_PATH_VAR} is {}, which has no Cargo.toml: point it at the opsmith-plugin-sdk crate \
             (plugins/sdk in opsmith's repository), or unset it to use the SDK from crates.io",
            sdk.display()
        );
    }
    let Some(text) = sdk.to_str() else {
        bail!("{SDK_PATH_VAR}: {} is not UTF-8", sdk.display());
    };
    // A JSON string is a TOML basic string: the path is quoted and escaped.
    let quoted = serde_json::to_string(text)?;
    Ok(format!(
        "\n# {SDK_PATH_VAR} was set when `opsmith plugin new` wrote this crate:\n\
         # the SDK comes from that folder instead of crates.io.\n\
         [patch.crates-io]\nopsmith-plugin-sdk = {{ path = {quoted} }}\n"
    ))
}

fn manifest(name: &str, patch: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
opsmith-plugin-sdk = "{SDK_VERSION}"
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

# Its own workspace, so the crate also builds inside another one.
[workspace]

[profile.release]
strip = true
{patch}"#
    )
}

fn lib_rs(name: &str) -> String {
    let type_name: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!(
        r##"//! `{name}`: an opsmith plugin. It renders one ConfigMap that summarises
//! the site; change `render` to make it yours.

use opsmith_plugin_sdk::{{Error, Info, Input, Output, Plugin, Role, export_plugin, json}};
use serde::Deserialize;

/// The component's `config` in the catalog.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {{
    namespace: String,
}}

impl Default for Config {{
    fn default() -> Self {{
        Config {{ namespace: "default".to_owned() }}
    }}
}}

struct {type_name};

impl Plugin for {type_name} {{
    fn describe() -> Info {{
        Info::new("{name}", env!("CARGO_PKG_VERSION"))
            .description("A ConfigMap summarising the site")
            .config_schema(json!({{
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "properties": {{
                    "namespace": {{
                        "type": "string",
                        "description": "Namespace of the ConfigMap.",
                        "default": "default"
                    }}
                }}
            }}))
            .emits("v1", "ConfigMap", &["*"])
    }}

    fn render(input: &Input) -> Result<Output, Error> {{
        let config: Config = input.config()?;
        let site = &input.site;
        let control_plane = site.hosts_with_role(Role::ControlPlane).count();
        let mut out = Output::new();
        out.object(json!({{
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {{
                "name": format!("{{}}-summary", input.component),
                "namespace": config.namespace,
            }},
            "data": {{
                "cluster": format!("{{}}.{{}}", site.metadata.name, site.spec.base_domain),
                "hosts": site.spec.hosts.len().to_string(),
                "controlPlane": control_plane.to_string(),
            }},
        }}));
        Ok(out)
    }}
}}

export_plugin!({type_name});

#[cfg(test)]
mod tests {{
    use super::*;
    use opsmith_plugin_sdk::testing::{{EXAMPLE_CATALOG, EXAMPLE_SITE, render}};

    #[test]
    fn summarises_the_example_site() {{
        let out = render::<{type_name}>("example", EXAMPLE_SITE, EXAMPLE_CATALOG, "{{}}").expect("render");
        assert_eq!(out.objects().len(), 1);
        let data = &out.objects()[0]["data"];
        assert_eq!(data["hosts"], "2");
        assert_eq!(data["controlPlane"], "1");
    }}

    #[test]
    fn rejects_unknown_config() {{
        let err = render::<{type_name}>("example", EXAMPLE_SITE, EXAMPLE_CATALOG, r#"{{"nope": 1}}"#).unwrap_err();
        assert_eq!(err.pointer, "/config");
    }}
}}
"##
    )
}

fn readme(name: &str) -> String {
    let wasm = name.replace('-', "_");
    format!(
        r#"# {name}

An [opsmith](https://github.com/opsmith-dev/opsmith) renderer plugin.

    rustup target add wasm32-wasip2                  # once
    cargo test                                       # native unit tests
    cargo build --release --target wasm32-wasip2     # the component
    opsmith plugin inspect target/wasm32-wasip2/release/{wasm}.wasm

`inspect` prints the component's sha256 and the catalog entry that uses it:

```yaml
  - name: {name}
    plugin: {{ path: plugins/{wasm}.wasm, sha256: <sha256 from inspect> }}
```

The plugin builds on [opsmith-plugin-sdk](https://docs.rs/opsmith-plugin-sdk)
from crates.io, which holds the WIT contract (`opsmith:plugin@0.2.0`); its
README is the plugin guide.
"#
    )
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// The language of a plugin project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Javascript,
}

const WIT: &str = include_str!("../../../plugins/wit/plugin.wit");

const PYTHON_FILES: &[(&str, &str)] = &[
    ("{{module}}.py", include_str!("templates/python/module.py")),
    (
        "test_{{module}}.py",
        include_str!("templates/python/test_module.py"),
    ),
    ("README.md", include_str!("templates/python/README.md")),
    (
        "requirements.txt",
        include_str!("templates/python/requirements.txt"),
    ),
    (".gitignore", include_str!("templates/python/gitignore")),
];

const JAVASCRIPT_FILES: &[(&str, &str)] = &[
    ("plugin.js", include_str!("templates/javascript/plugin.js")),
    (
        "plugin.test.js",
        include_str!("templates/javascript/plugin.test.js"),
    ),
    ("build.mjs", include_str!("templates/javascript/build.mjs")),
    (
        "package.json",
        include_str!("templates/javascript/package.json"),
    ),
    // npm's lockfile for package.json: `npm ci` (which `opsmith plugin
    // build` runs) installs exactly these versions of componentize-js's
    // dependencies too. Regenerate it with `npm install --package-lock-only`
    // when package.json changes (the `lockfile_matches_package_json` test
    // checks they agree).
    (
        "package-lock.json",
        include_str!("templates/javascript/package-lock.json"),
    ),
    ("README.md", include_str!("templates/javascript/README.md")),
    (".gitignore", include_str!("templates/javascript/gitignore")),
];

/// The Python module name of a plugin: its name with `_` for `-`.
pub fn python_module(name: &str) -> String {
    name.replace('-', "_")
}

/// Writes the new plugin project into `<parent>/<name>/`, which must not
/// exist or be empty.
pub fn create(parent: &Path, name: &str, lang: Lang) -> anyhow::Result<PathBuf> {
    if !valid_name(name) {
        bail!(
            "`{name}` is not a usable plugin name: use lowercase letters, digits and `-`, starting with a letter"
        );
    }
    let dir = parent.join(name);
    if dir.exists()
        && fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} already exists and is not empty", dir.display());
    }
    let module = python_module(name);
    let from_templates = |templates: &[(&str, &str)]| -> Vec<(PathBuf, String)> {
        let fill = |t: &str| t.replace("{{name}}", name).replace("{{module}}", &module);
        let mut files: Vec<(PathBuf, String)> = templates
            .iter()
            .map(|(path, text)| (dir.join(fill(path)), fill(text)))
            .collect();
        files.push((dir.join("wit/plugin.wit"), WIT.to_owned()));
        files
    };
    let files = match lang {
        Lang::Rust => rust_files(&dir, name)?,
        Lang::Python => from_templates(PYTHON_FILES),
        Lang::Javascript => from_templates(JAVASCRIPT_FILES),
    };
    for (path, text) in files {
        if let Some(folder) = path.parent() {
            fs::create_dir_all(folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(dir)
}

fn rust_files(dir: &Path, name: &str) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let patch = match crate::env::var(SDK_PATH_VAR) {
        Some(sdk) => sdk_patch(Path::new(&sdk))?,
        None => String::new(),
    };
    Ok(vec![
        (dir.join("Cargo.toml"), manifest(name, &patch)),
        (dir.join("src/lib.rs"), lib_rs(name)),
        (dir.join("README.md"), readme(name)),
        (dir.join(".gitignore"), "/target\n".to_owned()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::plugin::build::{COMPONENTIZE_JS, COMPONENTIZE_PY};

    fn template(files: &[(&str, &'static str)], path: &str) -> &'static str {
        files
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, text)| *text)
            .expect("a template")
    }

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(&text.replace("{{name}}", "p")).expect("JSON")
    }

    /// `npm ci` refuses a lockfile that does not match package.json.
    #[test]
    fn lockfile_matches_package_json() {
        let package = json(template(JAVASCRIPT_FILES, "package.json"));
        let lock = json(template(JAVASCRIPT_FILES, "package-lock.json"));
        let root = &lock["packages"][""];
        assert_eq!(root["devDependencies"], package["devDependencies"]);
        assert_eq!(root["dependencies"], package["dependencies"]);
        for field in ["name", "version"] {
            assert_eq!(lock[field], package[field], "{field}");
            assert_eq!(root[field], package[field], "{field}");
        }
        let (tool, version) = COMPONENTIZE_JS.rsplit_once('@').expect("a pin");
        assert_eq!(package["devDependencies"][tool], version);
        assert_eq!(
            lock["packages"][format!("node_modules/{tool}")]["version"],
            version
        );
    }

    #[test]
    fn requirements_pin_componentize_py() {
        let requirements = template(PYTHON_FILES, "requirements.txt");
        assert!(
            requirements.lines().any(|l| l.trim() == COMPONENTIZE_PY),
            "{requirements}"
        );
    }
}
