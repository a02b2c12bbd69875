//! The component's `config`, its JSON Schema, and the names derived from it.

use opsmith_plugin_sdk::{Error, SiteInventory};
use serde::Deserialize;

/// Where the CI objects live when the config names no namespace. The
/// github-app plugin puts the webhook secret here by the same default.
pub const DEFAULT_NAMESPACE: &str = "ci";
/// The EventListener's name when the config names none.
pub const DEFAULT_LISTENER: &str = "github";
/// Tekton's own git-init image (the one its catalog's git-clone Task uses),
/// pinned to a release: it has `git` and a POSIX shell and runs as non-root.
pub const DEFAULT_GIT_IMAGE: &str =
    "gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/git-init:v0.40.2";
/// Whose pull requests run pipelines when the config does not say: the
/// people with write access, as GitHub's `author_association` reports them.
pub const DEFAULT_TRUSTED: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];
/// Names derived from repositories end up in label values (63 characters)
/// with suffixes such as `-pull-request` and a PipelineRun's random suffix.
pub const MAX_PIPELINE_NAME: usize = 50;

/// How OpenShift Pipelines gets onto the cluster.
// The variants are explained in `Config::install`'s description: as doc
// comments, they would turn the schema's `enum` into a `oneOf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(rename_all = "lowercase")]
pub enum Install {
    // An OLM Subscription to the operator; it creates its default TektonConfig.
    Subscription,
    // A TektonConfig only, for clusters where the operator is installed another way.
    TektonConfig,
    // Nothing: Tekton is already there and configured.
    None,
}

/// How GitHub reaches the EventListener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    Route,
    Ingress,
}

/// RFC 1123 label, as Kubernetes names namespaces and Services.
#[cfg(test)]
const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// OpenShift Pipelines, and a build-and-test pipeline per repository, run by
/// GitHub webhooks.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:tekton config"))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// How OpenShift Pipelines is installed: `subscription`, an OLM
    /// Subscription to the operator (which creates its default TektonConfig);
    /// `tektonconfig`, only a TektonConfig, where the operator is installed
    /// another way; `none`, nothing.
    pub install: Install,
    /// The operator's update channel, with `install: subscription`, such as
    /// `latest` or `pipelines-1.16`.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub channel: String,
    /// A namespace for the pipelines, triggers and EventListener (an RFC 1123
    /// label); the github-app component delivers the webhook secret there.
    #[cfg_attr(test, schemars(regex(pattern = DNS_LABEL), length(max = 63)))]
    pub namespace: String,
    /// A name for the EventListener (an RFC 1123 label of at most 40
    /// characters); Tekton Triggers names its Service `el-<listenerName>`.
    #[cfg_attr(test, schemars(regex(pattern = DNS_LABEL), length(max = 40)))]
    pub listener_name: String,
    /// How GitHub reaches the EventListener: an OpenShift `route` or a
    /// Kubernetes `ingress`, both TLS-terminated by the cluster's router.
    pub exposure: Exposure,
    /// A host name (DNS subdomain) for the EventListener's webhook URL,
    /// https://<host>/ (default: el-<listenerName>-<namespace>.apps.<cluster>.<baseDomain>,
    /// the name OpenShift would give the route).
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
            length(max = 253)
        )
    )]
    pub host: Option<String>,
    /// Image of the git-clone Task's step: needs `git` and `/bin/sh`; pin it
    /// by tag or digest.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub git_image: String,
    /// A Kubernetes quantity such as 1Gi: the size of the volume each
    /// pipeline run clones into and builds in.
    #[cfg_attr(
        test,
        schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$"))
    )]
    pub workspace_size: String,
    /// StorageClass of that volume (default: the cluster's default
    /// StorageClass).
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub storage_class_name: Option<String>,
    /// Pull requests run pipelines only when their author's
    /// `author_association` with the repository is one of these; pull
    /// requests from others run nothing (they can still run through Prow's
    /// /ok-to-test).
    #[cfg_attr(
        test,
        schemars(
            length(min = 1),
            extend(
                "uniqueItems" = true,
                "items" = {
                    "enum": [
                        "OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR",
                        "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE"
                    ]
                }
            )
        )
    )]
    pub trusted_author_associations: Vec<String>,
    /// Repositories that get a build-and-test Pipeline, run on pull requests
    /// and on pushes to their default branch.
    pub repositories: Vec<Repository>,
    /// Prometheus metrics of the EventListener: a ServiceMonitor for its
    /// Service's http-metrics port (9000), which OpenShift's user-workload
    /// monitoring scrapes once an admin enables that (enableUserWorkload:
    /// true in ConfigMap cluster-monitoring-config, namespace
    /// openshift-monitoring). The Pipelines and Triggers controllers need
    /// nothing here: the OpenShift Pipelines operator gives them
    /// ServiceMonitors of its own, scraped by platform monitoring.
    pub metrics: Metrics,
}

