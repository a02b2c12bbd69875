//! The output folder in a hostile or careless state: links and hard links
//! in the tree, staging folders left by a killed render, a render running
//! beside another, and `--out` pointing somewhere it must not write.
//! See: #18 (items 5, 9 and 12).

use std::fs;
use std::io::BufRead as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, SystemTime};

use crate::support::{SiteCopy, snapshot, stderr};

const LAST_HOST_FILE: &str =
    "out/infra/baremetal-hosts/openshift-machine-api/baremetalhost-oct-03-11-compute.yaml";

fn render(copy: &SiteCopy) -> Output {
    copy.run(&["render", "--site", "site", "--out", "out"])
}

fn render_ok(copy: &SiteCopy) {
    let result = render(copy);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
}

/// Staging folders of any site in `out`.
fn leftovers(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(out)
        .expect("list out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') && name.contains(".opsmith-"))
        .collect();
    names.sort();
    names
}

/// A file outside the output tree, as a credentials file would be.
fn outside_file(copy: &SiteCopy, name: &str) -> PathBuf {
    let path = copy.path(name);
    fs::write(&path, "content that must stay out of the tree\n").expect("write outside file");
    path
}

fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::open(path)
        .and_then(|f| f.set_modified(time))
        .expect("set mtime");
}

fn mtime(path: &Path) -> SystemTime {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime")
}

fn long_ago(days: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(days * 86_400)
}

// Item 5: what opsmith did not write is kept as it is, not copied.

#[test]
fn issue_18_a_foreign_symlink_stays_a_symlink() {
    let copy = SiteCopy::new();
    render_ok(&copy);
    let outside = outside_file(&copy, "git-credentials");
    let link = copy.path("out/infra/notes.txt");
    symlink(&outside, &link).expect("link");
    render_ok(&copy);
    assert!(
        fs::symlink_metadata(&link)
            .expect("kept")
            .file_type()
            .is_symlink(),
        "the link became a file"
    );
    assert_eq!(fs::read_link(&link).expect("read link"), outside);
    let secret = fs::read(&outside).expect("read outside");
    assert!(
        !snapshot(&copy.path("out"))
            .iter()
            .any(|(_, bytes)| *bytes == secret),
        "the link's target was copied into the tree"
    );
}

#[test]
fn issue_18_a_foreign_folder_symlink_is_kept_and_not_followed() {
    let copy = SiteCopy::new();
    render_ok(&copy);
    let elsewhere = copy.path("elsewhere");
    fs::create_dir(&elsewhere).expect("mkdir");
    fs::write(elsewhere.join("inside.txt"), "inside\n").expect("write");
    let link = copy.path("out/infra/docs");
    symlink(&elsewhere, &link).expect("link");
    let result = render(&copy);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    assert!(
        fs::symlink_metadata(&link)
            .expect("kept")
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_link(&link).expect("read link"), elsewhere);
    assert_eq!(
        fs::read_to_string(elsewhere.join("inside.txt")).expect("untouched"),
        "inside\n"
    );
    // "kept 1 files": the walk did not go into the linked folder.
    insta::assert_snapshot!(copy.transcript(&result));
}

#[test]
fn issue_18_a_foreign_hard_link_keeps_its_inode() {
    let copy = SiteCopy::new();
    render_ok(&copy);
    let outside = outside_file(&copy, "shared.txt");
    let inside = copy.path("out/infra/shared.txt");
    fs::hard_link(&outside, &inside).expect("hard link");
    render_ok(&copy);
    let inside_meta = fs::metadata(&inside).expect("kept");
    let outside_meta = fs::metadata(&outside).expect("outside");
    assert_eq!(
        inside_meta.ino(),
        outside_meta.ino(),
        "the hard link was split"
    );
    // The old tree's link is gone with the old tree.
    assert_eq!(outside_meta.nlink(), 2);
}

#[test]
fn issue_18_foreign_files_and_folders_keep_their_mtime_and_mode() {
    let copy = SiteCopy::new();
    render_ok(&copy);
    let folder = copy.path("out/infra/runbooks");
    fs::create_dir(&folder).expect("mkdir");
    let file = folder.join("reboot.md");
    fs::write(&file, "# reboot\n").expect("write");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).expect("chmod");
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o750)).expect("chmod");
    set_mtime(&file, long_ago(11_000));
    set_mtime(&folder, long_ago(12_000));
    render_ok(&copy);
    assert_eq!(mtime(&file), long_ago(11_000));
    assert_eq!(mtime(&folder), long_ago(12_000));
    let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o7777;
    assert_eq!(mode(&file), 0o640);
    assert_eq!(mode(&folder), 0o750);
}

