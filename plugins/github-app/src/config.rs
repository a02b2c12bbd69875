//! The component's `config`: what the catalog says about the GitHub App, and
//! the JSON Schema opsmith checks it against before `render` runs.

#[cfg(test)]
use opsmith_plugin_sdk::github_app::DEFAULT_SECRET_NAME;
use serde::Deserialize;

/// The GitHub App that ties the site's CI and GitOps to GitHub: registered
/// once from the manifest opsmith writes, its credentials kept in the
/// site's secret store.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(
    test,
    schemars(
        title = "builtin:github-app config",
        extend("required" = ["appName", "org"])
    )
)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// The app's name on GitHub; it must be unique across GitHub, and GitHub
    /// shows it on every comment and status the app posts.
    #[cfg_attr(
        test,
        schemars(skip_serializing_if = "String::is_empty", length(min = 1, max = 34))
    )]
    pub app_name: String,
    /// Shown on the app's page (default: a sentence naming the cluster).
    pub description: Option<String>,
    /// An http(s) URL: the app's homepage, the manifest's `url` (default:
    /// https://github.com/<org>).
    #[serde(rename = "homepageURL")]
    #[cfg_attr(test, schemars(regex(pattern = "^https?://")))]
    pub homepage_url: Option<String>,
    /// An https URL: where GitHub delivers the app's webhooks (default:
    /// Prow's hook, https://prow.apps.<cluster>.<baseDomain>/hook, when a
    /// builtin:prow component is enabled; required otherwise).
    #[serde(rename = "webhookURL")]
    #[cfg_attr(test, schemars(regex(pattern = "^https://")))]
    pub webhook_url: Option<String>,
    /// An http(s) URL: where GitHub sends the person who registers the app
    /// from the manifest, with the temporary code to exchange for the app's
    /// credentials (default: none; then generate a private key and set a
    /// webhook secret on the app's settings page).
    #[serde(rename = "redirectURL")]
    #[cfg_attr(test, schemars(regex(pattern = "^https?://")))]
    pub redirect_url: Option<String>,
    /// OAuth callback URLs, for apps that act on behalf of users.
    #[serde(rename = "callbackURLs")]
    #[cfg_attr(
        test,
        schemars(length(max = MAX_CALLBACK_URLS), inner(regex(pattern = "^https?://")))
    )]
    pub callback_urls: Vec<String>,
    /// Whether accounts other than `org` may install the app.
    pub public: bool,
    /// A GitHub organization name: the organization that owns the app and
    /// installs it.
    #[cfg_attr(
        test,
        schemars(
            skip_serializing_if = "String::is_empty",
            regex(pattern = "^[A-Za-z0-9](-?[A-Za-z0-9])*$"),
            length(max = 39)
        )
    )]
    pub org: String,
    /// Repositories of `org` (names without the org) to install the app on;
    /// empty: all of them.
    #[cfg_attr(
        test,
        schemars(
            inner(regex(pattern = "^[A-Za-z0-9._-]+$")),
            extend("uniqueItems" = true)
        )
    )]
    pub repositories: Vec<String>,
    /// Key in the site's secret store (spec.secretStore) whose properties
    /// `app-id`, `private-key` and `webhook-secret` hold the app's
    /// credentials (default: github-app/<appName>).
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub secret_store_key: Option<String>,
    /// A Secret name (an RFC 1123 subdomain): the Secret the credentials
    /// land in, in each namespace that uses them.
    // Read by `opsmith_plugin_sdk::github_app::app_secret` too: keep the name.
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
            length(max = 253),
            extend("default" = DEFAULT_SECRET_NAME)
        )
    )]
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
#[cfg(test)]
const MAX_CALLBACK_URLS: usize = 10;

#[cfg(test)]
mod tests {
    #[test]
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_schema_file(
            &schemars::schema_for!(super::Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
    }
}
