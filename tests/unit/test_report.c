/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/report.h"

static struct report r;
static char err[512];

static int parse(const char *text)
{
	memset(err, 0, sizeof(err));
	return report_parse(&r, text, strlen(text), err, sizeof(err));
}

/* A parse that must fail, with an error that mentions needle. */
static void bad(const char *text, const char *needle)
{
	cr_assert_eq(parse(text), -1, "accepted: %s", text);
	cr_assert_not_null(strstr(err, needle), "'%s' does not mention '%s' (input %s)", err, needle,
			   text);
	report_free(&r);
}

#define EXIT(name, tid, ts, dur)                                                               \
	"{\"name\":\"" name "\",\"cat\":\"exit\",\"ph\":\"X\",\"pid\":1,\"tid\":" #tid ",\"ts\":" \
	#ts ",\"dur\":" #dur ",\"args\":{\"reason\":\"IO\"}}"
#define MARK(label, tid, ts)                                                                   \
	"{\"name\":\"" label "\",\"cat\":\"marker\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":" \
	#tid ",\"ts\":" #ts ",\"args\":{\"label\":\"" label "\"}}"
#define META(tid, name)                                                                        \
	"{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" #tid                          \
	",\"args\":{\"name\":\"" name "\"}}"

static const char good[] =
	"{\"traceEvents\":[\n" META(0, "vCPU 0") ",\n" META(1, "vCPU 1") ",\n"
	EXIT("port:0x3f8/POUT", 0, 10.5, 2) ",\n"
	EXIT("port:0x510/POUT", 0, 20, 1.5) ",\n" MARK("start", 0, 20.7) ",\n"
	EXIT("port:0x80/POUT", 0, 30, 1) ",\n" EXIT("port:0x80/POUT", 0, 40, 3) ",\n"
	EXIT("gpa:0xd0000000/R", 1, 35, 4) ",\n"
	EXIT("port:0x510/POUT", 0, 50, 1) ",\n" MARK("end", 0, 50.5) ",\n"
	EXIT("port:0xf4/POUT", 0, 60, 100)
	"\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"kvmlab 0.1.0\",\"events\":9,"
	"\"dropped_events\":0,\"dropped_per_vcpu\":[0,0]}}\n";

Test(report, parses_kvmlabs_trace)
{
	cr_assert_eq(parse(good), 0, "%s", err);
	cr_assert_eq(r.nr_exits, 7);
	cr_assert_eq(r.nr_markers, 2);
	cr_assert_eq(r.nr_vcpus, 2);
	cr_assert_eq(r.nr_keys, 5, "distinct keys");
	cr_assert_str_eq(r.keys[r.exits[2].key], "port:0x80/POUT");
	cr_assert_eq(r.exits[2].key, r.exits[3].key, "one key for one name");
	cr_assert_float_eq(r.exits[0].ts, 10.5, 1e-9);
	cr_assert_float_eq(r.exits[3].dur, 3, 1e-9);
	cr_assert_eq(r.exits[4].tid, 1);
	cr_assert_str_eq(r.labels[r.markers[1].label], "end");
	cr_assert_str_eq(r.vcpu_name[1], "vCPU 1");
	cr_assert_str_eq(r.producer, "kvmlab 0.1.0");
	report_free(&r);
}

/* The page: per-vCPU and per-phase tables with the right counts (data-* attributes). */
Test(report, html_counts_per_vcpu_and_phase)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(parse(good), 0, "%s", err);
	cr_assert_eq(report_write_html(f, &r, "t<1>.json"), 0);
	fclose(f);
	cr_assert_not_null(strstr(buf, "<title>kvmlab report: t&lt;1&gt;.json</title>"), "escaped");
	cr_assert_not_null(strstr(buf, "<svg class=\"timeline\""));
	cr_assert_not_null(strstr(buf, "<svg class=\"phases\""));
	cr_assert_not_null(strstr(buf, "data-vcpu=\"0\" data-total=\"6\""));
	cr_assert_not_null(strstr(buf, "data-vcpu=\"1\" data-total=\"1\""));
	cr_assert_not_null(strstr(buf, "data-vcpu=\"all\" data-total=\"7\""));
	/* vCPU 1 never marks: in no phase. The 0x510 exit holding a marker is in the new phase. */
	cr_assert_not_null(strstr(buf, "data-phase=\"(before the first marker)\" data-total=\"1\""));
	cr_assert_not_null(strstr(buf, "data-phase=\"start\" data-total=\"3\""), "%s", buf);
	cr_assert_not_null(strstr(buf, "data-phase=\"end\" data-total=\"2\""));
	cr_assert_not_null(strstr(buf, "<tr data-key=\"port:0x80/POUT\" data-samples=\"2\">"
				       "<td class=\"k\">port:0x80/POUT</td><td>2</td><td>66.67%</td>"));
	cr_assert_null(strstr(buf, "<script"), "no script");
	free(buf);
	report_free(&r);
}

