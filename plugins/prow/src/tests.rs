//! Renders the SDK's example site with a catalog that has a GitHub App and a
//! Prow component, and checks what comes out.

use std::collections::BTreeSet;

use opsmith_plugin_sdk::testing::{EXAMPLE_SITE, catalog_with, render};
use opsmith_plugin_sdk::{Output, Plugin, Severity, Value, json};

use super::ProwPlugin;
use crate::settings::DEFAULT_IMAGE_TAG;

/// A prow config with storage, two jobs, an org and a repo outside it.
fn full_config() -> Value {
    json!({
        "orgs": ["example-org"],
        "repos": ["example-org/infra", "other-org/tools"],
        "inRepoConfig": true,
        "tide": { "mergeMethod": "squash" },
        "storage": { "bucket": "s3://prow-logs", "credentialsRef": "prow/storage" },
        "presubmits": [{
            "name": "unit",
            "repo": "example-org/infra",
            "alwaysRun": true,
            "spec": { "containers": [{ "image": "golang:1.22", "command": ["make"], "args": ["test"] }] },
        }],
        "postsubmits": [{
            "name": "publish",
            "repo": "other-org/tools",
            "branches": ["^main$"],
            "spec": { "containers": [{ "image": "alpine:3.20", "command": ["./publish.sh"] }] },
        }],
    })
}

/// The example catalog with a github-app component (optionally with its own
/// config) and a prow component carrying `prow_config`.
fn catalog(github_app: Option<Value>, prow_config: &Value) -> String {
    let mut components = Vec::new();
    if let Some(app_config) = github_app {
        components.push(json!({
            "name": "github-app",
            "plugin": "builtin:github-app",
            "config": app_config,
            "path": "clusters/example/github-app",
        }));
    }
    components.push(json!({
        "name": "prow",
        "plugin": "builtin:prow",
        "config": prow_config,
        "path": "clusters/example/prow",
    }));
    catalog_with(components)
}

fn render_with(prow_config: Value) -> Result<Output, opsmith_plugin_sdk::Error> {
    render::<ProwPlugin>(
        "prow",
        EXAMPLE_SITE,
        &catalog(Some(json!({})), &prow_config),
        &prow_config.to_string(),
    )
}

fn find(out: &Output, kind: &str, namespace: &str, name: &str) -> Value {
    opsmith_plugin_sdk::testing::object(out, kind, &format!("{namespace}/{name}"))
}

fn container(out: &Output, deployment: &str) -> Value {
    find(out, "Deployment", "prow", deployment)["spec"]["template"]["spec"]["containers"][0].take()
}

