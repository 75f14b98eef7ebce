#!/bin/bash
# tests/linux/mkinitramfs.sh [--kernel VMLINUZ] [--fio] OUT.cpio — the initramfs kvmlab's Linux tests and
# benchmarks boot.
#
# An uncompressed cpio (newc) with busybox-static as /bin/busybox, links for its applets, the kernel
# modules the disk modes need, and an /init (below) that mounts /proc, /sys and /dev (devtmpfs), prints
# KVMLAB-LINUX-UP as the first thing it writes, then does what the kernel command line word
# kvmlab.test=WHAT asks:
#   info   print "nproc: N" (/proc/cpuinfo), "online: CPULIST" (/sys/devices/system/cpu/online),
#          "memtotal_kb: N" (/proc/meminfo), "memory: FREEK/RAMK available (...)" (the kernel's boot
#          message: RAM is what the e820 map gave), "uname: RELEASE", "date: SECONDS" (UTC since
#          1970), "interrupts: LINE" for IRQ 0,
#          IRQ 4 and LOC of /proc/interrupts, then each kernel message of
#          level warning or worse as "dmesg: LEVEL [TIME] TEXT", then KVMLAB-LINUX-DONE; reboot -f.
#   boot   reboot -f right after the marker (the boot-time benchmark).
#   disk   the virtio-blk test (tests/integration/t_disk.sh): load the modules, then check /dev/vda (an
#          ext4 file system, read-write) and, if kvmlab.rofile is given, /dev/vdb (read-only). One line
#          per check, "KVMLAB-DISK PASS NAME: DETAIL" or "KVMLAB-DISK FAIL NAME: DETAIL", then
#          "KVMLAB-DISK-DONE pass=N fail=N"; reboot -f. Parameters (kernel command line words):
#            kvmlab.file=NAME kvmlab.sha=SHA256   a file on vda's ext4 and its expected SHA-256
#            kvmlab.new=NAME       a file to create on vda (default newfile), holding the output of
#                                  `seq -w 0 599999` (4200000 bytes; GNU seq gives the same bytes)
#            kvmlab.vdasize=BYTES  expected size of vda (optional)
#            kvmlab.vdaserial=S kvmlab.vdbserial=S   expected serials, /sys/block/vdX/serial (optional)
#            kvmlab.rofile=NAME kvmlab.rosha=SHA256  a file on vdb's ext4 (vdb is checked only if given)
#          Checks (NAME): modules, vda-present, vda-size, vda-rw, vda-serial, vda-mount, vda-read,
#          vda-write, vda-umount, vda-reread, vdb-present, vdb-ro, vdb-serial, vdb-write-refused,
#          vdb-rw-mount-refused, vdb-mount-ro, vdb-read. Also printed: "KVMLAB-DISK irq: LINE" for each
#          virtio line of /proc/interrupts (MSI-X or IO-APIC, and counts), "KVMLAB-DISK info vdX: ..."
#          (the negotiated virtio feature bits and the block queue's limits), "klog: TEXT" for the
#          kernel's virtio/vd*/EXT4 messages, "dmesg: LEVEL [TIME] TEXT" as for info, and
#          "KVMLAB-DISK uptime: start S end S" (the guest's uptime around the disk checks).
#   fio    the disk benchmark (bench/disk.sh): load the modules, then run fio (only in an initramfs
#          built with --fio) on the raw /dev/vda, ioengine=libaio, direct=1, one job after the other:
#          randread-4k-qd1, randread-4k-qd32, seqread-1m-qd8, seqwrite-1m-qd8, each for
#          kvmlab.fio_runtime=S seconds (default 10) after kvmlab.fio_ramp=S (default 2). Prints fio's
#          terse (version 3) lines as "KVMLAB-FIO-TERSE LINE", then per job
#          "KVMLAB-FIO NAME IOPS BW_KIB LAT_MEAN_US" and KVMLAB-FIO-DONE (or KVMLAB-FIO-FAIL REASON);
#          reboot -f. DESTROYS what is on /dev/vda: give it a scratch image.
#   shell  (and anything else, or no kvmlab.test) print KVMLAB-SHELL-READY and run an interactive shell
#          on the console with job control (Ctrl-C works). Commands may be piped in.
# `reboot` in the guest first waits until the console's output has left the UART (the kernel does not
# flush a tty on reboot: the last lines a program wrote could be lost).
#
# Modules: virtio_pci, virtio_blk and ext4 of the guest kernel (--kernel VMLINUZ, whose modules are in
# /lib/modules/VERSION; default: the newest /boot/vmlinuz-*, the one the tests boot), with everything
# they need, resolved by the kernel's own metadata: `modprobe -S VERSION --show-depends` (kmod), which
# follows modules.dep and also the soft dependencies (ext4 and jbd2 want crypto-crc32c: crc32c-intel,
# crc32c_generic; without them mounting a metadata_csum file system fails). They are stored as plain
# .ko (busybox insmod cannot read .ko.xz/.ko.zst/.ko.gz: decompressed here) in /kmod/, with /kmod/order
# listing them in load order; /init insmods them for the disk and fio modes only (info, boot and shell
# boot as fast as before). Modules under arch/ (CPU-specific accelerations like crc32c-intel) may fail
# to load on a CPU without the feature: that is a note, not a failure. Without /lib/modules/VERSION (or
# modprobe) the initramfs is built without modules, with a warning; the disk and fio modes then fail.
#
# --fio adds /usr/bin/fio with every library `ldd` lists and the dynamic loader (Debian's fio links
# ~60 libraries, ceph's and glusterfs' among them: ~85 MB uncompressed; give such a guest >= 512 MiB).
#
# Cache: OUT is rebuilt only when this script, busybox, the kernel version, its modules.dep or (with
# --fio) fio changed (OUT.key holds what it was built from); the caller picks where OUT lives.
# BUSYBOX=PATH picks another static busybox. No root needed.
set -euo pipefail

