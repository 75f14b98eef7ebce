/* ksignal — signals, process groups and the terminal, checked from user mode (the teaching kernel's
 * tests/integration/t_kernel_signals.sh runs it; it runs the same on Linux).
 * Usage: ksignal [all|tty|fg|job|sigint|execcheck]
 *   all:    handlers, sigreturn restoring every register, kill between processes, SIGCHLD, blocked
 *           signals staying pending, a caught SIGSEGV and SIGFPE, SIGTERM's wait status, wait4
 *           interrupted (EINTR) and restarted (SA_RESTART), process groups, SIGCHLD ignored, exec.
 *   tty:    reads lines from the terminal, step by step (the test types after each "tty:" prompt).
 *   fg:     a child in its own foreground process group is killed by ^C; the parent survives.
 *   job:    ^Z stops such a child (wait4 WUNTRACED), SIGCONT continues it.
 *   sigint: waits in read() for a ^C that kills it.
 * Prints "ok: ..." per check and "FAIL: ..." for a failed one; exits 0 if all passed. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <termios.h>
#include <unistd.h>

static int failures;
static volatile sig_atomic_t count, stop_flag, last_sig;
static volatile long chld_pid, chld_status, chld_code;
static volatile uintptr_t fault_addr;
static sigjmp_buf jump;
static volatile uintptr_t bad_addr = 0x10; /* an unmapped address (a variable: no compile-time warning) */

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		printf((cond) ? "ok: " : "FAIL: ");                                                          \
		printf(__VA_ARGS__);                                                                         \
		printf("\n");                                                                                \
		fflush(stdout);                                                                              \
		if (!(cond))                                                                                 \
			failures++;                                                                          \
	} while (0)

static void on_sig(int sig)
{
	volatile double x = 1.0;

	for (int i = 0; i < 50; i++)
		x = x * 1.5 + 0.25; /* dirty the SSE registers the interrupted code may use */
	last_sig = sig;
	count++;
}

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	chld_pid = si->si_pid;
	chld_status = si->si_status;
	chld_code = si->si_code;
	count++;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last_sig = sig;
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(jump, 1);
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

static void handle_info(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	sigaction(sig, &sa, NULL);
}

static void yield_n(int n)
{
	for (int i = 0; i < n; i++)
		sched_yield();
}

/* n + (n-1) + ... + 1 in rcx and r11, the two registers `syscall` clobbers and sysret cannot give back. */
static long spin(long n)
{
	long sum;

	__asm__ volatile("xor %%r11, %%r11\n"
			 "1: add %%rcx, %%r11\n"
			 "dec %%rcx\n"
			 "jnz 1b\n"
			 "mov %%r11, %0"
			 : "=r"(sum), "+c"(n)
			 :
			 : "r11", "cc");
	return sum;
}

/* A child spins, checking its registers and SSE arithmetic, while the parent interrupts it with SIGUSR1. */
static void test_registers(void)
{
	pid_t pid;
	int status;

	count = stop_flag = 0;
	handle(SIGUSR1, on_sig, 0);
	handle(SIGUSR2, on_stop, 0);
	pid = fork();
	if (pid == 0) {
		long bad = 0, rounds = 0;
		volatile double seed = 3.0;

		while (!stop_flag) {
			double d = seed;

			for (int i = 0; i < 1000; i++)
				d = d * 0.5 + 1.0; /* converges to 2.0 */
			if (spin(100000) != 100000L * 100001 / 2 || d < 1.999 || d > 2.001)
				bad++;
			rounds++;
		}
		printf("  child: %ld rounds, %d SIGUSR1 handled, %ld wrong results\n", rounds, (int)count, bad);
		fflush(stdout);
		_exit(bad ? 1 : count > 0 ? 0 : 2);
	}
	for (int i = 0; i < 40; i++) {
		kill(pid, SIGUSR1);
		yield_n(3);
	}
	kill(pid, SIGUSR2);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "handlers interrupted a computing child, sigreturn gave every register back (status 0x%x)", status);
}

