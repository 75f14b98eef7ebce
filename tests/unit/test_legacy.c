/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "devices/legacy.h"

/* A machine that records what devices ask of it. */
struct fake_machine {
	int stops;
	int how; /* enum machine_end, -1 before any stop */
	int status;
	char reason[128];
};

static void fake_stop(void *opaque, enum machine_end how, int status, const char *reason)
{
	struct fake_machine *f = opaque;

	f->stops++;
	f->how = (int)how;
	f->status = status;
	strncpy(f->reason, reason ? reason : "", sizeof(f->reason) - 1);
}

static struct fake_machine fm;
static struct machine_ctl ctl;

static void setup(void)
{
	memset(&fm, 0, sizeof(fm));
	fm.status = -1;
	fm.how = -1;
	ctl = (struct machine_ctl){ fake_stop, &fm };
}

/* One access of size bytes carrying v (little-endian); returns what a read got. */
static uint64_t io(void (*fn)(void *, struct bus_access *), void *opaque, uint64_t offset,
		   unsigned size, bool is_write, uint64_t v)
{
	uint8_t data[8];
	struct bus_access a = { offset, data, size, is_write };

	memset(data, 0xCC, sizeof(data));
	if (is_write)
		bus_put(&a, v);
	fn(opaque, &a);
	return bus_get(&a);
}

/* --- kvmlab's exit port: status v, 0 stays 0 ------------------------------------ */

TestSuite(kvmlab_exit, .init = setup);

Test(kvmlab_exit, status_is_the_byte)
{
	io(kvmlab_exit_io, &ctl, 0, 1, true, 0);
	cr_assert_eq(fm.stops, 1);
	cr_assert_eq(fm.how, MACHINE_POWEROFF);
	cr_assert_eq(fm.status, 0, "0 stays 0");
	cr_assert_not_null(strstr(fm.reason, "status 0"), "%s", fm.reason);
	io(kvmlab_exit_io, &ctl, 0, 1, true, 42);
	cr_assert_eq(fm.status, 42);
	io(kvmlab_exit_io, &ctl, 0, 1, true, 255);
	cr_assert_eq(fm.status, 255);
	cr_assert_eq(io(kvmlab_exit_io, &ctl, 0, 1, false, 0), 0);
	cr_assert_eq(fm.stops, 3, "a read does not stop the VM");
}

/* --- isa-debug-exit --------------------------------------------------------- */

TestSuite(debug_exit, .init = setup);

Test(debug_exit, write_zero)
{
	io(debug_exit_io, &ctl, 0, 1, true, 0);
	cr_assert_eq(fm.stops, 1);
	cr_assert_eq(fm.how, MACHINE_POWEROFF, "debug-exit is a power switch (on_poweroff)");
	cr_assert_eq(fm.status, 1);
	cr_assert_neq(fm.reason[0], '\0');
	cr_assert_not_null(strstr(fm.reason, "debug-exit"), "%s", fm.reason);
}

Test(debug_exit, write_one)
{
	io(debug_exit_io, &ctl, 0, 1, true, 1);
	cr_assert_eq(fm.stops, 1);
	cr_assert_eq(fm.status, 3);
}

Test(debug_exit, write_0x10)
{
	io(debug_exit_io, &ctl, 0, 1, true, 0x10);
	cr_assert_eq(fm.status, 0x21);
	cr_assert_not_null(strstr(fm.reason, "0x10"), "%s", fm.reason);
}

Test(debug_exit, four_byte_write)
{
	io(debug_exit_io, &ctl, 0, 4, true, 0x7F);
	cr_assert_eq(fm.stops, 1);
	cr_assert_eq(fm.status, 0xFF);
}

Test(debug_exit, status_is_one_byte_and_odd)
{
	/* Like QEMU's, the status is what exit() would keep: 8 bits, always odd. */
	io(debug_exit_io, &ctl, 0, 4, true, 0x80);
	cr_assert_eq(fm.status, 0x01);
	io(debug_exit_io, &ctl, 0, 4, true, 0xFFFFFFFF);
	cr_assert_eq(fm.status, 0xFF);
	io(debug_exit_io, &ctl, 0, 2, true, 0x1234);
	cr_assert_eq(fm.status, 0x69);
	cr_assert_eq(fm.stops, 3);
}

