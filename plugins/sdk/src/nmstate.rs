//! A host's network in nmstate's declarative YAML API, built from the
//! inventory once and shared by every day-0 path that configures networking
//! before the host is installed: the agent-based installer's agent-config
//! (`hosts[].interfaces` and `hosts[].networkConfig`) and the siteconfig
//! operator's ClusterInstance (`nodes[].nodeNetwork.interfaces` and
//! `nodes[].nodeNetwork.config`).
//!
//! [`host_network`] turns one host of the inventory into a [`HostNetwork`]:
//!
//! - every NIC becomes an `ethernet` interface (`state: up`, its
//!   `mac-address`), every bond a `bond` interface (`link-aggregation` with
//!   `mode`, `options` and `port`), every VLAN a `vlan` interface named
//!   `<base>.<id>` (`vlan` with `base-iface` and `id`);
//! - the primary interface (the host's `primaryInterface`; by default the
//!   bond holding the boot NIC, else the boot NIC) carries the host's `ip`
//!   with the machine network's prefix length, or asks DHCP for an address
//!   when the host has no `ip`;
//! - a bond port has no IP configuration of its own; every other interface
//!   has IPv4 and IPv6 disabled;
//! - a host with a static `ip` gets the site's `dnsServers` as its resolvers
//!   and, through the primary interface, a default route to the site's
//!   `gateway` and the site's extra `routes`; a host on DHCP gets all of that
//!   from DHCP.
//!
//! Field names are nmstate's (kebab-case), as the agent-based installer's
//! fixtures and the siteconfig samples write them: see
//! openshift/installer `cmd/openshift-install/testdata/agent/image/configurations/baremetal_host_bmc_config.txt`
//! (`mac-address`, `prefix-length`, `next-hop-address`, `next-hop-interface`,
//! `table-id`), stolostron/siteconfig
//! `config/samples/assisted-installer/example-standard.yaml` (IPv6,
//! `dns-resolver`), and nmstate's own types in nmstate/nmstate
//! `rust/src/lib/ifaces/bond.rs` (`link-aggregation`, `port`, the bond
//! modes) and `rust/src/lib/ifaces/vlan.rs` (`vlan`, `base-iface`, `id`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::site::{Host, SiteSpec};

/// The routing table nmstate calls main (254), which the installer's
/// fixtures and the siteconfig samples name on every route.
pub const MAIN_TABLE: u32 = 254;

/// One host's network: which NIC is which (by MAC) and its nmstate
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostNetwork {
    /// The host's NICs by name and MAC: the boot NIC first (the agent-based
    /// installer takes the first interface's MAC as the boot MAC), then the
    /// others in inventory order. The installer renames each interface of
    /// `config` to the device that has this MAC.
    pub interfaces: Vec<Interface>,
    /// The nmstate document.
    pub config: NetworkConfig,
}

/// A NIC by name and MAC address, as agent-config's `interfaces` and
/// ClusterInstance's `nodeNetwork.interfaces` list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// The name `config` uses for the NIC.
    pub name: String,
    /// Its MAC address.
    pub mac_address: String,
}

/// An nmstate document (its desired state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// NICs, then bonds, then VLANs, each in inventory order.
    pub interfaces: Vec<InterfaceConfig>,
    /// The resolvers, for a host with a static address and a site with
    /// `dnsServers`.
    #[serde(
        rename = "dns-resolver",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dns_resolver: Option<DnsResolver>,
    /// The static routes, for a host with a static address and a site with a
    /// `gateway` or `routes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<Routes>,
}

/// One interface of an nmstate document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InterfaceConfig {
    /// Interface name.
    pub name: String,
    /// `ethernet`, `bond` or `vlan`.
    #[serde(rename = "type")]
    pub kind: InterfaceType,
    /// Always `up`.
    pub state: InterfaceState,
    /// A NIC's MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// A bond's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_aggregation: Option<LinkAggregation>,
    /// A VLAN's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<VlanConfig>,
    /// IPv4; none for a bond port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<IpConfig>,
    /// IPv6; none for a bond port, and none on the primary interface of an
    /// IPv4 machine network (nmstate leaves IPv6 off on an interface it
    /// creates), as the installer's fixtures write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<IpConfig>,
}

/// nmstate interface types opsmith writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InterfaceType {
    /// A NIC.
    Ethernet,
    /// A bond of NICs.
    Bond,
    /// An 802.1Q VLAN.
    Vlan,
}

/// nmstate interface states opsmith writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InterfaceState {
    /// Configured and up.
    Up,
}

/// A bond's `link-aggregation` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAggregation {
    /// Bond mode, such as `active-backup` or `802.3ad`.
    pub mode: String,
    /// Kernel bonding options, such as `miimon: "100"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// The bond's ports (NIC names).
    pub port: Vec<String>,
}

