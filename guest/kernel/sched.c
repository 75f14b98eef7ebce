/*
 * sched.c - who runs next, for how long, and where the time went.
 *
 * Fair scheduling, in the spirit of Linux's CFS. Every process has a
 * "virtual runtime": the CPU time it has had, scaled by 1024 / its weight.
 * The weight comes from its nice value: nice 0 weighs 1024, and each nice
 * level up divides the weight by 1.25 (nice 5: 336, about a third). The
 * scheduler always runs the RUNNABLE process with the smallest vruntime, so
 * a heavy (low nice) process's vruntime grows slowly and it gets picked
 * more often: nice 0 against nice 5 share the CPU about 1024 : 336, 3 : 1.
 *
 * The timer tick (tick_ms) is the time slice: on each tick the running
 * process is charged, and if another one is now owed the CPU more (a smaller
 * vruntime) it is preempted. A process that slept does not keep the small
 * vruntime it had when it went to sleep (it would then own the CPU for as
 * long as it slept): it wakes up placed near the smallest vruntime of the
 * others, min_vruntime, with a bonus of half a slice.
 *
 * Accounting: the CPU time of each process is measured, not sampled: at
 * every crossing between user mode and the kernel (a system call, an
 * interrupt or exception from user mode, the return) the time since the last
 * crossing goes to utime or stime. A process's time in the kernel ends when
 * it switches to the scheduler; the idle loop's time is no one's.
 *
 * One CPU: the kernel uses the boot CPU only (see sched_cpus below).
 */
#include "kernel.h"

#define ESRCH 3
#define EINTR 4
#define EFAULT 14
#define EINVAL 22
#define EOPNOTSUPP 95

/* weight(nice) = 1024 / 1.25^nice, rounded: index nice + 20. */
static const u32 nice_weight[40] = {
	88818, 71054, 56843, 45475, 36380, 29104, 23283, 18626, 14901, 11921, /* -20 .. -11 */
	9537,  7629,  6104,  4883,  3906,  3125,  2500,  2000,  1600,  1280,  /* -10 .. -1 */
	1024,  819,   655,   524,   419,   336,   268,   215,   172,   137,   /* 0 .. 9 */
	110,   88,    70,    56,    45,    36,    29,    23,    18,    15,    /* 10 .. 19 */
};

/*
 * One run queue per CPU: its processes are those RUNNABLE with p->cpu equal
 * to the CPU's number. The kernel runs on the boot CPU only, so there is one
 * (see sched_cpus below); with more, each CPU would find its own through a
 * per-CPU pointer (the GS base), take a lock around it, and a balancer would
 * move processes between queues within their affinity masks.
 */
#define MAXCPU 1
static struct runq {
	int cpu;
	u64 min_vruntime;    /* never goes backwards: where wakers and newcomers are placed */
	u64 acct_since;      /* when the running process's current stretch (user or kernel) began */
	struct proc *skip;   /* it called sched_yield: let the others run first */
} runqs[MAXCPU];

static struct runq *this_rq(void) { return &runqs[0]; } /* the CPU we run on */

static u64 slice_ns(void) { return (u64)tick_ms * 1000000; }

/* --- accounting --------------------------------------------------------- */

/* A system call or a trap from user mode: the stretch that ends was user time. */
void sched_enter_kernel(struct proc *p)
{
	struct runq *rq = this_rq();
	u64 now = time_ns();

	p->utime_ns += now - rq->acct_since;
	rq->acct_since = now;
}

/* Back to user mode (or off the CPU): the stretch that ends was kernel time. */
void sched_leave_kernel(struct proc *p)
{
	struct runq *rq = this_rq();
	u64 now = time_ns();

	p->stime_ns += now - rq->acct_since;
	rq->acct_since = now;
}

/* trapret (trapasm.S) calls this before it returns from any trap. */
void trap_return(struct trapframe *tf)
{
	if ((tf->cs & 3) && curproc)
		sched_leave_kernel(curproc);
}

/* --- fair scheduling ---------------------------------------------------- */

/* Charge the running process's CPU time since it last was to its vruntime. */
static void update_vruntime(struct proc *p)
{
	u64 now = time_ns(), delta = now - p->exec_start;

	p->exec_start = now;
	p->vruntime += delta * 1024 / nice_weight[p->nice + 20];
}

/* The RUNNABLE process with the smallest vruntime, or NULL (the scheduler
 * then idles). Also moves min_vruntime up to it. */
struct proc *sched_pick(void)
{
	struct runq *rq = this_rq();
	struct proc *best = NULL;

