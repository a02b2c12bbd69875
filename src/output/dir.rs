//! Writing a site's tree into `<out>/<site>/` atomically: the new tree is
//! built beside the old one and swapped in, so a failure anywhere leaves the
//! old tree as it was. Files opsmith wrote before (listed in the old
//! provenance record) and no longer renders disappear; files it did not
//! write are carried over untouched, and never overwritten.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

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

/// The files opsmith owns in an existing site folder.
fn owned(site_dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    let record = site_dir.join(layout::PROVENANCE_FILE);
    match fs::read_to_string(&record) {
        Ok(text) => layout::owned_files(&text)
            .map(|files| files.into_iter().collect())
            .with_context(|| {
                format!(
                    "{} is not an opsmith provenance record; move it away",
                    record.display()
                )
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", record.display())),
    }
}

fn relative(path: &Path, base: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Writes `tree` to `<out>/<site>/`.
pub fn write(tree: &Tree, out: &Path) -> anyhow::Result<Summary> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let target = out.join(&tree.site);
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.opsmith-new-", tree.site))
        .tempdir_in(out)
        .with_context(|| format!("cannot create a staging folder in {}", out.display()))?;
    let mut summary = Summary::default();
    write_files(staging.path(), tree)?;
    summary.written = tree.files.len();
    if target.exists() {
        let owned = owned(&target)?;
        carry_over_foreign_files(&target, staging.path(), tree, &owned, &mut summary)?;
        summary.removed = owned
            .iter()
            .filter(|f| !tree.files.contains_key(*f))
            .count();
        swap(&target, staging.keep(), out)?;
    } else {
        fs::rename(staging.keep(), &target)
            .with_context(|| format!("cannot move the new tree to {}", target.display()))?;
    }
    Ok(summary)
}

/// Every file of `tree` under `root`: the folders first, once each, then
/// the files on all cores (a large site has tens of thousands).
fn write_files(root: &Path, tree: &Tree) -> anyhow::Result<()> {
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

/// Removes a folder tree: the files on all cores, then the folders, deepest
/// first.
fn remove_tree(dir: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    let mut folders = Vec::new();
    for entry in WalkDir::new(dir).contents_first(true) {
        let entry = entry?;
        if entry.file_type().is_dir() {
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

fn carry_over_foreign_files(
    target: &Path,
    staging: &Path,
    tree: &Tree,
    owned: &BTreeSet<String>,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    for entry in WalkDir::new(target).min_depth(1) {
        let entry = entry?;
        if entry.file_type().is_dir() {
            continue;
        }
        let Some(rel) = relative(entry.path(), target) else {
            continue;
        };
        if owned.contains(&rel) {
            continue;
        }
        if tree.files.contains_key(&rel) {
            bail!(
                "{} exists and opsmith did not write it; it will not overwrite it: move it away, or delete it if it is an old rendering",
                entry.path().display()
            );
        }
        let dest = staging.join(&rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(entry.path(), &dest)
            .with_context(|| format!("cannot keep {}", entry.path().display()))?;
        summary.kept_foreign += 1;
    }
    Ok(())
}

/// Replaces `target` with `new`: two renames, and the old tree is restored
/// if the second fails.
fn swap(target: &Path, new: PathBuf, out: &Path) -> anyhow::Result<()> {
    let old = tempfile::Builder::new()
        .prefix(".opsmith-old-")
        .tempdir_in(out)?
        .keep();
    fs::remove_dir(&old)?;
    fs::rename(target, &old).with_context(|| format!("cannot move {} aside", target.display()))?;
    if let Err(e) = fs::rename(&new, target) {
        let _ = fs::rename(&old, target);
        let _ = fs::remove_dir_all(&new);
        return Err(e).with_context(|| format!("cannot move the new tree to {}", target.display()));
    }
    remove_tree(&old)
        .with_context(|| format!("cannot remove the old tree at {}", old.display()))?;
    Ok(())
}
