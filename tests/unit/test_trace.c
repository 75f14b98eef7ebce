/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/stats.h"
#include "vmm/trace.h"

/* --- the ring ------------------------------------------------------------------ */

static struct trace_event ev(uint64_t n)
{
	return (struct trace_event){ .t_ns = n, .dur_ns = 1, .key = 0x80 << 4 | 4 | STATS_K_PIO,
				     .value = n, .size = 1, .count = 1 };
}

Test(trace, ring_capacity_must_be_a_power_of_two)
{
	struct trace_ring r;

	cr_assert_eq(trace_ring_init(&r, 6), -1);
	cr_assert_eq(trace_ring_init(&r, 1), -1);
	cr_assert_eq(trace_ring_init(&r, 8), 0);
	trace_ring_free(&r);
}

Test(trace, ring_fifo_full_and_dropped)
{
	struct trace_ring r;
	struct trace_event out[16];
	struct trace_event e;

	cr_assert_eq(trace_ring_init(&r, 4), 0);
	cr_assert_eq(trace_ring_pop(&r, out, 16), 0, "empty");
	for (int i = 0; i < 4; i++) {
		e = ev(i);
		cr_assert(trace_ring_push(&r, &e));
	}
	e = ev(99);
	cr_assert_not(trace_ring_push(&r, &e), "full");
	cr_assert_not(trace_ring_push(&r, &e), "still full");
	cr_assert_eq(atomic_load(&r.dropped), 2, "each refused event counted");
	cr_assert_eq(trace_ring_pop(&r, out, 3), 3, "at most max");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(out[i].value, (uint64_t)i, "oldest first");
	e = ev(4);
	cr_assert(trace_ring_push(&r, &e), "room again");
	cr_assert_eq(trace_ring_pop(&r, out, 16), 2);
	cr_assert_eq(out[0].value, 3);
	cr_assert_eq(out[1].value, 4);
	trace_ring_free(&r);
}

Test(trace, ring_wraps_around_many_times)
{
	struct trace_ring r;
	struct trace_event out[8];
	uint64_t next = 0, expect = 0;

	cr_assert_eq(trace_ring_init(&r, 8), 0);
	for (int round = 0; round < 1000; round++) {
		int n = 1 + round % 8;

		for (int i = 0; i < n; i++) {
			struct trace_event e = ev(next++);

			cr_assert(trace_ring_push(&r, &e));
		}
		cr_assert_eq(trace_ring_pop(&r, out, 8), (unsigned)n);
		for (int i = 0; i < n; i++)
			cr_assert_eq(out[i].value, expect++);
	}
	cr_assert_eq(atomic_load(&r.dropped), 0);
	trace_ring_free(&r);
}

/* --- JSON escaping ---------------------------------------------------------------- */

Test(trace, json_escape)
{
	char buf[64];

	cr_assert_eq(trace_json_escape(buf, sizeof(buf), "touch 10MiB"), 11);
	cr_assert_str_eq(buf, "touch 10MiB");
	trace_json_escape(buf, sizeof(buf), "a\"b\\c");
	cr_assert_str_eq(buf, "a\\\"b\\\\c");
	trace_json_escape(buf, sizeof(buf), "tab\there\r\x01");
	cr_assert_str_eq(buf, "tab\\u0009here\\u000d\\u0001");
	/* Bytes that are not ASCII need not be UTF-8: each its own escape. */
	trace_json_escape(buf, sizeof(buf), "\xff\xc3\x7f");
	cr_assert_str_eq(buf, "\\u00ff\\u00c3\\u007f");
	/* Too small: cut before an escape, never inside one; always terminated. */
	cr_assert_eq(trace_json_escape(buf, 5, "ab\"cd"), 4);
	cr_assert_str_eq(buf, "ab\\\"");
	cr_assert_eq(trace_json_escape(buf, 4, "ab\"cd"), 2);
	cr_assert_str_eq(buf, "ab");
	cr_assert_eq(trace_json_escape(buf, 1, "abc"), 0);
	cr_assert_str_eq(buf, "");
}

/* --- the writer's file ------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

/* python3's json module, if there is one, parses the file; 0 = it parsed, 2 = no python3. */
static int python_parses(const char *path)
{
	char cmd[512];
	int r;

	if (system("command -v python3 >/dev/null 2>&1"))
		return 2;
	snprintf(cmd, sizeof(cmd), "python3 -m json.tool '%s' >/dev/null", path);
	r = system(cmd);
	return r ? 1 : 0;
}

