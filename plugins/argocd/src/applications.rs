//! `applications:` in the config: Argo CD Applications for what opsmith does
//! not render itself, a Helm chart from a chart repository or a folder (or an
//! OCI artifact) of another repository. Argo CD renders the source; opsmith
//! pins it (a floating `targetRevision` is a warning, or an error), checks
//! the Application and fences it in an AppProject of its own.
//!
//! # The fence
//!
//! Each application's project, `<project>-<name>`, is built as a component's
//! is, from what the config says and nothing broader:
//!
//! - `sourceRepos`: the application's `repoURL` only, never a glob;
//! - `destinations`: its `namespace` only, never the Argo CD namespace;
//! - `clusterResourceWhitelist`: the cluster-scoped kinds its entry lists,
//!   by name (no globs), plus its own Namespace, by name, with
//!   `CreateNamespace=true`; otherwise every cluster-scoped kind is denied;
//! - `namespaceResourceWhitelist`: the namespaced kinds its entry lists, by
//!   default every kind (a chart's are not known before Argo CD renders it),
//!   and `namespaceResourceBlacklist` denies Argo CD's own kinds.
//!
//! The config's `clusterResourceWhitelist`, `namespaceResourceWhitelist` and
//! `destinationNamespaces` (for files kept by hand in component folders) do
//! not extend these projects. Why not the site's project: it may create
//! AppProjects and Applications in the Argo CD namespace, so another
//! repository in its `sourceRepos` could add a project that allows
//! everything.

use std::collections::{BTreeMap, BTreeSet};

use opsmith_plugin_sdk::{Error, Output, Value, json};
use serde::Deserialize;

use crate::{
    Config, GroupKind, IN_CLUSTER, OTHER_WAVE, RESOURCES_FINALIZER, SYNC_OPTIONS, SYNC_WAVE,
};

/// An Argo CD Application for a Helm chart or a folder of a repository.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RepoApplication {
    /// A name for the Application (an RFC 1123 label), unique among the
    /// site's Applications. Its AppProject is <project>-<name>.
    #[cfg_attr(test, schemars(regex(pattern = crate::DNS_LABEL), length(max = 63)))]
    name: String,
    /// A repository: https:// (a Helm chart repository, or git), oci:// (an
    /// OCI artifact, Argo CD 3.1 and later) or git@host:path or ssh:// (git),
    /// with no credentials and no glob characters.
    #[serde(rename = "repoURL")]
    #[cfg_attr(test, schemars(regex(pattern = REPO_URL_PATTERN)))]
    repo_url: String,
    /// The chart's name in the Helm chart repository at repoURL (https://).
    /// Give chart or path, not both.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            length(min = 1)
        )
    )]
    chart: Option<String>,
    /// A folder of the repository at repoURL, relative to its root ("." for
    /// the root, and for an OCI Helm chart). Argo CD detects what it holds:
    /// Helm, Kustomize or plain manifests. Give chart or path, not both.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            length(min = 1)
        )
    )]
    path: Option<String>,
    /// The version to deploy: for a chart its exact version (1.2.3), for
    /// OCI a version tag or a sha256: digest, for git a tag or a commit. A
    /// revision that floats (*, latest, HEAD, empty, a range such as 1.2.*,
    /// ^1.2, ~1.2 or >=1, a partial version, a default branch) is a warning,
    /// or an error with floatingRevisions: error.
    target_revision: String,
    /// Helm values, as a mapping; rendered as the Application's
    /// spec.source.helm.valuesObject. valuesObject is the same field under
    /// Argo CD's name; give one of them.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(
            with = "serde_json::Map<String, Value>",
            skip_serializing_if = "Option::is_none"
        )
    )]
    values: Option<serde_json::Map<String, Value>>,
    /// Helm values under Argo CD's name: the same as values.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(
            with = "serde_json::Map<String, Value>",
            skip_serializing_if = "Option::is_none"
        )
    )]
    values_object: Option<serde_json::Map<String, Value>>,
    /// A name for the Helm release (an RFC 1123 subdomain of at most 53
    /// characters). Default: the application's name.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            regex(pattern = crate::NAME_PATTERN),
            length(max = 53)
        )
    )]
    release_name: Option<String>,
    /// A namespace to deploy to (an RFC 1123 label), the Application's
    /// destination and the only one its project allows; not the Argo CD
    /// namespace.
    #[cfg_attr(test, schemars(regex(pattern = crate::DNS_LABEL), length(max = 63)))]
    namespace: String,
    /// The Application's sync wave (argocd.argoproj.io/sync-wave); lower
    /// waves sync first. Default 5, after the platform's components.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(
            with = "i32",
            skip_serializing_if = "Option::is_none",
            range(min = -1000, max = 1000)
        )
    )]
    sync_wave: Option<i32>,
    /// Argo CD sync options (Key=value), such as CreateNamespace=true, on
    /// top of those of every Application (ServerSideApply=true,
    /// ApplyOutOfSyncOnly=true, PruneLast=true); one with the same key
    /// replaces the default. CreateNamespace=true also lets the project
    /// create this one Namespace.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(
            inner(regex(pattern = "^[A-Za-z]+=[^\\s=]+$")),
            extend("uniqueItems" = true)
        )
    )]
    sync_options: Vec<String>,
    /// Cluster-scoped kinds the source may create (CustomResourceDefinitions,
    /// ClusterRoles, ...), by exact group and kind; none by default.
    #[serde(default)]
    cluster_resource_whitelist: Vec<GroupKind>,
    /// Namespaced kinds the source may create in its namespace; by default
    /// every kind but Argo CD's own.
    #[serde(default)]
    namespace_resource_whitelist: Vec<GroupKind>,
}

