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
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // A directory is scanned recursively. The conversion code is compiled into this script,
    // so a change to it reruns the script anyway; listing it says so.
    for path in ["upstream", "convert.rs", "generate.rs"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    let documents = generate::sources(&root.join("upstream"), Some(&out.join("upstream")));
    generate::kinds(&documents, &out, generate::Part::Table);
}
