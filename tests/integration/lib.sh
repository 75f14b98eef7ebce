# Sourced by every integration test. The runner sets KVMLAB (the binary),
# GUESTS (build/guest), REPO and a private TMPDIR.
set -u
: "${KVMLAB:?}" "${GUESTS:?}" "${TMPDIR:?}"
TESTGUEST=$GUESTS/testguest.elf
OUT=$TMPDIR/out
ERR=$TMPDIR/err

fail() {
	echo "FAIL: $*"
	echo "--- stdout:"; sed -n '1,40p' "$OUT" 2>/dev/null
	echo "--- stderr:"; sed -n '1,40p' "$ERR" 2>/dev/null
	exit 1
}

# kv [ARGS...]: run kvmlab with stdin from /dev/null unless redirected by the
# caller; stdout to $OUT, stderr to $ERR, exit status to $status.
kv() {
	status=0
	"$KVMLAB" "$@" >"$OUT" 2>"$ERR" || status=$?
}

expect_status() { [ "$status" -eq "$1" ] || fail "exit status $status, expected $1"; }
expect_out() { grep -qF -- "$1" "$OUT" || fail "stdout lacks: $1"; }
expect_err() { grep -qF -- "$1" "$ERR" || fail "stderr lacks: $1"; }
expect_no_out() { ! grep -qF -- "$1" "$OUT" || fail "stdout has: $1"; }

# --- typing at the guest's console -----------------------------------------------------------------
# Keys go into a FIFO that is kvmlab's stdin, each only after the guest printed what comes before them
# (its prompt): input typed earlier would be taken by an earlier read, or flushed by ^C.
# console_start ARGS...: `kvmlab run ARGS` in the background reading the FIFO (fd 3 writes it), output
# to $OUT and $ERR; $vm is its pid. The FIFO is opened read-write: the open cannot block.
console_start() {
	rm -f "$TMPDIR/in"
	mkfifo "$TMPDIR/in"
	"$KVMLAB" run "$@" <"$TMPDIR/in" >"$OUT" 2>"$ERR" &
	vm=$!
	exec 3<>"$TMPDIR/in"
	mark=0 # wait_for looks only at output after this byte offset
}
# wait_for TEXT: until the guest printed TEXT after the mark (at most 3 minutes); the mark moves past it.
wait_for() {
	local at end=$((SECONDS + 180))
	while [ $SECONDS -lt $end ]; do
		at=$(tail -c +$((mark + 1)) "$OUT" | grep -aboF -m 1 -- "$1" | head -n 1 | cut -d: -f1)
		if [ -n "$at" ]; then
			mark=$((mark + at + ${#1}))
			return 0
		fi
		kill -0 "$vm" 2>/dev/null || fail "the VM ended before printing: $1"
		sleep 0.2
	done
	fail "timed out waiting for: $1 (after: $(tail -c +$((mark + 1)) "$OUT" | tail -n 5))"
}
# type_ KEYS: backslash escapes as printf %b takes them ('\003' is ^C, '\r' Enter).
type_() { (printf '%b' "$1" >&3) 2>/dev/null || true; } # a subshell: a VM already gone is no SIGPIPE here
# console_end: close the keyboard (kvmlab sends the guest ^D at the end of its input), wait for the VM;
# its exit status is then in $status.
console_end() {
	exec 3>&-
	status=0
	wait "$vm" || status=$?
}
