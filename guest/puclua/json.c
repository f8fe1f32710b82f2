/* The json module, as the gopher-lua guest has it (guest/lualib/json.go): json.encode(v)
 * returns a string, or nil and an Invalid error; json.decode(s) returns a value, or nil
 * and an Invalid error.
 *
 * Encoding goes through value_encode (value.c), so a value encodes to JSON exactly when
 * the store would take it (no functions or cycles, depth at most 32, the sparse-array
 * rule, a table whose keys are 1..n is an array, the empty table an object), plus what
 * JSON needs: strings valid UTF-8, numbers finite, number keys written as strings. The
 * CBOR that value_encode made is then written as JSON. Decoding is strict RFC 8259: one
 * value, no trailing data, no comments, no duplicate keys, valid UTF-8 and no lone
 * surrogates, depth at most 32, integers within ±2^53. null is nil: a null member is
 * left out, a null array element is a hole. Messages are the gopher-lua guest's, word
 * for word, so that a script sees the same on both. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmkv.h"

/* MAX_JSON_BYTES bounds what json.encode produces and json.decode accepts: the ABI's
 * request limit, the most any one value could travel in. */
#define MAX_JSON_BYTES MAX_REQUEST_BYTES
#define MAX_EXACT_INT 9007199254740992.0

static wbuf cbor; /* json.encode's intermediate; reused, shrunk after a large value */

static int json_failure(lua_State *L, const char *msg) {
	lua_pushnil(L);
	wasmkv_push_error(L, "Invalid", msg, strlen(msg), 0);
	return 2;
}

/* append_quoted appends s (valid UTF-8) as Go's strconv.Quote writes it, for the
 * characters a key plausibly holds: ASCII exactly, and of the rest the C1 controls, NBSP,
 * the soft hyphen and the line and paragraph separators escaped, all else as is. */
static void append_quoted(char *dst, size_t cap, const char *s, size_t n) {
	size_t i = 0;
	appendf(dst, cap, "\"");
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		int len = utf8_seq((const unsigned char *)s + i, n - i);
		if (c < 0x80) {
			const char *esc = NULL;
			switch (c) {
			case '"': esc = "\\\""; break;
			case '\\': esc = "\\\\"; break;
			case '\a': esc = "\\a"; break;
			case '\b': esc = "\\b"; break;
			case '\f': esc = "\\f"; break;
			case '\n': esc = "\\n"; break;
			case '\r': esc = "\\r"; break;
			case '\t': esc = "\\t"; break;
			case '\v': esc = "\\v"; break;
			}
			if (esc) appendf(dst, cap, "%s", esc);
			else if (c < 0x20 || c == 0x7f) appendf(dst, cap, "\\x%02x", c);
			else appendf(dst, cap, "%c", c);
			i++;
			continue;
		}
		if (len == 0) { appendf(dst, cap, "\\x%02x", c); i++; continue; }
		if (utf8_printable((const unsigned char *)s + i, len)) appendf(dst, cap, "%.*s", len, s + i);
		else {
			uint32_t cp = len == 2 ? (uint32_t)(c & 0x1f) << 6 | (s[i + 1] & 0x3f)
				: (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
			appendf(dst, cap, "\\u%04x", (unsigned)cp);
		}
		i += (size_t)len;
	}
	appendf(dst, cap, "\"");
}

/* format_number writes f (finite) as Go's strconv.FormatFloat(f, 'g', -1, 64) does: the
 * shortest digits that read back as f, in exponent form when the exponent is below -4
 * or at least 6. Of the decimals with the fewest digits that read back as f, the
 * correctly rounded one may not be among them (at a power of two the interval around f
 * is lopsided), so its two neighbours are tried too, as Go's shortest form finds them. */
