/*
 * vm.c - 4-level page tables: the kernel's address space, and the helpers
 * processes will use for theirs.
 *
 * A 48-bit virtual address is cut into four 9-bit indexes and a 12-bit
 * offset:  PML4 index | PDPT index | PD index | PT index | offset.
 * Each table is one 4 KiB page of 512 entries; an entry holds the physical
 * address of the next table (or of the page) and permission bits (mmu.h).
 * A PD entry with PS set maps a 2 MiB page directly (used for the direct map).
 *
 * The kernel's half (PML4 entries 256-511) is the same in every address
 * space: vm_create() copies those 256 entries, so the kernel's PDPTs are
 * shared and a kernel mapping made later shows up everywhere.
 */
#include "kernel.h"
#include "x86.h"

pte_t *kernel_pml4;
u64 pte_nx; /* PTE_NX if the CPU has NX, else 0 (then the bit would be reserved) */
bool cpu_has_nx, cpu_has_smep, cpu_has_smap;

void cpu_features(void)
{
	u32 a, b, c, d, max;

	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		cpu_has_smep = b & (1u << 7);
		cpu_has_smap = b & (1u << 20);
	}
	cpuid(0x80000000, 0, &max, &b, &c, &d);
	if (max >= 0x80000001) {
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		cpu_has_nx = d & (1u << 20);
	}
}

/*
 * The entry for `va` in the table one level down from `table` at `level`
 * (3 = PML4). With `create`, a missing table is allocated (zeroed) and
 * linked in. The intermediate entries get P|W|U: the final entry alone
 * decides what is allowed (the CPU ANDs the bits of all levels).
 */
static pte_t *next_level(pte_t *table, int level, u64 va, bool create)
{
	pte_t *e = &table[PX(level, va)];

	if (!(*e & PTE_P)) {
		pte_t *t;

		if (!create || !(t = kzalloc()))
			return NULL;
		*e = V2P(t) | PTE_P | PTE_W | PTE_U;
	}
	if (*e & PTE_PS)
		return NULL; /* a large page: there is no table below */
	return P2V(PTE_ADDR(*e));
}

/* The page-table entry (level 0) that maps `va`, or NULL. */
pte_t *vm_walk(pte_t *pml4, u64 va, bool create)
{
	pte_t *t = pml4;

	for (int level = 3; level > 0; level--)
		if (!(t = next_level(t, level, va, create)))
			return NULL;
	return &t[PX(0, va)];
}

/* Map [va, va+size) to [pa, pa+size) with 4 KiB pages. -1 if out of memory. */
int vm_map(pte_t *pml4, u64 va, u64 pa, u64 size, u64 flags)
{
	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		pte_t *e = vm_walk(pml4, va + off, true);

		if (!e)
			return -1;
		if (*e & PTE_P)
			panic("vm_map: 0x%lx is already mapped", va + off);
		*e = (pa + off) | flags | PTE_P;
	}
	return 0;
}

/* Unmap [va, va+size); with free_frames, drop a reference to each frame. */
void vm_unmap(pte_t *pml4, u64 va, u64 size, bool free_frames)
{
	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		pte_t *e = vm_walk(pml4, va + off, false);

		if (!e || !(*e & PTE_P))
			continue;
		if (free_frames)
			kfree(P2V(PTE_ADDR(*e)));
		*e = 0;
		invlpg(va + off); /* the TLB may still hold the old translation */
	}
}

/* A new address space: an empty user half, the kernel half shared. */
pte_t *vm_create(void)
{
	pte_t *pml4 = kzalloc();

	if (pml4)
		memcpy(pml4 + 256, kernel_pml4 + 256, 256 * sizeof(pte_t));
	return pml4;
}

/* Free a table at `level` (2 = PDPT, 1 = PD, 0 = PT) and the tables under it,
 * but not the frames they map: those belong to whoever mapped them. */
static void free_tables(pte_t *table, int level)
{
	if (level > 0)
		for (int i = 0; i < 512; i++)
			if ((table[i] & PTE_P) && !(table[i] & PTE_PS))
				free_tables(P2V(PTE_ADDR(table[i])), level - 1);
	kfree(table);
}

void vm_destroy(pte_t *pml4)
{
	for (int i = 0; i < 256; i++)
		if (pml4[i] & PTE_P)
			free_tables(P2V(PTE_ADDR(pml4[i])), 2);
	kfree(pml4);
}

