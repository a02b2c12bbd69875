//! `builtin:clusterinstance`: the siteconfig operator's ClusterInstance
//! (`siteconfig.open-cluster-management.io/v1alpha1`) from which a hub
//! installs the site, with the ExternalSecrets that bring its credentials.
//!
//! Everything lives in a namespace named after the cluster (the inventory's
//! `metadata.name`), as the templates the operator ships expect: they render
//! the ClusterDeployment, AgentClusterInstall, InfraEnv, NMStateConfig and
//! BareMetalHost objects into `<clusterName>` (stolostron/siteconfig
//! internal/templates/assisted-installer/template.go). The plugin renders
//! that Namespace too, as siteconfig's GitOps guide does (docs/argocd.md,
//! `ns.yaml`).
//!
//! Each node's `nodeNetwork` is the nmstate the SDK builds from the
//! inventory (`opsmith_plugin_sdk::nmstate`), the same that agent-config
//! gets, so both installation paths configure a host's network alike.
//!
//! No secret is ever rendered. Each host's BMC credentials come from its
//! `bmc.credentialsRef` key in the site's secret store through an
//! ExternalSecret, as builtin:metal3 renders them, into the Secret
//! `<host>-bmc-secret` that the node's `bmcCredentialsName` names; the pull
//! secret is a reference by name, and comes from the store only when the
//! config names its key.
//!
//! These objects are applied on the hub, not on the cluster they describe.

mod config;

use opsmith_plugin_sdk::nmstate::host_network;
use opsmith_plugin_sdk::site::{Host, Role, SiteInventory};
use opsmith_plugin_sdk::{Error, Info, Input, Output, Plugin, Value, export_plugin, json};

use config::{Config, NodeConfig, json_string};

const API_VERSION: &str = "siteconfig.open-cluster-management.io/v1alpha1";
const EXTERNAL_SECRET: &str = "external-secrets.io/v1";

/// Boot modes the ClusterInstance CRD accepts (`nodes[].bootMode`).
const BOOT_MODES: [&str; 3] = ["UEFI", "UEFISecureBoot", "legacy"];

/// The property of the pull secret's key in the secret store, named after
/// the Secret key it becomes.
const PULL_SECRET_PROPERTY: &str = ".dockerconfigjson";

/// The plugin; public so that native code (tests, benchmarks) can render with it.
pub struct ClusterInstance;

impl Plugin for ClusterInstance {
    fn describe() -> Info {
        Info::new("clusterinstance", env!("CARGO_PKG_VERSION"))
            .description(
                "The siteconfig ClusterInstance a hub installs the site from, with ExternalSecrets for its BMC credentials and pull secret",
            )
            .config_schema_json(include_str!("config.schema.json"))
            .emits("v1", "Namespace", &[])
            // The namespace is the cluster's name, which `describe` cannot see.
            .emits(API_VERSION, "ClusterInstance", &["*"])
            .emits(EXTERNAL_SECRET, "ExternalSecret", &["*"])
    }

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        // The hub applies these objects; on the site's own cluster, which
        // it installs, they cannot work.
        if input.this_component().is_some_and(|c| c.cluster.is_site()) {
            return Err(Error::new(
                "builtin:clusterinstance renders what the hub cluster applies to install this site: \
                 set `cluster: hub` on the component, so that its objects are written under hub/ \
                 and the site's own Argo CD does not sync them",
            ));
        }
        let image_set = config
            .cluster_image_set_name_ref
            .as_deref()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                Error::at(
                    "/config",
                    "`clusterImageSetNameRef` is required: the name of the hub's ClusterImageSet to install",
                )
            })?;
        let site = &input.site;
        for name in config.nodes.keys() {
            if !site.spec.hosts.iter().any(|h| &h.name == name) {
                return Err(Error::at(
                    &format!("/config/nodes/{name}"),
                    format!("the inventory has no host `{name}`"),
                ));
            }
        }
        let namespace = site.metadata.name.as_str();
        let mut out = Output::new();
        out.object(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": metadata(namespace, None, &config),
        }));
        out.object(cluster_instance(site, image_set, &config)?);
        for host in &site.spec.hosts {
            out.object(bmc_credentials(host, site, &config));
        }
        if let Some(key) = &config.pull_secret_store_key {
            out.object(pull_secret(key, site, &config));
        }
        warn_about_the_hub(site, &config, &mut out);
        Ok(out)
    }
}

export_plugin!(ClusterInstance);

