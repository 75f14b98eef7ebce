/* SPDX-License-Identifier: MIT */
/*
 * The domain XML reader and writer (vmm/xml.c) over the fixtures in
 * tests/xml/ (some hand-written, some written by libvirt's own tools: see
 * tests/xml/generate.sh) and over small documents made here.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/xml.h"

#define FIXTURE(name) KVMLAB_SRCDIR "/tests/xml/" name
#define MIB	      (1ULL << 20)

static struct vm_config cfg;
static char err[1024];

static void setup(void)
{
	config_init(&cfg);
	memset(err, 0, sizeof(err));
}

static void teardown(void)
{
	config_free(&cfg);
}

TestSuite(xml, .init = setup, .fini = teardown);

static int parse_fixture(const char *path)
{
	memset(&cfg, 0xA5, sizeof(cfg)); /* the parser must set every field */
	return xml_parse_file(path, &cfg, err, sizeof(err));
}

static int parse_str(const char *doc)
{
	memset(&cfg, 0xA5, sizeof(cfg)); /* the parser must set every field */
	return xml_parse_buffer(doc, strlen(doc), "test.xml", &cfg, err, sizeof(err));
}

/* rc is a failure whose one-line message holds each of the needles. */
static void assert_error(int rc, const char *where, const char *needle)
{
	cr_assert_eq(rc, -1, "accepted; expected an error with '%s'", needle);
	cr_assert_neq(err[0], '\0', "empty error message");
	cr_assert_null(strchr(err, '\n'), "not one line: %s", err);
	cr_assert_not_null(strstr(err, where), "'%s' does not say where ('%s')", err, where);
	cr_assert_not_null(strstr(err, needle), "'%s' does not mention '%s'", err, needle);
	/* A failed parse leaves nothing to free and kvmlab's defaults. */
	cr_assert_null(cfg.owned);
	cr_assert_eq(cfg.nr_disks, 0);
}

static void assert_uuid(const char *hex)
{
	char got[33];

	cr_assert(cfg.has_uuid);
	for (int i = 0; i < 16; i++)
		sprintf(got + 2 * i, "%02x", cfg.uuid[i]);
	cr_assert_str_eq(got, hex);
}

/* --- fixtures: each parses to the configuration it describes ------------------ */

Test(xml, minimal)
{
	cr_assert_eq(parse_fixture(FIXTURE("minimal.xml")), 0, "%s", err);
	cr_assert_str_eq(cfg.name, "minimal");
	cr_assert_not(cfg.has_uuid);
	cr_assert_eq(cfg.mem_size, 64 * MIB, "no unit is KiB");
	cr_assert_eq(cfg.nr_cpus, 1);
	cr_assert_null(cfg.kernel, "no kernel: the built-in guest");
	cr_assert_null(cfg.initrd);
	cr_assert_str_eq(cfg.cmdline, "");
	/* libvirt's defaults, not the command line's: a reboot restarts. */
	cr_assert_eq(cfg.on_poweroff, VM_ACTION_DESTROY);
	cr_assert_eq(cfg.on_reboot, VM_ACTION_RESTART);
	cr_assert_eq(cfg.on_crash, VM_ACTION_DESTROY);
	cr_assert_eq(cfg.console, CONFIG_CONSOLE_NONE);
	cr_assert_eq(cfg.nr_disks, 0);
	cr_assert_not(cfg.debug);
}

Test(xml, full)
{
	cr_assert_eq(parse_fixture(FIXTURE("full.xml")), 0, "%s", err);
	cr_assert_str_eq(cfg.name, "full & \"quoted\"");
	assert_uuid("4dea22b31d52d8f32516782e98ab3fa0");
	cr_assert_eq(cfg.mem_size, 1024 * MIB);
	cr_assert_eq(cfg.nr_cpus, 4);
	cr_assert_str_eq(cfg.kernel, "/srv/kvmlab/vmlinux");
	cr_assert_str_eq(cfg.initrd, "/srv/kvmlab/initrd.cpio");
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0 a&b <c> 'd' \"e\"");
	cr_assert_eq(cfg.on_poweroff, VM_ACTION_RESTART);
	cr_assert_eq(cfg.on_reboot, VM_ACTION_DESTROY);
	cr_assert_eq(cfg.on_crash, VM_ACTION_RESTART);
	cr_assert_eq(cfg.console, CONFIG_CONSOLE_STDIO);
	cr_assert_eq(cfg.nr_disks, 2);
	cr_assert_str_eq(cfg.disks[0].path, "/srv/kvmlab/root.img");
	cr_assert_str_eq(cfg.disks[0].target, "vda");
	cr_assert_str_eq(cfg.disks[0].serial, "root-0001");
	cr_assert_not(cfg.disks[0].readonly);
	cr_assert_str_eq(cfg.disks[1].path, "/srv/kvmlab/data & more.img");
	cr_assert_str_eq(cfg.disks[1].target, "vdb");
	cr_assert_null(cfg.disks[1].serial);
	cr_assert(cfg.disks[1].readonly);
}

