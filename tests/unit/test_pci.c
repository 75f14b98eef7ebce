/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "devices/pci.h"

/* Recorders: the machine's reset line and the INTx wires. */
struct fake_machine {
	int stops;
	enum machine_end how;
};

static void fake_stop(void *opaque, enum machine_end how, int status, const char *reason)
{
	struct fake_machine *m = opaque;

	(void)status;
	(void)reason;
	m->stops++;
	m->how = how;
}

static int levels[64]; /* by GSI */

static void fake_set_level(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	if (gsi < 64)
		levels[gsi] = level;
}

/* A device whose BARs record the last access and answer reads with a value. */
struct fake_bar {
	int calls;
	uint64_t offset;
	unsigned size;
	bool is_write;
	uint64_t written;
};

static void fake_bar_io(void *opaque, struct bus_access *a)
{
	struct fake_bar *f = opaque;

	f->calls++;
	f->offset = a->offset;
	f->size = a->size;
	f->is_write = a->is_write;
	if (a->is_write)
		f->written = bus_get(a);
	else
		bus_put(a, 0x1122334455667788ULL);
}

struct written_log {
	int calls;
	unsigned offset, size;
};

static void fake_cfg_written(struct pci_device *d, unsigned offset, unsigned size)
{
	struct written_log *w = d->opaque;

	w->calls++;
	w->offset = offset;
	w->size = size;
}

static struct bus pio, mmio;
static struct pci_bus pb;
static struct fake_machine machine;
static struct pci_device dev;
static struct fake_bar bar0, bar1;
static struct written_log wlog;

static void make_dev(struct pci_device *d)
{
	memset(d, 0, sizeof(*d));
	pci_set_u16(d, PCI_VENDOR_ID, 0x1234);
	pci_set_u16(d, PCI_DEVICE_ID, 0x5678);
	pci_set_u16(d, PCI_CLASS_DEVICE, 0xFF00);
	pci_set_u8(d, PCI_INTERRUPT_PIN, 1);
}

static void setup(void)
{
	struct machine_ctl ctl = { fake_stop, &machine };

	memset(&machine, 0, sizeof(machine));
	memset(levels, 0, sizeof(levels));
	memset(&bar0, 0, sizeof(bar0));
	memset(&bar1, 0, sizeof(bar1));
	memset(&wlog, 0, sizeof(wlog));
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	cr_assert_eq(pci_init(&pb, &pio, &mmio, &ctl, fake_set_level, NULL), 0);
	make_dev(&dev);
	dev.bar[0] = (struct pci_bar){ 0x1000, 0, fake_bar_io, &bar0 };
	dev.bar[1] = (struct pci_bar){ 0x4000, 0, fake_bar_io, &bar1 };
	dev.cfg_written = fake_cfg_written;
	dev.opaque = &wlog;
}

static void teardown(void)
{
	pci_destroy(&pb);
}

TestSuite(pci, .init = setup, .fini = teardown);

/* Port I/O as a guest does it, through the bus. */
static void out(uint16_t port, unsigned size, uint32_t v)
{
	uint8_t data[4];

	for (unsigned i = 0; i < size; i++)
		data[i] = (uint8_t)(v >> (8 * i));
	cr_assert(bus_dispatch(&pio, port, data, size, true));
}

static uint32_t in(uint16_t port, unsigned size)
{
	uint8_t data[4] = { 0 };
	uint32_t v = 0;

	cr_assert(bus_dispatch(&pio, port, data, size, false));
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)data[i] << (8 * i);
	return v;
}

static uint32_t addr_of(unsigned bus, unsigned slot, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xFC);
}

static uint32_t cfg_rd(unsigned slot, unsigned reg, unsigned size)
{
	out(0xCF8, 4, addr_of(0, slot, 0, reg));
	return in((uint16_t)(0xCFC + (reg & 3)), size);
}

static void cfg_wr(unsigned slot, unsigned reg, unsigned size, uint32_t v)
{
	out(0xCF8, 4, addr_of(0, slot, 0, reg));
	out((uint16_t)(0xCFC + (reg & 3)), size, v);
}

