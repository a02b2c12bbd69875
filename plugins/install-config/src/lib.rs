//! `builtin:install-config`: the day-0 files `openshift-install` reads to
//! install the site on bare metal, as files rather than Kubernetes objects.
//!
//! - `method: ipi` (the default): `install-config.yaml` for an
//!   installer-provisioned install (`openshift-install create cluster`), with
//!   every host and its BMC under `platform.baremetal.hosts`.
//! - `method: agent`: `install-config.yaml` and `agent-config.yaml` for the
//!   agent-based installer (`openshift-install agent create image`), with each
//!   host's interfaces and nmstate network in agent-config (see [`agent`]).
//!
//! An install-config cannot reference a secret store, so every credential in
//! it is a placeholder in `${NAME}` form:
//!
//! - `pullSecret` and `sshKey`: the `pullSecretPlaceholder` and
//!   `sshKeyPlaceholder` config values, `${PULL_SECRET}` and
//!   `${SSH_PUBLIC_KEY}` by default;
//! - each host's BMC `username` and `password`: `${BMC_USERNAME_<HOST>}` and
//!   `${BMC_PASSWORD_<HOST>}`, where `<HOST>` is the host name in upper case
//!   with every other character than a letter or digit turned into `_`
//!   (`oct-03-04-compute` gives `BMC_USERNAME_OCT_03_04_COMPUTE`). The values
//!   are the `username` and `password` properties of the host's
//!   `bmc.credentialsRef` key in the site's secret store. With `method:
//!   agent` they appear only with `manageBmc: true`, in agent-config.yaml.
//!
//! The install step exports those variables from the secret store and
//! replaces the placeholders inside string values, for example with
//! `yq '(.. | select(tag == "!!str")) |= envsubst(nu, ne)' install-config.yaml`
//! (which also fails on a variable left unset or empty), so that a password
//! or the pull secret's JSON stays one YAML string; a plain text `envsubst`
//! would let the pull secret's JSON turn into a YAML mapping.

pub mod agent;

use std::collections::BTreeMap;

use opsmith_plugin_sdk::site::{Host, Proxy, Role, SiteInventory};
use opsmith_plugin_sdk::{Error, FileFormat, Info, Input, Output, Plugin, Value, export_plugin};
use serde::{Deserialize, Serialize};

/// Boot modes the installer accepts for `platform.baremetal.hosts[].bootMode`.
const BOOT_MODES: [&str; 3] = ["UEFI", "UEFISecureBoot", "legacy"];

/// Renders day0/<component>/install-config.yaml, and with method agent also
/// agent-config.yaml. Credentials are placeholders that the install step
/// replaces, as whole YAML string values (for example with yq's envsubst),
/// before running openshift-install: the pull secret and SSH key from the
/// values below, and each host's BMC username and password from
/// ${BMC_USERNAME_<HOST>} and ${BMC_PASSWORD_<HOST>} (<HOST>: the host name
/// in upper case, '-' and other characters as '_'), which hold the username
/// and password properties of the host's bmc.credentialsRef key in the
/// secret store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:install-config config"))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    /// networking.networkType: the cluster network plugin. OVNKubernetes is
    /// OpenShift's; a certified third-party plugin uses its own name.
    #[cfg_attr(test, schemars(length(min = 1)))]
    network_type: String,
    /// Value of pullSecret: a placeholder the install step replaces with the
    /// pull secret from the secret store. Never the pull secret itself.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pull_secret_placeholder: String,
    /// Value of sshKey: a placeholder the install step replaces with the SSH
    /// public key for the core user (a public key is not a secret and may
    /// also be written here directly).
    #[cfg_attr(test, schemars(length(min = 1)))]
    ssh_key_placeholder: String,
    /// fips: install the cluster in FIPS mode. It cannot be changed after
    /// installation.
    fips: bool,
    /// How the cluster is installed. ipi: install-config.yaml with every
    /// host and its BMC, for openshift-install create cluster. agent:
    /// install-config.yaml and agent-config.yaml (each host's NICs and nmstate
    /// network from the inventory), for openshift-install agent create image.
    method: Method,
    /// With method agent: the install-config platform. baremetal: the
    /// cluster serves its API and ingress VIPs itself and its metal3 manages
    /// the hosts. none: load balancing and DNS are the user's. Default: none
    /// for a single control-plane host (single-node OpenShift, which the
    /// agent-based installer allows only on none), baremetal otherwise.
    platform: Option<AgentPlatform>,
    /// With method agent: the address of the rendezvous host (node0, which
    /// runs the install), which must be a control-plane host's. Default: the
    /// ip of the first control-plane host in the inventory.
    #[serde(rename = "rendezvousIP")]
    #[cfg_attr(test, schemars(with = "Option<String>", length(min = 1)))]
    rendezvous_ip: Option<String>,
    /// With method agent and platform baremetal: put each host's BMC address
    /// in agent-config.yaml, so that the installed cluster's metal3 manages
    /// the hosts. Its username and password are the ${BMC_USERNAME_<HOST>} and
    /// ${BMC_PASSWORD_<HOST>} placeholders, never the credentials.
    manage_bmc: bool,
}

