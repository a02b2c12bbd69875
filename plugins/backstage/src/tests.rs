//! Renders the reference site (site/inventory.yaml and site/catalog.yaml,
//! with a backstage component) and compares every file with the checked-in
//! copy in reference-site/, which `.ci/backstage-check.mjs` checks with
//! Backstage's own validators and .ci/run compares with what `opsmith
//! render` writes; then config and input errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use opsmith_plugin_sdk::testing::{EXAMPLE_SITE, catalog_with, render};
use opsmith_plugin_sdk::{Error, FileFormat, Output, Value, json};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Backstage, CATALOG_INFO};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One of the reference site's input files as JSON.
fn site_file(name: &str) -> Value {
    let path = manifest_dir().join("../../site").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The reference site's inventory, and its catalog as opsmith hands it to
/// plugins (each component's `path` filled in), with a `backstage`
/// component: the catalog's own, or one added at the end; `config`, when
/// given, replaces its config. Also that component's config.
fn reference_inputs(config: Option<&Value>) -> (String, String, String) {
    let site = site_file("inventory.yaml");
    let mut catalog = site_file("catalog.yaml");
    let gitops_path = catalog["spec"]["gitops"]["path"]
        .as_str()
        .expect("gitops.path")
        .to_owned();
    let components = catalog["spec"]["components"]
        .as_array_mut()
        .expect("components");
    if !components.iter().any(|c| c["name"] == "backstage") {
        components.push(json!({ "name": "backstage", "plugin": "builtin:backstage" }));
    }
    let mut own_config = json!({});
    for component in components.iter_mut() {
        let name = component["name"].as_str().expect("name").to_owned();
        component["path"] = json!(format!("{gitops_path}/{name}"));
        if name == "backstage" {
            if let Some(config) = config {
                component["config"] = config.clone();
            }
            own_config = component.get("config").cloned().unwrap_or(json!({}));
        }
    }
    (
        site.to_string(),
        catalog.to_string(),
        own_config.to_string(),
    )
}

/// Renders the reference site, its backstage component's config replaced
/// by `config`.
fn render_reference(config: Value) -> Result<Output, Error> {
    let (site, catalog, config) = reference_inputs(Some(&config));
    render::<Backstage>("backstage", &site, &catalog, &config)
}

/// The rendered files by name, as values.
fn files(out: &Output) -> BTreeMap<String, Value> {
    assert!(out.objects().is_empty(), "no Kubernetes objects");
    out.files()
        .into_iter()
        .map(|f| {
            assert_eq!(f.format, FileFormat::Yaml, "{}", f.name);
            assert_eq!(f.schema, None, "{}", f.name);
            (f.name, f.content)
        })
        .collect()
}

/// A value serialised as opsmith writes every YAML file
/// (src/layout/yaml.rs): `apiVersion`, `kind`, `metadata` first, and
/// `name`, `namespace`, `labels`, `annotations` first in `metadata`.
struct Canonical<'a>(&'a Value, &'static [&'static str]);

const TOP_FIRST: &[&str] = &["apiVersion", "kind", "metadata"];
const METADATA_FIRST: &[&str] = &["name", "namespace", "labels", "annotations"];

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for &key in self.1 {
                    if let Some(value) = map.get(key) {
                        let inner = if self.1 == TOP_FIRST && key == "metadata" {
                            METADATA_FIRST
                        } else {
                            &[]
                        };
                        out.serialize_entry(key, &Canonical(value, inner))?;
                    }
                }
                for (key, value) in map.iter().filter(|(k, _)| !self.1.contains(&k.as_str())) {
                    out.serialize_entry(key, &Canonical(value, &[]))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Canonical(item, &[]))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

fn yaml(value: &Value) -> String {
    serde_saphyr::to_string(&Canonical(value, TOP_FIRST)).expect("YAML")
}

