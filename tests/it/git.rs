//! `commit`, `diff --git-ref` and `check` against real git repositories in
//! temporary folders: bare and non-bare, with an upstream remote on disk.

use std::path::Path;
use std::process::Output;

use git2::Repository;

use crate::support::{SiteCopy, rendered_files, stderr, stdout};

/// `text` with opsmith's version masked, for snapshots that show it.
fn mask_version(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

const AUTHOR: [(&str, &str); 2] = [
    ("GIT_AUTHOR_NAME", "Site Bot"),
    ("GIT_AUTHOR_EMAIL", "bot@example.org"),
];

fn run(copy: &SiteCopy, args: &[&str]) -> Output {
    crate::support::opsmith()
        .current_dir(copy.dir.path())
        .envs(AUTHOR)
        .args(args)
        .output()
        .expect("run opsmith")
}

fn head_of(repo: &Path, branch: &str) -> Option<git2::Oid> {
    let repo = Repository::open(repo).expect("open");
    repo.find_reference(&format!("refs/heads/{branch}"))
        .ok()
        .and_then(|r| r.target())
}

fn commit_count(repo: &Path, branch: &str) -> usize {
    let repo = Repository::open(repo).expect("open");
    let mut walk = repo.revwalk().expect("revwalk");
    walk.push_ref(&format!("refs/heads/{branch}"))
        .expect("branch");
    walk.count()
}

/// Paths of every file under `path` at the tip of `branch`.
fn files_at(repo: &Path, branch: &str, path: &str) -> Vec<String> {
    let repo = Repository::open(repo).expect("open");
    let tree = repo
        .revparse_single(&format!("refs/heads/{branch}"))
        .and_then(|o| o.peel_to_tree())
        .expect("tree");
    let mut out = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) && dir.starts_with(path) {
            out.push(format!("{dir}{}", entry.name().unwrap_or_default()));
        }
        git2::TreeWalkResult::Ok
    })
    .expect("walk");
    out.sort();
    out
}

#[test]
fn commit_writes_exactly_the_rendered_tree_then_nothing() {
    for bare in [true, false] {
        let copy = SiteCopy::new();
        let repo_dir = copy.path("manifests");
        if bare {
            Repository::init_bare(&repo_dir).expect("init");
        } else {
            Repository::init(&repo_dir).expect("init");
        }
        let first = run(&copy, &["commit", "--site", "site", "--repo", "manifests"]);
        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        let gitdir = if bare {
            repo_dir.clone()
        } else {
            repo_dir.join(".git")
        };
        assert_eq!(
            files_at(&gitdir, "main", "clusters/infra/"),
            rendered_files(&copy)
        );
        assert_eq!(commit_count(&gitdir, "main"), 1);
        // One pack, no loose objects.
        let loose = walkdir::WalkDir::new(gitdir.join("objects"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file() && !e.path().to_string_lossy().contains("/pack/"))
            .count();
        assert_eq!(loose, 0, "objects must go into a pack");
        let message = Repository::open(&gitdir)
            .and_then(|r| {
                r.find_commit(head_of(&gitdir, "main").expect("head"))
                    .map(|c| c.message().unwrap_or_default().to_owned())
            })
            .expect("message");
        // The trailers: inputs digest, each plugin, opsmith's version.
        insta::assert_snapshot!(
            "commit_message",
            mask_version(&crate::support::mask(&message, &[]))
        );
        // Every component's plugin, by the digest the provenance records.
        let plugins: Vec<&str> = message
            .lines()
            .filter_map(|l| l.strip_prefix("Opsmith-Plugin: "))
            .collect();
        assert_eq!(plugins.len(), 9, "{message}");
        for plugin in plugins {
            let digest = plugin.rsplit_once(" source-sha256:").map(|(_, d)| d);
            assert!(
                digest.is_some_and(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())),
                "{plugin}"
            );
        }
        let second = run(&copy, &["commit", "--site", "site", "--repo", "manifests"]);
        assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
        insta::assert_snapshot!("nothing_to_commit", copy.transcript(&second));
        assert_eq!(commit_count(&gitdir, "main"), 1);
    }
}

