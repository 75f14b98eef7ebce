// SPDX-License-Identifier: MIT
/* One vCPU: its boot state, its thread and the KVM_RUN loop. */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/vm.h"

/* Sent to a vCPU thread to make KVM_RUN return at once; see vcpu_kick(). */
#define KICK_SIGNAL SIGRTMIN

static void kick_handler(int sig)
{
	(void)sig;
}

void vcpu_kick_signal_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);
}

/* --- CPUID ------------------------------------------------------------------ */

static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	for (int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

/*
 * KVM's supported CPUID, made this vCPU's: its APIC id, and the hypervisor bit
 * so guests look for the KVM leaves (0x40000000...) that KVM already lists;
 * without them Linux uses no kvm-clock and calibrates with the PIT, which
 * under nesting can take forever. Of those leaves, paravirtual EOI is hidden:
 * Linux guests offered it hang at random points when KVM itself runs on an
 * emulated CPU (QEMU TCG, our test machines), and the EOI exit it saves is
 * handled in the kernel anyway (docs/boot.md, "Paravirtual EOI").
 * The LAPIC's TSC-deadline mode, which KVM emulates but leaves out of its
 * supported list (KVM_CAP_TSC_DEADLINE_TIMER says it), is offered: Linux then
 * needs no LAPIC timer calibration against the PIT, which nested machines get
 * wrong ("APIC timer disabled due to verification failure").
 */
static int setup_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c = supported_cpuid(v->vm->kvm->fd);
	bool tsc_deadline = ioctl(v->vm->kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	int r;

	if (!c)
		return -1;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00FFFFFF) | ((uint32_t)v->id << 24);
			e->ecx |= 1U << 31;
			if (tsc_deadline)
				e->ecx |= 1U << 24;
			break;
		case KVM_CPUID_FEATURES:
			e->eax &= ~(1U << KVM_FEATURE_PV_EOI);
			break;
		case 0xB:
		case 0x1F:
			e->edx = v->id;
			break;
		}
	}
	r = ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return r;
}

/* --- boot state -------------------------------------------------------------- */

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xFFFFFFFF, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
}

/*
 * Both entry ABIs start with flat segments: CS = 0x10 (32-bit, or 64-bit for
 * long mode), data segments 0x18, a busy 32-bit TSS. PVH: protected mode,
 * paging off, %ebx = start info. Linux's 64-bit boot protocol: long mode on
 * the loader's identity map and GDT, %rsi = boot_params.
 */
static int setup_entry(struct vcpu *v, bool long_mode)
{
	const struct boot_entry *e = &v->vm->entry;
	struct kvm_regs regs = { .rflags = 0x2, .rip = e->rip, .rbx = e->rbx, .rsi = e->rsi };
	struct kvm_sregs sregs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	flat_segment(&sregs.cs, 0x10, 0xB); /* execute/read, accessed */
	flat_segment(&sregs.ds, 0x18, 0x3); /* read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .limit = 0x67, .type = 0xB, .present = 1 };
	sregs.cr0 = 0x11; /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (long_mode) {
		sregs.cs.db = 0;
		sregs.cs.l = 1;
		sregs.gdt.base = BOOT_GDT_ADDR;
		sregs.gdt.limit = 4 * 8 - 1;
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = 0x20;	  /* PAE */
		sregs.cr0 = 0x80000031; /* PG | NE | ET | PE */
		sregs.efer = 0x500;	  /* LMA | LME */
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -1;
	return ioctl(v->fd, KVM_SET_REGS, &regs);
}

static int setup_boot_state(struct vcpu *v)
{
	switch (v->vm->entry.mode) {
	case BOOT_PVH32:
		return setup_entry(v, false);
	case BOOT_LINUX64:
		return setup_entry(v, true);
	}
	return -1;
}

