#!/bin/bash
# scripts/run.sh [ARGS...] — behind `make run`: run `build/kvmlab run ARGS...` (no ARGS: the built-in
# teaching kernel, which starts its shell: `make run ARGS='--cmdline "init=/bin/sched 3"'` runs one
# experiment instead) on this machine's KVM, or,
# where there is none, inside a nested Linux under QEMU's emulator (tests/nested/l1.sh), with this terminal
# wired to the VM's console so it stays interactive (Ctrl-C goes to kvmlab, not to QEMU).
# kvmlab exits with status 69 (EX_UNAVAILABLE) exactly when it cannot use /dev/kvm, after saying why;
# any other status is kvmlab's own and is passed on. In the nested case the status is kvmlab's there,
# or 125 if the nested Linux itself failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
kvmlab=$repo/build/kvmlab
l1=$repo/tests/nested/l1.sh

if [ "${KVMLAB_NESTED:-0}" = 1 ]; then exec "$kvmlab" run "$@"; fi # inside the L1: never nest again
if [ "${KVMLAB_FORCE_NESTED:-0}" != 1 ]; then
    rc=0
    "$kvmlab" run "$@" || rc=$?
    [ $rc = 69 ] || exit $rc
fi

echo "running it inside a nested Linux under QEMU's emulator instead (slow: expect ~$("$l1" --boot-seconds) s to boot)" >&2
exec "$l1" --interactive -- "$kvmlab" run "$@"
