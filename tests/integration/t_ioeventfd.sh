#!/bin/bash
# --no-ioeventfd: virtio-blk's queue notifications (writes to BAR0 + 0x3000 + 4*queue, the notify
# region) come to kvmlab as MMIO exits only with the option; without it KVM signals the queue's eventfd
# and they never reach user space. Debian's Linux with the tests' initramfs in its disk mode (as
# t_disk.sh) reads and writes a disk both ways; --stats tells. Also prints exits per KiB (lesson 4).
. "$(dirname "$0")/lib.sh"
PATH=$PATH:/usr/sbin:/sbin

kernels=(/boot/vmlinuz-*)
[ -e "${kernels[0]}" ] || fail "no /boot/vmlinuz-*"
KERNEL=$(printf '%s\n' "${kernels[@]}" | sort -V | tail -n 1)
INITRD=$TMPDIR/initramfs.cpio
"$REPO/tests/linux/mkinitramfs.sh" --kernel "$KERNEL" "$INITRD" >"$OUT" 2>"$ERR" || fail "mkinitramfs.sh failed"
mkdir -p vda.d && head -c 3146001 /dev/urandom >vda.d/data.bin
SHA=$(sha256sum vda.d/data.bin) SHA=${SHA%% *}
truncate -s 64M vda.img && mkfs.ext4 -q -F -d vda.d vda.img >"$OUT" 2>"$ERR" || fail "mkfs.ext4 failed"

# boot OUTFILE DISK [kvmlab options]: the disk checks with --stats=OUTFILE and --disk DISK (-: the
# options give the disk); all must pass.
boot() {
	local stats=$1 disk=(--disk "$2")
	shift 2
	[ "${disk[1]}" != - ] || disk=()
	status=0
	timeout -k 5 200 "$KVMLAB" run "$@" --stats="$stats" --kernel "$KERNEL" --initrd "$INITRD" \
		--mem 256M "${disk[@]}" --cmdline "console=ttyS0 panic=-1 quiet kvmlab.test=disk \
kvmlab.file=data.bin kvmlab.sha=$SHA kvmlab.new=new-$stats" >"$OUT" 2>"$ERR" || status=$?
	expect_status 0
	grep -q '^KVMLAB-DISK-DONE pass=[1-9][0-9]* fail=0' "$OUT" || fail "$stats: the disk checks failed"
}
# notify_exits FILE: the MMIO write exits on a notify register (BAR0 is 16 KiB, aligned to its
# size: offsets 0x3000-0x30ff in it) in the "All vCPUs" table, summed.
notify_exits() {
	python3 - "$1" <<'PYEOF'
import re, sys
n, inall = 0, False
for line in open(sys.argv[1]):
    if line.startswith("All vCPUs:"):
        inall = True
    elif inall and line.startswith("Total samples"):
        break
    elif inall:
        m = re.match(r"\s+gpa:0x([0-9a-f]+)/W\s+(\d+)\s", line)
        if m and 0x3000 <= int(m.group(1), 16) % 0x4000 < 0x3100:
            n += int(m.group(2))
print(n)
PYEOF
}
mmio_exits() { # all MMIO exits kvmlab handled, from the "Side by side" lines
	sed -n 's/^  MMIO .*kvmlab handled \([0-9]*\),.*/\1/p' "$1"
}

boot with.txt vda.img
boot without.txt vda.img --no-ioeventfd
with=$(notify_exits with.txt) without=$(notify_exits without.txt)
echo "notify exits: $with with ioeventfd, $without with --no-ioeventfd"
echo "all MMIO exits: $(mmio_exits with.txt) with ioeventfd, $(mmio_exits without.txt) with --no-ioeventfd"
[ "$with" -eq 0 ] || fail "ioeventfd on: $with notify writes came to kvmlab: $(grep gpa with.txt | head)"
# The guest reads 3 MiB and writes 4 MiB: hundreds of requests, each kicked at least... once per batch.
[ "$without" -ge 50 ] || fail "--no-ioeventfd: only $without notify exits: $(grep gpa without.txt | head)"

# The same for one disk, as libvirt says it: <driver ioeventfd='off'/> in a domain XML (which
# --disk IMAGE,ioeventfd=off writes), read back with --xml.
"$KVMLAB" run --print-xml --disk vda.img,ioeventfd=off >off.xml 2>"$ERR" || fail "--print-xml failed"
grep -q "<driver name='qemu' type='raw' ioeventfd='off'/>" off.xml || fail "no ioeventfd='off': $(cat off.xml)"
boot perdisk.txt - --xml off.xml
perdisk=$(notify_exits perdisk.txt)
echo "notify exits: $perdisk with <driver ioeventfd='off'/>"
[ "$perdisk" -ge 50 ] || fail "ioeventfd='off': only $perdisk notify exits: $(grep gpa perdisk.txt | head)"
exit 0
