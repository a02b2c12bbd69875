//! `method: agent`: the day-0 files of the agent-based installer
//! (`openshift-install agent create image`), which boots every host from one
//! ISO and installs the cluster from the rendezvous host.
//!
//! - `install-config.yaml`: the cluster (networks, machine pools, pull secret
//!   and SSH key placeholders, proxy) on platform `baremetal` (API and ingress
//!   VIPs; the hosts are agent-config's) or `none`, as the installer's agent
//!   fixtures write them (openshift/installer
//!   `cmd/openshift-install/testdata/agent/image/configurations/`: `compact.txt`
//!   on baremetal, `sno.txt` and `none_ha.txt` on none). Single-node OpenShift
//!   defaults to `none`, the only platform the installer accepts for it
//!   (`pkg/asset/agent/installconfig.go`, validateSNOConfiguration).
//! - `agent-config.yaml` (`apiVersion: v1beta1`, `kind: AgentConfig`): the
//!   rendezvous IP, the site's NTP servers and, per host, its name, role, root
//!   device hints, NICs and nmstate network (built by the SDK's
//!   [`opsmith_plugin_sdk::nmstate`]), and with `manageBmc` its BMC.
//!
//! What the installer checks only when it builds the ISO is checked here,
//! pointing into the inventory or the config: every host has a NIC, MACs are
//! unique, the rendezvous IP is a control-plane host's, the control-plane
//! size is one the installer installs, and every interface the network names
//! exists. Sources: openshift/installer `pkg/asset/agent/agentconfig/agenthosts.go`
//! (interfaces, duplicate MACs, rendezvous IP on a worker, root device hints),
//! `docs/user/agent/control-plane-replicas.md` (1 or 3; 1, 3, 4 or 5 from
//! 4.18), `pkg/types/baremetal/validation/platform.go` (device names).

use std::collections::BTreeMap;
use std::net::IpAddr;

use opsmith_plugin_sdk::nmstate::{self, Interface, NetworkConfig};
use opsmith_plugin_sdk::site::{Host, Role, SiteInventory};
use opsmith_plugin_sdk::{Error, FileFormat, Input, Output, Value};
use serde::Serialize;

use crate::{
    AgentPlatform, BmcEntry, Config, Empty, INSTALL_CONFIG_SCHEMA, InstallConfigFile, MachinePool,
    Name, networking, placeholder_suffixes, site_proxy, warn_one_worker,
};

/// The schema opsmith checks agent-config.yaml against (the derived
/// schemas/upstream/derived/agent-config.v1beta1.schema.json).
pub const AGENT_CONFIG_SCHEMA: &str = "install.openshift.io/v1beta1/AgentConfig";

const HOSTS: &str = "/site/spec/hosts";

/// install-config.yaml and agent-config.yaml.
pub(crate) fn render(input: &Input, config: &Config) -> Result<Output, Error> {
    let site = &input.site;
    let mut out = Output::new();
    let control_plane = site.hosts_with_role(Role::ControlPlane).count();
    let workers = site.hosts_with_role(Role::Worker).count();
    check_control_plane(site, control_plane, workers)?;
    warn_one_worker(workers, &mut out);
    let platform = platform(config, control_plane)?;
    check_unique_macs(site)?;
    let suffixes = if config.manage_bmc {
        placeholder_suffixes(site)?
    } else {
        Vec::new()
    };
    let mut hosts = Vec::with_capacity(site.spec.hosts.len());
    for (i, host) in site.spec.hosts.iter().enumerate() {
        hosts.push(agent_host(
            site,
            i,
            host,
            suffixes.get(i).map(String::as_str),
        )?);
    }
    let rendezvous_ip = rendezvous_ip(site, config)?;

    let network = &site.spec.network;
    let pool = |name, replicas| MachinePool {
        name,
        replicas,
        architecture: "amd64",
        // The agent-based installer ignores machine pool platforms and
        // warns about any but an empty one.
        platform: Empty {},
    };
    let install_config = InstallConfigFile {
        api_version: "v1",
        base_domain: &site.spec.base_domain,
        metadata: Name {
            name: &site.metadata.name,
        },
        networking: networking(site, config),
        control_plane: pool("master", control_plane),
        compute: [pool("worker", workers)],
        platform: match platform {
            AgentPlatform::Baremetal => PlatformSection::Baremetal(Baremetal {
                api_vips: [&network.api_vip],
                ingress_vips: [&network.ingress_vip],
                hosts: [],
                // Passed on to the installed cluster with the hosts' BMCs
                // only (agentclusterinstall.go, install-config overrides).
                provisioning_network: config
                    .manage_bmc
                    .then_some(network.provisioning_network.as_str()),
            }),
            AgentPlatform::None => PlatformSection::None(Empty {}),
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
    let agent_config = AgentConfigFile {
        api_version: "v1beta1",
        kind: "AgentConfig",
        metadata: Name {
            name: &site.metadata.name,
        },
        rendezvous_ip,
        additional_ntp_sources: &site.spec.ntp_servers,
        hosts,
    };
    out.serialize_file(
        "agent-config.yaml",
        FileFormat::Yaml,
        Some(AGENT_CONFIG_SCHEMA),
        &agent_config,
    )?;
    Ok(out)
}

/// `platform` of an agent-based install-config.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum PlatformSection<'a> {
    Baremetal(Baremetal<'a>),
    None(Empty),
}

/// `platform.baremetal`: the VIPs; the hosts are agent-config's.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Baremetal<'a> {
    #[serde(rename = "apiVIPs")]
    api_vips: [&'a str; 1],
    #[serde(rename = "ingressVIPs")]
    ingress_vips: [&'a str; 1],
    // The InstallConfig CRD requires the list. Empty, it gives the installer
    // no host: it reads them from agent-config.yaml (and logs that
    // install-config's are ignored: agenthosts.go).
    hosts: [Empty; 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    provisioning_network: Option<&'a str>,
}

/// agent-config.yaml (openshift/installer `pkg/types/agent/agent_config_type.go`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentConfigFile<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Name<'a>,
    #[serde(rename = "rendezvousIP")]
    rendezvous_ip: String,
    #[serde(
        rename = "additionalNTPSources",
        skip_serializing_if = "<[_]>::is_empty"
    )]
    additional_ntp_sources: &'a [String],
    hosts: Vec<AgentHost<'a>>,
}

/// One entry of agent-config's `hosts`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentHost<'a> {
    hostname: &'a str,
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_device_hints: Option<Value>,
    interfaces: Vec<Interface>,
    network_config: NetworkConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    bmc: Option<BmcEntry<'a>>,
}

