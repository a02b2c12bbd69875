//! `builtin:slo`: service level objectives declared in the catalog, rendered
//! as `PrometheusRule`s (monitoring.coreos.com/v1) the way Sloth renders
//! them, so that Sloth's Grafana dashboards and UI work on them.
//!
//! For each SLO it writes three rule groups:
//!
//! - **SLI recordings**: `slo:sli_error:ratio_rate<window>`, the error
//!   ratio over each alert window (5m, 30m, 1h, 2h, 6h, 1d and 3d by
//!   default) and over the SLO period (30d), labelled `sloth_id`
//!   (`<service>-<slo>`), `sloth_service`, `sloth_slo` and `sloth_window`;
//! - **metadata**: `slo:objective:ratio`, `slo:error_budget:ratio`,
//!   `slo:time_period:days`, `slo:current_burn_rate:ratio`,
//!   `slo:period_burn_rate:ratio`, `slo:period_error_budget_remaining:ratio`
//!   and the info metric `sloth_slo_info` (with `sloth_objective`,
//!   `sloth_spec: prometheus/v1` and `sloth_mode: opsmith`);
//! - **alerts**: a page and a ticket alert, multiwindow and multi-burn-rate
//!   (the Google SRE workbook's, as Sloth writes them): page when 2% of the
//!   period's budget is spent within 1h (and is still being spent within
//!   5m) or 5% within 6h (and 30m); ticket when 10% is spent within 1d (and
//!   2h) or within 3d (and 6h). The burn factors follow from the share and
//!   the window: 2% of 30 days in 1h is a burn 0.02 × 720 / 1 = 14.4 times
//!   the budget rate; then 6, 3 and 1. They are labelled `sloth_severity`
//!   (`page`, `ticket`) and `severity` (`critical`, `warning`; your
//!   `labels` win), annotated with a `title`, a `summary`, the SLO's
//!   `description` and, with `runbookBaseURL`, a `runbook_url` (your
//!   `annotations` win).
//!
//! # Sloth's spec in the catalog
//!
//! Each entry of `services` is a Sloth `prometheus/v1` spec: `version`
//! (optional, only `prometheus/v1`), `service`, `labels` and `slos`, each
//! SLO with `name`, `objective`, `description`, `labels`, `sli` (`events`:
//! `errorQuery` and `totalQuery`; or `raw`: `errorRatioQuery`; each query
//! with `{{.window}}` where its range goes) and `alerting` (`name`,
//! `labels`, `annotations`, `pageAlert` and `ticketAlert`, each with
//! `disable`, `labels` and `annotations`). Sloth's Kubernetes CRD
//! (`PrometheusServiceLevel`) spells the multi-word fields in camelCase and
//! its `prometheus/v1` files in snake_case (`error_query`, `total_query`,
//! `error_ratio_query`, `page_alert`, `ticket_alert`): both spellings are
//! accepted, one per field, so a spec file or a CRD's `spec` pastes in
//! under `services:` as it is. Two fields are opsmith's own: `namespace`
//! and `evaluation` (below). Sloth's plugins (`slo_plugins`, `plugins`,
//! `sli.plugin`) are not supported. `windows` takes the `spec` of Sloth's
//! `AlertWindows` (`sloPeriod`, `page` and `ticket`, each with `quick` and
//! `slow`: `errorBudgetPercent`, `shortWindow`, `longWindow`); the burn
//! factors are computed from it as Sloth computes them.
//!
//! An SLO may instead name a `preset` (see `presets.rs`) for the site's own
//! services, `argocd-apps`, `kube-apiserver`, `prow-hook` and
//! `tekton-pipelineruns`, which fills in `sli`, `description`, a default
//! `name` and a default alert name: `slos: [{preset: prow-hook, objective:
//! 99.5}]`.
//!
//! # Where the rules go, and which Prometheus evaluates them
//!
//! OpenShift runs two Prometheus stacks, and a PrometheusRule is evaluated
//! by one of them depending on its namespace and labels (the cluster
//! monitoring operator's assets, github.com/openshift/cluster-monitoring-operator:
//! assets/prometheus-k8s/prometheus.yaml, assets/prometheus-user-workload/
//! prometheus.yaml, assets/thanos-ruler/thanos-ruler.yaml):
//!
//! - The **platform** Prometheus (openshift-monitoring) loads the rules of
//!   every namespace labelled `openshift.io/cluster-monitoring: "true"`,
//!   without restricting their queries. It scrapes OpenShift itself: the
//!   API servers' `apiserver_request_total`, and the operators'
//!   namespaces such as openshift-pipelines and openshift-gitops.
//! - **User-workload monitoring** skips those namespaces and enforces the
//!   `namespace` label (`enforcedNamespaceLabel`): a rule sees only the
//!   series of its own namespace. Thanos Ruler evaluates a rule unless it
//!   is labelled `openshift.io/prometheus-rule-evaluation-scope:
//!   leaf-prometheus`, in which case the user-workload Prometheus does.
//!
//! So `evaluation: platform` (the default) puts a service's PrometheusRule
//! in the config's `namespace` (`opsmith-slo`, which this component
//! creates with the cluster-monitoring label) or in the service's own
//! `namespace`, which must carry that label: the presets for the API
//! server, Tekton and Argo CD read platform metrics, and a rule in a user
//! namespace could not see them. `evaluation: user-workload` puts it in the
//! service's `namespace`, required, which must be the namespace of the
//! metrics (Prow's, for `prow-hook`: hook runs in the site's `prow`
//! namespace, scraped by user-workload monitoring through a ServiceMonitor),
//! labelled `leaf-prometheus`: the user-workload Prometheus holds those
//! series itself, and Thanos Ruler would read the same series back through
//! Thanos Querier to evaluate rules that only ever need them. OpenShift's
//! supported way to alert on platform metrics, `AlertingRule`
//! (monitoring.openshift.io/v1), takes no recording rules, which an SLO is
//! mostly made of; hence a labelled namespace. User-workload monitoring's
//! `namespacesWithoutLabelEnforcement` (pkg/manifests/types.go in the
//! operator) would let Thanos Ruler read platform metrics from a user
//! namespace too, but it is cluster configuration opsmith does not render,
//! and Thanos Ruler keeps what it records for 24 hours by default, short of
//! the period's figures.
//!
//! The rules' windows reach back 3 days and the period 30: the Prometheus
//! that evaluates them needs that much retention (`retention` in
//! cluster-monitoring-config or user-workload-monitoring-config; the
//! defaults are 15 days and 24 hours, pkg/manifests/types.go in the
//! operator), or the longest windows and the period's figures cover only
//! what it keeps.
//!
//! The plugin declares `PrometheusRule` in any namespace (`opsmith-slo` by
//! default; a catalog `allow:` list may narrow it) and the cluster-scoped
//! `Namespace` it creates. Output is deterministic: services, SLOs and
//! rules in config order, labels and annotations sorted.

