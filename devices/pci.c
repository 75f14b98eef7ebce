// SPDX-License-Identifier: MIT
/*
 * PCI bus 0: a host bridge in slot 0, configuration mechanism #1 and the BAR
 * window.
 *
 * Port 0xCF8 is a 32-bit register: only doubleword accesses reach it, as on
 * a PC chipset, where byte and word accesses to 0xCF8-0xCFB go elsewhere.
 * One of those elsewheres is 0xCF9, the reset control register. 0xCFC-0xCFF
 * is a window on the doubleword 0xCF8 selects, at byte granularity.
 *
 * Only bus 0, function 0 exists. BARs are 32-bit, non-prefetchable memory
 * BARs; the guest may size them, move them and turn decoding off. The whole
 * window is one range on the MMIO bus and pci_mmio() looks up, under the bus
 * lock, which BAR holds an address right now; the device's handler is called
 * after the lock is dropped, so a device may take its own lock and never
 * meets ours in the other order.
 */
#include <string.h>

#include "devices/pci.h"

#define CONFIG_ADDR_ENABLE 0x80000000u
#define CONFIG_ADDR_MASK 0x80FFFFFCu /* enable, bus, device, function, register */
#define RESET_CONTROL_PORT 1	     /* 0xCF9, from 0xCF8 */
#define RESET_CONTROL_MASK 0x0A	     /* hard reset type, full reset: kept */
#define RESET_CPU 0x04		     /* writing it resets the machine */
#define CONFIG_DATA_PORT 4	     /* 0xCFC, from 0xCF8 */
#define PCI_CAP_START 0x40

/* The host bridge: Intel 440FX (PMC), the chipset of the PC every OS knows. */
#define BRIDGE_VENDOR 0x8086
#define BRIDGE_DEVICE 0x1237
#define BRIDGE_REVISION 0x02
#define PCI_CLASS_BRIDGE_HOST 0x0600

#define BARS_END (PCI_BAR0 + 4 * PCI_NR_BARS)
#define STD_COMMAND_WMASK (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE)

void pci_set_u8(struct pci_device *d, unsigned off, uint8_t v)
{
	if (off < sizeof(d->cfg))
		d->cfg[off] = v;
}

void pci_set_u16(struct pci_device *d, unsigned off, uint16_t v)
{
	pci_set_u8(d, off, (uint8_t)v);
	pci_set_u8(d, off + 1, (uint8_t)(v >> 8));
}

void pci_set_u32(struct pci_device *d, unsigned off, uint32_t v)
{
	pci_set_u16(d, off, (uint16_t)v);
	pci_set_u16(d, off + 2, (uint16_t)(v >> 16));
}

uint32_t pci_get(const struct pci_device *d, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size && i < 4; i++)
		if (off + i < sizeof(d->cfg))
			v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return v;
}

static void set_wmask16(struct pci_device *d, unsigned off, uint16_t mask)
{
	d->wmask[off] |= (uint8_t)mask;
	d->wmask[off + 1] |= (uint8_t)(mask >> 8);
}

unsigned pci_add_cap(struct pci_device *d, uint8_t id, unsigned len)
{
	unsigned off = d->cap_end ? d->cap_end : PCI_CAP_START;
	unsigned prev;

	if (len < 2 || len > sizeof(d->cfg) - off)
		return 0;
	memset(&d->cfg[off], 0, len);
	d->cfg[off] = id;
	/* Append: the list is walked in the order capabilities were added. */
	if (!d->cfg[PCI_CAPABILITY_LIST]) {
		d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	} else {
		prev = d->cfg[PCI_CAPABILITY_LIST];
		while (d->cfg[prev + 1])
			prev = d->cfg[prev + 1];
		d->cfg[prev + 1] = (uint8_t)off;
	}
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->cap_end = (off + len + 3) & ~3u;
	return off;
}

