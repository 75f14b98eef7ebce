/*
 * proc.c - processes and the scheduler (one CPU).
 *
 * A process is a struct proc: an address space (its page tables), a kernel
 * stack, and the kernel stack pointer saved when it is not running. Every
 * process runs its kernel part on its own kernel stack: a system call or an
 * interrupt from user mode lands there (TSS rsp0, syscall_rsp0), and the
 * user's registers sit at its top as a struct trapframe.
 *
 * Switching processes is switching kernel stacks. The scheduler runs on the
 * boot stack (kmain's): it picks a RUNNABLE process, loads its address space
 * (CR3) and kernel stack top (rsp0), and swtch()es to it. The process runs
 * until it gives the CPU back by swtch()ing to the scheduler: in yield() (the
 * timer tick: preemption, or sched_yield) or for good in proc_exit().
 *
 * The kernel itself is not preemptible: it runs with interrupts off (an
 * interrupt gate and the syscall FMASK clear IF) and a tick can only stop
 * user code, or a kernel thread that turned interrupts on for that purpose.
 */
#include "kernel.h"
#include "x86.h"

#define MSR_FS_BASE 0xC0000100

struct proc procs[NPROC]; /* the process table (sched.c reads it too) */
static u8 kstacks[NPROC][KSTACK_SIZE] __attribute__((aligned(16)));
static int next_pid = 1;
static u64 scheduler_ctx; /* the scheduler's saved stack pointer */
struct proc *curproc;     /* the running process, NULL in the scheduler */
struct proc *initproc;    /* the first user process: its end is the VM's */
u64 syscall_rsp0;         /* the running process's kernel stack top (swtch.S) */

/* A free slot, its kernel stack laid out for a first run; EMBRYO until the
 * caller has given it something to run and made it RUNNABLE. */
struct proc *proc_alloc(const char *name)
{
	struct proc *p = NULL;
	u64 *sp;
	size_t i;

	for (int k = 0; k < NPROC; k++)
		if (procs[k].state == UNUSED) {
			p = &procs[k];
			memset(p, 0, sizeof(*p));
			p->kstack = kstacks[k];
			break;
		}
	if (!p)
		return NULL;
	p->pid = next_pid++;
	p->pgid = p->sid = p->pid; /* its own group and session; fork gives the parent's */
	p->state = EMBRYO;
	p->start_ns = kvmclock_ns();
	sched_new(p);
	for (i = 0; i + 1 < sizeof(p->name) && name[i]; i++)
		p->name[i] = name[i];
	p->name[i] = 0;
	/* The top of the kernel stack: the user registers; below them what
	 * swtch pops: six callee-saved registers and a return address. The
	 * first swtch to the process "returns" into trapret, which iretqs to
	 * the trapframe: user mode, at the entry point exec() put there. */
	p->tf = (struct trapframe *)(p->kstack + KSTACK_SIZE) - 1;
	memset(p->tf, 0, sizeof(*p->tf));
	p->tf->cs = SEG_UCODE | 3;
	p->tf->ss = SEG_UDATA | 3;
	p->tf->rflags = 0x202; /* IF on: the timer may preempt it */
	sp = (u64 *)p->tf;
	*--sp = (u64)trapret;
	for (int k = 0; k < 6; k++)
		*--sp = 0;
	p->ctx = (u64)sp;
	/* The x87/SSE state of a fresh process: what fninit and a reset MXCSR give. */
	*(u16 *)&p->fpu[0] = 0x037F; /* FCW: all exceptions masked, 64-bit precision */
	*(u32 *)&p->fpu[24] = 0x1F80; /* MXCSR: all SSE exceptions masked */
	return p;
}

/* A kernel thread: runs fn(arg) in ring 0 on its own stack, then exits. */
static void kthread_start(void)
{
	struct trapframe *tf = curproc->tf;

	((void (*)(void *))tf->rbx)((void *)tf->r12);
	proc_exit(0);
}

void proc_kthread(struct proc *p, void (*fn)(void *), void *arg)
{
	u64 *sp = (u64 *)p->ctx;

	p->tf->rbx = (u64)fn; /* no user registers: the trapframe carries fn, arg */
	p->tf->r12 = (u64)arg;
	sp[6] = (u64)kthread_start; /* the return address swtch will use */
	p->state = RUNNABLE;
}