fn args(out: &Output, deployment: &str) -> Vec<String> {
    container(out, deployment)["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

fn config_map_yaml(out: &Output, name: &str, key: &str) -> Value {
    let config_map = find(out, "ConfigMap", "prow", name);
    let text = config_map["data"][key].as_str().unwrap();
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn renders_every_core_component() {
    let out = render_with(full_config()).unwrap();
    let objects = out.objects();
    let deployments: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    let expected = [
        "crier",
        "deck",
        "ghproxy",
        "hook",
        "horologium",
        "prow-controller-manager",
        "sinker",
        "statusreconciler",
        "tide",
    ];
    assert_eq!(deployments, expected.into_iter().collect());
    for service in ["hook", "deck", "tide", "ghproxy"] {
        find(&out, "Service", "prow", service);
    }
    find(&out, "Namespace", "", "prow");
    find(&out, "Namespace", "", "test-pods");
    find(&out, "PersistentVolumeClaim", "prow", "ghproxy");
    assert_eq!(
        container(&out, "hook")["image"],
        format!("us-docker.pkg.dev/k8s-infra-prow/images/hook:{DEFAULT_IMAGE_TAG}")
    );
    assert_eq!(
        container(&out, "statusreconciler")["image"],
        format!("us-docker.pkg.dev/k8s-infra-prow/images/status-reconciler:{DEFAULT_IMAGE_TAG}")
    );
}

#[test]
fn components_authenticate_as_the_github_app() {
    let out = render_with(full_config()).unwrap();
    for name in [
        "hook",
        "deck",
        "tide",
        "crier",
        "prow-controller-manager",
        "statusreconciler",
    ] {
        let args = args(&out, name);
        assert!(
            args.contains(&"--github-app-id=$(GITHUB_APP_ID)".to_owned()),
            "{name}: {args:?}"
        );
        assert!(
            args.contains(&"--github-app-private-key-path=/etc/github/private-key".to_owned()),
            "{name}"
        );
        assert!(
            args.contains(&"--github-endpoint=http://ghproxy".to_owned()),
            "{name}"
        );
        let env = &container(&out, name)["env"][0];
        assert_eq!(env["name"], "GITHUB_APP_ID");
        assert_eq!(
            env["valueFrom"]["secretKeyRef"],
            json!({ "name": "github-app", "key": "app-id" })
        );
    }

    let hook = find(&out, "Deployment", "prow", "hook");
    assert!(args(&out, "hook").contains(&"--hmac-secret-file=/etc/webhook/hmac".to_owned()));
    let volumes = &hook["spec"]["template"]["spec"]["volumes"];
    let secret_items = |volume: &str| {
        volumes
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == volume)
            .unwrap()["secret"]
            .clone()
    };
    assert_eq!(
        secret_items("hmac"),
        json!({ "secretName": "github-app", "items": [{ "key": "webhook-secret", "path": "hmac" }] })
    );
    assert_eq!(
        secret_items("github-app"),
        json!({ "secretName": "github-app", "items": [{ "key": "private-key", "path": "private-key" }] })
    );
    // Only hook gets the webhook secret.
    let deck_volumes =
        &find(&out, "Deployment", "prow", "deck")["spec"]["template"]["spec"]["volumes"];
    assert!(
        deck_volumes
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["name"] != "hmac")
    );
}

#[test]
fn every_service_account_a_deployment_runs_as_exists_and_has_a_role() {
    let out = render_with(full_config()).unwrap();
    let objects = out.objects();
    let accounts: Vec<&str> = objects
        .iter()
        .filter_map(|o| o["spec"]["template"]["spec"]["serviceAccountName"].as_str())
        .collect();
    assert_eq!(
        accounts.len(),
        8,
        "every Deployment but ghproxy has its own account"
    );
    for account in accounts {
        find(&out, "ServiceAccount", "prow", account);
        find(&out, "Role", "prow", account);
        let binding = find(&out, "RoleBinding", "prow", account);
        assert_eq!(binding["subjects"][0]["name"], account);
    }
    let cluster_scoped: Vec<&Value> = objects
        .iter()
        .filter(|o| o["metadata"]["namespace"].is_null())
        .collect();
    assert!(
        cluster_scoped.iter().all(|o| o["kind"] == "Namespace"),
        "no ClusterRoles needed"
    );
}

#[test]
fn follows_the_github_app_secret_name() {
    let config = full_config();
    let catalog = catalog(Some(json!({ "secretName": "ci-bot" })), &config);
    let out = render::<ProwPlugin>("prow", EXAMPLE_SITE, &catalog, &config.to_string()).unwrap();
    assert_eq!(
        container(&out, "tide")["env"][0]["valueFrom"]["secretKeyRef"]["name"],
        "ci-bot"
    );
}

#[test]
fn needs_a_github_app_component() {
    let config = full_config();
    let err = render::<ProwPlugin>(
        "prow",
        EXAMPLE_SITE,
        &catalog(None, &config),
        &config.to_string(),
    )
    .unwrap_err();
    assert_eq!(err.pointer, "/catalog");
    assert!(
        err.message.contains("builtin:github-app"),
        "{}",
        err.message
    );
}

#[test]
fn config_yaml_has_namespaces_tide_and_jobs() {
    let out = render_with(full_config()).unwrap();
    let config = config_map_yaml(&out, "config", "config.yaml");
    assert_eq!(config["prowjob_namespace"], "prow");
    assert_eq!(config["pod_namespace"], "test-pods");

    let queries = config["tide"]["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 2);
    assert_eq!(queries[0]["orgs"], json!(["example-org"]));
    // example-org/infra is covered by its org; only the other repo gets a query.
    assert_eq!(queries[1]["repos"], json!(["other-org/tools"]));
    for query in queries {
        assert_eq!(query["labels"], json!(["lgtm", "approved"]));
        assert!(
            query["missingLabels"]
                .as_array()
                .unwrap()
                .contains(&json!("do-not-merge/hold"))
        );
    }
    assert_eq!(config["tide"]["merge_method"]["example-org"], "squash");
    assert_eq!(
        config["tide"]["target_url"],
        "https://prow.apps.example.example.org/tide"
    );

    assert_eq!(
        config["in_repo_config"]["enabled"],
        json!({ "example-org": true, "other-org/tools": true })
    );

    let unit = &config["presubmits"]["example-org/infra"][0];
    assert_eq!(unit["name"], "unit");
    assert_eq!(unit["always_run"], true);
    assert_eq!(unit["decorate"], true);
    assert_eq!(unit["spec"]["containers"][0]["command"], json!(["make"]));
    assert_eq!(
        config["postsubmits"]["other-org/tools"][0]["branches"],
        json!(["^main$"])
    );

    let decoration = &config["plank"]["default_decoration_config_entries"][0]["config"];
    assert_eq!(decoration["gcs_configuration"]["bucket"], "s3://prow-logs");
    assert_eq!(decoration["s3_credentials_secret"], "storage-credentials");
    assert_eq!(
        decoration["utility_images"]["clonerefs"],
        format!("us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:{DEFAULT_IMAGE_TAG}")
    );
}

#[test]
fn plugins_yaml_enables_the_plugins_per_org_and_repo() {
    let out = render_with(full_config()).unwrap();
    let plugins = config_map_yaml(&out, "plugins", "plugins.yaml");
    let expected = json!([
        "approve",
        "assign",
        "help",
        "hold",
        "label",
        "lgtm",
        "size",
        "trigger",
        "verify-owners",
        "wip"
    ]);
    assert_eq!(plugins["plugins"]["example-org"]["plugins"], expected);
    assert_eq!(plugins["plugins"]["other-org/tools"]["plugins"], expected);
    // Enabling them again for a repo of a listed org would be rejected by Prow.
    assert!(plugins["plugins"].get("example-org/infra").is_none());

    let out =
        render_with(json!({ "orgs": ["example-org"], "plugins": ["trigger", "lgtm"] })).unwrap();
    let plugins = config_map_yaml(&out, "plugins", "plugins.yaml");
    assert_eq!(
        plugins["plugins"]["example-org"]["plugins"],
        json!(["trigger", "lgtm"])
    );
}

#[test]
fn storage_flags_follow_the_bucket() {
    let out = render_with(full_config()).unwrap();
    let file = "--s3-credentials-file=/etc/storage-credentials/service-account.json".to_owned();
    for name in ["deck", "tide", "crier", "statusreconciler"] {
        assert!(args(&out, name).contains(&file), "{name}");
    }
    assert!(args(&out, "tide").contains(&"--status-path=s3://prow-logs/tide-status".to_owned()));
    assert!(args(&out, "deck").contains(&"--spyglass=true".to_owned()));
    for namespace in ["prow", "test-pods"] {
        let secret = find(&out, "ExternalSecret", namespace, "storage-credentials");
        assert_eq!(
            secret["spec"]["data"][0]["remoteRef"]["key"],
            "prow/storage"
        );
        assert_eq!(
            secret["spec"]["secretStoreRef"],
            json!({ "kind": "ClusterSecretStore", "name": "vault" })
        );
    }

    let mut gcs = full_config();
    gcs["storage"]["bucket"] = json!("gs://prow-artifacts");
    let out = render_with(gcs).unwrap();
    assert!(args(&out, "crier").contains(
        &"--gcs-credentials-file=/etc/storage-credentials/service-account.json".to_owned()
    ));
    let config = config_map_yaml(&out, "config", "config.yaml");
    assert_eq!(
        config["plank"]["default_decoration_config_entries"][0]["config"]["gcs_credentials_secret"],
        "storage-credentials"
    );
}

#[test]
fn without_storage_prow_runs_undecorated_and_says_so() {
    let out = render_with(json!({
        "orgs": ["example-org"],
        "presubmits": [{ "name": "lint", "repo": "example-org/infra", "spec": { "containers": [{ "image": "alpine" }] } }],
    }))
    .unwrap();
    assert!(
        out.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Warning && d.pointer == "/config/storage")
    );
    for name in ["deck", "tide", "crier", "statusreconciler"] {
        assert!(
            args(&out, name)
                .iter()
                .all(|a| !a.contains("credentials-file") && !a.contains("s3://")),
            "{name}"
        );
    }
    assert!(!out.objects().iter().any(|o| o["kind"] == "ExternalSecret"));
    let config = config_map_yaml(&out, "config", "config.yaml");
    assert!(config.get("plank").is_none());
    assert_eq!(
        config["presubmits"]["example-org/infra"][0]["decorate"],
        false
    );

    let err = render_with(json!({
        "orgs": ["example-org"],
        "presubmits": [{ "name": "lint", "repo": "example-org/infra", "decorate": true, "spec": { "containers": [{ "image": "alpine", "command": ["true"] }] } }],
    }))
    .unwrap_err();
    assert_eq!(err.pointer, "/config/presubmits/0/decorate");
}

#[test]
fn exposes_deck_and_hook_by_route_or_ingress() {
    let out = render_with(full_config()).unwrap();
    let hook = find(&out, "Route", "prow", "hook");
    assert_eq!(hook["spec"]["host"], "prow.apps.example.example.org");
    assert_eq!(hook["spec"]["path"], "/hook");
    assert_eq!(find(&out, "Route", "prow", "deck")["spec"]["path"], "/");
    assert!(!out.objects().iter().any(|o| o["kind"] == "Ingress"));

    let mut config = full_config();
    config["exposure"] = json!("ingress");
    config["host"] = json!("prow.example.org");
    let out = render_with(config).unwrap();
    assert!(!out.objects().iter().any(|o| o["kind"] == "Route"));
    let rule = &find(&out, "Ingress", "prow", "prow")["spec"]["rules"][0];
    assert_eq!(rule["host"], "prow.example.org");
    assert_eq!(rule["http"]["paths"][1]["path"], "/hook");
    assert_eq!(
        rule["http"]["paths"][1]["backend"]["service"]["name"],
        "hook"
    );
}

#[test]
fn namespaces_and_images_are_configurable() {
    let mut config = full_config();
    config["namespace"] = json!("ci");
    config["testPodNamespace"] = json!("ci-jobs");
    config["images"] = json!({
        "registry": "registry.example.org/prow",
        "tag": "v2",
        "overrides": { "ghproxy": "registry.example.org/ghproxy@sha256:0123" },
    });
    let out = render_with(config).unwrap();
    let objects = out.objects();
    let sinker = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "sinker")
        .unwrap();
    assert_eq!(sinker["metadata"]["namespace"], "ci");
    assert_eq!(
        sinker["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.org/prow/sinker:v2"
    );
    let ghproxy = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "ghproxy")
        .unwrap();
    assert_eq!(
        ghproxy["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.org/ghproxy@sha256:0123"
    );
    let binding = objects
        .iter()
        .find(|o| {
            o["kind"] == "RoleBinding"
                && o["metadata"]["namespace"] == "ci-jobs"
                && o["metadata"]["name"] == "sinker"
        })
        .unwrap();
    assert_eq!(binding["subjects"][0]["namespace"], "ci");
    let text = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "config")
        .unwrap()["data"]["config.yaml"]
        .as_str()
        .unwrap();
    let parsed: Value = serde_saphyr::from_str(text).unwrap();
    assert_eq!(parsed["pod_namespace"], "ci-jobs");
}

