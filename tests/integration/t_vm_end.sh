#!/bin/bash
# How a VM ends: keyboard-controller reset (0), triple fault (reported, 1),
# SIGTERM/SIGINT (128+n), Ctrl-A x on a terminal (0).
. "$(dirname "$0")/lib.sh"

kv run "$TESTGUEST" --cmdline "reset"
expect_status 0

kv run "$TESTGUEST" --cmdline "triple"
expect_status 1
expect_err "triple fault"
# Intel hosts keep the faulting state; AMD's SVM resets the vCPU first.
grep -qE "RIP 0x[0-9a-f]+ in 32-bit protected mode|registers are lost" "$ERR" ||
	fail "no register state or explanation"

"$KVMLAB" run "$TESTGUEST" --cmdline spin >"$OUT" 2>"$ERR" </dev/null &
pid=$!
for _ in $(seq 100); do grep -q hello "$OUT" && break; sleep 0.1; done
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
expect_status 143
expect_err "stopped by signal"

# A real terminal: script(1) gives kvmlab a pty; Ctrl-A x must end it.
status=0
# Afterwards the terminal must be as it was: canonical mode and echo back on.
(sleep 2; printf '\001x') |
	script -qfec "$KVMLAB run $TESTGUEST --cmdline spin; echo kvmlab-status=\$?; stty -a" \
		/dev/null >"$OUT" 2>"$ERR" || status=$?
expect_status 0
expect_out "testguest: hello"
expect_out "quit from the console (Ctrl-A x)"
expect_out "kvmlab-status=0"
grep -qw -- "-icanon" "$OUT" && fail "terminal left in raw mode (-icanon)"
grep -qw -- "-echo" "$OUT" && fail "terminal left without echo"
grep -qw -- "icanon" "$OUT" || fail "no stty output"
exit 0
