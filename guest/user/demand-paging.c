/* demand-paging — memory is given on first touch, not at mmap() (book ch. 4). We map MIB MiB of
 * anonymous private memory: the virtual size (VSZ) grows at once, the resident set (RSS) does not. Then
 * we write one byte in each 4 KiB page: every first touch is a page fault (minflt) that gives the page a
 * frame, and RSS grows with it. Sampled every STEP MiB.
 * Usage: demand-paging [MIB [STEP]]   (default 100 MiB, step 10 MiB)
 * Rows: @demand-paging  phase  touched_kib  vsz_kib  rss_kib  minflt  ms
 *   phase: before (no mapping), mapped (right after mmap), touch (while touching), done
 * Markers for kvmlab (kvl_mark): "mmap" before the mmap, "touch" before touching and at every step,
 * "done" when every page was touched, "munmap" before giving the memory back. */
#include "kvl.h"
#include <sys/mman.h>

static long long t0;

static void sample(const char *phase, long touched_kib)
{
	long vsz, rss, flt = kvl_minflt();
	if (kvl_vsz_rss(&vsz, &rss) < 0)
		kvl_die("/proc/self/statm");
	double ms = (kvl_now_ns() - t0) / 1e6;
	printf("%-7s touched %6ld KiB: VSZ %7ld KiB, RSS %7ld KiB, minor faults %6ld\n", phase, touched_kib, vsz, rss,
	       flt);
	kvl_row("demand-paging", "%s\t%ld\t%ld\t%ld\t%ld\t%.3f", phase, touched_kib, vsz, rss, flt, ms);
}

int main(int argc, char **argv)
{
	const char *usage = "demand-paging [MIB [STEP]]";
	long mib = argc > 1 ? kvl_arg(argv[1], usage) : 100, step = argc > 2 ? kvl_arg(argv[2], usage) : 10;
	long page = sysconf(_SC_PAGESIZE), size = mib * MiB;

	t0 = kvl_now_ns();
	kvl_row("demand-paging", "#phase\ttouched_kib\tvsz_kib\trss_kib\tminflt\tms");
	sample("before", 0);
	kvl_mark("mmap");
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		kvl_die("mmap");
	/* Linux may back this with 2 MiB huge pages (one fault per 2 MiB): ask for 4 KiB pages, as the
	 * book's counts assume. A kernel without madvise() (-ENOSYS) has no huge pages anyway. */
	madvise(p, size, MADV_NOHUGEPAGE);
	sample("mapped", 0);
	kvl_mark("touch");
	for (long off = 0; off < size; off += page) {
		p[off] = 1;
		if ((off + page) % (step * MiB) == 0 && off + page < size) {
			sample("touch", (off + page) / KiB);
			kvl_mark("touch");
		}
	}
	kvl_mark("done");
	sample("done", size / KiB);
	kvl_mark("munmap");
	if (munmap(p, size) < 0)
		kvl_die("munmap");
	return 0;
}
