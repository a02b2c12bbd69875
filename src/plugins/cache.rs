//! Compiled plugins on disk: a plugin is compiled once per content and engine
//! configuration, then loaded in milliseconds.
//!
//! An entry is native code that wasmtime runs without further checks, so the
//! cache trusts only what no one but the running user could have written:
//!
//! - the folder must be a folder owned by the running user (or root), that
//!   neither its group nor other users can write; opsmith creates it with
//!   mode 0700. Otherwise it is not used at all (one warning, plugins are
//!   compiled in memory). Its parent folders are not checked: whoever can
//!   swap the folder for another can only offer files that fail the checks
//!   below, because they are made on the file opened, not on its path;
//! - an entry must be a regular file (not a symlink, FIFO or device: it is
//!   looked at before it is opened, and opened without following a link or
//!   waiting), with the same owner and mode rules as the folder;
//! - an entry carries, after the artifact, the sha256 of the plugin it was
//!   compiled from and the engine key (wasmtime's compatibility hash,
//!   opsmith's version, the entry format), then the BLAKE3 digest of all of
//!   it. An entry filed under another plugin, compiled by another engine,
//!   truncated or corrupted is compiled again and replaced, never loaded.
//!   (BLAKE3 rather than SHA-256: a run checks several megabytes of entries,
//!   and BLAKE3 does it several times faster.) The digest is not a secret:
//!   it catches accidents and misfiled entries; the ownership rules keep
//!   other users out.

use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::{diagnostics, env};

/// Where the compiled plugins live.
#[derive(Debug, Clone)]
pub struct Cache {
    /// `None`: no cache, because it is disabled, cannot be created, or is
    /// not safe to use.
    dir: Option<PathBuf>,
    /// Hex SHA-256 of what an entry must have been compiled with.
    engine_key: String,
    /// The user whose files the cache trusts (besides root's).
    user: u32,
}

/// How a component was obtained, for the log and the cache-hit test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A built-in plugin's native code, compiled by opsmith's build.
    Embedded,
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

/// How many hex digits of the engine key an entry's file name carries.
const NAME_KEY_LEN: usize = 16;

impl Cache {
    /// The cache in `dir` (see `default_dir`); `None` disables caching. A
    /// folder others could write is refused here, with a warning.
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Cache {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        // The entry format: artifact, what it is bound to, BLAKE3 digest.
        "bound-blake3-trailer".hash(&mut hasher);
        let engine_key = hex::encode(hasher.0.finalize());
        let user = current_user();
        let dir = dir.and_then(|dir| usable_dir(dir, user));
        Cache {
            dir,
            engine_key,
            user,
        }
    }

    /// `OPSMITH_CACHE_DIR`, else the user's cache directory.
    pub fn default_dir() -> Option<PathBuf> {
        env::var(env::CACHE_DIR)
            .map(PathBuf::from)
            .or_else(|| dirs::cache_dir().map(|d| d.join("opsmith")))
    }

    fn entry(&self, sha256: &str) -> Option<PathBuf> {
        // A digest pinned in the catalog reaches `holds` unchecked: it names
        // a file in the folder, never a path.
        if sha256.is_empty() || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.dir.as_ref().map(|d| {
            d.join(format!(
                "{sha256}-{}.cwasm",
                &self.engine_key[..NAME_KEY_LEN]
            ))
        })
    }

    /// What an entry for the plugin whose sha256 is `sha256` is bound to.
    fn binding(&self, sha256: &str) -> String {
        format!("opsmith plugin sha256 {sha256} engine {}", self.engine_key)
    }

    /// Whether a usable-looking entry for the plugin whose sha256 is
    /// `sha256` exists (looked at, not opened).
    pub fn holds(&self, sha256: &str) -> bool {
        self.entry(sha256).is_some_and(|path| {
            fs::symlink_metadata(path)
                .is_ok_and(|meta| distrust(facts(&meta), FileKind::Regular, self.user).is_none())
        })
    }

