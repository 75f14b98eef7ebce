/*
 * main.c - where C begins: bring the machine up piece by piece, say what we
 * found, run the self-tests the command line asks for, end the VM.
 *
 * Command line words: tick_ms=N (the timer tick, default 4), clock=pit
 * (calibrate the LAPIC timer against the PIT even under KVM), idle=poll, and
 * selftest=NAME[,NAME...] with NAME one of pages, heap, vm, mm, ticks, procs, pf;
 * init=PATH [ARGS]: the first program (default /bin/sh from the initramfs).
 */
#include "kernel.h"
#include "x86.h"

/* The PVH start info (hvm_start_info, version 1) that %ebx pointed at. */
struct hvm_start_info {
	u32 magic; /* 0x336ec578 */
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;
	u32 memmap_entries;
	u32 reserved;
};
struct hvm_memmap_entry {
	u64 addr, size;
	u32 type, reserved;
};
struct hvm_modlist_entry {
	u64 paddr, size, cmdline_paddr, reserved;
};
#define HVM_START_MAGIC 0x336ec578

struct memrange memmap[MAX_MEMMAP];
int nmemmap;
struct module modules[4];
int nmodules;

/*
 * Copy what we need out of the start info while boot.S's direct map of the
 * first GiB still reaches it (kvmlab puts it below 64 KiB), before the page
 * allocator may hand that memory out.
 */
static void read_start_info(u64 pa)
{
	const struct hvm_start_info *si = P2V(pa);

	if (pa >= 0x40000000 || si->magic != HVM_START_MAGIC)
		panic("no PVH start info at 0x%lx (boot me with a PVH loader)", pa);
	if (si->cmdline_paddr) {
		const char *s = P2V(si->cmdline_paddr);
		size_t i;

		for (i = 0; i + 1 < sizeof(cmdline) && s[i]; i++)
			cmdline[i] = s[i];
		cmdline[i] = 0;
	}
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *e = P2V(si->memmap_paddr);

		for (u32 i = 0; i < si->memmap_entries && nmemmap < MAX_MEMMAP; i++, nmemmap++)
			memmap[nmemmap] = (struct memrange){ e[i].addr, e[i].size, e[i].type };
	}
	if (si->nr_modules && si->modlist_paddr) {
		const struct hvm_modlist_entry *m = P2V(si->modlist_paddr);

		for (u32 i = 0; i < si->nr_modules && nmodules < 4; i++, nmodules++)
			modules[nmodules] = (struct module){ m[i].paddr, m[i].size };
	}
	if (!nmemmap)
		panic("the start info has no memory map");
}

static const char *e820_name(u32 type)
{
	static const char *const names[] = { "?", "ram", "reserved", "acpi", "nvs", "unusable" };

	return type < 6 ? names[type] : "?";
}

static void print_memory(void)
{
	u64 usable = pmm_usable_bytes(), nfree = pmm_free_pages();

	for (int i = 0; i < nmemmap; i++)
		kprintf("memmap: %016lx-%016lx %s\n", memmap[i].addr,
			memmap[i].addr + memmap[i].size - 1, e820_name(memmap[i].type));
	for (int i = 0; i < nmodules; i++)
		kprintf("module: %lu bytes at 0x%lx\n", modules[i].size, modules[i].addr);
	kprintf("memory: usable %lu KiB (%lu MiB), free pages %lu (%lu KiB)\n", usable >> 10,
		usable >> 20, nfree, nfree * 4);
}

/* --- self-tests --------------------------------------------------------- */

/* Take every free page, check each is a distinct page we can write, give
 * them all back: the free count must come back to where it was. */
static bool selftest_pages(void)
{
	u64 before = pmm_free_pages(), n = 0;
	void **list = NULL, **p;
	bool ok = true;

	while ((p = kalloc())) {
		p[0] = list; /* chain the pages through themselves */
		p[1] = (void *)V2P(p);
		list = p;
		n++;
	}
	if (n != before || pmm_free_pages() != 0) {
		kprintf("selftest pages: got %lu pages of %lu free\n", n, before);
		ok = false;
	}
	/* The reference count: a page with two references survives one kfree. */
	if (list) {
		u64 pa = V2P(list);

		page_ref_inc(pa);
		kfree(list);
		if (page_ref(pa) != 1 || pmm_free_pages() != 0) {
			kprintf("selftest pages: a page with 2 references was freed by one kfree\n");
			ok = false;
		}
	}
	for (u64 i = 0; list; i++) {
		void **next = list[0];

		if ((u64)list[1] != V2P(list)) {
			kprintf("selftest pages: page 0x%lx was overwritten\n", V2P(list));
			ok = false;
		}
		kfree(list);
		list = next;
	}
	kprintf("selftest pages: allocated %lu pages (%lu MiB), free before %lu after %lu: %s\n", n,
		n >> 8, before, pmm_free_pages(), ok && pmm_free_pages() == before ? "ok" : "FAILED");
	return ok && pmm_free_pages() == before;
}

