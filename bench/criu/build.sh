#!/usr/bin/env bash
# bench/criu/build.sh - build CRIU for the CRIU lane (npm run criu:build).
#
# Builds `criu` and its image decoder `crit` from a release tarball into a
# cache outside the repo, like kernel/build.sh: one directory per source
# version and key (sha256 of the tarball and of this build's recipe), reused
# when present. Debian's own criu (3.17) fails `criu check` on recent kernels
# (vDSO); the lane needs CRIU >= 4.0.
#
# Products, in $IB_CRIU_CACHE/<version>-<key>/ (the symlink
# $IB_CRIU_CACHE/<version> points at the last one built for that version):
#   bin/criu, bin/crit (python3 wrapper: PYTHONPATH=py), bin/crit-python
#   (that python with pycriu importable: the lane decodes all images in one
#   process with it), py/{pycriu,crit},
#   version (criu --version), build.log, build-seconds, check.log, ok
#
# Usage: bench/criu/build.sh [--src TARBALL] [--print-dir] [-j N]
#   --src TARBALL  CRIU source tarball (criu-<version>.tar.*, a `git archive`
#                  or release tarball with Makefile.versions at its top);
#                  default: $IB_CRIU_TARBALL, else the pinned release in
#                  ../shared/third_party/ when present
#   --print-dir    print "<version> <key> <dir> cached|not-built" and exit
#                  (no build, no package installation)
#   -j N           make jobs (default: nproc)
# The last stdout line is the cache directory. Progress and the elapsed time
# go to stderr. Installs missing build dependencies with apt-get (Debian 12
# names) when run as root. Exit 0 built or cached, 1 build failed, 2 usage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${IB_CRIU_CACHE:-/var/cache/iterbench/criu}
# The pinned release: CRIU 4.2 (criu-dev 2cf8f13ca1f1, 22 commits after v4.2).
pinned_name=criu-4.2-22-g2cf8f13.tar.xz
pinned_sha256=1fff069d27948ca947aa7b61edd2ca8fe40958928566a6ab1a78cae84d722906
src=${IB_CRIU_TARBALL:-}
jobs=$(nproc)
print_dir=0

t_start=$(date +%s)
log() { printf '[criu:build %4ds] %s\n' "$(( $(date +%s) - t_start ))" "$*" >&2; }
die() { printf 'criu:build: error: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'criu:build: %s\n' "$*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
	--src)
		[ $# -ge 2 ] || usage_error "--src needs a tarball path"
		src=$2; shift 2 ;;
	--src=*) src=${1#--src=}; shift ;;
	--print-dir|--print-key|--dry-run) print_dir=1; shift ;;
	-j) [ $# -ge 2 ] || usage_error "-j needs a number"; jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage_error "unknown argument $1 (see --help)" ;;
	esac
done
case $jobs in ''|*[!0-9]*|0) usage_error "-j $jobs: expected a positive number" ;; esac

if [ -z "$src" ]; then
	for d in "$repo/../shared/third_party" /work/shared/third_party; do
		if [ -f "$d/$pinned_name" ]; then src=$d/$pinned_name; break; fi
	done
	[ -n "$src" ] || usage_error "no CRIU source tarball: pass --src TARBALL (e.g. a criu-4.x release tarball; the pinned one is $pinned_name)"
fi
[ -f "$src" ] || usage_error "--src $src: no such file"
src=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")

sha=$(sha256sum "$src" | cut -d' ' -f1)
if [ "$(basename "$src")" = "$pinned_name" ] && [ "$sha" != "$pinned_sha256" ]; then
	usage_error "$src: sha256 $sha is not the pinned $pinned_sha256"
fi
# top directory and version from the tarball itself
top=$(tar -tf "$src" 2>/dev/null | head -n1 | cut -d/ -f1) || true
[ -n "$top" ] || usage_error "$src: not a readable tar archive"
versions=$(tar -xOf "$src" "$top/Makefile.versions" 2>/dev/null) ||
	usage_error "$src: no $top/Makefile.versions (not a CRIU source tarball)"
major=$(sed -n 's/^CRIU_VERSION_MAJOR[[:space:]]*:=[[:space:]]*//p' <<<"$versions")
minor=$(sed -n 's/^CRIU_VERSION_MINOR[[:space:]]*:=[[:space:]]*//p' <<<"$versions")
case $major in ''|*[!0-9]*) usage_error "$src: cannot read CRIU_VERSION_MAJOR" ;; esac
[ "$major" -ge 4 ] || usage_error "$src: CRIU $major.$minor is too old (the lane needs >= 4.0: older vDSO handling fails on recent kernels)"
version=${top#criu-}
case $version in "$major".*) ;; *) version=$major.$minor-$version ;; esac

recipe_format=2
key=$( { echo "tarball $sha"; echo "format $recipe_format"; } | sha256sum | cut -c1-16)
dir=$cache/$version-$key

if [ $print_dir = 1 ]; then
	if [ -f "$dir/ok" ]; then s=cached; else s=not-built; fi
	echo "$version $key $dir $s"
	exit 0
fi

if [ -f "$dir/ok" ] && [ -x "$dir/bin/criu" ]; then
	log "CRIU $version: cached ($dir)"
	ln -sfn "$(basename "$dir")" "$cache/$version"
	echo "$dir"
	exit 0
