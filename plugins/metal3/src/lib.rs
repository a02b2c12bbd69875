//! `builtin:metal3`: one metal3 BareMetalHost per server in the inventory, and
//! the ExternalSecret that delivers its BMC credentials from the site's secret
//! store.
//!
//! The credentials Secret is named `<host>-bmc-secret`, as `openshift-install`
//! names the one it creates for each install-config host, so after installation
//! the ExternalSecret takes that Secret over instead of creating a second one.
//! No Secret is ever rendered: the username and password stay in the store.

use std::collections::BTreeMap;

use opsmith_plugin_sdk::site::{Host, SiteInventory};
use opsmith_plugin_sdk::{Error, Info, Input, Output, Plugin, Value, export_plugin};
use serde::{Deserialize, Serialize};

/// Where OpenShift's baremetal operator watches for BareMetalHosts.
const DEFAULT_NAMESPACE: &str = "openshift-machine-api";

/// Label keys this plugin sets on every object it renders for a host.
const ROLE_LABEL: &str = "opsmith.dev/role";
const HARDWARE_MODEL_LABEL: &str = "opsmith.dev/hardware-model";

/// Boot modes metal3 accepts (`spec.bootMode`).
const BOOT_MODES: [&str; 3] = ["UEFI", "UEFISecureBoot", "legacy"];

/// How the BareMetalHosts of the site's servers are rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:metal3 config"))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    /// A namespace for the BareMetalHosts and their credential
    /// ExternalSecrets (an RFC 1123 label). OpenShift's baremetal operator
    /// watches openshift-machine-api.
    #[cfg_attr(
        test,
        schemars(regex(pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63))
    )]
    namespace: String,
    /// spec.online of every host: whether metal3 keeps the server powered on.
    online: bool,
    /// spec.automatedCleaningMode: 'metadata' wipes disk metadata when a
    /// host is provisioned or deprovisioned, 'disabled' skips cleaning.
    #[cfg_attr(test, schemars(extend("enum" = ["metadata", "disabled"])))]
    automated_cleaning_mode: String,
    /// Set spec.externallyProvisioned: true on every host, so metal3 manages
    /// power but never provisions or deprovisions them (servers installed by
    /// other means).
    externally_provisioned: bool,
    /// Annotate BareMetalHosts with argocd.argoproj.io/sync-options:
    /// Prune=false,Delete=false, so that removing a host from the inventory
    /// or deleting the Argo CD Application never deprovisions and cleans a
    /// server; such hosts are deleted by hand.
    prune_protection: bool,
    /// A Go duration such as 1h or 15m: how often external-secrets re-reads
    /// the BMC credentials from the secret store (0 reads them once).
    #[cfg_attr(
        test,
        schemars(regex(pattern = r"^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$"))
    )]
    refresh_interval: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            online: true,
            automated_cleaning_mode: "metadata".to_owned(),
            externally_provisioned: false,
            prune_protection: true,
            refresh_interval: "1h".to_owned(),
        }
    }
}

/// The plugin; public so that native code (tests, benchmarks) can render with it.
pub struct Metal3;

impl Plugin for Metal3 {
    fn describe() -> Info {
        Info::new("metal3", env!("CARGO_PKG_VERSION"))
            .description(
                "A metal3 BareMetalHost per server, with an ExternalSecret for its BMC credentials",
            )
            .config_schema_json(include_str!("config.schema.json"))
            // `namespace` is configurable; the catalog's `allow` can narrow this.
            .emits(
                "metal3.io/v1alpha1",
                "BareMetalHost",
                &[DEFAULT_NAMESPACE, "*"],
            )
            .emits(
                "external-secrets.io/v1",
                "ExternalSecret",
                &[DEFAULT_NAMESPACE, "*"],
            )
    }

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        let mut out = Output::new();
        for (i, host) in input.site.spec.hosts.iter().enumerate() {
            let pointer = format!("/site/spec/hosts/{i}");
            let labels = host_labels(host);
            let credentials_name = credentials_name(host);
            out.serialize(&bare_metal_host(
                host,
                &pointer,
                &labels,
                &credentials_name,
                &config,
            )?)?;
            out.serialize(&credentials(
                host,
                &labels,
                &credentials_name,
                &input.site,
                &config,
            ))?;
        }
        Ok(out)
    }
}

export_plugin!(Metal3);

fn credentials_name(host: &Host) -> String {
    format!("{}-bmc-secret", host.name)
}

// The two kinds as typed structs, written straight to JSON: a site of
// thousands of hosts renders several times faster than through `json!`.

/// `metadata` of both kinds.
#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'static str, &'static str>,
}