/// The reference site's entities are reference-site/, file for file and
/// byte for byte. After an intended change,
/// `INSTA_UPDATE=always cargo test -p opsmith-plugin-backstage reference_site`
/// rewrites the folder (as the golden files are re-blessed); review the diff.
#[test]
fn reference_site_is_the_checked_in_copy() {
    // The catalog's own config, if it has a backstage component: the copy is
    // then what `opsmith render` writes to day0/backstage/.
    let (site, catalog, config) = reference_inputs(None);
    let out = render::<Backstage>("backstage", &site, &catalog, &config).expect("renders");
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let rendered: BTreeMap<String, String> = files(&out)
        .iter()
        .map(|(name, value)| (name.clone(), yaml(value)))
        .collect();
    let dir = manifest_dir().join("reference-site");
    let bless = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always");
    let on_disk = read_dir(&dir);
    if bless && on_disk != rendered {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create reference-site/");
        for (name, text) in &rendered {
            std::fs::write(dir.join(name), text).expect("write");
        }
        return;
    }
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&on_disk),
        names(&rendered),
        "reference-site/ holds other files than the render; \
         INSTA_UPDATE=always cargo test -p opsmith-plugin-backstage reference_site rewrites it"
    );
    for (name, text) in &rendered {
        assert_eq!(
            &on_disk[name], text,
            "reference-site/{name} differs from the render; \
             INSTA_UPDATE=always cargo test -p opsmith-plugin-backstage reference_site rewrites it"
        );
    }
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| {
            let e = e.expect("dir entry");
            let name = e.file_name().into_string().expect("UTF-8 name");
            let text = std::fs::read_to_string(e.path()).expect("read");
            (name, text)
        })
        .collect()
}

