/* SPDX-License-Identifier: MIT */
/*
 * addon.c - N-API face of the collectors (typed in bench/native.ts, which
 * parses what comes back strictly). JavaScript calls:
 *   methods() -> [{name, family, role, lane, summary, needs[], floor,
 *                  floorLimit, speedupOver[], subsetOf[], emulation: {method,
 *                  floor, with[]} | null, sampling: {how,
 *                  scales}, coverage: {<kind>: {level, why}}}]
 *        every fact of each descriptor (method.h), in registry order; enums
 *        as lowercase names ("undeclared" where a descriptor left one 0)
 *   open(name, Int32Array pids, {ringbufBytes?, btfPath?})
 *        -> {ok: 1, handle, coldNs, note?} | {ok: 0, errno, error, skip}
 *        note: how the method runs here when that is not its usual way
 *        (ib_out_note: e.g. the emulation's probe-read object)
 *        skip: "missing-feature" | "kernel-lane" | "privilege" | null
 *   collect(handle)                  -> bytes of records (>= 0) or -errno
 *                                       (the measured call: nothing else)
 *   result(handle) -> {buffer: ArrayBuffer, stagesNs: number[], calls, ret,
 *                      error, sample: {rows, rowsTotal, made, total} | null}
 *   block(handle, k, Float64Array timesNs[k], BigUint64Array digests[k],
 *         BigUint64Array known) -> collects done (<= k) or -errno: up to k
 *           collects, each timed here in C around the method's collect()
 *           only; after each (outside its time) a 64-bit digest of the
 *           answer. It stops after the first answer whose digest is not in
 *           `known` (the digests of answers already verified), leaving that
 *           answer in the result buffer for the caller to verify in full: so
 *           every timed answer is checked, not only the first
 *           The thread runs SCHED_FIFO while it times (see block_sched)
 *           [stageNs]: a sampling method's sampled stage per collect;
 *           [offNs]: the thread's time off the CPU inside each collect
 *           (thread_cpu_ns)
 *   digest(handle) -> bigint: the digest of the last answer
 *   setSampling(handle, rows, seed): a sampling method (sampling.how "rows")
 *        compares `rows` rows chosen with a PRNG seeded by `seed` (a number
 *        or bigint) with all others; rows = 0: the full method
 *   close(handle), noop(), slowdown() -> active hooks
 *   sameTable(pid1, pid2) -> kcmp(KCMP_FILES): 0 when the two tasks (or
 *        threads) use one descriptor table, 1 or 2 when not, -errno
 *        (inspect: what a thread id given as --pid reads)
 *   sched() -> what the last block() timed under: "SCHED_FIFO", or
 *           "SCHED_OTHER (<why>)" (ITERBENCH_SCHED=other, or no privilege)
 *   schedThreads() -> how many of the method's own threads (method.h
 *           set_sched) the last block() timed under that policy too
 *
 * ITERBENCH_SLOWDOWN=method:factor[,method:factor] (test-only) makes each
 * collect of that method cost `factor` times its own time: after the
 * method's collect, the wrapper spins for (factor - 1) x the time it took,
 * inside the timed region. The gate's sensitivity test uses it; results.json
 * records it in its environment so such a run is never mistaken for data.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>
#include "method.h"

struct handle {
	const struct ib_method *m;
	void *state;
	int32_t *pids;
	struct ib_target t;
	struct ib_opts o;
	char *btf_path;
	struct ib_out out;
	int open;
	int last_ret;
	int lost; /* another handle's collect took the record buffer since */
	double slowdown; /* ITERBENCH_SLOWDOWN factor for this method (1: off) */
};

/*
 * One record buffer for every handle. Collects run one at a time and a
 * handle's answer is read (result(), digest(), block()'s digests) right
 * after its own collect; a buffer per handle kept every method's last
 * answer alive: with the methods of a run open on five instances of
 * 200000 descriptors (all scenario) that was 1.4 GB. The pool keeps the
 * largest buffer any collect grew, so a timed collect writes into memory
 * that is already there (the first collects, at open and verification,
 * grow it). A handle whose buffer was taken has no answer any more:
 * result() and digest() say so instead of returning another's records.
 */
static struct {
	uint8_t *buf;
	size_t cap;
	struct handle *owner;
} pool;

