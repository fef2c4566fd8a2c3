/* SPDX-License-Identifier: MIT */
/*
 * bpf.c - the bpf-family collectors and two floors, all driven by one BPF
 * program (bpf/task_file.bpf.c, a task_file iterator) loaded with different
 * rodata switches:
 *
 *   bpf-task-file     one tf_file record per descriptor (seq_file)
 *   bpf-epoll         every epoll instance's items (ring buffer)
 *   bpf-io-uring      every io_uring ring's file and buffer slots (ring buffer)
 *   bpf-all           all of the above in one pass
 *   floor-empty-iter  the same links, the program returns at once
 *   floor-walk        visits every epoll item and io_uring slot, emits nothing
 *
 * open() loads the object (random identity keys set between __open and
 * __load) and creates one pid-filtered iterator link per target process.
 * collect() creates an iterator from each link and reads it to EOF with large
 * reads; after each read it drains the ring buffer, so the ring only needs
 * to hold what one read produced.
 *
 * The program is built twice: task_file (reads kernel objects through
 * bpf_rdonly_cast, Linux 6.2+) and task_file_compat (bpf_probe_read_kernel,
 * for older kernels such as the 6.1 VM lane). open() picks by kernel
 * version; IB_BPF_COMPAT=1 forces the compat build (to test it here).
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "method.h"
#include "task_file.h"
#include "task_file.skel.h"
#include "task_file_compat.skel.h"

_Static_assert((int)TF_K_INOTIFY == (int)IB_K_INOTIFY && (int)TF_K_OTHER == (int)IB_K_OTHER &&
	       (int)TF_K_EPOLL == (int)IB_K_EPOLL && (int)TF_K_IO_URING == (int)IB_K_IO_URING,
	       "tf_kind and ib_kind differ");
/* both objects are built from one source: the same globals */
_Static_assert(sizeof(struct task_file_bpf__bss) == sizeof(struct task_file_compat_bpf__bss) &&
	       sizeof(struct task_file_bpf__rodata) ==
	       sizeof(struct task_file_compat_bpf__rodata), "task_file objects differ");
_Static_assert(TF_NOTE_TRUNCATED == IB_NOTE_TRUNCATED, "note codes differ");

/*
 * libbpf prints its diagnostics to stderr by default; the harness reports
 * errors as values. Keep the last warning so a failed load can name it.
 */
static __thread char last_libbpf_msg[256];

