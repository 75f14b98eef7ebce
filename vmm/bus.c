// SPDX-License-Identifier: MIT
/* Address ranges -> device callbacks, for port I/O and for MMIO. */
#include <string.h>

#include "vmm/bus.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

static int overlaps(const struct bus_range *r, uint64_t base, uint64_t len)
{
	return base < r->base + r->len && r->base < base + len;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler_fn fn,
		 void *opaque, const char *name)
{
	int i;

	if (len == 0 || base + len < base || !fn || b->nr == BUS_MAX_RANGES)
		return -1;
	for (i = 0; i < b->nr; i++)
		if (overlaps(&b->range[i], base, len))
			return -1;
	/* Keep the table sorted so lookups can bisect. */
	for (i = b->nr; i > 0 && b->range[i - 1].base > base; i--)
		b->range[i] = b->range[i - 1];
	b->range[i] = (struct bus_range){ base, len, fn, opaque, name };
	b->nr++;
	return 0;
}

static const struct bus_range *lookup(const struct bus *b, uint64_t addr)
{
	int lo = 0, hi = b->nr - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct bus_range *r = &b->range[mid];

		if (addr < r->base)
			hi = mid - 1;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_dispatch(const struct bus *b, uint64_t addr, uint8_t *data, unsigned size,
		  bool is_write)
{
	const struct bus_range *r = lookup(b, addr);
	struct bus_access a;

	/* An access that runs past the end of its range is nobody's: devices
	 * then never see offset + size beyond what they registered. */
	if (r && size > r->len - (addr - r->base))
		r = NULL;
	if (!r) {
		if (!is_write)
			memset(data, 0xff, size);
		return false;
	}
	a = (struct bus_access){ addr - r->base, data, size, is_write };
	r->fn(r->opaque, &a);
	return true;
}