Test(report, empty_trace_has_no_phases)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(parse("{\"traceEvents\":[]}"), 0, "%s", err);
	cr_assert_eq(report_write_html(f, &r, "e"), 0);
	fclose(f);
	cr_assert_not_null(strstr(buf, "No phases"));
	free(buf);
	report_free(&r);
}

Test(report, strings_are_decoded)
{
	cr_assert_eq(parse("{\"traceEvents\":[" MARK("a\\\"b\\\\c\\u00e9\\n\\ud83d\\ude00", 0, 1)
			   "]}"),
		     0, "%s", err);
	cr_assert_str_eq(r.labels[0], "a\"b\\c\xc3\xa9\n\xf0\x9f\x98\x80");
	report_free(&r);
}

Test(report, cut_short_files)
{
	size_t n = strlen(good);
	char *cut = malloc(n);

	/* Every prefix but the whole (and the whole without its last '}') fails, saying so. */
	for (size_t i = 1; i < n - 2; i++) {
		memcpy(cut, good, i);
		cr_assert_eq(report_parse(&r, cut, i, err, sizeof(err)), -1, "prefix %zu accepted", i);
		cr_assert_neq(err[0], '\0');
		report_free(&r);
	}
	cr_assert_eq(report_parse(&r, good, n - 2, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "cut short"), "%s", err);
	report_free(&r);
	cr_assert_eq(report_parse(&r, good, 0, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "empty"), "%s", err);
	free(cut);
}

Test(report, bad_json)
{
	bad("[]", "expected '{'");
	bad("{}", "no \"traceEvents\"");
	bad("{\"traceEvents\":{}}", "not an array");
	bad("{\"traceEvents\":[1]}", "event 1 is not an object");
	bad("{\"traceEvents\":[]} x", "more after the end");
	bad("{\"traceEvents\":[],}", "member name");
	bad("{\"traceEvents\":[{\"ph\":\"X\" \"a\":1}]}", "expected ',' or '}'");
	bad("{\"traceEvents\":[{\"ph\":'X'}]}", "expected a value");
	bad("{\"traceEvents\":[{\"ph\":\"X\\q\"}]}", "unknown escape");
	bad("{\"traceEvents\":[{\"ph\":\"X\\ud800\"}]}", "surrogate");
	bad("{\"traceEvents\":[{\"ph\":\"\\u0000\"}]}", "\\u0000");
	bad("{\"traceEvents\":[{\"ph\":\"a\tb\"}]}", "control character");
	bad("{\"traceEvents\":[{\"x\":01}]}", "expected ',' or '}'");
	bad("{\"traceEvents\":[{\"x\":1.}]}", "bad number");
	bad("{\"traceEvents\":[{\"x\":1e999}]}", "out of range");
	bad("{\"traceEvents\":[{\"x\":-}]}", "expected a value");
	bad("{\"traceEvents\":[{\"x\":tru}]}", "expected a value");
	bad("{\"traceEvents\":[]}{", "more after");
	bad("{\"traceEvents\":[],\"traceEvents\":[]}", "twice");
	bad("{\"traceEvents\":[{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}",
	    "nested");
	static const char nul[] = "{\"traceEvents\":[]}\0";
	cr_assert_eq(report_parse(&r, nul, sizeof(nul) - 1, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "NUL"), "%s", err);
	report_free(&r);
}

Test(report, bad_fields)
{
	bad("{\"traceEvents\":[{\"name\":\"x\"}]}", "\"ph\" is missing");
	bad("{\"traceEvents\":[{\"ph\":1}]}", "\"ph\" is not a string");
	bad("{\"traceEvents\":[{\"ph\":\"B\",\"name\":\"x\"}]}", "unknown phase");
	bad("{\"traceEvents\":[" EXIT("", 0, 1, 1) "]}", "empty \"name\"");
	bad("{\"traceEvents\":[{\"name\":\"k\",\"cat\":\"exit\",\"ph\":\"X\",\"tid\":0,\"ts\":1}]}",
	    "\"dur\" is missing");
	bad("{\"traceEvents\":[{\"name\":\"k\",\"cat\":\"exit\",\"ph\":\"X\",\"tid\":0,\"ts\":\"1\","
	    "\"dur\":1}]}",
	    "\"ts\" is not a number");
	bad("{\"traceEvents\":[" EXIT("k", 0, -1, 1) "]}", "\"ts\" is -1");
	bad("{\"traceEvents\":[" EXIT("k", 0, 1, -2) "]}", "\"dur\" is -2");
	bad("{\"traceEvents\":[" EXIT("k", 1.5, 1, 1) "]}", "whole number");
	bad("{\"traceEvents\":[" EXIT("k", 64, 1, 1) "]}", "\"tid\" is 64");
	bad("{\"traceEvents\":[{\"name\":\"k\",\"cat\":\"exit\",\"ph\":\"X\",\"ts\":1,\"dur\":1}]}",
	    "\"tid\" is missing");
	bad("{\"traceEvents\":[{\"name\":\"k\",\"cat\":\"exit\",\"ph\":\"X\",\"tid\":0,\"ts\":1,"
	    "\"dur\":1,\"args\":3}]}",
	    "\"args\" is not an object");
	bad("{\"traceEvents\":[{\"cat\":\"marker\",\"ph\":\"i\",\"tid\":0,\"ts\":1}]}",
	    "\"name\" is missing");
	bad("{\"traceEvents\":[{\"name\":\"thread_name\",\"ph\":\"M\",\"tid\":0}]}", "args");
	/* kvmlab's own count of the events must match what the file holds. */
	bad("{\"traceEvents\":[" EXIT("k", 0, 1, 1) "],\"otherData\":{\"events\":2}}",
	    "says 2 events, the file holds 1");
	bad("{\"traceEvents\":[],\"otherData\":{\"events\":\"0\"}}", "not a number");
	bad("{\"traceEvents\":[],\"otherData\":[]}", "not an object");
	bad("{\"otherData\":{},\"traceEvents\":[]}", "before");
}

