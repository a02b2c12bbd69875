//! The build-time half of the upstream schema check (see opsmith's `src/collect/upstream.rs`):
//! which kinds opsmith ships a schema for, where each comes from, and the conversion of the
//! upstream OpenAPI dialect into a self-contained JSON Schema 2020-12 document per kind.
//!
//! This crate's build.rs includes this file (`#[path]`), converts every kind and compiles the
//! result into Rust validators, so that a run neither parses megabytes of upstream documents
//! nor compiles a schema. That is why it depends on std and serde_json only. opsmith compiles
//! it in for its tests, which check the build's output against the sources.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// One upstream file under `schemas/upstream/`.
pub struct Source {
    /// Path under `schemas/upstream/`.
    pub path: &'static str,
    pub format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// A CustomResourceDefinition in YAML.
    Crd,
    /// A Kubernetes OpenAPI v3 document (`/openapi/v3/...`) in JSON.
    OpenApi,
    /// A self-contained JSON Schema 2020-12 document, used as it is (`derived/`).
    JsonSchema,
}

const METAL3_BMH: usize = 0;
const INSTALL_CONFIG: usize = 1;
const ARGO_APPLICATION: usize = 2;
const ARGO_APPPROJECT: usize = 3;
const EXTERNAL_SECRET: usize = 4;
const TEKTON_PIPELINE: usize = 5;
const TEKTON_TASK: usize = 6;
const PROWJOB: usize = 7;
const ROUTE: usize = 8;
const K8S_CORE: usize = 9;
const K8S_APPS: usize = 10;
const K8S_RBAC: usize = 11;
const K8S_NETWORKING: usize = 12;
const SERVICE_MONITOR: usize = 13;
const PROMETHEUS_RULE: usize = 14;
const SITECONFIG: usize = 15;
const AGENT_CONFIG: usize = 16;

const fn source(path: &'static str, format: Format) -> Source {
    Source { path, format }
}

/// Indexed by the constants above.
pub static SOURCES: [Source; 17] = [
    source("metal3/metal3.io_baremetalhosts.yaml", Format::Crd),
    source(
        "openshift-installer/install.openshift.io_installconfigs.yaml",
        Format::Crd,
    ),
    source("argo-cd/application-crd.yaml", Format::Crd),
    source("argo-cd/appproject-crd.yaml", Format::Crd),
    source(
        "external-secrets/external-secrets.io_externalsecrets.yaml",
        Format::Crd,
    ),
    source("tekton-pipeline/300-pipeline.yaml", Format::Crd),
    source("tekton-pipeline/300-task.yaml", Format::Crd),
    source("prow/prowjob_customresourcedefinition.yaml", Format::Crd),
    source("openshift-api/routes.crd.yaml", Format::Crd),
    source("kubernetes/1.33/api/v1.json", Format::OpenApi),
    source("kubernetes/1.33/apis/apps/v1.json", Format::OpenApi),
    source(
        "kubernetes/1.33/apis/rbac.authorization.k8s.io/v1.json",
        Format::OpenApi,
    ),
    source(
        "kubernetes/1.33/apis/networking.k8s.io/v1.json",
        Format::OpenApi,
    ),
    source(
        "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml",
        Format::Crd,
    ),
    source(
        "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml",
        Format::Crd,
    ),
    source(
        "siteconfig/siteconfig.open-cluster-management.io_clusterinstances.yaml",
        Format::Crd,
    ),
    source(
        "derived/agent-config.v1beta1.schema.json",
        Format::JsonSchema,
    ),
];

/// Where CRD schemas take `ObjectMeta` from: the smallest document that has it.
const OBJECT_META_SOURCE: usize = K8S_RBAC;
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// A kind we ship a schema for. For a CRD the served version is the part of `api_version`
/// after the `/`; for an OpenAPI document `definition` names the schema in
/// `components.schemas`.
pub struct KindEntry {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// Index into [`SOURCES`].
    pub source: usize,
    pub definition: &'static str,
}

const fn crd(api_version: &'static str, kind: &'static str, source: usize) -> KindEntry {
    KindEntry {
        api_version,
        kind,
        source,
        definition: "",
    }
}