static uint64_t mmio_rd(uint64_t gpa, unsigned size)
{
	uint8_t data[8] = { 0 };
	uint64_t v = 0;

	bus_dispatch(&mmio, gpa, data, size, false);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static void mmio_wr(uint64_t gpa, unsigned size, uint64_t v)
{
	uint8_t data[8];

	for (unsigned i = 0; i < size; i++)
		data[i] = (uint8_t)(v >> (8 * i));
	bus_dispatch(&mmio, gpa, data, size, true);
}

Test(pci, ranges_are_registered)
{
	uint8_t d[4];

	/* Someone else cannot take 0xCFC or the window. */
	cr_assert_lt(bus_register(&pio, 0xCFC, 4, fake_bar_io, NULL, "x"), 0);
	cr_assert_lt(bus_register(&mmio, PCI_MMIO_BASE + 0x1000, 4, fake_bar_io, NULL, "x"), 0);
	cr_assert(bus_dispatch(&pio, 0xCF8, d, 4, false));
}

Test(pci, address_register_latches_dwords_only)
{
	out(0xCF8, 4, 0x80001234);
	cr_assert_eq(in(0xCF8, 4), 0x80001234);
	/* Reserved bits 30:24 and 1:0 do not stick. */
	out(0xCF8, 4, 0xFFFFFFFF);
	cr_assert_eq(in(0xCF8, 4), 0x80FFFFFC);
	/* Byte and word accesses do not reach it. */
	out(0xCF8, 4, 0x80000000);
	out(0xCF8, 1, 0x55);
	out(0xCF8, 2, 0x5555);
	out(0xCFA, 2, 0x5555);
	cr_assert_eq(in(0xCF8, 4), 0x80000000);
	cr_assert_eq(in(0xCF8, 2), 0xFFFF);
	cr_assert_eq(in(0xCFA, 1), 0xFF);
}

/* What Linux's pci_check_type1() does before it trusts mechanism #1. */
Test(pci, linux_check_type1)
{
	uint32_t saved;

	out(0xCFB, 1, 0x01);
	saved = in(0xCF8, 4);
	out(0xCF8, 4, 0x80000000);
	cr_assert_eq(in(0xCF8, 4), 0x80000000);
	/* pci_sanity_check(): a host bridge (or an Intel device) on bus 0. */
	out(0xCF8, 4, addr_of(0, 0, 0, PCI_CLASS_DEVICE));
	cr_assert_eq(in(0xCFE, 2), 0x0600);
	out(0xCF8, 4, saved);
	cr_assert_eq(in(0xCF8, 4), saved);
	cr_assert_eq(machine.stops, 0);
}

Test(pci, host_bridge_identity)
{
	cr_assert_eq(cfg_rd(0, PCI_VENDOR_ID, 2), 0x8086);
	cr_assert_eq(cfg_rd(0, PCI_DEVICE_ID, 2), 0x1237);
	cr_assert_eq(cfg_rd(0, 0x08, 4) >> 8, 0x060000, "class code");
	cr_assert_eq(cfg_rd(0, PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(cfg_rd(0, PCI_INTERRUPT_PIN, 1), 0);
	cr_assert_eq(cfg_rd(0, PCI_BAR0, 4), 0);
}

Test(pci, data_port_byte_word_dword)
{
	out(0xCF8, 4, addr_of(0, 0, 0, 0));
	cr_assert_eq(in(0xCFC, 4), 0x12378086);
	cr_assert_eq(in(0xCFC, 2), 0x8086);
	cr_assert_eq(in(0xCFE, 2), 0x1237);
	cr_assert_eq(in(0xCFC, 1), 0x86);
	cr_assert_eq(in(0xCFD, 1), 0x80);
	cr_assert_eq(in(0xCFE, 1), 0x37);
	cr_assert_eq(in(0xCFF, 1), 0x12);
	cr_assert_eq(in(0xCFD, 2), 0x3780);
	/* The low two bits of the address never select bytes. */
	out(0xCF8, 4, addr_of(0, 0, 0, 0) | 2);
	cr_assert_eq(in(0xCFC, 4), 0x12378086);
}

Test(pci, disabled_address_reads_all_ones)
{
	out(0xCF8, 4, 0x00000000);
	cr_assert_eq(in(0xCFC, 4), 0xFFFFFFFF);
	out(0xCFC, 4, 0);
	cr_assert_eq(cfg_rd(0, 0, 4), 0x12378086);
}

Test(pci, empty_slot_other_bus_other_function)
{
	cr_assert_eq(pci_add(&pb, &dev), 1);
	cr_assert_eq(cfg_rd(2, 0, 4), 0xFFFFFFFF, "empty slot");
	cr_assert_eq(cfg_rd(31, 0, 2), 0xFFFF);

	out(0xCF8, 4, addr_of(1, 1, 0, 0));
	cr_assert_eq(in(0xCFC, 4), 0xFFFFFFFF, "bus 1");
	out(0xCF8, 4, addr_of(0, 1, 3, 0));
	cr_assert_eq(in(0xCFC, 4), 0xFFFFFFFF, "function 3");

	/* Writes there are dropped: they do not land in slot 1. */
	out(0xCF8, 4, addr_of(1, 1, 0, PCI_COMMAND));
	out(0xCFC, 2, PCI_COMMAND_MEMORY);
	out(0xCF8, 4, addr_of(0, 1, 5, PCI_COMMAND));
	out(0xCFC, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(cfg_rd(1, PCI_COMMAND, 2), 0);
	cr_assert_eq(wlog.calls, 0);
}

Test(pci, reset_control_register)
{
	cr_assert_eq(in(0xCF9, 1), 0);
	out(0xCF9, 1, 0x02); /* hard reset type, not yet */
	cr_assert_eq(machine.stops, 0);
	cr_assert_eq(in(0xCF9, 1), 0x02);
	out(0xCF9, 1, 0x06); /* Linux's reboot=pci */
	cr_assert_eq(machine.stops, 1);
	cr_assert_eq(machine.how, MACHINE_RESET);
	cr_assert_eq(in(0xCF9, 1), 0x02, "bit 2 clears itself");
	/* A dword at 0xCF8 is the address register, not a reset. */
	out(0xCF8, 4, 0x80000600);
	cr_assert_eq(machine.stops, 1);
}

Test(pci, add_places_bars_and_routes_intx)
{
	struct pci_device d2;
	struct fake_bar b2 = { 0 };

	cr_assert_eq(pci_add(&pb, &dev), 1);
	cr_assert_eq(dev.slot, 1);
	cr_assert_eq(dev.bus, &pb);
	cr_assert_eq(cfg_rd(1, PCI_VENDOR_ID, 4), 0x56781234);
	cr_assert_eq(dev.bar[0].addr, PCI_MMIO_BASE);
	cr_assert_eq(dev.bar[1].addr & 0x3FFF, 0, "naturally aligned");
	cr_assert_geq(dev.bar[1].addr, dev.bar[0].addr + 0x1000);
	cr_assert_eq(cfg_rd(1, PCI_BAR0, 4), dev.bar[0].addr);
	cr_assert_eq(cfg_rd(1, PCI_BAR0 + 4, 4), dev.bar[1].addr);
	cr_assert_eq(cfg_rd(1, PCI_BAR0 + 8, 4), 0, "no BAR2");
	cr_assert_eq(cfg_rd(1, PCI_INTERRUPT_PIN, 1), 1);
	cr_assert_eq(cfg_rd(1, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI_BASE + 1);
	cr_assert_eq(dev.intx.gsi, PCI_INTX_GSI_BASE + 1);
	irq_line_set(&dev.intx, 1);
	cr_assert_eq(levels[PCI_INTX_GSI_BASE + 1], 1);

	make_dev(&d2);
	d2.bar[0] = (struct pci_bar){ 0x1000, 0, fake_bar_io, &b2 };
	cr_assert_eq(pci_add(&pb, &d2), 2);
	cr_assert_eq(cfg_rd(2, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI_BASE + 2);
	cr_assert_geq(d2.bar[0].addr, dev.bar[1].addr + 0x4000, "no overlap");
}

Test(pci, device_without_pin_gets_no_intx)
{
	dev.cfg[PCI_INTERRUPT_PIN] = 0;
	cr_assert_eq(pci_add(&pb, &dev), 1);
	cr_assert_eq(cfg_rd(1, PCI_INTERRUPT_PIN, 1), 0);
	cr_assert_null(dev.intx.set_level);
}

Test(pci, add_refuses_bad_bars_and_full_window)
{
	struct pci_device big, odd, small;
	struct fake_bar b = { 0 };

	make_dev(&odd);
	odd.bar[0] = (struct pci_bar){ 0x3000, 0, fake_bar_io, &b };
	cr_assert_eq(pci_add(&pb, &odd), -1, "not a power of 2");
	odd.bar[0] = (struct pci_bar){ 0x800, 0, fake_bar_io, &b };
	cr_assert_eq(pci_add(&pb, &odd), -1, "under 4 KiB");
	odd.bar[0] = (struct pci_bar){ 0x1000, 0, NULL, &b };
	cr_assert_eq(pci_add(&pb, &odd), -1, "no handler");

	cr_assert_eq(pci_add(&pb, &dev), 1);
	make_dev(&big);
	big.bar[0] = (struct pci_bar){ (uint32_t)PCI_MMIO_SIZE, 0, fake_bar_io, &b };
	cr_assert_eq(pci_add(&pb, &big), -1, "window full");
	cr_assert_null(pb.dev[2], "nothing changed");
	make_dev(&small);
	small.bar[0] = (struct pci_bar){ 0x1000, 0, fake_bar_io, &b };
	cr_assert_eq(pci_add(&pb, &small), 2);
}

Test(pci, add_refuses_when_bus_full)
{
	static struct pci_device d[PCI_MAX_SLOTS];

	for (int i = 1; i < PCI_MAX_SLOTS; i++) {
		make_dev(&d[i]);
		cr_assert_eq(pci_add(&pb, &d[i]), i);
	}
	make_dev(&d[0]);
	cr_assert_eq(pci_add(&pb, &d[0]), -1);
}

Test(pci, bar_sizing)
{
	uint32_t orig;

	pci_add(&pb, &dev);
	orig = cfg_rd(1, PCI_BAR0, 4);
	cfg_wr(1, PCI_BAR0, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_rd(1, PCI_BAR0, 4), 0xFFFFF000, "4 KiB, 32-bit memory");
	cfg_wr(1, PCI_BAR0 + 4, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_rd(1, PCI_BAR0 + 4, 4), 0xFFFFC000, "16 KiB");
	cfg_wr(1, PCI_BAR0 + 8, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_rd(1, PCI_BAR0 + 8, 4), 0, "unimplemented");
	cfg_wr(1, 0x30, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_rd(1, 0x30, 4), 0, "no expansion ROM");
	cfg_wr(1, PCI_BAR0, 4, orig);
	cr_assert_eq(cfg_rd(1, PCI_BAR0, 4), orig);
	cr_assert_eq(dev.bar[0].addr, orig);
}

Test(pci, bar_move_and_decode)
{
	uint64_t where = PCI_MMIO_BASE + 0x100000;

	pci_add(&pb, &dev);
	/* Decoding is off until the guest turns it on. */
	cr_assert_eq(mmio_rd(dev.bar[1].addr, 4), 0xFFFFFFFF);
	cr_assert_eq(bar1.calls, 0);

	cfg_wr(1, PCI_BAR0 + 4, 4, (uint32_t)where | 0xABC); /* low bits are not address */
	cr_assert_eq(cfg_rd(1, PCI_BAR0 + 4, 4), where);
	cfg_wr(1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(mmio_rd(where + 0x10, 4), 0x55667788);
	cr_assert_eq(bar1.calls, 1);
	cr_assert_eq(bar1.offset, 0x10);
	mmio_wr(where + 0x3FF8, 8, 0xAABBCCDDEEFF0011ULL);
	cr_assert_eq(bar1.calls, 2);
	cr_assert_eq(bar1.offset, 0x3FF8);
	cr_assert_eq(bar1.size, 8);
	cr_assert_eq(bar1.written, 0xAABBCCDDEEFF0011ULL);

	/* Straddling the end of the BAR: nobody's. */
	cr_assert_eq(mmio_rd(where + 0x3FFC, 8), 0xFFFFFFFFFFFFFFFFULL);
	mmio_wr(where + 0x3FFE, 4, 0);
	cr_assert_eq(bar1.calls, 2);

	/* Memory decode off: all-ones, writes dropped. */
	cfg_wr(1, PCI_COMMAND, 2, 0);
	cr_assert_eq(mmio_rd(where, 4), 0xFFFFFFFF);
	mmio_wr(where, 4, 1);
	cr_assert_eq(bar1.calls, 2);

	/* BAR0 with decode on, byte-wise moved. */
	cfg_wr(1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg_wr(1, PCI_BAR0 + 2, 2, 0xC020);
	cr_assert_eq(dev.bar[0].addr, 0xC0200000);
	cr_assert_eq(mmio_rd(0xC0200004, 2), 0x7788);
	cr_assert_eq(bar0.offset, 4);
	cr_assert_eq(pci_bar_live(&dev, 0), 0xC0200000);

	/* Moved out of the window: not decoded. */
	cfg_wr(1, PCI_BAR0, 4, 0xE0000000);
	cr_assert_eq(pci_bar_live(&dev, 0), 0);
	cr_assert_eq(pci_bar_live(&dev, 2), 0, "unimplemented");
}

Test(pci, write_masks)
{
	pci_add(&pb, &dev);
	cfg_wr(1, PCI_COMMAND, 4, 0xFFFFFFFF);
	cr_assert_eq(cfg_rd(1, PCI_COMMAND, 2), 0x0406, "memory, master, INTx disable");
	cr_assert_eq(cfg_rd(1, PCI_STATUS, 2), 0);
	cfg_wr(1, PCI_VENDOR_ID, 4, 0);
	cr_assert_eq(cfg_rd(1, PCI_VENDOR_ID, 4), 0x56781234);
	cfg_wr(1, 0x08, 4, 0);
	cr_assert_eq(cfg_rd(1, PCI_CLASS_DEVICE, 2), 0xFF00);
	cfg_wr(1, PCI_INTERRUPT_LINE, 2, 0xFF0B);
	cr_assert_eq(cfg_rd(1, PCI_INTERRUPT_LINE, 1), 0x0B, "line is the OS's");
	cr_assert_eq(cfg_rd(1, PCI_INTERRUPT_PIN, 1), 1, "pin is not");
	cfg_wr(1, PCI_CAPABILITY_LIST, 1, 0x40);
	cr_assert_eq(cfg_rd(1, PCI_CAPABILITY_LIST, 1), 0);
	cfg_wr(0, PCI_COMMAND, 2, 0xFFFF);
	cr_assert_eq(cfg_rd(0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_wr(0, PCI_VENDOR_ID, 2, 0);
	cr_assert_eq(cfg_rd(0, PCI_VENDOR_ID, 2), 0x8086);
}

Test(pci, cfg_written_hook)
{
	pci_add(&pb, &dev);
	cfg_wr(1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(wlog.calls, 1);
	cr_assert_eq(wlog.offset, PCI_COMMAND);
	cr_assert_eq(wlog.size, 2);
	cfg_wr(1, PCI_BAR0 + 7, 1, 0xC1);
	cr_assert_eq(wlog.calls, 2);
	cr_assert_eq(wlog.offset, PCI_BAR0 + 7);
	cr_assert_eq(wlog.size, 1);
	cfg_rd(1, 0, 4);
	cr_assert_eq(wlog.calls, 2, "not on reads");
}

Test(pci, capability_list)
{
	unsigned a, b, c, off;
	int n = 0;

	cr_assert_eq(pci_get(&dev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	a = pci_add_cap(&dev, PCI_CAP_ID_VNDR, 16);
	b = pci_add_cap(&dev, PCI_CAP_ID_VNDR, 13);
	c = pci_add_cap(&dev, PCI_CAP_ID_MSIX, 12);
	cr_assert_eq(a, 0x40);
	cr_assert_eq(b, 0x50);
	cr_assert_eq(c, 0x60, "dword aligned after 13 bytes");
	pci_add(&pb, &dev);
	cr_assert(cfg_rd(1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);

	/* Walk it as an OS does. */
	for (off = cfg_rd(1, PCI_CAPABILITY_LIST, 1); off; off = cfg_rd(1, off + 1, 1)) {
		cr_assert_eq(off & 3, 0);
		cr_assert_geq(off, 0x40);
		cr_assert_lt(n, 3);
		cr_assert_eq(cfg_rd(1, off, 1), n < 2 ? PCI_CAP_ID_VNDR : PCI_CAP_ID_MSIX);
		n++;
	}
	cr_assert_eq(n, 3);

	/* Until config space is full. */
	while ((off = pci_add_cap(&dev, PCI_CAP_ID_VNDR, 4)) != 0)
		cr_assert_leq(off, 0xFC);
	cr_assert_eq(pci_add_cap(&dev, PCI_CAP_ID_VNDR, 2), 0);
	cr_assert_eq(pci_add_cap(&dev, PCI_CAP_ID_VNDR, 1), 0, "too short");
}

Test(pci, helpers_little_endian)
{
	pci_set_u32(&dev, 0x40, 0x11223344);
	cr_assert_eq(dev.cfg[0x40], 0x44);
	cr_assert_eq(pci_get(&dev, 0x41, 2), 0x2233);
	cr_assert_eq(pci_get(&dev, 0x40, 4), 0x11223344);
	pci_set_u16(&dev, 0xFF, 0xAAAA); /* the byte past the end is not written */
	cr_assert_eq(pci_get(&dev, 0xFE, 4), 0xAA00);
}
