//! site/inventory.yaml as opsmith reads it. This model is the source of
//! `schemas/site.schema.json`: its doc comments are the schema's
//! descriptions and its `schemars` attributes the constraints (see
//! `input_schema`, whose test keeps the checked-in file generated).
//! Plugins receive the validated document itself, which the SDK's
//! `site::SiteInventory` reads.
//!
//! The model is lenient where the schema is strict (unknown fields are
//! ignored), so that a document with schema problems still reads and its
//! semantic checks still run: one run reports everything.

// The fields' doc comments are the schema's descriptions, written for the
// person editing the YAML (`<name>`, bare URLs), not as rustdoc markup.
#![allow(
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links
)]

use std::collections::BTreeMap;

use serde::Deserialize;

#[cfg(test)]
use super::input_schema as schema;

/// site/inventory.yaml: the servers of a bare-metal OpenShift site and their network.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(
    test,
    schemars(
        title = "opsmith SiteInventory",
        deny_unknown_fields,
        extend("$id" = "https://opsmith.dev/schemas/site.schema.json")
    )
)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// Version of this file's format.
    #[cfg_attr(test, schemars(schema_with = "schema::api_version"))]
    pub api_version: String,
    /// Kind of this document.
    #[cfg_attr(test, schemars(schema_with = "schema::unconstrained", extend("const" = "SiteInventory")))]
    pub kind: String,
    /// Metadata of the document.
    pub metadata: Metadata,
    /// What the site is made of.
    pub spec: Spec,
}

/// Metadata of the document.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct Metadata {
    /// The cluster name, an RFC 1123 label.
    #[cfg_attr(test, schemars(with = "schema::DnsLabel"))]
    pub name: String,
}

/// What the site is made of.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// DNS base domain; the cluster answers at <metadata.name>.<baseDomain>.
    #[cfg_attr(test, schemars(with = "schema::DnsSubdomain"))]
    pub base_domain: String,
    /// The OpenShift release to install.
    pub openshift: OpenShift,
    /// The site's networks and virtual IPs, named as in OpenShift's install-config.
    pub network: Network,
    /// The external-secrets.io store that holds every credential (BMC
    /// logins, GitHub App keys).
    pub secret_store: SecretStore,
    /// NTP servers the hosts use (host names or addresses).
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(with = "Vec<schema::HostOrAddress>", extend("uniqueItems" = true))
    )]
    pub ntp_servers: Vec<String>,
    /// Cluster-wide HTTP(S) proxy, if the site needs one. No credentials in the URLs.
    #[serde(default)]
    pub proxy: Option<Proxy>,
    /// The servers.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub hosts: Vec<Host>,
}

/// The OpenShift release to install.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct OpenShift {
    /// An OpenShift version, major.minor such as "4.16" (or a z-stream such
    /// as "4.16.3"); quote it in YAML.
    #[cfg_attr(
        test,
        schemars(regex(pattern = r"^4\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?$"))
    )]
    pub version: String,
}

/// The site's networks and virtual IPs, named as in OpenShift's install-config.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// CIDR the hosts and the VIPs live in.
    #[cfg_attr(test, schemars(with = "schema::Cidr"))]
    pub machine_network: String,
    /// CIDR pods get their addresses from.
    #[cfg_attr(test, schemars(with = "schema::Cidr"))]
    pub cluster_network: String,
    /// Prefix length of each node's slice of clusterNetwork.
    #[serde(default = "default_host_prefix")]
    #[cfg_attr(test, schemars(range(min = 1, max = 128)))]
    pub cluster_network_host_prefix: u8,
    /// CIDR of cluster services.
    #[cfg_attr(test, schemars(with = "schema::Cidr"))]
    pub service_network: String,
    /// Virtual IP of the Kubernetes API, inside machineNetwork.
    #[serde(rename = "apiVIP")]
    #[cfg_attr(test, schemars(with = "schema::IpAddress"))]
    pub api_vip: String,
    /// Virtual IP of the default ingress controller, inside machineNetwork.
    #[serde(rename = "ingressVIP")]
    #[cfg_attr(test, schemars(with = "schema::IpAddress"))]
    pub ingress_vip: String,
    /// metal3's provisioning network mode (Disabled needs virtual-media BMC drivers).
    #[serde(default = "default_provisioning_network")]
    #[cfg_attr(test, schemars(extend("enum" = ["Managed", "Unmanaged", "Disabled"])))]
    pub provisioning_network: String,
    /// Next hop of the default route of every host with a static ip (an
    /// address inside machineNetwork); hosts on DHCP get theirs from DHCP.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<schema::IpAddress>"))]
    pub gateway: Option<String>,
    /// DNS resolvers of every host with a static ip.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Vec<schema::IpAddress>"))]
    pub dns_servers: Vec<String>,
    /// Static routes of every host with a static ip, besides the default one
    /// through gateway.
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// A static route: traffic for destination goes through gateway.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct Route {
    /// The network the route leads to, such as 198.51.100.0/24.
    #[cfg_attr(test, schemars(with = "schema::Cidr"))]
    pub destination: String,
    /// The next hop, an address inside machineNetwork.
    #[cfg_attr(test, schemars(with = "schema::IpAddress"))]
    pub gateway: String,
}

