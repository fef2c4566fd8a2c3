/* SPDX-License-Identifier: MIT */
/*
 * bpf_real.c - the kernel lane's methods: the io_uring_file, io_uring_buf
 * and epoll BPF iterator targets that kernel/patches/ add to Linux 6.1 and
 * 6.12.
 *
 *   bpf-iter-io-uring-file  io_uring_file iterator, one link per ring
 *   bpf-iter-io-uring-buf   io_uring_buf iterator, one link per ring
 *   bpf-iter-epoll          epoll iterator, one link per epoll instance
 *   bpf-iter-all            the whole state through real iterators in one
 *                           collect: the mainline task_file iterator (the
 *                           program of bpf-task-file, bench/native/bpf.c:
 *                           descriptors, shared tables), then the three
 *                           targets above on every instance. What bpf-all
 *                           emulates in one pass, so the two compare equal
 *                           work.
 *
 * open() loads the programs from the object that kernel/build.sh
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
 * the emulation: per instance, create an iterator and read it to EOF
 * straight into the result. The programs write the records of
 * bpf/records.h themselves, but not which task and descriptor the instance
 * is (bpf/real_iter.h): collect() writes those two fields into the records
 * of each instance it read. The workload is frozen, so the instances found
 * in open() are all there are.
 *
 * Contention: the io_uring iterators take the ring lock with a trylock per
 * read() and fail it with EDEADLK when it is held, or EBUSY while a table
 * is being unregistered. The iterator keeps its position (the slot index),
 * so the same iterator fd is read again after a short sleep, a bounded
 * number of times: never from slot 0 again. A lock that stays held before
 * anything was read is what /proc shows as missing tables (a note and a
 * ring record saying so); after a part of the table, or on EBUSY, it is an
 * error.
 *
 * collect() keeps nothing in the state it writes to: the programs keep no
 * state either (bpf/real_iter.h), so readers may call it at once on one
 * state, each with its own ib_out (ibcollect -R; test/kernel.test.ts reads
 * with two readers on two CPUs and verifies both answers).
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
/* EDEADLK / EBUSY: up to CONTENDED_TRIES reads of the same iterator fd in
 * a row, after sleeps of RETRY_SLEEP_NS, doubling (1+2+...+32 = 63 ms in all:
 * another reader's read() of a large table under qemu TCG holds the lock
 * for several ms) */
#define CONTENDED_TRIES 7
#define RETRY_SLEEP_NS 1000000
/* read_iter(): the lock stayed contended before anything was read */
#define CONTENDED_BEFORE_ANY 1

/* every record the iterator programs write has the instance's descriptor here */
_Static_assert(__builtin_offsetof(struct ib_rec_uring_ring, ring_fd) == RI_FD_OFFSET, "ring_fd");
_Static_assert(__builtin_offsetof(struct ib_rec_uring_file, ring_fd) == RI_FD_OFFSET, "ring_fd");
_Static_assert(__builtin_offsetof(struct ib_rec_uring_buf, ring_fd) == RI_FD_OFFSET, "ring_fd");
_Static_assert(__builtin_offsetof(struct ib_rec_epoll_item, epfd) == RI_FD_OFFSET, "epfd");

enum real_mode {
	R_URING_FILE,
	R_URING_BUF,
	R_EPOLL,
	R_ALL, /* the three programs, every instance (bpf-iter-all's iterator part) */
};

/* the programs of real_iter.bpf.o */
enum real_prog {
	P_FILE,
	P_BUF,
	P_EPOLL,
	P__N,
};

static const struct {
	const char *target; /* iterator target */
	const char *prog;   /* program in real_iter.bpf.o */
	int stage;          /* where its time goes in out->stage_ns */
} progs[P__N] = {
	[P_FILE] = { "io_uring_file", "ri_io_uring_file", IB_STAGE_IO_URING },
	[P_BUF] = { "io_uring_buf", "ri_io_uring_buf", IB_STAGE_IO_URING },
	[P_EPOLL] = { "epoll", "ri_epoll", IB_STAGE_EPOLL },
};