fn agent_host<'a>(
    site: &SiteInventory,
    index: usize,
    host: &'a Host,
    bmc_suffix: Option<&str>,
) -> Result<AgentHost<'a>, Error> {
    let network = nmstate::host_network(&site.spec, index)?;
    let bmc = match bmc_suffix {
        Some(suffix) => {
            // The installer takes the first interface's MAC as the host's
            // boot MAC when it hands the BMC on (agentclusterinstall.go).
            let first = &network.interfaces[0].mac_address;
            if !first.eq_ignore_ascii_case(&host.boot_mac_address) {
                return Err(Error::at(
                    &format!("{HOSTS}/{index}/bootMACAddress"),
                    format!(
                        "no NIC of host `{}` has the boot MAC `{}`: with `manageBmc` the installer takes the first interface's MAC as the boot MAC; add the boot NIC to `nics`",
                        host.name, host.boot_mac_address
                    ),
                ));
            }
            Some(BmcEntry {
                address: &host.bmc.address,
                username: format!("${{BMC_USERNAME_{suffix}}}"),
                password: format!("${{BMC_PASSWORD_{suffix}}}"),
                disable_certificate_verification: host.bmc.disable_certificate_verification,
            })
        }
        None => None,
    };
    Ok(AgentHost {
        hostname: &host.name,
        role: host.role.install_config_role(),
        root_device_hints: root_device_hints(host, index)?,
        interfaces: network.interfaces,
        network_config: network.config,
        bmc,
    })
}

/// The host's root device hints, refusing a device name the installer
/// refuses: a `/dev/` path, or a `/dev/disk/by-path/` one, and no other
/// (openshift/installer `pkg/types/baremetal/validation/platform.go`,
/// ValidateHostRootDeviceHints).
fn root_device_hints(host: &Host, index: usize) -> Result<Option<Value>, Error> {
    let Some(hints) = &host.root_device_hints else {
        return Ok(None);
    };
    let pointer = format!("{HOSTS}/{index}/rootDeviceHints");
    let value = hints.to_metal3(&pointer)?;
    if let Some(name) = &hints.device_name {
        let path = name.trim_start_matches("/dev/");
        let path = path.strip_prefix("disk/by-path/").unwrap_or(path);
        if path.contains('/') {
            return Err(Error::at(
                &format!("{pointer}/deviceName"),
                format!(
                    "device name {name:?} must be a /dev/ or /dev/disk/by-path/ path: the installer refuses other links, such as /dev/disk/by-id/"
                ),
            ));
        }
    }
    Ok(Some(value))
}

