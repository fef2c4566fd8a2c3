/* SPDX-License-Identifier: MIT */
/*
 * method.h - one recovery method = one struct ib_method, defined in its own
 * file and listed once in registry.c.
 *
 * Life cycle, driven from JavaScript through addon.c:
 *   open()    once per (method, set of target pids): everything that is set-up
 *             rather than recovery (BPF load and verify, link creation).
 *             Timed separately as the method's "cold" cost.
 *   collect() the measured work: recover the state of the target tasks and
 *             append records (records.h) to out. Called many times; it must
 *             reset nothing but its own scratch state and must not leak.
 *   close()   undo open().
 *
 * Errors are values: return a negative errno and describe the failure with
 * ib_out_error(out, ...). A message is lowercase, says what failed and
 * carries strerror. open() returning -EOPNOTSUPP means "this lane cannot run
 * on this kernel/machine" (no BTF, no such iterator target, no privilege):
 * the harness reports it as "skipped: <message>", never as a pass.
 */
#ifndef IB_METHOD_H
#define IB_METHOD_H

#include <stddef.h>
#include <stdint.h>
#include "records.h"

/* Kinds of state, for coverage declarations (index into ib_method.coverage). */
enum ib_cov {
	IB_COV_FD = 0,       /* which descriptors each task has */
	IB_COV_FD_META,      /* kind, dev, ino of each descriptor */
	IB_COV_FD_POS,       /* file position */
	IB_COV_FD_FLAGS,     /* open flags */
	IB_COV_FD_IDENTITY,  /* which descriptors (of all tasks) share one open file */
	IB_COV_EPOLL_ITEM,   /* epoll items: tfd, events, data */
	IB_COV_EPOLL_TARGET, /* which open file each epoll item watches */
	IB_COV_URING_FILE,   /* io_uring registered file slots and their open files */
	IB_COV_URING_BUF,    /* io_uring registered buffers: address and length */
	IB_COV__N,
};

/* Stages a method may time inside collect(), in ns (0 = not applicable). */
enum ib_stage {
	IB_STAGE_ENUMERATE = 0,
	IB_STAGE_METADATA,
	IB_STAGE_IDENTITY,
	IB_STAGE_EPOLL,
	IB_STAGE_IO_URING,
	IB_STAGE__N,
};

struct ib_out {
	uint8_t *buf;
	size_t len, cap;
	uint64_t stage_ns[IB_STAGE__N];
	uint64_t calls;   /* syscalls / kcmp calls / program runs the method counts */
	char err[512];
};

struct ib_opts {
	/* kcmp-pairwise: compare only rows [0, max_rows) against all others
	 * (0 = all). The bench uses it to sample O(n^2) work. */
	uint32_t max_rows;
	/* bpf: ring buffer size in bytes (0 = default) */
	uint32_t ringbuf_bytes;
	/* a path to a BTF file to use instead of /sys/kernel/btf/vmlinux (NULL = default) */
	const char *btf_path;
};

struct ib_target {
	const int32_t *pids; /* tgids of the tasks to inspect */
	uint32_t npids;
};

/* ib_method.needs: what a target must have for the method to have work */
#define IB_NEEDS_EPOLL (1u << 0) /* an epoll instance with items */
#define IB_NEEDS_URING (1u << 1) /* an io_uring instance */

struct ib_method {
	const char *name;   /* "procfs", "kcmp-tree", "bpf-task-file", ... */
	const char *family; /* "procfs" | "kcmp" | "bpf" | "floor" */
	/* IB_NEEDS_*: the method has nothing to do unless the target has one of
	 * these (0: every target) */
	uint32_t needs;
	const char *summary; /* one line for --help and the README */
	/* coverage[k] for enum ib_cov: "full", "partial: <why>" or "none: <why>" */
	const char *coverage[IB_COV__N];
	int (*open)(void **state, const struct ib_target *t, const struct ib_opts *o,
		    struct ib_out *out);
	int (*collect)(void *state, const struct ib_target *t, const struct ib_opts *o,
		       struct ib_out *out);
	void (*close)(void *state);
};

/* A floor recovers nothing: it does a method's unavoidable work and reports none of it. */
#define IB_COVERAGE_FLOOR(what)                                     \
	{                                                           \
		[IB_COV_FD] = "none: a floor, " what,               \
		[IB_COV_FD_META] = "none: a floor, " what,          \
		[IB_COV_FD_POS] = "none: a floor, " what,           \
		[IB_COV_FD_FLAGS] = "none: a floor, " what,         \
		[IB_COV_FD_IDENTITY] = "none: a floor, " what,      \
		[IB_COV_EPOLL_ITEM] = "none: a floor, " what,       \
		[IB_COV_EPOLL_TARGET] = "none: a floor, " what,     \
		[IB_COV_URING_FILE] = "none: a floor, " what,       \
		[IB_COV_URING_BUF] = "none: a floor, " what,        \
	}

/* registry.c */
extern const struct ib_method *const ib_methods[];
extern const size_t ib_nmethods;

/* out.c: growable record buffer */
void ib_out_reset(struct ib_out *out);
int ib_out_error(struct ib_out *out, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* reserve a record of fixed size `size` plus an optional string; returns a
 * zeroed record with h.type/h.size/h.pid filled, or NULL on ENOMEM */
void *ib_out_rec(struct ib_out *out, uint16_t type, int32_t pid, size_t size,
		 const char *str, size_t slen);
uint64_t ib_now_ns(void);

/* The kernel's dev_t encoding (MAJOR << 20 | MINOR: i_sb->s_dev, fdinfo's
 * sdev) to the userspace one (makedev), which fstat and the manifest use. */
static inline uint64_t ib_kdev_to_dev(uint64_t kdev)
{
	uint64_t major = kdev >> 20, minor = kdev & 0xfffff;

	/* glibc's makedev, spelled out so this header needs no sys/sysmacros.h */
	return ((major & 0xfffff000ull) << 32) | ((major & 0xfffull) << 8) |
	       ((minor & 0xffffff00ull) << 12) | (minor & 0xffull);
}

#endif /* IB_METHOD_H */
