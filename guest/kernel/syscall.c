/*
 * syscall.c - system calls with the Linux x86_64 ABI, so that programs built
 * for Linux (musl-gcc -static) run here unchanged.
 *
 * The convention: the number in rax, the arguments in rdi, rsi, rdx, r10,
 * r8, r9 (r10, not rcx: the `syscall` instruction puts the return address in
 * rcx, and rflags in r11); the result in rax, an error as -errno (the C
 * library turns -4095..-1 into errno and -1). swtch.S's syscall_entry saves
 * the user's registers as a struct trapframe; syscall() reads the arguments
 * from it and writes the result into its rax.
 *
 * Any user pointer goes through copyin/copyout (vm.c), which check it
 * against the process's page tables: a bad one is -EFAULT. Unknown numbers
 * give -ENOSYS and are counted per process; the count is printed at exit, so
 * running a new program shows what it needs that we lack.
 */
#include "kernel.h"
#include "x86.h"

#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_FMASK 0xC0000084
#define MSR_FS_BASE 0xC0000100
#define EFER_SCE 1u
#define RFLAGS_TF 0x100
#define RFLAGS_IF 0x200
#define RFLAGS_DF 0x400
#define RFLAGS_AC 0x40000

#define EPERM 1
#define ENOENT 2
#define EBADF 9
#define ENOMEM 12
#define EFAULT 14
#define ENODEV 19
#define EINVAL 22
#define ENOTTY 25
#define ENOSYS 38

/* Linux x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl):
 * the ones we implement, and common ones we may be asked for, by name. */
enum {
	SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_stat = 4, SYS_fstat = 5,
	SYS_lseek = 8, SYS_mmap = 9, SYS_mprotect = 10, SYS_munmap = 11, SYS_brk = 12,
	SYS_rt_sigaction = 13, SYS_rt_sigprocmask = 14, SYS_rt_sigreturn = 15, SYS_ioctl = 16,
	SYS_readv = 19, SYS_writev = 20, SYS_access = 21, SYS_pipe = 22, SYS_sched_yield = 24,
	SYS_madvise = 28, SYS_dup = 32, SYS_dup2 = 33, SYS_nanosleep = 35, SYS_getpid = 39,
	SYS_clone = 56, SYS_fork = 57, SYS_vfork = 58, SYS_execve = 59, SYS_exit = 60,
	SYS_wait4 = 61, SYS_kill = 62, SYS_uname = 63, SYS_fcntl = 72, SYS_getcwd = 79,
	SYS_getrusage = 98, SYS_sysinfo = 99, SYS_times = 100, SYS_getuid = 102, SYS_getgid = 104,
	SYS_geteuid = 107, SYS_getegid = 108, SYS_getppid = 110, SYS_getpriority = 140,
	SYS_setpriority = 141, SYS_arch_prctl = 158, SYS_gettid = 186, SYS_sched_setaffinity = 203,
	SYS_sched_getaffinity = 204, SYS_set_tid_address = 218, SYS_clock_gettime = 228,
	SYS_exit_group = 231, SYS_openat = 257, SYS_newfstatat = 262, SYS_readlinkat = 267,
	SYS_faccessat = 269, SYS_pipe2 = 293, SYS_prlimit64 = 302, SYS_getcpu = 309,
	SYS_getrandom = 318, SYS_statx = 332, SYS_max = 335,
	SYS_sched_getparam = 143, SYS_sched_getscheduler = 145, SYS_acct = 163,
	SYS_clock_nanosleep = 230,
	/* signals and job control (signal.c) */
	SYS_pause = 34, SYS_setpgid = 109, SYS_getpgrp = 111, SYS_setsid = 112, SYS_getpgid = 121,
	SYS_getsid = 124, SYS_rt_sigpending = 127, SYS_rt_sigsuspend = 130, SYS_sigaltstack = 131,
	SYS_tkill = 200, SYS_tgkill = 234,
	SYS_msync = 26, /* mm.c: file mappings */
	SYS_getgroups = 115, /* root, in no supplementary group (busybox id asks) */
};

