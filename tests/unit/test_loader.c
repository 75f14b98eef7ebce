/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/tests/lib.h" /* the guest's view of hvm_start_info */
#include "vmm/boot/boot.h"
#include "vmm/memory.h"

/* The guest reads what the host writes: both must be Xen's layout. */
_Static_assert(sizeof(struct start_info) == 56, "hvm_start_info");
_Static_assert(offsetof(struct start_info, modlist_paddr) == 16, "hvm_start_info");
_Static_assert(offsetof(struct start_info, cmdline_paddr) == 24, "hvm_start_info");
_Static_assert(offsetof(struct start_info, memmap_paddr) == 40, "hvm_start_info");
_Static_assert(offsetof(struct start_info, memmap_entries) == 48, "hvm_start_info");
_Static_assert(sizeof(struct memmap_entry) == 24, "hvm_memmap_table_entry");
_Static_assert(sizeof(struct start_module) == 32, "hvm_modlist_entry");

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* --- fake guest memory ------------------------------------------------------ */

#define RAM_SIZE (16ULL << 20)
#define RAM_FILL 0xAA

static uint8_t *ram;
static struct guest_mem mem;
static char err[512];
static struct boot_entry entry;

static void setup(void)
{
	ram = malloc(RAM_SIZE);
	cr_assert_not_null(ram);
	memset(ram, RAM_FILL, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(gmem_add_region(&mem, 0, ram, RAM_SIZE), 0);
	memset(err, 0, sizeof(err));
	memset(&entry, 0, sizeof(entry));
}

static void teardown(void)
{
	free(ram);
	ram = NULL;
}

static int all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/* --- kernel images built in memory ------------------------------------------ */

/*
 * Layout: ELF header at 0, program headers at 0x40 (a PT_LOAD and a PT_NOTE),
 * the "Xen" PHYS32_ENTRY note at 0x100, the loadable bytes at 0x200.
 */
#define PH_OFF 0x40
#define NOTE_OFF 0x100
#define SEG_OFF 0x200
#define SEG_FILESZ 0x300
#define SEG_MEMSZ 0x1000
#define SEG_PADDR 0x100000ULL
#define ENTRY (SEG_PADDR + 0x10)
#define IMG_MAX 0x4000

struct kimg {
	_Alignas(8) uint8_t buf[IMG_MAX];
	size_t size;
	int is64;
};

static uint8_t seg_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static void set_phdr(struct kimg *k, unsigned i, uint32_t type, uint64_t off, uint64_t paddr,
		     uint64_t filesz, uint64_t memsz)
{
	if (k->is64) {
		Elf64_Phdr *ph = (Elf64_Phdr *)(k->buf + PH_OFF) + i;

		*ph = (Elf64_Phdr){ .p_type = type, .p_flags = PF_R | PF_X, .p_offset = off,
				    .p_vaddr = paddr, .p_paddr = paddr, .p_filesz = filesz,
				    .p_memsz = memsz, .p_align = 4 };
	} else {
		Elf32_Phdr *ph = (Elf32_Phdr *)(k->buf + PH_OFF) + i;

		*ph = (Elf32_Phdr){ .p_type = type, .p_offset = (uint32_t)off,
				    .p_vaddr = (uint32_t)paddr, .p_paddr = (uint32_t)paddr,
				    .p_filesz = (uint32_t)filesz, .p_memsz = (uint32_t)memsz,
				    .p_flags = PF_R | PF_X, .p_align = 4 };
	}
}

/* Program-header table fields of the ELF header, whatever the class. */
static void set_phtab(struct kimg *k, uint64_t phoff, uint16_t phnum, uint16_t phentsize)
{
	if (k->is64) {
		Elf64_Ehdr *eh = (Elf64_Ehdr *)k->buf;

		eh->e_phoff = phoff;
		eh->e_phnum = phnum;
		eh->e_phentsize = phentsize;
	} else {
		Elf32_Ehdr *eh = (Elf32_Ehdr *)k->buf;

		eh->e_phoff = (uint32_t)phoff;
		eh->e_phnum = phnum;
		eh->e_phentsize = phentsize;
	}
}

static void set_machine(struct kimg *k, uint16_t machine)
{
	if (k->is64)
		((Elf64_Ehdr *)k->buf)->e_machine = machine;
	else
		((Elf32_Ehdr *)k->buf)->e_machine = machine;
}

/* The note: namesz, descsz, type, "Xen\0", then the entry address. */
static void set_note(struct kimg *k, uint32_t namesz, uint32_t descsz, uint32_t type,
		     uint64_t addr)
{
	uint8_t *n = k->buf + NOTE_OFF;

	memcpy(n, &namesz, 4);
	memcpy(n + 4, &descsz, 4);
	memcpy(n + 8, &type, 4);
	memcpy(n + 12, "Xen", 4);
	memcpy(n + 16, &addr, 8); /* the low 4 bytes come first: good for descsz 4 too */
}

static void build(struct kimg *k, int is64, unsigned descsz)
{
	uint16_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	uint16_t phentsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);

	memset(k, 0, sizeof(*k));
	k->is64 = is64;
	k->size = SEG_OFF + SEG_FILESZ;
	memcpy(k->buf, ELFMAG, SELFMAG);
	k->buf[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	k->buf[EI_DATA] = ELFDATA2LSB;
	k->buf[EI_VERSION] = EV_CURRENT;
	if (is64) {
		Elf64_Ehdr *eh = (Elf64_Ehdr *)k->buf;

		eh->e_type = ET_EXEC;
		eh->e_version = EV_CURRENT;
		eh->e_entry = 0xFFFFFFFF81000000ULL; /* the virtual entry: not what PVH uses */
		eh->e_ehsize = ehsize;
	} else {
		Elf32_Ehdr *eh = (Elf32_Ehdr *)k->buf;

		eh->e_type = ET_EXEC;
		eh->e_version = EV_CURRENT;
		eh->e_entry = 0xC1000000;
		eh->e_ehsize = ehsize;
	}
	set_machine(k, is64 ? EM_X86_64 : EM_386);
	set_phtab(k, PH_OFF, 2, phentsize);
	set_phdr(k, 0, PT_LOAD, SEG_OFF, SEG_PADDR, SEG_FILESZ, SEG_MEMSZ);
	set_phdr(k, 1, PT_NOTE, NOTE_OFF, 0, 16 + descsz, 0);
	set_note(k, 4, descsz, XEN_ELFNOTE_PHYS32_ENTRY, ENTRY);
	for (size_t i = 0; i < SEG_FILESZ; i++)
		k->buf[SEG_OFF + i] = seg_byte(i);
}

/*
 * boot_load on an exact-size heap copy of the image, so that a read past its
 * end is caught when the tests run under AddressSanitizer.
 */
static int load_with(const struct guest_mem *m, const uint8_t *data, size_t size,
		     const struct boot_image *initrd, const char *cmdline)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct boot_image img = { copy, size, "test.elf" };
	int rc;

	cr_assert_not_null(copy);
	if (size)
		memcpy(copy, data, size);
	memset(err, 0, sizeof(err));
	rc = boot_load(m, &img, initrd, cmdline, 1, &entry, err, sizeof(err));
	free(copy);
	return rc;
}

