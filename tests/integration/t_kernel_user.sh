#!/bin/bash
# The teaching kernel's user mode (docs/kernel.md): init=PATH from a cpio newc
# initramfs, a static musl program entered in ring 3, system calls through
# `syscall` with the Linux ABI, the program's exit status as kvmlab's.
. "$(dirname "$0")/lib.sh"
KERNEL=$GUESTS/kernel.elf
USER=$REPO/build/user

# The initramfs: the programs at its root, as `cpio -o -H newc` writes them.
mkdir -p "$TMPDIR/root/bin"
cp "$USER/hello" "$USER/kfault" "$USER/fork" "$USER/fork-exec" "$TMPDIR/root/"
cp "$USER/hello" "$TMPDIR/root/bin/greet"
(cd "$TMPDIR/root" && find . | cpio -o -H newc --quiet) >"$TMPDIR/init.cpio"

# hello: argv from the command line (key=value words are the kernel's), stdio
# output, exit status 7 through port 0x501.
kv run --mem 64M --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/hello a tick_ms=4 b"
expect_status 7
[ -s "$ERR" ] && fail "a guest-requested exit should print nothing on stderr"
expect_out "kernel: starting init: /hello (pid 1, 3 args)"
expect_out "hello from /hello, argc 3"
expect_out "argv[1] = a"
expect_out "argv[2] = b"
expect_no_out "argv[3]"
expect_out "kernel: pid 1 (hello) exited with status 7, no unimplemented syscalls"
expect_out "kernel: init (hello) exited with status 7, ending the VM"

# A path in a directory, no arguments.
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/bin/greet"
expect_status 7
expect_out "hello from /bin/greet, argc 1"

# Bad pointers are EFAULT, not a kernel fault; an unimplemented call is ENOSYS
# and the kernel lists it when the process exits.
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/kfault"
expect_status 0
expect_out "write(1, 0x10, 5) = -1, errno 14"
expect_out "write(1, kernel address, 5) = -1, errno 14"
expect_out "acct() = -1, errno 38"
expect_out "uname: kvmlab x86_64, clock: moves"
expect_out "child 2: waitpid 2, killed by signal 11"
expect_out "kernel: pid 2 (kfault): #PF page fault (vector 14) at rip 0x"
expect_out ", address 0x10: killed"
expect_out "after fork: the child saw 2, the parent sees 1"
# No page leaks: after two forked children (one killed, one after a copy-on-write
# write) are reaped, sysinfo's free memory is what it was before.
sys_line=$(tr -d '\r' <"$OUT" | grep '^free memory before the children')
[[ "$sys_line" == *": same" ]] || fail "pages leaked: $sys_line"
expect_out "back in the parent: the spinning child 4 was preempted"
expect_out "kfault: ok"
expect_out "kernel: pid 1 (kfault) exited with status 0, unimplemented syscalls (-ENOSYS): acct(163) x1"
expect_no_out "oops"

# fork (a copy of the address space, the child's syscall returns 0) and wait4:
# the book's fork experiment, unchanged.
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/fork"
expect_status 0
expect_out "before fork: pid 1"
expect_out "child:  pid 2, parent 1 (fork returned 0 here)"
expect_out "parent: pid 1, child 2 (fork returned the child's pid)"
expect_out "kernel: pid 2 (fork) exited with status 0, no unimplemented syscalls"
# The child's lines come before the parent's (the parent waits).
[ "$(grep -n '^child: ' "$OUT" | cut -d: -f1)" -lt "$(grep -n '^parent: ' "$OUT" | cut -d: -f1)" ] ||
	fail "the parent printed before the child ended"

# execve: the child becomes /hello with its own arguments; the parent gets 7.
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/fork-exec /hello x y"
expect_status 1
expect_out "child:  pid 2, about to execve /hello"
expect_out "hello from /hello, argc 3"
expect_out "argv[2] = y"
expect_out "kernel: pid 2 (hello) exited with status 7"
expect_out "parent: pid 1, child 2 ended with status 7"
# A program that is not there: execve fails with ENOENT, the child exits 127.
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/fork-exec /nonexistent"
expect_status 1
expect_out "execve /nonexistent: No such file or directory"
expect_out "parent: pid 1, child 2 ended with status 127"

# No init: the default /bin/sh is not in this archive, or there is no archive.
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL"
expect_status 4
expect_out "kernel: cannot run init /bin/sh: no such file in the initramfs"
kv run "$KERNEL" --cmdline "init=/hello"
expect_status 4
expect_out "(no initramfs: kvmlab run --initrd FILE)"

# Self-tests first, then init (procs: kernel threads; then a user process).
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "selftest=procs init=/hello x"
expect_status 7
expect_out "slices: ok"
expect_out "hello from /hello, argc 2"
exit 0
