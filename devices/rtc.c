// SPDX-License-Identifier: MIT
/*
 * CMOS RTC. Linux reads it once at boot for the wall-clock time (and
 * `hwclock` later); without it, rtc_cmos waits seconds for an update that
 * never ends before it gives up, and the guest believes it is 1970.
 */
#include <string.h>

#include "devices/rtc.h"

enum {
	REG_SEC = 0x00, REG_MIN = 0x02, REG_HOUR = 0x04, REG_WDAY = 0x06, REG_MDAY = 0x07,
	REG_MON = 0x08, REG_YEAR = 0x09, REG_A = 0x0A, REG_B = 0x0B, REG_C = 0x0C, REG_D = 0x0D,
	REG_CENTURY = 0x32,
};

#define A_UIP 0x80     /* update in progress: never set here */
#define B_24H 0x02     /* hours 0-23 (else 1-12 with 0x80 for PM) */
#define B_BINARY 0x04  /* binary values (else BCD) */
#define D_VRT 0x80     /* valid RAM and time: the battery is fine */
#define HOUR_PM 0x80

static time_t host_time(void)
{
	return time(NULL);
}

void rtc_init(struct rtc *r, time_t (*clock)(void))
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->clock = clock ? clock : host_time;
	r->ram[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate: a PC's usual */
	r->ram[REG_B] = B_24H; /* BCD, 24-hour, as a PC BIOS leaves it */
}

void rtc_destroy(struct rtc *r)
{
	pthread_mutex_destroy(&r->lock);
}

static uint8_t encode(const struct rtc *r, int v)
{
	if (r->ram[REG_B] & B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* A value the guest wrote, or -1 if it is no number in the current mode. */
static int decode(const struct rtc *r, uint8_t v)
{
	if (r->ram[REG_B] & B_BINARY)
		return v;
	if ((v >> 4) > 9 || (v & 0xF) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0xF);
}

static void now(const struct rtc *r, struct tm *tm)
{
	time_t t = (time_t)((int64_t)r->clock() + r->offset);

	gmtime_r(&t, tm);
}

static uint8_t read_hour(const struct rtc *r, int h)
{
	if (r->ram[REG_B] & B_24H)
		return encode(r, h);
	return encode(r, h % 12 ? h % 12 : 12) | (h >= 12 ? HOUR_PM : 0);
}

static uint8_t read_reg(const struct rtc *r, uint8_t reg)
{
	struct tm tm;

	now(r, &tm);
	switch (reg) {
	case REG_SEC: return encode(r, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case REG_MIN: return encode(r, tm.tm_min);
	case REG_HOUR: return read_hour(r, tm.tm_hour);
	case REG_WDAY: return encode(r, tm.tm_wday + 1);
	case REG_MDAY: return encode(r, tm.tm_mday);
	case REG_MON: return encode(r, tm.tm_mon + 1);
	case REG_YEAR: return encode(r, (tm.tm_year + 1900) % 100);
	case REG_CENTURY: return encode(r, (tm.tm_year + 1900) / 100);
	case REG_A: return r->ram[REG_A] & ~A_UIP;
	case REG_C: return 0;
	case REG_D: return D_VRT;
	default: return r->ram[reg];
	}
}

/* The hour register's value in 0-23, or -1. */
static int decode_hour(const struct rtc *r, uint8_t v)
{
	int h;

	if (r->ram[REG_B] & B_24H)
		return decode(r, v);
	h = decode(r, v & ~HOUR_PM);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + (v & HOUR_PM ? 12 : 0);
}

/* The guest sets one field of the clock: keep the difference as an offset. */
static void write_time(struct rtc *r, uint8_t reg, uint8_t v)
{
	struct tm tm;
	time_t before, after;
	int n = reg == REG_HOUR ? decode_hour(r, v) : decode(r, v);

	static const struct { uint8_t reg; int lo, hi; } range[] = {
		{ REG_SEC, 0, 59 }, { REG_MIN, 0, 59 }, { REG_HOUR, 0, 23 }, { REG_MDAY, 1, 31 },
		{ REG_MON, 1, 12 }, { REG_YEAR, 0, 99 }, { REG_CENTURY, 0, 99 },
	};

	for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++)
		if (range[i].reg == reg && (n < range[i].lo || n > range[i].hi))
			n = -1;
	if (n < 0)
		return; /* no number, or out of range: ignored, as garbage */
	now(r, &tm);
	before = timegm(&tm);
	switch (reg) {
	case REG_SEC: tm.tm_sec = n; break;
	case REG_MIN: tm.tm_min = n; break;
	case REG_HOUR: tm.tm_hour = n; break;
	case REG_MDAY: tm.tm_mday = n; break;
	case REG_MON: tm.tm_mon = n - 1; break;
	case REG_YEAR: tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + n - 1900; break;
	case REG_CENTURY: tm.tm_year = n * 100 + (tm.tm_year + 1900) % 100 - 1900; break;
	default: return; /* the weekday follows from the date */
	}
	after = timegm(&tm);
	if (after != (time_t)-1)
		r->offset += (int64_t)after - (int64_t)before;
}

static void write_reg(struct rtc *r, uint8_t reg, uint8_t v)
{
	switch (reg) {
	case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY: case REG_MDAY:
	case REG_MON: case REG_YEAR: case REG_CENTURY:
		write_time(r, reg, v);
		break;
	case REG_A:
		r->ram[REG_A] = v & ~A_UIP;
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		r->ram[reg] = v;
	}
}

void rtc_io(void *opaque, struct bus_access *a)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	if (a->offset == 0) {
		/* Index port; bit 7 masks NMIs on a PC, which nothing here raises. */
		if (a->is_write)
			r->index = bus_get(a) & 0x7F;
		else
			bus_put(a, 0xFF); /* write-only on real hardware */
	} else if (a->is_write) {
		write_reg(r, r->index, (uint8_t)bus_get(a));
	} else {
		bus_put(a, read_reg(r, r->index));
	}
	pthread_mutex_unlock(&r->lock);
}
