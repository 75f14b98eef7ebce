/*
 * mm.c - virtual memory areas and demand paging (the book's chapter 5).
 *
 * What a process may touch is not what its page tables map: it is a list of
 * virtual memory areas (VMAs), each a page-aligned range [start, end) with
 * rights (PROT_READ/WRITE/EXEC) and a kind (the program's segments, the heap,
 * the stack, anonymous private or shared memory). mmap and brk only add or
 * grow a VMA; no frame is given. The first touch of a page faults (#PF), and
 * vm_fault() finds the VMA and maps a zeroed frame there: a "minor fault"
 * (served from memory; a major one would need I/O). So mapping 100 MiB costs
 * nothing until it is used, page by page.
 *
 * The same handler does copy-on-write: after fork both processes map a
 * private page read-only; a write faults, and the writer gets a copy (or,
 * when nobody else still maps the frame, the right to write). Shared
 * mappings (MAP_SHARED) are never copied: their frames live in a `struct
 * shm` that every VMA made from the same mmap points at, so a page first
 * touched by the child after fork is the parent's page too.
 *
 * A mapped file (mmap of a regular file) is a VMA that holds the inode:
 * its pages are the file's own frames (fs.c), shared, or copied on the
 * first write when private (file_page); past the file's end is SIGBUS.
 *
 * A fault outside every VMA, or against its rights, is SIGSEGV. No frame left
 * is out of memory: the process is killed (SIGKILL), the kernel goes on.
 *
 * The kernel itself reaches user memory only through copyin/copyout (vm.c);
 * they call mm_fault() exactly as the CPU's fault would, so read() into a
 * fresh buffer or wait4's status into a copy-on-write stack page behave (and
 * count) like a user access.
 *
 * The VMA list belongs to an address space, so it is found by its page-table
 * root: struct mm, one per live pml4 (exec builds the new one before the old
 * one goes, so there are two per process at most).
 */
#include "kernel.h"
#include "fs.h"
#include "x86.h"

#define ENXIO 6 /* mm_fault: past the end of a mapped file (SIGBUS) */
#define ENODEV 19
#define EOVERFLOW 75

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_POPULATE 0x8000
#define MAP_FIXED_NOREPLACE 0x100000
#define MADV_DONTNEED 4

#define MMAP_BASE 0x0000100000000000ul /* anonymous mmaps: from 16 TiB up */
#define MMAP_END 0x00007F0000000000ul  /* and below the stack's region */
#define SHM_MAX_PAGES (512ul * 512)    /* a shared mapping: up to 1 GiB */

/* A virtual memory area: [start, end), page-aligned. */
enum { VMA_ANON = 1, VMA_SHARED = 2, VMA_HEAP = 4, VMA_STACK = 8, VMA_FILE = 16 /* a segment */,
       VMA_MAPPED = 32 /* mmap of a file (ip) */,
       VMA_NOWRITE = 64 /* MAP_SHARED of a file not open for writing: mprotect may not add it */ };
struct vma {
	u64 start, end;
	u32 prot;	  /* PROT_READ | PROT_WRITE | PROT_EXEC, or 0 (PROT_NONE) */
	u32 flags;	  /* VMA_* */
	u64 pgoff;	  /* the first page's index in the file or the shm */
	struct shm *shm;  /* MAP_SHARED anonymous: where the frames are */
	struct inode *ip; /* a mapped file (one inode reference per VMA) */
	u64 fend;	  /* with ip: pages from here on are zeros, not the file's (a segment's bss) */
	struct vma *next; /* the next one up */
	char name[48];	  /* for /proc/<pid>/maps: a segment's file, "/dev/zero (deleted)" */
};

/* Shared anonymous memory: the frames of one MAP_SHARED mmap, by page index,
 * in a two-level table (a page of 512 leaf addresses, each a page of 512
 * frame addresses; 0 = not touched yet). Each frame holds one reference for
 * the shm and one per page-table entry that maps it. */
struct shm {
	u32 refs; /* the VMAs that use it */
	u64 npages;
	u64 *dir;
};

struct mm {
	pte_t *pml4; /* NULL: a free slot */
	struct vma *vmas;
	u64 rss; /* user pages present, kept up to date for maxrss */
};

static struct mm mms[2 * NPROC];

static struct mm *mm_of(pte_t *pml4)
{
	for (int i = 0; i < 2 * NPROC; i++)
		if (pml4 && mms[i].pml4 == pml4)
			return &mms[i];
	return NULL;
}

static struct mm *mm_get(pte_t *pml4)
{
	struct mm *mm = mm_of(pml4);

	for (int i = 0; !mm && i < 2 * NPROC; i++)
		if (!mms[i].pml4) {
			mm = &mms[i];
			memset(mm, 0, sizeof(*mm));
			mm->pml4 = pml4;
		}
	return mm;
}

/* The process that owns an address space, to count its faults. */
static struct proc *owner(pte_t *pml4)
{
	return curproc && curproc->pml4 == pml4 ? curproc : NULL;
}

/* --- shared memory objects ------------------------------------------------ */

static struct shm *shm_new(u64 npages)
{
	struct shm *s;

	if (npages > SHM_MAX_PAGES || !(s = kmalloc(sizeof(*s))))
		return NULL;
	if (!(s->dir = kzalloc())) {
		kmfree(s);
		return NULL;
	}
	s->refs = 1;
	s->npages = npages;
	return s;
}