static int load(const struct kimg *k, const struct boot_image *initrd, const char *cmdline)
{
	return load_with(&mem, k->buf, k->size, initrd, cmdline);
}

static int check(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct boot_image img = { copy, size, "test.elf" };
	int rc;

	cr_assert_not_null(copy);
	if (size)
		memcpy(copy, data, size);
	memset(err, 0, sizeof(err));
	rc = boot_check(&img, err, sizeof(err));
	free(copy);
	return rc;
}

#define assert_fails(rc, needle)                                                              \
	do {                                                                                  \
		cr_assert_eq((rc), -1, "accepted");                                           \
		cr_assert_neq(err[0], '\0', "empty error message");                           \
		cr_assert_lt(strlen(err), sizeof(err) - 1, "error message truncated");        \
		cr_assert_not_null(strstr(err, (needle)), "'%s' does not mention '%s'", err, \
				   (needle));                                                 \
	} while (0)

/* Nothing landed in guest RAM: no kernel bytes, no boot information. */
static void assert_ram_untouched(void)
{
	cr_assert(all_bytes(ram, RAM_SIZE, RAM_FILL), "guest RAM was written");
}

static const struct start_info *start_info(void)
{
	cr_assert_eq(entry.mode, BOOT_PVH32);
	cr_assert_lt(entry.rbx, RAM_SIZE - sizeof(struct start_info));
	return (const struct start_info *)(ram + entry.rbx);
}

/* --- successful loads ----------------------------------------------------- */

TestSuite(boot_load, .init = setup, .fini = teardown);

static void assert_loaded(void)
{
	const struct start_info *si;

	cr_assert_eq(entry.mode, BOOT_PVH32);
	cr_assert_eq(entry.rip, ENTRY, "rip 0x%llx", (unsigned long long)entry.rip);
	si = start_info();
	cr_assert_eq(si->magic, 0x336ec578);
	cr_assert_eq(si->version, 1);
	/* The file bytes at the physical address, then zeroed bss. */
	for (size_t i = 0; i < SEG_FILESZ; i++)
		cr_assert_eq(ram[SEG_PADDR + i], seg_byte(i), "byte %zu", i);
	cr_assert(all_bytes(ram + SEG_PADDR + SEG_FILESZ, SEG_MEMSZ - SEG_FILESZ, 0),
		  "bss not zeroed");
	/* And nothing around the segment. */
	cr_assert_eq(ram[SEG_PADDR - 1], RAM_FILL);
	cr_assert_eq(ram[SEG_PADDR + SEG_MEMSZ], RAM_FILL);
	/* The boot information lies in its area. */
	cr_assert_geq(entry.rbx, BOOT_INFO_BASE);
	cr_assert_leq(entry.rbx + sizeof(*si), BOOT_INFO_END);
}

Test(boot_load, elf32)
{
	struct kimg k;

	build(&k, 0, 4);
	cr_assert_eq(load(&k, NULL, "console=ttyS0"), 0, "%s", err);
	assert_loaded();
}

Test(boot_load, elf64)
{
	struct kimg k;

	build(&k, 1, 8);
	cr_assert_eq(load(&k, NULL, "console=ttyS0"), 0, "%s", err);
	assert_loaded();
}

Test(boot_load, elf64_with_4_byte_note)
{
	/* Linux's PVH note is a .long even in a 64-bit vmlinux. */
	struct kimg k;

	build(&k, 1, 4);
	cr_assert_eq(load(&k, NULL, ""), 0, "%s", err);
	assert_loaded();
}

Test(boot_load, note_after_other_notes)
{
	/* A foreign note with an odd-sized name and payload first, then ours. */
	struct kimg k;
	uint8_t other[12 + 8 + 8] = { 0 };
	uint32_t namesz = 6, descsz = 5, type = 3;

	build(&k, 1, 4);
	memcpy(other, &namesz, 4);
	memcpy(other + 4, &descsz, 4);
	memcpy(other + 8, &type, 4);
	memcpy(other + 12, "Linux", 6);
	memmove(k.buf + NOTE_OFF + sizeof(other), k.buf + NOTE_OFF, 20);
	memcpy(k.buf + NOTE_OFF, other, sizeof(other));
	set_phdr(&k, 1, PT_NOTE, NOTE_OFF, 0, sizeof(other) + 20, 0);
	cr_assert_eq(load(&k, NULL, ""), 0, "%s", err);
	cr_assert_eq(entry.rip, ENTRY);
}