/// What a floating `targetRevision` is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(rename_all = "lowercase")]
pub(crate) enum FloatingRevisions {
    // A warning; the render goes on.
    #[default]
    Warn,
    // An error; nothing is rendered.
    Error,
}

/// What an application's source is, which says what its revision names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    /// A chart of a Helm chart repository: a chart version.
    Chart,
    /// An OCI artifact: a tag or a digest.
    Oci,
    /// A folder of a git repository: a branch, a tag or a commit.
    Git,
}

/// The shape of `repoURL`, also in the config schema: the Rust check
/// ([`repo_url_problem`]) says which part is wrong, and a unit test keeps
/// the two in agreement. No credentials (no `@` before the host, but for
/// scp-like `git@`), no whitespace, and none of the glob characters Argo CD
/// reads in `sourceRepos`.
#[cfg(test)]
const REPO_URL_PATTERN: &str = concat!(
    r"^(https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s*?\[\]{}!@]*)?",
    r"|oci://[A-Za-z0-9.-]+(:[0-9]+)?/[^\s*?\[\]{}!@]+",
    r"|ssh://([A-Za-z0-9_][-A-Za-z0-9_.]*@)?[A-Za-z0-9.-]+(:[0-9]+)?/[^\s*?\[\]{}!@]+",
    r"|git@[A-Za-z0-9.-]+:[^\s*?\[\]{}!@]+)$"
);

/// Argo CD's sync options that an Application may set; others are ignored
/// by Argo CD, so most likely a typo.
const KNOWN_SYNC_OPTIONS: &[&str] = &[
    "ApplyOutOfSyncOnly",
    "ClientSideApplyMigration",
    "CreateNamespace",
    "Delete",
    "FailOnSharedResource",
    "Force",
    "Prune",
    "PruneLast",
    "PrunePropagationPolicy",
    "Replace",
    "RespectIgnoreDifferences",
    "ServerSideApply",
    "SkipDryRunOnMissingResource",
    "Validate",
];

/// Argo CD's own kinds, which no application's project may create.
const ARGOCD_GROUP: &str = "argoproj.io";

/// An application, checked and ready to render.
pub(crate) struct Planned<'a> {
    app: &'a RepoApplication,
    pub(crate) wave: i32,
    /// `<project>-<name>`.
    pub(crate) project: String,
    /// The sync options, by key.
    sync_options: BTreeMap<&'a str, &'a str>,
}

