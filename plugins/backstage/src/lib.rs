//! `builtin:backstage`: the site in Backstage's software catalog.
//!
//! It renders Backstage catalog entities as day-0 files
//! (`day0/<component>/`), which no Argo CD Application points at: Backstage
//! reads them from the GitOps repository, and no cluster ever applies them.
//! `catalog-info.yaml` is a Location listing every other file; registering
//! its URL in Backstage's `catalog.locations` brings in the whole site:
//!
//! - a **System** named after the site, which every other entity is part of;
//! - a **Resource** of type `kubernetes-cluster` for the cluster, with the
//!   annotations Backstage's Kubernetes plugin reads (`kubernetes.io/api-server`
//!   is `https://api.<site>.<baseDomain>:6443`), depending on every host;
//! - a **Resource** of type `network` for the machine network, and one of
//!   type `server` for each host, which depends on that network (the
//!   inventory has no BMC network of its own: BMCs are reached through the
//!   machine network, as on the reference site);
//! - a **Component** for each enabled catalog component, depending on the
//!   cluster, with a Kubernetes label selector for the objects opsmith
//!   labels with its name;
//! - an **API** (`openapi`) for the GitHub App's webhook, provided by the
//!   component that serves it (Prow's hook by default) and consumed by the
//!   github-app component;
//! - a **Group** for each owner, unless `renderGroups` is false.
//!
//! Every entity is in Backstage's default namespace, named by the rules of
//! @backstage/catalog-model; every reference between them resolves among
//! these files (`.ci/backstage-check.mjs` checks both).

mod config;
mod entities;
mod webhook;

use std::collections::BTreeSet;

use opsmith_plugin_sdk::site::PluginRef;
use opsmith_plugin_sdk::{
    Component, Error, File, FileFormat, Info, Input, Output, Plugin, Role, SiteInventory, Value,
    export_plugin, json,
};

use config::Config;
use entities::{Entity, is_entity_name, reference};
use webhook::Webhook;

/// The Location that lists every other file; the one URL to register.
pub const CATALOG_INFO: &str = "catalog-info.yaml";

/// The plugin; public so that native code (tests, benchmarks) can render with it.
pub struct Backstage;

impl Plugin for Backstage {
    fn describe() -> Info {
        Info::new("backstage", env!("CARGO_PKG_VERSION"))
            .description(
                "Backstage catalog entities for the site, its hosts and components, as day-0 files",
            )
            .config_schema_json(include_str!("config.schema.json"))
    }

    fn render(input: &Input) -> Result<Output, Error> {
        let config: Config = input.config()?;
        let catalog = &input.catalog;
        let components: Vec<&Component> = catalog.enabled_components().collect();
        let enabled: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
        config.check(&enabled)?;
        let site = &input.site;
        let names = Names::of(site)?;
        let owners = Owners::new(&config, &names)?;
        let webhook = webhook::of(site, catalog, config.webhook_provider.as_deref());

        let mut entities = vec![
            system(site, catalog, &names, &owners),
            cluster(site, &config, &names, &owners),
            network(site, &names, &owners),
        ];
        for host in &site.spec.hosts {
            entities.push(host_resource(host, &names, &owners));
        }
        for component in &components {
            entities.push(component_entity(
                component,
                catalog,
                &config,
                &names,
                &owners,
                webhook.as_ref(),
            ));
        }
        if let Some(webhook) = &webhook {
            entities.push(webhook_api(&config, &names, &owners, webhook));
        }
        if config.render_groups {
            for group in owners.used(&entities) {
                entities.push(group_entity(&group));
            }
        }

        let mut out = Output::new();
        let mut targets = Vec::with_capacity(entities.len());
        for entity in entities {
            targets.push(format!("./{}", entity.file_name()));
            out.file(yaml_file(entity.file_name(), entity.value));
        }
        targets.sort();
        let location = Entity::new(
            "Location",
            &names.site,
            json!({
                "description": format!("Every Backstage entity opsmith renders for {}", names.fqdn),
            }),
            // Relative targets are read from beside this file; without a
            // `type`, a Location's targets have its own type (Backstage's
            // descriptor format, "Kind: Location":
            // https://backstage.io/docs/features/software-catalog/descriptor-format#kind-location).
            json!({ "targets": targets }),
        );
        out.file(yaml_file(CATALOG_INFO.to_owned(), location.value));
        Ok(out)
    }
}

