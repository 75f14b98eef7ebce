/*
 * signal.c - signals, process groups and sessions, with Linux's numbers and
 * layouts, so that musl's signal(), sigaction(), raise() and siglongjmp()
 * work unchanged.
 *
 * A signal is a bit in the target's pending set (one bit per signal: a second
 * SIGUSR1 before the first is handled is lost, as on Linux for 1-31). It is
 * acted upon only on the way back to user mode: signal_deliver() runs after
 * every system call (swtch.S) and every trap from user mode (trapasm.S). Then
 * the lowest pending, unblocked signal gets its action:
 *   - the default: terminate (the process ends as "killed by sig": wait
 *     status sig, a shell's 128 + sig), ignore (SIGCHLD...), stop (SIGSTOP,
 *     SIGTSTP...: sleep until SIGCONT) or continue;
 *   - SIG_IGN: nothing;
 *   - a handler: the kernel builds Linux's struct rt_sigframe on the user
 *     stack (the return address, a ucontext with every register and the
 *     signal mask, a siginfo, the x87/SSE state) and "returns" into the
 *     handler: rip = handler, rdi = sig, rsi = &info, rdx = &uc. The handler
 *     returns to sa_restorer (musl's __restore_rt), which calls rt_sigreturn:
 *     the kernel reads the ucontext back, checks it (a user may not make
 *     itself ring 0 or change IOPL) and resumes exactly where it stopped.
 *
 * Sleeping system calls sleep with sleep_intr(): a signal that would be acted
 * upon wakes the sleeper, its call returns -EINTR and the signal is delivered.
 * With SA_RESTART (or when no handler ran) the call is made again instead:
 * rip goes back over the 2-byte `syscall` instruction and rax gets the number
 * back (syscall_entry keeps it in the trapframe's error-code slot).
 */
#include "kernel.h"
#include "x86.h"

#define EPERM 1
#define ESRCH 3
#define ENOMEM 12
#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38

#define SIG_DFL 0
#define SIG_IGN 1
#define SA_NOCLDSTOP 0x1
#define SA_NOCLDWAIT 0x2
#define SA_SIGINFO 0x4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000
#define SA_RESTART 0x10000000
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000u
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define MINSIGSTKSZ 2048
#define CLD_EXITED 1
#define CLD_KILLED 2
#define CLD_STOPPED 5
#define CLD_CONTINUED 6
#define SIGURG 23
#define SIGWINCH 28

#define BIT(sig) (1ul << ((sig) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))
#define STOPSIGS (BIT(SIGSTOP) | BIT(SIGTSTP) | BIT(SIGTTIN) | BIT(SIGTTOU))

/* rt_sigreturn marks its trapframe so that syscall_entry returns by iretq,
 * which restores every register (sysret would lose rcx and r11). */
#define T_SIGRETURN (T_SYSCALL + 1)

/* rflags bits a user may set through rt_sigreturn: the arithmetic flags,
 * TF, DF, RF, AC, ID. Never IOPL, NT, VM or IF (which is forced on). */
#define RFLAGS_USER 0x254DD5ul
#define RFLAGS_TF 0x100
#define RFLAGS_DF 0x400

/* Linux's struct sigcontext (x86_64): the registers in this order. */
struct sigcontext_k {
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, rflags;
	u16 cs, gs, fs, ss;
	u64 err, trapno, oldmask, cr2;
	u64 fpstate; /* user address of the 512-byte fxsave image */
	u64 reserved[8];
};

struct ucontext_k {
	u64 flags, link;
	u64 ss_sp; /* uc_stack: the alternate stack, as sigaltstack reports it */
	int ss_flags, pad;
	u64 ss_size;
	struct sigcontext_k mc;
	u64 sigmask; /* the mask to restore when the handler returns */
};

/* What the handler finds at its stack pointer. */
struct rt_sigframe {
	u64 pretcode; /* sa_restorer: where the handler's `ret` goes */
	struct ucontext_k uc;
	u8 info[128]; /* siginfo_t */
};