void format_number(char *out, size_t cap, double f) {
	char e[48], digits[24];
	int prec, exp = 0, nd = 0, i, o = 0;
	uint64_t d = 0;
	if (f == 0) { snprintf(out, cap, "0"); return; }
	for (prec = 0; prec <= 16; prec++) {
		const char *p;
		snprintf(e, sizeof e, "%.*e", prec, fabs(f));
		exp = atoi(strchr(e, 'e') + 1);
		for (d = 0, p = e; *p != 'e'; p++)
			if (*p != '.') d = d * 10 + (uint64_t)(*p - '0');
		if (strtod(e, NULL) == fabs(f)) break;
		if (prec == 16) break;
		for (i = 0; i < 2; i++) {
			uint64_t c = i == 0 ? d + 1 : d - 1;
			snprintf(e, sizeof e, "%llue%d", (unsigned long long)c, exp - prec);
			if (strtod(e, NULL) == fabs(f)) { d = c; break; }
		}
		if (i < 2) break;
	}
	nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)d);
	exp += nd - (prec + 1); /* a carry made one digit more */
	while (nd > 1 && digits[nd - 1] == '0') nd--;
	if (f < 0) out[o++] = '-';
	if (exp < -4 || exp >= 6) {
		out[o++] = digits[0];
		if (nd > 1) { out[o++] = '.'; memcpy(out + o, digits + 1, (size_t)nd - 1); o += nd - 1; }
		snprintf(out + o, cap - (size_t)o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	if (exp < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = 0; i < -exp - 1; i++) out[o++] = '0';
		memcpy(out + o, digits, (size_t)nd);
		o += nd;
	} else {
		for (i = 0; i <= exp; i++) out[o++] = i < nd ? digits[i] : '0';
		if (nd > exp + 1) { out[o++] = '.'; memcpy(out + o, digits + exp + 1, (size_t)(nd - exp - 1)); o += nd - exp - 1; }
	}
	out[o] = 0;
}

/* ---- encoding: CBOR from value_encode to JSON ---- */

typedef struct {
	lua_State *L;
	rdr r;
	luaL_Buffer *b;
	size_t len;   /* bytes written */
	int n;        /* open containers */
	struct {
		int is_key;
		uint64_t idx;          /* array index, 1-based */
		const char *key;       /* the key's text */
		size_t keylen;
	} path[MAX_VALUE_DEPTH + 1];
	char msg[1024];
} transcoder;

static void put(transcoder *t, const char *s, size_t n) {
	luaL_addlstring(t->b, s, n);
	t->len += n;
}

static int tfail(transcoder *t, const char *reason) {
	int i;
	/* a long path is cut, not the reason: room for "...: reason" stays */
	size_t cap = sizeof t->msg - strlen(reason) - 5;
	snprintf(t->msg, cap, "json.encode: value");
	for (i = 0; i < t->n; i++) {
		if (!t->path[i].is_key) { appendf(t->msg, cap, "[%llu]", (unsigned long long)t->path[i].idx); continue; }
		appendf(t->msg, cap, "[");
		append_quoted(t->msg, cap, t->path[i].key, t->path[i].keylen);
		appendf(t->msg, cap, "]");
	}
	if (strlen(t->msg) + 1 >= cap) appendf(t->msg, sizeof t->msg, "...");
	appendf(t->msg, sizeof t->msg, ": %s", reason);
	return 0;
}

static const char hex_digits[] = "0123456789abcdef";

/* put_string writes s (valid UTF-8) quoted, escaping what RFC 8259 requires, and <, >,
 * & and the two JavaScript line separators so that the output is safe inside HTML. */
static void put_string(transcoder *t, const char *s, size_t n) {
	size_t i, start = 0;
	luaL_addchar(t->b, '"');
	t->len++;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		size_t elen = 2, skip = 1;
		if (c == '"') memcpy(esc, "\\\"", 2);
		else if (c == '\\') memcpy(esc, "\\\\", 2);
		else if (c == '\n') memcpy(esc, "\\n", 2);
		else if (c == '\r') memcpy(esc, "\\r", 2);
		else if (c == '\t') memcpy(esc, "\\t", 2);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex_digits[c >> 4];
			esc[5] = hex_digits[c & 0xf];
			elen = 6;
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			memcpy(esc, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			elen = 6;
			skip = 3;
		} else continue;
		put(t, s + start, i - start);
		put(t, esc, elen);
		i += skip - 1;
		start = i + 1;
	}
	put(t, s + start, n - start);
	luaL_addchar(t->b, '"');
	t->len++;
}

/* key reads a map key into buf (a number's Lua string form) or points *s at its text. */
static int tkey(transcoder *t, const char **s, size_t *n, char *buf, size_t cap) {
	unsigned major, ai;
	uint64_t arg;
	rd_head(&t->r, &major, &ai, &arg);
	switch (major) {
	case 3:
		*s = (const char *)t->r.p + t->r.off;
		*n = (size_t)arg;
		t->r.off += (size_t)arg;
		return 1;
	case 2: return tfail(t, "a key is not valid UTF-8, which JSON cannot carry");
	case 0: snprintf(buf, cap, "%llu", (unsigned long long)arg); break;
	case 1: snprintf(buf, cap, "-%llu", (unsigned long long)arg + 1); break;
	case 7: {
		/* gopher-lua writes a number that fits an int64 as an integer */
		double f = float_arg(ai, arg);
		if (f != f || isinf(f)) return tfail(t, "a key has no JSON form");
		if (f == trunc(f) && f >= -9223372036854775808.0 && f < 9223372036854775808.0)
			snprintf(buf, cap, "%lld", (long long)f);
		else format_number(buf, cap, f);
		break;
	}
	default: return tfail(t, "a key has no JSON form");
	}
	*s = buf;
	*n = strlen(buf);
	return 1;
}