/// Checks every application of the config: names against `taken` (the
/// Applications rendered besides), sources, revisions and options. Warnings
/// go to `out`.
pub(crate) fn plan<'a>(
    config: &'a Config,
    project: &str,
    taken: &BTreeMap<&str, String>,
    out: &mut Output,
) -> Result<Vec<Planned<'a>>, Error> {
    let mut planned: Vec<Planned<'a>> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (index, app) in config.applications.iter().enumerate() {
        let at = |field: &str| format!("/config/applications/{index}/{field}");
        if !is_dns_label(&app.name) {
            return Err(Error::at(
                &at("name"),
                format!(
                    "`{}` is not an RFC 1123 label (lowercase letters, digits and '-', at most 63 characters)",
                    app.name
                ),
            ));
        }
        if let Some(what) = taken.get(app.name.as_str()) {
            return Err(Error::at(
                &at("name"),
                format!(
                    "`{}` is the name of {what}; Application names are unique in the Argo CD namespace",
                    app.name
                ),
            ));
        }
        if !seen.insert(&app.name) {
            return Err(Error::at(
                &at("name"),
                format!("another application is named `{}`", app.name),
            ));
        }
        let project_name = format!("{project}-{}", app.name);
        if project_name.len() > 253 {
            return Err(Error::at(
                &at("name"),
                format!(
                    "the AppProject name {project_name} is longer than 253 characters; set a shorter config.project or name"
                ),
            ));
        }
        if let Some(problem) = repo_url_problem(&app.repo_url) {
            return Err(Error::at(&at("repoURL"), problem));
        }
        let kind = source_kind(app, &at)?;
        check_helm(app, kind, &at)?;
        if !is_dns_label(&app.namespace) {
            return Err(Error::at(
                &at("namespace"),
                format!(
                    "`{}` is not an RFC 1123 label (lowercase letters, digits and '-', at most 63 characters)",
                    app.namespace
                ),
            ));
        }
        if app.namespace == config.namespace {
            return Err(Error::at(
                &at("namespace"),
                format!(
                    "{} is the Argo CD namespace, which holds Argo CD's projects, credentials and settings; \
                     an application may not deploy there",
                    app.namespace
                ),
            ));
        }
        if let Some(why) = revision_floats(kind, &app.target_revision) {
            let message = format!(
                "targetRevision `{}` floats ({why}): Argo CD deploys whatever it resolves to when it syncs, \
                 so the same commit can deploy different code; {}",
                app.target_revision,
                match kind {
                    SourceKind::Chart => "pin the chart's version, such as 1.2.3",
                    SourceKind::Oci => "pin a version tag or a sha256: digest",
                    SourceKind::Git => "pin a tag or a commit",
                }
            );
            match config.floating_revisions {
                FloatingRevisions::Warn => {
                    out.warn(&at("targetRevision"), message);
                }
                FloatingRevisions::Error => return Err(Error::at(&at("targetRevision"), message)),
            }
        }
        check_whitelist(app, &at)?;
        planned.push(Planned {
            app,
            wave: app.sync_wave.unwrap_or(OTHER_WAVE),
            project: project_name,
            sync_options: sync_options(app, &at, out)?,
        });
    }
    planned.sort_by(|a, b| a.app.name.cmp(&b.app.name));
    Ok(planned)
}