static void buffer_take(struct handle *h)
{
	if (pool.owner == h)
		return;
	if (pool.owner) {
		pool.owner->out.buf = NULL;
		pool.owner->out.cap = 0;
		pool.owner->out.len = 0;
		pool.owner->lost = 1;
	}
	if (h->out.buf) { /* a buffer of its own (an error path's): keep the bigger one */
		if (h->out.cap > pool.cap) {
			free(pool.buf);
			pool.buf = h->out.buf;
			pool.cap = h->out.cap;
		} else {
			free(h->out.buf);
		}
	}
	h->out.buf = pool.buf;
	h->out.cap = pool.cap;
	pool.owner = h;
	h->lost = 0;
}

/* after a collect: the buffer may have grown (realloc) */
static void buffer_keep(struct handle *h)
{
	if (pool.owner != h)
		return;
	pool.buf = h->out.buf;
	pool.cap = h->out.cap;
}

static void buffer_drop(struct handle *h)
{
	if (pool.owner == h) {
		buffer_keep(h);
		pool.owner = NULL;
		h->out.buf = NULL; /* the pool's */
	}
}

/* ITERBENCH_SLOWDOWN: the factor for `name`, 1 when not named */
static double slowdown_for(const char *name)
{
	const char *env = getenv("ITERBENCH_SLOWDOWN");
	size_t nl = strlen(name);

	while (env && *env) {
		const char *end = strchr(env, ',');
		const char *colon = memchr(env, ':', end ? (size_t)(end - env) : strlen(env));
		size_t len = colon ? (size_t)(colon - env) : 0;

		if (colon && len == nl && !memcmp(env, name, nl)) {
			double f = strtod(colon + 1, NULL);

			return f >= 1 && f <= 100 ? f : 1;
		}
		env = end ? end + 1 : NULL;
	}
	return 1;
}

/*
 * block() times with the calling thread at SCHED_FIFO priority 1 and gives
 * it its own policy back after (issue 15). As a normal (CFS) thread it is
 * preempted whenever other work wants the CPU, and on this kind of machine
 * (2 vCPUs, CONFIG_SCHED_AUTOGROUP: a nice-19 build started from another
 * shell weighs as much as the bench) such a wait, a 4 ms tick or more, lands
 * inside the timed collect: under load 40-60 % of a collect's wall time was
 * run-queue wait, and a preempted collect also pays to refill its caches.
 * The longer a collect, the likelier it is hit, so medians step up with N
 * (growth slopes of 1.4-1.6 for linear walks). Measured by
 * bench/experiments/drift.ts (priority, sizes). FIFO keeps other CFS work
 * off this CPU for the block only (RT throttling still leaves it 5 %); the
 * method's own work is unchanged (no method sleeps while collecting).
 * ITERBENCH_SCHED=other keeps the thread's policy; so does a thread that may
 * not raise it (no CAP_SYS_NICE). sched() says which.
 */
static char sched_note[128] = "SCHED_OTHER (no block timed yet)";

struct sched_saved {
	int policy;
	struct sched_param param;
	int raised;
};

static void block_sched_enter(struct sched_saved *s)
{
	const char *env = getenv("ITERBENCH_SCHED");
	struct sched_param fifo = { .sched_priority = 1 };

	s->raised = 0;
	if (env && strcmp(env, "other") == 0) {
		snprintf(sched_note, sizeof(sched_note), "SCHED_OTHER (ITERBENCH_SCHED=other)");
		return;
	}
	s->policy = sched_getscheduler(0);
	if (s->policy < 0 || sched_getparam(0, &s->param) < 0) {
		snprintf(sched_note, sizeof(sched_note), "SCHED_OTHER (sched_getscheduler: %s)", strerror(errno));
		return;
	}
	if (s->policy == SCHED_FIFO || s->policy == SCHED_RR) {
		snprintf(sched_note, sizeof(sched_note), "%s (the caller's own)",
			 s->policy == SCHED_FIFO ? "SCHED_FIFO" : "SCHED_RR");
		return;
	}
	if (sched_setscheduler(0, SCHED_FIFO, &fifo) < 0) {
		snprintf(sched_note, sizeof(sched_note), "SCHED_OTHER (cannot raise to SCHED_FIFO: %s)",
			 strerror(errno));
		return;
	}
	s->raised = 1;
	snprintf(sched_note, sizeof(sched_note), "SCHED_FIFO");
}

