/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_pci.h"

/* --- recorders ------------------------------------------------------------ */

#define MAX_IO 16

struct io_reg {
	uint64_t gpa;
	unsigned len;
	int fd;
};

/* irq_services and INTx wires that remember what they were asked. */
struct fake_irq {
	int adds, updates, removes, add_fail;
	struct msi_msg msg[64]; /* by GSI - 100: the message it delivers now */
	int irqfd[64];
	struct io_reg io[MAX_IO]; /* ioeventfds assigned now */
	int nio, assigns, deassigns, bad_deassigns;
	bool refuse_len0, refuse_all;
	int level[64]; /* by GSI */
	int level_changes;
};

static int fake_msi_add(void *opaque, const struct msi_msg *msg, int irqfd, unsigned *gsi)
{
	struct fake_irq *f = opaque;

	if (f->add_fail) {
		errno = ENOSPC;
		return -1;
	}
	*gsi = 100 + (unsigned)f->adds;
	f->msg[f->adds] = *msg;
	f->irqfd[f->adds] = irqfd;
	f->adds++;
	return 0;
}

static int fake_msi_update(void *opaque, unsigned gsi, const struct msi_msg *msg)
{
	struct fake_irq *f = opaque;

	cr_assert(gsi >= 100 && gsi < 100 + (unsigned)f->adds);
	f->msg[gsi - 100] = *msg;
	f->updates++;
	return 0;
}

static int fake_msi_remove(void *opaque, unsigned gsi, int irqfd)
{
	struct fake_irq *f = opaque;

	cr_assert(gsi >= 100 && gsi < 100 + (unsigned)f->adds);
	cr_assert_eq(f->irqfd[gsi - 100], irqfd);
	f->removes++;
	return 0;
}

static int fake_ioeventfd(void *opaque, uint64_t gpa, unsigned len, int fd, bool assign)
{
	struct fake_irq *f = opaque;

	if (assign) {
		if (f->refuse_all || (f->refuse_len0 && len == 0) || f->nio == MAX_IO) {
			errno = EINVAL;
			return -1;
		}
		f->io[f->nio++] = (struct io_reg){ gpa, len, fd };
		f->assigns++;
		return 0;
	}
	f->deassigns++;
	for (int i = 0; i < f->nio; i++) {
		if (f->io[i].gpa == gpa && f->io[i].len == len && f->io[i].fd == fd) {
			f->io[i] = f->io[--f->nio];
			return 0;
		}
	}
	f->bad_deassigns++; /* KVM would say ENOENT */
	errno = ENOENT;
	return -1;
}

/* The ioeventfd assigned at gpa now, or NULL. */
static const struct io_reg *io_at(const struct fake_irq *f, uint64_t gpa)
{
	for (int i = 0; i < f->nio; i++)
		if (f->io[i].gpa == gpa)
			return &f->io[i];
	return NULL;
}

static void fake_set_level(void *opaque, unsigned gsi, int level)
{
	struct fake_irq *f = opaque;

	if (gsi < 64)
		f->level[gsi] = level;
	f->level_changes++;
}

/* A virtio device: counts start and reset, has 8 bytes of config space. */
struct fake_dev {
	struct virtio_device vdev;
	struct virtio_transport *t;
	int starts, resets, start_ret;
	uint64_t features;
	bool ready_at_start[VIRTIO_MAX_QUEUES];
	bool event_idx_at_start, indirect_at_start;
	uint8_t config[8];
	int cfg_calls;
	uint64_t cfg_off;
	unsigned cfg_size;
	bool cfg_write;
	/* A thread that interrupts the driver until reset() joins it. */
	bool spin;
	pthread_t thread;
	bool running;
	int stop;
	long spins;
};

static void dev_config_access(void *opaque, uint64_t offset, uint8_t *data, unsigned size,
			      bool is_write)
{
	struct fake_dev *d = opaque;

	d->cfg_calls++;
	d->cfg_off = offset;
	d->cfg_size = size;
	d->cfg_write = is_write;
	cr_assert_leq(offset + size, sizeof(d->config));
	if (is_write)
		memcpy(d->config + offset, data, size);
	else
		memcpy(data, d->config + offset, size);
}

static void *spin_thread(void *opaque)
{
	struct fake_dev *d = opaque;

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		d->t->ops->interrupt(d->t, 0);
		__atomic_fetch_add(&d->spins, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int dev_start(void *opaque, uint64_t features)
{
	struct fake_dev *d = opaque;

	d->starts++;
	d->features = features;
	for (unsigned q = 0; q < d->vdev.nr_queues; q++)
		d->ready_at_start[q] = d->t->ops->queue(d->t, q)->ready;
	d->event_idx_at_start = d->t->ops->queue(d->t, 0)->event_idx;
	d->indirect_at_start = d->t->ops->queue(d->t, 0)->indirect;
	if (d->start_ret == 0 && d->spin) {
		d->stop = 0;
		cr_assert_eq(pthread_create(&d->thread, NULL, spin_thread, d), 0);
		d->running = true;
	}
	return d->start_ret;
}

static void dev_reset(void *opaque)
{
	struct fake_dev *d = opaque;

	d->resets++;
	if (d->running) {
		__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
		pthread_join(d->thread, NULL);
		d->running = false;
	}
}

static const struct virtio_device_ops dev_ops = { dev_config_access, dev_start, dev_reset };

#define DEV_FEATURES                                                                               \
	((1ULL << 5) | (1ULL << 9) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                       \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_VERSION_1))
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)

/* --- fixture -------------------------------------------------------------- */

static struct bus pio, mmio;
static struct pci_bus pb;
static struct fake_irq fi;
static struct irq_services services;
static struct fake_dev fd;
static struct virtio_pci vp;
static struct guest_mem mem;
static uint8_t ram[1 << 20];
static unsigned slot;

static void init_vp(bool use_ioeventfd, const struct irq_services *irq)
{
	char err[128] = "";

	cr_assert_eq(virtio_pci_init(&vp, &fd.vdev, &pb, &mem, irq, use_ioeventfd, err,
				     sizeof(err)),
		     0, "%s", err);
	fd.t = &vp.t;
	slot = (unsigned)vp.pci.slot;
}

static void cfg_wr(unsigned reg, unsigned size, uint32_t v);