fn source_kind(app: &RepoApplication, at: &dyn Fn(&str) -> String) -> Result<SourceKind, Error> {
    let oci = app.repo_url.starts_with("oci://");
    let git_ssh = app.repo_url.starts_with("ssh://") || app.repo_url.starts_with("git@");
    match (&app.chart, &app.path) {
        (Some(_), Some(_)) => Err(Error::at(
            &at("path"),
            "give chart (a chart of a Helm chart repository) or path (a folder of a repository), not both",
        )),
        (None, None) => Err(Error::at(
            at("").trim_end_matches('/'),
            "missing chart or path: chart for a chart of a Helm chart repository, path for a folder of a repository",
        )),
        (Some(chart), None) => {
            if oci {
                return Err(Error::at(
                    &at("chart"),
                    "an OCI chart is an oci:// repoURL that ends with the chart's name, with path: . (Argo CD 3.1 and later), not chart",
                ));
            }
            if git_ssh {
                return Err(Error::at(
                    &at("chart"),
                    "a Helm chart repository is an https:// URL; for a chart in a git repository, give its folder as path",
                ));
            }
            if chart.is_empty() || chart.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(Error::at(
                    &at("chart"),
                    format!("`{chart}` is not a chart name: no spaces, no '/'"),
                ));
            }
            Ok(SourceKind::Chart)
        }
        (None, Some(path)) => {
            let escapes = path.split('/').any(|segment| segment == "..");
            if path.is_empty()
                || path.starts_with('/')
                || escapes
                || path.contains(char::is_whitespace)
            {
                return Err(Error::at(
                    &at("path"),
                    format!(
                        "`{path}` is not a folder of the repository: a relative path without '..' (. for the root)"
                    ),
                ));
            }
            Ok(if oci {
                SourceKind::Oci
            } else {
                SourceKind::Git
            })
        }
    }
}

/// Values given once, and a release name Helm accepts.
fn check_helm(
    app: &RepoApplication,
    kind: SourceKind,
    at: &dyn Fn(&str) -> String,
) -> Result<(), Error> {
    if app.values.is_some() && app.values_object.is_some() {
        return Err(Error::at(
            &at("valuesObject"),
            "values and valuesObject are the same field (Helm values, rendered as valuesObject): give one",
        ));
    }
    match &app.release_name {
        Some(release) if release.len() > 53 || !is_dns_subdomain(release) => Err(Error::at(
            &at("releaseName"),
            format!(
                "`{release}` is not a Helm release name: an RFC 1123 subdomain of at most 53 characters"
            ),
        )),
        // Argo CD names the release after the Application.
        None if kind == SourceKind::Chart && app.name.len() > 53 => Err(Error::at(
            &at("name"),
            "Helm release names have at most 53 characters and the release is named after the Application: set releaseName",
        )),
        _ => Ok(()),
    }
}

/// Cluster-scoped kinds by exact name: a glob would let the repository
/// create kinds nobody reviewed (ClusterRoleBindings to cluster-admin).
fn check_whitelist(app: &RepoApplication, at: &dyn Fn(&str) -> String) -> Result<(), Error> {
    let glob = |s: &str| s.contains(['*', '?', '[', ']', '{', '}', '!']);
    for (i, gk) in app.cluster_resource_whitelist.iter().enumerate() {
        if glob(&gk.kind) || glob(&gk.group) {
            return Err(Error::at(
                &at(&format!("clusterResourceWhitelist/{i}")),
                format!(
                    "`{}/{}` is a pattern: list each cluster-scoped kind the source creates by its group and kind",
                    gk.group, gk.kind
                ),
            ));
        }
        if gk.kind.is_empty() {
            return Err(Error::at(
                &at(&format!("clusterResourceWhitelist/{i}/kind")),
                "a kind is not empty",
            ));
        }
    }
    Ok(())
}

/// The Application's sync options: every Application's, with the entry's
/// added or replacing those of the same key.
fn sync_options<'a>(
    app: &'a RepoApplication,
    at: &dyn Fn(&str) -> String,
    out: &mut Output,
) -> Result<BTreeMap<&'a str, &'a str>, Error> {
    let mut options: BTreeMap<&str, &str> = SYNC_OPTIONS
        .iter()
        .filter_map(|option| option.split_once('='))
        .collect();
    let mut given = BTreeSet::new();
    for (i, option) in app.sync_options.iter().enumerate() {
        let pointer = at(&format!("syncOptions/{i}"));
        let parsed = option.split_once('=').filter(|(key, value)| {
            !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphabetic())
                && !value.is_empty()
                && !value.contains(|c: char| c.is_whitespace() || c == '=')
        });
        let Some((key, value)) = parsed else {
            return Err(Error::at(
                &pointer,
                format!("`{option}` is not a sync option: Key=value, such as CreateNamespace=true"),
            ));
        };
        if !given.insert(key) {
            return Err(Error::at(&pointer, format!("{key} is set twice")));
        }
        if !KNOWN_SYNC_OPTIONS.contains(&key) {
            out.warn(
                &pointer,
                format!("{key} is not an Argo CD sync option that opsmith knows; Argo CD ignores unknown ones"),
            );
        }
        options.insert(key, value);
    }
    Ok(options)
}

