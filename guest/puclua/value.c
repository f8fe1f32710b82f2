/* Lua values <-> CBOR, by the rules of the gopher-lua guest's codec (guest/luacbor):
 * the interchange rules of docs/abi.md, a depth limit, cycle detection, and the same
 * messages. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wasmkv.h"

#define MAX_ARRAY_INDEX 67108864.0 /* gopher-lua's MaxArrayIndex, for the padding rule */
#define MAX_EXACT_INT 9007199254740992.0

int utf8_seq(const unsigned char *s, size_t n) {
	unsigned c = s[0];
	size_t len, j;
	uint32_t cp;
	if (c < 0x80) return 1;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
	else return 0;
	if (n < len) return 0;
	for (j = 1; j < len; j++) {
		if ((s[j] & 0xc0) != 0x80) return 0;
		cp = (cp << 6) | (s[j] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return (int)len;
}

/* utf8_printable approximates Go's unicode.IsPrint for the valid sequence at s of len
 * bytes, as the gopher-lua guest's messages use it: ASCII exactly; of the rest the C1
 * controls, NBSP, the soft hyphen and the line and paragraph separators are not. */
int utf8_printable(const unsigned char *s, int len) {
	uint32_t cp;
	if (len == 1) return s[0] >= 0x20 && s[0] < 0x7f;
	if (len == 4) return 1;
	cp = len == 2 ? (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f)
		: (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	return !(cp <= 0xa0 || cp == 0xad || cp == 0x2028 || cp == 0x2029);
}

static int utf8_valid(const unsigned char *s, size_t n) {
	size_t i = 0;
	while (i < n) {
		int len = utf8_seq(s + i, n - i);
		if (!len) return 0;
		i += (size_t)len;
	}
	return 1;
}

static void put_string(wbuf *b, const char *s, size_t n) {
	if (utf8_valid((const unsigned char *)s, n)) wb_text(b, s, n);
	else wb_bytes(b, s, n);
}

static void put_number(wbuf *b, double f) {
	if (f == trunc(f) && f >= -MAX_EXACT_INT && f <= MAX_EXACT_INT) {
		if (f >= 0) wb_head(b, 0, (uint64_t)f);
		else wb_head(b, 1, (uint64_t)(-f) - 1);
		return;
	}
	wb_float64(b, f);
}

typedef struct {
	lua_State *L;
	wbuf *b;
	int n;                          /* tables open */
	const void *tables[MAX_VALUE_DEPTH];
	int keyidx[MAX_VALUE_DEPTH];    /* stack index of the key being written, or 0 */
	long arridx[MAX_VALUE_DEPTH];   /* the array index, when keyidx is 0 */
	long padding;
	size_t start, limit;            /* where the value begins in b, its most bytes */
	char *msg;
	size_t msgcap;
} encoder;

/* over reports whether the value would pass its limit with extra more bytes. */
static int over(encoder *e, size_t extra) {
	return e->limit > 0 && e->b->n - e->start + extra > e->limit;
}

static int too_large(encoder *e) {
	snprintf(e->msg, e->msgcap, "value: encoded value is larger than max_value_bytes %zu", e->limit);
	return 0;
}

static int is_ident(const char *s, size_t n) {
	static const char *const kw[] = {"and", "break", "do", "else", "elseif", "end", "false", "for",
		"function", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
		"until", "while", NULL};
	size_t i;
	if (n == 0) return 0;
	for (i = 0; kw[i]; i++)
		if (strlen(kw[i]) == n && memcmp(kw[i], s, n) == 0) return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) continue;
		if (c >= '0' && c <= '9' && i > 0) continue;
		return 0;
	}
	return 1;
}

/* appendf appends to the NUL-terminated dst, within cap (declared in wasmkv.h). */
void appendf(char *dst, size_t cap, const char *fmt, ...) {
	size_t len = strlen(dst);
	va_list ap;
	if (len + 1 >= cap) return;
	va_start(ap, fmt);
	vsnprintf(dst + len, cap - len, fmt, ap);
	va_end(ap);
}

/* fail writes "value<path>: reason" for the first n levels. */
static int fail(encoder *e, int n, const char *reason) {
	int i;
	char *m = e->msg;
	/* a long path is cut, not the reason: room for "...: reason" stays */
	size_t pathcap = e->msgcap > strlen(reason) + 16 ? e->msgcap - strlen(reason) - 5 : e->msgcap;
	snprintf(m, pathcap, "value");
	for (i = 0; i < n; i++) {
		int k = e->keyidx[i];
		if (k == 0) { appendf(m, pathcap, "[%ld]", e->arridx[i]); continue; }
		if (lua_type(e->L, k) == LUA_TSTRING) {
			size_t len, j;
			const char *s = lua_tolstring(e->L, k, &len);
			if (is_ident(s, len)) { appendf(m, pathcap, ".%s", s); continue; }
			appendf(m, pathcap, "[\"");
			for (j = 0; j < len;) {
				unsigned char c = (unsigned char)s[j];
				int sl = utf8_seq((const unsigned char *)s + j, len - j), b;
				if (c == '"' || c == '\\') appendf(m, pathcap, "\\%c", c);
				else if (c == '\n') appendf(m, pathcap, "\\n");
				else if (c == '\t') appendf(m, pathcap, "\\t");
				else if (sl == 0) { appendf(m, pathcap, "\\%03u", c); j++; continue; }
				else if (!utf8_printable((const unsigned char *)s + j, sl))
					for (b = 0; b < sl; b++) appendf(m, pathcap, "\\%03u", (unsigned char)s[j + b]);
				else appendf(m, pathcap, "%.*s", sl, s + j);
				j += (size_t)sl;
			}
			appendf(m, pathcap, "\"]");
		} else {
			double f = lua_tonumber(e->L, k);
			if (f == trunc(f) && fabs(f) < 9.2233720368547758e18) appendf(m, pathcap, "[%lld]", (long long)f);
			else if (isinf(f)) appendf(m, pathcap, "[%sInf]", f < 0 ? "-" : "+");
			else { char num[40]; format_number(num, sizeof num, f); appendf(m, pathcap, "[%s]", num); }
		}
	}
	if (strlen(m) + 1 >= pathcap) appendf(m, e->msgcap, "...");
	appendf(m, e->msgcap, ": %s", reason);
	return 0;
}

static int enc_value(encoder *e, int idx);

/* array_len is n when the table's keys are exactly 1..n (n >= 1), else 0. */
static long array_len(lua_State *L, int t) {
	long n = (long)lua_objlen(L, t), count = 0, i;
	if (n == 0) return 0;
	for (i = 1; i <= n; i++) {
		int nil;
		lua_rawgeti(L, t, (int)i);
		nil = lua_isnil(L, -1);
		lua_pop(L, 1);
		if (nil) return 0;
	}
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		if (++count > n) { lua_pop(L, 1); return 0; }
	}
	return count == n ? n : 0;
}

