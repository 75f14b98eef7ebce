// SPDX-License-Identifier: MIT
/* --trace: per-vCPU rings of exits, one writer thread, Chrome Trace Event JSON (see trace.h). */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/stats.h"
#include "vmm/trace.h"

#define WRITER_PERIOD_NS 5000000 /* the writer drains the rings every 5 ms */
#define POP_BATCH	 1024

/* --- the ring ------------------------------------------------------------------ */

int trace_ring_init(struct trace_ring *r, unsigned capacity)
{
	memset(r, 0, sizeof(*r));
	if (capacity < 2 || (capacity & (capacity - 1)))
		return -1;
	/* calloc: pages the guest never fills are never touched. */
	r->ev = calloc(capacity, sizeof(*r->ev));
	if (!r->ev)
		return -1;
	r->mask = capacity - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->dropped, 0);
	return 0;
}

void trace_ring_free(struct trace_ring *r)
{
	free(r->ev);
	r->ev = NULL;
}

bool trace_ring_push(struct trace_ring *r, const struct trace_event *e)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail > r->mask) {
		/* The producer is the counter's only writer: no read-modify-write needed. */
		atomic_store_explicit(&r->dropped,
				      atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		return false;
	}
	r->ev[head & r->mask] = *e;
	/* The slot first, then the index: a consumer that sees the index sees the slot. */
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

unsigned trace_ring_pop(struct trace_ring *r, struct trace_event *out, unsigned max)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	unsigned n = 0;

	while (tail + n != head && n < max) {
		out[n] = r->ev[(tail + n) & r->mask];
		n++;
	}
	/* Done reading the slots: only now may the producer reuse them. */
	atomic_store_explicit(&r->tail, tail + n, memory_order_release);
	return n;
}

/* --- JSON -------------------------------------------------------------------------- */

size_t trace_json_escape(char *out, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (!len)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[7];
		size_t el;

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			el = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		} else {
			e[0] = (char)c;
			el = 1;
		}
		if (n + el >= len)
			break;
		memcpy(out + n, e, el);
		n += el;
	}
	out[n] = '\0';
	return n;
}

/* --- the trace and its writer --------------------------------------------------------- */

struct trace {
	FILE *f;
	int nr_vcpus;
	struct trace_ring *ring;
	uint64_t start_ns;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	/* The writer's alone (the thread, then trace_close() after joining it): */
	bool first;
	uint64_t written;
	struct trace_event batch[POP_BATCH];
};

/* "123.456": microseconds since the trace began, to the nanosecond. */
static void fmt_us(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, "%llu.%03u", (unsigned long long)(ns / 1000), (unsigned)(ns % 1000));
}

static void begin_event(struct trace *t)
{
	fputs(t->first ? "\n" : ",\n", t->f);
	t->first = false;
}

static void write_exit(struct trace *t, int vcpu, const struct trace_event *e)
{
	uint64_t what = e->key >> 4, rel = e->t_ns > t->start_ns ? e->t_ns - t->start_ns : 0;
	bool write = e->key >> 2 & 1;
	char name[64], esc[64 * 6], ts[32], dur[32];

	stats_key_name(e->key, name, sizeof(name));
	trace_json_escape(esc, sizeof(esc), name);
	fmt_us(ts, sizeof(ts), rel);
	fmt_us(dur, sizeof(dur), e->dur_ns);
	begin_event(t);
	fprintf(t->f,
		"{\"name\":\"%s\",\"cat\":\"exit\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,"
		"\"ts\":%s,\"dur\":%s,\"args\":{",
		esc, vcpu, ts, dur);
	switch (e->key & 3) {
	case STATS_K_PIO:
		fprintf(t->f,
			"\"reason\":\"IO\",\"port\":\"0x%llx\",\"dir\":\"%s\",\"size\":%u,"
			"\"count\":%u,\"value\":\"0x%llx\"}}",
			(unsigned long long)what, write ? "out" : "in", e->size, e->count,
			(unsigned long long)e->value);
		break;
	case STATS_K_MMIO:
		fprintf(t->f,
			"\"reason\":\"MMIO\",\"gpa\":\"0x%llx\",\"dir\":\"%s\",\"size\":%u,"
			"\"value\":\"0x%llx\"}}",
			(unsigned long long)what, write ? "write" : "read", e->size,
			(unsigned long long)e->value);
		break;
	default: fprintf(t->f, "\"reason\":\"%s\"}}", esc);
	}
}

