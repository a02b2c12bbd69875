//! Stage 6, output: writes a site's tree to a folder atomically, or prints
//! it as one YAML stream.

pub mod diff;
pub mod dir;
pub mod git;