/* per mode: the programs it loads, the kinds of instances it reads, and who writes a ring's record */
static const struct {
	uint32_t progs;      /* 1 << enum real_prog */
	uint32_t want_kinds; /* 1 << ib_kind */
	uint32_t ring;       /* RI_RING_* */
	uint32_t ring_status; /* a ring record the reader writes (no slot in any table read) */
} modes[] = {
	[R_URING_FILE] = { 1u << P_FILE, 1u << IB_K_IO_URING, RI_RING_FROM_FILES, IB_URING_NO_BUFS },
	[R_URING_BUF] = { 1u << P_BUF, 1u << IB_K_IO_URING, RI_RING_FROM_BUFS, IB_URING_NO_FILES },
	[R_EPOLL] = { 1u << P_EPOLL, 1u << IB_K_EPOLL, 0, 0 },
	[R_ALL] = { (1u << P_FILE) | (1u << P_BUF) | (1u << P_EPOLL),
		    (1u << IB_K_IO_URING) | (1u << IB_K_EPOLL),
		    RI_RING_FROM_FILES | RI_RING_FROM_BUFS | RI_RING_BOTH, 0 },
};

#define TF_PROG "ri_task_file"

struct real_state {
	enum real_mode mode;
	struct bpf_object *obj;
	struct bpf_program *prog[P__N];
	struct bpf_link **tf_links; /* pid-filtered task_file links, per target */
	uint32_t ntf;
	uint8_t *buf;
	/* one task's instances (open) */
	struct ib_pf_fds rings, epolls;
	/* the instances found in open(), each with its iterator links */
	struct real_inst {
		int32_t pid;
		int32_t fd;  /* the descriptor in task pid */
		int lfd;     /* our copy of it (pidfd_getfd): the link info takes ours */
		uint32_t kind;
		uint32_t nlinks;
		enum real_prog prog[2];
		struct bpf_link *link[2]; /* a ring in R_ALL: the file, then the buffer iterator */
	} *inst;
	size_t ninst, cap;
	int *pidfds; /* per target: to tell a task that exited since open() */
	/* targets whose descriptor table an earlier target uses: its instances
	 * are that target's (found in open() with kcmp(KCMP_FILES)) */
	struct ib_tables tables;
	bool emit_tables; /* false in bpf-iter-all: its task_file part reports the tables */
	/* test-only (IB_REAL_ITER_FAULT, kernel/readers.ts): contention as the
	 * io_uring iterators report it, on every io_uring iterator read */
	struct {
		int err;            /* EDEADLK or EBUSY; 0: none */
		uint32_t after;     /* once this many reads returned data */
		uint32_t count;     /* this many reads fail */
	} fault;
};

static int attach_task(struct real_state *st, uint32_t ti, int32_t pid, struct ib_out *out);

