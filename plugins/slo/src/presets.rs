//! SLIs for the services the reference site runs, over the metrics their
//! upstream projects document. A preset fills in an SLO's `sli`,
//! `description`, default `name` and default alert name; the catalog sets
//! the objective and may override the rest.

use crate::config::Evaluation;

/// A preset's SLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresetSli {
    /// Bad events over all events.
    Events {
        error: &'static str,
        total: &'static str,
    },
}

/// One preset.
#[derive(Debug)]
pub struct Preset {
    /// What the catalog writes as `preset:`.
    pub id: &'static str,
    /// The SLO's default name.
    pub name: &'static str,
    pub description: &'static str,
    /// The alerts' default name.
    pub alert: &'static str,
    pub sli: PresetSli,
    /// Which Prometheus scrapes the metrics on OpenShift, and so should
    /// evaluate the rules.
    pub scraped_by: Evaluation,
}

/// Every preset, by id.
pub const PRESETS: &[Preset] = &[
    // Argo CD's application controller exports `argocd_app_info`, a gauge
    // of 1 per Application whose `sync_status` (Synced, OutOfSync, Unknown)
    // and `health_status` (Healthy, Progressing, Degraded, Suspended,
    // Missing, Unknown) labels are the Application's state:
    // https://argo-cd.readthedocs.io/en/stable/operator-manual/metrics/
    // ("Application Controller Metrics"). Counting its samples over the
    // window gives application-time; the bad share is the time
    // Applications spent anything but Synced and Healthy. OpenShift GitOps
    // runs Argo CD in openshift-gitops and labels an `openshift-*` Argo CD
    // namespace for the platform Prometheus (redhat-developer/gitops-operator,
    // controllers/argocd_metrics_controller.go).
    Preset {
        id: "argocd-apps",
        name: "apps-synced-healthy",
        description: "Argo CD Applications are Synced and Healthy: the share of application-time \
                      spent OutOfSync, Unknown, Progressing, Degraded, Suspended or Missing is the error ratio.",
        alert: "ArgoCDAppsErrorBudgetBurn",
        sli: PresetSli::Events {
            // `or vector(0)`: no Application Synced and Healthy at all is
            // every sample bad, not no data.
            error: "sum(count_over_time(argocd_app_info[{{.window}}])) - \
                    (sum(count_over_time(argocd_app_info{sync_status=\"Synced\",health_status=\"Healthy\"}[{{.window}}])) or vector(0))",
            total: "sum(count_over_time(argocd_app_info[{{.window}}]))",
        },
        scraped_by: Evaluation::Platform,
    },
    // The API server counts every request in `apiserver_request_total` with
    // its HTTP status in `code`:
    // https://kubernetes.io/docs/reference/instrumentation/metrics/
    // Errors as in Sloth's own API server example (examples/
    // kubernetes-apiserver.yml in github.com/slok/sloth): 5xx and 429.
    // `job="apiserver"` is the kube-apiserver on OpenShift, as the cluster
    // monitoring operator's own rules select it (openshift/
    // cluster-monitoring-operator, assets/cluster-monitoring-operator/
    // prometheus-rule.yaml); openshift-apiserver and oauth-apiserver export
    // the same metric under other jobs.
    Preset {
        id: "kube-apiserver",
        name: "requests-availability",
        description: "The Kubernetes API server answers requests without a server error \
                      (5xx) or throttling (429).",
        alert: "KubeAPIServerErrorBudgetBurn",
        sli: PresetSli::Events {
            error: "sum(rate(apiserver_request_total{job=\"apiserver\",code=~\"(5..|429)\"}[{{.window}}]))",
            total: "sum(rate(apiserver_request_total{job=\"apiserver\"}[{{.window}}]))",
        },
        scraped_by: Evaluation::Platform,
    },
    // Prow's hook counts its answers to GitHub's webhook deliveries in
    // `prow_webhook_response_codes` by `response_code`:
    // https://github.com/kubernetes-sigs/prow/blob/main/site/content/en/docs/metrics/_index.md
    // hook answers 200, 400 or 405 to malformed requests (not GitHub's),
    // 403 to a signature that does not match the webhook secret and 500
    // when it cannot read the body (pkg/github/webhooks.go,
    // ValidateWebhook; counted in pkg/hook/server.go). 403 and 5xx are the
    // deliveries from GitHub that the site lost.
    Preset {
        id: "prow-hook",
        name: "webhook-deliveries",
        description: "Prow's hook accepts GitHub's webhook deliveries: answers 403 (a signature \
                      that does not match the webhook secret) and 5xx are errors.",
        alert: "ProwHookErrorBudgetBurn",
        sli: PresetSli::Events {
            error: "sum(rate(prow_webhook_response_codes{response_code=~\"403|5..\"}[{{.window}}]))",
            total: "sum(rate(prow_webhook_response_codes[{{.window}}]))",
        },
        scraped_by: Evaluation::UserWorkload,
    },
    // Tekton's controller counts finished PipelineRuns in
    // `tekton_pipelines_controller_pipelinerun_total` by `status`
    // (`success`, `failed`, `cancelled`):
    // https://github.com/tektoncd/pipeline/blob/main/docs/metrics.md and
    // pkg/pipelinerunmetrics/metrics.go. Cancelled runs were stopped by
    // someone and count neither way. OpenShift Pipelines runs the
    // controller in openshift-pipelines, which its operator labels for the
    // platform Prometheus while metrics are on, as they are by default
    // (tektoncd/operator, pkg/reconciler/openshift/tektonpipeline/extension.go).
    Preset {
        id: "tekton-pipelineruns",
        name: "pipelinerun-success",
        description: "Tekton PipelineRuns succeed: failed runs (for any reason, a failing test \
                      included) over finished runs that were not cancelled.",
        alert: "TektonPipelineRunErrorBudgetBurn",
        sli: PresetSli::Events {
            error: "sum(rate(tekton_pipelines_controller_pipelinerun_total{status=\"failed\"}[{{.window}}]))",
            total: "sum(rate(tekton_pipelines_controller_pipelinerun_total{status!=\"cancelled\"}[{{.window}}]))",
        },
        scraped_by: Evaluation::Platform,
    },
];

/// The preset `id`.
pub fn find(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// The presets' ids, for an error message: `a`, `b` and `c`.
pub fn list() -> String {
    let ids: Vec<String> = PRESETS.iter().map(|p| format!("`{}`", p.id)).collect();
    match ids.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_sorted_and_their_queries_are_promql_with_a_window() {
        let ids: Vec<&str> = PRESETS.iter().map(|p| p.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
        assert_eq!(
            list(),
            "`argocd-apps`, `kube-apiserver`, `prow-hook` and `tekton-pipelineruns`"
        );
        // The config schema offers the same names.
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("config.schema.json")).unwrap();
        assert_eq!(
            schema["$defs"]["ServiceLevelObjective"]["properties"]["preset"]["enum"],
            serde_json::json!(ids)
        );
        for preset in PRESETS {
            let PresetSli::Events { error, total } = preset.sli;
            for query in [error, total] {
                assert!(query.contains("{{.window}}"), "{}: {query}", preset.id);
                let filled = query.replace("{{.window}}", "5m");
                if let Err(e) = promql_parser::parser::parse(&filled) {
                    panic!("{}: {filled}: {e}", preset.id);
                }
            }
        }
    }
}