/// What the inventory asks for that the hub will not do as rendered.
fn warn_about_the_hub(site: &SiteInventory, config: &Config, out: &mut Output) {
    let store = &site.spec.secret_store;
    if store.kind == "SecretStore" {
        // An ExternalSecret finds a SecretStore in its own namespace only,
        // and this namespace is new.
        out.warn(
            "/site/spec/secretStore/kind",
            format!(
                "a SecretStore serves its own namespace only: the hub needs a SecretStore `{}` in namespace `{}` \
                 for the credentials' ExternalSecrets, or use a ClusterSecretStore",
                store.name, site.metadata.name
            ),
        );
    }
    // The shipped BareMetalHost template sets disableCertificateVerification:
    // true whatever the node says (internal/templates/assisted-installer/template.go).
    let verifying: Vec<usize> = site
        .spec
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.bmc.disable_certificate_verification)
        .map(|(i, _)| i)
        .collect();
    if config.default_node_templates()
        && let Some(&first) = verifying.first()
    {
        out.warn(
            &format!("/site/spec/hosts/{first}/bmc"),
            format!(
                "{} host(s) verify their BMC's TLS certificate, but the siteconfig operator's default node \
                 templates render every BareMetalHost with disableCertificateVerification: true; \
                 to verify, use node templates of your own (nodeTemplates)",
                verifying.len()
            ),
        );
    }
}

/// `metadata` of the Namespace (`namespace` None) and of the
/// ClusterInstance: the objects whose deletion deprovisions the cluster.
fn metadata(name: &str, namespace: Option<&str>, config: &Config) -> Value {
    let mut metadata = json!({ "name": name });
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    if config.prune_protection {
        metadata["annotations"] =
            json!({ "argocd.argoproj.io/sync-options": "Prune=false,Delete=false" });
    }
    metadata
}

fn cluster_instance(
    site: &SiteInventory,
    image_set: &str,
    config: &Config,
) -> Result<Value, Error> {
    let cluster = &site.metadata.name;
    let network = &site.spec.network;
    let control_plane = site.hosts_with_role(Role::ControlPlane).count();
    if control_plane == 0 {
        return Err(Error::at(
            "/site/spec/hosts",
            "no control-plane host: an OpenShift cluster needs at least one",
        ));
    }
    let mut spec = json!({
        "clusterName": cluster,
        "baseDomain": site.spec.base_domain,
        "clusterImageSetNameRef": image_set,
        "pullSecretRef": { "name": config.pull_secret_name },
        // The CRD's topologies: exactly one control-plane node is single-node
        // OpenShift (api/v1alpha1/clusterinstance_types.go, ClusterType).
        "clusterType": if control_plane == 1 { "SNO" } else { "HighlyAvailable" },
        "networkType": config.network_type,
        "machineNetwork": [{ "cidr": network.machine_network }],
        "clusterNetwork": [{
            "cidr": network.cluster_network,
            "hostPrefix": network.cluster_network_host_prefix,
        }],
        "serviceNetwork": [{ "cidr": network.service_network }],
        "templateRefs": config.cluster_templates,
    });
    // The CRD: VIPs are "not applicable to Single Node OpenShift (SNO)
    // clusters", whose API and ingress answer on the node's own address.
    if control_plane > 1 {
        spec["apiVIPs"] = json!([network.api_vip]);
        spec["ingressVIPs"] = json!([network.ingress_vip]);
    }
    if let Some(key) = &config.ssh_public_key {
        spec["sshPublicKey"] = json!(key);
    }
    if !site.spec.ntp_servers.is_empty() {
        spec["additionalNTPSources"] = json!(site.spec.ntp_servers);
    }
    if let Some(proxy) = &site.spec.proxy
        && (proxy.http_proxy.is_some() || proxy.https_proxy.is_some() || proxy.no_proxy.is_some())
    {
        spec["proxy"] = json!(proxy);
    }
    if let Some(overrides) = &config.install_config_overrides {
        // In the AgentClusterInstall, a cluster template.
        spec["installConfigOverrides"] = json!(json_string(
            overrides,
            "/config/installConfigOverrides",
            config.default_cluster_templates(),
        )?);
    }
    if let Some(ignition) = &config.ignition_config_override {
        // In the InfraEnv, a node template.
        spec["ignitionConfigOverride"] = json!(json_string(
            ignition,
            "/config/ignitionConfigOverride",
            config.default_node_templates(),
        )?);
    }
    if !config.extra_labels.is_empty() {
        spec["extraLabels"] = json!(config.extra_labels);
    }
    if !config.extra_annotations.is_empty() {
        spec["extraAnnotations"] = json!(config.extra_annotations);
    }
    if !config.extra_manifests_refs.is_empty() {
        let refs: Vec<Value> = config
            .extra_manifests_refs
            .iter()
            .map(|name| json!({ "name": name }))
            .collect();
        spec["extraManifestsRefs"] = json!(refs);
    }
    let nodes = site
        .spec
        .hosts
        .iter()
        .enumerate()
        .map(|(i, host)| node(site, host, i, config))
        .collect::<Result<Vec<_>, _>>()?;
    spec["nodes"] = json!(nodes);
    Ok(json!({
        "apiVersion": API_VERSION,
        "kind": "ClusterInstance",
        "metadata": metadata(cluster, Some(cluster), config),
        "spec": spec,
    }))
}

