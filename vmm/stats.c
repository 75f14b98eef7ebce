// SPDX-License-Identifier: MIT
/* --stats: per-vCPU exit accounting and KVM's binary statistics (see stats.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/stats.h"

#define RELAXED memory_order_relaxed

/* --- keys ------------------------------------------------------------------- */

uint64_t stats_exit_key(const struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return stats_key(STATS_K_PIO, run->io.direction == KVM_EXIT_IO_OUT, run->io.port);
	case KVM_EXIT_MMIO:
		return stats_key(STATS_K_MMIO, run->mmio.is_write, run->mmio.phys_addr);
	default:
		return stats_key(STATS_K_EXIT, false, run->exit_reason);
	}
}

static const char *exit_name(uint64_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_IRQ_WINDOW_OPEN: return "IRQ_WINDOW_OPEN";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTR: return "INTR";
	case KVM_EXIT_SET_TPR: return "SET_TPR";
	case KVM_EXIT_TPR_ACCESS: return "TPR_ACCESS";
	case KVM_EXIT_NMI: return "NMI";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	case KVM_EXIT_IOAPIC_EOI: return "IOAPIC_EOI";
	case KVM_EXIT_HYPERV: return "HYPERV";
	case KVM_EXIT_X86_RDMSR: return "X86_RDMSR";
	case KVM_EXIT_X86_WRMSR: return "X86_WRMSR";
	case KVM_EXIT_DIRTY_RING_FULL: return "DIRTY_RING_FULL";
	case KVM_EXIT_AP_RESET_HOLD: return "AP_RESET_HOLD";
	case KVM_EXIT_X86_BUS_LOCK: return "X86_BUS_LOCK";
	case KVM_EXIT_XEN: return "XEN";
	case KVM_EXIT_NOTIFY: return "NOTIFY";
	default: return NULL;
	}
}

void stats_key_name(uint64_t key, char *buf, size_t len)
{
	uint64_t what = key >> 4;
	bool write = key >> 2 & 1;
	const char *name;

	if (key == STATS_KEY_OTHER) {
		snprintf(buf, len, "other (table full)");
		return;
	}
	switch (key & 3) {
	case STATS_K_PIO:
		snprintf(buf, len, "port:0x%llx/%s", (unsigned long long)what, write ? "POUT" : "PIN");
		return;
	case STATS_K_MMIO:
		snprintf(buf, len, "gpa:0x%llx/%s", (unsigned long long)what, write ? "W" : "R");
		return;
	case STATS_K_EXIT:
		name = exit_name(what);
		if (name)
			snprintf(buf, len, "%s", name);
		else
			snprintf(buf, len, "EXIT_%llu", (unsigned long long)what);
		return;
	}
	snprintf(buf, len, "key 0x%llx", (unsigned long long)key);
}

/* --- one vCPU's table ---------------------------------------------------------- */

static void entry_reset(struct stats_entry *e)
{
	atomic_store_explicit(&e->samples, 0, RELAXED);
	atomic_store_explicit(&e->total_ns, 0, RELAXED);
	atomic_store_explicit(&e->min_ns, UINT64_MAX, RELAXED);
	atomic_store_explicit(&e->max_ns, 0, RELAXED);
}

void stats_table_init(struct stats_table *t)
{
	for (int i = 0; i < STATS_SLOTS; i++) {
		atomic_store_explicit(&t->slot[i].key, 0, RELAXED);
		entry_reset(&t->slot[i]);
	}
	atomic_store_explicit(&t->other.key, STATS_KEY_OTHER, RELAXED);
	entry_reset(&t->other);
	t->used = 0;
}

static unsigned slot_of(uint64_t key)
{
	/* Fibonacci hashing: ports and page-aligned addresses spread well. */
	return (unsigned)((key * 0x9E3779B97F4A7C15ULL) >> 56) & (STATS_SLOTS - 1);
}

/* One writer: plain loads and stores (relaxed atomics), no read-modify-write. */
static void bump(struct stats_entry *e, uint64_t ns)
{
	atomic_store_explicit(&e->samples, atomic_load_explicit(&e->samples, RELAXED) + 1, RELAXED);
	atomic_store_explicit(&e->total_ns, atomic_load_explicit(&e->total_ns, RELAXED) + ns,
			      RELAXED);
	if (ns < atomic_load_explicit(&e->min_ns, RELAXED))
		atomic_store_explicit(&e->min_ns, ns, RELAXED);
	if (ns > atomic_load_explicit(&e->max_ns, RELAXED))
		atomic_store_explicit(&e->max_ns, ns, RELAXED);
}

