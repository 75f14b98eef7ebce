/*
 * procfs.c - /proc: the kernel's state as text files, in the formats Linux
 * uses, so that tools like ps, free, uptime and top work unchanged.
 *
 * Nothing here is stored: /proc's inodes are a few static ones (meminfo,
 * uptime, loadavg, stat, version, the symlink self) and one set per process
 * slot for /proc/PID/ (stat, statm, status, cmdline, maps, comm), filled in
 * when a lookup or a directory listing names them. A file's text is made
 * when it is opened, into one page the open file keeps (struct file's buf),
 * so a reader sees one consistent snapshot however it reads it.
 */
#include "fs.h"
#include <stdarg.h>

enum {
	P_MEMINFO = 3, P_UPTIME, P_LOADAVG, P_STAT, P_VERSION, /* /proc/... */
	P_PIDDIR, P_PSTAT, P_PSTATM, P_PSTATUS, P_PCMDLINE, P_PMAPS, P_PCOMM, /* /proc/PID/... */
	P_PFDDIR, P_PFD, /* /proc/PID/fd/N: a link to what fd N is */
	P_MOUNTS,
	P_PSMAPS_ROLLUP, /* /proc/PID/smaps_rollup */
};

static const struct {
	const char *name;
	u8 kind;
} root_ents[] = { { "self", PROC_SELF }, { "meminfo", P_MEMINFO }, { "uptime", P_UPTIME },
		  { "loadavg", P_LOADAVG }, { "stat", P_STAT }, { "version", P_VERSION },
		  { "mounts", P_MOUNTS } },
  pid_ents[] = { { "stat", P_PSTAT }, { "statm", P_PSTATM }, { "status", P_PSTATUS },
		 { "cmdline", P_PCMDLINE }, { "maps", P_PMAPS }, { "comm", P_PCOMM }, { "fd", P_PFDDIR },
		 { "smaps_rollup", P_PSMAPS_ROLLUP } };
#define NROOT (sizeof(root_ents) / sizeof(root_ents[0]))
#define NPID (sizeof(pid_ents) / sizeof(pid_ents[0]))

static struct inode root_ino[NROOT];
static struct inode pid_ino[NPROC][1 + NPID]; /* [slot][0]: the directory */
static char pid_name[NPROC][12];
static struct inode fd_ino[NPROC][NOFILE];
static char fd_name[NOFILE][4];

/* --- snprintf on the kernel's printf (lib.c's kvformat) --------------------- */

struct out {
	char *buf;
	long size, len;
};

static void put(char c, void *arg)
{
	struct out *o = arg;

	if (o->len < o->size - 1)
		o->buf[o->len] = c;
	o->len++;
}

