/* torture — the teaching kernel must survive a hostile program (issue 7's robustness test).
 *
 *   1. garbage: every implemented system call with bad pointers, lengths, fds and flags, each call number in a
 *      child of its own (some calls, munmap or rt_sigreturn with garbage, may kill that child: that is allowed;
 *      the kernel may not fault);
 *   2. fork until fork fails, then wait for every child;
 *   3. exhaust memory: a child touches anonymous memory until the kernel kills it, another grows its heap with brk
 *      until brk refuses;
 *   4. the kernel's counters (free memory, processes) are back where they were.
 *
 * Prints one line per phase and "torture: ok" at the end; exits 1 on a failed check. It only runs on the teaching
 * kernel (uname says "kvmlab"): on a real Linux it would exhaust the host's memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return ret;
}

/* The system calls to feed garbage to (Linux x86_64 numbers). Not here: exit and exit_group (they would
 * only end the child), fork/vfork/clone (phase 2), pause and rt_sigsuspend (they would wait forever), kill
 * (a garbage pid of 0 or -1 would hit this program itself or every process: tried with safe pids below). */
static const int calls[] = {
	0 /* read */, 1 /* write */, 2 /* open */, 3 /* close */, 4 /* stat */, 5 /* fstat */, 6 /* lstat */,
	8 /* lseek */, 9 /* mmap */, 10 /* mprotect */, 11 /* munmap */, 12 /* brk */, 13 /* rt_sigaction */,
	14 /* rt_sigprocmask */, 15 /* rt_sigreturn */, 16 /* ioctl */, 17 /* pread64 */, 18 /* pwrite64 */,
	19 /* readv */, 20 /* writev */, 21 /* access */, 22 /* pipe */, 24 /* sched_yield */, 28 /* madvise */,
	32 /* dup */, 33 /* dup2 */, 35 /* nanosleep */, 39 /* getpid */, 59 /* execve */, 61 /* wait4 */,
	63 /* uname */, 72 /* fcntl */, 78 /* getdents */, 79 /* getcwd */, 80 /* chdir */, 89 /* readlink */,
	96 /* gettimeofday */, 97 /* getrlimit */, 98 /* getrusage */, 99 /* sysinfo */, 100 /* times */,
	109 /* setpgid */, 110 /* getppid */, 111 /* getpgrp */, 112 /* setsid */, 121 /* getpgid */,
	127 /* rt_sigpending */, 140 /* getpriority */, 141 /* setpriority */, 158 /* arch_prctl */,
	203 /* sched_setaffinity */, 204 /* sched_getaffinity */, 217 /* getdents64 */, 218 /* set_tid_address */,
	228 /* clock_gettime */, 229 /* clock_getres */, 230 /* clock_nanosleep */, 257 /* openat */,
	262 /* newfstatat */, 267 /* readlinkat */, 269 /* faccessat */, 292 /* dup3 */, 293 /* pipe2 */,
	302 /* prlimit64 */, 309 /* getcpu */, 318 /* getrandom */, 332 /* statx */, 439 /* faccessat2 */,
	7 /* poll */, 23 /* select */, 74 /* fsync */, 75 /* fdatasync */, 77 /* ftruncate */, 81 /* fchdir */,
	82 /* rename */, 83 /* mkdir */, 84 /* rmdir */, 85 /* creat */, 87 /* unlink */, 88 /* symlink */,
	90 /* chmod */, 91 /* fchmod */, 92 /* chown */, 93 /* fchown */, 94 /* lchown */, 95 /* umask */,
	102 /* getuid */, 104 /* getgid */, 107 /* geteuid */, 108 /* getegid */, 124 /* getsid */,
	131 /* sigaltstack */, 143 /* sched_getparam */, 145 /* sched_getscheduler */, 186 /* gettid */,
	258 /* mkdirat */, 260 /* fchownat */, 263 /* unlinkat */, 264 /* renameat */, 266 /* symlinkat */,
	268 /* fchmodat */, 270 /* pselect6 */, 271 /* ppoll */, 280 /* utimensat */, 295 /* preadv */,
	296 /* pwritev */, 316 /* renameat2 */, 115 /* getgroups */,
};

#define SCRATCH "/tmp/torture"

