//! Where the GitHub App's credentials land, for the plugins that use them.
//!
//! The `builtin:github-app` component renders an ExternalSecret in each
//! namespace that needs the app's credentials. Prow, Tekton and Argo CD read
//! the Secret's name and keys from here, so that they follow the catalog
//! rather than guessing.

use serde::Deserialize;

use crate::site::AppCatalog;

/// The Kubernetes Secret that holds the GitHub App's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSecret {
    /// Name of the Secret, the same in every namespace.
    pub name: String,
    /// Key holding the numeric app id.
    pub app_id_key: String,
    /// Key holding the PEM private key.
    pub private_key_key: String,
    /// Key holding the webhook secret (HMAC token).
    pub webhook_secret_key: String,
}

/// Default name of the Secret.
pub const DEFAULT_SECRET_NAME: &str = "github-app";

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SecretConfig {
    #[serde(default)]
    secret_name: Option<String>,
}

/// The app's Secret, if the catalog has an enabled `builtin:github-app`
/// component; its `config.secretName` overrides the default name.
pub fn app_secret(catalog: &AppCatalog) -> Option<AppSecret> {
    let component = catalog.builtin_component("github-app")?;
    let config: SecretConfig = component
        .config
        .as_ref()
        .and_then(|c| SecretConfig::deserialize(c).ok())
        .unwrap_or_default();
    Some(AppSecret {
        name: config
            .secret_name
            .unwrap_or_else(|| DEFAULT_SECRET_NAME.to_owned()),
        app_id_key: "app-id".to_owned(),
        private_key_key: "private-key".to_owned(),
        webhook_secret_key: "webhook-secret".to_owned(),
    })
}
