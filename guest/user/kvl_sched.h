/* guest/user/kvl_sched.h — what sched and sched-nice share: pinning to one CPU, a calibrated "1 ms of
 * CPU work", a start barrier and the shared record area. */
#ifndef KVL_SCHED_H
#define KVL_SCHED_H

#include "kvl.h"
#include <sched.h>
#include <sys/mman.h>

/* Pin this process (and so the children it forks) to the lowest CPU it may run on. */
static inline int kvl_pin_one_cpu(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) < 0)
		kvl_die("sched_getaffinity");
	int cpu = 0;
	while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
		cpu++;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		kvl_die("sched_setaffinity");
	return cpu;
}

static volatile unsigned long kvl_sink;

static inline void kvl_work(unsigned long loops)
{
	for (unsigned long i = 0; i < loops; i++)
		kvl_sink += i; /* volatile: the compiler cannot drop the loop */
}

/* How many kvl_work() loops take 1 ms of CPU here: the fastest of a few measurements of >= 20 ms each
 * (the fastest is the one least disturbed by anything else running). */
static inline unsigned long kvl_loops_per_ms(void)
{
	unsigned long loops = 100000;
	for (;;) { /* grow until one measurement takes >= 20 ms */
		long long t = kvl_now_ns();
		kvl_work(loops);
		t = kvl_now_ns() - t;
		if (t >= 20000000LL)
			break;
		loops *= 2;
	}
	double best = 0;
	for (int i = 0; i < 3; i++) {
		long long t = kvl_now_ns();
		kvl_work(loops);
		t = kvl_now_ns() - t;
		double per_ms = loops / (t / 1e6);
		if (per_ms > best)
			best = per_ms;
	}
	return (unsigned long)best;
}

/* Shared (MAP_SHARED | MAP_ANONYMOUS) memory, so the children's records reach the parent. */
static inline void *kvl_shared(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		kvl_die("mmap shared");
	return p;
}

/* A start line: children block in read() until the parent closes the write end. */
static inline void kvl_barrier_wait(int fds[2])
{
	char c;
	close(fds[1]);
	while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
	}
	close(fds[0]);
}

#endif
