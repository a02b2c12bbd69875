//! Argo CD's own fence: each component's AppProject allows exactly the kinds
//! opsmith lets the component emit (its plugin's declaration, narrowed by the
//! catalog's `allow`), so that a file committed to a component's folder by
//! hand cannot make Argo CD apply any other kind.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{SiteCopy, opsmith, stderr, stdout};

/// The reference site's components that get an Application, and their plugins.
const CHILDREN: [(&str, &str); 4] = [
    ("baremetal-hosts", "builtin:metal3"),
    ("github-app", "builtin:github-app"),
    ("tekton", "builtin:tekton"),
    ("prow", "builtin:prow"),
];

/// `group/kind` of what `plugin` declares in `describe`, cluster-scoped
/// kinds and namespaced ones, read from `opsmith plugin inspect`.
fn declared(plugin: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = opsmith()
        .args(["plugin", "inspect", plugin])
        .output()
        .expect("run opsmith");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let emits = text
        .split_once("\nemits:\n")
        .expect("an emits section")
        .1
        .lines()
        .take_while(|l| l.starts_with("  "));
    let (mut cluster, mut namespaced) = (BTreeSet::new(), BTreeSet::new());
    for line in emits {
        let mut words = line.split_whitespace();
        let (api_version, kind) = (
            words.next().expect("apiVersion"),
            words.next().expect("kind"),
        );
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let entry = format!("{group}/{kind}");
        if line.ends_with("(cluster-scoped)") {
            cluster.insert(entry);
        } else {
            namespaced.insert(entry);
        }
    }
    (cluster, namespaced)
}

fn render(copy: &SiteCopy) {
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn object(copy: &SiteCopy, file: &str) -> Value {
    let path = copy.path(&format!("out/infra/argocd/openshift-gitops/{file}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).expect("YAML")
}

/// A project's list as `group/kind` strings.
fn group_kinds(project: &Value, list: &str) -> BTreeSet<String> {
    project["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|gk| {
            format!(
                "{}/{}",
                gk["group"].as_str().unwrap_or("?"),
                gk["kind"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn destinations(project: &Value) -> Vec<&str> {
    project["spec"]["destinations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["namespace"].as_str())
        .collect()
}

fn everything() -> BTreeSet<String> {
    BTreeSet::from(["*/*".to_owned()])
}

#[test]
fn each_component_project_allows_exactly_the_kinds_its_plugin_declares() {
    let copy = SiteCopy::new();
    render(&copy);
    for (child, plugin) in CHILDREN {
        let (cluster, namespaced) = declared(plugin);
        let project = object(&copy, &format!("appproject-infra-{child}.yaml"));
        let application = object(&copy, &format!("application-{child}.yaml"));
        assert_eq!(application["spec"]["project"], format!("infra-{child}"));
        for (kinds, allowed, denied) in [
            (
                &cluster,
                "clusterResourceWhitelist",
                "clusterResourceBlacklist",
            ),
            (
                &namespaced,
                "namespaceResourceWhitelist",
                "namespaceResourceBlacklist",
            ),
        ] {
            if kinds.is_empty() {
                assert!(project["spec"].get(allowed).is_none(), "{child}: {project}");
                assert_eq!(group_kinds(&project, denied), everything(), "{child}");
            } else {
                assert_eq!(&group_kinds(&project, allowed), kinds, "{child}: {allowed}");
                assert!(project["spec"].get(denied).is_none(), "{child}: {project}");
            }
        }
    }
    let prow = object(&copy, "appproject-infra-prow.yaml");
    assert_eq!(destinations(&prow), ["prow", "test-pods", ""]);

    // The root's project: only what builtin:argocd renders, where it renders it.
    let root = object(&copy, "appproject-infra.yaml");
    assert_eq!(
        object(&copy, "application-infra-root.yaml")["spec"]["project"],
        "infra"
    );
    assert_eq!(
        group_kinds(&root, "namespaceResourceWhitelist"),
        declared("builtin:argocd").1
    );
    assert_eq!(group_kinds(&root, "clusterResourceBlacklist"), everything());
    assert_eq!(destinations(&root), ["openshift-gitops"]);
}

#[test]
fn a_catalog_allow_list_narrows_the_fence() {
    let copy = SiteCopy::new();
    // What tekton renders for the reference site, and no more: not its
    // TektonConfig (cluster-scoped) nor its Ingress, and only in named namespaces.
    copy.edit(
        "catalog.yaml",
        "      plugin: builtin:tekton\n",
        "      plugin: builtin:tekton
      allow:
        - { apiVersion: v1, kind: Namespace }
        - { apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding }
        - { apiVersion: operators.coreos.com/v1alpha1, kind: Subscription, namespaces: [openshift-operators] }
        - { apiVersion: v1, kind: ServiceAccount, namespaces: [ci] }
        - { apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, namespaces: [ci] }
        - { apiVersion: route.openshift.io/v1, kind: Route, namespaces: [ci] }
        - { apiVersion: tekton.dev/v1, kind: Task, namespaces: [ci] }
        - { apiVersion: tekton.dev/v1, kind: Pipeline, namespaces: [ci] }
        - { apiVersion: triggers.tekton.dev/v1beta1, kind: TriggerBinding, namespaces: [ci] }
        - { apiVersion: triggers.tekton.dev/v1beta1, kind: TriggerTemplate, namespaces: [ci] }
        - { apiVersion: triggers.tekton.dev/v1beta1, kind: EventListener, namespaces: [ci] }
        - { apiVersion: monitoring.coreos.com/v1, kind: ServiceMonitor, namespaces: [ci] }
        # Not declared by the plugin: stays out of the fence.
        - { apiVersion: v1, kind: Secret, namespaces: [ci] }
",
    );
    render(&copy);
    let tekton = object(&copy, "appproject-infra-tekton.yaml");
    let set = |items: &[&str]| {
        items
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        group_kinds(&tekton, "clusterResourceWhitelist"),
        set(&["/Namespace", "rbac.authorization.k8s.io/ClusterRoleBinding"])
    );
    assert_eq!(
        group_kinds(&tekton, "namespaceResourceWhitelist"),
        set(&[
            "/ServiceAccount",
            "monitoring.coreos.com/ServiceMonitor",
            "operators.coreos.com/Subscription",
            "rbac.authorization.k8s.io/RoleBinding",
            "route.openshift.io/Route",
            "tekton.dev/Pipeline",
            "tekton.dev/Task",
            "triggers.tekton.dev/EventListener",
            "triggers.tekton.dev/TriggerBinding",
            "triggers.tekton.dev/TriggerTemplate",
        ])
    );
    // The namespaces `allow` names, not those the config suggests.
    assert_eq!(destinations(&tekton), ["ci", "openshift-operators", ""]);

    // Without the allow list, the declared TektonConfig is in the fence.
    let plain = SiteCopy::new();
    render(&plain);
    let tekton = object(&plain, "appproject-infra-tekton.yaml");
    // One kind of a set, not text: the whole AppProject is a golden file.
    assert!(
        group_kinds(&tekton, "clusterResourceWhitelist")
            .contains("operator.tekton.dev/TektonConfig")
    );
}