#[test]
fn rejects_what_prow_would_reject() {
    let cases = [
        (json!({}), "/config/orgs"),
        (
            json!({ "orgs": ["o"], "testPodNamespace": "prow" }),
            "/config/testPodNamespace",
        ),
        (
            json!({ "orgs": ["o"], "storage": { "bucket": "prow-logs", "credentialsRef": "k" } }),
            "/config/storage/bucket",
        ),
        (
            json!({ "orgs": ["o"], "images": { "overrides": { "hooks": "x" } } }),
            "/config/images/overrides/hooks",
        ),
        (
            json!({ "orgs": ["o"], "presubmits": [{ "name": "a", "repo": "o/r", "alwaysRun": true, "runIfChanged": "x", "spec": { "containers": [{ "image": "i" }] } }] }),
            "/config/presubmits/0/runIfChanged",
        ),
        (
            json!({ "orgs": ["o"], "presubmits": [
                { "name": "a", "repo": "o/r", "spec": { "containers": [{ "image": "i" }] } },
                { "name": "a", "repo": "o/r", "spec": { "containers": [{ "image": "i" }] } },
            ] }),
            "/config/presubmits/1/name",
        ),
        (
            json!({ "orgs": ["o"], "storage": { "bucket": "s3://b", "credentialsRef": "k" }, "presubmits": [{ "name": "a", "repo": "o/r", "spec": { "containers": [{ "image": "i" }] } }] }),
            "/config/presubmits/0/spec/containers/0",
        ),
        (
            json!({ "orgs": ["o"], "postsubmits": [{ "name": "a", "repo": "o/r", "spec": { "containers": [{ "image": "i" }, { "image": "j" }] } }] }),
            "/config/postsubmits/0/spec/containers/1",
        ),
    ];
    for (config, pointer) in cases {
        let err = render_with(config.clone()).unwrap_err();
        assert_eq!(err.pointer, pointer, "{config}: {}", err.message);
    }
}

