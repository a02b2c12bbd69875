//! The three day-0 paths from one inventory, on copies of the reference
//! site: install-config.yaml for openshift-install (the reference site
//! itself, in the golden tree), the agent-based installer's files
//! (`method: agent`) and the ClusterInstance a hub installs the site from
//! (the `clusterinstance` component, `cluster: hub`). Each is one catalog
//! line away; inventories the installer would refuse only when it builds
//! its ISO are refused at their line before anything is written.

use crate::render::assert_golden;
use crate::support::{SiteCopy, root, snapshot, stderr};

const METHOD: &str = "method: ipi                # ipi | agent";
const HUB_DISABLED: &str = "enabled: false               # true when a hub installs the site";

/// Renders `copy` and returns the files under `folder` of the site's tree.
fn rendered_under(copy: &SiteCopy, folder: &str) -> Vec<(String, Vec<u8>)> {
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files: Vec<(String, Vec<u8>)> = snapshot(&copy.path("out"))
        .into_iter()
        .filter(|(path, _)| path.starts_with(folder))
        .collect();
    assert!(!files.is_empty(), "nothing under {folder}");
    files
}

/// Renders `copy` and expects exit 2 and nothing written; the transcript.
fn refused(copy: &SiteCopy, command: &str) -> String {
    let args: &[&str] = match command {
        "validate" => &["validate", "--site", "site"],
        _ => &["render", "--site", "site", "--out", "out"],
    };
    let out = copy.run(args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!copy.path("out").exists(), "nothing is written");
    copy.transcript(&out)
}

/// No rendered file holds a credential: BMC credentials and the pull secret
/// are references or placeholders.
fn assert_no_credentials(files: &[(String, Vec<u8>)]) {
    for (path, bytes) in files {
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines() {
            let line = line.trim();
            for key in ["password:", "username:", "pullSecret:", "auth:"] {
                if let Some(value) = line.strip_prefix(key) {
                    let value = value.trim();
                    assert!(
                        value.is_empty() || value.contains("${") || value.starts_with("'${"),
                        "{path}: `{line}` is not a reference or a placeholder"
                    );
                }
            }
        }
    }
}

#[test]
fn the_agent_path_renders_install_config_and_agent_config() {
    let copy = SiteCopy::new();
    copy.edit("catalog.yaml", METHOD, "method: agent");
    let files = rendered_under(&copy, "infra/day0/install-config/");
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "infra/day0/install-config/agent-config.yaml",
            "infra/day0/install-config/install-config.yaml"
        ]
    );
    assert_no_credentials(&files);
    assert_golden(&root().join("tests/golden/day0-agent"), &files);
}

#[test]
fn the_hub_path_renders_a_cluster_instance_the_site_does_not_sync() {
    let copy = SiteCopy::new();
    copy.edit("catalog.yaml", HUB_DISABLED, "enabled: true");
    let files = rendered_under(&copy, "infra/hub/");
    assert_no_credentials(&files);
    assert_golden(&root().join("tests/golden/day0-clusterinstance"), &files);
    // The site's own Argo CD has no Application for it.
    let argocd = rendered_under(&copy, "infra/argocd/");
    for (path, bytes) in &argocd {
        assert!(
            !String::from_utf8_lossy(bytes).contains("clusterinstance"),
            "{path} names the hub's component"
        );
    }
}

#[test]
fn a_cluster_instance_for_the_site_itself_is_refused() {
    let copy = SiteCopy::new();
    copy.edit("catalog.yaml", HUB_DISABLED, "enabled: true");
    copy.edit(
        "catalog.yaml",
        "      cluster: hub                 # the hub applies it, not this site's Argo CD\n",
        "",
    );
    insta::assert_snapshot!("cluster_instance_on_the_site", refused(&copy, "render"));
}

#[test]
fn a_rendezvous_ip_on_a_worker_is_refused_at_the_catalog_line() {
    let copy = SiteCopy::new();
    copy.edit(
        "catalog.yaml",
        METHOD,
        "method: agent\n        rendezvousIP: 10.10.0.207",
    );
    insta::assert_snapshot!("rendezvous_on_a_worker", refused(&copy, "render"));
}