static void setup(void)
{
	memset(&fi, 0, sizeof(fi));
	memset(&fd, 0, sizeof(fd));
	memset(&mem, 0, sizeof(mem));
	memset(ram, 0, sizeof(ram));
	services = (struct irq_services){ fake_msi_add, fake_msi_update, fake_msi_remove,
					  fake_ioeventfd, &fi };
	fd.vdev = (struct virtio_device){ "fake", 2, DEV_FEATURES, 2, 256, 8, &dev_ops, &fd };
	memcpy(fd.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	cr_assert_eq(gmem_add_region(&mem, 0, ram, sizeof(ram)), 0);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	cr_assert_eq(pci_init(&pb, &pio, &mmio, NULL, fake_set_level, &fi), 0);
	init_vp(true, &services);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void teardown(void)
{
	virtio_pci_destroy(&vp);
	pci_destroy(&pb);
}

TestSuite(virtio_pci, .init = setup, .fini = teardown, .timeout = 10);

/* --- the guest's view ------------------------------------------------------ */

static void cfg_wr(unsigned reg, unsigned size, uint32_t v)
{
	uint8_t a[4], d[4];

	for (unsigned i = 0; i < 4; i++) {
		a[i] = (uint8_t)((0x80000000u | slot << 11 | (reg & 0xFC)) >> (8 * i));
		d[i] = (uint8_t)(v >> (8 * i));
	}
	cr_assert(bus_dispatch(&pio, 0xCF8, a, 4, true));
	cr_assert(bus_dispatch(&pio, 0xCFC + (reg & 3), d, size, true));
}

static uint32_t cfg_rd(unsigned reg, unsigned size)
{
	uint8_t a[4], d[4] = { 0 };
	uint32_t v = 0;

	for (unsigned i = 0; i < 4; i++)
		a[i] = (uint8_t)((0x80000000u | slot << 11 | (reg & 0xFC)) >> (8 * i));
	cr_assert(bus_dispatch(&pio, 0xCF8, a, 4, true));
	cr_assert(bus_dispatch(&pio, 0xCFC + (reg & 3), d, size, false));
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)d[i] << (8 * i);
	return v;
}

static uint32_t bar0(void)
{
	return cfg_rd(PCI_BAR0, 4) & ~0xFu;
}

static uint64_t mmio_rd(uint64_t gpa, unsigned size)
{
	uint8_t d[8] = { 0 };
	uint64_t v = 0;

	bus_dispatch(&mmio, gpa, d, size, false);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static void mmio_wr(uint64_t gpa, unsigned size, uint64_t v)
{
	uint8_t d[8];

	for (unsigned i = 0; i < size; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	bus_dispatch(&mmio, gpa, d, size, true);
}

/* The capability of a cfg_type (first one, as Linux takes it), or 0. */
static unsigned find_vcap(uint8_t type)
{
	for (unsigned off = cfg_rd(PCI_CAPABILITY_LIST, 1); off; off = cfg_rd(off + 1, 1))
		if (cfg_rd(off, 1) == PCI_CAP_ID_VNDR && cfg_rd(off + 3, 1) == type)
			return off;
	return 0;
}

static unsigned find_cap(uint8_t id)
{
	for (unsigned off = cfg_rd(PCI_CAPABILITY_LIST, 1); off; off = cfg_rd(off + 1, 1))
		if (cfg_rd(off, 1) == id)
			return off;
	return 0;
}

/* Where a structure is in BAR0, from its capability. */
static uint32_t region(uint8_t type)
{
	unsigned cap = find_vcap(type);

	cr_assert_neq(cap, 0, "no capability of type %u", type);
	return cfg_rd(cap + VIRTIO_PCI_CAP_OFFSET, 4);
}

static uint64_t cc_rd(unsigned off, unsigned size)
{
	return mmio_rd(bar0() + region(VIRTIO_PCI_CAP_COMMON_CFG) + off, size);
}

static void cc_wr(unsigned off, unsigned size, uint64_t v)
{
	mmio_wr(bar0() + region(VIRTIO_PCI_CAP_COMMON_CFG) + off, size, v);
}

static uint8_t status(void)
{
	return (uint8_t)cc_rd(VIRTIO_PCI_CC_DEVICE_STATUS, 1);
}

static void set_status(uint8_t s)
{
	cc_wr(VIRTIO_PCI_CC_DEVICE_STATUS, 1, s);
}

static uint8_t isr_rd(void)
{
	return (uint8_t)mmio_rd(bar0() + region(VIRTIO_PCI_CAP_ISR_CFG), 1);
}

static uint64_t notify_gpa(unsigned q)
{
	unsigned cap = find_vcap(VIRTIO_PCI_CAP_NOTIFY_CFG);
	uint32_t mult = cfg_rd(cap + VIRTIO_PCI_CAP_NOTIFY_MULT, 4);

	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, q);
	return bar0() + region(VIRTIO_PCI_CAP_NOTIFY_CFG) +
	       mult * cc_rd(VIRTIO_PCI_CC_QUEUE_NOTIFY_OFF, 2);
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status read back. */
static uint8_t negotiate(uint64_t features)
{
	set_status(0);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	cc_wr(VIRTIO_PCI_CC_DRIVER_FEATURE_SELECT, 4, 0);
	cc_wr(VIRTIO_PCI_CC_DRIVER_FEATURE, 4, (uint32_t)features);
	cc_wr(VIRTIO_PCI_CC_DRIVER_FEATURE_SELECT, 4, 1);
	cc_wr(VIRTIO_PCI_CC_DRIVER_FEATURE, 4, (uint32_t)(features >> 32));
	set_status(status() | VIRTIO_STATUS_FEATURES_OK);
	return status();
}

/* Queue q's rings at 64 KiB * (q + 1) in guest RAM. */
static void setup_queue(unsigned q, uint16_t size, uint16_t vector)
{
	uint64_t base = 0x10000ULL * (q + 1);

	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, q);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SIZE, 2, size);
	cc_wr(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2, vector);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DESC, 4, base);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DESC + 4, 4, 0);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DRIVER, 4, base + 0x4000);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DRIVER + 4, 4, 0);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DEVICE, 4, base + 0x8000);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DEVICE + 4, 4, 0);
	cc_wr(VIRTIO_PCI_CC_QUEUE_ENABLE, 2, 1);
}

static void driver_ok(void)
{
	set_status(status() | VIRTIO_STATUS_DRIVER_OK);
}

