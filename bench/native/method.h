/* SPDX-License-Identifier: MIT */
/*
 * method.h - one recovery method = one struct ib_method, defined in its own
 * file (or as one more descriptor in its mechanism's file) and listed once
 * in registry.h. The descriptor says everything about the method: the
 * harness, the analysis and the reports learn a method's family, role,
 * floor, comparisons, lane, needs, sampling and coverage from it (through
 * the addon's methods()), never from its name.
 *
 * Life cycle, driven from JavaScript through addon.c:
 *   open()    once per (method, set of target pids): everything that is set-up
 *             rather than recovery (BPF load and verify, link creation).
 *             Timed separately as the method's "cold" cost.
 *   collect() the measured work: recover the state of the target tasks and
 *             append records (bpf/records.h) to out. Called many times; it
 *             must reset nothing but its own scratch state and must not leak.
 *   close()   undo open().
 *
 * Errors are values: return a negative errno and describe the failure with
 * ib_out_error(out, ...). A message is lowercase, says what failed and
 * carries strerror. A lane that cannot run on this kernel or machine says
 * why with ib_out_skip(out, IB_SKIP_..., ...) from open(): the harness
 * reports it as skipped with that code, never as a pass. An open() that
 * fails with EPERM or EACCES is skipped as `privilege`.
 */
#ifndef IB_METHOD_H
#define IB_METHOD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "records.h" /* bpf/records.h: the one record format (and bpf/kinds.h) */

/* Kinds of state, for coverage declarations (index into ib_method.coverage). */
enum ib_cov {
	IB_COV_FD = 0,       /* which descriptors each task has */
	IB_COV_FD_META,      /* kind, dev, ino of each descriptor */
	IB_COV_FD_POS,       /* file position */
	IB_COV_FD_FLAGS,     /* open flags */
	IB_COV_FD_IDENTITY,  /* which descriptors (of all tasks) share one open file */
	IB_COV_FD_TABLE,     /* which tasks share one descriptor table (each table reported once) */
	IB_COV_EPOLL_ITEM,   /* epoll items: tfd, events, data */
	IB_COV_EPOLL_TARGET, /* which open file each epoll item watches */
	IB_COV_URING_RING,   /* io_uring instances and their slot counts, also one no descriptor reaches */
	IB_COV_URING_FILE,   /* io_uring registered file slots and their open files */
	IB_COV_URING_BUF,    /* io_uring registered buffers: address and length */
	IB_COV__N,
};

/* Names of the kinds, indexed by enum ib_cov (TypeScript: COVERAGE_KINDS). */
#define IB_COV_NAMES                                                      \
	{ "fd", "fd.meta", "fd.pos", "fd.flags", "fd.identity", "fd.table",   \
	  "epoll.item", "epoll.target", "uring.ring", "uring.file", "uring.buf" }

/* Stages a method may time inside collect(), in ns (0 = not applicable). */
enum ib_stage {
	IB_STAGE_ENUMERATE = 0,
	IB_STAGE_METADATA,
	IB_STAGE_IDENTITY,
	IB_STAGE_EPOLL,
	IB_STAGE_IO_URING,
	IB_STAGE__N,
};

/* Names of the stages, indexed by enum ib_stage (TypeScript: STAGES). */
#define IB_STAGE_NAMES { "enumerate", "metadata", "identity", "epoll", "io_uring" }

/* 0 is "not declared" in every enum a descriptor must set: the registry
 * test fails on it (a designated initializer left out is 0). */

/* the interface a method uses: the --methods selection takes families */
enum ib_family {
	IB_FAMILY_PROCFS = 1,
	IB_FAMILY_KCMP,
	IB_FAMILY_BPF,
	IB_FAMILY_FLOOR,
};

enum ib_role {
	IB_ROLE_RECOVERY = 1, /* recovers state, verified against the ground truth */
	IB_ROLE_FLOOR,        /* the unavoidable work of a method, recovers nothing */
};

/* where a method can run (0: on any kernel the bench runs on) */
enum ib_lane {
	IB_LANE_HOST = 0,
	IB_LANE_PATCHED_KERNEL, /* the kernel lane: needs kernel/patches (npm run bench:vm) */
};

/* how much of one kind of state a method can recover */
enum ib_level {
	IB_LEVEL_FULL = 1,
	IB_LEVEL_PARTIAL, /* right, but the interface cannot say everything: why */
	IB_LEVEL_NONE,    /* the interface cannot say it at all: why */
};

struct ib_coverage {
	enum ib_level level;
	const char *why; /* partial and none: the reason, one phrase */
	/* partial: only the items no descriptor of the targets holds may go
	 * unrecovered (an epoll target, a ring); any other is a mismatch */
	int unheld_only;
};

