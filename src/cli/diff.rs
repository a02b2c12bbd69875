//! `opsmith diff`: render in memory and show what would change in a folder
//! or in a git tree. Exit 0 when nothing would, 1 when something would.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::{RunArgs, SiteArgs};
use crate::output::{diff, git};
use crate::{ExitStatus, pipeline};

/// What to compare the rendering with.
#[derive(Debug, Args)]
pub struct Against {
    /// A rendered output folder (the site is compared with `<DIR>/<site>`).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["repo", "git_ref"])]
    pub out: Option<PathBuf>,
    /// A git repository (bare or not) to read the tree from.
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// The commit, branch or tag to compare with.
    #[arg(long, value_name = "REF")]
    pub git_ref: Option<String>,
    /// The site's folder in the repository (default: the catalog's `gitops.path`).
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    #[command(flatten)]
    pub against: Against,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The files to compare with, and how to name them in the diff.
pub fn existing(
    against: &Against,
    site_name: &str,
    gitops_path: &str,
    default_ref: &str,
) -> anyhow::Result<(diff::Files, String)> {
    if let Some(out) = &against.out {
        return Ok((diff::read_dir(&out.join(site_name))?, site_name.to_owned()));
    }
    let repo = git::open(against.repo.as_deref().unwrap_or(std::path::Path::new(".")))?;
    let reference = against.git_ref.as_deref().unwrap_or(default_ref);
    let path = match &against.path {
        Some(path) => {
            super::commit::checked_repo_path(path, "--path")?;
            path.clone()
        }
        None => {
            super::commit::checked_repo_path(gitops_path, "the catalog's `gitops.path`")?;
            gitops_path.to_owned()
        }
    };
    Ok((git::read_tree(&repo, reference, &path)?, path))
}

pub fn run(args: &DiffArgs) -> anyhow::Result<ExitStatus> {
    if args.against.out.is_none() && args.against.git_ref.is_none() {
        anyhow::bail!(
            "say what to compare with: `--out DIR`, or `--git-ref REF` (with `--repo PATH` when not in the repository)"
        );
    }
    // Before the render, which takes a while.
    if let Some(path) = &args.against.path {
        super::commit::checked_repo_path(path, "--path")?;
    }
    let runtime = args.run.runtime()?;
    let site = pipeline::load_and_validate_for(&runtime, &args.site.site)?;
    let tree = pipeline::render_site(&runtime, &site, args.run.jobs())?;
    let (before, shown) = existing(
        &args.against,
        &tree.site,
        &site.catalog.spec.gitops.path,
        "HEAD",
    )?;
    let changes = diff::TreeDiff::between(&before, &tree.files);
    if changes.is_empty() {
        crate::diagnostics::note(&format!("no difference: {} files", tree.files.len()));
        return Ok(ExitStatus::Success);
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(changes.render(&shown, super::colour_stdout()).as_bytes())?;
    stdout.flush()?;
    crate::diagnostics::note(&format!(
        "{} files differ: {}",
        changes.files.len(),
        changes.counts()
    ));
    Ok(ExitStatus::Differs)
}
