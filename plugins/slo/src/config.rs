//! The component's `config`, and the JSON Schema opsmith checks it against
//! before `render` runs. A service's fields are those of Sloth's
//! `prometheus/v1` spec; see the crate documentation for the mapping.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The namespace this component creates for the rules the platform
/// Prometheus evaluates, unless the config names another.
pub const DEFAULT_NAMESPACE: &str = "opsmith-slo";

/// SLOs of the site's services, rendered as PrometheusRules: SLI recording
/// rules per window, error-budget metadata and multiwindow, multi-burn-rate
/// alerts, named as Sloth names them.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:slo config"))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// A namespace name: the namespace this component creates, labelled
    /// `openshift.io/cluster-monitoring: "true"` so that OpenShift's
    /// platform Prometheus loads the rules in it; it holds the PrometheusRule
    /// of each service evaluated by the platform (`evaluation: platform`)
    /// that names no `namespace` of its own.
    #[cfg_attr(test, schemars(regex(pattern = DNS_LABEL), length(min = 1, max = 63)))]
    pub namespace: String,
    /// An http(s) URL: each alert's `runbook_url` annotation is this URL,
    /// a slash and the SLO's id (`<service>-<slo name>`), unless the SLO's
    /// `alerting` annotations set `runbook_url` themselves (default: no
    /// runbook annotation).
    #[serde(rename = "runbookBaseURL")]
    #[cfg_attr(test, schemars(regex(pattern = "^https?://")))]
    pub runbook_base_url: Option<String>,
    /// The SLO period and the alert windows, as the `spec` of Sloth's
    /// `AlertWindows` (default: Sloth's, from the Google SRE workbook: 30
    /// days; page when 2% of the budget goes in 1h (and in 5m) or 5% in 6h
    /// (and 30m); ticket when 10% goes in 1d (and 2h) or in 3d (and 6h)).
    pub windows: AlertWindows,
    /// The services and their SLOs: each entry is a Sloth `prometheus/v1`
    /// spec (`version`, `service`, `labels`, `slos`), which pastes in as it
    /// is, plus where its rules go (`namespace`, `evaluation`). Each service
    /// becomes one PrometheusRule.
    pub services: Vec<Service>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            runbook_base_url: None,
            windows: AlertWindows::default(),
            services: Vec::new(),
        }
    }
}

/// One service: a Sloth `prometheus/v1` spec, plus where its rules go.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    /// Sloth's spec version, accepted so that a spec file pastes in whole;
    /// only `prometheus/v1`.
    #[cfg_attr(
        test,
        schemars(extend("const" = "prometheus/v1")),
        serde(skip_serializing_if = "Option::is_none")
    )]
    pub version: Option<String>,
    /// The service's name (letters, digits, `-`, `_` and `.`, starting and
    /// ending with a letter or digit): the `sloth_service` label, and the
    /// PrometheusRule's name, `slo-<service>`, which makes it lowercase.
    #[cfg_attr(test, schemars(regex(pattern = NAME_PATTERN)))]
    pub service: String,
    /// Prometheus labels added to every rule of the service's SLOs.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The service's SLOs.
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub slos: Vec<ServiceLevelObjective>,
    /// A namespace name: where the service's PrometheusRule goes (default:
    /// the config's `namespace` with `evaluation: platform`; required with
    /// `evaluation: user-workload`, where it must be the namespace of the
    /// metrics the SLOs read).
    #[cfg_attr(
        test,
        schemars(regex(pattern = DNS_LABEL), length(min = 1, max = 63)),
        serde(skip_serializing_if = "Option::is_none")
    )]
    pub namespace: Option<String>,
    /// Which Prometheus evaluates the rules (see the plugin's documentation).
    #[serde(default)]
    pub evaluation: Evaluation,
}

/// Which OpenShift Prometheus evaluates a service's rules.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Evaluation {
    /// The platform Prometheus (openshift-monitoring), which scrapes
    /// OpenShift's own components: the API servers, and the operators'
    /// namespaces (openshift-pipelines, openshift-gitops). The rules go into
    /// a namespace labelled `openshift.io/cluster-monitoring: "true"`.
    #[default]
    Platform,
    /// The user-workload Prometheus, which scrapes the site's own
    /// workloads (ServiceMonitors in their namespaces); the rules, labelled
    /// `openshift.io/prometheus-rule-evaluation-scope: leaf-prometheus`, see
    /// only the metrics of their own namespace.
    UserWorkload,
}

/// One SLO, as in Sloth's spec; or a `preset` with an `objective`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(extend("required" = ["objective"])))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceLevelObjective {
    /// One of the presets for the site's own services, which fills in
    /// `sli`, `description`, a default `name` and a default alert name:
    /// `argocd-apps`, `kube-apiserver`, `prow-hook` or `tekton-pipelineruns`.
    #[cfg_attr(
        test,
        schemars(extend("enum" = ["argocd-apps", "kube-apiserver", "prow-hook", "tekton-pipelineruns"])),
        serde(skip_serializing_if = "Option::is_none")
    )]
    pub preset: Option<String>,
    /// The SLO's name (letters, digits, `-`, `_` and `.`), unique within the
    /// service: the `sloth_slo` label (default with a preset: the preset's).
    #[cfg_attr(
        test,
        schemars(regex(pattern = NAME_PATTERN)),
        serde(skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
    /// The objective in percent, more than 0 and less than 100, such as
    /// 99.9: the share of good events over the period.
    #[cfg_attr(
        test,
        schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = 100)),
        serde(skip_serializing_if = "Option::is_none")
    )]
    pub objective: Option<f64>,
    /// What the SLO promises, for people (default with a preset: the
    /// preset's).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub description: Option<String>,
    /// Prometheus labels added to this SLO's rules, over the service's.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The service level indicator: `events` or `raw` (not with `preset`).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub sli: Option<Sli>,
    /// The alerts: names, labels and annotations, and which to disable.
    #[serde(default)]
    pub alerting: Alerting,
}

