//! Stage 5, layout: turns the collected objects into a tree of files, one
//! object per file at a stable path, in canonical YAML (which collect has
//! [`Canonical`] write as it checks each object), plus the site's
//! provenance record. The same inputs give the same bytes on any machine and
//! with any number of threads. Hands a [`Tree`] to output.

mod fast;
pub mod readme;
pub mod yaml;

use std::collections::{BTreeMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::collect::{Collected, Object, PluginDigest, PluginProvenance};
use crate::validate::Site;
use opsmith_plugin_sdk::site::Cluster;

/// Writes what collect checked, in the form it has in the tree.
pub struct Canonical;

impl crate::collect::Writer for Canonical {
    fn object(&self, value: &serde_json::Value) -> anyhow::Result<Vec<u8>> {
        yaml::canonical_bytes(value)
    }

    fn file(&self, content: &serde_json::Value, json: bool) -> anyhow::Result<Vec<u8>> {
        if json {
            // serde_json's maps are sorted (no `preserve_order`), so this is
            // canonical too.
            let mut text = serde_json::to_vec_pretty(content)?;
            text.push(b'\n');
            Ok(text)
        } else {
            yaml::canonical_bytes(content)
        }
    }
}

/// Name of the provenance record at the root of a site's tree; it also lists
/// the files opsmith wrote, which is how a later run knows what it owns.
pub const PROVENANCE_FILE: &str = "opsmith-provenance.yaml";

/// Folder of the day-0 files (install-config.yaml, the GitHub App manifest),
/// which no Argo CD Application points at.
pub const DAY0_DIR: &str = "day0";

/// A rendered site: relative path (with `/`) to file content, sorted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The site's folder name: its `metadata.name`.
    pub site: String,
    pub files: BTreeMap<String, Vec<u8>>,
    /// What the provenance record in `files` says, for the commit's
    /// trailers: read from here, never parsed back from the YAML.
    pub provenance: Provenance,
}

/// What produced a tree: the inputs' digest and each component's plugin.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub inputs_sha256: String,
    pub plugins: Vec<PluginProvenance>,
}

