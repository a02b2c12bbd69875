//! The rendered tree in git, with git2: read a site's tree at a ref, commit a
//! new one onto a branch (bare repositories too), and push without force. New
//! objects are written as one pack (a mempack backend dumped through the
//! object database's pack writer), not as thousands of loose files. A branch
//! that a work tree has checked out is committed to as git's
//! `receive.denyCurrentBranch=updateInstead` does: only when that work tree
//! is clean, and the work tree follows.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use git2::build::CheckoutBuilder;
use git2::{
    CheckoutNotificationType, ErrorCode, ObjectType, Oid, Repository, Signature, Status,
    StatusOptions, TreeWalkMode, TreeWalkResult,
};

use super::diff::Files;
pub use crate::validate::repo_path::{RepoPathError, check_repo_path};

/// Opens the repository at (or above) `path`; bare repositories work too.
pub fn open(path: &Path) -> anyhow::Result<Repository> {
    Repository::discover(path)
        .with_context(|| format!("{} is not in a git repository", path.display()))
}

/// The files under `path` in the tree `reference` names (empty when the
/// path does not exist there yet).
pub fn read_tree(repo: &Repository, reference: &str, path: &str) -> anyhow::Result<Files> {
    let object = repo
        .revparse_single(reference)
        .with_context(|| format!("`{reference}` names nothing in {}", repo.path().display()))?;
    let root = object
        .peel_to_tree()
        .with_context(|| format!("`{reference}` is not a commit or tree"))?;
    let tree = match path.trim_matches('/') {
        "" => root,
        p => match root.get_path(Path::new(p)) {
            Ok(entry) => entry
                .to_object(repo)?
                .peel_to_tree()
                .with_context(|| format!("`{p}` is not a folder at `{reference}`"))?,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(Files::new()),
            Err(e) => return Err(e.into()),
        },
    };
    let mut files = Files::new();
    let mut failure = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(ObjectType::Blob) {
            return TreeWalkResult::Ok;
        }
        let name = format!("{dir}{}", entry.name().unwrap_or_default());
        match repo.find_blob(entry.id()) {
            Ok(blob) => {
                files.insert(name, blob.content().to_vec());
                TreeWalkResult::Ok
            }
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok(files)
}

/// What `commit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The branch already holds exactly this tree.
    Unchanged,
    Committed {
        id: Oid,
        files_changed: usize,
    },
}

/// A commit to make: the site's files go to `path` on `branch`.
pub struct CommitRequest<'a> {
    pub branch: &'a str,
    pub path: &'a str,
    pub files: &'a Files,
    pub message: &'a str,
    pub author: &'a Signature<'static>,
    pub committer: &'a Signature<'static>,
}