/// A VLAN interface's `vlan` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct VlanConfig {
    /// The NIC or bond the VLAN runs on.
    pub base_iface: String,
    /// VLAN id.
    pub id: u16,
}

/// An interface's `ipv4` or `ipv6` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// Whether the interface has this IP family at all.
    pub enabled: bool,
    /// Whether it asks DHCP (DHCPv6) for an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<bool>,
    /// IPv6 only: whether it configures itself from router advertisements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoconf: Option<bool>,
    /// Static addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
}

impl IpConfig {
    /// The family turned off.
    pub fn disabled() -> Self {
        IpConfig {
            enabled: false,
            dhcp: None,
            autoconf: None,
            address: Vec::new(),
        }
    }
}

/// A static address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Address {
    /// The address, such as `192.0.2.10`.
    pub ip: String,
    /// Its prefix length: the machine network's.
    pub prefix_length: u8,
}

/// The `dns-resolver` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsResolver {
    /// The desired resolver configuration.
    pub config: DnsConfig,
}

/// `dns-resolver.config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsConfig {
    /// Resolver addresses, in order.
    pub server: Vec<String>,
}

/// The `routes` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routes {
    /// The desired routes.
    pub config: Vec<RouteConfig>,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RouteConfig {
    /// CIDR; `0.0.0.0/0` or `::/0` for the default route.
    pub destination: String,
    /// The gateway.
    pub next_hop_address: String,
    /// The interface the gateway is reached through: the primary one.
    pub next_hop_interface: String,
    /// The routing table, [`MAIN_TABLE`].
    pub table_id: u32,
}

/// What an interface name of a host stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Named {
    Nic(usize),
    Bond(usize),
    Vlan(usize),
}

impl Named {
    fn pointer(self, host: &str) -> String {
        match self {
            Named::Nic(i) => format!("{host}/nics/{i}/name"),
            Named::Bond(j) => format!("{host}/bonds/{j}/name"),
            Named::Vlan(k) => format!("{host}/vlans/{k}"),
        }
    }
}

/// The network of host `index` of `site`, as nmstate and the interface list
/// that goes with it.
///
/// # Errors
///
/// Pointing into the inventory (`/site/spec/hosts/<index>/...` or
/// `/site/spec/network/...`): a host without NICs; a bond port, VLAN base or
/// primary interface that names no interface of the host (or a bond port
/// where it cannot be one); a NIC in two bonds; two interfaces of one name;
/// no primary interface to be found (no NIC has the boot MAC); an address,
/// gateway, resolver or route that does not parse or is not of the machine
/// network's IP family.
pub fn host_network(site: &SiteSpec, index: usize) -> Result<HostNetwork, Error> {
    let Some(host) = site.hosts.get(index) else {
        return Err(Error::at(
            "/site/spec/hosts",
            format!("no host at index {index}"),
        ));
    };
    let at = format!("/site/spec/hosts/{index}");
    if host.nics.is_empty() {
        return Err(Error::at(
            &format!("{at}/nics"),
            format!(
                "host `{}` has no NIC: the installer finds a host by its interfaces' MAC addresses; list at least the boot NIC under `nics`",
                host.name
            ),
        ));
    }
    let names = interface_names(host, &at)?;
    let ports = bond_ports(host, &at, &names)?;
    check_vlans(host, &at, &names, &ports)?;
    let primary = primary_interface(host, &at, &names, &ports)?;

    let (machine_ip, prefix) = parse_cidr(&site.network.machine_network).ok_or_else(|| {
        Error::at(
            "/site/spec/network/machineNetwork",
            format!(
                "machineNetwork `{}` is not a CIDR such as 192.0.2.0/24",
                site.network.machine_network
            ),
        )
    })?;
    let ipv6 = machine_ip.is_ipv6();
    let address = match &host.ip {
        Some(ip) => Some(address_in_family(
            ip,
            ipv6,
            &format!("{at}/ip"),
            "host address",
        )?),
        None => None,
    };
    let primary_ip = primary_ip_config(address.as_deref(), prefix, ipv6);

    let disabled = || (Some(IpConfig::disabled()), Some(IpConfig::disabled()));
    let ip_of = |name: &str| {
        if name == primary {
            primary_ip.clone()
        } else {
            disabled()
        }
    };
    let mut interfaces = Vec::with_capacity(host.nics.len() + host.bonds.len() + host.vlans.len());
    for nic in &host.nics {
        let (ipv4, ipv6) = if ports.contains_key(nic.name.as_str()) {
            (None, None)
        } else {
            ip_of(&nic.name)
        };
        interfaces.push(InterfaceConfig {
            name: nic.name.clone(),
            kind: InterfaceType::Ethernet,
            state: InterfaceState::Up,
            mac_address: Some(nic.mac.clone()),
            link_aggregation: None,
            vlan: None,
            ipv4,
            ipv6,
        });
    }
    for bond in &host.bonds {
        let (ipv4, ipv6) = ip_of(&bond.name);
        interfaces.push(InterfaceConfig {
            name: bond.name.clone(),
            kind: InterfaceType::Bond,
            state: InterfaceState::Up,
            mac_address: None,
            link_aggregation: Some(LinkAggregation {
                mode: bond.mode.clone(),
                options: bond.options.clone(),
                port: bond.interfaces.clone(),
            }),
            vlan: None,
            ipv4,
            ipv6,
        });
    }
    for vlan in &host.vlans {
        let name = vlan.name();
        let (ipv4, ipv6) = ip_of(&name);
        interfaces.push(InterfaceConfig {
            name,
            kind: InterfaceType::Vlan,
            state: InterfaceState::Up,
            mac_address: None,
            link_aggregation: None,
            vlan: Some(VlanConfig {
                base_iface: vlan.base.clone(),
                id: vlan.id,
            }),
            ipv4,
            ipv6,
        });
    }

    let (dns_resolver, routes) = if address.is_some() {
        (dns_resolver(site)?, routes(site, ipv6, &primary)?)
    } else {
        (None, None)
    };
    Ok(HostNetwork {
        interfaces: nic_list(host),
        config: NetworkConfig {
            interfaces,
            dns_resolver,
            routes,
        },
    })
}

