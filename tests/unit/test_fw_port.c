/* SPDX-License-Identifier: MIT */
/* --firmware: the port interface device, the ROM image, the memory map, the option. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "devices/fw_port.h"
#include "vmm/boot/boot.h"
#include "vmm/bus.h"
#include "vmm/cli.h"

extern const uint8_t firmware_start[], firmware_end[];

static struct fw_port fw;
static struct bus pio;

static void setup(void)
{
	fw_port_init(&fw, FW_MODE_PVH32, 0x100123, 0x6000, 2, 64ULL << 20);
	bus_init(&pio, "port");
	cr_assert_eq(bus_register(&pio, FW_PORT_SEL, FW_PORT_LEN, fw_port_io, &fw, "fw"), 0);
}

static void out(uint16_t port, unsigned size, uint64_t v)
{
	uint8_t d[8];

	for (unsigned i = 0; i < size; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	cr_assert(bus_dispatch(&pio, port, d, size, true), "write to 0x%x unclaimed", port);
}

static uint64_t in(uint16_t port, unsigned size)
{
	uint8_t d[8];
	uint64_t v = 0;

	memset(d, 0xAA, sizeof(d));
	cr_assert(bus_dispatch(&pio, port, d, size, false), "read of 0x%x unclaimed", port);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

/* The firmware's way: select with a byte, read 32 bits. */
static uint32_t item(uint8_t n)
{
	out(FW_PORT_SEL, 1, n);
	return (uint32_t)in(FW_PORT_DATA, 4);
}

TestSuite(fw_port, .init = setup);

Test(fw_port, the_items_the_firmware_reads)
{
	cr_assert_eq(item(FW_ITEM_SIGNATURE), FW_SIGNATURE);
	cr_assert_eq(item(FW_ITEM_SIGNATURE), 0x424C564B); /* "KVLB" */
	cr_assert_eq(item(FW_ITEM_VERSION), 1);
	cr_assert_eq(item(FW_ITEM_BOOT_MODE), FW_MODE_PVH32);
	cr_assert_eq(item(FW_ITEM_ENTRY), 0x100123);
	cr_assert_eq(item(FW_ITEM_EBX), 0x6000);
	cr_assert_eq(item(FW_ITEM_NR_CPUS), 2);
	cr_assert_eq(item(FW_ITEM_RAM_BELOW_4G), 64 << 20);
	/* Long-mode items are 0 for a PVH kernel. */
	cr_assert_eq(item(FW_ITEM_RSI), 0);
	cr_assert_eq(item(FW_ITEM_CR3), 0);
}

Test(fw_port, linux64_items)
{
	fw_port_init(&fw, FW_MODE_PVH32, 0x100200, 0, 1, 64ULL << 20);
	fw_port_set(&fw, FW_ITEM_BOOT_MODE, FW_MODE_LINUX64);
	fw_port_set(&fw, FW_ITEM_RSI, 0x7000);
	fw_port_set(&fw, FW_ITEM_CR3, BOOT_PML4_ADDR);
	fw_port_set(&fw, FW_NR_ITEMS, 0x1234); /* out of range: ignored */
	cr_assert_eq(item(FW_ITEM_BOOT_MODE), FW_MODE_LINUX64);
	cr_assert_eq(item(FW_ITEM_RSI), 0x7000);
	cr_assert_eq(item(FW_ITEM_CR3), 0x1000);
	cr_assert_eq(item(FW_ITEM_ENTRY), 0x100200);
	cr_assert_eq(item(FW_NR_ITEMS), 0);
}

Test(fw_port, reads_move_on_and_end_in_zeros)
{
	fw_port_init(&fw, FW_MODE_PVH32, 0x1122334455667788ULL, 0, 1, 0);
	out(FW_PORT_SEL, 1, FW_ITEM_ENTRY);
	cr_assert_eq(in(FW_PORT_DATA, 1), 0x88);
	cr_assert_eq(in(FW_PORT_DATA, 2), 0x6677);
	cr_assert_eq(in(FW_PORT_DATA, 4), 0x22334455);
	cr_assert_eq(in(FW_PORT_DATA, 1), 0x11);
	/* Past the 8 bytes: zeros, however often. */
	cr_assert_eq(in(FW_PORT_DATA, 4), 0);
	cr_assert_eq(in(FW_PORT_DATA, 1), 0);
	/* Selecting again starts at byte 0; the high half is there as well. */
	out(FW_PORT_SEL, 1, FW_ITEM_ENTRY);
	cr_assert_eq(in(FW_PORT_DATA, 4), 0x55667788);
	cr_assert_eq(in(FW_PORT_DATA, 4), 0x11223344);
}

