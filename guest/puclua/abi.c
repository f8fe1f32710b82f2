/* The ABI of docs/abi.md: the host imports, a CBOR writer and reader, and the
 * response envelope. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmkv.h"

__attribute__((import_module("wasmkv_v1"), import_name("call")))
int64_t wasmkv_call(const uint8_t *req, uint32_t req_len, uint8_t *resp, uint32_t resp_cap);
__attribute__((import_module("wasmkv_v1"), import_name("take")))
int64_t wasmkv_take(uint8_t *resp, uint32_t resp_cap);

const char *const kind_values[NKINDS] = {
	"Invalid", "NotFound", "AlreadyExists", "PermissionDenied", "Unavailable",
	"Internal", "Canceled", "Conflict", "Timeout", "RateLimited", "Unknown",
};
const char *const kind_names[NKINDS] = {
	"INVALID", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "UNAVAILABLE",
	"INTERNAL", "CANCELED", "CONFLICT", "TIMEOUT", "RATE_LIMITED", "UNKNOWN",
};

static int eqfold(const char *a, size_t n, const char *b) {
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (y == 0) return 0;
		if (x >= 'A' && x <= 'Z') x += 32;
		if (y >= 'A' && y <= 'Z') y += 32;
		if (x != y) return 0;
	}
	return b[n] == 0;
}

/* parse_kind is abi.ParseKind: the constant name or the value, ignoring case. */
const char *parse_kind(const char *s, size_t n) {
	int i;
	for (i = 0; i < NKINDS; i++)
		if (eqfold(s, n, kind_names[i]) || eqfold(s, n, kind_values[i])) return kind_values[i];
	return NULL;
}

/* exact_kind is how the Go SDK reads a kind off the wire: exactly, else Unknown. */
static const char *exact_kind(span s) {
	int i;
	for (i = 0; i < NKINDS; i++)
		if (strlen(kind_values[i]) == s.n && memcmp(kind_values[i], s.p, s.n) == 0) return kind_values[i];
	return "Unknown";
}

int kind_retryable(const char *k) {
	return strcmp(k, "Unavailable") == 0 || strcmp(k, "Timeout") == 0 || strcmp(k, "RateLimited") == 0;
}

/* ---- writer ---- */

void wb_reset(wbuf *b) { b->n = 0; b->oom = 0; }

static int wb_grow(wbuf *b, size_t more) {
	size_t cap;
	uint8_t *p;
	if (b->oom) return 0;
	if (b->n + more <= b->cap) return 1;
	cap = b->cap ? b->cap : 256;
	while (cap < b->n + more) cap *= 2;
	p = realloc(b->p, cap);
	if (!p) { b->oom = 1; return 0; }
	b->p = p;
	b->cap = cap;
	return 1;
}

void wb_raw(wbuf *b, const void *p, size_t n) {
	if (!wb_grow(b, n)) return;
	if (n) memcpy(b->p + b->n, p, n);
	b->n += n;
}

void wb_head(wbuf *b, unsigned major, uint64_t n) {
	uint8_t h[9];
	size_t len;
	int i;
	major <<= 5;
	if (n < 24) { h[0] = (uint8_t)(major | n); len = 1; }
	else if (n <= 0xff) { h[0] = major | 24; h[1] = (uint8_t)n; len = 2; }
	else if (n <= 0xffff) { h[0] = major | 25; len = 3; }
	else if (n <= 0xffffffffu) { h[0] = major | 26; len = 5; }
	else { h[0] = major | 27; len = 9; }
	if (len > 2)
		for (i = 1; i < (int)len; i++) h[i] = (uint8_t)(n >> (8 * (len - 1 - i)));
	wb_raw(b, h, len);
}

void wb_text(wbuf *b, const char *s, size_t n) { wb_head(b, 3, n); wb_raw(b, s, n); }
void wb_bytes(wbuf *b, const char *s, size_t n) { wb_head(b, 2, n); wb_raw(b, s, n); }
void wb_key(wbuf *b, const char *k) { wb_text(b, k, strlen(k)); }
void wb_uint(wbuf *b, uint64_t n) { wb_head(b, 0, n); }
void wb_bool(wbuf *b, int v) { uint8_t c = v ? 0xf5 : 0xf4; wb_raw(b, &c, 1); }

