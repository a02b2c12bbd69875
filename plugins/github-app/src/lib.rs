//! `builtin:github-app`: the GitHub App that ties the site's CI and GitOps to
//! GitHub.
//!
//! It renders the app's manifest (a day-0 file: someone registers the app
//! once from it, with GitHub's manifest flow), asking for the union of what
//! the catalog's enabled Prow, Tekton and Argo CD components need, and the
//! ExternalSecrets that bring the app's credentials into those components'
//! namespaces. The other plugins find the Secret through
//! `opsmith_plugin_sdk::github_app::app_secret`.

mod config;
mod manifest;
mod permissions;
mod secrets;

use opsmith_plugin_sdk::github_app::app_secret;
use opsmith_plugin_sdk::{Error, Info, Input, Output, Plugin, export_plugin};

use config::Config;
use manifest::Manifest;
use secrets::Source;

/// The plugin. Public so that native builds (tests, the host) can call it
/// directly; `export_plugin!` exports it only on wasm32.
pub struct GitHubApp;

impl Plugin for GitHubApp {
    fn describe() -> Info {
        Info::new("github-app", env!("CARGO_PKG_VERSION"))
            .description(
                "The GitHub App's manifest and the ExternalSecrets that deliver its credentials",
            )
            .config_schema_json(include_str!("config.schema.json"))
            // The namespaces come from the prow, tekton and argocd components'
            // configs, which `describe` cannot see.
            .emits("external-secrets.io/v1", "ExternalSecret", &["*"])
    }

    // Nothing here depends on the servers: skip parsing them.
    const READS_HOSTS: bool = false;

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        // The schema requires both; a native caller may not have checked it.
        if config.app_name.is_empty() {
            return Err(Error::at(
                "/config",
                "`appName` is required: the app's name on GitHub",
            ));
        }
        if config.org.is_empty() {
            return Err(Error::at(
                "/config",
                "`org` is required: the GitHub organization that owns the app",
            ));
        }
        let site = &input.site;
        let catalog = &input.catalog;
        let mut secret = app_secret(catalog).ok_or_else(|| {
            Error::at("/catalog", "the catalog has no enabled builtin:github-app component, so this one cannot render")
        })?;
        if let Some(name) = &config.secret_name {
            secret.name = name.clone();
        }
        let mut out = Output::new();

        let webhook_url = match (&config.webhook_url, catalog.builtin_component("prow")) {
            (Some(url), _) => url.clone(),
            // Prow's hook receives every delivery and relays what its
            // external plugins ask for; its route is `prow` on the apps domain.
            (None, Some(_)) => format!(
                "https://prow.apps.{}.{}/hook",
                site.metadata.name, site.spec.base_domain
            ),
            (None, None) => {
                return Err(Error::at(
                    "/config",
                    "`webhookURL` is required when the catalog has no enabled builtin:prow component: \
                     set it to the URL that receives the app's webhooks, such as the Tekton EventListener's route",
                ));
            }
        };
        if secrets::CREDENTIAL_CONSUMERS
            .iter()
            .chain([&secrets::ARGOCD])
            .all(|c| catalog.builtin_component(c.plugin).is_none())
        {
            out.warn(
                "/catalog/spec/components",
                "no enabled builtin:prow, builtin:tekton or builtin:argocd component uses the GitHub App",
            );
        }

        let manifest = Manifest {
            name: &config.app_name,
            url: config
                .homepage_url
                .clone()
                .unwrap_or_else(|| format!("https://github.com/{}", config.org)),
            webhook_url,
            redirect_url: config.redirect_url.as_deref(),
            callback_urls: &config.callback_urls,
            description: config.description.clone().unwrap_or_else(|| {
                format!(
                    "CI and GitOps for the {}.{} cluster",
                    site.metadata.name, site.spec.base_domain
                )
            }),
            public: config.public,
            requested: permissions::requested(catalog),
        };
        out.file(manifest.file());

        let key = config.secret_store_key();
        out.file(manifest::setup_file(
            &config.org,
            &config.repositories,
            config.redirect_url.as_deref(),
            &site.spec.secret_store,
            &key,
            &secret,
        ));

        let source = Source {
            store: &site.spec.secret_store,
            key: &key,
            secret: &secret,
        };
        for namespace in secrets::credential_namespaces(catalog) {
            out.object(source.app_credentials(&namespace));
        }
        if let Some(namespace) = secrets::namespace_of(catalog, &secrets::ARGOCD) {
            out.object(source.argocd_webhook(&namespace));
        }
        Ok(out)
    }
}

export_plugin!(GitHubApp);

#[cfg(test)]
mod tests {
    use super::*;
    use opsmith_plugin_sdk::testing::{EXAMPLE_SITE, catalog_with, render};
    use opsmith_plugin_sdk::{FileFormat, Value, json};

