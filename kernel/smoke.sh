#!/usr/bin/env bash
# kernel/smoke.sh - a quick look at the real iterators, without the bench:
# start one workload, run some methods on its tasks with build/native/ibcollect
# and print what each recovered. Meant to run inside the VM:
#   kernel/vm.sh --env IB_REAL_ITER_OBJ=... -- kernel/smoke.sh [SCENARIO] [FILES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scenario=${1:-all}
files=${2:-200}
methods=(bpf-iter-io-uring-file bpf-iter-io-uring-buf bpf-iter-epoll bpf-io-uring bpf-epoll procfs)

coproc WL { exec build/workloads/iterbench-workload "$scenario" --files "$files" --manifest /tmp/smoke-manifest.json; }
trap 'echo exit >&"${WL[1]}" 2>/dev/null || true; wait' EXIT
read -r word root <&"${WL[0]}"
[ "$word" = ready ] || { echo "smoke: workload did not start ($word)" >&2; exit 1; }
pids=$(jq -r '.tasks[].pid' /tmp/smoke-manifest.json | tr '\n' ' ')
echo "smoke: $scenario --files $files: root $root, tasks $pids"
echo "smoke: manifest: $(jq '[.epoll[].items | length] | add // 0' /tmp/smoke-manifest.json) epoll items," \
	"$(jq '[.io_uring[].files[] | select(. != null)] | length' /tmp/smoke-manifest.json) registered files," \
	"$(jq '[.io_uring[].buffers[] | select(. != null)] | length' /tmp/smoke-manifest.json) registered buffers"
for m in "${methods[@]}"; do
	# shellcheck disable=SC2086
	build/native/ibcollect -n 5 -q "$m" $pids 2>&1 | sed "s/^/smoke: $m: /" || true
done
