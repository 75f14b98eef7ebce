/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_VIRTIO_PCI_H
#define KVMLAB_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/irq.h"
#include "devices/pci.h"
#include "devices/virtio.h"
#include "vmm/memory.h"

/*
 * The virtio 1.x PCI transport (virtio spec 4.1), modern only: vendor 0x1AF4,
 * device 0x1040 + device id, one 32-bit memory BAR holding the common,
 * notify, ISR and device configuration structures and the MSI-X table and PBA,
 * each announced by a capability. Queue kicks arrive through ioeventfds
 * (or, with ioeventfd off, through an MMIO exit that signals the same eventfd),
 * interrupts leave through MSI-X vectors (irqfd), or INTx if the driver does
 * not enable MSI-X.
 */

#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_MSI_NO_VECTOR 0xFFFF
#define VIRTIO_PCI_MSIX_VECTORS (VIRTIO_MAX_QUEUES + 1) /* config + one per queue */

/* cfg_type of the vendor capabilities (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* struct virtio_pci_cap (4.1.4): offsets inside the capability. */
#define VIRTIO_PCI_CAP_LEN 2
#define VIRTIO_PCI_CAP_CFG_TYPE 3
#define VIRTIO_PCI_CAP_BAR 4
#define VIRTIO_PCI_CAP_OFFSET 8
#define VIRTIO_PCI_CAP_LENGTH 12
#define VIRTIO_PCI_CAP_NOTIFY_MULT 16 /* notify capability only */
#define VIRTIO_PCI_CAP_CFG_DATA 16    /* PCI configuration access capability only */

/* The common configuration structure (4.1.4.3), offsets. */
#define VIRTIO_PCI_CC_DEVICE_FEATURE_SELECT 0x00
#define VIRTIO_PCI_CC_DEVICE_FEATURE 0x04
#define VIRTIO_PCI_CC_DRIVER_FEATURE_SELECT 0x08
#define VIRTIO_PCI_CC_DRIVER_FEATURE 0x0C
#define VIRTIO_PCI_CC_MSIX_CONFIG 0x10
#define VIRTIO_PCI_CC_NUM_QUEUES 0x12
#define VIRTIO_PCI_CC_DEVICE_STATUS 0x14
#define VIRTIO_PCI_CC_CONFIG_GENERATION 0x15
#define VIRTIO_PCI_CC_QUEUE_SELECT 0x16
#define VIRTIO_PCI_CC_QUEUE_SIZE 0x18
#define VIRTIO_PCI_CC_QUEUE_MSIX_VECTOR 0x1A
#define VIRTIO_PCI_CC_QUEUE_ENABLE 0x1C
#define VIRTIO_PCI_CC_QUEUE_NOTIFY_OFF 0x1E
#define VIRTIO_PCI_CC_QUEUE_DESC 0x20
#define VIRTIO_PCI_CC_QUEUE_DRIVER 0x28
#define VIRTIO_PCI_CC_QUEUE_DEVICE 0x30
#define VIRTIO_PCI_CC_LEN 0x38

/* ISR status bits (4.1.4.5). */
#define VIRTIO_PCI_ISR_QUEUE 1
#define VIRTIO_PCI_ISR_CONFIG 2

struct msix_entry {
	struct msi_msg msg;
	bool masked;
	bool pending;	 /* PBA bit: an interrupt came while masked */
	bool routed;	 /* gsi valid, irqfd attached */
	bool dirty;	 /* msg changed since msi_add/msi_update: update before the next delivery */
	unsigned gsi;
	int irqfd;
};

struct virtio_pci {
	struct virtio_transport t; /* first: the device sees only this */
	struct pci_device pci;
	struct virtio_device *vdev;
	const struct guest_mem *mem;
	const struct irq_services *irq;
	bool use_ioeventfd;
	/*
	 * Two locks, taken in this order (after the bus lock, for config cycles):
	 * ctl_lock serializes the guest's accesses (vCPU threads) and is held
	 * across calls into the device (start, reset, config_access); lock
	 * protects what the device's thread touches too (interrupt(),
	 * needs_reset()). The device's reset() joins its thread, which may be
	 * waiting for lock in interrupt(): reset() is therefore called with
	 * ctl_lock only, never with lock.
	 */
	pthread_mutex_t ctl_lock;
	pthread_mutex_t lock; /* everything below; taken by vCPU threads and the device thread */

	/* Common configuration (4.1.4.3). */
	uint32_t device_feature_select, driver_feature_select;
	uint64_t driver_features;
	uint8_t status;
	uint8_t config_generation;
	uint16_t msix_config;
	uint16_t queue_select;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	bool queue_enabled[VIRTIO_MAX_QUEUES];
	int kick_fd[VIRTIO_MAX_QUEUES];
	/*
	 * BAR0's address while it decodes (memory on, inside the window): the
	 * enabled queues' ioeventfds are registered there; 0: none. Under ctl_lock.
	 */
	uint32_t notify_base;
	bool ioeventfd_on[VIRTIO_MAX_QUEUES];	 /* registered at notify_base */
	uint8_t ioeventfd_len[VIRTIO_MAX_QUEUES]; /* the len it was registered with */
	unsigned msix_cap, cfg_cap;		 /* capability offsets; 0: absent */

	/* Interrupts. */
	uint8_t isr;
	struct msix_entry msix[VIRTIO_PCI_MSIX_VECTORS];
	bool msix_enabled, msix_function_masked;
	bool route_warned; /* said once that msi_add failed */
	bool intx_disabled; /* the command register's INTx disable, as last written */
	int intx_level;
};

/*
 * Build the transport for vdev and put it on the bus. Returns 0, or -1 with
 * one line in err (no slot, no window, eventfd failure).
 */
int virtio_pci_init(struct virtio_pci *vp, struct virtio_device *vdev, struct pci_bus *bus,
		    const struct guest_mem *mem, const struct irq_services *irq, bool use_ioeventfd,
		    char *err, size_t errlen);
/* Reset the device (its thread stops), release eventfds, GSIs and ioeventfds. */
void virtio_pci_destroy(struct virtio_pci *vp);

/*
 * The device changed its configuration space: bump config_generation and
 * send a configuration change interrupt. Any thread.
 */
void virtio_pci_config_changed(struct virtio_pci *vp);

/* BAR0's handler (registered through pci_add; public for the unit tests). */
void virtio_pci_bar(void *opaque, struct bus_access *a);

#endif
