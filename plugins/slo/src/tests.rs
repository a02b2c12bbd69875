use super::*;
use opsmith_plugin_sdk::testing::{BLESS_SCHEMAS, EXAMPLE_SITE, catalog_with, object, render};
use opsmith_plugin_sdk::{Diagnostic, Severity};

fn render_config(config: Value) -> Result<Output, Error> {
    let catalog = catalog_with(vec![
        json!({ "name": "slo", "plugin": "builtin:slo", "config": config }),
    ]);
    render::<Slo>("slo", EXAMPLE_SITE, &catalog, &config.to_string())
}

#[track_caller]
fn render_err(config: Value) -> Error {
    match render_config(config) {
        Ok(out) => panic!("rendered {:#?}", out.objects()),
        Err(e) => e,
    }
}

fn yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).expect("YAML")
}

fn from_yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("YAML")
}

/// Checks that the file at `path` (relative to the crate) holds `text`;
/// with `OPSMITH_BLESS_SCHEMAS=1`, writes it instead.
#[track_caller]
fn check_file(path: &str, text: &str) {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let current = std::fs::read_to_string(&full).unwrap_or_default();
    if current == text {
        return;
    }
    if std::env::var_os(BLESS_SCHEMAS).is_some_and(|v| v == "1") {
        std::fs::write(&full, text).unwrap_or_else(|e| panic!("cannot write {full}: {e}"));
        return;
    }
    let line = current
        .lines()
        .chain(std::iter::repeat(""))
        .zip(text.lines())
        .position(|(old, new)| old != new)
        .map_or(0, |i| i + 1);
    panic!(
        "{path} is not what the plugin renders (first difference at line {line}); review the \
         difference and rewrite it with `{BLESS_SCHEMAS}=1 cargo test -p opsmith-plugin-slo`"
    );
}

/// One service, `service`, with these SLOs, platform-evaluated.
fn service(slos: Value) -> Value {
    json!({ "services": [{ "service": "svc", "slos": slos }] })
}

/// An events SLO with the given queries.
fn events(error: &str, total: &str) -> Value {
    json!({ "name": "availability", "objective": 99.9,
            "sli": { "events": { "errorQuery": error, "totalQuery": total } },
            "alerting": { "name": "SvcErrorBudgetBurn" } })
}

const ERRORS: &str = "sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))";
const TOTAL: &str = "sum(rate(http_requests_total[{{.window}}]))";

/// A small spec with what a catalog may say: two services, one evaluated
/// by the platform in a namespace of this component's and one by
/// user-workload monitoring in its own; events and raw SLIs; labels and
/// alert settings at each level; a runbook base URL.
fn small_spec() -> Value {
    from_yaml(
        r#"
namespace: slos
runbookBaseURL: https://runbooks.example.org/slo/
services:
  - service: payments
    labels: { team: payments }
    slos:
      - name: requests-availability
        objective: 99.9
        description: Payments are answered without a server error.
        labels: { tier: "1" }
        sli:
          events:
            errorQuery: sum(rate(http_requests_total{job="payments",code=~"5.."}[{{.window}}]))
            totalQuery: sum(rate(http_requests_total{job="payments"}[{{.window}}]))
        alerting:
          name: PaymentsErrorBudgetBurn
          labels: { category: availability }
          ticketAlert:
            labels: { severity: info }
            annotations: { summary: Payments fail more often than the SLO allows }
  - service: queue
    evaluation: user-workload
    namespace: queue
    slos:
      - name: jobs
        objective: 99
        sli:
          raw:
            errorRatioQuery: avg_over_time(queue_job_failure_ratio[{{ .window }}])
        alerting:
          pageAlert: { disable: true }
          ticketAlert: { disable: true }
"#,
    )
}

#[test]
fn a_small_spec_renders_whole_prometheus_rules_and_the_namespace() {
    let out = render_config(small_spec()).unwrap();
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    check_file("tests/expected/small.yaml", &yaml(&json!(out.objects())));
    // The same input renders the same bytes.
    let again = render_config(small_spec()).unwrap();
    assert_eq!(out.objects_json().unwrap(), again.objects_json().unwrap());
}