void stats_record(struct stats_table *t, uint64_t key, uint64_t ns)
{
	/* At most STATS_MAX_KEYS < STATS_SLOTS slots are used: probing ends. */
	for (unsigned i = slot_of(key);; i = (i + 1) & (STATS_SLOTS - 1)) {
		struct stats_entry *e = &t->slot[i];
		uint64_t k = atomic_load_explicit(&e->key, RELAXED);

		if (k == key) {
			bump(e, ns);
			return;
		}
		if (k)
			continue;
		if (t->used >= STATS_MAX_KEYS) {
			bump(&t->other, ns);
			return;
		}
		/* Counters first, then the key: a reader that sees the key sees them. */
		entry_reset(e);
		atomic_store_explicit(&e->key, key, memory_order_release);
		t->used++;
		bump(e, ns);
		return;
	}
}

/* --- phases -------------------------------------------------------------------------- */

_Thread_local struct stats_vcpu *stats_self;

void stats_record_vcpu(struct stats_vcpu *sv, uint64_t key, uint64_t ns)
{
	stats_record(&sv->table, key, ns);
	if (sv->cur)
		stats_record(&sv->cur->table, key, ns);
}

/* d = e, field by field; the owner copying its own table (no other writer). */
static void entry_copy(struct stats_entry *d, const struct stats_entry *e)
{
#define COPY(field) \
	atomic_store_explicit(&d->field, atomic_load_explicit(&e->field, RELAXED), RELAXED)
	COPY(samples);
	COPY(total_ns);
	COPY(min_ns);
	COPY(max_ns);
	COPY(key);
#undef COPY
}

/* Phase i (the owner's next free one) named label, a copy of from (or empty); then published. */
static struct stats_phase *new_phase(struct stats_vcpu *sv, int i, const char *label,
				     const struct stats_table *from)
{
	struct stats_phase *p = &sv->phase[i];

	snprintf(p->label, sizeof(p->label), "%s", label);
	stats_table_init(&p->table);
	if (from) {
		for (int k = 0; k < STATS_SLOTS; k++)
			entry_copy(&p->table.slot[k], &from->slot[k]);
		entry_copy(&p->table.other, &from->other);
		p->table.used = from->used;
	}
	atomic_store_explicit(&sv->nr_phases, i + 1, memory_order_release);
	return p;
}

/* --- the markers as moments ------------------------------------------------------------- */

const char *const stats_mark_counters[STATS_MARK_COUNTERS] = { "pf_taken", "pf_fixed", "exits" };