mod config;
mod model;
mod presets;
mod rules;
mod windows;

use opsmith_plugin_sdk::{Error, Info, Input, Output, Plugin, Value, export_plugin, json};

use config::{Config, DEFAULT_NAMESPACE, Evaluation};
use windows::Windows;

/// The plugin; public so that native builds (tests, the host's tooling) can
/// call it as `opsmith_plugin_sdk::testing::render::<Slo>`.
pub struct Slo;

impl Plugin for Slo {
    fn describe() -> Info {
        Info::new("slo", env!("CARGO_PKG_VERSION"))
            .description(
                "SLOs in Sloth's spec (or presets for Prow, Tekton, Argo CD and the API server) \
                 as PrometheusRules: SLI recordings, error-budget metadata and multiwindow, \
                 multi-burn-rate alerts",
            )
            .config_schema_json(include_str!("config.schema.json"))
            // The namespaces come from config; `opsmith-slo` is the default
            // and the only Namespace the plugin creates.
            .emits(
                "monitoring.coreos.com/v1",
                "PrometheusRule",
                &[DEFAULT_NAMESPACE, "*"],
            )
            .emits("v1", "Namespace", &[])
    }

    // Nothing here depends on the servers: skip parsing them.
    const READS_HOSTS: bool = false;

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        if !is_dns_label(&config.namespace) {
            return Err(Error::at(
                "/config/namespace",
                format!(
                    "`{}` is not a namespace name (an RFC 1123 label)",
                    config.namespace
                ),
            ));
        }
        let windows = Windows::from_config(&config.windows)?;
        let (services, warnings) = model::services(&config, &windows)?;
        let cx = rules::Context {
            windows: &windows,
            runbook_base_url: config.runbook_base_url.as_deref(),
        };
        let mut out = Output::new();
        for (pointer, message) in warnings {
            out.warn(&pointer, message);
        }
        let mut own_namespace_used = false;
        for service in &services {
            own_namespace_used |= service.namespace == config.namespace;
            out.object(prometheus_rule(service, &cx));
        }
        if own_namespace_used {
            out.object(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": config.namespace,
                    "labels": { "openshift.io/cluster-monitoring": "true" },
                },
            }));
        }
        Ok(out)
    }
}

export_plugin!(Slo);

/// One service's PrometheusRule: its SLOs' groups, in config order.
fn prometheus_rule(service: &model::Service, cx: &rules::Context<'_>) -> Value {
    let mut labels = json!({ "app.kubernetes.io/component": "slo" });
    if service.evaluation == Evaluation::UserWorkload {
        labels["openshift.io/prometheus-rule-evaluation-scope"] = json!("leaf-prometheus");
    }
    let groups: Vec<Value> = service
        .slos
        .iter()
        .flat_map(|slo| rules::groups(slo, cx))
        .collect();
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": service.object_name,
            "namespace": service.namespace,
            "labels": labels,
        },
        "spec": { "groups": groups },
    })
}

fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

#[cfg(test)]
mod tests;
