/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtqueue.h"

/*
 * A fake guest memory of two regions with a gap between them, each inside a
 * malloc'd block with guard bytes on both sides. The rings are laid out by
 * hand in region 0; region 1 holds indirect tables and buffers. Every test
 * ends with the guards intact: nothing outside guest memory was touched.
 */

#define GUARD 256
#define GUARD_BYTE 0xA5
#define R0_GPA 0x0ULL
#define R0_SIZE 0x10000ULL
#define R1_GPA 0x20000ULL /* the gap: 0x10000-0x1FFFF */
#define R1_SIZE 0x8000ULL
#define GAP_GPA 0x18000ULL

#define DESC_GPA 0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA 0x3000ULL
#define BUF_GPA 0x8000ULL /* buffers in region 0 */
#define TABLE_GPA R1_GPA  /* indirect tables in region 1 */

static uint8_t *block[2];
static uint8_t *r0, *r1;
static struct guest_mem mem;
static struct virtq q;
static struct vq_chain c;
static uint16_t aidx; /* the driver's avail->idx */

static uint8_t *alloc_region(int i, uint64_t gpa, uint64_t size)
{
	block[i] = malloc(size + 2 * GUARD);
	cr_assert_not_null(block[i]);
	memset(block[i], GUARD_BYTE, size + 2 * GUARD);
	memset(block[i] + GUARD, 0, size);
	cr_assert_eq(gmem_add_region(&mem, gpa, block[i] + GUARD, size), 0);
	return block[i] + GUARD;
}

static bool guards_intact(void)
{
	const uint64_t size[2] = { R0_SIZE, R1_SIZE };

	for (int i = 0; i < 2; i++) {
		const uint8_t *after = block[i] + GUARD + size[i];

		for (uint64_t j = 0; j < GUARD; j++) {
			if (block[i][j] != GUARD_BYTE || after[j] != GUARD_BYTE)
				return false;
		}
	}
	return true;
}

static void check_guards(void)
{
	cr_assert(guards_intact(), "bytes outside guest memory were written");
}

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	r0 = alloc_region(0, R0_GPA, R0_SIZE);
	r1 = alloc_region(1, R1_GPA, R1_SIZE);
	memset(&q, 0, sizeof(q));
	aidx = 0;
}

static void teardown(void)
{
	/* Criterion does not count a failed assertion here: crash so the run fails. */
	if (!guards_intact()) {
		fprintf(stderr, "virtqueue: guard bytes damaged\n");
		abort();
	}
	free(block[0]);
	free(block[1]);
}

TestSuite(virtqueue, .init = setup, .fini = teardown);

/* --- guest-side helpers ------------------------------------------------------ */

static uint8_t *host(uint64_t gpa)
{
	return gpa >= R1_GPA ? r1 + (gpa - R1_GPA) : r0 + gpa;
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(host(gpa), &v, 2);
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, host(gpa), 2);
	return v;
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, host(gpa), 4);
	return v;
}

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(host(table + 16 * i), &d, sizeof(d));
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc(DESC_GPA, i, addr, len, flags, next);
}

static void set_avail_idx(uint16_t v)
{
	aidx = v;
	put16(AVAIL_GPA + 2, v);
}

/* The driver makes the chain at head available. */
static void offer(uint16_t head)
{
	put16(AVAIL_GPA + 4 + 2 * (aidx & (q.size - 1)), head);
	set_avail_idx(aidx + 1);
}

static uint16_t used_idx(void)
{
	return get16(USED_GPA + 2);
}

static uint16_t used_event_gpa(void)
{
	return AVAIL_GPA + 4 + 2 * q.size;
}

static uint64_t avail_event_gpa(void)
{
	return USED_GPA + 4 + 8 * q.size;
}

static void start(uint16_t size, bool event_idx, bool indirect)
{
	q.size = size;
	q.desc_gpa = DESC_GPA;
	q.avail_gpa = AVAIL_GPA;
	q.used_gpa = USED_GPA;
	q.event_idx = event_idx;
	q.indirect = indirect;
	cr_assert_eq(vq_start(&q, &mem), 0);
	cr_assert(q.ready);
}

