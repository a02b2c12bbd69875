//! `builtin:argocd`: the Argo CD side of the site's GitOps, for the Argo CD
//! instance OpenShift GitOps runs (namespace `openshift-gitops` by default).
//!
//! It renders, into the Argo CD namespace:
//!
//! - an **AppProject** for the site: it may only pull from the catalog's GitOps
//!   repository and only deploy to the cluster Argo CD runs in;
//! - the **root Application** of the app-of-apps pattern, whose source is this
//!   component's own folder in the GitOps repository (which holds the
//!   AppProject, the root Application itself and the child Applications);
//! - one **child Application** per other enabled component, pointing at that
//!   component's folder, ordered by `argocd.argoproj.io/sync-wave`.
//!
//! Bootstrapping a new cluster is one command once OpenShift GitOps is
//! installed: `oc apply -R -f <this component's folder>`. From then on the root
//! Application keeps itself, the project and the children in sync with git.

use std::collections::{BTreeMap, BTreeSet};

use opsmith_plugin_sdk::{
    Component, Diagnostic, Error, Info, Input, Output, Plugin, Severity, Value, export_plugin, json,
};
use serde::Deserialize;

/// The namespace the OpenShift GitOps operator creates for its default
/// Argo CD instance. OpenShift ships it with the operator, so it is not rendered.
const DEFAULT_NAMESPACE: &str = "openshift-gitops";

/// The cluster Argo CD runs in, as Argo CD names it.
const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// Makes deleting an Application delete the objects it manages.
const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";

/// Plugins whose components render no cluster objects, so no Application
/// points at them: install-config only writes a day-0 file.
const DAY0_ONLY_PLUGINS: &[&str] = &["install-config"];

/// Default sync waves by built-in plugin: what others depend on comes first.
const DEFAULT_WAVES: &[(&str, i32)] = &[
    // Namespaces before anything that lives in them.
    ("namespaces", -2),
    ("metal3", 0),
    // The OpenShift Pipelines operator subscription: its CRDs must exist
    // before components that create Tekton objects.
    ("tekton", 1),
    ("prow", 2),
    // The app's credentials go into the namespaces prow and tekton create, so
    // they cannot come first: nothing can be created in a missing namespace,
    // while a pod waits for a missing Secret. With prow's wave, a first sync
    // that races prow's Namespace is retried; an earlier wave would wait
    // forever for a namespace a later wave creates, if the root waits for
    // health.
    ("github-app", 2),
];

/// Wave of every component not in [`DEFAULT_WAVES`]: custom plugins run after
/// the platform they build on.
const OTHER_WAVE: i32 = 5;

/// Where a built-in plugin deploys: the config keys that name a namespace,
/// with the default the plugin uses when its config sets none, and the
/// namespaces it always uses. These follow those plugins' own defaults, as
/// github-app's table of credential consumers does.
struct BuiltinNamespaces {
    plugin: &'static str,
    settings: &'static [(&'static str, &'static str)],
    fixed: &'static [&'static str],
}

const BUILTIN_NAMESPACES: &[BuiltinNamespaces] = &[
    BuiltinNamespaces {
        plugin: "metal3",
        settings: &[("namespace", "openshift-machine-api")],
        fixed: &[],
    },
    // The OpenShift Pipelines operator's Subscription lives in openshift-operators.
    BuiltinNamespaces {
        plugin: "tekton",
        settings: &[("namespace", "ci")],
        fixed: &["openshift-operators"],
    },
    BuiltinNamespaces {
        plugin: "prow",
        settings: &[("namespace", "prow"), ("testPodNamespace", "test-pods")],
        fixed: &[],
    },
    // Delivers credentials to the namespaces of prow, tekton and argocd.
    BuiltinNamespaces {
        plugin: "github-app",
        settings: &[],
        fixed: &[],
    },
    // Day-0 files only.
    BuiltinNamespaces {
        plugin: "install-config",
        settings: &[],
        fixed: &[],
    },
];