static void block_sched_leave(const struct sched_saved *s)
{
	if (s->raised)
		sched_setscheduler(0, s->policy, &s->param);
}

/*
 * A method with threads of its own (method.h set_sched) times them under
 * the caller's raised policy too, and gives them the caller's own back
 * after: both outside the timed region. sched_threads is how many took the
 * raised policy in the last block() (schedThreads()).
 */
static int sched_threads;

static void block_threads_enter(struct handle *h, const struct sched_saved *s)
{
	sched_threads = 0;
	if (s->raised && h->m->set_sched)
		sched_threads = h->m->set_sched(h->state, SCHED_FIFO, 1);
}

static void block_threads_leave(struct handle *h, const struct sched_saved *s)
{
	if (s->raised && h->m->set_sched)
		h->m->set_sched(h->state, s->policy, s->param.sched_priority);
}

/*
 * The calling thread's CPU time (ns). block() reads it around each timed
 * collect, outside the timed region: wall time minus CPU time is the time
 * the thread was off the CPU inside the collect. No method sleeps while it
 * collects (procfs-parallel's caller waits for its workers: its descriptor
 * says `parallel`), so for the others that time is interference: RT
 * throttling (bench/rtbudget.ts), a higher-priority thread, or the host
 * taking the vCPU where the guest accounts steal.
 */
static uint64_t thread_cpu_ns(void)
{
	return ib_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* the measured call: the method's collect, plus the test-only slowdown */
static int do_collect(struct handle *h)
{
	uint64_t t0 = 0;
	int ret;

	buffer_take(h);
	ib_out_reset(&h->out);
	if (h->slowdown > 1)
		t0 = ib_now_ns();
	ret = h->m->collect(h->state, &h->t, &h->o, &h->out);
	buffer_keep(h);
	if (h->slowdown > 1) {
		uint64_t d = ib_now_ns() - t0;
		uint64_t until = ib_now_ns() + (uint64_t)((h->slowdown - 1) * (double)d);

		while (ib_now_ns() < until)
			;
	}
	h->last_ret = ret;
	return ret;
}

/* FNV-1a, 64 bit, over the answer's bytes */
static uint64_t digest(const uint8_t *p, size_t n)
{
	uint64_t x = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		x ^= p[i];
		x *= 0x100000001b3ull;
	}
	return x;
}

