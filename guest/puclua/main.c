/* The wasmkv PUC Lua guest: Lua 5.1.5 built for wasm32-wasi as a reactor. The host
 * calls run once per run; run fetches the task (op 1), runs the script with the same
 * library surface as the gopher-lua guest, and reports the outcome (op 2).
 *
 * One Lua state serves every run of an instance: building a new one cost ten times a
 * tiny run. Runs are isolated by a fresh environment per run (reset): new globals, new
 * copies of every library table, a new string metatable, new package tables and a new
 * errors module, so that nothing a script can reach survives it. What it cannot reach
 * stays: the pristine tables (in the registry, behind require's fixed environment), the
 * hidden metatables of store handles and error objects, and compiled chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lualib.h"
#include "wasmkv.h"

static wbuf msg;   /* task and finish requests */

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud; (void)osize;
	if (nsize == 0) { free(ptr); return NULL; }
	return realloc(ptr, nsize);
}

static int at_panic(lua_State *L) {
	(void)L;
	__builtin_trap(); /* an error outside any protected call: a bug of ours */
}

/* Globals removed from the base library: each reaches the file system or loads
 * modules by path; newproxy makes userdata with __gc, which could run a script's code
 * during a later run's collection. */
static const char *const unsafe_globals[] = {"dofile", "loadfile", "module", "newproxy", NULL};

/* Registry keys. */
#define PRISTINE_KEY "wasmkv.pristine" /* the globals as setup left them */
#define ERRORS_KEY "wasmkv.errors"     /* this run's errors module (errors.c) */
#define CHUNKS_KEY "wasmkv.chunks"     /* compiled chunks by name and source */
#define MAX_CHUNKS 64

/* base_kb is the state's size after setup; a run that starts with more than GARBAGE_KB
 * above it first collects what the previous run left. */
static int base_kb;
#define GARBAGE_KB 1024

static int setup(lua_State *L) {
	static const luaL_Reg libs[] = {
		{"", luaopen_base}, {LUA_LOADLIBNAME, luaopen_package}, {LUA_TABLIBNAME, luaopen_table},
		{LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math}, {NULL, NULL}};
	const luaL_Reg *lib;
	int i;
	for (lib = libs; lib->func; lib++) {
		lua_pushcfunction(L, lib->func);
		lua_pushstring(L, lib->name);
		lua_call(L, 1, 0);
	}
	for (i = 0; unsafe_globals[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, unsafe_globals[i]);
	}
	/* string.dump would hand out bytecode, which load refuses anyway */
	lua_getglobal(L, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);

	/* require finds preloaded modules and nothing else: no path search, no C loaders */
	lua_getglobal(L, LUA_LOADLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "loadlib");
	lua_pushliteral(L, "");
	lua_setfield(L, -2, "path");
	lua_pushliteral(L, "");
	lua_setfield(L, -2, "cpath");
	lua_getfield(L, -1, "loaders");
	for (i = (int)lua_objlen(L, -1); i > 1; i--) {
		lua_pushnil(L);
		lua_rawseti(L, -2, i);
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "preload");
	lua_pushcfunction(L, wasmkv_open_store);
	lua_setfield(L, -2, "store");
	lua_pushcfunction(L, wasmkv_open_errors_module);
	lua_setfield(L, -2, "errors");
	lua_pop(L, 2);

	wasmkv_open_errors(L);
	wasmkv_store_metatable(L);
	lua_pushvalue(L, LUA_GLOBALSINDEX);
	lua_setfield(L, LUA_REGISTRYINDEX, PRISTINE_KEY);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, CHUNKS_KEY);
	return 0;
}

/* copy pushes a shallow copy of the table at idx. */
static void copy(lua_State *L, int idx) {
	lua_newtable(L);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
}

/* copy_field sets dst[name] to a copy of src[name]. */
static void copy_field(lua_State *L, int src, int dst, const char *name) {
	lua_getfield(L, src, name);
	copy(L, lua_gettop(L));
	lua_setfield(L, dst, name);
	lua_pop(L, 1);
}