/// Passed before the fix too: a foreign entry, a symlink included, where
/// opsmith renders a file stays an error, and the failure leaves nothing.
#[test]
fn issue_18_a_foreign_symlink_in_the_way_is_refused_and_leaves_nothing() {
    let copy = SiteCopy::new();
    let full = copy.read("inventory.yaml");
    let last = full.rfind("    - name: ").expect("a host");
    copy.write("inventory.yaml", &full[..last]);
    render_ok(&copy);
    let outside = outside_file(&copy, "git-credentials");
    symlink(&outside, copy.path(LAST_HOST_FILE)).expect("link");
    copy.write("inventory.yaml", &full);
    let before = snapshot(&copy.path("out"));
    let result = render(&copy);
    assert_eq!(result.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&result));
    assert_eq!(
        fs::read_link(copy.path(LAST_HOST_FILE)).expect("still a link"),
        outside
    );
    assert_eq!(snapshot(&copy.path("out")), before);
    assert_eq!(leftovers(&copy.path("out")), Vec::<String>::new());
}

// Item 9: staging folders of killed renders are removed, live ones are not.

#[test]
fn issue_18_staging_folders_of_a_killed_render_are_removed() {
    let copy = SiteCopy::new();
    render_ok(&copy);
    let out = copy.path("out");
    for stale in [".infra.opsmith-new-k9a1b2", ".infra.opsmith-old-k9c3d4"] {
        fs::create_dir_all(out.join(stale).join("baremetal-hosts")).expect("mkdir");
        fs::write(
            out.join(stale).join("baremetal-hosts/half.yaml"),
            "kind: x\n",
        )
        .expect("write");
    }
    // Another site's, and a link that only looks like a staging folder.
    fs::create_dir(out.join(".other.opsmith-new-abcdef")).expect("mkdir");
    let precious = copy.path("precious");
    fs::create_dir(&precious).expect("mkdir");
    fs::write(precious.join("keep.txt"), "keep\n").expect("write");
    symlink(&precious, out.join(".infra.opsmith-new-linked")).expect("link");
    let before = snapshot(&out.join("infra"));
    render_ok(&copy);
    assert_eq!(
        leftovers(&out),
        vec![".infra.opsmith-new-linked", ".other.opsmith-new-abcdef"]
    );
    assert_eq!(
        fs::read_to_string(precious.join("keep.txt")).expect("not followed"),
        "keep\n"
    );
    assert_eq!(snapshot(&out.join("infra")), before);
}