Test(boot_load, cmdline)
{
	struct kimg k;
	const char *cl = "console=ttyS0 root=/dev/vda rw";
	const struct start_info *si;

	build(&k, 1, 8);
	cr_assert_eq(load(&k, NULL, cl), 0, "%s", err);
	si = start_info();
	cr_assert_geq(si->cmdline_paddr, BOOT_INFO_BASE);
	cr_assert_leq(si->cmdline_paddr + strlen(cl) + 1, BOOT_INFO_END);
	cr_assert_str_eq((const char *)ram + si->cmdline_paddr, cl);
}

Test(boot_load, longest_cmdline)
{
	struct kimg k;
	char *cl = malloc(BOOT_CMDLINE_MAX);
	const struct start_info *si;

	cr_assert_not_null(cl);
	memset(cl, 'x', BOOT_CMDLINE_MAX - 1);
	cl[BOOT_CMDLINE_MAX - 1] = '\0';
	cl[BOOT_CMDLINE_MAX - 2] = 'y';
	build(&k, 0, 4);
	cr_assert_eq(load(&k, NULL, cl), 0, "%s", err);
	si = start_info();
	cr_assert_leq(si->cmdline_paddr + BOOT_CMDLINE_MAX, BOOT_INFO_END);
	cr_assert_str_eq((const char *)ram + si->cmdline_paddr, cl);
	free(cl);
}

Test(boot_load, memmap)
{
	struct kimg k;
	struct e820_entry e[E820_MAX];
	const struct start_info *si;
	const struct memmap_entry *mm;
	int n;

	build(&k, 1, 8);
	cr_assert_eq(load(&k, NULL, ""), 0, "%s", err);
	si = start_info();

	/* Exactly what e820_build describes... */
	n = e820_build(&mem, e);
	cr_assert_eq(si->memmap_entries, (uint32_t)n);
	cr_assert_geq(si->memmap_paddr, BOOT_INFO_BASE);
	cr_assert_leq(si->memmap_paddr + n * sizeof(*mm), BOOT_INFO_END);
	mm = (const struct memmap_entry *)(ram + si->memmap_paddr);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(mm[i].addr, e[i].addr, "entry %d", i);
		cr_assert_eq(mm[i].size, e[i].size, "entry %d", i);
		cr_assert_eq(mm[i].type, e[i].type, "entry %d", i);
		cr_assert_eq(mm[i].reserved, 0, "entry %d", i);
	}

	/* ...which is RAM 0-640K, the legacy hole, RAM from 1 MiB to the end of
	 * guest RAM, and the reserved KVM private pages below 4 GiB. */
	cr_assert_eq(n, 4);
	cr_assert_eq(mm[0].addr, 0);
	cr_assert_eq(mm[0].size, 0xA0000);
	cr_assert_eq(mm[0].type, E820_RAM);
	cr_assert_eq(mm[1].addr, 0xA0000);
	cr_assert_eq(mm[1].size, 0x60000);
	cr_assert_eq(mm[1].type, E820_RESERVED);
	cr_assert_eq(mm[2].addr, 0x100000);
	cr_assert_eq(mm[2].size, RAM_SIZE - 0x100000);
	cr_assert_eq(mm[2].type, E820_RAM);
	cr_assert_eq(mm[3].type, E820_RESERVED);
	cr_assert_geq(mm[3].addr, GMEM_MMIO_HOLE_START);
	cr_assert_leq(mm[3].addr + mm[3].size, GMEM_4G);
	cr_assert_eq(mm[3].size % 0x1000, 0);
}

Test(boot_load, no_initrd)
{
	struct kimg k;

	build(&k, 1, 8);
	cr_assert_eq(load(&k, NULL, ""), 0, "%s", err);
	cr_assert_eq(start_info()->nr_modules, 0);
}

Test(boot_load, initrd)
{
	enum { SIZE = 0x2345 };
	struct kimg k;
	uint8_t *rd = malloc(SIZE);
	struct boot_image initrd = { rd, SIZE, "initrd.cpio" };
	const struct start_info *si;
	const struct start_module *mod;

	cr_assert_not_null(rd);
	for (size_t i = 0; i < SIZE; i++)
		rd[i] = (uint8_t)(i ^ (i >> 8));
	build(&k, 1, 8);
	cr_assert_eq(load(&k, &initrd, "rdinit=/init"), 0, "%s", err);
	si = start_info();
	cr_assert_eq(si->nr_modules, 1);
	cr_assert_geq(si->modlist_paddr, BOOT_INFO_BASE);
	cr_assert_leq(si->modlist_paddr + sizeof(*mod), BOOT_INFO_END);
	mod = (const struct start_module *)(ram + si->modlist_paddr);
	cr_assert_eq(mod->size, SIZE);
	cr_assert_eq(mod->paddr % 0x1000, 0, "initrd at 0x%llx", (unsigned long long)mod->paddr);
	/* As high as it goes: the top of RAM, rounded down to a page. */
	cr_assert_eq(mod->paddr, (RAM_SIZE - SIZE) & ~0xFFFULL);
	cr_assert_leq(mod->paddr + SIZE, RAM_SIZE);
	cr_assert_geq(mod->paddr, SEG_PADDR + SEG_MEMSZ);
	cr_assert_arr_eq(ram + mod->paddr, rd, SIZE);
	/* The kernel is intact. */
	cr_assert_eq(ram[SEG_PADDR], seg_byte(0));
	free(rd);
}

