#!/bin/bash
# Guest markers from the teaching kernel (/dev/kvmlab-marker, kvl_mark() in guest/user/kvl.h):
# the demand-paging experiment marks "mmap", "touch", "done", "munmap"; --stats splits its tables by
# those phases and notes at each marker kvmlab's RSS and KVM's page-fault counters (lesson 3: touching
# 10 MiB raises both by about 10 MiB / 2560 pages, the mmap alone neither); --trace has the markers.
. "$(dirname "$0")/lib.sh"
cd "$TMPDIR"

kv run --stats=stats.txt --trace t.json --cmdline "init=/bin/demand-paging 10"
expect_status 0
expect_out "done    touched  10240 KiB"
grep -q "^Phase \"mmap\":" stats.txt || { cat stats.txt; fail "no phase mmap in --stats"; }

python3 - stats.txt t.json <<'PY' || { cat stats.txt; fail "markers: --stats or the trace is wrong (above)"; }
import json, re, sys
text = open(sys.argv[1]).read()
want = ["mmap", "touch", "done", "munmap"]

# The phase tables, in order, and their totals adding up to the run's.
phases = re.findall(r'^Phase "([^"]*)":', text, re.M)
assert phases == ["(before the first marker)"] + want, phases
totals = [int(n) for n in re.findall(r"^Total samples: (\d+),", text, re.M)]
# vCPU 0, All vCPUs, then one per phase
assert len(totals) == 2 + len(phases), totals
assert sum(totals[2:]) == totals[1], ("phases do not add up", totals)
# The touch loop itself leaves the guest only through KVM: its phase holds the marker bytes alone.
touch = text.split('Phase "touch":')[1].split("Total samples")[0]
keys = re.findall(r"^\s+(\S+:\S+)\s+\d+", touch, re.M)
assert keys == ["port:0x510/POUT"], keys

# The moments: kvmlab's RSS and KVM's counters at each marker.
rows = re.findall(r"^\s+0\s+([\d.]+)\s+(\S+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)$", text, re.M)
marks = {r[1]: [int(x) for x in r[2:]] for r in rows}
assert [r[1] for r in rows] == want, rows
rss, taken, fixed, exits = zip(*[marks[m] for m in want])
print("rss", rss, "pf_fixed", fixed)
# mmap -> touch: 10 MiB mapped, nothing touched yet; KVM and kvmlab's memory hardly move.
assert fixed[1] - fixed[0] < 16 and rss[1] - rss[0] < 1024, (fixed, rss)
# touch -> done: 2560 pages of 4 KiB touched in the guest, each also a first touch for the host.
assert 2560 <= fixed[2] - fixed[1] < 2560 + 64, fixed
assert taken[2] - taken[1] >= 2560, taken
# kvmlab's RSS climbs with them, but not always by the whole 10 MiB: the host may back guest memory with
# 2 MiB transparent huge pages, so RSS moves in 2 MiB steps and a step can have been taken by earlier
# use of the same 2 MiB (seen: exactly 8 MiB once), while pf_fixed above counts every 4 KiB mapping.
assert 4 * 1024 <= rss[2] - rss[1] < 14 * 1024, rss
assert all(a <= b for a, b in zip(exits, exits[1:])), exits

# The trace: the same markers, in order, on vCPU 0.
d = json.load(open(sys.argv[2]))
labels = [(e["tid"], e["args"]["label"]) for e in d["traceEvents"] if e.get("cat") == "marker"]
assert labels == [(0, m) for m in want], labels
PY
# From the shell: each write to /dev/kvmlab-marker is a label (echo's '\n' ends it), in the trace.
kv run --trace sh.json --cmdline 'init=/bin/sh -c "echo one >/dev/kvmlab-marker; echo two >/dev/kvmlab-marker"'
expect_status 0
python3 - sh.json <<'PY' || fail "the shell's markers are not in the trace"
import json, sys
d = json.load(open(sys.argv[1]))
labels = [e["args"]["label"] for e in d["traceEvents"] if e.get("cat") == "marker"]
assert labels == ["one", "two"], labels
PY
echo "ok: t_markers"
