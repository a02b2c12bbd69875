//! Renders the test sites under tests/fixtures/ and compares the whole
//! output with the expected one there (`OPSMITH_BLESS_EXPECTED=1` rewrites
//! it: review the difference), and checks every ClusterInstance against the
//! siteconfig CRD's schema (tests/fixtures/upstream/).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use opsmith_plugin_sdk::testing::{self, EXAMPLE_SITE};

use super::*;

/// Re-writes the expected outputs instead of comparing with them.
const BLESS: &str = "OPSMITH_BLESS_EXPECTED";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The site and config of test case `case`, as JSON for `testing::render`.
fn case_input(case: &str) -> (String, String) {
    let dir = fixtures().join(case);
    (
        read_yaml(&dir.join("inventory.yaml")).to_string(),
        read_yaml(&dir.join("config.yaml")).to_string(),
    )
}

/// A catalog with this component, applied by `cluster`.
fn catalog(cluster: &str) -> String {
    testing::catalog_with(vec![serde_json::json!({
        "name": "clusterinstance",
        "plugin": "builtin:clusterinstance",
        "cluster": cluster,
    })])
}

fn render(site: &str, config: &str) -> Result<Output, Error> {
    testing::render::<ClusterInstance>("clusterinstance", site, &catalog("hub"), config)
}

#[test]
fn only_a_hub_component_renders() {
    let config = r#"{"clusterImageSetNameRef":"img"}"#;
    let err = testing::render::<ClusterInstance>(
        "clusterinstance",
        EXAMPLE_SITE,
        &catalog("site"),
        config,
    )
    .expect_err("a component the site's own cluster applies");
    assert!(err.message.contains("set `cluster: hub`"), "{err}");
    assert!(render(EXAMPLE_SITE, config).is_ok());
}

fn render_case(case: &str) -> Vec<Value> {
    render_case_with_diagnostics(case).0
}

/// The objects, and each diagnostic as `pointer: message`.
fn render_case_with_diagnostics(case: &str) -> (Vec<Value>, Vec<String>) {
    let (site, config) = case_input(case);
    let out = render(&site, &config).expect("the case renders");
    assert!(out.files().is_empty());
    let diagnostics = out
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}", d.pointer, d.message))
        .collect();
    (out.objects(), diagnostics)
}

/// `OPSMITH_BLESS_EXPECTED=1` rewrites `tests/fixtures/<case>/expected.yaml`.
fn assert_expected(case: &str, objects: &[Value]) {
    let path = fixtures().join(case).join("expected.yaml");
    if std::env::var_os(BLESS).is_some_and(|v| v == "1") {
        let text = serde_saphyr::to_string(&objects).expect("YAML");
        std::fs::write(&path, text).expect("write the expected output");
        return;
    }
    let expected = read_yaml(&path);
    assert_eq!(
        Value::Array(objects.to_vec()),
        expected,
        "{case}: the output differs from {}; `{BLESS}=1 cargo test -p opsmith-plugin-clusterinstance` \
         rewrites it, then review the difference",
        path.display()
    );
}

/// The CRD's `openAPIV3Schema` as a JSON Schema validator.
fn crd_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let crd = read_yaml(&fixtures().join(
            "upstream/siteconfig/siteconfig.open-cluster-management.io_clusterinstances.yaml",
        ));
        let version = crd["spec"]["versions"]
            .as_array()
            .and_then(|versions| versions.iter().find(|v| v["name"] == "v1alpha1"))
            .expect("the CRD serves v1alpha1");
        let mut schema = version["schema"]["openAPIV3Schema"].clone();
        strict(&mut schema);
        jsonschema::validator_for(&schema).expect("the CRD's schema compiles")
    })
}