static void mark(const char *label)
{
	uint8_t b;
	struct bus_access a = { .data = &b, .size = 1, .is_write = true };

	for (const char *p = label;; p++) {
		b = (uint8_t)*p;
		trace_marker_io(NULL, &a);
		if (!*p)
			break;
	}
}

Test(trace, writer_output)
{
	char path[] = "/tmp/kvmlab-trace-XXXXXX", err[256];
	union {
		struct kvm_run run;
		uint8_t raw[4096];
	} u;
	struct trace *t;
	char *s;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	t = trace_open(path, 2, 0, "my \"vm\"", err, sizeof(err));
	cr_assert_not_null(t, "%s", err);

	/* vCPU 0: a port write of 0x2a, an MMIO read, a marker between them. */
	memset(&u, 0, sizeof(u));
	u.run.exit_reason = KVM_EXIT_IO;
	u.run.io.direction = KVM_EXIT_IO_OUT;
	u.run.io.port = 0x80;
	u.run.io.size = 1;
	u.run.io.count = 1;
	u.run.io.data_offset = 1024;
	u.raw[1024] = 0x2a;
	trace_record(trace_ring_of(t, 0), &u.run, stats_exit_key(&u.run), 1000, 3500);
	trace_self = trace_ring_of(t, 0);
	mark("phase \"one\"");
	mark("");	 /* an empty label is no marker */
	trace_self = NULL;
	mark("unseen"); /* no ring: dropped without a trace */
	memset(&u, 0, sizeof(u));
	u.run.exit_reason = KVM_EXIT_MMIO;
	u.run.mmio.phys_addr = 0xd0000000;
	u.run.mmio.len = 4;
	memcpy(u.run.mmio.data, "\x78\x56\x34\x12", 4);
	trace_record(trace_ring_of(t, 0), &u.run, stats_exit_key(&u.run), 5000, 6000);
	/* vCPU 1: a system event. */
	memset(&u, 0, sizeof(u));
	u.run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
	trace_record(trace_ring_of(t, 1), &u.run, stats_exit_key(&u.run), 7000, 7001);
	cr_assert_null(trace_ring_of(t, 2));
	cr_assert_eq(trace_close(t), 0, "nothing dropped");

	s = slurp(path);
	cr_assert_eq(strncmp(s, "{\"traceEvents\":[", 16), 0, "%.40s", s);
	cr_assert_not_null(strstr(s, "\"dropped_events\":0"), "%s", s);
	cr_assert_not_null(strstr(s, "\"events\":4,"), "%s", s);
	cr_assert_not_null(strstr(s, "\"name\":\"VM my \\\"vm\\\" (kvmlab)\""), "%s", s);
	cr_assert_not_null(strstr(s, "\"tid\":1,\"args\":{\"name\":\"vCPU 1\"}"), "%s", s);
	cr_assert_not_null(strstr(s, "{\"name\":\"port:0x80/POUT\",\"cat\":\"exit\",\"ph\":\"X\","
				     "\"pid\":1,\"tid\":0,\"ts\":"), "%s", s);
	cr_assert_not_null(strstr(s, "\"dur\":2.500,\"args\":{\"reason\":\"IO\",\"port\":\"0x80\","
				     "\"dir\":\"out\",\"size\":1,\"count\":1,\"value\":\"0x2a\"}"),
			   "%s", s);
	cr_assert_not_null(strstr(s, "\"gpa\":\"0xd0000000\",\"dir\":\"read\",\"size\":4,"
				     "\"value\":\"0x12345678\""), "%s", s);
	cr_assert_not_null(strstr(s, "{\"name\":\"phase \\\"one\\\"\",\"cat\":\"marker\",\"ph\":\"i\","
				     "\"s\":\"t\",\"pid\":1,\"tid\":0,"), "%s", s);
	cr_assert_not_null(strstr(s, "\"name\":\"SYSTEM_EVENT\",\"cat\":\"exit\",\"ph\":\"X\",\"pid\":1,"
				     "\"tid\":1"), "%s", s);
	cr_assert_eq(count(s, "\"cat\":\"marker\""), 1, "%s", s);
	/* The marker carries kvmlab's RSS then: this test process's, so a few MiB at least. */
	{
		const char *rss = strstr(s, "\"args\":{\"label\":\"phase \\\"one\\\"\",\"kvmlab_rss_kib\":");

		cr_assert_not_null(rss, "%s", s);
		rss = strstr(rss, "\"kvmlab_rss_kib\":") + strlen("\"kvmlab_rss_kib\":");
		cr_assert_gt(atoll(rss), 1000, "%s", rss);
	}
	cr_assert_eq(count(s, "\"cat\":\"exit\""), 3, "%s", s);
	cr_assert_null(strstr(s, "unseen"));
	cr_assert_eq(strcmp(s + strlen(s) - 4, "]}}\n"), 0, "%s", s);
	cr_assert_neq(python_parses(path), 1, "%s", s);
	free(s);
	unlink(path);
}

