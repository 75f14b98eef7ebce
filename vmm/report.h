/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_REPORT_H
#define KVMLAB_REPORT_H

/*
 * `kvmlab report TRACE.json -o report.html`: a --trace file (docs/tracing.md)
 * turned into one self-contained HTML page: the exit table per vCPU and in all,
 * a timeline per vCPU and the exits per phase between the guest's markers,
 * drawn as inline SVG by this file. No script, no network.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_MAX_VCPUS 64

struct report_exit {
	double ts, dur; /* microseconds, as in the file */
	int tid;	/* vCPU */
	int key;	/* index in report.keys */
};

struct report_marker {
	double ts;
	int tid;
	int label;	/* index in report.labels */
	double rss_kib; /* args.kvmlab_rss_kib: kvmlab's RSS then; -1: unknown or not in the trace */
};

/* Everything the page is drawn from, read from one trace file. */
struct report {
	struct report_exit *exits;
	int nr_exits, cap_exits;
	struct report_marker *markers;
	int nr_markers, cap_markers;
	char **keys; /* exit names: "port:0x80/POUT", ... */
	int nr_keys, cap_keys;
	int *key_hash; /* open addressing over keys: index + 1, 0 empty */
	int hash_size;
	char **labels; /* marker labels, in order of first appearance in the file */
	int nr_labels, cap_labels;
	char *vcpu_name[REPORT_MAX_VCPUS]; /* thread_name metadata, or NULL */
	int nr_vcpus;			   /* highest tid seen + 1 */
	char *producer;			   /* otherData.producer, or NULL */
	long long dropped;		   /* otherData.dropped_events (0 if absent) */
};

/*
 * Parse a whole trace (text of len bytes). Returns 0, or -1 with one line in
 * err saying where and what is wrong (a cut or corrupt file, a field of the
 * wrong type, counts that do not add up). report_free() r either way.
 */
int report_parse(struct report *r, const char *text, size_t len, char *err, size_t errlen);
void report_free(struct report *r);

/* The page, from a parsed trace; title names the source. Returns 0, or -1 on a write error. */
int report_write_html(FILE *f, const struct report *r, const char *title);

/* The command: read in, write out. Returns kvmlab's exit status (0, 1 bad input, ...). */
int report_main(const char *in, const char *out);

#endif