static int tvalue(transcoder *t) {
	unsigned major, ai;
	uint64_t arg, i;
	char num[40];
	if (t->len > MAX_JSON_BYTES) {
		snprintf(t->msg, sizeof t->msg, "json.encode: result larger than %u bytes", MAX_JSON_BYTES);
		return 0;
	}
	rd_head(&t->r, &major, &ai, &arg);
	switch (major) {
	case 0:
		snprintf(num, sizeof num, "%llu", (unsigned long long)arg);
		put(t, num, strlen(num));
		return 1;
	case 1:
		snprintf(num, sizeof num, "-%llu", (unsigned long long)arg + 1);
		put(t, num, strlen(num));
		return 1;
	case 2: return tfail(t, "string is not valid UTF-8, which JSON cannot carry");
	case 3:
		put_string(t, (const char *)t->r.p + t->r.off, (size_t)arg);
		t->r.off += (size_t)arg;
		return 1;
	case 4:
		luaL_addchar(t->b, '[');
		t->len++;
		for (i = 0; i < arg; i++) {
			if (i > 0) { luaL_addchar(t->b, ','); t->len++; }
			t->path[t->n].is_key = 0;
			t->path[t->n].idx = i + 1;
			t->n++;
			if (!tvalue(t)) return 0;
			t->n--;
		}
		luaL_addchar(t->b, ']');
		t->len++;
		return 1;
	case 5:
		luaL_addchar(t->b, '{');
		t->len++;
		for (i = 0; i < arg; i++) {
			const char *k;
			size_t klen;
			char buf[40];
			if (i > 0) { luaL_addchar(t->b, ','); t->len++; }
			if (!tkey(t, &k, &klen, buf, sizeof buf)) return 0;
			put_string(t, k, klen);
			luaL_addchar(t->b, ':');
			t->len++;
			t->path[t->n].is_key = 1;
			t->path[t->n].key = k;
			t->path[t->n].keylen = klen;
			t->n++;
			if (!tvalue(t)) return 0;
			t->n--;
		}
		luaL_addchar(t->b, '}');
		t->len++;
		return 1;
	case 7:
		switch (ai) {
		case 20: put(t, "false", 5); return 1;
		case 21: put(t, "true", 4); return 1;
		case 22: put(t, "null", 4); return 1;
		case 25: case 26: case 27: {
			double f = float_arg(ai, arg);
			if (f != f || isinf(f)) return tfail(t, "NaN and infinities have no JSON form");
			format_number(num, sizeof num, f);
			put(t, num, strlen(num));
			return 1;
		}
		}
		return tfail(t, "unexpected simple value");
	}
	return tfail(t, "unexpected CBOR");
}

/* release_cbor frees the intermediate after a large value: it would otherwise count
 * against the instance's memory for good. */
static void release_cbor(void) {
	if (cbor.cap > (64u << 10)) { free(cbor.p); memset(&cbor, 0, sizeof cbor); }
}

static int json_encode(lua_State *L) {
	static transcoder t; /* large: kept off the C stack */
	luaL_Buffer b;
	int top, ok;
	lua_settop(L, 1);
	wb_reset(&cbor);
	memset(&t, 0, sizeof t);
	strcpy(t.msg, "json.encode: ");
	if (!value_encode(L, 1, &cbor, 0, t.msg + strlen(t.msg), sizeof t.msg - strlen(t.msg))) {
		release_cbor();
		return json_failure(L, t.msg);
	}
	if (cbor.oom) {
		/* raise Lua's own memory error: a block that passes Lua's size check but no allocator gives */
		lua_newuserdata(L, (size_t)-1 - 4096);
	}
	t.L = L;
	t.r.p = cbor.p;
	t.r.n = cbor.n;
	t.b = &b;
	top = lua_gettop(L);
	luaL_buffinit(L, &b);
	ok = tvalue(&t);
	if (ok && t.len > MAX_JSON_BYTES) {
		snprintf(t.msg, sizeof t.msg, "json.encode: result larger than %u bytes", MAX_JSON_BYTES);
		ok = 0;
	}
	release_cbor();
	if (!ok) {
		lua_settop(L, top);
		return json_failure(L, t.msg);
	}
	luaL_pushresult(&b);
	return 1;
}

