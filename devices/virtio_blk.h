/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_VIRTIO_BLK_H
#define KVMLAB_VIRTIO_BLK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio.h"

/*
 * virtio-blk (virtio spec 5.2) on a raw image file. Requests are parsed from
 * a chain (header, data, status byte), checked (sector range, lengths,
 * direction of each buffer) and done with preadv/pwritev on the device's own
 * I/O thread; FLUSH is fdatasync. The image is locked with flock: exclusive
 * when writable, shared when read-only.
 */

#define VIRTIO_BLK_ID 2
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SEG_MAX (VIRTIO_BLK_QUEUE_SIZE - 2)

struct virtio_blk_config {
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
} __attribute__((packed));

struct virtio_blk {
	struct virtio_device vdev;
	struct virtio_transport *t;
	int fd;
	uint64_t size; /* bytes of the image (whole sectors) */
	bool readonly;
	char id[VIRTIO_BLK_ID_BYTES]; /* GET_ID: the serial, NUL-padded */
	struct virtio_blk_config config;
	uint64_t features; /* negotiated, from start() */

	/* The I/O thread, running between start and reset. */
	pthread_t thread;
	bool running;
	int stop_fd; /* eventfd: tells the thread to stop */
};

/*
 * Open path (O_RDWR, or O_RDONLY when readonly), lock it, size it. serial NULL:
 * the serial is made from the image's path. Returns 0, or -1 with one line in err.
 */
int virtio_blk_open(struct virtio_blk *b, const char *path, bool readonly, const char *serial,
		    char *err, size_t errlen);
/* The transport to use, once it exists (before the driver can start the device). */
void virtio_blk_attach(struct virtio_blk *b, struct virtio_transport *t);
void virtio_blk_close(struct virtio_blk *b);

/*
 * Do one request: parse the chain, do the I/O, write the status byte.
 * Returns the bytes written into the chain's device-writable buffers (the
 * used length): the data read (IN, GET_ID) plus the status byte; 1 for a
 * failed request; 0 if the chain's last byte is not device-writable (no
 * status could be given). Public for the unit tests and the fuzzer.
 */
uint32_t virtio_blk_request(struct virtio_blk *b, const struct vq_chain *c);

#endif
