/* The wasmkv PUC Lua guest: shared declarations. The guest speaks the ABI of
 * docs/abi.md (wasmkv_v1 call/take, one CBOR map per message) and gives Lua scripts
 * the same store, errors and json modules as the gopher-lua guest (the Go files of guest/ in the repository). */
#ifndef WASMKV_H
#define WASMKV_H

#include <stddef.h>
#include <stdint.h>

#include "lua.h"
#include "lauxlib.h"

/* Operation codes (abi/message.go). */
enum {
	OP_TASK = 1, OP_FINISH, OP_OPEN, OP_RELEASE, OP_GET, OP_SET, OP_HAS, OP_DELETE,
	OP_ENTRY, OP_PUT, OP_INCR, OP_LIST, OP_INFO
};

/* Limits of package abi and of the gopher-lua guest's codec (guest/luacbor). */
#define MAX_VALUE_DEPTH 32           /* abi.MaxValueDepth: encoding a Lua value */
#define MAX_MESSAGE_DEPTH 40         /* abi.MaxMessageDepth: decoding */
#define MAX_ELEMENTS (1u << 20)      /* abi.MaxElements */
#define MAX_PADDING (1 << 20)        /* luacbor: holes a sparse integer-keyed table may add */
#define MAX_TTL_SECONDS 3153600000.0 /* 100 years */
#define MAX_LIST_LIMIT 1000
#define DEFAULT_LIST_LIMIT 100

/* A byte span inside a message. */
typedef struct { const uint8_t *p; size_t n; } span;

/* wbuf is a growable CBOR output buffer. oom is set when it could not grow. */
typedef struct { uint8_t *p; size_t n, cap; int oom; } wbuf;

void wb_reset(wbuf *b);
void wb_raw(wbuf *b, const void *p, size_t n);
void wb_head(wbuf *b, unsigned major, uint64_t n);
void wb_text(wbuf *b, const char *s, size_t n);
void wb_bytes(wbuf *b, const char *s, size_t n);
void wb_key(wbuf *b, const char *k);       /* a text-string map key */
void wb_uint(wbuf *b, uint64_t n);
void wb_float64(wbuf *b, double f);
void wb_bool(wbuf *b, int v);

/* rdr reads one CBOR item at a time; err is set at the first failure. */
typedef struct {
	const uint8_t *p;
	size_t n, off;
	const char *err;
	size_t erroff;
	char errbuf[96];
} rdr;

int rd_head(rdr *r, unsigned *major, unsigned *ai, uint64_t *arg);
int rd_skip(rdr *r, int depth);             /* checks well-formedness and limits */
int rd_fail(rdr *r, size_t off, const char *msg);

/* An error as it crosses the ABI (abi.Error). */
typedef struct {
	const char *kind;     /* one of kinds[] (static) */
	const char *msg;      /* not owned */
	size_t msglen;
	int retry;
} abierr;

extern const char *const kind_values[];  /* "Invalid", ... (abi.KindNames order) */
extern const char *const kind_names[];   /* "INVALID", ... */
#define NKINDS 11
const char *parse_kind(const char *s, size_t n); /* NULL when unknown */
int kind_retryable(const char *kind);

/* The decoded response envelope. Spans point into the response buffer, which the next
 * call reuses. */
typedef struct {
	int has_err;
	span err_kind, err_msg;
	int err_retry;
	int ok;
	uint64_t h;
	int has_val;
	uint64_t maxval; /* open with limits: the store's max_value_bytes */
	span val, task, entry, page, info;
} response;

/* host_call sends the request in b and decodes the response into resp. On failure it
 * fills e (with a message in errtext) and returns 0. */
int host_call(wbuf *b, response *resp, abierr *e);
extern char host_errtext[256];

/* map_find finds a text key in the CBOR map m, returning its value's span. */
int map_find(span m, const char *key, span *out);
int span_text(span v, span *out);   /* a text or byte string's bytes */
int span_uint(span v, uint64_t *out);
int span_bool(span v, int *out);

/* Lua side. */
void wasmkv_open_errors(lua_State *L);   /* the errors module and its metatable */
int wasmkv_push_error(lua_State *L, const char *kind, const char *msg, size_t msglen, int retry);
int wasmkv_push_abierr(lua_State *L, const abierr *e);
int wasmkv_to_abierr(lua_State *L, int idx, abierr *e); /* 1 if an error object */
int wasmkv_open_errors_module(lua_State *L);
int wasmkv_arg_error(lua_State *L, int n, const char *fname, const char *msg);
int wasmkv_type_error(lua_State *L, int n, const char *fname, const char *want, int idx);
int wasmkv_open_store(lua_State *L);

/* appendf appends printf-formatted text to the NUL-terminated dst, within cap. */
void appendf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void wasmkv_store_metatable(lua_State *L);
/* wasmkv_hidden_metatable registers the metatable name: methods as __index, tostring as
 * __tostring, and a false __metatable so that scripts can neither read nor replace it. */
void wasmkv_hidden_metatable(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction tostring);

/* Values (luacbor's rules). encode appends the value to b and returns 1; on failure it
 * writes the message ("value.a[2]: cyclic table") into msg and returns 0. A value that
 * would take more than limit bytes (0: no limit) fails as soon as it passes it. */
int value_encode(lua_State *L, int idx, wbuf *b, size_t limit, char *msg, size_t msgcap);
#define MAX_REQUEST_BYTES (16u << 20) /* abi.MaxRequestBytes */
/* decode pushes the value, or returns 0 with a message in msg. */
int value_decode(lua_State *L, span v, char *msg, size_t msgcap);
/* Helpers of value.c that json.c shares: the length of the valid UTF-8 sequence at s
 * (n >= 1 bytes), or 0; a CBOR float's value from its head (ai 25, 26 or 27). */
int utf8_seq(const unsigned char *s, size_t n);
int utf8_printable(const unsigned char *s, int len);
double float_arg(unsigned ai, uint64_t arg);
int wasmkv_open_json(lua_State *L);
/* format_number writes a finite f as Go's strconv.FormatFloat(f, 'g', -1, 64) (json.c). */
void format_number(char *out, size_t cap, double f);

#endif
