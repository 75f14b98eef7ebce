#!/bin/bash
# --stats: the exits kvmlab handled are counted exactly (a known number of POST
# writes, MMIO accesses and COM1 bytes), KVM's own counters come beside them,
# SIGUSR1 prints a snapshot while the guest runs and kvmlab goes on.
. "$(dirname "$0")/lib.sh"

# Show the whole report when something is wrong (lib.sh's fail shows 40 lines).
fail_stats() {
	echo "FAIL: $*"
	echo "--- stdout:"; sed -n '1,20p' "$OUT"
	echo "--- stderr:"; cat "$ERR"
	exit 1
}

# samples KEY [FILE]: the Samples column of KEY in the last report's "All vCPUs" table.
samples() {
	awk -v key="$1" '
		/^=== kvmlab --stats/ { all = 0; n = "" }
		/^All vCPUs:/ { all = 1; next }
		/^Total samples/ { all = 0 }
		all && $1 == key { n = $2 }
		END { print (n == "" ? 0 : n) }' "${2:-$ERR}"
}

# kvm_counter NAME: the delta of KVM's vCPU counter NAME in the last report.
kvm_counter() {
	awk -v name="$1" '$1 == "vCPU" && $2 == name { n = $3 } END { print (n == "" ? 0 : n) }' "$ERR"
}

expect_samples() {
	local got
	got=$(samples "$1")
	[ "$got" -eq "$2" ] || fail_stats "$1: $got samples, expected $2"
}

kv run --stats "$TESTGUEST" --cmdline "bench=1000 mmio exit=0"
expect_status 1
expect_out "bench: 1000 exits"
expect_err "=== kvmlab --stats: the VM has ended"
expect_err "VM-EXIT/key"
expect_err "Samples%"
expect_err "Avg time"
grep -q "^vCPU 0:" "$ERR" || fail_stats "no vCPU 0 table"
# bench=1000: 1000 writes to the POST port, nothing else writes it.
expect_samples "port:0x80/POUT" 1000
# mmio: poke_mmio() reads 0xd0000000, writes it, and reads it again to print it.
expect_samples "gpa:0xd0000000/R" 2
expect_samples "gpa:0xd0000000/W" 1
# exit=0: one write to isa-debug-exit.
expect_samples "port:0xf4/POUT" 1
# COM1's data port: one write per byte on stdout (the guest's "\n" is sent as "\r\n"
# by the guest itself), plus uart_init()'s divisor-latch write to the same port.
bytes=$(wc -c <"$OUT")
[ "$bytes" -gt 50 ] || fail_stats "only $bytes bytes of guest output"
expect_samples "port:0x3f8/POUT" $((bytes + 1))
# uart_putc() polls the line status once per byte (the transmitter is always empty).
expect_samples "port:0x3fd/PIN" "$bytes"
# Nothing lost: the total is the sum of the rows.
total=$(awk '/^All vCPUs:/ { all = 1 } all && /^Total samples/ { sub(",", "", $3); print $3; exit }' "$ERR")
sum=$(awk '/^All vCPUs:/ { all = 1; next } all && /^Total samples/ { exit } all && $2 ~ /^[0-9]+$/ { s += $2 } END { print s }' "$ERR")
[ "$total" = "$sum" ] || fail_stats "total $total, rows sum to $sum"
# KVM's view: every one of those port writes was a port I/O exit to KVM first.
if grep -q "^KVM's counters: " "$ERR"; then
	fail_stats "KVM's binary statistics unavailable on this host"
fi
io=$(kvm_counter io_exits)
[ "$io" -ge 1000 ] || fail_stats "KVM's io_exits delta $io, expected >= 1000"
exits=$(kvm_counter exits)
[ "$exits" -ge "$io" ] || fail_stats "KVM's exits ($exits) below its io_exits ($io)"
grep -q "io_exits .*included" "$ERR" || fail_stats "io_exits without its meaning"
# Side by side: KVM's io_exits against the port exits kvmlab handled (all of this guest's
# port I/O goes to kvmlab: it touches no in-kernel device).
ports=$(awk '/^All vCPUs:/ { all = 1; next } all && /^Total samples/ { exit } all && $1 ~ /^port:/ { s += $2 } END { print s }' "$ERR")
expect_err "port I/O   KVM counted $io (io_exits), kvmlab handled $ports"
expect_err "all exits  KVM counted $exits (exits), kvmlab handled $total"
# KVM passes every MMIO access it emulates to kvmlab (nothing in the kernel claims 0xd0000000).
expect_err "MMIO       KVM counted 3 (mmio_exits), kvmlab handled 3, 0 stayed in the kernel"

# --stats=FILE: the report goes there, stderr stays quiet.
kv run --stats="$TMPDIR/stats.txt" "$TESTGUEST" --cmdline "bench=10 exit=0"
expect_status 1
grep -q "kvmlab --stats" "$ERR" && fail_stats "--stats=FILE still wrote to stderr"
[ "$(samples port:0x80/POUT "$TMPDIR/stats.txt")" -eq 10 ] || {
	cat "$TMPDIR/stats.txt"; fail "--stats=FILE: no 10 POST writes"; }

# Two vCPUs: a table per vCPU (vCPU 1 waits for a SIPI that never comes) and the total.
kv run --stats --cpus 2 "$TESTGUEST" --cmdline "bench=5 exit=0"
expect_status 1
grep -q "^vCPU 1: no exits" "$ERR" || fail_stats "no line for the idle vCPU 1"
expect_samples "port:0x80/POUT" 5

# SIGUSR1 while a spinning guest runs: a snapshot, and kvmlab keeps running.
"$KVMLAB" run --stats "$TESTGUEST" --cmdline "bench=7 spin" >"$OUT" 2>"$ERR" </dev/null &
pid=$!
for _ in $(seq 300); do grep -q "bench: 7" "$OUT" && break; sleep 0.1; done
grep -q "bench: 7" "$OUT" || { kill -KILL "$pid"; fail_stats "the guest did not start"; }
kill -USR1 "$pid"
for _ in $(seq 100); do grep -q "end of kvmlab --stats" "$ERR" && break; sleep 0.1; done
expect_err "snapshot of the running VM"
expect_samples "port:0x80/POUT" 7
sleep 0.5
kill -0 "$pid" 2>/dev/null || fail_stats "kvmlab ended after SIGUSR1"
kill -USR1 "$pid"
for _ in $(seq 100); do [ "$(grep -c "end of kvmlab --stats" "$ERR")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c "snapshot of the running VM" "$ERR")" -eq 2 ] || fail_stats "no second snapshot"
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
expect_status 143
expect_err "the VM has ended"
expect_err "stopped by signal"

# Without --stats SIGUSR1 changes nothing: no report, the guest runs on.
"$KVMLAB" run "$TESTGUEST" --cmdline "spin" >"$OUT" 2>"$ERR" </dev/null &
pid=$!
for _ in $(seq 300); do grep -q hello "$OUT" && break; sleep 0.1; done
kill -USR1 "$pid"
sleep 0.5
kill -0 "$pid" 2>/dev/null || fail "kvmlab without --stats ended on SIGUSR1"
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
expect_status 143
grep -q "kvmlab --stats" "$ERR" && fail "a report without --stats"
exit 0