Test(report, other_events_are_tolerated)
{
	/* kvmlab's dropped-events note and another tool's slices are not exits. */
	cr_assert_eq(parse("{\"traceEvents\":[{\"name\":\"kvmlab: 3 events dropped\",\"cat\":\"kvmlab\","
			   "\"ph\":\"i\",\"tid\":0,\"ts\":1},{\"name\":\"x\",\"ph\":\"X\"}],"
			   "\"otherData\":{\"events\":2,\"dropped_events\":3}}"),
		     0, "%s", err);
	cr_assert_eq(r.nr_exits, 0);
	cr_assert_eq(r.dropped, 3);
	report_free(&r);
}

#define MARK_RSS(label, tid, ts, rss)                                                          \
	"{\"name\":\"" label "\",\"cat\":\"marker\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":" \
	#tid ",\"ts\":" #ts ",\"args\":{\"label\":\"" label "\",\"kvmlab_rss_kib\":" #rss "}}"

/* kvmlab's RSS at each marker: read when there, -1 when not (older traces); the page lists the
 * markers in time order with the RSS and its change. */
Test(report, markers_with_rss)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(parse("{\"traceEvents\":[" MARK_RSS("touch", 0, 30, 112640) ","
			   MARK_RSS("mmap", 0, 10, 10240) "," MARK("old", 1, 20) ","
			   MARK_RSS("gone", 0, 40, -1) "]}"),
		     0, "%s", err);
	cr_assert_eq(r.nr_markers, 4);
	cr_assert_float_eq(r.markers[0].rss_kib, 112640, 1e-9);
	cr_assert_float_eq(r.markers[2].rss_kib, -1, 1e-9, "no kvmlab_rss_kib: unknown");
	cr_assert_float_eq(r.markers[3].rss_kib, -1, 1e-9);
	f = open_memstream(&buf, &len);
	cr_assert_eq(report_write_html(f, &r, "m"), 0);
	fclose(f);
	/* In time order: mmap (10), old (20, unknown), touch (30: +100 MiB since mmap), gone. */
	cr_assert_not_null(strstr(buf, "<tr data-marker=\"0\" data-rss-kib=\"10240\"><td class=\"k\">mmap"
				       "</td><td>0.000010 s</td><td>0</td><td>10240 KiB</td><td></td>"),
			   "%s", buf);
	cr_assert_not_null(strstr(buf, "<tr data-marker=\"1\" data-rss-kib=\"-1\"><td class=\"k\">old"
				       "</td><td>0.000020 s</td><td>1</td><td>?</td>"),
			   "%s", buf);
	cr_assert_not_null(strstr(buf, "<td class=\"k\">touch</td><td>0.000030 s</td><td>0</td>"
				       "<td>112640 KiB</td><td>+102400 KiB</td>"),
			   "%s", buf);
	free(buf);
	report_free(&r);
	bad("{\"traceEvents\":[" MARK_RSS("x", 0, 1, "5") "]}", "\"kvmlab_rss_kib\" is not a number");
	bad("{\"traceEvents\":[" MARK_RSS("x", 0, 1, 1.5) "]}", "whole number");
	bad("{\"traceEvents\":[" MARK_RSS("x", 0, 1, -2) "]}", "\"kvmlab_rss_kib\" is -2");
	bad("{\"traceEvents\":[{\"name\":\"x\",\"cat\":\"marker\",\"ph\":\"i\",\"tid\":0,\"ts\":1,"
	    "\"args\":[]}]}",
	    "\"args\" is not an object");
}
