#!/bin/bash
# scripts/plot.sh [--no-run | --kernel] [--quick] DIR — the experiments' graphs (docs/experiments.md).
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
# --kernel: run the same programs, with the same arguments, in the teaching kernel instead (kvmlab's
#           built-in guest: `build/kvmlab run --mem 1G --cmdline "init=/bin/NAME ARGS"`, one VM each),
#           keeping only the program's lines of the console (not the kernel's boot and `kernel:` lines);
#           the graphs' titles say "(teaching kernel)". Needs KVM: where /dev/kvm cannot be opened, the
#           runs happen inside the nested L1 (tests/nested/l1.sh, QEMU's emulator; minutes) and the
#           outputs come back through its console.
# --quick:  smaller runs (cache up to 8 MiB, shorter sched runs), a few seconds in all.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
run=1 quick=0 kernel=0 tar=0 where=
usage() { echo "usage: $0 [--no-run | --kernel] [--quick] DIR" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --no-run) run=0; shift ;;
        --kernel) kernel=1 where=" (teaching kernel)"; shift ;;
        --kernel-tar) kernel=1 tar=1; shift ;; # internal: capture in the L1, a tar on stdout (below)
        --quick) quick=1; shift ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $tar = 1 ] || [ $# = 1 ] || usage
[ $run = 1 ] || [ $kernel = 0 ] || usage
if [ $tar = 1 ]; then dir=$(mktemp -d); else dir=$1; fi
mkdir -p "$dir"
[ $tar = 1 ] || command -v gnuplot >/dev/null ||
    { echo "plot.sh: gnuplot is missing (scripts/deps.sh installs gnuplot-nox)" >&2; exit 1; }

if [ $quick = 1 ]; then ms=50 nice_ms=300 cache=(8192 2); else ms=100 nice_ms=1000 cache=(); fi
# experiment OUTNAME PROG ARGS...: run PROG (on this Linux, or in the teaching kernel) into DIR/OUTNAME.out.
experiment() {
    local out=$dir/$1.out
    shift
    echo "plot.sh: $*" >&2
    if [ $kernel = 0 ]; then "$repo/build/user/$1" "${@:2}" >"$out"; return; fi
    "$repo/build/kvmlab" run --mem 1G --cmdline "init=/bin/$*" </dev/null >"$out.console" ||
        { echo "plot.sh: $* in the teaching kernel ended with status $?" >&2; tail -n 5 "$out.console" >&2; exit 1; }
    tr -d '\r' <"$out.console" | awk 'started && !/^kernel: / { print } /^kernel: starting init:/ { started = 1 }' >"$out"
    rm -f "$out.console"
}
capture() {
    for n in 1 2 3; do experiment sched-$n sched $n $ms; done
    experiment sched-nice sched-nice $nice_ms
    experiment demand-paging demand-paging
    experiment cow cow
    experiment cache cache "${cache[@]}"
}

if [ $run = 1 ]; then
    make -C "$repo" --no-print-directory -s $(cd "$repo" && ls guest/user/*.c | sed 's,guest/user/\(.*\)\.c,build/user/\1,')
    [ $kernel = 0 ] || make -C "$repo" --no-print-directory -s build/kvmlab
    # -c first: as root, bash's <> would create a missing /dev/kvm as a plain file.
    if [ $kernel = 1 ] && ! { [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; }; then
        # No KVM here: capture inside the nested L1, whose files vanish with it; the outputs come back as a
        # base64 tar between two marker lines on its console.
        echo "plot.sh: no usable /dev/kvm: running the teaching kernel inside the nested L1 (minutes)" >&2
        opts=(--kernel-tar)
        [ $quick = 0 ] || opts+=(--quick)
        "$repo/tests/nested/l1.sh" --timeout 1800 -- "$repo/scripts/plot.sh" "${opts[@]}" >"$dir/l1.log" 2>&1 ||
            { echo "plot.sh: the nested run failed:" >&2; tail -n 20 "$dir/l1.log" >&2; exit 1; }
        sed -n '/^plot.sh: tar begin$/,/^plot.sh: tar end$/p' "$dir/l1.log" | sed '1d;$d' | base64 -d | tar -x -C "$dir"
        rm -f "$dir/l1.log"
    else
        capture
        if [ $tar = 1 ]; then
            echo "plot.sh: tar begin"
            tar -c -C "$dir" . | base64
            echo "plot.sh: tar end"
            rm -rf "$dir"
            exit 0
        fi
    fi
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
    set="dir='$repo/guest/user/plot'; in='$in'; out='$out'; where_='$where'"
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
