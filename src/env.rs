//! Every environment variable opsmith reads, in one place.

/// `OPSMITH_CACHE_DIR`: where compiled plugins are cached. Default: the XDG
/// cache directory (`$XDG_CACHE_HOME/opsmith` or `~/.cache/opsmith`).
pub const CACHE_DIR: &str = "OPSMITH_CACHE_DIR";

/// `OPSMITH_COMPILE_BUILTINS=1`: compile the built-in plugins at run time
/// (through the compile cache), as third-party plugins are, instead of
/// loading the native code opsmith's build made. For measuring the cold path
/// and testing the cache.
pub const COMPILE_BUILTINS: &str = "OPSMITH_COMPILE_BUILTINS";

/// `OPSMITH_PLUGIN_SDK_PATH=DIR`: `plugin new` points the Rust scaffold at
/// the SDK in DIR (`[patch.crates-io]`) instead of crates.io's, for
/// developing opsmith and the SDK together.
pub const PLUGIN_SDK_PATH: &str = "OPSMITH_PLUGIN_SDK_PATH";

/// `GITHUB_ACTIONS=true`: running as a GitHub Actions step; errors are also
/// printed as workflow-command annotations.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";

/// `OPSMITH_GIT_TOKEN`: the token `commit --push` uses for an https remote.
pub const GIT_TOKEN: &str = "OPSMITH_GIT_TOKEN";

/// `GITHUB_TOKEN`: used for an https push when `OPSMITH_GIT_TOKEN` is unset.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";

/// `GITHUB_STEP_SUMMARY`: the file GitHub Actions shows as the step's summary.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// `PROW_JOB_ID`: set in Prow jobs; `ARTIFACTS` is where Prow collects files.
pub const PROW_JOB_ID: &str = "PROW_JOB_ID";
pub const ARTIFACTS: &str = "ARTIFACTS";

pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn github_actions() -> bool {
    var(GITHUB_ACTIONS).as_deref() == Some("true")
}
