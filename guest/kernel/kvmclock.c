/*
 * kvmclock.c - KVM's paravirtual clock: nanoseconds since the VM started.
 *
 * A guest that finds "KVMKVMKVM" at CPUID 0x40000000 and the CLOCKSOURCE2
 * feature (0x40000001, EAX bit 3) may write the physical address of a
 * 32-byte structure to MSR_KVM_SYSTEM_TIME_NEW. The host then keeps in it a
 * pair (tsc_timestamp, system_time) and the factors that turn TSC cycles into
 * nanoseconds:  now = system_time + ((tsc - tsc_timestamp) scaled by 2^shift) * mul / 2^32.
 * The host bumps `version` to an odd number while it updates the structure
 * and to an even one after: a reader retries until it saw the same even
 * version before and after reading.
 *
 * This clock is the host's own time, the one KVM's LAPIC timer counts in, so
 * calibrating against it needs no emulated device at all (compare the PIT,
 * where every read of port 0x61 is a trip into the hypervisor).
 */
#include "kernel.h"
#include "x86.h"

#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

struct pvclock {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	signed char tsc_shift;
	u8 flags;
	u8 pad[2];
} __attribute__((packed));

static volatile struct pvclock clock __attribute__((aligned(32)));
static bool have_kvmclock;

bool kvmclock_init(void)
{
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	if (!(c & (1u << 31))) /* the "running under a hypervisor" bit */
		return false;
	cpuid(0x40000000, 0, &a, &b, &c, &d);
	if (b != 0x4b4d564b || c != 0x564b4d56 || d != 0x4d || a < 0x40000001) /* "KVMKVMKVM\0\0\0" */
		return false;
	cpuid(0x40000001, 0, &a, &b, &c, &d);
	if (!(a & KVM_FEATURE_CLOCKSOURCE2))
		return false;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, KV2P(&clock) | 1); /* bit 0: enable */
	have_kvmclock = true;
	return true;
}

u64 kvmclock_ns(void)
{
	u32 version;
	u64 ns;

	if (!have_kvmclock)
		return 0;
	do {
		u64 delta;

		version = clock.version;
		__asm__ volatile("" ::: "memory");
		delta = rdtsc() - clock.tsc_timestamp;
		if (clock.tsc_shift >= 0)
			delta <<= clock.tsc_shift;
		else
			delta >>= -clock.tsc_shift;
		ns = clock.system_time + (u64)(((unsigned __int128)delta * clock.tsc_to_system_mul) >> 32);
		__asm__ volatile("" ::: "memory");
	} while ((version & 1) || version != clock.version);
	return ns;
}

/* The kernel's clock: kvm-clock when KVM offers it, else the TSC (once
 * calibrated), else the tick count. */
u64 time_ns(void)
{
	u64 ns = kvmclock_ns();

	if (ns)
		return ns;
	if (tsc_hz) /* ns = tsc * 10^9 / tsc_hz, as a 32.32 fixed-point multiply */
		return (u64)(((unsigned __int128)rdtsc() * ((1000000000ul << 32) / tsc_hz)) >> 32);
	return ticks * tick_ms * 1000000;
}
