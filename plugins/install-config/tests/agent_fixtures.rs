//! The agent-based installer's own test fixtures (openshift/installer
//! `cmd/openshift-install/testdata/agent/image/`, see
//! tests/fixtures/agent/SOURCES.md), re-expressed as opsmith inventories:
//! what opsmith renders from each must say what the fixture says, compared
//! as data. A fixture's install-config and agent-config are the upstream
//! sections as JSON, without the SSH key, pull secret and BMC credentials.
//! See: #20

use opsmith_plugin_install_config::InstallConfig;
use opsmith_plugin_sdk::testing::{EXAMPLE_CATALOG, render};
use serde_json::{Value, json};

fn fixture(case: &str, file: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/agent/{case}/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// opsmith's install-config.yaml and agent-config.yaml for `case`, the
/// latter checked against the derived AgentConfig schema, and both free of
/// credentials.
fn rendered(case: &str) -> (Value, Value) {
    let site = fixture(case, "inventory.json").to_string();
    let config = fixture(case, "config.json").to_string();
    let out = render::<InstallConfig>("install-config", &site, EXAMPLE_CATALOG, &config)
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let files = out.files();
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["install-config.yaml", "agent-config.yaml"],
        "{case}"
    );
    let (install_config, agent_config) = (files[0].content.clone(), files[1].content.clone());

    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/upstream/derived/agent-config.v1beta1.schema.json"
    );
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&agent_config)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{case}: {errors:?}");

    for file in [&install_config, &agent_config] {
        no_credentials(file, "");
    }
    (install_config, agent_config)
}

/// Every username, password and pull secret is a `${...}` placeholder, and
/// no string holds a pull secret's `auths`.
fn no_credentials(value: &Value, key: &str) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| no_credentials(v, k)),
        Value::Array(items) => items.iter().for_each(|v| no_credentials(v, key)),
        Value::String(text) => {
            assert!(!text.contains("auths"), "{key}: {text}");
            if ["username", "password", "pullSecret"].contains(&key) {
                assert!(
                    text.starts_with("${") && text.ends_with('}'),
                    "{key}: {text}"
                );
            }
        }
        _ => {}
    }
}

/// Asserts that `actual` holds every field `expected` sets, with the same
/// value, except at the JSON pointers in `skip`. Keys match as
/// openshift-install matches them, ignoring case (Go's encoding/json): the
/// fixtures write `apiVips`, opsmith the canonical `apiVIPs`.
fn assert_sets(expected: &Value, actual: &Value, at: &str, skip: &[&str]) {
    if skip.contains(&at) {
        return;
    }
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let found = have
                    .get(key)
                    .or_else(|| {
                        have.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(key))
                            .map(|(_, v)| v)
                    })
                    .unwrap_or(&Value::Null);
                assert_sets(value, found, &format!("{at}/{key}"), skip);
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            assert_eq!(want.len(), have.len(), "{at}: {actual}");
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                assert_sets(w, h, &format!("{at}/{i}"), skip);
            }
        }
        _ => assert_eq!(expected, actual, "at {at}"),
    }
}

/// What opsmith does not write, with the reason.
const NAMESPACE: &str = "/metadata/namespace"; // the install's namespace: the installer's default suits a site
const API_VERSION: &str = "/apiVersion"; // v1alpha1 in the fixtures; the installer up-converts it to v1beta1, which opsmith writes

fn compare(case: &str, install_skip: &[&str]) -> (Value, Value) {
    let (install_config, agent_config) = rendered(case);
    assert_sets(
        &fixture(case, "upstream-install-config.json"),
        &install_config,
        "",
        &[&[NAMESPACE], install_skip].concat(),
    );
    assert_sets(
        &fixture(case, "upstream-agent-config.json"),
        &agent_config,
        "",
        &[NAMESPACE, API_VERSION],
    );
    assert_eq!(agent_config["apiVersion"], "v1beta1");
    assert_eq!(agent_config["kind"], "AgentConfig");
    (install_config, agent_config)
}

#[test]
fn sno() {
    let (install_config, agent_config) = compare("sno", &[]);
    assert_eq!(install_config["platform"], json!({ "none": {} }));
    assert_eq!(agent_config["rendezvousIP"], "192.168.111.20");
}

