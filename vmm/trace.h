/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_TRACE_H
#define KVMLAB_TRACE_H

/*
 * --trace FILE: every exit that came to kvmlab, as Chrome Trace Event JSON
 * (opens in ui.perfetto.dev and chrome://tracing), and the guest's markers.
 *
 * The hot path: the vCPU thread fills one struct trace_event per exit into
 * its own ring (single producer, single consumer: a slot write and a
 * release store, no lock, no syscall). One writer thread drains every ring
 * every few milliseconds and writes the JSON through stdio. A full ring
 * drops the event and counts it (the producer's counter, read by the
 * writer): the file says how many were dropped, per vCPU, in its metadata.
 *
 * Guest markers: bytes written to TRACE_MARKER_PORT form a label, ended by
 * a 0 or '\n' ('\r' is ignored); the label becomes an instant event on that vCPU's track.
 * The bytes are collected per vCPU thread (thread-local), so vCPUs may mark
 * at the same time. With --stats a marker also starts a phase of the
 * vCPU's table (stats_phase_begin()).
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

struct kvm_run;

#define TRACE_MARKER_PORT 0x510
#define TRACE_LABEL_MAX	  32	     /* bytes of a label with its NUL: longer labels are cut */
#define TRACE_RING_EVENTS (1u << 16) /* default events per vCPU ring (a power of two) */

#define TRACE_KEY_MARKER 0 /* the key of a marker event (no exit key is 0) */

struct trace_event {
	uint64_t t_ns;	 /* CLOCK_MONOTONIC: the dispatch began (a marker: its last byte) */
	union {
		uint64_t dur_ns; /* handling time */
		int64_t rss_kib; /* a marker: kvmlab's RSS then, in KiB (-1: unknown) */
	};
	uint64_t key;	 /* stats_exit_key(), or TRACE_KEY_MARKER */
	union {
		uint64_t value;		     /* the first access's data (up to 8 bytes) */
		char label[TRACE_LABEL_MAX]; /* a marker's label, NUL-terminated */
	};
	uint32_t size;	/* bytes of one access */
	uint32_t count; /* accesses in the exit (string I/O: more than 1) */
};

/* One vCPU's ring: written by the vCPU thread, read by the writer thread. */
struct trace_ring {
	struct trace_event *ev;
	unsigned mask;		  /* capacity - 1 */
	_Atomic uint64_t head;	  /* next slot to write: the producer's */
	_Atomic uint64_t tail;	  /* next slot to read: the consumer's */
	_Atomic uint64_t dropped; /* events that found the ring full: the producer's */
};

int trace_ring_init(struct trace_ring *r, unsigned capacity);
void trace_ring_free(struct trace_ring *r);
/* Producer: false (and the drop counted) if the ring is full. */
bool trace_ring_push(struct trace_ring *r, const struct trace_event *e);
/* Consumer: up to max events into out, oldest first; returns how many. */
unsigned trace_ring_pop(struct trace_ring *r, struct trace_event *out, unsigned max);

/*
 * s as the inside of a JSON string into out (always NUL-terminated, cut at a
 * whole escape if out is too small): '"' and '\\' escaped, control bytes and
 * bytes >= 0x80 as \u00XX (a guest's bytes need not be UTF-8; the file is
 * valid JSON whatever they are). Returns the length written.
 */
size_t trace_json_escape(char *out, size_t len, const char *s);

struct trace;

/*
 * Create FILE (truncated) and start the writer thread; ring_events per vCPU
 * (0: TRACE_RING_EVENTS). Call with the signals main reads already blocked:
 * the writer thread inherits the mask. NULL with one line in err.
 */
struct trace *trace_open(const char *path, int nr_vcpus, unsigned ring_events, const char *vm_name,
			 char *err, size_t errlen);
struct trace_ring *trace_ring_of(struct trace *t, int vcpu);
/*
 * Record the exit in run (as the dispatch left it: reads filled in), keyed
 * key, dispatched from t0 to t1 (ns). Only the ring's vCPU thread calls it.
 */
void trace_record(struct trace_ring *r, const struct kvm_run *run, uint64_t key, uint64_t t0,
		  uint64_t t1);
/*
 * Stop the writer, drain every ring, end the JSON (metadata: track names,
 * dropped events) and close the file. Returns the events dropped in all,
 * or -1 if writing the file failed (a message on stderr). Call after the
 * vCPU threads have been joined. NULL is fine.
 */
long long trace_close(struct trace *t);

/* --- guest markers ---------------------------------------------------------------- */

/* The calling vCPU thread's ring (NULL: not tracing): set by the vCPU thread. */
extern _Thread_local struct trace_ring *trace_self;
/* The marker port's bus handler: one byte (or more) of a label per write; reads give 0. */
void trace_marker_io(void *unused, struct bus_access *a);

#endif
