#!/bin/bash
# --pin CPU[,CPU...]: vCPU thread i (named vcpuI) runs only on the i-th CPU given, the rest of kvmlab
# where it was allowed; a CPU that does not exist or that kvmlab's affinity excludes is refused before
# the guest starts. The pinning itself is visible only with 2 CPUs or more: the nested L1 has one unless
# started with KVMLAB_L1_SMP=2 (KVMLAB_L1_SMP=2 tests/integration/launch.sh t_pin).
. "$(dirname "$0")/lib.sh"
ncpu=$(nproc --all)

# affinity_of PID COMM: the Cpus_allowed_list of PID's thread named COMM.
affinity_of() {
	local t
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] || continue
		sed -n 's/^Cpus_allowed_list:\s*//p' "$t/status"
		return
	done
}

# pinned_run CPUS NVCPU: start a spinning guest pinned so; prints each vCPU thread's affinity and main's.
pinned_run() {
	"$KVMLAB" run --pin "$1" --cpus "$2" "$TESTGUEST" --cmdline "spin" >"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	for _ in $(seq 300); do grep -q hello "$OUT" && break; sleep 0.1; done
	grep -q hello "$OUT" || { kill -KILL "$pid"; fail "the guest did not start"; }
	got=""
	for ((i = 0; i < $2; i++)); do got+="$(affinity_of "$pid" "vcpu$i") "; done
	got+="main=$(sed -n 's/^Cpus_allowed_list:\s*//p' /proc/$pid/status)"
	kill -TERM "$pid"; wait "$pid" || true
	echo "$got"
}

got=$(pinned_run 0 1)
[ "$got" = "0 main=0-$((ncpu - 1))" ] || [ "$ncpu" = 1 -a "$got" = "0 main=0" ] ||
	fail "--pin 0: affinities '$got'"
if [ "$ncpu" -ge 2 ]; then
	# vCPU 0 on CPU 1, vCPU 1 on CPU 0; a third vCPU beyond the list is not pinned.
	got=$(pinned_run 1,0 3)
	[ "$got" = "1 0 0-$((ncpu - 1)) main=0-$((ncpu - 1))" ] || fail "--pin 1,0 with 3 vCPUs: affinities '$got'"
	# Allowed: what kvmlab's own affinity (here taskset) permits.
	status=0
	taskset -c 0 "$KVMLAB" run --pin 1 "$TESTGUEST" --cmdline "exit=0" >"$OUT" 2>"$ERR" || status=$?
	expect_status 2
	expect_err "kvmlab: --pin or <vcpupin>: CPU 1 is not allowed to kvmlab (its affinity, from taskset or a cpuset, allows CPUs 0)"
	expect_no_out hello
else
	echo "one CPU: pinning to another CPU and 'not allowed' need KVMLAB_L1_SMP=2 (checked by the unit tests)"
fi
kv run --pin "$ncpu" "$TESTGUEST" --cmdline "exit=0"
expect_status 2
expect_err "kvmlab: --pin or <vcpupin>: CPU $ncpu does not exist"
expect_no_out hello
kv run --pin 0,0 "$TESTGUEST" --cmdline "exit=0"
expect_status 2
expect_err "--pin gives 2 CPUs for 1 vCPU"
exit 0
