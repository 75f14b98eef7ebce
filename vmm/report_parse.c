// SPDX-License-Identifier: MIT
/*
 * Reading a --trace file for `kvmlab report`. The file is JSON (RFC 8259) that
 * kvmlab wrote, but it may be cut short (a SIGKILLed kvmlab) or edited, so the
 * parser trusts nothing: a small recursive-descent parser builds a tree of one
 * event at a time into a pool that is reset for the next (memory stays
 * bounded however long the trace), and every field the report uses is checked
 * for presence, type and range. The first problem ends the parse with its line
 * and column.
 */
#include <math.h> /* isfinite */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/report.h"

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

/* A node of the tree; children are a list through next (indices into the pool). */
struct jnode {
	enum jtype type;
	double num;	/* J_NUM, J_BOOL (0/1) */
	size_t str;	/* J_STR: offset of its NUL-ended bytes in the pool's chars */
	size_t key;	/* member of an object: offset of its name; else (size_t)-1 */
	int child, next; /* -1: none */
};

struct jparser {
	const char *s, *end, *p;
	struct jnode *nodes;
	int nr_nodes, cap_nodes;
	char *chars;
	size_t nr_chars, cap_chars;
	int depth;
	char *err;
	size_t errlen;
	bool failed;
};

#define JSON_MAX_DEPTH 32

static void where(const struct jparser *j, const char *at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (const char *q = j->s; q < at; q++) {
		if (*q == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* The first error wins; at the end of the text it says the file was cut short. */
static int jfail(struct jparser *j, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int line, col;

	if (j->failed)
		return -1;
	j->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (j->p >= j->end) {
		snprintf(j->err, j->errlen,
			 "the file ends in the middle of the trace (%s): it is cut short, as a "
			 "kvmlab killed with SIGKILL leaves it",
			 msg);
		return -1;
	}
	where(j, j->p, &line, &col);
	snprintf(j->err, j->errlen, "line %d, column %d: %s", line, col, msg);
	return -1;
}

static int new_node(struct jparser *j, enum jtype t)
{
	if (j->nr_nodes == j->cap_nodes) {
		int cap = j->cap_nodes ? 2 * j->cap_nodes : 64;
		struct jnode *n = realloc(j->nodes, (size_t)cap * sizeof(*n));

		if (!n)
			return jfail(j, "out of memory");
		j->nodes = n;
		j->cap_nodes = cap;
	}
	j->nodes[j->nr_nodes] = (struct jnode){ t, 0, 0, (size_t)-1, -1, -1 };
	return j->nr_nodes++;
}

static int put_char(struct jparser *j, char c)
{
	if (j->nr_chars == j->cap_chars) {
		size_t cap = j->cap_chars ? 2 * j->cap_chars : 256;
		char *n = realloc(j->chars, cap);

		if (!n)
			return jfail(j, "out of memory");
		j->chars = n;
		j->cap_chars = cap;
	}
	j->chars[j->nr_chars++] = c;
	return 0;
}

static void skip_ws(struct jparser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* Expect character c (after blanks). */
static int expect(struct jparser *j, char c)
{
	skip_ws(j);
	if (j->p >= j->end || *j->p != c)
		return jfail(j, "expected '%c'", c);
	j->p++;
	return 0;
}

static int hex4(struct jparser *j, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++, j->p++) {
		char c = j->p < j->end ? *j->p : 0;

		*out <<= 4;
		if (c >= '0' && c <= '9')
			*out |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*out |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*out |= (unsigned)(c - 'A' + 10);
		else
			return jfail(j, "bad \\u escape in a string");
	}
	return 0;
}

/* A code point as UTF-8. */
static int put_utf8(struct jparser *j, unsigned cp)
{
	int r = 0;

	if (cp < 0x80)
		return put_char(j, (char)cp);
	if (cp < 0x800) {
		r |= put_char(j, (char)(0xC0 | cp >> 6));
	} else if (cp < 0x10000) {
		r |= put_char(j, (char)(0xE0 | cp >> 12));
		r |= put_char(j, (char)(0x80 | ((cp >> 6) & 0x3F)));
	} else {
		r |= put_char(j, (char)(0xF0 | cp >> 18));
		r |= put_char(j, (char)(0x80 | ((cp >> 12) & 0x3F)));
		r |= put_char(j, (char)(0x80 | ((cp >> 6) & 0x3F)));
	}
	return r | put_char(j, (char)(0x80 | (cp & 0x3F)));
}

static int escape(struct jparser *j)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	unsigned cp, lo;

	if (j->p >= j->end)
		return jfail(j, "string not ended");
	e = strchr(from, *j->p);
	if (*j->p && e) {
		j->p++;
		return put_char(j, to[e - from]);
	}
	if (*j->p != 'u')
		return jfail(j, "unknown escape '\\%c' in a string", *j->p);
	j->p++;
	if (hex4(j, &cp) < 0)
		return -1;
	if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair */
		if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
			return jfail(j, "lone surrogate in a string");
		j->p += 2;
		if (hex4(j, &lo) < 0)
			return -1;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return jfail(j, "bad surrogate pair in a string");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
		return jfail(j, "lone surrogate in a string");
	}
	if (!cp)
		return jfail(j, "\\u0000 in a string");
	return put_utf8(j, cp);
}

/* A string at j->p (at its '"'): its decoded bytes go to the pool; returns their offset. */
static int parse_string(struct jparser *j, size_t *off)
{
	*off = j->nr_chars;
	j->p++;
	for (;;) {
		unsigned char c;

		if (j->p >= j->end)
			return jfail(j, "string not ended");
		c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return put_char(j, '\0');
		}
		if (c < 0x20)
			return jfail(j, "control character 0x%02x in a string", c);
		j->p++;
		if (c == '\\') {
			if (escape(j) < 0)
				return -1;
		} else if (put_char(j, (char)c) < 0) {
			return -1;
		}
	}
}

