// SPDX-License-Identifier: MIT
/*
 * epoll.c - the "epoll" scenario: E = N epoll items (at least 8) over
 * 2 + E/2048 instances in the root, plus one task holding the target of
 * case (d). The items and hard cases are the epoll part's (parts/epoll.c).
 */
#include "../makers.h"
#include "../tasks.h"
#include "../scenario.h"
#include "../parts/parts.h"

static const char *const *const cases[] = { epoll_cases, pipe_cases, NULL };

static long plan(const struct opts *o, long n, long cap, struct plan *p)
{
	(void)o;
	(void)cap;
	p->tasks = 2;
	p->uring_files = p->buffers = 0;
	if (p->epoll_items < 0)
		p->epoll_items = n > EPOLL_MIN_ITEMS ? n : EPOLL_MIN_ITEMS;
	p->epolls = 2 + p->epoll_items / 2048;
	return 3 + p->epolls + p->epoll_items + 8;
}

static void build(struct plan *p)
{
	epoll_pre_fork(p);
	if (fork_task("holder", NULL) == 0) {
		epoll_post_fork_child();
		child_done();
	}
	epoll_build(p, p->epoll_items);
}

const struct scenario scenario_epoll = {
	.name = "epoll",
	.summary = "epoll instances with E = N items in one task, and a task holding one target",
	.cases = cases,
	.min_tasks = 1,
	.default_run = true,
	.criu_left_out = criu_epoll_left_out,
	.plan = plan,
	.build = build,
};