/// A Kubernetes object: the BareMetalHost or the ExternalSecret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<'a, Spec> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
    spec: Spec,
}

/// A metal3.io/v1alpha1 BareMetalHost, with the fields opsmith sets.
type BareMetalHost<'a> = Object<'a, BareMetalHostSpec<'a>>;

/// An external-secrets.io/v1 ExternalSecret.
type ExternalSecret<'a> = Object<'a, ExternalSecretSpec<'a>>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BareMetalHostSpec<'a> {
    online: bool,
    #[serde(rename = "bootMACAddress")]
    boot_mac_address: &'a str,
    boot_mode: &'a str,
    bmc: Bmc<'a>,
    automated_cleaning_mode: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_device_hints: Option<Value>,
    #[serde(skip_serializing_if = "is_false")]
    externally_provisioned: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bmc<'a> {
    address: &'a str,
    credentials_name: &'a str,
    disable_certificate_verification: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalSecretSpec<'a> {
    refresh_interval: &'a str,
    secret_store_ref: SecretStoreRef<'a>,
    target: Target<'a>,
    data: [SecretData<'a>; 2],
}

#[derive(Serialize)]
struct SecretStoreRef<'a> {
    name: &'a str,
    kind: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Target<'a> {
    name: &'a str,
    creation_policy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretData<'a> {
    secret_key: &'static str,
    remote_ref: RemoteRef<'a>,
}

#[derive(Serialize)]
struct RemoteRef<'a> {
    key: &'a str,
    property: &'static str,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn bare_metal_host<'a>(
    host: &'a Host,
    pointer: &str,
    labels: &'a BTreeMap<String, String>,
    credentials_name: &'a str,
    config: &'a Config,
) -> Result<BareMetalHost<'a>, Error> {
    let boot_mode = host.boot_mode.as_deref().unwrap_or("UEFI");
    if !BOOT_MODES.contains(&boot_mode) {
        return Err(Error::at(
            &format!("{pointer}/bootMode"),
            format!(
                "boot mode {boot_mode:?} is not one of {}",
                BOOT_MODES.join(", ")
            ),
        ));
    }
    let root_device_hints = host
        .root_device_hints
        .as_ref()
        .map(|hints| hints.to_metal3(&format!("{pointer}/rootDeviceHints")))
        .transpose()?;
    let mut annotations = BTreeMap::new();
    if config.prune_protection {
        annotations.insert(
            "argocd.argoproj.io/sync-options",
            "Prune=false,Delete=false",
        );
    }
    Ok(Object {
        api_version: "metal3.io/v1alpha1",
        kind: "BareMetalHost",
        metadata: Metadata {
            name: &host.name,
            namespace: &config.namespace,
            labels,
            annotations,
        },
        spec: BareMetalHostSpec {
            online: config.online,
            boot_mac_address: &host.boot_mac_address,
            boot_mode,
            bmc: Bmc {
                address: &host.bmc.address,
                credentials_name,
                disable_certificate_verification: host.bmc.disable_certificate_verification,
            },
            automated_cleaning_mode: &config.automated_cleaning_mode,
            root_device_hints,
            externally_provisioned: config.externally_provisioned,
        },
    })
}

fn credentials<'a>(
    host: &'a Host,
    labels: &'a BTreeMap<String, String>,
    credentials_name: &'a str,
    site: &'a SiteInventory,
    config: &'a Config,
) -> ExternalSecret<'a> {
    let key = &host.bmc.credentials_ref;
    let remote = |secret_key, property| SecretData {
        secret_key,
        remote_ref: RemoteRef { key, property },
    };
    Object {
        api_version: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: Metadata {
            name: credentials_name,
            namespace: &config.namespace,
            labels,
            annotations: BTreeMap::new(),
        },
        spec: ExternalSecretSpec {
            refresh_interval: &config.refresh_interval,
            secret_store_ref: SecretStoreRef {
                name: &site.spec.secret_store.name,
                kind: &site.spec.secret_store.kind,
            },
            target: Target {
                name: credentials_name,
                creation_policy: "Owner",
            },
            data: [
                remote("username", "username"),
                remote("password", "password"),
            ],
        },
    }
}

fn host_labels(host: &Host) -> BTreeMap<String, String> {
    let mut labels = host.labels.clone();
    labels.insert(ROLE_LABEL.to_owned(), host.role.as_str().to_owned());
    let model = label_value(&host.hardware.model);
    if !model.is_empty() {
        labels.insert(HARDWARE_MODEL_LABEL.to_owned(), model);
    }
    labels
}

