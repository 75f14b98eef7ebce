/* cache — memory access time against the amount of memory used (book ch. 8). For each buffer size from
 * 4 KiB up to MAX KiB (doubling), we walk the buffer's 64-byte cache lines in a fixed pseudo-random cyclic
 * order (each line holds the index of the next, so the CPU cannot run ahead or prefetch) and time N
 * million steps. While the buffer fits a cache level, steps are fast; past each level's size they slow
 * down: the curve climbs in stairs (L1, L2, L3, RAM).
 * Usage: cache [MAX_KIB [MILLION_ACCESSES]]   (default 65536 KiB = 64 MiB, 4 million per size)
 * Rows: @cache  size_kib  ns_per_access  accesses_per_ns */
#include "kvl.h"
#include <stdint.h>
#include <sys/mman.h>

#define LINE 64

int main(int argc, char **argv)
{
	const char *usage = "cache [MAX_KIB [MILLION_ACCESSES]]";
	long max_kib = argc > 1 ? kvl_arg(argv[1], usage) : 65536;
	long n = (argc > 2 ? kvl_arg(argv[2], usage) : 4) * 1000000L;
	if (max_kib < 4)
		max_kib = 4;
	size_t max = (size_t)max_kib * KiB;
	char *buf = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *order = mmap(NULL, max / LINE * sizeof(uint32_t), PROT_READ | PROT_WRITE,
	                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || order == MAP_FAILED)
		kvl_die("mmap");

	kvl_row("cache", "#size_kib\tns_per_access\taccesses_per_ns");
	uint64_t seed = 88172645463325252ULL; /* xorshift64: the same order on every run */
	for (size_t size = 4 * KiB; size <= max; size *= 2) {
		size_t lines = size / LINE;
		for (size_t i = 0; i < lines; i++)
			order[i] = (uint32_t)i;
		for (size_t i = lines - 1; i > 0; i--) { /* Fisher-Yates shuffle */
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			size_t j = seed % (i + 1);
			uint32_t t = order[i];
			order[i] = order[j], order[j] = t;
		}
		for (size_t i = 0; i < lines; i++) /* one cycle through all lines, in that order */
			*(uint32_t *)(buf + (size_t)order[i] * LINE) = order[(i + 1) % lines];
		uint32_t at = order[0];
		for (size_t i = 0; i < lines; i++) /* warm up: bring the buffer into the caches it fits */
			at = *(volatile uint32_t *)(buf + (size_t)at * LINE);
		long long t = kvl_now_ns();
		for (long i = 0; i < n; i++)
			at = *(volatile uint32_t *)(buf + (size_t)at * LINE);
		t = kvl_now_ns() - t;
		double ns = (double)t / n;
		printf("%8zu KiB: %7.3f ns per access, %6.3f accesses per ns\n", size / KiB, ns, 1 / ns);
		kvl_row("cache", "%zu\t%.4f\t%.4f", size / KiB, ns, 1 / ns);
		fflush(stdout);
	}
	return 0;
}
