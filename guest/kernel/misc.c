/*
 * misc.c - the small system calls a glibc program makes on its way in and
 * out: resource limits, random bytes, the process's name, the time of day,
 * and the thread features a one-thread kernel declines.
 *
 * Declined on purpose (-ENOSYS, not counted as missing): set_robust_list
 * and rseq, as on a Linux built without futexes or restartable sequences;
 * glibc then does without them.
 */
#include "fs.h"
#include "x86.h"

#define ESRCH 3
#define ENOSYS 38

enum {
	NR_gettimeofday = 96, NR_getrlimit = 97, NR_prctl = 157, NR_setrlimit = 160,
	NR_time = 201, NR_set_robust_list = 273, NR_prlimit64 = 302, NR_getrandom = 318,
	NR_rseq = 334, NR_clone3 = 435, NR_syslog = 103, NR_getgroups = 115,
	NR_statfs = 137, NR_fstatfs = 138, NR_sync = 162, NR_syncfs = 306,
};

/*
 * Resource limits (getrlimit, setrlimit, prlimit64): a soft and a hard
 * limit per resource, kept per process and inherited by fork. The defaults
 * are what the kernel really has (64 fds, 64 processes, an 8 MiB stack);
 * the others are unlimited, and a lowered limit is remembered and read back
 * but not enforced.
 */
#define RLIM_INFINITY (~0ul)
#define RLIMIT_STACK 3
#define RLIMIT_CORE 4
#define RLIMIT_NPROC 6
#define RLIMIT_NOFILE 7
#define RLIMIT_MEMLOCK 8
#define RLIMIT_SIGPENDING 11
#define RLIMIT_MSGQUEUE 12
#define RLIMIT_NICE 13
#define RLIMIT_RTPRIO 14

static void rlim_defaults(struct proc *p)
{
	for (int i = 0; i < RLIM_NLIMITS; i++)
		p->rlim[i][0] = p->rlim[i][1] = RLIM_INFINITY;
	p->rlim[RLIMIT_STACK][0] = 8ul << 20;
	p->rlim[RLIMIT_CORE][0] = 0; /* no core files are written */
	p->rlim[RLIMIT_NPROC][0] = p->rlim[RLIMIT_NPROC][1] = NPROC;
	p->rlim[RLIMIT_NOFILE][0] = p->rlim[RLIMIT_NOFILE][1] = NOFILE;
	p->rlim[RLIMIT_MEMLOCK][0] = p->rlim[RLIMIT_MEMLOCK][1] = 8ul << 20;
	p->rlim[RLIMIT_SIGPENDING][0] = p->rlim[RLIMIT_SIGPENDING][1] = NSIG;
	p->rlim[RLIMIT_MSGQUEUE][0] = p->rlim[RLIMIT_MSGQUEUE][1] = 819200;
	p->rlim[RLIMIT_NICE][0] = p->rlim[RLIMIT_NICE][1] = 0;
	p->rlim[RLIMIT_RTPRIO][0] = p->rlim[RLIMIT_RTPRIO][1] = 0;
	p->rlim_set = true;
}

/* fork's part: the child inherits the limits (proc.c's proc_fork). */
void misc_fork(struct proc *c, struct proc *p)
{
	memcpy(c->rlim, p->rlim, sizeof(c->rlim));
	c->rlim_set = p->rlim_set;
}

static i64 sys_prlimit64(struct proc *p, u64 pid, u64 res, u64 unew, u64 uold)
{
	struct proc *t = (int)pid == 0 ? p : proc_find((int)pid);
	u64 nl[2];

	if (!t || t->state == ZOMBIE || (int)pid < 0)
		return -ESRCH;
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	if (!t->rlim_set)
		rlim_defaults(t);
	if (unew) {
		if (copyin(p->pml4, nl, unew, sizeof(nl)) < 0)
			return -EFAULT;
		if (nl[0] > nl[1])
			return -EINVAL;
		/* What the kernel has is the most anyone may have (root too). */
		if ((res == RLIMIT_NOFILE && nl[1] > NOFILE) || (res == RLIMIT_NPROC && nl[1] > NPROC))
			return -EPERM;
	}
	if (uold && copyout(p->pml4, uold, t->rlim[res], 16) < 0)
		return -EFAULT;
	if (unew)
		memcpy(t->rlim[res], nl, sizeof(nl));
	return 0;
}

