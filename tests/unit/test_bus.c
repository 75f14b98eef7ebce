/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "vmm/bus.h"

/* A device that records its last access and answers reads with a value. */
struct fake_dev {
	int calls;
	uint64_t offset;
	unsigned size;
	bool is_write;
	uint64_t written; /* bus_get() of the last write */
	uint64_t reply;	  /* what reads return, through bus_put() */
	int id;
};

static void fake_io(void *opaque, struct bus_access *a)
{
	struct fake_dev *d = opaque;

	d->calls++;
	d->offset = a->offset;
	d->size = a->size;
	d->is_write = a->is_write;
	if (a->is_write)
		d->written = bus_get(a);
	else
		bus_put(a, d->reply);
}

static void other_io(void *opaque, struct bus_access *a)
{
	(void)opaque;
	(void)a;
}

static struct bus b;

static void setup(void)
{
	bus_init(&b, "test");
}

TestSuite(bus, .init = setup);

Test(bus, init)
{
	cr_assert_eq(b.nr, 0);
	cr_assert_str_eq(b.name, "test");
}

Test(bus, dispatch_with_offset)
{
	struct fake_dev d = { .reply = 0x5A };
	uint8_t data[8] = { 0 };

	cr_assert_eq(bus_register(&b, 0x3F8, 8, fake_io, &d, "uart"), 0);
	cr_assert(bus_dispatch(&b, 0x3FB, data, 1, false));
	cr_assert_eq(d.calls, 1);
	cr_assert_eq(d.offset, 3);
	cr_assert_eq(d.size, 1);
	cr_assert_not(d.is_write);
	cr_assert_eq(data[0], 0x5A);

	data[0] = 0x42;
	cr_assert(bus_dispatch(&b, 0x3F8, data, 1, true));
	cr_assert_eq(d.calls, 2);
	cr_assert_eq(d.offset, 0);
	cr_assert(d.is_write);
	cr_assert_eq(d.written, 0x42);
}

Test(bus, sizes_are_little_endian)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	struct fake_dev d = { .reply = 0x8877665544332211ULL };

	cr_assert_eq(bus_register(&b, 0x1000, 0x100, fake_io, &d, "dev"), 0);
	for (size_t i = 0; i < 4; i++) {
		unsigned size = sizes[i];
		uint8_t data[8];
		uint64_t mask = size == 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;

		/* Read: bytes come back least significant first, and only size of them. */
		memset(data, 0xEE, sizeof(data));
		cr_assert(bus_dispatch(&b, 0x1010, data, size, false));
		cr_assert_eq(d.size, size);
		cr_assert_eq(d.offset, 0x10);
		for (unsigned j = 0; j < 8; j++)
			cr_assert_eq(data[j], j < size ? 0x11 * (j + 1) : 0xEE,
				     "size %u byte %u = 0x%02x", size, j, data[j]);

		/* Write: the device sees the little-endian value of size bytes. */
		for (unsigned j = 0; j < 8; j++)
			data[j] = (uint8_t)(0xA0 + j);
		cr_assert(bus_dispatch(&b, 0x1010, data, size, true));
		cr_assert_eq(d.written, 0xA7A6A5A4A3A2A1A0ULL & mask, "size %u: 0x%llx", size,
			     (unsigned long long)d.written);
	}
}

Test(bus, get_put_helpers)
{
	uint8_t data[8] = { 0 };
	struct bus_access a = { 0, data, 4, true };

	bus_put(&a, 0x1122334455667788ULL);
	cr_assert_eq(data[0], 0x88);
	cr_assert_eq(data[3], 0x55);
	cr_assert_eq(data[4], 0, "bus_put wrote past size");
	cr_assert_eq(bus_get(&a), 0x55667788);
	a.size = 8;
	bus_put(&a, 0xFEDCBA9876543210ULL);
	cr_assert_eq(bus_get(&a), 0xFEDCBA9876543210ULL);
	cr_assert_eq(data[7], 0xFE);
	a.size = 2;
	cr_assert_eq(bus_get(&a), 0x3210);
}