/// Sync options of every Application:
/// - `ServerSideApply=true`: no `last-applied-configuration` annotation, so
///   large objects (CRDs, ConfigMaps holding Prow's config) fit, and fields an
///   operator owns (BareMetalHost status-like spec fields, OLM defaults) are
///   not fought over.
/// - `ApplyOutOfSyncOnly=true`: a site with thousands of BareMetalHosts should
///   not re-apply every one of them on each sync.
/// - `PruneLast=true`: delete what left git only after everything else synced,
///   so a replacement exists before the old object goes.
///
/// `CreateNamespace` stays at its default (false): the Applications have no
/// destination namespace to create, and Namespaces are rendered objects.
const SYNC_OPTIONS: &[&str] = &[
    "ServerSideApply=true",
    "ApplyOutOfSyncOnly=true",
    "PruneLast=true",
];

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    namespace: String,
    project: Option<String>,
    root_application: Option<String>,
    automated: bool,
    prune: bool,
    self_heal: bool,
    retry_limit: u32,
    sync_waves: BTreeMap<String, i32>,
    exclude: Vec<String>,
    destination_namespaces: Vec<String>,
    cluster_resource_whitelist: Vec<GroupKind>,
    roles: Vec<ProjectRole>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            project: None,
            root_application: None,
            automated: true,
            prune: true,
            self_heal: true,
            retry_limit: 5,
            sync_waves: BTreeMap::new(),
            exclude: Vec::new(),
            destination_namespaces: Vec::new(),
            cluster_resource_whitelist: vec![GroupKind {
                group: "*".to_owned(),
                kind: "*".to_owned(),
            }],
            roles: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupKind {
    group: String,
    kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectRole {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// Names of Kubernetes objects: RFC 1123 subdomains.
const NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

fn config_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "namespace": {
                "description": "Namespace of the Argo CD instance; the AppProject and the Applications are rendered there. OpenShift GitOps creates it, opsmith does not.",
                "type": "string",
                "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                "maxLength": 63,
                "default": DEFAULT_NAMESPACE
            },
            "project": {
                "description": "Name of the site's AppProject. Default: the site's metadata.name.",
                "type": "string",
                "pattern": NAME_PATTERN,
                "maxLength": 253
            },
            "rootApplication": {
                "description": "Name of the app-of-apps root Application. Default: <site>-root.",
                "type": "string",
                "pattern": NAME_PATTERN,
                "maxLength": 253
            },
            "automated": {
                "description": "Let Argo CD sync automatically after every merge; false means someone presses Sync.",
                "type": "boolean",
                "default": true
            },
            "prune": {
                "description": "With automated sync: delete cluster objects that are no longer rendered.",
                "type": "boolean",
                "default": true
            },
            "selfHeal": {
                "description": "With automated sync: undo changes made on the cluster outside git.",
                "type": "boolean",
                "default": true
            },
            "retryLimit": {
                "description": "How often Argo CD retries a failed sync (with backoff from 10s to 3m), for instance while an operator installs the CRDs a later wave needs. 0 turns retries off.",
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "default": 5
            },
            "syncWaves": {
                "description": "Sync wave of a component's Application, by component name; lower waves sync first. Defaults: namespaces -2, metal3 0, tekton 1, prow 2, github-app 2, anything else 5.",
                "type": "object",
                "additionalProperties": { "type": "integer", "minimum": -1000, "maximum": 1000 },
                "default": {}
            },
            "exclude": {
                "description": "Components that get no Application, besides this one and install-config components (which render no cluster objects).",
                "type": "array",
                "items": { "type": "string" },
                "uniqueItems": true,
                "default": []
            },
            "destinationNamespaces": {
                "description": "Namespaces (Argo CD globs such as team-*) the project may deploy to, besides the Argo CD namespace and those the catalog's enabled components use: the built-in plugins' namespace settings or their defaults, the names a builtin:namespaces component declares, and a custom component's config.namespace. [\"*\"] allows every namespace.",
                "type": "array",
                "items": { "type": "string", "minLength": 1, "maxLength": 63 },
                "uniqueItems": true,
                "default": []
            },
            "clusterResourceWhitelist": {
                "description": "Cluster-scoped kinds the project may create (group \"\" is the core group, \"*\" any). The default allows all: components create Namespaces, ClusterRoles, CRD-based objects, and custom plugins more.",
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["group", "kind"],
                    "properties": {
                        "group": { "description": "API group, \"\" for core, \"*\" for any.", "type": "string" },
                        "kind": { "description": "Kind, \"*\" for any.", "type": "string", "minLength": 1 }
                    }
                },
                "default": [{ "group": "*", "kind": "*" }]
            },
            "roles": {
                "description": "Argo CD RBAC roles of the project.",
                "type": "array",
                "default": [],
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name"],
                    "properties": {
                        "name": {
                            "description": "Role name; policies name it as proj:<project>:<name>.",
                            "type": "string",
                            "pattern": "^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$"
                        },
                        "description": { "description": "What the role is for.", "type": "string" },
                        "policies": {
                            "description": "Casbin rules: p, proj:<project>:<role>, <resource>, <action>, <project>/<object>, allow|deny.",
                            "type": "array",
                            "items": { "type": "string" },
                            "default": []
                        },
                        "groups": {
                            "description": "SSO groups bound to the role.",
                            "type": "array",
                            "items": { "type": "string" },
                            "default": []
                        }
                    }
                }
            }
        }
    })
}