#[test]
fn a_changed_input_makes_one_commit_with_only_the_changed_files() {
    let copy = SiteCopy::new();
    Repository::init_bare(copy.path("manifests.git")).expect("init");
    let first = run(
        &copy,
        &[
            "commit",
            "--site",
            "site",
            "--repo",
            "manifests.git",
            "--branch",
            "deploy",
        ],
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    copy.edit(
        "inventory.yaml",
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    let second = run(
        &copy,
        &[
            "commit",
            "--site",
            "site",
            "--repo",
            "manifests.git",
            "--branch",
            "deploy",
            "-m",
            "Verify the first BMC's certificate",
        ],
    );
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let gitdir = copy.path("manifests.git");
    assert_eq!(commit_count(&gitdir, "deploy"), 2);
    let repo = Repository::open(&gitdir).expect("open");
    let head = repo
        .find_commit(head_of(&gitdir, "deploy").expect("head"))
        .expect("commit");
    assert!(
        head.message()
            .unwrap_or_default()
            .starts_with("Verify the first BMC's certificate\n\n")
    );
    let diff = repo
        .diff_tree_to_tree(
            Some(&head.parent(0).expect("parent").tree().expect("tree")),
            Some(&head.tree().expect("tree")),
            None,
        )
        .expect("diff");
    let mut changed: Vec<String> = diff
        .deltas()
        .map(|d| {
            d.new_file()
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        [
            "clusters/infra/baremetal-hosts/openshift-machine-api/baremetalhost-oct-03-04-compute.yaml",
            "clusters/infra/day0/install-config/install-config.yaml",
            "clusters/infra/opsmith-provenance.yaml",
        ]
    );
}

#[test]
fn commit_keeps_the_rest_of_the_repository() {
    let copy = SiteCopy::new();
    let repo = Repository::init(copy.path("manifests")).expect("init");
    std::fs::write(copy.path("manifests/README.md"), "hand-written\n").expect("write");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new("README.md")).expect("add");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("tree");
    let sig = git2::Signature::now("Human", "human@example.org").expect("sig");
    repo.commit(Some("refs/heads/main"), &sig, &sig, "readme", &tree, &[])
        .expect("commit");
    let out = run(&copy, &["commit", "--site", "site", "--repo", "manifests"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let gitdir = copy.path("manifests/.git");
    let mut expected = rendered_files(&copy);
    expected.push("README.md".to_owned());
    expected.sort();
    assert_eq!(files_at(&gitdir, "main", ""), expected);
    assert_eq!(commit_count(&gitdir, "main"), 2);
}

#[test]
fn concurrent_commits_are_both_safe() {
    let copy = SiteCopy::new();
    Repository::init_bare(copy.path("manifests.git")).expect("init");
    let spawn = |branch_path: &str| {
        crate::support::opsmith()
            .current_dir(copy.dir.path())
            .envs(AUTHOR)
            .args([
                "commit",
                "--site",
                "site",
                "--repo",
                "manifests.git",
                "--path",
                branch_path,
            ])
            .spawn()
            .expect("spawn")
    };
    let children: Vec<_> = ["clusters/a", "clusters/b", "clusters/c"]
        .into_iter()
        .map(spawn)
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0));
    }
    let gitdir = copy.path("manifests.git");
    // Three commits on one line of history, none lost.
    assert_eq!(commit_count(&gitdir, "main"), 3);
    for folder in ["clusters/a/", "clusters/b/", "clusters/c/"] {
        assert!(
            !files_at(&gitdir, "main", folder).is_empty(),
            "{folder} lost"
        );
    }
}

#[test]
fn push_refuses_a_remote_that_moved_on() {
    let copy = SiteCopy::new();
    let upstream = Repository::init_bare(copy.path("upstream.git")).expect("init");
    let work = Repository::init(copy.path("work")).expect("init");
    work.remote("origin", copy.path("upstream.git").to_str().expect("utf-8"))
        .expect("remote");
    let first = run(
        &copy,
        &[
            "commit", "--site", "site", "--repo", "work", "--push", "origin",
        ],
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let pushed = head_of(&copy.path("upstream.git"), "main").expect("pushed");
    assert_eq!(Some(pushed), head_of(&copy.path("work/.git"), "main"));
    // Someone else commits to the remote.
    let sig = git2::Signature::now("Other", "other@example.org").expect("sig");
    let parent = upstream.find_commit(pushed).expect("parent");
    let theirs = upstream
        .commit(
            Some("refs/heads/main"),
            &sig,
            &sig,
            "their change",
            &parent.tree().expect("tree"),
            &[&parent],
        )
        .expect("commit");
    copy.edit(
        "inventory.yaml",
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    let second = run(
        &copy,
        &[
            "commit", "--site", "site", "--repo", "work", "--push", "origin",
        ],
    );
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    insta::assert_snapshot!(copy.transcript(&second));
    assert_eq!(
        head_of(&copy.path("upstream.git"), "main"),
        Some(theirs),
        "the remote must keep their commit"
    );
    assert_eq!(
        commit_count(&copy.path("work/.git"), "main"),
        2,
        "the local commit stays for a retry"
    );
}

#[test]
fn diff_against_a_git_ref_exits_0_1_2() {
    let copy = SiteCopy::new();
    Repository::init_bare(copy.path("m.git")).expect("init");
    assert_eq!(
        run(&copy, &["commit", "--site", "site", "--repo", "m.git"])
            .status
            .code(),
        Some(0)
    );
    let same = run(
        &copy,
        &[
            "diff",
            "--site",
            "site",
            "--repo",
            "m.git",
            "--git-ref",
            "main",
        ],
    );
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    copy.edit(
        "inventory.yaml",
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    let differs = run(
        &copy,
        &[
            "diff",
            "--site",
            "site",
            "--repo",
            "m.git",
            "--git-ref",
            "main",
        ],
    );
    assert_eq!(differs.status.code(), Some(1), "{}", stderr(&differs));
    // Plain: no colour when not on a terminal.
    insta::assert_snapshot!(copy.transcript(&differs));
    let missing = run(
        &copy,
        &[
            "diff",
            "--site",
            "site",
            "--repo",
            "m.git",
            "--git-ref",
            "no-such-branch",
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&missing));
}

#[test]
fn diff_against_a_folder() {
    let copy = SiteCopy::new();
    assert_eq!(
        copy.run(&["render", "--site", "site", "--out", "out"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        copy.run(&["diff", "--site", "site", "--out", "out"])
            .status
            .code(),
        Some(0)
    );
    copy.edit(
        "inventory.yaml",
        "    - name: oct-03-11-compute",
        "    - name: oct-03-12-compute",
    );
    let out = copy.run(&["diff", "--site", "site", "--out", "out"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(copy.transcript(&out));
}

/// A site checkout with its rendered tree committed, as a presubmit sees it.
pub(crate) fn checkout_with_committed_tree() -> SiteCopy {
    let copy = SiteCopy::new();
    Repository::init(copy.dir.path()).expect("init");
    assert_eq!(
        run(&copy, &["commit", "--site", "site", "--repo", "."])
            .status
            .code(),
        Some(0)
    );
    copy
}

#[test]
fn check_annotates_input_errors_for_github_and_reports_junit_for_prow() {
    let copy = checkout_with_committed_tree();
    copy.edit("inventory.yaml", "  hosts:", "  hostz:");
    let artifacts = copy.path("artifacts");
    let out = crate::support::opsmith()
        .current_dir(copy.dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("PROW_JOB_ID", "123")
        .env("ARTIFACTS", &artifacts)
        .args(["check", "--site", "site", "--git-ref", "main"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // The errors, then the same as `::error` annotations.
    insta::assert_snapshot!(copy.transcript(&out));
    let xml = std::fs::read_to_string(artifacts.join("junit_opsmith.xml"))
        .expect("junit under $ARTIFACTS");
    let doc = roxmltree::Document::parse(&xml).expect("parses");
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure");
    assert_eq!(
        failure.parent().and_then(|p| p.attribute("name")),
        Some("validation")
    );
}

/// A plugin that fails marks its own component in JUnit, with its own error
/// (not the whole run's text); the other components are skipped.
#[test]
fn check_marks_the_failing_component_in_junit() {
    let copy = SiteCopy::new();
    copy.edit(
        "catalog.yaml",
        "plugin: builtin:metal3",
        "plugin: builtin:metal3\n      limits: { fuel: 1000 }",
    );
    copy.edit(
        "catalog.yaml",
        "plugin: builtin:tekton",
        "plugin: builtin:tekton\n      limits: { fuel: 1000 }",
    );
    let out = run(&copy, &["check", "--site", "site", "--junit", "junit.xml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let xml = std::fs::read_to_string(copy.path("junit.xml")).expect("junit");
    roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    // Two errors: metal3's and tekton's, each in its own test case.
    insta::assert_snapshot!(xml);
}

/// A rendered site whose inventory has changed since: `diff` has something
/// to colour.
fn changed_site_for_colours() -> SiteCopy {
    let copy = SiteCopy::new();
    assert_eq!(
        run(&copy, &["render", "--site", "site", "--out", "out"])
            .status
            .code(),
        Some(0)
    );
    copy.edit(
        "inventory.yaml",
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    copy
}

/// opsmith `args` in `copy`, with exactly the colour variables of `env`.
fn run_with_colour_env(copy: &SiteCopy, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = crate::support::opsmith();
    command
        .current_dir(copy.dir.path())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run opsmith")
}

/// `--color auto` (the default) follows the colour conventions: piped
/// output is plain, CLICOLOR_FORCE colours it, NO_COLOR wins over both.
#[test]
fn diff_colours_follow_no_color_and_clicolor_force() {
    let copy = changed_site_for_colours();
    let diff = |env: &[(&str, &str)]| {
        let out = run_with_colour_env(&copy, env, &["diff", "--site", "site", "--out", "out"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        stdout(&out)
    };
    let plain = diff(&[]);
    insta::assert_snapshot!("piped_output_is_plain", plain);
    let forced = diff(&[("CLICOLOR_FORCE", "1")]);
    // The same lines, coloured (the snapshot holds the escape codes).
    insta::assert_snapshot!("clicolor_force_colours_it", forced);
    assert_eq!(
        diff(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]),
        plain,
        "NO_COLOR wins"
    );
}

/// `--color`, a global option, decides for error messages as for diffs, over
/// the environment.
#[test]
fn color_option_decides_for_errors_and_diffs() {
    let copy = changed_site_for_colours();
    let opsmith = |env: &[(&str, &str)], args: &[&str]| run_with_colour_env(&copy, env, args);
    let diff = ["diff", "--site", "site", "--out", "out"];
    let plain = stdout(&opsmith(&[], &diff));
    let always = opsmith(
        &[("NO_COLOR", "1")],
        &[&["--color", "always"][..], &diff].concat(),
    );
    assert_eq!(
        stdout(&always),
        stdout(&opsmith(&[("CLICOLOR_FORCE", "1")], &diff)),
        "--color always colours as CLICOLOR_FORCE does, NO_COLOR or not"
    );
    assert_ne!(stdout(&always), plain);
    let never = [&diff[..], &["--color", "never"]].concat();
    assert_eq!(stdout(&opsmith(&[("CLICOLOR_FORCE", "1")], &never)), plain);

    copy.edit("catalog.yaml", "builtin:metal3", "builtin:metal4");
    let validate = ["validate", "--site", "site"];
    let plain_error = opsmith(&[], &validate);
    assert_eq!(plain_error.status.code(), Some(2));
    let coloured_error = opsmith(&[], &[&validate[..], &["--color", "always"]].concat());
    assert_eq!(coloured_error.status.code(), Some(2));
    insta::assert_snapshot!("error_coloured_with_color_always", stderr(&coloured_error));
    assert_eq!(
        stderr(&opsmith(
            &[("CLICOLOR_FORCE", "1")],
            &[&validate[..], &["--color", "never"]].concat()
        )),
        stderr(&plain_error),
        "--color never wins over CLICOLOR_FORCE"
    );
}
