//! The integration tests: the real binary, real plugins, real folders.

mod broken_sites;
mod git;
mod hostile_argocd;
mod plugin_cmd;
mod polyglot;
mod render;
mod sandbox;
mod support;
