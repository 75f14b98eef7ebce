/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_CONFIG_H
#define KVMLAB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* What happens when the guest powers off, resets or crashes (libvirt's on_*). */
enum vm_action {
	VM_ACTION_DESTROY, /* the VM ends and kvmlab exits */
	VM_ACTION_RESTART, /* the guest boots again in the same kvmlab process */
};

/*
 * The guest's serial console. kvmlab has one, COM1 on its own standard input
 * and output, whatever this says; the kind only records how a domain XML
 * described it, so that --print-xml writes it back the same way.
 */
enum config_console {
	CONFIG_CONSOLE_PTY,   /* <serial type='pty'>: what libvirt hosts use */
	CONFIG_CONSOLE_STDIO, /* <serial type='stdio'> */
	CONFIG_CONSOLE_NONE,  /* the XML had no <serial> nor <console> */
};

/* A virtio disk backed by a raw image file (<disk type='file' device='disk'>). */
struct config_disk {
	const char *path;   /* <source file=...> */
	const char *target; /* <target dev=...>: "vda", "vdb", ... */
	const char *serial; /* NULL: none */
	bool readonly;
	bool no_ioeventfd; /* <driver ioeventfd='off'>, --disk ...,ioeventfd=off */
};

/* Everything a VM is built from: the CLI and a domain XML fill this in. */
struct vm_config {
	const char *name;
	uint8_t uuid[16];
	bool has_uuid;
	const char *kernel; /* NULL: the guest built into kvmlab */
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	int nr_cpus;
	bool debug;
	bool stats;		/* --stats: exit accounting and KVM's counters */
	const char *stats_file; /* --stats=FILE: where they go (NULL: stderr) */
	const char *trace_file; /* --trace FILE: every exit as Trace Event JSON (NULL: none) */
	bool firmware;		/* --firmware: start at the reset vector in kvmlab's firmware */
	bool no_ioeventfd;	/* --no-ioeventfd: virtio kicks are MMIO exits handled by kvmlab */
	bool no_thp;		/* --no-thp: guest RAM in 4 KiB host pages, no transparent huge pages */
	int pin[64];		/* --pin: vCPU i runs on CPU pin[i] (-1: anywhere), i < nr_pin */
	int nr_pin;
	enum vm_action on_poweroff, on_reboot, on_crash;
	enum config_console console;
	struct config_disk *disks;
	int nr_disks;
	/* Memory the configuration owns (strings from an XML file): config_free(). */
	struct config_block *owned;
};

#define CONFIG_DEFAULT_NAME "kvmlab"
#define CONFIG_DEFAULT_MEM  (256ULL << 20)
#define CONFIG_MIN_MEM	    (2ULL << 20)

/*
 * Guest RAM comes in whole 4 KiB pages (KVM maps nothing smaller): sizes round
 * up, and the largest ones down rather than wrap to 0 (mapping them fails).
 */
static inline uint64_t config_page_round(uint64_t bytes)
{
	return bytes > UINT64_MAX - 4095 ? UINT64_MAX & ~4095ULL : (bytes + 4095) & ~4095ULL;
}
#define CONFIG_MAX_CPUS	    64
#define CONFIG_MAX_DISKS    16
#define CONFIG_SERIAL_MAX   20 /* virtio-blk's GET_ID answers with at most 20 bytes */

/*
 * kvmlab's defaults, those of a VM given on the command line: 256 MiB, one
 * vCPU, the built-in guest, and every guest-initiated end ends kvmlab.
 */
void config_init(struct vm_config *c);
/* A copy of s (of n bytes, NUL added) owned by c; NULL if out of memory. */
char *config_strndup(struct vm_config *c, const char *s, unsigned long n);
char *config_strdup(struct vm_config *c, const char *s);
/* Append a disk; returns it zeroed, or NULL if out of memory. */
struct config_disk *config_add_disk(struct vm_config *c);
/*
 * Whether kvmlab can attach c's disks: at most CONFIG_MAX_DISKS, no image twice,
 * serials of at most CONFIG_SERIAL_MAX bytes. Returns 0, or -1 with one line in err.
 */
int config_check_disks(const struct vm_config *c, char *err, unsigned long errlen);
/* Free what c owns; c is left as config_init() makes it. */
void config_free(struct vm_config *c);

/* "destroy", "restart". */
const char *config_action_name(enum vm_action a);

#endif