fn default_host_prefix() -> u8 {
    23
}

fn default_provisioning_network() -> String {
    "Disabled".to_owned()
}

/// The external-secrets.io store that holds every credential.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct SecretStore {
    /// Kind of the store.
    #[cfg_attr(test, schemars(extend("enum" = ["SecretStore", "ClusterSecretStore"])))]
    pub kind: String,
    /// Name of the store.
    #[cfg_attr(test, schemars(with = "schema::DnsSubdomain"))]
    pub name: String,
}

/// Cluster-wide proxy settings.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct Proxy {
    /// An http:// or https:// proxy URL without credentials, such as
    /// http://proxy.example.org:3128.
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = schema::PROXY_URL)))]
    pub http_proxy: Option<String>,
    /// An http:// or https:// proxy URL without credentials, such as
    /// http://proxy.example.org:3128.
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = schema::PROXY_URL)))]
    pub https_proxy: Option<String>,
    /// A comma-separated list of destinations that bypass the proxy
    /// (domains, addresses, CIDRs), without spaces.
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = r"^[^\s,]+(,[^\s,]+)*$")))]
    pub no_proxy: Option<String>,
}

/// A server's role in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    ControlPlane,
    Worker,
}

impl Role {
    /// As the inventory writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ControlPlane => "control-plane",
            Role::Worker => "worker",
        }
    }
}

/// One server.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct Host {
    /// Host name, an RFC 1123 label unique in the site (becomes the
    /// BareMetalHost name).
    #[cfg_attr(test, schemars(with = "schema::DnsLabel"))]
    pub name: String,
    /// The host's role in the cluster.
    pub role: Role,
    /// What the server is.
    pub hardware: Hardware,
    /// The host's baseboard management controller (iDRAC, iLO, ...).
    /// Credentials are never written here: they live in the secret store
    /// under credentialsRef.
    pub bmc: Bmc,
    /// MAC address of the NIC the host boots from (usually eno1's).
    #[serde(rename = "bootMACAddress")]
    #[cfg_attr(test, schemars(with = "schema::Mac"))]
    pub boot_mac_address: String,
    /// Firmware boot mode.
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(extend("enum" = ["UEFI", "UEFISecureBoot", "legacy"], "default" = "UEFI"))
    )]
    pub boot_mode: Option<String>,
    /// The host's fixed address in the machine network, if it has one.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<schema::IpAddress>"))]
    pub ip: Option<String>,
    /// Network interfaces.
    #[serde(default)]
    pub nics: Vec<Nic>,
    /// Bonds of this host's NICs.
    #[serde(default)]
    pub bonds: Vec<Bond>,
    /// VLAN interfaces on this host's NICs or bonds, each named <base>.<id>.
    #[serde(default)]
    pub vlans: Vec<Vlan>,
    /// The NIC, bond or VLAN (<base>.<id>) that carries ip, or asks DHCP for
    /// an address. Default: the bond that holds the boot NIC (the NIC whose
    /// mac is bootMACAddress), else the boot NIC itself.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<schema::InterfaceName>"))]
    pub primary_interface: Option<String>,
    /// How to find the disk to install to (metal3 root device hints); every
    /// hint given must match.
    #[serde(default)]
    pub root_device_hints: Option<RootDeviceHints>,
    /// Extra Kubernetes labels for the host's objects.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "schema::Labels"))]
    pub labels: BTreeMap<String, String>,
}