static void test_basic(void)
{
	sigset_t set, pend;

	count = 0;
	handle(SIGUSR1, on_sig, 0);
	raise(SIGUSR1);
	CHECK(count == 1 && last_sig == SIGUSR1, "a handler ran for raise(SIGUSR1) and the program continued");

	/* blocked: stays pending until unblocked */
	count = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	sigpending(&pend);
	CHECK(count == 0 && sigismember(&pend, SIGUSR1), "a blocked SIGUSR1 stays pending (handler ran %d times)",
	      (int)count);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigpending(&pend);
	CHECK(count == 1 && !sigismember(&pend, SIGUSR1), "unblocked, it is delivered once");

	/* ignored */
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	CHECK(1, "an ignored SIGUSR1 does nothing");

	/* the mask survives a handler, SA_NODEFER / SA_RESETHAND */
	count = 0;
	handle(SIGUSR2, on_sig, SA_RESETHAND);
	raise(SIGUSR2);
	{
		struct sigaction old;
		sigaction(SIGUSR2, NULL, &old);
		CHECK(count == 1 && old.sa_handler == SIG_DFL, "SA_RESETHAND: the action is back to SIG_DFL after one");
	}
}

static void test_faults(void)
{
	volatile int zero = 0;

	handle_info(SIGSEGV, on_fault);
	last_sig = 0;
	if (sigsetjmp(jump, 1) == 0) {
		*(volatile int *)bad_addr = 1;
		CHECK(0, "the write to 0x10 did not fault");
	} else {
		CHECK(last_sig == SIGSEGV && fault_addr == 0x10, "SIGSEGV caught by a handler, si_addr 0x%lx",
		      (unsigned long)fault_addr);
	}
	handle_info(SIGFPE, on_fault);
	last_sig = 0;
	if (sigsetjmp(jump, 1) == 0) {
		volatile int q = 7 / zero;
		(void)q;
		CHECK(0, "division by zero did not trap");
	} else {
		CHECK(last_sig == SIGFPE, "SIGFPE (division by zero) caught by a handler");
	}
	handle_info(SIGTRAP, on_fault);
	last_sig = 0;
	if (sigsetjmp(jump, 1) == 0)
		__asm__ volatile("int3");
	CHECK(last_sig == SIGTRAP, "int3: SIGTRAP caught by a handler");
	handle_info(SIGILL, on_fault);
	last_sig = 0;
	if (sigsetjmp(jump, 1) == 0)
		__asm__ volatile("ud2");
	CHECK(last_sig == SIGILL, "ud2: SIGILL caught by a handler");
	signal(SIGSEGV, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGTRAP, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	/* and again, not caught: the child dies with the signal */
	pid_t pid = fork();
	if (pid == 0) {
		*(volatile int *)bad_addr = 1;
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "uncaught SIGSEGV: wait status %d", status);
}

static void test_kill_chld(void)
{
	pid_t pid;
	int status;

	count = 0;
	handle_info(SIGCHLD, on_chld);
	pid = fork();
	if (pid == 0)
		_exit(3);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	CHECK(count == 1 && chld_pid == pid && chld_status == 3 && chld_code == CLD_EXITED,
	      "SIGCHLD arrived: si_pid %ld (child %d), si_status %ld, si_code %ld", chld_pid, pid, chld_status,
	      chld_code);
	signal(SIGCHLD, SIG_DFL);

	/* an uncaught SIGTERM from another process */
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	yield_n(5);
	CHECK(kill(pid, SIGTERM) == 0, "kill(child, SIGTERM)");
	waitpid(pid, &status, 0);
	CHECK(status == 15 && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	      "an uncaught SIGTERM gives wait status %d", status);
	CHECK(kill(pid, 0) < 0 && errno == ESRCH, "kill(reaped pid, 0): ESRCH");
	CHECK(kill(getpid(), 0) == 0, "kill(self, 0): 0");
	CHECK(kill(1, 99) < 0 && errno == EINVAL, "kill with signal 99: EINVAL");
	CHECK(kill(-2147483647 - 1, SIGTERM) < 0 && errno == ESRCH, "kill(INT_MIN): ESRCH");
	CHECK(syscall(SYS_tgkill, getpid(), getpid() + 1000, 0) < 0 && errno == ESRCH, "tgkill of no such thread: ESRCH");
	CHECK(syscall(SYS_tgkill, getpid(), getpid(), 0) == 0, "tgkill(pid, pid, 0): 0");

	/* SIGCHLD set to SIG_IGN: no zombies, wait finds no child */
	signal(SIGCHLD, SIG_IGN);
	pid = fork();
	if (pid == 0)
		_exit(0);
	errno = 0;
	CHECK(waitpid(-1, &status, 0) < 0 && errno == ECHILD, "SIGCHLD ignored: the child is reaped at once (ECHILD)");
	signal(SIGCHLD, SIG_DFL);
}

/* The parent sleeps in wait4 for a child that never ends; another child signals the parent. */
static void test_wait_intr(int restart)
{
	pid_t sleeper, sender, r;
	int status;

	count = 0;
	handle(SIGUSR1, on_sig, restart ? SA_RESTART : 0);
	sleeper = fork();
	if (sleeper == 0) {
		for (;;)
			pause();
	}
	sender = fork();
	if (sender == 0) {
		yield_n(20);
		kill(getppid(), SIGUSR1);
		if (restart) {
			yield_n(20);
			kill(sleeper, SIGTERM);
		}
		_exit(0);
	}
	errno = 0;
	r = waitpid(sleeper, &status, 0);
	if (restart) {
		CHECK(r == sleeper && count == 1 && WTERMSIG(status) == SIGTERM,
		      "SA_RESTART: wait4 went on after the handler and returned the child (%d, handler %d)", r,
		      (int)count);
	} else {
		CHECK(r < 0 && errno == EINTR && count == 1, "a signal interrupts a sleeping wait4: EINTR (handler %d)",
		      (int)count);
		kill(sleeper, SIGKILL);
		waitpid(sleeper, &status, 0);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "SIGKILL ends a paused child");
	}
	waitpid(sender, &status, 0);
	signal(SIGUSR1, SIG_DFL);
}

