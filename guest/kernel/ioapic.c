/*
 * ioapic.c - the I/O APIC: how a device's interrupt line becomes a vector on
 * a CPU.
 *
 * The LAPIC (lapic.c) only knows its own timer. Devices' lines (ISA IRQs 0-15,
 * PCI INTx) go into the I/O APIC, which has one 64-bit "redirection entry" per
 * input pin: the vector to raise, which CPU (LAPIC id) gets it, edge or level,
 * active high or low, and a mask bit. Its registers sit behind two words of
 * MMIO: write a register number to IOREGSEL (+0x00), then read or write it
 * through IOWIN (+0x10). Entry n is registers 0x10 + 2n (low half) and
 * 0x11 + 2n (high half: the destination LAPIC id in bits 24-31).
 *
 * Where it is: the MP table (Intel's MultiProcessor Specification) that
 * kvmlab writes in the BIOS area says so in its IOAPIC entry; 0xFEC00000 is
 * the PC's default. kvmlab routes ISA IRQ n to pin n (the 8259's IRQ 2
 * cascade aside), so COM1's IRQ 4 is pin 4, edge-triggered, active high.
 */
#include "kernel.h"
#include "x86.h"

#define IOAPIC_DEFAULT 0xFEC00000u
#define IOREGSEL 0
#define IOWIN 4 /* in 32-bit words: +0x10 */
#define IOAPICVER 0x01
#define IOREDTBL 0x10
#define RTE_MASKED (1u << 16)

static volatile u32 *ioapic;

static u32 ioapic_read(u32 reg)
{
	ioapic[IOREGSEL] = reg;
	return ioapic[IOWIN];
}

static void ioapic_write(u32 reg, u32 v)
{
	ioapic[IOREGSEL] = reg;
	ioapic[IOWIN] = v;
}

static bool checksum_ok(const u8 *p, u32 len)
{
	u8 sum = 0;

	for (u32 i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

/*
 * The MP floating pointer: "_MP_" on a 16-byte boundary in the BIOS area
 * 0xF0000-0xFFFFF, pointing (bytes 4-7) at the "PCMP" configuration table:
 * a 44-byte header, then entries: processors (type 0) take 20 bytes, the
 * others 8; an IOAPIC entry (type 2) has its MMIO address in bytes 4-7.
 */
static u32 mp_ioapic_addr(void)
{
	for (u64 a = 0xF0000; a < 0x100000; a += 16) {
		const u8 *fp = P2V(a), *cfg, *e, *end;
		u32 cfga;
		u16 len;

		if (strncmp((const char *)fp, "_MP_", 4) || !checksum_ok(fp, 16))
			continue;
		memcpy(&cfga, fp + 4, 4);
		if (!cfga || cfga >= 0x100000)
			return 0;
		cfg = P2V((u64)cfga);
		memcpy(&len, cfg + 4, 2);
		if (strncmp((const char *)cfg, "PCMP", 4) || len < 44 || !checksum_ok(cfg, len))
			return 0;
		for (e = cfg + 44, end = cfg + len; e < end; e += *e == 0 ? 20 : 8) {
			u32 addr;

			if (*e > 4)
				return 0; /* an entry type we do not know: stop */
			if (*e != 2)
				continue;
			memcpy(&addr, e + 4, 4);
			return addr;
		}
		return 0;
	}
	return 0;
}

/* Route ISA `irq` (edge, active high) to `vector` on the boot CPU. */
void ioapic_enable(int irq, int vector)
{
	ioapic_write(IOREDTBL + 2 * irq + 1, 0u << 24); /* destination: LAPIC id 0 */
	ioapic_write(IOREDTBL + 2 * irq, (u32)vector);  /* fixed, physical, edge, high, unmasked */
}

void ioapic_init(void)
{
	u32 addr = mp_ioapic_addr();
	int pins;

	kprintf("ioapic: at 0x%x (%s)", addr ? addr : IOAPIC_DEFAULT, addr ? "MP table" : "default");
	if (!addr)
		addr = IOAPIC_DEFAULT;
	ioapic = P2V((u64)addr);
	pins = (int)((ioapic_read(IOAPICVER) >> 16) & 0xFF) + 1;
	kprintf(", %d pins; COM1 (IRQ 4) -> vector %d\n", pins, T_COM1);
	for (int i = 0; i < pins; i++)
		ioapic_write(IOREDTBL + 2 * i, RTE_MASKED | (u32)(32 + i));
	ioapic_enable(4, T_COM1);
	console_enable_rx();
}
