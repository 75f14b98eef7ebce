/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "devices/serial.h"

/* A recorder for the interrupt line: every level change, in order. */
struct fake_irq {
	int levels[64];
	int n;
	unsigned last_gsi;
};

static void fake_set_level(void *opaque, unsigned gsi, int level)
{
	struct fake_irq *f = opaque;

	if (f->n < 64)
		f->levels[f->n] = level;
	f->n++;
	f->last_gsi = gsi;
}

/* A recorder for the backend: output bytes and rx_room calls. */
struct fake_be {
	uint8_t out[256];
	size_t len;
	int rx_room_calls;
};

static void fake_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake_be *f = opaque;

	for (size_t i = 0; i < len && f->len < sizeof(f->out); i++)
		f->out[f->len++] = buf[i];
}

static void fake_rx_room(void *opaque)
{
	struct fake_be *f = opaque;

	f->rx_room_calls++;
}

static struct serial s;
static struct fake_irq irq;
static struct fake_be be;

static void setup(void)
{
	struct irq_line line = { fake_set_level, &irq, SERIAL_COM1_IRQ };
	struct serial_backend b = { fake_write, fake_rx_room, &be };

	memset(&irq, 0, sizeof(irq));
	memset(&be, 0, sizeof(be));
	serial_init(&s, &line, &b);
}

static void teardown(void)
{
	serial_destroy(&s);
}

TestSuite(serial, .init = setup, .fini = teardown);

static void wr(unsigned off, uint8_t v)
{
	struct bus_access a = { .offset = off, .data = &v, .size = 1, .is_write = true };

	serial_io(&s, &a);
}

static uint8_t rd(unsigned off)
{
	uint8_t v = 0xEE;
	struct bus_access a = { .offset = off, .data = &v, .size = 1, .is_write = false };

	serial_io(&s, &a);
	return v;
}

/* Current level as the line last saw it (0 if never driven). */
static int line(void)
{
	return irq.n ? irq.levels[irq.n - 1] : 0;
}

Test(serial, thr_output_reaches_backend)
{
	wr(0, 'h');
	wr(0, 'i');
	cr_assert_eq(be.len, 2);
	cr_assert_eq(memcmp(be.out, "hi", 2), 0);
}

Test(serial, dlab_switches_to_divisor_latch)
{
	wr(1, 0x05);	/* IER */
	wr(3, 0x83);	/* DLAB, 8N1 */
	wr(0, 0x0C);	/* DLL */
	wr(1, 0x01);	/* DLM */
	cr_assert_eq(be.len, 0, "THR written while DLAB set");
	cr_assert_eq(rd(0), 0x0C);
	cr_assert_eq(rd(1), 0x01);
	cr_assert_eq(rd(3), 0x83);

	wr(3, 0x03);
	cr_assert_eq(rd(1), 0x05, "DLM write leaked into IER");
	wr(0, 'x');
	cr_assert_eq(be.len, 1);
	cr_assert_eq(be.out[0], 'x');

	/* The divisor survives the DLAB round trip. */
	wr(3, 0x83);
	cr_assert_eq(rd(0), 0x0C);
	cr_assert_eq(rd(1), 0x01);
}

Test(serial, scratch_register)
{
	wr(7, 0x5A);
	cr_assert_eq(rd(7), 0x5A);
	wr(7, 0xA5);
	cr_assert_eq(rd(7), 0xA5);
}

Test(serial, ier_and_mcr_masked)
{
	wr(1, 0xFF);
	cr_assert_eq(rd(1), 0x0F);
	wr(1, 0x00);
	wr(4, 0xEF);
	cr_assert_eq(rd(4), 0x0F);
}

Test(serial, lsr_bits)
{
	uint8_t c = 'a';

	cr_assert_eq(rd(5), 0x60, "THRE|TEMT at reset");
	cr_assert_eq(serial_receive(&s, &c, 1), 1);
	cr_assert_eq(rd(5), 0x61);
	cr_assert_eq(rd(0), 'a');
	cr_assert_eq(rd(5), 0x60);
	wr(0, 'z');
	cr_assert_eq(rd(5), 0x60, "transmitter must be empty after THR write");
}

Test(serial, rbr_empty_reads_zero)
{
	cr_assert_eq(rd(0), 0);
	cr_assert_eq(rd(5) & 0x01, 0);
}

Test(serial, iir_reset_and_fifo_bits)
{
	cr_assert_eq(rd(2), 0x01);
	wr(2, 0x01);
	cr_assert_eq(rd(2), 0xC1);
	wr(2, 0x00);
	cr_assert_eq(rd(2), 0x01);
	cr_assert_eq(irq.n, 0);
}

