/* SPDX-License-Identifier: MIT */
/*
 * bpf.c - the bpf-family collectors and two floors, all driven by one BPF
 * program (bpf/task_file.bpf.c, a task_file iterator) loaded with different
 * rodata switches:
 *
 *   bpf-task-file     one ib_rec_fd per descriptor (seq_file)
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
 * to hold what one read produced. The program writes the records of
 * bpf/records.h itself: the iterator is read straight into the result
 * buffer and ring buffer chunks are appended to it as they are, after a
 * check that they are whole records. Nothing is translated.
 *
 * Every mode that writes records reads the ring buffer: besides the
 * per-item records it carries the ib_rec_table of a target task whose
 * descriptor table an earlier target showed (task_file.bpf.c).
 *
 * The program is built twice: task_file (reads kernel objects through
 * bpf_rdonly_cast, Linux 6.2+) and task_file_compat (bpf_probe_read_kernel,
 * for older kernels such as the 6.1 VM lane). open() takes the compat build
 * on a kernel older than 6.2, and falls back to it by itself when the
 * kernel cannot resolve the kfunc (a kernel without CONFIG_KALLSYMS, such
 * as the lane's 6.12: the verifier finds no address for it); either way
 * open() says so (ib_out_note, in the results). IB_BPF_COMPAT=1 forces the
 * compat build (to test it here).
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

/* both objects are built from one source: the same globals */
_Static_assert(sizeof(struct task_file_bpf__bss) == sizeof(struct task_file_compat_bpf__bss) &&
	       sizeof(struct task_file_bpf__rodata) ==
	       sizeof(struct task_file_compat_bpf__rodata), "task_file objects differ");

/*
 * libbpf prints its diagnostics to stderr by default; the harness reports
 * errors as values. Keep the last warning so a failed load can name it.
 */
static __thread char last_libbpf_msg[256];
/* the line of a load's messages that says a kfunc could not be resolved
 * (libbpf: extern not found; verifier: no address without kallsyms) */
static __thread char kfunc_msg[160];

static void note_kfunc_failure(const char *msg)
{
	/* (not the name alone: a failed load's log lists every call of it) */
	static const char *const marks[] = { "kernel function", "kfunc" };
	const char *p = NULL, *b, *e;
	size_t i, n;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]) && !p; i++)
		p = strstr(msg, marks[i]);
	if (!p || kfunc_msg[0])
		return;
	for (b = p; b > msg && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	n = e ? (size_t)(e - b) : strlen(b);
	if (n >= sizeof(kfunc_msg))
		n = sizeof(kfunc_msg) - 1;
	memcpy(kfunc_msg, b, n);
	kfunc_msg[n] = '\0';
}

static int quiet_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg = NULL;
	va_list aq;
	int n;

	va_copy(aq, ap);
	if (level <= LIBBPF_WARN && vasprintf(&msg, fmt, aq) >= 0) {
		note_kfunc_failure(msg);
		free(msg);
	}
	va_end(aq);
	if (level <= LIBBPF_WARN && getenv("IB_LIBBPF_VERBOSE") == NULL) {
		vsnprintf(last_libbpf_msg, sizeof(last_libbpf_msg), fmt, ap);
		return 0;
	}
	n = 0;
	if (getenv("IB_LIBBPF_VERBOSE"))
		n = vfprintf(stderr, fmt, ap);
	return n;
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
/* the seq_file carries ib_rec_fd records only: an unfinished one is shorter */
#define MAX_TAIL sizeof(struct ib_rec_fd)
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
	uint8_t tail[MAX_TAIL]; /* an unfinished record of the seq_file, while chunks are appended */
	/* ring buffer context */
	struct ib_out *out;
	int err;
};

static bool mode_items(enum bpf_mode m)
{
	return m == M_EPOLL || m == M_URING || m == M_ALL;
}

/* modes that write records: they read the ring buffer (per-item records,
 * and the ib_rec_table of a task whose descriptor table another showed) */
static bool mode_records(enum bpf_mode m)
{
	return m == M_TASK_FILE || mode_items(m);
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
	free(st);
}

