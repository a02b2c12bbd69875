//! Comparing a rendered tree with what is there (a folder or a git tree):
//! which files were added, changed or removed, and unified diffs of them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use similar::TextDiff;
use walkdir::WalkDir;

use crate::layout;

/// Files of a site's tree: relative path (with `/`) to content.
pub type Files = BTreeMap<String, Vec<u8>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Added,
    Changed,
    Removed,
}

impl Change {
    pub fn word(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }
}

/// One file that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub change: Change,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

impl FileChange {
    /// The component a file belongs to: its first folder (`day0` files by
    /// their second), or `-` for the provenance record.
    pub fn component(&self) -> &str {
        let mut parts = self.path.split('/');
        match (parts.next(), parts.next()) {
            (Some(layout::DAY0_DIR), Some(component)) => component,
            (Some(first), Some(_)) => first,
            _ => "-",
        }
    }
}

/// Every difference between two trees, in path order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeDiff {
    pub files: Vec<FileChange>,
}

impl TreeDiff {
    pub fn between(old: &Files, new: &Files) -> TreeDiff {
        let mut files = Vec::new();
        for (path, bytes) in new {
            match old.get(path) {
                None => files.push(FileChange {
                    path: path.clone(),
                    change: Change::Added,
                    old: Vec::new(),
                    new: bytes.clone(),
                }),
                Some(before) if before != bytes => files.push(FileChange {
                    path: path.clone(),
                    change: Change::Changed,
                    old: before.clone(),
                    new: bytes.clone(),
                }),
                Some(_) => {}
            }
        }
        for (path, bytes) in old {
            if !new.contains_key(path) {
                files.push(FileChange {
                    path: path.clone(),
                    change: Change::Removed,
                    old: bytes.clone(),
                    new: Vec::new(),
                });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        TreeDiff { files }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn count(&self, change: Change) -> usize {
        self.files.iter().filter(|f| f.change == change).count()
    }

    /// `N added, N changed, N removed`.
    pub fn counts(&self) -> String {
        format!(
            "{} added, {} changed, {} removed",
            self.count(Change::Added),
            self.count(Change::Changed),
            self.count(Change::Removed)
        )
    }

    /// The file list, then the hunks; `prefix` is the site's folder as shown
    /// in the diff headers.
    pub fn render(&self, prefix: &str, color: bool) -> String {
        let mut out = String::new();
        for f in &self.files {
            let line = format!("{:<8} {prefix}/{}", f.change.word(), f.path);
            let _ = writeln!(out, "{}", crate::diagnostics::printable_lines(&line));
        }
        for f in &self.files {
            out.push('\n');
            out.push_str(&unified(f, prefix, color));
        }
        out
    }
}

/// One file's unified diff (`a/` and `b/` headers, three lines of context).
pub fn unified(f: &FileChange, prefix: &str, color: bool) -> String {
    let old = String::from_utf8_lossy(&f.old);
    let new = String::from_utf8_lossy(&f.new);
    let (a, b) = match f.change {
        Change::Added => ("/dev/null".to_owned(), format!("b/{prefix}/{}", f.path)),
        Change::Removed => (format!("a/{prefix}/{}", f.path), "/dev/null".to_owned()),
        Change::Changed => (
            format!("a/{prefix}/{}", f.path),
            format!("b/{prefix}/{}", f.path),
        ),
    };
    let text = TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string();
    // Committed files and paths are not opsmith's: a CR or an escape
    // sequence in them must not act on the terminal or the CI log.
    let text = crate::diagnostics::printable_lines(&text);
    if !color {
        return text;
    }
    text.lines()
        .map(|line| {
            let code = if line.starts_with("+++") || line.starts_with("---") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                return format!("{line}\n");
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}

/// The files of a rendered site in `dir` (`<out>/<site>`): those its
/// provenance record says opsmith wrote, or every file when there is none.
pub fn read_dir(dir: &Path) -> anyhow::Result<Files> {
    let mut files = Files::new();
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
        // A link there (to `.git`, to a mounted token) is not the rendered
        // tree, and what it leads to must not reach the diff or the PR comment.
        Ok(meta) if !meta.is_dir() => bail!(
            "{} is not a folder opsmith rendered (a link or a file): move it away",
            dir.display()
        ),
        Ok(_) => {}
    }
    let record = dir.join(layout::PROVENANCE_FILE);
    // Only a regular file is read: a FIFO put there would block the read.
    let is_file = std::fs::symlink_metadata(&record).is_ok_and(|m| m.is_file());
    let owned = match is_file.then(|| std::fs::read_to_string(&record)) {
        Some(Ok(text)) => layout::owned_files(&text),
        _ => None,
    };
    for entry in WalkDir::new(dir).follow_root_links(false).min_depth(1) {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if owned.as_ref().is_some_and(|o| !o.contains(&rel)) {
            continue;
        }
        let bytes = std::fs::read(entry.path())
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        files.insert(rel, bytes);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> Files {
        entries
            .iter()
            .map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn lists_changes_in_path_order() {
        let old = files(&[
            ("a/x.yaml", "1\n"),
            ("b/y.yaml", "same\n"),
            ("c/z.yaml", "gone\n"),
        ]);
        let new = files(&[
            ("a/x.yaml", "2\n"),
            ("b/y.yaml", "same\n"),
            ("d/w.yaml", "new\n"),
        ]);
        let diff = TreeDiff::between(&old, &new);
        let summary: Vec<(&str, Change)> = diff
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.change))
            .collect();
        assert_eq!(
            summary,
            [
                ("a/x.yaml", Change::Changed),
                ("c/z.yaml", Change::Removed),
                ("d/w.yaml", Change::Added)
            ]
        );
        let text = diff.render("infra", false);
        assert!(
            text.starts_with(
                "changed  infra/a/x.yaml\nremoved  infra/c/z.yaml\nadded    infra/d/w.yaml\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("--- a/infra/a/x.yaml\n+++ b/infra/a/x.yaml\n"),
            "{text}"
        );
        assert!(text.contains("-1\n+2\n"), "{text}");
        assert_eq!(diff.counts(), "1 added, 1 changed, 1 removed");
    }

    #[test]
    fn component_of_a_path() {
        let f = |path: &str| FileChange {
            path: path.into(),
            change: Change::Added,
            old: vec![],
            new: vec![],
        };
        assert_eq!(f("prow/prow/deployment-hook.yaml").component(), "prow");
        assert_eq!(
            f("day0/install-config/install-config.yaml").component(),
            "install-config"
        );
        assert_eq!(f("opsmith-provenance.yaml").component(), "-");
    }
}