/// What the reference site's render holds, entity by entity: the graph
/// that the checked-in copy shows as text.
#[test]
fn reference_site_entities_and_their_relations() {
    let out = render_reference(json!({})).expect("renders");
    let files = files(&out);
    let hosts: Vec<String> = (4..=11)
        .map(|unit| format!("oct-03-{unit:02}-compute"))
        .collect();
    let mut expected: Vec<String> = vec![
        "api-infra-github-webhook.yaml".into(),
        CATALOG_INFO.into(),
        "group-infra-admins.yaml".into(),
        "resource-infra-machine-network.yaml".into(),
        "resource-infra.yaml".into(),
        "system-infra.yaml".into(),
    ];
    for component in [
        "argocd",
        "backstage",
        "baremetal-hosts",
        "github-app",
        "install-config",
        "prow",
        "slo",
        "tekton",
        "templates",
    ] {
        expected.push(format!("component-{component}.yaml"));
    }
    expected.extend(hosts.iter().map(|h| format!("resource-{h}.yaml")));
    expected.sort();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), expected);

    // The Location lists every other file, relative to itself.
    let mut targets: Vec<String> = expected
        .iter()
        .filter(|n| *n != CATALOG_INFO)
        .map(|n| format!("./{n}"))
        .collect();
    targets.sort();
    assert_eq!(
        files[CATALOG_INFO],
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Location",
            "metadata": {
                "name": "infra",
                "description": "Every Backstage entity opsmith renders for infra.example.org",
            },
            "spec": { "targets": targets },
        })
    );

    assert_eq!(
        files["system-infra.yaml"],
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "System",
            "metadata": {
                "name": "infra",
                "title": "infra.example.org",
                "description": "The infra.example.org site: its OpenShift 4.16 cluster, hosts and network, \
                                and the components opsmith deploys from the catalog infra",
            },
            "spec": { "owner": "group:default/infra-admins" },
        })
    );

    let host_refs: Vec<String> = hosts
        .iter()
        .map(|h| format!("resource:default/{h}"))
        .collect();
    assert_eq!(
        files["resource-infra.yaml"],
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {
                "name": "infra",
                "title": "infra.example.org",
                "description": "OpenShift 4.16 cluster on 8 bare-metal hosts (3 control-plane, 5 workers)",
                "tags": ["openshift"],
                "annotations": {
                    "kubernetes.io/api-server": "https://api.infra.example.org:6443",
                    "kubernetes.io/auth-provider": "serviceAccount",
                    "kubernetes.io/dashboard-app": "openshift",
                    "kubernetes.io/dashboard-url": "https://console-openshift-console.apps.infra.example.org",
                },
                "links": [{
                    "url": "https://console-openshift-console.apps.infra.example.org",
                    "title": "OpenShift console",
                    "icon": "dashboard",
                }],
            },
            "spec": {
                "type": "kubernetes-cluster",
                "owner": "group:default/infra-admins",
                "system": "system:default/infra",
                "dependsOn": host_refs,
            },
        })
    );

    assert_eq!(
        files["resource-infra-machine-network.yaml"],
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {
                "name": "infra-machine-network",
                "title": "10.10.0.0/24",
                "description": "Machine network of infra.example.org: the hosts, their BMCs, \
                                the API VIP 10.10.0.5 and the ingress VIP 10.10.0.6",
            },
            "spec": {
                "type": "network",
                "owner": "group:default/infra-admins",
                "system": "system:default/infra",
            },
        })
    );

    assert_eq!(
        files["resource-oct-03-04-compute.yaml"],
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {
                "name": "oct-03-04-compute",
                "description": "PowerEdge R620: 128Gi memory, 300Gi storage; a control-plane host of infra.example.org",
                "tags": ["control-plane"],
            },
            "spec": {
                "type": "server",
                "owner": "group:default/infra-admins",
                "system": "system:default/infra",
                "dependsOn": ["resource:default/infra-machine-network"],
            },
        })
    );
    assert_eq!(
        files["resource-oct-03-11-compute.yaml"]["metadata"]["tags"],
        json!(["worker"])
    );

    assert_eq!(
        files["component-prow.yaml"],
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": "prow",
                "description": "Rendered by builtin:prow into clusters/infra/prow of \
                                https://github.com/example/infra-manifests.git (main), \
                                which Argo CD applies to infra.example.org",
                "annotations": {
                    "backstage.io/kubernetes-label-selector": "opsmith.dev/component=prow",
                    "opsmith.dev/plugin": "builtin:prow",
                },
            },
            "spec": {
                "type": "service",
                "lifecycle": "production",
                "owner": "group:default/infra-admins",
                "system": "system:default/infra",
                "dependsOn": ["resource:default/infra"],
                "providesApis": ["api:default/infra-github-webhook"],
            },
        })
    );
    let app = &files["component-github-app.yaml"]["spec"];
    assert_eq!(
        app["consumesApis"],
        json!(["api:default/infra-github-webhook"])
    );
    assert!(app.get("providesApis").is_none());
    let tekton = &files["component-tekton.yaml"]["spec"];
    assert!(tekton.get("providesApis").is_none() && tekton.get("consumesApis").is_none());

    let api = &files["api-infra-github-webhook.yaml"];
    assert_eq!(
        api["metadata"],
        json!({
            "name": "infra-github-webhook",
            "title": "GitHub App webhook",
            "description": "Where GitHub delivers the GitHub App's events for infra.example.org: \
                            POST https://prow.apps.infra.example.org/hook",
        })
    );
    assert_eq!(api["spec"]["type"], "openapi");
    assert_eq!(api["spec"]["lifecycle"], "production");
    assert_eq!(api["spec"]["owner"], "group:default/infra-admins");
    assert_eq!(api["spec"]["system"], "system:default/infra");
    let definition: Value =
        serde_json::from_str(api["spec"]["definition"].as_str().expect("definition text"))
            .expect("the definition is JSON");
    assert_eq!(definition["openapi"], "3.1.0");
    assert_eq!(
        definition["servers"],
        json!([{ "url": "https://prow.apps.infra.example.org" }])
    );
    assert!(
        definition["info"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("the GitHub App infra-opsmith")
                && d.contains("day0/github-app/github-app-manifest.json"))
    );
    let post = &definition["paths"]["/hook"]["post"];
    let headers: Vec<&str> = post["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        headers,
        [
            "X-GitHub-Event",
            "X-GitHub-Delivery",
            "X-GitHub-Hook-ID",
            "X-Hub-Signature-256"
        ]
    );

    assert_eq!(
        files["group-infra-admins.yaml"]["spec"],
        json!({ "type": "team", "children": [] })
    );
}

#[test]
fn the_same_input_gives_the_same_files() {
    let once = files(&render_reference(json!({})).expect("renders"));
    let again = files(&render_reference(json!({})).expect("renders"));
    assert_eq!(once, again);
}

