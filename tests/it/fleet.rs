//! A fleet (`--fleet DIR`, one folder per site): every site checked, every
//! problem of every site reported together at its file and line, nothing
//! written unless all sites render, each site's tree what rendering it alone
//! gives, and the fleet's provenance listing each site's inputs digest.

use std::path::Path;
use std::process::Output;

use crate::support::{copy_site, mask, opsmith, snapshot, stderr, transcript};

/// A fleet of two copies of the reference site: `fleet/east` (named
/// `infra`, as the reference site) and `fleet/west` (named `west`).
struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    fn new() -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_site(&dir.path().join("fleet/east"));
        copy_site(&dir.path().join("fleet/west"));
        let fleet = Fleet { dir };
        fleet.edit("west/inventory.yaml", "  name: infra ", "  name: west  ");
        fleet
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.path("fleet").join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }

    fn run(&self, args: &[&str]) -> Output {
        opsmith()
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .expect("run opsmith")
    }

    fn transcript(&self, out: &Output) -> String {
        mask(&transcript(out), &[(self.dir.path(), "TMP")])
    }
}

fn provenance_digest(tree: &Path) -> String {
    let text = std::fs::read_to_string(tree.join("opsmith-provenance.yaml")).expect("provenance");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("inputsSha256: "))
        .expect("inputsSha256");
    line.to_owned()
}

#[test]
fn a_fleet_renders_every_site_as_it_renders_alone() {
    let fleet = Fleet::new();
    let out = fleet.run(&["validate", "--fleet", "fleet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).ends_with("fleet: 2 sites valid\n"),
        "{}",
        stderr(&out)
    );

    let out = fleet.run(&["render", "--fleet", "fleet", "--out", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (folder, name) in [("east", "infra"), ("west", "west")] {
        let alone = fleet.run(&[
            "render",
            "--site",
            &format!("fleet/{folder}"),
            "--out",
            &format!("alone-{folder}"),
        ]);
        assert_eq!(alone.status.code(), Some(0), "{}", stderr(&alone));
        assert!(
            snapshot(&fleet.path(&format!("out/{name}")))
                == snapshot(&fleet.path(&format!("alone-{folder}/{name}"))),
            "{folder}: the fleet's tree differs from the site's own"
        );
    }
    let record = std::fs::read_to_string(fleet.path("out/opsmith-fleet.yaml")).expect("record");
    assert_eq!(
        record,
        format!(
            "apiVersion: opsmith.dev/v1alpha1\nkind: FleetProvenance\nopsmithVersion: {}\nsites:\n\
             - name: infra\n  folder: \"east\"\n  inputsSha256: {}\n\
             - name: west\n  folder: \"west\"\n  inputsSha256: {}\n",
            env!("CARGO_PKG_VERSION"),
            provenance_digest(&fleet.path("out/infra")),
            provenance_digest(&fleet.path("out/west")),
        )
    );
    // The two sites differ only in their name, which their digests tell apart.
    assert_ne!(
        provenance_digest(&fleet.path("out/infra")),
        provenance_digest(&fleet.path("out/west"))
    );
}

#[test]
fn every_sites_problems_are_reported_together_and_nothing_is_written() {
    let fleet = Fleet::new();
    fleet.edit(
        "east/inventory.yaml",
        "apiVIP: 10.10.0.5",
        "apiVIP: 10.20.0.5",
    );
    fleet.edit(
        "west/catalog.yaml",
        "plugin: builtin:tekton",
        "plugin: builtin:tekon",
    );
    for args in [
        &["validate", "--fleet", "fleet"][..],
        &["render", "--fleet", "fleet", "--out", "out"][..],
    ] {
        let out = fleet.run(args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(!fleet.path("out").exists(), "nothing is written");
        let err = stderr(&out);
        assert!(err.contains("fleet/east/inventory.yaml:"), "{err}");
        assert!(err.contains("fleet/west/catalog.yaml:"), "{err}");
        insta::assert_snapshot!(
            format!("problems_of_two_sites_{}", args[0]),
            fleet.transcript(&out)
        );
    }
}

#[test]
fn two_sites_of_one_name_are_refused() {
    let fleet = Fleet::new();
    fleet.edit("west/inventory.yaml", "  name: west  ", "  name: infra ");
    let out = fleet.run(&["render", "--fleet", "fleet", "--out", "out"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!fleet.path("out").exists(), "nothing is written");
    insta::assert_snapshot!(fleet.transcript(&out));
}

#[test]
fn a_folder_without_sites_is_no_fleet() {
    let fleet = Fleet::new();
    let out = fleet.run(&["render", "--fleet", "fleet/east/templates", "--out", "out"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!(fleet.transcript(&out));
}
