#!/bin/bash
# A real Linux boots: the host's newest Debian bzImage with our busybox initramfs
# (tests/linux/mkinitramfs.sh) on 1, 2 (described by examples/linux.xml) and 4 vCPUs. The guest
# reports what it sees (CPUs, RAM, the kernel's warnings) and reboots (i8042 reset: status 0); a
# shell is driven through the console; and a command line too long for the kernel, an initrd too
# big for RAM and truncated bzImages are refused.
. "$(dirname "$0")/lib.sh"

kernels=(/boot/vmlinuz-*)
[ -e "${kernels[0]}" ] || fail "no /boot/vmlinuz-*: install linux-image-amd64 (scripts/deps.sh does)"
KERNEL=$(printf '%s\n' "${kernels[@]}" | sort -V | tail -n 1) # the newest
[ -r "$KERNEL" ] || fail "cannot read $KERNEL"
INITRD=$TMPDIR/initramfs.cpio
"$REPO/tests/linux/mkinitramfs.sh" "$INITRD" >"$OUT" 2>"$ERR" || fail "mkinitramfs.sh failed"
BASE="console=ttyS0 panic=-1 quiet"

# Kernel warnings that mean our machine model (MP table, e820, in-kernel PIC/IOAPIC/PIT, LAPIC, UART,
# CPUID, SMP start-up) is wrong. Only messages of level warning or worse reach us ("dmesg: LEVEL ...").
BAD='IRQ|irq [0-9]+:|APIC|apic|[Tt]imer|TIMER|MP-BIOS|MPTABLE|MP table|BIOS bug|Firmware Bug|BUG|Oops|'
BAD+='panic|WARNING: CPU|8259|8254|PIT|HPET|TSC|clocksource|[Cc]alibrat|smpboot|CPU[0-9]+|[Ss]tuck|'
BAD+='not responding|nobody cared|[Ss]purious|lockup|stall|ttyS|8250|serial|e820|NMI|[Mm]achine check'
# ... except these, which say nothing about the machine model:
#  - the vCPU thread was preempted for a long while (slow or busy host; the nested L1 of the tests
#    always is): "hrtimer: interrupt took 20863970 ns", at most once a boot.
OK_ANYWHERE='hrtimer: interrupt took [0-9]+ ns'
#  - in the nested L1 (QEMU TCG -cpu max; tests/nested/l1.sh), with QEMU -accel kvm as with kvmlab:
#    CPUID leaf 0xD says 576 bytes of XSAVE state for the XCR0 the kernel has just set, which needs
#    2696 (the guest's XSETBV does not reach the L1's KVM, which would update the leaf), so the
#    kernel WARNs "XSAVE consistency problem", dumps leaf 0xD and falls back to FXSAVE. That WARN,
#    its trace up to "end trace", and the dump are skipped there.
NESTED_START='XSAVE consistency problem'
NESTED_END='---\[ end trace'
NESTED_DUMP='^CPUID\[0d, '
NESTED=${KVMLAB_NESTED:-0}

# kv with a time limit: a hung guest fails its check, with its output, instead of the whole test.
LIMIT=120 # s; Linux boots in 15-30 s in the nested L1
kvt() {
	status=0
	timeout -k 5 "$LIMIT" "$KVMLAB" "$@" >"$OUT" 2>"$ERR" || status=$?
	[ $status != 124 ] && [ $status != 137 ] || fail "kvmlab $*: still running after $LIMIT s, killed"
}

