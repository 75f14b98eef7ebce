// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.x, 5.2) on a raw image.
 *
 * A request is a chain: a 16-byte header the device reads (type, reserved,
 * sector), data, and one status byte, the very last byte of the chain, that
 * the device writes. Every buffer comes from vq_pop(), so it lies in guest
 * memory; what is checked here is the layout (which bytes are header, data
 * and status, and their directions) and the sector range. The guest may
 * change the header while we work: it is copied once, then only the copy is
 * used.
 *
 * The work happens on one I/O thread per device, woken by the queue's kick
 * eventfd; it stops when reset() signals stop_fd.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio_blk.h"

#define SECTOR_SIZE 512u
#define HDR_SIZE 16u

/* One request, parsed. */
struct blk_req {
	uint32_t type;
	uint64_t sector;
	uint8_t *status;	       /* the chain's last byte */
	struct iovec iov[VQ_MAX_SIZE]; /* the data, between header and status */
	unsigned niov;
	uint64_t len;	   /* data bytes */
	bool has_readable; /* some data is device-readable */
	bool has_writable; /* some data is device-writable */
};

_Static_assert(VQ_MAX_SIZE <= IOV_MAX, "one iovec per buffer must fit preadv");
_Static_assert(sizeof(struct virtio_blk_config) == 24, "virtio_blk_config layout (5.2.4)");

/* --- requests ----------------------------------------------------------- */

/*
 * Copy the header out of the readable buffers at the start of the chain (it
 * may span buffers). *bi, *off: where the data starts. Returns 0, or -1 if the
 * chain has fewer than 16 readable bytes before its first writable one.
 */
static int read_header(const struct vq_chain *c, struct blk_req *r, unsigned *bi, uint32_t *off)
{
	uint8_t hdr[HDR_SIZE];
	unsigned got = 0, i = 0;
	uint32_t n = 0;

	for (; i < c->nr && got < HDR_SIZE; i++) {
		if (c->buf[i].writable)
			return -1;
		n = c->buf[i].len < HDR_SIZE - got ? c->buf[i].len : HDR_SIZE - got;
		memcpy(hdr + got, c->buf[i].host, n);
		got += n;
	}
	if (got < HDR_SIZE)
		return -1;
	/* The last buffer read from may hold data after the header. */
	i--;
	if (n == c->buf[i].len) {
		i++;
		n = 0;
	}
	*bi = i;
	*off = n;
	memcpy(&r->type, hdr, 4);
	memcpy(&r->sector, hdr + 8, 8);
	r->type = le32toh(r->type);
	r->sector = le64toh(r->sector);
	return 0;
}

/* Collect the data: from buffer bi, offset off, up to the status byte (excluded). */
static void collect_data(const struct vq_chain *c, struct blk_req *r, unsigned bi, uint32_t off)
{
	r->niov = 0;
	r->len = 0;
	r->has_readable = r->has_writable = false;
	for (unsigned i = bi; i < c->nr; i++) {
		const struct vq_buf *b = &c->buf[i];
		uint32_t end = i == c->nr - 1 ? b->len - 1 : b->len;
		uint32_t start = i == bi ? off : 0;

		if (end <= start)
			continue;
		r->iov[r->niov++] = (struct iovec){ b->host + start, end - start };
		r->len += end - start;
		r->has_writable |= b->writable;
		r->has_readable |= !b->writable;
	}
}

/* preadv/pwritev all of iov at off; a short transfer goes on where it stopped. */
static int rw_all(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t done;

		done = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return -1; /* an error, or the end of the file (the image shrank) */
		off += (uint64_t)done;
		while (n > 0 && (size_t)done >= iov->iov_len) {
			done -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= (size_t)done;
		}
	}
	return 0;
}

/* Whether [sector, + len) lies in the image, without overflow. */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
	if (sector > b->size / SECTOR_SIZE)
		return false;
	return len <= b->size - sector * SECTOR_SIZE;
}

