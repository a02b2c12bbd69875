//! Checks a JSON Schema cannot express: uniqueness across hosts, addresses
//! that must fall inside (or stay out of) networks, a control-plane size
//! OpenShift installs, and catalog references that must resolve.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;

use ipnet::IpNet;

use super::catalog::{Catalog, PluginRef};
use super::inventory::{Inventory, Role};

use crate::diagnostics::Problem;
use crate::load::Document;
use crate::load::builtin;

pub fn inventory(site: &Inventory, doc: &Document, out: &mut Vec<Problem>) {
    unique_host_names(site, doc, out);
    unique_macs(site, doc, out);
    addresses(site, doc, out);
    routes(site, doc, out);
    interfaces(site, doc, out);
    control_plane_size(site, doc, out);
}

fn first_use(doc: &Document, pointer: &str) -> String {
    format!("line {}", doc.root().locate(pointer).line)
}

fn unique_host_names(site: &Inventory, doc: &Document, out: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, host) in site.spec.hosts.iter().enumerate() {
        if let Some(first) = seen.insert(&host.name, i) {
            let first_pointer = format!("/spec/hosts/{first}/name");
            out.push(doc.problem_at(
                &format!("/spec/hosts/{i}/name"),
                format!(
                    "duplicate host name `{}`: already used at {}",
                    host.name,
                    first_use(doc, &first_pointer)
                ),
            ));
            seen.insert(&host.name, first);
        }
    }
}

/// A use of a MAC address: a host's boot MAC, or the MAC of one of its NICs.
#[derive(Clone, Copy)]
struct MacUse {
    host: usize,
    nic: Option<usize>,
}

impl MacUse {
    /// Built only for a message: an inventory of thousands of hosts has
    /// thousands of MACs, nearly always all different.
    fn pointer(self) -> String {
        match self.nic {
            None => format!("/spec/hosts/{}/bootMACAddress", self.host),
            Some(n) => format!("/spec/hosts/{}/nics/{n}/mac", self.host),
        }
    }
}

/// A MAC compared without case, borrowed when already lowercase.
fn mac_key(mac: &str) -> Cow<'_, str> {
    if mac.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(mac.to_ascii_lowercase())
    } else {
        Cow::Borrowed(mac)
    }
}

fn unique_macs(site: &Inventory, doc: &Document, out: &mut Vec<Problem>) {
    let hosts = &site.spec.hosts;
    let mut first_uses: HashMap<Cow<'_, str>, MacUse> = HashMap::with_capacity(hosts.len() * 2);
    for (i, host) in hosts.iter().enumerate() {
        let boot = std::iter::once((None, host.boot_mac_address.as_str()));
        let nics = host
            .nics
            .iter()
            .enumerate()
            .map(|(n, nic)| (Some(n), nic.mac.as_str()));
        for (nic, mac) in boot.chain(nics) {
            let here = MacUse { host: i, nic };
            // A host has a few NICs: a scan beats a set.
            let twice = nic.and_then(|n| {
                host.nics[..n]
                    .iter()
                    .position(|earlier| earlier.mac.eq_ignore_ascii_case(mac))
            });
            if let Some(first) = twice {
                let first = MacUse {
                    host: i,
                    nic: Some(first),
                };
                out.push(doc.problem_at(
                    &here.pointer(),
                    format!(
                        "MAC address `{}` is used twice on host `{}` (first at {})",
                        mac.to_ascii_lowercase(),
                        host.name,
                        first_use(doc, &first.pointer())
                    ),
                ));
                continue;
            }
            match first_uses.entry(mac_key(mac)) {
                // The boot MAC is normally one of the host's own NICs.
                Entry::Occupied(first) if first.get().host == i => {}
                Entry::Occupied(first) => out.push(doc.problem_at(
                    &here.pointer(),
                    format!(
                        "MAC address `{}` is already used by host `{}` at {}",
                        first.key(),
                        hosts[first.get().host].name,
                        first_use(doc, &first.get().pointer())
                    ),
                )),
                Entry::Vacant(slot) => {
                    slot.insert(here);
                }
            }
        }
    }
}

