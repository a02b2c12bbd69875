//! The component's `config`: what the catalog says about the ClusterInstance
//! beyond the inventory, and the JSON Schema opsmith checks it against
//! before `render` runs.

use std::collections::BTreeMap;

use opsmith_plugin_sdk::{Error, Value};
use serde::Deserialize;
#[cfg(test)]
use serde::Serialize;

/// A JSON object given in the catalog as a YAML mapping.
pub type Object = serde_json::Map<String, Value>;

/// The templates the siteconfig operator ships for the assisted installer
/// and creates in its own namespace at start-up (stolostron/siteconfig
/// internal/templates/assisted-installer/template.go, cmd/main.go).
pub const AI_CLUSTER_TEMPLATES: &str = "ai-cluster-templates-v1";
/// See [`AI_CLUSTER_TEMPLATES`].
pub const AI_NODE_TEMPLATES: &str = "ai-node-templates-v1";
/// The operator's namespace in siteconfig's own samples
/// (config/samples/assisted-installer/example-sno.yaml).
pub const TEMPLATE_NAMESPACE: &str = "siteconfig-operator";

/// The ClusterInstance a hub's siteconfig operator installs the site from,
/// in the namespace named after the cluster (the inventory's metadata.name).
/// The cluster's name, base domain, networks and hosts come from the
/// inventory; this says what the inventory cannot.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(test, derive(Serialize, schemars::JsonSchema))]
#[cfg_attr(
    test,
    schemars(
        title = "builtin:clusterinstance config",
        extend("required" = ["clusterImageSetNameRef"])
    )
)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// spec.clusterImageSetNameRef: the name of the hub's ClusterImageSet
    /// that names the OpenShift release to install, such as
    /// img4.16.3-x86-64-appsub.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub cluster_image_set_name_ref: Option<String>,
    /// spec.pullSecretRef.name: the Secret (an RFC 1123 subdomain) in the
    /// cluster's namespace that holds the pull secret. Only the name is
    /// rendered, never the pull secret.
    #[cfg_attr(
        test,
        schemars(
            regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
            length(max = 253)
        )
    )]
    pub pull_secret_name: String,
    /// A key in the site's secret store (spec.secretStore) whose property
    /// .dockerconfigjson holds the pull secret's JSON. When set, an
    /// ExternalSecret creates the Secret pullSecretName (type
    /// kubernetes.io/dockerconfigjson) from it; when not, that Secret is
    /// created on the hub by other means.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub pull_secret_store_key: Option<String>,
    /// spec.sshPublicKey: the public key that may log in as the core user on
    /// every node (a public key, not a secret).
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub ssh_public_key: Option<String>,
    /// spec.networkType: the cluster network plugin.
    #[cfg_attr(test, schemars(extend("enum" = ["OVNKubernetes", "OpenShiftSDN"])))]
    pub network_type: String,
    /// spec.templateRefs: the ConfigMaps of cluster-level installation
    /// templates. The default is the assisted installer's, which the
    /// siteconfig operator creates in the namespace it runs in.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub cluster_templates: Vec<TemplateRef>,
    /// templateRefs of every node: the ConfigMaps of node-level installation
    /// templates. The default is the assisted installer's, which the
    /// siteconfig operator creates in the namespace it runs in.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub node_templates: Vec<TemplateRef>,
    /// spec.installConfigOverrides: install-config fields to set, as a
    /// mapping (such as {capabilities: {baselineCapabilitySet: None}});
    /// written as the JSON string the ClusterInstance holds.
    pub install_config_overrides: Option<Object>,
    /// spec.ignitionConfigOverride: an Ignition config merged into the
    /// discovery image's, as a mapping (with ignition.version); written as
    /// the JSON string the ClusterInstance holds.
    pub ignition_config_override: Option<Object>,
    /// spec.extraLabels: labels to add to the objects the templates render,
    /// by kind (such as ManagedCluster: {common: "true"}, which policies
    /// select clusters by).
    pub extra_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// spec.extraAnnotations: annotations to add to the objects the
    /// templates render, by kind.
    pub extra_annotations: BTreeMap<String, BTreeMap<String, String>>,
    /// spec.extraManifestsRefs: names of ConfigMaps in the cluster's
    /// namespace whose manifests are applied at installation.
    pub extra_manifests_refs: Vec<String>,
    /// Settings of single nodes, by host name in the inventory.
    pub nodes: BTreeMap<String, NodeConfig>,
    /// Annotate the ClusterInstance and its Namespace with
    /// argocd.argoproj.io/sync-options: Prune=false,Delete=false, so that
    /// removing the component or deleting the Argo CD Application never
    /// deletes them, which would deprovision the cluster; such a cluster is
    /// removed by deleting its ClusterInstance by hand.
    pub prune_protection: bool,
    /// A Go duration such as 1h or 15m: how often external-secrets re-reads
    /// the BMC credentials and the pull secret from the secret store (0
    /// reads them once).
    #[cfg_attr(
        test,
        schemars(regex(pattern = r"^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$"))
    )]
    pub refresh_interval: String,
}

