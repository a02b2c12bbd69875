//! Hostile and careless input (issue 18): what a pull request can put in
//! the site folder must not make opsmith publish a file from elsewhere, act
//! on the CI runner's log, break out of the reports' Markdown, repeat a
//! credential, or hang.
//!
//! Whole outputs are snapshots; what must never appear (a secret, an escape
//! code, a workflow command) is also searched for, so that no re-blessed
//! snapshot can let it through.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{SiteCopy, mask, opsmith, stderr};

/// A line no real input holds, standing for a secret in a file the site
/// must not be able to publish.
const CANARY: &str = "canary-3f9d1c-not-a-real-secret";

/// Runs `check` as a GitHub Actions presubmit would, with every report, and
/// returns the exit code and everything opsmith wrote anywhere, stream by
/// stream and file by file, to snapshot.
fn check_everywhere(copy: &SiteCopy) -> (Option<i32>, String) {
    let summary = copy.path("step-summary.md");
    let out = opsmith()
        .current_dir(copy.dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["check", "--site", "site", "--out", "out"])
        .args(["--junit", "junit.xml", "--comment", "comment.md"])
        .output()
        .expect("run opsmith");
    let mut all = copy.transcript(&out);
    for file in ["step-summary.md", "junit.xml", "comment.md"] {
        let text = std::fs::read_to_string(copy.path(file)).unwrap_or_default();
        all.push_str(&format!(
            "--- {file}\n{}",
            mask(&text, &[(copy.dir.path(), "TMP")])
        ));
    }
    (out.status.code(), all)
}

fn write_outside(copy: &SiteCopy, name: &str, text: &str) -> std::path::PathBuf {
    let path = copy.path(name);
    std::fs::write(&path, text).expect("write outside the site");
    path
}

