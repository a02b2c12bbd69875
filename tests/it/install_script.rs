//! scripts/install.sh against a release served from 127.0.0.1: a release
//! made from the test build's own binary installs and runs; a corrupted
//! archive, a SHA256SUMS without the archive's line, a release without
//! SHA256SUMS and an unknown platform are refused, and nothing is installed.

use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::Digest as _;

use crate::support::{root, stderr, stdout};

const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// The release target install.sh picks on this machine.
fn host_target() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-musl",
        ("linux", "aarch64") => "aarch64-unknown-linux-musl",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        (os, arch) => {
            panic!("install.sh has no release target for this test machine ({os}/{arch})")
        }
    }
}

fn archive_name() -> String {
    format!("opsmith-{}.tar.gz", host_target())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `opsmith-<target>.tar.gz` holding the test build's binary as `opsmith`,
/// packed with `tar` once per test run (the binary is large).
fn archive() -> &'static [u8] {
    static ARCHIVE: OnceLock<Vec<u8>> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let stage = tempfile::tempdir().expect("tempdir");
        fs::copy(env!("CARGO_BIN_EXE_opsmith"), stage.path().join("opsmith"))
            .expect("copy opsmith");
        let tarball = stage.path().join("release.tar.gz");
        let status = Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(stage.path())
            .arg("opsmith")
            .status()
            .expect("run tar");
        assert!(status.success(), "tar failed");
        fs::read(&tarball).expect("read archive")
    })
}

/// A release folder `<root>/<VERSION>/` with the archive and SHA256SUMS as
/// given (`None`: no SHA256SUMS at all).
struct Release {
    dir: tempfile::TempDir,
}

impl Release {
    fn new(archive: &[u8], sums: Option<&str>) -> Release {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = dir.path().join(VERSION);
        fs::create_dir(&files).expect("mkdir");
        fs::write(files.join(archive_name()), archive).expect("write archive");
        if let Some(sums) = sums {
            fs::write(files.join("SHA256SUMS"), sums).expect("write SHA256SUMS");
        }
        Release { dir }
    }

    /// SHA256SUMS as `sha256sum` writes it: the archive's line among the
    /// other targets' (whose digests do not matter here).
    fn good_sums(archive: &[u8]) -> String {
        let mut lines = vec![format!("{}  {}", sha256_hex(archive), archive_name())];
        for other in [
            "aarch64-apple-darwin",
            "aarch64-unknown-linux-musl",
            "x86_64-unknown-linux-musl",
        ] {
            if other != host_target() {
                lines.push(format!("{}  opsmith-{other}.tar.gz", "0".repeat(64)));
            }
        }
        lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
        lines.join("\n") + "\n"
    }
}

/// A small HTTP server on 127.0.0.1 serving the files under `root` (GET
/// only, one request per connection), recording the paths asked for.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_path_buf();
        let seen = Arc::clone(&requests);
        // Detached: it serves until the test process ends.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = respond(stream, &root, &seen);
            }
        });
        Server { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn respond(stream: TcpStream, root: &Path, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The headers are read and ignored.
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.clone());
    // Only plain names below the root are served.
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let file = if parts
        .iter()
        .all(|p| !p.is_empty() && *p != "." && *p != "..")
    {
        fs::read(parts.iter().fold(root.to_path_buf(), |dir, p| dir.join(p))).ok()
    } else {
        None
    };
    let mut stream = stream;
    match file {
        Some(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        None => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?,
    }
    stream.flush()
}

/// What one run of install.sh left behind.
struct Install {
    out: Output,
    /// The --dir given, which does not exist before the run.
    dir: PathBuf,
    /// TMPDIR of the run: install.sh must leave it empty.
    tmp: PathBuf,
    _scratch: tempfile::TempDir,
}

/// Runs `sh scripts/install.sh --version VERSION --dir <fresh folder>` with
/// releases from `url`, and `env` on top.
fn install(url: &str, env: &[(&str, &str)]) -> Install {
    install_over(url, env, None)
}

/// As `install`, into a folder that already holds an opsmith with `earlier`
/// as its content, when given.
fn install_over(url: &str, env: &[(&str, &str)], earlier: Option<&str>) -> Install {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("bin");
    if let Some(earlier) = earlier {
        fs::create_dir(&dir).expect("mkdir bin");
        fs::write(dir.join("opsmith"), earlier).expect("write the earlier opsmith");
    }
    let tmp = scratch.path().join("tmp");
    fs::create_dir(&tmp).expect("mkdir tmp");
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("scripts/install.sh"))
        .args(["--version", VERSION, "--dir"])
        .arg(&dir)
        .env("OPSMITH_RELEASE_URL", url)
        .env("TMPDIR", &tmp)
        .env_remove("OPSMITH_INSTALL_PLATFORM")
        // The server is local: no proxy may stand in between.
        .env("no_proxy", "127.0.0.1")
        .env("NO_PROXY", "127.0.0.1");
    for proxy in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(proxy);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("run sh scripts/install.sh");
    Install {
        out,
        dir,
        tmp,
        _scratch: scratch,
    }
}

