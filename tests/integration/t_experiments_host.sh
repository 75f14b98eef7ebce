#!/bin/bash
# The experiment programs (guest/user/, docs/experiments.md) on the Linux this test runs on — the nested
# L1 or any host; no KVM needed — show the book's phenomena (the checks: experiments.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/experiments.sh"
: "${REPO:?}"
BIN=$REPO/build/user
for p in fork fork-exec zombie orphan intignore sched sched-nice demand-paging cow shm mmap cache; do
	[ -x "$BIN/$p" ] || fail "$BIN/$p is missing: run make all first"
done

# ex NAME [ARGS...]: run build/user/NAME; stdout to $OUT (and $TMPDIR/NAME.out), must exit 0.
ex() {
	local name=$1 t0=${EPOCHREALTIME/[.,]/}
	shift
	status=0
	"$BIN/$name" "$@" >"$OUT" 2>"$ERR" || status=$?
	cp "$OUT" "$TMPDIR/$name.out"
	echo "$name${*:+ $*}: $(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) ms"
	[ "$status" = 0 ] || fail "$name $* exited with $status"
}

check_fork
check_fork_exec
check_zombie
check_orphan
check_intignore
check_sched
check_sched_nice
check_demand_paging
check_cow
check_shm
check_mmap "$TMPDIR/mapped.txt" cat
check_cache
exit 0
