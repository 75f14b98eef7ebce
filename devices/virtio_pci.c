// SPDX-License-Identifier: MIT
/*
 * The virtio 1.x PCI transport (virtio spec 4.1), modern only.
 *
 * BAR0 (16 KiB, 32-bit memory) holds every structure, each announced by a
 * capability:
 *
 *   0x0000 common configuration      0x3000 notifications (queue q at 4 * q)
 *   0x1000 ISR status                0x3800 MSI-X table
 *   0x2000 device configuration      0x3C00 MSI-X PBA
 *
 * A PCI configuration access capability (4.1.4.9) reaches the same
 * structures through config space.
 *
 * Kicks: one eventfd per queue. With ioeventfd on, KVM signals it for a
 * write at the queue's notify address without an exit (registered for any
 * length, or 2 bytes if KVM cannot); otherwise the write reaches us and we
 * signal it. Registrations follow BAR0 when the guest moves it or turns
 * memory decoding off.
 *
 * Interrupts: MSI-X through one irqfd per vector, routed the first time it
 * fires (msi_add) and re-routed before the next delivery after the guest
 * rewrote the message (msi_update); a masked vector sets its PBA bit and
 * fires when unmasked. Without MSI-X: the ISR bits and INTA#.
 *
 * Locking: see struct virtio_pci. Lock order is the bus lock (config cycles
 * only), ctl_lock, lock. Nothing here takes the bus lock: the command
 * register and BAR0's address are copied in at cfg_written time.
 *
 * The guest is not trusted: every offset, width and value is checked; a
 * bad one reads as 0 and is otherwise ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio_pci.h"

/* BAR0 layout. */
#define VP_BAR_SIZE 0x4000u
#define VP_COMMON 0x0000u
#define VP_ISR 0x1000u
#define VP_ISR_LEN 1u
#define VP_DEVICE 0x2000u
#define VP_DEVICE_MAX 0x1000u
#define VP_NOTIFY 0x3000u
#define VP_NOTIFY_MULT 4u
#define VP_MSIX_TABLE 0x3800u
#define VP_MSIX_PBA 0x3C00u

#define VP_VCAP_LEN 16	      /* struct virtio_pci_cap */
#define VP_VCAP_NOTIFY_LEN 20 /* ... with notify_off_multiplier */
#define VP_VCAP_CFG_LEN 20    /* ... with pci_cfg_data */

static struct virtio_pci *to_vp(struct virtio_transport *t)
{
	return (struct virtio_pci *)t; /* t is the first member */
}

