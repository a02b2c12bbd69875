//! Stage 4, collect: gathers every component's objects and day-0 files and
//! checks them before anything is written: the Kubernetes basics
//! (apiVersion, kind, a valid name), the kinds each plugin may emit, no
//! object rendered twice, and the upstream schema of every kind opsmith
//! ships. Adds opsmith's two labels, then has each object written out (by
//! the [`Writer`] layout provides) and drops its value, so that a large
//! site's objects are never all held as values. Hands [`Collected`] to
//! layout.

pub mod upstream;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::diagnostics::{self, Problem};
use crate::plugins::{self, Emit, Rendered, bindings::Severity};
use crate::validate::Site;
use upstream::UpstreamSchemas;

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const COMPONENT_LABEL: &str = "opsmith.dev/component";

/// A checked Kubernetes object, already written as canonical YAML.
#[derive(Debug, Clone)]
pub struct Object {
    pub component: String,
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// The object (with opsmith's labels) as canonical YAML. It is written
    /// as soon as the object is checked and its JSON value dropped: a large
    /// site's objects as values take several times the memory of their text.
    pub text: Vec<u8>,
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

/// A day-0 file, checked and written out.
#[derive(Debug, Clone)]
pub struct File {
    pub component: String,
    pub name: String,
    /// Its content as canonical YAML, or as pretty JSON for a JSON file.
    pub text: Vec<u8>,
}

/// A component's plugin as the provenance record names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginProvenance {
    pub component: String,
    pub plugin: String,
    pub name: String,
    pub version: String,
    pub digest: PluginDigest,
}

/// How a plugin is identified: a plugin file by its sha256, a built-in one
/// by its sources' (its component's depends on the compiler that built
/// opsmith, and two builds of one tree must record the same provenance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginDigest {
    File { sha256: String },
    Builtin { source_sha256: String },
}

/// Everything to lay out.
#[derive(Debug, Default)]
pub struct Collected {
    pub objects: Vec<Object>,
    pub files: Vec<File>,
    pub plugins: Vec<PluginProvenance>,
}

/// An object or a day-0 file's content as the plugins stage hands it over:
/// a parsed value, or its JSON text, parsed here one at a time so that the
/// values of a large site are never all in memory together.
pub trait RenderedObject: Send {
    fn into_value(self) -> Result<Value, String>;
}

impl RenderedObject for Value {
    fn into_value(self) -> Result<Value, String> {
        Ok(self)
    }
}

impl RenderedObject for Box<serde_json::value::RawValue> {
    fn into_value(self) -> Result<Value, String> {
        serde_json::from_str(self.get()).map_err(|e| format!("is not JSON: {e}"))
    }
}

/// How a checked object or day-0 file is written out: layout's canonical
/// form, which the pipeline hands in (collect comes first, and does not
/// import the stage after it).
pub trait Writer: Sync {
    /// An object, as its file's text.
    fn object(&self, value: &Value) -> anyhow::Result<Vec<u8>>;
    /// A day-0 file's content, as JSON or as YAML.
    fn file(&self, content: &Value, json: bool) -> anyhow::Result<Vec<u8>>;
}

/// What became of one object: checked and written, with the upstream
/// schema's complaint if it has one; or why it was refused.
type Checked = Result<(Object, Option<CollectError>), String>;

/// One thing wrong with what the plugins rendered, with the component it
/// belongs to (none when two components claim one object).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CollectError {
    pub component: Option<String>,
    pub message: String,
}

impl CollectError {
    fn of(component: &str, message: String) -> CollectError {
        CollectError {
            component: Some(component.to_owned()),
            message,
        }
    }
}

/// Everything wrong with what the plugins rendered, and the input problems
/// their diagnostics point at: all of it at once.
#[derive(Debug)]
pub struct CollectFailures {
    pub errors: Vec<CollectError>,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for CollectFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut texts: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        if !self.problems.is_empty() {
            texts.push(diagnostics::Invalid::new(self.problems.clone()).to_string());
        }
        f.write_str(&texts.join("\nerror: "))
    }
}

impl std::error::Error for CollectFailures {}