	for (int k = 0; k < NPROC; k++) {
		struct proc *p = &procs[k];

		if (p->state == RUNNABLE && p->cpu == rq->cpu && p != rq->skip &&
		    (!best || p->vruntime < best->vruntime))
			best = p;
	}
	if (!best && rq->skip && rq->skip->state == RUNNABLE)
		best = rq->skip; /* it yielded, but nobody else wants the CPU */
	rq->skip = NULL;
	if (best && best->vruntime > rq->min_vruntime)
		rq->min_vruntime = best->vruntime;
	return best;
}

/* The scheduler is about to run p: its stretch on the CPU starts now. */
void sched_switch_in(struct proc *p)
{
	p->exec_start = this_rq()->acct_since = time_ns();
}

/* p has given the CPU back to the scheduler (yield, sleep, exit). */
void sched_switch_out(struct proc *p)
{
	sched_leave_kernel(p);
	update_vruntime(p);
}

/* A new process starts at the others' minimum (fork: at least its parent's). */
void sched_fork(struct proc *child, struct proc *parent)
{
	u64 min = runqs[parent->cpu].min_vruntime;

	child->nice = parent->nice;
	child->cpu = parent->cpu;
	child->vruntime = parent->vruntime > min ? parent->vruntime : min;
}

void sched_new(struct proc *p) { p->vruntime = runqs[p->cpu].min_vruntime; }

/* p wakes up from a sleep: no further behind than half a slice before the others. */
void sched_wakeup(struct proc *p)
{
	u64 min = runqs[p->cpu].min_vruntime;
	u64 floor = min > slice_ns() / 2 ? min - slice_ns() / 2 : 0;

	if (p->vruntime < floor)
		p->vruntime = floor;
}

/*
 * The timer tick (trap.c, interrupts off). Wake the sleepers whose time has
 * come (nanosleep), then charge the running process and preempt it if some
 * other process has a smaller vruntime now. The preempted process is still
 * RUNNABLE; the scheduler counts that as an involuntary switch.
 */
void sched_tick(void)
{
	struct proc *cur = curproc;
	u64 now = time_ns();
	bool preempt = false;

	for (int k = 0; k < NPROC; k++) {
		struct proc *p = &procs[k];

		if (p->state == SLEEPING && p->wake_ns && now >= p->wake_ns)
			wakeup(&p->wake_ns);
	}
	if (!cur)
		return;
	update_vruntime(cur);
	for (int k = 0; k < NPROC; k++)
		if (procs[k].state == RUNNABLE && procs[k].cpu == cur->cpu &&
		    procs[k].vruntime < cur->vruntime)
			preempt = true;
	if (preempt)
		yield();
}

/* sched_yield: the caller stays RUNNABLE but is not picked next, unless
 * nothing else can run (Linux's CFS does much the same with its "skip" hint). */
i64 sys_sched_yield(struct proc *p)
{
	this_rq()->skip = p;
	yield();
	return 0;
}

/* --- sleeping ----------------------------------------------------------- */

/* Sleep until time_ns() reaches `deadline`: the tick wakes us (sched_tick).
 * -EINTR if a signal cut the sleep short. */
static int sleep_until(struct proc *p, u64 deadline)
{
	int r = 0;

	while (time_ns() < deadline) {
		p->wake_ns = deadline;
		if ((r = sleep_intr(&p->wake_ns)) < 0)
			break;
	}
	p->wake_ns = 0;
	return r;
}