static uint64_t offered(const struct virtio_pci *vp)
{
	/* A modern-only transport always offers VERSION_1. */
	return vp->vdev->features | (1ULL << VIRTIO_F_VERSION_1);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is full: the reader has plenty to see. */
	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void drain_fd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static void put_le(uint8_t *data, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *data, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

/* --- interrupts (lock held) ---------------------------------------------- */

static void update_intx(struct virtio_pci *vp)
{
	int level = vp->isr && !vp->msix_enabled && !vp->intx_disabled;

	if (level == vp->intx_level)
		return;
	vp->intx_level = level;
	irq_line_set(&vp->pci.intx, level);
}

static void msix_deliver(struct virtio_pci *vp, unsigned v)
{
	const struct irq_services *irq = vp->irq;
	struct msix_entry *e = &vp->msix[v];

	e->pending = false;
	if (!e->routed) {
		if (irq->msi_add(irq->opaque, &e->msg, e->irqfd, &e->gsi) < 0) {
			/* Lost; the next interrupt on this vector tries again. */
			if (!vp->route_warned)
				fprintf(stderr, "kvmlab: %s: cannot route MSI-X vector %u: %s\n",
					vp->vdev->name, v, strerror(errno));
			vp->route_warned = true;
			return;
		}
		e->routed = true;
		e->dirty = false;
	} else if (e->dirty && irq->msi_update(irq->opaque, e->gsi, &e->msg) == 0) {
		e->dirty = false;
	}
	signal_fd(e->irqfd);
}

static void msix_signal(struct virtio_pci *vp, uint16_t v)
{
	if (v >= VIRTIO_PCI_MSIX_VECTORS)
		return; /* NO_VECTOR: the driver wants nothing for this event */
	if (vp->msix_function_masked || vp->msix[v].masked) {
		vp->msix[v].pending = true;
		return;
	}
	msix_deliver(vp, v);
}

/* Send what masking held back and may go now. */
static void msix_flush(struct virtio_pci *vp)
{
	if (!vp->msix_enabled || vp->msix_function_masked)
		return;
	for (unsigned v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++)
		if (vp->msix[v].pending && !vp->msix[v].masked)
			msix_deliver(vp, v);
}

static void signal_event(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (vp->msix_enabled) {
		msix_signal(vp, vector);
		return;
	}
	vp->isr |= isr_bit;
	update_intx(vp);
}

static void config_change(struct virtio_pci *vp)
{
	vp->config_generation++;
	signal_event(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

/* --- what the device sees --------------------------------------------------- */

static struct virtq *op_queue(struct virtio_transport *t, unsigned q)
{
	struct virtio_pci *vp = to_vp(t);

	return q < vp->vdev->nr_queues ? &vp->vq[q] : NULL;
}

static int op_kick_fd(struct virtio_transport *t, unsigned q)
{
	struct virtio_pci *vp = to_vp(t);

	return q < vp->vdev->nr_queues ? vp->kick_fd[q] : -1;
}

static void op_interrupt(struct virtio_transport *t, unsigned q)
{
	struct virtio_pci *vp = to_vp(t);

	if (q >= vp->vdev->nr_queues)
		return;
	pthread_mutex_lock(&vp->lock);
	signal_event(vp, vp->queue_vector[q], VIRTIO_PCI_ISR_QUEUE);
	pthread_mutex_unlock(&vp->lock);
}

static void op_needs_reset(struct virtio_transport *t)
{
	struct virtio_pci *vp = to_vp(t);

	pthread_mutex_lock(&vp->lock);
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	signal_event(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
	pthread_mutex_unlock(&vp->lock);
}

static const struct virtio_transport_ops transport_ops = {
	.queue = op_queue,
	.kick_fd = op_kick_fd,
	.interrupt = op_interrupt,
	.needs_reset = op_needs_reset,
};

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->lock);
	config_change(vp);
	pthread_mutex_unlock(&vp->lock);
}

/* --- ioeventfds (ctl_lock held) ------------------------------------------- */

static uint64_t notify_addr(uint32_t base, unsigned q)
{
	return (uint64_t)base + VP_NOTIFY + VP_NOTIFY_MULT * q;
}

static void ioeventfd_set(struct virtio_pci *vp, unsigned q, bool on)
{
	static const uint8_t lens[] = { 0, 2 };
	const struct irq_services *irq = vp->irq;
	uint64_t gpa = notify_addr(vp->notify_base, q);

	if (on == vp->ioeventfd_on[q])
		return;
	if (!on) {
		irq->ioeventfd(irq->opaque, gpa, vp->ioeventfd_len[q], vp->kick_fd[q], false);
		vp->ioeventfd_on[q] = false;
		return;
	}
	/*
	 * Length 0 matches a write of any width at gpa and takes KVM's fast MMIO
	 * path (KVM_CAP_IOEVENTFD_ANY_LENGTH); without it, the 16-bit write of
	 * the queue index the spec has drivers do. If both fail, kicks still
	 * work, through an MMIO exit.
	 */
	for (unsigned i = 0; i < sizeof(lens); i++) {
		if (irq->ioeventfd(irq->opaque, gpa, lens[i], vp->kick_fd[q], true) == 0) {
			vp->ioeventfd_len[q] = lens[i];
			vp->ioeventfd_on[q] = true;
			return;
		}
	}
}

/* Registered ioeventfds = the enabled queues, at BAR0's address base (0: none). */
static void sync_ioeventfds(struct virtio_pci *vp, uint32_t base)
{
	unsigned nr = vp->vdev->nr_queues;

	if (!vp->use_ioeventfd)
		base = 0;
	for (unsigned q = 0; q < nr; q++)
		if (base != vp->notify_base)
			ioeventfd_set(vp, q, false);
	vp->notify_base = base;
	for (unsigned q = 0; q < nr; q++)
		ioeventfd_set(vp, q, base && vp->queue_enabled[q]);
}

/* --- device status --------------------------------------------------------- */

static void clear_state(struct virtio_pci *vp)
{
	vp->device_feature_select = 0;
	vp->driver_feature_select = 0;
	vp->driver_features = 0;
	vp->status = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->queue_select = 0;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vq_reset(&vp->vq[q]);
		vp->vq[q].size = q < vp->vdev->nr_queues ? vp->vdev->queue_max : 0;
		vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
		vp->queue_enabled[q] = false;
	}
	for (unsigned v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++)
		vp->msix[v].pending = false;
	vp->isr = 0;
	update_intx(vp);
}

/*
 * The driver wrote 0 to device_status. Called with ctl_lock and lock held,
 * returns with both. The device's reset() joins its thread, and that thread
 * may be waiting for lock in interrupt() at this very moment: so lock is
 * dropped around reset(). ctl_lock stays held, so no other vCPU sees or
 * changes the transport half-reset; a vCPU reading device_status waits on
 * ctl_lock and reads 0 only once the reset is complete.
 */
static void device_reset(struct virtio_pci *vp)
{
	pthread_mutex_unlock(&vp->lock);
	vp->vdev->ops->reset(vp->vdev->opaque);
	pthread_mutex_lock(&vp->lock);
	clear_state(vp);
	sync_ioeventfds(vp, vp->notify_base);
	for (unsigned q = 0; q < vp->vdev->nr_queues; q++)
		drain_fd(vp->kick_fd[q]);
}

static bool features_ok(const struct virtio_pci *vp)
{
	uint64_t f = vp->driver_features;

	return !(f & ~offered(vp)) && virtio_has(f, VIRTIO_F_VERSION_1);
}

/* DRIVER_OK: start the enabled queues, then the device. Locks as device_reset(). */
static void driver_ok(struct virtio_pci *vp)
{
	uint64_t f = vp->driver_features;
	int r;

	for (unsigned q = 0; q < vp->vdev->nr_queues; q++) {
		if (!vp->queue_enabled[q])
			continue;
		vp->vq[q].event_idx = virtio_has(f, VIRTIO_RING_F_EVENT_IDX);
		vp->vq[q].indirect = virtio_has(f, VIRTIO_RING_F_INDIRECT_DESC);
		if (vq_start(&vp->vq[q], vp->mem) < 0)
			goto fail;
	}
	/* Without lock: the device's thread may interrupt as soon as it runs. */
	pthread_mutex_unlock(&vp->lock);
	r = vp->vdev->ops->start(vp->vdev->opaque, f);
	pthread_mutex_lock(&vp->lock);
	if (r == 0)
		return;
fail:
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	signal_event(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

/*
 * Status bits only accumulate until a reset (a driver must not clear one);
 * NEEDS_RESET is the device's to set. FEATURES_OK sticks only for features
 * we offered that include VERSION_1, and DRIVER_OK only after FEATURES_OK.
 */
static void status_write(struct virtio_pci *vp, uint8_t v)
{
	uint8_t new, added;

	if (!v) {
		device_reset(vp);
		return;
	}
	new = vp->status | (v & (uint8_t)~VIRTIO_STATUS_NEEDS_RESET);
	added = new & (uint8_t)~vp->status;
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_ok(vp))
		new &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	if (!(new & VIRTIO_STATUS_FEATURES_OK))
		new &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	added = new & (uint8_t)~vp->status;
	vp->status = new;
	if (added & VIRTIO_STATUS_DRIVER_OK)
		driver_ok(vp);
}

/* --- common configuration (ctl_lock and lock held) ------------------------- */

/* The width of the field at off (64-bit fields: their 32-bit halves), or 0. */
static unsigned common_width(unsigned off)
{
	switch (off) {
	case VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT:
	case VIRTIO_PCI_CC_DEVICE_FEATURE:
	case VIRTIO_PCI_CC_DRIVER_FEATURE_SELECT:
	case VIRTIO_PCI_CC_DRIVER_FEATURE:
		return 4;
	case VIRTIO_PCI_CC_MSIX_CONFIG:
	case VIRTIO_PCI_CC_NUM_QUEUES:
	case VIRTIO_PCI_CC_QUEUE_SELECT:
	case VIRTIO_PCI_CC_QUEUE_SIZE:
	case VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR:
	case VIRTIO_PCI_CC_QUEUE_ENABLE:
	case VIRTIO_PCI_CC_QUEUE_NOTIFY_OFF:
		return 2;
	case VIRTIO_PCI_CC_DEVICE_STATUS:
	case VIRTIO_PCI_CC_CONFIG_GENERATION:
		return 1;
	}
	if (off >= VIRTIO_PCI_CC_QUEUE_DESC && off < VIRTIO_PCI_CC_LEN && !(off & 3))
		return 4;
	return 0;
}

static bool is_64bit_field(unsigned off)
{
	return off == VIRTIO_PCI_CC_QUEUE_DESC || off == VIRTIO_PCI_CC_QUEUE_DRIVER ||
	       off == VIRTIO_PCI_CC_QUEUE_DEVICE;
}

static uint16_t valid_vector(const struct virtio_pci *vp, uint16_t v)
{
	return vp->msix_cap && v < VIRTIO_PCI_MSIX_VECTORS ? v : VIRTIO_MSI_NO_VECTOR;
}

/* The selected queue, or -1 if queue_select names none. */
static int selected(const struct virtio_pci *vp)
{
	return vp->queue_select < vp->vdev->nr_queues ? vp->queue_select : -1;
}

static uint64_t *queue_addr(struct virtio_pci *vp, unsigned q, unsigned off)
{
	if (off < VIRTIO_PCI_CC_QUEUE_DRIVER)
		return &vp->vq[q].desc_gpa;
	if (off < VIRTIO_PCI_CC_QUEUE_DEVICE)
		return &vp->vq[q].avail_gpa;
	return &vp->vq[q].used_gpa;
}

static uint32_t queue_read(struct virtio_pci *vp, unsigned q, unsigned off)
{
	switch (off) {
	case VIRTIO_PCI_CC_QUEUE_SIZE:
		return vp->vq[q].size;
	case VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR:
		return vp->queue_vector[q];
	case VIRTIO_PCI_CC_QUEUE_ENABLE:
		return vp->queue_enabled[q];
	case VIRTIO_PCI_CC_QUEUE_NOTIFY_OFF:
		return q;
	}
	/* A 64-bit address, low or high half. */
	return (uint32_t)(*queue_addr(vp, q, off) >> (off & 4 ? 32 : 0));
}

static uint32_t common_read(struct virtio_pci *vp, unsigned off)
{
	int q = selected(vp);

	switch (off) {
	case VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT:
		return vp->device_feature_select;
	case VIRTIO_PCI_CC_DEVICE_FEATURE:
		if (vp->device_feature_select > 1)
			return 0;
		return (uint32_t)(offered(vp) >> (32 * vp->device_feature_select));
	case VIRTIO_PCI_CC_DRIVER_FEATURE_SELECT:
		return vp->driver_feature_select;
	case VIRTIO_PCI_CC_DRIVER_FEATURE:
		if (vp->driver_feature_select > 1)
			return 0;
		return (uint32_t)(vp->driver_features >> (32 * vp->driver_feature_select));
	case VIRTIO_PCI_CC_MSIX_CONFIG:
		return vp->msix_config;
	case VIRTIO_PCI_CC_NUM_QUEUES:
		return vp->vdev->nr_queues;
	case VIRTIO_PCI_CC_DEVICE_STATUS:
		return vp->status;
	case VIRTIO_PCI_CC_CONFIG_GENERATION:
		return vp->config_generation;
	case VIRTIO_PCI_CC_QUEUE_SELECT:
		return vp->queue_select;
	}
	if (q < 0)
		return off == VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR ? VIRTIO_MSI_NO_VECTOR : 0;
	return queue_read(vp, (unsigned)q, off);
}

/* Whether the selected queue's set-up may still change. */
static bool queue_writable(const struct virtio_pci *vp, int q)
{
	return q >= 0 && !vp->queue_enabled[q] && !(vp->status & VIRTIO_STATUS_DRIVER_OK);
}

static void queue_enable(struct virtio_pci *vp, int q, uint32_t v)
{
	/* Writing 0 is not for the driver to do (4.1.4.3.2): ignored. */
	if (v != 1 || !queue_writable(vp, q) || !vp->vq[q].size)
		return;
	vp->queue_enabled[q] = true;
	sync_ioeventfds(vp, vp->notify_base);
}

static void queue_write(struct virtio_pci *vp, unsigned off, uint32_t v)
{
	int q = selected(vp);
	uint64_t *addr;
	unsigned shift = off & 4 ? 32 : 0;

	switch (off) {
	case VIRTIO_PCI_CC_QUEUE_SIZE:
		if (queue_writable(vp, q) && v && !(v & (v - 1)) && v <= vp->vdev->queue_max)
			vp->vq[q].size = (uint16_t)v;
		return;
	case VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR:
		if (q >= 0)
			vp->queue_vector[q] = valid_vector(vp, (uint16_t)v);
		return;
	case VIRTIO_PCI_CC_QUEUE_ENABLE:
		queue_enable(vp, q, v);
		return;
	case VIRTIO_PCI_CC_QUEUE_NOTIFY_OFF:
		return;
	}
	if (!queue_writable(vp, q))
		return;
	addr = queue_addr(vp, (unsigned)q, off);
	*addr = (*addr & ~(0xFFFFFFFFULL << shift)) | ((uint64_t)v << shift);
}

static void common_write(struct virtio_pci *vp, unsigned off, uint32_t v)
{
	unsigned shift;

	switch (off) {
	case VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT:
		vp->device_feature_select = v;
		return;
	case VIRTIO_PCI_CC_DRIVER_FEATURE_SELECT:
		vp->driver_feature_select = v;
		return;
	case VIRTIO_PCI_CC_DRIVER_FEATURE:
		/* Final once FEATURES_OK is set. */
		if (vp->driver_feature_select > 1 || (vp->status & VIRTIO_STATUS_FEATURES_OK))
			return;
		shift = 32 * vp->driver_feature_select;
		vp->driver_features = (vp->driver_features & ~(0xFFFFFFFFULL << shift)) |
				      ((uint64_t)v << shift);
		return;
	case VIRTIO_PCI_CC_MSIX_CONFIG:
		vp->msix_config = valid_vector(vp, (uint16_t)v);
		return;
	case VIRTIO_PCI_CC_DEVICE_STATUS:
		status_write(vp, (uint8_t)v);
		return;
	case VIRTIO_PCI_CC_QUEUE_SELECT:
		vp->queue_select = (uint16_t)v;
		return;
	case VIRTIO_PCI_CC_DEVICE_FEATURE:
	case VIRTIO_PCI_CC_NUM_QUEUES:
	case VIRTIO_PCI_CC_CONFIG_GENERATION:
		return; /* read-only */
	}
	queue_write(vp, off, v);
}

static void common_access(struct virtio_pci *vp, unsigned off, uint8_t *data, unsigned size,
			  bool is_write)
{
	unsigned w = common_width(off);

	/* Natural width only; a 64-bit field also as one 64-bit access. */
	if (size == 8 && is_64bit_field(off)) {
		common_access(vp, off, data, 4, is_write);
		common_access(vp, off + 4, data + 4, 4, is_write);
		return;
	}
	if (!w || w != size)
		return;
	if (is_write)
		common_write(vp, off, (uint32_t)get_le(data, size));
	else
		put_le(data, size, common_read(vp, off));
}

/* --- the other structures -------------------------------------------------- */

/* Reading ISR acknowledges: it clears, and INTA# goes low. */
static void isr_access(struct virtio_pci *vp, unsigned off, uint8_t *data, bool is_write)
{
	if (is_write || off)
		return;
	data[0] = vp->isr;
	vp->isr = 0;
	update_intx(vp);
}

static void notify_access(struct virtio_pci *vp, unsigned off, bool is_write)
{
	unsigned q = off / VP_NOTIFY_MULT;

	if (!is_write || off % VP_NOTIFY_MULT || q >= vp->vdev->nr_queues)
		return;
	if (vp->queue_enabled[q])
		signal_fd(vp->kick_fd[q]);
}

static void msix_entry_write(struct virtio_pci *vp, unsigned v, unsigned field, uint32_t val)
{
	struct msix_entry *e = &vp->msix[v];
	bool was_masked = e->masked;

	switch (field) {
	case 0:
		e->msg.addr = (e->msg.addr & ~0xFFFFFFFFULL) | val;
		break;
	case 4:
		e->msg.addr = (e->msg.addr & 0xFFFFFFFFULL) | ((uint64_t)val << 32);
		break;
	case 8:
		e->msg.data = val;
		break;
	default:
		e->masked = val & PCI_MSIX_ENTRY_MASKED;
		if (was_masked && !e->masked)
			msix_flush(vp);
		return;
	}
	e->dirty = true;
}

static uint32_t msix_entry_read(const struct virtio_pci *vp, unsigned v, unsigned field)
{
	const struct msix_entry *e = &vp->msix[v];

	switch (field) {
	case 0:
		return (uint32_t)e->msg.addr;
	case 4:
		return (uint32_t)(e->msg.addr >> 32);
	case 8:
		return e->msg.data;
	}
	return e->masked ? PCI_MSIX_ENTRY_MASKED : 0;
}

/* The table takes aligned dword and qword accesses (PCI 3.0, 6.8.2). */
static void msix_table_access(struct virtio_pci *vp, unsigned off, uint8_t *data, unsigned size,
			      bool is_write)
{
	unsigned v = off / PCI_MSIX_ENTRY_SIZE;

	if (!vp->msix_cap)
		return;
	if (size == 8 && !(off & 7)) {
		msix_table_access(vp, off, data, 4, is_write);
		msix_table_access(vp, off + 4, data + 4, 4, is_write);
		return;
	}
	if (size != 4 || (off & 3) || v >= VIRTIO_PCI_MSIX_VECTORS)
		return;
	if (is_write)
		msix_entry_write(vp, v, off % PCI_MSIX_ENTRY_SIZE, (uint32_t)get_le(data, 4));
	else
		put_le(data, 4, msix_entry_read(vp, v, off % PCI_MSIX_ENTRY_SIZE));
}

static void msix_pba_access(struct virtio_pci *vp, unsigned off, uint8_t *data, unsigned size,
			    bool is_write)
{
	uint64_t bits = 0;

	if (!vp->msix_cap || is_write || (size != 4 && size != 8) || (off & (size - 1)) || off + size > 8)
		return;
	for (unsigned v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++)
		if (vp->msix[v].pending)
			bits |= 1ULL << v;
	put_le(data, size, bits >> (8 * off));
}

static void device_access(struct virtio_pci *vp, unsigned off, uint8_t *data, unsigned size,
			  bool is_write)
{
	if (off >= vp->vdev->config_len || size > vp->vdev->config_len - off)
		return;
	vp->vdev->ops->config_access(vp->vdev->opaque, off, data, size, is_write);
}

/* One access to BAR0, ctl_lock held. Reads of nothing return 0. */
static void bar_access(struct virtio_pci *vp, uint64_t off64, uint8_t *data, unsigned size,
		       bool is_write)
{
	unsigned off = (unsigned)off64;

	if (!is_write)
		memset(data, 0, size);
	if (off64 >= VP_BAR_SIZE || size > VP_BAR_SIZE - off)
		return;
	if (off >= VP_DEVICE && off < VP_DEVICE + VP_DEVICE_MAX) {
		/* The device does its own locking; ours would only add an order. */
		device_access(vp, off - VP_DEVICE, data, size, is_write);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (off < VP_ISR)
		common_access(vp, off - VP_COMMON, data, size, is_write);
	else if (off < VP_DEVICE)
		isr_access(vp, off - VP_ISR, data, is_write);
	else if (off < VP_MSIX_TABLE)
		notify_access(vp, off - VP_NOTIFY, is_write);
	else if (off < VP_MSIX_PBA)
		msix_table_access(vp, off - VP_MSIX_TABLE, data, size, is_write);
	else
		msix_pba_access(vp, off - VP_MSIX_PBA, data, size, is_write);
	pthread_mutex_unlock(&vp->lock);
}

void virtio_pci_bar(void *opaque, struct bus_access *a)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->ctl_lock);
	bar_access(vp, a->offset, a->data, a->size, a->is_write);
	pthread_mutex_unlock(&vp->ctl_lock);
}

/* --- config space hooks (bus lock held) ------------------------------------ */

static bool overlaps(unsigned off, unsigned size, unsigned start, unsigned len)
{
	return off < start + len && start < off + size;
}

/*
 * The PCI configuration access capability: pci_cfg_data is a window on
 * BAR0 at the capability's offset, for length 1, 2 or 4 (4.1.4.9.1).
 */
static void cfg_window(struct virtio_pci *vp, bool is_write)
{
	struct pci_device *d = &vp->pci;
	unsigned cap = vp->cfg_cap;
	uint32_t off = pci_get(d, cap + VIRTIO_PCI_CAP_OFFSET, 4);
	uint32_t len = pci_get(d, cap + VIRTIO_PCI_CAP_LENGTH, 4);

	if (d->cfg[cap + VIRTIO_PCI_CAP_BAR] != 0)
		return;
	if ((len != 1 && len != 2 && len != 4) || off % len)
		return;
	bar_access(vp, off, &d->cfg[cap + VIRTIO_PCI_CAP_CFG_DATA], len, is_write);
}

static void cfg_read(struct pci_device *d, unsigned off, unsigned size)
{
	struct virtio_pci *vp = d->opaque;

	if (!overlaps(off, size, vp->cfg_cap + VIRTIO_PCI_CAP_CFG_DATA, 4))
		return;
	pthread_mutex_lock(&vp->ctl_lock);
	cfg_window(vp, false);
	pthread_mutex_unlock(&vp->ctl_lock);
}

/* Command, BAR0 and MSI-X control may have changed: follow them. */
static void cfg_written(struct pci_device *d, unsigned off, unsigned size)
{
	struct virtio_pci *vp = d->opaque;
	unsigned ctrl;

	pthread_mutex_lock(&vp->ctl_lock);
	pthread_mutex_lock(&vp->lock);
	vp->intx_disabled = pci_get(d, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
	if (vp->msix_cap) {
		ctrl = pci_get(d, vp->msix_cap + PCI_MSIX_CONTROL, 2);
		vp->msix_enabled = ctrl & PCI_MSIX_ENABLE;
		vp->msix_function_masked = ctrl & PCI_MSIX_MASKALL;
		msix_flush(vp);
	}
	update_intx(vp);
	pthread_mutex_unlock(&vp->lock);
	sync_ioeventfds(vp, pci_bar_live(d, 0));
	if (overlaps(off, size, vp->cfg_cap + VIRTIO_PCI_CAP_CFG_DATA, 4))
		cfg_window(vp, true);
	pthread_mutex_unlock(&vp->ctl_lock);
}

/* --- set-up ------------------------------------------------------------------ */

static unsigned add_vcap(struct pci_device *d, uint8_t type, unsigned caplen, uint32_t off,
			 uint32_t len)
{
	unsigned cap = pci_add_cap(d, PCI_CAP_ID_VNDR, caplen);

	d->cfg[cap + VIRTIO_PCI_CAP_LEN] = (uint8_t)caplen;
	d->cfg[cap + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	d->cfg[cap + VIRTIO_PCI_CAP_BAR] = 0;
	pci_set_u32(d, cap + VIRTIO_PCI_CAP_OFFSET, off);
	pci_set_u32(d, cap + VIRTIO_PCI_CAP_LENGTH, len);
	return cap;
}

static uint32_t class_of(uint16_t device_id)
{
	switch (device_id) {
	case 1:
		return 0x020000; /* network controller, ethernet */
	case 2:
		return 0x018000; /* mass storage, other */
	case 3:
		return 0x078000; /* communication, other */
	}
	return 0xFF0000; /* unassigned class */
}

static void build_config(struct virtio_pci *vp)
{
	struct pci_device *d = &vp->pci;
	const struct virtio_device *vdev = vp->vdev;
	uint16_t id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vdev->device_id);
	unsigned cap;

	pci_set_u16(d, PCI_VENDOR_ID, VIRTIO_PCI_VENDOR);
	pci_set_u16(d, PCI_DEVICE_ID, id);
	pci_set_u8(d, PCI_REVISION_ID, 1);
	pci_set_u8(d, PCI_CLASS_PROG, (uint8_t)class_of(vdev->device_id));
	pci_set_u16(d, PCI_CLASS_DEVICE, (uint16_t)(class_of(vdev->device_id) >> 8));
	pci_set_u16(d, PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR);
	/* 4.1.2.1: 0x40 or more for a non-transitional device; EDK2 insists. */
	pci_set_u16(d, PCI_SUBSYSTEM_ID, id);
	pci_set_u8(d, PCI_INTERRUPT_PIN, 1);

	add_vcap(d, VIRTIO_PCI_CAP_COMMON_CFG, VP_VCAP_LEN, VP_COMMON, VIRTIO_PCI_CC_LEN);
	cap = add_vcap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VP_VCAP_NOTIFY_LEN, VP_NOTIFY,
		       VP_NOTIFY_MULT * vdev->nr_queues);
	pci_set_u32(d, cap + VIRTIO_PCI_CAP_NOTIFY_MULT, VP_NOTIFY_MULT);
	add_vcap(d, VIRTIO_PCI_CAP_ISR_CFG, VP_VCAP_LEN, VP_ISR, VP_ISR_LEN);
	if (vdev->config_len)
		add_vcap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VP_VCAP_LEN, VP_DEVICE, vdev->config_len);
	cap = add_vcap(d, VIRTIO_PCI_CAP_PCI_CFG, VP_VCAP_CFG_LEN, 0, 0);
	d->wmask[cap + VIRTIO_PCI_CAP_BAR] = 0xFF;
	memset(&d->wmask[cap + VIRTIO_PCI_CAP_OFFSET], 0xFF, 12); /* offset, length, data */
	vp->cfg_cap = cap;

	if (!vp->irq)
		return; /* no irqfds: INTx only */
	cap = pci_add_cap(d, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_LEN);
	pci_set_u16(d, cap + PCI_MSIX_CONTROL, VIRTIO_PCI_MSIX_VECTORS - 1);
	pci_set_u32(d, cap + PCI_MSIX_TABLE, VP_MSIX_TABLE); /* BIR 0 */
	pci_set_u32(d, cap + PCI_MSIX_PBA, VP_MSIX_PBA);
	d->wmask[cap + PCI_MSIX_CONTROL + 1] = (PCI_MSIX_ENABLE | PCI_MSIX_MASKALL) >> 8;
	vp->msix_cap = cap;
}

static bool vdev_ok(const struct virtio_device *v)
{
	unsigned qm = v->queue_max;

	return v->ops && v->ops->config_access && v->ops->start && v->ops->reset &&
	       v->nr_queues >= 1 && v->nr_queues <= VIRTIO_MAX_QUEUES && qm && !(qm & (qm - 1)) &&
	       qm <= VQ_MAX_SIZE && v->config_len <= VP_DEVICE_MAX &&
	       v->device_id < 0x40;
}

static int open_fds(struct virtio_pci *vp)
{
	for (unsigned q = 0; q < vp->vdev->nr_queues; q++) {
		vp->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->kick_fd[q] < 0)
			return -1;
	}
	for (unsigned v = 0; vp->irq && v < VIRTIO_PCI_MSIX_VECTORS; v++) {
		vp->msix[v].irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->msix[v].irqfd < 0)
			return -1;
	}
	return 0;
}

