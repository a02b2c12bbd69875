//! Writing a site's tree into `<out>/<site>/` atomically: the new tree is
//! built beside the old one and swapped in, so a failure anywhere (a kill
//! included) leaves the old tree as it was. Files opsmith wrote before
//! (listed in the old provenance record) and no longer renders disappear.
//! Entries it did not write are kept as they are and never overwritten: the
//! new tree gets a hard link to each, so the old tree is not touched before
//! the swap, a symlink stays a symlink (and is never followed), and a file
//! keeps its inode: content, owner, mode, mtime and its other links.
//!
//! Writers into one `<out>` take turns, holding an advisory lock on the
//! folder, so the staging folders a writer finds for its site were left by an
//! interrupted one: it removes them, or puts back an old tree that an
//! interrupted swap left aside.

use std::collections::BTreeSet;
use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use rayon::prelude::*;
use walkdir::WalkDir;

use crate::layout::{self, Tree};

/// What a write changed, for the summary line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: usize,
    pub removed: usize,
    pub kept_foreign: usize,
}

/// Staging folders sit beside the site's folder as `.<site>.<kind>XXXXXX`.
const NEW_TREE: &str = "opsmith-new-";
const OLD_TREE: &str = "opsmith-old-";

fn staging_prefix(site: &str, kind: &str) -> String {
    format!(".{site}.{kind}")
}

/// Refuses an `--out` that is the filesystem root, however it is spelled
/// (clap already refuses an empty one).
pub fn check_out(out: &Path) -> anyhow::Result<()> {
    let resolved =
        resolve(out).with_context(|| format!("cannot resolve --out `{}`", out.display()))?;
    if resolved.parent().is_none() {
        bail!(
            "--out `{}` is the filesystem root `{}`: opsmith will not put the site's folder there; choose a folder of its own, such as `--out manifests`",
            out.display(),
            resolved.display()
        );
    }
    Ok(())
}

/// `path` made absolute with its links resolved as far as it exists; the
/// part that does not exist yet follows as written (`..` dropping a part).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let parts: Vec<Component> = absolute.components().collect();
    for existing in (1..=parts.len()).rev() {
        let Ok(mut resolved) = parts[..existing].iter().collect::<PathBuf>().canonicalize() else {
            continue;
        };
        for part in &parts[existing..] {
            match part {
                Component::ParentDir => {
                    resolved.pop();
                }
                Component::Normal(name) => resolved.push(name),
                _ => {}
            }
        }
        return Ok(resolved);
    }
    Ok(absolute)
}

/// Refuses a site folder that is, or holds, the inputs: the swap would
/// replace them.
fn refuse_over_inputs(target: &Path, inputs: &Path) -> anyhow::Result<()> {
    let real_target = resolve(target)?;
    let real_inputs = resolve(inputs)?;
    if real_inputs.starts_with(&real_target) {
        let what = if real_inputs == real_target {
            "is the site folder".to_owned()
        } else {
            format!("holds the site folder `{}`", inputs.display())
        };
        bail!(
            "the rendered tree would go to `{}`, which {what}: opsmith replaces that folder as a whole; choose another --out",
            target.display()
        );
    }
    Ok(())
}

/// Writes `tree` to `<out>/<site>/`; `inputs` is the site folder, which the
/// tree must not replace.
pub fn write(tree: &Tree, out: &Path, inputs: &Path) -> anyhow::Result<Summary> {
    check_out(out)?;
    let target = out.join(&tree.site);
    refuse_over_inputs(&target, inputs)?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let turn = wait_for_turn(out)?;
    if turn.is_some() {
        clean_up_interrupted_writes(out, &tree.site, &target)?;
    }
    let owned = previous_tree(&target)?;
    let staging = Staging::new(out, &tree.site)?;
    write_files(&staging.path, tree)?;
    let mut summary = Summary {
        written: tree.files.len(),
        ..Summary::default()
    };
    match owned {
        Some(owned) => {
            summary.kept_foreign = keep_foreign_entries(&target, &staging.path, &owned)?;
            summary.removed = owned
                .iter()
                .filter(|f| !tree.files.contains_key(*f))
                .count();
            swap(&target, staging, out, &tree.site)?;
        }
        None => staging.move_to(&target)?,
    }
    Ok(summary)
}

/// Waits until no other opsmith writes into `out`, and returns the lock
/// (released when dropped, or when the process dies, even by kill -9).
/// `None` where the file system offers no lock: writes stay atomic, but
/// staging folders found there may be live, so they are left alone.
fn wait_for_turn(out: &Path) -> anyhow::Result<Option<File>> {
    let folder = File::open(out).with_context(|| format!("cannot open {}", out.display()))?;
    match folder.try_lock() {
        Ok(()) => Ok(Some(folder)),
        Err(TryLockError::WouldBlock) => {
            crate::diagnostics::note(&format!(
                "waiting for another opsmith writing into {}",
                out.display()
            ));
            folder
                .lock()
                .with_context(|| format!("cannot lock {}", out.display()))?;
            Ok(Some(folder))
        }
        Err(TryLockError::Error(_)) => Ok(None),
    }
}

