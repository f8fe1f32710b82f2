/* The store module, as the gopher-lua guest has it (guest/store.go, store_ext.go):
 * store.get(id) returns a handle with get, set, has, delete, release, entry, put, incr,
 * list and info; failures are returned as nil/false, err with an error object. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wasmkv.h"

#define STORE_TYPE "store.Store"

typedef struct {
	uint32_t h;
	int released;
	size_t maxval; /* the store's max_value_bytes, as open reported it (0: not reported) */
} handle;

static wbuf req;          /* the request being built */
static char errtext[512]; /* messages made by the guest */

static int push_failure(lua_State *L, int failure_is_false, const abierr *e) {
	if (failure_is_false) lua_pushboolean(L, 0);
	else lua_pushnil(L);
	wasmkv_push_abierr(L, e);
	return 2;
}

static int fail_msg(lua_State *L, int failure_is_false, const char *kind, const char *msg) {
	abierr e = {kind, msg, strlen(msg), kind_retryable(kind)};
	return push_failure(L, failure_is_false, &e);
}

/* check_string is luaL_checkstring with the gopher-lua guest's wording. */
static const char *check_string(lua_State *L, int idx, int argn, const char *fname, size_t *len) {
	int t = lua_type(L, idx);
	if (t != LUA_TSTRING && t != LUA_TNUMBER) wasmkv_type_error(L, argn, fname, "string", idx);
	return lua_tolstring(L, idx, len);
}

static double check_number(lua_State *L, int idx, int argn, const char *fname) {
	if (!lua_isnumber(L, idx)) wasmkv_type_error(L, argn, fname, "number", idx);
	return lua_tonumber(L, idx);
}

static handle *check_handle(lua_State *L, const char *fname) {
	handle *s = lua_touserdata(L, 1);
	if (s && lua_getmetatable(L, 1)) {
		int same;
		luaL_getmetatable(L, STORE_TYPE);
		same = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
		if (same) return s;
	}
	wasmkv_type_error(L, 1, fname, "store", 1);
	return NULL;
}

static const abierr err_released = {"Invalid", "store is released", 17, 0};

/* key_arg runs the checks that precede every key method. It returns NULL after pushing
 * the failure values (their count in *n). */
static handle *key_arg(lua_State *L, const char *fname, int failure_is_false, const char **key, size_t *klen, int *n) {
	handle *s = check_handle(L, fname);
	if (s->released) { *n = push_failure(L, failure_is_false, &err_released); return NULL; }
	*key = check_string(L, 2, 1, fname, klen);
	if (*klen == 0) { *n = fail_msg(L, failure_is_false, "Invalid", "key is empty"); return NULL; }
	return s;
}

/* begin starts a request map of n fields with h and op. */
static void begin(int fields, handle *s, int op) {
	wb_reset(&req);
	wb_head(&req, 5, (uint64_t)fields);
	wb_key(&req, "h");
	wb_uint(&req, s->h);
	wb_key(&req, "op");
	wb_uint(&req, (uint64_t)op);
}

static int call(lua_State *L, response *resp, int failure_is_false, int *n) {
	abierr e;
	if (!host_call(&req, resp, &e)) { *n = push_failure(L, failure_is_false, &e); return 0; }
	return 1;
}

static int return_value(lua_State *L, span v) {
	if (!value_decode(L, v, errtext, sizeof errtext)) return fail_msg(L, 0, "Internal", errtext);
	return 1;
}

/* store.get(id) */
static int store_open(lua_State *L) {
	size_t len;
	const char *id = check_string(L, 1, 1, "get", &len);
	response resp;
	int n;
	handle *s;
	if (len == 0) return fail_msg(L, 0, "Invalid", "store id is empty");
	wb_reset(&req);
	wb_head(&req, 5, 3);
	wb_key(&req, "id");
	wb_text(&req, id, len);
	wb_key(&req, "op");
	wb_uint(&req, OP_OPEN);
	wb_key(&req, "limits");
	wb_bool(&req, 1);
	if (!call(L, &resp, 0, &n)) return n;
	s = lua_newuserdata(L, sizeof *s);
	s->h = (uint32_t)resp.h;
	s->released = 0;
	s->maxval = resp.maxval < MAX_REQUEST_BYTES ? (size_t)resp.maxval : MAX_REQUEST_BYTES;
	luaL_getmetatable(L, STORE_TYPE);
	lua_setmetatable(L, -2);
	return 1;
}