/// How the cluster is installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
enum Method {
    /// Installer-provisioned: openshift-install create cluster.
    #[default]
    Ipi,
    /// The agent-based installer: openshift-install agent create image.
    Agent,
}

/// The install-config platform of an agent-based install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
enum AgentPlatform {
    /// The cluster's own VIPs and metal3.
    Baremetal,
    /// User-managed load balancing and DNS.
    None,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            network_type: "OVNKubernetes".to_owned(),
            pull_secret_placeholder: "${PULL_SECRET}".to_owned(),
            ssh_key_placeholder: "${SSH_PUBLIC_KEY}".to_owned(),
            fips: false,
            method: Method::Ipi,
            platform: None,
            rendezvous_ip: None,
            manage_bmc: false,
        }
    }
}

/// The plugin; public so that native code (tests, benchmarks) can render with it.
pub struct InstallConfig;

impl Plugin for InstallConfig {
    fn describe() -> Info {
        Info::new("install-config", env!("CARGO_PKG_VERSION"))
            .description("The day-0 install-config.yaml for a bare-metal OpenShift install (IPI), or install-config.yaml and agent-config.yaml for the agent-based installer, with credential placeholders")
            .config_schema_json(include_str!("config.schema.json"))
    }

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        check_placeholders(&config)?;
        match config.method {
            Method::Ipi => {
                check_agent_only(&config)?;
                render_ipi(input, &config)
            }
            Method::Agent => agent::render(input, &config),
        }
    }
}

export_plugin!(InstallConfig);

/// Refuses the agent-only settings with `method: ipi`, where they would do nothing.
fn check_agent_only(config: &Config) -> Result<(), Error> {
    let set = [
        ("platform", config.platform.is_some()),
        ("rendezvousIP", config.rendezvous_ip.is_some()),
        ("manageBmc", config.manage_bmc),
    ];
    match set.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(Error::at(
            &format!("/config/{field}"),
            format!("`{field}` applies to `method: agent` only; set `method: agent` or remove it"),
        )),
        None => Ok(()),
    }
}

/// install-config.yaml for an installer-provisioned install.
fn render_ipi(input: &Input, config: &Config) -> Result<Output, Error> {
    let site = &input.site;
    let mut out = Output::new();

    let control_plane = site.hosts_with_role(Role::ControlPlane).count();
    let workers = site.hosts_with_role(Role::Worker).count();
    check_counts(control_plane, workers, &mut out)?;

    let install_config = InstallConfigFile {
        api_version: "v1",
        base_domain: &site.spec.base_domain,
        metadata: Name {
            name: &site.metadata.name,
        },
        networking: networking(site, config),
        control_plane: MachinePool {
            name: "master",
            replicas: control_plane,
            architecture: "amd64",
            platform: EMPTY_BAREMETAL,
        },
        compute: [MachinePool {
            name: "worker",
            replicas: workers,
            architecture: "amd64",
            platform: EMPTY_BAREMETAL,
        }],
        platform: Platform {
            baremetal: baremetal_platform(site)?,
        },
        fips: config.fips,
        pull_secret: &config.pull_secret_placeholder,
        ssh_key: &config.ssh_key_placeholder,
        proxy: site_proxy(site),
    };
    out.serialize_file(
        "install-config.yaml",
        FileFormat::Yaml,
        Some(INSTALL_CONFIG_SCHEMA),
        &install_config,
    )?;
    Ok(out)
}