static int kvsnprintf(char *buf, long size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	kvformat(put, &o, fmt, ap);
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int ksnprintf(char *buf, long size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Append to a page of text: o->len grows, never past the page. */
static void add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	long room = o->size - o->len;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	int n = kvsnprintf(o->buf + o->len, room, fmt, ap);
	va_end(ap);
	o->len += n < room ? n : room - 1;
}

/* --- the inodes ----------------------------------------------------------- */

static struct proc *proc_by_pid(int pid)
{
	for (int k = 0; k < NPROC; k++) {
		struct proc *p = proc_at(k);

		if (p->state != UNUSED && p->pid == pid)
			return p;
	}
	return NULL;
}

bool procfs_dir(struct inode *dir)
{
	return dir->pkind == PROC_ROOT || dir->pkind == P_PIDDIR || dir->pkind == P_PFDDIR;
}

static void set(struct inode *ip, struct inode *parent, const char *name, u8 kind, int pid,
		u32 mode, u32 ino)
{
	ip->parent = parent;
	ip->name = (char *)name;
	ip->pkind = kind;
	ip->ppid = pid;
	ip->mode = mode;
	ip->ino = ino;
	ip->nlink = S_ISDIR(mode) ? 2 : 1;
	ip->mtime = parent->mtime;
}

/* /proc/PID/ of the process in slot k (its inodes are refreshed for it). */
static struct inode *pid_dir(struct inode *root, int k)
{
	struct proc *p = proc_at(k);
	struct inode *d = &pid_ino[k][0];

	ksnprintf(pid_name[k], sizeof(pid_name[k]), "%d", p->pid);
	set(d, root, pid_name[k], P_PIDDIR, p->pid, S_IFDIR | 0555, 0x10000u + (u32)p->pid * 16);
	for (u32 i = 0; i < NPID; i++)
		set(&pid_ino[k][1 + i], d, pid_ents[i].name, pid_ents[i].kind, p->pid,
		    pid_ents[i].kind == P_PFDDIR ? S_IFDIR | 0500 : S_IFREG | 0444, d->ino + 1 + i);
	return d;
}

/* /proc/PID/fd/N: a symbolic link, if that process has fd N open. */
static struct inode *fd_lookup(struct inode *dir, const char *name)
{
	struct proc *p = proc_by_pid(dir->ppid);
	int fd = 0, k = (int)(p - proc_at(0));

	if (!name[0] || strlen(name) > 2)
		return NULL;
	for (const char *s = name; *s; s++) {
		if (*s < '0' || *s > '9')
			return NULL;
		fd = fd * 10 + (*s - '0');
	}
	if (fd >= NOFILE || !p->ofile[fd] || (name[0] == '0' && name[1]))
		return NULL;
	ksnprintf(fd_name[fd], sizeof(fd_name[fd]), "%d", fd);
	set(&fd_ino[k][fd], dir, fd_name[fd], P_PFD, p->pid, S_IFLNK | 0700, dir->ino * 64 + (u32)fd);
	fd_ino[k][fd].pfd = fd;
	return &fd_ino[k][fd];
}

struct inode *procfs_lookup(struct inode *dir, const char *name)
{
	if (dir->pkind == PROC_ROOT) {
		int pid = 0;

		for (u32 i = 0; i < NROOT; i++)
			if (!strncmp(name, root_ents[i].name, NAME_MAX_K)) {
				set(&root_ino[i], dir, root_ents[i].name, root_ents[i].kind, 0,
				    root_ents[i].kind == PROC_SELF ? S_IFLNK | 0777 : S_IFREG | 0444,
				    0x100u + i);
				return &root_ino[i];
			}
		for (const char *s = name; *s; s++) {
			if (*s < '0' || *s > '9' || pid > 1000000)
				return NULL;
			pid = pid * 10 + (*s - '0');
		}
		for (int k = 0; k < NPROC; k++)
			if (proc_at(k)->state != UNUSED && proc_at(k)->pid == pid)
				return pid_dir(dir, k);
		return NULL;
	}
	if (!proc_by_pid(dir->ppid))
		return NULL;
	if (dir->pkind == P_PFDDIR)
		return fd_lookup(dir, name);
	for (u32 i = 0; i < NPID; i++)
		if (!strncmp(name, pid_ents[i].name, NAME_MAX_K))
			for (int k = 0; k < NPROC; k++)
				if (&pid_ino[k][0] == dir)
					return &pid_ino[k][1 + i];
	return NULL;
}

/* What an fd is: a file's path, or "pipe:[N]" as on Linux. */
static i64 fd_readlink(struct inode *ip, char *buf, u64 size)
{
	char s[PATH_MAX_K];
	struct proc *p = proc_by_pid(ip->ppid);
	struct file *f = p && ip->pfd < NOFILE ? p->ofile[ip->pfd] : NULL;
	long n;

	if (!f)
		return -ENOENT;
	if (f->ip)
		n = fs_path(f->ip, s, sizeof(s)) - 1;
	else
		n = ksnprintf(s, sizeof(s), "pipe:[%u]", (u32)((u64)f->pipe >> 4));
	if (n < 0)
		return n;
	if ((u64)n > size)
		n = (long)size;
	memcpy(buf, s, (size_t)n);
	return n;
}

/* /proc/self: the caller's own pid. */
i64 procfs_readlink(struct inode *ip, char *buf, u64 size)
{
	char s[12];
	int n;

	if (ip->pkind == P_PFD)
		return fd_readlink(ip, buf, size);
	if (ip->pkind != PROC_SELF)
		return -EINVAL;
	n = ksnprintf(s, sizeof(s), "%d", curproc->pid);
	if ((u64)n > size)
		n = (int)size;
	memcpy(buf, s, (size_t)n);
	return n;
}

static i64 procdir_getdents(struct file *f, struct proc *p, u64 ubuf, u64 n)
{
	struct inode *dir = f->ip;
	u64 done = 0;
	bool root = dir->pkind == PROC_ROOT;
	u64 nfixed = root ? NROOT : NPID, end = 2 + nfixed + (root ? NPROC : 0);

	if (dir->pkind == P_PFDDIR)
		nfixed = 0, end = 2 + NOFILE;

	for (; f->off < end; f->off++) {
		struct inode *ip = NULL;
		char name[8];
		i64 r;

		if (f->off < 2)
			ip = f->off ? dir->parent : dir;
		else if (dir->pkind == P_PFDDIR)
			ip = fd_lookup(dir, ksnprintf(name, sizeof(name), "%lu", f->off - 2) ? name : "");
		else if (f->off < 2 + nfixed)
			ip = procfs_lookup(dir, root ? root_ents[f->off - 2].name :
					   pid_ents[f->off - 2].name);
		else if (proc_at((int)(f->off - 2 - nfixed))->state != UNUSED)
			ip = pid_dir(dir, (int)(f->off - 2 - nfixed));
		if (!ip)
			continue;
		r = put_dirent(p, ubuf + done, n - done, ip->ino, (i64)f->off + 1, dtype(ip->mode),
			       f->off == 0 ? "." : f->off == 1 ? ".." : ip->name);
		if (r <= 0) {
			if (done)
				break;
			return r < 0 ? r : -EINVAL;
		}
		done += (u64)r;
	}
	return (i64)done;
}

static i64 procdir_lseek(struct file *f, i64 off, int whence)
{
	if (whence != 0 || off < 0)
		return -EINVAL;
	f->off = (u64)off;
	return off;
}

const struct fileops procdir_fops = { .lseek = procdir_lseek, .getdents = procdir_getdents };

/* --- the files' text ---------------------------------------------------------- */

#define TICKS(ns) ((ns) / 10000000) /* clock ticks of 1/100 s (USER_HZ) */

static u64 uptime_ns(void)
{
	u64 ns = kvmclock_ns();

	return ns ? ns : ticks * tick_ms * 1000000;
}

/* CPU time the processes used, so that the rest of the uptime was idle. */
static u64 busy_ns(u64 *user, u64 *sys, u64 *switches)
{
	*user = *sys = *switches = 0;
	for (int k = 0; k < NPROC; k++) {
		struct proc *p = proc_at(k);

		if (p->state == UNUSED)
			continue;
		*user += p->utime_ns + (p == initproc ? p->cusage.utime_ns : 0);
		*sys += p->stime_ns + (p == initproc ? p->cusage.stime_ns : 0);
		*switches += p->nvcsw + p->nivcsw;
	}
	return *user + *sys;
}

static void gen_meminfo(struct out *o)
{
	u64 total = pmm_usable_bytes() / 1024, free = pmm_free_pages() * (PAGE_SIZE / 1024);
	static const char *const zero[] = { "SwapCached:", "Active:", "Inactive:", "SwapTotal:",
					    "SwapFree:", "Dirty:", "Shmem:", "SReclaimable:" };

	add(o, "%-16s%8lu kB\n", "MemTotal:", total);
	add(o, "%-16s%8lu kB\n", "MemFree:", free);
	add(o, "%-16s%8lu kB\n", "MemAvailable:", free);
	add(o, "%-16s%8lu kB\n", "Buffers:", 0ul);
	add(o, "%-16s%8lu kB\n", "Cached:", 0ul);
	for (u32 i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		add(o, "%-16s%8lu kB\n", zero[i], 0ul); /* no swap, no page cache */
}

static void gen_uptime(struct out *o)
{
	u64 up = uptime_ns(), u, s, sw, busy = busy_ns(&u, &s, &sw), idle = up > busy ? up - busy : 0;

	add(o, "%lu.%02lu %lu.%02lu\n", up / 1000000000, up / 10000000 % 100, idle / 1000000000,
	    idle / 10000000 % 100);
}

static void gen_loadavg(struct out *o)
{
	int running = 0, total = 0, last = 0;

	for (int k = 0; k < NPROC; k++) {
		struct proc *p = proc_at(k);

		if (p->state == UNUSED)
			continue;
		total++;
		running += p->state == RUNNABLE || p->state == RUNNING;
		if (p->pid > last)
			last = p->pid;
	}
	/* no load average is computed yet (the scheduler's part): zeros */
	add(o, "0.00 0.00 0.00 %d/%d %d\n", running, total, last);
}

static void gen_stat(struct out *o)
{
	u64 u, s, sw, up = uptime_ns(), busy = busy_ns(&u, &s, &sw);
	u64 idle = TICKS(up > busy ? up - busy : 0);
	int running = 0, last = 0;

	for (int k = 0; k < NPROC; k++) {
		struct proc *p = proc_at(k);

		running += p->state == RUNNABLE || p->state == RUNNING;
		if (p->state != UNUSED && p->pid > last)
			last = p->pid;
	}
	add(o, "cpu  %lu 0 %lu %lu 0 0 0 0 0 0\n", TICKS(u), TICKS(s), idle);
	add(o, "cpu0 %lu 0 %lu %lu 0 0 0 0 0 0\n", TICKS(u), TICKS(s), idle);
	add(o, "intr %lu\nctxt %lu\nbtime %lu\nprocesses %d\nprocs_running %d\nprocs_blocked 0\n",
	    ticks, sw, wall_offset_ns() / 1000000000, last, running); /* btime: the boot's date */
}

static char state_char(struct proc *p)
{
	if (p->state == SLEEPING && p->stopped)
		return 'T'; /* stopped by a signal, waiting for SIGCONT */
	return p->state == SLEEPING ? 'S' : p->state == ZOMBIE ? 'Z' : 'R';
}

static const char *state_name(struct proc *p)
{
	if (p->state == SLEEPING && p->stopped)
		return "T (stopped)";
	return p->state == SLEEPING ? "S (sleeping)" : p->state == ZOMBIE ? "Z (zombie)" :
	       "R (running)";
}

static u64 rss_pages(struct proc *p) { return p->pml4 ? vm_rss_pages(p->pml4) : 0; }

/* /proc/PID/stat: 52 fields in Linux's order (man 5 proc). Process groups and
 * sessions are the signals engineer's: pid stands in for both until then. */
static void gen_pstat(struct out *o, struct proc *p)
{
	int ppid = p->parent ? p->parent->pid : 0;

	add(o, "%d (%s) %c %d %d %d 0 -1 %u ", p->pid, p->name, state_char(p), ppid, p->pid, p->pid,
	    0x400000u /* PF_FORKNOEXEC-like flags: just a kernel word */);
	add(o, "%lu %lu %lu %lu ", p->minflt, p->cusage.minflt, p->majflt, p->cusage.majflt);
	add(o, "%lu %lu %lu %lu ", TICKS(p->utime_ns), TICKS(p->stime_ns),
	    TICKS(p->cusage.utime_ns), TICKS(p->cusage.stime_ns));
	add(o, "%d %d 1 0 %lu ", 20 + p->nice, p->nice, TICKS(p->start_ns));
	add(o, "%lu %lu 18446744073709551615 ", p->pml4 ? vm_size_bytes(p) : 0, rss_pages(p));
	add(o, "0 0 0 0 0 "); /* startcode endcode startstack kstkesp kstkeip */
	add(o, "0 0 0 0 0 0 0 17 0 0 0 0 0 0 "); /* signals, wchan, nswap, exit_signal, cpu... */
	add(o, "0 0 0 0 0 0 0 %d\n", p->state == ZOMBIE ? p->wait_status : 0);
}

static void gen_pstatm(struct out *o, struct proc *p)
{
	u64 size = (p->pml4 ? vm_size_bytes(p) : 0) / PAGE_SIZE;

	add(o, "%lu %lu 0 0 0 %lu 0\n", size, rss_pages(p), size);
}

/*
 * /proc/PID/smaps_rollup: the resident pages split as Linux's smaps does,
 * shared (someone else holds the frame too: a process after fork, until
 * copy-on-write gives one of them its own copy; or a MAP_SHARED object, so
 * such memory counts as shared even in one process, unlike on Linux) or
 * private, and clean or dirty (the CPU's dirty bit in the page table entry).
 * Pss divides each page by its holders. The cow experiment reads it.
 */
struct rollup {
	u64 rss, pss_bytes, priv[2], shared[2]; /* pages; [0] clean, [1] dirty */
};

static void rollup_pte(pte_t pte, void *arg)
{
	struct rollup *r = arg;
	u32 refs = page_ref(PTE_ADDR(pte));
	bool dirty = (pte & PTE_D) != 0;

	refs = refs ? refs : 1;
	r->rss++;
	r->pss_bytes += PAGE_SIZE / refs;
	if (refs > 1)
		r->shared[dirty]++;
	else
		r->priv[dirty]++;
}

static void gen_psmaps_rollup(struct out *o, struct proc *p)
{
	struct rollup r = { 0 };
	pte_t *pml4 = p->pml4;

	if (pml4)
		vm_each_user_pte(pml4, rollup_pte, &r);
	add(o, "00400000-7ffffffff000 ---p 00000000 00:00 0                          [rollup]\n");
	add(o, "Rss:            %8lu kB\nPss:            %8lu kB\n", r.rss * 4, r.pss_bytes / 1024);
	add(o, "Shared_Clean:   %8lu kB\nShared_Dirty:   %8lu kB\n", r.shared[0] * 4, r.shared[1] * 4);
	add(o, "Private_Clean:  %8lu kB\nPrivate_Dirty:  %8lu kB\nSwap:           %8lu kB\n",
	    r.priv[0] * 4, r.priv[1] * 4, 0ul);
}

static void gen_pstatus(struct out *o, struct proc *p)
{
	add(o, "Name:\t%s\nUmask:\t0022\nState:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n",
	    p->name, state_name(p), p->pid, p->pid, p->parent ? p->parent->pid : 0);
	add(o, "TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t%d\n", NOFILE);
	add(o, "VmSize:\t%8lu kB\nVmRSS:\t%8lu kB\nThreads:\t1\n",
	    (p->pml4 ? vm_size_bytes(p) : 0) / 1024, rss_pages(p) * (PAGE_SIZE / 1024));
	add(o, "voluntary_ctxt_switches:\t%lu\nnonvoluntary_ctxt_switches:\t%lu\n", p->nvcsw,
	    p->nivcsw);
}

/* The text of a /proc file into a page: its length, or -errno. */
static long generate(struct inode *ip, char *buf, long size)
{
	struct out o = { buf, size, 0 };
	struct proc *p = NULL;

	if (ip->pkind >= P_PIDDIR && ip->pkind != P_MOUNTS && !(p = proc_by_pid(ip->ppid)))
		return -ENOENT; /* it has ended meanwhile */
	switch (ip->pkind) {
	case P_MEMINFO: gen_meminfo(&o); break;
	case P_UPTIME: gen_uptime(&o); break;
	case P_LOADAVG: gen_loadavg(&o); break;
	case P_STAT: gen_stat(&o); break;
	case P_MOUNTS: add(&o, "ramfs / ramfs rw 0 0\nproc /proc proc rw 0 0\n"); break;
	case P_VERSION: add(&o, "Linux version %s (kvmlab) #1 %s\n", KERNEL_VERSION, KERNEL_NAME); break;
	case P_PSTAT: gen_pstat(&o, p); break;
	case P_PSTATM: gen_pstatm(&o, p); break;
	case P_PSTATUS: gen_pstatus(&o, p); break;
	case P_PCOMM: add(&o, "%s\n", p->name); break;
	case P_PSMAPS_ROLLUP: gen_psmaps_rollup(&o, p); break;
	case P_PCMDLINE:
		memcpy(buf, p->cmdline, p->cmdline_len);
		return p->cmdline_len;
	case P_PMAPS:
		return p->pml4 ? vm_maps_text(p, buf, size) : 0;
	default:
		return -EINVAL;
	}
	return o.len;
}

static i64 proc_read(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	if (off >= f->len)
		return 0;
	if (n > f->len - off)
		n = f->len - off;
	return copyout(p->pml4, ubuf, f->buf + off, n) < 0 ? -EFAULT : (i64)n;
}

static i64 proc_lseek(struct file *f, i64 off, int whence)
{
	return generic_lseek(f, off, whence, f->len);
}

static void proc_close(struct file *f) { kfree(f->buf); }

static const struct fileops proc_fops = { .read = proc_read, .lseek = proc_lseek, .close = proc_close };

int procfs_open(struct inode *ip, u32 flags, struct file **out)
{
	struct file *f;
	char *buf;
	long n;

	if (ip->pkind == PROC_SELF || ip->pkind == P_PFD || ip->pkind == P_PFDDIR)
		return ip->pkind == P_PFDDIR ? -EISDIR : -ELOOP;
	if ((flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	if (!(buf = kalloc()))
		return -ENOMEM;
	if ((n = generate(ip, buf, PAGE_SIZE)) < 0 || !(f = file_alloc(&proc_fops, flags))) {
		kfree(buf);
		return n < 0 ? (int)n : -ENOMEM;
	}
	f->buf = buf;
	f->len = (u64)n;
	f->ip = ip;
	ip->ref++;
	*out = f;
	return 0;
}
