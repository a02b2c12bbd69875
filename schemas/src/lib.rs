//! The upstream schemas as validators compiled at build time: per kind opsmith checks
//! rendered objects against, the upstream schema as convert.rs rewrites it. (The input
//! schemas are compiled the same way in opsmith-input-schemas, `schemas/input/`.)
//!
//! The `jsonschema` macro turns each schema into Rust code, so a run compiles no schema:
//! compiling them at run time cost more than the whole render of a small site. Regular
//! expressions are built on first use, so a pattern no object reaches costs nothing.
//!
//! The code is generated in a crate of its own because LLVM cannot optimise it in
//! reasonable time (see the workspace's Cargo.toml): it is built unoptimised, and again
//! only when a schema or the conversion changes. The few kinds a large site has thousands
//! of take their `is_valid` from opsmith-schemas-optimised (`optimised/`), which is.

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