Test(debug_exit, reads_do_not_stop)
{
	cr_assert_eq(io(debug_exit_io, &ctl, 0, 1, false, 0), 0);
	cr_assert_eq(io(debug_exit_io, &ctl, 0, 4, false, 0), 0);
	cr_assert_eq(fm.stops, 0);
	cr_assert_eq(fm.status, -1);
}

Test(debug_exit, no_machine)
{
	/* A NULL ctl is allowed by machine_stop(): nothing happens. */
	io(debug_exit_io, NULL, 0, 1, true, 1);
	cr_assert_eq(fm.stops, 0);
	struct machine_ctl none = { NULL, &fm };
	io(debug_exit_io, &none, 0, 1, true, 1);
	cr_assert_eq(fm.stops, 0);
}

/* --- i8042 ------------------------------------------------------------------ */

TestSuite(i8042, .init = setup);

Test(i8042, reset_command)
{
	io(i8042_io, &ctl, 0, 1, true, 0xFE);
	cr_assert_eq(fm.stops, 1);
	cr_assert_eq(fm.how, MACHINE_RESET, "the i8042 pulses the reset line (on_reboot)");
	cr_assert_eq(fm.status, 0);
	cr_assert_not_null(strstr(fm.reason, "reset"), "%s", fm.reason);
}

Test(i8042, other_commands_ignored)
{
	static const uint8_t cmds[] = { 0x00, 0x20, 0x60, 0xAA, 0xAD, 0xD1, 0xFD, 0xFF };

	for (size_t i = 0; i < sizeof(cmds); i++)
		io(i8042_io, &ctl, 0, 1, true, cmds[i]);
	cr_assert_eq(fm.stops, 0);
	cr_assert_eq(fm.status, -1);
}

Test(i8042, status_read)
{
	/* Input buffer empty (bit 1 clear: a guest about to reset moves on), output
	 * buffer stuck full (bit 0: Linux concludes there is no controller). */
	cr_assert_eq(io(i8042_io, &ctl, 0, 1, false, 0), 0x01);
	cr_assert_eq(fm.stops, 0);
}

/* --- POST port -------------------------------------------------------------- */

Test(post, read_is_all_ones)
{
	cr_assert_eq(io(post_io, NULL, 0, 1, false, 0), 0xFF);
}

Test(post, write_is_dropped)
{
	uint8_t data = 0x42;
	struct bus_access a = { 0, &data, 1, true };

	post_io(NULL, &a);
	cr_assert_eq(data, 0x42);
	cr_assert_eq(io(post_io, NULL, 0, 1, true, 0x99), 0x99);
}

/* --- through a bus, as the VM wires them ------------------------------------ */

Test(legacy, on_a_bus)
{
	struct bus pio;
	uint8_t data[4] = { 0x07, 0, 0, 0 };

	setup();
	bus_init(&pio, "pio");
	cr_assert_eq(bus_register(&pio, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, debug_exit_io, &ctl,
				  "debug-exit"), 0);
	cr_assert_eq(bus_register(&pio, I8042_CMD_PORT, 1, i8042_io, &ctl, "i8042"), 0);
	cr_assert_eq(bus_register(&pio, POST_PORT, 1, post_io, NULL, "post"), 0);

	cr_assert(bus_dispatch(&pio, POST_PORT, data, 1, false));
	cr_assert_eq(data[0], 0xFF);
	data[0] = 0x07;
	cr_assert(bus_dispatch(&pio, DEBUG_EXIT_PORT, data, 4, true));
	cr_assert_eq(fm.status, 0x0F);
	data[0] = 0xFE;
	cr_assert(bus_dispatch(&pio, I8042_CMD_PORT, data, 1, true));
	cr_assert_eq(fm.status, 0);
	cr_assert_eq(fm.stops, 2);
}
