/*
 * The guest kvmlab boots when given no kernel (until the teaching kernel
 * takes its place): it shows where it is and echoes what you type.
 */
#include "guest/tests/lib.h"

static void show_memory(const struct start_info *si)
{
	const struct memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;

	print("The memory map kvmlab handed over (hvm_start_info):\n");
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		print("  %08x%08x +%u KiB  %s\n", (uint32_t)(e[i].addr >> 32), (uint32_t)e[i].addr,
		      (uint32_t)(e[i].size >> 10), e[i].type == 1 ? "RAM" : "reserved");
}

int guest_main(const struct start_info *si)
{
	uart_init();
	print("\nHello from inside a KVM virtual machine!\n\n");
	print("This is kvmlab's built-in demo guest. kvmlab loaded it through PVH: the vCPU\n"
	      "started in 32-bit protected mode with paging off, and every character you see\n"
	      "is a write to the 16550A UART's port 0x3F8 -- a VM exit that kvmlab handled.\n\n");
	if (si->magic == START_INFO_MAGIC) {
		show_memory(si);
		print("Command line: [%s]\n\n", (const char *)(uintptr_t)si->cmdline_paddr);
	}
	print("Type something: it comes back through the UART. 'q' resets the machine\n"
	      "(kvmlab exits 0); Ctrl-A x quits kvmlab from outside.\n\n> ");
	for (;;) {
		int c = uart_getc();

		if (c == 'q') {
			print("q\nResetting through the keyboard controller. Bye.\n");
			guest_reset();
		}
		if (c == '\r' || c == '\n')
			print("\n> ");
		else
			uart_putc((char)c);
	}
}