/* A 2 MiB page at `va` (the direct map). */
static void map_large(u64 va, u64 pa, u64 flags)
{
	pte_t *pdpt = next_level(kernel_pml4, 3, va, true);
	pte_t *pd = pdpt ? next_level(pdpt, 2, va, true) : NULL;

	if (!pd)
		panic("map_large: out of memory");
	pd[PX(1, va)] = pa | flags | PTE_P | PTE_PS;
}

extern char _text[], _etext[], _data[], _end[];

/*
 * The kernel's own page tables, replacing boot.S's:
 *  - the direct map: all of physical memory from 0 up to the top of RAM (at
 *    least 4 GiB, so the LAPIC/IOAPIC and PCI holes are in it too, uncached)
 *    at DIRECT_BASE, with 2 MiB pages, writable, never executable;
 *  - the kernel image with 4 KiB pages and the least rights each part needs:
 *    code read+execute, read-only data read-only, data and bss read+write
 *    but not executable (W^X: no page is both writable and executable);
 *  - nothing in the user half: a stray access to a low address (NULL...)
 *    faults now, where boot.S's identity map would have let it through.
 * All of it is global (PTE_G): the kernel half is the same in every address
 * space, so the TLB may keep it across CR3 switches.
 */
void vm_init(void)
{
	u64 top = pmm_top(), cr4;

	if (cpu_has_nx) {
		/* Before any entry has NX set: without EFER.NXE the bit is reserved. */
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		pte_nx = PTE_NX;
	}
	kernel_pml4 = kzalloc();
	if (top < 0x100000000ul)
		top = 0x100000000ul;
	for (u64 pa = 0; pa < top; pa += LARGE_PAGE_SIZE) {
		u64 flags = PTE_W | PTE_G | pte_nx;

		if (pa >= 0xC0000000ul && pa < 0x100000000ul)
			flags |= PTE_PCD | PTE_PWT; /* devices: no caching */
		map_large(DIRECT_BASE + pa, pa, flags);
	}
	/* The kernel half's PML4 entries must all exist now, so that every
	 * address space made by copying them sees later kernel mappings. */
	for (int i = 256; i < 512; i++)
		if (!(kernel_pml4[i] & PTE_P))
			kernel_pml4[i] = V2P(kzalloc()) | PTE_P | PTE_W;

	if (vm_map(kernel_pml4, (u64)_text, KV2P(_text), _etext - _text, PTE_G) < 0 ||
	    vm_map(kernel_pml4, (u64)_etext, KV2P(_etext), _data - _etext, PTE_G | pte_nx) < 0 ||
	    vm_map(kernel_pml4, (u64)_data, KV2P(_data), _end - _data, PTE_W | PTE_G | pte_nx) < 0)
		panic("vm_init: out of memory");

	cr4 = rcr4() | CR4_PGE;
	/* SMEP: the kernel never executes user pages; SMAP: it never reads or
	 * writes them except between stac/clac (the syscall code, later). */
	if (cpu_has_smep)
		cr4 |= CR4_SMEP;
	if (cpu_has_smap)
		cr4 |= CR4_SMAP;
	lcr4(cr4);
	lcr3(V2P(kernel_pml4));
}

/* --- user memory ----------------------------------------------------------
 * A process's pages live in the user half of its own address space. The
 * kernel never touches them through user addresses: it looks the address up
 * in the process's page tables and copies through the direct map. So a bad
 * user pointer (unmapped, kernel, read-only for a write) is found by the
 * walk and becomes -EFAULT: it can never fault in the kernel, and with SMAP
 * on, the kernel needs no stac/clac because it never reads a user page
 * through a user mapping. */

/* Call fn(pte, arg) for every present page table entry of the user half:
 * the four levels walked once, for whoever needs to see every user page. */
void vm_each_user_pte(pte_t *pml4, void (*fn)(pte_t pte, void *arg), void *arg)
{
	for (int i = 0; i < 256; i++) {
		pte_t *pdpt;

		if (!(pml4[i] & PTE_P))
			continue;
		pdpt = P2V(PTE_ADDR(pml4[i]));
		for (int j = 0; j < 512; j++) {
			pte_t *pd;

			if (!(pdpt[j] & PTE_P))
				continue;
			pd = P2V(PTE_ADDR(pdpt[j]));
			for (int k = 0; k < 512; k++) {
				pte_t *pt;

				if (!(pd[k] & PTE_P))
					continue;
				pt = P2V(PTE_ADDR(pd[k]));
				for (int l = 0; l < 512; l++)
					if (pt[l] & PTE_P)
						fn(pt[l], arg);
			}
		}
	}
}

