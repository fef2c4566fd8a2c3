/* SPDX-License-Identifier: MIT */
/*
 * scenario.h - what a scenario is. One scenario is one file in scenarios/
 * defining one `const struct scenario scenario_<name>`, plus one line in
 * scenarios/list.h. main.c, --list and the harness learn everything about it
 * from the descriptor.
 */
#ifndef IB_WL_SCENARIO_H
#define IB_WL_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

/* Descriptors kept free in every task for transients (SCM batches, churn). */
#define FD_MARGIN 300
#define MAX_TASKS 8192
#define MAX_REG_BUFFERS 16384
#define EPOLL_MIN_ITEMS 8
#define URING_TRANSIENT 260 /* a registration batch and its extra ends */

struct scenario;

/* The command line. Sizes at -1 (or tasks at 0) take the scenario's default. */
struct opts {
	const struct scenario *sc;
	const char *manifest;
	long files;       /* --files N */
	long tasks;       /* --tasks K (0: scenario default) */
	long buffers;     /* --buffers B (-1: default) */
	long epoll_items; /* --epoll-items E (-1: default) */
	long uring_files; /* --uring-files U (-1: default) */
	bool churn;
	bool check; /* --check: validate sizes and limits only */
	bool list;  /* --list: describe the scenarios (JSON) */
	bool criu;  /* --criu-compatible: no kind of file CRIU refuses */
};

/* Sizes the whole tree will use, fixed before anything is created. */
struct plan {
	const struct scenario *sc;
	long files, tasks, buffers, epoll_items, uring_files; /* the manifest's params */
	long epolls;         /* epoll instances */
	long per_task;       /* shared part: descriptors per task (before spread) */
	long ring_files_max; /* most file slots of one ring (bounded by RLIMIT_NOFILE) */
	bool spread_parts;   /* all: epoll items and ring slots spread over every task */
	bool criu;           /* --criu-compatible */
};

enum scenario_needs {
	NEEDS_IO_URING = 1 << 0,
};

struct scenario {
	const char *name;
	const char *summary; /* one line: what the tree holds */
	/* the hard cases it can contain: NULL-terminated lists, the same strings
	 * the builders record in the manifest's "cases" when they make them */
	const char *const *const *cases;
	unsigned needs;    /* enum scenario_needs */
	bool spreads;      /* spreads over tasks: --tasks applies, N may pass one task's limit */
	long min_tasks;    /* smallest --tasks it takes (1: --tasks does not apply) */
	long max_tasks;    /* largest --tasks it takes (0: MAX_TASKS) */
	bool default_run;  /* the harness runs it when no scenario is named */
	/* the run's targets are judged on it when it is in the run (every kind of
	 * state in one tree; analysis/targets.ts), and its extra rounds come first */
	bool reference;
	/* --criu-compatible: what the variant leaves out (NULL-terminated, the
	 * cases it records), or no_criu: why there is no such variant */
	const char *const *criu_left_out;
	const char *no_criu;
	/* Optional: a usage problem with these options (one line), or NULL. */
	const char *(*check)(const struct opts *o);
	/*
	 * Fill p for size n (defaults taken from o), given cap descriptors per
	 * task (the limit minus FD_MARGIN); return the most descriptors one task
	 * will hold, or -1 when n cannot fit. Must grow with n (a binary search
	 * finds the largest n that fits).
	 */
	long (*plan)(const struct opts *o, long n, long cap, struct plan *p);
	/* Build the tree in the root (self is the root's model). Dies on failure. */
	void (*build)(struct plan *p);
};

/* The registry: every scenario, in --list order, NULL-terminated (registry.c). */
extern const struct scenario *const scenarios[];
const struct scenario *scenario_find(const char *name);

static inline long ceil_div(long a, long b)
{
	return (a + b - 1) / b;
}

#endif /* IB_WL_SCENARIO_H */