/* libvirt-source.xml, as libvirt's test driver writes it back. */
static void assert_canon(void)
{
	cr_assert_str_eq(cfg.name, "canon");
	assert_uuid("0c9a4b4e7f634a3e9d1e2b6f1c0b5a77");
	cr_assert_eq(cfg.mem_size, 512 * MIB);
	cr_assert_eq(cfg.nr_cpus, 2);
	cr_assert_str_eq(cfg.kernel, "/boot/vmlinuz");
	cr_assert_str_eq(cfg.initrd, "/boot/initrd.img");
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0 root=/dev/vda rw");
	cr_assert_eq(cfg.on_poweroff, VM_ACTION_DESTROY);
	cr_assert_eq(cfg.on_reboot, VM_ACTION_RESTART);
	cr_assert_eq(cfg.on_crash, VM_ACTION_DESTROY);
	cr_assert_eq(cfg.console, CONFIG_CONSOLE_PTY);
	cr_assert_eq(cfg.nr_disks, 1);
	cr_assert_str_eq(cfg.disks[0].path, "/var/lib/kvmlab/root.img");
	cr_assert_str_eq(cfg.disks[0].target, "vda");
	cr_assert_not(cfg.disks[0].readonly);
	cr_assert_null(cfg.disks[0].serial);
}

Test(xml, libvirt_source)
{
	cr_assert_eq(parse_fixture(FIXTURE("libvirt-source.xml")), 0, "%s", err);
	assert_canon();
}

Test(xml, libvirt_canonical)
{
	cr_assert_eq(parse_fixture(FIXTURE("libvirt-canonical.xml")), 0, "%s", err);
	assert_canon();
}

Test(xml, virt_install)
{
	cr_assert_eq(parse_fixture(FIXTURE("virt-install.xml")), 0, "%s", err);
	cr_assert_str_eq(cfg.name, "vi-linux");
	cr_assert(cfg.has_uuid);
	cr_assert_eq(cfg.mem_size, 512 * MIB);
	cr_assert_eq(cfg.nr_cpus, 2);
	cr_assert_str_eq(cfg.kernel, "/vmlinuz");
	cr_assert_str_eq(cfg.initrd, "/initrd.img");
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");
	cr_assert_eq(cfg.on_reboot, VM_ACTION_RESTART, "virt-install leaves on_reboot out");
	cr_assert_eq(cfg.console, CONFIG_CONSOLE_PTY);
	cr_assert_eq(cfg.nr_disks, 1);
	cr_assert_str_eq(cfg.disks[0].path, "/var/lib/kvmlab/root.img");
	cr_assert_str_eq(cfg.disks[0].target, "vda");
	cr_assert_str_eq(cfg.disks[0].serial, "kvmlab-root");
	cr_assert(cfg.disks[0].readonly);
}

Test(xml, virt_install_usb_refused)
{
	assert_error(parse_fixture(FIXTURE("virt-install-usb.xml")), "virt-install-usb.xml:31:",
		     "<controller type='usb' model='ich9-ehci1'> is not supported");
}

Test(xml, broken_fixtures)
{
	assert_error(parse_fixture(FIXTURE("not-well-formed.xml")),
		     "not-well-formed.xml:4:", "not well-formed XML");
	cr_assert_not_null(strstr(err, "memroy"), "%s", err);
	assert_error(parse_fixture(FIXTURE("bad-unit.xml")), "bad-unit.xml:5:", "unknown unit");
	cr_assert_not_null(strstr(err, "MiBs"), "%s", err);
	assert_error(parse_fixture(FIXTURE("negative-memory.xml")),
		     "negative-memory.xml:7:", "'-64' is negative");
	assert_error(parse_fixture(FIXTURE("unsupported-element.xml")),
		     "unsupported-element.xml:11:", "<interface> is not supported");
	assert_error(parse_fixture(FIXTURE("loader.xml")),
		     "loader.xml:6:", "<loader> is not supported: kvmlab has no firmware");
	assert_error(parse_fixture(FIXTURE("disk-bus-sata.xml")),
		     "disk-bus-sata.xml:10:", "<target bus='sata'> is not supported");
}

Test(xml, missing_file)
{
	assert_error(parse_fixture(FIXTURE("no-such.xml")), "no-such.xml",
		     "No such file or directory");
}

/* --- memory: every unit libvirt takes ------------------------------------------ */

/* A domain whose <memory> (line 4) says value in unit (NULL: none). */
static int parse_mem(const char *value, const char *unit)
{
	char doc[512];

	snprintf(doc, sizeof(doc),
		 "<domain type='kvm'>\n<name>t</name>\n<os><type>hvm</type></os>\n"
		 "<memory%s%s%s>%s</memory>\n</domain>\n",
		 unit ? " unit='" : "", unit ? unit : "", unit ? "'" : "", value);
	return parse_str(doc);
}

Test(xml, memory_units)
{
	static const struct {
		const char *value, *unit;
		uint64_t bytes;
	} t[] = {
	    {"2097152", "b", 2 * MIB},
	    {"2097152", "B", 2 * MIB},
	    {"2097152", "bytes", 2 * MIB},
	    {"2097152", "byte", 2 * MIB},
	    {"2048", NULL, 2 * MIB}, /* KiB when no unit is given */
	    {"2048", "", 2 * MIB},
	    {"2048", "k", 2 * MIB},
	    {"2048", "K", 2 * MIB},
	    {"2048", "KiB", 2 * MIB},
	    {"2048", "kib", 2 * MIB},
	    {"64", "M", 64 * MIB},
	    {"64", "m", 64 * MIB},
	    {"64", "MiB", 64 * MIB},
	    {"3", "G", 3ULL << 30},
	    {"3", "GiB", 3ULL << 30},
	    {"1", "T", 1ULL << 40},
	    {"1", "TiB", 1ULL << 40},
	    {"1", "P", 1ULL << 50},
	    {"1", "PiB", 1ULL << 50},
	    {"1", "E", 1ULL << 60},
	    {"1", "EiB", 1ULL << 60},
	    /* Powers of 1000; these happen to be whole 4 KiB pages. */
	    {"4096", "KB", 4096000},
	    {"1", "TB", 1000000000000ULL},
	    {"1", "PB", 1000000000000000ULL},
	    {"1", "EB", 1000000000000000000ULL},
	    /* Not whole KiB, not whole pages: rounded up (libvirt: KiB; kvmlab: pages). */
	    {"4", "MB", 4001792},    /* 4000000 -> 3907 KiB -> 977 pages */
	    {"1", "GB", 1000001536}, /* 10^9 -> 976563 KiB -> 244141 pages */
	    {"2097153", "b", 2 * MIB + 4096},
	    {"2097151", "b", 2 * MIB}, /* libvirt's KiB make it 2048 KiB */
	    {"2049", "KiB", 2 * MIB + 4096},
	    {" 64 ", "MiB", 64 * MIB}, /* blanks around the number */
	    {"0064", "MiB", 64 * MIB},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(parse_mem(t[i].value, t[i].unit), 0, "%s %s: %s", t[i].value,
			     t[i].unit ? t[i].unit : "(none)", err);
		cr_assert_eq(cfg.mem_size, t[i].bytes, "%s %s -> %llu", t[i].value,
			     t[i].unit ? t[i].unit : "(none)", (unsigned long long)cfg.mem_size);
		config_free(&cfg);
	}
}