/// What the server is.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct Hardware {
    /// Vendor model, such as PowerEdge R620.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub model: String,
    /// Installed memory, such as 128Gi.
    #[cfg_attr(test, schemars(with = "schema::Quantity"))]
    pub memory: String,
    /// Size of the install disk, such as 300Gi.
    #[cfg_attr(test, schemars(with = "schema::Quantity"))]
    pub storage: String,
    /// CPU cores, if known.
    #[serde(default)]
    #[cfg_attr(test, schemars(range(min = 1)))]
    pub cpus: Option<u32>,
}

/// A baseboard management controller.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct Bmc {
    /// How metal3 reaches the BMC: <scheme>://<host>[:port][/path].
    #[cfg_attr(test, schemars(with = "schema::BmcAddress"))]
    pub address: String,
    /// A secret-store key, such as bmc/oct-03-04-compute, under which the
    /// BMC username and password are kept (a key, never a password).
    #[cfg_attr(test, schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")))]
    pub credentials_ref: String,
    /// Skip TLS certificate verification of the BMC (for self-signed iDRAC
    /// or iLO certificates).
    #[serde(default)]
    pub disable_certificate_verification: bool,
}

/// A network interface.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct Nic {
    /// An interface name such as eno1.
    #[cfg_attr(test, schemars(with = "schema::InterfaceName"))]
    pub name: String,
    /// The interface's MAC address.
    #[cfg_attr(test, schemars(with = "schema::Mac"))]
    pub mac: String,
}

/// A bond of some of a host's NICs.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct Bond {
    /// The bond's interface name, such as bond0.
    #[cfg_attr(test, schemars(with = "schema::InterfaceName"))]
    pub name: String,
    /// nmstate's link-aggregation mode.
    #[cfg_attr(
        test,
        schemars(extend("enum" = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"]))
    )]
    pub mode: String,
    /// Names of the NICs (in nics) the bond is made of.
    #[cfg_attr(test, schemars(with = "Vec<schema::InterfaceName>", length(min = 1)))]
    pub interfaces: Vec<String>,
    /// nmstate's link-aggregation options (kernel bonding options), such as
    /// miimon: "100".
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// An 802.1Q VLAN interface, named <base>.<id>.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline, deny_unknown_fields))]
pub struct Vlan {
    /// The VLAN id.
    #[cfg_attr(test, schemars(range(min = 1, max = 4094)))]
    pub id: u16,
    /// The NIC or bond the VLAN runs on.
    #[cfg_attr(test, schemars(with = "schema::InterfaceName"))]
    pub base: String,
}

impl Vlan {
    /// The interface's name: bond0.100 for VLAN 100 on bond0.
    pub fn name(&self) -> String {
        format!("{}.{}", self.base, self.id)
    }
}

/// metal3 root device hints.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(
    test,
    schemars(inline, deny_unknown_fields, extend("minProperties" = 1))
)]
#[serde(rename_all = "camelCase")]
pub struct RootDeviceHints {
    /// A Linux device path such as /dev/sda, or a /dev/disk/by-path/ link.
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = r"^/dev/(disk/by-path/)?[^/\s]+$")))]
    pub device_name: Option<String>,
    /// A SCSI address host:channel:target:lun, such as 0:0:0:0.
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = r"^[0-9]+:[0-9]+:[0-9]+:[0-9]+$")))]
    pub hctl: Option<String>,
    /// Disk model (the hint may be a substring).
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub model: Option<String>,
    /// Disk vendor or manufacturer (the hint may be a substring).
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub vendor: Option<String>,
    /// Disk serial number (exact match).
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub serial_number: Option<String>,
    /// Smallest acceptable disk size, in gigabytes.
    #[serde(default)]
    pub min_size_gigabytes: Option<u64>,
    /// Disk World Wide Name (exact match).
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub wwn: Option<String>,
    /// true for a spinning disk, false for solid state.
    #[serde(default)]
    pub rotational: Option<bool>,
}

impl Inventory {
    /// Hosts of one role, in inventory order.
    pub fn hosts_with_role(&self, role: Role) -> impl Iterator<Item = &Host> {
        self.spec.hosts.iter().filter(move |h| h.role == role)
    }
}
