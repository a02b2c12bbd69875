//! The integration tests: the real binary, real plugins, real folders.

mod argocd_applications;
mod broken_sites;
mod check_outputs;
mod contract;
mod day0_paths;
mod examples;
mod fleet;
mod git;
mod hostile_argocd;
mod hostile_cache;
mod hostile_git;
mod hostile_input;
mod hostile_output;
mod install_script;
mod layers;
mod plugin_cmd;
mod polyglot;
mod render;
mod sandbox;
mod slo;
mod support;
mod templates;
