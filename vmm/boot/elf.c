// SPDX-License-Identifier: MIT
/*
 * ELF kernels (32- or 64-bit): program headers are loaded at their physical
 * addresses; the PVH entry point comes from a Xen ELF note. The file is
 * untrusted input: every offset and size is checked before use.
 */
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "vmm/boot/boot.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* A program header, whatever the ELF class. */
struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

int elf_is_elf(const struct boot_image *img)
{
	return img->size >= SELFMAG && !memcmp(img->data, ELFMAG, SELFMAG);
}

static int range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Header checks; sets *phnum and *is64. */
static int check_header(const struct boot_image *img, int *is64, uint64_t *phoff,
			unsigned *phnum, char *err, size_t errlen)
{
	const uint8_t *id = img->data;
	unsigned entsize;

	if (img->size < EI_NIDENT || (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64)) {
		snprintf(err, errlen, "%s: corrupt ELF: bad class", img->name);
		return -1;
	}
	*is64 = id[EI_CLASS] == ELFCLASS64;
	if (img->size < (*is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) {
		snprintf(err, errlen, "%s: corrupt ELF: file shorter than its header", img->name);
		return -1;
	}
	if (id[EI_DATA] != ELFDATA2LSB) {
		snprintf(err, errlen, "%s: ELF is not little-endian: not an x86 kernel", img->name);
		return -1;
	}
	if (*is64) {
		const Elf64_Ehdr *eh = (const void *)img->data;

		if (eh->e_machine != EM_X86_64)
			goto not_x86;
		*phoff = eh->e_phoff;
		*phnum = eh->e_phnum;
		entsize = eh->e_phentsize;
	} else {
		const Elf32_Ehdr *eh = (const void *)img->data;

		if (eh->e_machine != EM_386 && eh->e_machine != EM_X86_64)
			goto not_x86;
		*phoff = eh->e_phoff;
		*phnum = eh->e_phnum;
		entsize = eh->e_phentsize;
	}
	if (*phnum == 0 || entsize != (*is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) ||
	    !range_ok(*phoff, (uint64_t)*phnum * entsize, img->size)) {
		snprintf(err, errlen, "%s: corrupt ELF: program headers missing or outside the file",
			 img->name);
		return -1;
	}
	return 0;
not_x86:
	snprintf(err, errlen, "%s: ELF for another machine, not x86", img->name);
	return -1;
}

static void get_phdr(const struct boot_image *img, int is64, uint64_t phoff, unsigned i,
		     struct phdr *p)
{
	if (is64) {
		Elf64_Phdr ph;

		memcpy(&ph, img->data + phoff + i * sizeof(ph), sizeof(ph));
		*p = (struct phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
	} else {
		Elf32_Phdr ph;

		memcpy(&ph, img->data + phoff + i * sizeof(ph), sizeof(ph));
		*p = (struct phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
	}
}

/* Walk the notes of one PT_NOTE segment looking for the PVH entry. */
static int scan_notes(const uint8_t *p, uint64_t len, uint64_t *entry)
{
	while (len >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_pad, desc_pad;

		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		name_pad = ((uint64_t)namesz + 3) & ~3ULL;
		desc_pad = ((uint64_t)descsz + 3) & ~3ULL;
		if (name_pad + desc_pad > len - 12)
			return -1;
		if (namesz == 4 && !memcmp(p + 12, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint32_t e32;

			if (descsz == 8) {
				memcpy(entry, p + 12 + name_pad, 8);
			} else if (descsz == 4) {
				memcpy(&e32, p + 12 + name_pad, 4);
				*entry = e32;
			} else {
				return -1;
			}
			return 0;
		}
		p += 12 + name_pad + desc_pad;
		len -= 12 + name_pad + desc_pad;
	}
	return 0;
}

int elf_inspect(const struct boot_image *img, struct elf_info *info, char *err, size_t errlen)
{
	uint64_t phoff;
	unsigned phnum;
	int is64;

	memset(info, 0, sizeof(*info));
	if (check_header(img, &is64, &phoff, &phnum, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < phnum; i++) {
		struct phdr p;

		get_phdr(img, is64, phoff, i, &p);
		if (p.type == PT_LOAD && !range_ok(p.offset, p.filesz, img->size)) {
			snprintf(err, errlen, "%s: corrupt ELF: segment %u lies outside the file",
				 img->name, i);
			return -1;
		}
		if (p.type == PT_LOAD && p.memsz > UINT64_MAX - p.paddr) {
			snprintf(err, errlen, "%s: corrupt ELF: segment %u wraps around the address "
				 "space", img->name, i);
			return -1;
		}
		if (p.type == PT_LOAD && p.filesz > p.memsz) {
			snprintf(err, errlen, "%s: corrupt ELF: segment %u has more bytes in the file "
				 "than in memory", img->name, i);
			return -1;
		}
		if (p.type != PT_NOTE)
			continue;
		if (!range_ok(p.offset, p.filesz, img->size) ||
		    scan_notes(img->data + p.offset, p.filesz, &info->pvh_entry) < 0) {
			snprintf(err, errlen, "%s: corrupt ELF: malformed note segment", img->name);
			return -1;
		}
	}
	for (unsigned i = 0; i < phnum && info->pvh_entry; i++) {
		struct phdr p;

		get_phdr(img, is64, phoff, i, &p);
		if (p.type == PT_LOAD && info->pvh_entry >= p.paddr &&
		    info->pvh_entry - p.paddr < p.memsz)
			info->entry_loaded = 1;
	}
	return 0;
}

int elf_load(const struct guest_mem *mem, const struct boot_image *img, struct elf_info *info,
	     char *err, size_t errlen)
{
	uint64_t phoff;
	unsigned phnum, loaded = 0;
	int is64;

	if (elf_inspect(img, info, err, errlen) < 0)
		return -1;
	check_header(img, &is64, &phoff, &phnum, err, errlen);
	for (unsigned i = 0; i < phnum; i++) {
		struct phdr p;
		uint8_t *dst;

		get_phdr(img, is64, phoff, i, &p);
		if (p.type != PT_LOAD || p.memsz == 0)
			continue;
		if (p.paddr < BOOT_INFO_END && p.paddr + p.memsz > BOOT_INFO_BASE) {
			snprintf(err, errlen, "%s: segment at 0x%llx overlaps kvmlab's boot data "
				 "(0x%llx-0x%llx)", img->name, (unsigned long long)p.paddr,
				 BOOT_INFO_BASE, BOOT_INFO_END);
			return -1;
		}
		dst = gmem_ptr(mem, p.paddr, p.memsz);
		if (!dst) {
			snprintf(err, errlen, "%s: segment at 0x%llx-0x%llx is outside guest RAM "
				 "(%llu MiB)%s", img->name, (unsigned long long)p.paddr,
				 (unsigned long long)(p.paddr + p.memsz),
				 (unsigned long long)(mem->ram_size >> 20),
				 p.paddr + p.memsz <= GMEM_MMIO_HOLE_START
					 ? ": give more with --mem"
					 : ": it lies in the device hole or beyond RAM");
			return -1;
		}
		memcpy(dst, img->data + p.offset, p.filesz);
		memset(dst + p.filesz, 0, p.memsz - p.filesz);
		if (p.paddr + p.memsz > info->load_end)
			info->load_end = p.paddr + p.memsz;
		loaded++;
	}
	if (!loaded) {
		snprintf(err, errlen, "%s: ELF has nothing to load", img->name);
		return -1;
	}
	return 0;
}