/* key_call is a method that sends nothing but the key. */
static int key_call(lua_State *L, const char *fname, int failure_is_false, int op, response *resp, int *n) {
	const char *key;
	size_t klen;
	handle *s = key_arg(L, fname, failure_is_false, &key, &klen, n);
	if (!s) return 0;
	begin(3, s, op);
	wb_key(&req, "key");
	wb_bytes(&req, key, klen);
	return call(L, resp, failure_is_false, n);
}

static int s_get(lua_State *L) {
	response resp;
	int n;
	if (!key_call(L, "get", 0, OP_GET, &resp, &n)) return n;
	return return_value(L, resp.val);
}

static int bool_op(lua_State *L, const char *fname, int op) {
	response resp;
	int n;
	if (!key_call(L, fname, 1, op, &resp, &n)) return n;
	lua_pushboolean(L, resp.ok);
	return 1;
}
static int s_has(lua_State *L) { return bool_op(L, "has", OP_HAS); }
static int s_delete(lua_State *L) { return bool_op(L, "delete", OP_DELETE); }

/* ttl_millis converts seconds to whole milliseconds; any positive ttl lasts at least 1 ms. */
static const char *ttl_millis(double ttl, int64_t *ms) {
	if (isnan(ttl) || isinf(ttl)) return "ttl must be a finite number";
	if (ttl < 0) return "ttl must not be negative";
	if (ttl > MAX_TTL_SECONDS) return "ttl must be at most 3153600000 seconds (100 years)";
	*ms = (int64_t)round(ttl * 1000);
	if (ttl > 0 && *ms == 0) *ms = 1;
	return NULL;
}

/* put_value encodes argument 3 into the request as "val": present, storable, and no
 * larger than the store takes (else than a request can carry). */
static const char *put_value(lua_State *L, handle *s) {
	if (lua_isnoneornil(L, 3)) return "value is required";
	wb_key(&req, "val");
	if (!value_encode(L, 3, &req, s->maxval ? s->maxval : MAX_REQUEST_BYTES, errtext, sizeof errtext)) return errtext;
	return NULL;
}

static int s_set(lua_State *L) {
	const char *key, *bad;
	size_t klen;
	int n;
	int64_t ttl = 0;
	response resp;
	handle *s = key_arg(L, "set", 1, &key, &klen, &n);
	if (!s) return n;
	if (!lua_isnoneornil(L, 4)) {
		const char *bad = ttl_millis(check_number(L, 4, 3, "set"), &ttl);
		if (bad) return fail_msg(L, 1, "Invalid", bad);
	}
	if (lua_isnoneornil(L, 3)) return fail_msg(L, 1, "Invalid", "value is required");
	begin(ttl ? 5 : 4, s, OP_SET);
	wb_key(&req, "key");
	wb_bytes(&req, key, klen);
	if (ttl) { wb_key(&req, "ttl"); wb_uint(&req, (uint64_t)ttl); }
	if ((bad = put_value(L, s))) return fail_msg(L, 1, "Invalid", bad);
	if (!call(L, &resp, 1, &n)) return n;
	lua_pushboolean(L, 1);
	return 1;
}

