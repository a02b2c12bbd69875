//! Broken sites: the reference site with one defect each, run through
//! `opsmith validate`. Every defect must end with exit status 2, a message
//! at the defect's `file:line:` that says what is wrong (and, for a near
//! miss, what was meant), and nothing written to the site's folder.
//!
//! Each run's whole output is a snapshot (tests/it/snapshots/); the line a
//! message must point at is also computed from the edited text, so that a
//! snapshot re-blessed after a change of the reference site cannot point
//! at the wrong line unnoticed.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use crate::support::{SiteCopy, stderr};

// `Change`, `At` and the table below are read by the macro.

const INV: &str = "inventory.yaml";
const CAT: &str = "catalog.yaml";

/// What is done to one file of the reference site.
enum Change {
    /// Replaces the first occurrence of the first text with the second.
    Swap(&'static str, &'static str),
    /// Replaces the whole file.
    Write(&'static str),
}
use Change::{Swap, Write};

/// Where the message must point.
enum At {
    /// The line of this text inside the replacement (`""`: where it starts).
    Edit(&'static str),
    /// The first line of the edited file that contains this text.
    Line(&'static str),
    /// Line 1: a problem with the file as a whole.
    Top,
}

/// Text no message may contain: a parser library's internals, or a list
/// index where the user needs to know which item is meant.
const NEVER: &[&str] = &[
    "DuplicateKeyPolicy",
    "budget breached",
    "RecordedAnchorEvents",
    " in `0`",
    " in `1`",
    " in `2`",
];

/// One broken site: `file` changed by `change`; a message points at `at`,
/// and the output is the snapshot named after the case.
macro_rules! broken_sites {
    ($($name:ident: $file:expr, $change:expr, $at:expr;)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), check($file, $change, $at));
        }
    )*};
}