/// Every interface name of the host (NICs, bonds, VLANs), refusing a name
/// used twice.
fn interface_names(host: &Host, at: &str) -> Result<BTreeMap<String, Named>, Error> {
    let mut names = BTreeMap::new();
    let all = host
        .nics
        .iter()
        .enumerate()
        .map(|(i, nic)| (nic.name.clone(), Named::Nic(i)))
        .chain(
            host.bonds
                .iter()
                .enumerate()
                .map(|(j, bond)| (bond.name.clone(), Named::Bond(j))),
        )
        .chain(
            host.vlans
                .iter()
                .enumerate()
                .map(|(k, vlan)| (vlan.name(), Named::Vlan(k))),
        );
    for (name, named) in all {
        if let Named::Vlan(k) = named
            && !(1..=4094).contains(&host.vlans[k].id)
        {
            return Err(Error::at(
                &format!("{at}/vlans/{k}/id"),
                format!("VLAN id {} is not between 1 and 4094", host.vlans[k].id),
            ));
        }
        if names.contains_key(&name) {
            return Err(Error::at(
                &named.pointer(at),
                format!(
                    "host `{}` has two interfaces named `{name}`: NIC, bond and VLAN (`<base>.<id>`) names must differ",
                    host.name
                ),
            ));
        }
        names.insert(name, named);
    }
    Ok(names)
}

/// Each bond port (a NIC name) and the index of its bond; refuses a port
/// that is no NIC of the host or is in two bonds.
fn bond_ports<'h>(
    host: &'h Host,
    at: &str,
    names: &BTreeMap<String, Named>,
) -> Result<BTreeMap<&'h str, usize>, Error> {
    let mut ports = BTreeMap::new();
    for (j, bond) in host.bonds.iter().enumerate() {
        if bond.interfaces.is_empty() {
            return Err(Error::at(
                &format!("{at}/bonds/{j}/interfaces"),
                format!("bond `{}` has no interfaces", bond.name),
            ));
        }
        for (k, port) in bond.interfaces.iter().enumerate() {
            let pointer = format!("{at}/bonds/{j}/interfaces/{k}");
            if !matches!(names.get(port), Some(Named::Nic(_))) {
                return Err(Error::at(
                    &pointer,
                    format!(
                        "bond `{}` names `{port}`, which is not a NIC of host `{}`: a bond's interfaces are names from its `nics`",
                        bond.name, host.name
                    ),
                ));
            }
            if let Some(other) = ports.insert(port.as_str(), j) {
                return Err(Error::at(
                    &pointer,
                    format!(
                        "NIC `{port}` is already a port of bond `{}`: a NIC can be in one bond only",
                        host.bonds[other].name
                    ),
                ));
            }
        }
    }
    Ok(ports)
}

