// SPDX-License-Identifier: MIT
/* Port 0x80: firmware and Linux write POST codes or use it as an I/O delay. */
#include "devices/legacy.h"

void post_io(void *unused, struct bus_access *a)
{
	(void)unused;
	if (!a->is_write)
		bus_put(a, 0xFF);
}
