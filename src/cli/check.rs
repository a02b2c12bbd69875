//! `opsmith check`: what a presubmit runs. Validate, render, compare with
//! the committed tree; print a summary and the diff; write the CI reports
//! (GitHub step summary and annotations, JUnit for Prow, a PR comment).
//! Exit 0 when the committed tree is current, 1 when the change alters it,
//! 2 when the inputs are invalid or rendering fails.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::diff::Against;
use super::{RunArgs, SiteArgs};
use crate::ci::{CheckOutcome, CheckReport, RenderFailure};
use crate::diagnostics::Invalid;
use crate::output::diff::TreeDiff;
use crate::{ExitStatus, env, pipeline};

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    #[command(flatten)]
    pub against: Against,
    /// Write a JUnit XML report here (under Prow: `$ARTIFACTS/junit_opsmith.xml` by default).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown pull-request comment (summary and folded diffs) here.
    #[arg(long, value_name = "FILE")]
    pub comment: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

fn junit_path(args: &CheckArgs) -> Option<PathBuf> {
    args.junit.clone().or_else(|| {
        env::var(env::PROW_JOB_ID)?;
        env::var(env::ARTIFACTS).map(|dir| Path::new(&dir).join("junit_opsmith.xml"))
    })
}

/// Writes a report. A new report replaces whatever is at `path` by rename,
/// so a symbolic link or FIFO a pull request put there is replaced, never
/// written through; the step summary is the runner's own file, appended to.
fn write(path: &Path, text: &str, append: bool) -> anyhow::Result<()> {
    let cannot = || format!("cannot write {}", path.display());
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent).with_context(cannot)?;
    }
    if append {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(cannot)?;
        file.write_all(text.as_bytes()).with_context(cannot)?;
        return Ok(());
    }
    let mut file =
        tempfile::NamedTempFile::new_in(parent.unwrap_or(Path::new("."))).with_context(cannot)?;
    file.write_all(text.as_bytes()).with_context(cannot)?;
    file.persist(path).with_context(cannot)?;
    Ok(())
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let mut report = CheckReport {
        site: format!("site folder `{}`", args.site.site.display()),
        components: Vec::new(),
        outcome: CheckOutcome::Failed(RenderFailure::default()),
    };
    let result = compare(args, &mut report);
    // The error itself goes back to main, which prints it; the report
    // holds what the CI outputs show of it.
    let mut failure = None;
    report.outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => match e.downcast::<Invalid>() {
            Ok(invalid) => CheckOutcome::Invalid(invalid),
            Err(e) => {
                let shown = RenderFailure::of(&e);
                failure = Some(e);
                CheckOutcome::Failed(shown)
            }
        },
    };
    crate::diagnostics::note(&report.headline());
    if let Some(path) = junit_path(args) {
        write(&path, &report.junit()?, false)?;
    }
    if let Some(path) = &args.comment {
        write(path, &report.comment(), false)?;
    }
    if env::github_actions()
        && let Some(path) = env::var(env::GITHUB_STEP_SUMMARY)
    {
        write(Path::new(&path), &report.step_summary(), true)?;
    }
    match report.outcome {
        CheckOutcome::Invalid(invalid) => Err(invalid.into()),
        CheckOutcome::Failed(shown) => {
            Err(failure.unwrap_or_else(|| anyhow::anyhow!(shown.message)))
        }
        CheckOutcome::Compared { diff, shown, .. } => {
            if diff.is_empty() {
                return Ok(ExitStatus::Success);
            }
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(diff.render(&shown, super::colour_stdout()).as_bytes())?;
            stdout.flush()?;
            Ok(ExitStatus::Differs)
        }
    }
}

fn compare(args: &CheckArgs, report: &mut CheckReport) -> anyhow::Result<CheckOutcome> {
    // Before the render, which takes a while.
    if let Some(path) = &args.against.path {
        super::commit::checked_repo_path(path, "--path")?;
    }
    let runtime = args.run.runtime()?;
    let site = pipeline::load_and_validate_for(&runtime, &args.site.site)?;
    report.site = format!("site {}", site.inventory.metadata.name);
    report.components = site
        .catalog
        .enabled_components()
        .map(|(_, c)| (c.name.clone(), c.plugin.to_string()))
        .collect();
    let tree = pipeline::render_site(&runtime, &site, args.run.jobs())?;
    let (before, shown) = super::diff::existing(
        &args.against,
        &tree.site,
        &site.catalog.spec.gitops.path,
        "HEAD",
    )?;
    let diff = TreeDiff::between(&before, &tree.files);
    Ok(CheckOutcome::Compared {
        diff,
        shown,
        files: tree.files.len(),
    })
}
