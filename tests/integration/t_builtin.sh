#!/bin/bash
# The built-in guest (issue 7): with no kernel named, kvmlab boots the teaching kernel it carries, with
# its built-in initramfs (scripts/initramfs.sh) and /bin/sh (guest/user/sh.c) as init; init=PROG runs
# one program unattended, its exit status is kvmlab's; --initrd replaces the built-in initramfs.
# (Typing into the shell needs the kernel's console input: tested once that is in.)
. "$(dirname "$0")/lib.sh"
size=$(stat -c %s "$GUESTS/initramfs.cpio")

# No kernel, no command line: the built-in initramfs is module 0, the shell starts as init,
# interactive on the console (the kernel's TCGETS says terminal): banner and prompt; the end of
# its input ends it, status 0.
kv run
expect_status 0
expect_out "kvmlab teaching kernel"
expect_out "module: $size bytes at"
expect_out "kernel: starting init: /bin/sh (pid 1, 1 args)"
expect_out "kvmlab shell on the teaching kernel"
expect_out "Type 'help' for the book's experiments"
expect_out "'exit' ends the VM (kvmlab exits with its status); Ctrl-A x quits kvmlab."
expect_out "kvmlab:/$ " # the prompt: the shell and its working directory
expect_out "kernel: init (sh) exited with status 0, ending the VM"

# One experiment unattended, with its exit status as kvmlab's.
kv run --cmdline "init=/bin/fork"
expect_status 0
expect_out "kernel: starting init: /bin/fork (pid 1, 1 args)"
expect_out "before fork: pid 1"
grep -q "^@fork	child	2	1" "$OUT" || fail "no @fork row of the child (pid 2, ppid 1)"
kv run --cmdline "init=/bin/hello a b"
expect_status 7
expect_out "hello from /bin/hello, argc 3"

# The shell with -c: "..." keeps the command one argument; the shell's status is the VM's.
kv run --cmdline 'init=/bin/sh -c "fork; exit 3"'
expect_status 3
expect_out "kernel: starting init: /bin/sh (pid 1, 3 args)"
grep -q "^@fork	child	3	2" "$OUT" || fail "fork did not run as the shell's child (pid 2, its child 3)"
expect_no_out "kvmlab shell" # -c: not interactive, no banner
expect_out "kernel: init (sh) exited with status 3, ending the VM"

# PATH search (/bin by default), $?, && and ||, a background job and wait, a missing program.
kv run --cmdline 'init=/bin/sh -c "hello x && echo no || echo st=$?; nosuch; echo nf=$?; hello y & wait $!; echo bg=$?; X=1; echo ${X}2"'
expect_status 0
expect_out "hello from hello, argc 2"
expect_out "st=7"
expect_out "sh: nosuch: not found"
expect_out "nf=127"
expect_out "hello from hello, argc 2"
expect_out "argv[1] = y"
expect_out "bg=7"
grep -qx $'12\r\\?' "$OUT" || fail "\${X}2 is not 12" # (the console's lines end in \r\n)
grep -qx $'no\r\\?' "$OUT" && fail "&& ran after a failure"

# help lists the experiments of the built-in initramfs.
kv run --cmdline 'init=/bin/sh -c help'
expect_status 0
for e in fork zombie "sched N" sched-nice demand-paging cow shm cache; do
	grep -q "^  $e .*ch\.[0-9]" "$OUT" || fail "help lacks $e"
done

# --initrd replaces the built-in initramfs (no /bin/sh in this one: status 4, no init).
mkdir root && cp "$REPO/build/user/hello" root/
(cd root && find . | cpio -o -H newc --quiet) >mine.cpio
kv run --initrd mine.cpio --cmdline "init=/hello"
expect_status 7
expect_out "module: $(stat -c %s mine.cpio) bytes at"
kv run --initrd mine.cpio
expect_status 4
expect_out "cannot run init /bin/sh"

# The built-in initramfs: sorted, reproducible, with the shell, every program and empty directories.
cpio -it --quiet <"$GUESTS/initramfs.cpio" >list
for f in bin/sh bin/fork bin/sched bin/demand-paging bin/cow bin/zombie bin/hello proc dev tmp etc/motd; do
	grep -qx "$f" list || fail "initramfs lacks $f"
done
LC_ALL=C sort -c list || fail "initramfs not sorted"
if [ -x /bin/busybox ]; then
	grep -qx bin/busybox list || fail "busybox is installed but not in the initramfs"
	for a in ls cat echo ps free; do grep -qx "bin/$a" list || fail "no applet $a"; done
fi
"$REPO/scripts/initramfs.sh" again.cpio "$REPO"/build/user/* 2>/dev/null
cmp -s again.cpio "$GUESTS/initramfs.cpio" || fail "the initramfs is not reproducible"
# A script piped into kvmlab reaches the shell whole, even the bytes that arrive while the kernel is
# still booting (far more than the UART's 16-byte FIFO), and the end of the pipe ends the shell.
long=$(printf 'x%.0s' $(seq 300))
printf 'echo first %s\necho second line\nexit 5\n' "$long" >script
kv run <script
expect_status 5
expect_out "first $long"
expect_out "second line"
printf 'echo no exit here\n' >script
kv run <script
expect_status 0
expect_out "no exit here"

exit 0