Test(boot_load, initrd_just_fits)
{
	/* Everything from the page after the kernel to the top of RAM. */
	const uint64_t size = RAM_SIZE - (SEG_PADDR + SEG_MEMSZ);
	struct kimg k;
	uint8_t *rd = malloc(size);
	struct boot_image initrd = { rd, size, "initrd" };
	const struct start_module *mod;

	cr_assert_not_null(rd);
	memset(rd, 0x77, size);
	build(&k, 0, 4);
	cr_assert_eq(load(&k, &initrd, ""), 0, "%s", err);
	mod = (const struct start_module *)(ram + start_info()->modlist_paddr);
	cr_assert_eq(mod->paddr, SEG_PADDR + SEG_MEMSZ);
	cr_assert(all_bytes(ram + mod->paddr, size, 0x77));
	cr_assert(all_bytes(ram + SEG_PADDR + SEG_FILESZ, SEG_MEMSZ - SEG_FILESZ, 0));
	free(rd);
}

Test(boot_load, segment_just_below_boot_info)
{
	/* Ending exactly where the boot-information area starts is fine. */
	struct kimg k;

	build(&k, 1, 8);
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, BOOT_INFO_BASE - 0x1000, SEG_FILESZ, 0x1000);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, BOOT_INFO_BASE - 0x1000);
	cr_assert_eq(load(&k, NULL, ""), 0, "%s", err);
	cr_assert_eq(ram[BOOT_INFO_BASE - 0x1000], seg_byte(0));
}

/* --- boot_check ------------------------------------------------------------- */

TestSuite(boot_check, .init = setup, .fini = teardown);
TestSuite(bzimage, .init = setup, .fini = teardown);
TestSuite(mptable, .init = setup, .fini = teardown);

Test(boot_check, good)
{
	struct kimg k;

	build(&k, 0, 4);
	cr_assert_eq(check(k.buf, k.size), 0, "%s", err);
	build(&k, 1, 8);
	cr_assert_eq(check(k.buf, k.size), 0, "%s", err);
	assert_ram_untouched();
}

Test(boot_check, refusals)
{
	struct kimg k;
	static const char text[] = "#!/bin/sh\necho this is not a kernel\n";

	assert_fails(check(NULL, 0), "not a kernel kvmlab knows");
	assert_fails(check((const uint8_t *)text, sizeof(text)), "not a kernel kvmlab knows");
	build(&k, 1, 8);
	set_phtab(&k, PH_OFF, 1, sizeof(Elf64_Phdr)); /* drop the note */
	assert_fails(check(k.buf, k.size), "PVH entry note");
	build(&k, 1, 8);
	set_machine(&k, EM_AARCH64);
	assert_fails(check(k.buf, k.size), "another machine");
}

Test(boot_check, error_truncated_safely)
{
	/* A small err buffer gets a truncated, terminated message and no more. */
	char small[16];
	struct boot_image img = { (const uint8_t *)"nope", 4, "a-rather-long-file-name.bin" };

	memset(small, 0x5C, sizeof(small));
	cr_assert_eq(boot_check(&img, small, 8), -1);
	cr_assert_eq(strlen(small), 7);
	for (size_t i = 8; i < sizeof(small); i++)
		cr_assert_eq(small[i], 0x5C, "wrote past errlen at %zu", i);
}

/* --- refusals ------------------------------------------------------------- */

TestSuite(boot_refuse, .init = setup, .fini = teardown);

Test(boot_refuse, empty_and_tiny)
{
	static const uint8_t one[] = { 0x7F };
	static const uint8_t magic[] = { 0x7F, 'E', 'L', 'F' };

	assert_fails(load_with(&mem, NULL, 0, NULL, ""), "not a kernel kvmlab knows");
	assert_fails(load_with(&mem, one, sizeof(one), NULL, ""), "not a kernel kvmlab knows");
	assert_fails(load_with(&mem, magic, sizeof(magic), NULL, ""), "corrupt ELF");
	assert_ram_untouched();
}

Test(boot_refuse, truncated_header)
{
	struct kimg k;

	build(&k, 1, 8);
	assert_fails(load_with(&mem, k.buf, sizeof(Elf64_Ehdr) - 1, NULL, ""), "shorter than");
	assert_fails(load_with(&mem, k.buf, EI_NIDENT, NULL, ""), "shorter than");
	build(&k, 0, 4);
	assert_fails(load_with(&mem, k.buf, sizeof(Elf32_Ehdr) - 1, NULL, ""), "shorter than");
	assert_ram_untouched();
}

Test(boot_refuse, not_an_elf)
{
	uint8_t junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 13);
	junk[0] = 'M';
	junk[1] = 'Z';
	assert_fails(load_with(&mem, junk, sizeof(junk), NULL, ""), "not a kernel kvmlab knows");
	assert_ram_untouched();
}

/* --- bzImage ------------------------------------------------------------------ */

#define BZ_SETUP_SECTS 1 /* setup = 2 sectors: boot sector + 1 */
#define BZ_KERNEL 0x3000 /* bytes of protected-mode kernel */

