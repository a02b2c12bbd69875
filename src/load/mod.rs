//! Stage 1, load: reads `inventory.yaml` and `catalog.yaml` from the site
//! folder and parses them keeping source positions, so that every later
//! stage can point its errors at `file:line:column`. Hands [`Inputs`] to
//! validate.

pub mod builtin;
pub mod files;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::diagnostics::{Invalid, Problem, display_path};
use opsmith_yaml::{Children, Node, Pos};

/// One parsed input file.
#[derive(Debug)]
pub struct Document {
    /// The path as shown in messages.
    pub file: String,
    pub path: PathBuf,
    pub text: String,
    pub value: Value,
    /// Whether messages may quote the file's lines: only when it reads as
    /// the opsmith document it should be, never for any other file that
    /// happens to be at its path.
    shows_lines: bool,
    /// Built the first time a message needs a position: valid input, the
    /// common case, never needs one.
    root: OnceLock<Node>,
    /// Where each line starts, built with `root`: a large file with a
    /// problem per host would otherwise be scanned once per problem.
    line_starts: OnceLock<Vec<usize>>,
}

impl Document {
    /// Where each node of the document sits in its text.
    pub fn root(&self) -> &Node {
        self.root.get_or_init(|| positions(&self.text))
    }

    /// Line `pos` names, when messages may quote the file's lines.
    fn quotable(&self, pos: Pos) -> Option<&str> {
        if !self.shows_lines {
            return None;
        }
        let starts = self.line_starts.get_or_init(|| line_starts(&self.text));
        let index = usize::try_from(pos.line).ok()?.checked_sub(1)?;
        let start = *starts.get(index)?;
        let rest = &self.text[start..];
        let end = memchr::memchr2(b'\r', b'\n', rest.as_bytes()).unwrap_or(rest.len());
        Some(&rest[..end])
    }

    /// A problem at the node `pointer` designates.
    pub fn problem_at(&self, pointer: &str, message: impl Into<String>) -> Problem {
        let pos = self.root().locate(pointer);
        Problem::with_line(&self.file, self.quotable(pos), pos, message)
    }

    /// A problem at the key of the map entry `pointer` designates.
    pub fn problem_at_key(&self, pointer: &str, message: impl Into<String>) -> Problem {
        let pos = self.root().locate_key(pointer);
        Problem::with_line(&self.file, self.quotable(pos), pos, message)
    }
}

/// The site's two input documents.
#[derive(Debug)]
pub struct Inputs {
    pub dir: PathBuf,
    pub inventory: Document,
    pub catalog: Document,
}

pub const INVENTORY_FILE: &str = "inventory.yaml";
pub const CATALOG_FILE: &str = "catalog.yaml";

/// The API group of opsmith's own documents.
const API_GROUP: &str = "opsmith.dev/";

/// Reads and parses both files of the site in `dir`, reporting the problems
/// of both at once.
pub fn site(dir: &Path) -> Result<Inputs, Invalid> {
    site_with_catalog(dir, catalog(dir))
}

/// The site's catalog.yaml, read and parsed.
pub fn catalog(dir: &Path) -> Result<Document, Problem> {
    input(dir, CATALOG_FILE, "AppCatalog")
}

/// Why a file named by the site cannot be read: each reason names no
/// content of the file.
#[derive(Debug, thiserror::Error)]
pub enum SiteFileError {
    #[error("the path must be relative to the site folder, without `..`")]
    NotRelative,
    #[error("cannot read the file: {0}")]
    Unreadable(#[source] std::io::Error),
    #[error(
        "the path leads outside the site folder (through a symbolic link): a site's files must be inside it; the link was not followed"
    )]
    Outside,
    #[error("not a regular file")]
    NotAFile,
}

