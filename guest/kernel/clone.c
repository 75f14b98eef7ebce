/*
 * clone.c - clone, clone3 and vfork: how glibc makes a process.
 *
 * musl's fork() is the fork system call; glibc's is clone(CLONE_CHILD_SETTID
 * | CLONE_CHILD_CLEARTID | SIGCHLD), and its posix_spawn (system, popen) is
 * clone3 or clone with CLONE_VM | CLONE_VFORK and a stack of its own. Here a
 * process has one thread and its own address space, so clone is fork with
 * extras:
 *
 *   the low byte of the flags  the signal the parent gets when the child ends
 *                              (SIGCHLD for fork; 0: none)
 *   CLONE_CHILD_SETTID         the child's pid written into the child's memory
 *   CLONE_PARENT_SETTID        ... into the parent's memory
 *   CLONE_CHILD_CLEARTID       0 written there when the child exits (glibc's
 *                              thread id; with one thread nobody waits on it)
 *   CLONE_SETTLS               the child's thread pointer (FS base)
 *   a stack pointer            the child starts on that stack
 *   CLONE_PARENT               the child is the caller's sibling
 *   CLONE_VFORK                the parent sleeps until the child execs or
 *                              exits, as vfork() callers expect
 *
 * CLONE_VM (shared memory) only comes with CLONE_VFORK, and then the child
 * gets a copy-on-write copy like fork's: the parent waits anyway, and a child
 * that execs at once (what vfork is for) copies almost nothing. What a
 * vfork child writes is therefore not seen by its parent (glibc's
 * posix_spawn cannot report an exec failure: the child exits 127). Threads
 * (CLONE_THREAD, CLONE_SIGHAND, CLONE_VM without CLONE_VFORK) and
 * namespaces are -EINVAL.
 */
#include "kernel.h"

#define EINVAL 22
#define EFAULT 14
#define E2BIG 7

#define CSIGNAL 0xFFul
#define CLONE_VM 0x100ul
#define CLONE_FS 0x200ul
#define CLONE_FILES 0x400ul
#define CLONE_SIGHAND 0x800ul
#define CLONE_PIDFD 0x1000ul
#define CLONE_PTRACE 0x2000ul
#define CLONE_VFORK 0x4000ul
#define CLONE_PARENT 0x8000ul
#define CLONE_THREAD 0x10000ul
#define CLONE_NEWNS 0x20000ul
#define CLONE_SYSVSEM 0x40000ul
#define CLONE_SETTLS 0x80000ul
#define CLONE_PARENT_SETTID 0x100000ul
#define CLONE_CHILD_CLEARTID 0x200000ul
#define CLONE_DETACHED 0x400000ul
#define CLONE_UNTRACED 0x800000ul
#define CLONE_CHILD_SETTID 0x1000000ul
#define CLONE_IO 0x80000000ul

/* The flags a one-thread, own-address-space process can honour. */
#define CLONE_OK (CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_PTRACE | CLONE_VFORK | \
		  CLONE_PARENT | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |         \
		  CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_UNTRACED | CLONE_CHILD_SETTID | \
		  CLONE_IO)

struct clone_req {
	u64 flags;    /* without the signal */
	int exit_sig; /* 0: none */
	u64 stack;    /* the child's rsp (0: the parent's) */
	u64 ptid, ctid, tls;
};

static int check_flags(u64 flags)
{
	if (flags & ~CLONE_OK)
		return -EINVAL; /* threads, namespaces, pidfds */
	/* Shared memory, files or cwd only while the parent waits (vfork). */
	if ((flags & (CLONE_VM | CLONE_FS | CLONE_FILES)) && !(flags & CLONE_VFORK))
		return -EINVAL;
	if ((flags & CLONE_PARENT) && curproc == initproc)
		return -EINVAL;
	return 0;
}

/* The parent of a CLONE_VFORK child sleeps here until clone_release(). */
static void vfork_wait(struct proc *p, struct proc *c, int pid)
{
	while (c->pid == pid && c->state != UNUSED && c->vfork_parent == p)
		sleep_on(&c->vfork_parent);
}

