// SPDX-License-Identifier: MIT
/*
 * PVH boot: the kernel is an ELF whose XEN_ELFNOTE_PHYS32_ENTRY note names a
 * 32-bit entry point. The vCPU starts there in flat protected mode with paging
 * off and %ebx pointing at an hvm_start_info that describes memory, the
 * command line and the initrd (as module 0). Layouts follow the PVH ABI of
 * Xen's public arch-x86/hvm/start_info.h (version 1).
 */
#include <stdio.h>
#include <string.h>

#include "vmm/boot/boot.h"

#define PVH_MAGIC 0x336ec578U

struct pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_module {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Where each piece lives inside the boot-information area. */
#define PVH_START_INFO BOOT_INFO_BASE
#define PVH_MEMMAP (BOOT_INFO_BASE + 0x100)
#define PVH_MODLIST (BOOT_INFO_BASE + 0x400)
#define PVH_CMDLINE (BOOT_INFO_BASE + 0x1000)

_Static_assert(sizeof(struct pvh_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "hvm_memmap_table_entry layout");
_Static_assert(PVH_MEMMAP + E820_MAX * sizeof(struct pvh_memmap_entry) <= PVH_MODLIST, "memmap room");
_Static_assert(PVH_CMDLINE + BOOT_CMDLINE_MAX <= BOOT_INFO_END, "cmdline room");

static int write_memmap(const struct guest_mem *mem, struct pvh_start_info *si)
{
	struct e820_entry e[E820_MAX];
	int n = e820_build(mem, e);

	for (int i = 0; i < n; i++) {
		struct pvh_memmap_entry me = { e[i].addr, e[i].size, e[i].type, 0 };

		if (gmem_write(mem, PVH_MEMMAP + i * sizeof(me), &me, sizeof(me)) < 0)
			return -1;
	}
	si->memmap_paddr = PVH_MEMMAP;
	si->memmap_entries = n;
	return 0;
}

static int load_initrd(const struct guest_mem *mem, const struct boot_image *initrd,
		       uint64_t kernel_end, struct pvh_start_info *si, char *err, size_t errlen)
{
	struct pvh_module mod = { 0 };

	if (boot_place_initrd(mem, initrd->size, kernel_end, &mod.paddr) < 0) {
		snprintf(err, errlen, "%s (%zu KiB) does not fit in guest RAM above the kernel: "
			 "give more with --mem", initrd->name, initrd->size >> 10);
		return -1;
	}
	mod.size = initrd->size;
	if (gmem_write(mem, mod.paddr, initrd->data, initrd->size) < 0 ||
	    gmem_write(mem, PVH_MODLIST, &mod, sizeof(mod)) < 0) {
		snprintf(err, errlen, "%s: cannot place the initrd", initrd->name);
		return -1;
	}
	si->nr_modules = 1;
	si->modlist_paddr = PVH_MODLIST;
	return 0;
}

int pvh_load(const struct guest_mem *mem, const struct boot_image *kernel,
	     const struct boot_image *initrd, const char *cmdline, struct boot_entry *out,
	     char *err, size_t errlen)
{
	struct pvh_start_info si = { .magic = PVH_MAGIC, .version = 1 };
	size_t cmdlen = strlen(cmdline) + 1;
	struct elf_info info;

	if (cmdlen > BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "command line is %zu bytes; at most %d fit", cmdlen - 1,
			 BOOT_CMDLINE_MAX - 1);
		return -1;
	}
	if (!gmem_ptr(mem, BOOT_INFO_BASE, BOOT_INFO_END - BOOT_INFO_BASE)) {
		snprintf(err, errlen, "guest RAM does not cover the boot-information area");
		return -1;
	}
	/* boot_check() has vetted the entry point already. */
	if (elf_load(mem, kernel, &info, err, errlen) < 0)
		return -1;
	gmem_write(mem, PVH_CMDLINE, cmdline, cmdlen);
	si.cmdline_paddr = PVH_CMDLINE;
	if (write_memmap(mem, &si) < 0) {
		snprintf(err, errlen, "cannot write the memory map");
		return -1;
	}
	if (initrd && load_initrd(mem, initrd, info.load_end, &si, err, errlen) < 0)
		return -1;
	gmem_write(mem, PVH_START_INFO, &si, sizeof(si));
	*out = (struct boot_entry){ .mode = BOOT_PVH32, .rip = info.pvh_entry, .rbx = PVH_START_INFO };
	return 0;
}