/// The schema opsmith checks install-config.yaml against.
const INSTALL_CONFIG_SCHEMA: &str = "install.openshift.io/v1/InstallConfig";

/// The site's proxy, unless it sets nothing.
fn site_proxy(site: &SiteInventory) -> Option<&Proxy> {
    site.spec
        .proxy
        .as_ref()
        .filter(|p| p.http_proxy.is_some() || p.https_proxy.is_some() || p.no_proxy.is_some())
}

/// `networking`, as both methods write it.
fn networking<'a>(site: &'a SiteInventory, config: &'a Config) -> Networking<'a> {
    let network = &site.spec.network;
    Networking {
        network_type: &config.network_type,
        machine_network: [Cidr {
            cidr: &network.machine_network,
            host_prefix: None,
        }],
        cluster_network: [Cidr {
            cidr: &network.cluster_network,
            host_prefix: Some(network.cluster_network_host_prefix),
        }],
        service_network: [&network.service_network],
    }
}

/// install-config.yaml, field for field as openshift-install reads it
/// (`install.openshift.io/v1` `InstallConfig`, without `kind`); `M` is the
/// machine pools' platform and `P` the cluster's.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstallConfigFile<'a, M = EmptyBaremetal, P = Platform<'a>> {
    api_version: &'static str,
    base_domain: &'a str,
    metadata: Name<'a>,
    networking: Networking<'a>,
    control_plane: MachinePool<M>,
    compute: [MachinePool<M>; 1],
    platform: P,
    fips: bool,
    pull_secret: &'a str,
    ssh_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy: Option<&'a Proxy>,
}

#[derive(Serialize)]
struct Name<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Networking<'a> {
    network_type: &'a str,
    machine_network: [Cidr<'a>; 1],
    cluster_network: [Cidr<'a>; 1],
    service_network: [&'a str; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cidr<'a> {
    cidr: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_prefix: Option<u8>,
}

/// `controlPlane` and `compute[0]`. The InstallConfig CRD requires
/// `platform` on both machine pools, although openshift-install does not.
#[derive(Serialize)]
struct MachinePool<M = EmptyBaremetal> {
    name: &'static str,
    replicas: usize,
    architecture: &'static str,
    platform: M,
}

#[derive(Serialize, Clone, Copy)]
struct EmptyBaremetal {
    baremetal: Empty,
}

#[derive(Serialize, Clone, Copy)]
struct Empty {}

const EMPTY_BAREMETAL: EmptyBaremetal = EmptyBaremetal {
    baremetal: Empty {},
};

#[derive(Serialize)]
struct Platform<'a> {
    baremetal: Baremetal<'a>,
}

/// `platform.baremetal`: the VIPs, the provisioning network and every host.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Baremetal<'a> {
    // The list forms; the singular apiVIP/ingressVIP are deprecated.
    #[serde(rename = "apiVIPs")]
    api_vips: [&'a str; 1],
    #[serde(rename = "ingressVIPs")]
    ingress_vips: [&'a str; 1],
    provisioning_network: &'a str,
    hosts: Vec<HostEntry<'a>>,
    #[serde(
        rename = "additionalNTPServers",
        skip_serializing_if = "<[_]>::is_empty"
    )]
    additional_ntp_servers: &'a [String],
}

/// One entry of `platform.baremetal.hosts`; the installer turns it into a
/// BareMetalHost and a `<host>-bmc-secret` Secret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HostEntry<'a> {
    name: &'a str,
    role: &'static str,
    bmc: BmcEntry<'a>,
    #[serde(rename = "bootMACAddress")]
    boot_mac_address: &'a str,
    boot_mode: &'a str,
    // Deprecated, but the InstallConfig CRD requires it; `default` is what
    // openshift-install fills in when it is empty.
    hardware_profile: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_device_hints: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BmcEntry<'a> {
    address: &'a str,
    // Filled in by the install step from the secret store key
    // `bmc.credentialsRef`; see the module documentation.
    username: String,
    password: String,
    disable_certificate_verification: bool,
}