static i64 do_clone(struct proc *p, struct clone_req *rq)
{
	struct proc *c;
	i64 pid;
	int cpid;

	if ((pid = proc_fork()) < 0)
		return pid;
	c = proc_find((int)pid);
	cpid = (int)pid;
	/* The field: 0 SIGCHLD (as fork's children), -1 none, else that signal. */
	c->exit_signal = rq->exit_sig == SIGCHLD ? 0 : rq->exit_sig ? rq->exit_sig : -1;
	if (rq->stack)
		c->tf->rsp = rq->stack;
	if (rq->flags & CLONE_SETTLS)
		c->fs_base = rq->tls;
	if ((rq->flags & CLONE_PARENT) && p->parent)
		c->parent = p->parent;
	/* As Linux, a bad address here is not an error of clone. */
	if (rq->flags & CLONE_CHILD_SETTID)
		copyout(c->pml4, rq->ctid, &cpid, 4);
	if (rq->flags & CLONE_CHILD_CLEARTID)
		c->clear_child_tid = rq->ctid;
	if (rq->flags & CLONE_PARENT_SETTID)
		copyout(p->pml4, rq->ptid, &cpid, 4);
	if (rq->flags & CLONE_VFORK) {
		c->vfork_parent = p;
		vfork_wait(p, c, cpid);
	}
	return pid;
}

/* clone(flags, stack, parent_tid, child_tid, tls): the x86_64 order. */
i64 sys_clone(struct proc *p, u64 flags, u64 stack, u64 ptid, u64 ctid, u64 tls)
{
	struct clone_req rq = { flags & ~CSIGNAL, (int)(flags & CSIGNAL), stack, ptid, ctid, tls };
	int r = check_flags(flags);

	if (r < 0)
		return r;
	if (rq.exit_sig > NSIG)
		return -EINVAL;
	return do_clone(p, &rq);
}

/* vfork: clone(CLONE_VM | CLONE_VFORK | SIGCHLD). */
i64 sys_vfork(struct proc *p)
{
	struct clone_req rq = { CLONE_VM | CLONE_VFORK, SIGCHLD, 0, 0, 0, 0 };

	return do_clone(p, &rq);
}

/*
 * clone3(&args, size): the same with a struct clone_args (u64 fields:
 * flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
 * set_tid, set_tid_size, cgroup). The signal is a field of its own; the
 * stack is its lowest address and a size. A newer, bigger struct is fine if
 * its extra fields are 0 (E2BIG otherwise), as on Linux.
 */
i64 sys_clone3(struct proc *p, u64 uargs, u64 size)
{
	u64 a[11] = { 0 }, extra;
	struct clone_req rq;
	int r;

	if (size < 64 || size > PAGE_SIZE)
		return -EINVAL;
	if (copyin(p->pml4, a, uargs, size < sizeof(a) ? size : sizeof(a)) < 0)
		return -EFAULT;
	for (u64 off = sizeof(a); off + 8 <= size; off += 8) {
		if (copyin(p->pml4, &extra, uargs + off, 8) < 0)
			return -EFAULT;
		if (extra)
			return -E2BIG;
	}
	if ((a[0] & CSIGNAL) || a[4] > NSIG || a[8] || a[9] || a[10])
		return -EINVAL; /* the signal in the flags; set_tid; cgroup */
	if (!a[5] != !a[6])
		return -EINVAL; /* a stack needs its size and the size a stack */
	if ((r = check_flags(a[0])) < 0)
		return r;
	rq = (struct clone_req){ a[0], (int)a[4], a[5] ? a[5] + a[6] : 0, a[3], a[2], a[7] };
	return do_clone(p, &rq);
}

/*
 * The child gives its vfork parent back the CPU and forgets its
 * CLONE_CHILD_CLEARTID address: at exit (after writing 0 there, while its
 * memory is still there: proc.c's do_exit) and after a successful execve (the
 * old memory is gone).
 */
void clone_release(struct proc *p, bool exiting)
{
	u32 zero = 0;

	if (exiting && p->clear_child_tid && p->pml4)
		copyout(p->pml4, p->clear_child_tid, &zero, 4);
	p->clear_child_tid = 0;
	if (p->vfork_parent) {
		p->vfork_parent = NULL;
		wakeup(&p->vfork_parent);
	}
}

/* set_tid_address(tidptr): CLONE_CHILD_CLEARTID for the caller; its tid. */
i64 sys_set_tid_address(struct proc *p, u64 tidptr)
{
	p->clear_child_tid = tidptr;
	return p->pid;
}
