/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_RTC_H
#define KVMLAB_RTC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "vmm/bus.h"

/*
 * The PC's CMOS real-time clock (an MC146818): an index port and a data port.
 * The time is the host's (UTC) plus whatever the guest set; update-in-progress
 * is never seen, because each read computes the time afresh. No interrupts
 * (periodic, alarm, update): register C always reads 0.
 */
#define RTC_PORT 0x70
#define RTC_LEN 2

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;	 /* register selected through port 0x70 */
	uint8_t ram[128]; /* registers and CMOS bytes not computed from the clock */
	int64_t offset;	 /* seconds the guest moved its clock from the host's */
	time_t (*clock)(void); /* the host's time; tests replace it */
};

/* clock NULL: time(NULL). */
void rtc_init(struct rtc *r, time_t (*clock)(void));
void rtc_destroy(struct rtc *r);
void rtc_io(void *rtc, struct bus_access *a);

#endif