impl Planned<'_> {
    pub(crate) fn name(&self) -> &str {
        &self.app.name
    }

    pub(crate) fn repo_url(&self) -> &str {
        &self.app.repo_url
    }

    pub(crate) fn namespace(&self) -> &str {
        &self.app.namespace
    }

    /// The cluster-scoped kinds its project allows: the entry's, and its
    /// Namespace by name when Argo CD is to create it (Argo CD checks that
    /// Namespace against the project too; releases before 3.2 ignore
    /// `name` and allow every Namespace).
    pub(crate) fn cluster_kinds(&self) -> Vec<Value> {
        let mut kinds: BTreeSet<(&str, &str, Option<&str>)> = self
            .app
            .cluster_resource_whitelist
            .iter()
            .map(|gk| (gk.group.as_str(), gk.kind.as_str(), None))
            .collect();
        if self.sync_options.get("CreateNamespace") == Some(&"true") {
            kinds.insert(("", "Namespace", Some(self.app.namespace.as_str())));
        }
        kinds
            .into_iter()
            .map(|(group, kind, name)| {
                let mut rule = json!({ "group": group, "kind": kind });
                if let Some(name) = name {
                    rule["name"] = json!(name);
                }
                rule
            })
            .collect()
    }

    /// The namespaced kinds its project allows, and those it denies.
    pub(crate) fn namespaced_kinds(&self) -> (Vec<Value>, Vec<Value>) {
        let listed: BTreeSet<&GroupKind> = self.app.namespace_resource_whitelist.iter().collect();
        let allowed = if listed.is_empty() {
            vec![json!({ "group": "*", "kind": "*" })]
        } else {
            listed
                .into_iter()
                .map(|gk| json!({ "group": gk.group, "kind": gk.kind }))
                .collect()
        };
        (allowed, vec![json!({ "group": ARGOCD_GROUP, "kind": "*" })])
    }

    /// The Application.
    pub(crate) fn application(&self, config: &Config, sync_policy: Value) -> Value {
        let app = self.app;
        let mut source = json!({
            "repoURL": app.repo_url,
            "targetRevision": app.target_revision,
        });
        match (&app.chart, &app.path) {
            (Some(chart), _) => source["chart"] = json!(chart),
            (None, Some(path)) => source["path"] = json!(path),
            (None, None) => {}
        }
        let values = app.values.as_ref().or(app.values_object.as_ref());
        let mut helm = serde_json::Map::new();
        if let Some(release) = &app.release_name {
            helm.insert("releaseName".to_owned(), json!(release));
        }
        if let Some(values) = values.filter(|v| !v.is_empty()) {
            helm.insert("valuesObject".to_owned(), Value::Object(values.clone()));
        }
        if !helm.is_empty() {
            source["helm"] = Value::Object(helm);
        }
        let mut policy = sync_policy;
        policy["syncOptions"] = self
            .sync_options
            .iter()
            .map(|(key, value)| json!(format!("{key}={value}")))
            .collect();
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": app.name,
                "namespace": config.namespace,
                // Removing the entry deletes what the Application deployed.
                "finalizers": [RESOURCES_FINALIZER],
                "annotations": {
                    SYNC_WAVE: self.wave.to_string(),
                },
            },
            "spec": {
                "project": self.project,
                "source": source,
                "destination": {
                    "server": IN_CLUSTER,
                    "namespace": app.namespace,
                },
                "syncPolicy": policy,
            },
        })
    }
}