/* The global tables each run gets its own copy of. */
static const char *const libraries[] = {
	LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME, LUA_COLIBNAME, LUA_LOADLIBNAME, "errors", NULL};

/* reset gives the run a fresh environment made from the pristine one. */
static int reset(lua_State *L) {
	int P, G, pkg, ppkg, loaded, i;
	lua_settop(L, 0);
	lua_getfield(L, LUA_REGISTRYINDEX, PRISTINE_KEY);
	P = lua_gettop(L);
	copy(L, P);
	G = lua_gettop(L);
	for (i = 0; libraries[i]; i++) copy_field(L, P, G, libraries[i]);
	lua_pushvalue(L, G);
	lua_setfield(L, G, "_G");
	/* package: its own loaders and preload (require itself reads the pristine ones,
	 * through its environment), and package.loaded is this run's registry._LOADED */
	lua_getfield(L, G, LUA_LOADLIBNAME);
	pkg = lua_gettop(L);
	lua_getfield(L, P, LUA_LOADLIBNAME);
	ppkg = lua_gettop(L);
	copy_field(L, ppkg, pkg, "loaders");
	copy_field(L, ppkg, pkg, "preload");
	lua_newtable(L);
	loaded = lua_gettop(L);
	lua_pushvalue(L, G);
	lua_setfield(L, loaded, "_G");
	for (i = 0; libraries[i + 1]; i++) { /* not errors: require finds it in preload */
		lua_getfield(L, G, libraries[i]);
		lua_setfield(L, loaded, libraries[i]);
	}
	lua_pushvalue(L, loaded);
	lua_setfield(L, pkg, "loaded");
	lua_setfield(L, LUA_REGISTRYINDEX, "_LOADED");
	lua_getfield(L, G, "errors");
	lua_setfield(L, LUA_REGISTRYINDEX, ERRORS_KEY);
	/* strings' methods come from this run's string table */
	lua_pushliteral(L, "");
	lua_createtable(L, 0, 1);
	lua_getfield(L, G, LUA_STRLIBNAME);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_pop(L, 1);
	lua_pushvalue(L, G);
	lua_replace(L, LUA_GLOBALSINDEX);
	lua_settop(L, 0);
	/* a script may have stopped or retuned the collector */
	lua_gc(L, LUA_GCRESTART, 0);
	lua_gc(L, LUA_GCSETPAUSE, LUAI_GCPAUSE);
	lua_gc(L, LUA_GCSETSTEPMUL, LUAI_GCMUL);
	srand(1); /* math.random starts where it would in a new state */
	return 0;
}

/* load pushes the compiled chunk, from the cache when this instance compiled the same
 * name and source before, with this run's globals as its environment. It returns
 * luaL_loadbuffer's status. */
static int load(lua_State *L, span name, span src) {
	int status;
	lua_getfield(L, LUA_REGISTRYINDEX, CHUNKS_KEY);
	lua_pushlstring(L, (const char *)name.p, name.n);
	lua_pushliteral(L, "\0");
	lua_pushlstring(L, (const char *)src.p, src.n);
	lua_concat(L, 3);
	lua_pushvalue(L, -1);
	lua_rawget(L, -3);
	if (lua_isfunction(L, -1)) {
		lua_replace(L, -3);
		lua_pop(L, 1);
	} else {
		lua_pop(L, 1);
		lua_pushliteral(L, "@");
		lua_pushlstring(L, (const char *)name.p, name.n);
		lua_concat(L, 2);
		status = luaL_loadbuffer(L, (const char *)src.p, src.n, lua_tostring(L, -1));
		lua_remove(L, -2);
		if (status != 0) {
			lua_replace(L, -3);
			lua_pop(L, 1);
			return status;
		}
		/* chunks, key, fn: a full cache starts over */
		{
			int n = 0;
			lua_pushnil(L);
			while (lua_next(L, -4)) { lua_pop(L, 1); n++; }
			if (n >= MAX_CHUNKS) {
				lua_newtable(L);
				lua_pushvalue(L, -1);
				lua_setfield(L, LUA_REGISTRYINDEX, CHUNKS_KEY);
				lua_replace(L, -4);
			}
		}
		lua_pushvalue(L, -2);
		lua_pushvalue(L, -2);
		lua_rawset(L, -5);
		lua_replace(L, -3);
		lua_pop(L, 1);
	}
	lua_pushvalue(L, LUA_GLOBALSINDEX);
	lua_setfenv(L, -2);
	return 0;
}

