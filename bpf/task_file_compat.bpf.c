// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * task_file_compat.bpf.c - task_file.bpf.c for kernels without the
 * bpf_rdonly_cast kfunc (before 6.2): untrusted kernel memory is read with
 * bpf_probe_read_kernel. bench/native/bpf.c picks this object when the
 * running kernel's BTF lacks bpf_rdonly_cast (or IB_BPF_COMPAT=1 is set).
 */
#define TF_COMPAT 1
#include "task_file.bpf.c"
