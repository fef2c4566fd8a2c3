#!/usr/bin/env bash
# kernel/vm.sh - run one command inside a kernel-lane VM.
#
# Boots a kernel that kernel/build.sh put in the cache under
# qemu-system-x86_64 (software emulation: no KVM here), with this machine's
# root file system shared read-only over 9p, and runs COMMAND in the current
# directory. The guest's init mounts proc, sys, devtmpfs, a tmpfs on /tmp
# (and /dev/shm, /run), bpffs, cgroup2 and a writable 9p share on /mnt (the run
# directory), checks the clocksource, runs the command, and powers off with
# `reboot -f` (qemu runs with -no-reboot).
#
# Usage: kernel/vm.sh [options] -- COMMAND [ARG...]
#   --base 6.1|6.12         which base's cached kernel (default 6.1)
#   --kernel patched|stock|debug  which flavor (default patched)
#   --bzimage PATH          boot this bzImage instead
#   --timeout SEC           kill the VM after SEC seconds (default 1800)
#   --mem MB                guest memory (default 4096)
#   --cpus N                guest CPUs (default: host CPUs)
#   --env NAME=VALUE        set in the command's environment (repeatable)
#   --append PARAMS         more kernel command line (e.g. kasan_multi_shot)
#   --run-dir DIR           the writable share (default: a new directory
#                           under $IB_KERNEL_CACHE/../vm); kept afterwards
#   --allow-jiffies         run even when the guest clocksource is jiffies
#
# The command's stdout is stored in RUN_DIR/stdout and printed on this
# script's stdout when the VM is gone; its stderr and the kernel console go
# to this script's stderr. Inside the guest the run directory is /mnt and
# IB_VM_OUT=/mnt. The exit status is the command's; 124 on timeout, 125
# when the VM failed before running it, 3 when the clocksource is jiffies.
# A summary line "vm: ..." (release, clocksource, boot and run times) ends
# stderr, and RUN_DIR/vm.json holds the same facts.
set -euo pipefail

cache=${IB_KERNEL_CACHE:-/var/cache/iterbench/kernel}
flavor=patched
base=6.1
bzimage=
timeout=1800
mem=4096
cpus=$(nproc)
run_dir=
allow_jiffies=0
envs=()
extra_append=

die() { printf 'vm: error: %s\n' "$*" >&2; exit 125; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) flavor=${2:?}; shift 2 ;;
	--base) base=${2:?}; shift 2 ;;
	--bzimage) bzimage=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--cpus) cpus=${2:?}; shift 2 ;;
	--env) envs+=("${2:?}"); shift 2 ;;
	--append) extra_append+=" ${2:?}"; shift 2 ;;
	--run-dir) run_dir=${2:?}; shift 2 ;;
	--allow-jiffies) allow_jiffies=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
[ $# -gt 0 ] || die "no command (usage: kernel/vm.sh [options] -- COMMAND...)"
case $flavor in patched|stock|debug) ;; *) die "--kernel $flavor: expected patched, stock or debug" ;; esac
case $base in 6.1|6.12) ;; *) die "--base $base: expected 6.1 or 6.12" ;; esac

if [ -z "$bzimage" ]; then
	bzimage=$cache/$flavor-$base/bzImage
	[ -f "$bzimage" ] || die "no built $flavor $base kernel in $cache, run npm run kernel:build -- --base $base --kernel $flavor"
fi
[ -f "$bzimage" ] || die "$bzimage: no such file"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"

if [ -z "$run_dir" ]; then
	mkdir -p "$cache/../vm"
	run_dir=$(mktemp -d "$(cd "$cache/.." && pwd)/vm/run-XXXXXX")
