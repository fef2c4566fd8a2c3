/* SPDX-License-Identifier: MIT */
/*
 * real_iter.h - what real_iter.bpf.c (the programs for the patched kernel's
 * io_uring_file, io_uring_buf and epoll iterator targets, kernel/patches/)
 * and its user, bench/native/bpf_real.c, share besides the record format
 * (records.h): the program's settings and the instance being read.
 */
#ifndef IB_BPF_REAL_ITER_H
#define IB_BPF_REAL_ITER_H

#include "records.h"

/* settings in .rodata, set by user space between open and load */
struct ri_config {
	__u64 key0;      /* identity mix keys (random per load) */
	__u64 key1;      /* odd */
	__u32 want_kind; /* ri_task_file: report descriptors of this ib_kind */
	__u32 _pad;
};

/*
 * The instance an iterator is about to read (.data.inst, written by user
 * space before each read): the per-item iterators are attached by an
 * epoll's or a ring's descriptor of our own, so the program learns the
 * task and descriptor number to put into its records from here.
 */
struct ri_inst {
	__s32 pid;      /* the task that holds the instance */
	__s32 fd;       /* its descriptor number in that task */
	__u32 nslots;   /* io_uring: slots seen (last index + 1), for the ring record */
	__u32 _pad;
};

#endif /* IB_BPF_REAL_ITER_H */