    /// A catalog with the four components that meet in the app; `tweak`
    /// edits the components before rendering.
    fn catalog(tweak: impl FnOnce(&mut Vec<Value>)) -> String {
        let mut components = vec![
            json!({
                "name": "github-app",
                "plugin": "builtin:github-app",
                "config": { "appName": "example-ci", "org": "example" },
            }),
            json!({ "name": "prow", "plugin": "builtin:prow", "config": { "namespace": "prow" } }),
            json!({ "name": "tekton", "plugin": "builtin:tekton", "config": { "namespace": "pipelines" } }),
            json!({ "name": "argocd", "plugin": "builtin:argocd" }),
        ];
        tweak(&mut components);
        catalog_with(components)
    }

    fn run(catalog: &str) -> Result<Output, Error> {
        let config =
            serde_json::from_str::<Value>(catalog).unwrap()["spec"]["components"][0]["config"]
                .to_string();
        render::<GitHubApp>("github-app", EXAMPLE_SITE, catalog, &config)
    }

    fn manifest(out: &Output) -> Value {
        let file = out
            .files()
            .into_iter()
            .find(|f| f.name == "github-app-manifest.json")
            .unwrap();
        assert_eq!(file.format, FileFormat::Json);
        file.content
    }

    fn by_namespace(out: &Output, namespace: &str) -> Vec<Value> {
        out.objects()
            .into_iter()
            .filter(|o| o["metadata"]["namespace"] == namespace)
            .collect()
    }

