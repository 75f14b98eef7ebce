#!/bin/bash
# --firmware: the test guest booted from the reset vector through kvmlab's firmware
# (firmware/fw.S, docs/boot.md "Firmware boot") sees what it sees after direct boot,
# plus the ROM as a reserved range, and the firmware reads exactly its four items; the
# built-in guest and the teaching kernel boot so too, and a Linux bzImage through the
# firmware's long-mode path (five items).
. "$(dirname "$0")/lib.sh"

ROM_LINE="memmap: 00000000fffff000-00000000ffffffff type 2"

kv run --mem 64M "$TESTGUEST" --cmdline "memmap exit=0"
expect_status 1
expect_no_out "$ROM_LINE"
cp "$OUT" "$TMPDIR/direct.out"

kv run --firmware --mem 64M "$TESTGUEST" --cmdline "memmap exit=0"
expect_status 1
# The start info magic check passed (else the guest prints "bad start info magic" and
# exits 0x7F), the command line arrived, the memory map is the same RAM.
expect_out "testguest: hello, cmdline [memmap exit=0]"
expect_no_out "bad start info magic"
expect_out "memmap: ram 65152 KiB"
expect_out "memmap: 00000000000a0000-00000000000fffff type 2"
# The one difference: the ROM at the top of 4 GiB is reserved.
expect_out "$ROM_LINE"
grep -vF -- "$ROM_LINE" "$OUT" | diff -u "$TMPDIR/direct.out" - >"$TMPDIR/diff" ||
	fail "output differs from direct boot: $(cat "$TMPDIR/diff")"

# RAM above 4 GiB, 2 vCPUs (the second waits for SIPI, as in direct boot).
kv run --firmware --mem 3584M --cpus 2 "$TESTGUEST" --cmdline "memmap exit=1"
expect_status 3
expect_out "memmap: 0000000100000000-000000011fffffff type 1"
expect_out "$ROM_LINE"

# The firmware's port I/O, counted by --stats: the selector written 4 times (signature,
# boot mode, start info, entry), the data port read 4 times; and no MMIO (nothing writes
# the ROM: the GDT's accessed bits are preset).
kv run --firmware --stats "$TESTGUEST" --cmdline "exit=0"
expect_status 1
samples() {
	awk -v key="$1" '/^All vCPUs:/ { all = 1; next } /^Total samples/ { all = 0 }
		all && $1 == key { n = $2 } END { print (n == "" ? 0 : n) }' "$ERR"
}
[ "$(samples port:0x520/POUT)" = 4 ] || fail "selector writes: $(samples port:0x520/POUT), expected 4"
[ "$(samples port:0x521/PIN)" = 4 ] || fail "data reads: $(samples port:0x521/PIN), expected 4"
grep -q "^ *gpa:0xffff" "$ERR" && fail "MMIO exits on the ROM"

# The built-in guest boots through the firmware too, its initramfs with it.
kv run --firmware --cmdline "init=/bin/hello fw"
expect_status 7
expect_out "hello from /bin/hello, argc 2"

# The teaching kernel (a 64-bit ELF with a PVH note: it goes to long mode itself).
kv run --firmware --mem 64M "$REPO/build/guest/kernel.elf" --cmdline "selftest=pages"
expect_out "kvmlab teaching kernel"
expect_out "memory: usable 65152 KiB"

# A Linux bzImage through the firmware's long-mode path (the newest /boot/vmlinuz-*, as
# t_linux.sh, with its busybox initramfs): /init is reached, and `reboot -f` gives 0.
vmlinuz=$(ls -v /boot/vmlinuz-* 2>/dev/null | tail -n 1)
if [ -n "$vmlinuz" ] && [ -r "$vmlinuz" ]; then
	"$REPO/tests/linux/mkinitramfs.sh" "$TMPDIR/initramfs.cpio" >"$OUT" 2>"$ERR" ||
		fail "mkinitramfs.sh failed"
	status=0
	timeout -k 5 120 "$KVMLAB" run --firmware --stats --kernel "$vmlinuz" \
		--initrd "$TMPDIR/initramfs.cpio" --cmdline "console=ttyS0 panic=-1 quiet kvmlab.test=info" \
		>"$OUT" 2>"$ERR" || status=$?
	[ $status != 124 ] && [ $status != 137 ] || fail "Linux with --firmware: still running after 120 s"
	expect_out "KVMLAB-LINUX-UP"
	expect_out "KVMLAB-LINUX-DONE"
	expect_status 0
	# Five items: signature, boot mode, CR3, RSI, entry.
	[ "$(samples port:0x520/POUT)" = 5 ] || fail "Linux: selector writes: $(samples port:0x520/POUT), expected 5"
	[ "$(samples port:0x521/PIN)" = 5 ] || fail "Linux: data reads: $(samples port:0x521/PIN), expected 5"
else
	echo "note: no readable /boot/vmlinuz-*: the bzImage boot is not tested here"
fi
exit 0
