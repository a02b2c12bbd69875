//! The validators of the kinds generate.rs lists as `OPTIMISED`, generated from the same
//! conversion as opsmith-schemas' (../convert.rs), which puts them in its table of kinds.
//! convert.rs, generate.rs and upstream/ here are links to ../, which the packaged
//! crate carries as files.

use std::env;
use std::path::PathBuf;

#[path = "convert.rs"]
mod convert;
#[path = "generate.rs"]
mod generate;

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    generate::build(&root, generate::Part::Optimised);
}
