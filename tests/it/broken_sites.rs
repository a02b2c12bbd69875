//! Broken sites: the reference site with one defect each, run through
//! `opsmith validate`. Every defect must end with exit status 2, a message
//! at the defect's `file:line:` that says what is wrong (and, for a near
//! miss, what was meant), and nothing written to the site's folder.
//!
//! Expected lines are computed from the edited text, never written down as
//! numbers, so the cases keep working when the reference site changes.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use crate::support::{SiteCopy, stderr};

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

/// One broken site: `file` changed by `change`; the message at `at` holds every one of `words`.
macro_rules! broken_sites {
    ($($name:ident: $file:expr, $change:expr, $at:expr, $words:expr;)*) => {$(
        #[test]
        fn $name() {
            check($file, $change, $at, $words);
        }
    )*};
}

broken_sites! {
    // Schema: the shape of the inventory.
    unknown_field_suggests_the_near_miss: INV, Swap("  hosts:", "  hostz:"), At::Edit("hostz"), &["unknown field `hostz`, did you mean `hosts`?"];
    missing_required_field: INV, Swap("  baseDomain: example.org\n", ""), At::Line("spec:"), &["missing required field `baseDomain` in `spec`"];
    missing_required_field_of_a_host: INV, Swap("      role: control-plane", ""), At::Line("- name: oct-03-04-compute"), &["missing required field `role`"];
    wrong_type: INV, Swap("version: \"4.16\"", "version: 4.16"), At::Edit("4.16"), &["expected a string, found the number `4.16`"];
    yaml_1_1_boolean_is_a_string: INV, Swap("disableCertificateVerification: true", "disableCertificateVerification: yes"), At::Edit("yes"), &["expected a boolean, found `yes`"];
    bad_mac: INV, Swap("mac: \"24:6e:96:03:05:a1\"", "mac: \"24:6e:96:03:05:zz\""), At::Edit(""), &["`24:6e:96:03:05:zz` is not a MAC address", "six pairs of hex digits"];
    bad_cidr: INV, Swap("machineNetwork: 10.10.0.0/24", "machineNetwork: 10.10.0.0/33"), At::Edit(""), &["`10.10.0.0/33` is not valid here", "network in CIDR notation"];
    bad_vip: INV, Swap("apiVIP: 10.10.0.5", "apiVIP: 10.10.0.256"), At::Edit(""), &["`10.10.0.256` is not valid here", "IPv4 or IPv6 address"];
    bad_host_ip: INV, Swap("ip: 10.10.0.207", "ip: 10.10.0"), At::Edit(""), &["`10.10.0` is not valid here", "IPv4 or IPv6 address"];
    bad_host_name: INV, Swap("name: oct-03-05-compute", "name: Oct_03_05"), At::Edit(""), &["`Oct_03_05` is not an RFC 1123 DNS label", "lowercase letters, digits and '-'"];
    bad_quantity: INV, Swap("storage: 300Gi", "storage: 300GB"), At::Edit(""), &["`300GB` is not a Kubernetes quantity", "128Gi"];
    unknown_bmc_scheme: INV, Swap("address: idrac-virtualmedia://10.10.0.105", "address: drac://10.10.0.105"), At::Edit(""), &["`drac://10.10.0.105/", "is not a metal3 BMC address", "Schemes: ipmi"];
    bad_role_suggests_the_near_miss: INV, Swap("role: worker", "role: workr"), At::Edit(""), &["`workr` is not allowed: expected one of `control-plane`, `worker` (did you mean `worker`?)"];
    wrong_kind: INV, Swap("kind: SiteInventory", "kind: SiteInventroy"), At::Edit(""), &["`SiteInventroy`", "expected `SiteInventory`"];
    catalog_in_place_of_the_inventory: INV, Swap("kind: SiteInventory", "kind: AppCatalog"), At::Edit(""), &["`AppCatalog`", "expected `SiteInventory`"];
    unknown_api_version: INV, Swap("apiVersion: opsmith.dev/v1alpha1", "apiVersion: opsmith.dev/v1"), At::Edit(""), &["unknown apiVersion `opsmith.dev/v1`: expected `opsmith.dev/v1alpha1`"];
    inline_bmc_password: INV, Swap("credentialsRef: bmc/oct-03-05-compute", "credentialsRef: bmc/oct-03-05-compute\n        password: calvin"), At::Edit("password"), &["BMC credentials must not be written in the inventory", "`password`", "credentialsRef"];
    no_hosts: INV, Swap("  hosts:\n", "  hosts: []\n  retired:\n"), At::Edit("[]"), &["expected at least 1 item"];

    // Schema: the shape of the catalog.
    catalog_unknown_field: CAT, Swap("  components:", "  component:"), At::Edit("component"), &["unknown field `component`, did you mean `components`?"];
    plugin_neither_builtin_nor_file: CAT, Swap("plugin: builtin:prow", "plugin: prow"), At::Edit("prow"), &["`prow` is not valid here: expected a built-in plugin, builtin:<name>, or a WebAssembly component file"];
    gitops_path_into_git_s_folder: CAT, Swap("path: clusters/infra", "path: clusters/.Git/infra"), At::Edit("clusters"), &["`clusters/.Git/infra` has a `.Git` segment: that is git's own folder"];
    repo_url_with_credentials: CAT, Swap("repoURL: https://", "repoURL: https://me:token@"), At::Edit(""), &["`repoURL` holds credentials in its URL", "no credentials"];

    // Semantics: what the inventory's schema cannot say.
    duplicate_host_name: INV, Swap("name: oct-03-05-compute", "name: oct-03-04-compute"), At::Edit(""), &["duplicate host name `oct-03-04-compute`: already used at line"];
    mac_used_by_two_hosts: INV, Swap("mac: \"24:6e:96:03:05:a1\"", "mac: \"24:6e:96:03:04:a1\""), At::Edit(""), &["MAC address `24:6e:96:03:04:a1` is already used by host `oct-03-04-compute` at line"];
    mac_used_by_two_hosts_in_other_case: INV, Swap("mac: \"24:6e:96:03:05:a1\"", "mac: \"24:6E:96:03:04:A1\""), At::Edit(""), &["MAC address `24:6e:96:03:04:a1` is already used by host `oct-03-04-compute`"];
    boot_mac_of_another_host: INV, Swap("bootMACAddress: \"24:6e:96:03:05:a0\"", "bootMACAddress: \"24:6e:96:03:04:a0\""), At::Edit(""), &["MAC address `24:6e:96:03:04:a0` is already used by host `oct-03-04-compute`"];
    mac_used_twice_on_one_host: INV, Swap("mac: \"24:6e:96:03:05:a1\"", "mac: \"24:6e:96:03:05:a0\""), At::Edit(""), &["MAC address `24:6e:96:03:05:a0` is used twice on host `oct-03-05-compute` (first at line"];
    api_vip_outside_machine_network: INV, Swap("apiVIP: 10.10.0.5", "apiVIP: 10.20.0.5"), At::Edit(""), &["apiVIP `10.20.0.5` is outside machineNetwork `10.10.0.0/24`"];
    ingress_vip_equals_api_vip: INV, Swap("ingressVIP: 10.10.0.6", "ingressVIP: 10.10.0.5"), At::Edit(""), &["ingressVIP `10.10.0.5` is the same address as apiVIP: they must differ"];
    vip_is_a_bmc_address: INV, Swap("ingressVIP: 10.10.0.6", "ingressVIP: 10.10.0.107"), At::Line("//10.10.0.107/"), &["BMC address `10.10.0.107` of host `oct-03-07-compute` is already the ingressVIP"];
    host_ip_outside_machine_network: INV, Swap("ip: 10.10.0.207", "ip: 10.11.0.207"), At::Edit(""), &["host address `10.11.0.207` of `oct-03-07-compute` is outside machineNetwork `10.10.0.0/24`"];
    host_ip_of_another_host: INV, Swap("ip: 10.10.0.207", "ip: 10.10.0.206"), At::Edit(""), &["host address `10.10.0.206` of `oct-03-07-compute` is already the address of host `oct-03-06-compute`"];
    host_ip_is_a_bmc_address: INV, Swap("ip: 10.10.0.207", "ip: 10.10.0.107"), At::Edit(""), &["host address `10.10.0.107` of `oct-03-07-compute` is already the BMC address of host `oct-03-07-compute`"];
    overlapping_networks: INV, Swap("serviceNetwork: 172.30.0.0/16", "serviceNetwork: 10.128.0.0/16"), At::Edit(""), &["serviceNetwork `10.128.0.0/16` overlaps clusterNetwork `10.128.0.0/14`: the networks must be disjoint"];
    two_control_plane_hosts: INV, Swap("role: control-plane", "role: worker"), At::Line("- name: oct-03-04-compute"), &["2 hosts have role `control-plane`; OpenShift 4.16 installs with 1 or 3 control-plane nodes"];

    // Semantics: the catalog.
    duplicate_component_name: CAT, Swap("name: tekton", "name: argocd"), At::Edit(""), &["duplicate component name `argocd`: already used at line"];
    unknown_builtin_suggests_the_near_miss: CAT, Swap("plugin: builtin:tekton", "plugin: builtin:tekon"), At::Edit("builtin:tekon"), &["unknown built-in plugin `builtin:tekon`, did you mean `builtin:tekton`?"];
    unknown_builtin_lists_the_builtins: CAT, Swap("plugin: builtin:tekton", "plugin: builtin:flux"), At::Edit("builtin:flux"), &["unknown built-in plugin `builtin:flux`: built-ins are", "`builtin:metal3`"];

    // YAML syntax.
    tab_for_indentation: INV, Swap("  network:\n    machineNetwork", "  network:\n\tmachineNetwork"), At::Edit("\tmachineNetwork"), &["tab", "indentation"];
    unclosed_quote: CAT, Swap("plugin: builtin:prow", "plugin: \"builtin:prow"), At::Edit("\"builtin:prow"), &["unclosed quote"];
    duplicate_key: INV, Swap("      bootMode: UEFI\n", "      bootMode: UEFI\n      bootMode: legacy\n"), At::Edit("bootMode: legacy"), &["duplicate", "bootMode"];

    // Not a document.
    empty_file: INV, Write(""), At::Top, &["file is empty: expected a YAML mapping with `apiVersion`, `kind`, `metadata` and `spec`"];
    list_instead_of_a_mapping: INV, Write("- apiVersion: opsmith.dev/v1alpha1\n  kind: SiteInventory\n"), At::Top, &["expected a mapping with `apiVersion`, `kind`, `metadata` and `spec`, found a list"];
    string_instead_of_a_mapping: CAT, Write("AppCatalog\n"), At::Top, &["expected a mapping", "found a string"];
}

