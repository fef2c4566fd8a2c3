// SPDX-License-Identifier: MIT
/* tables.c - shared descriptor tables by kcmp(KCMP_FILES); see tables.h. */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "tables.h"

static int grow(struct ib_tables *tb, size_t n)
{
	uint32_t *same, *reps;

	if (n <= tb->cap)
		return 0;
	same = realloc(tb->same, n * sizeof(*same));
	if (!same)
		return -ENOMEM;
	tb->same = same;
	reps = realloc(tb->reps, n * sizeof(*reps));
	if (!reps)
		return -ENOMEM;
	tb->reps = reps;
	tb->cap = n;
	return 0;
}

int ib_tables_find(struct ib_tables *tb, const struct ib_target *t, uint64_t *calls,
		   struct ib_out *out)
{
	size_t nreps = 0;
	uint32_t i;

	if (grow(tb, t->npids ? t->npids : 1))
		return ib_out_error(out, ENOMEM, "descriptor tables: %s", strerror(ENOMEM));
	for (i = 0; i < t->npids; i++) {
		size_t lo = 0, hi = nreps;

		tb->same[i] = i;
		if (t->npids == 1)
			break;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			uint32_t r = tb->reps[mid];
			long c = syscall(SYS_kcmp, t->pids[r], t->pids[i], KCMP_FILES, 0, 0);

			(*calls)++;
			if (c == 0) {
				tb->same[i] = r;
				break;
			} else if (c == 1) { /* the rep's table orders before task i's */
				lo = mid + 1;
			} else if (c == 2) {
				hi = mid;
			} else {
				int err = c < 0 ? errno : EINVAL;

				if (err == ESRCH)
					return ib_out_error(out, ESRCH, "pid %d or %d: no such process "
							    "(exited during collect)", t->pids[r], t->pids[i]);
				return ib_out_error(out, err, "kcmp(KCMP_FILES) %d %d: %s", t->pids[r],
						    t->pids[i], strerror(err));
			}
		}
		if (tb->same[i] != i)
			continue;
		memmove(&tb->reps[lo + 1], &tb->reps[lo], (nreps - lo) * sizeof(tb->reps[0]));
		tb->reps[lo] = i;
		nreps++;
	}
	return 0;
}

int ib_tables_emit(const struct ib_tables *tb, const struct ib_target *t, struct ib_out *out)
{
	uint32_t i;

	for (i = 0; i < t->npids; i++) {
		struct ib_rec_table *r;

		if (!ib_tables_dup(tb, i))
			continue;
		r = ib_out_rec(out, IB_REC_TABLE, t->pids[i], sizeof(*r), NULL, 0);
		if (!r)
			return ib_out_error(out, ENOMEM, "descriptor tables: %s", strerror(ENOMEM));
		r->same_as = t->pids[tb->same[i]];
	}
	return 0;
}

void ib_tables_free(struct ib_tables *tb)
{
	free(tb->same);
	free(tb->reps);
	tb->same = tb->reps = NULL;
	tb->cap = 0;
}
