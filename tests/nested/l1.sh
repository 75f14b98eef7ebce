#!/bin/bash
# tests/nested/l1.sh — run one command inside a nested Linux ("L1") that has a real /dev/kvm.
#
#   tests/nested/l1.sh [--interactive] [--timeout SECS] -- COMMAND [ARGS...]
#
# Why: our machines (and CI) have no /dev/kvm. QEMU's TCG emulator with `-cpu max` emulates AMD SVM, so a
# Linux booted under it can load kvm-amd and offer a real /dev/kvm (shared design/testing.md). This script
# boots the host's own newest kernel that way, shows it the host's `/` read-only over virtio-9p with a
# tmpfs overlay on top (so COMMAND sees this very checkout, gcc, qemu, ... and may write anywhere, but
# its writes vanish with the L1), chroots into it, cds to the directory we were started from and runs
# COMMAND there with KVMLAB_NESTED=1.
#
# Contract:
#   - COMMAND's stdout+stderr are relayed live to our stdout. The L1's first serial port carries nothing
#     else: kernel messages go to a second one (a log file), and so do /init's status lines (through
#     /dev/kmsg). Kernel messages of error level logged while COMMAND ran (a KVM WARN, an oops) are
#     echoed to stderr afterwards, prefixed "l1 kernel:".
#   - We exit with COMMAND's exit status. If the L1 cannot boot, gets no /dev/kvm, dies, or the whole run
#     exceeds --timeout (default 1800 s), or freezes (no sign of life from its /init for
#     KVMLAB_L1_STALL seconds, default 120, though an NMI was sent after KVMLAB_L1_KICK, 30; or for
#     20 s after that NMI if the L1's jiffies stood still), we print the tail of the L1's kernel log and
#     QEMU's messages, then one line "l1: ERROR: <which>", and exit 125.
#   - Without --interactive, COMMAND's stdin is /dev/null (no tty needed, as in CI); its stdout is a pipe
#     unless our stdout is a terminal. With --interactive, our terminal is wired to the L1's serial port,
#     which is COMMAND's controlling tty: keys, Ctrl-C (as SIGINT to COMMAND's process group) and the
#     window size reach COMMAND; QEMU gets `signal=off` so Ctrl-C does not kill it, and our terminal
#     settings are restored at exit. There is no escape key: leave by ending COMMAND (or --timeout).
#     Keys typed while the L1 boots are lost. --interactive is for a human at a terminal.
#   - COMMAND runs as root in a clean environment: PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root
#     TERM=(ours, or dumb) KVMLAB_NESTED=1, plus our CI, TMPDIR and KVMLAB_* variables. It has /proc, /sys,
#     /dev (devtmpfs: /dev/kvm mode 0666, /dev/null, /dev/tty*), /dev/pts, /dev/shm, a fresh tmpfs on /run;
#     /tmp is the host's, writable through the overlay. The overlay's upper layer is RAM: the L1 has 3 GB.
#   - Env: KVMLAB_L1_ERROR_FILE=FILE receives that line's reason too (for tests/integration/launch.sh);
#     KVMLAB_L1_KERNEL=/path/vmlinuz-VERSION picks another kernel (its modules must be in
#     /lib/modules/VERSION); KVMLAB_L1_KEEP=1 keeps the run directory (kernel log with /init's status
#     lines, QEMU's stderr); KVMLAB_L1_SMP=N (default 1) and KVMLAB_L1_CPU=MODEL (default max) change the
#     L1's CPUs; KVMLAB_L1_APPEND adds words to the L1 kernel's command line.
#   - Cache: build/nested/ holds our initramfs (~6 MB, keyed on this file, the kernel version, busybox and
#     modules.dep) and the kernel unpacked for PVH (~66 MB); both are rebuilt when their inputs change.
#
# Timing (2-core Firecracker VM, QEMU 7.2 TCG, Debian kernel 6.1.0-56, `time l1.sh -- true`): 2.8-3.2 s
# at best, 4-6.5 s while other work keeps the 2 cores busy; COMMAND starts at ~2.3-2.6 s of L1 uptime
# (kernel ~1.6 s to /init; /init ~0.7 s, kvm's modules loading alongside 9p's). Booting the bzImage
# instead of the unpacked vmlinux took 9 s, 3 s of it XZ decompression. The first run also fills the
# cache: +2 s. Each process started inside the L1 costs ~0.15 s (fork/exec under the emulator), bash ~0.3 s.
#
# Gotchas found on the way (Debian 12):
#   - Debian 12's modules are plain .ko (CONFIG_MODULE_COMPRESS_NONE); other kernels' (Debian 13's) are
#     .ko.xz, which busybox insmod cannot read, so .ko.xz/.ko.zst/.ko.gz are decompressed on the host.
#   - Load order comes from modules.dep (not hard-coded): kvm-amd needs ccp (SEV) and kvm, kvm needs
#     irqbypass; 9p needs netfs, fscache, 9pnet; 9pnet_virtio and virtio_pci need virtio, virtio_ring,
#     virtio_pci_{modern,legacy}_dev. devtmpfs is built in but not auto-mounted: /init mounts it.
#   - 9p: `-virtfs local,path=/,...,readonly=on,multidevs=remap` (remap: the host's / spans several file
#     systems, whose inode numbers would clash); mount with trans=virtio,version=9p2000.L, msize=512000
#     (the virtio transport's maximum), cache=loose (much faster repeated reads; safe, as nothing changes
#     the host's tree while we run).
#   - `quiet` still prints kernel errors on the console; hence a console port of its own.
#   - bash's `exec 3<>/dev/kvm` as root creates a plain file /dev/kvm when there is none: test -c first.
set -euo pipefail