/* The queue broke: pop says so now and later, and the used ring is untouched. */
static void assert_broken(void)
{
	uint16_t before = used_idx();

	cr_assert_eq(vq_pop(&q, &c), -1);
	cr_assert(q.broken);
	cr_assert_eq(vq_pop(&q, &c), -1);
	vq_push(&q, 0, 1);
	cr_assert_eq(used_idx(), before, "a broken queue was written");
	check_guards();
}

/* The chain came back with bad_buf, its head intact; pushing it works. */
static void assert_bad_buf(uint16_t head, unsigned valid)
{
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert(c.bad_buf);
	cr_assert_not(q.broken);
	cr_assert_eq(c.head, head);
	cr_assert_eq(c.nr, valid);
	vq_push(&q, c.head, 0);
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(get32(USED_GPA + 4), head);
	check_guards();
}

/* --- vq_start ------------------------------------------------------------------- */

Test(virtqueue, start_maps_the_three_areas)
{
	start(256, true, true);
	cr_assert_eq((uint8_t *)q.desc, r0 + DESC_GPA);
	cr_assert_eq((uint8_t *)q.avail, r0 + AVAIL_GPA);
	cr_assert_eq(q.used, r0 + USED_GPA);
	cr_assert_eq(q.last_avail, 0);
	cr_assert_eq(q.used_idx, 0);
	cr_assert_not(q.broken);
}

static int try_start(uint16_t size, uint64_t d, uint64_t a, uint64_t u)
{
	memset(&q, 0, sizeof(q));
	q.size = size;
	q.desc_gpa = d;
	q.avail_gpa = a;
	q.used_gpa = u;
	q.event_idx = true;
	return vq_start(&q, &mem);
}

Test(virtqueue, start_refuses_bad_sizes)
{
	const uint16_t bad[] = { 0, 3, 6, 100, 255, 2048, 4096, 65535 };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(try_start(bad[i], DESC_GPA, AVAIL_GPA, USED_GPA), -1, "size %u",
			     bad[i]);
		cr_assert_not(q.ready);
	}
	cr_assert_eq(try_start(1, DESC_GPA, AVAIL_GPA, USED_GPA), 0);
	cr_assert_eq(try_start(VQ_MAX_SIZE, DESC_GPA, 0x6000, 0x7000), 0);
}

Test(virtqueue, start_refuses_misaligned_areas)
{
	cr_assert_eq(try_start(8, DESC_GPA + 8, AVAIL_GPA, USED_GPA), -1);
	cr_assert_eq(try_start(8, DESC_GPA, AVAIL_GPA + 1, USED_GPA), -1);
	cr_assert_eq(try_start(8, DESC_GPA, AVAIL_GPA, USED_GPA + 2), -1);
	cr_assert_not(q.ready);
	cr_assert_eq(try_start(8, DESC_GPA + 16, AVAIL_GPA + 2, USED_GPA + 4), 0);
}

Test(virtqueue, start_refuses_areas_outside_memory)
{
	/* In the gap, straddling the end of a region, far away, wrapping. */
	cr_assert_eq(try_start(8, GAP_GPA, AVAIL_GPA, USED_GPA), -1);
	cr_assert_eq(try_start(8, R0_SIZE - 64, AVAIL_GPA, USED_GPA), -1);
	cr_assert_eq(try_start(8, DESC_GPA, R0_SIZE - 16, USED_GPA), -1);
	cr_assert_eq(try_start(8, DESC_GPA, AVAIL_GPA, R1_GPA + R1_SIZE - 68), -1);
	cr_assert_eq(try_start(8, DESC_GPA, AVAIL_GPA, 0xFFFFFFFFFFFFFFF0ULL), -1);
	cr_assert_not(q.ready);
	/* Exactly at the ends: fine. The event fields count (6 + 2n, 6 + 8n). */
	cr_assert_eq(try_start(8, R0_SIZE - 128, R1_GPA, R1_GPA + R1_SIZE - 72), 0);
	cr_assert_eq(try_start(8, DESC_GPA, R0_SIZE - 22, USED_GPA), 0);
	cr_assert_eq(try_start(8, DESC_GPA, R0_SIZE - 20, USED_GPA), -1);
}