    /// The component for `wasm` (whose sha256 is `sha256`), from the cache or
    /// freshly compiled (and then stored).
    pub fn load(
        &self,
        engine: &Engine,
        sha256: &str,
        wasm: &[u8],
    ) -> anyhow::Result<(Component, Origin)> {
        let Some(path) = self.entry(sha256) else {
            return Ok((Component::new(engine, wasm)?, Origin::Compiled));
        };
        match self.read_entry(engine, sha256, &path) {
            Lookup::Hit(component) => return Ok((component, Origin::Cache)),
            Lookup::Miss => {}
            Lookup::Refused(why) => diagnostics::warn(&format!(
                "ignored the plugin cache entry {path:?}: {}; compiled the plugin again and replaced the entry",
                why.reason()
            )),
        }
        let compiled = engine.precompile_component(wasm)?;
        // A cache we cannot write is not an error: the run goes on uncached.
        let _ = self.write_entry(&path, sha256, &compiled);
        // SAFETY: `compiled` came from this engine a moment ago.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, Origin::Compiled))
    }

    fn read_entry(&self, engine: &Engine, sha256: &str, path: &Path) -> Lookup {
        // Looked at before it is opened: opening a FIFO would wait forever,
        // and a link may lead to a file of someone else's.
        let Ok(meta) = fs::symlink_metadata(path) else {
            return Lookup::Miss;
        };
        if let Some(why) = distrust(facts(&meta), FileKind::Regular, self.user) {
            return Lookup::Refused(why);
        }
        // The path may have been replaced since: opened without following a
        // link or waiting, and the file opened is checked again.
        let Ok(file) = open_without_following(path) else {
            return Lookup::Miss;
        };
        let Ok(meta) = file.metadata() else {
            return Lookup::Miss;
        };
        if let Some(why) = distrust(facts(&meta), FileKind::Regular, self.user) {
            return Lookup::Refused(why);
        }
        // Mapped, not read: checking and loading an entry then copies nothing
        // (a copy into fresh memory was most of the cost of a cache hit).
        // SAFETY: only the running user or root can write the file (checked
        // above), and opsmith replaces entries whole, by rename
        // (`write_entry`), never in place, so the bytes do not change under us.
        let Ok(bytes) = (unsafe { memmap2::Mmap::map(&file) }) else {
            return Lookup::Miss;
        };
        if !is_intact(&bytes, self.binding(sha256).as_bytes()) {
            return Lookup::Miss;
        }
        deserialize_checked(engine, &file, &bytes).map_or(Lookup::Miss, Lookup::Hit)
    }

    fn write_entry(&self, path: &Path, sha256: &str, compiled: &[u8]) -> anyhow::Result<()> {
        let dir = path.parent().context("cache entry has no folder")?;
        let binding = self.binding(sha256);
        let mut digest = blake3::Hasher::new();
        digest.update(compiled).update(binding.as_bytes());
        // Mode 0600 under a fresh name, then renamed over whatever the path
        // held (a rename replaces a link or FIFO; it neither follows nor opens it).
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(compiled)?;
        file.write_all(binding.as_bytes())?;
        file.write_all(digest.finalize().as_bytes())?;
        file.persist(path)?;
        Ok(())
    }
}

enum Lookup {
    Hit(Component),
    /// Absent, or not what it must be: compiled again and replaced, silently.
    Miss,
    /// Something only another user, or a mistake, could have put there.
    Refused(Distrust),
}

/// Whether `entry` is an artifact followed by `binding` and the BLAKE3 digest
/// of both.
fn is_intact(entry: &[u8], binding: &[u8]) -> bool {
    let Some(body_len) = entry.len().checked_sub(DIGEST_LEN) else {
        return false;
    };
    let (body, digest) = entry.split_at(body_len);
    // The binding first: a misfiled entry is refused without hashing it whole.
    body.len() > binding.len()
        && body.ends_with(binding)
        && blake3::hash(body).as_bytes().as_slice() == digest
}

