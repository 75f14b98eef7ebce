/*
 * The VMM's own test guest. What it does is chosen by words on its command
 * line, so one image serves every integration test:
 *   memmap      print the RAM the memory map describes
 *   initrd      print the initrd's size and first line
 *   mmio        read and write an address nobody claims
 *   ports       read a port nobody claims; write a POST code
 *   rep         print a line through string I/O (rep outsb)
 *   echo        print "ready>", read a line from the UART, print it back
 *               with its length
 *   irq         the same, but sleeping in hlt and taking the UART's RX
 *               interrupt (IRQ 4 through the in-kernel PIC) for each byte
 *   cpuid       print what CPUID says about the hypervisor
 *   pci         list PCI bus 0 (configuration mechanism #1): ids, class,
 *               BAR0 and its size, the capabilities; for a virtio-blk, the
 *               capacity read through its device configuration structure
 *   pcireset    reset the machine through port 0xCF9 (kvmlab exits 0)
 *   bench=N     N port writes in a row (each one a VM exit)
 *   mark=LABEL  a trace marker: LABEL and a 0 to kvmlab's marker port 0x510
 *               with one rep outsb (docs/tracing.md). The mark= and
 *               bench= words run in the order given, where bench runs
 *   reset       keyboard-controller reset (kvmlab exits 0)
 *   triple      triple fault (kvmlab reports it and exits 1)
 *   spin        loop forever (for signal and console tests)
 *   status=N    end through kvmlab's exit port 0x501: status N, 0 included
 *   exit=N      end through the debug-exit port with N: status (N << 1) | 1
 *   ask         first print "ask>" and read a line from the UART: its words
 *               replace the command line's (a test drives each boot of a
 *               restarting guest this way)
 */
#include "guest/tests/lib.h"

static const struct start_info *si;

static void show_memmap(void)
{
	const struct memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
	uint64_t ram = 0;

	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		print("memmap: %08x%08x-%08x%08x type %u\n", (uint32_t)(e[i].addr >> 32),
		      (uint32_t)e[i].addr, (uint32_t)((e[i].addr + e[i].size - 1) >> 32),
		      (uint32_t)(e[i].addr + e[i].size - 1), e[i].type);
		if (e[i].type == 1)
			ram += e[i].size;
	}
	print("memmap: ram %u KiB\n", (uint32_t)(ram >> 10));
}

static void show_initrd(void)
{
	const struct start_module *m = (const void *)(uintptr_t)si->modlist_paddr;
	const char *data;
	char line[64];
	int n = 0;

	if (!si->nr_modules) {
		print("initrd: none\n");
		return;
	}
	data = (const char *)(uintptr_t)m->paddr;
	while (n < (int)sizeof(line) - 1 && (uint64_t)n < m->size && data[n] != '\n') {
		line[n] = data[n];
		n++;
	}
	line[n] = '\0';
	print("initrd: %u bytes at 0x%x: %s\n", (uint32_t)m->size, (uint32_t)m->paddr, line);
}

static void poke_mmio(void)
{
	volatile uint32_t *p = (volatile uint32_t *)0xD0000000u;
	uint32_t before = *p;

	*p = 0x12345678;
	print("mmio: read 0x%x, after write 0x%x\n", before, *p);
}

static void poke_ports(void)
{
	outb(POST, 0x42);
	print("ports: unclaimed port read 0x%x\n", inb(0x3000));
}

static void string_io(void)
{
	static const char msg[] = "rep: hello through string I/O\r\n";
	uint32_t n = sizeof(msg) - 1;
	const char *p = msg;

	/* The UART is byte-wide: one exit carries the whole string (count > 1). */
	__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(COM1) : "memory");
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* The loop bench/floor.c runs too: port writes only, timed by the TSC. */
static void bench(uint32_t n)
{
	uint64_t t0 = rdtsc(), t;

	for (uint32_t i = 0; i < n; i++)
		outb(POST, (uint8_t)i);
	t = rdtsc() - t0;
	print("bench: %u exits in 0x%08x%08x cycles\n", n, (uint32_t)(t >> 32), (uint32_t)t);
}

/* A trace marker: the label (up to a blank) and its ending 0, in one rep outsb. */
static void mark(const char *label)
{
	char buf[64];
	uint32_t n = 0;
	const char *p = buf;

	while (label[n] && label[n] != ' ' && n < sizeof(buf) - 1) {
		buf[n] = label[n];
		n++;
	}
	buf[n++] = '\0';
	__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(0x510) : "memory");
}