/// A hardware model as a label value: lowercase, every run of characters a
/// label value cannot hold becomes one `-`, at most 63 characters, starting
/// and ending with a letter or digit. `PowerEdge R620` becomes `poweredge-r620`.
fn label_value(text: &str) -> String {
    let mut value = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') {
            value.push(c.to_ascii_lowercase());
        } else if !value.ends_with('-') {
            value.push('-');
        }
    }
    value.truncate(63);
    value
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmith_plugin_sdk::json;
    use opsmith_plugin_sdk::testing::{EXAMPLE_CATALOG, EXAMPLE_SITE, render};

    fn example(config: &str) -> Output {
        render::<Metal3>("baremetal-hosts", EXAMPLE_SITE, EXAMPLE_CATALOG, config)
            .expect("example site renders")
    }

    fn site_with(edit: impl FnOnce(&mut Value)) -> String {
        let mut site: Value = serde_json::from_str(EXAMPLE_SITE).expect("example site is JSON");
        edit(&mut site);
        site.to_string()
    }

    #[test]
    fn renders_a_host_and_its_credentials_per_server() {
        let out = example("{}");
        let objects = out.objects();
        let kinds: Vec<_> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            kinds,
            [
                "BareMetalHost",
                "ExternalSecret",
                "BareMetalHost",
                "ExternalSecret"
            ]
        );
        assert!(out.diagnostics.is_empty());
        assert!(out.files().is_empty());
    }

    #[test]
    fn bare_metal_host_carries_the_inventory() {
        let out = example("{}");
        let objects = out.objects();
        let bmh = &objects[0];
        assert_eq!(bmh["apiVersion"], "metal3.io/v1alpha1");
        assert_eq!(bmh["metadata"]["name"], "example-cp-0");
        assert_eq!(bmh["metadata"]["namespace"], "openshift-machine-api");
        assert_eq!(
            bmh["metadata"]["labels"]["opsmith.dev/role"],
            "control-plane"
        );
        assert_eq!(
            bmh["metadata"]["labels"]["opsmith.dev/hardware-model"],
            "poweredge-r620"
        );
        assert_eq!(
            bmh["metadata"]["annotations"]["argocd.argoproj.io/sync-options"],
            "Prune=false,Delete=false"
        );
        let spec = &bmh["spec"];
        assert_eq!(spec["online"], true);
        assert_eq!(spec["bootMACAddress"], "52:54:00:00:00:01");
        assert_eq!(spec["bootMode"], "UEFI");
        assert_eq!(spec["automatedCleaningMode"], "metadata");
        assert_eq!(
            spec["bmc"],
            json!({
                "address": "idrac-virtualmedia://192.0.2.100/redfish/v1/Systems/System.Embedded.1",
                "credentialsName": "example-cp-0-bmc-secret",
                "disableCertificateVerification": true,
            })
        );
        assert_eq!(spec["rootDeviceHints"], json!({ "deviceName": "/dev/sda" }));
        assert!(spec.get("externallyProvisioned").is_none());
        assert!(spec.get("hardwareProfile").is_none());

        let worker = &objects[2]["spec"];
        assert_eq!(worker["bmc"]["disableCertificateVerification"], false);
        assert!(worker.get("rootDeviceHints").is_none());
    }

    #[test]
    fn external_secret_maps_the_store_key() {
        let out = example("{}");
        let objects = out.objects();
        let es = &objects[1];
        assert_eq!(es["apiVersion"], "external-secrets.io/v1");
        assert_eq!(es["metadata"]["name"], "example-cp-0-bmc-secret");
        assert_eq!(es["metadata"]["namespace"], "openshift-machine-api");
        assert_eq!(
            es["metadata"]["labels"]["opsmith.dev/role"],
            "control-plane"
        );
        assert_eq!(
            es["spec"],
            json!({
                "refreshInterval": "1h",
                "secretStoreRef": { "name": "vault", "kind": "ClusterSecretStore" },
                "target": { "name": "example-cp-0-bmc-secret", "creationPolicy": "Owner" },
                "data": [
                    { "secretKey": "username", "remoteRef": { "key": "bmc/example-cp-0", "property": "username" } },
                    { "secretKey": "password", "remoteRef": { "key": "bmc/example-cp-0", "property": "password" } },
                ],
            })
        );
        // The BareMetalHost points at exactly the Secret this fills.
        assert_eq!(
            objects[0]["spec"]["bmc"]["credentialsName"],
            es["spec"]["target"]["name"]
        );
    }

    #[test]
    fn never_renders_a_secret() {
        let out = example("{}");
        let objects = out.objects();
        assert!(objects.iter().all(|o| o["kind"] != "Secret"));
    }

    #[test]
    fn config_changes_namespace_power_cleaning_and_refresh() {
        let config = r#"{"namespace":"metal3","online":false,"automatedCleaningMode":"disabled",
            "externallyProvisioned":true,"pruneProtection":false,"refreshInterval":"15m"}"#;
        let out = example(config);
        let objects = out.objects();
        for o in &objects {
            assert_eq!(o["metadata"]["namespace"], "metal3");
        }
        let bmh = &objects[0];
        assert_eq!(bmh["spec"]["online"], false);
        assert_eq!(bmh["spec"]["automatedCleaningMode"], "disabled");
        assert_eq!(bmh["spec"]["externallyProvisioned"], true);
        assert!(bmh["metadata"].get("annotations").is_none());
        assert_eq!(objects[1]["spec"]["refreshInterval"], "15m");
    }

    #[test]
    fn unknown_config_is_refused() {
        let err = render::<Metal3>(
            "baremetal-hosts",
            EXAMPLE_SITE,
            EXAMPLE_CATALOG,
            r#"{"hardwareProfile":"x"}"#,
        )
        .expect_err("unknown field");
        assert_eq!(err.pointer, "/config");
    }

    #[test]
    fn host_fields_and_labels_flow_through() {
        let site = site_with(|s| {
            let host = &mut s["spec"]["hosts"][1];
            host["bootMode"] = json!("legacy");
            host["labels"] = json!({ "rack": "r3", "opsmith.dev/role": "ignored" });
            host["rootDeviceHints"] = json!({
                "deviceName": "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:2:0:0",
                "hctl": "0:2:0:0", "model": "PERC", "vendor": "DELL", "serialNumber": "0123",
                "minSizeGigabytes": 200, "wwn": "0x0123456789abcdef", "rotational": false
            });
        });
        let out =
            render::<Metal3>("baremetal-hosts", &site, EXAMPLE_CATALOG, "{}").expect("renders");
        let objects = out.objects();
        let bmh = &objects[2];
        assert_eq!(bmh["spec"]["bootMode"], "legacy");
        assert_eq!(bmh["metadata"]["labels"]["rack"], "r3");
        assert_eq!(bmh["metadata"]["labels"]["opsmith.dev/role"], "worker");
        assert_eq!(objects[3]["metadata"]["labels"]["rack"], "r3");
        let hints = &bmh["spec"]["rootDeviceHints"];
        assert_eq!(hints["serialNumber"], "0123");
        assert_eq!(hints["minSizeGigabytes"], 200);
        assert_eq!(hints["rotational"], false);
        assert_eq!(hints.as_object().map(|m| m.len()), Some(8));
    }

    #[test]
    fn bad_boot_mode_and_device_name_point_at_the_host() {
        let site = site_with(|s| s["spec"]["hosts"][1]["bootMode"] = json!("uefi"));
        let err = render::<Metal3>("baremetal-hosts", &site, EXAMPLE_CATALOG, "{}")
            .expect_err("bad boot mode");
        assert_eq!(err.pointer, "/site/spec/hosts/1/bootMode");

        let site =
            site_with(|s| s["spec"]["hosts"][0]["rootDeviceHints"]["deviceName"] = json!("sda"));
        let err = render::<Metal3>("baremetal-hosts", &site, EXAMPLE_CATALOG, "{}")
            .expect_err("bad device");
        assert_eq!(err.pointer, "/site/spec/hosts/0/rootDeviceHints/deviceName");
    }

    #[test]
    fn hardware_models_become_label_values() {
        assert_eq!(label_value("PowerEdge R620"), "poweredge-r620");
        assert_eq!(
            label_value("  ProLiant DL380 Gen10+ "),
            "proliant-dl380-gen10"
        );
        assert_eq!(
            label_value("SYS-1029U/TRT (rev. 2)"),
            "sys-1029u-trt-rev.-2"
        );
        assert_eq!(label_value("???"), "");
        let long = label_value(&"x".repeat(100));
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_config_schema::<Config>(
            &schemars::schema_for!(Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
        let parsed: Config = serde_json::from_value(json!({})).expect("empty config");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn describe_declares_what_render_emits() {
        let info = Metal3::describe();
        let out = example("{}");
        let objects = out.objects();
        for o in &objects {
            let declared = info.emits.iter().any(|e| {
                e.api_version == o["apiVersion"]
                    && e.kind == o["kind"]
                    && e.namespaces
                        .iter()
                        .any(|n| *n == o["metadata"]["namespace"])
            });
            assert!(declared, "{} not declared", o["kind"]);
        }
    }
}
