/* lua_number2str (patches/01-luaconf.patch): wasi-libc's sprintf dominated "k"..i in
 * the guest, so whole numbers print by hand. The text is what "%.14g" gives: up to 14
 * digits print in full, so only |n| < 1e14 takes the fast path, and -0 keeps its sign
 * through sprintf. */
#include <math.h>
#include <stdio.h>

int luai_wasmkv_number2str(char *s, double n) {
	if (n > -1e14 && n < 1e14 && n == (double)(long long)n && !(n == 0 && signbit(n))) {
		char tmp[16];
		long long v = (long long)n;
		unsigned long long u = v < 0 ? (unsigned long long)(-v) : (unsigned long long)v;
		int len = 0, i = 0;
		do { tmp[len++] = (char)('0' + u % 10); u /= 10; } while (u);
		if (v < 0) s[i++] = '-';
		while (len) s[i++] = tmp[--len];
		s[i] = 0;
		return i;
	}
	return sprintf(s, "%.14g", n);
}