#define N(x) [SYS_##x] = #x
static const char *const syscall_names[SYS_max] = {
	N(read), N(write), N(open), N(close), N(stat), N(fstat), N(lseek), N(mmap), N(mprotect),
	N(munmap), N(brk), N(rt_sigaction), N(rt_sigprocmask), N(rt_sigreturn), N(ioctl), N(readv),
	N(writev), N(access), N(pipe), N(sched_yield), N(madvise), N(dup), N(dup2), N(nanosleep),
	N(getpid), N(clone), N(fork), N(vfork), N(execve), N(exit), N(wait4), N(kill), N(uname),
	N(fcntl), N(getcwd), N(getrusage), N(sysinfo), N(times), N(getuid), N(getgid), N(geteuid),
	N(getegid), N(getppid), N(getpriority), N(setpriority), N(arch_prctl), N(gettid),
	N(sched_setaffinity), N(sched_getaffinity), N(set_tid_address), N(clock_gettime),
	N(exit_group), N(openat), N(newfstatat), N(readlinkat), N(faccessat), N(pipe2),
	N(prlimit64), N(getcpu), N(getrandom), N(statx),
	N(sched_getparam), N(sched_getscheduler), N(acct), N(clock_nanosleep),
	N(pause), N(setpgid), N(getpgrp), N(setsid), N(getpgid), N(getsid), N(rt_sigpending),
	N(rt_sigsuspend), N(sigaltstack), N(tkill), N(tgkill),
	N(msync),
	N(getgroups),
};
#undef N

/*
 * STAR holds two selector bases: bits 32-47 for `syscall` (CS = base, SS =
 * base + 8: SEG_KCODE, SEG_KDATA) and bits 48-63 for `sysret` (CS = base +
 * 16, SS = base + 8, with RPL 3: hence the GDT's order ucode32, udata,
 * ucode). LSTAR is where `syscall` jumps; FMASK the rflags bits it clears:
 * IF (no interrupt until we are on the kernel stack), DF (the C ABI wants
 * it clear), TF, AC (SMAP stays on).
 */
void syscall_init(void)
{
	/* User programs use SSE (the kernel does not: -mgeneral-regs-only):
	 * without CR4.OSFXSR every SSE instruction is #UD. The scheduler saves
	 * and restores each process's SSE/x87 registers with fxsave/fxrstor. */
	lcr0((rcr0() & ~(u64)CR0_EM) | CR0_MP);
	lcr4(rcr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, ((u64)(SEG_UCODE32 | 3) << 48) | ((u64)SEG_KCODE << 32));
	wrmsr(MSR_LSTAR, (u64)syscall_entry);
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
}

static i64 sys_getrusage(struct proc *p, u64 who, u64 uru)
{
	u8 ru[144];
	int r = proc_rusage(p, (int)who, ru);

	if (r < 0)
		return r;
	return copyout(p->pml4, uru, ru, sizeof(ru)) < 0 ? -EFAULT : 0;
}

/* times: CPU times in clock ticks of 1/100 s (sysconf(_SC_CLK_TCK) is 100
 * on Linux x86_64); returns the ticks since boot. */
static i64 sys_times(struct proc *p, u64 utms)
{
	u64 t[4] = { p->utime_ns / 10000000, p->stime_ns / 10000000,
		     p->cusage.utime_ns / 10000000, p->cusage.stime_ns / 10000000 };

	if (utms && copyout(p->pml4, utms, t, sizeof(t)) < 0)
		return -EFAULT;
	return (i64)(kvmclock_ns() / 10000000);
}

/* brk, mmap, munmap, mprotect, madvise: mm.c. */

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

/* The thread pointer: musl keeps its thread structure (errno, TLS) at %fs. */
static i64 sys_arch_prctl(struct proc *p, u64 code, u64 addr)
{
	if (code == ARCH_SET_FS) {
		if (addr >= USER_TOP)
			return -EPERM;
		p->fs_base = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	}
	if (code == ARCH_GET_FS)
		return copyout(p->pml4, addr, &p->fs_base, 8) < 0 ? -EFAULT : 0;
	return -EINVAL;
}

/*
 * execve(path, argv, envp): the strings are copied out of the old program's
 * memory (into one kernel page: 4 KiB of arguments at most, for now) before
 * exec() replaces it. On success the trapframe holds the new program's entry
 * and stack, and the syscall "returns" there.
 */
static i64 copy_strings(struct proc *p, u64 uvec, char **vec, char **buf, char *end)
{
	int n = 0;

	for (; uvec; n++) {
		u64 us;
		long len;

		if (n == 31)
			return -7; /* -E2BIG */
		if (copyin(p->pml4, &us, uvec + (u64)n * 8, 8) < 0)
			return -EFAULT;
		if (!us)
			break;
		if ((len = copyinstr(p->pml4, *buf, us, (u64)(end - *buf))) < 0)
			return end - *buf > 0 ? -EFAULT : -7;
		vec[n] = *buf;
		*buf += len + 1;
	}
	vec[n] = NULL;
	return n;
}