/// Refuses a VLAN on a name that is no NIC or bond of the host, or on a bond
/// port.
fn check_vlans(
    host: &Host,
    at: &str,
    names: &BTreeMap<String, Named>,
    ports: &BTreeMap<&str, usize>,
) -> Result<(), Error> {
    for (k, vlan) in host.vlans.iter().enumerate() {
        let pointer = format!("{at}/vlans/{k}/base");
        if !matches!(names.get(&vlan.base), Some(Named::Nic(_) | Named::Bond(_))) {
            return Err(Error::at(
                &pointer,
                format!(
                    "VLAN {} runs on `{}`, which is not a NIC or bond of host `{}`",
                    vlan.id, vlan.base, host.name
                ),
            ));
        }
        if let Some(&bond) = ports.get(vlan.base.as_str()) {
            return Err(Error::at(
                &pointer,
                format!(
                    "VLAN {} runs on `{}`, a port of bond `{}`: put the VLAN on the bond",
                    vlan.id, vlan.base, host.bonds[bond].name
                ),
            ));
        }
    }
    Ok(())
}

/// The name of the interface that carries the host's address.
fn primary_interface(
    host: &Host,
    at: &str,
    names: &BTreeMap<String, Named>,
    ports: &BTreeMap<&str, usize>,
) -> Result<String, Error> {
    if let Some(primary) = &host.primary_interface {
        let pointer = format!("{at}/primaryInterface");
        if !names.contains_key(primary) {
            return Err(Error::at(
                &pointer,
                format!(
                    "primaryInterface `{primary}` is no NIC, bond or VLAN (`<base>.<id>`) of host `{}`",
                    host.name
                ),
            ));
        }
        if let Some(&bond) = ports.get(primary.as_str()) {
            return Err(Error::at(
                &pointer,
                format!(
                    "primaryInterface `{primary}` is a port of bond `{}`, which has no address of its own: name the bond",
                    host.bonds[bond].name
                ),
            ));
        }
        return Ok(primary.clone());
    }
    let Some(boot) = boot_nic(host) else {
        return Err(Error::at(
            &format!("{at}/bootMACAddress"),
            format!(
                "no NIC of host `{}` has the boot MAC `{}`, so its primary interface is unknown: add the boot NIC to `nics` or set `primaryInterface`",
                host.name, host.boot_mac_address
            ),
        ));
    };
    Ok(match ports.get(host.nics[boot].name.as_str()) {
        Some(&bond) => host.bonds[bond].name.clone(),
        None => host.nics[boot].name.clone(),
    })
}

/// The index of the NIC whose MAC is the boot MAC.
fn boot_nic(host: &Host) -> Option<usize> {
    host.nics
        .iter()
        .position(|nic| nic.mac.eq_ignore_ascii_case(&host.boot_mac_address))
}

/// The NICs by name and MAC, the boot NIC first.
fn nic_list(host: &Host) -> Vec<Interface> {
    let boot = boot_nic(host);
    let interface = |i: usize| Interface {
        name: host.nics[i].name.clone(),
        mac_address: host.nics[i].mac.clone(),
    };
    boot.into_iter()
        .chain((0..host.nics.len()).filter(|&i| Some(i) != boot))
        .map(interface)
        .collect()
}

/// `ipv4` and `ipv6` of the primary interface: the static address, or DHCP.
fn primary_ip_config(
    address: Option<&str>,
    prefix: u8,
    ipv6: bool,
) -> (Option<IpConfig>, Option<IpConfig>) {
    let config = match address {
        Some(ip) => IpConfig {
            enabled: true,
            dhcp: Some(false),
            autoconf: ipv6.then_some(false),
            address: vec![Address {
                ip: ip.to_owned(),
                prefix_length: prefix,
            }],
        },
        // A dynamic IPv6 address from DHCPv6 and router advertisements, as
        // nmstate's maintainers write it (nmstate/nmstate issue 2380).
        None => IpConfig {
            enabled: true,
            dhcp: Some(true),
            autoconf: ipv6.then_some(true),
            address: Vec::new(),
        },
    };
    if ipv6 {
        // As stolostron/siteconfig's IPv6 sample: IPv4 explicitly off.
        (Some(IpConfig::disabled()), Some(config))
    } else {
        (Some(config), None)
    }
}

/// The site's resolvers, if it has any.
fn dns_resolver(site: &SiteSpec) -> Result<Option<DnsResolver>, Error> {
    if site.network.dns_servers.is_empty() {
        return Ok(None);
    }
    for (d, server) in site.network.dns_servers.iter().enumerate() {
        if server.parse::<IpAddr>().is_err() {
            return Err(Error::at(
                &format!("/site/spec/network/dnsServers/{d}"),
                format!("DNS server `{server}` is not an IP address"),
            ));
        }
    }
    Ok(Some(DnsResolver {
        config: DnsConfig {
            server: site.network.dns_servers.clone(),
        },
    }))
}