/* A struct timespec from user memory, as nanoseconds; -EINVAL if out of range. */
static i64 timespec_in(struct proc *p, u64 uts, u64 *ns)
{
	i64 ts[2];

	if (copyin(p->pml4, ts, uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
		return -EINVAL;
	*ns = ts[0] >= (i64)(~0ul / 1000000000 / 2) ? ~0ul / 2 : (u64)ts[0] * 1000000000 + (u64)ts[1];
	return 0;
}

static i64 timespec_out(struct proc *p, u64 uts, u64 ns)
{
	i64 ts[2] = { (i64)(ns / 1000000000), (i64)(ns % 1000000000) };

	return copyout(p->pml4, uts, ts, sizeof(ts)) < 0 ? -EFAULT : 0;
}

/* Relative sleep: when a signal interrupts it, *rem gets the time left. */
static i64 sleep_for(struct proc *p, u64 ns, u64 urem)
{
	u64 deadline = time_ns() + ns;

	if (sleep_until(p, deadline) == 0)
		return 0;
	if (urem) {
		u64 now = time_ns();

		if (timespec_out(p, urem, deadline > now ? deadline - now : 0) < 0)
			return -EFAULT;
	}
	return -EINTR;
}

i64 sys_nanosleep(struct proc *p, u64 ureq, u64 urem)
{
	u64 ns;
	i64 r = timespec_in(p, ureq, &ns);

	return r < 0 ? r : sleep_for(p, ns, urem);
}

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_BOOTTIME 7
#define TIMER_ABSTIME 1

/* clock_nanosleep: every wall clock here is the time since boot (as in
 * clock_gettime), so REALTIME, MONOTONIC and BOOTTIME sleep alike. An
 * absolute sleep (TIMER_ABSTIME) leaves *rem alone when interrupted. */
i64 sys_clock_nanosleep(struct proc *p, u64 clk, u64 flags, u64 ureq, u64 urem)
{
	u64 ns;
	i64 r;

	if (clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID)
		return -EOPNOTSUPP;
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME)
		return -EINVAL;
	if ((r = timespec_in(p, ureq, &ns)) < 0)
		return r;
	if ((flags & TIMER_ABSTIME) && clk == CLOCK_REALTIME) /* a date (misc.c) */
		ns = ns > wall_offset_ns() ? ns - wall_offset_ns() : 0;
	if (flags & TIMER_ABSTIME)
		return sleep_until(p, ns);
	return sleep_for(p, ns, urem);
}

/* --- nice, affinity ----------------------------------------------------- */

#define PRIO_PROCESS 0

static struct proc *find_pid(struct proc *self, u64 pid)
{
	if (pid == 0)
		return self;
	for (int k = 0; k < NPROC; k++) {
		struct proc *p = &procs[k];

		if ((u64)p->pid == pid && p->state != UNUSED && p->state != EMBRYO &&
		    p->state != ZOMBIE)
			return p;
	}
	return NULL;
}

/* getpriority: the raw syscall answers 20 - nice (1..40), never negative,
 * so it cannot be mistaken for an error; the C library turns it back. */
i64 sys_getpriority(struct proc *self, u64 which, u64 who)
{
	struct proc *p;

	if (which != PRIO_PROCESS)
		return -EINVAL;
	if (!(p = find_pid(self, who)))
		return -ESRCH;
	return 20 - p->nice;
}

/* setpriority: the nice value, clamped to -20..19 (everyone is root here). */
i64 sys_setpriority(struct proc *self, u64 which, u64 who, u64 prio)
{
	struct proc *p;
	i64 nice = (int)prio;

	if (which != PRIO_PROCESS)
		return -EINVAL;
	if (!(p = find_pid(self, who)))
		return -ESRCH;
	if (p == self)
		update_vruntime(p); /* the time so far at the old weight */
	p->nice = nice < -20 ? -20 : nice > 19 ? 19 : (int)nice;
	return 0;
}

/*
 * CPU affinity. The kernel runs processes on the boot CPU only: with
 * `--cpus 2` the other vCPUs stay parked where the VMM left them (waiting
 * for an INIT/SIPI that never comes). So the online set is {0}: a mask must
 * contain CPU 0, and every process's mask reads back as {0}.
 */
static const u64 sched_cpus = 1;

i64 sys_sched_setaffinity(struct proc *self, u64 pid, u64 len, u64 umask)
{
	u64 mask = 0;

	if (!find_pid(self, pid))
		return -ESRCH;
	if (copyin(self->pml4, &mask, umask, len < 8 ? len : 8) < 0)
		return -EFAULT;
	return mask & sched_cpus ? 0 : -EINVAL;
}

/* Returns the bytes written (8: one long of mask bits), as the raw syscall does. */
i64 sys_sched_getaffinity(struct proc *self, u64 pid, u64 len, u64 umask)
{
	if (len < 8 || (len & 7))
		return -EINVAL;
	if (!find_pid(self, pid))
		return -ESRCH;
	return copyout(self->pml4, umask, &sched_cpus, 8) < 0 ? -EFAULT : 8;
}

/* getcpu(&cpu, &node, cache): always CPU 0 of node 0. */
i64 sys_getcpu(struct proc *p, u64 ucpu, u64 unode)
{
	u32 zero = 0;

	if (ucpu && copyout(p->pml4, ucpu, &zero, 4) < 0)
		return -EFAULT;
	if (unode && copyout(p->pml4, unode, &zero, 4) < 0)
		return -EFAULT;
	return 0;
}

/* sched_getscheduler: SCHED_OTHER (0), the only policy; sched_getparam: priority 0. */
i64 sys_sched_getscheduler(struct proc *self, u64 pid)
{
	if ((i64)pid < 0)
		return -EINVAL;
	return find_pid(self, pid) ? 0 : -ESRCH;
}

i64 sys_sched_getparam(struct proc *self, u64 pid, u64 uparam)
{
	int prio = 0;

	if ((i64)pid < 0 || !uparam)
		return -EINVAL;
	if (!find_pid(self, pid))
		return -ESRCH;
	return copyout(self->pml4, uparam, &prio, 4) < 0 ? -EFAULT : 0;
}