#[test]
fn warns_about_jobs_outside_the_served_repos_and_config_updater() {
    let out = render_with(json!({
        "orgs": ["o"],
        "plugins": ["trigger", "config-updater"],
        "presubmits": [{ "name": "a", "repo": "elsewhere/r", "spec": { "containers": [{ "image": "i" }] } }],
    }))
    .unwrap();
    let pointers: Vec<&str> = out.diagnostics.iter().map(|d| d.pointer.as_str()).collect();
    assert!(
        pointers.contains(&"/config/presubmits/0/repo"),
        "{pointers:?}"
    );
    assert!(pointers.contains(&"/config/plugins/1"), "{pointers:?}");
}

#[test]
fn installs_the_crd_only_when_asked() {
    let out = render_with(full_config()).unwrap();
    assert!(
        !out.objects()
            .iter()
            .any(|o| o["kind"] == "CustomResourceDefinition")
    );
    assert!(
        out.diagnostics
            .iter()
            .any(|d| d.pointer == "/config/installCRD")
    );

    let mut config = full_config();
    config["installCRD"] = json!(true);
    let out = render_with(config).unwrap();
    let crd = find(&out, "CustomResourceDefinition", "", "prowjobs.prow.k8s.io");
    assert_eq!(crd["spec"]["names"]["kind"], "ProwJob");
}