/// Turns a CRD schema into a JSON Schema that refuses what the apiserver
/// would prune: `x-kubernetes-*` extensions and Kubernetes' `format`s go
/// (they are not JSON Schema's), and an object that lists `properties` and
/// does not preserve unknown fields gets `additionalProperties: false`.
/// The CRD nests schemas only under `properties`, `items` and
/// `additionalProperties`.
fn strict(schema: &mut Value) {
    let Value::Object(keywords) = schema else {
        return;
    };
    let preserve = keywords.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
    keywords.retain(|keyword, _| !keyword.starts_with("x-kubernetes-") && keyword != "format");
    if keywords.contains_key("properties")
        && !keywords.contains_key("additionalProperties")
        && !preserve
    {
        keywords.insert("additionalProperties".to_owned(), json!(false));
    }
    for (keyword, value) in keywords.iter_mut() {
        match (keyword.as_str(), value) {
            ("properties", Value::Object(properties)) => properties.values_mut().for_each(strict),
            ("items" | "additionalProperties", value) => strict(value),
            _ => {}
        }
    }
}

#[track_caller]
fn assert_valid(object: &Value) {
    let errors: Vec<String> = crd_validator()
        .iter_errors(object)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid ClusterInstance: {errors:#?}"
    );
}

fn cluster_instance_of(objects: &[Value]) -> &Value {
    let found: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ClusterInstance")
        .collect();
    assert_eq!(found.len(), 1, "one ClusterInstance");
    found[0]
}

#[test]
fn single_node_site_renders_as_expected() {
    let objects = render_case("sno");
    assert_valid(cluster_instance_of(&objects));
    assert_expected("sno", &objects);
}

#[test]
fn three_plus_two_site_renders_as_expected() {
    let objects = render_case("standard");
    assert_valid(cluster_instance_of(&objects));
    assert_expected("standard", &objects);
}

#[test]
fn what_the_hub_will_not_do_as_rendered_is_a_warning() {
    assert_eq!(render_case_with_diagnostics("sno").1, Vec::<String>::new());
    assert_eq!(
        render_case_with_diagnostics("standard").1,
        [
            "/site/spec/secretStore/kind: a SecretStore serves its own namespace only: the hub needs \
             a SecretStore `hub-vault` in namespace `infra` for the credentials' ExternalSecrets, or use \
             a ClusterSecretStore",
            "/site/spec/hosts/1/bmc: 4 host(s) verify their BMC's TLS certificate, but the siteconfig \
             operator's default node templates render every BareMetalHost with \
             disableCertificateVerification: true; to verify, use node templates of your own (nodeTemplates)",
        ]
    );
    // Templates of one's own may verify.
    let (site, _) = case_input("standard");
    let config = json!({
        "clusterImageSetNameRef": "img",
        "nodeTemplates": [{ "name": "verifying-node-templates", "namespace": "ztp" }],
    });
    let out = render(&site, &config.to_string()).unwrap();
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(out.diagnostics[0].pointer, "/site/spec/secretStore/kind");
}

#[test]
fn example_site_renders_a_valid_cluster_instance() {
    let out = render(
        EXAMPLE_SITE,
        r#"{"clusterImageSetNameRef":"img4.16.3-x86-64-appsub"}"#,
    )
    .expect("renders");
    assert_valid(cluster_instance_of(&out.objects()));
}

#[test]
fn a_broken_cluster_instance_fails_the_crd() {
    let objects = render_case("standard");
    let valid = cluster_instance_of(&objects).clone();
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: [Breakage; 6] = [
        ("a misspelt field", |ci| {
            ci["spec"]["basedomain"] = ci["spec"]["baseDomain"].take();
        }),
        ("a missing required field", |ci| {
            ci["spec"].as_object_mut().unwrap().remove("templateRefs");
        }),
        ("a role the CRD does not know", |ci| {
            ci["spec"]["nodes"][0]["role"] = json!("control-plane");
        }),
        ("a JSON override as a mapping", |ci| {
            ci["spec"]["installConfigOverrides"] = json!({ "fips": true });
        }),
        ("a bad boot MAC", |ci| {
            ci["spec"]["nodes"][1]["bootMACAddress"] = json!("24-6e-96");
        }),
        ("three API VIPs", |ci| {
            ci["spec"]["apiVIPs"] = json!(["10.10.0.5", "10.10.0.7", "10.10.0.8"]);
        }),
    ];
    assert!(crd_validator().is_valid(&valid));
    for (what, breakage) in breakages {
        let mut broken = valid.clone();
        breakage(&mut broken);
        assert!(!crd_validator().is_valid(&broken), "{what} passed the CRD");
    }
}

