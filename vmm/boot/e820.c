// SPDX-License-Identifier: MIT
/* The memory map kvmlab describes to every guest (docs/memory-map.md). */
#include "vmm/boot/boot.h"

/* KVM needs three pages for the TSS and one for the identity map on Intel
 * hosts without unrestricted guest; vm.c puts them here, inside the hole. */
#define KVM_PRIVATE_BASE 0xFFFBC000ULL
#define KVM_PRIVATE_SIZE 0x4000ULL

int e820_build(const struct guest_mem *mem, struct e820_entry *out)
{
	int n = 0;

	for (int i = 0; i < mem->nr_regions; i++) {
		const struct gmem_region *r = &mem->region[i];

		if (r->gpa != 0) {
			out[n++] = (struct e820_entry){ r->gpa, r->size, E820_RAM };
			continue;
		}
		/* Low region: 640 KiB, the legacy VGA/BIOS hole, then RAM from 1 MiB. */
		out[n++] = (struct e820_entry){ 0, GMEM_LOW_RAM_END, E820_RAM };
		out[n++] = (struct e820_entry){ GMEM_LOW_RAM_END,
						GMEM_HIGH_RAM_START - GMEM_LOW_RAM_END, E820_RESERVED };
		if (r->size > GMEM_HIGH_RAM_START)
			out[n++] = (struct e820_entry){ GMEM_HIGH_RAM_START,
							r->size - GMEM_HIGH_RAM_START, E820_RAM };
	}
	out[n++] = (struct e820_entry){ KVM_PRIVATE_BASE, KVM_PRIVATE_SIZE, E820_RESERVED };
	/* The firmware ROM at the top of 4 GiB (--firmware, docs/boot.md). */
	if (mem->rom_size)
		out[n++] = (struct e820_entry){ mem->rom_gpa, mem->rom_size, E820_RESERVED };
	return n;
}

int boot_place_initrd(const struct guest_mem *mem, uint64_t size, uint64_t min_addr, uint64_t *gpa)
{
	const struct gmem_region *low = &mem->region[0];
	uint64_t top = low->size, addr;

	if (top > GMEM_MMIO_HOLE_START)
		top = GMEM_MMIO_HOLE_START;
	if (size > top)
		return -1;
	addr = (top - size) & ~0xFFFULL;
	if (addr < min_addr || addr < GMEM_HIGH_RAM_START)
		return -1;
	*gpa = addr;
	return 0;
}