broken_sites! {
    // Schema: the shape of the inventory.
    unknown_field_suggests_the_near_miss: INV, Swap("  hosts:", "  hostz:"), At::Edit("hostz");
    missing_required_field: INV, Swap("  baseDomain: example.org\n", ""), At::Line("spec:");
    missing_required_field_of_a_host: INV, Swap("      role: control-plane", ""), At::Line("- name: oct-03-04-compute");
    wrong_type: INV, Swap("version: \"4.16\"", "version: 4.16"), At::Edit("4.16");
    yaml_1_1_boolean_is_a_string: INV, Swap("disableCertificateVerification: true", "disableCertificateVerification: yes"), At::Edit("yes");
    bad_mac: INV, Swap("mac: \"24:6e:96:03:05:a1\"", "mac: \"24:6e:96:03:05:zz\""), At::Edit("");
    bad_cidr: INV, Swap("machineNetwork: 10.10.0.0/24", "machineNetwork: 10.10.0.0/33"), At::Edit("");
    bad_vip: INV, Swap("apiVIP: 10.10.0.5", "apiVIP: 10.10.0.256"), At::Edit("");
    bad_host_ip: INV, Swap("ip: 10.10.0.207", "ip: 10.10.0"), At::Edit("");
    bad_host_name: INV, Swap("name: oct-03-05-compute", "name: Oct_03_05"), At::Edit("");
    bad_quantity: INV, Swap("storage: 300Gi", "storage: 300GB"), At::Edit("");
    unknown_bmc_scheme: INV, Swap("address: idrac-virtualmedia://10.10.0.105", "address: drac://10.10.0.105"), At::Edit("");
    bad_role_suggests_the_near_miss: INV, Swap("role: worker", "role: workr"), At::Edit("");
    wrong_kind: INV, Swap("kind: SiteInventory", "kind: SiteInventroy"), At::Edit("");
    catalog_in_place_of_the_inventory: INV, Swap("kind: SiteInventory", "kind: AppCatalog"), At::Edit("");
    unknown_api_version: INV, Swap("apiVersion: opsmith.dev/v1alpha1", "apiVersion: opsmith.dev/v1"), At::Edit("");
    inline_bmc_password: INV, Swap("credentialsRef: bmc/oct-03-05-compute", "credentialsRef: bmc/oct-03-05-compute\n        password: calvin"), At::Edit("password");
    no_hosts: INV, Swap("  hosts:\n", "  hosts: []\n  retired:\n"), At::Edit("[]");

    // Schema: the shape of the catalog.
    catalog_unknown_field: CAT, Swap("  components:", "  component:"), At::Edit("component");
    plugin_neither_builtin_nor_file: CAT, Swap("plugin: builtin:prow", "plugin: prow"), At::Edit("prow");
    gitops_path_into_git_s_folder: CAT, Swap("path: clusters/infra", "path: clusters/.Git/infra"), At::Edit("clusters");
    repo_url_with_credentials: CAT, Swap("repoURL: https://", "repoURL: https://me:token@"), At::Edit("");
    sle_availability_of_100: CAT, Swap("availability: 99.9", "availability: 100"), At::Edit("");
    sle_support_response_without_unit: CAT, Swap("supportResponse: 4h", "supportResponse: 4"), At::Edit("");

    // Semantics: what the inventory's schema cannot say.
    duplicate_host_name: INV, Swap("name: oct-03-05-compute", "name: oct-03-04-compute"), At::Edit("");
    mac_used_by_two_hosts: INV, Swap("mac: \"24:6e:96:03:05:a1\"", "mac: \"24:6e:96:03:04:a1\""), At::Edit("");
    mac_used_by_two_hosts_in_other_case: INV, Swap("mac: \"24:6e:96:03:05:a1\"", "mac: \"24:6E:96:03:04:A1\""), At::Edit("");
    boot_mac_of_another_host: INV, Swap("bootMACAddress: \"24:6e:96:03:05:a0\"", "bootMACAddress: \"24:6e:96:03:04:a0\""), At::Edit("");
    mac_used_twice_on_one_host: INV, Swap("mac: \"24:6e:96:03:05:a1\"", "mac: \"24:6e:96:03:05:a0\""), At::Edit("");
    api_vip_outside_machine_network: INV, Swap("apiVIP: 10.10.0.5", "apiVIP: 10.20.0.5"), At::Edit("");
    ingress_vip_equals_api_vip: INV, Swap("ingressVIP: 10.10.0.6", "ingressVIP: 10.10.0.5"), At::Edit("");
    vip_is_a_bmc_address: INV, Swap("ingressVIP: 10.10.0.6", "ingressVIP: 10.10.0.107"), At::Line("//10.10.0.107/");
    host_ip_outside_machine_network: INV, Swap("ip: 10.10.0.207", "ip: 10.11.0.207"), At::Edit("");
    host_ip_of_another_host: INV, Swap("ip: 10.10.0.207", "ip: 10.10.0.206"), At::Edit("");
    host_ip_is_a_bmc_address: INV, Swap("ip: 10.10.0.207", "ip: 10.10.0.107"), At::Edit("");
    overlapping_networks: INV, Swap("serviceNetwork: 172.30.0.0/16", "serviceNetwork: 10.128.0.0/16"), At::Edit("");
    two_control_plane_hosts: INV, Swap("role: control-plane", "role: worker"), At::Line("- name: oct-03-04-compute");

    // Semantics: the catalog.
    duplicate_component_name: CAT, Swap("name: tekton", "name: argocd"), At::Edit("");
    duplicate_sle_service: CAT, Swap("service: Argo CD", "service: Prow"), At::Edit("");
    unknown_builtin_suggests_the_near_miss: CAT, Swap("plugin: builtin:tekton", "plugin: builtin:tekon"), At::Edit("builtin:tekon");
    unknown_builtin_lists_the_builtins: CAT, Swap("plugin: builtin:tekton", "plugin: builtin:flux"), At::Edit("builtin:flux");

    // YAML syntax.
    tab_for_indentation: INV, Swap("  network:\n    machineNetwork", "  network:\n\tmachineNetwork"), At::Edit("\tmachineNetwork");
    unclosed_quote: CAT, Swap("plugin: builtin:prow", "plugin: \"builtin:prow"), At::Edit("\"builtin:prow");
    duplicate_key: INV, Swap("      bootMode: UEFI\n", "      bootMode: UEFI\n      bootMode: legacy\n"), At::Edit("bootMode: legacy");

    // Not a document.
    empty_file: INV, Write(""), At::Top;
    list_instead_of_a_mapping: INV, Write("- apiVersion: opsmith.dev/v1alpha1\n  kind: SiteInventory\n"), At::Top;
    string_instead_of_a_mapping: CAT, Write("AppCatalog\n"), At::Top;
}

