#!/bin/sh
# kernel/selftests/run.sh - run the series' selftests inside a kernel-lane VM
# (kernel/test.sh starts it through kernel/vm.sh; it needs the VM's root).
#
# Usage: run.sh DIR [T...]
#   DIR  a directory kernel/selftests/build.sh made (test_progs, tests)
#   T    test_progs -t filters (default: the two new tests and
#        btf_dump/struct_data, whose expectation needs the series' UAPI)
# Runs `test_progs -v -t T` for each T, one test at a time, with a
# marker in the kernel log before and after each. A kernel report in the log
# between the markers (KASAN, lockdep, a BUG or WARNING, a sleep in atomic
# context) fails that test whatever test_progs said: KASAN and lockdep
# report and go on, so test_progs alone would not notice. Prints one line
# per subtest ("selftest: <test>/<subtest>: OK|FAIL|SKIP"), the reports,
# and a last line "N passed, N failed, N skipped" (subtests, plus one
# failure per test with a kernel report). Exit 0 when nothing failed.
set -u
dir=${1:?usage: run.sh DIR [T...]}
shift
cd "$dir" || exit 125
# substring filters, as -t takes them: the two new tests, and the btf_dump
# subtest whose expectation the series updates (the others need a kernel
# configured with the selftests' config; see build.sh)
tests=${*:-bpf_iter_io_uring bpf_iter_epoll btf_dump/struct_data}
log=${TMPDIR:-/tmp}/selftests.$$
pass=0 fail=0 skip=0
kmsg() { echo "iterbench-selftest: $*" > /dev/kmsg 2>/dev/null || true; }

echo "selftest: kernel $(uname -r)"
for t in $tests; do
	kmsg "start $t"
	before=$(dmesg | wc -l)
	./test_progs -v -t "$t" > "$log.out" 2>&1
	rc=$?
	kmsg "end $t"
	dmesg | tail -n +"$((before + 1))" > "$log.dmesg"
	# the whole -v log next to the VM's other products, the rest here
	# without the passing assertions
	[ -z "${IB_VM_OUT:-}" ] || cp "$log.out" "$IB_VM_OUT/test_progs-$(echo "$t" | tr '/' '_').log"
	grep -v ':PASS:' "$log.out" | while IFS= read -r l; do printf 'selftest: %s: | %s\n' "$t" "$l"; done
	# "#12/3    bpf_iter_io_uring/io_uring_file:OK" -> "OK bpf_iter_io_uring/io_uring_file"
	results=$(sed -n -E 's/^#[0-9]+(\/[0-9]+)?[[:space:]]+(.*):(OK|FAIL|SKIP)$/\3 \2/p' "$log.out")
	echo "$results" | while read -r res name; do
		[ -n "$name" ] && echo "selftest: $name: $res"
	done
	# count subtests, or the test itself when it has none
	subs=$(echo "$results" | grep -c '/')
	if [ "$subs" -gt 0 ]; then
		counted=$(echo "$results" | grep '/')
	else
		counted=$results
	fi
	p=$(echo "$counted" | grep -c '^OK ')
	f=$(echo "$counted" | grep -c '^FAIL ')
	s=$(echo "$counted" | grep -c '^SKIP ')
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "selftest: $t: test_progs exited $rc"
		fail=$((fail + 1))
	fi
	if [ -z "$results" ] && [ $rc -eq 0 ]; then
		echo "selftest: $t: FAIL: no test matched"
		fail=$((fail + 1))
	fi
	if grep -E -q 'BUG: |WARNING: |INFO: |general protection fault|Oops|possible (circular|recursive) locking|sleeping function called from invalid context|KASAN' "$log.dmesg"; then
		echo "selftest: $t: FAIL: kernel report during the test:"
		while IFS= read -r l; do printf 'selftest: %s: ! %s\n' "$t" "$l"; done < "$log.dmesg"
		fail=$((fail + 1))
	fi
done
rm -f "$log.out" "$log.dmesg"
echo "selftests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
