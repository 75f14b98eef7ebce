#!/bin/bash
# The teaching kernel survives a hostile program (issue 7's robustness test, guest/user/torture.c):
# garbage pointers, lengths, fds and flags to every implemented system call, each in a child of its own;
# fork until fork fails and wait for them all; a child touching memory until the kernel kills it, brk
# grown until it refuses; then the kernel's counters (free memory, processes) are where they were.
. "$(dirname "$0")/lib.sh"

kv run --mem 256M --cmdline "init=/bin/torture"
expect_no_out "oops: "
expect_no_out "panic: "
expect_out "kernel: starting init: /bin/torture (pid 1, 1 args)"

# Garbage: every call in the list, 1728 argument sets each; a child may die of its garbage (munmap of its
# own code, rt_sigreturn from a garbage frame) but only by a signal a user program can get.
line=$(grep -a '^torture: garbage to ' "$OUT") || fail "the garbage phase did not finish"
ncalls=$(echo "$line" | sed -n 's/^torture: garbage to \([0-9]*\) system calls x 1728 argument sets: the kernel survived.*/\1/p')
[ -n "$ncalls" ] && [ "$ncalls" -ge 100 ] || fail "garbage to too few system calls: $line"
grep -a '^  call [0-9]* killed its child with signal' "$OUT" | grep -av 'signal 11 (allowed)' &&
	fail "a child died of something else than SIGSEGV"
grep -a '^  call [0-9]*: free memory' "$OUT" && fail "a call kept memory after its child was reaped"

# Fork until it fails (the process table: 64), every child reaped.
n=$(sed -n 's/^torture: forked \([0-9]*\) children until fork failed (Resource temporarily unavailable), all reaped.*/\1/p' "$OUT")
[ -n "$n" ] && [ "$n" -ge 50 ] && [ "$n" -lt 64 ] || fail "the fork phase: [$n]"

# Memory: the kernel kills the child that touches without end (SIGKILL), and says so; brk goes up to
# its 4 GiB limit (nothing is touched) and refuses, and still works after.
expect_out "kernel: out of memory: killed pid"
expect_out "torture: a child touching memory without end: killed by signal 9"
mib=$(sed -n 's/^torture: brk grew by \([0-9]*\) MiB, then refused.*/\1/p' "$OUT")
[ -n "$mib" ] && [ "$mib" -ge 256 ] || fail "brk: [$mib]"

# The counters came back: the same free memory and one process, as before.
grep -aq '^torture: free memory \([0-9]*\) KiB before, \1 KiB after; processes 1 before, 1 after' "$OUT" ||
	fail "the counters did not come back"
expect_out "torture: ok"
expect_out "kernel: init (torture) exited with status 0, ending the VM"
expect_status 0
exit 0