export_plugin!(Backstage);

fn yaml_file(name: String, content: Value) -> File {
    File {
        name,
        format: FileFormat::Yaml,
        content,
        schema: None,
    }
}

/// The names of the entities that stand for the site as a whole.
struct Names {
    /// The site's (cluster's) name: the System, the cluster Resource and
    /// the Location.
    site: String,
    /// `<site>.<baseDomain>`.
    fqdn: String,
    /// The machine network's Resource.
    network: String,
    /// The webhook's API.
    webhook: String,
}

impl Names {
    fn of(site: &SiteInventory) -> Result<Self, Error> {
        let name = &site.metadata.name;
        let derived = |suffix: &str| -> Result<String, Error> {
            let derived = format!("{name}-{suffix}");
            if is_entity_name(&derived) {
                Ok(derived)
            } else {
                Err(Error::at(
                    "/site/metadata/name",
                    format!(
                        "the Backstage entity `{derived}` would be named longer than Backstage's 63 characters; \
                         shorten the site's name"
                    ),
                ))
            }
        };
        let names = Names {
            site: name.clone(),
            fqdn: format!("{name}.{}", site.spec.base_domain),
            network: derived("machine-network")?,
            webhook: derived("github-webhook")?,
        };
        // Hosts share the Resource name space with the cluster and network.
        for (i, host) in site.spec.hosts.iter().enumerate() {
            if host.name == names.site || host.name == names.network {
                return Err(Error::at(
                    &format!("/site/spec/hosts/{i}/name"),
                    format!(
                        "host `{}` would have the Backstage Resource name of the {}; rename the host",
                        host.name,
                        if host.name == names.site {
                            "cluster"
                        } else {
                            "machine network"
                        }
                    ),
                ));
            }
        }
        Ok(names)
    }

    fn system(&self) -> String {
        reference("System", &self.site)
    }

    fn cluster(&self) -> String {
        reference("Resource", &self.site)
    }
}

/// Who owns what: the site's owner, and each component's.
struct Owners<'a> {
    config: &'a Config,
    site: String,
}

impl<'a> Owners<'a> {
    fn new(config: &'a Config, names: &Names) -> Result<Self, Error> {
        let site = match &config.owner {
            Some(owner) => full_group_ref(owner),
            None => {
                let group = format!("{}-admins", names.site);
                if !is_entity_name(&group) {
                    return Err(Error::at(
                        "/config",
                        format!(
                            "the default owner group `{group}` is longer than Backstage's 63 characters; set `owner`"
                        ),
                    ));
                }
                reference("Group", &group)
            }
        };
        Ok(Owners { config, site })
    }

    /// The owner of component `name`: its own, or the site's.
    fn of(&self, name: &str) -> String {
        self.config
            .components
            .get(name)
            .and_then(|c| c.owner.as_deref())
            .map_or_else(|| self.site.clone(), full_group_ref)
    }

    /// The names of the Groups the entities name as owners, sorted.
    fn used(&self, entities: &[Entity]) -> BTreeSet<String> {
        entities
            .iter()
            .filter_map(|e| e.value["spec"]["owner"].as_str())
            .filter_map(|owner| owner.strip_prefix("group:default/"))
            .map(str::to_owned)
            .collect()
    }
}

/// `group:x` or `group:default/x` as `group:default/x`.
fn full_group_ref(owner: &str) -> String {
    let name = owner.strip_prefix("group:").unwrap_or(owner);
    let name = name.strip_prefix("default/").unwrap_or(name);
    reference("Group", name)
}

