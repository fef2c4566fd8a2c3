#!/usr/bin/env bash
# kernel/selftests/build.sh - build the series' selftests (a test_progs that
# holds only them and btf_dump) from a patched source tree in the kernel
# cache (npm run kernel:test builds it before booting the VM).
#
# The series adds its tests in the kernel's layout
# (tools/testing/selftests/bpf/prog_tests/ and progs/), so they apply and
# run upstream with `make -C tools/testing/selftests/bpf` and
# `./test_progs -t bpf_iter_io_uring,bpf_iter_epoll`. Here the full
# test_progs cannot be built: its ~700 BPF programs include vmlinux.h for
# types that exist only in a kernel configured with
# tools/testing/selftests/bpf/config (netfilter, XDP, cgroup storage,
# bpf_testmod, ...), not in the lane's trimmed kernel, and many need a newer
# clang than Debian's 14 (12.0 is the documented minimum for 6.1, but recent
# tests use newer features). So this script builds what those subtests need,
# the selftests' own way, from that tree:
#   - libbpf and a bootstrap bpftool from tools/ (as the selftests' Makefile)
#   - vmlinux.h from the patched kernel's BTF
#   - progs/<p>.c for p in PROGS: clang -O2 -target bpf -mcpu=v3 with the
#     selftests' BPF_CFLAGS, then bpftool gen object + gen skeleton
#   - prog_tests/tests.h from TESTS, the same sed as the Makefile
#   - test_progs from test_progs.c, its helpers and prog_tests/<t>.c
#
# Usage: kernel/selftests/build.sh [--base 6.1|6.12] [--print-dir]
# The last stdout line is the output directory:
#   $IB_KERNEL_CACHE/selftests-<base>-<key>/ (test_progs, *.bpf.o, build.log)
# keyed by the patches of that base and this script; reused when present.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kernel=$(cd "$here/.." && pwd)
cache=${IB_KERNEL_CACHE:-/var/cache/iterbench/kernel}
base=6.1
print_dir=0

# the subset: test files, BPF programs, and (for run.sh) what to run
TESTS=(bpf_iter_io_uring bpf_iter_epoll btf_dump)
PROGS=(bpf_iter_io_uring bpf_iter_epoll)

die() { printf 'selftests:build: error: %s\n' "$*" >&2; exit 1; }
log() { printf '[selftests:build] %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--base) base=${2:?--base needs 6.1 or 6.12}; shift 2 ;;
	--print-dir) print_dir=1; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1" ;;
	esac
done
case $base in 6.1|6.12) ;; *) die "--base $base: expected 6.1 or 6.12" ;; esac

key=$({
	echo "format 1"
	cat "${BASH_SOURCE[0]}"
	for p in "$kernel/patches/$base"/*.patch; do echo "patch ${p##*/}"; cat "$p"; done
} | sha256sum | cut -c1-16)
out=$cache/selftests-$base-$key
if [ $print_dir = 1 ]; then echo "$out"; exit 0; fi
if [ -x "$out/test_progs" ]; then
	ln -sfn "${out##*/}" "$cache/selftests-$base"
	echo "$out"
	exit 0
fi

# a patched tree of this base: the patched flavor's, else the debug one's
# (kernel/build.sh keeps both with the vmlinux they built)
src= vmlinux=
for f in patched debug; do
	w=$cache/work-$base-$f
	if [ -f "$w/build/vmlinux" ] && [ -f "$w/linux/tools/testing/selftests/bpf/prog_tests/bpf_iter_io_uring.c" ]; then
		src=$w/linux vmlinux=$w/build/vmlinux
		break
	fi
done
[ -n "$src" ] || die "no patched $base tree with a vmlinux in $cache: run kernel/build.sh --base $base --kernel patched first"
st=$src/tools/testing/selftests/bpf
for t in "${TESTS[@]}"; do [ -f "$st/prog_tests/$t.c" ] || die "$st/prog_tests/$t.c is missing"; done
for p in "${PROGS[@]}"; do [ -f "$st/progs/$p.c" ] || die "$st/progs/$p.c is missing"; done

t0=$(date +%s)
tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"/{libbpf,bpftool,include,obj}
exec 3>&2 2>>"$tmp/build.log"
trap 'exec 2>&3; tail -n 30 "$tmp/build.log" >&2; die "failed, see $tmp/build.log"' ERR
run() { printf '+ %s\n' "$*" >&2; nice -n 19 "$@" >&2; }

