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
 * and three ways to reach the files of many tasks (issue 14), each with
 * its floor:
 *
 *   bpf-task-file         one pid-filtered task_file link per target process
 *   bpf-task-file-sys     one task_file link over every task of the system;
 *                         the program keeps the targets' tgids (hash map)
 *   bpf-cgroup-fds        one cgroup iterator link on the targets' cgroup;
 *                         the program walks its processes (css_task kfuncs,
 *                         6.7+) and their descriptor tables (ring buffer)
 *   floor-sys-iter, floor-cgroup-walk: the same passes, no record
 *
 * open() loads the object (random identity keys set between __open and
 * __load) and creates the links: one pid-filtered iterator link per target
 * process, or the one system-wide or cgroup link. collect() creates an
 * iterator from each link and reads it to EOF with large reads; after each
 * read it drains the ring buffer, so the ring only needs to hold what one
 * read produced (the cgroup program, which writes everything in one read,
 * stops when the ring is full and is read again from where it stopped). The program writes the records of
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
#include <sys/stat.h>
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
#include "cgroup_files.skel.h"

/*
 * The objects are built from one source and have the same globals, but
 * not in the same order: the compiler lays out .bss by use, and the
 * cgroup build uses them differently. So the globals user space reads and
 * resets are reached through pointers into the loaded object's own .bss.
 */
struct bss_view {
	__u64 *nvisit, *nseen, *ndropped, *ntgid_seen, *last_task;
	__s32 *flt_tgid;
	__u32 *gen, *skip_task, *nreg;
	__u32 *scr_len, *scr_n, *cg_resume_task, *cg_resume_fd, *cg_more;
};

#define BSS_VIEW(v, b)                                                                  \
	do {                                                                            \
		(v)->nvisit = &(b)->nvisit;                                             \
		(v)->nseen = &(b)->nseen;                                               \
		(v)->ndropped = &(b)->ndropped;                                         \
		(v)->gen = &(b)->gen;                                                   \
		(v)->last_task = &(b)->last_task;                                       \
		(v)->skip_task = &(b)->skip_task;                                       \
		(v)->nreg = &(b)->nreg;                                                 \
		(v)->ntgid_seen = &(b)->ntgid_seen;                                     \
		(v)->flt_tgid = &(b)->flt_tgid;                                         \
		(v)->scr_len = &(b)->scr_len;                                           \
		(v)->scr_n = &(b)->scr_n;                                               \
		(v)->cg_resume_task = &(b)->cg_resume_task;                             \
		(v)->cg_resume_fd = &(b)->cg_resume_fd;                                 \
		(v)->cg_more = &(b)->cg_more;                                           \
	} while (0)

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
	M_SYSTEM,       /* bpf-task-file-sys */
	M_SYSTEM_EMPTY, /* floor-sys-iter */
	M_CGROUP,       /* bpf-cgroup-fds */
	M_CGROUP_EMPTY, /* floor-cgroup-walk */
};

/* which tasks a mode's links reach */
enum bpf_scope {
	SCOPE_PIDS,   /* one pid-filtered task_file link per target */
	SCOPE_SYSTEM, /* one task_file link over every task */
	SCOPE_CGROUP, /* one cgroup iterator link on the targets' cgroup */
};

static enum bpf_scope scope_of(enum bpf_mode m)
{
	if (m == M_SYSTEM || m == M_SYSTEM_EMPTY)
		return SCOPE_SYSTEM;
	if (m == M_CGROUP || m == M_CGROUP_EMPTY)
		return SCOPE_CGROUP;
	return SCOPE_PIDS;
}

/* the cgroup program gives up after this many passes without finishing */
#define MAX_PASSES 4096

#define READ_BUF (256u << 10)
/* the seq_file carries ib_rec_fd records only: an unfinished one is shorter */
#define MAX_TAIL sizeof(struct ib_rec_fd)
#define DEFAULT_RINGBUF (8u << 20)