/* The frame of page i (allocated, zeroed, on first use): its physical
 * address, or 0 when memory is out. */
static u64 shm_frame(struct shm *s, u64 i)
{
	u64 *leaf;
	void *page;

	if (!s->dir[i / 512]) {
		if (!(leaf = kzalloc()))
			return 0;
		s->dir[i / 512] = V2P(leaf);
	}
	leaf = P2V(s->dir[i / 512]);
	if (!leaf[i % 512]) {
		if (!(page = kzalloc()))
			return 0;
		leaf[i % 512] = V2P(page);
	}
	return leaf[i % 512];
}

static void shm_put(struct shm *s)
{
	if (!s || --s->refs)
		return;
	for (int d = 0; d < 512; d++) {
		u64 *leaf;

		if (!s->dir[d])
			continue;
		leaf = P2V(s->dir[d]);
		for (int i = 0; i < 512; i++)
			if (leaf[i])
				kfree(P2V(leaf[i]));
		kfree(leaf);
	}
	kfree(s->dir);
	kmfree(s);
}

/* --- the VMA list (sorted by address, never overlapping) ------------------ */

static struct vma *vma_new(u64 start, u64 end, u32 prot, u32 flags)
{
	struct vma *v = kmalloc(sizeof(*v));

	if (!v)
		return NULL;
	memset(v, 0, sizeof(*v));
	v->start = start, v->end = end, v->prot = prot, v->flags = flags;
	return v;
}

/* nv now holds v's file too (one reference; a program segment also counts
 * in nexec: no one may write the file while it runs). */
static void vma_dup_file(struct vma *nv, struct vma *v)
{
	if (!(nv->ip = v->ip))
		return;
	nv->ip->ref++;
	if (nv->flags & VMA_FILE)
		nv->ip->nexec++;
}

static void vma_free(struct vma *v)
{
	shm_put(v->shm);
	if (v->ip && (v->flags & VMA_FILE))
		v->ip->nexec--;
	if (v->ip)
		fs_iput(v->ip);
	kmfree(v);
}

/* The VMA that contains va, or NULL. */
static struct vma *vma_find(struct mm *mm, u64 va)
{
	for (struct vma *v = mm->vmas; v && v->start <= va; v = v->next)
		if (va < v->end)
			return v;
	return NULL;
}

/* MAP_SHARED memory (anonymous or a file): never copied on write. */
static bool vma_shared(struct vma *v)
{
	return v->flags & VMA_SHARED;
}

/* Does anything overlap [start, end)? */
static bool vma_overlaps(struct mm *mm, u64 start, u64 end)
{
	for (struct vma *v = mm->vmas; v && v->start < end; v = v->next)
		if (v->end > start)
			return true;
	return false;
}

static void vma_insert(struct mm *mm, struct vma *nv)
{
	struct vma **pp = &mm->vmas;

	while (*pp && (*pp)->start < nv->start)
		pp = &(*pp)->next;
	nv->next = *pp;
	*pp = nv;
}

/* Make `addr` a boundary between VMAs (cut the one that straddles it in
 * two). -ENOMEM if no memory for the second half. */
static int vma_split(struct mm *mm, u64 addr)
{
	struct vma *v = vma_find(mm, addr), *nv;

	if (!v || v->start == addr)
		return 0;
	if (!(nv = vma_new(addr, v->end, v->prot, v->flags)))
		return -ENOMEM;
	memcpy(nv->name, v->name, sizeof(nv->name));
	nv->shm = v->shm;
	if (nv->shm)
		nv->shm->refs++;
	vma_dup_file(nv, v);
	nv->fend = v->fend;
	nv->pgoff = v->pgoff + (addr - v->start) / PAGE_SIZE;
	v->end = addr;
	nv->next = v->next;
	v->next = nv;
	return 0;
}

/* --- page-table entries of a range ---------------------------------------- */

/* The entry for va, or NULL after moving va to the next 2 MiB (no page
 * table there: nothing mapped, skip it whole). */
static pte_t *pte_or_skip(pte_t *pml4, u64 *va)
{
	pte_t *e = vm_walk(pml4, *va, false);

	if (!e)
		*va = (*va + LARGE_PAGE_SIZE) & ~(u64)(LARGE_PAGE_SIZE - 1);
	return e;
}

/* The PTE bits a page of v gets (write only when `w`: a private page may
 * be read-only for copy-on-write even in a writable VMA). PROT_NONE keeps
 * the page present for the kernel but not for user mode. */
static u64 pte_flags(struct vma *v, bool w)
{
	u64 f = PTE_P;

	if (v->prot)
		f |= PTE_U;
	if (!(v->prot & PROT_EXEC))
		f |= pte_nx;
	if (w && (v->prot & PROT_WRITE))
		f |= PTE_W;
	return f;
}

/* Unmap the pages of [start, end) and drop their frames. */
static void zap(struct mm *mm, u64 start, u64 end)
{
	for (u64 va = start; va < end;) {
		pte_t *e = pte_or_skip(mm->pml4, &va);

		if (!e)
			continue;
		if (*e & PTE_P) {
			kfree(P2V(PTE_ADDR(*e)));
			*e = 0;
			invlpg(va);
			mm->rss--;
		}
		va += PAGE_SIZE;
	}
}