const fn core(
    api_version: &'static str,
    kind: &'static str,
    source: usize,
    definition: &'static str,
) -> KindEntry {
    KindEntry {
        api_version,
        kind,
        source,
        definition,
    }
}

/// Every (apiVersion, kind) with a schema. For CRDs this lists every served version; the
/// tests check it against the files, so a CRD update that serves a new version fails them.
/// install-config.yaml says `apiVersion: v1` and has no kind; opsmith checks it under the
/// CRD's own key, `install.openshift.io/v1` + `InstallConfig`; agent-config.yaml, another of
/// the installer's types, says `apiVersion: v1beta1` and is checked as
/// `install.openshift.io/v1beta1` + `AgentConfig`.
pub static KINDS: [KindEntry; 28] = [
    crd("metal3.io/v1alpha1", "BareMetalHost", METAL3_BMH),
    crd("install.openshift.io/v1", "InstallConfig", INSTALL_CONFIG),
    crd("argoproj.io/v1alpha1", "Application", ARGO_APPLICATION),
    crd("argoproj.io/v1alpha1", "AppProject", ARGO_APPPROJECT),
    crd("external-secrets.io/v1", "ExternalSecret", EXTERNAL_SECRET),
    crd("tekton.dev/v1", "Pipeline", TEKTON_PIPELINE),
    crd("tekton.dev/v1beta1", "Pipeline", TEKTON_PIPELINE),
    crd("tekton.dev/v1", "Task", TEKTON_TASK),
    crd("tekton.dev/v1beta1", "Task", TEKTON_TASK),
    crd("prow.k8s.io/v1", "ProwJob", PROWJOB),
    crd("route.openshift.io/v1", "Route", ROUTE),
    core("v1", "ConfigMap", K8S_CORE, "io.k8s.api.core.v1.ConfigMap"),
    core("v1", "Namespace", K8S_CORE, "io.k8s.api.core.v1.Namespace"),
    core(
        "v1",
        "PersistentVolumeClaim",
        K8S_CORE,
        "io.k8s.api.core.v1.PersistentVolumeClaim",
    ),
    core("v1", "Secret", K8S_CORE, "io.k8s.api.core.v1.Secret"),
    core("v1", "Service", K8S_CORE, "io.k8s.api.core.v1.Service"),
    core(
        "v1",
        "ServiceAccount",
        K8S_CORE,
        "io.k8s.api.core.v1.ServiceAccount",
    ),
    core(
        "apps/v1",
        "Deployment",
        K8S_APPS,
        "io.k8s.api.apps.v1.Deployment",
    ),
    core(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        K8S_RBAC,
        "io.k8s.api.rbac.v1.ClusterRole",
    ),
    core(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        K8S_RBAC,
        "io.k8s.api.rbac.v1.ClusterRoleBinding",
    ),
    core(
        "rbac.authorization.k8s.io/v1",
        "Role",
        K8S_RBAC,
        "io.k8s.api.rbac.v1.Role",
    ),
    core(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        K8S_RBAC,
        "io.k8s.api.rbac.v1.RoleBinding",
    ),
    core(
        "networking.k8s.io/v1",
        "Ingress",
        K8S_NETWORKING,
        "io.k8s.api.networking.v1.Ingress",
    ),
    core(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        K8S_NETWORKING,
        "io.k8s.api.networking.v1.NetworkPolicy",
    ),
    crd(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        SERVICE_MONITOR,
    ),
    crd(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        PROMETHEUS_RULE,
    ),
    crd(
        "siteconfig.open-cluster-management.io/v1alpha1",
        "ClusterInstance",
        SITECONFIG,
    ),
    crd("install.openshift.io/v1beta1", "AgentConfig", AGENT_CONFIG),
];

/// The self-contained JSON Schema 2020-12 for `entry`: its converted schema with every
/// definition it reaches under `$defs`. `documents` are the parsed [`SOURCES`], by index.
pub fn convert_kind(entry: &KindEntry, documents: &[Value]) -> Result<Value, String> {
    match SOURCES[entry.source].format {
        Format::Crd => crd_schema(entry, documents),
        Format::JsonSchema => Ok(documents[entry.source].clone()),
        Format::OpenApi => {
            let mut defs = Map::new();
            copy_definitions(
                definitions(documents, entry.source)?,
                entry.definition,
                &mut defs,
            )?;
            let mut root = Map::new();
            root.insert("$ref".into(), Value::String(def_ref(entry.definition)));
            root.insert("$defs".into(), Value::Object(defs));
            Ok(Value::Object(root))
        }
    }
}