static void test_groups(void)
{
	pid_t pid;
	int status;

	CHECK(getpgrp() == getpgid(0), "getpgrp %d = getpgid(0)", getpgrp());
	pid = fork();
	if (pid == 0) {
		if (setpgid(0, 0) < 0 || getpgrp() != getpid())
			_exit(1);
		for (;;)
			pause();
	}
	setpgid(pid, pid); /* as shells do, in both (one of them wins the race) */
	CHECK(getpgid(pid) == pid, "setpgid: the child leads its own group %d", getpgid(pid));
	CHECK(kill(-pid, SIGTERM) == 0, "kill(-pgid, SIGTERM)");
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "the group got it (status %d)", status);
	CHECK(kill(-pid, SIGTERM) < 0 && errno == ESRCH, "an empty group: ESRCH");

	pid = fork();
	if (pid == 0)
		_exit(setsid() == getpid() && getsid(0) == getpid() && getpgrp() == getpid() ? 0 : 1);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "setsid: a new session and group, led by the child");
	CHECK(getpgrp() != getpid() || (setsid() < 0 && errno == EPERM), "setsid in a group leader: EPERM");
}

/* SIGSTOP stops a child (its parent hears CLD_STOPPED), SIGCONT lets it go on. */
static void test_stop(void)
{
	pid_t pid, r;
	int status;

	count = 0;
	chld_code = 0;
	handle_info(SIGCHLD, on_chld);
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	yield_n(5);
	kill(pid, SIGSTOP);
	for (int i = 0; i < 1000 && !count; i++)
		sched_yield();
	CHECK(count == 1 && chld_code == CLD_STOPPED && chld_status == SIGSTOP && chld_pid == pid,
	      "SIGSTOP stopped the child: SIGCHLD with CLD_STOPPED (code %ld, status %ld)", chld_code, chld_status);
	while ((r = waitpid(pid, &status, WUNTRACED)) < 0 && errno == EINTR)
		;
	CHECK(r == pid && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP,
	      "waitpid(WUNTRACED): stopped by SIGSTOP (status 0x%x)", status);
	r = waitpid(pid, &status, WUNTRACED | WNOHANG);
	CHECK(r == 0, "the stop is reported once (then %d)", r);
	count = 0;
	kill(pid, SIGCONT);
	for (int i = 0; i < 1000 && !count; i++)
		sched_yield();
	CHECK(count == 1 && chld_code == CLD_CONTINUED && chld_status == SIGCONT && chld_pid == pid,
	      "SIGCONT continued it: SIGCHLD with CLD_CONTINUED (code %ld, status %ld)", chld_code, chld_status);
	while ((r = waitpid(pid, &status, WCONTINUED)) < 0 && errno == EINTR)
		;
	CHECK(r == pid && WIFCONTINUED(status), "waitpid(WCONTINUED): continued (status 0x%x)", status);
	r = waitpid(pid, &status, WCONTINUED | WUNTRACED | WNOHANG);
	CHECK(r == 0, "the continuing is reported once, and the stop no more (then %d)", r);
	/* Waiting by process group: the child moves into a group of its own. */
	r = setpgid(pid, pid);
	errno = 0;
	CHECK(r == 0 && waitpid(0, &status, WNOHANG) == -1 && errno == ECHILD,
	      "waitpid(0): a child in another group is not the caller's group's (ECHILD)");
	CHECK(waitpid(-pid, &status, WNOHANG) == 0, "waitpid(-pgid): the group's child, still running");
	kill(pid, SIGTERM);
	while ((r = waitpid(-pid, &status, 0)) < 0 && errno == EINTR)
		;
	CHECK(r == pid, "waitpid(-pgid) reaped it");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "continued, then SIGTERM ended it (status %d)",
	      status);
	signal(SIGCHLD, SIG_DFL);
}