#[test]
fn json_string_fields_hold_the_mappings_as_json() {
    let objects = render_case("sno");
    let spec = &cluster_instance_of(&objects)["spec"];
    let (_, config) = case_input("sno");
    let config: Value = serde_json::from_str(&config).unwrap();

    let text = spec["installConfigOverrides"].as_str().expect("a string");
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        config["installConfigOverrides"]
    );
    // One line: YAML keeps it a plain string between the templates' quotes.
    assert!(!text.contains('\n'));

    let node = &spec["nodes"][0];
    let settings = &config["nodes"]["edge-sno-node1"];
    let args = node["installerArgs"].as_str().expect("a string");
    assert_eq!(args, r#"["--append-karg","nosmt"]"#);
    let ignition = node["ignitionConfigOverride"].as_str().expect("a string");
    assert_eq!(
        serde_json::from_str::<Value>(ignition).unwrap(),
        settings["ignitionConfigOverride"]
    );
    // The cluster-level Ignition override, too.
    let config = json!({
        "clusterImageSetNameRef": "img",
        "ignitionConfigOverride": { "ignition": { "version": "3.2.0" } },
    });
    let out = render(EXAMPLE_SITE, &config.to_string()).unwrap();
    assert_eq!(
        cluster_instance_of(&out.objects())["spec"]["ignitionConfigOverride"],
        r#"{"ignition":{"version":"3.2.0"}}"#
    );
}

#[test]
fn a_quote_in_json_is_refused_with_the_default_templates_only() {
    let quoted = json!({
        "clusterImageSetNameRef": "img",
        "nodes": { "example-cp-0": { "installerArgs": ["--append-karg", "a='b'"] } },
    });
    let err = render(EXAMPLE_SITE, &quoted.to_string()).expect_err("a quote");
    assert_eq!(err.pointer, "/config/nodes/example-cp-0/installerArgs");

    let err = render(
        EXAMPLE_SITE,
        &json!({ "clusterImageSetNameRef": "img", "installConfigOverrides": { "x": "it's" } })
            .to_string(),
    )
    .expect_err("a quote");
    assert_eq!(err.pointer, "/config/installConfigOverrides");

    // Templates of one's own may quote differently.
    let mut custom = quoted;
    custom["nodeTemplates"] = json!([{ "name": "my-node-templates", "namespace": "ztp" }]);
    let out = render(EXAMPLE_SITE, &custom.to_string()).expect("custom templates");
    let ci = cluster_instance_of(&out.objects()).clone();
    assert_eq!(
        ci["spec"]["nodes"][0]["installerArgs"],
        r#"["--append-karg","a='b'"]"#
    );
    assert_eq!(
        ci["spec"]["nodes"][0]["templateRefs"],
        json!([{ "name": "my-node-templates", "namespace": "ztp" }])
    );
    assert_valid(&ci);
}

