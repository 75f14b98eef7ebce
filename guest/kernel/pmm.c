/*
 * pmm.c - the physical memory manager: which 4 KiB page frames are free.
 *
 * Every frame of RAM has a struct page, in one array indexed by the frame
 * number (physical address >> 12). It holds the frame's reference count: how
 * many users (page tables, the kernel) hold it. kalloc() hands out a frame
 * with count 1; kfree() drops one reference and the frame is free again when
 * the count reaches 0. Copy-on-write will need exactly this: after fork, a
 * frame is mapped by two processes (count 2) until one of them writes.
 *
 * Free frames are chained through their struct page (`next`, a frame
 * number), not through the frames themselves: setting up the list touches no
 * guest RAM, so the host only commits memory the guest really uses.
 *
 * Before the allocator exists (we need page tables to reach all of RAM, and
 * memory to build page tables) boot_alloc() hands out memory right after the
 * kernel image; that memory is never freed.
 */
#include "kernel.h"

struct page {
	u32 ref;  /* references; 0 = free (or never usable) */
	u32 next; /* the next free frame's number, when free; 0 ends the list */
};

extern char _end[];
static struct page *pages;
static u64 npages;      /* frames covered by pages[]: everything up to the top of RAM */
static u32 free_head;   /* first free frame (frame 0 is never free: 0 = none) */
static u64 nfree;       /* frames on the free list */
static u64 usable;      /* bytes of RAM in the memory map */
static u64 boot_next;   /* boot_alloc's next physical address */
static bool pmm_ready;

/* The highest RAM address + 1, from the memory map. */
u64 pmm_top(void)
{
	u64 top = 0;

	for (int i = 0; i < nmemmap; i++)
		if (memmap[i].type == E820_RAM && memmap[i].addr + memmap[i].size > top)
			top = memmap[i].addr + memmap[i].size;
	return top;
}

/* Memory from after the kernel, zeroed, never freed (for the early tables). */
void *boot_alloc(u64 size)
{
	u64 pa = boot_next;

	if (pmm_ready)
		panic("boot_alloc after pmm_init");
	boot_next = PGROUNDUP(boot_next + size);
	/* Until vm_init switches to the full direct map, boot.S's maps 1 GiB. */
	if (boot_next > 0x40000000 || boot_next > pmm_top())
		panic("boot_alloc: out of early memory");
	return memset(P2V(pa), 0, boot_next - pa);
}

void pmm_early_init(void)
{
	boot_next = PGROUNDUP(KV2P(_end));
	npages = pmm_top() >> PAGE_SHIFT;
	pages = boot_alloc(npages * sizeof(struct page));
}

static bool in_module(u64 pa)
{
	for (int i = 0; i < nmodules; i++)
		if (pa + PAGE_SIZE > modules[i].addr && pa < modules[i].addr + modules[i].size)
			return true;
	return false;
}

/*
 * Put every frame of usable RAM on the free list, except: the first 64 KiB
 * (the real-mode interrupt table and kvmlab's boot information live there;
 * frame 0 also ends our lists), the kernel with everything boot_alloc gave
 * out, and the modules (the initrd). Highest frames first, so the list hands
 * out low frames first.
 */
void pmm_init(void)
{
	for (int i = nmemmap - 1; i >= 0; i--) {
		u64 start, end;

		if (memmap[i].type != E820_RAM)
			continue;
		usable += memmap[i].size;
		start = PGROUNDUP(memmap[i].addr);
		end = PGROUNDDOWN(memmap[i].addr + memmap[i].size);
		for (u64 pa = end; pa > start;) {
			pa -= PAGE_SIZE;
			if (pa < 0x10000 || (pa >= KERNEL_PHYS && pa < boot_next) || in_module(pa))
				continue;
			pages[pa >> PAGE_SHIFT].next = free_head;
			free_head = (u32)(pa >> PAGE_SHIFT);
			nfree++;
		}
	}
	pmm_ready = true;
}

