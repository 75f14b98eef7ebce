/*
 * exec.c - start a program: load a static ELF64 binary from the filesystem
 * (the initramfs's bytes or a file written since, read through fs_kread)
 * into a fresh address space and lay out its stack the way the System V
 * x86_64 ABI (and musl's _start) expects.
 *
 * An ELF file says how it wants to be loaded in its program headers: each
 * PT_LOAD segment is "put file bytes [p_offset, +p_filesz) at p_vaddr and
 * zeros up to p_memsz, with rights p_flags (R/W/X)". Each becomes a VMA
 * that reads its whole pages from the file on first touch (demand loading,
 * lazy_page; mm.c's file_page), its bss pages are zeroed on first touch,
 * and only the pages that mix file bytes with others are copied into new
 * pages now; the stack is a VMA of 8 MiB
 * whose pages come on first touch (the pushes below fault them in through
 * copyout). The new stack, from the top down:
 *
 *   the strings (argv[], the program's path), 16 random bytes (AT_RANDOM)
 *   padding to 16 bytes
 *   auxv: (type, value) pairs ending with AT_NULL: facts about the process
 *         the C library needs (where the program headers are: for TLS;
 *         the page size; the entry; the random bytes: for the stack canary)
 *   envp[]: pointers, ending with NULL
 *   argv[]: pointers, ending with NULL
 *   argc                       <- rsp at the entry point, 16-byte aligned
 */
#include "fs.h"
#include "x86.h"

struct elf64_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};
#define ET_EXEC 2
#define ET_DYN 3 /* static-pie: loaded at PIE_BASE */
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_PHDR 6
#define PF_X 1
#define PF_W 2

#define PIE_BASE 0x400000ul
#define STACK_TOP 0x00007FFFFFFFF000ul
#define STACK_SIZE (64 * 1024)
#define STACK_MAX (8ul << 20) /* the stack's VMA: 8 MiB, paged in as it grows */
#define MMAP_BASE 0x0000100000000000ul /* anonymous mmaps go up from 16 TiB */

enum { AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
       AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14,
       AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_EXECFN = 31 };

/* Read a segment's file bytes [off, off + n) into its (already mapped)
 * pages, through the file layer: the file may be the archive's bytes or
 * pages of RAM scattered anywhere (a program written into /tmp). */
static void load_bytes(pte_t *pml4, u64 va, struct inode *ip, u64 off, u64 n)
{
	while (n) {
		u64 chunk = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		pte_t *e = vm_walk(pml4, va, false);

		if (chunk > n)
			chunk = n;
		if (e && (*e & PTE_P)) /* not a page left to demand loading */
			fs_kread(ip, (u8 *)P2V(PTE_ADDR(*e)) + (va & (PAGE_SIZE - 1)), chunk, off);
		va += chunk, off += chunk, n -= chunk;
	}
}

/*
 * Demand loading: may page `a` of a segment [va, va + memsz) with file bytes
 * [va, fend) wait for its first touch? Yes for a page wholly of file bytes
 * (mm.c's file_page reads it from the file then) or wholly past them (a
 * zeroed page then), from lazy_from on (the segment's own VMA with the file
 * attached); no for a page that mixes them or is shared with the segment
 * before: that one is loaded now.
 */
static bool lazy_page(u64 a, u64 va, u64 fend, u64 lazy_from)
{
	if (a < lazy_from)
		return false;
	return (a >= va && a + PAGE_SIZE <= fend) || a >= PGROUNDUP(fend);
}

