/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vmm/memory.h"

/* Two fake regions: 64 KiB at gpa 0 and 4 KiB at 4 GiB, with a gap between. */
#define LOW_SIZE 0x10000ULL
#define HIGH_SIZE 0x1000ULL

static uint8_t low[LOW_SIZE];
static uint8_t high[HIGH_SIZE];
static struct guest_mem mem;

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	memset(low, 0xAA, sizeof(low));
	memset(high, 0xBB, sizeof(high));
	cr_assert_eq(gmem_add_region(&mem, 0, low, LOW_SIZE), 0);
	cr_assert_eq(gmem_add_region(&mem, GMEM_4G, high, HIGH_SIZE), 0);
}

TestSuite(gmem_ptr, .init = setup);

Test(gmem_ptr, in_range)
{
	cr_assert_eq(gmem_ptr(&mem, 0, 1), low);
	cr_assert_eq(gmem_ptr(&mem, 0x1234, 16), low + 0x1234);
	cr_assert_eq(gmem_ptr(&mem, 0, LOW_SIZE), low);
	cr_assert_eq(gmem_ptr(&mem, GMEM_4G, 1), high);
	cr_assert_eq(gmem_ptr(&mem, GMEM_4G + 0x10, 0x100), high + 0x10);
	cr_assert_eq(gmem_ptr(&mem, GMEM_4G, HIGH_SIZE), high);
}

Test(gmem_ptr, exact_end)
{
	/* The last byte, and a range ending exactly at the end of a region. */
	cr_assert_eq(gmem_ptr(&mem, LOW_SIZE - 1, 1), low + LOW_SIZE - 1);
	cr_assert_eq(gmem_ptr(&mem, LOW_SIZE - 8, 8), low + LOW_SIZE - 8);
	cr_assert_eq(gmem_ptr(&mem, GMEM_4G + HIGH_SIZE - 4, 4), high + HIGH_SIZE - 4);
}

Test(gmem_ptr, one_past_end)
{
	cr_assert_null(gmem_ptr(&mem, LOW_SIZE, 1));
	cr_assert_null(gmem_ptr(&mem, LOW_SIZE - 8, 9));
	cr_assert_null(gmem_ptr(&mem, LOW_SIZE - 1, 2));
	cr_assert_null(gmem_ptr(&mem, 0, LOW_SIZE + 1));
	cr_assert_null(gmem_ptr(&mem, GMEM_4G + HIGH_SIZE, 1));
	cr_assert_null(gmem_ptr(&mem, GMEM_4G + HIGH_SIZE - 4, 5));
	cr_assert_null(gmem_ptr(&mem, GMEM_4G, HIGH_SIZE + 1));
}

Test(gmem_ptr, len_zero)
{
	/* Inside a region, an empty range is fine... */
	cr_assert_eq(gmem_ptr(&mem, 0x100, 0), low + 0x100);
	cr_assert_eq(gmem_ptr(&mem, LOW_SIZE - 1, 0), low + LOW_SIZE - 1);
	/* ...but gpa itself must be RAM: no one-past-the-end host pointers. */
	cr_assert_null(gmem_ptr(&mem, LOW_SIZE, 0));
	cr_assert_null(gmem_ptr(&mem, GMEM_4G + HIGH_SIZE, 0));
}

Test(gmem_ptr, huge_len_does_not_wrap)
{
	cr_assert_null(gmem_ptr(&mem, 0, UINT64_MAX));
	cr_assert_null(gmem_ptr(&mem, 0x10, UINT64_MAX));
	cr_assert_null(gmem_ptr(&mem, 0x10, UINT64_MAX - 0xF)); /* gpa + len == 0 */
	cr_assert_null(gmem_ptr(&mem, 0x10, UINT64_MAX - 0xE)); /* gpa + len == 1 */
	cr_assert_null(gmem_ptr(&mem, GMEM_4G, UINT64_MAX));
	cr_assert_null(gmem_ptr(&mem, GMEM_4G + 1, UINT64_MAX - GMEM_4G));
	cr_assert_null(gmem_ptr(&mem, UINT64_MAX, 1));
	cr_assert_null(gmem_ptr(&mem, UINT64_MAX, UINT64_MAX));
}

Test(gmem_ptr, gap_between_regions)
{
	cr_assert_null(gmem_ptr(&mem, LOW_SIZE, 1));
	cr_assert_null(gmem_ptr(&mem, 0x80000000ULL, 1));
	cr_assert_null(gmem_ptr(&mem, GMEM_4G - 1, 1));
	/* A range that starts in the gap and ends inside the high region. */
	cr_assert_null(gmem_ptr(&mem, GMEM_4G - 1, 2));
	/* A range that starts in the low region and runs across the gap. */
	cr_assert_null(gmem_ptr(&mem, LOW_SIZE - 1, GMEM_4G - LOW_SIZE + 2));
}