static void write_marker(struct trace *t, int vcpu, const struct trace_event *e)
{
	uint64_t rel = e->t_ns > t->start_ns ? e->t_ns - t->start_ns : 0;
	char esc[TRACE_LABEL_MAX * 6], ts[32];

	trace_json_escape(esc, sizeof(esc), e->label);
	fmt_us(ts, sizeof(ts), rel);
	begin_event(t);
	fprintf(t->f,
		"{\"name\":\"%s\",\"cat\":\"marker\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,"
		"\"tid\":%d,\"ts\":%s,\"args\":{\"label\":\"%s\",\"kvmlab_rss_kib\":%lld}}",
		esc, vcpu, ts, esc, (long long)e->rss_kib);
}

/* Everything the rings hold now. The writer thread's, or trace_close()'s after the join. */
static void drain(struct trace *t)
{
	for (int c = 0; c < t->nr_vcpus; c++) {
		unsigned n;

		while ((n = trace_ring_pop(&t->ring[c], t->batch, POP_BATCH))) {
			for (unsigned i = 0; i < n; i++) {
				if (t->batch[i].key == TRACE_KEY_MARKER)
					write_marker(t, c, &t->batch[i]);
				else
					write_exit(t, c, &t->batch[i]);
			}
			t->written += n;
		}
	}
}

static void *writer_thread(void *arg)
{
	struct trace *t = arg;
	const struct timespec period = {0, WRITER_PERIOD_NS};

	while (!atomic_load_explicit(&t->stop, memory_order_acquire)) {
		drain(t);
		nanosleep(&period, NULL);
	}
	return NULL;
}

static void free_trace(struct trace *t)
{
	for (int i = 0; t->ring && i < t->nr_vcpus; i++)
		trace_ring_free(&t->ring[i]);
	free(t->ring);
	free(t);
}

struct trace *trace_open(const char *path, int nr_vcpus, unsigned ring_events, const char *vm_name,
			 char *err, size_t errlen)
{
	struct trace *t = calloc(1, sizeof(*t));
	char esc[256];
	int r;

	if (!t || !(t->ring = calloc((size_t)nr_vcpus, sizeof(*t->ring)))) {
		snprintf(err, errlen, "--trace: out of memory");
		free(t);
		return NULL;
	}
	t->nr_vcpus = nr_vcpus;
	for (int i = 0; i < nr_vcpus; i++) {
		if (trace_ring_init(&t->ring[i], ring_events ? ring_events : TRACE_RING_EVENTS) <
		    0) {
			snprintf(err, errlen, "--trace: out of memory");
			free_trace(t);
			return NULL;
		}
	}
	t->f = fopen(path, "we");
	if (!t->f) {
		snprintf(err, errlen, "--trace: cannot write '%s': %s", path, strerror(errno));
		free_trace(t);
		return NULL;
	}
	setvbuf(t->f, NULL, _IOFBF, 1 << 16);
	t->first = true;
	t->start_ns = stats_now();
	atomic_init(&t->stop, false);
	/* The names of the tracks first: a VM and a thread per vCPU. */
	trace_json_escape(esc, sizeof(esc), vm_name ? vm_name : "kvmlab");
	fputs("{\"traceEvents\":[", t->f);
	begin_event(t);
	fprintf(t->f,
		"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,"
		"\"args\":{\"name\":\"VM %s (kvmlab)\"}}",
		esc);
	for (int i = 0; i < nr_vcpus; i++) {
		begin_event(t);
		fprintf(t->f,
			"{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
			"\"args\":{\"name\":\"vCPU %d\"}}",
			i, i);
		begin_event(t);
		fprintf(t->f,
			"{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
			"\"args\":{\"sort_index\":%d}}",
			i, i);
	}
	r = pthread_create(&t->thread, NULL, writer_thread, t);
	if (r) {
		snprintf(err, errlen, "--trace: cannot start the writer thread: %s", strerror(r));
		fclose(t->f);
		free_trace(t);
		return NULL;
	}
	t->started = true;
	return t;
}

