/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_BUS_H
#define KVMLAB_BUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * An I/O bus maps address ranges (ports or guest-physical MMIO) to device
 * callbacks. Devices register during set-up; afterwards the bus is read-only,
 * so vCPU threads dispatch on it without locks.
 */

struct bus_access {
	uint64_t offset; /* from the start of the registered range */
	uint8_t *data;	 /* size bytes, little-endian; fill it on reads */
	unsigned size;	 /* 1, 2, 4 or 8 */
	bool is_write;
};

typedef void (*bus_handler_fn)(void *opaque, struct bus_access *a);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler_fn fn;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name; /* "pio" or "mmio", for messages */
	struct bus_range range[BUS_MAX_RANGES];
	int nr;
};

void bus_init(struct bus *b, const char *name);

/* Returns 0, or -1 if the range overlaps another, is empty or the bus is full. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler_fn fn,
		 void *opaque, const char *name);

/*
 * Dispatch one access of size bytes at addr. Returns true if a device claimed
 * it: the whole access lies inside one registered range. Unclaimed reads
 * return all-ones in data; unclaimed writes are dropped.
 */
bool bus_dispatch(const struct bus *b, uint64_t addr, uint8_t *data, unsigned size,
		  bool is_write);

/* Little-endian helpers for handlers. */
static inline uint64_t bus_get(const struct bus_access *a)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < a->size; i++)
		v |= (uint64_t)a->data[i] << (8 * i);
	return v;
}

static inline void bus_put(struct bus_access *a, uint64_t v)
{
	for (unsigned i = 0; i < a->size; i++)
		a->data[i] = (uint8_t)(v >> (8 * i));
}

#endif
