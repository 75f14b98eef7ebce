/* kclone: the process-making calls glibc uses, checked from user mode
 * (tests/integration/t_busybox.sh): clone's flags, clone3, vfork, and the
 * start-up calls (prlimit64, getrandom, prctl, time). Prints "ok: ..." or
 * "FAIL: ..." per check and exits 0 if all passed. Runs on Linux too.
 * Not one of the book's experiments. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLONE_VM 0x100
#define CLONE_VFORK 0x4000
#define CLONE_SIGHAND 0x800
#define CLONE_THREAD 0x10000
#define CLONE_PARENT_SETTID 0x100000
#define CLONE_CHILD_SETTID 0x1000000
#define PR_SET_NAME 15
#define PR_GET_NAME 16

static int fails;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	fails += !ok;
}

/* clone(flags, 0, ptid, ctid, 0) as a raw system call: 0 in the child. */
static long raw_clone(unsigned long flags, int *ptid, int *ctid)
{
	return syscall(SYS_clone, flags, 0, ptid, ctid, 0);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }

static void test_clone(void)
{
	struct utsname u;
	int ptid = 0, ctid = 0, st;
	long pid = raw_clone(CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, &ptid, &ctid);

	uname(&u);

	if (pid == 0)
		_exit(ctid == getpid() ? 42 : 1); /* the child sees its own pid in ctid */
	check(pid > 0 && ptid == pid, "CLONE_PARENT_SETTID wrote the child's pid in the parent");
	check(ctid == 0, "CLONE_CHILD_SETTID wrote into the child's memory only");
	check(waitpid((pid_t)pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 42,
	      "the child found its pid via CLONE_CHILD_SETTID (status 42)");

	/* The exit signal is the low byte: SIGUSR1 instead of SIGCHLD. */
	signal(SIGUSR1, on_usr1);
	pid = raw_clone(SIGUSR1, NULL, NULL);
	if (pid == 0)
		_exit(7);
	while (!got_usr1)
		usleep(1000);
	check(got_usr1 == SIGUSR1, "the exit signal from clone's low byte arrived");
	check(waitpid((pid_t)pid, &st, __WALL) == pid && WEXITSTATUS(st) == 7,
	      "and the child was waited for");

	if (strcmp(u.sysname, "kvmlab"))
		return; /* Linux makes threads: here they are refused */
	errno = 0;
	check(raw_clone(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD, NULL, NULL) == -1 && errno == EINVAL,
	      "threads (CLONE_THREAD) are EINVAL");
	errno = 0;
	check(raw_clone(CLONE_VM | SIGCHLD, NULL, NULL) == -1 && errno == EINVAL,
	      "CLONE_VM without CLONE_VFORK is EINVAL");
}

/* vfork: the parent goes on only after the child exec'd or exited. */
static void test_vfork(void)
{
	struct timespec t0, t1;
	int st;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = vfork();
	if (pid == 0) {
		struct timespec d = { 0, 200 * 1000000 };

		nanosleep(&d, NULL);
		_exit(3);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 200,
	      "vfork's parent waited for the child (>= 200 ms)");
	check(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 3, "the vfork child's status is 3");
}

/* clone3 with a struct clone_args: flags, pidfd, child_tid, parent_tid,
 * exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup. */
static void test_clone3(void)
{
	uint64_t a[11] = { 0 };
	int ptid = 0, st;
	long pid;

	a[0] = CLONE_PARENT_SETTID, a[3] = (uintptr_t)&ptid, a[4] = SIGCHLD;
	pid = syscall(435, a, sizeof(a));
	if (pid == 0)
		_exit(9);
	check(pid > 0 && ptid == pid && waitpid((pid_t)pid, &st, 0) == pid && WEXITSTATUS(st) == 9,
	      "clone3: a child, its pid in parent_tid, status 9");
	a[0] = SIGCHLD; /* the signal belongs in its own field */
	errno = 0;
	check(syscall(435, a, sizeof(a)) == -1 && errno == EINVAL, "clone3: a signal in flags is EINVAL");
	errno = 0;
	check(syscall(435, a, 32) == -1 && errno == EINVAL, "clone3: a too small struct is EINVAL");
}

static void test_startup(void)
{
	struct rlimit rl, lower = { 32, 64 };
	unsigned char b1[64], b2[64];
	char name[16] = { 0 };
	struct timeval tv;

	check(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 64, "getrlimit(NOFILE) >= 64");
	check(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur >= 8 << 20, "the stack limit >= 8 MiB");
	check(setrlimit(RLIMIT_NOFILE, &lower) == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		      rl.rlim_cur == 32 && rl.rlim_max == 64, "setrlimit(NOFILE, 32/64) reads back");
	lower.rlim_cur = 65;
	errno = 0;
	check(setrlimit(RLIMIT_NOFILE, &lower) == -1 && errno == EINVAL, "soft above hard is EINVAL");
	errno = 0;
	check(syscall(SYS_prlimit64, 0, 99, NULL, &rl) == -1 && errno == EINVAL,
	      "prlimit64 of resource 99 is EINVAL");
	check(syscall(SYS_getrandom, b1, sizeof(b1), 0) == 64 &&
		      syscall(SYS_getrandom, b2, sizeof(b2), 0) == 64 && memcmp(b1, b2, 64),
	      "getrandom: 64 bytes, different each time");
	errno = 0;
	check(syscall(SYS_getrandom, (void *)16, 8, 0) == -1 && errno == EFAULT,
	      "getrandom to a bad address is EFAULT");
	errno = 0;
	check(syscall(SYS_getrandom, b1, 8, 0x100) == -1 && errno == EINVAL, "unknown flags: EINVAL");
	check(syscall(SYS_prctl, PR_SET_NAME, "a-very-long-process-name", 0, 0, 0) == 0 &&
		      syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0) == 0 &&
		      !strcmp(name, "a-very-long-pro"), "prctl: the name, cut to 15 bytes");
	check(gettimeofday(&tv, NULL) == 0 && tv.tv_sec > 1600000000 &&
		      labs(tv.tv_sec - time(NULL)) <= 1, "gettimeofday and time: a date after 2020");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_clone();
	test_vfork();
	test_clone3();
	test_startup();
	printf("kclone: %d failed\n", fails);
	return fails ? 1 : 0;
}