Test(serial, thre_interrupt)
{
	wr(1, 0x02);
	cr_assert_eq(irq.n, 1);
	cr_assert_eq(irq.levels[0], 1);
	cr_assert_eq(irq.last_gsi, SERIAL_COM1_IRQ);

	cr_assert_eq(rd(2), 0x02);
	cr_assert_eq(irq.n, 2);
	cr_assert_eq(line(), 0, "IIR read must acknowledge THRE");
	cr_assert_eq(rd(2), 0x01);

	wr(0, 'a');
	cr_assert_eq(line(), 1, "THR write must raise THRE again");
	cr_assert_eq(irq.n, 3);
	wr(0, 'b');
	cr_assert_eq(irq.n, 3, "line driven without a level change");
	cr_assert_eq(rd(2), 0x02);
	cr_assert_eq(line(), 0);
}

Test(serial, thre_on_etbei_reenable)
{
	wr(1, 0x02);
	cr_assert_eq(rd(2), 0x02);
	cr_assert_eq(rd(2), 0x01);
	wr(1, 0x00);
	wr(1, 0x02);
	cr_assert_eq(line(), 1, "ETBEI 0->1 with THR empty must raise THRE");
	cr_assert_eq(rd(2), 0x02);
}

Test(serial, thre_masked_when_etbei_cleared)
{
	wr(1, 0x02);
	cr_assert_eq(line(), 1);
	wr(1, 0x00);
	cr_assert_eq(line(), 0);
	cr_assert_eq(rd(2), 0x01);
}

Test(serial, rx_fifo_fill_and_drain)
{
	uint8_t in[20];

	for (int i = 0; i < 20; i++)
		in[i] = (uint8_t)('A' + i);
	cr_assert_eq(serial_receive(&s, in, 20), SERIAL_FIFO_SIZE);
	cr_assert_eq(rd(5) & 0x01, 0x01);
	cr_assert_eq(irq.n, 0, "RX interrupt raised while ERBFI clear");

	wr(1, 0x01);
	cr_assert_eq(line(), 1);
	cr_assert_eq(rd(2), 0x04);
	cr_assert_eq(rd(2), 0x04, "IIR read must not acknowledge RX data");
	cr_assert_eq(be.rx_room_calls, 0);

	for (int i = 0; i < SERIAL_FIFO_SIZE; i++) {
		cr_assert_eq(line(), 1, "line dropped early at byte %d", i);
		cr_assert_eq(rd(0), in[i], "byte %d out of order", i);
		cr_assert_eq(be.rx_room_calls, 1, "rx_room calls after byte %d", i);
	}
	cr_assert_eq(line(), 0);
	cr_assert_eq(rd(5) & 0x01, 0);
	cr_assert_eq(rd(2), 0x01);

	/* The refused bytes fit now. */
	cr_assert_eq(serial_receive(&s, in + 16, 4), 4);
	cr_assert_eq(line(), 1);
	cr_assert_eq(rd(0), 'A' + 16);
}

Test(serial, rx_room_not_called_without_refusal)
{
	uint8_t in[4] = "abc";

	cr_assert_eq(serial_receive(&s, in, 3), 3);
	for (int i = 0; i < 3; i++)
		rd(0);
	cr_assert_eq(be.rx_room_calls, 0);
}

Test(serial, fcr_clears_rx_fifo)
{
	uint8_t in[20] = { 0 };

	cr_assert_eq(serial_receive(&s, in, 20), SERIAL_FIFO_SIZE);
	wr(1, 0x01);
	cr_assert_eq(line(), 1);
	wr(2, 0x03);
	cr_assert_eq(line(), 0);
	cr_assert_eq(rd(5) & 0x01, 0);
	cr_assert_eq(be.rx_room_calls, 1);
	cr_assert_eq(rd(2), 0xC1);
}

Test(serial, rx_has_priority_over_thre)
{
	uint8_t c = 'q';

	wr(1, 0x03);
	cr_assert_eq(serial_receive(&s, &c, 1), 1);
	cr_assert_eq(rd(2), 0x04);
	cr_assert_eq(rd(0), 'q');
	cr_assert_eq(line(), 1, "THRE still pending under RX");
	cr_assert_eq(rd(2), 0x02);
	cr_assert_eq(line(), 0);
	cr_assert_eq(rd(2), 0x01);
}

Test(serial, msr_connected_outside_loopback)
{
	cr_assert_eq(rd(6), 0xB0);
	wr(4, 0x0B);
	cr_assert_eq(rd(6), 0xB0, "MCR outside loopback must not move MSR");
}

Test(serial, loopback_probe_and_echo)
{
	wr(4, 0x10 | 0x0A);
	cr_assert_eq(rd(6) & 0xF0, 0x90);
	wr(4, 0x10 | 0x05);
	cr_assert_eq(rd(6) & 0xF0, 0x60);

	wr(0, 0x55);
	cr_assert_eq(be.len, 0, "loopback byte reached the backend");
	cr_assert_eq(rd(5) & 0x01, 0x01);
	cr_assert_eq(rd(0), 0x55);
	cr_assert_eq(rd(5) & 0x01, 0);

	wr(4, 0x00);
	cr_assert_eq(rd(6) & 0xF0, 0xB0);
	wr(0, 0x66);
	cr_assert_eq(be.len, 1);
	cr_assert_eq(be.out[0], 0x66);
}

