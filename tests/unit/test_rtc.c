// SPDX-License-Identifier: MIT
/* The CMOS RTC: host time in BCD and binary, 12/24 hours, the guest setting it. */
#include <criterion/criterion.h>

#include "devices/rtc.h"

/* 2026-11-23 21:07:05 UTC, a Monday. */
#define T0 ((time_t)1795468025)

static time_t fake_now = T0;
static time_t fake_clock(void)
{
	return fake_now;
}

static struct rtc r;

static void setup(void)
{
	fake_now = T0;
	rtc_init(&r, fake_clock);
}

static void teardown(void)
{
	rtc_destroy(&r);
}

static uint8_t port(unsigned off, bool write, uint8_t v)
{
	uint8_t data[1] = { v };
	struct bus_access a = { .offset = off, .data = data, .size = 1, .is_write = write };

	rtc_io(&r, &a);
	return data[0];
}

static uint8_t get(uint8_t reg)
{
	port(0, true, reg);
	return port(1, false, 0);
}

static void set(uint8_t reg, uint8_t v)
{
	port(0, true, reg);
	port(1, true, v);
}

TestSuite(rtc, .init = setup, .fini = teardown);

Test(rtc, bcd_time_of_the_host)
{
	cr_assert_eq(get(0x00), 0x05);
	cr_assert_eq(get(0x02), 0x07);
	cr_assert_eq(get(0x04), 0x21);
	cr_assert_eq(get(0x06), 0x02, "Monday is 2 (Sunday is 1)");
	cr_assert_eq(get(0x07), 0x23);
	cr_assert_eq(get(0x08), 0x11);
	cr_assert_eq(get(0x09), 0x26);
	cr_assert_eq(get(0x32), 0x20, "century");
}

Test(rtc, status_registers)
{
	cr_assert_eq(get(0x0A) & 0x80, 0, "never update-in-progress");
	cr_assert_eq(get(0x0A), 0x26);
	cr_assert_eq(get(0x0B), 0x02, "BCD, 24-hour");
	cr_assert_eq(get(0x0C), 0, "no interrupt flags");
	cr_assert_eq(get(0x0D), 0x80, "valid RAM and time");
	set(0x0D, 0);
	cr_assert_eq(get(0x0D), 0x80, "register D is read-only");
	set(0x0A, 0xA6);
	cr_assert_eq(get(0x0A), 0x26, "UIP cannot be set");
}

Test(rtc, binary_and_12_hour)
{
	set(0x0B, 0x04); /* binary, 12-hour */
	cr_assert_eq(get(0x00), 5);
	cr_assert_eq(get(0x04), 0x80 | 9, "21 h is 9 PM");
	cr_assert_eq(get(0x09), 26);
	fake_now = T0 - 21 * 3600; /* 00:07 */
	cr_assert_eq(get(0x04), 12, "midnight is 12 AM");
}

Test(rtc, follows_the_host_clock)
{
	fake_now = T0 + 60;
	cr_assert_eq(get(0x02), 0x08);
}

Test(rtc, guest_sets_the_time)
{
	set(0x09, 0x30); /* year 2030 */
	set(0x04, 0x08); /* 08 h */
	cr_assert_eq(get(0x09), 0x30);
	cr_assert_eq(get(0x04), 0x08);
	cr_assert_eq(get(0x02), 0x07, "other fields keep their values");
	fake_now = T0 + 3600;
	cr_assert_eq(get(0x04), 0x09, "the set clock runs on with the host's");
	cr_assert_eq(get(0x09), 0x30);
}

Test(rtc, guest_sets_12_hour_pm)
{
	set(0x0B, 0x00); /* BCD, 12-hour */
	set(0x04, 0x80 | 0x03); /* 3 PM */
	set(0x0B, 0x02);
	cr_assert_eq(get(0x04), 0x15);
}

Test(rtc, garbage_is_ignored)
{
	set(0x00, 0xFA); /* no BCD number */
	set(0x04, 0x24); /* hour 24 */
	set(0x08, 0x13); /* month 13 */
	set(0x07, 0x00); /* day 0 */
	set(0x0B, 0x00);
	set(0x04, 0x13); /* 13 is no 12-hour value */
	set(0x0B, 0x02);
	cr_assert_eq(get(0x00), 0x05);
	cr_assert_eq(get(0x04), 0x21);
	cr_assert_eq(get(0x07), 0x23);
	cr_assert_eq(get(0x08), 0x11);
}

Test(rtc, cmos_ram_and_index)
{
	set(0x40, 0x5A);
	cr_assert_eq(get(0x40), 0x5A);
	port(0, true, 0x80 | 0x40); /* bit 7 is the NMI mask, not part of the index */
	cr_assert_eq(port(1, false, 0), 0x5A);
	set(0x7F, 0xA5);
	cr_assert_eq(get(0x7F), 0xA5);
	cr_assert_eq(port(0, false, 0), 0xFF, "the index port is write-only");
}
