//! ServiceAccounts, Roles and RoleBindings: what upstream's starter grants
//! each component, no more. Everything is namespaced: a Role in Prow's
//! namespace for ProwJobs and leader election, and for the components that
//! handle job pods a Role of the same name in the test-pod namespace, bound
//! to the ServiceAccount in Prow's namespace. No component needs a ClusterRole.

use opsmith_plugin_sdk::{Value, json};

use crate::components::{labels, service_accounts};
use crate::settings::Prow;

/// Every ServiceAccount, Role and RoleBinding.
pub fn objects(prow: &Prow) -> Vec<Value> {
    let mut out: Vec<Value> = service_accounts()
        .iter()
        .map(|name| {
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": { "name": name, "namespace": prow.namespace, "labels": labels(name) },
            })
        })
        .collect();
    for (name, rules) in prow_namespace_rules() {
        out.push(role(name, prow.namespace, rules));
        out.push(role_binding(prow, name, prow.namespace));
    }
    for (name, rules) in test_pod_namespace_rules() {
        out.push(role(name, prow.test_pod_namespace, rules));
        out.push(role_binding(prow, name, prow.test_pod_namespace));
    }
    out
}

/// Rules in Prow's namespace, where the ProwJobs live.
fn prow_namespace_rules() -> Vec<(&'static str, Value)> {
    vec![
        // Reads jobs for its pages. Reruns from the UI would need `create`
        // too; upstream leaves it out, as it lets anyone who reaches deck start jobs.
        ("deck", json!([prowjobs(&["get", "list", "watch"])])),
        // Starts periodic jobs.
        (
            "horologium",
            json!([prowjobs(&["create", "list", "watch"])]),
        ),
        // Deletes finished jobs; leader election through a lease.
        ("sinker", {
            let mut rules = vec![prowjobs(&["delete", "list", "watch", "get"])];
            rules.extend(leader_election("prow-sinker-leaderlock"));
            json!(rules)
        }),
        // Starts presubmits from webhooks and /test comments; the configmaps
        // grant is upstream's, for the config-updater plugin.
        (
            "hook",
            json!([
                prowjobs(&["create", "get", "list", "update"]),
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "verbs": ["create", "get", "update"],
                },
            ]),
        ),
        // Starts batch jobs for the merge pool.
        (
            "tide",
            json!([prowjobs(&["create", "list", "get", "watch"])]),
        ),
        // Re-runs jobs whose config changed under an open PR.
        ("statusreconciler", json!([prowjobs(&["create"])])),
        // plank: moves jobs through their states.
        ("prow-controller-manager", {
            let mut rules = vec![prowjobs(&["get", "list", "watch", "update", "patch"])];
            rules.extend(leader_election("prow-controller-manager-leader-lock"));
            json!(rules)
        }),
        // Reports job results to GitHub and records what it reported.
        (
            "crier",
            json!([prowjobs(&["get", "watch", "list", "patch"])]),
        ),
    ]
}

/// Rules in the test-pod namespace, where jobs run.
fn test_pod_namespace_rules() -> Vec<(&'static str, Value)> {
    vec![
        // Streams running jobs' logs.
        (
            "deck",
            json!([{ "apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"] }]),
        ),
        // Deletes finished pods.
        (
            "sinker",
            json!([{
                "apiGroups": [""],
                "resources": ["pods"],
                "verbs": ["delete", "list", "watch", "get", "patch"],
            }]),
        ),
        // plank: creates and tracks the job pods.
        (
            "prow-controller-manager",
            json!([{
                "apiGroups": [""],
                "resources": ["pods"],
                "verbs": ["create", "delete", "get", "list", "patch", "watch"],
            }]),
        ),
        // Reads pod state and events for reports; patches pods it has reported.
        (
            "crier",
            json!([
                { "apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list"] },
                { "apiGroups": [""], "resources": ["pods"], "verbs": ["patch"] },
            ]),
        ),
    ]
}

fn prowjobs(verbs: &[&str]) -> Value {
    json!({ "apiGroups": ["prow.k8s.io"], "resources": ["prowjobs"], "verbs": verbs })
}

/// What a controller needs to hold the leader lock `lock`: a lease (and,
/// as upstream still grants, the older ConfigMap lock), and events.
fn leader_election(lock: &str) -> Vec<Value> {
    vec![
        json!({
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [lock],
            "verbs": ["get", "update"],
        }),
        json!({ "apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"] }),
        json!({
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [lock],
            "verbs": ["get", "update"],
        }),
        json!({ "apiGroups": [""], "resources": ["configmaps", "events"], "verbs": ["create"] }),
    ]
}

fn role(name: &str, namespace: &str, rules: Value) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": { "name": name, "namespace": namespace, "labels": labels(name) },
        "rules": rules,
    })
}

/// Binds Role `name` in `namespace` to the ServiceAccount of the same name
/// in Prow's namespace.
fn role_binding(prow: &Prow, name: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": { "name": name, "namespace": namespace, "labels": labels(name) },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name },
        "subjects": [{ "kind": "ServiceAccount", "name": name, "namespace": prow.namespace }],
    })
}
