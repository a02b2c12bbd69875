//! `metadata` blocks shared by the plugin's objects.

use opsmith_plugin_sdk::{Value, json};

/// Argo CD dry-runs every object before a sync and fails on kinds the
/// cluster does not know yet. The Tekton kinds arrive with the operator this
/// component installs, in the same sync, so Argo CD is told to skip the dry
/// run for them and retry until the CRDs exist.
const SKIP_DRY_RUN: (&str, &str) = (
    "argocd.argoproj.io/sync-options",
    "SkipDryRunOnMissingResource=true",
);

/// `metadata` of a namespaced object.
pub fn namespaced(name: &str, namespace: &str) -> Value {
    json!({
        "name": name,
        "namespace": namespace,
    })
}

/// `metadata` of an object whose kind OpenShift Pipelines installs;
/// `namespace` is `None` for cluster-scoped kinds.
pub fn operator_kind(name: &str, namespace: Option<&str>) -> Value {
    let mut metadata = json!({
        "name": name,
        "annotations": { SKIP_DRY_RUN.0: SKIP_DRY_RUN.1 },
    });
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    metadata
}
