#!/bin/bash
# The shell (guest/user/sh.c) on the Linux this test runs on: it is an ordinary static musl program, so
# everything the teaching kernel cannot do yet (files, pipes, reading a terminal) is checked here.
# Quoting and expansion, ; && || and $?, pipelines, redirections, background jobs and their reports,
# builtins, exit statuses, scripts from stdin and from a file.
. "$(dirname "$0")/lib.sh"
SH=$REPO/build/user/sh
[ -x "$SH" ] || fail "$SH is missing: make all"

# sh ARGS...: stdout to $OUT, stderr to $ERR, exit status to $status (stdin: the caller's).
sh_() {
	status=0
	"$SH" "$@" >"$OUT" 2>"$ERR" || status=$?
}
expect_exact() { # the whole stdout
	[ "$(cat "$OUT")" = "$1" ] || fail "stdout is [$(cat "$OUT")], expected [$1]"
}

# Quoting: '...' keeps everything, "..." expands $ but keeps blanks, \ takes the next character.
sh_ -c 'X="a  b"; echo "[$X]" [$X] '\''[$X]'\'' \$X a\ \ b "q\"q" "\\" e\\f'
expect_status 0
expect_exact '[a  b] [a b] [$X] $X a  b q"q \ e\f'
sh_ -c 'echo "${UNSET}" "" x; echo $#:$0:$1:$2' zero one 'two words'
expect_exact '  x
2:zero:one:two words'
sh_ -c 'E=""; printf "<%s>" $E "$E" a; echo'
expect_exact '<><a>' # an unquoted empty value is no word, a quoted one is

# ; && || and $?: && and || chain left to right, $? is the last command's status.
sh_ -c 'false; echo $?; true && echo and; false && echo no; false || echo or; false && echo no || echo st=$?'
expect_exact '1
and
or
st=1'
sh_ -c 'exit 7'
expect_status 7
sh_ -c 'sh -c "exit 300"; echo $?' # exit's status is 0-255
expect_exact 44
sh_ -c 'nosuch-command-x; echo $?; /nonexistent/x; echo $?; /; echo $?'
expect_exact '127
127
126'
grep -q "nosuch-command-x: not found" "$ERR" || fail "no 'not found' message"

# Pipelines of any length: the last command's status, every stage connected.
sh_ -c 'seq 1 200 | grep 7 | sort -rn | head -n 3 | tail -n 1 | tr 1 X'
expect_exact X79
sh_ -c 'echo hi | false; echo $?; false | echo hi; echo $?'
expect_exact '1
hi
0'

# Redirections: < > >> N> N>&M, in order, for programs and builtins alike.
sh_ -c 'echo one >f; echo two >>f; cat <f; wc -l <f >n; cat n; ls /nonexistent-x 2>e >/dev/null; test -s e && echo e-has-it'
expect_exact 'one
two
2
e-has-it'
sh_ -c 'ls /nonexistent-x 2>&1 | wc -l; echo out 1>&2 2>/dev/null'
grep -qx 1 "$OUT" || fail "2>&1 into a pipe"
grep -qx out "$ERR" || fail "1>&2 then 2>/dev/null: stdout goes to the old stderr"
sh_ -c 'cat <missing-file; echo $?'
expect_exact 1
grep -q "cannot open missing-file: No such file or directory" "$ERR" || fail "no message for <missing"
sh_ -c 'echo builtin >b; pwd >>b; cat b' # a builtin's redirection is undone afterwards
[ "$(sed -n 1p "$OUT")" = builtin ] && [ "$(sed -n 2p "$OUT")" = "$TMPDIR" ] || fail "builtin redirections"

# Builtins: cd pwd export unset; assignments before a command go to its environment only.
mkdir -p d/e
sh_ -c 'cd d/e; pwd; cd -; cd; pwd; Y=1 env | grep ^Y=; echo [$Y]; export Z=2; env | grep ^Z=; unset Z; env | grep -c ^Z='
expect_exact "$TMPDIR/d/e
$TMPDIR
$HOME
Y=1
[]
Z=2
0"