#define CHECK(call)                                                        \
	do {                                                               \
		if ((call) != napi_ok) {                                   \
			napi_throw_error(env, NULL, "napi call failed: " #call); \
			return NULL;                                       \
		}                                                          \
	} while (0)

static napi_value str(napi_env env, const char *s)
{
	napi_value v;

	napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
	return v;
}

static napi_value num(napi_env env, double d)
{
	napi_value v;

	napi_create_double(env, d, &v);
	return v;
}

static void set(napi_env env, napi_value obj, const char *k, napi_value v)
{
	napi_set_named_property(env, obj, k, v);
}

static const struct ib_method *find(const char *name)
{
	for (size_t i = 0; i < ib_nmethods; i++)
		if (ib_methods[i] && strcmp(ib_methods[i]->name, name) == 0)
			return ib_methods[i];
	return NULL;
}

static napi_value null_value(napi_env env)
{
	napi_value v;

	napi_get_null(env, &v);
	return v;
}

/* an enum value's name; "undeclared" for 0 where 0 is not a value, and
 * "unknown(N)" out of range: the TypeScript side refuses both */
static napi_value enum_name(napi_env env, unsigned int v, const char *const *names, size_t n)
{
	char buf[32];

	if (v < n && names[v])
		return str(env, names[v]);
	if (v == 0)
		return str(env, "undeclared");
	snprintf(buf, sizeof(buf), "unknown(%u)", v);
	return str(env, buf);
}

static const char *const family_names[] = {
	[IB_FAMILY_PROCFS] = "procfs", [IB_FAMILY_KCMP] = "kcmp",
	[IB_FAMILY_BPF] = "bpf", [IB_FAMILY_FLOOR] = "floor",
};
static const char *const role_names[] = {
	[IB_ROLE_RECOVERY] = "recovery", [IB_ROLE_FLOOR] = "floor",
};
static const char *const lane_names[] = {
	[IB_LANE_HOST] = "host", [IB_LANE_PATCHED_KERNEL] = "patched-kernel",
};
static const char *const level_names[] = {
	[IB_LEVEL_FULL] = "full", [IB_LEVEL_PARTIAL] = "partial", [IB_LEVEL_NONE] = "none",
};
static const char *const sampling_names[] = {
	[IB_SAMPLING_NONE] = "none", [IB_SAMPLING_ROWS] = "rows",
};
static const char *const sweep_names[] = {
	[IB_SWEEP_ALL] = "all", [IB_SWEEP_LARGEST] = "largest", [IB_SWEEP_TASKS] = "tasks",
};
static const char *const reach_names[] = {
	[IB_REACH_TARGETS] = "targets", [IB_REACH_SYSTEM] = "system",
};
static const char *const skip_names[] = {
	[IB_SKIP_MISSING_FEATURE] = "missing-feature", [IB_SKIP_KERNEL_LANE] = "kernel-lane",
	[IB_SKIP_PRIVILEGE] = "privilege",
};
static const char *const cov_names[IB_COV__N] = IB_COV_NAMES;
static const char *const stage_names[IB_STAGE__N] = IB_STAGE_NAMES;

#define ENUM_NAME(env, v, names) enum_name(env, (unsigned int)(v), names, sizeof(names) / sizeof(names[0]))

/* a NULL-terminated list of methods as an array of names ("(null)" for a
 * NULL entry cannot happen: the list ends there) */
static napi_value method_names(napi_env env, const struct ib_method *const *list)
{
	napi_value arr;
	uint32_t k = 0;

	if (napi_create_array(env, &arr) != napi_ok)
		return NULL;
	for (; list && list[k]; k++)
		napi_set_element(env, arr, k, str(env, list[k]->name));
	return arr;
}

static napi_value js_methods(napi_env env, napi_callback_info info)
{
	napi_value arr, o, cov, c, needs, smp, b;
	uint32_t n = 0;

	CHECK(napi_create_array(env, &arr));
	for (size_t i = 0; i < ib_nmethods; i++) {
		const struct ib_method *m = ib_methods[i];
		uint32_t k = 0;

		CHECK(napi_create_object(env, &o));
		set(env, o, "name", str(env, m->name));
		set(env, o, "family", ENUM_NAME(env, m->family, family_names));
		set(env, o, "role", ENUM_NAME(env, m->role, role_names));
		set(env, o, "lane", ENUM_NAME(env, m->lane, lane_names));
		set(env, o, "summary", str(env, m->summary));
		set(env, o, "parallel", num(env, m->set_sched ? 1 : 0));
		CHECK(napi_create_array(env, &needs));
		if (m->needs & IB_NEEDS_EPOLL)
			napi_set_element(env, needs, k++, str(env, "epoll"));
		if (m->needs & IB_NEEDS_URING)
			napi_set_element(env, needs, k++, str(env, "io_uring"));
		set(env, o, "needs", needs);
		set(env, o, "floor", m->floor ? str(env, m->floor->name) : null_value(env));
		set(env, o, "floorLimit", num(env, m->floor_limit));
		set(env, o, "speedupOver", method_names(env, m->speedup_over));
		set(env, o, "subsetOf", method_names(env, m->subset_of));
		if (m->emulation.method) {
			napi_value em;

			CHECK(napi_create_object(env, &em));
			set(env, em, "method", str(env, m->emulation.method->name));
			set(env, em, "floor", m->emulation.floor ? str(env, m->emulation.floor->name)
								 : null_value(env));
			set(env, em, "with", method_names(env, m->emulation.with));
			set(env, o, "emulation", em);
		} else {
			set(env, o, "emulation", null_value(env));
		}
		CHECK(napi_create_object(env, &smp));
		set(env, smp, "how", ENUM_NAME(env, m->sampling.how, sampling_names));
		set(env, smp, "scales", m->sampling.how == IB_SAMPLING_NONE ? null_value(env) :
					ENUM_NAME(env, m->sampling.scales, stage_names));
		set(env, o, "sampling", smp);
		set(env, o, "sweep", ENUM_NAME(env, m->sweep, sweep_names));
		set(env, o, "reach", ENUM_NAME(env, m->reach, reach_names));
		CHECK(napi_create_object(env, &cov));
		for (k = 0; k < IB_COV__N; k++) {
			CHECK(napi_create_object(env, &c));
			set(env, c, "level", ENUM_NAME(env, m->coverage[k].level, level_names));
			set(env, c, "why", m->coverage[k].why ? str(env, m->coverage[k].why) : null_value(env));
			napi_get_boolean(env, m->coverage[k].unheld_only != 0, &b);
			set(env, c, "unheldOnly", b);
			set(env, cov, cov_names[k], c);
		}
		set(env, o, "coverage", cov);
		napi_set_element(env, arr, n++, o);
	}
	return arr;
}

static void handle_free(struct handle *h)
{
	if (h->open && h->m->close)
		h->m->close(h->state);
	h->open = 0;
	buffer_drop(h);
	free(h->pids);
	free(h->btf_path);
	free(h->out.buf);
	free(h);
}

static void finalize(napi_env env, void *data, void *hint)
{
	handle_free(data);
}

/*
 * open()'s options: {ringbufBytes?: number, btfPath?: string}. Anything
 * else, or a value of the wrong type, is a TypeError (returns -1 with it
 * thrown): a caller still passing an option that went away must hear it.
 */
static int get_opts(napi_env env, napi_value obj, struct handle *h)
{
	napi_value keys, k, v;
	napi_valuetype t;
	uint32_t n, i;
	char key[64], buf[4096];
	size_t len;

	if (napi_get_property_names(env, obj, &keys) != napi_ok ||
	    napi_get_array_length(env, keys, &n) != napi_ok)
		goto bad;
	for (i = 0; i < n; i++) {
		if (napi_get_element(env, keys, i, &k) != napi_ok ||
		    napi_get_value_string_utf8(env, k, key, sizeof(key), &len) != napi_ok ||
		    napi_get_property(env, obj, k, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok)
			goto bad;
		if (t == napi_undefined)
			continue;
		if (!strcmp(key, "ringbufBytes") && t == napi_number) {
			if (napi_get_value_uint32(env, v, &h->o.ringbuf_bytes) != napi_ok)
				goto bad;
		} else if (!strcmp(key, "btfPath") && t == napi_string) {
			if (napi_get_value_string_utf8(env, v, buf, sizeof(buf), &len) != napi_ok)
				goto bad;
			if (len) {
				free(h->btf_path);
				h->btf_path = strdup(buf);
				h->o.btf_path = h->btf_path;
			}
		} else {
			char msg[128];

			snprintf(msg, sizeof(msg), "open(): unknown option or wrong type: %s", key);
			napi_throw_type_error(env, NULL, msg);
			return -1;
		}
	}
	return 0;
bad:
	napi_throw_type_error(env, NULL, "open(): options must be {ringbufBytes?, btfPath?}");
	return -1;
}

static napi_value js_open(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3], res, ext;
	char name[128];
	size_t len;
	struct handle *h;
	napi_typedarray_type tt;
	size_t n;
	void *data;
	uint64_t t0;
	int ret;

	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 2) {
		napi_throw_type_error(env, NULL, "open(name, pids, opts?)");
		return NULL;
	}
	CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len));
	CHECK(napi_create_object(env, &res));
	if (!find(name)) {
		set(env, res, "ok", num(env, 0));
		set(env, res, "errno", num(env, ENOENT));
		set(env, res, "error", str(env, "unknown method"));
		set(env, res, "skip", null_value(env));
		return res;
	}
	if (napi_get_typedarray_info(env, argv[1], &tt, &n, &data, NULL, NULL) != napi_ok ||
	    tt != napi_int32_array) {
		napi_throw_type_error(env, NULL, "pids must be an Int32Array");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->pids = calloc(n ? n : 1, sizeof(int32_t)))) {
		free(h);
		napi_throw_error(env, NULL, "out of memory");
		return NULL;
	}
	memcpy(h->pids, data, n * sizeof(int32_t));
	h->t.pids = h->pids;
	h->t.npids = n;
	h->m = find(name);
	if (argc >= 3) {
		napi_valuetype t;

		napi_typeof(env, argv[2], &t);
		if (t == napi_object && get_opts(env, argv[2], h) < 0) {
			handle_free(h);
			return NULL;
		} else if (t != napi_object && t != napi_undefined) {
			handle_free(h);
			napi_throw_type_error(env, NULL, "open(): options must be an object");
			return NULL;
		}
	}
	ib_out_reset(&h->out);
	t0 = ib_now_ns();
	ret = h->m->open ? h->m->open(&h->state, &h->t, &h->o, &h->out) : 0;
	if (ret < 0) {
		enum ib_skip skip = h->out.skip;

		/* a lane that cannot run here, by the method's word or its errno */
		if (skip == IB_SKIP_NONE && (ret == -EPERM || ret == -EACCES))
			skip = IB_SKIP_PRIVILEGE;
		else if (skip == IB_SKIP_NONE && ret == -EOPNOTSUPP)
			skip = IB_SKIP_MISSING_FEATURE;
		set(env, res, "ok", num(env, 0));
		set(env, res, "errno", num(env, -ret));
		set(env, res, "error", str(env, h->out.err[0] ? h->out.err : strerror(-ret)));
		set(env, res, "skip", skip == IB_SKIP_NONE ? null_value(env) :
				      ENUM_NAME(env, skip, skip_names));
		handle_free(h);
		return res;
	}
	h->open = 1;
	h->slowdown = slowdown_for(h->m->name);
	CHECK(napi_create_external(env, h, finalize, NULL, &ext));
	set(env, res, "ok", num(env, 1));
	set(env, res, "handle", ext);
	set(env, res, "coldNs", num(env, (double)(ib_now_ns() - t0 + h->out.cold_shared_ns)));
	if (h->out.note[0])
		set(env, res, "note", str(env, h->out.note));
	return res;
}

