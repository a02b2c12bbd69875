//! What the EventListener runs as, and how GitHub reaches it.
//!
//! The permissions follow Tekton Triggers' `examples/rbac.yaml`: the
//! ClusterRoles `tekton-triggers-eventlistener-roles` (read triggers, create
//! runs, in the listener's namespace) and
//! `tekton-triggers-eventlistener-clusterroles` (read cluster interceptors
//! and bindings), both shipped with Triggers, bound to the listener's own
//! ServiceAccount.

use opsmith_plugin_sdk::{Value, json};

use crate::config::{Config, Exposure};
use crate::meta;

/// The port the EventListener's Service listens on.
const LISTENER_PORT: u16 = 8080;

/// The listener's ServiceAccount name.
pub fn service_account_name(config: &Config) -> String {
    format!("{}-listener", config.listener_name)
}

pub fn service_account(config: &Config) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta::namespaced(&service_account_name(config), &config.namespace),
    })
}

/// Binds `cluster_role` to the listener's ServiceAccount: in its namespace,
/// or cluster-wide when `namespaced` is false. ClusterRoleBindings share one
/// cluster-wide name space, so theirs carries the namespace.
fn binding(config: &Config, cluster_role: &str, namespaced: bool) -> Value {
    let account = service_account_name(config);
    let (kind, metadata) = if namespaced {
        ("RoleBinding", meta::namespaced(&account, &config.namespace))
    } else {
        (
            "ClusterRoleBinding",
            json!({ "name": format!("{}-{account}", config.namespace) }),
        )
    };
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "subjects": [
            {
                "kind": "ServiceAccount",
                "name": account,
                "namespace": config.namespace,
            },
        ],
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": cluster_role,
        },
    })
}

pub fn role_binding(config: &Config) -> Value {
    binding(config, "tekton-triggers-eventlistener-roles", true)
}

pub fn cluster_role_binding(config: &Config) -> Value {
    binding(config, "tekton-triggers-eventlistener-clusterroles", false)
}

/// A Route or an Ingress to the listener's Service at `host`. Both let the
/// cluster's router terminate TLS with its default certificate: GitHub
/// posts over HTTPS, and the listener itself speaks plain HTTP.
pub fn exposure(config: &Config, host: &str) -> Value {
    let service = config.listener_service();
    match config.exposure {
        Exposure::Route => json!({
            "apiVersion": "route.openshift.io/v1",
            "kind": "Route",
            "metadata": meta::namespaced(&service, &config.namespace),
            "spec": {
                "host": host,
                "to": {
                    "kind": "Service",
                    "name": service,
                    "weight": 100,
                },
                "port": { "targetPort": LISTENER_PORT },
                "tls": {
                    "termination": "edge",
                    "insecureEdgeTerminationPolicy": "Redirect",
                },
            },
        }),
        Exposure::Ingress => {
            let mut metadata = meta::namespaced(&service, &config.namespace);
            // OpenShift turns an Ingress into a Route; this makes that Route
            // edge-terminated with the router's certificate.
            metadata["annotations"] = json!({ "route.openshift.io/termination": "edge" });
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": metadata,
                "spec": {
                    "rules": [
                        {
                            "host": host,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {
                                                "name": service,
                                                "port": { "number": LISTENER_PORT },
                                            },
                                        },
                                    },
                                ],
                            },
                        },
                    ],
                },
            })
        }
    }
}

/// A ServiceMonitor for the metrics port of the listener's Service. Triggers
/// creates that Service (`el-<listener>`), with the labels
/// `app.kubernetes.io/managed-by: EventListener`,
/// `app.kubernetes.io/part-of: Triggers` and `eventlistener: <listener>`
/// and a port `http-metrics` (9000) serving /metrics (tektoncd/triggers
/// pkg/reconciler/eventlistener/resources/config.go, meta.go, service.go;
/// docs/metrics.md). The ServiceMonitor lives beside it: user-workload
/// monitoring ignores namespaceSelector (openshift/cluster-monitoring-operator
/// assets/prometheus-user-workload/prometheus.yaml).
pub fn service_monitor(config: &Config) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta::namespaced(&config.listener_service(), &config.namespace),
        "spec": {
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/managed-by": "EventListener",
                    "eventlistener": config.listener_name,
                },
            },
            "endpoints": [{ "port": "http-metrics", "path": "/metrics", "scheme": "http" }],
        },
    })
}