/// Removes what writes of this site that were killed left in `out`; called
/// holding the lock, so no live process owns them. A write killed between
/// the swap's two renames left no tree at `target` and the old one whole
/// aside: that one is put back.
fn clean_up_interrupted_writes(out: &Path, site: &str, target: &Path) -> anyhow::Result<()> {
    let new_prefix = staging_prefix(site, NEW_TREE);
    let old_prefix = staging_prefix(site, OLD_TREE);
    let mut new_trees = Vec::new();
    let mut old_trees = Vec::new();
    for entry in fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        // Only folders: opsmith never makes a link with these names, and
        // must not follow one.
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if name.starts_with(&new_prefix) {
            new_trees.push(entry.path());
        } else if name.starts_with(&old_prefix) {
            old_trees.push(entry.path());
        }
    }
    old_trees.sort();
    if !old_trees.is_empty() && !exists(target)? {
        let old = old_trees.remove(0);
        fs::rename(&old, target).with_context(|| {
            format!(
                "cannot put back the tree an interrupted write left at {}",
                old.display()
            )
        })?;
        crate::diagnostics::note(&format!(
            "put back {}, which an interrupted write had left at {}",
            target.display(),
            old.display()
        ));
    }
    for stale in new_trees.iter().chain(&old_trees) {
        remove_tree(stale).with_context(|| {
            format!(
                "cannot remove {}, left by an interrupted write; remove it by hand",
                stale.display()
            )
        })?;
    }
    Ok(())
}

