// SPDX-License-Identifier: MIT
/*
 * `kvmlab report`: the page. From the exits and markers report_parse() read:
 * the table of perf kvm stat's columns per vCPU and in all with a bar chart, a
 * timeline per vCPU (time in kvmlab against the rest, exits per pixel, the
 * markers), and the exits per phase between the markers as stacked bars and
 * tables. Inline SVG and CSS only: the page opens offline, anywhere.
 *
 * Phases follow --stats (docs/tracing.md): a vCPU's exits before its first
 * marker are "(before the first marker)", then each exit counts in the phase of
 * the vCPU's latest marker; the exit that carries a marker (whose slice holds the
 * marker's time) already counts in the new phase. vCPUs that never mark are in
 * no phase.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/report.h"

struct agg {
	long long n;
	double sum, min, max;
};

struct row {
	int key;
	struct agg a;
};

static const char *const palette[] = { "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
				       "#edc948", "#b07aa1", "#ff9da7", "#9c755f" };
#define NR_COLORS  (int)(sizeof(palette) / sizeof(palette[0]))
#define OTHER_GREY "#bab0ac"

#define TL_WIDTH 900 /* the timeline's plot, pixels */
#define TL_TRACK 46  /* one vCPU's track height */

static void agg_add(struct agg *a, double dur)
{
	if (!a->n || dur < a->min)
		a->min = dur;
	if (!a->n || dur > a->max)
		a->max = dur;
	a->n++;
	a->sum += dur;
}

/* Text for HTML (element content and quoted attributes alike). */
static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if (c < 0x20 || c == 0x7F)
				fprintf(f, "&#x%x;", c == 0 ? 0xFFFD : c);
			else
				fputc(c, f);
		}
	}
}

/* Rows of aggs[0..nr_keys) that have samples, most first (then by name). */
static const struct report *sort_r;

static int by_samples(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->a.n != y->a.n)
		return x->a.n > y->a.n ? -1 : 1;
	return strcmp(sort_r->keys[x->key], sort_r->keys[y->key]);
}

static int rows_of(const struct report *r, const struct agg *aggs, struct row *rows)
{
	int n = 0;

	for (int k = 0; k < r->nr_keys; k++)
		if (aggs[k].n)
			rows[n++] = (struct row){ k, aggs[k] };
	sort_r = r;
	qsort(rows, (size_t)n, sizeof(*rows), by_samples);
	return n;
}

/* perf kvm stat report's columns; data-* attributes let a script check the numbers. */
static void table(FILE *f, const struct report *r, const struct agg *aggs, struct row *rows,
		  const char *cls, const char *attr, const char *id)
{
	int n = rows_of(r, aggs, rows);
	long long total = 0;
	double time = 0;

	for (int i = 0; i < n; i++) {
		total += rows[i].a.n;
		time += rows[i].a.sum;
	}
	fprintf(f, "<table class=\"%s\" data-%s=\"", cls, attr);
	esc(f, id);
	fprintf(f, "\" data-total=\"%lld\">\n<tr><th>VM-EXIT/key</th><th>Samples</th>"
		   "<th>Samples%%</th><th>Time%%</th><th>Min Time</th><th>Max Time</th>"
		   "<th>Avg time</th></tr>\n",
		total);
	for (int i = 0; i < n; i++) {
		const struct agg *a = &rows[i].a;

		fputs("<tr data-key=\"", f);
		esc(f, r->keys[rows[i].key]);
		fprintf(f, "\" data-samples=\"%lld\"><td class=\"k\">", a->n);
		esc(f, r->keys[rows[i].key]);
		fprintf(f, "</td><td>%lld</td><td>%.2f%%</td><td>%.2f%%</td><td>%.2fus</td>"
			   "<td>%.2fus</td><td>%.2fus</td></tr>\n",
			a->n, 100.0 * (double)a->n / (double)total, time > 0 ? 100.0 * a->sum / time : 0,
			a->min, a->max, a->sum / (double)a->n);
	}
	fprintf(f, "<tr class=\"sum\"><td>Total</td><td>%lld</td><td></td><td></td><td></td>"
		   "<td></td><td>%.2fus in all</td></tr>\n</table>\n",
		total, time);
}