static int quiet_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level <= LIBBPF_WARN && getenv("IB_LIBBPF_VERBOSE") == NULL) {
		vsnprintf(last_libbpf_msg, sizeof(last_libbpf_msg), fmt, ap);
		return 0;
	}
	if (getenv("IB_LIBBPF_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

__attribute__((constructor)) static void bpf_init_print(void)
{
	libbpf_set_print(quiet_libbpf_print);
}

enum bpf_mode {
	M_TASK_FILE,
	M_EPOLL,
	M_URING,
	M_ALL,
	M_EMPTY,
	M_WALK,
	M_WALK_EPOLL,
	M_WALK_URING,
};

#define READ_BUF (256u << 10)
#define DEFAULT_RINGBUF (8u << 20)

struct bpf_state {
	enum bpf_mode mode;
	struct task_file_bpf *skel;          /* default object, or */
	struct task_file_compat_bpf *cskel;  /* the probe-read one (kernel < 6.2) */
	struct task_file_bpf__bss *bss;      /* the loaded object's globals */
	struct bpf_program *prog;
	struct bpf_map *rbmap;
	struct bpf_link **links;
	int32_t *pids;
	uint32_t nlinks;
	struct ring_buffer *rb;
	uint8_t *buf;
	/* ring buffer decoding context */
	struct ib_out *out;
	int32_t pid;
	int err;
};

static bool mode_items(enum bpf_mode m)
{
	return m == M_EPOLL || m == M_URING || m == M_ALL;
}

static void bpf_close(void *p)
{
	struct bpf_state *st = p;
	uint32_t i;

	if (!st)
		return;
	ring_buffer__free(st->rb);
	for (i = 0; i < st->nlinks; i++)
		bpf_link__destroy(st->links[i]);
	task_file_bpf__destroy(st->skel);
	task_file_compat_bpf__destroy(st->cskel);
	free(st->links);
	free(st->pids);
	free(st->buf);
	free(st);
}

/* One ring buffer sample = a chunk of tf records of one instance. */
static int on_chunk(void *ctx, void *data, size_t size)
{
	struct bpf_state *st = ctx;
	struct ib_out *out = st->out;
	uint8_t *p = data, *end = p + size;
	uint64_t t0 = ib_now_ns();
	int stage = -1;

	while (p + sizeof(struct tf_hdr) <= end) {
		const struct tf_hdr *h = (const void *)p;

		if (h->size < sizeof(*h) || p + h->size > end) {
			st->err = ib_out_error(out, -EPROTO, "bpf: malformed ring buffer record "
					       "(type %u size %u)", h->type, h->size);
			return st->err;
		}
		switch (h->type) {
		case TF_EPOLL_ITEM: {
			const struct tf_epoll_item *s = (const void *)p;
			struct ib_rec_epoll_item *r;

			r = ib_out_rec(out, IB_REC_EPOLL_ITEM, st->pid, sizeof(*r), NULL, 0);
			if (!r)
				goto nomem;
			r->epfd = h->fd;
			r->tfd = s->tfd;
			r->events = s->events;
			r->data = s->data;
			r->have = IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_EVENT;
			r->target_dev = ib_kdev_to_dev(s->dev);
			r->target_ino = s->ino;
			r->target.how = IB_ID_KEY;
			r->target.key = s->key;
			stage = IB_STAGE_EPOLL;
			break;
		}
		case TF_URING_RING: {
			const struct tf_uring_ring *s = (const void *)p;
			struct ib_rec_uring_ring *r;

			r = ib_out_rec(out, IB_REC_URING_RING, st->pid, sizeof(*r), NULL, 0);
			if (!r)
				goto nomem;
			r->ring_fd = h->fd;
			r->nr_files = s->nr_files;
			r->nr_bufs = s->nr_bufs;
			stage = IB_STAGE_IO_URING;
			break;
		}
		case TF_URING_FILE: {
			const struct tf_uring_file *s = (const void *)p;
			struct ib_rec_uring_file *r;

			r = ib_out_rec(out, IB_REC_URING_FILE, st->pid, sizeof(*r), NULL, 0);
			if (!r)
				goto nomem;
			r->ring_fd = h->fd;
			r->index = s->index;
			r->have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO;
			r->kind = s->kind;
			r->dev = ib_kdev_to_dev(s->dev);
			r->ino = s->ino;
			r->file.how = IB_ID_KEY;
			r->file.key = s->key;
			stage = IB_STAGE_IO_URING;
			break;
		}
		case TF_URING_BUF: {
			const struct tf_uring_buf *s = (const void *)p;
			struct ib_rec_uring_buf *r;

			r = ib_out_rec(out, IB_REC_URING_BUF, st->pid, sizeof(*r), NULL, 0);
			if (!r)
				goto nomem;
			r->ring_fd = h->fd;
			r->index = s->index;
			r->addr = s->addr;
			r->len = s->len;
			stage = IB_STAGE_IO_URING;
			break;
		}
		case TF_NOTE: {
			static const char text[] = "walk stopped at its bound: items missing";
			const struct tf_note *s = (const void *)p;
			struct ib_rec_note *r;

			r = ib_out_rec(out, IB_REC_NOTE, st->pid, sizeof(*r), text, sizeof(text) - 1);
			if (!r)
				goto nomem;
			r->code = s->code;
			r->fd = h->fd;
			r->count = s->count;
			break;
		}
		default:
			st->err = ib_out_error(out, -EPROTO, "bpf: unknown ring buffer record type %u",
					       h->type);
			return st->err;
		}
		p += h->size;
	}
	if (stage >= 0)
		out->stage_ns[stage] += ib_now_ns() - t0;
	return 0;
nomem:
	st->err = ib_out_error(out, -ENOMEM, "bpf: out of memory for records");
	return st->err;
}

static int pid_check(int32_t pid, struct ib_out *out)
{
	char path[64], stat[256], *rp;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return ib_out_error(out, -ESRCH, "pid %d: no such process", pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ib_out_error(out, -ESRCH, "pid %d: no such process", pid);
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return ib_out_error(out, -ESRCH, "pid %d: no such process", pid);
	stat[n] = '\0';
	rp = strrchr(stat, ')');
	if (rp && (rp[2] == 'Z' || rp[2] == 'X'))
		return ib_out_error(out, -ESRCH, "pid %d: exited (zombie), no files", pid);
	return 0;
}

/* The iterator visited no file of pid: gone, or really without descriptors?
 * (Only on that rare path: costs a few syscalls.) */
static int no_files_check(int32_t pid, struct ib_out *out)
{
	char path[64];
	struct dirent *de;
	int err, n = 0;
	DIR *d;

	err = pid_check(pid, out);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d) {
		err = -errno;
		if (err == -ENOENT)
			return ib_out_error(out, -ESRCH, "pid %d: no such process", pid);
		return ib_out_error(out, err, "pid %d: iterator saw no files; %s: %s", pid, path,
				    strerror(-err));
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	if (n)
		return ib_out_error(out, -EPERM, "pid %d: iterator saw no files, /proc lists %d "
				    "(a task outside this pid namespace?)", pid, n);
	return 0;
}

/* The default object needs the bpf_rdonly_cast kfunc (Linux 6.2+). The
 * probe-read build serves older kernels; IB_BPF_COMPAT=1 forces it (tests). */
static bool need_compat(void)
{
	const char *env = getenv("IB_BPF_COMPAT");
	struct utsname u;
	int major = 0, minor = 0;

	if (env && strcmp(env, "1") == 0)
		return true;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major < 6 || (major == 6 && minor < 2);
}

/* settings of either object, between __open and __load */
#define CONFIGURE(skel, mode, keys)                                                     \
	do {                                                                            \
		(skel)->rodata->key0 = (keys)[0];                                       \
		(skel)->rodata->key1 = (keys)[1] | 1;                                   \
		(skel)->rodata->empty = (mode) == M_EMPTY;                              \
		(skel)->rodata->emit_files = (mode) == M_TASK_FILE || (mode) == M_ALL;  \
		(skel)->rodata->walk_epoll = (mode) == M_EPOLL || (mode) == M_ALL ||    \
					     (mode) == M_WALK || (mode) == M_WALK_EPOLL; \
		(skel)->rodata->walk_uring = (mode) == M_URING || (mode) == M_ALL ||    \
					     (mode) == M_WALK || (mode) == M_WALK_URING; \
		(skel)->rodata->emit_items = mode_items(mode);                          \
	} while (0)

/* open, configure and load one of the two builds of task_file.bpf.c */
static int load_object(struct bpf_state *st, bool compat, const struct bpf_object_open_opts *oo,
		       const uint64_t keys[2], uint32_t rb_bytes)
{
	int err;

	if (compat) {
		st->cskel = task_file_compat_bpf__open_opts(oo);
		if (!st->cskel)
			return -errno;
		CONFIGURE(st->cskel, st->mode, keys);
		st->rbmap = st->cskel->maps.rb;
		st->prog = st->cskel->progs.task_file;
	} else {
		st->skel = task_file_bpf__open_opts(oo);
		if (!st->skel)
			return -errno;
		CONFIGURE(st->skel, st->mode, keys);
		st->rbmap = st->skel->maps.rb;
		st->prog = st->skel->progs.task_file;
	}
	err = bpf_map__set_max_entries(st->rbmap, rb_bytes);
	if (err)
		return err;
	if (compat) {
		err = task_file_compat_bpf__load(st->cskel);
		st->bss = (struct task_file_bpf__bss *)st->cskel->bss;
	} else {
		err = task_file_bpf__load(st->skel);
		st->bss = st->skel->bss;
	}
	return err;
}

static int bpf_open_mode(enum bpf_mode mode, void **state, const struct ib_target *t,
			 const struct ib_opts *o, struct ib_out *out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct bpf_state *st;
	uint64_t keys[2];
	uint32_t i, rb_bytes;
	bool compat;
	int err;

	*state = NULL;
	if (!t->npids)
		return ib_out_error(out, -EINVAL, "bpf: no target pids");
	for (i = 0; i < t->npids; i++) {
		err = pid_check(t->pids[i], out);
		if (err)
			return err;
	}
	if (getrandom(keys, sizeof(keys), 0) != sizeof(keys))
		return ib_out_error(out, -errno, "bpf: getrandom: %s", strerror(errno));

	st = calloc(1, sizeof(*st));
	if (!st)
		return ib_out_error(out, -ENOMEM, "bpf: out of memory");
	st->mode = mode;
	st->links = calloc(t->npids, sizeof(*st->links));
	st->pids = calloc(t->npids, sizeof(*st->pids));
	st->buf = malloc(READ_BUF);
	if (!st->links || !st->pids || !st->buf) {
		err = ib_out_error(out, -ENOMEM, "bpf: out of memory");
		goto fail;
	}

	/* No usable BTF: this lane cannot run here (skipped), it did not fail. */
	if (o && o->btf_path) {
		struct btf *btf = btf__parse(o->btf_path, NULL);

		if (!btf) {
			err = -errno;
			err = ib_out_error(out, -EOPNOTSUPP, "bpf: BTF %s unusable: %s", o->btf_path,
					   strerror(-err));
			goto fail;
		}
		btf__free(btf);
		oo.btf_custom_path = o->btf_path;
	} else if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		err = ib_out_error(out, -EOPNOTSUPP, "bpf: no kernel BTF at /sys/kernel/btf/vmlinux "
				   "(needs CONFIG_DEBUG_INFO_BTF): %s", strerror(errno));
		goto fail;
	}
	rb_bytes = getpagesize();
	if (mode_items(mode)) {
		uint32_t want = o && o->ringbuf_bytes ? o->ringbuf_bytes : DEFAULT_RINGBUF;

		/* a power of two, at least a page */
		while (rb_bytes < want && rb_bytes < (1u << 30))
			rb_bytes <<= 1;
	}
	compat = need_compat();
	err = compat ? -ESRCH : load_object(st, false, &oo, keys, rb_bytes);
	if (err == -ESRCH) {
		/* no bpf_rdonly_cast kfunc (libbpf: extern not found): the probe-read build */
		task_file_bpf__destroy(st->skel);
		st->skel = NULL;
		err = load_object(st, true, &oo, keys, rb_bytes);
	}
	if (err) {
		char msg[128];

		libbpf_strerror(err, msg, sizeof(msg));
		last_libbpf_msg[strcspn(last_libbpf_msg, "\n")] = '\0';
		err = ib_out_error(out, err, "bpf: load task_file program%s%s: %s%s%s%s",
				   oo.btf_custom_path ? " with BTF " : "",
				   oo.btf_custom_path ? oo.btf_custom_path : "", msg,
				   last_libbpf_msg[0] ? " (libbpf: " : "", last_libbpf_msg,
				   last_libbpf_msg[0] ? ")" : "");
		goto fail;
	}

	for (i = 0; i < t->npids; i++) {
		LIBBPF_OPTS(bpf_iter_attach_opts, ao);
		union bpf_iter_link_info li;

		memset(&li, 0, sizeof(li));
		li.task.pid = t->pids[i];
		ao.link_info = &li;
		ao.link_info_len = sizeof(li);
		st->links[i] = bpf_program__attach_iter(st->prog, &ao);
		if (!st->links[i]) {
			err = -errno;
			err = ib_out_error(out, err, "bpf: attach task_file iterator to pid %d: %s",
					   t->pids[i], strerror(-err));
			goto fail;
		}
		st->pids[i] = t->pids[i];
		st->nlinks++;
	}

	if (mode_items(mode)) {
		st->rb = ring_buffer__new(bpf_map__fd(st->rbmap), on_chunk, st, NULL);
		if (!st->rb) {
			err = -errno;
			err = ib_out_error(out, err, "bpf: ring buffer: %s", strerror(-err));
			goto fail;
		}
	}
	*state = st;
	return 0;
fail:
	bpf_close(st);
	return err;
}

static int decode_files(struct bpf_state *st, const uint8_t *p, size_t n, struct ib_out *out)
{
	const struct tf_file *f = (const void *)p;
	size_t i, cnt = n / sizeof(*f);

	for (i = 0; i < cnt; i++, f++) {
		struct ib_rec_fd *r;

		r = ib_out_rec(out, IB_REC_FD, st->pid, sizeof(*r), NULL, 0);
		if (!r)
			return ib_out_error(out, -ENOMEM, "bpf: out of memory for records");
		r->fd = f->fd;
		r->kind = f->kind;
		r->have = IB_HAVE_KIND | IB_HAVE_DEV | IB_HAVE_INO | IB_HAVE_POS | IB_HAVE_FLAGS;
		r->flags = f->flags;
		r->dev = ib_kdev_to_dev(f->dev);
		r->ino = f->ino;
		r->pos = f->pos;
		r->id.how = IB_ID_KEY;
		r->id.key = f->key;
	}
	return 0;
}

/* read one pid's iterator to EOF */
static int read_link(struct bpf_state *st, uint32_t li, struct ib_out *out)
{
	size_t have = 0;
	uint64_t t0;
	int fd, err = 0;

	fd = bpf_iter_create(bpf_link__fd(st->links[li]));
	if (fd < 0)
		return ib_out_error(out, -errno, "bpf: create iterator for pid %d: %s",
				    st->pids[li], strerror(errno));
	for (;;) {
		ssize_t n;
		size_t used;

		t0 = ib_now_ns();
		n = read(fd, st->buf + have, READ_BUF - have);
		out->stage_ns[IB_STAGE_ENUMERATE] += ib_now_ns() - t0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = ib_out_error(out, -errno, "bpf: read iterator of pid %d: %s",
					   st->pids[li], strerror(errno));
			break;
		}
		if (st->rb) {
			int r = ring_buffer__consume(st->rb);

			if (st->err) {
				err = st->err;
				break;
			}
			if (r < 0) {
				err = ib_out_error(out, r, "bpf: consume ring buffer: %s",
						   strerror(-r));
				break;
			}
		}
		if (n == 0)
			break;
		have += n;
		/* records may straddle two reads: keep the tail */
		used = have - have % sizeof(struct tf_file);
		if (st->mode == M_TASK_FILE || st->mode == M_ALL) {
			err = decode_files(st, st->buf, used, out);
			if (err)
				break;
		}
		memmove(st->buf, st->buf + used, have - used);
		have -= used;
	}
	close(fd);
	if (!err && have)
		err = ib_out_error(out, -EPROTO, "bpf: iterator of pid %d ended inside a record",
				   st->pids[li]);
	return err;
}

static int bpf_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
		       struct ib_out *out)
{
	struct bpf_state *st = state;
	struct task_file_bpf__bss *bss = st->bss;
	uint64_t visits = 0;
	uint32_t i;
	int err;