#[test]
fn describe_declares_every_kind_and_namespace_render_uses() {
    let info = Slo::describe();
    let declared: Vec<(&str, &str, Vec<&str>)> = info
        .emits
        .iter()
        .map(|e| {
            (
                e.api_version.as_str(),
                e.kind.as_str(),
                e.namespaces.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        declared,
        [
            (
                "monitoring.coreos.com/v1",
                "PrometheusRule",
                vec!["opsmith-slo", "*"]
            ),
            ("v1", "Namespace", vec![]),
        ]
    );
    // Without `namespace`, the default one is created and used.
    let mut spec = small_spec();
    spec.as_object_mut().unwrap().remove("namespace");
    let out = render_config(spec).unwrap();
    let kinds: Vec<(String, String)> = out
        .objects()
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["metadata"]["namespace"].as_str().unwrap_or("").to_owned()
                    + "/"
                    + o["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    let kinds: Vec<(&str, &str)> = kinds
        .iter()
        .map(|(k, n)| (k.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("PrometheusRule", "opsmith-slo/slo-payments"),
            ("PrometheusRule", "queue/slo-queue"),
            ("Namespace", "/opsmith-slo"),
        ]
    );
    assert_eq!(
        object(&out, "Namespace", "opsmith-slo")["metadata"]["labels"],
        json!({ "openshift.io/cluster-monitoring": "true" })
    );
    // No Namespace when no service uses it: a platform service with its
    // own namespace (one OpenShift labels, such as openshift-gitops).
    let out = render_config(json!({ "services": [{
        "service": "argocd", "namespace": "openshift-gitops",
        "slos": [{ "preset": "argocd-apps", "objective": 99 }],
    }] }))
    .unwrap();
    let [rule] = &out.objects()[..] else {
        panic!("{:?}", out.objects())
    };
    assert_eq!(rule["metadata"]["namespace"], "openshift-gitops");
    assert_eq!(
        rule["metadata"]["labels"],
        json!({ "app.kubernetes.io/component": "slo" })
    );
}

/// Sloth's getting-started spec, pasted as a service as it is, gives the
/// rules Sloth documents for it (examples/_gen/getting-started.yml): the
/// same groups, records, windows, expressions, thresholds and labels,
/// save what is Sloth's own (below).
#[test]
fn sloths_getting_started_example_gives_sloths_documented_rules() {
    let spec = from_yaml(include_str!("../tests/sloth/getting-started.yml"));
    let out = render_config(json!({ "services": [spec] })).unwrap();
    let rule = object(&out, "PrometheusRule", "opsmith-slo/slo-myservice");
    let ours = &rule["spec"]["groups"];

    let mut sloth =
        from_yaml(include_str!("../tests/sloth/getting-started.gen.yml"))["groups"].clone();
    for group in sloth.as_array_mut().unwrap() {
        for rule in group["rules"].as_array_mut().unwrap() {
            let is_info = rule["record"] == "sloth_slo_info";
            let severity = rule["labels"]["sloth_severity"].as_str().map(str::to_owned);
            let labels = rule["labels"].as_object_mut().unwrap();
            // Sloth generates its examples with `--extra-labels
            // cmd=examplesgen.sh`, which its recording rules carry.
            if severity.is_none() {
                assert_eq!(labels.remove("cmd"), Some(json!("examplesgen.sh")));
            }
            // Sloth's info metric names Sloth as the generator.
            if is_info {
                assert_eq!(labels.remove("sloth_version"), Some(json!("dev")));
                assert_eq!(labels["sloth_mode"], "cli-gen-prom");
                labels.insert("sloth_mode".to_owned(), json!("opsmith"));
            }
            // The alerts' default title is in opsmith's words, and the
            // SLO's description is an annotation too.
            if let Some(annotations) = rule.get_mut("annotations") {
                let severity = severity.unwrap();
                annotations["title"] = json!(format!(
                    "({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}}: the SLO's error budget is burning too fast"
                ));
                annotations["description"] =
                    json!("Common SLO based on availability for HTTP request responses.");
            }
        }
    }
    assert_eq!(ours, &sloth);

    // Spelled out: the SLI windows, and each alert's windows and
    // thresholds, factor × (1 − objective) as Sloth computes them.
    let sli_windows: Vec<&str> = ours[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["labels"]["sloth_window"].as_str().unwrap())
        .collect();
    assert_eq!(
        sli_windows,
        ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    );
    let thresholds = |expr: &str| -> Vec<(String, String)> {
        expr.split("max(slo:sli_error:ratio_rate")
            .skip(1)
            .map(|part| {
                let window = part.split('{').next().unwrap().to_owned();
                let threshold = part
                    .split(" > (")
                    .nth(1)
                    .unwrap()
                    .split(')')
                    .next()
                    .unwrap();
                (window, threshold.to_owned())
            })
            .collect()
    };
    let budget = "0.0009999999999999432";
    let expected = |pairs: [(&str, &str); 4]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(w, f)| ((*w).to_owned(), format!("{f} * {budget}")))
            .collect()
    };
    let alerts = ours[2]["rules"].as_array().unwrap();
    assert_eq!(
        thresholds(alerts[0]["expr"].as_str().unwrap()),
        expected([("5m", "14.4"), ("1h", "14.4"), ("30m", "6"), ("6h", "6")])
    );
    assert_eq!(
        thresholds(alerts[1]["expr"].as_str().unwrap()),
        expected([("2h", "3"), ("1d", "3"), ("6h", "1"), ("3d", "1")])
    );

    // The same spec as Sloth's Kubernetes CRD spells it (camelCase): the
    // same rules.
    let crd = from_yaml(include_str!("../tests/sloth/k8s-getting-started.yml"));
    let out = render_config(json!({ "services": [crd["spec"]] })).unwrap();
    let rule = object(&out, "PrometheusRule", "opsmith-slo/slo-myservice");
    assert_eq!(&rule["spec"]["groups"], ours);
}

#[test]
fn windows_are_configurable_and_factors_follow_from_them() {
    let mut config = service(json!([events(ERRORS, TOTAL)]));
    config["windows"] = from_yaml(
        r#"
sloPeriod: 28d
page:
  quick: { errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h }
  slow: { errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h }
ticket:
  quick: { errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d }
  slow: { errorBudgetPercent: 10, shortWindow: 6h, longWindow: 1w }
"#,
    );
    let out = render_config(config).unwrap();
    let rule = object(&out, "PrometheusRule", "slo-svc");
    let groups = rule["spec"]["groups"].as_array().unwrap();
    let records: Vec<&str> = groups[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(
        records,
        [
            "slo:sli_error:ratio_rate5m",
            "slo:sli_error:ratio_rate30m",
            "slo:sli_error:ratio_rate1h",
            "slo:sli_error:ratio_rate2h",
            "slo:sli_error:ratio_rate6h",
            "slo:sli_error:ratio_rate1d",
            "slo:sli_error:ratio_rate1w",
            "slo:sli_error:ratio_rate4w",
        ]
    );
    assert_eq!(groups[1]["rules"][2]["expr"], "vector(28)");
    // 2% of 28 days (672h) in 1h; 10% of them in a week.
    let page = groups[2]["rules"][0]["expr"].as_str().unwrap();
    assert!(page.contains("ratio_rate1h{sloth_id=\"svc-availability\", sloth_service=\"svc\", sloth_slo=\"availability\"} > (13.44 * 0.0009999999999999432)"), "{page}");
    let ticket = groups[2]["rules"][1]["expr"].as_str().unwrap();
    assert!(ticket.contains("ratio_rate1w{sloth_id=\"svc-availability\", sloth_service=\"svc\", sloth_slo=\"availability\"} > (0.4 * 0.0009999999999999432)"), "{ticket}");
}

#[test]
fn presets_fill_in_the_sli_and_the_catalog_sets_the_rest() {
    let config = from_yaml(
        r#"
services:
  - service: prow
    evaluation: user-workload
    namespace: prow
    slos:
      - { preset: prow-hook, objective: 99.5 }
  - service: platform
    slos:
      - { preset: kube-apiserver, objective: 99.9 }
      - preset: tekton-pipelineruns
        objective: 95
        name: ci-runs
        labels: { team: ci }
        alerting:
          name: CIRunsFailing
          ticketAlert: { disable: true }
      - { preset: argocd-apps, objective: 99 }
"#,
    );
    let out = render_config(config).unwrap();
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let prow = object(&out, "PrometheusRule", "prow/slo-prow");
    assert_eq!(
        prow["metadata"]["labels"]["openshift.io/prometheus-rule-evaluation-scope"],
        "leaf-prometheus"
    );
    let groups = prow["spec"]["groups"].as_array().unwrap();
    assert_eq!(
        groups[0]["rules"][0],
        json!({
            "record": "slo:sli_error:ratio_rate5m",
            "expr": "(sum(rate(prow_webhook_response_codes{response_code=~\"403|5..\"}[5m])))\n/\n(sum(rate(prow_webhook_response_codes[5m])))\n",
            "labels": {
                "sloth_id": "prow-webhook-deliveries",
                "sloth_service": "prow",
                "sloth_slo": "webhook-deliveries",
                "sloth_window": "5m",
            },
        })
    );
    let page = &groups[2]["rules"][0];
    assert_eq!(page["alert"], "ProwHookErrorBudgetBurn");
    assert_eq!(
        page["annotations"]["description"],
        "Prow's hook accepts GitHub's webhook deliveries: answers 403 (a signature that does not \
         match the webhook secret) and 5xx are errors."
    );

    let platform = object(&out, "PrometheusRule", "opsmith-slo/slo-platform");
    let names: Vec<&str> = platform["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "sloth-slo-sli-recordings-platform-requests-availability",
            "sloth-slo-meta-recordings-platform-requests-availability",
            "sloth-slo-alerts-platform-requests-availability",
            "sloth-slo-sli-recordings-platform-ci-runs",
            "sloth-slo-meta-recordings-platform-ci-runs",
            "sloth-slo-alerts-platform-ci-runs",
            "sloth-slo-sli-recordings-platform-apps-synced-healthy",
            "sloth-slo-meta-recordings-platform-apps-synced-healthy",
            "sloth-slo-alerts-platform-apps-synced-healthy",
        ]
    );
    let groups = platform["spec"]["groups"].as_array().unwrap();
    assert_eq!(
        groups[0]["rules"][3]["expr"],
        "(sum(rate(apiserver_request_total{job=\"apiserver\",code=~\"(5..|429)\"}[2h])))\n/\n(sum(rate(apiserver_request_total{job=\"apiserver\"}[2h])))\n"
    );
    // The catalog's name, labels and alert settings over the preset's.
    let tekton_sli = &groups[3]["rules"][6];
    assert_eq!(tekton_sli["record"], "slo:sli_error:ratio_rate3d");
    assert_eq!(
        tekton_sli["labels"],
        json!({ "sloth_id": "platform-ci-runs", "sloth_service": "platform", "sloth_slo": "ci-runs",
                "sloth_window": "3d", "team": "ci" })
    );
    assert_eq!(
        tekton_sli["expr"],
        "(sum(rate(tekton_pipelines_controller_pipelinerun_total{status=\"failed\"}[3d])))\n/\n(sum(rate(tekton_pipelines_controller_pipelinerun_total{status!=\"cancelled\"}[3d])))\n"
    );
    let tekton_alerts = groups[5]["rules"].as_array().unwrap();
    assert_eq!(tekton_alerts.len(), 1);
    assert_eq!(tekton_alerts[0]["alert"], "CIRunsFailing");
    assert_eq!(tekton_alerts[0]["labels"]["sloth_severity"], "page");
    assert_eq!(
        groups[6]["rules"][0]["expr"],
        "(sum(count_over_time(argocd_app_info[5m])) - (sum(count_over_time(argocd_app_info{sync_status=\"Synced\",health_status=\"Healthy\"}[5m])) or vector(0)))\n/\n(sum(count_over_time(argocd_app_info[5m])))\n"
    );
}

#[test]
fn a_preset_evaluated_where_its_metrics_are_not_scraped_is_a_warning() {
    let out = render_config(json!({ "services": [{
        "service": "prow", "slos": [{ "preset": "prow-hook", "objective": 99 }],
    }] }))
    .unwrap();
    assert_eq!(
        out.diagnostics,
        [Diagnostic {
            severity: Severity::Warning,
            message: "preset `prow-hook` reads metrics that the user-workload Prometheus scrapes, \
                      but service `prow` is evaluated by the platform one (`evaluation`), which \
                      will find none"
                .to_owned(),
            pointer: "/config/services/0/slos/0/preset".to_owned(),
            location: None,
        }]
    );
}

#[test]
fn alert_labels_and_annotations_merge_as_in_sloth_with_opsmith_defaults() {
    let mut slo = events(ERRORS, TOTAL);
    slo["alerting"] = from_yaml(
        r#"
name: SvcBurn
labels: { team: sre, severity: high }
annotations: { summary: all alerts, runbook_url: https://wiki.example.org/svc }
page_alert:
  labels: { routing_key: sre }
  annotations: { summary: page only }
ticket_alert:
  labels: { severity: low }
"#,
    );
    let mut config = service(json!([slo]));
    config["runbookBaseURL"] = json!("https://runbooks.example.org/slo");
    let out = render_config(config).unwrap();
    let rule = object(&out, "PrometheusRule", "slo-svc");
    let alerts = &rule["spec"]["groups"][2]["rules"];
    let title = |severity: &str| {
        format!(
            "({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}}: the SLO's error budget is burning too fast"
        )
    };
    assert_eq!(
        alerts[0]["labels"],
        json!({ "routing_key": "sre", "severity": "high", "sloth_severity": "page", "team": "sre" })
    );
    assert_eq!(
        alerts[0]["annotations"],
        json!({ "runbook_url": "https://wiki.example.org/svc", "summary": "page only", "title": title("page") })
    );
    assert_eq!(
        alerts[1]["labels"],
        json!({ "severity": "low", "sloth_severity": "ticket", "team": "sre" })
    );
    assert_eq!(
        alerts[1]["annotations"],
        json!({ "runbook_url": "https://wiki.example.org/svc", "summary": "all alerts", "title": title("ticket") })
    );
    // Without labels: `severity` by alert, the runbook from the base URL.
    let mut config = service(json!([events(ERRORS, TOTAL)]));
    config["runbookBaseURL"] = json!("https://runbooks.example.org/slo/");
    let out = render_config(config).unwrap();
    let rule = object(&out, "PrometheusRule", "slo-svc");
    let alerts = &rule["spec"]["groups"][2]["rules"];
    assert_eq!(alerts[0]["labels"]["severity"], "critical");
    assert_eq!(alerts[1]["labels"]["severity"], "warning");
    assert_eq!(
        alerts[0]["annotations"]["runbook_url"],
        "https://runbooks.example.org/slo/svc-availability"
    );
}

/// Every check, with the field it points at.
#[test]
fn each_check_fails_at_its_field_with_a_clear_message() {
    let slo = |patch: Value| {
        let mut slo = events(ERRORS, TOTAL);
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                slo.as_object_mut().unwrap().remove(k);
            } else {
                slo[k] = v.clone();
            }
        }
        slo
    };
    let one = |patch: Value| service(json!([slo(patch)]));
    let s0 = "/config/services/0";
    let at = |rest: &str| format!("{s0}/slos/0{rest}");
    let cases: Vec<(Value, String, &str)> = vec![
        (
            one(json!({ "objective": 100 })),
            at("/objective"),
            "`objective` is a percentage strictly between 0 and 100, such as 99.9; 100 leaves no error budget to alert on",
        ),
        (
            one(json!({ "objective": 0 })),
            at("/objective"),
            "`objective` is a percentage strictly between 0 and 100, such as 99.9; 0 leaves nothing to promise",
        ),
        (
            one(json!({ "objective": null })),
            at(""),
            "the SLO needs an `objective`: the percentage of good events, such as 99.9",
        ),
        (
            service(json!([slo(json!({})), slo(json!({ "objective": 99 }))])),
            format!("{s0}/slos/1/name"),
            "SLO name `availability` is already used in service `svc` (slos/0); each SLO of a service needs its own name",
        ),
        (
            service(json!([
                { "preset": "kube-apiserver", "objective": 99 },
                { "preset": "kube-apiserver", "objective": 99.9 },
            ])),
            format!("{s0}/slos/1/preset"),
            "SLO name `requests-availability` is already used in service `svc` (slos/0); each SLO of a service needs its own name",
        ),
        (
            one(
                json!({ "sli": { "events": { "errorQuery": ERRORS, "totalQuery": "sum(rate(http_requests_total[5m]))" } } }),
            ),
            at("/sli/events/totalQuery"),
            "the query has no `{{.window}}`: write it where the range goes, such as `rate(http_requests_total[{{.window}}])`, so that each window gets its own SLI",
        ),
        (
            one(json!({ "sli": { "raw": { "error_ratio_query": "avg_over_time(x[5m])" } } })),
            at("/sli/raw/error_ratio_query"),
            "the query has no `{{.window}}`: write it where the range goes, such as `rate(http_requests_total[{{.window}}])`, so that each window gets its own SLI",
        ),
        (
            one(
                json!({ "sli": { "events": { "errorQuery": "sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}])", "totalQuery": TOTAL } } }),
            ),
            at("/sli/events/errorQuery"),
            "the query is not valid PromQL with `{{.window}}` as `5m`: unclosed left parenthesis; \
             the query read `sum(rate(http_requests_total{code=~\"5..\"}[5m])`",
        ),
        (
            one(json!({ "preset": "prow", "sli": null })),
            at("/preset"),
            "unknown preset `prow`; the presets are `argocd-apps`, `kube-apiserver`, `prow-hook` and `tekton-pipelineruns`",
        ),
        (
            one(json!({ "preset": "prow-hook" })),
            at("/sli"),
            "preset `prow-hook` gives the SLI: remove `sli`, or `preset` to write your own",
        ),
        (
            one(json!({ "sli": null })),
            at("/sli"),
            "the SLO needs an `sli` (`events` or `raw`) or a `preset`",
        ),
        (
            one(
                json!({ "sli": { "events": { "errorQuery": ERRORS, "totalQuery": TOTAL }, "raw": { "errorRatioQuery": ERRORS } } }),
            ),
            at("/sli"),
            "an SLI is either `events` or `raw`, not both",
        ),
        (
            one(json!({ "sli": {} })),
            at("/sli"),
            "the SLI needs `events` (errorQuery and totalQuery) or `raw` (errorRatioQuery)",
        ),
        (
            one(
                json!({ "sli": { "events": { "errorQuery": ERRORS, "error_query": ERRORS, "totalQuery": TOTAL } } }),
            ),
            at("/sli/events/error_query"),
            "`error_query` is Sloth prometheus/v1's spelling of `errorQuery`, which is also set: keep one",
        ),
        (
            one(json!({ "sli": { "events": { "error_query": ERRORS } } })),
            at("/sli/events"),
            "an `events` SLI needs `totalQuery`",
        ),
        (
            one(json!({ "sli": { "events": { "errorQuery": TOTAL, "totalQuery": TOTAL } } })),
            at("/sli/events/errorQuery"),
            "the error query is the total query: the error ratio would always be 1",
        ),
        (
            one(json!({ "sli": { "raw": {} } })),
            at("/sli/raw"),
            "a `raw` SLI needs `errorRatioQuery`",
        ),
        (
            one(json!({ "alerting": { "pageAlert": { "disable": true } } })),
            at("/alerting/name"),
            "the SLO's alerts need a `name` (alertname), or `disable: true` on both; the ticket alert is not disabled",
        ),
        (
            one(json!({ "alerting": { "name": "svc-burn" } })),
            at("/alerting/name"),
            "`svc-burn` is not an alert name: letters, digits and `_`, not starting with a digit",
        ),
        (
            one(json!({ "alerting": { "name": "A", "pageAlert": {}, "page_alert": {} } })),
            at("/alerting/page_alert"),
            "`page_alert` is Sloth prometheus/v1's spelling of `pageAlert`, which is also set: keep one",
        ),
        (
            one(json!({ "name": "-availability" })),
            at("/name"),
            "`-availability` is not an SLO name: letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
        ),
        (
            one(json!({ "name": null })),
            at("/name"),
            "the SLO needs a `name` (or a `preset`, which gives one)",
        ),
        (
            one(json!({ "labels": { "sloth_slo": "x" } })),
            at("/labels/sloth_slo"),
            "`sloth_slo` is set by builtin:slo, and its rules match SLOs by it",
        ),
        (
            one(json!({ "labels": { "team-name": "x" } })),
            at("/labels/team-name"),
            "`team-name` is not a Prometheus label name: letters, digits and `_`, not starting with a digit or `__`",
        ),
        (
            one(
                json!({ "alerting": { "name": "A", "ticketAlert": { "labels": { "severity": "" } } } }),
            ),
            at("/alerting/ticketAlert/labels/severity"),
            "label `severity` is empty, which Prometheus reads as no label",
        ),
        (
            json!({ "services": [{ "service": "svc", "version": "prometheus/v2", "slos": [slo(json!({}))] }] }),
            format!("{s0}/version"),
            "builtin:slo reads Sloth's `prometheus/v1` spec; `version` is `prometheus/v2`",
        ),
        (
            json!({ "services": [{ "service": "svc!", "slos": [slo(json!({}))] }] }),
            format!("{s0}/service"),
            "`svc!` is not a service name: letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
        ),
        (
            json!({ "services": [{ "service": "svc", "slos": [] }] }),
            format!("{s0}/slos"),
            "service `svc` has no SLOs",
        ),
        (
            json!({ "services": [
                { "service": "svc", "slos": [slo(json!({}))] },
                { "service": "svc", "slos": [slo(json!({}))] },
            ] }),
            "/config/services/1/service".to_owned(),
            "service `svc` is already declared at /config/services/0; give each service one entry with all its SLOs",
        ),
        (
            json!({ "services": [
                { "service": "My_Svc", "slos": [slo(json!({}))] },
                { "service": "my-svc", "slos": [slo(json!({}))] },
            ] }),
            "/config/services/1/service".to_owned(),
            "service `my-svc` would be PrometheusRule `opsmith-slo/slo-my-svc`, as the service at /config/services/0 is: rename one",
        ),
        (
            json!({ "services": [
                { "service": "aa-b", "slos": [slo(json!({ "name": "cc" }))] },
                { "service": "aa", "slos": [slo(json!({ "name": "b-cc" }))] },
            ] }),
            "/config/services/1/slos/0/name".to_owned(),
            "this SLO's id `aa-b-cc` (service-name) is also the id of the SLO at /config/services/0/slos/0; rename one, as the rules tell SLOs apart by it",
        ),
        (
            json!({ "services": [{ "service": "svc", "evaluation": "user-workload", "slos": [slo(json!({}))] }] }),
            format!("{s0}/namespace"),
            "service `svc` is evaluated by the user-workload Prometheus, which sees only the metrics of the rules' own namespace: set `namespace` to the namespace of the metrics its SLOs read",
        ),
        (
            json!({ "services": [{ "service": "svc", "evaluation": "user-workload", "namespace": "opsmith-slo", "slos": [slo(json!({}))] }] }),
            format!("{s0}/namespace"),
            "`opsmith-slo` is this component's namespace, labelled for the platform Prometheus, which the user-workload Prometheus skips: use the namespace of the metrics service `svc`'s SLOs read",
        ),
        (
            json!({ "namespace": "SLOs", "services": [] }),
            "/config/namespace".to_owned(),
            "`SLOs` is not a namespace name (an RFC 1123 label)",
        ),
        (
            json!({ "windows": { "sloPeriod": "30 days" } }),
            "/config/windows/sloPeriod".to_owned(),
            "`30 days` is not a duration: a number and a unit, largest unit first (y, w, d, h, m, s), such as `30d`, `6h` or `1h30m`",
        ),
        (
            json!({ "windows": { "ticket": {
                "quick": { "errorBudgetPercent": 10, "shortWindow": "2h", "longWindow": "1d" },
                "slow": { "errorBudgetPercent": 10, "shortWindow": "3d", "longWindow": "3d" },
            } } }),
            "/config/windows/ticket/slow/shortWindow".to_owned(),
            "the short window (3d) must be shorter than the long window (3d)",
        ),
        (
            json!({ "windows": { "sloPeriod": "3d" } }),
            "/config/windows/ticket/slow/longWindow".to_owned(),
            "the long window (3d) must be shorter than `sloPeriod` (3d)",
        ),
        (
            json!({ "windows": { "page": {
                "quick": { "errorBudgetPercent": 0, "shortWindow": "5m", "longWindow": "1h" },
                "slow": { "errorBudgetPercent": 5, "shortWindow": "30m", "longWindow": "6h" },
            } } }),
            "/config/windows/page/quick/errorBudgetPercent".to_owned(),
            "`errorBudgetPercent` must be more than 0 and at most 100, the share of the period's error budget spent in `longWindow`; got 0",
        ),
    ];
    for (config, pointer, message) in cases {
        let err = render_err(config.clone());
        assert_eq!(err.pointer, pointer, "{config}: {err}");
        assert_eq!(err.message, message, "{config}");
    }
}