/*
 * The scheduler loop: run the process sched_pick() chooses (sched.c: the
 * smallest virtual runtime) until it gives the CPU back; again and again.
 * Nothing runnable: sleep until an interrupt (the tick may wake a sleeper).
 * No process left at all: return to kmain.
 */
static bool any_alive(void)
{
	for (int k = 0; k < NPROC; k++)
		if (procs[k].state != UNUSED && procs[k].state != ZOMBIE && procs[k].state != EMBRYO)
			return true;
	return false;
}

void scheduler(void)
{
	struct proc *prev = NULL; /* the process that ran last, if it is still RUNNABLE */

	for (;;) {
		struct proc *p;

		cli(); /* the kernel runs with interrupts off (see the top) */
		p = sched_pick();
		/* It was preempted (or yielded) and someone else runs now: an
		 * involuntary context switch. */
		if (prev && p != prev)
			prev->nivcsw++;
		prev = NULL;
		if (!p) {
			if (!any_alive())
				return;
			sti_hlt(); /* wait for an interrupt, then look again */
			continue;
		}
		p->state = RUNNING;
		curproc = p;
		syscall_rsp0 = (u64)p->kstack + KSTACK_SIZE;
		tss_set_rsp0(syscall_rsp0);
		lcr3(V2P(p->pml4 ? p->pml4 : kernel_pml4));
		wrmsr(MSR_FS_BASE, p->fs_base);
		/* The kernel never touches x87/SSE registers, so they can be
		 * switched here, around the kernel's own switch. */
		__asm__ volatile("fxrstor64 %0" : : "m"(p->fpu));
		sched_switch_in(p);
		swtch(&scheduler_ctx, p->ctx);
		sched_switch_out(p);
		__asm__ volatile("fxsave64 %0" : "=m"(p->fpu));
		/* Back here when it yields, sleeps or exits. */
		curproc = NULL;
		lcr3(V2P(kernel_pml4));
		if (p->state == RUNNABLE)
			prev = p;
		if (p->state == ZOMBIE) {
			/* Its address space can go now that we are on the
			 * scheduler's stack and kernel_pml4; the slot stays (a
			 * zombie) until the parent's wait4 collects the status,
			 * unless there is no parent to do it (kernel threads). */
			if (p->pml4) {
				vm_free_user(p->pml4);
				p->pml4 = NULL;
			}
			if (!p->parent)
				p->state = UNUSED;
		}
	}
}

/* Give the CPU back to the scheduler; we continue when it picks us again. */
void yield(void)
{
	struct proc *p = curproc;

	p->state = RUNNABLE;
	p->fs_base = rdmsr(MSR_FS_BASE);
	swtch(&p->ctx, scheduler_ctx);
}

/*
 * Sleeping: a process that must wait for something (a child's exit, input,
 * time) sleeps on a "channel", any address that names what it waits for, and
 * whoever makes it happen calls wakeup() with the same address. Waking is
 * only a hint: the sleeper looks at its condition again and may sleep again.
 * No lost wakeups: the kernel runs with interrupts off, so nothing can call
 * wakeup() between the sleeper's check and its sleep_on().
 */
void sleep_on(const void *chan)
{
	struct proc *p = curproc;

	p->chan = chan;
	p->state = SLEEPING;
	p->nvcsw++; /* it gives the CPU up itself: a voluntary switch */
	p->fs_base = rdmsr(MSR_FS_BASE);
	swtch(&p->ctx, scheduler_ctx);
	p->chan = NULL;
}

/* An interruptible sleep: what system calls that may wait long use (wait4,
 * read from a pipe or the terminal, nanosleep). A signal for the sleeper
 * ends the sleep (signal_send wakes it), and the call returns -EINTR; the
 * signal is then delivered on the way back to user mode (signal.c). */
int sleep_intr(const void *chan)
{
	struct proc *p = curproc;

	if (signal_pending(p))
		return -EINTR;
	p->sleep_intr = true;
	sleep_on(chan);
	p->sleep_intr = false;
	return signal_pending(p) ? -EINTR : 0;
}

/* Make every process sleeping on chan RUNNABLE (also from an interrupt). */
void wakeup(const void *chan)
{
	for (int k = 0; k < NPROC; k++)
		if (procs[k].state == SLEEPING && procs[k].chan == chan) {
			sched_wakeup(&procs[k]);
			procs[k].state = RUNNABLE;
		}
}

static void do_exit(int status, int wait_status) __attribute__((noreturn));