_Static_assert(sizeof(struct sigcontext_k) == 256, "struct sigcontext is 256 bytes");
_Static_assert(__builtin_offsetof(struct ucontext_k, mc) == 40, "uc_mcontext at 40");
_Static_assert(__builtin_offsetof(struct ucontext_k, sigmask) == 296, "uc_sigmask at 296");

enum action { TERM, IGNORE, STOP, CONT };

static enum action default_action(int sig)
{
	if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH)
		return IGNORE;
	if (sig == SIGCONT)
		return CONT;
	if (BIT(sig) & STOPSIGS)
		return STOP;
	return TERM; /* including the "core" ones: we write no core file */
}

static bool ignored(struct proc *p, int sig)
{
	u64 h = p->sigact[sig - 1].handler;

	if (sig == SIGKILL || sig == SIGSTOP)
		return false;
	return h == SIG_IGN || (h == SIG_DFL && default_action(sig) == IGNORE);
}

/* The pending signals that are not blocked (SIGKILL and SIGSTOP never are). */
static u64 unblocked(struct proc *p) { return p->sig_pending & ~(p->sig_blocked & ~UNBLOCKABLE); }

bool signal_pending(struct proc *p)
{
	u64 set = unblocked(p);

	for (int sig = 1; sig <= NSIG; sig++)
		if ((set & BIT(sig)) && !ignored(p, sig))
			return true;
	return false;
}

static bool alive(struct proc *p)
{
	return p->pml4 && (p->state == RUNNABLE || p->state == RUNNING || p->state == SLEEPING);
}

static void post(struct proc *p, int sig, int code, int pid, int status, u64 addr);

/* SIGCONT ended p's stop: an unreported stop is no longer news; the parent
 * may hear of the continuing instead, by wait4(WCONTINUED) and by SIGCHLD
 * (CLD_CONTINUED) unless it set SA_NOCLDSTOP. */
static void continued(struct proc *p)
{
	struct proc *pp = p->parent;

	p->stop_sig = 0;
	p->continued = true;
	if (!pp)
		return;
	wakeup(pp);
	if (!(pp->sigact[SIGCHLD - 1].flags & SA_NOCLDSTOP))
		post(pp, SIGCHLD, CLD_CONTINUED, p->pid, SIGCONT, 0);
}

/* Make sig pending for p with what its siginfo will say. */
static void post(struct proc *p, int sig, int code, int pid, int status, u64 addr)
{
	if (!alive(p))
		return;
	if (sig == SIGKILL || sig == SIGCONT) {
		p->sig_pending &= ~STOPSIGS;
		if (p->stopped) {
			p->stopped = false;
			wakeup(&p->stopped);
			if (sig == SIGCONT)
				continued(p);
		}
	}
	if (BIT(sig) & STOPSIGS)
		p->sig_pending &= ~BIT(SIGCONT);
	/* An ignored signal is dropped at once, unless it is blocked (the
	 * program may set a handler before it unblocks it). */
	if (ignored(p, sig) && !(p->sig_blocked & BIT(sig)))
		return;
	p->sig_pending |= BIT(sig);
	p->siginfo[sig - 1] = (struct siginfo_k){ code, pid, status, addr };
	if (p->state == SLEEPING && p->sleep_intr && signal_pending(p))
		p->state = RUNNABLE; /* its sleep_intr() returns -EINTR */
}

int signal_send(struct proc *p, int sig, int code, int pid, u64 addr)
{
	if (sig < 1 || sig > NSIG)
		return -EINVAL;
	post(p, sig, code, pid, 0, addr);
	return 0;
}

int signal_pgrp(int pgrp, int sig)
{
	int n = 0;

	for (int k = 0; k < NPROC; k++) {
		struct proc *q = proc_at(k);

		if (q->pgid == pgrp && (alive(q) || q->state == ZOMBIE)) {
			n++;
			if (sig)
				post(q, sig, SI_KERNEL, 0, 0, 0);
		}
	}
	return n ? 0 : -ESRCH;
}