static uint8_t bz[2 * 512 + BZ_KERNEL];

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A minimal bzImage: a 2.15 setup header, a 64-bit kernel of BZ_KERNEL bytes. */
static void build_bz(void)
{
	memset(bz, 0, sizeof(bz));
	bz[0x1F1] = BZ_SETUP_SECTS;
	put32le(bz + 0x1F4, BZ_KERNEL / 16); /* syssize */
	bz[0x1FE] = 0x55;
	bz[0x1FF] = 0xAA;
	bz[0x200] = 0xEB;
	bz[0x201] = 0x6A; /* header ends at 0x26C */
	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x206] = 0x0F; /* protocol 2.15 */
	bz[0x207] = 0x02;
	bz[0x211] = 0x01;		   /* LOADED_HIGH */
	put32le(bz + 0x22C, 0x37FFFFFF); /* initrd_addr_max */
	bz[0x236] = 0x01;		   /* XLF_KERNEL_64 */
	put32le(bz + 0x238, 2047);	   /* cmdline_size */
	put32le(bz + 0x260, 0x10000);	   /* init_size */
	for (int i = 0; i < BZ_KERNEL; i++)
		bz[1024 + i] = (uint8_t)(i * 7 + 1);
}

Test(bzimage, loads_with_zero_page_and_long_mode_tables)
{
	uint8_t rd[100];
	struct boot_image initrd = { rd, sizeof(rd), "rd" };
	const uint8_t *zp;
	uint64_t pml4, pd0;

	memset(rd, 0x5A, sizeof(rd));
	build_bz();
	cr_assert_eq(load_with(&mem, bz, sizeof(bz), &initrd, "console=ttyS0"), 0, "%s", err);
	cr_assert_eq(entry.mode, BOOT_LINUX64);
	cr_assert_eq(entry.rip, 0x100200);
	cr_assert_eq(memcmp(ram + 0x100000, bz + 1024, BZ_KERNEL), 0, "kernel at 1 MiB");
	zp = ram + entry.rsi;
	cr_assert_eq(memcmp(zp + 0x202, "HdrS", 4), 0, "setup header copied");
	cr_assert_eq(zp[0x210], 0xFF, "type_of_loader");
	cr_assert_str_eq((const char *)ram + (zp[0x228] | zp[0x229] << 8 | zp[0x22A] << 16),
			 "console=ttyS0");
	cr_assert_geq(zp[0x1E8], 3, "e820 entries");
	/* The initrd: page-aligned, at the top of RAM, contents copied. */
	uint32_t rd_addr = zp[0x218] | zp[0x219] << 8 | zp[0x21A] << 16 | (uint32_t)zp[0x21B] << 24;
	cr_assert_eq(rd_addr & 0xFFF, 0);
	cr_assert_eq(rd_addr, (RAM_SIZE - sizeof(rd)) & ~0xFFFULL);
	cr_assert_eq(ram[rd_addr], 0x5A);
	/* Identity map: PML4[0] -> PDPT, PD[0] maps 0 with a 2 MiB page. */
	memcpy(&pml4, ram + BOOT_PML4_ADDR, 8);
	cr_assert_eq(pml4 & ~0xFFFULL, BOOT_PDPT_ADDR);
	memcpy(&pd0, ram + BOOT_PD_ADDR + 8, 8);
	cr_assert_eq(pd0, (2ULL << 20) | 0x83);
	/* The MP table's floating pointer is in the BIOS area. */
	cr_assert_eq(memcmp(ram + 0xF0000, "_MP_", 4), 0);
}

Test(bzimage, refusals)
{
	char cl[3000];

	build_bz();
	bz[0x206] = 0x05; /* 2.05 */
	assert_fails(load_with(&mem, bz, sizeof(bz), NULL, ""), "2.06");
	build_bz();
	bz[0x236] = 0;
	assert_fails(load_with(&mem, bz, sizeof(bz), NULL, ""), "64-bit");
	build_bz();
	assert_fails(load_with(&mem, bz, sizeof(bz) - 16, NULL, ""), "truncated");
	build_bz();
	bz[0x1FE] = 0;
	assert_fails(load_with(&mem, bz, sizeof(bz), NULL, ""), "setup header");
	build_bz();
	memset(cl, 'x', sizeof(cl) - 1);
	cl[sizeof(cl) - 1] = '\0';
	assert_fails(load_with(&mem, bz, sizeof(bz), NULL, cl), "command line");
	build_bz();
	put32le(bz + 0x260, 64u << 20); /* needs 64 MiB to unpack: RAM is 16 */
	assert_fails(load_with(&mem, bz, sizeof(bz), NULL, ""), "--mem");
	assert_ram_untouched();
}

Test(mptable, checksums_and_cpus)
{
	uint32_t cfg_addr;
	const uint8_t *cfg;
	uint8_t sum = 0;
	uint16_t len;

	cr_assert_eq(mptable_write(&mem, 4), 0);
	for (int i = 0; i < 16; i++)
		sum += ram[0xF0000 + i];
	cr_assert_eq(sum, 0, "floating pointer checksum");
	memcpy(&cfg_addr, ram + 0xF0004, 4);
	cfg = ram + cfg_addr;
	cr_assert_eq(memcmp(cfg, "PCMP", 4), 0);
	memcpy(&len, cfg + 4, 2);
	sum = 0;
	for (int i = 0; i < len; i++)
		sum += cfg[i];
	cr_assert_eq(sum, 0, "config table checksum");
	/* Four processor entries with APIC ids 0-3, the first the BSP. */
	for (int i = 0; i < 4; i++) {
		const uint8_t *e = cfg + 44 + i * 20;

		cr_assert_eq(e[0], 0);
		cr_assert_eq(e[1], i);
		cr_assert_eq(e[3], i == 0 ? 3 : 1);
	}
	cr_assert_eq(mptable_write(&mem, 0), -1);
	cr_assert_eq(mptable_write(&mem, 65), -1);
}