/*
 * A loaded object. Loading (the verifier's pass over the CO-RE walks) is
 * most of an open's cost: 30-80 ms, where a pid's link takes well under a
 * millisecond, and a default run opens each method on 5-6 instances of a
 * scenario. So the units of one method whose object would be loaded alike
 * (mode, build, ring buffer size, table map size, BTF) share one loaded
 * object, its ring buffer and its identity keys, each with its own links:
 * collects are sequential (one thread), and each starts from a clean slate
 * (bpf_collect resets the globals, takes a new generation of the maps and
 * drains the ring buffer). The cold cost a unit reports is still what a
 * fresh open costs: the object's load, timed when it was loaded, plus its
 * own links (ib_out.cold_shared_ns). Only the pid-filtered modes share: a
 * system pass or a cgroup walk keeps its targets in its maps.
 */
struct bpf_obj {
	struct bpf_obj *next; /* the shared objects (pid-filtered modes) */
	unsigned refs;
	bool shared;
	/* what makes two loads alike */
	enum bpf_mode mode;
	uint32_t rb_bytes, ntables;
	bool want_compat;
	char btf[256];
	/* the loaded object */
	struct task_file_bpf *skel;
	struct task_file_compat_bpf *cskel;
	struct cgroup_files_bpf *gskel;
	struct bss_view bss;
	struct bpf_program *prog;
	struct bpf_map *rbmap, *tgids;
	struct ring_buffer *rb;
	uint64_t load_ns;
	char note[256]; /* the open()'s note when it was loaded (a fallback object) */
	struct bpf_state *cur; /* the unit collecting now: the ring buffer's callback appends to its answer */
};

static struct bpf_obj *shared_objs;

/* what a unit uses of the loaded object: kept in both (a state reads its own copy) */
#define COPY_LOADED(dst, src)                   \
	do {                                    \
		(dst)->skel = (src)->skel;      \
		(dst)->cskel = (src)->cskel;    \
		(dst)->gskel = (src)->gskel;    \
		(dst)->bss = (src)->bss;        \
		(dst)->prog = (src)->prog;      \
		(dst)->rbmap = (src)->rbmap;    \
		(dst)->tgids = (src)->tgids;    \
	} while (0)

/* IB_BPF_SHARE=0: every open loads its own object (experiments) */
static bool share_loads(enum bpf_mode mode)
{
	const char *env = getenv("IB_BPF_SHARE");

	return scope_of(mode) == SCOPE_PIDS && !(env && strcmp(env, "0") == 0);
}

