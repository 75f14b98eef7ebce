// SPDX-License-Identifier: MIT
/*
 * Linux's x86 boot protocol (Documentation/x86/boot.rst), 64-bit entry: the
 * protected-mode kernel goes to 1 MiB, the "zero page" (struct boot_params)
 * carries the setup header, the e820 map, the command line and the initrd,
 * and the vCPU enters at load address + 0x200 in long mode with an identity
 * map, flat __BOOT_CS/__BOOT_DS segments and %rsi = the zero page.
 */
#include <stdio.h>
#include <string.h>

#include "vmm/boot/boot.h"

/* Offsets in the zero page (and, from 0x1F1, in the bzImage file). */
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE 0x0C4
#define BP_EXT_CMD_LINE_PTR 0x0C8
#define BP_E820_ENTRIES 0x1E8
#define BP_SENTINEL 0x1EF
#define BP_HDR 0x1F1
#define BP_E820_TABLE 0x2D0
#define BP_E820_MAX 128

#define HDR_SETUP_SECTS 0x1F1
#define HDR_BOOT_FLAG 0x1FE
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21C
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22C
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE 0x260

#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01
#define MIN_PROTOCOL 0x0206

/* Where things go in guest memory (docs/memory-map.md). */
#define KERNEL_LOAD 0x100000ULL
#define ZERO_PAGE 0x7000ULL
#define CMDLINE_ADDR 0x20000ULL

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int bzimage_is(const struct boot_image *img)
{
	return img->size >= HDR_MAGIC + 4 && !memcmp(img->data + HDR_MAGIC, "HdrS", 4);
}

/* Header checks shared by boot_check() and the loader. */
int bzimage_check(const struct boot_image *img, char *err, size_t errlen)
{
	const uint8_t *d = img->data;
	unsigned setup;

	if (img->size < 0x270 || get16(d + HDR_BOOT_FLAG) != 0xAA55) {
		snprintf(err, errlen, "%s: corrupt bzImage: setup header truncated", img->name);
		return -1;
	}
	if (get16(d + HDR_VERSION) < MIN_PROTOCOL) {
		snprintf(err, errlen, "%s: boot protocol %u.%02u is too old: kvmlab needs 2.06 or "
			 "later", img->name, d[HDR_VERSION + 1], d[HDR_VERSION]);
		return -1;
	}
	if (!(get16(d + HDR_XLOADFLAGS) & XLF_KERNEL_64) || !(d[HDR_LOADFLAGS] & LOADED_HIGH)) {
		snprintf(err, errlen, "%s: not a 64-bit kernel with a 64-bit entry point",
			 img->name);
		return -1;
	}
	setup = (d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4) + 1;
	if ((uint64_t)setup * 512 >= img->size || 0x202U + d[HDR_JUMP + 1] > setup * 512) {
		snprintf(err, errlen, "%s: corrupt bzImage: no protected-mode kernel after the "
			 "setup code", img->name);
		return -1;
	}
	/* The kernel's own size field says how long the file must be. */
	if ((uint64_t)setup * 512 + (uint64_t)get32(d + 0x1F4) * 16 > img->size) {
		snprintf(err, errlen, "%s: truncated bzImage: %zu bytes, the header promises %llu",
			 img->name, img->size,
			 (unsigned long long)setup * 512 + (unsigned long long)get32(d + 0x1F4) * 16);
		return -1;
	}
	return 0;
}

/* Identity map of the first 4 GiB with 2 MiB pages, and a GDT with
 * __BOOT_CS (0x10, 64-bit code) and __BOOT_DS (0x18). */
static int write_long_mode_tables(const struct guest_mem *mem)
{
	static const uint64_t gdt[4] = { 0, 0, 0x00AF9A000000FFFFULL, 0x00CF92000000FFFFULL };
	uint64_t pml4 = BOOT_PDPT_ADDR | 3, pdpt[4], pd[512];

	if (gmem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt)) < 0 ||
	    gmem_write(mem, BOOT_PML4_ADDR, &pml4, sizeof(pml4)) < 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		pdpt[i] = (BOOT_PD_ADDR + i * 0x1000ULL) | 3;
		for (int j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30 | (uint64_t)j << 21) | 0x83; /* P, RW, PS */
		if (gmem_write(mem, BOOT_PD_ADDR + i * 0x1000ULL, pd, sizeof(pd)) < 0)
			return -1;
	}
	return gmem_write(mem, BOOT_PDPT_ADDR, pdpt, sizeof(pdpt));
}

