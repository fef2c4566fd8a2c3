/* SPDX-License-Identifier: MIT */
/*
 * addon.c - N-API face of the collectors. JavaScript calls:
 *   methods()                        -> [{name, family, summary, coverage[]}]
 *   open(name, Int32Array pids, {maxRows, ringbufBytes, btfPath})
 *        -> {ok: true, handle, coldNs} | {ok: false, errno, error, skipped}
 *   collect(handle)                  -> bytes of records (>= 0) or -errno
 *                                       (the measured call: nothing else)
 *   result(handle) -> {buffer: ArrayBuffer, stagesNs: number[], calls, error}
 *   block(handle, k, Float64Array timesNs[k], BigUint64Array digests[k],
 *         BigUint64Array known) -> collects done (<= k) or -errno: up to k
 *           collects, each timed here in C around the method's collect()
 *           only; after each (outside its time) a 64-bit digest of the
 *           answer. It stops after the first answer whose digest is not in
 *           `known` (the digests of answers already verified), leaving that
 *           answer in the result buffer for the caller to verify in full: so
 *           every timed answer is checked, not only the first
 *   setRows(handle, n), close(handle), noop(), slowdown() -> active hooks
 *
 * ITERBENCH_SLOWDOWN=method:factor[,method:factor] (test-only) makes each
 * collect of that method cost `factor` times its own time: after the
 * method's collect, the wrapper spins for (factor - 1) x the time it took,
 * inside the timed region. The gate's sensitivity test uses it; results.json
 * records it in its environment so such a run is never mistaken for data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
	double slowdown; /* ITERBENCH_SLOWDOWN factor for this method (1: off) */
};

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

/* the measured call: the method's collect, plus the test-only slowdown */
static int do_collect(struct handle *h)
{
	uint64_t t0 = 0;
	int ret;

	ib_out_reset(&h->out);
	if (h->slowdown > 1)
		t0 = ib_now_ns();
	ret = h->m->collect(h->state, &h->t, &h->o, &h->out);
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

static napi_value js_methods(napi_env env, napi_callback_info info)
{
	napi_value arr, o, cov;
	uint32_t n = 0;

	CHECK(napi_create_array(env, &arr));
	for (size_t i = 0; i < ib_nmethods; i++) {
		const struct ib_method *m = ib_methods[i];

		if (!m)
			continue;
		CHECK(napi_create_object(env, &o));
		set(env, o, "name", str(env, m->name));
		set(env, o, "family", str(env, m->family));
		set(env, o, "summary", str(env, m->summary));
		{
			napi_value needs;
			uint32_t k = 0;

			CHECK(napi_create_array(env, &needs));
			if (m->needs & IB_NEEDS_EPOLL)
				napi_set_element(env, needs, k++, str(env, "epoll"));
			if (m->needs & IB_NEEDS_URING)
				napi_set_element(env, needs, k++, str(env, "io_uring"));
			set(env, o, "needs", needs);
		}
		CHECK(napi_create_array_with_length(env, IB_COV__N, &cov));
		for (uint32_t k = 0; k < IB_COV__N; k++)
			napi_set_element(env, cov, k, str(env, m->coverage[k] ? m->coverage[k] : "none: not declared"));
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
	free(h->pids);
	free(h->btf_path);
	free(h->out.buf);
	free(h);
}

static void finalize(napi_env env, void *data, void *hint)
{
	handle_free(data);
}

static int get_u32_prop(napi_env env, napi_value obj, const char *k, uint32_t *out)
{
	napi_value v;
	napi_valuetype t;
	bool has = false;

	if (napi_has_named_property(env, obj, k, &has) != napi_ok || !has)
		return 0;
	napi_get_named_property(env, obj, k, &v);
	napi_typeof(env, v, &t);
	if (t != napi_number)
		return 0;
	return napi_get_value_uint32(env, v, out) == napi_ok;
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
		if (t == napi_object) {
			napi_value v;
			bool has = false;

			get_u32_prop(env, argv[2], "maxRows", &h->o.max_rows);
			get_u32_prop(env, argv[2], "ringbufBytes", &h->o.ringbuf_bytes);
			napi_has_named_property(env, argv[2], "btfPath", &has);
			if (has) {
				char buf[4096];

				napi_get_named_property(env, argv[2], "btfPath", &v);
				if (napi_get_value_string_utf8(env, v, buf, sizeof(buf), &len) == napi_ok && len) {
					h->btf_path = strdup(buf);
					h->o.btf_path = h->btf_path;
				}
			}
		}
	}
	ib_out_reset(&h->out);
	t0 = ib_now_ns();
	ret = h->m->open ? h->m->open(&h->state, &h->t, &h->o, &h->out) : 0;
	if (ret < 0) {
		set(env, res, "ok", num(env, 0));
		set(env, res, "errno", num(env, -ret));
		set(env, res, "error", str(env, h->out.err[0] ? h->out.err : strerror(-ret)));
		set(env, res, "skipped", num(env, ret == -EOPNOTSUPP));
		handle_free(h);
		return res;
	}
	h->open = 1;
	h->slowdown = slowdown_for(h->m->name);
	CHECK(napi_create_external(env, h, finalize, NULL, &ext));
	set(env, res, "ok", num(env, 1));
	set(env, res, "handle", ext);
	set(env, res, "coldNs", num(env, (double)(ib_now_ns() - t0)));
	return res;
}

static struct handle *get_handle(napi_env env, napi_callback_info info, napi_value *rest, size_t nrest)
{
	size_t argc = 1 + nrest;
	napi_value argv[4];
	void *p = NULL;

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
	napi_value rest[4] = { 0 }, v;
	struct handle *h = get_handle(env, info, rest, 4);
	napi_typedarray_type tt, dt, kt;
	size_t nt, nd, nk;
	void *times, *digs, *known;
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
	    nt < k || nd < k) {
		napi_throw_type_error(env, NULL,
				      "block(handle, k, Float64Array(k), BigUint64Array(k), BigUint64Array known)");
		return NULL;
	}
	for (i = 0; i < k;) {
		uint64_t t0 = ib_now_ns(), d;
		size_t j;

		ret = do_collect(h);
		((double *)times)[i] = (double)(ib_now_ns() - t0);
		if (ret < 0)
			break;
		d = digest(h->out.buf, h->out.len);
		((uint64_t *)digs)[i++] = d;
		for (j = 0; j < nk && ((uint64_t *)known)[j] != d; j++)
			;
		if (j == nk)
			break; /* an answer not seen before: verify it */
	}
	napi_create_int64(env, ret < 0 ? ret : (int64_t)i, &v);
	return v;
}