/* result is the script's first return value, encoded, for a task that asked for it
 * ("res"; see docs/abi.md, "Run protocol"); has_result says whether finish sends it. A
 * returned nil, err sends null; a raised error sends none. */
static wbuf result;
static int has_result;

/* finish reports the outcome; e is NULL on success. */
static void finish(const abierr *e) {
	response resp;
	abierr ignored;
	fflush(stdout);
	wb_reset(&msg);
	wb_head(&msg, 5, (e ? 2 : 1) + (has_result ? 1 : 0));
	wb_key(&msg, "op");
	wb_uint(&msg, OP_FINISH);
	if (e) {
		wb_key(&msg, "err");
		wb_head(&msg, 5, e->retry ? 3 : 2);
		wb_key(&msg, "msg");
		wb_text(&msg, e->msg, e->msglen);
		wb_key(&msg, "kind");
		wb_key(&msg, e->kind);
		if (e->retry) { wb_key(&msg, "retry"); wb_bool(&msg, 1); }
	}
	if (has_result) {
		wb_key(&msg, "val");
		wb_raw(&msg, result.p, result.n);
	}
	has_result = 0;
	host_call(&msg, &resp, &ignored);
}

static void finish_kind(const char *kind, const char *text) {
	abierr e = {kind, text, strlen(text), kind_retryable(kind)};
	finish(&e);
}

/* out_of_memory ends a run that ran out of memory outside any pcall the way the
 * gopher-lua guest's does: the host sees the marker on stderr and a trap, reports
 * "memory limit exceeded", and discards the instance. */
static void out_of_memory(void) {
	fflush(stdout);
	fputs("wasmkv guest: out of memory\n", stderr);
	__builtin_trap();
}

/* to_text is tostring(v) for the value on top, run protected: a __tostring that raises
 * or returns a non-string must not escape the run. */
static int to_text(lua_State *L) {
	if (luaL_callmeta(L, 1, "__tostring")) {
		if (!lua_isstring(L, -1)) return luaL_error(L, "'__tostring' must return a string");
		return 1;
	}
	switch (lua_type(L, 1)) {
	case LUA_TSTRING: case LUA_TNUMBER: lua_pushvalue(L, 1); lua_tostring(L, -1); break;
	case LUA_TNIL: lua_pushliteral(L, "nil"); break;
	case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, 1) ? "true" : "false"); break;
	default: lua_pushfstring(L, "%s: %p", luaL_typename(L, 1), lua_topointer(L, 1)); break;
	}
	return 1;
}

/* report turns the value at idx, raised or returned as an error, into the outcome. */
static void report(lua_State *L, int idx) {
	abierr e;
	size_t len;
	const char *s;
	int status;
	if (wasmkv_to_abierr(L, idx, &e)) { finish(&e); return; }
	lua_pushcfunction(L, to_text);
	lua_pushvalue(L, idx);
	status = lua_pcall(L, 1, 1, 0);
	if (status == LUA_ERRMEM) out_of_memory();
	if (status != 0 || !lua_isstring(L, -1)) {
		lua_pop(L, 1);
		lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
	}
	s = lua_tolstring(L, -1, &len);
	e.kind = "Unknown";
	e.msg = s;
	e.msglen = len;
	e.retry = 0;
	finish(&e);
}