static int enc_table(encoder *e, int t) {
	lua_State *L = e->L;
	const void *p = lua_topointer(L, t);
	int i, slot, ok = 1;
	long n;
	if (e->n == MAX_VALUE_DEPTH) {
		char reason[64];
		snprintf(reason, sizeof reason, "nesting deeper than %d levels", MAX_VALUE_DEPTH);
		return fail(e, e->n, reason);
	}
	for (i = 0; i < e->n; i++)
		if (e->tables[i] == p) return fail(e, e->n, "cyclic table");
	if (!lua_checkstack(L, 4)) return fail(e, e->n, "not enough memory");
	slot = e->n++;
	e->tables[slot] = p;
	n = array_len(L, t);
	if (n > 0) {
		long j;
		wb_head(e->b, 4, (uint64_t)n);
		e->keyidx[slot] = 0;
		for (j = 1; j <= n && ok; j++) {
			e->arridx[slot] = j;
			lua_rawgeti(L, t, (int)j);
			ok = enc_value(e, lua_gettop(L));
			lua_pop(L, 1);
		}
	} else {
		size_t start = e->b->n;
		uint64_t count = 0;
		long alen = 0;
		uint8_t m = 0xa0;
		wb_raw(e->b, &m, 1);
		lua_pushnil(L);
		while (ok && lua_next(L, t)) {
			int k = lua_gettop(L) - 1;
			if (lua_type(L, k) == LUA_TSTRING) {
				size_t len;
				const char *s = lua_tolstring(L, k, &len);
				put_string(e->b, s, len);
			} else if (lua_type(L, k) == LUA_TNUMBER) {
				double f = lua_tonumber(L, k);
				if (f != f) { ok = fail(e, slot, "table key NaN is not storable"); lua_pop(L, 2); break; }
				if (f == trunc(f) && f > (double)alen && f < MAX_ARRAY_INDEX) {
					long pad = (long)f - alen - 1;
					if (pad > 0 && (e->padding += pad) > MAX_PADDING) {
						char reason[64];
						snprintf(reason, sizeof reason, "integer keys too sparse: over %d holes", MAX_PADDING);
						ok = fail(e, slot, reason);
						lua_pop(L, 2);
						break;
					}
					alen = (long)f;
				}
				put_number(e->b, f);
			} else {
				char reason[64];
				snprintf(reason, sizeof reason, "table key of type %s is not storable", luaL_typename(L, k));
				ok = fail(e, slot, reason);
				lua_pop(L, 2);
				break;
			}
			e->keyidx[slot] = k;
			ok = enc_value(e, k + 1);
			lua_pop(L, 1);
			if (!ok) { lua_pop(L, 1); break; }
			count++;
		}
		if (ok && !e->b->oom) {
			if (count < 24) e->b->p[start] = (uint8_t)(0xa0 | count);
			else {
				/* rewrite the head at its full length */
				wbuf h = {0};
				uint8_t tmp[9];
				size_t hl, end = e->b->n;
				h.p = tmp; h.cap = sizeof tmp;
				wb_head(&h, 5, count);
				hl = h.n;
				wb_raw(e->b, tmp + 1, hl - 1); /* room */
				if (!e->b->oom) {
					memmove(e->b->p + start + hl, e->b->p + start + 1, end - start - 1);
					memcpy(e->b->p + start, tmp, hl);
				}
			}
		}
	}
	e->n--;
	return ok;
}

