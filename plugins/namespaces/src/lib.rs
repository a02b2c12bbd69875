//! `builtin:namespaces`: the Namespaces a site needs beyond those the other
//! components create, with their labels and annotations.

use std::collections::BTreeMap;

use opsmith_plugin_sdk::{Error, Info, Input, Output, Plugin, export_plugin, json};
use serde::Deserialize;

/// The Namespaces to render, each with its labels and annotations.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:namespaces config"))]
#[serde(deny_unknown_fields)]
struct Config {
    /// Namespaces to render, in any order: one v1 Namespace each.
    #[serde(default)]
    namespaces: Vec<NamespaceSpec>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields)]
struct NamespaceSpec {
    /// A namespace name: an RFC 1123 label (lowercase letters, digits and
    /// '-', starting and ending with a letter or digit, at most 63 characters).
    #[cfg_attr(
        test,
        schemars(regex(pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63))
    )]
    name: String,
    /// Labels of the Namespace, by key.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// Annotations of the Namespace, by key.
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

struct Namespaces;

impl Plugin for Namespaces {
    fn describe() -> Info {
        Info::new("namespaces", env!("CARGO_PKG_VERSION"))
            .description("Namespaces with labels and annotations, declared in the catalog")
            .config_schema_json(include_str!("config.schema.json"))
            .emits("v1", "Namespace", &[])
    }

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        let mut out = Output::new();
        for ns in &config.namespaces {
            let mut metadata = json!({ "name": ns.name });
            if !ns.labels.is_empty() {
                metadata["labels"] = json!(ns.labels);
            }
            if !ns.annotations.is_empty() {
                metadata["annotations"] = json!(ns.annotations);
            }
            out.object(json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": metadata }));
        }
        Ok(out)
    }

    // Only the config says which namespaces.
    const READS_HOSTS: bool = false;
}

export_plugin!(Namespaces);

#[cfg(test)]
mod tests {
    use super::*;
    use opsmith_plugin_sdk::testing::{EXAMPLE_CATALOG, EXAMPLE_SITE, render};

    #[test]
    fn renders_one_namespace_per_entry() {
        let config =
            r#"{"namespaces":[{"name":"monitoring","labels":{"team":"sre"}},{"name":"tools"}]}"#;
        let out = render::<Namespaces>("example", EXAMPLE_SITE, EXAMPLE_CATALOG, config).unwrap();
        assert_eq!(out.objects().len(), 2);
        assert_eq!(out.objects()[0]["metadata"]["labels"]["team"], "sre");
        assert_eq!(out.objects()[1]["metadata"]["name"], "tools");
    }

    #[test]
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_schema_file(
            &schemars::schema_for!(Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
    }
}