#define IB_FULL { .level = IB_LEVEL_FULL, .why = NULL }
#define IB_PARTIAL(reason) { .level = IB_LEVEL_PARTIAL, .why = (reason) }
#define IB_PARTIAL_UNHELD(reason) { .level = IB_LEVEL_PARTIAL, .why = (reason), .unheld_only = 1 }
#define IB_NONE(reason) { .level = IB_LEVEL_NONE, .why = (reason) }

/* A floor recovers nothing: it does a method's unavoidable work and reports none of it. */
#define IB_COVERAGE_FLOOR(what)                                  \
	{                                                        \
		[IB_COV_FD] = IB_NONE("a floor, " what),         \
		[IB_COV_FD_META] = IB_NONE("a floor, " what),    \
		[IB_COV_FD_POS] = IB_NONE("a floor, " what),     \
		[IB_COV_FD_FLAGS] = IB_NONE("a floor, " what),   \
		[IB_COV_FD_IDENTITY] = IB_NONE("a floor, " what),\
		[IB_COV_FD_TABLE] = IB_NONE("a floor, " what),   \
		[IB_COV_EPOLL_ITEM] = IB_NONE("a floor, " what), \
		[IB_COV_EPOLL_TARGET] = IB_NONE("a floor, " what),\
		[IB_COV_URING_RING] = IB_NONE("a floor, " what), \
		[IB_COV_URING_FILE] = IB_NONE("a floor, " what), \
		[IB_COV_URING_BUF] = IB_NONE("a floor, " what),  \
	}

/* O(n^2) methods may do a sample of their work (ib_opts.sample_rows) */
enum ib_sampling_how {
	IB_SAMPLING_NONE = 0,
	IB_SAMPLING_ROWS, /* rows of a comparison triangle, chosen at random (seeded) */
};

struct ib_sampling {
	enum ib_sampling_how how;
	enum ib_stage scales; /* IB_SAMPLING_ROWS: the stage whose time grows with the rows */
};

/* which sizes of a sweep the method is measured at */
enum ib_sweep {
	IB_SWEEP_ALL = 0, /* every size: its growth is reported */
	IB_SWEEP_LARGEST, /* the largest size only: a baseline whose speedups
			   * the reports need at the largest N, not its growth
			   * (it keeps a default run within its time budget) */
	IB_SWEEP_TASKS,   /* the task dimension: measured at every size of a task
			   * sweep (--tasks-sweep) or when named (--methods),
			   * not in the default N sweep, whose one or four tasks
			   * say little about it (and whose wall time it would
			   * double) */
};

/* what a method's work visits (its cost follows what it visits) */
enum ib_reach {
	IB_REACH_TARGETS = 0, /* the target tasks only (and what they hold) */
	IB_REACH_SYSTEM,      /* every task of the machine: its cost follows the
			       * machine's tasks and descriptors, the run's
			       * other instances included, not N or K */
};

/* ib_method.needs: what a target must have for the method to have work */
#define IB_NEEDS_EPOLL (1u << 0) /* an epoll instance with items */
#define IB_NEEDS_URING (1u << 1) /* an io_uring instance */

/* why open() says this lane cannot run here (ib_out.skip) */
enum ib_skip {
	IB_SKIP_NONE = 0,
	IB_SKIP_MISSING_FEATURE, /* no BTF, no such iterator target, ... on this kernel */
	IB_SKIP_KERNEL_LANE,     /* a patched-kernel method on a kernel without the series */
	IB_SKIP_PRIVILEGE,       /* EPERM/EACCES: not allowed to here */
};

struct ib_out {
	uint8_t *buf;
	size_t len, cap;
	uint64_t stage_ns[IB_STAGE__N];
	uint64_t calls;   /* syscalls / kcmp calls / program runs the method counts */
	/* IB_SAMPLING_ROWS methods, per collect: rows (descriptors) compared
	 * with all others out of rows_total, and comparisons made out of the
	 * full method's total (made == total: the full method) */
	struct {
		uint64_t rows, rows_total;
		uint64_t made, total;
	} sample;
	enum ib_skip skip; /* open(): set with ib_out_skip() */
	char err[512];
	/* open(): how the method runs here, when that is not its usual way
	 * (e.g. a fallback object), one sentence for the results (ib_out_note) */
	char note[256];
	/* open(): the part of a fresh open's cost this open did not pay again
	 * (a loaded object it shares, timed when it was loaded): the cold cost
	 * is this open's time plus this */
	uint64_t cold_shared_ns;
};

struct ib_opts {
	/* IB_SAMPLING_ROWS: compare this many rows, chosen with a PRNG seeded
	 * by sample_seed, with all others (0 = every row: the full method) */
	uint32_t sample_rows;
	uint64_t sample_seed;
	/* bpf: ring buffer size in bytes (0 = default) */
	uint32_t ringbuf_bytes;
	/* a path to a BTF file to use instead of /sys/kernel/btf/vmlinux (NULL = default) */
	const char *btf_path;
};