static struct handle *get_handle(napi_env env, napi_callback_info info, napi_value *rest, size_t nrest)
{
	napi_value argv[8];
	size_t argc = 1 + nrest;
	void *p = NULL;

	/* napi_get_cb_info writes up to argc values: argv must hold them all */
	if (argc > sizeof(argv) / sizeof(argv[0])) {
		napi_throw_error(env, NULL, "get_handle: too many arguments asked for");
		return NULL;
	}
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
		napi_throw_type_error(env, NULL, "expected a handle from open()");
		return NULL;
	}
	for (size_t i = 0; i < nrest && i + 1 < argc; i++)
		rest[i] = argv[i + 1];
	return p;
}

static napi_value js_collect(napi_env env, napi_callback_info info)
{
	struct handle *h = get_handle(env, info, NULL, 0);
	napi_value v;
	int ret;

	if (!h)
		return NULL;
	if (!h->open) {
		napi_throw_error(env, NULL, "handle is closed");
		return NULL;
	}
	ret = do_collect(h);
	napi_create_int64(env, ret < 0 ? ret : (int64_t)h->out.len, &v);
	return v;
}

static napi_value js_block(napi_env env, napi_callback_info info)
{
	napi_value rest[6] = { 0 }, v;
	struct handle *h = get_handle(env, info, rest, 6);
	napi_typedarray_type tt, dt, kt, st = napi_float64_array, ot = napi_float64_array;
	size_t nt, nd, nk, ns = 0, no = 0;
	void *times, *digs, *known, *stage = NULL, *off = NULL;
	napi_valuetype t5 = napi_undefined, t6 = napi_undefined;
	struct sched_saved saved;
	uint32_t k = 0, i;
	int ret = 0;

	if (!h)
		return NULL;
	if (!h->open) {
		napi_throw_error(env, NULL, "handle is closed");
		return NULL;
	}
	if (napi_get_value_uint32(env, rest[0], &k) != napi_ok ||
	    napi_get_typedarray_info(env, rest[1], &tt, &nt, &times, NULL, NULL) != napi_ok ||
	    napi_get_typedarray_info(env, rest[2], &dt, &nd, &digs, NULL, NULL) != napi_ok ||
	    napi_get_typedarray_info(env, rest[3], &kt, &nk, &known, NULL, NULL) != napi_ok ||
	    tt != napi_float64_array || dt != napi_biguint64_array || kt != napi_biguint64_array ||
	    nt < k || nd < k ||
	    (rest[4] && napi_typeof(env, rest[4], &t5) == napi_ok && t5 != napi_undefined &&
	     (napi_get_typedarray_info(env, rest[4], &st, &ns, &stage, NULL, NULL) != napi_ok ||
	      st != napi_float64_array || ns < k)) ||
	    (rest[5] && napi_typeof(env, rest[5], &t6) == napi_ok && t6 != napi_undefined &&
	     (napi_get_typedarray_info(env, rest[5], &ot, &no, &off, NULL, NULL) != napi_ok ||
	      ot != napi_float64_array || no < k))) {
		napi_throw_type_error(env, NULL,
				      "block(handle, k, Float64Array(k), BigUint64Array(k), BigUint64Array known"
				      "[, Float64Array(k) scaled-stage ns | undefined[, Float64Array(k) off-CPU ns]])");
		return NULL;
	}
	block_sched_enter(&saved);
	block_threads_enter(h, &saved);
	for (i = 0; i < k;) {
		uint64_t c0 = off ? thread_cpu_ns() : 0;
		uint64_t t0 = ib_now_ns(), t1, d;
		size_t j;

		ret = do_collect(h);
		t1 = ib_now_ns();
		((double *)times)[i] = (double)(t1 - t0);
		if (off) {
			/* read after the timed region, as c0 before it: the
			 * thread's time off the CPU inside it */
			uint64_t c1 = thread_cpu_ns();
			double o = (double)(t1 - t0) - (double)(c1 - c0);

			((double *)off)[i] = o > 0 ? o : 0;
		}
		if (ret < 0)
			break;
		/* a sampling method: the time of this collect's sampled stage,
		 * which the harness scales to the whole work */
		if (stage)
			((double *)stage)[i] = h->m->sampling.how == IB_SAMPLING_NONE ? 0 :
					       (double)h->out.stage_ns[h->m->sampling.scales];
		d = digest(h->out.buf, h->out.len);
		((uint64_t *)digs)[i++] = d;
		for (j = 0; j < nk && ((uint64_t *)known)[j] != d; j++)
			;
		if (j == nk)
			break; /* an answer not seen before: verify it */
	}
	block_threads_leave(h, &saved);
	block_sched_leave(&saved);
	napi_create_int64(env, ret < 0 ? ret : (int64_t)i, &v);
	return v;
}

