//! `opsmith render`: load, validate, run the plugins, check, lay out, write.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::{RunArgs, SiteArgs};
use crate::output::dir;
use crate::{ExitStatus, pipeline};

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub site: SiteArgs,
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
    crate::diagnostics::note(&format!(
        "rendered {} files ({} bytes) into {} in {:.0} ms{}{}",
        summary.written,
        tree.bytes(),
        args.out.join(&tree.site).display(),
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
    Ok(ExitStatus::Success)
}
