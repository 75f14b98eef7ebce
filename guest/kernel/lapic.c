/*
 * lapic.c - the local APIC's timer, the kernel's heartbeat.
 *
 * The LAPIC timer counts down from an initial count at the bus (or core
 * crystal) frequency divided by a divisor, and raises an interrupt at zero;
 * in periodic mode it then starts over. Nothing tells us that frequency, so
 * we measure it: run the LAPIC timer and the TSC while the PIT (whose input
 * clock is fixed at 1.193182 MHz on every PC) counts a known interval.
 *
 * The LAPIC's registers are memory at 0xFEE00000 (the address is in the
 * APIC_BASE MSR), 16 bytes apart, accessed as 32-bit words. We reach them
 * through the direct map, which maps that hole uncached.
 */
#include "kernel.h"
#include "x86.h"

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080     /* task priority: 0 = accept every interrupt */
#define LAPIC_EOI 0x0B0     /* write 0: "done with the current interrupt" */
#define LAPIC_SVR 0x0F0     /* spurious vector register; bit 8 = APIC on */
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define TIMER_DIV_16 0x3

#define PIT_HZ 1193182
#define CALIBRATE_MS 20

volatile u64 ticks; /* timer interrupts since lapic_timer_start */
u64 tsc_hz, lapic_hz;
u32 tick_ms;
static volatile u32 *lapic;

static u32 lapic_read(u32 reg) { return lapic[reg / 4]; }
static void lapic_write(u32 reg, u32 v)
{
	lapic[reg / 4] = v;
	(void)lapic[LAPIC_ID / 4]; /* a read makes sure the write has reached the LAPIC */
}

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

/*
 * Wait `ms` milliseconds with PIT channel 2, by polling. Channel 2 is the
 * one whose gate and output the CPU can see (port 0x61: bit 0 gate, bit 1
 * speaker, bit 5 the channel's output), so no interrupt is needed. In mode 0
 * ("interrupt on terminal count") the output goes high when the count,
 * loaded through port 0x42, has run down to zero.
 */
static void pit_wait(u32 ms)
{
	u32 count = PIT_HZ / 1000 * ms; /* < 65536 for ms <= 54 */

	outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate high, speaker off */
	outb(0x43, 0xB0);                        /* channel 2, low then high byte, mode 0, binary */
	outb(0x42, count & 0xFF);
	outb(0x42, (count >> 8) & 0xFF);
	while (!(inb(0x61) & 0x20))
		;
}

/* Wait `ms` milliseconds by kvm-clock, reading only memory and the TSC. */
static void kvmclock_wait(u32 ms)
{
	u64 end = kvmclock_ns() + (u64)ms * 1000000;

	while (kvmclock_ns() < end)
		__asm__ volatile("pause");
}

/*
 * LAPIC ticks (with divisor 16) and TSC cycles per second: count both over
 * CALIBRATE_MS of a clock we trust. kvm-clock when KVM offers it (exact and
 * cheap under any VMM, nested ones too), the PIT otherwise or with
 * `clock=pit` on the command line.
 */
const char *lapic_calibrated_by;

static void calibrate(void)
{
	u64 tsc0, tsc1, ns0 = 0, ns1 = 0;
	u32 left;
	bool kvm = kvmclock_init();
	bool pit = !kvm || cmdline_word("clock=", "pit");

	lapic_calibrated_by = pit ? "pit" : "kvm-clock";
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED); /* one-shot, no interrupt */
	lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFF);
	tsc0 = rdtsc();
	if (pit) {
		ns0 = kvmclock_ns();
		pit_wait(CALIBRATE_MS);
		ns1 = kvmclock_ns();
	} else {
		kvmclock_wait(CALIBRATE_MS);
	}
	left = lapic_read(LAPIC_TIMER_CUR);
	tsc1 = rdtsc();
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_hz = (u64)(0xFFFFFFFFu - left) * 1000 / CALIBRATE_MS;
	tsc_hz = (tsc1 - tsc0) * 1000 / CALIBRATE_MS;
	if (pit && kvm)
		kprintf("lapic: the PIT's %u ms took %lu us by kvm-clock\n", CALIBRATE_MS,
			(ns1 - ns0) / 1000);
	if (!lapic_hz)
		panic("lapic: the timer did not count during calibration");
}

void lapic_init(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);

	/* The legacy 8259 PICs would deliver the PIT's and others' IRQs
	 * through LINT0: mask all their lines; we use the LAPIC only. */
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);

	wrmsr(MSR_APIC_BASE, base | (1u << 11)); /* global enable */
	lapic = P2V(base & 0xFFFFF000ul);
	lapic_write(LAPIC_SVR, 0x100 | T_SPURIOUS); /* software enable */
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_TPR, 0);
	calibrate();
}

/* A timer interrupt (vector T_TIMER) every `ms` milliseconds. */
void lapic_timer_start(u32 ms)
{
	u64 count = lapic_hz * ms / 1000;

	if (count == 0 || count > 0xFFFFFFFFu)
		panic("lapic: a %u ms tick is out of the timer's range", ms);
	tick_ms = ms;
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | T_TIMER);
	lapic_write(LAPIC_TIMER_INIT, (u32)count);
}