static napi_value js_slowdown(napi_env env, napi_callback_info info)
{
	const char *env_s = getenv("ITERBENCH_SLOWDOWN");

	return str(env, env_s ? env_s : "");
}

static napi_value js_digest(napi_env env, napi_callback_info info)
{
	struct handle *h = get_handle(env, info, NULL, 0);
	napi_value v;

	if (!h)
		return NULL;
	napi_create_bigint_uint64(env, digest(h->out.buf, h->out.len), &v);
	return v;
}

static napi_value js_result(napi_env env, napi_callback_info info)
{
	struct handle *h = get_handle(env, info, NULL, 0);
	napi_value res, ab, stages;
	void *data;

	if (!h)
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
	set(env, res, "ret", num(env, h->last_ret));
	set(env, res, "error", str(env, h->last_ret < 0 ? (h->out.err[0] ? h->out.err : strerror(-h->last_ret)) : ""));
	return res;
}

static napi_value js_set_rows(napi_env env, napi_callback_info info)
{
	napi_value rest[1];
	struct handle *h = get_handle(env, info, rest, 1);
	uint32_t rows = 0;

	if (!h)
		return NULL;
	napi_get_value_uint32(env, rest[0], &rows);
	h->o.max_rows = rows;
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
	return NULL;
}

static napi_value js_noop(napi_env env, napi_callback_info info)
{
	return NULL;
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		{ "methods", NULL, js_methods, NULL, NULL, NULL, napi_default, NULL },
		{ "open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL },
		{ "collect", NULL, js_collect, NULL, NULL, NULL, napi_default, NULL },
		{ "block", NULL, js_block, NULL, NULL, NULL, napi_default, NULL },
		{ "digest", NULL, js_digest, NULL, NULL, NULL, napi_default, NULL },
		{ "slowdown", NULL, js_slowdown, NULL, NULL, NULL, napi_default, NULL },
		{ "result", NULL, js_result, NULL, NULL, NULL, napi_default, NULL },
		{ "setRows", NULL, js_set_rows, NULL, NULL, NULL, napi_default, NULL },
		{ "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
		{ "noop", NULL, js_noop, NULL, NULL, NULL, napi_default, NULL },
	};

	napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
