// SPDX-License-Identifier: MIT
/*
 * model.c - the arena and the ground-truth model: open files (labels),
 * descriptor tables, tasks, epoll instances and io_uring rings. Every change
 * to a descriptor goes through here, so the model is the generator's own
 * record of what it did (fstat, F_GETFL and lseek on its own descriptors for
 * the metadata), never a read of /proc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "tasks.h"

struct arena *A;
struct mtask *self;

#define ARENA_SIZE (8ull << 30) /* virtual; pages are touched on use */

/* ---- arena ---------------------------------------------------------- */

int arena_init(long files_cap, long tasks_cap, long fd_cap)
{
	void *p;

	p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	A = p;
	A->size = ARENA_SIZE;
	A->bump = (sizeof(*A) + 63) & ~63ull;
	A->fd_cap = fd_cap;
	if (sem_init(&A->done, 1, 0))
		return -errno;
	if ((uint64_t)files_cap * sizeof(struct mfile) > ARENA_SIZE / 2 ||
	    (uint64_t)tasks_cap * ((uint64_t)fd_cap * 4 + sizeof(struct mtask)) > ARENA_SIZE / 2)
		return -ENOMEM;
	A->files_cap = files_cap;
	A->files = aalloc(sizeof(struct mfile) * files_cap);
	A->tasks_cap = tasks_cap;
	A->tasks = aalloc(sizeof(struct mtask) * tasks_cap);
	return 0;
}

void *aalloc(size_t size)
{
	uint64_t off;

	size = (size + 15) & ~(size_t)15;
	off = __atomic_fetch_add(&A->bump, size, __ATOMIC_RELAXED);
	if (off + size > A->size)
		die("model arena exhausted");
	return (char *)A + off;
}

char *astrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(aalloc(n), s, n);
}

