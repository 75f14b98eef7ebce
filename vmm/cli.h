/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_CLI_H
#define KVMLAB_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/config.h"

enum cli_command { CLI_RUN, CLI_DOCTOR, CLI_HELP, CLI_VERSION, CLI_REPORT };

/* Fields of cli.cfg the command line gave: they override a domain XML's. */
enum {
	CLI_SET_KERNEL = 1 << 0,
	CLI_SET_INITRD = 1 << 1,
	CLI_SET_CMDLINE = 1 << 2,
	CLI_SET_MEM = 1 << 3,
	CLI_SET_CPUS = 1 << 4,
};

struct cli {
	enum cli_command cmd;
	struct vm_config cfg; /* the command line's values over kvmlab's defaults */
	unsigned set;	      /* CLI_SET_*: which of them it gave */
	const char *xml;      /* --xml FILE, or the positional argument when it is XML */
	bool print_xml;	      /* --print-xml */
	const char *disk[CONFIG_MAX_DISKS]; /* --disk arguments, as given */
	int nr_disks;
	const char *report_in, *report_out; /* kvmlab report TRACE -o OUT */
};

/* Exit status for usage errors. */
#define CLI_EXIT_USAGE 2

/*
 * Parse argv. Returns 0, or -1 with a one-line message in err for a usage
 * error. Strings in the result point into argv. It reads nothing but the
 * first bytes of a positional argument, to tell a domain XML from a kernel
 * (xml_is_xml_file()).
 */
int cli_parse(int argc, char **argv, struct cli *out, char *err, size_t errlen);

/*
 * The configuration to run: the domain XML's (if any) with the command line's
 * values over it, or the command line's alone. Returns 0, or -1 with one line
 * in err. config_free() it after use.
 */
int cli_config(const struct cli *cli, struct vm_config *out, char *err, size_t errlen);

/* "64M", "1G", "4096K", "1048576" -> bytes. Returns 0, or -1 if malformed. */
int cli_parse_size(const char *s, uint64_t *out);

void cli_usage(FILE *f);

#endif