/* MSI-X, as Linux programs it. */
static unsigned msix_cap(void)
{
	unsigned cap = find_cap(PCI_CAP_ID_MSIX);

	cr_assert_neq(cap, 0);
	return cap;
}

static uint64_t msix_entry(unsigned v)
{
	uint32_t table = cfg_rd(msix_cap() + PCI_MSIX_TABLE, 4);

	cr_assert_eq(table & 7, 0, "BIR 0");
	return bar0() + table + PCI_MSIX_ENTRY_SIZE * v;
}

static uint64_t pba(void)
{
	return mmio_rd(bar0() + (cfg_rd(msix_cap() + PCI_MSIX_PBA, 4) & ~7u), 8);
}

static void msix_control(uint16_t v)
{
	cfg_wr(msix_cap() + PCI_MSIX_CONTROL, 2, v);
}

static void msix_program(unsigned v, uint32_t data, bool masked)
{
	uint64_t e = msix_entry(v);

	mmio_wr(e, 4, 0xFEE00000);
	mmio_wr(e + 4, 4, 0);
	mmio_wr(e + 8, 4, data);
	mmio_wr(e + PCI_MSIX_ENTRY_CTRL, 4, masked);
}

static bool readable(int fd_)
{
	struct pollfd p = { .fd = fd_, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static uint64_t take(int fd_)
{
	uint64_t v = 0;

	if (read(fd_, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static int line(void)
{
	return fi.level[vp.pci.intx.gsi];
}

/* --- identity and capabilities -------------------------------------------- */

Test(virtio_pci, pci_identity)
{
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 2), 0x1AF4);
	cr_assert_eq(cfg_rd(PCI_DEVICE_ID, 2), 0x1042, "0x1040 + block");
	cr_assert_geq(cfg_rd(PCI_REVISION_ID, 1), 1);
	cr_assert_eq(cfg_rd(0x08, 4) >> 8, 0x018000);
	cr_assert_eq(cfg_rd(PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1AF4);
	cr_assert_geq(cfg_rd(PCI_SUBSYSTEM_ID, 2), 0x40);
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI_BASE + slot % 8);
	cr_assert(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
}

Test(virtio_pci, bar0_sizing)
{
	uint32_t orig = cfg_rd(PCI_BAR0, 4), size;

	cfg_wr(PCI_COMMAND, 2, 0);
	cfg_wr(PCI_BAR0, 4, 0xFFFFFFFF);
	size = ~(cfg_rd(PCI_BAR0, 4) & ~0xFu) + 1;
	cr_assert_eq(cfg_rd(PCI_BAR0, 4) & 0xF, 0, "32-bit memory, not prefetchable");
	cr_assert_geq(size, 0x4000);
	cr_assert_eq(size & (size - 1), 0);
	cfg_wr(PCI_BAR0, 4, orig);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 4, 4), 0, "one BAR only");
}

/* The walk Linux's virtio_pci_modern does, with its checks. */
Test(virtio_pci, capability_walk)
{
	uint32_t size, start[6] = { 0 }, len[6] = { 0 };
	unsigned n = 0, seen[6] = { 0 };

	cfg_wr(PCI_COMMAND, 2, 0);
	cfg_wr(PCI_BAR0, 4, 0xFFFFFFFF);
	size = ~(cfg_rd(PCI_BAR0, 4) & ~0xFu) + 1;
	cfg_wr(PCI_BAR0, 4, (uint32_t)PCI_MMIO_BASE);

	for (unsigned off = cfg_rd(PCI_CAPABILITY_LIST, 1); off; off = cfg_rd(off + 1, 1)) {
		uint8_t type;

		cr_assert_lt(++n, 16, "the list loops");
		cr_assert_eq(off & 3, 0);
		cr_assert_geq(off, 0x40);
		if (cfg_rd(off, 1) != PCI_CAP_ID_VNDR)
			continue;
		type = (uint8_t)cfg_rd(off + VIRTIO_PCI_CAP_CFG_TYPE, 1);
		cr_assert(type >= 1 && type <= 5, "cfg_type %u", type);
		cr_assert_geq(cfg_rd(off + VIRTIO_PCI_CAP_LEN, 1), 16);
		cr_assert_eq(cfg_rd(off + VIRTIO_PCI_CAP_BAR, 1), 0);
		if (seen[type]++)
			continue;
		start[type] = cfg_rd(off + VIRTIO_PCI_CAP_OFFSET, 4);
		len[type] = cfg_rd(off + VIRTIO_PCI_CAP_LENGTH, 4);
		if (type == VIRTIO_PCI_CAP_PCI_CFG)
			continue;
		cr_assert_leq((uint64_t)start[type] + len[type], size, "type %u outside BAR0", type);
	}
	for (unsigned t = 1; t <= 5; t++)
		cr_assert_eq(seen[t], 1, "cfg_type %u", t);
	cr_assert_geq(len[VIRTIO_PCI_CAP_COMMON_CFG], VIRTIO_PCI_CC_LEN);
	cr_assert_eq(start[VIRTIO_PCI_CAP_COMMON_CFG] & 3, 0);
	cr_assert_geq(len[VIRTIO_PCI_CAP_ISR_CFG], 1);
	cr_assert_eq(len[VIRTIO_PCI_CAP_DEVICE_CFG], 8);
	cr_assert_eq(cfg_rd(find_vcap(VIRTIO_PCI_CAP_NOTIFY_CFG) + VIRTIO_PCI_CAP_NOTIFY_MULT, 4), 4);
	/* Linux: every queue's notify_off * multiplier + 2 fits in the notify length. */
	cr_assert_geq(len[VIRTIO_PCI_CAP_NOTIFY_CFG], 4 * (fd.vdev.nr_queues - 1) + 2);
	/* No two structures overlap. */
	for (unsigned a = 1; a <= 4; a++)
		for (unsigned b = a + 1; b <= 4; b++)
			cr_assert(start[a] + len[a] <= start[b] || start[b] + len[b] <= start[a]);
}

Test(virtio_pci, msix_capability)
{
	unsigned cap = msix_cap();
	uint32_t table = cfg_rd(cap + PCI_MSIX_TABLE, 4), pba_ = cfg_rd(cap + PCI_MSIX_PBA, 4);

	cr_assert_eq(cfg_rd(cap + PCI_MSIX_CONTROL, 2), VIRTIO_PCI_MSIX_VECTORS - 1);
	cr_assert_eq(table & 7, 0);
	cr_assert_eq(pba_ & 7, 0);
	cr_assert_leq(table + PCI_MSIX_ENTRY_SIZE * VIRTIO_PCI_MSIX_VECTORS, 0x4000);
	cr_assert_leq(pba_ + 8, 0x4000);
	/* Only enable and function mask are writable. */
	msix_control(0xFFFF);
	cr_assert_eq(cfg_rd(cap + PCI_MSIX_CONTROL, 2),
		     PCI_MSIX_ENABLE | PCI_MSIX_MASKALL | (VIRTIO_PCI_MSIX_VECTORS - 1));
	cfg_wr(cap + PCI_MSIX_TABLE, 4, 0);
	cr_assert_eq(cfg_rd(cap + PCI_MSIX_TABLE, 4), table);
	/* Entries start masked. */
	cr_assert_eq(mmio_rd(msix_entry(0) + PCI_MSIX_ENTRY_CTRL, 4), 1);
}

/* Start over with another transport configuration, in the same slot. */
static void reinit(bool use_ioeventfd, const struct irq_services *irq)
{
	virtio_pci_destroy(&vp);
	pb.dev[slot] = NULL;
	init_vp(use_ioeventfd, irq);
}

Test(virtio_pci, no_irq_services_no_msix)
{
	reinit(true, NULL);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(find_cap(PCI_CAP_ID_MSIX), 0);
	cc_wr(VIRTIO_PCI_CC_MSIX_CONFIG, 2, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	negotiate(F_V1);
	setup_queue(0, 64, 0);
	driver_ok();
	cr_assert_eq(fd.starts, 1);
	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_eq(line(), 1);
	cr_assert_eq(isr_rd(), VIRTIO_PCI_ISR_QUEUE);
}

/* --- features and status --------------------------------------------------- */

Test(virtio_pci, device_features)
{
	cc_wr(VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT, 4, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DEVICE_FEATURE, 4), (uint32_t)DEV_FEATURES);
	cc_wr(VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT, 4, 1);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT, 4), 1);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DEVICE_FEATURE, 4), 1, "VERSION_1");
	cc_wr(VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT, 4, 0xFFFFFFFF);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DEVICE_FEATURE, 4), 0);
	cc_wr(VIRTIO_PCI_CC_DEVICE_FEATURE, 4, 0);
	cc_wr(VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT, 4, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DEVICE_FEATURE, 4), (uint32_t)DEV_FEATURES, "read-only");
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_NUM_QUEUES, 2), 2);
}