/*
 * An exception in user mode (trap.c): if the program has a handler for the
 * signal and does not block it, the handler runs (and may siglongjmp away or
 * fix the cause); otherwise the caller ends the process, as Linux's forced
 * signals do.
 */
bool signal_fault(struct trapframe *tf, int sig, u64 addr)
{
	struct proc *p = curproc;
	int code = 1; /* SEGV_MAPERR, ILL_ILLOPC, FPE_INTDIV, TRAP_BRKPT, BUS_ADRALN */

	if (p->sigact[sig - 1].handler <= SIG_IGN || (p->sig_blocked & BIT(sig)))
		return false;
	if (tf->vector == 14 && (tf->err & 1))
		code = 2; /* SEGV_ACCERR: present, but not allowed */
	else if (tf->vector == 13)
		code = SI_KERNEL;
	post(p, sig, code, 0, 0, addr);
	return true;
}

/* Stopped: sleep until SIGCONT or SIGKILL (post() wakes us). The parent
 * hears of it by SIGCHLD (CLD_STOPPED) unless it asked not to. */
static void stop(struct proc *p, int sig)
{
	struct proc *pp = p->parent;

	p->stopped = true;
	p->stop_sig = sig;
	p->continued = false;
	if (pp) {
		wakeup(pp); /* a wait4 with WUNTRACED may report it */
		if (!(pp->sigact[SIGCHLD - 1].flags & SA_NOCLDSTOP))
			post(pp, SIGCHLD, CLD_STOPPED, p->pid, sig, 0);
	}
	while (p->stopped)
		sleep_on(&p->stopped);
}

/* wait4(WUNTRACED): a stopped child's status (sig << 8 | 0x7f), once per stop. */
int signal_wait_stopped(struct proc *c)
{
	int sig = c->stop_sig;

	if (!c->stopped || !sig)
		return 0;
	c->stop_sig = 0;
	return sig << 8 | 0x7F;
}

/*
 * An orphaned process group: no member has a parent in another group of the
 * same session, so no shell is there to continue it. Like Linux, the
 * terminal's stop signals do not stop such a group (init's, for one).
 */
static bool pgrp_orphaned(int pgid)
{
	for (int k = 0; k < NPROC; k++) {
		struct proc *q = proc_at(k), *pp = q->parent;

		if (alive(q) && q->pgid == pgid && pp && pp->pgid != pgid && pp->sid == q->sid)
			return false;
	}
	return true;
}

/* Whether an interrupted system call may be made again after a handler
 * with SA_RESTART: not the ones that wait for a signal or for a time. */
static bool restartable(u64 nr)
{
	switch (nr) {
	case 34:  /* pause */
	case 130: /* rt_sigsuspend */
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
	case 7: case 23: case 270: case 271: /* poll, select, pselect6, ppoll */
		return false;
	}
	return true;
}

static void restart_syscall(struct trapframe *tf)
{
	tf->rax = tf->err; /* the number, which syscall_entry saved there */
	tf->rip -= 2;      /* back onto the `syscall` instruction */
}

static u8 fxbuf[512] __attribute__((aligned(16)));

static void fpu_reset(void)
{
	memset(fxbuf, 0, sizeof(fxbuf));
	*(u16 *)&fxbuf[0] = 0x037F;   /* FCW: exceptions masked */
	*(u32 *)&fxbuf[24] = 0x1F80;  /* MXCSR: exceptions masked */
	__asm__ volatile("fxrstor64 %0" : : "m"(fxbuf));
}

static bool on_altstack(struct proc *p, u64 sp)
{
	return p->altstack_size && sp > p->altstack_sp && sp - p->altstack_sp <= p->altstack_size;
}

static void fill_info(u8 *info, int sig, struct siginfo_k *si)
{
	int head[4] = { sig, 0, si->code, 0 };

	memset(info, 0, 128);
	memcpy(info, head, sizeof(head));
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) {
		if (si->code > 0) {
			memcpy(info + 16, &si->addr, 8); /* si_addr */
			return;
		}
	}
	memcpy(info + 16, &si->pid, 4);    /* si_pid; si_uid (20) stays 0 */
	memcpy(info + 24, &si->status, 4); /* si_status (SIGCHLD) */
}

