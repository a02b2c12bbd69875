//! A compile cache someone else tampered with: entries filed under another
//! plugin, a folder other users can write, a FIFO or a symlink where an entry
//! should be. None of them is run, and none of them stops the render.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{SiteCopy, load_log, opsmith, root, snapshot};

/// Long enough for a render that compiles every plugin on a busy machine; a
/// render stuck on the cache never ends, so any bound tells the two apart.
const DEADLINE: Duration = Duration::from_secs(180);

struct Run {
    status: Option<i32>,
    stderr: String,
}

/// Renders the site in `dir` to `out` with `cache` as the compile cache (and
/// `--verbose`, which says how each plugin was loaded). The built-in plugins
/// go through the cache as third-party plugins do, instead of being loaded
/// as opsmith's build compiled them. Fails, rather than
/// hangs, when the render outlives `DEADLINE`.
fn render(dir: &Path, cache: &Path, out: &str, extra: &[&str]) -> Run {
    let stderr_path = dir.join(format!("{out}.stderr"));
    let mut child = opsmith()
        .current_dir(dir)
        .env("OPSMITH_CACHE_DIR", cache)
        .env("OPSMITH_COMPILE_BUILTINS", "1")
        .args(["render", "--site", "site", "--out", out, "--verbose"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr_path).expect("create stderr file"))
        .spawn()
        .expect("run opsmith");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for opsmith") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "render did not finish within {DEADLINE:?}; stderr:\n{}",
                fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        status: status.code(),
        stderr: fs::read_to_string(&stderr_path).expect("read stderr"),
    }
}

/// What the verbose log of `run` in `dir` says about the cache
/// ([`load_log`]).
fn cache_log(run: &Run, dir: &Path) -> String {
    load_log(&run.stderr, &[(dir, "TMP")])
}

/// A cache filled by one cold render of the reference site, made once per
/// test run (compiling every plugin in each test would take most of its
/// time), and that render's tree.
struct Filled {
    cache: PathBuf,
    tree: Vec<(String, Vec<u8>)>,
}

fn filled() -> &'static Filled {
    static FILLED: OnceLock<Filled> = OnceLock::new();
    FILLED.get_or_init(|| {
        // In target/, not a temporary folder: a static is never dropped.
        let dir = root().join("target").join("hostile-cache");
        let _ = fs::remove_dir_all(&dir);
        crate::support::copy_site(&dir.join("site"));
        let cache = dir.join("cache");
        let run = render(&dir, &cache, "cold", &[]);
        assert_eq!(run.status, Some(0), "{}", run.stderr);
        // Every plugin compiled, none loaded from the cache.
        insta::assert_snapshot!("cold_render_compiles_every_plugin", cache_log(&run, &dir));
        Filled {
            cache,
            tree: snapshot(&dir.join("cold")),
        }
    })
}

/// A cache of the copy's own, holding the entries of every plugin of the
/// site, with the tree the site renders to.
fn filled_cache(copy: &SiteCopy) -> (PathBuf, Vec<(String, Vec<u8>)>) {
    let filled = filled();
    let cache = copy.path("cache");
    fs::create_dir(&cache).expect("create cache");
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o700)).expect("chmod");
    for entry in fs::read_dir(&filled.cache).expect("read cache") {
        let entry = entry.expect("cache entry").path();
        fs::copy(&entry, cache.join(entry.file_name().unwrap())).expect("copy entry");
    }
    (cache, filled.tree.clone())
}

