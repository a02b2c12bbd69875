//! The site's README.md: what a newcomer needs to know about the site,
//! written beside the manifests on every render, as Argo CD's Source
//! Hydrator writes one per path. It is Markdown, written as text (never
//! through the YAML writer), and like every file of the tree it depends on
//! the inputs and the rendered objects alone.
//!
//! Most of it comes from the inputs. What only the rendered objects know is
//! read back from their canonical YAML: the Argo CD Applications (what Argo
//! CD syncs, and the app-of-apps to apply by hand) and the SLOs of Sloth-style
//! `PrometheusRule`s (each SLO's info rule, as Sloth lays them out). Those are a
//! few objects, so reading them again costs little.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::{DAY0_DIR, Provenance};
use crate::collect::{File, Object, PluginDigest};
use crate::validate::Site;
use crate::validate::inventory::{Host, Inventory};
use opsmith_plugin_sdk::site::Cluster;

/// The README's file name at the root of the site's tree.
pub const README_FILE: &str = "README.md";

/// The hosts table, which needs the parsed hosts: render frees them before
/// the plugins run, so it writes this first (see `pipeline::shed_hosts`).
pub fn hosts_section(inventory: &Inventory) -> String {
    let hosts = &inventory.spec.hosts;
    let mut by_role: BTreeMap<&str, usize> = BTreeMap::new();
    for host in hosts {
        *by_role.entry(host.role.as_str()).or_default() += 1;
    }
    let roles: Vec<String> = by_role
        .iter()
        .map(|(role, count)| format!("{count} {role}"))
        .collect();
    let mut out = format!(
        "## Hosts\n\n{} hosts: {}.\n\n",
        hosts.len(),
        roles.join(", ")
    );
    if hosts.len() > MAX_HOST_ROWS {
        // A table of every host would be megabytes that GitHub does not
        // show: the hosts by role and model instead, each host in its
        // BareMetalHost and in inventory.yaml.
        let mut models: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for host in hosts {
            *models
                .entry((host.role.as_str(), host.hardware.model.as_str()))
                .or_default() += 1;
        }
        let _ = write!(
            out,
            "More than {MAX_HOST_ROWS} hosts: by role and model here; each host is in the \
             inventory and in its BareMetalHost.\n\n| Role | Model | Hosts |\n|---|---|---|\n"
        );
        for ((role, model), count) in models {
            let _ = writeln!(out, "| {role} | {} | {count} |", cell(model));
        }
        return out;
    }
    out.push_str("| Host | Role | Hardware | BMC | Boot MAC |\n|---|---|---|---|---|\n");
    for host in hosts {
        host_row(&mut out, host);
    }
    out
}

/// Above this many hosts the README lists them by role and model only.
const MAX_HOST_ROWS: usize = 1000;

fn host_row(out: &mut String, host: &Host) {
    let hw = &host.hardware;
    let mut hardware = vec![hw.model.as_str().to_owned()];
    if let Some(cpus) = hw.cpus {
        hardware.push(format!("{cpus} CPUs"));
    }
    hardware.push(format!("{} memory", hw.memory));
    hardware.push(format!("{} storage", hw.storage));
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |",
        code(&host.name),
        host.role.as_str(),
        cell(&hardware.join(", ")),
        code(&host.bmc.address),
        code(&host.boot_mac_address),
    );
}