static int s_release(lua_State *L) {
	handle *s = check_handle(L, "release");
	if (!s->released) {
		response resp;
		abierr e;
		s->released = 1;
		wb_reset(&req);
		wb_head(&req, 5, 2);
		wb_key(&req, "h");
		wb_uint(&req, s->h);
		wb_key(&req, "op");
		wb_uint(&req, OP_RELEASE);
		host_call(&req, &resp, &e);
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* opt_table returns the index of the options table at idx, or 0 when it is absent. */
static int opt_table(lua_State *L, int idx, int argn, const char *fname) {
	if (lua_isnoneornil(L, idx)) return 0;
	if (!lua_istable(L, idx)) wasmkv_type_error(L, argn, fname, "table", idx);
	return idx;
}

static const char *opt_ttl(lua_State *L, int opts, const char *fname, int64_t *ms) {
	const char *bad;
	*ms = 0;
	if (!opts) return NULL;
	lua_getfield(L, opts, "ttl");
	if (lua_isnil(L, -1)) { lua_pop(L, 1); return NULL; }
	if (!lua_isnumber(L, -1)) luaL_error(L, "bad option 'ttl' to '%s' (number expected, got %s)", fname, luaL_typename(L, -1));
	bad = ttl_millis(lua_tonumber(L, -1), ms);
	lua_pop(L, 1);
	return bad;
}

/* push_entry pushes {key, value, version, ttl} from an entry map. */
static int push_entry(lua_State *L, span m) {
	span k = {0}, v = {0}, ver = {0}, x;
	uint64_t ttl;
	int has_ttl = 0;
	if (map_find(m, "key", &x)) span_text(x, &k);
	if (!map_find(m, "val", &v)) {
		fail_msg(L, 0, "Internal", "sdk: abi: malformed response: entry without a value");
		return 0;
	}
	if (map_find(m, "ver", &x)) span_text(x, &ver);
	if (map_find(m, "ttl", &x) && span_uint(x, &ttl)) has_ttl = 1;
	lua_createtable(L, 0, 4);
	if (!value_decode(L, v, errtext, sizeof errtext)) {
		lua_pop(L, 1);
		fail_msg(L, 0, "Internal", errtext);
		return 0;
	}
	lua_setfield(L, -2, "value");
	lua_pushlstring(L, (const char *)k.p, k.n);
	lua_setfield(L, -2, "key");
	lua_pushlstring(L, (const char *)ver.p, ver.n);
	lua_setfield(L, -2, "version");
	if (has_ttl) {
		lua_pushnumber(L, (double)ttl / 1000);
		lua_setfield(L, -2, "ttl");
	}
	return 1;
}

static int return_entry(lua_State *L, span m) {
	if (!push_entry(L, m)) return 2;
	return 1;
}

static int s_entry(lua_State *L) {
	response resp;
	int n;
	if (!key_call(L, "entry", 0, OP_ENTRY, &resp, &n)) return n;
	return return_entry(L, resp.entry);
}

static int s_put(lua_State *L) {
	const char *key, *bad, *ver = NULL;
	size_t klen, verlen = 0;
	int n, opts, absent = 0, fields = 4;
	int64_t ttl;
	response resp;
	handle *s = key_arg(L, "put", 0, &key, &klen, &n);
	if (!s) return n;
	opts = opt_table(L, 4, 3, "put");
	if (opts) {
		lua_getfield(L, opts, "only_if_absent");
		if (lua_type(L, -1) == LUA_TBOOLEAN) absent = lua_toboolean(L, -1);
		else if (!lua_isnil(L, -1)) luaL_error(L, "bad option 'only_if_absent' to 'put' (boolean expected, got %s)", luaL_typename(L, -1));
		lua_getfield(L, opts, "if_version");
		if (lua_type(L, -1) == LUA_TSTRING) ver = lua_tolstring(L, -1, &verlen);
		else if (!lua_isnil(L, -1)) luaL_error(L, "bad option 'if_version' to 'put' (string expected, got %s)", luaL_typename(L, -1));
		/* both stay on the stack, so ver stays valid */
	}
	if ((bad = opt_ttl(L, opts, "put", &ttl))) return fail_msg(L, 0, "Invalid", bad);
	if (absent && ver) return fail_msg(L, 0, "Invalid", "only_if_absent and if_version cannot be used together");
	if (lua_isnoneornil(L, 3)) return fail_msg(L, 0, "Invalid", "value is required");
	fields += (ttl != 0) + (ver != NULL) + absent;
	begin(fields, s, OP_PUT);
	wb_key(&req, "key");
	wb_bytes(&req, key, klen);
	if (ttl) { wb_key(&req, "ttl"); wb_uint(&req, (uint64_t)ttl); }
	if ((bad = put_value(L, s))) return fail_msg(L, 0, "Invalid", bad);
	if (ver) { wb_key(&req, "ifver"); wb_text(&req, ver, verlen); }
	if (absent) { wb_key(&req, "absent"); wb_bool(&req, 1); }
	if (!call(L, &resp, 0, &n)) return n;
	return return_entry(L, resp.entry);
}

static int s_incr(lua_State *L) {
	const char *key, *bad;
	size_t klen;
	int n;
	int64_t ttl;
	double delta = 1;
	response resp;
	handle *s = key_arg(L, "incr", 0, &key, &klen, &n);
	if (!s) return n;
	if (!lua_isnoneornil(L, 3)) delta = check_number(L, 3, 2, "incr");
	if ((bad = opt_ttl(L, opt_table(L, 4, 3, "incr"), "incr", &ttl))) return fail_msg(L, 0, "Invalid", bad);
	begin(ttl ? 5 : 4, s, OP_INCR);
	wb_key(&req, "key");
	wb_bytes(&req, key, klen);
	if (ttl) { wb_key(&req, "ttl"); wb_uint(&req, (uint64_t)ttl); }
	wb_key(&req, "delta");
	wb_float64(&req, delta);
	if (!call(L, &resp, 0, &n)) return n;
	return return_value(L, resp.val);
}

static int s_list(lua_State *L) {
	handle *s = check_handle(L, "list");
	const char *prefix = NULL, *after = NULL;
	size_t plen = 0, alen = 0;
	double limit = DEFAULT_LIST_LIMIT;
	int opts, n, fields = 3;
	response resp;
	span items;
	rdr r;
	unsigned major, ai;
	uint64_t count, i;
	if (s->released) return push_failure(L, 0, &err_released);
	opts = opt_table(L, 2, 1, "list");
	if (opts) {
		static const char *const names[] = {"prefix", "after"};
		int j;
		for (j = 0; j < 2; j++) {
			lua_getfield(L, opts, names[j]);
			if (lua_type(L, -1) == LUA_TSTRING) {
				if (j == 0) prefix = lua_tolstring(L, -1, &plen);
				else after = lua_tolstring(L, -1, &alen);
			} else if (!lua_isnil(L, -1))
				luaL_error(L, "bad option '%s' to 'list' (string expected, got %s)", names[j], luaL_typename(L, -1));
		}
		lua_getfield(L, opts, "limit");
		if (!lua_isnil(L, -1)) {
			if (!lua_isnumber(L, -1)) luaL_error(L, "bad option 'limit' to 'list' (number expected, got %s)", luaL_typename(L, -1));
			limit = lua_tonumber(L, -1);
			if (limit != trunc(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
				lua_pushnumber(L, limit);
				snprintf(errtext, sizeof errtext, "limit %s is out of range (an integer from 1 to %d)", lua_tostring(L, -1), MAX_LIST_LIMIT);
				return fail_msg(L, 0, "Invalid", errtext);
			}
		}
	}
	fields += (after != NULL && alen > 0) + (prefix != NULL && plen > 0);
	begin(fields, s, OP_LIST);
	if (after && alen) { wb_key(&req, "after"); wb_bytes(&req, after, alen); }
	wb_key(&req, "limit");
	wb_uint(&req, (uint64_t)limit);
	if (prefix && plen) { wb_key(&req, "prefix"); wb_bytes(&req, prefix, plen); }
	if (!call(L, &resp, 0, &n)) return n;
	if (!map_find(resp.page, "items", &items)) return fail_msg(L, 0, "Internal", "sdk: abi: malformed response: page without items");
	memset(&r, 0, sizeof r);
	r.p = items.p;
	r.n = items.n;
	if (!rd_head(&r, &major, &ai, &count) || major != 4) return fail_msg(L, 0, "Internal", "sdk: abi: malformed response: page items");
	lua_createtable(L, 0, 3);
	lua_createtable(L, (int)(count < 1024 ? count : 1024), 0);
	for (i = 0; i < count; i++) {
		size_t start = r.off;
		span it;
		if (!rd_skip(&r, 2)) return fail_msg(L, 0, "Internal", "sdk: abi: malformed response: page items");
		it.p = r.p + start;
		it.n = r.off - start;
		if (!push_entry(L, it)) return 2;
		lua_rawseti(L, -2, (int)i + 1);
	}
	lua_setfield(L, -2, "items");
	{
		span c = {0}, cv;
		int more = 0;
		if (map_find(resp.page, "cursor", &cv)) span_text(cv, &c);
		if (map_find(resp.page, "more", &cv)) span_bool(cv, &more);
		lua_pushlstring(L, (const char *)c.p, c.n);
		lua_setfield(L, -2, "cursor");
		lua_pushboolean(L, more);
		lua_setfield(L, -2, "has_more");
	}
	return 1;
}

static int s_info(lua_State *L) {
	handle *s = check_handle(L, "info");
	response resp;
	int n, j;
	static const char *const texts[] = {"id", "backend", "consistency"};
	static const char *const flags[] = {"durable", "list", "versioned", "conditional_put", "ttl"};
	if (s->released) return push_failure(L, 0, &err_released);
	begin(2, s, OP_INFO);
	if (!call(L, &resp, 0, &n)) return n;
	lua_createtable(L, 0, 8);
	for (j = 0; j < 3; j++) {
		span v, t = {0};
		if (map_find(resp.info, texts[j], &v)) span_text(v, &t);
		lua_pushlstring(L, (const char *)t.p, t.n);
		lua_setfield(L, -2, texts[j]);
	}
	for (j = 0; j < 5; j++) {
		span v;
		int b = 0;
		if (map_find(resp.info, flags[j], &v)) span_bool(v, &b);
		lua_pushboolean(L, b);
		lua_setfield(L, -2, flags[j]);
	}
	return 1;
}

static int s_tostring(lua_State *L) {
	handle *s = check_handle(L, "__tostring");
	lua_pushstring(L, s->released ? "store.Store{released}" : "store.Store{}");
	return 1;
}

/* wasmkv_store_metatable builds the handles' metatable, hidden by __metatable. */
void wasmkv_store_metatable(lua_State *L) {
	static const luaL_Reg methods[] = {
		{"get", s_get}, {"set", s_set}, {"has", s_has}, {"delete", s_delete},
		{"release", s_release}, {"entry", s_entry}, {"put", s_put}, {"incr", s_incr},
		{"list", s_list}, {"info", s_info}, {NULL, NULL}};
	wasmkv_hidden_metatable(L, STORE_TYPE, methods, s_tostring);
}

static void constants(lua_State *L, const char *const *names, int n) {
	int i;
	lua_createtable(L, 0, n);
	for (i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_setfield(L, -2, names[i]);
	}
}

/* require("store") */
int wasmkv_open_store(lua_State *L) {
	static const char *const backends[] = {"MEMORY", "REDIS", "SQL", "UNKNOWN"};
	static const char *const consistencies[] = {"LINEARIZABLE", "EVENTUAL", "LOCAL", "UNKNOWN"};
	lua_createtable(L, 0, 3);
	lua_pushcfunction(L, store_open);
	lua_setfield(L, -2, "get");
	constants(L, backends, 4);
	lua_setfield(L, -2, "backend");
	constants(L, consistencies, 4);
	lua_setfield(L, -2, "consistency");
	return 1;
}
