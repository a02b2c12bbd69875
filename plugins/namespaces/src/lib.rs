//! `builtin:namespaces`: the Namespaces a site needs beyond those the other
//! components create, with their labels and annotations.

use std::collections::BTreeMap;

use opsmith_plugin_sdk::{Error, Info, Input, Output, Plugin, export_plugin, json};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    namespaces: Vec<NamespaceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceSpec {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

struct Namespaces;

impl Plugin for Namespaces {
    fn describe() -> Info {
        Info::new("namespaces", env!("CARGO_PKG_VERSION"))
            .description("Namespaces with labels and annotations, declared in the catalog")
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "namespaces": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["name"],
                            "properties": {
                                "name": {
                                    "type": "string",
                                    "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                                    "maxLength": 63
                                },
                                "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                                "annotations": { "type": "object", "additionalProperties": { "type": "string" } }
                            }
                        }
                    }
                }
            }))
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
}