fn baremetal_platform(site: &SiteInventory) -> Result<Baremetal<'_>, Error> {
    let network = &site.spec.network;
    let suffixes = placeholder_suffixes(site)?;
    let mut hosts = Vec::with_capacity(site.spec.hosts.len());
    for (i, (host, suffix)) in site.spec.hosts.iter().zip(&suffixes).enumerate() {
        hosts.push(host_entry(host, i, suffix)?);
    }
    Ok(Baremetal {
        api_vips: [&network.api_vip],
        ingress_vips: [&network.ingress_vip],
        provisioning_network: &network.provisioning_network,
        hosts,
        additional_ntp_servers: &site.spec.ntp_servers,
    })
}

fn host_entry<'a>(host: &'a Host, index: usize, suffix: &str) -> Result<HostEntry<'a>, Error> {
    let boot_mode = host.boot_mode.as_deref().unwrap_or("UEFI");
    if !BOOT_MODES.contains(&boot_mode) {
        return Err(Error::at(
            &format!("/site/spec/hosts/{index}/bootMode"),
            format!(
                "boot mode {boot_mode:?} is not one of {}",
                BOOT_MODES.join(", ")
            ),
        ));
    }
    let root_device_hints = match &host.root_device_hints {
        Some(hints) => Some(hints.to_metal3(&format!("/site/spec/hosts/{index}/rootDeviceHints"))?),
        None => None,
    };
    Ok(HostEntry {
        name: &host.name,
        role: host.role.install_config_role(),
        bmc: BmcEntry {
            address: &host.bmc.address,
            username: format!("${{BMC_USERNAME_{suffix}}}"),
            password: format!("${{BMC_PASSWORD_{suffix}}}"),
            disable_certificate_verification: host.bmc.disable_certificate_verification,
        },
        boot_mac_address: &host.boot_mac_address,
        boot_mode,
        hardware_profile: "default",
        root_device_hints,
    })
}

/// Each host's BMC placeholder suffix ([`variable_suffix`]), refusing two
/// hosts that would share one.
fn placeholder_suffixes(site: &SiteInventory) -> Result<Vec<String>, Error> {
    let mut variables: BTreeMap<String, &str> = BTreeMap::new();
    let mut suffixes = Vec::with_capacity(site.spec.hosts.len());
    for (i, host) in site.spec.hosts.iter().enumerate() {
        let suffix = variable_suffix(&host.name);
        if let Some(other) = variables.insert(suffix.clone(), &host.name) {
            return Err(Error::at(
                &format!("/site/spec/hosts/{i}/name"),
                format!(
                    "hosts {other:?} and {:?} both give the placeholder suffix {suffix}; rename one",
                    host.name
                ),
            ));
        }
        suffixes.push(suffix);
    }
    Ok(suffixes)
}

