// SPDX-License-Identifier: MIT
/*
 * files.c - the "files" scenario: N descriptors in one task, the descriptor
 * mix of makers.c (every kind of file the suite knows, dup'd descriptors,
 * one inode opened several times).
 */
#include "../makers.h"
#include "../scenario.h"

static const char *const *const cases[] = { mix_cases, NULL };

static long plan(const struct opts *o, long n, long cap, struct plan *p)
{
	(void)o;
	(void)cap;
	p->epoll_items = p->uring_files = p->buffers = 0;
	return 3 + n;
}

static void build(struct plan *p)
{
	build_mix(p->files);
}

const struct scenario scenario_files = {
	.name = "files",
	.summary = "N descriptors in one task: regular files with distinct offsets and flags, "
		   "pipes, sockets, eventfds, timerfds, signalfds, inotify, directories",
	.cases = cases,
	.min_tasks = 1,
	.default_run = true,
	.criu_left_out = criu_pipes_left_out,
	.plan = plan,
	.build = build,
};
