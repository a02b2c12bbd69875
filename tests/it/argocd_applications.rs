//! Argo CD Applications for Helm charts and other repositories, listed in
//! the argocd component's config: rendered end to end on a copy of the
//! reference site, each Application checked against Argo CD's schema by the
//! render itself, with an AppProject of its own that lists its repository.

use crate::support::{SiteCopy, stderr};

/// The reference site with one chart application, `revision` its version.
fn site_with_chart(revision: &str, floating: &str) -> SiteCopy {
    let copy = SiteCopy::new();
    copy.edit(
        "catalog.yaml",
        "      plugin: builtin:argocd\n",
        &format!(
            "      plugin: builtin:argocd
      config:
        floatingRevisions: {floating}
        applications:
          - name: cert-manager
            repoURL: https://charts.jetstack.io
            chart: cert-manager
            targetRevision: {revision}
            namespace: cert-manager
            values:
              crds: {{ enabled: true }}
            syncOptions: [CreateNamespace=true]
            clusterResourceWhitelist:
              - {{ group: apiextensions.k8s.io, kind: CustomResourceDefinition }}
"
        ),
    );
    copy
}

fn rendered(copy: &SiteCopy, file: &str) -> String {
    let path = copy.path(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_helm_chart_becomes_an_application_in_a_project_of_its_own() {
    let copy = site_with_chart("v1.15.3", "warn");
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A pinned chart: no warning before the summary line.
    assert!(stderr(&out).starts_with("rendered "), "{}", stderr(&out));
    let folder = "out/infra/argocd/openshift-gitops";
    insta::assert_snapshot!(
        "chart_application",
        rendered(&copy, &format!("{folder}/application-cert-manager.yaml"))
    );
    insta::assert_snapshot!(
        "chart_application_project",
        rendered(
            &copy,
            &format!("{folder}/appproject-infra-cert-manager.yaml")
        )
    );
}

#[test]
fn a_floating_chart_version_is_an_error_when_the_catalog_says_so() {
    let copy = site_with_chart("1.15.*", "error");
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!copy.path("out").exists(), "nothing is written");
    insta::assert_snapshot!("floating_chart_version", copy.transcript(&out));
}
