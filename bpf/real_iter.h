/* SPDX-License-Identifier: MIT */
/*
 * real_iter.h - what real_iter.bpf.c (the programs for the patched kernel's
 * io_uring_file, io_uring_buf and epoll iterator targets, kernel/patches/)
 * and its user, bench/native/bpf_real.c, share besides the record format
 * (records.h): the programs' settings.
 *
 * The programs keep no state between calls and none per reader: nothing
 * but these read-only settings is shared, so two readers of one loaded
 * object may read at the same time on two CPUs. A program does not know
 * which task and descriptor the instance it walks belongs to (the link is
 * attached by a descriptor of the reader): it leaves h.pid 0 and the
 * instance's descriptor field (ring_fd, epfd: at offset RI_FD_OFFSET of
 * each of its records) -1, and the reader, which knows which instance it
 * read, writes them into the records it got.
 */
#ifndef IB_BPF_REAL_ITER_H
#define IB_BPF_REAL_ITER_H

#include "records.h"

/* ri_config.ring: which program writes a ring's ib_rec_uring_ring, and with what */
#define RI_RING_FROM_FILES (1u << 0) /* io_uring_file, at slot 0: nr_files */
#define RI_RING_FROM_BUFS  (1u << 1) /* io_uring_buf, at slot 0: nr_bufs */
/* one record with both counts (status 0): io_uring_file writes it when the
 * ring has file slots, else io_uring_buf (when it has buffer slots) */
#define RI_RING_BOTH       (1u << 2)

/* settings in .rodata, set by user space between open and load */
struct ri_config {
	__u64 key0;       /* identity mix keys (random per load) */
	__u64 key1;       /* odd */
	__u32 want_kinds; /* ri_task_file: report descriptors of these ib_kinds (1 << kind) */
	__u32 ring;       /* RI_RING_* */
};

/* the offset of ring_fd / epfd in every record the iterator programs write */
#define RI_FD_OFFSET 8

#endif /* IB_BPF_REAL_ITER_H */