/// Commits `request.files` as the folder `request.path` of `branch`,
/// replacing what was there and keeping the rest of the tree; creates the
/// branch when absent. Safe against a concurrent commit to the same branch:
/// the branch moves only if it still points where this commit started,
/// otherwise the commit is rebuilt on the new tip. A branch that a work tree
/// has checked out moves only if that work tree is clean, and the work tree
/// and its index then follow it (see `commit_into_checkout`).
pub fn commit(repo: &Repository, request: &CommitRequest<'_>) -> anyhow::Result<Outcome> {
    check_repo_path(request.path).map_err(|e| {
        anyhow::anyhow!(
            "cannot commit to the folder `{}`: it {e}",
            request.path.escape_debug()
        )
    })?;
    let refname = format!("refs/heads/{}", request.branch);
    // One in-memory backend for all attempts, on a handle of our own: a
    // second backend added to the same object database (a retry, another
    // call) would not be the one new objects go to, and dumping it would
    // leave the commit out of the pack.
    let repo = &Repository::open(repo.path())?;
    let odb = repo.odb()?;
    let mempack = odb.add_new_mempack_backend(1000)?;
    let writer = Writer {
        repo,
        odb: &odb,
        mempack: &mempack,
        request,
    };
    if let Some(checkout) = checkout_of(repo, &refname)? {
        return commit_into_checkout(&writer, &checkout, &refname);
    }
    for _attempt in 0..10 {
        let parent = tip(repo, &refname)?;
        let Some((id, files_changed)) = writer.prepare(parent.as_ref())? else {
            return Ok(Outcome::Unchanged);
        };
        writer.keep()?;
        let updated = match &parent {
            Some(p) => repo.reference_matching(&refname, id, true, p.id(), "opsmith commit"),
            None => repo.reference(&refname, id, false, "opsmith commit"),
        };
        match updated {
            Ok(_) => return Ok(Outcome::Committed { id, files_changed }),
            // Someone else moved the branch meanwhile: start again on their commit.
            Err(e) if matches!(e.code(), ErrorCode::Modified | ErrorCode::Exists) => continue,
            // Someone else is moving it right now (git's `.lock` file): give
            // them a moment, then start again on whatever they left.
            Err(e) if e.code() == ErrorCode::Locked => {
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    bail!(
        "branch `{}` kept moving while opsmith was committing; try again",
        request.branch
    )
}

/// The commit `refname` points at, if the branch exists.
fn tip<'r>(repo: &'r Repository, refname: &str) -> anyhow::Result<Option<git2::Commit<'r>>> {
    match repo.find_reference(refname) {
        Ok(r) => Ok(Some(r.peel_to_commit()?)),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes commits for one request into the repository: prepared in memory,
/// then kept as one pack, or discarded.
struct Writer<'a> {
    repo: &'a Repository,
    odb: &'a git2::Odb<'a>,
    mempack: &'a git2::Mempack<'a>,
    request: &'a CommitRequest<'a>,
}

impl Writer<'_> {
    /// Builds the commit of the request on `parent` in memory; `None` when
    /// `parent` already holds exactly this tree. Then [`Writer::keep`] or
    /// [`Writer::discard`] it.
    fn prepare(&self, parent: Option<&git2::Commit<'_>>) -> anyhow::Result<Option<(Oid, usize)>> {
        let prepared = self.prepare_in_memory(parent);
        if !matches!(prepared, Ok(Some(_))) {
            self.discard()?;
        }
        prepared
    }

    fn prepare_in_memory(
        &self,
        parent: Option<&git2::Commit<'_>>,
    ) -> anyhow::Result<Option<(Oid, usize)>> {
        let request = self.request;
        let (tree_id, files_changed) = build(self.repo, parent, request)?;
        if parent.is_some_and(|p| p.tree_id() == tree_id) {
            return Ok(None);
        }
        let tree = self.repo.find_tree(tree_id)?;
        let parents: Vec<&git2::Commit<'_>> = parent.into_iter().collect();
        let id = self.repo.commit(
            None,
            request.author,
            request.committer,
            request.message,
            &tree,
            &parents,
        )?;
        Ok(Some((id, files_changed)))
    }

    /// Writes what was prepared (blobs, trees, the commit) into the
    /// repository as one pack. The commit is on no branch yet.
    fn keep(&self) -> anyhow::Result<()> {
        let mut pack = git2::Buf::new();
        self.mempack.dump(self.repo, &mut pack)?;
        self.mempack.reset()?;
        let mut writer = self.odb.packwriter()?;
        writer.write_all(&pack)?;
        writer.commit()?;
        Ok(())
    }

    fn discard(&self) -> anyhow::Result<()> {
        Ok(self.mempack.reset()?)
    }
}

/// The non-bare work tree (the main one or a linked one) whose HEAD is
/// `refname`, opened as a repository of its own.
fn checkout_of(repo: &Repository, refname: &str) -> anyhow::Result<Option<Repository>> {
    let has_checked_out = |r: &Repository| {
        !r.is_bare()
            && r.find_reference("HEAD")
                .is_ok_and(|head| head.symbolic_target() == Some(refname))
    };
    let main = Repository::open(repo.commondir())?;
    if has_checked_out(&main) {
        return Ok(Some(main));
    }
    for name in main.worktrees()?.iter().flatten() {
        // A linked work tree whose folder is gone (not yet pruned) has nothing to update.
        let Ok(linked) = main
            .find_worktree(name)
            .and_then(|w| Repository::open_from_worktree(&w))
        else {
            continue;
        };
        if has_checked_out(&linked) {
            return Ok(Some(linked));
        }
    }
    Ok(None)
}

/// Commits onto the branch `checkout` has checked out, as git's
/// `receive.denyCurrentBranch=updateInstead` does: refused while the work
/// tree or index holds changes, or when the new files would overwrite files
/// git does not track; otherwise the work tree and index are updated to the
/// new commit before the branch moves, so `git status` stays empty. (A render
/// that changes nothing is no commit, whatever the work tree holds.) The
/// branch stays locked from the check to the move, so nobody else moves it
/// in between, and no retry is needed: a concurrent commit finds it locked.
fn commit_into_checkout(
    writer: &Writer<'_>,
    checkout: &Repository,
    refname: &str,
) -> anyhow::Result<Outcome> {
    let repo = writer.repo;
    let branch = writer.request.branch;
    let dir = work_dir(checkout);
    let mut lock = repo.transaction()?;
    lock.lock_ref(refname).with_context(|| {
        format!(
            "cannot lock `{branch}`: is another git command running in {dir}? (a `{refname}.lock` that a killed git left behind can be removed)"
        )
    })?;
    let parent = tip(repo, refname)?;
    let Some((id, files_changed)) = writer.prepare(parent.as_ref())? else {
        return Ok(Outcome::Unchanged);
    };
    if let Err(e) = refuse_changes(checkout, branch) {
        writer.discard()?;
        return Err(e);
    }
    writer.keep()?;
    update_work_tree(checkout, id, branch)?;
    let moved = lock
        .set_target(
            refname,
            id,
            Some(writer.request.committer),
            "opsmith commit",
        )
        .and_then(|()| lock.commit());
    if let Err(e) = moved {
        // Put the work tree back on the branch, which did not move.
        let restored = checkout.checkout_head(Some(CheckoutBuilder::new().force()));
        let state = match restored {
            Ok(()) => "the work tree is as it was",
            Err(_) => "the work tree now holds the new files: `git status` shows them",
        };
        return Err(anyhow::Error::new(e).context(format!(
            "cannot move `{branch}` to the new commit {id} ({state})"
        )));
    }
    Ok(Outcome::Committed { id, files_changed })
}

/// The folder of a work tree, as errors show it.
fn work_dir(checkout: &Repository) -> String {
    let dir = checkout.workdir().unwrap_or(checkout.path());
    // Without the trailing `/` git2 gives it.
    let dir = dir.components().as_path().display().to_string();
    dir.escape_debug().to_string()
}

/// Paths shown in an error, then how many more there are.
fn listing(paths: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = paths
        .iter()
        .take(SHOWN)
        .map(|p| format!("`{}`", p.escape_debug()))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        text.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    text
}

/// Refuses a work tree or index with changes to tracked files (untracked
/// files are checked by the checkout, which refuses to overwrite them).
fn refuse_changes(checkout: &Repository, branch: &str) -> anyhow::Result<()> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(false)
        .include_ignored(false)
        .exclude_submodules(true);
    let changed: Vec<String> = checkout
        .statuses(Some(&mut options))?
        .iter()
        .filter(|entry| entry.status() != Status::CURRENT)
        .map(|entry| String::from_utf8_lossy(entry.path_bytes()).into_owned())
        .collect();
    if !changed.is_empty() {
        let dir = work_dir(checkout);
        bail!(
            "`{branch}` is checked out in {dir}, which has uncommitted changes ({}); opsmith commits to a checked-out branch only from a clean work tree, which it then updates (as git's receive.denyCurrentBranch=updateInstead does). Commit or stash the changes (`git -C {dir} stash`), or commit to a branch that is not checked out (`--branch`) or into a bare clone",
            listing(&changed)
        );
    }
    Ok(())
}