Test(bus, overlap_refused)
{
	struct fake_dev d = { 0 };

	cr_assert_eq(bus_register(&b, 0x100, 0x10, fake_io, &d, "a"), 0);
	/* Identical, partial on either side, containing, contained. */
	cr_assert_eq(bus_register(&b, 0x100, 0x10, other_io, NULL, "same"), -1);
	cr_assert_eq(bus_register(&b, 0xF8, 0x10, other_io, NULL, "left"), -1);
	cr_assert_eq(bus_register(&b, 0x108, 0x10, other_io, NULL, "right"), -1);
	cr_assert_eq(bus_register(&b, 0xF0, 0x40, other_io, NULL, "around"), -1);
	cr_assert_eq(bus_register(&b, 0x104, 0x4, other_io, NULL, "inside"), -1);
	cr_assert_eq(bus_register(&b, 0x10F, 1, other_io, NULL, "last byte"), -1);
	cr_assert_eq(bus_register(&b, 0xFF, 2, other_io, NULL, "first byte"), -1);
	cr_assert_eq(b.nr, 1);
	/* Touching is fine. */
	cr_assert_eq(bus_register(&b, 0xF0, 0x10, other_io, NULL, "below"), 0);
	cr_assert_eq(bus_register(&b, 0x110, 0x10, other_io, NULL, "above"), 0);
	cr_assert_eq(b.nr, 3);

	/* The original still owns its range. */
	uint8_t data = 0;
	cr_assert(bus_dispatch(&b, 0x100, &data, 1, true));
	cr_assert(bus_dispatch(&b, 0x10F, &data, 1, true));
	cr_assert_eq(d.calls, 2);
}

Test(bus, bad_ranges_refused)
{
	cr_assert_eq(bus_register(&b, 0x100, 0, other_io, NULL, "empty"), -1);
	cr_assert_eq(bus_register(&b, UINT64_MAX - 3, 8, other_io, NULL, "wrap"), -1);
	cr_assert_eq(bus_register(&b, UINT64_MAX, 2, other_io, NULL, "wrap"), -1);
	cr_assert_eq(bus_register(&b, 0x100, 4, NULL, NULL, "no handler"), -1);
	cr_assert_eq(b.nr, 0);
	/* A range ending just below 2^64 is fine. */
	cr_assert_eq(bus_register(&b, UINT64_MAX - 3, 3, other_io, NULL, "top"), 0);
	cr_assert_eq(b.nr, 1);
}

Test(bus, full)
{
	for (int i = 0; i < BUS_MAX_RANGES; i++)
		cr_assert_eq(bus_register(&b, 0x10 * i, 4, other_io, NULL, "x"), 0);
	cr_assert_eq(bus_register(&b, 0x10000, 4, other_io, NULL, "one too many"), -1);
	cr_assert_eq(b.nr, BUS_MAX_RANGES);
}

Test(bus, unclaimed)
{
	struct fake_dev d = { 0 };
	uint8_t data[8];

	/* Empty bus. */
	memset(data, 0, sizeof(data));
	cr_assert_not(bus_dispatch(&b, 0x80, data, 4, false));
	for (int i = 0; i < 4; i++)
		cr_assert_eq(data[i], 0xFF);
	cr_assert_eq(data[4], 0, "unclaimed read filled past size");

	cr_assert_eq(bus_register(&b, 0x60, 1, fake_io, &d, "kbd"), 0);
	memset(data, 0, sizeof(data));
	cr_assert_not(bus_dispatch(&b, 0x64, data, 8, false));
	for (int i = 0; i < 8; i++)
		cr_assert_eq(data[i], 0xFF);
	memset(data, 0x12, sizeof(data));
	cr_assert_not(bus_dispatch(&b, 0x64, data, 2, true));
	cr_assert_eq(data[0], 0x12, "unclaimed write changed the data");
	cr_assert_not(bus_dispatch(&b, 0x5F, data, 1, true));
	cr_assert_eq(d.calls, 0);
}

