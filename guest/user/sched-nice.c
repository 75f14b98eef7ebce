/* sched-nice — nice values share the CPU unequally (book ch. 3). Two CPU-bound processes pinned to one
 * CPU run for the same MS milliseconds of wall time, one at nice 0 and one at nice +5; each counts the
 * 1 ms units of work it gets done. Linux's CFS weighs nice 0 and nice 5 as 1024 : 335, so the nice-5
 * process gets about a quarter of the CPU.
 * Usage: sched-nice [MS]   (default 1000)
 * Rows: @sched-nice  nice  pid  ms  units        (progress, one per unit of work)
 *       @sched-nice-total  nice  pid  units  cpu_ms  share */
#include "kvl_sched.h"
#include <sys/wait.h>

struct rec {
	float ms;
	int units;
};

int main(int argc, char **argv)
{
	long dur = argc > 1 ? kvl_arg(argv[1], "sched-nice [MS]") : 1000;
	int cpu = kvl_pin_one_cpu();
	unsigned long lpm = kvl_loops_per_ms();
	printf("2 processes on CPU %d for %ld ms, at nice 0 and nice +5 (%lu loops per ms)\n", cpu, dur, lpm);

	long max = 4 * dur + 16; /* units done can exceed the ms if the calibration was pessimistic */
	struct rec *recs = kvl_shared(sizeof(struct rec) * 2 * max);
	long *units = kvl_shared(2 * sizeof(long));
	long long *start = kvl_shared(sizeof *start);
	int bar[2];
	if (pipe(bar) < 0)
		kvl_die("pipe");
	const int nices[2] = {0, 5};
	pid_t pids[2];
	fflush(stdout);
	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		if (pids[c] < 0)
			kvl_die("fork");
		if (pids[c] == 0) {
			if (nices[c]) {
				errno = 0;
				int base = getpriority(PRIO_PROCESS, 0);
				if (errno || setpriority(PRIO_PROCESS, 0, base + nices[c]) < 0)
					kvl_die("setpriority");
			}
			kvl_barrier_wait(bar);
			struct rec *r = recs + c * max;
			long u = 0;
			for (;;) {
				kvl_work(lpm);
				double ms = (kvl_now_ns() - *start) / 1e6;
				if (u < max)
					r[u] = (struct rec){(float)ms, (int)(u + 1)};
				u++;
				if (ms >= dur)
					break;
			}
			units[c] = u;
			_exit(0);
		}
	}
	close(bar[0]);
	*start = kvl_now_ns();
	close(bar[1]);
	struct rusage ru[2];
	for (int c = 0; c < 2; c++)
		if (wait4(pids[c], NULL, 0, &ru[c]) < 0)
			kvl_die("wait4");

	kvl_row("sched-nice", "#nice\tpid\tms\tunits");
	for (int c = 0; c < 2; c++)
		for (long i = 0; i < units[c] && i < max; i++)
			kvl_row("sched-nice", "%d\t%d\t%.3f\t%d", nices[c], pids[c], recs[c * max + i].ms,
			        recs[c * max + i].units);
	kvl_row("sched-nice-total", "#nice\tpid\tunits\tcpu_ms\tshare");
	long sum = units[0] + units[1];
	for (int c = 0; c < 2; c++) {
		double cpu_ms = ru[c].ru_utime.tv_sec * 1e3 + ru[c].ru_utime.tv_usec / 1e3 +
		                ru[c].ru_stime.tv_sec * 1e3 + ru[c].ru_stime.tv_usec / 1e3;
		double share = sum ? (double)units[c] / sum : 0;
		printf("nice %d (pid %d): %ld ms of work done, %.0f ms of CPU, %.0f%% of the work\n", nices[c], pids[c],
		       units[c], cpu_ms, 100 * share);
		kvl_row("sched-nice-total", "%d\t%d\t%ld\t%.1f\t%.3f", nices[c], pids[c], units[c], cpu_ms, share);
	}
	return 0;
}