/// Brings the work tree and index of `checkout` from its HEAD to the commit
/// `id`, touching only files that still match HEAD; a file git does not
/// track (ignored ones included) in the way of a new one is a refusal, and
/// then nothing is changed.
fn update_work_tree(checkout: &Repository, id: Oid, branch: &str) -> anyhow::Result<()> {
    let tree = checkout.find_commit(id)?.tree()?;
    let mut blocking = Vec::new();
    let result = {
        let mut options = CheckoutBuilder::new();
        options
            .safe()
            .overwrite_ignored(false)
            .notify_on(CheckoutNotificationType::CONFLICT)
            .notify(|_, path, _, _, _| {
                if let Some(path) = path {
                    blocking.push(path.display().to_string());
                }
                true
            });
        checkout.checkout_tree(tree.as_object(), Some(&mut options))
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.code() == ErrorCode::Conflict => {
            let dir = work_dir(checkout);
            bail!(
                "`{branch}` is checked out in {dir}, where the new commit would overwrite files git does not track ({}); move or remove them, then commit again. `{branch}` did not move",
                listing(&blocking)
            )
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot update the work tree that has `{branch}` checked out"
        ))),
    }
}

/// Writes the new tree (into the mempack) and returns its id and how many
/// files differ from the parent's. `request.path` has passed
/// [`check_repo_path`], so it names a folder below the top.
fn build(
    repo: &Repository,
    parent: Option<&git2::Commit<'_>>,
    request: &CommitRequest<'_>,
) -> anyhow::Result<(Oid, usize)> {
    let path = request.path;
    let before = match parent {
        Some(p) => read_tree(repo, &p.id().to_string(), path)?,
        None => Files::new(),
    };
    let files_changed = super::diff::TreeDiff::between(&before, request.files)
        .files
        .len();
    let site_tree = write_folder(repo, request.files)?;
    let base = parent.map(|p| p.tree()).transpose()?;
    let segments: Vec<&str> = path.split('/').collect();
    let Some((first, rest)) = segments.split_first() else {
        bail!("no folder to commit to");
    };
    let root = splice(repo, base.as_ref(), first, rest, site_tree)?;
    Ok((root, files_changed))
}

