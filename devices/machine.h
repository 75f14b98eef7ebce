/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_MACHINE_H
#define KVMLAB_MACHINE_H

/* How a device ends the machine: as a power switch, or as the reset line. */
enum machine_end {
	MACHINE_POWEROFF,
	MACHINE_RESET,
};

/*
 * What a device may ask of the machine as a whole: to power it off or reset
 * it, with an exit status and a reason in words. The VM decides the rest
 * (end or restart, what kvmlab says) in one place.
 */
struct machine_ctl {
	void (*stop)(void *opaque, enum machine_end how, int status, const char *reason);
	void *opaque;
};

static inline void machine_stop(const struct machine_ctl *c, enum machine_end how, int status,
				const char *reason)
{
	if (c && c->stop)
		c->stop(c->opaque, how, status, reason);
}

#endif
