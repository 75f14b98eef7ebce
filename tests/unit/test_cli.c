/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli.h"

static struct cli cli;
static char err[256];

/* cli_parse on a NULL-terminated list of words; argv[0] is "kvmlab".
 * getopt_long permutes argv, so every call gets a fresh copy. */
#define PARSE(...) parse((const char *[]){ "kvmlab", __VA_ARGS__, NULL })
#define PARSE0() parse((const char *[]){ "kvmlab", NULL })

static char *argv_buf[32];

static int parse(const char **words)
{
	int argc = 0;

	while (words[argc]) {
		cr_assert_lt(argc, 31);
		argv_buf[argc] = (char *)words[argc];
		argc++;
	}
	argv_buf[argc] = NULL;
	memset(&cli, 0xA5, sizeof(cli)); /* cli_parse must set every field */
	memset(err, 0, sizeof(err));
	return cli_parse(argc, argv_buf, &cli, err, sizeof(err));
}

static void assert_error(int rc, const char *needle)
{
	cr_assert_eq(rc, -1);
	cr_assert_neq(err[0], '\0', "empty error message");
	cr_assert_not_null(strstr(err, needle), "'%s' does not mention '%s'", err, needle);
}

/* --- commands ------------------------------------------------------------- */

Test(cli, defaults)
{
	cr_assert_eq(PARSE("run"), 0, "%s", err);
	cr_assert_eq(cli.cmd, CLI_RUN);
	cr_assert_null(cli.cfg.kernel);
	cr_assert_null(cli.cfg.initrd);
	cr_assert_str_eq(cli.cfg.cmdline, "");
	cr_assert_eq(cli.cfg.mem_size, 256ULL << 20);
	cr_assert_eq(cli.cfg.mem_size, CONFIG_DEFAULT_MEM);
	cr_assert_eq(cli.cfg.nr_cpus, 1);
	cr_assert_not(cli.cfg.debug);
}

Test(cli, kernel_positional)
{
	cr_assert_eq(PARSE("run", "vmlinux"), 0, "%s", err);
	cr_assert_eq(cli.cmd, CLI_RUN);
	cr_assert_str_eq(cli.cfg.kernel, "vmlinux");
}

Test(cli, kernel_option)
{
	cr_assert_eq(PARSE("run", "--kernel", "vmlinux"), 0, "%s", err);
	cr_assert_str_eq(cli.cfg.kernel, "vmlinux");
	cr_assert_eq(PARSE("run", "-k", "bzz"), 0, "%s", err);
	cr_assert_str_eq(cli.cfg.kernel, "bzz");
	cr_assert_eq(PARSE("run", "--kernel=eq"), 0, "%s", err);
	cr_assert_str_eq(cli.cfg.kernel, "eq");
}

Test(cli, all_options)
{
	cr_assert_eq(PARSE("run", "--mem", "1G", "--cmdline", "console=ttyS0 quiet", "--initrd",
			   "rd.cpio", "--debug", "k.elf"),
		     0, "%s", err);
	cr_assert_eq(cli.cmd, CLI_RUN);
	cr_assert_eq(cli.cfg.mem_size, 1ULL << 30);
	cr_assert_str_eq(cli.cfg.cmdline, "console=ttyS0 quiet");
	cr_assert_str_eq(cli.cfg.initrd, "rd.cpio");
	cr_assert(cli.cfg.debug);
	cr_assert_str_eq(cli.cfg.kernel, "k.elf");

	/* Short forms, and a positional before the options. */
	cr_assert_eq(PARSE("run", "k2.elf", "-m", "64M", "-c", "x=1", "-i", "rd2", "-d"), 0,
		     "%s", err);
	cr_assert_eq(cli.cfg.mem_size, 64ULL << 20);
	cr_assert_str_eq(cli.cfg.cmdline, "x=1");
	cr_assert_str_eq(cli.cfg.initrd, "rd2");
	cr_assert(cli.cfg.debug);
	cr_assert_str_eq(cli.cfg.kernel, "k2.elf");
}

Test(cli, kernel_given_twice)
{
	assert_error(PARSE("run", "--kernel", "a.elf", "b.elf"), "twice");
	cr_assert_not_null(strstr(err, "a.elf"));
	cr_assert_not_null(strstr(err, "b.elf"));
	assert_error(PARSE("run", "b.elf", "-k", "a.elf"), "twice");
}

