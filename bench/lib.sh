# Sourced by the benchmarks that boot Linux: what they share.

die() { echo "bench: $*" >&2; exit 1; }

# bench_kernel: set $kernel to KVMLAB_BENCH_KERNEL, or else the newest /boot/vmlinuz-*; it must be readable.
bench_kernel() {
	local kernels
	kernel=${KVMLAB_BENCH_KERNEL:-}
	if [ -z "$kernel" ]; then
		kernels=(/boot/vmlinuz-*)
		[ -e "${kernels[0]}" ] || die "no /boot/vmlinuz-*: install linux-image-amd64"
		kernel=$(printf '%s\n' "${kernels[@]}" | sort -V | tail -n 1)
	fi
	[ -r "$kernel" ] || die "cannot read $kernel"
}
