//! The built-in plugins: built from plugins/<name>/ for wasm32-wasip2 by
//! build.rs and embedded in the binary, with their sha256 (computed by
//! build.rs, so a run does not hash them).

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The embedded component of built-in plugin `name`.
pub fn find(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, wasm, _)| *wasm)
}

/// The sha256 (lowercase hex) of built-in plugin `name`'s component.
pub fn sha256(name: &str) -> Option<&'static str> {
    BUILTINS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, sha256)| *sha256)
}

/// Names of all built-in plugins.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(n, _, _)| *n)
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
