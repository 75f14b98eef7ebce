// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a hostile driver against the split virtqueue and
 * virtio-blk. Each input is a guest memory (two regions, each an exact-size
 * malloc, so AddressSanitizer catches a byte read or written outside it),
 * a queue laid out somewhere in it, and a script of pops, requests, pushes,
 * interrupt and kick decisions, driver writes between them and restarts
 * (tests/fuzz/fuzz_input.h). The requests go to two small disk images, one
 * writable and one read-only, made once in a temp directory.
 *
 * Invariants checked beyond the sanitizers' (a violation traps):
 *  - a popped chain's head is below the queue size, it has at most
 *    VQ_MAX_SIZE buffers, each non-empty and inside one region;
 *  - a broken queue stays broken until restarted;
 *  - the used length is at most the chain's writable bytes, and when it is
 *    not 0 the chain's last byte is a valid status;
 *  - used->idx in guest memory is our used_idx right after a push;
 *  - the images never change size.
 */
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "tests/fuzz/fuzz_input.h"

#define IMAGE_SECTORS 32
#define MAX_POPS 256

static struct virtio_blk disk_rw, disk_ro;
static bool verbose; /* KVMLAB_FUZZ_VERBOSE=1: one line per request, to read a crash's story */
static struct vq_chain chain;

#define check(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "invariant broken: %s (%s:%d)\n", #cond, __FILE__, \
				__LINE__);                                                 \
			abort();                                                           \
		}                                                                          \
	} while (0)

static void make_image(struct virtio_blk *b, const char *dir, const char *name, bool readonly)
{
	char path[512], err[256];
	uint8_t sector[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0);
	for (int i = 0; i < IMAGE_SECTORS; i++) {
		memset(sector, i, sizeof(sector));
		check(write(fd, sector, sizeof(sector)) == sizeof(sector));
	}
	close(fd);
	if (virtio_blk_open(b, path, readonly, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	/* The open fd keeps the file: nothing is left behind when the fuzzer ends. */
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* tmpfs if there is one: FLUSH is an fdatasync per request. */
	char dir[] = "/dev/shm/kvmlab-fuzz-XXXXXX";

	(void)argc;
	(void)argv;
	verbose = getenv("KVMLAB_FUZZ_VERBOSE");
	if (!mkdtemp(dir)) {
		strcpy(dir, "/tmp/kvmlab-fuzz-XXXXXX");
		check(mkdtemp(dir));
	}
	make_image(&disk_rw, dir, "rw.img", false);
	make_image(&disk_ro, dir, "ro.img", true);
	rmdir(dir);
	return 0;
}

/* One fuzz input, taken apart. */
struct run {
	struct fuzz_head h;
	struct guest_mem mem;
	uint8_t *region[2];
	uint64_t region_size[2];
	struct virtq q;
	struct virtio_blk *disk;
	const uint8_t *ops;
	size_t nr_ops;
	unsigned pops;
};

static bool in_region(const struct run *r, const uint8_t *p, uint32_t len)
{
	for (int i = 0; i < 2; i++) {
		const uint8_t *base = r->region[i];

		if (base && p >= base && p < base + r->region_size[i] &&
		    len <= r->region_size[i] - (uint64_t)(p - base))
			return true;
	}
	return false;
}

static uint8_t *region_from(const uint8_t **data, size_t *size, uint64_t len)
{
	uint8_t *p;
	size_t n = *size < len ? *size : len;

	if (!len)
		return NULL;
	p = malloc(len);
	check(p);
	memcpy(p, *data, n);
	memset(p + n, 0, len - n);
	*data += n;
	*size -= n;
	return p;
}

static void queue_start(struct run *r)
{
	vq_reset(&r->q);
	if (r->h.qsize & FUZZ_QSIZE_RAW)
		r->q.size = r->h.qsize & 0x7F;
	else
		r->q.size = (uint16_t)(1u << (r->h.qsize % 11));
	r->q.desc_gpa = r->h.desc_gpa;
	r->q.avail_gpa = r->h.avail_gpa;
	r->q.used_gpa = r->h.used_gpa;
	r->q.event_idx = r->h.flags & FUZZ_F_EVENT_IDX;
	r->q.indirect = r->h.flags & FUZZ_F_INDIRECT;
	if (vq_start(&r->q, &r->mem) < 0) {
		check(!r->q.ready);
		return;
	}
	check(r->q.ready && !r->q.broken);
	r->q.last_avail = r->q.used_idx = r->q.signalled_used = le16toh(r->h.start_idx);
}

static void check_chain(const struct run *r, const struct vq_chain *c)
{
	check(c->head < r->q.size);
	check(c->nr <= VQ_MAX_SIZE);
	for (unsigned i = 0; i < c->nr; i++) {
		check(c->buf[i].len > 0);
		check(in_region(r, c->buf[i].host, c->buf[i].len));
	}
}

static uint64_t writable_bytes(const struct vq_chain *c)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < c->nr; i++)
		if (c->buf[i].writable)
			n += c->buf[i].len;
	return n;
}

