#!/bin/bash
# t_busybox: Debian's busybox-static (glibc) as the teaching kernel's shell. `init=/bin/busybox sh` on the
# built-in initramfs, typed at through the console: pipelines, redirection, the everyday applets, ps's
# states, free against /proc/meminfo, sleep's length, the date, and job control (^Z, bg, fg, ^C).
# glibc forks with clone and runs system() through clone3(CLONE_VM | CLONE_VFORK): clone.c.
. "$(dirname "$0")/lib.sh"

if ! cpio -t <"$GUESTS/initramfs.cpio" 2>/dev/null | grep -qx "bin/busybox"; then
	echo "SKIP: the built-in initramfs has no busybox (Debian's busybox-static was not installed)"
	exit 0
fi

# The console through a FIFO (lib.sh's console_start, wait_for, type_): busybox's shell reads it.
start_vm() { console_start --mem 128M --cmdline "init=/bin/busybox sh"; }

# 1. A script typed at once. Echo and the prompt go first, so what the shell prints is easy to find; every asserted line is computed, so the echoed command cannot match it.
# (Under 1024 bytes: the terminal's line buffer holds what is typed ahead.)
cat >"$TMPDIR/script" <<'EOF'
stty -echo; PS1=
echo pipe=$(seq 1 100 | grep 7 | wc -l)
echo abc >/tmp/f; echo def >>/tmp/f; echo lines=$(wc -l </tmp/f); tr a-z A-Z </tmp/f
mkdir /tmp/d && cp /tmp/f /tmp/d/g && mv /tmp/d/g /tmp/d/h && ls /tmp/d && rm -r /tmp/d && echo rm=$?
echo hello world | sed 's/wor\(ld\)/X\1/'; echo 3 4 | awk '{print "awk=" $1*$2}'
find /etc -name 'pass*'; env | grep ^PATH=; head -n 1 /etc/passwd | cut -d: -f1,6
awk 'BEGIN { print "system=" system("/bin/false") }'
ash -c 'sleep 0 & exec sleep 3' & sleep 1; ps -o pid,ppid,stat,comm
free; grep -E 'Mem(Total|Free)' /proc/meminfo; df /
a=$(cut -d' ' -f1 /proc/uptime); sleep 1; echo "slept $a $(cut -d' ' -f1 /proc/uptime)"
sleep 30 & sleep 1; kill $!; wait $!; echo killed=$?
echo date=$(date -u +%s) dmesg=$(dmesg | grep -c 'kvmlab teaching kernel'); id; mount
wait; exit 7
EOF
[ "$(wc -c <"$TMPDIR/script")" -lt 1024 ] || fail "the script is too long for the terminal's buffer"
start_vm
wait_for "built-in shell (ash)"
cat "$TMPDIR/script" >&3
console_end
hostnow=$(date -u +%s)
tr -d '\r' <"$OUT" | sed 's/^~ # //' >"$TMPDIR/o" # the first prompts, before PS1=
mv "$TMPDIR/o" "$OUT"
expect_status 7
expect_out "kernel: starting init: /bin/busybox (pid 1, 2 args)"
expect_out "built-in shell (ash)"
for line in pipe=19 lines=2 ABC DEF h rm=0 "hello Xld" awk=12 /etc/passwd root:/ system=1 killed=143 \
	"uid=0(root) gid=0(root)" "ramfs on / type ramfs (rw)" "proc on /proc type proc (rw)"; do
	grep -qx -- "$line" "$OUT" || fail "no line: $line"
done
grep -q '^PATH=/' "$OUT" || fail "env has no PATH"
grep -Eq '^date=[0-9]+ dmesg=1$' "$OUT" || fail "dmesg does not show the kernel's banner"
# ps: init (the shell) sleeps in wait4, ps runs, the job's `sleep 3` sleeps, and its child `sleep 0`,
# which it never waits for, is a zombie of it.
awk '$3 == "S" && $4 == "busybox" && $1 == 1 { ok = 1 } END { exit !ok }' "$OUT" || fail "ps: no sleeping pid 1"
awk '$3 == "R" && $4 == "ps" { ok = 1 } END { exit !ok }' "$OUT" || fail "ps: not running itself"
awk '$3 == "S" && $4 == "sleep" { s[$1] = 1 } $3 == "Z" && $4 == "sleep" { z[$2] = 1 }
	END { for (p in z) if (p in s) ok = 1; exit !ok }' "$OUT" || fail "ps: no zombie child of a sleeping sleep"
