/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_VIRTIO_H
#define KVMLAB_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtqueue.h"

/*
 * What a virtio device (virtio_blk.c) and its transport (virtio_pci.c) know of
 * each other. The transport owns feature negotiation, status, the queues'
 * configuration and the interrupts; the device owns its configuration space
 * and does the work on its own thread.
 */

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Transport-level features (6). */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_MAX_QUEUES 8

struct virtio_transport;

struct virtio_device_ops {
	/* Read or write size bytes at offset of the device configuration space. */
	void (*config_access)(void *opaque, uint64_t offset, uint8_t *data, unsigned size,
			      bool is_write);
	/*
	 * The driver set DRIVER_OK: features are final, the enabled queues are
	 * started (vq_start). Start working; returns 0, or -1 (the device fails).
	 */
	int (*start)(void *opaque, uint64_t features);
	/* The driver reset the device (or the VM ends): stop working, drop state. */
	void (*reset)(void *opaque);
};

/* Filled in by the device, read by the transport. */
struct virtio_device {
	const char *name;	  /* "virtio-blk" */
	uint16_t device_id;	  /* 2: block */
	uint64_t features;	  /* offered, including the VIRTIO_F_ and ring bits it supports */
	unsigned nr_queues;	  /* 1..VIRTIO_MAX_QUEUES */
	uint16_t queue_max;	  /* largest size per queue, a power of 2 */
	unsigned config_len;	  /* bytes of device configuration */
	const struct virtio_device_ops *ops;
	void *opaque;
};

/*
 * What the transport gives the device to work with, from any thread. The
 * queues are the transport's; the device's thread uses them only between
 * start and reset.
 */
struct virtio_transport_ops {
	struct virtq *(*queue)(struct virtio_transport *t, unsigned q);
	/* An eventfd that becomes readable when the driver kicks queue q. */
	int (*kick_fd)(struct virtio_transport *t, unsigned q);
	/* Interrupt the driver for queue q (used buffers). */
	void (*interrupt)(struct virtio_transport *t, unsigned q);
	/* The driver broke the rules: set DEVICE_NEEDS_RESET and tell it. */
	void (*needs_reset)(struct virtio_transport *t);
};

struct virtio_transport {
	const struct virtio_transport_ops *ops;
};

static inline int virtio_has(uint64_t features, unsigned bit)
{
	return (int)((features >> bit) & 1);
}

#endif