#[test]
fn ghproxy_cache_can_be_ephemeral() {
    let mut config = full_config();
    config["ghproxy"] = json!({ "persistentCache": false, "cacheSizeGB": 5 });
    let out = render_with(config).unwrap();
    assert!(
        !out.objects()
            .iter()
            .any(|o| o["kind"] == "PersistentVolumeClaim")
    );
    let pod = &find(&out, "Deployment", "prow", "ghproxy")["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0]["emptyDir"]["sizeLimit"], "6Gi");
    assert!(args(&out, "ghproxy").contains(&"--cache-sizeGB=5".to_owned()));
}

#[test]
fn emits_declares_every_rendered_kind_and_namespace() {
    let info = ProwPlugin::describe();
    let mut config = full_config();
    config["installCRD"] = json!(true);
    let mut ingress = full_config();
    ingress["exposure"] = json!("ingress");
    for out in [render_with(config).unwrap(), render_with(ingress).unwrap()] {
        for object in &out.objects() {
            let namespace = object["metadata"]["namespace"].as_str();
            let allowed = info.emits.iter().any(|e| {
                e.api_version == object["apiVersion"]
                    && e.kind == object["kind"]
                    && match namespace {
                        None => e.namespaces.is_empty(),
                        Some(ns) => e.namespaces.iter().any(|n| n == ns),
                    }
            });
            assert!(
                allowed,
                "{} {} in {namespace:?} is not declared",
                object["apiVersion"], object["kind"]
            );
        }
    }
}

#[test]
fn schema_documents_every_property_and_its_defaults_hold() {
    fn walk(schema: &Value, path: &str) {
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            assert_eq!(schema["additionalProperties"], false, "{path}");
            for (name, property) in properties {
                assert!(
                    property.get("description").is_some(),
                    "{path}/{name} has no description"
                );
                walk(property, &format!("{path}/{name}"));
            }
        }
        if let Some(items) = schema.get("items") {
            walk(items, &format!("{path}/items"));
        }
    }
    let schema = ProwPlugin::describe().config_schema;
    walk(&schema, "");

    // The schema's defaults are what the plugin does when the catalog says nothing.
    let defaults = crate::settings::Config::default();
    let properties = &schema["properties"];
    assert_eq!(
        properties["namespace"]["default"],
        json!(defaults.namespace)
    );
    assert_eq!(
        properties["testPodNamespace"]["default"],
        json!(defaults.test_pod_namespace)
    );
    assert_eq!(properties["plugins"]["default"], json!(defaults.plugins));
    assert_eq!(
        properties["tide"]["properties"]["labels"]["default"],
        json!(defaults.tide.labels)
    );
    assert_eq!(
        properties["images"]["properties"]["tag"]["default"],
        json!(defaults.images.tag)
    );
    assert_eq!(
        properties["ghproxy"]["properties"]["cacheSizeGB"]["default"],
        json!(defaults.ghproxy.cache_size_gb)
    );
}