#[test]
fn nothing_secret_is_rendered() {
    for case in ["sno", "standard"] {
        let objects = render_case(case);
        for object in &objects {
            assert!(
                !["Secret", "ConfigMap"].contains(&object["kind"].as_str().unwrap_or("")),
                "{case}: renders a {}",
                object["kind"]
            );
        }
        let mut strings = Vec::new();
        collect_strings(&Value::Array(objects.clone()), "", &mut strings);
        for (pointer, text) in &strings {
            let lower = text.to_lowercase();
            // A password is only ever named, as the Secret key and store
            // property of the BMC credentials.
            if lower.contains("password") {
                assert_eq!(text, "password", "{case} {pointer}");
                assert!(
                    pointer.ends_with("/secretKey") || pointer.ends_with("/remoteRef/property"),
                    "{case} {pointer}"
                );
            }
            // A pull secret is JSON with registry `auths`.
            assert!(!lower.contains("auths"), "{case} {pointer}: {text}");
        }
        // Every value external-secrets writes comes from the store.
        for es in objects.iter().filter(|o| o["kind"] == "ExternalSecret") {
            for data in es["spec"]["data"].as_array().unwrap() {
                assert!(data["remoteRef"]["key"].is_string());
            }
            if let Some(template) = es["spec"]["target"].get("template") {
                assert_eq!(
                    template["data"],
                    json!({ ".dockerconfigjson": "{{ .pullSecret | toString }}" })
                );
            }
        }
    }
}