/// What an address is used for, put in words only for a message.
#[derive(Clone, Copy)]
enum AddressUse {
    Vip(&'static str),
    Bmc(usize),
    Host(usize),
}

impl AddressUse {
    fn describe(self, site: &Inventory) -> String {
        let hosts = &site.spec.hosts;
        match self {
            AddressUse::Vip(field) => format!("the {field}"),
            AddressUse::Bmc(i) => format!("the BMC address of host `{}`", hosts[i].name),
            AddressUse::Host(i) => format!("the address of host `{}`", hosts[i].name),
        }
    }
}

/// Records `ip` as used for `what`; if something else has it already, that.
fn claim(
    used: &mut HashMap<IpAddr, AddressUse>,
    ip: IpAddr,
    what: AddressUse,
) -> Option<AddressUse> {
    match used.entry(ip) {
        Entry::Occupied(other) => Some(*other.get()),
        Entry::Vacant(slot) => {
            slot.insert(what);
            None
        }
    }
}

/// The host part of a BMC address such as `idrac-virtualmedia://10.0.0.4/redfish/...`.
fn bmc_ip(address: &str) -> Option<IpAddr> {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    host.parse().ok()
}

fn addresses(site: &Inventory, doc: &Document, out: &mut Vec<Problem>) {
    let net = &site.spec.network;
    let Ok(machine) = net.machine_network.parse::<IpNet>() else {
        return; // the schema has already reported it
    };
    let vips = [("apiVIP", &net.api_vip), ("ingressVIP", &net.ingress_vip)];
    for (field, vip) in vips {
        let pointer = format!("/spec/network/{field}");
        match vip.parse::<IpAddr>() {
            Ok(ip) if !machine.contains(&ip) => out.push(doc.problem_at(
                &pointer,
                format!("{field} `{vip}` is outside machineNetwork `{machine}`: the VIP must be an address of the machine network"),
            )),
            _ => {}
        }
    }
    if net.api_vip == net.ingress_vip {
        out.push(doc.problem_at(
            "/spec/network/ingressVIP",
            format!(
                "ingressVIP `{}` is the same address as apiVIP: they must differ",
                net.ingress_vip
            ),
        ));
    }
    // Every address in use, and where: VIPs, BMCs and host addresses must not collide.
    let mut used: HashMap<IpAddr, AddressUse> = HashMap::with_capacity(site.spec.hosts.len() * 2);
    for (field, vip) in vips {
        if let Ok(ip) = vip.parse::<IpAddr>() {
            used.entry(ip).or_insert(AddressUse::Vip(field));
        }
    }
    for (i, host) in site.spec.hosts.iter().enumerate() {
        if let Some(ip) = bmc_ip(&host.bmc.address)
            && let Some(other) = claim(&mut used, ip, AddressUse::Bmc(i))
        {
            out.push(doc.problem_at(
                &format!("/spec/hosts/{i}/bmc/address"),
                format!(
                    "BMC address `{ip}` of host `{}` is already {}",
                    host.name,
                    other.describe(site)
                ),
            ));
        }
        if let Some(ip) = host.ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok()) {
            let pointer = || format!("/spec/hosts/{i}/ip");
            if !machine.contains(&ip) {
                out.push(doc.problem_at(
                    &pointer(),
                    format!(
                        "host address `{ip}` of `{}` is outside machineNetwork `{machine}`",
                        host.name
                    ),
                ));
            }
            if let Some(other) = claim(&mut used, ip, AddressUse::Host(i)) {
                out.push(doc.problem_at(
                    &pointer(),
                    format!(
                        "host address `{ip}` of `{}` is already {}",
                        host.name,
                        other.describe(site)
                    ),
                ));
            }
        }
    }
    let networks = [
        ("machineNetwork", &net.machine_network),
        ("clusterNetwork", &net.cluster_network),
        ("serviceNetwork", &net.service_network),
    ];
    for (a, (name_a, cidr_a)) in networks.iter().enumerate() {
        for (name_b, cidr_b) in &networks[a + 1..] {
            if let (Ok(x), Ok(y)) = (cidr_a.parse::<IpNet>(), cidr_b.parse::<IpNet>())
                && (x.contains(&y.network()) || y.contains(&x.network()))
            {
                out.push(doc.problem_at(
                    &format!("/spec/network/{name_b}"),
                    format!(
                        "{name_b} `{y}` overlaps {name_a} `{x}`: the networks must be disjoint"
                    ),
                ));
            }
        }
    }
}