/* A number by JSON's grammar (no leading zeros, no '+', no hex, no inf/nan). */
static int parse_number(struct jparser *j, double *out)
{
	const char *q = j->p, *start = j->p;
	char buf[64];

	if (q < j->end && *q == '-')
		q++;
	if (q >= j->end || *q < '0' || *q > '9')
		return jfail(j, "expected a value");
	if (*q == '0')
		q++;
	else
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	if (q < j->end && *q == '.') {
		if (++q >= j->end || *q < '0' || *q > '9')
			return jfail(j, "bad number");
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < j->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < j->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= j->end || *q < '0' || *q > '9')
			return jfail(j, "bad number");
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	if ((size_t)(q - start) >= sizeof(buf))
		return jfail(j, "number too long");
	memcpy(buf, start, (size_t)(q - start));
	buf[q - start] = '\0';
	*out = strtod(buf, NULL);
	if (!isfinite(*out))
		return jfail(j, "number out of range");
	j->p = q;
	return 0;
}

static int parse_value(struct jparser *j);

static int literal(struct jparser *j, const char *word, enum jtype t, double v)
{
	size_t n = strlen(word);
	int node;

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
		return jfail(j, "expected a value");
	j->p += n;
	node = new_node(j, t);
	if (node >= 0)
		j->nodes[node].num = v;
	return node;
}

/* Link child after prev (or as the first child of parent). */
static void link(struct jparser *j, int parent, int *prev, int child)
{
	if (*prev < 0)
		j->nodes[parent].child = child;
	else
		j->nodes[*prev].next = child;
	*prev = child;
}

/* An array or object at j->p; close is ']' or '}'. */
static int parse_container(struct jparser *j, enum jtype t)
{
	char close = t == J_ARR ? ']' : '}';
	int node, prev = -1;

	if (++j->depth > JSON_MAX_DEPTH)
		return jfail(j, "nested more than %d deep", JSON_MAX_DEPTH);
	j->p++;
	node = new_node(j, t);
	if (node < 0)
		return -1;
	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return node;
	}
	for (;;) {
		size_t key = (size_t)-1;
		int child;

		skip_ws(j);
		if (t == J_OBJ) {
			if (j->p >= j->end || *j->p != '"')
				return jfail(j, "expected a member name in quotes");
			if (parse_string(j, &key) < 0 || expect(j, ':') < 0)
				return -1;
		}
		child = parse_value(j);
		if (child < 0)
			return -1;
		j->nodes[child].key = key;
		link(j, node, &prev, child);
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return node;
		}
		return jfail(j, "expected ',' or '%c'", close);
	}
}