#[test]
fn metrics_ports_and_one_service_monitor() {
    let out = render_with(full_config()).unwrap();
    assert_eq!(
        find(&out, "ServiceMonitor", "prow", "prow"),
        json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {
                "name": "prow",
                "namespace": "prow",
                "labels": { "app": "prow", "app.kubernetes.io/part-of": "prow" },
            },
            "spec": {
                "selector": { "matchLabels": { "app.kubernetes.io/part-of": "prow" } },
                "jobLabel": "app",
                "endpoints": [{ "port": "metrics", "path": "/metrics", "scheme": "http" }],
            },
        })
    );
    assert_eq!(
        find(&out, "Service", "prow", "hook"),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "hook",
                "namespace": "prow",
                "labels": { "app": "hook", "app.kubernetes.io/part-of": "prow" },
            },
            "spec": {
                "selector": { "app": "hook" },
                "ports": [
                    { "name": "http", "port": 8888, "targetPort": "http" },
                    { "name": "health", "port": 8081, "targetPort": 8081 },
                    { "name": "metrics", "port": 9090, "targetPort": "metrics" },
                ],
            },
        })
    );
    // Components that no one calls get a Service for Prometheus only.
    assert_eq!(
        find(&out, "Service", "prow", "prow-controller-manager"),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "prow-controller-manager",
                "namespace": "prow",
                "labels": { "app": "prow-controller-manager", "app.kubernetes.io/part-of": "prow" },
            },
            "spec": {
                "selector": { "app": "prow-controller-manager" },
                "ports": [{ "name": "metrics", "port": 9090, "targetPort": "metrics" }],
            },
        })
    );
    for name in [
        "hook",
        "deck",
        "tide",
        "horologium",
        "sinker",
        "crier",
        "prow-controller-manager",
        "ghproxy",
    ] {
        let ports = &container(&out, name)["ports"];
        let metrics: Vec<&Value> = ports
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["name"] == "metrics")
            .collect();
        assert_eq!(
            metrics,
            [&json!({ "name": "metrics", "containerPort": 9090 })],
            "{name}"
        );
        let service = find(&out, "Service", "prow", name);
        assert!(
            service["spec"]["ports"]
                .as_array()
                .unwrap()
                .contains(&json!({ "name": "metrics", "port": 9090, "targetPort": "metrics" })),
            "{name}"
        );
    }
    // status-reconciler serves no metrics (it never calls metrics.ExposeMetrics).
    assert!(container(&out, "statusreconciler").get("ports").is_none());
}