Test(virtio_pci, features_ok_accepted)
{
	uint64_t f = F_V1 | (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << 9);

	cr_assert(negotiate(f) & VIRTIO_STATUS_FEATURES_OK);
	cr_assert_eq(status(), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK);
	cc_wr(VIRTIO_PCI_CC_DRIVER_FEATURE_SELECT, 4, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DRIVER_FEATURE, 4), (uint32_t)f);
	/* Final now. */
	cc_wr(VIRTIO_PCI_CC_DRIVER_FEATURE, 4, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DRIVER_FEATURE, 4), (uint32_t)f);
	cr_assert_eq(vp.driver_features, f);
}

Test(virtio_pci, features_ok_refused)
{
	cr_assert_eq(negotiate(F_V1 | (1ULL << 7)) & VIRTIO_STATUS_FEATURES_OK, 0, "not offered");
	cr_assert_eq(negotiate(1ULL << 9) & VIRTIO_STATUS_FEATURES_OK, 0, "no VERSION_1");
	cr_assert_eq(negotiate(F_V1 | (1ULL << 63)) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* The driver may try again with fewer. */
	cr_assert(negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
}

Test(virtio_pci, driver_ok_needs_features_ok)
{
	negotiate(F_V1 | (1ULL << 7));
	setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	cr_assert_eq(status() & VIRTIO_STATUS_DRIVER_OK, 0);
	cr_assert_eq(fd.starts, 0);
}

Test(virtio_pci, driver_ok_starts_queues_and_device)
{
	uint64_t f = F_V1 | (1ULL << VIRTIO_RING_F_EVENT_IDX);

	negotiate(f);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SIZE, 2), 256, "queue_max");
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_ENABLE, 2), 0);
	setup_queue(0, 128, VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SIZE, 2), 128);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_ENABLE, 2), 1);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_DRIVER, 8), 0x14000);
	cr_assert_eq(fd.starts, 0);
	driver_ok();
	cr_assert_eq(fd.starts, 1);
	cr_assert_eq(fd.features, f);
	cr_assert(fd.ready_at_start[0], "queue 0 vq_start'ed before start");
	cr_assert_not(fd.ready_at_start[1], "queue 1 never enabled");
	cr_assert(fd.event_idx_at_start);
	cr_assert_not(fd.indirect_at_start);
	cr_assert_eq(vp.vq[0].size, 128);
	cr_assert_eq(vp.vq[0].desc_gpa, 0x10000);
	cr_assert(status() & VIRTIO_STATUS_DRIVER_OK);
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
	/* Setting it again does not start twice. */
	driver_ok();
	cr_assert_eq(fd.starts, 1);
}

Test(virtio_pci, bad_ring_needs_reset)
{
	negotiate(F_V1);
	setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, 1);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SIZE, 2, 64);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DESC, 8, 0x7FFFFFFF0ULL); /* outside guest RAM */
	cc_wr(VIRTIO_PCI_CC_QUEUE_ENABLE, 2, 1);
	driver_ok();
	cr_assert_eq(fd.starts, 0);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert(status() & VIRTIO_STATUS_DRIVER_OK);
	/* Told through a configuration change interrupt (INTx: MSI-X is off). */
	cr_assert_eq(line(), 1);
	cr_assert_eq(isr_rd(), VIRTIO_PCI_ISR_CONFIG);
	cr_assert_eq(line(), 0);
}

