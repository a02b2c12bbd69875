//! The component's `config`: who owns the entities, their lifecycle, how
//! Backstage's Kubernetes plugin reaches the cluster; and the JSON Schema
//! opsmith checks it against before `render` runs.

use std::collections::BTreeMap;

use opsmith_plugin_sdk::Error;
use serde::{Deserialize, Serialize};

/// A `group:` entity reference in Backstage's default namespace, lowercase
/// (Backstage compares references without case, so two spellings would be
/// one Group rendered twice). The name follows Backstage's entity name rule
/// (@backstage/catalog-model KubernetesValidatorFunctions.isValidObjectName).
#[cfg(test)]
const GROUP_REF_PATTERN: &str = r"^group:(default/)?([a-z0-9][-a-z0-9_.]*)?[a-z0-9]$";

/// Renders Backstage catalog entities for the site as day-0 files
/// (day0/<component>/), which Backstage reads from git and no cluster
/// applies: a System for the site, a Resource for the cluster
/// (kubernetes-cluster), its machine network and each host, a Component
/// for each enabled catalog component, an API for the GitHub App's webhook,
/// the owning Groups, and catalog-info.yaml, a Location that lists every
/// other file. Register catalog-info.yaml's URL in Backstage's
/// catalog.locations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:backstage config"))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// The Group that owns every entity, as an entity reference
    /// group:<name> in Backstage's default namespace, lowercase (default:
    /// group:default/<site>-admins).
    #[cfg_attr(test, schemars(regex(pattern = GROUP_REF_PATTERN), length(max = 77)))]
    pub owner: Option<String>,
    /// spec.lifecycle of the Components and the webhook API. Backstage's
    /// well-known values are experimental, production and deprecated.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub lifecycle: String,
    /// spec.type of the Components. Backstage's well-known values are
    /// service, website and library.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub component_type: String,
    /// Per catalog component (by name): its own owner, lifecycle, type or
    /// description. Each name must be an enabled component of the catalog.
    pub components: BTreeMap<String, ComponentSettings>,
    /// Whether to render a Group entity for each owner, so that every
    /// reference resolves within these files. false when the groups come
    /// from elsewhere (an organisation provider, or another site's catalog:
    /// Backstage refuses an entity that two locations define); they must
    /// then exist there.
    pub render_groups: bool,
    /// How Backstage's Kubernetes plugin reaches the cluster: the cluster's
    /// Resource carries these as annotations, which its catalog cluster
    /// locator reads.
    pub kubernetes: Kubernetes,
    /// The catalog component that serves the GitHub App's webhook URL, which
    /// then provides the webhook API. Default: the builtin:prow component
    /// when the URL is Prow's hook (the github-app component sets no
    /// webhookURL); none otherwise.
    pub webhook_provider: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            owner: None,
            lifecycle: "production".to_owned(),
            component_type: "service".to_owned(),
            components: BTreeMap::new(),
            render_groups: true,
            kubernetes: Kubernetes::default(),
            webhook_provider: None,
        }
    }
}

/// What one component's entity says instead of the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ComponentSettings {
    /// The Group that owns this component (and the webhook API, for the
    /// github-app component), as group:<name>.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(regex(pattern = GROUP_REF_PATTERN), length(max = 77)))]
    pub owner: Option<String>,
    /// Its spec.lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub lifecycle: Option<String>,
    /// Its spec.type.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub component_type: Option<String>,
    /// Its metadata.description (default: which plugin renders it, and where).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub description: Option<String>,
}

/// The annotations of the cluster's Resource that Backstage's Kubernetes
/// plugin reads (@backstage/plugin-kubernetes-common,
/// catalog-entity-constants.ts). Its catalog cluster locator
/// (plugins/kubernetes-backend/src/cluster-locator/CatalogClusterLocator.ts)
/// picks up only a Resource of type kubernetes-cluster that has the
/// api-server, api-server-certificate-authority and auth-provider
/// annotations; without certificateAuthority the cluster is in the catalog
/// but not in the Kubernetes plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Kubernetes {
    /// kubernetes.io/auth-provider: how the Kubernetes plugin authenticates
    /// to the cluster, such as serviceAccount, oidc or aks.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub auth_provider: String,
    /// kubernetes.io/api-server-certificate-authority: the base64-encoded
    /// PEM certificate of the CA that signed the API server's certificate (a
    /// public certificate, not a secret). Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub certificate_authority: Option<String>,
    /// Whether to link the cluster to its OpenShift web console
    /// (kubernetes.io/dashboard-url and dashboard-app openshift), at
    /// https://console-openshift-console.apps.<site>.<baseDomain>.
    pub console: bool,
}