/*
 * The handler's frame on the user stack (or the alternate stack): below the
 * 128-byte red zone the x87/SSE image (64-byte aligned), below it the
 * rt_sigframe, placed so that the handler starts as if just called (rsp + 8
 * a multiple of 16). Returns false if the stack cannot take it.
 */
static bool setup_frame(struct proc *p, struct trapframe *tf, int sig, struct sigaction_k *sa)
{
	struct rt_sigframe f;
	struct sigcontext_k *mc = &f.uc.mc;
	u64 sp = tf->rsp, fp, mask, handler = sa->handler;

	if (!(sa->flags & SA_RESTORER) || sa->handler >= USER_TOP)
		return false;
	if ((sa->flags & SA_ONSTACK) && p->altstack_size && !on_altstack(p, sp))
		sp = p->altstack_sp + p->altstack_size;
	else
		sp -= 128;
	fp = (sp - sizeof(fxbuf)) & ~63ul;
	sp = ((fp - sizeof(f)) & ~15ul) - 8;

	mask = p->sig_restore_mask ? p->sig_saved_mask : p->sig_blocked;
	memset(&f, 0, sizeof(f));
	f.pretcode = sa->restorer;
	f.uc.flags = 0x6; /* UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
	f.uc.ss_sp = p->altstack_sp;
	f.uc.ss_flags = p->altstack_size ? 0 : SS_DISABLE;
	f.uc.ss_size = p->altstack_size;
	*mc = (struct sigcontext_k){
		.r8 = tf->r8, .r9 = tf->r9, .r10 = tf->r10, .r11 = tf->r11, .r12 = tf->r12,
		.r13 = tf->r13, .r14 = tf->r14, .r15 = tf->r15, .rdi = tf->rdi, .rsi = tf->rsi,
		.rbp = tf->rbp, .rbx = tf->rbx, .rdx = tf->rdx, .rax = tf->rax, .rcx = tf->rcx,
		.rsp = tf->rsp, .rip = tf->rip, .rflags = tf->rflags, .cs = (u16)tf->cs,
		.ss = (u16)tf->ss, .oldmask = mask, .fpstate = fp,
	};
	if (tf->vector < 32) {
		mc->trapno = tf->vector, mc->err = tf->err;
		if (tf->vector == 14)
			mc->cr2 = p->siginfo[sig - 1].addr;
	}
	f.uc.sigmask = mask;
	fill_info(f.info, sig, &p->siginfo[sig - 1]);
	__asm__ volatile("fxsave64 %0" : "=m"(fxbuf)); /* the process's registers, live */
	memset(fxbuf + 464, 0, 48);                     /* no xsave extension */
	if (copyout(p->pml4, fp, fxbuf, sizeof(fxbuf)) < 0 ||
	    copyout(p->pml4, sp, &f, sizeof(f)) < 0)
		return false;

	p->sig_restore_mask = false;
	p->sig_blocked |= sa->mask | (sa->flags & SA_NODEFER ? 0 : BIT(sig));
	p->sig_blocked &= ~UNBLOCKABLE;
	if (sa->flags & SA_RESETHAND)
		sa->handler = SIG_DFL, sa->flags &= ~SA_SIGINFO;
	fpu_reset(); /* the handler starts with clean x87/SSE state */
	tf->rip = handler;
	tf->rsp = sp;
	tf->rdi = (u64)sig;
	tf->rsi = sp + __builtin_offsetof(struct rt_sigframe, info);
	tf->rdx = sp + __builtin_offsetof(struct rt_sigframe, uc);
	tf->rax = 0;
	tf->rflags &= ~(u64)(RFLAGS_TF | RFLAGS_DF);
	return true;
}

