/* Freestanding helpers for test guests: UART, printf-lite, command line. */
#include "guest/tests/lib.h"

static const char *the_cmdline = "";

void *memset(void *d, int c, unsigned long n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

void uart_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts: we poll */
	outb(COM1 + 3, 0x80); /* DLAB: set the divisor */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	/* FCR left alone: resetting the FIFOs would drop input that arrived
	 * before we started (a pipe's contents, keys typed ahead). */
}

void uart_putc(char c)
{
	if (c == '\n')
		uart_putc('\r');
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

int uart_getc(void)
{
	while (!(inb(COM1 + 5) & 0x01))
		;
	return inb(COM1);
}

uint32_t read_line(char *buf, int size)
{
	uint32_t total = 0;
	int n = 0;

	for (;;) {
		int c = uart_getc();

		if (c == '\r' || c == '\n')
			break;
		if (n < size - 1)
			buf[n++] = (char)c;
		total++;
	}
	buf[n] = '\0';
	return total;
}

static void put_uint(uint32_t v, unsigned base, int width)
{
	char tmp[12];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		uart_putc('0');
	while (n)
		uart_putc(tmp[--n]);
}

/* %s %c %d %u %x %08x %% — enough for test output. */
void vprint(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0;

		if (*fmt != '%') {
			uart_putc(*fmt);
			continue;
		}
		fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			while (*s)
				uart_putc(*s++);
			break;
		}
		case 'c': uart_putc((char)va_arg(ap, int)); break;
		case 'u': put_uint(va_arg(ap, uint32_t), 10, width); break;
		case 'x': put_uint(va_arg(ap, uint32_t), 16, width); break;
		case 'd': {
			int v = va_arg(ap, int);

			if (v < 0) {
				uart_putc('-');
				v = -v;
			}
			put_uint((uint32_t)v, 10, width);
			break;
		}
		case '%': uart_putc('%'); break;
		default: return;
		}
	}
}

void print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}

void guest_exit(uint32_t code)
{
	outl(DEBUG_EXIT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_reset(void)
{
	outb(I8042_CMD, 0xFE);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void cmdline_set(const char *cmdline)
{
	the_cmdline = cmdline ? cmdline : "";
}

/* Pointer to the word starting with key (followed by '=', ' ' or end). */
static const char *find_word(const char *key)
{
	const char *p = the_cmdline;

	while (*p) {
		const char *k = key, *w = p;

		while (*k && *w == *k)
			k++, w++;
		if (!*k && (*w == '\0' || *w == ' ' || *w == '='))
			return w;
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int cmdline_has(const char *word)
{
	const char *w = find_word(word);

	return w && *w != '=';
}

const char *cmdline_get(const char *key)
{
	const char *w = find_word(key);

	return w && *w == '=' ? w + 1 : 0;
}

uint32_t parse_uint(const char *s)
{
	uint32_t v = 0;

	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (uint32_t)(*s++ - '0');
	return v;
}
