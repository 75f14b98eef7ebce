/* kfault: system calls the teaching kernel must refuse without harm
 * (tests/integration/t_kernel.sh): a bad pointer is EFAULT, an unimplemented
 * call is ENOSYS (and the kernel lists it at exit), a child that touches an
 * unmapped address is killed by SIGSEGV and the parent's wait sees that, a
 * child's writes after fork stay its own, a child spinning in user mode is
 * preempted by the timer.
 * Exits 0 if all came back as expected. Not one of the book's experiments. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int shared_after_fork = 1;

int main(void)
{
	int bad = 0;
	long r;

	errno = 0;
	r = write(1, (const void *)0x10, 5); /* nothing is mapped at 0x10 */
	printf("write(1, 0x10, 5) = %ld, errno %d\n", r, errno);
	bad |= !(r == -1 && errno == EFAULT);
	errno = 0;
	r = write(1, (const void *)0xffff800000000000ul, 5); /* a kernel address */
	printf("write(1, kernel address, 5) = %ld, errno %d\n", r, errno);
	bad |= !(r == -1 && errno == EFAULT);
	errno = 0;
	r = syscall(SYS_acct, 0); /* process accounting files: not implemented */
	printf("acct() = %ld, errno %d\n", r, errno);
	bad |= !(r == -1 && errno == ENOSYS);
	/* uname and a clock that moves forward. */
	struct utsname un;
	struct timespec t0, t1;
	uname(&un);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (volatile int i = 0; i < 1000000; i++)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long dt = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	printf("uname: %s %s, clock: %s\n", un.sysname, un.machine, dt > 0 ? "moves" : "STUCK");
	bad |= !(dt > 0);

	struct sysinfo before, after;
	sysinfo(&before);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int *volatile where = (int *)0x10; /* volatile: gcc must not see it */
		*where = 1; /* a user fault: the kernel kills us */
		_exit(0);
	}
	int status = 0;
	r = waitpid(pid, &status, 0);
	printf("child %d: waitpid %ld, %s %d\n", (int)pid, r,
	       WIFSIGNALED(status) ? "killed by signal" : "exit status",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	bad |= !(r == pid && WIFSIGNALED(status) && WTERMSIG(status) == 11);
	/* After fork each process has its own memory (copy-on-write on the
	 * teaching kernel): the child's write does not reach the parent. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		shared_after_fork = 2;
		_exit(40 + shared_after_fork);
	}
	waitpid(pid, &status, 0);
	printf("after fork: the child saw %d, the parent sees %d\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) - 40 : -1, shared_after_fork);
	bad |= !(WIFEXITED(status) && WEXITSTATUS(status) == 42 && shared_after_fork == 1);
	/* Both children are gone (reaped): every page they had is free again. */
	sysinfo(&after);
	printf("free memory before the children %lu KiB, after %lu KiB: %s\n",
	       (unsigned long)(before.freeram * before.mem_unit >> 10),
	       (unsigned long)(after.freeram * after.mem_unit >> 10),
	       before.freeram == after.freeram ? "same" : "DIFFERENT");

	/* Preemption: a child that spins forever and never makes a system
	 * call. We give it the CPU (sched_yield); only the timer can give it
	 * back to us. At our exit (init's) the VM ends, spinner and all. */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		for (;;)
			;
	sched_yield();
	printf("back in the parent: the spinning child %d was preempted\n", (int)pid);
	printf("kfault: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
