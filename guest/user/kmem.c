/* kmem: the teaching kernel's virtual memory, measured from user mode
 * (tests/integration/t_kernel_mm.sh asserts on the numbers it prints).
 *
 * Every measurement is a "name=value" word on a line; the test, not this
 * program, decides what is right. Memory is measured two ways:
 *  - free_kib: sysinfo's freeram, the kernel's count of free page frames:
 *    every frame the kernel gives (a page, a page table) lowers it;
 *  - rss_kib: getrusage's ru_maxrss, the largest resident set so far. It
 *    never goes down, so its growth over a step is an upper bound of how
 *    much the resident set grew in it (the kernel counts the present pages
 *    of the page tables when asked).
 * minflt is getrusage's ru_minflt: page faults served from memory.
 * Not one of the book's experiments (those are on the host too). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIB 1024L
#define MIB (1024L * 1024L)
#define PAGE 4096L

static long free_kib(void)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return -1;
	return (long)(si.freeram * si.mem_unit / KIB);
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static long rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void *map(long len, int prot, int flags)
{
	void *p = mmap(NULL, (size_t)len, prot, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		printf("mmap(%ld): errno %d\n", len, errno);
		exit(1);
	}
	return p;
}

static void touch(char *p, long len, char v)
{
	for (long off = 0; off < len; off += PAGE)
		p[off] = v;
}

/* Run fn in a child; return its wait status. */
static int in_child(void (*fn)(void))
{
	int st = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		printf("fork/waitpid failed: errno %d\n", errno);
	return st;
}

static void report(const char *what, int st)
{
	if (WIFSIGNALED(st))
		printf("%s: signal=%d\n", what, WTERMSIG(st));
	else
		printf("%s: exit=%d\n", what, WEXITSTATUS(st));
}

/* --- 100 MiB: demand paging, then copy-on-write after fork ------------- */

static char *big;
static long big_len = 100 * MIB;

static void cow_child(void)
{
	long f0 = free_kib(), m0 = minflt();

	touch(big, big_len, 2);
	printf("cow child: used_kib=%ld minflt=%ld\n", f0 - free_kib(), minflt() - m0);
}

