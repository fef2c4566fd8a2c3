/* SPDX-License-Identifier: MIT */
/*
 * bpf_real.c - the kernel lane's methods: the io_uring_file, io_uring_buf
 * and epoll BPF iterator targets that kernel/patches/ add to Linux 6.1.
 *
 *   bpf-iter-io-uring-file  io_uring_file iterator, one link per ring
 *   bpf-iter-io-uring-buf   io_uring_buf iterator, one link per ring
 *   bpf-iter-epoll          epoll iterator, one link per epoll instance
 *
 * open() loads the program from the object that kernel/build.sh
 * compiled against the patched kernel's BTF, with bpf_object__open_file
 * (no skeleton: the host build does not need the patched vmlinux.h). When
 * the object is missing or does not load, it checks whether the running
 * kernel has the target at all (its BTF has bpf_iter_<target>): on a
 * kernel without the targets open() says so (IB_SKIP_KERNEL_LANE), and the
 * harness reports the method as skipped.
 *
 * open() does the set-up, as the emulation's open() does (both are the
 * "cold" cost): load the programs, find the instances (the program
 * ri_task_file on a pid-filtered task_file iterator reports the descriptors
 * whose file is an io_uring ring or an epoll instance: one pass in the
 * kernel, where /proc would take a readlinkat per descriptor), bring each
 * into this process with pidfd_getfd (the link info takes a descriptor of
 * the caller) and link an iterator to it. collect() is the warm work, as for
 * the emulation: per instance, tell the program which task and descriptor
 * it reads (.data.inst), create an iterator and read it to EOF straight
 * into the result: the programs write the records of bpf/records.h
 * themselves, nothing is translated. The workload is frozen, so the
 * instances found in open() are all there are.
 *
 * Object: $IB_REAL_ITER_OBJ, else IB_REAL_ITER_OBJ_DEFAULT (the cache of
 * the last patched kernel build).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "method.h"
#include "procfs_util.h"
#include "real_iter.h"
#include "tables.h"

#define IB_REAL_ITER_OBJ_DEFAULT "/var/cache/iterbench/kernel/patched/real_iter.bpf.o"

#define READ_BUF (64u << 10)
#define EDEADLK_TRIES 3

enum real_mode {
	R_URING_FILE,
	R_URING_BUF,
	R_EPOLL,
};

static const struct {
	const char *target; /* iterator target */
	const char *prog;   /* program in real_iter.bpf.o */
	uint32_t kind;      /* ib_kind of the instances */
} modes[] = {
	[R_URING_FILE] = { "io_uring_file", "ri_io_uring_file", IB_K_IO_URING },
	[R_URING_BUF] = { "io_uring_buf", "ri_io_uring_buf", IB_K_IO_URING },
	[R_EPOLL] = { "epoll", "ri_epoll", IB_K_EPOLL },
};

#define TF_PROG "ri_task_file"
#define INST_MAP ".data.inst" /* struct ri_inst ri_cur */

struct real_state {
	enum real_mode mode;
	struct bpf_object *obj;
	struct bpf_program *prog;
	int inst_fd; /* the .data.inst map: struct ri_inst */
	struct bpf_link **tf_links; /* pid-filtered task_file links, per target */
	uint32_t ntf;
	uint8_t *buf;
	struct ib_pf_fds insts; /* one task's io_uring / epoll descriptors */
	/* the instances found in open(), each with its iterator link */
	struct real_inst {
		int32_t pid;
		int32_t fd;  /* the descriptor in task pid */
		int lfd;     /* our copy of it (pidfd_getfd): the link info takes ours */
		struct bpf_link *link;
	} *inst;
	size_t ninst, cap;
	int *pidfds; /* per target: to tell a task that exited since open() */
	/* targets whose descriptor table an earlier target uses: its instances
	 * are that target's (found in open() with kcmp(KCMP_FILES)) */
	struct ib_tables tables;
};

static int attach_task(struct real_state *st, uint32_t ti, int32_t pid, struct ib_out *out);

static void real_close(void *p)
{
	struct real_state *st = p;
	uint32_t i;

	if (!st)
		return;
	for (i = 0; i < st->ninst; i++) {
		bpf_link__destroy(st->inst[i].link);
		close(st->inst[i].lfd);
	}
	free(st->inst);
	for (i = 0; i < st->ntf; i++) {
		bpf_link__destroy(st->tf_links[i]);
		if (st->pidfds && st->pidfds[i] >= 0)
			close(st->pidfds[i]);
	}
	free(st->pidfds);
	free(st->tf_links);
	ib_tables_free(&st->tables);
	bpf_object__close(st->obj);
	free(st->buf);
	free(st->insts.v);
	free(st);
}