/* The end of a process. init (pid 1): when it ends, the VM ends, and kvmlab
 * exits with init's exit status (port 0x501, see kexit). Any other process
 * becomes a zombie, its children go to init, and its parent is woken if it
 * waits in wait4. */
void proc_exit(int status) { do_exit(status & 0xFF, (status & 0xFF) << 8); }

/* Killed by a signal (for now only the kernel sends them: SIGSEGV on a fault).
 * A shell reports that as status 128 + sig; wait4 as the signal number. */
void proc_kill(int sig) { do_exit(128 + sig, sig); }

static void do_exit(int status, int wait_status)
{
	struct proc *p = curproc;

	cli();
	p->exit_status = status;
	p->wait_status = wait_status;
	syscall_report(p);
	if (p == initproc) {
		kprintf("kernel: init (%s) exited with status %d, ending the VM\n", p->name,
			status & 0xFF);
		kexit(status & 0xFF);
	}
	clone_release(p, true); /* CLONE_CHILD_CLEARTID, a vfork parent (clone.c) */
	file_exit(p); /* close its files: pipe readers see EOF */
	for (int k = 0; k < NPROC; k++)
		if (procs[k].parent == p && procs[k].state != UNUSED) {
			procs[k].parent = initproc; /* orphans: init adopts them */
			procs[k].exit_signal = 0;   /* and hears of their end by SIGCHLD */
		}
	if (p->parent)
		wakeup(p->parent); /* it may be in wait4: let it look */
	signal_exit_notify(p); /* SIGCHLD, or no zombie if the parent ignores it */
	p->state = ZOMBIE;
	swtch(&p->ctx, scheduler_ctx);
	panic("a zombie ran");
}

/*
 * fork: a copy of the calling process. Same memory (shared copy-on-write,
 * vm_copy_user), same registers, except that in the child the syscall returns 0:
 * its trapframe is the parent's with rax = 0, and its first swtch "returns"
 * through trapret to user mode right after the `syscall` instruction.
 */
i64 proc_fork(void)
{
	struct proc *p = curproc, *np = proc_alloc(p->name);

	if (!np)
		return -11; /* -EAGAIN */
	if (!(np->pml4 = vm_create()) || vm_copy_user(np->pml4, p->pml4) < 0) {
		if (np->pml4)
			vm_free_user(np->pml4);
		np->state = UNUSED;
		return -12; /* -ENOMEM */
	}
	*np->tf = *p->tf;
	np->tf->rax = 0;
	np->parent = p;
	np->fs_base = p->fs_base;
	np->brk_start = p->brk_start;
	np->brk = p->brk;
	np->mmap_next = p->mmap_next;
	sched_fork(np, p);
	file_fork(np, p);
	signal_fork(np, p);
	misc_fork(np, p); /* rlimits (misc.c) */
	__asm__ volatile("fxsave64 %0" : "=m"(np->fpu)); /* ours, live in the CPU */
	np->state = RUNNABLE;
	return np->pid;
}

/* A reaped child's usage, and its own children's, counts for its parent
 * (RUSAGE_CHILDREN, times' cutime), as on Linux. */
static void reap_usage(struct proc *p, struct proc *c)
{
	p->cusage.utime_ns += c->utime_ns + c->cusage.utime_ns;
	p->cusage.stime_ns += c->stime_ns + c->cusage.stime_ns;
	p->cusage.minflt += c->minflt + c->cusage.minflt;
	p->cusage.majflt += c->majflt + c->cusage.majflt;
	p->cusage.nvcsw += c->nvcsw + c->cusage.nvcsw;
	p->cusage.nivcsw += c->nivcsw + c->cusage.nivcsw;
	if (c->maxrss_pages > p->cusage.maxrss_pages)
		p->cusage.maxrss_pages = c->maxrss_pages;
	if (c->cusage.maxrss_pages > p->cusage.maxrss_pages)
		p->cusage.maxrss_pages = c->cusage.maxrss_pages;
}

/* Which children wait4's pid asks for: > 0 that one, -1 any, 0 those in the
 * caller's process group, < -1 those in group -pid. */
static bool wait_match(struct proc *p, struct proc *c, i64 pid)
{
	if (pid > 0)
		return c->pid == pid;
	if (pid == 0)
		return c->pgid == p->pgid;
	return pid == -1 || c->pgid == -pid;
}

/* wait4's *status, if the caller gave a pointer: 0, or -EFAULT. */
static i64 put_status(struct proc *p, u64 ustatus, int status)
{
	if (ustatus && copyout(p->pml4, ustatus, &status, 4) < 0)
		return -14; /* -EFAULT */
	return 0;
}