int vcpu_create(struct vm *vm, int id, char *err, size_t errlen)
{
	struct vcpu *v = &vm->vcpu[id];
	const char *what;

	*v = (struct vcpu){ .vm = vm, .id = id, .fd = -1 };
	if (vm->stats)
		v->stats = &vm->stats->vcpu[id];
	what = "KVM_CREATE_VCPU";
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		goto fail;
	what = "mmap of kvm_run";
	v->run = mmap(NULL, vm->kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		goto fail;
	}
	what = "KVM_SET_CPUID2";
	if (setup_cpuid(v) < 0)
		goto fail;
	/* Application processors wait for INIT/SIPI from the boot CPU. */
	what = "setting the boot registers";
	/* --firmware: vCPU 0 stays in KVM's reset state, at the reset vector. */
	if (id == 0 && !vm->cfg->firmware && setup_boot_state(v) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "vCPU %d: %s failed: %s", id, what, strerror(errno));
	vcpu_destroy(v);
	return -1;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->kvm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

/*
 * Make the vCPU leave KVM_RUN for good: immediate_exit makes every later
 * KVM_RUN return EINTR at once, and the signal interrupts one in progress.
 */
void vcpu_kick(struct vcpu *v)
{
	if (!v->run)
		return;
	v->run->immediate_exit = 1;
	if (v->started)
		pthread_kill(v->thread, KICK_SIGNAL);
}

/* --- exits ------------------------------------------------------------------- */

static const char *cpu_mode(const struct kvm_sregs *s)
{
	if (!(s->cr0 & 1))
		return "real mode";
	if (s->efer & 0x400)
		return s->cs.l ? "64-bit mode" : "compatibility mode";
	return s->cr0 & 0x80000000 ? "32-bit protected mode, paging on"
				   : "32-bit protected mode, paging off";
}

/* "at RIP ... (mode) RSP ... CR0 ..." for messages about a failed VM. */
static void describe_state(struct vcpu *v, bool after_shutdown, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, len, "(registers unavailable: %s)", strerror(errno));
		return;
	}
	/* AMD's SVM leaves the VMCB undefined after a shutdown, so KVM resets the
	 * vCPU: what we would print is the reset vector, not the faulting state. */
	if (after_shutdown && r.rip == 0xFFF0 && s.cs.selector == 0xF000 && !(s.cr0 & 1)) {
		snprintf(buf, len, "(the faulting registers are lost: KVM reset the vCPU, "
			 "as it does on AMD hosts)");
		return;
	}
	snprintf(buf, len,
		 "at RIP 0x%llx in %s (CS 0x%x)\n"
		 "  RAX 0x%llx RBX 0x%llx RCX 0x%llx RDX 0x%llx RSP 0x%llx RFLAGS 0x%llx\n"
		 "  CR0 0x%llx CR2 0x%llx CR3 0x%llx CR4 0x%llx EFER 0x%llx",
		 r.rip, cpu_mode(&s), s.cs.selector, r.rax, r.rbx, r.rcx, r.rdx, r.rsp, r.rflags,
		 s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

void vcpu_describe(struct vcpu *v, FILE *f)
{
	char state[512];

	describe_state(v, false, state, sizeof(state));
	fprintf(f, "kvmlab: vCPU %d %s\n", v->id, state);
}

static void fault(struct vcpu *v, enum vm_stop_kind kind, const char *what)
{
	char state[512];

	describe_state(v, v->run->exit_reason == KVM_EXIT_SHUTDOWN, state, sizeof(state));
	vm_stop(v->vm, kind, 1, "vCPU %d: %s %s", v->id, what, state);
}

static const char *internal_error_name(uint32_t sub)
{
	switch (sub) {
	case KVM_INTERNAL_ERROR_EMULATION: return "KVM could not emulate an instruction";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "failure delivering an event";
	default: return "unexpected exit inside KVM";
	}
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;

	/* String I/O (rep outs/ins) arrives as count accesses in a row. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (!bus_dispatch(&v->vm->pio, run->io.port, data, run->io.size, write) &&
		    v->vm->cfg->debug)
			fprintf(stderr, "kvmlab: vCPU %d: unclaimed port %s 0x%x (%u bytes)\r\n",
				v->id, write ? "write to" : "read of", run->io.port, run->io.size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (!bus_dispatch(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			  run->mmio.is_write) && v->vm->cfg->debug)
		fprintf(stderr, "kvmlab: vCPU %d: unclaimed MMIO %s 0x%llx (%u bytes)\r\n", v->id,
			run->mmio.is_write ? "write to" : "read of",
			(unsigned long long)run->mmio.phys_addr, run->mmio.len);
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_stop(v->vm, VM_STOP_POWEROFF, 0, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_stop(v->vm, VM_STOP_RESET, 0, "guest reset the machine");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		fault(v, VM_STOP_CRASH, "guest crashed (KVM_SYSTEM_EVENT_CRASH)");
		break;
	default:
		fault(v, VM_STOP_FAULT, "unknown system event (KVM_EXIT_SYSTEM_EVENT)");
	}
}

static void handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[160];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(v);
		return;
	case KVM_EXIT_SHUTDOWN:
		fault(v, VM_STOP_TRIPLE_FAULT,
		      "triple fault (KVM_EXIT_SHUTDOWN): the guest hit an exception it could "
		      "not handle");
		return;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware "
			 "reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		fault(v, VM_STOP_FAULT, what);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error %u: %s",
			 run->internal.suberror, internal_error_name(run->internal.suberror));
		fault(v, VM_STOP_FAULT, what);
		return;
	case KVM_EXIT_HLT:
		fault(v, VM_STOP_FAULT,
		      "guest halted with no in-kernel LAPIC to wake it (KVM_EXIT_HLT)");
		return;
	default:
		snprintf(what, sizeof(what), "exit reason %u, which kvmlab does not handle",
			 run->exit_reason);
		fault(v, VM_STOP_FAULT, what);
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	/* Only vCPU threads take the kick signal; everything else goes to main. */
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* --trace: this thread's ring, for the hook below and the guest's markers. */
	v->trace = trace_ring_of(vm->trace, v->id);
	trace_self = v->trace;
	stats_self = v->stats; /* the markers split --stats by phase */

	while (!atomic_load_explicit(&vm->stopping, memory_order_relaxed)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			/* EINTR: a signal or a kick; EAGAIN: an AP not yet woken by SIPI. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_stop(vm, VM_STOP_FAULT, 1, "vCPU %d: KVM_RUN failed: %s", v->id,
				strerror(errno));
			break;
		}
		/* The one trace hook: around the dispatch of each exit (--stats, --trace). */
		if (v->stats || v->trace) {
			uint64_t key = stats_exit_key(v->run), t0 = stats_now(), t1;

			handle_exit(v);
			t1 = stats_now();
			if (v->stats)
				stats_record_vcpu(v->stats, key, t1 - t0);
			if (v->trace)
				trace_record(v->trace, v->run, key, t0, t1);
		} else {
			handle_exit(v);
		}
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	const struct vm_config *cfg = v->vm->cfg;
	pthread_attr_t attr;
	char name[16];
	int r = pthread_attr_init(&attr);

	if (r)
		return r;
	/* --pin: the thread runs on its CPU from its first instruction (checked by main). */
	if (v->id < cfg->nr_pin && cfg->pin[v->id] >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cfg->pin[v->id], &set);
		r = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	if (!r)
		r = pthread_create(&v->thread, &attr, vcpu_thread, v);
	pthread_attr_destroy(&attr);
	if (r)
		return r;
	v->started = true;
	/* A name for ps -L, top -H, perf and /proc/PID/task/TID/comm. */
	snprintf(name, sizeof(name), "vcpu%d", v->id);
	pthread_setname_np(v->thread, name);
	return 0;
}