usage() { echo "usage: $0 [--kernel VMLINUZ] [--fio] OUT.cpio" >&2; exit 2; }
die() { echo "mkinitramfs: $*" >&2; exit 1; }
kernel="" with_fio=0
while [ $# -gt 1 ]; do
    case "$1" in
        --kernel) [ $# -gt 2 ] || usage; kernel=$2; shift 2 ;;
        --kernel=*) kernel=${1#--kernel=}; shift ;;
        --fio) with_fio=1; shift ;;
        *) usage ;;
    esac
done
[ $# = 1 ] && [ -n "$1" ] && [ "${1#-}" = "$1" ] || usage
out=$1
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || die "no $bb (install busybox-static)"

# The guest kernel's version, for its modules: vmlinuz-VERSION.
if [ -z "$kernel" ]; then
    kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
fi
kver=${kernel##*/vmlinuz-}
[ "$kver" != "$kernel" ] || kver="" # not named vmlinuz-VERSION: no modules known
moddir=/lib/modules/$kver
modprobe=$(PATH=$PATH:/usr/sbin:/sbin command -v modprobe || true)
have_mods=0
if [ -n "$kver" ] && [ -r "$moddir/modules.dep" ] && [ -n "$modprobe" ]; then have_mods=1; fi
fio=""
if [ $with_fio = 1 ]; then
    fio=$(command -v fio || true)
    [ -n "$fio" ] || die "--fio: no fio here (install fio: scripts/deps.sh does)"
fi

key=$(
    sha256sum "${BASH_SOURCE[0]}" "$bb" | while read -r sum _; do printf '%s ' "$sum"; done
    [ $have_mods = 0 ] || stat -Lc '%n %s %Y' "$moddir/modules.dep" | tr '\n' ' '
    [ -z "$fio" ] || stat -Lc '%n %s %Y' "$fio" | tr '\n' ' '
)
if [ -s "$out" ] && [ -f "$out.key" ] && [ "$(<"$out.key")" = "$key" ]; then
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mkinitramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
s=$work/root
mkdir -p "$s"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc,mnt,kmod}

# `busybox --install -s DIR` links every applet to busybox's own resolved path (/proc/self/exe), e.g.
# /usr/bin/busybox on a merged-/usr host: the binary goes exactly there, /bin/busybox points to it.
real=$(readlink -f "$bb")
mkdir -p "$s${real%/*}"
cp "$bb" "$s$real"
[ "$real" = /bin/busybox ] || ln -s "$real" "$s/bin/busybox"
"$bb" --install -s "$s/bin"
rm -f "$s/bin/reboot" # replaced by the draining wrapper below

cat >"$s/bin/reboot" <<'EOS'
#!/bin/sh
# Wait until the console's pending output has gone out of the UART (stty applies settings with
# TCSADRAIN: re-applying the current ones drains), then busybox's reboot.
stty -F /dev/console "$(stty -F /dev/console -g)" 2>/dev/null
exec busybox reboot "$@"
EOS

cat >"$s/init" <<'EOS'
#!/bin/sh
# /init of kvmlab's test initramfs (generated by tests/linux/mkinitramfs.sh). See there.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo KVMLAB-LINUX-UP

# kvmlab.test=WHAT: a word with a dot is a module parameter to the kernel, so it stays out of our
# environment and arguments; read it from /proc/cmdline.
set -f
what=shell
read -r cmdline </proc/cmdline
for w in $cmdline; do
    case "$w" in kvmlab.test=*) what=${w#kvmlab.test=} ;; esac
done
set +f

# param NAME [DEFAULT]: the value of the command line word kvmlab.NAME=VALUE.
param() {
    local w v="${2-}"
    set -f
    for w in $cmdline; do
        case "$w" in "kvmlab.$1="*) v=${w#kvmlab.$1=} ;; esac
    done
    set +f
    printf '%s' "$v"
}

# The kernel messages of level warning or worse, as "dmesg: LEVEL [TIME] TEXT". busybox dmesg has no
# -l: take the raw records (<PRI>[TIME] TEXT) of level 0-4 (emerg..warning).
dmesg_warnings() {
    dmesg -r | awk 'BEGIN { split("emerg alert crit err warn", n, " ") }
        match($0, /^<[0-9]+>/) {
            l = substr($0, 2, RLENGTH - 2) % 8
            if (l <= 4) print "dmesg: " n[l + 1] " " substr($0, RLENGTH + 1)
        }'
}

# Load /kmod/*.ko in the order of /kmod/order (mkinitramfs.sh resolved it with modprobe). 0: all the
# required ones loaded.
load_modules() {
    local name kind msg failed=""
    [ -s /kmod/order ] || { echo "no kernel modules in this initramfs (see mkinitramfs.sh)"; return 1; }
    while read -r name kind; do
        msg=$(insmod "/kmod/$name" 2>&1) && continue
        if [ "$kind" = optional ]; then
            echo "note: optional module $name not loaded: $msg"
        else
            echo "insmod $name: $msg"
            failed="$failed $name"
        fi
    done </kmod/order
    [ -z "$failed" ]
}

# wait_dev PATH: wait up to 10 s for a block device node.
wait_dev() {
    local i=0
    while [ ! -b "$1" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -b "$1" ]
}

case "$what" in
info)
    echo "nproc: $(grep -c '^processor' /proc/cpuinfo)"
    echo "online: $(cat /sys/devices/system/cpu/online)"
    echo "memtotal_kb: $(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"
    # The kernel's own count of the RAM the memory map gave it: "Memory: FREEK/RAMK available (...)".
    dmesg | sed -n 's/^\[[^]]*\] Memory: /memory: /p'
    echo "uname: $(uname -r)"
    echo "date: $(date -u +%s)" # the wall clock the kernel read from the CMOS RTC at boot
    # How IRQ 0 (PIT), IRQ 4 (COM1) and the LAPIC timers are routed and whether they fired.
    grep -E '^ *(0|4|LOC):' /proc/interrupts | sed 's/^ */interrupts: /'
    # What keeps time (for a failure's story: a timer that never ticked, a TSC misjudged).
    echo "clock: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" \
        "$(cat /sys/devices/system/clockevents/clockevent0/current_device 2>/dev/null)" \
        "uptime $(cut -d' ' -f1 /proc/uptime)"
    dmesg | sed -n 's/^\[[^]]*\] \(tsc: .*\)/clock: \1/p'
    dmesg_warnings
    echo KVMLAB-LINUX-DONE
    reboot -f
    ;;
