//! Every environment variable opsmith reads, in one place.

/// `OPSMITH_CACHE_DIR`: where compiled plugins are cached. Default: the XDG
/// cache directory (`$XDG_CACHE_HOME/opsmith` or `~/.cache/opsmith`).
pub const CACHE_DIR: &str = "OPSMITH_CACHE_DIR";

/// `GITHUB_ACTIONS=true`: running as a GitHub Actions step; errors are also
/// printed as workflow-command annotations.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";

pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn github_actions() -> bool {
    var(GITHUB_ACTIONS).as_deref() == Some("true")
}