fn exists(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The files opsmith owns in the site's folder, or `None` when there is no
/// folder yet. A folder opsmith did not make (no provenance record, yet
/// something in it) is refused rather than adopted.
fn previous_tree(target: &Path) -> anyhow::Result<Option<BTreeSet<String>>> {
    let meta = match fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", target.display())),
    };
    if meta.file_type().is_symlink() {
        bail!(
            "{} is a symbolic link: opsmith replaces the site's folder as a whole, and will neither write through a link nor replace one; remove the link, or choose an --out where the site's folder is a real one",
            target.display()
        );
    }
    if !meta.is_dir() {
        bail!(
            "{} exists and is not a folder: move it away, or choose another --out",
            target.display()
        );
    }
    let record = target.join(layout::PROVENANCE_FILE);
    match fs::symlink_metadata(&record) {
        // Read only a regular file: a FIFO would block, and a link is not
        // something opsmith wrote.
        Ok(meta) if meta.is_file() => {
            let text = fs::read_to_string(&record)
                .with_context(|| format!("cannot read {}", record.display()))?;
            layout::owned_files(&text)
                .map(|files| Some(files.into_iter().collect()))
                .with_context(|| {
                    format!(
                        "{} is not an opsmith provenance record; move it away",
                        record.display()
                    )
                })
        }
        Ok(_) => bail!(
            "{} is not a regular file, so not a provenance record opsmith wrote; move it away",
            record.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let empty = fs::read_dir(target)
                .with_context(|| format!("cannot list {}", target.display()))?
                .next()
                .is_none();
            if !empty {
                bail!(
                    "{}/ is not empty and has no {}, so opsmith did not write it; it will not write into it: choose another --out, or move the folder away (delete it if it is an old rendering)",
                    target.display(),
                    layout::PROVENANCE_FILE
                );
            }
            Ok(Some(BTreeSet::new()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", record.display())),
    }
}

/// A folder the new tree is built in, beside the site's folder; removed
/// unless it was moved into place.
struct Staging {
    path: PathBuf,
    placed: bool,
}

impl Staging {
    fn new(out: &Path, site: &str) -> anyhow::Result<Staging> {
        let path = tempfile::Builder::new()
            .prefix(&staging_prefix(site, NEW_TREE))
            .tempdir_in(out)
            .with_context(|| format!("cannot create a staging folder in {}", out.display()))?
            .keep();
        Ok(Staging {
            path,
            placed: false,
        })
    }

    fn move_to(mut self, target: &Path) -> anyhow::Result<()> {
        fs::rename(&self.path, target)
            .with_context(|| format!("cannot move the new tree to {}", target.display()))?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.placed {
            // Best effort on a path that already fails; what remains is
            // removed by the next write.
            let _ = remove_tree(&self.path);
        }
    }
}

/// Every file of `tree` under `root`: the folders first, once each, then
/// the files on all cores (a large site has tens of thousands).
fn write_files(root: &Path, tree: &Tree) -> anyhow::Result<()> {
    // Paths come from what plugins render: checked at collect, and again
    // here, where a `..` would write outside the tree.
    if let Some(bad) = tree
        .files
        .keys()
        .find(|p| !crate::load::is_plain_relative(p))
    {
        bail!(
            "refusing to write {}: a rendered path must stay inside the site's folder",
            crate::diagnostics::escape_controls(bad)
        );
    }
    let folders: BTreeSet<&str> = tree
        .files
        .keys()
        .filter_map(|path| path.rsplit_once('/').map(|(folder, _)| folder))
        .collect();
    for folder in folders {
        let dir = root.join(folder);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    tree.files.par_iter().try_for_each(|(path, bytes)| {
        let dest = root.join(path);
        fs::write(&dest, bytes).with_context(|| format!("cannot write {}", dest.display()))
    })
}

/// Removes a folder tree of opsmith's own (staging, or an old tree): the
/// files on all cores, then the folders, deepest first. Links are removed,
/// never followed.
fn remove_tree(dir: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    let mut folders = Vec::new();
    for entry in WalkDir::new(dir)
        .follow_root_links(false)
        .contents_first(true)
    {
        let entry = entry?;
        if entry.file_type().is_dir() {
            allow_removal_in(entry.path())?;
            folders.push(entry.into_path());
        } else {
            files.push(entry.into_path());
        }
    }
    files
        .par_iter()
        .with_min_len(64)
        .try_for_each(fs::remove_file)?;
    for folder in folders {
        fs::remove_dir(folder)?;
    }
    Ok(())
}

/// A kept folder keeps its mode, so a read-only one is read-only again in
/// the tree this removes; its old copy is no one's any more.
#[cfg(unix)]
fn allow_removal_in(folder: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::symlink_metadata(folder)?.permissions().mode();
    if mode & 0o700 != 0o700 {
        fs::set_permissions(folder, fs::Permissions::from_mode(mode | 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn allow_removal_in(_folder: &Path) -> io::Result<()> {
    Ok(())
}

/// Gives the new tree each entry of the old one that opsmith did not write,
/// as a hard link; returns how many. The old tree stays whole until the swap,
/// so there is nothing to move back on a failure, and a kill leaves only
/// extra links in a staging folder.
fn keep_foreign_entries(old: &Path, new: &Path, owned: &BTreeSet<String>) -> anyhow::Result<usize> {
    let mut kept = 0;
    let mut made_folders = Vec::new();
    // The walk does not follow links, a link to a folder included.
    for entry in WalkDir::new(old).min_depth(1) {
        let entry = entry?;
        let rel = entry.path().strip_prefix(old)?;
        let dest = new.join(rel);
        if entry.file_type().is_dir() {
            match fs::symlink_metadata(&dest) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(in_the_way(entry.path())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&dest)
                        .with_context(|| format!("cannot create {}", dest.display()))?;
                    made_folders.push((dest, entry.metadata()?));
                }
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", dest.display())),
            }
            continue;
        }
        if slash_path(rel).is_some_and(|rel| owned.contains(&rel)) {
            continue;
        }
        if exists(&dest)? {
            return Err(in_the_way(entry.path()));
        }
        keep(entry.path(), &dest).with_context(|| {
            format!(
                "cannot keep {}, which opsmith did not write, in the new tree; move it out of {}",
                entry.path().display(),
                old.display()
            )
        })?;
        kept += 1;
    }
    // Deepest first, once their contents (which change a folder's mtime)
    // are in.
    for (folder, meta) in made_folders.iter().rev() {
        File::open(folder)
            .and_then(|f| f.set_modified(meta.modified()?))
            .and_then(|()| fs::set_permissions(folder, meta.permissions()))
            .with_context(|| format!("cannot set the mode and time of {}", folder.display()))?;
    }
    Ok(kept)
}

/// The path as the provenance record spells it, if it can be one.
fn slash_path(rel: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

fn in_the_way(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{} exists and opsmith did not write it; it will not overwrite it: move it away, or delete it if it is an old rendering",
        path.display()
    )
}

/// A hard link to `original` at `link`. Linking a symlink links the symlink
/// itself (`linkat` without `AT_SYMLINK_FOLLOW`): its target is never read.
fn keep(original: &Path, link: &Path) -> io::Result<()> {
    match fs::hard_link(original, link) {
        Ok(()) => Ok(()),
        // A symlink owned by another user may not be linked
        // (fs.protected_hardlinks); a new one with the same target is
        // the same link to git.
        #[cfg(unix)]
        Err(e) if fs::symlink_metadata(original).is_ok_and(|m| m.file_type().is_symlink()) => {
            std::os::unix::fs::symlink(fs::read_link(original)?, link).map_err(|_| e)
        }
        Err(e) => Err(e),
    }
}

/// Replaces `target` with the staging tree: two renames, and the old tree is
/// put back if the second fails (or, after a kill, by the next write).
fn swap(target: &Path, mut staging: Staging, out: &Path, site: &str) -> anyhow::Result<()> {
    let old = tempfile::Builder::new()
        .prefix(&staging_prefix(site, OLD_TREE))
        .tempdir_in(out)?
        .keep();
    fs::remove_dir(&old)?;
    fs::rename(target, &old).with_context(|| format!("cannot move {} aside", target.display()))?;
    if let Err(e) = fs::rename(&staging.path, target) {
        let _ = fs::rename(&old, target);
        return Err(e).with_context(|| format!("cannot move the new tree to {}", target.display()));
    }
    staging.placed = true;
    // An error here leaves the new tree in place; the next write removes
    // what remains, and failing keeps a `git add` after us from taking it.
    remove_tree(&old)
        .with_context(|| format!("cannot remove the old tree at {}", old.display()))?;
    Ok(())
}
