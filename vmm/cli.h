/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_CLI_H
#define KVMLAB_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/config.h"

enum cli_command { CLI_RUN, CLI_DOCTOR, CLI_HELP, CLI_VERSION };

struct cli {
	enum cli_command cmd;
	struct vm_config cfg;
};

/* Exit status for usage errors. */
#define CLI_EXIT_USAGE 2

/*
 * Parse argv. Returns 0, or -1 with a one-line message in err for a usage
 * error. Strings in the result point into argv.
 */
int cli_parse(int argc, char **argv, struct cli *out, char *err, size_t errlen);

/* "64M", "1G", "4096K", "1048576" -> bytes. Returns 0, or -1 if malformed. */
int cli_parse_size(const char *s, uint64_t *out);

void cli_usage(FILE *f);

#endif