uint32_t pci_bar_live(const struct pci_device *d, int i)
{
	const struct pci_bar *bar = &d->bar[i];

	if (!bar->size || !(pci_get(d, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY))
		return 0;
	if (bar->addr < PCI_MMIO_BASE ||
	    (uint64_t)bar->addr + bar->size > PCI_MMIO_BASE + PCI_MMIO_SIZE)
		return 0;
	return bar->addr;
}

/* The device a configuration address selects, or NULL: all-ones then. */
static struct pci_device *config_target(struct pci_bus *b, uint32_t addr)
{
	unsigned bus = (addr >> 16) & 0xFF;
	unsigned slot = (addr >> 11) & 0x1F;
	unsigned fn = (addr >> 8) & 0x7;

	if (!(addr & CONFIG_ADDR_ENABLE) || bus || fn)
		return NULL;
	return b->dev[slot];
}

/*
 * One byte of a BAR. The BAR keeps the address bits the size allows; the
 * low bits read as zero, which also makes sizing work: all-ones written
 * reads back as ~(size - 1), with type bits 0 (32-bit memory, not prefetchable).
 */
static void bar_write_byte(struct pci_device *d, unsigned off, uint8_t v)
{
	unsigned i = (off - PCI_BAR0) / 4;
	struct pci_bar *bar = &d->bar[i];

	if (!bar->size)
		return;
	d->cfg[off] = v;
	bar->addr = pci_get(d, PCI_BAR0 + 4 * i, 4) & ~(bar->size - 1);
	pci_set_u32(d, PCI_BAR0 + 4 * i, bar->addr);
}

static void config_write(struct pci_device *d, unsigned reg, const uint8_t *data, unsigned size)
{
	for (unsigned i = 0; i < size; i++) {
		unsigned off = reg + i;

		if (off >= PCI_BAR0 && off < BARS_END)
			bar_write_byte(d, off, data[i]);
		else
			d->cfg[off] = (uint8_t)((d->cfg[off] & ~d->wmask[off]) |
						(data[i] & d->wmask[off]));
	}
	if (d->cfg_written)
		d->cfg_written(d, reg, size);
}

static void config_read(struct pci_device *d, unsigned reg, uint8_t *data, unsigned size)
{
	if (d->cfg_read)
		d->cfg_read(d, reg, size);
	memcpy(data, &d->cfg[reg], size);
}

/* 0xCFC-0xCFF: the doubleword 0xCF8 selects, at the byte the port says. */
static void config_data(struct pci_bus *b, struct bus_access *a)
{
	unsigned byte = (unsigned)a->offset - CONFIG_DATA_PORT;
	struct pci_device *d;

	pthread_mutex_lock(&b->lock);
	d = config_target(b, b->config_addr);
	if (!d || byte + a->size > 4) {
		if (!a->is_write)
			memset(a->data, 0xFF, a->size);
	} else if (a->is_write) {
		config_write(d, (b->config_addr & 0xFC) + byte, a->data, a->size);
	} else {
		config_read(d, (b->config_addr & 0xFC) + byte, a->data, a->size);
	}
	pthread_mutex_unlock(&b->lock);
}

/* 0xCF9: bit 2 written as 1 resets the machine (Linux's reboot=pci). */
static void reset_control(struct pci_bus *b, struct bus_access *a)
{
	bool fire = false;

	pthread_mutex_lock(&b->lock);
	if (a->is_write) {
		b->reset_control = a->data[0] & RESET_CONTROL_MASK;
		fire = a->data[0] & RESET_CPU;
	} else {
		a->data[0] = b->reset_control;
	}
	pthread_mutex_unlock(&b->lock);
	/* Outside the lock: stopping the machine may wait for vCPUs. */
	if (fire)
		machine_stop(&b->ctl, MACHINE_RESET, 0, "reset through port 0xCF9");
}

void pci_config_io(void *opaque, struct bus_access *a)
{
	struct pci_bus *b = opaque;

	if (a->offset >= CONFIG_DATA_PORT) {
		config_data(b, a);
		return;
	}
	if (a->offset == 0 && a->size == 4) {
		pthread_mutex_lock(&b->lock);
		if (a->is_write)
			b->config_addr = (uint32_t)bus_get(a) & CONFIG_ADDR_MASK;
		else
			bus_put(a, b->config_addr);
		pthread_mutex_unlock(&b->lock);
		return;
	}
	if (a->offset == RESET_CONTROL_PORT && a->size == 1) {
		reset_control(b, a);
		return;
	}
	/* Anything else in 0xCF8-0xCFB (Linux's outb to 0xCFB among it): nobody. */
	if (!a->is_write)
		memset(a->data, 0xFF, a->size);
}

/* The BAR holding [gpa, gpa + size) now, copied under the lock, or false. */
static bool bar_lookup(struct pci_bus *b, uint64_t gpa, unsigned size, struct pci_bar *out)
{
	bool found = false;

	pthread_mutex_lock(&b->lock);
	for (int s = 0; s < PCI_MAX_SLOTS && !found; s++) {
		struct pci_device *d = b->dev[s];

		for (int i = 0; d && i < PCI_NR_BARS && !found; i++) {
			uint32_t base = pci_bar_live(d, i);

			if (!base || gpa < base || gpa + size > (uint64_t)base + d->bar[i].size)
				continue;
			*out = d->bar[i];
			found = true;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return found;
}

void pci_mmio(void *opaque, struct bus_access *a)
{
	struct pci_bus *b = opaque;
	uint64_t gpa = PCI_MMIO_BASE + a->offset;
	struct pci_bar bar;
	struct bus_access da;

	if (!bar_lookup(b, gpa, a->size, &bar)) {
		if (!a->is_write)
			memset(a->data, 0xFF, a->size);
		return;
	}
	da = (struct bus_access){ gpa - bar.addr, a->data, a->size, a->is_write };
	bar.fn(bar.opaque, &da);
}

static void bridge_init(struct pci_bus *b)
{
	struct pci_device *d = &b->bridge;

	memset(d, 0, sizeof(*d));
	pci_set_u16(d, PCI_VENDOR_ID, BRIDGE_VENDOR);
	pci_set_u16(d, PCI_DEVICE_ID, BRIDGE_DEVICE);
	pci_set_u8(d, PCI_REVISION_ID, BRIDGE_REVISION);
	pci_set_u16(d, PCI_CLASS_DEVICE, PCI_CLASS_BRIDGE_HOST);
	set_wmask16(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	d->bus = b;
	d->slot = 0;
	b->dev[0] = d;
}

int pci_init(struct pci_bus *b, struct bus *pio, struct bus *mmio, const struct machine_ctl *ctl,
	     void (*set_level)(void *opaque, unsigned gsi, int level), void *irq_opaque)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	if (ctl)
		b->ctl = *ctl;
	b->set_level = set_level;
	b->irq_opaque = irq_opaque;
	b->mmio_next = (uint32_t)PCI_MMIO_BASE;
	bridge_init(b);
	if (pio && bus_register(pio, PCI_CONFIG_ADDR_PORT, PCI_CONFIG_PORTS, pci_config_io, b,
				"PCI config") < 0)
		return -1;
	if (mmio && bus_register(mmio, PCI_MMIO_BASE, PCI_MMIO_SIZE, pci_mmio, b, "PCI BARs") < 0)
		return -1;
	return 0;
}

void pci_destroy(struct pci_bus *b)
{
	pthread_mutex_destroy(&b->lock);
}

static int free_slot(const struct pci_bus *b)
{
	for (int s = 1; s < PCI_MAX_SLOTS; s++)
		if (!b->dev[s])
			return s;
	return -1;
}

/* Natural alignment for every BAR, all inside the window; addr[] gets them. */
static int place_bars(const struct pci_bus *b, const struct pci_device *d, uint32_t *addr)
{
	uint64_t next = b->mmio_next;

	for (int i = 0; i < PCI_NR_BARS; i++) {
		uint32_t size = d->bar[i].size;

		addr[i] = 0;
		if (!size)
			continue;
		if ((size & (size - 1)) || size < 0x1000 || !d->bar[i].fn)
			return -1;
		next = (next + size - 1) & ~(uint64_t)(size - 1);
		if (next + size > PCI_MMIO_BASE + PCI_MMIO_SIZE)
			return -1;
		addr[i] = (uint32_t)next;
		next += size;
	}
	return 0;
}

static void route_intx(struct pci_bus *b, struct pci_device *d)
{
	unsigned gsi = PCI_INTX_GSI_BASE + (unsigned)d->slot % 8;

	if (!d->cfg[PCI_INTERRUPT_PIN])
		return;
	d->cfg[PCI_INTERRUPT_PIN] = 1;
	d->cfg[PCI_INTERRUPT_LINE] = (uint8_t)gsi;
	d->wmask[PCI_INTERRUPT_LINE] = 0xFF;
	d->intx = (struct irq_line){ b->set_level, b->irq_opaque, gsi };
}

int pci_add(struct pci_bus *b, struct pci_device *d)
{
	uint32_t addr[PCI_NR_BARS];
	int slot, ret = -1;

	pthread_mutex_lock(&b->lock);
	slot = free_slot(b);
	if (slot < 0 || place_bars(b, d, addr) < 0)
		goto out;
	for (int i = 0; i < PCI_NR_BARS; i++) {
		if (!addr[i])
			continue;
		d->bar[i].addr = addr[i];
		pci_set_u32(d, PCI_BAR0 + 4 * i, addr[i]);
		b->mmio_next = addr[i] + d->bar[i].size;
	}
	d->bus = b;
	d->slot = slot;
	set_wmask16(d, PCI_COMMAND, STD_COMMAND_WMASK);
	route_intx(b, d);
	b->dev[slot] = d;
	ret = slot;
out:
	pthread_mutex_unlock(&b->lock);
	return ret;
}
