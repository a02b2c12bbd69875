//! `builtin:argocd`: the Argo CD side of the site's GitOps, for the Argo CD
//! instance OpenShift GitOps runs (namespace `openshift-gitops` by default).
//!
//! It renders, into the Argo CD namespace:
//!
//! - the **root Application** of the app-of-apps pattern, whose source is this
//!   component's own folder in the GitOps repository (which holds the
//!   AppProjects, the root Application itself and the child Applications), in
//!   the site's **AppProject** (`<project>`, by default the site's name);
//! - one **child Application** per other enabled component, pointing at that
//!   component's folder, ordered by `argocd.argoproj.io/sync-wave`, each in an
//!   **AppProject of its own**, `<project>-<component>`;
//! - one **Application per entry of `applications:`** in the config, for a
//!   Helm chart or a folder of another repository, also in an AppProject of
//!   its own, `<project>-<name>`, that allows only that repository, that
//!   namespace and the cluster-scoped kinds the entry lists (see the
//!   `applications` module).
//!
//! - the instance's **ArgoCD** resource, holding only
//!   `spec.resourceHealthChecks`: health checks for kinds the components
//!   emit that Argo CD has none for (see the `health` module), and, with
//!   `healthChecks.applications`, for Applications.
//!
//! Metrics need nothing from here: the OpenShift GitOps operator creates
//! ServiceMonitors for each instance's application controller
//! (`<instance>-metrics`, 8082), API server (`<instance>-server-metrics`,
//! 8083) and repo server (`<instance>-repo-server`, 8084) and labels the
//! namespace for monitoring, unless the ArgoCD resource sets
//! `spec.monitoring.disableMetrics` (redhat-developer/gitops-operator
//! controllers/argocd_metrics_controller.go). In `openshift-*` namespaces
//! platform monitoring scrapes them, elsewhere user-workload monitoring.
//!
//! Bootstrapping a new cluster is one command once OpenShift GitOps is
//! installed: `oc apply -R -f <this component's folder>`. From then on the root
//! Application keeps itself, the projects and the children in sync with git.
//!
//! # The fence
//!
//! opsmith refuses, at render time, any object whose kind the component's
//! plugin does not declare in `describe` or the catalog's `allow` list for the
//! component does not permit; it hands each enabled component's remaining
//! kinds to the plugins as `emits` in the catalog. The AppProjects make Argo CD
//! enforce the same fence on the cluster, so that a commit made to the GitOps
//! repository by hand (or by anything other than opsmith) cannot make Argo CD
//! apply a kind the component may not emit:
//!
//! - `clusterResourceWhitelist`: the component's cluster-scoped kinds (those
//!   declared with no namespace), as API group and kind;
//! - `namespaceResourceWhitelist`: its namespaced kinds;
//! - `destinations`: the namespaces those kinds are declared for; where the
//!   plugin declares any namespace (`*`), the namespaces its config names (the
//!   built-in plugins' settings and defaults, a custom component's
//!   `config.namespace`);
//! - `sourceRepos`: only the catalog's GitOps repository (an application's
//!   project: only its own repoURL).
//!
//! An empty whitelist is written as a blacklist of everything (`*`/`*`):
//! Argo CD reads a missing `namespaceResourceWhitelist` as "every namespaced
//! kind". `clusterResourceWhitelist`, `namespaceResourceWhitelist` and
//! `destinationNamespaces` in this component's config add to every
//! component's project, for files kept by hand in a component's folder.
//!
//! Why a project per component and not one project with the union of all
//! kinds: in Argo CD the project is the unit of restriction, and an
//! Application belongs to exactly one. With a union, every component could
//! apply every other component's kinds; and since the root Application must
//! be allowed AppProjects and Applications, a hand-made file in any
//! component's folder could add a project that allows everything, and an
//! Application in it. Per component, prow's folder can hold only what the
//! prow plugin declares. What remains trusted is this component's own folder,
//! which holds the projects themselves: protect it as you protect the
//! catalog (CODEOWNERS, required review).
//!
//! Project roles are given to every project, their policies rewritten from
//! `<project>` to each project's name, so that a group keeps its rights on
//! every Application. A JWT token is bound to one project's role: for a CI
//! account across all components, use a global policy in argocd-rbac-cm
//! (`p, role:ci, applications, sync, <project>*/*, allow`).

use std::collections::{BTreeMap, BTreeSet};

mod applications;
mod health;

use applications::{FloatingRevisions, RepoApplication};
use opsmith_plugin_sdk::{
    Component, Diagnostic, Emit, Error, Info, Input, Output, Plugin, Severity, Value,
    export_plugin, json,
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
/// with the default the plugin uses when its config sets none, the
/// namespaces it always uses, and other components' namespaces it deploys
/// into (their plugin, config key and default). These follow those plugins'
/// own defaults, as github-app's table of credential consumers does.
struct BuiltinNamespaces {
    plugin: &'static str,
    settings: &'static [(&'static str, &'static str)],
    fixed: &'static [&'static str],
    of_components: &'static [(&'static str, &'static str, &'static str)],
}

const BUILTIN_NAMESPACES: &[BuiltinNamespaces] = &[
    BuiltinNamespaces {
        plugin: "metal3",
        settings: &[("namespace", "openshift-machine-api")],
        fixed: &[],
        of_components: &[],
    },
    // The OpenShift Pipelines operator's Subscription lives in openshift-operators.
    BuiltinNamespaces {
        plugin: "tekton",
        settings: &[("namespace", "ci")],
        fixed: &["openshift-operators"],
        of_components: &[],
    },
    BuiltinNamespaces {
        plugin: "prow",
        settings: &[("namespace", "prow"), ("testPodNamespace", "test-pods")],
        fixed: &[],
        of_components: &[],
    },
    // Delivers credentials to the namespaces of prow, tekton and argocd.
    BuiltinNamespaces {
        plugin: "github-app",
        settings: &[],
        fixed: &[],
        of_components: &[
            ("prow", "namespace", "prow"),
            ("tekton", "namespace", "ci"),
            ("argocd", "namespace", DEFAULT_NAMESPACE),
        ],
    },
    // Day-0 files only.
    BuiltinNamespaces {
        plugin: "install-config",
        settings: &[],
        fixed: &[],
        of_components: &[],
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

/// The site's Argo CD: its AppProjects, the app-of-apps root Application and
/// one Application per component.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:argocd config"))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    /// A namespace: that of the Argo CD instance, where the AppProjects and
    /// the Applications are rendered (an RFC 1123 label). OpenShift GitOps
    /// creates it, opsmith does not.
    #[cfg_attr(test, schemars(regex(pattern = DNS_LABEL), length(max = 63)))]
    namespace: String,
    /// A name for the site's AppProject (an RFC 1123 subdomain). Default:
    /// the site's metadata.name.
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            regex(pattern = NAME_PATTERN),
            length(max = 253)
        )
    )]
    project: Option<String>,
    /// A name for the app-of-apps root Application (an RFC 1123 subdomain).
    /// Default: <site>-root.
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            regex(pattern = NAME_PATTERN),
            length(max = 253)
        )
    )]
    root_application: Option<String>,
    /// Let Argo CD sync automatically after every merge; false means someone
    /// presses Sync.
    automated: bool,
    /// With automated sync: delete cluster objects that are no longer
    /// rendered.
    prune: bool,
    /// With automated sync: undo changes made on the cluster outside git.
    self_heal: bool,
    /// How often Argo CD retries a failed sync (with backoff from 10s to
    /// 3m), for instance while an operator installs the CRDs a later wave
    /// needs. 0 turns retries off.
    #[cfg_attr(test, schemars(range(max = 100)))]
    retry_limit: u32,
    /// Sync wave of a component's Application, by component name; lower
    /// waves sync first. Defaults: namespaces -2, metal3 0, tekton 1, prow 2,
    /// github-app 2, anything else 5.
    #[cfg_attr(
        test,
        schemars(extend(
            "additionalProperties" = { "type": "integer", "minimum": -1000, "maximum": 1000 }
        ))
    )]
    sync_waves: BTreeMap<String, i32>,
    /// Components that get no Application, besides this one and
    /// install-config components (which render no cluster objects).
    #[cfg_attr(test, schemars(extend("uniqueItems" = true)))]
    exclude: Vec<String>,
    /// Namespaces (Argo CD globs such as team-*) every component's project
    /// may deploy to, besides its own: those its kinds are declared for or,
    /// where its plugin declares any namespace, those its config names (the
    /// built-in plugins' namespace settings or their defaults, a custom
    /// component's config.namespace). ["*"] allows every namespace.
    #[cfg_attr(
        test,
        schemars(inner(length(min = 1, max = 63)), extend("uniqueItems" = true))
    )]
    destination_namespaces: Vec<String>,
    /// Cluster-scoped kinds every component's project may create besides
    /// those the component may emit (its plugin's declared kinds, narrowed by
    /// the catalog's allow), for files kept by hand in a component's folder
    /// (group "" is the core group, "*" any). Default none: each project
    /// allows exactly its component's kinds.
    cluster_resource_whitelist: Vec<GroupKind>,
    /// Namespaced kinds every component's project may create besides those
    /// the component may emit, as for clusterResourceWhitelist. Default none.
    namespace_resource_whitelist: Vec<GroupKind>,
    /// Argo CD RBAC roles of the project.
    roles: Vec<ProjectRole>,
    /// Argo CD Applications for Helm charts and folders of other
    /// repositories, each in an AppProject of its own (<project>-<name>)
    /// that allows only its repoURL, its namespace and the cluster-scoped
    /// kinds it lists.
    applications: Vec<RepoApplication>,
    /// What an application's targetRevision that floats (*, latest, HEAD, a
    /// range, a chart version that is not exact) is: warn or error.
    floating_revisions: FloatingRevisions,
    /// A name (an RFC 1123 subdomain): that of the ArgoCD custom resource of
    /// the instance, in namespace; OpenShift GitOps names its default
    /// instance openshift-gitops. Its API server's Service is
    /// <instance>-server.
    #[cfg_attr(test, schemars(regex(pattern = NAME_PATTERN), length(max = 253)))]
    instance: String,
    /// Health checks Argo CD does not have built in, for kinds the catalog's
    /// components emit, set as spec.resourceHealthChecks of the instance's
    /// ArgoCD resource (the operator owns argocd-cm).
    health_checks: HealthChecks,
}

