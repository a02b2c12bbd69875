//! The catalog as opsmith reads it: each component's plugin reference parsed
//! once, its limits and `allow` list typed. Plugins see the catalog through
//! the SDK's guest types ([`Catalog::guest_view`]), derived from this one.

use std::fmt;

use opsmith_plugin_sdk::Emit;
use opsmith_plugin_sdk::site::{self as guest, GitOps, Metadata};
use serde::Deserialize;
use serde_json::Value;

/// What names a built-in plugin, in the catalog and on the command line.
const BUILTIN_PREFIX: &str = "builtin:";

/// site/catalog.yaml, as validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: CatalogSpec,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogSpec {
    pub gitops: GitOps,
    /// In catalog order: a component's index is its position in the file.
    pub components: Vec<Component>,
}

/// One component of the catalog.
#[derive(Debug, Clone, Deserialize)]
pub struct Component {
    pub name: String,
    pub plugin: PluginRef,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub config: Option<Value>,
    /// The user's policy for this component's plugin run.
    #[serde(default)]
    pub limits: ComponentLimits,
    /// Narrows what the plugin may emit for this component.
    #[serde(default)]
    pub allow: Option<Vec<Emit>>,
}

fn enabled_by_default() -> bool {
    true
}

/// A component's `limits`; each one given overrides the command line's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentLimits {
    /// A Kubernetes quantity, such as `512Mi`.
    pub memory: Option<String>,
    pub fuel: Option<u64>,
    pub timeout_seconds: Option<f64>,
}

/// Where a component's plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
            metadata: self.metadata.clone(),
            spec: guest::CatalogSpec {
                gitops: self.spec.gitops.clone(),
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
