// SPDX-License-Identifier: MIT
/*
 * shared.c - the "shared" scenario: K tasks (default 4, raised so no task
 * passes RLIMIT_NOFILE) holding N descriptors in all, sharing open files by
 * fork inheritance, dup and SCM_RIGHTS (parts/shared.c).
 */
#include "../makers.h"
#include "../scenario.h"
#include "../parts/parts.h"

static const char *const *const cases[] = { shared_cases, mix_cases, NULL };

static long plan(const struct opts *o, long n, long cap, struct plan *p)
{
	return shared_plan(o, n, cap, p, false);
}

static void build(struct plan *p)
{
	shared_build(p, false);
}

const struct scenario scenario_shared = {
	.name = "shared",
	.summary = "K tasks (default 4) holding N descriptors in all, shared by fork "
		   "inheritance, dup and SCM_RIGHTS",
	.cases = cases,
	.spreads = true,
	.min_tasks = 2,
	.max_tasks = 1024,
	.default_run = true,
	.criu_left_out = criu_pipes_left_out,
	.plan = plan,
	.build = build,
};
