//! site/catalog.yaml as opsmith reads it: each component's plugin reference
//! parsed once, its limits and `allow` list typed. This model is the source
//! of `schemas/catalog.schema.json` (see `input_schema`). Plugins see the
//! catalog through the SDK's guest types ([`Catalog::guest_view`]), derived
//! from this one.

// The fields' doc comments are the schema's descriptions, written for the
// person editing the YAML (`<name>`, bare URLs), not as rustdoc markup.
#![allow(
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links
)]

use std::fmt;

use opsmith_plugin_sdk::Emit;
use opsmith_plugin_sdk::site as guest;
use serde::Deserialize;
use serde_json::Value;

#[cfg(test)]
use super::input_schema as schema;

/// What names a built-in plugin, in the catalog and on the command line.
const BUILTIN_PREFIX: &str = "builtin:";

/// site/catalog.yaml: the components to deploy on the site, the plugin that
/// renders each, and the GitOps repository.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(
    test,
    schemars(
        title = "opsmith AppCatalog",
        deny_unknown_fields,
        extend("$id" = "https://opsmith.dev/schemas/catalog.schema.json")
    )
)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    /// Version of this file's format.
    #[cfg_attr(test, schemars(schema_with = "schema::api_version"))]
    pub api_version: String,
    /// Kind of this document.
    #[cfg_attr(
        test,
        schemars(schema_with = "schema::unconstrained", extend("const" = "AppCatalog"))
    )]
    pub kind: String,
    /// Metadata of the document.
    pub metadata: Metadata,
    /// What to deploy.
    pub spec: CatalogSpec,
}

/// Metadata of the document.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct Metadata {
    /// The catalog's name, an RFC 1123 label.
    #[cfg_attr(test, schemars(with = "schema::DnsLabel"))]
    pub name: String,
}

/// What to deploy.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct CatalogSpec {
    /// The repository Argo CD reconciles.
    pub gitops: GitOps,
    /// The components, in catalog order.
    // A component's index is its position in the file.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub components: Vec<Component>,
    /// Service Level Expectations: what the community may expect of each
    /// service the site runs (availability, support response, maintenance).
    /// They are stated, not measured: the site's README.md lists them
    /// beside the SLOs that measure the services.
    #[serde(default)]
    pub sles: Vec<Sle>,
}

/// One service's Service Level Expectation.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct Sle {
    /// The service, as its users name it (such as Prow or Argo CD); unique.
    #[cfg_attr(test, schemars(length(min = 1, max = 63)))]
    pub service: String,
    /// What the service is for, in a sentence.
    pub description: Option<String>,
    /// Expected availability in percent over a month, such as 99.5.
    #[cfg_attr(
        test,
        schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = 100))
    )]
    pub availability: Option<f64>,
    /// Longest time to a first response to a support request, such as 4h
    /// or 2d (m, h, d or w).
    #[cfg_attr(test, schemars(regex(pattern = r"^[1-9][0-9]*[mhdw]$")))]
    pub support_response: Option<String>,
    /// When support answers, such as Mon-Fri 09:00-17:00 UTC.
    pub support_hours: Option<String>,
    /// When planned maintenance happens and how it is announced.
    pub maintenance: Option<String>,
}

/// The repository Argo CD reconciles.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct GitOps {
    /// A git clone URL over https (https://host/owner/repo.git, no
    /// credentials) or ssh (ssh://git@host/owner/repo.git or
    /// git@host:owner/repo.git).
    #[serde(rename = "repoURL")]
    #[cfg_attr(test, schemars(regex(pattern = schema::GIT_URL)))]
    pub repo_url: String,
    /// A branch, tag or commit Argo CD follows, such as main (no spaces).
    #[cfg_attr(test, schemars(regex(pattern = r"^[^\s]+$")))]
    pub target_revision: String,
    /// A relative folder in the repository, such as clusters/infra (no
    /// leading '/', no '.' or '..' segments).
    #[cfg_attr(test, schemars(regex(pattern = schema::REPO_PATH)))]
    pub path: String,
}