static bool selftest_heap(void)
{
	void *p[64];
	bool ok = true;

	for (int i = 0; i < 64; i++) {
		size_t n = (size_t)(i * 37 % 2000) + 1;

		p[i] = kmalloc(n);
		if (!p[i])
			return kprintf("selftest heap: kmalloc(%lu) failed\n", n), false;
		memset(p[i], i, n);
	}
	for (int i = 0; i < 64; i++)
		if (*(u8 *)p[i] != (u8)i)
			ok = false;
	for (int i = 0; i < 64; i++)
		kmfree(p[i]);
	if (kmalloc(PAGE_SIZE))
		ok = false; /* too big for the heap */
	kprintf("selftest heap: 64 blocks of 1-2000 bytes: %s\n", ok ? "ok" : "FAILED");
	return ok;
}

/* An address space with a user page: map, walk, unmap, destroy; every page
 * it took comes back. */
static bool selftest_vm(void)
{
	u64 before = pmm_free_pages(), va = 0x400000, pa;
	pte_t *as = vm_create(), *e;
	void *page = kzalloc();
	bool ok;

	if (!as || !page)
		return kprintf("selftest vm: out of memory\n"), false;
	pa = V2P(page);
	ok = vm_map(as, va, pa, PAGE_SIZE, PTE_W | PTE_U | pte_nx) == 0;
	e = vm_walk(as, va, false);
	ok = ok && e && PTE_ADDR(*e) == pa && (*e & PTE_U);
	ok = ok && as[511] == kernel_pml4[511] && !vm_walk(as, va + PAGE_SIZE * 512, false);
	vm_unmap(as, va, PAGE_SIZE, true);
	e = vm_walk(as, va, false);
	ok = ok && e && *e == 0;
	vm_destroy(as);
	ok = ok && pmm_free_pages() == before;
	kprintf("selftest vm: map/walk/unmap in a new address space, free pages %lu -> %lu: %s\n",
		before, pmm_free_pages(), ok ? "ok" : "FAILED");
	return ok;
}

/*
 * Waiting for the next interrupt: hlt puts the CPU to sleep until one comes
 * (a VMM lets the host run something else meanwhile). With idle=poll on the
 * command line the CPU spins instead, like Linux's option of the same name:
 * it wakes up faster, at the price of a busy CPU.
 */
static void idle(void)
{
	static int poll = -1;

	if (poll < 0)
		poll = cmdline_word("idle=", "poll");
	if (poll) {
		sti();
		__asm__ volatile("pause" ::: "memory");
	} else {
		sti_hlt();
	}
}

static bool selftest_ticks(void)
{
	u64 start, t0, t1;

	/* Start at a tick boundary: wait for the next tick to begin. */
	start = ticks;
	while (ticks == start)
		idle();
	start = ticks;
	t0 = rdtsc();
	while (ticks < start + 25)
		idle(); /* the CPU sleeps until the next interrupt */
	t1 = rdtsc();
	kprintf("selftest ticks: 25 ticks of %u ms in %lu TSC cycles (%lu us by the TSC)\n", tick_ms,
		t1 - t0, tsc_hz ? (t1 - t0) * 1000 / (tsc_hz / 1000) : 0);
	return true;
}

/* Three kernel threads that spin with interrupts on for 30 ticks each and
 * note every time the CPU changed hands: the timer must preempt them (each
 * runs more than once), and the scheduler returns when all have ended. */
static volatile int last_runner = -1;
static volatile u64 runs[3];

static void spinner(void *arg)
{
	int me = (int)(u64)arg;
	u64 end = ticks + 30;

	sti();
	while (ticks < end)
		if (last_runner != me) {
			last_runner = me;
			runs[me]++;
		}
	cli();
}

static bool selftest_procs(void)
{
	u64 before = pmm_free_pages();
	bool ok = true;

	for (int i = 0; i < 3; i++) {
		struct proc *p = proc_alloc("spinner");

		if (!p)
			return kprintf("selftest procs: no free proc slot\n"), false;
		proc_kthread(p, spinner, (void *)(u64)i);
	}
	scheduler(); /* returns when the three have exited */
	for (int i = 0; i < 3; i++)
		ok &= runs[i] >= 2;
	ok &= pmm_free_pages() == before;
	kprintf("selftest procs: 3 kernel threads, round robin on the tick: ran %lu, %lu, %lu "
		"slices: %s\n", runs[0], runs[1], runs[2], ok ? "ok" : "FAILED");
	return ok;
}

/*
 * The first user process. init=PATH on the command line names it (default
 * /bin/sh); the words after it that are not key=value become its arguments,
 * as on Linux. It runs until it exits, and its exit status is the VM's.
 */