/// The cache entry of `plugin` in `cache`, by the component sha256 that
/// `opsmith plugin inspect` gives it.
fn entry_of(cache: &Path, plugin: &str) -> PathBuf {
    let inspected = opsmith()
        .args(["plugin", "inspect", plugin])
        .output()
        .expect("run opsmith plugin inspect");
    let text = String::from_utf8_lossy(&inspected.stdout).into_owned();
    let sha256 = text
        .lines()
        .find_map(|l| l.strip_prefix("sha256:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no sha256 for {plugin} in:\n{text}"));
    let prefix = format!("{sha256}-");
    let entries: Vec<PathBuf> = fs::read_dir(cache)
        .expect("read cache")
        .map(|e| e.expect("cache entry").path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect();
    assert_eq!(entries.len(), 1, "entries of {plugin}: {entries:?}");
    entries.into_iter().next().unwrap()
}

#[test]
fn an_entry_filed_under_another_plugin_is_compiled_again_not_run() {
    let copy = SiteCopy::new();
    let (cache, _) = filled_cache(&copy);
    let uncached = render(copy.dir.path(), &cache, "uncached", &["--no-cache"]);
    assert_eq!(uncached.status, Some(0), "{}", uncached.stderr);
    let install_config = entry_of(&cache, "builtin:install-config");
    let metal3 = entry_of(&cache, "builtin:metal3");
    fs::copy(&install_config, &metal3).expect("swap entries");

    let swapped = render(copy.dir.path(), &cache, "swapped", &[]);
    assert_eq!(swapped.status, Some(0), "{}", swapped.stderr);
    assert!(
        snapshot(&copy.path("swapped")) == snapshot(&copy.path("uncached")),
        "the render ran the entry filed under the wrong plugin:\n{}",
        swapped.stderr
    );
    // metal3 compiled, the others loaded from the cache.
    insta::assert_snapshot!(cache_log(&swapped, copy.dir.path()));
    // Replaced by metal3's own entry, which the next render loads.
    assert_ne!(
        fs::read(&metal3).unwrap(),
        fs::read(&install_config).unwrap()
    );
    let again = render(copy.dir.path(), &cache, "again", &[]);
    insta::assert_snapshot!(cache_log(&again, copy.dir.path()));
}

#[test]
fn a_cache_folder_others_can_write_is_not_used() {
    let copy = SiteCopy::new();
    let (cache, reference) = filled_cache(&copy);
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o777)).expect("chmod");
    // An entry missing: a cache in use would write it again.
    let metal3 = entry_of(&cache, "builtin:metal3");
    fs::remove_file(&metal3).expect("remove entry");
    let before = fs::read_dir(&cache).unwrap().count();

    let run = render(copy.dir.path(), &cache, "shared", &[]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    // One warning, saying why and what to do; every plugin compiled.
    insta::assert_snapshot!(cache_log(&run, copy.dir.path()));
    assert_eq!(snapshot(&copy.path("shared")), reference);
    assert!(
        !metal3.exists(),
        "an entry was written to the shared folder"
    );
    assert_eq!(fs::read_dir(&cache).unwrap().count(), before);
}

#[test]
fn the_cache_folder_opsmith_creates_is_private() {
    let copy = SiteCopy::new();
    // The folder is made when the run starts: a site that fails validation
    // shows it without compiling anything.
    copy.write("inventory.yaml", "not: [an inventory\n");
    let cache = copy.path("new/cache");
    let run = render(copy.dir.path(), &cache, "out", &[]);
    assert_ne!(run.status, Some(0), "{}", run.stderr);
    let mode = fs::metadata(&cache)
        .unwrap_or_else(|e| panic!("no cache folder: {e}"))
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o700,
        "opsmith created the cache folder {mode:o}"
    );
}

/// Renders with `cache`, whose metal3 entry is not a regular file: the
/// output is the reference, metal3 is compiled again with a warning, and a
/// regular entry replaces what was there. Returns the [`cache_log`].
fn renders_with_metal3_compiled_again(
    copy: &SiteCopy,
    cache: &Path,
    reference: &[(String, Vec<u8>)],
    metal3: &Path,
) -> String {
    let run = render(copy.dir.path(), cache, "out", &[]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(snapshot(&copy.path("out")), reference);
    assert!(fs::symlink_metadata(metal3).unwrap().is_file());
    cache_log(&run, copy.dir.path())
}

#[test]
fn a_fifo_at_an_entry_path_does_not_stop_the_render() {
    let copy = SiteCopy::new();
    let (cache, reference) = filled_cache(&copy);
    let metal3 = entry_of(&cache, "builtin:metal3");
    fs::remove_file(&metal3).expect("remove entry");
    let made = Command::new("mkfifo")
        .arg(&metal3)
        .status()
        .expect("mkfifo");
    assert!(made.success());

    insta::assert_snapshot!(renders_with_metal3_compiled_again(
        &copy, &cache, &reference, &metal3
    ));
}

#[test]
fn a_symlinked_entry_is_not_followed() {
    let copy = SiteCopy::new();
    let (cache, reference) = filled_cache(&copy);
    let metal3 = entry_of(&cache, "builtin:metal3");
    // A valid entry, but kept elsewhere, where its owner and mode are not
    // the cache's to vouch for.
    let elsewhere = copy.path("elsewhere.cwasm");
    fs::rename(&metal3, &elsewhere).expect("move entry");
    std::os::unix::fs::symlink(&elsewhere, &metal3).expect("symlink");

    insta::assert_snapshot!(renders_with_metal3_compiled_again(
        &copy, &cache, &reference, &metal3
    ));
}
