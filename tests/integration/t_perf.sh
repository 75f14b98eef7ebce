#!/bin/bash
# perf (Debian's linux-perf) against kvmlab's --stats, on the same guest hammering the POST port:
# KVM's own tracepoints must count what kvmlab counted.
#  1. perf stat -e kvm:kvm_pio,kvm:kvm_exit around kvmlab: kvm_pio = the port exits kvmlab handled
#     (every port of this guest is kvmlab's), kvm_exit = KVM's `exits` counter in --stats.
#  2. perf kvm stat record / report --event=ioport: per port and direction, perf's samples = kvmlab's.
#     perf kvm stat pairs each exit with the next entry, so the guest's last exit (the isa-debug-exit
#     write on 0xf4, after which the vCPU never enters again) is not in its table: kvmlab has it once.
. "$(dirname "$0")/lib.sh"
command -v perf >/dev/null || fail "no perf: install linux-perf (Debian) to cross-check with KVM's tracepoints"
perf list kvm:kvm_pio 2>/dev/null | grep -q kvm_pio || fail "perf sees no kvm:kvm_pio tracepoint (tracefs?)"
N=777

# --- 1. perf stat ----------------------------------------------------------------------------------
status=0
perf stat -x, -e kvm:kvm_pio,kvm:kvm_exit -o perf-stat.txt -- \
	"$KVMLAB" run --stats=s1.txt "$TESTGUEST" --cmdline "bench=$N exit=0" >"$OUT" 2>"$ERR" || status=$?
expect_status 1
expect_out "bench: $N exits"
pio=$(awk -F, '$3 == "kvm:kvm_pio" { print $1 }' perf-stat.txt)
kexit=$(awk -F, '$3 == "kvm:kvm_exit" { print $1 }' perf-stat.txt)
ours=$(sed -n 's/^  port I\/O .*kvmlab handled \([0-9]*\),.*/\1/p' s1.txt)
kvms=$(sed -n 's/^  all exits  KVM counted \([0-9]*\) .*/\1/p' s1.txt)
echo "perf stat: kvm_pio $pio, kvm_exit $kexit; kvmlab: port exits $ours, KVM's exits counter $kvms"
[ -n "$pio" ] && [ -n "$ours" ] || fail "no counts: $(cat perf-stat.txt) / $(tail -5 s1.txt)"
[ "$pio" -eq "$ours" ] || fail "perf's kvm:kvm_pio $pio != kvmlab's port exits $ours"
[ "$pio" -gt "$N" ] || fail "fewer port exits ($pio) than POST writes ($N)"
[ "$kexit" -eq "$kvms" ] || fail "perf's kvm:kvm_exit $kexit != KVM's exits counter $kvms in --stats"

# --- 2. perf kvm stat, per port ---------------------------------------------------------------------
# (perf passes on the command's status: the guest's exit=0 is kvmlab's 1.)
status=0
perf kvm stat record -o perf.data -- \
	"$KVMLAB" run --stats=s2.txt "$TESTGUEST" --cmdline "bench=$N exit=0" >"$OUT" 2>"$ERR" || status=$?
expect_status 1
expect_out "bench: $N exits"
[ -s perf.data ] || fail "perf kvm stat record wrote no perf.data"
perf kvm -i perf.data stat report --event=ioport >report.txt 2>&1 || fail "perf kvm stat report failed: $(cat report.txt)"
# perf: "0x80:POUT 777 ..."; kvmlab's All vCPUs table: "port:0x80/POUT 777 ...". Same keys, same counts.
awk '$1 ~ /^0x[0-9a-f]+:P(IN|OUT)$/ { sub(":", "/", $1); print "port:" $1, $2 }' report.txt | sort >perf.keys
awk '/^All vCPUs:/ { all = 1; next } all && /^Total samples/ { exit }
     all && $1 ~ /^port:/ { print $1, $2 }' s2.txt | sort >ours.keys
echo "perf kvm stat --event=ioport | kvmlab --stats:"
paste -d'|' perf.keys ours.keys
grep -qx "port:0x80/POUT $N" perf.keys || fail "perf kvm stat: not $N writes to 0x80: $(cat report.txt)"
grep -qx "port:0x80/POUT $N" ours.keys || fail "kvmlab: not $N writes to 0x80"
grep -qx "port:0xf4/POUT 1" ours.keys || fail "kvmlab: no isa-debug-exit write"
grep -v '^port:0xf4/POUT ' ours.keys >ours-but-last.keys
diff ours-but-last.keys perf.keys >diff.txt ||
	fail "perf kvm stat and kvmlab disagree (beyond the last exit): $(cat diff.txt)"
exit 0
