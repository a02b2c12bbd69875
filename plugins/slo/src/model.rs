//! From the config to the SLOs the rules are written for: presets filled
//! in, Sloth's two spellings merged, labels and alert settings merged as
//! Sloth merges them, and every check, each failing at the field it is about.

use std::collections::{BTreeMap, BTreeSet};

use opsmith_plugin_sdk::Error;

use crate::config::{self, Config, Evaluation};
use crate::presets::{self, PresetSli};
use crate::windows::Windows;

/// The services, each one PrometheusRule.
#[derive(Debug)]
pub struct Service {
    /// The PrometheusRule's name.
    pub object_name: String,
    pub namespace: String,
    pub evaluation: Evaluation,
    pub slos: Vec<Slo>,
}

/// One SLO, resolved.
#[derive(Debug)]
pub struct Slo {
    /// `<service>-<name>`: the `sloth_id` label.
    pub id: String,
    pub name: String,
    pub service: String,
    /// In percent, such as 99.9.
    pub objective: f64,
    /// The SLO's (or its preset's), for the alerts' `description`.
    pub description: Option<String>,
    /// The service's labels, then the SLO's.
    pub labels: BTreeMap<String, String>,
    pub sli: Sli,
    pub page: Option<AlertMeta>,
    pub ticket: Option<AlertMeta>,
}

/// The SLI's queries, still with `{{.window}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sli {
    Events { error: String, total: String },
    Raw { error_ratio: String },
}

/// One alert's name, labels and annotations: `alerting`'s, then the alert's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMeta {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// A warning about a field.
pub type Warning = (String, String);

/// The labels the rules match SLOs by; a user label of that name would
/// break them.
const RESERVED_LABELS: [&str; 4] = ["sloth_id", "sloth_service", "sloth_slo", "sloth_window"];

/// The services of `config`, checked.
pub fn services(config: &Config, windows: &Windows) -> Result<(Vec<Service>, Vec<Warning>), Error> {
    let mut services = Vec::new();
    let mut warnings = Vec::new();
    // Where each service, object and SLO id was first seen.
    let mut service_names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut objects: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (i, spec) in config.services.iter().enumerate() {
        let at = format!("/config/services/{i}");
        if let Some(version) = &spec.version
            && version != "prometheus/v1"
        {
            return Err(Error::at(
                &format!("{at}/version"),
                format!("builtin:slo reads Sloth's `prometheus/v1` spec; `version` is `{version}`"),
            ));
        }
        check_name(&spec.service, &format!("{at}/service"), "a service")?;
        if let Some(first) = service_names.insert(&spec.service, i) {
            return Err(Error::at(
                &format!("{at}/service"),
                format!(
                    "service `{}` is already declared at /config/services/{first}; \
                     give each service one entry with all its SLOs",
                    spec.service
                ),
            ));
        }
        check_labels(&spec.labels, &format!("{at}/labels"))?;
        let namespace = namespace(config, spec, &at)?;
        let object_name = format!(
            "slo-{}",
            spec.service.to_ascii_lowercase().replace('_', "-")
        );
        if let Some(first) = objects.insert((namespace.clone(), object_name.clone()), i) {
            return Err(Error::at(
                &format!("{at}/service"),
                format!(
                    "service `{}` would be PrometheusRule `{namespace}/{object_name}`, as the service at \
                     /config/services/{first} is: rename one",
                    spec.service
                ),
            ));
        }
        if spec.slos.is_empty() {
            return Err(Error::at(
                &format!("{at}/slos"),
                format!("service `{}` has no SLOs", spec.service),
            ));
        }
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        let mut slos = Vec::new();
        for (j, slo_spec) in spec.slos.iter().enumerate() {
            let at = format!("{at}/slos/{j}");
            let slo = slo(spec, slo_spec, &at, windows)?;
            let name_at = if slo_spec.name.is_some() {
                format!("{at}/name")
            } else {
                format!("{at}/preset")
            };
            if let Some(first) = names.insert(slo.name.clone(), j) {
                return Err(Error::at(
                    &name_at,
                    format!(
                        "SLO name `{}` is already used in service `{}` (slos/{first}); \
                         each SLO of a service needs its own name",
                        slo.name, spec.service
                    ),
                ));
            }
            if let Some(first) = ids.insert(slo.id.clone(), at.clone()) {
                return Err(Error::at(
                    &name_at,
                    format!(
                        "this SLO's id `{}` (service-name) is also the id of the SLO at {first}; \
                         rename one, as the rules tell SLOs apart by it",
                        slo.id
                    ),
                ));
            }
            if let Some(preset) = slo_spec.preset.as_deref().and_then(presets::find)
                && preset.scraped_by != spec.evaluation
            {
                warnings.push((
                    format!("{at}/preset"),
                    format!(
                        "preset `{}` reads metrics that the {} Prometheus scrapes, but service `{}` \
                         is evaluated by the {} one (`evaluation`), which will find none",
                        preset.id,
                        prometheus(preset.scraped_by),
                        spec.service,
                        prometheus(spec.evaluation)
                    ),
                ));
            }
            slos.push(slo);
        }
        services.push(Service {
            object_name,
            namespace,
            evaluation: spec.evaluation,
            slos,
        });
    }
    Ok((services, warnings))
}

