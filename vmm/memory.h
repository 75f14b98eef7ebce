/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_MEMORY_H
#define KVMLAB_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest physical memory. Every guest address that becomes a host pointer goes
 * through gmem_ptr(), which checks the whole range [gpa, gpa + len) against
 * one region. Nothing else in kvmlab does that translation.
 */

#define GMEM_MAX_REGIONS 4

struct gmem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct gmem_region region[GMEM_MAX_REGIONS];
	int nr_regions;
	uint64_t ram_size; /* total bytes of RAM, all regions */
	/* A firmware ROM (--firmware), not RAM and not reachable through
	 * gmem_ptr(): only so the memory map can call it reserved. 0: none. */
	uint64_t rom_gpa, rom_size;
};

/* The x86 layout we give the guest (docs/memory-map.md). */
#define GMEM_LOW_RAM_END 0xA0000ULL	    /* 640 KiB */
#define GMEM_HIGH_RAM_START 0x100000ULL	    /* 1 MiB */
#define GMEM_MMIO_HOLE_START 0xC0000000ULL /* 3 GiB: 32-bit device space */
#define GMEM_4G 0x100000000ULL
#define GMEM_HUGE 0x200000ULL /* 2 MiB: an x86 huge page, how guest RAM is aligned on the host */

/* Host pointer for [gpa, gpa + len), or NULL if any byte lies outside RAM. */
void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy helpers on top of gmem_ptr(); return 0 or -1 if out of range. */
int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

/*
 * Build the standard layout for mem_size bytes of RAM: one anonymous mapping
 * for RAM below the 32-bit hole and one for the rest above 4 GiB, each 2 MiB-aligned
 * and, with thp, advised to use transparent huge pages (without: advised not to).
 * Returns 0, or -1 with errno set.
 */
int gmem_init(struct guest_mem *m, uint64_t mem_size, bool thp);
void gmem_free(struct guest_mem *m);

/* Adopt caller-provided host buffers as regions (unit tests, fakes). */
int gmem_add_region(struct guest_mem *m, uint64_t gpa, void *host, uint64_t size);

#endif