Test(xml, bad_memory)
{
	static const struct {
		const char *value, *unit, *needle;
	} t[] = {
	    {"-1", "MiB", "'-1' is negative"},
	    {"-0", NULL, "is negative"},
	    {"0", "MiB", "is zero"},
	    {"0", NULL, "is zero"},
	    {"2047", NULL, "too little"}, /* 2 MiB once rounded to pages, but not asked */
	    {"1", "MiB", "too little"},
	    {"2096128", "b", "too little"}, /* 2047 KiB */
	    {"", "MiB", "is empty"},
	    {"lots", "MiB", "not a whole number"},
	    {"1.5", "GiB", "not a whole number"},
	    {"0x40", "MiB", "not a whole number"},
	    {"64 MiB", NULL, "not a whole number"},
	    {"+64", "MiB", "not a whole number"},
	    {"64", "MiBs", "unknown unit"},
	    {"64", "iB", "unknown unit"},
	    {"64", "Mi", "unknown unit"},
	    {"64", "X", "unknown unit"},
	    {"64", "ZiB", "unknown unit"},
	    {"64", " MiB", "unknown unit"},
	    {"64", "MBs", "unknown unit"},
	    {"16", "EiB", "too large"},
	    {"17179869184", "GiB", "too large"},
	    {"18446744073709551615", "b", "too large"}, /* fits, but not once rounded up */
	    {"18446744073709551616", "b", "too large"},
	    {"99999999999999999999999", NULL, "too large"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = parse_mem(t[i].value, t[i].unit);

		cr_assert_eq(rc, -1, "'%s' '%s' accepted as %llu", t[i].value,
			     t[i].unit ? t[i].unit : "", (unsigned long long)cfg.mem_size);
		assert_error(rc, "test.xml:4:", t[i].needle);
		cr_assert_not_null(strstr(err, "<memory"), "%s", err);
	}
}

/* --- the rest of what is read ----------------------------------------------------- */

/* A valid domain with body from line 5 on. */
#define HEAD                                                                                       \
	"<domain type='kvm'>\n<name>t</name>\n<memory unit='MiB'>64</memory>\n"                    \
	"<os><type arch='x86_64'>hvm</type></os>\n"
#define DOC(body) HEAD body "</domain>\n"

Test(xml, vcpu)
{
	cr_assert_eq(parse_str(DOC("<vcpu placement='static' cpuset='0-3'>64</vcpu>\n")), 0, "%s",
		     err);
	cr_assert_eq(cfg.nr_cpus, 64);
	config_free(&cfg);
	cr_assert_eq(parse_str(DOC("<vcpu current='3'>3</vcpu>\n")), 0, "%s", err);
	cr_assert_eq(cfg.nr_cpus, 3);
	config_free(&cfg);
	assert_error(parse_str(DOC("<vcpu>0</vcpu>\n")), "test.xml:5:", "from 1 to 64");
	assert_error(parse_str(DOC("<vcpu>65</vcpu>\n")), "test.xml:5:", "from 1 to 64");
	assert_error(parse_str(DOC("<vcpu>-1</vcpu>\n")), "test.xml:5:", "'-1'");
	assert_error(parse_str(DOC("<vcpu>two</vcpu>\n")), "test.xml:5:", "'two'");
	assert_error(parse_str(DOC("<vcpu current='1'>2</vcpu>\n")),
		     "test.xml:5:", "no vCPU hotplug");
}

Test(xml, uuid_forms)
{
	static const char *const good[] = {
	    "4dea22b3-1d52-d8f3-2516-782e98ab3fa0",
	    "4dea22b31d52d8f32516782e98ab3fa0",
	    " 4DEA22B3-1D52-D8F3-2516-782E98AB3FA0 ",
	    "4d-ea-22-b3-1d-52-d8-f3-25-16-78-2e-98-ab-3f-a0",
	};
	static const char *const bad[] = {
	    "4dea22b3-1d52-d8f3-2516-782e98ab3fa",   /* 31 digits */
	    "4dea22b3-1d52-d8f3-2516-782e98ab3fa0a", /* 33 */
	    "4dea22b3-1d52-d8f3-2516-782e98ab3fg0",  /* not hex */
	    "-4dea22b3-1d52-d8f3-2516-782e98ab3fa0", /* a dash first */
	    "",
	};
	char doc[512];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(doc, sizeof(doc), DOC("<uuid>%s</uuid>\n"), good[i]);
		cr_assert_eq(parse_str(doc), 0, "'%s': %s", good[i], err);
		assert_uuid("4dea22b31d52d8f32516782e98ab3fa0");
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc), DOC("<uuid>%s</uuid>\n"), bad[i]);
		assert_error(parse_str(doc), "test.xml:5:", "is not a UUID");
	}
}

