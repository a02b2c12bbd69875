//! Tekton Triggers: what turns a GitHub webhook into a PipelineRun.
//!
//! One EventListener serves every repository, so GitHub needs one webhook
//! URL. Each repository has two triggers, one per event, each checking the
//! delivery's signature with the GitHub App's webhook secret (the `github`
//! interceptor) and then filtering on the repository and the event's details
//! (a `cel` interceptor). Repository names and author associations are
//! constrained by the config schema, so they are safe inside CEL strings.

use opsmith_plugin_sdk::github_app::AppSecret;
use opsmith_plugin_sdk::{Value, json};

use crate::config::{Config, Repository};
use crate::meta;
use crate::tasks::SOURCE;

/// A GitHub event the listener acts on, and how its payload names the
/// commit to test.
pub struct Event {
    /// `X-GitHub-Event`, and the suffix of trigger and binding names.
    pub name: &'static str,
    /// Name of the TriggerBinding that reads the payload.
    pub binding: &'static str,
    /// JSONPath of the commit SHA in the payload.
    pub revision: &'static str,
}

pub const PULL_REQUEST: Event = Event {
    name: "pull_request",
    binding: "github-pull-request",
    revision: "$(body.pull_request.head.sha)",
};

pub const PUSH: Event = Event {
    name: "push",
    binding: "github-push",
    revision: "$(body.after)",
};

/// The TriggerBinding that reads `url` and `revision` from an event's payload.
pub fn binding(event: &Event, namespace: &str) -> Value {
    json!({
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "TriggerBinding",
        "metadata": meta::operator_kind(event.binding, Some(namespace)),
        "spec": {
            "params": [
                { "name": "url", "value": "$(body.repository.clone_url)" },
                { "name": "revision", "value": event.revision },
            ],
        },
    })
}

/// The TriggerTemplate that starts a run of the Pipeline `name`, on a fresh
/// volume that goes away with the run.
pub fn template(name: &str, config: &Config) -> Value {
    let mut claim = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {
            "requests": { "storage": config.workspace_size },
        },
    });
    if let Some(class) = &config.storage_class_name {
        claim["storageClassName"] = json!(class);
    }
    json!({
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "TriggerTemplate",
        "metadata": meta::operator_kind(name, Some(&config.namespace)),
        "spec": {
            "params": [
                { "name": "url", "description": "The repository's clone URL." },
                { "name": "revision", "description": "The commit to build and test." },
            ],
            "resourcetemplates": [
                {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "PipelineRun",
                    "metadata": {
                        "generateName": format!("{name}-"),
                    },
                    "spec": {
                        "pipelineRef": { "name": name },
                        "params": [
                            { "name": "url", "value": "$(tt.params.url)" },
                            { "name": "revision", "value": "$(tt.params.revision)" },
                        ],
                        "workspaces": [
                            {
                                "name": SOURCE,
                                "volumeClaimTemplate": { "spec": claim },
                            },
                        ],
                    },
                },
            ],
        },
    })
}

/// A CEL list literal of `items`.
fn cel_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The CEL filter for `event` on `repo`: pull requests when opened or
/// updated by a trusted author, pushes to the default branch.
fn filter(event: &Event, repo: &Repository, config: &Config) -> String {
    let same_repo = format!("body.repository.full_name == '{}'", repo.name);
    if event.name == PULL_REQUEST.name {
        format!(
            "{same_repo} && body.action in ['opened', 'synchronize', 'reopened'] \
             && body.pull_request.author_association in {}",
            cel_list(&config.trusted_author_associations)
        )
    } else {
        format!("{same_repo} && body.ref == 'refs/heads/' + body.repository.default_branch")
    }
}

/// One trigger of the EventListener.
fn trigger(
    event: &Event,
    name: &str,
    repo: &Repository,
    config: &Config,
    secret: &AppSecret,
) -> Value {
    json!({
        "name": format!("{name}-{}", event.name.replace('_', "-")),
        "interceptors": [
            {
                "ref": { "name": "github" },
                "params": [
                    {
                        "name": "secretRef",
                        "value": {
                            "secretName": secret.name,
                            "secretKey": secret.webhook_secret_key,
                        },
                    },
                    {
                        "name": "eventTypes",
                        "value": [event.name],
                    },
                ],
            },
            {
                "ref": { "name": "cel" },
                "params": [
                    {
                        "name": "filter",
                        "value": filter(event, repo, config),
                    },
                ],
            },
        ],
        "bindings": [{ "ref": event.binding }],
        "template": { "ref": name },
    })
}

/// The EventListener, with a pull-request and a push trigger for each
/// `(pipeline name, repository)`.
pub fn event_listener(
    config: &Config,
    repositories: &[(String, &Repository)],
    service_account: &str,
    secret: &AppSecret,
) -> Value {
    let triggers: Vec<Value> = repositories
        .iter()
        .flat_map(|(name, repo)| {
            [&PULL_REQUEST, &PUSH].map(|event| trigger(event, name, repo, config, secret))
        })
        .collect();
    json!({
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "EventListener",
        "metadata": meta::operator_kind(&config.listener_name, Some(&config.namespace)),
        "spec": {
            "serviceAccountName": service_account,
            "triggers": triggers,
        },
    })
}
