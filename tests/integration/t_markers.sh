#!/bin/bash
# Guest markers from the teaching kernel (/dev/kvmlab-marker, kvl_mark() in guest/user/kvl.h):
# the demand-paging experiment marks "mmap", "touch", "done", "munmap"; --stats splits its tables by
# those phases and notes at each marker kvmlab's RSS and KVM's page-fault counters (lesson 3: touching
# 10 MiB raises both by about 10 MiB, the mmap alone neither); --trace has the markers. With --no-thp
# the host gives 4 KiB pages only and KVM's pf_fixed counts all 2560 of them; by default KVM may map
# 2 MiB at a time where the host found a transparent huge page, so pf_fixed may climb by as few as 5.
. "$(dirname "$0")/lib.sh"
cd "$TMPDIR"

kv run --no-thp --stats=stats4k.txt --cmdline "init=/bin/demand-paging 10"
expect_status 0
expect_out "done    touched  10240 KiB"
kv run --stats=stats.txt --trace t.json --cmdline "init=/bin/demand-paging 10"
expect_status 0
expect_out "done    touched  10240 KiB"
grep -q "^Phase \"mmap\":" stats.txt || { cat stats.txt; fail "no phase mmap in --stats"; }

python3 - stats.txt t.json stats4k.txt <<'PY' || { cat stats.txt stats4k.txt; fail "markers: --stats or the trace is wrong (above)"; }
import json, re, sys
want = ["mmap", "touch", "done", "munmap"]

def moments(name):
	"""kvmlab's RSS and KVM's counters at each marker: rss, pf_taken, pf_fixed, exits."""
	text = open(name).read()
	rows = re.findall(r"^\s+0\s+([\d.]+)\s+(\S+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)$", text, re.M)
	marks = {r[1]: [int(x) for x in r[2:]] for r in rows}
	assert [r[1] for r in rows] == want, rows
	return text, zip(*[marks[m] for m in want])

text, (rss, taken, fixed, exits) = moments(sys.argv[1])
_, (rss4, taken4, fixed4, exits4) = moments(sys.argv[3])
print("default: rss", rss, "pf_fixed", fixed)
print("--no-thp: rss", rss4, "pf_fixed", fixed4)

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

for r, f in ((rss, fixed), (rss4, fixed4)):
	# mmap -> touch: 10 MiB mapped, nothing touched yet; KVM and kvmlab's memory hardly move.
	assert f[1] - f[0] < 16 and r[1] - r[0] < 1024, (f, r)
# touch -> done with 4 KiB host pages only: 2560 pages touched in the guest, each also a first touch
# for the host, one nested page fault each, and kvmlab's RSS grows by the 10 MiB (Linux before 6.2
# adds a thread's faults to the RSS in batches of 64 pages: a reading may lag by 256 KiB).
assert 2560 <= fixed4[2] - fixed4[1] < 2560 + 64, fixed4
assert taken4[2] - taken4[1] >= 2560, taken4
assert 10 * 1024 - 512 <= rss4[2] - rss4[1] < 11 * 1024, rss4
# By default a fault can map 2 MiB: at least one per 2 MiB, never more than with 4 KiB pages. RSS
# then moves in 2 MiB steps, and a step can have been taken by earlier use of the same 2 MiB.
assert 5 <= fixed[2] - fixed[1] < 2560 + 64, fixed
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