static void demand_and_cow(void)
{
	long f0 = free_kib(), r0 = rss_kib(), m0 = minflt(), f1;
	int st;

	big = map(big_len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	printf("mmap 100 MiB: rss_kib=%ld used_kib=%ld minflt=%ld\n", rss_kib() - r0,
	       f0 - free_kib(), minflt() - m0);
	touch(big, big_len, 1);
	printf("touched 100 MiB: rss_kib=%ld used_kib=%ld minflt=%ld\n", rss_kib() - r0,
	       f0 - free_kib(), minflt() - m0);

	/* fork: the child's first line says what fork cost (the page tables
	 * and a few pages the two wrote before it measured); its second what
	 * its writes cost. */
	f1 = free_kib();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		printf("after fork: used_kib=%ld\n", f1 - free_kib());
		cow_child();
		fflush(stdout);
		_exit(big[0] == 2 && big[big_len - PAGE] == 2 ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	printf("parent after the child wrote: sees=%d exit=%d\n", big[PAGE * 7], WEXITSTATUS(st));
	munmap(big, (size_t)big_len);
	printf("munmap 100 MiB: freed_kib=%ld\n", free_kib() - f1);
}

/* --- MAP_SHARED vs MAP_PRIVATE across fork ------------------------------ */

static char *sh, *pr;

static void share_child(void)
{
	sh[0] = 42;       /* touched by the parent before fork */
	sh[PAGE] = 43;    /* never touched before: the child faults it in first */
	pr[0] = 42;
	pr[PAGE] = 43;
}

static void shared_private(void)
{
	int st;

	sh = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	pr = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	sh[0] = 1, pr[0] = 1;
	st = in_child(share_child);
	printf("shared: parent_sees=%d,%d private: parent_sees=%d,%d (child %s)\n", sh[0], sh[PAGE],
	       pr[0], pr[PAGE], st == 0 ? "ok" : "failed");
}

/* --- SIGSEGV: outside every VMA, against its rights ---------------------- */

static void munmap_child(void)
{
	char *p = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);

	p[0] = 1;
	munmap(p, 2 * PAGE);
	printf("munmap child: touching the unmapped page\n");
	fflush(stdout);
	p[0] = 2;
}

static void mprotect_child(void)
{
	char *p = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	int r;

	p[0] = 1;
	r = mprotect(p, PAGE, PROT_READ);
	printf("mprotect child: mprotect=%d read=%d, writing\n", r, p[0]);
	p[PAGE] = 5; /* the second page stays writable */
	fflush(stdout);
	p[0] = 2;
}

static void protnone_child(void)
{
	volatile char *p = map(PAGE, PROT_NONE, MAP_PRIVATE);

	printf("prot_none child: reading\n");
	fflush(stdout);
	(void)p[0];
}

/* --- the kernel writing into user pages --------------------------------- */

static char *kw;

static void kwrite_child(void)
{
	long m0 = minflt();
	/* uname's result goes into a copy-on-write page (the parent wrote it). */
	int r = uname((struct utsname *)kw);

	printf("kwrite child: uname=%d sysname=%s minflt=%ld\n", r, kw, minflt() - m0);
}

static void kernel_writes(void)
{
	long m0, m1;
	struct timespec *ts;
	int r;

	kw = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	ts = (struct timespec *)(kw + PAGE);
	m0 = minflt();
	r = clock_gettime(CLOCK_MONOTONIC, ts); /* into a page not touched yet */
	m1 = minflt();
	printf("kwrite fresh: clock_gettime=%d minflt=%ld sec_nonzero=%d\n", r, m1 - m0,
	       ts->tv_sec > 0 || ts->tv_nsec > 0);
	strcpy(kw, "parent");
	in_child(kwrite_child);
	printf("kwrite parent: sees=%s\n", kw);
	munmap(kw, 2 * PAGE);
}

/* --- MAP_POPULATE, madvise, brk, mprotect back ---------------------------- */

static void populate_madvise_brk(void)
{
	long m0 = minflt(), f0 = free_kib(), m1;
	char *p = map(MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE);

	m1 = minflt();
	touch(p, MIB, 3);
	printf("populate 1 MiB: minflt=%ld used_kib=%ld then_touch_minflt=%ld\n", m1 - m0,
	       f0 - free_kib(), minflt() - m1);
	f0 = free_kib();
	int r = madvise(p, MIB, MADV_DONTNEED);
	long freed = free_kib() - f0;
	printf("madvise: r=%d freed_kib=%ld reads=%d\n", r, freed, p[PAGE * 5]);
	munmap(p, MIB);

	/* brk: musl's sbrk() refuses to move it, so the raw system call. */
	long cur = syscall(SYS_brk, 0), m2 = minflt(), f2 = free_kib();
	long nb = syscall(SYS_brk, cur + 10 * MIB);
	long used = f2 - free_kib();
	touch((char *)cur, 10 * MIB, 4);
	printf("brk +10 MiB: moved=%d used_kib=%ld minflt=%ld\n", nb == cur + 10 * MIB, used,
	       minflt() - m2);
	f2 = free_kib();
	nb = syscall(SYS_brk, cur);
	printf("brk back: r=%d freed_kib=%ld\n", nb == cur, free_kib() - f2);

	/* mprotect read-only, then writable again: the write works. */
	char *q = map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	q[0] = 1;
	int a = mprotect(q, PAGE, PROT_READ), b = mprotect(q, PAGE, PROT_READ | PROT_WRITE);
	q[0] = 9;
	printf("mprotect back: r=%d,%d value=%d\n", a, b, q[0]);
	/* Argument checks. */
	errno = 0;
	void *bad = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 0, 0);
	printf("mmap file: failed=%d errno=%d\n", bad == MAP_FAILED, errno);
	r = munmap(q + 1, PAGE);
	printf("munmap unaligned: r=%d errno=%d\n", r, errno);
	r = mprotect((void *)0x10000, PAGE, PROT_READ);
	printf("mprotect unmapped: r=%d errno=%d\n", r, errno);
	void *fx = mmap((void *)0x200000000000, 3 * PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	printf("map_fixed: at=%d\n", fx == (void *)0x200000000000);
	/* A hint is taken when that range is free, and not when it is not. */
	void *h1 = mmap((void *)0x500000000000, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *h2 = mmap((void *)0x500000000000, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("hint: free_taken=%d busy_elsewhere=%d\n", h1 == (void *)0x500000000000,
	       h2 != MAP_FAILED && h2 != h1);
}

/* --- garbage arguments ---------------------------------------------------- */

static unsigned long lcg = 1;

static unsigned long rnd(void)
{
	lcg = lcg * 6364136223846793005ul + 1442695040888963407ul;
	return lcg >> 17;
}

/* An address: mostly pages of a 64 MiB window (where the child may make a
 * mess without hitting its own program or stack), sometimes garbage. */
static unsigned long rnd_addr(void)
{
	static const unsigned long odd[] = { 0, 1, 0xfff, 0x7ffffffff000ul, 0x800000000000ul,
					     0xffff800000000000ul, ~0ul, 0x300000000001ul };

	if (rnd() % 8 == 0)
		return odd[rnd() % 8];
	return 0x300000000000ul + (rnd() % (64 * MIB / PAGE)) * PAGE;
}

static unsigned long rnd_len(void)
{
	static const unsigned long odd[] = { 0, 1, ~0ul, 1ul << 47, 0x7fffffffffffffff, PAGE - 1 };

	if (rnd() % 8 == 0)
		return odd[rnd() % 6];
	return (rnd() % 64 + 1) * PAGE;
}

/* 3000 calls of mmap (MAP_FIXED only in the window), munmap, mprotect,
 * madvise, brk and a kernel write (clock_gettime) at random addresses: the
 * kernel must neither fault nor leak. */
static void garbage_child(void)
{
	long ok = 0, err = 0;

	lcg = 12345;
	for (int i = 0; i < 3000; i++) {
		unsigned long a = rnd_addr(), l = rnd_len(), prot = rnd() % 9, r;

		if (a < 0x300000000000ul && l > 64 * PAGE)
			l = PAGE; /* munmap(0, 1 << 47) would end the child for real */

		switch (rnd() % 6) {
		case 0: {
			unsigned long fl = (rnd() % 2 ? MAP_PRIVATE : MAP_SHARED) | MAP_ANONYMOUS;

			if (a >= 0x300000000000ul && a < 0x300004000000ul && rnd() % 2)
				fl |= MAP_FIXED;
			if (rnd() % 4 == 0)
				fl |= MAP_POPULATE;
			if (rnd() % 16 == 0)
				fl = rnd(); /* anything */
			if ((fl & MAP_FIXED) && (a < 0x300000000000ul || a >= 0x300004000000ul))
				fl &= ~(unsigned long)MAP_FIXED;
			if (fl & (MAP_FIXED_NOREPLACE | 0x100000))
				fl &= ~(unsigned long)(MAP_FIXED_NOREPLACE | 0x100000);
			if (l > 64 * PAGE && (fl & MAP_POPULATE))
				l = 64 * PAGE;
			r = syscall(SYS_mmap, a, l, prot, fl, -1, 0);
			break;
		}
		case 1:
			r = syscall(SYS_munmap, a, l);
			break;
		case 2:
			r = syscall(SYS_mprotect, a, l, prot);
			break;
		case 3:
			r = syscall(SYS_madvise, a, l, rnd() % 12);
			break;
		case 4:
			r = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, a + rnd() % PAGE);
			break;
		default:
			r = syscall(SYS_brk, rnd() % 4 ? 0 : a);
			break;
		}
		if ((long)r < 0 && (long)r > -4096)
			err++;
		else
			ok++;
	}
	printf("garbage child: calls_ok=%ld calls_failed=%ld\n", ok, err);
}

/* --- out of memory -------------------------------------------------------- */

static void oom_child(void)
{
	long len = 4096 * MIB;
	char *p = map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE);

	printf("oom child: touching 4 GiB\n");
	fflush(stdout);
	touch(p, len, 1);
	printf("oom child: still alive\n");
}

static void small_child(void)
{
	char *p = map(MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE);

	touch(p, MIB, 1);
}

/* Out of memory inside a system call: MAP_POPULATE of more than there is
 * is -ENOMEM, and the process goes on. */
static void populate_child(void)
{
	void *p = mmap(NULL, 4096 * MIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	printf("populate 4 GiB: failed=%d errno=%d\n", p == MAP_FAILED, errno);
}

static void oom(void)
{
	long f0, f1;
	int st;

	f0 = free_kib();
	report("populate child", in_child(populate_child));
	printf("populate 4 GiB: memory free_before_kib=%ld free_after_kib=%ld\n", f0, free_kib());

	in_child(small_child); /* the kernel heap's blocks for a child exist now */
	f0 = free_kib();
	st = in_child(oom_child);
	f1 = free_kib();
	report("oom child", st);
	printf("oom: free_before_kib=%ld free_after_kib=%ld\n", f0, f1);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "all";
	int all = !strcmp(only, "all");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (all || !strcmp(only, "demand"))
		demand_and_cow();
	if (all || !strcmp(only, "share"))
		shared_private();
	if (all || !strcmp(only, "segv")) {
		report("munmap child", in_child(munmap_child));
		report("mprotect child", in_child(mprotect_child));
		report("prot_none child", in_child(protnone_child));
	}
	if (all || !strcmp(only, "kwrite"))
		kernel_writes();
	if (all || !strcmp(only, "misc"))
		populate_madvise_brk();
	if (all || !strcmp(only, "garbage")) {
		/* The same calls twice: the first grows the kernel heap to what
		 * they need (its pages stay with it), the second must give back
		 * every frame it took. */
		in_child(garbage_child);
		long f0 = free_kib();
		report("garbage child", in_child(garbage_child));
		printf("garbage: free_before_kib=%ld free_after_kib=%ld\n", f0, free_kib());
	}
	if (all || !strcmp(only, "oom"))
		oom();
	printf("kmem: done\n");
	return 0;
}
