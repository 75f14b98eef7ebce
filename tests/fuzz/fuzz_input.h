/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_FUZZ_INPUT_H
#define KVMLAB_FUZZ_INPUT_H

#include <stdint.h>

/*
 * The layout of one input of fuzz_virtqueue_blk (and of the seeds that
 * tests/fuzz/seeds.c writes):
 *
 *   struct fuzz_head                the queue and the guest memory
 *   mem0_size bytes                 region 0, at guest address 0
 *   mem1_size bytes                 region 1, at FUZZ_R1_GPA (after a gap)
 *   ops                             what happens, one byte each (FUZZ_OP_*)
 *
 * A region's bytes beyond the end of the input are zero. Every number is
 * little-endian.
 */

#define FUZZ_R1_GPA 0x10000u /* region 0 is at most 0xFFFF bytes: there is always a gap */

#define FUZZ_F_EVENT_IDX 0x01
#define FUZZ_F_INDIRECT 0x02
#define FUZZ_F_READONLY 0x04 /* the request goes to the read-only disk */

/* qsize: 1 << (qsize % 11), or with FUZZ_QSIZE_RAW the low 7 bits as they are. */
#define FUZZ_QSIZE_RAW 0x80

struct fuzz_head {
	uint8_t flags;
	uint8_t qsize;
	uint16_t start_idx; /* last_avail and used_idx as if that many chains went through */
	uint32_t desc_gpa, avail_gpa, used_gpa;
	uint16_t mem0_size, mem1_size;
} __attribute__((packed));

/*
 * Ops, by their low 3 bits:
 *   0-3  serve: pop, do the request, push; (op >> 3) + 1 chains at most
 *   4    vq_should_interrupt()
 *   5    vq_enable_kicks(op & 8)
 *   6    the driver writes: the next 3 bytes are an offset in region 0 (le16) and a byte
 *   7    reset the queue and start it again
 * No ops at all: serve until the queue is empty.
 */
#define FUZZ_OP_SERVE 0
#define FUZZ_OP_INTERRUPT 4
#define FUZZ_OP_KICKS 5
#define FUZZ_OP_POKE 6
#define FUZZ_OP_RESTART 7

#endif