static int starts_with(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

/* The words mark=LABEL and bench=N of the command line, in their order. */
static void marks_and_benches(const char *p)
{
	while (*p) {
		while (*p == ' ')
			p++;
		if (starts_with(p, "mark="))
			mark(p + 5);
		else if (starts_with(p, "bench="))
			bench(parse_uint(p + 6));
		while (*p && *p != ' ')
			p++;
	}
}

/* --- interrupts: IDT, PIC, the UART's RX interrupt ------------------------- */

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

static struct idt_gate idt[0x30];
static volatile char irq_buf[128];
static volatile uint32_t irq_len, irq_count, irq_done;

void irq4_entry(void);
void irq4_handler(void);

/* Vector 0x24's entry: save registers, call the C handler, return. */
__asm__(".text\n"
	".globl irq4_entry\n"
	"irq4_entry:\n"
	"	pusha\n"
	"	cld\n"
	"	call irq4_handler\n"
	"	popa\n"
	"	iret\n");

/* Called from irq4_entry for vector 0x24: take every byte the FIFO holds. */
void irq4_handler(void)
{
	irq_count++;
	while (inb(COM1 + 5) & 0x01) {
		char c = (char)inb(COM1);

		if (c == '\r' || c == '\n')
			irq_done = 1;
		else if (!irq_done && irq_len < sizeof(irq_buf) - 1)
			irq_buf[irq_len++] = c; /* one line: what follows it (kvmlab's ^D) is not ours */
	}
	outb(0x20, 0x20); /* end of interrupt to the master PIC */
}

static void pic_init(void)
{
	outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(0xA0, 0x11);
	outb(0x21, 0x20); /* ICW2: IRQ 0-7 -> vectors 0x20-0x27 */
	outb(0xA1, 0x28);
	outb(0x21, 0x04); /* ICW3: slave on IRQ 2 */
	outb(0xA1, 0x02);
	outb(0x21, 0x01); /* ICW4: 8086 mode */
	outb(0xA1, 0x01);
	outb(0x21, 0xEF); /* only IRQ 4 unmasked */
	outb(0xA1, 0xFF);
}

static void irq_echo(void)
{
	static const struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
	uint32_t h = (uint32_t)(uintptr_t)irq4_entry, cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[0x24] = (struct idt_gate){ (uint16_t)h, (uint16_t)cs, 0, 0x8E, (uint16_t)(h >> 16) };
	__asm__ volatile("lidt %0" : : "m"(idtr));
	pic_init();
	outb(COM1 + 4, 0x0B); /* DTR, RTS, OUT2 */
	outb(COM1 + 1, 0x01); /* interrupt on received data */
	print("irq: ready>\n");
	/* Sleep until the line is complete; only the interrupt wakes us. */
	while (!irq_done)
		__asm__ volatile("sti; hlt; cli");
	outb(COM1 + 1, 0x00);
	irq_buf[irq_len] = '\0';
	print("irq: got [%s] in %u interrupts\n", (const char *)irq_buf, irq_count);
}

static void show_cpuid(void)
{
	uint32_t a, b, c, d;
	char sig[13];

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	print("cpuid: hypervisor bit %u, apic id %u\n", c >> 31, b >> 24);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	print("cpuid: leaf 0x40000000 signature [%s], max leaf 0x%x\n", sig, a);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000001), "c"(0));
	print("cpuid: kvm-clock %u\n", (a >> 3) & 1); /* KVM_FEATURE_CLOCKSOURCE2 */
	print("cpuid: pv-eoi %u\n", (a >> 6) & 1);    /* KVM_FEATURE_PV_EOI */
}

static uint32_t pci_read(unsigned slot, unsigned reg)
{
	outl(0xCF8, 0x80000000u | slot << 11 | (reg & 0xFC));
	return inl(0xCFC);
}

static void pci_write(unsigned slot, unsigned reg, uint32_t v)
{
	outl(0xCF8, 0x80000000u | slot << 11 | (reg & 0xFC));
	outl(0xCFC, v);
}

