//! Stage 4, collect: gathers every component's objects and day-0 files and
//! checks them before anything is written: the Kubernetes basics
//! (apiVersion, kind, a valid name), the kinds each plugin may emit, no
//! object rendered twice, and the upstream schema of every kind opsmith
//! ships. Adds opsmith's two labels. Hands [`Collected`] to layout.

pub mod upstream;

use std::collections::BTreeMap;

use anyhow::bail;
use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::diagnostics::{self, Problem};
use crate::plugins::{AllowedKind, DayZeroFile, Rendered, bindings::Severity};
use crate::validate::Site;
use upstream::UpstreamSchemas;

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const COMPONENT_LABEL: &str = "opsmith.dev/component";

/// A checked Kubernetes object.
#[derive(Debug, Clone)]
pub struct Object {
    pub component: String,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub value: Value,
}

impl Object {
    /// `Kind namespace/name`, for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} `{ns}/{}`", self.kind, self.name),
            None => format!("{} `{}`", self.kind, self.name),
        }
    }
}

/// A plugin's name, version and digest, for the provenance record.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub component: String,
    pub plugin: String,
    pub name: String,
    pub version: String,
    /// The component's sha256.
    pub sha256: String,
    /// A built-in plugin's source digest, which the record shows instead of
    /// the component's (that one depends on the compiler that built opsmith).
    pub source_sha256: Option<&'static str>,
}

/// Everything to lay out.
#[derive(Debug, Default)]
pub struct Collected {
    pub objects: Vec<Object>,
    pub files: Vec<(String, DayZeroFile)>,
    pub plugins: Vec<Provenance>,
}