/* Remove every VMA (and page) in [start, end), cutting those at its ends. */
static int mm_unmap(struct mm *mm, u64 start, u64 end)
{
	struct vma **pp = &mm->vmas;

	if (vma_split(mm, start) < 0 || vma_split(mm, end) < 0)
		return -ENOMEM;
	while (*pp) {
		struct vma *v = *pp;

		if (v->start >= start && v->end <= end) {
			zap(mm, v->start, v->end);
			*pp = v->next;
			vma_free(v);
		} else {
			pp = &v->next;
		}
	}
	return 0;
}

/* --- the fault handler ---------------------------------------------------- */

/*
 * The first touch of a page of a mapped file (fs.c keeps a file's bytes in
 * page frames once it is written or mapped). MAP_SHARED maps the file's own
 * frame: a store is in the file at once, read() and every other mapping see
 * it. MAP_PRIVATE maps it too, but read-only: the first write copies it
 * (copy-on-write, as after fork); a write fault copies at once. A private
 * page of a file still in the initramfs is copied from there. The frame gets
 * one reference for the page table: a truncate or unlink can never free a
 * frame that is still mapped. A page wholly past the end of the file:
 * -ENXIO, the process gets SIGBUS.
 */
static int file_page(struct vma *v, u64 page, bool write, u64 *pa, bool *w)
{
	struct inode *ip = v->ip;
	u64 idx = v->pgoff + (page - v->start) / PAGE_SIZE;
	u8 *copy;

	if (idx >= (ip->size + PAGE_SIZE - 1) / PAGE_SIZE)
		return -ENXIO;
	if (vma_shared(v) || (ip->pages && !write)) {
		int r = fs_page(ip, idx, pa);

		if (!r) {
			page_ref_inc(*pa);
			*w = vma_shared(v);
			return 0;
		}
		if (r != -EFBIG)
			return -ENOMEM;
		/* A file of the archive too big for RAM pages (over 2 MiB)
		 * can never be written: a read-only page may be a copy. */
		if (ip->pages || (v->prot & PROT_WRITE))
			return -ENXIO;
	}
	if (!(copy = kzalloc()))
		return -ENOMEM;
	fs_kread(ip, copy, PAGE_SIZE, idx * PAGE_SIZE);
	*pa = V2P(copy);
	*w = true;
	return 0;
}

/*
 * An access to user address va (a write with `write`, an instruction fetch
 * with `exec`) that the page tables did not allow. 0: fixed, retry the
 * access; -EFAULT: not allowed (SIGSEGV for the user); -ENOMEM: no frame.
 */
int mm_fault(pte_t *pml4, u64 va, bool write, bool exec)
{
	struct mm *mm = mm_of(pml4);
	struct proc *p = owner(pml4);
	struct vma *v;
	pte_t *e;
	u64 page = PGROUNDDOWN(va), pa;

	if (va >= USER_TOP || !mm || !(v = vma_find(mm, va)) || !v->prot)
		return -EFAULT;
	if ((write && !(v->prot & PROT_WRITE)) || (exec && !(v->prot & PROT_EXEC)))
		return -EFAULT;
	if (!(e = vm_walk(pml4, page, true)))
		return -ENOMEM;
	if (!(*e & PTE_P)) {
		/* Demand paging: the first touch. */
		bool w = true;

		if (v->ip && page < v->fend) {
			int r = file_page(v, page, write, &pa, &w);

			if (r < 0)
				return r;
		} else if (v->shm) {
			if (!(pa = shm_frame(v->shm, v->pgoff + (page - v->start) / PAGE_SIZE)))
				return -ENOMEM;
			page_ref_inc(pa);
		} else {
			void *f = kzalloc();

			if (!f)
				return -ENOMEM;
			pa = V2P(f);
		}
		*e = pa | pte_flags(v, w);
		mm->rss++;
	} else if (write && !(*e & PTE_W)) {
		/* Copy-on-write: copy the frame unless we are its last user. */
		pa = PTE_ADDR(*e);
		if (!vma_shared(v) && page_ref(pa) > 1) {
			void *copy = kalloc();

			if (!copy)
				return -ENOMEM;
			memcpy(copy, P2V(pa), PAGE_SIZE);
			kfree(P2V(pa));
			pa = V2P(copy);
		}
		*e = pa | pte_flags(v, true);
	} else {
		/* The entry was stale (the TLB, or rights that were not
		 * updated): make it what the VMA says and retry. */
		*e = PTE_ADDR(*e) | pte_flags(v, *e & PTE_W);
		invlpg(page);
		return 0;
	}
	invlpg(page);
	if (p) {
		p->minflt++;
		if (mm->rss > p->maxrss_pages)
			p->maxrss_pages = mm->rss;
	}
	return 0;
}

/* A #PF in user mode (trap.c). 0: retry the instruction; -1: SIGSEGV. Out
 * of memory kills the process here and does not return. */
int vm_fault(struct proc *p, u64 va, u64 err)
{
	int r = mm_fault(p->pml4, va, err & 2, err & 16);

	if (r == -ENXIO) {
		/* Past the end of a mapped file: SIGBUS, as on Linux. */
		if (signal_fault(p->tf, SIGBUS, va))
			return 0; /* its handler runs on the way out */
		kprintf("kernel: pid %d (%s): bus error (no page of the mapped file there), address 0x%lx: killed\n",
			p->pid, p->name, va);
		proc_kill(SIGBUS);
	}
	if (r == -ENOMEM) {
		kprintf("kernel: out of memory: killed pid %d (%s)\n", p->pid, p->name);
		proc_kill(9); /* SIGKILL */
	}
	return r ? -1 : 0;
}

