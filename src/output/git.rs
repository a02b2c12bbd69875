//! The rendered tree in git, with git2 and no working copy: read a site's
//! tree at a ref, commit a new one onto a branch (bare repositories too), and
//! push without force. New objects are written as one pack (a mempack
//! backend dumped through the object database's pack writer), not as
//! thousands of loose files.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use git2::{ErrorCode, ObjectType, Oid, Repository, Signature, TreeWalkMode, TreeWalkResult};

use super::diff::Files;

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
/// otherwise the commit is rebuilt on the new tip.
pub fn commit(repo: &Repository, request: &CommitRequest<'_>) -> anyhow::Result<Outcome> {
    let refname = format!("refs/heads/{}", request.branch);
    // One in-memory backend for all attempts, on a handle of our own: a
    // second backend added to the same object database (a retry, another
    // call) would not be the one new objects go to, and dumping it would
    // leave the commit out of the pack.
    let repo = &Repository::open(repo.path())?;
    let odb = repo.odb()?;
    let mempack = odb.add_new_mempack_backend(1000)?;
    for _attempt in 0..5 {
        let parent = match repo.find_reference(&refname) {
            Ok(r) => Some(r.peel_to_commit()?),
            Err(e) if e.code() == ErrorCode::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        let built = build(repo, parent.as_ref(), request);
        let (tree_id, files_changed) = match built {
            Ok(v) => v,
            Err(e) => {
                mempack.reset()?;
                return Err(e);
            }
        };
        if parent.as_ref().is_some_and(|p| p.tree_id() == tree_id) {
            mempack.reset()?;
            return Ok(Outcome::Unchanged);
        }
        let tree = repo.find_tree(tree_id)?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let id = repo.commit(
            None,
            request.author,
            request.committer,
            request.message,
            &tree,
            &parents,
        )?;
        // Everything new (blobs, trees, the commit) leaves memory as one pack.
        let mut pack = git2::Buf::new();
        mempack.dump(repo, &mut pack)?;
        mempack.reset()?;
        let mut writer = odb.packwriter()?;
        writer.write_all(&pack)?;
        writer.commit()?;
        let updated = match &parent {
            Some(p) => repo.reference_matching(&refname, id, true, p.id(), "opsmith commit"),
            None => repo.reference(&refname, id, false, "opsmith commit"),
        };
        match updated {
            Ok(_) => return Ok(Outcome::Committed { id, files_changed }),
            // Someone else moved the branch meanwhile: start again on their commit.
            Err(e) if matches!(e.code(), ErrorCode::Modified | ErrorCode::Exists) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    bail!(
        "branch `{}` kept moving while opsmith was committing; try again",
        request.branch
    )
}

/// Writes the new tree (into the mempack) and returns its id and how many
/// files differ from the parent's.
fn build(
    repo: &Repository,
    parent: Option<&git2::Commit<'_>>,
    request: &CommitRequest<'_>,
) -> anyhow::Result<(Oid, usize)> {
    let path = request.path.trim_matches('/');
    let before = match parent {
        Some(p) => read_tree(repo, &p.id().to_string(), path)?,
        None => Files::new(),
    };
    let files_changed = super::diff::TreeDiff::between(&before, request.files)
        .files
        .len();
    let site_tree = write_folder(repo, request.files)?;
    let base = parent.map(|p| p.tree()).transpose()?;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let root = splice(repo, base.as_ref(), &segments, site_tree)?;
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

/// `base` with the folder at `segments` replaced by `tree`.
fn splice(
    repo: &Repository,
    base: Option<&git2::Tree<'_>>,
    segments: &[&str],
    tree: Oid,
) -> anyhow::Result<Oid> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(tree);
    };
    let child = match base.and_then(|b| b.get_name(first)) {
        Some(entry) if entry.kind() == Some(ObjectType::Tree) => Some(repo.find_tree(entry.id())?),
        _ => None,
    };
    let new_child = splice(repo, child.as_ref(), rest, tree)?;
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