impl Default for Kubernetes {
    fn default() -> Self {
        Kubernetes {
            auth_provider: "serviceAccount".to_owned(),
            certificate_authority: None,
            console: true,
        }
    }
}

impl Config {
    /// Checks what the schema says (a native caller may not have checked
    /// it) and what it cannot: names of enabled components, no private key.
    pub fn check(&self, enabled: &[&str]) -> Result<(), Error> {
        if let Some(owner) = &self.owner {
            check_group_ref(owner, "/config/owner")?;
        }
        for (field, value) in [
            ("lifecycle", &self.lifecycle),
            ("componentType", &self.component_type),
            ("kubernetes/authProvider", &self.kubernetes.auth_provider),
        ] {
            if value.trim().is_empty() {
                return Err(Error::at(&format!("/config/{field}"), "must not be empty"));
            }
        }
        for (name, settings) in &self.components {
            let pointer = format!("/config/components/{}", pointer_token(name));
            if !enabled.contains(&name.as_str()) {
                return Err(Error::at(
                    &pointer,
                    format!(
                        "no enabled component `{name}` in the catalog; the enabled ones are {}",
                        enabled.join(", ")
                    ),
                ));
            }
            if let Some(owner) = &settings.owner {
                check_group_ref(owner, &format!("{pointer}/owner"))?;
            }
            for (field, value) in [
                ("lifecycle", &settings.lifecycle),
                ("type", &settings.component_type),
                ("description", &settings.description),
            ] {
                if value.as_ref().is_some_and(|v| v.trim().is_empty()) {
                    return Err(Error::at(
                        &format!("{pointer}/{field}"),
                        "must not be empty",
                    ));
                }
            }
        }
        if let Some(provider) = &self.webhook_provider
            && !enabled.contains(&provider.as_str())
        {
            return Err(Error::at(
                "/config/webhookProvider",
                format!("no enabled component `{provider}` in the catalog serves the webhook"),
            ));
        }
        if let Some(ca) = &self.kubernetes.certificate_authority
            && (ca.contains("PRIVATE KEY") || ca.trim().is_empty())
        {
            return Err(Error::at(
                "/config/kubernetes/certificateAuthority",
                "this takes the CA's public certificate, base64-encoded, never a private key",
            ));
        }
        Ok(())
    }
}

/// The name part of a `group:` reference that [`GROUP_REF_PATTERN`]
/// accepts, or an error at `pointer`.
fn check_group_ref(reference: &str, pointer: &str) -> Result<(), Error> {
    let name = reference
        .strip_prefix("group:")
        .map(|rest| rest.strip_prefix("default/").unwrap_or(rest));
    match name {
        Some(name)
            if crate::entities::is_entity_name(name) && !name.contains(char::is_uppercase) =>
        {
            Ok(())
        }
        _ => Err(Error::at(
            pointer,
            format!(
                "`{reference}` is not a group reference such as group:default/site-admins \
                 (lowercase letters, digits and `-_.`, at most 63 characters, in the default namespace)"
            ),
        )),
    }
}

/// `name` as one token of a JSON pointer (RFC 6901: `~` and `/` escaped).
fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_config_schema::<Config>(
            &schemars::schema_for!(Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
        let parsed: Config = serde_json::from_str("{}").expect("empty config");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn group_references() {
        for good in [
            "group:sre",
            "group:default/sre",
            "group:infra-admins",
            "group:a.b_c",
        ] {
            assert!(check_group_ref(good, "/p").is_ok(), "{good}");
        }
        for bad in [
            "sre",
            "user:jdoe",
            "group:SRE",
            "group:other/sre",
            "group:-sre",
            "group:sre-",
            "group:",
            &format!("group:{}", "a".repeat(64)),
        ] {
            let err = check_group_ref(bad, "/config/owner").expect_err(bad);
            assert_eq!(err.pointer, "/config/owner", "{bad}");
        }
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }
}
