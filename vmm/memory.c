// SPDX-License-Identifier: MIT
/* Guest physical memory: the regions and the one bounds-checked accessor. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/memory.h"

void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->nr_regions; i++) {
		const struct gmem_region *r = &m->region[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		/* Written so that a huge len cannot wrap around. */
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

int gmem_add_region(struct guest_mem *m, uint64_t gpa, void *host, uint64_t size)
{
	if (m->nr_regions == GMEM_MAX_REGIONS || size == 0 || gpa + size < gpa) {
		errno = EINVAL;
		return -1;
	}
	m->region[m->nr_regions++] = (struct gmem_region){ gpa, size, host };
	m->ram_size += size;
	return 0;
}

/*
 * A 2 MiB-aligned anonymous mapping of size bytes. KVM maps guest memory with 2 MiB nested page
 * table entries only where the host backs it with a huge page and the host address and the guest
 * address agree modulo 2 MiB; every region starts at a 2 MiB-aligned gpa, so align the host side
 * too (over-map by 2 MiB, give back the ends).
 */
static void *map_aligned(uint64_t size)
{
	uint64_t len = size + GMEM_HUGE, head;
	uint8_t *p;

	if (!size || size % 4096) { /* whole pages: the configuration rounds --mem up to them */
		errno = EINVAL;
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	head = (GMEM_HUGE - ((uintptr_t)p & (GMEM_HUGE - 1))) & (GMEM_HUGE - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + size, len - head - size);
	return p + head;
}

static int map_region(struct guest_mem *m, uint64_t gpa, uint64_t size, bool thp)
{
	void *p = map_aligned(size);

	if (!p)
		return -1;
	/* Transparent huge pages cut EPT/NPT misses; a hint, not a requirement. */
	madvise(p, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (gmem_add_region(m, gpa, p, size) < 0) {
		munmap(p, size);
		return -1;
	}
	return 0;
}

int gmem_init(struct guest_mem *m, uint64_t mem_size, bool thp)
{
	uint64_t low = mem_size < GMEM_MMIO_HOLE_START ? mem_size : GMEM_MMIO_HOLE_START;

	memset(m, 0, sizeof(*m));
	if (map_region(m, 0, low, thp) < 0)
		goto fail;
	if (mem_size > low && map_region(m, GMEM_4G, mem_size - low, thp) < 0)
		goto fail;
	return 0;
fail:
	gmem_free(m);
	return -1;
}

void gmem_free(struct guest_mem *m)
{
	int saved = errno;

	for (int i = 0; i < m->nr_regions; i++)
		munmap(m->region[i].host, m->region[i].size);
	memset(m, 0, sizeof(*m));
	errno = saved;
}