static int parse_value(struct jparser *j)
{
	int node;
	size_t off;

	skip_ws(j);
	if (j->p >= j->end)
		return jfail(j, "expected a value");
	switch (*j->p) {
	case '{': return parse_container(j, J_OBJ);
	case '[': return parse_container(j, J_ARR);
	case 't': return literal(j, "true", J_BOOL, 1);
	case 'f': return literal(j, "false", J_BOOL, 0);
	case 'n': return literal(j, "null", J_NULL, 0);
	case '"':
		if (parse_string(j, &off) < 0)
			return -1;
		node = new_node(j, J_STR);
		if (node >= 0)
			j->nodes[node].str = off;
		return node;
	default:
		node = new_node(j, J_NUM);
		if (node >= 0 && parse_number(j, &j->nodes[node].num) < 0)
			return -1;
		return node;
	}
}

/* --- the tree's fields -------------------------------------------------------- */

static int member(const struct jparser *j, int obj, const char *name)
{
	for (int c = j->nodes[obj].child; c >= 0; c = j->nodes[c].next)
		if (!strcmp(j->chars + j->nodes[c].key, name))
			return c;
	return -1;
}

/* The string member name of obj, or NULL (with the error said) if absent or not a string. */
static const char *str_field(struct jparser *j, int obj, const char *name, const char *what)
{
	int m = member(j, obj, name);

	if (m < 0 || j->nodes[m].type != J_STR) {
		jfail(j, "%s: \"%s\" %s", what, name, m < 0 ? "is missing" : "is not a string");
		return NULL;
	}
	return j->chars + j->nodes[m].str;
}

/* A number member in [lo, hi]; integer says it must be whole. */
static int num_field(struct jparser *j, int obj, const char *name, const char *what, double lo,
		     double hi, bool integer, double *out)
{
	int m = member(j, obj, name);

	if (m < 0 || j->nodes[m].type != J_NUM)
		return jfail(j, "%s: \"%s\" %s", what, name,
			     m < 0 ? "is missing" : "is not a number");
	*out = j->nodes[m].num;
	if (*out < lo || *out > hi || (integer && *out != (double)(long long)*out))
		return jfail(j, "%s: \"%s\" is %g, not %s from %g to %g", what, name, *out,
			     integer ? "a whole number" : "a number", lo, hi);
	return 0;
}

/* --- the report's tables ---------------------------------------------------------- */

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static bool grow(void **arr, int *cap, int need, size_t size)
{
	void *n;
	int c;

	if (need <= *cap)
		return true;
	c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	n = realloc(*arr, (size_t)c * size);
	if (!n)
		return false;
	*arr = n;
	*cap = c;
	return true;
}

static unsigned str_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int rehash(struct report *r, int size)
{
	int *h = calloc((size_t)size, sizeof(*h));

	if (!h)
		return -1;
	for (int k = 0; k < r->nr_keys; k++) {
		unsigned i = str_hash(r->keys[k]) & (unsigned)(size - 1);

		while (h[i])
			i = (i + 1) & (unsigned)(size - 1);
		h[i] = k + 1;
	}
	free(r->key_hash);
	r->key_hash = h;
	r->hash_size = size;
	return 0;
}

/* The index of exit name s, added if new; -1 if out of memory. */
static int key_index(struct report *r, const char *s)
{
	unsigned i;

	if ((r->nr_keys + 1) * 2 > r->hash_size && rehash(r, r->hash_size ? r->hash_size * 2 : 64) < 0)
		return -1;
	for (i = str_hash(s) & (unsigned)(r->hash_size - 1); r->key_hash[i];
	     i = (i + 1) & (unsigned)(r->hash_size - 1))
		if (!strcmp(r->keys[r->key_hash[i] - 1], s))
			return r->key_hash[i] - 1;
	if (!grow((void **)&r->keys, &r->cap_keys, r->nr_keys + 1, sizeof(char *)))
		return -1;
	r->keys[r->nr_keys] = dup_str(s);
	if (!r->keys[r->nr_keys])
		return -1;
	r->key_hash[i] = r->nr_keys + 1;
	return r->nr_keys++;
}

/* Labels are few (a guest marks phases): a linear search. */
static int label_index(struct report *r, const char *s)
{
	for (int i = 0; i < r->nr_labels; i++)
		if (!strcmp(r->labels[i], s))
			return i;
	if (!grow((void **)&r->labels, &r->cap_labels, r->nr_labels + 1, sizeof(char *)))
		return -1;
	r->labels[r->nr_labels] = dup_str(s);
	if (!r->labels[r->nr_labels])
		return -1;
	return r->nr_labels++;
}

static int tid_field(struct jparser *j, struct report *r, int ev, const char *what)
{
	double tid;

	if (num_field(j, ev, "tid", what, 0, REPORT_MAX_VCPUS - 1, true, &tid) < 0)
		return -1;
	if ((int)tid >= r->nr_vcpus)
		r->nr_vcpus = (int)tid + 1;
	return (int)tid;
}