boot)
    reboot -f
    ;;
disk)
    npass=0 nfail=0
    pass() { echo "KVMLAB-DISK PASS $1: $2"; npass=$((npass + 1)); }
    fail() { echo "KVMLAB-DISK FAIL $1: $2"; nfail=$((nfail + 1)); }
    sha() { local h; h=$(sha256sum "$1" 2>&1) && echo "${h%% *}"; } # SHA256 of a file, or nothing
    # is_mounted DIR ro|rw: DIR is a mount point with that option.
    is_mounted() { awk -v d="$1" -v o="$2" '$2 == d && ("," $4 ",") ~ ("," o ",") { f = 1 } END { exit !f }' /proc/mounts; }
    t0=$(cut -d' ' -f1 /proc/uptime)
    file=$(param file) want=$(param sha) new=$(param new newfile) vdasize=$(param vdasize)
    vdaserial=$(param vdaserial) vdbserial=$(param vdbserial) rofile=$(param rofile) rosha=$(param rosha)
    # What vda gets: 600000 numbered lines, so every 512-byte sector differs from every other.
    newsha=$(seq -w 0 599999 | sha256sum) newsha=${newsha%% *}

    if load_modules; then pass modules "$(wc -l </kmod/order) modules loaded"; else fail modules "(above)"; fi

    if wait_dev /dev/vda; then pass vda-present "/dev/vda"; else fail vda-present "no /dev/vda after 10 s"; fi
    if [ -n "$vdasize" ]; then
        got=$(blockdev --getsize64 /dev/vda 2>&1)
        if [ "$got" = "$vdasize" ]; then pass vda-size "$got bytes"; else fail vda-size "$got bytes, expected $vdasize"; fi
    fi
    got=$(blockdev --getro /dev/vda 2>&1)
    if [ "$got" = 0 ]; then pass vda-rw "blockdev --getro: 0"; else fail vda-rw "blockdev --getro: $got"; fi
    if [ -n "$vdaserial" ]; then
        got=$(cat /sys/block/vda/serial 2>&1)
        if [ "$got" = "$vdaserial" ]; then pass vda-serial "'$got'"; else fail vda-serial "'$got', expected '$vdaserial'"; fi
    fi
    if msg=$(mount -t ext4 -o rw /dev/vda /mnt 2>&1) && is_mounted /mnt rw; then
        pass vda-mount "ext4, read-write"
        got=$(sha "/mnt/$file")
        if [ -n "$file" ] && [ "$got" = "$want" ]; then pass vda-read "/$file sha256 $got"; else fail vda-read "/$file sha256 '$got', expected '$want'"; fi
        if msg=$({ seq -w 0 599999 >"/mnt/$new" && sync; } 2>&1); then
            pass vda-write "/$new: $(wc -c <"/mnt/$new") bytes written, synced"
        else
            fail vda-write "/$new: $msg"
        fi
        if msg=$(umount /mnt 2>&1); then pass vda-umount "clean"; else fail vda-umount "$msg"; fi
    else
        fail vda-mount "mount -t ext4 -o rw /dev/vda: $msg $(grep ' /mnt ' /proc/mounts)"
        umount /mnt 2>/dev/null
    fi
    # Mounted afresh, nothing of the file is cached: it is read back from the disk.
    if msg=$(mount -t ext4 -o ro /dev/vda /mnt 2>&1); then
        got=$(sha "/mnt/$new")
        if [ "$got" = "$newsha" ]; then pass vda-reread "/$new sha256 $got"; else fail vda-reread "/$new sha256 '$got', expected '$newsha'"; fi
        umount /mnt
    else
        fail vda-reread "mount -t ext4 -o ro /dev/vda: $msg"
    fi

    if [ -n "$rofile" ]; then
        if wait_dev /dev/vdb; then pass vdb-present "/dev/vdb"; else fail vdb-present "no /dev/vdb after 10 s"; fi
        got=$(blockdev --getro /dev/vdb 2>&1)
        if [ "$got" = 1 ]; then pass vdb-ro "blockdev --getro: 1"; else fail vdb-ro "blockdev --getro: $got"; fi
        if [ -n "$vdbserial" ]; then
            got=$(cat /sys/block/vdb/serial 2>&1)
            if [ "$got" = "$vdbserial" ]; then pass vdb-serial "'$got'"; else fail vdb-serial "'$got', expected '$vdbserial'"; fi
        fi
        if msg=$(dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=notrunc,fsync 2>&1); then
            fail vdb-write-refused "a 4 KiB write to /dev/vdb succeeded"
        else
            pass vdb-write-refused "$(echo "$msg" | head -n 1)"
        fi
        # busybox mount, refused read-write (EACCES/EROFS), says so and mounts read-only instead.
        # A failure must be for want of write access, not (say) a file system the write above broke.
        if ! msg=$(mount -t ext4 -o rw /dev/vdb /mnt 2>&1); then
            case "$msg" in
                *[Pp]ermission*|*[Rr]ead-only*|*write-protected*) pass vdb-rw-mount-refused "$(echo "$msg" | head -n 1)" ;;
                *) fail vdb-rw-mount-refused "the read-write mount failed for another reason: $(echo "$msg" | head -n 1)" ;;
            esac
        elif is_mounted /mnt ro; then
            pass vdb-rw-mount-refused "the kernel refused read-write, busybox mount fell back to read-only"
            umount /mnt
        else
            fail vdb-rw-mount-refused "/dev/vdb mounted read-write"
            umount /mnt
        fi
        if msg=$(mount -t ext4 -o ro /dev/vdb /mnt 2>&1); then
            pass vdb-mount-ro "ext4, read-only"
            got=$(sha "/mnt/$rofile")
            if [ "$got" = "$rosha" ]; then pass vdb-read "/$rofile sha256 $got"; else fail vdb-read "/$rofile sha256 '$got', expected '$rosha'"; fi
            umount /mnt
        else
            fail vdb-mount-ro "mount -t ext4 -o ro /dev/vdb: $msg"
        fi
    fi
    grep virtio /proc/interrupts | sed 's/^ */KVMLAB-DISK irq: /'
    # What the driver made of each disk: the negotiated feature bits (bit 0 first) and the queue limits.
    for q in /sys/block/vd*; do
        [ -d "$q" ] || continue
        echo "KVMLAB-DISK info ${q##*/}: features=$(cat "$q/device/features" 2>/dev/null)" \
            "max_segments=$(cat "$q/queue/max_segments") max_segment_size=$(cat "$q/queue/max_segment_size")" \
            "max_hw_sectors_kb=$(cat "$q/queue/max_hw_sectors_kb") logical_block_size=$(cat "$q/queue/logical_block_size")" \
            "write_cache=$(cat "$q/queue/write_cache") discard_max_bytes=$(cat "$q/queue/discard_max_bytes")" \
            "nr_requests=$(cat "$q/queue/nr_requests") mq=$(ls "$q/mq" | wc -l)"
    done
    dmesg | grep -E 'virtio|vd[a-z]|EXT4' | sed 's/^\[[^]]*\] */klog: /'
    dmesg_warnings
    echo "KVMLAB-DISK uptime: start $t0 end $(cut -d' ' -f1 /proc/uptime)"
    echo "KVMLAB-DISK-DONE pass=$npass fail=$nfail"
    sync
    reboot -f
    ;;
