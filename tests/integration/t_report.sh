#!/bin/bash
# kvmlab report: a trace of a guest with known exits becomes one self-contained HTML page
# whose tables hold, per vCPU, in all and per phase between the markers, the counts of --stats;
# a cut-short trace gets one clear error and a non-zero status.
. "$(dirname "$0")/lib.sh"

kv run --trace t.json --stats "$TESTGUEST" --cmdline "mark=start bench=300 mark=end exit=0"
expect_status 1
expect_out "bench: 300 exits"
cp "$ERR" stats.txt
kv report t.json -o report.html
expect_status 0
[ -s report.html ] || fail "no report.html"

# The numbers: every table of the page against the same run's --stats (all vCPUs, each phase).
python3 - report.html stats.txt <<'PYEOF' || fail "the report does not match --stats (above)"
import html.parser, re, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.cur, self.tags, self.marks = {}, None, set(), []
    def handle_starttag(self, tag, a):
        a = dict(a)
        self.tags.add(tag)
        if tag == "table" and ("data-vcpu" in a or "data-phase" in a):
            self.cur = ("vcpu:" + a["data-vcpu"]) if "data-vcpu" in a else ("phase:" + a["data-phase"])
            self.tables[self.cur] = {"total": int(a["data-total"]), "rows": {}}
        if tag == "tr" and "data-key" in a:
            self.tables[self.cur]["rows"][a["data-key"]] = int(a["data-samples"])
        if tag == "tr" and "data-rss-kib" in a:
            self.marks.append(int(a["data-rss-kib"]))
p = P()
page = open(sys.argv[1], encoding="utf-8").read()
p.feed(page)
assert "script" not in p.tags and "http://" not in page.replace("http://www.w3.org/2000/svg", ""), "not self-contained"
assert page.count("<svg") >= 3, "fewer than 3 pictures"
# --stats' tables: "All vCPUs:" and each 'Phase "X":' up to its "Total samples".
stats, cur = {}, None
for line in open(sys.argv[2]):
    line = line.rstrip("\n")
    m = re.match(r'^Phase "(.*)":$', line)
    if line == "All vCPUs:":
        cur = "vcpu:all"; stats[cur] = {}
    elif m:
        cur = "phase:" + m.group(1); stats[cur] = {}
    elif line.startswith("Total samples") or line.startswith("=== end"):
        cur = None
    elif cur and re.match(r"^\s+\S+\s+\d+\s", line):
        k, n = line.split()[:2]; stats[cur][k] = int(n)
want = {"vcpu:all", "phase:(before the first marker)", "phase:start", "phase:end"}
assert want <= set(stats), sorted(stats)
assert want <= set(p.tables), sorted(p.tables)
for t in want:
    assert p.tables[t]["rows"] == stats[t], (t, p.tables[t]["rows"], stats[t])
    assert p.tables[t]["total"] == sum(stats[t].values()), t
assert p.tables["vcpu:0"]["rows"] == stats["vcpu:all"], "one vCPU: its table is the total"
assert p.tables["phase:start"]["rows"]["port:0x80/POUT"] == 300
assert "port:0x80/POUT" not in p.tables["phase:(before the first marker)"]["rows"]
assert p.tables["phase:end"]["rows"]["port:0xf4/POUT"] == 1
# The timeline marks both labels.
assert re.search(r'<line class="marker"[^>]*/><text[^>]*>start</text>', page), "no start marker"
assert re.search(r'<line class="marker"[^>]*/><text[^>]*>end</text>', page), "no end marker"
# The markers table: kvmlab's RSS at start and end, the very reading --stats noted at the same markers.
srss = [int(m.group(1)) for m in re.finditer(r"^\s+0\s+[\d.]+\s+(?:start|end)\s+(-?\d+)\s", open(sys.argv[2]).read(), re.M)]
assert len(p.marks) == 2 and len(srss) == 2, (p.marks, srss)
for got, want in zip(p.marks, srss):
    assert want > 1000 and got == want, ("RSS at the markers", p.marks, srss)
PYEOF

# A trace cut short (as a SIGKILLed kvmlab leaves it): one clear error, status 1, no page.
head -c "$(( $(stat -c %s t.json) / 2 ))" t.json >cut.json
kv report cut.json -o cut.html
expect_status 1
expect_err "kvmlab report: 'cut.json' is not a usable kvmlab trace: the file ends in the middle"
[ "$(wc -l <"$ERR")" -eq 1 ] || fail "more than one line of error"
[ ! -e cut.html ] || fail "a page from a cut trace"
# A corrupt event: where it is and what is wrong.
sed -E '0,/"dur":[0-9.]+/s//"dur":"x"/' t.json >bad.json
kv report bad.json -o bad.html
expect_status 1
expect_err "\"dur\" is not a number"
kv report missing.json -o m.html
expect_status 1
expect_err "cannot read 'missing.json'"
kv report t.json
expect_status 2
expect_err "no output file"
exit 0