fi
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
case $run_dir in /tmp|/tmp/*|/run|/run/*) die "--run-dir must not be under /tmp or /run (the guest mounts tmpfs there)" ;; esac
rm -f "$run_dir"/{stdout,rc,clocksource,release,uptime-init,uptime-end,vm.json}

# the command, as a script the guest runs from the read-only root
{
	echo '#!/bin/sh'
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'export PATH=%q\n' "$PATH"
	echo 'export HOME=/tmp TMPDIR=/tmp IB_VM_OUT=/mnt'
	for e in "${envs[@]}"; do
		printf 'export %q\n' "$e"
	done
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} > "$run_dir/cmd.sh"
chmod +x "$run_dir/cmd.sh"

cat > "$run_dir/init.sh" <<'EOF'
#!/bin/sh
# guest init, written by kernel/vm.sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ibout /mnt || {
	echo "vm init: cannot mount the run directory" >&2
	reboot -f
}
# a working directory the guest's tmpfs would hide (e.g. a clone under /tmp)
if [ -s /mnt/workdir ]; then
	wd=$(cat /mnt/workdir)
	mkdir -p "$wd" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro ibwork "$wd" ||
		echo "vm init: cannot mount the working directory $wd" >&2
fi
ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null || echo "vm init: cannot bring up lo" >&2
hostname iterbench-vm
cut -d' ' -f1 /proc/uptime > /mnt/uptime-init
uname -r > /mnt/release
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
echo "$cs" > /mnt/clocksource
echo "vm init: kernel $(uname -r), clocksource $cs" >&2
if [ "$cs" = jiffies ] && [ "$(cat /mnt/allow-jiffies)" != 1 ]; then
	echo "vm init: clocksource is jiffies (time reads quantized to 1/HZ): not running the command" >&2
	echo 3 > /mnt/rc
else
	/mnt/cmd.sh > /mnt/stdout </dev/null
	rc=$?
	echo $rc > /mnt/rc
	# a command killed by a signal: what the guest kernel said about it
	# (a segfault's line names the faulting binary or library)
	if [ "$rc" -gt 128 ]; then
		echo "vm init: the command died of signal $((rc - 128)); the guest kernel's last lines:" >&2
		dmesg 2>/dev/null | tail -n 20 >&2
	fi
fi
cut -d' ' -f1 /proc/uptime > /mnt/uptime-end
sync
reboot -f
EOF
chmod +x "$run_dir/init.sh"
echo "$allow_jiffies" > "$run_dir/allow-jiffies"
# The guest mounts tmpfs on /tmp and /run: a working directory there is
# shared on its own (read-only) and mounted back at the same path.
workdir_share=()
: > "$run_dir/workdir"
case $PWD in
/tmp/*|/run/*)
	echo "$PWD" > "$run_dir/workdir"
	# shellcheck disable=SC2054 # -device and -fsdev take comma-separated options
	workdir_share=(-fsdev "local,id=work,path=$PWD,security_model=none,readonly=on,multidevs=remap"
		-device virtio-9p-pci,fsdev=work,mount_tag=ibwork)
	;;
esac

# The guest sees the run directory both at its host path (read-only root,
# from which the kernel starts init.sh) and at /mnt (writable share).
# root= is the 9p mount tag: 6.1 strips a "/dev/" prefix from it for a
# nodev root, 6.12 passes it to 9pnet_virtio as it is
append="console=ttyS0 loglevel=4 panic=-1 rootfstype=9p root=root"
append+=" rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
append+=" init=$run_dir/init.sh$extra_append"

t0=$(date +%s.%N)
# shellcheck disable=SC2054 # -device and -fsdev take comma-separated options
qemu_args=(
	-nodefaults -no-user-config -machine pc -cpu max -smp "$cpus" -m "$mem"
	-display none -monitor none -serial stdio -no-reboot
	-kernel "$bzimage" -append "$append"
	-fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=root,mount_tag=root
	-fsdev "local,id=out,path=$run_dir,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=out,mount_tag=ibout
	"${workdir_share[@]}"
)
# qemu must never outlive this script: it dies with it (pdeathsig), and the
# traps below kill it on exit, on signals and on timeout.
setpriv --pdeathsig SIGKILL -- qemu-system-x86_64 "${qemu_args[@]}" </dev/null >&2 &
qpid=$!
# shellcheck disable=SC2064
trap "kill -KILL $qpid 2>/dev/null || true" EXIT
trap 'exit 130' INT TERM

timed_out=0
deadline=$(( $(date +%s) + timeout ))
while kill -0 "$qpid" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		timed_out=1
		kill -KILL "$qpid" 2>/dev/null || true
		break
	fi
	sleep 0.2
done
wait "$qpid" 2>/dev/null || true
t1=$(date +%s.%N)

rd() { if [ -f "$run_dir/$1" ]; then tr -d '\n' < "$run_dir/$1"; fi; }
release=$(rd release)
cs=$(rd clocksource)
up0=$(rd uptime-init)
up1=$(rd uptime-end)
rc=$(rd rc)
total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
boot=${up0:-null}
run=null
[ -n "$up0" ] && [ -n "$up1" ] && run=$(awk -v a="$up0" -v b="$up1" 'BEGIN { printf "%.2f", b - a }')
printf '{"kernel":"%s","base":"%s","release":"%s","clocksource":"%s","bootSeconds":%s,"commandSeconds":%s,"wallSeconds":%s,"exitCode":%s,"timedOut":%s}\n' \
	"$flavor" "$base" "$release" "$cs" "$boot" "$run" "$total" "${rc:-null}" \
	"$([ $timed_out = 1 ] && echo true || echo false)" > "$run_dir/vm.json"

[ -f "$run_dir/stdout" ] && cat "$run_dir/stdout"
printf 'vm: kernel %s (%s), clocksource %s, boot %ss (guest uptime at init), command %ss, wall %ss, run dir %s\n' \
	"${release:-?}" "$flavor" "${cs:-?}" "${up0:-?}" "$run" "$total" "$run_dir" >&2
if [ $timed_out = 1 ]; then
	printf 'vm: error: timed out after %ss, VM killed\n' "$timeout" >&2
	exit 124
fi
[ -n "$rc" ] || die "the VM stopped before the command finished (see the console output above)"
if [ "$rc" = 3 ] && [ "$cs" = jiffies ]; then
	printf 'vm: error: guest clocksource is jiffies; refusing to measure (--allow-jiffies to override)\n' >&2
fi
exit "$rc"
