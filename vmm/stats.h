/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_STATS_H
#define KVMLAB_STATS_H

/*
 * --stats: what left the guest and came to kvmlab, and what KVM counted.
 *
 * 1. Per-vCPU exit accounting (the hot path). vcpu.c times the dispatch of
 *    every exit that KVM_RUN hands to user space and calls stats_record()
 *    with a key: the exit reason, or for port I/O the port and direction,
 *    for MMIO the exact guest-physical address and direction. Each vCPU owns
 *    its table: one writer, no locks, no syscalls (the clock is
 *    CLOCK_MONOTONIC through the vDSO). Other threads may read it at any time
 *    (SIGUSR1): every counter is a relaxed atomic (a plain load/store on x86),
 *    so each number is whole, but samples/total/min/max of one key may be one
 *    exit apart: a snapshot, not a transaction.
 *
 *    The table is open-addressed with STATS_SLOTS slots; once STATS_MAX_KEYS
 *    keys are in use, exits with new keys are counted in the table's "other"
 *    bucket, so no exit is ever dropped from the totals.
 *
 * 2. KVM's binary statistics (KVM_GET_STATS_FD on the VM and each vCPU):
 *    read when the VM starts and again at each report; the deltas of the
 *    cumulative counters are printed, the vCPUs' summed.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct kvm_run;

/* --- keys ------------------------------------------------------------------- */

/*
 * A key is one 64-bit word, never 0 (0 marks an empty slot):
 *   bits 0-1  kind (STATS_K_*), bit 2 direction (1 = write / OUT),
 *   bits 4-63 the exit reason, port or guest-physical address (x86 physical
 *   addresses have at most 52 bits, so nothing is lost).
 */
enum { STATS_K_EXIT = 1, STATS_K_PIO = 2, STATS_K_MMIO = 3 };
#define STATS_KEY_OTHER UINT64_MAX /* the bucket of keys that found no room */

static inline uint64_t stats_key(unsigned kind, bool write, uint64_t what)
{
	return what << 4 | (uint64_t)write << 2 | kind;
}

/* The key of the exit in run (as KVM_RUN left it). */
uint64_t stats_exit_key(const struct kvm_run *run);
/* "port:0x80/POUT", "gpa:0xd0000000/R", "SYSTEM_EVENT", "other (table full)". */
void stats_key_name(uint64_t key, char *buf, size_t len);

/* --- one vCPU's table ---------------------------------------------------------- */

#define STATS_SLOTS 256			   /* a power of two */
#define STATS_MAX_KEYS (STATS_SLOTS * 3 / 4) /* then new keys go to "other" */

struct stats_entry {
	_Atomic uint64_t key; /* set once, by the owner, after the counters */
	_Atomic uint64_t samples, total_ns, min_ns, max_ns;
};

struct stats_table {
	struct stats_entry slot[STATS_SLOTS];
	struct stats_entry other; /* key STATS_KEY_OTHER */
	unsigned used;		  /* keys in slot[]; the owner's alone */
};

void stats_table_init(struct stats_table *t);

/* Nanoseconds on CLOCK_MONOTONIC (vDSO: no syscall). */
static inline uint64_t stats_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Count one exit of key handled in ns nanoseconds. Only the table's vCPU calls it. */
void stats_record(struct stats_table *t, uint64_t key, uint64_t ns);

/* --- reports ---------------------------------------------------------------------- */

struct stats_row {
	uint64_t key;
	uint64_t samples, total_ns, min_ns, max_ns;
};

/* Room for any table's rows: every slot and the "other" bucket. */
#define STATS_MAX_ROWS (STATS_SLOTS + 1)

/* A snapshot of t's non-empty keys (the "other" bucket last, if used); returns how many. */
int stats_snapshot(const struct stats_table *t, struct stats_row *rows);
/* Add rows[0..n) into sum (of *nsum rows, room for max); keys merge. Returns the new count. */
int stats_merge(struct stats_row *sum, int nsum, int max, const struct stats_row *rows, int n);
/* Most samples first; ties by key, so the order is stable. */
void stats_sort(struct stats_row *rows, int n);
/*
 * The table in perf kvm stat report's columns:
 *   VM-EXIT/key  Samples  Samples%  Time%  Min Time  Max Time  Avg time
 * under a title line, and a total line.
 */
void stats_print_rows(FILE *f, const char *title, struct stats_row *rows, int n);

/* --- KVM's binary statistics ---------------------------------------------------------- */

struct kstat_desc {
	char name[64];
	uint32_t flags; /* KVM_STATS_TYPE/UNIT/BASE_* */
	int16_t exponent;
	uint16_t size;	 /* number of u64 values (1 but for histograms) */
	uint32_t offset; /* of its data from the header's data_offset */
};

/* One stats fd (of the VM or of a vCPU) and its values when it was opened. */
struct kstats {
	int fd;
	uint32_t data_offset;
	uint32_t data_len; /* bytes from data_offset that hold every descriptor's values */
	int nr;
	struct kstat_desc *desc;
	uint64_t *start; /* the first value of each descriptor at open time */
};

/*
 * KVM_GET_STATS_FD on owner_fd (a VM or vCPU fd): read the header, the
 * descriptors and the starting values. Returns 0, or -1 with one line in err.
 */