static char altstack[16384];
static volatile uintptr_t handler_sp;

static void on_alt(int sig)
{
	volatile char here;

	(void)sig;
	handler_sp = (uintptr_t)&here;
}

static void test_altstack(void)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 }, old;

	CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack: set");
	handle(SIGUSR1, on_alt, SA_ONSTACK);
	raise(SIGUSR1);
	CHECK(handler_sp > (uintptr_t)altstack && handler_sp < (uintptr_t)altstack + sizeof altstack,
	      "SA_ONSTACK: the handler ran on the alternate stack");
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, &old);
	CHECK(old.ss_sp == altstack && old.ss_size == sizeof altstack, "sigaltstack: the old one reported");
	signal(SIGUSR1, SIG_DFL);
}

/* A handler edits the saved context: past the ud2 (rip + 2), and tries to give itself IOPL 3 and
 * ring 0. rt_sigreturn takes the rip, never the privileges. */
static void on_ill_edit(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig, (void)si;
	uc->uc_mcontext.gregs[REG_RIP] += 2;
	uc->uc_mcontext.gregs[REG_EFL] |= 0x3000;                      /* IOPL 3 */
	uc->uc_mcontext.gregs[REG_CSGSFS] = (uc->uc_mcontext.gregs[REG_CSGSFS] & ~0xFFFFL) | 0x08; /* ring 0 */
	count++;
}