static uint8_t do_rw(struct virtio_blk *b, struct blk_req *r, bool write)
{
	if (write ? r->has_writable : r->has_readable)
		return VIRTIO_BLK_S_IOERR; /* data in the wrong direction */
	if (write && b->readonly)
		return VIRTIO_BLK_S_IOERR; /* 5.2.6.2: and no data written */
	if (r->len % SECTOR_SIZE || r->len >= UINT32_MAX || !in_range(b, r->sector, r->len))
		return VIRTIO_BLK_S_IOERR;
	if (rw_all(b->fd, r->iov, (int)r->niov, r->sector * SECTOR_SIZE, write) < 0)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

/* GET_ID: the serial into the data buffers, 20 bytes or as many as fit. */
static uint32_t do_get_id(const struct virtio_blk *b, const struct blk_req *r, uint8_t *status)
{
	uint32_t done = 0;

	if (r->has_readable) {
		*status = VIRTIO_BLK_S_IOERR;
		return 0;
	}
	for (unsigned i = 0; i < r->niov && done < VIRTIO_BLK_ID_BYTES; i++) {
		uint32_t n = VIRTIO_BLK_ID_BYTES - done;

		if (n > r->iov[i].iov_len)
			n = (uint32_t)r->iov[i].iov_len;
		memcpy(r->iov[i].iov_base, b->id + done, n);
		done += n;
	}
	*status = VIRTIO_BLK_S_OK;
	return done;
}

uint32_t virtio_blk_request(struct virtio_blk *b, const struct vq_chain *c)
{
	struct blk_req r;
	const struct vq_buf *last;
	uint32_t written = 0;
	uint8_t status;
	unsigned bi;
	uint32_t off;

	if (c->nr == 0)
		return 0;
	last = &c->buf[c->nr - 1];
	if (!last->writable)
		return 0; /* nowhere to say how it went: the driver gets nothing back */
	r.status = last->host + last->len - 1;
	if (c->bad_buf || read_header(c, &r, &bi, &off) < 0) {
		status = VIRTIO_BLK_S_IOERR;
		goto out;
	}
	collect_data(c, &r, bi, off);
	switch (r.type) {
	case VIRTIO_BLK_T_IN:
		status = do_rw(b, &r, false);
		if (status == VIRTIO_BLK_S_OK)
			written = (uint32_t)r.len;
		break;
	case VIRTIO_BLK_T_OUT:
		status = do_rw(b, &r, true);
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* A read-only image has nothing to flush; fdatasync would be pointless. */
		status = VIRTIO_BLK_S_OK;
		if (!b->readonly && fdatasync(b->fd) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		written = do_get_id(b, &r, &status);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
out:
	*r.status = status;
	return written + 1;
}

/* --- the I/O thread ----------------------------------------------------- */

/*
 * Serve the queue until it is empty with kicks enabled. Returns 0, or -1 if
 * the driver broke the queue (the transport has been told).
 */
static int serve(struct virtio_blk *b, struct virtq *q, struct vq_chain *c)
{
	int r;

	for (;;) {
		vq_enable_kicks(q, false);
		while ((r = vq_pop(q, c)) == 1)
			vq_push(q, c->head, virtio_blk_request(b, c));
		if (r < 0) {
			b->t->ops->needs_reset(b->t);
			return -1;
		}
		if (vq_should_interrupt(q))
			b->t->ops->interrupt(b->t, 0);
		if (!vq_enable_kicks(q, true))
			return 0;
	}
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static void *io_thread(void *opaque)
{
	struct virtio_blk *b = opaque;
	struct virtq *q = b->t->ops->queue(b->t, 0);
	struct pollfd pfd[2] = {
		{ .fd = b->t->ops->kick_fd(b->t, 0), .events = POLLIN },
		{ .fd = b->stop_fd, .events = POLLIN },
	};
	struct vq_chain chain; /* 16 KiB: fine on a thread's stack */

	/* The driver may have queued requests before it set DRIVER_OK. */
	if (serve(b, q, &chain) < 0)
		return NULL;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents || (pfd[0].revents & POLLNVAL))
			break; /* stop; or no kick fd any more, which would spin */
		if (pfd[0].revents & POLLIN)
			drain(pfd[0].fd);
		if (serve(b, q, &chain) < 0)
			break;
	}
	return NULL;
}

static int blk_start(void *opaque, uint64_t features)
{
	struct virtio_blk *b = opaque;
	sigset_t all, old;
	struct virtq *q;
	int r;

	if (b->running || !b->t)
		return -1;
	b->features = features;
	q = b->t->ops->queue(b->t, 0);
	if (!q || !q->ready)
		return 0; /* the driver did not enable the queue: nothing to serve */
	/*
	 * start() runs on a vCPU thread, whose signal mask lets the vCPU kick
	 * in: the I/O thread takes no signal at all (main has them).
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&b->thread, NULL, io_thread, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -1;
	b->running = true;
	return 0;
}

static void blk_reset(void *opaque)
{
	struct virtio_blk *b = opaque;
	uint64_t one = 1;

	if (b->running) {
		while (write(b->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(b->thread, NULL);
		b->running = false;
		drain(b->stop_fd);
	}
	b->features = 0;
}

/* --- configuration space ------------------------------------------------ */

static void blk_config_access(void *opaque, uint64_t offset, uint8_t *data, unsigned size,
			      bool is_write)
{
	const struct virtio_blk *b = opaque;
	const uint8_t *cfg = (const uint8_t *)&b->config;
	uint64_t len = b->vdev.config_len;

	if (is_write)
		return; /* nothing in our configuration is writable */
	for (unsigned i = 0; i < size; i++)
		data[i] = offset < len && i < len - offset ? cfg[offset + i] : 0;
}

static const struct virtio_device_ops blk_ops = {
	.config_access = blk_config_access,
	.start = blk_start,
	.reset = blk_reset,
};

/* --- opening the image -------------------------------------------------- */

static int image_size(int fd, const char *path, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat disk %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0) {
			snprintf(err, errlen, "cannot get the size of disk %s: %s", path,
				 strerror(errno));
			return -1;
		}
	} else {
		snprintf(err, errlen, "disk %s is neither a regular file nor a block device", path);
		return -1;
	}
	if (*size % SECTOR_SIZE) {
		snprintf(err, errlen,
			 "disk %s is %llu bytes, not a whole number of 512-byte sectors", path,
			 (unsigned long long)*size);
		return -1;
	}
	return 0;
}

/* The serial: as given, or the last 20 bytes of the image's file name. NUL-padded. */
static void make_id(struct virtio_blk *b, const char *path, const char *serial)
{
	const char *s = serial;
	size_t n;

	if (!s) {
		s = strrchr(path, '/');
		s = s ? s + 1 : path;
		n = strlen(s);
		if (n > VIRTIO_BLK_ID_BYTES)
			s += n - VIRTIO_BLK_ID_BYTES;
	}
	n = strlen(s);
	if (n > VIRTIO_BLK_ID_BYTES)
		n = VIRTIO_BLK_ID_BYTES;
	memset(b->id, 0, sizeof(b->id));
	memcpy(b->id, s, n);
}

static void fill_device(struct virtio_blk *b)
{
	b->vdev.name = "virtio-blk";
	b->vdev.device_id = VIRTIO_BLK_ID;
	b->vdev.features = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX |
			   1ULL << VIRTIO_RING_F_INDIRECT_DESC | 1ULL << VIRTIO_BLK_F_FLUSH |
			   1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE;
	if (b->readonly)
		b->vdev.features |= 1ULL << VIRTIO_BLK_F_RO;
	b->vdev.nr_queues = 1;
	b->vdev.queue_max = VIRTIO_BLK_QUEUE_SIZE;
	b->vdev.config_len = sizeof(b->config);
	b->vdev.ops = &blk_ops;
	b->vdev.opaque = b;

	b->config.capacity = htole64(b->size / SECTOR_SIZE);
	b->config.seg_max = htole32(VIRTIO_BLK_SEG_MAX);
	b->config.blk_size = htole32(SECTOR_SIZE);
}

int virtio_blk_open(struct virtio_blk *b, const char *path, bool readonly, const char *serial,
		    char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->readonly = readonly;
	b->stop_fd = -1;
	b->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		snprintf(err, errlen, "cannot open disk %s: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(b->fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "disk %s is in use by another process (locked)",
				 path);
		else
			snprintf(err, errlen, "cannot lock disk %s: %s", path, strerror(errno));
		goto fail;
	}
	if (image_size(b->fd, path, &b->size, err, errlen) < 0)
		goto fail;
	b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->stop_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	make_id(b, path, serial);
	fill_device(b);
	return 0;
fail:
	virtio_blk_close(b);
	return -1;
}

void virtio_blk_attach(struct virtio_blk *b, struct virtio_transport *t)
{
	b->t = t;
}

void virtio_blk_close(struct virtio_blk *b)
{
	blk_reset(b);
	if (b->fd >= 0)
		close(b->fd);
	if (b->stop_fd >= 0)
		close(b->stop_fd);
	b->fd = -1;
	b->stop_fd = -1;
}