/// The README, from the site, its rendered objects and files, and what
/// rendered them; `hosts` is [`hosts_section`]'s text.
pub fn readme(
    site: &Site,
    hosts: &str,
    objects: &[(String, Object)],
    files: &[File],
    provenance: &Provenance,
) -> String {
    let inventory = &site.inventory;
    let name = &inventory.metadata.name;
    let mut out = String::with_capacity(hosts.len() + 8 * 1024);
    // No digest or opsmith version here: the provenance record has them,
    // and a change of inputs that leaves this text alone should leave this
    // file alone in the pull request's diff.
    let _ = write!(
        out,
        "# Site {name}\n\n\
         Written by opsmith from the site's inventory.yaml and catalog.yaml, \
         whose digest {PROVENANCE} records. Do not edit: the next render \
         rewrites it; change the inputs instead.\n\n",
        PROVENANCE = format_args!("[`{0}`]({0})", super::PROVENANCE_FILE),
    );
    cluster_section(&mut out, inventory);
    out.push_str(hosts);
    out.push('\n');
    components_section(&mut out, site, objects, files, provenance);
    sle_section(&mut out, site);
    slo_section(&mut out, objects);
    day0_section(&mut out, site, objects, files);
    // One final newline, however the last section ended.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn cluster_section(out: &mut String, inventory: &Inventory) {
    let spec = &inventory.spec;
    let net = &spec.network;
    let api = format!(
        "https://api.{}.{}:6443",
        inventory.metadata.name, spec.base_domain
    );
    out.push_str("## Cluster and networks\n\n| | |\n|---|---|\n");
    let mut row = |label: &str, value: String| {
        let _ = writeln!(out, "| {label} | {value} |");
    };
    row("OpenShift", cell(&spec.openshift.version));
    row("Base domain", code(&spec.base_domain));
    row("API", code(&api));
    row("API VIP", code(&net.api_vip));
    row("Ingress VIP", code(&net.ingress_vip));
    row("Machine network", code(&net.machine_network));
    row(
        "Cluster network",
        format!(
            "{} (a /{} per node)",
            code(&net.cluster_network),
            net.cluster_network_host_prefix
        ),
    );
    row("Service network", code(&net.service_network));
    row("Provisioning network", code(&net.provisioning_network));
    if !spec.ntp_servers.is_empty() {
        let servers: Vec<String> = spec.ntp_servers.iter().map(|s| code(s)).collect();
        row("NTP servers", servers.join(", "));
    }
    if let Some(proxy) = &spec.proxy {
        for (label, value) in [
            ("HTTP proxy", &proxy.http_proxy),
            ("HTTPS proxy", &proxy.https_proxy),
            ("No proxy", &proxy.no_proxy),
        ] {
            if let Some(value) = value {
                row(label, code(value));
            }
        }
    }
    row(
        "Secret store",
        format!(
            "{} {}",
            spec.secret_store.kind,
            code(&spec.secret_store.name)
        ),
    );
    out.push('\n');
}

fn components_section(
    out: &mut String,
    site: &Site,
    objects: &[(String, Object)],
    files: &[File],
    provenance: &Provenance,
) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, object) in objects {
        *counts.entry(object.component.as_str()).or_default() += 1;
    }
    out.push_str(
        "## Components\n\n\
         | Component | Plugin | Version | Digest | Renders |\n|---|---|---|---|---|\n",
    );
    for component in &site.catalog.spec.components {
        let plugin = component.plugin.to_string();
        let Some(record) = provenance
            .plugins
            .iter()
            .find(|p| p.component == component.name)
        else {
            let _ = writeln!(
                out,
                "| {} | {} | | | disabled |",
                code(&component.name),
                code(&plugin)
            );
            continue;
        };
        let digest = match &record.digest {
            PluginDigest::File { sha256 } => format!("sha256 {}", code(sha256)),
            PluginDigest::Builtin { source_sha256 } => {
                format!("source sha256 {}", code(source_sha256))
            }
        };
        let mut renders = Vec::new();
        if let Some(count) = counts.get(component.name.as_str()) {
            renders.push(format!(
                "[`{folder}{name}/`]({folder}{name}/) ({count} objects)",
                folder = component.cluster.tree_prefix(),
                name = component.name
            ));
        }
        let own: Vec<&File> = files
            .iter()
            .filter(|f| f.component == component.name)
            .collect();
        if own.len() > MAX_LISTED_FILES {
            let folder = format!("{DAY0_DIR}/{}/", component.name);
            renders.push(format!("[`{folder}`]({folder}) ({} files)", own.len()));
        } else {
            for file in own {
                let path = format!("{DAY0_DIR}/{}/{}", file.component, file.name);
                renders.push(format!("[`{path}`]({path})"));
            }
        }
        if renders.is_empty() {
            renders.push("nothing".to_owned());
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {digest} | {} |",
            code(&component.name),
            code(&plugin),
            cell(&record.version),
            renders.join("<br>")
        );
    }
    out.push('\n');
}

/// A component's day-0 files are listed one by one up to this many, and
/// as their folder beyond.
const MAX_LISTED_FILES: usize = 3;

