#!/usr/bin/env bash
# kernel/build.sh - build the kernel lane's kernels (npm run kernel:build).
#
# Builds Debian's linux-source-<base> (6.1 or 6.12) into a cache outside
# the repo, in up to three flavors:
#   patched  the sources + kernel/patches/<base>/ (the io_uring_file,
#            io_uring_buf and epoll iterator targets and their selftests)
#   stock    the same sources without the series
#   debug    patched + kernel/config/debug.config (KASAN, lockdep,
#            DEBUG_ATOMIC_SLEEP): for the selftests (npm run kernel:test)
# all configured as tinyconfig + kernel/config/iterbench.config (+ the debug
# fragment). Each build is keyed by (source package version, flavor,
# patches, config fragments) and reused when nothing changed. A flavor's
# source and object trees are kept between builds (one per base and flavor)
# and only files whose content changed are rewritten, so a changed patch
# costs an incremental make, not a full build.
#
# Products, in $IB_KERNEL_CACHE/<flavor>-<key>/ (the symlink
# $IB_KERNEL_CACHE/<flavor>-<base> points at the last one built):
#   bzImage, config, release (uname -r), vmlinux.h (from the built BTF),
#   build.log, build-seconds, and for patched and debug real_iter.bpf.o
#   (bpf/real_iter.bpf.c compiled against that vmlinux.h; rebuilt when its
#   sources change).
#
# Usage: kernel/build.sh [--base 6.1|6.12] [--kernel F] [--print-key] [-j N]
#   --base B      which Debian source package: linux-source-B (default 6.1)
#   --kernel F    patched, stock, debug, or all (= patched stock; default)
#   --extra-patch FILE
#                 apply FILE after the series (patched/debug only; part of
#                 the key; the <flavor>-<base> symlink is left alone). Used
#                 to show a bug with its fix reverted (kernel/evidence/).
#   --print-key   print "<flavor> <key> <dir> cached|not-built" and exit
#                 (no build, no package installation)
#   -j N          make jobs (default: 2)
# Builds run under nice -n 19 (the machine is shared).
# The last stdout line is the cache directory of the last flavor handled.
# Progress and elapsed time go to stderr. Installs missing build tools with
# apt-get when run as root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${IB_KERNEL_CACHE:-/var/cache/iterbench/kernel}
base=6.1
fragment=$here/config/iterbench.config
debug_fragment=$here/config/debug.config
jobs=2
flavors=(patched stock)
extra_patch=
print_key=0

t_start=$(date +%s)
log() { printf '[kernel:build %4ds] %s\n' "$(( $(date +%s) - t_start ))" "$*" >&2; }
die() { printf 'kernel:build: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
	--base)
		[ $# -ge 2 ] || die "--base needs 6.1 or 6.12"
		case $2 in
		6.1|6.12) base=$2 ;;
		*) die "--base $2: expected 6.1 or 6.12" ;;
		esac
		shift 2 ;;
	--base=*) set -- --base "${1#--base=}" "${@:2}" ;;
	--kernel)
		[ $# -ge 2 ] || die "--kernel needs patched, stock, debug or all"
		case $2 in
		patched|stock|debug) flavors=("$2") ;;
		all) flavors=(patched stock) ;;
		*) die "--kernel $2: expected patched, stock, debug or all" ;;
		esac
		shift 2 ;;
	--kernel=*) set -- --kernel "${1#--kernel=}" "${@:2}" ;;
	--extra-patch)
		[ $# -ge 2 ] || die "--extra-patch needs a file"
		[ -f "$2" ] || die "--extra-patch $2: no such file"
		extra_patch=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
		shift 2 ;;
	--print-key|--dry-run) print_key=1; shift ;;
	-j) [ $# -ge 2 ] || die "-j needs a number"; jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

srcpkg=linux-source-$base
tarball=/usr/src/$srcpkg.tar.xz
patchdir=$here/patches/$base

# --- the series, in order ---------------------------------------------------
patches=()
[ -f "$patchdir/series" ] || die "kernel/patches/$base/series is missing"
while read -r p; do
	case $p in ''|'#'*) continue ;; esac
	[ -f "$patchdir/$p" ] || die "kernel/patches/$base/series lists $p, which does not exist"
	patches+=("$patchdir/$p")