/// Checks and gathers the rendered components (in catalog order).
pub fn objects(
    site: &Site,
    rendered: Vec<Rendered>,
    schemas: &UpstreamSchemas,
) -> anyhow::Result<Collected> {
    let mut errors: Vec<String> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut collected = Collected::default();
    let allow = crate::plugins::catalog_allowances(site);
    for mut r in rendered {
        let index = site
            .catalog
            .spec
            .components
            .iter()
            .position(|c| c.name == r.component)
            .unwrap_or(0);
        for d in &r.diagnostics {
            // Placing a pointer may read a file again for its positions:
            // only for what is shown.
            let problem = || {
                let message = format!(
                    "component `{}` (plugin {}): {}",
                    r.component, r.plugin, d.message
                );
                crate::plugins::locate_pointer(site, index, &d.pointer, message)
            };
            match d.severity {
                Severity::Error => problems.push(problem()),
                Severity::Warning => {
                    diagnostics::warn(&problem().to_string().replacen(": error: ", ": ", 1))
                }
                Severity::Info => {}
            }
        }
        let narrowed = allow.get(&r.component);
        let checked: Vec<Result<Object, String>> = std::mem::take(&mut r.objects)
            .into_par_iter()
            .with_min_len(64)
            .map(|value| {
                object(
                    &r.component,
                    &r.plugin,
                    value,
                    &r.description.emits,
                    narrowed,
                )
            })
            .collect();
        for (i, checked) in checked.into_iter().enumerate() {
            match checked {
                Ok(o) => collected.objects.push(o),
                Err(e) => errors.push(format!(
                    "component `{}` (plugin {}): object #{}: {e}",
                    r.component,
                    r.plugin,
                    i + 1
                )),
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for file in r.files {
            if !valid_file_name(&file.name) {
                errors.push(format!(
                    "component `{}` (plugin {}): day-0 file name `{}` must be a plain file name",
                    r.component, r.plugin, file.name
                ));
            } else if !names.insert(file.name.clone()) {
                errors.push(format!(
                    "component `{}` (plugin {}): day-0 file `{}` returned twice",
                    r.component, r.plugin, file.name
                ));
            }
            collected.files.push((r.component.clone(), file));
        }
        collected.plugins.push(Provenance {
            component: r.component,
            plugin: r.plugin,
            name: r.description.name,
            version: r.description.version,
            sha256: r.sha256,
            source_sha256: r.source_sha256,
        });
    }
    duplicates(&collected.objects, &mut errors);
    errors.extend(upstream_violations(&collected, schemas));
    if !problems.is_empty() {
        if errors.is_empty() {
            return Err(crate::diagnostics::Invalid::new(problems).into());
        }
        errors.push(crate::diagnostics::Invalid::new(problems).to_string());
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\nerror: "));
    }
    Ok(collected)
}

fn permits(
    allowed: &[AllowedKind],
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> bool {
    allowed.iter().any(|a| {
        a.api_version == api_version
            && a.kind == kind
            && match namespace {
                None => a.namespaces.is_empty(),
                Some(ns) => a.namespaces.iter().any(|n| n == "*" || n == ns),
            }
    })
}

fn object(
    component: &str,
    plugin: &str,
    mut value: Value,
    emits: &[AllowedKind],
    narrowed: Option<&Vec<AllowedKind>>,
) -> Result<Object, String> {
    let Value::Object(map) = &mut value else {
        return Err("is not a JSON object".to_owned());
    };
    let text = |map: &Map<String, Value>, key: &str| {
        map.get(key).and_then(Value::as_str).map(str::to_owned)
    };
    let api_version = text(map, "apiVersion").ok_or("has no `apiVersion`")?;
    let kind = text(map, "kind").ok_or("has no `kind`")?;
    let metadata = map
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{kind} has no `metadata`"))?;
    let name = text(metadata, "name").ok_or_else(|| format!("{kind} has no `metadata.name`"))?;
    let namespace = text(metadata, "namespace");
    check_name(&kind, &name)?;
    if let Some(ns) = &namespace
        && !is_dns_label(ns)
    {
        return Err(format!(
            "{kind} `{name}`: namespace `{ns}` is not a valid DNS label"
        ));
    }
    let shown = match &namespace {
        Some(ns) => format!("{kind} `{ns}/{name}`"),
        None => format!("{kind} `{name}`"),
    };
    if !permits(emits, &api_version, &kind, namespace.as_deref()) {
        let where_ = namespace
            .as_deref()
            .map_or("cluster-scoped".to_owned(), |ns| {
                format!("in namespace `{ns}`")
            });
        return Err(format!(
            "{shown} ({api_version}, {where_}) is not among the kinds plugin {plugin} declares in `describe`; opsmith refuses it"
        ));
    }
    if let Some(allowed) = narrowed
        && !permits(allowed, &api_version, &kind, namespace.as_deref())
    {
        return Err(format!(
            "{shown} ({api_version}) is not allowed by component `{component}`'s `allow` list in the catalog"
        ));
    }
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(labels) = labels else {
        return Err(format!("{shown}: `metadata.labels` is not a mapping"));
    };
    labels.insert(
        MANAGED_BY_LABEL.to_owned(),
        Value::String("opsmith".to_owned()),
    );
    labels.insert(
        COMPONENT_LABEL.to_owned(),
        Value::String(component.to_owned()),
    );
    for (key, v) in labels.iter() {
        let ok = v.as_str().is_some_and(is_label_value);
        if !ok || !is_label_key(key) {
            return Err(format!(
                "{shown}: label `{key}: {v}` is not a valid Kubernetes label"
            ));
        }
    }
    Ok(Object {
        component: component.to_owned(),
        api_version,
        kind,
        namespace,
        name,
        value,
    })
}

fn check_name(kind: &str, name: &str) -> Result<(), String> {
    // RBAC objects may use path-segment names such as `system:openshift:foo`.
    let rbac = matches!(
        kind,
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
    );
    let ok = if rbac {
        !name.is_empty()
            && name.len() <= 253
            && !name.contains('/')
            && !name.contains('%')
            // The name becomes a file name and a `# Source:` line.
            && !name.chars().any(|c| c.is_control() || c == '\\')
            && name != "."
            && name != ".."
    } else {
        is_dns_subdomain(name)
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} name `{name}` is not a valid Kubernetes name (lowercase letters, digits, `-` and `.`, at most 253 characters)"
        ))
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && s.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric))
}

fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && !name.contains('\\')
        && !name.starts_with('.')
        && !name.chars().any(char::is_control)
        && name.len() <= 255
}

fn duplicates(objects: &[Object], errors: &mut Vec<String>) {
    let mut seen: BTreeMap<(&str, &str, Option<&str>, &str), &str> = BTreeMap::new();
    for o in objects {
        let key = (
            o.api_version.as_str(),
            o.kind.as_str(),
            o.namespace.as_deref(),
            o.name.as_str(),
        );
        if let Some(first) = seen.insert(key, &o.component) {
            if first == o.component {
                errors.push(format!(
                    "component `{}` renders {} twice",
                    o.component,
                    o.describe()
                ));
            } else {
                errors.push(format!(
                    "{} ({}) is rendered by both component `{first}` and component `{}`; one object must have one owner",
                    o.describe(),
                    o.api_version,
                    o.component
                ));
            }
        }
    }
}

/// Every object and day-0 file whose kind has a shipped upstream schema,
/// checked on all cores.
fn upstream_violations(collected: &Collected, schemas: &UpstreamSchemas) -> Vec<String> {
    // A day-0 file (install-config.yaml lists every host) is one large
    // document: it is checked beside the objects, not after them.
    let (mut errors, file_errors) = rayon::join(
        || {
            collected
                .objects
                .par_iter()
                .filter_map(|o| {
                    let violations = schemas.validate(&o.api_version, &o.kind, &o.value)?;
                    (!violations.is_empty()).then(|| {
                        format!(
                            "component `{}`: {} does not match the upstream {} schema:\n    {}",
                            o.component,
                            o.describe(),
                            o.kind,
                            violation_list(&violations)
                        )
                    })
                })
                .collect::<Vec<String>>()
        },
        || {
            collected
                .files
                .par_iter()
                .filter_map(|(component, file)| {
                    let (api_version, kind) = file.schema.as_deref()?.rsplit_once('/')?;
                    let violations = schemas.validate(api_version, kind, &file.content)?;
                    (!violations.is_empty()).then(|| {
                        format!(
                            "component `{component}`: day-0 file `{}` does not match the upstream {kind} schema:\n    {}",
                            file.name,
                            violation_list(&violations)
                        )
                    })
                })
                .collect::<Vec<String>>()
        },
    );
    errors.extend(file_errors);
    errors
}

fn violation_list(violations: &[upstream::Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.pointer, v.message))
        .collect::<Vec<_>>()
        .join("\n    ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        assert!(is_dns_subdomain("oct-03-04-compute"));
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("Oct"));
        assert!(!is_dns_subdomain("a..b"));
        assert!(is_label_key("app.kubernetes.io/managed-by"));
        assert!(!is_label_key("-x"));
        assert!(is_label_value("PowerEdge_R620"));
        assert!(!is_label_value("PowerEdge R620"));
        assert!(check_name("ClusterRole", "system:openshift:foo").is_ok());
        // A line break in a name would start a document of its own in
        // `render --out -`, and a line of its own in the log.
        assert!(check_name("ClusterRole", "x\n---\nkind: Secret").is_err());
        assert!(check_name("ClusterRole", "a\\b").is_err());
        assert!(!valid_file_name("install\rconfig.yaml"));
        assert!(valid_file_name("install-config.yaml"));
    }

    #[test]
    fn allowance_respects_scope() {
        let emits = vec![
            AllowedKind {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespaces: vec![],
            },
            AllowedKind {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespaces: vec!["prow".into()],
            },
        ];
        assert!(permits(&emits, "v1", "Namespace", None));
        assert!(!permits(&emits, "v1", "Namespace", Some("x")));
        assert!(permits(&emits, "v1", "ConfigMap", Some("prow")));
        assert!(!permits(&emits, "v1", "ConfigMap", Some("kube-system")));
        assert!(!permits(&emits, "v1", "Secret", Some("prow")));
    }
}
