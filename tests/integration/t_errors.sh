#!/bin/bash
# Bad input from users: one clear message and a non-zero status, never a hang.
. "$(dirname "$0")/lib.sh"

kv run "$TMPDIR/no-such-kernel"
expect_status 1
expect_err "cannot open kernel '$TMPDIR/no-such-kernel': No such file or directory"

head -c 100 "$TESTGUEST" >"$TMPDIR/truncated.elf"
kv run "$TMPDIR/truncated.elf"
expect_status 1
expect_err "corrupt ELF"

echo "just some text, not a kernel" >"$TMPDIR/notes.txt"
kv run "$TMPDIR/notes.txt"
expect_status 1
expect_err "not a kernel kvmlab knows"

kv run --mem 1M "$TESTGUEST"
expect_status 2
expect_err "too little"

head -c 3M /dev/zero >"$TMPDIR/big-initrd"
kv run --mem 2M --initrd "$TMPDIR/big-initrd" "$TESTGUEST"
expect_status 1
expect_err "does not fit in guest RAM"

kv run --mem lots "$TESTGUEST"
expect_status 2
expect_err "--mem: 'lots' is not a size"

kv run --frobnicate
expect_status 2
expect_err "unknown option '--frobnicate'"

KVMLAB_KVM_DEVICE=$TMPDIR/no-kvm kv run "$TESTGUEST"
expect_status 69
expect_err "does not exist"
expect_err "kvmlab doctor"

KVMLAB_KVM_DEVICE=/dev/null kv run "$TESTGUEST"
expect_status 69
expect_err "not a KVM device"
exit 0
