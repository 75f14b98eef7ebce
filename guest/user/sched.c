/* sched — N CPU-bound processes share one CPU (book ch. 3). All are pinned to the same CPU; each does
 * MS milliseconds' worth of CPU work in 1 ms units and records, after every unit, the time since the
 * common start and its progress. With N > 1 the scheduler runs them in turns (time slices): each one's
 * progress advances in steps, and all finish at about N x MS.
 * Usage: sched N [MS]   (default MS 100)
 * Rows: @sched  child  pid  ms  percent         (one per unit of work)
 *       @sched-end  child  pid  end_ms           (when each finished)
 *       @sched-total  n  budget_ms  elapsed_ms  loops_per_ms
 * Markers for kvmlab (kvl_mark): "fork" (making the children), "run" (they start working), "done". */
#include "kvl_sched.h"
#include <sys/wait.h>

struct rec {
	float ms;
	int pct;
};

int main(int argc, char **argv)
{
	const char *usage = "sched N [MS]";
	if (argc < 2)
		kvl_arg("", usage);
	long n = kvl_arg(argv[1], usage), budget = argc > 2 ? kvl_arg(argv[2], usage) : 100;
	if (n > 64) {
		fprintf(stderr, "sched: at most 64 processes\n");
		return 2;
	}
	int cpu = kvl_pin_one_cpu();
	unsigned long lpm = kvl_loops_per_ms();
	printf("%ld process(es) on CPU %d, each %ld ms of work (%lu loops per ms)\n", n, cpu, budget, lpm);

	struct rec *recs = kvl_shared(sizeof(struct rec) * n * budget);
	long long *start = kvl_shared(sizeof *start);
	int bar[2];
	if (pipe(bar) < 0)
		kvl_die("pipe");
	pid_t pids[64];
	fflush(stdout);
	kvl_mark("fork");
	for (long c = 0; c < n; c++) {
		pids[c] = fork();
		if (pids[c] < 0)
			kvl_die("fork");
		if (pids[c] == 0) {
			kvl_barrier_wait(bar);
			struct rec *r = recs + c * budget;
			for (long i = 0; i < budget; i++) {
				kvl_work(lpm);
				r[i].ms = (kvl_now_ns() - *start) / 1e6;
				r[i].pct = (int)((i + 1) * 100 / budget);
			}
			_exit(0);
		}
	}
	close(bar[0]);
	kvl_mark("run");
	*start = kvl_now_ns();
	close(bar[1]); /* go */
	for (long c = 0; c < n; c++)
		if (waitpid(pids[c], NULL, 0) < 0)
			kvl_die("waitpid");
	double elapsed = (kvl_now_ns() - *start) / 1e6;
	kvl_mark("done");

	kvl_row("sched", "#child\tpid\tms\tpercent");
	for (long c = 0; c < n; c++)
		for (long i = 0; i < budget; i++)
			kvl_row("sched", "%ld\t%d\t%.3f\t%d", c, pids[c], recs[c * budget + i].ms, recs[c * budget + i].pct);
	kvl_row("sched-end", "#child\tpid\tend_ms");
	for (long c = 0; c < n; c++) {
		double end = recs[c * budget + budget - 1].ms;
		printf("child %ld (pid %d) finished %ld ms of work after %.1f ms\n", c, pids[c], budget, end);
		kvl_row("sched-end", "%ld\t%d\t%.3f", c, pids[c], end);
	}
	printf("all done after %.1f ms (%.2f x one process's work)\n", elapsed, elapsed / budget);
	kvl_row("sched-total", "#n\tbudget_ms\telapsed_ms\tloops_per_ms");
	kvl_row("sched-total", "%ld\t%ld\t%.3f\t%lu", n, budget, elapsed, lpm);
	return 0;
}
