//! `opsmith validate`: the inputs' schemas and semantics, and each
//! component's config against its plugin's schema. Writes nothing.

use clap::Args;

use super::{FleetArgs, RunArgs, SiteArgs};
use crate::{ExitStatus, pipeline};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let runtime = args.run.runtime()?;
    if let Some(fleet) = &args.fleet.fleet {
        let dirs = crate::fleet::sites(fleet)?;
        let sites = crate::fleet::validate(&runtime, &dirs, args.run.jobs())?;
        for (dir, site) in dirs.iter().zip(&sites) {
            crate::diagnostics::note(&format!(
                "{}: valid ({} hosts, {} components)",
                dir.display(),
                site.inventory.spec.hosts.len(),
                site.catalog.spec.components.len()
            ));
        }
        crate::diagnostics::note(&format!("{}: {} sites valid", fleet.display(), sites.len()));
        return Ok(ExitStatus::Success);
    }
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
