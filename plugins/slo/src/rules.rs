//! An SLO's rule groups, named and written as Sloth writes them, so that
//! Sloth's Grafana dashboards and its UI find them: SLI recording rules
//! `slo:sli_error:ratio_rate<window>`, the metadata recordings `slo:*` and
//! `sloth_slo_info`, and the page and ticket alerts. The formats follow
//! Sloth's generators (internal/plugin/slo/core/{sli_rules_v1,
//! metadata_rules_v1,alert_rules_v1}/plugin.go in github.com/slok/sloth) and
//! their documented output (examples/_gen/getting-started.yml).

use std::collections::BTreeMap;

use opsmith_plugin_sdk::{Value, json};

use crate::model::{AlertMeta, Sli, Slo, fill_window};
use crate::windows::{BurnWindow, Duration, Windows};

const SLI_ERROR: &str = "slo:sli_error:ratio_rate";
const OBJECTIVE: &str = "slo:objective:ratio";
const ERROR_BUDGET: &str = "slo:error_budget:ratio";
const TIME_PERIOD_DAYS: &str = "slo:time_period:days";
const CURRENT_BURN_RATE: &str = "slo:current_burn_rate:ratio";
const PERIOD_BURN_RATE: &str = "slo:period_burn_rate:ratio";
const PERIOD_BUDGET_REMAINING: &str = "slo:period_error_budget_remaining:ratio";
/// Sloth's info metric: its UI and dashboards list SLOs from it.
const INFO: &str = "sloth_slo_info";

/// What Sloth's UI reads from `sloth_slo_info` as the rules' generator
/// (Sloth writes `cli-gen-prom` and the like here, and its version in
/// `sloth_version`, which these rules have none of).
const MODE: &str = "opsmith";
/// The spec the SLOs are written in.
const SPEC: &str = "prometheus/v1";

/// Everything needed besides the SLO.
pub struct Context<'a> {
    pub windows: &'a Windows,
    pub runbook_base_url: Option<&'a str>,
}

/// The SLO's three groups (two when both alerts are disabled).
pub fn groups(slo: &Slo, cx: &Context<'_>) -> Vec<Value> {
    let mut groups = vec![
        json!({
            "name": format!("sloth-slo-sli-recordings-{}", slo.id),
            "rules": sli_rules(slo, cx.windows),
        }),
        json!({
            "name": format!("sloth-slo-meta-recordings-{}", slo.id),
            "rules": meta_rules(slo, cx.windows),
        }),
    ];
    let alerts: Vec<Value> = [("page", &slo.page), ("ticket", &slo.ticket)]
        .into_iter()
        .filter_map(|(severity, meta)| Some(alert(slo, severity, meta.as_ref()?, cx)))
        .collect();
    if !alerts.is_empty() {
        groups.push(json!({
            "name": format!("sloth-slo-alerts-{}", slo.id),
            "rules": alerts,
        }));
    }
    groups
}

/// `sloth_id`, `sloth_service` and `sloth_slo`.
fn id_labels(slo: &Slo) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("sloth_id".to_owned(), slo.id.clone()),
        ("sloth_service".to_owned(), slo.service.clone()),
        ("sloth_slo".to_owned(), slo.name.clone()),
    ])
}

/// A selector of the SLO's series, as prometheus/common writes a label
/// set: `{sloth_id="a-b", sloth_service="a", sloth_slo="b"}`.
fn selector(slo: &Slo) -> String {
    let matchers: Vec<String> = id_labels(slo)
        .iter()
        .map(|(name, value)| format!("{name}={}", quoted(value)))
        .collect();
    format!("{{{}}}", matchers.join(", "))
}

/// A PromQL string literal.
fn quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn sli_metric(window: Duration) -> String {
    format!("{SLI_ERROR}{window}")
}

fn sli_rules(slo: &Slo, windows: &Windows) -> Vec<Value> {
    let labels = |window: Duration| {
        let mut labels = id_labels(slo);
        labels.insert("sloth_window".to_owned(), window.to_string());
        labels.extend(slo.labels.clone());
        labels
    };
    let mut rules: Vec<Value> = windows
        .sli_windows()
        .into_iter()
        .map(|window| {
            let w = window.to_string();
            let expr = match &slo.sli {
                Sli::Events { error, total } => format!(
                    "({})\n/\n({})\n",
                    fill_window(error, &w),
                    fill_window(total, &w)
                ),
                Sli::Raw { error_ratio } => format!("({})", fill_window(error_ratio, &w)),
            };
            json!({ "record": sli_metric(window), "expr": expr, "labels": labels(window) })
        })
        .collect();
    // The period's ratio is the mean of the shortest window's over the
    // period: a ratio of sums, not a mean of ratios (Sloth's "optimized"
    // SLI; querying the raw counters over 30 days costs far more).
    let base = sli_metric(windows.page_quick.short);
    let period = windows.period;
    let filter = selector(slo);
    rules.push(json!({
        "record": sli_metric(period),
        "expr": format!(
            "sum_over_time({base}{filter}[{period}])\n/ ignoring (sloth_window)\ncount_over_time({base}{filter}[{period}])\n"
        ),
        "labels": labels(period),
    }));
    rules
}

