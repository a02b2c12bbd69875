//! Where a plugin's bytes come from: built in, or a file the catalog pins.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::validate::catalog::{Component, PluginRef};
use anyhow::{Context as _, bail};

use super::*;

/// are around 20 MB).
const MAX_PLUGIN_BYTES: u64 = 512 << 20;

/// Where a plugin's bytes come from.
#[derive(Debug, Clone)]
pub enum PluginSource {
    Builtin(String),
    File {
        /// The file; for a catalog's plugin, inside `site_dir`.
        path: PathBuf,
        /// The site folder of a catalog's plugin, which the file must be
        /// inside; `None` for a file named on the command line.
        site_dir: Option<PathBuf>,
        /// The path as the catalog or the command line gives it.
        shown: String,
        sha256: Option<String>,
    },
}

impl PluginSource {
    /// The source of a catalog component; file paths are relative to the site folder.
    pub fn of(component: &Component, site_dir: &Path) -> PluginSource {
        match &component.plugin {
            PluginRef::Builtin(name) => PluginSource::Builtin(name.clone()),
            PluginRef::File { path, sha256 } => PluginSource::File {
                path: site_dir.join(path),
                site_dir: Some(site_dir.to_owned()),
                shown: path.clone(),
                sha256: Some(sha256.clone()),
            },
        }
    }

    pub fn label(&self) -> String {
        match self {
            PluginSource::Builtin(name) => PluginRef::builtin_label(name),
            PluginSource::File { shown, .. } => shown.clone(),
        }
    }

    pub(super) fn pinned_sha256(&self) -> Option<&str> {
        match self {
            PluginSource::Builtin(_) => None,
            PluginSource::File { sha256, .. } => sha256.as_deref(),
        }
    }

    pub(super) fn bytes(&self) -> anyhow::Result<Cow<'static, [u8]>> {
        match self {
            PluginSource::Builtin(name) => builtin::wasm(name)
                .map(Cow::Owned)
                .with_context(|| format!("there is no built-in plugin `{name}`")),
            PluginSource::File {
                path,
                site_dir,
                shown,
                ..
            } => {
                let cannot = || format!("cannot read plugin file {shown}");
                // A catalog's plugin must be inside the site folder: the
                // digest of a file elsewhere is not printed.
                let path = match site_dir {
                    Some(dir) => &crate::load::site_file(dir, shown).with_context(cannot)?,
                    None => path,
                };
                // Checked before reading: a path such as /dev/zero must not hang the run.
                let meta = std::fs::metadata(path).with_context(cannot)?;
                if !meta.is_file() {
                    bail!("{}: not a regular file", cannot());
                }
                if meta.len() > MAX_PLUGIN_BYTES {
                    bail!(
                        "{}: {} bytes; a plugin may have at most {MAX_PLUGIN_BYTES}",
                        cannot(),
                        meta.len()
                    );
                }
                std::fs::read(path).map(Cow::Owned).with_context(cannot)
            }
        }
    }
}