/* Events the writer could not keep up with are counted, and the file says so. */
Test(trace, writer_counts_dropped_events)
{
	char path[] = "/tmp/kvmlab-trace-XXXXXX", err[256];
	struct kvm_run run;
	struct trace *t;
	long long dropped;
	char *s, *p;
	unsigned long long events, in_file;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	t = trace_open(path, 1, 4, NULL, err, sizeof(err));
	cr_assert_not_null(t, "%s", err);
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_HLT;
	for (int i = 0; i < 1000; i++)
		trace_record(trace_ring_of(t, 0), &run, stats_exit_key(&run), i, i + 1);
	dropped = trace_close(t);
	cr_assert_gt(dropped, 0, "a 4-event ring cannot take 1000 at once");
	s = slurp(path);
	p = strstr(s, "\"events\":");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "\"events\":%llu,\"dropped_events\":%llu", &events, &in_file), 2);
	cr_assert_eq(in_file, (unsigned long long)dropped);
	cr_assert_eq(events + in_file, 1000, "every event written or counted");
	cr_assert_eq(count(s, "\"name\":\"HLT\""), (int)events);
	cr_assert_not_null(strstr(s, "events dropped (ring full)"), "an instant on the track");
	cr_assert_neq(python_parses(path), 1, "%s", s);
	free(s);
	unlink(path);
}

Test(trace, open_fails_with_words)
{
	char err[256];

	cr_assert_null(trace_open("/nonexistent/dir/t.json", 1, 0, NULL, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "--trace: cannot write '/nonexistent/dir/t.json'"), "%s", err);
	cr_assert_eq(trace_close(NULL), 0);
}

/* --- the option ------------------------------------------------------------------- */

static int parse(struct cli *cli, char *err, size_t errlen, int argc, const char **words)
{
	static char *argv[16];

	for (int i = 0; i < argc; i++)
		argv[i] = (char *)words[i];
	argv[argc] = NULL;
	return cli_parse(argc, argv, cli, err, errlen);
}