/* One ring buffer sample = a chunk of whole records of one instance. */
static int on_chunk(void *ctx, void *data, size_t size)
{
	struct bpf_state *st = ctx;
	struct ib_out *out = st->out;
	const struct ib_rec_hdr *h = data;
	uint64_t t0 = ib_now_ns();
	int stage = -1;

	if (ib_whole_records(data, size) != (ssize_t)size) {
		st->err = ib_out_error(out, -EPROTO, "bpf: malformed ring buffer chunk of %zu bytes "
				       "(first record type %u size %u)", size,
				       size >= sizeof(*h) ? h->type : 0, size >= sizeof(*h) ? h->size : 0);
		return st->err;
	}
	if (size >= sizeof(*h)) {
		if (h->type == IB_REC_EPOLL_ITEM)
			stage = IB_STAGE_EPOLL;
		else if (h->type != IB_REC_NOTE && h->type != IB_REC_TABLE)
			stage = IB_STAGE_IO_URING;
	}
	if (ib_out_append(out, data, size)) {
		st->err = ib_out_error(out, -ENOMEM, "bpf: out of memory for records");
		return st->err;
	}
	if (stage >= 0)
		out->stage_ns[stage] += ib_now_ns() - t0;
	return 0;
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
 * probe-read build serves older kernels; IB_BPF_COMPAT=1 forces it (tests).
 * Returns why the probe-read one is used from the start, or NULL. */
static const char *need_compat(void)
{
	const char *env = getenv("IB_BPF_COMPAT");
	struct utsname u;
	int major = 0, minor = 0;

	if (env && strcmp(env, "1") == 0)
		return "IB_BPF_COMPAT=1";
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return NULL;
	return major < 6 || (major == 6 && minor < 2) ? "Linux < 6.2 has no bpf_rdonly_cast kfunc"
						      : NULL;
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
		       const uint64_t keys[2], uint32_t rb_bytes, uint32_t ntables)
{
	struct bpf_map *tables;
	int err;

	if (compat) {
		st->cskel = task_file_compat_bpf__open_opts(oo);
		if (!st->cskel)
			return -errno;
		CONFIGURE(st->cskel, st->mode, keys);
		st->rbmap = st->cskel->maps.rb;
		tables = st->cskel->maps.tables;
		st->prog = st->cskel->progs.task_file;
	} else {
		st->skel = task_file_bpf__open_opts(oo);
		if (!st->skel)
			return -errno;
		CONFIGURE(st->skel, st->mode, keys);
		st->rbmap = st->skel->maps.rb;
		tables = st->skel->maps.tables;
		st->prog = st->skel->progs.task_file;
	}
	err = bpf_map__set_max_entries(st->rbmap, rb_bytes);
	if (!err)
		err = bpf_map__set_max_entries(tables, ntables);
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
	uint32_t i, rb_bytes, ntables;
	const char *why_compat;
	char why[256];
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
	if (!st->links || !st->pids) {
		err = ib_out_error(out, -ENOMEM, "bpf: out of memory");
		goto fail;
	}

	/* No usable BTF: this lane cannot run here (skipped), it did not fail. */
	if (o && o->btf_path) {
		struct btf *btf = btf__parse(o->btf_path, NULL);

		if (!btf) {
			err = -errno;
			err = ib_out_skip(out, IB_SKIP_MISSING_FEATURE, "bpf: BTF %s unusable: %s",
					  o->btf_path, strerror(-err));
			goto fail;
		}
		btf__free(btf);
		oo.btf_custom_path = o->btf_path;
	} else if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		err = ib_out_skip(out, IB_SKIP_MISSING_FEATURE, "bpf: no kernel BTF at "
				  "/sys/kernel/btf/vmlinux (needs CONFIG_DEBUG_INFO_BTF): %s",
				  strerror(errno));
		goto fail;
	}
	rb_bytes = getpagesize();
	if (mode_items(mode)) {
		uint32_t want = o && o->ringbuf_bytes ? o->ringbuf_bytes : DEFAULT_RINGBUF;

		/* a power of two, at least a page */
		while (rb_bytes < want && rb_bytes < (1u << 30))
			rb_bytes <<= 1;
	}
	/* the descriptor tables of the targets (threads with tables of their own add some) */
	ntables = 2 * t->npids + 64;
	why_compat = need_compat();
	kfunc_msg[0] = '\0';
	err = why_compat ? -ESRCH : load_object(st, false, &oo, keys, rb_bytes, ntables);
	if (err && (why_compat || err == -ESRCH || kfunc_msg[0])) {
		/* the kernel cannot resolve the bpf_rdonly_cast kfunc: libbpf finds
		 * no such extern (< 6.2), or the verifier no address for it (a
		 * kernel without CONFIG_KALLSYMS): the probe-read build, said in
		 * the result */
		if (!why_compat) {
			snprintf(why, sizeof(why), "the kernel cannot resolve the bpf_rdonly_cast "
				 "kfunc (%s)", kfunc_msg[0] ? kfunc_msg : "libbpf: extern not found");
			why_compat = why;
		}
		task_file_bpf__destroy(st->skel);
		st->skel = NULL;
		err = load_object(st, true, &oo, keys, rb_bytes, ntables);
		if (!err)
			ib_out_note(out, "bpf: the probe-read object (task_file_compat): %s", why_compat);
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

	if (mode_records(mode)) {
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

/*
 * Read one pid's iterator to EOF, straight into out. The program writes
 * nothing but ib_rec_fd records to the seq_file (task_file.bpf.c), so the
 * stream's record boundaries are multiples of their size; one read() may
 * end inside a record. The ring buffer is drained after each read: its
 * chunks (whole records, checked in on_chunk) are appended after the whole
 * records of the stream, the unfinished one is set aside meanwhile and put
 * back after them. decode.ts checks every record again.
 */
static int read_link(struct bpf_state *st, uint32_t li, struct ib_out *out)
{
	const size_t rec = sizeof(struct ib_rec_fd);
	size_t seq = 0; /* bytes of the seq_file stream read so far */
	uint64_t t0;
	int fd, err = 0;

	fd = bpf_iter_create(bpf_link__fd(st->links[li]));
	if (fd < 0)
		return ib_out_error(out, -errno, "bpf: create iterator for pid %d: %s",
				    st->pids[li], strerror(errno));
	for (;;) {
		ssize_t n;
		size_t tail;
		int r;

		if (ib_out_room(out, READ_BUF)) {
			err = ib_out_error(out, -ENOMEM, "bpf: out of memory for records");
			break;
		}
		t0 = ib_now_ns();
		n = read(fd, out->buf + out->len, READ_BUF);
		out->stage_ns[IB_STAGE_ENUMERATE] += ib_now_ns() - t0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = ib_out_error(out, -errno, "bpf: read iterator of pid %d: %s",
					   st->pids[li], strerror(errno));
			break;
		}
		out->len += n;
		seq += n;
		if (st->rb) {
			tail = seq % rec;
			memcpy(st->tail, out->buf + out->len - tail, tail);
			out->len -= tail;
			r = ring_buffer__consume(st->rb);
			if (st->err) {
				err = st->err;
				break;
			}
			if (r < 0) {
				err = ib_out_error(out, r, "bpf: consume ring buffer: %s",
						   strerror(-r));
				break;
			}
			if (ib_out_append(out, st->tail, tail)) {
				err = ib_out_error(out, -ENOMEM, "bpf: out of memory for records");
				break;
			}
		}
		if (n == 0)
			break;
	}
	close(fd);
	if (!err && seq % rec)
		err = ib_out_error(out, -EPROTO, "bpf: iterator of pid %d ended inside a record "
				   "(%zu bytes, records of %zu)", st->pids[li], seq, rec);
	return err;
}

/* the identity keys of an opened state (bpf-iter-all gives the real
 * iterators the same, so that their keys and these name one file alike) */
void ib_bpf_identity_keys(const void *state, uint64_t keys[2])
{
	const struct bpf_state *st = state;

	if (st->skel) {
		keys[0] = st->skel->rodata->key0;
		keys[1] = st->skel->rodata->key1;
	} else {
		keys[0] = st->cskel->rodata->key0;
		keys[1] = st->cskel->rodata->key1;
	}
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
	/* a new generation of the table map, a fresh start of the task tracking */
	bss->gen = bss->gen + 1 ? bss->gen + 1 : 1;
	bss->last_task = 0;
	bss->skip_task = 0;
	bss->nreg = 0;
	st->out = out;
	st->err = 0;
	for (i = 0; i < st->nlinks; i++) {
		uint64_t before = bss->nvisit;

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

#define NO_EPOLL IB_NONE("the task_file iterator alone does not walk epoll items")
#define NO_URING IB_NONE("the task_file iterator alone does not walk io_uring tables")
#define NO_FD(m) IB_NONE(m " reports only per-item records")
/* what the bench reports every bpf method's speedup against: procfs, CRIU's
 * way to identity, and the strongest user-space baselines (procfs on every
 * CPU; CRIU's parasite without injection) */
#define BPF_SPEEDUP_OVER                                                          \
	IB_LIST(&ib_method_procfs, &ib_method_kcmp_tree, &ib_method_procfs_parallel, \
		&ib_method_pidfd_getfd)
/* a bpf method within this factor of the floor that visits the same things */
#define BPF_FLOOR_LIMIT 2.0

const struct ib_method ib_method_bpf_task_file = {
	.name = "bpf-task-file",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.summary = "one task_file iterator pass, one record per descriptor (seq_file)",
	.floor = &ib_method_floor_empty_iter,
	.floor_limit = BPF_FLOOR_LIMIT,
	.speedup_over = BPF_SPEEDUP_OVER,
	.coverage = {
		[IB_COV_FD] = IB_FULL,
		[IB_COV_FD_META] = IB_FULL,
		[IB_COV_FD_POS] = IB_FULL,
		[IB_COV_FD_FLAGS] = IB_FULL,
		[IB_COV_FD_IDENTITY] = IB_FULL,
		[IB_COV_FD_TABLE] = IB_FULL,
		[IB_COV_EPOLL_ITEM] = NO_EPOLL,
		[IB_COV_EPOLL_TARGET] = NO_EPOLL,
		[IB_COV_URING_RING] = NO_URING,
		[IB_COV_URING_FILE] = NO_URING,
		[IB_COV_URING_BUF] = NO_URING,
	},
	.open = open_task_file,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_bpf_epoll = {
	.name = "bpf-epoll",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.needs = IB_NEEDS_EPOLL,
	.summary = "task_file program walking each epoll instance's item tree "
		   "(emulates the series' epoll iterator; ring buffer)",
	.floor = &ib_method_floor_walk_epoll,
	.floor_limit = BPF_FLOOR_LIMIT,
	.speedup_over = BPF_SPEEDUP_OVER,
	.coverage = {
		[IB_COV_FD] = NO_FD("bpf-epoll"),
		[IB_COV_FD_META] = NO_FD("bpf-epoll"),
		[IB_COV_FD_POS] = NO_FD("bpf-epoll"),
		[IB_COV_FD_FLAGS] = NO_FD("bpf-epoll"),
		[IB_COV_FD_IDENTITY] = NO_FD("bpf-epoll"),
		[IB_COV_FD_TABLE] = IB_FULL,
		[IB_COV_EPOLL_ITEM] = IB_FULL,
		[IB_COV_EPOLL_TARGET] = IB_FULL,
		[IB_COV_URING_RING] = IB_NONE("bpf-epoll walks only epoll instances"),
		[IB_COV_URING_FILE] = IB_NONE("bpf-epoll walks only epoll instances"),
		[IB_COV_URING_BUF] = IB_NONE("bpf-epoll walks only epoll instances"),
	},
	.open = open_epoll,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_bpf_io_uring = {
	.name = "bpf-io-uring",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.needs = IB_NEEDS_URING,
	.summary = "task_file program walking each io_uring ring's registered files "
		   "and buffers (emulates the series' io_uring iterators; ring buffer)",
	.floor = &ib_method_floor_walk_io_uring,
	.floor_limit = BPF_FLOOR_LIMIT,
	.speedup_over = BPF_SPEEDUP_OVER,
	.coverage = {
		[IB_COV_FD] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_META] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_POS] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_FLAGS] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_IDENTITY] = NO_FD("bpf-io-uring"),
		[IB_COV_FD_TABLE] = IB_FULL,
		[IB_COV_EPOLL_ITEM] = IB_NONE("bpf-io-uring walks only io_uring rings"),
		[IB_COV_EPOLL_TARGET] = IB_NONE("bpf-io-uring walks only io_uring rings"),
		[IB_COV_URING_RING] = IB_FULL, /* also the rings only a thread's registered-ring table holds */
		[IB_COV_URING_FILE] = IB_FULL,
		[IB_COV_URING_BUF] = IB_FULL,
	},
	.open = open_uring,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_bpf_all = {
	.name = "bpf-all",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.summary = "one task_file pass recovering descriptors, epoll items and "
		   "io_uring tables",
	.floor = &ib_method_floor_walk,
	.floor_limit = BPF_FLOOR_LIMIT,
	.speedup_over = BPF_SPEEDUP_OVER,
	.coverage = {
		[IB_COV_FD] = IB_FULL,
		[IB_COV_FD_META] = IB_FULL,
		[IB_COV_FD_POS] = IB_FULL,
		[IB_COV_FD_FLAGS] = IB_FULL,
		[IB_COV_FD_IDENTITY] = IB_FULL,
		[IB_COV_FD_TABLE] = IB_FULL,
		[IB_COV_EPOLL_ITEM] = IB_FULL,
		[IB_COV_EPOLL_TARGET] = IB_FULL,
		[IB_COV_URING_RING] = IB_FULL,
		[IB_COV_URING_FILE] = IB_FULL,
		[IB_COV_URING_BUF] = IB_FULL,
	},
	.open = open_all,
	.collect = bpf_collect,
	.close = bpf_close,
};

/*
 * The floors. Their subset chains: floor-empty-iter <= floor-walk-epoll,
 * floor-walk-io-uring <= floor-walk <= bpf-all (and each floor <= the
 * methods it is the floor of).
 */
const struct ib_method ib_method_floor_empty_iter = {
	.name = "floor-empty-iter",
	.family = IB_FAMILY_FLOOR,
	.role = IB_ROLE_FLOOR,
	.summary = "pid-filtered task_file iteration whose program returns at once",
	.subset_of = IB_LIST(&ib_method_floor_walk_epoll, &ib_method_floor_walk_io_uring),
	.coverage = IB_COVERAGE_FLOOR("visits the descriptors, reports nothing"),
	.open = open_empty,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_floor_walk = {
	.name = "floor-walk",
	.family = IB_FAMILY_FLOOR,
	.role = IB_ROLE_FLOOR,
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
	.family = IB_FAMILY_FLOOR,
	.role = IB_ROLE_FLOOR,
	.needs = IB_NEEDS_EPOLL,
	.summary = "task_file iteration visiting every epoll item, emitting nothing",
	.subset_of = IB_LIST(&ib_method_floor_walk),
	.coverage = IB_COVERAGE_FLOOR("visits every descriptor and epoll item, reports nothing"),
	.open = open_walk_epoll,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_floor_walk_io_uring = {
	.name = "floor-walk-io-uring",
	.family = IB_FAMILY_FLOOR,
	.role = IB_ROLE_FLOOR,
	.needs = IB_NEEDS_URING,
	.summary = "task_file iteration visiting every io_uring slot, emitting nothing",
	.subset_of = IB_LIST(&ib_method_floor_walk),
	.coverage = IB_COVERAGE_FLOOR("visits every descriptor and io_uring slot, reports nothing"),
	.open = open_walk_uring,
	.collect = bpf_collect,
	.close = bpf_close,
};
