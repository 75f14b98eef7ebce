// SPDX-License-Identifier: MIT
/*
 * The MP table (Intel MultiProcessor Specification 1.4): how a guest without
 * ACPI learns its CPUs (LAPIC ids 0..n-1), the IOAPIC and how ISA interrupts
 * reach it. Routing is one to one (ISA IRQ n -> IOAPIC pin n), which is what
 * KVM's default GSI routing does for KVM_IRQ_LINE and the in-kernel PIT.
 * PCI bus 0 (MP bus id 0) has each slot's INTA# on IOAPIC pins 16-23, active
 * high and level-triggered: how kvmlab drives them (devices/pci.c).
 */
#include <string.h>

#include "vmm/boot/boot.h"

#define MP_FLOATING_ADDR 0xF0000ULL /* in the BIOS area Linux scans; reserved in e820 */
#define MP_CONFIG_ADDR (MP_FLOATING_ADDR + 16)
#define LAPIC_ADDR 0xFEE00000U
#define IOAPIC_ADDR 0xFEC00000U
#define ISA_IRQS 16
/*
 * Linux looks a PCI device's interrupt up by its PCI bus number as if it were
 * an MP bus id, so PCI bus 0 must be MP bus 0; ISA takes id 1.
 */
#define PCI_BUS_ID 0
#define ISA_BUS_ID 1
#define PCI_SLOTS 32
#define PCI_GSI_BASE 16 /* devices/pci.h: slot n's INTA# is IOAPIC pin 16 + n % 8 */
#define MP_IRQ_HIGH_LEVEL 0x0D /* polarity 01 active high, trigger 11 level */

struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t config;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entries;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_cpu {
	uint8_t type; /* 0 */
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags; /* 1: enabled, 2: boot processor */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type; /* 1 */
	uint8_t id;
	char name[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type; /* 2 */
	uint8_t id;
	uint8_t version;
	uint8_t flags; /* 1: usable */
	uint32_t addr;
} __attribute__((packed));

struct mp_intsrc {
	uint8_t type; /* 3: I/O interrupt, 4: local interrupt */
	uint8_t irq_type; /* 0 INT, 1 NMI, 3 ExtINT */
	uint16_t flags;	  /* 0: polarity and trigger as the bus says */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic; /* IOAPIC id, or 0xFF for every LAPIC */
	uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header");
_Static_assert(sizeof(struct mp_cpu) == 20, "MP processor entry");

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

/* A table for up to 64 CPUs fits easily in the 64 KiB BIOS area. */
int mptable_write(const struct guest_mem *mem, int nr_cpus)
{
	uint8_t buf[sizeof(struct mp_config) + 64 * sizeof(struct mp_cpu) + 8 + 8 +
		    8 + (ISA_IRQS + 2 + PCI_SLOTS) * sizeof(struct mp_intsrc)];
	struct mp_config *cfg = (void *)buf;
	struct mp_floating fl = { .signature = "_MP_", .config = MP_CONFIG_ADDR, .length = 1,
				  .spec_rev = 4 };
	uint8_t *p = buf + sizeof(*cfg), ioapic_id = (uint8_t)nr_cpus;
	int entries = 0;

	if (nr_cpus < 1 || nr_cpus > 64)
		return -1;
	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < nr_cpus; i++, entries++, p += sizeof(struct mp_cpu))
		*(struct mp_cpu *)p = (struct mp_cpu){ .type = 0, .apic_id = (uint8_t)i,
						       .apic_version = 0x14,
						       .flags = 1 | (i == 0 ? 2 : 0) };
	*(struct mp_bus *)p = (struct mp_bus){ .type = 1, .id = ISA_BUS_ID, .name = "ISA   " };
	p += sizeof(struct mp_bus), entries++;
	*(struct mp_bus *)p = (struct mp_bus){ .type = 1, .id = PCI_BUS_ID, .name = "PCI   " };
	p += sizeof(struct mp_bus), entries++;
	*(struct mp_ioapic *)p = (struct mp_ioapic){ .type = 2, .id = ioapic_id, .version = 0x11,
						     .flags = 1, .addr = IOAPIC_ADDR };
	p += sizeof(struct mp_ioapic), entries++;
	for (int irq = 0; irq < ISA_IRQS; irq++, entries++, p += sizeof(struct mp_intsrc))
		*(struct mp_intsrc *)p = (struct mp_intsrc){ 3, 0, 0, ISA_BUS_ID, (uint8_t)irq, ioapic_id,
							     (uint8_t)irq };
	for (int slot = 1; slot < PCI_SLOTS; slot++, entries++, p += sizeof(struct mp_intsrc))
		*(struct mp_intsrc *)p = (struct mp_intsrc){ 3, 0, MP_IRQ_HIGH_LEVEL, PCI_BUS_ID,
							     (uint8_t)(slot << 2), ioapic_id,
							     (uint8_t)(PCI_GSI_BASE + slot % 8) };
	/* The PIC reaches the LAPICs as ExtINT on LINT0; NMIs come on LINT1. */
	*(struct mp_intsrc *)p = (struct mp_intsrc){ 4, 3, 0, ISA_BUS_ID, 0, 0xFF, 0 };
	p += sizeof(struct mp_intsrc), entries++;
	*(struct mp_intsrc *)p = (struct mp_intsrc){ 4, 1, 0, ISA_BUS_ID, 0, 0xFF, 1 };
	p += sizeof(struct mp_intsrc), entries++;

	memcpy(cfg->signature, "PCMP", 4);
	cfg->length = (uint16_t)(p - buf);
	cfg->spec_rev = 4;
	memcpy(cfg->oem, "KVMLAB  ", 8);
	memcpy(cfg->product, "KVMLAB VM   ", 12);
	cfg->entries = (uint16_t)entries;
	cfg->lapic = LAPIC_ADDR;
	cfg->checksum = checksum(buf, cfg->length);
	fl.checksum = checksum(&fl, sizeof(fl));
	if (gmem_write(mem, MP_CONFIG_ADDR, buf, cfg->length) < 0 ||
	    gmem_write(mem, MP_FLOATING_ADDR, &fl, sizeof(fl)) < 0)
		return -1;
	return 0;
}
