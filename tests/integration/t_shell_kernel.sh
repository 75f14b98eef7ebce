#!/bin/bash
# The built-in guest as a user meets it (`make run`): the teaching kernel's shell (guest/user/sh.c) on the
# console, typed into through kvmlab's stdin. Banner and prompt, help, the book's experiments by name,
# busybox's ps and free while a job runs and after it, pipelines, redirections, cd, a background job and
# wait, Ctrl-C (0x03) ending the experiment in the foreground but not the shell ($? is 130), and exit N
# ending kvmlab with N.
# Keys are typed only once the guest has printed what comes before them (lib.sh's console_start).
. "$(dirname "$0")/lib.sh"

console_start --mem 256M
trap 'kill $vm 2>/dev/null' EXIT # a failed check ends the VM too, not the hang guard
# cmd LINE [PROMPT]: type LINE and Enter, wait until it ran and the prompt (default the one in /) is back;
# what it printed is then in the file `last`.
cmd() {
	local from=$mark
	type_ "$1"$'\n'
	wait_for "${2:-kvmlab:/\$ }"
	tail -c +$((from + 1)) "$OUT" | head -c $((mark - from)) | tr -d '\r' >last
}
last_has() { grep -qF -- "$1" last || fail "after [$2]: no [$1] in: $(cat last)"; }

wait_for "kvmlab shell on the teaching kernel"
wait_for "kvmlab:/$ "
expect_out "Type 'help' for the book's experiments"
expect_out "'exit' ends the VM (kvmlab exits with its status); Ctrl-A x quits kvmlab."

# help: every experiment of the book, each a program in /bin.
cmd help
for e in fork fork-exec zombie orphan intignore sched sched-nice demand-paging cow shm mmap cache; do
	grep -q "^  $e .*ch\.[0-9]" last || fail "help lacks $e: $(cat last)"
done
cmd 'ls /bin'
for e in fork fork-exec zombie orphan intignore sched sched-nice demand-paging cow shm mmap cache; do
	grep -qx -- "$e" last || grep -qw -- "$e" last || fail "/bin lacks $e"
done

# The experiments by name, their lines and rows.
cmd fork
last_has "before fork: pid" fork
grep -q $'^@fork\tchild\t' last || fail "fork: no child row: $(cat last)"
last_has "parent: pid" fork
cmd zombie
last_has "(zombie)" zombie
grep -q $'^@zombie\tafter-wait\t[0-9]*\t-' last || fail "zombie: not gone after wait: $(cat last)"
cmd 'sched 2 50'
last_has "2 process(es) on CPU 0, each 50 ms of work" "sched 2 50"
[ "$(grep -c '^child [01] (pid [0-9]*) finished 50 ms of work' last)" = 2 ] || fail "sched 2 50: $(cat last)"
last_has "all done after" "sched 2 50"
cmd 'demand-paging 10'
grep -q '^@demand-paging' last || fail "demand-paging 10: no rows: $(cat last)"
last_has "minor faults" "demand-paging 10"

# A background job: its [1] PID line, ps and free while it runs, wait, ps after.
cmd 'sched 1 2000 &'
bg=$(sed -n 's/^\[1\] \([0-9][0-9]*\)$/\1/p' last)
[ -n "$bg" ] || fail "no [1] PID line for the background job: $(cat last)"
cmd ps
grep -qE "^ *$bg .*sched 1 2000" last || fail "ps does not show the background job $bg: $(cat last)"
grep -qE "^ *1 root +/bin/sh" last || fail "ps does not show the shell as pid 1, root's: $(cat last)"
cmd free
grep -qE '^Mem: +[0-9]+ +[0-9]+ +[0-9]+' last || fail "free: $(cat last)"
cmd id # /etc/passwd and getgroups
last_has "uid=0(root) gid=0(root)" id
cmd 'wait; echo waited=$?'
last_has "waited=0" wait
last_has "all done after" "sched 1 2000 &"
cmd ps
grep -q "sched" last && fail "the finished job is still in ps: $(cat last)"

# Pipelines, redirections, cd.
n=$(cpio -it --quiet <"$GUESTS/initramfs.cpio" | grep -c '^bin/[^/]*$')
cmd 'ls /bin | wc -l'
grep -qx " *$n" last || fail "ls /bin | wc -l is not $n: $(cat last)"
cmd 'echo x > /tmp/f; cat /tmp/f; echo y >> /tmp/f; wc -l < /tmp/f'
grep -qx x last || fail "echo x > /tmp/f; cat /tmp/f: $(cat last)"
grep -qx " *2" last || fail ">> and <: $(cat last)"
cmd 'cd /tmp; pwd' 'kvmlab:/tmp$ '
grep -qx /tmp last || fail "cd /tmp; pwd: $(cat last)"
cmd 'cat f | wc -l' 'kvmlab:/tmp$ '
grep -qx " *2" last || fail "a relative path after cd: $(cat last)"
cmd 'cd /'

# Ctrl-C: ends the experiment in the foreground (its first line is out), not the shell.
type_ $'sched 1 100000\n'
wait_for "1 process(es) on CPU 0, each 100000 ms of work"
sleep 1
type_ $'\003'
wait_for "kvmlab:/$ "
cmd 'echo st=$?'
last_has "st=130" "^C"
cmd 'echo still here'
last_has "still here" "^C"

# exit N ends the VM, and kvmlab's status is N.
type_ $'exit 3\n'
console_end
expect_out "kernel: init (sh) exited with status 3, ending the VM"
expect_status 3
if grep -aq "^oops: " "$OUT"; then # show where: the first 40 lines do not
	grep -a -A30 "^oops: " "$OUT" | tr -d '\r' >oops
	fail "a kernel oops: $(cat oops)"
fi
exit 0
