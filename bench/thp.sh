#!/bin/bash
# Demand paging with and without transparent huge pages: the teaching kernel's `demand-paging N`
# (N MiB mapped, then touched page by page) in kvmlab's default (guest RAM 2 MiB-aligned, MADV_HUGEPAGE)
# beside `--no-thp` (4 KiB host pages only), in the same run.
#
# Usage: bench/thp.sh [ROUNDS] [MIB]     (default 5 rounds of 100 MiB)
#
# The figure is the guest's touch phase: from its first "touch" marker to its "done" marker, in
# kvmlab's clock (--stats, "At the guest's markers"), so boot and exit are left out. Beside it, KVM's
# pf_fixed over the same phase (nested page faults fixed by mapping host memory). Each round runs both
# back to back, in alternating order; reported are the medians and the median of the rounds' ratios
# (--no-thp time / default time: above 1, huge pages are faster). Without a usable /dev/kvm it runs
# inside the nested Linux of the test suite (tests/nested/l1.sh): the figures are then nested ones.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
MIB=${2:-100}
case "$ROUNDS$MIB" in *[!0-9]*) echo "usage: $0 [ROUNDS] [MIB]" >&2; exit 2 ;; esac
[ "$ROUNDS" -gt 0 ] && [ "$MIB" -gt 0 ] && [ "$MIB" -le 200 ] ||
	{ echo "usage: $0 [ROUNDS>0] [MIB 1..200] (guest RAM is 256 MiB)" >&2; exit 2; }
KVMLAB=$PWD/build/kvmlab

. bench/lib.sh

[ -x "$KVMLAB" ] || die "no $KVMLAB: run make all"
if [ "${KVMLAB_NESTED:-0}" != 1 ] && ! "$KVMLAB" doctor >/dev/null 2>&1; then
	echo "no usable /dev/kvm here: measuring inside the nested Linux (QEMU TCG + KVM)"
	exec tests/nested/l1.sh -- bench/thp.sh "$ROUNDS" "$MIB"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/thp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# one MODE: run demand-paging once; prints "touch_ms pf_fixed" of its touch phase.
one() {
	local st=0 f=$tmp/stats.txt opt=()
	[ "$1" = nothp ] && opt=(--no-thp)
	: >"$f"
	"$KVMLAB" run "${opt[@]}" --stats="$f" --cmdline "init=/bin/demand-paging $MIB" >"$tmp/out" 2>&1 || st=$?
	[ $st = 0 ] || die "$1: exit status $st; its output: $(tail -n 20 "$tmp/out")"
	# marker rows: vCPU time_s label rss pf_taken pf_fixed exits
	awk '$1 == 0 && NF == 7 && $3 == "touch" && !t0 { t0 = $2; p0 = $6 }
	     $1 == 0 && NF == 7 && $3 == "done" { t1 = $2; p1 = $6 }
	     END { if (!t0 || !t1) exit 1; printf "%.0f %d\n", (t1 - t0) * 1000, p1 - p0 }' "$f" ||
		die "$1: no touch/done markers in --stats; its output: $(tail -n 20 "$tmp/out")"
}

median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'; }

echo "demand-paging $MIB: touch phase, kvmlab default (THP) vs --no-thp, $ROUNDS rounds"
printf '%-6s %12s %10s %12s %10s %8s\n' round thp_ms thp_pf nothp_ms nothp_pf ratio
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		t=$(one thp)
		n=$(one nothp)
	else
		n=$(one nothp)
		t=$(one thp)
	fi
	read -r tt tp <<<"$t"
	read -r nt np <<<"$n"
	[ "$tt" -gt 0 ] || tt=1
	ratio=$(awk -v a="$nt" -v b="$tt" 'BEGIN { printf "%.2f", a / b }')
	printf '%-6s %12s %10s %12s %10s %8s\n' "$r" "$tt" "$tp" "$nt" "$np" "$ratio"
	echo "$tt $tp $nt $np $ratio" >>"$tmp/rows"
done
for c in 1 2 3 4 5; do cut -d' ' -f$c "$tmp/rows" | median >"$tmp/m$c"; done
printf '%-6s %12s %10s %12s %10s %8s\n' median "$(cat "$tmp/m1")" "$(cat "$tmp/m2")" \
	"$(cat "$tmp/m3")" "$(cat "$tmp/m4")" "$(cat "$tmp/m5")"
echo "ratio: --no-thp touch time / default touch time (median of the rounds' ratios)"
