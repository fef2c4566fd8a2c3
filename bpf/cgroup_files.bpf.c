// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * cgroup_files.bpf.c - task_file.bpf.c with its cgroup iterator program
 * (bpf-cgroup-fds, floor-cgroup-walk): a walk of one cgroup's processes
 * with the css_task kfuncs (Linux 6.7+) and of their descriptor tables.
 * A separate object because those kfuncs are not on every kernel the
 * task_file objects load on (a missing kfunc fails the whole object's load).
 * bench/native/bpf.c loads only the program its method uses.
 */
#define TF_CGROUP 1
#include "task_file.bpf.c"