done < "$patchdir/series"
[ ${#patches[@]} -gt 0 ] || die "kernel/patches/$base/series lists no patch"
if [ -n "$extra_patch" ]; then
	for f in "${flavors[@]}"; do
		[ "$f" != stock ] || die "--extra-patch applies to patched or debug, not stock"
	done
fi

# options that must be =y after olddefconfig: every CONFIG_X=y of the fragment
mapfile -t required < <(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=y$/\1/p' "$fragment")
mapfile -t required_debug < <(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=y$/\1/p' "$debug_fragment")

srcversion() {
	dpkg-query -W -f='${Version}' "$srcpkg" 2>/dev/null || echo missing
}

cache_key() { # flavor
	local flavor=$1
	{
		echo "source $srcpkg $(srcversion)"
		echo "flavor $flavor"
		echo "format 1"
		cat "$fragment"
		if [ "$flavor" = debug ]; then
			cat "$debug_fragment"
		fi
		if [ "$flavor" != stock ]; then
			for p in "${patches[@]}"; do
				echo "patch $(basename "$p")"
				cat "$p"
			done
			if [ -n "$extra_patch" ]; then
				echo "extra $(basename "$extra_patch")"
				cat "$extra_patch"
			fi
		fi
	} | sha256sum | cut -c1-16
}

if [ $print_key = 1 ]; then
	for f in "${flavors[@]}"; do
		k=$(cache_key "$f")
		d=$cache/$f-$k
		if [ -f "$d/bzImage" ]; then s=cached; else s=not-built; fi
		echo "$f $k $d $s"
	done
	exit 0
fi

# --- tools --------------------------------------------------------------------
need_pkgs=()
need() { # command package
	command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2")
}
need make make
need gcc gcc
need flex flex
need bison bison
need bc bc
need perl perl
need xz xz-utils
need patch patch
need rsync rsync
need pahole dwarves
need clang clang
need bpftool bpftool
need qemu-system-x86_64 qemu-system-x86
[ -f /usr/include/libelf.h ] || need_pkgs+=(libelf-dev)
[ -f /usr/include/openssl/ssl.h ] || need_pkgs+=(libssl-dev)
[ -f /usr/include/bpf/bpf_helpers.h ] || need_pkgs+=(libbpf-dev)
[ -f "$tarball" ] || need_pkgs+=("$srcpkg")
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing missing packages: ${need_pkgs[*]}"
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		die "missing ${need_pkgs[*]}; install them (Debian: apt-get install ${need_pkgs[*]})"
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q "${need_pkgs[@]}" >&2; then
		apt-get update -q >&2 || die "apt-get update failed"
		apt-get install -y -q "${need_pkgs[@]}" >&2 || die "apt-get install ${need_pkgs[*]} failed"
	fi
fi
[ -f "$tarball" ] || die "$tarball is missing after installing $srcpkg"

version=$(srcversion)
mkdir -p "$cache"

# --- pristine sources, extracted once per package version ---------------------
pristine=$cache/src/$version/$srcpkg
if [ ! -f "$pristine/.iterbench-extracted" ]; then
	log "extracting $tarball ($srcpkg $version)"
	rm -rf "$cache/src/$version"
	mkdir -p "$cache/src/$version"
	tar -C "$cache/src/$version" -xf "$tarball"
	[ -f "$pristine/Makefile" ] || die "$tarball did not extract to $srcpkg/"
	touch "$pristine/.iterbench-extracted"
fi

build_flavor() {
	local flavor=$1 key dir work stage opt missing rc t0 release frag
	key=$(cache_key "$flavor")
	dir=$cache/$flavor-$key
	work=$cache/work-$base-$flavor

	if [ -f "$dir/bzImage" ]; then
		log "$flavor: cached ($dir)"
	else
		t0=$(date +%s)
		log "$flavor: building (key $key)"
		# (Starting a first stock build from patched's object tree does not
		# help: Kbuild keeps each object's command line, which names the
		# absolute source tree, so every object of a copy at another path
		# is rebuilt. Tried: 6.1 stock seeded from patched took as long as
		# a full build.)
		mkdir -p "$work" "$dir"

		# sources: pristine + series in a hard-linked staging tree, then
		# synced by content into the flavor's tree (unchanged files keep
		# their mtime, so make rebuilds only what the series changed)
		stage=$work/stage
		rm -rf "$stage"
		cp -al "$pristine" "$stage"
		if [ "$flavor" != stock ]; then
			for p in "${patches[@]}" ${extra_patch:+"$extra_patch"}; do
				log "$flavor: applying $(basename "$p")"
				if ! patch -d "$stage" -p1 --batch --forward --quiet \
					--no-backup-if-mismatch < "$p" >"$work/patch.log" 2>&1; then
					cat "$work/patch.log" >&2
					die "patch $(basename "$p") does not apply to $srcpkg $version"
				fi
			done
		fi
		# -rlpgoD: -a without -t, so a file whose content did not change
		# keeps its mtime even when patch rewrote it
		rsync -rlpgoD --checksum --delete --exclude=/.iterbench-extracted --exclude=/.git \
			"$stage/" "$work/linux/"
		rm -rf "$stage"

		# configuration
		frag=("$fragment")
		[ "$flavor" != debug ] || frag+=("$debug_fragment")
		log "$flavor: configuring (tinyconfig + ${frag[*]##*/})"
		mkdir -p "$work/build"
		# a .config that did not change keeps its mtime (no needless rebuild)
		[ ! -f "$work/build/.config" ] || cp -p "$work/build/.config" "$work/config.old"
		make -s -C "$work/linux" O="$work/build" ARCH=x86_64 tinyconfig >/dev/null
		"$work/linux/scripts/kconfig/merge_config.sh" -m -O "$work/build" \
			"$work/build/.config" "${frag[@]}" >"$work/merge.log" 2>&1 ||
			{ cat "$work/merge.log" >&2; die "merge_config.sh failed"; }
		make -s -C "$work/linux" O="$work/build" ARCH=x86_64 olddefconfig >/dev/null
		if [ -f "$work/config.old" ] && cmp -s "$work/config.old" "$work/build/.config"; then
			cp -p "$work/config.old" "$work/build/.config"
		fi
		missing=()
		for opt in "${required[@]}"; do
			grep -q "^$opt=y\$" "$work/build/.config" || missing+=("$opt")
		done
		if [ "$flavor" = debug ]; then
			for opt in "${required_debug[@]}"; do
				grep -q "^$opt=y\$" "$work/build/.config" || missing+=("$opt")
			done
		fi
		[ ${#missing[@]} -eq 0 ] ||
			die "$flavor: olddefconfig dropped required options: ${missing[*]} (a dependency is missing from $fragment)"

		# build, progress every 30 s
		log "$flavor: make -j$jobs bzImage (log: $dir/build.log)"
		setsid nice -n 19 make -C "$work/linux" O="$work/build" ARCH=x86_64 \
			LOCALVERSION="-iterbench-$flavor" -j"$jobs" bzImage >"$dir/build.log" 2>&1 &
		local mk=$!
		# make runs in its own process group: stop all of it if we are stopped
		# shellcheck disable=SC2064
		trap "kill -- -$mk 2>/dev/null; exit 130" INT TERM
		# shellcheck disable=SC2064
		trap "kill -- -$mk 2>/dev/null || true" EXIT
		while kill -0 "$mk" 2>/dev/null; do
			sleep 30 &
			wait $! || true
			kill -0 "$mk" 2>/dev/null &&
				log "$flavor: building... $(grep -E '^  [A-Z]+ ' "$dir/build.log" | tail -n1 | sed 's/^ *//')"
		done
		rc=0
		wait "$mk" || rc=$?
		trap - EXIT INT TERM
		if [ $rc -ne 0 ]; then
			grep -E 'error|Error' "$dir/build.log" | head -20 >&2 || true
			die "$flavor: make bzImage failed (exit $rc), see $dir/build.log"
		fi

		release=$(make -s -C "$work/linux" O="$work/build" ARCH=x86_64 \
			LOCALVERSION="-iterbench-$flavor" kernelrelease 2>/dev/null | tail -n1)
		cp "$work/build/.config" "$dir/config"
		echo "$release" > "$dir/release"
		bpftool btf dump file "$work/build/vmlinux" format c > "$dir/vmlinux.h.tmp"
		mv "$dir/vmlinux.h.tmp" "$dir/vmlinux.h"
		cp "$work/build/arch/x86/boot/bzImage" "$dir/bzImage.tmp"
		mv "$dir/bzImage.tmp" "$dir/bzImage"
		echo "$(( $(date +%s) - t0 ))" > "$dir/build-seconds"
		log "$flavor: built $release in $(( $(date +%s) - t0 )) s"
	fi

	if [ "$flavor" != stock ]; then
		build_bpf "$dir"
	fi
	[ -n "$extra_patch" ] || ln -sfn "$(basename "$dir")" "$cache/$flavor-$base"
	last_dir=$dir
}

# real_iter.bpf.o against the patched kernel's vmlinux.h, when missing or
# older than its sources (bpf/real_iter.bpf.c and bpf/*.h). A program that does not compile against this base's types is a
# warning, not a failure: the kernel is still good for kernel:test, and the
# bench skips the bpf-iter-* methods without the object.
build_bpf() { # dir
	local dir=$1 src=$repo/bpf/real_iter.bpf.c
	local obj=$dir/real_iter.bpf.o
	if [ ! -f "$src" ]; then
		log "warning: no $src: no real_iter.bpf.o"
		return 0
	fi
	if [ -f "$obj" ] && [ -z "$(find "$src" "$repo"/bpf/*.h -newer "$obj")" ]; then
		return 0
	fi
	log "compiling real_iter.bpf.o ($src)"
	if clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall \
		-I"$dir" -I"$repo/bpf" \
		-idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
		-c "$src" -o "$obj.tmp" 2>"$dir/real_iter.log"; then
		mv "$obj.tmp" "$obj"
	else
		rm -f "$obj.tmp" "$obj"
		sed 's/^/  /' "$dir/real_iter.log" | head -n 20 >&2
		log "warning: $src does not compile against the $base vmlinux.h (see $dir/real_iter.log): no real_iter.bpf.o, the bench will skip the bpf-iter-* methods on this kernel"
	fi
}

last_dir=
for f in "${flavors[@]}"; do
	build_flavor "$f"
done
log "done"
echo "$last_dir"