/*
 * wait4(pid, &status, options, &rusage): collect an ended child (pid as
 * wait_match takes it). None ended yet: sleep until one does (or return 0 with
 * WNOHANG). WUNTRACED reports a new stop (status sig << 8 | 0x7f), WCONTINUED
 * a SIGCONT after a stop (0xffff), each once. No such child at all: -ECHILD.
 */
i64 proc_wait4(i64 pid, u64 ustatus, u64 options, u64 urusage)
{
	struct proc *p = curproc;
	bool intr = false;

	for (;;) {
		bool have = false;

		for (int k = 0; k < NPROC; k++) {
			struct proc *c = &procs[k];
			int cpid;

			if (c->parent != p || c->state == UNUSED || !wait_match(p, c, pid))
				continue;
			have = true;
			if ((options & 2) && (cpid = signal_wait_stopped(c))) /* WUNTRACED */
				return put_status(p, ustatus, cpid) < 0 ? -14 : c->pid;
			if ((options & 8) && c->continued && c->state != ZOMBIE) { /* WCONTINUED */
				if (put_status(p, ustatus, 0xFFFF) < 0)
					return -14; /* -EFAULT */
				c->continued = false;
				return c->pid;
			}
			if (c->state != ZOMBIE)
				continue;
			if (put_status(p, ustatus, c->wait_status) < 0)
				return -14; /* -EFAULT */
			if (urusage) {
				u8 ru[144];

				proc_rusage(c, RUSAGE_SELF, ru);
				if (copyout(p->pml4, urusage, ru, sizeof(ru)) < 0)
					return -14; /* -EFAULT */
			}
			reap_usage(p, c);
			cpid = c->pid;
			c->state = UNUSED;
			return cpid;
		}
		if (!have)
			return -10; /* -ECHILD */
		if (options & 1) /* WNOHANG */
			return 0;
		if (intr)
			return -EINTR;
		/* A child's exit wakes its parent's channel. A signal ends the
		 * sleep too: look once more (SIGCHLD comes with an ended child). */
		intr = sleep_intr(p) < 0;
	}
}

/* A process by pid (zombies too), or NULL. */
struct proc *proc_find(int pid)
{
	for (int k = 0; k < NPROC; k++)
		if (procs[k].state != UNUSED && procs[k].pid == pid)
			return &procs[k];
	return NULL;
}

struct proc *proc_at(int slot) { return slot >= 0 && slot < NPROC ? &procs[slot] : NULL; }

/* How many processes exist (zombies too). */
int proc_count(void)
{
	int n = 0;

	for (int k = 0; k < NPROC; k++)
		n += procs[k].state != UNUSED;
	return n;
}

/*
 * A struct rusage as Linux lays it out: two struct timevals (user and system
 * time), then 14 longs of which we keep maxrss (KiB), minflt, majflt, nvcsw
 * and nivcsw (the others count things we do not have: swapping, block I/O,
 * messages). RUSAGE_SELF: the process; RUSAGE_CHILDREN: its waited-for
 * children. Returns -EINVAL for any other `who`.
 */
int proc_rusage(struct proc *p, int who, void *out)
{
	u64 utime, stime, v[18] = { 0 };

	if (who == RUSAGE_SELF) {
		u64 rss = p->pml4 ? vm_rss_pages(p->pml4) : 0;

		if (rss > p->maxrss_pages)
			p->maxrss_pages = rss;
		utime = p->utime_ns, stime = p->stime_ns;
		v[4] = p->maxrss_pages * (PAGE_SIZE / 1024);
		v[8] = p->minflt, v[9] = p->majflt, v[16] = p->nvcsw, v[17] = p->nivcsw;
	} else if (who == RUSAGE_CHILDREN) {
		utime = p->cusage.utime_ns, stime = p->cusage.stime_ns;
		v[4] = p->cusage.maxrss_pages * (PAGE_SIZE / 1024);
		v[8] = p->cusage.minflt, v[9] = p->cusage.majflt;
		v[16] = p->cusage.nvcsw, v[17] = p->cusage.nivcsw;
	} else {
		return -22; /* -EINVAL */
	}
	v[0] = utime / 1000000000, v[1] = utime % 1000000000 / 1000;
	v[2] = stime / 1000000000, v[3] = stime % 1000000000 / 1000;
	memcpy(out, v, sizeof(v));
	return 0;
}