/* Walk the entries as Linux does: PCI bus 0 is there, slot n's INTA# on pin 16 + n % 8. */
Test(mptable, pci_interrupts)
{
	uint32_t cfg_addr;
	const uint8_t *cfg, *e;
	uint16_t entries;
	int pci_bus = -1, found = 0;

	cr_assert_eq(mptable_write(&mem, 2), 0);
	memcpy(&cfg_addr, ram + 0xF0004, 4);
	cfg = ram + cfg_addr;
	memcpy(&entries, cfg + 34, 2);
	e = cfg + 44;
	for (int i = 0; i < entries; i++) {
		switch (e[0]) {
		case 0:
			e += 20;
			continue;
		case 1:
			if (!memcmp(e + 2, "PCI   ", 6))
				pci_bus = e[1];
			break;
		case 3:
			if (pci_bus >= 0 && e[4] == pci_bus) {
				int slot = e[5] >> 2;

				cr_assert_eq(e[5] & 3, 0, "INTA#");
				cr_assert_eq(e[7], 16 + slot % 8, "slot %d's pin", slot);
				cr_assert_eq(e[2] | e[3] << 8, 0x0D, "active high, level");
				found++;
			}
			break;
		}
		e += 8;
	}
	cr_assert_eq(pci_bus, 0, "Linux takes PCI bus 0 for MP bus 0");
	cr_assert_eq(found, 31, "slots 1-31");
}

Test(boot_refuse, bad_class)
{
	struct kimg k;

	build(&k, 1, 8);
	k.buf[EI_CLASS] = ELFCLASSNONE;
	assert_fails(load(&k, NULL, ""), "corrupt ELF");
	k.buf[EI_CLASS] = 3;
	assert_fails(load(&k, NULL, ""), "corrupt ELF");
	assert_ram_untouched();
}

Test(boot_refuse, no_pvh_note)
{
	struct kimg k;

	/* No PT_NOTE at all. */
	build(&k, 1, 8);
	set_phtab(&k, PH_OFF, 1, sizeof(Elf64_Phdr));
	assert_fails(load(&k, NULL, ""), "PVH entry note");
	/* A Xen note of another type. */
	build(&k, 0, 4);
	set_note(&k, 4, 4, 1, ENTRY);
	assert_fails(load(&k, NULL, ""), "PVH entry note");
	/* The right type from someone else. */
	build(&k, 1, 8);
	memcpy(k.buf + NOTE_OFF + 12, "Xem", 4);
	assert_fails(load(&k, NULL, ""), "PVH entry note");
	/* An entry of 0 means none. */
	build(&k, 1, 8);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, 0);
	assert_fails(load(&k, NULL, ""), "PVH entry");
	assert_ram_untouched();
}

Test(boot_refuse, entry_above_4g)
{
	struct kimg k;

	build(&k, 1, 8);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, GMEM_4G + 0x1000);
	assert_fails(load(&k, NULL, ""), "PVH entry");
}

Test(boot_refuse, other_machine)
{
	struct kimg k;

	build(&k, 1, 8);
	set_machine(&k, EM_AARCH64);
	assert_fails(load(&k, NULL, ""), "another machine");
	build(&k, 0, 4);
	set_machine(&k, EM_ARM);
	assert_fails(load(&k, NULL, ""), "another machine");
	assert_ram_untouched();
}

Test(boot_refuse, big_endian)
{
	struct kimg k;

	build(&k, 1, 8);
	k.buf[EI_DATA] = ELFDATA2MSB;
	assert_fails(load(&k, NULL, ""), "little-endian");
	build(&k, 0, 4);
	k.buf[EI_DATA] = ELFDATA2MSB;
	assert_fails(load(&k, NULL, ""), "little-endian");
	assert_ram_untouched();
}