/// Whether `relative` names a path under a folder: not absolute, no `..`,
/// not empty.
pub fn is_plain_relative(relative: &str) -> bool {
    let path = Path::new(relative);
    !relative.is_empty()
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

/// The file `relative` names in the site folder `dir`, once it is known to
/// be a regular file inside that folder, symbolic links resolved: a link to
/// a file elsewhere (a credential, a token mounted in the job) is refused
/// before anything is read, so that no message can quote it.
pub fn site_file(dir: &Path, relative: &str) -> Result<PathBuf, SiteFileError> {
    if !is_plain_relative(relative) {
        return Err(SiteFileError::NotRelative);
    }
    let path = dir.join(relative);
    let real = std::fs::canonicalize(&path).map_err(SiteFileError::Unreadable)?;
    let root = std::fs::canonicalize(dir).map_err(SiteFileError::Unreadable)?;
    if !real.starts_with(&root) {
        return Err(SiteFileError::Outside);
    }
    // Checked on the resolved path: a FIFO or a device must not be opened.
    let meta = std::fs::metadata(&real).map_err(SiteFileError::Unreadable)?;
    if !meta.is_file() {
        return Err(SiteFileError::NotAFile);
    }
    Ok(real)
}

/// The site file `name` (of kind `kind`), read and parsed.
fn input(dir: &Path, name: &str, kind: &str) -> Result<Document, Problem> {
    let shown = dir.join(name);
    match site_file(dir, name) {
        Ok(real) => document(&real, &shown, kind),
        Err(e) => Err(Problem::new(
            &display_path(&shown),
            None,
            Pos { line: 1, column: 1 },
            e.to_string(),
        )),
    }
}

/// [`site`], with the catalog already read (the pipeline reads it first to
/// start loading its plugins).
pub fn site_with_catalog(
    dir: &Path,
    catalog: Result<Document, Problem>,
) -> Result<Inputs, Invalid> {
    let inventory = input(dir, INVENTORY_FILE, "SiteInventory");
    match (inventory, catalog) {
        (Ok(inventory), Ok(catalog)) => Ok(Inputs {
            dir: dir.to_owned(),
            inventory,
            catalog,
        }),
        (inventory, catalog) => {
            let problems = [inventory.err(), catalog.err()]
                .into_iter()
                .flatten()
                .collect();
            Err(Invalid::new(problems))
        }
    }
}

/// Whether `text` says it is the opsmith document `kind`: a top-level
/// `kind: <kind>` or opsmith's `apiVersion`. Only such a text's lines are
/// quoted in messages, even when it does not parse.
fn claims_kind(text: &str, kind: &str) -> bool {
    crate::diagnostics::yaml_lines(text).any(|line| {
        let Some((key, value)) = line.split_once(':') else {
            return false;
        };
        let value = value.trim().trim_matches(['"', '\'']);
        match key {
            "kind" => value == kind,
            "apiVersion" => value.starts_with(API_GROUP),
            _ => false,
        }
    })
}

/// Reads and parses one YAML file holding exactly one mapping, the opsmith
/// document `kind`. `path` is read; `shown` names it in messages.
fn document(path: &Path, shown: &Path, kind: &str) -> Result<Document, Problem> {
    let file = display_path(shown);
    let at_start = Pos { line: 1, column: 1 };
    let size = std::fs::metadata(path)
        .map_err(|e| Problem::new(&file, None, at_start, format!("cannot read the file: {e}")))?
        .len();
    // Refuse before reading, so a huge file costs no memory.
    if size > opsmith_yaml::MAX_INPUT_BYTES as u64 {
        return Err(Problem::new(
            &file,
            None,
            at_start,
            format!(
                "file is {size} bytes; the limit is {} bytes",
                opsmith_yaml::MAX_INPUT_BYTES
            ),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Problem::new(&file, None, at_start, format!("cannot read the file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Problem::new(
            &file,
            None,
            at_start,
            format!(
                "file is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Err(Problem::new(
            &file,
            None,
            at_start,
            "file is empty: expected a YAML mapping with `apiVersion`, `kind`, `metadata` and `spec`",
        ));
    }
    let shows_lines = claims_kind(&text, kind);
    let quotable = shows_lines.then_some(text.as_str());
    let value = opsmith_yaml::split::parse(&text)
        .map_err(|e| Problem::new(&file, quotable, e.pos, e.message))?;
    if !value.is_object() {
        let found = match &value {
            Value::Array(_) => "a list",
            Value::Null => "nothing",
            Value::String(_) => "a string",
            _ => "a scalar",
        };
        return Err(Problem::new(
            &file,
            quotable,
            positions(&text).pos,
            format!(
                "expected a mapping with `apiVersion`, `kind`, `metadata` and `spec`, found {found}"
            ),
        ));
    }
    if !shows_lines {
        // Some other YAML file: nothing of it is repeated, not even its keys.
        return Err(Problem::new(
            &file,
            None,
            at_start,
            format!(
                "not an opsmith {kind}: expected `apiVersion: {API_GROUP}v1alpha1` and `kind: {kind}` at the top"
            ),
        ));
    }
    Ok(Document {
        file,
        path: shown.to_owned(),
        text,
        value,
        shows_lines,
        root: OnceLock::new(),
        line_starts: OnceLock::new(),
    })
}

/// The offset of each line of `text`, broken as YAML breaks lines (as
/// [`crate::diagnostics::yaml_lines`] does).
fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for at in memchr::memchr2_iter(b'\r', b'\n', bytes) {
        // The `\n` of a `\r\n` ends the same line as its `\r`.
        if bytes[at] == b'\n' && at > 0 && bytes[at - 1] == b'\r' {
            if let Some(last) = starts.last_mut() {
                *last = at + 1;
            }
            continue;
        }
        starts.push(at + 1);
    }
    starts
}

/// The position tree of a text that parsed once already, so parses again.
fn positions(text: &str) -> Node {
    opsmith_yaml::parse(text).map_or_else(
        |e| Node {
            pos: e.pos,
            children: Children::Scalar,
        },
        |(_, root)| root,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_index_breaks_lines_as_messages_do() {
        for text in ["a\rb\r\nc\nd", "a\n", "\r\n\r\n", "x\r\ry\n\nz\r", ""] {
            let doc = Document {
                file: String::new(),
                path: PathBuf::new(),
                text: text.to_owned(),
                value: Value::Null,
                shows_lines: true,
                root: OnceLock::new(),
                line_starts: OnceLock::new(),
            };
            let by_index: Vec<&str> = (1..)
                .map_while(|line| doc.quotable(Pos { line, column: 1 }))
                .collect();
            let mut expected: Vec<&str> = crate::diagnostics::yaml_lines(text).collect();
            // The index also has the empty line after a final break.
            if text.ends_with(['\r', '\n']) {
                expected.push("");
            }
            assert_eq!(by_index, expected, "{text:?}");
        }
    }

    #[test]
    fn a_large_inventory_is_read_in_parts_and_located_whole() {
        let mut text = String::from("apiVersion: v1\nkind: SiteInventory\nspec:\n  hosts:\n");
        for i in 0..3000 {
            text.push_str(&format!(
                "    - name: host-{i}\n      role: worker\n      labels:\n        rack: r{i}\n"
            ));
        }
        // Big enough to be parsed in parts.
        assert!(text.len() > 128 << 10);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(INVENTORY_FILE);
        std::fs::write(&path, &text).expect("write");
        let doc = input(dir.path(), INVENTORY_FILE, "SiteInventory").expect("parses");
        let (whole, _) = opsmith_yaml::parse(&text).expect("parses whole");
        assert_eq!(doc.value, whole);
        // Host i starts on line 5 + 4i; its name's value at column 13.
        assert_eq!(
            doc.root().locate("/spec/hosts/1500/name"),
            Pos {
                line: 6005,
                column: 13
            }
        );
        let problem = doc.problem_at_key("/spec/hosts/2999/labels/rack", "x");
        assert!(problem.to_string().contains(":12004:9"), "{problem}");
    }
}