/// The plugin; public so that native builds (tests, the host's tooling) can
/// call it as `opsmith_plugin_sdk::testing::render::<ArgoCd>`.
pub struct ArgoCd;

impl Plugin for ArgoCd {
    fn describe() -> Info {
        Info::new("argocd", env!("CARGO_PKG_VERSION"))
            .description("Argo CD AppProject, app-of-apps root Application and one Application per component")
            .config_schema(config_schema())
            // The namespace comes from config, so `*`; `openshift-gitops` is
            // listed as the default for readers of `opsmith plugin inspect`.
            .emits("argoproj.io/v1alpha1", "AppProject", &[DEFAULT_NAMESPACE, "*"])
            .emits("argoproj.io/v1alpha1", "Application", &[DEFAULT_NAMESPACE, "*"])
    }

    // Nothing here depends on the servers: skip parsing them.
    const READS_HOSTS: bool = false;

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        let mut out = Output::new();
        let site = &input.site.metadata.name;
        let gitops = &input.catalog.spec.gitops;
        let project = config.project.clone().unwrap_or_else(|| site.clone());
        let root_name = config
            .root_application
            .clone()
            .unwrap_or_else(|| format!("{site}-root"));

        warn_about_unknown_names(input, &config, &mut out);
        check_roles(&config, &project)?;

        let (this_index, this) = input
            .catalog
            .spec
            .components
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == input.component)
            .ok_or_else(|| {
                Error::at(
                    "/catalog/spec/components",
                    format!("no component named {}", input.component),
                )
            })?;
        let root_path = component_path(this_index, this)?;

        let mut children = Vec::new();
        for (index, component) in input.catalog.spec.components.iter().enumerate() {
            if !gets_application(component, &input.component, &config) {
                continue;
            }
            if component.name == root_name {
                return Err(Error::at(
                    &format!("/catalog/spec/components/{index}/name"),
                    format!(
                        "component {} has the name of the root Application; set config.rootApplication",
                        component.name
                    ),
                ));
            }
            let wave = config
                .sync_waves
                .get(&component.name)
                .copied()
                .unwrap_or_else(|| default_wave(component));
            children.push((component, component_path(index, component)?, wave));
        }

        // The project syncs before every child Application that refers to it.
        let project_wave = children.iter().map(|(_, _, wave)| *wave).fold(0, i32::min) - 1;
        let namespaces = project_namespaces(input, &config, &mut out);
        out.object(app_project(
            &config,
            &project,
            &gitops.repo_url,
            namespaces,
            project_wave,
            site,
        ));

        out.object(json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": root_name,
                "namespace": config.namespace,
                // No resources finalizer: deleting the root by mistake must not
                // cascade through every child to every object on the cluster,
                // BareMetalHosts included. Its children are orphaned instead.
            },
            "spec": {
                "project": project,
                "source": {
                    "repoURL": gitops.repo_url,
                    "targetRevision": gitops.target_revision,
                    "path": root_path,
                    "directory": { "recurse": true },
                },
                "destination": {
                    "server": IN_CLUSTER,
                    "namespace": config.namespace,
                },
                "syncPolicy": sync_policy(&config),
            },
        }));

        // Sync waves order these Applications only because they are resources
        // of the root Application; Argo CD does not order separate Applications
        // otherwise. The root waits for a wave to be healthy only if the
        // Argo CD instance has a health check for argoproj.io/Application
        // (removed from the defaults in Argo CD 1.8).
        for (component, path, wave) in children {
            out.object(json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {
                    "name": component.name,
                    "namespace": config.namespace,
                    // Deleting the Application (or removing the component from
                    // the catalog) deletes what it deployed.
                    "finalizers": [RESOURCES_FINALIZER],
                    "annotations": {
                        SYNC_WAVE: wave.to_string(),
                    },
                },
                "spec": {
                    "project": project,
                    "source": {
                        "repoURL": gitops.repo_url,
                        "targetRevision": gitops.target_revision,
                        "path": path,
                        "directory": { "recurse": true },
                    },
                    // No namespace: every namespaced object opsmith renders
                    // names its own, and a component may use several.
                    "destination": {
                        "server": IN_CLUSTER,
                    },
                    "syncPolicy": sync_policy(&config),
                },
            }));
        }
        Ok(out)
    }
}

