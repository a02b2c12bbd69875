//! Stage 1, load: reads `inventory.yaml` and `catalog.yaml` from the site
//! folder and parses them keeping source positions, so that every later
//! stage can point its errors at `file:line:column`. Hands [`Inputs`] to
//! validate.

mod split;
pub mod yaml;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diagnostics::{Invalid, Problem, display_path};
use yaml::{Node, Pos};

/// One parsed input file.
#[derive(Debug)]
pub struct Document {
    /// The path as shown in messages.
    pub file: String,
    pub path: PathBuf,
    pub text: String,
    pub value: Value,
    pub root: Node,
}

impl Document {
    /// A problem at the node `pointer` designates.
    pub fn problem_at(&self, pointer: &str, message: impl Into<String>) -> Problem {
        Problem::new(
            &self.file,
            Some(&self.text),
            self.root.locate(pointer),
            message,
        )
    }

    /// A problem at the key of the map entry `pointer` designates.
    pub fn problem_at_key(&self, pointer: &str, message: impl Into<String>) -> Problem {
        Problem::new(
            &self.file,
            Some(&self.text),
            self.root.locate_key(pointer),
            message,
        )
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

/// Reads and parses both files of the site in `dir`, reporting the problems
/// of both at once.
pub fn site(dir: &Path) -> Result<Inputs, Invalid> {
    site_with_catalog(dir, document(&dir.join(CATALOG_FILE)))
}

/// [`site`], with the catalog already read (the pipeline reads it first to
/// start loading its plugins).
pub fn site_with_catalog(
    dir: &Path,
    catalog: Result<Document, Problem>,
) -> Result<Inputs, Invalid> {
    let inventory = document(&dir.join(INVENTORY_FILE));
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

/// Reads and parses one YAML file holding exactly one mapping.
pub fn document(path: &Path) -> Result<Document, Problem> {
    let file = display_path(path);
    let at_start = Pos { line: 1, column: 1 };
    let size = std::fs::metadata(path)
        .map_err(|e| Problem::new(&file, None, at_start, format!("cannot read the file: {e}")))?
        .len();
    // Refuse before reading, so a huge file costs no memory.
    if size > yaml::MAX_INPUT_BYTES as u64 {
        return Err(Problem::new(
            &file,
            None,
            at_start,
            format!(
                "file is {size} bytes; the limit is {} bytes",
                yaml::MAX_INPUT_BYTES
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
    let (value, root) =
        split::parse(&text).map_err(|e| Problem::new(&file, Some(&text), e.pos, e.message))?;
    if !value.is_object() {
        let found = match &value {
            Value::Array(_) => "a list",
            Value::Null => "nothing",
            Value::String(_) => "a string",
            _ => "a scalar",
        };
        return Err(Problem::new(
            &file,
            Some(&text),
            root.pos,
            format!(
                "expected a mapping with `apiVersion`, `kind`, `metadata` and `spec`, found {found}"
            ),
        ));
    }
    Ok(Document {
        file,
        path: path.to_owned(),
        text,
        value,
        root,
    })
}