Test(virtio_pci, start_failure_needs_reset)
{
	fd.start_ret = -1;
	negotiate(F_V1);
	setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	cr_assert_eq(fd.starts, 1);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	/* The driver cannot set or clear NEEDS_RESET itself. */
	fd.start_ret = 0;
	negotiate(F_V1);
	set_status(status() | VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
}

Test(virtio_pci, reset)
{
	negotiate(F_V1 | (1ULL << 9));
	setup_queue(0, 64, 1);
	cc_wr(VIRTIO_PCI_CC_MSIX_CONFIG, 2, 0);
	driver_ok();
	cr_assert_eq(fi.nio, 1);
	vp.t.ops->interrupt(&vp.t, 0); /* INTx: ISR set, line high */
	cr_assert_eq(line(), 1);
	mmio_wr(notify_gpa(0), 2, 0); /* the fake KVM lets it through to us */
	cr_assert(readable(vp.kick_fd[0]));
	set_status(0);
	cr_assert_eq(fd.resets, 2, "negotiate() reset once, then this");
	cr_assert_eq(status(), 0);
	cr_assert_eq(line(), 0);
	cr_assert_eq(fi.nio, 0, "ioeventfds gone");
	cr_assert_eq(fi.bad_deassigns, 0);
	cr_assert_eq(vp.driver_features, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SELECT, 2), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SIZE, 2), 256);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_ENABLE, 2), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_DESC, 8), 0);
	cr_assert_not(vp.vq[0].ready);
	cr_assert_not(readable(vp.kick_fd[0]));
	/* And it works again from scratch. */
	negotiate(F_V1);
	setup_queue(0, 32, VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	cr_assert_eq(fd.starts, 2);
	cr_assert(fd.ready_at_start[0]);
}

/* The device's thread interrupts in a loop; reset() joins it: no deadlock. */
Test(virtio_pci, reset_joins_an_interrupting_thread)
{
	fd.spin = true;
	for (int i = 0; i < 20; i++) {
		negotiate(F_V1);
		setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
		driver_ok();
		cr_assert(fd.running);
		while (__atomic_load_n(&fd.spins, __ATOMIC_RELAXED) < 10)
			usleep(100);
		set_status(0);
		cr_assert_not(fd.running);
		cr_assert_eq(status(), 0);
		__atomic_store_n(&fd.spins, 0, __ATOMIC_RELAXED);
	}
}

/* --- the other structures -------------------------------------------------- */

Test(virtio_pci, device_config)
{
	uint64_t dcfg = bar0() + region(VIRTIO_PCI_CAP_DEVICE_CFG);

	cr_assert_eq(mmio_rd(dcfg, 4), 0x04030201);
	cr_assert_eq(fd.cfg_off, 0);
	cr_assert_eq(fd.cfg_size, 4);
	cr_assert_eq(mmio_rd(dcfg + 6, 2), 0x0807);
	mmio_wr(dcfg + 1, 1, 0xAA);
	cr_assert(fd.cfg_write);
	cr_assert_eq(fd.config[1], 0xAA);
	cr_assert_eq(mmio_rd(dcfg, 8), 0x080706050403AA01ULL);
	/* Past config_len: not the device's business. */
	fd.cfg_calls = 0;
	cr_assert_eq(mmio_rd(dcfg + 8, 4), 0);
	cr_assert_eq(mmio_rd(dcfg + 6, 4), 0, "straddles the end");
	mmio_wr(dcfg + 7, 2, 0);
	mmio_wr(dcfg + 0xFFC, 4, 0);
	cr_assert_eq(fd.cfg_calls, 0);
}

Test(virtio_pci, config_changed_interrupt)
{
	uint8_t gen = (uint8_t)cc_rd(VIRTIO_PCI_CC_CONFIG_GENERATION, 1);

	virtio_pci_config_changed(&vp);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_CONFIG_GENERATION, 1), (uint8_t)(gen + 1));
	cr_assert_eq(line(), 1);
	cr_assert_eq(isr_rd(), VIRTIO_PCI_ISR_CONFIG);
	cr_assert_eq(line(), 0);

	/* With MSI-X: the msix_config vector. */
	msix_control(PCI_MSIX_ENABLE);
	msix_program(0, 0x4041, false);
	cc_wr(VIRTIO_PCI_CC_MSIX_CONFIG, 2, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_MSIX_CONFIG, 2), 0);
	virtio_pci_config_changed(&vp);
	cr_assert_eq(fi.adds, 1);
	cr_assert_eq(fi.msg[0].data, 0x4041);
	cr_assert_eq(take(vp.msix[0].irqfd), 1);
	cr_assert_eq(line(), 0);
}

Test(virtio_pci, needs_reset_op)
{
	negotiate(F_V1);
	setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	vp.t.ops->needs_reset(&vp.t);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(isr_rd(), VIRTIO_PCI_ISR_CONFIG);
}

Test(virtio_pci, transport_ops)
{
	cr_assert_eq(vp.t.ops->queue(&vp.t, 1), &vp.vq[1]);
	cr_assert_null(vp.t.ops->queue(&vp.t, 2));
	cr_assert_null(vp.t.ops->queue(&vp.t, 1000));
	cr_assert_eq(vp.t.ops->kick_fd(&vp.t, 0), vp.kick_fd[0]);
	cr_assert_eq(vp.t.ops->kick_fd(&vp.t, 2), -1);
	vp.t.ops->interrupt(&vp.t, 7); /* no such queue: nothing */
	cr_assert_eq(fi.level_changes, 0);
}

/* --- notifications ------------------------------------------------------- */

Test(virtio_pci, notify_by_mmio)
{
	fi.refuse_all = true; /* no ioeventfd: kicks come to us */
	negotiate(F_V1);
	setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	cr_assert_eq(fi.nio, 0);
	cr_assert_not(readable(vp.kick_fd[0]));
	mmio_wr(notify_gpa(0), 2, 0);
	cr_assert(readable(vp.kick_fd[0]));
	cr_assert_eq(take(vp.kick_fd[0]), 1);
	/* Queue 1 is not enabled; odd offsets are nobody's. */
	mmio_wr(notify_gpa(1), 2, 1);
	mmio_wr(notify_gpa(0) + 1, 1, 0);
	mmio_wr(notify_gpa(0) + 2, 2, 0);
	cr_assert_not(readable(vp.kick_fd[0]));
	cr_assert_not(readable(vp.kick_fd[1]));
	cr_assert_eq(mmio_rd(notify_gpa(0), 2), 0, "reads are 0");
}