void wb_float64(wbuf *b, double f) {
	uint8_t h[9];
	uint64_t u;
	int i;
	memcpy(&u, &f, 8);
	h[0] = 0xfb;
	for (i = 0; i < 8; i++) h[1 + i] = (uint8_t)(u >> (56 - 8 * i));
	wb_raw(b, h, 9);
}

/* ---- reader ---- */

int rd_fail(rdr *r, size_t off, const char *msg) {
	if (!r->err) {
		r->err = msg;
		r->erroff = off;
	}
	return 0;
}

int rd_head(rdr *r, unsigned *major, unsigned *ai, uint64_t *arg) {
	size_t start = r->off, size, i;
	uint8_t ib;
	if (start >= r->n) return rd_fail(r, start, "unexpected end of input");
	ib = r->p[start];
	*major = ib >> 5;
	*ai = ib & 0x1f;
	r->off++;
	if (*ai < 24) { *arg = *ai; return 1; }
	switch (*ai) {
	case 24: size = 1; break;
	case 25: size = 2; break;
	case 26: size = 4; break;
	case 27: size = 8; break;
	case 31:
		if (*major == 7) return rd_fail(r, start, "unexpected break code");
		return rd_fail(r, start, "indefinite-length items are not supported");
	default: return rd_fail(r, start, "reserved additional information");
	}
	if (r->n - r->off < size) return rd_fail(r, start, "unexpected end of input");
	*arg = 0;
	for (i = 0; i < size; i++) *arg = (*arg << 8) | r->p[r->off + i];
	r->off += size;
	return 1;
}

/* rd_skip walks one item, checking what abi.DecMode checks. */
int rd_skip(rdr *r, int depth) {
	unsigned major, ai;
	uint64_t arg, i;
	size_t start = r->off;
	if (!rd_head(r, &major, &ai, &arg)) return 0;
	switch (major) {
	case 0: case 1: return 1;
	case 2: case 3:
		if (arg > r->n - r->off) return rd_fail(r, start, "string longer than the input");
		r->off += (size_t)arg;
		return 1;
	case 4: case 5:
		if (depth + 1 > MAX_MESSAGE_DEPTH) return rd_fail(r, start, "nesting too deep");
		if (arg > MAX_ELEMENTS) return rd_fail(r, start, "too many elements");
		if (major == 5) arg *= 2;
		if (arg > r->n - r->off) return rd_fail(r, start, "more elements than the input holds");
		for (i = 0; i < arg; i++)
			if (!rd_skip(r, depth + 1)) return 0;
		return 1;
	case 6: return rd_fail(r, start, "tags are not supported");
	default: return 1; /* simple values and floats */
	}
}

static int span_rdr(span m, rdr *r) {
	memset(r, 0, sizeof *r);
	r->p = m.p;
	r->n = m.n;
	return 1;
}

int map_find(span m, const char *key, span *out) {
	rdr r;
	unsigned major, ai;
	uint64_t n, i, kl;
	size_t klen = strlen(key), vstart;
	span_rdr(m, &r);
	if (!rd_head(&r, &major, &ai, &n) || major != 5) return 0;
	for (i = 0; i < n; i++) {
		const uint8_t *k;
		if (!rd_head(&r, &major, &ai, &kl)) return 0;
		if (major != 3 && major != 2) return 0; /* the host sends text keys only */
		if (kl > r.n - r.off) return 0;
		k = r.p + r.off;
		r.off += (size_t)kl;
		vstart = r.off;
		if (!rd_skip(&r, 1)) return 0;
		if (kl == klen && memcmp(k, key, klen) == 0) {
			out->p = r.p + vstart;
			out->n = r.off - vstart;
			return 1;
		}
	}
	return 0;
}

int span_text(span v, span *out) {
	rdr r;
	unsigned major, ai;
	uint64_t n;
	span_rdr(v, &r);
	if (!rd_head(&r, &major, &ai, &n) || (major != 2 && major != 3) || n > r.n - r.off) return 0;
	out->p = r.p + r.off;
	out->n = (size_t)n;
	return 1;
}