#[test]
fn owners_lifecycles_and_types_come_from_config() {
    let out = render_reference(json!({
        "owner": "group:sre",
        "lifecycle": "experimental",
        "componentType": "website",
        "components": {
            "prow": { "owner": "group:default/ci", "lifecycle": "production", "type": "service", "description": "Our CI." },
            "github-app": { "owner": "group:ci", "lifecycle": "deprecated" },
        },
        "kubernetes": { "authProvider": "oidc", "certificateAuthority": "TFMwdExTMUNSVWRKVGc9PQ==", "console": false },
    }))
    .expect("renders");
    let files = files(&out);
    let spec = |file: &str| files[file]["spec"].clone();
    assert_eq!(spec("system-infra.yaml")["owner"], "group:default/sre");
    assert_eq!(
        spec("resource-oct-03-04-compute.yaml")["owner"],
        "group:default/sre"
    );
    let prow = &files["component-prow.yaml"];
    assert_eq!(prow["metadata"]["description"], "Our CI.");
    assert_eq!(
        (
            &prow["spec"]["owner"],
            &prow["spec"]["lifecycle"],
            &prow["spec"]["type"]
        ),
        (
            &json!("group:default/ci"),
            &json!("production"),
            &json!("service")
        )
    );
    let argocd = spec("component-argocd.yaml");
    assert_eq!(
        (&argocd["owner"], &argocd["lifecycle"], &argocd["type"]),
        (
            &json!("group:default/sre"),
            &json!("experimental"),
            &json!("website")
        )
    );
    // The webhook API is the github-app component's.
    let api = spec("api-infra-github-webhook.yaml");
    assert_eq!(
        (&api["owner"], &api["lifecycle"]),
        (&json!("group:default/ci"), &json!("deprecated"))
    );
    // One Group per owner, and no other.
    let groups: Vec<&String> = files.keys().filter(|n| n.starts_with("group-")).collect();
    assert_eq!(groups, ["group-ci.yaml", "group-sre.yaml"]);
    let cluster = &files["resource-infra.yaml"]["metadata"];
    assert_eq!(
        cluster["annotations"],
        json!({
            "kubernetes.io/api-server": "https://api.infra.example.org:6443",
            "kubernetes.io/api-server-certificate-authority": "TFMwdExTMUNSVWRKVGc9PQ==",
            "kubernetes.io/auth-provider": "oidc",
        })
    );
    assert!(cluster.get("links").is_none());
}

#[test]
fn groups_may_come_from_elsewhere() {
    let out =
        render_reference(json!({ "owner": "group:sre", "renderGroups": false })).expect("renders");
    let files = files(&out);
    assert!(!files.keys().any(|n| n.starts_with("group-")));
    let targets = files[CATALOG_INFO]["spec"]["targets"]
        .as_array()
        .expect("targets")
        .len();
    assert_eq!(targets, files.len() - 1);
}

/// A catalog with a github-app whose webhook goes to a Tekton listener,
/// and a disabled component.
#[test]
fn a_webhook_elsewhere_is_provided_by_the_component_config_names() {
    let catalog = catalog_with(vec![
        json!({
            "name": "github-app",
            "plugin": "builtin:github-app",
            "config": { "appName": "ci", "org": "example", "webhookURL": "https://el.apps.example.example.org" },
        }),
        json!({ "name": "tekton", "plugin": "builtin:tekton" }),
        json!({ "name": "old", "plugin": "builtin:prow", "enabled": false }),
        json!({ "name": "backstage", "plugin": "builtin:backstage" }),
    ]);
    let config = json!({ "webhookProvider": "tekton" }).to_string();
    let files =
        files(&render::<Backstage>("backstage", EXAMPLE_SITE, &catalog, &config).expect("renders"));
    assert!(
        !files.contains_key("component-old.yaml"),
        "disabled components are left out"
    );
    assert_eq!(
        files["component-tekton.yaml"]["spec"]["providesApis"],
        json!(["api:default/example-github-webhook"])
    );
    let api = &files["api-example-github-webhook.yaml"];
    let definition: Value =
        serde_json::from_str(api["spec"]["definition"].as_str().expect("text")).expect("JSON");
    assert_eq!(
        definition["servers"],
        json!([{ "url": "https://el.apps.example.example.org" }])
    );
    assert!(definition["paths"]["/"]["post"].is_object());

    // Without webhookProvider, no component provides it.
    let unprovided = self::files(
        &render::<Backstage>("backstage", EXAMPLE_SITE, &catalog, "{}").expect("renders"),
    );
    assert!(
        unprovided["component-tekton.yaml"]["spec"]
            .get("providesApis")
            .is_none()
    );
}

#[test]
fn without_a_github_app_there_is_no_webhook_api() {
    let catalog = catalog_with(vec![
        json!({ "name": "prow", "plugin": "builtin:prow" }),
        json!({ "name": "backstage", "plugin": "builtin:backstage" }),
    ]);
    let files =
        files(&render::<Backstage>("backstage", EXAMPLE_SITE, &catalog, "{}").expect("renders"));
    assert!(!files.keys().any(|n| n.starts_with("api-")));
    assert!(
        files["component-prow.yaml"]["spec"]
            .get("providesApis")
            .is_none()
    );
    let targets = &files[CATALOG_INFO]["spec"]["targets"];
    assert!(!targets.to_string().contains("api-"));
}