Test(cli, extra_positional)
{
	assert_error(PARSE("run", "a.elf", "b.elf"), "b.elf");
	cr_assert_not_null(strstr(err, "unexpected"), "%s", err);
}

Test(cli, mem_sizes)
{
	static const struct {
		const char *arg;
		uint64_t bytes;
	} ok[] = {
		{ "64M", 64ULL << 20 },	    { "1G", 1ULL << 30 },	{ "4096K", 4ULL << 20 },
		{ "4194304", 4ULL << 20 }, { "64MiB", 64ULL << 20 }, { "64MB", 64ULL << 20 },
		{ "2m", 2ULL << 20 },	    { "8g", 8ULL << 30 },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(PARSE("run", "--mem", ok[i].arg), 0, "%s: %s", ok[i].arg, err);
		cr_assert_eq(cli.cfg.mem_size, ok[i].bytes, "%s", ok[i].arg);
	}
	cr_assert_eq(PARSE("run", "--mem=128M"), 0, "%s", err);
	cr_assert_eq(cli.cfg.mem_size, 128ULL << 20);
}

Test(cli, bad_mem_sizes)
{
	static const char *const bad[] = {
		"", "M", "12X", "-1", "99999999999999999999G", "17179869184G", "1.5G",
		"64 M", "64MiBs", "64iB", " 64M", "0x40M", "64KM",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = PARSE("run", "--mem", bad[i]);

		cr_assert_eq(rc, -1, "'%s' accepted", bad[i]);
		cr_assert_not_null(strstr(err, "--mem"), "'%s': %s", bad[i], err);
		cr_assert_not_null(strstr(err, "not a size"), "'%s': %s", bad[i], err);
	}
}

Test(cli, mem_too_little)
{
	assert_error(PARSE("run", "--mem", "1M"), "too little");
	cr_assert_not_null(strstr(err, "--mem"), "%s", err);
	assert_error(PARSE("run", "--mem", "1048576"), "too little");
	assert_error(PARSE("run", "--mem", "0"), "too little");
	assert_error(PARSE("run", "--mem", "2047K"), "too little");
	cr_assert_eq(PARSE("run", "--mem", "2048K"), 0, "%s", err);
	cr_assert_eq(cli.cfg.mem_size, CONFIG_MIN_MEM);
}

Test(cli, unknown_option)
{
	assert_error(PARSE("run", "--bogus"), "--bogus");
	cr_assert_not_null(strstr(err, "unknown option"), "%s", err);
	assert_error(PARSE("run", "-x"), "-x");
	cr_assert_not_null(strstr(err, "unknown option"), "%s", err);
	/* An unknown letter at the head of a cluster names itself, not a neighbour. */
	assert_error(PARSE("run", "-xd"), "-x");
	assert_error(PARSE("run", "-dx"), "-x");
	/* A long option that takes no value, given one, is named as written. */
	assert_error(PARSE("run", "--debug=1"), "--debug=1");
}

Test(cli, missing_argument)
{
	assert_error(PARSE("run", "--mem"), "--mem");
	cr_assert_not_null(strstr(err, "needs a value"), "%s", err);
	assert_error(PARSE("run", "-m"), "-m");
	assert_error(PARSE("run", "vmlinux", "--kernel"), "--kernel");
	assert_error(PARSE("run", "--cmdline"), "--cmdline");
}

Test(cli, doctor)
{
	cr_assert_eq(PARSE("doctor"), 0, "%s", err);
	cr_assert_eq(cli.cmd, CLI_DOCTOR);
	assert_error(PARSE("doctor", "now"), "doctor");
}

Test(cli, help)
{
	cr_assert_eq(PARSE("--help"), 0);
	cr_assert_eq(cli.cmd, CLI_HELP);
	cr_assert_eq(PARSE("-h"), 0);
	cr_assert_eq(cli.cmd, CLI_HELP);
	cr_assert_eq(PARSE("help"), 0);
	cr_assert_eq(cli.cmd, CLI_HELP);
	cr_assert_eq(PARSE("run", "--help"), 0);
	cr_assert_eq(cli.cmd, CLI_HELP);
	cr_assert_eq(PARSE("run", "-k", "x", "-h"), 0);
	cr_assert_eq(cli.cmd, CLI_HELP);
}

