/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_BOOT_H
#define KVMLAB_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

/* A file (or the built-in guest) held in host memory. */
struct boot_image {
	const uint8_t *data;
	size_t size;
	const char *name; /* for messages */
};

enum boot_mode {
	BOOT_PVH32,   /* 32-bit protected mode, paging off, %ebx = start info */
	BOOT_LINUX64, /* long mode, identity map, %rsi = Linux's boot_params */
};

/* How the first vCPU must start. */
struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t rbx;
	uint64_t rsi;
};

/* Long-mode entry: where the loader puts the GDT and page tables the vCPU
 * starts with (below the boot-information area). */
#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_PML4_ADDR 0x1000ULL
#define BOOT_PDPT_ADDR 0x2000ULL
#define BOOT_PD_ADDR 0x3000ULL /* four pages: 4 GiB in 2 MiB pages */

/* Is this a kernel we can boot? Returns 0, or -1 with the reason in err. */
int boot_check(const struct boot_image *kernel, char *err, size_t errlen);

/*
 * Recognise the kernel's format, load it, the initrd and the command line into
 * guest memory and describe the machine to it. Returns 0, or -1 with one line
 * in err saying what is wrong.
 */
int boot_load(const struct guest_mem *mem, const struct boot_image *kernel,
	      const struct boot_image *initrd, const char *cmdline, int nr_cpus,
	      struct boot_entry *out, char *err, size_t errlen);

/* --- shared by the loaders ------------------------------------------------ */

/* Fixed low-memory area where kvmlab puts boot information (docs/memory-map.md). */
#define BOOT_INFO_BASE 0x6000ULL
#define BOOT_INFO_END 0x10000ULL
#define BOOT_CMDLINE_MAX 4096 /* bytes including the NUL */

/* e820 / PVH memory map entry types. */
#define E820_RAM 1
#define E820_RESERVED 2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

#define E820_MAX 8

/* The map of RAM and reserved ranges we describe to guests; returns count. */
int e820_build(const struct guest_mem *mem, struct e820_entry *out);

/* Where the initrd goes: the top of RAM below 3 GiB, page-aligned, above
 * min_addr. Returns 0 and sets *gpa, or -1 if it does not fit. */
int boot_place_initrd(const struct guest_mem *mem, uint64_t size, uint64_t min_addr, uint64_t *gpa);

/* ELF: load PT_LOAD segments; find the PVH entry note. */
struct elf_info {
	uint64_t pvh_entry; /* 0 if no XEN_ELFNOTE_PHYS32_ENTRY note */
	uint64_t load_end;  /* highest physical address loaded + 1 */
	int entry_loaded;   /* the PVH entry lies inside a loaded segment */
};

int elf_is_elf(const struct boot_image *img);
int elf_inspect(const struct boot_image *img, struct elf_info *info, char *err, size_t errlen);
int elf_load(const struct guest_mem *mem, const struct boot_image *img, struct elf_info *info,
	     char *err, size_t errlen);

int bzimage_is(const struct boot_image *img);
int bzimage_check(const struct boot_image *img, char *err, size_t errlen);
int bzimage_load(const struct guest_mem *mem, const struct boot_image *kernel,
		 const struct boot_image *initrd, const char *cmdline, struct boot_entry *out,
		 char *err, size_t errlen);

/* The MP table (Intel MultiProcessor Specification 1.4) for nr_cpus CPUs. */
int mptable_write(const struct guest_mem *mem, int nr_cpus);

int pvh_load(const struct guest_mem *mem, const struct boot_image *kernel,
	     const struct boot_image *initrd, const char *cmdline, struct boot_entry *out,
	     char *err, size_t errlen);

#endif