Test(gmem_ptr, no_regions)
{
	struct guest_mem empty = { 0 };

	cr_assert_null(gmem_ptr(&empty, 0, 1));
	cr_assert_null(gmem_ptr(&empty, 0, 0));
}

Test(gmem_ptr, range_must_fit_one_region)
{
	/* Adjacent regions backed by separate host buffers: a range across the
	 * seam would be two host ranges, so it must be refused. */
	static uint8_t a[0x1000], b[0x1000];
	struct guest_mem m = { 0 };

	cr_assert_eq(gmem_add_region(&m, 0x100000, a, sizeof(a)), 0);
	cr_assert_eq(gmem_add_region(&m, 0x101000, b, sizeof(b)), 0);
	cr_assert_eq(gmem_ptr(&m, 0x100FFF, 1), a + 0xFFF);
	cr_assert_eq(gmem_ptr(&m, 0x101000, 1), b);
	cr_assert_null(gmem_ptr(&m, 0x100FFF, 2));
	cr_assert_null(gmem_ptr(&m, 0xFFFFF, 1));
}

/* --- gmem_read / gmem_write ----------------------------------------------- */

TestSuite(gmem_copy, .init = setup);

Test(gmem_copy, round_trip)
{
	const char msg[] = "hello, guest";
	char back[sizeof(msg)] = { 0 };

	cr_assert_eq(gmem_write(&mem, 0x500, msg, sizeof(msg)), 0);
	cr_assert_arr_eq(low + 0x500, msg, sizeof(msg));
	cr_assert_eq(low[0x4FF], 0xAA);
	cr_assert_eq(low[0x500 + sizeof(msg)], 0xAA);
	cr_assert_eq(gmem_read(&mem, 0x500, back, sizeof(back)), 0);
	cr_assert_str_eq(back, msg);

	cr_assert_eq(gmem_write(&mem, GMEM_4G + HIGH_SIZE - 4, "abcd", 4), 0);
	cr_assert_arr_eq(high + HIGH_SIZE - 4, "abcd", 4);
}

Test(gmem_copy, write_out_of_range_touches_nothing)
{
	uint8_t src[16];

	memset(src, 0x11, sizeof(src));
	cr_assert_eq(gmem_write(&mem, LOW_SIZE - 8, src, 16), -1);
	cr_assert_eq(gmem_write(&mem, LOW_SIZE, src, 1), -1);
	cr_assert_eq(gmem_write(&mem, GMEM_4G - 8, src, 16), -1);
	cr_assert_eq(gmem_write(&mem, GMEM_4G + HIGH_SIZE - 1, src, 2), -1);
	cr_assert_eq(gmem_write(&mem, 8, src, UINT64_MAX), -1);
	for (size_t i = 0; i < sizeof(low); i++)
		cr_assert_eq(low[i], 0xAA, "low[%zu] was touched", i);
	for (size_t i = 0; i < sizeof(high); i++)
		cr_assert_eq(high[i], 0xBB, "high[%zu] was touched", i);
}

Test(gmem_copy, read_out_of_range_touches_nothing)
{
	uint8_t dst[16];

	memset(dst, 0x22, sizeof(dst));
	cr_assert_eq(gmem_read(&mem, LOW_SIZE - 8, dst, 16), -1);
	cr_assert_eq(gmem_read(&mem, GMEM_4G - 1, dst, 2), -1);
	cr_assert_eq(gmem_read(&mem, GMEM_4G + HIGH_SIZE, dst, 1), -1);
	cr_assert_eq(gmem_read(&mem, 0, dst, UINT64_MAX), -1);
	for (size_t i = 0; i < sizeof(dst); i++)
		cr_assert_eq(dst[i], 0x22, "dst[%zu] was touched", i);
}

/* --- gmem_add_region ------------------------------------------------------ */