fn collect_strings(value: &Value, pointer: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) => out.push((pointer.to_owned(), text.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(item, &format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(members) => {
            for (key, item) in members {
                out.push((format!("{pointer}/{key}"), key.clone()));
                collect_strings(item, &format!("{pointer}/{key}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn secrets_the_input_carries_by_mistake_stay_out() {
    // opsmith refuses these fields before rendering; the SDK ignores them,
    // and so must the plugin.
    let (site, config) = case_input("sno");
    let mut site: Value = serde_json::from_str(&site).unwrap();
    site["spec"]["pullSecret"] = json!("SENTINEL-PULL-SECRET");
    site["spec"]["hosts"][0]["bmc"]["password"] = json!("SENTINEL-PASSWORD");
    site["spec"]["hosts"][0]["bmc"]["username"] = json!("SENTINEL-USERNAME");
    let out = render(&site.to_string(), &config).unwrap();
    let text = serde_json::to_string(&out.objects()).unwrap();
    assert!(!text.contains("SENTINEL"), "{text}");
    assert_eq!(out.objects(), render_case("sno"));
}

#[test]
fn pull_secret_is_only_a_reference_without_a_store_key() {
    let objects = render_case("standard");
    let ci = cluster_instance_of(&objects);
    assert_eq!(
        ci["spec"]["pullSecretRef"],
        json!({ "name": "assisted-deployment-pull-secret" })
    );
    let secrets: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ExternalSecret")
        .collect();
    // One per host, none for the pull secret.
    assert_eq!(secrets.len(), 5);
    assert!(secrets.iter().all(|es| {
        es["metadata"]["name"]
            .as_str()
            .unwrap()
            .ends_with("-bmc-secret")
    }));
}

#[test]
fn every_node_names_the_secret_its_external_secret_fills() {
    for case in ["sno", "standard"] {
        let objects = render_case(case);
        let ci = cluster_instance_of(&objects);
        let namespace = &ci["metadata"]["namespace"];
        for node in ci["spec"]["nodes"].as_array().unwrap() {
            let name = node["bmcCredentialsName"]["name"].as_str().unwrap();
            let es = objects
                .iter()
                .find(|o| o["kind"] == "ExternalSecret" && o["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("{case}: no ExternalSecret {name}"));
            assert_eq!(&es["metadata"]["namespace"], namespace);
            assert_eq!(es["spec"]["target"]["name"], name);
            let keys: Vec<&Value> = es["spec"]["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| &d["secretKey"])
                .collect();
            assert_eq!(keys, ["username", "password"]);
        }
    }
}

#[test]
fn node_network_is_the_sdks_nmstate_for_the_host() {
    let (site, _) = case_input("standard");
    let inventory: opsmith_plugin_sdk::SiteInventory = serde_json::from_str(&site).unwrap();
    let objects = render_case("standard");
    let nodes = cluster_instance_of(&objects)["spec"]["nodes"].clone();
    for (i, node) in nodes.as_array().unwrap().iter().enumerate() {
        let network = opsmith_plugin_sdk::nmstate::host_network(&inventory.spec, i).unwrap();
        assert_eq!(node["nodeNetwork"], json!(network), "host {i}");
    }
}

#[test]
fn network_errors_point_into_the_inventory() {
    let mut site: Value = serde_json::from_str(EXAMPLE_SITE).unwrap();
    site["spec"]["hosts"][1]["nics"] = json!([]);
    let err = render(&site.to_string(), r#"{"clusterImageSetNameRef":"img"}"#)
        .expect_err("a host without NICs");
    assert_eq!(err.pointer, "/site/spec/hosts/1/nics");
}

#[test]
fn clusterimageset_is_required() {
    let err = render(EXAMPLE_SITE, "{}").expect_err("no image set");
    assert_eq!(err.pointer, "/config");
    assert!(err.message.contains("clusterImageSetNameRef"));
}

#[test]
fn settings_of_an_unknown_host_are_refused() {
    let config = json!({ "clusterImageSetNameRef": "img", "nodes": { "cp-9": {} } });
    let err = render(EXAMPLE_SITE, &config.to_string()).expect_err("unknown host");
    assert_eq!(err.pointer, "/config/nodes/cp-9");
}

#[test]
fn unknown_config_is_refused() {
    let err = render(
        EXAMPLE_SITE,
        r#"{"clusterImageSetNameRef":"img","pullSecret":"x"}"#,
    )
    .expect_err("unknown field");
    assert_eq!(err.pointer, "/config");
}

#[test]
fn bad_boot_mode_points_at_the_host() {
    let mut site: Value = serde_json::from_str(EXAMPLE_SITE).unwrap();
    site["spec"]["hosts"][1]["bootMode"] = json!("uefi");
    let err = render(&site.to_string(), r#"{"clusterImageSetNameRef":"img"}"#)
        .expect_err("bad boot mode");
    assert_eq!(err.pointer, "/site/spec/hosts/1/bootMode");
}

#[test]
fn prune_protection_can_be_turned_off() {
    let out = render(
        EXAMPLE_SITE,
        r#"{"clusterImageSetNameRef":"img","pruneProtection":false}"#,
    )
    .unwrap();
    for object in out.objects() {
        assert!(object["metadata"].get("annotations").is_none());
    }
}

#[test]
fn config_schema_is_generated_from_config() {
    testing::check_config_schema::<Config>(
        &schemars::schema_for!(Config).to_value(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
    );
    let parsed: Config = serde_json::from_value(json!({})).expect("empty config");
    assert_eq!(parsed, Config::default());
}

#[test]
fn config_schema_accepts_the_test_configs() {
    let schema: Value = serde_json::from_str(include_str!("config.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for case in ["sno", "standard"] {
        let (_, config) = case_input(case);
        let config: Value = serde_json::from_str(&config).unwrap();
        assert!(validator.is_valid(&config), "{case}");
    }
    assert!(
        !validator.is_valid(&json!({})),
        "clusterImageSetNameRef is required"
    );
    assert!(
        !validator.is_valid(&json!({
            "clusterImageSetNameRef": "img",
            "installConfigOverrides": "{\"fips\":true}",
        })),
        "overrides are mappings, not JSON text"
    );
}

#[test]
fn describe_declares_what_render_emits() {
    let info = ClusterInstance::describe();
    for case in ["sno", "standard"] {
        for o in render_case(case) {
            let declared = info.emits.iter().any(|e| {
                e.api_version == o["apiVersion"]
                    && e.kind == o["kind"]
                    && match o["metadata"].get("namespace") {
                        None => e.namespaces.is_empty(),
                        Some(ns) => e.namespaces.iter().any(|n| n == "*" || *n == *ns),
                    }
            });
            assert!(declared, "{} not declared", o["kind"]);
        }
    }
}