/* libbpf's messages during our load: kept, not printed (a kernel without
 * the targets is an expected case); the tail goes into the error message */
static char libbpf_log[2048];
static size_t libbpf_log_len;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (libbpf_log_len >= sizeof(libbpf_log) - 1)
		libbpf_log_len = 0; /* keep the tail */
	n = vsnprintf(libbpf_log + libbpf_log_len, sizeof(libbpf_log) - libbpf_log_len, fmt, ap);
	if (n > 0)
		libbpf_log_len = libbpf_log_len + n < sizeof(libbpf_log) ? libbpf_log_len + n
									  : sizeof(libbpf_log) - 1;
	return 0;
}

static const char *log_tail(void)
{
	const char *p = libbpf_log + (libbpf_log_len > 300 ? libbpf_log_len - 300 : 0);

	return libbpf_log_len ? p : "";
}

/* does the running kernel's BTF know bpf_iter_<target>? */
static int kernel_has_target(const char *target, struct ib_out *out)
{
	char fn[64];
	struct btf *vmlinux;
	int id;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return ib_out_skip(out, IB_SKIP_MISSING_FEATURE, "kernel has no BTF (%s): cannot "
				   "find the %s iterator target", strerror(errno), target);
	snprintf(fn, sizeof(fn), "bpf_iter_%s", target);
	id = btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id < 0)
		return ib_out_skip(out, IB_SKIP_KERNEL_LANE, "kernel has no %s iterator target "
				   "(needs kernel/patches; run npm run kernel:build and npm run "
				   "bench:vm)", target);
	return 0;
}

/* set the program's ri_cfg (.rodata) between open and load */
static int set_config(struct bpf_object *obj, const struct ri_config *cfg, struct ib_out *out)
{
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map;
	struct btf *btf;
	size_t size;
	uint8_t *data;
	int id, i;

	btf = bpf_object__btf(obj);
	map = bpf_object__find_map_by_name(obj, ".rodata");
	if (!btf || !map)
		return ib_out_error(out, -ENOENT, "bpf-iter: object has no .rodata or BTF");
	/* writable until load, although libbpf 1.1 declares it const */
	data = (uint8_t *)bpf_map__initial_value(map, &size);
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!data || id < 0)
		return ib_out_error(out, -ENOENT, "bpf-iter: object has no .rodata section BTF");
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, v->name_off), "ri_cfg"))
			continue;
		if (vs->offset + sizeof(*cfg) > size || vs->size != sizeof(*cfg))
			break;
		memcpy(data + vs->offset, cfg, sizeof(*cfg));
		return 0;
	}
	return ib_out_error(out, -ENOENT, "bpf-iter: object has no ri_cfg of %zu bytes",
			    sizeof(*cfg));
}