/// Which health checks the ArgoCD resource carries.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct HealthChecks {
    /// Render the instance's ArgoCD resource with spec.resourceHealthChecks
    /// (applied server-side, so only that list is set; never pruned or
    /// deleted): checks for triggers.tekton.dev/EventListener and
    /// operator.tekton.dev/TektonConfig when a component emits them. It
    /// replaces any resourceHealthChecks set by hand.
    enabled: bool,
    /// Also a check for argoproj.io/Application, so that the root
    /// Application waits for each sync wave's Applications to be healthy
    /// before it syncs the next. Then a degraded component (a missing
    /// credential, a failing Deployment) stops every later wave until it
    /// is fixed.
    applications: bool,
}

impl Default for HealthChecks {
    fn default() -> Self {
        HealthChecks {
            enabled: true,
            applications: false,
        }
    }
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
            cluster_resource_whitelist: Vec::new(),
            namespace_resource_whitelist: Vec::new(),
            roles: Vec::new(),
            applications: Vec::new(),
            floating_revisions: FloatingRevisions::Warn,
            instance: DEFAULT_NAMESPACE.to_owned(),
            health_checks: HealthChecks::default(),
        }
    }
}

/// A kind, by API group and kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields)]
struct GroupKind {
    /// API group, "" for core, "*" for any.
    group: String,
    /// Kind, "*" for any.
    #[cfg_attr(test, schemars(length(min = 1)))]
    kind: String,
}

/// An Argo CD project role.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields)]
struct ProjectRole {
    /// A role name (letters, digits, '-' and '_'); policies name it as
    /// proj:<project>:<name>.
    #[cfg_attr(
        test,
        schemars(regex(pattern = "^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$"))
    )]
    name: String,
    /// What the role is for.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(with = "String", skip_serializing_if = "Option::is_none")
    )]
    description: Option<String>,
    /// Casbin rules: p, proj:<project>:<role>, <resource>, <action>,
    /// <project>/<object>, allow|deny.
    #[serde(default)]
    policies: Vec<String>,
    /// SSO groups bound to the role.
    #[serde(default)]
    groups: Vec<String>,
}

/// RFC 1123 labels: namespaces.
#[cfg(test)]
const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// Names of Kubernetes objects: RFC 1123 subdomains.
#[cfg(test)]
const NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// The JSON Schema of [`Config`], generated from it (see the test
/// `config_schema_is_generated_from_config`).
fn config_schema() -> Value {
    serde_json::from_str(include_str!("config.schema.json")).expect("config.schema.json is JSON")
}

/// The plugin; public so that native builds (tests, the host's tooling) can
/// call it as `opsmith_plugin_sdk::testing::render::<ArgoCd>`.
pub struct ArgoCd;

impl Plugin for ArgoCd {
    fn describe() -> Info {
        Info::new("argocd", env!("CARGO_PKG_VERSION"))
            .description("Argo CD AppProjects, the app-of-apps root Application, one Application per component and one per configured chart or repository")
            .config_schema(config_schema())
            // The namespace comes from config, so `*`; `openshift-gitops` is
            // listed as the default for readers of `opsmith plugin inspect`.
            .emits("argoproj.io/v1alpha1", "AppProject", &[DEFAULT_NAMESPACE, "*"])
            .emits("argoproj.io/v1alpha1", "Application", &[DEFAULT_NAMESPACE, "*"])
            .emits("argoproj.io/v1beta1", "ArgoCD", &[DEFAULT_NAMESPACE, "*"])
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
            children.push(Child {
                project: child_project(&project, index, component)?,
                path: component_path(index, component)?,
                kinds: component_kinds(index, component)?,
                index,
                component,
                wave,
            });
        }

        // Application names are unique in the Argo CD namespace.
        let mut taken: BTreeMap<&str, String> = BTreeMap::new();
        taken.insert(&root_name, "the root Application".to_owned());
        for child in &children {
            taken.insert(
                &child.component.name,
                format!("component {}'s Application", child.component.name),
            );
        }
        let apps = applications::plan(&config, &project, &taken, &mut out)?;

