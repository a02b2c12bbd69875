//! The README's command examples, run by trycmd: each ```console block is a
//! transcript of the real binary (`$ ` a command, `? N` its exit status, then
//! stdout and stderr; `[..]` and `...` elide what varies between runs). After
//! an intended change, `TRYCMD=overwrite cargo test --test readme` rewrites
//! the blocks; review the diff.

use std::path::Path;

#[test]
fn readme_examples_run_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    // The examples run in a scratch folder, so that `render --out` writes
    // nowhere in the repository and paths read as they would for a reader:
    // `site` is a copy of the reference site, `site-with-a-typo` the same with
    // `hosts` misspelt, for the error example.
    let scratch = tempfile::tempdir().expect("scratch folder");
    copy_site(&root.join("site"), &scratch.path().join("site"));
    let typo = scratch.path().join("site-with-a-typo");
    copy_site(&root.join("site"), &typo);
    let inventory = std::fs::read_to_string(typo.join("inventory.yaml")).expect("read inventory");
    assert!(
        inventory.contains("\n  hosts:\n"),
        "the reference site lists `hosts`"
    );
    std::fs::write(
        typo.join("inventory.yaml"),
        inventory.replacen("\n  hosts:\n", "\n  hostz:\n", 1),
    )
    .expect("write inventory");
    // A private cache of its own (tempdir makes it 0700, as opsmith requires),
    // never the user's.
    let cache = tempfile::tempdir().expect("cache folder");

    // trycmd runs a Markdown file's commands in the current folder; this test
    // binary holds this one test, so nothing else depends on it.
    std::env::set_current_dir(scratch.path()).expect("enter the scratch folder");
    let cases = trycmd::TestCases::new();
    cases
        .case(root.join("README.md"))
        .register_bin("opsmith", trycmd::cargo::cargo_bin!("opsmith"))
        .env("OPSMITH_CACHE_DIR", cache.path().display().to_string())
        // What opsmith reads from its environment, emptied (opsmith treats
        // an empty variable as unset): a CI runner's settings would add
        // annotations or colour, or change where plugins come from.
        .env("GITHUB_ACTIONS", "")
        .env("GITHUB_STEP_SUMMARY", "")
        .env("PROW_JOB_ID", "")
        .env("ARTIFACTS", "")
        .env("OPSMITH_COMPILE_BUILTINS", "")
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "0");
    // Before the folders are removed.
    cases.run();
}

/// The reference site's documents and templates.
fn copy_site(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let relative = entry.path().strip_prefix(from).expect("below the site");
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("create site folder");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy site file");
        }
    }
}
