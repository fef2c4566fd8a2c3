/* SPDX-License-Identifier: MIT */
/*
 * model.h - the ground-truth model of iterbench-workload: open files,
 * descriptor tables, tasks, epoll items and io_uring slots, as the
 * generator's own actions made them.
 *
 * The model lives in one MAP_SHARED anonymous arena mapped before the first
 * fork, so every task of the tree records its own actions in place; the root
 * serialises it into the manifest (manifest.c) once every task has reported
 * that its state is complete.
 */
#ifndef IB_WL_MODEL_H
#define IB_WL_MODEL_H

#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kinds.h" /* bpf/kinds.h: enum ib_kind, ib_kind_of_mode(), IB_KIND_NAMES */

#define MAX_EPOLLS 512
#define MAX_RINGS 64
#define MAX_CASES 64
#define MAX_THREADS 8 /* threads per task recorded in the model */

struct mfile {
	int kind; /* enum ib_kind */
	int flags;
	uint64_t dev;
	uint64_t ino;
	int64_t pos;
	const char *path; /* arena string or NULL */
	const char *note; /* arena or static string or NULL */
};

/*
 * One descriptor table. A forked task gets a copy; a task made with
 * clone(CLONE_FILES) and every thread of a task use the same one.
 */
struct mtable {
	int32_t *label; /* [fd_cap]: label + 1, 0 = no descriptor */
	int maxfd;      /* highest number ever bound (-1: none) */
	pid_t owner;    /* pid of the task that created the table */
};

struct mtask {
	pid_t pid;
	char role[24];
	struct mtable *table;
	int nthreads;              /* threads besides the leader */
	pid_t threads[MAX_THREADS]; /* their tids */
};

struct mitem {
	int tfd;
	uint32_t events;
	uint64_t data;
	int target;
	const char *note;
};

struct mepoll {
	pid_t pid;
	int epfd;
	int label;
	uint32_t nitems;
	uint32_t cap;
	struct mitem *items;
};

struct mbuf {
	uint64_t addr;
	uint64_t len;
	int present;
	const char *note;
};

struct mring {
	pid_t pid;
	int fd;         /* -1: no descriptor (registered ring, fd closed) */
	int reg_index;  /* index in the task's registered-ring table, or -1 */
	int label;
	uint32_t nfiles;
	int32_t *slots; /* label + 1, 0 = empty */
	uint32_t nbufs;
	struct mbuf *bufs;
	const char *note;
};

struct arena {
	uint64_t bump; /* next free byte offset (atomic) */
	uint64_t size;
	int failed;
	int ready; /* every task reported: a task dying now is not a build failure */
	char errmsg[256];
	sem_t done; /* one post per task whose state is complete (or failed) */
	int fd_cap;
	uint32_t nfiles; /* atomic */
	uint32_t files_cap;
	struct mfile *files;
	uint32_t ntasks; /* atomic */
	uint32_t tasks_cap;
	struct mtask *tasks;
	uint32_t nepolls; /* atomic */
	struct mepoll epolls[MAX_EPOLLS];
	uint32_t nrings; /* atomic */
	struct mring rings[MAX_RINGS];
	uint64_t data_seq; /* atomic: epoll data values */
	uint32_t npipes;   /* atomic: pipes made in the whole tree */
	uint32_t ncases;   /* atomic */
	const char *cases[MAX_CASES];
};

extern struct arena *A;
extern struct mtask *self; /* this task's model */

int arena_init(long files_cap, long tasks_cap, long fd_cap);
void *aalloc(size_t size);
char *astrdup(const char *s);
char *aprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* hard cases this workload contains (static strings: the same address in every task) */
void add_case(const char *c);
void add_cases(const char *const *list);

/*
 * Tasks: a new slot whose table is a copy of from's (fork), the same table
 * as from's (clone(CLONE_FILES)), or a new empty one (from == NULL).
 */
struct mtask *task_new(const char *role, const struct mtask *from, bool share_table);
void task_add_thread(struct mtask *t, pid_t tid);

/* descriptors and open files of the calling task's table */
int file_new(int fd, int kind, const char *path, const char *note);
void file_refresh(int label, int fd);
void file_note(int label, const char *note);
int fd_label(int fd);
bool fd_known(int fd);
void fd_bind(int fd, int label);
int fd_dup(int fd);
int fd_dup_to(int fd, int to);
void fd_close(int fd);

/* epoll and io_uring model */
struct mepoll *mepoll_new(int epfd);
struct mitem *mepoll_item(struct mepoll *e);
struct mring *mring_new(int fd);
uint64_t next_data(void);

#endif /* IB_WL_MODEL_H */