        // The projects sync before every Application that refers to them.
        let project_wave = children
            .iter()
            .map(|c| c.wave)
            .chain(apps.iter().map(|a| a.wave))
            .fold(0, i32::min)
            - 1;
        let project_object = |name: &str, description: String, fence: Fence<'_>| {
            app_project(
                &config,
                ProjectSpec {
                    name,
                    site_project: &project,
                    description,
                    repo_url: &gitops.repo_url,
                    wave: project_wave,
                },
                fence,
            )
        };
        // The root's own objects, the projects and Applications, all live in
        // the Argo CD namespace; the config's extensions are for components.
        let root_kinds = component_kinds(this_index, this)?;
        out.object(project_object(
            &project,
            format!("The app-of-apps root of site {site}, rendered by opsmith"),
            Fence {
                kinds: &root_kinds,
                namespaces: BTreeSet::from([config.namespace.as_str()]),
                extended: false,
            },
        ));
        for child in &children {
            let namespaces = child_namespaces(input, &config, child, &mut out);
            out.object(project_object(
                &child.project,
                format!(
                    "Component {} of site {site}, rendered by opsmith",
                    child.component.name
                ),
                Fence {
                    kinds: &child.kinds,
                    namespaces,
                    extended: true,
                },
            ));
        }

        if config.health_checks.enabled {
            let emitted: BTreeSet<(String, String)> = children
                .iter()
                .flat_map(|c| c.kinds.iter())
                .map(|k| (k.group().to_owned(), k.kind.clone()))
                .collect();
            let checks =
                health::resource_health_checks(&emitted, config.health_checks.applications);
            if !checks.is_empty() {
                out.object(argocd_instance(&config, checks, project_wave));
            }
        }

        for app in &apps {
            let (namespaced, namespaced_denied) = app.namespaced_kinds();
            out.object(project_with(
                &config,
                ProjectSpec {
                    name: &app.project,
                    site_project: &project,
                    description: format!(
                        "Application {} of site {site}, rendered by opsmith",
                        app.name()
                    ),
                    repo_url: app.repo_url(),
                    wave: project_wave,
                },
                // Its Application names the namespace: no "" destination.
                destinations(BTreeSet::from([app.namespace()]), false),
                KindLists {
                    cluster: app.cluster_kinds(),
                    namespaced,
                    namespaced_denied,
                },
            ));
            out.object(app.application(&config, sync_policy(&config)));
        }

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
        // (removed from the defaults in Argo CD 1.8; healthChecks.applications).
        for Child {
            component,
            path,
            wave,
            project,
            ..
        } in &children
        {
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

/// The instance's ArgoCD resource, with only the fields opsmith sets: the
/// Applications apply server-side, so the operator's and the user's other
/// fields stay as they are. Argo CD never prunes or deletes it, since that
/// would remove the instance itself (argo-cd docs/user-guide/sync-options.md).
fn argocd_instance(config: &Config, checks: Vec<Value>, wave: i32) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1beta1",
        "kind": "ArgoCD",
        "metadata": {
            "name": config.instance,
            "namespace": config.namespace,
            "annotations": {
                SYNC_WAVE: wave.to_string(),
                "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
            },
        },
        "spec": {
            "resourceHealthChecks": checks,
        },
    })
}

/// Whether `component` gets a child Application: enabled, not this argocd
/// component (the root Application covers it), applied by the site's own
/// cluster (not the hub), able to emit objects (a plugin that writes only
/// day-0 files, such as install-config, declares none), not excluded.
fn gets_application(component: &Component, this: &str, config: &Config) -> bool {
    let day0_only = component.emits.as_ref().is_some_and(Vec::is_empty);
    component.enabled
        && component.name != this
        && component.cluster.is_site()
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

/// A component that gets a child Application, in a project of its own.
struct Child<'a> {
    index: usize,
    component: &'a Component,
    path: String,
    wave: i32,
    project: String,
    kinds: Vec<Emit>,
}

/// The name of `component`'s project: the site's project and its name.
fn child_project(project: &str, index: usize, component: &Component) -> Result<String, Error> {
    let name = format!("{project}-{}", component.name);
    if name.len() > 253 {
        return Err(Error::at(
            &format!("/catalog/spec/components/{index}/name"),
            format!(
                "the AppProject name {name} is longer than 253 characters; set a shorter config.project"
            ),
        ));
    }
    Ok(name)
}

/// The kinds `component` may emit, which opsmith fills in.
fn component_kinds(index: usize, component: &Component) -> Result<Vec<Emit>, Error> {
    component.emits.clone().ok_or_else(|| {
        Error::at(
            &format!("/catalog/spec/components/{index}"),
            format!(
                "component {} carries no emits (the kinds it may emit); opsmith fills them in, so this plugin needs a newer opsmith",
                component.name
            ),
        )
    })
}

/// What one AppProject allows: kinds (cluster-scoped ones have no
/// namespaces) and destination namespaces; `extended` adds the config's
/// whitelists and destinationNamespaces.
struct Fence<'a> {
    kinds: &'a [Emit],
    namespaces: BTreeSet<&'a str>,
    extended: bool,
}

/// The rest of an AppProject.
struct ProjectSpec<'a> {
    name: &'a str,
    /// The project the config's roles name.
    site_project: &'a str,
    description: String,
    repo_url: &'a str,
    wave: i32,
}

fn app_project(config: &Config, spec: ProjectSpec<'_>, fence: Fence<'_>) -> Value {
    let whitelist = |cluster_scoped: bool, extra: &[GroupKind]| -> Vec<Value> {
        let declared = fence
            .kinds
            .iter()
            .filter(|k| k.is_cluster_scoped() == cluster_scoped)
            .map(|k| GroupKind {
                group: k.group().to_owned(),
                kind: k.kind.clone(),
            });
        let extra = extra.iter().filter(|_| fence.extended).cloned();
        let set: BTreeSet<GroupKind> = declared.chain(extra).collect();
        set.into_iter()
            .map(|gk| json!({ "group": gk.group, "kind": gk.kind }))
            .collect()
    };
    let mut namespaces = fence.namespaces;
    if fence.extended {
        namespaces.extend(config.destination_namespaces.iter().map(String::as_str));
    }
    project_with(
        config,
        spec,
        destinations(namespaces, fence.extended),
        KindLists {
            cluster: whitelist(true, &config.cluster_resource_whitelist),
            namespaced: whitelist(false, &config.namespace_resource_whitelist),
            namespaced_denied: Vec::new(),
        },
    )
}

/// The kinds an AppProject allows, as Argo CD writes them, and namespaced
/// kinds it denies even so.
struct KindLists {
    cluster: Vec<Value>,
    namespaced: Vec<Value>,
    namespaced_denied: Vec<Value>,
}

fn project_with(
    config: &Config,
    spec: ProjectSpec<'_>,
    destinations: Vec<Value>,
    kinds: KindLists,
) -> Value {
    let mut object = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {
            "name": spec.name,
            "namespace": config.namespace,
            // Argo CD keeps the project until no Application uses it.
            "finalizers": [RESOURCES_FINALIZER],
            "annotations": {
                SYNC_WAVE: spec.wave.to_string(),
            },
        },
        "spec": {
            "description": spec.description,
            // One repository: the reviewed GitOps repository, or an
            // application's own.
            "sourceRepos": [spec.repo_url],
            "destinations": destinations,
        },
    });
    let lists = [
        (
            kinds.cluster,
            Vec::new(),
            "clusterResourceWhitelist",
            "clusterResourceBlacklist",
        ),
        (
            kinds.namespaced,
            kinds.namespaced_denied,
            "namespaceResourceWhitelist",
            "namespaceResourceBlacklist",
        ),
    ];
    for (kinds, also_denied, allowed, denied) in lists {
        // Argo CD reads a missing namespaceResourceWhitelist as "any kind",
        // and older releases an empty clusterResourceWhitelist too: nothing
        // allowed is said as everything denied.
        if kinds.is_empty() {
            object["spec"][denied] = json!([{ "group": "*", "kind": "*" }]);
        } else {
            object["spec"][allowed] = Value::Array(kinds);
            if !also_denied.is_empty() {
                object["spec"][denied] = Value::Array(also_denied);
            }
        }
    }
    if !config.roles.is_empty() {
        object["spec"]["roles"] = config
            .roles
            .iter()
            .map(|r| role(r, spec.site_project, spec.name))
            .collect();
    }
    object
}

/// A role of the config, in project `project`: its policies name the site's
/// project (`check_roles` made sure), which becomes `project`.
fn role(role: &ProjectRole, site_project: &str, project: &str) -> Value {
    let policies: Vec<String> = if project == site_project {
        role.policies.clone()
    } else {
        role.policies
            .iter()
            .map(|policy| {
                let mut parts: Vec<String> =
                    policy.split(',').map(|p| p.trim().to_owned()).collect();
                if let [_, subject, _, _, object, _] = parts.as_mut_slice() {
                    *subject = format!("proj:{project}:{}", role.name);
                    if let Some(rest) = object.strip_prefix(&format!("{site_project}/")) {
                        *object = format!("{project}/{rest}");
                    }
                }
                parts.join(", ")
            })
            .collect()
    };
    let mut value = json!({
        "name": role.name,
        "policies": policies,
        "groups": role.groups,
    });
    if let Some(description) = &role.description {
        value["description"] = json!(description);
    }
    value
}