/// Writes files (relative paths) as nested trees; returns the top tree.
fn write_folder(repo: &Repository, files: &Files) -> anyhow::Result<Oid> {
    #[derive(Default)]
    struct Folder {
        files: BTreeMap<String, Oid>,
        folders: BTreeMap<String, Folder>,
    }
    fn write(repo: &Repository, folder: &Folder) -> anyhow::Result<Oid> {
        let mut builder = repo.treebuilder(None)?;
        for (name, id) in &folder.files {
            builder.insert(name, *id, 0o100644)?;
        }
        for (name, sub) in &folder.folders {
            builder.insert(name, write(repo, sub)?, 0o040000)?;
        }
        Ok(builder.write()?)
    }
    let odb = repo.odb()?;
    let mut top = Folder::default();
    for (path, bytes) in files {
        // Blobs the repository already has (unchanged files) are not written again.
        let id = Oid::hash_object(ObjectType::Blob, bytes)?;
        if !odb.exists(id) {
            repo.blob(bytes)?;
        }
        let mut parts: Vec<&str> = path.split('/').collect();
        let name = parts.pop().unwrap_or_default();
        let mut folder = &mut top;
        for part in parts {
            folder = folder.folders.entry(part.to_owned()).or_default();
        }
        folder.files.insert(name.to_owned(), id);
    }
    write(repo, &top)
}

