//! The integration tests: the real binary, real plugins, real folders.

mod broken_sites;
mod render;
mod sandbox;
mod support;