struct trace_ring *trace_ring_of(struct trace *t, int vcpu)
{
	return t && vcpu >= 0 && vcpu < t->nr_vcpus ? &t->ring[vcpu] : NULL;
}

void trace_record(struct trace_ring *r, const struct kvm_run *run, uint64_t key, uint64_t t0,
		  uint64_t t1)
{
	struct trace_event e = {.t_ns = t0, .dur_ns = t1 - t0, .key = key, .count = 1};

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e.size = run->io.size;
		e.count = run->io.count;
		memcpy(&e.value, (const uint8_t *)run + run->io.data_offset,
		       e.size < 8 ? e.size : 8);
		break;
	case KVM_EXIT_MMIO:
		e.size = run->mmio.len;
		memcpy(&e.value, run->mmio.data, e.size < 8 ? e.size : 8);
		break;
	}
	trace_ring_push(r, &e);
}

long long trace_close(struct trace *t)
{
	uint64_t dropped = 0;
	char ts[32];
	int bad;

	if (!t)
		return 0;
	if (t->started) {
		atomic_store_explicit(&t->stop, true, memory_order_release);
		pthread_join(t->thread, NULL);
	}
	drain(t);
	/* Never silently: each vCPU's lost events, as an instant on its track and in the metadata.
	 */
	fmt_us(ts, sizeof(ts), stats_now() - t->start_ns);
	for (int c = 0; c < t->nr_vcpus; c++) {
		uint64_t d = atomic_load_explicit(&t->ring[c].dropped, memory_order_relaxed);

		dropped += d;
		if (!d)
			continue;
		begin_event(t);
		fprintf(t->f,
			"{\"name\":\"kvmlab: %llu events dropped (ring full)\",\"cat\":\"kvmlab\","
			"\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,\"ts\":%s}",
			(unsigned long long)d, c, ts);
	}
	fprintf(t->f,
		"\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"kvmlab %s\","
		"\"events\":%llu,\"dropped_events\":%llu,\"dropped_per_vcpu\":[",
		KVMLAB_VERSION, (unsigned long long)t->written, (unsigned long long)dropped);
	for (int c = 0; c < t->nr_vcpus; c++)
		fprintf(t->f, "%s%llu", c ? "," : "",
			(unsigned long long)atomic_load_explicit(&t->ring[c].dropped,
								 memory_order_relaxed));
	fputs("]}}\n", t->f);
	bad = ferror(t->f);
	bad |= fclose(t->f);
	if (bad)
		fprintf(stderr, "kvmlab: --trace: writing the trace failed: %s\n", strerror(errno));
	free_trace(t);
	return bad ? -1 : (long long)dropped;
}

/* --- guest markers ------------------------------------------------------------------- */

_Thread_local struct trace_ring *trace_self;
static _Thread_local char label[TRACE_LABEL_MAX];
static _Thread_local unsigned label_len;

static void marker_byte(uint8_t c)
{
	struct trace_event e = {.key = TRACE_KEY_MARKER};

	if (c == '\r')
		return;
	if (c && c != '\n') {
		if (label_len < TRACE_LABEL_MAX - 1)
			label[label_len++] = (char)c;
		return;
	}
	if (!label_len) /* an empty label ("\r\n"'s second end, a stray 0): nothing */
		return;
	memcpy(e.label, label, label_len);
	e.label[label_len] = '\0';
	label_len = 0;
	if (!stats_self && !trace_self)
		return;
	e.rss_kib = stats_rss_kib(); /* one read for both (a marker is rare: /proc is cheap enough) */
	if (stats_self)
		stats_phase_begin(stats_self, e.label, e.rss_kib);
	if (!trace_self)
		return;
	e.t_ns = stats_now();
	trace_ring_push(trace_self, &e);
}

void trace_marker_io(void *unused, struct bus_access *a)
{
	(void)unused;
	if (!a->is_write) {
		bus_put(a, 0);
		return;
	}
	for (unsigned i = 0; i < a->size; i++)
		marker_byte(a->data[i]);
}
