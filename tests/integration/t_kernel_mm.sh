#!/bin/bash
# The teaching kernel's virtual memory (guest/kernel/mm.c, docs/kernel.md): the
# book's chapter-5 phenomena measured by guest/user/kmem from user mode.
#
# How memory is measured (kmem.c says it too): used/freed_kib is the change of
# sysinfo's freeram, the kernel's count of free page frames, so every frame
# given (pages and page tables) counts; rss_kib is the growth of getrusage's
# ru_maxrss, the largest resident set so far: an upper bound of how much the
# resident set grew. minflt is ru_minflt. The thresholds are the book's.
. "$(dirname "$0")/lib.sh"
KERNEL=$GUESTS/kernel.elf
USER=$REPO/build/user

mkdir -p "$TMPDIR/root"
cp "$USER/kmem" "$USER/hello" "$USER/kfault" "$TMPDIR/root/"
(cd "$TMPDIR/root" && find . | cpio -o -H newc --quiet) >"$TMPDIR/init.cpio"

# The value of NAME= on the line that starts with PREFIX.
val() {
	local line
	line=$(tr -d '\r' <"$OUT" | grep -m1 -F -- "$1") || fail "no line: $1"
	line=${line#*"$1"}
	[[ "$line" =~ (^|[ ,:])$2=(-?[0-9]+) ]] || fail "no $2= after: $1"
	echo "${BASH_REMATCH[2]}"
}
# check DESCRIPTION VALUE OP LIMIT: fail unless VALUE OP LIMIT (an arithmetic test).
check() {
	[[ "$2" =~ ^-?[0-9]+$ && "$4" =~ ^-?[0-9]+$ ]] || fail "$1: not numbers: $2 / $4"
	(($2 $3 $4)) || fail "$1: $2, expected $3 $4"
	echo "ok: $1: $2 $3 $4"
}

kv run --mem 512M --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/kmem"
tr -d '\r' <"$OUT" | grep -v '^kernel: pid' | sed 's/^/  | /'
expect_status 0
expect_no_out "oops"
expect_out "kmem: done"

# Demand paging: mmap gives no memory, the first touch of each page does.
check "mmap 100 MiB: RSS growth (KiB)" "$(val "mmap 100 MiB:" rss_kib)" "<" 1024
check "mmap 100 MiB: frames used (KiB)" "$(val "mmap 100 MiB:" used_kib)" "<" 1024
check "touch 100 MiB: minor faults" "$(val "touched 100 MiB:" minflt)" ">=" 25600
check "touch 100 MiB: RSS growth (KiB)" "$(val "touched 100 MiB:" rss_kib)" ">=" 102400
check "touch 100 MiB: frames used (KiB)" "$(val "touched 100 MiB:" used_kib)" ">=" 102400
check "touch 100 MiB: frames used (KiB)" "$(val "touched 100 MiB:" used_kib)" "<" 106496

# Copy-on-write: fork copies page tables, the child's writes copy the pages.
check "fork with 100 MiB: frames used (KiB)" "$(val "after fork:" used_kib)" "<" 2048
check "child writes 100 MiB: frames used (KiB)" "$(val "cow child:" used_kib)" ">=" 100000
check "child writes 100 MiB: frames used (KiB)" "$(val "cow child:" used_kib)" "<" 106496
check "child writes 100 MiB: minor faults (COW copies)" "$(val "cow child:" minflt)" ">=" 25600
expect_out "parent after the child wrote: sees=1 exit=0"
check "munmap 100 MiB: frames back (KiB)" "$(val "munmap 100 MiB:" freed_kib)" ">=" 102400

# MAP_SHARED is the same memory after fork (also a page the child touched
# first); MAP_PRIVATE is the child's own copy.
expect_out "shared: parent_sees=42,43 private: parent_sees=1,0 (child ok)"

# SIGSEGV (wait status: signal 11): after munmap, against mprotect, PROT_NONE.
expect_out "munmap child: touching the unmapped page"
expect_out "munmap child: signal=11"
expect_out "mprotect child: mprotect=0 read=1, writing"
expect_out "mprotect child: signal=11"
expect_out "prot_none child: signal=11"

# The kernel writing into user memory faults pages in as a user write would:
# a page never touched (counted as one minor fault), a copy-on-write page
# after fork (the parent keeps its bytes).
expect_out "kwrite fresh: clock_gettime=0 minflt=1 sec_nonzero=1"
expect_out "kwrite child: uname=0 sysname=kvmlab minflt=1"
expect_out "kwrite parent: sees=parent"

# MAP_POPULATE faults in at mmap time; MADV_DONTNEED gives the pages back
# (zeros on the next read); brk grows lazily and shrinks.
check "MAP_POPULATE 1 MiB: faults at mmap" "$(val "populate 1 MiB:" minflt)" ">=" 256
check "MAP_POPULATE 1 MiB: faults after" "$(val "populate 1 MiB:" then_touch_minflt)" "==" 0
check "madvise(DONTNEED) 1 MiB: frames back (KiB)" "$(val "madvise:" freed_kib)" ">=" 1024
check "madvise(DONTNEED): reads" "$(val "madvise:" reads)" "==" 0
check "brk +10 MiB: moved" "$(val "brk +10 MiB:" moved)" "==" 1
check "brk +10 MiB: frames used before touching (KiB)" "$(val "brk +10 MiB:" used_kib)" "<" 1024
check "brk +10 MiB: minor faults" "$(val "brk +10 MiB:" minflt)" ">=" 2560
check "brk back: frames back (KiB)" "$(val "brk back:" freed_kib)" ">=" 10240
expect_out "mprotect back: r=0,0 value=9"
expect_out "mmap file: failed=1 errno=19"
expect_out "munmap unaligned: r=-1 errno=22"
expect_out "mprotect unmapped: r=-1 errno=12"
expect_out "map_fixed: at=1"
expect_out "hint: free_taken=1 busy_elsewhere=1"

# Garbage arguments (3000 random mmap/munmap/mprotect/madvise/brk calls and
# kernel writes to random addresses): the kernel survives, no frame leaks.
expect_out "garbage child: exit=0"
check "garbage: calls that succeeded" "$(val "garbage child:" calls_ok)" ">" 100
check "garbage: calls that failed" "$(val "garbage child:" calls_failed)" ">" 100
before=$(val "garbage:" free_before_kib)
after=$(val "garbage:" free_after_kib)
check "free memory after the garbage child (KiB)" "$after" "==" "$before"

# Out of memory in a system call (MAP_POPULATE of 4 GiB): -ENOMEM, the
# process goes on, its pages come back.
expect_out "populate 4 GiB: failed=1 errno=12"
expect_out "populate child: exit=0"
before=$(val "populate 4 GiB: memory" free_before_kib)
after=$(val "populate 4 GiB: memory" free_after_kib)
check "free memory after the failed MAP_POPULATE (KiB)" "$after" "==" "$before"

# Out of memory: the process that asked is killed with SIGKILL, the kernel
# lives on, and every frame comes back when it is reaped.
expect_out "oom child: touching 4 GiB"
expect_no_out "oom child: still alive"
expect_out "kernel: out of memory: killed pid "
expect_out "oom child: signal=9"
before=$(val "oom:" free_before_kib)
after=$(val "oom:" free_after_kib)
check "free memory after the OOM kill (KiB)" "$after" "==" "$before"

# The kernel's own check of the VMA code: cuts by mprotect and munmap, the
# /proc/<pid>/maps text (Linux's format), VmSize, fork's COW and shared pages
# through copyin/copyout, and every page back.
kv run --mem 64M "$KERNEL" --cmdline "selftest=mm"
expect_status 0
expect_out "selftest mm: VMAs 8296 KiB, mprotect/munmap cuts, maps text, fork COW and shared: ok"
expect_out "selftest mm: segments sharing a page: ok"
expect_out "selftest mm: free pages "
expect_no_out "FAILED"

# The experiments still run unchanged on top (demand paging under musl's
# start-up, copy-on-write in kfault).
kv run --mem 64M --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/kfault"
expect_status 0
expect_out "kfault: ok"
