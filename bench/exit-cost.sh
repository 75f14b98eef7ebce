#!/bin/bash
# Round-trip cost of one port-I/O exit: kvmlab beside a bare KVM_RUN loop
# (bench/floor.c), measured in the same run, as a ratio.
#
# Usage: bench/exit-cost.sh [EXITS] [ROUNDS]
# Each program runs once with 0 exits and once with EXITS exits per round; the
# difference over EXITS is its per-exit cost (start-up cancels out). The median
# over ROUNDS is reported. Without a usable /dev/kvm it runs inside the nested
# Linux of the test suite (tests/nested/l1.sh): figures are then nested ones.
set -euo pipefail
cd "$(dirname "$0")/.."
EXITS=${1:-20000}
ROUNDS=${2:-7}
KVMLAB=$PWD/build/kvmlab
FLOOR=$PWD/build/bench/floor
GUEST=$PWD/build/guest/testguest.elf

# kvmlab's own host check decides (exit 0: KVM usable here).
if ! "$KVMLAB" doctor >/dev/null 2>&1; then
	echo "no usable /dev/kvm here: measuring inside the nested Linux (QEMU TCG + KVM)"
	exec tests/nested/l1.sh -- bench/exit-cost.sh "$EXITS" "$ROUNDS"
fi

now() { date +%s%N; }

# ns for one run of a command that must exit with the given status
timed() {
	local want=$1 t0 st=0
	shift
	t0=$(now)
	"$@" >/dev/null 2>&1 </dev/null || st=$?
	[ "$st" -eq "$want" ] || { echo "bench: '$*' exited $st, expected $want" >&2; exit 1; }
	echo $(( $(now) - t0 ))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

kv_runs=() fl_runs=() ratios=()
for r in $(seq "$ROUNDS"); do
	k0=$(timed 1 "$KVMLAB" run "$GUEST" --cmdline "bench=0")
	kn=$(timed 1 "$KVMLAB" run "$GUEST" --cmdline "bench=$EXITS")
	f0=$(timed 0 "$FLOOR" 0)
	fn=$(timed 0 "$FLOOR" "$EXITS")
	kv_runs+=( $(( (kn - k0) / EXITS )) )
	fl_runs+=( $(( (fn - f0) / EXITS )) )
	ratios+=( "$(awk -v k="$(( kn - k0 ))" -v f="$(( fn - f0 ))" 'BEGIN { printf "%.3f", f > 0 ? k / f : 0 }')" )
	echo "round $r: kvmlab $(( (kn - k0) / EXITS )) ns/exit, floor $(( (fn - f0) / EXITS )) ns/exit, ratio ${ratios[-1]}"
done
kv=$(printf '%s\n' "${kv_runs[@]}" | median)
fl=$(printf '%s\n' "${fl_runs[@]}" | median)
nested=""
grep -qw hypervisor /proc/cpuinfo && nested=" (this host is itself a VM: nested figures)"
echo
echo "port-I/O exit round trip, median of $ROUNDS rounds of $EXITS exits$nested:"
printf '  floor (bare KVM_RUN loop)  %8.2f us/exit\n' "$(awk -v v="$fl" 'BEGIN { print v / 1000 }')"
printf '  kvmlab                     %8.2f us/exit\n' "$(awk -v v="$kv" 'BEGIN { print v / 1000 }')"
# The ratio is the median of each round's own ratio: both programs of a round
# ran back to back, so slow phases of a noisy host hit both.
echo "  ratio kvmlab/floor         $(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%8.3f", v[int((NR + 1) / 2)] }')  (median of per-round ratios)"
