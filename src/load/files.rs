//! A component's `files:`: the files of the site folder its globs match,
//! read as text for its plugin. Only the site folder is ever read: a glob
//! cannot name a path outside it, and a symbolic link that leads outside
//! is refused before its target is opened.

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
    let mut everything = Vec::new();
    walk(dir, "", &mut everything);
    everything.sort();
    let mut matched: Vec<(usize, &String)> = Vec::new();
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
        let before = matched.len();
        matched.extend(
            everything
                .iter()
                .filter(|path| pattern.matches_with(path, options))
                .map(|path| (index, path)),
        );
        if matched.len() == before {
            return Err((index, FilesError::NoMatch(text.clone())));
        }
    }
    matched.sort_by(|a, b| a.1.cmp(b.1));
    matched.dedup_by(|a, b| a.1 == b.1);
    let mut total = 0u64;
    let mut files = Vec::with_capacity(matched.len());
    for (index, path) in matched {
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
}