/// A host name as the tail of an environment variable name:
/// `oct-03-04-compute` becomes `OCT_03_04_COMPUTE`.
fn variable_suffix(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Refuses config values that look like real credentials.
fn check_placeholders(config: &Config) -> Result<(), Error> {
    if config.pull_secret_placeholder.contains("auths") {
        return Err(Error::at(
            "/config/pullSecretPlaceholder",
            "this looks like a real pull secret; write a placeholder such as ${PULL_SECRET} and let the install step fill it in",
        ));
    }
    if config.ssh_key_placeholder.contains("PRIVATE KEY") {
        return Err(Error::at(
            "/config/sshKeyPlaceholder",
            "this is a private key; sshKey takes a public key or a placeholder such as ${SSH_PUBLIC_KEY}",
        ));
    }
    Ok(())
}

/// Fails on a cluster the installer cannot build and warns on unusual shapes.
fn check_counts(control_plane: usize, workers: usize, out: &mut Output) -> Result<(), Error> {
    const HOSTS: &str = "/site/spec/hosts";
    match control_plane {
        0 => {
            return Err(Error::at(
                HOSTS,
                "no control-plane host: an OpenShift cluster needs at least one",
            ));
        }
        1 => {
            out.warn(
                HOSTS,
                "1 control-plane host: single-node OpenShift is installed with the agent-based installer (`method: agent`), not with a bare-metal install-config",
            );
        }
        2 => {
            out.warn(
                HOSTS,
                "2 control-plane hosts: a two-node cluster needs an arbiter or fencing configuration, which this install-config does not have; use 3",
            );
        }
        3 => {}
        n => {
            out.warn(
                HOSTS,
                format!("{n} control-plane hosts: OpenShift's control plane normally has 3; check that this release supports {n} on bare metal"),
            );
        }
    }
    warn_one_worker(workers, out);
    Ok(())
}

/// Warns about a cluster with exactly one worker.
fn warn_one_worker(workers: usize, out: &mut Output) {
    if workers == 1 {
        // With workers, the control plane is not schedulable, and the
        // default ingress controller wants two routers on two workers.
        out.warn(
            "/site/spec/hosts",
            "1 worker: the default ingress controller runs 2 routers on separate workers; use 0 workers (a compact cluster) or at least 2",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmith_plugin_sdk::testing::{EXAMPLE_CATALOG, EXAMPLE_SITE, render};
    use opsmith_plugin_sdk::{Severity, json};

    fn site_with(edit: impl FnOnce(&mut Value)) -> String {
        let mut site: Value = serde_json::from_str(EXAMPLE_SITE).expect("example site is JSON");
        edit(&mut site);
        site.to_string()
    }

    /// The example site with three control-plane hosts and two workers.
    fn three_plus_two() -> String {
        site_with(|s| {
            let hosts = s["spec"]["hosts"].as_array_mut().expect("hosts");
            let (cp, worker) = (hosts[0].clone(), hosts[1].clone());
            hosts.clear();
            for (i, (template, name)) in [
                (&cp, "cp-0"),
                (&cp, "cp-1"),
                (&cp, "cp-2"),
                (&worker, "worker-0"),
                (&worker, "worker-1"),
            ]
            .into_iter()
            .enumerate()
            {
                let mut host = template.clone();
                host["name"] = json!(name);
                host["bootMACAddress"] = json!(format!("52:54:00:00:01:{i:02x}"));
                host["bmc"]["address"] = json!(format!(
                    "redfish-virtualmedia://192.0.2.{}/redfish/v1/Systems/1",
                    110 + i
                ));
                hosts.push(host);
            }
        })
    }

    fn install_config(site: &str, config: &str) -> (Value, Output) {
        let out = render::<InstallConfig>("install-config", site, EXAMPLE_CATALOG, config)
            .expect("renders");
        assert!(out.objects().is_empty());
        let files = out.files();
        assert_eq!(files.len(), 1);
        (files[0].content.clone(), out)
    }

    #[test]
    fn renders_one_day0_file() {
        let out = render::<InstallConfig>("install-config", EXAMPLE_SITE, EXAMPLE_CATALOG, "{}")
            .expect("renders");
        assert!(out.objects().is_empty());
        let files = out.files();
        let file = &files[0];
        assert_eq!(file.name, "install-config.yaml");
        assert_eq!(file.format, FileFormat::Yaml);
        assert_eq!(
            file.schema.as_deref(),
            Some("install.openshift.io/v1/InstallConfig")
        );
    }

    #[test]
    fn example_site_install_config() {
        let (ic, _) = install_config(EXAMPLE_SITE, "{}");
        assert_eq!(ic["apiVersion"], "v1");
        assert!(ic.get("kind").is_none());
        assert_eq!(ic["baseDomain"], "example.org");
        assert_eq!(ic["metadata"], json!({ "name": "example" }));
        assert_eq!(
            ic["networking"],
            json!({
                "networkType": "OVNKubernetes",
                "machineNetwork": [{ "cidr": "192.0.2.0/24" }],
                "clusterNetwork": [{ "cidr": "10.128.0.0/14", "hostPrefix": 23 }],
                "serviceNetwork": ["172.30.0.0/16"],
            })
        );
        assert_eq!(ic["controlPlane"]["name"], "master");
        assert_eq!(ic["controlPlane"]["replicas"], 1);
        assert_eq!(ic["controlPlane"]["platform"], json!({ "baremetal": {} }));
        assert_eq!(ic["compute"][0]["name"], "worker");
        assert_eq!(ic["compute"][0]["replicas"], 1);
        assert_eq!(ic["compute"][0]["platform"], json!({ "baremetal": {} }));
        assert_eq!(ic["fips"], false);
        assert_eq!(ic["pullSecret"], "${PULL_SECRET}");
        assert_eq!(ic["sshKey"], "${SSH_PUBLIC_KEY}");
        assert!(ic.get("proxy").is_none());

        let bm = &ic["platform"]["baremetal"];
        assert_eq!(bm["apiVIPs"], json!(["192.0.2.5"]));
        assert_eq!(bm["ingressVIPs"], json!(["192.0.2.6"]));
        assert_eq!(bm["provisioningNetwork"], "Disabled");
        assert_eq!(bm["additionalNTPServers"], json!(["192.0.2.1"]));
        assert_eq!(
            bm["hosts"][0],
            json!({
                "name": "example-cp-0",
                "role": "master",
                "bmc": {
                    "address": "idrac-virtualmedia://192.0.2.100/redfish/v1/Systems/System.Embedded.1",
                    "username": "${BMC_USERNAME_EXAMPLE_CP_0}",
                    "password": "${BMC_PASSWORD_EXAMPLE_CP_0}",
                    "disableCertificateVerification": true,
                },
                "bootMACAddress": "52:54:00:00:00:01",
                "bootMode": "UEFI",
                "hardwareProfile": "default",
                "rootDeviceHints": { "deviceName": "/dev/sda" },
            })
        );
        let worker = &bm["hosts"][1];
        assert_eq!(worker["role"], "worker");
        assert_eq!(worker["bmc"]["disableCertificateVerification"], false);
        assert_eq!(
            worker["bmc"]["password"],
            "${BMC_PASSWORD_EXAMPLE_WORKER_0}"
        );
        assert!(worker.get("rootDeviceHints").is_none());
    }

    #[test]
    fn example_site_warns_about_its_small_shape() {
        let (_, out) = install_config(EXAMPLE_SITE, "{}");
        assert_eq!(out.diagnostics.len(), 2);
        for d in &out.diagnostics {
            assert_eq!(d.severity, Severity::Warning);
            assert_eq!(d.pointer, "/site/spec/hosts");
        }
        assert!(
            out.diagnostics[0]
                .message
                .starts_with("1 control-plane host")
        );
        assert!(out.diagnostics[1].message.starts_with("1 worker"));
    }

    #[test]
    fn three_control_plane_hosts_and_two_workers_are_quiet() {
        let (ic, out) = install_config(&three_plus_two(), "{}");
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert_eq!(ic["controlPlane"]["replicas"], 3);
        assert_eq!(ic["compute"][0]["replicas"], 2);
        let roles: Vec<_> = ic["platform"]["baremetal"]["hosts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| h["role"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(roles, ["master", "master", "master", "worker", "worker"]);
    }

    #[test]
    fn no_control_plane_is_an_error() {
        let site = site_with(|s| s["spec"]["hosts"][0]["role"] = json!("worker"));
        let err = render::<InstallConfig>("install-config", &site, EXAMPLE_CATALOG, "{}")
            .expect_err("no masters");
        assert_eq!(err.pointer, "/site/spec/hosts");
    }

    #[test]
    fn proxy_is_rendered_when_the_site_has_one() {
        let site = site_with(|s| {
            s["spec"]["proxy"] =
                json!({ "httpsProxy": "http://proxy.example.org:3128", "noProxy": ".example.org" })
        });
        let (ic, _) = install_config(&site, "{}");
        assert_eq!(
            ic["proxy"],
            json!({ "httpsProxy": "http://proxy.example.org:3128", "noProxy": ".example.org" })
        );
    }

    #[test]
    fn config_is_applied() {
        let config = r#"{"networkType":"Cilium","pullSecretPlaceholder":"<pull-secret>",
            "sshKeyPlaceholder":"ssh-ed25519 AAAAexample core@example.org","fips":true}"#;
        let (ic, _) = install_config(EXAMPLE_SITE, config);
        assert_eq!(ic["networking"]["networkType"], "Cilium");
        assert_eq!(ic["pullSecret"], "<pull-secret>");
        assert_eq!(ic["sshKey"], "ssh-ed25519 AAAAexample core@example.org");
        assert_eq!(ic["fips"], true);
    }

    #[test]
    fn real_looking_credentials_are_refused() {
        let pull = r#"{"pullSecretPlaceholder":"{\"auths\":{}}"}"#;
        let err = render::<InstallConfig>("install-config", EXAMPLE_SITE, EXAMPLE_CATALOG, pull)
            .expect_err("pull");
        assert_eq!(err.pointer, "/config/pullSecretPlaceholder");
        let ssh = r#"{"sshKeyPlaceholder":"-----BEGIN OPENSSH PRIVATE KEY-----"}"#;
        let err = render::<InstallConfig>("install-config", EXAMPLE_SITE, EXAMPLE_CATALOG, ssh)
            .expect_err("ssh");
        assert_eq!(err.pointer, "/config/sshKeyPlaceholder");
    }

    #[test]
    fn colliding_placeholder_names_are_refused() {
        let site = site_with(|s| s["spec"]["hosts"][1]["name"] = json!("example.cp.0"));
        let err = render::<InstallConfig>("install-config", &site, EXAMPLE_CATALOG, "{}")
            .expect_err("collision");
        assert_eq!(err.pointer, "/site/spec/hosts/1/name");
    }

    #[test]
    fn bad_boot_mode_and_device_name_point_at_the_host() {
        let site = site_with(|s| s["spec"]["hosts"][0]["bootMode"] = json!("BIOS"));
        let err = render::<InstallConfig>("install-config", &site, EXAMPLE_CATALOG, "{}")
            .expect_err("boot mode");
        assert_eq!(err.pointer, "/site/spec/hosts/0/bootMode");
        let site = site_with(|s| {
            s["spec"]["hosts"][0]["rootDeviceHints"] = json!({ "deviceName": "sda" })
        });
        let err = render::<InstallConfig>("install-config", &site, EXAMPLE_CATALOG, "{}")
            .expect_err("device");
        assert_eq!(err.pointer, "/site/spec/hosts/0/rootDeviceHints/deviceName");
    }

    #[test]
    fn unknown_config_is_refused() {
        let err = render::<InstallConfig>(
            "install-config",
            EXAMPLE_SITE,
            EXAMPLE_CATALOG,
            r#"{"pullSecret":"x"}"#,
        )
        .expect_err("unknown field");
        assert_eq!(err.pointer, "/config");
    }

    #[test]
    fn config_schema_is_generated_from_config() {
        opsmith_plugin_sdk::testing::check_config_schema::<Config>(
            &schemars::schema_for!(Config).to_value(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
        );
        let parsed: Config = serde_json::from_value(json!({})).expect("empty config");
        assert_eq!(parsed, Config::default());
        assert!(InstallConfig::describe().emits.is_empty());
    }
}
