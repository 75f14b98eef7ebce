#!/bin/bash
# scripts/initramfs.sh OUT PROGRAM... — the teaching kernel's built-in initramfs (cpio newc), which the
# Makefile builds into build/guest/initramfs.cpio and kvmlab carries inside its binary (vmm/default_guest.S):
#   /bin/sh and every PROGRAM (guest/user/: the book's experiments and the kernel's test programs),
#   /bin/busybox with symlinks for its everyday applets, if Debian's busybox-static is installed here,
#   /etc/motd, /etc/passwd and /etc/group (root), and empty /proc /dev /tmp for the kernel to fill.
# Reproducible: names sorted, owner root, every mtime the epoch, so the same inputs give the same bytes.
set -euo pipefail

out=$(realpath -m "$1")
shift
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/dev" "$root/tmp"
chmod 1777 "$root/tmp"
for prog in "$@"; do
    install -m 0755 "$prog" "$root/bin/$(basename "$prog")"
done

# The applets `ps`, `free`, `cat`... come from busybox (statically linked: the kernel loads no libraries).
# Never sh: /bin/sh is ours.
# (echo, true, false, pwd are shell builtins too, but programs exec them: fork-exec runs /bin/echo.)
applets="ls cat echo true false pwd ps free sleep uname uptime top kill head tail wc grep env mkdir rmdir rm cp mv ln touch
         dmesg sort uniq seq printf test date id hostname od hexdump stat df du find xargs sed awk tr cut
         tee basename dirname nproc watch pidof renice taskset time yes more less vi clear
         ash mount umount stty tty sync which whoami chmod dd md5sum reset"
busybox=/bin/busybox
if [ -x "$busybox" ] && ! readelf -l "$busybox" 2>/dev/null | grep -q INTERP; then
    install -m 0755 "$busybox" "$root/bin/busybox"
    have=$("$busybox" --list)
    for a in $applets; do
        [ -e "$root/bin/$a" ] && continue # our program of that name wins
        grep -qx -- "$a" <<<"$have" && ln -s busybox "$root/bin/$a"
    done
fi

# Names for uid and gid 0 (ps, ls -l, id, whoami show "root").
printf 'root:x:0:0:root:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

cat >"$root/etc/motd" <<'MOTD'
kvmlab teaching kernel: type 'help' for the book's experiments, 'exit' to end the VM.
MOTD

cd "$root"
find . -mindepth 1 -exec touch -h -d @0 {} +
find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio -o -H newc --reproducible -R 0:0 --quiet >"$out.tmp"
mv "$out.tmp" "$out"