static int execute(lua_State *L, span task) {
	span name = {0}, src = {0}, args = {0}, v, in;
	int nargs = 0, status, top, want_result = 0;
	rdr r;
	has_result = 0;
	if (map_find(task, "res", &v) && v.n == 1 && v.p[0] == 0xf5) want_result = 1;
	if (map_find(task, "name", &v)) span_text(v, &name);
	if (map_find(task, "src", &v)) span_text(v, &src);
	status = load(L, name, src);
	if (status == LUA_ERRMEM) return LUA_ERRMEM;
	if (status != 0) {
		finish_kind("Invalid", lua_tostring(L, -1));
		return 0;
	}
	top = lua_gettop(L) - 1;
	/* The task's input, a value, is the script's first argument, before args. */
	if (map_find(task, "in", &in)) {
		char why[160];
		if (!lua_checkstack(L, 1) || !value_decode(L, in, why, sizeof why)) {
			char text[200];
			snprintf(text, sizeof text, "task input: %s", why);
			finish_kind("Invalid", text);
			return 0;
		}
		nargs++;
	}
	if (map_find(task, "args", &args)) {
		unsigned major, ai;
		uint64_t n, i;
		memset(&r, 0, sizeof r);
		r.p = args.p;
		r.n = args.n;
		if (rd_head(&r, &major, &ai, &n) && major == 4) {
			if (!lua_checkstack(L, (int)(n < 100000 ? n : 100000) + 1) || n >= 100000) {
				finish_kind("Invalid", "too many arguments");
				return 0;
			}
			for (i = 0; i < n; i++) {
				uint64_t len;
				if (!rd_head(&r, &major, &ai, &len) || (major != 2 && major != 3) || len > r.n - r.off) break;
				lua_pushlstring(L, (const char *)r.p + r.off, (size_t)len);
				r.off += (size_t)len;
				nargs++;
			}
		}
	}
	status = lua_pcall(L, nargs, LUA_MULTRET, 0);
	if (status == LUA_ERRMEM) return LUA_ERRMEM;
	if (status != 0) {
		report(L, lua_gettop(L));
		return 0;
	}
	/* A script that returns nil, err failed, as a store method does. */
	if (lua_gettop(L) - top >= 2 && lua_isnil(L, top + 1) && !lua_isnil(L, top + 2)) {
		if (want_result) {
			wb_reset(&result);
			wb_raw(&result, "\xf6", 1);
			has_result = !result.oom;
		}
		report(L, top + 2);
		return 0;
	}
	if (want_result) {
		char why[160];
		wb_reset(&result);
		if (lua_gettop(L) <= top) lua_pushnil(L);
		if (!value_encode(L, top + 1, &result, MAX_REQUEST_BYTES / 2, why, sizeof why)) {
			/* Reported as raised: the script broke the contract of its caller. */
			char text[200];
			snprintf(text, sizeof text, "return value: %s", why);
			finish_kind("Invalid", text);
			return 0;
		}
		if (result.oom) return LUA_ERRMEM;
		has_result = 1;
	}
	finish(NULL);
	return 0;
}

__attribute__((export_name("run")))
void run(void) {
	static lua_State *L;
	response resp;
	abierr e;
	if (!L) {
		if (!(L = lua_newstate(l_alloc, NULL))) out_of_memory();
		lua_atpanic(L, at_panic);
		if (lua_cpcall(L, setup, NULL) != 0) out_of_memory();
		lua_gc(L, LUA_GCCOLLECT, 0);
		base_kb = lua_gc(L, LUA_GCCOUNT, 0);
	}
	/* Collect what the last run left, unless it is little: it would count against this
	 * run's memory until the incremental collector reached it (Lua 5.1 does not collect
	 * when an allocation fails), and show in its collectgarbage("count"). */
	if (lua_gc(L, LUA_GCCOUNT, 0) > base_kb + GARBAGE_KB) lua_gc(L, LUA_GCCOLLECT, 0);
	if (lua_cpcall(L, reset, NULL) != 0) out_of_memory();
	wb_reset(&msg);
	wb_head(&msg, 5, 1);
	wb_key(&msg, "op");
	wb_uint(&msg, OP_TASK);
	if (!host_call(&msg, &resp, &e)) {
		finish(&e);
	} else if (execute(L, resp.task) == LUA_ERRMEM) {
		out_of_memory();
	}
	lua_settop(L, 0);
}
