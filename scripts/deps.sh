#!/bin/bash
# scripts/deps.sh — make sure the Debian packages kvmlab needs are installed (`make deps`; `make check`,
# `make run` and .ci/run call it first).
#
# Silent when everything is there: one dpkg-query call, no network. Otherwise, as root it installs what
# is missing with apt-get; as anyone else it prints the one sudo command to run and exits 1.
#
# What and why:
#   always  - make gcc binutils libc6-dev: build the VMM, the guests (gcc -m32 -ffreestanding + ld -m
#             elf_i386 need nothing more) and the tests; linux-libc-dev: <linux/kvm.h>;
#             libcriterion-dev: the unit tests; musl-tools: musl-gcc -static for the teaching kernel's
#             user programs; libxml2-dev: the domain XML parser and writer (vmm/xml.c, pkg-config
#             libxml-2.0); libvirt-clients: virt-xml-validate and virsh (its in-process test:/// driver,
#             no daemon), with which the tests check our XML against libvirt's own schema and tools;
#             linux-image-amd64: Debian's stock kernel is one of the guests under test (design/testing.md),
#             so it is needed even where /dev/kvm works; e2fsprogs: tests/integration/t_disk.sh makes the
#             guest's ext4 disk images without root (mkfs.ext4 -d) and checks them afterwards (e2fsck -fn,
#             debugfs); fio: bench/disk.sh's guest runs Debian's fio (tests/linux/mkinitramfs.sh --fio
#             copies it and its libraries into the initramfs), wherever the benchmark runs; gnuplot-nox:
#             scripts/plot.sh draws the experiments' graphs (docs/experiments.md) from their TSV rows as SVG;
#             cpio busybox-static: scripts/initramfs.sh packs the teaching kernel's built-in initramfs
#             (cpio newc) with busybox's applets (ps, free, cat, ...) beside the experiments.
#   nested  - qemu-system-x86 xz-utils (and busybox-static cpio): only for tests/nested/l1.sh, which runs the
#             integration tests inside an emulated Linux when /dev/kvm is not usable here (or when
#             KVMLAB_FORCE_NESTED=1). Where /dev/kvm works we do not ask for them: qemu alone is ~100 MB
#             that such a machine never uses. (xz-utils: newer Debian kernels ship .ko.xz modules.)
#   fuzz    - clang libclang-rt-14-dev: only with `scripts/deps.sh fuzz` (`make fuzz`), which builds the
#             libFuzzer targets of tests/fuzz/ with clang -fsanitize=fuzzer,address,undefined; the
#             fuzzer and sanitizer runtimes are in libclang-rt-14-dev (Debian 12's clang is 14).
set -euo pipefail

need=(make gcc binutils libc6-dev linux-libc-dev libcriterion-dev musl-tools linux-image-amd64
      pkg-config libxml2-dev libvirt-clients e2fsprogs fio gnuplot-nox cpio busybox-static)
kvm_usable() { # -c first: bash's <> creates a missing /dev/kvm as a plain file (seen here, as root)
    [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null
}
if [ "${KVMLAB_FORCE_NESTED:-0}" = 1 ] || ! kvm_usable; then
    need+=(qemu-system-x86 xz-utils)
fi
if [ "${1:-}" = fuzz ]; then
    need+=(clang libclang-rt-14-dev)
fi

# One dpkg-query for all: packages it does not know print nothing (and an error we drop); so anything
# not listed as "install ok installed" is missing.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${need[@]}" 2>/dev/null | awk '/ install ok installed$/ {print $1}' || true)
missing=()
for p in "${need[@]}"; do
    grep -qx -- "$p" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" != 0 ]; then
    echo "kvmlab needs these Debian packages; install them with:" >&2
    echo "sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}" >&2
# A machine without any kernel in /boot (a container, or a VM started with an outside kernel like our CI)
# does not boot from /boot: building an initrd for linux-image-amd64 there is ~2 min of useless work.
# Where /boot has a kernel, the new one may become the default boot entry, so it gets its initrd.
if ! compgen -G '/boot/vmlinuz-*' >/dev/null; then export INITRD=No; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
