/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_VIRTQUEUE_H
#define KVMLAB_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/memory.h"

/*
 * A split virtqueue (virtio 1.x, 2.7), seen from the device. The driver lives
 * in a hostile guest: every index read from the rings is checked against the
 * queue size, every buffer against guest memory (through gmem_ptr), and a
 * chain may not loop or outgrow the queue. A structural error (an index out of
 * range, a loop, a bad indirect table) marks the queue broken: the transport
 * then sets DEVICE_NEEDS_RESET and the device stops touching it.
 */

#define VQ_MAX_SIZE 1024 /* the largest queue we accept (and a chain's length limit) */

/* Descriptor flags and ring flags (2.7.5, 2.7.6, 2.7.8). */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One buffer of a chain, already translated and checked. */
struct vq_buf {
	uint8_t *host; /* valid for len bytes: gmem_ptr() said so */
	uint32_t len;
	bool writable; /* device-writable (VRING_DESC_F_WRITE) */
};

struct vq_chain {
	uint16_t head;	/* goes back to the driver in the used ring */
	unsigned nr;	/* buffers in buf[] */
	bool bad_buf;	/* a buffer lay outside guest memory or was empty: fail the request */
	struct vq_buf buf[VQ_MAX_SIZE];
};

struct virtq {
	/* Set by the driver through the transport, before the queue is enabled. */
	uint16_t size; /* a power of 2, 1..VQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	/* Device state: vq_start() fills it in, the device's thread owns it. */
	const struct guest_mem *mem;
	struct vring_desc *desc; /* host views of the three areas, checked once */
	uint16_t *avail;	 /* flags, idx, ring[size], used_event */
	uint8_t *used;		 /* flags, idx, {id, len}[size], avail_event */
	uint16_t last_avail;	 /* next avail ring slot to take */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when we last interrupted the driver */
	bool signalled_valid;
	bool ready;
	bool broken;
};

/*
 * Check and map the three areas for q->size entries. Returns 0, or -1 if an
 * area lies outside guest memory, is misaligned or the size is not a power of
 * two (the queue stays not ready).
 */
int vq_start(struct virtq *q, const struct guest_mem *mem);
/* Forget everything (device reset): the queue is as after zeroing. */
void vq_reset(struct virtq *q);

/*
 * Take the next available chain. Returns 1 with c filled in, 0 if the driver
 * has made nothing new available (or the queue is not started), -1 if the
 * queue is (now) broken. A chain whose buffers are out of guest memory or
 * empty, or device-readable after a device-writable one, comes back with
 * bad_buf set and only its valid buffers listed; its head must still be
 * pushed. Limits: at most size descriptors from the ring's table, at most
 * VQ_MAX_SIZE from an indirect table, at most VQ_MAX_SIZE buffers in all.
 * Once broken, pop, push, should_interrupt and enable_kicks do nothing
 * until vq_reset() and vq_start().
 */
int vq_pop(struct virtq *q, struct vq_chain *c);
/* Return a chain's head to the driver with len bytes written into it. */
void vq_push(struct virtq *q, uint16_t head, uint32_t len);
/*
 * After pushes: whether the driver wants an interrupt now (VRING_AVAIL_F_NO_INTERRUPT,
 * or used_event with EVENT_IDX). Updates what "last signalled" means.
 */
bool vq_should_interrupt(struct virtq *q);
/*
 * Tell the driver whether we want kicks (VRING_USED_F_NO_NOTIFY, or avail_event
 * with EVENT_IDX). After enabling, returns true if buffers arrived meanwhile
 * (the caller must look again before it sleeps).
 */
bool vq_enable_kicks(struct virtq *q, bool enable);

#endif
