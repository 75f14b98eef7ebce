#!/bin/bash
# Domain XML (docs/xml.md): libvirt's schema takes every example and what --print-xml writes; the
# round trip kvmlab --print-xml -> libvirt's test driver (define, dumpxml) -> kvmlab keeps the
# configuration; a VM described only by XML boots; on_reboot / on_poweroff restart or destroy.
. "$(dirname "$0")/lib.sh"

cd "$TMPDIR"

# --- libvirt's schema accepts the examples ------------------------------------------------------
n=0
for f in "$REPO"/examples/*.xml; do
	virt-xml-validate "$f" domain >"$OUT" 2>"$ERR" || fail "$f: not valid for libvirt's schema"
	n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n examples/*.xml"

# The examples name files by absolute path (libvirt's rule); here they are in this checkout.
for f in "$REPO"/examples/*.xml; do
	sed "s|/path/to/kvmlab|$REPO|g" "$f" >"${f##*/}"
done

# --- the round trip through libvirt -------------------------------------------------------------
# round_trip NAME [OPTIONS...]: kvmlab --print-xml OPTIONS, libvirt's canonical form of it, and
# kvmlab's reading of that must print the very same XML. NAME: the domain's name, quoted for virsh.
round_trip() {
	local name=$1
	shift
	kv run --print-xml "$@"
	expect_status 0
	cp "$OUT" first.xml
	virt-xml-validate first.xml domain >"$OUT" 2>"$ERR" || fail "--print-xml $*: not valid"
	virsh -q -c test:///default "define first.xml; dumpxml $name" >libvirt.xml 2>"$ERR" ||
		fail "libvirt refused --print-xml $*"
	# It went through libvirt: the test driver writes what it adds.
	grep -q "<vcpu placement='static'>" libvirt.xml || fail "not libvirt's canonical form: $*"
	kv run --print-xml libvirt.xml
	expect_status 0
	cmp -s first.xml "$OUT" ||
		fail "round trip of $* changed: $(diff first.xml "$OUT" | head -20)"
}

round_trip kvmlab
printf 'initrd\n' >rd
round_trip kvmlab --mem 3G --cpus 4 --kernel "$TESTGUEST" --initrd rd \
	--cmdline "exit=5 a&b <c> \"d\" 'e'"
grep -qF "<cmdline>exit=5 a&amp;b &lt;c&gt; &quot;d&quot; 'e'</cmdline>" first.xml ||
	fail "command line not escaped: $(grep cmdline first.xml)"
grep -qF "<initrd>$TMPDIR/rd</initrd>" first.xml || fail "initrd path not made absolute"
round_trip kvmlab-builtin builtin.xml
# --pin and a disk's ioeventfd=off are libvirt's <vcpupin> and <driver ioeventfd='off'/>.
: >pin.img && : >pin2.img
round_trip kvmlab --cpus 3 --pin 1,0 --disk pin.img,ioeventfd=off,serial=p --disk pin2.img,ro
grep -qF "<vcpupin vcpu='1' cpuset='0'/>" first.xml || fail "no <vcpupin>: $(cat first.xml)"
[ "$(grep -c "ioeventfd='off'" first.xml)" = 1 ] || fail "not one ioeventfd='off': $(cat first.xml)"
round_trip kvmlab-pvh pvh.xml
round_trip kvmlab-linux linux.xml
round_trip "'full & \"quoted\"'" "$REPO/tests/xml/full.xml"
round_trip vi-linux "$REPO/tests/xml/virt-install.xml"
round_trip canon "$REPO/tests/xml/libvirt-canonical.xml"
# Options over a file are part of the configuration that goes round.
round_trip canon "$REPO/tests/xml/libvirt-canonical.xml" -m 96M -c "override"
grep -qF "<memory unit='KiB'>98304</memory>" first.xml || fail "--mem did not override the XML"

# --- disks a domain XML names, and what kvmlab refuses ------------------------------------------
# The canonical domain's disk, with the test guest as its kernel: vdb there, vda added (read-only).
truncate -s 1M a.img
truncate -s 2M b.img
sed -e "s|dev='vda'|dev='vdb'|" \
	-e "s|<kernel>[^<]*</kernel>|<kernel>$TESTGUEST</kernel>|" -e "s|<initrd>[^<]*</initrd>||" \
	-e "s|<cmdline>[^<]*</cmdline>|<cmdline>pci exit=0</cmdline>|" \
	-e "s|</devices>|<disk type='file' device='disk'><source file='$TMPDIR/a.img'/><target dev='vda' bus='virtio'/><readonly/></disk></devices>|" \
	"$REPO/tests/xml/libvirt-canonical.xml" >disks.xml
