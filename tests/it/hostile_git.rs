//! `commit`, `diff` and `check` given a careless `--path` (an unset CI
//! variable, a stray `/`) or a branch that a work tree has checked out: real
//! repositories made with the `git` command, checked with it afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::{SiteCopy, rendered_files, stderr};

/// Runs opsmith in the copy's folder with an author set.
fn opsmith(copy: &SiteCopy, args: &[&str]) -> Output {
    crate::support::opsmith()
        .current_dir(copy.dir.path())
        .env("GIT_AUTHOR_NAME", "Site Bot")
        .env("GIT_AUTHOR_EMAIL", "bot@example.org")
        .args(args)
        .output()
        .expect("run opsmith")
}

/// Runs `git -C dir args`, which must succeed; returns its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // Neither the machine's nor the user's git config: the same git everywhere.
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Human")
        .env("GIT_AUTHOR_EMAIL", "human@example.org")
        .env("GIT_COMMITTER_NAME", "Human")
        .env("GIT_COMMITTER_EMAIL", "human@example.org")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A GitOps repository shared with another site: `main` holds a README and
/// `clusters/other`, and is checked out in `dir`.
fn shared_work_tree(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("clusters/other")).expect("mkdir");
    std::fs::write(dir.join("README.md"), "hand-written\n").expect("write");
    std::fs::write(dir.join("clusters/other/app.yaml"), "kind: ConfigMap\n").expect("write");
    git(dir, &["init", "--quiet", "--initial-branch=main"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "--quiet", "-m", "another site"]);
    dir.to_owned()
}

/// The same repository, bare, at `copy/name`.
fn shared_bare(copy: &SiteCopy, name: &str) -> PathBuf {
    let seed = shared_work_tree(&copy.path("seed"));
    git(
        copy.dir.path(),
        &[
            "clone",
            "--quiet",
            "--bare",
            &seed.display().to_string(),
            name,
        ],
    );
    copy.path(name)
}

fn tip(repo: &Path, branch: &str) -> String {
    git(repo, &["rev-parse", &format!("refs/heads/{branch}")])
        .trim()
        .to_owned()
}