void *kalloc(void)
{
	u32 pfn = free_head;

	if (!pmm_ready)
		return boot_alloc(PAGE_SIZE); /* only vm_init, before pmm_init */
	if (!pfn)
		return NULL;
	free_head = pages[pfn].next;
	pages[pfn].next = 0;
	pages[pfn].ref = 1;
	nfree--;
	return P2V((u64)pfn << PAGE_SHIFT);
}

void *kzalloc(void)
{
	void *p = kalloc();

	return p ? memset(p, 0, PAGE_SIZE) : NULL;
}

static struct page *page_of(u64 pa)
{
	if (pa & (PAGE_SIZE - 1) || (pa >> PAGE_SHIFT) >= npages || pa < 0x10000)
		panic("bad page frame 0x%lx", pa);
	return &pages[pa >> PAGE_SHIFT];
}

/* Drop one reference to the page at kernel address `va`; free it at zero. */
void kfree(void *va)
{
	u64 pa = V2P(va);
	struct page *pg = page_of(pa);

	if (pg->ref == 0)
		panic("kfree: page 0x%lx is already free", pa);
	if (--pg->ref)
		return;
	pg->next = free_head;
	free_head = (u32)(pa >> PAGE_SHIFT);
	nfree++;
}

void page_ref_inc(u64 pa)
{
	struct page *pg = page_of(pa);

	if (pg->ref == 0)
		panic("page_ref_inc: page 0x%lx is free", pa);
	pg->ref++;
}

u32 page_ref(u64 pa) { return page_of(pa)->ref; }
u64 pmm_free_pages(void) { return nfree; }
u64 pmm_usable_bytes(void) { return usable; }

/*
 * kmalloc: a small heap for kernel objects of up to 2 KiB. Sizes are rounded
 * up to a power of two (32 ... 2048 bytes); each size has its own free list,
 * refilled by cutting a fresh page into blocks. A block carries its size
 * class in a 16-byte header, so kmfree() knows which list it goes back to.
 * The first block of each heap page holds a count of the page's blocks in
 * use: when the last one is freed, the page goes back to the page allocator
 * (so a burst of processes leaves no memory behind once they are gone).
 */
#define KM_MIN_SHIFT 5
#define KM_CLASSES 7 /* 32, 64, ..., 2048 */
struct km_block {
	struct km_block *next; /* while free */
	u64 class;
};
struct km_page {
	u64 inuse; /* blocks of this page handed out */
};
static struct km_block *km_free[KM_CLASSES];

static struct km_page *km_page_of(void *p) { return (struct km_page *)PGROUNDDOWN((u64)p); }

void *kmalloc(size_t n)
{
	int c = 0;
	struct km_block *b;

	n += sizeof(struct km_block);
	while (c < KM_CLASSES && ((size_t)1 << (c + KM_MIN_SHIFT)) < n)
		c++;
	if (c == KM_CLASSES)
		return NULL; /* use kalloc() for a page or more */
	if (!km_free[c]) {
		u8 *page = kalloc();
		size_t size = (size_t)1 << (c + KM_MIN_SHIFT);

		if (!page)
			return NULL;
		((struct km_page *)page)->inuse = 0;
		for (size_t off = size; off < PAGE_SIZE; off += size) { /* block 0: the count */
			b = (struct km_block *)(page + off);
			b->next = km_free[c];
			km_free[c] = b;
		}
	}
	b = km_free[c];
	km_free[c] = b->next;
	b->class = (u64)c;
	km_page_of(b)->inuse++;
	return b + 1;
}

void kmfree(void *p)
{
	struct km_block *b = (struct km_block *)p - 1, **pp;
	struct km_page *page;

	if (!p)
		return;
	if (b->class >= KM_CLASSES)
		panic("kmfree: bad block %p", p);
	b->next = km_free[b->class];
	km_free[b->class] = b;
	page = km_page_of(b);
	if (--page->inuse)
		return;
	/* The page is all free: take its blocks off the list, give it back. */
	for (pp = &km_free[b->class]; *pp;)
		if (km_page_of(*pp) == page)
			*pp = (*pp)->next;
		else
			pp = &(*pp)->next;
	kfree(page);
}
