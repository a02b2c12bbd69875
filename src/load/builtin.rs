//! The built-in plugins: built from `plugins/<name>/` for wasm32-wasip2 by
//! build/main.rs and embedded in the binary, with their sha256 (computed at
//! build time, so a run does not hash them) and their native code, compiled
//! at build time for the target's baseline CPU (build/precompile.rs).
//! Bytes the binary carries, read like the other inputs: validation checks a
//! catalog's `builtin:` names against them without reaching up to plugins.

/// One built-in plugin, as build/main.rs embeds it.
pub struct Builtin {
    pub name: &'static str,
    /// The component, zstd-compressed.
    pub wasm_zstd: &'static [u8],
    /// The length of the component once decompressed.
    pub wasm_len: usize,
    /// The component's sha256 (lowercase hex).
    pub sha256: &'static str,
    /// The component compiled by build/precompile.rs, zstd-compressed; empty
    /// if it was not compiled.
    pub native_zstd: &'static [u8],
    /// The length of the native code once decompressed.
    pub native_len: usize,
    /// The sha256 of its sources (the plugin's, the SDK's, the WIT): the
    /// same for every build of one tree, whatever the compiler.
    pub source_sha256: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

fn get(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Whether opsmith has a built-in plugin `name`.
pub fn exists(name: &str) -> bool {
    get(name).is_some()
}

/// The component of built-in plugin `name`, decompressed.
pub fn wasm(name: &str) -> Option<Vec<u8>> {
    get(name).map(|b| decompress(b.wasm_zstd, b.wasm_len))
}

/// The sha256 (lowercase hex) of built-in plugin `name`'s component.
pub fn sha256(name: &str) -> Option<&'static str> {
    get(name).map(|b| b.sha256)
}

/// Whether the build compiled built-in plugin `name` to native code.
pub fn is_precompiled(name: &str) -> bool {
    get(name).is_some_and(|b| !b.native_zstd.is_empty())
}

/// The native code the build compiled for built-in plugin `name`, if it did,
/// decompressed. Part of this binary, it is trusted as the binary is; native
/// code read at run time comes only from the compile cache, under its rules
/// (cache.rs).
pub fn precompiled(name: &str) -> Option<Vec<u8>> {
    let builtin = get(name).filter(|b| !b.native_zstd.is_empty())?;
    Some(decompress(builtin.native_zstd, builtin.native_len))
}

/// Bytes build/main.rs compressed, `len` long once decompressed.
fn decompress(compressed: &[u8], len: usize) -> Vec<u8> {
    zstd::bulk::decompress(compressed, len)
        .expect("the build script compressed these bytes with zstd")
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
            let wasm = super::wasm(name).unwrap();
            assert_eq!(
                super::sha256(name),
                Some(hex::encode(Sha256::digest(&wasm)).as_str()),
                "{name}"
            );
        }
        assert_eq!(super::sha256("no-such-plugin"), None);
    }
}