/* ---- decoding ---- */

typedef struct {
	lua_State *L;
	const char *s;
	size_t n, off;
	char msg[256];
} parser;

static int pfail(parser *p, const char *reason) {
	snprintf(p->msg, sizeof p->msg, "json.decode: %s at offset %zu", reason, p->off);
	return 0;
}

static void space(parser *p) {
	while (p->off < p->n) {
		char c = p->s[p->off];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
		p->off++;
	}
}

static int pvalue(parser *p, int depth);

static int hex4(parser *p, uint32_t *out) {
	uint32_t v = 0;
	int i;
	if (p->off + 4 > p->n) return pfail(p, "short \\u escape");
	for (i = 0; i < 4; i++) {
		char c = p->s[p->off + i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
		else return pfail(p, "invalid \\u escape");
	}
	p->off += 4;
	*out = v;
	return 1;
}

static void add_rune(luaL_Buffer *b, uint32_t r) {
	if (r < 0x80) luaL_addchar(b, (char)r);
	else if (r < 0x800) { luaL_addchar(b, (char)(0xc0 | r >> 6)); luaL_addchar(b, (char)(0x80 | (r & 0x3f))); }
	else if (r < 0x10000) {
		luaL_addchar(b, (char)(0xe0 | r >> 12));
		luaL_addchar(b, (char)(0x80 | (r >> 6 & 0x3f)));
		luaL_addchar(b, (char)(0x80 | (r & 0x3f)));
	} else {
		luaL_addchar(b, (char)(0xf0 | r >> 18));
		luaL_addchar(b, (char)(0x80 | (r >> 12 & 0x3f)));
		luaL_addchar(b, (char)(0x80 | (r >> 6 & 0x3f)));
		luaL_addchar(b, (char)(0x80 | (r & 0x3f)));
	}
}

/* pstring pushes the string literal at p->off. */
static int pstring(parser *p) {
	luaL_Buffer b;
	int top = lua_gettop(p->L);
	p->off++; /* " */
	luaL_buffinit(p->L, &b);
	for (;;) {
		size_t start = p->off;
		unsigned char c = 0;
		while (p->off < p->n) {
			c = (unsigned char)p->s[p->off];
			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
			p->off++;
		}
		luaL_addlstring(&b, p->s + start, p->off - start);
		if (p->off >= p->n) { lua_settop(p->L, top); return pfail(p, "unterminated string"); }
		if (c == '"') {
			p->off++;
			luaL_pushresult(&b);
			return 1;
		}
		if (c < 0x20) { lua_settop(p->L, top); return pfail(p, "control character in a string"); }
		if (c >= 0x80) {
			int len = utf8_seq((const unsigned char *)p->s + p->off, p->n - p->off);
			if (!len) { lua_settop(p->L, top); return pfail(p, "invalid UTF-8"); }
			luaL_addlstring(&b, p->s + p->off, (size_t)len);
			p->off += (size_t)len;
			continue;
		}
		/* backslash */
		if (p->off + 1 >= p->n) { lua_settop(p->L, top); return pfail(p, "unterminated escape"); }
		c = (unsigned char)p->s[p->off + 1];
		p->off += 2;
		switch (c) {
		case '"': case '\\': case '/': luaL_addchar(&b, (char)c); break;
		case 'b': luaL_addchar(&b, '\b'); break;
		case 'f': luaL_addchar(&b, '\f'); break;
		case 'n': luaL_addchar(&b, '\n'); break;
		case 'r': luaL_addchar(&b, '\r'); break;
		case 't': luaL_addchar(&b, '\t'); break;
		case 'u': {
			uint32_t r, r2;
			if (!hex4(p, &r)) { lua_settop(p->L, top); return 0; }
			if (r >= 0xd800 && r <= 0xdfff) {
				if (r >= 0xdc00 || p->off + 2 > p->n || p->s[p->off] != '\\' || p->s[p->off + 1] != 'u') {
					lua_settop(p->L, top);
					return pfail(p, "lone surrogate in a \\u escape");
				}
				p->off += 2;
				if (!hex4(p, &r2)) { lua_settop(p->L, top); return 0; }
				if (r2 < 0xdc00 || r2 > 0xdfff) { lua_settop(p->L, top); return pfail(p, "lone surrogate in a \\u escape"); }
				r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
			}
			add_rune(&b, r);
			break;
		}
		default:
			p->off -= 2;
			lua_settop(p->L, top);
			return pfail(p, "invalid escape");
		}
	}
}

static size_t digits(parser *p) {
	size_t n = 0;
	while (p->off < p->n && p->s[p->off] >= '0' && p->s[p->off] <= '9') { p->off++; n++; }
	return n;
}

static uint64_t digits_value(const char *s, size_t n) {
	uint64_t v = 0;
	while (n--) v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

static int pnumber(parser *p) {
	size_t start = p->off, int_start, ndig;
	int integer = 1;
	char small[64], *text = small;
	double f;
	if (p->s[p->off] == '-') p->off++;
	int_start = p->off;
	if ((ndig = digits(p)) == 0) return pfail(p, "a number needs digits");
	if (ndig > 1 && p->s[int_start] == '0') { p->off = int_start; return pfail(p, "a number may not have a leading zero"); }
	if (p->off < p->n && p->s[p->off] == '.') {
		p->off++;
		integer = 0;
		if (digits(p) == 0) return pfail(p, "a fraction needs digits");
	}
	if (p->off < p->n && (p->s[p->off] == 'e' || p->s[p->off] == 'E')) {
		p->off++;
		integer = 0;
		if (p->off < p->n && (p->s[p->off] == '+' || p->s[p->off] == '-')) p->off++;
		if (digits(p) == 0) return pfail(p, "an exponent needs digits");
	}
	/* strtod reads a NUL-terminated copy: what follows the number could extend it */
	if (p->off - start >= sizeof small) {
		lua_pushlstring(p->L, p->s + start, p->off - start);
		text = (char *)lua_tostring(p->L, -1);
	} else {
		memcpy(small, p->s + start, p->off - start);
		small[p->off - start] = 0;
	}
	f = strtod(text, NULL);
	if (text != small) lua_pop(p->L, 1);
	if (isinf(f)) { p->off = start; return pfail(p, "number out of range"); }
	/* the integer's digits checked exactly: strtod rounds 2^53 + 1 down to 2^53 */
	if (integer && !(ndig <= 16 && digits_value(p->s + int_start, ndig) <= (uint64_t)1 << 53)) {
		p->off = start;
		return pfail(p, "integer beyond ±2^53, which a Lua number cannot hold exactly");
	}
	lua_pushnumber(p->L, f);
	return 1;
}

static int pobject(parser *p, int depth) {
	lua_State *L = p->L;
	int t, nulls;
	p->off++; /* { */
	lua_createtable(L, 0, 4);
	t = lua_gettop(L);
	lua_pushnil(L); /* the keys whose value was null, made when the first is met */
	nulls = t + 1;
	space(p);
	if (p->off < p->n && p->s[p->off] == '}') { p->off++; lua_pop(L, 1); return 1; }
	for (;;) {
		size_t key_at;
		int dup;
		space(p);
		if (p->off >= p->n || p->s[p->off] != '"') return pfail(p, "expected a string key");
		key_at = p->off;
		if (!pstring(p)) return 0;
		lua_pushvalue(L, -1);
		lua_rawget(L, t);
		dup = !lua_isnil(L, -1);
		lua_pop(L, 1);
		if (!dup && lua_istable(L, nulls)) {
			lua_pushvalue(L, -1);
			lua_rawget(L, nulls);
			dup = !lua_isnil(L, -1);
			lua_pop(L, 1);
		}
		if (dup) {
			size_t klen;
			const char *k = lua_tolstring(L, -1, &klen);
			char reason[200] = "duplicate key ";
			append_quoted(reason, sizeof reason, k, klen);
			p->off = key_at;
			return pfail(p, reason);
		}
		space(p);
		if (p->off >= p->n || p->s[p->off] != ':') return pfail(p, "expected ':'");
		p->off++;
		space(p);
		if (!pvalue(p, depth)) return 0;
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			if (!lua_istable(L, nulls)) {
				lua_newtable(L);
				lua_replace(L, nulls);
			}
			lua_pushboolean(L, 1);
			lua_rawset(L, nulls);
		} else {
			lua_rawset(L, t);
		}
		space(p);
		if (p->off >= p->n) return pfail(p, "unexpected end of input");
		if (p->s[p->off] == ',') { p->off++; continue; }
		if (p->s[p->off] == '}') { p->off++; lua_settop(L, t); return 1; }
		return pfail(p, "expected ',' or '}'");
	}
}

static int parray(parser *p, int depth) {
	lua_State *L = p->L;
	int i;
	p->off++; /* [ */
	lua_createtable(L, 4, 0);
	space(p);
	if (p->off < p->n && p->s[p->off] == ']') { p->off++; return 1; }
	for (i = 1;; i++) {
		space(p);
		if (!pvalue(p, depth)) return 0;
		if (lua_isnil(L, -1)) lua_pop(L, 1);
		else lua_rawseti(L, -2, i);
		space(p);
		if (p->off >= p->n) return pfail(p, "unexpected end of input");
		if (p->s[p->off] == ',') { p->off++; continue; }
		if (p->s[p->off] == ']') { p->off++; return 1; }
		return pfail(p, "expected ',' or ']'");
	}
}

/* pvalue pushes one value; depth counts the containers around it. */
static int pvalue(parser *p, int depth) {
	static const struct { const char *text; int v; } lits[] = {{"true", 1}, {"false", 0}, {"null", -1}};
	char c, reason[64];
	int i;
	if (p->off >= p->n) return pfail(p, "unexpected end of input");
	if (!lua_checkstack(p->L, 24)) return pfail(p, "not enough memory");
	c = p->s[p->off];
	if (c == '{' || c == '[') {
		if (depth >= MAX_VALUE_DEPTH) {
			snprintf(reason, sizeof reason, "nested deeper than %d", MAX_VALUE_DEPTH);
			return pfail(p, reason);
		}
		return c == '{' ? pobject(p, depth + 1) : parray(p, depth + 1);
	}
	if (c == '"') return pstring(p);
	if (c == '-' || (c >= '0' && c <= '9')) return pnumber(p);
	for (i = 0; i < 3; i++) {
		size_t len = strlen(lits[i].text);
		if (p->n - p->off >= len && memcmp(p->s + p->off, lits[i].text, len) == 0) {
			p->off += len;
			if (lits[i].v < 0) lua_pushnil(p->L);
			else lua_pushboolean(p->L, lits[i].v);
			return 1;
		}
	}
	/* the byte as Go's strconv.QuoteRune(rune(b)) shows it */
	{
		unsigned char u = (unsigned char)c;
		snprintf(reason, sizeof reason, "invalid character ");
		if (u == '\'' || u == '\\') appendf(reason, sizeof reason, "'\\%c'", u);
		else if (u >= 0x20 && u < 0x7f) appendf(reason, sizeof reason, "'%c'", u);
		else if (u >= 0x80) {
			if (u <= 0xa0 || u == 0xad) appendf(reason, sizeof reason, "'\\u%04x'", u);
			else appendf(reason, sizeof reason, "'%c%c'", 0xc0 | u >> 6, 0x80 | (u & 0x3f));
		} else {
			const char *esc = u == '\a' ? "\\a" : u == '\b' ? "\\b" : u == '\f' ? "\\f" : u == '\n' ? "\\n"
				: u == '\r' ? "\\r" : u == '\t' ? "\\t" : u == '\v' ? "\\v" : NULL;
			if (esc) appendf(reason, sizeof reason, "'%s'", esc);
			else appendf(reason, sizeof reason, "'\\x%02x'", u);
		}
	}
	return pfail(p, reason);
}

static int json_decode(lua_State *L) {
	static parser p;
	size_t n;
	int top;
	lua_settop(L, 1);
	if (lua_type(L, 1) != LUA_TSTRING) return wasmkv_type_error(L, 1, "json.decode", "string", 1);
	memset(&p, 0, sizeof p);
	p.L = L;
	p.s = lua_tolstring(L, 1, &n);
	p.n = n;
	if (n > MAX_JSON_BYTES) {
		snprintf(p.msg, sizeof p.msg, "json.decode: input larger than %u bytes", MAX_JSON_BYTES);
		return json_failure(L, p.msg);
	}
	top = lua_gettop(L);
	space(&p);
	if (pvalue(&p, 0)) {
		space(&p);
		if (p.off == p.n) return 1;
		pfail(&p, "data after the value");
	}
	lua_settop(L, top);
	return json_failure(L, p.msg);
}

int wasmkv_open_json(lua_State *L) {
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, json_encode);
	lua_setfield(L, -2, "encode");
	lua_pushcfunction(L, json_decode);
	lua_setfield(L, -2, "decode");
	return 1;
}
