#!/bin/bash
# The experiment programs (guest/user/, docs/experiments.md) in the teaching kernel, kvmlab's built-in
# guest: each runs as init (`kvmlab run --mem 1G --cmdline "init=/bin/NAME ARGS"`) and must show the
# same phenomena as on Linux (the checks: experiments.sh, shared with t_experiments_host.sh). The
# experiment's processes must exit without having made a system call the kernel lacks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/experiments.sh"
: "${REPO:?}"

# program_output: $OUT without the kernel's lines: the boot messages up to "kernel: starting init:" and,
# after it, the kernel's own lines (exits, faults), which all start with "kernel: ".
program_output() {
	tr -d '\r' <"$OUT" | awk 'started && !/^kernel: / { print } /^kernel: starting init:/ { started = 1 }'
}

# ex NAME [ARGS...]: boot the teaching kernel with init=/bin/NAME ARGS; the program's output to $OUT (and
# $TMPDIR/NAME.out), the whole console to $TMPDIR/NAME.console. Fails unless the VM ended with init's
# status 0 and no process of the experiment hit an unimplemented system call.
ex() {
	local name=$1 t0=${EPOCHREALTIME/[.,]/}
	shift
	kv run --mem 1G --cmdline "init=/bin/$name${*:+ $*}"
	tr -d '\r' <"$OUT" >"$TMPDIR/$name.console"
	echo "$name${*:+ $*}: $(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) ms"
	[ "$status" = 0 ] || fail "$name $* exited with $status"
	expect_out "kernel: init ($name) exited with status 0, ending the VM"
	! grep -F "($name) exited with status" "$TMPDIR/$name.console" | grep -F 'unimplemented syscalls (-ENOSYS)' ||
		fail "$name $*: the experiment made a system call the kernel lacks"
	# Another program it runs (fork-exec's /bin/echo: Debian's glibc-static busybox, whose start-up
	# probes set_robust_list, rseq, prlimit64, getrandom, prctl and goes on without them): a note.
	grep -F 'unimplemented syscalls (-ENOSYS)' "$TMPDIR/$name.console" | sed 's/^/note: /' || true
	program_output >"$TMPDIR/$name.out"
	cp "$TMPDIR/$name.out" "$OUT"
}

# kernel_cat FILE: mmap FILE, then cat it in a second program of the same VM (the RAM filesystem
# lives as long as the VM): the last line of the programs' output.
kernel_cat() {
	kv run --mem 1G --cmdline "init=/bin/sh -c \"mmap $1 && cat $1\""
	[ "$status" = 0 ] || fail "sh -c 'mmap $1 && cat $1' exited with $status"
	program_output | tail -n 1
}

check_fork
check_fork_exec
check_zombie
check_orphan
check_intignore
check_sched
check_sched_nice
check_demand_paging
check_cow
# The kernel's /proc/PID/smaps_rollup (procfs.c): the child's own view, of the last cow run, must show
# it too: its 100 MiB shared after fork, private once written.
check "cow: the child's smaps_rollup, private $p1 -> $p2 KiB, shared $s1 -> $s2 KiB" \
	"$p1 < 2048 && $s1 >= 100 * 1024 && $p2 >= 100 * 1024 && $s2 < 2048"
check_shm

# The book's mmap: a file in the RAM filesystem mapped MAP_SHARED; the store reaches the file
# (read back by cat in the same VM).
check_mmap /tmp/mapped.txt kernel_cat

check_cache
exit 0