Test(xml, actions)
{
	cr_assert_eq(parse_str(DOC("<on_poweroff> restart </on_poweroff>\n"
				   "<on_reboot>destroy</on_reboot>\n"
				   "<on_crash>restart</on_crash>\n")),
		     0, "%s", err);
	cr_assert_eq(cfg.on_poweroff, VM_ACTION_RESTART);
	cr_assert_eq(cfg.on_reboot, VM_ACTION_DESTROY);
	cr_assert_eq(cfg.on_crash, VM_ACTION_RESTART);
	config_free(&cfg);
	assert_error(parse_str(DOC("<on_reboot>preserve</on_reboot>\n")),
		     "test.xml:5:", "<on_reboot>preserve</on_reboot> is not supported");
	assert_error(parse_str(DOC("<on_crash>coredump-destroy</on_crash>\n")),
		     "test.xml:5:", "not supported: kvmlab can destroy or restart");
	assert_error(parse_str(DOC("<on_poweroff>rename-restart</on_poweroff>\n")),
		     "test.xml:5:", "not supported");
	assert_error(parse_str(DOC("\n<on_poweroff>explode</on_poweroff>\n")),
		     "test.xml:6:", "unknown action 'explode'");
}

Test(xml, os_contents)
{
	cr_assert_eq(parse_str("<domain type='kvm'><name>t</name><memory>4096</memory>\n"
			       "<os>\n<type machine='pc-q35-7.2'>hvm</type>\n"
			       "<kernel>k.elf</kernel>\n<cmdline>  two  spaces  </cmdline>\n"
			       "<boot dev='hd'/></os></domain>"),
		     0, "%s", err);
	cr_assert_str_eq(cfg.kernel, "k.elf");
	cr_assert_null(cfg.initrd);
	cr_assert_str_eq(cfg.cmdline, "  two  spaces  ", "the command line is kept as written");
	cr_assert_eq(cfg.mem_size, 4 * MIB);
}

Test(xml, console_kinds)
{
	cr_assert_eq(parse_str(DOC("<devices><serial type='pty'/></devices>\n")), 0, "%s", err);
	cr_assert_eq(cfg.console, CONFIG_CONSOLE_PTY);
	config_free(&cfg);
	cr_assert_eq(parse_str(DOC("<devices><console type='stdio'><target type='serial'/>"
				   "</console></devices>\n")),
		     0, "%s", err);
	cr_assert_eq(cfg.console, CONFIG_CONSOLE_STDIO);
	config_free(&cfg);
	cr_assert_eq(parse_str(DOC("<devices><serial type='pty'><source path='/dev/pts/3'/>"
				   "<target port='0'/><alias name='serial0'/></serial>"
				   "<console type='pty'><target type='serial' port='0'/></console>"
				   "</devices>\n")),
		     0, "%s", err);
	cr_assert_eq(cfg.console, CONFIG_CONSOLE_PTY);
}

/* --- refusals: each names the element and its line --------------------------------- */

