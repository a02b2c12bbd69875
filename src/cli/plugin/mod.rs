//! `opsmith plugin new | inspect | list`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use crate::validate::catalog::PluginRef;
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use super::{RunArgs, SiteArgs};
use crate::ExitStatus;
use crate::plugins::{Info, PluginSource, Runtime, builtin};

mod build;
mod scaffold;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Scaffold a plugin project (Rust, Python or JavaScript) that builds anywhere.
    New(NewArgs),
    /// Build a plugin project into NAME.wasm and print its sha256 and catalog entry.
    Build(BuildArgs),
    /// Show what a plugin component is: its world, imports, config schema, kinds.
    Inspect(InspectArgs),
    /// List the built-in plugins and those the site's catalog uses.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the plugin (and of its folder): lowercase letters, digits, `-`.
    pub name: String,
    /// Parent folder of the new plugin's folder.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// The plugin's language.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: scaffold::Lang,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The plugin project's folder.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The plugin's `.wasm` file, or `builtin:<name>`.
    pub file: String,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(command: &PluginCommand) -> anyhow::Result<ExitStatus> {
    match command {
        PluginCommand::New(args) => new(args),
        PluginCommand::Build(args) => build_project(args),
        PluginCommand::Inspect(args) => inspect(args),
        PluginCommand::List(args) => list(args),
    }
}

/// Prints to stdout: what a plugin says of itself is the plugin's, so its
/// control characters are escaped like every other value opsmith prints.
fn print(text: &str) -> anyhow::Result<ExitStatus> {
    let text = crate::diagnostics::printable_lines(text);
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitStatus::Success)
}

fn build_project(args: &BuildArgs) -> anyhow::Result<ExitStatus> {
    let wasm = build::build(&args.dir)?;
    let bytes = std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let file = wasm
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = file.trim_end_matches(".wasm");
    print(&format!(
        "built {} ({} bytes)\nsha256: {sha256}\n\ncatalog entry (copy {file} into the site folder's plugins/):\n  - name: {name}\n    plugin: {{ path: plugins/{file}, sha256: {sha256} }}\n",
        wasm.display(),
        bytes.len()
    ))
}

fn new(args: &NewArgs) -> anyhow::Result<ExitStatus> {
    let dir = scaffold::create(&args.dir, &args.name, args.lang)?;
    if args.lang != scaffold::Lang::Rust {
        return print(&format!(
            "created {lang:?} plugin `{name}` in {dir}\n\nbuild it (the first build sets up its tool chain in the project):\n  opsmith plugin build {dir}\n",
            lang = args.lang,
            name = args.name,
            dir = dir.display(),
        ));
    }
    let wasm = format!(
        "target/wasm32-wasip2/release/{}.wasm",
        args.name.replace('-', "_")
    );
    print(&format!(
        "created plugin `{name}` in {dir}\n\nbuild it:\n  cd {dir} && cargo build --release --target wasm32-wasip2\n\nthen check it and get its sha256 for the catalog:\n  opsmith plugin inspect {dir}/{wasm}\n",
        name = args.name,
        dir = dir.display(),
    ))
}

fn source_of(arg: &str) -> PluginSource {
    match PluginRef::builtin_name(arg) {
        Some(name) => PluginSource::Builtin(name.to_owned()),
        None => PluginSource::File {
            path: PathBuf::from(arg),
            site_dir: None,
            shown: arg.to_owned(),
            sha256: None,
        },
    }
}

fn describe(
    runtime: &Runtime,
    source: &PluginSource,
) -> anyhow::Result<(std::sync::Arc<crate::plugins::Plugin>, Info)> {
    let plugin = runtime.load(source)?;
    let description = plugin
        .describe(runtime, &runtime.limits)
        .map_err(|e| anyhow::anyhow!("plugin {} {e}", source.label()))?;
    Ok((plugin, description))
}

