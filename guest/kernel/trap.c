/*
 * trap.c - the interrupt descriptor table and what happens on a trap.
 *
 * The IDT has one 16-byte gate per vector: the handler's address (split into
 * three pieces), the code segment to run it in, the IST stack to switch to
 * (0 = stay on the current stack) and the type: an *interrupt* gate (0xE)
 * clears IF on entry, so a handler is never interrupted by another interrupt.
 *
 * Vectors 0-31 are the CPU's exceptions; 32 is our LAPIC timer; 255 the
 * LAPIC's spurious vector. An exception in the kernel is a bug: we print an
 * "oops" with everything needed to find it and end the VM with EXIT_OOPS.
 */
#include "kernel.h"
#include "x86.h"

struct gate {
	u16 off_lo;
	u16 sel;
	u8 ist;
	u8 type; /* P | DPL | type */
	u16 off_mid;
	u32 off_hi;
	u32 reserved;
} __attribute__((packed));

static struct gate idt[256];
extern const u64 trap_vectors[35];

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved (15)", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
	"reserved (22)", "reserved (23)", "reserved (24)", "reserved (25)", "reserved (26)",
	"reserved (27)", "#HV hypervisor injection", "#VC VMM communication", "#SX security",
	"reserved (31)",
};

static void set_gate(int vec, u64 handler, int ist)
{
	idt[vec] = (struct gate){
		.off_lo = handler & 0xFFFF,
		.sel = SEG_KCODE,
		.ist = (u8)ist,
		.type = 0x8E, /* present, DPL 0, 64-bit interrupt gate */
		.off_mid = (handler >> 16) & 0xFFFF,
		.off_hi = (u32)(handler >> 32),
	};
}

void trap_init(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (u64)idt };

	for (int v = 0; v < 32; v++)
		/* A double fault or an NMI may come with a broken stack: each gets
		 * a stack of its own (IST1, IST2), so one cannot clobber the other's. */
		set_gate(v, trap_vectors[v], v == 8 ? 1 : v == 2 ? 2 : 0);
	set_gate(T_TIMER, trap_vectors[32], 0);
	set_gate(T_SPURIOUS, trap_vectors[33], 0);
	set_gate(T_COM1, trap_vectors[34], 0);
	idt[3].type = 0xEE; /* DPL 3: a user's int3 is #BP (SIGTRAP), not #GP */
	__asm__ volatile("lidt %0" : : "m"(desc));
}

static void oops(struct trapframe *tf)
{
	u64 cr2 = rcr2();

	kprintf("\noops: %s (vector %lu), error code 0x%lx\n",
		tf->vector < 32 ? exc_names[tf->vector] : "unexpected interrupt", tf->vector, tf->err);
	if (tf->vector == 14)
		/* The page-fault error code: what the access was and why it failed. */
		kprintf("  cr2=0x%016lx: %s %s, %s%s%s\n", cr2,
			tf->err & 4 ? "user" : "kernel",
			tf->err & 16 ? "instruction fetch" : tf->err & 2 ? "write" : "read",
			tf->err & 1 ? "protection violation" : "page not present",
			tf->err & 8 ? ", reserved bit set" : "",
			tf->err & 0x8000 ? ", SGX" : "");
	kprintf("  rip=0x%016lx cs=0x%lx rflags=0x%lx rsp=0x%016lx ss=0x%lx\n", tf->rip, tf->cs,
		tf->rflags, tf->rsp, tf->ss);
	kprintf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
	kprintf("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->r8);
	kprintf("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", tf->r9, tf->r10, tf->r11, tf->r12);
	kprintf("  r13=%016lx r14=%016lx r15=%016lx cr3=%016lx\n", tf->r13, tf->r14, tf->r15, rcr3());
	kprintf("oops: the VM ends with status %d\n", EXIT_OOPS);
	kexit(EXIT_OOPS);
}

/* The signal an exception in user mode becomes, as on Linux. */
static int fault_signal(u64 vector)
{
	switch (vector) {
	case 0: case 16: case 19: return SIGFPE;   /* #DE, #MF, #XM */
	case 1: case 3: return SIGTRAP;            /* #DB, #BP */
	case 6: return SIGILL;                     /* #UD */
	case 12: case 17: return SIGBUS;           /* #SS, #AC */
	default: return SIGSEGV;                   /* #GP, #PF, ... */
	}
}

void trap(struct trapframe *tf)
{
	if ((tf->cs & 3) && curproc)
		sched_enter_kernel(curproc); /* the CPU time so far was user time */
	switch (tf->vector) {
	case T_TIMER:
		ticks++;
		lapic_eoi();
		/* Preemption: the running process's time slice (one tick) is
		 * over; sched_tick lets the scheduler pick the next one if
		 * another is owed the CPU more (and wakes sleepers). */
		sched_tick();
		return;
	case T_SPURIOUS: /* no EOI for a spurious interrupt */
		return;
	case T_COM1: /* console input: the UART's bytes into the tty (console.c) */
		console_intr();
		lapic_eoi();
		return;
	default:
		/* A user page fault the VMAs allow (demand paging, copy-on-write,
		 * mm.c): the page is there now, retry the instruction. */
		if (tf->vector == 14 && (tf->cs & 3) && curproc &&
		    vm_fault(curproc, rcr2(), tf->err) == 0)
			return;
		if ((tf->cs & 3) && curproc) {
			/* A fault in user mode is the program's bug, not the
			 * kernel's: it becomes a signal. A handler for it runs
			 * on the way out; otherwise report it and end the process
			 * (139 = 128 + 11, a shell's way to say "killed by SIGSEGV"). */
			int sig = fault_signal(tf->vector);

			if (signal_fault(tf, sig, tf->vector == 14 ? rcr2() : tf->vector == 13 ? 0 : tf->rip))
				return;
			kprintf("kernel: pid %d (%s): %s (vector %lu) at rip 0x%lx, error 0x%lx",
				curproc->pid, curproc->name,
				tf->vector < 32 ? exc_names[tf->vector] : "interrupt", tf->vector,
				tf->rip, tf->err);
			if (tf->vector == 14)
				kprintf(", address 0x%lx", rcr2());
			kprintf(": killed\n");
			proc_kill(sig);
		}
		oops(tf);
	}
}
