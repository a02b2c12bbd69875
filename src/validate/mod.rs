//! Stage 2, validate: the inputs against their JSON Schemas (schemas/), then
//! the semantic checks a schema cannot express. Every problem of both files
//! is gathered and reported at once. Hands the typed [`Site`] to the plugins.

pub mod catalog;
#[cfg(test)]
mod input_schema;
pub mod inventory;
pub mod repo_path;
pub mod schema;
pub mod semantic;

use std::sync::OnceLock;

use serde::Deserialize;

use crate::diagnostics::{Invalid, Problem};
pub use crate::load::files::ComponentFile;
use crate::load::{Document, Inputs};
use schema::Schema;

pub use opsmith_input_schemas::{CATALOG_SCHEMA, SITE_SCHEMA};

/// The embedded schema `text`, with the validator generated from it at
/// build time.
fn generated(
    text: &'static str,
    is_valid: opsmith_schemas::IsValid,
    iter_errors: opsmith_schemas::IterErrors,
    cell: &'static OnceLock<Schema>,
) -> &'static Schema {
    cell.get_or_init(|| {
        let raw = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("embedded schema is not JSON: {e}"));
        Schema::generated(raw, is_valid, iter_errors)
    })
}

pub fn site_schema() -> &'static Schema {
    static CELL: OnceLock<Schema> = OnceLock::new();
    use opsmith_input_schemas::Site;
    generated(SITE_SCHEMA, Site::is_valid, Site::iter_errors, &CELL)
}

pub fn catalog_schema() -> &'static Schema {
    static CELL: OnceLock<Schema> = OnceLock::new();
    use opsmith_input_schemas::Catalog;
    generated(
        CATALOG_SCHEMA,
        Catalog::is_valid,
        Catalog::iter_errors,
        &CELL,
    )
}

/// The validated inputs, typed.
#[derive(Debug)]
pub struct Site {
    pub inputs: Inputs,
    pub inventory: inventory::Inventory,
    pub catalog: catalog::Catalog,
    /// The inventory as JSON, as plugins receive it.
    pub inventory_json: String,
    /// Each component's `files:`, read, by the component's index in the
    /// catalog (empty for a component without files, or a disabled one).
    pub files: Vec<Vec<ComponentFile>>,
    /// The README's hosts table, written before the parsed hosts are freed
    /// (`pipeline::shed_hosts`); until then, layout writes it itself.
    pub readme_hosts: Option<String>,
}

impl Site {
    /// The files of the component at `index` in the catalog.
    pub fn component_files(&self, index: usize) -> &[ComponentFile] {
        self.files.get(index).map_or(&[], Vec::as_slice)
    }
}

/// Schema and semantic checks of both documents.
pub fn inputs(inputs: Inputs) -> Result<Site, Invalid> {
    // The two files' checks and the plugins' copy of the inventory are
    // independent: on a large site each takes milliseconds.
    let (inventory, (catalog, inventory_json)) = rayon::join(
        || checked(&inputs.inventory, site_schema(), semantic::inventory),
        || {
            rayon::join(
                || checked(&inputs.catalog, catalog_schema(), semantic::catalog),
                || serde_json::to_string(&inputs.inventory.value).unwrap_or_default(),
            )
        },
    );
    // Schema problems first, then what only reading the whole site shows.
    let mut problems = inventory.schema_problems;
    problems.extend(catalog.schema_problems);
    problems.extend(inventory.semantic_problems);
    problems.extend(catalog.semantic_problems);
    let files = match &catalog.typed {
        Some(catalog) => component_files(&inputs, catalog, &mut problems),
        None => Vec::new(),
    };
    match (inventory.typed, catalog.typed) {
        (Some(inventory), Some(catalog)) if problems.is_empty() => Ok(Site {
            inputs,
            inventory,
            catalog,
            inventory_json,
            files,
            readme_hosts: None,
        }),
        _ => Err(Invalid::new(problems)),
    }
}

/// The enabled components' `files:`, read; problems at the glob at fault.
fn component_files(
    inputs: &Inputs,
    catalog: &catalog::Catalog,
    problems: &mut Vec<Problem>,
) -> Vec<Vec<ComponentFile>> {
    let mut files = vec![Vec::new(); catalog.spec.components.len()];
    for (index, component) in catalog.enabled_components() {
        if component.files.is_empty() {
            continue;
        }
        match crate::load::files::component_files(&inputs.dir, &component.files) {
            Ok(read) => files[index] = read,
            Err((glob, e)) => problems.push(inputs.catalog.problem_at(
                &format!("/spec/components/{index}/files/{glob}"),
                e.to_string(),
            )),
        }
    }
    files
}

/// One document, checked.
struct Checked<T> {
    typed: Option<T>,
    schema_problems: Vec<Problem>,
    semantic_problems: Vec<Problem>,
}

/// The document as `T`, with its schema problems and, once it reads as
/// `T`, its `semantic` ones. The typed model is lenient (unknown fields
/// ignored), so a document with schema problems usually still reads, and
/// its semantic checks still run: one run reports everything.
fn checked<T: for<'de> Deserialize<'de> + Send>(
    doc: &Document,
    schema: &Schema,
    semantic: fn(&T, &Document, &mut Vec<Problem>),
) -> Checked<T> {
    // Independent, and each takes a while on a large inventory.
    let (mut schema_problems, typed) = rayon::join(
        || schema.problems(&doc.value, doc, ""),
        || {
            T::deserialize(&doc.value).map(|typed| {
                let mut found = Vec::new();
                semantic(&typed, doc, &mut found);
                (typed, found)
            })
        },
    );
    let (typed, semantic_problems) = match typed {
        Ok((typed, found)) => (Some(typed), found),
        Err(_) if !schema_problems.is_empty() => (None, Vec::new()),
        Err(e) => {
            // The schema should not let this happen; say so rather than crash.
            schema_problems
                .push(doc.problem_at("", format!("valid by the schema but not readable: {e}")));
            (None, Vec::new())
        }
    };
    Checked {
        typed,
        schema_problems,
        semantic_problems,
    }
}
