//! The upstream schemas as validators compiled at build time: per kind opsmith checks
//! rendered objects against, the upstream schema as convert.rs rewrites it. (The input
//! schemas are compiled the same way in opsmith-input-schemas, `schemas/input/`.)
//!
//! The `jsonschema` macro turns each schema's `is_valid` into Rust code, so a run that
//! renders valid objects compiles no schema: compiling them at run time cost more than the
//! whole render of a small site. Regular expressions are built on first use, so a pattern
//! no object reaches costs nothing. Only an invalid object has its kind's schema compiled,
//! to list its errors.
//!
//! The code is generated in a crate of its own because LLVM cannot optimise it in
//! reasonable time (see the workspace's Cargo.toml): it is built unoptimised, and again
//! only when a schema or the conversion changes. The few kinds a large site has thousands
//! of take their `is_valid` from opsmith-schemas-optimised (`optimised/`), which is.

use std::sync::OnceLock;

use jsonschema::{ErrorIterator, Validator};
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
    /// The validator that lists an invalid object's errors, compiled from `schema` by
    /// [`Kind::iter_errors`] when first needed.
    errors: OnceLock<Validator>,
}

impl Kind {
    /// Every violation of `instance`. The first call for a kind compiles its schema: only
    /// `is_valid` is generated at build time, because error-listing code for every schema
    /// made up most of this crate's size and build time, and an invalid object is rare.
    pub fn iter_errors<'i>(&'i self, instance: &'i Value) -> ErrorIterator<'i> {
        self.errors
            .get_or_init(|| {
                let schema: Value = serde_json::from_str(self.schema)
                    .expect("the build script wrote the schema as JSON");
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .build(&schema)
                    .expect("the build script compiled this schema already")
            })
            .iter_errors(instance)
    }
}

// The validators, and `pub static KINDS: [Kind; N]`, in the order of `convert::KINDS`.
include!(concat!(env!("OUT_DIR"), "/kinds.rs"));

/// The upstream documents, as JSON, in the order of `convert::SOURCES`: for the tests that
/// check the conversion against them.
pub static UPSTREAM_SOURCES: &[&str] = &include!(concat!(env!("OUT_DIR"), "/upstream_sources.rs"));
