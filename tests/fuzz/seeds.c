// SPDX-License-Identifier: MIT
/*
 * Writes a few valid inputs for fuzz_virtqueue_blk into a directory (the
 * corpus the fuzzer starts from): each request type, both ring features,
 * an indirect table, indices about to wrap, and a script with driver
 * writes and a restart. `seeds DIR`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/fuzz/fuzz_input.h"

/* The guest as the seeds lay it out: a queue of 16 at the start of region 0. */
#define QSIZE 16
#define QSIZE_LOG2 4
#define DESC 0x000
#define AVAIL 0x100
#define USED 0x140
#define BUFS 0x200
#define MEM0 0x800
#define MEM1 0x100

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

struct seed {
	struct fuzz_head h;
	uint8_t mem0[MEM0];
	uint8_t mem1[MEM1];
	uint8_t ops[64];
	size_t nr_ops;
	uint16_t avail_idx;
	unsigned next_desc;
	uint32_t next_buf;
};

static struct seed s;

static void put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void begin(uint8_t flags, uint16_t start_idx)
{
	memset(&s, 0, sizeof(s));
	s.h.flags = flags;
	s.h.qsize = QSIZE_LOG2;
	s.h.start_idx = start_idx;
	s.h.desc_gpa = DESC;
	s.h.avail_gpa = AVAIL;
	s.h.used_gpa = USED;
	s.h.mem0_size = MEM0;
	s.h.mem1_size = MEM1;
	s.avail_idx = start_idx;
	s.next_buf = BUFS;
	put(s.mem0 + AVAIL + 2, start_idx, 2);
	put(s.mem0 + USED + 2, start_idx, 2);
}

static void desc_at(uint8_t *table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	put(table + 16 * i, addr, 8);
	put(table + 16 * i + 8, len, 4);
	put(table + 16 * i + 12, flags, 2);
	put(table + 16 * i + 14, next, 2);
}

/* A buffer in region 0; returns its guest address. */
static uint32_t buf(uint32_t len)
{
	uint32_t gpa = s.next_buf;

	s.next_buf += len;
	return gpa;
}

static uint32_t header(uint32_t type, uint64_t sector)
{
	uint32_t gpa = buf(16);

	put(s.mem0 + gpa, type, 4);
	put(s.mem0 + gpa + 8, sector, 8);
	return gpa;
}

static void offer(uint16_t head)
{
	put(s.mem0 + AVAIL + 4 + 2 * (s.avail_idx % QSIZE), head, 2);
	s.avail_idx++;
	put(s.mem0 + AVAIL + 2, s.avail_idx, 2);
}

/* header, data (len bytes, if any), status as direct descriptors. */
static void request(uint32_t type, uint64_t sector, uint32_t len, bool data_writable)
{
	unsigned head = s.next_desc;
	unsigned d = head;

	desc_at(s.mem0 + DESC, d, header(type, sector), 16, F_NEXT, (uint16_t)(d + 1));
	d++;
	if (len) {
		desc_at(s.mem0 + DESC, d, buf(len), len, F_NEXT | (data_writable ? F_WRITE : 0),
			(uint16_t)(d + 1));
		d++;
	}
	desc_at(s.mem0 + DESC, d, buf(1), 1, F_WRITE, 0);
	s.next_desc = d + 1;
	offer((uint16_t)head);
}

static void op(uint8_t v)
{
	s.ops[s.nr_ops++] = v;
}

static int save(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return -1;
	}
	fwrite(&s.h, sizeof(s.h), 1, f);
	fwrite(s.mem0, MEM0, 1, f);
	fwrite(s.mem1, MEM1, 1, f);
	fwrite(s.ops, s.nr_ops, 1, f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}

	begin(0, 0);
	request(T_IN, 1, 512, true);
	err |= save(argv[1], "read");

	begin(FUZZ_F_EVENT_IDX, 0);
	request(T_OUT, 2, 512, false);
	request(T_FLUSH, 0, 0, false);
	request(T_GET_ID, 0, 20, true);
	request(99, 0, 0, false);
	op(FUZZ_OP_SERVE | 3 << 3);
	op(FUZZ_OP_INTERRUPT);
	op(FUZZ_OP_KICKS | 8);
	err |= save(argv[1], "write-flush-id-unsupp");

	begin(FUZZ_F_READONLY, 0);
	request(T_OUT, 0, 512, false);
	request(T_IN, 31, 512, true);
	err |= save(argv[1], "readonly");

	/* An indirect table in region 1: header, two data buffers, status. */
	begin(FUZZ_F_INDIRECT | FUZZ_F_EVENT_IDX, 0);
	desc_at(s.mem1, 0, header(T_IN, 4), 16, F_NEXT, 1);
	desc_at(s.mem1, 1, buf(512), 512, F_NEXT | F_WRITE, 2);
	desc_at(s.mem1, 2, buf(512), 512, F_NEXT | F_WRITE, 3);
	desc_at(s.mem1, 3, buf(1), 1, F_WRITE, 0);
	desc_at(s.mem0 + DESC, 0, FUZZ_R1_GPA, 4 * 16, F_INDIRECT, 0);
	offer(0);
	err |= save(argv[1], "indirect");

	/* Indices about to wrap. */
	begin(FUZZ_F_EVENT_IDX, 0xFFFE);
	request(T_IN, 0, 512, true);
	request(T_FLUSH, 0, 0, false);
	request(T_OUT, 3, 512, false);
	op(FUZZ_OP_SERVE);
	op(FUZZ_OP_INTERRUPT);
	op(FUZZ_OP_SERVE | 7 << 3);
	op(FUZZ_OP_INTERRUPT);
	err |= save(argv[1], "wrap");

	/* A driver that adds a request between pops, then a restart. */
	begin(0, 0);
	request(T_IN, 1, 512, true);
	request(T_IN, 2, 512, true);
	s.avail_idx = 1;
	put(s.mem0 + AVAIL + 2, 1, 2);
	op(FUZZ_OP_KICKS);
	op(FUZZ_OP_SERVE);
	op(FUZZ_OP_POKE);
	op((AVAIL + 2) & 0xFF); /* le16 offset of avail->idx, then the byte */
	op((AVAIL + 2) >> 8);
	op(2);
	op(FUZZ_OP_KICKS | 8);
	op(FUZZ_OP_SERVE);
	op(FUZZ_OP_INTERRUPT);
	op(FUZZ_OP_RESTART);
	op(FUZZ_OP_SERVE | 7 << 3);
	err |= save(argv[1], "script");
	return err ? 1 : 0;
}