/// The namespaces a child's project may deploy to: those its namespaced kinds
/// are declared for; where a kind may go to any namespace (`*`), those the
/// component's config names, as far as opsmith can tell. Argo CD refuses to
/// sync an object into any other namespace, so a component that deploys
/// elsewhere needs its namespace in `destinationNamespaces`; a note says
/// which components opsmith cannot see into.
fn child_namespaces<'a>(
    input: &'a Input,
    config: &Config,
    child: &'a Child<'a>,
    out: &mut Output,
) -> BTreeSet<&'a str> {
    let declared: BTreeSet<&str> = child
        .kinds
        .iter()
        .flat_map(|k| k.namespaces.iter().map(String::as_str))
        .collect();
    if !declared.contains("*") {
        return declared;
    }
    match component_namespaces(input, child.component) {
        Some(found) => found.into_iter().collect(),
        None => {
            if !config.destination_namespaces.iter().any(|n| n == "*") {
                out.diagnostics.push(Diagnostic {
                    severity: Severity::Info,
                    message: format!(
                        "the config of component {} names no namespace: list the namespaces it deploys to \
                         in destinationNamespaces of the argocd component, or Argo CD refuses to sync there",
                        child.component.name
                    ),
                    pointer: format!("/catalog/spec/components/{}", child.index),
                    location: None,
                });
            }
            BTreeSet::new()
        }
    }
}

/// The namespaces `component` deploys to, or `None` when its config does not say.
fn component_namespaces<'a>(input: &'a Input, component: &'a Component) -> Option<Vec<&'a str>> {
    let setting = |component: &'a Component, key: &str| {
        component
            .config
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(Value::as_str)
    };
    let builtin = component.plugin.builtin_name();
    if let Some(known) = BUILTIN_NAMESPACES
        .iter()
        .find(|b| Some(b.plugin) == builtin)
    {
        let mut found: Vec<&str> = known
            .settings
            .iter()
            .map(|(key, default)| setting(component, key).unwrap_or(default))
            .collect();
        found.extend(known.fixed);
        for (plugin, key, default) in known.of_components {
            if let Some(other) = input.catalog.builtin_component(plugin) {
                found.push(setting(other, key).unwrap_or(default));
            }
        }
        return Some(found);
    }
    setting(component, "namespace").map(|namespace| vec![namespace])
}

