// SPDX-License-Identifier: MIT
/*
 * threads.c - the "threads" scenario: one descriptor table seen from several
 * tasks, N descriptors in it.
 *
 *  - the root is multi-threaded: THREADS threads besides its leader, each
 *    opening part of the files (so descriptors were made by threads other
 *    than the leader; /proc/PID/task lists them all);
 *  - "clone-files", a separate process (its own thread group) made with
 *    clone(CLONE_FILES) without CLONE_VM: it shares the root's table, so the
 *    files it opens are the root's descriptors too, and a descriptor the root
 *    opened and it closed is gone from both;
 *  - "fork-copy", forked from the multi-threaded root once the table is
 *    complete: the same descriptors and open files in a table of its own
 *    (equal fd lists, different tables).
 * The manifest lists every task with its fds (the same list for the tasks of
 * one table), its table's owner ("table") and its threads ("threads").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>
#include <string.h>

#include "../makers.h"
#include "../model.h"
#include "../scenario.h"
#include "../tasks.h"

#define THREADS 3

static const char TH_THREADS[] =
	"a multi-threaded task: threads other than the leader opened descriptors in the shared table";
static const char TH_CLONE_FILES[] =
	"a separate process made with clone(CLONE_FILES) shares another's descriptor table: "
	"its opens and closes change the owner's descriptors";
static const char TH_FORK_COPY[] =
	"a process forked from the multi-threaded task: the same descriptors and open files "
	"in a table of its own";
static const char *const thread_cases[] = { TH_THREADS, TH_CLONE_FILES, TH_FORK_COPY, NULL };
static const char *const *const cases[] = { thread_cases, mix_cases, NULL };

/* The N descriptors: a quarter by the leader, a quarter by clone-files, the rest by the threads. */
static long part(long n, int who) /* who: 0 leader, 1 clone-files, 2.. threads */
{
	long q = n / 4, rest = n - 2 * q;

	if (who < 2)
		return q;
	who -= 2;
	return rest / THREADS + (who < rest % THREADS ? 1 : 0);
}

static long plan(const struct opts *o, long n, long cap, struct plan *p)
{
	(void)o;
	(void)cap;
	p->tasks = 3;
	p->epoll_items = p->uring_files = p->buffers = 0;
	return 3 + n + 1;
}

struct thread_part {
	long count;
	const char *note;
};

static void thread_body(void *arg)
{
	struct thread_part *tp = arg;
	int fd;

	/* one file says which thread made it, the rest are the usual mix */
	fd = mk_eventfd((int)tp->count, tp->note);
	(void)fd;
	build_mix(tp->count - 1);
}

static void build(struct plan *p)
{
	static struct thread_part parts[THREADS];
	sem_t *step = aalloc(sizeof(*step));
	int victim = -1;

	if (sem_init(step, 1, 0))
		die("sem_init: %s", strerror(errno));
	add_cases(thread_cases);
	/* the leader's part; its first regular file is closed by clone-files below */
	build_mix(part(p->files, 0));
	for (int fd = 3; fd <= self->table->maxfd && victim < 0; fd++)
		if (fd_known(fd) && A->files[fd_label(fd)].kind == IB_K_REG)
			victim = fd;
	/* clone-files, while the root still has one thread (see clone_files_task) */
	if (clone_files_task("clone-files", NULL) == 0) {
		long n = part(p->files, 1);

		mk_eventfd(1, "opened by the clone(CLONE_FILES) process: a descriptor of its owner too");
		n--;
		if (victim >= 0) { /* closes the root's descriptor: one more to open */
			fd_close(victim);
			n++;
		}
		build_mix(n);
		sem_post(step);
		child_done();
	}
	while (sem_wait(step) < 0 && errno == EINTR)
		;
	if (__atomic_load_n(&A->failed, __ATOMIC_SEQ_CST))
		return; /* wait_children reports it */
	/* the threads, one at a time (the model is written by one thread at a time) */
	for (int i = 0; i < THREADS; i++) {
		parts[i].count = part(p->files, 2 + i);
		parts[i].note = aprintf("opened by thread %d of the root (not the leader)", i + 1);
		if (parts[i].count > 0)
			thread_start(thread_body, &parts[i]);
	}
	if (fork_task("fork-copy", NULL) == 0)
		child_done();
}

const struct scenario scenario_threads = {
	.name = "threads",
	.summary = "one descriptor table seen from several tasks: a multi-threaded task, a process "
		   "sharing its table by clone(CLONE_FILES), and a forked copy",
	.cases = cases,
	.min_tasks = 1,
	/* every method reports the shared table once (fd.table), verified
	 * against the manifest's tasks[].table */
	.default_run = false, /* tested by npm test; out of the default bench (its 90 s budget) */
	.criu_left_out = criu_pipes_left_out,
	.plan = plan,
	.build = build,
};
