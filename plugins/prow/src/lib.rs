//! `builtin:prow`: a Prow deployment that talks to GitHub as the catalog's
//! GitHub App.
//!
//! It follows upstream's starter deployment (config/prow/cluster/starter in
//! kubernetes-sigs/prow): hook, deck, tide, horologium, sinker, crier,
//! prow-controller-manager (plank), status-reconciler and ghproxy, each with
//! the RBAC upstream grants it, and Prow's `config.yaml` and `plugins.yaml`
//! generated from the catalog's orgs, repos, plugins and jobs.
//!
//! The GitHub App's Secret (app id, private key, webhook secret) is the one
//! the `builtin:github-app` component delivers to Prow's namespace; this
//! plugin only mounts it.
//!
//! Modules: `settings` (the catalog config and its checks), `config`
//! (config.yaml, plugins.yaml), `components` (Deployments, Services, PVC),
//! `rbac`, `exposure` (Routes or Ingress), `storage` (blob-storage
//! credentials), `crd` (the optional ProwJob CRD), `smoke` (the periodic
//! smoke check), `schema`.
//!
//! With `metrics` on (the default), the Services of the components that
//! serve Prometheus metrics have a `metrics` port and one ServiceMonitor
//! selects them, for OpenShift's user-workload monitoring.

mod components;
mod config;
mod crd;
mod exposure;
mod rbac;
mod schema;
mod settings;
mod smoke;
mod storage;
mod yaml;

use opsmith_plugin_sdk::{
    Diagnostic, Error, Info, Input, Output, Plugin, Severity, export_plugin, json,
};

use settings::{Config, Prow};

/// Namespaces the objects may use: the defaults of `namespace` and
/// `testPodNamespace`, and `*` because both are configurable.
const PROW_NAMESPACES: [&str; 2] = ["prow", "*"];
const BOTH_NAMESPACES: [&str; 3] = ["prow", "test-pods", "*"];

/// The plugin; public so that native tests elsewhere can render it with
/// `opsmith_plugin_sdk::testing::render::<ProwPlugin>`.
pub struct ProwPlugin;

impl Plugin for ProwPlugin {
    fn describe() -> Info {
        Info::new("prow", env!("CARGO_PKG_VERSION"))
            .description("Prow CI (hook, deck, tide, plank and friends) for a GitHub App, with its config.yaml and plugins.yaml")
            .config_schema_json(include_str!("config.schema.json"))
            .emits("v1", "Namespace", &[])
            .emits("v1", "ConfigMap", &PROW_NAMESPACES)
            .emits("v1", "ServiceAccount", &PROW_NAMESPACES)
            .emits("v1", "Service", &PROW_NAMESPACES)
            .emits("monitoring.coreos.com/v1", "ServiceMonitor", &PROW_NAMESPACES)
            .emits("v1", "PersistentVolumeClaim", &PROW_NAMESPACES)
            .emits("apps/v1", "Deployment", &PROW_NAMESPACES)
            .emits("rbac.authorization.k8s.io/v1", "Role", &BOTH_NAMESPACES)
            .emits("rbac.authorization.k8s.io/v1", "RoleBinding", &BOTH_NAMESPACES)
            .emits("route.openshift.io/v1", "Route", &PROW_NAMESPACES)
            .emits("networking.k8s.io/v1", "Ingress", &PROW_NAMESPACES)
            .emits("external-secrets.io/v1", "ExternalSecret", &BOTH_NAMESPACES)
            .emits("apiextensions.k8s.io/v1", "CustomResourceDefinition", &[])
    }

    // Nothing here depends on the servers: skip parsing them.
    const READS_HOSTS: bool = false;

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        let mut out = Output::new();
        let prow = Prow::resolve(input, &config, &mut out)?;

        for namespace in [prow.namespace, prow.test_pod_namespace] {
            out.object(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": { "name": namespace, "labels": { "app.kubernetes.io/part-of": "prow" } },
            }));
        }
        for object in config::config_maps(&prow)?
            .into_iter()
            .chain(components::objects(&prow))
            .chain(rbac::objects(&prow))
            .chain(exposure::objects(&prow))
            .chain(storage::objects(input, &prow))
        {
            out.object(object);
        }

        if config.install_crd {
            out.object(crd::prowjob_crd());
        } else {
            out.diagnostics.push(Diagnostic {
                severity: Severity::Info,
                message: format!(
                    "prow needs the ProwJob CRD: apply upstream's prowjob_customresourcedefinition.yaml \
                     of the Prow release {} (server-side), or set installCRD: true",
                    config.images.tag
                ),
                pointer: "/config/installCRD".to_owned(),
                location: None,
            });
        }
        Ok(out)
    }
}

export_plugin!(ProwPlugin);

#[cfg(test)]
mod tests;
