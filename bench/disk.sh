#!/bin/bash
# Disk I/O through virtio-blk: kvmlab beside QEMU, same guest, same image, same run.
#
# Usage: bench/disk.sh [ROUNDS]     (default 3 rounds)
#
# The guest is Debian's kernel (the newest /boot/vmlinuz-*, or KVMLAB_BENCH_KERNEL=PATH) with the
# initramfs of tests/linux/mkinitramfs.sh --fio, booted with kvmlab.test=fio: it runs fio on the raw
# /dev/vda, ioengine=libaio, direct=1 (the guest's page cache is out of the way), one job after the
# other, each for KVMLAB_BENCH_FIO_RUNTIME seconds (default 10) after 2 s of ramp:
#   randread-4k-qd1    4 KiB random reads, one at a time    -> IOPS (and mean latency)
#   randread-4k-qd32   4 KiB random reads, 32 in flight     -> IOPS
#   seqread-1m-qd8     1 MiB sequential reads, 8 in flight  -> MB/s
#   seqwrite-1m-qd8    1 MiB sequential writes, 8 in flight -> MB/s
# 1 vCPU, 512 MiB (the fio initramfs alone is ~90 MB). Each round boots both VMMs back to back, in
# alternating order; reported are each VMM's median and the median of the rounds' ratios kvmlab/QEMU
# (higher is better for kvmlab, except for the latency).
#
# The disk: one scratch raw image of KVMLAB_BENCH_DISK_MIB MiB (default 1024) in KVMLAB_BENCH_DIR
# (default $TMPDIR or /tmp), written in full with zeros before the first run rather than left sparse
# or made with fallocate: reads of a hole (and of fallocate's unwritten extents, on ext4 as on tmpfs)
# come back as zeros without touching any stored data, which would flatter the read figures compared
# with a disk that holds data. The write job overwrites it, so it is deleted at the end.
#
# Like for like: kvmlab's virtio-blk does preadv/pwritev on its own I/O thread, on the image opened
# without O_DIRECT (the host's page cache in use: cache=writeback in QEMU's terms), and flushes with
# fdatasync. The QEMU baseline is therefore `-drive ...,format=raw,cache=writeback,aio=threads` (QEMU's
# own defaults: its thread pool does preadv/pwritev), `-device virtio-blk-pci,disable-legacy=on,
# num-queues=1` (modern virtio-pci only and one request queue, as kvmlab offers), with
# `-accel kvm -cpu host,kvm-pv-eoi=off -M pc -nodefaults` as bench/boot-time.sh runs it.
# Not cache=none/aio=native: O_DIRECT skips the host's page cache, which kvmlab does not, and it
# does not work at all on the tmpfs the nested run keeps its files on.
#
# KVMLAB_DISK_VMM=qemu runs QEMU in kvmlab's place too (a check of this harness before kvmlab has
# disks, and a measure of the noise: the ratios should be ~1).
#
# Without a usable /dev/kvm it runs inside the nested Linux of the test suite (tests/nested/l1.sh):
# the figures are then nested ones (L2 guests under KVM in an L1 under QEMU's emulator, one emulated
# CPU for the L1, the image in the L1's RAM); only the ratios carry over.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "usage: $0 [ROUNDS]" >&2; exit 2 ;; esac
KVMLAB=$PWD/build/kvmlab
QEMU=qemu-system-x86_64
INITRD=$PWD/build/linux/initramfs-fio.cpio
RUNTIME=${KVMLAB_BENCH_FIO_RUNTIME:-10}
RAMP=2
DISK_MIB=${KVMLAB_BENCH_DISK_MIB:-1024}
MEM_MIB=512
CPUS=1
VMM=${KVMLAB_DISK_VMM:-kvmlab}
CMDLINE="console=ttyS0 quiet panic=-1 kvmlab.test=fio kvmlab.fio_runtime=$RUNTIME kvmlab.fio_ramp=$RAMP"
LIMIT=$((180 + 8 * (RUNTIME + RAMP))) # seconds a run may take before we call it hung
JOBS="randread-4k-qd1 randread-4k-qd32 seqread-1m-qd8 seqwrite-1m-qd8"

. bench/lib.sh
case "$RUNTIME" in '' | *[!0-9]* | 0) die "KVMLAB_BENCH_FIO_RUNTIME: not a number of seconds" ;; esac
case "$DISK_MIB" in '' | *[!0-9]* | 0) die "KVMLAB_BENCH_DISK_MIB: not a number of MiB" ;; esac
case "$VMM" in kvmlab | qemu) ;; *) die "KVMLAB_DISK_VMM: kvmlab or qemu, not '$VMM'" ;; esac

bench_kernel
[ "$VMM" = qemu ] || [ -x "$KVMLAB" ] || die "no $KVMLAB: run make all"
command -v "$QEMU" >/dev/null || die "no $QEMU (apt-get install qemu-system-x86)"
# Built (or found cached) out here, so a nested run reuses it.
mkdir -p "${INITRD%/*}"
tests/linux/mkinitramfs.sh --fio --kernel "$kernel" "$INITRD" || die "mkinitramfs.sh --fio failed"