fn node(site: &SiteInventory, host: &Host, index: usize, config: &Config) -> Result<Value, Error> {
    let pointer = format!("/site/spec/hosts/{index}");
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
    let mut node = json!({
        "hostName": host.name,
        "role": host.role.install_config_role(),
        "bmcAddress": host.bmc.address,
        "bmcCredentialsName": { "name": credentials_name(host) },
        "bootMACAddress": host.boot_mac_address,
        "bootMode": boot_mode,
        "templateRefs": config.node_templates,
    });
    if let Some(hints) = &host.root_device_hints {
        node["rootDeviceHints"] = hints.to_metal3(&format!("{pointer}/rootDeviceHints"))?;
    }
    // The same nmstate as agent-config's: {interfaces, config} is the shape
    // of the CRD's nodeNetwork (assisted-service's NMStateConfigSpec).
    node["nodeNetwork"] = json!(host_network(&site.spec, index)?);
    if let Some(settings) = config.nodes.get(&host.name) {
        node_settings(&mut node, settings, &host.name, config)?;
    }
    Ok(node)
}

/// The catalog's settings of one node, at `/config/nodes/<host>`.
fn node_settings(
    node: &mut Value,
    settings: &NodeConfig,
    host: &str,
    config: &Config,
) -> Result<(), Error> {
    let pointer = format!("/config/nodes/{host}");
    // Both go into the BareMetalHost, a node template.
    let quoted = config.default_node_templates();
    if let Some(args) = &settings.installer_args {
        node["installerArgs"] = json!(json_string(
            args,
            &format!("{pointer}/installerArgs"),
            quoted
        )?);
    }
    if let Some(ignition) = &settings.ignition_config_override {
        node["ignitionConfigOverride"] = json!(json_string(
            ignition,
            &format!("{pointer}/ignitionConfigOverride"),
            quoted,
        )?);
    }
    if !settings.node_labels.is_empty() {
        node["nodeLabels"] = json!(settings.node_labels);
    }
    Ok(())
}

/// The Secret a node's BMC credentials land in: named as builtin:metal3 and
/// `openshift-install` name theirs.
fn credentials_name(host: &Host) -> String {
    format!("{}-bmc-secret", host.name)
}

/// The host's BMC credentials, from its `bmc.credentialsRef` key in the
/// store, with the keys the CRD requires of `bmcCredentialsName`'s Secret
/// ("requires keys \"username\" and \"password\"",
/// api/v1alpha1/clusterinstance_types.go).
fn bmc_credentials(host: &Host, site: &SiteInventory, config: &Config) -> Value {
    let name = credentials_name(host);
    let key = &host.bmc.credentials_ref;
    external_secret(
        &name,
        site,
        config,
        json!({ "name": name, "creationPolicy": "Owner" }),
        json!([
            { "secretKey": "username", "remoteRef": { "key": key, "property": "username" } },
            { "secretKey": "password", "remoteRef": { "key": key, "property": "password" } },
        ]),
    )
}

/// The pull secret, from `key` in the store, as a Secret of type
/// `kubernetes.io/dockerconfigjson`: the shape external-secrets documents
/// for it (https://external-secrets.io/latest/guides/common-k8s-secret-types/).
fn pull_secret(key: &str, site: &SiteInventory, config: &Config) -> Value {
    let name = &config.pull_secret_name;
    external_secret(
        name,
        site,
        config,
        json!({
            "name": name,
            "creationPolicy": "Owner",
            "template": {
                "type": "kubernetes.io/dockerconfigjson",
                "engineVersion": "v2",
                "data": { ".dockerconfigjson": "{{ .pullSecret | toString }}" },
            },
        }),
        json!([
            { "secretKey": "pullSecret", "remoteRef": { "key": key, "property": PULL_SECRET_PROPERTY } },
        ]),
    )
}

/// An ExternalSecret `name` in the cluster's namespace, from the site's
/// secret store, refreshed as configured.
fn external_secret(
    name: &str,
    site: &SiteInventory,
    config: &Config,
    target: Value,
    data: Value,
) -> Value {
    json!({
        "apiVersion": EXTERNAL_SECRET,
        "kind": "ExternalSecret",
        "metadata": { "name": name, "namespace": site.metadata.name },
        "spec": {
            "refreshInterval": config.refresh_interval,
            "secretStoreRef": {
                "name": site.spec.secret_store.name,
                "kind": site.spec.secret_store.kind,
            },
            "target": target,
            "data": data,
        },
    })
}

#[cfg(test)]
mod tests;