impl Default for Config {
    fn default() -> Self {
        let template = |name: &str| {
            vec![TemplateRef {
                name: name.to_owned(),
                namespace: TEMPLATE_NAMESPACE.to_owned(),
            }]
        };
        Config {
            cluster_image_set_name_ref: None,
            // The name siteconfig's samples use (config/samples/assisted-installer/).
            pull_secret_name: "assisted-deployment-pull-secret".to_owned(),
            pull_secret_store_key: None,
            ssh_public_key: None,
            network_type: "OVNKubernetes".to_owned(),
            cluster_templates: template(AI_CLUSTER_TEMPLATES),
            node_templates: template(AI_NODE_TEMPLATES),
            install_config_overrides: None,
            ignition_config_override: None,
            extra_labels: BTreeMap::new(),
            extra_annotations: BTreeMap::new(),
            extra_manifests_refs: Vec::new(),
            nodes: BTreeMap::new(),
            prune_protection: true,
            refresh_interval: "1h".to_owned(),
        }
    }
}

/// A ConfigMap of installation templates.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// The ConfigMap's name.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub name: String,
    /// Its namespace.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub namespace: String,
}

/// What the inventory does not say about one node.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(test, derive(Serialize, schemars::JsonSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeConfig {
    /// installerArgs: coreos-installer arguments, such as [--append-karg,
    /// nosmt]; written as the JSON string the ClusterInstance holds.
    pub installer_args: Option<Vec<String>>,
    /// ignitionConfigOverride: an Ignition config for this node, as a
    /// mapping (with ignition.version); written as the JSON string the
    /// ClusterInstance holds.
    pub ignition_config_override: Option<Object>,
    /// nodeLabels: labels the node gets at installation, such as
    /// node-role.kubernetes.io/infra: "".
    pub node_labels: BTreeMap<String, String>,
}

impl Config {
    /// Whether the assisted installer's own cluster templates are used.
    pub fn default_cluster_templates(&self) -> bool {
        self.cluster_templates
            .iter()
            .any(|t| t.name == AI_CLUSTER_TEMPLATES)
    }

    /// Whether the assisted installer's own node templates are used.
    pub fn default_node_templates(&self) -> bool {
        self.node_templates
            .iter()
            .any(|t| t.name == AI_NODE_TEMPLATES)
    }
}

/// `value` as the JSON string a ClusterInstance field holds.
///
/// The assisted installer's templates copy these strings into YAML between
/// single quotes (`'{{ .Spec.IgnitionConfigOverride }}'`), where a `'` in
/// the JSON would end the scalar and break the rendered manifest; with those
/// templates (`quoted`), such a value is refused at `pointer`.
pub fn json_string(
    value: &impl serde::Serialize,
    pointer: &str,
    quoted: bool,
) -> Result<String, Error> {
    let text = serde_json::to_string(value).map_err(|e| Error::at(pointer, e.to_string()))?;
    if quoted && text.contains('\'') {
        return Err(Error::at(
            pointer,
            "contains a `'`, which the siteconfig operator's default templates cannot hold: \
             they write this JSON between single quotes",
        ));
    }
    Ok(text)
}