#[test]
fn a_host_without_an_interface_is_refused_on_the_agent_path() {
    let copy = SiteCopy::new();
    copy.edit("catalog.yaml", METHOD, "method: agent");
    copy.edit(
        "inventory.yaml",
        "      nics:\n        - { name: eno1, mac: \"24:6e:96:03:05:a0\" }\n        - { name: eno2, mac: \"24:6e:96:03:05:a1\" }\n",
        "",
    );
    insta::assert_snapshot!("host_without_interface", refused(&copy, "render"));
}

#[test]
fn a_mac_on_two_hosts_is_refused() {
    let copy = SiteCopy::new();
    copy.edit(
        "inventory.yaml",
        "- { name: eno2, mac: \"24:6e:96:03:06:a1\" }",
        "- { name: eno2, mac: \"24:6e:96:03:05:a1\" }",
    );
    insta::assert_snapshot!("mac_on_two_hosts", refused(&copy, "validate"));
}

#[test]
fn interfaces_that_name_no_interface_are_refused_in_one_run() {
    let copy = SiteCopy::new();
    copy.edit(
        "inventory.yaml",
        "      ip: 10.10.0.206\n",
        "      ip: 10.10.0.206\n      bonds:\n        - { name: bond0, mode: active-backup, interfaces: [eno1, eno3] }\n      vlans:\n        - { id: 100, base: bond1 }\n      primaryInterface: bond0.200\n",
    );
    insta::assert_snapshot!("unknown_interfaces", refused(&copy, "validate"));
}

#[test]
fn a_bond_and_a_vlan_reach_agent_config() {
    let copy = SiteCopy::new();
    copy.edit("catalog.yaml", METHOD, "method: agent");
    copy.edit(
        "inventory.yaml",
        "      ip: 10.10.0.206\n",
        "      ip: 10.10.0.206\n      bonds:\n        - { name: bond0, mode: active-backup, interfaces: [eno1, eno2], options: { miimon: \"100\" } }\n      vlans:\n        - { id: 100, base: bond0 }\n      primaryInterface: bond0.100\n",
    );
    let files = rendered_under(&copy, "infra/day0/install-config/agent-config.yaml");
    let text = String::from_utf8_lossy(&files[0].1).into_owned();
    let host = &text[text.find("hostname: oct-03-06-compute").expect("the host")..];
    let host = &host[..host
        .find("hostname: oct-03-07-compute")
        .expect("the next host")];
    insta::assert_snapshot!("bond_and_vlan", host);
}

/// The installer's agent fixtures, as the install-config plugin's tests
/// re-express them (plugins/install-config/tests/fixtures/agent/), are
/// inventories opsmith itself accepts and renders: the network fields they
/// use are in the site schema and pass its checks.
#[test]
fn the_installers_agent_fixtures_render_through_opsmith() {
    let fixtures = root().join("plugins/install-config/tests/fixtures/agent");
    let mut rendered = Vec::new();
    for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
        let dir = entry.expect("entry").path();
        if !dir.join("inventory.json").is_file() {
            continue;
        }
        let copy = SiteCopy::new();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("fixture file");
        // Written as YAML, as opsmith's inputs are (it reads a file whose
        // `kind` line says SiteInventory).
        let inventory: serde_json::Value =
            serde_json::from_str(&read("inventory.json")).expect("JSON");
        copy.write(
            "inventory.yaml",
            &serde_saphyr::to_string(&inventory).expect("YAML"),
        );
        copy.write(
            "catalog.yaml",
            &format!(
                "apiVersion: opsmith.dev/v1alpha1\nkind: AppCatalog\nmetadata:\n  name: ostest\nspec:\n  gitops: {{ repoURL: https://git.example.org/sites.git, targetRevision: main, path: clusters/ostest }}\n  components:\n    - name: install-config\n      plugin: builtin:install-config\n      config: {}\n",
                serde_json::from_str::<serde_json::Value>(&read("config.json")).expect("JSON")
            ),
        );
        let out = copy.run(&["render", "--site", "site", "--out", "out"]);
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert!(
            copy.path("out/ostest/day0/install-config/agent-config.yaml")
                .is_file(),
            "{name}"
        );
        rendered.push(name);
    }
    rendered.sort();
    assert_eq!(
        rendered,
        [
            "baremetal_host_bmc_config",
            "compact",
            "no-rendezvousip",
            "none_ha",
            "sno"
        ]
    );
}