/// Gives wasmtime the file that was checked, not whatever its path names by
/// now. On Linux the open file is reopened through /proc (the same file,
/// mapped without a copy); elsewhere, or without /proc, wasmtime gets a copy
/// of the checked bytes.
fn deserialize_checked(engine: &Engine, file: &File, bytes: &[u8]) -> Option<Component> {
    // SAFETY (both calls): the bytes are what `write_entry` stored from
    // `precompile_component`, for this plugin and this engine (`is_intact`),
    // and are not modified while mapped (see `read_entry`). wasmtime itself
    // also rejects artifacts of another version or configuration. The
    // binding and digest after the artifact are outside every section
    // wasmtime reads.
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let same_file = Path::new("/proc/self/fd").join(file.as_raw_fd().to_string());
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &same_file) } {
            return Some(component);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    unsafe { Component::deserialize(engine, bytes) }.ok()
}

/// The cache folder, if it may be used: created with mode 0700 when missing;
/// refused, with a warning, when it is not safe.
fn usable_dir(dir: PathBuf, user: u32) -> Option<PathBuf> {
    // Follows a link: what counts is the folder the entries are in.
    let meta = match fs::metadata(&dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A cache that cannot be created is not an error: the run goes
            // on uncached, as before there was one.
            create_private_dir(&dir).ok()?;
            fs::metadata(&dir).ok()?
        }
        Err(_) => return None,
    };
    let Some(why) = distrust(facts(&meta), FileKind::Dir, user) else {
        return Some(dir);
    };
    let why_it_matters = match why {
        Distrust::NotA(_) => "",
        _ => ", and its entries are native code that opsmith would run unchecked",
    };
    diagnostics::warn(&format!(
        "not using the plugin cache {dir:?}: {}{why_it_matters}; plugins are compiled in memory for this run. {}",
        why.reason(),
        why.remedy(&dir)
    ));
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Dir,
    Regular,
    /// A symlink, FIFO, socket or device.
    Special,
}

/// What the trust decision looks at.
#[derive(Debug, Clone, Copy)]
struct Facts {
    kind: FileKind,
    owner: u32,
    /// Permission bits.
    mode: u32,
}

/// Why a cache folder or entry must not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Distrust {
    NotA(FileKind),
    ForeignOwner { owner: u32, user: u32 },
    WritableByOthers { mode: u32 },
}

/// Why `user` must not use a file of kind `want` with these facts; `None`
/// when it may. As ssh does for its keys: owned by the user or root (who can
/// do anything anyway), and writable by neither group nor other users, even
/// in a sticky folder (they could still add entries).
fn distrust(facts: Facts, want: FileKind, user: u32) -> Option<Distrust> {
    if facts.kind != want {
        Some(Distrust::NotA(want))
    } else if facts.owner != user && facts.owner != 0 {
        Some(Distrust::ForeignOwner {
            owner: facts.owner,
            user,
        })
    } else if facts.mode & 0o022 != 0 {
        Some(Distrust::WritableByOthers { mode: facts.mode })
    } else {
        None
    }
}

impl Distrust {
    fn reason(self) -> String {
        match self {
            Distrust::NotA(FileKind::Dir) => "it is not a folder".to_owned(),
            Distrust::NotA(_) => "it is not a regular file".to_owned(),
            Distrust::ForeignOwner { owner, user } => {
                format!("it belongs to uid {owner}, not to you (uid {user})")
            }
            Distrust::WritableByOthers { mode } => {
                format!("its group or other users can write it (mode {mode:o})")
            }
        }
    }

    fn remedy(self, dir: &Path) -> String {
        let elsewhere = "--cache-dir DIR or OPSMITH_CACHE_DIR";
        match self {
            Distrust::WritableByOthers { .. } => format!(
                "Run `chmod go-w {dir:?}`, or name a folder only you can write ({elsewhere})"
            ),
            Distrust::ForeignOwner { .. } => format!("Name a folder of your own ({elsewhere})"),
            Distrust::NotA(_) => format!("Name a folder ({elsewhere})"),
        }
    }
}

#[cfg(unix)]
fn facts(meta: &fs::Metadata) -> Facts {
    use std::os::unix::fs::MetadataExt as _;
    Facts {
        kind: kind(meta),
        owner: meta.uid(),
        mode: meta.mode() & 0o7777,
    }
}

