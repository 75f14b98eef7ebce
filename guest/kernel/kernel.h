/*
 * kernel.h - what the kernel's files offer each other.
 */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include "types.h"
#include "mmu.h"

#define KERNEL_NAME "kvmlab teaching kernel"
#define KERNEL_VERSION "0.1"

/* Exit statuses of the VM (what kvmlab exits with, see kexit()). */
#define EXIT_OK 0
#define EXIT_SELFTEST_FAILED 1
#define EXIT_OOPS 2  /* an exception in the kernel */
#define EXIT_PANIC 3 /* a kernel bug caught by a check */

/* console.c */
void console_init(void);
void console_putc(char c);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void kexit(int status) __attribute__((noreturn));

/* lib.c */
#include <stdarg.h>
int kvformat(void (*put)(char, void *), void *arg, const char *fmt, va_list ap);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
/* The command line: cmdline_has("word") and cmdline_get("key=") -> value or NULL. */
#define CMDLINE_MAX 1024
extern char cmdline[CMDLINE_MAX];
bool cmdline_word(const char *key, const char *value);
const char *cmdline_get(const char *key);
u64 cmdline_num(const char *key, u64 dflt);

/* bootinfo (main.c): the memory map kvmlab gave us, copied out of low memory. */
#define E820_RAM 1
#define MAX_MEMMAP 64
struct memrange {
	u64 addr, size;
	u32 type;
};
extern struct memrange memmap[MAX_MEMMAP];
extern int nmemmap;
struct module {
	u64 addr, size;
};
extern struct module modules[4];
extern int nmodules;

/* pmm.c */
void pmm_early_init(void);
void pmm_init(void);
void *boot_alloc(u64 size);
void *kalloc(void);  /* one page, contents undefined; NULL when none is left */
void *kzalloc(void); /* one zeroed page */
void kfree(void *page);
void page_ref_inc(u64 pa);
u32 page_ref(u64 pa);
u64 pmm_free_pages(void);
u64 pmm_usable_bytes(void);
u64 pmm_top(void);
void *kmalloc(size_t n);
void kmfree(void *p);

/* vm.c */
extern pte_t *kernel_pml4;
extern u64 pte_nx;
void cpu_features(void);
void vm_init(void);
pte_t *vm_walk(pte_t *pml4, u64 va, bool create);
int vm_map(pte_t *pml4, u64 va, u64 pa, u64 size, u64 flags);
void vm_unmap(pte_t *pml4, u64 va, u64 size, bool free_frames);
pte_t *vm_create(void);
void vm_destroy(pte_t *pml4);
extern bool cpu_has_nx, cpu_has_smep, cpu_has_smap;

/* gdt.c */
void gdt_init(void);
void tss_set_rsp0(u64 rsp0);