/* Size BAR0 the way firmware does: all-ones in, read the mask back, restore. */
static uint32_t pci_bar0_size(unsigned slot)
{
	uint32_t bar = pci_read(slot, 0x10), mask;

	pci_write(slot, 0x10, 0xFFFFFFFFu);
	mask = pci_read(slot, 0x10);
	pci_write(slot, 0x10, bar);
	return mask & ~0xFu ? ~(mask & ~0xFu) + 1 : 0;
}

/* A virtio-pci capability's cfg_type; for the device structure, its place in BAR0. */
static void pci_virtio_cap(unsigned slot, unsigned cap, uint32_t bar0)
{
	uint32_t w = pci_read(slot, cap), off = pci_read(slot, cap + 8);
	unsigned type = (w >> 24) & 0xFF;

	print("pci:   virtio cap type %u at 0x%x\n", type, off);
	if (type == 4 && pci_read(slot, 0) >> 16 == 0x1042) {
		volatile uint32_t *cfg = (volatile uint32_t *)(uintptr_t)(bar0 + off);

		print("pci:   virtio-blk capacity %u sectors\n", cfg[0]);
	}
}

static void pci_list(void)
{
	for (unsigned slot = 0; slot < 32; slot++) {
		uint32_t id = pci_read(slot, 0), class, bar0;

		if (id == 0xFFFFFFFFu)
			continue;
		class = pci_read(slot, 8) >> 8;
		bar0 = pci_read(slot, 0x10) & ~0xFu;
		print("pci: slot %u %x:%x class %x bar0 0x%x size 0x%x\n", slot, id & 0xFFFF,
		      id >> 16, class, bar0, pci_bar0_size(slot));
		if (!(pci_read(slot, 4) >> 16 & 0x10))
			continue;
		pci_write(slot, 4, pci_read(slot, 4) | 2); /* memory decoding on */
		for (unsigned cap = pci_read(slot, 0x34) & 0xFC, n = 0; cap && n < 48; n++) {
			uint32_t w = pci_read(slot, cap);

			if ((w & 0xFF) == 0x09)
				pci_virtio_cap(slot, cap, bar0);
			else
				print("pci:   cap 0x%x\n", w & 0xFF);
			cap = (w >> 8) & 0xFC;
		}
	}
	print("pci: slot 0 on bus 1 reads 0x%x\n",
	      (outl(0xCF8, 0x80010000u), inl(0xCFC)));
}

static void triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) empty_idt = { 0, 0 };

	/* No IDT: the breakpoint cannot be delivered, nor the double fault. */
	__asm__ volatile("lidt %0; int3" : : "m"(empty_idt));
}

int guest_main(const struct start_info *start)
{
	char line[128];
	const char *words;

	si = start;
	uart_init();
	if (si->magic != START_INFO_MAGIC) {
		print("testguest: bad start info magic 0x%x\n", si->magic);
		return 0x7F;
	}
	words = (const char *)(uintptr_t)si->cmdline_paddr;
	cmdline_set(words);
	print("testguest: hello, cmdline [%s]\n", (const char *)(uintptr_t)si->cmdline_paddr);
	if (cmdline_has("ask")) {
		static char asked[128];

		print("ask>\n");
		read_line(asked, sizeof(asked));
		print("ask: [%s]\n", asked);
		cmdline_set(asked);
		words = asked;
	}
	if (cmdline_has("memmap"))
		show_memmap();
	if (cmdline_has("initrd"))
		show_initrd();
	if (cmdline_has("mmio"))
		poke_mmio();
	if (cmdline_has("ports"))
		poke_ports();
	if (cmdline_has("rep"))
		string_io();
	if (cmdline_has("echo")) {
		print("ready>\n");
		uint32_t n = read_line(line, sizeof(line));

		print("got: [%s] (%u chars)\n", line, n);
	}
	if (cmdline_has("irq"))
		irq_echo();
	if (cmdline_has("cpuid"))
		show_cpuid();
	if (cmdline_has("pci"))
		pci_list();
	if (cmdline_has("pcireset"))
		outb(0xCF9, 0x06);
	marks_and_benches(words);
	if (cmdline_has("reset"))
		guest_reset();
	if (cmdline_has("triple"))
		triple_fault();
	if (cmdline_get("status"))
		outb(0x501, (uint8_t)parse_uint(cmdline_get("status")));
	if (cmdline_has("spin"))
		for (;;)
			__asm__ volatile("pause");
	return parse_uint(cmdline_get("exit"));
}
