//! The day-0 files: the GitHub App manifest, and the notes an SRE follows to
//! register the app from it and store its credentials.
//!
//! GitHub's app-manifest flow: a person POSTs the manifest as the form field
//! `manifest` to `https://github.com/organizations/<org>/settings/apps/new`,
//! GitHub creates the app and redirects with a code, and
//! `POST /app-manifests/<code>/conversions` returns the app id, private key
//! and webhook secret once. Those three go into the site's secret store;
//! opsmith never sees them.

use opsmith_plugin_sdk::github_app::AppSecret;
use opsmith_plugin_sdk::site::SecretStoreRef;
use opsmith_plugin_sdk::{File, FileFormat, Value, json};

use crate::permissions::Requested;

/// Name of the manifest file in `<site>/day0/<component>/`.
pub const MANIFEST_FILE: &str = "github-app-manifest.json";
/// Name of the registration notes next to it.
pub const SETUP_FILE: &str = "github-app-setup.yaml";

/// The manifest's fields, resolved from the config and the catalog.
pub struct Manifest<'a> {
    pub name: &'a str,
    pub url: String,
    pub webhook_url: String,
    pub redirect_url: Option<&'a str>,
    pub callback_urls: &'a [String],
    pub description: String,
    pub public: bool,
    pub requested: Requested,
}

impl Manifest<'_> {
    /// The manifest, in the field order of GitHub's parameter table.
    pub fn file(&self) -> File {
        let mut manifest = json!({
            "name": self.name,
            "url": self.url,
            "hook_attributes": {
                "url": self.webhook_url,
                "active": true,
            },
            "description": self.description,
            "public": self.public,
            "default_permissions": self.requested.permissions,
            "default_events": self.requested.events,
        });
        if let Some(redirect) = self.redirect_url {
            manifest["redirect_url"] = json!(redirect);
        }
        if !self.callback_urls.is_empty() {
            manifest["callback_urls"] = json!(self.callback_urls);
        }
        File {
            name: MANIFEST_FILE.to_owned(),
            format: FileFormat::Json,
            content: manifest,
            schema: None,
        }
    }
}

/// Where to register the app, where to install it and where its credentials
/// go: what the person holding the manifest needs to finish day 0.
pub fn setup_file(
    org: &str,
    repositories: &[String],
    redirect_url: Option<&str>,
    store: &SecretStoreRef,
    key: &str,
    secret: &AppSecret,
) -> File {
    let install_on: Value = if repositories.is_empty() {
        json!("all repositories")
    } else {
        json!(
            repositories
                .iter()
                .map(|r| format!("{org}/{r}"))
                .collect::<Vec<_>>()
        )
    };
    File {
        name: SETUP_FILE.to_owned(),
        format: FileFormat::Yaml,
        content: json!({
            "register": {
                "url": format!("https://github.com/organizations/{org}/settings/apps/new"),
                "how": how_to_register(redirect_url),
            },
            "install": {
                "organization": org,
                "repositories": install_on,
            },
            "credentials": {
                "secretStore": { "kind": store.kind, "name": store.name },
                "key": key,
                "properties": {
                    secret.app_id_key.as_str(): "the app's ID: `id` in the conversion response, or App ID on the app's settings page",
                    secret.private_key_key.as_str(): "the PEM private key: `pem` in the conversion response, or one generated on the settings page",
                    secret.webhook_secret_key.as_str(): "the webhook secret: `webhook_secret` in the conversion response, or the one set on the settings page",
                },
            },
        }),
        schema: None,
    }
}

/// The steps of GitHub's manifest flow; without a `redirect_url` nothing
/// receives the code, so the credentials come from the app's settings page.
fn how_to_register(redirect_url: Option<&str>) -> String {
    let post = format!(
        "POST the content of {MANIFEST_FILE} as the form field `manifest` to `register.url`"
    );
    match redirect_url {
        Some(url) => format!(
            "{post}; GitHub redirects to {url} with a temporary code; within one hour, \
             POST https://api.github.com/app-manifests/<code>/conversions returns the credentials"
        ),
        None => format!(
            "{post}; then, on the app's settings page, generate a private key and set a new webhook secret"
        ),
    }
}