fn prometheus(evaluation: Evaluation) -> &'static str {
    match evaluation {
        Evaluation::Platform => "platform",
        Evaluation::UserWorkload => "user-workload",
    }
}

/// Where a service's PrometheusRule goes.
fn namespace(config: &Config, spec: &config::Service, at: &str) -> Result<String, Error> {
    match (spec.evaluation, &spec.namespace) {
        (Evaluation::Platform, namespace) => Ok(namespace
            .clone()
            .unwrap_or_else(|| config.namespace.clone())),
        (Evaluation::UserWorkload, None) => Err(Error::at(
            &format!("{at}/namespace"),
            format!(
                "service `{}` is evaluated by the user-workload Prometheus, which sees only the \
                 metrics of the rules' own namespace: set `namespace` to the namespace of the \
                 metrics its SLOs read",
                spec.service
            ),
        )),
        (Evaluation::UserWorkload, Some(namespace)) if *namespace == config.namespace => {
            Err(Error::at(
                &format!("{at}/namespace"),
                format!(
                    "`{namespace}` is this component's namespace, labelled for the platform \
                     Prometheus, which the user-workload Prometheus skips: use the namespace of \
                     the metrics service `{}`'s SLOs read",
                    spec.service
                ),
            ))
        }
        (Evaluation::UserWorkload, Some(namespace)) => Ok(namespace.clone()),
    }
}

fn slo(
    service: &config::Service,
    spec: &config::ServiceLevelObjective,
    at: &str,
    windows: &Windows,
) -> Result<Slo, Error> {
    let preset = match &spec.preset {
        Some(id) => Some(presets::find(id).ok_or_else(|| {
            Error::at(
                &format!("{at}/preset"),
                format!("unknown preset `{id}`; the presets are {}", presets::list()),
            )
        })?),
        None => None,
    };
    let name = match (&spec.name, preset) {
        (Some(name), _) => name.clone(),
        (None, Some(preset)) => preset.name.to_owned(),
        (None, None) => {
            return Err(Error::at(
                &format!("{at}/name"),
                "the SLO needs a `name` (or a `preset`, which gives one)",
            ));
        }
    };
    check_name(&name, &format!("{at}/name"), "an SLO")?;
    let objective = spec.objective.ok_or_else(|| {
        Error::at(
            at,
            "the SLO needs an `objective`: the percentage of good events, such as 99.9",
        )
    })?;
    if !(objective > 0.0 && objective < 100.0) {
        return Err(Error::at(
            &format!("{at}/objective"),
            format!(
                "`objective` is a percentage strictly between 0 and 100, such as 99.9; \
                 {objective} leaves {}",
                if objective >= 100.0 {
                    "no error budget to alert on"
                } else {
                    "nothing to promise"
                }
            ),
        ));
    }
    check_labels(&spec.labels, &format!("{at}/labels"))?;
    let sli = match (&spec.sli, preset) {
        (Some(_), Some(preset)) => {
            return Err(Error::at(
                &format!("{at}/sli"),
                format!(
                    "preset `{}` gives the SLI: remove `sli`, or `preset` to write your own",
                    preset.id
                ),
            ));
        }
        (Some(sli), None) => sli_of(sli, &format!("{at}/sli"), windows)?,
        (None, Some(preset)) => match preset.sli {
            PresetSli::Events { error, total } => Sli::Events {
                error: error.to_owned(),
                total: total.to_owned(),
            },
        },
        (None, None) => {
            return Err(Error::at(
                &format!("{at}/sli"),
                "the SLO needs an `sli` (`events` or `raw`) or a `preset`",
            ));
        }
    };
    let mut labels = service.labels.clone();
    labels.extend(spec.labels.iter().map(|(k, v)| (k.clone(), v.clone())));

    let alerting = &spec.alerting;
    let alerting_at = format!("{at}/alerting");
    check_labels(&alerting.labels, &format!("{alerting_at}/labels"))?;
    let alert_name = alerting
        .name
        .clone()
        .or_else(|| preset.map(|p| p.alert.to_owned()));
    let alert = |severity: &str,
                 camel: &Option<config::Alert>,
                 v1: &Option<config::Alert>|
     -> Result<Option<AlertMeta>, Error> {
        let camel_key = format!("{severity}Alert");
        let v1_key = format!("{severity}_alert");
        let own = either(
            camel.as_ref(),
            v1.as_ref(),
            &alerting_at,
            &camel_key,
            &v1_key,
        )?;
        let (own, own_at) = match own {
            Some((own, key)) => (own.clone(), format!("{alerting_at}/{key}")),
            None => (
                config::Alert::default(),
                format!("{alerting_at}/{severity}Alert"),
            ),
        };
        if own.disable {
            return Ok(None);
        }
        check_labels(&own.labels, &format!("{own_at}/labels"))?;
        let Some(name) = alert_name.clone() else {
            return Err(Error::at(
                &format!("{alerting_at}/name"),
                format!(
                    "the SLO's alerts need a `name` (alertname), or `disable: true` on both; \
                     the {severity} alert is not disabled"
                ),
            ));
        };
        if !is_metric_name(&name) {
            return Err(Error::at(
                &format!("{alerting_at}/name"),
                format!(
                    "`{name}` is not an alert name: letters, digits and `_`, not starting with a digit"
                ),
            ));
        }
        let mut labels = alerting.labels.clone();
        labels.extend(own.labels);
        let mut annotations = alerting.annotations.clone();
        annotations.extend(own.annotations);
        Ok(Some(AlertMeta {
            name,
            labels,
            annotations,
        }))
    };
    let page = alert("page", &alerting.page_alert, &alerting.page_alert_v1)?;
    let ticket = alert("ticket", &alerting.ticket_alert, &alerting.ticket_alert_v1)?;

    Ok(Slo {
        id: format!("{}-{name}", service.service),
        name,
        service: service.service.clone(),
        objective,
        description: spec
            .description
            .clone()
            .or_else(|| preset.map(|p| p.description.to_owned())),
        labels,
        sli,
        page,
        ticket,
    })
}