static napi_value js_slowdown(napi_env env, napi_callback_info info)
{
	const char *env_s = getenv("ITERBENCH_SLOWDOWN");

	return str(env, env_s ? env_s : "");
}

/* misuse: reading an answer another handle's collect has since replaced (the pool above) */
static int lost_answer(napi_env env, struct handle *h)
{
	if (!h->lost || h->last_ret < 0)
		return 0;
	napi_throw_error(env, NULL, "this handle's answer was replaced by another handle's collect: "
			 "read it right after its own collect() or block()");
	return 1;
}

static napi_value js_sched(napi_env env, napi_callback_info info)
{
	return str(env, sched_note);
}

static napi_value js_sched_threads(napi_env env, napi_callback_info info)
{
	return num(env, sched_threads);
}

static napi_value js_digest(napi_env env, napi_callback_info info)
{
	struct handle *h = get_handle(env, info, NULL, 0);
	napi_value v;

	if (!h || lost_answer(env, h))
		return NULL;
	napi_create_bigint_uint64(env, digest(h->out.buf, h->out.len), &v);
	return v;
}

static napi_value js_result(napi_env env, napi_callback_info info)
{
	struct handle *h = get_handle(env, info, NULL, 0);
	napi_value res, ab, stages;
	void *data;

	if (!h || lost_answer(env, h))
		return NULL;
	CHECK(napi_create_object(env, &res));
	CHECK(napi_create_arraybuffer(env, h->out.len, &data, &ab));
	if (h->out.len)
		memcpy(data, h->out.buf, h->out.len);
	set(env, res, "buffer", ab);
	CHECK(napi_create_array_with_length(env, IB_STAGE__N, &stages));
	for (uint32_t i = 0; i < IB_STAGE__N; i++)
		napi_set_element(env, stages, i, num(env, (double)h->out.stage_ns[i]));
	set(env, res, "stagesNs", stages);
	set(env, res, "calls", num(env, (double)h->out.calls));
	if (h->m->sampling.how == IB_SAMPLING_NONE) {
		set(env, res, "sample", null_value(env));
	} else {
		napi_value smp;

		CHECK(napi_create_object(env, &smp));
		set(env, smp, "rows", num(env, (double)h->out.sample.rows));
		set(env, smp, "rowsTotal", num(env, (double)h->out.sample.rows_total));
		set(env, smp, "made", num(env, (double)h->out.sample.made));
		set(env, smp, "total", num(env, (double)h->out.sample.total));
		set(env, res, "sample", smp);
	}
	set(env, res, "ret", num(env, h->last_ret));
	set(env, res, "error", str(env, h->last_ret < 0 ? (h->out.err[0] ? h->out.err : strerror(-h->last_ret)) : ""));
	return res;
}

