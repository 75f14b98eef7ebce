#!/bin/bash
# virtio-blk under a real Linux: Debian's newest bzImage (as t_linux) with the busybox initramfs of
# tests/linux/mkinitramfs.sh in its disk mode, two disks: vda, an ext4 image made here (mkfs.ext4 -d,
# no root needed) holding a file of random data, read-write; vdb, a second ext4 image, read-only. The
# guest loads virtio_pci, virtio_blk and ext4, checks the file's SHA-256, writes a new file, syncs,
# unmounts and reads it back, then finds vdb read-only (blockdev --getro, a write refused, a read-write
# mount refused) and reads a file from it. Each check is a "KVMLAB-DISK PASS/FAIL NAME" line; all must
# pass and the guest's reboot ends kvmlab with status 0. Then, on the host, e2fsck -fn finds vda clean,
# debugfs reads back exactly what the guest wrote, and vdb is byte for byte what it was.
# Three boots: MSI-X with 1 vCPU, INTx (pci=nomsi) and 2 vCPUs. Then errors: a missing disk file, and
# disks locked by another program (flock, as kvmlab locks them itself) give a clear message and a
# non-zero status without starting the guest.
. "$(dirname "$0")/lib.sh"
PATH=$PATH:/usr/sbin:/sbin # mkfs.ext4, e2fsck, debugfs for a user whose PATH lacks them

kernels=(/boot/vmlinuz-*)
[ -e "${kernels[0]}" ] || fail "no /boot/vmlinuz-*: install linux-image-amd64 (scripts/deps.sh does)"
KERNEL=$(printf '%s\n' "${kernels[@]}" | sort -V | tail -n 1) # the newest
[ -r "$KERNEL" ] || fail "cannot read $KERNEL"
for tool in mkfs.ext4 e2fsck debugfs flock sha256sum; do
	command -v "$tool" >/dev/null || fail "no $tool: install e2fsprogs / util-linux (scripts/deps.sh does)"
done
INITRD=$TMPDIR/initramfs.cpio
"$REPO/tests/linux/mkinitramfs.sh" --kernel "$KERNEL" "$INITRD" >"$OUT" 2>"$ERR" || fail "mkinitramfs.sh failed"
! grep -q warning "$ERR" || fail "mkinitramfs.sh built no kernel modules for $KERNEL"
BASE="console=ttyS0 panic=-1 quiet"

# kv with a time limit: a hung guest fails its check, with its output, instead of the whole test.
LIMIT=150 # s; a disk boot takes ~20-40 s in the nested L1
kvt() {
	status=0
	timeout -k 5 "$LIMIT" "$KVMLAB" "$@" >"$OUT" 2>"$ERR" || status=$?
	[ $status != 124 ] && [ $status != 137 ] || fail "kvmlab $*: still running after $LIMIT s, killed"
	sed -i 's/\r$//' "$OUT" # the guest's console ends lines with CR LF
}
sha_of() { local h; h=$(sha256sum "$1") && echo "${h%% *}"; }

# --- the disks ---------------------------------------------------------------------------------------------
VDA=$TMPDIR/vda.img VDB=$TMPDIR/vdb.img
mkdir -p "$TMPDIR/vda.d" "$TMPDIR/vdb.d"
head -c 3146001 /dev/urandom >"$TMPDIR/vda.d/data.bin" # 3 MiB and a partial block
head -c 100003 /dev/urandom >"$TMPDIR/vdb.d/ro.bin"
DATA_SHA=$(sha_of "$TMPDIR/vda.d/data.bin") RO_SHA=$(sha_of "$TMPDIR/vdb.d/ro.bin")
truncate -s 64M "$VDA" && truncate -s 16M "$VDB"
mkfs.ext4 -q -F -L kvmlab-vda -d "$TMPDIR/vda.d" "$VDA" >"$OUT" 2>"$ERR" || fail "mkfs.ext4 -d (vda) failed"
mkfs.ext4 -q -F -L kvmlab-vdb -d "$TMPDIR/vdb.d" "$VDB" >"$OUT" 2>"$ERR" || fail "mkfs.ext4 -d (vdb) failed"
VDB_SHA=$(sha_of "$VDB")
# What the guest writes (kvmlab.new=NAME): `seq -w 0 599999`, busybox's and GNU's alike.
NEW_SHA=$(seq -w 0 599999 | sha256sum) NEW_SHA=${NEW_SHA%% *}

CHECKS="modules vda-present vda-size vda-rw vda-serial vda-mount vda-read vda-write vda-umount vda-reread"
CHECKS+=" vdb-present vdb-ro vdb-serial vdb-write-refused vdb-rw-mount-refused vdb-mount-ro vdb-read"
# Kernel messages that mean the disk or the file system went wrong.
DISK_BAD='I/O error|blk_update_request|critical target error|EXT4-fs error|EXT4-fs warning|JBD2|'
DISK_BAD+='virtio.*(error|fail|broken|bad)|[Tt]imeout|timed out|BUG:|Oops|nobody cared'