/// One of a field's two spellings, and which key it came from.
fn either<'a, T>(
    camel: Option<&'a T>,
    v1: Option<&'a T>,
    at: &str,
    camel_key: &'a str,
    v1_key: &'a str,
) -> Result<Option<(&'a T, &'a str)>, Error> {
    match (camel, v1) {
        (Some(_), Some(_)) => Err(Error::at(
            &format!("{at}/{v1_key}"),
            format!(
                "`{v1_key}` is Sloth prometheus/v1's spelling of `{camel_key}`, which is also set: keep one"
            ),
        )),
        (Some(value), None) => Ok(Some((value, camel_key))),
        (None, Some(value)) => Ok(Some((value, v1_key))),
        (None, None) => Ok(None),
    }
}

fn sli_of(sli: &config::Sli, at: &str, windows: &Windows) -> Result<Sli, Error> {
    match (&sli.events, &sli.raw) {
        (Some(_), Some(_)) => Err(Error::at(
            at,
            "an SLI is either `events` or `raw`, not both",
        )),
        (None, None) => Err(Error::at(
            at,
            "the SLI needs `events` (errorQuery and totalQuery) or `raw` (errorRatioQuery)",
        )),
        (Some(events), None) => {
            let at = format!("{at}/events");
            let query = |camel: &Option<String>, v1: &Option<String>, key: &str, v1_key: &str| {
                match either(camel.as_ref(), v1.as_ref(), &at, key, v1_key)? {
                    Some((query, key)) => {
                        let pointer = format!("{at}/{key}");
                        check_query(query, &pointer, windows)?;
                        Ok((query.clone(), pointer))
                    }
                    None => Err(Error::at(&at, format!("an `events` SLI needs `{key}`"))),
                }
            };
            let (error, error_at) = query(
                &events.error_query,
                &events.error_query_v1,
                "errorQuery",
                "error_query",
            )?;
            let (total, _) = query(
                &events.total_query,
                &events.total_query_v1,
                "totalQuery",
                "total_query",
            )?;
            if error == total {
                return Err(Error::at(
                    &error_at,
                    "the error query is the total query: the error ratio would always be 1",
                ));
            }
            Ok(Sli::Events { error, total })
        }
        (None, Some(raw)) => {
            let at = format!("{at}/raw");
            match either(
                raw.error_ratio_query.as_ref(),
                raw.error_ratio_query_v1.as_ref(),
                &at,
                "errorRatioQuery",
                "error_ratio_query",
            )? {
                Some((query, key)) => {
                    check_query(query, &format!("{at}/{key}"), windows)?;
                    Ok(Sli::Raw {
                        error_ratio: query.clone(),
                    })
                }
                None => Err(Error::at(&at, "a `raw` SLI needs `errorRatioQuery`")),
            }
        }
    }
}