/// The default route through the site's gateway and its extra routes, all
/// through the primary interface.
fn routes(site: &SiteSpec, ipv6: bool, primary: &str) -> Result<Option<Routes>, Error> {
    let network = &site.network;
    let mut config = Vec::with_capacity(network.routes.len() + 1);
    let route = |destination: String, gateway: String| RouteConfig {
        destination,
        next_hop_address: gateway,
        next_hop_interface: primary.to_owned(),
        table_id: MAIN_TABLE,
    };
    if let Some(gateway) = &network.gateway {
        let gateway = address_in_family(gateway, ipv6, "/site/spec/network/gateway", "gateway")?;
        let default = if ipv6 { "::/0" } else { "0.0.0.0/0" };
        config.push(route(default.to_owned(), gateway));
    }
    for (r, extra) in network.routes.iter().enumerate() {
        let at = format!("/site/spec/network/routes/{r}");
        match parse_cidr(&extra.destination) {
            Some((ip, _)) if ip.is_ipv6() == ipv6 => {}
            Some(_) => {
                return Err(Error::at(
                    &format!("{at}/destination"),
                    format!(
                        "route destination `{}` is not of the machine network's IP family",
                        extra.destination
                    ),
                ));
            }
            None => {
                return Err(Error::at(
                    &format!("{at}/destination"),
                    format!(
                        "route destination `{}` is not a CIDR such as 198.51.100.0/24",
                        extra.destination
                    ),
                ));
            }
        }
        let gateway = address_in_family(
            &extra.gateway,
            ipv6,
            &format!("{at}/gateway"),
            "route gateway",
        )?;
        config.push(route(extra.destination.clone(), gateway));
    }
    Ok((!config.is_empty()).then_some(Routes { config }))
}

/// `text` as an address of the machine network's family, as written.
fn address_in_family(text: &str, ipv6: bool, pointer: &str, what: &str) -> Result<String, Error> {
    match text.parse::<IpAddr>() {
        Ok(ip) if ip.is_ipv6() == ipv6 => Ok(text.to_owned()),
        Ok(_) => Err(Error::at(
            pointer,
            format!(
                "{what} `{text}` is an {} address but the machine network is {}",
                if ipv6 { "IPv4" } else { "IPv6" },
                if ipv6 { "IPv6" } else { "IPv4" }
            ),
        )),
        Err(_) => Err(Error::at(
            pointer,
            format!("{what} `{text}` is not an IP address"),
        )),
    }
}