Test(xml, refused)
{
	static const struct {
		const char *doc;
		const char *where, *needle;
	} t[] = {
	    {DOC("<devices>\n<graphics type='vnc'/>\n</devices>\n"),
	     ":6:", "<graphics> is not supported: kvmlab has no display"},
	    {DOC("<devices>\n<video><model type='vga'/></video>\n</devices>\n"),
	     ":6:", "<video> is not supported"},
	    {DOC("<devices>\n<sound model='ich9'/>\n</devices>\n"), ":6:", "<sound>"},
	    {DOC("<devices>\n<hostdev mode='subsystem' type='pci'/>\n</devices>\n"),
	     ":6:", "<hostdev>"},
	    {DOC("<devices>\n<rng model='virtio'/>\n</devices>\n"), ":6:", "<rng>"},
	    {DOC("<devices>\n<watchdog model='i6300esb'/>\n</devices>\n"), ":6:", "<watchdog>"},
	    {DOC("<devices>\n<channel type='unix'/>\n</devices>\n"), ":6:", "<channel>"},
	    {DOC("<devices>\n<filesystem type='mount'/>\n</devices>\n"), ":6:", "<filesystem>"},
	    {DOC("<devices>\n<smartcard mode='host'/>\n</devices>\n"),
	     ":6:", "<smartcard> is not supported by kvmlab"},
	    {DOC("<devices>\n<controller type='sata' index='0'/>\n</devices>\n"),
	     ":6:", "<controller type='sata' model=''>"},
	    {DOC("<devices>\n<controller type='usb' index='0'/>\n</devices>\n"),
	     ":6:", "<controller type='usb' model=''>"},
	    {DOC("<devices>\n<controller type='pci' model='pcie-root-port'/>\n</devices>\n"),
	     ":6:", "pcie-root-port"},
	    {DOC("<devices>\n<input type='tablet' bus='usb'/>\n</devices>\n"),
	     ":6:", "<input type='tablet' bus='usb'>"},
	    {DOC("<devices>\n<audio id='1' type='pulseaudio'/>\n</devices>\n"), ":6:", "<audio>"},
	    {DOC("<devices>\n<memballoon model='virtio'/>\n</devices>\n"),
	     ":6:", "<memballoon model='virtio'> is not supported"},
	    {DOC("<devices>\n<serial type='file'><source path='/tmp/x'/></serial>\n</devices>\n"),
	     ":6:", "<serial type='file'> is not supported"},
	    {DOC("<devices>\n<serial type='pty'/>\n<serial type='pty'/>\n</devices>\n"),
	     ":7:", "a second <serial> (the first is at line 6)"},
	    {DOC("<devices>\n<serial type='pty'><target port='1'/></serial>\n</devices>\n"),
	     ":6:", "<target port='1'>"},
	    {DOC("<devices>\n<console type='pty'>\n<target type='virtio'/></console>\n"
		 "</devices>\n"),
	     ":7:", "<target type='virtio'>"},
	    {DOC("<devices>\n<serial type='pty'/>\n<console type='stdio'/>\n</devices>\n"),
	     ":7:", "disagrees with the <serial> at line 6"},
	    {DOC("<devices>\n<serial type='pty'><log file='/tmp/log'/></serial>\n</devices>\n"),
	     ":6:", "<log>"},
	    {DOC("<devices>\n<disk type='block' device='disk'/>\n</devices>\n"),
	     ":6:", "<disk type='block'>"},
	    {DOC("<devices>\n<disk type='file' device='cdrom'/>\n</devices>\n"),
	     ":6:", "<disk device='cdrom'>"},
	    {DOC("<devices>\n<disk type='file' device='disk'>\n<driver type='qcow2'/>\n</disk>\n"
		 "</devices>\n"),
	     ":7:", "<driver type='qcow2'> is not supported"},
	    {DOC("<devices>\n<disk type='file'>\n<target dev='hda' bus='ide'/>\n</disk>\n"
		 "</devices>\n"),
	     ":7:", "<target bus='ide'>"},
	    {DOC("<devices>\n<disk type='file'>\n<target dev='sda'/>\n</disk>\n</devices>\n"),
	     ":7:", "<target dev='sda'>"},
	    {DOC("<devices>\n<disk type='file'>\n<target dev='vda'/>\n</disk>\n</devices>\n"),
	     ":6:", "<disk> has no <source file"},
	    {DOC("<devices>\n<disk type='file'>\n<source file='/a'/>\n</disk>\n</devices>\n"),
	     ":6:", "<disk> has no <target"},
	    {DOC("<devices>\n<disk type='file'>\n<source dev='/dev/sda'/>\n</disk>\n</devices>\n"),
	     ":7:", "needs file="},
	    {DOC("<devices>\n<disk type='file'>\n<source file='/a'/><target dev='vda'/>\n"
		 "<iotune><total_bytes_sec>1</total_bytes_sec></iotune>\n</disk>\n</devices>\n"),
	     ":8:", "<iotune>"},
	    {DOC("<devices>\n<disk type='file'>\n<source file='/a'/><target dev='vda'/>\n"
		 "<backingStore type='file'><format type='raw'/></backingStore>\n</disk>\n"
		 "</devices>\n"),
	     ":8:", "<backingStore>"},
	    {DOC("<devices>\n<disk><source file='/a'/><target dev='vda'/></disk>\n"
		 "<disk><source file='/b'/><target dev='vda'/></disk>\n</devices>\n"),
	     ":7:", "a second <disk> with target 'vda'"},
	    {DOC("<cpu mode='custom'>\n<model>Skylake-Client</model>\n</cpu>\n"),
	     ":5:", "<cpu mode='custom'> is not supported"},
	    {DOC("<cpu>\n<model>Skylake-Client</model>\n</cpu>\n"), ":5:", "<cpu mode='custom'>"},
	    {DOC("<cpu mode='host-passthrough'>\n<topology sockets='1' cores='2' threads='1'/>\n"
		 "</cpu>\n"),
	     ":6:", "<topology>"},
	    {DOC("<maxMemory slots='16' unit='KiB'>1524288</maxMemory>\n"),
	     ":5:", "no memory hotplug"},
	    {DOC("<memoryBacking><hugepages/></memoryBacking>\n"), ":5:", "<memoryBacking>"},
	    {DOC("<currentMemory unit='MiB'>32</currentMemory>\n"),
	     ":5:", "<currentMemory> of 32768 KiB differs from <memory> (65536 KiB)"},
	    {DOC("<memory>1</memory>\n"), ":5:", "<memory> given twice (first at line 3)"},
	    {DOC("<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>\n"),
	     ":5:", "<qemu:commandline> is not supported"},
	    {DOC("<sysinfo type='smbios'/>\n"), ":5:", "<sysinfo>"},
	    {DOC("<name>again</name>\n"), ":5:", "<name> given twice"},
	    {"<domain type='qemu'>\n<name>t</name>\n</domain>\n",
	     ":1:", "<domain type='qemu'> is not supported"},
	    {"<domain>\n<name>t</name>\n</domain>\n", ":1:", "<domain> needs type='kvm'"},
	    {"\n<network><name>default</name></network>\n",
	     ":2:", "the root element is <network>, not <domain>"},
	    {"<domain type='kvm'>\n<memory>65536</memory><os><type>hvm</type></os>\n</domain>\n",
	     ":1:", "<domain> has no <name>"},
	    {"<domain type='kvm'>\n<name>t</name><os><type>hvm</type></os>\n</domain>\n",
	     ":1:", "<domain> has no <memory>"},
	    {"<domain type='kvm'>\n<name>t</name><memory>65536</memory>\n</domain>\n",
	     ":1:", "<domain> has no <os>"},
	    {"<domain type='kvm'><name>t</name><memory>65536</memory>\n<os/></domain>\n",
	     ":2:", "<os> has no <type>"},
	    {"<domain type='kvm'><name>a/b</name></domain>\n", ":1:", "may not hold '/'"},
	    {"<domain type='kvm'><name></name></domain>\n", ":1:", "<name> is empty"},
	    {"<domain type='kvm'><name>t<b/></name></domain>\n",
	     ":1:", "<name> may hold text only"},
	    {"<domain type='kvm'><name>t</name><memory>65536</memory>\n<os>\n"
	     "<type arch='i686'>hvm</type></os></domain>\n",
	     ":3:", "<type arch='i686'> is not supported"},
	    {"<domain type='kvm'><name>t</name><memory>65536</memory>\n<os>\n"
	     "<type>xen</type></os></domain>\n",
	     ":3:", "<type>xen</type> is not supported"},
	    {"<domain type='kvm'><name>t</name><memory>65536</memory>\n<os firmware='efi'>\n"
	     "<type>hvm</type></os></domain>\n",
	     ":2:", "<os firmware='efi'> is not supported: kvmlab has no firmware"},
	    {"<domain type='kvm'><name>t</name><memory>65536</memory>\n<os>\n"
	     "<type>hvm</type><boot dev='network'/></os></domain>\n",
	     ":3:", "<boot dev='network'> is not supported"},
	    {"<domain type='kvm'><name>t</name><memory>65536</memory>\n<os>\n"
	     "<type>hvm</type><kernel></kernel></os></domain>\n",
	     ":3:", "<kernel> is empty"},
	    {"<domain type='kvm'><name>t</name><memory>65536</memory>\n<os>\n"
	     "<type>hvm</type>\n<nvram>/var/lib/nvram.fd</nvram></os></domain>\n",
	     ":4:", "<nvram> is not supported"},
	    {"<?xml version='1.0'?>\n<!DOCTYPE domain [\n<!ENTITY a 'aaaa'>\n]>\n"
	     "<domain type='kvm'><name>&a;</name></domain>\n",
	     ":2:", "<!DOCTYPE> is not allowed"},
	    {"<domain type='kvm'>\n<name>t</name>\n", ":3:", "not well-formed XML"},
	    {"", ":1:", "not well-formed XML: Document is empty"},
	    {"<domain type='kvm'>\n<name>t & u</name>\n</domain>\n", ":2:", "not well-formed XML"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char where[64];

		snprintf(where, sizeof(where), "test.xml%s", t[i].where);
		memset(err, 0, sizeof(err));
		assert_error(parse_str(t[i].doc), where, t[i].needle);
	}
}

/* Accepted and ignored: what changes nothing kvmlab does. */
Test(xml, ignored)
{
	cr_assert_eq(parse_str(DOC("<title>x</title><description>y</description>\n"
				   "<metadata><a:b xmlns:a='urn:a'><c/></a:b></metadata>\n"
				   "<features><acpi/><apic/><vmport state='off'/></features>\n"
				   "<cpu mode='host-model' check='partial'/>\n"
				   "<clock offset='localtime'><timer name='pit'/></clock>\n"
				   "<on_lockfailure>ignore</on_lockfailure>\n"
				   "<pm><suspend-to-mem enabled='yes'/></pm>\n"
				   "<resource><partition>/machine</partition></resource>\n"
				   "<seclabel type='dynamic' model='dac' relabel='yes'/>\n"
				   "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
				   "<controller type='pci' index='0' model='pcie-root'/>\n"
				   "<input type='keyboard'/><audio id='1' type='none'/>\n"
				   "<memballoon model='none'><alias name='x'/></memballoon>\n"
				   "</devices>\n")),
		     0, "%s", err);
	cr_assert_eq(cfg.mem_size, 64 * MIB);
	cr_assert_eq(cfg.nr_disks, 0);
}

/* --- writing, and reading back what was written ---------------------------------- */

static void assert_same_str(const char *a, const char *b, const char *what)
{
	if (!a || !b)
		cr_assert_eq(a, b, "%s: '%s' vs '%s'", what, a ? a : "(none)", b ? b : "(none)");
	else
		cr_assert_str_eq(a, b, "%s", what);
}

static void assert_same_config(const struct vm_config *a, const struct vm_config *b)
{
	assert_same_str(a->name, b->name, "name");
	cr_assert_eq(a->has_uuid, b->has_uuid);
	cr_assert_eq(memcmp(a->uuid, b->uuid, 16), 0, "uuid");
	assert_same_str(a->kernel, b->kernel, "kernel");
	assert_same_str(a->initrd, b->initrd, "initrd");
	assert_same_str(a->cmdline, b->cmdline, "cmdline");
	cr_assert_eq(a->mem_size, b->mem_size);
	cr_assert_eq(a->nr_cpus, b->nr_cpus);
	cr_assert_eq(a->on_poweroff, b->on_poweroff);
	cr_assert_eq(a->on_reboot, b->on_reboot);
	cr_assert_eq(a->on_crash, b->on_crash);
	cr_assert_eq(a->console, b->console);
	cr_assert_eq(a->nr_disks, b->nr_disks);
	for (int i = 0; i < a->nr_disks; i++) {
		assert_same_str(a->disks[i].path, b->disks[i].path, "disk path");
		assert_same_str(a->disks[i].target, b->disks[i].target, "disk target");
		assert_same_str(a->disks[i].serial, b->disks[i].serial, "disk serial");
		cr_assert_eq(a->disks[i].readonly, b->disks[i].readonly);
		cr_assert_eq(a->disks[i].no_ioeventfd || a->no_ioeventfd, b->disks[i].no_ioeventfd,
			     "disk ioeventfd");
	}
	cr_assert_eq(a->nr_pin, b->nr_pin);
	for (int i = 0; i < a->nr_pin; i++)
		cr_assert_eq(a->pin[i], b->pin[i], "pin %d", i);
}

/* xml_write(c) into a string (free it). */
static char *write_str(const struct vm_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(xml_write(f, c, err, sizeof(err)), 0, "%s", err);
	fclose(f);
	return buf;
}

/* Write c, read it back into cfg: the same configuration (a UUID added). */
static void round_trip(struct vm_config *c)
{
	char *text = write_str(c);

	cr_assert_eq(xml_parse_buffer(text, strlen(text), "written.xml", &cfg, err, sizeof(err)), 0,
		     "%s\n%s", err, text);
	cr_assert(cfg.has_uuid, "the writer gives every domain a UUID");
	if (!c->has_uuid) {
		memcpy(c->uuid, cfg.uuid, 16);
		c->has_uuid = true;
	}
	assert_same_config(c, &cfg);
	free(text);
}

Test(xml, round_trip_fixtures)
{
	static const char *const files[] = {FIXTURE("full.xml"), FIXTURE("minimal.xml"),
					    FIXTURE("libvirt-canonical.xml"),
					    FIXTURE("virt-install.xml")};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct vm_config orig;

		cr_assert_eq(xml_parse_file(files[i], &orig, err, sizeof(err)), 0, "%s", err);
		round_trip(&orig);
		config_free(&orig);
		config_free(&cfg);
	}
}