static int load_segment(pte_t *pml4, const struct elf64_phdr *ph, u64 bias, struct inode *ip,
			const char *path)
{
	u64 va = ph->vaddr + bias, flags = 0, fend = va + ph->filesz;
	u64 start = PGROUNDDOWN(va), end = PGROUNDUP(va + ph->memsz), lazy_from = end;
	/* Its VMA: PF_R/W/X (4, 2, 1) as PROT_READ/WRITE/EXEC (1, 2, 4). */
	u32 prot = (ph->flags & 4 ? 1 : 0) | (ph->flags & PF_W ? 2 : 0) | (ph->flags & PF_X ? 4 : 0);

	if (ph->flags & PF_W)
		flags |= PTE_W;
	if (!(ph->flags & PF_X))
		flags |= pte_nx;
	if (mm_add_segment(pml4, start, end, prot, PGROUNDDOWN(ph->offset), path) < 0)
		return -1;
	/* Addresses and file offsets agree modulo the page size (as mmap
	 * needs): the VMA gets the file, and its whole pages come on demand. */
	if (end > start && (va - ph->offset) % PAGE_SIZE == 0 &&
	    !(lazy_from = mm_segment_file(pml4, end - PAGE_SIZE,
					  PGROUNDDOWN(ph->offset) + (end - PAGE_SIZE - start), ip,
					  PGROUNDDOWN(fend))))
		lazy_from = end;
	for (u64 a = start; a < end; a += PAGE_SIZE)
		if (!lazy_page(a, va, fend, lazy_from) && vm_alloc_user(pml4, a, PAGE_SIZE, flags) < 0)
			return -1;
	/* Two segments may share a page (the end of one, the start of the
	 * next): such a page gets the rights of both. */
	for (u64 a = start; a < end; a += PAGE_SIZE) {
		pte_t *e = vm_walk(pml4, a, false);

		if (!e || !(*e & PTE_P))
			continue;
		*e |= flags & PTE_W;
		if (!(flags & pte_nx))
			*e &= ~pte_nx;
	}
	load_bytes(pml4, va, ip, ph->offset, ph->filesz);
	return 0;
}

/* A new address space with the program's PT_LOAD segments and the stack's
 * VMA: 0 with *out, the program headers' address (*phdr, for AT_PHDR) and
 * the end of the last segment (*end: the heap starts there), or -errno. */
static int load_program(struct inode *ip, const struct elf64_ehdr *eh,
			const struct elf64_phdr *ph, u64 bias, const char *path, pte_t **out,
			u64 *phdr, u64 *end)
{
	u64 size = ip->size;
	pte_t *pml4;

	if (!(pml4 = vm_create()))
		return -12; /* -ENOMEM */
	for (int i = 0; i < eh->phnum; i++) {
		if (ph[i].type == PT_PHDR)
			*phdr = ph[i].vaddr + bias;
		if (ph[i].type != PT_LOAD)
			continue;
		if (ph[i].filesz > ph[i].memsz || ph[i].offset > size ||
		    ph[i].filesz > size - ph[i].offset || ph[i].vaddr + bias >= USER_TOP ||
		    ph[i].memsz > USER_TOP - ph[i].vaddr - bias - STACK_SIZE) {
			vm_free_user(pml4);
			return -8; /* -ENOEXEC */
		}
		if (load_segment(pml4, &ph[i], bias, ip, path) < 0) {
			vm_free_user(pml4);
			return -12;
		}
		if (!*phdr && eh->phoff >= ph[i].offset && eh->phoff < ph[i].offset + ph[i].filesz)
			*phdr = ph[i].vaddr + bias + (eh->phoff - ph[i].offset);
		if (ph[i].vaddr + bias + ph[i].memsz > *end)
			*end = ph[i].vaddr + bias + ph[i].memsz;
	}
	if (!*end || eh->entry + bias >= USER_TOP ||
	    mm_add_stack(pml4, STACK_TOP, STACK_MAX) < 0) {
		vm_free_user(pml4);
		return *end ? -12 : -8;
	}
	*out = pml4;
	return 0;
}

/* Push n bytes on the new stack: the user address where they went, or 0. */
static u64 push(pte_t *pml4, u64 *sp, const void *src, u64 n)
{
	*sp -= n;
	return copyout(pml4, *sp, src, n) < 0 ? 0 : *sp;
}

/* Replace p's program with the file at `path`. 0, or a negative errno (the
 * old program is left as it was). argv: kernel strings. */