export_plugin!(ArgoCd);

/// Whether `component` gets a child Application: enabled, not this argocd
/// component (the root Application covers it), not day-0 only, not excluded.
fn gets_application(component: &Component, this: &str, config: &Config) -> bool {
    let day0_only = component
        .plugin
        .builtin_name()
        .is_some_and(|p| DAY0_ONLY_PLUGINS.contains(&p));
    component.enabled
        && component.name != this
        && !day0_only
        && !config.exclude.contains(&component.name)
}

fn default_wave(component: &Component) -> i32 {
    let builtin = component.plugin.builtin_name();
    DEFAULT_WAVES
        .iter()
        .find(|(plugin, _)| Some(*plugin) == builtin)
        .map_or(OTHER_WAVE, |(_, wave)| *wave)
}

/// The component's folder in the GitOps repository, which opsmith fills in.
fn component_path(index: usize, component: &Component) -> Result<String, Error> {
    component.path.clone().ok_or_else(|| {
        Error::at(
            &format!("/catalog/spec/components/{index}"),
            format!("component {} has no path; opsmith fills it in, so this plugin needs a newer opsmith", component.name),
        )
    })
}

fn app_project(
    config: &Config,
    project: &str,
    repo_url: &str,
    namespaces: BTreeSet<&str>,
    wave: i32,
    site: &str,
) -> Value {
    let whitelist: Vec<Value> = config
        .cluster_resource_whitelist
        .iter()
        .map(|gk| json!({ "group": gk.group, "kind": gk.kind }))
        .collect();
    let mut object = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {
            "name": project,
            "namespace": config.namespace,
            // Argo CD keeps the project until no Application uses it.
            "finalizers": [RESOURCES_FINALIZER],
            "annotations": {
                SYNC_WAVE: wave.to_string(),
            },
        },
        "spec": {
            "description": format!("Components of site {site}, rendered by opsmith"),
            // Only the reviewed GitOps repository: this is what makes the
            // broad cluster-resource whitelist acceptable.
            "sourceRepos": [repo_url],
            "destinations": destinations(namespaces),
            "clusterResourceWhitelist": whitelist,
        },
    });
    if !config.roles.is_empty() {
        object["spec"]["roles"] = config.roles.iter().map(role).collect();
    }
    object
}

fn role(role: &ProjectRole) -> Value {
    let mut value = json!({
        "name": role.name,
        "policies": role.policies,
        "groups": role.groups,
    });
    if let Some(description) = &role.description {
        value["description"] = json!(description);
    }
    value
}

/// The namespaces the project may deploy to: the Argo CD namespace, those
/// the catalog's enabled components use as far as their config tells, and
/// `destinationNamespaces`. Argo CD refuses to sync an object into any other
/// namespace, so a component that deploys elsewhere needs its namespace in
/// `destinationNamespaces`; a note says which components opsmith cannot see into.
fn project_namespaces<'a>(
    input: &'a Input,
    config: &'a Config,
    out: &mut Output,
) -> BTreeSet<&'a str> {
    let mut namespaces = BTreeSet::from([config.namespace.as_str()]);
    namespaces.extend(config.destination_namespaces.iter().map(String::as_str));
    let any = namespaces.contains("*");
    for (index, component) in input.catalog.spec.components.iter().enumerate() {
        if !component.enabled || component.name == input.component {
            continue;
        }
        match component_namespaces(component) {
            Some(found) => namespaces.extend(found),
            None if !any && gets_application(component, &input.component, config) => {
                out.diagnostics.push(Diagnostic {
                    severity: Severity::Info,
                    message: format!(
                        "the config of component {} names no namespace: list the namespaces it deploys to \
                         in destinationNamespaces of the argocd component, or Argo CD refuses to sync there",
                        component.name
                    ),
                    pointer: format!("/catalog/spec/components/{index}"),
                });
            }
            None => {}
        }
    }
    namespaces
}