/// Checks and gathers the rendered components (in catalog order).
pub fn objects(
    site: &Site,
    rendered: Vec<Rendered>,
    schemas: &UpstreamSchemas,
    writer: &impl Writer,
) -> anyhow::Result<Collected> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut collected = Collected::default();
    let mut object_work = Vec::new();
    let mut file_work = Vec::new();
    for mut r in rendered {
        let index = site.catalog.index_of(&r.component).unwrap_or(0);
        for d in &r.diagnostics {
            // Placing a pointer may read a file again for its positions:
            // only for what is shown.
            let problem = || {
                crate::plugins::guest_problem(
                    site,
                    index,
                    &r.component,
                    &r.plugin,
                    &d.message,
                    &d.pointer,
                    d.location.as_ref(),
                )
            };
            match d.severity {
                Severity::Error => problems.push(problem()),
                Severity::Warning => {
                    diagnostics::warn(&problem().to_string().replacen(": error: ", ": ", 1))
                }
                Severity::Info => {}
            }
        }
        let objects = std::mem::take(&mut r.objects);
        let files = std::mem::take(&mut r.files);
        object_work.push((
            r.component.clone(),
            r.plugin.clone(),
            r.description.emits,
            objects,
        ));
        file_work.push((r.component.clone(), r.plugin.clone(), files));
        collected.plugins.push(PluginProvenance {
            component: r.component,
            plugin: r.plugin,
            name: r.description.name,
            version: r.description.version,
            digest: match r.source_sha256 {
                Some(source_sha256) => PluginDigest::Builtin {
                    source_sha256: source_sha256.to_owned(),
                },
                None => PluginDigest::File { sha256: r.sha256 },
            },
        });
    }
    // The day-0 files (install-config.yaml lists every host: one large
    // document) are checked beside the objects, not after them.
    let ((objects, mut errors, violations), (files, file_errors, file_violations)) = rayon::join(
        || {
            let mut objects = Vec::new();
            let mut errors = Vec::new();
            let mut violations = Vec::new();
            for (component, plugin, emits, rendered) in object_work {
                let narrowed = site
                    .catalog
                    .index_of(&component)
                    .and_then(|i| site.catalog.spec.components[i].allow.as_deref());
                let checked: Vec<Checked> = rendered
                    .into_par_iter()
                    .with_min_len(64)
                    .map(|rendered| {
                        let value = rendered.into_value()?;
                        let (object, value) = object(&component, &plugin, value, &emits, narrowed)?;
                        written(object, value, schemas, writer)
                    })
                    .collect();
                let mut refused = Vec::new();
                for (i, checked) in checked.into_iter().enumerate() {
                    match checked {
                        Ok((o, violation)) => {
                            violations.extend(violation);
                            objects.push(o);
                        }
                        Err(e) => refused.push(CollectError::of(
                            &component,
                            format!(
                                "component `{component}` (plugin {plugin}): object #{}: {e}",
                                i + 1
                            ),
                        )),
                    }
                }
                errors.push(refused);
            }
            (objects, errors, violations)
        },
        || day_zero_files(file_work, schemas, writer),
    );
    // Each component's refused objects, then its misnamed files.
    let mut errors: Vec<CollectError> = errors
        .iter_mut()
        .zip(file_errors)
        .flat_map(|(objects, mut files)| {
            let mut both = std::mem::take(objects);
            both.append(&mut files);
            both
        })
        .collect();
    collected.objects = objects;
    collected.files = files;
    duplicates(&collected.objects, &mut errors);
    errors.extend(violations);
    errors.extend(file_violations);
    if errors.is_empty() && !problems.is_empty() {
        return Err(crate::diagnostics::Invalid::new(problems).into());
    }
    if !errors.is_empty() {
        return Err(CollectFailures { errors, problems }.into());
    }
    Ok(collected)
}

/// A checked object against its upstream schema, then as YAML; its value
/// is dropped here.
fn written(
    mut object: Object,
    value: Value,
    schemas: &UpstreamSchemas,
    writer: &impl Writer,
) -> Checked {
    let violation = schemas
        .validate(&object.api_version, &object.kind, &value)
        .filter(|violations| !violations.is_empty())
        .map(|violations| {
            CollectError::of(
                &object.component,
                format!(
                    "component `{}`: {} does not match the upstream {} schema:\n    {}",
                    object.component,
                    object.describe(),
                    object.kind,
                    violation_list(&violations)
                ),
            )
        });
    object.text = writer
        .object(&value)
        .map_err(|e| format!("{} cannot be written as YAML: {e}", object.describe()))?;
    Ok((object, violation))
}