static i64 sys_execve(struct proc *p, u64 upath, u64 uargv, u64 uenvp)
{
	char *page = kalloc(), *buf, *end, *argv[32], *envp[32], *path;
	i64 argc, envc, r;

	if (!page)
		return -ENOMEM;
	buf = page, end = page + PAGE_SIZE;
	if ((r = copyinstr(p->pml4, buf, upath, 256)) < 0) {
		kfree(page);
		return -EFAULT;
	}
	path = buf;
	buf += r + 1;
	if ((argc = copy_strings(p, uargv, argv, &buf, end)) < 0) {
		kfree(page);
		return argc;
	}
	if ((envc = copy_strings(p, uenvp, envp, &buf, end)) < 0) {
		kfree(page);
		return envc;
	}
	r = exec(p, path, (int)argc, argv, (int)envc, envp);
	if (r == 0)
		signal_exec(p); /* handlers go with the old program */
	if (r == 0)
		clone_release(p, false); /* a vfork parent goes on */
	kfree(page);
	return r;
}

/* sysinfo: the memory numbers `free` shows (in bytes: mem_unit 1). */
static i64 sys_sysinfo(struct proc *p, u64 uinfo)
{
	struct {
		i64 uptime;
		u64 loads[3], totalram, freeram, sharedram, bufferram, totalswap, freeswap;
		u16 procs, pad;
		u32 pad2;
		u64 totalhigh, freehigh;
		u32 mem_unit;
		u8 pad3[4];
	} si;

	memset(&si, 0, sizeof(si));
	si.uptime = (i64)(ticks * tick_ms / 1000);
	si.totalram = pmm_usable_bytes();
	si.freeram = pmm_free_pages() * PAGE_SIZE;
	si.procs = (u16)proc_count();
	si.mem_unit = 1;
	return copyout(p->pml4, uinfo, &si, sizeof(si)) < 0 ? -EFAULT : 0;
}

/* clock_gettime: every clock is the time since boot, from kvm-clock (or the
 * TSC, or the tick count if neither is calibrated); CLOCK_REALTIME adds the
 * RTC's date at boot (misc.c). */
static i64 sys_clock_gettime(struct proc *p, u64 clk, u64 uts)
{
	u64 ns = kvmclock_ns(), ts[2];

	if (clk > 11)
		return -EINVAL;
	if (!ns)
		ns = tsc_hz ? rdtsc() / (tsc_hz / 1000000) * 1000 : ticks * tick_ms * 1000000;
	if (clk == 0 || clk == 5 || clk == 11) /* REALTIME, REALTIME_COARSE, TAI */
		ns += wall_offset_ns(); /* the date (misc.c) */
	ts[0] = ns / 1000000000, ts[1] = ns % 1000000000;
	return copyout(p->pml4, uts, ts, sizeof(ts)) < 0 ? -EFAULT : 0;
}

/* uname: six 65-byte fields, as `uname -a` prints them. */
static i64 sys_uname(struct proc *p, u64 ubuf)
{
	static const char *const f[6] = { "kvmlab", "kvmlab", KERNEL_VERSION,
					   "teaching kernel", "x86_64", "" };
	char u[6][65];

	memset(u, 0, sizeof(u));
	for (int i = 0; i < 6; i++)
		memcpy(u[i], f[i], strlen(f[i]));
	return copyout(p->pml4, ubuf, u, sizeof(u)) < 0 ? -EFAULT : 0;
}

static void count_nosys(struct proc *p, u64 nr)
{
	for (int i = 0; i < 16; i++)
		if (p->nosys[i].count == 0 || p->nosys[i].nr == nr) {
			p->nosys[i].nr = (u32)nr;
			p->nosys[i].count++;
			return;
		}
}

