//! The ExternalSecrets that bring the app's credentials from the site's
//! secret store into the namespaces of the components that use them.
//!
//! The values never pass through opsmith: each ExternalSecret names the
//! store (`spec.secretStore` of the site), the key and the property, and the
//! external-secrets operator writes the Secret in the cluster.

use std::collections::BTreeSet;

use opsmith_plugin_sdk::github_app::AppSecret;
use opsmith_plugin_sdk::site::SecretStoreRef;
use opsmith_plugin_sdk::{AppCatalog, Value, json};

/// A component that reads the app's credentials from a Secret in its own
/// namespace: its plugin, and the namespace that plugin uses when its config
/// sets none. The defaults must match those plugins' own.
pub struct Consumer {
    pub plugin: &'static str,
    pub default_namespace: &'static str,
}

/// Prow authenticates as the app and checks webhook signatures; Tekton's
/// EventListener checks webhook signatures.
pub const CREDENTIAL_CONSUMERS: &[Consumer] = &[
    Consumer {
        plugin: "prow",
        default_namespace: "prow",
    },
    Consumer {
        plugin: "tekton",
        default_namespace: "ci",
    },
];

/// Argo CD checks the signature of GitHub's webhooks with the key
/// `webhook.github.secret` of its own Secret, `argocd-secret`.
pub const ARGOCD: Consumer = Consumer {
    plugin: "argocd",
    default_namespace: "openshift-gitops",
};
const ARGOCD_SECRET: &str = "argocd-secret";
const ARGOCD_WEBHOOK_KEY: &str = "webhook.github.secret";

/// How often external-secrets re-reads the store, so that a rotated
/// credential reaches the cluster within the hour.
const REFRESH_INTERVAL: &str = "1h";

/// The namespace of the enabled component with plugin `builtin:<plugin>`,
/// from its config's `namespace`; `None` when no such component is enabled.
pub fn namespace_of(catalog: &AppCatalog, consumer: &Consumer) -> Option<String> {
    let component = catalog.builtin_component(consumer.plugin)?;
    let configured = component
        .config
        .as_ref()
        .and_then(|c| c.get("namespace"))
        .and_then(Value::as_str);
    Some(configured.unwrap_or(consumer.default_namespace).to_owned())
}

/// The namespaces that get the app's credentials, each once (two components
/// may share a namespace).
pub fn credential_namespaces(catalog: &AppCatalog) -> BTreeSet<String> {
    CREDENTIAL_CONSUMERS
        .iter()
        .filter_map(|c| namespace_of(catalog, c))
        .collect()
}

/// Where the credentials come from.
pub struct Source<'a> {
    pub store: &'a SecretStoreRef,
    /// The key in the store.
    pub key: &'a str,
    pub secret: &'a AppSecret,
}

impl Source<'_> {
    fn remote(&self, secret_key: &str, property: &str) -> Value {
        json!({
            "secretKey": secret_key,
            "remoteRef": {
                "key": self.key,
                "property": property,
            },
        })
    }

    fn external_secret(
        &self,
        name: &str,
        namespace: &str,
        target: Value,
        data: Vec<Value>,
    ) -> Value {
        json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {
                "name": name,
                "namespace": namespace,
            },
            "spec": {
                "refreshInterval": REFRESH_INTERVAL,
                "secretStoreRef": {
                    "kind": self.store.kind,
                    "name": self.store.name,
                },
                "target": target,
                "data": data,
            },
        })
    }

    /// The Secret `secret.name` with the app id, private key and webhook
    /// secret, owned by its ExternalSecret.
    pub fn app_credentials(&self, namespace: &str) -> Value {
        let secret = self.secret;
        let keys = [
            &secret.app_id_key,
            &secret.private_key_key,
            &secret.webhook_secret_key,
        ];
        self.external_secret(
            &secret.name,
            namespace,
            json!({
                "name": secret.name,
                "creationPolicy": "Owner",
            }),
            keys.iter().map(|k| self.remote(k, k)).collect(),
        )
    }

    /// The webhook secret, merged into the `argocd-secret` that Argo CD's
    /// operator creates and owns.
    pub fn argocd_webhook(&self, namespace: &str) -> Value {
        self.external_secret(
            &format!("{}-webhook", self.secret.name),
            namespace,
            json!({
                "name": ARGOCD_SECRET,
                "creationPolicy": "Merge",
            }),
            vec![self.remote(ARGOCD_WEBHOOK_KEY, &self.secret.webhook_secret_key)],
        )
    }
}