impl Tree {
    pub fn bytes(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProvenanceRecord<'a> {
    api_version: &'static str,
    kind: &'static str,
    site: &'a str,
    opsmith_version: &'static str,
    inputs_sha256: &'a str,
    plugins: Vec<PluginRecord<'a>>,
    files: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PluginRecord<'a> {
    component: &'a str,
    plugin: &'a str,
    name: &'a str,
    version: &'a str,
    /// A plugin file's sha256, as the catalog pins it.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    /// A built-in plugin's source digest (see `PluginDigest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    source_sha256: Option<&'a str>,
}

/// Where an object lives in the site's tree:
/// `[hub/]<component>/<namespace or cluster-scoped>/<kind>-<name>.yaml`
/// (`hub/` for a component the hub applies, which the site's own Argo CD
/// does not sync).
pub fn object_path(o: &Object, cluster: Cluster) -> String {
    let scope = o.namespace.as_deref().unwrap_or("cluster-scoped");
    // `:` appears in RBAC names and is not portable in file names.
    let name = o.name.replace(':', "_");
    format!(
        "{}{}/{scope}/{}-{name}.yaml",
        cluster.tree_prefix(),
        o.component,
        o.kind.to_ascii_lowercase()
    )
}

/// The digest of both input files, as read, and of the components' files
/// (path and content).
pub fn inputs_digest(site: &Site) -> String {
    let mut hasher = Sha256::new();
    for doc in [&site.inputs.inventory, &site.inputs.catalog] {
        hasher.update(doc.text.len().to_le_bytes());
        hasher.update(doc.text.as_bytes());
    }
    for file in site.files.iter().flatten() {
        for part in [&file.path, &file.content] {
            hasher.update(part.len().to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

/// Lays out the collected objects and files (already written as text,
/// which moves into the tree without a copy).
pub fn tree(site: &Site, collected: Collected) -> anyhow::Result<Tree> {
    let Collected {
        objects,
        files: day_zero,
        plugins,
    } = collected;
    let hub_components: HashSet<&str> = site
        .catalog
        .spec
        .components
        .iter()
        .filter(|c| c.cluster == Cluster::Hub)
        .map(|c| c.name.as_str())
        .collect();
    let mut rendered: Vec<(String, Object)> = objects
        .into_par_iter()
        .map(|o| {
            let cluster = if hub_components.contains(o.component.as_str()) {
                Cluster::Hub
            } else {
                Cluster::Site
            };
            (object_path(&o, cluster), o)
        })
        .collect();
    // Stable: of two objects with one path, the first in catalog order is
    // named first.
    rendered.par_sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = rendered.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        anyhow::bail!(
            "{} and {} would both be written to `{}`; rename one of them",
            pair[1].1.describe(),
            pair[0].1.describe(),
            pair[0].0
        );
    }
    let provenance = Provenance {
        inputs_sha256: inputs_digest(site),
        plugins,
    };
    let hosts = match &site.readme_hosts {
        Some(hosts) => std::borrow::Cow::Borrowed(hosts.as_str()),
        None => std::borrow::Cow::Owned(readme::hosts_section(&site.inventory)),
    };
    let site_readme = readme::readme(site, &hosts, &rendered, &day_zero, &provenance);
    // Already sorted: the map is built in one pass.
    let mut files: BTreeMap<String, Vec<u8>> = rendered
        .into_iter()
        .map(|(path, o)| (path, o.text))
        .collect();
    for file in day_zero {
        let path = format!("{DAY0_DIR}/{}/{}", file.component, file.name);
        files.insert(path, file.text);
    }
    files.insert(readme::README_FILE.to_owned(), site_readme.into_bytes());
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    let record = ProvenanceRecord {
        api_version: opsmith_plugin_sdk::site::API_VERSION,
        kind: "Provenance",
        site: &site.inventory.metadata.name,
        opsmith_version: env!("CARGO_PKG_VERSION"),
        inputs_sha256: &provenance.inputs_sha256,
        plugins: provenance
            .plugins
            .iter()
            .map(|p| PluginRecord {
                component: &p.component,
                plugin: &p.plugin,
                name: &p.name,
                version: &p.version,
                sha256: match &p.digest {
                    PluginDigest::File { sha256 } => Some(sha256),
                    PluginDigest::Builtin { .. } => None,
                },
                source_sha256: match &p.digest {
                    PluginDigest::Builtin { source_sha256 } => Some(source_sha256),
                    PluginDigest::File { .. } => None,
                },
            })
            .collect(),
        files: names,
    };
    let text = yaml::to_yaml(&record)?;
    files.insert(PROVENANCE_FILE.to_owned(), text.into_bytes());
    Ok(Tree {
        site: site.inventory.metadata.name.clone(),
        files,
        provenance,
    })
}

/// The files a provenance record lists (what opsmith owns), if `text` is one.
pub fn owned_files(text: &str) -> Option<Vec<String>> {
    let value = opsmith_yaml::parse_value(text).ok()?;
    if value.get("kind")?.as_str()? != "Provenance" {
        return None;
    }
    let mut files: Vec<String> = value
        .get("files")?
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str().map(str::to_owned))
        .collect();
    files.push(PROVENANCE_FILE.to_owned());
    Some(files)
}

/// All objects as one multi-document YAML stream, in path order, the way
/// `helm template` and `kustomize build` print them.
pub fn stream(tree: &Tree) -> String {
    let mut out = Vec::with_capacity(tree.bytes() + tree.files.len() * 64);
    // Writing into a Vec cannot fail.
    let _ = write_stream(tree, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`stream`], written straight to `out` (no copy of the whole stream).
pub fn write_stream(tree: &Tree, out: &mut impl std::io::Write) -> std::io::Result<()> {
    for (path, bytes) in &tree.files {
        if !path.ends_with(".yaml") || path == PROVENANCE_FILE {
            continue;
        }
        // Paths are checked at collect; escaped anyway, since a line break
        // here would start a document of its own in the stream.
        let path = crate::diagnostics::escape_controls(path);
        write!(out, "---\n# Source: {}/{path}\n", tree.site)?;
        out.write_all(bytes)?;
    }
    Ok(())
}
