#!/bin/bash
# The teaching kernel's files (docs/kernel.md): the initramfs as a tree with
# symbolic links, file descriptors, pipes, /tmp, /dev and /proc; kfiles
# checks them from user mode, and busybox's applets run on them.
. "$(dirname "$0")/lib.sh"
KERNEL=$GUESTS/kernel.elf
USER=$REPO/build/user

R=$TMPDIR/root
mkdir -p "$R/etc" "$R/dir/sub" "$R/bin"
cp "$USER/kfiles" "$USER/hello" "$R/"
printf 'hello files\n' >"$R/etc/motd"
: >"$R/dir/a"
: >"$R/dir/b"
ln -s etc/motd "$R/link"
(cd "$R" && find . | cpio -o -H newc --quiet) >"$TMPDIR/init.cpio"

kv run --mem 64M --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/kfiles"
grep -F "FAIL" "$OUT" && fail "kfiles found failures"
expect_status 0
expect_out "getdents64 /dir: a 1, b 1, sub 1, dots 2, other 0"
expect_out "ok: the child's data arrives through the pipe"
expect_out "ok: EOF once the child (the last writer) is gone"
expect_out "pipe: read 100000 bytes, child status 0"
expect_out "ok: writing with no reader: EPIPE"
expect_out "ok: stdout's write went into /tmp/out"
grep -Eq "^exec'd: fd [0-9]+ open, fd [0-9]+ closed" "$OUT" || fail "close-on-exec"
expect_out "/proc/self/stat: 1 (kfiles) R 0 "
expect_out "free memory before and after a 40000-byte file: same"
expect_out "through /dev/stdout"
expect_out "kfiles: 0 failures"
expect_out "kernel: pid 1 (kfiles) exited with status 0, no unimplemented syscalls"
expect_no_out "oops"
# MemTotal is the kernel's own count of usable RAM: within 2 MiB of --mem 64M.
total=$(tr -d '\r' <"$OUT" | sed -n 's|^/proc/meminfo: MemTotal \([0-9]*\) kB.*|\1|p')
[ -n "$total" ] && [ "$total" -gt $((62 * 1024)) ] && [ "$total" -le $((64 * 1024)) ] ||
	fail "MemTotal $total kB for --mem 64M"

# init through a symbolic link: exec follows it, argv[0] stays the link's name.
ln -s ../hello "$R/bin/hi" # relative to /bin
(cd "$R" && find . | cpio -o -H newc --quiet) >"$TMPDIR/init.cpio"
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/bin/hi x"
expect_status 7
expect_out "hello from /bin/hi, argc 2"

# busybox (Debian's busybox-static, glibc) with its applets as symbolic links.
if [ -x /bin/busybox ] && ! grep -q "ld-linux" /bin/busybox; then
	B=$TMPDIR/bb
	mkdir -p "$B/bin" "$B/etc"
	cp /bin/busybox "$B/bin/busybox"
	for a in sh cat ls echo free ps uname; do ln -s busybox "$B/bin/$a"; done
	printf 'hello files\n' >"$B/etc/motd"
	(cd "$B" && find . | cpio -o -H newc --quiet) >"$TMPDIR/bb.cpio"
	bb() { kv run --mem 128M --initrd "$TMPDIR/bb.cpio" "$KERNEL" --cmdline "init=$1"; }
	bb "/bin/cat /etc/motd"
	expect_status 0
	expect_out "hello files"
	expect_out "kernel: starting init: /bin/cat (pid 1, 2 args)"
	# ls -l: getdents64, lstat, the modes of the tree (/tmp is sticky)
	bb "/bin/ls -l /"
	expect_status 0
	expect_out "drwxrwxrwt"
	expect_out " etc"
	expect_out " proc"
	bb "/bin/echo hi there"
	expect_status 0
	expect_out "hi there"
	# free reads /proc/meminfo: a total of --mem 128M within 2 MiB
	bb "/bin/free"
	expect_status 0
	total=$(tr -d '\r' <"$OUT" | awk '$1 == "Mem:" { print $2 }')
	[ -n "$total" ] && [ "$total" -gt $((126 * 1024)) ] && [ "$total" -le $((128 * 1024)) ] ||
		fail "free: total $total kB for --mem 128M"
	# ps lists /proc's pids with their cmdline
	bb "/bin/ps"
	expect_status 0
	tr -d '\r' <"$OUT" | grep -Eq '^ +1 .*/bin/ps$' || fail "ps does not list itself as pid 1"
	# ls -l of /proc/self/fd: getdents64 of a /proc directory, readlink of each fd
	bb "/bin/ls -l /proc/self/fd"
	expect_status 0
	expect_out "0 -> /dev/console"
	expect_out "2 -> /dev/console"
	expect_out "3 -> /proc/1/fd"
		bb "/bin/uname -a"
	expect_status 0
	expect_out "kvmlab kvmlab 0.1 teaching kernel x86_64"
fi
exit 0