long long stats_rss_kib(void)
{
	char buf[128];
	long long size, rss;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%lld %lld", &size, &rss) != 2)
		return -1;
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* k's counters in stats_mark_counters' order, since it was opened (-1: none), read into vals. */
static void counters_into(const struct kstats *k, uint64_t *vals, long long *out)
{
	for (int j = 0; j < STATS_MARK_COUNTERS; j++)
		out[j] = -1;
	if (!vals || k->fd < 0 || !k->nr || kstats_read(k, vals) < 0)
		return;
	for (int i = 0; i < k->nr; i++)
		for (int j = 0; j < STATS_MARK_COUNTERS; j++)
			if (kstats_is_counter(&k->desc[i]) && !strcmp(k->desc[i].name, stats_mark_counters[j]))
				out[j] = (long long)(vals[i] - k->start[i]);
}

/* At a marker, by the vCPU thread: its scratch buffer, allocated once. */
static void mark_counters(struct stats_vcpu *sv, long long *out)
{
	if (!sv->kvals && sv->kvm.nr > 0)
		sv->kvals = calloc((size_t)sv->kvm.nr, sizeof(*sv->kvals));
	counters_into(&sv->kvm, sv->kvals, out);
}

/* At a report, by another thread: a buffer of its own. */
static void report_counters_now(struct stats_vcpu *sv, long long *out)
{
	uint64_t *vals = calloc((size_t)sv->kvm.nr + 1, sizeof(*vals));

	counters_into(&sv->kvm, vals, out);
	free(vals);
}

void stats_mark_take(struct stats_vcpu *sv, const char *label, long long rss_kib)
{
	int n = atomic_load_explicit(&sv->nr_marks, RELAXED);
	struct stats_mark *m;

	if (!sv->mark && !(sv->mark = calloc(STATS_MAX_MARKS, sizeof(*sv->mark))))
		return;
	if (n == STATS_MAX_MARKS) {
		atomic_fetch_add_explicit(&sv->marks_lost, 1, RELAXED);
		return;
	}
	m = &sv->mark[n];
	snprintf(m->label, sizeof(m->label), "%s", label);
	m->t_ns = stats_now() - sv->start_ns;
	m->rss_kib = rss_kib;
	mark_counters(sv, m->kvm);
	atomic_store_explicit(&sv->nr_marks, n + 1, memory_order_release);
}

void stats_phase_begin(struct stats_vcpu *sv, const char *label, long long rss_kib)
{
	int n = atomic_load_explicit(&sv->nr_phases, RELAXED);

	stats_mark_take(sv, label, rss_kib);

	if (!sv->phase) {
		sv->phase = calloc(STATS_MAX_PHASES, sizeof(*sv->phase));
		if (!sv->phase)
			return; /* the run's table goes on; phases are a view of it */
		new_phase(sv, 0, "(before the first marker)", &sv->table);
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		if (!strncmp(sv->phase[i].label, label, STATS_LABEL_MAX - 1)) {
			sv->cur = &sv->phase[i];
			return;
		}
	}
	if (n == STATS_MAX_PHASES) { /* "(more phases)" is the last one */
		sv->cur = &sv->phase[n - 1];
		return;
	}
	sv->cur = new_phase(sv, n, n == STATS_MAX_PHASES - 1 ? "(more phases)" : label, NULL);
}

/* --- reports ---------------------------------------------------------------------- */

static bool read_entry(const struct stats_entry *e, struct stats_row *r)
{
	r->key = atomic_load_explicit(&e->key, memory_order_acquire);
	if (!r->key)
		return false;
	r->samples = atomic_load_explicit(&e->samples, RELAXED);
	r->total_ns = atomic_load_explicit(&e->total_ns, RELAXED);
	r->min_ns = atomic_load_explicit(&e->min_ns, RELAXED);
	r->max_ns = atomic_load_explicit(&e->max_ns, RELAXED);
	if (r->min_ns > r->max_ns) /* read between two stores of the first sample */
		r->min_ns = r->max_ns;
	return r->samples > 0;
}

int stats_snapshot(const struct stats_table *t, struct stats_row *rows)
{
	int n = 0;

	for (int i = 0; i < STATS_SLOTS; i++)
		if (read_entry(&t->slot[i], &rows[n]))
			n++;
	if (read_entry(&t->other, &rows[n]))
		n++;
	return n;
}

int stats_merge(struct stats_row *sum, int nsum, int max, const struct stats_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		int j = 0;

		while (j < nsum && sum[j].key != rows[i].key)
			j++;
		if (j == nsum) {
			if (nsum == max) {
				/* No room: count it as "other" rather than lose it. */
				struct stats_row o = rows[i];

				o.key = STATS_KEY_OTHER;
				for (j = 0; j < nsum && sum[j].key != STATS_KEY_OTHER; j++)
					;
				if (j == nsum)
					j = nsum - 1; /* max rows, none "other": fold into the last */
				sum[j].samples += o.samples;
				sum[j].total_ns += o.total_ns;
				if (o.min_ns < sum[j].min_ns)
					sum[j].min_ns = o.min_ns;
				if (o.max_ns > sum[j].max_ns)
					sum[j].max_ns = o.max_ns;
				continue;
			}
			sum[nsum++] = rows[i];
			continue;
		}
		sum[j].samples += rows[i].samples;
		sum[j].total_ns += rows[i].total_ns;
		if (rows[i].min_ns < sum[j].min_ns)
			sum[j].min_ns = rows[i].min_ns;
		if (rows[i].max_ns > sum[j].max_ns)
			sum[j].max_ns = rows[i].max_ns;
	}
	return nsum;
}