void signal_deliver(struct trapframe *tf)
{
	struct proc *p = curproc;
	bool acted = false;
	u64 set;

	if (!p || !p->pml4 || !(tf->cs & 3))
		return;
	while ((set = unblocked(p))) {
		int sig = set & BIT(SIGKILL) ? SIGKILL : __builtin_ctzl(set) + 1;
		struct sigaction_k *sa = &p->sigact[sig - 1];

		p->sig_pending &= ~BIT(sig);
		acted = true;
		if (sig == SIGKILL || sig == SIGSTOP || sa->handler == SIG_DFL) {
			enum action a = default_action(sig);

			if (a == TERM)
				proc_kill(sig);
			if (a == STOP && (sig == SIGSTOP || !pgrp_orphaned(p->pgid)))
				stop(p, sig);
			continue;
		}
		if (sa->handler == SIG_IGN)
			continue;
		/* A handler. An interrupted call: -EINTR, or made again after
		 * the handler with SA_RESTART (the frame saves that state). */
		if (tf->vector == T_SYSCALL && (i64)tf->rax == -EINTR && (sa->flags & SA_RESTART) &&
		    restartable(tf->err))
			restart_syscall(tf);
		if (!setup_frame(p, tf, sig, sa)) {
			kprintf("kernel: pid %d (%s): cannot deliver signal %d (bad stack or handler): killed\n",
				p->pid, p->name, sig);
			proc_kill(SIGSEGV);
		}
		return; /* one handler at a time: the next after its sigreturn */
	}
	/* Interrupted by a signal no handler saw (ignored, a stop): again. */
	if (acted && tf->vector == T_SYSCALL && (i64)tf->rax == -EINTR)
		restart_syscall(tf);
	if (p->sig_restore_mask) {
		p->sig_restore_mask = false;
		p->sig_blocked = p->sig_saved_mask;
	}
}

/*
 * A process of the terminal's session but not of its foreground group reads
 * the terminal: its group gets SIGTTIN, which stops it until a shell brings it
 * to the foreground (the read then starts again). If it ignores or blocks
 * SIGTTIN, or its group is orphaned (no shell to continue it): -EIO.
 */
int signal_tty_read_check(struct proc *p)
{
	if (p->sid != tty_sid || p->pgid == tty_fg_pgrp)
		return 0;
	if (ignored(p, SIGTTIN) || (p->sig_blocked & BIT(SIGTTIN)) || pgrp_orphaned(p->pgid))
		return -5; /* -EIO */
	signal_pgrp(p->pgid, SIGTTIN);
	return -EINTR;
}

static i64 sys_rt_sigreturn(struct proc *p, struct trapframe *tf)
{
	struct ucontext_k uc;
	struct sigcontext_k *mc = &uc.mc;
	u32 mxcsr_mask;

	if (copyin(p->pml4, &uc, tf->rsp, sizeof(uc)) < 0 || mc->rip >= USER_TOP ||
	    mc->rsp >= USER_TOP)
		goto bad;
	if (mc->fpstate) {
		__asm__ volatile("fxsave64 %0" : "=m"(fxbuf));
		memcpy(&mxcsr_mask, fxbuf + 28, 4);
		if (!mxcsr_mask)
			mxcsr_mask = 0xFFBF;
		if (copyin(p->pml4, fxbuf, mc->fpstate, sizeof(fxbuf)) < 0)
			goto bad;
		*(u32 *)&fxbuf[24] &= mxcsr_mask; /* a reserved MXCSR bit would #GP here */
		__asm__ volatile("fxrstor64 %0" : : "m"(fxbuf));
	} else {
		fpu_reset();
	}
	tf->r8 = mc->r8, tf->r9 = mc->r9, tf->r10 = mc->r10, tf->r11 = mc->r11;
	tf->r12 = mc->r12, tf->r13 = mc->r13, tf->r14 = mc->r14, tf->r15 = mc->r15;
	tf->rdi = mc->rdi, tf->rsi = mc->rsi, tf->rbp = mc->rbp, tf->rbx = mc->rbx;
	tf->rdx = mc->rdx, tf->rcx = mc->rcx, tf->rsp = mc->rsp, tf->rip = mc->rip;
	tf->rflags = (mc->rflags & RFLAGS_USER) | 0x202; /* IF on, bit 1 set */
	tf->cs = SEG_UCODE | 3;
	tf->ss = SEG_UDATA | 3;
	tf->vector = T_SIGRETURN;
	p->sig_blocked = uc.sigmask & ~UNBLOCKABLE;
	return (i64)mc->rax; /* syscall() puts it in rax */
bad:
	kprintf("kernel: pid %d (%s): bad signal frame at 0x%lx: killed\n", p->pid, p->name, tf->rsp);
	proc_kill(SIGSEGV);
}

