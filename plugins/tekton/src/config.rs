//! The component's `config`, its JSON Schema, and the names derived from it.

use opsmith_plugin_sdk::{Error, SiteInventory, Value, json};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Install {
    /// An OLM Subscription to the operator; it creates its default TektonConfig.
    Subscription,
    /// A TektonConfig only, for clusters where the operator is installed another way.
    TektonConfig,
    /// Nothing: Tekton is already there and configured.
    None,
}

/// How GitHub reaches the EventListener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    Route,
    Ingress,
}

/// `config` of a `builtin:tekton` component.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    pub install: Install,
    pub channel: String,
    pub namespace: String,
    pub listener_name: String,
    pub exposure: Exposure,
    pub host: Option<String>,
    pub git_image: String,
    pub workspace_size: String,
    pub storage_class_name: Option<String>,
    pub trusted_author_associations: Vec<String>,
    pub repositories: Vec<Repository>,
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
        }
    }
}

/// One repository that gets a build-and-test pipeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Repository {
    /// `org/repo`, as GitHub spells it in `repository.full_name`.
    pub name: String,
    #[serde(default)]
    pub url: Option<String>,
    pub build_image: String,
    #[serde(default)]
    pub build_command: Option<String>,
    pub test_command: String,
    #[serde(default)]
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

/// RFC 1123 label, as Kubernetes names namespaces and Services.
const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// The JSON Schema (draft 2020-12) of [`Config`].
pub fn schema() -> Value {
    let defaults = Config::default();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "builtin:tekton config",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "install": {
                "description": "How OpenShift Pipelines is installed: `subscription`, an OLM Subscription to the operator (which creates its default TektonConfig); `tektonconfig`, only a TektonConfig, where the operator is installed another way; `none`, nothing",
                "enum": ["subscription", "tektonconfig", "none"],
                "default": "subscription"
            },
            "channel": {
                "description": "The operator's update channel, with `install: subscription`, such as `latest` or `pipelines-1.16`",
                "type": "string",
                "minLength": 1,
                "default": defaults.channel
            },
            "namespace": {
                "description": "Namespace of the pipelines, triggers and EventListener; the github-app component delivers the webhook secret here",
                "type": "string",
                "pattern": DNS_LABEL,
                "maxLength": 63,
                "default": DEFAULT_NAMESPACE
            },
            "listenerName": {
                "description": "Name of the EventListener; Tekton Triggers names its Service `el-<listenerName>`",
                "type": "string",
                "pattern": DNS_LABEL,
                "maxLength": 40,
                "default": DEFAULT_LISTENER
            },
            "exposure": {
                "description": "How GitHub reaches the EventListener: an OpenShift `route` or a Kubernetes `ingress`, both TLS-terminated by the cluster's router",
                "enum": ["route", "ingress"],
                "default": "route"
            },
            "host": {
                "description": "Host name of the EventListener's webhook URL, https://<host>/ (default: el-<listenerName>-<namespace>.apps.<cluster>.<baseDomain>, the name OpenShift would give the route)",
                "type": "string",
                "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                "maxLength": 253
            },
            "gitImage": {
                "description": "Image of the git-clone Task's step: needs `git` and `/bin/sh`; pin it by tag or digest",
                "type": "string",
                "minLength": 1,
                "default": DEFAULT_GIT_IMAGE
            },
            "workspaceSize": {
                "description": "Size of the volume each pipeline run clones into and builds in",
                "type": "string",
                "pattern": "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$",
                "default": defaults.workspace_size
            },
            "storageClassName": {
                "description": "StorageClass of that volume (default: the cluster's default StorageClass)",
                "type": "string",
                "minLength": 1
            },
            "trustedAuthorAssociations": {
                "description": "Pull requests run pipelines only when their author's `author_association` with the repository is one of these; pull requests from others run nothing (they can still run through Prow's /ok-to-test)",
                "type": "array",
                "minItems": 1,
                "uniqueItems": true,
                "items": {
                    "enum": [
                        "OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR",
                        "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE"
                    ]
                },
                "default": DEFAULT_TRUSTED
            },
            "repositories": {
                "description": "Repositories that get a build-and-test Pipeline, run on pull requests and on pushes to their default branch",
                "type": "array",
                "default": [],
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "buildImage", "testCommand"],
                    "properties": {
                        "name": {
                            "description": "`org/repo`, spelled as GitHub spells it",
                            "type": "string",
                            "pattern": "^[A-Za-z0-9](-?[A-Za-z0-9])*/[A-Za-z0-9._-]+$"
                        },
                        "url": {
                            "description": "Clone URL for runs started by hand (default: https://github.com/<name>.git); runs started by webhooks clone the URL in the event",
                            "type": "string",
                            "pattern": "^(https://|ssh://|git@)"
                        },
                        "buildImage": {
                            "description": "Image the build and test commands run in; it needs /bin/sh",
                            "type": "string",
                            "minLength": 1
                        },
                        "buildCommand": {
                            "description": "Shell command that builds the checked-out source, run before the tests (default: none)",
                            "type": "string",
                            "minLength": 1
                        },
                        "testCommand": {
                            "description": "Shell command that runs the tests, in the checked-out source",
                            "type": "string",
                            "minLength": 1
                        },
                        "pipeline": {
                            "description": "Name of the repository's Pipeline and prefix of its runs (default: `org-repo`, lowercased)",
                            "type": "string",
                            "pattern": DNS_LABEL,
                            "maxLength": MAX_PIPELINE_NAME
                        }
                    }
                }
            }
        }
    })
}