/// promtool's unit tests (tests/promtool/slo.test.yaml, run by
/// tests/promtool/run.sh) run on rules this plugin renders: this keeps the
/// file they read current.
#[test]
fn promtool_rules_file_is_what_the_plugin_renders() {
    let config = from_yaml(
        r#"
runbookBaseURL: https://runbooks.example.org/slo
services:
  - service: example
    labels: { team: sre }
    slos:
      - name: requests
        objective: 99.9
        sli:
          events:
            errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
            totalQuery: sum(rate(http_requests_total[{{.window}}]))
        alerting:
          name: ExampleErrorBudgetBurn
"#,
    );
    let out = render_config(config).unwrap();
    let rule = object(&out, "PrometheusRule", "opsmith-slo/slo-example");
    let text = format!(
        "# The rule groups of the PrometheusRule builtin:slo renders for the spec in\n\
         # src/tests.rs (promtool_rules_file_is_what_the_plugin_renders), which\n\
         # keeps this file current; slo.test.yaml tests them with promtool.\n{}",
        yaml(&json!({ "groups": rule["spec"]["groups"] }))
    );
    check_file("tests/promtool/rules.yaml", &text);
}

/// What the reference site's catalog would say (see the plugin's report):
/// one service per platform service, Prow's evaluated where hook's metrics
/// are. Every expression the plugin writes is PromQL.
#[test]
fn the_reference_sites_slos_render_and_every_expression_parses() {
    let config = from_yaml(
        r#"
services:
  - service: prow
    evaluation: user-workload
    namespace: prow
    labels: { team: ci }
    slos:
      - { preset: prow-hook, objective: 99.5 }
  - service: tekton
    labels: { team: ci }
    slos:
      - { preset: tekton-pipelineruns, objective: 95 }
  - service: argocd
    slos:
      - { preset: argocd-apps, objective: 99 }
  - service: kube-apiserver
    slos:
      - { preset: kube-apiserver, objective: 99.9 }
"#,
    );
    let out = render_config(config).unwrap();
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let objects: Vec<String> = out
        .objects()
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        objects,
        [
            "PrometheusRule prow/slo-prow",
            "PrometheusRule opsmith-slo/slo-tekton",
            "PrometheusRule opsmith-slo/slo-argocd",
            "PrometheusRule opsmith-slo/slo-kube-apiserver",
            "Namespace /opsmith-slo",
        ]
    );
    let mut parsed = 0;
    for object in out
        .objects()
        .iter()
        .chain(render_config(small_spec()).unwrap().objects().iter())
    {
        for group in object["spec"]["groups"].as_array().into_iter().flatten() {
            for rule in group["rules"].as_array().unwrap() {
                let expr = rule["expr"].as_str().unwrap();
                if let Err(e) = promql_parser::parser::parse(expr) {
                    panic!("{}: {expr}: {e}", group["name"]);
                }
                parsed += 1;
            }
        }
    }
    // 4 services of 17 rules, and the small spec's 17 and 15.
    assert_eq!(parsed, 4 * 17 + 17 + 15);
}
