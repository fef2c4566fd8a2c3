// SPDX-License-Identifier: MIT
/*
 * common.c - the ground-truth model, file makers, SCM_RIGHTS, manifest
 * writer and life cycle shared by every scenario of iterbench-workload.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

struct arena *A;
struct mtask *self;
const char *prog = "iterbench-workload";
char tmpdir[4096];

static pid_t root_pid;
static pid_t children[MAX_TASKS];
static int nchildren;
static volatile sig_atomic_t stop_requested;

#define ARENA_SIZE (4ull << 30) /* virtual; pages are touched on use */

void die(const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (getpid() != root_pid && root_pid)
		child_fail("%s", buf);
	fprintf(stderr, "%s: %s\n", prog, buf);
	cleanup_tree();
	exit(1);
}

/* ---- arena ---------------------------------------------------------- */

int arena_init(long files_cap, long fd_cap)
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
	A->files_cap = files_cap;
	A->files = aalloc(sizeof(struct mfile) * files_cap);
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
	uint32_t i = __atomic_fetch_add(&A->ncases, 1, __ATOMIC_RELAXED);

	if (i < MAX_CASES)
		A->cases[i] = c; /* static strings: same address in every task */
}

/* ---- tasks ---------------------------------------------------------- */

struct mtask *task_new(const char *role, const struct mtask *from)
{
	uint32_t i = __atomic_fetch_add(&A->ntasks, 1, __ATOMIC_RELAXED);
	struct mtask *t;

	if (i >= MAX_TASKS)
		die("too many tasks (max %d)", MAX_TASKS);
	t = &A->tasks[i];
	snprintf(t->role, sizeof(t->role), "%s", role);
	t->fdlabel = aalloc(sizeof(int32_t) * A->fd_cap);
	if (from)
		memcpy(t->fdlabel, from->fdlabel, sizeof(int32_t) * A->fd_cap);
	return t;
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

/*
 * Fork a task of the tree. The child's descriptor table is a copy of the
 * parent's, and so is its model: the slot is copied before fork() so the
 * parent may go on changing its own table at once.
 */
pid_t fork_task(const char *role, struct mtask **slot)
{
	struct mtask *t = task_new(role, self);
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t all;

		self = t;
		t->pid = getpid();
		set_deathsig(parent);
		sigemptyset(&all);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (slot)
			*slot = t;
		return 0;
	}
	t->pid = pid;
	if (nchildren < MAX_TASKS)
		children[nchildren++] = pid;
	if (slot)
		*slot = t;
	return pid;
}

void child_done(void)
{
	sem_post(&A->done);
	for (;;)
		pause();
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

/* Wait until every child reported; -1 with a message on failure. */
int wait_children(double timeout_s)
{
	struct timespec deadline, ts;
	int got = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)timeout_s;
	while (got < nchildren) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (sem_timedwait(&A->done, &ts) == 0) {
			got++;
		} else if (errno != ETIMEDOUT && errno != EINTR) {
			fprintf(stderr, "%s: sem_timedwait: %s\n", prog, strerror(errno));
			return -1;
		}
		if (__atomic_load_n(&A->failed, __ATOMIC_SEQ_CST)) {
			fprintf(stderr, "%s: %s\n", prog, A->errmsg);
			return -1;
		}
		for (int i = 0; i < nchildren; i++) {
			int st;

			if (waitpid(children[i], &st, WNOHANG) == children[i]) {
				fprintf(stderr, "%s: task %d died before it was ready\n",
					prog, children[i]);
				children[i] = -1;
				return -1;
			}
		}
		if (ts.tv_sec > deadline.tv_sec) {
			fprintf(stderr, "%s: tasks not ready after %.0f s\n", prog, timeout_s);
			return -1;
		}
	}
	return 0;
}

/* ---- descriptors and open files --------------------------------------- */

int kind_of_mode(unsigned int mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return K_REG;
	case S_IFDIR: return K_DIR;
	case S_IFIFO: return K_PIPE;
	case S_IFSOCK: return K_SOCKET;
	case S_IFCHR: return K_CHR;
	case S_IFBLK: return K_BLK;
	case 0: return K_ANON;
	default: return K_OTHER;
	}
}

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
		f->kind = kind_of_mode(st.st_mode);
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

int fd_label(int fd)
{
	if (fd < 0 || fd >= A->fd_cap || !self->fdlabel[fd])
		die("descriptor %d is not in the model", fd);
	return self->fdlabel[fd] - 1;
}

