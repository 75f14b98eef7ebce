#!/bin/bash
# tests/integration/run.sh [--list] [--from NAME] [FILTER...] — run the integration tests, tests/integration/t_*.sh, in name order.
#
# Needs a usable /dev/kvm: tests/integration/launch.sh decides whether to call this directly or inside
# the nested L1 (tests/nested/l1.sh). Each test is a bash script that exits 0 on success. It gets:
#   KVMLAB   absolute path of build/kvmlab       GUESTS  absolute path of build/guest
#   REPO     the repository root                 TMPDIR  a fresh empty directory of its own, also its cwd
#   stdin    /dev/null
# and is killed after KVMLAB_TEST_TIMEOUT seconds (default 300): a hang guard, not a performance bound
# (under the nested emulator a guest exit costs ~80 µs, so be generous).
# FILTERs select tests whose name (e.g. t_serial) contains any of them; `--from NAME` skips the tests
# whose name sorts before NAME (tests/integration/launch.sh resumes with it after the nested Linux froze);
# --list prints the selected names instead of running them.
# A test that even SIGKILL does not end (a process stuck in the kernel) is reported as failed, with
# the stuck processes' kernel stacks, 30 s after its time ran out, and the run goes on.
#
# Output: `ok   NAME (Xs)` or `FAIL NAME (Xs)` plus the failing test's output indented, then the line
# `N passed, N failed`. Exit status 0 iff nothing failed (and something ran, when filters were given).
set -euo pipefail

here=${BASH_SOURCE[0]%/*}
[ "$here" != "${BASH_SOURCE[0]}" ] || here=.
repo=$(cd "$here/../.." && pwd -P)
export KVMLAB=$repo/build/kvmlab GUESTS=$repo/build/guest REPO=$repo
limit=${KVMLAB_TEST_TIMEOUT:-300}
from=
list=0
if [ "${1:-}" = --list ]; then list=1; shift; fi
if [ "${1:-}" = --from ]; then
    [ $# -ge 2 ] || { echo "usage: $0 [--from NAME] [FILTER...]" >&2; exit 2; }
    from=$2
    shift 2
fi

tests=()
for t in "$repo"/tests/integration/t_*.sh; do # glob order is sorted
    [ -e "$t" ] || continue
    name=${t##*/} name=${name%.sh}
    [[ -z "$from" || ! "$name" < "$from" ]] || continue
    if [ $# -gt 0 ]; then
        keep=0
        for f in "$@"; do [[ "$name" == *"$f"* ]] && keep=1; done
        [ $keep = 1 ] || continue
    fi
    tests+=("$t")
done
if { [ $# -gt 0 ] || [ -n "$from" ]; } && [ ${#tests[@]} = 0 ]; then
    echo "no integration test matches: ${from:+--from $from }$*" >&2
    exit 1
fi

if [ $list = 1 ]; then
    for t in "${tests[@]}"; do name=${t##*/}; echo "${name%.sh}"; done
    exit 0
fi

# Few processes per test: under the nested emulator each one started costs ~0.15 s.
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmlab-it.XXXXXX")
trap 'rm -rf "$work"' EXIT
dirs=()
for t in "${tests[@]}"; do name=${t##*/}; dirs+=("$work/${name%.sh}/tmp"); done
[ ${#dirs[@]} = 0 ] || mkdir -p "${dirs[@]}"

# What is left of a test that SIGKILL did not end: its processes in uninterruptible sleep, with their
# kernel stacks (readable as root, as in the nested Linux).
stuck_report() {
    local p t n=0
    echo "not ended $((limit + 30))s after it started, though SIGKILL was sent at $((limit + 10))s:"
    echo "a process is stuck in the kernel; left behind. Processes in state D:"
    for p in /proc/[0-9]*; do
        [ "$(sed 's/.*) //; s/ .*//' "$p/stat" 2>/dev/null)" = D ] || continue # (the state follows "(comm) ")
        echo "  pid ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
        n=$((n + 1))
        for t in "$p"/task/*; do sed 's/^/      /' "$t/stack" 2>/dev/null || true; done
    done
    [ $n -gt 0 ] || echo "  (none now: it may have ended just after the deadline)"
}

passed=0 failed=0
for t in "${tests[@]}"; do
    name=${t##*/} name=${name%.sh}
    dir=$work/$name
    start=${EPOCHREALTIME//[.,]/}
    # The log lives outside the test's TMPDIR, which the test may empty. timeout signals the test's whole
    # process group, so a hung kvmlab started by the test goes too; the sleep is the guard behind it.
    (cd "$dir/tmp" && TMPDIR=$dir/tmp exec timeout -k 10 "$limit" bash "$t") </dev/null >"$dir/log" 2>&1 &
    tpid=$!
    sleep $((limit + 30)) &
    gpid=$!
    rc=0 first=
    wait -n -p first "$tpid" "$gpid" || rc=$?
    if [ "$first" = "$gpid" ]; then
        rc=stuck
        stuck_report >>"$dir/log"
    else
        kill "$gpid" 2>/dev/null || true
        wait "$gpid" 2>/dev/null || true
    fi
    ds=$(((${EPOCHREALTIME//[.,]/} - start) / 100000)) # tenths of a second
    secs=$((ds / 10)).$((ds % 10))
    if [ $rc = 0 ]; then
        echo "ok   $name (${secs}s)"
        passed=$((passed + 1))
    else
        echo "FAIL $name (${secs}s)"
        case $rc in
            124 | 137) echo "killed after ${limit}s (hang guard)" >>"$dir/log" ;;
            stuck) ;;
            *) echo "exit status $rc" >>"$dir/log" ;;
        esac
        while IFS= read -r line || [ -n "$line" ]; do echo "    $line"; done <"$dir/log"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ $failed = 0 ]