static void fill_e820(const struct guest_mem *mem, uint8_t *zp)
{
	struct e820_entry e[E820_MAX];
	int n = e820_build(mem, e);

	for (int i = 0; i < n; i++) {
		uint8_t *p = zp + BP_E820_TABLE + i * 20;

		memcpy(p, &e[i].addr, 8);
		memcpy(p + 8, &e[i].size, 8);
		memcpy(p + 16, &e[i].type, 4);
	}
	zp[BP_E820_ENTRIES] = (uint8_t)n;
}

static int place_initrd(const struct guest_mem *mem, const struct boot_image *initrd,
			uint8_t *zp, uint64_t kernel_end, char *err, size_t errlen)
{
	uint64_t max = get32(zp + HDR_INITRD_ADDR_MAX), addr;
	struct guest_mem capped = *mem;

	/* The header says how high the initrd may end; respect it. */
	if (capped.region[0].size > max + 1)
		capped.region[0].size = max + 1;
	if (boot_place_initrd(&capped, initrd->size, kernel_end, &addr) < 0 ||
	    gmem_write(mem, addr, initrd->data, initrd->size) < 0) {
		snprintf(err, errlen, "%s (%zu KiB) does not fit in guest RAM between the kernel "
			 "and 0x%llx: give more with --mem", initrd->name, initrd->size >> 10,
			 (unsigned long long)max);
		return -1;
	}
	put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
	put32(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd->size);
	put32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(addr >> 32));
	put32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)initrd->size >> 32));
	return 0;
}

int bzimage_load(const struct guest_mem *mem, const struct boot_image *kernel,
		 const struct boot_image *initrd, const char *cmdline, struct boot_entry *out,
		 char *err, size_t errlen)
{
	const uint8_t *d = kernel->data;
	uint8_t zp[4096] = { 0 };
	unsigned setup = (d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4) + 1;
	size_t kernel_size = kernel->size - setup * 512, cmdlen = strlen(cmdline) + 1;
	uint64_t init_size = get32(d + HDR_INIT_SIZE), kernel_end;

	/* boot_check() has vetted the header (bzimage_check). */
	if (cmdlen - 1 > get32(d + HDR_CMDLINE_SIZE)) {
		snprintf(err, errlen, "command line is %zu bytes; this kernel takes at most %u",
			 cmdlen - 1, get32(d + HDR_CMDLINE_SIZE));
		return -1;
	}
	kernel_end = KERNEL_LOAD + (init_size > kernel_size ? init_size : kernel_size);
	if (!gmem_ptr(mem, KERNEL_LOAD, kernel_end - KERNEL_LOAD)) {
		snprintf(err, errlen, "%s needs %llu MiB from 1 MiB up to unpack itself; guest RAM "
			 "is %llu MiB: give more with --mem", kernel->name,
			 (unsigned long long)((kernel_end - KERNEL_LOAD) >> 20),
			 (unsigned long long)(mem->ram_size >> 20));
		return -1;
	}
	gmem_write(mem, KERNEL_LOAD, d + setup * 512, kernel_size);

	/* The zero page: the file's setup header, then what a boot loader fills in. */
	memcpy(zp + BP_HDR, d + BP_HDR, 0x202 + d[HDR_JUMP + 1] - BP_HDR);
	zp[HDR_TYPE_OF_LOADER] = 0xFF; /* "undefined" loader */
	zp[BP_SENTINEL] = 0;
	put32(zp + HDR_CMD_LINE_PTR, (uint32_t)CMDLINE_ADDR);
	put32(zp + BP_EXT_CMD_LINE_PTR, 0);
	fill_e820(mem, zp);
	if (initrd && place_initrd(mem, initrd, zp, kernel_end, err, errlen) < 0)
		return -1;
	if (gmem_write(mem, CMDLINE_ADDR, cmdline, cmdlen) < 0 ||
	    gmem_write(mem, ZERO_PAGE, zp, sizeof(zp)) < 0 || write_long_mode_tables(mem) < 0) {
		snprintf(err, errlen, "guest RAM too small for the boot data");
		return -1;
	}
	*out = (struct boot_entry){ .mode = BOOT_LINUX64, .rip = KERNEL_LOAD + 0x200,
				    .rsi = ZERO_PAGE };
	return 0;
}
