/* guest/user/kvl.h — small helpers shared by the experiment programs (docs/experiments.md).
 *
 * Output convention: human-readable lines go to stdout as they are; every machine-readable row is one
 * line "@TABLE<TAB>field<TAB>field..." on stdout too, and each table's first row is its header, whose
 * first field starts with '#' ("@sched<TAB>#pid<TAB>ms<TAB>percent"). So
 *     sed -n 's/^@sched\t//p'
 * gives a TSV file that gnuplot reads as it is ('#' lines are comments to it).
 * Everything here uses only syscalls the teaching kernel implements (listed in docs/experiments.md). */
#ifndef KVL_H
#define KVL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define KiB 1024L
#define MiB (1024L * 1024L)

static inline void kvl_die(const char *what)
{
	fprintf(stderr, "error: %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

/* One machine-readable row: tag, then tab-separated fields from fmt. */
static inline void kvl_row(const char *table, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("@%s\t", table);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

static inline long long kvl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void kvl_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Reads a whole small file (a /proc one) into buf; returns its length or -1. */
static inline long kvl_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = 0;
	return (long)n;
}

/* VSZ and RSS of this process in KiB, from /proc/self/statm (pages). */
static inline int kvl_vsz_rss(long *vsz_kib, long *rss_kib)
{
	char buf[256];
	long size, rss;
	if (kvl_read_file("/proc/self/statm", buf, sizeof buf) <= 0 || sscanf(buf, "%ld %ld", &size, &rss) != 2)
		return -1;
	long pk = sysconf(_SC_PAGESIZE) / 1024;
	*vsz_kib = size * pk;
	*rss_kib = rss * pk;
	return 0;
}

/* Minor faults of this process so far. */
static inline long kvl_minflt(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return ru.ru_minflt;
}

/* The state letter of /proc/PID/stat (R, S, Z...), or '-' if there is no such process. */
static inline char kvl_proc_state(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (kvl_read_file(path, buf, sizeof buf) <= 0)
		return '-';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	return p && p[1] == ' ' && p[2] ? p[2] : '?';
}

/* Used memory in KiB as free(1) counts it: MemTotal - MemAvailable from /proc/meminfo
 * (MemTotal - MemFree - Buffers - Cached when there is no MemAvailable). */
static inline long kvl_used_kib(void)
{
	static char buf[8192];
	if (kvl_read_file("/proc/meminfo", buf, sizeof buf) <= 0)
		return -1;
	long total = -1, avail = -1, mfree = -1, buffers = 0, cached = 0;
	for (char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : 0) {
		long v;
		if (sscanf(line, "MemTotal: %ld", &v) == 1) total = v;
		else if (sscanf(line, "MemAvailable: %ld", &v) == 1) avail = v;
		else if (sscanf(line, "MemFree: %ld", &v) == 1) mfree = v;
		else if (sscanf(line, "Buffers: %ld", &v) == 1) buffers = v;
		else if (sscanf(line, "Cached: %ld", &v) == 1) cached = v;
	}
	if (total < 0)
		return -1;
	if (avail >= 0)
		return total - avail;
	return total - mfree - buffers - cached;
}

/*
 * Marks a phase for kvmlab: on the teaching kernel, /dev/kvmlab-marker sends label to kvmlab's
 * marker port 0x510, so it appears in `kvmlab run --trace` and splits `--stats` by phase
 * (docs/tracing.md). Where the device does not exist (Linux), nothing happens: the experiments
 * run there unchanged. stdout is flushed first, so the marker comes after what was printed.
 */
static inline void kvl_mark(const char *label)
{
	static int fd = -2;

	if (fd == -2)
		fd = open("/dev/kvmlab-marker", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	fflush(stdout);
	if (write(fd, label, strlen(label)) < 0) {
		/* a marker is a hint: losing one changes nothing the program computes */
	}
}

/* A positive number from argv, or die with the usage. */
static inline long kvl_arg(const char *s, const char *usage)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == 0 || *end || v <= 0) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(2);
	}
	return v;
}

#endif