	bss->ndropped = 0;
	bss->scr_len = 0;
	bss->scr_n = 0;
	st->out = out;
	st->err = 0;
	for (i = 0; i < st->nlinks; i++) {
		uint64_t before = bss->nvisit;

		st->pid = st->pids[i];
		err = read_link(st, i, out);
		if (err)
			return err;
		if (bss->nvisit == before) {
			/* nothing visited: the process may be gone */
			err = no_files_check(st->pids[i], out);
			if (err)
				return err;
		}
		visits += bss->nvisit - before;
	}
	out->calls += visits;
	if (bss->ndropped) {
		static const char text[] = "bpf ring buffer full: records dropped";
		struct ib_rec_note *r;

		r = ib_out_rec(out, IB_REC_NOTE, 0, sizeof(*r), text, sizeof(text) - 1);
		if (r) {
			r->code = IB_NOTE_RINGBUF_DROPPED;
			r->fd = -1;
			r->count = bss->ndropped;
		}
		return ib_out_error(out, -ENOSPC, "bpf: ring buffer of %u bytes full: %llu records "
				    "dropped (raise ringbuf_bytes)",
				    bpf_map__max_entries(st->rbmap),
				    (unsigned long long)bss->ndropped);
	}
	return 0;
}

#define OPEN(name, mode)                                                              \
	static int name(void **s, const struct ib_target *t, const struct ib_opts *o, \
			struct ib_out *out)                                           \
	{                                                                             \
		return bpf_open_mode(mode, s, t, o, out);                             \
	}
