/* The errors module and error objects, as the gopher-lua guest has them
 * (guest/luaerrors.go): errors.new, errors.is, the kind constants, and error objects
 * with kind(), message(), retryable() and tostring "Kind: message". */
#include <stdio.h>
#include <string.h>

#include "wasmkv.h"

#define ERROR_TYPE "errors.Error"
#define ERRORS_KEY "wasmkv.errors"

typedef struct {
	const char *kind; /* static */
	int retry;
	size_t len;
	char msg[1];
} errobj;

int wasmkv_push_error(lua_State *L, const char *kind, const char *msg, size_t len, int retry) {
	errobj *e = lua_newuserdata(L, sizeof(errobj) + len);
	e->kind = kind;
	e->retry = retry;
	e->len = len;
	if (len) memcpy(e->msg, msg, len);
	e->msg[len] = 0;
	luaL_getmetatable(L, ERROR_TYPE);
	lua_setmetatable(L, -2);
	return 1;
}

int wasmkv_push_abierr(lua_State *L, const abierr *e) {
	return wasmkv_push_error(L, e->kind, e->msg, e->msglen, e->retry);
}

static errobj *to_errobj(lua_State *L, int idx) {
	errobj *e = lua_touserdata(L, idx);
	int same;
	if (!e || !lua_getmetatable(L, idx)) return NULL;
	luaL_getmetatable(L, ERROR_TYPE);
	same = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	return same ? e : NULL;
}

int wasmkv_to_abierr(lua_State *L, int idx, abierr *out) {
	errobj *e = to_errobj(L, idx);
	if (!e) return 0;
	out->kind = e->kind;
	out->msg = e->msg;
	out->msglen = e->len;
	out->retry = e->retry;
	return 1;
}

/* arg_error is luaL_argerror with the function name given, as the gopher-lua guest
 * words it: "<pos> bad argument #n to 'fname' (msg)". */
int wasmkv_arg_error(lua_State *L, int n, const char *fname, const char *msg) {
	luaL_where(L, 1);
	lua_pushfstring(L, "bad argument #%d to '%s' (%s)", n, fname, msg);
	lua_concat(L, 2);
	return lua_error(L);
}

int wasmkv_type_error(lua_State *L, int n, const char *fname, const char *want, int idx) {
	const char *msg = lua_pushfstring(L, "%s expected, got %s", want, luaL_typename(L, idx));
	return wasmkv_arg_error(L, n, fname, msg);
}

static errobj *check_error(lua_State *L) {
	errobj *e = to_errobj(L, 1);
	if (!e) wasmkv_type_error(L, 1, "error method", "error object", 1);
	return e;
}

static int err_kind(lua_State *L) { lua_pushstring(L, check_error(L)->kind); return 1; }
static int err_message(lua_State *L) { errobj *e = check_error(L); lua_pushlstring(L, e->msg, e->len); return 1; }
static int err_retryable(lua_State *L) { lua_pushboolean(L, check_error(L)->retry); return 1; }
static int err_tostring(lua_State *L) {
	errobj *e = check_error(L);
	lua_pushfstring(L, "%s: ", e->kind);
	lua_pushlstring(L, e->msg, e->len);
	lua_concat(L, 2);
	return 1;
}

/* go_quote writes s as Go's %q would for printable ASCII, which is what kinds are. */
static void push_quoted(lua_State *L, const char *s, size_t n) {
	luaL_Buffer b;
	size_t i;
	luaL_buffinit(L, &b);
	luaL_addchar(&b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') { luaL_addchar(&b, '\\'); luaL_addchar(&b, c); }
		else if (c == '\n') luaL_addstring(&b, "\\n");
		else if (c == '\t') luaL_addstring(&b, "\\t");
		else if (c < 0x20 || c >= 0x7f) { char x[5]; snprintf(x, sizeof x, "\\x%02x", c); luaL_addstring(&b, x); }
		else luaL_addchar(&b, c);
	}
	luaL_addchar(&b, '"');
	luaL_pushresult(&b);
}

static const char *check_kind(lua_State *L, int n, int idx) {
	size_t len;
	const char *s, *k;
	if (lua_type(L, idx) != LUA_TSTRING) wasmkv_type_error(L, n, "new", "error kind", idx);
	s = lua_tolstring(L, idx, &len);
	k = parse_kind(s, len);
	if (!k) {
		push_quoted(L, s, len);
		wasmkv_arg_error(L, n, "new", lua_pushfstring(L, "unknown error kind %s", lua_tostring(L, -1)));
	}
	return k;
}

/* errors.new(kind, message), errors.new({kind=, message=, retryable=}), errors.new(message). */
static int errors_new(lua_State *L) {
	const char *kind = "Unknown", *msg = "";
	size_t len = 0;
	int retry;
	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_getfield(L, 1, "kind");
		if (!lua_isnil(L, -1)) kind = check_kind(L, 1, lua_gettop(L));
		lua_getfield(L, 1, "message");
		if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) msg = lua_tolstring(L, -1, &len);
		retry = kind_retryable(kind);
		lua_getfield(L, 1, "retryable");
		if (lua_type(L, -1) == LUA_TBOOLEAN) retry = lua_toboolean(L, -1);
		return wasmkv_push_error(L, kind, msg, len, retry);
	}
	if (lua_gettop(L) >= 2) {
		kind = check_kind(L, 1, 1);
		msg = luaL_checklstring(L, 2, &len);
	} else {
		msg = luaL_checklstring(L, 1, &len);
	}
	return wasmkv_push_error(L, kind, msg, len, kind_retryable(kind));
}

static int errors_is(lua_State *L) {
	size_t len;
	const char *s = luaL_checklstring(L, 2, &len);
	const char *k = parse_kind(s, len);
	errobj *e = to_errobj(L, 1);
	lua_pushboolean(L, e && k && e->kind == k);
	return 1;
}

void wasmkv_hidden_metatable(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction tostring) {
	luaL_newmetatable(L, name);
	lua_newtable(L);
	luaL_register(L, NULL, methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
}

/* wasmkv_open_errors builds the error metatable (hidden by __metatable) and the module,
 * which is both the global errors and what require("errors") returns. */
void wasmkv_open_errors(lua_State *L) {
	static const luaL_Reg methods[] = {
		{"kind", err_kind}, {"message", err_message}, {"retryable", err_retryable}, {NULL, NULL}};
	static const luaL_Reg funcs[] = {{"new", errors_new}, {"is", errors_is}, {NULL, NULL}};
	int i;
	wasmkv_hidden_metatable(L, ERROR_TYPE, methods, err_tostring);
	lua_createtable(L, 0, NKINDS + 2);
	luaL_register(L, NULL, funcs);
	for (i = 0; i < NKINDS; i++) {
		lua_pushstring(L, kind_values[i]);
		lua_setfield(L, -2, kind_names[i]);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, ERRORS_KEY);
	lua_setglobal(L, "errors");
}

int wasmkv_open_errors_module(lua_State *L) {
	lua_getfield(L, LUA_REGISTRYINDEX, ERRORS_KEY);
	return 1;
}