/// What a WASI import gives a plugin under opsmith's sandbox.
fn import_note(name: &str) -> &'static str {
    let interface = name.split('@').next().unwrap_or(name);
    match interface {
        "wasi:filesystem/types" | "wasi:filesystem/preopens" => {
            "linked deny-all: no directories are preopened"
        }
        i if i.starts_with("wasi:sockets/") => {
            "linked deny-all: every connection and lookup is refused"
        }
        "wasi:cli/environment" => "empty: no variables, no arguments",
        i if i.starts_with("wasi:random/") => "fixed bytes: the same on every run",
        i if i.starts_with("wasi:clocks/") => "fixed: 2000-01-01T00:00:00Z, monotonic 0",
        i if i.starts_with("wasi:cli/std") || i.starts_with("wasi:cli/terminal") => {
            "stdin closed; stdout and stderr go to opsmith's log"
        }
        i if i.starts_with("wasi:io/") => "streams and polling for stdio",
        "wasi:cli/exit" => "ends the plugin with an error",
        i if i.starts_with("opsmith:plugin/") => "opsmith's contract: record types",
        "log" => "opsmith's log (`--verbose`)",
        _ => "not provided by opsmith: the plugin will not link",
    }
}

fn inspect(args: &InspectArgs) -> anyhow::Result<ExitStatus> {
    let runtime = args.run.runtime()?;
    let source = source_of(&args.file);
    let (plugin, d) = describe(&runtime, &source)?;
    let mut out = String::new();
    writeln!(out, "plugin:      {} {}", d.name, d.version)?;
    writeln!(out, "description: {}", d.description)?;
    writeln!(
        out,
        "file:        {} ({} bytes)",
        source.label(),
        plugin.size
    )?;
    writeln!(out, "sha256:      {}", plugin.sha256)?;
    if let Some(source_sha256) = plugin.source_sha256 {
        writeln!(
            out,
            "sources:     sha256 {source_sha256} (what opsmith-provenance.yaml records)"
        )?;
    }
    writeln!(
        out,
        "world:       opsmith:plugin/renderer@{} (exports {})",
        plugin.contract(),
        plugin.exports(&runtime).join(", ")
    )?;
    writeln!(out, "imports:")?;
    for name in plugin.imports(&runtime) {
        writeln!(out, "  {name:<40} {}", import_note(&name))?;
    }
    writeln!(out, "emits:")?;
    for k in &d.emits {
        let scope = if k.namespaces.is_empty() {
            "cluster-scoped".to_owned()
        } else {
            format!("namespaces {}", k.namespaces.join(", "))
        };
        writeln!(out, "  {} {} ({scope})", k.api_version, k.kind)?;
    }
    writeln!(
        out,
        "config schema:\n{}",
        indent(&serde_json::to_string_pretty(&d.config_schema)?, "  ")
    )?;
    if let PluginSource::File { shown, .. } = &source {
        writeln!(
            out,
            "catalog entry:\n  - name: {}\n    plugin: {{ path: {shown}, sha256: {} }}",
            d.name, plugin.sha256
        )?;
    }
    print(&out)
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn list(args: &ListArgs) -> anyhow::Result<ExitStatus> {
    let runtime = args.run.runtime()?;
    let mut out = String::new();
    writeln!(
        out,
        "{:<18} {:<24} {:<10} {:<64} FROM",
        "COMPONENT", "PLUGIN", "VERSION", "SHA256"
    )?;
    for name in builtin::names() {
        let source = PluginSource::Builtin(name.to_owned());
        let (plugin, d) = describe(&runtime, &source)?;
        writeln!(
            out,
            "{:<18} {:<24} {:<10} {:<64} embedded",
            "-",
            source.label(),
            d.version,
            plugin.sha256
        )?;
    }
    let catalog_path = args.site.site.join(crate::load::CATALOG_FILE);
    if catalog_path.exists() {
        let site = crate::pipeline::load_and_validate(&args.site.site)?;
        for component in &site.catalog.spec.components {
            let source = PluginSource::of(component, &site.inputs.dir);
            let from = match &component.plugin {
                PluginRef::Builtin(_) => "embedded".to_owned(),
                PluginRef::File { path, .. } => path.clone(),
            };
            let (plugin, d) = describe(&runtime, &source)
                .with_context(|| format!("component `{}`", component.name))?;
            let name = if component.enabled {
                component.name.clone()
            } else {
                format!("{} (off)", component.name)
            };
            writeln!(
                out,
                "{:<18} {:<24} {:<10} {:<64} {from}",
                name,
                source.label(),
                d.version,
                plugin.sha256
            )?;
        }
    } else if args.site.site.as_os_str() != "site" {
        bail!("{} does not exist", catalog_path.display());
    }
    print(&out)
}
