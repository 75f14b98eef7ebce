#!/bin/bash
# Input from a pipe reaches the guest through the RX FIFO without loss, even a
# line far longer than the 16-byte FIFO; /dev/null input does not disturb it.
. "$(dirname "$0")/lib.sh"

echo "hello-world" >"$TMPDIR/line"
kv run "$TESTGUEST" --cmdline "echo exit=3" <"$TMPDIR/line"
expect_status 7
expect_out "ready>"
expect_out "got: [hello-world] (11 chars)"

head -c 5000 /dev/zero | tr '\0' 'x' >"$TMPDIR/long"
echo >>"$TMPDIR/long"
kv run "$TESTGUEST" --cmdline "echo exit=3" <"$TMPDIR/long"
expect_status 7
expect_out "(5000 chars)"

kv run "$TESTGUEST" --cmdline "exit=2" </dev/null
expect_status 5
exit 0