/* A write to a copy-on-write page (the old interface; vm_fault does it). */
int vm_cow_fault(pte_t *pml4, u64 va)
{
	return mm_fault(pml4, va, true, false) ? -1 : 0;
}

/* --- address spaces: exec, fork, exit ------------------------------------- */

/* exec: a segment of the program, [start, end) page-aligned, named by its
 * path. Pages it shares with the previous segments (the ELF file may start
 * one in the page where the last ended) get the rights of both. */
int mm_add_segment(pte_t *pml4, u64 start, u64 end, u32 prot, u64 off, const char *path)
{
	struct mm *mm = mm_get(pml4);
	struct vma *v, *last = NULL;
	size_t i;

	if (!mm)
		return -ENOMEM;
	for (v = mm->vmas; v; v = v->next)
		last = v;
	if (last && start < last->end) {
		u64 shared_end = last->end;

		if (!vma_find(mm, start) || vma_split(mm, start) < 0)
			return -EINVAL;
		for (v = vma_find(mm, start); v; v = v->next)
			v->prot |= prot;
		off += shared_end - start;
		start = shared_end;
	}
	if (start >= end)
		return 0;
	if (vma_overlaps(mm, start, end) || !(v = vma_new(start, end, prot, VMA_FILE)))
		return -ENOMEM;
	v->pgoff = off / PAGE_SIZE;
	for (i = 0; i + 1 < sizeof(v->name) && path[i]; i++)
		v->name[i] = path[i];
	vma_insert(mm, v);
	return 0;
}

/*
 * exec: the segment VMA that holds page va, file offset off there, reads
 * its pages from ip on demand (file_page; zeros from fend on, the bss).
 * Returns where that VMA starts (pages before it belong to another
 * segment), or 0 when it cannot: va's VMA is not this segment's own.
 */
u64 mm_segment_file(pte_t *pml4, u64 va, u64 off, struct inode *ip, u64 fend)
{
	struct mm *mm = mm_of(pml4);
	struct vma *v = mm ? vma_find(mm, va) : NULL;

	if (!v || !(v->flags & VMA_FILE) || v->ip ||
	    v->pgoff + (va - v->start) / PAGE_SIZE != off / PAGE_SIZE)
		return 0;
	v->ip = ip;
	ip->ref++;
	ip->nexec++;
	v->fend = fend;
	return v->start;
}

/* exec: the stack, [top - size, top), read+write, paged in on demand. */
int mm_add_stack(pte_t *pml4, u64 top, u64 size)
{
	struct mm *mm = mm_get(pml4);
	struct vma *v;

	if (!mm || vma_overlaps(mm, top - size, top))
		return -ENOMEM;
	if (!(v = vma_new(top - size, top, PROT_READ | PROT_WRITE, VMA_STACK)))
		return -ENOMEM;
	vma_insert(mm, v);
	mm->rss = vm_rss_pages(pml4); /* the segments exec loaded at once */
	return 0;
}

/*
 * fork: the child gets a copy of every VMA and maps the same frames. Private
 * pages become read-only in both (copy-on-write, see mm_fault); shared ones
 * stay writable in both: the same memory. -1: out of memory.
 */
int vm_copy_user(pte_t *dst, pte_t *src)
{
	struct mm *sm = mm_of(src), *dm = mm_get(dst);
	struct vma **tail;

	if (!sm || !dm)
		return -1;
	tail = &dm->vmas;
	for (struct vma *v = sm->vmas; v; v = v->next) {
		struct vma *nv = vma_new(v->start, v->end, v->prot, v->flags);

		if (!nv)
			return -1;
		memcpy(nv->name, v->name, sizeof(nv->name));
		nv->pgoff = v->pgoff;
		if ((nv->shm = v->shm))
			nv->shm->refs++;
		vma_dup_file(nv, v);
		nv->fend = v->fend;
		*tail = nv, tail = &nv->next;
		for (u64 va = v->start; va < v->end;) {
			pte_t *s = pte_or_skip(src, &va), *d;

			if (!s)
				continue;
			if (*s & PTE_P) {
				if (!(d = vm_walk(dst, va, true)))
					return -1;
				if (!vma_shared(v) && (*s & PTE_W))
					*s = (*s & ~(u64)PTE_W) | PTE_COW;
				page_ref_inc(PTE_ADDR(*s));
				*d = *s & ~(u64)(PTE_A | PTE_D);
				dm->rss++;
			}
			va += PAGE_SIZE;
		}
	}
	lcr3(rcr3()); /* the parent's pages lost their write right: flush its TLB */
	return 0;
}

/* exit or a failed exec: the VMAs go with the address space (vm_free_user). */
void mm_free(pte_t *pml4)
{
	struct mm *mm = mm_of(pml4);

	if (!mm)
		return;
	while (mm->vmas) {
		struct vma *v = mm->vmas;

		mm->vmas = v->next;
		vma_free(v);
	}
	mm->pml4 = NULL;
}

/* --- system calls --------------------------------------------------------- */

/* The lowest free range of len bytes from MMAP_BASE, a guard page away from
 * its neighbours; 0 if there is none. */