kvm_usable() { # -c first: bash's <> creates a missing /dev/kvm as a plain file
	[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null
}
if [ "${KVMLAB_NESTED:-0}" != 1 ] && { [ "${KVMLAB_FORCE_NESTED:-0}" = 1 ] || ! kvm_usable; }; then
	echo "no usable /dev/kvm here: measuring inside the nested Linux (QEMU TCG + KVM)"
	exec tests/nested/l1.sh -- env KVMLAB_BENCH_KERNEL="$kernel" bench/disk.sh "$ROUNDS"
fi

dir=${KVMLAB_BENCH_DIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$dir/kvmlab-disk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
img=$work/disk.img
case "$img" in *,*) die "the image path has a comma (kvmlab's --disk and QEMU's -drive split at commas): $img" ;; esac
dd if=/dev/zero of="$img" bs=1M count="$DISK_MIB" conv=fsync status=none || die "cannot write $img"

# run_one NAME ROUND: one boot of kvmlab or QEMU; appends "ROUND NAME JOB IOPS BW_KIB LAT_US" lines
# to $work/results.
run_one() {
	local name=$1 round=$2 log=$work/$1-$2.log st=0 cmd
	if [ "$name" = QEMU ] || [ "$VMM" = qemu ]; then
		# shellcheck disable=SC2054 # (the commas are QEMU's)
		cmd=("$QEMU" -accel kvm -cpu host,kvm-pv-eoi=off -M pc -m "$MEM_MIB" -smp "$CPUS" -nodefaults
			-nographic -no-reboot -serial stdio -kernel "$kernel" -initrd "$INITRD" -append "$CMDLINE"
			-drive "file=$img,if=none,id=d0,format=raw,cache=writeback,aio=threads"
			-device virtio-blk-pci,drive=d0,disable-legacy=on,num-queues=1)
	else
		cmd=("$KVMLAB" run --kernel "$kernel" --initrd "$INITRD" --cmdline "$CMDLINE"
			--mem "${MEM_MIB}M" --cpus "$CPUS" --disk "$img")
	fi
	timeout -k 5 "$LIMIT" "${cmd[@]}" </dev/null >"$log" 2>&1 || st=$?
	tr -d '\r' <"$log" >"$log.txt"
	[ $st != 124 ] && [ $st != 137 ] || die "$name: no end after $LIMIT s; its output: $(tail -n 20 "$log.txt")"
	grep -q '^KVMLAB-FIO-DONE' "$log.txt" ||
		die "$name: fio did not finish (status $st); its output: $(grep -v '^KVMLAB-FIO-TERSE' "$log.txt" | tail -n 25)"
	[ $st = 0 ] || die "$name: exit status $st; its output: $(tail -n 20 "$log.txt")"
	awk -v r="$round" -v n="$name" '$1 == "KVMLAB-FIO" && NF == 5 { print r, n, $2, $3, $4, $5 }' \
		"$log.txt" >>"$work/results"
	local j
	for j in $JOBS; do
		grep -q "^$round $name $j " "$work/results" || die "$name: no result for $j; its output: $(tail -n 20 "$log.txt")"
	done
}

: >"$work/results"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then run_one kvmlab "$r"; run_one QEMU "$r"; else run_one QEMU "$r"; run_one kvmlab "$r"; fi
	# One line a round: the four figures of each.
	awk -v r="$r" '$1 == r {
			v = ($3 ~ /^seq/) ? sprintf("%.1f MB/s", $5 * 1024 / 1e6) : sprintf("%d IOPS", $4)
			line[$2] = line[$2] "  " $3 " " v
		}
		END { printf("round %d:\n  kvmlab%s\n  QEMU  %s\n", r, line["kvmlab"], line["QEMU"]) }' "$work/results"
done

where=""
grep -qw hypervisor /proc/cpuinfo && where=" (this host is itself a VM: nested figures)"
note=""
[ "$VMM" = kvmlab ] || note=" -- KVMLAB_DISK_VMM=qemu: QEMU on both sides"
echo
echo "Disk I/O, virtio-blk, fio in the guest on the raw disk, $ROUNDS rounds$where$note:"
echo "kernel ${kernel##*/}, $CPUS vCPU, $MEM_MIB MiB, a ${DISK_MIB} MiB raw image; fio libaio direct=1," \
	"${RUNTIME} s a job; QEMU cache=writeback,aio=threads"
# Per figure: the median of each VMM's values over the rounds, and the median of the per-round ratios.
awk -v rounds="$ROUNDS" '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		iops[$2, $3, $1] = $4; mbs[$2, $3, $1] = $5 * 1024 / 1e6; lat[$2, $3, $1] = $6
	}
	END {
		printf("  %-30s %12s %12s %8s\n", "", "kvmlab", "QEMU", "ratio")
		nj = split("randread-4k-qd1 randread-4k-qd32 seqread-1m-qd8 seqwrite-1m-qd8", jobs, " ")
		for (k = 1; k <= nj + 1; k++) {
			if (k <= nj) { j = jobs[k]; unit = (j ~ /^seq/) ? "MB/s" : "IOPS" }
			else { j = "randread-4k-qd1"; unit = "us" } # the mean latency (submission to completion) at queue depth 1
			for (r = 1; r <= rounds; r++) {
				if (unit == "MB/s") { kv = mbs["kvmlab", j, r]; qe = mbs["QEMU", j, r] }
				else if (unit == "IOPS") { kv = iops["kvmlab", j, r]; qe = iops["QEMU", j, r] }
				else { kv = lat["kvmlab", j, r]; qe = lat["QEMU", j, r] }
				a[r] = kv; b[r] = qe; c[r] = (qe > 0) ? kv / qe : 0
			}
			printf("  %-30s %12.1f %12.1f %8.3f\n", j " (" unit ")", median(a, rounds), median(b, rounds), median(c, rounds))
		}
		print "  (medians over the rounds; ratio kvmlab/QEMU: the median of the per-round ratios)"
	}' "$work/results"