/* Samples% and Time% of the busiest keys as paired horizontal bars. */
static void exit_chart(FILE *f, const struct report *r, const struct agg *all, struct row *rows)
{
	int n = rows_of(r, all, rows), shown = n < 16 ? n : 16, h = 24 * shown + 40;
	long long total = 0;
	double time = 0;

	if (!n)
		return;
	for (int i = 0; i < n; i++) {
		total += rows[i].a.n;
		time += rows[i].a.sum;
	}
	fprintf(f, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"12\">\n",
		TL_WIDTH + 220, h, TL_WIDTH + 220, h);
	fprintf(f, "<rect x=\"210\" y=\"4\" width=\"12\" height=\"10\" fill=\"%s\"/>"
		   "<text x=\"226\" y=\"13\">samples %%</text>"
		   "<rect x=\"310\" y=\"4\" width=\"12\" height=\"10\" fill=\"%s\"/>"
		   "<text x=\"326\" y=\"13\">time in kvmlab %%</text>\n",
		palette[0], palette[1]);
	for (int i = 0; i < shown; i++) {
		double sp = (double)rows[i].a.n / (double)total, tp = time > 0 ? rows[i].a.sum / time : 0;
		int y = 24 + 24 * i;

		fprintf(f, "<text x=\"200\" y=\"%d\" text-anchor=\"end\">", y + 13);
		esc(f, r->keys[rows[i].key]);
		fprintf(f, "</text><rect x=\"210\" y=\"%d\" width=\"%.1f\" height=\"9\" fill=\"%s\"/>"
			   "<rect x=\"210\" y=\"%d\" width=\"%.1f\" height=\"9\" fill=\"%s\"/>"
			   "<text x=\"%.1f\" y=\"%d\">%lld (%.1f%%), %.1f%%</text>\n",
			y + 2, sp * (TL_WIDTH - 200), palette[0], y + 11, tp * (TL_WIDTH - 200),
			palette[1], 214 + (sp > tp ? sp : tp) * (TL_WIDTH - 200), y + 13, rows[i].a.n,
			100 * sp, 100 * tp);
	}
	if (n > shown)
		fprintf(f, "<text x=\"210\" y=\"%d\">... %d more keys in the tables</text>\n",
			24 + 24 * shown + 12, n - shown);
	fputs("</svg>\n", f);
}

static double span_end(const struct report *r, double *start)
{
	double t0 = -1, t1 = 0;

	for (int i = 0; i < r->nr_exits; i++) {
		const struct report_exit *e = &r->exits[i];

		if (t0 < 0 || e->ts < t0)
			t0 = e->ts;
		if (e->ts + e->dur > t1)
			t1 = e->ts + e->dur;
	}
	for (int i = 0; i < r->nr_markers; i++) {
		if (t0 < 0 || r->markers[i].ts < t0)
			t0 = r->markers[i].ts;
		if (r->markers[i].ts > t1)
			t1 = r->markers[i].ts;
	}
	*start = t0 < 0 ? 0 : t0;
	return t1 > *start ? t1 : *start + 1;
}