Test(boot_refuse, phoff_outside_file)
{
	struct kimg k;

	build(&k, 1, 8);
	set_phtab(&k, k.size + 8, 2, sizeof(Elf64_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	set_phtab(&k, UINT64_MAX - 8, 2, sizeof(Elf64_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	set_phtab(&k, k.size - sizeof(Elf64_Phdr) + 1, 1, sizeof(Elf64_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	build(&k, 0, 4);
	set_phtab(&k, 0xFFFFFFF0, 2, sizeof(Elf32_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	assert_ram_untouched();
}

Test(boot_refuse, phnum_past_end)
{
	struct kimg k;

	build(&k, 1, 8);
	set_phtab(&k, PH_OFF, 0xFFFF, sizeof(Elf64_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	/* Just one too many to fit. */
	set_phtab(&k, PH_OFF, (k.size - PH_OFF) / sizeof(Elf64_Phdr) + 1, sizeof(Elf64_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	build(&k, 0, 4);
	set_phtab(&k, PH_OFF, 0xFFFF, sizeof(Elf32_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	/* And none at all. */
	set_phtab(&k, PH_OFF, 0, sizeof(Elf32_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	assert_ram_untouched();
}

Test(boot_refuse, wrong_phentsize)
{
	struct kimg k;

	build(&k, 1, 8);
	set_phtab(&k, PH_OFF, 2, sizeof(Elf32_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	set_phtab(&k, PH_OFF, 2, sizeof(Elf64_Phdr) + 8);
	assert_fails(load(&k, NULL, ""), "program headers");
	build(&k, 0, 4);
	set_phtab(&k, PH_OFF, 2, sizeof(Elf64_Phdr));
	assert_fails(load(&k, NULL, ""), "program headers");
	set_phtab(&k, PH_OFF, 2, 0);
	assert_fails(load(&k, NULL, ""), "program headers");
	assert_ram_untouched();
}

Test(boot_refuse, segment_past_end_of_file)
{
	struct kimg k;

	build(&k, 1, 8);
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, SEG_PADDR, SEG_FILESZ + 1, SEG_MEMSZ);
	assert_fails(load(&k, NULL, ""), "outside the file");
	set_phdr(&k, 0, PT_LOAD, k.size + 1, SEG_PADDR, 0, SEG_MEMSZ);
	assert_fails(load(&k, NULL, ""), "outside the file");
	/* offset + filesz wraps around to a small number. */
	set_phdr(&k, 0, PT_LOAD, UINT64_MAX - 0xF, SEG_PADDR, 0x20, SEG_MEMSZ);
	assert_fails(load(&k, NULL, ""), "outside the file");
	build(&k, 0, 4);
	set_phdr(&k, 0, PT_LOAD, 0xFFFFFFF0, SEG_PADDR, 0x20, SEG_MEMSZ);
	assert_fails(load(&k, NULL, ""), "outside the file");
	assert_ram_untouched();
}

Test(boot_refuse, filesz_above_memsz)
{
	struct kimg k;

	build(&k, 1, 8);
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, SEG_PADDR, SEG_FILESZ, SEG_FILESZ - 1);
	assert_fails(load(&k, NULL, ""), "segment 0");
	cr_assert_null(strstr(err, "outside the file"), "misleading: %s", err);
	cr_assert_not_null(strstr(err, "memory"), "%s", err);
	assert_ram_untouched();
}

Test(boot_refuse, segment_past_end_of_ram)
{
	struct kimg k;

	build(&k, 1, 8);
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, RAM_SIZE - 0x800, SEG_FILESZ, SEG_MEMSZ);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, RAM_SIZE - 0x800);
	assert_fails(load(&k, NULL, ""), "--mem");
	/* The file part fits, the bss does not. */
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, RAM_SIZE - SEG_FILESZ, SEG_FILESZ, SEG_MEMSZ);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, RAM_SIZE - SEG_FILESZ);
	assert_fails(load(&k, NULL, ""), "--mem");
	/* Past the 32-bit hole: more --mem would not help below 3 GiB. */
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, GMEM_MMIO_HOLE_START, SEG_FILESZ, SEG_MEMSZ);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, GMEM_MMIO_HOLE_START);
	assert_fails(load(&k, NULL, ""), "device hole or beyond RAM");
	/* A memsz that would wrap around the address space. */
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, SEG_PADDR, SEG_FILESZ, UINT64_MAX - 0x1000);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, ENTRY);
	assert_fails(load(&k, NULL, ""), "wraps around");
	build(&k, 0, 4);
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, 0xFFFFF000, SEG_FILESZ, 0x1000);
	set_note(&k, 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, 0xFFFFF000);
	assert_fails(load(&k, NULL, ""), "outside guest RAM");
	assert_ram_untouched();
}

Test(boot_refuse, segment_over_boot_info)
{
	static const uint64_t bad[][2] = {
		{ BOOT_INFO_BASE, 0x100 },	     /* at the start */
		{ BOOT_INFO_BASE - 0x1000, 0x1001 }, /* one byte into it */
		{ BOOT_INFO_END - 1, 0x1000 },	     /* from its last byte */
		{ 0x8000, 0x10 },		     /* inside */
		{ 0, 0x100000 },		     /* all around it */
	};
	struct kimg k;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build(&k, 1, 8);
		set_phdr(&k, 0, PT_LOAD, SEG_OFF, bad[i][0], 0x10, bad[i][1]);
		set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, bad[i][0] + 1);
		assert_fails(load(&k, NULL, ""), "boot data");
	}
	assert_ram_untouched();
}

Test(boot_refuse, note_runs_past_segment)
{
	struct kimg k;

	build(&k, 1, 8);
	set_note(&k, 4, 0x1000, XEN_ELFNOTE_PHYS32_ENTRY, ENTRY);
	assert_fails(load(&k, NULL, ""), "note");
	build(&k, 1, 8);
	set_note(&k, 0xFFFFFFFF, 8, XEN_ELFNOTE_PHYS32_ENTRY, ENTRY);
	assert_fails(load(&k, NULL, ""), "note");
	build(&k, 1, 8);
	set_note(&k, 4, 0xFFFFFFFD, XEN_ELFNOTE_PHYS32_ENTRY, ENTRY);
	assert_fails(load(&k, NULL, ""), "note");
	/* The segment is a byte short of the note. */
	build(&k, 1, 8);
	set_phdr(&k, 1, PT_NOTE, NOTE_OFF, 0, 16 + 8 - 1, 0);
	assert_fails(load(&k, NULL, ""), "note");
	/* The note segment itself lies outside the file. */
	build(&k, 0, 4);
	set_phdr(&k, 1, PT_NOTE, k.size - 8, 0, 20, 0);
	assert_fails(load(&k, NULL, ""), "note");
	assert_ram_untouched();
}

Test(boot_refuse, note_descsz_3)
{
	struct kimg k;

	build(&k, 0, 4);
	set_note(&k, 4, 3, XEN_ELFNOTE_PHYS32_ENTRY, ENTRY);
	assert_fails(load(&k, NULL, ""), "note");
	build(&k, 1, 8);
	set_note(&k, 4, 16, XEN_ELFNOTE_PHYS32_ENTRY, ENTRY);
	set_phdr(&k, 1, PT_NOTE, NOTE_OFF, 0, 32, 0);
	assert_fails(load(&k, NULL, ""), "note");
	assert_ram_untouched();
}

Test(boot_refuse, nothing_to_load)
{
	struct kimg k;

	build(&k, 1, 8);
	/* With nothing loaded, the entry point cannot be inside the kernel. */
	set_phdr(&k, 0, PT_NULL, 0, 0, 0, 0);
	assert_fails(load(&k, NULL, ""), "not inside the loaded kernel");
	build(&k, 1, 8);
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, SEG_PADDR, 0, 0);
	assert_fails(load(&k, NULL, ""), "not inside the loaded kernel");
}

Test(boot_refuse, cmdline_too_long)
{
	struct kimg k;
	char *cl = malloc(BOOT_CMDLINE_MAX + 1);

	cr_assert_not_null(cl);
	memset(cl, 'x', BOOT_CMDLINE_MAX);
	cl[BOOT_CMDLINE_MAX] = '\0'; /* 4096 characters: one too many */
	build(&k, 1, 8);
	assert_fails(load(&k, NULL, cl), "command line");
	cr_assert_not_null(strstr(err, "4095"), "%s", err);
	assert_ram_untouched();
	free(cl);
}

Test(boot_refuse, initrd_does_not_fit)
{
	/* One page more than there is between the kernel and the top of RAM. */
	const uint64_t size = RAM_SIZE - (SEG_PADDR + SEG_MEMSZ) + 1;
	struct kimg k;
	uint8_t *rd = calloc(1, size);
	struct boot_image initrd = { rd, size, "big.cpio" };

	cr_assert_not_null(rd);
	build(&k, 1, 8);
	assert_fails(load(&k, &initrd, ""), "big.cpio");
	cr_assert_not_null(strstr(err, "--mem"), "%s", err);
	/* Bigger than RAM. */
	initrd.size = RAM_SIZE + 1;
	assert_fails(load(&k, &initrd, ""), "--mem");
	free(rd);
}

Test(boot_refuse, initrd_below_kernel_refused)
{
	/* A kernel at the top of RAM leaves no room above it. */
	uint8_t rd[16] = { 1 };
	struct boot_image initrd = { rd, sizeof(rd), "rd" };
	struct kimg k;

	build(&k, 1, 8);
	set_phdr(&k, 0, PT_LOAD, SEG_OFF, RAM_SIZE - SEG_MEMSZ, SEG_FILESZ, SEG_MEMSZ);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, RAM_SIZE - SEG_MEMSZ);
	assert_fails(load(&k, &initrd, ""), "above the kernel");
}

Test(boot_refuse, entry_outside_loaded_kernel)
{
	struct kimg k;

	build(&k, 1, 8);
	set_note(&k, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, SEG_PADDR + SEG_MEMSZ);
	assert_fails(check(k.buf, k.size), "not inside the loaded kernel");
	assert_fails(load(&k, NULL, ""), "not inside the loaded kernel");
	assert_ram_untouched();
}

Test(boot_refuse, ram_without_boot_info_area)
{
	static uint8_t high[0x200000];
	struct guest_mem m = { 0 };
	struct kimg k;

	cr_assert_eq(gmem_add_region(&m, SEG_PADDR, high, sizeof(high)), 0);
	build(&k, 1, 8);
	assert_fails(load_with(&m, k.buf, k.size, NULL, ""), "boot-information");
}

/* --- e820_build and boot_place_initrd on their own --------------------------- */

Test(e820, split_around_the_hole)
{
	/* Only sizes matter here; the host pointers are never touched. */
	static uint8_t dummy;
	struct guest_mem m = { 0 };
	struct e820_entry e[E820_MAX];
	int n;

	cr_assert_eq(gmem_add_region(&m, 0, &dummy, 3ULL << 30), 0);
	cr_assert_eq(gmem_add_region(&m, GMEM_4G, &dummy, 1ULL << 30), 0);
	n = e820_build(&m, e);
	cr_assert_eq(n, 5);
	cr_assert_eq(e[2].addr, 0x100000);
	cr_assert_eq(e[2].size, (3ULL << 30) - 0x100000);
	cr_assert_eq(e[2].type, E820_RAM);
	cr_assert_eq(e[3].addr, GMEM_4G);
	cr_assert_eq(e[3].size, 1ULL << 30);
	cr_assert_eq(e[3].type, E820_RAM);
	cr_assert_eq(e[4].type, E820_RESERVED);
	/* No RAM entry overlaps another entry. */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			cr_assert(e[i].addr + e[i].size <= e[j].addr ||
					  e[j].addr + e[j].size <= e[i].addr,
				  "entries %d and %d overlap", i, j);
}

Test(boot_place_initrd, below_3g)
{
	static uint8_t dummy;
	struct guest_mem m = { 0 };
	uint64_t gpa = 0;

	cr_assert_eq(gmem_add_region(&m, 0, &dummy, 3ULL << 30), 0);
	cr_assert_eq(gmem_add_region(&m, GMEM_4G, &dummy, 1ULL << 30), 0);
	cr_assert_eq(boot_place_initrd(&m, 0x1800, 0x200000, &gpa), 0);
	cr_assert_eq(gpa, GMEM_MMIO_HOLE_START - 0x2000);
	cr_assert_eq(boot_place_initrd(&m, 3ULL << 30, 0, &gpa), -1);
	cr_assert_eq(boot_place_initrd(&m, (3ULL << 30) - 0x200000, 0x200000, &gpa), 0);
	cr_assert_eq(gpa, 0x200000);
	cr_assert_eq(boot_place_initrd(&m, (3ULL << 30) - 0x200000 + 1, 0x200000, &gpa), -1);
	cr_assert_eq(boot_place_initrd(&m, UINT64_MAX, 0, &gpa), -1);
}

Test(boot_place_initrd, never_below_1m)
{
	static uint8_t dummy;
	struct guest_mem m = { 0 };
	uint64_t gpa = 0x1234;

	cr_assert_eq(gmem_add_region(&m, 0, &dummy, 2ULL << 20), 0);
	cr_assert_eq(boot_place_initrd(&m, 0x100000, 0, &gpa), 0);
	cr_assert_eq(gpa, 0x100000);
	gpa = 0x1234;
	cr_assert_eq(boot_place_initrd(&m, 0x100001, 0, &gpa), -1);
	cr_assert_eq(gpa, 0x1234);
}
