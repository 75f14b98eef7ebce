// SPDX-License-Identifier: MIT
/*
 * The split virtqueue (virtio 1.x, 2.7), device side.
 *
 * The driver runs on another CPU and may be hostile, so:
 *  - the three areas are checked and mapped once, in vq_start(), with their
 *    event-index fields (2.7: 6 + 2 * size and 6 + 8 * size bytes);
 *  - the driver's avail->idx is read once per pop, with acquire ordering,
 *    so the ring entries read after it are at least as new;
 *  - a descriptor is copied to a local before it is checked, and only the
 *    copy is used afterwards: the guest may rewrite it at any moment;
 *  - used->idx is stored with release ordering after the used element, so
 *    the driver never sees an index before the element it covers.
 *
 * Everything is little-endian in guest memory (virtio 1.x); the le*toh
 * calls cost nothing on x86 and say what the bytes are.
 */
#include <endian.h>
#include <string.h>

#include "devices/virtqueue.h"

#define DESC_SIZE 16u /* sizeof(struct vring_desc) in guest memory */
#define USED_ELEM_SIZE 8u

/* Guest-visible 16-bit fields, read and written once each (no tearing). */
static uint16_t load16(const uint16_t *p, int order)
{
	return le16toh(__atomic_load_n(p, order));
}

static void store16(uint16_t *p, uint16_t v, int order)
{
	__atomic_store_n(p, htole16(v), order);
}

static uint16_t *avail_idx_ptr(const struct virtq *q)
{
	return &q->avail[1];
}

static uint16_t *used_event_ptr(const struct virtq *q)
{
	return &q->avail[2 + q->size];
}

static uint16_t *used_flags_ptr(const struct virtq *q)
{
	return (uint16_t *)q->used;
}

static uint16_t *used_idx_ptr(const struct virtq *q)
{
	return (uint16_t *)(q->used + 2);
}

static uint16_t *avail_event_ptr(const struct virtq *q)
{
	return (uint16_t *)(q->used + 4 + USED_ELEM_SIZE * q->size);
}

static int is_pow2(unsigned v)
{
	return v && !(v & (v - 1));
}

int vq_start(struct virtq *q, const struct guest_mem *mem)
{
	uint64_t desc_len = (uint64_t)DESC_SIZE * q->size;
	uint64_t avail_len = 6 + 2 * (uint64_t)q->size;
	uint64_t used_len = 6 + (uint64_t)USED_ELEM_SIZE * q->size;
	void *desc, *avail, *used;

	q->ready = false;
	if (!is_pow2(q->size) || q->size > VQ_MAX_SIZE)
		return -1;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -1;
	desc = gmem_ptr(mem, q->desc_gpa, desc_len);
	avail = gmem_ptr(mem, q->avail_gpa, avail_len);
	used = gmem_ptr(mem, q->used_gpa, used_len);
	if (!desc || !avail || !used)
		return -1;

	q->mem = mem;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->broken = false;
	q->ready = true;
	return 0;
}

void vq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static int broken(struct virtq *q)
{
	q->broken = true;
	return -1;
}

/*
 * Copy descriptor i of a table to d. The compiler barrier keeps the compiler
 * from reading guest memory again in place of the copy: what is checked is
 * what is used.
 */
static void read_desc(const uint8_t *table, unsigned i, struct vring_desc *d)
{
	memcpy(d, table + (size_t)DESC_SIZE * i, sizeof(*d));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Where a chain walk is: the table, its length, what was seen so far. */
struct walk {
	const uint8_t *table;
	unsigned table_size;
	unsigned visited; /* descriptors taken from this table: more than its size is a loop */
	bool indirect;	  /* inside an indirect table */
	bool seen_write;  /* a device-writable buffer came already */
};

/*
 * Switch the walk to the indirect table d describes. Returns 0, or -1 for a
 * structural error (the queue breaks).
 */
static int enter_indirect(const struct virtq *q, struct walk *w, const struct vring_desc *d)
{
	const uint8_t *table;

	if (!q->indirect || w->indirect || (d->flags & VRING_DESC_F_NEXT))
		return -1;
	if (d->len == 0 || d->len % DESC_SIZE || d->len / DESC_SIZE > VQ_MAX_SIZE)
		return -1;
	table = gmem_ptr(q->mem, d->addr, d->len);
	if (!table)
		return -1;
	w->table = table;
	w->table_size = d->len / DESC_SIZE;
	w->visited = 0;
	w->indirect = true;
	return 0;
}

/*
 * Add the buffer d describes to the chain, or mark the chain bad_buf if it is
 * empty, outside guest memory, or readable after a writable one (2.7.4:
 * device-readable buffers come first). Returns -1 if the chain outgrows c.
 */
static int add_buf(const struct virtq *q, struct walk *w, const struct vring_desc *d,
		   struct vq_chain *c)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	uint8_t *host;

	if (c->nr == VQ_MAX_SIZE)
		return -1;
	if (!writable && w->seen_write) {
		c->bad_buf = true;
		return 0;
	}
	w->seen_write |= writable;
	host = d->len ? gmem_ptr(q->mem, d->addr, d->len) : NULL;
	if (!host) {
		c->bad_buf = true;
		return 0;
	}
	c->buf[c->nr++] = (struct vq_buf){ host, d->len, writable };
	return 0;
}