# Boot-to-command here, rounded up (see Timing above). scripts/run.sh quotes it to a human who waits.
BOOT_SECONDS=5

usage() {
    echo "usage: $0 [--interactive] [--timeout SECS] -- COMMAND [ARGS...]" >&2
    exit 2
}

interactive=0
timeout_s=1800
while [ $# -gt 0 ]; do
    case "$1" in
        --boot-seconds) echo "$BOOT_SECONDS"; exit 0 ;; # for scripts/run.sh's "expect ~X s" line
        --interactive) interactive=1; shift ;;
        --timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
        --timeout=*) timeout_s=${1#--timeout=}; shift ;;
        --) shift; break ;;
        -*) usage ;;
        *) break ;; # the "--" may be left out when COMMAND does not start with "-"
    esac
done
[ $# -ge 1 ] || usage
case "$timeout_s" in '' | *[!0-9]*) usage ;; esac

die() { # one clear line, exit 125 (reserved by this runner for "the L1 itself failed")
    echo "l1: ERROR: $*" >&2
    [ -z "${KVMLAB_L1_ERROR_FILE:-}" ] || echo "$*" >"$KVMLAB_L1_ERROR_FILE"
    exit 125
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
cwd=$(pwd -P)

for tool in qemu-system-x86_64 cpio timeout sha256sum; do
    command -v "$tool" >/dev/null || die "'$tool' is missing: run scripts/deps.sh"
done
busybox=/bin/busybox # busybox-static's: it needs no libraries in the initramfs
[ -x "$busybox" ] || busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox is missing: run scripts/deps.sh"
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked: install busybox-static"; fi

# --- the kernel: the host's newest (or KVMLAB_L1_KERNEL), with its modules --------------------------------
kernel=${KVMLAB_L1_KERNEL:-}
if [ -z "$kernel" ]; then
    kernel=$(printf "%s\n" /boot/vmlinuz-* | sort -V | tail -n 1)
    [ -e "$kernel" ] || die "no /boot/vmlinuz-* to boot the L1 with: run scripts/deps.sh (linux-image-amd64)"
fi
[ -r "$kernel" ] || die "cannot read $kernel"
kver=${kernel##*/vmlinuz-}
moddir=/lib/modules/$kver
[ -r "$moddir/modules.dep" ] || die "no $moddir/modules.dep for kernel $kernel"

# --- the initramfs, cached under build/nested/ keyed on everything that goes into it ----------------------
# Modules our /init loads, in two groups (their dependencies are added from modules.dep):
MODS_ROOT="virtio_pci 9pnet_virtio 9p overlay" # to mount the host's / and put an overlay on it
MODS_KVM="kvm_amd"                             # /dev/kvm on QEMU's emulated SVM

cachedir=$repo/build/nested
if ! mkdir -p "$cachedir" 2>/dev/null; then # a read-only checkout: cache in the temporary directory
    cachedir=${TMPDIR:-/tmp}/kvmlab-nested-cache
    mkdir -p "$cachedir"
fi
key=$({
    sha256sum "${BASH_SOURCE[0]}" # this file holds /init and the module list
    echo "$kver"
    stat -Lc '%n %s %Y' "$busybox" "$moddir/modules.dep"
} | sha256sum | cut -c1-16)
initrd=$cachedir/initramfs-$kver-$key.cpio

# The L1's PID 1. Runs under busybox sh. Serial ports: ttyS0 = COMMAND's terminal (our stdout),
# ttyS1 = kernel console (a log file). Status lines for the host script go to the kernel log too, through
# /dev/kmsg: the kernel writes its console by polling the UART, with no interrupt to lose, and no third
# port (ttyS2) shares IRQ 4 with ttyS0. (That sharing was not what froze the L1: see the watchdog below.)
write_init() {
    cat <<'INIT'
#!/bin/sh
export PATH=/bin
st() { echo "<3>kvmlab-l1: st $*" >/dev/kmsg; } # status line for the host script
fail() { # stage reason...: tell the host, then power off
    st "fail $*"; echo "l1 init: $*" >/dev/console
    poweroff -f; reboot -f
}
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
st boot
# A sign of life every 10 s: the host script tells a frozen L1 (the emulator stuck, the kernel spinning
# with interrupts off) from a command that is merely slow, and stops waiting for the frozen one.
(while sleep 10; do st "alive $(cut -d" " -f1 /proc/uptime)"; done) &
# kvm's modules load on the other vCPU while we mount the host's tree: less to wait for. But not before
# the kernel has refined its TSC calibration (it then switches from "tsc-early" to "tsc", ~2 s in): kvm
# takes the TSC's frequency when it loads. A first calibration against the HPET is 700 ppm off (2094.6
# against 2096.0 MHz here); a kvm loaded before the refinement gives its guests that rate, more than
# 250 ppm from the real one, and as we read KVM's set_tsc_khz() it cannot scale (QEMU's SVM has no TSC
# ratio) and returns without setting the guest's TSC multiplier: KVM then reads the guest's TSC as
# standing still and arms its TSC-deadline timer for never. Seen twice: a Linux guest booted without
# one LAPIC timer interrupt and hung (t_linux, LOC 0), its kvm-clock saying 2094.594 MHz.
(
    i=0
    while [ "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" != tsc ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    for m in $(cat /modules-kvm); do insmod "/mod/$m" || { echo "insmod $m failed" >/kvm-failed; exit 1; }; done
) &
kvm_loader=$!
for m in $(cat /modules-root); do insmod "/mod/$m" || fail boot "insmod $m failed"; done

# The host's / (read-only, 9p) under a tmpfs overlay: the command may write anywhere; nothing goes back.
mkdir -p /host /ovl /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host ||
    fail boot "cannot mount the host's / over 9p"
mount -t tmpfs -o mode=0755 ovl /ovl && mkdir /ovl/upper /ovl/work
mount -t overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work overlay /newroot ||
    fail boot "cannot mount the overlay on the host's /"
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev # the same devtmpfs instance as our /dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mount -t tmpfs -o mode=0755 run $R/run
hostname kvmlab-l1

wait $kvm_loader || fail kvm "$(cat /kvm-failed)"
[ -c /dev/kvm ] || fail kvm "kvm-amd loaded but /dev/kvm did not appear"
chmod 0666 /dev/kvm # as udev sets it on Debian
grep -qw svm /proc/cpuinfo || fail kvm "the emulated CPU has no svm flag"

job=
for arg in $(cat /proc/cmdline); do case "$arg" in kvmlab_job=*) job=${arg#kvmlab_job=} ;; esac; done
# The job is a directory in the host's temporary directory (so in our view of the host's / too).
[ -n "$job" ] && [ -r "/host$job/job.conf" ] || fail boot "no job (kvmlab_job=$job) in the host's tree"
. "/host$job/job.conf" # L1_INTERACTIVE L1_PIPE
cp "/host$job/job.sh" $R/run/kvmlab-job.sh

# For the host script's post-mortem of a frozen L1: the kernel's text symbols, written to the run
# directory (a writable 9p share) in the background while the command starts.
mkdir /l1out
if mount -t 9p -o trans=virtio,version=9p2000.L l1out /l1out; then
    (grep ' [tT] ' /proc/kallsyms >/l1out/kallsyms.tmp && mv /l1out/kallsyms.tmp /l1out/kallsyms) &
    grep ' jiffies_64$' /proc/kallsyms | cut -d' ' -f1 >/l1out/jiffies # is the L1's tick still counting?
fi
st run "$(cut -d" " -f1 /proc/uptime)"
echo "<3>kvmlab-l1: command starts" >/dev/kmsg # marks where the command's part of the kernel log begins
tty=/dev/ttyS0
if [ "$L1_INTERACTIVE" = 1 ]; then
    # New session with ttyS0 as controlling tty: Ctrl-C and friends reach the command's process group.
    setsid -c env -i chroot $R /bin/sh /run/kvmlab-job.sh <$tty >$tty 2>&1
    rc=$?
elif [ "$L1_PIPE" = 1 ]; then
    stty -F $tty -onlcr
    # stdout is a pipe here like on the host, so programs do not act as on a terminal.
    { setsid env -i chroot $R /bin/sh /run/kvmlab-job.sh </dev/null 2>&1; echo $? >/rc; } | cat >$tty
    rc=$(cat /rc)
else
    stty -F $tty -onlcr
    setsid env -i chroot $R /bin/sh /run/kvmlab-job.sh </dev/null >$tty 2>&1
    rc=$?
fi
st "exit $rc"
poweroff -f; reboot -f
INIT
}

# Resolve module names to paths under $moddir in load order (dependencies first, each once), from
# modules.dep (whose lines read "kernel/x/y.ko: dep.ko dep.ko ...", dependencies given transitively).
declare -A modpath=() moddeps=() seen=()
order=()
read_modules_dep() {
    local line path name
    while IFS= read -r line; do
        path=${line%%:*}
        name=${path##*/}; name=${name%%.ko*}; name=${name//-/_}
        modpath[$name]=$path
        moddeps[$path]=${line#*:}
    done <"$moddir/modules.dep"
}
resolve() { # path... -> appends to order[]
    local p d
    for p in "$@"; do
        [ -z "${seen[$p]:-}" ] || continue
        seen[$p]=1
        for d in ${moddeps[$p]}; do resolve "$d"; done
        order+=("$p")
    done
}
build_initrd() {
    local stage group list name p out a
    stage=$(mktemp -d "$cachedir/stage.XXXXXX")
    mkdir -p "$stage"/{bin,dev,proc,sys,mod}
    cp "$busybox" "$stage/bin/busybox"
    for a in $("$busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"; done
    write_init >"$stage/init"
    chmod 755 "$stage/init"
    read_modules_dep
    for group in root kvm; do
        [ $group = root ] && list=$MODS_ROOT || list=$MODS_KVM
        order=()
        for name in $list; do
            p=${modpath[${name//-/_}]:-}
            [ -n "$p" ] || die "module $name is not in $moddir/modules.dep"
            resolve "$p"
        done
        : >"$stage/modules-$group"
        for p in "${order[@]}"; do
            out=${p##*/}; out=${out%%.ko*}.ko
            case "$p" in # busybox insmod reads plain ELF only: decompress here
                *.ko) cp "$moddir/$p" "$stage/mod/$out" ;;
                *.ko.xz) xz -dc "$moddir/$p" >"$stage/mod/$out" ;;
                *.ko.zst) zstd -qdc "$moddir/$p" >"$stage/mod/$out" ;;
                *.ko.gz) gzip -dc "$moddir/$p" >"$stage/mod/$out" ;;
                *) die "unexpected module file $moddir/$p" ;;
            esac
            echo "$out" >>"$stage/modules-$group"
        done
    done
    # Uncompressed: unpacking is cheap, decompressing under TCG is not.
    (cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$initrd.$$.tmp"
    rm -rf "$stage"
    rm -f "$cachedir"/initramfs-*.cpio # those of older keys
    mv "$initrd.$$.tmp" "$initrd"
}
[ -s "$initrd" ] || build_initrd

# --- the kernel as QEMU boots it fastest ------------------------------------------------------------------
# QEMU starts an uncompressed vmlinux that has a PVH ELF note (CONFIG_PVH=y in Debian) at its 32-bit entry.
# That skips the bzImage's own XZ decompression, which takes ~3 s under TCG: half of the whole boot. So
# we unpack vmlinux once (66 MB, ~1 s) into the cache; if that fails, we boot the bzImage as it is.
pvh_kernel() {
    local out pair tool pat off
    out=$cachedir/vmlinux-$kver-$(stat -Lc '%s-%Y' "$kernel")
    if [ ! -s "$out" ]; then
        for pair in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
            tool=${pair%%:*} pat=${pair#*:}
            command -v "$tool" >/dev/null || continue
            off=$(LC_ALL=C grep -obUaP "$pat" "$kernel" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
            [ -n "$off" ] || continue
            # The compressed stream is followed by other data: the decompressor complains, output is whole.
            tail -c +$((off + 1)) "$kernel" | "$tool" -dc >"$out.$$.tmp" 2>/dev/null || true
            if readelf -n "$out.$$.tmp" 2>/dev/null | grep -q 'Xen .*(0x00000012)'; then # XEN_ELFNOTE_PHYS32_ENTRY
                mv "$out.$$.tmp" "$out"
                find "$cachedir" -maxdepth 1 -name "vmlinux-*" ! -name "*.tmp" ! -path "$out" -delete # stale ones
                break
            fi
        done
        rm -f "$out.$$.tmp"
    fi
    if [ -s "$out" ]; then echo "$out"; else echo "$kernel"; fi
}
boot_kernel=$(pvh_kernel)

# --- the job: what the L1 runs, passed through the shared tree -------------------------------------------
run=$(mktemp -d "${TMPDIR:-/tmp}/kvmlab-l1.XXXXXX")
case "$run" in *[[:space:]]*) die "temporary directory path has blanks: $run" ;; esac
q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; } # POSIX-sh single quoting

{
    echo "# run by /bin/sh inside the L1's chroot"
    echo "cd $(q "$cwd") || exit 125"
    echo "export PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root TERM=$(q "${TERM:-dumb}") KVMLAB_NESTED=1"
    [ -z "${CI:-}" ] || echo "export CI=$(q "$CI")"
    [ -z "${TMPDIR:-}" ] || echo "export TMPDIR=$(q "$TMPDIR")" # visible in the L1 too, via the overlay
    while IFS= read -r v; do
        case "$v" in KVMLAB_NESTED | KVMLAB_FORCE_NESTED | KVMLAB_L1_*) continue ;; esac
        echo "export $v=$(q "${!v}")"
    done < <(compgen -e | grep '^KVMLAB_' || true)
    if [ "$interactive" = 1 ] && [ -t 0 ]; then
        # The window size lives with the open tty in the L1, so it is set here, by the command's own shell.
        read -r rows cols < <(stty size 2>/dev/null || true) || true
        [ -z "${cols:-}" ] || echo "stty rows $rows cols $cols 2>/dev/null"
    fi
    printf 'exec'
    for a in "$@"; do printf ' %s' "$(q "$a")"; done
    echo
} >"$run/job.sh"
pipe=0
[ "$interactive" = 1 ] || [ -t 1 ] || pipe=1
printf 'L1_INTERACTIVE=%s\nL1_PIPE=%s\n' "$interactive" "$pipe" >"$run/job.conf"
: >"$run/kernel.log" # (QEMU's file; /init's status lines in it are the L1's signs of life)

mkdir "$run/l1out"
mkfifo "$run/mon.in" "$run/mon.out"

# jiffies_delta: how far the L1's jiffies_64 moved in 5 s, read from guest-physical memory (the kernel
# runs at its link address minus __START_KERNEL_map: QEMU's PVH boot does no KASLR). Empty if unknown.
jiffies_delta() {
    local va pa j1 j2
    va=$(cat "$run/l1out/jiffies" 2>/dev/null) || return 0
    [[ "$va" =~ ^ffffffff[0-9a-f]{8}$ ]] || return 0
    pa=$(printf '%x' $((0x$va - 0xffffffff80000000)))
    j1=$(phys_word "$pa")
    j2=$(phys_word "$pa") # (the monitor's answer takes the 5 s)
    [ -n "$j1" ] && [ -n "$j2" ] && echo $((j2 - j1))
}
# phys_word HEXADDR: the 8 bytes at a guest-physical address, as QEMU's monitor prints them (0x...).
phys_word() {
    printf 'xp /1gx 0x%s\n' "$1" >"$run/mon.in"
    timeout 5 cat <&7 | tr -d '\r' | grep -oE '0x[0-9a-f]{16}' | tail -n 1 || true
}

# freeze_report: where the frozen L1's CPU is, from QEMU's monitor, symbolized with the L1 kernel's
# /proc/kallsyms (copied out at boot): RIP, interrupts on or off, the kernel addresses on its stack, its
# LAPIC and whether its tick still counts.
freeze_report() {
    local regs rip rsp rfl words ticks
    exec 7<>"$run/mon.out" # (read-write: never blocks; QEMU holds both ends open)
    timeout 2 cat <&7 >/dev/null || true # the monitor's greeting
    printf 'info registers\n' >"$run/mon.in"
    regs=$(timeout 5 cat <&7 | tr -d '\r' || true)
    rip=$(sed -n 's/.*RIP=\([0-9a-f]*\).*/\1/p' <<<"$regs" | head -n 1)
    rsp=$(sed -n 's/.*RSP=\([0-9a-f]*\).*/\1/p' <<<"$regs" | head -n 1)
    rfl=$(sed -n 's/.*RFL=\([0-9a-f]*\).*/\1/p' <<<"$regs" | head -n 1)
    [ -n "$rip" ] || { echo "l1: QEMU's monitor did not answer (QEMU itself is stuck?)"; exec 7>&-; return; }
    words=
    if [ -n "$rsp" ]; then
        printf 'x/48gx 0x%s\n' "$rsp" >"$run/mon.in"
        words=$(timeout 5 cat <&7 | tr -d '\r' | grep -oE '0x[0-9a-f]{16}' | sed -n '2~1p' || true)
    fi
    printf 'info lapic\n' >"$run/mon.in"
    timeout 5 cat <&7 | tr -d '\r' >"$run/lapic" || true
    ticks=$(jiffies_delta)
    echo "$ticks" >"$run/ticks" # (the watchdog's verdict: 0 is the known freeze)
    exec 7>&-
    echo "l1: the frozen CPU: RIP $rip, RSP $rsp, interrupts $( (( 0x${rfl:-0} & 0x200 )) && echo on || echo off)"
    grep -E 'timer|ISR|IRR|TPR|PPR|LVT0|ESR' "$run/lapic" | sed 's/^/l1: lapic: /' || true
    [ -z "$ticks" ] || echo "l1: its tick (jiffies) advanced by $ticks in 5 s of host time" \
        "$([ "$ticks" -gt 0 ] && echo "(its kernel runs: its processes are stuck)" || echo "(its kernel's timer stopped)")"
    [ -s "$run/l1out/kallsyms" ] || { echo "l1: (no kallsyms from the L1 to name them)"; return; }
    # Each address to the symbol at or below it (binary search in the sorted table); the first is RIP.
    # Only addresses in the L1 kernel's text (_stext.._etext) or its modules' are named: anything
    # else is not the L1's code (RIP elsewhere: the CPU was running a guest of the L1's KVM).
    { echo "$rip"; for w in $words; do echo "${w#0x}"; done; } | LC_ALL=C awk '
        NR == FNR { a[n] = $1; s[n++] = $3 (NF > 3 ? $4 : "")
                    if ($3 == "_stext") t0 = $1; if ($3 == "_etext") t1 = $1
                    if (NF > 3 && (m0 == "" || $1 < m0)) m0 = $1; if (NF > 3 && $1 > m1) m1 = $1; next }
        { x = sprintf("%016s", $1); ours = (x >= t0 && x < t1) || (m0 != "" && x >= m0 && substr(x, 1, 11) <= substr(m1, 1, 11)) }
        FNR == 1 && !ours { print "l1: RIP is not in the L1 kernel: the CPU was running a guest of the " \
            "L1 (kvmlab'"'"'s guest, on emulated SVM) and did not come back to the L1" }
        !ours { next }
        { lo = 0; hi = n - 1; while (lo < hi) { m = int((lo + hi + 1) / 2); if (a[m] <= x) lo = m; else hi = m - 1 }
          if (FNR == 1) print "l1: in " s[lo]; else if (!seen[s[lo]]++ && k++ < 16) st = st " " s[lo] }
        END { if (st != "") print "l1: kernel text on its stack (newest first):" st }' <(LC_ALL=C sort "$run/l1out/kallsyms") -
}

# --- boot it ----------------------------------------------------------------------------------------------
saved_tty=
[ "$interactive" = 1 ] && [ -t 0 ] && saved_tty=$(stty -g)
qpid=
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
    [ -z "$saved_tty" ] || stty "$saved_tty" 2>/dev/null || true
    if [ -n "${KVMLAB_L1_KEEP:-}" ]; then echo "l1: kept $run" >&2; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Kernel options that shave boot time under TCG and cost nothing in a throwaway test machine: no
# speculation mitigations to patch in, no crypto self-tests, trust the (emulated) TSC, no audit.
fast="mitigations=off cryptomgr.notests tsc=reliable no_timer_check audit=0"
# thread=single: with multi-threaded TCG the L1 froze after some 25-400 VM lifecycles (seen here,
# 2026-11-23, with kvmlab and with the bare bench/floor alike): KVM flips static keys as VMs come and go,
# the kernel patches its text with int3 (text_poke_bp), and one emulated CPU kept taking a stale int3
# while the other spun in __schedule with interrupts off. One TCG thread for both CPUs: 1400 lifecycles
# without a freeze, no slower for our mostly single-threaded work.
# One CPU (-smp 1): Linux guests of kvmlab (and of QEMU -accel kvm) in an L1 with two CPUs hung or
# oopsed in ~1 boot of 20 even with PV EOI hidden (docs/boot.md); in an L1 with one CPU, 0 of 30.
# KVMLAB_L1_SMP=N and KVMLAB_L1_CPU=MODEL override both choices, for such experiments.
# shellcheck disable=SC2054 # (the commas are QEMU's)
qemu=(qemu-system-x86_64 -accel tcg,thread=single -cpu "${KVMLAB_L1_CPU:-max}" -m 3072 -smp "${KVMLAB_L1_SMP:-1}"
    -nodefaults -no-user-config -display none -no-reboot
    -chardev stdio,id=con,signal=off -serial chardev:con # ttyS0: the command's terminal
    -serial "file:$run/kernel.log"                       # ttyS1: kernel console
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
    -virtfs "local,path=$run/l1out,mount_tag=l1out,security_model=none"
    -chardev "pipe,id=mon,path=$run/mon" -mon chardev=mon,mode=readline # for freeze_report
    -pidfile "$run/qemu.pid" -kernel "$boot_kernel" -initrd "$initrd"
    -append "console=ttyS1 quiet printk.devkmsg=on panic=-1 $fast ${KVMLAB_L1_APPEND:-} kvmlab_job=$run")

if [ "$interactive" = 1 ]; then
    # A background job's stdin would be /dev/null: hand QEMU our terminal explicitly. --foreground keeps
    # QEMU in the terminal's foreground process group, so it may read it.
    exec 3<&0
    timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" <&3 2>"$run/qemu.err" &
else
    timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null 2>"$run/qemu.err" &
fi
qpid=$!
# The watchdog: /init writes "alive" every 10 s. After $kick_s seconds without one, the L1's timer
# interrupt was lost (seen here under load: its CPU sat in HLT, or in a guest of its KVM, with
# interrupts on and nothing to wake it). An NMI from QEMU's monitor is tried (it has not woken a real
# freeze yet); what the CPU was doing is noted in $run/kicks and shown at the end. If
# nothing comes for $stall_s seconds, or for 20 s after the NMI when the L1's jiffies stood still, the
# L1 has frozen for good: stop QEMU rather than wait for --timeout.
stall_s=${KVMLAB_L1_STALL:-120}
kick_s=${KVMLAB_L1_KICK:-30}
(
    # A sign of life is a new status line from /init, not any kernel message (an NMI's own complaint
    # would otherwise count as one).
    # If the kick's report finds the L1's jiffies standing still (the known freeze: its timer interrupt
    # pending in the LAPIC, never taken), waiting longer has never helped: stop 20 s after the NMI.
    kicked=0 dead=0 nst=0 last=$(date +%s)
    while sleep 5; do
        n=$(grep -c 'kvmlab-l1: st ' "$run/kernel.log" || true)
        now=$(date +%s)
        [ "$n" = "$nst" ] || { nst=$n; last=$now; }
        age=$((now - last))
        if [ "$age" -lt "$kick_s" ]; then
            kicked=0 dead=0
            continue
        fi
        if [ "$age" -lt "$stall_s" ] && { [ $dead = 0 ] || [ $((now - kicked)) -lt 20 ]; }; then
            [ $kicked != 0 ] && continue
            freeze_report >"$run/kick" 2>&1
            { echo "l1: no sign of life for $age s (host time $(date +%T)): sent an NMI"; cat "$run/kick"; } >>"$run/kicks"
            [ "$(cat "$run/ticks" 2>/dev/null)" = 0 ] && dead=1
            printf 'nmi\n' >"$run/mon.in"
            kicked=$(date +%s)
            continue
        fi
        echo "$age" >"$run/stalled"
        if [ $dead = 1 ]; then
            cp "$run/kick" "$run/freeze"
        else
            freeze_report >"$run/freeze" 2>&1
        fi
        kill "$qpid" 2>/dev/null # timeout passes SIGTERM on to QEMU
        sleep 15
        kill -KILL "$(cat "$run/qemu.pid" 2>/dev/null)" 2>/dev/null
        exit 0
    done
) &
wpid=$!
qrc=0
wait "$qpid" || qrc=$?
qpid=
kill "$wpid" 2>/dev/null || true
wait "$wpid" 2>/dev/null || true
[ -z "$saved_tty" ] || stty "$saved_tty" 2>/dev/null || true

# --- what happened ----------------------------------------------------------------------------------------
status=$(sed -n 's/^.*kvmlab-l1: st //p' "$run/kernel.log" | tr -d '\r')
if [ -s "$run/kicks" ]; then # said whatever became of the run: a stall is worth knowing about
    echo "l1: the L1 stalled $(grep -c 'sent an NMI' "$run/kicks") time(s) (no sign of life):" >&2
    cat "$run/kicks" >&2
fi
said() { grep -q "^$1" <<<"$status"; } # did /init report this stage?
if said exit; then
    rc=$(sed -n 's/^exit \([0-9]*\).*/\1/p' <<<"$status" | head -n 1)
    # Kernel errors logged while the command ran (a KVM WARN or oops, say) are worth seeing; the power-off
    # messages are not.
    sed -n '/kvmlab-l1: command starts/,$p' "$run/kernel.log" | tr -d '\r' | sed '1d' |
        grep -v -E '^\[ *[0-9.]+\] (reboot: |ACPI: PM: |kvm: exiting hardware|kvmlab-l1: st )' |
        sed 's/^/l1 kernel: /' >&2 || true
    exit "$rc"
fi
for f in "$run/kernel.log" "$run/qemu.err"; do # the evidence, before the verdict
    [ -s "$f" ] || continue
    echo "l1: last lines of ${f##*/}:" >&2
    grep -v 'kvmlab-l1: st alive' "$f" | tail -n 25 | tr -d '\r' | sed 's/^/  /' >&2
done
reason=$(sed -n 's/^fail [a-z]* //p' <<<"$status" | head -n 1)
if [ -s "$run/stalled" ]; then
    cat "$run/freeze" >&2 2>/dev/null || true
    last=$(sed -n 's/^alive //p' <<<"$status" | tail -n 1)
    where="while booting"
    said run && where="while the command ran"
    last=${last:+last seen at L1 uptime $last s}
    die "the L1 froze $where: no sign of life for $(cat "$run/stalled") s (${last:-none since boot}); stopped it"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    if said run; then die "timed out after ${timeout_s}s (the command was still running in the L1)"; fi
    die "timed out after ${timeout_s}s while the L1 was booting"
fi
if said "fail kvm"; then die "the L1 booted but got no /dev/kvm: $reason"; fi
if said "fail boot"; then die "the L1 failed to boot: $reason"; fi
if said run; then die "the L1 died while the command ran (QEMU exit status $qrc)"; fi
if said boot; then die "the L1 failed to boot: its /init stopped early (QEMU exit status $qrc)"; fi
die "the L1 failed to boot: its kernel never reached /init (QEMU exit status $qrc)"
