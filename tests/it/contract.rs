//! The plugin contract's versions and the component files that 0.2.0 adds:
//! a 0.1.0 plugin, built before the move, renders as it did; a component's
//! `files:` reach its plugin, count in the inputs digest, and never come
//! from outside the site folder.

use crate::support::{SiteCopy, root, snapshot, stderr};

/// The fixture's sha256 (tests/fixtures/wit-0.1.0/README.md).
const LEGACY_SHA256: &str = "6419ba1c1c1eebe640c3e377c66a788abb509f2ced5399f95f2d5b77bc4e3477";

/// The reference site plus a `namespaces` component whose plugin is
/// `plugin` and whose further settings are `extra` (indented lines).
fn site_with_namespaces(plugin: &str, extra: &str) -> SiteCopy {
    let copy = SiteCopy::new();
    std::fs::copy(
        root().join("tests/fixtures/wit-0.1.0/namespaces.wasm"),
        copy.site().join("legacy.wasm"),
    )
    .expect("copy the fixture");
    let catalog = copy.read("catalog.yaml");
    copy.write(
        "catalog.yaml",
        &format!(
            "{catalog}    - name: namespaces
      plugin: {plugin}
      config:
        namespaces:
          - name: team-a
            labels: {{ team: a }}
{extra}"
        ),
    );
    copy
}

fn legacy() -> String {
    format!("{{ path: legacy.wasm, sha256: {LEGACY_SHA256} }}")
}

/// What the `namespaces` component rendered: its folder of the tree. (The
/// argocd component orders a `builtin:namespaces` component first, and the
/// provenance names the plugin: those differ by the plugin's reference.)
fn tree(copy: &SiteCopy) -> Vec<(String, Vec<u8>)> {
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    snapshot(&copy.path("out/infra/namespaces"))
}

#[test]
fn a_plugin_of_the_previous_contract_renders_as_it_did() {
    let current = tree(&site_with_namespaces("builtin:namespaces", ""));
    let copy = site_with_namespaces(&legacy(), "");
    let inspected = copy.run(&["plugin", "inspect", "site/legacy.wasm"]);
    let text = String::from_utf8_lossy(&inspected.stdout).into_owned();
    let world = text
        .lines()
        .find(|l| l.starts_with("world:"))
        .unwrap_or_default();
    assert_eq!(
        world,
        "world:       opsmith:plugin/renderer@0.1.0 (exports describe, render)"
    );
    let old = tree(&copy);
    assert_eq!(
        old.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        current.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((path, old), (_, new)) in old.iter().zip(&current) {
        assert!(old == new, "{path} differs");
    }
    let namespace = copy.path("out/infra/namespaces/cluster-scoped/namespace-team-a.yaml");
    insta::assert_snapshot!(
        "legacy_namespace",
        std::fs::read_to_string(namespace).expect("rendered")
    );
}

#[test]
fn files_are_not_given_to_a_plugin_of_the_previous_contract() {
    let copy = site_with_namespaces(&legacy(), "      files: [inventory.yaml]\n");
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!copy.path("out").exists(), "nothing is written");
    insta::assert_snapshot!("files_to_a_legacy_plugin", copy.transcript(&out));
}

/// The inputs digest the provenance records.
fn inputs_digest(copy: &SiteCopy) -> String {
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let provenance =
        std::fs::read_to_string(copy.path("out/infra/opsmith-provenance.yaml")).expect("read");
    provenance
        .lines()
        .find_map(|l| l.strip_prefix("inputsSha256: "))
        .expect("an inputs digest")
        .to_owned()
}

#[test]
fn a_component_file_counts_in_the_inputs_digest() {
    let copy = site_with_namespaces("builtin:namespaces", "      files: [\"extra/*.yaml\"]\n");
    std::fs::create_dir_all(copy.site().join("extra")).expect("mkdir");
    std::fs::write(copy.site().join("extra/a.yaml"), "a: 1\n").expect("write");
    let before = inputs_digest(&copy);
    std::fs::write(copy.site().join("extra/a.yaml"), "a: 2\n").expect("write");
    let after = inputs_digest(&copy);
    assert_ne!(before, after);
}

#[test]
fn component_files_come_from_the_site_folder_only() {
    let copy = site_with_namespaces(
        "builtin:namespaces",
        "      files: [\"../outside.yaml\", \"/etc/hostname\", \"links/*\"]\n",
    );
    std::fs::write(copy.path("outside.yaml"), "token: not-for-plugins\n").expect("write");
    std::fs::create_dir_all(copy.site().join("links")).expect("mkdir");
    std::os::unix::fs::symlink(copy.path("outside.yaml"), copy.site().join("links/a.yaml"))
        .expect("symlink");
    let mut transcripts = Vec::new();
    for glob in ["../outside.yaml", "/etc/hostname", "links/*"] {
        let catalog = copy.read("catalog.yaml");
        let start = catalog.rfind("      files: ").expect("files line");
        let end = start + catalog[start..].find('\n').expect("end of line") + 1;
        copy.write(
            "catalog.yaml",
            &format!(
                "{}      files: [\"{glob}\"]\n{}",
                &catalog[..start],
                &catalog[end..]
            ),
        );
        let out = copy.run(&["validate", "--site", "site"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        transcripts.push(copy.transcript(&out));
    }
    insta::assert_snapshot!("component_files_outside", transcripts.join("\n"));
}