static int enc_value(encoder *e, int idx) {
	lua_State *L = e->L;
	if (over(e, 0)) return too_large(e);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		if (over(e, len)) return too_large(e);
		put_string(e->b, s, len);
		return 1;
	}
	case LUA_TNUMBER: put_number(e->b, lua_tonumber(L, idx)); return 1;
	case LUA_TBOOLEAN: wb_bool(e->b, lua_toboolean(L, idx)); return 1;
	case LUA_TNIL: { uint8_t c = 0xf6; wb_raw(e->b, &c, 1); return 1; }
	case LUA_TTABLE: return enc_table(e, idx);
	default: {
		char reason[64];
		snprintf(reason, sizeof reason, "%s is not storable", luaL_typename(L, idx));
		return fail(e, e->n, reason);
	}
	}
}

int value_encode(lua_State *L, int idx, wbuf *b, size_t limit, char *msg, size_t msgcap) {
	encoder e;
	memset(&e, 0, sizeof e);
	e.L = L; e.b = b; e.msg = msg; e.msgcap = msgcap;
	e.start = b->n;
	e.limit = limit;
	if (idx < 0) idx = lua_gettop(L) + idx + 1;
	if (!enc_value(&e, idx)) return 0;
	if (over(&e, 0)) return too_large(&e);
	return 1;
}

/* ---- decoding ---- */

typedef struct {
	lua_State *L;
	rdr r;
	long padding;
} decoder;

static int dfail(decoder *d, size_t off, const char *reason) {
	snprintf(d->r.errbuf, sizeof d->r.errbuf, "%s", reason);
	return rd_fail(&d->r, off, d->r.errbuf);
}

static double half_to_double(uint16_t h) {
	int exp = (h >> 10) & 0x1f;
	double mant = h & 0x3ff, f;
	if (exp == 0) f = ldexp(mant, -24);
	else if (exp == 0x1f) f = mant == 0 ? INFINITY : NAN;
	else f = ldexp(mant + 1024, exp - 25);
	return (h & 0x8000) ? -f : f;
}

double float_arg(unsigned ai, uint64_t arg) {
	if (ai == 25) return half_to_double((uint16_t)arg);
	if (ai == 26) { uint32_t u = (uint32_t)arg; float f; memcpy(&f, &u, 4); return f; }
	{ double f; memcpy(&f, &arg, 8); return f; }
}