static void real_close(void *p)
{
	struct real_state *st = p;
	uint32_t i, k;

	if (!st)
		return;
	for (i = 0; i < st->ninst; i++) {
		for (k = 0; k < st->inst[i].nlinks; k++)
			bpf_link__destroy(st->inst[i].link[k]);
		if (st->inst[i].lfd >= 0)
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
	free(st->rings.v);
	free(st->epolls.v);
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

/* every target of the mode's programs in the running kernel? (0, or the skip) */
static int kernel_has_targets(enum real_mode mode, struct ib_out *out)
{
	int p, err;

	for (p = 0; p < P__N; p++) {
		if (!(modes[mode].progs & (1u << p)))
			continue;
		err = kernel_has_target(progs[p].target, out);
		if (err)
			return err;
	}
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
	return ib_out_error(out, -ENOENT, "bpf-iter: object has no ri_cfg of %zu bytes (an "
			    "object built from another real_iter.bpf.c? rebuild it with npm run "
			    "kernel:build)", sizeof(*cfg));
}

/* keys: the identity mix keys to use (bpf-iter-all: its task_file part's), or NULL: random */
/*
 * IB_REAL_ITER_FAULT=EDEADLK|EBUSY:AFTER:COUNT (test-only): every io_uring
 * iterator read fails with that errno COUNT times in a row once AFTER reads
 * returned data, as the kernel does while another reader holds the ring
 * lock (the position kept), so that kernel/readers.ts can check the read-on
 * deterministically. Never set by the bench.
 */
static int parse_fault(struct real_state *st, struct ib_out *out)
{
	const char *env = getenv("IB_REAL_ITER_FAULT");
	char name[16];
	unsigned int after, count;

	if (!env || !*env)
		return 0;
	if (sscanf(env, "%15[A-Z]:%u:%u", name, &after, &count) != 3 ||
	    (strcmp(name, "EDEADLK") && strcmp(name, "EBUSY")))
		return ib_out_error(out, -EINVAL, "bpf-iter: IB_REAL_ITER_FAULT=%s: expected "
				    "EDEADLK|EBUSY:AFTER:COUNT", env);
	st->fault.err = strcmp(name, "EBUSY") ? EDEADLK : EBUSY;
	st->fault.after = after;
	st->fault.count = count;
	return 0;
}

static int real_open_mode(enum real_mode mode, void **state, const struct ib_target *t,
			  const struct ib_opts *o, const uint64_t *keys, struct ib_out *out)
{
	struct bpf_program *prog, *tf;
	libbpf_print_fn_t prev;
	uint32_t i;
	struct real_state *st;
	struct ri_config cfg;
	const char *path;
	int err, p;

	*state = NULL;
	err = ib_pf_check_pids(t, out);
	if (err)
		return err;
	if (getrandom(&cfg, sizeof(cfg), 0) != sizeof(cfg))
		return ib_out_error(out, -errno, "bpf-iter: getrandom: %s", strerror(errno));
	if (keys) {
		cfg.key0 = keys[0];
		cfg.key1 = keys[1];
	}
	cfg.key1 |= 1;
	cfg.want_kinds = modes[mode].want_kinds;
	cfg.ring = modes[mode].ring;

	path = getenv("IB_REAL_ITER_OBJ");
	if (!path || !*path)
		path = IB_REAL_ITER_OBJ_DEFAULT;
	if (access(path, R_OK)) {
		err = -errno;
		/* on a kernel without the targets that is the message that matters */
		if (kernel_has_targets(mode, out))
			return -EOPNOTSUPP; /* out->skip says why */
		return ib_out_error(out, err, "bpf-iter: program object %s: %s (build it with "
				    "npm run kernel:build, or set IB_REAL_ITER_OBJ)", path,
				    strerror(-err));
	}

	st = calloc(1, sizeof(*st));
	if (!st)
		return ib_out_error(out, -ENOMEM, "bpf-iter: out of memory");
	st->mode = mode;
	st->emit_tables = mode != R_ALL;
	err = parse_fault(st, out);
	if (err)
		goto fail;
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
	/* load only this method's programs and the instance finder */
	bpf_object__for_each_program(prog, st->obj) {
		const char *name = bpf_program__name(prog);
		bool load = !strcmp(name, TF_PROG);

		for (p = 0; p < P__N; p++) {
			if ((modes[mode].progs & (1u << p)) && !strcmp(name, progs[p].prog)) {
				st->prog[p] = prog;
				load = true;
			}
		}
		bpf_program__set_autoload(prog, load);
	}
	tf = bpf_object__find_program_by_name(st->obj, TF_PROG);
	for (p = 0; p < P__N; p++) {
		if ((modes[mode].progs & (1u << p)) && !st->prog[p]) {
			err = ib_out_error(out, -ENOENT, "bpf-iter: %s has no program %s", path,
					   progs[p].prog);
			goto fail;
		}
	}
	if (!tf) {
		err = ib_out_error(out, -ENOENT, "bpf-iter: %s has no program %s", path, TF_PROG);
		goto fail;
	}
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
		if (kernel_has_targets(mode, out)) {
			err = -EOPNOTSUPP;
			goto fail;
		}
		err = ib_out_error(out, err, "bpf-iter: load the programs from %s: %s: ...%s",
				   path, strerror(-err), log_tail());
		goto fail;
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
		st->pidfds[i] = -1;
		st->tf_links[i] = bpf_program__attach_iter(tf, &ao);
		if (!st->tf_links[i]) {
			err = -errno;
			err = ib_out_error(out, err, "bpf-iter: attach task_file iterator to pid %d: %s",
					   t->pids[i], strerror(-err));
			goto fail;
		}
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
 * records; a read may end inside one, the next goes on after it), and
 * write the instance's task and descriptor into its records; the iterator
 * is the instance's k-th link. EDEADLK and EBUSY: the same fd is read again
 * after a short sleep (the kernel kept the position), up to CONTENDED_TRIES
 * reads in a row. Returns 0; CONTENDED_BEFORE_ANY when the ring lock stayed
 * contended before anything was read (out unchanged: the caller says the
 * tables are missing, as /proc does); or a negative errno, with its message
 * (contention that lasts after a part of the table, EBUSY that lasts).
 */
static int read_iter(const struct real_state *st, const struct real_inst *in, uint32_t k,
		     struct ib_out *out, uint32_t *nrings)
{
	enum real_prog p = in->prog[k];
	size_t start = out->len, off;
	uint32_t tries = 0, nread = 0, faults = 0;
	bool fault = st->fault.err && p != P_EPOLL;
	ssize_t w;
	int iter_fd, err = 0;

	iter_fd = bpf_iter_create(bpf_link__fd(in->link[k]));
	out->calls++;
	if (iter_fd < 0)
		return ib_out_error(out, -errno, "bpf-iter: pid %d: create %s iterator for fd %d: "
				    "%s", in->pid, progs[p].target, in->fd, strerror(errno));
	for (;;) {
		ssize_t n;

		if (ib_out_room(out, READ_BUF)) {
			err = ib_out_error(out, -ENOMEM, "bpf-iter: out of memory for records");
			goto done;
		}
		if (fault && nread == st->fault.after && faults < st->fault.count) {
			faults++;
			errno = st->fault.err;
			n = -1;
		} else {
			n = read(iter_fd, out->buf + out->len, READ_BUF);
		}
		out->calls++;
		if (n < 0) {
			err = -errno;
			if (err == -EINTR)
				continue;
			if ((err == -EDEADLK || err == -EBUSY) && ++tries < CONTENDED_TRIES) {
				/* the iterator resumes where it stopped */
				uint64_t ns = (uint64_t)RETRY_SLEEP_NS << (tries - 1);

				nanosleep(&(struct timespec){ .tv_sec = ns / 1000000000,
							      .tv_nsec = ns % 1000000000 }, NULL);
				err = 0;
				continue;
			}
			if (err == -EDEADLK && out->len == start) {
				err = CONTENDED_BEFORE_ANY;
				goto done;
			}
			if (err == -EDEADLK)
				err = ib_out_error(out, err, "bpf-iter: pid %d: %s iterator of fd %d: the "
						   "ring lock stayed contended (EDEADLK) after %zu bytes "
						   "of the table, %u reads", in->pid, progs[p].target,
						   in->fd, out->len - start, tries);
			else if (err == -EBUSY)
				err = ib_out_error(out, err, "bpf-iter: pid %d: %s iterator of fd %d: the "
						   "table is being unregistered (EBUSY), %u reads",
						   in->pid, progs[p].target, in->fd, tries);
			else
				err = ib_out_error(out, err, "bpf-iter: pid %d: read %s iterator of fd "
						   "%d: %s", in->pid, progs[p].target, in->fd,
						   strerror(-err));
			goto done;
		}
		if (n == 0)
			break;
		out->len += n;
		nread++;
		tries = 0; /* the bound is per stall */
	}
	w = ib_whole_records(out->buf + start, out->len - start);
	if (w < 0 || (size_t)w != out->len - start) {
		err = ib_out_error(out, -EPROTO, "bpf-iter: pid %d: %s from the %s iterator of fd %d",
				   in->pid, w < 0 ? "malformed record" : "a read ended inside a record",
				   progs[p].target, in->fd);
		goto done;
	}
	/* the task and the descriptor (bpf/real_iter.h) */
	for (off = start; off < out->len; off += ((struct ib_rec_hdr *)(out->buf + off))->size) {
		struct ib_rec_hdr *h = (void *)(out->buf + off);

		if (h->size < RI_FD_OFFSET + sizeof(int32_t)) {
			err = ib_out_error(out, -EPROTO, "bpf-iter: record type %u of %u bytes from "
					   "the %s iterator", h->type, h->size, progs[p].target);
			goto done;
		}
		h->pid = in->pid;
		memcpy((uint8_t *)h + RI_FD_OFFSET, &in->fd, sizeof(in->fd));
		if (h->type == IB_REC_URING_RING)
			++*nrings;
	}
done:
	close(iter_fd);
	return err;
}

static int trylock_note(const struct real_inst *in, struct ib_out *out)
{
	static const char text[] = "io_uring iterator: ring lock contended (EDEADLK), "
				   "tables not read";
	struct ib_rec_uring_ring *r;
	struct ib_rec_note *n;

	n = ib_out_rec(out, IB_REC_NOTE, in->pid, sizeof(*n), text, sizeof(text) - 1);
	if (!n)
		goto nomem;
	n->code = IB_NOTE_URING_TRYLOCK;
	n->fd = in->fd;
	n->count = CONTENDED_TRIES;
	r = ib_out_rec(out, IB_REC_URING_RING, in->pid, sizeof(*r), NULL, 0);
	if (!r)
		goto nomem;
	r->ring_fd = in->fd;
	r->status = IB_URING_TABLES_MISSING;
	return 0;
nomem:
	return ib_out_error(out, -ENOMEM, "bpf-iter: out of memory for records");
}

/* collect(): one instance, each of its iterators read to EOF (warm: the measured work) */
static int read_instance(const struct real_state *st, const struct real_inst *in,
			 struct ib_out *out)
{
	size_t start = out->len;
	uint32_t k, nrings = 0;
	uint64_t t0 = ib_now_ns();
	int err = 0;

	for (k = 0; k < in->nlinks; k++) {
		err = read_iter(st, in, k, out, &nrings);
		if (err == CONTENDED_BEFORE_ANY) {
			/* the tables are missing, as /proc would say: no part of them */
			out->len = start;
			err = trylock_note(in, out);
			goto done;
		}
		if (err)
			goto done;
	}
	if (in->kind == IB_K_IO_URING && nrings == 0) {
		/* no slot in the tables read: no program wrote the ring record */
		struct ib_rec_uring_ring *r = ib_out_rec(out, IB_REC_URING_RING, in->pid, sizeof(*r),
							 NULL, 0);

		if (!r) {
			err = ib_out_error(out, -ENOMEM, "bpf-iter: out of memory for records");
			goto done;
		}
		r->ring_fd = in->fd;
		r->status = modes[st->mode].ring_status;
	}
done:
	out->stage_ns[progs[in->prog[0]].stage] += ib_now_ns() - t0;
	return err;
}

/* the task's io_uring and epoll descriptors (as the mode wants), from its task_file link */
static int find_instances(struct real_state *st, uint32_t ti, int32_t pid, struct ib_out *out)
{
	size_t have = 0;
	int iter_fd, err = 0;

	st->rings.n = 0;
	st->epolls.n = 0;
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
			if (ib_pf_fds_push(r->kind == IB_K_IO_URING ? &st->rings : &st->epolls, r->fd)) {
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

/* open(): link the mode's iterators to instance fd of task pid (cold: done once) */
static int attach_instance(struct real_state *st, int pidfd, int32_t pid, int32_t fd,
			   uint32_t kind, struct ib_out *out)
{
	struct real_inst *in;
	int p, err;

	if (st->ninst == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 16;
		struct real_inst *v = realloc(st->inst, cap * sizeof(*v));

		if (!v)
			return ib_out_error(out, -ENOMEM, "bpf-iter: out of memory");
		st->inst = v;
		st->cap = cap;
	}
	in = &st->inst[st->ninst];
	memset(in, 0, sizeof(*in));
	in->pid = pid;
	in->fd = fd;
	in->kind = kind;
	in->lfd = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (in->lfd < 0)
		return ib_out_error(out, -errno, "bpf-iter: pid %d: pidfd_getfd fd %d: %s", pid, fd,
				    strerror(errno));
	st->ninst++; /* from here real_close() undoes it */
	for (p = 0; p < P__N; p++) {
		LIBBPF_OPTS(bpf_iter_attach_opts, ao);
		union {
			__u32 fd; /* io_uring.io_uring_fd / epoll.epoll_fd: the first member */
			__u64 pad[2];
		} li;

		if (!st->prog[p] || (p == P_EPOLL) != (kind == IB_K_EPOLL))
			continue;
		memset(&li, 0, sizeof(li));
		li.fd = in->lfd;
		ao.link_info = (void *)&li;
		ao.link_info_len = sizeof(li);
		in->link[in->nlinks] = bpf_program__attach_iter(st->prog[p], &ao);
		if (!in->link[in->nlinks]) {
			err = -errno;
			return ib_out_error(out, err, "bpf-iter: pid %d: attach %s iterator to fd %d: "
					    "%s", pid, progs[p].target, fd, strerror(-err));
		}
		in->prog[in->nlinks++] = p;
	}
	return 0;
}

/* open(): find task ti's instances and link the iterators to each */
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
	if (!st->rings.n && !st->epolls.n && ib_pf_pid_dead(pid))
		return ib_out_error(out, -ESRCH, "pid %d: no such process", pid);
	for (i = 0; i < st->rings.n; i++) {
		err = attach_instance(st, st->pidfds[ti], pid, st->rings.v[i], IB_K_IO_URING, out);
		if (err)
			return err;
	}
	for (i = 0; i < st->epolls.n; i++) {
		err = attach_instance(st, st->pidfds[ti], pid, st->epolls.v[i], IB_K_EPOLL, out);
		if (err)
			return err;
	}
	return 0;
}

/* reads st, writes only out: readers may call it at once, each with its own out */
static int real_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
			struct ib_out *out)
{
	const struct real_state *st = state;
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
	return st->emit_tables ? ib_tables_emit(&st->tables, t, out) : 0;
}

#define OPEN(name, mode)                                                              \
	static int name(void **s, const struct ib_target *t, const struct ib_opts *o, \
			struct ib_out *out)                                           \
	{                                                                             \
		return real_open_mode(mode, s, t, o, NULL, out);                      \
	}
OPEN(open_uring_file, R_URING_FILE)
OPEN(open_uring_buf, R_URING_BUF)
OPEN(open_epoll, R_EPOLL)

/* --- bpf-iter-all: task_file (bpf-task-file's program) + the three targets --- */

struct all_state {
	void *tf;                /* bpf-task-file's state (bench/native/bpf.c) */
	struct real_state *real; /* R_ALL: every instance, every target */
};

static void all_close(void *p)
{
	struct all_state *s = p;

	if (!s)
		return;
	real_close(s->real);
	if (s->tf)
		ib_method_bpf_task_file.close(s->tf);
	free(s);
}

static int all_open(void **state, const struct ib_target *t, const struct ib_opts *o,
		    struct ib_out *out)
{
	struct all_state *s;
	void *real = NULL;
	uint64_t keys[2];
	int err;

	*state = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ib_out_error(out, -ENOMEM, "bpf-iter: out of memory");
	/* the series' targets first: on a stock kernel that is the skip */
	err = kernel_has_targets(R_ALL, out);
	if (err)
		goto fail;
	err = ib_method_bpf_task_file.open(&s->tf, t, o, out);
	if (err)
		goto fail;
	/* one identity for a file in both parts: the same keys */
	ib_bpf_identity_keys(s->tf, keys);
	err = real_open_mode(R_ALL, &real, t, o, keys, out);
	if (err)
		goto fail;
	s->real = real;
	*state = s;
	return 0;
fail:
	all_close(s);
	return err;
}

static int all_collect(void *state, const struct ib_target *t, const struct ib_opts *o,
		       struct ib_out *out)
{
	struct all_state *s = state;
	int err;

	/* descriptors and shared tables; the instances of a shared table are
	 * the first task's there and here (ib_tables, the same rule) */
	err = ib_method_bpf_task_file.collect(s->tf, t, o, out);
	if (err)
		return err;
	return real_collect(s->real, t, o, out);
}

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
 * The per-kind iterators do a part of what procfs and the emulation's
 * passes do (one kind of item, instances found in open()), so no speedup
 * is reported for them: they are compared with the emulation's same-kind
 * work, its descriptor walk subtracted, per round (.emulation), and the
 * whole state with bpf-iter-all. No floor: the task_file floors do not
 * bound an iterator attached to one instance.
 */
const struct ib_method ib_method_bpf_iter_io_uring_file = {
	.name = "bpf-iter-io-uring-file",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.lane = IB_LANE_PATCHED_KERNEL,
	.needs = IB_NEEDS_URING,
	.summary = "the series' io_uring_file iterator (patched kernel): one link per ring, "
		   "one record per registered-file slot",
	/* with io_uring_buf: the registered tables bpf-io-uring walks */
	.emulation = {
		.method = &ib_method_bpf_io_uring,
		.floor = &ib_method_floor_empty_iter,
		.with = IB_LIST(&ib_method_bpf_iter_io_uring_buf),
	},
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

/* compared with the emulation together with io_uring_file (its .emulation.with) */
const struct ib_method ib_method_bpf_iter_io_uring_buf = {
	.name = "bpf-iter-io-uring-buf",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.lane = IB_LANE_PATCHED_KERNEL,
	.needs = IB_NEEDS_URING,
	.summary = "the series' io_uring_buf iterator (patched kernel): one link per ring, "
		   "one record per registered-buffer slot",
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
	.emulation = {
		.method = &ib_method_bpf_epoll,
		.floor = &ib_method_floor_empty_iter,
	},
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

/* the whole state, as bpf-all recovers it in one emulated pass: equal work */
const struct ib_method ib_method_bpf_iter_all = {
	.name = "bpf-iter-all",
	.family = IB_FAMILY_BPF,
	.role = IB_ROLE_RECOVERY,
	.lane = IB_LANE_PATCHED_KERNEL,
	.summary = "the whole state through real iterators in one collect: task_file "
		   "(descriptors, shared tables), then io_uring_file, io_uring_buf and epoll "
		   "on every instance (patched kernel)",
	.speedup_over = IB_LIST(&ib_method_procfs, &ib_method_kcmp_tree, &ib_method_procfs_parallel,
				&ib_method_pidfd_getfd, &ib_method_bpf_all),
	.coverage = {
		[IB_COV_FD] = IB_FULL,
		[IB_COV_FD_META] = IB_FULL,
		[IB_COV_FD_POS] = IB_FULL,
		[IB_COV_FD_FLAGS] = IB_FULL,
		[IB_COV_FD_IDENTITY] = IB_FULL,
		[IB_COV_FD_TABLE] = IB_FULL,
		[IB_COV_EPOLL_ITEM] = IB_FULL,
		[IB_COV_EPOLL_TARGET] = IB_FULL,
		[IB_COV_URING_RING] = NO_FD_RING,
		[IB_COV_URING_FILE] = IB_FULL,
		[IB_COV_URING_BUF] = IB_FULL,
	},
	.open = all_open,
	.collect = all_collect,
	.close = all_close,
};