Test(bus, range_edges)
{
	struct fake_dev d = { 0 };
	uint8_t data = 0;

	cr_assert_eq(bus_register(&b, 0xF4, 4, fake_io, &d, "debug-exit"), 0);
	cr_assert_not(bus_dispatch(&b, 0xF3, &data, 1, true));
	cr_assert(bus_dispatch(&b, 0xF4, &data, 1, true));
	cr_assert_eq(d.offset, 0);
	cr_assert(bus_dispatch(&b, 0xF7, &data, 1, true));
	cr_assert_eq(d.offset, 3);
	cr_assert_not(bus_dispatch(&b, 0xF8, &data, 1, true));
	cr_assert_eq(d.calls, 2);
}

Test(bus, many_ranges_out_of_order)
{
	/* 40 devices of 8 bytes each, 0x20 apart, registered in a scrambled order. */
	enum { N = 40 };
	static struct fake_dev dev[N];
	uint8_t data = 0;

	memset(dev, 0, sizeof(dev));
	for (int k = 0; k < N; k++) {
		int i = (k * 17 + 5) % N; /* 17 is coprime with 40: a permutation */

		dev[i].id = i;
		dev[i].reply = (uint64_t)i;
		cr_assert_eq(bus_register(&b, 0x1000 + 0x20 * i, 8, fake_io, &dev[i], "dev"), 0);
	}
	cr_assert_eq(b.nr, N);
	for (int i = 1; i < N; i++)
		cr_assert_lt(b.range[i - 1].base, b.range[i].base, "table not sorted at %d", i);

	for (int i = 0; i < N; i++) {
		uint64_t base = 0x1000 + 0x20 * i;

		for (uint64_t off = 0; off < 8; off++) {
			data = 0;
			cr_assert(bus_dispatch(&b, base + off, &data, 1, false), "0x%llx",
				  (unsigned long long)(base + off));
			cr_assert_eq(data, i, "0x%llx went to device %d", (unsigned long long)(base + off),
				     data);
			cr_assert_eq(dev[i].offset, off);
		}
		/* The gaps between devices belong to nobody. */
		cr_assert_not(bus_dispatch(&b, base + 8, &data, 1, false));
		cr_assert_not(bus_dispatch(&b, base + 0x1F, &data, 1, false));
		cr_assert_eq(dev[i].calls, 8);
	}
	cr_assert_not(bus_dispatch(&b, 0xFFF, &data, 1, false));
	cr_assert_not(bus_dispatch(&b, 0x1000 + 0x20 * N, &data, 1, false));
}

Test(bus, opaque_reaches_the_right_handler)
{
	struct fake_dev a = { .reply = 1 }, c = { .reply = 2 };
	uint8_t data = 0;

	cr_assert_eq(bus_register(&b, 0x200, 1, fake_io, &c, "c"), 0);
	cr_assert_eq(bus_register(&b, 0x100, 1, fake_io, &a, "a"), 0);
	cr_assert(bus_dispatch(&b, 0x100, &data, 1, false));
	cr_assert_eq(data, 1);
	cr_assert(bus_dispatch(&b, 0x200, &data, 1, false));
	cr_assert_eq(data, 2);
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(c.calls, 1);
}

Test(bus, access_running_past_the_end_is_unclaimed)
{
	struct fake_dev d = { .reply = 0x1234 };
	uint8_t data[4] = { 0 };

	cr_assert_eq(bus_register(&b, 0x100, 2, fake_io, &d, "two"), 0);
	cr_assert_not(bus_dispatch(&b, 0x101, data, 2, false), "straddles the end");
	cr_assert_eq(data[0], 0xFF);
	cr_assert_eq(data[1], 0xFF);
	cr_assert_not(bus_dispatch(&b, 0x100, data, 4, true), "wider than the range");
	cr_assert_eq(d.calls, 0, "the device never sees an access beyond its range");
	cr_assert(bus_dispatch(&b, 0x100, data, 2, false), "exactly the range");
	cr_assert_eq(d.calls, 1);
}
