/*
 * lib.c - the few C library functions the kernel needs (gcc may also call
 * memset/memcpy itself), and reading the command line.
 */
#include <stdarg.h>

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

/* One number in base 10 or 16 in `width` columns: right-aligned and padded
 * with `pad` (a sign before zeros: -0042), or left-aligned with blanks. */
static int format_num(void (*put)(char, void *), void *arg, u64 v, int base, bool neg, int width,
		      char pad, bool left)
{
	char d[24];
	int n = 0, out = 0;

	do {
		d[n++] = "0123456789abcdef"[v % (u64)base];
		v /= (u64)base;
	} while (v);
	if (neg) {
		if (pad == '0' && !left)
			put('-', arg), out++, width--;
		else
			d[n++] = '-';
	}
	for (; !left && width > n; width--, out++)
		put(pad, arg);
	for (int i = n; i > 0; i--, out++)
		put(d[i - 1], arg);
	for (; left && width > n; width--, out++)
		put(' ', arg);
	return out;
}

/*
 * The kernel's printf, for the console (kprintf) and for text in memory
 * (/proc's files): %d %i %u %x %p %s %c %%, with '-' (left-align), '0'
 * (zero padding), a width and the 'l' / 'll' size prefixes. Each character
 * goes to put(c, arg); returns how many there were.
 */
int kvformat(void (*put)(char, void *), void *arg, const char *fmt, va_list ap)
{
	int out = 0;

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		bool left = false;
		char pad = ' ';

		if (*fmt != '%') {
			put(*fmt, arg), out++;
			continue;
		}
		if (*++fmt == '-')
			left = true, fmt++;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			lng++, fmt++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			i64 v = lng ? va_arg(ap, i64) : va_arg(ap, int);

			out += format_num(put, arg, v < 0 ? -(u64)v : (u64)v, 10, v < 0, width, pad, left);
			break;
		}
		case 'u':
		case 'x':
			out += format_num(put, arg, lng ? va_arg(ap, u64) : va_arg(ap, unsigned),
					  *fmt == 'u' ? 10 : 16, false, width, pad, left);
			break;
		case 'p':
			put('0', arg), put('x', arg);
			out += 2 + format_num(put, arg, (u64)va_arg(ap, void *), 16, false, 16, '0', false);
			break;
		case 'c':
			put((char)va_arg(ap, int), arg), out++;
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len;

			if (!s)
				s = "(null)";
			len = (int)strlen(s);
			for (; !left && width > len; width--, out++)
				put(' ', arg);
			for (; *s; s++, out++)
				put(*s, arg);
			for (; left && width > len; width--, out++)
				put(' ', arg);
			break;
		}
		case '%':
			put('%', arg), out++;
			break;
		case '\0':
			return out;
		default: /* unknown: as written */
			put('%', arg), put(*fmt, arg), out += 2;
		}
	}
	return out;
}