static void free_frame(pte_t pte, void *arg)
{
	(void)arg;
	kfree(P2V(PTE_ADDR(pte)));
}

/* Free the VMAs, every frame mapped in the user half, then the tables,
 * then the PML4. */
void vm_free_user(pte_t *pml4)
{
	mm_free(pml4);
	vm_each_user_pte(pml4, free_frame, NULL);
	vm_destroy(pml4);
}

static void count_page(pte_t pte, void *arg)
{
	(void)pte;
	(*(u64 *)arg)++;
}

/* The resident set: how many user pages the page tables map (shared
 * copy-on-write pages count in every process that maps them, as on Linux). */
u64 vm_rss_pages(pte_t *pml4)
{
	u64 n = 0;

	vm_each_user_pte(pml4, count_page, &n);
	return n;
}

/* Give [va, va+size) fresh zeroed pages (those not mapped yet). -1: out of memory. */
int vm_alloc_user(pte_t *pml4, u64 va, u64 size, u64 flags)
{
	for (u64 a = PGROUNDDOWN(va); a < va + size; a += PAGE_SIZE) {
		pte_t *e = vm_walk(pml4, a, true);
		void *page;

		if (!e)
			return -1;
		if (*e & PTE_P)
			continue;
		if (!(page = kzalloc()))
			return -1;
		*e = V2P(page) | flags | PTE_U | PTE_P;
	}
	return 0;
}

static bool user_ok(pte_t *e, bool write)
{
	return e && (*e & PTE_P) && (*e & PTE_U) && (!write || (*e & PTE_W));
}

/* The kernel address of user address `va`, if the page is mapped for user
 * mode (and writable, with `write`); NULL if not. A page the process may
 * use but that is not there yet (demand paging) or copy-on-write (read()
 * into a buffer after fork...) is faulted in first, exactly as a user
 * access would (mm_fault, which counts it as a minor fault too). */
static u8 *user_addr(pte_t *pml4, u64 va, bool write)
{
	pte_t *e;

	if (va >= USER_TOP)
		return NULL;
	e = vm_walk(pml4, va, false);
	if (!user_ok(e, write)) {
		if (mm_fault(pml4, va, write, false) < 0)
			return NULL;
		e = vm_walk(pml4, va, false);
		if (!user_ok(e, write))
			return NULL;
	}
	return (u8 *)P2V(PTE_ADDR(*e)) + (va & (PAGE_SIZE - 1));
}

/* Copy n bytes to user address dst: 0, or -1 if any of it is not writable. */
int copyout(pte_t *pml4, u64 dst, const void *src, u64 n)
{
	const u8 *s = src;

	while (n) {
		u64 chunk = PAGE_SIZE - (dst & (PAGE_SIZE - 1));
		u8 *d = user_addr(pml4, dst, true);

		if (!d)
			return -1;
		if (chunk > n)
			chunk = n;
		memcpy(d, s, chunk);
		dst += chunk, s += chunk, n -= chunk;
	}
	return 0;
}

int copyin(pte_t *pml4, void *dst, u64 src, u64 n)
{
	u8 *d = dst;

	while (n) {
		u64 chunk = PAGE_SIZE - (src & (PAGE_SIZE - 1));
		const u8 *s = user_addr(pml4, src, false);

		if (!s)
			return -1;
		if (chunk > n)
			chunk = n;
		memcpy(d, s, chunk);
		src += chunk, d += chunk, n -= chunk;
	}
	return 0;
}

/* A NUL-terminated string of at most max bytes (with the NUL): its length,
 * or -1 (bad address, or too long). */
long copyinstr(pte_t *pml4, char *dst, u64 src, u64 max)
{
	for (u64 i = 0; i < max; i++) {
		const u8 *s = user_addr(pml4, src + i, false);

		if (!s)
			return -1;
		if (!(dst[i] = (char)*s))
			return (long)i;
	}
	return -1;
}
