/* SPDX-License-Identifier: MIT */
/*
 * tasks.h - the tasks of a workload tree: fork, clone(CLONE_FILES), threads,
 * the readiness handshake and failure reporting. No task outlives its
 * parent: each arms PR_SET_PDEATHSIG and checks getppid() right after.
 */
#ifndef IB_WL_TASKS_H
#define IB_WL_TASKS_H

#include <sys/types.h>

#include "model.h"

extern const char *prog;
extern pid_t root_pid;

/* In the root, first thing: remember the root, become the tree's subreaper. */
void tasks_init(void);

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void set_deathsig(pid_t expect_parent);

/* Both return 0 in the child (self is its slot) and the child's pid in the parent. */
pid_t fork_task(const char *role, struct mtask **slot);
pid_t clone_files_task(const char *role, struct mtask **slot);

/* A thread of the calling task (recorded in self); it runs fn, then parks. */
void thread_start(void (*fn)(void *), void *arg);

/* A child's state is complete: report it and wait to be killed. */
void child_done(void) __attribute__((noreturn));

/* In the root: wait until every task reported; -1 with a message on failure. */
int wait_children(double timeout_s);

/* In the root: kill the whole tree and reap it. */
void kill_tree(void);

#endif /* IB_WL_TASKS_H */