/// One component: a plugin run and its settings.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct Component {
    /// Unique component name; also its folder in the rendered tree.
    #[cfg_attr(test, schemars(with = "schema::DnsLabel"))]
    pub name: String,
    /// A built-in plugin, builtin:<name>, or a WebAssembly component file
    /// pinned by sha256: {path, sha256}.
    #[cfg_attr(test, schemars(with = "schema::Plugin"))]
    pub plugin: PluginRef,
    /// false renders nothing for this component.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Settings for the plugin, checked against the plugin's own schema
    /// (opsmith schema plugin:<name>).
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<schema::PluginConfig>"))]
    pub config: Option<Value>,
    /// Your policy for this component's plugin run; each limit given
    /// overrides the command-line default.
    #[serde(default)]
    pub limits: ComponentLimits,
    /// Narrows what the plugin may emit for this component: only these
    /// kinds, in these namespaces.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<Vec<schema::AllowedKind>>"))]
    pub allow: Option<Vec<Emit>>,
    /// Files of the site folder the plugin is given (globs relative to the
    /// site folder, such as templates/*.j2; `*` stays within a folder, `**`
    /// crosses folders). Needs a plugin of opsmith:plugin@0.2.0.
    #[serde(default)]
    #[cfg_attr(test, schemars(inner(length(min = 1))))]
    pub files: Vec<String>,
    /// Which cluster applies the component's objects: site (the default:
    /// the site's own Argo CD syncs the component's folder) or hub (the
    /// cluster that installs and manages the site; written under hub/ in the
    /// site's tree, which the site's Argo CD does not sync).
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<ClusterName>"))]
    pub cluster: guest::Cluster,
}

/// The schema of `cluster`.
#[cfg(test)]
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // a shape for the schema only
enum ClusterName {
    Site,
    Hub,
}

fn enabled_by_default() -> bool {
    true
}

/// A component's `limits`; each one given overrides the command line's.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct ComponentLimits {
    /// Memory cap of the plugin, such as 256Mi.
    #[cfg_attr(test, schemars(with = "Option<schema::Quantity>"))]
    pub memory: Option<String>,
    /// CPU budget in fuel units; the same plugin runs out at the same point
    /// on every machine.
    #[cfg_attr(test, schemars(range(min = 1)))]
    pub fuel: Option<u64>,
    /// Wall-clock backstop, in seconds.
    #[cfg_attr(
        test,
        schemars(range(max = 600), extend("exclusiveMinimum" = 0))
    )]
    pub timeout_seconds: Option<f64>,
}

/// Where a component's plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(try_from = "guest::PluginRef")]
pub enum PluginRef {
    /// A built-in plugin, by its name (`metal3` for `builtin:metal3`).
    Builtin(String),
    /// A WebAssembly component file relative to the site folder, pinned by
    /// its sha256.
    File { path: String, sha256: String },
}

impl PluginRef {
    /// The built-in plugin that `text` names (`builtin:<name>`), if it names one.
    pub fn builtin_name(text: &str) -> Option<&str> {
        text.strip_prefix(BUILTIN_PREFIX)
    }

    /// How the catalog and the command line name built-in plugin `name`.
    pub fn builtin_label(name: &str) -> String {
        format!("{BUILTIN_PREFIX}{name}")
    }

    /// The plugin as the catalog gives it, for the guest view.
    fn to_guest(&self) -> guest::PluginRef {
        match self {
            PluginRef::Builtin(name) => guest::PluginRef::Builtin(PluginRef::builtin_label(name)),
            PluginRef::File { path, sha256 } => guest::PluginRef::File {
                path: path.clone(),
                sha256: sha256.clone(),
            },
        }
    }
}

/// As the catalog names it: `builtin:<name>`, or the file's path.
impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginRef::Builtin(name) => write!(f, "{BUILTIN_PREFIX}{name}"),
            PluginRef::File { path, .. } => f.write_str(path),
        }
    }
}

