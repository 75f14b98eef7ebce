#!/bin/bash
# scripts/plot.sh [--no-run] [--quick] DIR — the experiments' graphs (docs/experiments.md).
#
# Runs the experiment programs of build/user/ on this Linux, keeps each one's output as DIR/NAME.out,
# extracts every table's rows ("@TABLE<TAB>..." lines) into DIR/NAME.TABLE.tsv and draws SVGs with the
# gnuplot scripts of guest/user/plot/:
#   DIR/sched-1.svg sched-2.svg sched-3.svg  progress of 1, 2, 3 processes sharing one CPU
#   DIR/sched-nice.svg                       nice 0 against nice 5
#   DIR/demand-paging.svg                    RSS and minor faults while 100 MiB are touched
#   DIR/cow.svg                              used memory around fork and the child's writes
#   DIR/cache.svg                            time per access against buffer size
# --no-run: do not run anything, plot the NAME.out files already in DIR (e.g. captured from the teaching
#           kernel's console: sched-1.out sched-2.out sched-3.out sched-nice.out demand-paging.out cow.out
#           cache.out; a missing one is skipped with a note).
# --quick:  smaller runs (cache up to 8 MiB, shorter sched runs), a few seconds in all.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
run=1 quick=0
while [ $# -gt 0 ]; do
    case "$1" in
        --no-run) run=0; shift ;;
        --quick) quick=1; shift ;;
        -*) echo "usage: $0 [--no-run] [--quick] DIR" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# = 1 ] || { echo "usage: $0 [--no-run] [--quick] DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot is missing (scripts/deps.sh installs gnuplot-nox)" >&2; exit 1; }

if [ $run = 1 ]; then
    make -C "$repo" --no-print-directory -s $(cd "$repo" && ls guest/user/*.c | sed 's,guest/user/\(.*\)\.c,build/user/\1,')
    bin=$repo/build/user
    if [ $quick = 1 ]; then ms=50 nice_ms=300 cache=(8192 2); else ms=100 nice_ms=1000 cache=(); fi
    for n in 1 2 3; do "$bin/sched" $n $ms >"$dir/sched-$n.out"; done
    "$bin/sched-nice" $nice_ms >"$dir/sched-nice.out"
    "$bin/demand-paging" >"$dir/demand-paging.out"
    "$bin/cow" >"$dir/cow.out"
    "$bin/cache" "${cache[@]}" >"$dir/cache.out"
fi

# table FILE.out TABLE: the rows of TABLE as DIR/FILE.TABLE.tsv; prints that path.
table() {
    local tsv=$dir/$1.$2.tsv
    sed -n "s/^@$2\t//p" "$dir/$1.out" >"$tsv"
    echo "$tsv"
}
# plot SCRIPT OUT.svg IN.tsv [gnuplot assignments...]
plot() {
    local script=$1 out=$2 in=$3 a set
    set="dir='$repo/guest/user/plot'; in='$in'; out='$out'"
    shift 3
    for a in "$@"; do set+="; $a"; done
    gnuplot -e "$set" "$repo/guest/user/plot/$script.gp"
    echo "$out"
}
have() { [ -s "$dir/$1.out" ] || { echo "plot.sh: no $dir/$1.out, skipping it" >&2; return 1; }; }

for n in 1 2 3; do
    if have sched-$n; then
        plot sched "$dir/sched-$n.svg" "$(table sched-$n sched)" "n=$n" \
            "title_='sched $n: $n CPU-bound process(es) on one CPU'"
    fi
done
if have sched-nice; then plot sched-nice "$dir/sched-nice.svg" "$(table sched-nice sched-nice)"; fi
if have demand-paging; then plot demand-paging "$dir/demand-paging.svg" "$(table demand-paging demand-paging)"; fi
if have cow; then plot cow "$dir/cow.svg" "$(table cow cow)"; fi
if have cache; then plot cache "$dir/cache.svg" "$(table cache cache)"; fi