# Background jobs: & returns at once, wait gives the status, $! is the job's pid.
sh_ -c 'sleep 1 & echo started; wait $!; echo waited=$?; sh -c "exit 5" & p=$!; wait $p; echo $?; wait'
expect_exact 'started
waited=0
5'
# More background jobs than the table's 16: finished ones nobody waited for make room.
sh_ -c "$(printf 'true & sleep 0.05; %.0s' $(seq 20)) sh -c 'exit 4' & wait \$!; echo \$?"
expect_exact 4
[ -s "$ERR" ] && fail "20 background jobs: $(cat "$ERR")"
start=$(date +%s%N)
sh_ -c 'sleep 2 & echo quick'
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1500 ] || fail "a background job held the shell up"
expect_exact quick
# An interactive shell (-i; here its stdin is a file) reports its jobs as they end, like other shells.
printf 'sleep 0.2 &\nsh -c "exit 3" &\nsleep 1\necho after\nexit 4\n' >script
sh_ -i <script
expect_status 4
expect_out after
grep -q '\[1\] [0-9][0-9]*' "$ERR" || fail "no [1] PID line"
grep -q '\[1\]+ Done	sleep 0.2' "$ERR" || fail "no Done report"
grep -q '\[2\]+ Exit 3	sh -c "exit 3"' "$ERR" || fail "no Exit 3 report"
grep -q "kvmlab shell" "$ERR" || fail "no banner"
grep -q 'kvmlab:.*\$ ' "$ERR" || fail "no prompt"

# A script on stdin: no prompt, multi-line quotes and a | at a line's end continue; the status of
# the last command at the end of input; children may read the rest of stdin.
printf 'echo "two\nlines"\necho a |\ntr a b\nhead -n 1\nthis line is read by head\nfalse\n' >script
sh_ <script
expect_status 1
expect_exact 'two
lines
b
this line is read by head'
[ -s "$ERR" ] && fail "a non-interactive shell printed on stderr: $(cat "$ERR")"
# A script file with arguments; a comment; a syntax error is status 2 and the shell goes on.
printf '# a comment\necho $0 $1 $# # another\necho a | | b\necho next $?\n' >s.sh
sh_ s.sh arg
expect_exact "s.sh arg 1
next 2"
grep -q "syntax error" "$ERR" || fail "no syntax error message"

# Signals: a child killed by a signal is 128 + its number, and the shell says which.
sh_ -c 'sh -c "kill -SEGV \$\$"; echo $?'
expect_exact 139
grep -q "Segmentation fault" "$ERR" || fail "no signal message"
# An interactive shell ignores SIGINT (^C is for the job in the foreground); its children do not.
printf 'kill -INT $$\necho alive\nsh -c "kill -INT \\$\\$"; echo child=$?\n' >script
sh_ -i <script
expect_status 0
expect_out alive
expect_out child=130

# On a terminal (a pty): the shell gives the terminal to the job in the foreground (its own process
# group, tcsetpgrp), so Ctrl-C (the tty's SIGINT to that group) ends the job, not the shell: $? is 130;
# a background job is reported when it ends; Ctrl-\ at the prompt is ignored; exit's status is the shell's.
if command -v python3 >/dev/null; then
	python3 - "$SH" >"$OUT" 2>&1 <<'PY' || fail "on a pty: $(cat "$OUT")"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], ["sh"])
got = ""
def talk(keys, want, t=5.0): # send keys, then wait for want in the output not yet matched
    global got
    os.write(fd, keys)
    end = time.time() + t
    while want not in got and time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            got += os.read(fd, 4096).decode(errors="replace")
    assert want in got, "sent %r, wanted %r, got %r" % (keys, want, got)
    got = got[got.index(want) + len(want):]
talk(b"", "kvmlab shell")
talk(b"", "$ ")
talk(b"sleep 10\n", "sleep 10\r\n")
time.sleep(0.5)
t0 = time.time()
talk(b"\x03", "$ ")
assert time.time() - t0 < 3, "Ctrl-C did not end sleep at once"
talk(b"echo st=$?\n", "st=130")
talk(b"sleep 0.2 &\n", "[1] ")
time.sleep(0.5)
talk(b"\x1c", "^\\")
talk(b"echo x | cat\n", "[1]+ Done\tsleep 0.2")
talk(b"exit 5\n", "exit 5")
_, st = os.waitpid(pid, 0)
assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 5, "status %#x" % st
print("pty ok")
PY
	expect_out "pty ok"
fi

# help: the experiments (here, where /bin holds none of them, no rows), and the builtins.
sh_ -c help
expect_status 0
expect_out "The book's experiments"
expect_out "cd pwd echo export unset wait jobs exit help"
exit 0
