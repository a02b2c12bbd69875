//! `opsmith schema`: prints a JSON Schema for editors and other tools.

use std::io::Write as _;

use anyhow::bail;
use clap::Args;

use crate::ExitStatus;
use crate::plugins::{PluginSource, builtin};

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// `site`, `catalog`, or `plugin:<name>` (a built-in plugin's config).
    #[arg(default_value = "site")]
    pub name: String,
    #[command(flatten)]
    pub run: super::RunArgs,
}

pub fn run(args: &SchemaArgs) -> anyhow::Result<ExitStatus> {
    let text = match args.name.as_str() {
        "site" | "inventory" => crate::validate::SITE_SCHEMA.to_owned(),
        "catalog" => crate::validate::CATALOG_SCHEMA.to_owned(),
        other => {
            let Some(name) = other
                .strip_prefix("plugin:")
                .or_else(|| crate::validate::catalog::PluginRef::builtin_name(other))
            else {
                bail!("unknown schema `{other}`: expected `site`, `catalog` or `plugin:<name>`");
            };
            if !builtin::exists(name) {
                bail!(
                    "there is no built-in plugin `{name}`: built-ins are {}",
                    builtin::names().collect::<Vec<_>>().join(", ")
                );
            }
            let runtime = args.run.runtime()?;
            let plugin = runtime.load(&PluginSource::Builtin(name.to_owned()))?;
            let description = plugin.describe(&runtime, &runtime.limits).map_err(|e| {
                anyhow::anyhow!(
                    "plugin {} {e}",
                    crate::validate::catalog::PluginRef::builtin_label(name)
                )
            })?;
            let mut s = serde_json::to_string_pretty(&description.config_schema)?;
            s.push('\n');
            s
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitStatus::Success)
}