/// An SLI: one of `events` and `raw`. Each query uses `{{.window}}` where
/// its range goes, such as `rate(x[{{.window}}])`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sli {
    /// Errors and total events: the error ratio is their quotient.
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub events: Option<Events>,
    /// A query that gives the error ratio (0 to 1) itself.
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub raw: Option<Raw>,
}

/// An events SLI, in Sloth's Kubernetes spelling (`errorQuery`) or its
/// `prometheus/v1` one (`error_query`), one of the two per field.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Events {
    /// PromQL: the rate of bad events, such as
    /// `sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))`.
    #[serde(rename = "errorQuery")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub error_query: Option<String>,
    /// Sloth `prometheus/v1`'s name for `errorQuery`.
    #[serde(rename = "error_query")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub error_query_v1: Option<String>,
    /// PromQL: the rate of all events, such as
    /// `sum(rate(http_requests_total[{{.window}}]))`.
    #[serde(rename = "totalQuery")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub total_query: Option<String>,
    /// Sloth `prometheus/v1`'s name for `totalQuery`.
    #[serde(rename = "total_query")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub total_query_v1: Option<String>,
}

/// A raw SLI, in either of Sloth's spellings.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// PromQL: the error ratio over `{{.window}}`, from 0 to 1.
    #[serde(rename = "errorRatioQuery")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub error_ratio_query: Option<String>,
    /// Sloth `prometheus/v1`'s name for `errorRatioQuery`.
    #[serde(rename = "error_ratio_query")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub error_ratio_query_v1: Option<String>,
}

/// The SLO's two alerts, page and ticket, as in Sloth's spec. They share a
/// name and tell themselves apart by `sloth_severity` (`page`, `ticket`).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Alerting {
    /// The alerts' name (required unless both are disabled; default with a
    /// preset: the preset's).
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub name: Option<String>,
    /// Labels of both alerts. `severity` is `critical` on the page alert and
    /// `warning` on the ticket alert unless set here or on the alert.
    pub labels: BTreeMap<String, String>,
    /// Annotations of both alerts, over the defaults (`title`, `summary`,
    /// and `runbook_url` with the config's `runbookBaseURL`).
    pub annotations: BTreeMap<String, String>,
    /// The page alert: a fast burn, for the person on call.
    #[serde(rename = "pageAlert")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub page_alert: Option<Alert>,
    /// Sloth `prometheus/v1`'s name for `pageAlert`.
    #[serde(rename = "page_alert")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub page_alert_v1: Option<Alert>,
    /// The ticket alert: a slow burn, for working hours.
    #[serde(rename = "ticketAlert")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub ticket_alert: Option<Alert>,
    /// Sloth `prometheus/v1`'s name for `ticketAlert`.
    #[serde(rename = "ticket_alert")]
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub ticket_alert_v1: Option<Alert>,
}

/// One alert's settings.
#[derive(Debug, Default, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Alert {
    /// true: no such alert.
    pub disable: bool,
    /// Labels of this alert, over `alerting.labels`.
    pub labels: BTreeMap<String, String>,
    /// Annotations of this alert, over `alerting.annotations`.
    pub annotations: BTreeMap<String, String>,
}

/// The `spec` of Sloth's `AlertWindows`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertWindows {
    /// A Prometheus duration: the SLO period, over which the objective holds.
    pub slo_period: String,
    /// The page alert's two conditions.
    pub page: SeverityWindows,
    /// The ticket alert's two conditions.
    pub ticket: SeverityWindows,
}

impl Default for AlertWindows {
    /// Sloth's `google-30d.yaml` (internal/alert/windows/ in
    /// github.com/slok/sloth), the SRE workbook's recommended parameters.
    fn default() -> Self {
        let window = |percent: f64, short: &str, long: &str| Window {
            error_budget_percent: percent,
            short_window: short.to_owned(),
            long_window: long.to_owned(),
        };
        AlertWindows {
            slo_period: "30d".to_owned(),
            page: SeverityWindows {
                quick: window(2.0, "5m", "1h"),
                slow: window(5.0, "30m", "6h"),
            },
            ticket: SeverityWindows {
                quick: window(10.0, "2h", "1d"),
                slow: window(10.0, "6h", "3d"),
            },
        }
    }
}

/// An alert's two conditions; it fires when either holds.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SeverityWindows {
    /// The faster burn, over the shorter windows.
    pub quick: Window,
    /// The slower burn, over the longer windows.
    pub slow: Window,
}

/// One condition: `errorBudgetPercent` of the period's budget spent within
/// `longWindow`, and still being spent at that rate within `shortWindow`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Window {
    /// The share of the period's error budget, in percent.
    #[cfg_attr(test, schemars(extend("exclusiveMinimum" = 0, "maximum" = 100)))]
    pub error_budget_percent: f64,
    /// A Prometheus duration shorter than `longWindow`.
    pub short_window: String,
    /// A Prometheus duration shorter than `sloPeriod`.
    pub long_window: String,
}

/// RFC 1123 labels: namespaces.
#[cfg(test)]
const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// Sloth's names of services and SLOs (pkg/common/conventions, NameRegexp).
#[cfg(test)]
const NAME_PATTERN: &str = "^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$";

#[cfg(test)]
mod tests {
    #[test]
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_config_schema::<super::Config>(
            &schemars::schema_for!(super::Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
    }
}
