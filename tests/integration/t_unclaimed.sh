#!/bin/bash
# Accesses nobody claims: reads give all-ones, writes vanish, the VM goes on;
# --debug names them; string I/O with count > 1 goes through the bus.
. "$(dirname "$0")/lib.sh"

kv run "$TESTGUEST" --cmdline "mmio ports rep exit=4"
expect_status 9
expect_out "mmio: read 0xffffffff, after write 0xffffffff"
expect_out "ports: unclaimed port read 0xff"
expect_out "rep: hello through string I/O"

kv run --debug "$TESTGUEST" --cmdline "mmio ports exit=4"
expect_status 9
expect_err "unclaimed MMIO read of 0xd0000000 (4 bytes)"
expect_err "unclaimed MMIO write to 0xd0000000"
expect_err "unclaimed port read of 0x3000"
exit 0