/// `base` with its folder `first/rest...` replaced by `tree`. There is
/// always a first segment: the top of the tree itself is never replaced.
fn splice(
    repo: &Repository,
    base: Option<&git2::Tree<'_>>,
    first: &str,
    rest: &[&str],
    tree: Oid,
) -> anyhow::Result<Oid> {
    let new_child = match rest.split_first() {
        None => tree,
        Some((next, rest)) => {
            let child = match base.and_then(|b| b.get_name(first)) {
                Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                    Some(repo.find_tree(entry.id())?)
                }
                _ => None,
            };
            splice(repo, child.as_ref(), next, rest, tree)?
        }
    };
    let mut builder = repo.treebuilder(base)?;
    builder.insert(first, new_child, 0o040000)?;
    Ok(builder.write()?)
}

/// Pushes `branch` to `remote` without force: a remote that moved on is an
/// error, and both repositories stay as they are.
pub fn push(repo: &Repository, remote: &str, branch: &str) -> anyhow::Result<()> {
    let mut remote_handle = repo
        .find_remote(remote)
        .with_context(|| format!("there is no remote `{remote}`"))?;
    let mut rejected: Option<String> = None;
    {
        let mut callbacks = git2::RemoteCallbacks::new();
        callbacks.credentials(credentials);
        callbacks.push_update_reference(|name, status| {
            if let Some(status) = status {
                rejected = Some(format!("{name}: {status}"));
            }
            Ok(())
        });
        let mut options = git2::PushOptions::new();
        options.remote_callbacks(callbacks);
        let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
        remote_handle.push(&[spec.as_str()], Some(&mut options)).map_err(|e| {
            if e.code() == ErrorCode::NotFastForward || e.message().contains("fast-forward") {
                anyhow::anyhow!(
                    "the remote's `{branch}` has moved on since this commit was built; fetch, render and commit again (opsmith never force-pushes)"
                )
            } else {
                anyhow::Error::new(e).context(format!("cannot push `{branch}` to `{remote}`"))
            }
        })?;
    }
    if let Some(reason) = rejected {
        bail!(
            "the remote refused `{branch}` ({reason}); it has probably moved on: fetch, render and commit again (opsmith never force-pushes)"
        );
    }
    Ok(())
}

/// A token from `OPSMITH_GIT_TOKEN` or `GITHUB_TOKEN` for https, the SSH
/// agent for ssh.
fn credentials(
    url: &str,
    username: Option<&str>,
    allowed: git2::CredentialType,
) -> Result<git2::Cred, git2::Error> {
    if allowed.contains(git2::CredentialType::SSH_KEY) {
        return git2::Cred::ssh_key_from_agent(username.unwrap_or("git"));
    }
    if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT)
        && let Some(token) = crate::env::var(crate::env::GIT_TOKEN)
            .or_else(|| crate::env::var(crate::env::GITHUB_TOKEN))
    {
        return git2::Cred::userpass_plaintext("x-access-token", &token);
    }
    Err(git2::Error::from_str(&format!(
        "no credentials for {url}: set OPSMITH_GIT_TOKEN (or GITHUB_TOKEN) for https, or load a key into ssh-agent"
    )))
}

/// The commit HEAD points at in the checkout holding `dir`, if any: the
/// source commit recorded in the trailers.
pub fn source_commit(dir: &Path) -> Option<String> {
    let repo = Repository::discover(dir).ok()?;
    let head = repo.head().ok()?.peel_to_commit().ok()?;
    Some(head.id().to_string())
}

