//! One repository's build-and-test Pipeline: clone, build (if the
//! repository has a build command), test.

use opsmith_plugin_sdk::{Value, json};

use crate::config::Repository;
use crate::meta;
use crate::tasks::{GIT_CLONE, RUN_COMMAND, SOURCE};

/// The Pipeline `name` for `repo`.
pub fn pipeline(name: &str, namespace: &str, repo: &Repository) -> Value {
    let workspace = json!([{ "name": SOURCE, "workspace": SOURCE }]);
    let mut tasks = vec![json!({
        "name": "clone",
        "taskRef": { "name": GIT_CLONE },
        "params": [
            { "name": "url", "value": "$(params.url)" },
            { "name": "revision", "value": "$(params.revision)" },
        ],
        "workspaces": workspace,
    })];
    let mut after = "clone";
    let mut command = |task: &'static str, command: &str, after: &str| {
        tasks.push(json!({
            "name": task,
            "runAfter": [after],
            "taskRef": { "name": RUN_COMMAND },
            "params": [
                { "name": "image", "value": repo.build_image },
                { "name": "command", "value": command },
            ],
            "workspaces": workspace,
        }));
    };
    if let Some(build) = &repo.build_command {
        command("build", build, after);
        after = "build";
    }
    command("test", &repo.test_command, after);

    json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "Pipeline",
        "metadata": meta::operator_kind(name, Some(namespace)),
        "spec": {
            "description": format!("Builds and tests {}.", repo.name),
            "params": [
                {
                    "name": "url",
                    "type": "string",
                    "description": "The repository's clone URL.",
                    "default": repo.url(),
                },
                {
                    "name": "revision",
                    "type": "string",
                    "description": "The commit to build and test.",
                },
            ],
            "workspaces": [
                {
                    "name": SOURCE,
                    "description": "Holds the checked-out tree from clone to test; a volume, since each task runs in its own pod.",
                },
            ],
            "tasks": tasks,
        },
    })
}