void fd_bind(int fd, int label)
{
	if (fd < 0 || fd >= A->fd_cap)
		die("descriptor %d beyond the model's table", fd);
	self->fdlabel[fd] = label + 1;
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
	self->fdlabel[fd] = 0;
}

/* ---- file makers ------------------------------------------------------ */

/*
 * Regular files: one inode for every four opens, so most inodes are open
 * several times (distinct open files, same inode); every open has its own
 * position and a flag set taken from a cycle.
 */
int mk_reg(int idx, const char *note)
{
	static const int flagset[] = {
		O_RDONLY, O_WRONLY, O_RDWR, O_RDWR | O_APPEND,
		O_WRONLY | O_APPEND, O_RDONLY | O_NONBLOCK, O_RDWR | O_DSYNC,
		O_RDONLY | O_NOATIME,
	};
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/reg-%d-%d", tmpdir, (int)getpid(), idx / 4);
	fd = open(path, flagset[idx % 8] | O_CREAT, 0600);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (lseek(fd, 1 + (off_t)idx * 7, SEEK_SET) < 0)
		die("lseek %s: %s", path, strerror(errno));
	file_new(fd, K_REG, path, note);
	return fd;
}

int mk_eventfd(int idx, const char *note)
{
	static const int fl[] = { 0, EFD_NONBLOCK, EFD_SEMAPHORE, EFD_NONBLOCK | EFD_SEMAPHORE };
	int fd = eventfd(idx & 0xffff, fl[idx % 4]);

	if (fd < 0)
		die("eventfd: %s", strerror(errno));
	file_new(fd, K_EVENTFD, NULL, note);
	return fd;
}

void mk_pipe(int fds[2], int idx, const char *note)
{
	static const int fl[] = { 0, O_NONBLOCK, O_DIRECT, O_NONBLOCK | O_DIRECT };

	if (pipe2(fds, fl[idx % 4]) < 0)
		die("pipe2: %s", strerror(errno));
	file_new(fds[0], K_PIPE, NULL, note);
	file_new(fds[1], K_PIPE, NULL, note);
}

void mk_socketpair(int fds[2], int idx, const char *note)
{
	static const int ty[] = {
		SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET | SOCK_NONBLOCK, SOCK_STREAM | SOCK_NONBLOCK,
	};

	if (socketpair(AF_UNIX, ty[idx % 4], 0, fds) < 0)
		die("socketpair: %s", strerror(errno));
	file_new(fds[0], K_SOCKET, NULL, note);
	file_new(fds[1], K_SOCKET, NULL, note);
}

/* ---- epoll model ------------------------------------------------------ */

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

/* ---- SCM_RIGHTS ------------------------------------------------------- */

/* Send n (<= SCM_BATCH) descriptors and their labels in one message. */
int scm_send(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SCM_BATCH)];
	int32_t labels[SCM_BATCH];
	struct iovec iov = { labels, sizeof(int32_t) * n };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;

	for (int i = 0; i < n; i++)
		labels[i] = fd_label(fds[i]);
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receive one message; returns the number of descriptors (tracked) or -errno. */
int scm_recv(int sock, int *fds, int max, int32_t *labels)
{
	char cbuf[CMSG_SPACE(sizeof(int) * SCM_BATCH)];
	int32_t lab[SCM_BATCH];
	struct iovec iov = { lab, sizeof(lab) };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t r;
	int n = 0;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	r = recvmsg(sock, &msg, 0);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EPIPE;
	if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		die("SCM_RIGHTS message truncated");
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > max || (size_t)n * sizeof(int32_t) != (size_t)r)
			die("SCM_RIGHTS message malformed (%d fds, %zd bytes)", n, r);
		memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
	}
	for (int i = 0; i < n; i++) {
		labels[i] = lab[i];
		fd_bind(fds[i], lab[i]);
	}
	return n;
}

/* ---- manifest --------------------------------------------------------- */

