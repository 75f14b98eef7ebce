#!/bin/bash
# tests/integration/launch.sh [FILTER...] — run the integration tests where a real KVM is: here when
# /dev/kvm can be opened read-write, otherwise inside a nested Linux under QEMU's emulator
# (tests/nested/l1.sh), which offers a real /dev/kvm on emulated AMD SVM. Same tests either way.
# KVMLAB_FORCE_NESTED=1 takes the nested path even where /dev/kvm works (to test that path).
# KVMLAB_L1_TIMEOUT (default 3600 s) bounds the whole nested run; CI allows 90 minutes in all.
# Exit status: that of tests/integration/run.sh; 125 if the nested Linux itself failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$repo" # the L1 starts in the directory it was called from
run=$repo/tests/integration/run.sh

# Inside the L1 already (KVMLAB_NESTED=1): never nest again.
if [ "${KVMLAB_NESTED:-0}" = 1 ]; then exec "$run" "$@"; fi

reason=
if [ "${KVMLAB_FORCE_NESTED:-0}" = 1 ]; then
    reason="KVMLAB_FORCE_NESTED=1"
elif [ ! -e /dev/kvm ]; then
    reason="/dev/kvm does not exist"
elif [ ! -c /dev/kvm ]; then # checked before opening: bash's <> would create a missing one as a plain file
    reason="/dev/kvm is not a character device"
elif ! err=$( (exec 3<>/dev/kvm) 2>&1); then
    reason="cannot open /dev/kvm: ${err##*: }"
fi
if [ -z "$reason" ]; then exec "$run" "$@"; fi

echo "no usable /dev/kvm here ($reason): running the integration tests inside a nested Linux under QEMU's emulator"
exec "$repo/tests/nested/l1.sh" --timeout "${KVMLAB_L1_TIMEOUT:-3600}" -- "$run" "$@"
