// SPDX-License-Identifier: MIT
/*
 * all.c - the "all" scenario: the shared tree with N files, plus in the root
 * E = N/2 epoll items, U = N/2 registered files and B = min(1024, N)
 * registered buffers, and case (f) where epoll and io_uring meet. When the
 * root cannot hold the epoll and io_uring parts (N past one task's
 * descriptor limit), their items and slots are spread over every task.
 */
#include "../makers.h"
#include "../model.h"
#include "../scenario.h"
#include "../parts/parts.h"

static const char *const *const cases[] = {
	shared_cases, mix_cases, epoll_cases, uring_cases, uring_epoll_cases, spread_cases, NULL,
};

static const char *const criu_left_out[] = {
	CRIU_NO_DIRECT_PIPES, CRIU_FEW_PIPES, CRIU_NO_EPOLL_D, CRIU_EPOLL_C_APART, CRIU_NO_URING, NULL,
};

static long plan(const struct opts *o, long n, long cap, struct plan *p)
{
	return shared_plan(o, n, cap, p, true);
}

static void build(struct plan *p)
{
	if (p->criu)
		add_case(CRIU_NO_URING);
	shared_build(p, true);
}

const struct scenario scenario_all = {
	.name = "all",
	.summary = "all of the above in one tree: N files over K tasks, N/2 epoll items, "
		   "N/2 registered files, B buffers",
	.cases = cases,
	.needs = NEEDS_IO_URING,
	.spreads = true,
	.min_tasks = 2,
	.max_tasks = 1024,
	.default_run = true,
	.reference = true,
	.criu_left_out = criu_left_out,
	.plan = plan,
	.build = build,
};
