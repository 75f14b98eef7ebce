#!/bin/bash
# Round trip of one port-I/O exit: kvmlab beside a bare KVM_RUN loop
# (bench/floor.c), measured in the same run, as a ratio.
#
# Usage: bench/exit-cost.sh [EXITS] [ROUNDS]     (default 20000 exits, 7 rounds)
#
# Both guests run the same loop of EXITS port writes and read their TSC around
# it, so start-up and teardown do not count. Each round runs kvmlab and the
# floor back to back; the ratio reported is the median of the rounds' ratios
# (a slow phase of a noisy host hits both programs of a round). Cycles become
# microseconds with the TSC rate KVM reports (KVM_GET_TSC_KHZ).
# Without a usable /dev/kvm it runs inside the nested Linux of the test suite
# (tests/nested/l1.sh): the figures are then nested ones.
set -euo pipefail
cd "$(dirname "$0")/.."
EXITS=${1:-20000}
ROUNDS=${2:-7}
KVMLAB=$PWD/build/kvmlab
FLOOR=$PWD/build/bench/floor
GUEST=$PWD/build/guest/testguest.elf

# kvmlab's own host check decides (exit 0: KVM usable here).
if [ "${KVMLAB_NESTED:-0}" != 1 ] && ! "$KVMLAB" doctor >/dev/null 2>&1; then
	echo "no usable /dev/kvm here: measuring inside the nested Linux (QEMU TCG + KVM)"
	exec tests/nested/l1.sh -- bench/exit-cost.sh "$EXITS" "$ROUNDS"
fi

die() { echo "bench: $*" >&2; exit 1; }

# Cycles kvmlab's test guest spent in the loop (it prints them in hex).
kvmlab_cycles() {
	local out st=0
	out=$("$KVMLAB" run "$GUEST" --cmdline "bench=$EXITS" </dev/null 2>&1) || st=$?
	[ "$st" -eq 1 ] || die "kvmlab exited $st: $out"
	out=$(sed -n 's/^bench: [0-9]* exits in 0x\([0-9a-f]*\) cycles.*/\1/p' <<<"$out" | tr -d '\r')
	[ -n "$out" ] || die "no figure from kvmlab's guest"
	echo $(( 16#$out ))
}

floor_out() {
	"$FLOOR" "$EXITS" || die "floor failed"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

kv=() fl=() ratio=() khz=0
for r in $(seq "$ROUNDS"); do
	k=$(kvmlab_cycles)
	f_line=$(floor_out)
	f=$(sed -n 's/^floor: [0-9]* exits in \([0-9]*\) cycles.*/\1/p' <<<"$f_line")
	khz=$(sed -n 's/.*TSC \([0-9]*\) kHz.*/\1/p' <<<"$f_line")
	[ -n "$f" ] && [ "$f" -gt 0 ] || die "no figure from the floor: $f_line"
	kv+=("$k") fl+=("$f")
	ratio+=("$(awk -v k="$k" -v f="$f" 'BEGIN { printf("%.3f", k / f) }')")
	echo "round $r: kvmlab $(( k / EXITS )) cycles/exit, floor $(( f / EXITS )) cycles/exit, ratio ${ratio[-1]}"
done

us() { awk -v c="$1" -v n="$EXITS" -v khz="$khz" 'BEGIN { printf("%8.2f", khz > 0 ? c / n / khz * 1000 : 0) }'; }
k_med=$(printf '%s\n' "${kv[@]}" | median)
f_med=$(printf '%s\n' "${fl[@]}" | median)
where=""
grep -qw hypervisor /proc/cpuinfo && where=" (this host is itself a VM: nested figures)"
echo
echo "port-I/O exit round trip, $ROUNDS rounds of $EXITS exits, TSC $khz kHz$where:"
echo "  floor (bare KVM_RUN loop)  $(us "$f_med") us/exit   (median)"
echo "  kvmlab                     $(us "$k_med") us/exit   (median)"
echo "  ratio kvmlab/floor         $(printf '%s\n' "${ratio[@]}" | median)    (median of per-round ratios)"