/*
 * getrandom: bytes from a small kernel generator (splitmix64), seeded from
 * the TSC and kvm-clock at first use and stirred with the TSC at every call.
 * It is NOT cryptographic: good enough for hash seeds and temporary names,
 * not for keys. Flags GRND_NONBLOCK (1), GRND_RANDOM (2), GRND_INSECURE (4):
 * it never blocks, so they change nothing.
 */
static u64 rng_state;

static u64 rng_next(void)
{
	u64 z = (rng_state += 0x9E3779B97F4A7C15ul);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ul;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBul;
	return z ^ (z >> 31);
}

static i64 sys_getrandom(struct proc *p, u64 ubuf, u64 len, u64 flags)
{
	u64 chunk[32], done = 0;

	if ((flags & ~7ul) || (flags & 6) == 6)
		return -EINVAL;
	if (!rng_state)
		rng_state = rdtsc() ^ (kvmclock_ns() << 17) ^ 0x6A09E667F3BCC908ul;
	rng_state ^= rdtsc();
	if (len > 0x1FFFFFF)
		len = 0x1FFFFFF; /* as Linux: a short read for huge requests */
	while (done < len) {
		u64 n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);

		for (int i = 0; i < 32; i++)
			chunk[i] = rng_next();
		if (copyout(p->pml4, ubuf + done, chunk, n) < 0)
			return done ? (i64)done : -EFAULT;
		done += n;
	}
	return (i64)done;
}

/* prctl: the process's name (what ps and /proc/PID/comm show), and the
 * few questions programs ask at start; anything else -EINVAL. */
#define PR_SET_PDEATHSIG 1
#define PR_GET_PDEATHSIG 2
#define PR_GET_DUMPABLE 3
#define PR_SET_DUMPABLE 4
#define PR_SET_NAME 15
#define PR_GET_NAME 16

static i64 sys_prctl(struct proc *p, u64 opt, u64 arg)
{
	char name[16];
	int zero = 0;
	long n;

	switch (opt) {
	case PR_SET_NAME:
		/* A longer name is cut to 15 bytes, as on Linux. */
		for (n = 0; n < 15; n++) {
			if (copyin(p->pml4, &name[n], arg + (u64)n, 1) < 0)
				return -EFAULT;
			if (!name[n])
				break;
		}
		name[n] = 0;
		memset(p->name, 0, sizeof(p->name));
		memcpy(p->name, name, strlen(name));
		return 0;
	case PR_GET_NAME:
		memset(name, 0, sizeof(name));
		memcpy(name, p->name, strlen(p->name) < 15 ? strlen(p->name) : 15);
		return copyout(p->pml4, arg, name, sizeof(name)) < 0 ? -EFAULT : 0;
	case PR_SET_PDEATHSIG: return arg > NSIG ? -EINVAL : 0; /* accepted, never sent */
	case PR_GET_PDEATHSIG: return copyout(p->pml4, arg, &zero, 4) < 0 ? -EFAULT : 0;
	case PR_GET_DUMPABLE: return 1;
	case PR_SET_DUMPABLE: return arg > 1 ? -EINVAL : 0;
	}
	return -EINVAL;
}

/*
 * The wall clock: the CMOS real-time clock (kvmlab's shows the host's time,
 * in UTC) is read once, at the first question, and from then on the time
 * of day is that moment plus the time since boot (time_ns). So
 * CLOCK_REALTIME, time and gettimeofday are the date, the other clocks the
 * time since boot. The RTC: index port 0x70, data 0x71; registers 0 (s),
 * 2 (min), 4 (h), 7 (day), 8 (month), 9 (year % 100), 0x32 (century);
 * register A bit 7 is "update in progress"; register B says binary or BCD
 * (bit 2) and 24-hour or 12 with 0x80 for PM (bit 1).
 */