/// `components.schemas` of an OpenAPI document.
pub fn definitions(documents: &[Value], source: usize) -> Result<&Map<String, Value>, String> {
    documents[source]
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{}: no components.schemas", SOURCES[source].path))
}

fn crd_schema(entry: &KindEntry, documents: &[Value]) -> Result<Value, String> {
    let path = SOURCES[entry.source].path;
    let crd = &documents[entry.source];
    let version = entry.api_version.rsplit('/').next().unwrap_or_default();
    let served = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|v| v["name"] == version && v["served"] == true)
        .ok_or_else(|| format!("{path}: version {version} is not served"))?;
    let raw = served
        .pointer("/schema/openAPIV3Schema")
        .ok_or_else(|| format!("{path}: version {version} has no openAPIV3Schema"))?;
    let mut schema = convert(raw, Context::CRD);

    // The apiserver checks every object's metadata as ObjectMeta, whatever the CRD says.
    let bare_metadata = schema
        .pointer("/properties/metadata")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.contains_key("properties") && !m.contains_key("$ref"));
    if bare_metadata {
        let mut defs = Map::new();
        copy_definitions(
            definitions(documents, OBJECT_META_SOURCE)?,
            OBJECT_META,
            &mut defs,
        )?;
        schema["properties"]["metadata"] = serde_json::json!({ "$ref": def_ref(OBJECT_META) });
        schema["$defs"] = Value::Object(defs);
    }
    Ok(schema)
}

// ---------------------------------------------------------------------------------------------
// OpenAPI v3 (Kubernetes dialect) -> JSON Schema 2020-12

const OPENAPI_REF_PREFIX: &str = "#/components/schemas/";

