//! Blob-storage credentials, as ExternalSecrets: Prow's components read
//! them in Prow's namespace, the pod utilities that upload job logs in the
//! test-pod namespace.

use opsmith_plugin_sdk::{Input, Value, json};

use crate::components::labels;
use crate::settings::{Prow, STORAGE_CREDENTIALS_KEY};

/// One ExternalSecret per namespace, when storage is configured.
pub fn objects(input: &Input, prow: &Prow) -> Vec<Value> {
    let Some(storage) = &prow.storage else {
        return Vec::new();
    };
    let store = &input.site.spec.secret_store;
    [prow.namespace, prow.test_pod_namespace]
        .iter()
        .map(|namespace| {
            json!({
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": {
                    "name": storage.secret,
                    "namespace": namespace,
                    "labels": labels("storage-credentials"),
                },
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": { "kind": store.kind, "name": store.name },
                    "target": { "name": storage.secret, "creationPolicy": "Owner" },
                    // The store holds the whole credentials file (JSON) under one key.
                    "data": [{
                        "secretKey": STORAGE_CREDENTIALS_KEY,
                        "remoteRef": { "key": storage.credentials_ref },
                    }],
                },
            })
        })
        .collect()
}