/* One vCPU's track: per pixel column, the share of time in kvmlab and the exits begun. */
static void track(FILE *f, const struct report *r, int tid, int y, double t0, double t1,
		  double *busy, int *count)
{
	double px = (t1 - t0) / TL_WIDTH; /* µs per pixel */
	int maxc = 1;

	memset(busy, 0, TL_WIDTH * sizeof(*busy));
	memset(count, 0, TL_WIDTH * sizeof(*count));
	for (int i = 0; i < r->nr_exits; i++) {
		const struct report_exit *e = &r->exits[i];
		double a = (e->ts - t0) / px, b = (e->ts + e->dur - t0) / px;
		int c0 = (int)a, c1 = (int)b;

		if (e->tid != tid)
			continue;
		c0 = c0 < TL_WIDTH ? c0 : TL_WIDTH - 1;
		c1 = c1 < TL_WIDTH ? c1 : TL_WIDTH - 1;
		count[c0]++;
		for (int c = c0; c <= c1; c++) {
			double lo = a > c ? a : c, hi = b < c + 1 ? b : c + 1;

			if (hi > lo)
				busy[c] += hi - lo;
		}
	}
	for (int c = 0; c < TL_WIDTH; c++)
		maxc = count[c] > maxc ? count[c] : maxc;
	fprintf(f, "<text x=\"110\" y=\"%d\" text-anchor=\"end\">", y + 20);
	esc(f, r->vcpu_name[tid] ? r->vcpu_name[tid] : "vCPU");
	if (!r->vcpu_name[tid])
		fprintf(f, " %d", tid);
	fprintf(f, "</text>\n<rect x=\"120\" y=\"%d\" width=\"%d\" height=\"28\" fill=\"#cfe3f4\"/>\n",
		y, TL_WIDTH);
	for (int c = 0; c < TL_WIDTH; c++) {
		double h = 28 * (busy[c] > 1 ? 1 : busy[c]);

		if (busy[c] > 0)
			fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"1\" height=\"%.1f\" fill=\"%s\"/>",
				120 + c, y + 28 - (h < 1 ? 1 : h), h < 1 ? 1 : h, palette[1]);
		if (count[c])
			fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"1\" height=\"%.1f\" fill=\"#333\"/>",
				120 + c, y + 40 - 10.0 * count[c] / maxc, 10.0 * count[c] / maxc);
	}
	fputs("\n", f);
}

static void timeline(FILE *f, const struct report *r)
{
	double t0, t1 = span_end(r, &t0), *busy = malloc(TL_WIDTH * sizeof(double));
	int *count = malloc(TL_WIDTH * sizeof(int));
	int h = 40 + TL_TRACK * r->nr_vcpus + 40;

	if (!busy || !count || !r->nr_vcpus)
		goto out;
	fprintf(f, "<svg class=\"timeline\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"11\">\n",
		TL_WIDTH + 140, h, TL_WIDTH + 140, h);
	for (int tid = 0; tid < r->nr_vcpus; tid++)
		track(f, r, tid, 30 + TL_TRACK * tid, t0, t1, busy, count);
	/* The axis: milliseconds since kvmlab opened the trace. */
	for (int i = 0; i <= 10; i++) {
		int x = 120 + TL_WIDTH * i / 10, y = 30 + TL_TRACK * r->nr_vcpus;

		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#666\"/>"
			   "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.1f ms</text>\n",
			x, y, x, y + 5, x, y + 18, (t0 + (t1 - t0) * i / 10) / 1000);
	}
	for (int i = 0; i < r->nr_markers; i++) {
		const struct report_marker *m = &r->markers[i];
		double x = 120 + (m->ts - t0) / (t1 - t0) * TL_WIDTH;
		int y = 30 + TL_TRACK * m->tid;

		fprintf(f, "<line class=\"marker\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			   "stroke=\"%s\" stroke-width=\"1.5\"/><text x=\"%.1f\" y=\"%d\" fill=\"%s\">",
			x, y - 4, x, y + 42, palette[3], x + 2, y - 6, palette[3]);
		esc(f, r->labels[m->label]);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
out:
	free(busy);
	free(count);
}

/* --- phases ------------------------------------------------------------------- */