#[test]
fn without_metrics_only_ghproxy_keeps_its_metrics_port() {
    let mut config = full_config();
    config["metrics"] = json!({ "enabled": false });
    let out = render_with(config).unwrap();
    let objects = out.objects();
    assert!(!objects.iter().any(|o| o["kind"] == "ServiceMonitor"));
    let services: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "Service")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        ["deck", "ghproxy", "hook", "tide"].into_iter().collect()
    );
    assert_eq!(
        container(&out, "tide")["ports"],
        json!([{ "name": "http", "containerPort": 8888 }])
    );
    assert_eq!(
        find(&out, "Service", "prow", "tide")["spec"]["ports"],
        json!([{ "name": "http", "port": 80, "targetPort": "http" }])
    );
    assert_eq!(
        container(&out, "ghproxy")["ports"][1],
        json!({ "name": "metrics", "containerPort": 9090 })
    );
}

/// The catalog of `render_with`, plus a tekton component with a listener
/// and an argocd component, as the reference site has them.
fn catalog_with_tekton_and_argocd(prow_config: &Value, argocd_config: Value) -> String {
    let mut catalog: Value = serde_json::from_str(&catalog(Some(json!({})), prow_config)).unwrap();
    let components = catalog["spec"]["components"].as_array_mut().unwrap();
    components.push(json!({
        "name": "tekton",
        "plugin": "builtin:tekton",
        "config": {
            "namespace": "pipelines",
            "listenerName": "hooks",
            "repositories": [{ "name": "o/r", "buildImage": "alpine", "testCommand": "true" }],
        },
    }));
    components
        .push(json!({ "name": "argocd", "plugin": "builtin:argocd", "config": argocd_config }));
    catalog.to_string()
}

const CURL_IMAGE: &str = "registry.example.org/curl@sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn smoke_check_is_a_periodic_that_asks_every_component() {
    let mut config = full_config();
    config["smokeCheck"] = json!({
        "enabled": true,
        "interval": "30m",
        "image": CURL_IMAGE,
        "urls": ["https://status.example.org/"],
    });
    let catalog = catalog_with_tekton_and_argocd(&config, json!({}));
    let out = render::<ProwPlugin>("prow", EXAMPLE_SITE, &catalog, &config.to_string()).unwrap();
    assert!(
        out.diagnostics
            .iter()
            .all(|d| !d.pointer.starts_with("/config/smokeCheck"))
    );
    let prow_config = config_map_yaml(&out, "config", "config.yaml");
    let script = crate::smoke::SCRIPT;
    assert_eq!(
        prow_config["periodics"],
        json!([{
            "name": "opsmith-smoke-check",
            "interval": "30m",
            // Storage is configured, so the job's log is uploaded like any other.
            "decorate": true,
            "spec": {
                "automountServiceAccountToken": false,
                "securityContext": { "seccompProfile": { "type": "RuntimeDefault" } },
                "containers": [{
                    "name": "smoke-check",
                    "image": CURL_IMAGE,
                    "command": ["/bin/sh", "-c", script, "opsmith-smoke-check"],
                    "args": [
                        "http://hook.prow.svc:8081/healthz/ready",
                        "http://deck.prow.svc:8081/healthz/ready",
                        "http://el-hooks.pipelines.svc:8080/live",
                        "https://openshift-gitops-server.openshift-gitops.svc/healthz",
                        "https://status.example.org/",
                    ],
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "capabilities": { "drop": ["ALL"] },
                    },
                }],
            },
        }])
    );

    // The argocd component's instance and namespace, when it names them.
    let catalog = catalog_with_tekton_and_argocd(
        &config,
        json!({ "namespace": "gitops", "instance": "infra" }),
    );
    let out = render::<ProwPlugin>("prow", EXAMPLE_SITE, &catalog, &config.to_string()).unwrap();
    let args = &config_map_yaml(&out, "config", "config.yaml")["periodics"][0]["spec"]["containers"]
        [0]["args"];
    assert_eq!(args[3], "https://infra-server.gitops.svc/healthz");
}