static void close_fds(struct virtio_pci *vp)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (vp->kick_fd[q] >= 0)
			close(vp->kick_fd[q]);
		vp->kick_fd[q] = -1;
	}
	for (unsigned v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++) {
		if (vp->msix[v].irqfd >= 0)
			close(vp->msix[v].irqfd);
		vp->msix[v].irqfd = -1;
	}
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_device *vdev, struct pci_bus *bus,
		    const struct guest_mem *mem, const struct irq_services *irq, bool use_ioeventfd,
		    char *err, size_t errlen)
{
	memset(vp, 0, sizeof(*vp));
	vp->t.ops = &transport_ops;
	vp->vdev = vdev;
	vp->mem = mem;
	vp->irq = irq;
	vp->use_ioeventfd = use_ioeventfd && irq && irq->ioeventfd;
	pthread_mutex_init(&vp->ctl_lock, NULL);
	pthread_mutex_init(&vp->lock, NULL);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->kick_fd[q] = -1;
	for (unsigned v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++) {
		vp->msix[v].irqfd = -1;
		vp->msix[v].masked = true; /* the reset state of an entry */
	}
	if (!vdev_ok(vdev)) {
		snprintf(err, errlen, "%s: bad virtio device description (a kvmlab bug)",
			 vdev->name);
		goto fail;
	}
	if (open_fds(vp) < 0) {
		snprintf(err, errlen, "%s: eventfd: %s", vdev->name, strerror(errno));
		goto fail;
	}
	clear_state(vp);
	build_config(vp);
	vp->pci.bar[0] = (struct pci_bar){ VP_BAR_SIZE, 0, virtio_pci_bar, vp };
	vp->pci.cfg_written = cfg_written;
	vp->pci.cfg_read = cfg_read;
	vp->pci.opaque = vp;
	if (pci_add(bus, &vp->pci) < 0) {
		snprintf(err, errlen, "%s: no free PCI slot or room for its BAR", vdev->name);
		goto fail;
	}
	return 0;
fail:
	close_fds(vp);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->ctl_lock);
	return -1;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	const struct irq_services *irq = vp->irq;

	pthread_mutex_lock(&vp->ctl_lock);
	pthread_mutex_lock(&vp->lock);
	device_reset(vp);
	sync_ioeventfds(vp, 0);
	for (unsigned v = 0; v < VIRTIO_PCI_MSIX_VECTORS; v++) {
		struct msix_entry *e = &vp->msix[v];

		if (e->routed)
			irq->msi_remove(irq->opaque, e->gsi, e->irqfd);
		e->routed = false;
	}
	pthread_mutex_unlock(&vp->lock);
	pthread_mutex_unlock(&vp->ctl_lock);
	close_fds(vp);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->ctl_lock);
}