static int by_samples(const void *a, const void *b)
{
	const struct stats_row *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

void stats_sort(struct stats_row *rows, int n)
{
	qsort(rows, (size_t)n, sizeof(*rows), by_samples);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void stats_print_rows(FILE *f, const char *title, struct stats_row *rows, int n)
{
	uint64_t samples = 0, total = 0;
	char key[64];

	stats_sort(rows, n);
	for (int i = 0; i < n; i++) {
		samples += rows[i].samples;
		total += rows[i].total_ns;
	}
	fprintf(f, "%s\n", title);
	fprintf(f, "%28s %10s %9s %8s %12s %12s %12s\n", "VM-EXIT/key", "Samples", "Samples%",
		"Time%", "Min Time", "Max Time", "Avg time");
	for (int i = 0; i < n; i++) {
		const struct stats_row *r = &rows[i];

		stats_key_name(r->key, key, sizeof(key));
		fprintf(f, "%28s %10llu %8.2f%% %7.2f%% %10.2fus %10.2fus %10.2fus\n", key,
			(unsigned long long)r->samples, pct(r->samples, samples),
			pct(r->total_ns, total), r->min_ns / 1e3, r->max_ns / 1e3,
			r->samples ? (double)r->total_ns / (double)r->samples / 1e3 : 0.0);
	}
	fprintf(f, "Total samples: %llu, total time: %.2fus\n", (unsigned long long)samples,
		total / 1e3);
}

/* --- KVM's binary statistics ---------------------------------------------------------- */

#define KSTATS_MAX_DESC 4096
#define KSTATS_MAX_NAME 4096
#define KSTATS_MAX_DATA (1u << 20)

int kstats_open_fd(struct kstats *k, int fd, char *err, size_t errlen)
{
	struct kvm_stats_header h;
	size_t dsz, len;
	char *buf = NULL;

	memset(k, 0, sizeof(*k));
	k->fd = -1;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		snprintf(err, errlen, "cannot read the statistics header");
		return -1;
	}
	if (!h.num_desc || h.num_desc > KSTATS_MAX_DESC || !h.name_size ||
	    h.name_size > KSTATS_MAX_NAME) {
		snprintf(err, errlen, "a statistics header kvmlab does not understand");
		return -1;
	}
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	len = dsz * h.num_desc;
	buf = malloc(len);
	k->desc = calloc(h.num_desc, sizeof(*k->desc));
	k->start = calloc(h.num_desc, sizeof(*k->start));
	if (!buf || !k->desc || !k->start) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pread(fd, buf, len, h.desc_offset) != (ssize_t)len) {
		snprintf(err, errlen, "cannot read the statistics descriptors");
		goto fail;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)(buf + i * dsz);
		struct kstat_desc *o = &k->desc[i];
		uint64_t end = (uint64_t)d->offset + (uint64_t)d->size * 8;

		if (end > KSTATS_MAX_DATA) {
			snprintf(err, errlen, "statistic %u lies beyond what kvmlab reads", i);
			goto fail;
		}
		if (end > k->data_len)
			k->data_len = (uint32_t)end;
		o->flags = d->flags;
		o->exponent = d->exponent;
		o->size = d->size;
		o->offset = d->offset;
		len = strnlen(d->name, h.name_size);
		if (len >= sizeof(o->name))
			len = sizeof(o->name) - 1;
		memcpy(o->name, d->name, len);
		o->name[len] = '\0';
	}
	k->nr = (int)h.num_desc;
	k->data_offset = h.data_offset;
	k->fd = fd;
	free(buf);
	buf = NULL;
	if (kstats_read(k, k->start) < 0) {
		snprintf(err, errlen, "cannot read the statistics: %s", strerror(errno));
		k->fd = -1;
		goto fail;
	}
	return 0;
fail:
	free(buf);
	free(k->desc);
	free(k->start);
	k->desc = NULL;
	k->start = NULL;
	k->nr = 0;
	return -1;
}

