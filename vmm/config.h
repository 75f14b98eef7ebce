/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_CONFIG_H
#define KVMLAB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* Everything a VM is built from: the CLI (later a domain XML) fills this in. */
struct vm_config {
	const char *kernel; /* NULL: the guest built into kvmlab */
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	int nr_cpus;
	bool debug;
};

#define CONFIG_DEFAULT_MEM (256ULL << 20)
#define CONFIG_MIN_MEM (2ULL << 20)
#define CONFIG_MAX_CPUS 64

#endif