fio)
    runtime=$(param fio_runtime 10) ramp=$(param fio_ramp 2)
    if ! [ -x /usr/bin/fio ]; then
        echo "KVMLAB-FIO-FAIL fio is not in this initramfs (build it with mkinitramfs.sh --fio)"
    elif ! load_modules; then
        echo "KVMLAB-FIO-FAIL kernel modules did not load (above)"
    elif ! wait_dev /dev/vda; then
        echo "KVMLAB-FIO-FAIL no /dev/vda after 10 s"
    else
        echo "KVMLAB-FIO disk: $(blockdev --getsize64 /dev/vda) bytes, $(nproc) CPU(s), runtime ${runtime}s, ramp ${ramp}s"
        grep virtio /proc/interrupts | sed 's/^ */KVMLAB-FIO irq: /'
        # One job after the other (stonewall), each on the whole raw disk.
        cat >/tmp/disk.fio <<JOBS
[global]
filename=/dev/vda
ioengine=libaio
direct=1
time_based=1
runtime=$runtime
ramp_time=$ramp
stonewall
[randread-4k-qd1]
rw=randread
bs=4k
iodepth=1
[randread-4k-qd32]
rw=randread
bs=4k
iodepth=32
[seqread-1m-qd8]
rw=read
bs=1M
iodepth=8
[seqwrite-1m-qd8]
rw=write
bs=1M
iodepth=8
JOBS
        export LD_LIBRARY_PATH
        LD_LIBRARY_PATH=$(cat /etc/fio-libdirs)
        if fio --output-format=terse --terse-version=3 --output=/tmp/fio.out /tmp/disk.fio >/tmp/fio.err 2>&1; then
            # terse v3 fields: 3 name; read: 6 io KiB, 7 bw KiB/s, 8 IOPS, 40 mean total latency
            # (submission + completion) in us; write: 47, 48, 49, 81 the same.
            grep '^3;' /tmp/fio.out | sed 's/^/KVMLAB-FIO-TERSE /'
            grep '^3;' /tmp/fio.out | awk -F';' '{
                if ($47 > 0) printf("KVMLAB-FIO %s %d %d %.1f\n", $3, $49, $48, $81)
                else printf("KVMLAB-FIO %s %d %d %.1f\n", $3, $8, $7, $40) }'
            echo KVMLAB-FIO-DONE
        else
            cat /tmp/fio.err /tmp/fio.out 2>/dev/null | tail -n 20
            echo "KVMLAB-FIO-FAIL fio failed"
        fi
    fi
    dmesg_warnings
    reboot -f
    ;;