static const char *kind_names[] = {
	"unknown", "reg", "dir", "pipe", "socket", "chr", "blk", "eventfd",
	"epoll", "io_uring", "signalfd", "timerfd", "inotify", "anon", "other",
};
static const char *scenario_names[] = { "files", "shared", "epoll", "io_uring", "all" };

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int manifest_write(const struct plan *p, const char *path)
{
	uint32_t nfiles = A->nfiles, ntasks = A->ntasks;
	char tmp[PATH_MAX];
	uint8_t *used;
	bool first;
	FILE *f;

	used = calloc(nfiles ? nfiles : 1, 1);
	if (!used)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		free(used);
		return -errno;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fprintf(f, "{\"schema\":1,\"scenario\":\"%s\",", scenario_names[p->scenario]);
	fprintf(f, "\"params\":{\"files\":%ld,\"tasks\":%u,\"buffers\":%ld,"
		"\"epollItems\":%ld,\"uringFiles\":%ld},",
		p->files, ntasks, p->buffers, p->epoll_items, p->uring_files);
	fprintf(f, "\"rootPid\":%d,\"tasks\":[", (int)root_pid);
	for (uint32_t t = 0; t < ntasks; t++) {
		struct mtask *tk = &A->tasks[t];

		fprintf(f, "%s{\"pid\":%d,\"role\":", t ? "," : "", (int)tk->pid);
		jstr(f, tk->role);
		fputs(",\"fds\":[", f);
		first = true;
		for (int fd = 0; fd < A->fd_cap; fd++) {
			if (!tk->fdlabel[fd])
				continue;
			used[tk->fdlabel[fd] - 1] = 1;
			fprintf(f, "%s{\"fd\":%d,\"file\":\"f%d\"}", first ? "" : ",",
				fd, tk->fdlabel[fd] - 1);
			first = false;
		}
		fputs("]}", f);
	}
	fputs("],\"epoll\":[", f);
	for (uint32_t i = 0; i < A->nepolls; i++) {
		struct mepoll *e = &A->epolls[i];

		fprintf(f, "%s{\"pid\":%d,\"epfd\":%d,\"file\":\"f%d\",\"items\":[",
			i ? "," : "", (int)e->pid, e->epfd, e->label);
		for (uint32_t j = 0; j < e->nitems; j++) {
			struct mitem *it = &e->items[j];

			used[it->target] = 1;
			fprintf(f, "%s{\"tfd\":%d,\"events\":%u,\"data\":\"0x%llx\",\"target\":\"f%d\"",
				j ? "," : "", it->tfd, it->events,
				(unsigned long long)it->data, it->target);
			if (it->note) {
				fputs(",\"note\":", f);
				jstr(f, it->note);
			}
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fputs("],\"io_uring\":[", f);
	for (uint32_t i = 0; i < A->nrings; i++) {
		struct mring *r = &A->rings[i];

		fprintf(f, "%s{\"pid\":%d,\"fd\":%d,\"file\":\"f%d\",\"files\":[",
			i ? "," : "", (int)r->pid, r->fd, r->label);
		for (uint32_t j = 0; j < r->nfiles; j++) {
			if (r->slots[j]) {
				used[r->slots[j] - 1] = 1;
				fprintf(f, "%s\"f%d\"", j ? "," : "", r->slots[j] - 1);
			} else {
				fprintf(f, "%snull", j ? "," : "");
			}
		}
		fputs("],\"buffers\":[", f);
		for (uint32_t j = 0; j < r->nbufs; j++) {
			struct mbuf *b = &r->bufs[j];

			if (j)
				fputc(',', f);
			if (!b->present) {
				fputs("null", f);
				continue;
			}
			fprintf(f, "{\"addr\":\"0x%llx\",\"len\":%llu",
				(unsigned long long)b->addr, (unsigned long long)b->len);
			if (b->note) {
				fputs(",\"note\":", f);
				jstr(f, b->note);
			}
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fputs("],\"files\":{", f);
	first = true;
	for (uint32_t i = 0; i < nfiles; i++) {
		struct mfile *m = &A->files[i];

		if (!used[i])
			continue;
		fprintf(f, "%s\"f%u\":{\"kind\":\"%s\",\"dev\":%llu,\"ino\":%llu,"
			"\"pos\":%lld,\"flags\":%d",
			first ? "" : ",", i, kind_names[m->kind],
			(unsigned long long)m->dev, (unsigned long long)m->ino,
			(long long)m->pos, m->flags);
		if (m->path) {
			fputs(",\"path\":", f);
			jstr(f, m->path);
		}
		if (m->note) {
			fputs(",\"note\":", f);
			jstr(f, m->note);
		}
		fputc('}', f);
		first = false;
	}
	fputs("},\"cases\":[", f);
	first = true;
	for (uint32_t i = 0; i < A->ncases && i < MAX_CASES; i++) {
		bool dup = false;

		for (uint32_t j = 0; j < i; j++)
			dup |= !strcmp(A->cases[j], A->cases[i]);
		if (dup)
			continue;
		if (!first)
			fputc(',', f);
		jstr(f, A->cases[i]);
		first = false;
	}
	fputs("]}\n", f);
	free(used);
	if (fflush(f) || ferror(f)) {
		int err = -errno;

		fclose(f);
		unlink(tmp);
		return err ? err : -EIO;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

/* ---- life cycle ------------------------------------------------------- */

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * Arm the death signal, close everything the harness left open beyond
 * 0/1/2 (so the state is exactly known), block the stop signals (they are
 * taken in serve()'s ppoll only) and take the whole descriptor limit.
 */
void lifecycle_init(void)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct rlimit rl;
	sigset_t set;

	root_pid = getpid();
	set_deathsig(getppid());
	close_range(3, ~0u, 0);
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", O_RDWR);

		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void remove_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void cleanup_tree(void)
{
	if (getpid() != root_pid)
		return;
	for (int i = 0; i < nchildren; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	for (int i = 0; i < nchildren; i++)
		if (children[i] > 0)
			waitpid(children[i], NULL, 0);
	nchildren = 0;
	if (tmpdir[0]) {
		remove_tree(tmpdir);
		tmpdir[0] = 0;
	}
}

/*
 * Print "ready <pid>", then wait for "exit", EOF on stdin or SIGTERM. With churn, keep
 * changing the root's descriptors (from before ready on, always four
 * descriptors and one position the manifest does not describe) about a
 * thousand times a second.
 */
int serve(const struct plan *p, bool churn)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	struct timespec tick = { 0, 1000 * 1000 };
	int churn_fds[4] = { -1, -1, -1, -1 };
	char line[256];
	size_t have = 0;
	int reg_fd = -1;
	sigset_t open_mask;
	unsigned long it = 0;

	(void)p;
	sigprocmask(SIG_SETMASK, NULL, &open_mask);
	sigdelset(&open_mask, SIGTERM);
	sigdelset(&open_mask, SIGINT);
	sigdelset(&open_mask, SIGHUP);
	if (churn) {
		for (int fd = 3; fd < A->fd_cap && reg_fd < 0; fd++)
			if (self->fdlabel[fd] &&
			    A->files[self->fdlabel[fd] - 1].kind == K_REG &&
			    !(A->files[self->fdlabel[fd] - 1].flags & O_PATH))
				reg_fd = fd;
		/* all four before ready: a reader racing one tick (a dup and a
		 * close move one descriptor) still sees the others */
		for (int k = 0; k < 4; k++)
			churn_fds[k] = open("/dev/null", O_RDONLY);
		if (reg_fd >= 0)
			lseek(reg_fd, 1, SEEK_CUR);
	}
	{
		char ready[64];
		int n = snprintf(ready, sizeof(ready), "ready %d\n", (int)getpid());

		if (write(1, ready, n) != n) {
			fprintf(stderr, "%s: write ready: %s\n", prog, strerror(errno));
			return -1;
		}
	}
	while (!stop_requested) {
		int r = ppoll(&pfd, 1, churn ? &tick : NULL, &open_mask);

		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0) {
			ssize_t n = read(0, line + have, sizeof(line) - 1 - have);

			if (n <= 0)
				break; /* EOF (or error): the harness is gone */
			have += n;
			line[have] = 0;
			char *nl;
			bool exit_seen = false;

			while ((nl = strchr(line, '\n'))) {
				*nl = 0;
				if (!strcmp(line, "exit"))
					exit_seen = true;
				memmove(line, nl + 1, have - (nl + 1 - line) + 1);
				have -= nl + 1 - line;
			}
			if (exit_seen)
				break;
			if (have == sizeof(line) - 1)
				have = 0;
		}
		if (churn) {
			/* 4 descriptor changes and one position change per tick */
			int slot = it % 4, next = (it + 1) % 4;

			if (churn_fds[next] >= 0)
				close(churn_fds[next]);
			churn_fds[next] = open("/dev/null", O_RDONLY);
			if (churn_fds[slot] >= 0) {
				int d = dup(churn_fds[slot]);

				close(churn_fds[slot]);
				churn_fds[slot] = d;
			}
			if (reg_fd >= 0)
				lseek(reg_fd, (off_t)it * 3 + 2, SEEK_SET);
			it++;
		}
	}
	return 0;
}