/// Without Unix owners and modes, only the kind of file is checked.
#[cfg(not(unix))]
fn facts(meta: &fs::Metadata) -> Facts {
    Facts {
        kind: kind(meta),
        owner: 0,
        mode: 0,
    }
}

fn kind(meta: &fs::Metadata) -> FileKind {
    let file_type = meta.file_type();
    if file_type.is_dir() {
        FileKind::Dir
    } else if file_type.is_file() {
        FileKind::Regular
    } else {
        FileKind::Special
    }
}

#[cfg(unix)]
fn current_user() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn current_user() -> u32 {
    0
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

/// Opens `path` for reading without following a final symlink, and without
/// waiting if it turned into a FIFO or device.
#[cfg(unix)]
fn open_without_following(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_following(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 1000;

    fn facts(kind: FileKind, owner: u32, mode: u32) -> Facts {
        Facts { kind, owner, mode }
    }

    #[test]
    fn own_files_writable_by_no_one_else_are_trusted() {
        for (kind, mode) in [
            (FileKind::Dir, 0o700),
            (FileKind::Dir, 0o755),
            (FileKind::Regular, 0o600),
            (FileKind::Regular, 0o644),
        ] {
            assert_eq!(distrust(facts(kind, ME, mode), kind, ME), None);
            // Root can write anything anyway.
            assert_eq!(distrust(facts(kind, 0, mode), kind, ME), None);
        }
    }

    #[test]
    fn another_users_files_are_refused() {
        for kind in [FileKind::Dir, FileKind::Regular] {
            assert_eq!(
                distrust(facts(kind, 1001, 0o700), kind, ME),
                Some(Distrust::ForeignOwner {
                    owner: 1001,
                    user: ME
                })
            );
        }
        // Root trusts only its own files.
        assert_eq!(
            distrust(facts(FileKind::Regular, ME, 0o600), FileKind::Regular, 0),
            Some(Distrust::ForeignOwner { owner: ME, user: 0 })
        );
    }

    #[test]
    fn files_others_can_write_are_refused() {
        for mode in [0o770, 0o707, 0o777, 0o1777, 0o720, 0o702] {
            assert_eq!(
                distrust(facts(FileKind::Dir, ME, mode), FileKind::Dir, ME),
                Some(Distrust::WritableByOthers { mode })
            );
        }
        assert_eq!(
            distrust(facts(FileKind::Regular, 0, 0o664), FileKind::Regular, ME),
            Some(Distrust::WritableByOthers { mode: 0o664 })
        );
    }

    #[test]
    fn links_fifos_and_devices_are_refused() {
        assert_eq!(
            distrust(facts(FileKind::Special, ME, 0o600), FileKind::Regular, ME),
            Some(Distrust::NotA(FileKind::Regular))
        );
        assert_eq!(
            distrust(facts(FileKind::Regular, ME, 0o700), FileKind::Dir, ME),
            Some(Distrust::NotA(FileKind::Dir))
        );
    }

    fn entry_of(artifact: &[u8], binding: &[u8]) -> Vec<u8> {
        let mut bytes = [artifact, binding].concat();
        let digest = blake3::hash(&bytes);
        bytes.extend_from_slice(digest.as_bytes());
        bytes
    }

    #[test]
    fn an_entry_is_bound_to_its_plugin_and_engine() {
        let metal3 = b"opsmith plugin sha256 aa engine 11";
        let entry = entry_of(b"\x7fELF native code", metal3);
        assert!(is_intact(&entry, metal3));
        assert!(!is_intact(&entry, b"opsmith plugin sha256 bb engine 11"));
        assert!(!is_intact(&entry, b"opsmith plugin sha256 aa engine 22"));
        let mut corrupt = entry.clone();
        corrupt[2] ^= 1;
        assert!(!is_intact(&corrupt, metal3));
        assert!(!is_intact(&entry[..DIGEST_LEN], metal3));
        assert!(!is_intact(b"", metal3));
        // Nothing but the binding and its digest is no entry either.
        assert!(!is_intact(&entry_of(b"", metal3), metal3));
    }
}