Test(xml, round_trip_command_line)
{
	struct vm_config c;

	config_init(&c);
	c.kernel = "/srv/k.elf";
	c.initrd = "/srv/initrd";
	c.cmdline = "a&b <c> 'd' \"e\" ]]> \t tab";
	c.mem_size = 3ULL << 30;
	c.nr_cpus = 7;
	round_trip(&c);
	/* The command line's defaults, said outright: nothing of libvirt's defaults creeps in. */
	cr_assert_str_eq(cfg.name, CONFIG_DEFAULT_NAME);
	cr_assert_eq(cfg.on_reboot, VM_ACTION_DESTROY);
	cr_assert_eq(cfg.console, CONFIG_CONSOLE_PTY);
}

Test(xml, written_text)
{
	struct vm_config c;
	char *text;

	config_init(&c);
	c.cmdline = "x<y&z";
	c.kernel = "rel/k.elf";
	c.has_uuid = true;
	memset(c.uuid, 0xAB, 16);
	text = write_str(&c);
	cr_assert_not_null(strstr(text, "<domain type='kvm'>"), "%s", text);
	cr_assert_not_null(strstr(text, "<cmdline>x&lt;y&amp;z</cmdline>"), "%s", text);
	cr_assert_not_null(strstr(text, "<uuid>abababab-abab-abab-abab-abababababab</uuid>"), "%s",
			   text);
	cr_assert_not_null(strstr(text, "<memory unit='KiB'>262144</memory>"), "%s", text);
	cr_assert_not_null(strstr(text, "<on_reboot>destroy</on_reboot>"), "%s", text);
	cr_assert_not_null(strstr(text, "<memballoon model='none'/>"), "%s", text);
	/* libvirt takes absolute paths only. */
	{
		char cwd[4096], want[4200];

		cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
		snprintf(want, sizeof(want), "<kernel>%s/rel/k.elf</kernel>", cwd);
		cr_assert_not_null(strstr(text, want), "%s", text);
	}
	free(text);
}