fn system(
    site: &SiteInventory,
    catalog: &opsmith_plugin_sdk::AppCatalog,
    names: &Names,
    owners: &Owners,
) -> Entity {
    Entity::new(
        "System",
        &names.site,
        json!({
            "title": names.fqdn,
            "description": format!(
                "The {} site: its OpenShift {} cluster, hosts and network, and the components \
                 opsmith deploys from the catalog {}",
                names.fqdn, site.spec.openshift.version, catalog.metadata.name
            ),
        }),
        json!({ "owner": owners.site }),
    )
}

fn cluster(site: &SiteInventory, config: &Config, names: &Names, owners: &Owners) -> Entity {
    let control_plane = site.hosts_with_role(Role::ControlPlane).count();
    let workers = site.hosts_with_role(Role::Worker).count();
    // Annotation names: @backstage/plugin-kubernetes-common
    // catalog-entity-constants.ts. 6443 is the port of OpenShift's API
    // server on api.<cluster>.<baseDomain>.
    let mut annotations = json!({
        "kubernetes.io/api-server": format!("https://api.{}:6443", names.fqdn),
        "kubernetes.io/auth-provider": config.kubernetes.auth_provider,
    });
    if let Some(ca) = &config.kubernetes.certificate_authority {
        annotations["kubernetes.io/api-server-certificate-authority"] = json!(ca.trim());
    }
    let mut metadata = json!({
        "title": names.fqdn,
        "description": format!(
            "OpenShift {} cluster on {} bare-metal {} ({control_plane} control-plane, {workers} {})",
            site.spec.openshift.version,
            site.spec.hosts.len(),
            plural(site.spec.hosts.len(), "host", "hosts"),
            plural(workers, "worker", "workers"),
        ),
        "tags": ["openshift"],
    });
    if config.kubernetes.console {
        // The console's route on OpenShift's default ingress domain;
        // `openshift` is one of the Kubernetes plugin's dashboard formatters
        // (plugins/kubernetes-react, clusterLinks formatters).
        let console = format!("https://console-openshift-console.apps.{}", names.fqdn);
        annotations["kubernetes.io/dashboard-app"] = json!("openshift");
        annotations["kubernetes.io/dashboard-url"] = json!(console);
        metadata["links"] =
            json!([{ "url": console, "title": "OpenShift console", "icon": "dashboard" }]);
    }
    metadata["annotations"] = annotations;
    let hosts: Vec<String> = site
        .spec
        .hosts
        .iter()
        .map(|h| reference("Resource", &h.name))
        .collect();
    let mut spec = json!({
        "type": "kubernetes-cluster",
        "owner": owners.site,
        "system": names.system(),
    });
    if !hosts.is_empty() {
        spec["dependsOn"] = json!(hosts);
    }
    Entity::new("Resource", &names.site, metadata, spec)
}

fn network(site: &SiteInventory, names: &Names, owners: &Owners) -> Entity {
    let network = &site.spec.network;
    Entity::new(
        "Resource",
        &names.network,
        json!({
            "title": network.machine_network,
            "description": format!(
                "Machine network of {}: the hosts, their BMCs, the API VIP {} and the ingress VIP {}",
                names.fqdn, network.api_vip, network.ingress_vip
            ),
        }),
        json!({
            "type": "network",
            "owner": owners.site,
            "system": names.system(),
        }),
    )
}