Test(virtio_pci, notify_without_ioeventfd_option)
{
	reinit(false, &services);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	negotiate(F_V1);
	setup_queue(1, 64, VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	cr_assert_eq(fi.assigns, 0);
	mmio_wr(notify_gpa(1), 2, 1);
	cr_assert_eq(take(vp.kick_fd[1]), 1);
}

Test(virtio_pci, ioeventfd_follows_bar0)
{
	uint64_t old, old_bar = bar0(), moved = PCI_MMIO_BASE + 0x200000;
	const struct io_reg *r;

	negotiate(F_V1);
	setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
	setup_queue(1, 64, VIRTIO_MSI_NO_VECTOR);
	old = notify_gpa(1);
	cr_assert_eq(old, old_bar + region(VIRTIO_PCI_CAP_NOTIFY_CFG) + 4);
	cr_assert_eq(fi.nio, 2);
	r = io_at(&fi, old);
	cr_assert_not_null(r, "queue 1 at notify base + 4");
	cr_assert_eq(r->fd, vp.kick_fd[1]);
	cr_assert_eq(r->len, 0, "any length");
	cr_assert_not_null(io_at(&fi, notify_gpa(0)));

	/* Linux sizes BARs with decoding off: everything goes, then comes back. */
	cfg_wr(PCI_COMMAND, 2, 0);
	cr_assert_eq(fi.nio, 0);
	cfg_wr(PCI_BAR0, 4, 0xFFFFFFFF);
	cfg_wr(PCI_BAR0, 4, (uint32_t)moved);
	cr_assert_eq(fi.nio, 0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(fi.nio, 2);
	cr_assert_null(io_at(&fi, old));
	cr_assert_eq(bar0(), moved);
	r = io_at(&fi, moved + (old - old_bar));
	cr_assert_not_null(r);
	cr_assert_eq(r->fd, vp.kick_fd[1]);

	/* Moved with decoding on. */
	cfg_wr(PCI_BAR0, 4, (uint32_t)PCI_MMIO_BASE + 0x300000);
	cr_assert_eq(fi.nio, 2);
	cr_assert_not_null(io_at(&fi, notify_gpa(0)));
	cr_assert_eq(notify_gpa(0) & ~0xFFFFFULL, PCI_MMIO_BASE + 0x300000);
	/* Out of the window: nothing. */
	cfg_wr(PCI_BAR0, 4, 0xE0000000);
	cr_assert_eq(fi.nio, 0);
	cr_assert_eq(fi.bad_deassigns, 0);
}

/* A write through the PCI configuration access capability (works with BAR0 off). */
static void window_wr(uint32_t off, unsigned len, uint32_t v)
{
	unsigned cap = find_vcap(VIRTIO_PCI_CAP_PCI_CFG);

	cfg_wr(cap + VIRTIO_PCI_CAP_BAR, 1, 0);
	cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, 4, off);
	cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 4, len);
	cfg_wr(cap + VIRTIO_PCI_CAP_CFG_DATA, len, v);
}

Test(virtio_pci, ioeventfd_after_memory_enable)
{
	negotiate(F_V1);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, 0);
	cfg_wr(PCI_COMMAND, 2, 0);
	window_wr(region(VIRTIO_PCI_CAP_COMMON_CFG) + VIRTIO_PCI_CC_QUEUE_ENABLE, 2, 1);
	cr_assert(vp.queue_enabled[0]);
	cr_assert_eq(fi.nio, 0, "BAR0 does not decode");
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(fi.nio, 1);
	cr_assert_eq(io_at(&fi, notify_gpa(0))->fd, vp.kick_fd[0]);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	cr_assert_eq(fi.nio, 0);
	cr_assert_eq(fi.bad_deassigns, 0);
}

Test(virtio_pci, ioeventfd_len_fallback)
{
	fi.refuse_len0 = true;
	negotiate(F_V1);
	setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(fi.nio, 1);
	cr_assert_eq(io_at(&fi, notify_gpa(0))->len, 2);
	set_status(0);
	cr_assert_eq(fi.nio, 0);
	cr_assert_eq(fi.bad_deassigns, 0, "deassigned with the len it was assigned with");
}

/* --- interrupts ------------------------------------------------------------ */

Test(virtio_pci, msix_delivery)
{
	msix_control(PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
	msix_program(1, 0x4021, false);
	msix_control(PCI_MSIX_ENABLE);
	negotiate(F_V1);
	setup_queue(0, 64, 1);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2), 1);
	driver_ok();
	cr_assert_eq(fi.adds, 0, "routed lazily");

	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_eq(fi.adds, 1);
	cr_assert_eq(fi.msg[0].addr, 0xFEE00000);
	cr_assert_eq(fi.msg[0].data, 0x4021);
	cr_assert_eq(fi.irqfd[0], vp.msix[1].irqfd);
	cr_assert_eq(take(vp.msix[1].irqfd), 1);
	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_eq(fi.adds, 1, "once");
	cr_assert_eq(fi.updates, 0);
	cr_assert_eq(take(vp.msix[1].irqfd), 1);

	/* The guest moves the interrupt (another CPU): re-routed before the next one. */
	mmio_wr(msix_entry(1) + 8, 4, 0x4031);
	cr_assert_eq(mmio_rd(msix_entry(1) + 8, 4), 0x4031);
	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_eq(fi.updates, 1);
	cr_assert_eq(fi.msg[0].data, 0x4031);
	cr_assert_eq(take(vp.msix[1].irqfd), 1);
	cr_assert_eq(line(), 0, "no INTx with MSI-X");
	cr_assert_eq(fi.level_changes, 0);
}

