/* SPDX-License-Identifier: MIT */
/*
 * procfs.h - the procfs method's per-descriptor work, shared by the methods
 * that read descriptors the same way: procfs and floor-procfs (procfs.c),
 * procfs-parallel and its floor (procfs_parallel.c), and the fdinfo
 * parsing pidfd-getfd applies to its local copies (pidfd.c). One
 * implementation, so that "the same answer as procfs" holds by
 * construction and verify shows it.
 */
#ifndef IB_PROCFS_H
#define IB_PROCFS_H

#include <limits.h>
#include <stdint.h>
#include "method.h"
#include "procfs_util.h"

/* reused buffers of one reader (one per thread) */
struct ib_procfs_scratch {
	struct ib_pf_buf ibuf;    /* fdinfo text */
	struct ib_pf_buf scratch; /* unescaped io_uring paths */
	char link[PATH_MAX + 1];
};

void ib_procfs_scratch_free(struct ib_procfs_scratch *s);

/*
 * Descriptor fd of tk (its fd/ and fdinfo/ open): readlinkat + fstatat +
 * fdinfo, one IB_REC_FD and the epoll / io_uring records its fdinfo holds.
 * The time spent parsing epoll and io_uring tables is added to *epoll_ns and
 * *uring_ns. Returns 0 (a descriptor that vanished is a note), or a negative
 * errno with out->err set.
 */
int ib_procfs_fd(struct ib_procfs_scratch *s, const struct ib_pf_task *tk, int fd,
		 struct ib_out *out, uint64_t *epoll_ns, uint64_t *uring_ns);

/* floor-procfs for one descriptor: the same syscalls, nothing parsed, no
 * record; adds the fdinfo bytes read to *bytes and 1 to *nfd */
int ib_procfs_floor_fd(struct ib_procfs_scratch *s, const struct ib_pf_task *tk, int fd,
		       struct ib_out *out, uint64_t *bytes, uint64_t *nfd);

/* the floors' one note: how many descriptors and fdinfo bytes they read */
int ib_procfs_floor_note(struct ib_out *out, int pid, uint64_t nfd, uint64_t bytes);

/* the records of an epoll fdinfo's "tfd:" lines in [p, end) */
int ib_procfs_emit_epoll(struct ib_out *out, int pid, int epfd, const char *p, const char *end);

/* the records of an io_uring fdinfo's UserFiles/UserBufs tables in [p, end) */
int ib_procfs_emit_uring(struct ib_out *out, struct ib_procfs_scratch *s, int pid, int ring_fd,
			 const char *p, const char *end);

#endif /* IB_PROCFS_H */