#define EXIT_NO_INIT 4
static char init_args[CMDLINE_MAX];

static void start_init(void)
{
	char *argv[32];
	int argc = 0, r;
	const char *v = cmdline_get("init=");
	char *d = init_args;
	struct proc *p;

	/* Copy the words: init's path first, then every later word without '='. */
	for (const char *s = v ? v : "/bin/sh"; *s && *s != ' ';)
		*d++ = *s++;
	*d++ = 0;
	argv[argc++] = init_args;
	if (v) {
		const char *s = v;

		while (*s && *s != ' ')
			s++;
		while (*s && argc < 31) {
			const char *w;
			bool kv = false, q = false;

			while (*s == ' ')
				s++;
			if (!*s)
				break;
			/* "..." keeps blanks and '=' in one argument, as on Linux; the quotes go. */
			for (w = s; *s && (q || *s != ' '); s++) {
				q ^= *s == '"';
				kv |= *s == '=' && !q;
			}
			if (kv)
				continue;
			argv[argc++] = d;
			for (; w < s; w++)
				if (*w != '"')
					*d++ = *w;
			*d++ = 0;
		}
	}
	argv[argc] = NULL;
	if (!(p = proc_alloc(argv[0])))
		panic("no proc for init");
	file_init(p); /* the filesystem, cwd /, /dev/console as fds 0, 1, 2 */
	if ((r = exec(p, argv[0], argc, argv, 0, NULL)) < 0) {
		kprintf("kernel: cannot run init %s: %s (error %d)%s; ending the VM with status %d\n",
			argv[0], r == -2 ? "no such file in the initramfs" : "not a static ELF64 program",
			-r, nmodules ? "" : " (no initramfs: kvmlab run --initrd FILE)", EXIT_NO_INIT);
		kexit(EXIT_NO_INIT);
	}
	initproc = p;
	p->state = RUNNABLE;
	kprintf("kernel: starting init: %s (pid %d, %d args)\n", argv[0], p->pid, argc);
	scheduler();
	panic("the scheduler returned with init alive");
}

static void selftest_pf(void)
{
	volatile u64 *bad = (volatile u64 *)0xdead000;

	kprintf("selftest pf: reading unmapped address %p, an oops must follow\n", (void *)bad);
	(void)*bad;
	kprintf("selftest pf: FAILED, the read did not fault\n");
	kexit(EXIT_SELFTEST_FAILED);
}

void kmain(u64 start_info_pa)
{
	u64 tick;
	bool ok = true;

	console_init();
	gdt_init();  /* our GDT and TSS (boot.S's GDT is in memory we unmap) */
	trap_init(); /* from here on, a fault gives an oops, not a triple fault */
	syscall_init();
	read_start_info(start_info_pa);
	kprintf("%s %s (x86_64, long mode, higher half at %p)\n", KERNEL_NAME, KERNEL_VERSION,
		(void *)KERNEL_BASE);
	kprintf("cmdline: %s\n", cmdline);

	cpu_features();
	pmm_early_init();
	vm_init();
	pmm_init();
	print_memory();
	kprintf("cpu: nx %s, smep %s, smap %s\n", cpu_has_nx ? "on" : "absent",
		cpu_has_smep ? "on" : "absent", cpu_has_smap ? "on" : "absent");

	lapic_init();
	tick = cmdline_num("tick_ms=", 4);
	if (tick < 1 || tick > 1000)
		tick = 4;
	lapic_timer_start((u32)tick);
	kprintf("lapic: timer %lu Hz (bus / 16), tsc %lu kHz (by %s), tick %u ms\n", lapic_hz,
		tsc_hz / 1000, lapic_calibrated_by, tick_ms);
	ioapic_init(); /* console input: COM1's receive interrupt */
	sti();

	if (cmdline_word("selftest=", "pages"))
		ok &= selftest_pages();
	if (cmdline_word("selftest=", "heap"))
		ok &= selftest_heap();
	if (cmdline_word("selftest=", "vm"))
		ok &= selftest_vm();
	if (cmdline_word("selftest=", "mm"))
		ok &= mm_selftest();
	if (cmdline_word("selftest=", "ticks"))
		ok &= selftest_ticks();
	if (cmdline_word("selftest=", "procs"))
		ok &= selftest_procs();
	if (cmdline_word("selftest=", "pf"))
		selftest_pf();
	/* Self-tests alone end the VM; otherwise (or with init= too) run init. */
	if (ok && (!cmdline_get("selftest=") || cmdline_get("init=")))
		start_init();

	kprintf("kernel: %s, %lu ticks, ending the VM with status %d\n",
		ok ? "self-tests passed" : "a self-test FAILED", ticks,
		ok ? EXIT_OK : EXIT_SELFTEST_FAILED);
	kexit(ok ? EXIT_OK : EXIT_SELFTEST_FAILED);
}
