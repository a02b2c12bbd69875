//! The validators of the kinds generate.rs lists as `OPTIMISED`, generated from the same
//! conversion as opsmith-schemas' (../convert.rs), which puts them in its table of kinds.

use std::env;
use std::path::PathBuf;

#[path = "../convert.rs"]
mod convert;
#[path = "../generate.rs"]
mod generate;

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    generate::build(&root.join(".."), generate::Part::Optimised);
}