/// Author and committer: `--author`, else `GIT_AUTHOR_*` / `GIT_COMMITTER_*`,
/// else the repository's git config.
pub fn signatures(
    repo: &Repository,
    author: Option<&str>,
) -> anyhow::Result<(Signature<'static>, Signature<'static>)> {
    let from_env = |name: &str, email: &str| -> Option<Signature<'static>> {
        Signature::now(&crate::env::var(name)?, &crate::env::var(email)?).ok()
    };
    let configured = || {
        repo.signature().map(|s| s.to_owned()).map_err(|_| {
            anyhow::anyhow!("no author: pass `--author \"Name <email>\"`, set GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL, or set user.name and user.email in git config")
        })
    };
    let author = match author {
        Some(text) => {
            let (name, email) = text
                .split_once('<')
                .map(|(n, e)| (n.trim(), e.trim_end_matches('>').trim()))
                .filter(|(n, e)| !n.is_empty() && e.contains('@'))
                .with_context(|| format!("--author `{text}` must look like `Name <email>`"))?;
            Signature::now(name, email)?
        }
        None => match from_env("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL") {
            Some(s) => s,
            None => configured()?,
        },
    };
    let committer =
        from_env("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL").unwrap_or_else(|| author.clone());
    Ok((author, committer))
}

#[cfg(test)]
mod tests {
    use super::{CommitRequest, Files, RepoPathError, check_repo_path, commit};
    use git2::{Repository, Signature};

    #[test]
    fn commit_never_replaces_the_whole_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init_bare(dir.path()).expect("init");
        let sig = Signature::now("Test", "test@example.org").expect("signature");
        let readme = repo.blob(b"hand-written\n").expect("blob");
        let mut top = repo.treebuilder(None).expect("treebuilder");
        top.insert("README.md", readme, 0o100644).expect("insert");
        let tree = repo
            .find_tree(top.write().expect("tree"))
            .expect("find tree");
        let before = repo
            .commit(Some("refs/heads/main"), &sig, &sig, "readme", &tree, &[])
            .expect("commit");
        let files: Files = [("site.yaml".to_owned(), b"kind: Site\n".to_vec())]
            .into_iter()
            .collect();
        for path in ["", "/", "//", "."] {
            let request = CommitRequest {
                branch: "main",
                path,
                files: &files,
                message: "render",
                author: &sig,
                committer: &sig,
            };
            let error = commit(&repo, &request).expect_err(path);
            assert!(
                format!("{error:#}").starts_with("cannot commit to the folder"),
                "{path:?}: {error:#}"
            );
            let tip = repo.refname_to_id("refs/heads/main").expect("main");
            assert_eq!(tip, before, "{path:?} moved main");
        }
    }

    #[test]
    fn check_repo_path_accepts_what_the_catalog_schema_accepts() {
        for path in [
            "clusters/infra",
            "infra",
            "a/b/c",
            ".hidden/x",
            "..x/y",
            "...",
            "site_1/v1.2-rc",
            ".gitops/infra",
            "git/x",
        ] {
            assert_eq!(check_repo_path(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn check_repo_path_refuses_paths_that_leave_the_folder_or_reach_git() {
        let dot = |s: &str| RepoPathError::DotSegment {
            segment: s.to_owned(),
        };
        let git = |s: &str| RepoPathError::GitSegment {
            segment: s.to_owned(),
        };
        for (path, expected) in [
            ("", RepoPathError::Empty),
            ("/", RepoPathError::Absolute),
            ("/abs", RepoPathError::Absolute),
            ("a//b", RepoPathError::EmptySegment),
            ("clusters/infra/", RepoPathError::EmptySegment),
            (".", dot(".")),
            ("./clusters", dot(".")),
            ("a/../b", dot("..")),
            ("..", dot("..")),
            (".git", git(".git")),
            ("x/.GIT/y", git(".GIT")),
            ("x/.Git./y", git(".Git.")),
            ("a b", RepoPathError::Character { character: ' ' }),
            ("a\\b", RepoPathError::Character { character: '\\' }),
            ("a/\n", RepoPathError::Character { character: '\n' }),
            ("infrä", RepoPathError::Character { character: 'ä' }),
            ("git~1/x", RepoPathError::Character { character: '~' }),
        ] {
            assert_eq!(check_repo_path(path), Err(expected), "{path:?}");
        }
    }
}