char *aprintf(const char *fmt, ...)
{
	char buf[PATH_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return astrdup(buf);
}

void add_case(const char *c)
{
	uint32_t i, n = __atomic_load_n(&A->ncases, __ATOMIC_RELAXED);

	/* once is enough (a race may add one twice: the writer drops duplicates) */
	for (i = 0; i < n && i < MAX_CASES; i++)
		if (A->cases[i] == c)
			return;
	i = __atomic_fetch_add(&A->ncases, 1, __ATOMIC_RELAXED);
	if (i < MAX_CASES)
		A->cases[i] = c;
}

void add_cases(const char *const *list)
{
	for (; *list; list++)
		add_case(*list);
}

/* ---- tasks and tables -------------------------------------------------- */

static struct mtable *table_new(const struct mtable *from)
{
	struct mtable *t = aalloc(sizeof(*t));

	/* the label array is virtual until written: copy only what is used */
	t->label = aalloc(sizeof(int32_t) * A->fd_cap);
	t->maxfd = -1;
	if (from && from->maxfd >= 0) {
		memcpy(t->label, from->label, sizeof(int32_t) * (from->maxfd + 1));
		t->maxfd = from->maxfd;
	}
	return t;
}

struct mtask *task_new(const char *role, const struct mtask *from, bool share_table)
{
	uint32_t i = __atomic_fetch_add(&A->ntasks, 1, __ATOMIC_RELAXED);
	struct mtask *t;

	if (i >= A->tasks_cap)
		die("too many tasks (the plan has room for %u)", A->tasks_cap);
	t = &A->tasks[i];
	snprintf(t->role, sizeof(t->role), "%s", role);
	if (from && share_table) {
		t->table = from->table;
	} else {
		t->table = table_new(from ? from->table : NULL);
		t->table->owner = 0; /* set to the task's pid once it has one */
	}
	return t;
}

void task_add_thread(struct mtask *t, pid_t tid)
{
	int i = __atomic_fetch_add(&t->nthreads, 1, __ATOMIC_RELAXED);

	if (i >= MAX_THREADS)
		die("too many threads in one task (max %d)", MAX_THREADS);
	t->threads[i] = tid;
}

/* ---- descriptors and open files --------------------------------------- */

static void capture(struct mfile *f, int fd)
{
	struct stat st;
	off_t pos;

	if (fstat(fd, &st) < 0)
		die("fstat(%d): %s", fd, strerror(errno));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->flags = fcntl(fd, F_GETFL);
	if (f->flags < 0)
		die("fcntl(%d, F_GETFL): %s", fd, strerror(errno));
	pos = lseek(fd, 0, SEEK_CUR);
	f->pos = pos < 0 ? 0 : pos; /* pipes, sockets, O_PATH: no position (0) */
	if (f->kind < 0)
		f->kind = ib_kind_of_mode(st.st_mode);
}

int file_new(int fd, int kind, const char *path, const char *note)
{
	uint32_t id = __atomic_fetch_add(&A->nfiles, 1, __ATOMIC_RELAXED);
	struct mfile *f;

	if (id >= A->files_cap)
		die("model file table full (%u)", A->files_cap);
	f = &A->files[id];
	f->kind = kind;
	f->path = path ? astrdup(path) : NULL;
	f->note = note;
	capture(f, fd);
	fd_bind(fd, id);
	return id;
}

void file_refresh(int label, int fd)
{
	capture(&A->files[label], fd);
}

void file_note(int label, const char *note)
{
	struct mfile *f = &A->files[label];

	if (!f->note)
		f->note = note;
	else if (!strstr(f->note, note))
		f->note = aprintf("%s; %s", f->note, note);
}

bool fd_known(int fd)
{
	return fd >= 0 && fd < A->fd_cap && self->table->label[fd];
}

int fd_label(int fd)
{
	if (!fd_known(fd))
		die("descriptor %d is not in the model", fd);
	return self->table->label[fd] - 1;
}

void fd_bind(int fd, int label)
{
	struct mtable *t = self->table;

	if (fd < 0 || fd >= A->fd_cap)
		die("descriptor %d beyond the model's table", fd);
	t->label[fd] = label + 1;
	if (fd > t->maxfd)
		t->maxfd = fd;
}

int fd_dup(int fd)
{
	int nfd = fcntl(fd, F_DUPFD, 0);

	if (nfd < 0)
		die("dup(%d): %s", fd, strerror(errno));
	fd_bind(nfd, fd_label(fd));
	return nfd;
}

int fd_dup_to(int fd, int to)
{
	if (dup2(fd, to) < 0)
		die("dup2(%d, %d): %s", fd, to, strerror(errno));
	fd_bind(to, fd_label(fd));
	return to;
}

void fd_close(int fd)
{
	fd_label(fd); /* must be known */
	if (close(fd) < 0)
		die("close(%d): %s", fd, strerror(errno));
	self->table->label[fd] = 0;
}

/* ---- epoll and io_uring model ----------------------------------------- */

uint64_t next_data(void)
{
	return 0x1b00000000000000ull |
	       __atomic_fetch_add(&A->data_seq, 1, __ATOMIC_RELAXED);
}

struct mepoll *mepoll_new(int epfd)
{
	uint32_t i = __atomic_fetch_add(&A->nepolls, 1, __ATOMIC_RELAXED);
	struct mepoll *e;

	if (i >= MAX_EPOLLS)
		die("too many epoll instances (max %d)", MAX_EPOLLS);
	e = &A->epolls[i];
	e->pid = getpid();
	e->epfd = epfd;
	e->label = fd_label(epfd);
	e->cap = 64;
	e->items = aalloc(sizeof(*e->items) * e->cap);
	return e;
}

/* A new item slot at the end of e's list (grown as needed). */
struct mitem *mepoll_item(struct mepoll *e)
{
	if (e->nitems == e->cap) {
		struct mitem *n = aalloc(sizeof(*n) * e->cap * 2);

		memcpy(n, e->items, sizeof(*n) * e->nitems);
		e->items = n;
		e->cap *= 2;
	}
	return &e->items[e->nitems++];
}

struct mring *mring_new(int fd)
{
	uint32_t i = __atomic_fetch_add(&A->nrings, 1, __ATOMIC_RELAXED);
	struct mring *r;

	if (i >= MAX_RINGS)
		die("too many io_uring instances (max %d)", MAX_RINGS);
	r = &A->rings[i];
	r->pid = getpid();
	r->fd = fd;
	r->reg_index = -1;
	r->label = fd_label(fd);
	return r;
}