/// Why `revision` floats for a source of `kind`, or `None` when it is pinned.
fn revision_floats(kind: SourceKind, revision: &str) -> Option<&'static str> {
    let r = revision.trim();
    if r.is_empty() {
        return Some("empty: the default branch or the newest version");
    }
    if r == "*" || r.eq_ignore_ascii_case("latest") || r == "HEAD" {
        return Some("the newest version or commit");
    }
    if is_range(r) {
        return Some("a version range");
    }
    let versionish = r
        .strip_prefix('v')
        .unwrap_or(r)
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        && r.strip_prefix('v')
            .unwrap_or(r)
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.');
    match kind {
        SourceKind::Chart if !is_exact_version(r) => Some("not an exact chart version"),
        SourceKind::Oci if !is_exact_version(r) && !is_digest(r) => {
            Some("neither an exact version nor a digest")
        }
        SourceKind::Git | SourceKind::Oci if versionish && !is_exact_version(r) => {
            Some("a partial version: Argo CD reads it as a range")
        }
        SourceKind::Git if matches!(r, "main" | "master") => Some("a default branch"),
        _ => None,
    }
}

/// A semver constraint rather than a version: `1.2.*`, `1.2.x`, `^1.2`,
/// `~1.2`, `>=1`, `<2`, `1 - 2`, `1 || 2`. Git refuses these characters in
/// ref names, so a git revision with them is a range too.
fn is_range(r: &str) -> bool {
    r.contains(['*', '^', '~', '<', '>', ' ', ','])
        || r.contains("||")
        || r.starts_with('=')
        || r.starts_with("!=")
        || r.split('.').skip(1).any(|part| part == "x" || part == "X")
}