/* dec_value pushes one value (nil for null and undefined). */
static int dec_value(decoder *d, int depth) {
	lua_State *L = d->L;
	rdr *r = &d->r;
	unsigned major, ai;
	uint64_t arg, i;
	size_t start = r->off;
	char reason[96];
	if (!rd_head(r, &major, &ai, &arg)) return 0;
	switch (major) {
	case 0: lua_pushnumber(L, (double)arg); return 1;
	case 1: lua_pushnumber(L, -1.0 - (double)arg); return 1;
	case 2: case 3:
		if (arg > r->n - r->off) return dfail(d, start, "string longer than the input");
		lua_pushlstring(L, (const char *)r->p + r->off, (size_t)arg);
		r->off += (size_t)arg;
		return 1;
	case 4:
		if (depth + 1 > MAX_MESSAGE_DEPTH) {
			snprintf(reason, sizeof reason, "nesting deeper than %d levels", MAX_MESSAGE_DEPTH);
			return dfail(d, start, reason);
		}
		if (arg > r->n - r->off) {
			snprintf(reason, sizeof reason, "array of %llu elements longer than the input", (unsigned long long)arg);
			return dfail(d, start, reason);
		}
		if (!lua_checkstack(L, 4)) return dfail(d, start, "not enough memory");
		lua_createtable(L, (int)(arg < 1024 ? arg : 1024), 0);
		for (i = 1; i <= arg; i++) {
			if (!dec_value(d, depth + 1)) return 0;
			if (lua_isnil(L, -1)) lua_pop(L, 1);
			else lua_rawseti(L, -2, (int)i);
		}
		return 1;
	case 5: {
		long alen = 0;
		if (depth + 1 > MAX_MESSAGE_DEPTH) {
			snprintf(reason, sizeof reason, "nesting deeper than %d levels", MAX_MESSAGE_DEPTH);
			return dfail(d, start, reason);
		}
		if (arg > (r->n - r->off) / 2) {
			snprintf(reason, sizeof reason, "map of %llu pairs longer than the input", (unsigned long long)arg);
			return dfail(d, start, reason);
		}
		if (!lua_checkstack(L, 4)) return dfail(d, start, "not enough memory");
		lua_createtable(L, 0, (int)(arg < 1024 ? arg : 1024));
		for (i = 0; i < arg; i++) {
			size_t kstart = r->off;
			unsigned km, kai;
			uint64_t ka;
			double kf = 0;
			int isstr = 0;
			if (!rd_head(r, &km, &kai, &ka)) return 0;
			if (km == 0) kf = (double)ka;
			else if (km == 1) kf = -1.0 - (double)ka;
			else if (km == 2 || km == 3) {
				if (ka > r->n - r->off) return dfail(d, kstart, "string longer than the input");
				lua_pushlstring(L, (const char *)r->p + r->off, (size_t)ka);
				r->off += (size_t)ka;
				isstr = 1;
			} else if (km == 7 && (kai == 25 || kai == 26 || kai == 27)) {
				kf = float_arg(kai, ka);
				if (kf != kf) return dfail(d, kstart, "map key NaN is not supported");
			} else return dfail(d, kstart, "map key must be a string or a number");
			if (!isstr) {
				if (kf == trunc(kf) && kf > (double)alen && kf < MAX_ARRAY_INDEX) {
					long pad = (long)kf - alen - 1;
					if (pad > 0 && (d->padding += pad) > MAX_PADDING) {
						snprintf(reason, sizeof reason, "integer keys too sparse: over %d holes", MAX_PADDING);
						return dfail(d, kstart, reason);
					}
					alen = (long)kf;
				}
				lua_pushnumber(L, kf);
			}
			if (!dec_value(d, depth + 1)) return 0;
			if (lua_isnil(L, -1)) lua_pop(L, 2);
			else lua_rawset(L, -3);
		}
		return 1;
	}
	case 6: return dfail(d, start, "tags are not supported");
	}
	switch (ai) {
	case 20: lua_pushboolean(L, 0); return 1;
	case 21: lua_pushboolean(L, 1); return 1;
	case 22: case 23: lua_pushnil(L); return 1;
	case 25: case 26: case 27: lua_pushnumber(L, float_arg(ai, arg)); return 1;
	}
	snprintf(reason, sizeof reason, "simple value %llu is not supported", (unsigned long long)arg);
	return dfail(d, start, reason);
}

int value_decode(lua_State *L, span v, char *msg, size_t msgcap) {
	decoder d;
	int top = lua_gettop(L);
	memset(&d, 0, sizeof d);
	d.L = L;
	d.r.p = v.p;
	d.r.n = v.n;
	if (dec_value(&d, 0)) {
		if (d.r.off == d.r.n) return 1;
		snprintf(d.r.errbuf, sizeof d.r.errbuf, "%zu trailing bytes after the value", d.r.n - d.r.off);
		rd_fail(&d.r, d.r.off, d.r.errbuf);
	}
	lua_settop(L, top);
	snprintf(msg, msgcap, "luacbor: %s at offset %zu", d.r.err, d.r.erroff);
	return 0;
}
