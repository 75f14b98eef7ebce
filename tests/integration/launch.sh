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

# The emulated machine itself has frozen now and then: its timer interrupt lost (docs/testing.md,
# "Where they run"). l1.sh wakes it with an NMI, and if that does not help, stops it after
# KVMLAB_L1_STALL seconds; we then boot a fresh L1 and go on from the test that was running, said
# loudly. Freezes came 0-3 times a run here (2026-12-02), in no one test: a test during which the
# L1 freezes a sixth time fails the run, and so does an eleventh in all.
names=$("$run" --list "$@") # fails, with its message, if no test matches
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmlab-launch.XXXXXX")
trap 'rm -rf "$work"' EXIT
deadline=$(($(date +%s) + ${KVMLAB_L1_TIMEOUT:-3600}))
from=() frozen_in=() restarts=0 passed=0 failed=0
while :; do
    left=$((deadline - $(date +%s)))
    [ $left -gt 0 ] || { echo "launch: no time left of KVMLAB_L1_TIMEOUT for another nested Linux" >&2; exit 125; }
    : >"$work/error"
    set +e
    KVMLAB_L1_ERROR_FILE=$work/error "$repo/tests/nested/l1.sh" --timeout "$left" -- \
        "$run" "${from[@]}" "$@" | tee "$work/out"
    rc=${PIPESTATUS[0]}
    set -e
    passed=$((passed + $(grep -c '^ok   t_' "$work/out" || true)))
    failed=$((failed + $(grep -c '^FAIL t_' "$work/out" || true)))
    if [ "$rc" != 125 ] || ! grep -q '^the L1 froze while the command ran' "$work/error"; then break; fi
    # The test that was running: the first of ours not reported in this round's output.
    done_now=$(sed -n 's/^\(ok  \|FAIL\) \(t_[^ ]*\).*/\2/p' "$work/out")
    now=
    for n in $names; do
        [[ -n "${from[*]}" && "$n" < "${from[1]}" ]] && continue
        grep -qx -- "$n" <<<"$done_now" || { now=$n; break; }
    done
    [ -n "$now" ] || break
    same=0
    for f in "${frozen_in[@]}"; do [ "$f" != "$now" ] || same=$((same + 1)); done
    if [ $same = 5 ]; then
        echo "launch: the nested Linux froze six times during $now; giving up" >&2
        exit 125
    fi
    frozen_in+=("$now")
    if [ $restarts = 10 ]; then echo "launch: the nested Linux froze eleven times; giving up" >&2; exit 125; fi
    restarts=$((restarts + 1))
    echo "launch: the nested Linux froze during $now; booting a fresh one to run $now and what follows"
    from=(--from "$now")
done
if [ $restarts -gt 0 ]; then
    echo "in all: $passed passed, $failed failed (the nested Linux froze during ${frozen_in[*]} and was restarted)"
fi
exit "$rc"