Test(fw_port, selector_low_byte_and_read_back)
{
	out(FW_PORT_SEL, 2, 0x0100 | FW_ITEM_EBX); /* a word: the low byte counts */
	cr_assert_eq(in(FW_PORT_SEL, 1), FW_ITEM_EBX);
	cr_assert_eq(in(FW_PORT_DATA, 4), 0x6000);
}

Test(fw_port, unknown_items_read_zero)
{
	cr_assert_eq(item(FW_NR_ITEMS), 0);
	cr_assert_eq(item(0xFF), 0);
}

Test(fw_port, data_writes_are_ignored)
{
	out(FW_PORT_SEL, 1, FW_ITEM_ENTRY);
	out(FW_PORT_DATA, 4, 0xDEADBEEF);
	cr_assert_eq(in(FW_PORT_DATA, 4), 0x100123, "the write neither changed nor advanced it");
}

Test(fw_port, the_ports_around_are_not_ours)
{
	uint8_t d[4];

	cr_assert_not(bus_dispatch(&pio, FW_PORT_SEL - 1, d, 1, false));
	cr_assert_not(bus_dispatch(&pio, FW_PORT_SEL + FW_PORT_LEN, d, 1, false));
	/* 0x522-0x524 exist only as the upper bytes of a 32-bit data read. */
	cr_assert_eq(in(0x522, 1), 0xFF);
}

/* --- the ROM image ------------------------------------------------------------- */

Test(firmware_image, one_page_with_the_reset_vector_at_its_end)
{
	size_t size = (size_t)(firmware_end - firmware_start);
	const uint8_t *reset = firmware_start + size - 16;
	int16_t rel;
	uint16_t ip;

	cr_assert_eq(size, 4096);
	/* 0xFFFFFFF0: a near jmp (E9 rel16) that stays in the reset CS segment. */
	cr_assert_eq(reset[0], 0xE9);
	memcpy(&rel, reset + 1, 2);
	ip = (uint16_t)(0xFFF0 + 3 + rel);
	cr_assert_geq(ip, 0x10000 - size, "jumps to IP 0x%x, below the ROM", ip);
	cr_assert_lt(ip, 0xFFF0);
}

Test(firmware_image, gdt_accessed_bits_preset)
{
	/* Code 0x10 and data 0x18, flat, accessed: no descriptor write to the ROM. */
	uint64_t code, data;

	memcpy(&code, firmware_start + 0x10, 8);
	memcpy(&data, firmware_start + 0x18, 8);
	cr_assert_eq(code, 0x00CF9B000000FFFFULL);
	cr_assert_eq(data, 0x00CF93000000FFFFULL);
	/* The long-mode GDT after it: 0x10 a 64-bit code segment (L set, D clear). */
	memcpy(&code, firmware_start + 0x28 + 0x10, 8);
	memcpy(&data, firmware_start + 0x28 + 0x18, 8);
	cr_assert_eq(code, 0x00AF9B000000FFFFULL);
	cr_assert_eq(data, 0x00CF93000000FFFFULL);
}

/* --- the memory map and the option ---------------------------------------------- */

Test(firmware_e820, rom_is_reserved)
{
	static uint8_t dummy;
	struct guest_mem m = { 0 };
	struct e820_entry e[E820_MAX];
	int n, plain;

	cr_assert_eq(gmem_add_region(&m, 0, &dummy, 64ULL << 20), 0);
	plain = e820_build(&m, e);
	m.rom_gpa = GMEM_4G - 4096;
	m.rom_size = 4096;
	n = e820_build(&m, e);
	cr_assert_eq(n, plain + 1);
	cr_assert_eq(e[n - 1].addr, 0xFFFFF000);
	cr_assert_eq(e[n - 1].size, 4096);
	cr_assert_eq(e[n - 1].type, E820_RESERVED);
}

Test(firmware_cli, option)
{
	char *argv_fw[] = { "kvmlab", "run", "--firmware", "k.elf", NULL };
	char *argv_plain[] = { "kvmlab", "run", "k.elf", NULL };
	struct cli c;
	char err[256];
	FILE *f;
	char *help = NULL;
	size_t len = 0;

	cr_assert_eq(cli_parse(4, argv_fw, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert(c.cfg.firmware);
	cr_assert_eq(cli_parse(3, argv_plain, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(c.cfg.firmware, "direct boot is the default");
	f = open_memstream(&help, &len);
	cli_usage(f);
	fclose(f);
	cr_assert(strstr(help, "--firmware"));
	free(help);
}