/// `1.2.3` or `v1.2.3`, with an optional `-pre.release` and `+build`.
fn is_exact_version(r: &str) -> bool {
    let r = r.strip_prefix('v').unwrap_or(r);
    let (core, _build) = r.split_once('+').unwrap_or((r, ""));
    let (core, pre) = match core.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (core, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && pre.is_none_or(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
}

/// `sha256:` and 64 hexadecimal digits.
fn is_digest(r: &str) -> bool {
    r.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// What is wrong with `url` as a repoURL, if anything; the same rules as
/// `REPO_URL_PATTERN` (a test checks they agree).
fn repo_url_problem(url: &str) -> Option<String> {
    const GLOB: &[char] = &['*', '?', '[', ']', '{', '}', '!'];
    let shown = shown(url);
    if url.contains(char::is_whitespace) {
        return Some(format!("`{shown}` holds whitespace"));
    }
    if url.contains(GLOB) {
        return Some(format!(
            "`{shown}` holds a glob character (* ? [ ] {{ }} !), which Argo CD would read as a pattern in the project's sourceRepos"
        ));
    }
    let host_ok = |host: &str| {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    let port_ok = |port: Option<&str>| {
        port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    // host[:port], then the path after '/'.
    let authority = |rest: &str, path_required: bool| -> Result<(), String> {
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, Some(path)),
            None => (rest, None),
        };
        if authority.contains('@') {
            return Err("credentials do not belong in a repoURL: give them to Argo CD as a repository secret".to_owned());
        }
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if !host_ok(host) || !port_ok(port) {
            return Err(format!(
                "`{authority}` is not a host name with an optional port"
            ));
        }
        if path.is_some_and(|p| p.contains('@')) {
            return Err("a repoURL's path has no '@'".to_owned());
        }
        if path_required && path.is_none_or(str::is_empty) {
            return Err("the repository's path is missing after the host".to_owned());
        }
        Ok(())
    };
    let result = if let Some(rest) = url.strip_prefix("https://") {
        authority(rest, false)
    } else if let Some(rest) = url.strip_prefix("oci://") {
        authority(rest, true)
    } else if let Some(rest) = url.strip_prefix("ssh://") {
        let rest = match rest.split_once('@') {
            Some((user, rest))
                if !user.is_empty()
                    && !user.contains([':', '/'])
                    && user.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    && user
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
            {
                rest
            }
            _ => rest,
        };
        authority(rest, true)
    } else if let Some(rest) = url.strip_prefix("git@") {
        match rest.split_once(':') {
            Some((host, path)) if host_ok(host) && !path.is_empty() && !path.contains('@') => {
                Ok(())
            }
            _ => Err("an scp-like git URL is git@host:path".to_owned()),
        }
    } else {
        Err("a repoURL starts with https://, oci://, ssh:// or git@ (http:// sends everything in the clear)".to_owned())
    };
    result.err().map(|problem| format!("`{shown}`: {problem}"))
}

/// `url` with anything between the scheme and an `@` hidden: it may be a
/// token.
fn shown(url: &str) -> String {
    match (url.split_once("://"), url.find('@')) {
        (Some((scheme, rest)), Some(_)) if rest.contains('@') && !url.starts_with("git@") => {
            let after = rest.rsplit_once('@').map_or("", |(_, after)| after);
            format!("{scheme}://(not shown)@{after}")
        }
        _ => url.to_owned(),
    }
}

/// RFC 1123 label: lowercase letters, digits and '-', at most 63 characters,
/// starting and ending with a letter or digit.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: labels joined by dots, at most 253 characters.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_that_float() {
        use SourceKind::{Chart, Git, Oci};
        let floating = [
            (Chart, ""),
            (Chart, "*"),
            (Chart, "latest"),
            (Chart, "1.2.*"),
            (Chart, "1.2.x"),
            (Chart, "^1.2"),
            (Chart, "~1.2"),
            (Chart, ">=1"),
            (Chart, ">=1.0.0 <2.0.0"),
            (Chart, "1.2"),
            (Chart, "stable"),
            (Chart, "main"),
            (Oci, "latest"),
            (Oci, "1"),
            (Oci, "sha256:abc"),
            (Git, "HEAD"),
            (Git, " "),
            (Git, "main"),
            (Git, "v1"),
            (Git, "1.2"),
            (Git, "~1.2"),
        ];
        for (kind, revision) in floating {
            assert!(
                revision_floats(kind, revision).is_some(),
                "{kind:?} {revision:?} floats"
            );
        }
        let pinned = [
            (Chart, "1.2.3"),
            (Chart, "v1.15.3"),
            (Chart, "1.2.3-rc.1+build.5"),
            (Oci, "15.9.0"),
            (Oci, &format!("sha256:{}", "a".repeat(64))),
            (Git, "v1.2.3"),
            (Git, "release-1.2"),
            (Git, "0123456789abcdef0123456789abcdef01234567"),
        ];
        for (kind, revision) in pinned {
            assert_eq!(
                revision_floats(kind, revision),
                None,
                "{kind:?} {revision:?}"
            );
        }
    }

    #[test]
    fn repo_url_check_agrees_with_the_schema_pattern() {
        let pattern =
            jsonschema::validator_for(&json!({ "type": "string", "pattern": REPO_URL_PATTERN }))
                .unwrap();
        let good = [
            "https://charts.jetstack.io",
            "https://charts.example.org:8443/stable/",
            "https://github.com/example/infra.git",
            "oci://ghcr.io/example/charts/app",
            "ssh://git@git.example.org:2222/example/infra.git",
            "ssh://git.example.org/example/infra.git",
            "git@github.com:example/infra.git",
        ];
        let bad = [
            "http://charts.example.org",
            "https://user:secret@charts.example.org",
            "https://token@charts.example.org/x",
            "https://charts.example.org/*",
            "https://github.com/example/*.git",
            "https://",
            "https://exa mple.org",
            "oci://ghcr.io",
            "oci://ghcr.io/",
            "ssh://git@host",
            "git@github.com",
            "git@github.com:",
            "charts.example.org/stable",
            "registry-1.docker.io/bitnamicharts",
            "*",
            "",
        ];
        for url in good {
            assert_eq!(repo_url_problem(url), None, "{url}");
            assert!(pattern.is_valid(&json!(url)), "schema refuses {url}");
        }
        for url in bad {
            assert!(repo_url_problem(url).is_some(), "{url} passes");
            assert!(!pattern.is_valid(&json!(url)), "schema accepts {url}");
        }
        // A token is never repeated in a message.
        let message = repo_url_problem("https://user:hunter2@charts.example.org").unwrap();
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn rfc_1123_names() {
        assert!(is_dns_label("cert-manager"));
        assert!(is_dns_label(&"a".repeat(63)));
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("a..b"));
    }
}
