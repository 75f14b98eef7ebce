/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_blk.h"

/*
 * virtio-blk against a temporary image of 64 sectors. Requests are chains
 * built by hand from host buffers (what vq_pop() would hand over); the I/O
 * thread is tested at the end with a fake transport and a fake guest memory.
 */

#define SECTORS 64
#define IMAGE_SIZE (SECTORS * 512)
#define NAME_PREFIX "kvmlab-test-virtio-blk-image" /* longer than 20 bytes */

static char path[128];
static struct virtio_blk b;
static bool opened;
static struct vq_chain c;
static char err[256];

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512);
}

static void make_image(uint64_t size)
{
	uint8_t *data = malloc(size ? size : 1);
	int fd;

	snprintf(path, sizeof(path), "/tmp/" NAME_PREFIX "-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	for (uint64_t i = 0; i < size; i++)
		data[i] = pattern(i);
	cr_assert_eq(write(fd, data, size), (ssize_t)size);
	close(fd);
	free(data);
}

static void open_image(bool readonly)
{
	cr_assert_eq(virtio_blk_open(&b, path, readonly, NULL, err, sizeof(err)), 0, "%s", err);
	opened = true;
}

static void setup(void)
{
	make_image(IMAGE_SIZE);
	opened = false;
	err[0] = '\0';
}

static void teardown(void)
{
	if (opened)
		virtio_blk_close(&b);
	unlink(path);
}

TestSuite(virtio_blk, .init = setup, .fini = teardown);

static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* --- chains ----------------------------------------------------------------------- */

struct hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct hdr h;
static uint8_t status;

static void chain_reset(void)
{
	memset(&c, 0, sizeof(c));
	status = 0xEE;
}

static void add(void *p, uint32_t len, bool writable)
{
	c.buf[c.nr++] = (struct vq_buf){ p, len, writable };
}

static void add_hdr(uint32_t type, uint64_t sector)
{
	h = (struct hdr){ type, 0, sector };
	add(&h, sizeof(h), false);
}

static void add_status(void)
{
	add(&status, 1, true);
}

/* header, one data buffer (if len), status: the usual request. */
static uint32_t simple(uint32_t type, uint64_t sector, void *data, uint32_t len, bool writable)
{
	chain_reset();
	add_hdr(type, sector);
	if (len)
		add(data, len, writable);
	add_status();
	return virtio_blk_request(&b, &c);
}

/* --- opening ------------------------------------------------------------------------ */

Test(virtio_blk, open_describes_the_device)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_EVENT_IDX |
			1ULL << VIRTIO_RING_F_INDIRECT_DESC | 1ULL << VIRTIO_BLK_F_FLUSH |
			1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE;

	open_image(false);
	cr_assert_eq(b.size, IMAGE_SIZE);
	cr_assert_not(b.readonly);
	cr_assert_eq(b.vdev.features, want);
	cr_assert_str_eq(b.vdev.name, "virtio-blk");
	cr_assert_eq(b.vdev.device_id, 2);
	cr_assert_eq(b.vdev.nr_queues, 1);
	cr_assert_eq(b.vdev.queue_max, VIRTIO_BLK_QUEUE_SIZE);
	cr_assert_eq(b.vdev.config_len, 24);
	cr_assert_eq(b.vdev.opaque, &b);
	cr_assert_not_null(b.vdev.ops);
	cr_assert_eq(b.config.capacity, SECTORS);
	cr_assert_eq(b.config.seg_max, VIRTIO_BLK_SEG_MAX);
	cr_assert_eq(b.config.blk_size, 512);
}

Test(virtio_blk, readonly_offers_ro)
{
	open_image(true);
	cr_assert(b.readonly);
	cr_assert(virtio_has(b.vdev.features, VIRTIO_BLK_F_RO));
}

static void cfg_read(uint64_t off, uint8_t *data, unsigned size)
{
	b.vdev.ops->config_access(b.vdev.opaque, off, data, size, false);
}

Test(virtio_blk, config_space_reads)
{
	uint8_t d[8];
	uint64_t cap = 0;
	uint32_t v = 0;

	open_image(false);
	cfg_read(0, d, 8);
	memcpy(&cap, d, 8);
	cr_assert_eq(cap, SECTORS);
	cfg_read(12, d, 4);
	memcpy(&v, d, 4);
	cr_assert_eq(v, VIRTIO_BLK_SEG_MAX);
	cfg_read(20, d, 4);
	memcpy(&v, d, 4);
	cr_assert_eq(v, 512);
	/* Any size at any offset: the capacity's low byte alone, a byte in the middle. */
	cfg_read(0, d, 1);
	cr_assert_eq(d[0], SECTORS);
	cfg_read(1, d, 2);
	cr_assert_eq(d[0], 0);
	cr_assert_eq(d[1], 0);
	cfg_read(21, d, 1);
	cr_assert_eq(d[0], 2); /* 512 = 0x200 */
}