/* Real ioctl requests (Linux's numbers): the terminal's (tty.c) and every file's (FIONBIO, FIOCLEX...). */
static const long ioctls[] = {
	0x5401 /* TCGETS */, 0x5402 /* TCSETS */, 0x5403 /* TCSETSW */, 0x5404 /* TCSETSF */, 0x5409 /* TCSBRK */,
	0x540a /* TCXONC */, 0x540b /* TCFLSH */, 0x540e /* TIOCSCTTY */, 0x540f /* TIOCGPGRP */,
	0x5410 /* TIOCSPGRP */, 0x5413 /* TIOCGWINSZ */, 0x5414 /* TIOCSWINSZ */, 0x541b /* FIONREAD */,
	0x5421 /* FIONBIO */, 0x5422 /* TIOCNOTTY */, 0x5429 /* TIOCGSID */, 0x5450 /* FIONCLEX */,
	0x5451 /* FIOCLEX */,
};

static long zero[2]; /* a timeout of 0 (struct timespec or timeval; select writes the rest back: 0) */
/* A valid buffer full of 0xff: as a struct, every field is -1 or huge. Its last 64 bytes are a guard, also
 * 0xff, so that a struct read near the end of the 8192 still finds no zeros (a time of 0xffffff seconds
 * and 0 ns would be a valid nanosleep of 194 days) and a path there has no end. */
static char good[8192 + 64];

/* Bad values for any argument: NULL, low, kernel (higher half, direct map), non-canonical, unaligned at the
 * end of the user half, -1, huge lengths, a valid buffer (with the lengths above it is too short). */
static long garbage(int i)
{
	static const long v[] = {
		0, 1, 0xfff, (long)0xffffffff80000000ul, (long)0xffff800000000000ul, 0x0000800000000000l,
		0x00007ffffffffff0l, -1, 0x7fffffffffffl, 1l << 40, (long)good, (long)good + 8192 - 3,
	};
	return v[i % (int)(sizeof(v) / sizeof(v[0]))];
}
#define NGARBAGE 12

/* One call number, every combination of garbage in its first three arguments (and some in the others). */
static void hammer(int nr)
{
	int q[2];

	/* fd 0 is the terminal: a read there would wait for input. Instead a pipe with some data and no
	 * writer left, so that reads end (end of file) once it is drained. */
	if (pipe(q) < 0 || write(q[1], good, 4096) != 4096)
		_exit(6);
	close(q[1]);
	dup2(q[0], 0);
	/* A garbage path may be a real name: "\xff\xff\xff" (the end of `good`) with O_CREAT creates it. Here
	 * in a scratch directory, which the parent empties after each call. */
	if (chdir(SCRATCH) < 0)
		_exit(7);
	for (int a = 0; a < NGARBAGE; a++)
		for (int b = 0; b < NGARBAGE; b++)
			for (int c = 0; c < NGARBAGE; c++) {
				long x = garbage(a), y = garbage(b), z = garbage(c);

				/* read/pread/readv/nanosleep with a valid fd and buffer may still wait: bound
				 * the size and the time with what the garbage offers. nanosleep/clock_nanosleep
				 * read their time from `good` (all 0xff: a negative time, EINVAL). */
				if ((nr == 0 || nr == 17 || nr == 19 || nr == 295) && x >= 0 && x <= 2)
					x = 0;
				/* poll and select may wait for their timeout, forever if there is none: a
				 * zero one instead of NULL or a time (garbage pointers stay). */
				if (nr == 7 || (nr == 271 && z == 0))
					z = nr == 7 ? 0 : (long)zero;
				if ((nr == 23 || nr == 270) && garbage(b + c) == 0) {
					raw6(nr, x, y, z, garbage(a + b), (long)zero, garbage(a + c));
					continue;
				}
				if (nr == 61 && x == -1 && (c & 1))
					continue; /* wait4(-1) without WNOHANG: no children here, ECHILD anyway */
				raw6(nr, x, y, z, garbage(a + b), garbage(b + c), garbage(a + c));
			}
	if (nr == 16) /* garbage requests never name a real one: the terminal's and the fds' requests too */
		for (int fd = 0; fd < 4; fd++)
			for (size_t r = 0; r < sizeof(ioctls) / sizeof(ioctls[0]); r++)
				for (int a = 0; a < NGARBAGE; a++)
					raw6(16, fd, ioctls[r], garbage(a), 0, 0, 0);
	_exit(0);
}

