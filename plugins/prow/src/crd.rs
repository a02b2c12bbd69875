//! The ProwJob CustomResourceDefinition, in a compact form.
//!
//! Upstream's prowjob_customresourcedefinition.yaml is about 700 KB, nearly
//! all of it the schema of the pod spec embedded in `spec.pod_spec`. It is
//! too big for client-side apply (the last-applied annotation is capped at
//! 256 KB, so Argo CD needs ServerSideApply for it), it would dwarf
//! everything else this plugin writes, and it changes with every Prow
//! release. By default the site installs upstream's file itself (see the
//! `installCRD` description). With `installCRD: true` this renders the same
//! resource (group, names, scope, version, printer columns) with `spec` and
//! `status` left open: Prow validates jobs when it loads its config, the API
//! server then only stores them.

use opsmith_plugin_sdk::{Value, json};

pub fn prowjob_crd() -> Value {
    let column = |name: &str, path: &str, kind: &str, description: &str| json!({ "name": name, "jsonPath": path, "type": kind, "description": description });
    let open = json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "prowjobs.prow.k8s.io" },
        "spec": {
            "group": "prow.k8s.io",
            "names": {
                "kind": "ProwJob",
                "listKind": "ProwJobList",
                "plural": "prowjobs",
                "singular": "prowjob",
            },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": { "spec": open, "status": open },
                    },
                },
                "additionalPrinterColumns": [
                    column("Job", ".spec.job", "string", "The name of the job being run"),
                    column("BuildId", ".status.build_id", "string", "The ID of the job being run."),
                    column("Type", ".spec.type", "string", "The type of job being run."),
                    column("Org", ".spec.refs.org", "string", "The org for which the job is running."),
                    column("Repo", ".spec.refs.repo", "string", "The repo for which the job is running."),
                    column("Pulls", ".spec.refs.pulls[*].number", "string", "The pulls for which the job is running."),
                    column("StartTime", ".status.startTime", "date", "When the job started running."),
                    column("CompletionTime", ".status.completionTime", "date", "When the job finished running."),
                    column("State", ".status.state", "string", "The state of the job."),
                ],
            }],
        },
    })
}
