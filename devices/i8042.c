// SPDX-License-Identifier: MIT
/*
 * Just enough of the i8042 keyboard controller for a guest to reset the
 * machine: command 0xFE on port 0x64. Status reads 0x01: input buffer empty,
 * so a guest that waits for the controller before sending the command goes on
 * at once; output buffer full for good (the data port reads all-ones), which
 * is how Linux's driver tells that no working controller is there ("No
 * controller found", after 16 reads) instead of waiting ~1 s for answers to
 * its probe commands.
 */
#include "devices/legacy.h"

#define I8042_CMD_RESET 0xFE
#define I8042_STATUS_OBF 0x01

void i8042_io(void *ctl, struct bus_access *a)
{
	if (!a->is_write) {
		bus_put(a, I8042_STATUS_OBF);
		return;
	}
	if ((bus_get(a) & 0xFF) == I8042_CMD_RESET)
		machine_stop(ctl, MACHINE_RESET, 0,
			     "guest reset the machine via the keyboard controller");
}