struct bpf_state {
	enum bpf_mode mode;
	struct bpf_obj *obj;                 /* the loaded object (its own, or shared) */
	struct task_file_bpf *skel;          /* default object, or */
	struct task_file_compat_bpf *cskel;  /* the probe-read one (kernel < 6.2) */
	struct cgroup_files_bpf *gskel;      /* the one with the cgroup program */
	struct bss_view bss;                 /* the loaded object's globals */
	struct bpf_program *prog;
	struct bpf_map *rbmap;
	struct bpf_map *tgids; /* the targets' tgids (the filtering modes): value = last collect that saw it */
	struct bpf_link **links;
	int32_t *pids;   /* the targets */
	uint32_t npids;
	uint32_t nlinks; /* SCOPE_PIDS: link i is pids[i]'s; else one link */
	char cgroup[256]; /* SCOPE_CGROUP: the targets' cgroup (path in the cgroup2 hierarchy) */
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
 * the ib_rec_table of a task whose descriptor table another showed, and
 * all of the cgroup walk's records) */
static bool mode_records(enum bpf_mode m)
{
	return m == M_TASK_FILE || m == M_SYSTEM || m == M_CGROUP || mode_items(m);
}

/* a loaded object's ring buffer and skeletons (any may be NULL) */
static void destroy_loaded(struct ring_buffer *rb, struct task_file_bpf *skel,
			   struct task_file_compat_bpf *cskel, struct cgroup_files_bpf *gskel)
{
	ring_buffer__free(rb);
	task_file_bpf__destroy(skel);
	task_file_compat_bpf__destroy(cskel);
	cgroup_files_bpf__destroy(gskel);
}

static void obj_put(struct bpf_obj *o)
{
	if (!o || --o->refs)
		return;
	if (o->shared) {
		struct bpf_obj **pp = &shared_objs;

		while (*pp && *pp != o)
			pp = &(*pp)->next;
		if (*pp)
			*pp = o->next;
	}
	destroy_loaded(o->rb, o->skel, o->cskel, o->gskel);
	free(o);
}

static void bpf_close(void *p)
{
	struct bpf_state *st = p;
	uint32_t i;

	if (!st)
		return;
	for (i = 0; i < st->nlinks; i++)
		bpf_link__destroy(st->links[i]);
	if (st->obj) {
		if (st->obj->cur == st)
			st->obj->cur = NULL;
		obj_put(st->obj);
	} else {
		/* a failed open's object, never shared */
		destroy_loaded(st->rb, st->skel, st->cskel, st->gskel);
	}
	free(st->links);
	free(st->pids);
	free(st);
}

/* One ring buffer sample = a chunk of whole records of one instance. */
static int on_chunk(void *ctx, void *data, size_t size)
{
	struct bpf_obj *o = ctx;
	struct bpf_state *st = o->cur;
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
		if (h->type == IB_REC_FD)
			stage = IB_STAGE_ENUMERATE;
		else if (h->type == IB_REC_EPOLL_ITEM)
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

/* settings of any of the objects, between __open and __load */
#define CONFIGURE(skel, mode, keys)                                                     \
	do {                                                                            \
		(skel)->rodata->key0 = (keys)[0];                                       \
		(skel)->rodata->key1 = (keys)[1] | 1;                                   \
		(skel)->rodata->empty = (mode) == M_EMPTY || (mode) == M_SYSTEM_EMPTY || \
					(mode) == M_CGROUP_EMPTY;                       \
		(skel)->rodata->emit_files = (mode) == M_TASK_FILE || (mode) == M_ALL || \
					     (mode) == M_SYSTEM || (mode) == M_CGROUP;   \
		(skel)->rodata->filter_tgids = (mode) == M_SYSTEM || (mode) == M_CGROUP || \
					       (mode) == M_CGROUP_EMPTY;                \
		(skel)->rodata->walk_epoll = (mode) == M_EPOLL || (mode) == M_ALL ||    \
					     (mode) == M_WALK || (mode) == M_WALK_EPOLL; \
		(skel)->rodata->walk_uring = (mode) == M_URING || (mode) == M_ALL ||    \
					     (mode) == M_WALK || (mode) == M_WALK_URING; \
		(skel)->rodata->emit_items = mode_items(mode);                          \
	} while (0)

/* open, configure and load one of the builds of task_file.bpf.c (the
 * cgroup one when the mode's scope is a cgroup) */
static int load_object(struct bpf_state *st, bool compat, const struct bpf_object_open_opts *oo,
		       const uint64_t keys[2], uint32_t rb_bytes, uint32_t ntargets, uint32_t ntables)
{
	struct bpf_map *tgids, *tables;
	int err;

	if (scope_of(st->mode) == SCOPE_CGROUP) {
		st->gskel = cgroup_files_bpf__open_opts(oo);
		if (!st->gskel)
			return -errno;
		CONFIGURE(st->gskel, st->mode, keys);
		st->rbmap = st->gskel->maps.rb;
		st->prog = st->gskel->progs.cgroup_files;
		tgids = st->gskel->maps.tgids;
		tables = st->gskel->maps.tables;
		bpf_program__set_autoload(st->gskel->progs.task_file, false);
	} else if (compat) {
		st->cskel = task_file_compat_bpf__open_opts(oo);
		if (!st->cskel)
			return -errno;
		CONFIGURE(st->cskel, st->mode, keys);
		st->rbmap = st->cskel->maps.rb;
		tables = st->cskel->maps.tables;
		st->prog = st->cskel->progs.task_file;
		tgids = st->cskel->maps.tgids;
	} else {
		st->skel = task_file_bpf__open_opts(oo);
		if (!st->skel)
			return -errno;
		CONFIGURE(st->skel, st->mode, keys);
		st->rbmap = st->skel->maps.rb;
		tables = st->skel->maps.tables;
		st->prog = st->skel->progs.task_file;
		tgids = st->skel->maps.tgids;
	}
	st->tgids = tgids;
	err = bpf_map__set_max_entries(st->rbmap, rb_bytes);
	if (!err)
		err = bpf_map__set_max_entries(tgids, ntargets ? ntargets : 1);
	if (!err)
		err = bpf_map__set_max_entries(tables, ntables);
	if (err)
		return err;
	if (st->gskel) {
		err = cgroup_files_bpf__load(st->gskel);
		BSS_VIEW(&st->bss, st->gskel->bss);
	} else if (compat) {
		err = task_file_compat_bpf__load(st->cskel);
		BSS_VIEW(&st->bss, st->cskel->bss);
	} else {
		err = task_file_bpf__load(st->skel);
		BSS_VIEW(&st->bss, st->skel->bss);
	}
	if (err)
		return err;
	/* the targets, for the modes that filter */
	for (uint32_t i = 0; i < ntargets; i++) {
		uint64_t zero = 0;

		err = bpf_map__update_elem(tgids, &st->pids[i], sizeof(st->pids[i]), &zero,
					   sizeof(zero), BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The cgroup2 directory all targets are in (SCOPE_CGROUP), opened; its path
 * relative to the hierarchy goes to st->cgroup. The harness freezes each
 * workload in a cgroup of its own; targets spread over several cgroups
 * cannot be reached by one cgroup walk.
 */
static int open_target_cgroup(struct bpf_state *st, const struct ib_target *t, struct ib_out *out)
{
	char path[64], line[512], mnt[256] = "", *rel = NULL;
	FILE *f;
	int fd;

	for (uint32_t i = 0; i < t->npids; i++) {
		char *p = NULL;

		snprintf(path, sizeof(path), "/proc/%d/cgroup", t->pids[i]);
		f = fopen(path, "re");
		if (!f)
			return ib_out_error(out, -ESRCH, "pid %d: no such process", t->pids[i]);
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "0::", 3) == 0) {
				line[strcspn(line, "\n")] = '\0';
				p = line + 3;
				break;
			}
		}
		fclose(f);
		if (!p)
			return ib_out_skip(out, IB_SKIP_MISSING_FEATURE,
					   "bpf: pid %d is in no cgroup2 cgroup (no unified hierarchy)",
					   t->pids[i]);
		if (i == 0) {
			if (strlen(p) >= sizeof(st->cgroup))
				return ib_out_error(out, -ENAMETOOLONG, "bpf: cgroup path of pid %d "
						    "too long", t->pids[i]);
			memcpy(st->cgroup, p, strlen(p) + 1);
			rel = st->cgroup;
		} else if (strcmp(p, rel) != 0) {
			return ib_out_error(out, -EINVAL, "bpf: the targets are in several cgroups "
					    "(pid %d in %s, pid %d in %s): one cgroup walk cannot reach "
					    "them all", t->pids[0], rel, t->pids[i], p);
		}
	}
	/* the cgroup2 mount: /sys/fs/cgroup, else /sys/fs/cgroup/unified, else any */
	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return ib_out_error(out, -errno, "bpf: /proc/self/mounts: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char dir[256], type[64];

		if (sscanf(line, "%*s %255s %63s", dir, type) != 2 || strcmp(type, "cgroup2") != 0)
			continue;
		if (!mnt[0] || strcmp(dir, "/sys/fs/cgroup") == 0 ||
		    (strcmp(dir, "/sys/fs/cgroup/unified") == 0 && strcmp(mnt, "/sys/fs/cgroup") != 0))
			snprintf(mnt, sizeof(mnt), "%s", dir);
	}
	fclose(f);
	if (!mnt[0])
		return ib_out_skip(out, IB_SKIP_MISSING_FEATURE, "bpf: no cgroup2 mount");
	{
		char dir[sizeof(mnt) + sizeof(st->cgroup)];

		snprintf(dir, sizeof(dir), "%s%s", mnt, rel);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return ib_out_error(out, -errno, "bpf: open cgroup %s: %s", dir,
					    strerror(errno));
	}
	return fd;
}

/*
 * A harness in a child pid namespace: the programs report task->tgid, the
 * initial namespace's number, which is not the pid the manifest and /proc
 * give here (every record would name a task the manifest does not have).
 * The initial pid namespace's inode number is fixed (PROC_PID_INIT_INO).
 */
#define IB_PROC_PID_INIT_INO 0xEFFFFFFCu
static bool nested_pid_ns(void)
{
	struct stat sb;

	if (stat("/proc/self/ns/pid", &sb) < 0)
		return false;
	return sb.st_ino != IB_PROC_PID_INIT_INO;
}

static int bpf_open_mode(enum bpf_mode mode, void **state, const struct ib_target *t,
			 const struct ib_opts *o, struct ib_out *out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct bpf_state *st;
	uint64_t keys[2];
	uint32_t i, rb_bytes, ntargets, ntables;
	const char *why_compat, *btf;
	struct bpf_obj *obj = NULL;
	uint64_t t_load = 0;
	char why[256];
	int err;

	*state = NULL;
	if (!t->npids)
		return ib_out_error(out, -EINVAL, "bpf: no target pids");
	if (nested_pid_ns())
		return ib_out_skip(out, IB_SKIP_MISSING_FEATURE, "bpf: the harness runs in a child "
				   "pid namespace, and BPF reports the initial namespace's pids "
				   "(run it in the initial one)");
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
	memcpy(st->pids, t->pids, t->npids * sizeof(*st->pids));
	st->npids = t->npids;

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
	if (mode_records(mode)) {
		uint32_t want = o && o->ringbuf_bytes ? o->ringbuf_bytes : DEFAULT_RINGBUF;

		/* a power of two, at least a page */
		while (rb_bytes < want && rb_bytes < (1u << 30))
			rb_bytes <<= 1;
	}
	ntargets = mode == M_SYSTEM || scope_of(mode) == SCOPE_CGROUP ? t->npids : 0;
	/* the descriptor tables of the targets (threads with tables of their own add some) */
	ntables = 2 * t->npids + 64;
	why_compat = need_compat();
	btf = oo.btf_custom_path ? oo.btf_custom_path : "";
	if (share_loads(mode)) {
		for (obj = shared_objs; obj; obj = obj->next)
			if (obj->mode == mode && obj->rb_bytes == rb_bytes && obj->ntables == ntables &&
			    obj->want_compat == (why_compat != NULL) && strcmp(obj->btf, btf) == 0)
				break;
		if (obj) {
			obj->refs++;
			out->cold_shared_ns = obj->load_ns;
			if (obj->note[0])
				ib_out_note(out, "%s", obj->note);
			goto loaded;
		}
	}
	t_load = ib_now_ns();
	kfunc_msg[0] = '\0';
	if (scope_of(mode) == SCOPE_CGROUP) {
		err = load_object(st, false, &oo, keys, rb_bytes, ntargets, ntables);
		if (err == -ESRCH || (err && kfunc_msg[0])) {
			/* libbpf: a kfunc extern not found, or the verifier no address for one */
			err = ib_out_skip(out, IB_SKIP_MISSING_FEATURE, "bpf: the kernel has no "
					  "bpf_iter_css_task kfuncs (Linux 6.7+) or cannot resolve "
					  "bpf_rdonly_cast (6.2+, kallsyms): no cgroup walk");
			goto fail;
		}
	} else {
		err = why_compat ? -ESRCH : load_object(st, false, &oo, keys, rb_bytes, ntargets, ntables);
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
			err = load_object(st, true, &oo, keys, rb_bytes, ntargets, ntables);
			if (!err)
				ib_out_note(out, "bpf: the probe-read object (task_file_compat): %s", why_compat);
		}
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
	/* the loaded object, with its ring buffer (the callback appends to the
	 * answer of whichever unit is collecting) */
	obj = calloc(1, sizeof(*obj));
	if (!obj) {
		err = ib_out_error(out, -ENOMEM, "bpf: out of memory");
		goto fail;
	}
	obj->refs = 1;
	obj->mode = mode;
	obj->rb_bytes = rb_bytes;
	obj->ntables = ntables;
	obj->want_compat = why_compat != NULL;
	snprintf(obj->btf, sizeof(obj->btf), "%s", btf);
	COPY_LOADED(obj, st);
	memcpy(obj->note, out->note, sizeof(obj->note));
	st->obj = obj; /* owns the object now */
	if (mode_records(mode)) {
		obj->rb = ring_buffer__new(bpf_map__fd(obj->rbmap), on_chunk, obj, NULL);
		if (!obj->rb) {
			err = -errno;
			err = ib_out_error(out, err, "bpf: ring buffer: %s", strerror(-err));
			goto fail;
		}
	}
	obj->load_ns = ib_now_ns() - t_load;
	if (share_loads(mode) && strlen(btf) < sizeof(obj->btf)) {
		obj->shared = true;
		obj->next = shared_objs;
		shared_objs = obj;
	}
loaded:
	st->obj = obj;
	COPY_LOADED(st, obj);
	st->rb = obj->rb;

	switch (scope_of(mode)) {
	case SCOPE_PIDS:
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
			st->nlinks++;
		}
		break;
	case SCOPE_SYSTEM:
		st->links[0] = bpf_program__attach_iter(st->prog, NULL);
		if (!st->links[0]) {
			err = -errno;
			err = ib_out_error(out, err, "bpf: attach a task_file iterator to every task: %s",
					   strerror(-err));
			goto fail;
		}
		st->nlinks = 1;
		break;
	case SCOPE_CGROUP: {
		LIBBPF_OPTS(bpf_iter_attach_opts, ao);
		union bpf_iter_link_info li;
		int cfd = open_target_cgroup(st, t, out);

		if (cfd < 0) {
			err = cfd;
			goto fail;
		}
		memset(&li, 0, sizeof(li));
		li.cgroup.cgroup_fd = cfd;
		li.cgroup.order = BPF_CGROUP_ITER_SELF_ONLY;
		ao.link_info = &li;
		ao.link_info_len = sizeof(li);
		st->links[0] = bpf_program__attach_iter(st->prog, &ao);
		err = -errno;
		close(cfd);
		if (!st->links[0]) {
			err = ib_out_error(out, err, "bpf: attach a cgroup iterator to %s: %s",
					   st->cgroup, strerror(-err));
			goto fail;
		}
		st->nlinks = 1;
		break;
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

	char what[32];

	if (scope_of(st->mode) == SCOPE_PIDS)
		snprintf(what, sizeof(what), "pid %d", st->pids[li]);
	else
		snprintf(what, sizeof(what), "%s", scope_of(st->mode) == SCOPE_SYSTEM ? "every task"
											: "the cgroup");
	fd = bpf_iter_create(bpf_link__fd(st->links[li]));
	if (fd < 0)
		return ib_out_error(out, -errno, "bpf: create iterator for %s: %s", what,
				    strerror(errno));
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
			/* EAGAIN: the kernel ends a read() that visited a million
			 * objects without output (bpf_seq_read, MAX_ITER_OBJECTS);
			 * the iterator keeps its place: read on. A pass over every
			 * task of a machine with a million descriptors does that. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = ib_out_error(out, -errno, "bpf: read iterator of %s: %s", what,
					   strerror(errno));
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
		err = ib_out_error(out, -EPROTO, "bpf: iterator of %s ended inside a record "
				   "(%zu bytes, records of %zu)", what, seq, rec);
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
	} else if (st->cskel) {
		keys[0] = st->cskel->rodata->key0;
		keys[1] = st->cskel->rodata->key1;
	} else {
		keys[0] = st->gskel->rodata->key0;
		keys[1] = st->gskel->rodata->key1;
	}
}

/*
 * A filtered pass (SCOPE_SYSTEM, SCOPE_CGROUP) that did not visit every
 * target: which did it miss (the tgids map says which it saw this collect)?
 * A target gone is an error; one without descriptors is fine (the system
 * pass sees a task only through its files); one the cgroup walk did not
 * find has left the cgroup. Only on that rare path: a few syscalls per
 * target.
 */
static int unseen_targets(struct bpf_state *st, struct ib_out *out)
{
	uint64_t gen = *st->bss.gen;

	for (uint32_t i = 0; i < st->npids; i++) {
		uint64_t v = 0;
		int err;

		if (bpf_map__lookup_elem(st->tgids, &st->pids[i], sizeof(st->pids[i]), &v, sizeof(v),
					 0) == 0 && v == gen)
			continue; /* seen */
		if (scope_of(st->mode) == SCOPE_SYSTEM) {
			err = no_files_check(st->pids[i], out);
		} else {
			err = pid_check(st->pids[i], out);
			if (!err)
				err = ib_out_error(out, -ESRCH, "bpf: pid %d is not in cgroup %s any more",
						   st->pids[i], st->cgroup);
		}
		if (err)
			return err;
	}
	return 0;
}

/*
 * The cgroup walk: one read of the iterator runs the program once over the
 * whole cgroup; when the ring buffer filled up it stopped at a resume point
 * (cg_more), and the next read starts there. The seq_file carries nothing.
 */
static int collect_cgroup(struct bpf_state *st, struct ib_out *out)
{
	struct bss_view *bss = &st->bss;
	uint32_t pass;
	uint8_t none[64];

	*bss->cg_resume_task = 0;
	*bss->cg_resume_fd = 0;
	for (pass = 0; pass < MAX_PASSES; pass++) {
		uint32_t at_task = *bss->cg_resume_task, at_fd = *bss->cg_resume_fd;
		uint64_t t0 = ib_now_ns();
		ssize_t n;
		int fd, r;

		fd = bpf_iter_create(bpf_link__fd(st->links[0]));
		if (fd < 0)
			return ib_out_error(out, -errno, "bpf: create iterator for cgroup %s: %s",
					    st->cgroup, strerror(errno));
		while ((n = read(fd, none, sizeof(none))) < 0 && errno == EINTR)
			;
		r = n < 0 ? -errno : 0;
		close(fd);
		out->stage_ns[IB_STAGE_ENUMERATE] += ib_now_ns() - t0;
		if (r)
			return ib_out_error(out, r, "bpf: read iterator of cgroup %s: %s", st->cgroup,
					    strerror(-r));
		if (n > 0)
			return ib_out_error(out, -EPROTO, "bpf: the cgroup program wrote %zd bytes to "
					    "the seq_file (it writes none)", n);
		if (st->rb) {
			r = ring_buffer__consume(st->rb);
			if (st->err)
				return st->err;
			if (r < 0)
				return ib_out_error(out, r, "bpf: consume ring buffer: %s", strerror(-r));
		}
		if (!*bss->cg_more)
			return 0;
		if (*bss->cg_resume_task == at_task && *bss->cg_resume_fd == at_fd)
			return ib_out_error(out, -ENOSPC, "bpf: ring buffer of %u bytes cannot hold "
					    "one chunk of records", bpf_map__max_entries(st->rbmap));
	}
	return ib_out_error(out, -E2BIG, "bpf: cgroup walk unfinished after %u passes", pass);
}

static int bpf_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
		       struct ib_out *out)
{
	struct bpf_state *st = state;
	struct bss_view *bss = &st->bss;
	enum bpf_scope scope = scope_of(st->mode);
	uint64_t visits = 0, seen0 = *bss->nseen;
	uint32_t i;
	int err;

	*bss->ndropped = 0;
	*bss->scr_len = 0;
	*bss->scr_n = 0;
	/* a new generation of the table and target maps, a fresh start of the task tracking */
	*bss->gen = *bss->gen + 1 ? *bss->gen + 1 : 1;
	*bss->last_task = 0;
	*bss->skip_task = 0;
	*bss->nreg = 0;
	st->out = out;
	st->err = 0;
	st->obj->cur = st;
	if (scope != SCOPE_PIDS) {
		uint64_t before = *bss->nvisit;

		*bss->flt_tgid = 0;
		*bss->ntgid_seen = 0;
		err = scope == SCOPE_CGROUP ? collect_cgroup(st, out) : read_link(st, 0, out);
		if (err)
			return err;
		/* program runs: every file of the system (system pass), the
		 * targets' files (cgroup walk) */
		out->calls += scope == SCOPE_SYSTEM ? *bss->nseen - seen0 : *bss->nvisit - before;
		if ((st->mode == M_SYSTEM || scope == SCOPE_CGROUP) && *bss->ntgid_seen < st->npids) {
			err = unseen_targets(st, out);
			if (err)
				return err;
		}
		return 0;
	}
	for (i = 0; i < st->nlinks; i++) {
		uint64_t before = *bss->nvisit;

		err = read_link(st, i, out);
		if (err)
			return err;
		if (*bss->nvisit == before) {
			/* nothing visited: the process may be gone */
			err = no_files_check(st->pids[i], out);
			if (err)
				return err;
		}
		visits += *bss->nvisit - before;
	}
	out->calls += visits;
	if (*bss->ndropped) {
		static const char text[] = "bpf ring buffer full: records dropped";
		struct ib_rec_note *r;

		r = ib_out_rec(out, IB_REC_NOTE, 0, sizeof(*r), text, sizeof(text) - 1);
		if (r) {
			r->code = IB_NOTE_RINGBUF_DROPPED;
			r->fd = -1;
			r->count = *bss->ndropped;
		}
		return ib_out_error(out, -ENOSPC, "bpf: ring buffer of %u bytes full: %llu records "
				    "dropped (raise ringbuf_bytes)",
				    bpf_map__max_entries(st->rbmap),
				    (unsigned long long)*bss->ndropped);
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
OPEN(open_system, M_SYSTEM)
OPEN(open_system_empty, M_SYSTEM_EMPTY)
OPEN(open_cgroup, M_CGROUP)
OPEN(open_cgroup_empty, M_CGROUP_EMPTY)

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

/* what bpf-task-file recovers: every descriptor's record, nothing else */
#define TASK_FILE_COVERAGE                         \
	{                                          \
		[IB_COV_FD] = IB_FULL,             \
		[IB_COV_FD_META] = IB_FULL,        \
		[IB_COV_FD_POS] = IB_FULL,         \
		[IB_COV_FD_FLAGS] = IB_FULL,       \
		[IB_COV_FD_IDENTITY] = IB_FULL,    \
		[IB_COV_FD_TABLE] = IB_FULL,       \
		[IB_COV_EPOLL_ITEM] = NO_EPOLL,    \
		[IB_COV_EPOLL_TARGET] = NO_EPOLL,  \
		[IB_COV_URING_RING] = NO_URING,    \
		[IB_COV_URING_FILE] = NO_URING,    \
		[IB_COV_URING_BUF] = NO_URING,     \
	}
/* the task-scoping strategies are compared with bpf-task-file too */
#define SCOPE_SPEEDUP_OVER                                                        \
	IB_LIST(&ib_method_procfs, &ib_method_kcmp_tree, &ib_method_procfs_parallel, \
		&ib_method_pidfd_getfd, &ib_method_bpf_task_file)

const struct ib_method ib_method_bpf_task_file_sys = {
	.sweep = IB_SWEEP_TASKS,
	.name = "bpf-task-file-sys",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.summary = "one task_file iterator pass over every task of the system, the program "
		   "keeping the targets' tgids (hash map); records as bpf-task-file",
	.floor = &ib_method_floor_sys_iter,
	.floor_limit = BPF_FLOOR_LIMIT,
	.speedup_over = SCOPE_SPEEDUP_OVER,
	.reach = IB_REACH_SYSTEM,
	.coverage = TASK_FILE_COVERAGE,
	.open = open_system,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_bpf_cgroup_fds = {
	.sweep = IB_SWEEP_TASKS,
	.name = "bpf-cgroup-fds",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.summary = "one cgroup iterator step on the targets' cgroup: css_task kfuncs walk its "
		   "processes, the program their descriptor tables (6.7+; ring buffer)",
	.floor = &ib_method_floor_cgroup_walk,
	.floor_limit = BPF_FLOOR_LIMIT,
	.speedup_over = SCOPE_SPEEDUP_OVER,
	.coverage = TASK_FILE_COVERAGE,
	.open = open_cgroup,
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

/* The floors of the two other ways to reach many tasks' files. */
const struct ib_method ib_method_floor_sys_iter = {
	.sweep = IB_SWEEP_TASKS,
	.name = "floor-sys-iter",
	.family = IB_FAMILY_FLOOR,
	.role = IB_ROLE_FLOOR,
	.summary = "task_file iteration over every task of the system whose program returns at once",
	.reach = IB_REACH_SYSTEM,
	.coverage = IB_COVERAGE_FLOOR("visits every descriptor of the system, reports nothing"),
	.open = open_system_empty,
	.collect = bpf_collect,
	.close = bpf_close,
};

const struct ib_method ib_method_floor_cgroup_walk = {
	.sweep = IB_SWEEP_TASKS,
	.name = "floor-cgroup-walk",
	.family = IB_FAMILY_FLOOR,
	.role = IB_ROLE_FLOOR,
	.summary = "the cgroup walk of bpf-cgroup-fds reading every open file's fields, emitting nothing",
	.coverage = IB_COVERAGE_FLOOR("reads the targets' descriptors, reports nothing"),
	.open = open_cgroup_empty,
	.collect = bpf_collect,
	.close = bpf_close,
};