log "libbpf and bootstrap bpftool from $src/tools"
run make -s -j2 -C "$src/tools/lib/bpf" OUTPUT="$tmp/libbpf/" EXTRA_CFLAGS='-g -O0' \
	DESTDIR="$tmp" prefix= all install_headers
run make -s -j2 -C "$src/tools/bpf/bpftool" OUTPUT="$tmp/bpftool/" bootstrap
bpftool=$tmp/bpftool/bootstrap/bpftool
[ -x "$bpftool" ] || die "no bootstrap bpftool in $tmp/bpftool/bootstrap"

log "vmlinux.h from $vmlinux"
"$bpftool" btf dump file "$vmlinux" format c > "$tmp/obj/vmlinux.h"

# the selftests' BPF_CFLAGS and CLANG_CFLAGS (tools/testing/selftests/bpf/Makefile)
mapfile -t sys_inc < <(clang -v -E - </dev/null 2>&1 |
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter\n\1|p }')
bpf_cflags=(-g -Werror -D__TARGET_ARCH_x86 -mlittle-endian -I"$tmp/include" -I"$st"
	-I"$src/tools/include/uapi" -I"$tmp/obj" "${sys_inc[@]}" -Wno-compare-distinct-pointer-types
	-DENABLE_ATOMICS_TESTS)
for p in "${PROGS[@]}"; do
	log "CLNG-BPF $p.bpf.o, GEN-SKEL $p.skel.h"
	run clang "${bpf_cflags[@]}" -O2 -target bpf -mcpu=v3 -c "$st/progs/$p.c" -o "$tmp/obj/$p.bpf.o"
	run "$bpftool" gen object "$tmp/obj/$p.linked.o" "$tmp/obj/$p.bpf.o"
	"$bpftool" gen skeleton "$tmp/obj/$p.linked.o" name "$p" > "$tmp/obj/$p.skel.h"
	cp "$tmp/obj/$p.bpf.o" "$tmp/"
done

log "TEST-HDR tests.h: ${TESTS[*]}"
mkdir -p "$tmp/obj/prog_tests"
{
	echo '/* Generated header, do not edit */'
	for t in "${TESTS[@]}"; do
		sed -n -E 's/^void (serial_)?test_([a-zA-Z0-9_]+)\((void)?\).*/DEFINE_TEST(\2)/p' "$st/prog_tests/$t.c"
	done | sort
} > "$tmp/obj/prog_tests/tests.h"

# test_progs and its helpers, as TRUNNER_EXTRA_SOURCES in the Makefile
helpers=()
for h in test_progs.c cgroup_helpers.c trace_helpers.c network_helpers.c testing_helpers.c \
	btf_helpers.c cap_helpers.c unpriv_helpers.c netlink_helpers.c jit_disasm_helpers.c \
	test_loader.c xsk.c disasm.c disasm_helpers.c json_writer.c io_helpers.c; do
	[ -f "$st/$h" ] && helpers+=("$st/$h")
done
tests_c=()
for t in "${TESTS[@]}"; do tests_c+=("$st/prog_tests/$t.c"); done
log "BINARY test_progs"
# the selftests' include order; <prog_tests/tests.h> is found in $tmp/obj
run gcc -g -O0 -rdynamic -Wall -Werror -D_GNU_SOURCE= \
	-I"$st" -I"$tmp/include" -I"$src/tools/lib" -I"$src/tools/include" \
	-I"$src/tools/arch/x86/include" -I"$src/tools/include/uapi" -I"$tmp/obj" \
	"${helpers[@]}" "${tests_c[@]}" "$tmp/libbpf/libbpf.a" -lelf -lz -lrt -lpthread \
	-o "$tmp/test_progs"

exec 2>&3
trap - ERR
echo "$(( $(date +%s) - t0 ))" > "$tmp/build-seconds"
printf '%s\n' "${TESTS[@]}" > "$tmp/tests"
rm -rf "$out"
mv "$tmp" "$out"
ln -sfn "${out##*/}" "$cache/selftests-$base"
log "built in $(( $(date +%s) - t0 )) s: $out"
echo "$out"
