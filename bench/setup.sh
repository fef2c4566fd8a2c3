#!/usr/bin/env bash
# bench/setup.sh - the one idempotent set-up step both README commands run
# first: Debian packages (when missing), npm packages (when node_modules is
# missing or older than the lock file), then all C and BPF (make).
# When nothing changed it takes a few seconds.
#
#   bash bench/setup.sh [--quiet]     (--quiet: print only what it does)
set -euo pipefail

quiet=0
[[ "${1:-}" == "--quiet" ]] && quiet=1
cd "$(dirname "$0")/.."
say() { echo "setup: $*" >&2; }
start=$(date +%s.%N)

# Debian packages the build, the tests and the charts need.
pkgs=(clang llvm libbpf-dev bpftool liburing-dev libelf-dev zlib1g-dev pkg-config make gcc
      libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev python3 g++
      linux-source-6.1 patch xz-utils)
missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ "$st" == "installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		say "missing Debian packages: ${missing[*]} (run as root to install them)"
		exit 1
	fi
	say "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm packages: npm ci when node_modules was not installed from this exact
# lock file (its hash, not its mtime: a fresh clone or worktree gives the
# lock file a new mtime without changing it).
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f node_modules/.package-lock.json || "$(cat node_modules/.iterbench-lock 2>/dev/null)" != "$lock_sha" ]]; then
	say "installing npm packages (npm ci; canvas may compile from source, about a minute)"
	npm ci --no-audit --no-fund --loglevel=error >&2
	echo "$lock_sha" > node_modules/.iterbench-lock
fi

# C workloads, BPF programs and the native collectors.
if ((quiet)); then
	out=$(make -s -j"$(nproc)" 2>&1) || { echo "$out" >&2; say "build failed"; exit 1; }
	[[ -z "$out" ]] || echo "$out" >&2
else
	say "building C and BPF (make)"
	make -j"$(nproc)" >&2
fi

if ((!quiet)); then
	say "done in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}') s"
fi
