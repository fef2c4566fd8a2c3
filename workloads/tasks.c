// SPDX-License-Identifier: MIT
/*
 * tasks.c - the tasks of a workload tree and their handshake with the root.
 *
 * The root is the tree's child subreaper, so a task whose parent died is
 * still reaped by the root; every task arms PR_SET_PDEATHSIG (SIGKILL) and
 * checks that its parent did not die first, so killing the root kills the
 * tree level by level and nothing outlives the harness. A task whose state is
 * complete posts A->done once; the root counts the posts (wait_children).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle.h"
#include "tasks.h"

const char *prog = "iterbench-workload";
pid_t root_pid;

/* the root's direct children (killed by kill_tree; the rest follow by death signal) */
static pid_t *children;
static long nchildren, children_cap;

void tasks_init(void)
{
	root_pid = getpid();
	/* orphans of the tree (a middle task died) are reaped here */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

void die(const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (root_pid && getpid() != root_pid)
		child_fail("%s", buf);
	fprintf(stderr, "%s: %s\n", prog, buf);
	cleanup_tree();
	exit(1);
}

void child_fail(const char *fmt, ...)
{
	va_list ap;
	int expect = 0;

	if (__atomic_compare_exchange_n(&A->failed, &expect, 1, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		va_start(ap, fmt);
		vsnprintf(A->errmsg, sizeof(A->errmsg), fmt, ap);
		va_end(ap);
	}
	sem_post(&A->done);
	_exit(1);
}

void set_deathsig(pid_t expect_parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		fprintf(stderr, "%s: prctl(PR_SET_PDEATHSIG): %s\n", prog, strerror(errno));
		_exit(1);
	}
	/* the parent may have died before the death signal was armed */
	if (getppid() != expect_parent)
		_exit(1);
}

static void remember_child(pid_t pid)
{
	if (getpid() != root_pid)
		return;
	if (nchildren == children_cap) {
		long cap = children_cap ? 2 * children_cap : 64;
		pid_t *n = realloc(children, sizeof(*n) * cap);

		if (!n) {
			kill(pid, SIGKILL);
			die("out of memory");
		}
		children = n;
		children_cap = cap;
	}
	children[nchildren++] = pid;
}

/* In a new child: its slot, its death signal, default signal handling. */
static void child_start(struct mtask *t, pid_t parent)
{
	sigset_t none;

	self = t;
	t->pid = getpid();
	if (!t->table->owner)
		t->table->owner = t->pid;
	set_deathsig(parent);
	nchildren = 0; /* the root's list is not ours */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Fork a task of the tree. The child's descriptor table is a copy of the
 * parent's, and so is its model: the slot is filled before fork() so the
 * parent may go on changing its own table at once.
 */
pid_t fork_task(const char *role, struct mtask **slot)
{
	struct mtask *t = task_new(role, self, false);
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (slot)
		*slot = t;
	if (pid == 0) {
		child_start(t, parent);
		return 0;
	}
	t->pid = pid;
	t->table->owner = pid;
	remember_child(pid);
	return pid;
}

/*
 * A separate process (its own thread group) that shares the caller's
 * descriptor table: clone(CLONE_FILES) without CLONE_VM, so the child runs
 * on a copy of the caller's memory like a forked one. Call it while the
 * caller has no other thread (the child gets copies of locks held by
 * threads, and glibc's own thread state is not set up for it: the child
 * must not create threads).
 */
pid_t clone_files_task(const char *role, struct mtask **slot)
{
	struct mtask *t = task_new(role, self, true);
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0)
		die("clone(CLONE_FILES): %s", strerror(errno));
	if (slot)
		*slot = t;
	if (pid == 0) {
		child_start(t, parent);
		return 0;
	}
	t->pid = pid;
	remember_child(pid);
	return pid;
}

struct thread_arg {
	void (*fn)(void *);
	void *arg;
	struct mtask *task;
	sem_t started; /* fn has returned: the thread's part of the state is made */
};

static void *thread_main(void *p)
{
	struct thread_arg *ta = p;

	task_add_thread(ta->task, (pid_t)syscall(SYS_gettid));
	ta->fn(ta->arg);
	sem_post(&ta->started);
	for (;;)
		pause(); /* parked: signals are blocked here, the task's leader takes them */
	return NULL;
}

/*
 * A thread of the calling task: it runs fn (sharing the task's descriptor
 * table and model) and then parks until the task exits. Returns once fn
 * has returned, so the model is only ever written by one thread at a time.
 */
void thread_start(void (*fn)(void *), void *arg)
{
	struct thread_arg *ta = calloc(1, sizeof(*ta));
	pthread_attr_t attr;
	pthread_t th;
	int ret;

	if (!ta)
		die("out of memory");
	ta->fn = fn;
	ta->arg = arg;
	ta->task = self;
	if (sem_init(&ta->started, 0, 0))
		die("sem_init: %s", strerror(errno));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&th, &attr, thread_main, ta);
	pthread_attr_destroy(&attr);
	if (ret)
		die("pthread_create: %s", strerror(ret));
	while (sem_wait(&ta->started) < 0 && errno == EINTR)
		;
	/* ta stays allocated: the parked thread never reads it again */
}

void child_done(void)
{
	sem_post(&A->done);
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0) {
			if (errno == ECHILD)
				pause();
			continue;
		}
		if (!__atomic_load_n(&A->ready, __ATOMIC_SEQ_CST))
			child_fail("task %d died before it was ready", (int)pid);
	}
}

/*
 * Wait until every task of the tree posted (a task posts after it forked all
 * of its own children, so once ntasks - 1 posts arrived no more tasks come).
 * Gives up when nothing happened for timeout_s.
 */
int wait_children(double timeout_s)
{
	struct timespec last, ts;
	uint32_t got = 0;

	clock_gettime(CLOCK_MONOTONIC, &last);
	while (got + 1 < __atomic_load_n(&A->ntasks, __ATOMIC_SEQ_CST)) {
		struct timespec until;
		pid_t pid;
		int st;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (sem_timedwait(&A->done, &until) == 0) {
			got++;
			clock_gettime(CLOCK_MONOTONIC, &last);
		} else if (errno != ETIMEDOUT && errno != EINTR) {
			fprintf(stderr, "%s: sem_timedwait: %s\n", prog, strerror(errno));
			return -1;
		}
		if (__atomic_load_n(&A->failed, __ATOMIC_SEQ_CST)) {
			fprintf(stderr, "%s: %s\n", prog, A->errmsg);
			return -1;
		}
		pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0) {
			fprintf(stderr, "%s: task %d died before it was ready\n", prog, (int)pid);
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec - last.tv_sec > (time_t)timeout_s) {
			fprintf(stderr, "%s: tasks not ready (%u of %u reported, none for %.0f s)\n",
				prog, got, A->ntasks - 1, timeout_s);
			return -1;
		}
	}
	__atomic_store_n(&A->ready, 1, __ATOMIC_SEQ_CST);
	return 0;
}

void kill_tree(void)
{
	struct timespec tick = { 0, 1000 * 1000 };
	long waited = 0;

	if (getpid() != root_pid)
		return;
	for (long i = 0; i < nchildren; i++)
		kill(children[i], SIGKILL);
	nchildren = 0;
	/* their children die of their death signal and are reparented here */
	while (waited < 20000) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid < 0 && errno == ECHILD)
			break;
		if (pid <= 0) {
			nanosleep(&tick, NULL);
			waited++;
		}
	}
}
