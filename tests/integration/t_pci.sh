#!/bin/bash
# PCI bus 0 as a guest's firmware or kernel sees it through ports 0xCF8/0xCFC:
# the host bridge, a virtio-blk function per --disk with BAR0 in the MMIO
# window, its capabilities, its capacity through the device configuration;
# the reset register 0xCF9; and what kvmlab says about disks it cannot use.
. "$(dirname "$0")/lib.sh"

kv run "$TESTGUEST" --cmdline "pci exit=0"
expect_status 1
expect_out "pci: slot 0 8086:1237 class 60000 bar0 0x0 size 0x0"
expect_no_out "pci: slot 1 "
expect_out "pci: slot 0 on bus 1 reads 0xffffffff"

truncate -s 1M "$TMPDIR/a.img"
truncate -s 3M "$TMPDIR/b.img"
kv run "$TESTGUEST" --cmdline "pci exit=0" --disk "$TMPDIR/a.img" --disk "$TMPDIR/b.img,readonly"
expect_status 1
expect_out "pci: slot 1 1af4:1042 class 18000 bar0 0xc0000000 size 0x"
expect_out "pci: slot 2 1af4:1042 class 18000 bar0 0xc"
expect_out "pci:   cap 0x11"                       # MSI-X
for type in 1 2 3 4; do expect_out "pci:   virtio cap type $type at 0x"; done
expect_out "pci:   virtio-blk capacity 2048 sectors"
expect_out "pci:   virtio-blk capacity 6144 sectors"
expect_no_out "pci: slot 3 "

kv run "$TESTGUEST" --cmdline "pcireset"
expect_status 0

# --- disks kvmlab cannot use: one line, status 1, before the guest runs -----------------------
kv run "$TESTGUEST" --disk "$TMPDIR/none.img"
expect_status 1
expect_err "$TMPDIR/none.img"
expect_err "No such file or directory"

head -c 1000 /dev/zero >"$TMPDIR/odd.img"
kv run "$TESTGUEST" --disk "$TMPDIR/odd.img"
expect_status 1
expect_err "512"

# Another process holds the image: flock(1) takes the same lock kvmlab does.
flock -x "$TMPDIR/a.img" sleep 30 &
locker=$!
sleep 0.5
kv run "$TESTGUEST" --disk "$TMPDIR/a.img"
expect_status 1
expect_err "in use"
expect_no_out "testguest: hello"
# A read-only disk shares the lock with other readers, never with a writer.
kv run "$TESTGUEST" --disk "$TMPDIR/a.img,readonly" --cmdline "exit=0"
expect_status 1
expect_err "in use"
expect_no_out "testguest: hello"
kill $locker; wait $locker 2>/dev/null
flock -s "$TMPDIR/b.img" sleep 30 &
locker=$!
sleep 0.5
kv run "$TESTGUEST" --disk "$TMPDIR/b.img,readonly" --cmdline "exit=0"
expect_status 1 # (0 << 1) | 1
expect_out "testguest: hello"
kv run "$TESTGUEST" --disk "$TMPDIR/b.img" --cmdline "exit=0"
expect_status 1
expect_err "in use"
expect_no_out "testguest: hello"
kill $locker; wait $locker 2>/dev/null

kv run "$TESTGUEST" --disk "$TMPDIR/a.img,bogus"
expect_status 2
expect_err "unknown option 'bogus'"
exit 0