fn files_on(repo: &Path, branch: &str) -> Vec<String> {
    git(repo, &["ls-tree", "-r", "--name-only", branch])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What a commit of the site to `clusters/infra` of the shared repository
/// leaves on its branch: the other site's files and the render's.
fn shared_files_with_render(copy: &SiteCopy) -> Vec<String> {
    let mut files = rendered_files(copy);
    files.extend(["README.md".to_owned(), "clusters/other/app.yaml".to_owned()]);
    files.sort();
    files
}

fn status(work_tree: &Path) -> String {
    git(work_tree, &["status", "--porcelain"])
}

/// Every file under the object database: what a refused commit must not add to.
fn object_files(gitdir: &Path) -> Vec<(String, Vec<u8>)> {
    crate::support::snapshot(&gitdir.join("objects"))
}

#[test]
fn a_commit_path_that_is_not_a_folder_below_the_top_is_refused() {
    let copy = SiteCopy::new();
    let repo = shared_bare(&copy, "manifests.git");
    let before = tip(&repo, "main");
    let objects = object_files(&repo);
    let mut shown = String::new();
    for path in [
        "",
        "/",
        "/abs",
        "a/../b",
        "./clusters",
        "x/.GIT/y",
        ".git",
        "clusters/infra/",
    ] {
        let out = opsmith(
            &copy,
            &[
                "commit",
                "--site",
                "site",
                "--repo",
                "manifests.git",
                "--path",
                path,
            ],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "--path {path:?}: {err}");
        shown.push_str(&format!("=== --path {path:?}\n{}", copy.transcript(&out)));
        assert_eq!(tip(&repo, "main"), before, "--path {path:?} moved main");
    }
    // Each says what is wrong with the path.
    insta::assert_snapshot!(shown);
    assert!(
        object_files(&repo) == objects,
        "a refused --path must write nothing"
    );
    let out = opsmith(
        &copy,
        &[
            "commit",
            "--site",
            "site",
            "--repo",
            "manifests.git",
            "--path",
            "clusters/infra",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The other site's files kept, the render added.
    assert_eq!(files_on(&repo, "main"), shared_files_with_render(&copy));
}

#[test]
fn diff_and_check_refuse_the_same_paths() {
    let copy = SiteCopy::new();
    shared_bare(&copy, "manifests.git");
    let mut shown = String::new();
    for command in ["diff", "check"] {
        for path in ["", "/", "a/../b", "x/.git/y"] {
            let out = opsmith(
                &copy,
                &[
                    command,
                    "--site",
                    "site",
                    "--repo",
                    "manifests.git",
                    "--git-ref",
                    "main",
                    "--path",
                    path,
                ],
            );
            let err = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command} --path {path:?}: {err}"
            );
            shown.push_str(&format!(
                "=== {command} --path {path:?}\n{}",
                copy.transcript(&out)
            ));
        }
    }
    insta::assert_snapshot!(shown);
}

#[test]
fn a_commit_to_the_checked_out_branch_updates_the_work_tree() {
    let copy = SiteCopy::new();
    let work = shared_work_tree(&copy.path("manifests"));
    let first = opsmith(&copy, &["commit", "--site", "site", "--repo", "manifests"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(status(&work), "", "the checkout must follow the branch");
    assert_eq!(git(&work, &["rev-list", "--count", "HEAD"]).trim(), "2");
    // The work tree holds exactly the files of the branch, the render among them.
    let mut on_disk: Vec<String> = crate::support::snapshot(&work)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.starts_with(".git/"))
        .collect();
    on_disk.sort();
    let mut committed = files_on(&work, "main");
    committed.sort();
    assert_eq!(on_disk, committed);
    assert!(
        work.join("clusters/infra/opsmith-provenance.yaml")
            .is_file()
    );
    // A change to the site changes the files in the work tree too.
    copy.edit(
        "inventory.yaml",
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    let second = opsmith(&copy, &["commit", "--site", "site", "--repo", "manifests"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(status(&work), "");
    // Exactly what the changed site renders.
    let out = copy.run(&["render", "--site", "site", "--out", "rendered"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        crate::support::snapshot(&work.join("clusters/infra"))
            == crate::support::snapshot(&copy.path("rendered/infra")),
        "the work tree does not hold the new render"
    );
}

#[test]
fn a_checked_out_branch_with_changes_is_refused_and_stays() {
    let copy = SiteCopy::new();
    let work = shared_work_tree(&copy.path("manifests"));
    let before = tip(&work, "main");
    let commit = || opsmith(&copy, &["commit", "--site", "site", "--repo", "manifests"]);
    // A file in the way is found by the checkout, after the new objects are
    // written: an unreferenced pack then stays, for `git gc` to remove.
    // Returns the run's transcript, which names the files that are in the way.
    let refused = |case: &str, writes_nothing: bool| {
        let objects = object_files(&work.join(".git"));
        let out = commit();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        assert_eq!(tip(&work, "main"), before, "{case}: main moved");
        if writes_nothing {
            assert!(
                object_files(&work.join(".git")) == objects,
                "{case}: a refused commit must write nothing"
            );
        }
        copy.transcript(&out)
    };

    // A tracked file changed, not staged.
    std::fs::write(work.join("README.md"), "edited\n").expect("write");
    insta::assert_snapshot!("a_modified_file", refused("a modified file", true));
    assert_eq!(status(&work), " M README.md\n", "the edit must stay");
    git(&work, &["checkout", "--quiet", "--", "README.md"]);

    // A staged change.
    std::fs::write(work.join("NOTES.md"), "staged\n").expect("write");
    git(&work, &["add", "NOTES.md"]);
    insta::assert_snapshot!("a_staged_file", refused("a staged file", true));
    assert_eq!(status(&work), "A  NOTES.md\n", "the index must stay");
    git(&work, &["rm", "--quiet", "--cached", "NOTES.md"]);
    std::fs::remove_file(work.join("NOTES.md")).expect("remove");

    // An untracked file where the render puts one.
    let in_the_way = work.join("clusters/infra/opsmith-provenance.yaml");
    std::fs::create_dir_all(in_the_way.parent().expect("parent")).expect("mkdir");
    std::fs::write(&in_the_way, "mine\n").expect("write");
    insta::assert_snapshot!(
        "an_untracked_file_in_the_way",
        refused("an untracked file in the way", false)
    );
    assert_eq!(
        std::fs::read_to_string(&in_the_way).expect("read"),
        "mine\n"
    );
    assert_eq!(
        status(&work),
        "?? clusters/infra/\n",
        "nothing else may be written"
    );
    std::fs::remove_dir_all(work.join("clusters/infra")).expect("remove");

    // An untracked file elsewhere is no reason to refuse, and stays.
    std::fs::write(work.join("scratch.txt"), "mine\n").expect("write");
    let out = commit();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status(&work), "?? scratch.txt\n");
    assert_ne!(tip(&work, "main"), before);

    // A render that changes nothing is no commit, whatever the checkout holds.
    std::fs::write(work.join("README.md"), "edited again\n").expect("write");
    let current = tip(&work, "main");
    let out = commit();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("nothing_to_commit", copy.transcript(&out));
    assert_eq!(tip(&work, "main"), current);
}

#[test]
fn concurrent_commits_into_a_checkout_leave_it_consistent() {
    let copy = SiteCopy::new();
    let work = shared_work_tree(&copy.path("manifests"));
    let children: Vec<_> = ["clusters/a", "clusters/b", "clusters/c"]
        .into_iter()
        .map(|path| {
            crate::support::opsmith()
                .current_dir(copy.dir.path())
                .env("GIT_AUTHOR_NAME", "Site Bot")
                .env("GIT_AUTHOR_EMAIL", "bot@example.org")
                .args([
                    "commit",
                    "--site",
                    "site",
                    "--repo",
                    "manifests",
                    "--path",
                    path,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut committed = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        match out.status.code() {
            Some(0) => committed += 1,
            // The branch is locked while another commit updates the checkout.
            // Whether one loses that race varies from run to run, so this is
            // no snapshot (which every run would have to produce).
            Some(2) => assert!(
                stderr(&out).contains("cannot lock `main`"),
                "{}",
                stderr(&out)
            ),
            _ => panic!("{}", stderr(&out)),
        }
    }
    assert!(committed >= 1);
    assert_eq!(
        git(&work, &["rev-list", "--count", "main"]).trim(),
        (1 + committed).to_string()
    );
    assert_eq!(status(&work), "", "the checkout must match the branch");
}

#[test]
fn a_branch_checked_out_in_a_linked_work_tree_updates_that_work_tree() {
    let copy = SiteCopy::new();
    let bare = shared_bare(&copy, "manifests.git");
    git(&bare, &["worktree", "add", "--quiet", "../linked", "main"]);
    let linked = copy.path("linked");
    let out = opsmith(
        &copy,
        &["commit", "--site", "site", "--repo", "manifests.git"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status(&linked), "");
    assert!(
        linked
            .join("clusters/infra/opsmith-provenance.yaml")
            .is_file()
    );
    assert!(linked.join("README.md").is_file());
}

#[test]
fn other_branches_and_bare_repositories_commit_as_before() {
    let copy = SiteCopy::new();
    let work = shared_work_tree(&copy.path("manifests"));
    // A dirty checkout of main does not matter to a commit on another branch.
    std::fs::write(work.join("README.md"), "edited\n").expect("write");
    let out = opsmith(
        &copy,
        &[
            "commit",
            "--site",
            "site",
            "--repo",
            "manifests",
            "--branch",
            "deploy",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        status(&work),
        " M README.md\n",
        "main's checkout is untouched"
    );
    assert!(!work.join("clusters/infra").exists());
    // A new branch: the render alone.
    assert_eq!(files_on(&work, "deploy"), rendered_files(&copy));
    assert_eq!(
        git(&work, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );

    let bare = shared_bare(&copy, "manifests.git");
    let before = tip(&bare, "main");
    let out = opsmith(
        &copy,
        &["commit", "--site", "site", "--repo", "manifests.git"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(tip(&bare, "main"), before);
    assert_eq!(files_on(&bare, "main"), shared_files_with_render(&copy));
}