Test(cli, version)
{
	cr_assert_eq(PARSE("--version"), 0);
	cr_assert_eq(cli.cmd, CLI_VERSION);
	cr_assert_eq(PARSE("-V"), 0);
	cr_assert_eq(cli.cmd, CLI_VERSION);
	cr_assert_eq(PARSE("run", "--version"), 0);
	cr_assert_eq(cli.cmd, CLI_VERSION);
}

Test(cli, no_command)
{
	assert_error(PARSE0(), "no command");
}

Test(cli, unknown_command)
{
	assert_error(PARSE("boot"), "unknown command 'boot'");
	/* Options before the command get a hint rather than "unknown command". */
	assert_error(PARSE("--mem", "64M"), "options go after the command");
}

Test(cli, repeated_calls_start_afresh)
{
	/* getopt keeps state between calls; a parse that stopped in the middle
	 * of an option cluster ("-h" of "-hd") must not leak into the next one. */
	cr_assert_eq(PARSE("run", "-hd"), 0);
	cr_assert_eq(cli.cmd, CLI_HELP);
	cr_assert_eq(PARSE("run", "vmlinux"), 0, "%s", err);
	cr_assert_eq(cli.cmd, CLI_RUN);
	cr_assert_not(cli.cfg.debug, "-d of the previous call leaked");
	cr_assert_str_eq(cli.cfg.kernel, "vmlinux");

	cr_assert_eq(PARSE("run", "-xd"), -1);
	cr_assert_eq(PARSE("run", "-k", "a"), 0, "%s", err);
	cr_assert_not(cli.cfg.debug, "-d of the previous call leaked");
	cr_assert_str_eq(cli.cfg.kernel, "a");
}

/* --- cli_parse_size --------------------------------------------------------- */

Test(cli_parse_size, good)
{
	static const struct {
		const char *s;
		uint64_t v;
	} t[] = {
		{ "0", 0 },
		{ "1048576", 1ULL << 20 },
		{ "4096K", 4ULL << 20 },
		{ "4096k", 4ULL << 20 },
		{ "64M", 64ULL << 20 },
		{ "64MiB", 64ULL << 20 },
		{ "64MB", 64ULL << 20 },
		{ "1G", 1ULL << 30 },
		{ "1GiB", 1ULL << 30 },
		{ "007M", 7ULL << 20 },
		{ "18446744073709551615", UINT64_MAX },
		{ "17179869183G", 17179869183ULL << 30 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 0xDEAD;

		cr_assert_eq(cli_parse_size(t[i].s, &v), 0, "'%s' refused", t[i].s);
		cr_assert_eq(v, t[i].v, "'%s' -> %llu", t[i].s, (unsigned long long)v);
	}
}

Test(cli_parse_size, bad)
{
	static const char *const t[] = {
		"",	  "M",	   "12X",     "-1",    "+1",  "99999999999999999999G",
		"18446744073709551616", "17179869184G", "1.5G", "64 M", "64MiBs", "64iB",
		"64KM",	  " 64M",  "0x40",    "64B",   "64Mi",
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 0xDEAD;

		cr_assert_eq(cli_parse_size(t[i], &v), -1, "'%s' accepted as %llu", t[i],
			     (unsigned long long)v);
		cr_assert_eq(v, 0xDEAD, "'%s' changed *out on failure", t[i]);
	}
	cr_assert_eq(cli_parse_size(NULL, &(uint64_t){ 0 }), -1);
}

Test(cli, cpus)
{
	cr_assert_eq(parse((const char *[]){ "kvmlab", "run", "--cpus", "4", NULL }), 0, "%s", err);
	cr_assert_eq(cli.cfg.nr_cpus, 4);
	cr_assert_eq(parse((const char *[]){ "kvmlab", "run", "-p", "64", NULL }), 0, "%s", err);
	cr_assert_eq(cli.cfg.nr_cpus, 64);
	const char *bad[] = { "0", "65", "-1", "2x", "", "99999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse((const char *[]){ "kvmlab", "run", "--cpus", bad[i], NULL }), -1,
			     "'%s' accepted", bad[i]);
		cr_assert_not_null(strstr(err, "--cpus"), "%s", err);
	}
}