kv run disks.xml
expect_status 1
expect_err "cannot open disk /var/lib/kvmlab/root.img: No such file or directory"
expect_no_out "testguest: hello"
# Its disks attach: the guest finds them on PCI, vda in slot 1 (target order, not file order).
sed -i "s|/var/lib/kvmlab/root.img|$TMPDIR/b.img|" disks.xml
kv run disks.xml
expect_status 1
expect_out "testguest: hello, cmdline [pci exit=0]"
grep -A8 "slot 1 1af4" "$OUT" | grep -qF "capacity 2048" || fail "vda (1M) is not in slot 1"
grep -A8 "slot 2 1af4" "$OUT" | grep -qF "capacity 4096" || fail "vdb (2M) is not in slot 2"
kv run "$REPO/tests/xml/unsupported-element.xml"
expect_status 2
expect_err "unsupported-element.xml:11: <interface> is not supported"
kv run --xml "$REPO/tests/xml/not-well-formed.xml"
expect_status 2
expect_err "not-well-formed.xml:4: not well-formed XML"

# --- a VM described only by XML -------------------------------------------------------------------
kv run pvh.xml
expect_status 1 # the example's exit=0: (0 << 1) | 1
expect_out "testguest: hello, cmdline [memmap cpuid exit=0]"
expect_out "cpuid: hypervisor bit 1"
ram=$(grep -o "memmap: ram [0-9]* KiB" "$OUT") || fail "no memory map"
# The XML's 128 MiB, as the same guest sees them when given on the command line.
kv run --mem 128M --kernel "$TESTGUEST" --cmdline memmap
expect_out "$ram"
kv run --mem 64M --kernel "$TESTGUEST" --cmdline memmap
expect_no_out "$ram"
# Options override the file's values.
kv run pvh.xml --cmdline "exit=4"
expect_status 9
expect_out "testguest: hello, cmdline [exit=4]"

# The built-in guest: no <kernel>, so the teaching kernel, its initramfs and shell, in the XML's 64 MiB.
kv run builtin.xml
expect_status 0
expect_out "kvmlab shell on the teaching kernel"
grep -q "^memory: usable 65[0-9]* KiB (63 MiB)" "$OUT" || fail "not the XML's 64 MiB"
kv run builtin.xml --cmdline "init=/bin/hello xml"
expect_status 7
expect_out "hello from /bin/hello, argc 2"

# --- on_poweroff / on_reboot: restart or destroy ------------------------------------------------
# domain FILE ON_POWEROFF ON_REBOOT: a 2-vCPU test guest that asks what to do on each boot.
domain() {
	cat >"$1" <<EOF
<domain type='kvm'>
  <name>t</name>
  <memory unit='MiB'>16</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$TESTGUEST</kernel>
    <cmdline>ask</cmdline>
  </os>
  <on_poweroff>$2</on_poweroff>
  <on_reboot>$3</on_reboot>
  <devices>
    <console type='pty'/>
  </devices>
</domain>
EOF
}

# asked N PID: wait until the guest has said "ask>" N times; false if kvmlab ended first.
asked() {
	for _ in $(seq 1200); do
		[ "$(grep -c '^ask>' "$OUT")" -ge "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# drive XML ANSWER...: run the guest, answering its Nth "ask>" with the Nth ANSWER, one at a time,
# so that no boot can loop on its own: each waits for its answer. Sets status and boots.
# DRIVE_ARGS: more options for kvmlab.
drive() {
	local xml=$1 n=0 pid
	shift
	rm -f in
	mkfifo in
	# shellcheck disable=SC2086
	timeout -k 5 120 "$KVMLAB" run "$xml" ${DRIVE_ARGS:-} <in >"$OUT" 2>"$ERR" &
	pid=$!
	exec 3>in
	for answer in "$@"; do
		n=$((n + 1))
		asked "$n" "$pid" || break
		printf '%s\n' "$answer" >&3
	done
	status=0
	wait "$pid" || status=$?
	exec 3>&-
	boots=$(grep -c "testguest: hello" "$OUT" || true)
}

expect_boots() { [ "$boots" -eq "$1" ] || fail "$boots boots, expected $1"; }

domain restart.xml destroy restart
domain destroy.xml destroy destroy
domain poweroff-restart.xml restart destroy

# A reset with on_reboot=restart boots the guest again, in the same kvmlab, as often as it resets.
drive restart.xml reset reset reset exit=3
expect_status 7
expect_boots 4
[ "$(grep -c '^ask: \[reset\]' "$OUT")" -eq 3 ] || fail "the guest did not get each answer"
[ -s "$ERR" ] && fail "a restart on a guest's reset should print nothing on stderr"

# The same with --debug says so.
DRIVE_ARGS=--debug drive restart.xml reset exit=0
expect_status 1
expect_boots 2
expect_err "guest reset the machine via the keyboard controller"
expect_err "restarting the guest (on_reboot is restart)"

# on_reboot=destroy: a reset ends kvmlab with status 0, as without XML.
drive destroy.xml reset
expect_status 0
expect_boots 1

# A triple fault is a reset on a PC: restarted, but reported; destroyed, it is a failure (1).
drive restart.xml triple exit=2
expect_status 5
expect_boots 2
expect_err "triple fault"
expect_err "restarting the guest (on_reboot is restart)"
drive destroy.xml triple
expect_status 1
expect_boots 1
expect_err "VM failed: vCPU 0: triple fault"

# on_poweroff=restart: the debug-exit port boots the guest again; then a reset (destroy) ends it.
drive poweroff-restart.xml exit=1 reset
expect_status 0
expect_boots 2
exit 0