/// Breaks the site, validates it and checks what was reported.
fn check(file: &str, change: Change, at: At, words: &[&str]) {
    let copy = SiteCopy::new();
    let line = apply(&copy, file, &change, &at);
    let before = listing(copy.dir.path());
    let out = copy.run(&["validate", "--site", "site"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "exit status: {err}");
    assert_reported(&err, file, line, words);
    assert_eq!(
        listing(copy.dir.path()),
        before,
        "validate wrote or changed files"
    );
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

/// Asserts that a message at `site/FILE:LINE:` holds every one of `words`,
/// and that no message names a library's internals or a bare list index.
fn assert_reported(err: &str, file: &str, line: usize, words: &[&str]) {
    let prefix = format!("site/{file}:{line}:");
    let messages: Vec<&str> = err.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert!(!messages.is_empty(), "no message at `{prefix}` in:\n{err}");
    assert!(
        messages.iter().any(|m| words.iter().all(|w| m.contains(w))),
        "no message at `{prefix}` says all of {words:?}:\n{err}"
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
    assert_reported(&err, INV, line_of(&text, bad_mac), &["`24:6e:96:03:05:zz`"]);
    assert_reported(&err, INV, line_of(&text, bad_role), &["`workr`"]);
    assert!(err.contains("2 problems found"), "{err}");
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
    assert_reported(
        &err,
        INV,
        line_of(&text, "apiVIP:"),
        &["apiVIP `10.20.0.5` is outside"],
    );
    assert_reported(&err, INV, line_of(&text, twin), &["duplicate host name"]);
    assert!(err.contains("2 problems found"), "{err}");
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
    assert_reported(
        &err,
        INV,
        line_of(&text, "apiVIP:"),
        &["apiVIP `10.20.0.5` is outside"],
    );
    assert_reported(
        &err,
        INV,
        line_of(&text, "300GB"),
        &["is not a Kubernetes quantity"],
    );
    assert!(err.contains("2 problems found"), "{err}");
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
    assert_reported(&err, INV, line_of(&inventory, "hostz"), &["`hostz`"]);
    assert_reported(
        &err,
        CAT,
        line_of(&catalog, "builtin:tekon"),
        &["`builtin:tekon`"],
    );
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
    let source = line.checked_sub(1).and_then(|i| bomb.lines().nth(i));
    if !source.is_some_and(|l| l.contains("*lol")) {
        wrong.push(format!("line {line} uses no alias"));
    }
    if !message.to_lowercase().contains("alias") {
        wrong.push("the message should say that the aliases expand too far".to_owned());
    }
    if let Some(never) = NEVER.iter().find(|n| err.contains(**n)) {
        wrong.push(format!(
            "the message shows the YAML library's internals (`{never}`)"
        ));
    }
    assert!(wrong.is_empty(), "{}:\n{err}", wrong.join("; "));
    assert_eq!(
        listing(copy.dir.path()),
        before,
        "validate wrote or changed files"
    );
}

#[test]
fn file_too_large_is_refused_before_reading() {
    let limit = opsmith::load::yaml::MAX_INPUT_BYTES as u64;
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
    let words = format!("file is {} bytes; the limit is {limit} bytes", limit + 1);
    assert_reported(&err, INV, 1, &[&words]);
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
