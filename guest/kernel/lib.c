/*
 * lib.c - the few C library functions the kernel needs (gcc may also call
 * memset/memcpy itself), and reading the command line.
 */
#include "kernel.h"

void *memset(void *d, int c, size_t n)
{
	u8 *p = d;

	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

/*
 * The command line is words separated by spaces; a word is "key=value" or
 * just "key". cmdline_get("tick_ms=") returns a pointer to the value of the
 * first such word (ending at a space or the end), or NULL.
 */
char cmdline[CMDLINE_MAX];

const char *cmdline_get(const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen))
			return p + klen;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

/* Does the command line say key=value, or key=a,value,b (in any key= word)? */
bool cmdline_word(const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);

	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen)) {
			const char *v = p + klen;

			for (;;) {
				if (!strncmp(v, value, vlen) && (v[vlen] == ',' || v[vlen] == ' ' || !v[vlen]))
					return true;
				while (*v && *v != ',' && *v != ' ')
					v++;
				if (*v != ',')
					break;
				v++;
			}
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

u64 cmdline_num(const char *key, u64 dflt)
{
	const char *v = cmdline_get(key);
	u64 n = 0;

	if (!v || *v < '0' || *v > '9')
		return dflt;
	while (*v >= '0' && *v <= '9')
		n = n * 10 + (u64)(*v++ - '0');
	return n;
}
