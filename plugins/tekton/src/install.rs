//! OpenShift Pipelines itself: the operator's OLM Subscription, or the
//! TektonConfig that tells an installed operator what to run.
//!
//! Neither kind has a schema in the upstream data opsmith checks against, so
//! both stay minimal, with the fields the operator's documentation shows.

use opsmith_plugin_sdk::{Value, json};

use crate::meta;

/// The operator's package in Red Hat's catalog.
const PACKAGE: &str = "openshift-pipelines-operator-rh";

/// Subscribes `openshift-operators`, whose global OperatorGroup every
/// OpenShift cluster has, to the operator. Updates within the channel are
/// applied as they come: the channel is the version pin.
pub fn subscription(channel: &str) -> Value {
    json!({
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "metadata": {
            "name": PACKAGE,
            "namespace": "openshift-operators",
        },
        "spec": {
            "channel": channel,
            "installPlanApproval": "Automatic",
            "name": PACKAGE,
            "source": "redhat-operators",
            "sourceNamespace": "openshift-marketplace",
        },
    })
}

/// The operator's one configuration object, always named `config`: every
/// component (pipelines, triggers, the console plugin) in
/// `openshift-pipelines`, and a nightly prune of old runs so that a busy CI
/// namespace does not fill etcd and the workspace volumes.
pub fn tekton_config() -> Value {
    json!({
        "apiVersion": "operator.tekton.dev/v1alpha1",
        "kind": "TektonConfig",
        "metadata": meta::operator_kind("config", None),
        "spec": {
            "targetNamespace": "openshift-pipelines",
            "profile": "all",
            "pruner": {
                "resources": ["pipelinerun"],
                "keep": 100,
                "schedule": "0 3 * * *",
            },
        },
    })
}