static napi_value js_set_sampling(napi_env env, napi_callback_info info)
{
	napi_value rest[2] = { 0 };
	struct handle *h = get_handle(env, info, rest, 2);
	napi_valuetype tr = napi_undefined, ts = napi_undefined;
	uint32_t rows = 0;
	uint64_t seed = 0;
	double d = 0;
	bool lossless = true;

	if (!h)
		return NULL;
	if (rest[0])
		napi_typeof(env, rest[0], &tr);
	if (rest[1])
		napi_typeof(env, rest[1], &ts);
	if (tr != napi_number || napi_get_value_double(env, rest[0], &d) != napi_ok || d < 0 ||
	    d > UINT32_MAX || d != (double)(uint32_t)d) {
		napi_throw_type_error(env, NULL, "setSampling(handle, rows: integer >= 0, seed)");
		return NULL;
	}
	rows = (uint32_t)d;
	if (ts == napi_bigint) {
		if (napi_get_value_bigint_uint64(env, rest[1], &seed, &lossless) != napi_ok || !lossless) {
			napi_throw_type_error(env, NULL, "setSampling(): seed must fit 64 bits");
			return NULL;
		}
	} else if (ts == napi_number && napi_get_value_double(env, rest[1], &d) == napi_ok &&
		   d >= 0 && d <= 9007199254740991.0 && d == (double)(uint64_t)d) {
		seed = (uint64_t)d;
	} else {
		napi_throw_type_error(env, NULL, "setSampling(): seed must be an integer >= 0 or a bigint");
		return NULL;
	}
	if (rows && h->m->sampling.how == IB_SAMPLING_NONE) {
		char msg[160];

		snprintf(msg, sizeof(msg), "setSampling(): %s does not sample (sampling.how is none)",
			 h->m->name);
		napi_throw_error(env, NULL, msg);
		return NULL;
	}
	h->o.sample_rows = rows;
	h->o.sample_seed = seed;
	return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info)
{
	struct handle *h = get_handle(env, info, NULL, 0);

	if (!h)
		return NULL;
	if (h->open && h->m->close)
		h->m->close(h->state);
	h->open = 0;
	h->state = NULL;
	buffer_drop(h);
	return NULL;
}

