#!/bin/bash
# The help is true, the version prints, doctor agrees KVM works here, and the
# built-in guest boots when no kernel is given.
. "$(dirname "$0")/lib.sh"

kv --help
expect_status 0
for opt in --kernel --mem --cmdline --initrd --cpus --disk --xml --print-xml --debug "Ctrl-A x" doctor on_reboot 0x501; do
	expect_out "$opt"
done
kv --version
expect_status 0
expect_out "kvmlab "

kv doctor
expect_status 0
expect_out "kvmlab can run VMs on this host."

printf 'abc\rq' >"$TMPDIR/keys"
kv run <"$TMPDIR/keys"
expect_status 0
expect_out "Hello from inside a KVM virtual machine!"
expect_out "> abc"
expect_out "Bye."
exit 0
