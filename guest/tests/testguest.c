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
 *   bench=N     N port writes in a row (each one a VM exit)
 *   reset       keyboard-controller reset (kvmlab exits 0)
 *   triple      triple fault (kvmlab reports it and exits 1)
 *   spin        loop forever (for signal and console tests)
 *   exit=N      end through the debug-exit port with N: status (N << 1) | 1
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

static void bench(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		outb(POST, (uint8_t)i);
	print("bench: %u exits done\n", n);
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

	si = start;
	uart_init();
	if (si->magic != START_INFO_MAGIC) {
		print("testguest: bad start info magic 0x%x\n", si->magic);
		return 0x7F;
	}
	cmdline_set((const char *)(uintptr_t)si->cmdline_paddr);
	print("testguest: hello, cmdline [%s]\n", (const char *)(uintptr_t)si->cmdline_paddr);
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
	if (cmdline_get("bench"))
		bench(parse_uint(cmdline_get("bench")));
	if (cmdline_has("reset"))
		guest_reset();
	if (cmdline_has("triple"))
		triple_fault();
	if (cmdline_has("spin"))
		for (;;)
			__asm__ volatile("pause");
	return parse_uint(cmdline_get("exit"));
}