Test(trace, option)
{
	struct cli cli;
	struct vm_config cfg;
	char err[256];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(parse(&cli, err, sizeof(err), 3, (const char *[]){ "kvmlab", "run", "k.elf" }), 0);
	cr_assert_null(cli.cfg.trace_file, "off by default");
	cr_assert_eq(parse(&cli, err, sizeof(err), 5,
			   (const char *[]){ "kvmlab", "run", "--trace", "t.json", "k.elf" }), 0, "%s",
		     err);
	cr_assert_str_eq(cli.cfg.trace_file, "t.json");
	cr_assert_str_eq(cli.cfg.kernel, "k.elf");
	cr_assert_eq(cli_config(&cli, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.trace_file, "t.json");
	config_free(&cfg);
	cr_assert_eq(parse(&cli, err, sizeof(err), 3, (const char *[]){ "kvmlab", "run", "--trace" }),
		     -1);
	cr_assert_not_null(strstr(err, "--trace"), "%s", err);
	cr_assert_eq(parse(&cli, err, sizeof(err), 3,
			   (const char *[]){ "kvmlab", "run", "--trace=" }), -1);
	cr_assert_not_null(strstr(err, "--trace: no file name"), "%s", err);

	f = open_memstream(&buf, &len);
	cli_usage(f);
	fclose(f);
	cr_assert_not_null(strstr(buf, "--trace FILE"));
	cr_assert_not_null(strstr(buf, "0x510"));
	free(buf);
}

/* --- markers split --stats by phase ---------------------------------------------------- */

static uint64_t phase_samples(struct stats_vcpu *sv, const char *label, uint64_t key)
{
	struct stats_row rows[STATS_MAX_ROWS];
	int nr = atomic_load(&sv->nr_phases);

	for (int p = 0; p < nr; p++) {
		int n;

		if (strcmp(sv->phase[p].label, label))
			continue;
		n = stats_snapshot(&sv->phase[p].table, rows);
		for (int i = 0; i < n; i++)
			if (rows[i].key == key)
				return rows[i].samples;
		return 0;
	}
	return UINT64_MAX; /* no such phase */
}

Test(trace, markers_split_stats_by_phase)
{
	struct stats *s = stats_create(2);
	struct stats_vcpu *sv;
	uint64_t post = stats_key(STATS_K_PIO, true, 0x80), uart = stats_key(STATS_K_PIO, true, 0x3f8);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_not_null(s);
	sv = &s->vcpu[0];
	stats_self = sv;
	stats_record_vcpu(sv, uart, 10);
	stats_record_vcpu(sv, uart, 10);
	cr_assert_eq(atomic_load(&sv->nr_phases), 0, "no marker, no phases");
	mark("a");
	for (int i = 0; i < 5; i++)
		stats_record_vcpu(sv, post, 100);
	mark("b\r\n"); /* '\r' ignored, '\n' ends it, the 0 after it is an empty label */
	stats_record_vcpu(sv, uart, 10);
	mark("a"); /* the same phase again: its counts go on */
	stats_record_vcpu(sv, post, 100);
	/* vCPU 1 marks "b" too: merged with vCPU 0's in the report. */
	stats_self = &s->vcpu[1];
	mark("b");
	stats_record_vcpu(&s->vcpu[1], post, 100);
	stats_self = NULL;

	cr_assert_eq(atomic_load(&sv->nr_phases), 3);
	cr_assert_eq(phase_samples(sv, "(before the first marker)", uart), 2);
	cr_assert_eq(phase_samples(sv, "(before the first marker)", post), 0);
	cr_assert_eq(phase_samples(sv, "a", post), 6);
	cr_assert_eq(phase_samples(sv, "a", uart), 0);
	cr_assert_eq(phase_samples(sv, "b", uart), 1);
	cr_assert_eq(phase_samples(sv, "b", post), 0);

	f = open_memstream(&buf, &len);
	stats_report(f, s, true);
	fclose(f);
	cr_assert_not_null(strstr(buf, "By phase (the guest's markers on port 0x510), all vCPUs:\n"
				       "Phase \"(before the first marker)\":\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "Phase \"a\":\n"), "%s", buf);
	/* "b": vCPU 0's uart write and vCPU 1's POST write. */
	cr_assert_not_null(strstr(buf, "Phase \"b\":\n"), "%s", buf);
	cr_assert_not_null(strstr(strstr(buf, "Phase \"b\":"), "Total samples: 2,"), "%s", buf);
	cr_assert_eq(count(buf, "Phase \""), 3, "each label once: %s", buf);
	/* The whole run's table is still all of it. */
	cr_assert_not_null(strstr(strstr(buf, "All vCPUs:"), "Total samples: 10,"), "%s", buf);
	free(buf);
	stats_destroy(s);
}

Test(trace, more_phases_than_room)
{
	struct stats *s = stats_create(1);
	struct stats_vcpu *sv = &s->vcpu[0];
	uint64_t post = stats_key(STATS_K_PIO, true, 0x80);
	char label[16];

	stats_self = sv;
	for (int i = 0; i < 40; i++) {
		snprintf(label, sizeof(label), "p%d", i);
		mark(label);
		stats_record_vcpu(sv, post, 1);
	}
	stats_self = NULL;
	cr_assert_eq(atomic_load(&sv->nr_phases), STATS_MAX_PHASES);
	cr_assert_eq(phase_samples(sv, "p0", post), 1);
	cr_assert_eq(phase_samples(sv, "p13", post), 1);
	cr_assert_eq(phase_samples(sv, "(more phases)", post), 40 - 14, "the rest, none lost");
	stats_destroy(s);
}

/* Without --stats and --trace a marker is taken and forgotten. */
Test(trace, marker_port_alone)
{
	uint8_t b = 0x55;
	struct bus_access a = { .data = &b, .size = 1, .is_write = false };

	trace_marker_io(NULL, &a);
	cr_assert_eq(b, 0, "reads give 0");
	stats_self = NULL;
	trace_self = NULL;
	mark("nobody listens");
}
