#!/bin/bash
# tests/integration/run.sh [FILTER...] — run the integration tests, tests/integration/t_*.sh, in name order.
#
# Needs a usable /dev/kvm: tests/integration/launch.sh decides whether to call this directly or inside
# the nested L1 (tests/nested/l1.sh). Each test is a bash script that exits 0 on success. It gets:
#   KVMLAB   absolute path of build/kvmlab       GUESTS  absolute path of build/guest
#   REPO     the repository root                 TMPDIR  a fresh empty directory of its own, also its cwd
#   stdin    /dev/null
# and is killed after KVMLAB_TEST_TIMEOUT seconds (default 300): a hang guard, not a performance bound
# (under the nested emulator a guest exit costs ~80 µs, so be generous).
# FILTERs select tests whose name (e.g. t_serial) contains any of them.
#
# Output: `ok   NAME (Xs)` or `FAIL NAME (Xs)` plus the failing test's output indented, then the line
# `N passed, N failed`. Exit status 0 iff nothing failed (and something ran, when filters were given).
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
repo=$(cd "$here/../.." && pwd -P)
export KVMLAB=$repo/build/kvmlab GUESTS=$repo/build/guest REPO=$repo
limit=${KVMLAB_TEST_TIMEOUT:-300}

tests=()
for t in "$repo"/tests/integration/t_*.sh; do # glob order is sorted
    [ -e "$t" ] || continue
    name=${t##*/} name=${name%.sh}
    if [ $# -gt 0 ]; then
        keep=0
        for f in "$@"; do [[ "$name" == *"$f"* ]] && keep=1; done
        [ $keep = 1 ] || continue
    fi
    tests+=("$t")
done
if [ $# -gt 0 ] && [ ${#tests[@]} = 0 ]; then
    echo "no integration test matches: $*" >&2
    exit 1
fi

# Few processes per test: under the nested emulator each one started costs ~0.15 s.
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmlab-it.XXXXXX")
trap 'rm -rf "$work"' EXIT
dirs=()
for t in "${tests[@]}"; do name=${t##*/}; dirs+=("$work/${name%.sh}/tmp"); done
[ ${#dirs[@]} = 0 ] || mkdir -p "${dirs[@]}"

passed=0 failed=0
for t in "${tests[@]}"; do
    name=${t##*/} name=${name%.sh}
    dir=$work/$name
    start=${EPOCHREALTIME//[.,]/}
    rc=0
    # The log lives outside the test's TMPDIR, which the test may empty. timeout signals the test's whole
    # process group, so a hung kvmlab started by the test goes too.
    (cd "$dir/tmp" && TMPDIR=$dir/tmp exec timeout -k 10 "$limit" bash "$t") </dev/null >"$dir/log" 2>&1 || rc=$?
    ds=$(((${EPOCHREALTIME//[.,]/} - start) / 100000)) # tenths of a second
    secs=$((ds / 10)).$((ds % 10))
    if [ $rc = 0 ]; then
        echo "ok   $name (${secs}s)"
        passed=$((passed + 1))
    else
        echo "FAIL $name (${secs}s)"
        case $rc in
            124 | 137) echo "killed after ${limit}s (hang guard)" >>"$dir/log" ;;
            *) echo "exit status $rc" >>"$dir/log" ;;
        esac
        while IFS= read -r line || [ -n "$line" ]; do echo "    $line"; done <"$dir/log"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ $failed = 0 ]
