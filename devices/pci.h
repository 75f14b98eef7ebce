/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_PCI_H
#define KVMLAB_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"
#include "devices/machine.h"
#include "vmm/bus.h"

/*
 * PCI bus 0 behind a host bridge, reached through configuration mechanism #1
 * (ports 0xCF8 address, 0xCFC-0xCFF data). Devices get a slot and 32-bit
 * memory BARs placed in a window of the MMIO hole; the bus registers that
 * window once on the MMIO bus and routes accesses to whichever BAR holds the
 * address now (the guest may move BARs and turn decoding off and on).
 */

#define PCI_CONFIG_ADDR_PORT 0xCF8
#define PCI_CONFIG_PORTS 8	 /* 0xCF8-0xCFF: address, reset control (0xCF9), data */
#define PCI_MMIO_BASE 0xC0000000ULL /* the BAR window: the first 256 MiB of the hole */
#define PCI_MMIO_SIZE 0x10000000ULL
#define PCI_MAX_SLOTS 32
#define PCI_NR_BARS 6
#define PCI_INTX_GSI_BASE 16 /* slot n's INTA# is IOAPIC pin 16 + n % 8 (the MP table says so) */

/* Config space offsets and bits we use (PCI Local Bus 3.0, 6.2). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_STATUS_INTERRUPT 0x08
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0A
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID 0x2E
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN 0x3D
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

/* The MSI-X capability (PCI 3.0, 6.8.2): message control and table entries. */
#define PCI_MSIX_CONTROL 2
#define PCI_MSIX_TABLE 4
#define PCI_MSIX_PBA 8
#define PCI_MSIX_CAP_LEN 12
#define PCI_MSIX_ENABLE 0x8000
#define PCI_MSIX_MASKALL 0x4000
#define PCI_MSIX_ENTRY_SIZE 16
#define PCI_MSIX_ENTRY_CTRL 12
#define PCI_MSIX_ENTRY_MASKED 1

struct pci_device;

/* A memory BAR: size is a power of two, at least 4 KiB. */
struct pci_bar {
	uint32_t size;		/* 0: BAR not implemented */
	uint32_t addr;		/* where the guest has put it */
	bus_handler_fn fn;	/* offset from the BAR's start; called without the bus lock */
	void *opaque;
};

struct pci_device {
	uint8_t cfg[256];	/* type 0 header and capabilities, little-endian */
	uint8_t wmask[256];	/* bits the guest may change (BARs are handled apart) */
	struct pci_bar bar[PCI_NR_BARS];
	/*
	 * Called after a guest write to config space (offset, size of the write),
	 * with the bus lock held; BAR moves and command changes come here too.
	 */
	void (*cfg_written)(struct pci_device *d, unsigned offset, unsigned size);
	/*
	 * Optional: called before a guest read of config space (offset, size),
	 * with the bus lock held, for bytes the device computes on demand.
	 */
	void (*cfg_read)(struct pci_device *d, unsigned offset, unsigned size);
	void *opaque;
	unsigned cap_end; /* where pci_add_cap() puts the next capability; 0: 0x40 */
	/* Set by pci_add(). */
	struct pci_bus *bus;
	int slot;
	struct irq_line intx; /* INTA#, level-triggered */
};

struct pci_bus {
	pthread_mutex_t lock; /* config space and BAR placement */
	uint32_t config_addr; /* the 0xCF8 register */
	struct pci_device bridge;
	struct pci_device *dev[PCI_MAX_SLOTS];
	uint32_t mmio_next;   /* next free BAR address in the window */
	struct machine_ctl ctl; /* 0xCF9 reset */
	uint8_t reset_control;	/* the 0xCF9 register: bits 1 and 3 (bit 2 fires and self-clears) */
	void (*set_level)(void *opaque, unsigned gsi, int level);
	void *irq_opaque;
};

/*
 * Set up the host bridge (slot 0) and register ports 0xCF8-0xCFF on pio and
 * the BAR window on mmio. set_level drives the INTx lines (GSIs).
 * Returns 0, or -1 if a range is taken.
 */
int pci_init(struct pci_bus *b, struct bus *pio, struct bus *mmio, const struct machine_ctl *ctl,
	     void (*set_level)(void *opaque, unsigned gsi, int level), void *irq_opaque);
void pci_destroy(struct pci_bus *b);

/*
 * Put d in the next free slot and place its BARs (bar[i].size and fn set by
 * the caller) in the window, each naturally aligned. If the caller set
 * cfg[PCI_INTERRUPT_PIN], the device gets INTA#: pin 1, line and d->intx on
 * GSI PCI_INTX_GSI_BASE + slot % 8. The command register (memory, bus master,
 * INTx disable) and the interrupt line become writable. Returns the slot, or
 * -1 if the bus or the window is full or a BAR is malformed (nothing changes then).
 */
int pci_add(struct pci_bus *b, struct pci_device *d);

/* Helpers for building config space. */
void pci_set_u8(struct pci_device *d, unsigned off, uint8_t v);
void pci_set_u16(struct pci_device *d, unsigned off, uint16_t v);
void pci_set_u32(struct pci_device *d, unsigned off, uint32_t v);
uint32_t pci_get(const struct pci_device *d, unsigned off, unsigned size);
/*
 * Append a capability of len bytes (id, next pointer included) to the list;
 * returns its offset, or 0 if config space is full. The caller fills it in.
 */
unsigned pci_add_cap(struct pci_device *d, uint8_t id, unsigned len);

/*
 * Where BAR i decodes now: its address if memory decoding is on and it lies
 * wholly inside the window (only the window reaches pci_mmio), else 0.
 * Call with the bus lock held (cfg_written) or during set-up.
 */
uint32_t pci_bar_live(const struct pci_device *d, int i);

/* The bus callbacks (registered by pci_init; public for the unit tests). */
void pci_config_io(void *opaque, struct bus_access *a);
void pci_mmio(void *opaque, struct bus_access *a);

#endif
