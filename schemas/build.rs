//! Converts the upstream schemas (upstream/) into one self-contained JSON Schema per kind
//! (convert.rs), and writes `kinds.rs` (generate.rs): per kind but the few that
//! opsmith-schemas-optimised builds, a validator that the `jsonschema` macro compiles into
//! Rust code, and the table of all of them that src/lib.rs exports. A render then compiles
//! no schema at run time; it only builds the regular expressions it actually uses, on first
//! use.

use std::env;
use std::path::PathBuf;

#[path = "convert.rs"]
mod convert;
#[path = "generate.rs"]
mod generate;

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    generate::build(&root, generate::Part::Table);
}
