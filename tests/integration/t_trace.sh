#!/bin/bash
# --trace FILE: a Trace Event JSON file with one event per exit kvmlab handled (the same
# counts as --stats, key by key), the guest's markers in order on their vCPU's track, and
# a valid file however kvmlab ends (the guest's exit, SIGTERM).
. "$(dirname "$0")/lib.sh"

# check_json FILE: the file parses as a Trace Event JSON object with traceEvents.
check_json() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d["traceEvents"], list), "no traceEvents list"
for e in d["traceEvents"]:
    assert e["ph"] in ("X", "i", "M"), e
    if e["ph"] == "X":
        assert e["dur"] >= 0 and e["ts"] >= 0, e
assert d["otherData"]["dropped_events"] == 0, "events dropped: %r" % d["otherData"]
' "$1" || fail "$1 is not a valid trace: $(head -c 300 "$1")"
}

# 1. Exits and markers, with --stats beside them.
kv run --trace t.json --stats "$TESTGUEST" --cmdline "mark=start bench=500 mark=end exit=0"
expect_status 1
expect_out "bench: 500 exits"
[ -s t.json ] || fail "no trace file"
check_json t.json
# The last report's "All vCPUs" rows: KEY SAMPLES.
awk '/^All vCPUs:/ { all = 1; next } all && /^Total samples/ { exit }
     all && $2 ~ /^[0-9]+$/ { print $1, $2 }' "$ERR" >stats.txt
[ "$(wc -l <stats.txt)" -ge 5 ] || fail "no --stats table"
python3 - t.json stats.txt <<'EOF' || fail "the trace does not match --stats (above)"
import collections, json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
exits = [e for e in ev if e.get("cat") == "exit"]
got = collections.Counter(e["name"] for e in exits)
want = {k: int(n) for k, n in (l.split() for l in open(sys.argv[2]))}
ok = True
for k in sorted(set(got) | set(want)):
    if got.get(k, 0) != want.get(k, 0):
        print("key %s: %d events in the trace, %d samples in --stats" % (k, got.get(k, 0), want.get(k, 0)))
        ok = False
assert ok
assert got["port:0x80/POUT"] == 500, got
assert d["otherData"]["events"] == len([e for e in ev if e["ph"] != "M"]), d["otherData"]
# Every exit is a complete event on vCPU 0's track, pid 1, with its port/address and value.
for e in exits:
    assert e["ph"] == "X" and e["pid"] == 1 and e["tid"] == 0, e
post = [e for e in exits if e["name"] == "port:0x80/POUT"]
assert all(e["args"]["port"] == "0x80" and e["args"]["dir"] == "out" and e["args"]["size"] == 1
           for e in post), post[0]
# bench writes i & 0xff to the POST port: the values are 0, 1, 2, ... in time order.
post.sort(key=lambda e: e["ts"])
assert [int(e["args"]["value"], 16) for e in post] == [i & 0xFF for i in range(500)], \
    [e["args"]["value"] for e in post[:5]]
# The markers, in order, on vCPU 0, around the 500 POST writes.
marks = sorted((e for e in ev if e.get("cat") == "marker"), key=lambda e: e["ts"])
assert [(m["name"], m["ph"], m["tid"]) for m in marks] == [("start", "i", 0), ("end", "i", 0)], marks
assert marks[0]["ts"] <= post[0]["ts"] and post[-1]["ts"] <= marks[1]["ts"], (marks, post[0], post[-1])
# The markers' bytes (label and 0, one rep outsb each; KVM may pass it on as one exit or as
# one per byte) all went to the marker port, one byte an access.
m = [e for e in exits if e["name"] == "port:0x510/POUT"]
assert sum(e["args"]["count"] for e in m) == len("start") + 1 + len("end") + 1, m
assert bytes(int(e["args"]["value"], 16) for e in sorted(m, key=lambda e: e["ts"])
             if e["args"]["count"] == 1) in (b"start\0end\0", b""), m
# The tracks are named.
names = {(e["name"], e.get("tid")): e["args"] for e in ev if e["ph"] == "M"}
assert names[("thread_name", 0)]["name"] == "vCPU 0", names
assert ("process_name", 0) in names, names
# Slices on one track do not overlap (one vCPU handles one exit at a time).
xs = sorted(exits, key=lambda e: e["ts"])
for a, b in zip(xs, xs[1:]):
    assert a["ts"] + a["dur"] <= b["ts"] + 0.001, (a, b)
EOF

# --stats split by the markers: the 500 POST writes are all in phase "start".
phase_samples() {
	awk -v title="Phase \"$1\":" -v key="$2" '
		$0 == title { in_phase = 1; next }
		in_phase && /^Total samples/ { in_phase = 0 }
		in_phase && $1 == key { n = $2 }
		END { print (n == "" ? 0 : n) }' "$ERR"
}
expect_err "By phase (the guest's markers on port 0x510), all vCPUs:"
[ "$(phase_samples start port:0x80/POUT)" -eq 500 ] || fail "phase start: no 500 POST writes"
[ "$(phase_samples "(before the first marker)" port:0x80/POUT)" -eq 0 ] || fail "POST writes before start"
[ "$(phase_samples "(before the first marker)" port:0x3f8/POUT)" -gt 10 ] || fail "no UART output before start"
[ "$(phase_samples end port:0xf4/POUT)" -eq 1 ] || fail "phase end: no debug-exit write"
[ "$(phase_samples end port:0x80/POUT)" -eq 0 ] || fail "phase end: POST writes"

# 2. SIGTERM while the guest spins: the file still ends as valid JSON, with its marker.
"$KVMLAB" run --trace term.json "$TESTGUEST" --cmdline "mark=spinning spin" >"$OUT" 2>"$ERR" </dev/null &
pid=$!
for _ in $(seq 300); do grep -q hello "$OUT" && break; sleep 0.1; done
grep -q hello "$OUT" || { kill -KILL "$pid"; fail "the guest did not start"; }
sleep 0.3
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
expect_status 143
check_json term.json
python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
assert [e["name"] for e in ev if e.get("cat") == "marker"] == ["spinning"], ev
' term.json || fail "no marker in the trace of a signalled kvmlab"

# 3. Two vCPUs: a named track each; markers without --trace change nothing.
kv run --trace two.json --cpus 2 "$TESTGUEST" --cmdline "bench=3 exit=0"
expect_status 1
check_json two.json
python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
names = sorted(e["args"]["name"] for e in ev if e["name"] == "thread_name")
assert names == ["vCPU 0", "vCPU 1"], names
' two.json || fail "no track per vCPU"
kv run "$TESTGUEST" --cmdline "mark=nothing bench=3 exit=0"
expect_status 1
expect_out "bench: 3 exits"

# 4. A file kvmlab cannot write: refused before the guest starts.
kv run --trace /nonexistent/dir/t.json "$TESTGUEST" --cmdline "exit=0"
expect_status 1
expect_err "--trace: cannot write '/nonexistent/dir/t.json'"
expect_no_out "hello"
exit 0
