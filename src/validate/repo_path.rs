//! The rule for a folder in the GitOps repository (the catalog's
//! `gitops.path`, `--path` of commit, diff and check): an input rule, so it
//! lives with validation, below the git layer that enforces it again.

/// Why a folder in the repository (`--path`, the catalog's `gitops.path`) is
/// refused. Each message reads after the path: "`/x` starts with `/`: ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoPathError {
    #[error("is empty: name the site's folder in the repository, such as `clusters/infra`")]
    Empty,
    #[error("starts with `/`: it is relative to the repository's top, such as `clusters/infra`")]
    Absolute,
    #[error("has an empty segment (`//`, or a `/` at the end)")]
    EmptySegment,
    #[error(
        "has a `{segment}` segment: name the folder itself, without `.` or `..`, such as `clusters/infra`"
    )]
    DotSegment { segment: String },
    #[error("has a `{segment}` segment: that is git's own folder, not a place for files")]
    GitSegment { segment: String },
    #[error(
        "has the character {character:?}: use letters, digits, `.`, `_` and `-` between the `/`s"
    )]
    Character { character: char },
}

/// Checks a folder in the repository the site's tree is committed to or
/// compared with: relative, not empty, segments of `[A-Za-z0-9._-]` that are
/// neither `.` nor `..` (as the catalog schema has it for `gitops.path`), and
/// no `.git` segment in any letter case. The one place this rule lives: an
/// empty or `/` path would replace the whole tree of the branch.
pub fn check_repo_path(path: &str) -> Result<(), RepoPathError> {
    if path.is_empty() {
        return Err(RepoPathError::Empty);
    }
    if path.starts_with('/') {
        return Err(RepoPathError::Absolute);
    }
    for segment in path.split('/') {
        if segment.is_empty() {
            return Err(RepoPathError::EmptySegment);
        }
        if let Some(character) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(RepoPathError::Character { character });
        }
        if segment == "." || segment == ".." {
            return Err(RepoPathError::DotSegment {
                segment: segment.to_owned(),
            });
        }
        // Windows drops trailing dots from a name, so `.git.` is `.git` there
        // (git refuses it too).
        if segment.trim_end_matches('.').eq_ignore_ascii_case(".git") {
            return Err(RepoPathError::GitSegment {
                segment: segment.to_owned(),
            });
        }
    }
    Ok(())
}
