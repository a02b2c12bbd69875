//! A component's `files:`: the files of the site folder its globs match,
//! read as text for its plugin. Only the site folder is ever read: a glob
//! cannot name a path outside it, and a symbolic link that leads outside
//! is refused before its target is opened.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostics::display_path;

/// What the files of one component may add up to: templates and manifests,
/// not data.
pub const MAX_COMPONENT_FILES_BYTES: u64 = 8 << 20;

/// One file given to a component's plugin.
#[derive(Debug, Clone)]
pub struct ComponentFile {
    /// Relative to the site folder, `/` between folders: what the plugin sees.
    pub path: String,
    /// As messages name it, such as `site/templates/chrony.yaml.j2`.
    pub shown: String,
    pub content: String,
}

/// Why one of a component's globs gave no files.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("`{0}` must be relative to the site folder, without `..`")]
    NotRelative(String),
    #[error("`{glob}` is not a glob: {why}")]
    BadGlob { glob: String, why: String },
    #[error("`{0}` matches no file in the site folder")]
    NoMatch(String),
    #[error("`{path}`: {why}")]
    Unreadable { path: String, why: String },
    #[error("`{0}` is not UTF-8 text; give a component text files only")]
    NotText(String),
    #[error(
        "the files of this component add up to more than {limit} MiB (at `{0}`); give it templates and manifests, not data",
        limit = MAX_COMPONENT_FILES_BYTES >> 20
    )]
    TooLarge(String),
}

/// The files `globs` match in the site folder `dir`, read, sorted by path
/// and each once. On failure, the index of the glob at fault.
pub fn component_files(
    dir: &Path,
    globs: &[String],
) -> Result<Vec<ComponentFile>, (usize, FilesError)> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        // `*` stays within a folder, as in a shell; `**` crosses folders.
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    // Each folder a glob can match in is listed once, from the glob's
    // literal start: `templates/*.j2` reads templates/, not the whole site.
    let mut listed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut matched: Vec<(usize, String)> = Vec::new();
    for (index, text) in globs.iter().enumerate() {
        if text.starts_with('/') || text.split('/').any(|part| part == "..") || text.contains('\\')
        {
            return Err((index, FilesError::NotRelative(text.clone())));
        }
        let pattern = glob::Pattern::new(text).map_err(|e| {
            (
                index,
                FilesError::BadGlob {
                    glob: text.clone(),
                    why: e.msg.to_owned(),
                },
            )
        })?;
        let start = literal_folder(text);
        let candidates = listed
            .entry(start)
            .or_insert_with(|| files_under(dir, start));
        let before = matched.len();
        matched.extend(
            candidates
                .iter()
                .filter(|path| pattern.matches_with(path, options))
                .map(|path| (index, path.clone())),
        );
        if matched.len() == before {
            return Err((index, FilesError::NoMatch(text.clone())));
        }
    }
    matched.sort_by(|a, b| a.1.cmp(&b.1));
    matched.dedup_by(|a, b| a.1 == b.1);
    let mut total = 0u64;
    let mut files = Vec::with_capacity(matched.len());
    for (index, path) in matched {
        let path = &path;
        let real = super::site_file(dir, path).map_err(|e| {
            (
                index,
                FilesError::Unreadable {
                    path: path.clone(),
                    why: e.to_string(),
                },
            )
        })?;
        let size = std::fs::metadata(&real).map(|m| m.len()).unwrap_or(0);
        total += size;
        if total > MAX_COMPONENT_FILES_BYTES {
            return Err((index, FilesError::TooLarge(path.clone())));
        }
        let bytes = std::fs::read(&real).map_err(|e| {
            (
                index,
                FilesError::Unreadable {
                    path: path.clone(),
                    why: e.to_string(),
                },
            )
        })?;
        let content =
            String::from_utf8(bytes).map_err(|_| (index, FilesError::NotText(path.clone())))?;
        files.push(ComponentFile {
            path: path.clone(),
            shown: display_path(&dir.join(path)),
            content,
        });
    }
    Ok(files)
}

/// The folders of `glob` before its first wildcard (`templates/sub` of
/// `templates/sub/*.j2`; empty for `*.yaml` or `**/x`): where its matches
/// can be. Never the last part, which names files.
fn literal_folder(glob: &str) -> &str {
    let mut end = 0;
    for (at, _) in glob.match_indices('/') {
        if glob[..at].contains(['*', '?', '[', ']']) {
            break;
        }
        end = at;
    }
    &glob[..end]
}