/* At exit: which unimplemented system calls the process made, how often. */
void syscall_report(struct proc *p)
{
	if (!p->pml4)
		return;
	kprintf("kernel: pid %d (%s) exited with status %d", p->pid, p->name, p->exit_status & 0xFF);
	if (!p->nosys[0].count) {
		kprintf(", no unimplemented syscalls\n");
		return;
	}
	kprintf(", unimplemented syscalls (-ENOSYS):");
	for (int i = 0; i < 16 && p->nosys[i].count; i++) {
		u32 nr = p->nosys[i].nr;

		kprintf(" %s(%u) x%u", nr < SYS_max && syscall_names[nr] ? syscall_names[nr] : "?", nr,
			p->nosys[i].count);
	}
	kprintf("\n");
}

void syscall(struct trapframe *tf)
{
	struct proc *p = curproc;
	u64 nr = tf->rax, a0 = tf->rdi, a1 = tf->rsi, a2 = tf->rdx, a3 = tf->r10, a4 = tf->r8;
	i64 r;

	sched_enter_kernel(p); /* the CPU time so far was user time (sched.c) */
	switch (nr) {
	case SYS_brk: r = sys_brk(p, a0); break;
	case SYS_mmap: r = sys_mmap(p, a0, a1, a2, a3, a4, tf->r9); break;
	case SYS_munmap: r = sys_munmap(p, a0, a1); break;
	case SYS_mprotect: r = sys_mprotect(p, a0, a1, a2); break;
	case SYS_madvise: r = sys_madvise(p, a0, a1, a2); break;
	case SYS_msync: r = sys_msync(p, a0, a1, a2); break;
	case SYS_arch_prctl: r = sys_arch_prctl(p, a0, a1); break;
	case SYS_set_tid_address: r = sys_set_tid_address(p, a0); break; /* clone.c */
	case SYS_rt_sigaction: case SYS_rt_sigprocmask: case SYS_rt_sigreturn:
	case SYS_rt_sigpending: case SYS_rt_sigsuspend: case SYS_pause: case SYS_sigaltstack:
	case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_setpgid: case SYS_getpgrp:
	case SYS_getpgid: case SYS_getsid: case SYS_setsid:
		r = signal_syscall(p, nr, tf); /* signal.c */
		break;
	case SYS_sched_yield: r = sys_sched_yield(p); break;
	case SYS_getpid: case SYS_gettid: r = p->pid; break;
	case SYS_getppid: r = p->parent ? p->parent->pid : 0; break;
	case SYS_getuid: case SYS_geteuid: case SYS_getgid: case SYS_getegid: r = 0; break;
	case SYS_fork: r = proc_fork(); break;
	case SYS_clone: r = sys_clone(p, a0, a1, a2, a3, a4); break; /* clone.c */
	case SYS_vfork: r = sys_vfork(p); break;
	case SYS_clock_gettime: r = sys_clock_gettime(p, a0, a1); break;
	case SYS_uname: r = sys_uname(p, a0); break;
	case SYS_sysinfo: r = sys_sysinfo(p, a0); break;
	case SYS_getrusage: r = sys_getrusage(p, a0, a1); break;
	case SYS_times: r = sys_times(p, a0); break;
	case SYS_execve: r = sys_execve(p, a0, a1, a2); break;
	case SYS_wait4: r = proc_wait4((int)a0, a1, a2, a3); break; /* pid is an int */
	case SYS_nanosleep: r = sys_nanosleep(p, a0, a1); break;
	case SYS_clock_nanosleep: r = sys_clock_nanosleep(p, a0, a1, a2, a3); break;
	case SYS_getpriority: r = sys_getpriority(p, a0, a1); break;
	case SYS_setpriority: r = sys_setpriority(p, a0, a1, a2); break;
	case SYS_sched_setaffinity: r = sys_sched_setaffinity(p, a0, a1, a2); break;
	case SYS_sched_getaffinity: r = sys_sched_getaffinity(p, a0, a1, a2); break;
	case SYS_getcpu: r = sys_getcpu(p, a0, a1); break;
	case SYS_sched_getscheduler: r = sys_sched_getscheduler(p, a0); break;
	case SYS_sched_getparam: r = sys_sched_getparam(p, a0, a1); break;
	case SYS_exit: case SYS_exit_group: proc_exit((int)(a0 & 0xFF));
	default:
		if (file_syscall(p, tf, &r)) /* file.c: fds, files, pipes, /proc */
			break;
		if (misc_syscall(p, tf, &r)) /* misc.c: rlimits, getrandom, prctl, time, clone3 */
			break;
		count_nosys(p, nr);
		r = -ENOSYS;
	}
	tf->rax = (u64)r;
	sched_leave_kernel(p); /* and the time in here was kernel time */
}