impl Install {
    /// Exit status non-zero, the message on stderr, nothing installed (the
    /// folder not even created) and no temporary files left.
    fn assert_refused(&self, message: &str) {
        self.assert_failed_with(message);
        assert!(
            !self.dir.join("opsmith").exists(),
            "an opsmith was installed"
        );
        assert!(
            !self.dir.exists(),
            "install.sh created {:?} without installing",
            self.dir
        );
    }

    fn assert_failed_with(&self, message: &str) {
        let err = stderr(&self.out);
        assert!(
            !self.out.status.success(),
            "install.sh succeeded where it should have refused; stdout:\n{}\nstderr:\n{err}",
            stdout(&self.out)
        );
        assert!(err.contains(message), "stderr lacks `{message}`:\n{err}");
        self.assert_cleaned_up();
    }

    fn assert_cleaned_up(&self) {
        let left: Vec<_> = fs::read_dir(&self.tmp)
            .expect("read TMPDIR")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(left.is_empty(), "install.sh left {left:?} in TMPDIR");
    }

    fn assert_installed(&self) {
        assert!(
            self.out.status.success(),
            "install.sh failed:\n{}",
            stderr(&self.out)
        );
        let bin = self.dir.join("opsmith");
        assert_eq!(
            fs::read(&bin).expect("read the installed opsmith"),
            fs::read(env!("CARGO_BIN_EXE_opsmith")).expect("read the test build's opsmith"),
            "the installed binary is not the one in the archive"
        );
        let version = Command::new(&bin)
            .arg("--version")
            .output()
            .expect("run the installed opsmith");
        assert!(version.status.success(), "{}", stderr(&version));
        assert_eq!(
            stdout(&version).trim(),
            concat!("opsmith ", env!("CARGO_PKG_VERSION"))
        );
        assert!(
            stdout(&self.out).contains(&format!("installed opsmith {VERSION}")),
            "{}",
            stdout(&self.out)
        );
        self.assert_cleaned_up();
    }
}

#[test]
fn a_good_release_installs_and_runs() {
    let release = Release::new(archive(), Some(&Release::good_sums(archive())));
    let server = Server::start(release.dir.path());
    let run = install(&server.url, &[]);
    run.assert_installed();
    assert_eq!(
        server.requests(),
        [
            format!("/{VERSION}/SHA256SUMS"),
            format!("/{VERSION}/{}", archive_name())
        ]
    );
}

#[test]
fn a_corrupted_archive_is_refused() {
    let mut corrupted = archive().to_vec();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x01;
    // SHA256SUMS lists the real archive; the server hands out another.
    let release = Release::new(&corrupted, Some(&Release::good_sums(archive())));
    let server = Server::start(release.dir.path());
    let run = install(&server.url, &[]);
    run.assert_refused(&format!(
        "checksum mismatch for {}: SHA256SUMS says {}, the download's sha256 is {}. \
         The download is corrupt or was tampered with. Nothing was installed.",
        archive_name(),
        sha256_hex(archive()),
        sha256_hex(&corrupted)
    ));
}

