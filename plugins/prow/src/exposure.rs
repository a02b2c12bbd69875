//! How GitHub and people reach Prow: GitHub posts webhooks to
//! `https://<host>/hook`, people browse deck at `https://<host>/`.

use opsmith_plugin_sdk::{Value, json};

use crate::components::labels;
use crate::settings::{Exposure, Prow};

/// Routes (OpenShift) or one Ingress, as `exposure` says.
pub fn objects(prow: &Prow) -> Vec<Value> {
    match prow.config.exposure {
        Exposure::Route => vec![route(prow, "hook", "/hook"), route(prow, "deck", "/")],
        Exposure::Ingress => vec![ingress(prow)],
    }
}

/// An edge-terminated Route on the router's default certificate. Routes
/// sharing a host are matched by longest path, so /hook wins over /.
fn route(prow: &Prow, service: &str, path: &str) -> Value {
    json!({
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": { "name": service, "namespace": prow.namespace, "labels": labels(service) },
        "spec": {
            "host": prow.host,
            "path": path,
            "to": { "kind": "Service", "name": service, "weight": 100 },
            "port": { "targetPort": "http" },
            "tls": { "termination": "edge", "insecureEdgeTerminationPolicy": "Redirect" },
        },
    })
}

/// One Ingress for both paths, as upstream's starter. `tls` without a
/// secretName: OpenShift's ingress-to-route controller, like most ingress
/// controllers, serves the host with its default certificate.
fn ingress(prow: &Prow) -> Value {
    let path = |path: &str, service: &str, port: u16| {
        json!({
            "path": path,
            "pathType": "Prefix",
            "backend": { "service": { "name": service, "port": { "number": port } } },
        })
    };
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": { "name": "prow", "namespace": prow.namespace, "labels": labels("prow") },
        "spec": {
            "tls": [{ "hosts": [prow.host] }],
            "rules": [{
                "host": prow.host,
                "http": {
                    "paths": [
                        path("/", "deck", 80),
                        path("/hook", "hook", 8888),
                    ],
                },
            }],
        },
    })
}