    #[test]
    fn manifest_asks_for_what_the_enabled_components_need() {
        let out = run(&catalog(|_| {})).unwrap();
        let m = manifest(&out);
        assert_eq!(m["name"], "example-ci");
        assert_eq!(m["url"], "https://github.com/example");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://prow.apps.example.example.org/hook"
        );
        assert_eq!(m["hook_attributes"]["active"], true);
        assert_eq!(m["public"], false);
        assert!(m.get("redirect_url").is_none());
        assert_eq!(
            m["default_permissions"],
            json!({
                "actions": "read",
                "administration": "read",
                "checks": "write",
                "contents": "write",
                "issues": "write",
                "members": "read",
                "metadata": "read",
                "pull_requests": "write",
                "statuses": "write",
            })
        );
        assert_eq!(
            m["default_events"],
            json!([
                "issue_comment",
                "issues",
                "pull_request",
                "pull_request_review",
                "pull_request_review_comment",
                "push",
                "status",
            ])
        );
    }

    #[test]
    fn disabling_prow_drops_what_only_prow_needs() {
        let catalog = catalog(|c| {
            c[0]["config"]["webhookURL"] =
                json!("https://el-github-pipelines.apps.example.example.org");
            c[1]["enabled"] = json!(false);
        });
        let out = run(&catalog).unwrap();
        let m = manifest(&out);
        assert_eq!(
            m["default_permissions"],
            json!({
                "checks": "write",
                "contents": "read",
                "metadata": "read",
                "pull_requests": "read",
                "statuses": "write",
            })
        );
        assert_eq!(m["default_events"], json!(["pull_request", "push"]));
        assert!(by_namespace(&out, "prow").is_empty());
    }

    #[test]
    fn webhook_url_is_required_without_prow() {
        let catalog = catalog(|c| {
            c.remove(1);
        });
        let err = run(&catalog).unwrap_err();
        assert_eq!(err.pointer, "/config");
        assert!(err.message.contains("webhookURL"), "{err}");
    }

    #[test]
    fn credentials_land_in_each_consumer_namespace() {
        let out = run(&catalog(|_| {})).unwrap();
        assert_eq!(out.objects().len(), 3);
        for namespace in ["prow", "pipelines"] {
            let [es] = &by_namespace(&out, namespace)[..] else {
                panic!("one object in {namespace}")
            };
            assert_eq!(es["apiVersion"], "external-secrets.io/v1");
            assert_eq!(es["kind"], "ExternalSecret");
            assert_eq!(es["metadata"]["name"], "github-app");
            assert_eq!(
                es["spec"]["secretStoreRef"],
                json!({ "kind": "ClusterSecretStore", "name": "vault" })
            );
            assert_eq!(
                es["spec"]["target"],
                json!({ "name": "github-app", "creationPolicy": "Owner" })
            );
            let data = es["spec"]["data"].as_array().unwrap();
            let keys: Vec<_> = data
                .iter()
                .map(|d| d["secretKey"].as_str().unwrap())
                .collect();
            assert_eq!(keys, ["app-id", "private-key", "webhook-secret"]);
            for d in data {
                assert_eq!(d["remoteRef"]["key"], "github-app/example-ci");
                assert_eq!(d["remoteRef"]["property"], d["secretKey"]);
            }
        }
    }

    #[test]
    fn argocd_gets_the_webhook_secret_merged_into_its_secret() {
        let out = run(&catalog(|_| {})).unwrap();
        let [es] = &by_namespace(&out, "openshift-gitops")[..] else {
            panic!("one object for argocd")
        };
        assert_eq!(es["metadata"]["name"], "github-app-webhook");
        assert_eq!(
            es["spec"]["target"],
            json!({ "name": "argocd-secret", "creationPolicy": "Merge" })
        );
        assert_eq!(
            es["spec"]["data"],
            json!([{
                "secretKey": "webhook.github.secret",
                "remoteRef": { "key": "github-app/example-ci", "property": "webhook-secret" },
            }])
        );
    }

    #[test]
    fn config_overrides_names_keys_and_urls() {
        let catalog = catalog(|c| {
            c[0]["config"] = json!({
                "appName": "example-ci",
                "org": "example",
                "secretName": "gh-app",
                "secretStoreKey": "ci/github",
                "homepageURL": "https://example.org",
                "redirectURL": "https://example.org/registered",
                "callbackURLs": ["https://example.org/callback"],
                "description": "Example CI",
                "public": true,
                "repositories": ["infra", "website"],
            });
            c[1]["config"] = json!({});
            c[2]["config"] = json!({ "namespace": "prow" });
            c[3]["config"] = json!({ "namespace": "argocd" });
        });
        let out = run(&catalog).unwrap();
        let m = manifest(&out);
        assert_eq!(m["url"], "https://example.org");
        assert_eq!(m["redirect_url"], "https://example.org/registered");
        assert_eq!(m["callback_urls"], json!(["https://example.org/callback"]));
        assert_eq!(m["description"], "Example CI");
        assert_eq!(m["public"], true);
        // Prow and Tekton share `prow`: one Secret there, not two.
        let in_prow = by_namespace(&out, "prow");
        assert_eq!(in_prow.len(), 1);
        assert_eq!(in_prow[0]["metadata"]["name"], "gh-app");
        assert_eq!(
            in_prow[0]["spec"]["data"][0]["remoteRef"]["key"],
            "ci/github"
        );
        assert_eq!(
            by_namespace(&out, "argocd")[0]["metadata"]["name"],
            "gh-app-webhook"
        );

        let setup = out
            .files()
            .into_iter()
            .find(|f| f.name == "github-app-setup.yaml")
            .unwrap()
            .content;
        assert_eq!(
            setup["register"]["url"],
            "https://github.com/organizations/example/settings/apps/new"
        );
        assert_eq!(
            setup["install"]["repositories"],
            json!(["example/infra", "example/website"])
        );
        assert_eq!(setup["credentials"]["key"], "ci/github");
    }

    #[test]
    fn the_sdk_finds_the_secret_this_plugin_renders() {
        let catalog = catalog(|c| c[0]["config"]["secretName"] = json!("gh-app"));
        let parsed: opsmith_plugin_sdk::AppCatalog = serde_json::from_str(&catalog).unwrap();
        let sdk = app_secret(&parsed).unwrap();
        let out = run(&catalog).unwrap();
        let es = &by_namespace(&out, "prow")[0];
        assert_eq!(es["spec"]["target"]["name"], sdk.name.as_str());
        let keys: Vec<_> = es["spec"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["secretKey"].clone())
            .collect();
        assert_eq!(
            keys,
            [sdk.app_id_key, sdk.private_key_key, sdk.webhook_secret_key]
        );
    }

    #[test]
    fn warns_when_nothing_uses_the_app() {
        let catalog = catalog(|c| {
            c.truncate(1);
            c[0]["config"]["webhookURL"] = json!("https://hooks.example.org/github");
        });
        let out = run(&catalog).unwrap();
        assert!(out.objects().is_empty());
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(
            manifest(&out)["default_permissions"],
            json!({ "metadata": "read" })
        );
    }

    #[test]
    fn schema_lists_every_config_field_with_a_description() {
        let schema = GitHubApp::describe().config_schema;
        assert_eq!(schema["additionalProperties"], false);
        let properties = schema["properties"].as_object().unwrap();
        for field in [
            "appName",
            "description",
            "homepageURL",
            "webhookURL",
            "redirectURL",
            "callbackURLs",
            "public",
            "org",
            "repositories",
            "secretStoreKey",
            "secretName",
        ] {
            assert!(properties[field]["description"].is_string(), "{field}");
        }
        assert_eq!(properties.len(), 11);
    }

    /// Writes the rendered objects and files as JSON into
    /// `$OPSMITH_DUMP_DIR`, for checking them against upstream schemas by hand:
    /// `OPSMITH_DUMP_DIR=/tmp/github-app cargo test -p opsmith-plugin-github-app -- --ignored`.
    #[test]
    #[ignore = "writes files; run by hand"]
    fn dump_objects() {
        let Some(dir) = std::env::var_os("OPSMITH_DUMP_DIR") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = run(&catalog(|_| {})).unwrap();
        for o in &out.objects() {
            let name = format!(
                "{}-{}.json",
                o["metadata"]["namespace"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            );
            std::fs::write(dir.join(name), serde_json::to_string_pretty(o).unwrap()).unwrap();
        }
        let files = dir.join("day0");
        std::fs::create_dir_all(&files).unwrap();
        for f in &out.files() {
            std::fs::write(
                files.join(&f.name),
                serde_json::to_string_pretty(&f.content).unwrap(),
            )
            .unwrap();
        }
    }
}