# Reads $OUT (the info run of $1 vCPUs with $2 MiB) and checks it.
check_info() {
	local n=$1 mib=$2 line text skip=0 up=0 done=0 irq4="" loc="" date="" nproc="" online="" memtotal="" memory="" bad=()
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		case "$line" in
		KVMLAB-LINUX-UP) up=1 ;;
		KVMLAB-LINUX-DONE) done=1 ;;
		"nproc: "*) nproc=${line#nproc: } ;;
		"online: "*) online=${line#online: } ;;
		"memtotal_kb: "*) memtotal=${line#memtotal_kb: } ;;
		"memory: "*) memory=${line#memory: } ;;
		"interrupts: 4:"*) irq4=${line#interrupts: 4:} ;;
		"date: "*) date=${line#date: } ;;
		"interrupts: LOC:"*) loc=${line#interrupts: LOC:} ;;
		"dmesg: "*)
			text=${line#*] } # without "dmesg: LEVEL [TIME] ": a time like 1.838254 is no 8254
			if [ "$NESTED" = 1 ]; then
				[[ "$text" =~ $NESTED_START ]] && skip=1
				[ $skip = 1 ] && [[ "$text" =~ $NESTED_END ]] && skip=0 && continue
				[ $skip = 1 ] || [[ "$text" =~ $NESTED_DUMP ]] && continue
			fi
			[[ "$text" =~ $OK_ANYWHERE ]] && continue
			[[ "$text" =~ $BAD ]] && bad+=("$line")
			;;
		esac
	done <"$OUT"
	local what="--cpus $n --mem ${mib}M"
	[ $up = 1 ] || fail "$what: no KVMLAB-LINUX-UP: the kernel did not reach /init"
	[ $done = 1 ] || fail "$what: no KVMLAB-LINUX-DONE"
	expect_status 0
	[ "$nproc" = "$n" ] || fail "$what: the guest counts '$nproc' CPUs in /proc/cpuinfo"
	local want=0
	[ "$n" = 1 ] || want=0-$((n - 1))
	[ "$online" = "$want" ] || fail "$what: CPUs online '$online', expected '$want'"
	# The RAM the e820 map gives ("Memory: 208344K/261624K available ..."): all of --mem but the
	# 384 KiB hole below 1 MiB and a few boot-data pages; MemTotal is that less what the kernel keeps
	# (image, struct pages, per-CPU areas: ~55 MiB for Debian's 6.1).
	local mem_kb=$((mib * 1024)) e820_kb
	[[ "$memory" =~ ^[0-9]+K/([0-9]+)K ]] || fail "$what: no 'Memory: xK/yK' line from the kernel: '$memory'"
	e820_kb=${BASH_REMATCH[1]}
	[ "$e820_kb" -le "$mem_kb" ] && [ "$e820_kb" -ge $((mem_kb - 2048)) ] ||
		fail "$what: the kernel found ${e820_kb} KiB of RAM, expected $((mem_kb - 2048))..$mem_kb"
	[[ "$memtotal" =~ ^[0-9]+$ ]] || fail "$what: no MemTotal: '$memtotal'"
	[ "$memtotal" -le "$e820_kb" ] && [ "$memtotal" -ge $((mem_kb * 8 / 10)) ] ||
		fail "$what: MemTotal $memtotal KiB, expected $((mem_kb * 8 / 10))..$e820_kb (80%..100% of RAM)"
	# The guest's clock came from the CMOS RTC, i.e. the host's: within the boot's time limit.
	[[ "$date" =~ ^[0-9]+$ ]] || fail "$what: no date from the guest: '$date'"
	[ $((date - $(date -u +%s))) -le 5 ] && [ $(($(date -u +%s) - date)) -le $((LIMIT + 5)) ] ||
		fail "$what: the guest's clock says $(date -u -d "@$date"), the host's $(date -u)"
	# COM1 through the IOAPIC ("4: COUNTS IO-APIC 4-edge ttyS0"), and it fired: the 8250 driver sends
	# with THRE interrupts. Every CPU's LAPIC timer ticked ("LOC: COUNTS Local timer interrupts").
	local counts sum=0 c
	[[ "$irq4" =~ ^([0-9 ]+)IO-APIC\ +4-edge\ +ttyS0 ]] ||
		fail "$what: IRQ 4 is not COM1 through the IOAPIC: '4:$irq4'"
	counts=(${BASH_REMATCH[1]})
	[ ${#counts[@]} = "$n" ] || fail "$what: /proc/interrupts has ${#counts[@]} CPU columns: '4:$irq4'"
	for c in "${counts[@]}"; do sum=$((sum + c)); done
	[ $sum -gt 0 ] || fail "$what: COM1's IRQ 4 never fired: '4:$irq4'"
	[[ "$loc" =~ ^([0-9 ]+)Local\ timer ]] || fail "$what: no LAPIC timer line: 'LOC:$loc'"
	counts=(${BASH_REMATCH[1]})
	[ ${#counts[@]} = "$n" ] || fail "$what: LOC has ${#counts[@]} CPU columns: 'LOC:$loc'"
	for c in "${counts[@]}"; do
		[ "$c" -gt 0 ] || fail "$what: a CPU's LAPIC timer never ticked: 'LOC:$loc'"
	done
	if [ ${#bad[@]} -gt 0 ]; then
		printf '%s\n' "$what: kernel warnings about the machine:" "${bad[@]}"
		fail "$what: ${#bad[@]} kernel warning(s) that point at the machine model (above)"
	fi
}

for run in "1 384" "4 448"; do
	set -- $run
	kvt run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$BASE kvmlab.test=info" --cpus "$1" --mem "$2M"
	check_info "$1" "$2"
done

# 2 vCPUs from a domain XML alone: examples/linux.xml (1 GiB, 2 vCPUs) with our kernel, initramfs and
# command line put in, and on_reboot destroy (the example restarts, as libvirt's default does).
sed -e "s|<kernel>.*</kernel>|<kernel>$KERNEL</kernel>|" -e "s|<initrd>.*</initrd>|<initrd>$INITRD</initrd>|" \
	-e "s|<cmdline>.*</cmdline>|<cmdline>$BASE kvmlab.test=info</cmdline>|" \
	-e "s|<on_reboot>restart</on_reboot>|<on_reboot>destroy</on_reboot>|" \
	"$REPO/examples/linux.xml" >"$TMPDIR/linux.xml"
grep -q "<on_reboot>destroy" "$TMPDIR/linux.xml" || fail "examples/linux.xml changed: no on_reboot to replace"
kvt run "$TMPDIR/linux.xml"
check_info 2 1024

# A shell on the console, commands piped in. They go in only once the guest says it is ready: typed
# ahead, they could meet the kernel resetting the UART's FIFO while its 8250 driver starts. kvmlab
# runs as a coprocess: we read its console line by line (bash's read, with deadlines) into $OUT.
: >"$OUT"
coproc KV { exec "$KVMLAB" run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$BASE kvmlab.test=shell" \
	--mem 256M 2>"$ERR"; }
kv_pid=$KV_PID
# Our own copies of the pipes: bash closes the coprocess's when it reaps it, unread output and all.
exec {kv_out}<&"${KV[0]}" {kv_in}>&"${KV[1]}"
# read_until LINE SECONDS: copy console lines to $OUT until one is LINE (0), EOF (1) or timeout (2).
read_until() {
	local line="" rc end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		rc=0
		IFS= read -r -t $((end - SECONDS)) line <&"$kv_out" || rc=$?
		[ $rc -le 128 ] || return 2
		line=${line%$'\r'}
		[ $rc = 0 ] || [ -n "$line" ] && printf '%s\n' "$line" >>"$OUT"
		[ $rc = 0 ] || return 1
		[ "$line" = "$1" ] && return 0
	done
	return 2
}
stop_kv() { kill "$kv_pid" 2>/dev/null; wait "$kv_pid" 2>/dev/null; }
rc=0
read_until KVMLAB-SHELL-READY 150 || rc=$?
[ $rc = 0 ] || { stop_kv; fail "shell: no KVMLAB-SHELL-READY ($([ $rc = 1 ] && echo "kvmlab ended" || echo "150 s"))"; }
sleep 1 # let the shell start reading (it would read the line typed ahead too: this is just manners)
trap '' PIPE # kvmlab gone or not reading: a failed write, not a dead test
printf '%s\n' 'echo hello-$((6*7)); uname -s; reboot -f' >&"$kv_in" 2>/dev/null ||
	{ stop_kv; fail "shell: cannot write to kvmlab's stdin"; }
trap - PIPE
rc=0
read_until no-such-line 90 || rc=$? # to EOF: reboot -f ends kvmlab
[ $rc = 1 ] || { stop_kv; fail "shell: kvmlab still running 90 s after 'reboot -f'"; }
status=0
wait "$kv_pid" || status=$?
exec {kv_out}<&- {kv_in}>&-
grep -qx 'hello-42' "$OUT" || fail "shell: no 'hello-42' line: the piped command did not run"
grep -qx 'Linux' "$OUT" || fail "shell: no 'Linux' line from uname -s"
expect_status 0

# Errors: one clear message, status 1, no guest started.
printf -v long '%3000s' ''
kvt run --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$BASE ${long// /x}"
expect_status 1
expect_err "command line"

truncate -s 300M "$TMPDIR/huge-initrd" # sparse
kvt run --kernel "$KERNEL" --initrd "$TMPDIR/huge-initrd" --mem 128M --cmdline "$BASE"
expect_status 1
expect_err "does not fit"

for size in 20000 $(($(stat -c %s "$KERNEL") / 2)); do
	head -c "$size" "$KERNEL" >"$TMPDIR/vmlinuz.cut"
	kvt run --kernel "$TMPDIR/vmlinuz.cut" --cmdline "$BASE"
	expect_status 1
	grep -qE 'vmlinuz.cut: (corrupt|truncated) bzImage' "$ERR" ||
		fail "$size bytes of a bzImage: no message saying it is a corrupt or truncated bzImage"
	[ ! -s "$OUT" ] || fail "$size bytes of a bzImage: the guest printed something"
done
exit 0