/* Follow the chain from head through the descriptor table (and at most one indirect table). */
static int walk_chain(struct virtq *q, uint16_t head, struct vq_chain *c)
{
	struct walk w = { (const uint8_t *)q->desc, q->size, 0, false, false };
	struct vring_desc d;
	unsigned i = head;

	c->head = head;
	c->nr = 0;
	c->bad_buf = false;
	for (;;) {
		if (++w.visited > w.table_size)
			return -1; /* a loop, or longer than the queue */
		read_desc(w.table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (enter_indirect(q, &w, &d) < 0)
				return -1;
			i = 0;
			continue;
		}
		if (add_buf(q, &w, &d, c) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= w.table_size)
			return -1;
		i = d.next;
	}
}

int vq_pop(struct virtq *q, struct vq_chain *c)
{
	uint16_t avail_idx, pending, head;

	if (q->broken)
		return -1;
	if (!q->ready)
		return 0;
	/* Acquire: the ring entries below are at least as new as this index. */
	avail_idx = load16(avail_idx_ptr(q), __ATOMIC_ACQUIRE);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return broken(q);
	head = load16(&q->avail[2 + (q->last_avail & (q->size - 1))], __ATOMIC_RELAXED);
	if (head >= q->size)
		return broken(q);
	q->last_avail++;
	if (walk_chain(q, head, c) < 0)
		return broken(q);
	return 1;
}

void vq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *elem;
	uint32_t v;

	if (!q->ready || q->broken)
		return;
	elem = q->used + 4 + USED_ELEM_SIZE * (q->used_idx & (q->size - 1));
	v = htole32(head);
	__atomic_store_n((uint32_t *)elem, v, __ATOMIC_RELAXED);
	v = htole32(len);
	__atomic_store_n((uint32_t *)(elem + 4), v, __ATOMIC_RELAXED);
	q->used_idx++;
	/* Release: the driver sees the element before the index that covers it. */
	store16(used_idx_ptr(q), q->used_idx, __ATOMIC_RELEASE);
}

/*
 * 2.7.10: the driver wants an interrupt once the used index goes past
 * used_event, i.e. if used_event lies in [old, new), modulo 2^16.
 */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool vq_should_interrupt(struct virtq *q)
{
	uint16_t old_idx = q->signalled_used;
	bool valid = q->signalled_valid;

	if (!q->ready || q->broken)
		return false;
	/* Our used->idx store must be visible before we read the driver's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	if (old_idx == q->used_idx)
		return false; /* nothing used since the last time (or since vq_start) */
	if (!q->event_idx)
		return !(load16(&q->avail[0], __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true; /* never interrupted yet: one interrupt too many is harmless */
	return need_event(load16(used_event_ptr(q), __ATOMIC_RELAXED), q->used_idx, old_idx);
}

bool vq_enable_kicks(struct virtq *q, bool enable)
{
	if (!q->ready || q->broken)
		return false;
	if (!q->event_idx)
		store16(used_flags_ptr(q), enable ? 0 : VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
	else if (enable)
		store16(avail_event_ptr(q), q->last_avail, __ATOMIC_RELAXED);
	/* With EVENT_IDX, disabling is leaving avail_event behind: one more kick at most. */
	if (!enable)
		return false;
	/*
	 * The driver checks our flag or avail_event after publishing avail->idx;
	 * we check avail->idx after publishing ours. The full fence makes sure
	 * one of us sees the other, so no buffer waits for a kick that never comes.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(avail_idx_ptr(q), __ATOMIC_ACQUIRE) != q->last_avail;
}