/* Timestamps are µs since kvmlab opened the file; a day bounds any real run. */
#define TS_MAX (86400.0 * 1e6)

static int add_exit(struct jparser *j, struct report *r, int ev, const char *what)
{
	struct report_exit e;
	const char *name = str_field(j, ev, "name", what);
	int args = member(j, ev, "args");

	if (!name)
		return -1;
	if (!*name)
		return jfail(j, "%s: empty \"name\"", what);
	if (args >= 0 && j->nodes[args].type != J_OBJ)
		return jfail(j, "%s: \"args\" is not an object", what);
	e.tid = tid_field(j, r, ev, what);
	if (e.tid < 0 || num_field(j, ev, "ts", what, 0, TS_MAX, false, &e.ts) < 0 ||
	    num_field(j, ev, "dur", what, 0, TS_MAX, false, &e.dur) < 0)
		return -1;
	e.key = key_index(r, name);
	if (e.key < 0 || !grow((void **)&r->exits, &r->cap_exits, r->nr_exits + 1, sizeof(e)))
		return jfail(j, "out of memory");
	r->exits[r->nr_exits++] = e;
	return 0;
}

static int add_marker(struct jparser *j, struct report *r, int ev, const char *what)
{
	struct report_marker m;
	const char *name = str_field(j, ev, "name", what);
	int args = member(j, ev, "args");

	if (!name)
		return -1;
	m.tid = tid_field(j, r, ev, what);
	if (m.tid < 0 || num_field(j, ev, "ts", what, 0, TS_MAX, false, &m.ts) < 0)
		return -1;
	/* kvmlab's RSS at the marker (traces of kvmlab before 2026-12 lack it). */
	m.rss_kib = -1;
	if (args >= 0 && j->nodes[args].type != J_OBJ)
		return jfail(j, "%s: \"args\" is not an object", what);
	if (args >= 0 && member(j, args, "kvmlab_rss_kib") >= 0 &&
	    num_field(j, args, "kvmlab_rss_kib", what, -1, 1e15, true, &m.rss_kib) < 0)
		return -1;
	m.label = label_index(r, name);
	if (m.label < 0 || !grow((void **)&r->markers, &r->cap_markers, r->nr_markers + 1, sizeof(m)))
		return jfail(j, "out of memory");
	r->markers[r->nr_markers++] = m;
	return 0;
}

/* Metadata: only the vCPUs' track names matter to the report. */
static int add_meta(struct jparser *j, struct report *r, int ev, const char *what)
{
	const char *name = str_field(j, ev, "name", what), *tname;
	int tid, args;

	if (!name)
		return -1;
	if (strcmp(name, "thread_name"))
		return 0;
	tid = tid_field(j, r, ev, what);
	if (tid < 0)
		return -1;
	args = member(j, ev, "args");
	if (args < 0 || j->nodes[args].type != J_OBJ)
		return jfail(j, "%s: thread_name without an \"args\" object", what);
	tname = str_field(j, args, "name", what);
	if (!tname)
		return -1;
	free(r->vcpu_name[tid]);
	r->vcpu_name[tid] = dup_str(tname);
	return r->vcpu_name[tid] ? 0 : jfail(j, "out of memory");
}

/* One element of traceEvents (the n-th, from 1); counts the non-metadata ones in *events. */
static int add_event(struct jparser *j, struct report *r, int ev, long n, long long *events)
{
	char what[48];
	const char *ph, *cat;
	int c;

	snprintf(what, sizeof(what), "event %ld", n);
	if (j->nodes[ev].type != J_OBJ)
		return jfail(j, "%s is not an object", what);
	ph = str_field(j, ev, "ph", what);
	if (!ph)
		return -1;
	if (!strcmp(ph, "M"))
		return add_meta(j, r, ev, what);
	(*events)++;
	c = member(j, ev, "cat");
	cat = c >= 0 && j->nodes[c].type == J_STR ? j->chars + j->nodes[c].str : "";
	if (!strcmp(ph, "X") && !strcmp(cat, "exit"))
		return add_exit(j, r, ev, what);
	if (!strcmp(ph, "i") && !strcmp(cat, "marker"))
		return add_marker(j, r, ev, what);
	if (!strcmp(ph, "X") || !strcmp(ph, "i"))
		return 0; /* another tool's slice or note (kvmlab's dropped-events note): not an exit */
	return jfail(j, "%s: unknown phase \"ph\":\"%s\"", what, ph);
}

