//! Compiled plugins on disk: a plugin is compiled once per content and engine
//! configuration, then loaded in milliseconds. Entries are keyed by the
//! plugin's sha256 and the engine's compatibility hash; each carries the
//! BLAKE3 digest of its own bytes, checked before wasmtime is given them, so
//! a corrupt or foreign file is recompiled rather than trusted. (BLAKE3
//! rather than SHA-256: a run checks several megabytes of entries, and
//! BLAKE3 does it several times faster.)

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::env;

/// Where the compiled plugins live.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// How a component was obtained, for the log and the cache-hit test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Compiled,
}

struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

const DIGEST_LEN: usize = 32;

impl Cache {
    /// The cache in `OPSMITH_CACHE_DIR`, else the user's cache directory;
    /// `None` disables caching.
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Cache {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        // The entry format: its trailing digest is BLAKE3.
        "blake3-trailer".hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        Cache { dir, engine_key }
    }

    pub fn default_dir() -> Option<PathBuf> {
        env::var(env::CACHE_DIR)
            .map(PathBuf::from)
            .or_else(|| dirs::cache_dir().map(|d| d.join("opsmith")))
    }

    fn entry(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_key)))
    }

    /// Whether an entry for the plugin whose sha256 is `sha256` exists.
    pub fn holds(&self, sha256: &str) -> bool {
        self.entry(sha256).is_some_and(|path| path.is_file())
    }

    /// The component for `wasm` (whose sha256 is `sha256`), from the cache or
    /// freshly compiled (and then stored).
    pub fn load(
        &self,
        engine: &Engine,
        sha256: &str,
        wasm: &[u8],
    ) -> anyhow::Result<(Component, Origin)> {
        if let Some(path) = self.entry(sha256) {
            if let Some(component) = read_entry(engine, &path) {
                return Ok((component, Origin::Cache));
            }
            let compiled = engine.precompile_component(wasm)?;
            // A cache we cannot write is not an error: the run goes on uncached.
            let _ = write_entry(&path, &compiled);
            // SAFETY: `compiled` came from this engine a moment ago.
            let component = unsafe { Component::deserialize(engine, &compiled)? };
            return Ok((component, Origin::Compiled));
        }
        Ok((Component::new(engine, wasm)?, Origin::Compiled))
    }
}

fn read_entry(engine: &Engine, path: &Path) -> Option<Component> {
    // Mapped, not read: checking and loading an entry then copies nothing
    // (a copy into fresh memory was most of the cost of a cache hit).
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: entries are only ever replaced whole, by rename (`write_entry`),
    // never written in place, so the mapped bytes do not change under us.
    let bytes = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    if bytes.len() < DIGEST_LEN {
        return None;
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    if blake3::hash(body).as_bytes().as_slice() != digest {
        return None;
    }
    // SAFETY: the file holds exactly what `write_entry` stored from
    // `precompile_component` (its digest matches) and, as above, is not
    // modified while mapped; wasmtime itself rejects artifacts of another
    // version or configuration. The digest after the artifact is outside
    // every section wasmtime reads.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

fn write_entry(path: &Path, compiled: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("cache entry has no folder")?;
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(compiled)?;
    file.write_all(blake3::hash(compiled).as_bytes())?;
    file.persist(path)?;
    Ok(())
}