static u64 find_free(struct mm *mm, u64 len)
{
	u64 va = MMAP_BASE;

	for (struct vma *v = mm->vmas; v; v = v->next) {
		if (v->end + PAGE_SIZE <= va)
			continue;
		if (va + len + PAGE_SIZE <= v->start)
			break;
		va = v->end + PAGE_SIZE;
	}
	return va + len <= MMAP_END ? va : 0;
}

/* Fault in [start, end) now (MAP_POPULATE). */
static int populate(pte_t *pml4, u64 start, u64 end, bool write)
{
	for (u64 va = start; va < end; va += PAGE_SIZE) {
		pte_t *e = vm_walk(pml4, va, false);

		int r;

		if (e && (*e & PTE_P) && (!write || (*e & PTE_W)))
			continue;
		if ((r = mm_fault(pml4, va, write, false)) == -ENXIO)
			break; /* a file's end: the rest would be SIGBUS */
		if (r < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * The file behind mmap's fd: a regular file opened for reading (and for
 * writing too if MAP_SHARED memory may be written); NULL and *err if not.
 * /dev/zero is anonymous memory (*err 0, NULL).
 */
static struct inode *map_file(struct proc *p, u64 fd, u64 type, u64 prot, int *err)
{
	struct file *f = file_get(p, fd);
	u32 acc;

	*err = -EBADF;
	if (!f)
		return NULL;
	*err = -ENODEV; /* pipes, directories, /proc, devices */
	if (!f->ip || f->ip->pkind)
		return NULL;
	if (S_ISCHR(f->ip->mode) && f->ip->rdev == DEV_ZERO) {
		*err = 0;
		return NULL;
	}
	if (!S_ISREG(f->ip->mode))
		return NULL;
	acc = f->flags & O_ACCMODE;
	*err = -EACCES;
	if (acc == O_WRONLY || (type != MAP_PRIVATE && (prot & PROT_WRITE) && acc != O_RDWR))
		return NULL;
	*err = 0;
	return f->ip;
}

/*
 * mmap(addr, len, prot, flags, fd, off): anonymous memory, private or
 * shared, or a file from page `off` on (file_page). Only a VMA is made
 * (MAP_POPULATE: and faulted in at once). addr is a hint unless MAP_FIXED
 * (then whatever was there goes) or MAP_FIXED_NOREPLACE (-EEXIST if
 * something is there).
 */
i64 sys_mmap(struct proc *p, u64 addr, u64 len, u64 prot, u64 flags, u64 fd, u64 off)
{
	struct mm *mm = mm_get(p->pml4);
	u64 type = flags & MAP_TYPE, va;
	struct inode *ip = NULL;
	struct vma *v;
	int err;

	if (!mm)
		return -ENOMEM;
	if (!len || (type != MAP_SHARED && type != MAP_PRIVATE && type != 3) ||
	    (prot & ~7ul) || (off & (PAGE_SIZE - 1)))
		return -EINVAL;
	if (len > MMAP_END - MMAP_BASE)
		return -ENOMEM;
	len = PGROUNDUP(len);
	if (!(flags & MAP_ANONYMOUS)) {
		if (!(ip = map_file(p, fd, type, prot, &err)) && err)
			return err;
		if (ip && off / PAGE_SIZE > (1ul << 40) - len / PAGE_SIZE)
			return -EOVERFLOW;
		if (!ip)
			off = 0; /* /dev/zero */
	}
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if ((addr & (PAGE_SIZE - 1)) || addr < PAGE_SIZE || addr >= USER_TOP ||
		    len > USER_TOP - addr)
			return -EINVAL;
		if ((flags & MAP_FIXED_NOREPLACE) && vma_overlaps(mm, addr, addr + len))
			return -EEXIST;
		if (mm_unmap(mm, addr, addr + len) < 0)
			return -ENOMEM;
		va = addr;
	} else if (addr && !(addr & (PAGE_SIZE - 1)) && addr >= 0x10000 && addr < MMAP_END &&
		   len <= MMAP_END - addr && !vma_overlaps(mm, addr, addr + len)) {
		va = addr; /* the hint is free: take it */
	} else if (!(va = find_free(mm, len))) {
		return -ENOMEM;
	}
	if (!(v = vma_new(va, va + len, (u32)prot,
			  (ip ? VMA_MAPPED : VMA_ANON) | (type == MAP_PRIVATE ? 0 : VMA_SHARED))))
		return -ENOMEM;
	if (ip) {
		v->ip = ip;
		ip->ref++;
		v->fend = USER_TOP;
		v->pgoff = off / PAGE_SIZE;
		if (type != MAP_PRIVATE && (file_get(p, fd)->flags & O_ACCMODE) != O_RDWR)
			v->flags |= VMA_NOWRITE;
	} else if (type != MAP_PRIVATE) {
		if (!(v->shm = shm_new(len / PAGE_SIZE))) {
			kmfree(v);
			return -ENOMEM;
		}
		/* What Linux calls it: shared anonymous memory is a mapping of
		 * /dev/zero that no directory holds. */
		memcpy(v->name, "/dev/zero (deleted)", 20);
	}
	vma_insert(mm, v);
	if ((flags & MAP_POPULATE) && prot && populate(p->pml4, va, va + len, prot & PROT_WRITE) < 0) {
		mm_unmap(mm, va, va + len);
		return -ENOMEM;
	}
	return (i64)va;
}

static bool bad_range(u64 addr, u64 len)
{
	return (addr & (PAGE_SIZE - 1)) || !len || addr >= USER_TOP || len > USER_TOP - addr;
}

i64 sys_munmap(struct proc *p, u64 addr, u64 len)
{
	struct mm *mm = mm_of(p->pml4);

	if (bad_range(addr, len))
		return -EINVAL;
	return mm ? mm_unmap(mm, addr, addr + PGROUNDUP(len)) : 0;
}

/* msync: a mapped file's pages are the file's own frames, so there is
 * nothing to write back; the range must be mapped (-ENOMEM otherwise). */
i64 sys_msync(struct proc *p, u64 addr, u64 len, u64 flags)
{
	struct mm *mm = mm_of(p->pml4);
	u64 end = addr + PGROUNDUP(len), at = addr;

	if ((addr & (PAGE_SIZE - 1)) || addr >= USER_TOP || len > USER_TOP - addr ||
	    (flags & ~7ul) || (flags & 5) == 5) /* MS_ASYNC | MS_SYNC */
		return -EINVAL;
	for (struct vma *v = mm ? vma_find(mm, addr) : NULL; at < end; v = v->next) {
		if (!v || v->start > at)
			return -ENOMEM;
		at = v->end;
	}
	return 0;
}

/*
 * A file got shorter (fs_truncate): every mapping of it loses its pages
 * past the new end, in every address space, so a later touch there is
 * SIGBUS and no page table keeps a frame the file no longer has.
 */
void mm_file_truncated(struct inode *ip)
{
	u64 np = (ip->size + PAGE_SIZE - 1) / PAGE_SIZE;

	for (int i = 0; i < 2 * NPROC; i++) {
		if (!mms[i].pml4)
			continue;
		for (struct vma *v = mms[i].vmas; v; v = v->next) {
			u64 first = v->pgoff, end = v->fend < v->end ? v->fend : v->end;
			u64 cut = first >= np ? v->start : v->start + (np - first) * PAGE_SIZE;

			if (v->ip == ip && cut < end) /* not a segment's bss: that is no file's */
				zap(&mms[i], cut, end);
		}
	}
	lcr3(rcr3()); /* the TLB of the current address space */
}

/* New rights for [start, end) of v (the PTEs of present pages follow; a
 * private page another process still maps stays read-only: copy-on-write). */
static void reprotect(struct mm *mm, struct vma *v, u32 prot)
{
	v->prot = prot;
	for (u64 va = v->start; va < v->end;) {
		pte_t *e = pte_or_skip(mm->pml4, &va);

		if (!e)
			continue;
		if (*e & PTE_P) {
			u64 pa = PTE_ADDR(*e);

			*e = pa | pte_flags(v, vma_shared(v) || page_ref(pa) == 1);
			invlpg(va);
		}
		va += PAGE_SIZE;
	}
}

/* mprotect: the whole range must be mapped (else -ENOMEM, as Linux says). */
i64 sys_mprotect(struct proc *p, u64 addr, u64 len, u64 prot)
{
	struct mm *mm = mm_of(p->pml4);
	u64 end = addr + PGROUNDUP(len), at = addr;

	if ((addr & (PAGE_SIZE - 1)) || addr >= USER_TOP || len > USER_TOP - addr || (prot & ~7ul))
		return -EINVAL;
	if (!len)
		return 0;
	if (!mm)
		return -ENOMEM;
	for (struct vma *v = vma_find(mm, addr); at < end; v = v->next) {
		if (!v || v->start > at)
			return -ENOMEM;
		if ((v->flags & VMA_NOWRITE) && (prot & PROT_WRITE))
			return -EACCES; /* the file was not opened for writing */
		at = v->end;
	}
	if (vma_split(mm, addr) < 0 || vma_split(mm, end) < 0)
		return -ENOMEM;
	for (struct vma *v = vma_find(mm, addr); v && v->start < end; v = v->next)
		reprotect(mm, v, (u32)prot);
	return 0;
}

/* madvise: MADV_DONTNEED drops the pages of anonymous memory (a private
 * range reads as zeros again, a shared one as the shared memory); the
 * program's segments are left alone (they cannot be read from the file
 * again). Other advice is accepted and ignored. */
i64 sys_madvise(struct proc *p, u64 addr, u64 len, u64 advice)
{
	struct mm *mm = mm_of(p->pml4);
	u64 end = addr + PGROUNDUP(len);

	if ((addr & (PAGE_SIZE - 1)) || addr >= USER_TOP || len > USER_TOP - addr || advice > 100)
		return -EINVAL;
	if (advice != MADV_DONTNEED || !mm)
		return 0;
	for (struct vma *v = mm->vmas; v && v->start < end; v = v->next) {
		u64 s = v->start > addr ? v->start : addr, e = v->end < end ? v->end : end;

		if (s < e && !(v->flags & VMA_FILE))
			zap(mm, s, e);
	}
	return 0;
}

/*
 * brk: the end of the heap, which starts right after the program's last
 * segment. Growing only grows the heap VMA (pages come on first touch);
 * shrinking unmaps. On failure the old break is returned, as Linux does;
 * brk(0) asks where it is.
 */
i64 sys_brk(struct proc *p, u64 addr)
{
	struct mm *mm = mm_get(p->pml4);
	u64 old = PGROUNDUP(p->brk), new = PGROUNDUP(addr);
	struct vma *h;

	if (!mm || addr < p->brk_start || addr >= p->brk_start + (1ul << 32))
		return (i64)p->brk;
	if (new > old) {
		/* Grow the heap's last VMA (mprotect may have cut the heap in
		 * pieces), or start one. */
		h = old > p->brk_start ? vma_find(mm, old - 1) : NULL;
		if (vma_overlaps(mm, old, new))
			return (i64)p->brk;
		if (h && (h->flags & VMA_HEAP) && h->end == old) {
			h->end = new;
		} else {
			if (!(h = vma_new(old, new, PROT_READ | PROT_WRITE, VMA_HEAP)))
				return (i64)p->brk;
			vma_insert(mm, h);
		}
	} else if (new < old && mm_unmap(mm, new, old) < 0) {
		return (i64)p->brk;
	}
	p->brk = addr;
	return (i64)addr;
}

/* --- what /proc shows ----------------------------------------------------- */

/* VmSize: the sum of the VMAs' sizes. */
u64 vm_size_bytes(struct proc *p)
{
	struct mm *mm = p->pml4 ? mm_of(p->pml4) : NULL;
	u64 n = 0;

	for (struct vma *v = mm ? mm->vmas : NULL; v; v = v->next)
		n += v->end - v->start;
	return n;
}

struct out {
	char *buf;
	long size, len;
};

static void put(struct out *o, const char *s)
{
	for (; *s; s++, o->len++)
		if (o->len < o->size)
			o->buf[o->len] = *s;
}

static void puthex(struct out *o, u64 x, int width)
{
	char d[17];
	int n = 0;

	do
		d[n++] = "0123456789abcdef"[x & 15];
	while ((x >>= 4) || n < width);
	while (n)
		put(o, (char[2]){ d[--n], 0 });
}

static void putdec(struct out *o, u64 x)
{
	char d[21];
	int n = 0;

	do
		d[n++] = (char)('0' + x % 10);
	while ((x /= 10));
	while (n)
		put(o, (char[2]){ d[--n], 0 });
}

/*
 * /proc/<pid>/maps, one VMA a line as Linux writes it:
 *   00400000-00401000 r--p 00000000 00:00 0       (spaces to column 73) /hello
 *   7fffff7ff000-7ffffffff000 rw-p 00000000 00:00 0 (...) [stack]
 * (start-end, rights and p(rivate)/s(hared), file offset, device, inode,
 * the name). Returns the length it needed (it writes at most `size` bytes).
 */
long vm_maps_text(struct proc *p, char *buf, long size)
{
	struct mm *mm = p->pml4 ? mm_of(p->pml4) : NULL;
	struct out o = { buf, size, 0 };

	for (struct vma *v = mm ? mm->vmas : NULL; v; v = v->next) {
		const char *name = v->flags & VMA_HEAP ? "[heap]" : v->flags & VMA_STACK ? "[stack]" : v->name;

		long line = o.len;

		puthex(&o, v->start, 8);
		put(&o, "-");
		puthex(&o, v->end, 8);
		put(&o, " ");
		put(&o, v->prot & PROT_READ ? "r" : "-");
		put(&o, v->prot & PROT_WRITE ? "w" : "-");
		put(&o, v->prot & PROT_EXEC ? "x" : "-");
		put(&o, v->flags & VMA_SHARED ? "s " : "p ");
		puthex(&o, v->flags & (VMA_FILE | VMA_MAPPED) ? v->pgoff * PAGE_SIZE : 0, 8);
		if (v->ip) {
			/* A mapped file: its device (st_dev 1: 00:01), inode and path. */
			static char path[PATH_MAX_K];

			put(&o, " 00:01 ");
			putdec(&o, v->ip->ino);
			if (fs_path(v->ip, path, sizeof(path)) < 0)
				memcpy(path, "?", 2);
			name = path;
		} else {
			put(&o, " 00:00 0");
		}
		if (*name) {
			while (o.len - line < 73) /* Linux's column for the name */
				put(&o, " ");
			put(&o, name);
			if (v->ip && !v->ip->nlink)
				put(&o, " (deleted)");
		}
		put(&o, "\n");
	}
	return o.len;
}

/* --- selftest=mm ------------------------------------------------------------ */

static bool mm_round(struct proc *p, bool print)
{
	static const char want[] =
		"00400000-00402000 r-xp 00000000 00:00 0                                  /prog\n"
		"00402000-00404000 rw-p 00002000 00:00 0                                  /prog\n"
		"00404000-00408000 rw-p 00000000 00:00 0                                  [heap]\n"
		"100000000000-100000004000 rw-p 00000000 00:00 0\n"
		"100000004000-100000008000 r--p 00000000 00:00 0\n"
		"100000008000-10000000a000 rw-p 00000000 00:00 0\n"
		"10000000b000-100000010000 rw-p 00000000 00:00 0\n"
		"100000011000-100000013000 rw-s 00000000 00:00 0                          /dev/zero (deleted)\n"
		"7fffff7ff000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";
	static char text[1024];
	const u64 top = 0x00007FFFFFFFF000ul;
	pte_t *child;
	u64 a, s, x = 7, y = 0, size;
	bool ok = true;
	long n;

	if (!(p->pml4 = vm_create()) ||
	    mm_add_segment(p->pml4, 0x400000, 0x402000, PROT_READ | PROT_EXEC, 0, "/prog") < 0 ||
	    mm_add_segment(p->pml4, 0x402000, 0x404000, PROT_READ | PROT_WRITE, 0x2000, "/prog") < 0 ||
	    mm_add_stack(p->pml4, top, 8ul << 20) < 0)
		return false;
	p->brk_start = p->brk = 0x404000;
	ok &= sys_brk(p, 0x404000 + 3 * PAGE_SIZE + 5) == 0x404000 + 3 * PAGE_SIZE + 5;
	a = (u64)sys_mmap(p, 0, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1ul, 0);
	s = (u64)sys_mmap(p, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			  -1ul, 0);
	ok &= a == MMAP_BASE && s == MMAP_BASE + 17 * PAGE_SIZE;
	size = vm_size_bytes(p);
	ok &= size == (4 + 4 + 16 + 2) * PAGE_SIZE + (8ul << 20);
	/* Nothing is present until touched; the kernel's write faults a page in. */
	ok &= vm_rss_pages(p->pml4) == 0 && copyout(p->pml4, a + 5 * PAGE_SIZE, &x, 8) == 0;
	ok &= vm_rss_pages(p->pml4) == 1 && copyout(p->pml4, s, &x, 8) == 0;
	ok &= sys_mprotect(p, a + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ) == 0;
	ok &= copyout(p->pml4, a + 5 * PAGE_SIZE, &x, 8) < 0;
	ok &= copyin(p->pml4, &y, a + 5 * PAGE_SIZE, 8) == 0 && y == 7;
	ok &= sys_munmap(p, a, 0) == -EINVAL && sys_munmap(p, a + 10 * PAGE_SIZE, PAGE_SIZE) == 0;
	ok &= copyout(p->pml4, 0x3ff000, &x, 8) < 0; /* below every VMA */
	n = vm_maps_text(p, text, sizeof(text) - 1);
	text[n < (long)sizeof(text) - 1 ? n : (long)sizeof(text) - 1] = 0;
	if (n != (long)sizeof(want) - 1 || strncmp(text, want, sizeof(want))) {
		kprintf("selftest mm: /proc maps text is\n%sexpected\n%s", text, want);
		ok = false;
	}
	/* fork: a private page is copied on the child's write, a shared one is not. */
	if (!(child = vm_create()) || vm_copy_user(child, p->pml4) < 0)
		return false;
	x = 9;
	ok &= copyout(child, a + 5 * PAGE_SIZE, &x, 8) < 0; /* still read-only */
	ok &= sys_mprotect(p, a + 4 * PAGE_SIZE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE) == 0;
	ok &= copyout(p->pml4, a + 5 * PAGE_SIZE, &x, 8) == 0 && copyout(child, s, &x, 8) == 0;
	ok &= copyin(child, &y, a + 5 * PAGE_SIZE, 8) == 0 && y == 7; /* the parent's write copied */
	ok &= copyin(p->pml4, &y, s, 8) == 0 && y == 9;               /* shared */
	/* A shared page the child touches first is the parent's too. */
	ok &= copyout(child, s + PAGE_SIZE, &x, 8) == 0;
	ok &= copyin(p->pml4, &y, s + PAGE_SIZE, 8) == 0 && y == 9;
	ok &= vm_size_bytes(p) == size - PAGE_SIZE;
	ok &= sys_munmap(p, a, 16 * PAGE_SIZE) == 0 && vm_size_bytes(p) == size - 16 * PAGE_SIZE;
	vm_free_user(child);
	vm_free_user(p->pml4);
	p->pml4 = NULL;
	if (print)
		kprintf("selftest mm: VMAs %lu KiB, mprotect/munmap cuts, maps text, fork COW and shared: %s\n",
			size / 1024, ok ? "ok" : "FAILED");
	return ok;
}

/* VMAs, demand paging through copyout, mprotect, munmap, fork's COW and
 * shared memory on an address space with no process; every page comes back
 * (counted from the second round: the kernel heap keeps its own pages). */
bool mm_selftest(void)
{
	static struct proc p;
	u64 before;
	bool ok;

	mm_round(&p, false);
	before = pmm_free_pages();
	ok = mm_round(&p, true);
	/* Segments that share a page: that page gets the rights of both. */
	if ((p.pml4 = vm_create())) {
		struct mm *mm;
		struct vma *v;

		ok &= mm_add_segment(p.pml4, 0x400000, 0x402000, PROT_READ, 0, "/x") == 0;
		ok &= mm_add_segment(p.pml4, 0x401000, 0x403000, PROT_READ | PROT_WRITE, 0, "/x") == 0;
		mm = mm_of(p.pml4);
		v = mm ? mm->vmas : NULL;
		ok &= v && v->end == 0x401000 && v->prot == PROT_READ && (v = v->next) &&
		      v->end == 0x402000 && v->prot == (PROT_READ | PROT_WRITE) && (v = v->next) &&
		      v->start == 0x402000 && v->end == 0x403000 && !v->next;
		kprintf("selftest mm: segments sharing a page: %s\n", ok ? "ok" : "FAILED");
		vm_free_user(p.pml4);
		p.pml4 = NULL;
	}
	kprintf("selftest mm: free pages %lu -> %lu: %s\n", before, pmm_free_pages(),
		before == pmm_free_pages() ? "ok" : "FAILED");
	return ok && before == pmm_free_pages();
}
