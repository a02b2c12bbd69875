//! `opsmith render`: load, validate, run the plugins, check, lay out, write.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use super::{FleetArgs, RunArgs, SiteArgs};
use crate::output::dir;
use crate::{ExitStatus, pipeline};

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Output folder (the site goes to `<DIR>/<site name>/`), or `-` for one
    /// YAML stream on stdout.
    #[arg(long, short = 'o', default_value = "manifests", value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: &RenderArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let to_stdout = args.out.as_os_str() == "-";
    if !to_stdout {
        // Before any work: a wrong --out is a typo or an unset variable.
        dir::check_out(&args.out)?;
    }
    let runtime = args.run.runtime()?;
    if let Some(fleet) = &args.fleet.fleet {
        return render_fleet(args, &runtime, fleet, started);
    }
    let tree = pipeline::render(&runtime, &args.site.site, args.run.jobs())?;
    if to_stdout {
        let writing = Instant::now();
        let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        crate::layout::write_stream(&tree, &mut stdout)?;
        stdout.flush()?;
        tracing::info!(
            "write to stdout: {:.1} ms; in all {:.1} ms",
            writing.elapsed().as_secs_f64() * 1000.0,
            started.elapsed().as_secs_f64() * 1000.0
        );
        return Ok(ExitStatus::Success);
    }
    let summary = dir::write(&tree, &args.out, &args.site.site)?;
    note_written(&tree, &summary, &args.out, started);
    Ok(ExitStatus::Success)
}

/// Every site of the fleet rendered before any is written; each site is
/// then written to its own folder as a lone site is, and the fleet's
/// provenance last.
fn render_fleet(
    args: &RenderArgs,
    runtime: &crate::plugins::Runtime,
    fleet: &Path,
    started: Instant,
) -> anyhow::Result<ExitStatus> {
    let dirs = crate::fleet::sites(fleet)?;
    let trees = crate::fleet::render(runtime, &dirs, args.run.jobs())?;
    if args.out.as_os_str() == "-" {
        let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        for tree in &trees {
            crate::layout::write_stream(tree, &mut stdout)?;
        }
        stdout.flush()?;
        return Ok(ExitStatus::Success);
    }
    for (dir, tree) in dirs.iter().zip(&trees) {
        let summary = dir::write(tree, &args.out, dir)?;
        note_written(tree, &summary, &args.out, started);
    }
    crate::fleet::write_provenance(&args.out, &crate::fleet::provenance(fleet, &dirs, &trees))?;
    crate::diagnostics::note(&format!(
        "rendered {} sites into {} in {:.0} ms",
        trees.len(),
        args.out.display(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    Ok(ExitStatus::Success)
}

fn note_written(tree: &crate::layout::Tree, summary: &dir::Summary, out: &Path, started: Instant) {
    crate::diagnostics::note(&format!(
        "rendered {} files ({} bytes) into {} in {:.0} ms{}{}",
        summary.written,
        tree.bytes(),
        out.join(&tree.site).display(),
        started.elapsed().as_secs_f64() * 1000.0,
        if summary.removed > 0 {
            format!(", removed {} no longer rendered", summary.removed)
        } else {
            String::new()
        },
        if summary.kept_foreign > 0 {
            format!(
                ", kept {} files opsmith did not write",
                summary.kept_foreign
            )
        } else {
            String::new()
        },
    ));
}