/* Reset the pool between events: each event's tree is used and forgotten. */
static void pool_reset(struct jparser *j)
{
	j->nr_nodes = 0;
	j->nr_chars = 0;
}

/* "traceEvents": [ ... ], one event tree at a time. */
static int parse_events(struct jparser *j, struct report *r, long long *events)
{
	long n = 0;

	skip_ws(j);
	if (j->p >= j->end || *j->p != '[')
		return jfail(j, "\"traceEvents\" is not an array");
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		int ev;

		pool_reset(j);
		j->depth = 1;
		ev = parse_value(j);
		if (ev < 0 || add_event(j, r, ev, ++n, events) < 0)
			return -1;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		return jfail(j, "expected ',' or ']' after event %ld", n);
	}
}

/* otherData: kvmlab's own counts; "events" must match what the file holds. */
static int check_other(struct jparser *j, struct report *r, int od, long long events)
{
	const char *prod;
	double v;
	int m;

	if (j->nodes[od].type != J_OBJ)
		return jfail(j, "\"otherData\" is not an object");
	m = member(j, od, "producer");
	if (m >= 0) {
		if (!(prod = str_field(j, od, "producer", "otherData")))
			return -1;
		r->producer = dup_str(prod);
	}
	if (member(j, od, "dropped_events") >= 0) {
		if (num_field(j, od, "dropped_events", "otherData", 0, 1e18, true, &v) < 0)
			return -1;
		r->dropped = (long long)v;
	}
	if (member(j, od, "events") >= 0) {
		if (num_field(j, od, "events", "otherData", 0, 1e18, true, &v) < 0)
			return -1;
		if ((long long)v != events)
			return jfail(j, "otherData says %lld events, the file holds %lld: events are "
					"missing or were added",
				     (long long)v, events);
	}
	return 0;
}

static int parse_top(struct jparser *j, struct report *r)
{
	long long events = 0;
	bool seen_events = false;

	if (expect(j, '{') < 0)
		return -1;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}')
		return jfail(j, "no \"traceEvents\": not a trace");
	for (;;) {
		size_t key;

		skip_ws(j);
		if (j->p >= j->end || *j->p != '"')
			return jfail(j, "expected a member name in quotes");
		pool_reset(j);
		if (parse_string(j, &key) < 0 || expect(j, ':') < 0)
			return -1;
		if (!strcmp(j->chars + key, "traceEvents")) {
			if (seen_events)
				return jfail(j, "\"traceEvents\" twice");
			seen_events = true;
			if (parse_events(j, r, &events) < 0)
				return -1;
		} else {
			bool other = !strcmp(j->chars + key, "otherData");
			int v;

			pool_reset(j);
			j->depth = 0;
			v = parse_value(j);
			if (v < 0)
				return -1;
			if (other) {
				if (!seen_events)
					return jfail(j, "\"otherData\" before \"traceEvents\"");
				if (check_other(j, r, v, events) < 0)
					return -1;
			}
		}
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (expect(j, '}') < 0)
			return -1;
		break;
	}
	if (!seen_events)
		return jfail(j, "no \"traceEvents\": not a trace");
	skip_ws(j);
	if (j->p < j->end)
		return jfail(j, "more after the end of the trace");
	return 0;
}

int report_parse(struct report *r, const char *text, size_t len, char *err, size_t errlen)
{
	struct jparser j = { .s = text, .end = text + len, .p = text, .err = err, .errlen = errlen };
	int rc;

	memset(r, 0, sizeof(*r));
	if (!len) {
		snprintf(err, errlen, "the file is empty");
		return -1;
	}
	if (memchr(text, '\0', len)) {
		j.p = memchr(text, '\0', len);
		rc = jfail(&j, "a NUL byte: not a text file");
	} else {
		rc = parse_top(&j, r);
	}
	free(j.nodes);
	free(j.chars);
	return rc;
}

void report_free(struct report *r)
{
	for (int i = 0; i < r->nr_keys; i++)
		free(r->keys[i]);
	for (int i = 0; i < r->nr_labels; i++)
		free(r->labels[i]);
	for (int i = 0; i < REPORT_MAX_VCPUS; i++)
		free(r->vcpu_name[i]);
	free(r->keys);
	free(r->key_hash);
	free(r->labels);
	free(r->exits);
	free(r->markers);
	free(r->producer);
	memset(r, 0, sizeof(*r));
}
