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