int span_uint(span v, uint64_t *out) {
	rdr r;
	unsigned major, ai;
	span_rdr(v, &r);
	return rd_head(&r, &major, &ai, out) && major == 0;
}

int span_bool(span v, int *out) {
	if (v.n == 1 && (v.p[0] == 0xf4 || v.p[0] == 0xf5)) { *out = v.p[0] == 0xf5; return 1; }
	return 0;
}

/* ---- the exchange ---- */

static uint8_t resp_static[64 << 10];
static uint8_t *resp_buf = resp_static;
static size_t resp_cap = sizeof resp_static;
char host_errtext[256];

static int fail_internal(abierr *e, const char *fmt, const char *a) {
	snprintf(host_errtext, sizeof host_errtext, fmt, a);
	e->kind = "Internal";
	e->msg = host_errtext;
	e->msglen = strlen(host_errtext);
	e->retry = 0;
	return 0;
}

static const char *status_name(int64_t s) {
	switch (s) {
	case -1: return "bad pointer";
	case -2: return "request too large";
	case -3: return "no pending response";
	case -4: return "response buffer overlaps request";
	case -5: return "internal host error";
	}
	return "unknown status";
}

int host_call(wbuf *b, response *resp, abierr *e) {
	int64_t n;
	rdr r;
	unsigned major, ai;
	uint64_t count, i, kl;
	if (b->oom) return fail_internal(e, "%s", "not enough memory for the request");
	n = wasmkv_call(b->p, (uint32_t)b->n, resp_buf, (uint32_t)resp_cap);
	if (n > (int64_t)resp_cap) {
		uint8_t *p = malloc((size_t)n);
		if (!p) return fail_internal(e, "%s", "not enough memory for the response");
		if (resp_buf != resp_static) free(resp_buf);
		resp_buf = p;
		resp_cap = (size_t)n;
		n = wasmkv_take(resp_buf, (uint32_t)resp_cap);
	}
	if (n < 0) return fail_internal(e, "sdk: host call failed: %s", status_name(n));
	memset(resp, 0, sizeof *resp);
	memset(&r, 0, sizeof r);
	r.p = resp_buf;
	r.n = (size_t)n;
	if (!rd_head(&r, &major, &ai, &count) || major != 5) {
		return fail_internal(e, "sdk: abi: malformed response: %s", r.err ? r.err : "not a map");
	}
	for (i = 0; i < count; i++) {
		const uint8_t *k;
		size_t vstart;
		span v;
		if (!rd_head(&r, &major, &ai, &kl) || major != 3 || kl > r.n - r.off)
			return fail_internal(e, "sdk: abi: malformed response: %s", r.err ? r.err : "bad key");
		k = r.p + r.off;
		r.off += (size_t)kl;
		vstart = r.off;
		if (!rd_skip(&r, 1)) return fail_internal(e, "sdk: abi: malformed response: %s", r.err);
		v.p = r.p + vstart;
		v.n = r.off - vstart;
#define KEY(s) (kl == sizeof(s) - 1 && memcmp(k, s, kl) == 0)
		if (KEY("err")) {
			span x;
			resp->has_err = 1;
			if (map_find(v, "kind", &x)) span_text(x, &resp->err_kind);
			if (map_find(v, "msg", &x)) span_text(x, &resp->err_msg);
			if (map_find(v, "retry", &x)) span_bool(x, &resp->err_retry);
		} else if (KEY("ok")) span_bool(v, &resp->ok);
		else if (KEY("h")) span_uint(v, &resp->h);
		else if (KEY("maxval")) span_uint(v, &resp->maxval);
		else if (KEY("val")) { resp->has_val = 1; resp->val = v; }
		else if (KEY("task")) resp->task = v;
		else if (KEY("entry")) resp->entry = v;
		else if (KEY("page")) resp->page = v;
		else if (KEY("info")) resp->info = v;
#undef KEY
	}
	if (r.off != r.n) return fail_internal(e, "sdk: abi: malformed response: %s", "trailing bytes");
	if (resp->has_err) {
		e->kind = exact_kind(resp->err_kind);
		e->msg = (const char *)resp->err_msg.p;
		e->msglen = resp->err_msg.n;
		e->retry = resp->err_retry;
		return 0;
	}
	return 1;
}
