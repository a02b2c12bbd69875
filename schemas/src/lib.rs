//! opsmith's schemas as validators compiled at build time: its two input schemas
//! (`site.schema.json`, `catalog.schema.json`) and, per kind it checks rendered objects
//! against, the upstream schema as convert.rs rewrites it.
//!
//! The `jsonschema` macro turns each schema into Rust code, so a run compiles no schema:
//! compiling them at run time cost more than the whole render of a small site. Regular
//! expressions are built on first use, so a pattern no object reaches costs nothing.
//!
//! The code is generated in a crate of its own because it takes minutes to optimise: cargo
//! builds it again only when a schema or the conversion changes.

use jsonschema::ErrorIterator;
use serde_json::Value;

/// Whether a value is valid.
pub type IsValid = fn(&Value) -> bool;
/// Every violation of a value.
pub type IterErrors = for<'i> fn(&'i Value) -> ErrorIterator<'i>;

/// A kind opsmith ships an upstream schema for.
pub struct Kind {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The upstream file, path under `schemas/upstream/`, for messages and docs.
    pub source: &'static str,
    /// Whether the schema declares defaults (CRDs only), which the apiserver fills in before
    /// it validates.
    pub defaults: bool,
    /// The converted, self-contained JSON Schema 2020-12, as compact JSON: for defaults and
    /// to name the known fields of an object with an unknown one.
    pub schema: &'static str,
    pub is_valid: IsValid,
    pub iter_errors: IterErrors,
}

// The validators, and `pub static KINDS: [Kind; N]`, in the order of `convert::KINDS`.
include!(concat!(env!("OUT_DIR"), "/kinds.rs"));

/// The upstream documents, as JSON, in the order of `convert::SOURCES`: for the tests that
/// check the conversion against them.
pub static UPSTREAM_SOURCES: &[&str] = &include!(concat!(env!("OUT_DIR"), "/upstream_sources.rs"));

/// `site.schema.json`, which `inventory.yaml` follows.
pub const SITE_SCHEMA: &str = include_str!("../site.schema.json");
/// `catalog.schema.json`, which `catalog.yaml` follows.
pub const CATALOG_SCHEMA: &str = include_str!("../catalog.schema.json");

/// The validator of [`SITE_SCHEMA`].
#[jsonschema::validator(path = "site.schema.json", draft = Draft202012, methods = { validate = false })]
pub struct Site;

/// The validator of [`CATALOG_SCHEMA`].
#[jsonschema::validator(path = "catalog.schema.json", draft = Draft202012, methods = { validate = false })]
pub struct Catalog;
