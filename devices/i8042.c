// SPDX-License-Identifier: MIT
/*
 * Just enough of the i8042 keyboard controller for a guest to reset the
 * machine: command 0xFE on port 0x64. Status reads say "input buffer empty,
 * no data", so a guest that waits for the controller before sending the
 * command does not spin.
 */
#include "devices/legacy.h"

#define I8042_CMD_RESET 0xFE

void i8042_io(void *ctl, struct bus_access *a)
{
	if (!a->is_write) {
		bus_put(a, 0);
		return;
	}
	if ((bus_get(a) & 0xFF) == I8042_CMD_RESET)
		machine_stop(ctl, MACHINE_RESET, 0,
			     "guest reset the machine via the keyboard controller");
}