*)
    [ "$what" = shell ] || echo "kvmlab.test=$what: unknown, running a shell"
    echo KVMLAB-SHELL-READY
    # A session of its own with the console's real tty (ttyS0) as controlling terminal: job control,
    # Ctrl-C. /dev/console cannot be a controlling tty for job control; cttyhack finds the real one.
    exec setsid cttyhack sh
    ;;
esac
echo "kvmlab-initramfs: reboot failed"
exec sleep 2147483647
EOS
chmod 755 "$s/init" "$s/bin/reboot"

# --- kernel modules: virtio-pci, virtio-blk, ext4 and what they need, in load order -----------------------
: >"$s/kmod/order"
if [ $have_mods = 1 ]; then
    # "insmod /lib/modules/V/kernel/x/y.ko [options]" per module, dependencies (and soft dependencies)
    # first; "builtin NAME" for those built into the kernel. Each module once, at its first place.
    declare -A seen=()
    deps=$("$modprobe" -S "$kver" --show-depends -a virtio_pci virtio_blk ext4) ||
        die "modprobe -S $kver --show-depends failed"
    while read -r verb path _; do
        [ "$verb" = insmod ] || continue
        [ -z "${seen[$path]:-}" ] || continue
        seen[$path]=1
        name=${path##*/}; name=${name%%.ko*}.ko
        case "$path" in # busybox insmod reads plain ELF only: decompress here
            *.ko) cp "$path" "$s/kmod/$name" ;;
            *.ko.xz) xz -dc "$path" >"$s/kmod/$name" ;;
            *.ko.zst) zstd -qdc "$path" >"$s/kmod/$name" ;;
            *.ko.gz) gzip -dc "$path" >"$s/kmod/$name" ;;
            *) die "unexpected module file $path" ;;
        esac
        kind=required
        case "$path" in "$moddir"/kernel/arch/*) kind=optional ;; esac
        echo "$name $kind" >>"$s/kmod/order"
    done <<<"$deps"
else
    echo "mkinitramfs: warning: no modules for kernel '${kver:-$kernel}' ($moddir/modules.dep or modprobe" \
        "missing): the disk and fio modes will not work" >&2
fi

# --- fio (--fio): the binary, the libraries ldd lists, the dynamic loader ---------------------------------
if [ -n "$fio" ]; then
    mkdir -p "$s/usr/bin"
    cp -L "$fio" "$s/usr/bin/fio"
    libs=$(ldd "$fio") || die "ldd $fio failed"
    ! grep -q 'not found' <<<"$libs" || die "ldd $fio: $(grep 'not found' <<<"$libs" | head -n 3)"
    libdirs=""
    while read -r a b c _; do
        case "$b" in
            '=>') lib=$c ;;               # libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)
            *) case "$a" in /*) lib=$a ;; *) continue ;; esac ;; # /lib64/ld-linux-x86-64.so.2 (0x...)
        esac
        [ -n "$lib" ] && [ "${lib#/}" != "$lib" ] || continue
        mkdir -p "$s${lib%/*}"
        cp -L "$lib" "$s$lib" # the name the loader looks for, with the real file's bytes
        case ":$libdirs:" in *":${lib%/*}:"*) ;; *) libdirs=${libdirs:+$libdirs:}${lib%/*} ;; esac
    done <<<"$libs"
    # Where ldd found them, whatever /etc/ld.so.cache (absent here) or RUNPATHs would say.
    echo "$libdirs" >"$s/etc/fio-libdirs"
fi

# Ownership root, no device numbers, inodes renumbered: the same inputs give the same archive.
(cd "$s" && find . -mindepth 1 -exec touch -h -d @0 {} + &&
    find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) >"$work/out.cpio"
mv -f "$work/out.cpio" "$out"
printf '%s' "$key" >"$out.key"
