// SPDX-License-Identifier: MIT
/*
 * The floor for the exit-cost benchmark: the least a VMM can do per port-I/O
 * exit. One VM (in-kernel irqchip, like kvmlab's), one vCPU in real mode
 * running "out %al, $0x80" N times, a KVM_RUN loop that only counts. kvmlab's
 * per-exit cost is compared with this one, measured in the same run.
 *
 * Usage: floor N   (N port writes, then a write to 0xF4 ends it)
 * Prints "floor: N exits in C cycles, TSC K kHz": the guest reads its TSC
 * around the loop, exactly as kvmlab's test guest does with bench=N.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define CODE_ADDR 0x1000
#define TSC_ADDR 0x2000 /* start TSC at 0x2000, end TSC at 0x2008 */
#define MEM_SIZE (1 << 20)

/* Real mode, 16-bit:
 *      rdtsc ; mov %eax, 0x2000 ; mov %edx, 0x2004
 *   1: jecxz 2f ; out %al, $0x80 ; dec %ecx ; jmp 1b
 *   2: rdtsc ; mov %eax, 0x2008 ; mov %edx, 0x200c
 *      out %al, $0xf4
 */
static const unsigned char code[] = {
	0x0f, 0x31,			/* rdtsc */
	0x66, 0xa3, 0x00, 0x20,		/* mov %eax, 0x2000 */
	0x66, 0x89, 0x16, 0x04, 0x20,	/* mov %edx, 0x2004 */
	0x67, 0xe3, 0x06,		/* jecxz +6: past the loop */
	0xe6, 0x80,			/* out %al, $0x80 */
	0x66, 0x49,			/* dec %ecx */
	0xeb, 0xf7,			/* jmp back to jecxz */
	0x0f, 0x31,			/* rdtsc */
	0x66, 0xa3, 0x08, 0x20,		/* mov %eax, 0x2008 */
	0x66, 0x89, 0x16, 0x0c, 0x20,	/* mov %edx, 0x200c */
	0xe6, 0xf4,			/* out %al, $0xf4 */
	0xf4,				/* hlt (not reached) */
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *dev = getenv("KVMLAB_KVM_DEVICE");
	struct kvm_pit_config pit = { 0 };
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 2, .rip = CODE_ADDR };
	struct kvm_run *run;
	unsigned long n, seen = 0;
	uint64_t tsc[2];
	int kvm, vm, vcpu, size;
	void *mem;

	if (argc != 2)
		return fprintf(stderr, "usage: floor N\n"), 2;
	n = strtoul(argv[1], NULL, 0);
	kvm = open(dev && *dev ? dev : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0 ||
	    ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		die("VM set-up");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	memcpy((char *)mem + CODE_ADDR, code, sizeof(code));
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("vCPU set-up");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	regs.rcx = n;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("vCPU registers");
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "floor: unexpected exit %u\n", run->exit_reason);
			return 1;
		}
		if (run->io.port == 0xf4)
			break;
		seen++;
	}
	if (seen != n) {
		fprintf(stderr, "floor: %lu exits, expected %lu\n", seen, n);
		return 1;
	}
	memcpy(tsc, (char *)mem + TSC_ADDR, sizeof(tsc));
	printf("floor: %lu exits in %llu cycles, TSC %d kHz\n", n,
	       (unsigned long long)(tsc[1] - tsc[0]), ioctl(vcpu, KVM_GET_TSC_KHZ, 0));
	return 0;
}