/// An `address/prefix` CIDR's address and prefix length.
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, prefix) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if ip.is_ipv6() { 128 } else { 32 };
    (prefix <= max).then_some((ip, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::SiteInventory;
    use serde_json::{Value, json};

    /// The SDK's example site, edited.
    fn site_with(edit: impl FnOnce(&mut Value)) -> SiteSpec {
        let mut site: Value =
            serde_json::from_str(crate::testing::EXAMPLE_SITE).expect("example site is JSON");
        edit(&mut site);
        serde_json::from_value::<SiteInventory>(site)
            .expect("an inventory")
            .spec
    }

    /// Host 0's network, serialised as it is written out.
    fn network_json(site: &SiteSpec) -> Value {
        serde_json::to_value(host_network(site, 0).expect("builds")).expect("serialises")
    }

    fn error(site: &SiteSpec) -> Error {
        host_network(site, 0).expect_err("refused")
    }

    /// Host 0 with a static address, two NICs, a gateway, resolvers and a route.
    fn static_site() -> SiteSpec {
        site_with(|s| {
            s["spec"]["network"]["gateway"] = json!("192.0.2.1");
            s["spec"]["network"]["dnsServers"] = json!(["192.0.2.2", "192.0.2.3"]);
            s["spec"]["network"]["routes"] =
                json!([{ "destination": "198.51.100.0/24", "gateway": "192.0.2.254" }]);
            let host = &mut s["spec"]["hosts"][0];
            host["ip"] = json!("192.0.2.10");
            host["nics"] = json!([
                { "name": "eno2", "mac": "52:54:00:00:00:11" },
                { "name": "eno1", "mac": "52:54:00:00:00:01" },
            ]);
        })
    }

    #[test]
    fn static_host() {
        assert_eq!(
            network_json(&static_site()),
            json!({
                // The boot NIC first, whatever the inventory's order.
                "interfaces": [
                    { "name": "eno1", "macAddress": "52:54:00:00:00:01" },
                    { "name": "eno2", "macAddress": "52:54:00:00:00:11" },
                ],
                "config": {
                    "interfaces": [
                        {
                            "name": "eno2",
                            "type": "ethernet",
                            "state": "up",
                            "mac-address": "52:54:00:00:00:11",
                            "ipv4": { "enabled": false },
                            "ipv6": { "enabled": false },
                        },
                        {
                            "name": "eno1",
                            "type": "ethernet",
                            "state": "up",
                            "mac-address": "52:54:00:00:00:01",
                            "ipv4": {
                                "enabled": true,
                                "dhcp": false,
                                "address": [{ "ip": "192.0.2.10", "prefix-length": 24 }],
                            },
                        },
                    ],
                    "dns-resolver": { "config": { "server": ["192.0.2.2", "192.0.2.3"] } },
                    "routes": {
                        "config": [
                            {
                                "destination": "0.0.0.0/0",
                                "next-hop-address": "192.0.2.1",
                                "next-hop-interface": "eno1",
                                "table-id": 254,
                            },
                            {
                                "destination": "198.51.100.0/24",
                                "next-hop-address": "192.0.2.254",
                                "next-hop-interface": "eno1",
                                "table-id": 254,
                            },
                        ],
                    },
                },
            })
        );
    }

    #[test]
    fn dhcp_host_gets_no_resolvers_or_routes() {
        let mut site = static_site();
        site.hosts[0].ip = None;
        assert_eq!(
            network_json(&site),
            json!({
                "interfaces": [
                    { "name": "eno1", "macAddress": "52:54:00:00:00:01" },
                    { "name": "eno2", "macAddress": "52:54:00:00:00:11" },
                ],
                "config": {
                    "interfaces": [
                        {
                            "name": "eno2",
                            "type": "ethernet",
                            "state": "up",
                            "mac-address": "52:54:00:00:00:11",
                            "ipv4": { "enabled": false },
                            "ipv6": { "enabled": false },
                        },
                        {
                            "name": "eno1",
                            "type": "ethernet",
                            "state": "up",
                            "mac-address": "52:54:00:00:00:01",
                            "ipv4": { "enabled": true, "dhcp": true },
                        },
                    ],
                },
            })
        );
    }

    /// Host 0 with eno1 and eno2 bonded, static; with `vlan`, VLAN 100 on the
    /// bond carries the address.
    fn bonded_site(vlan: bool) -> SiteSpec {
        site_with(|s| {
            s["spec"]["network"]["gateway"] = json!("192.0.2.1");
            let host = &mut s["spec"]["hosts"][0];
            host["ip"] = json!("192.0.2.10");
            host["bootMACAddress"] = json!("52:54:00:00:00:0A");
            host["nics"] = json!([
                { "name": "eno1", "mac": "52:54:00:00:00:0a" },
                { "name": "eno2", "mac": "52:54:00:00:00:0b" },
                { "name": "eno3", "mac": "52:54:00:00:00:0c" },
            ]);
            host["bonds"] = json!([{
                "name": "bond0",
                "mode": "active-backup",
                "interfaces": ["eno1", "eno2"],
                "options": { "miimon": "100" },
            }]);
            if vlan {
                host["vlans"] = json!([{ "id": 100, "base": "bond0" }]);
                host["primaryInterface"] = json!("bond0.100");
            }
        })
    }

    fn port(name: &str, mac: &str) -> Value {
        json!({ "name": name, "type": "ethernet", "state": "up", "mac-address": mac })
    }

    fn eno3_unused() -> Value {
        json!({
            "name": "eno3",
            "type": "ethernet",
            "state": "up",
            "mac-address": "52:54:00:00:00:0c",
            "ipv4": { "enabled": false },
            "ipv6": { "enabled": false },
        })
    }

    fn static_ipv4() -> Value {
        json!({
            "enabled": true,
            "dhcp": false,
            "address": [{ "ip": "192.0.2.10", "prefix-length": 24 }],
        })
    }

    fn default_route(via: &str) -> Value {
        json!({
            "config": [{
                "destination": "0.0.0.0/0",
                "next-hop-address": "192.0.2.1",
                "next-hop-interface": via,
                "table-id": 254,
            }],
        })
    }

    const BONDED_NICS: &str = r#"[
        { "name": "eno1", "macAddress": "52:54:00:00:00:0a" },
        { "name": "eno2", "macAddress": "52:54:00:00:00:0b" },
        { "name": "eno3", "macAddress": "52:54:00:00:00:0c" }
    ]"#;

    #[test]
    fn bond_holding_the_boot_nic_is_primary() {
        assert_eq!(
            network_json(&bonded_site(false)),
            json!({
                "interfaces": serde_json::from_str::<Value>(BONDED_NICS).expect("json"),
                "config": {
                    "interfaces": [
                        port("eno1", "52:54:00:00:00:0a"),
                        port("eno2", "52:54:00:00:00:0b"),
                        eno3_unused(),
                        {
                            "name": "bond0",
                            "type": "bond",
                            "state": "up",
                            "link-aggregation": {
                                "mode": "active-backup",
                                "options": { "miimon": "100" },
                                "port": ["eno1", "eno2"],
                            },
                            "ipv4": static_ipv4(),
                        },
                    ],
                    "routes": default_route("bond0"),
                },
            })
        );
    }

    #[test]
    fn vlan_on_a_bond() {
        assert_eq!(
            network_json(&bonded_site(true)),
            json!({
                "interfaces": serde_json::from_str::<Value>(BONDED_NICS).expect("json"),
                "config": {
                    "interfaces": [
                        port("eno1", "52:54:00:00:00:0a"),
                        port("eno2", "52:54:00:00:00:0b"),
                        eno3_unused(),
                        {
                            "name": "bond0",
                            "type": "bond",
                            "state": "up",
                            "link-aggregation": {
                                "mode": "active-backup",
                                "options": { "miimon": "100" },
                                "port": ["eno1", "eno2"],
                            },
                            "ipv4": { "enabled": false },
                            "ipv6": { "enabled": false },
                        },
                        {
                            "name": "bond0.100",
                            "type": "vlan",
                            "state": "up",
                            "vlan": { "base-iface": "bond0", "id": 100 },
                            "ipv4": static_ipv4(),
                        },
                    ],
                    "routes": default_route("bond0.100"),
                },
            })
        );
    }

    fn ipv6_site() -> SiteSpec {
        site_with(|s| {
            let network = &mut s["spec"]["network"];
            network["machineNetwork"] = json!("2001:db8:1::/64");
            network["gateway"] = json!("2001:db8:1::1");
            network["dnsServers"] = json!(["2001:db8:1::2"]);
            s["spec"]["hosts"][0]["ip"] = json!("2001:db8:1::10");
        })
    }

    #[test]
    fn ipv6_machine_network() {
        assert_eq!(
            network_json(&ipv6_site()),
            json!({
                "interfaces": [{ "name": "eno1", "macAddress": "52:54:00:00:00:01" }],
                "config": {
                    "interfaces": [{
                        "name": "eno1",
                        "type": "ethernet",
                        "state": "up",
                        "mac-address": "52:54:00:00:00:01",
                        "ipv4": { "enabled": false },
                        "ipv6": {
                            "enabled": true,
                            "dhcp": false,
                            "autoconf": false,
                            "address": [{ "ip": "2001:db8:1::10", "prefix-length": 64 }],
                        },
                    }],
                    "dns-resolver": { "config": { "server": ["2001:db8:1::2"] } },
                    "routes": {
                        "config": [{
                            "destination": "::/0",
                            "next-hop-address": "2001:db8:1::1",
                            "next-hop-interface": "eno1",
                            "table-id": 254,
                        }],
                    },
                },
            })
        );
        let mut dhcp = ipv6_site();
        dhcp.hosts[0].ip = None;
        assert_eq!(
            network_json(&dhcp)["config"],
            json!({
                "interfaces": [{
                    "name": "eno1",
                    "type": "ethernet",
                    "state": "up",
                    "mac-address": "52:54:00:00:00:01",
                    "ipv4": { "enabled": false },
                    "ipv6": { "enabled": true, "dhcp": true, "autoconf": true },
                }],
            })
        );
    }

    #[test]
    fn a_network_reads_back_as_it_was_written() {
        let network = host_network(&bonded_site(true), 0).expect("builds");
        let text = serde_json::to_string(&network).expect("serialises");
        let back: HostNetwork = serde_json::from_str(&text).expect("deserialises");
        assert_eq!(back, network);
    }

    #[test]
    fn errors_point_into_the_inventory() {
        let cases: Vec<(SiteSpec, &str, &str)> = vec![
            (
                site_with(|s| s["spec"]["hosts"][0]["nics"] = json!([])),
                "/site/spec/hosts/0/nics",
                "host `example-cp-0` has no NIC",
            ),
            (
                {
                    let mut site = bonded_site(false);
                    site.hosts[0].bonds[0].interfaces[1] = "eno9".to_owned();
                    site
                },
                "/site/spec/hosts/0/bonds/0/interfaces/1",
                "bond `bond0` names `eno9`, which is not a NIC",
            ),
            (
                {
                    let mut site = bonded_site(false);
                    site.hosts[0].bonds[0].interfaces[1] = "eno1".to_owned();
                    site
                },
                "/site/spec/hosts/0/bonds/0/interfaces/1",
                "NIC `eno1` is already a port of bond `bond0`",
            ),
            (
                {
                    let mut site = bonded_site(true);
                    site.hosts[0].vlans[0].base = "bond1".to_owned();
                    site.hosts[0].primary_interface = None;
                    site
                },
                "/site/spec/hosts/0/vlans/0/base",
                "VLAN 100 runs on `bond1`, which is not a NIC or bond",
            ),
            (
                {
                    let mut site = bonded_site(true);
                    site.hosts[0].vlans[0].base = "eno2".to_owned();
                    site.hosts[0].primary_interface = None;
                    site
                },
                "/site/spec/hosts/0/vlans/0/base",
                "VLAN 100 runs on `eno2`, a port of bond `bond0`",
            ),
            (
                {
                    let mut site = bonded_site(true);
                    site.hosts[0].vlans[0].id = 4095;
                    site
                },
                "/site/spec/hosts/0/vlans/0/id",
                "VLAN id 4095 is not between 1 and 4094",
            ),
            (
                {
                    let mut site = bonded_site(false);
                    site.hosts[0].bonds[0].name = "eno3".to_owned();
                    site
                },
                "/site/spec/hosts/0/bonds/0/name",
                "host `example-cp-0` has two interfaces named `eno3`",
            ),
            (
                {
                    let mut site = bonded_site(true);
                    site.hosts[0].primary_interface = Some("bond0.200".to_owned());
                    site
                },
                "/site/spec/hosts/0/primaryInterface",
                "primaryInterface `bond0.200` is no NIC, bond or VLAN",
            ),
            (
                {
                    let mut site = bonded_site(false);
                    site.hosts[0].primary_interface = Some("eno2".to_owned());
                    site
                },
                "/site/spec/hosts/0/primaryInterface",
                "primaryInterface `eno2` is a port of bond `bond0`",
            ),
            (
                site_with(|s| s["spec"]["hosts"][0]["bootMACAddress"] = json!("52:54:00:00:00:99")),
                "/site/spec/hosts/0/bootMACAddress",
                "no NIC of host `example-cp-0` has the boot MAC `52:54:00:00:00:99`",
            ),
            (
                site_with(|s| s["spec"]["hosts"][0]["ip"] = json!("2001:db8::10")),
                "/site/spec/hosts/0/ip",
                "host address `2001:db8::10` is an IPv6 address but the machine network is IPv4",
            ),
            (
                {
                    let mut site = static_site();
                    site.network.gateway = Some("192.0.2.300".to_owned());
                    site
                },
                "/site/spec/network/gateway",
                "gateway `192.0.2.300` is not an IP address",
            ),
            (
                {
                    let mut site = static_site();
                    site.network.dns_servers[1] = "dns.example.org".to_owned();
                    site
                },
                "/site/spec/network/dnsServers/1",
                "DNS server `dns.example.org` is not an IP address",
            ),
            (
                {
                    let mut site = static_site();
                    site.network.routes[0].destination = "2001:db8:2::/64".to_owned();
                    site
                },
                "/site/spec/network/routes/0/destination",
                "route destination `2001:db8:2::/64` is not of the machine network's IP family",
            ),
            (
                {
                    let mut site = static_site();
                    site.network.routes[0].destination = "198.51.100.0".to_owned();
                    site
                },
                "/site/spec/network/routes/0/destination",
                "route destination `198.51.100.0` is not a CIDR",
            ),
            (
                {
                    let mut site = static_site();
                    site.network.routes[0].gateway = "2001:db8::1".to_owned();
                    site
                },
                "/site/spec/network/routes/0/gateway",
                "route gateway `2001:db8::1` is an IPv6 address",
            ),
            (
                {
                    let mut site = static_site();
                    site.network.machine_network = "192.0.2.0/33".to_owned();
                    site
                },
                "/site/spec/network/machineNetwork",
                "machineNetwork `192.0.2.0/33` is not a CIDR",
            ),
        ];
        for (site, pointer, message) in cases {
            let err = error(&site);
            assert_eq!(err.pointer, pointer, "{err}");
            assert!(err.message.starts_with(message), "{err}");
        }
        let err = host_network(&static_site(), 2).expect_err("no such host");
        assert_eq!(err.pointer, "/site/spec/hosts");
    }

    #[test]
    fn a_dhcp_host_ignores_the_static_settings() {
        // Broken resolvers and routes concern only hosts with a static address.
        let mut site = static_site();
        site.hosts[0].ip = None;
        site.network.dns_servers[0] = "not-an-address".to_owned();
        site.network.routes[0].gateway = "not-an-address".to_owned();
        let network = host_network(&site, 0).expect("builds");
        assert!(network.config.dns_resolver.is_none());
        assert!(network.config.routes.is_none());
    }

    #[test]
    fn new_inventory_fields_are_optional_and_read() {
        // Every existing inventory stays valid: no new field is required.
        let site = site_with(|_| {});
        assert!(site.network.gateway.is_none() && site.network.routes.is_empty());
        assert!(site.hosts[0].bonds.is_empty() && site.hosts[0].primary_interface.is_none());
        // And written back out, an old inventory gains nothing.
        let text = serde_json::to_value(&site).expect("serialises");
        assert!(text["network"].get("dnsServers").is_none());
        assert!(text["hosts"][0].get("vlans").is_none());
        let site = bonded_site(true);
        assert_eq!(site.hosts[0].vlans[0].name(), "bond0.100");
        assert_eq!(site.hosts[0].bonds[0].options["miimon"], "100");
    }
}