/// Every file and symbolic link under the site's folder `start` (as
/// `start/...`), as [`walk`] lists them: no folder on the way may be a
/// link, as no link to a folder is followed below it either.
fn files_under(dir: &Path, start: &str) -> Vec<String> {
    let mut folder = dir.to_path_buf();
    for part in start.split('/').filter(|p| !p.is_empty()) {
        folder.push(part);
        if !std::fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
            return Vec::new();
        }
    }
    let mut out = Vec::new();
    walk(&folder, start, &mut out);
    out
}

/// Every file and symbolic link under `dir` (as `prefix/...`), links to
/// folders not followed: what a glob may match.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk(&entry.path(), &relative, out),
            Ok(_) => out.push(relative),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }
        dir
    }

    fn paths(dir: &Path, globs: &[&str]) -> Result<Vec<String>, (usize, String)> {
        let globs: Vec<String> = globs.iter().map(|g| (*g).to_owned()).collect();
        component_files(dir, &globs)
            .map(|files| files.into_iter().map(|f| f.path).collect())
            .map_err(|(i, e)| (i, e.to_string()))
    }

    #[test]
    fn globs_match_sorted_once_and_star_stays_in_its_folder() {
        let dir = site(&[
            ("templates/b.yaml.j2", b"b"),
            ("templates/a.yaml", b"a"),
            ("templates/sub/c.yaml", b"c"),
            ("catalog.yaml", b"x"),
        ]);
        assert_eq!(
            paths(dir.path(), &["templates/*", "templates/a.yaml"]),
            Ok(vec![
                "templates/a.yaml".into(),
                "templates/b.yaml.j2".into()
            ])
        );
        assert_eq!(
            paths(dir.path(), &["templates/**/*.yaml"]),
            Ok(vec![
                "templates/a.yaml".into(),
                "templates/sub/c.yaml".into()
            ])
        );
    }

    #[test]
    fn paths_outside_the_site_and_bad_files_are_refused() {
        let outside = site(&[("secret.yaml", b"token")]);
        let dir = site(&[("templates/a.yaml", b"a"), ("bin/x.yaml", b"\xff\xfe")]);
        std::os::unix::fs::symlink(
            outside.path().join("secret.yaml"),
            dir.path().join("templates/link.yaml"),
        )
        .expect("symlink");
        assert_eq!(
            paths(dir.path(), &["templates/a.yaml", "../secret.yaml"]),
            Err((
                1,
                "`../secret.yaml` must be relative to the site folder, without `..`".into()
            ))
        );
        assert_eq!(
            paths(dir.path(), &["/etc/passwd"]),
            Err((
                0,
                "`/etc/passwd` must be relative to the site folder, without `..`".into()
            ))
        );
        assert_eq!(
            paths(dir.path(), &["templates/*.yaml"]),
            Err((0, "`templates/link.yaml`: the path leads outside the site folder (through a symbolic link): a site's files must be inside it; the link was not followed".into()))
        );
        assert_eq!(
            paths(dir.path(), &["bin/*"]),
            Err((
                0,
                "`bin/x.yaml` is not UTF-8 text; give a component text files only".into()
            ))
        );
        assert_eq!(
            paths(dir.path(), &["nothing/*"]),
            Err((0, "`nothing/*` matches no file in the site folder".into()))
        );
    }

    #[test]
    fn a_glob_lists_only_the_folders_it_can_match_in() {
        assert_eq!(literal_folder("templates/*.j2"), "templates");
        assert_eq!(literal_folder("templates/sub/a.yaml"), "templates/sub");
        assert_eq!(literal_folder("templates/*/a.yaml"), "templates");
        assert_eq!(literal_folder("t?/a.yaml"), "");
        assert_eq!(literal_folder("**/*.yaml"), "");
        assert_eq!(literal_folder("a.yaml"), "");
        // A linked folder is not followed, whether a glob names it or
        // crosses it.
        let outside = site(&[("x/secret.yaml", b"token")]);
        let dir = site(&[("templates/a.yaml", b"a")]);
        std::os::unix::fs::symlink(outside.path().join("x"), dir.path().join("linked"))
            .expect("symlink");
        for glob in ["linked/*.yaml", "**/secret.yaml"] {
            assert_eq!(
                paths(dir.path(), &[glob]),
                Err((0, format!("`{glob}` matches no file in the site folder")))
            );
        }
    }
}