/* trap.c */
struct trapframe {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rdi, rsi, rbp, rdx, rcx, rbx, rax;
	u64 vector, err;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
void trap_init(void);
void trap(struct trapframe *tf);
void trapret(void); /* trapasm.S: pop a trapframe and iretq (a new process starts here) */
#define T_TIMER 32
#define T_SPURIOUS 255

/* kvmclock.c */
bool kvmclock_init(void);
u64 kvmclock_ns(void);
u64 time_ns(void); /* nanoseconds since boot: kvm-clock, else the TSC, else the ticks */

/* lapic.c */
extern volatile u64 ticks;
extern u64 tsc_hz, lapic_hz;
extern const char *lapic_calibrated_by;
extern u32 tick_ms;
void lapic_init(void);
void lapic_eoi(void);
void lapic_timer_start(u32 ms);

/* vm.c (user memory) */
#define USER_TOP 0x0000800000000000ul /* the first address past the user half */
void vm_free_user(pte_t *pml4);
int vm_alloc_user(pte_t *pml4, u64 va, u64 size, u64 flags);
int copyout(pte_t *pml4, u64 dst, const void *src, u64 n);
int copyin(pte_t *pml4, void *dst, u64 src, u64 n);
long copyinstr(pte_t *pml4, char *dst, u64 src, u64 max);
u64 vm_rss_pages(pte_t *pml4); /* user pages present in the page tables */
void vm_each_user_pte(pte_t *pml4, void (*fn)(pte_t pte, void *arg), void *arg);

/* mm.c: virtual memory areas, demand paging, copy-on-write, mmap & co. */
struct proc;
int mm_fault(pte_t *pml4, u64 va, bool write, bool exec); /* 0, -EFAULT, -ENOMEM */
int vm_fault(struct proc *p, u64 va, u64 err); /* a user #PF: 0 fixed, -1 SIGSEGV */
int mm_add_segment(pte_t *pml4, u64 start, u64 end, u32 prot, u64 off, const char *path);
int mm_add_stack(pte_t *pml4, u64 top, u64 size);
struct inode;
u64 mm_segment_file(pte_t *pml4, u64 va, u64 off, struct inode *ip, u64 fend); /* exec: demand loading */
void mm_free(pte_t *pml4);
i64 sys_mmap(struct proc *p, u64 addr, u64 len, u64 prot, u64 flags, u64 fd, u64 off);
i64 sys_munmap(struct proc *p, u64 addr, u64 len);
i64 sys_mprotect(struct proc *p, u64 addr, u64 len, u64 prot);
i64 sys_madvise(struct proc *p, u64 addr, u64 len, u64 advice);
i64 sys_msync(struct proc *p, u64 addr, u64 len, u64 flags);
i64 sys_brk(struct proc *p, u64 addr);
u64 vm_size_bytes(struct proc *p); /* VmSize: the sum of the VMAs' sizes */
long vm_maps_text(struct proc *p, char *buf, long size); /* /proc/<pid>/maps; its length */
bool mm_selftest(void);

/* proc.c */
#define NPROC 64
#define NOFILE 64 /* open files per process */
#define KSTACK_SIZE 16384
enum procstate { UNUSED, EMBRYO, RUNNABLE, RUNNING, SLEEPING, ZOMBIE };
struct proc {
	int pid;
	enum procstate state;
	char name[32];
	u8 *kstack;           /* KSTACK_SIZE bytes; its top is rsp0 and the syscall stack */
	u64 ctx;              /* the saved kernel rsp while switched out (swtch) */
	struct trapframe *tf; /* the user registers, at the top of kstack */
	pte_t *pml4;          /* the address space (NULL: a kernel thread) */
	struct proc *parent;
	const void *chan;     /* what it sleeps on (SLEEPING): see sleep_on() */
	u64 fs_base;          /* the thread pointer (arch_prctl ARCH_SET_FS) */
	u64 brk_start, brk;   /* the heap: [brk_start, brk) */
	u64 mmap_next;        /* where the next anonymous mmap goes */
	int exit_status;      /* what exit() said, or 128 + the signal that killed it */
	int wait_status;      /* the same, as wait4 reports it */
	u8 fpu[512] __attribute__((aligned(16))); /* x87/SSE registers (fxsave) */
	/* Accounting, as getrusage, times, wait4 and /proc report it. */
	u64 start_ns;         /* when it was created (kvmclock_ns) */
	u64 utime_ns, stime_ns; /* CPU time spent in user mode, in the kernel */
	u64 nvcsw, nivcsw;    /* context switches: voluntary (it slept), involuntary (preempted) */
	u64 minflt, majflt;   /* page faults served from memory / that needed I/O */
	u64 maxrss_pages;     /* the largest resident set seen */
	int nice;             /* -20 (most CPU) .. 19 (least) */
	u64 vruntime;         /* CPU time scaled by 1024 / weight(nice): the smallest runs (sched.c) */
	u64 exec_start;       /* when its vruntime was last charged */
	u64 wake_ns;          /* nanosleep: wake at this time_ns() (0: not sleeping on time) */
	int cpu;              /* the CPU whose run queue it is on (0: there is one) */
	struct {
		u64 utime_ns, stime_ns, minflt, majflt, nvcsw, nivcsw, maxrss_pages;
	} cusage;             /* the same, summed over its children that were waited for */
	struct {
		u32 nr, count;
	} nosys[16];          /* the unimplemented syscalls it made */
	/* Files (file.c): open files by fd, the FD_CLOEXEC bit of each fd, the cwd. */
	struct file *ofile[NOFILE];
	u64 cloexec;
	struct inode *cwd;
	char cmdline[256];    /* the argv exec was given, NUL-separated (/proc/PID/cmdline) */
	u32 cmdline_len;
	/* Signals (signal.c) and job control: sets are bit (sig - 1) of a u64. */
	u64 sig_pending, sig_blocked;
	u64 sig_saved_mask;   /* rt_sigsuspend's mask to put back after the handler */
	bool sig_restore_mask;
	bool sleep_intr;      /* in sleep_intr(): a signal may end the sleep */
	bool stopped;         /* SIGSTOP/SIGTSTP: waits for SIGCONT */
	int stop_sig;         /* what stopped it, for wait4's WUNTRACED (0: reported) */
	bool continued;       /* SIGCONT ended a stop: for wait4's WCONTINUED, once */
	struct sigaction_k {
		u64 handler, flags, restorer, mask;
	} sigact[64];         /* rt_sigaction's table, one entry per signal 1-64 */
	struct siginfo_k {
		int code, pid, status;
		u64 addr;
	} siginfo[64];        /* what the last instance of each pending signal said */
	u64 altstack_sp, altstack_size; /* sigaltstack (size 0: none) */
	int pgid, sid;        /* process group and session */
	/* clone.c, misc.c: what glibc's programs need */
	u64 clear_child_tid;  /* CLONE_CHILD_CLEARTID, set_tid_address: 0 written there at exit */
	int exit_signal;      /* to the parent at exit: 0 SIGCHLD (fork), -1 none, else clone's */
	struct proc *vfork_parent; /* CLONE_VFORK: sleeps until we exec or exit */
#define RLIM_NLIMITS 16
	u64 rlim[RLIM_NLIMITS][2]; /* getrlimit/setrlimit: soft, hard (rlim_set: else defaults) */
	bool rlim_set;
};
extern struct proc *curproc, *initproc;
extern struct proc procs[NPROC];
extern u64 syscall_rsp0;
struct proc *proc_alloc(const char *name);
void proc_kthread(struct proc *p, void (*fn)(void *), void *arg);
void scheduler(void); /* returns when no process is left */
void yield(void);
void sleep_on(const void *chan);
int sleep_intr(const void *chan); /* sleep_on, or -EINTR when a signal is pending */
void wakeup(const void *chan);
void proc_exit(int status) __attribute__((noreturn));
void proc_kill(int sig) __attribute__((noreturn));
i64 proc_fork(void);
struct proc *proc_at(int slot); /* the process table's slot 0..NPROC-1 (procfs) */
int proc_count(void);
#define RUSAGE_SELF 0
#define RUSAGE_CHILDREN (-1)
int proc_rusage(struct proc *p, int who, void *out); /* a Linux struct rusage: 144 bytes */
i64 proc_wait4(i64 pid, u64 ustatus, u64 options, u64 urusage);
int vm_copy_user(pte_t *dst, pte_t *src);
int vm_cow_fault(pte_t *pml4, u64 va);
void swtch(u64 *save_rsp, u64 new_rsp); /* swtch.S */

/* sched.c: fair scheduling, CPU-time accounting, sleeping, nice, affinity */
struct proc *sched_pick(void);
void sched_switch_in(struct proc *p);
void sched_switch_out(struct proc *p);
void sched_enter_kernel(struct proc *p); /* from user mode: a syscall or a trap */
void sched_leave_kernel(struct proc *p); /* back to user mode */
void trap_return(struct trapframe *tf);  /* trapasm.S, before every iretq */
void sched_tick(void);                   /* the timer interrupt */
void sched_new(struct proc *p);
void sched_fork(struct proc *child, struct proc *parent);
void sched_wakeup(struct proc *p);
i64 sys_sched_yield(struct proc *p);
i64 sys_nanosleep(struct proc *p, u64 ureq, u64 urem);
i64 sys_clock_nanosleep(struct proc *p, u64 clk, u64 flags, u64 ureq, u64 urem);
i64 sys_getpriority(struct proc *p, u64 which, u64 who);
i64 sys_setpriority(struct proc *p, u64 which, u64 who, u64 prio);
i64 sys_sched_setaffinity(struct proc *p, u64 pid, u64 len, u64 umask);
i64 sys_sched_getaffinity(struct proc *p, u64 pid, u64 len, u64 umask);
i64 sys_getcpu(struct proc *p, u64 ucpu, u64 unode);
i64 sys_sched_getscheduler(struct proc *p, u64 pid);
i64 sys_sched_getparam(struct proc *p, u64 pid, u64 uparam);

/* syscall.c */
#define T_SYSCALL 256 /* the "vector" of a trapframe built by syscall_entry */
void syscall_init(void);
void syscall_entry(void); /* swtch.S */
void syscall(struct trapframe *tf);
void syscall_report(struct proc *p);

/* tty.c: the console as a terminal (fds 0, 1, 2 of the first process) */
i64 tty_read(struct proc *p, u64 ubuf, u64 n);
i64 tty_write(struct proc *p, u64 ubuf, u64 n);
i64 tty_ioctl(struct proc *p, u64 req, u64 arg);

/* tty.c: the input side (console.c's interrupt feeds it), the foreground group */
void tty_input(u8 c);
extern int tty_fg_pgrp, tty_sid;

/* console.c: COM1's receive interrupt (IOAPIC pin 4) */
#define T_COM1 36 /* 32 + ISA IRQ 4 */
void console_intr(void);
void console_enable_rx(void);

/* ioapic.c */
void ioapic_init(void);
void ioapic_enable(int irq, int vector);

/* signal.c (Linux numbers) */
#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define NSIG 64
#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_TKILL (-6)
#define EINTR 4
/* Make sig pending for p (acted on when p next returns to user mode; wakes it
 * from sleep_intr). code/pid/addr: its siginfo. E.g. a write to a pipe
 * nobody reads: signal_send(p, SIGPIPE, SI_USER, p->pid, 0), then -EPIPE. */
int signal_send(struct proc *p, int sig, int code, int pid, u64 addr);
int signal_pgrp(int pgrp, int sig); /* every process of group pgrp; -ESRCH if none */
bool signal_pending(struct proc *p); /* one that would end an interruptible sleep */
void signal_deliver(struct trapframe *tf); /* on every way back to user mode */
bool signal_fault(struct trapframe *tf, int sig, u64 addr); /* true: a handler will run */
void signal_fork(struct proc *child, struct proc *parent);
void signal_exec(struct proc *p);
void signal_exit_notify(struct proc *p); /* SIGCHLD to the parent, or reap at once */
int signal_wait_stopped(struct proc *c); /* wait4 WUNTRACED: a new stop's status, or 0 */
int signal_tty_read_check(struct proc *p); /* 0, or a background reader's -EIO / -EINTR (SIGTTIN) */
struct proc *proc_find(int pid); /* a live (or zombie) process by pid, NULL if none */
struct proc *proc_at(int slot);   /* the proc table's slot, for walking all processes */
i64 signal_syscall(struct proc *p, u64 nr, struct trapframe *tf);

/* initrd.c */
typedef void (*initrd_fn)(const char *name, u32 mode, const u8 *data, u64 size, u64 mtime,
			  u32 rdev);
void initrd_foreach(initrd_fn fn); /* every entry of the cpio archive, in order */

/* file.c, fs.c, pipe.c, procfs.c: files (fs.h has the details) */
struct file;
struct inode;
void file_init(struct proc *p); /* the first process: the tree, cwd /, fds 0-2 the console */
void file_fork(struct proc *np, struct proc *p); /* the child shares p's open files */
void file_exec(struct proc *p, int argc, char *const argv[]); /* close CLOEXEC fds, keep argv */
void file_exit(struct proc *p); /* close every fd */
bool file_syscall(struct proc *p, struct trapframe *tf, i64 *ret); /* the file syscalls */
struct inode *fs_exec_lookup(struct proc *p, const char *path, int *err);

/* clone.c: clone, clone3, vfork (process-style); misc.c: rlimits, getrandom, prctl, time */
i64 sys_clone(struct proc *p, u64 flags, u64 stack, u64 ptid, u64 ctid, u64 tls);
i64 sys_clone3(struct proc *p, u64 uargs, u64 size);
i64 sys_vfork(struct proc *p);
i64 sys_set_tid_address(struct proc *p, u64 tidptr);
void clone_release(struct proc *p, bool exiting); /* at exit and after execve: wake a vfork parent */
void misc_fork(struct proc *c, struct proc *p);   /* fork: inherit the rlimits */
bool misc_syscall(struct proc *p, struct trapframe *tf, i64 *ret);
u64 wall_offset_ns(void); /* CLOCK_REALTIME - the time since boot (the RTC's date at boot) */
void klog_putc(char c); /* the kernel log that syslog (dmesg) reads: kprintf's text */

/* exec.c */
int exec(struct proc *p, const char *path, int argc, char *const argv[], int envc,
	 char *const envp[]);

#endif