Test(serial, loopback_overflow_sets_oe)
{
	wr(4, 0x10);
	for (int i = 0; i < SERIAL_FIFO_SIZE + 1; i++)
		wr(0, (uint8_t)i);
	cr_assert_eq(rd(5), 0x63);
	cr_assert_eq(rd(5), 0x61, "reading LSR must clear OE");
	for (int i = 0; i < SERIAL_FIFO_SIZE; i++)
		cr_assert_eq(rd(0), i);
	cr_assert_eq(rd(5), 0x60);
}

Test(serial, line_status_interrupt_first)
{
	wr(4, 0x10);
	wr(1, 0x07);
	for (int i = 0; i < SERIAL_FIFO_SIZE + 1; i++)
		wr(0, 'x');
	cr_assert_eq(rd(2), 0x06);
	cr_assert_eq(rd(5) & 0x02, 0x02);
	cr_assert_eq(rd(2), 0x04);
	cr_assert_eq(line(), 1);
}

Test(serial, msr_deltas)
{
	wr(4, 0x10);	/* loopback, all lines low: CTS, DSR, DCD drop */
	cr_assert_eq(rd(6), 0x0B);
	cr_assert_eq(rd(6), 0x00, "reading MSR must clear deltas");

	wr(4, 0x14);	/* RI rises: no TERI */
	cr_assert_eq(rd(6), 0x40);
	wr(4, 0x10);	/* RI falls: TERI */
	cr_assert_eq(rd(6), 0x04);

	wr(1, 0x08);
	cr_assert_eq(line(), 0);
	wr(4, 0x11);	/* DSR rises */
	cr_assert_eq(line(), 1);
	cr_assert_eq(rd(2), 0x00);
	cr_assert_eq(line(), 1, "IIR read must not clear modem status");
	cr_assert_eq(rd(6), 0x22);
	cr_assert_eq(line(), 0);
	cr_assert_eq(rd(2), 0x01);
}

Test(serial, loopback_holds_external_input)
{
	uint8_t c = 'k';

	wr(4, 0x10);
	cr_assert_eq(serial_receive(&s, &c, 1), 0);
	cr_assert_eq(rd(5) & 0x01, 0);
	cr_assert_eq(be.rx_room_calls, 0);
	wr(4, 0x00);
	cr_assert_eq(be.rx_room_calls, 1, "leaving loopback must resume input");
	cr_assert_eq(serial_receive(&s, &c, 1), 1);
	cr_assert_eq(rd(0), 'k');
	cr_assert_eq(be.rx_room_calls, 1);
}

Test(serial, interrupts_disabled_never_raise_line)
{
	uint8_t in[20] = { 0 };

	wr(1, 0x00);
	wr(2, 0x07);
	serial_receive(&s, in, 20);
	wr(0, 'a');
	wr(4, 0x1F);	/* loopback with modem deltas */
	for (int i = 0; i < SERIAL_FIFO_SIZE + 2; i++)
		wr(0, 'b');
	cr_assert_eq(rd(2), 0xC1);
	cr_assert_eq(rd(5) & 0x03, 0x03);
	cr_assert_eq(irq.n, 0);
}

Test(serial, wide_access_uses_first_byte)
{
	uint8_t d[8];
	struct bus_access a = { .offset = 7, .data = d, .size = 2, .is_write = true };

	d[0] = 0x34;
	d[1] = 0x12;
	serial_io(&s, &a);
	cr_assert_eq(rd(7), 0x34);

	memset(d, 0xEE, sizeof(d));
	a = (struct bus_access){ .offset = 5, .data = d, .size = 8, .is_write = false };
	serial_io(&s, &a);
	cr_assert_eq(d[0], 0x60);
	for (int i = 1; i < 8; i++)
		cr_assert_eq(d[i], 0, "byte %d not cleared", i);

	/* A wide THR write sends one byte. */
	memcpy(d, "ABCD", 4);
	a = (struct bus_access){ .offset = 0, .data = d, .size = 4, .is_write = true };
	serial_io(&s, &a);
	cr_assert_eq(be.len, 1);
	cr_assert_eq(be.out[0], 'A');
}

Test(serial, out_of_range_offsets)
{
	static const uint64_t offs[] = { 8, 9, 0x100, UINT64_MAX };
	uint8_t d[4];

	wr(7, 0x42);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct bus_access a = { .offset = offs[i], .data = d, .size = 4, .is_write = true };

		memset(d, 0, sizeof(d));
		serial_io(&s, &a);
		a.is_write = false;
		serial_io(&s, &a);
		cr_assert_eq(d[0], 0xFF);
		cr_assert_eq(d[3], 0xFF);
	}
	struct bus_access z = { .offset = 0, .data = d, .size = 0, .is_write = true };
	serial_io(&s, &z);
	cr_assert_eq(be.len, 0);
	cr_assert_eq(rd(7), 0x42);
	cr_assert_eq(irq.n, 0);
}