int kstats_open(struct kstats *k, int owner_fd, char *err, size_t errlen);
/* The same from an fd already open (the unit tests feed it a file). */
int kstats_open_fd(struct kstats *k, int fd, char *err, size_t errlen);
/* The current first value of each descriptor into vals[k->nr]. Returns 0 or -1. */
int kstats_read(const struct kstats *k, uint64_t *vals);
void kstats_close(struct kstats *k);
/* What a counter counts, in a few words; NULL for one we have no words for. */
const char *kstats_meaning(const char *name);
/* Whether a descriptor is a counter whose delta means something (cumulative, one value). */
bool kstats_is_counter(const struct kstat_desc *d);

/* --- phases: the guest's markers split the table ------------------------------------------ */

#define STATS_MAX_PHASES 16 /* per vCPU; the last is "(more phases)" once the others are used */
#define STATS_LABEL_MAX 32

struct stats_phase {
	char label[STATS_LABEL_MAX];
	struct stats_table table;
};

/*
 * Each marker is also a moment: when it comes, the vCPU thread notes kvmlab's own
 * resident memory (VmRSS) and its vCPU's KVM counters named in stats_mark_counters
 * (page faults, exits), so the report shows them climb phase by phase (lesson 3:
 * guest memory is demand-paged by the guest and again by the host). Markers are
 * rare; each costs an open/read of /proc/self/statm and one pread of KVM's file.
 */
#define STATS_MAX_MARKS 64 /* per vCPU; later ones are counted, not kept */
#define STATS_MARK_COUNTERS 3
extern const char *const stats_mark_counters[STATS_MARK_COUNTERS]; /* pf_taken, pf_fixed, exits */

struct stats_mark {
	char label[STATS_LABEL_MAX];
	uint64_t t_ns;			     /* since the VM started */
	long long rss_kib;		     /* kvmlab's VmRSS then; -1: unreadable */
	long long kvm[STATS_MARK_COUNTERS]; /* since the VM started; -1: no such counter */
};

/* kvmlab's resident set in KiB (/proc/self/statm), or -1. */
long long stats_rss_kib(void);

/* --- everything --stats keeps for one VM ---------------------------------------------- */

struct stats_vcpu {
	struct stats_table table; /* the whole run */
	struct kstats kvm;
	/*
	 * The exits of each phase, the time from one marker of the guest to the
	 * next (port 0x510, docs/tracing.md): allocated at the first marker, which
	 * also makes phase 0 "(before the first marker)" of what came before it.
	 * The owner (the vCPU thread) fills phase[] and then publishes nr_phases
	 * with a release store; readers load it with acquire.
	 */
	struct stats_phase *phase;
	_Atomic int nr_phases;
	struct stats_phase *cur; /* the owner's: the phase exits go to now, or NULL */
	/* The markers as moments (above): filled and published like phase[]. */
	struct stats_mark *mark;
	_Atomic int nr_marks;
	_Atomic uint64_t marks_lost; /* markers after STATS_MAX_MARKS */
	uint64_t *kvals;	     /* the owner's scratch: one value per KVM descriptor */
	uint64_t start_ns;	     /* when the VM started (stats_start) */
};

/* Count one exit in the vCPU's table and its current phase's. The vCPU thread's alone. */
void stats_record_vcpu(struct stats_vcpu *sv, uint64_t key, uint64_t ns);
/*
 * The guest marked label: the exits from now on go to that phase (again, if seen before),
 * and the moment is noted (stats_mark) with rss_kib, kvmlab's RSS read by the caller
 * (stats_rss_kib(); the trace's marker carries the same reading).
 */
void stats_phase_begin(struct stats_vcpu *sv, const char *label, long long rss_kib);
/* Note rss_kib and the vCPU's KVM counters now, under label. The vCPU thread's alone. */
void stats_mark_take(struct stats_vcpu *sv, const char *label, long long rss_kib);
/* The calling vCPU thread's (NULL: no --stats): set by the vCPU thread, used by the marker port. */
extern _Thread_local struct stats_vcpu *stats_self;

struct stats {
	int nr_vcpus;
	struct stats_vcpu *vcpu;
	bool kvm_ok;	   /* KVM's statistics are open */
	char kvm_why[200]; /* otherwise, why not */
	struct kstats kvm_vm;
	uint64_t start_ns; /* when the VM started */
};

struct stats *stats_create(int nr_vcpus);
/*
 * Open KVM's statistics for the VM and its vCPUs and take their starting
 * values; if the host has no KVM_CAP_BINARY_STATS_FD (or it fails) the
 * reports say so. Returns nothing: --stats never stops a VM.
 */
void stats_start(struct stats *s, int kvm_fd, int vm_fd, const int *vcpu_fds);
/*
 * Everything: each vCPU's table (vCPUs with no exits in one line), all vCPUs'
 * table, if the guest marked phases all vCPUs' table per phase and the moments of the markers,
 * and KVM's counters. final says whether the VM has ended (otherwise
 * the heading says it is a snapshot of a running VM).
 */
void stats_report(FILE *f, struct stats *s, bool final);
void stats_destroy(struct stats *s);

#endif