Test(virtio_blk, config_space_out_of_range_reads_zeros)
{
	uint8_t d[8];

	open_image(false);
	memset(d, 0xEE, sizeof(d));
	cfg_read(20, d, 8); /* 4 bytes in, 4 out */
	cr_assert_eq(d[0], 0);
	cr_assert_eq(d[1], 2);
	for (int i = 4; i < 8; i++)
		cr_assert_eq(d[i], 0);
	memset(d, 0xEE, sizeof(d));
	cfg_read(24, d, 8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(d[i], 0);
	memset(d, 0xEE, sizeof(d));
	cfg_read(UINT64_MAX, d, 8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(d[i], 0);
	memset(d, 0xEE, sizeof(d));
	cfg_read(UINT64_MAX - 2, d, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(d[i], 0);
}

Test(virtio_blk, config_space_writes_are_ignored)
{
	uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct virtio_blk_config before;

	open_image(false);
	before = b.config;
	b.vdev.ops->config_access(b.vdev.opaque, 0, d, 8, true);
	b.vdev.ops->config_access(b.vdev.opaque, 20, d, 4, true);
	b.vdev.ops->config_access(b.vdev.opaque, 1000, d, 8, true);
	cr_assert_eq(memcmp(&before, &b.config, sizeof(before)), 0);
	cr_assert_eq(d[0], 1, "a write does not change the caller's data");
}

Test(virtio_blk, serial_from_the_file_name)
{
	const char *base = strrchr(path, '/') + 1;

	open_image(false);
	cr_assert_gt(strlen(base), VIRTIO_BLK_ID_BYTES);
	cr_assert_eq(memcmp(b.id, base + strlen(base) - VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_ID_BYTES),
		     0);
}

Test(virtio_blk, short_file_name_is_nul_padded)
{
	char link_dir[] = "/tmp/kvmlab-blk-XXXXXX";
	char link[160];

	cr_assert_not_null(mkdtemp(link_dir));
	snprintf(link, sizeof(link), "%s/disk.img", link_dir);
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_eq(virtio_blk_open(&b, link, false, NULL, err, sizeof(err)), 0, "%s", err);
	opened = true;
	cr_assert_eq(memcmp(b.id, "disk.img\0\0\0\0\0\0\0\0\0\0\0\0", 20), 0);
	unlink(link);
	rmdir(link_dir);
}

Test(virtio_blk, serial_given)
{
	cr_assert_eq(virtio_blk_open(&b, path, false, "SN-1", err, sizeof(err)), 0);
	opened = true;
	cr_assert_eq(memcmp(b.id, "SN-1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20), 0);
}

Test(virtio_blk, serial_given_is_cut_at_20_bytes)
{
	cr_assert_eq(virtio_blk_open(&b, path, false, "0123456789abcdefghijKLMN", err,
				     sizeof(err)),
		     0);
	opened = true;
	cr_assert_eq(memcmp(b.id, "0123456789abcdefghij", 20), 0);
}

Test(virtio_blk, size_not_a_whole_number_of_sectors)
{
	unlink(path);
	make_image(IMAGE_SIZE + 100);
	cr_assert_eq(virtio_blk_open(&b, path, false, NULL, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "not a whole number of 512-byte sectors"), "%s", err);
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_eq(b.fd, -1);
}

Test(virtio_blk, empty_image_is_fine)
{
	unlink(path);
	make_image(0);
	open_image(false);
	cr_assert_eq(b.config.capacity, 0);
}

Test(virtio_blk, missing_image)
{
	unlink(path);
	cr_assert_eq(virtio_blk_open(&b, path, false, NULL, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "cannot open disk"), "%s", err);
	cr_assert_not_null(strstr(err, "No such file"), "%s", err);
}

Test(virtio_blk, not_a_file_nor_a_block_device)
{
	cr_assert_eq(virtio_blk_open(&b, "/dev/null", true, NULL, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "neither a regular file nor a block device"), "%s", err);
	cr_assert_eq(virtio_blk_open(&b, "/tmp", true, NULL, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "neither a regular file nor a block device"), "%s", err);
}

Test(virtio_blk, second_open_of_a_locked_image)
{
	struct virtio_blk other;
	char want[256];

	open_image(false);
	snprintf(want, sizeof(want), "disk %s is in use by another process (locked)", path);
	cr_assert_eq(virtio_blk_open(&other, path, false, NULL, err, sizeof(err)), -1);
	cr_assert_str_eq(err, want);
	cr_assert_eq(virtio_blk_open(&other, path, true, NULL, err, sizeof(err)), -1);
	cr_assert_str_eq(err, want);

	/* Once closed, it opens again. */
	virtio_blk_close(&b);
	opened = false;
	cr_assert_eq(virtio_blk_open(&other, path, false, NULL, err, sizeof(err)), 0);
	virtio_blk_close(&other);
}

Test(virtio_blk, readonly_opens_share_the_image)
{
	struct virtio_blk other;

	open_image(true);
	cr_assert_eq(virtio_blk_open(&other, path, true, NULL, err, sizeof(err)), 0, "%s", err);
	virtio_blk_close(&other);
	cr_assert_eq(virtio_blk_open(&other, path, false, NULL, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "is in use by another process (locked)"), "%s", err);
}

Test(virtio_blk, close_twice)
{
	open_image(false);
	virtio_blk_close(&b);
	virtio_blk_close(&b);
	opened = false;
}

/* --- requests ----------------------------------------------------------------------------- */

Test(virtio_blk, read)
{
	uint8_t d1[512], d2[1024], want[1536];

	open_image(false);
	chain_reset();
	add_hdr(VIRTIO_BLK_T_IN, 3);
	add(d1, sizeof(d1), true);
	add(d2, sizeof(d2), true);
	add_status();
	cr_assert_eq(virtio_blk_request(&b, &c), 1537);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	file_read(3 * 512, want, sizeof(want));
	cr_assert_eq(memcmp(d1, want, 512), 0);
	cr_assert_eq(memcmp(d2, want + 512, 1024), 0);
}

Test(virtio_blk, read_the_last_sector)
{
	uint8_t d[512];

	open_image(false);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, SECTORS - 1, d, 512, true), 513);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	cr_assert_eq(d[511], pattern(IMAGE_SIZE - 1));
}

Test(virtio_blk, read_with_data_and_status_in_one_buffer)
{
	uint8_t d[513];

	open_image(false);
	chain_reset();
	add_hdr(VIRTIO_BLK_T_IN, 1);
	add(d, sizeof(d), true);
	cr_assert_eq(virtio_blk_request(&b, &c), 513);
	cr_assert_eq(d[512], VIRTIO_BLK_S_OK);
	cr_assert_eq(d[0], pattern(512));
}

Test(virtio_blk, read_of_nothing)
{
	open_image(false);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 5, NULL, 0, true), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
}

Test(virtio_blk, write)
{
	uint8_t d[1024], back[1024];

	open_image(false);
	for (int i = 0; i < 1024; i++)
		d[i] = (uint8_t)(i ^ 0x5A);
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, 10, d, sizeof(d), false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	file_read(10 * 512, back, sizeof(back));
	cr_assert_eq(memcmp(d, back, sizeof(d)), 0);
	file_read(9 * 512, back, 512);
	cr_assert_eq(back[511], pattern(10 * 512 - 1), "the sector before is untouched");
}

Test(virtio_blk, write_with_header_and_data_in_one_buffer)
{
	uint8_t req[16 + 512], back[512];
	struct hdr hh = { VIRTIO_BLK_T_OUT, 0, 2 };

	open_image(false);
	memcpy(req, &hh, 16);
	memset(req + 16, 0x77, 512);
	chain_reset();
	add(req, sizeof(req), false);
	add_status();
	cr_assert_eq(virtio_blk_request(&b, &c), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	file_read(2 * 512, back, 512);
	cr_assert_eq(back[0], 0x77);
	cr_assert_eq(back[511], 0x77);
}

Test(virtio_blk, flush)
{
	open_image(false);
	cr_assert_eq(simple(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	/* The sector is ignored for a flush. */
	cr_assert_eq(simple(VIRTIO_BLK_T_FLUSH, UINT64_MAX, NULL, 0, false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
}

Test(virtio_blk, get_id)
{
	uint8_t id[VIRTIO_BLK_ID_BYTES];

	cr_assert_eq(virtio_blk_open(&b, path, false, "kvmlab-serial-0001", err, sizeof(err)), 0);
	opened = true;
	memset(id, 0xEE, sizeof(id));
	cr_assert_eq(simple(VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), true), 21);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	cr_assert_eq(memcmp(id, "kvmlab-serial-0001\0\0", 20), 0);
}

Test(virtio_blk, get_id_into_a_small_buffer)
{
	uint8_t id[8];

	cr_assert_eq(virtio_blk_open(&b, path, false, "kvmlab-serial-0001", err, sizeof(err)), 0);
	opened = true;
	cr_assert_eq(simple(VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), true), 9);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	cr_assert_eq(memcmp(id, "kvmlab-s", 8), 0);
}

Test(virtio_blk, get_id_across_buffers_of_a_larger_area)
{
	uint8_t a[7], big[64];

	cr_assert_eq(virtio_blk_open(&b, path, false, "0123456789abcdefghij", err, sizeof(err)),
		     0);
	opened = true;
	memset(big, 0xEE, sizeof(big));
	chain_reset();
	add_hdr(VIRTIO_BLK_T_GET_ID, 0);
	add(a, sizeof(a), true);
	add(big, sizeof(big), true);
	add_status();
	cr_assert_eq(virtio_blk_request(&b, &c), 21);
	cr_assert_eq(memcmp(a, "0123456", 7), 0);
	cr_assert_eq(memcmp(big, "789abcdefghij", 13), 0);
	cr_assert_eq(big[13], 0xEE, "no more than 20 bytes");
}

Test(virtio_blk, get_id_into_a_readable_buffer)
{
	uint8_t id[20];

	open_image(false);
	cr_assert_eq(simple(VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
}

Test(virtio_blk, unsupported_request)
{
	uint8_t d[512];
	const uint32_t types[] = { 2, 3, 5, 11, 13, 0xFFFFFFFF };

	open_image(false);
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		cr_assert_eq(simple(types[i], 0, d, sizeof(d), true), 1);
		cr_assert_eq(status, VIRTIO_BLK_S_UNSUPP, "type %u", types[i]);
	}
}

Test(virtio_blk, out_of_range_sectors)
{
	uint8_t d[1024];
	struct stat st;

	open_image(false);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, SECTORS, d, 512, true), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, SECTORS - 1, d, 1024, true), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, SECTORS - 1, d, 1024, false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, SECTORS + 1000, d, 512, false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	/* Nothing was written past the end. */
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, IMAGE_SIZE);
}

Test(virtio_blk, sector_overflow)
{
	uint8_t d[512];
	/* sector * 512 wraps to 0, to 512, or overflows by a little. */
	const uint64_t sectors[] = { 1ULL << 55, (1ULL << 55) + 1, UINT64_MAX, UINT64_MAX / 512 };

	open_image(false);
	for (unsigned i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
		cr_assert_eq(simple(VIRTIO_BLK_T_IN, sectors[i], d, sizeof(d), true), 1);
		cr_assert_eq(status, VIRTIO_BLK_S_IOERR, "sector %llx",
			     (unsigned long long)sectors[i]);
		cr_assert_eq(simple(VIRTIO_BLK_T_OUT, sectors[i], d, sizeof(d), false), 1);
		cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	}
}

Test(virtio_blk, readonly_refuses_writes)
{
	uint8_t d[512], back[512];

	open_image(true);
	memset(d, 0x11, sizeof(d));
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, 0, d, sizeof(d), false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	file_read(0, back, 512);
	cr_assert_eq(back[0], pattern(0));
	cr_assert_eq(back[1], pattern(1));
	/* Reads and flushes work. */
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 0, d, sizeof(d), true), 513);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	cr_assert_eq(simple(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
}

Test(virtio_blk, header_split_across_buffers)
{
	struct hdr hh = { VIRTIO_BLK_T_IN, 0, 4 };
	uint8_t d[512];

	open_image(false);
	chain_reset();
	add(&hh, 10, false);
	add((uint8_t *)&hh + 10, 6, false);
	add(d, sizeof(d), true);
	add_status();
	cr_assert_eq(virtio_blk_request(&b, &c), 513);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	cr_assert_eq(d[0], pattern(4 * 512));
}

Test(virtio_blk, header_in_sixteen_pieces_then_data_in_the_last)
{
	uint8_t req[16 + 512], back[512];
	struct hdr hh = { VIRTIO_BLK_T_OUT, 0, 7 };

	open_image(false);
	memcpy(req, &hh, 16);
	memset(req + 16, 0x3C, 512);
	chain_reset();
	for (int i = 0; i < 15; i++)
		add(req + i, 1, false);
	add(req + 15, 1 + 512, false);
	add_status();
	cr_assert_eq(virtio_blk_request(&b, &c), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
	file_read(7 * 512, back, 512);
	cr_assert_eq(back[0], 0x3C);
}

Test(virtio_blk, header_too_short)
{
	struct hdr hh = { VIRTIO_BLK_T_IN, 0, 0 };
	uint8_t d[512];

	open_image(false);
	chain_reset();
	add(&hh, 8, false);
	add(d, sizeof(d), true);
	add_status();
	cr_assert_eq(virtio_blk_request(&b, &c), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
}

Test(virtio_blk, header_in_a_writable_buffer)
{
	struct hdr hh = { VIRTIO_BLK_T_IN, 0, 0 };
	uint8_t d[512];

	open_image(false);
	chain_reset();
	add(&hh, 16, true);
	add(d, sizeof(d), true);
	add_status();
	cr_assert_eq(virtio_blk_request(&b, &c), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
}

Test(virtio_blk, status_in_a_readonly_buffer)
{
	uint8_t d[512];

	open_image(false);
	memset(d, 0xEE, sizeof(d));
	chain_reset();
	add_hdr(VIRTIO_BLK_T_OUT, 0);
	add(d, sizeof(d), false);
	add(&status, 1, false);
	cr_assert_eq(virtio_blk_request(&b, &c), 0);
	cr_assert_eq(status, 0xEE, "nothing written");
	file_read(0, d, 1);
	cr_assert_eq(d[0], pattern(0), "and no I/O done");
}

Test(virtio_blk, missing_status)
{
	open_image(false);
	chain_reset();
	add_hdr(VIRTIO_BLK_T_FLUSH, 0);
	cr_assert_eq(virtio_blk_request(&b, &c), 0);
}

Test(virtio_blk, only_a_status_byte)
{
	open_image(false);
	chain_reset();
	add_status();
	cr_assert_eq(virtio_blk_request(&b, &c), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
}

Test(virtio_blk, empty_chain)
{
	open_image(false);
	chain_reset();
	cr_assert_eq(virtio_blk_request(&b, &c), 0);
}

Test(virtio_blk, data_not_a_multiple_of_512)
{
	uint8_t d[1000];

	open_image(false);
	memset(d, 0xEE, sizeof(d));
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 0, d, 100, true), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(d[0], 0xEE);
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, 0, d, 1000, false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	file_read(0, d, 1);
	cr_assert_eq(d[0], pattern(0));
}

Test(virtio_blk, read_into_a_readable_buffer)
{
	uint8_t d[512];

	open_image(false);
	memset(d, 0xEE, sizeof(d));
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 0, d, sizeof(d), false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(d[0], 0xEE);
}

Test(virtio_blk, write_from_a_writable_buffer)
{
	uint8_t d[512];

	open_image(false);
	memset(d, 0x22, sizeof(d));
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, 0, d, sizeof(d), true), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	file_read(0, d, 1);
	cr_assert_eq(d[0], pattern(0));
}

Test(virtio_blk, chain_with_a_bad_buffer)
{
	uint8_t d[512];

	open_image(false);
	chain_reset();
	add_hdr(VIRTIO_BLK_T_IN, 0);
	add(d, sizeof(d), true);
	add_status();
	c.bad_buf = true;
	memset(d, 0xEE, sizeof(d));
	cr_assert_eq(virtio_blk_request(&b, &c), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(d[0], 0xEE, "no I/O for a bad chain");

	/* A bad chain whose last listed buffer is readable: no status at all. */
	chain_reset();
	add_hdr(VIRTIO_BLK_T_IN, 0);
	c.bad_buf = true;
	cr_assert_eq(virtio_blk_request(&b, &c), 0);
}

/* Swap the image's fd for another one, for the test's duration. */
static int swap_fd(int fd)
{
	int old = b.fd;

	cr_assert_geq(fd, 0);
	b.fd = fd;
	return old;
}

Test(virtio_blk, write_error_is_ioerr)
{
	uint8_t d[512] = { 0 };
	int old;

	open_image(false);
	old = swap_fd(open("/dev/full", O_RDWR)); /* ENOSPC */
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, 0, d, sizeof(d), false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	close(swap_fd(old));
}

Test(virtio_blk, write_on_a_readonly_fd_is_ioerr)
{
	uint8_t d[512] = { 0 };
	int old;

	open_image(false);
	old = swap_fd(open(path, O_RDONLY)); /* EBADF */
	cr_assert_eq(simple(VIRTIO_BLK_T_OUT, 0, d, sizeof(d), false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	close(swap_fd(old));
}

Test(virtio_blk, read_error_is_ioerr)
{
	uint8_t d[512];
	int old;

	open_image(false);
	old = swap_fd(open("/tmp", O_RDONLY | O_DIRECTORY)); /* EISDIR */
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 0, d, sizeof(d), true), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	close(swap_fd(old));
}

Test(virtio_blk, flush_error_is_ioerr)
{
	int old;

	open_image(false);
	old = swap_fd(open("/dev/null", O_RDWR)); /* fdatasync: EINVAL */
	cr_assert_eq(simple(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	close(swap_fd(old));
}

Test(virtio_blk, image_shrank_under_us)
{
	uint8_t d[1024];

	open_image(false);
	cr_assert_eq(truncate(path, 40 * 512 + 512 / 2), 0);
	/* Inside what the device believes, past the file's end now. */
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 50, d, 512, true), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	/* Half a sector left: a short read, then the end. */
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 40, d, 1024, true), 1);
	cr_assert_eq(status, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(simple(VIRTIO_BLK_T_IN, 39, d, 512, true), 513);
	cr_assert_eq(status, VIRTIO_BLK_S_OK);
}

/* --- the I/O thread, with a fake transport ---------------------------------------------- */

#define MEM_SIZE 0x10000
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define HDR_GPA 0x4000
#define DATA_GPA 0x5000
#define STATUS_GPA 0x6000
#define QSIZE 8

struct fake_transport {
	struct virtio_transport t;
	struct virtq q;
	int kick;
	int interrupts;
	int needs_reset;
};

static struct fake_transport ft;
static struct guest_mem mem;
static uint8_t *ram;
static uint16_t aidx;

/* Called on the device's thread: no assertions there, a wrong queue number gives nothing. */
static struct virtq *fake_queue(struct virtio_transport *t, unsigned n)
{
	return n == 0 ? &((struct fake_transport *)t)->q : NULL;
}

static int fake_kick_fd(struct virtio_transport *t, unsigned n)
{
	return n == 0 ? ((struct fake_transport *)t)->kick : -1;
}

static void fake_interrupt(struct virtio_transport *t, unsigned n)
{
	if (n == 0)
		__atomic_add_fetch(&((struct fake_transport *)t)->interrupts, 1, __ATOMIC_SEQ_CST);
}

static void fake_needs_reset(struct virtio_transport *t)
{
	__atomic_add_fetch(&((struct fake_transport *)t)->needs_reset, 1, __ATOMIC_SEQ_CST);
}

static const struct virtio_transport_ops fake_ops = {
	.queue = fake_queue,
	.kick_fd = fake_kick_fd,
	.interrupt = fake_interrupt,
	.needs_reset = fake_needs_reset,
};

static void thread_setup(void)
{
	setup();
	ram = calloc(1, MEM_SIZE);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(gmem_add_region(&mem, 0, ram, MEM_SIZE), 0);
	memset(&ft, 0, sizeof(ft));
	ft.t.ops = &fake_ops;
	ft.kick = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(ft.kick, 0);
	ft.q.size = QSIZE;
	ft.q.desc_gpa = DESC_GPA;
	ft.q.avail_gpa = AVAIL_GPA;
	ft.q.used_gpa = USED_GPA;
	aidx = 0;
	open_image(false);
	virtio_blk_attach(&b, &ft.t);
}

static void thread_teardown(void)
{
	teardown(); /* closes the device: the thread stops before the memory goes */
	close(ft.kick);
	free(ram);
}

TestSuite(virtio_blk_thread, .init = thread_setup, .fini = thread_teardown);

static void queue_on(bool event_idx)
{
	ft.q.event_idx = event_idx;
	cr_assert_eq(vq_start(&ft.q, &mem), 0);
}

static int blk_start(void)
{
	return b.vdev.ops->start(b.vdev.opaque, b.vdev.features);
}

static void blk_reset(void)
{
	b.vdev.ops->reset(b.vdev.opaque);
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(ram + DESC_GPA + 16 * i, &d, sizeof(d));
}

/* The driver's side: a read of sector into DATA_GPA, as descriptors head, head + 1, head + 2. */
static void offer_read(unsigned head, uint64_t sector)
{
	struct hdr hh = { VIRTIO_BLK_T_IN, 0, sector };

	memcpy(ram + HDR_GPA, &hh, 16);
	ram[STATUS_GPA] = 0xEE;
	put_desc(head, HDR_GPA, 16, VRING_DESC_F_NEXT, head + 1);
	put_desc(head + 1, DATA_GPA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, head + 2);
	put_desc(head + 2, STATUS_GPA, 1, VRING_DESC_F_WRITE, 0);
	*(uint16_t *)(ram + AVAIL_GPA + 4 + 2 * (aidx % QSIZE)) = (uint16_t)head;
	__atomic_store_n((uint16_t *)(ram + AVAIL_GPA + 2), ++aidx, __ATOMIC_RELEASE);
}

static void kick(void)
{
	uint64_t one = 1;

	cr_assert_eq(write(ft.kick, &one, 8), 8);
}

static uint16_t used_idx(void)
{
	return __atomic_load_n((uint16_t *)(ram + USED_GPA + 2), __ATOMIC_ACQUIRE);
}

/* Wait (at most 5 s: a hang guard) until the device has used n chains. */
static void wait_used(uint16_t n)
{
	for (int i = 0; i < 5000 && used_idx() != n; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	cr_assert_eq(used_idx(), n);
}

/* The same, when the device may have gone further; spinning, to race with the device. */
static void wait_used_at_least(uint16_t n)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((uint16_t)(used_idx() - n) >= 0x8000) {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5)
			break;
	}
	cr_assert_lt((uint16_t)(used_idx() - n), 0x8000, "used %u, want %u", used_idx(), n);
}

static int count(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

Test(virtio_blk_thread, serves_kicked_requests)
{
	queue_on(false);
	cr_assert_eq(blk_start(), 0);
	cr_assert(b.running);

	offer_read(0, 5);
	kick();
	wait_used(1);
	cr_assert_eq(ram[STATUS_GPA], VIRTIO_BLK_S_OK);
	cr_assert_eq(ram[DATA_GPA], pattern(5 * 512));
	cr_assert_eq(*(uint32_t *)(ram + USED_GPA + 4), 0, "head");
	cr_assert_eq(*(uint32_t *)(ram + USED_GPA + 8), 513, "len");
	/* The interrupt comes after the push: the count may lag the index a moment. */
	for (int i = 0; i < 5000 && count(&ft.interrupts) < 1; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	cr_assert_eq(count(&ft.interrupts), 1);

	offer_read(3, 6);
	kick();
	wait_used(2);
	cr_assert_eq(ram[DATA_GPA], pattern(6 * 512));
	for (int i = 0; i < 5000 && count(&ft.interrupts) < 2; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	cr_assert_eq(count(&ft.interrupts), 2);
	cr_assert_eq(count(&ft.needs_reset), 0);

	blk_reset();
	cr_assert_not(b.running);
	blk_reset();
}

Test(virtio_blk_thread, serves_what_was_queued_before_start)
{
	queue_on(true);
	offer_read(0, 1);
	cr_assert_eq(blk_start(), 0);
	wait_used(1);
	cr_assert_eq(ram[STATUS_GPA], VIRTIO_BLK_S_OK);
	cr_assert_eq(ram[DATA_GPA], pattern(512));
	blk_reset();
	cr_assert_eq(count(&ft.interrupts), 1, "used_event 0: the first buffer interrupts");
	/* With kicks enabled again, avail_event says "the next one". */
	cr_assert_eq(*(uint16_t *)(ram + USED_GPA + 4 + 8 * QSIZE), 1);
}

Test(virtio_blk_thread, many_requests_under_event_idx)
{
	queue_on(true);
	cr_assert_eq(blk_start(), 0);
	for (uint16_t n = 1; n <= 300; n++) {
		/* The driver wants an interrupt for each: used_event = what it has seen. */
		__atomic_store_n((uint16_t *)(ram + AVAIL_GPA + 4 + 2 * QSIZE), n - 1,
				 __ATOMIC_SEQ_CST);
		offer_read(0, n % SECTORS);
		kick();
		wait_used(n);
		cr_assert_eq(ram[DATA_GPA], pattern((n % SECTORS) * 512));
	}
	blk_reset();
	cr_assert_eq(count(&ft.interrupts), 300);
	cr_assert_eq(count(&ft.needs_reset), 0);
}

Test(virtio_blk_thread, broken_queue_asks_for_a_reset)
{
	queue_on(false);
	cr_assert_eq(blk_start(), 0);
	*(uint16_t *)(ram + AVAIL_GPA + 4) = QSIZE; /* head out of range */
	__atomic_store_n((uint16_t *)(ram + AVAIL_GPA + 2), ++aidx, __ATOMIC_RELEASE);
	kick();
	for (int i = 0; i < 5000 && count(&ft.needs_reset) < 1; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	cr_assert_eq(count(&ft.needs_reset), 1);

	/* The device no longer touches the queue. */
	offer_read(0, 1);
	kick();
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	cr_assert_eq(used_idx(), 0);
	cr_assert_eq(ram[STATUS_GPA], 0xEE);
	cr_assert_eq(count(&ft.needs_reset), 1);
	blk_reset();
	cr_assert_not(b.running);
}

Test(virtio_blk_thread, restart_after_reset)
{
	queue_on(false);
	cr_assert_eq(blk_start(), 0);
	offer_read(0, 2);
	kick();
	wait_used(1);
	blk_reset();

	/* The driver resets the queue and starts over. */
	vq_reset(&ft.q);
	memset(ram + AVAIL_GPA, 0, 0x100);
	memset(ram + USED_GPA, 0, 0x100);
	aidx = 0;
	ft.q.size = QSIZE;
	ft.q.desc_gpa = DESC_GPA;
	ft.q.avail_gpa = AVAIL_GPA;
	ft.q.used_gpa = USED_GPA;
	queue_on(false);
	cr_assert_eq(blk_start(), 0);
	offer_read(0, 3);
	kick();
	wait_used(1);
	cr_assert_eq(ram[DATA_GPA], pattern(3 * 512));
}

Test(virtio_blk_thread, reset_without_start)
{
	blk_reset();
	blk_reset();
	cr_assert_not(b.running);
	cr_assert_eq(b.features, 0);
}

Test(virtio_blk_thread, start_with_the_queue_off)
{
	cr_assert_eq(blk_start(), 0);
	cr_assert_not(b.running, "nothing to serve");
	blk_reset();
}

Test(virtio_blk_thread, start_twice_is_refused)
{
	queue_on(false);
	cr_assert_eq(blk_start(), 0);
	cr_assert_eq(blk_start(), -1);
	blk_reset();
}

Test(virtio_blk_thread, close_stops_the_thread)
{
	queue_on(false);
	cr_assert_eq(blk_start(), 0);
	virtio_blk_close(&b);
	opened = false;
	cr_assert_not(b.running);
}

/*
 * A driver that kicks only when the device asks (the flag, or avail_event),
 * with up to 21 requests in flight on a queue of 64: if the device's "enable
 * kicks, look again" and the driver's "publish, then check" could miss each
 * other, a request would wait forever and the wait would fail.
 */
#define BIG_QSIZE 64
#define SLOTS 21 /* 3 descriptors each */
#define BIG_DATA_GPA 0x8000

static void offer_read_at(unsigned slot, uint64_t sector)
{
	struct hdr hh = { VIRTIO_BLK_T_IN, 0, sector };
	unsigned head = 3 * slot;
	uint64_t hdr_gpa = HDR_GPA + 16 * slot;

	memcpy(ram + hdr_gpa, &hh, 16);
	put_desc(head, hdr_gpa, 16, VRING_DESC_F_NEXT, head + 1);
	put_desc(head + 1, BIG_DATA_GPA + 0x200 * slot, 512,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, head + 2);
	put_desc(head + 2, STATUS_GPA + slot, 1, VRING_DESC_F_WRITE, 0);
	*(uint16_t *)(ram + AVAIL_GPA + 4 + 2 * (aidx % BIG_QSIZE)) = (uint16_t)head;
}

static void no_lost_kicks(bool event_idx, unsigned in_flight)
{
	const unsigned n = 20000;
	unsigned kicks = 0;

	ft.q.size = BIG_QSIZE;
	queue_on(event_idx);
	cr_assert_eq(blk_start(), 0);
	for (unsigned i = 0; i < n; i++) {
		uint16_t old = aidx, v;
		bool want;

		/*
		 * Slot i % SLOTS is free once request i - SLOTS is used. With
		 * one request in flight, a lost kick is a hang at once; with
		 * many, the next request's kick would hide it.
		 */
		if (i >= in_flight)
			wait_used_at_least((uint16_t)(i - in_flight + 1));
		for (volatile unsigned d = 0; d < i % 64; d++)
			; /* vary where in the device's loop the request lands */
		offer_read_at(i % SLOTS, i % SECTORS);
		__atomic_store_n((uint16_t *)(ram + AVAIL_GPA + 2), ++aidx, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (event_idx) {
			v = __atomic_load_n((uint16_t *)(ram + USED_GPA + 4 + 8 * BIG_QSIZE),
					    __ATOMIC_RELAXED);
			want = (uint16_t)(aidx - v - 1) < (uint16_t)(aidx - old);
		} else {
			v = __atomic_load_n((uint16_t *)(ram + USED_GPA), __ATOMIC_RELAXED);
			want = !(v & VRING_USED_F_NO_NOTIFY);
		}
		if (want) {
			kick();
			kicks++;
		}
	}
	wait_used((uint16_t)n);
	blk_reset();
	cr_assert_eq(count(&ft.needs_reset), 0);
	cr_assert_leq(kicks, n);
	for (unsigned i = 0; i < SLOTS; i++)
		cr_assert_eq(ram[STATUS_GPA + i], VIRTIO_BLK_S_OK);
}

Test(virtio_blk_thread, no_lost_kicks_with_the_flag)
{
	no_lost_kicks(false, 1);
}

Test(virtio_blk_thread, no_lost_kicks_with_event_idx)
{
	no_lost_kicks(true, 1);
}

Test(virtio_blk_thread, many_in_flight_with_the_flag)
{
	no_lost_kicks(false, SLOTS);
}

Test(virtio_blk_thread, many_in_flight_with_event_idx)
{
	no_lost_kicks(true, SLOTS);
}