static int real_open_mode(enum real_mode mode, void **state, const struct ib_target *t,
			  const struct ib_opts *o, struct ib_out *out)
{
	struct bpf_program *prog, *tf;
	libbpf_print_fn_t prev;
	uint32_t i;
	struct real_state *st;
	struct ri_config cfg;
	const char *path;
	int err;

	*state = NULL;
	err = ib_pf_check_pids(t, out);
	if (err)
		return err;
	if (getrandom(&cfg, sizeof(cfg), 0) != sizeof(cfg))
		return ib_out_error(out, -errno, "bpf-iter: getrandom: %s", strerror(errno));
	cfg.key1 |= 1;

	path = getenv("IB_REAL_ITER_OBJ");
	if (!path || !*path)
		path = IB_REAL_ITER_OBJ_DEFAULT;
	if (access(path, R_OK)) {
		err = -errno;
		/* on a kernel without the targets that is the message that matters */
		if (kernel_has_target(modes[mode].target, out))
			return -EOPNOTSUPP; /* out->skip says why */
		return ib_out_error(out, err, "bpf-iter: program object %s: %s (build it with "
				    "npm run kernel:build, or set IB_REAL_ITER_OBJ)", path,
				    strerror(-err));
	}

	st = calloc(1, sizeof(*st));
	if (!st)
		return ib_out_error(out, -ENOMEM, "bpf-iter: out of memory");
	st->mode = mode;
	st->inst_fd = -1;
	st->buf = malloc(READ_BUF);
	st->tf_links = calloc(t->npids, sizeof(*st->tf_links));
	st->pidfds = malloc(t->npids * sizeof(*st->pidfds) + 1);
	if (!st->buf || !st->tf_links || !st->pidfds) {
		err = ib_out_error(out, -ENOMEM, "bpf-iter: out of memory");
		goto fail;
	}
	st->obj = bpf_object__open_file(path, NULL);
	if (!st->obj) {
		err = -errno;
		st->obj = NULL;
		err = ib_out_error(out, err, "bpf-iter: open %s: %s", path, strerror(-err));
		goto fail;
	}
	/* load only this method's program and the instance finder */
	bpf_object__for_each_program(prog, st->obj) {
		bool mine = !strcmp(bpf_program__name(prog), modes[mode].prog);

		bpf_program__set_autoload(prog, mine || !strcmp(bpf_program__name(prog), TF_PROG));
		if (mine)
			st->prog = prog;
	}
	tf = bpf_object__find_program_by_name(st->obj, TF_PROG);
	if (!st->prog || !tf) {
		err = ib_out_error(out, -ENOENT, "bpf-iter: %s has no program %s or %s", path,
				   modes[mode].prog, TF_PROG);
		goto fail;
	}
	cfg.want_kind = modes[mode].kind;
	err = set_config(st->obj, &cfg, out);
	if (err)
		goto fail;
	/* libbpf parses the kernel's BTF here anyway: a kernel without the
	 * target fails the load (no bpf_iter_<target>), checked only then */
	libbpf_log_len = 0;
	libbpf_log[0] = '\0';
	prev = libbpf_set_print(capture_print);
	err = bpf_object__load(st->obj);
	libbpf_set_print(prev);
	if (err) {
		if (kernel_has_target(modes[mode].target, out)) {
			err = -EOPNOTSUPP;
			goto fail;
		}
		err = ib_out_error(out, err, "bpf-iter: load %s from %s: %s: ...%s", modes[mode].prog,
				   path, strerror(-err), log_tail());
		goto fail;
	}
	{
		struct bpf_map *inst = bpf_object__find_map_by_name(st->obj, INST_MAP);

		if (!inst || bpf_map__value_size(inst) != sizeof(struct ri_inst)) {
			err = ib_out_error(out, -ENOENT, "bpf-iter: %s has no %s map of %zu bytes "
					   "(an object built from another real_iter.bpf.c?)", path,
					   INST_MAP, sizeof(struct ri_inst));
			goto fail;
		}
		st->inst_fd = bpf_map__fd(inst);
	}
	{
		uint64_t calls = 0;

		err = ib_tables_find(&st->tables, t, &calls, out);
		if (err)
			goto fail;
	}
	for (i = 0; i < t->npids; i++) {
		LIBBPF_OPTS(bpf_iter_attach_opts, ao);
		union bpf_iter_link_info li;

		memset(&li, 0, sizeof(li));
		li.task.pid = t->pids[i];
		ao.link_info = &li;
		ao.link_info_len = sizeof(li);
		st->tf_links[i] = bpf_program__attach_iter(tf, &ao);
		if (!st->tf_links[i]) {
			err = -errno;
			err = ib_out_error(out, err, "bpf-iter: attach task_file iterator to pid %d: %s",
					   t->pids[i], strerror(-err));
			goto fail;
		}
		st->pidfds[i] = -1;
		st->ntf++;
		err = attach_task(st, i, t->pids[i], out);
		if (err)
			goto fail;
	}
	*state = st;
	return 0;
fail:
	real_close(st);
	return err;
}

/*
 * Read one iterator to EOF, straight into out (the program writes whole
 * records; a read may end inside one, the next goes on after it). Returns
 * 0, -EDEADLK when the ring lock was contended before anything was read
 * (out unchanged: the caller may retry), or another error.
 */
static int read_iter(struct real_state *st, int iter_fd, int32_t pid, int32_t fd,
		     struct ib_out *out)
{
	size_t start = out->len;
	ssize_t w;
	int err;