int exec(struct proc *p, const char *path, int argc, char *const argv[], int envc,
	 char *const envp[])
{
	struct elf64_ehdr ehdr, *eh = &ehdr;
	struct elf64_phdr *ph;
	struct inode *ip;
	u64 size, bias = 0, end = 0, phdr = 0, sp = STACK_TOP, uargv[32], uenvp[32], execfn, random;
	u8 rnd[16];
	pte_t *pml4 = NULL, *old;
	int err;

	/* the filesystem (fs.c): relative to the cwd, following symbolic links
	 * (busybox's applets: /bin/ls -> busybox; argv[0] stays "ls") */
	if (!(ip = fs_exec_lookup(p, path, &err)))
		return err;
	size = ip->size;
	if (fs_kread(ip, eh, sizeof(*eh), 0) < sizeof(*eh) ||
	    strncmp((const char *)eh->ident, "\177ELF", 4) ||
	    eh->ident[4] != 2 /* 64-bit */ || eh->ident[5] != 1 /* little-endian */ ||
	    (eh->type != ET_EXEC && eh->type != ET_DYN) || eh->machine != EM_X86_64 ||
	    eh->phentsize != sizeof(*ph) || eh->phoff > size ||
	    eh->phnum > (size - eh->phoff) / sizeof(*ph) || eh->phnum > PAGE_SIZE / sizeof(*ph))
		return -8; /* -ENOEXEC */
	if (argc > 31 || envc > 31)
		return -7; /* -E2BIG */
	if (eh->type == ET_DYN)
		bias = PIE_BASE;
	/* The program headers, read into a page of their own. */
	if (!(ph = kalloc()))
		return -12; /* -ENOMEM */
	fs_kread(ip, ph, eh->phnum * sizeof(*ph), eh->phoff);
	err = load_program(ip, eh, ph, bias, path, &pml4, &phdr, &end);
	kfree(ph);
	if (err < 0)
		return err;


	/* The stack: strings and random bytes first (highest), then the vectors. */
	for (int k = 0; k < 16; k += 8) {
		u64 t = rdtsc() * 0x9E3779B97F4A7C15ul ^ (u64)k << 32;

		memcpy(rnd + k, &t, 8); /* not cryptographic: good enough for a canary here */
	}
	random = push(pml4, &sp, rnd, 16);
	execfn = push(pml4, &sp, path, strlen(path) + 1);
	for (int i = envc - 1; i >= 0; i--)
		uenvp[i] = push(pml4, &sp, envp[i], strlen(envp[i]) + 1);
	for (int i = argc - 1; i >= 0; i--)
		uargv[i] = push(pml4, &sp, argv[i], strlen(argv[i]) + 1);
	sp &= ~15ul;
	{
		u64 auxv[] = { AT_PHDR, phdr, AT_PHENT, sizeof(*ph), AT_PHNUM, eh->phnum,
			       AT_PAGESZ, PAGE_SIZE, AT_BASE, 0, AT_FLAGS, 0,
			       AT_ENTRY, eh->entry + bias, AT_UID, 0, AT_EUID, 0,
			       AT_GID, 0, AT_EGID, 0, AT_HWCAP, 0, AT_CLKTCK, 100,
			       AT_SECURE, 0, AT_RANDOM, random, AT_EXECFN, execfn, AT_NULL, 0 };
		u64 zero = 0, n = (u64)argc;
		/* argc, argv[], NULL, envp[], NULL, auxv: keep rsp 16-aligned. */
		u64 words = 1 + (u64)argc + 1 + (u64)envc + 1 + sizeof(auxv) / 8;

		if (words & 1)
			push(pml4, &sp, &zero, 8);
		push(pml4, &sp, auxv, sizeof(auxv));
		push(pml4, &sp, &zero, 8); /* the end of envp */
		for (int i = envc - 1; i >= 0; i--)
			push(pml4, &sp, &uenvp[i], 8);
		push(pml4, &sp, &zero, 8); /* the end of argv */
		for (int i = argc - 1; i >= 0; i--)
			push(pml4, &sp, &uargv[i], 8);
		if (!push(pml4, &sp, &n, 8)) {
			vm_free_user(pml4);
			return -7;
		}
	}

	/* The point of no return: switch p to the new program. */
	old = p->pml4;
	p->pml4 = pml4;
	if (p == curproc)
		lcr3(V2P(pml4));
	if (old)
		vm_free_user(old);
	memset(p->tf, 0, sizeof(*p->tf) - 5 * 8); /* every register 0 but the iret part */
	p->tf->rip = eh->entry + bias;
	p->tf->rsp = sp;
	p->tf->rflags = 0x202;
	p->tf->cs = SEG_UCODE | 3;
	p->tf->ss = SEG_UDATA | 3;
	p->brk_start = p->brk = PGROUNDUP(end);
	p->mmap_next = MMAP_BASE;
	p->fs_base = 0;
	file_exec(p, argc, argv); /* close-on-exec fds; argv for /proc/PID/cmdline */
	{
		const char *base = path;

		for (const char *s = path; *s; s++)
			if (*s == '/')
				base = s + 1;
		size_t i;
		for (i = 0; i + 1 < sizeof(p->name) && base[i]; i++)
			p->name[i] = base[i];
		p->name[i] = 0;
	}
	return 0;
}