# disk_boot WHAT NEW CPUS MODE [CMDLINE-WORDS]: boot with both disks, the guest writing /NEW; check
# every line; MODE msi|intx: how the disk's interrupts must have come (MSI-X vectors or an IOAPIC line).
disk_boot() {
	local what=$1 new=$2 cpus=$3 mode=$4 extra=${5:-} c line n t0 lk uptime
	t0=$SECONDS
	# Someone else reads vdb meanwhile (a shared lock): kvmlab's own shared lock on a read-only disk
	# must get along with it.
	exec {lk}<"$VDB"
	flock -s -n "$lk" || fail "$what: cannot take a shared lock on $VDB"
	kvt run --kernel "$KERNEL" --initrd "$INITRD" --mem 256M --cpus "$cpus" \
		--cmdline "$BASE kvmlab.test=disk kvmlab.file=data.bin kvmlab.sha=$DATA_SHA kvmlab.new=$new \
kvmlab.vdasize=$(stat -c %s "$VDA") kvmlab.vdaserial=kvmlab-vda kvmlab.rofile=ro.bin kvmlab.rosha=$RO_SHA \
kvmlab.vdbserial=kvmlab-vdb $extra" \
		--disk "$VDA,serial=kvmlab-vda" --disk "$VDB,readonly,serial=kvmlab-vdb"
	exec {lk}<&-
	grep -q 'KVMLAB-LINUX-UP$' "$OUT" || fail "$what: no KVMLAB-LINUX-UP: the kernel did not reach /init"
	grep -q '^KVMLAB-DISK-DONE' "$OUT" || fail "$what: no KVMLAB-DISK-DONE: the guest's disk checks did not finish"
	! grep -q '^KVMLAB-DISK FAIL' "$OUT" || fail "$what: $(grep '^KVMLAB-DISK FAIL' "$OUT" | head -n 3)"
	for c in $CHECKS; do
		grep -q "^KVMLAB-DISK PASS $c:" "$OUT" || fail "$what: no 'KVMLAB-DISK PASS $c'"
	done
	n=$(wc -w <<<"$CHECKS")
	grep -qx "KVMLAB-DISK-DONE pass=$n fail=0" "$OUT" || fail "$what: $(grep '^KVMLAB-DISK-DONE' "$OUT")"
	expect_status 0
	if line=$(grep -E '^(dmesg|klog): ' "$OUT" | grep -E "$DISK_BAD"); then
		fail "$what: kernel messages about the disk: $line"
	fi
	# The disk's interrupts, "KVMLAB-DISK irq: N: COUNT... CHIP ... virtioK-...", counted on every CPU.
	local irqs sum=0 kind=msi
	irqs=$(sed -n 's/^KVMLAB-DISK irq: //p' "$OUT")
	[ -n "$irqs" ] || fail "$what: no virtio line in /proc/interrupts"
	if grep -q 'IO-APIC' <<<"$irqs" && ! grep -q 'PCI-MSI' <<<"$irqs"; then kind=intx; fi
	[ "$kind" = "$mode" ] || fail "$what: interrupts came as $kind, expected $mode: $irqs"
	sum=$(awk '{ for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' <<<"$irqs")
	[ "$sum" -gt 0 ] || fail "$what: the disk's interrupts never fired: $irqs"
	uptime=$(grep '^KVMLAB-DISK uptime' "$OUT" || true)
	# On the host: the file system is clean and holds what the guest wrote; vdb is untouched.
	e2fsck -fn "$VDA" >"$OUT" 2>&1 || fail "$what: e2fsck -fn $VDA after the guest: not clean"
	[ "$(debugfs -R "cat /$new" "$VDA" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$NEW_SHA" ] ||
		fail "$what: /$new as debugfs reads it is not what the guest wrote"
	[ "$(debugfs -R "cat /data.bin" "$VDA" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$DATA_SHA" ] ||
		fail "$what: /data.bin changed"
	[ "$(sha_of "$VDB")" = "$VDB_SHA" ] || fail "$what: the read-only disk $VDB changed"
	echo "$what: ok, $((SECONDS - t0)) s wall; guest ${uptime#KVMLAB-DISK }"
}

disk_boot "MSI-X, 1 vCPU" new-msix 1 msi
disk_boot "INTx (pci=nomsi), 1 vCPU" new-intx 1 intx pci=nomsi
disk_boot "MSI-X, 2 vCPUs" new-smp2 2 msi

# --- errors: one clear message, a non-zero status, no guest started -----------------------------------------
# kvt_refused WHAT PATTERN ARGS...: kvmlab must refuse, naming the disk, its stderr matching PATTERN.
kvt_refused() {
	local what=$1 pat=$2
	shift 2
	kvt run --kernel "$KERNEL" --initrd "$INITRD" --mem 256M --cmdline "$BASE kvmlab.test=boot" "$@"
	[ "$status" != 0 ] || fail "$what: kvmlab exited with status 0"
	! grep -q KVMLAB-LINUX-UP "$OUT" || fail "$what: the guest ran"
	grep -qF -- "$VDA" "$ERR" || grep -qF -- "$TMPDIR/no-such.img" "$ERR" || fail "$what: stderr does not name the disk"
	grep -qiE -- "$pat" "$ERR" || fail "$what: stderr does not say why (/$pat/)"
	[ "$(wc -l <"$ERR")" -le 3 ] || fail "$what: more than 3 lines on stderr"
}
kvt_refused "a missing disk file" "No such file or directory" --disk "$TMPDIR/no-such.img"
exec {lk}<>"$VDA"
flock -x -n "$lk" || fail "cannot lock $VDA"
kvt_refused "a disk another program has locked" "lock|in use|busy" --disk "$VDA"
kvt_refused "a disk another program has locked, read-only" "lock|in use|busy" --disk "$VDA,readonly"
exec {lk}<&-
exec {lk}<"$VDA"
flock -s -n "$lk" || fail "cannot lock $VDA"
kvt_refused "a writable disk another program reads (shared lock)" "lock|in use|busy" --disk "$VDA"
exec {lk}<&-
kvt_refused "the same image twice, writable" "lock|in use|busy|twice|already" --disk "$VDA" --disk "$VDA"
exit 0