#[test]
fn compact() {
    let (install_config, agent_config) = compare("compact", &[]);
    assert_eq!(install_config["platform"]["baremetal"]["hosts"], json!([]));
    assert_eq!(agent_config["rendezvousIP"], "192.168.111.20");
    assert_eq!(agent_config["hosts"].as_array().map(Vec::len), Some(3));
}

#[test]
fn none_ha() {
    let (_, agent_config) = compare("none_ha", &[]);
    let roles: Vec<_> = agent_config["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| h["role"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(roles, ["master", "master", "master", "worker", "worker"]);
}

/// The fixture gives each host's network and BMC in install-config's
/// `platform.baremetal.hosts`; opsmith writes them in agent-config's
/// `hosts`, which the installer prefers (agenthosts.go).
#[test]
fn baremetal_host_bmc_config() {
    let (_, agent_config) = compare(
        "baremetal_host_bmc_config",
        &[
            // The deprecated singular forms of apiVIPs and ingressVIPs.
            "/platform/baremetal/apiVIP",
            "/platform/baremetal/ingressVIP",
            // In agent-config, compared below.
            "/platform/baremetal/hosts",
            // The provisioning network's details, which the inventory has no fields for.
            "/platform/baremetal/provisioningNetworkInterface",
            "/platform/baremetal/provisioningNetworkCIDR",
            "/platform/baremetal/provisioningDHCPRange",
        ],
    );
    assert_eq!(agent_config["rendezvousIP"], "192.168.111.80");
    let upstream = fixture("baremetal_host_bmc_config", "upstream-install-config.json");
    let want = upstream["platform"]["baremetal"]["hosts"]
        .as_array()
        .expect("hosts");
    let have = agent_config["hosts"].as_array().expect("hosts");
    assert_eq!(want.len(), have.len());
    for (want, have) in want.iter().zip(have) {
        assert_eq!(have["hostname"], want["name"]);
        assert_eq!(have["interfaces"][0]["macAddress"], want["bootMACAddress"]);
        assert_eq!(have["networkConfig"], want["networkConfig"]);
        // opsmith's BMC addresses carry a metal3 driver (`redfish+http`);
        // the fixture's plain `http` is none.
        let address = |bmc: &Value| {
            let address = bmc["address"].as_str().unwrap_or_default().to_owned();
            address.split_once("://").map(|(_, rest)| rest.to_owned())
        };
        assert_eq!(address(&have["bmc"]), address(&want["bmc"]));
        assert_eq!(
            have["bmc"]["disableCertificateVerification"],
            want["bmc"]["disableCertificateVerification"]
        );
        let suffix = want["name"]
            .as_str()
            .unwrap_or_default()
            .to_uppercase()
            .replace('-', "_");
        assert_eq!(
            have["bmc"]["username"],
            format!("${{BMC_USERNAME_{suffix}}}")
        );
        assert_eq!(
            have["bmc"]["password"],
            format!("${{BMC_PASSWORD_{suffix}}}")
        );
    }
}

/// The fixture's hosts, whole; without a rendezvousIP, the installer picks
/// the first host that is no worker, 10.19.17.126 as the fixture's expected
/// output says, and so does opsmith.
#[test]
fn no_rendezvous_ip() {
    let (install_config, agent_config) = rendered("no-rendezvousip");
    let upstream = fixture("no-rendezvousip", "upstream-agent-config.json");
    assert_eq!(agent_config["hosts"], upstream["hosts"]);
    assert_eq!(agent_config["rendezvousIP"], "10.19.17.126");
    // The fixture's machine network (192.168.111.0/24) does not hold its
    // hosts' addresses; the inventory's must, so only the sizes compare.
    let upstream = fixture("no-rendezvousip", "upstream-install-config.json");
    assert_eq!(
        install_config["controlPlane"]["replicas"],
        upstream["controlPlane"]["replicas"]
    );
    assert_eq!(
        install_config["compute"],
        json!([{
            "name": "worker",
            "replicas": upstream["compute"][0]["replicas"],
            "architecture": "amd64",
            "platform": {},
        }])
    );
}

#[test]
#[should_panic(expected = "at /rendezvousIP")]
fn the_comparison_notices_a_difference() {
    let (_, mut agent_config) = rendered("sno");
    agent_config["rendezvousIP"] = json!("192.168.111.21");
    assert_sets(
        &fixture("sno", "upstream-agent-config.json"),
        &agent_config,
        "",
        &[NAMESPACE, API_VERSION],
    );
}
