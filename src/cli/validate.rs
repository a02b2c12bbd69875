//! `opsmith validate`: the inputs' schemas and semantics, and each
//! component's config against its plugin's schema. Writes nothing.

use clap::Args;

use super::{RunArgs, SiteArgs};
use crate::{ExitStatus, pipeline};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let runtime = args.run.runtime()?;
    let site = pipeline::load_and_validate_for(&runtime, &args.site.site)?;
    pipeline::check_configs(&runtime, &site, args.run.jobs())?;
    crate::diagnostics::note(&format!(
        "{}: valid ({} hosts, {} components)",
        args.site.site.display(),
        site.inventory.spec.hosts.len(),
        site.catalog.spec.components.len()
    ));
    Ok(ExitStatus::Success)
}