#[test]
fn smoke_check_script_fails_when_one_url_does_not_answer() {
    // The script run by a real shell, with `curl` a stand-in that succeeds
    // for URLs containing "up".
    let dir = std::env::temp_dir().join(format!("opsmith-prow-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let curl = dir.join("curl");
    std::fs::write(
        &curl,
        "#!/bin/sh\nfor a; do last=$a; done\ncase $last in *up*) exit 0;; *) exit 22;; esac\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&curl, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |urls: &[&str]| {
        std::process::Command::new("/bin/sh")
            .args(["-c", crate::smoke::SCRIPT, "opsmith-smoke-check"])
            .args(urls)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let all_up = run(&["http://up-1/", "http://up-2/"]);
    assert!(all_up.status.success());
    assert_eq!(
        String::from_utf8_lossy(&all_up.stdout),
        "ok: http://up-1/\nok: http://up-2/\n"
    );
    let one_down = run(&["http://up-1/", "http://down/", "http://up-2/"]);
    assert_eq!(one_down.status.code(), Some(1));
    // Every URL is still asked, so the log names each one that is down.
    assert_eq!(
        String::from_utf8_lossy(&one_down.stdout),
        "ok: http://up-1/\nno answer: http://down/\nok: http://up-2/\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn smoke_check_without_tekton_or_argocd_asks_prow_alone_undecorated() {
    let config = json!({
        "orgs": ["example-org"],
        "smokeCheck": { "enabled": true, "image": "registry.example.org/curl:8" },
    });
    let out = render_with(config).unwrap();
    let warning = out
        .diagnostics
        .iter()
        .find(|d| d.pointer == "/config/smokeCheck/image")
        .expect("a warning about the tag");
    assert_eq!(warning.severity, Severity::Warning);
    let job = &config_map_yaml(&out, "config", "config.yaml")["periodics"][0];
    assert_eq!(job["interval"], "10m");
    assert_eq!(job["decorate"], false);
    assert_eq!(
        job["spec"]["containers"][0]["args"],
        json!([
            "http://hook.prow.svc:8081/healthz/ready",
            "http://deck.prow.svc:8081/healthz/ready",
        ])
    );
}

#[test]
fn smoke_check_needs_an_image() {
    let err = render_with(json!({ "orgs": ["o"], "smokeCheck": { "enabled": true } })).unwrap_err();
    assert_eq!(err.pointer, "/config/smokeCheck");
    assert!(err.message.contains("smokeCheck.image"), "{}", err.message);
    // Off (the default), nothing is rendered and nothing is needed.
    let out = render_with(json!({ "orgs": ["o"] })).unwrap();
    assert!(
        config_map_yaml(&out, "config", "config.yaml")
            .get("periodics")
            .is_none()
    );
}

/// Writes every object of a full render (smoke check on, with tekton and
/// argocd in the catalog) as JSON, and config.yaml and plugins.yaml as
/// text, into `$OPSMITH_DUMP_DIR`, for checking them with upstream schemas
/// and Prow's documented config by hand:
/// `OPSMITH_DUMP_DIR=/tmp/prow cargo test -p opsmith-plugin-prow -- --ignored`.
#[test]
#[ignore = "writes files; run by hand"]
fn dump_objects() {
    let Some(dir) = std::env::var_os("OPSMITH_DUMP_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = full_config();
    config["smokeCheck"] = json!({ "enabled": true, "image": CURL_IMAGE });
    let catalog = catalog_with_tekton_and_argocd(&config, json!({}));
    let out = render::<ProwPlugin>("prow", EXAMPLE_SITE, &catalog, &config.to_string()).unwrap();
    for (i, o) in out.objects().iter().enumerate() {
        let name = format!(
            "{i:02}-{}-{}.json",
            o["kind"].as_str().unwrap(),
            o["metadata"]["name"].as_str().unwrap()
        );
        std::fs::write(dir.join(name), serde_json::to_string_pretty(o).unwrap()).unwrap();
    }
    for (name, key) in [("config", "config.yaml"), ("plugins", "plugins.yaml")] {
        let text = find(&out, "ConfigMap", "prow", name)["data"][key].clone();
        std::fs::write(dir.join(key), text.as_str().unwrap()).unwrap();
    }
}
