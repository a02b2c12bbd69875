//! The built-in plugins: built from plugins/<name>/ for wasm32-wasip2 by
//! build/main.rs and embedded in the binary, with their sha256 (computed at
//! build time, so a run does not hash them) and their native code, compiled
//! at build time for the target's baseline CPU (build/precompile.rs).
//! Bytes the binary carries, read like the other inputs: validation checks a
//! catalog's `builtin:` names against them without reaching up to plugins.

/// One built-in plugin, as build/main.rs embeds it.
pub struct Builtin {
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
    /// The component's sha256 (lowercase hex).
    pub sha256: &'static str,
    /// The component compiled by build/precompile.rs; empty if it was not.
    pub native: &'static [u8],
    /// The sha256 of its sources (the plugin's, the SDK's, the WIT): the
    /// same for every build of one tree, whatever the compiler.
    pub source_sha256: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

fn get(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The embedded component of built-in plugin `name`.
pub fn find(name: &str) -> Option<&'static [u8]> {
    get(name).map(|b| b.wasm)
}

/// The sha256 (lowercase hex) of built-in plugin `name`'s component.
pub fn sha256(name: &str) -> Option<&'static str> {
    get(name).map(|b| b.sha256)
}

/// The native code the build compiled for built-in plugin `name`, if it did.
/// Part of this binary, it is trusted as the binary is; native code read at
/// run time comes only from the compile cache, under its rules (cache.rs).
pub fn precompiled(name: &str) -> Option<&'static [u8]> {
    get(name)
        .map(|b| b.native)
        .filter(|native| !native.is_empty())
}

/// The sha256 of built-in plugin `name`'s sources.
pub fn source_sha256(name: &str) -> Option<&'static str> {
    get(name).map(|b| b.source_sha256)
}

/// Names of all built-in plugins.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    #[test]
    fn digests_match_the_embedded_bytes() {
        for name in super::names() {
            let wasm = super::find(name).unwrap();
            assert_eq!(
                super::sha256(name),
                Some(hex::encode(Sha256::digest(wasm)).as_str()),
                "{name}"
            );
        }
        assert_eq!(super::sha256("no-such-plugin"), None);
    }
}
