/* SPDX-License-Identifier: MIT */
/*
 * tables.h - which target tasks share one descriptor table, for the methods
 * that start from /proc (procfs, kcmp, the kernel lane's iterators): tasks
 * made with clone(CLONE_FILES) use one table, and a method reports each
 * table once (bpf/records.h, struct ib_rec_table).
 *
 * kcmp(KCMP_FILES) compares two tasks' files_struct pointers and orders
 * them (0 equal, 1 less, 2 greater), as CRIU does to find shared tables:
 * each task is looked up by binary search among the tables seen so far,
 * O(K log K) calls for K tasks, none for one task. The BPF emulation finds
 * the same by task->files pointer equality (bpf/task_file.bpf.c).
 */
#ifndef IB_TABLES_H
#define IB_TABLES_H

#include <stddef.h>
#include <stdint.h>
#include "method.h"

struct ib_tables {
	/* per target index: the first target index that uses its table
	 * (itself when no earlier target does) */
	uint32_t *same;
	uint32_t *reps; /* scratch: one target per table, in kcmp order */
	size_t cap;
};

/*
 * Fill tb->same for the targets of t; kcmp calls are added to *calls. A
 * task that exited is an error (ESRCH), as is a kcmp that fails otherwise.
 */
int ib_tables_find(struct ib_tables *tb, const struct ib_target *t, uint64_t *calls,
		   struct ib_out *out);

/* 1 when target i's table was already reported under an earlier target */
static inline int ib_tables_dup(const struct ib_tables *tb, uint32_t i)
{
	return tb->same && tb->same[i] != i;
}

/* one IB_REC_TABLE for every target whose table is an earlier target's */
int ib_tables_emit(const struct ib_tables *tb, const struct ib_target *t, struct ib_out *out);

void ib_tables_free(struct ib_tables *tb);

#endif /* IB_TABLES_H */
