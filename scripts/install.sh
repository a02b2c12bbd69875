#!/bin/sh
# Installs a released opsmith binary, verified against the release's SHA256SUMS.
#
#   sh install.sh --version vX.Y.Z [--dir DIR]
#
# Downloads <base>/<version>/opsmith-<target>.tar.gz and <base>/<version>/SHA256SUMS,
# where <base> is $OPSMITH_RELEASE_URL, by default the GitHub releases of
# opsmith-dev/opsmith. Nothing is installed unless the archive's sha256 matches
# its line in SHA256SUMS. Everything happens in a temporary folder; DIR only
# ever receives the verified binary.
#
# Environment:
#   OPSMITH_RELEASE_URL       where releases are downloaded from (a mirror, a test server)
#   OPSMITH_INSTALL_PLATFORM  OS/ARCH (as `uname -s`/`uname -m` print them) to use
#                             instead of this machine's; for testing the script
set -eu

default_base=https://github.com/opsmith-dev/opsmith/releases/download
supported="Linux x86_64, Linux aarch64 and macOS arm64"

usage() {
  cat <<EOF
Usage: install.sh --version vX.Y.Z [--dir DIR]

Installs the opsmith release vX.Y.Z into DIR (default: \$HOME/.local/bin),
after checking the archive against the release's SHA256SUMS.

  --version V   the release tag to install, e.g. v0.1.0 (required)
  --dir DIR     the folder to put the opsmith binary in (created if missing)
  -h, --help    this help

Release builds exist for $supported.
Downloads come from \$OPSMITH_RELEASE_URL/<version>/ (default:
$default_base/<version>/).
EOF
}

fail() {
  printf 'install.sh: error: %s\n' "$*" >&2
  exit 1
}

version=""
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || fail "--version needs a value, e.g. --version v0.1.0"; version=$2; shift 2 ;;
    --version=*) version=${1#--version=}; shift ;;
    --dir) [ $# -ge 2 ] || fail "--dir needs a folder"; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; fail "unknown argument '$1'" ;;
  esac
done

[ -n "$version" ] || { usage >&2; fail "--version is required (a release tag, e.g. v0.1.0)"; }
# The tag goes into a URL: a release tag's characters only.
case "$version" in
  [0-9]*) version="v$version" ;;
esac
case "$version" in
  v[0-9]*) ;;
  *) fail "'$version' is not a release version; expected a tag like v0.1.0" ;;
esac
case "$version" in
  *[!A-Za-z0-9._+-]*) fail "'$version' is not a release version; expected a tag like v0.1.0" ;;
esac

if [ -z "$dir" ]; then
  [ -n "${HOME:-}" ] || fail "no --dir given and HOME is not set"
  dir="$HOME/.local/bin"
fi

# The release target for this machine (or for OPSMITH_INSTALL_PLATFORM).
if [ -n "${OPSMITH_INSTALL_PLATFORM:-}" ]; then
  os=${OPSMITH_INSTALL_PLATFORM%%/*}
  arch=${OPSMITH_INSTALL_PLATFORM#*/}
else
  os=$(uname -s)
  arch=$(uname -m)
  # A shell under Rosetta reports x86_64 on an Apple silicon Mac, whose
  # native build is the one to install.
  if [ "$os" = Darwin ] && [ "$arch" = x86_64 ] &&
    [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    arch=arm64
  fi
fi
case "$os/$arch" in
  Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-musl ;;
  Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
  Darwin/arm64 | Darwin/aarch64) target=aarch64-apple-darwin ;;
  *) fail "no opsmith release build for $os $arch; release builds exist for $supported. Elsewhere, build from source (see the README)." ;;
esac

base=${OPSMITH_RELEASE_URL:-$default_base}
base=${base%/}
archive="opsmith-$target.tar.gz"
archive_url="$base/$version/$archive"
sums_url="$base/$version/SHA256SUMS"

# Tools, checked before anything is downloaded.
if command -v curl >/dev/null 2>&1; then
  download() { curl --fail --silent --show-error --location --retry 3 --output "$1" "$2"; }
elif command -v wget >/dev/null 2>&1; then
  # Short options only: BusyBox's wget (Alpine) has no long ones.
  download() { wget -q -O "$1" "$2"; }
else
  fail "neither curl nor wget is installed; install one of them"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum <"$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 <"$1" | cut -d ' ' -f 1; }
else
  fail "neither sha256sum nor shasum is installed; one is needed to verify the download"
fi
command -v tar >/dev/null 2>&1 || fail "tar is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/opsmith-install.XXXXXX") || fail "cannot make a temporary folder"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

download "$tmp/SHA256SUMS" "$sums_url" ||
  fail "cannot download $sums_url; without the release's checksums nothing is installed. Is $version an opsmith release?"
download "$tmp/$archive" "$archive_url" ||
  fail "cannot download $archive_url; is $version an opsmith release with a build for $target?"

# A line is "<sha256>  <name>" (or "<sha256> *<name>", binary mode).
expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/SHA256SUMS")
[ -n "$expected" ] ||
  fail "$sums_url has no line for $archive; refusing to install an archive that cannot be verified. Nothing was installed."
case "$expected" in
  *[!0-9a-fA-F]*) fail "$sums_url has no valid sha256 for $archive (found '$expected'). Nothing was installed." ;;
esac
[ ${#expected} -eq 64 ] ||
  fail "$sums_url has no valid sha256 for $archive (found '$expected'). Nothing was installed."
actual=$(sha256 "$tmp/$archive")
if [ "$(printf %s "$expected" | tr 'A-F' 'a-f')" != "$actual" ]; then
  fail "checksum mismatch for $archive: SHA256SUMS says $expected, the download's sha256 is $actual. The download is corrupt or was tampered with. Nothing was installed."
fi

mkdir "$tmp/unpacked"
tar -xzf "$tmp/$archive" -C "$tmp/unpacked" opsmith ||
  fail "$archive does not hold an opsmith binary at its top. Nothing was installed."
bin="$tmp/unpacked/opsmith"
if [ ! -f "$bin" ] || [ -L "$bin" ]; then
  fail "$archive holds no regular file named opsmith. Nothing was installed."
fi
chmod 0755 "$bin"

# Copied beside the destination, then renamed over it: a running opsmith or a
# concurrent reader never sees a half-written file.
mkdir -p "$dir" || fail "cannot create $dir"
staged="$dir/.opsmith.install.$$"
cp "$bin" "$staged" || { rm -f "$staged"; fail "cannot write into $dir"; }
mv -f "$staged" "$dir/opsmith" || { rm -f "$staged"; fail "cannot replace $dir/opsmith"; }

printf 'installed opsmith %s (%s) to %s/opsmith\n' "$version" "$target" "$dir"
case ":${PATH:-}:" in
  *":$dir:"*) ;;
  *) printf 'note: %s is not on PATH\n' "$dir" ;;
esac