/// Refuses a control-plane size or shape the agent-based installer does not
/// install.
fn check_control_plane(
    site: &SiteInventory,
    control_plane: usize,
    workers: usize,
) -> Result<(), Error> {
    let version = &site.spec.openshift.version;
    let (accepted, listed): (&[usize], &str) = if minor_at_least(version, 18) {
        (&[1, 3, 4, 5], "1, 3, 4 or 5")
    } else {
        (&[1, 3], "1 or 3 (4 or 5 from OpenShift 4.18)")
    };
    if control_plane == 0 {
        return Err(Error::at(
            HOSTS,
            "no control-plane host: an OpenShift cluster needs at least one",
        ));
    }
    if !accepted.contains(&control_plane) {
        return Err(Error::at(
            HOSTS,
            format!(
                "{control_plane} control-plane hosts: the agent-based installer of OpenShift {version} installs {listed}"
            ),
        ));
    }
    if control_plane == 1 && workers > 0 {
        return Err(Error::at(
            HOSTS,
            format!(
                "1 control-plane host and {workers} worker(s): the agent-based installer installs a single control-plane host (single-node OpenShift) only without workers"
            ),
        ));
    }
    Ok(())
}

/// Whether `major.minor[.patch]` is 4.`minor` or later.
fn minor_at_least(version: &str, minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(found)) => major > 4 || (major == 4 && found >= minor),
        _ => false,
    }
}

/// The platform: the config's, or by default `none` for a single
/// control-plane host and `baremetal` otherwise; refuses one the installer
/// refuses for the cluster's shape.
fn platform(config: &Config, control_plane: usize) -> Result<AgentPlatform, Error> {
    let single_node = control_plane == 1;
    let platform = config.platform.unwrap_or(if single_node {
        AgentPlatform::None
    } else {
        AgentPlatform::Baremetal
    });
    if single_node && platform == AgentPlatform::Baremetal {
        return Err(Error::at(
            "/config/platform",
            "a single control-plane host (single-node OpenShift) installs on platform `none` only: the agent-based installer refuses `baremetal` for it",
        ));
    }
    if single_node && config.network_type != "OVNKubernetes" {
        return Err(Error::at(
            "/config/networkType",
            format!(
                "single-node OpenShift installs with OVNKubernetes only, not {}",
                config.network_type
            ),
        ));
    }
    if config.manage_bmc && platform == AgentPlatform::None {
        return Err(Error::at(
            "/config/manageBmc",
            "BMCs are handed to the installed cluster's metal3 on platform `baremetal` only; set `platform: baremetal` or remove `manageBmc`",
        ));
    }
    Ok(platform)
}

/// Refuses a MAC that two NICs share: the installer finds each host by the
/// MACs of its interfaces.
fn check_unique_macs(site: &SiteInventory) -> Result<(), Error> {
    let mut seen: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    for (i, host) in site.spec.hosts.iter().enumerate() {
        for (k, nic) in host.nics.iter().enumerate() {
            let key = nic.mac.to_ascii_lowercase();
            if let Some((other_host, other_nic)) = seen.get(&key) {
                return Err(Error::at(
                    &format!("{HOSTS}/{i}/nics/{k}/mac"),
                    format!(
                        "MAC `{}` is already NIC `{other_nic}` of host `{other_host}`: the installer finds each host by its MAC addresses, which must be unique",
                        nic.mac
                    ),
                ));
            }
            seen.insert(key, (&host.name, &nic.name));
        }
    }
    Ok(())
}