/* The free memory now, in KiB (printed after each phase: where a leak starts shows). */
static unsigned long free_kib(void)
{
	struct sysinfo si;

	return sysinfo(&si) < 0 ? 0 : si.freeram / 1024;
}

/* Remove everything in directory `dir` (what garbage paths created: files, directories, symbolic links);
 * returns how many names it removed, -1 if it could not. getdents64 into the stack, not opendir: malloc
 * would grow this process's own heap, and the free memory it measures with it. */
static int empty_dir(const char *dir)
{
	char buf[2048], path[512];
	int fd = open(dir, O_RDONLY | O_DIRECTORY), n = 0;
	long got;

	if (fd < 0)
		return -1;
	while ((got = raw6(217 /* getdents64 */, fd, (long)buf, sizeof(buf), 0, 0, 0)) > 0) {
		for (long off = 0; off < got;) {
			struct dirent *e = (struct dirent *)(buf + off);

			off += e->d_reclen;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path) < 0 && (empty_dir(path) < 0 || rmdir(path) < 0))
				n = -1;
			else if (n >= 0)
				n++;
		}
	}
	close(fd);
	return got < 0 ? -1 : n;
}

static int garbage_phase(void)
{
	int died = 0, made = 0, n, have_tty, fl;
	struct termios tty;

	if (mkdir(SCRATCH, 0755) < 0)
		return perror("mkdir " SCRATCH), -1;
	/* The terminal is shared: a child's TCSETS or FIONBIO with garbage changes it for us too. */
	have_tty = tcgetattr(1, &tty) == 0;
	fl = fcntl(1, F_GETFL);
	signal(SIGTTOU, SIG_IGN);

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int st;
		unsigned long kib = free_kib();
		pid_t pid = fork();

		if (pid < 0)
			return perror("fork"), -1;
		if (pid == 0)
			hammer(calls[i]);
		if (waitpid(pid, &st, 0) != pid)
			return perror("waitpid"), -1;
		if (have_tty)
			tcsetattr(1, TCSANOW, &tty), tcsetpgrp(1, getpgrp());
		fcntl(1, F_SETFL, fl);
		if (WIFSIGNALED(st)) {
			printf("  call %d killed its child with signal %d (allowed)\n", calls[i], WTERMSIG(st));
			died++;
		}
		while ((n = empty_dir(SCRATCH)) > 0) /* again until empty: removing may move the others */
			made += n;
		if (n < 0)
			return fprintf(stderr, "cannot empty " SCRATCH " after call %d\n", calls[i]), -1;
		if (free_kib() != kib) /* the child's memory is all back once it is reaped */
			printf("  call %d: free memory %lu KiB before, %lu KiB after\n", calls[i], kib, free_kib());
	}
	/* kill with pids that exist nowhere, and signal numbers out of range for ourselves. */
	if (kill(999999, SIGKILL) == 0 || kill(getpid(), 1000) == 0 || kill(getpid(), -5) == 0)
		return fprintf(stderr, "kill accepted a bad pid or signal\n"), -1;
	if (rmdir(SCRATCH) < 0)
		return perror("rmdir " SCRATCH), -1;
	printf("torture: garbage to %zu system calls x %d argument sets: the kernel survived (%d children killed, "
	       "%d names made and removed)\n", sizeof(calls) / sizeof(calls[0]), NGARBAGE * NGARBAGE * NGARBAGE, died,
	       made);
	return 0;
}

