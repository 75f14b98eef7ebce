/* cow — copy on write (book ch. 4). The parent writes MIB MiB, then forks: the child shares the parent's
 * pages, so the system's used memory hardly grows. When the child writes to every page, each first write
 * is a page fault that copies the page: the child's minor faults and the used memory grow by about MIB.
 * Linux updates the counters behind /proc/meminfo lazily (per-CPU deltas folded about once a second,
 * vm.stat_interval), so each sample first waits SETTLE_MS.
 * Usage: cow [MIB [SETTLE_MS]]   (default 100 MiB, 1000 ms)
 * Rows: @cow  phase  who  used_kib  minflt  rss_kib  private_kib  shared_kib
 *   phase: before-fork (parent, after writing its memory), after-fork (child, before writing),
 *          after-write (child, after writing every page), after-exit (parent, child reaped);
 *   used: MemTotal - MemAvailable of /proc/meminfo; minflt and RSS: of the process named in `who`;
 *   private/shared: its resident pages mapped by it alone / by other processes too, from
 *   /proc/self/smaps_rollup (-1 where the kernel has no such file): a per-process view that, unlike the
 *   used memory, other programs running on the machine cannot disturb.
 * Markers for kvmlab (kvl_mark): "write" (the parent writes its memory), "fork", "child-write" (the
 * child's copies), "exit" (the parent, child reaped). */
#include "kvl.h"
#include <sys/mman.h>
#include <sys/wait.h>

static long settle_ms = 1000;

/* Private_* and Shared_* of /proc/self/smaps_rollup, in KiB; -1 if it cannot be read. */
static void private_shared(long *priv, long *shared)
{
	static char buf[4096];
	*priv = *shared = -1;
	if (kvl_read_file("/proc/self/smaps_rollup", buf, sizeof buf) <= 0)
		return;
	*priv = *shared = 0;
	for (char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : 0) {
		long v;
		char kind[16];
		if (sscanf(line, "Private_%15[^:]: %ld", kind, &v) == 2)
			*priv += v;
		else if (sscanf(line, "Shared_%15[^:]: %ld", kind, &v) == 2 && strcmp(kind, "Hugetlb") != 0)
			*shared += v;
	}
}

static void sample(const char *phase, const char *who)
{
	kvl_sleep_ms(settle_ms);
	long vsz, rss, priv, shared, used = kvl_used_kib(), flt = kvl_minflt();
	if (kvl_vsz_rss(&vsz, &rss) < 0)
		kvl_die("/proc/self/statm");
	private_shared(&priv, &shared);
	printf("%-11s %-6s used memory %8ld KiB, minor faults %6ld, RSS %7ld KiB (private %7ld, shared %7ld)\n",
	       phase, who, used, flt, rss, priv, shared);
	kvl_row("cow", "%s\t%s\t%ld\t%ld\t%ld\t%ld\t%ld", phase, who, used, flt, rss, priv, shared);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *usage = "cow [MIB [SETTLE_MS]]";
	long mib = argc > 1 ? kvl_arg(argv[1], usage) : 100;
	if (argc > 2)
		settle_ms = strcmp(argv[2], "0") == 0 ? 0 : kvl_arg(argv[2], usage);
	long page = sysconf(_SC_PAGESIZE), size = mib * MiB;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		kvl_die("mmap");
	madvise(p, size, MADV_NOHUGEPAGE); /* 4 KiB pages, as in demand-paging.c */
	kvl_mark("write");
	memset(p, 1, size);

	kvl_row("cow", "#phase\twho\tused_kib\tminflt\trss_kib\tprivate_kib\tshared_kib");
	sample("before-fork", "parent");
	kvl_mark("fork");
	pid_t pid = fork();
	if (pid < 0)
		kvl_die("fork");
	if (pid == 0) {
		sample("after-fork", "child");
		kvl_mark("child-write");
		for (long off = 0; off < size; off += page)
			p[off] = 2;
		sample("after-write", "child");
		_exit(0);
	}
	if (waitpid(pid, NULL, 0) < 0)
		kvl_die("waitpid");
	kvl_mark("exit");
	sample("after-exit", "parent");
	return 0;
}