/// The default gateway and every route's next hop must be reachable on the
/// machine network, which is the only network the hosts are given.
fn routes(site: &Inventory, doc: &Document, out: &mut Vec<Problem>) {
    let net = &site.spec.network;
    let Ok(machine) = net.machine_network.parse::<IpNet>() else {
        return;
    };
    let hops =
        net.gateway
            .iter()
            .map(|gateway| ("/spec/network/gateway".to_owned(), gateway))
            .chain(
                net.routes.iter().enumerate().map(|(r, route)| {
                    (format!("/spec/network/routes/{r}/gateway"), &route.gateway)
                }),
            );
    for (pointer, hop) in hops {
        if let Ok(ip) = hop.parse::<IpAddr>()
            && !machine.contains(&ip)
        {
            out.push(doc.problem_at(
                &pointer,
                format!(
                    "gateway `{ip}` is outside machineNetwork `{machine}`: the hosts reach their next hop on the machine network"
                ),
            ));
        }
    }
}

/// A host's bonds and VLANs must be built of its own interfaces, and every
/// interface name must say one thing: the network configuration written
/// from them (agent-config, ClusterInstance) names interfaces, not places.
fn interfaces(site: &Inventory, doc: &Document, out: &mut Vec<Problem>) {
    for (i, host) in site.spec.hosts.iter().enumerate() {
        let at = |rest: &str| format!("/spec/hosts/{i}/{rest}");
        let mut names: HashMap<String, String> = HashMap::new();
        let mut declare =
            |name: String, pointer: String, out: &mut Vec<Problem>| match names.entry(name) {
                Entry::Occupied(first) => out.push(doc.problem_at(
                    &pointer,
                    format!(
                        "interface name `{}` of host `{}` is already used at {}",
                        first.key(),
                        host.name,
                        first_use(doc, first.get())
                    ),
                )),
                Entry::Vacant(slot) => {
                    slot.insert(pointer);
                }
            };
        for (n, nic) in host.nics.iter().enumerate() {
            declare(nic.name.clone(), at(&format!("nics/{n}/name")), out);
        }
        for (b, bond) in host.bonds.iter().enumerate() {
            declare(bond.name.clone(), at(&format!("bonds/{b}/name")), out);
        }
        for (v, vlan) in host.vlans.iter().enumerate() {
            declare(vlan.name(), at(&format!("vlans/{v}")), out);
        }
        let nic_names = || {
            host.nics
                .iter()
                .map(|nic| format!("`{}`", nic.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let is_nic = |name: &str| host.nics.iter().any(|nic| nic.name == name);
        let is_bond = |name: &str| host.bonds.iter().any(|bond| bond.name == name);
        // Which bond each NIC is a port of.
        let mut ports: HashMap<&str, &str> = HashMap::new();
        for (b, bond) in host.bonds.iter().enumerate() {
            for (k, port) in bond.interfaces.iter().enumerate() {
                let pointer = at(&format!("bonds/{b}/interfaces/{k}"));
                if !is_nic(port) {
                    out.push(doc.problem_at(
                        &pointer,
                        format!(
                            "bond `{}` of host `{}` names `{port}`, which is not one of its nics ({})",
                            bond.name,
                            host.name,
                            nic_names()
                        ),
                    ));
                } else if let Some(other) = ports.insert(port, &bond.name) {
                    out.push(doc.problem_at(
                        &pointer,
                        format!(
                            "nic `{port}` of host `{}` is already a port of bond `{other}`: a nic belongs to one bond at most",
                            host.name
                        ),
                    ));
                }
            }
        }
        for (v, vlan) in host.vlans.iter().enumerate() {
            if !is_nic(&vlan.base) && !is_bond(&vlan.base) {
                out.push(doc.problem_at(
                    &at(&format!("vlans/{v}/base")),
                    format!(
                        "VLAN {} of host `{}` runs on `{}`, which is none of its nics or bonds",
                        vlan.id, host.name, vlan.base
                    ),
                ));
            }
        }
        if let Some(primary) = &host.primary_interface {
            let known = is_nic(primary)
                || is_bond(primary)
                || host.vlans.iter().any(|vlan| vlan.name() == *primary);
            let message = if !known {
                Some(format!(
                    "primaryInterface `{primary}` of host `{}` is none of its nics, bonds or VLANs (`<base>.<id>`)",
                    host.name
                ))
            } else {
                ports.get(primary.as_str()).map(|bond| {
                    format!(
                        "primaryInterface `{primary}` of host `{}` is a port of bond `{bond}`, which carries the address instead: name the bond",
                        host.name
                    )
                })
            };
            if let Some(message) = message {
                out.push(doc.problem_at(&at("primaryInterface"), message));
            }
        }
    }
}

/// OpenShift installs 1 (single node) or 3 control-plane nodes; 4.17 and
/// later also accept 4 or 5 on bare metal.
fn control_plane_size(site: &Inventory, doc: &Document, out: &mut Vec<Problem>) {
    let count = site.hosts_with_role(Role::ControlPlane).count();
    let minor = site
        .spec
        .openshift
        .version
        .strip_prefix("4.")
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let (allowed, list): (&[usize], &str) = if minor >= 17 {
        (&[1, 3, 4, 5], "1, 3, 4 or 5")
    } else {
        (&[1, 3], "1 or 3")
    };
    if !allowed.contains(&count) {
        out.push(doc.problem_at(
            "/spec/hosts",
            format!(
                "{count} hosts have role `control-plane`; OpenShift {} installs with {list} control-plane nodes",
                site.spec.openshift.version
            ),
        ));
    }
}

pub fn catalog(catalog: &Catalog, doc: &Document, out: &mut Vec<Problem>) {
    // The schema's pattern has the rest of the rule; `.git` in any letter
    // case is what it cannot say.
    if let Err(e @ super::repo_path::RepoPathError::GitSegment { .. }) =
        super::repo_path::check_repo_path(&catalog.spec.gitops.path)
    {
        out.push(doc.problem_at(
            "/spec/gitops/path",
            format!("`{}` {e}", catalog.spec.gitops.path),
        ));
    }
    let mut services: HashMap<&str, usize> = HashMap::new();
    for (i, sle) in catalog.spec.sles.iter().enumerate() {
        if let Some(first) = services.insert(&sle.service, i) {
            out.push(doc.problem_at(
                &format!("/spec/sles/{i}/service"),
                format!(
                    "duplicate SLE service `{}`: already stated at {}",
                    sle.service,
                    first_use(doc, &format!("/spec/sles/{first}/service"))
                ),
            ));
            services.insert(&sle.service, first);
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, component) in catalog.spec.components.iter().enumerate() {
        if let Some(first) = seen.insert(&component.name, i) {
            out.push(doc.problem_at(
                &format!("/spec/components/{i}/name"),
                format!(
                    "duplicate component name `{}`: already used at {}",
                    component.name,
                    first_use(doc, &format!("/spec/components/{first}/name"))
                ),
            ));
            seen.insert(&component.name, first);
        }
        if let PluginRef::File { path, .. } = &component.plugin
            && !crate::load::is_plain_relative(path)
        {
            out.push(doc.problem_at(
                &format!("/spec/components/{i}/plugin/path"),
                format!(
                    "plugin path `{path}` must be relative to the site folder, without `..`: a site's plugins are inside it"
                ),
            ));
        }
        if let PluginRef::Builtin(name) = &component.plugin
            && !builtin::exists(name)
        {
            let mut message = format!("unknown built-in plugin `{}`", component.plugin);
            match crate::validate::schema::closest(name, builtin::names()) {
                Some(guess) => message.push_str(&format!(
                    ", did you mean `{}`?",
                    PluginRef::builtin_label(guess)
                )),
                None => message.push_str(&format!(
                    ": built-ins are {}",
                    builtin::names()
                        .map(|n| format!("`{}`", PluginRef::builtin_label(n)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
            out.push(doc.problem_at(&format!("/spec/components/{i}/plugin"), message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmc_ip_reads_the_authority() {
        assert_eq!(
            bmc_ip("idrac-virtualmedia://10.0.0.4/redfish/v1"),
            "10.0.0.4".parse().ok()
        );
        assert_eq!(bmc_ip("ipmi://10.0.0.5:623"), "10.0.0.5".parse().ok());
        assert_eq!(bmc_ip("redfish://[fd00::4]:443/x"), "fd00::4".parse().ok());
        assert_eq!(bmc_ip("redfish://bmc.example.org/x"), None);
    }
}
