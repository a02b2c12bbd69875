//! The two Tasks every repository's Pipeline is made of: clone the source,
//! then run a command in the repository's own image.
//!
//! Parameters reach the steps through environment variables or `args`, never
//! through the script text: a revision comes from a webhook payload, and a
//! payload must not be able to inject shell.

use opsmith_plugin_sdk::{Value, json};

use crate::meta;

/// Name of the clone Task.
pub const GIT_CLONE: &str = "git-clone";
/// Name of the command Task.
pub const RUN_COMMAND: &str = "run-command";
/// The workspace both Tasks share, and the Pipeline's.
pub const SOURCE: &str = "source";

/// Fetches exactly one revision, shallow, into the `source` workspace. A
/// commit SHA fetches directly: GitHub serves any reachable commit.
const CLONE_SCRIPT: &str = r#"#!/bin/sh
set -eu
git init --quiet .
git remote add origin "$URL" 2>/dev/null || git remote set-url origin "$URL"
git fetch --quiet --depth 1 origin "$REVISION"
git checkout --quiet --force FETCH_HEAD
printf '%s' "$(git rev-parse HEAD)" > "$(results.commit.path)"
"#;

/// The git-clone Task, with its step in `git_image`.
pub fn git_clone(namespace: &str, git_image: &str) -> Value {
    json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "Task",
        "metadata": meta::operator_kind(GIT_CLONE, Some(namespace)),
        "spec": {
            "description": "Checks out one revision of a git repository into the source workspace.",
            "params": [
                {
                    "name": "url",
                    "type": "string",
                    "description": "The repository's clone URL.",
                },
                {
                    "name": "revision",
                    "type": "string",
                    "description": "The commit SHA, branch or tag to check out.",
                },
            ],
            "workspaces": [
                {
                    "name": SOURCE,
                    "description": "Receives the checked-out tree.",
                },
            ],
            "results": [
                {
                    "name": "commit",
                    "type": "string",
                    "description": "The SHA of the checked-out commit.",
                },
            ],
            "steps": [
                {
                    "name": "clone",
                    "image": git_image,
                    "workingDir": format!("$(workspaces.{SOURCE}.path)"),
                    "env": [
                        { "name": "URL", "value": "$(params.url)" },
                        { "name": "REVISION", "value": "$(params.revision)" },
                        // The volume's root belongs to another user than the
                        // step's (OpenShift runs it with a random UID), which
                        // git refuses as "dubious ownership" unless told the
                        // directory is safe; GIT_CONFIG_* is command-line
                        // configuration, where git accepts that setting.
                        { "name": "GIT_CONFIG_COUNT", "value": "1" },
                        { "name": "GIT_CONFIG_KEY_0", "value": "safe.directory" },
                        { "name": "GIT_CONFIG_VALUE_0", "value": format!("$(workspaces.{SOURCE}.path)") },
                    ],
                    "script": CLONE_SCRIPT,
                },
            ],
        },
    })
}

/// The run-command Task: a shell command, given as a parameter, in an image
/// given as a parameter, in the checked-out tree.
pub fn run_command(namespace: &str) -> Value {
    json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "Task",
        "metadata": meta::operator_kind(RUN_COMMAND, Some(namespace)),
        "spec": {
            "description": "Runs a shell command in the checked-out source.",
            "params": [
                {
                    "name": "image",
                    "type": "string",
                    "description": "The image to run the command in; it needs /bin/sh.",
                },
                {
                    "name": "command",
                    "type": "string",
                    "description": "The shell command.",
                },
            ],
            "workspaces": [
                {
                    "name": SOURCE,
                    "description": "The checked-out tree; the command runs at its root.",
                },
            ],
            "steps": [
                {
                    "name": "run",
                    "image": "$(params.image)",
                    "workingDir": format!("$(workspaces.{SOURCE}.path)"),
                    "command": ["/bin/sh", "-c"],
                    "args": ["$(params.command)"],
                },
            ],
        },
    })
}