OPEN(open_task_file, M_TASK_FILE)
OPEN(open_epoll, M_EPOLL)
OPEN(open_uring, M_URING)
OPEN(open_all, M_ALL)
OPEN(open_empty, M_EMPTY)
OPEN(open_walk, M_WALK)
OPEN(open_walk_epoll, M_WALK_EPOLL)
OPEN(open_walk_uring, M_WALK_URING)

#define NO_EPOLL "none: the task_file iterator alone does not walk epoll items"
#define NO_URING "none: the task_file iterator alone does not walk io_uring tables"
#define NO_FD(m) "none: " m " reports only per-item records"

const struct ib_method ib_method_bpf_task_file = {
	.name = "bpf-task-file",
	.family = "bpf",
	.summary = "one task_file iterator pass, one record per descriptor (seq_file)",
	.coverage = {
		[IB_COV_FD] = "full",
		[IB_COV_FD_META] = "full",
		[IB_COV_FD_POS] = "full",
		[IB_COV_FD_FLAGS] = "full",
		[IB_COV_FD_IDENTITY] = "full",
		[IB_COV_EPOLL_ITEM] = NO_EPOLL,
		[IB_COV_EPOLL_TARGET] = NO_EPOLL,
		[IB_COV_URING_FILE] = NO_URING,
		[IB_COV_URING_BUF] = NO_URING,
	},
	.open = open_task_file,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_bpf_epoll = {
	.name = "bpf-epoll",
	.family = "bpf",
	.needs = IB_NEEDS_EPOLL,
	.summary = "task_file program walking each epoll instance's item tree "
		   "(emulates the series' epoll iterator; ring buffer)",
	.coverage = {
		[IB_COV_FD] = NO_FD("bpf-epoll"),
		[IB_COV_FD_META] = NO_FD("bpf-epoll"),
		[IB_COV_FD_POS] = NO_FD("bpf-epoll"),
		[IB_COV_FD_FLAGS] = NO_FD("bpf-epoll"),
		[IB_COV_FD_IDENTITY] = NO_FD("bpf-epoll"),
		[IB_COV_EPOLL_ITEM] = "full",
		[IB_COV_EPOLL_TARGET] = "full",
		[IB_COV_URING_FILE] = "none: bpf-epoll walks only epoll instances",
		[IB_COV_URING_BUF] = "none: bpf-epoll walks only epoll instances",
	},
	.open = open_epoll,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_bpf_io_uring = {
	.name = "bpf-io-uring",
	.family = "bpf",
	.needs = IB_NEEDS_URING,
	.summary = "task_file program walking each io_uring ring's registered files "
		   "and buffers (emulates the series' io_uring iterators; ring buffer)",
	.coverage = {
		[IB_COV_FD] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_META] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_POS] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_FLAGS] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_IDENTITY] = NO_FD("bpf-io-uring"),
		[IB_COV_EPOLL_ITEM] = "none: bpf-io-uring walks only io_uring rings",
		[IB_COV_EPOLL_TARGET] = "none: bpf-io-uring walks only io_uring rings",
		[IB_COV_URING_FILE] = "full",
		[IB_COV_URING_BUF] = "full",
	},
	.open = open_uring,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_bpf_all = {
	.name = "bpf-all",
	.family = "bpf",
	.summary = "one task_file pass recovering descriptors, epoll items and "
		   "io_uring tables",
	.coverage = {
		[IB_COV_FD] = "full",
		[IB_COV_FD_META] = "full",
		[IB_COV_FD_POS] = "full",
		[IB_COV_FD_FLAGS] = "full",
		[IB_COV_FD_IDENTITY] = "full",
		[IB_COV_EPOLL_ITEM] = "full",
		[IB_COV_EPOLL_TARGET] = "full",
		[IB_COV_URING_FILE] = "full",
		[IB_COV_URING_BUF] = "full",
	},
	.open = open_all,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_floor_empty_iter = {
	.name = "floor-empty-iter",
	.family = "floor",
	.summary = "pid-filtered task_file iteration whose program returns at once",
	.coverage = IB_COVERAGE_FLOOR("visits the descriptors, reports nothing"),
	.open = open_empty,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_floor_walk = {
	.name = "floor-walk",
	.family = "floor",
	.needs = IB_NEEDS_EPOLL | IB_NEEDS_URING,
	.summary = "task_file iteration visiting every epoll item and io_uring slot, "
		   "emitting nothing",
	.coverage = IB_COVERAGE_FLOOR("visits every descriptor, epoll item and io_uring slot, reports nothing"),
	.open = open_walk,
	.collect = bpf_collect,
	.close = bpf_close,
};

/* The floors of bpf-epoll and bpf-io-uring: the same walk, one kind only. */
const struct ib_method ib_method_floor_walk_epoll = {
	.name = "floor-walk-epoll",
	.family = "floor",
	.needs = IB_NEEDS_EPOLL,
	.summary = "task_file iteration visiting every epoll item, emitting nothing",
	.coverage = IB_COVERAGE_FLOOR("visits every descriptor and epoll item, reports nothing"),
	.open = open_walk_epoll,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_floor_walk_io_uring = {
	.name = "floor-walk-io-uring",
	.family = "floor",
	.needs = IB_NEEDS_URING,
	.summary = "task_file iteration visiting every io_uring slot, emitting nothing",
	.coverage = IB_COVERAGE_FLOOR("visits every descriptor and io_uring slot, reports nothing"),
	.open = open_walk_uring,
	.collect = bpf_collect,
	.close = bpf_close,
};
