//! `builtin:tekton`: OpenShift Pipelines, and a build-and-test pipeline for
//! each repository in the config, run by GitHub webhooks.
//!
//! What it renders, in the order a reader meets it on the cluster:
//!
//! - the operator's Subscription or a TektonConfig ([`install`]);
//! - the CI Namespace;
//! - two shared Tasks, `git-clone` and `run-command` ([`tasks`]), and one
//!   Pipeline per repository ([`pipeline`]);
//! - the Triggers: two TriggerBindings, one TriggerTemplate per repository
//!   and one EventListener for all of them ([`triggers`]);
//! - the listener's ServiceAccount, its RBAC, the Route or Ingress GitHub
//!   posts to, and a ServiceMonitor for its metrics ([`listener`]).
//!
//! The operator's own controllers need no ServiceMonitor from here: on
//! OpenShift the operator labels `openshift-pipelines`
//! `openshift.io/cluster-monitoring: "true"` (unless the TektonPipeline's
//! `enableMetrics` param is false) and installs ServiceMonitors for the
//! pipelines, triggers, chains, webhook, resolvers, results and pruner
//! controllers there, which platform monitoring scrapes (tektoncd/operator
//! pkg/reconciler/openshift/tektonpipeline/extension.go,
//! cmd/openshift/operator/kodata/openshift-monitoring/).
//!
//! The listener checks each delivery's signature with the webhook secret the
//! `builtin:github-app` component delivers into the same namespace, so a
//! catalog with repositories needs that component.

mod config;
mod install;
mod listener;
mod meta;
mod pipeline;
mod tasks;
mod triggers;

use std::collections::BTreeMap;

use opsmith_plugin_sdk::github_app::app_secret;
use opsmith_plugin_sdk::{Error, Info, Input, Output, Plugin, export_plugin, json};

use config::{Config, Install};

/// The plugin. Public so that native builds (tests, the host) can call it
/// directly; `export_plugin!` exports it only on wasm32.
pub struct Tekton;

impl Plugin for Tekton {
    fn describe() -> Info {
        // Namespaced kinds other than the Subscription live in the
        // namespace the config names, hence `*`.
        Info::new("tekton", env!("CARGO_PKG_VERSION"))
            .description("OpenShift Pipelines, and a build-and-test pipeline per repository run by GitHub webhooks")
            .config_schema_json(include_str!("config.schema.json"))
            .emits("operators.coreos.com/v1alpha1", "Subscription", &["openshift-operators"])
            .emits("operator.tekton.dev/v1alpha1", "TektonConfig", &[])
            .emits("v1", "Namespace", &[])
            .emits("tekton.dev/v1", "Task", &["*"])
            .emits("tekton.dev/v1", "Pipeline", &["*"])
            .emits("triggers.tekton.dev/v1beta1", "TriggerBinding", &["*"])
            .emits("triggers.tekton.dev/v1beta1", "TriggerTemplate", &["*"])
            .emits("triggers.tekton.dev/v1beta1", "EventListener", &["*"])
            .emits("v1", "ServiceAccount", &["*"])
            .emits("rbac.authorization.k8s.io/v1", "RoleBinding", &["*"])
            .emits("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &[])
            .emits("route.openshift.io/v1", "Route", &["*"])
            .emits("networking.k8s.io/v1", "Ingress", &["*"])
            .emits("monitoring.coreos.com/v1", "ServiceMonitor", &["*"])
    }

    // Nothing here depends on the servers: skip parsing them.
    const READS_HOSTS: bool = false;

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        let mut out = Output::new();

        match config.install {
            Install::Subscription => {
                out.object(install::subscription(&config.channel));
            }
            Install::TektonConfig => {
                out.object(install::tekton_config());
            }
            Install::None => {}
        }
        out.object(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": config.namespace },
        }));
        if config.repositories.is_empty() {
            return Ok(out);
        }

        let secret = app_secret(&input.catalog).ok_or_else(|| {
            Error::at(
                "/catalog",
                "tekton triggers need the webhook secret from builtin:github-app: \
                 add an enabled builtin:github-app component to the catalog",
            )
        })?;
        let repositories = pipeline_names(&config)?;

        let namespace = &config.namespace;
        out.object(tasks::git_clone(namespace, &config.git_image));
        out.object(tasks::run_command(namespace));
        for (name, repo) in &repositories {
            out.object(pipeline::pipeline(name, namespace, repo));
        }

        out.object(triggers::binding(&triggers::PULL_REQUEST, namespace));
        out.object(triggers::binding(&triggers::PUSH, namespace));
        for (name, _) in &repositories {
            out.object(triggers::template(name, &config));
        }
        let account = listener::service_account_name(&config);
        out.object(triggers::event_listener(
            &config,
            &repositories,
            &account,
            &secret,
        ));

        out.object(listener::service_account(&config));
        out.object(listener::role_binding(&config));
        out.object(listener::cluster_role_binding(&config));
        let host = config.host(&input.site);
        out.object(listener::exposure(&config, &host));
        if config.metrics.enabled {
            out.object(listener::service_monitor(&config));
        }
        opsmith_plugin_sdk::log(&format!(
            "GitHub webhook URL of the EventListener: https://{host}/"
        ));
        Ok(out)
    }
}