Test(xml, random_uuids_differ)
{
	struct vm_config c;
	char *a, *b;

	config_init(&c);
	a = write_str(&c);
	b = write_str(&c);
	cr_assert_str_neq(a, b, "two domains written without a UUID got the same one");
	free(a);
	free(b);
}

Test(xml, unwritable_strings)
{
	struct vm_config c;

	config_init(&c);
	c.cmdline = "bell\a";
	cr_assert_eq(xml_write(stdout, &c, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "command line"), "%s", err);
	c.cmdline = "";
	c.kernel = "/k\xff\xfe";
	cr_assert_eq(xml_write(stdout, &c, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "not UTF-8"), "%s", err);
}

/* --- telling a domain XML from a kernel -------------------------------------------- */

static const char *tmp_file(const char *name, const void *data, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/kvmlab-test-xml-%d-%s", (int)getpid(), name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

Test(xml, is_xml_file)
{
	static const struct {
		const char *data;
		size_t len;
		bool xml;
	} t[] = {
	    {"<domain/>", 9, true},
	    {" \t\r\n\n  <domain/>", 16, true},
	    {"\xEF\xBB\xBF<domain/>", 12, true},
	    {"\xEF\xBB\xBF  <?xml version='1.0'?>", 25, true},
	    {"<!-- c --><domain/>", 19, true},
	    {"\x7F"
	     "ELF\x02\x01\x01",
	     7, false},
	    {"MZ\x90\x00", 4, false},
	    {"\0<domain/>", 10, false},
	    {"   ", 3, false},
	    {"", 0, false},
	    {"x<domain/>", 10, false},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *path = tmp_file("f", t[i].data, t[i].len);

		cr_assert_eq(xml_is_xml_file(path), t[i].xml, "case %zu", i);
		unlink(path);
	}
	cr_assert_not(xml_is_xml_file("/nonexistent/kvmlab.xml"));
	cr_assert_not(xml_is_xml_file("/tmp"), "a directory is not XML");
	cr_assert(xml_is_xml_file(FIXTURE("minimal.xml")));
}

/* --- <cputune><vcpupin>, <driver ioeventfd>: what --pin and --no-ioeventfd say ------------ */

Test(xml, vcpupin)
{
	cr_assert_eq(parse_str(DOC("<vcpu>4</vcpu>\n<cputune>\n<vcpupin vcpu='2' cpuset='0'/>\n"
				   "<vcpupin vcpu='0' cpuset='3'/>\n</cputune>\n")),
		     0, "%s", err);
	cr_assert_eq(cfg.nr_pin, 3);
	cr_assert_eq(cfg.pin[0], 3);
	cr_assert_eq(cfg.pin[1], -1, "vCPU 1 has no <vcpupin>: unpinned");
	cr_assert_eq(cfg.pin[2], 0);
	config_free(&cfg);
	cr_assert_eq(parse_str(DOC("<cputune/>\n")), 0, "%s", err);
	cr_assert_eq(cfg.nr_pin, 0);
}

Test(xml, vcpupin_refused)
{
	static const struct {
		const char *doc, *needle;
	} t[] = {
	    {DOC("<cputune><vcpupin vcpu='0' cpuset='0-2'/></cputune>\n"), "cpuset='0-2'"},
	    {DOC("<cputune><vcpupin vcpu='0' cpuset='1,3'/></cputune>\n"), "one host CPU"},
	    {DOC("<cputune><vcpupin vcpu='0' cpuset='^1'/></cputune>\n"), "cpuset='^1'"},
	    {DOC("<cputune><vcpupin vcpu='0'/></cputune>\n"), "cpuset=''"},
	    {DOC("<cputune><vcpupin cpuset='1'/></cputune>\n"), "needs vcpu='N'"},
	    {DOC("<cputune><vcpupin vcpu='64' cpuset='1'/></cputune>\n"), "below 64"},
	    {DOC("<cputune><vcpupin vcpu='-1' cpuset='1'/></cputune>\n"), "needs vcpu='N'"},
	    {DOC("<cputune><vcpupin vcpu='1' cpuset='1'/><vcpupin vcpu='1' cpuset='2'/>"
		 "</cputune>\n"), "a second <vcpupin> for vCPU 1"},
	    {DOC("<cputune><emulatorpin cpuset='1'/></cputune>\n"), "no emulator threads"},
	    {DOC("<cputune><shares>2048</shares></cputune>\n"), "<shares> is not supported"},
	    {DOC("<devices><disk type='file' device='disk'><driver ioeventfd='no'/>"
		 "<source file='/x'/><target dev='vda' bus='virtio'/></disk></devices>\n"),
	     "<driver ioeventfd='no'>: 'on' or 'off'"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_error(parse_str(t[i].doc), ":5:", t[i].needle);
		config_free(&cfg);
	}
	assert_error(parse_str(DOC("<cputune/>\n<cputune/>\n")), ":6:", "<cputune> given twice");
}

Test(xml, driver_ioeventfd)
{
	cr_assert_eq(parse_str(DOC("<devices>\n"
				   "<disk type='file' device='disk'><driver name='qemu' type='raw' "
				   "ioeventfd='off'/><source file='/a'/><target dev='vda' bus='virtio'/>"
				   "</disk>\n"
				   "<disk type='file' device='disk'><driver ioeventfd='on'/><source "
				   "file='/b'/><target dev='vdb' bus='virtio'/></disk>\n"
				   "<disk type='file' device='disk'><source file='/c'/><target dev='vdc' "
				   "bus='virtio'/></disk>\n</devices>\n")),
		     0, "%s", err);
	cr_assert_eq(cfg.nr_disks, 3);
	cr_assert(cfg.disks[0].no_ioeventfd);
	cr_assert_not(cfg.disks[1].no_ioeventfd);
	cr_assert_not(cfg.disks[2].no_ioeventfd);
	cr_assert_not(cfg.no_ioeventfd, "the global switch is the command line's");
}

/* Pins and ioeventfd='off' are written and read back as they were; --no-ioeventfd is written
 * per disk, as libvirt has it. */
Test(xml, round_trip_pin_ioeventfd)
{
	struct vm_config c;
	struct config_disk *d;
	char *text;

	config_init(&c);
	c.nr_cpus = 3;
	c.nr_pin = 3;
	c.pin[0] = 1;
	c.pin[1] = -1;
	c.pin[2] = 0;
	d = config_add_disk(&c);
	d->path = "/a.img";
	d->target = "vda";
	d->no_ioeventfd = true;
	d = config_add_disk(&c);
	d->path = "/b.img";
	d->target = "vdb";
	text = write_str(&c);
	cr_assert_not_null(strstr(text, "<cputune>\n    <vcpupin vcpu='0' cpuset='1'/>\n"
					"    <vcpupin vcpu='2' cpuset='0'/>\n  </cputune>"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "<driver name='qemu' type='raw' ioeventfd='off'/>\n"
					"      <source file='/a.img'/>"),
			   "%s", text);
	cr_assert_null(strstr(text, "ioeventfd='off'/>\n      <source file='/b.img'/>"), "%s", text);
	free(text);
	round_trip(&c);
	cr_assert_eq(cfg.nr_pin, 3);
	cr_assert(cfg.pin[0] == 1 && cfg.pin[1] == -1 && cfg.pin[2] == 0);
	cr_assert(cfg.disks[0].no_ioeventfd);
	cr_assert_not(cfg.disks[1].no_ioeventfd);
	config_free(&cfg);
	c.no_ioeventfd = true; /* --no-ioeventfd: every disk says so */
	round_trip(&c);
	cr_assert(cfg.disks[0].no_ioeventfd && cfg.disks[1].no_ioeventfd);
	config_free(&c);
}