# free's total is /proc/meminfo's MemTotal (both kB); its free within 2 MiB of MemFree a moment later;
# df's ramfs has all of it.
total=$(awk '$1 == "Mem:" { print $2 }' "$OUT")
free=$(awk '$1 == "Mem:" { print $4 }' "$OUT")
mtotal=$(awk '$1 == "MemTotal:" { print $2 }' "$OUT")
mfree=$(awk '$1 == "MemFree:" { print $2 }' "$OUT")
dtotal=$(awk '$1 == "ramfs" && $6 == "/" { print $2 }' "$OUT")
[ -n "$total" ] && [ "$total" = "$mtotal" ] || fail "free's total $total kB, MemTotal $mtotal kB"
[ "$total" -gt $((126 * 1024)) ] && [ "$total" -le $((128 * 1024)) ] || fail "free: $total kB of 128M"
d=$((free - mfree)); [ ${d#-} -lt 2048 ] || fail "free's free $free kB, MemFree $mfree kB"
[ -n "$dtotal" ] && d=$((dtotal - total)) && [ ${d#-} -lt 16 ] || fail "df: ramfs of $dtotal kB"
# sleep 1 takes at least a second by /proc/uptime (and not forever)
awk '$1 == "slept" { d = $3 - $2; ok = d >= 1.0 && d < 5 } END { exit !ok }' "$OUT" ||
	fail "sleep 1 did not take 1-5 s by /proc/uptime"
# the date is the host's (the RTC), within the run's length
guest=$(sed -n 's/^date=\([0-9]*\) .*/\1/p' "$OUT")
[ -n "$guest" ] && [ $((hostnow - guest)) -ge 0 ] && [ $((hostnow - guest)) -lt 600 ] ||
	fail "date: guest $guest, host $hostnow"
# What glibc needs at start and for fork is there: no exit line lists it as missing.
! grep "unimplemented syscalls" "$OUT" | grep -Eq "clone|vfork|wait4|prlimit|getrandom|prctl|robust|rseq|syslog|statfs" ||
	fail "a busybox applet lacked a system call"
expect_no_out "oops"

# 1b. The calls underneath, checked one by one (guest/user/kclone.c; it runs on Linux too): clone's
# CLONE_PARENT_SETTID, CLONE_CHILD_SETTID and exit signal, threads refused, vfork's waiting parent,
# clone3, rlimits, getrandom, prctl's name, the date.
kv run --cmdline "init=/bin/kclone"
expect_status 0
expect_out "kclone: 0 failed"
expect_no_out "FAIL"
[ "$(grep -c '^ok: ' "$OUT")" -ge 20 ] || fail "kclone: fewer than 20 checks passed"
expect_out "kernel: init (a-very-long-pro) exited with status 0"

# 2. Job control, typed after each prompt (kvmlab reads a FIFO): ^Z stops the foreground job (its own
# process group, the terminal's foreground; ps says T), bg continues it in the background, fg brings it back,
# ^C kills it (status 130); ^C kills a plain foreground command too, and the shell lives on.
start_vm
wait_for "built-in shell (ash)"
type_ "ash -c 'echo job\$((1+1)); exec sleep 60'\r"
wait_for "job2"
sleep 1
type_ '\032' # ^Z
wait_for "Stopped"
type_ 'ps -o pid,stat,comm; echo stopped$((2+2)); bg; echo bg$((3+3))\r'
wait_for "bg6"
expect_out "stopped4"
tr -d '\r' <"$OUT" | grep -Eq '^ +[0-9]+ T +sleep$' || fail "ps: the stopped job is not T"
type_ 'jobs; echo jobs$((4+4))\r'
wait_for "jobs8"
tr -d '\r' <"$OUT" | grep -Eq '^\[1\]\+ +Running +ash -c' || fail "jobs: the job is not running after bg"
type_ 'fg\r'
sleep 3
type_ '\003' # ^C
type_ 'echo rc=$?\r'
wait_for "rc=130"
type_ 'sleep 60\r'
sleep 3
type_ '\003'
type_ 'echo rc2=$?\r'
wait_for "rc2=130"
type_ 'exit 5\r'
console_end
expect_status 5
expect_no_out "oops"
exit 0
