//! The GitHub App's webhook: where GitHub delivers the app's events, as the
//! builtin:github-app component renders it into the app's manifest, and an
//! OpenAPI description of that endpoint for the API entity.

use opsmith_plugin_sdk::{AppCatalog, SiteInventory, json};

/// Where the GitHub App's webhooks go, and which component serves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook<'a> {
    /// The app's webhook URL, `https://<host>[/<path>]`.
    pub url: String,
    /// The github-app component's name.
    pub app_component: &'a str,
    /// The app's name on GitHub (its config's `appName`), if set.
    pub app_name: Option<&'a str>,
    /// The component that serves the URL, if known.
    pub provider: Option<&'a str>,
}

/// The webhook of the catalog's enabled builtin:github-app component, if it
/// has one: its `webhookURL`, or else Prow's hook. This is the rule
/// plugins/github-app/src/lib.rs applies to the app manifest's
/// `hook_attributes.url`; the provider is `provider` when set, and the
/// builtin:prow component when the URL is Prow's hook.
pub fn of<'a>(
    site: &SiteInventory,
    catalog: &'a AppCatalog,
    provider: Option<&'a str>,
) -> Option<Webhook<'a>> {
    let app = catalog.builtin_component("github-app")?;
    let config = app.config.as_ref();
    let text = |key: &str| config.and_then(|c| c.get(key)).and_then(|v| v.as_str());
    let app_name = text("appName");
    match text("webhookURL") {
        Some(url) => Some(Webhook {
            url: url.to_owned(),
            app_component: &app.name,
            app_name,
            provider,
        }),
        None => {
            let prow = catalog.builtin_component("prow")?;
            Some(Webhook {
                url: format!(
                    "https://prow.apps.{}.{}/hook",
                    site.metadata.name, site.spec.base_domain
                ),
                app_component: &app.name,
                app_name,
                provider: provider.or(Some(&prow.name)),
            })
        }
    }
}

impl Webhook<'_> {
    /// The URL cut into its origin (`https://host`) and path (`/` when it
    /// has none), as OpenAPI's `servers` and `paths` want them; a query or
    /// fragment is left out, since a path template cannot hold one.
    pub fn origin_and_path(&self) -> (&str, &str) {
        let url = self.url.split(['?', '#']).next().unwrap_or_default();
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        match url[after_scheme..].find('/') {
            Some(i) => url.split_at(after_scheme + i),
            None => (url, "/"),
        }
    }

    /// An OpenAPI 3.1 document (as pretty JSON, which is also YAML) for the
    /// one operation GitHub calls: a POST of a JSON event with GitHub's
    /// delivery headers ("Webhook events and payloads", delivery headers:
    /// https://docs.github.com/en/webhooks/webhook-events-and-payloads).
    pub fn openapi(&self, cluster: &str) -> String {
        let (origin, path) = self.origin_and_path();
        let header = |name: &str, description: &str| {
            json!({
                "name": name,
                "in": "header",
                "required": true,
                "description": description,
                "schema": { "type": "string" },
            })
        };
        let app = self.app_name.map_or_else(
            || "the site's GitHub App".to_owned(),
            |n| format!("the GitHub App {n}"),
        );
        let document = json!({
            "openapi": "3.1.0",
            "info": {
                "title": format!("GitHub App webhook of {cluster}"),
                "version": "1",
                "description": format!(
                    "Where GitHub delivers the events {app} subscribes to (its manifest, \
                     day0/{}/github-app-manifest.json, lists them). Every delivery is signed \
                     with the app's webhook secret, which the receiver checks.",
                    self.app_component
                ),
            },
            "servers": [{ "url": origin }],
            "paths": {
                path: {
                    "post": {
                        "operationId": "deliverEvent",
                        "summary": "One webhook delivery",
                        "parameters": [
                            header("X-GitHub-Event", "The name of the event, such as pull_request."),
                            header("X-GitHub-Delivery", "A unique identifier of the delivery."),
                            header("X-GitHub-Hook-ID", "The identifier of the webhook."),
                            header(
                                "X-Hub-Signature-256",
                                "sha256= and the hex HMAC-SHA256 of the body, keyed with the app's webhook secret.",
                            ),
                        ],
                        "requestBody": {
                            "required": true,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "description": "The event's payload.",
                                    },
                                },
                            },
                        },
                        "responses": {
                            "200": { "description": "The delivery was accepted." },
                            // Receivers answer a refused delivery differently.
                            "default": { "description": "The delivery was refused, such as one whose signature does not match." },
                        },
                    },
                },
            },
        });
        let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(url: &str) -> Webhook<'static> {
        Webhook {
            url: url.to_owned(),
            app_component: "github-app",
            app_name: None,
            provider: None,
        }
    }

    #[test]
    fn urls_are_cut_into_origin_and_path() {
        assert_eq!(
            hook("https://prow.apps.infra.example.org/hook").origin_and_path(),
            ("https://prow.apps.infra.example.org", "/hook")
        );
        assert_eq!(
            hook("https://el.example.org").origin_and_path(),
            ("https://el.example.org", "/")
        );
        assert_eq!(
            hook("https://el.example.org:8443/a/b").origin_and_path(),
            ("https://el.example.org:8443", "/a/b")
        );
        assert_eq!(
            hook("https://el.example.org/hook?source=github#x").origin_and_path(),
            ("https://el.example.org", "/hook")
        );
        assert_eq!(
            hook("https://el.example.org?x=1").origin_and_path(),
            ("https://el.example.org", "/")
        );
    }
}
