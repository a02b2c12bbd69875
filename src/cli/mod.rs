//! The command line: one file per command, each a thin wrapper that calls
//! the stages in order.

pub mod check;
pub mod commit;
pub mod diff;
pub mod plugin;
pub mod render;
pub mod schema;
pub mod validate;
pub mod verbose;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plugins::sandbox::Limits;

/// GitOps generator for bare-metal OpenShift sites, with sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "opsmith", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour diffs and error messages: on a terminal (auto), always, never.
    /// With auto, NO_COLOR, CLICOLOR, CLICOLOR_FORCE and TERM=dumb are honoured.
    #[arg(long, value_enum, default_value = "auto", global = true)]
    pub color: Color,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Makes this the choice of every output stream (anstream's global
    /// choice, which error messages and diffs read).
    pub fn apply(self) {
        anstream::ColorChoice::write_global(match self {
            Color::Auto => anstream::ColorChoice::Auto,
            Color::Always => anstream::ColorChoice::Always,
            Color::Never => anstream::ColorChoice::Never,
        });
    }
}

/// Whether what goes to stdout is coloured: `--color`, else the terminal
/// and the environment.
pub fn colour_stdout() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the site's inventory and catalog (schemas, semantics, plugin configs).
    Validate(validate::ValidateArgs),
    /// Render the site's manifests into a folder, or to stdout with `--out -`.
    Render(render::RenderArgs),
    /// Show how the rendering differs from a folder or a git tree (exit 1 when it does).
    Diff(diff::DiffArgs),
    /// Render and commit the site's tree to a branch; optionally push.
    Commit(commit::CommitArgs),
    /// What a presubmit runs: validate, render, compare with the committed tree, report.
    Check(check::CheckArgs),
    /// Print a JSON Schema: `site`, `catalog`, or `plugin:<name>` for a built-in plugin's config.
    Schema(schema::SchemaArgs),
    /// Write, inspect and list plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

/// Where the site is.
#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Folder holding inventory.yaml and catalog.yaml.
    #[arg(long, default_value = "site", value_name = "DIR")]
    pub site: PathBuf,
}

/// A fleet instead of one site.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Folder holding one folder per site (each with inventory.yaml and
    /// catalog.yaml): every site is checked, then rendered, in one run.
    #[arg(long, value_name = "DIR", conflicts_with = "site")]
    pub fleet: Option<PathBuf>,
}

/// How plugins run: the sandbox's limits are the user's policy.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Components rendered in parallel (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Memory cap per plugin run, in MiB.
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub memory: u64,
    /// CPU budget per plugin run, in fuel units (deterministic).
    #[arg(long, default_value_t = Limits::default().fuel, value_name = "UNITS")]
    pub fuel: u64,
    /// Wall-clock backstop per plugin run, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Largest output a plugin may return, in MiB.
    #[arg(long, default_value_t = 128, value_name = "MIB")]
    pub max_output: usize,
    /// Folder for compiled plugins (default: $OPSMITH_CACHE_DIR, else ~/.cache/opsmith).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile plugins every time; read and write no cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Show plugin loading, timing and the plugins' own log lines.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

impl RunArgs {
    pub fn limits(&self) -> anyhow::Result<Limits> {
        if !(self.timeout > 0.0 && self.timeout <= 3600.0) {
            anyhow::bail!(
                "--timeout must be between 0 and 3600 seconds, got {}",
                self.timeout
            );
        }
        Ok(Limits {
            memory_bytes: self.memory.saturating_mul(1 << 20),
            fuel: self.fuel,
            timeout: Duration::from_secs_f64(self.timeout),
            output_bytes: self.max_output.saturating_mul(1 << 20),
        })
    }

    pub fn jobs(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn runtime(&self) -> anyhow::Result<crate::plugins::Runtime> {
        let cache = if self.no_cache {
            None
        } else {
            self.cache_dir
                .clone()
                .or_else(crate::plugins::cache::Cache::default_dir)
        };
        let limits = self.limits()?;
        if self.verbose {
            verbose::show();
        }
        tracing::info_span!("start the plugin runtime")
            .in_scope(|| crate::plugins::Runtime::new(limits, cache))
    }
}
