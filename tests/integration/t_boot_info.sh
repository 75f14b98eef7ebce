#!/bin/bash
# What the PVH start info tells the guest: the memory map for --mem (with the
# part above 4 GiB when RAM passes the 3 GiB hole), the command line, the initrd.
. "$(dirname "$0")/lib.sh"

kv run --mem 64M "$TESTGUEST" --cmdline "memmap exit=1"
expect_status 3
# 640 KiB below the legacy hole + 63 MiB from 1 MiB up.
expect_out "memmap: ram 65152 KiB"
expect_out "memmap: 00000000000a0000-00000000000fffff type 2"

kv run --mem 3584M "$TESTGUEST" --cmdline "memmap exit=1"
expect_status 3
expect_out "memmap: 0000000100000000-000000011fffffff type 1"
expect_out "memmap: ram $(( 640 + (3072 - 1) * 1024 + 512 * 1024 )) KiB"

printf 'hello-initrd\nsecond line\n' >"$TMPDIR/initrd"
kv run --initrd "$TMPDIR/initrd" "$TESTGUEST" --cmdline "initrd exit=1"
expect_status 3
expect_out "initrd: 25 bytes at 0x"
expect_out ": hello-initrd"
exit 0