fn sle_section(out: &mut String, site: &Site) {
    let sles = &site.catalog.spec.sles;
    if sles.is_empty() {
        return;
    }
    out.push_str(
        "## Service Level Expectations\n\n\
         What the community may expect of each service, as the catalog states it.\n\n\
         | Service | Availability | Support response | Support hours | Maintenance |\n\
         |---|---|---|---|---|\n",
    );
    let text = |value: &Option<String>| value.as_deref().map(cell).unwrap_or_default();
    for sle in sles {
        let mut service = format!("**{}**", cell(&sle.service));
        if let Some(description) = &sle.description {
            let _ = write!(service, "<br>{}", cell(description));
        }
        let availability = sle
            .availability
            .map(|a| format!("{a}% a month"))
            .unwrap_or_default();
        let response = sle
            .support_response
            .as_deref()
            .map(|r| format!("first response within {r}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {service} | {availability} | {response} | {} | {} |",
            text(&sle.support_hours),
            text(&sle.maintenance)
        );
    }
    out.push('\n');
}

/// One SLO as its info rule describes it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SloRow {
    service: String,
    slo: String,
    objective: String,
    window: String,
    alerts: Vec<String>,
    rule: String,
}

/// The SLOs of the rendered `PrometheusRule`s, as Sloth lays them out (and
/// `builtin:slo` does): an SLO is the info series `sloth_slo_info` (labels
/// `sloth_id`, `sloth_service`, `sloth_slo`, `sloth_objective`), its period
/// the `slo:time_period:days` series of the same `sloth_id`, and its alerts
/// the alerting rules of the group `sloth-slo-alerts-<sloth_id>`.
fn slo_rows(objects: &[(String, Object)]) -> Vec<SloRow> {
    let mut rows = Vec::new();
    for (path, object) in objects
        .iter()
        .filter(|(_, o)| o.kind == "PrometheusRule" && o.api_version == MONITORING_V1)
    {
        let Some(value) = parsed(object) else {
            continue;
        };
        let groups: Vec<&Value> = value
            .pointer("/spec/groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let rules_of = |group: &Value| -> Vec<Value> {
            group
                .get("rules")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let all: Vec<Value> = groups.iter().flat_map(|g| rules_of(g)).collect();
        let text = |value: &Value, pointer: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        for info in all
            .iter()
            .filter(|r| text(r, "/record") == "sloth_slo_info")
        {
            let id = text(info, "/labels/sloth_id");
            let window = all
                .iter()
                .find(|r| {
                    text(r, "/record") == "slo:time_period:days"
                        && text(r, "/labels/sloth_id") == id
                })
                .and_then(|r| {
                    let days = text(r, "/expr");
                    let days = days.trim().strip_prefix("vector(")?.strip_suffix(')')?;
                    Some(format!("{days} days"))
                })
                .unwrap_or_default();
            let alert_group = format!("sloth-slo-alerts-{id}");
            let mut alerts: Vec<String> = groups
                .iter()
                .filter(|g| text(g, "/name") == alert_group)
                .flat_map(|g| rules_of(g))
                .filter_map(|r| {
                    let alert = r.get("alert")?.as_str()?.to_owned();
                    Some(match text(&r, "/labels/sloth_severity").as_str() {
                        "" => alert,
                        severity => format!("{alert} ({severity})"),
                    })
                })
                .collect();
            alerts.sort();
            alerts.dedup();
            rows.push(SloRow {
                service: text(info, "/labels/sloth_service"),
                slo: text(info, "/labels/sloth_slo"),
                objective: text(info, "/labels/sloth_objective"),
                window,
                alerts,
                rule: format!("[`{path}`]({path})"),
            });
        }
    }
    rows.sort();
    rows
}

/// An object read back from its canonical YAML (which layout wrote, so it
/// parses).
fn parsed(object: &Object) -> Option<Value> {
    let text = std::str::from_utf8(&object.text).ok()?;
    opsmith_yaml::parse_value(text).ok()
}

const MONITORING_V1: &str = "monitoring.coreos.com/v1";

fn slo_section(out: &mut String, objects: &[(String, Object)]) {
    let rows = slo_rows(objects);
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "## Service Level Objectives\n\n\
         | Service | SLO | Objective | Window | Alerts | Rules |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let objective = if row.objective.is_empty() {
            String::new()
        } else {
            format!("{}%", cell(&row.objective))
        };
        let alerts: Vec<String> = row.alerts.iter().map(|a| cell(a)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {objective} | {} | {} | {} |",
            cell(&row.service),
            code(&row.slo),
            cell(&row.window),
            alerts.join("<br>"),
            row.rule,
        );
    }
    out.push('\n');
}

/// An Argo CD Application as the README lists it.
struct Application<'a> {
    object: &'a Object,
    path: String,
    project: String,
    wave: String,
    source: String,
}

