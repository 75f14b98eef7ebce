/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_MACHINE_H
#define KVMLAB_MACHINE_H

/*
 * What a device may ask of the machine as a whole: to end the VM with an
 * exit status and a reason in words. The VM decides the rest in one place.
 */
struct machine_ctl {
	void (*stop)(void *opaque, int status, const char *reason);
	void *opaque;
};

static inline void machine_stop(const struct machine_ctl *c, int status, const char *reason)
{
	if (c && c->stop)
		c->stop(c->opaque, status, reason);
}

#endif
