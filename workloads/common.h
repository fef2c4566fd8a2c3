/* SPDX-License-Identifier: MIT */
/*
 * common.h - shared code of iterbench-workload: the ground-truth model
 * (files, descriptors, epoll items, io_uring slots), the life cycle (death
 * signals, readiness, clean exit) and the descriptor budget.
 *
 * The model lives in one MAP_SHARED anonymous arena mapped before the first
 * fork, so every task of the tree records its own actions in place; the root
 * serialises the arena into the manifest JSON (bench/manifest.ts) once every
 * task has reported that its state is complete.
 */
#ifndef IB_WL_COMMON_H
#define IB_WL_COMMON_H

#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum scenario { SC_FILES, SC_SHARED, SC_EPOLL, SC_URING, SC_ALL };

/* Same names as enum ib_kind in bench/native/records.h. */
enum kind {
	K_UNKNOWN, K_REG, K_DIR, K_PIPE, K_SOCKET, K_CHR, K_BLK, K_EVENTFD,
	K_EPOLL, K_IO_URING, K_SIGNALFD, K_TIMERFD, K_INOTIFY, K_ANON, K_OTHER,
};

struct opts {
	enum scenario scenario;
	const char *manifest;
	long files;       /* --files N */
	long tasks;       /* --tasks K (0: scenario default) */
	long buffers;     /* --buffers B (-1: default) */
	long epoll_items; /* --epoll-items E (-1: default) */
	long uring_files; /* --uring-files U (-1: default) */
	bool churn;
	bool check; /* --check: validate sizes and limits only */
};

/* Descriptors kept free in every task for transients (SCM batches, churn). */
#define FD_MARGIN 300
#define MAX_TASKS 256
#define MAX_EPOLLS 512
#define MAX_RINGS 4
#define MAX_CASES 64
#define SCM_BATCH 200 /* descriptors per SCM_RIGHTS message (kernel max 253) */

struct mfile {
	int kind;
	int flags;
	uint64_t dev;
	uint64_t ino;
	int64_t pos;
	const char *path; /* arena string or NULL */
	const char *note; /* arena or static string or NULL */
};

struct mtask {
	pid_t pid;
	char role[24];
	int32_t *fdlabel; /* [fd_cap]: label + 1, 0 = no descriptor */
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
	int fd;
	int label;
	uint32_t nfiles;
	int32_t *slots; /* label + 1, 0 = empty */
	uint32_t nbufs;
	struct mbuf *bufs;
};

struct arena {
	uint64_t bump; /* next free byte offset (atomic) */
	uint64_t size;
	int failed;
	char errmsg[256];
	sem_t done; /* one post per child whose state is complete (or failed) */
	int fd_cap;
	uint32_t nfiles; /* atomic */
	uint32_t files_cap;
	struct mfile *files;
	uint32_t ntasks; /* atomic */
	struct mtask tasks[MAX_TASKS];
	uint32_t nepolls; /* atomic */
	struct mepoll epolls[MAX_EPOLLS];
	uint32_t nrings; /* atomic */
	struct mring rings[MAX_RINGS];
	uint64_t data_seq; /* atomic: epoll data values */
	uint32_t ncases; /* atomic */
	const char *cases[MAX_CASES];
};

/* Sizes the whole tree will use, fixed before anything is created. */
struct plan {
	enum scenario scenario;
	long files, tasks, buffers, epoll_items, uring_files;
	long epolls;     /* epoll instances */
	long per_task;   /* shared part: descriptors per task (before spread) */
};

extern struct arena *A;
extern struct mtask *self;
extern const char *prog;
extern char tmpdir[4096];

/* arena */
int arena_init(long nfiles_cap, long fd_cap);
void *aalloc(size_t size);
char *astrdup(const char *s);
char *aprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tasks */
struct mtask *task_new(const char *role, const struct mtask *from);
pid_t fork_task(const char *role, struct mtask **slot);
void child_done(void);
void child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* descriptors and open files */
int file_new(int fd, int kind, const char *path, const char *note);
void file_refresh(int label, int fd);
void file_note(int label, const char *note);
int fd_label(int fd);
void fd_bind(int fd, int label);
int fd_dup(int fd);
int fd_dup_to(int fd, int to);
void fd_close(int fd);
int kind_of_mode(unsigned int mode);

/* common file makers: each returns the new descriptor (tracked) or dies */
int mk_reg(int idx, const char *note);
int mk_eventfd(int idx, const char *note);
void mk_pipe(int fds[2], int idx, const char *note);
void mk_socketpair(int fds[2], int idx, const char *note);

/* builders */
void build_mix(long count, int salt);
int epoll_pre_fork(struct plan *p);
void epoll_post_fork_child(void);
void epoll_build(struct plan *p, long items);
int uring_probe(void);
void uring_build(struct plan *p);
bool uring_has_spare_slot(void);
void uring_epoll_target(struct mepoll *e);
void shared_build(struct plan *p, bool with_epoll);

/* epoll / uring model */
struct mepoll *mepoll_new(int epfd);
void mepoll_add(struct mepoll *e, int tfd, uint32_t events, const char *note);
uint64_t next_data(void);

/* SCM_RIGHTS */
int scm_send(int sock, const int *fds, int n);
int scm_recv(int sock, int *fds, int max, int32_t *labels);

void add_case(const char *c);

/* planning and limits */
int plan_make(const struct opts *o, struct plan *p, long fd_limit);

/* manifest */
int manifest_write(const struct plan *p, const char *path);

/* life cycle */
void lifecycle_init(void);
void set_deathsig(pid_t expect_parent);
int wait_children(double timeout_s);
int serve(const struct plan *p, bool churn);
void cleanup_tree(void);
void remove_tree(const char *path);

#endif /* IB_WL_COMMON_H */