/// Each config error names the field it is about.
#[test]
fn config_errors_point_at_the_field() {
    let cases = [
        (json!({ "owner": "sre" }), "/config/owner"),
        (json!({ "owner": "group:SRE" }), "/config/owner"),
        (json!({ "owner": "user:jdoe" }), "/config/owner"),
        (json!({ "lifecycle": " " }), "/config/lifecycle"),
        (
            json!({ "components": { "nope": {} } }),
            "/config/components/nope",
        ),
        (
            json!({ "components": { "a/b": {} } }),
            "/config/components/a~1b",
        ),
        (
            json!({ "components": { "prow": { "owner": "team" } } }),
            "/config/components/prow/owner",
        ),
        (
            json!({ "components": { "prow": { "type": "" } } }),
            "/config/components/prow/type",
        ),
        (
            json!({ "webhookProvider": "nope" }),
            "/config/webhookProvider",
        ),
        (
            json!({ "kubernetes": { "certificateAuthority": "-----BEGIN PRIVATE KEY-----" } }),
            "/config/kubernetes/certificateAuthority",
        ),
        (json!({ "owners": {} }), "/config"),
        (
            json!({ "components": { "prow": { "lifecycles": "x" } } }),
            "/config",
        ),
    ];
    for (config, pointer) in cases {
        let err = render_reference(config.clone()).expect_err(&config.to_string());
        assert_eq!(err.pointer, pointer, "{config}: {err}");
    }
    // A disabled component is not one to configure.
    let catalog = catalog_with(vec![
        json!({ "name": "old", "plugin": "builtin:prow", "enabled": false }),
        json!({ "name": "backstage", "plugin": "builtin:backstage" }),
    ]);
    let config = json!({ "components": { "old": {} } }).to_string();
    let err =
        render::<Backstage>("backstage", EXAMPLE_SITE, &catalog, &config).expect_err("disabled");
    assert_eq!(err.pointer, "/config/components/old");
    assert_eq!(
        err.message,
        "no enabled component `old` in the catalog; the enabled ones are backstage"
    );
}

/// Names Backstage would refuse are refused where they come from.
#[test]
fn site_names_backstage_cannot_take_point_at_the_site() {
    let mut site: Value = serde_json::from_str(EXAMPLE_SITE).expect("JSON");
    site["metadata"]["name"] = json!("a".repeat(50));
    let catalog = catalog_with(vec![
        json!({ "name": "backstage", "plugin": "builtin:backstage" }),
    ]);
    let err =
        render::<Backstage>("backstage", &site.to_string(), &catalog, "{}").expect_err("long");
    assert_eq!(err.pointer, "/site/metadata/name");

    for (i, name) in [(1, "example"), (0, "example-machine-network")] {
        let mut site: Value = serde_json::from_str(EXAMPLE_SITE).expect("JSON");
        site["spec"]["hosts"][i]["name"] = json!(name);
        let err =
            render::<Backstage>("backstage", &site.to_string(), &catalog, "{}").expect_err(name);
        assert_eq!(err.pointer, format!("/site/spec/hosts/{i}/name"));
    }
}

/// A host's CPU count and labels from the inventory reach its Resource.
#[test]
fn host_cpus_and_labels_carry_over() {
    let mut site: Value = serde_json::from_str(EXAMPLE_SITE).expect("JSON");
    site["spec"]["hosts"][0]["hardware"]["cpus"] = json!(24);
    site["spec"]["hosts"][0]["labels"] = json!({ "topology.kubernetes.io/zone": "rack-3" });
    let catalog = catalog_with(vec![
        json!({ "name": "backstage", "plugin": "builtin:backstage" }),
    ]);
    let out = render::<Backstage>("backstage", &site.to_string(), &catalog, "{}").expect("renders");
    let host = &files(&out)["resource-example-cp-0.yaml"]["metadata"];
    assert_eq!(
        host["labels"],
        json!({ "topology.kubernetes.io/zone": "rack-3" })
    );
    assert!(
        host["description"]
            .as_str()
            .is_some_and(|d| d.contains(": 24 CPUs, ")),
        "{host}"
    );
}
