#!/usr/bin/env bash
# kernel/smoke.sh - a quick look at the real iterators, without the bench:
# start one workload, run some methods on its tasks with build/native/ibcollect
# and print what each recovered; exit 1 when a bpf-iter-* method fails or
# its counts differ from the manifest's. Meant to run inside the VM:
#   kernel/vm.sh --env IB_REAL_ITER_OBJ=... -- kernel/smoke.sh [SCENARIO] [FILES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scenario=${1:-all}
files=${2:-200}
manifest=${TMPDIR:-/tmp}/smoke-manifest.$$.json
methods=(bpf-iter-io-uring-file bpf-iter-io-uring-buf bpf-iter-epoll bpf-io-uring bpf-epoll procfs)

coproc WL { exec build/workloads/iterbench-workload "$scenario" --files "$files" --manifest "$manifest"; }
wl_in=${WL[1]}
read -r word root <&"${WL[0]}" || word=
[ "$word" = ready ] || { echo "smoke: workload did not start" >&2; exit 1; }
pids=$(jq -r '.tasks[].pid' "$manifest" | tr '\n' ' ')
items=$(jq '[.epoll[].items | length] | add // 0' "$manifest")
ufiles=$(jq '[.io_uring[].files[] | select(. != null)] | length' "$manifest")
ubufs=$(jq '[.io_uring[].buffers[] | select(. != null)] | length' "$manifest")
echo "smoke: $scenario --files $files: root $root, tasks $pids"
echo "smoke: manifest: $items epoll items, $ufiles registered files, $ubufs registered buffers"

status=0
for m in "${methods[@]}"; do
	# shellcheck disable=SC2086
	out=$(build/native/ibcollect -n 5 -q "$m" $pids 2>&1 | grep -E "^(#|ibcollect:)" || true)
	while IFS= read -r l; do echo "smoke: $m: $l"; done <<< "$out"
	case $m in
	bpf-iter-io-uring-file) want="uring-files $ufiles " ;;
	bpf-iter-io-uring-buf) want="uring-bufs $ubufs " ;;
	bpf-iter-epoll) want="epoll-items $items " ;;
	*) continue ;;
	esac
	if ! grep -q "$want" <<< "$out"; then
		echo "smoke: $m: FAILED: expected $want" >&2
		status=1
	fi
done
echo exit >&"$wl_in"
wait "$WL_PID" || true
rm -f "$manifest"
exit $status