fn meta_rules(slo: &Slo, windows: &Windows) -> Vec<Value> {
    let mut labels = id_labels(slo);
    labels.extend(slo.labels.clone());
    let ratio = slo.objective / 100.0;
    let filter = selector(slo);
    let burn_rate = |sli: String| {
        format!(
            "{sli}{filter}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n{ERROR_BUDGET}{filter}\n"
        )
    };
    let mut info_labels = labels.clone();
    info_labels.extend([
        ("sloth_mode".to_owned(), MODE.to_owned()),
        ("sloth_objective".to_owned(), slo.objective.to_string()),
        ("sloth_spec".to_owned(), SPEC.to_owned()),
    ]);
    let rule =
        |record: &str, expr: String| json!({ "record": record, "expr": expr, "labels": labels });
    vec![
        rule(OBJECTIVE, format!("vector({})", go_float(ratio))),
        rule(ERROR_BUDGET, format!("vector(1-{})", go_float(ratio))),
        rule(
            TIME_PERIOD_DAYS,
            format!("vector({})", go_float(windows.period.hours() / 24.0)),
        ),
        rule(
            CURRENT_BURN_RATE,
            burn_rate(sli_metric(windows.page_quick.short)),
        ),
        rule(PERIOD_BURN_RATE, burn_rate(sli_metric(windows.period))),
        rule(
            PERIOD_BUDGET_REMAINING,
            format!("1 - {PERIOD_BURN_RATE}{filter}"),
        ),
        json!({ "record": INFO, "expr": "vector(1)", "labels": info_labels }),
    ]
}

/// The page or ticket alert: either of its two conditions, each a burn
/// over both its windows.
fn alert(slo: &Slo, severity: &str, meta: &AlertMeta, cx: &Context<'_>) -> Value {
    let windows = cx.windows;
    let (quick, slow) = match severity {
        "page" => (windows.page_quick, windows.page_slow),
        _ => (windows.ticket_quick, windows.ticket_slow),
    };
    // As Sloth: the budget from the objective in percent, then as a ratio.
    let budget = go_float((100.0 - slo.objective) / 100.0);
    let filter = selector(slo);
    let over = |window: Duration, b: &BurnWindow| {
        format!(
            "max({}{filter} > ({} * {budget})) without (sloth_window)",
            sli_metric(window),
            go_float(b.factor)
        )
    };
    let condition = |b: &BurnWindow| {
        format!(
            "(\n    {}\n    and\n    {}\n)",
            over(b.short, b),
            over(b.long, b)
        )
    };
    let expr = format!("{}\nor\n{}\n", condition(&quick), condition(&slow));

    let mut labels = BTreeMap::from([
        (
            "severity".to_owned(),
            if severity == "page" {
                "critical"
            } else {
                "warning"
            }
            .to_owned(),
        ),
        ("sloth_severity".to_owned(), severity.to_owned()),
    ]);
    labels.extend(meta.labels.clone());
    let mut annotations = BTreeMap::from([
        (
            "title".to_owned(),
            format!(
                "({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}}: the SLO's error budget is burning too fast"
            ),
        ),
        (
            "summary".to_owned(),
            format!(
                "{{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} spends its error budget faster than the {severity} alert's burn rates allow"
            ),
        ),
    ]);
    if let Some(description) = &slo.description {
        annotations.insert("description".to_owned(), description.clone());
    }
    if let Some(base) = cx.runbook_base_url {
        annotations.insert(
            "runbook_url".to_owned(),
            format!("{}/{}", base.trim_end_matches('/'), slo.id),
        );
    }
    annotations.extend(meta.annotations.clone());
    json!({
        "alert": meta.name,
        "expr": expr,
        "labels": labels,
        "annotations": annotations,
    })
}

/// A number as Go's `%v` prints a float64, which is how Sloth writes its
/// thresholds: the shortest text that reads back as the same number,
/// in exponent form (`1e-05`, `1e+06`) below 1e-4 and from 1e6 up
/// (strconv.FormatFloat's `'g'` with the shortest precision).
pub fn go_float(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let scientific = format!("{value:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return value.to_string();
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        return value.to_string();
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

#[cfg(test)]
mod tests {
    use super::go_float;

    #[test]
    fn numbers_print_as_sloth_prints_them() {
        // From Sloth's documented output for a 99.9% objective
        // (examples/_gen/getting-started.yml).
        assert_eq!(go_float(99.9 / 100.0), "0.9990000000000001");
        assert_eq!(go_float((100.0 - 99.9) / 100.0), "0.0009999999999999432");
        assert_eq!(go_float(14.4), "14.4");
        assert_eq!(go_float(6.0), "6");
        assert_eq!(go_float(30.0), "30");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float((100.0 - 99.999) / 100.0), "1.0000000000047748e-05");
        assert_eq!(go_float(100_000.0), "100000");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(123_456_789.0), "1.23456789e+08");
    }
}
