#!/bin/bash
# Boot time of a real Linux: kvmlab beside QEMU, same kernel, same initramfs, same run.
#
# Usage: bench/boot-time.sh [ROUNDS]     (default 5 rounds)
#
# The figure is the time from starting the VMM process to the moment the guest's /init line
# KVMLAB-LINUX-UP (tests/linux/mkinitramfs.sh: the first thing /init writes) arrives on the VMM's
# stdout: VMM set-up, (QEMU: firmware,) kernel decompression and boot, initramfs unpacking. The guest
# then reboots (kvmlab.test=boot); the time to the VMM's exit is shown too. Each round boots both VMMs
# back to back, in alternating order; reported are the median per VMM and the median of the rounds'
# ratios kvmlab/QEMU (a slow phase of a noisy host hits both programs of a round).
# Kernel: the newest /boot/vmlinuz-* (KVMLAB_BENCH_KERNEL=PATH picks another). 1 vCPU, 256 MiB.
# QEMU: qemu-system-x86_64 -accel kvm -cpu host,kvm-pv-eoi=off -m 256 -nographic -no-reboot -kernel
# -initrd -append, i.e. its default PC machine with SeaBIOS, as people run it, with the paravirtual
# features kvmlab offers (kvmlab hides PV EOI: docs/boot.md).
# Without a usable /dev/kvm it runs inside the nested Linux of the test suite (tests/nested/l1.sh):
# the figures are then nested ones (L2 guests under KVM in an L1 under QEMU's emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "usage: $0 [ROUNDS]" >&2; exit 2 ;; esac
KVMLAB=$PWD/build/kvmlab
QEMU=qemu-system-x86_64
INITRD=$PWD/build/linux/initramfs.cpio
CMDLINE="console=ttyS0 quiet panic=-1 kvmlab.test=boot"
MEM_MIB=256
LIMIT=300 # seconds a boot may take before we call it hung

. bench/lib.sh

bench_kernel
[ -x "$KVMLAB" ] || die "no $KVMLAB: run make all"
command -v "$QEMU" >/dev/null || die "no $QEMU (apt-get install qemu-system-x86)"
# Built (or found cached) out here, so a nested run reuses it.
mkdir -p "${INITRD%/*}"
tests/linux/mkinitramfs.sh "$INITRD" || die "mkinitramfs.sh failed"

# kvmlab's own host check decides (exit 0: KVM usable here).
if [ "${KVMLAB_NESTED:-0}" != 1 ] && ! "$KVMLAB" doctor >/dev/null 2>&1; then
	echo "no usable /dev/kvm here: measuring inside the nested Linux (QEMU TCG + KVM)"
	exec tests/nested/l1.sh -- env KVMLAB_BENCH_KERNEL="$kernel" bench/boot-time.sh "$ROUNDS"
fi

now_us() { echo "${EPOCHREALTIME//[.,]/}"; }

# boot NAME CMD...: run CMD with its stdout+stderr on a pipe that bash reads line by line; sets
# up_us (start to KVMLAB-LINUX-UP) and end_us (start to EOF, i.e. the VMM gone), checks status 0.
boot() {
	local name=$1 line found=0 st=0 log
	shift
	log=$(mktemp "${TMPDIR:-/tmp}/boot-time.XXXXXX")
	local t0 deadline=$((SECONDS + LIMIT))
	t0=$(now_us)
	coproc VMM { exec "$@" </dev/null 2>&1; }
	local pid=$VMM_PID fd
	exec {fd}<&"${VMM[0]}"
	while [ $SECONDS -lt $deadline ] && IFS= read -r -t $((deadline - SECONDS)) line <&"$fd"; do
		if [ $found = 0 ] && [[ "$line" == *KVMLAB-LINUX-UP* ]]; then
			up_us=$(($(now_us) - t0))
			found=1
		fi
		printf '%s\n' "$line" >>"$log"
	done
	end_us=$(($(now_us) - t0))
	printf '%s\n' "$line" >>"$log"
	if [ $SECONDS -ge $deadline ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		exec {fd}<&-
		die "$name: no end after ${LIMIT} s; its output: $(tail -n 20 "$log")"
	fi
	wait "$pid" || st=$?
	exec {fd}<&-
	[ $found = 1 ] || die "$name: no KVMLAB-LINUX-UP (status $st); its output: $(tail -n 20 "$log")"
	[ $st = 0 ] || die "$name: exit status $st; its output: $(tail -n 20 "$log")"
	rm -f "$log"
}

run_kvmlab() {
	boot kvmlab "$KVMLAB" run --kernel "$kernel" --initrd "$INITRD" --cmdline "$CMDLINE" \
		--mem "${MEM_MIB}M"
}
run_qemu() {
	boot QEMU "$QEMU" -accel kvm -cpu host,kvm-pv-eoi=off -m "$MEM_MIB" -nographic -no-reboot -kernel "$kernel" \
		-initrd "$INITRD" -append "$CMDLINE"
}

s3() { awk -v us="$1" 'BEGIN { printf("%.3f", us / 1e6) }'; } # microseconds -> "1.234"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

kv_up=() kv_end=() qe_up=() qe_end=() ratio=()
up_us=0 end_us=0
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		run_kvmlab; ku=$up_us ke=$end_us
		run_qemu; qu=$up_us qe=$end_us
	else
		run_qemu; qu=$up_us qe=$end_us
		run_kvmlab; ku=$up_us ke=$end_us
	fi
	kv_up+=("$ku") kv_end+=("$ke") qe_up+=("$qu") qe_end+=("$qe")
	ratio+=("$(awk -v k="$ku" -v q="$qu" 'BEGIN { printf("%.3f", k / q) }')")
	echo "round $r: kvmlab $(s3 "$ku") s, QEMU $(s3 "$qu") s to KVMLAB-LINUX-UP; ratio ${ratio[-1]}"
done

stats() { # the list's median, min, max in seconds
	local sorted
	sorted=$(printf '%s\n' "$@" | sort -g)
	printf '%8s %8s %8s' "$(s3 "$(median <<<"$sorted")")" "$(s3 "$(head -n 1 <<<"$sorted")")" \
		"$(s3 "$(tail -n 1 <<<"$sorted")")"
}
where=""
grep -qw hypervisor /proc/cpuinfo && where=" (this host is itself a VM: nested figures)"
echo
echo "Linux boot, process start to KVMLAB-LINUX-UP on the console, $ROUNDS rounds$where:"
echo "kernel ${kernel##*/}, initramfs $(($(stat -c %s "$INITRD") / 1024)) KiB, 1 vCPU, $MEM_MIB MiB"
printf '  %-8s %8s %8s %8s   %s\n' "" median min max "(seconds; exit = to the VMM's exit after reboot)"
printf '  %-8s %s   exit %s\n' kvmlab "$(stats "${kv_up[@]}")" "$(s3 "$(printf '%s\n' "${kv_end[@]}" | median)")"
printf '  %-8s %s   exit %s\n' QEMU "$(stats "${qe_up[@]}")" "$(s3 "$(printf '%s\n' "${qe_end[@]}" | median)")"
echo "  ratio kvmlab/QEMU  $(printf '%s\n' "${ratio[@]}" | median)    (median of per-round ratios)"