static void test_sigreturn_checks(void)
{
	unsigned long flags;
	unsigned short cs;
	pid_t pid;
	int status;
	struct sigaction sa;

	count = 0;
	handle_info(SIGILL, on_ill_edit);
	__asm__ volatile("ud2");
	__asm__ volatile("pushf; pop %0; mov %%cs, %1" : "=r"(flags), "=r"(cs));
	CHECK(count == 1 && (flags & 0x3000) == 0 && (cs & 3) == 3,
	      "a handler moved rip past ud2; rt_sigreturn refused IOPL 3 and ring 0 (rflags 0x%lx, cs 0x%x)", flags,
	      cs);
	signal(SIGILL, SIG_DFL);

	/* garbage pointers are EFAULT, not a kernel fault */
	errno = 0;
	CHECK(syscall(SYS_rt_sigaction, SIGUSR1, (void *)16, NULL, 8) < 0 && errno == EFAULT,
	      "rt_sigaction(bad pointer): EFAULT");
	errno = 0;
	CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)-4096L, NULL, 8) < 0 && errno == EFAULT,
	      "rt_sigprocmask(kernel address): EFAULT");
	memset(&sa, 0, sizeof sa);
	CHECK(sigaction(SIGKILL, &sa, NULL) < 0 && errno == EINVAL, "sigaction(SIGKILL): EINVAL");

	/* rt_sigreturn with no frame: the process dies of SIGSEGV, the kernel lives */
	pid = fork();
	if (pid == 0) {
		__asm__ volatile("mov $0x10, %%rsp; mov $15, %%eax; syscall" : : : "memory");
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "rt_sigreturn on a bad stack: SIGSEGV (status %d)",
	      status);
}

static void test_exec(const char *self)
{
	pid_t pid;
	int status;

	handle(SIGUSR1, on_sig, 0);
	signal(SIGUSR2, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		execl(self, self, "execcheck", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "execve: the handled signal is back to default, the ignored one stays ignored (status %d)", status);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
}

static int execcheck(void)
{
	struct sigaction a, b;

	sigaction(SIGUSR1, NULL, &a);
	sigaction(SIGUSR2, NULL, &b);
	return a.sa_handler == SIG_DFL && b.sa_handler == SIG_IGN ? 0 : 1;
}

/* The terminal, step by step: each "tty:" line tells the test what to type next. */
static long get(char *buf, size_t n)
{
	long r = read(0, buf, n - 1);
	buf[r > 0 ? r : 0] = 0;
	if (r > 0 && buf[r - 1] == '\n')
		buf[r - 1] = 0;
	return r;
}

static void say(const char *s)
{
	printf("tty: %s\n", s);
	fflush(stdout);
}

static int tty_steps(void)
{
	char buf[256];
	long r;
	struct termios t, raw;

	say("line 1");
	r = get(buf, sizeof buf);
	printf("got [%s] (%ld bytes)\n", buf, r);
	say("edit");
	r = get(buf, sizeof buf);
	printf("edited [%s]\n", buf);
	say("kill");
	r = get(buf, sizeof buf);
	printf("killed [%s]\n", buf);

	count = 0;
	handle(SIGINT, on_sig, 0);
	say("ctrl-c interrupts read");
	errno = 0;
	r = read(0, buf, sizeof buf);
	CHECK(r < 0 && errno == EINTR && count == 1 && last_sig == SIGINT, "^C: SIGINT, read returned EINTR");

	count = 0;
	handle(SIGINT, on_sig, SA_RESTART);
	say("ctrl-c restarts read");
	r = get(buf, sizeof buf);
	CHECK(r > 0 && count == 1 && strcmp(buf, "again") == 0, "SA_RESTART: the handler ran, read went on: [%s]",
	      buf);

	say("ctrl-z orphaned");
	r = get(buf, sizeof buf);
	CHECK(r > 0 && strcmp(buf, "still") == 0, "^Z does not stop init's (orphaned) group: [%s]", buf);

	signal(SIGINT, SIG_IGN);
	say("ctrl-c ignored");
	r = get(buf, sizeof buf);
	CHECK(r > 0 && strcmp(buf, "after") == 0, "^C ignored, read on: [%s]", buf);

	CHECK(tcgetpgrp(0) == getpgrp(), "tcgetpgrp %d is our group", tcgetpgrp(0));
	tcgetattr(0, &t);
	raw = t;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 3;
	raw.c_cc[VTIME] = 0;
	tcsetattr(0, TCSANOW, &raw);
	say("raw");
	r = read(0, buf, sizeof buf);
	buf[r > 0 ? r : 0] = 0;
	CHECK(r == 3 && strcmp(buf, "xyz") == 0, "raw mode, VMIN 3: [%s] (%ld bytes) without a newline", buf, r);
	tcsetattr(0, TCSANOW, &t);
	{
		struct termios now;
		tcgetattr(0, &now);
		CHECK((now.c_lflag & ICANON) && (now.c_lflag & ECHO), "TCSETS stored the flags back");
	}
	say("eof");
	r = read(0, buf, sizeof buf);
	CHECK(r == 0, "^D on an empty line: end of file (read %ld)", r);
	say("done");
	return failures ? 1 : 0;
}

/* Like a shell: the child gets its own group and the terminal; ^C reaches it, not us. */
static int fg_steps(void)
{
	pid_t pid;
	int status;

	signal(SIGINT, SIG_IGN);
	signal(SIGTTOU, SIG_IGN); /* tcsetpgrp from a background group (as shells do) */
	pid = fork();
	if (pid == 0) {
		char buf[64];

		setpgid(0, 0);
		tcsetpgrp(0, getpid());
		signal(SIGINT, SIG_DFL);
		say("child reads");
		read(0, buf, sizeof buf);
		_exit(0);
	}
	setpgid(pid, pid);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
	      "^C killed the foreground child: wait status %d (a shell says %d)", status, 128 + WTERMSIG(status));
	CHECK(tcsetpgrp(0, getpgrp()) == 0 && tcgetpgrp(0) == getpgrp(), "the terminal is ours again");
	return failures ? 1 : 0;
}