int kstats_open(struct kstats *k, int owner_fd, char *err, size_t errlen)
{
	int fd = ioctl(owner_fd, KVM_GET_STATS_FD, NULL);

	if (fd < 0) {
		memset(k, 0, sizeof(*k));
		k->fd = -1;
		snprintf(err, errlen, "KVM_GET_STATS_FD failed: %s", strerror(errno));
		return -1;
	}
	if (kstats_open_fd(k, fd, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

int kstats_read(const struct kstats *k, uint64_t *vals)
{
	uint8_t *data;
	int r = 0;

	if (k->fd < 0 || !k->data_len)
		return -1;
	data = malloc(k->data_len);
	if (!data)
		return -1;
	/* One pread: all values of one moment (KVM copies them in one go). */
	if (pread(k->fd, data, k->data_len, k->data_offset) != (ssize_t)k->data_len)
		r = -1;
	for (int i = 0; !r && i < k->nr; i++)
		memcpy(&vals[i], data + k->desc[i].offset, sizeof(vals[i]));
	free(data);
	return r;
}

void kstats_close(struct kstats *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->desc);
	free(k->start);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

bool kstats_is_counter(const struct kstat_desc *d)
{
	return (d->flags & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_CUMULATIVE && d->size == 1;
}

/* In our words, from what KVM's x86 code does with each (Linux 6.1). */
static const struct {
	const char *name, *meaning;
} meanings[] = {
	{ "exits", "every VM exit, whoever handled it (KVM in the kernel or kvmlab)" },
	{ "io_exits", "port I/O exits, those KVM handled itself (PIC, PIT, ...) included" },
	{ "mmio_exits", "MMIO accesses KVM emulated and passed to user space" },
	{ "halt_exits", "HLT instructions (the in-kernel LAPIC sleeps the vCPU)" },
	{ "irq_exits", "exits because a host interrupt arrived while the guest ran" },
	{ "irq_window_exits", "exits to inject an interrupt as soon as the guest allows one" },
	{ "nmi_window_exits", "exits to inject an NMI as soon as the guest allows one" },
	{ "request_irq_exits", "returns to user space to inject an interrupt (no in-kernel irqchip)" },
	{ "signal_exits", "returns to user space with a signal pending (KVM_RUN gives EINTR)" },
	{ "notify_window_exits", "exits because the guest stayed too long in one instruction" },
	{ "host_state_reload", "reloads of the host's registers when the vCPU thread leaves "
			       "KVM: returns to user space and preemptions" },
	{ "fpu_reload", "returns from KVM_RUN (each puts the guest's FPU state away): the "
			"exits that came to user space, plus interrupted KVM_RUNs" },
	{ "insn_emulation", "instructions KVM's emulator executed (MMIO, string I/O, ...)" },
	{ "insn_emulation_fail", "instructions KVM's emulator could not execute" },
	{ "pf_taken", "page faults KVM's MMU took (EPT/NPT violations, shadow faults)" },
	{ "pf_fixed", "of those, fixed by mapping guest memory (demand paging)" },
	{ "pf_fast", "of those, fixed locklessly (access-tracking, write-protection)" },
	{ "pf_spurious", "faults that were already fixed when KVM looked" },
	{ "pf_emulate", "faults KVM had to emulate the instruction for (MMIO, write-protected)" },
	{ "pf_mmio_spte_created", "MMIO entries KVM placed, so later accesses go to MMIO at once" },
	{ "pf_guest", "page faults handed back to the guest (shadow paging)" },
	{ "tlb_flush", "TLB flushes KVM performed for this vCPU" },
	{ "invlpg", "INVLPG instructions KVM intercepted (shadow paging)" },
	{ "hypercalls", "hypercalls (VMCALL/VMMCALL)" },
	{ "irq_injections", "interrupts KVM injected into the guest" },
	{ "nmi_injections", "NMIs KVM injected into the guest" },
	{ "req_event", "times KVM re-examined pending events before entering the guest" },
	{ "l1d_flush", "L1 data cache flushes before entry (L1TF mitigation)" },
	{ "nested_run", "guest VMRUN/VMLAUNCH (the guest running its own guests)" },
	{ "directed_yield_attempted", "paravirtual yields to another vCPU tried" },
	{ "directed_yield_successful", "paravirtual yields to another vCPU done" },
	{ "preemption_reported", "preemptions the guest was told of (steal time)" },
	{ "preemption_other", "preemptions the guest was not told of" },
	{ "halt_successful_poll", "halts ended by polling, without sleeping" },
	{ "halt_attempted_poll", "halts that polled before sleeping" },
	{ "halt_poll_invalid", "halt polls cut short (a signal, the poll disabled)" },
	{ "halt_wakeup", "wake-ups of a halted (sleeping) vCPU" },
	{ "halt_poll_success_ns", "time spent in polls that ended a halt" },
	{ "halt_poll_fail_ns", "time spent in polls that did not" },
	{ "halt_wait_ns", "time halted vCPUs slept" },
	{ "remote_tlb_flush", "TLB flushes of all vCPUs (after the memory map changed)" },
	{ "remote_tlb_flush_requests", "requests to flush every vCPU's TLB" },
	{ "mmu_shadow_zapped", "shadow/TDP page-table pages KVM freed" },
	{ "mmu_pte_write", "guest writes to page tables KVM shadows" },
	{ "mmu_pde_zapped", "shadowed page-directory entries dropped" },
	{ "mmu_flooded", "shadow pages dropped for being written too often" },
	{ "mmu_recycled", "shadow pages reclaimed to stay under the limit" },
	{ "mmu_cache_miss", "shadow/TDP page-table pages KVM allocated" },
	{ "mmu_unsync", "shadow pages left unsynchronised" },
};

const char *kstats_meaning(const char *name)
{
	for (size_t i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++)
		if (!strcmp(meanings[i].name, name))
			return meanings[i].meaning;
	return NULL;
}

/* " ns", " cycles", ...: the unit of a counter's value as printed. */
static void unit_of(const struct kstat_desc *d, char *buf, size_t len)
{
	uint32_t unit = d->flags & KVM_STATS_UNIT_MASK;
	bool pow2 = (d->flags & KVM_STATS_BASE_MASK) == KVM_STATS_BASE_POW2;

	buf[0] = '\0';
	if (unit == KVM_STATS_UNIT_SECONDS && !pow2 && d->exponent == -9)
		snprintf(buf, len, " ns");
	else if (unit == KVM_STATS_UNIT_SECONDS && !pow2 && d->exponent == -6)
		snprintf(buf, len, " us");
	else if (unit == KVM_STATS_UNIT_SECONDS)
		snprintf(buf, len, " s x%s^%d", pow2 ? "2" : "10", d->exponent);
	else if (unit == KVM_STATS_UNIT_BYTES)
		snprintf(buf, len, " B%s", d->exponent ? " (scaled)" : "");
	else if (unit == KVM_STATS_UNIT_CYCLES)
		snprintf(buf, len, " cycles");
}

/* One line per counter that moved; vals_now and the start summed by the caller. */
static void print_counters(FILE *f, const char *who, const struct kstats *k, const uint64_t *delta)
{
	for (int i = 0; i < k->nr; i++) {
		const struct kstat_desc *d = &k->desc[i];
		const char *m;
		char unit[32];

		if (!kstats_is_counter(d) || !delta[i])
			continue;
		m = kstats_meaning(d->name);
		unit_of(d, unit, sizeof(unit));
		fprintf(f, "  %-5s %-26s %12llu%-7s %s\n", who, d->name,
			(unsigned long long)delta[i], unit, m ? m : "");
	}
}

/* --- everything --stats keeps for one VM ---------------------------------------------- */

struct stats *stats_create(int nr_vcpus)
{
	struct stats *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vcpu = calloc((size_t)nr_vcpus, sizeof(*s->vcpu));
	if (!s->vcpu) {
		free(s);
		return NULL;
	}
	s->nr_vcpus = nr_vcpus;
	s->kvm_vm.fd = -1;
	for (int i = 0; i < nr_vcpus; i++) {
		stats_table_init(&s->vcpu[i].table);
		s->vcpu[i].kvm.fd = -1;
	}
	snprintf(s->kvm_why, sizeof(s->kvm_why), "not read yet");
	return s;
}

void stats_start(struct stats *s, int kvm_fd, int vm_fd, const int *vcpu_fds)
{
	char err[160];
	int i;

	s->start_ns = stats_now();
	for (i = 0; i < s->nr_vcpus; i++)
		s->vcpu[i].start_ns = s->start_ns;
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) <= 0) {
		snprintf(s->kvm_why, sizeof(s->kvm_why),
			 "this host's KVM has no binary statistics (KVM_CAP_BINARY_STATS_FD, "
			 "Linux 5.14 and later)");
		return;
	}
	if (kstats_open(&s->kvm_vm, vm_fd, err, sizeof(err)) < 0)
		goto fail;
	for (i = 0; i < s->nr_vcpus; i++) {
		if (kstats_open(&s->vcpu[i].kvm, vcpu_fds[i], err, sizeof(err)) < 0)
			goto fail;
		/* Every vCPU has the same descriptors: their values are summed by index. */
		if (s->vcpu[i].kvm.nr != s->vcpu[0].kvm.nr) {
			snprintf(err, sizeof(err), "vCPUs with different statistics");
			goto fail;
		}
	}
	s->kvm_ok = true;
	return;
fail:
	snprintf(s->kvm_why, sizeof(s->kvm_why), "KVM's statistics unavailable: %s", err);
	kstats_close(&s->kvm_vm);
	for (i = 0; i < s->nr_vcpus; i++)
		kstats_close(&s->vcpu[i].kvm);
}

/* The delta of the counter called name, or -1 if this KVM has none. */
static long long delta_of(const struct kstats *k, const uint64_t *delta, const char *name)
{
	for (int i = 0; i < k->nr; i++)
		if (kstats_is_counter(&k->desc[i]) && !strcmp(k->desc[i].name, name))
			return (long long)delta[i];
	return -1;
}

/* "KVM counted N (name); M came to kvmlab, N - M stayed in the kernel." */
static void side_by_side(FILE *f, const char *what, long long kvm, uint64_t ours,
			 const char *name)
{
	if (kvm < 0)
		return;
	fprintf(f, "  %-10s KVM counted %lld (%s), kvmlab handled %llu", what, kvm, name,
		(unsigned long long)ours);
	if ((uint64_t)kvm >= ours)
		fprintf(f, ", %llu stayed in the kernel\n", (unsigned long long)kvm - ours);
	else
		fprintf(f, "\n");
}

static void report_kvm(FILE *f, struct stats *s, const struct stats_row *all, int nall)
{
	uint64_t ours = 0, ours_pio = 0, ours_mmio = 0;
	int n_vm = s->kvm_vm.nr, n_vcpu = s->nr_vcpus ? s->vcpu[0].kvm.nr : 0;
	uint64_t *vm = calloc((size_t)n_vm + 1, sizeof(*vm));
	uint64_t *now = calloc((size_t)n_vcpu + 1, sizeof(*now));
	uint64_t *sum = calloc((size_t)n_vcpu + 1, sizeof(*sum));

	if (!vm || !now || !sum) {
		fprintf(f, "KVM's counters: out of memory\n");
		goto out;
	}
	if (kstats_read(&s->kvm_vm, vm) < 0) {
		fprintf(f, "KVM's counters: cannot read them: %s\n", strerror(errno));
		goto out;
	}
	for (int i = 0; i < n_vm; i++)
		vm[i] -= s->kvm_vm.start[i];
	for (int c = 0; c < s->nr_vcpus; c++) {
		if (kstats_read(&s->vcpu[c].kvm, now) < 0) {
			fprintf(f, "KVM's counters: cannot read vCPU %d's: %s\n", c,
				strerror(errno));
			goto out;
		}
		for (int i = 0; i < n_vcpu; i++)
			sum[i] += now[i] - s->vcpu[c].kvm.start[i];
	}
	fprintf(f, "KVM's counters (KVM_GET_STATS_FD): change since the VM started, the "
		   "nonzero cumulative ones, vCPUs summed\n");
	print_counters(f, "vCPU", &s->vcpu[0].kvm, sum);
	print_counters(f, "VM", &s->kvm_vm, vm);
	/* Exits are exits, whoever handles them: one KVM_EXIT_IO is one I/O exit to KVM. */
	for (int i = 0; i < nall; i++) {
		ours += all[i].samples;
		if (all[i].key != STATS_KEY_OTHER && (all[i].key & 3) == STATS_K_PIO)
			ours_pio += all[i].samples;
		if (all[i].key != STATS_KEY_OTHER && (all[i].key & 3) == STATS_K_MMIO)
			ours_mmio += all[i].samples;
	}
	fprintf(f, "Side by side:\n");
	side_by_side(f, "all exits", delta_of(&s->vcpu[0].kvm, sum, "exits"), ours, "exits");
	side_by_side(f, "port I/O", delta_of(&s->vcpu[0].kvm, sum, "io_exits"), ours_pio,
		     "io_exits");
	side_by_side(f, "MMIO", delta_of(&s->vcpu[0].kvm, sum, "mmio_exits"), ours_mmio,
		     "mmio_exits");
out:
	free(vm);
	free(now);
	free(sum);
}

/* All vCPUs' exits per phase, phases in the order vCPU 0 (then 1, ...) first marked them. */
static void report_phases(FILE *f, struct stats *s)
{
	struct stats_row *sum = calloc(STATS_MAX_ROWS, sizeof(*sum));
	struct stats_row *rows = calloc(STATS_MAX_ROWS, sizeof(*rows));
	bool any = false;
	char title[STATS_LABEL_MAX + 32];

	if (!sum || !rows)
		goto out;
	for (int c = 0; c < s->nr_vcpus; c++) {
		int n = atomic_load_explicit(&s->vcpu[c].nr_phases, memory_order_acquire);

		for (int p = 0; p < n; p++) {
			const char *label = s->vcpu[c].phase[p].label;
			int nsum = 0;
			bool seen = false;

			/* Merged at its first appearance; skipped where it appears again. */
			for (int c2 = 0; c2 <= c && !seen; c2++) {
				int n2 = atomic_load_explicit(&s->vcpu[c2].nr_phases,
							      memory_order_acquire);

				for (int p2 = 0; p2 < (c2 == c ? p : n2); p2++)
					if (!strcmp(s->vcpu[c2].phase[p2].label, label))
						seen = true;
			}
			if (seen)
				continue;
			for (int c2 = c; c2 < s->nr_vcpus; c2++) {
				int n2 = atomic_load_explicit(&s->vcpu[c2].nr_phases,
							      memory_order_acquire);

				for (int p2 = 0; p2 < n2; p2++) {
					if (strcmp(s->vcpu[c2].phase[p2].label, label))
						continue;
					nsum = stats_merge(sum, nsum, STATS_MAX_ROWS, rows,
							   stats_snapshot(&s->vcpu[c2].phase[p2].table,
									  rows));
				}
			}
			if (!any)
				fprintf(f, "By phase (the guest's markers on port 0x510), all vCPUs:\n");
			any = true;
			snprintf(title, sizeof(title), "Phase \"%s\":", label);
			if (nsum)
				stats_print_rows(f, title, sum, nsum);
			else
				fprintf(f, "%s no exits\n", title);
		}
	}
out:
	free(sum);
	free(rows);
}

/* One line of the moments' table: a marker's, or "now" (mark NULL) for the report's own. */
static void print_mark(FILE *f, int c, const struct stats_mark *m)
{
	fprintf(f, "  %4d %9.3f  %-31s %14lld", c, (double)m->t_ns / 1e9, m->label, m->rss_kib);
	for (int j = 0; j < STATS_MARK_COUNTERS; j++)
		fprintf(f, " %10lld", m->kvm[j]);
	fprintf(f, "\n");
}

/* Each vCPU's markers as moments, then the same numbers now. */
static void report_marks(FILE *f, struct stats *s, bool final)
{
	bool any = false;

	for (int c = 0; c < s->nr_vcpus; c++) {
		struct stats_vcpu *sv = &s->vcpu[c];
		int n = atomic_load_explicit(&sv->nr_marks, memory_order_acquire);
		uint64_t lost = atomic_load_explicit(&sv->marks_lost, RELAXED);
		struct stats_mark now = { .rss_kib = stats_rss_kib() };

		if (!n)
			continue;
		if (!any) {
			fprintf(f, "At the guest's markers: kvmlab's resident memory and the vCPU's KVM "
				   "counters (since the VM started)\n");
			fprintf(f, "  vCPU    time_s  %-31s %14s", "marker", "kvmlab_rss_kib");
			for (int j = 0; j < STATS_MARK_COUNTERS; j++)
				fprintf(f, " %10s", stats_mark_counters[j]);
			fprintf(f, "\n");
		}
		any = true;
		for (int i = 0; i < n; i++)
			print_mark(f, c, &sv->mark[i]);
		if (lost)
			fprintf(f, "  %4d  ... %llu more markers not kept (at most %d)\n", c,
				(unsigned long long)lost, STATS_MAX_MARKS);
		/* The vCPU's thread is gone (or busy): read its counters from here, read-only. */
		snprintf(now.label, sizeof(now.label), "%s", final ? "(the VM has ended)" : "(now)");
		now.t_ns = stats_now() - sv->start_ns;
		report_counters_now(sv, now.kvm);
		print_mark(f, c, &now);
	}
}

void stats_report(FILE *f, struct stats *s, bool final)
{
	struct stats_row *all = calloc(STATS_MAX_ROWS, sizeof(*all));
	struct stats_row *rows = calloc(STATS_MAX_ROWS, sizeof(*rows));
	int nall = 0;
	char title[128];

	if (!all || !rows) {
		fprintf(f, "kvmlab: --stats: out of memory\n");
		goto out;
	}
	fprintf(f, "\n=== kvmlab --stats: %s, %.3f s after the VM started ===\n",
		final ? "the VM has ended" : "snapshot of the running VM",
		(double)(stats_now() - s->start_ns) / 1e9);
	fprintf(f, "Exits handled by kvmlab in user space (time: dispatch to the device and "
		   "back, per exit)\n");
	for (int c = 0; c < s->nr_vcpus; c++) {
		int n = stats_snapshot(&s->vcpu[c].table, rows);

		if (!n) {
			fprintf(f, "vCPU %d: no exits\n", c);
			continue;
		}
		nall = stats_merge(all, nall, STATS_MAX_ROWS, rows, n);
		snprintf(title, sizeof(title), "vCPU %d:", c);
		stats_print_rows(f, title, rows, n);
	}
	stats_print_rows(f, "All vCPUs:", all, nall);
	report_phases(f, s);
	report_marks(f, s, final);
	fprintf(f, "\n");
	if (s->kvm_ok)
		report_kvm(f, s, all, nall);
	else
		fprintf(f, "KVM's counters: %s\n", s->kvm_why);
	fprintf(f, "=== end of kvmlab --stats ===\n");
	fflush(f);
out:
	free(all);
	free(rows);
}

void stats_destroy(struct stats *s)
{
	if (!s)
		return;
	kstats_close(&s->kvm_vm);
	for (int i = 0; i < s->nr_vcpus; i++) {
		kstats_close(&s->vcpu[i].kvm);
		free(s->vcpu[i].phase);
		free(s->vcpu[i].mark);
		free(s->vcpu[i].kvals);
	}
	free(s->vcpu);
	free(s);
}