Test(virtio_pci, msix_masking_and_pba)
{
	msix_control(PCI_MSIX_ENABLE);
	msix_program(2, 0x4022, true);
	negotiate(F_V1);
	setup_queue(1, 64, 2);
	driver_ok();

	vp.t.ops->interrupt(&vp.t, 1);
	cr_assert_not(readable(vp.msix[2].irqfd));
	cr_assert_eq(pba(), 1u << 2);
	/* Unmasking delivers it. */
	mmio_wr(msix_entry(2) + PCI_MSIX_ENTRY_CTRL, 4, 0);
	cr_assert_eq(take(vp.msix[2].irqfd), 1);
	cr_assert_eq(pba(), 0);

	/* Function mask: the same through the control register. */
	msix_control(PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
	vp.t.ops->interrupt(&vp.t, 1);
	vp.t.ops->interrupt(&vp.t, 1);
	cr_assert_not(readable(vp.msix[2].irqfd));
	cr_assert_eq(pba(), 1u << 2);
	msix_control(PCI_MSIX_ENABLE);
	cr_assert_eq(take(vp.msix[2].irqfd), 1, "one message for both");
	cr_assert_eq(pba(), 0);

	/* PBA is read-only. */
	mmio_wr(bar0() + (cfg_rd(msix_cap() + PCI_MSIX_PBA, 4) & ~7u), 8, ~0ULL);
	cr_assert_eq(pba(), 0);
}

Test(virtio_pci, msix_no_vector)
{
	msix_control(PCI_MSIX_ENABLE);
	msix_program(0, 0x4020, false);
	negotiate(F_V1);
	setup_queue(0, 64, VIRTIO_MSI_NO_VECTOR);
	driver_ok();
	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_eq(fi.adds, 0);
	cr_assert_eq(pba(), 0);
	cr_assert_eq(fi.level_changes, 0);
	cr_assert_eq(vp.isr, 0);
}

Test(virtio_pci, msix_route_failure_is_survivable)
{
	fi.add_fail = 1;
	msix_control(PCI_MSIX_ENABLE);
	msix_program(1, 0x4021, false);
	negotiate(F_V1);
	setup_queue(0, 64, 1);
	driver_ok();
	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_not(readable(vp.msix[1].irqfd));
	fi.add_fail = 0;
	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_eq(fi.adds, 1);
	cr_assert_eq(take(vp.msix[1].irqfd), 1);
}

Test(virtio_pci, intx_fallback)
{
	negotiate(F_V1);
	setup_queue(0, 64, 1); /* a vector, but MSI-X is off */
	driver_ok();
	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_eq(line(), 1);
	cr_assert_eq(vp.pci.intx.gsi, PCI_INTX_GSI_BASE + slot % 8);
	cr_assert_eq(isr_rd(), VIRTIO_PCI_ISR_QUEUE, "read returns and clears");
	cr_assert_eq(line(), 0);
	cr_assert_eq(isr_rd(), 0);
	cr_assert_eq(fi.adds, 0);

	/* INTx disable in the command register holds the line low. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	vp.t.ops->interrupt(&vp.t, 0);
	cr_assert_eq(line(), 0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(line(), 1);

	/* Turning MSI-X on takes the line down too. */
	msix_control(PCI_MSIX_ENABLE);
	cr_assert_eq(line(), 0);
	msix_control(0);
	cr_assert_eq(line(), 1);
	cr_assert_eq(isr_rd(), VIRTIO_PCI_ISR_QUEUE);
	cr_assert_eq(line(), 0);
}

/* --- the PCI configuration access capability ------------------------------- */

Test(virtio_pci, pci_cfg_window)
{
	unsigned cap = find_vcap(VIRTIO_PCI_CAP_PCI_CFG);
	uint32_t common = region(VIRTIO_PCI_CAP_COMMON_CFG);

	cfg_wr(PCI_COMMAND, 2, 0); /* works with BAR0 decoding off */
	cfg_wr(cap + VIRTIO_PCI_CAP_BAR, 1, 0);
	cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, 4, common + VIRTIO_PCI_CC_NUM_QUEUES);
	cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 4, 2);
	cr_assert_eq(cfg_rd(cap + VIRTIO_PCI_CAP_CFG_DATA, 2), 2, "num_queues");

	cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, 4, common + VIRTIO_PCI_CC_DEVICE_STATUS);
	cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 4, 1);
	cfg_wr(cap + VIRTIO_PCI_CAP_CFG_DATA, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(vp.status, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(cfg_rd(cap + VIRTIO_PCI_CAP_CFG_DATA, 1), VIRTIO_STATUS_ACKNOWLEDGE);

	/* Bad length, misaligned, another BAR: no access. */
	cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 4, 3);
	cfg_wr(cap + VIRTIO_PCI_CAP_CFG_DATA, 4, 0);
	cr_assert_eq(vp.status, VIRTIO_STATUS_ACKNOWLEDGE);
	cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, 4, common + VIRTIO_PCI_CC_DEVICE_STATUS + 1);
	cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 4, 2);
	cfg_wr(cap + VIRTIO_PCI_CAP_CFG_DATA, 2, 0);
	cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, 4, 0xFFFFFFFC);
	cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	cfg_wr(cap + VIRTIO_PCI_CAP_CFG_DATA, 4, 0);
	cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, 4, common + VIRTIO_PCI_CC_DEVICE_STATUS);
	cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, 4, 1);
	cfg_wr(cap + VIRTIO_PCI_CAP_BAR, 1, 3);
	cfg_wr(cap + VIRTIO_PCI_CAP_CFG_DATA, 1, 0);
	cr_assert_eq(vp.status, VIRTIO_STATUS_ACKNOWLEDGE);
	/* The rest of the capability stays read-only. */
	cfg_wr(cap, 4, 0);
	cr_assert_eq(cfg_rd(cap, 1), PCI_CAP_ID_VNDR);
	cr_assert_eq(cfg_rd(cap + VIRTIO_PCI_CAP_CFG_TYPE, 1), VIRTIO_PCI_CAP_PCI_CFG);
}

/* --- hostile drivers -------------------------------------------------------- */

Test(virtio_pci, hostile_queue_select)
{
	negotiate(F_V1);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, 2);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SELECT, 2), 2);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SIZE, 2), 0, "no such queue");
	cc_wr(VIRTIO_PCI_CC_QUEUE_SIZE, 2, 64);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DESC, 4, 0x1000);
	cc_wr(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2, 0);
	cc_wr(VIRTIO_PCI_CC_QUEUE_ENABLE, 2, 1);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_ENABLE, 2), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_DESC, 4), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, 0xFFFF);
	cc_wr(VIRTIO_PCI_CC_QUEUE_ENABLE, 2, 1);
	cr_assert_eq(fi.nio, 0);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		cr_assert_not(vp.queue_enabled[q]);
}

