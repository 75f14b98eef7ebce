#!/bin/bash
# What --stats and --trace cost: the port-I/O exit round trip of kvmlab with
# each, against kvmlab without, in the same run, as ratios (issue 5's aims:
# --stats under 1.10, --trace under 1.50). Measured, not asserted.
#
# Usage: bench/trace-cost.sh [EXITS] [ROUNDS]     (default 20000 exits, 7 rounds)
#
# The test guest's bench=EXITS loop reads its TSC around the port writes, so
# start-up, teardown and writing the reports and the trace file do not count.
# Each round runs the three back to back; each ratio reported is the median of
# the rounds' ratios. Without a usable /dev/kvm it runs inside the nested Linux
# of the test suite (tests/nested/l1.sh): the figures are then nested ones,
# where the noise is larger than these costs.
set -euo pipefail
cd "$(dirname "$0")/.."
EXITS=${1:-20000}
ROUNDS=${2:-7}
KVMLAB=$PWD/build/kvmlab
GUEST=$PWD/build/guest/testguest.elf

if [ "${KVMLAB_NESTED:-0}" != 1 ] && ! "$KVMLAB" doctor >/dev/null 2>&1; then
	echo "no usable /dev/kvm here: measuring inside the nested Linux (QEMU TCG + KVM)"
	exec tests/nested/l1.sh -- bench/trace-cost.sh "$EXITS" "$ROUNDS"
fi

die() { echo "bench: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cycles [OPTIONS...]: guest cycles of the loop under kvmlab run OPTIONS.
cycles() {
	local out st=0
	out=$("$KVMLAB" run "$@" "$GUEST" --cmdline "bench=$EXITS" </dev/null 2>"$tmp/err") || st=$?
	[ "$st" -eq 1 ] || die "kvmlab $* exited $st: $out $(cat "$tmp/err")"
	out=$(sed -n 's/^bench: [0-9]* exits in 0x\([0-9a-f]*\) cycles.*/\1/p' <<<"$out" | tr -d '\r')
	[ -n "$out" ] || die "no figure from kvmlab's guest"
	echo $((16#$out))
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf("%.3f", a / b) }'; }

rs=() rt=()
for r in $(seq "$ROUNDS"); do
	base=$(cycles)
	st=$(cycles --stats="$tmp/stats.txt")
	tr=$(cycles --trace "$tmp/t.json")
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["otherData"]["dropped_events"] == 0' \
		"$tmp/t.json" 2>/dev/null || echo "round $r: the trace dropped events or is not valid JSON"
	rs+=("$(ratio "$st" "$base")") rt+=("$(ratio "$tr" "$base")")
	echo "round $r: cycles/exit without $((base / EXITS)), --stats $((st / EXITS))" \
	     "(${rs[-1]}), --trace $((tr / EXITS)) (${rt[-1]})"
done
where=""
grep -qw hypervisor /proc/cpuinfo && where=" (this host is itself a VM: nested figures)"
echo
echo "port-I/O exit round trip, $ROUNDS rounds of $EXITS exits$where:"
echo "  --stats / without   $(printf '%s\n' "${rs[@]}" | median)   (median of per-round ratios; aim < 1.10)"
echo "  --trace / without   $(printf '%s\n' "${rt[@]}" | median)   (median of per-round ratios; aim < 1.50)"