/// Whether the component renders a ServiceMonitor.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// Render the EventListener's ServiceMonitor (with repositories only:
    /// without them there is no EventListener).
    pub enabled: bool,
}

// On by default: a ServiceMonitor is inert until user-workload monitoring
// is on, and OpenShift always serves its CRD.
impl Default for Metrics {
    fn default() -> Self {
        Metrics { enabled: true }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            install: Install::Subscription,
            channel: "latest".to_owned(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            listener_name: DEFAULT_LISTENER.to_owned(),
            exposure: Exposure::Route,
            host: None,
            git_image: DEFAULT_GIT_IMAGE.to_owned(),
            workspace_size: "1Gi".to_owned(),
            storage_class_name: None,
            trusted_author_associations: DEFAULT_TRUSTED.map(str::to_owned).to_vec(),
            repositories: Vec::new(),
            metrics: Metrics::default(),
        }
    }
}

/// One repository that gets a build-and-test pipeline.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Repository {
    /// `org/repo`, spelled as GitHub spells it (in `repository.full_name`).
    // The pattern keeps it safe inside the triggers' CEL strings.
    #[cfg_attr(
        test,
        schemars(regex(pattern = "^[A-Za-z0-9](-?[A-Za-z0-9])*/[A-Za-z0-9._-]+$"))
    )]
    pub name: String,
    /// A clone URL (https://, ssh:// or git@), for runs started by hand
    /// (default: https://github.com/<name>.git); runs started by webhooks
    /// clone the URL in the event.
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = "^(https://|ssh://|git@)")))]
    pub url: Option<String>,
    /// Image the build and test commands run in; it needs /bin/sh.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub build_image: String,
    /// Shell command that builds the checked-out source, run before the
    /// tests (default: none).
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub build_command: Option<String>,
    /// Shell command that runs the tests, in the checked-out source.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub test_command: String,
    /// A name for the repository's Pipeline and prefix of its runs, an RFC
    /// 1123 label (default: `org-repo`, lowercased).
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(regex(pattern = DNS_LABEL),
            length(max = MAX_PIPELINE_NAME))
    )]
    pub pipeline: Option<String>,
}

impl Repository {
    /// The clone URL.
    pub fn url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("https://github.com/{}.git", self.name))
    }

    /// Name of the repository's Pipeline, TriggerTemplate and triggers:
    /// `pipeline` if set, else `org-repo` lowercased with every run of other
    /// characters turned into one `-`.
    pub fn pipeline_name(&self, index: usize) -> Result<String, Error> {
        if let Some(name) = &self.pipeline {
            return Ok(name.clone());
        }
        let mut name = String::new();
        for c in self.name.chars() {
            if c.is_ascii_alphanumeric() {
                name.push(c.to_ascii_lowercase());
            } else if !name.ends_with('-') {
                name.push('-');
            }
        }
        let name = name.trim_matches('-').to_owned();
        if name.is_empty() || name.len() > MAX_PIPELINE_NAME {
            return Err(Error::at(
                &format!("/config/repositories/{index}/name"),
                format!(
                    "the name derived from `{}` is {} characters long, more than {MAX_PIPELINE_NAME}: \
                     set `pipeline` to a shorter name",
                    self.name,
                    name.len()
                ),
            ));
        }
        Ok(name)
    }
}

impl Config {
    /// The EventListener's Service, which Triggers names `el-<listener>`.
    pub fn listener_service(&self) -> String {
        format!("el-{}", self.listener_name)
    }

    /// The host GitHub posts to: `host`, or the one OpenShift would give a
    /// Route named like the Service (`<route>-<namespace>.apps.<cluster>.<baseDomain>`),
    /// set explicitly so the webhook URL is known before the cluster exists.
    pub fn host(&self, site: &SiteInventory) -> String {
        self.host.clone().unwrap_or_else(|| {
            format!(
                "{}-{}.apps.{}.{}",
                self.listener_service(),
                self.namespace,
                site.metadata.name,
                site.spec.base_domain
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_schema_file(
            &schemars::schema_for!(super::Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
    }
}