Test(virtio_pci, hostile_queue_size)
{
	static const uint16_t bad[] = { 0, 3, 100, 255, 512, 0x8000, 0xFFFF };

	negotiate(F_V1);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cc_wr(VIRTIO_PCI_CC_QUEUE_SIZE, 2, bad[i]);
		cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SIZE, 2), 256, "size %u taken", bad[i]);
	}
	cc_wr(VIRTIO_PCI_CC_QUEUE_SIZE, 2, 1);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SIZE, 2), 1);
	/* Once enabled, the queue's set-up is fixed. */
	setup_queue(0, 16, VIRTIO_MSI_NO_VECTOR);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SIZE, 2, 64);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DESC, 4, 0x3000);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SIZE, 2), 16);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_DESC, 4), 0x10000);
	/* Writing 0 to queue_enable is not the driver's to do. */
	cc_wr(VIRTIO_PCI_CC_QUEUE_ENABLE, 2, 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_ENABLE, 2), 1);
}

Test(virtio_pci, hostile_vectors)
{
	cc_wr(VIRTIO_PCI_CC_MSIX_CONFIG, 2, VIRTIO_PCI_MSIX_VECTORS);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_MSIX_CONFIG, 2), VIRTIO_MSI_NO_VECTOR);
	cc_wr(VIRTIO_PCI_CC_MSIX_CONFIG, 2, VIRTIO_PCI_MSIX_VECTORS - 1);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_MSIX_CONFIG, 2), VIRTIO_PCI_MSIX_VECTORS - 1);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, 1);
	cc_wr(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2, 0x7FFF);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	cc_wr(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2, 3);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR, 2), 3);
	/* Table entries past the table size. */
	mmio_wr(msix_entry(VIRTIO_PCI_MSIX_VECTORS), 4, 0x12345678);
	cr_assert_eq(mmio_rd(msix_entry(VIRTIO_PCI_MSIX_VECTORS), 4), 0);
	mmio_wr(msix_entry(0) + 2, 2, 0xFFFF);
	cr_assert_eq(mmio_rd(msix_entry(0), 4), 0, "misaligned: ignored");
	cr_assert_eq(mmio_rd(msix_entry(0) + 1, 1), 0);
	/* A qword access to an entry works. */
	mmio_wr(msix_entry(3), 8, 0x00000001FEE01000ULL);
	cr_assert_eq(mmio_rd(msix_entry(3) + 4, 4), 1);
	cr_assert_eq(mmio_rd(msix_entry(3), 8), 0x00000001FEE01000ULL);
	mmio_wr(msix_entry(3) + 8, 8, 0x0000000000004023ULL); /* data, unmask */
	cr_assert_eq(mmio_rd(msix_entry(3) + PCI_MSIX_ENTRY_CTRL, 4), 0);
}

Test(virtio_pci, hostile_widths_and_offsets)
{
	uint8_t d[8];
	struct bus_access a = { .data = d };

	/* Wrong widths: reads 0, writes ignored. */
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_NUM_QUEUES, 1), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_NUM_QUEUES, 4), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DEVICE_FEATURE, 2), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DEVICE_FEATURE, 8), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_DEVICE_STATUS, 2), 0);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_NUM_QUEUES + 1, 1), 0, "inside a field");
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 4, 1);
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 1, 1);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_SELECT, 2), 0);
	cc_wr(VIRTIO_PCI_CC_DEVICE_STATUS, 2, VIRTIO_STATUS_ACKNOWLEDGE);
	cc_wr(VIRTIO_PCI_CC_DEVICE_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(status(), 0);
	cc_wr(VIRTIO_PCI_CC_DRIVER_FEATURE, 8, ~0ULL);
	cr_assert_eq(vp.driver_features, 0);
	/* Past the common structure, inside its page. */
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_LEN, 4), 0);
	cr_assert_eq(cc_rd(0x800, 8), 0);
	cc_wr(0xFFC, 4, ~0ULL);
	/* 64-bit fields take a 64-bit access. */
	cc_wr(VIRTIO_PCI_CC_QUEUE_SELECT, 2, 0);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DEVICE, 8, 0x123456789ABCDEF0ULL);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_DEVICE + 4, 4), 0x12345678);
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_DEVICE, 8), 0x123456789ABCDEF0ULL);
	cc_wr(VIRTIO_PCI_CC_QUEUE_DEVICE + 4, 8, 0); /* not a field start */
	cr_assert_eq(cc_rd(VIRTIO_PCI_CC_QUEUE_DEVICE, 8), 0x123456789ABCDEF0ULL);
	/* ISR: only its first byte, and a write does not clear it. */
	vp.t.ops->interrupt(&vp.t, 0);
	mmio_wr(bar0() + region(VIRTIO_PCI_CAP_ISR_CFG), 1, 0);
	cr_assert_eq(mmio_rd(bar0() + region(VIRTIO_PCI_CAP_ISR_CFG) + 1, 1), 0);
	cr_assert_eq(line(), 1);
	cr_assert_eq(isr_rd(), 1);

	/* Straight to the handler: offsets no bus would send. */
	for (uint64_t off = 0x4000; off; off <<= 4) {
		memset(d, 0xEE, sizeof(d));
		a = (struct bus_access){ off, d, 8, false };
		virtio_pci_bar(&vp, &a);
		cr_assert_eq(d[0], 0);
		a.is_write = true;
		virtio_pci_bar(&vp, &a);
	}
	memset(d, 0xEE, sizeof(d));
	a = (struct bus_access){ 0x3FFE, d, 8, false }; /* runs past the end */
	virtio_pci_bar(&vp, &a);
	cr_assert_eq(d[7], 0);
	cr_assert_eq(status(), 0);
}

/* --- teardown ---------------------------------------------------------------- */

Test(virtio_pci, destroy_releases_everything)
{
	msix_control(PCI_MSIX_ENABLE);
	msix_program(0, 0x4020, false);
	msix_program(1, 0x4021, false);
	negotiate(F_V1);
	cc_wr(VIRTIO_PCI_CC_MSIX_CONFIG, 2, 0);
	setup_queue(0, 64, 1);
	driver_ok();
	vp.t.ops->interrupt(&vp.t, 0);
	virtio_pci_config_changed(&vp);
	cr_assert_eq(fi.adds, 2);
	cr_assert_eq(fi.nio, 1);
	virtio_pci_destroy(&vp);
	cr_assert_eq(fi.removes, 2);
	cr_assert_eq(fi.nio, 0);
	cr_assert_eq(fi.bad_deassigns, 0);
	cr_assert_eq(fd.resets, 2);
	cr_assert_eq(vp.kick_fd[0], -1);
	/* Teardown destroys it again: make that a fresh one. */
	pb.dev[slot] = NULL;
	init_vp(true, &services);
}