static int by_tid_ts_exit(const void *a, const void *b)
{
	const struct report_exit *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid - y->tid;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int by_tid_ts_marker(const void *a, const void *b)
{
	const struct report_marker *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid - y->tid;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int by_ts_marker(const void *a, const void *b)
{
	const struct report_marker *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/*
 * aggs[p * nr_keys + k]: phase p (0: before the first marker, 1 + label) and key k.
 * order[]: the phases that have exits, in the order they first appeared.
 */
static int phases(const struct report *r, struct agg *aggs, int *order)
{
	size_t ne = (size_t)r->nr_exits, nm = (size_t)r->nr_markers;
	struct report_exit *ex = malloc((ne ? ne : 1) * sizeof(*ex));
	struct report_marker *mk = malloc((nm ? nm : 1) * sizeof(*mk));
	int n = 0, mi = 0;

	if (!ex || !mk)
		goto out;
	memcpy(ex, r->exits, ne * sizeof(*ex));
	memcpy(mk, r->markers, nm * sizeof(*mk));
	qsort(ex, ne, sizeof(*ex), by_tid_ts_exit);
	qsort(mk, nm, sizeof(*mk), by_tid_ts_marker);
	for (size_t i = 0; i < ne;) {
		int tid = ex[i].tid, phase = 0;
		bool marks;

		while (mi < r->nr_markers && mk[mi].tid < tid)
			mi++;
		marks = mi < r->nr_markers && mk[mi].tid == tid;
		for (; i < ne && ex[i].tid == tid; i++) {
			/* 0.0005: the file's timestamps are rounded to nanoseconds. */
			while (mi < r->nr_markers && mk[mi].tid == tid &&
			       mk[mi].ts <= ex[i].ts + ex[i].dur + 0.0005)
				phase = 1 + mk[mi++].label;
			if (marks)
				agg_add(&aggs[(size_t)phase * r->nr_keys + ex[i].key], ex[i].dur);
		}
	}
	/* Order: "before" first, then the labels by their first marker in time. */
	memcpy(mk, r->markers, nm * sizeof(*mk));
	qsort(mk, nm, sizeof(*mk), by_ts_marker);
	for (int p = -1; p < r->nr_markers; p++) {
		int ph = p < 0 ? 0 : 1 + mk[p].label;
		bool seen = false, any = false;

		for (int j = 0; j < n; j++)
			seen |= order[j] == ph;
		for (int k = 0; k < r->nr_keys; k++)
			any |= aggs[(size_t)ph * r->nr_keys + k].n > 0;
		if (!seen && any)
			order[n++] = ph;
	}
out:
	free(ex);
	free(mk);
	return n;
}

static const char *phase_name(const struct report *r, int ph)
{
	return ph ? r->labels[ph - 1] : "(before the first marker)";
}

/* One stacked bar per phase: its exits by key (the busiest keys coloured, the rest grey). */
static void phase_chart(FILE *f, const struct report *r, const struct agg *aggs, const int *order,
			int n, const struct row *top, int ntop)
{
	long long most = 1;
	int h = 40 + 28 * n + 20 * ((ntop + 3) / 4);

	for (int i = 0; i < n; i++) {
		long long t = 0;

		for (int k = 0; k < r->nr_keys; k++)
			t += aggs[(size_t)order[i] * r->nr_keys + k].n;
		most = t > most ? t : most;
	}
	fprintf(f, "<svg class=\"phases\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"12\">\n",
		TL_WIDTH + 220, h, TL_WIDTH + 220, h);
	for (int i = 0; i < n; i++) {
		const struct agg *pa = &aggs[(size_t)order[i] * r->nr_keys];
		double x = 210, scale = (double)(TL_WIDTH - 200) / (double)most;
		long long t = 0, rest = 0;
		int y = 10 + 28 * i;

		fprintf(f, "<text x=\"200\" y=\"%d\" text-anchor=\"end\">", y + 14);
		esc(f, phase_name(r, order[i]));
		fputs("</text>", f);
		for (int k = 0; k < r->nr_keys; k++)
			rest += pa[k].n;
		t = rest;
		for (int c = 0; c < ntop; c++) {
			long long v = pa[top[c].key].n;

			rest -= v;
			if (v)
				fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>",
					x, y, v * scale, palette[c]);
			x += v * scale;
		}
		if (rest)
			fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>", x,
				y, rest * scale, OTHER_GREY);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\">%lld exits</text>\n", x + rest * scale + 4,
			y + 14, t);
	}
	for (int c = 0; c <= ntop; c++) {
		int x = 210 + 220 * (c % 4), y = 20 + 28 * n + 20 * (c / 4);

		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"%s\"/>"
			   "<text x=\"%d\" y=\"%d\">",
			x, y, c < ntop ? palette[c] : OTHER_GREY, x + 16, y + 9);
		esc(f, c < ntop ? r->keys[top[c].key] : "other keys");
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

static void phase_section(FILE *f, const struct report *r, const struct agg *all, struct row *rows)
{
	size_t np = (size_t)r->nr_labels + 1;
	struct agg *aggs = calloc(np * (size_t)(r->nr_keys ? r->nr_keys : 1), sizeof(*aggs));
	int *order = malloc(np * sizeof(int));
	struct row top[NR_COLORS - 1];
	int n, ntop;

	fputs("<h2>Exits per phase</h2>\n", f);
	if (!aggs || !order)
		goto out;
	n = phases(r, aggs, order);
	if (!n) {
		fputs("<p>No phases: the guest wrote no marker to port 0x510 (docs/tracing.md).</p>\n", f);
		goto out;
	}
	fputs("<p>Between the guest's markers (port 0x510), all vCPUs merged by label, as "
	      "<code>--stats</code> splits its table: one bar a phase.</p>\n",
	      f);
	ntop = rows_of(r, all, rows);
	ntop = ntop < NR_COLORS - 1 ? ntop : NR_COLORS - 1;
	memcpy(top, rows, (size_t)ntop * sizeof(*top));
	phase_chart(f, r, aggs, order, n, top, ntop);
	for (int i = 0; i < n; i++) {
		fputs("<h3>Phase \"", f);
		esc(f, phase_name(r, order[i]));
		fputs("\"</h3>\n", f);
		table(f, r, &aggs[(size_t)order[i] * r->nr_keys], rows, "phase", "phase",
		      phase_name(r, order[i]));
	}
out:
	free(aggs);
	free(order);
}

/* Each marker in time order, with kvmlab's RSS then: memory that grows by phase (guest RAM is
 * demand-paged in kvmlab's own address space too, lesson 3) shows here. */
static void marker_section(FILE *f, const struct report *r)
{
	size_t nm = (size_t)r->nr_markers;
	struct report_marker *mk;
	double prev = -1;

	if (!nm)
		return;
	mk = malloc(nm * sizeof(*mk));
	if (!mk)
		return;
	memcpy(mk, r->markers, nm * sizeof(*mk));
	qsort(mk, nm, sizeof(*mk), by_ts_marker);
	fputs("<h2>Markers</h2>\n<p>Each marker the guest wrote, in time order, with kvmlab's resident "
	      "memory (VmRSS) when kvmlab handled it, and the change since the marker before: guest "
	      "RAM is kvmlab's memory, given frames as the guest first touches it.</p>\n"
	      "<table class=\"markers\">\n<tr><th>Marker</th><th>Time</th><th>vCPU</th>"
	      "<th>kvmlab RSS</th><th>Change</th></tr>\n",
	      f);
	for (size_t i = 0; i < nm; i++) {
		fprintf(f, "<tr data-marker=\"%zu\" data-rss-kib=\"%.0f\"><td class=\"k\">", i,
			mk[i].rss_kib);
		esc(f, r->labels[mk[i].label]);
		fprintf(f, "</td><td>%.6f s</td><td>%d</td>", mk[i].ts / 1e6, mk[i].tid);
		if (mk[i].rss_kib < 0)
			fputs("<td>?</td><td></td></tr>\n", f);
		else if (prev < 0)
			fprintf(f, "<td>%.0f KiB</td><td></td></tr>\n", mk[i].rss_kib);
		else
			fprintf(f, "<td>%.0f KiB</td><td>%+.0f KiB</td></tr>\n", mk[i].rss_kib,
				mk[i].rss_kib - prev);
		if (mk[i].rss_kib >= 0)
			prev = mk[i].rss_kib;
	}
	fputs("</table>\n", f);
	free(mk);
}

static const char css[] =
	"body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}"
	"table{border-collapse:collapse;margin:0.5em 0 1.5em}"
	"td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}"
	"td.k,th:first-child{text-align:left;font-family:monospace}"
	"tr.sum td{font-weight:bold;border-top:2px solid #999}"
	".key{display:inline-block;width:12px;height:10px;margin:0 4px}";

int report_write_html(FILE *f, const struct report *r, const char *title)
{
	size_t nk = (size_t)(r->nr_keys ? r->nr_keys : 1);
	struct agg *per = calloc((size_t)(r->nr_vcpus + 1) * nk, sizeof(*per));
	struct row *rows = malloc(nk * sizeof(*rows));
	struct agg *all;

	if (!per || !rows) {
		free(per);
		free(rows);
		errno = ENOMEM;
		return -1;
	}
	all = &per[(size_t)r->nr_vcpus * nk];
	for (int i = 0; i < r->nr_exits; i++) {
		agg_add(&per[(size_t)r->exits[i].tid * nk + r->exits[i].key], r->exits[i].dur);
		agg_add(&all[r->exits[i].key], r->exits[i].dur);
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>kvmlab report: ",
	      f);
	esc(f, title);
	fprintf(f, "</title>\n<style>%s</style></head><body>\n<h1>kvmlab report: ", css);
	esc(f, title);
	fprintf(f, "</h1>\n<p>%d exits handled by kvmlab, %d markers, %d vCPU%s", r->nr_exits,
		r->nr_markers, r->nr_vcpus, r->nr_vcpus == 1 ? "" : "s");
	if (r->producer) {
		fputs("; written by ", f);
		esc(f, r->producer);
	}
	fputs(".</p>\n", f);
	if (r->dropped)
		fprintf(f, "<p><b>%lld events were dropped</b> (a vCPU's ring was full): the counts "
			   "below miss them.</p>\n",
			r->dropped);
	fputs("<h2>Timeline</h2>\n<p>Per vCPU: <span class=\"key\" style=\"background:#cfe3f4\">"
	      "</span>the guest's time (in the guest, or in KVM for the exits it handles itself); "
	      "<span class=\"key\" style=\"background:#f28e2b\"></span>the share of each pixel's time "
	      "spent in kvmlab handling exits; the black comb below: exits begun per pixel (scaled to "
	      "the densest); red lines: the guest's markers.</p>\n",
	      f);
	timeline(f, r);
	fputs("<h2>Exits handled by kvmlab</h2>\n<p>Columns of <code>perf kvm stat report</code>; "
	      "time: kvmlab's handling of each exit (docs/tracing.md).</p>\n",
	      f);
	exit_chart(f, r, all, rows);
	for (int v = 0; v < r->nr_vcpus; v++) {
		char id[16];

		snprintf(id, sizeof(id), "%d", v);
		fprintf(f, "<h3>vCPU %d</h3>\n", v);
		table(f, r, &per[(size_t)v * nk], rows, "exits", "vcpu", id);
	}
	fputs("<h3>All vCPUs</h3>\n", f);
	table(f, r, all, rows, "exits", "vcpu", "all");
	phase_section(f, r, all, rows);
	marker_section(f, r);
	fputs("</body></html>\n", f);
	free(per);
	free(rows);
	return ferror(f) ? -1 : 0;
}

/* --- the command -------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			char *b = realloc(buf, cap = cap ? 2 * cap : 1 << 16);

			if (!b) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

int report_main(const char *in, const char *out)
{
	struct report r;
	char err[512];
	size_t len = 0;
	char *text;
	FILE *f;
	int status = 1;

	errno = 0;
	text = read_all(in, &len);
	if (!text) {
		fprintf(stderr, "kvmlab report: cannot read '%s': %s\n", in, strerror(errno));
		return 1;
	}
	if (report_parse(&r, text, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmlab report: '%s' is not a usable kvmlab trace: %s\n", in, err);
		goto out;
	}
	f = fopen(out, "we");
	if (!f) {
		fprintf(stderr, "kvmlab report: cannot write '%s': %s\n", out, strerror(errno));
		goto out;
	}
	if ((report_write_html(f, &r, in) < 0) | (fclose(f) != 0)) {
		fprintf(stderr, "kvmlab report: writing '%s' failed: %s\n", out, strerror(errno));
		goto out;
	}
	status = 0;
out:
	report_free(&r);
	free(text);
	return status;
}