/* --- domain XML: --xml, a positional XML file, options over the file's values ---- */

#define FIXTURE(name) KVMLAB_SRCDIR "/tests/xml/" name

static struct vm_config merged;

static int merge(void)
{
	return cli_config(&cli, &merged, err, sizeof(err));
}

Test(cli, xml_option)
{
	cr_assert_eq(PARSE("run", "--xml", FIXTURE("libvirt-canonical.xml")), 0, "%s", err);
	cr_assert_eq(cli.cmd, CLI_RUN);
	cr_assert_str_eq(cli.xml, FIXTURE("libvirt-canonical.xml"));
	cr_assert_null(cli.cfg.kernel);
	cr_assert_not(cli.print_xml);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_str_eq(merged.name, "canon");
	cr_assert_str_eq(merged.kernel, "/boot/vmlinuz");
	cr_assert_str_eq(merged.initrd, "/boot/initrd.img");
	cr_assert_str_eq(merged.cmdline, "console=ttyS0 root=/dev/vda rw");
	cr_assert_eq(merged.mem_size, 512ULL << 20);
	cr_assert_eq(merged.nr_cpus, 2);
	cr_assert_eq(merged.on_reboot, VM_ACTION_RESTART);
	config_free(&merged);
}

Test(cli, xml_positional)
{
	/* Told apart by content, not by name: an XML file is one whatever it is called. */
	cr_assert_eq(PARSE("run", FIXTURE("minimal.xml")), 0, "%s", err);
	cr_assert_str_eq(cli.xml, FIXTURE("minimal.xml"));
	cr_assert_null(cli.cfg.kernel, "an XML file taken for a kernel");
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_str_eq(merged.name, "minimal");
	config_free(&merged);
	/* A file that does not exist stays a kernel (kvmlab then says it cannot open it). */
	cr_assert_eq(PARSE("run", "/nonexistent/vm.xml"), 0, "%s", err);
	cr_assert_null(cli.xml);
	cr_assert_str_eq(cli.cfg.kernel, "/nonexistent/vm.xml");
}