fn def_ref(name: &str) -> String {
    format!("#/$defs/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// Copies `name` and every definition it reaches, converted, into `defs`.
fn copy_definitions(
    all: &Map<String, Value>,
    name: &str,
    defs: &mut Map<String, Value>,
) -> Result<(), String> {
    let mut pending = vec![name.to_owned()];
    while let Some(name) = pending.pop() {
        if defs.contains_key(&name) {
            continue;
        }
        let raw = all
            .get(&name)
            .ok_or_else(|| format!("no definition {name}"))?;
        let mut reached = BTreeSet::new();
        collect_refs(raw, &mut reached);
        pending.extend(reached.into_iter().filter(|r| !defs.contains_key(r)));
        defs.insert(name, convert(raw, Context::OPENAPI));
    }
    Ok(())
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => {
                        if let Some(name) = target.strip_prefix(OPENAPI_REF_PREFIX) {
                            out.insert(name.to_owned());
                        }
                    }
                    _ => collect_refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

#[derive(Clone, Copy)]
pub struct Context {
    /// False inside `allOf`/`anyOf`/`oneOf`/`not`, where `properties` constrain fields the
    /// enclosing schema declares, and must not close the object.
    structural: bool,
    /// Keep `default`: a CRD's defaults are applied by the apiserver before it validates
    /// (structural defaulting). In Kubernetes' own OpenAPI documents `default` only records
    /// Go zero values (`default: ""` on required fields), so there it is dropped.
    defaults: bool,
}

impl Context {
    const CRD: Context = Context {
        structural: true,
        defaults: true,
    };
    pub const OPENAPI: Context = Context {
        structural: true,
        defaults: false,
    };

    fn logic(self) -> Context {
        Context {
            structural: false,
            ..self
        }
    }
}

/// Rewrites one schema node.
pub fn convert(node: &Value, context: Context) -> Value {
    let Value::Object(schema) = node else {
        // `additionalProperties: true|false` and the like.
        return node.clone();
    };
    let flag = |key: &str| schema.get(key).and_then(Value::as_bool).unwrap_or(false);
    let preserve_unknown = flag("x-kubernetes-preserve-unknown-fields");
    let nullable = flag("nullable");
    let int_or_string = flag("x-kubernetes-int-or-string")
        || schema.get("format").and_then(Value::as_str) == Some("int-or-string");

    let mut out = Map::new();
    for (key, value) in schema {
        if value.is_null() || key.starts_with("x-") {
            // `anyOf: null` appears in generated CRDs; vendor extensions don't validate.
            continue;
        }
        let converted = match key.as_str() {
            "default" if context.defaults && context.structural => value.clone(),
            "nullable" | "format" | "description" | "default" | "example" | "externalDocs"
            | "title" | "readOnly" | "writeOnly" | "discriminator" | "xml" | "deprecated" => {
                continue;
            }
            "properties" => match value {
                Value::Object(fields) => Value::Object(
                    fields
                        .iter()
                        .map(|(name, field)| (name.clone(), convert(field, context)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" => convert(value, context),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(branches) => Value::Array(
                    branches
                        .iter()
                        .map(|branch| convert(branch, context.logic()))
                        .collect(),
                ),
                other => other.clone(),
            },
            "not" => convert(value, context.logic()),
            "$ref" => match value
                .as_str()
                .and_then(|r| r.strip_prefix(OPENAPI_REF_PREFIX))
            {
                Some(name) => Value::String(def_ref(name)),
                None => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }

    // OpenAPI 3.0 writes exclusive bounds as booleans beside minimum/maximum.
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(Value::Bool(is_exclusive)) = out.get(exclusive).cloned() {
            out.remove(exclusive);
            if is_exclusive && let Some(limit) = out.remove(bound) {
                out.insert(exclusive.into(), limit);
            }
        }
    }

    // `allOf: [{$ref: X}]` (how Kubernetes puts a ref beside `default`/`description`).
    if !out.contains_key("$ref")
        && let Some(Value::Array(branches)) = out.get("allOf")
        && let [Value::Object(only)] = branches.as_slice()
        && only.len() == 1
        && let Some(target) = only.get("$ref").cloned()
    {
        out.remove("allOf");
        out.insert("$ref".into(), target);
    }

    // `anyOf`/`oneOf` that only list types: say it with `type`, for plainer messages.
    if !out.contains_key("type") {
        for keyword in ["anyOf", "oneOf"] {
            if let Some(types) = out.get(keyword).and_then(only_types)
                && (keyword == "anyOf"
                    || !(types.contains(&"integer") && types.contains(&"number")))
            {
                let types = types
                    .into_iter()
                    .map(|t| Value::String(t.to_owned()))
                    .collect();
                out.remove(keyword);
                out.insert("type".into(), Value::Array(types));
                break;
            }
        }
    }

    if int_or_string {
        out.insert("type".into(), serde_json::json!(["integer", "string"]));
        for keyword in ["anyOf", "oneOf"] {
            if out.get(keyword).and_then(only_types).is_some() {
                out.remove(keyword);
            }
        }
    }

    if nullable {
        match out.get_mut("type") {
            Some(Value::String(single)) => {
                let single = std::mem::take(single);
                out.insert("type".into(), serde_json::json!([single, "null"]));
            }
            Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
                types.push(Value::String("null".into()));
            }
            _ => {}
        }
        if let Some(Value::Array(options)) = out.get_mut("enum")
            && !options.contains(&Value::Null)
        {
            options.push(Value::Null);
        }
    }

    if context.structural
        && !preserve_unknown
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}

/// Whether any schema reachable the way the runtime applies defaults (properties, items,
/// additionalProperties; not through `$ref`) has a `default`.
pub fn declares_defaults(schema: &Value) -> bool {
    let Value::Object(schema) = schema else {
        return false;
    };
    schema.contains_key("default")
        || schema
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| p.values().any(declares_defaults))
        || schema.get("items").is_some_and(declares_defaults)
        || schema
            .get("additionalProperties")
            .is_some_and(declares_defaults)
}

/// `[{type: a}, {type: b}]` -> `[a, b]`; `None` if any branch says more than its type.
fn only_types(branches: &Value) -> Option<Vec<&str>> {
    let branches = branches.as_array()?;
    if branches.is_empty() {
        return None;
    }
    branches
        .iter()
        .map(|branch| {
            let branch = branch.as_object()?;
            if branch.len() == 1 {
                branch.get("type")?.as_str()
            } else {
                None
            }
        })
        .collect()
}
