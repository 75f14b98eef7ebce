// SPDX-License-Identifier: MIT
/*
 * isa-debug-exit, with QEMU's convention: writing v ends the VM and the VMM
 * exits with (v << 1) | 1, so a test guest can never fake a plain success.
 * To the machine it is a power switch (libvirt's on_poweroff applies).
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