static napi_value js_noop(napi_env env, napi_callback_info info)
{
	return NULL;
}

static napi_value js_same_table(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	size_t argc = 2;
	int32_t a, b;
	long r;

	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc != 2 || napi_get_value_int32(env, argv[0], &a) != napi_ok ||
	    napi_get_value_int32(env, argv[1], &b) != napi_ok || a <= 0 || b <= 0) {
		napi_throw_type_error(env, NULL, "sameTable(pid1 > 0, pid2 > 0)");
		return NULL;
	}
	r = syscall(SYS_kcmp, a, b, KCMP_FILES, 0, 0);
	return num(env, r < 0 ? -errno : r);
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		{ "methods", NULL, js_methods, NULL, NULL, NULL, napi_default, NULL },
		{ "open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL },
		{ "collect", NULL, js_collect, NULL, NULL, NULL, napi_default, NULL },
		{ "block", NULL, js_block, NULL, NULL, NULL, napi_default, NULL },
		{ "schedThreads", NULL, js_sched_threads, NULL, NULL, NULL, napi_default, NULL },
		{ "digest", NULL, js_digest, NULL, NULL, NULL, napi_default, NULL },
		{ "slowdown", NULL, js_slowdown, NULL, NULL, NULL, napi_default, NULL },
		{ "sched", NULL, js_sched, NULL, NULL, NULL, napi_default, NULL },
		{ "result", NULL, js_result, NULL, NULL, NULL, napi_default, NULL },
		{ "setSampling", NULL, js_set_sampling, NULL, NULL, NULL, napi_default, NULL },
		{ "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
		{ "noop", NULL, js_noop, NULL, NULL, NULL, napi_default, NULL },
		{ "sameTable", NULL, js_same_table, NULL, NULL, NULL, napi_default, NULL },
	};

	napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