impl TryFrom<guest::PluginRef> for PluginRef {
    type Error = String;

    fn try_from(raw: guest::PluginRef) -> Result<Self, Self::Error> {
        match raw {
            guest::PluginRef::Builtin(text) => match PluginRef::builtin_name(&text) {
                Some(name) => Ok(PluginRef::Builtin(name.to_owned())),
                None => Err(format!(
                    "expected `{BUILTIN_PREFIX}<name>` or a file with path and sha256, got `{text}`"
                )),
            },
            guest::PluginRef::File { path, sha256 } => Ok(PluginRef::File { path, sha256 }),
        }
    }
}

impl Catalog {
    /// The enabled components, with their index in the catalog.
    pub fn enabled_components(&self) -> impl Iterator<Item = (usize, &Component)> {
        self.spec
            .components
            .iter()
            .enumerate()
            .filter(|(_, c)| c.enabled)
    }

    /// The index of the component named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.spec.components.iter().position(|c| c.name == name)
    }

    /// The catalog in the SDK's types, as plugins receive it; opsmith fills
    /// in each component's `path` and `emits` (see `plugins::input`).
    pub fn guest_view(&self) -> guest::AppCatalog {
        guest::AppCatalog {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            metadata: guest::Metadata {
                name: self.metadata.name.clone(),
            },
            spec: guest::CatalogSpec {
                gitops: guest::GitOps {
                    repo_url: self.spec.gitops.repo_url.clone(),
                    target_revision: self.spec.gitops.target_revision.clone(),
                    path: self.spec.gitops.path.clone(),
                },
                components: self
                    .spec
                    .components
                    .iter()
                    .map(|c| guest::Component {
                        name: c.name.clone(),
                        plugin: c.plugin.to_guest(),
                        enabled: c.enabled,
                        config: c.config.clone(),
                        path: None,
                        emits: None,
                        cluster: c.cluster,
                    })
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_references_parse_once_and_print_as_written() {
        let builtin: PluginRef =
            serde_json::from_value(serde_json::json!("builtin:metal3")).unwrap();
        assert_eq!(builtin, PluginRef::Builtin("metal3".to_owned()));
        assert_eq!(builtin.to_string(), "builtin:metal3");
        let file: PluginRef =
            serde_json::from_value(serde_json::json!({"path": "plugins/x.wasm", "sha256": "ab"}))
                .unwrap();
        assert_eq!(file.to_string(), "plugins/x.wasm");
        let err = serde_json::from_value::<PluginRef>(serde_json::json!("metal3")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected `builtin:<name>` or a file with path and sha256, got `metal3`"
        );
    }

    #[test]
    fn the_guest_view_names_plugins_as_the_catalog_does() {
        let catalog: Catalog = serde_json::from_value(serde_json::json!({
            "apiVersion": "opsmith.dev/v1alpha1",
            "kind": "AppCatalog",
            "metadata": {"name": "infra"},
            "spec": {
                "gitops": {"repoURL": "https://git.example.org/infra.git", "targetRevision": "main", "path": "clusters/infra"},
                "components": [
                    {"name": "hosts", "plugin": "builtin:metal3", "limits": {"timeoutSeconds": 30}},
                    {"name": "off", "plugin": "builtin:namespaces", "enabled": false}
                ]
            }
        }))
        .unwrap();
        assert_eq!(
            catalog.spec.components[0].limits.timeout_seconds,
            Some(30.0)
        );
        assert_eq!(
            catalog
                .enabled_components()
                .map(|(i, c)| (i, c.name.as_str()))
                .collect::<Vec<_>>(),
            [(0, "hosts")]
        );
        let guest = catalog.guest_view();
        assert_eq!(
            guest.spec.components[0].plugin,
            guest::PluginRef::Builtin("builtin:metal3".to_owned())
        );
        assert!(!guest.spec.components[1].enabled);
    }
}