/// Where `{{.window}}` (Sloth's template variable, spaces allowed inside
/// the braces) is in `query`: byte ranges.
fn window_variables(query: &str) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = query[from..].find("{{").map(|i| from + i) {
        let inner = &query[open + 2..];
        let trimmed = inner.trim_start_matches(' ');
        let after_name = trimmed
            .strip_prefix(".window")
            .map(|r| r.trim_start_matches(' '));
        match after_name.and_then(|r| r.strip_prefix("}}")) {
            Some(rest) => {
                let end = query.len() - rest.len();
                found.push(open..end);
                from = end;
            }
            None => from = open + 2,
        }
    }
    found
}

/// `query` with each `{{.window}}` replaced by `window`.
pub fn fill_window(query: &str, window: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut last = 0;
    for range in window_variables(query) {
        out.push_str(&query[last..range.start]);
        out.push_str(window);
        last = range.end;
    }
    out.push_str(&query[last..]);
    out
}

/// A query has the window variable and is PromQL once it is filled in.
fn check_query(query: &str, at: &str, windows: &Windows) -> Result<(), Error> {
    if window_variables(query).is_empty() {
        return Err(Error::at(
            at,
            "the query has no `{{.window}}`: write it where the range goes, such as \
             `rate(http_requests_total[{{.window}}])`, so that each window gets its own SLI",
        ));
    }
    let window = windows.page_quick.short.to_string();
    let filled = fill_window(query, &window);
    promql_parser::parser::parse(&filled).map_err(|e| {
        Error::at(
            at,
            format!(
                "the query is not valid PromQL with `{{{{.window}}}}` as `{window}`: {}; the query read `{filled}`",
                e.trim()
            ),
        )
    })?;
    Ok(())
}

/// Sloth's names (pkg/common/conventions, NameRegexp): letters, digits,
/// `-`, `_` and `.`, starting and ending with a letter or digit.
fn check_name(name: &str, at: &str, what: &str) -> Result<(), Error> {
    let bytes = name.as_bytes();
    let inner_ok = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ends_ok = bytes.len() >= 2
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if inner_ok && ends_ok {
        Ok(())
    } else {
        Err(Error::at(
            at,
            format!(
                "`{name}` is not {what} name: letters, digits, `-`, `_` and `.`, \
                 starting and ending with a letter or digit"
            ),
        ))
    }
}

/// A Prometheus metric (and alert) name in the classic character set.
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Label names in Prometheus' classic character set, none of those the
/// rules match by, and values that say something.
fn check_labels(labels: &BTreeMap<String, String>, at: &str) -> Result<(), Error> {
    let reserved: BTreeSet<&str> = RESERVED_LABELS.into_iter().collect();
    for (name, value) in labels {
        let at = format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"));
        let mut chars = name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with("__");
        if !valid {
            return Err(Error::at(
                &at,
                format!(
                    "`{name}` is not a Prometheus label name: letters, digits and `_`, not \
                     starting with a digit or `__`"
                ),
            ));
        }
        if reserved.contains(name.as_str()) {
            return Err(Error::at(
                &at,
                format!("`{name}` is set by builtin:slo, and its rules match SLOs by it"),
            ));
        }
        if value.is_empty() {
            return Err(Error::at(
                &at,
                format!("label `{name}` is empty, which Prometheus reads as no label"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_variable_is_found_with_sloths_spacing() {
        assert_eq!(
            fill_window("rate(a[{{.window}}]) / rate(b[{{ .window }}])", "5m"),
            "rate(a[5m]) / rate(b[5m])"
        );
        assert_eq!(
            fill_window("x{a=\"{{\"}[{{.window}}]", "1h"),
            "x{a=\"{{\"}[1h]"
        );
        for none in [
            "rate(a[5m])",
            "{{.windows}}",
            "{{window}}",
            "{{ .window }",
            "{{.",
        ] {
            assert!(window_variables(none).is_empty(), "{none}");
        }
    }
}