fn symlink(target: &Path, link: &Path) {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

#[test]
fn a_symlinked_input_is_refused_without_its_content() {
    // A file outside the site folder that parses as YAML with an error on
    // the line holding the secret, and one that parses as a mapping.
    for secret in [
        format!("root:{CANARY}:19000:0:99999:7:::\n\tx\n"),
        format!("apiVersion: v1\nkind: Secret\ndata:\n  token: {CANARY}\n"),
    ] {
        let copy = SiteCopy::new();
        let outside = write_outside(&copy, "shadow", &secret);
        symlink(&outside, &copy.site().join("inventory.yaml"));
        let (code, all) = check_everywhere(&copy);
        assert_eq!(code, Some(2), "{all}");
        assert!(!all.contains(CANARY), "{all}");
        insta::assert_snapshot!(all);
    }
}

#[test]
fn a_symlink_inside_the_site_folder_is_followed() {
    let copy = SiteCopy::new();
    std::fs::rename(
        copy.site().join("catalog.yaml"),
        copy.site().join("catalog-infra.yaml"),
    )
    .expect("rename");
    symlink(
        Path::new("catalog-infra.yaml"),
        &copy.site().join("catalog.yaml"),
    );
    let out = copy.run(&["validate", "--site", "site"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_file_that_is_not_an_opsmith_document_is_not_quoted() {
    for text in [
        // Not YAML at all: the parse error must not show the line.
        format!("[{CANARY}\n"),
        // A mapping of another kind: not even its keys are repeated.
        format!("apiVersion: v1\nkind: Secret\nstringData:\n  {CANARY}: x\n"),
        // A scalar.
        format!("{CANARY}\n"),
    ] {
        let copy = SiteCopy::new();
        copy.write("catalog.yaml", &text);
        let (code, all) = check_everywhere(&copy);
        assert_eq!(code, Some(2), "{all}");
        assert!(!all.contains(CANARY), "{text}: {all}");
        insta::assert_snapshot!(all);
    }
    // The site's own document still shows its lines.
    let copy = SiteCopy::new();
    copy.edit(
        "inventory.yaml",
        "  baseDomain: example.org",
        "  baseDomain: [example.org",
    );
    let out = copy.run(&["validate", "--site", "site"]);
    insta::assert_snapshot!("the_site_s_own_lines", copy.transcript(&out));
}

/// Runs opsmith, killing it when it has not finished in `limit`.
fn run_with_deadline(copy: &SiteCopy, args: &[&str], limit: Duration) -> Output {
    let mut child = opsmith()
        .current_dir(copy.dir.path())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn opsmith");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("opsmith {args:?} did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn a_fifo_in_place_of_an_input_is_refused_without_waiting() {
    let copy = SiteCopy::new();
    let fifo = copy.site().join("inventory.yaml");
    std::fs::remove_file(&fifo).expect("remove");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let out = run_with_deadline(
        &copy,
        &["validate", "--site", "site"],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&out));
}

fn catalog_with_plugin(copy: &SiteCopy, path: &str) {
    copy.edit(
        "catalog.yaml",
        "plugin: builtin:metal3",
        &format!(
            "plugin: {{ path: \"{path}\", sha256: \"{}\" }}",
            "0".repeat(64)
        ),
    );
}

#[test]
fn a_plugin_path_outside_the_site_folder_is_refused_unread() {
    let mut shown = String::new();
    for path in [
        "/etc/hostname.wasm",
        "../outside.wasm",
        "plugins/../../outside.wasm",
    ] {
        let copy = SiteCopy::new();
        write_outside(&copy, "outside.wasm", CANARY);
        catalog_with_plugin(&copy, path);
        let out = copy.run(&["render", "--site", "site", "--out", "out"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        // Refused for where it is, not for its digest.
        shown.push_str(&format!("=== {path}\n{}", copy.transcript(&out)));
        assert!(!copy.path("out").exists());
    }
    insta::assert_snapshot!(shown);
    // A link inside the folder to a file outside it is refused before reading.
    let copy = SiteCopy::new();
    let outside = write_outside(&copy, "outside.wasm", CANARY);
    symlink(&outside, &copy.site().join("metal3.wasm"));
    catalog_with_plugin(&copy, "metal3.wasm");
    let out = copy.run(&["render", "--site", "site", "--out", "out"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    insta::assert_snapshot!("a_link_to_a_plugin_outside", copy.transcript(&out));
}

/// A host name that carries workflow commands, and a control character.
fn hostile_names(copy: &SiteCopy) {
    copy.edit(
        "inventory.yaml",
        "- name: oct-03-04-compute",
        "- name: \"x\\n::stop-commands::t0k3n\\r::error file=a::forged\\u001b[2J ##[add-mask]y\"",
    );
}

#[test]
fn no_value_reaches_the_log_as_a_workflow_command() {
    let copy = SiteCopy::new();
    hostile_names(&copy);
    let out = opsmith()
        .current_dir(copy.dir.path())
        .env("GITHUB_ACTIONS", "true")
        .args(["validate", "--site", "site"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for line in err.split(['\n', '\r']) {
        let line = line.trim_start();
        assert!(
            !line.starts_with("::") || line.starts_with("::error file=site/"),
            "a value became a workflow command: {line:?} in {err}"
        );
    }
    assert!(!err.contains('\u{1b}'), "{err}");
    // The older syntax, which the runner reads anywhere in a line.
    assert!(!err.contains("##[add-mask]"), "{err}");
    // The value shown escaped.
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn no_value_escapes_the_reports_code_block() {
    let copy = SiteCopy::new();
    copy.edit(
        "inventory.yaml",
        "- name: oct-03-04-compute",
        "- name: \"x\n\n```\n\n## All checks passed\n\n![ok](https://example.org/ok.png)\"",
    );
    let (code, _) = check_everywhere(&copy);
    assert_eq!(code, Some(2));
    let comment = std::fs::read_to_string(copy.path("comment.md")).expect("comment");
    // Whatever the value holds, the listing stays in one code block: no
    // Markdown heading outside it but opsmith's own.
    let mut fence: Option<&str> = None;
    for line in comment.lines() {
        match fence {
            Some(open) if line == open => fence = None,
            Some(_) => {}
            None if line.starts_with("```") => fence = Some(line),
            // Whatever the snapshot below is re-blessed to.
            None => assert!(
                !line.contains("All checks passed") && !line.contains("!["),
                "outside the code block: {line}\n{comment}"
            ),
        }
    }
    assert!(fence.is_none(), "unclosed block:\n{comment}");
    insta::assert_snapshot!(comment);
}

#[test]
fn credentials_in_inputs_are_named_not_repeated() {
    let password = "hunter2-not-real";
    let copy = SiteCopy::new();
    copy.edit(
        "inventory.yaml",
        "address: idrac-virtualmedia://10.10.0.104/",
        &format!("address: idrac-virtualmedia://root:{password}@10.10.0.104/"),
    );
    copy.edit(
        "catalog.yaml",
        "repoURL: https://",
        &format!("repoURL: https://x-access-token:{password}@"),
    );
    let (code, all) = check_everywhere(&copy);
    assert_eq!(code, Some(2), "{all}");
    assert!(!all.contains(password), "{all}");
    insta::assert_snapshot!("credentials_in_urls", all);
    // A password written where none belongs: the key is named, the line shown without it.
    let copy = SiteCopy::new();
    copy.edit(
        "inventory.yaml",
        "        credentialsRef: bmc/oct-03-04-compute",
        &format!("        password: {password}\n        credentialsRef: bmc/oct-03-04-compute"),
    );
    let (code, all) = check_everywhere(&copy);
    assert_eq!(code, Some(2), "{all}");
    assert!(!all.contains(password), "{all}");
    insta::assert_snapshot!("a_password_field", all);
}

#[test]
fn tags_outside_the_core_schema_are_refused_where_they_stand() {
    let copy = SiteCopy::new();
    copy.edit(
        "inventory.yaml",
        "  baseDomain: example.org",
        "  baseDomain: !!python/object:os.system example.org",
    );
    let out = copy.run(&["validate", "--site", "site"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn a_lone_cr_moves_the_line_shown_with_the_line_reported() {
    let copy = SiteCopy::new();
    // An old Mac line end between two comment lines near the top, then an
    // error below it.
    copy.edit("inventory.yaml", "and\n# renders", "and\r# renders");
    copy.edit(
        "inventory.yaml",
        "  baseDomain: example.org",
        "  baseDomainz: example.org",
    );
    let out = copy.run(&["validate", "--site", "site"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // Line 17, and line 17 shown.
    insta::assert_snapshot!(copy.transcript(&out));
}

#[test]
fn the_reports_of_ten_thousand_invalid_hosts_fit_github() {
    let copy = SiteCopy::new();
    let mut text = String::from(
        "apiVersion: opsmith.dev/v1alpha1\nkind: SiteInventory\nmetadata:\n  name: infra\nspec:\n  baseDomain: example.org\n  openshift: { version: \"4.16\" }\n  network:\n    machineNetwork: 10.0.0.0/14\n    clusterNetwork: 10.128.0.0/14\n    serviceNetwork: 172.30.0.0/16\n    apiVIP: 10.0.0.5\n    ingressVIP: 10.0.0.6\n  secretStore: { kind: ClusterSecretStore, name: vault }\n  hosts:\n",
    );
    for i in 0..10_000 {
        let role = if i < 3 { "control-plane" } else { "worker" };
        text.push_str(&format!(
            "    - name: gen-{i}\n      role: {role}\n      hardware: {{ model: R620, memory: 128Gi, storage: 300Gi }}\n      bmc: {{ address: \"ipmi://10.1.{}.{}\", credentialsRef: bmc/gen-{i} }}\n      bootMACAddress: \"24:6e:96:{:02x}:{:02x}:00\"\n      ip: 10.2.{}.{}\n      nicz: bad-{i}\n",
            i / 250,
            i % 250 + 1,
            i / 256,
            i % 256,
            i / 250,
            i % 250 + 1,
        ));
    }
    copy.write("inventory.yaml", &text);
    let (code, _) = check_everywhere(&copy);
    assert_eq!(code, Some(2));
    let comment = std::fs::read_to_string(copy.path("comment.md")).expect("comment");
    let summary = std::fs::read_to_string(copy.path("step-summary.md")).expect("summary");
    assert!(comment.chars().count() < 65_536, "{}", comment.len());
    assert!(summary.len() < 1 << 20, "{}", summary.len());
    // The first problems, then the rest counted by kind.
    insta::assert_snapshot!(comment);
}

#[test]
fn diff_against_a_linked_site_folder_shows_nothing_of_its_target() {
    let copy = SiteCopy::new();
    let secrets = copy.path("secrets");
    std::fs::create_dir_all(&secrets).expect("mkdir");
    std::fs::write(secrets.join("config"), CANARY).expect("write");
    std::fs::create_dir_all(copy.path("manifests")).expect("mkdir");
    symlink(&secrets, &copy.path("manifests/infra"));
    let mut shown = String::new();
    for command in ["diff", "check"] {
        let out = copy.run(&[command, "--site", "site", "--out", "manifests"]);
        let all = copy.transcript(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {all}");
        assert!(!all.contains(CANARY), "{command}: {all}");
        shown.push_str(&format!("=== {command}\n{all}"));
    }
    insta::assert_snapshot!(shown);
}

#[test]
fn a_report_path_a_pull_request_linked_elsewhere_is_replaced_not_written_through() {
    let copy = SiteCopy::new();
    let victim = write_outside(&copy, "victim.txt", CANARY);
    symlink(&victim, &copy.path("comment.md"));
    symlink(&victim, &copy.path("junit.xml"));
    let (code, _) = check_everywhere(&copy);
    assert_eq!(code, Some(1));
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), CANARY);
    for report in ["comment.md", "junit.xml"] {
        let meta = std::fs::symlink_metadata(copy.path(report)).expect("report");
        assert!(meta.is_file(), "{report} is still a link");
    }
}