static i64 sys_rt_sigaction(struct proc *p, u64 sig, u64 uact, u64 uold, u64 size)
{
	struct sigaction_k act, old;

	if (size != 8 || sig < 1 || sig > NSIG)
		return -EINVAL;
	if (uact && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (uact && copyin(p->pml4, &act, uact, sizeof(act)) < 0)
		return -EFAULT;
	old = p->sigact[sig - 1];
	if (uold && copyout(p->pml4, uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	if (!uact)
		return 0;
	act.mask &= ~UNBLOCKABLE;
	p->sigact[sig - 1] = act;
	if (ignored(p, (int)sig)) /* POSIX: a pending ignored signal is discarded */
		p->sig_pending &= ~BIT(sig);
	return 0;
}

static i64 sys_rt_sigprocmask(struct proc *p, u64 how, u64 uset, u64 uold, u64 size)
{
	u64 set, old = p->sig_blocked;

	if (size != 8)
		return -EINVAL;
	if (uset) {
		if (copyin(p->pml4, &set, uset, 8) < 0)
			return -EFAULT;
		if (how == SIG_BLOCK)
			p->sig_blocked |= set;
		else if (how == SIG_UNBLOCK)
			p->sig_blocked &= ~set;
		else if (how == SIG_SETMASK)
			p->sig_blocked = set;
		else
			return -EINVAL;
		p->sig_blocked &= ~UNBLOCKABLE;
	}
	if (uold && copyout(p->pml4, uold, &old, 8) < 0) {
		p->sig_blocked = old;
		return -EFAULT;
	}
	return 0;
}

/* pause and rt_sigsuspend: sleep until a signal is acted upon. The handler
 * runs with the suspend mask saved in its frame as "the" mask, so after it
 * the old mask is back. */
static i64 wait_signal(struct proc *p)
{
	while (sleep_intr(&p->sig_pending) == 0)
		; /* nothing calls wakeup() on this channel: only a signal ends it */
	return -EINTR;
}

static i64 sys_rt_sigsuspend(struct proc *p, u64 uset, u64 size)
{
	u64 set;

	if (size != 8)
		return -EINVAL;
	if (copyin(p->pml4, &set, uset, 8) < 0)
		return -EFAULT;
	p->sig_saved_mask = p->sig_blocked;
	p->sig_restore_mask = true;
	p->sig_blocked = set & ~UNBLOCKABLE;
	return wait_signal(p);
}

static i64 sys_sigaltstack(struct proc *p, u64 uss, u64 uold, struct trapframe *tf)
{
	struct {
		u64 sp;
		int flags, pad;
		u64 size;
	} ss, old = { p->altstack_sp, p->altstack_size ? 0 : SS_DISABLE, 0, p->altstack_size };

	if (on_altstack(p, tf->rsp))
		old.flags = SS_ONSTACK;
	if (uss) {
		if (copyin(p->pml4, &ss, uss, sizeof(ss)) < 0)
			return -EFAULT;
		if (on_altstack(p, tf->rsp))
			return -EPERM;
		if (ss.flags & SS_DISABLE) {
			p->altstack_sp = p->altstack_size = 0;
		} else {
			if (ss.flags)
				return -EINVAL;
			if (ss.size < MINSIGSTKSZ)
				return -ENOMEM;
			if (ss.sp >= USER_TOP || ss.size > USER_TOP - ss.sp)
				return -EFAULT;
			p->altstack_sp = ss.sp, p->altstack_size = ss.size;
		}
	}
	if (uold && copyout(p->pml4, uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

/*
 * kill(pid, sig): pid > 0 that process; 0 the caller's process group; -1
 * every process but init and the caller; < -1 the group -pid. Signal 0 only
 * checks that the target exists.
 */
static i64 sys_kill(struct proc *p, i64 pid, i64 sig)
{
	int n = 0;

	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	if (pid > 0) {
		struct proc *q = proc_find((int)pid);

		if (!q || (!q->pml4 && q->state != ZOMBIE))
			return -ESRCH; /* none, or a kernel thread */
		if (sig)
			post(q, (int)sig, SI_USER, p->pid, 0, 0);
		return 0;
	}
	if (pid == -1) {
		for (int k = 0; k < NPROC; k++) {
			struct proc *q = proc_at(k);

			if (!alive(q) || q == p || q == initproc)
				continue;
			n++;
			if (sig)
				post(q, (int)sig, SI_USER, p->pid, 0, 0);
		}
		return n ? 0 : -ESRCH;
	}
	pid = pid ? -pid : p->pgid;
	for (int k = 0; k < NPROC; k++) {
		struct proc *q = proc_at(k);

		if (q->pgid != pid || !(alive(q) || q->state == ZOMBIE))
			continue;
		n++;
		if (sig)
			post(q, (int)sig, SI_USER, p->pid, 0, 0);
	}
	return n ? 0 : -ESRCH;
}

/* tkill/tgkill: one thread; here every process is one thread (tid = pid).
 * tkill comes here with tgid 0: any process. */
static i64 sys_tgkill(struct proc *p, i64 tgid, i64 tid, i64 sig, bool tg)
{
	struct proc *q;

	if (tid <= 0 || (tg && tgid <= 0) || sig < 0 || sig > NSIG)
		return -EINVAL;
	q = proc_find((int)tid);
	if (!q || !alive(q) || (tg && tgid != tid))
		return -ESRCH;
	if (sig)
		post(q, (int)sig, SI_TKILL, p->pid, 0, 0);
	return 0;
}

/* Process groups and sessions. A group is named by its leader's pid; so is
 * a session. setpgid: the caller or its child, into a group of the same
 * session (or a new one named by the target's pid); a session leader stays. */
static bool group_in_session(int pgid, int sid)
{
	for (int k = 0; k < NPROC; k++) {
		struct proc *q = proc_at(k);

		if (q->state != UNUSED && q->pgid == pgid && q->sid == sid)
			return true;
	}
	return false;
}

static i64 sys_setpgid(struct proc *p, i64 pid, i64 pgid)
{
	struct proc *q = pid ? proc_find((int)pid) : p;

	if (pgid < 0)
		return -EINVAL;
	if (!q || (q != p && q->parent != p) || q->state == ZOMBIE)
		return -ESRCH;
	if (!pgid)
		pgid = q->pid;
	if (q->sid != p->sid || q->sid == q->pid)
		return -EPERM; /* another session, or a session leader */
	if (pgid != q->pid && !group_in_session((int)pgid, p->sid))
		return -EPERM;
	q->pgid = (int)pgid;
	return 0;
}

static i64 sys_getpgid(struct proc *p, i64 pid, bool sid)
{
	struct proc *q = pid ? proc_find((int)pid) : p;

	if (!q)
		return -ESRCH;
	return sid ? q->sid : q->pgid;
}

static i64 sys_setsid(struct proc *p)
{
	for (int k = 0; k < NPROC; k++) {
		struct proc *q = proc_at(k);

		if (q->state != UNUSED && q->pgid == p->pid)
			return -EPERM; /* already a group leader (or its pid names a group) */
	}
	p->sid = p->pgid = p->pid;
	return p->sid;
}

void signal_fork(struct proc *child, struct proc *parent)
{
	memcpy(child->sigact, parent->sigact, sizeof(child->sigact));
	child->sig_blocked = parent->sig_blocked;
	child->pgid = parent->pgid;
	child->sid = parent->sid;
	child->altstack_sp = parent->altstack_sp;
	child->altstack_size = parent->altstack_size;
}

/* execve: handlers are gone with the old program, so handled signals go
 * back to their default; ignored ones stay ignored, the mask stays. */
void signal_exec(struct proc *p)
{
	for (int i = 0; i < NSIG; i++)
		if (p->sigact[i].handler > SIG_IGN)
			p->sigact[i] = (struct sigaction_k){ 0 };
	p->altstack_sp = p->altstack_size = 0;
}

/*
 * A child ends: its parent gets SIGCHLD (ignored unless it has a handler).
 * If the parent set SIGCHLD to SIG_IGN, or SA_NOCLDWAIT, there is no zombie:
 * without a parent the scheduler frees the slot at once (proc.c).
 */
void signal_exit_notify(struct proc *p)
{
	struct proc *pp = p->parent;
	struct sigaction_k *sa;
	int killed;

	if (!pp)
		return;
	sa = &pp->sigact[SIGCHLD - 1];
	killed = p->wait_status & 0x7F;
	if (p->exit_signal) { /* clone's exit signal (clone.c): no auto-reaping */
		if (p->exit_signal > 0)
			post(pp, p->exit_signal, killed ? CLD_KILLED : CLD_EXITED, p->pid,
			     killed ? killed : (p->wait_status >> 8) & 0xFF, 0);
		return;
	}
	if (sa->handler == SIG_IGN || (sa->flags & SA_NOCLDWAIT))
		p->parent = NULL;
	if (sa->handler != SIG_IGN)
		post(pp, SIGCHLD, killed ? CLD_KILLED : CLD_EXITED, p->pid,
		     killed ? killed : (p->wait_status >> 8) & 0xFF, 0);
}

enum {
	SYS_rt_sigaction = 13, SYS_rt_sigprocmask = 14, SYS_rt_sigreturn = 15, SYS_pause = 34,
	SYS_kill = 62, SYS_setpgid = 109, SYS_getpgrp = 111, SYS_setsid = 112,
	SYS_getpgid = 121, SYS_getsid = 124, SYS_rt_sigpending = 127, SYS_rt_sigsuspend = 130,
	SYS_sigaltstack = 131, SYS_tkill = 200, SYS_tgkill = 234,
};

/* The signal and job-control system calls (syscall.c sends them here). */
i64 signal_syscall(struct proc *p, u64 nr, struct trapframe *tf)
{
	u64 a0 = tf->rdi, a1 = tf->rsi, a2 = tf->rdx, a3 = tf->r10;

	switch (nr) {
	case SYS_rt_sigaction: return sys_rt_sigaction(p, a0, a1, a2, a3);
	case SYS_rt_sigprocmask: return sys_rt_sigprocmask(p, a0, a1, a2, a3);
	case SYS_rt_sigreturn: return sys_rt_sigreturn(p, tf);
	case SYS_rt_sigpending: {
		u64 set = p->sig_pending & p->sig_blocked;

		if (a1 != 8)
			return -EINVAL;
		return copyout(p->pml4, a0, &set, 8) < 0 ? -EFAULT : 0;
	}
	case SYS_rt_sigsuspend: return sys_rt_sigsuspend(p, a0, a1);
	case SYS_pause: return wait_signal(p);
	case SYS_sigaltstack: return sys_sigaltstack(p, a0, a1, tf);
	/* pids and signal numbers are C ints (pid_t): the upper halves do not count */
	case SYS_kill: return sys_kill(p, (int)a0, (int)a1);
	case SYS_tkill: return sys_tgkill(p, 0, (int)a0, (int)a1, false);
	case SYS_tgkill: return sys_tgkill(p, (int)a0, (int)a1, (int)a2, true);
	case SYS_setpgid: return sys_setpgid(p, (int)a0, (int)a1);
	case SYS_getpgrp: return p->pgid;
	case SYS_getpgid: return sys_getpgid(p, (int)a0, false);
	case SYS_getsid: return sys_getpgid(p, (int)a0, true);
	case SYS_setsid: return sys_setsid(p);
	}
	return -ENOSYS;
}
