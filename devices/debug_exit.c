// SPDX-License-Identifier: MIT
/*
 * Two power switches with a status (to the machine, a poweroff: libvirt's
 * on_poweroff applies):
 *  - isa-debug-exit, with QEMU's convention: writing v ends the VM and the
 *    VMM exits with (v << 1) | 1, so a test guest can never fake a success;
 *  - kvmlab's exit port: writing v ends the VM with status v, for guests
 *    whose exit status is a program's (the teaching kernel).
 */
#include <stdio.h>

#include "devices/legacy.h"

void debug_exit_io(void *ctl, struct bus_access *a)
{
	char reason[64];
	uint64_t v;

	if (!a->is_write) {
		bus_put(a, 0);
		return;
	}
	v = bus_get(a);
	snprintf(reason, sizeof(reason), "guest wrote 0x%llx to the debug-exit port",
		 (unsigned long long)v);
	machine_stop(ctl, MACHINE_POWEROFF, (int)(((v << 1) | 1) & 0xFF), reason);
}

void kvmlab_exit_io(void *ctl, struct bus_access *a)
{
	char reason[64];
	unsigned v;

	if (!a->is_write) {
		bus_put(a, 0);
		return;
	}
	v = (unsigned)(bus_get(a) & 0xFF);
	snprintf(reason, sizeof(reason), "guest exited with status %u (port 0x501)", v);
	machine_stop(ctl, MACHINE_POWEROFF, (int)v, reason);
}