static u8 cmos(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static u64 rtc_seconds(void)
{
	u8 r[6], b, cent;
	u64 v[6], y, m, days;

	for (int i = 0; i < 100000 && (cmos(0x0A) & 0x80); i++)
		;
	r[0] = cmos(0), r[1] = cmos(2), r[2] = cmos(4), r[3] = cmos(7), r[4] = cmos(8), r[5] = cmos(9);
	b = cmos(0x0B), cent = cmos(0x32);
	for (int i = 0; i < 6; i++) {
		u8 x = i == 2 ? r[i] & 0x7F : r[i];

		v[i] = (b & 4) ? x : (x >> 4) * 10 + (x & 15);
	}
	if (!(b & 2) && (r[2] & 0x80))
		v[2] = (v[2] % 12) + 12; /* 12-hour clock, PM */
	else if (!(b & 2))
		v[2] %= 12;
	cent = (b & 4) ? cent : (u8)((cent >> 4) * 10 + (cent & 15));
	y = (cent >= 19 && cent <= 30 ? cent : 20) * 100 + v[5];
	m = v[4];
	if (y < 1970 || m < 1 || m > 12 || v[3] < 1 || v[3] > 31)
		return 0; /* no clock, or nonsense: stay in 1970 */
	/* Days since 1970-01-01 of a proleptic Gregorian date, with March as
	 * the first month so that February's leap day comes last. */
	if (m <= 2)
		y--, m += 12;
	days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + v[3] - 719469;
	return days * 86400 + v[2] * 3600 + v[1] * 60 + v[0];
}

static u64 wall_offset;
static bool wall_known;

u64 wall_offset_ns(void)
{
	if (!wall_known) {
		u64 now = time_ns(), s = rtc_seconds();

		wall_offset = s * 1000000000ul > now ? s * 1000000000ul - now : 0;
		wall_known = true;
	}
	return wall_offset;
}

/* time and gettimeofday: clock_gettime's CLOCK_REALTIME. */
static i64 sys_gettimeofday(struct proc *p, u64 utv, u64 utz)
{
	u64 ns = time_ns() + wall_offset_ns(), tv[2] = { ns / 1000000000, ns % 1000000000 / 1000 };
	u32 tz[2] = { 0, 0 };

	if (utv && copyout(p->pml4, utv, tv, sizeof(tv)) < 0)
		return -EFAULT;
	if (utz && copyout(p->pml4, utz, tz, sizeof(tz)) < 0)
		return -EFAULT;
	return 0;
}

static i64 sys_time(struct proc *p, u64 ut)
{
	u64 s = (time_ns() + wall_offset_ns()) / 1000000000;

	if (ut && copyout(p->pml4, ut, &s, 8) < 0)
		return -EFAULT;
	return (i64)s;
}

/*
 * statfs, fstatfs (what df asks): the tree is one RAM filesystem, so its
 * blocks are the page frames: all of RAM, and the free ones; /proc is
 * proc's with no blocks. Linux's struct statfs: 120 bytes.
 */
#define RAMFS_MAGIC 0x858458F6ul
#define PROC_SUPER_MAGIC 0x9FA0ul

static bool fd_ok(struct proc *p, u64 fd)
{
	return fd < NOFILE && p->ofile[fd];
}

static i64 put_statfs(struct proc *p, struct inode *ip, u64 ubuf)
{
	u64 st[15] = { 0 };
	bool proc = ip->pkind != 0;

	st[0] = proc ? PROC_SUPER_MAGIC : RAMFS_MAGIC;
	st[1] = PAGE_SIZE;                                  /* f_bsize */
	st[2] = proc ? 0 : pmm_usable_bytes() / PAGE_SIZE;  /* f_blocks */
	st[3] = st[4] = proc ? 0 : pmm_free_pages();        /* f_bfree, f_bavail */
	st[8] = 255;                                        /* f_namelen */
	st[9] = PAGE_SIZE;                                  /* f_frsize */
	return copyout(p->pml4, ubuf, st, sizeof(st)) < 0 ? -EFAULT : 0;
}

static i64 sys_statfs(struct proc *p, u64 upath, u64 ubuf)
{
	char path[PATH_MAX_K];
	struct inode *ip;
	int r;

	if (copyinstr(p->pml4, path, upath, sizeof(path)) < 0)
		return -EFAULT;
	if ((r = fs_walk(p->cwd, path, true, &ip)) < 0)
		return r;
	return put_statfs(p, ip, ubuf);
}

static i64 sys_fstatfs(struct proc *p, u64 fd, u64 ubuf)
{
	struct file *f = fd_ok(p, fd) ? p->ofile[fd] : NULL;

	if (!f)
		return -EBADF;
	if (!f->ip)
		return -EINVAL; /* a pipe: Linux says pipefs, we have none */
	return put_statfs(p, f->ip, ubuf);
}

/* getgroups: no supplementary groups, as Linux's init has. */
static i64 sys_getgroups(u64 size)
{
	return (int)size < 0 ? -EINVAL : 0;
}

/*
 * The kernel log: everything kprintf printed, the last KLOG_SIZE bytes of
 * it, in a ring. syslog(2) (klogctl, what dmesg calls) reads it: action 3
 * reads it all, 4 reads and clears, 5 clears, 9 and 10 say how much there
 * is and how big the ring is; opening, closing and the console level (0, 1,
 * 6-8) are accepted; 2 (read and wait for more) is -EINVAL here.
 */
#define KLOG_SIZE 16384
static char klog[KLOG_SIZE];
static u64 klog_end, klog_start; /* bytes ever written; the first one still kept */

void klog_putc(char c)
{
	klog[klog_end++ % KLOG_SIZE] = c;
	if (klog_end - klog_start > KLOG_SIZE)
		klog_start = klog_end - KLOG_SIZE;
}

static i64 sys_syslog(struct proc *p, u64 action, u64 ubuf, u64 len)
{
	u64 n = klog_end - klog_start, from;

	switch (action) {
	case 0: case 1: case 6: case 7: case 8: return 0;
	case 5: klog_start = klog_end; return 0;
	case 9: return (i64)n;
	case 10: return KLOG_SIZE;
	case 3: case 4: break;
	default: return -EINVAL;
	}
	if ((i64)len < 0)
		return -EINVAL;
	if (n > len)
		n = len;
	from = klog_end - n; /* the newest n bytes */
	for (u64 i = 0; i < n; i++)
		if (copyout(p->pml4, ubuf + i, &klog[(from + i) % KLOG_SIZE], 1) < 0)
			return -EFAULT;
	if (action == 4)
		klog_start = klog_end;
	return (i64)n;
}

/* The calls above (syscall.c asks here before giving up with -ENOSYS). */
bool misc_syscall(struct proc *p, struct trapframe *tf, i64 *ret)
{
	u64 a0 = tf->rdi, a1 = tf->rsi, a2 = tf->rdx, a3 = tf->r10;

	switch (tf->rax) {
	case NR_getrlimit: *ret = sys_prlimit64(p, 0, a0, 0, a1); break;
	case NR_setrlimit: *ret = a1 ? sys_prlimit64(p, 0, a0, a1, 0) : -EFAULT; break;
	case NR_prlimit64: *ret = sys_prlimit64(p, a0, a1, a2, a3); break;
	case NR_getrandom: *ret = sys_getrandom(p, a0, a1, a2); break;
	case NR_prctl: *ret = sys_prctl(p, a0, a1); break;
	case NR_gettimeofday: *ret = sys_gettimeofday(p, a0, a1); break;
	case NR_time: *ret = sys_time(p, a0); break;
	case NR_clone3: *ret = sys_clone3(p, a0, a1); break;
	case NR_getgroups: *ret = sys_getgroups(a0); break;
	case NR_statfs: *ret = sys_statfs(p, a0, a1); break;
	case NR_fstatfs: *ret = sys_fstatfs(p, a0, a1); break;
	case NR_syslog: *ret = sys_syslog(p, a0, a1, a2); break;
	case NR_sync: *ret = 0; break; /* everything is in RAM: nothing to write back */
	case NR_syncfs: *ret = fd_ok(p, a0) ? 0 : -EBADF; break;
	case NR_set_robust_list: case NR_rseq: *ret = -ENOSYS; break; /* see the top */
	default: return false;
	}
	return true;
}
