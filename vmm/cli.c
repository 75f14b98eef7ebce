// SPDX-License-Identifier: MIT
/* Command line -> struct cli -> the VM configuration, with a domain XML's under it. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli.h"
#include "vmm/pin.h"
#include "vmm/xml.h"

void cli_usage(FILE *f)
{
	fputs("Usage: kvmlab run [OPTIONS] [KERNEL | DOMAIN.xml]\n"
	      "       kvmlab doctor\n"
	      "       kvmlab report TRACE.json -o REPORT.html\n"
	      "       kvmlab --help | --version\n"
	      "\n"
	      "Commands:\n"
	      "  run       boot a guest under KVM with its serial console on this terminal\n"
	      "  doctor    explain whether this host can run kvmlab, and how to fix it if not\n"
	      "  report    turn a --trace file into one self-contained HTML page: the exit\n"
	      "            table per vCPU and in all, a timeline per vCPU and the exits per\n"
	      "            phase between the guest's markers, as pictures (docs/tracing.md)\n"
	      "\n"
	      "Options for run:\n"
	      "  -k, --kernel FILE    kernel to boot: a Linux bzImage or an ELF with a PVH\n"
	      "                       entry note (default: kvmlab's teaching kernel, built\n"
	      "                       in with an initramfs of /bin/sh and the book's\n"
	      "                       experiments: docs/kernel.md)\n"
	      "  -m, --mem SIZE       guest RAM, with suffix K, M or G (default 256M, at least 2M)\n"
	      "  -c, --cmdline STR    kernel command line; the teaching kernel's \"init=PROG ARGS\"\n"
	      "                       runs PROG from the initramfs instead of the shell\n"
	      "                       (\"...\" keeps blanks in one argument), e.g.\n"
	      "                       --cmdline \"init=/bin/sched 3\"\n"
	      "  -i, --initrd FILE    initial ramdisk (a cpio newc archive for the teaching\n"
	      "                       kernel; default with it: the built-in one)\n"
	      "  -p, --cpus N         number of vCPUs, 1 to 64 (default 1)\n"
	      "      --disk IMAGE[,readonly][,serial=S][,ioeventfd=off]\n"
	      "                       a raw disk image as a virtio-blk disk: the first is\n"
	      "                       /dev/vda in a Linux guest, the next /dev/vdb, ... (up\n"
	      "                       to 16). readonly: the guest cannot write it. serial: what\n"
	      "                       the guest reads as its serial (/sys/block/vda/serial),\n"
	      "                       at most 20 characters; default: the image's file name.\n"
	      "                       ioeventfd=off: as --no-ioeventfd, for this disk only.\n"
	      "                       The image is locked while kvmlab runs.\n"
	      "      --xml FILE       read the VM from a libvirt domain XML file; the options\n"
	      "                       above, given as well, override its values. A positional\n"
	      "                       argument whose first character (after blanks) is '<' is\n"
	      "                       such a file too. See docs/xml.md for what is supported.\n"
	      "      --print-xml      print the VM as libvirt domain XML and exit\n"
	      "      --firmware       start the guest where a PC starts, at the reset vector in\n"
	      "                       real mode, in kvmlab's firmware, which switches to\n"
	      "                       protected (PVH) or long mode (bzImage) and enters the\n"
	      "                       kernel (default: direct boot; docs/boot.md)\n"
	      "  -d, --debug          report unclaimed port and MMIO accesses on stderr, and\n"
	      "                       each vCPU's registers when kvmlab is stopped from outside\n"
	      "      --stats[=FILE]   when the VM ends, and on SIGUSR1 while it runs, print a\n"
	      "                       table of the exits kvmlab handled (per exit reason, port\n"
	      "                       and MMIO address: samples, time) per vCPU and in all,\n"
	      "                       and KVM's own counters over the run (docs/tracing.md);\n"
	      "                       the guest's markers (port 0x510) split it by phase, and\n"
	      "                       each notes kvmlab's RSS and KVM's page-fault counters;\n"
	      "                       to stderr, or appended to FILE (truncated at start)\n"
	      "      --trace FILE     record every exit kvmlab handles (time, vCPU, port or\n"
	      "                       address, value, handling time) and the guest's markers\n"
	      "                       (port 0x510) into FILE as Trace Event JSON: open it in\n"
	      "                       ui.perfetto.dev or chrome://tracing (docs/tracing.md).\n"
	      "                       With --stats, the markers split its tables by phase\n"
	      "      --no-ioeventfd   virtio queue notifications (kicks) come to kvmlab as MMIO\n"
	      "                       exits instead of KVM signalling an eventfd without an\n"
	      "                       exit: slower, but each kick is visible to --stats and\n"
	      "                       --trace (docs/lessons/4-virtio-batches.md)\n"
	      "      --no-thp         back guest RAM with 4 KiB host pages only (by default\n"
	      "                       kvmlab asks for transparent huge pages, and KVM then maps\n"
	      "                       2 MiB at a time): one nested page fault per 4 KiB page\n"
	      "                       (docs/lessons/3-memory-is-demand-paged-twice.md)\n"
	      "      --pin CPU[,CPU...]\n"
	      "                       run vCPU thread i on the i-th CPU given only (its\n"
	      "                       affinity); vCPUs beyond the list are not pinned. The CPUs\n"
	      "                       must exist and be allowed to kvmlab (taskset, cpusets)\n"
	      "  -h, --help           this text\n"
	      "  -V, --version        print the version\n"
	      "\n"
	      "Console: the guest's COM1 is this terminal. Ctrl-A x quits kvmlab; Ctrl-A Ctrl-A\n"
	      "sends a Ctrl-A to the guest.\n"
	      "\n"
	      "When the guest ends: by default kvmlab ends too. A domain XML chooses with\n"
	      "<on_poweroff>, <on_reboot> and <on_crash>: destroy (end), or restart (boot the\n"
	      "guest again in this process); libvirt's default, without them, restarts on reboot.\n"
	      "\n"
	      "Exit status: the guest's (a write of v to port 0xF4 gives (v << 1) | 1,\n"
	      "a byte v written to port 0x501 gives v, a keyboard-controller reset gives\n"
	      "0; the teaching kernel ends with its init's exit status: the shell's, or\n"
	      "init=PROG's); 1 if the VM failed (triple fault, entry failure, ...) or a kernel,\n"
	      "initrd or disk image cannot be used, 2 for usage errors and configurations\n"
	      "kvmlab cannot run (a domain XML it refuses), 69 if this host cannot run VMs\n"
	      "(see `kvmlab doctor`).\n"
	      "KVMLAB_KVM_DEVICE overrides the path of /dev/kvm.\n",
	      f);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default:
		return -1;
	}
	/* Accept "64M" and "64MiB"/"64MB" alike; nothing else may follow. */
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_cpus(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > CONFIG_MAX_CPUS)
		return -1;
	*out = (int)v;
	return 0;
}

