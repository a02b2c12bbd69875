//! Backstage entities (backstage.io/v1alpha1) as JSON values, and the rules
//! their names and references follow.
//!
//! Shapes are those of @backstage/catalog-model's JSON schemas
//! (src/schema/kinds/*.v1alpha1.schema.json): Component and API need
//! `spec.type`, `lifecycle` and `owner` (and an API its `definition`), a
//! Resource `type` and `owner`, a System `owner`, a Group `type` and
//! `children`. Resource and System have no lifecycle.

use opsmith_plugin_sdk::{Value, json};

/// `apiVersion` of every entity rendered here.
pub const API_VERSION: &str = "backstage.io/v1alpha1";

/// Backstage's namespace for entities that name none.
pub const NAMESPACE: &str = "default";

/// Whether `name` is a valid `metadata.name`: 1 to 63 letters, digits and
/// `-_.`, starting and ending with a letter or digit
/// (@backstage/catalog-model KubernetesValidatorFunctions.isValidObjectName,
/// which FieldFormatEntityPolicy applies).
pub fn is_entity_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A full entity reference, `kind:default/name`, kind in lower case as
/// Backstage's own `stringifyEntityRef` writes it.
pub fn reference(kind: &str, name: &str) -> String {
    format!("{}:{NAMESPACE}/{name}", kind.to_ascii_lowercase())
}

/// One entity and the file it goes to.
#[derive(Debug, Clone)]
pub struct Entity {
    /// `kind`, such as `Resource`.
    pub kind: &'static str,
    /// `metadata.name`.
    pub name: String,
    /// The whole entity.
    pub value: Value,
}

impl Entity {
    /// An entity of `kind` named `name` with `metadata` (without its name)
    /// and `spec`.
    pub fn new(kind: &'static str, name: &str, mut metadata: Value, spec: Value) -> Self {
        metadata["name"] = json!(name);
        Entity {
            kind,
            name: name.to_owned(),
            value: json!({
                "apiVersion": API_VERSION,
                "kind": kind,
                "metadata": metadata,
                "spec": spec,
            }),
        }
    }

    /// Its file name: `<kind>-<name>.yaml`, kind in lower case. Every entity
    /// is in the default namespace, so kind and name tell entities apart.
    pub fn file_name(&self) -> String {
        format!("{}-{}.yaml", self.kind.to_ascii_lowercase(), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names_follow_backstage() {
        for good in ["a", "infra", "oct-03-04-compute", "A_b.c", &"x".repeat(63)] {
            assert!(is_entity_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a/b", "a b", "a:b", ".a", &"x".repeat(64)] {
            assert!(!is_entity_name(bad), "{bad}");
        }
    }

    #[test]
    fn files_and_references() {
        let e = Entity::new("API", "infra-github-webhook", json!({}), json!({}));
        assert_eq!(e.file_name(), "api-infra-github-webhook.yaml");
        assert_eq!(
            reference(e.kind, &e.name),
            "api:default/infra-github-webhook"
        );
        assert_eq!(e.value["metadata"]["name"], "infra-github-webhook");
    }
}
