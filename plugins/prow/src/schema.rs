//! JSON Schema of the component's `config`; opsmith checks the catalog
//! against it before `render` runs. It is generated from
//! [`crate::settings::Config`], its doc comments and `schemars` attributes,
//! and checked in beside it (see the test `config_schema_is_generated_from_config`).

#[cfg(test)]
use opsmith_plugin_sdk::Value;

/// RFC 1123 label: namespaces, Secrets, containers.
#[cfg(test)]
pub const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A GitHub org.
#[cfg(test)]
pub const GITHUB_NAME: &str = "^[A-Za-z0-9][-A-Za-z0-9]*$";
/// A GitHub repository, `org/repo`.
#[cfg(test)]
pub const GITHUB_REPO: &str = "^[A-Za-z0-9][-A-Za-z0-9]*/[A-Za-z0-9._-]+$";
/// A job's name.
#[cfg(test)]
pub const JOB_NAME: &str = "^[A-Za-z0-9-._]+$";

/// `images.overrides`: a pull spec for any of the images, by name, and no
/// other name.
#[cfg(test)]
pub fn image_overrides(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let properties: serde_json::Map<String, Value> = crate::settings::IMAGE_NAMES
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                serde_json::json!({ "type": "string", "description": format!("Pull spec of {name}.") }),
            )
        })
        .collect();
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_schema_file(
            &schemars::schema_for!(crate::settings::Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
    }
}