/// The rendezvous IP: the config's, which must not be a worker's and must be
/// a control-plane host's unless one has no fixed address (DHCP may give it
/// that one); by default the first control-plane host's `ip`.
fn rendezvous_ip(site: &SiteInventory, config: &Config) -> Result<String, Error> {
    const POINTER: &str = "/config/rendezvousIP";
    let Some(text) = &config.rendezvous_ip else {
        let (i, host) = site
            .spec
            .hosts
            .iter()
            .enumerate()
            .find(|(_, h)| h.role == Role::ControlPlane)
            .ok_or_else(|| Error::at(HOSTS, "no control-plane host"))?;
        return host.ip.clone().ok_or_else(|| {
            Error::at(
                &format!("{HOSTS}/{i}"),
                format!(
                    "host `{}` has no `ip` (DHCP), and the rendezvous IP defaults to the first control-plane host's: give it an `ip`, or set `rendezvousIP` in the component's config to the address DHCP gives it",
                    host.name
                ),
            )
        });
    };
    let wanted: IpAddr = text
        .parse()
        .map_err(|_| Error::at(POINTER, format!("`{text}` is not an IP address")))?;
    let mut control_plane_on_dhcp = false;
    for host in &site.spec.hosts {
        match host.ip.as_deref().map(str::parse::<IpAddr>) {
            Some(Ok(ip)) if ip == wanted => {
                return match host.role {
                    Role::ControlPlane => Ok(text.clone()),
                    Role::Worker => Err(Error::at(
                        POINTER,
                        format!(
                            "rendezvous IP `{text}` is the address of worker `{}`: the rendezvous host must be a control-plane host",
                            host.name
                        ),
                    )),
                };
            }
            None if host.role == Role::ControlPlane => control_plane_on_dhcp = true,
            _ => {}
        }
    }
    if control_plane_on_dhcp {
        return Ok(text.clone());
    }
    Err(Error::at(
        POINTER,
        format!(
            "rendezvous IP `{text}` is no control-plane host's `ip`: the rendezvous host must be a control-plane host"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InstallConfig;
    use opsmith_plugin_sdk::json;
    use opsmith_plugin_sdk::testing::{EXAMPLE_CATALOG, render};

    /// The derived AgentConfig schema, compiled.
    fn agent_config_schema() -> jsonschema::Validator {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/upstream/derived/agent-config.v1beta1.schema.json"
        );
        let text = std::fs::read_to_string(path).expect("the derived schema");
        let schema: Value = serde_json::from_str(&text).expect("JSON");
        jsonschema::validator_for(&schema).expect("a valid JSON Schema")
    }

    /// Why `agent_config` breaks the derived schema, if it does.
    fn schema_errors(agent_config: &Value) -> Vec<String> {
        agent_config_schema()
            .iter_errors(agent_config)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    /// A site of `control_plane` + `workers` hosts with static addresses
    /// (host n: 192.0.2.1n, MAC 52:54:00:00:01:0n, NIC eno1), a gateway
    /// and a resolver; `edit` changes it.
    fn site(control_plane: usize, workers: usize, edit: impl FnOnce(&mut Value)) -> String {
        let hosts: Vec<Value> = (0..control_plane + workers)
            .map(|n| {
                let (name, role) = if n < control_plane {
                    (format!("cp-{n}"), "control-plane")
                } else {
                    (format!("worker-{}", n - control_plane), "worker")
                };
                let mac = format!("52:54:00:00:01:{n:02x}");
                json!({
                    "name": name,
                    "role": role,
                    "hardware": { "model": "PowerEdge R620", "memory": "128Gi", "storage": "300Gi" },
                    "bmc": {
                        "address": format!("redfish-virtualmedia://192.0.2.{}/redfish/v1/Systems/1", 100 + n),
                        "credentialsRef": format!("bmc/{name}"),
                    },
                    "bootMACAddress": mac,
                    "ip": format!("192.0.2.{}", 10 + n),
                    "nics": [{ "name": "eno1", "mac": mac }],
                })
            })
            .collect();
        let mut site = json!({
            "apiVersion": "opsmith.dev/v1alpha1",
            "kind": "SiteInventory",
            "metadata": { "name": "example" },
            "spec": {
                "baseDomain": "example.org",
                "openshift": { "version": "4.16" },
                "network": {
                    "machineNetwork": "192.0.2.0/24",
                    "clusterNetwork": "10.128.0.0/14",
                    "serviceNetwork": "172.30.0.0/16",
                    "apiVIP": "192.0.2.5",
                    "ingressVIP": "192.0.2.6",
                    "gateway": "192.0.2.1",
                    "dnsServers": ["192.0.2.2"],
                },
                "secretStore": { "kind": "ClusterSecretStore", "name": "vault" },
                "ntpServers": ["192.0.2.3"],
                "hosts": hosts,
            },
        });
        edit(&mut site);
        site.to_string()
    }

    /// Renders with `config` (method agent added) and returns
    /// install-config.yaml and agent-config.yaml, having checked the latter
    /// against the derived schema.
    fn agent_files(site: &str, config: Value) -> (Value, Value, Output) {
        let out = render_agent(site, config).expect("renders");
        let files = out.files();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["install-config.yaml", "agent-config.yaml"]);
        assert_eq!(files[0].schema.as_deref(), Some(INSTALL_CONFIG_SCHEMA));
        assert_eq!(files[1].schema.as_deref(), Some(AGENT_CONFIG_SCHEMA));
        assert!(files.iter().all(|f| f.format == FileFormat::Yaml));
        let errors = schema_errors(&files[1].content);
        assert!(
            errors.is_empty(),
            "agent-config breaks the schema: {errors:?}"
        );
        assert_no_credentials(&files.iter().map(|f| f.content.clone()).collect::<Vec<_>>());
        (files[0].content.clone(), files[1].content.clone(), out)
    }

    fn render_agent(site: &str, mut config: Value) -> Result<Output, Error> {
        config["method"] = json!("agent");
        render::<InstallConfig>("install-config", site, EXAMPLE_CATALOG, &config.to_string())
    }

    fn error(site: &str, config: Value) -> Error {
        render_agent(site, config).expect_err("refused")
    }

    /// No credential in any file: every username, password, pull secret and
    /// SSH key is a `${...}` placeholder (or a public key), and no string
    /// holds a pull secret's `auths` or a private key.
    fn assert_no_credentials(files: &[Value]) {
        fn walk(value: &Value, key: &str) {
            match value {
                Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, k)),
                Value::Array(items) => items.iter().for_each(|v| walk(v, key)),
                Value::String(text) => {
                    assert!(
                        !text.contains("auths") && !text.contains("PRIVATE KEY"),
                        "{key}: {text}"
                    );
                    if ["username", "password", "pullSecret"].contains(&key) {
                        assert!(
                            text.starts_with("${") && text.ends_with('}'),
                            "{key} is not a placeholder: {text}"
                        );
                    }
                }
                _ => {}
            }
        }
        files.iter().for_each(|file| walk(file, ""));
    }

    fn agent_host(n: usize, name: &str, role: &str) -> Value {
        let mac = format!("52:54:00:00:01:{n:02x}");
        json!({
            "hostname": name,
            "role": role,
            "interfaces": [{ "name": "eno1", "macAddress": mac }],
            "networkConfig": {
                "interfaces": [{
                    "name": "eno1",
                    "type": "ethernet",
                    "state": "up",
                    "mac-address": mac,
                    "ipv4": {
                        "enabled": true,
                        "dhcp": false,
                        "address": [{ "ip": format!("192.0.2.{}", 10 + n), "prefix-length": 24 }],
                    },
                }],
                "dns-resolver": { "config": { "server": ["192.0.2.2"] } },
                "routes": {
                    "config": [{
                        "destination": "0.0.0.0/0",
                        "next-hop-address": "192.0.2.1",
                        "next-hop-interface": "eno1",
                        "table-id": 254,
                    }],
                },
            },
        })
    }

    #[test]
    fn compact_cluster() {
        let site = site(3, 0, |s| {
            s["spec"]["hosts"][0]["rootDeviceHints"] = json!({ "deviceName": "/dev/sda" })
        });
        let (install_config, agent_config, out) = agent_files(&site, json!({}));
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert!(out.objects().is_empty());
        assert_eq!(
            install_config,
            json!({
                "apiVersion": "v1",
                "baseDomain": "example.org",
                "metadata": { "name": "example" },
                "networking": {
                    "networkType": "OVNKubernetes",
                    "machineNetwork": [{ "cidr": "192.0.2.0/24" }],
                    "clusterNetwork": [{ "cidr": "10.128.0.0/14", "hostPrefix": 23 }],
                    "serviceNetwork": ["172.30.0.0/16"],
                },
                "controlPlane": { "name": "master", "replicas": 3, "architecture": "amd64", "platform": {} },
                "compute": [{ "name": "worker", "replicas": 0, "architecture": "amd64", "platform": {} }],
                "platform": {
                    "baremetal": {
                        "apiVIPs": ["192.0.2.5"],
                        "ingressVIPs": ["192.0.2.6"],
                        "hosts": [],
                    },
                },
                "fips": false,
                "pullSecret": "${PULL_SECRET}",
                "sshKey": "${SSH_PUBLIC_KEY}",
            })
        );
        let mut cp0 = agent_host(0, "cp-0", "master");
        cp0["rootDeviceHints"] = json!({ "deviceName": "/dev/sda" });
        assert_eq!(
            agent_config,
            json!({
                "apiVersion": "v1beta1",
                "kind": "AgentConfig",
                "metadata": { "name": "example" },
                "rendezvousIP": "192.0.2.10",
                "additionalNTPSources": ["192.0.2.3"],
                "hosts": [cp0, agent_host(1, "cp-1", "master"), agent_host(2, "cp-2", "master")],
            })
        );
    }

    #[test]
    fn platform_follows_the_cluster_shape_unless_configured() {
        let (sno, agent_config, _) = agent_files(&site(1, 0, |_| {}), json!({}));
        assert_eq!(sno["platform"], json!({ "none": {} }));
        assert_eq!(sno["controlPlane"]["replicas"], 1);
        assert_eq!(agent_config["hosts"].as_array().map(Vec::len), Some(1));
        let (ha, agent_config, out) = agent_files(&site(3, 2, |_| {}), json!({}));
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert_eq!(ha["platform"]["baremetal"]["apiVIPs"], json!(["192.0.2.5"]));
        assert_eq!(ha["compute"][0]["replicas"], 2);
        assert_eq!(
            agent_config["hosts"][4],
            agent_host(4, "worker-1", "worker")
        );
        let (none, _, _) = agent_files(&site(3, 2, |_| {}), json!({ "platform": "none" }));
        assert_eq!(none["platform"], json!({ "none": {} }));
        // One worker works, with the same warning as method ipi.
        let (_, _, out) = agent_files(&site(3, 1, |_| {}), json!({}));
        assert_eq!(out.diagnostics.len(), 1);
        assert!(out.diagnostics[0].message.starts_with("1 worker"));
    }

    #[test]
    fn manage_bmc_writes_placeholders_never_credentials() {
        let site = site(3, 0, |s| {
            s["spec"]["hosts"][1]["bmc"]["disableCertificateVerification"] = json!(true)
        });
        let (install_config, agent_config, _) = agent_files(&site, json!({ "manageBmc": true }));
        assert_eq!(
            install_config["platform"]["baremetal"]["provisioningNetwork"],
            "Disabled"
        );
        assert_eq!(
            agent_config["hosts"][1]["bmc"],
            json!({
                "address": "redfish-virtualmedia://192.0.2.101/redfish/v1/Systems/1",
                "username": "${BMC_USERNAME_CP_1}",
                "password": "${BMC_PASSWORD_CP_1}",
                "disableCertificateVerification": true,
            })
        );
        // Without it, no BMC at all.
        let (_, agent_config, _) = agent_files(&site, json!({}));
        assert!(agent_config["hosts"][1].get("bmc").is_none());

        let err = error(&site, json!({ "manageBmc": true, "platform": "none" }));
        assert_eq!(err.pointer, "/config/manageBmc");
        let err = error(&self::site(1, 0, |_| {}), json!({ "manageBmc": true }));
        assert_eq!(err.pointer, "/config/manageBmc");
        // The installer takes the first interface as the boot NIC.
        let site = self::site(3, 0, |s| {
            let host = &mut s["spec"]["hosts"][2];
            host["bootMACAddress"] = json!("52:54:00:00:01:99");
            host["primaryInterface"] = json!("eno1");
        });
        agent_files(&site, json!({}));
        let err = error(&site, json!({ "manageBmc": true }));
        assert_eq!(err.pointer, "/site/spec/hosts/2/bootMACAddress");
    }

    #[test]
    fn rendezvous_ip_must_be_a_control_plane_hosts() {
        let site3 = site(3, 2, |_| {});
        let (_, agent_config, _) = agent_files(&site3, json!({ "rendezvousIP": "192.0.2.12" }));
        assert_eq!(agent_config["rendezvousIP"], "192.0.2.12");

        let err = error(&site3, json!({ "rendezvousIP": "192.0.2.13" }));
        assert_eq!(err.pointer, "/config/rendezvousIP");
        assert_eq!(
            err.message,
            "rendezvous IP `192.0.2.13` is the address of worker `worker-0`: the rendezvous host must be a control-plane host"
        );
        let err = error(&site3, json!({ "rendezvousIP": "192.0.2.99" }));
        assert_eq!(err.pointer, "/config/rendezvousIP");
        assert!(
            err.message.contains("is no control-plane host's `ip`"),
            "{err}"
        );
        let err = error(&site3, json!({ "rendezvousIP": "node0" }));
        assert_eq!(err.pointer, "/config/rendezvousIP");

        // A control-plane host on DHCP may get the address.
        let dhcp = site(3, 2, |s| {
            s["spec"]["hosts"][0]
                .as_object_mut()
                .map(|h| h.remove("ip"));
        });
        let (_, agent_config, _) = agent_files(&dhcp, json!({ "rendezvousIP": "192.0.2.99" }));
        assert_eq!(agent_config["rendezvousIP"], "192.0.2.99");
        assert_eq!(
            agent_config["hosts"][0]["networkConfig"]["interfaces"][0]["ipv4"],
            json!({ "enabled": true, "dhcp": true })
        );
        assert!(
            agent_config["hosts"][0]["networkConfig"]
                .get("routes")
                .is_none()
        );
        // But the default is the first control-plane host's own address.
        let err = error(&dhcp, json!({}));
        assert_eq!(err.pointer, "/site/spec/hosts/0");
        assert!(
            err.message.starts_with("host `cp-0` has no `ip` (DHCP)"),
            "{err}"
        );
    }

    #[test]
    fn control_plane_sizes_the_installer_refuses() {
        for (control_plane, workers, version) in [
            (0, 3, "4.16"),
            (2, 0, "4.16"),
            (4, 0, "4.17"),
            (6, 0, "4.18"),
            (1, 1, "4.16"),
        ] {
            let site = site(control_plane, workers, |s| {
                s["spec"]["openshift"]["version"] = json!(version)
            });
            let err = error(&site, json!({}));
            assert_eq!(err.pointer, "/site/spec/hosts", "{err}");
        }
        let err = error(&site(4, 0, |_| {}), json!({}));
        assert_eq!(
            err.message,
            "4 control-plane hosts: the agent-based installer of OpenShift 4.16 installs 1 or 3 (4 or 5 from OpenShift 4.18)"
        );
        for (control_plane, version) in [(4, "4.18"), (5, "4.19"), (5, "5.0")] {
            let site = site(control_plane, 0, |s| {
                s["spec"]["openshift"]["version"] = json!(version)
            });
            let (install_config, _, _) = agent_files(&site, json!({}));
            assert_eq!(install_config["controlPlane"]["replicas"], control_plane);
        }
    }

    #[test]
    fn single_node_on_baremetal_or_another_network_is_refused() {
        let sno = site(1, 0, |_| {});
        let err = error(&sno, json!({ "platform": "baremetal" }));
        assert_eq!(err.pointer, "/config/platform");
        let err = error(&sno, json!({ "networkType": "Cilium" }));
        assert_eq!(err.pointer, "/config/networkType");
    }

    #[test]
    fn every_host_needs_an_interface() {
        let site = site(3, 0, |s| s["spec"]["hosts"][2]["nics"] = json!([]));
        let err = error(&site, json!({}));
        assert_eq!(err.pointer, "/site/spec/hosts/2/nics");
        assert!(err.message.starts_with("host `cp-2` has no NIC"), "{err}");
    }

    #[test]
    fn a_mac_shared_across_hosts_is_refused() {
        let site = site(3, 0, |s| {
            s["spec"]["hosts"][2]["nics"] = json!([
                { "name": "eno1", "mac": "52:54:00:00:01:02" },
                { "name": "eno2", "mac": "52:54:00:00:01:0A" },
            ]);
            s["spec"]["hosts"][0]["nics"][0]["mac"] = json!("52:54:00:00:01:0a");
            s["spec"]["hosts"][0]["bootMACAddress"] = json!("52:54:00:00:01:0a");
        });
        let err = error(&site, json!({}));
        assert_eq!(err.pointer, "/site/spec/hosts/2/nics/1/mac");
        assert_eq!(
            err.message,
            "MAC `52:54:00:00:01:0A` is already NIC `eno1` of host `cp-0`: the installer finds each host by its MAC addresses, which must be unique"
        );
    }

    #[test]
    fn a_network_naming_an_unknown_interface_is_refused() {
        let bonded = |edit: fn(&mut Value)| {
            site(3, 0, |s| {
                let host = &mut s["spec"]["hosts"][1];
                host["nics"] = json!([
                    { "name": "eno1", "mac": "52:54:00:00:01:01" },
                    { "name": "eno2", "mac": "52:54:00:00:02:01" },
                ]);
                host["bonds"] =
                    json!([{ "name": "bond0", "mode": "802.3ad", "interfaces": ["eno1", "eno2"] }]);
                host["vlans"] = json!([{ "id": 20, "base": "bond0" }]);
                host["primaryInterface"] = json!("bond0.20");
                edit(host);
            })
        };
        let (_, agent_config, _) = agent_files(&bonded(|_| {}), json!({}));
        let names: Vec<_> = agent_config["hosts"][1]["networkConfig"]["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, ["eno1", "eno2", "bond0", "bond0.20"]);
        assert_eq!(
            agent_config["hosts"][1]["networkConfig"]["routes"]["config"][0]["next-hop-interface"],
            "bond0.20"
        );
        for (edit, pointer) in [
            (
                (|h: &mut Value| h["bonds"][0]["interfaces"][1] = json!("eno3")) as fn(&mut Value),
                "/site/spec/hosts/1/bonds/0/interfaces/1",
            ),
            (
                |h| h["vlans"][0]["base"] = json!("bond1"),
                "/site/spec/hosts/1/vlans/0/base",
            ),
            (
                |h| h["primaryInterface"] = json!("bond0.30"),
                "/site/spec/hosts/1/primaryInterface",
            ),
        ] {
            let err = error(&bonded(edit), json!({}));
            assert_eq!(err.pointer, pointer, "{err}");
        }
    }

    #[test]
    fn device_names_the_installer_refuses() {
        let site =
            site(
                3,
                0,
                |s| {
                    s["spec"]["hosts"][1]["rootDeviceHints"] =
                        json!({ "deviceName": "/dev/disk/by-id/wwn-0x5000c500a0b1c2d3" })
                },
            );
        let err = error(&site, json!({}));
        assert_eq!(err.pointer, "/site/spec/hosts/1/rootDeviceHints/deviceName");
        let site =
            self::site(
                3,
                0,
                |s| {
                    s["spec"]["hosts"][1]["rootDeviceHints"] =
                        json!({ "deviceName": "/dev/disk/by-path/pci-0000:01:00.0-scsi-0:2:0:0" })
                },
            );
        agent_files(&site, json!({}));
    }

    #[test]
    fn agent_settings_need_method_agent() {
        for (config, pointer) in [
            (r#"{"platform":"none"}"#, "/config/platform"),
            (r#"{"rendezvousIP":"192.0.2.10"}"#, "/config/rendezvousIP"),
            (r#"{"manageBmc":true}"#, "/config/manageBmc"),
        ] {
            let err = render::<InstallConfig>(
                "install-config",
                &site(3, 0, |_| {}),
                EXAMPLE_CATALOG,
                config,
            )
            .expect_err("ipi");
            assert_eq!(err.pointer, pointer);
        }
    }

    #[test]
    fn no_credential_in_any_rendered_file() {
        // agent_files checks each render; here the placeholders the user sets.
        let config = json!({
            "manageBmc": true,
            "pullSecretPlaceholder": "${OTHER_PULL_SECRET}",
        });
        let (install_config, agent_config, _) = agent_files(&site(3, 2, |_| {}), config);
        assert_eq!(install_config["pullSecret"], "${OTHER_PULL_SECRET}");
        assert_no_credentials(&[install_config, agent_config]);
        let err = render_agent(
            &site(3, 0, |_| {}),
            json!({ "pullSecretPlaceholder": "{\"auths\":{}}" }),
        )
        .expect_err("a pull secret");
        assert_eq!(err.pointer, "/config/pullSecretPlaceholder");
    }

    #[test]
    #[should_panic(expected = "is not a placeholder")]
    fn the_credential_check_catches_a_password() {
        assert_no_credentials(&[json!({ "hosts": [{ "bmc": { "password": "calvin" } }] })]);
    }

    #[test]
    fn the_derived_schema_refuses_wrong_agent_configs() {
        let (_, good, _) = agent_files(&site(3, 0, |_| {}), json!({ "manageBmc": true }));
        assert!(schema_errors(&good).is_empty());
        type Edit = fn(&mut Value);
        let wrong: [(&str, Edit); 9] = [
            ("unknown field", |c| c["rendezvousIp"] = json!("192.0.2.10")),
            ("no apiVersion", |c| {
                c.as_object_mut().map(|c| c.remove("apiVersion"));
            }),
            ("old apiVersion", |c| c["apiVersion"] = json!("v1")),
            ("host without interfaces", |c| {
                c["hosts"][0]["interfaces"] = json!([])
            }),
            ("interface without MAC", |c| {
                c["hosts"][0]["interfaces"][0]
                    .as_object_mut()
                    .map(|i| i.remove("macAddress"));
            }),
            ("bad MAC", |c| {
                c["hosts"][0]["interfaces"][0]["macAddress"] = json!("52-54-00-00-01-00")
            }),
            ("role", |c| c["hosts"][0]["role"] = json!("control-plane")),
            ("WWN extension", |c| {
                c["hosts"][0]["rootDeviceHints"] =
                    json!({ "wwnWithExtension": "0x5000c500a0b1c2d3" })
            }),
            ("rendezvous IP", |c| c["rendezvousIP"] = json!("node0")),
        ];
        for (what, edit) in wrong {
            let mut bad = good.clone();
            edit(&mut bad);
            assert!(!schema_errors(&bad).is_empty(), "{what}: accepted");
        }
        let mut unknown_bmc_field = good.clone();
        unknown_bmc_field["hosts"][0]["bmc"]["passwordRef"] = json!("x");
        assert!(!schema_errors(&unknown_bmc_field).is_empty());
        // The upstream template's spellings pass (v1beta1, minimalISO, ...).
        let template = json!({
            "apiVersion": "v1beta1",
            "kind": "AgentConfig",
            "metadata": { "name": "example-agent-config", "namespace": "cluster0" },
            "rendezvousIP": "192.168.122.2",
            "bootArtifactsBaseURL": "http://user-specified-infra.com",
            "minimalISO": false,
            "additionalNTPSources": ["0.rhel.pool.ntp.org", "1.rhel.pool.ntp.org"],
            "hosts": [{
                "hostname": "change-to-hostname",
                "role": "master",
                "rootDeviceHints": { "deviceName": "/dev/sda" },
                "interfaces": [{ "macAddress": "00:00:00:00:00:00", "name": "host-network-interface-name" }],
                "networkConfig": { "interfaces": [{ "name": "eth0", "type": "ethernet", "state": "up" }] },
            }],
        });
        assert!(
            schema_errors(&template).is_empty(),
            "{:?}",
            schema_errors(&template)
        );
    }
}