export_plugin!(Tekton);

/// Each repository with the name of its Pipeline, which must be unique.
fn pipeline_names(config: &Config) -> Result<Vec<(String, &config::Repository)>, Error> {
    let mut first_use: BTreeMap<String, usize> = BTreeMap::new();
    let mut named = Vec::with_capacity(config.repositories.len());
    for (index, repo) in config.repositories.iter().enumerate() {
        let name = repo.pipeline_name(index)?;
        if let Some(other) = first_use.insert(name.clone(), index) {
            return Err(Error::at(
                &format!("/config/repositories/{index}"),
                format!(
                    "pipeline name `{name}` is already used by repositories/{other}: \
                     set `pipeline` to tell them apart"
                ),
            ));
        }
        named.push((name, repo));
    }
    Ok(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmith_plugin_sdk::testing::{EXAMPLE_SITE, catalog_with, object, render};
    use opsmith_plugin_sdk::{Output, Value};

    /// A catalog with the four components that meet in CI; `tweak` edits
    /// them before rendering. Component 1 is this one.
    fn catalog(tweak: impl FnOnce(&mut Vec<Value>)) -> String {
        let mut components = vec![
            json!({
                "name": "github-app",
                "plugin": "builtin:github-app",
                "config": { "appName": "example-ci", "org": "example", "secretName": "gh-app" },
            }),
            json!({
                "name": "tekton",
                "plugin": "builtin:tekton",
                "config": {
                    "repositories": [
                        {
                            "name": "example/Infra.Site",
                            "buildImage": "registry.example.org/ci/node:20",
                            "buildCommand": "npm ci",
                            "testCommand": "npm test",
                        },
                        {
                            "name": "example/tools",
                            "url": "https://git.example.org/example/tools.git",
                            "buildImage": "registry.example.org/ci/go:1.23",
                            "testCommand": "go test ./...",
                        },
                    ],
                },
            }),
            json!({ "name": "prow", "plugin": "builtin:prow", "config": { "namespace": "prow" } }),
            json!({ "name": "argocd", "plugin": "builtin:argocd" }),
        ];
        tweak(&mut components);
        catalog_with(components)
    }

    fn run(catalog: &str) -> Result<Output, Error> {
        let parsed: Value = serde_json::from_str(catalog).unwrap();
        let config = parsed["spec"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "tekton")
            .map_or_else(|| "{}".to_owned(), |c| c["config"].to_string());
        render::<Tekton>("tekton", EXAMPLE_SITE, catalog, &config)
    }

    fn with_config(config: Value) -> String {
        catalog(|c| c[1]["config"] = config)
    }

    fn kinds(out: &Output) -> BTreeMap<String, usize> {
        let mut kinds = BTreeMap::new();
        for o in &out.objects() {
            *kinds
                .entry(o["kind"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        kinds
    }

    #[test]
    fn renders_the_install_the_pipelines_and_the_triggers() {
        let out = run(&catalog(|_| {})).unwrap();
        let expected: BTreeMap<String, usize> = [
            ("ClusterRoleBinding", 1),
            ("EventListener", 1),
            ("Namespace", 1),
            ("Pipeline", 2),
            ("RoleBinding", 1),
            ("Route", 1),
            ("ServiceAccount", 1),
            ("ServiceMonitor", 1),
            ("Subscription", 1),
            ("Task", 2),
            ("TriggerBinding", 2),
            ("TriggerTemplate", 2),
        ]
        .into_iter()
        .map(|(k, n)| (k.to_owned(), n))
        .collect();
        assert_eq!(kinds(&out), expected);
        for o in &out.objects() {
            let namespace = &o["metadata"]["namespace"];
            match o["kind"].as_str().unwrap() {
                "Namespace" | "ClusterRoleBinding" => assert!(namespace.is_null()),
                "Subscription" => assert_eq!(namespace, "openshift-operators"),
                _ => assert_eq!(namespace, "ci", "{o}"),
            }
        }
        let subscription = object(&out, "Subscription", "openshift-pipelines-operator-rh");
        assert_eq!(
            subscription["spec"],
            json!({
                "channel": "latest",
                "installPlanApproval": "Automatic",
                "name": "openshift-pipelines-operator-rh",
                "source": "redhat-operators",
                "sourceNamespace": "openshift-marketplace",
            })
        );
    }

    #[test]
    fn pipeline_clones_builds_and_tests_in_the_repository_image() {
        let out = run(&catalog(|_| {})).unwrap();
        let pipeline = object(&out, "Pipeline", "example-infra-site");
        assert_eq!(pipeline["apiVersion"], "tekton.dev/v1");
        let tasks = pipeline["spec"]["tasks"].as_array().unwrap();
        let names: Vec<_> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["clone", "build", "test"]);
        assert_eq!(tasks[0]["taskRef"]["name"], "git-clone");
        assert_eq!(tasks[1]["runAfter"], json!(["clone"]));
        assert_eq!(tasks[2]["runAfter"], json!(["build"]));
        assert_eq!(
            tasks[2]["params"],
            json!([
                { "name": "image", "value": "registry.example.org/ci/node:20" },
                { "name": "command", "value": "npm test" },
            ])
        );
        let params = &pipeline["spec"]["params"];
        assert_eq!(
            params[0]["default"],
            "https://github.com/example/Infra.Site.git"
        );
        assert_eq!(params[1]["name"], "revision");

        // No build command: the tests run right after the clone.
        let tools = object(&out, "Pipeline", "example-tools");
        let tasks = tools["spec"]["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[1]["runAfter"], json!(["clone"]));
        assert_eq!(
            tools["spec"]["params"][0]["default"],
            "https://git.example.org/example/tools.git"
        );
    }

    #[test]
    fn git_clone_uses_the_pinned_image_and_no_param_in_its_script() {
        let out = run(&catalog(|_| {})).unwrap();
        let step = &object(&out, "Task", "git-clone")["spec"]["steps"][0];
        assert_eq!(step["image"], config::DEFAULT_GIT_IMAGE);
        assert!(!step["script"].as_str().unwrap().contains("$(params."));
        let test = &object(&out, "Task", "run-command")["spec"]["steps"][0];
        assert_eq!(test["image"], "$(params.image)");
        assert_eq!(test["args"], json!(["$(params.command)"]));
    }

    #[test]
    fn listener_verifies_github_signatures_with_the_app_secret() {
        let out = run(&catalog(|_| {})).unwrap();
        let listener = object(&out, "EventListener", "github");
        assert_eq!(listener["spec"]["serviceAccountName"], "github-listener");
        let triggers = listener["spec"]["triggers"].as_array().unwrap();
        let names: Vec<_> = triggers
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "example-infra-site-pull-request",
                "example-infra-site-push",
                "example-tools-pull-request",
                "example-tools-push",
            ]
        );
        let pull_request = &triggers[0];
        assert_eq!(
            pull_request["interceptors"][0],
            json!({
                "ref": { "name": "github" },
                "params": [
                    { "name": "secretRef", "value": { "secretName": "gh-app", "secretKey": "webhook-secret" } },
                    { "name": "eventTypes", "value": ["pull_request"] },
                ],
            })
        );
        let filter = pull_request["interceptors"][1]["params"][0]["value"]
            .as_str()
            .unwrap();
        assert!(
            filter.starts_with("body.repository.full_name == 'example/Infra.Site' && "),
            "{filter}"
        );
        assert!(
            filter.contains("author_association in ['OWNER', 'MEMBER', 'COLLABORATOR']"),
            "{filter}"
        );
        assert_eq!(
            pull_request["bindings"],
            json!([{ "ref": "github-pull-request" }])
        );
        assert_eq!(
            pull_request["template"],
            json!({ "ref": "example-infra-site" })
        );
        assert_eq!(
            triggers[1]["interceptors"][0]["params"][1]["value"],
            json!(["push"])
        );

        let binding = object(&out, "TriggerBinding", "github-push");
        assert_eq!(
            binding["spec"]["params"][1],
            json!({ "name": "revision", "value": "$(body.after)" })
        );
    }

    #[test]
    fn template_runs_the_pipeline_on_a_fresh_volume() {
        let config = json!({
            "workspaceSize": "5Gi",
            "storageClassName": "fast",
            "repositories": [{ "name": "example/tools", "buildImage": "golang:1.23", "testCommand": "go test ./..." }],
        });
        let out = run(&with_config(config)).unwrap();
        let run = &object(&out, "TriggerTemplate", "example-tools")["spec"]["resourcetemplates"][0];
        assert_eq!(run["kind"], "PipelineRun");
        assert_eq!(run["metadata"]["generateName"], "example-tools-");
        assert_eq!(run["spec"]["pipelineRef"]["name"], "example-tools");
        let claim = &run["spec"]["workspaces"][0]["volumeClaimTemplate"]["spec"];
        assert_eq!(claim["resources"]["requests"]["storage"], "5Gi");
        assert_eq!(claim["storageClassName"], "fast");
    }

    #[test]
    fn listener_rbac_and_route_follow_the_config() {
        let config = json!({
            "namespace": "pipelines",
            "listenerName": "hooks",
            "repositories": [{ "name": "example/tools", "buildImage": "golang:1.23", "testCommand": "go test ./..." }],
        });
        let out = run(&with_config(config)).unwrap();
        let binding = object(&out, "RoleBinding", "hooks-listener");
        assert_eq!(
            binding["roleRef"]["name"],
            "tekton-triggers-eventlistener-roles"
        );
        let cluster = object(&out, "ClusterRoleBinding", "pipelines-hooks-listener");
        assert_eq!(
            cluster["roleRef"]["name"],
            "tekton-triggers-eventlistener-clusterroles"
        );
        assert_eq!(
            cluster["subjects"],
            json!([{ "kind": "ServiceAccount", "name": "hooks-listener", "namespace": "pipelines" }])
        );
        let route = object(&out, "Route", "el-hooks");
        assert_eq!(
            route["spec"]["host"],
            "el-hooks-pipelines.apps.example.example.org"
        );
        assert_eq!(route["spec"]["to"]["name"], "el-hooks");
        assert_eq!(route["spec"]["port"]["targetPort"], 8080);
        assert_eq!(route["spec"]["tls"]["termination"], "edge");
    }

    #[test]
    fn ingress_instead_of_route() {
        let config = json!({
            "exposure": "ingress",
            "host": "ci-hooks.example.org",
            "repositories": [{ "name": "example/tools", "buildImage": "golang:1.23", "testCommand": "go test ./..." }],
        });
        let out = run(&with_config(config)).unwrap();
        assert!(!kinds(&out).contains_key("Route"));
        let ingress = object(&out, "Ingress", "el-github");
        let rule = &ingress["spec"]["rules"][0];
        assert_eq!(rule["host"], "ci-hooks.example.org");
        assert_eq!(
            rule["http"]["paths"][0]["backend"],
            json!({ "service": { "name": "el-github", "port": { "number": 8080 } } })
        );
    }

    #[test]
    fn service_monitor_selects_the_listener_service_triggers_creates() {
        let config = json!({
            "namespace": "pipelines",
            "listenerName": "hooks",
            "repositories": [{ "name": "example/tools", "buildImage": "golang:1.23", "testCommand": "go test ./..." }],
        });
        let out = run(&with_config(config.clone())).unwrap();
        assert_eq!(
            object(&out, "ServiceMonitor", "pipelines/el-hooks"),
            json!({
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": { "name": "el-hooks", "namespace": "pipelines" },
                "spec": {
                    "selector": {
                        "matchLabels": {
                            "app.kubernetes.io/managed-by": "EventListener",
                            "eventlistener": "hooks",
                        },
                    },
                    "endpoints": [{ "port": "http-metrics", "path": "/metrics", "scheme": "http" }],
                },
            })
        );

        let mut off = config;
        off["metrics"] = json!({ "enabled": false });
        let out = run(&with_config(off)).unwrap();
        assert!(!kinds(&out).contains_key("ServiceMonitor"));
        // Without repositories there is no listener to scrape.
        let out = run(&with_config(json!({}))).unwrap();
        assert!(!kinds(&out).contains_key("ServiceMonitor"));
    }

    #[test]
    fn install_modes() {
        let out = run(&with_config(json!({ "install": "tektonconfig" }))).unwrap();
        let tekton_config = object(&out, "TektonConfig", "config");
        assert_eq!(tekton_config["apiVersion"], "operator.tekton.dev/v1alpha1");
        assert_eq!(
            tekton_config["spec"]["targetNamespace"],
            "openshift-pipelines"
        );
        assert_eq!(kinds(&out).len(), 2);

        let out = run(&with_config(
            json!({ "install": "none", "channel": "pipelines-1.16" }),
        ))
        .unwrap();
        assert_eq!(out.objects().len(), 1);
        assert_eq!(out.objects()[0]["kind"], "Namespace");

        let out = run(&with_config(json!({ "channel": "pipelines-1.16" }))).unwrap();
        assert_eq!(
            object(&out, "Subscription", "openshift-pipelines-operator-rh")["spec"]["channel"],
            "pipelines-1.16"
        );
    }

    #[test]
    fn repositories_need_the_github_app() {
        let catalog = catalog(|c| c[0]["enabled"] = json!(false));
        let err = run(&catalog).unwrap_err();
        assert_eq!(err.pointer, "/catalog");
        assert!(err.message.contains("builtin:github-app"), "{err}");

        // Without repositories there is no listener, and nothing needs the app.
        let catalog = catalog_without_app_or_repositories();
        assert_eq!(run(&catalog).unwrap().objects().len(), 2);
    }

    fn catalog_without_app_or_repositories() -> String {
        catalog(|c| {
            c.remove(0);
            c[0]["config"] = json!({});
        })
    }

    #[test]
    fn pipeline_names_are_checked() {
        let long = format!("example/{}", "a".repeat(60));
        let config = json!({ "repositories": [{ "name": long, "buildImage": "alpine", "testCommand": "true" }] });
        let err = run(&with_config(config)).unwrap_err();
        assert_eq!(err.pointer, "/config/repositories/0/name");

        let config = json!({
            "repositories": [
                { "name": "example/tools", "buildImage": "alpine", "testCommand": "true" },
                { "name": "Example/Tools", "buildImage": "alpine", "testCommand": "true" },
            ],
        });
        let err = run(&with_config(config.clone())).unwrap_err();
        assert_eq!(err.pointer, "/config/repositories/1");

        let mut config = config;
        config["repositories"][1]["pipeline"] = json!("tools-upper");
        let out = run(&with_config(config)).unwrap();
        object(&out, "Pipeline", "tools-upper");
    }

    #[test]
    fn operator_kinds_skip_argocd_dry_run() {
        let out = run(&catalog(|_| {})).unwrap();
        for o in &out.objects() {
            let annotation = &o["metadata"]["annotations"]["argocd.argoproj.io/sync-options"];
            let group = o["apiVersion"].as_str().unwrap();
            let operator_kind =
                group.starts_with("tekton.dev/") || group.starts_with("triggers.tekton.dev/");
            assert_eq!(
                annotation == "SkipDryRunOnMissingResource=true",
                operator_kind,
                "{o}"
            );
        }
    }

    #[test]
    fn schema_lists_every_config_field_with_a_description() {
        let schema = Tekton::describe().config_schema;
        assert_eq!(schema["additionalProperties"], false);
        let properties = schema["properties"].as_object().unwrap();
        assert_eq!(properties.len(), 12);
        for (field, property) in properties {
            assert!(property["description"].is_string(), "{field}");
        }
        let repo = &properties["repositories"]["items"];
        assert_eq!(repo["additionalProperties"], false);
        for (field, property) in repo["properties"].as_object().unwrap() {
            assert!(property["description"].is_string(), "repositories.{field}");
        }
        // The defaults the schema documents are the ones `render` uses.
        let defaults = Config::default();
        assert_eq!(
            properties["namespace"]["default"],
            defaults.namespace.as_str()
        );
        assert_eq!(
            properties["gitImage"]["default"],
            defaults.git_image.as_str()
        );
        assert_eq!(
            properties["trustedAuthorAssociations"]["default"],
            json!(defaults.trusted_author_associations)
        );
    }

    /// Writes every rendered object, and each TriggerTemplate's PipelineRun,
    /// as JSON files into `$OPSMITH_DUMP_DIR`, for checking them against
    /// upstream schemas by hand:
    /// `OPSMITH_DUMP_DIR=/tmp/tekton cargo test -p opsmith-plugin-tekton -- --ignored`.
    #[test]
    #[ignore = "writes files; run by hand"]
    fn dump_objects() {
        let Some(dir) = std::env::var_os("OPSMITH_DUMP_DIR") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut objects = run(&catalog(|_| {})).unwrap().objects();
        let ingress = json!({
            "exposure": "ingress",
            "install": "tektonconfig",
            "repositories": [{ "name": "example/tools", "buildImage": "golang:1.23", "testCommand": "go test ./..." }],
        });
        objects.extend(
            run(&with_config(ingress))
                .unwrap()
                .objects()
                .into_iter()
                .filter(|o| o["kind"] == "Ingress" || o["kind"] == "TektonConfig"),
        );
        for template in objects
            .clone()
            .iter()
            .filter(|o| o["kind"] == "TriggerTemplate")
        {
            for mut run in template["spec"]["resourcetemplates"]
                .as_array()
                .unwrap()
                .clone()
            {
                run["metadata"] = json!({ "name": format!("{}run", run["metadata"]["generateName"].as_str().unwrap()) });
                objects.push(run);
            }
        }
        for (i, o) in objects.iter().enumerate() {
            let name = format!(
                "{i:02}-{}-{}.json",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            );
            std::fs::write(dir.join(name), serde_json::to_string_pretty(o).unwrap()).unwrap();
        }
    }
}