static int fork_phase(void)
{
	int p[2], n = 0, reaped = 0, st;
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return perror("pipe"), -1;
	for (;;) {
		pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) { /* wait until the parent closes the pipe, then end */
			close(p[1]);
			while (read(p[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		n++;
	}
	if (errno != EAGAIN && errno != ENOMEM)
		return perror("fork failed, but not with EAGAIN or ENOMEM"), -1;
	close(p[0]), close(p[1]);
	while ((pid = wait(&st)) > 0)
		reaped += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (errno != ECHILD || reaped != n)
		return fprintf(stderr, "forked %d, reaped %d cleanly\n", n, reaped), -1;
	printf("torture: forked %d children until fork failed (%s), all reaped\n", n, strerror(EAGAIN));
	return 0;
}

static int memory_phase(void)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) { /* touch 32 GiB of address space: the kernel must kill us long before */
		size_t len = 1ul << 35;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (m == MAP_FAILED) /* refused outright: also fine, but then use brk below */
			_exit(3);
		for (size_t i = 0; i < len; i += 4096)
			m[i] = 1;
		_exit(4); /* touched it all: the kernel lied about memory */
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return perror("fork/waitpid"), -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 4)
		return fprintf(stderr, "32 GiB touched in a VM that does not have it\n"), -1;
	printf("torture: a child touching memory without end: %s %d\n",
	       WIFSIGNALED(st) ? "killed by signal" : "exited with", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));

	pid = fork();
	if (pid == 0) { /* grow the heap until brk refuses (musl's sbrk only answers sbrk(0): brk itself) */
		long start = raw6(12, 0, 0, 0, 0, 0, 0), cur = start;
		volatile char *page;

		for (;;) {
			long want = cur + (1 << 20);

			if (raw6(12, want, 0, 0, 0, 0, 0) != want)
				break; /* refused: the break stays where it was */
			cur = want;
		}
		printf("torture: brk grew by %ld MiB, then refused\n", (cur - start) >> 20);
		/* It still works: shrink it back, grow a page, use it. */
		if (raw6(12, start, 0, 0, 0, 0, 0) != start || raw6(12, start + 4096, 0, 0, 0, 0, 0) != start + 4096)
			_exit(5);
		page = (volatile char *)start;
		page[0] = 1, page[4095] = 2;
		_exit(cur - start >= 256l << 20 && page[0] + page[4095] == 3 ? 0 : 5);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return perror("fork/waitpid"), -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return fprintf(stderr, "the brk child ended with wait status %#x\n", st), -1;
	return 0;
}

/* Touch the stack this program will use, so that a page the kernel gives on demand later does not count
 * as memory that failed to come back. */
static void __attribute__((noinline)) touch_stack(void)
{
	volatile char pad[65536];

	for (size_t i = 0; i < sizeof(pad); i += 4096)
		pad[i] = 0;
}

/* The kernel loads a program's pages on demand, so a code path run for the first time (the clean-up after
 * the first call that created a file, say) would fault a page in and look like memory that never came back.
 * Fault in every page of the program's image and heap first, from /proc/self/maps: read what is read-only,
 * rewrite what is writable (a read alone would map the file's page, and the first write copy it later).
 * Not the stack's whole reservation: touch_stack() takes what this program uses. */
static void touch_image(void)
{
	static char maps[8192];
	int fd = open("/proc/self/maps", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, maps, sizeof(maps) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	maps[n] = '\0';
	for (char *line = maps; line && *line;) {
		char *next = strchr(line, '\n');
		unsigned long lo, hi;
		char perm[5];

		if (next)
			*next++ = '\0';
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) == 3 && perm[0] == 'r' && !strstr(line, "[stack]") &&
		    hi - lo <= (64ul << 20))
			for (unsigned long a = lo; a < hi; a += 4096) {
				volatile char *c = (volatile char *)a;

				if (perm[1] == 'w')
					*c = *c;
				else
					(void)*c;
			}
		line = next;
	}
}

/* torture [garbage] [fork] [memory]: the phases named, in this order (default: all three). */
int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(void);
	} phases[] = { { "garbage", garbage_phase }, { "fork", fork_phase }, { "memory", memory_phase } };
	struct utsname u;
	struct sysinfo before, after;

	if (uname(&u) < 0 || strcmp(u.sysname, "kvmlab")) {
		fprintf(stderr, "torture: runs only on the teaching kernel (it would exhaust this machine's memory)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0); /* no stdio buffer to allocate later */
	memset(good, 0xff, sizeof(good));
	touch_stack();
	touch_image();
	if (sysinfo(&before) < 0)
		return perror("sysinfo"), 1;
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		int want = argc < 2;

		for (int a = 1; a < argc; a++)
			want |= !strcmp(argv[a], phases[i].name);
		if (!want)
			continue;
		if (phases[i].run() < 0)
			return 1;
		printf("torture: after %s: free memory %lu KiB\n", phases[i].name, free_kib());
	}
	if (sysinfo(&after) < 0)
		return perror("sysinfo"), 1;
	printf("torture: free memory %lu KiB before, %lu KiB after; processes %u before, %u after\n",
	       before.freeram / 1024, after.freeram / 1024, before.procs, after.procs);
	if (after.freeram != before.freeram || after.procs != before.procs) {
		fprintf(stderr, "torture: the kernel's counters did not return\n");
		return 1;
	}
	printf("torture: ok\n");
	return 0;
}