Test(gmem_add_region, refuses_bad_regions)
{
	static uint8_t buf[16];
	struct guest_mem m = { 0 };

	errno = 0;
	cr_assert_eq(gmem_add_region(&m, 0, buf, 0), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(gmem_add_region(&m, UINT64_MAX - 7, buf, 16), -1);
	cr_assert_eq(gmem_add_region(&m, UINT64_MAX, buf, 1), -1); /* ends at 2^64 */
	cr_assert_eq(m.nr_regions, 0);
	cr_assert_eq(m.ram_size, 0);

	for (int i = 0; i < GMEM_MAX_REGIONS; i++)
		cr_assert_eq(gmem_add_region(&m, (uint64_t)i << 20, buf, sizeof(buf)), 0);
	errno = 0;
	cr_assert_eq(gmem_add_region(&m, 0x10000000, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(m.nr_regions, GMEM_MAX_REGIONS);
	cr_assert_eq(m.ram_size, GMEM_MAX_REGIONS * sizeof(buf));
}

/* --- gmem_init layouts ---------------------------------------------------- */

Test(gmem_init, small_is_one_region)
{
	struct guest_mem m;
	uint8_t v = 0x5A, back = 0;

	cr_assert_eq(gmem_init(&m, 64ULL << 20, true), 0);
	cr_assert_eq(m.nr_regions, 1);
	cr_assert_eq(m.region[0].gpa, 0);
	cr_assert_eq(m.region[0].size, 64ULL << 20);
	cr_assert_not_null(m.region[0].host);
	cr_assert_eq(m.ram_size, 64ULL << 20);
	/* The mapping is real and writable, and ends where it says. */
	cr_assert_eq(gmem_write(&m, (64ULL << 20) - 1, &v, 1), 0);
	cr_assert_eq(gmem_read(&m, (64ULL << 20) - 1, &back, 1), 0);
	cr_assert_eq(back, 0x5A);
	cr_assert_null(gmem_ptr(&m, 64ULL << 20, 1));
	gmem_free(&m);
	cr_assert_eq(m.nr_regions, 0);
	cr_assert_eq(m.ram_size, 0);
}

Test(gmem_init, just_below_the_hole_is_one_region)
{
	struct guest_mem m;

	cr_assert_eq(gmem_init(&m, GMEM_MMIO_HOLE_START, true), 0);
	cr_assert_eq(m.nr_regions, 1);
	cr_assert_eq(m.region[0].size, GMEM_MMIO_HOLE_START);
	cr_assert_eq(m.ram_size, GMEM_MMIO_HOLE_START);
	gmem_free(&m);
}

Test(gmem_init, four_gib_splits_around_the_hole)
{
	struct guest_mem m;
	uint32_t v = 0xC0FFEE, back = 0;

	cr_assert_eq(gmem_init(&m, 4ULL << 30, true), 0);
	cr_assert_eq(m.nr_regions, 2);
	cr_assert_eq(m.region[0].gpa, 0);
	cr_assert_eq(m.region[0].size, 3ULL << 30);
	cr_assert_eq(m.region[1].gpa, GMEM_4G);
	cr_assert_eq(m.region[1].size, 1ULL << 30);
	cr_assert_eq(m.ram_size, 4ULL << 30);

	/* RAM below 3 GiB and from 4 GiB to 5 GiB; nothing in the hole. */
	cr_assert_not_null(gmem_ptr(&m, GMEM_MMIO_HOLE_START - 4, 4));
	cr_assert_null(gmem_ptr(&m, GMEM_MMIO_HOLE_START, 1));
	cr_assert_null(gmem_ptr(&m, GMEM_4G - 1, 1));
	cr_assert_eq(gmem_write(&m, GMEM_4G, &v, 4), 0);
	cr_assert_eq(gmem_read(&m, GMEM_4G, &back, 4), 0);
	cr_assert_eq(back, 0xC0FFEE);
	cr_assert_not_null(gmem_ptr(&m, GMEM_4G + (1ULL << 30) - 1, 1));
	cr_assert_null(gmem_ptr(&m, GMEM_4G + (1ULL << 30), 1));
	gmem_free(&m);
	cr_assert_eq(m.nr_regions, 0);
}

Test(gmem_init, zero_fails_cleanly)
{
	struct guest_mem m;

	cr_assert_eq(gmem_init(&m, 0, true), -1);
	cr_assert_eq(m.nr_regions, 0);
	cr_assert_eq(m.ram_size, 0);
}

/* The VmFlags line of /proc/self/smaps for the mapping that holds addr, into flags. */
static int vm_flags(const void *addr, char *flags, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, len, "%s", line + 8);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* KVM maps 2 MiB at a time only where host and guest addresses agree modulo 2 MiB. */
static void check_huge_layout(bool thp, const char *flag)
{
	struct guest_mem m;
	char flags[512];

	cr_assert_eq(gmem_init(&m, 4ULL << 30, thp), 0);
	for (int i = 0; i < m.nr_regions; i++) {
		cr_assert_eq((uintptr_t)m.region[i].host % GMEM_HUGE, 0, "region %d at %p", i,
			     m.region[i].host);
		cr_assert_eq(vm_flags(m.region[i].host, flags, sizeof(flags)), 0);
		cr_assert_not_null(strstr(flags, flag), "region %d: VmFlags%s", i, flags);
		/* the last byte is still mapped and ours */
		((volatile uint8_t *)m.region[i].host)[m.region[i].size - 1] = 1;
	}
	gmem_free(&m);
}

Test(gmem_init, regions_are_2mib_aligned_and_ask_for_huge_pages)
{
	check_huge_layout(true, " hg");
}

Test(gmem_init, no_thp_asks_for_small_pages)
{
	check_huge_layout(false, " nh");
}