/// A project's destinations: the in-cluster server with each namespace; for
/// a child project also `""`, the namespace of its Application's own
/// destination.
fn destinations(namespaces: BTreeSet<&str>, child: bool) -> Vec<Value> {
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
    if child {
        destinations.push(json!({ "namespace": "", "server": IN_CLUSTER }));
    }
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

    /// A kind as opsmith lists it in a component's `emits`.
    fn kind(api_version: &str, kind: &str, namespaces: &[&str]) -> Value {
        json!({ "apiVersion": api_version, "kind": kind, "namespaces": namespaces })
    }

    /// Ten components: nine built-in (one disabled, one the hub's) and one custom, with
    /// `path` and `emits` filled in as opsmith does (a subset of what the
    /// built-in plugins declare).
    fn catalog(argocd_config: Value) -> String {
        let components = json!([
            {
                "name": "namespaces",
                "plugin": "builtin:namespaces",
                "config": { "namespaces": [{ "name": "prow" }, { "name": "test-pods" }] },
                "emits": [kind("v1", "Namespace", &[])],
            },
            {
                "name": "baremetal-hosts",
                "plugin": "builtin:metal3",
                "emits": [
                    kind("metal3.io/v1alpha1", "BareMetalHost", &["openshift-machine-api", "*"]),
                    kind("external-secrets.io/v1", "ExternalSecret", &["openshift-machine-api", "*"]),
                ],
            },
            { "name": "install-config", "plugin": "builtin:install-config", "emits": [] },
            {
                "name": "argocd",
                "plugin": "builtin:argocd",
                "config": argocd_config,
                "emits": [
                    kind("argoproj.io/v1alpha1", "AppProject", &["openshift-gitops", "*"]),
                    kind("argoproj.io/v1alpha1", "Application", &["openshift-gitops", "*"]),
                ],
            },
            {
                "name": "github-app",
                "plugin": "builtin:github-app",
                "emits": [kind("external-secrets.io/v1", "ExternalSecret", &["*"])],
            },
            { "name": "tekton", "plugin": "builtin:tekton", "enabled": false },
            {
                "name": "prow",
                "plugin": "builtin:prow",
                "config": { "namespace": "prow" },
                "emits": [
                    kind("v1", "Namespace", &[]),
                    kind("v1", "ConfigMap", &["prow", "*"]),
                    kind("rbac.authorization.k8s.io/v1", "Role", &["prow", "test-pods", "*"]),
                    kind("apiextensions.k8s.io/v1", "CustomResourceDefinition", &[]),
                ],
            },
            {
                "name": "my-component",
                "plugin": { "path": "plugins/mine.wasm", "sha256": "0".repeat(64) },
                "config": { "namespace": "mine" },
                "emits": [
                    kind("v1", "ConfigMap", &["*"]),
                    kind("rbac.authorization.k8s.io/v1", "ClusterRole", &[]),
                ],
            },
            { "name": "backstage", "plugin": "builtin:backstage", "emits": [] },
            {
                "name": "clusterinstance",
                "plugin": "builtin:clusterinstance",
                "cluster": "hub",
                "path": "clusters/example/hub/clusterinstance",
                "emits": [kind("siteconfig.open-cluster-management.io/v1alpha1", "ClusterInstance", &["*"])],
            },
        ]);
        catalog_with(components.as_array().cloned().unwrap_or_default())
    }

    /// The tekton component enabled, with the kinds its plugin declares.
    fn with_tekton(catalog: &mut Value) {
        catalog["spec"]["components"][5]["enabled"] = json!(true);
        catalog["spec"]["components"][5]["emits"] = json!([
            kind(
                "operators.coreos.com/v1alpha1",
                "Subscription",
                &["openshift-operators"]
            ),
            kind("operator.tekton.dev/v1alpha1", "TektonConfig", &[]),
            kind("tekton.dev/v1", "Pipeline", &["*"]),
        ]);
    }

    fn render_with(config: Value) -> Result<Output, Error> {
        render::<ArgoCd>(
            "argocd",
            EXAMPLE_SITE,
            &catalog(config.clone()),
            &config.to_string(),
        )
    }

    fn find(out: &Output, kind: &str, name: &str) -> Value {
        out.objects()
            .into_iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    fn application_names(out: &Output) -> Vec<String> {
        out.objects()
            .iter()
            .filter(|o| o["kind"] == "Application")
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
            .collect()
    }

    fn namespaces_of(project: &Value) -> Vec<&str> {
        project["spec"]["destinations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["namespace"].as_str())
            .collect()
    }

    /// A project's whitelist (or blacklist) as `group/kind` strings.
    fn group_kinds(project: &Value, list: &str) -> Vec<String> {
        project["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|gk| {
                format!(
                    "{}/{}",
                    gk["group"].as_str().unwrap_or("?"),
                    gk["kind"].as_str().unwrap_or("?")
                )
            })
            .collect()
    }

    fn wave(object: &Value) -> String {
        object["metadata"]["annotations"][SYNC_WAVE]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn renders_project_root_and_one_application_per_component() {
        let out = render_with(json!({})).unwrap();
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        // install-config and backstage are day-0 only (they declare no
        // kinds), tekton is disabled, clusterinstance is the hub's, argocd
        // is the root.
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
        let objects = out.objects();
        let projects: Vec<&str> = objects
            .iter()
            .filter(|o| o["kind"] == "AppProject")
            .filter_map(|o| o["metadata"]["name"].as_str())
            .collect();
        assert_eq!(
            projects,
            [
                "example",
                "example-namespaces",
                "example-baremetal-hosts",
                "example-github-app",
                "example-prow",
                "example-my-component"
            ]
        );
        assert_eq!(out.objects().len(), 12);
        for object in &out.objects() {
            assert_eq!(object["metadata"]["namespace"], "openshift-gitops");
        }

        let root = &find(&out, "Application", "example-root");
        assert_eq!(root["spec"]["project"], "example");
        for name in [
            "namespaces",
            "baremetal-hosts",
            "github-app",
            "prow",
            "my-component",
        ] {
            let child = &find(&out, "Application", name);
            assert_eq!(child["spec"]["project"], format!("example-{name}"));
        }
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

        let prow = &find(&out, "Application", "prow");
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
        let waves: Vec<(&str, String)> = [
            "namespaces",
            "github-app",
            "baremetal-hosts",
            "prow",
            "my-component",
        ]
        .into_iter()
        .map(|name| (name, wave(&find(&out, "Application", name))))
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
            .map(|(name, wave)| (name, wave.to_owned()))
        );
        assert_eq!(wave(&find(&out, "AppProject", "example")), "-3");
        assert_eq!(wave(&find(&out, "AppProject", "example-prow")), "-3");
    }

    #[test]
    fn the_root_project_allows_only_projects_and_applications_in_the_argocd_namespace() {
        let out = render_with(json!({})).unwrap();
        let project = &find(&out, "AppProject", "example");
        assert_eq!(
            project["spec"]["sourceRepos"],
            json!(["https://git.example.org/example/manifests.git"])
        );
        assert_eq!(namespaces_of(project), ["openshift-gitops"]);
        assert_eq!(
            group_kinds(project, "namespaceResourceWhitelist"),
            ["argoproj.io/AppProject", "argoproj.io/Application"]
        );
        assert!(project["spec"].get("clusterResourceWhitelist").is_none());
        assert_eq!(group_kinds(project, "clusterResourceBlacklist"), ["*/*"]);
        assert!(project["spec"].get("roles").is_none());
    }

    #[test]
    fn each_component_project_allows_exactly_its_kinds() {
        let out = render_with(json!({})).unwrap();
        let prow = &find(&out, "AppProject", "example-prow");
        assert_eq!(
            group_kinds(prow, "clusterResourceWhitelist"),
            [
                "/Namespace",
                "apiextensions.k8s.io/CustomResourceDefinition"
            ]
        );
        assert_eq!(
            group_kinds(prow, "namespaceResourceWhitelist"),
            ["/ConfigMap", "rbac.authorization.k8s.io/Role"]
        );
        // prow's namespace setting and its default test-pod namespace; "" for
        // the Application itself.
        assert_eq!(namespaces_of(prow), ["prow", "test-pods", ""]);

        // Cluster-scoped kinds only: no namespaced kind, no namespace.
        let namespaces = &find(&out, "AppProject", "example-namespaces");
        assert_eq!(
            group_kinds(namespaces, "clusterResourceWhitelist"),
            ["/Namespace"]
        );
        assert!(
            namespaces["spec"]
                .get("namespaceResourceWhitelist")
                .is_none()
        );
        assert_eq!(
            group_kinds(namespaces, "namespaceResourceBlacklist"),
            ["*/*"]
        );
        assert_eq!(namespaces_of(namespaces), [""]);

        // Namespaced kinds only.
        let hosts = &find(&out, "AppProject", "example-baremetal-hosts");
        assert!(hosts["spec"].get("clusterResourceWhitelist").is_none());
        assert_eq!(group_kinds(hosts, "clusterResourceBlacklist"), ["*/*"]);
        assert_eq!(
            group_kinds(hosts, "namespaceResourceWhitelist"),
            [
                "external-secrets.io/ExternalSecret",
                "metal3.io/BareMetalHost"
            ]
        );
        assert_eq!(namespaces_of(hosts), ["openshift-machine-api", ""]);

        // The credentials go where prow and Argo CD run (tekton is disabled).
        let app = &find(&out, "AppProject", "example-github-app");
        assert_eq!(namespaces_of(app), ["openshift-gitops", "prow", ""]);

        let mine = &find(&out, "AppProject", "example-my-component");
        assert_eq!(
            group_kinds(mine, "clusterResourceWhitelist"),
            ["rbac.authorization.k8s.io/ClusterRole"]
        );
        assert_eq!(namespaces_of(mine), ["mine", ""]);

        // No project allows every kind.
        for project in out.objects().iter().filter(|o| o["kind"] == "AppProject") {
            for list in ["clusterResourceWhitelist", "namespaceResourceWhitelist"] {
                assert!(
                    group_kinds(project, list)
                        .iter()
                        .all(|gk| !gk.contains('*')),
                    "{project}"
                );
            }
        }
    }

    #[test]
    fn kinds_declared_for_named_namespaces_are_the_destinations() {
        // As when the catalog's `allow` narrows a plugin's `*` to named namespaces.
        let mut catalog: Value = serde_json::from_str(&catalog(json!({}))).unwrap();
        catalog["spec"]["components"][6]["emits"] = json!([
            kind("v1", "ConfigMap", &["prow"]),
            kind("v1", "Secret", &["prow"])
        ]);
        let out = render::<ArgoCd>("argocd", EXAMPLE_SITE, &catalog.to_string(), "{}").unwrap();
        let prow = &find(&out, "AppProject", "example-prow");
        assert_eq!(namespaces_of(prow), ["prow", ""]);
        assert_eq!(
            group_kinds(prow, "namespaceResourceWhitelist"),
            ["/ConfigMap", "/Secret"]
        );
        assert_eq!(group_kinds(prow, "clusterResourceBlacklist"), ["*/*"]);
    }

    #[test]
    fn config_whitelists_extend_every_component_project() {
        let out = render_with(json!({
            "clusterResourceWhitelist": [{ "group": "", "kind": "PersistentVolume" }],
            "namespaceResourceWhitelist": [{ "group": "", "kind": "Secret" }],
        }))
        .unwrap();
        let namespaces = &find(&out, "AppProject", "example-namespaces");
        assert_eq!(
            group_kinds(namespaces, "clusterResourceWhitelist"),
            ["/Namespace", "/PersistentVolume"]
        );
        assert_eq!(
            group_kinds(namespaces, "namespaceResourceWhitelist"),
            ["/Secret"]
        );
        assert!(
            namespaces["spec"]
                .get("namespaceResourceBlacklist")
                .is_none()
        );
        // Not the root's: it holds only what this plugin renders.
        let root = &find(&out, "AppProject", "example");
        assert_eq!(group_kinds(root, "clusterResourceBlacklist"), ["*/*"]);
    }

    #[test]
    fn needs_the_kinds_opsmith_fills_in() {
        for index in [3, 6] {
            let mut catalog: Value = serde_json::from_str(&catalog(json!({}))).unwrap();
            catalog["spec"]["components"][index]
                .as_object_mut()
                .unwrap()
                .remove("emits");
            let err =
                render::<ArgoCd>("argocd", EXAMPLE_SITE, &catalog.to_string(), "{}").unwrap_err();
            assert_eq!(err.pointer, format!("/catalog/spec/components/{index}"));
            assert!(err.message.contains("emits"), "{err}");
        }
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
        let prow = &find(&out, "Application", "prow");
        assert_eq!(prow["metadata"]["namespace"], "argocd");
        assert_eq!(prow["spec"]["project"], "infra-prow");
        assert_eq!(wave(prow), "3");
        assert_eq!(
            prow["spec"]["syncPolicy"],
            json!({ "syncOptions": SYNC_OPTIONS })
        );
        assert_eq!(wave(&find(&out, "Application", "my-component")), "-5");

        let project = &find(&out, "AppProject", "infra");
        assert_eq!(wave(project), "-6");
        assert_eq!(
            project["spec"]["destinations"],
            json!([{ "namespace": "argocd", "server": IN_CLUSTER }])
        );
        assert_eq!(project["spec"]["roles"][0]["name"], "ci");
        assert_eq!(project["spec"]["roles"][0]["groups"], json!(["sre"]));
        assert_eq!(
            project["spec"]["roles"][0]["policies"],
            json!(["p, proj:infra:ci, applications, sync, infra/*, allow"])
        );

        // Each component's project has the role, for its own Application.
        let prow_project = &find(&out, "AppProject", "infra-prow");
        assert_eq!(
            prow_project["spec"]["destinations"],
            json!([{ "namespace": "*", "server": IN_CLUSTER }])
        );
        assert_eq!(prow_project["spec"]["roles"][0]["groups"], json!(["sre"]));
        assert_eq!(
            prow_project["spec"]["roles"][0]["policies"],
            json!(["p, proj:infra-prow:ci, applications, sync, infra-prow/*, allow"])
        );
    }

    #[test]
    fn builtin_defaults_and_settings_become_destinations() {
        let mut catalog: Value = serde_json::from_str(&catalog(json!({}))).unwrap();
        with_tekton(&mut catalog);
        catalog["spec"]["components"][6]["config"] = json!({ "testPodNamespace": "jobs" });
        let out = render::<ArgoCd>("argocd", EXAMPLE_SITE, &catalog.to_string(), "{}").unwrap();
        let namespaces = |project| -> Vec<String> {
            namespaces_of(&find(&out, "AppProject", project))
                .into_iter()
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(
            namespaces("example-tekton"),
            ["ci", "openshift-operators", ""]
        );
        assert_eq!(namespaces("example-prow"), ["jobs", "prow", ""]);
        assert_eq!(
            namespaces("example-github-app"),
            ["ci", "openshift-gitops", "prow", ""]
        );
        let tekton = &find(&out, "AppProject", "example-tekton");
        assert_eq!(
            group_kinds(tekton, "clusterResourceWhitelist"),
            ["operator.tekton.dev/TektonConfig"]
        );
        assert_eq!(
            group_kinds(tekton, "namespaceResourceWhitelist"),
            ["operators.coreos.com/Subscription", "tekton.dev/Pipeline"]
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
        let root = &find(&out, "Application", "example-root");
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
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_schema_file(
            &schemars::schema_for!(Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
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

    /// A Helm chart with values, as a catalog would give it.
    /// The catalog with tekton enabled and emitting an EventListener, as
    /// its plugin declares.
    fn catalog_with_listener(argocd_config: &Value) -> String {
        let mut catalog: Value = serde_json::from_str(&catalog(argocd_config.clone())).unwrap();
        with_tekton(&mut catalog);
        catalog["spec"]["components"][5]["emits"]
            .as_array_mut()
            .unwrap()
            .push(kind("triggers.tekton.dev/v1beta1", "EventListener", &["*"]));
        catalog.to_string()
    }

    fn checks(out: &Output) -> Vec<(String, String)> {
        find(out, "ArgoCD", "openshift-gitops")["spec"]["resourceHealthChecks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["group"].as_str().unwrap().to_owned(),
                    c["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn health_checks_for_the_emitted_kinds_argo_cd_lacks_go_on_the_argocd_resource() {
        let out = render::<ArgoCd>(
            "argocd",
            EXAMPLE_SITE,
            &catalog_with_listener(&json!({})),
            "{}",
        )
        .unwrap();
        let (event_listener, tekton_config) = (health::SCRIPTS[0].1, health::SCRIPTS[1].1);
        assert_eq!(
            find(&out, "ArgoCD", "openshift-gitops"),
            json!({
                "apiVersion": "argoproj.io/v1beta1",
                "kind": "ArgoCD",
                "metadata": {
                    "name": "openshift-gitops",
                    "namespace": "openshift-gitops",
                    "annotations": {
                        "argocd.argoproj.io/sync-wave": "-3",
                        "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
                    },
                },
                "spec": {
                    "resourceHealthChecks": [
                        { "group": "triggers.tekton.dev", "kind": "EventListener", "check": event_listener },
                        { "group": "operator.tekton.dev", "kind": "TektonConfig", "check": tekton_config },
                    ],
                },
            })
        );

        // Another instance, and Applications too.
        let config = json!({
            "namespace": "gitops",
            "instance": "infra",
            "healthChecks": { "applications": true },
        });
        let out = render::<ArgoCd>(
            "argocd",
            EXAMPLE_SITE,
            &catalog_with_listener(&config),
            &config.to_string(),
        )
        .unwrap();
        let instance = find(&out, "ArgoCD", "infra");
        assert_eq!(instance["metadata"]["namespace"], "gitops");
        assert_eq!(
            instance["spec"]["resourceHealthChecks"][2]["group"],
            "argoproj.io"
        );
        assert_eq!(
            instance["spec"]["resourceHealthChecks"][2]["kind"],
            "Application"
        );
    }

    #[test]
    fn no_argocd_resource_without_a_check_to_set() {
        // Tekton is disabled in the default catalog: nothing emits a kind
        // that lacks a built-in check.
        let out = render_with(json!({})).unwrap();
        assert!(!out.objects().iter().any(|o| o["kind"] == "ArgoCD"));

        let out = render_with(json!({ "healthChecks": { "applications": true } })).unwrap();
        assert_eq!(
            checks(&out),
            [("argoproj.io".to_owned(), "Application".to_owned())]
        );

        let config = json!({ "healthChecks": { "enabled": false, "applications": true } });
        let out = render::<ArgoCd>(
            "argocd",
            EXAMPLE_SITE,
            &catalog_with_listener(&config),
            &config.to_string(),
        )
        .unwrap();
        assert!(!out.objects().iter().any(|o| o["kind"] == "ArgoCD"));
    }

    /// Writes each health check's Lua into `$OPSMITH_DUMP_DIR`, for running
    /// them against sample objects by hand (they need a Lua interpreter):
    /// `OPSMITH_DUMP_DIR=/tmp/health cargo test -p opsmith-plugin-argocd -- --ignored`.
    #[test]
    #[ignore = "writes files; run by hand"]
    fn dump_health_checks() {
        let Some(dir) = std::env::var_os("OPSMITH_DUMP_DIR") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (kind, script) in health::SCRIPTS {
            std::fs::write(dir.join(format!("{kind}.lua")), script).unwrap();
        }
        let out = render::<ArgoCd>(
            "argocd",
            EXAMPLE_SITE,
            &catalog_with_listener(&json!({})),
            "{}",
        )
        .unwrap();
        std::fs::write(
            dir.join("argocd.json"),
            serde_json::to_string_pretty(&find(&out, "ArgoCD", "openshift-gitops")).unwrap(),
        )
        .unwrap();
    }

    fn cert_manager() -> Value {
        json!({
            "name": "cert-manager",
            "repoURL": "https://charts.jetstack.io",
            "chart": "cert-manager",
            "targetRevision": "v1.15.3",
            "namespace": "cert-manager",
            "values": { "crds": { "enabled": true }, "replicaCount": 2 },
            "syncWave": 1,
            "syncOptions": ["CreateNamespace=true"],
            "clusterResourceWhitelist": [
                { "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition" },
                { "group": "rbac.authorization.k8s.io", "kind": "ClusterRole" },
                { "group": "rbac.authorization.k8s.io", "kind": "ClusterRole" },
            ],
        })
    }

    /// Renders with `config`, which the config schema must accept: what the
    /// host checks before the plugin runs.
    fn render_valid(config: Value) -> Output {
        let schema = config_schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&config)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        render_with(config).unwrap()
    }

    fn application_error(application: Value) -> Error {
        render_with(json!({ "applications": [application] })).unwrap_err()
    }

    /// `cert_manager()` with `changes` merged in (`null` removes a field).
    fn cert_manager_with(changes: Value) -> Value {
        let mut app = cert_manager();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                app.as_object_mut().unwrap().remove(key);
            } else {
                app[key] = value.clone();
            }
        }
        app
    }

    #[test]
    fn renders_a_helm_chart_application_in_a_project_of_its_own() {
        let out = render_valid(json!({ "applications": [cert_manager()] }));
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert_eq!(
            find(&out, "Application", "cert-manager"),
            json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {
                    "name": "cert-manager",
                    "namespace": "openshift-gitops",
                    "finalizers": [RESOURCES_FINALIZER],
                    "annotations": { SYNC_WAVE: "1" },
                },
                "spec": {
                    "project": "example-cert-manager",
                    "source": {
                        "repoURL": "https://charts.jetstack.io",
                        "chart": "cert-manager",
                        "targetRevision": "v1.15.3",
                        "helm": {
                            "valuesObject": { "crds": { "enabled": true }, "replicaCount": 2 },
                        },
                    },
                    "destination": { "server": IN_CLUSTER, "namespace": "cert-manager" },
                    "syncPolicy": {
                        "automated": { "prune": true, "selfHeal": true },
                        "retry": {
                            "limit": 5,
                            "backoff": { "duration": "10s", "factor": 2, "maxDuration": "3m" },
                        },
                        "syncOptions": [
                            "ApplyOutOfSyncOnly=true",
                            "CreateNamespace=true",
                            "PruneLast=true",
                            "ServerSideApply=true",
                        ],
                    },
                },
            })
        );
        assert_eq!(
            find(&out, "AppProject", "example-cert-manager"),
            json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AppProject",
                "metadata": {
                    "name": "example-cert-manager",
                    "namespace": "openshift-gitops",
                    "finalizers": [RESOURCES_FINALIZER],
                    "annotations": { SYNC_WAVE: "-3" },
                },
                "spec": {
                    "description": "Application cert-manager of site example, rendered by opsmith",
                    "sourceRepos": ["https://charts.jetstack.io"],
                    "destinations": [{ "namespace": "cert-manager", "server": IN_CLUSTER }],
                    // Sorted, once each; its own Namespace by name.
                    "clusterResourceWhitelist": [
                        { "group": "", "kind": "Namespace", "name": "cert-manager" },
                        { "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition" },
                        { "group": "rbac.authorization.k8s.io", "kind": "ClusterRole" },
                    ],
                    "namespaceResourceWhitelist": [{ "group": "*", "kind": "*" }],
                    "namespaceResourceBlacklist": [{ "group": "argoproj.io", "kind": "*" }],
                },
            })
        );
        // Nothing else changes: the site's project keeps only the GitOps
        // repository and the Argo CD namespace.
        let plain = render_with(json!({})).unwrap();
        assert_eq!(out.objects().len(), plain.objects().len() + 2);
        for object in plain.objects() {
            let name = object["metadata"]["name"].as_str().unwrap();
            let kind = object["kind"].as_str().unwrap();
            assert_eq!(find(&out, kind, name), object, "{kind} {name}");
        }
    }

    #[test]
    fn renders_a_folder_of_another_repository_and_either_spelling_of_values() {
        let app = json!({
            "name": "monitoring",
            "repoURL": "git@git.example.org:example/monitoring.git",
            "path": "deploy/helm",
            "targetRevision": "0123456789abcdef0123456789abcdef01234567",
            "namespace": "monitoring",
            "releaseName": "mon",
            "valuesObject": { "retention": "7d" },
            "syncOptions": ["ServerSideApply=false", "PrunePropagationPolicy=background"],
            "namespaceResourceWhitelist": [
                { "group": "apps", "kind": "Deployment" },
                { "group": "", "kind": "ConfigMap" },
            ],
        });
        let out = render_valid(
            json!({ "applications": [app.clone()], "automated": false, "retryLimit": 0 }),
        );
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let application = find(&out, "Application", "monitoring");
        assert_eq!(
            application["spec"],
            json!({
                "project": "example-monitoring",
                "source": {
                    "repoURL": "git@git.example.org:example/monitoring.git",
                    "path": "deploy/helm",
                    "targetRevision": "0123456789abcdef0123456789abcdef01234567",
                    "helm": { "releaseName": "mon", "valuesObject": { "retention": "7d" } },
                },
                "destination": { "server": IN_CLUSTER, "namespace": "monitoring" },
                // The entry's options replace the defaults of the same key.
                "syncPolicy": {
                    "syncOptions": [
                        "ApplyOutOfSyncOnly=true",
                        "PruneLast=true",
                        "PrunePropagationPolicy=background",
                        "ServerSideApply=false",
                    ],
                },
            })
        );
        assert_eq!(wave(&application), "5");
        let project = find(&out, "AppProject", "example-monitoring");
        assert_eq!(
            project["spec"],
            json!({
                "description": "Application monitoring of site example, rendered by opsmith",
                "sourceRepos": ["git@git.example.org:example/monitoring.git"],
                "destinations": [{ "namespace": "monitoring", "server": IN_CLUSTER }],
                "clusterResourceBlacklist": [{ "group": "*", "kind": "*" }],
                "namespaceResourceWhitelist": [
                    { "group": "", "kind": "ConfigMap" },
                    { "group": "apps", "kind": "Deployment" },
                ],
                "namespaceResourceBlacklist": [{ "group": "argoproj.io", "kind": "*" }],
            })
        );

        // `values` is the same field.
        let mut spelled = app.clone();
        let values = spelled
            .as_object_mut()
            .unwrap()
            .remove("valuesObject")
            .unwrap();
        spelled["values"] = values;
        let again =
            render_valid(json!({ "applications": [spelled], "automated": false, "retryLimit": 0 }));
        assert_eq!(find(&again, "Application", "monitoring"), application);
    }

    #[test]
    fn applications_are_sorted_and_share_the_projects_wave() {
        let out = render_valid(json!({
            "applications": [
                cert_manager_with(json!({ "name": "zeta", "syncWave": -7 })),
                cert_manager_with(json!({ "name": "alpha" })),
            ],
        }));
        let names: Vec<String> = application_names(&out)
            .into_iter()
            .filter(|n| n == "alpha" || n == "zeta")
            .collect();
        assert_eq!(names, ["alpha", "zeta"]);
        // Every project syncs before the earliest Application.
        for project in out.objects().iter().filter(|o| o["kind"] == "AppProject") {
            assert_eq!(wave(project), "-8", "{project}");
        }
    }

    #[test]
    fn warns_about_a_floating_revision() {
        for (app, why) in [
            (
                cert_manager_with(json!({ "targetRevision": "1.2.*" })),
                "a version range",
            ),
            (
                cert_manager_with(json!({ "targetRevision": "latest" })),
                "the newest version or commit",
            ),
            (
                cert_manager_with(json!({ "targetRevision": "" })),
                "empty: the default branch or the newest version",
            ),
            (
                cert_manager_with(json!({ "targetRevision": "stable" })),
                "not an exact chart version",
            ),
        ] {
            let revision = app["targetRevision"].as_str().unwrap().to_owned();
            let out = render_valid(json!({ "applications": [app] }));
            assert_eq!(
                out.diagnostics,
                [Diagnostic {
                    severity: Severity::Warning,
                    message: format!(
                        "targetRevision `{revision}` floats ({why}): Argo CD deploys whatever it resolves to \
                         when it syncs, so the same commit can deploy different code; pin the chart's version, such as 1.2.3"
                    ),
                    pointer: "/config/applications/0/targetRevision".to_owned(),
                    location: None,
                }]
            );
            // Still rendered, as written.
            let application = find(&out, "Application", "cert-manager");
            assert_eq!(
                application["spec"]["source"]["targetRevision"],
                revision.as_str()
            );
        }
    }

    #[test]
    fn a_floating_revision_is_an_error_when_the_config_says_so() {
        let config = json!({
            "floatingRevisions": "error",
            "applications": [
                cert_manager(),
                {
                    "name": "tools",
                    "repoURL": "https://github.com/example/tools.git",
                    "path": "manifests",
                    "targetRevision": "HEAD",
                    "namespace": "tools",
                },
            ],
        });
        let err = render_with(config.clone()).unwrap_err();
        assert_eq!(
            err,
            Error::at(
                "/config/applications/1/targetRevision",
                "targetRevision `HEAD` floats (the newest version or commit): Argo CD deploys whatever it \
                 resolves to when it syncs, so the same commit can deploy different code; pin a tag or a commit"
            )
        );
        // The schema knows the setting.
        let validator = jsonschema::validator_for(&config_schema()).unwrap();
        assert!(validator.is_valid(&config));
        assert!(!validator.is_valid(&json!({ "floatingRevisions": "fail" })));
        // Pinned revisions pass.
        let mut pinned = config;
        pinned["applications"][1]["targetRevision"] = json!("v2.0.1");
        assert!(render_valid(pinned).diagnostics.is_empty());
    }

    #[test]
    fn refuses_chart_and_path_together_or_neither() {
        let err = application_error(cert_manager_with(json!({ "path": "charts/cert-manager" })));
        assert_eq!(
            err,
            Error::at(
                "/config/applications/0/path",
                "give chart (a chart of a Helm chart repository) or path (a folder of a repository), not both"
            )
        );
        let err = application_error(cert_manager_with(json!({ "chart": null })));
        assert_eq!(err.pointer, "/config/applications/0");
        assert!(err.message.starts_with("missing chart or path"), "{err}");
    }

    #[test]
    fn refuses_a_bad_repo_url() {
        for (url, message) in [
            (
                "http://charts.jetstack.io",
                "`http://charts.jetstack.io`: a repoURL starts with https://, oci://, ssh:// or git@ (http:// sends everything in the clear)",
            ),
            (
                "https://ci:s3cr3t-value@charts.example.org/stable",
                "`https://(not shown)@charts.example.org/stable`: credentials do not belong in a repoURL: give them to Argo CD as a repository secret",
            ),
            (
                "https://charts.example.org/*",
                "`https://charts.example.org/*` holds a glob character (* ? [ ] { } !), which Argo CD would read as a pattern in the project's sourceRepos",
            ),
            (
                "charts.example.org",
                "`charts.example.org`: a repoURL starts with https://, oci://, ssh:// or git@ (http:// sends everything in the clear)",
            ),
        ] {
            let err = application_error(cert_manager_with(json!({ "repoURL": url })));
            assert_eq!(
                err,
                Error::at("/config/applications/0/repoURL", message),
                "{url}"
            );
            // The host's schema check refuses it first.
            let validator = jsonschema::validator_for(&config_schema()).unwrap();
            let config = json!({ "applications": [cert_manager_with(json!({ "repoURL": url }))] });
            assert!(!validator.is_valid(&config), "{url}");
        }
        // A chart comes from a Helm repository over https.
        let err = application_error(cert_manager_with(
            json!({ "repoURL": "git@github.com:example/charts.git" }),
        ));
        assert_eq!(err.pointer, "/config/applications/0/chart");
        let err = application_error(cert_manager_with(
            json!({ "repoURL": "oci://ghcr.io/example/charts/app" }),
        ));
        assert_eq!(err.pointer, "/config/applications/0/chart");
        assert!(err.message.contains("path: ."), "{err}");
    }

    #[test]
    fn refuses_names_taken_by_other_applications() {
        for (name, taken) in [
            ("prow", "component prow's Application"),
            ("example-root", "the root Application"),
        ] {
            let err = application_error(cert_manager_with(json!({ "name": name })));
            assert_eq!(
                err,
                Error::at(
                    "/config/applications/0/name",
                    format!(
                        "`{name}` is the name of {taken}; Application names are unique in the Argo CD namespace"
                    )
                )
            );
        }
        let err =
            render_with(json!({ "applications": [cert_manager(), cert_manager()] })).unwrap_err();
        assert_eq!(
            err,
            Error::at(
                "/config/applications/1/name",
                "another application is named `cert-manager`"
            )
        );
        // An excluded component has no Application to collide with.
        let out = render_valid(json!({
            "exclude": ["prow"],
            "applications": [cert_manager_with(json!({ "name": "prow" }))],
        }));
        assert_eq!(
            find(&out, "Application", "prow")["spec"]["project"],
            "example-prow"
        );
        assert_eq!(
            find(&out, "AppProject", "example-prow")["spec"]["sourceRepos"],
            json!(["https://charts.jetstack.io"])
        );

        let err = application_error(cert_manager_with(json!({ "name": "Cert_Manager" })));
        assert_eq!(err.pointer, "/config/applications/0/name");
    }

    #[test]
    fn keeps_the_fence_closed() {
        // Not the Argo CD namespace, where a chart could add a project that
        // allows everything.
        let err = application_error(cert_manager_with(
            json!({ "namespace": "openshift-gitops" }),
        ));
        assert_eq!(err.pointer, "/config/applications/0/namespace");
        let err = render_with(json!({
            "namespace": "argocd",
            "applications": [cert_manager_with(json!({ "namespace": "argocd" }))],
        }))
        .unwrap_err();
        assert_eq!(err.pointer, "/config/applications/0/namespace");
        let err = application_error(cert_manager_with(json!({ "namespace": "*" })));
        assert_eq!(err.pointer, "/config/applications/0/namespace");

        // Cluster-scoped kinds by name, never a pattern.
        for kind in [
            json!({ "group": "*", "kind": "*" }),
            json!({ "group": "", "kind": "Cluster*" }),
        ] {
            let err = application_error(cert_manager_with(
                json!({ "clusterResourceWhitelist": [kind] }),
            ));
            assert_eq!(
                err.pointer,
                "/config/applications/0/clusterResourceWhitelist/0"
            );
        }

        // The config's extensions for component folders stay out.
        let out = render_valid(json!({
            "destinationNamespaces": ["*"],
            "clusterResourceWhitelist": [{ "group": "*", "kind": "*" }],
            "applications": [cert_manager_with(json!({ "syncOptions": [], "clusterResourceWhitelist": [] }))],
        }));
        let project = find(&out, "AppProject", "example-cert-manager");
        assert_eq!(
            project["spec"]["destinations"],
            json!([{ "namespace": "cert-manager", "server": IN_CLUSTER }])
        );
        assert_eq!(
            project["spec"]["sourceRepos"],
            json!(["https://charts.jetstack.io"])
        );
        assert!(project["spec"].get("clusterResourceWhitelist").is_none());
        assert_eq!(group_kinds(&project, "clusterResourceBlacklist"), ["*/*"]);
        assert_eq!(
            group_kinds(&project, "namespaceResourceBlacklist"),
            ["argoproj.io/*"]
        );
    }

    #[test]
    fn checks_helm_values_release_names_and_sync_options() {
        let err = application_error(cert_manager_with(json!({ "valuesObject": { "a": 1 } })));
        assert_eq!(err.pointer, "/config/applications/0/valuesObject");
        let err = application_error(cert_manager_with(json!({ "releaseName": "Bad_Name" })));
        assert_eq!(err.pointer, "/config/applications/0/releaseName");
        let err = application_error(cert_manager_with(
            json!({ "syncOptions": ["CreateNamespace"] }),
        ));
        assert_eq!(
            err,
            Error::at(
                "/config/applications/0/syncOptions/0",
                "`CreateNamespace` is not a sync option: Key=value, such as CreateNamespace=true"
            )
        );
        let err = application_error(cert_manager_with(
            json!({ "syncOptions": ["Replace=true", "Replace=false"] }),
        ));
        assert_eq!(
            err,
            Error::at(
                "/config/applications/0/syncOptions/1",
                "Replace is set twice"
            )
        );
        // A typo is not an error, Argo CD ignores it, so it is a warning.
        let out = render_valid(json!({
            "applications": [cert_manager_with(json!({ "syncOptions": ["CreateNamespaces=true"] }))],
        }));
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(
            out.diagnostics[0].pointer,
            "/config/applications/0/syncOptions/0"
        );
        // Without CreateNamespace=true, no Namespace.
        assert_eq!(
            group_kinds(
                &find(&out, "AppProject", "example-cert-manager"),
                "clusterResourceWhitelist"
            ),
            [
                "apiextensions.k8s.io/CustomResourceDefinition",
                "rbac.authorization.k8s.io/ClusterRole"
            ]
        );
    }
}