struct ib_target {
	const int32_t *pids; /* tgids of the tasks to inspect */
	uint32_t npids;
};

struct ib_method {
	const char *name;    /* "procfs", "kcmp-tree", "bpf-task-file", ... */
	enum ib_family family;
	enum ib_role role;
	enum ib_lane lane;
	const char *summary; /* one line for --help and the README */
	/* IB_NEEDS_*: the method has nothing to do unless the target has one of
	 * these (0: every target) */
	uint32_t needs;
	/* the floor this method is compared with (method / floor), or NULL */
	const struct ib_method *floor;
	/* the largest acceptable method / floor ratio (a target the bench
	 * reports), 0 = no target */
	double floor_limit;
	/* NULL-terminated (IB_LIST): the methods this one's speedup is reported
	 * against (reference time / this method's time) */
	const struct ib_method *const *speedup_over;
	/* floors, NULL-terminated (IB_LIST): further methods whose work includes
	 * this floor's work (besides the methods whose floor it is), so a run
	 * can check floor <= method along the chains */
	const struct ib_method *const *subset_of;
	/*
	 * The kernel lane: a real iterator's work as the emulation does it
	 * (bench/native/bpf.c). The emulation's pass also visits every
	 * descriptor, which an iterator attached to one instance does not, so
	 * the two are compared per round as real / (method - floor): the
	 * emulation with the cost of that visit (its floor) taken off. `with`
	 * (IB_LIST, or NULL): further real iterators whose work together with
	 * this one's is the emulation's (their times are added per round).
	 * method NULL: no such comparison.
	 */
	struct {
		const struct ib_method *method;
		const struct ib_method *floor;
		const struct ib_method *const *with;
	} emulation;
	struct ib_sampling sampling;
	enum ib_sweep sweep;
	enum ib_reach reach;
	struct ib_coverage coverage[IB_COV__N];
	int (*open)(void **state, const struct ib_target *t, const struct ib_opts *o,
		    struct ib_out *out);
	int (*collect)(void *state, const struct ib_target *t, const struct ib_opts *o,
		       struct ib_out *out);
	void (*close)(void *state);
	/*
	 * A method whose collect runs on threads of its own besides the calling
	 * one (the caller waits for them: its time off the CPU inside a collect
	 * is the method's, not interference; the harness calls it `parallel`):
	 * give those threads this scheduling policy and priority, and return
	 * how many took it. block() (addon.c) calls it, outside the timed
	 * region, with the policy it times under and after the block with the
	 * caller's own, so every thread of a collect is timed alike. NULL: the
	 * collect runs on the calling thread alone.
	 */
	int (*set_sched)(void *state, int policy, int priority);
};

/* a NULL-terminated list of methods, for speedup_over, subset_of and emulation.with */
#define IB_LIST(...) ((const struct ib_method *const[]){ __VA_ARGS__, NULL })

/* registry.h declares every method (ib_method_<name>) and lists them */
#include "registry.h"

/* registry.c */
extern const struct ib_method *const ib_methods[];
extern const size_t ib_nmethods;

/* out.c: growable record buffer */
void ib_out_reset(struct ib_out *out);
int ib_out_error(struct ib_out *out, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* open(): this lane cannot run here, for reason `why`; returns -EOPNOTSUPP */
int ib_out_skip(struct ib_out *out, enum ib_skip why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* open(): say how the method runs here (ib_out.note), e.g. which fallback */
void ib_out_note(struct ib_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* reserve a record of fixed size `size` plus an optional string; returns a
 * zeroed record with h.type/h.size/h.pid filled, or NULL on ENOMEM */
void *ib_out_rec(struct ib_out *out, uint16_t type, int32_t pid, size_t size,
		 const char *str, size_t slen);
/* at least `need` free bytes at out->buf + out->len (for records written by
 * someone else, e.g. read() from an iterator); 0 or -ENOMEM */
int ib_out_room(struct ib_out *out, size_t need);
/* append n bytes of whole records */
int ib_out_append(struct ib_out *out, const void *p, size_t n);
/* the length of the whole records at the start of p[0, n) (a record is
 * whole when its header and hdr.size bytes are there); -EPROTO when a
 * header is malformed (size below the header's or not a multiple of 8) */
ssize_t ib_whole_records(const uint8_t *p, size_t n);
/* a clock's time in ns: ib_now_ns() is CLOCK_MONOTONIC, what every collect is timed with */
uint64_t ib_clock_ns(clockid_t clock);
uint64_t ib_now_ns(void);

/* bpf.c: the identity keys (key0, key1) of an opened bpf-task-file,
 * bpf-all, ... state: bpf-iter-all (bpf_real.c) mixes with the same */
void ib_bpf_identity_keys(const void *state, uint64_t keys[2]);

#endif /* IB_METHOD_H */
