#!/bin/bash
# The test guest prints through the UART and ends through isa-debug-exit:
# kvmlab's status is (v << 1) | 1, QEMU's convention.
. "$(dirname "$0")/lib.sh"

kv run --cmdline "exit=5" "$TESTGUEST"
expect_status 11
expect_out "testguest: hello, cmdline [exit=5]"

kv run --kernel "$TESTGUEST" --cmdline "exit=0"
expect_status 1

# Secondary vCPUs wait for a SIPI that never comes, blocked inside KVM_RUN:
# the VM must still end at once, with the boot CPU's status.
kv run --cpus 4 "$TESTGUEST" --cmdline "exit=5"
expect_status 11

kv run "$TESTGUEST" --cmdline "exit=127"
expect_status 255
[ -s "$ERR" ] && fail "a guest-requested exit should print nothing on stderr"

# kvmlab's own exit port 0x501: the status is the byte, 0 stays 0.
kv run "$TESTGUEST" --cmdline "status=0 exit=9"
expect_status 0
kv run "$TESTGUEST" --cmdline "status=42 exit=9"
expect_status 42
[ -s "$ERR" ] && fail "a guest-requested exit should print nothing on stderr"
exit 0