	for (;;) {
		ssize_t n;

		if (ib_out_room(out, READ_BUF))
			return ib_out_error(out, -ENOMEM, "bpf-iter: out of memory for records");
		n = read(iter_fd, out->buf + out->len, READ_BUF);
		out->calls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			if (err == -EDEADLK && out->len == start)
				return err;
			return ib_out_error(out, err, "bpf-iter: pid %d: read %s iterator of fd %d: "
					    "%s", pid, modes[st->mode].target, fd, strerror(-err));
		}
		if (n == 0)
			break;
		out->len += n;
	}
	w = ib_whole_records(out->buf + start, out->len - start);
	if (w < 0)
		return ib_out_error(out, -EPROTO, "bpf-iter: pid %d: malformed record from the %s "
				    "iterator of fd %d", pid, modes[st->mode].target, fd);
	if ((size_t)w != out->len - start)
		return ib_out_error(out, -EPROTO, "bpf-iter: pid %d: %s iterator of fd %d ended "
				    "inside a record", pid, modes[st->mode].target, fd);
	return 0;
}

static int trylock_note(int32_t pid, int32_t fd, struct ib_out *out)
{
	static const char text[] = "io_uring iterator: ring lock contended (EDEADLK), "
				   "tables not read";
	struct ib_rec_uring_ring *r;
	struct ib_rec_note *n;

	n = ib_out_rec(out, IB_REC_NOTE, pid, sizeof(*n), text, sizeof(text) - 1);
	if (!n)
		goto nomem;
	n->code = IB_NOTE_URING_TRYLOCK;
	n->fd = fd;
	n->count = EDEADLK_TRIES;
	r = ib_out_rec(out, IB_REC_URING_RING, pid, sizeof(*r), NULL, 0);
	if (!r)
		goto nomem;
	r->ring_fd = fd;
	r->status = IB_URING_TABLES_MISSING;
	return 0;
nomem:
	return ib_out_error(out, -ENOMEM, "bpf-iter: out of memory for records");
}

/* the task's io_uring or epoll descriptors, from its task_file link */
static int find_instances(struct real_state *st, uint32_t ti, int32_t pid, struct ib_out *out)
{
	size_t have = 0;
	int iter_fd, err = 0;

	st->insts.n = 0;
	iter_fd = bpf_iter_create(bpf_link__fd(st->tf_links[ti]));
	out->calls++;
	if (iter_fd < 0)
		return ib_out_error(out, -errno, "bpf-iter: create task_file iterator for pid %d: %s",
				    pid, strerror(errno));
	for (;;) {
		ssize_t n = read(iter_fd, st->buf + have, READ_BUF - have);
		size_t off, used;
		ssize_t w;

		out->calls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = ib_out_error(out, -errno, "bpf-iter: read task_file iterator of pid %d: "
					   "%s", pid, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		have += n;
		w = ib_whole_records(st->buf, have);
		if (w < 0) {
			err = ib_out_error(out, -EPROTO, "bpf-iter: malformed record from the "
					   "task_file iterator of pid %d", pid);
			break;
		}
		used = w;
		for (off = 0; off < used; off += ((const struct ib_rec_hdr *)(st->buf + off))->size) {
			const struct ib_rec_fd *r = (const void *)(st->buf + off);

			if (r->h.type != IB_REC_FD || r->h.size < sizeof(*r))
				continue;
			if (ib_pf_fds_push(&st->insts, r->fd)) {
				err = ib_out_error(out, -ENOMEM, "bpf-iter: out of memory");
				goto out;
			}
		}
		memmove(st->buf, st->buf + used, have - used);
		have -= used;
	}
out:
	close(iter_fd);
	if (!err && have)
		err = ib_out_error(out, -EPROTO, "bpf-iter: task_file iterator of pid %d ended "
				   "inside a record", pid);
	return err;
}

/* open(): link an iterator to instance fd of task pid (cold: done once) */
static int attach_instance(struct real_state *st, int pidfd, int32_t pid, int32_t fd,
			   struct ib_out *out)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, ao);
	union {
		__u32 fd; /* io_uring.io_uring_fd / epoll.epoll_fd: the first member */
		__u64 pad[2];
	} li;
	struct real_inst *in;
	int err;

	if (st->ninst == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 16;
		struct real_inst *v = realloc(st->inst, cap * sizeof(*v));

		if (!v)
			return ib_out_error(out, -ENOMEM, "bpf-iter: out of memory");
		st->inst = v;
		st->cap = cap;
	}
	in = &st->inst[st->ninst];
	in->pid = pid;
	in->fd = fd;
	in->link = NULL;
	in->lfd = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (in->lfd < 0)
		return ib_out_error(out, -errno, "bpf-iter: pid %d: pidfd_getfd fd %d: %s", pid, fd,
				    strerror(errno));
	memset(&li, 0, sizeof(li));
	li.fd = in->lfd;
	ao.link_info = (void *)&li;
	ao.link_info_len = sizeof(li);
	in->link = bpf_program__attach_iter(st->prog, &ao);
	if (!in->link) {
		err = -errno;
		close(in->lfd);
		return ib_out_error(out, err, "bpf-iter: pid %d: attach %s iterator to fd %d: %s",
				    pid, modes[st->mode].target, fd, strerror(-err));
	}
	st->ninst++;
	return 0;
}

