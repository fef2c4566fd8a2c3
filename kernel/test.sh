#!/usr/bin/env bash
# kernel/test.sh - npm run kernel:test: the series' selftests in the VM.
#
# For each base and flavor asked for, boots that kernel from the cache
# (kernel/build.sh) under qemu and runs kernel/selftests/run.sh there: the
# io_uring and epoll iterator tests and the btf_dump subtest the series
# updates, through a test_progs built by kernel/selftests/build.sh from the
# base's patched tree. On the debug flavor (KASAN, lockdep,
# DEBUG_ATOMIC_SLEEP) a kernel report during a test fails it. On stock the
# new tests skip ("kernel has no ... iterator target").
#
# Usage: kernel/test.sh [--base 6.1|6.12|all] [--kernel F[,F...]|all]
#                       [--build] [--timeout SEC] [--console FILE]
#   --base B      default all
#   --kernel F    patched, debug, stock, or all (default all)
#   --build       build what is missing (kernel/build.sh; 15-45 min per
#                 kernel on 2 cores); without it a kernel that is not in the
#                 cache is reported "skipped: not built"
#   --timeout S   per VM (default 1800)
#   --console F   also write each VM's serial console to F.<base>-<flavor>
#   --extra-patch FILE
#                 the kernels built with FILE applied after the series
#                 (kernel/build.sh --extra-patch; patched/debug only), e.g.
#                 a fix reverted to show its bug (kernel/evidence/)
# Output: the runner's lines, prefixed "<base>/<flavor>: ", then one line
# per kernel, and last "kernel:test: N passed, N failed, N skipped" (kernels).
# Exit 0 when every kernel that ran passed, 1 otherwise, 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${IB_KERNEL_CACHE:-/var/cache/iterbench/kernel}
bases=(6.1 6.12)
flavors=(patched debug stock)
build=0
timeout=1800
console=
extra=()

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
bad() { printf 'kernel:test: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--base)
		case ${2:-} in
		6.1|6.12) bases=("$2") ;;
		all) bases=(6.1 6.12) ;;
		*) bad "--base ${2:-}: expected 6.1, 6.12 or all" ;;
		esac
		shift 2 ;;
	--kernel)
		[ $# -ge 2 ] || bad "--kernel needs a flavor"
		if [ "$2" = all ]; then
			flavors=(patched debug stock)
		else
			IFS=, read -r -a flavors <<< "$2"
			for f in "${flavors[@]}"; do
				case $f in patched|debug|stock) ;; *) bad "--kernel $f: expected patched, debug, stock or all" ;; esac
			done
		fi
		shift 2 ;;
	--build) build=1; shift ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--console) console=${2:?}; shift 2 ;;
	--extra-patch) extra=(--extra-patch "${2:?}"); shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) bad "unknown argument $1 (see --help)" ;;
	esac
done

passed=0 failed=0 skipped=0
for base in "${bases[@]}"; do
	for flavor in "${flavors[@]}"; do
		tag=$base/$flavor
		read -r _ _ kdir state < <(bash "$here/build.sh" --base "$base" --kernel "$flavor" "${extra[@]}" --print-key)
		if [ "$state" != cached ]; then
			if [ $build = 0 ]; then
				echo "$tag: skipped: not built (kernel/build.sh --base $base --kernel $flavor, or --build)"
				skipped=$((skipped + 1))
				continue
			fi
			kdir=$(bash "$here/build.sh" --base "$base" --kernel "$flavor" "${extra[@]}" | tail -n1)
		fi
		if ! sdir=$(bash "$here/selftests/build.sh" --base "$base" | tail -n1) || [ ! -x "$sdir/test_progs" ]; then
			if [ $build = 1 ] && bash "$here/build.sh" --base "$base" --kernel patched >/dev/null &&
				sdir=$(bash "$here/selftests/build.sh" --base "$base" | tail -n1); then
				:
			else
				echo "$tag: FAIL: the selftests of $base could not be built (kernel/selftests/build.sh --base $base)"
				failed=$((failed + 1))
				continue
			fi
		fi
		# stock has no iterator targets (the new tests skip) and the old
		# UAPI (btf_dump's updated expectation does not hold there)
		tests=(bpf_iter_io_uring bpf_iter_epoll)
		[ "$flavor" = stock ] || tests+=(btf_dump/struct_data)
		run_dir=$(mktemp -d "$(dirname "$cache")/vm/kernel-test-XXXXXX" 2>/dev/null ||
			{ mkdir -p "$(dirname "$cache")/vm" && mktemp -d "$(dirname "$cache")/vm/kernel-test-XXXXXX"; })
		cfile=$run_dir/console
		rc=0
		# every KASAN report, not only the first of the boot
		append=()
		[ "$flavor" != debug ] || append=(--append kasan_multi_shot)
		bash "$here/vm.sh" --bzimage "$kdir/bzImage" --kernel "$flavor" --base "$base" --timeout "$timeout" "${append[@]}" \
			--mem 2048 --run-dir "$run_dir" -- "$here/selftests/run.sh" "$sdir" "${tests[@]}" \
			2> "$cfile" | sed "s|^|$tag: |" || rc=$?
		[ -z "$console" ] || cp "$cfile" "$console.$base-$flavor"
		vmline=$(grep '^vm: ' "$cfile" | tail -n1 || true)
		echo "$tag: $vmline"
		if [ "$rc" = 0 ]; then
			echo "$tag: passed"
			passed=$((passed + 1))
		else
			# the console shows reports that came before the runner could look
			grep -E 'BUG: |KASAN|WARNING: |Kernel panic|vm: error' "$cfile" | head -n 20 | sed "s|^|$tag: console: |" || true
			echo "$tag: FAILED (exit $rc; console in $cfile)"
			failed=$((failed + 1))
		fi
		[ "$rc" != 0 ] || rm -rf "$run_dir"
	done
done
echo "kernel:test: $passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
