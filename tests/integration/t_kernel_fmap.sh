#!/bin/bash
# The teaching kernel's file mappings and exec from the RAM filesystem
# (guest/kernel/mm.c, fs.c, exec.c; docs/kernel.md): kfmap checks MAP_SHARED
# and MAP_PRIVATE mappings of files, offsets, SIGBUS past the end, truncate
# and unlink while mapped, /proc/self/maps, msync, and execve of a program
# written into /tmp; then the book's mmap experiment itself.
. "$(dirname "$0")/lib.sh"
KERNEL=$GUESTS/kernel.elf
USER=$REPO/build/user

R=$TMPDIR/root
mkdir -p "$R/bin"
cp "$USER/kfmap" "$USER/mmap" "$R/bin/"
head -c $((3 << 20)) /dev/zero | tr '\0' B >"$R/big" # more than a RAM file holds
(cd "$R" && find . | cpio -o -H newc --quiet) >"$TMPDIR/init.cpio"

kv run --mem 64M --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/bin/kfmap"
tr -d '\r' <"$OUT" | grep -v '^ok:' | sed 's/^/  | /'
grep -F "FAIL" "$OUT" && fail "kfmap found failures"
expect_status 0
expect_out "ok: a store into the memory is what read() gives at once"
expect_out "ok: a write() is what the memory holds at once"
expect_out "ok: reading the page past the end: SIGBUS"
expect_out "ok: truncate while mapped: the 255 pages' frames are free again"
expect_out "ok: the last munmap gives the 256 pages back"
expect_out "ok: /proc/self/maps: rw-s, offset 0, the inode, the path"
expect_out "exec-child: running from /tmp/fm-prog"
expect_out "ok: /big: MAP_SHARED writable past what a RAM file holds: SIGBUS"
expect_out "ok: execve of a program written into /tmp runs it"
expect_out "kfmap: 0 failures"
expect_out "kernel: pid 1 (kfmap) exited with status 0, no unimplemented syscalls"
expect_no_out "oops"

# The book's experiment: "hello" written, mapped MAP_SHARED, HELLO stored
# into the memory, munmap, read() gives HELLO; maps shows the file's line.
kv run --mem 64M --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/bin/mmap"
tr -d '\r' <"$OUT" | sed 's/^/  | /'
expect_status 0
grep -qP '^@mmap\tfile-before\thello\r?$' "$OUT" || fail "no row: file-before hello"
grep -qP '^@mmap\tmemory\thello\r?$' "$OUT" || fail "no row: memory hello"
grep -qP '^@mmap\tfile-after\tHELLO\r?$' "$OUT" || fail "no row: file-after HELLO"
grep -qE '/proc/self/maps: [0-9a-f]+-[0-9a-f]+ rw-s 00000000 00:01 [1-9][0-9]* +/tmp/kvmlab-mmap.txt' "$OUT" ||
	fail "no /proc/self/maps line for the mapped file"
expect_no_out "oops"

# The same in the built-in guest, as the shell's `mmap` runs it.
kv run --cmdline "init=/bin/mmap"
expect_status 0
grep -qP '^@mmap\tfile-after\tHELLO\r?$' "$OUT" || fail "built-in guest: no row file-after HELLO"
expect_out "kernel: pid 1 (mmap) exited with status 0, no unimplemented syscalls"
exit 0
