//! `opsmith commit`: render and commit the site's tree to a branch with git2
//! (bare repositories work; a checked-out branch only from a clean work tree,
//! which then follows it), then optionally push.

use std::path::PathBuf;

use clap::Args;

use super::{RunArgs, SiteArgs};
use crate::output::git::{self, CommitRequest, Outcome};
use crate::{ExitStatus, layout, pipeline};

#[derive(Debug, Args)]
pub struct CommitArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    /// The repository to commit to (bare or not).
    #[arg(long, value_name = "PATH")]
    pub repo: PathBuf,
    /// The branch (default: the catalog's `gitops.targetRevision`); created when absent.
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// The site's folder in the repository (default: the catalog's `gitops.path`).
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
    /// The commit message's first lines; opsmith adds its trailers.
    #[arg(long, short = 'm', value_name = "M")]
    pub message: Option<String>,
    /// `Name <email>` (default: GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL, else git config).
    #[arg(long, value_name = "AUTHOR")]
    pub author: Option<String>,
    /// Push the branch to this remote afterwards (never forced).
    #[arg(long, value_name = "REMOTE")]
    pub push: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The commit message: the user's text, then git trailers recording what
/// produced the tree.
fn message(args: &CommitArgs, site_name: &str, provenance: &layout::Provenance) -> String {
    let mut text = args
        .message
        .clone()
        .unwrap_or_else(|| format!("opsmith: render site {site_name}"));
    text.push_str("\n\n");
    text.push_str(&format!(
        "Opsmith-Inputs-Sha256: {}\n",
        provenance.inputs_sha256
    ));
    if let Some(source) = git::source_commit(&args.site.site) {
        text.push_str(&format!("Opsmith-Source-Commit: {source}\n"));
    }
    for plugin in &provenance.plugins {
        let digest = match &plugin.digest {
            crate::collect::PluginDigest::File { sha256 } => format!("sha256:{sha256}"),
            crate::collect::PluginDigest::Builtin { source_sha256 } => {
                format!("source-sha256:{source_sha256}")
            }
        };
        text.push_str(&format!(
            "Opsmith-Plugin: {} {}@{} {digest}\n",
            plugin.component, plugin.name, plugin.version
        ));
    }
    text.push_str(&format!("Opsmith-Version: {}\n", env!("CARGO_PKG_VERSION")));
    text
}

/// Refuses a folder that is not one below the repository's top (an empty
/// `--path` from an unset CI variable would replace the whole branch);
/// `origin` names where it came from.
pub fn checked_repo_path(path: &str, origin: &str) -> anyhow::Result<()> {
    git::check_repo_path(path)
        .map_err(|e| anyhow::anyhow!("{origin} `{}` {e}", path.escape_debug()))
}

pub fn run(args: &CommitArgs) -> anyhow::Result<ExitStatus> {
    // Before the render, which takes a while.
    if let Some(path) = &args.path {
        checked_repo_path(path, "--path")?;
    }
    let runtime = args.run.runtime()?;
    let site = pipeline::load_and_validate_for(&runtime, &args.site.site)?;
    let path = match &args.path {
        Some(path) => path.clone(),
        None => {
            let path = site.catalog.spec.gitops.path.clone();
            checked_repo_path(&path, "the catalog's `gitops.path`")?;
            path
        }
    };
    let tree = pipeline::render_site(&runtime, &site, args.run.jobs())?;
    let repo = git::open(&args.repo)?;
    let branch = args
        .branch
        .clone()
        .unwrap_or_else(|| site.catalog.spec.gitops.target_revision.clone());
    let (author, committer) = git::signatures(&repo, args.author.as_deref())?;
    let text = message(args, &tree.site, &tree.provenance);
    let request = CommitRequest {
        branch: &branch,
        path: &path,
        files: &tree.files,
        message: &text,
        author: &author,
        committer: &committer,
    };
    match git::commit(&repo, &request)? {
        Outcome::Unchanged => crate::diagnostics::note(&format!(
            "`{branch}` already holds this rendering of `{path}`: nothing to commit"
        )),
        Outcome::Committed { id, files_changed } => crate::diagnostics::note(&format!(
            "committed {id} on `{branch}`: {files_changed} files changed under `{path}`"
        )),
    }
    if let Some(remote) = &args.push {
        git::push(&repo, remote, &branch)?;
        crate::diagnostics::note(&format!("pushed `{branch}` to `{remote}`"));
    }
    Ok(ExitStatus::Success)
}
