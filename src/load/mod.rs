//! Stage 1, load: reads `inventory.yaml` and `catalog.yaml` from the site
//! folder and parses them keeping source positions, so that every later
//! stage can point its errors at `file:line:column`. Hands [`Inputs`] to
//! validate.

mod split;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
    /// Built the first time a message needs a position: valid input, the
    /// common case, never needs one.
    root: OnceLock<Node>,
}

impl Document {
    /// Where each node of the document sits in its text.
    pub fn root(&self) -> &Node {
        self.root.get_or_init(|| positions(&self.text))
    }

    /// A problem at the node `pointer` designates.
    pub fn problem_at(&self, pointer: &str, message: impl Into<String>) -> Problem {
        Problem::new(
            &self.file,
            Some(&self.text),
            self.root().locate(pointer),
            message,
        )
    }

    /// A problem at the key of the map entry `pointer` designates.
    pub fn problem_at_key(&self, pointer: &str, message: impl Into<String>) -> Problem {
        Problem::new(
            &self.file,
            Some(&self.text),
            self.root().locate_key(pointer),
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
    let value =
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
            positions(&text).pos,
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
        root: OnceLock::new(),
    })
}

/// The position tree of a text that parsed once already, so parses again.
fn positions(text: &str) -> Node {
    yaml::parse(text).map_or_else(
        |e| Node {
            pos: e.pos,
            children: yaml::Children::Scalar,
        },
        |(_, root)| root,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let doc = document(&path).expect("parses");
        let (whole, _) = yaml::parse(&text).expect("parses whole");
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