/// The namespaces `component` deploys to, or `None` when its config does not say.
fn component_namespaces(component: &Component) -> Option<Vec<&str>> {
    let config = component.config.as_ref();
    let setting = |key: &str| config.and_then(|c| c.get(key)).and_then(Value::as_str);
    let builtin = component.plugin.builtin_name();
    if builtin == Some("namespaces") {
        let declared = config
            .and_then(|c| c.get("namespaces"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        return Some(
            declared
                .filter_map(|ns| ns.get("name").and_then(Value::as_str))
                .collect(),
        );
    }
    if let Some(known) = BUILTIN_NAMESPACES
        .iter()
        .find(|b| Some(b.plugin) == builtin)
    {
        let mut found: Vec<&str> = known
            .settings
            .iter()
            .map(|(key, default)| setting(key).unwrap_or(default))
            .collect();
        found.extend(known.fixed);
        return Some(found);
    }
    setting("namespace").map(|namespace| vec![namespace])
}

/// The project's destinations: the in-cluster server with each namespace.
fn destinations(namespaces: BTreeSet<&str>) -> Vec<Value> {
    if namespaces.contains("*") {
        return vec![json!({ "namespace": "*", "server": IN_CLUSTER })];
    }
    let mut destinations: Vec<Value> = namespaces
        .into_iter()
        .map(|namespace| json!({ "namespace": namespace, "server": IN_CLUSTER }))
        .collect();
    // The child Applications have no destination namespace, and Argo CD checks
    // the Application's own destination against the project too: an empty
    // namespace only matches an empty pattern (argoproj/argo-cd#11510).
    // Namespaced objects are still checked against their own namespace.
    destinations.push(json!({ "namespace": "", "server": IN_CLUSTER }));
    destinations
}

/// Argo CD rejects a whole AppProject over one malformed policy, after the
/// merge; catch the structural mistakes here, in CI, instead.
fn check_roles(config: &Config, project: &str) -> Result<(), Error> {
    for (r, role) in config.roles.iter().enumerate() {
        let subject = format!("proj:{project}:{}", role.name);
        for (p, policy) in role.policies.iter().enumerate() {
            let pointer = format!("/config/roles/{r}/policies/{p}");
            let parts: Vec<&str> = policy.split(',').map(str::trim).collect();
            let [kind, sub, _resource, _action, object, effect] = parts.as_slice() else {
                return Err(Error::at(
                    &pointer,
                    "a policy has six fields: p, subject, resource, action, object, effect",
                ));
            };
            if *kind != "p" {
                return Err(Error::at(
                    &pointer,
                    format!("a policy starts with p, not {kind}"),
                ));
            }
            if *sub != subject {
                return Err(Error::at(
                    &pointer,
                    format!("the subject must be {subject}, not {sub}"),
                ));
            }
            if !object.starts_with(&format!("{project}/")) {
                return Err(Error::at(
                    &pointer,
                    format!("the object must start with {project}/, not {object}"),
                ));
            }
            if !matches!(*effect, "allow" | "deny") {
                return Err(Error::at(
                    &pointer,
                    format!("the effect must be allow or deny, not {effect}"),
                ));
            }
        }
    }
    Ok(())
}

/// Names in `exclude` and `syncWaves` that match no Application are most
/// likely typos; say so rather than silently doing nothing.
fn warn_about_unknown_names(input: &Input, config: &Config, out: &mut Output) {
    let known = |name: &str| input.catalog.spec.components.iter().any(|c| c.name == name);
    for (i, name) in config.exclude.iter().enumerate() {
        if !known(name) {
            out.warn(
                &format!("/config/exclude/{i}"),
                format!("no component named {name} in the catalog"),
            );
        }
    }
    for name in config.sync_waves.keys() {
        let pointer = format!(
            "/config/syncWaves/{}",
            name.replace('~', "~0").replace('/', "~1")
        );
        match input
            .catalog
            .spec
            .components
            .iter()
            .find(|c| &c.name == name)
        {
            None => {
                out.warn(
                    &pointer,
                    format!("no component named {name} in the catalog"),
                );
            }
            Some(c) if !gets_application(c, &input.component, config) => {
                out.warn(
                    &pointer,
                    format!("component {name} gets no Application, so its sync wave is unused"),
                );
            }
            Some(_) => {}
        }
    }
}

fn sync_policy(config: &Config) -> Value {
    let mut policy = json!({
        "syncOptions": SYNC_OPTIONS,
    });
    if config.automated {
        // allowEmpty stays false: a component that suddenly renders nothing
        // (a broken plugin, a bad merge) does not prune everything it had.
        policy["automated"] = json!({
            "prune": config.prune,
            "selfHeal": config.self_heal,
        });
    }
    if config.retry_limit > 0 {
        policy["retry"] = json!({
            "limit": config.retry_limit,
            "backoff": {
                "duration": "10s",
                "factor": 2,
                "maxDuration": "3m",
            },
        });
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmith_plugin_sdk::testing::{EXAMPLE_SITE, catalog_with, render};

    /// Seven components: six built-in (one disabled) and one custom, with
    /// `path` filled in as opsmith does.
    fn catalog(argocd_config: Value) -> String {
        let components = json!([
            {
                "name": "namespaces",
                "plugin": "builtin:namespaces",
                "config": { "namespaces": [{ "name": "prow" }, { "name": "test-pods" }] },
            },
            { "name": "baremetal-hosts", "plugin": "builtin:metal3" },
            { "name": "install-config", "plugin": "builtin:install-config" },
            { "name": "argocd", "plugin": "builtin:argocd", "config": argocd_config },
            { "name": "github-app", "plugin": "builtin:github-app" },
            { "name": "tekton", "plugin": "builtin:tekton", "enabled": false },
            { "name": "prow", "plugin": "builtin:prow", "config": { "namespace": "prow" } },
            {
                "name": "my-component",
                "plugin": { "path": "plugins/mine.wasm", "sha256": "0".repeat(64) },
                "config": { "namespace": "mine" },
            },
        ]);
        catalog_with(components.as_array().cloned().unwrap_or_default())
    }

    fn render_with(config: Value) -> Result<Output, Error> {
        render::<ArgoCd>(
            "argocd",
            EXAMPLE_SITE,
            &catalog(config.clone()),
            &config.to_string(),
        )
    }

    fn find<'a>(out: &'a Output, kind: &str, name: &str) -> &'a Value {
        out.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    fn application_names(out: &Output) -> Vec<&str> {
        out.objects
            .iter()
            .filter(|o| o["kind"] == "Application")
            .filter_map(|o| o["metadata"]["name"].as_str())
            .collect()
    }

    fn wave(object: &Value) -> &str {
        object["metadata"]["annotations"][SYNC_WAVE]
            .as_str()
            .unwrap_or_default()
    }

    #[test]
    fn renders_project_root_and_one_application_per_component() {
        let out = render_with(json!({})).unwrap();
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        // install-config is day-0 only, tekton is disabled, argocd is the root.
        assert_eq!(
            application_names(&out),
            [
                "example-root",
                "namespaces",
                "baremetal-hosts",
                "github-app",
                "prow",
                "my-component"
            ]
        );
        assert_eq!(out.objects.len(), 7);
        for object in &out.objects {
            assert_eq!(object["metadata"]["namespace"], "openshift-gitops");
        }

        let root = find(&out, "Application", "example-root");
        assert_eq!(root["spec"]["project"], "example");
        assert_eq!(root["spec"]["source"]["path"], "clusters/example/argocd");
        assert_eq!(
            root["spec"]["source"]["repoURL"],
            "https://git.example.org/example/manifests.git"
        );
        assert_eq!(root["spec"]["source"]["targetRevision"], "main");
        assert_eq!(
            root["spec"]["destination"],
            json!({ "server": IN_CLUSTER, "namespace": "openshift-gitops" })
        );
        assert!(root["metadata"].get("finalizers").is_none());

        let prow = find(&out, "Application", "prow");
        assert_eq!(prow["spec"]["source"]["path"], "clusters/example/prow");
        assert_eq!(prow["spec"]["source"]["directory"]["recurse"], true);
        assert_eq!(prow["spec"]["destination"], json!({ "server": IN_CLUSTER }));
        assert_eq!(prow["metadata"]["finalizers"], json!([RESOURCES_FINALIZER]));
        assert_eq!(
            prow["spec"]["syncPolicy"]["automated"],
            json!({ "prune": true, "selfHeal": true })
        );
        assert_eq!(prow["spec"]["syncPolicy"]["retry"]["limit"], 5);
    }

    #[test]
    fn orders_applications_by_sync_wave() {
        let out = render_with(json!({})).unwrap();
        let waves: Vec<(&str, &str)> = [
            "namespaces",
            "github-app",
            "baremetal-hosts",
            "prow",
            "my-component",
        ]
        .into_iter()
        .map(|name| (name, wave(find(&out, "Application", name))))
        .collect();
        assert_eq!(
            waves,
            [
                ("namespaces", "-2"),
                ("github-app", "2"),
                ("baremetal-hosts", "0"),
                ("prow", "2"),
                ("my-component", "5")
            ]
        );
        assert_eq!(wave(find(&out, "AppProject", "example")), "-3");
    }

    #[test]
    fn project_allows_only_the_gitops_repo_and_the_components_namespaces() {
        let out = render_with(json!({})).unwrap();
        let project = find(&out, "AppProject", "example");
        assert_eq!(
            project["spec"]["sourceRepos"],
            json!(["https://git.example.org/example/manifests.git"])
        );
        let namespaces: Vec<&str> = project["spec"]["destinations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["namespace"].as_str())
            .collect();
        // my-component's config, metal3's and prow's defaults, the namespaces
        // component's list, Argo CD's own; "" for the Applications themselves.
        assert_eq!(
            namespaces,
            [
                "mine",
                "openshift-gitops",
                "openshift-machine-api",
                "prow",
                "test-pods",
                ""
            ]
        );
        assert_eq!(
            project["spec"]["clusterResourceWhitelist"],
            json!([{ "group": "*", "kind": "*" }])
        );
        assert!(project["spec"].get("roles").is_none());
    }

    #[test]
    fn config_overrides_names_waves_policy_and_destinations() {
        let out = render_with(json!({
            "namespace": "argocd",
            "project": "infra",
            "rootApplication": "apps",
            "automated": false,
            "retryLimit": 0,
            "syncWaves": { "my-component": -5, "prow": 3 },
            "exclude": ["github-app"],
            "destinationNamespaces": ["*"],
            "roles": [{
                "name": "ci",
                "description": "Prow syncs after merges",
                "policies": ["p, proj:infra:ci, applications, sync, infra/*, allow"],
                "groups": ["sre"],
            }],
        }))
        .unwrap();
        assert_eq!(
            application_names(&out),
            [
                "apps",
                "namespaces",
                "baremetal-hosts",
                "prow",
                "my-component"
            ]
        );
        let prow = find(&out, "Application", "prow");
        assert_eq!(prow["metadata"]["namespace"], "argocd");
        assert_eq!(prow["spec"]["project"], "infra");
        assert_eq!(wave(prow), "3");
        assert_eq!(
            prow["spec"]["syncPolicy"],
            json!({ "syncOptions": SYNC_OPTIONS })
        );
        assert_eq!(wave(find(&out, "Application", "my-component")), "-5");

        let project = find(&out, "AppProject", "infra");
        assert_eq!(wave(project), "-6");
        assert_eq!(
            project["spec"]["destinations"],
            json!([{ "namespace": "*", "server": IN_CLUSTER }])
        );
        assert_eq!(project["spec"]["roles"][0]["name"], "ci");
        assert_eq!(project["spec"]["roles"][0]["groups"], json!(["sre"]));
    }

    #[test]
    fn builtin_defaults_and_settings_become_destinations() {
        let mut catalog: Value = serde_json::from_str(&catalog(json!({}))).unwrap();
        catalog["spec"]["components"][5]["enabled"] = json!(true);
        catalog["spec"]["components"][6]["config"] = json!({ "testPodNamespace": "jobs" });
        let out = render::<ArgoCd>("argocd", EXAMPLE_SITE, &catalog.to_string(), "{}").unwrap();
        let destinations = &find(&out, "AppProject", "example")["spec"]["destinations"];
        let namespaces: Vec<&str> = destinations
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["namespace"].as_str())
            .collect();
        assert_eq!(
            namespaces,
            [
                "ci",
                "jobs",
                "mine",
                "openshift-gitops",
                "openshift-machine-api",
                "openshift-operators",
                "prow",
                "test-pods",
                ""
            ]
        );
    }

    #[test]
    fn notes_a_custom_component_whose_namespaces_are_unknown() {
        let mut catalog: Value = serde_json::from_str(&catalog(json!({}))).unwrap();
        catalog["spec"]["components"][7]["config"] = json!({ "replicas": 2 });
        let out = render::<ArgoCd>("argocd", EXAMPLE_SITE, &catalog.to_string(), "{}").unwrap();
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].severity, Severity::Info);
        assert_eq!(out.diagnostics[0].pointer, "/catalog/spec/components/7");

        let config = json!({ "destinationNamespaces": ["*"] });
        let out = render::<ArgoCd>(
            "argocd",
            EXAMPLE_SITE,
            &catalog.to_string(),
            &config.to_string(),
        )
        .unwrap();
        assert!(out.diagnostics.is_empty());
    }

    #[test]
    fn automated_sync_without_prune_or_self_heal() {
        let out = render_with(json!({ "prune": false, "selfHeal": false })).unwrap();
        let root = find(&out, "Application", "example-root");
        assert_eq!(
            root["spec"]["syncPolicy"]["automated"],
            json!({ "prune": false, "selfHeal": false })
        );
    }

    #[test]
    fn warns_about_names_that_match_no_application() {
        let out =
            render_with(json!({ "exclude": ["prwo"], "syncWaves": { "tekton": 1, "nope/x": 2 } }))
                .unwrap();
        let pointers: Vec<&str> = out.diagnostics.iter().map(|d| d.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/config/exclude/0",
                "/config/syncWaves/nope~1x",
                "/config/syncWaves/tekton"
            ]
        );
    }

    #[test]
    fn rejects_a_policy_for_another_project() {
        let err = render_with(json!({
            "roles": [{ "name": "ro", "policies": ["p, proj:other:ro, applications, get, other/*, allow"] }],
        }))
        .unwrap_err();
        assert_eq!(err.pointer, "/config/roles/0/policies/0");
        assert!(err.message.contains("proj:example:ro"), "{err}");

        let err = render_with(
            json!({ "roles": [{ "name": "ro", "policies": ["p, proj:example:ro, get"] }] }),
        )
        .unwrap_err();
        assert!(err.message.contains("six fields"), "{err}");
    }

    #[test]
    fn rejects_a_component_named_like_the_root_application() {
        let err = render_with(json!({ "rootApplication": "prow" })).unwrap_err();
        assert_eq!(err.pointer, "/catalog/spec/components/6/name");
    }

    #[test]
    fn needs_the_path_opsmith_fills_in() {
        let mut catalog: Value = serde_json::from_str(&catalog(json!({}))).unwrap();
        catalog["spec"]["components"][1]
            .as_object_mut()
            .unwrap()
            .remove("path");
        let err = render::<ArgoCd>("argocd", EXAMPLE_SITE, &catalog.to_string(), "{}").unwrap_err();
        assert_eq!(err.pointer, "/catalog/spec/components/1");
    }

    #[test]
    fn unknown_config_fields_are_rejected() {
        let err = render_with(json!({ "selfheal": true })).unwrap_err();
        assert_eq!(err.pointer, "/config");
    }

    #[test]
    fn schema_accepts_the_defaults_and_agrees_with_config() {
        let schema = config_schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let properties = schema["properties"].as_object().unwrap();
        let defaults: serde_json::Map<String, Value> = properties
            .iter()
            .filter_map(|(name, property)| Some((name.clone(), property.get("default")?.clone())))
            .collect();
        let defaults = Value::Object(defaults);
        assert!(validator.is_valid(&defaults));
        assert!(!validator.is_valid(&json!({ "selfheal": true })));

        // Every property has a description, and the schema's defaults are the
        // ones `Config` uses.
        assert!(properties.values().all(|p| p["description"].is_string()));
        let from_schema: Config = serde_json::from_value(defaults).unwrap();
        let default = Config::default();
        assert_eq!(format!("{from_schema:?}"), format!("{default:?}"));
    }
}