/// Each component's day-0 files checked (names, upstream schema) and
/// written; with the naming errors per component, and the schema errors.
fn day_zero_files(
    work: Vec<(String, String, Vec<plugins::File>)>,
    schemas: &UpstreamSchemas,
    writer: &impl Writer,
) -> (Vec<File>, Vec<Vec<CollectError>>, Vec<CollectError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut violations = Vec::new();
    for (component, plugin, rendered) in work {
        let mut misnamed = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for file in &rendered {
            if !valid_file_name(&file.name) {
                misnamed.push(CollectError::of(
                    &component,
                    format!(
                        "component `{component}` (plugin {plugin}): day-0 file name `{}` must be a plain file name",
                        file.name
                    ),
                ));
            } else if !names.insert(file.name.clone()) {
                misnamed.push(CollectError::of(
                    &component,
                    format!(
                        "component `{component}` (plugin {plugin}): day-0 file `{}` returned twice",
                        file.name
                    ),
                ));
            }
        }
        errors.push(misnamed);
        let checked: Vec<(File, Option<CollectError>)> = rendered
            .into_par_iter()
            .map(|file| {
                let content = match file.content.into_value() {
                    Ok(content) => content,
                    Err(e) => {
                        let error = CollectError::of(
                            &component,
                            format!(
                                "component `{component}` (plugin {plugin}): day-0 file `{}` {e}",
                                file.name
                            ),
                        );
                        let file = File {
                            component: component.clone(),
                            name: file.name,
                            text: Vec::new(),
                        };
                        return (file, Some(error));
                    }
                };
                let violation = file
                    .schema
                    .as_deref()
                    .and_then(|schema| schema.rsplit_once('/'))
                    .and_then(|(api_version, kind)| {
                        let violations = schemas.validate(api_version, kind, &content)?;
                        (!violations.is_empty()).then(|| {
                            CollectError::of(
                                &component,
                                format!(
                                    "component `{component}`: day-0 file `{}` does not match the upstream {kind} schema:\n    {}",
                                    file.name,
                                    violation_list(&violations)
                                ),
                            )
                        })
                    });
                let text = writer.file(&content, file.json);
                let violation = match &text {
                    Ok(_) => violation,
                    Err(e) => Some(CollectError::of(
                        &component,
                        format!(
                            "component `{component}`: day-0 file `{}` cannot be written out: {e}",
                            file.name
                        ),
                    )),
                };
                let file = File {
                    component: component.clone(),
                    name: file.name,
                    text: text.unwrap_or_default(),
                };
                (file, violation)
            })
            .collect();
        for (file, violation) in checked {
            violations.extend(violation);
            files.push(file);
        }
    }
    (files, errors, violations)
}

/// Whether `allowed` lets an object of `kind` through, `namespace` its
/// namespace (`None`: cluster-scoped). A plugin's declaration of any kind
/// (`*`) lets everything through: the catalog's `allow`, which such a
/// component must have, then decides.
fn permits(allowed: &[Emit], api_version: &str, kind: &str, namespace: Option<&str>) -> bool {
    allowed.iter().any(|a| {
        let any_kind = a.api_version == "*" && a.kind == "*";
        (any_kind || (a.api_version == api_version && a.kind == kind))
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
    emits: &[Emit],
    narrowed: Option<&[Emit]>,
) -> Result<(Object, Value), String> {
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
    let object = Object {
        component: component.to_owned(),
        api_version,
        kind,
        namespace,
        name,
        text: Vec::new(),
    };
    Ok((object, value))
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

fn duplicates(objects: &[Object], errors: &mut Vec<CollectError>) {
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
                errors.push(CollectError::of(
                    &o.component,
                    format!("component `{}` renders {} twice", o.component, o.describe()),
                ));
            } else {
                errors.push(CollectError {
                    component: None,
                    message: format!(
                        "{} ({}) is rendered by both component `{first}` and component `{}`; one object must have one owner",
                        o.describe(),
                        o.api_version,
                        o.component
                    ),
                });
            }
        }
    }
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
    fn an_object_handed_over_as_text_is_checked_and_written_as_its_value() {
        let text = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns"}}"#;
        let raw = serde_json::value::RawValue::from_string(text.to_owned()).expect("JSON");
        let emits = [Emit {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespaces: vec![],
        }];
        let check = |value: Value| object("c", "p", value, &emits, None).expect("allowed");
        let (from_text, value) = check(raw.into_value().expect("parses"));
        let (from_value, same) = check(serde_json::from_str(text).expect("JSON"));
        assert_eq!(value, same);
        assert_eq!(from_text.name, from_value.name);
        assert_eq!(value["metadata"]["labels"][COMPONENT_LABEL], "c");
        // Valid JSON text, but not a value serde_json holds: refused here,
        // not lost.
        let raw = serde_json::value::RawValue::from_string("{\"n\":1e400}".to_owned())
            .expect("JSON syntax");
        let refused = raw.into_value().expect_err("out of range");
        assert!(refused.starts_with("is not JSON"), "{refused}");
    }

    #[test]
    fn allowance_respects_scope() {
        let emits = vec![
            Emit {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespaces: vec![],
            },
            Emit {
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
