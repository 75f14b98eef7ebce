/*
 * console.c - output on COM1, a 16550A UART, and kprintf.
 *
 * The UART is driven by polling: before each byte we wait until the
 * transmitter holding register is empty (LSR bit 5). kvmlab's UART is always
 * ready, a real one at 115200 baud takes ~87 us per byte.
 *
 * Input is interrupt-driven: with IER bit 0 the UART raises its line (ISA
 * IRQ 4, routed by the IOAPIC to vector T_COM1, ioapic.c) while received
 * bytes wait in its FIFO; console_intr() reads them all (LSR bit 0 says one
 * is there) and gives each to the terminal's line discipline (tty.c).
 */
#include <stdarg.h>

#include "kernel.h"
#include "x86.h"

#define COM1 0x3F8
#define UART_THR 0 /* transmit holding register (write) */
#define UART_IER 1 /* interrupt enable */
#define UART_FCR 2 /* FIFO control */
#define UART_LCR 3 /* line control: bit 7 = DLAB, the divisor latch */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status: bit 5 = THR empty */
#define LSR_THRE 0x20
#define LSR_DR 0x01  /* a received byte waits in RBR */
#define UART_RBR 0   /* receive buffer register (read) */
#define IER_RDA 0x01 /* interrupt: received data available */

void console_init(void)
{
	outb(COM1 + UART_IER, 0);    /* no interrupts (input comes later) */
	outb(COM1 + UART_LCR, 0x80); /* DLAB on: ports 0/1 are the divisor */
	outb(COM1 + 0, 1);           /* 115200 / 1 = 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03); /* DLAB off, 8 data bits, no parity, 1 stop bit */
	/* FCR is left alone: turning the FIFOs on would empty them, and throw
	 * away input typed (or piped into kvmlab) before the kernel got here.
	 * Without FIFOs the UART is a 16450; the interrupt handler reads every
	 * byte there is either way. */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

/* From now on received bytes raise IRQ 4 (ioapic_init routes it first). */
void console_enable_rx(void)
{
	outb(COM1 + UART_IER, IER_RDA);
	console_intr(); /* anything that came before: the line may already be up */
}

/* The receive interrupt: drain the FIFO. Emptying it lowers the line, so
 * the next byte is a new edge for the (edge-triggered) IOAPIC pin. */
void console_intr(void)
{
	for (int i = 0; i < 4096 && (inb(COM1 + UART_LSR) & LSR_DR); i++)
		tty_input(inb(COM1 + UART_RBR));
}

static void uart_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		;
	outb(COM1 + UART_THR, (u8)c);
}

static bool in_kprintf; /* kprintf's bytes also go to the kernel log (misc.c: dmesg) */

void console_putc(char c)
{
	if (in_kprintf)
		klog_putc(c);
	if (c == '\n')
		uart_putc('\r'); /* the terminal is raw: a newline needs its carriage return */
	uart_putc(c);
}

static void put_console(char c, void *arg)
{
	(void)arg;
	console_putc(c);
}

static int vkprintf(const char *fmt, va_list ap) { return kvformat(put_console, NULL, fmt, ap); }

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	in_kprintf = true;
	n = vkprintf(fmt, ap);
	in_kprintf = false;
	va_end(ap);
	return n;
}

/*
 * Ending the VM. kvmlab's exit port 0x501 ends it with exactly our status.
 * A VMM without that port ignores the write; QEMU-style isa-debug-exit (0xF4)
 * then ends it with (status << 1) | 1, so a caller can tell which one worked.
 */
void kexit(int status)
{
	cli();
	outb(0x501, (u8)status);
	outb(0xF4, (u8)status);
	for (;;)
		__asm__ volatile("hlt");
}

void panic(const char *fmt, ...)
{
	va_list ap;

	cli();
	kprintf("panic: ");
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	kexit(EXIT_PANIC);
}