/* collect(): one instance, one iterator read to EOF (warm: the measured work) */
static int read_instance(struct real_state *st, const struct real_inst *in, struct ib_out *out)
{
	struct ri_inst cur = { .pid = in->pid, .fd = in->fd, .nslots = 0 };
	uint32_t zero = 0;
	int iter_fd, err, tries;
	uint64_t t0 = ib_now_ns();

	for (tries = 0;; tries++) {
		/* the task and descriptor the program puts into its records */
		out->calls++;
		if (bpf_map_update_elem(st->inst_fd, &zero, &cur, BPF_ANY)) {
			err = ib_out_error(out, -errno, "bpf-iter: set the instance (pid %d fd %d): %s",
					   in->pid, in->fd, strerror(errno));
			goto done;
		}
		iter_fd = bpf_iter_create(bpf_link__fd(in->link));
		out->calls++;
		if (iter_fd < 0) {
			err = -errno;
			err = ib_out_error(out, err, "bpf-iter: pid %d: create %s iterator for fd "
					   "%d: %s", in->pid, modes[st->mode].target, in->fd,
					   strerror(-err));
			goto done;
		}
		err = read_iter(st, iter_fd, in->pid, in->fd, out);
		close(iter_fd);
		if (err != -EDEADLK)
			break;
		if (tries + 1 >= EDEADLK_TRIES) {
			err = trylock_note(in->pid, in->fd, out);
			goto done;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
done:
	out->stage_ns[st->mode == R_EPOLL ? IB_STAGE_EPOLL : IB_STAGE_IO_URING] +=
		ib_now_ns() - t0;
	return err;
}

/* open(): find task ti's instances and link an iterator to each */
static int attach_task(struct real_state *st, uint32_t ti, int32_t pid, struct ib_out *out)
{
	size_t i;
	int err;

	st->pidfds[ti] = syscall(SYS_pidfd_open, pid, 0);
	if (st->pidfds[ti] < 0)
		return errno == ESRCH ? ib_out_error(out, -ESRCH, "pid %d: no such process", pid)
				      : ib_out_error(out, -errno, "pid %d: pidfd_open: %s", pid,
						     strerror(errno));
	if (ib_tables_dup(&st->tables, ti))
		return 0; /* its instances are an earlier target's */
	err = find_instances(st, ti, pid, out);
	if (err)
		return err;
	if (!st->insts.n && ib_pf_pid_dead(pid))
		return ib_out_error(out, -ESRCH, "pid %d: no such process", pid);
	for (i = 0; i < st->insts.n; i++) {
		err = attach_instance(st, st->pidfds[ti], pid, st->insts.v[i], out);
		if (err)
			return err;
	}
	return 0;
}

static int real_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
			struct ib_out *out)
{
	struct real_state *st = state;
	size_t i;
	int err;

	/* a task that exited since open(): our links still hold its files */
	for (i = 0; i < st->ntf; i++) {
		out->calls++;
		if (syscall(SYS_pidfd_send_signal, st->pidfds[i], 0, NULL, 0) < 0 && errno == ESRCH)
			return ib_out_error(out, -ESRCH, "pid %d: no such process (exited since open)",
					    t->pids[i]);
	}
	for (i = 0; i < st->ninst; i++) {
		err = read_instance(st, &st->inst[i], out);
		if (err)
			return err;
	}
	return ib_tables_emit(&st->tables, t, out);
}

#define OPEN(name, mode)                                                              \
	static int name(void **s, const struct ib_target *t, const struct ib_opts *o, \
			struct ib_out *out)                                           \
	{                                                                             \
		return real_open_mode(mode, s, t, o, out);                            \
	}
OPEN(open_uring_file, R_URING_FILE)
OPEN(open_uring_buf, R_URING_BUF)
OPEN(open_epoll, R_EPOLL)

#define NO_FD(t) IB_NONE("the " t " iterator reports only its instance's slots or items")
#define FD_NONE(t)                                    \
	[IB_COV_FD] = NO_FD(t),                       \
	[IB_COV_FD_META] = NO_FD(t),                  \
	[IB_COV_FD_POS] = NO_FD(t),                   \
	[IB_COV_FD_FLAGS] = NO_FD(t),                 \
	[IB_COV_FD_IDENTITY] = NO_FD(t),              \
	/* shared tables: kcmp(KCMP_FILES) in open() */ \
	[IB_COV_FD_TABLE] = IB_FULL
/* the series attaches an io_uring iterator to a ring's descriptor */
#define NO_FD_RING IB_PARTIAL_UNHELD("attached by a descriptor: a ring no descriptor reaches cannot be iterated")

/*
 * The kernel lane compares each real iterator with procfs and kcmp on the
 * same kernel and with its emulation (bench/native/bpf.c). No floor: the
 * task_file floors do not bound an iterator attached to one instance.
 */
const struct ib_method ib_method_bpf_iter_io_uring_file = {
	.name = "bpf-iter-io-uring-file",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.lane = IB_LANE_PATCHED_KERNEL,
	.needs = IB_NEEDS_URING,
	.summary = "the series' io_uring_file iterator (patched kernel): one link per ring, "
		   "one record per registered-file slot",
	.speedup_over = IB_LIST(&ib_method_procfs, &ib_method_kcmp_tree, &ib_method_procfs_parallel,
				&ib_method_pidfd_getfd, &ib_method_bpf_io_uring),
	.coverage = {
		FD_NONE("io_uring_file"),
		[IB_COV_EPOLL_ITEM] = IB_NONE("io_uring_file walks only io_uring rings"),
		[IB_COV_EPOLL_TARGET] = IB_NONE("io_uring_file walks only io_uring rings"),
		[IB_COV_URING_RING] = NO_FD_RING,
		[IB_COV_URING_FILE] = IB_FULL,
		[IB_COV_URING_BUF] = IB_NONE("registered buffers are the io_uring_buf iterator's"),
	},
	.open = open_uring_file,
	.collect = real_collect,
	.close = real_close,
};

const struct ib_method ib_method_bpf_iter_io_uring_buf = {
	.name = "bpf-iter-io-uring-buf",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.lane = IB_LANE_PATCHED_KERNEL,
	.needs = IB_NEEDS_URING,
	.summary = "the series' io_uring_buf iterator (patched kernel): one link per ring, "
		   "one record per registered-buffer slot",
	.speedup_over = IB_LIST(&ib_method_procfs, &ib_method_kcmp_tree, &ib_method_procfs_parallel,
				&ib_method_pidfd_getfd, &ib_method_bpf_io_uring),
	.coverage = {
		FD_NONE("io_uring_buf"),
		[IB_COV_EPOLL_ITEM] = IB_NONE("io_uring_buf walks only io_uring rings"),
		[IB_COV_EPOLL_TARGET] = IB_NONE("io_uring_buf walks only io_uring rings"),
		[IB_COV_URING_RING] = NO_FD_RING,
		[IB_COV_URING_FILE] = IB_NONE("registered files are the io_uring_file iterator's"),
		[IB_COV_URING_BUF] = IB_FULL,
	},
	.open = open_uring_buf,
	.collect = real_collect,
	.close = real_close,
};

const struct ib_method ib_method_bpf_iter_epoll = {
	.name = "bpf-iter-epoll",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.lane = IB_LANE_PATCHED_KERNEL,
	.needs = IB_NEEDS_EPOLL,
	.summary = "the series' epoll iterator (patched kernel): one link per epoll instance, "
		   "one record per item",
	.speedup_over = IB_LIST(&ib_method_procfs, &ib_method_kcmp_tree, &ib_method_procfs_parallel,
				&ib_method_pidfd_getfd, &ib_method_kcmp_epoll, &ib_method_bpf_epoll),
	.coverage = {
		FD_NONE("epoll"),
		[IB_COV_EPOLL_ITEM] = IB_FULL,
		[IB_COV_EPOLL_TARGET] = IB_FULL,
		[IB_COV_URING_RING] = IB_NONE("the epoll iterator walks only epoll instances"),
		[IB_COV_URING_FILE] = IB_NONE("the epoll iterator walks only epoll instances"),
		[IB_COV_URING_BUF] = IB_NONE("the epoll iterator walks only epoll instances"),
	},
	.open = open_epoll,
	.collect = real_collect,
	.close = real_close,
};