Test(cli, options_override_xml)
{
	cr_assert_eq(PARSE("run", FIXTURE("libvirt-canonical.xml"), "-m", "1G", "--cpus", "3",
			   "-k", "other.elf", "--cmdline", "x=1", "-d"),
		     0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_eq(merged.mem_size, 1ULL << 30);
	cr_assert_eq(merged.nr_cpus, 3);
	cr_assert_str_eq(merged.kernel, "other.elf");
	cr_assert_str_eq(merged.cmdline, "x=1");
	cr_assert(merged.debug);
	/* What the options do not name stays the file's. */
	cr_assert_str_eq(merged.initrd, "/boot/initrd.img");
	cr_assert_str_eq(merged.name, "canon");
	cr_assert_eq(merged.nr_disks, 1);
	config_free(&merged);

	/* An empty --cmdline is still an override. */
	cr_assert_eq(PARSE("run", "--xml", FIXTURE("libvirt-canonical.xml"), "-c", "", "-i", "rd"),
		     0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_str_eq(merged.cmdline, "");
	cr_assert_str_eq(merged.initrd, "rd");
	cr_assert_str_eq(merged.kernel, "/boot/vmlinuz");
	config_free(&merged);
}

Test(cli, xml_with_kernel_positional)
{
	cr_assert_eq(PARSE("run", "--xml", FIXTURE("minimal.xml"), "k.elf"), 0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_str_eq(merged.kernel, "k.elf");
	config_free(&merged);
}

Test(cli, two_xml_files)
{
	assert_error(PARSE("run", "--xml", FIXTURE("minimal.xml"), FIXTURE("full.xml")),
		     "two domain XML files");
	assert_error(PARSE("run", "--xml", "a.xml", "--xml", "b.xml"), "two domain XML files");
	assert_error(PARSE("run", "--xml"), "needs a value");
}

Test(cli, print_xml)
{
	cr_assert_eq(PARSE("run", "--print-xml", "-m", "64M"), 0, "%s", err);
	cr_assert(cli.print_xml);
	cr_assert_null(cli.xml);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_eq(merged.mem_size, 64ULL << 20);
	cr_assert_eq(merged.on_reboot, VM_ACTION_DESTROY, "without XML a reset ends kvmlab");
	config_free(&merged);
}

Test(cli, bad_xml_is_a_config_error)
{
	cr_assert_eq(PARSE("run", FIXTURE("negative-memory.xml")), 0, "%s", err);
	cr_assert_eq(merge(), -1);
	cr_assert_not_null(strstr(err, "negative-memory.xml:7:"), "%s", err);
	cr_assert_eq(PARSE("run", "--xml", "/nonexistent/vm.xml"), 0, "%s", err);
	cr_assert_eq(merge(), -1);
	cr_assert_not_null(strstr(err, "cannot open domain XML"), "%s", err);
}

Test(cli, mem_rounds_up_to_pages)
{
	cr_assert_eq(PARSE("run", "--mem", "4194305"), 0, "%s", err);
	cr_assert_eq(cli.cfg.mem_size, 4194304ULL + 4096, "KVM maps whole 4 KiB pages");
	cr_assert_eq(PARSE("run", "--mem", "18446744073709551615"), 0, "%s", err);
	cr_assert_eq(cli.cfg.mem_size, UINT64_MAX & ~4095ULL, "no wrap to 0");
}

/* --- --disk IMAGE[,readonly][,serial=S] -------------------------------------------- */

Test(cli, disks)
{
	cr_assert_eq(PARSE("run", "--disk", "root.img", "--disk", "/d/data.img,readonly,serial=abc"),
		     0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_eq(merged.nr_disks, 2);
	cr_assert_str_eq(merged.disks[0].path, "root.img");
	cr_assert_str_eq(merged.disks[0].target, "vda");
	cr_assert_not(merged.disks[0].readonly);
	cr_assert_null(merged.disks[0].serial);
	cr_assert_str_eq(merged.disks[1].path, "/d/data.img");
	cr_assert_str_eq(merged.disks[1].target, "vdb");
	cr_assert(merged.disks[1].readonly);
	cr_assert_str_eq(merged.disks[1].serial, "abc");
	config_free(&merged);
	cr_assert_eq(PARSE("run", "--disk", "a.img,ro"), 0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert(merged.disks[0].readonly);
	config_free(&merged);
}

Test(cli, disk_refusals)
{
	static const struct {
		const char *arg, *says;
	} bad[] = {
		{ ",readonly", "no image file" },
		{ "a.img,rw", "unknown option 'rw'" },
		{ "a.img,serial=", "unknown option 'serial='" },
		{ "a.img,serial=123456789012345678901", "longer than 20" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(PARSE("run", "--disk", bad[i].arg), 0, "%s", err);
		cr_assert_eq(merge(), -1, "'%s' accepted", bad[i].arg);
		cr_assert_not_null(strstr(err, bad[i].says), "%s: %s", bad[i].arg, err);
	}
	cr_assert_eq(PARSE("run", "--disk", "a.img", "--disk", "a.img,ro"), 0, "%s", err);
	cr_assert_eq(merge(), -1);
	cr_assert_not_null(strstr(err, "given twice"), "%s", err);
	cr_assert_eq(PARSE("run", "--disk"), -1);
	cr_assert_not_null(strstr(err, "needs a value"), "%s", err);
}

Test(cli, disks_over_xml)
{
	cr_assert_eq(PARSE("run", FIXTURE("full.xml"), "--disk", "mine.img"), 0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_eq(merged.nr_disks, 1, "--disk replaces the file's disks");
	cr_assert_str_eq(merged.disks[0].path, "mine.img");
	config_free(&merged);
}

Test(cli, report)
{
	cr_assert_eq(PARSE("report", "t.json", "-o", "r.html"), 0, "%s", err);
	cr_assert_eq(cli.cmd, CLI_REPORT);
	cr_assert_str_eq(cli.report_in, "t.json");
	cr_assert_str_eq(cli.report_out, "r.html");
	cr_assert_eq(PARSE("report", "--output=r.html", "t.json"), 0, "%s", err);
	cr_assert_str_eq(cli.report_in, "t.json");
	assert_error(PARSE("report", "t.json"), "-o");
	assert_error(PARSE("report", "-o", "r.html"), "no trace file");
	assert_error(PARSE("report", "a", "b", "-o", "r"), "unexpected argument 'b'");
	assert_error(PARSE("report", "t.json", "-o"), "needs a value");
	assert_error(PARSE("report", "t.json", "-x"), "unknown option");
}

Test(cli, no_ioeventfd_and_pin)
{
	struct vm_config cfg;

	cr_assert_eq(PARSE("run", "--no-ioeventfd", "--pin", "1,0", "-p", "2"), 0, "%s", err);
	cr_assert(cli.cfg.no_ioeventfd);
	cr_assert_eq(cli.cfg.nr_pin, 2);
	cr_assert(cli.cfg.pin[0] == 1 && cli.cfg.pin[1] == 0);
	cr_assert_eq(cli_config(&cli, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert(cfg.no_ioeventfd);
	cr_assert_eq(cfg.nr_pin, 2);
	config_free(&cfg);
	cr_assert_eq(PARSE("run"), 0, "%s", err);
	cr_assert_not(cli.cfg.no_ioeventfd);
	cr_assert_not(cli.cfg.no_thp);
	cr_assert_eq(cli.cfg.nr_pin, 0);
	cr_assert_eq(PARSE("run", "--no-thp"), 0, "%s", err);
	cr_assert_eq(cli_config(&cli, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert(cfg.no_thp);
	config_free(&cfg);
	assert_error(PARSE("run", "--pin", "x"), "--pin");
	assert_error(PARSE("run", "--pin"), "needs a value");
	cr_assert_eq(PARSE("run", "--pin", "0,1"), 0, "%s", err);
	cr_assert_eq(cli_config(&cli, &cfg, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "2 CPUs for 1 vCPU"), "%s", err);
}

Test(cli, help_lists_report_no_ioeventfd_pin)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cli_usage(f);
	fclose(f);
	cr_assert_not_null(strstr(buf, "kvmlab report TRACE.json -o REPORT.html"));
	cr_assert_not_null(strstr(buf, "--no-ioeventfd"));
	cr_assert_not_null(strstr(buf, "--no-thp"));
	cr_assert_not_null(strstr(buf, "--pin CPU[,CPU...]"));
	free(buf);
}

Test(cli, disk_ioeventfd_off)
{
	cr_assert_eq(PARSE("run", "--disk", "a.img,ioeventfd=off", "--disk", "b.img"), 0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert(merged.disks[0].no_ioeventfd);
	cr_assert_not(merged.disks[1].no_ioeventfd);
	cr_assert_not(merged.no_ioeventfd);
	config_free(&merged);
	cr_assert_eq(PARSE("run", "--disk", "a.img,ioeventfd=on"), 0, "%s", err);
	cr_assert_eq(merge(), -1);
	cr_assert_not_null(strstr(err, "unknown option 'ioeventfd=on' (known: readonly, serial=S, "
					"ioeventfd=off)"), "%s", err);
}

/* A domain's <vcpupin>s hold unless --pin is given; --cpus may not leave a pin without its vCPU. */
Test(cli, xml_pins)
{
	const char *xml = "<domain type='kvm'><name>p</name><memory unit='MiB'>64</memory>"
			  "<vcpu>3</vcpu><cputune><vcpupin vcpu='2' cpuset='0'/></cputune>"
			  "<os><type arch='x86_64'>hvm</type></os></domain>\n";
	char path[] = "/tmp/kvmlab-test-pin-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
	close(fd);
	cr_assert_eq(PARSE("run", "--xml", path), 0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_eq(merged.nr_pin, 3);
	cr_assert(merged.pin[0] == -1 && merged.pin[1] == -1 && merged.pin[2] == 0);
	config_free(&merged);
	cr_assert_eq(PARSE("run", "--xml", path, "--pin", "1"), 0, "%s", err);
	cr_assert_eq(merge(), 0, "%s", err);
	cr_assert_eq(merged.nr_pin, 1, "--pin replaces the file's pins");
	cr_assert_eq(merged.pin[0], 1);
	config_free(&merged);
	cr_assert_eq(PARSE("run", "--xml", path, "--cpus", "2"), 0, "%s", err);
	cr_assert_eq(merge(), -1);
	cr_assert_not_null(strstr(err, "<vcpupin vcpu='2'> pins a vCPU the VM does not have (2 vCPUs)"),
			   "%s", err);
	unlink(path);
}