#[test]
fn issue_18_a_write_killed_between_its_renames_gets_its_old_tree_back() {
    let copy = SiteCopy::new();
    render_ok(&copy);
    let out = copy.path("out");
    fs::write(out.join("infra/NOTES.md"), "notes of a human\n").expect("write");
    // What kill -9 between the swap's two renames leaves: no tree, the old
    // one aside, the new one staged.
    fs::rename(out.join("infra"), out.join(".infra.opsmith-old-k9e5f6")).expect("rename");
    fs::create_dir_all(out.join(".infra.opsmith-new-k9g7h8/day0")).expect("mkdir");
    render_ok(&copy);
    assert_eq!(
        fs::read_to_string(out.join("infra/NOTES.md")).expect("the foreign file is back"),
        "notes of a human\n"
    );
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

#[test]
fn issue_18_a_live_render_s_staging_folder_is_left_alone() {
    let copy = SiteCopy::new();
    render_ok(&copy);
    let out = copy.path("out");
    let live = out.join(".infra.opsmith-new-live01");
    fs::create_dir(&live).expect("mkdir");
    // This test plays the other render: it holds the lock on `out`.
    let lock = fs::File::open(&out).expect("open out");
    lock.lock().expect("lock out");
    let mut child = crate::support::opsmith()
        .current_dir(copy.dir.path())
        .args(["render", "--site", "site", "--out", "out"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let child_stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(child_stderr).lines() {
            let line = line.expect("stderr line");
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(600))
            .unwrap_or_else(|e| panic!("no wait for the lock ({e}); stderr: {seen:?}"));
        // A line, not the whole stderr: the render is still running.
        if line.contains("waiting for another opsmith") {
            break;
        }
        seen.push(line);
    }
    assert!(live.is_dir(), "a live render's staging folder was removed");
    drop(lock);
    let status = child.wait().expect("wait");
    reader.join().expect("reader");
    assert!(status.success(), "{seen:?}");
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

// Item 12: `--out` that would put the tree where no one means it.

/// The site is invalid, so that even without the refusal nothing reaches
/// `/`: --out is checked first.
#[test]
fn issue_18_out_at_the_filesystem_root_is_refused() {
    let copy = SiteCopy::new();
    copy.edit("inventory.yaml", "apiVIP:", "apiVIPz:");
    symlink("/", copy.path("root-link")).expect("link");
    let ups = "/..".repeat(copy.dir.path().components().count());
    let up_to_root = format!("{}{ups}", copy.dir.path().display());
    let mut shown = String::new();
    // The last one is an unset variable: clap refuses it (this held before
    // #18 too).
    for out in ["/", "root-link", "root-link/.", up_to_root.as_str(), ""] {
        let result = copy.run(&["render", "--site", "site", "--out", out]);
        assert_eq!(result.status.code(), Some(2), "--out {out}");
        let out = out.replace(&up_to_root, &format!("[TMP]{ups}"));
        shown.push_str(&format!("=== --out {out:?}\n{}", copy.transcript(&result)));
    }
    // How many `..` reach the root depends on where the temporary folder is.
    insta::assert_snapshot!(shown.replace(&format!("[TMP]{ups}"), "[TMP]/../[..]"));
}

#[test]
fn issue_18_a_folder_opsmith_did_not_make_is_not_adopted() {
    let copy = SiteCopy::new();
    fs::create_dir_all(copy.path("out/infra")).expect("mkdir");
    fs::write(copy.path("out/infra/NOTES.md"), "someone else's\n").expect("write");
    let result = render(&copy);
    assert_eq!(result.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&result));
    assert_eq!(
        snapshot(&copy.path("out")),
        vec![("infra/NOTES.md".to_owned(), b"someone else's\n".to_vec())]
    );
    assert_eq!(leftovers(&copy.path("out")), Vec::<String>::new());
    // An empty folder holds nothing to lose.
    fs::remove_file(copy.path("out/infra/NOTES.md")).expect("remove");
    render_ok(&copy);
}

#[test]
fn issue_18_out_over_the_inputs_is_refused() {
    // The site folder has the site's name, and --out is its parent.
    let copy = SiteCopy::new();
    fs::rename(copy.site(), copy.path("infra")).expect("rename");
    let inputs = snapshot(&copy.path("infra"));
    let result = copy.run(&["render", "--site", "infra", "--out", "."]);
    assert_eq!(result.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&result));
    assert_eq!(snapshot(&copy.path("infra")), inputs);

    // The site folder inside an earlier rendering.
    let copy = SiteCopy::new();
    render_ok(&copy);
    fs::rename(copy.site(), copy.path("out/infra/site")).expect("rename");
    let before = snapshot(&copy.path("out"));
    let result = copy.run(&["render", "--site", "out/infra/site", "--out", "out"]);
    assert_eq!(result.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&result));
    assert_eq!(snapshot(&copy.path("out")), before);
}

#[test]
fn issue_18_a_linked_site_folder_is_not_written_through() {
    let copy = SiteCopy::new();
    let result = copy.run(&["render", "--site", "site", "--out", "real"]);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    fs::create_dir(copy.path("out")).expect("mkdir");
    symlink(copy.path("real/infra"), copy.path("out/infra")).expect("link");
    let before = snapshot(&copy.path("real"));
    let result = render(&copy);
    assert_eq!(result.status.code(), Some(2));
    insta::assert_snapshot!(copy.transcript(&result));
    assert_eq!(snapshot(&copy.path("real")), before);
    assert!(
        fs::symlink_metadata(copy.path("out/infra"))
            .expect("the link")
            .file_type()
            .is_symlink(),
        "the link was replaced by a folder"
    );
}