fn applications(objects: &[(String, Object)]) -> Vec<(String, Application<'_>)> {
    objects
        .iter()
        .filter(|(_, o)| o.kind == "Application" && o.api_version == "argoproj.io/v1alpha1")
        .filter_map(|(file, object)| {
            let value = parsed(object)?;
            let text_at = |pointer: &str| {
                value
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let source = match text_at("/spec/source/chart").as_str() {
                "" => text_at("/spec/source/repoURL"),
                chart => format!(
                    "{} chart {chart} {}",
                    text_at("/spec/source/repoURL"),
                    text_at("/spec/source/targetRevision")
                ),
            };
            Some((
                file.clone(),
                Application {
                    object,
                    path: text_at("/spec/source/path"),
                    project: text_at("/spec/project"),
                    wave: text_at("/metadata/annotations/argocd.argoproj.io~1sync-wave"),
                    source,
                },
            ))
        })
        .collect()
}

fn day0_section(out: &mut String, site: &Site, objects: &[(String, Object)], files: &[File]) {
    let gitops = &site.catalog.spec.gitops;
    out.push_str("## Day 0\n\n");
    let mut step = 0;
    let mut next = || {
        step += 1;
        step
    };
    // The installer's own files: install-config.yaml, and agent-config.yaml
    // beside it for the agent-based installer.
    let installer_files = ["install-config.yaml", "agent-config.yaml"];
    if let Some(file) = files.iter().find(|f| f.name == installer_files[0]) {
        let path = format!("{DAY0_DIR}/{}/{}", file.component, file.name);
        let agent = files
            .iter()
            .any(|f| f.component == file.component && f.name == installer_files[1]);
        let _ = writeln!(
            out,
            "{}. Fill in [`{path}`]({path}): its credentials are `${{NAME}}` placeholders \
             (pull secret, SSH key, each host's BMC username and password) whose values \
             come from the secret store. Replace them as whole string values, for example \
             `yq '(.. | select(tag == \"!!str\")) |= envsubst(nu, ne)' {path} > install/install-config.yaml`.",
            next(),
        );
        if agent {
            let agent_path = format!("{DAY0_DIR}/{}/{}", file.component, installer_files[1]);
            let _ = writeln!(
                out,
                "{}. Copy [`{agent_path}`]({agent_path}) to `install/` the same way, build the \
                 agent ISO with `openshift-install agent create image --dir install`, and boot \
                 every host from it: the rendezvous host runs the install \
                 (`openshift-install agent wait-for install-complete --dir install`).",
                next(),
            );
        } else {
            let _ = writeln!(
                out,
                "{}. Install: `openshift-install create cluster --dir install`.",
                next()
            );
        }
    }
    let hub_components: Vec<&str> = site
        .catalog
        .spec
        .components
        .iter()
        .filter(|c| !c.cluster.is_site() && objects.iter().any(|(_, o)| o.component == c.name))
        .map(|c| c.name.as_str())
        .collect();
    for component in hub_components {
        let folder = format!("{}{component}/", Cluster::Hub.tree_prefix());
        let _ = writeln!(
            out,
            "{}. On the hub cluster, apply [`{folder}`]({folder}) (or let the hub's Argo CD \
             sync it): the hub installs this cluster from it. This cluster's own Argo CD \
             does not sync it.",
            next(),
        );
    }
    // By component, in catalog order as layout hands them over; a
    // component with many files by its folder.
    let mut by_component: Vec<(&str, Vec<&File>)> = Vec::new();
    for file in files
        .iter()
        .filter(|f| !installer_files.contains(&f.name.as_str()))
    {
        match by_component.iter_mut().find(|(c, _)| *c == file.component) {
            Some((_, own)) => own.push(file),
            None => by_component.push((&file.component, vec![file])),
        }
    }
    let others: Vec<String> = by_component
        .iter()
        .flat_map(|(component, own)| {
            if own.len() > MAX_LISTED_FILES {
                let folder = format!("{DAY0_DIR}/{component}/");
                vec![format!("[`{folder}`]({folder})")]
            } else {
                own.iter()
                    .map(|f| {
                        let path = format!("{DAY0_DIR}/{}/{}", f.component, f.name);
                        format!("[`{path}`]({path})")
                    })
                    .collect()
            }
        })
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            out,
            "{}. Act on the other day-0 files, which no cluster applies: {}.",
            next(),
            others.join(", ")
        );
    }
    let apps = applications(objects);
    let own_folder = |app: &Application| format!("{}/{}", gitops.path, app.object.component);
    let root = apps.iter().find(|(_, app)| app.path == own_folder(app));
    let secret_store = &site.inventory.spec.secret_store;
    let external_secrets = if objects.iter().any(|(_, o)| o.kind == "ExternalSecret") {
        format!(
            ", the External Secrets operator with the {} `{}` the ExternalSecrets read",
            secret_store.kind, secret_store.name
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{}. Install the OpenShift GitOps operator (Argo CD){external_secrets}, and give \
         Argo CD read access to {}.",
        next(),
        code(&gitops.repo_url)
    );
    if let Some((file, root)) = root {
        let project = objects
            .iter()
            .find(|(_, o)| {
                o.kind == "AppProject"
                    && o.name == root.project
                    && o.component == root.object.component
            })
            .map(|(path, _)| format!(" -f {path}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}. Apply the root Application, which syncs everything else: \
             `oc apply{project} -f {file}` (from this folder).",
            next()
        );
    }
    let root_name = root.map(|(_, app)| app.object.name.as_str());
    let mut listed: Vec<&Application> = apps
        .iter()
        .map(|(_, app)| app)
        .filter(|app| Some(app.object.name.as_str()) != root_name)
        .collect();
    if listed.is_empty() {
        out.push('\n');
        return;
    }
    let _ = write!(
        out,
        "\nThe root Application then syncs these, in sync-wave order:\n\n\
         | Application | Folder or source | Project | Sync wave |\n|---|---|---|---|\n"
    );
    let wave = |app: &Application| app.wave.parse::<i64>().unwrap_or(0);
    listed.sort_by(|a, b| {
        wave(a)
            .cmp(&wave(b))
            .then_with(|| a.object.name.cmp(&b.object.name))
    });
    for app in listed {
        let folder = app
            .path
            .strip_prefix(&format!("{}/", gitops.path))
            .filter(|_| app.source == gitops.repo_url)
            .map(|folder| format!("[`{folder}/`]({folder}/)"))
            .unwrap_or_else(|| match app.path.as_str() {
                "" => cell(&app.source),
                path => format!("{} {}", cell(&app.source), code(path)),
            });
        let _ = writeln!(
            out,
            "| {} | {folder} | {} | {} |",
            code(&app.object.name),
            code(&app.project),
            if app.wave.is_empty() {
                "0"
            } else {
                app.wave.as_str()
            },
        );
    }
    out.push('\n');
}

/// Text for a table cell: one line, and nothing that Markdown or GitHub's
/// HTML would read as markup (the inventory is free text in places).
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' | '*' | '_' | '`' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A value in a code span: names, addresses and digests, kept verbatim.
fn code(text: &str) -> String {
    // A code span cannot hold its own delimiter or a table's `|` reliably.
    if text.contains(['`', '|', '\n', '\r']) {
        return cell(text);
    }
    format!("`{text}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory_with_hosts(count: usize) -> Inventory {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("site/inventory.yaml"),
        )
        .expect("reference inventory");
        let mut value = opsmith_yaml::parse_value(&text).expect("YAML");
        let hosts = value["spec"]["hosts"].as_array().expect("hosts").clone();
        value["spec"]["hosts"] = hosts.iter().cycle().take(count).cloned().collect();
        serde_json::from_value(value).expect("inventory")
    }

    #[test]
    fn a_large_site_lists_its_hosts_by_role_and_model() {
        let small = hosts_section(&inventory_with_hosts(MAX_HOST_ROWS));
        assert_eq!(
            small.lines().filter(|l| l.starts_with("| `")).count(),
            MAX_HOST_ROWS
        );
        let large = hosts_section(&inventory_with_hosts(MAX_HOST_ROWS + 1));
        assert_eq!(
            large,
            "## Hosts\n\n1001 hosts: 376 control-plane, 625 worker.\n\n\
             More than 1000 hosts: by role and model here; each host is in the inventory and \
             in its BareMetalHost.\n\n| Role | Model | Hosts |\n|---|---|---|\n\
             | control-plane | PowerEdge R620 | 376 |\n| worker | PowerEdge R620 | 625 |\n"
        );
    }

    #[test]
    fn cells_cannot_break_the_table_or_inject_markup() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("<script>x</script>"), "&lt;script&gt;x&lt;/script&gt;");
        assert_eq!(cell("two\nlines"), "two lines");
        assert_eq!(cell("[link](x)"), "\\[link\\](x)");
        assert_eq!(code("10.0.0.1"), "`10.0.0.1`");
        assert_eq!(code("a`b"), "a\\`b");
    }
}
