/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_LEGACY_H
#define KVMLAB_LEGACY_H

/*
 * The few legacy PC ports a guest expects besides the UART. Each is a bus
 * callback whose opaque is a struct machine_ctl (or NULL where unused).
 */
#include "devices/machine.h"
#include "vmm/bus.h"

/* isa-debug-exit: a write of v powers the VM off with status (v << 1) | 1. */
#define DEBUG_EXIT_PORT 0xF4
#define DEBUG_EXIT_LEN 4
void debug_exit_io(void *ctl, struct bus_access *a);

/*
 * kvmlab's own power switch: a byte write of v ends the VM and kvmlab exits
 * with status v, as a program's exit status is (0 stays 0). The teaching
 * kernel ends the VM this way when its first program exits.
 */
#define KVMLAB_EXIT_PORT 0x501
void kvmlab_exit_io(void *ctl, struct bus_access *a);

/* The keyboard controller's command port: 0xFE pulses the CPU reset line; no keyboard. */
#define I8042_CMD_PORT 0x64
void i8042_io(void *ctl, struct bus_access *a);

/* POST codes: accepted and dropped. */
#define POST_PORT 0x80
void post_io(void *unused, struct bus_access *a);

#endif
