#!/bin/bash
# The help is true, the version prints, doctor agrees KVM works here, and the
# built-in guest (the teaching kernel and its shell) boots when no kernel is given.
. "$(dirname "$0")/lib.sh"

kv --help
expect_status 0
for opt in --kernel --mem --cmdline --initrd --cpus --disk --xml --print-xml --debug "Ctrl-A x" doctor on_reboot 0x501 \
	"teaching kernel" "init=PROG"; do
	expect_out "$opt"
done
kv --version
expect_status 0
expect_out "kvmlab "

kv doctor
expect_status 0
expect_out "kvmlab can run VMs on this host."

# (t_builtin.sh tests it further.)
kv run
expect_status 0
expect_out "kvmlab teaching kernel"
expect_out "kernel: starting init: /bin/sh"
expect_out "kvmlab shell on the teaching kernel"
kv run --cmdline "init=/bin/hello cli"
expect_status 7
expect_out "hello from /bin/hello, argc 2"
exit 0