/// Breaks the site, validates it, checks where the message points and
/// returns the run's transcript.
fn check(file: &str, change: Change, at: At) -> String {
    let copy = SiteCopy::new();
    let line = apply(&copy, file, &change, &at);
    let before = listing(copy.dir.path());
    let out = copy.run(&["validate", "--site", "site"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "exit status: {err}");
    assert_reported(&err, file, line);
    assert_eq!(
        listing(copy.dir.path()),
        before,
        "validate wrote or changed files"
    );
    copy.transcript(&out)
}

/// Changes `file` in `copy` and returns the line the message must point at.
fn apply(copy: &SiteCopy, file: &str, change: &Change, at: &At) -> usize {
    let original = copy.read(file);
    let (text, edit_start, replacement) = match change {
        Swap(from, to) => {
            let start = original
                .find(from)
                .unwrap_or_else(|| panic!("{file} has no `{from}`"));
            (original.replacen(from, to, 1), start, *to)
        }
        Write(text) => ((*text).to_owned(), 0, *text),
    };
    copy.write(file, &text);
    let offset = match at {
        At::Top => return 1,
        At::Edit(token) => {
            edit_start
                + replacement
                    .find(token)
                    .unwrap_or_else(|| panic!("`{token}` is not in the edit"))
        }
        At::Line(token) => text
            .find(token)
            .unwrap_or_else(|| panic!("{file} has no `{token}`")),
    };
    line_at(&text, offset)
}

/// The 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The line of the last occurrence of `token` in `text`.
fn line_of(text: &str, token: &str) -> usize {
    let offset = text
        .rfind(token)
        .unwrap_or_else(|| panic!("no `{token}` in:\n{text}"));
    line_at(text, offset)
}

/// Asserts that a message points at `site/FILE:LINE:`, and that no message
/// names a library's internals or a bare list index (a guard that holds
/// whatever a snapshot is re-blessed to).
fn assert_reported(err: &str, file: &str, line: usize) {
    let prefix = format!("site/{file}:{line}:");
    assert!(
        err.lines().any(|l| l.starts_with(&prefix)),
        "no message at `{prefix}` in:\n{err}"
    );
    for never in NEVER {
        assert!(
            !err.contains(never),
            "a message says `{never}`, which means nothing to a user:\n{err}"
        );
    }
}

/// Every file and folder under `dir` with its size and modification time:
/// what `validate` must leave as it was.
fn listing(dir: &Path) -> Vec<(String, u64, SystemTime)> {
    let mut files: Vec<_> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.expect("walk the site copy"))
        .map(|e| {
            let meta = e.metadata().expect("stat");
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .into_owned();
            (rel, meta.len(), meta.modified().expect("mtime"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_problem_of_a_file_is_reported_in_one_run() {
    let copy = SiteCopy::new();
    let bad_mac = "mac: \"24:6e:96:03:05:zz\"";
    let bad_role = "role: workr";
    copy.edit(INV, "mac: \"24:6e:96:03:05:a1\"", bad_mac);
    copy.edit(INV, "role: worker", bad_role);
    let text = copy.read(INV);
    let out = copy.run(&["validate", "--site", "site"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_reported(&err, INV, line_of(&text, bad_mac));
    assert_reported(&err, INV, line_of(&text, bad_role));
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn every_semantic_problem_is_reported_in_one_run() {
    let copy = SiteCopy::new();
    let twin = "name: oct-03-04-compute";
    copy.edit(INV, "apiVIP: 10.10.0.5", "apiVIP: 10.20.0.5");
    copy.edit(INV, "name: oct-03-05-compute", twin);
    let text = copy.read(INV);
    let out = copy.run(&["validate", "--site", "site"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_reported(&err, INV, line_of(&text, "apiVIP:"));
    assert_reported(&err, INV, line_of(&text, twin));
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn schema_and_semantic_problems_are_reported_in_one_run() {
    let copy = SiteCopy::new();
    copy.edit(INV, "apiVIP: 10.10.0.5", "apiVIP: 10.20.0.5");
    copy.edit(INV, "storage: 300Gi", "storage: 300GB");
    let text = copy.read(INV);
    let out = copy.run(&["validate", "--site", "site"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_reported(&err, INV, line_of(&text, "apiVIP:"));
    assert_reported(&err, INV, line_of(&text, "300GB"));
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn problems_of_both_files_are_reported_in_one_run() {
    let copy = SiteCopy::new();
    copy.edit(INV, "  hosts:", "  hostz:");
    copy.edit(CAT, "plugin: builtin:tekton", "plugin: builtin:tekon");
    let (inventory, catalog) = (copy.read(INV), copy.read(CAT));
    let out = copy.run(&["validate", "--site", "site"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_reported(&err, INV, line_of(&inventory, "hostz"));
    assert_reported(&err, CAT, line_of(&catalog, "builtin:tekon"));
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn alias_bomb_is_refused_quickly() {
    // Billion laughs: ten aliases per level, 10^10 strings if expanded.
    let mut bomb = String::from("lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let alias = format!("*lol{}", i - 1);
        bomb.push_str(&format!(
            "lol{i}: &lol{i} [{}]\n",
            vec![alias; 10].join(", ")
        ));
    }
    let copy = SiteCopy::new();
    copy.write(INV, &bomb);
    let before = listing(copy.dir.path());
    let started = Instant::now();
    let out = copy.run(&["validate", "--site", "site"]);
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // Refused quickly, at a line that uses aliases, saying why.
    let message = err
        .lines()
        .find(|l| l.starts_with("site/inventory.yaml:"))
        .unwrap_or_else(|| panic!("no message: {err}"));
    let line: usize = message
        .split(':')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a line number");
    let mut wrong = Vec::new();
    if took >= Duration::from_secs(5) {
        wrong.push(format!("refusing it took {took:?}"));
    }
    // The input's line, not the output, is searched here.
    let source = line.checked_sub(1).and_then(|i| bomb.lines().nth(i));
    if !source.is_some_and(|l| l.contains("*lol")) {
        wrong.push(format!("line {line} uses no alias"));
    }
    assert!(wrong.is_empty(), "{}:\n{err}", wrong.join("; "));
    assert_reported(&err, INV, line);
    // Saying that the aliases expand too far.
    insta::assert_snapshot!(copy.transcript(&out));
    assert_eq!(
        listing(copy.dir.path()),
        before,
        "validate wrote or changed files"
    );
}

#[test]
fn file_too_large_is_refused_before_reading() {
    let limit = opsmith_yaml::MAX_INPUT_BYTES as u64;
    let copy = SiteCopy::new();
    // A sparse file: over the limit without writing 64 MiB.
    let file = std::fs::File::create(copy.site().join(INV)).expect("create");
    file.set_len(limit + 1).expect("grow");
    drop(file);
    let before = listing(copy.dir.path());
    let started = Instant::now();
    let out = copy.run(&["validate", "--site", "site"]);
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_reported(&err, INV, 1);
    insta::assert_snapshot!(copy.transcript(&out));
    assert!(
        took < Duration::from_secs(5),
        "refusing a large file took {took:?}"
    );
    assert_eq!(
        listing(copy.dir.path()),
        before,
        "validate wrote or changed files"
    );
}