/* Pop, do and push up to max chains. Returns false once the queue is broken. */
static bool serve(struct run *r, unsigned max)
{
	const struct vq_chain *c = &chain;
	uint32_t len;
	int got;

	while (max-- && r->pops < MAX_POPS) {
		r->pops++;
		got = vq_pop(&r->q, &chain);
		if (got < 0) {
			if (verbose)
				fprintf(stderr, "queue broken\n");
			check(r->q.broken);
			check(vq_pop(&r->q, &chain) == -1);
			return false;
		}
		if (got == 0)
			return true;
		check_chain(r, c);
		len = virtio_blk_request(r->disk, c);
		check(len <= writable_bytes(c));
		if (len) {
			const struct vq_buf *last = &c->buf[c->nr - 1];

			check(last->writable);
			check(last->host[last->len - 1] <= VIRTIO_BLK_S_UNSUPP);
			if (verbose)
				fprintf(stderr, "head %u: %u buffers%s, used %u, status %u\n",
					c->head, c->nr, c->bad_buf ? " (bad)" : "", len,
					last->host[last->len - 1]);
		} else if (verbose) {
			fprintf(stderr, "head %u: %u buffers%s, no status\n", c->head, c->nr,
				c->bad_buf ? " (bad)" : "");
		}
		vq_push(&r->q, c->head, len);
		check(le16toh(__atomic_load_n((uint16_t *)(r->q.used + 2), __ATOMIC_RELAXED)) ==
		      r->q.used_idx);
	}
	return true;
}

static void poke(struct run *r, size_t *i)
{
	uint16_t off;

	if (*i + 3 > r->nr_ops || !r->region[0])
		return;
	off = (uint16_t)(r->ops[*i] | r->ops[*i + 1] << 8);
	r->region[0][off % r->region_size[0]] = r->ops[*i + 2];
	*i += 3;
}

static void play(struct run *r)
{
	if (!r->nr_ops) {
		serve(r, MAX_POPS);
		return;
	}
	for (size_t i = 0; i < r->nr_ops;) {
		uint8_t op = r->ops[i++];

		switch (op & 7) {
		case FUZZ_OP_INTERRUPT:
			vq_should_interrupt(&r->q);
			break;
		case FUZZ_OP_KICKS:
			vq_enable_kicks(&r->q, op & 8);
			break;
		case FUZZ_OP_POKE:
			poke(r, &i);
			break;
		case FUZZ_OP_RESTART:
			queue_start(r);
			break;
		default:
			serve(r, (op >> 3) + 1u);
			break;
		}
	}
}

static uint64_t file_size(int fd)
{
	struct stat st;

	check(fstat(fd, &st) == 0);
	return (uint64_t)st.st_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r;

	if (size < sizeof(r.h))
		return -1; /* not worth keeping in the corpus */
	memset(&r, 0, sizeof(r));
	memcpy(&r.h, data, sizeof(r.h));
	data += sizeof(r.h);
	size -= sizeof(r.h);
	r.h.desc_gpa = le32toh(r.h.desc_gpa);
	r.h.avail_gpa = le32toh(r.h.avail_gpa);
	r.h.used_gpa = le32toh(r.h.used_gpa);
	r.region_size[0] = le16toh(r.h.mem0_size);
	r.region_size[1] = le16toh(r.h.mem1_size);
	r.region[0] = region_from(&data, &size, r.region_size[0]);
	r.region[1] = region_from(&data, &size, r.region_size[1]);
	if (r.region[0])
		check(gmem_add_region(&r.mem, 0, r.region[0], r.region_size[0]) == 0);
	if (r.region[1])
		check(gmem_add_region(&r.mem, FUZZ_R1_GPA, r.region[1], r.region_size[1]) == 0);
	r.ops = data;
	r.nr_ops = size;
	r.disk = r.h.flags & FUZZ_F_READONLY ? &disk_ro : &disk_rw;

	queue_start(&r);
	play(&r);

	check(file_size(disk_rw.fd) == IMAGE_SECTORS * 512);
	check(file_size(disk_ro.fd) == IMAGE_SECTORS * 512);
	free(r.region[0]);
	free(r.region[1]);
	return 0;
}