/* Job control as a shell does it: ^Z stops the foreground job, wait4(WUNTRACED) sees it, SIGCONT
 * continues it in the foreground, its interrupted read goes on. */
static int job_steps(void)
{
	pid_t pid;
	int status;

	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		char buf[64];

		signal(SIGTSTP, SIG_DFL);
		setpgid(0, 0);
		tcsetpgrp(0, getpid());
		say("job reads");
		get(buf, sizeof buf);
		printf("job got [%s]\n", buf);
		_exit(strcmp(buf, "resumed") == 0 ? 0 : 1);
	}
	setpgid(pid, pid);
	waitpid(pid, &status, WUNTRACED);
	CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTSTP, "^Z stopped the job: WIFSTOPPED, signal %d",
	      WSTOPSIG(status));
	CHECK(tcsetpgrp(0, getpgrp()) == 0, "the shell takes the terminal back");
	tcsetpgrp(0, pid);
	kill(-pid, SIGCONT);
	say("job continued");
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "continued, the job read on and ended (status %d)",
	      status);
	tcsetpgrp(0, getpgrp());

	/* A background job that reads the terminal is stopped by SIGTTIN; one ignoring SIGTTIN gets EIO. */
	pid = fork();
	if (pid == 0) {
		char buf[8];

		setpgid(0, 0);
		signal(SIGTSTP, SIG_DFL);
		read(0, buf, sizeof buf);
		_exit(0);
	}
	setpgid(pid, pid);
	waitpid(pid, &status, WUNTRACED);
	CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTTIN, "a background read: SIGTTIN stopped it (%d)",
	      WSTOPSIG(status));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	pid = fork();
	if (pid == 0) {
		char buf[8];

		setpgid(0, 0);
		signal(SIGTTIN, SIG_IGN);
		errno = 0;
		_exit(read(0, buf, sizeof buf) < 0 && errno == EIO ? 0 : 1);
	}
	setpgid(pid, pid);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a background read ignoring SIGTTIN: EIO");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "execcheck") == 0)
		return execcheck();
	if (strcmp(mode, "tty") == 0)
		return tty_steps();
	if (strcmp(mode, "fg") == 0)
		return fg_steps();
	if (strcmp(mode, "job") == 0)
		return job_steps();
	if (strcmp(mode, "sigint") == 0) {
		char buf[64];

		say("waiting for ^C");
		read(0, buf, sizeof buf);
		return 0;
	}
	test_basic();
	test_registers();
	test_faults();
	test_kill_chld();
	test_wait_intr(0);
	test_wait_intr(1);
	test_groups();
	test_stop();
	test_altstack();
	test_sigreturn_checks();
	test_exec(argv[0]);
	printf("ksignal: %s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