Test(virtqueue, reset_forgets_everything)
{
	struct virtq zero;

	start(8, true, true);
	desc(0, BUF_GPA, 16, 0, 0);
	offer(0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	vq_reset(&q);
	memset(&zero, 0, sizeof(zero));
	cr_assert_eq(memcmp(&q, &zero, sizeof(q)), 0);
	cr_assert_eq(vq_pop(&q, &c), 0, "a queue not started has nothing");
}

/* --- normal chains ------------------------------------------------------------------------ */

Test(virtqueue, empty_queue_pops_nothing)
{
	start(8, false, false);
	cr_assert_eq(vq_pop(&q, &c), 0);
	cr_assert_eq(vq_pop(&q, &c), 0);
}

Test(virtqueue, chain_of_three)
{
	start(8, false, false);
	desc(5, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	desc(2, R1_GPA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 7);
	desc(7, BUF_GPA + 0x100, 1, VRING_DESC_F_WRITE, 0);
	offer(5);

	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(c.head, 5);
	cr_assert_eq(c.nr, 3);
	cr_assert_not(c.bad_buf);
	cr_assert_eq(c.buf[0].host, r0 + BUF_GPA);
	cr_assert_eq(c.buf[0].len, 16);
	cr_assert_not(c.buf[0].writable);
	cr_assert_eq(c.buf[1].host, r1 + 0x100);
	cr_assert_eq(c.buf[1].len, 512);
	cr_assert(c.buf[1].writable);
	cr_assert_eq(c.buf[2].host, r0 + BUF_GPA + 0x100);
	cr_assert(c.buf[2].writable);
	cr_assert_eq(vq_pop(&q, &c), 0);

	vq_push(&q, 5, 513);
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(get32(USED_GPA + 4), 5);
	cr_assert_eq(get32(USED_GPA + 8), 513);
	check_guards();
}

Test(virtqueue, buffer_ending_exactly_at_region_end)
{
	start(8, false, false);
	desc(0, R1_GPA + R1_SIZE - 64, 64, 0, 0);
	offer(0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_not(c.bad_buf);
	cr_assert_eq(c.buf[0].host, r1 + R1_SIZE - 64);
}

Test(virtqueue, several_chains_in_order)
{
	start(4, false, false);
	for (uint16_t i = 0; i < 4; i++) {
		desc(i, BUF_GPA + 0x100 * i, 0x10 + i, VRING_DESC_F_WRITE, 0);
		offer(3 - i);
	}
	for (uint16_t i = 0; i < 4; i++) {
		cr_assert_eq(vq_pop(&q, &c), 1);
		cr_assert_eq(c.head, 3 - i);
		cr_assert_eq(c.buf[0].len, 0x10u + 3 - i);
		vq_push(&q, c.head, i);
	}
	cr_assert_eq(vq_pop(&q, &c), 0);
	cr_assert_eq(used_idx(), 4);
	for (uint16_t i = 0; i < 4; i++) {
		cr_assert_eq(get32(USED_GPA + 4 + 8 * i), 3u - i);
		cr_assert_eq(get32(USED_GPA + 8 + 8 * i), i);
	}
}

Test(virtqueue, a_full_queue_is_fine)
{
	start(8, false, false);
	for (uint16_t i = 0; i < 8; i++) {
		desc(i, BUF_GPA, 8, 0, 0);
		offer(i);
	}
	for (uint16_t i = 0; i < 8; i++)
		cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(vq_pop(&q, &c), 0);
	cr_assert_not(q.broken);
}

Test(virtqueue, chain_as_long_as_the_queue)
{
	start(8, false, false);
	for (uint16_t i = 0; i < 8; i++)
		desc(i, BUF_GPA + i, 1, i < 7 ? VRING_DESC_F_NEXT : 0, i + 1);
	offer(0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(c.nr, 8);
}

Test(virtqueue, indices_wrap_around_at_65536)
{
	start(4, false, false);
	/* As if 65534 chains had gone through already. */
	q.last_avail = q.used_idx = 0xFFFE;
	set_avail_idx(0xFFFE);
	put16(USED_GPA + 2, 0xFFFE);
	for (uint16_t i = 0; i < 4; i++) {
		desc(i, BUF_GPA + 0x10 * i, 0x10, VRING_DESC_F_WRITE, 0);
		offer(i);
	}
	cr_assert_eq(aidx, 2);
	for (uint16_t i = 0; i < 4; i++) {
		cr_assert_eq(vq_pop(&q, &c), 1);
		cr_assert_eq(c.head, i);
		vq_push(&q, c.head, 0x10);
	}
	cr_assert_eq(vq_pop(&q, &c), 0);
	cr_assert_eq(q.last_avail, 2);
	cr_assert_eq(used_idx(), 2);
	/* Slots 0xFFFE & 3, 0xFFFF & 3, 0, 1. */
	cr_assert_eq(get32(USED_GPA + 4 + 8 * 2), 0);
	cr_assert_eq(get32(USED_GPA + 4 + 8 * 3), 1);
	cr_assert_eq(get32(USED_GPA + 4 + 8 * 0), 2);
	cr_assert_eq(get32(USED_GPA + 4 + 8 * 1), 3);
	check_guards();
}

Test(virtqueue, avail_idx_exactly_size_ahead_across_the_wrap)
{
	start(8, false, false);
	q.last_avail = 0xFFFC;
	desc(0, BUF_GPA, 8, 0, 0);
	aidx = 0xFFFC;
	for (int i = 0; i < 8; i++)
		offer(0);
	cr_assert_eq(aidx, 4);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(vq_pop(&q, &c), 0);
}

/* --- interrupts and kicks ---------------------------------------------------------------- */

static void push_n(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vq_push(&q, 0, 0);
}

Test(virtqueue, no_interrupt_before_anything_is_used)
{
	start(8, false, false);
	cr_assert_not(vq_should_interrupt(&q));
	push_n(1);
	cr_assert(vq_should_interrupt(&q));
	cr_assert_not(vq_should_interrupt(&q));
}

Test(virtqueue, no_interrupt_before_anything_is_used_event_idx)
{
	start(8, true, false);
	cr_assert_not(vq_should_interrupt(&q));
	push_n(1);
	cr_assert(vq_should_interrupt(&q), "used_event 0: after the first buffer");
}

Test(virtqueue, no_interrupt_flag_is_honoured)
{
	start(8, false, false);
	push_n(1);
	put16(AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	cr_assert_not(vq_should_interrupt(&q));
	push_n(1);
	put16(AVAIL_GPA, 0);
	cr_assert(vq_should_interrupt(&q));
	cr_assert_not(vq_should_interrupt(&q), "nothing new since the last interrupt");
	push_n(2);
	cr_assert(vq_should_interrupt(&q));
}

Test(virtqueue, used_event_decides)
{
	start(8, true, false);
	push_n(1);
	cr_assert(vq_should_interrupt(&q), "the first time, always");

	/* used_event = 3: interrupt when used idx goes past 3, i.e. reaches 4. */
	put16(used_event_gpa(), 3);
	push_n(1); /* 2 */
	cr_assert_not(vq_should_interrupt(&q));
	push_n(1); /* 3 */
	cr_assert_not(vq_should_interrupt(&q));
	push_n(1); /* 4: the index went past 3 */
	cr_assert(vq_should_interrupt(&q));
	push_n(3); /* 7, event still 3: long past */
	cr_assert_not(vq_should_interrupt(&q));

	/* Several pushes jump over the event: still an interrupt. */
	put16(used_event_gpa(), 8);
	push_n(4); /* 11 */
	cr_assert(vq_should_interrupt(&q));
	cr_assert_not(vq_should_interrupt(&q), "nothing new");

	/* The flag means nothing with EVENT_IDX. */
	put16(AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	put16(used_event_gpa(), 11);
	push_n(1);
	cr_assert(vq_should_interrupt(&q));
}

Test(virtqueue, used_event_across_the_wrap)
{
	start(8, true, false);
	q.used_idx = 0xFFFD;
	push_n(0);
	cr_assert(vq_should_interrupt(&q)); /* sets the reference: 0xFFFD */
	put16(used_event_gpa(), 0xFFFF);
	push_n(2); /* 0xFFFF */
	cr_assert_not(vq_should_interrupt(&q));
	push_n(2); /* 0x0001: passed 0xFFFF */
	cr_assert(vq_should_interrupt(&q));
	put16(used_event_gpa(), 0x0001);
	push_n(1); /* 2: passed 1 */
	cr_assert(vq_should_interrupt(&q));
	put16(used_event_gpa(), 0x8000); /* far ahead */
	push_n(5);
	cr_assert_not(vq_should_interrupt(&q));
}

Test(virtqueue, kicks_without_event_idx)
{
	start(8, false, false);
	cr_assert_not(vq_enable_kicks(&q, false));
	cr_assert_eq(get16(USED_GPA), VRING_USED_F_NO_NOTIFY);
	cr_assert_not(vq_enable_kicks(&q, true), "nothing arrived");
	cr_assert_eq(get16(USED_GPA), 0);

	vq_enable_kicks(&q, false);
	desc(0, BUF_GPA, 8, 0, 0);
	offer(0);
	cr_assert(vq_enable_kicks(&q, true), "a buffer arrived while kicks were off");
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_not(vq_enable_kicks(&q, true));
}

Test(virtqueue, kicks_with_event_idx)
{
	start(8, true, false);
	desc(0, BUF_GPA, 8, 0, 0);
	offer(0);
	offer(0);
	cr_assert(vq_enable_kicks(&q, true));
	cr_assert_eq(get16(avail_event_gpa()), 0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_not(vq_enable_kicks(&q, false));
	cr_assert_eq(get16(avail_event_gpa()), 0, "disabling leaves avail_event behind");
	cr_assert_eq(get16(USED_GPA), 0, "no flag with EVENT_IDX");
	cr_assert_not(vq_enable_kicks(&q, true));
	cr_assert_eq(get16(avail_event_gpa()), 2, "kick me when idx passes 2");
	check_guards();
}

/* --- indirect descriptors ---------------------------------------------------------------- */

Test(virtqueue, indirect_table)
{
	start(8, false, true);
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	put_desc(TABLE_GPA, 2, R1_GPA + 0x1000, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	put_desc(TABLE_GPA, 1, BUF_GPA + 0x10, 1, VRING_DESC_F_WRITE, 0);
	desc(3, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(3);

	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(c.head, 3);
	cr_assert_eq(c.nr, 3);
	cr_assert_not(c.bad_buf);
	cr_assert_eq(c.buf[0].host, r0 + BUF_GPA);
	cr_assert_not(c.buf[0].writable);
	cr_assert_eq(c.buf[1].host, r1 + 0x1000);
	cr_assert_eq(c.buf[1].len, 4096);
	cr_assert(c.buf[1].writable);
	cr_assert_eq(c.buf[2].host, r0 + BUF_GPA + 0x10);
	vq_push(&q, c.head, 4097);
	cr_assert_eq(get32(USED_GPA + 4), 3);
}

Test(virtqueue, direct_buffers_then_an_indirect_table)
{
	/* 2.7.5.3.2: zero or more chained descriptors, then one indirect. */
	start(8, false, true);
	desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	desc(1, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	put_desc(TABLE_GPA, 0, BUF_GPA + 0x100, 8, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE_GPA, 1, BUF_GPA + 0x200, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(c.nr, 3);
	cr_assert_not(c.bad_buf, "the WRITE flag of the indirect descriptor is ignored");
	cr_assert_eq(c.buf[1].host, r0 + BUF_GPA + 0x100);
	cr_assert(c.buf[2].writable);
}

Test(virtqueue, indirect_table_of_the_largest_size)
{
	start(8, false, true);
	for (unsigned i = 0; i < VQ_MAX_SIZE; i++)
		put_desc(TABLE_GPA, i, BUF_GPA + i, 1, i + 1 < VQ_MAX_SIZE ? VRING_DESC_F_NEXT : 0,
			 i + 1);
	desc(0, TABLE_GPA, VQ_MAX_SIZE * 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(c.nr, VQ_MAX_SIZE);
}

Test(virtqueue, unaligned_indirect_table)
{
	start(8, false, true);
	put_desc(TABLE_GPA + 3, 0, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA + 3, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_eq(c.nr, 1);
	cr_assert_eq(c.buf[0].host, r0 + BUF_GPA);
}

/* --- structural errors: the queue breaks -------------------------------------------------- */

Test(virtqueue, avail_idx_too_far_ahead)
{
	start(8, false, false);
	desc(0, BUF_GPA, 8, 0, 0);
	set_avail_idx(9);
	assert_broken();
}

Test(virtqueue, avail_idx_behind)
{
	start(8, false, false);
	set_avail_idx(0xFFFF); /* "65535 ahead" */
	assert_broken();
}

Test(virtqueue, head_out_of_range)
{
	start(8, false, false);
	offer(8);
	assert_broken();
}

Test(virtqueue, head_far_out_of_range)
{
	start(8, false, false);
	offer(0xFFFF);
	assert_broken();
}

Test(virtqueue, next_out_of_range)
{
	start(8, false, false);
	desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 8);
	offer(0);
	assert_broken();
}

Test(virtqueue, chain_loops_on_itself)
{
	start(8, false, false);
	desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, chain_loops_through_two)
{
	start(8, false, false);
	desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, chain_loops_through_bad_buffers)
{
	/* Buffers that are not listed still count towards the length. */
	start(8, false, false);
	desc(0, GAP_GPA, 8, VRING_DESC_F_NEXT, 1);
	desc(1, 0, 0, VRING_DESC_F_NEXT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_not_negotiated)
{
	start(8, false, false);
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_with_next)
{
	start(8, false, true);
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 16, 0, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_empty)
{
	start(8, false, true);
	desc(0, TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_length_not_a_multiple_of_16)
{
	start(8, false, true);
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA, 17, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_too_large)
{
	start(8, false, true);
	desc(0, TABLE_GPA, (VQ_MAX_SIZE + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_length_wraps)
{
	start(8, false, true);
	desc(0, TABLE_GPA, 0xFFFFFFF0u, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_in_the_gap)
{
	start(8, false, true);
	desc(0, GAP_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_past_the_end_of_a_region)
{
	start(8, false, true);
	desc(0, R1_GPA + R1_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_address_wraps)
{
	start(8, false, true);
	desc(0, 0xFFFFFFFFFFFFFFF0ULL, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_inside_indirect)
{
	start(8, false, true);
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE_GPA, 1, TABLE_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE_GPA + 0x100, 0, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_pointing_at_itself)
{
	start(8, false, true);
	put_desc(TABLE_GPA, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	desc(0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_next_out_of_table)
{
	/* Within the queue size but past the table's end. */
	start(8, false, true);
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	put_desc(TABLE_GPA, 1, BUF_GPA, 16, 0, 0);
	put_desc(TABLE_GPA, 2, BUF_GPA, 16, 0, 0);
	desc(0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, indirect_table_loops)
{
	start(8, false, true);
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE_GPA, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
	desc(0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, chain_with_indirect_longer_than_a_chain_may_be)
{
	/* One direct buffer and a full indirect table: VQ_MAX_SIZE + 1 buffers. */
	start(8, false, true);
	for (unsigned i = 0; i < VQ_MAX_SIZE; i++)
		put_desc(TABLE_GPA, i, BUF_GPA, 1, i + 1 < VQ_MAX_SIZE ? VRING_DESC_F_NEXT : 0,
			 i + 1);
	desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	desc(1, TABLE_GPA, VQ_MAX_SIZE * 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	assert_broken();
}

Test(virtqueue, broken_stays_broken_until_reset)
{
	start(8, false, false);
	offer(9);
	assert_broken();
	cr_assert_not(vq_should_interrupt(&q));
	cr_assert_not(vq_enable_kicks(&q, true));
	vq_reset(&q);
	memset(r0 + AVAIL_GPA, 0, 0x100);
	aidx = 0;
	start(8, false, false);
	cr_assert_eq(vq_pop(&q, &c), 0);
}

/* --- buffer errors: the chain fails, the queue goes on -------------------------------------- */

Test(virtqueue, buffer_in_the_gap)
{
	start(8, false, false);
	desc(0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	desc(1, GAP_GPA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(2, BUF_GPA + 0x10, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	assert_bad_buf(0, 2);
	cr_assert_eq(c.buf[1].host, r0 + BUF_GPA + 0x10);
}

Test(virtqueue, buffer_past_the_end_of_a_region)
{
	start(8, false, false);
	desc(4, R0_SIZE - 8, 9, VRING_DESC_F_WRITE, 0);
	offer(4);
	assert_bad_buf(4, 0);
}

Test(virtqueue, buffer_spanning_the_gap)
{
	start(8, false, false);
	desc(0, R0_SIZE - 0x100, (uint32_t)(R1_GPA + 0x100 - (R0_SIZE - 0x100)), 0, 0);
	offer(0);
	assert_bad_buf(0, 0);
}

Test(virtqueue, buffer_address_wraps)
{
	start(8, false, false);
	desc(0, 0xFFFFFFFFFFFFFF00ULL, 0x200, 0, 0);
	offer(0);
	assert_bad_buf(0, 0);
}

Test(virtqueue, buffer_of_length_zero)
{
	start(8, false, false);
	desc(0, BUF_GPA, 0, VRING_DESC_F_NEXT, 1);
	desc(1, BUF_GPA, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	assert_bad_buf(0, 1);
}

Test(virtqueue, readable_after_writable)
{
	start(8, false, false);
	desc(0, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(1, BUF_GPA + 0x10, 16, VRING_DESC_F_NEXT, 2);
	desc(2, BUF_GPA + 0x20, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	assert_bad_buf(0, 2);
}

Test(virtqueue, readable_after_writable_in_an_indirect_table)
{
	start(8, false, true);
	desc(0, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc(1, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE_GPA, 0, BUF_GPA + 0x10, 16, 0, 0);
	offer(0);
	assert_bad_buf(0, 1);
}

Test(virtqueue, bad_buffer_in_an_indirect_table)
{
	start(8, false, true);
	put_desc(TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE_GPA, 1, GAP_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	put_desc(TABLE_GPA, 2, BUF_GPA + 0x10, 1, VRING_DESC_F_WRITE, 0);
	desc(6, TABLE_GPA, 48, VRING_DESC_F_INDIRECT, 0);
	offer(6);
	assert_bad_buf(6, 2);
}

Test(virtqueue, the_queue_goes_on_after_a_bad_buffer)
{
	start(8, false, false);
	desc(0, GAP_GPA, 16, 0, 0);
	desc(1, BUF_GPA, 16, 0, 0);
	offer(0);
	offer(1);
	assert_bad_buf(0, 0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	cr_assert_not(c.bad_buf);
	cr_assert_eq(c.head, 1);
}

/* --- the descriptor is read once --------------------------------------------------------- */

Test(virtqueue, chain_buffers_are_copies)
{
	/* Changing the table after the pop changes nothing in the chain. */
	start(8, false, false);
	desc(0, BUF_GPA, 16, 0, 0);
	offer(0);
	cr_assert_eq(vq_pop(&q, &c), 1);
	desc(0, GAP_GPA, 0xFFFFFFFF, VRING_DESC_F_WRITE, 0);
	cr_assert_eq(c.buf[0].host, r0 + BUF_GPA);
	cr_assert_eq(c.buf[0].len, 16);
	cr_assert_not(c.buf[0].writable);
}