fi

# --- build dependencies (Debian 12 names) -------------------------------------
need_pkgs=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
need_hdr() { [ -e "$1" ] || need_pkgs+=("$2"); }
need_cmd make make
need_cmd gcc gcc
need_cmd pkg-config pkg-config
need_cmd python3 python3
need_cmd protoc protobuf-compiler
need_cmd protoc-c protobuf-c-compiler
need_cmd xz xz-utils
need_hdr /usr/include/google/protobuf/descriptor.proto libprotobuf-dev
need_hdr /usr/include/protobuf-c/protobuf-c.h libprotobuf-c-dev
need_hdr /usr/include/libnl3/netlink/netlink.h libnl-3-dev
need_hdr /usr/include/libnet.h libnet1-dev
need_hdr /usr/include/sys/capability.h libcap-dev
need_hdr /usr/include/bsd/string.h libbsd-dev
need_hdr /usr/include/gnutls/gnutls.h libgnutls28-dev
need_hdr /usr/include/nftables/libnftables.h libnftables-dev
need_hdr /usr/include/uuid/uuid.h uuid-dev
need_hdr /usr/include/libdrm/drm.h libdrm-dev
# crit needs a python3 with the protobuf module: Debian's (python3-protobuf),
# which may not be the first python3 in PATH (pyenv, venvs)
pick_python() {
	local p
	for p in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
		[ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import google.protobuf' 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}
pick_python >/dev/null || need_pkgs+=(python3-protobuf)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing missing packages: ${need_pkgs[*]}"
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		die "missing ${need_pkgs[*]}; install them (Debian: apt-get install ${need_pkgs[*]})"
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >&2; then
		apt-get update -q >&2 || die "apt-get update failed"
		apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >&2 ||
			die "apt-get install ${need_pkgs[*]} failed"
	fi
fi

python=$(pick_python) || die "no python3 can import google.protobuf (python3-protobuf) for crit"

# --- build --------------------------------------------------------------------
t0=$(date +%s)
work=$cache/work-$version-$key
log "CRIU $version: building (key $key, make -j$jobs, log: $dir/build.log)"
rm -rf "$work" "$dir"
mkdir -p "$work" "$dir"
tar -C "$work" -xf "$src"
tree=$work/$top

# make runs in its own process group: stop all of it if we are stopped
setsid make -C "$tree" -j"$jobs" criu lib >"$dir/build.log" 2>&1 &
mk=$!
# shellcheck disable=SC2064
trap "kill -- -$mk 2>/dev/null; exit 130" INT TERM
# shellcheck disable=SC2064
trap "kill -- -$mk 2>/dev/null || true" EXIT
while kill -0 "$mk" 2>/dev/null; do
	sleep 15 &
	wait $! || true
	kill -0 "$mk" 2>/dev/null &&
		log "building... $(grep -E '^ *[A-Z]+ ' "$dir/build.log" | tail -n1 | sed 's/^ *//')"
done
rc=0
wait "$mk" || rc=$?
trap - EXIT INT TERM
if [ $rc -ne 0 ]; then
	grep -E 'error|Error' "$dir/build.log" | head -20 >&2 || true
	die "make criu lib failed (exit $rc), see $dir/build.log"
fi
[ -x "$tree/criu/criu" ] || die "make finished but $tree/criu/criu is missing"

# --- install into the cache ---------------------------------------------------
mkdir -p "$dir/bin" "$dir/py"
cp "$tree/criu/criu" "$dir/bin/criu.tmp" && mv "$dir/bin/criu.tmp" "$dir/bin/criu"
cp -r "$tree/lib/pycriu" "$dir/py/pycriu"
cp -r "$tree/crit/crit" "$dir/py/crit"
echo "__version__ = '$major.$minor'" > "$dir/py/crit/version.py"
[ -f "$dir/py/pycriu/images/stats_pb2.py" ] || die "pycriu images were not generated (protoc), see $dir/build.log"
cat > "$dir/bin/crit" <<CRIT
#!/bin/sh
# crit of CRIU $version, built by bench/criu/build.sh
PYTHONPATH="$dir/py\${PYTHONPATH:+:\$PYTHONPATH}" exec $python -m crit "\$@"
CRIT
cat > "$dir/bin/crit-python" <<CRITPY
#!/bin/sh
# python3 with pycriu of CRIU $version importable, built by bench/criu/build.sh
PYTHONPATH="$dir/py\${PYTHONPATH:+:\$PYTHONPATH}" exec $python "\$@"
CRITPY
chmod +x "$dir/bin/crit" "$dir/bin/crit-python"
"$dir/bin/criu" --version > "$dir/version"
"$dir/bin/crit" --help >/dev/null 2>&1 || die "crit does not run (python3-protobuf?): $dir/bin/crit --help"
rm -rf "$work"
secs=$(( $(date +%s) - t0 ))
echo "$secs" > "$dir/build-seconds"
if "$dir/bin/criu" check >"$dir/check.log" 2>&1; then
	log "criu check: ok"
else
	log "criu check failed on this kernel (see $dir/check.log): $(tail -n1 "$dir/check.log")"
fi
touch "$dir/ok"
ln -sfn "$(basename "$dir")" "$cache/$version"
log "CRIU $version: built in $secs s ($dir)"
echo "$dir"
