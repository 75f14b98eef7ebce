/* schedtest — the teaching kernel's scheduler, checked from user mode (not a book experiment: the
 * integration test t_kernel_sched.sh runs it; it runs on Linux too). Unlike the sched and sched-nice
 * experiments it needs no pipe and no shared memory: the children start together by sleeping until one
 * absolute time (clock_nanosleep TIMER_ABSTIME), report what they saw on stdout themselves, and the
 * parent reads their CPU time and context switches from wait4's rusage.
 * Usage: schedtest [PART...]   parts: api sleep alone sched1 sched2 sched3 nice forkmax (default all)
 * Each part prints "PART: ..." lines with its numbers; the test script judges them. */
#include "kvl_sched.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>

static unsigned long lpm; /* kvl_work loops per ms of CPU */

static double ms_since(long long t0) { return (kvl_now_ns() - t0) / 1e6; }
static double tv_ms(struct timeval tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; }
static double ru_cpu_ms(const struct rusage *ru) { return tv_ms(ru->ru_utime) + tv_ms(ru->ru_stime); }

/* Sleep until kvl_now_ns() reaches t (CLOCK_MONOTONIC, absolute). */
static void sleep_until_ns(long long t)
{
	struct timespec ts = {t / 1000000000LL, t % 1000000000LL};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

/* The system-call interface: affinity, getcpu, nice, the sleeps' argument checks. */
static int part_api(void)
{
	int bad = 0;
	cpu_set_t set;
	CPU_ZERO(&set);
	long r = sched_getaffinity(0, sizeof set, &set);
	printf("api: getaffinity %ld, cpus %d, cpu0 %d\n", r, CPU_COUNT(&set), (int)CPU_ISSET(0, &set));
	bad |= r != 0 || !CPU_ISSET(0, &set);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	printf("api: setaffinity {0} = %d\n", sched_setaffinity(0, sizeof set, &set));
	CPU_ZERO(&set);
	CPU_SET(CPU_SETSIZE - 1, &set); /* a CPU nobody has */
	errno = 0;
	r = sched_setaffinity(0, sizeof set, &set);
	printf("api: setaffinity {%d} = %ld, errno %d\n", CPU_SETSIZE - 1, r, errno);
	errno = 0;
	r = syscall(SYS_sched_getaffinity, 0, 4L, &set); /* shorter than a long */
	printf("api: getaffinity len 4 = %ld, errno %d\n", r, errno);
	errno = 0;
	r = syscall(SYS_sched_getaffinity, 0, 8L, (void *)0x10);
	printf("api: getaffinity to 0x10 = %ld, errno %d\n", r, errno);
	unsigned cpu = 99, node = 99;
	r = syscall(SYS_getcpu, &cpu, &node, NULL);
	printf("api: getcpu = %ld, cpu %u, node %u\n", r, cpu, node);
	printf("api: sched_getscheduler = %ld\n", syscall(SYS_sched_getscheduler, 0)); /* musl: ENOSYS */

	printf("api: nice %d, raw getpriority %ld\n", getpriority(PRIO_PROCESS, 0),
	       syscall(SYS_getpriority, PRIO_PROCESS, 0));
	errno = 0;
	r = nice(5);
	printf("api: nice(5) = %ld, now %d, raw getpriority %ld\n", r, getpriority(PRIO_PROCESS, 0),
	       syscall(SYS_getpriority, PRIO_PROCESS, 0));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(getpriority(PRIO_PROCESS, 0)); /* fork inherits nice */
	int st = 0;
	waitpid(pid, &st, 0);
	printf("api: the child's nice %d\n", WEXITSTATUS(st));
	setpriority(PRIO_PROCESS, 0, 100);
	printf("api: setpriority 100 gives %d\n", getpriority(PRIO_PROCESS, 0));
	errno = 0;
	r = setpriority(PRIO_PROCESS, 99999, 0);
	printf("api: setpriority pid 99999 = %ld, errno %d\n", r, errno);
	r = setpriority(PRIO_PROCESS, 0, 0); /* back to 0 (we are root) */
	printf("api: setpriority 0 = %ld, now %d\n", r, getpriority(PRIO_PROCESS, 0));

	struct timespec ts = {0, 1000000000L};
	errno = 0;
	r = nanosleep(&ts, NULL);
	printf("api: nanosleep tv_nsec 1e9 = %ld, errno %d\n", r, errno);
	errno = 0;
	r = syscall(SYS_nanosleep, (void *)0x10, NULL);
	printf("api: nanosleep from 0x10 = %ld, errno %d\n", r, errno);
	ts = (struct timespec){0, 1000};
	printf("api: clock_nanosleep clock 99 = %d\n", clock_nanosleep(99, 0, &ts, NULL));
	return bad;
}

/* nanosleep(100 ms), three times: at least 100 ms pass, almost no CPU is used, and it counts as a
 * voluntary switch. */
static int part_sleep(void)
{
	long long t0;
	for (int i = 0; i < 3; i++) {
		struct rusage r0, r1;
		getrusage(RUSAGE_SELF, &r0);
		t0 = kvl_now_ns();
		struct timespec ts = {0, 100000000L};
		int r = nanosleep(&ts, NULL);
		double el = ms_since(t0);
		getrusage(RUSAGE_SELF, &r1);
		printf("sleep: nanosleep(100 ms) = %d after %.3f ms, cpu %.3f ms, nvcsw +%ld\n", r, el,
		       ru_cpu_ms(&r1) - ru_cpu_ms(&r0), r1.ru_nvcsw - r0.ru_nvcsw);
	}
	t0 = kvl_now_ns();
	sleep_until_ns(t0 + 50000000LL);
	printf("sleep: clock_nanosleep(TIMER_ABSTIME, now + 50 ms) after %.3f ms\n", ms_since(t0));
	return 0;
}

/* One CPU-bound process alone: its CPU time (user + system) is the elapsed time. */
static int part_alone(void)
{
	struct rusage r0, r1;
	long long t0 = kvl_now_ns(); /* the CPU time is measured within the elapsed time */
	getrusage(RUSAGE_SELF, &r0);
	while (ms_since(t0) < 300)
		kvl_work(lpm / 10);
	getrusage(RUSAGE_SELF, &r1);
	double el = ms_since(t0);
	double u = tv_ms(r1.ru_utime) - tv_ms(r0.ru_utime), s = tv_ms(r1.ru_stime) - tv_ms(r0.ru_stime);
	printf("alone: elapsed %.1f ms, utime %.1f ms, stime %.1f ms, cpu/elapsed %.3f\n", el, u, s,
	       (u + s) / el);
	return 0;
}

/* N CPU-bound children, each `budget` ms of work in 1 ms units, started together. Each reports when
 * it ended, the CPU time it got and how often it was preempted (its own getrusage). */
static int part_sched(int n, int budget)
{
	pid_t pids[8];
	long long start = kvl_now_ns() + 50000000LL; /* everyone forked by then */
	fflush(stdout);
	for (int c = 0; c < n; c++) {
		if ((pids[c] = fork()) < 0)
			kvl_die("fork");
		if (pids[c] == 0) {
			struct rusage r0, r1;
			sleep_until_ns(start);
			double begin = ms_since(start);
			getrusage(RUSAGE_SELF, &r0);
			for (int i = 0; i < budget; i++)
				kvl_work(lpm);
			getrusage(RUSAGE_SELF, &r1);
			double end = ms_since(start);
			printf("sched%d: child %d ended at %.1f ms, cpu %.1f ms, nivcsw %ld, began at %.1f ms\n", n, c,
			       end, ru_cpu_ms(&r1) - ru_cpu_ms(&r0), r1.ru_nivcsw - r0.ru_nivcsw, begin);
			exit(0);
		}
	}
	double cpu = 0;
	long nivcsw = 0;
	for (int c = 0; c < n; c++) {
		struct rusage ru;
		if (wait4(pids[c], NULL, 0, &ru) < 0)
			kvl_die("wait4");
		cpu += ru_cpu_ms(&ru);
		nivcsw += ru.ru_nivcsw;
	}
	printf("sched%d: %d x %d ms of work: elapsed %.1f ms, cpu %.1f ms, nivcsw %ld\n", n, n, budget,
	       ms_since(start), cpu, nivcsw);
	return 0;
}

/* nice 0 against nice 5 for `dur` ms: the work each gets done, and its CPU time. */
static int part_nice(int dur)
{
	const int nices[2] = {0, 5};
	pid_t pids[2];
	long long start = kvl_now_ns() + 50000000LL;
	fflush(stdout);
	for (int c = 0; c < 2; c++) {
		if ((pids[c] = fork()) < 0)
			kvl_die("fork");
		if (pids[c] == 0) {
			if (setpriority(PRIO_PROCESS, 0, nices[c]) < 0)
				kvl_die("setpriority");
			sleep_until_ns(start);
			long units = 0;
			while (kvl_now_ns() - start < dur * 1000000LL) {
				kvl_work(lpm);
				units++;
			}
			printf("nice: nice %d did %ld units\n", nices[c], units);
			exit(0);
		}
	}
	double cpu[2];
	for (int c = 0; c < 2; c++) {
		struct rusage ru;
		if (wait4(pids[c], NULL, 0, &ru) < 0)
			kvl_die("wait4");
		cpu[c] = ru_cpu_ms(&ru);
		printf("nice: nice %d: cpu %.1f ms, nvcsw %ld, nivcsw %ld\n", nices[c], cpu[c], ru.ru_nvcsw,
		       ru.ru_nivcsw);
	}
	printf("nice: nice 5's share of the cpu %.3f\n", cpu[1] / (cpu[0] + cpu[1]));
	return 0;
}

/* Fork until the process table is full: -EAGAIN, and once all are reaped nothing has leaked. */
static int part_forkmax(void)
{
	struct sysinfo before, after;
	int n = 0, err = 0;
	long long until = kvl_now_ns() + 1000000000LL;
	fflush(stdout);
	sysinfo(&before);
	for (; n < 200; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			sleep_until_ns(until);
			_exit(0);
		}
		if (pid < 0) {
			err = errno;
			break;
		}
	}
	int reaped = 0;
	while (wait(NULL) > 0)
		reaped++;
	sysinfo(&after);
	printf("forkmax: %d children, then errno %d (%s); reaped %d; free memory %s\n", n, err,
	       err ? strerror(err) : "-", reaped, before.freeram == after.freeram ? "same" : "CHANGED");
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const all[] = {"api", "sleep", "alone", "sched1", "sched2", "sched3", "nice", "forkmax"};
	const char *const *parts = argc > 1 ? (const char *const *)argv + 1 : all;
	int nparts = argc > 1 ? argc - 1 : (int)(sizeof all / sizeof all[0]), bad = 0;

	kvl_pin_one_cpu();
	lpm = kvl_loops_per_ms();
	printf("schedtest: %lu loops per ms\n", lpm);
	for (int i = 0; i < nparts; i++) {
		const char *p = parts[i];
		if (!strcmp(p, "api"))
			bad |= part_api();
		else if (!strcmp(p, "sleep"))
			bad |= part_sleep();
		else if (!strcmp(p, "alone"))
			bad |= part_alone();
		else if (!strncmp(p, "sched", 5) && p[5] >= '1' && p[5] <= '8' && !p[6])
			bad |= part_sched(p[5] - '0', 100);
		else if (!strcmp(p, "nice"))
			bad |= part_nice(1000);
		else if (!strcmp(p, "forkmax"))
			bad |= part_forkmax();
		else {
			fprintf(stderr, "schedtest: unknown part %s\n", p);
			return 2;
		}
		fflush(stdout);
	}
	printf("schedtest: %s\n", bad ? "FAILED" : "done");
	return bad;
}