#[test]
fn a_sha256sums_without_the_archive_line_is_refused() {
    let sums: String = Release::good_sums(archive())
        .lines()
        .filter(|line| !line.ends_with(&archive_name()))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(!sums.is_empty());
    let release = Release::new(archive(), Some(&sums));
    let server = Server::start(release.dir.path());
    let run = install(&server.url, &[]);
    run.assert_refused(&format!(
        "{}/{VERSION}/SHA256SUMS has no line for {}; refusing to install an archive that cannot be verified",
        server.url,
        archive_name()
    ));
}

#[test]
fn a_release_without_sha256sums_is_refused() {
    let release = Release::new(archive(), None);
    let server = Server::start(release.dir.path());
    let run = install(&server.url, &[]);
    run.assert_refused(&format!(
        "cannot download {}/{VERSION}/SHA256SUMS; without the release's checksums nothing is installed",
        server.url
    ));
    // It stopped before fetching the archive.
    assert_eq!(server.requests(), [format!("/{VERSION}/SHA256SUMS")]);
}

#[test]
fn an_unknown_platform_is_refused() {
    let release = Release::new(archive(), Some(&Release::good_sums(archive())));
    let server = Server::start(release.dir.path());
    let run = install(
        &server.url,
        &[("OPSMITH_INSTALL_PLATFORM", "FreeBSD/amd64")],
    );
    run.assert_refused(
        "no opsmith release build for FreeBSD amd64; release builds exist for Linux x86_64, Linux aarch64 and macOS arm64",
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

/// A folder of links to the tools install.sh uses, leaving out `missing`,
/// to run it as on a machine that lacks them.
fn path_without(scratch: &Path, missing: &[&str]) -> PathBuf {
    let bin = scratch.join("path");
    fs::create_dir(&bin).expect("mkdir");
    let tools = [
        "sh",
        "uname",
        "mktemp",
        "rm",
        "awk",
        "cut",
        "tr",
        "tar",
        "gzip",
        "mkdir",
        "cp",
        "mv",
        "chmod",
        "cat",
        "curl",
        "wget",
        "sha256sum",
        "shasum",
        "perl",
    ];
    for tool in tools.iter().filter(|t| !missing.contains(t)) {
        let found = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file());
        if let Some(found) = found {
            std::os::unix::fs::symlink(found, bin.join(tool)).expect("symlink");
        }
    }
    bin
}

#[test]
fn without_curl_and_sha256sum_it_uses_wget_and_shasum() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let path = path_without(scratch.path(), &["curl", "sha256sum"]);
    for needed in ["wget", "shasum"] {
        assert!(
            path.join(needed).exists(),
            "this test needs {needed} installed (apt-get install wget perl)"
        );
    }
    let path = path.to_str().expect("utf-8 path");

    let release = Release::new(archive(), Some(&Release::good_sums(archive())));
    let server = Server::start(release.dir.path());
    install(&server.url, &[("PATH", path)]).assert_installed();

    let mut corrupted = archive().to_vec();
    corrupted[0] ^= 0x01;
    let release = Release::new(&corrupted, Some(&Release::good_sums(archive())));
    let server = Server::start(release.dir.path());
    install(&server.url, &[("PATH", path)]).assert_refused("checksum mismatch");
}

#[test]
fn an_earlier_install_survives_a_refused_upgrade() {
    let mut corrupted = archive().to_vec();
    corrupted[100] ^= 0x01;
    let release = Release::new(&corrupted, Some(&Release::good_sums(archive())));
    let server = Server::start(release.dir.path());
    let run = install_over(&server.url, &[], Some("the earlier opsmith\n"));
    run.assert_failed_with("checksum mismatch");
    assert_eq!(
        fs::read_to_string(run.dir.join("opsmith")).expect("read"),
        "the earlier opsmith\n"
    );
    let entries: Vec<_> = fs::read_dir(&run.dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        entries,
        ["opsmith"],
        "install.sh left files in the install folder"
    );
}
