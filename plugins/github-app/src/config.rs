//! The component's `config`: what the catalog says about the GitHub App, and
//! the JSON Schema opsmith checks it against before `render` runs.

use opsmith_plugin_sdk::github_app::DEFAULT_SECRET_NAME;
use opsmith_plugin_sdk::{Value, json};
use serde::Deserialize;

/// `config` of a `builtin:github-app` component.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// The app's name on GitHub (unique across GitHub).
    pub app_name: String,
    /// Shown on the app's page; derived from the site when empty.
    pub description: Option<String>,
    #[serde(rename = "homepageURL")]
    pub homepage_url: Option<String>,
    #[serde(rename = "webhookURL")]
    pub webhook_url: Option<String>,
    #[serde(rename = "redirectURL")]
    pub redirect_url: Option<String>,
    #[serde(rename = "callbackURLs")]
    pub callback_urls: Vec<String>,
    pub public: bool,
    /// The organization that owns the app and installs it.
    pub org: String,
    /// Repositories of `org` to install the app on; empty means all of them.
    pub repositories: Vec<String>,
    pub secret_store_key: Option<String>,
    /// Read by `opsmith_plugin_sdk::github_app::app_secret` too: keep the name.
    pub secret_name: Option<String>,
}

impl Config {
    /// The key in the site's secret store that holds the app's credentials.
    pub fn secret_store_key(&self) -> String {
        self.secret_store_key
            .clone()
            .unwrap_or_else(|| format!("github-app/{}", self.app_name))
    }
}

/// GitHub's limit on `callback_urls` in an app manifest.
const MAX_CALLBACK_URLS: usize = 10;

/// The JSON Schema (draft 2020-12) of [`Config`].
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "builtin:github-app config",
        "type": "object",
        "additionalProperties": false,
        "required": ["appName", "org"],
        "properties": {
            "appName": {
                "description": "The app's name on GitHub; it must be unique across GitHub, and GitHub shows it on every comment and status the app posts",
                "type": "string",
                "minLength": 1,
                "maxLength": 34
            },
            "description": {
                "description": "Shown on the app's page (default: a sentence naming the cluster)",
                "type": "string"
            },
            "homepageURL": {
                "description": "The app's homepage, the manifest's `url` (default: https://github.com/<org>)",
                "type": "string",
                "pattern": "^https?://"
            },
            "webhookURL": {
                "description": "Where GitHub delivers the app's webhooks (default: Prow's hook, https://prow.apps.<cluster>.<baseDomain>/hook, when a builtin:prow component is enabled; required otherwise)",
                "type": "string",
                "pattern": "^https://"
            },
            "redirectURL": {
                "description": "Where GitHub sends the person who registers the app from the manifest, with the temporary code to exchange for the app's credentials (default: none; then generate a private key and set a webhook secret on the app's settings page)",
                "type": "string",
                "pattern": "^https?://"
            },
            "callbackURLs": {
                "description": "OAuth callback URLs, for apps that act on behalf of users",
                "type": "array",
                "maxItems": MAX_CALLBACK_URLS,
                "items": { "type": "string", "pattern": "^https?://" },
                "default": []
            },
            "public": {
                "description": "Whether accounts other than `org` may install the app",
                "type": "boolean",
                "default": false
            },
            "org": {
                "description": "The GitHub organization that owns the app and installs it",
                "type": "string",
                "pattern": "^[A-Za-z0-9](-?[A-Za-z0-9])*$",
                "maxLength": 39
            },
            "repositories": {
                "description": "Repositories of `org` (names without the org) to install the app on; empty: all of them",
                "type": "array",
                "uniqueItems": true,
                "items": { "type": "string", "pattern": "^[A-Za-z0-9._-]+$" },
                "default": []
            },
            "secretStoreKey": {
                "description": "Key in the site's secret store (spec.secretStore) whose properties `app-id`, `private-key` and `webhook-secret` hold the app's credentials (default: github-app/<appName>)",
                "type": "string",
                "minLength": 1
            },
            "secretName": {
                "description": "Name of the Secret the credentials land in, in each namespace that uses them",
                "type": "string",
                "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                "maxLength": 253,
                "default": DEFAULT_SECRET_NAME
            }
        }
    })
}