enum { OPT_XML = 0x100, OPT_PRINT_XML, OPT_DISK, OPT_STATS, OPT_TRACE };
enum { OPT_FIRMWARE = 0x180, OPT_NO_IOEVENTFD, OPT_PIN, OPT_NO_THP };

static const struct option run_opts[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cpus", required_argument, NULL, 'p' },
	{ "debug", no_argument, NULL, 'd' },
	{ "xml", required_argument, NULL, OPT_XML },
	{ "print-xml", no_argument, NULL, OPT_PRINT_XML },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "stats", optional_argument, NULL, OPT_STATS },
	{ "firmware", no_argument, NULL, OPT_FIRMWARE },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "no-ioeventfd", no_argument, NULL, OPT_NO_IOEVENTFD },
	{ "no-thp", no_argument, NULL, OPT_NO_THP },
	{ "pin", required_argument, NULL, OPT_PIN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int set_xml(const char *arg, struct cli *out, char *err, size_t errlen)
{
	if (out->xml)
		return fail(err, errlen, "two domain XML files ('%s' and '%s')", out->xml, arg);
	out->xml = arg;
	return 0;
}

/* `kvmlab run FILE`: a domain XML if it starts with '<', a kernel otherwise. */
static int positional(const char *arg, struct cli *out, char *err, size_t errlen)
{
	struct vm_config *c = &out->cfg;

	if (xml_is_xml_file(arg))
		return set_xml(arg, out, err, errlen);
	if (c->kernel)
		return fail(err, errlen, "kernel given twice ('%s' and '%s')", c->kernel, arg);
	c->kernel = arg;
	out->set |= CLI_SET_KERNEL;
	return 0;
}

static int parse_run(int argc, char **argv, struct cli *out, char *err, size_t errlen)
{
	struct vm_config *c = &out->cfg;
	int opt;

	optind = 0; /* glibc: 0 also forgets a half-parsed cluster ("-hd") of a previous call */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:m:c:i:p:dhV", run_opts, NULL)) != -1) {
		switch (opt) {
		case 'k': c->kernel = optarg; out->set |= CLI_SET_KERNEL; break;
		case 'c': c->cmdline = optarg; out->set |= CLI_SET_CMDLINE; break;
		case 'i': c->initrd = optarg; out->set |= CLI_SET_INITRD; break;
		case 'd': c->debug = true; break;
		case OPT_PRINT_XML: out->print_xml = true; break;
		case OPT_FIRMWARE: c->firmware = true; break;
		case OPT_NO_IOEVENTFD: c->no_ioeventfd = true; break;
		case OPT_NO_THP: c->no_thp = true; break;
		case OPT_PIN:
			c->nr_pin = pin_parse(optarg, c->pin, CONFIG_MAX_CPUS, err, errlen);
			if (c->nr_pin < 0)
				return -1;
			break;
		case OPT_STATS:
			if (optarg && !*optarg)
				return fail(err, errlen, "--stats=: no file name");
			c->stats = true;
			c->stats_file = optarg;
			break;
		case OPT_TRACE:
			if (!*optarg)
				return fail(err, errlen, "--trace: no file name");
			c->trace_file = optarg;
			break;
		case OPT_DISK:
			if (out->nr_disks == CONFIG_MAX_DISKS)
				return fail(err, errlen, "--disk given more than %d times",
					    CONFIG_MAX_DISKS);
			out->disk[out->nr_disks++] = optarg;
			break;
		case OPT_XML:
			if (set_xml(optarg, out, err, errlen) < 0)
				return -1;
			break;
		case 'h': out->cmd = CLI_HELP; return 0;
		case 'V': out->cmd = CLI_VERSION; return 0;
		case 'p':
			if (parse_cpus(optarg, &c->nr_cpus) < 0)
				return fail(err, errlen, "--cpus: '%s' is not a number from 1 to %d",
					    optarg, CONFIG_MAX_CPUS);
			out->set |= CLI_SET_CPUS;
			break;
		case 'm':
			if (cli_parse_size(optarg, &c->mem_size) < 0)
				return fail(err, errlen, "--mem: '%s' is not a size (try 256M or 1G)", optarg);
			if (c->mem_size < CONFIG_MIN_MEM)
				return fail(err, errlen, "--mem %s is too little: a guest needs at least 2M", optarg);
			c->mem_size = config_page_round(c->mem_size);
			out->set |= CLI_SET_MEM;
			break;
		case ':':
			return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			/* In a cluster ("-xd") optind has not moved past it yet. */
			if (optopt && strncmp(argv[optind - 1], "--", 2))
				return fail(err, errlen, "unknown option '-%c'", optopt);
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc && positional(argv[optind++], out, err, errlen) < 0)
		return -1;
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* kvmlab report TRACE -o OUT */
static int parse_report(int argc, char **argv, struct cli *out, char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (!*optarg)
				return fail(err, errlen, "report: -o: no file name");
			out->report_out = optarg;
			break;
		case 'h': out->cmd = CLI_HELP; return 0;
		case ':': return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default: return fail(err, errlen, "report: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		out->report_in = argv[optind++];
	if (optind < argc)
		return fail(err, errlen, "report: unexpected argument '%s'", argv[optind]);
	if (!out->report_in)
		return fail(err, errlen, "report: no trace file given (kvmlab report TRACE.json -o REPORT.html)");
	if (!out->report_out)
		return fail(err, errlen, "report: no output file given (-o REPORT.html)");
	return 0;
}

int cli_parse(int argc, char **argv, struct cli *out, char *err, size_t errlen)
{
	const char *cmd;

	memset(out, 0, sizeof(*out));
	config_init(&out->cfg);
	if (argc < 2)
		return fail(err, errlen, "no command given");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		out->cmd = CLI_HELP;
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		out->cmd = CLI_VERSION;
		return 0;
	}
	if (!strcmp(cmd, "doctor")) {
		out->cmd = CLI_DOCTOR;
		if (argc > 2)
			return fail(err, errlen, "doctor takes no arguments");
		return 0;
	}
	if (!strcmp(cmd, "report")) {
		out->cmd = CLI_REPORT;
		return parse_report(argc - 1, argv + 1, out, err, errlen);
	}
	if (!strcmp(cmd, "run")) {
		out->cmd = CLI_RUN;
		return parse_run(argc - 1, argv + 1, out, err, errlen);
	}
	if (cmd[0] == '-')
		return fail(err, errlen, "options go after the command: kvmlab run %s ...", cmd);
	return fail(err, errlen, "unknown command '%s'", cmd);
}

/* One --disk argument: IMAGE[,readonly][,serial=S][,ioeventfd=off], as the n-th disk (vda, ...). */
static int parse_disk(const char *arg, int n, struct vm_config *out, char *err, size_t errlen)
{
	const char *comma = strchr(arg, ',');
	size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
	struct config_disk *d = config_add_disk(out);
	char target[8];

	if (!d)
		return fail(err, errlen, "out of memory");
	if (!len)
		return fail(err, errlen, "--disk '%s': no image file before the options", arg);
	snprintf(target, sizeof(target), "vd%c", 'a' + n);
	d->path = config_strndup(out, arg, len);
	d->target = config_strdup(out, target);
	if (!d->path || !d->target)
		return fail(err, errlen, "out of memory");
	while (comma) {
		const char *opt = comma + 1, *end = strchr(opt, ',');
		size_t olen = end ? (size_t)(end - opt) : strlen(opt);

		comma = end;
		if ((olen == 8 && !strncmp(opt, "readonly", 8)) || (olen == 2 && !strncmp(opt, "ro", 2)))
			d->readonly = true;
		else if (olen == 13 && !strncmp(opt, "ioeventfd=off", 13))
			d->no_ioeventfd = true;
		else if (olen > 7 && !strncmp(opt, "serial=", 7)) {
			d->serial = config_strndup(out, opt + 7, olen - 7);
			if (!d->serial)
				return fail(err, errlen, "out of memory");
		} else
			return fail(err, errlen,
				    "--disk '%s': unknown option '%.*s' (known: readonly, serial=S, "
				    "ioeventfd=off)",
				    arg, (int)olen, opt);
	}
	return 0;
}

/* --disk replaces a domain XML's disks: the command line says which disks, all of them. */
static int cli_disks(const struct cli *cli, struct vm_config *out, char *err, size_t errlen)
{
	if (cli->nr_disks)
		out->nr_disks = 0;
	for (int i = 0; i < cli->nr_disks; i++)
		if (parse_disk(cli->disk[i], i, out, err, errlen) < 0)
			return -1;
	return config_check_disks(out, err, errlen);
}

int cli_config(const struct cli *cli, struct vm_config *out, char *err, size_t errlen)
{
	const struct vm_config *c = &cli->cfg;

	if (!cli->xml) {
		*out = *c;
		if (out->nr_pin > out->nr_cpus)
			return fail(err, errlen,
				    "--pin gives %d CPUs for %d vCPU%s: one CPU a vCPU, at most",
				    out->nr_pin, out->nr_cpus, out->nr_cpus == 1 ? "" : "s");
		if (cli_disks(cli, out, err, errlen) < 0) {
			config_free(out);
			return -1;
		}
		return 0;
	}
	if (xml_parse_file(cli->xml, out, err, errlen) < 0)
		return -1;
	if (cli_disks(cli, out, err, errlen) < 0) {
		config_free(out);
		return -1;
	}
	if (cli->set & CLI_SET_KERNEL)
		out->kernel = c->kernel;
	if (cli->set & CLI_SET_INITRD)
		out->initrd = c->initrd;
	if (cli->set & CLI_SET_CMDLINE)
		out->cmdline = c->cmdline;
	if (cli->set & CLI_SET_MEM)
		out->mem_size = c->mem_size;
	if (cli->set & CLI_SET_CPUS)
		out->nr_cpus = c->nr_cpus;
	out->debug = c->debug;
	out->stats = c->stats;
	out->firmware = c->firmware;
	out->stats_file = c->stats_file;
	out->trace_file = c->trace_file;
	out->no_ioeventfd |= c->no_ioeventfd;
	out->no_thp = c->no_thp;
	if (c->nr_pin) { /* --pin replaces the XML's <vcpupin>s */
		memcpy(out->pin, c->pin, sizeof(out->pin));
		out->nr_pin = c->nr_pin;
	}
	if (c->nr_pin > out->nr_cpus)
		return fail(err, errlen, "--pin gives %d CPUs for %d vCPU%s: one CPU a vCPU, at most",
			    out->nr_pin, out->nr_cpus, out->nr_cpus == 1 ? "" : "s");
	for (int i = out->nr_cpus; i < out->nr_pin; i++)
		if (out->pin[i] >= 0)
			return fail(err, errlen,
				    "<vcpupin vcpu='%d'> pins a vCPU the VM does not have (%d vCPU%s)",
				    i, out->nr_cpus, out->nr_cpus == 1 ? "" : "s");
	return 0;
}