fn host_resource(host: &opsmith_plugin_sdk::Host, names: &Names, owners: &Owners) -> Entity {
    let hardware = &host.hardware;
    let cpus = hardware
        .cpus
        .map(|n| format!("{n} {}, ", plural(n as usize, "CPU", "CPUs")))
        .unwrap_or_default();
    let mut metadata = json!({
        "description": format!(
            "{}: {cpus}{} memory, {} storage; a {} host of {}",
            hardware.model,
            hardware.memory,
            hardware.storage,
            host.role.as_str(),
            names.fqdn
        ),
        // A role is a valid tag: lowercase words joined by `-`.
        "tags": [host.role.as_str()],
    });
    if !host.labels.is_empty() {
        // The inventory's labels follow Kubernetes' rules, as Backstage's do.
        metadata["labels"] = json!(host.labels);
    }
    Entity::new(
        "Resource",
        &host.name,
        metadata,
        json!({
            "type": "server",
            "owner": owners.site,
            "system": names.system(),
            "dependsOn": [reference("Resource", &names.network)],
        }),
    )
}

fn component_entity(
    component: &Component,
    catalog: &opsmith_plugin_sdk::AppCatalog,
    config: &Config,
    names: &Names,
    owners: &Owners,
    webhook: Option<&Webhook>,
) -> Entity {
    let settings = config.components.get(&component.name);
    let plugin = match &component.plugin {
        PluginRef::Builtin(name) => name.clone(),
        PluginRef::File { path, .. } => path.clone(),
    };
    let gitops = &catalog.spec.gitops;
    let path = component
        .path
        .clone()
        .unwrap_or_else(|| format!("{}/{}", gitops.path, component.name));
    let description = settings
        .and_then(|s| s.description.clone())
        .unwrap_or_else(|| {
            format!(
                "Rendered by {plugin} into {path} of {} ({}), which Argo CD applies to {}",
                gitops.repo_url, gitops.target_revision, names.fqdn
            )
        });
    let mut spec = json!({
        "type": settings
            .and_then(|s| s.component_type.as_deref())
            .unwrap_or(&config.component_type),
        "lifecycle": settings
            .and_then(|s| s.lifecycle.as_deref())
            .unwrap_or(&config.lifecycle),
        "owner": owners.of(&component.name),
        "system": names.system(),
        "dependsOn": [names.cluster()],
    });
    let api = reference("API", &names.webhook);
    if let Some(webhook) = webhook {
        if webhook.provider == Some(component.name.as_str()) {
            spec["providesApis"] = json!([api]);
        }
        if webhook.app_component == component.name {
            spec["consumesApis"] = json!([api]);
        }
    }
    Entity::new(
        "Component",
        &component.name,
        json!({
            "description": description,
            "annotations": {
                // opsmith labels every object it renders with its
                // component (plugins/README.md, "Labels"); the Kubernetes
                // plugin shows the objects this selector matches
                // (@backstage/plugin-kubernetes-common,
                // KUBERNETES_LABEL_SELECTOR_QUERY_ANNOTATION).
                "backstage.io/kubernetes-label-selector":
                    format!("opsmith.dev/component={}", component.name),
                "opsmith.dev/plugin": plugin,
            },
        }),
        spec,
    )
}

fn webhook_api(config: &Config, names: &Names, owners: &Owners, webhook: &Webhook) -> Entity {
    let lifecycle = config
        .components
        .get(webhook.app_component)
        .and_then(|s| s.lifecycle.as_deref())
        .unwrap_or(&config.lifecycle);
    Entity::new(
        "API",
        &names.webhook,
        json!({
            "title": "GitHub App webhook",
            "description": format!(
                "Where GitHub delivers the GitHub App's events for {}: POST {}",
                names.fqdn, webhook.url
            ),
        }),
        json!({
            "type": "openapi",
            "lifecycle": lifecycle,
            "owner": owners.of(webhook.app_component),
            "system": names.system(),
            "definition": webhook.openapi(&names.fqdn),
        }),
    )
}

fn group_entity(name: &str) -> Entity {
    Entity::new(
        "Group",
        name,
        json!({
            "description": "Owns Backstage entities that opsmith renders; its members come from your organisation's Backstage users",
        }),
        json!({ "type": "team", "children": [] }),
    )
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests;
